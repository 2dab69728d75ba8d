/* `teeliza info`: tappd's Info (app id, instance id, TCB info with the RTMRs and event log). */
#include "cli/tee_cli.h"

#include <string.h>

struct info_opts {
	const char *endpoint;
	uint64_t timeout_ms;
	bool json, quiet;
};

static const struct cli_opt info_rows[] = {
	CLI_OPT_FLAG(struct info_opts, json, "json", 0, "indented JSON, tcb_info decoded"),
	TEE_CLI_ROWS(struct info_opts),
	CLI_OPT_HELP,
	CLI_OPT_END,
};

static const struct cli_command info_cmd = {
	.name = "info",
	.usage = "usage: teeliza info [--json] [--quiet] [--endpoint URL|SOCKET] [--timeout MS]\n"
	         "\n"
	         "Print tappd's Tappd.Info reply. (tappd-simulator v0.1.4 has no Info and answers\n"
	         "\"method Not Found\"; real tappd and teeliza's simulator have it.)\n"
	         "\n"
	         "stdout: the reply's JSON as received, or with --json indented and with the\n"
	         "tcb_info string decoded into an object, as the JS SDK's info() does.\n"
	         "\n",
	.usage_end = "\n" TEE_CLI_ENV_HELP "\n"
	             "exit codes: 0 ok, 64 bad command line, 69 tappd unreachable, timed out or\n"
	             "  answered an error, 70 internal error, 74 .env could not be read,\n"
	             "  78 bad configuration (invalid TEE_MODE or endpoint, a .env refused)\n",
	.opts = info_rows,
	.col = 17,
	.errors = TEE_CLI_ERRORS,
};

/* info() in the SDK JSON.parse()s tcb_info; do the same when it is a string of JSON. */
static void decode_tcb_info(json_t *info)
{
	json_t *s = json_object_get(info, "tcb_info");
	json_t *parsed;

	if (!json_is_string(s))
		return;
	parsed = json_loadb(json_string_value(s), json_string_length(s), 0, NULL);
	if (parsed != NULL)
		json_object_set_new(info, "tcb_info", parsed);
}

int info_main(int argc, char **argv)
{
	struct info_opts o = {0};
	tappd_client c;
	teeliza_buf out;
	json_t *j;
	teeliza_err err;
	int rc, first;

	rc = cli_parse(&info_cmd, &o, argc, argv, &first);
	if (rc == EXIT_OK)
		rc = cli_no_args(&info_cmd, argc, argv, first);
	if (rc)
		return rc == CLI_HELP_SHOWN ? EXIT_OK : rc;
	rc = tee_cli_load_env("info", o.quiet);
	if (rc)
		return rc;
	rc = tee_cli_client(&c, "info", o.endpoint, o.timeout_ms, o.quiet);
	if (rc)
		return rc;
	err = tappd_info(&out, &c);
	if (err)
		return cli_fail("info", err);
	if (o.json) {
		j = json_loadb((const char *)out.data, out.len, JSON_DECODE_ANY, NULL);
		decode_tcb_info(j);
		rc = tee_cli_print_json(j);
		json_decref(j);
	} else {
		tee_cli_write(stdout, &out);
		fputc('\n', stdout);
	}
	teeliza_buf_free(&out);
	return rc;
}
