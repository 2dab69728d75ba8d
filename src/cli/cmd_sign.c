/*
 * `teeliza sign DATA` and `teeliza verify-sig DATA`: dstack's Sign (with the
 * app's key GetKey("vms", "signing")) and Verify. "verify-sig", not
 * "verify": `teeliza verify` verifies DCAP quotes and `teeliza verify-key`
 * key chains; this one judges a signature, as the agent does.
 */
#include "cli/tee_cli.h"
#include "teeliza/common/encoding.h"

#include <string.h>

#define DATA_MAX ((size_t)1 << 20)

struct sign_opts {
	const char *algorithm, *signature, *public_key, *endpoint;
	uint64_t timeout_ms;
	bool hex, json, quiet;
};

#define SIGN_ALG_HELP                                                                                          \
	"secp256k1 (default; also k256: ECDSA over SHA-256(DATA)),\n"                                             \
	"secp256k1_prehashed (DATA is the 32-byte digest) or ed25519"

static const struct cli_opt sign_rows[] = {
	CLI_OPT_STRING(struct sign_opts, algorithm, "algorithm", 0, "A", SIGN_ALG_HELP),
	CLI_OPT_FLAG(struct sign_opts, hex, "hex", 0, "DATA is hex (an optional 0x is skipped)"),
	CLI_OPT_FLAG(struct sign_opts, json, "json", 0, "indented JSON"),
	DSTACK_CLI_ROWS(struct sign_opts),
	CLI_OPT_HELP,
	CLI_OPT_END,
};

static const struct cli_opt verify_sig_rows[] = {
	CLI_OPT_STRING(struct sign_opts, signature, "signature", 0, "HEX", "the signature (64 bytes; required)"),
	CLI_OPT_STRING(struct sign_opts, public_key, "public-key", 0, "HEX",
	               "the public key (33 or 65 bytes secp256k1, 32 ed25519; required)"),
	CLI_OPT_STRING(struct sign_opts, algorithm, "algorithm", 0, "A", SIGN_ALG_HELP),
	CLI_OPT_FLAG(struct sign_opts, hex, "hex", 0, "DATA is hex (an optional 0x is skipped)"),
	CLI_OPT_FLAG(struct sign_opts, json, "json", 0, "indented JSON"),
	DSTACK_CLI_ROWS(struct sign_opts),
	CLI_OPT_HELP,
	CLI_OPT_END,
};

static const struct cli_command sign_cmd = {
	.name = "sign",
	.usage = "usage: teeliza sign DATA [--algorithm A] [--hex] [--json] [--quiet]\n"
	         "                    [--endpoint URL|SOCKET] [--timeout MS]\n"
	         "\n"
	         "Ask the dstack guest agent's Sign to sign DATA (its UTF-8 bytes, or with --hex\n"
	         "the bytes it spells) with the app's key GetKey(\"vms\", \"signing\"). The reply is\n"
	         "checked: the signature verifies under the public key it came with.\n"
	         "\n"
	         "stdout: the agent's answer as JSON on one line (--json: indented):\n"
	         "  {\"signature\": hex, \"signature_chain\": [signature, the key's chain[0] and\n"
	         "  chain[1]], \"public_key\": hex}\n"
	         "\n",
	.usage_end = "\n" DSTACK_CLI_ENV_HELP "\n"
	             "exit codes: 0 ok, 2 the signature does not verify under its key, 3 bad input\n"
	             "  (bad hex, an unknown algorithm, a prehashed digest that is not 32 bytes),\n"
	             "  " DSTACK_CLI_EXIT_TAIL,
	.opts = sign_rows,
	.col = 17,
	.errors = TEE_CLI_ERRORS,
};

static const struct cli_command verify_sig_cmd = {
	.name = "verify-sig",
	.usage = "usage: teeliza verify-sig DATA --signature HEX --public-key HEX [--algorithm A]\n"
	         "                          [--hex] [--json] [--quiet] [--endpoint URL|SOCKET]\n"
	         "                          [--timeout MS]\n"
	         "\n"
	         "Ask the dstack guest agent's Verify whether the signature over DATA (as for\n"
	         "`teeliza sign`) verifies under the public key.\n"
	         "\n"
	         "stdout: the agent's answer as JSON on one line (--json: indented): {\"valid\": bool}\n"
	         "\n",
	.usage_end = "\n" DSTACK_CLI_ENV_HELP "\n"
	             "exit codes: 0 valid, 2 not valid, 3 bad input (bad hex, an unknown algorithm),\n"
	             "  " DSTACK_CLI_EXIT_TAIL,
	.opts = verify_sig_rows,
	.col = 17,
	.errors = TEE_CLI_ERRORS,
};

/* Parse, read DATA, connect. Returns an exit code, CLI_HELP_SHOWN after --help. */
static int begin(dstack_client *c, teeliza_buf *data, struct sign_opts *o, const struct cli_command *cmd, int argc,
                 char **argv)
{
	int rc, first;

	teeliza_buf_init(data, DATA_MAX);
	rc = cli_parse(cmd, o, argc, argv, &first);
	if (rc)
		return rc;
	if (argc - first != 1)
		return cli_usage_error(cmd, "give exactly one DATA argument (run 'teeliza %s --help')", cmd->name);
	if (cmd == &verify_sig_cmd && (o->signature == NULL || o->public_key == NULL))
		return cli_usage_error(cmd, "give --signature HEX and --public-key HEX");
	if (o->algorithm == NULL)
		o->algorithm = "secp256k1";
	rc = tee_cli_data(data, cmd->name, argv[first], o->hex, DATA_MAX);
	if (rc == EXIT_OK)
		rc = tee_cli_dstack(c, cmd->name, o->endpoint, o->timeout_ms, o->quiet);
	return rc;
}

static json_t *sign_json(const tee_dstack_signature *s)
{
	json_t *j = json_object(), *chain = json_array();

	if (j == NULL || chain == NULL ||
	    json_object_set_new(j, "signature", tee_cli_hex_json(s->signature, sizeof(s->signature))) != 0 ||
	    json_array_append_new(chain, tee_cli_hex_json(s->signature, sizeof(s->signature))) != 0 ||
	    json_array_append_new(chain, tee_cli_hex_json(s->key_chain[0], TEE_DSTACK_CHAIN_SIG_LEN)) != 0 ||
	    json_array_append_new(chain, tee_cli_hex_json(s->key_chain[1], s->kms_signature_len)) != 0) {
		json_decref(chain);
		json_decref(j);
		return NULL;
	}
	if (json_object_set_new(j, "signature_chain", chain) != 0 ||
	    json_object_set_new(j, "public_key", tee_cli_hex_json(s->public_key, s->public_key_len)) != 0) {
		json_decref(j);
		return NULL;
	}
	return j;
}

int sign_main(int argc, char **argv)
{
	struct sign_opts o = {0};
	dstack_client c;
	tee_dstack_signature s;
	teeliza_buf data;
	teeliza_err err;
	json_t *j;
	int rc;

	rc = begin(&c, &data, &o, &sign_cmd, argc, argv);
	if (rc) {
		teeliza_buf_free(&data);
		return rc == CLI_HELP_SHOWN ? EXIT_OK : rc;
	}
	err = dstack_sign(&s, &c, o.algorithm, data.data, data.len);
	teeliza_buf_free(&data);
	if (err)
		return tee_cli_dstack_fail("sign", err);
	j = sign_json(&s);
	rc = tee_cli_print_json_as(j, o.json);
	json_decref(j);
	return rc;
}

/* A hex option of verify-sig: bad hex is bad input (3). */
static int hex_opt(teeliza_buf *out, const char *name, const char *hex)
{
	teeliza_buf_init(out, 1024);
	if (teeliza_hex_decode_buf(out, hex, strlen(hex), true) != TEELIZA_OK) {
		teeliza_set_error(TEELIZA_ERR_INVALID, "--%s is not hex (at most 512 bytes): %.80s", name, hex);
		return cli_fail("verify-sig", TEELIZA_ERR_INVALID);
	}
	return EXIT_OK;
}

int verify_sig_main(int argc, char **argv)
{
	struct sign_opts o = {0};
	dstack_client c;
	teeliza_buf data, sig, pub;
	teeliza_err err;
	bool valid = false;
	json_t *j;
	int rc;

	teeliza_buf_init(&sig, 0);
	teeliza_buf_init(&pub, 0);
	rc = begin(&c, &data, &o, &verify_sig_cmd, argc, argv);
	if (rc == EXIT_OK)
		rc = hex_opt(&sig, "signature", o.signature);
	if (rc == EXIT_OK)
		rc = hex_opt(&pub, "public-key", o.public_key);
	if (rc == EXIT_OK) {
		err = dstack_verify(&valid, &c, o.algorithm, data.data, data.len, sig.data, sig.len, pub.data, pub.len);
		if (err)
			rc = tee_cli_dstack_fail("verify-sig", err);
	}
	teeliza_buf_free(&data);
	teeliza_buf_free(&sig);
	teeliza_buf_free(&pub);
	if (rc)
		return rc == CLI_HELP_SHOWN ? EXIT_OK : rc;
	j = json_pack("{s:b}", "valid", valid);
	rc = tee_cli_print_json_as(j, o.json);
	json_decref(j);
	if (rc == EXIT_OK && !valid) {
		if (!o.quiet)
			fprintf(stderr, "teeliza verify-sig: the signature does not verify\n");
		rc = EXIT_VERIFY_FAIL;
	}
	return rc;
}
