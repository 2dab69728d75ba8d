/* `teeliza derive`: a wallet from tappd, as Eliza's TEE plugin derives it, with its attestation. */
#include "cli/tee_cli.h"
#include "teeliza/common/encoding.h"

#include <stdlib.h>
#include <string.h>

struct derive_opts {
	const char *agent_id, *salt_file, *path, *subject, *endpoint;
	tee_chain chain;
	tee_key_scheme scheme;
	uint64_t timeout_ms;
	bool attest, show_secret, json, quiet, scheme_given;
};

static int take_chain(const struct cli_command *cmd, void *opts, const char *value)
{
	struct derive_opts *o = opts;

	if (tee_chain_parse(&o->chain, value) != TEELIZA_OK)
		return cli_usage_error(cmd, "%s", teeliza_errmsg());
	return EXIT_OK;
}

static int take_scheme(const struct cli_command *cmd, void *opts, const char *value)
{
	struct derive_opts *o = opts;

	if (tee_key_scheme_parse(&o->scheme, value) != TEELIZA_OK)
		return cli_usage_error(cmd, "%s", teeliza_errmsg());
	o->scheme_given = true;
	return EXIT_OK;
}

static int refuse_salt(const struct cli_command *cmd, void *opts, const char *value)
{
	(void)opts;
	(void)value;
	return cli_usage_error(cmd, "--salt is not accepted: a salt on the command line is visible to every user (ps, "
	                            "shell history). Use WALLET_SECRET_SALT or --salt-file FILE.");
}

static const struct cli_opt derive_rows[] = {
	CLI_OPT_STRING(struct derive_opts, agent_id, "agent-id", 0, "ID",
	               "the agent's id (Eliza: the character's id, or stringToUuid(name));\n"
	               "a NAME that is not a UUID is taken as a character name and turned\n"
	               "into stringToUuid(NAME), as said on stderr; required"),
	CLI_OPT_CALL("chain", 0, "C", take_chain, "solana (default), evm or raw"),
	CLI_OPT_CALL("scheme", 0, "NAME", take_scheme,
	             "teeliza (default, or TEE_KEY_SCHEME as the agent reads it: the key\n"
	             "depends on salt, agent id and chain),\n"
	             "eliza-v0.1.9 (path = salt: same wallets as Eliza 0.1.9),\n"
	             "eliza-v0.1.7 (path \"/\": the salt has no effect) - docs/KEY-SCHEMES.md"),
	CLI_OPT_STRING(struct derive_opts, salt_file, "salt-file", 0, "FILE",
	               "read the salt from FILE (one trailing newline dropped);\n"
	               "else WALLET_SECRET_SALT. Salts are never taken from the command line."),
	/* refused with a reason, never listed */
	CLI_OPT_CALL("salt", 0, "SALT", refuse_salt, NULL),
	{.name = "path", .kind = CLI_STRING, .offset = CLI_FIELD(struct derive_opts, path, const char *), .meta = "P",
	 .label = "--path P, --subject S",
	 .help = "ask tappd for exactly this (path, subject) instead of a scheme;\n"
	         "no salt is used"},
	CLI_OPT_STRING(struct derive_opts, subject, "subject", 0, "S", NULL), /* listed with --path */
	CLI_OPT_UNFLAG(struct derive_opts, attest, "no-attest", 0, "skip the attestation quote"),
	CLI_OPT_FLAG(struct derive_opts, show_secret, "show-secret", 0, "also print the secret key"),
	CLI_OPT_FLAG(struct derive_opts, json, "json", 0,
	             "print address, public key, attestation (quote, event log, RTMRs,\n"
	             "timestamp) as JSON on stdout"),
	TEE_CLI_ROWS(struct derive_opts),
	CLI_OPT_HELP,
	CLI_OPT_END,
};

static const struct cli_command derive_cmd = {
	.name = "derive",
	.usage = "usage: teeliza derive --agent-id ID [--chain solana|evm|raw] [--scheme NAME]\n"
	         "                      [--salt-file FILE] [--path PATH [--subject SUBJECT]]\n"
	         "                      [--no-attest] [--show-secret] [--json] [--quiet]\n"
	         "                      [--endpoint URL|SOCKET] [--timeout MS]\n"
	         "\n"
	         "Derive the agent's wallet through tappd's DeriveKey, exactly as Eliza's TEE\n"
	         "plugin turns the key into a wallet (Solana: SHA-256 of the key's DER as the\n"
	         "Ed25519 seed; EVM: Keccak-256 of it as the secp256k1 key), then quote\n"
	         "{\"agentId\":…,\"publicKey\":…} the way the plugin does and check the quote\n"
	         "against its event log and that JSON.\n"
	         "\n"
	         "stdout: the address (Solana base58, EVM EIP-55; raw: the P-256 public key),\n"
	         "and with --show-secret the secret key on a second line (Solana: base58 of the\n"
	         "64-byte secret key; EVM: 0x private key; raw: hex of the key's DER).\n"
	         "stderr: the plugin's log lines for the attestation (unless --quiet).\n"
	         "\n",
	.usage_end = "\n"
	             "settings: TEE_MODE, DSTACK_SIMULATOR_ENDPOINT, WALLET_SECRET_SALT and TEE_KEY_SCHEME,\n"
	             "  from the environment or the nearest .env file from the working directory up, as\n"
	             "  Eliza's agent reads them (the environment wins; the file read is named on stderr)\n"
	             "\n"
	             "exit codes: 0 ok, 2 the quote does not match its event log or the JSON, 3 bad\n"
	             "  input (a salt or agent id too long; a key or quote from tappd that cannot be\n"
	             "  used), 64 bad command line, 69 tappd unreachable, timed out or answered an\n"
	             "  error, 70 internal error, 74 a file could not be read (salt file, .env),\n"
	             "  78 bad configuration (invalid TEE_MODE, endpoint or TEE_KEY_SCHEME, missing\n"
	             "  salt, a .env refused)\n",
	.opts = derive_rows,
	.col = 25,
	.errors = TEE_CLI_ERRORS,
};

/* Returns CLI_HELP_SHOWN after --help, else an exit code (EXIT_OK to go on). */
static int parse_opts(struct derive_opts *o, int argc, char **argv)
{
	int rc, first;

	memset(o, 0, sizeof(*o));
	o->attest = true;
	o->chain = TEE_CHAIN_SOLANA;
	o->scheme = TEE_SCHEME_TEELIZA;
	rc = cli_parse(&derive_cmd, o, argc, argv, &first);
	if (rc == EXIT_OK)
		rc = cli_no_args(&derive_cmd, argc, argv, first);
	if (rc)
		return rc;
	if (o->subject != NULL && o->path == NULL)
		return cli_usage_error(&derive_cmd, "--subject needs --path");
	if (o->path != NULL && (o->scheme_given || o->salt_file != NULL))
		return cli_usage_error(&derive_cmd, "--path replaces the scheme and salt; do not combine it with "
		                                    "--scheme or --salt-file");
	if (o->agent_id == NULL || o->agent_id[0] == 0)
		return cli_usage_error(&derive_cmd, "--agent-id is required");
	return EXIT_OK;
}

/* The secret key in the form a wallet imports; out holds up to 300 bytes. */
static teeliza_err secret_text(char out[300], const tee_wallet *w)
{
	switch (w->chain) {
	case TEE_CHAIN_SOLANA:
		return teeliza_base58_encode(out, 300, w->solana.secret_key, sizeof(w->solana.secret_key));
	case TEE_CHAIN_EVM:
		out[0] = '0';
		out[1] = 'x';
		teeliza_hex_encode(out + 2, w->evm.private_key, sizeof(w->evm.private_key));
		return TEELIZA_OK;
	default:
		if (w->der.len > 140)
			return teeliza_set_error(TEELIZA_ERR_TOO_LARGE, "raw key of %zu bytes is too long to print", w->der.len);
		teeliza_hex_encode(out, w->der.data, w->der.len);
		return TEELIZA_OK;
	}
}

static json_t *wallet_json(const tee_wallet *w, const struct derive_opts *o, const char *secret)
{
	json_t *j = json_object();
	char pub[140];

	if (j == NULL)
		return NULL;
	if (o->path == NULL)
		json_object_set_new(j, "scheme", json_string(tee_key_scheme_name(w->scheme)));
	json_object_set_new(j, "chain", json_string(tee_chain_name(w->chain)));
	if (w->agent_id[0])
		json_object_set_new(j, "agentId", json_string(w->agent_id));
	json_object_set_new(j, "address", json_string(w->address));
	if (w->chain == TEE_CHAIN_EVM) {
		pub[0] = '0';
		pub[1] = 'x';
		teeliza_hex_encode(pub + 2, w->evm.public_key, sizeof(w->evm.public_key));
		json_object_set_new(j, "publicKey", json_string(pub));
	} else {
		json_object_set_new(j, "publicKey", json_string(w->address));
	}
	if (secret != NULL)
		json_object_set_new(j, "secretKey", json_string(secret));
	if (w->attested)
		json_object_set_new(j, "attestation", tee_cli_attestation_json(&w->attestation));
	return j;
}

static int print_wallet(const tee_wallet *w, const struct derive_opts *o)
{
	char secret[300];
	json_t *j;
	int rc = EXIT_OK;
	teeliza_err err;

	if (o->show_secret) {
		err = secret_text(secret, w);
		if (err)
			return cli_fail("derive", err);
	}
	if (o->json) {
		j = wallet_json(w, o, o->show_secret ? secret : NULL);
		rc = tee_cli_print_json(j);
		json_decref(j);
	} else {
		printf("%s\n", w->address);
		if (o->show_secret)
			printf("%s\n", secret);
	}
	TEELIZA_WIPE_BUFFER(secret);
	return rc;
}

int derive_main(int argc, char **argv)
{
	struct derive_opts o;
	char agent_id[AGENT_UUID_BUFSZ];
	const char *scheme;
	tappd_client c;
	teeliza_buf salt, log;
	tee_wallet w;
	teeliza_err err;
	int rc;

	rc = parse_opts(&o, argc, argv);
	if (rc)
		return rc == CLI_HELP_SHOWN ? EXIT_OK : rc;
	/* the settings the agent would have: .env, then TEE_KEY_SCHEME as its default scheme */
	rc = tee_cli_load_env("derive", o.quiet);
	if (rc)
		return rc;
	if (!o.scheme_given && o.path == NULL && (scheme = getenv("TEE_KEY_SCHEME")) != NULL && scheme[0] != 0) {
		if (tee_key_scheme_parse(&o.scheme, scheme) != TEELIZA_OK) {
			fprintf(stderr, "teeliza derive: TEE_KEY_SCHEME: %s\n", teeliza_errmsg());
			return EXIT_CONFIG;
		}
		if (!o.quiet)
			fprintf(stderr, "teeliza derive: key scheme %s (TEE_KEY_SCHEME)\n", tee_key_scheme_name(o.scheme));
	}
	rc = tee_cli_agent_id(agent_id, "derive", o.agent_id, o.quiet);
	if (rc)
		return rc;
	teeliza_buf_init(&salt, 0);
	if (o.path == NULL) {
		rc = tee_cli_salt(&salt, "derive", o.salt_file);
		if (rc) {
			teeliza_buf_free(&salt);
			return rc;
		}
	}
	rc = tee_cli_client(&c, "derive", o.endpoint, o.timeout_ms, o.quiet);
	if (rc) {
		teeliza_buf_free(&salt);
		return rc;
	}
	if (o.path != NULL)
		err = tee_derive_wallet_path(&w, &c, o.path, o.subject, o.chain, agent_id, o.attest);
	else
		err = tee_derive_wallet(&w, &c, o.scheme, o.chain, (const char *)salt.data, agent_id, o.attest);
	teeliza_buf_free(&salt);
	if (err) {
		tee_wallet_free(&w);
		return cli_fail("derive", err);
	}
	if (w.attested) {
		if (!o.quiet) {
			teeliza_buf_init(&log, (size_t)64 << 20);
			fputs("Generating Remote Attestation Quote for Derive Key...\n", stderr);
			if (tee_attestation_log(&log, &w.attestation, 0) == TEELIZA_OK)
				tee_cli_write(stderr, &log);
			fputs("Remote Attestation Quote generated successfully!\n", stderr);
			teeliza_buf_free(&log);
		}
		err = tee_attestation_check(&w.attestation);
		if (err) {
			tee_wallet_free(&w);
			return cli_fail("derive", err);
		}
		if (!o.quiet)
			fputs("teeliza derive: checked: the quote's RTMR0-3 equal the replayed event log and its "
			      "report_data is SHA-512(\"app-data:\" || the JSON above)\n",
			      stderr);
	}
	rc = print_wallet(&w, &o);
	tee_wallet_free(&w);
	return rc;
}
