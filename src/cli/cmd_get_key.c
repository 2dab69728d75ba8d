/*
 * `teeliza get-key PATH`: dstack's GetKey(path, purpose, algorithm), printed
 * as the guest agent answers it ({"key", "signature_chain"}), so that
 * `teeliza verify-key` and scripts can read it.
 */
#include "cli/tee_cli.h"

#include <string.h>

struct get_key_opts {
	const char *purpose, *algorithm, *endpoint;
	uint64_t timeout_ms;
	bool json, quiet;
};

static const struct cli_opt get_key_rows[] = {
	CLI_OPT_STRING(struct get_key_opts, purpose, "purpose", 0, "P",
	               "the purpose chain[0] signs (default \"\"; it does not enter the key)"),
	CLI_OPT_STRING(struct get_key_opts, algorithm, "algorithm", 0, "A",
	               "secp256k1 (default; also k256) or ed25519: how the 32 bytes\n"
	               "are used (a secp256k1 scalar or an Ed25519 seed)"),
	CLI_OPT_FLAG(struct get_key_opts, json, "json", 0, "indented JSON"),
	DSTACK_CLI_ROWS(struct get_key_opts),
	CLI_OPT_HELP,
	CLI_OPT_END,
};

static const struct cli_command get_key_cmd = {
	.name = "get-key",
	.usage = "usage: teeliza get-key PATH [--purpose P] [--algorithm secp256k1|ed25519] [--json]\n"
	         "                       [--quiet] [--endpoint URL|SOCKET] [--timeout MS]\n"
	         "\n"
	         "Ask the dstack guest agent's GetKey for the app's key at PATH (\"\" allowed):\n"
	         "HKDF-SHA256 of the app key over PATH, with its signature chain up to the KMS\n"
	         "root. `teeliza verify-key` checks that chain.\n"
	         "\n"
	         "stdout: the agent's answer as JSON on one line (--json: indented):\n"
	         "  {\"key\": hex (the secret key), \"signature_chain\": [app key's signature over\n"
	         "  \"<purpose>:<hex public key>\", KMS root's signature over the app key]}\n"
	         "The key is a secret: keep stdout out of logs.\n"
	         "\n",
	.usage_end = "\n" DSTACK_CLI_ENV_HELP "\n"
	             "exit codes: 0 ok, 3 bad input (an algorithm the agent refuses, PATH or P not\n"
	             "  UTF-8), " DSTACK_CLI_EXIT_TAIL,
	.opts = get_key_rows,
	.col = 17,
	.errors = TEE_CLI_ERRORS,
};

/* {"key", "signature_chain"}: the agent's field order. */
static json_t *key_json(const tee_dstack_key *k)
{
	json_t *j = json_object(), *chain = json_array();

	if (j == NULL || chain == NULL || json_object_set_new(j, "key", tee_cli_hex_json(k->key, sizeof(k->key))) != 0 ||
	    json_array_append_new(chain, tee_cli_hex_json(k->chain[0], TEE_DSTACK_CHAIN_SIG_LEN)) != 0 ||
	    json_array_append_new(chain, tee_cli_hex_json(k->chain[1], k->kms_signature_len)) != 0) {
		json_decref(chain);
		json_decref(j);
		return NULL;
	}
	if (json_object_set_new(j, "signature_chain", chain) != 0) {
		json_decref(j);
		return NULL;
	}
	return j;
}

int get_key_main(int argc, char **argv)
{
	struct get_key_opts o = {0};
	dstack_client c;
	tee_dstack_key k;
	teeliza_err err;
	json_t *j;
	int rc, first;

	rc = cli_parse(&get_key_cmd, &o, argc, argv, &first);
	if (rc)
		return rc == CLI_HELP_SHOWN ? EXIT_OK : rc;
	if (argc - first != 1)
		return cli_usage_error(&get_key_cmd, "give exactly one PATH argument (\"\" for the empty path)");
	rc = tee_cli_dstack(&c, "get-key", o.endpoint, o.timeout_ms, o.quiet);
	if (rc)
		return rc;
	err = dstack_get_key(&k, &c, argv[first], o.purpose, o.algorithm);
	if (err)
		return tee_cli_dstack_fail("get-key", err);
	j = key_json(&k);
	teeliza_wipe(&k, sizeof(k));
	rc = tee_cli_print_json_as(j, o.json);
	tee_cli_json_wipe(j, "key");
	json_decref(j);
	return rc;
}
