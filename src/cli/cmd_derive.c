/*
 * `teeliza derive`: a wallet as the agent derives it, with its attestation:
 * from tappd's DeriveKey (Eliza's TEE plugin) or dstack's GetKey (the dstack
 * and dstack-sdk schemes), the API and scheme chosen as the agent chooses
 * them (tee_wallet_choose).
 */
#include "cli/tee_cli.h"
#include "teeliza/common/encoding.h"
#include "teeliza/tee/dstack_wallet.h"

#include <stdlib.h>
#include <string.h>

struct derive_opts {
	const char *agent_id, *salt_file, *path, *subject, *purpose, *algorithm, *kms_root, *endpoint;
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

static int take_algorithm(const struct cli_command *cmd, void *opts, const char *value)
{
	struct derive_opts *o = opts;
	tee_dstack_alg alg;

	if (tee_dstack_key_alg_parse(&alg, value, strlen(value)) != TEELIZA_OK)
		return cli_usage_error(cmd, "--algorithm: %s: must be secp256k1 or ed25519", teeliza_errmsg());
	o->algorithm = value;
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
	             "default: TEE_KEY_SCHEME as the agent reads it, else the API's:\n"
	             "teeliza (tappd: the key depends on salt, agent id and chain),\n"
	             "dstack (dstack GetKey, bound the same way);\n"
	             "eliza-v0.1.9 (tappd, path = salt: Eliza 0.1.9's wallets),\n"
	             "eliza-v0.1.7 (tappd, path \"/\": the salt has no effect),\n"
	             "dstack-sdk (with --path: the JS SDK's toKeypairSecure /\n"
	             "toViemAccountSecure of getKey(path, purpose)) - docs/KEY-SCHEMES.md;\n"
	             "the scheme chooses the API (tappd or dstack) unless TEE_API does"),
	CLI_OPT_STRING(struct derive_opts, salt_file, "salt-file", 0, "FILE",
	               "read the salt from FILE (one trailing newline dropped);\n"
	               "else WALLET_SECRET_SALT. Salts are never taken from the command line."),
	/* refused with a reason, never listed */
	CLI_OPT_CALL("salt", 0, "SALT", refuse_salt, NULL),
	{.name = "path", .kind = CLI_STRING, .offset = CLI_FIELD(struct derive_opts, path, const char *), .meta = "P",
	 .label = "--path P, --subject S",
	 .help = "ask tappd for exactly this (path, subject) instead of a scheme;\n"
	         "no salt is used. On the dstack API: GetKey(P, --purpose) with\n"
	         "its key used as the JS SDK 0.5.8 helpers use it (dstack-sdk)"},
	CLI_OPT_STRING(struct derive_opts, subject, "subject", 0, "S", NULL), /* listed with --path */
	CLI_OPT_STRING(struct derive_opts, purpose, "purpose", 0, "Q",
	               "dstack-sdk: GetKey's purpose (default \"\"); only the chain\n"
	               "depends on it, never the key"),
	CLI_OPT_CALL("algorithm", 0, "A", take_algorithm,
	             "dstack-sdk: GetKey's algorithm, secp256k1 (default, the SDK's)\n"
	             "or ed25519; only the chain depends on it, never the key"),
	CLI_OPT_STRING(struct derive_opts, kms_root, "kms-root", 0, "HEX",
	               "dstack: the KMS root (33-byte compressed k256) the key's chain\n"
	               "must end at (default: TEE_KMS_ROOT; unset: shown, not checked)"),
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
	         "                      [--purpose Q] [--algorithm A] [--kms-root HEX]\n"
	         "                      [--no-attest] [--show-secret] [--json] [--quiet]\n"
	         "                      [--endpoint URL|SOCKET] [--timeout MS]\n"
	         "\n"
	         "Derive the agent's wallet as the agent does. On tappd: DeriveKey, exactly as\n"
	         "Eliza's TEE plugin turns the key into a wallet (Solana: SHA-256 of the key's\n"
	         "DER as the Ed25519 seed; EVM: Keccak-256 of it as the secp256k1 key). On\n"
	         "dstack 0.5: GetKey, its 32 bytes the Ed25519 seed or the secp256k1 key, and\n"
	         "the key's signature chain walked to the KMS root. Then quote\n"
	         "{\"agentId\":…,\"publicKey\":…} (report data SHA-512(\"app-data:\" || JSON) on\n"
	         "both APIs) and check the quote against its event log and that JSON.\n"
	         "\n"
	         "stdout: the address (Solana base58, EVM EIP-55; raw: the P-256 public key, or\n"
	         "on dstack GetKey's compressed secp256k1 public key), and with --show-secret the\n"
	         "secret key on a second line (Solana: base58 of the 64-byte secret key; EVM: 0x\n"
	         "private key; raw: hex of the key's DER, or of GetKey's 32 bytes).\n"
	         "stderr: the plugin's log lines for the attestation (unless --quiet).\n"
	         "\n",
	.usage_end = "\n"
	             "settings: TEE_MODE, TEE_API, DSTACK_SIMULATOR_ENDPOINT, TAPPD_SIMULATOR_ENDPOINT,\n"
	             "  WALLET_SECRET_SALT, TEE_KEY_SCHEME and TEE_KMS_ROOT, from the environment or the\n"
	             "  nearest .env file from the working directory up, as the agent reads them (the\n"
	             "  environment wins; the file read is named on stderr). --endpoint replaces both\n"
	             "  endpoint variables. The API and scheme are chosen as the agent chooses them\n"
	             "  (docs/DSTACK.md, \"Which key scheme\").\n"
	             "\n"
	             "exit codes: 0 ok, 2 the quote does not match its event log or the JSON, 3 bad\n"
	             "  input (a salt or agent id too long; a key or quote from tappd or dstack that\n"
	             "  cannot be used), 64 bad command line, 69 tappd or dstack unreachable, timed\n"
	             "  out or answered an error, 70 internal error, 74 a file could not be read\n"
	             "  (salt file, .env), 78 bad configuration (invalid TEE_MODE, TEE_API, endpoint\n"
	             "  or TEE_KEY_SCHEME, a scheme of the other API than TEE_API, missing salt, a\n"
	             "  .env refused)\n",
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
	if (o->path != NULL && ((o->scheme_given && o->scheme != TEE_SCHEME_DSTACK_SDK) || o->salt_file != NULL))
		return cli_usage_error(&derive_cmd, "--path replaces the scheme and salt; do not combine it with "
		                                    "--scheme (other than dstack-sdk) or --salt-file");
	if (o->scheme_given && o->scheme == TEE_SCHEME_DSTACK_SDK && o->path == NULL)
		return cli_usage_error(&derive_cmd, "--scheme dstack-sdk needs --path: the GetKey path used with the JS SDK");
	if ((o->purpose != NULL || o->algorithm != NULL) && o->path == NULL)
		return cli_usage_error(&derive_cmd, "--purpose and --algorithm go with --path (the dstack-sdk scheme)");
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

static json_t *hex_string(const uint8_t *p, size_t n)
{
	char buf[2 * TEE_DSTACK_CHAIN_SIG_LEN + 1];

	teeliza_hex_encode(buf, p, n);
	return json_string(buf);
}

/* GetKey's request, the public key, the chain, and how far the chain verified. */
static json_t *getkey_json(const tee_wallet *w)
{
	const tee_dstack_key_report *r = &w->provenance;
	json_t *j, *chain, *prov;

	j = json_pack("{s:s, s:s, s:s, s:o}", "path", w->key_path, "purpose", w->key_purpose, "algorithm",
	              w->key_algorithm, "publicKey", hex_string(w->key.public_key, w->key.public_key_len));
	chain = json_pack("[o, o]", hex_string(w->key.chain[0], TEE_DSTACK_CHAIN_SIG_LEN),
	                  hex_string(w->key.chain[1], w->key.kms_signature_len));
	if (j == NULL || chain == NULL) {
		json_decref(j);
		json_decref(chain);
		return NULL;
	}
	json_object_set_new(j, "signatureChain", chain);
	if (!w->have_provenance)
		return j;
	prov = json_pack("{s:b, s:o, s:s}", "verified", w->provenance_err == TEELIZA_OK, "brokenLink",
	                 w->provenance_err == TEELIZA_OK ? json_null() : json_string(tee_dstack_link_name(r->broken)),
	                 "message", r->message);
	if (prov == NULL)
		return j;
	if (r->have_app_pub)
		json_object_set_new(prov, "appKey", hex_string(r->app_pub, sizeof(r->app_pub)));
	if (r->have_app_id)
		json_object_set_new(prov, "appId", hex_string(r->app_id, sizeof(r->app_id)));
	if (r->have_root)
		json_object_set_new(prov, "kmsRoot", hex_string(r->root_pub, sizeof(r->root_pub)));
	json_object_set_new(prov, "kmsRootPinned", json_boolean(r->root_pinned));
	json_object_set_new(j, "keyChain", prov);
	return j;
}

static json_t *wallet_json(const tee_wallet *w, const struct derive_opts *o, const char *secret)
{
	json_t *j = json_object();
	char pub[140];

	if (j == NULL)
		return NULL;
	if (o->path == NULL || w->dstack)
		json_object_set_new(j, "scheme", json_string(tee_key_scheme_name(w->scheme)));
	json_object_set_new(j, "api", json_string(w->dstack ? "dstack" : "tappd"));
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
	if (w->dstack)
		json_object_set_new(j, "getKey", getkey_json(w));
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

/* The API, endpoint and scheme, as the agent chooses them; --endpoint replaces both endpoint variables. */
static int choose(tee_wallet_choice *choice, const struct derive_opts *o)
{
	tee_endpoint_env env;
	const char *scheme = NULL;

	tee_endpoint_env_from_process(&env);
	if (o->endpoint != NULL) {
		env.dstack_endpoint = o->endpoint;
		env.tappd_endpoint = o->endpoint;
	}
	/* as before: with no TEE_MODE, the local simulator (or the endpoint given) */
	if (env.tee_mode == NULL || env.tee_mode[0] == 0)
		env.tee_mode = "LOCAL";
	if (o->scheme_given)
		scheme = tee_key_scheme_name(o->scheme);
	else if (o->path == NULL)
		scheme = getenv("TEE_KEY_SCHEME");
	if (tee_wallet_choose(choice, &env, scheme) != TEELIZA_OK)
		return cli_fail("derive", TEELIZA_ERR_CONFIG);
	if (o->path != NULL && !o->scheme_given && choice->endpoint.api == TEE_API_DSTACK)
		choice->scheme = TEE_SCHEME_DSTACK_SDK;
	if (o->quiet)
		return EXIT_OK;
	if (o->endpoint == NULL) {
		fprintf(stderr, "%s\n", choice->endpoint.log_line);
		if (choice->endpoint.sdk_line[0])
			fprintf(stderr, "%s\n", choice->endpoint.sdk_line);
	} else {
		fprintf(stderr, "teeliza derive: %s API at %s\n", tee_api_name(choice->endpoint.api), o->endpoint);
	}
	if (o->scheme_given)
		fprintf(stderr, "teeliza derive: key scheme %s (--scheme), %s API\n", tee_key_scheme_name(choice->scheme),
		        tee_api_name(choice->endpoint.api));
	else if (o->path != NULL && choice->endpoint.api == TEE_API_DSTACK)
		fputs("teeliza derive: key scheme dstack-sdk (--path on the dstack API)\n", stderr);
	else if (o->path == NULL)
		fprintf(stderr, "teeliza derive: %s\n", choice->scheme_line + (strncmp(choice->scheme_line, "TEE: ", 5) == 0
		                                                                    ? 5 : 0));
	return EXIT_OK;
}

/* The chain of a GetKey key, on stderr. */
static void print_provenance(const tee_wallet *w)
{
	char root[2 * TEE_DSTACK_K256_PUB_LEN + 1] = "";

	if (!w->have_provenance)
		return;
	if (w->provenance.have_root)
		teeliza_hex_encode(root, w->provenance.root_pub, sizeof(w->provenance.root_pub));
	if (w->provenance_err == TEELIZA_OK)
		fprintf(stderr, "teeliza derive: key chain verified: GetKey key -> app key -> KMS root %s (pinned)\n", root);
	else
		fprintf(stderr, "teeliza derive: key chain not verified (link %s): %s\n",
		        tee_dstack_link_name(w->provenance.broken), w->provenance.message);
}

int derive_main(int argc, char **argv)
{
	struct derive_opts o;
	char agent_id[AGENT_UUID_BUFSZ];
	tee_wallet_choice choice;
	const char *kms_root;
	tappd_client c;
	dstack_client dc;
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
	rc = choose(&choice, &o);
	if (rc)
		return rc;
	o.scheme = choice.scheme;
	kms_root = o.kms_root != NULL ? o.kms_root : getenv("TEE_KMS_ROOT");
	if (kms_root != NULL && kms_root[0] == 0)
		kms_root = NULL;
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
	memset(&w, 0, sizeof(w));
	tappd_client_init(&c, &choice.endpoint.ep);
	dstack_client_init(&dc, &choice.endpoint.ep);
	if (o.timeout_ms > 0)
		c.timeout_ms = dc.timeout_ms = (long)o.timeout_ms; /* at most 3600000 (--timeout) */
	if (choice.endpoint.api == TEE_API_DSTACK && o.path != NULL)
		err = tee_dstack_derive_wallet_path(&w, &dc, o.path, o.purpose, o.algorithm, o.chain, agent_id, o.attest,
		                                    kms_root);
	else if (choice.endpoint.api == TEE_API_DSTACK)
		err = tee_dstack_derive_wallet(&w, &dc, o.scheme, o.chain, (const char *)salt.data, agent_id, o.attest,
		                               kms_root);
	else if (o.purpose != NULL || o.algorithm != NULL)
		err = teeliza_set_error(TEELIZA_ERR_CONFIG, "--purpose and --algorithm are GetKey's: the dstack API only "
		                                            "(this is tappd)");
	else if (o.path != NULL)
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
	if (!o.quiet)
		print_provenance(&w);
	rc = print_wallet(&w, &o);
	tee_wallet_free(&w);
	return rc;
}
