/* `teeliza get-tls-key`: dstack's GetTlsKey, a fresh key and its certificate chain (RA-TLS on request). */
#include "cli/tee_cli.h"

#include <string.h>

struct get_tls_key_opts {
	const char *endpoint;
	uint64_t timeout_ms;
	bool json, quiet;
	dstack_tls_key_options t;
	const char *alt[DSTACK_CHAIN_MAX];
	uint64_t not_before, not_after;
	bool no_server_auth;
};

/* --alt-name, repeatable */
static int take_alt_name(const struct cli_command *cmd, void *opts, const char *value)
{
	struct get_tls_key_opts *o = opts;

	if (o->t.n_alt >= DSTACK_CHAIN_MAX)
		return cli_usage_error(cmd, "at most %d --alt-name", DSTACK_CHAIN_MAX);
	o->alt[o->t.n_alt++] = value;
	return EXIT_OK;
}

static const struct cli_opt get_tls_key_rows[] = {
	CLI_OPT_STRING(struct get_tls_key_opts, t.subject, "subject", 0, "CN", "the certificate's subject (default \"\")"),
	CLI_OPT_CALL("alt-name", 0, "NAME", take_alt_name, "a subject alternative name (repeatable, at most 16)"),
	CLI_OPT_FLAG(struct get_tls_key_opts, t.usage_ra_tls, "ra-tls", 0,
	             "RA-TLS: the certificate carries a quote over its key"),
	CLI_OPT_FLAG(struct get_tls_key_opts, no_server_auth, "no-server-auth", 0, "no server-auth usage (on by default)"),
	CLI_OPT_FLAG(struct get_tls_key_opts, t.usage_client_auth, "client-auth", 0, "client-auth usage"),
	CLI_OPT_U64(struct get_tls_key_opts, not_before, "not-before", 0, "UNIX", 0, 253402300799,
	            "--not-before wants seconds since 1970, not '%s'", "validity start (agents >= 0.5.7)"),
	CLI_OPT_U64(struct get_tls_key_opts, not_after, "not-after", 0, "UNIX", 0, 253402300799,
	            "--not-after wants seconds since 1970, not '%s'", "validity end (agents >= 0.5.7)"),
	CLI_OPT_FLAG(struct get_tls_key_opts, t.with_app_info, "with-app-info", 0,
	             "include the app's info in the certificate (agents >= 0.5.7)"),
	CLI_OPT_FLAG(struct get_tls_key_opts, json, "json", 0, "indented JSON"),
	DSTACK_CLI_ROWS(struct get_tls_key_opts),
	CLI_OPT_HELP,
	CLI_OPT_END,
};

static const struct cli_command get_tls_key_cmd = {
	.name = "get-tls-key",
	.usage = "usage: teeliza get-tls-key [--subject CN] [--alt-name NAME]... [--ra-tls]\n"
	         "                           [--no-server-auth] [--client-auth] [--not-before UNIX]\n"
	         "                           [--not-after UNIX] [--with-app-info] [--json] [--quiet]\n"
	         "                           [--endpoint URL|SOCKET] [--timeout MS]\n"
	         "\n"
	         "Ask the dstack guest agent's GetTlsKey for a fresh TLS key and a certificate\n"
	         "chain for it, signed by the app's CA (with --ra-tls the leaf carries a quote).\n"
	         "\n"
	         "stdout: the agent's answer as JSON on one line (--json: indented):\n"
	         "  {\"key\": PEM private key (a secret), \"certificate_chain\": [PEM, ...]}\n"
	         "\n",
	.usage_end = "\n" DSTACK_CLI_ENV_HELP "\n"
	             "exit codes: 0 ok, 3 bad input (the agent too old for --not-before, --not-after\n"
	             "  or --with-app-info), " DSTACK_CLI_EXIT_TAIL,
	.opts = get_tls_key_rows,
	.col = 21,
	.errors = TEE_CLI_ERRORS,
};

static json_t *tls_json(const dstack_tls_key *k)
{
	json_t *j = json_object(), *chain = json_array();
	size_t i;

	if (j == NULL || chain == NULL ||
	    json_object_set_new(j, "key", json_stringn((const char *)k->key.data, k->key.len)) != 0)
		goto fail;
	for (i = 0; i < k->chain_len; i++)
		if (json_array_append_new(chain, json_stringn((const char *)k->certificate_chain[i].data,
		                                              k->certificate_chain[i].len)) != 0)
			goto fail;
	if (json_object_set_new(j, "certificate_chain", chain) == 0)
		return j;
	chain = NULL;
fail:
	tee_cli_json_wipe(j, "key");
	json_decref(chain);
	json_decref(j);
	return NULL;
}

int get_tls_key_main(int argc, char **argv)
{
	struct get_tls_key_opts o;
	dstack_client c;
	dstack_tls_key k;
	teeliza_err err;
	json_t *j;
	int rc, first;

	memset(&o, 0, sizeof(o));
	dstack_tls_key_options_init(&o.t);
	o.not_before = o.not_after = CLI_UNSET;
	rc = cli_parse(&get_tls_key_cmd, &o, argc, argv, &first);
	if (rc == EXIT_OK)
		rc = cli_no_args(&get_tls_key_cmd, argc, argv, first);
	if (rc)
		return rc == CLI_HELP_SHOWN ? EXIT_OK : rc;
	o.t.alt_names = o.alt;
	o.t.usage_server_auth = !o.no_server_auth;
	o.t.set_not_before = o.not_before != CLI_UNSET;
	o.t.not_before = o.t.set_not_before ? o.not_before : 0;
	o.t.set_not_after = o.not_after != CLI_UNSET;
	o.t.not_after = o.t.set_not_after ? o.not_after : 0;
	o.t.set_with_app_info = o.t.with_app_info;
	rc = tee_cli_dstack(&c, "get-tls-key", o.endpoint, o.timeout_ms, o.quiet);
	if (rc)
		return rc;
	err = dstack_get_tls_key(&k, &c, &o.t);
	if (err)
		return tee_cli_dstack_fail("get-tls-key", err);
	j = tls_json(&k);
	dstack_tls_key_free(&k);
	rc = tee_cli_print_json_as(j, o.json);
	tee_cli_json_wipe(j, "key");
	json_decref(j);
	return rc;
}
