/*
 * `teeliza info`: the guest agent's Info on either API (app id, instance id,
 * TCB info with the RTMRs and event log): tappd's Tappd.Info, or dstack's
 * Info, whose tcb_info the dstack client parses and replays before it is shown.
 */
#include "cli/tee_cli.h"

#include <string.h>

struct info_opts {
	const char *endpoint;
	uint64_t timeout_ms;
	bool json, quiet;
};

static const struct cli_opt info_rows[] = {
	CLI_OPT_FLAG(struct info_opts, json, "json", 0, "indented JSON, tcb_info decoded"),
	TEE_ANY_CLI_ROWS(struct info_opts),
	CLI_OPT_HELP,
	CLI_OPT_END,
};

static const struct cli_command info_cmd = {
	.name = "info",
	.usage = "usage: teeliza info [--json] [--quiet] [--endpoint URL|SOCKET] [--timeout MS]\n"
	         "\n"
	         "Print the guest agent's Info, on the API chosen as docs/DSTACK.md says\n"
	         "(TEE_API=dstack for dstack 0.5's Info, else tappd's Tappd.Info; the API and\n"
	         "endpoint are named on stderr). dstack's tcb_info is parsed and its event log\n"
	         "replayed against its RTMRs first: a reply that does not hold together is an\n"
	         "error. (tappd-simulator v0.1.4 has no Info and answers \"method Not Found\";\n"
	         "real tappd, dstack and teeliza's simulator have it.)\n"
	         "\n"
	         "stdout: the reply's JSON as received, or with --json indented and with the\n"
	         "tcb_info string decoded into an object, as the JS SDK's info() does.\n"
	         "\n",
	.usage_end = "\n" TEE_CLI_ENV_HELP "\n"
	             "exit codes: 0 ok, 2 dstack's tcb_info event log does not replay to its RTMRs,\n"
	             "  64 bad command line, 69 the agent unreachable, timed out or answered an\n"
	             "  error (or not as its API does), 70 internal error, 74 .env could not be read,\n"
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

/* A tcb_info whose event log does not replay to its own RTMRs is not shown as if it did. */
static int dstack_info_checked(const dstack_info *di)
{
	if (di->tcb.present && di->tcb.has_registers && !di->tcb.replay_matches) {
		fprintf(stderr, "teeliza info: dstack's tcb_info event log does not replay to its RTMR0-3\n");
		return EXIT_VERIFY_FAIL;
	}
	return EXIT_OK;
}

int info_main(int argc, char **argv)
{
	struct info_opts o = {0};
	tee_endpoint_choice ch;
	tappd_client c;
	dstack_client dc;
	dstack_info di;
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
	rc = tee_cli_choose(&ch, "info", o.endpoint, TEE_CLI_WANT_ANY, o.quiet);
	if (rc)
		return rc;
	if (ch.api == TEE_API_DSTACK) {
		dstack_client_init(&dc, &ch.ep);
		if (o.timeout_ms > 0)
			dc.timeout_ms = (long)o.timeout_ms;
		err = dstack_get_info(&di, &dc);
		if (err)
			return tee_cli_dstack_fail("info", err);
		rc = dstack_info_checked(&di);
		out = di.raw; /* shown as received, like tappd's */
		teeliza_buf_init(&di.raw, 0);
		dstack_info_free(&di);
		if (rc) {
			teeliza_buf_free(&out);
			return rc;
		}
	} else {
		tappd_client_init(&c, &ch.ep);
		if (o.timeout_ms > 0)
			c.timeout_ms = (long)o.timeout_ms;
		err = tappd_info(&out, &c);
		if (err)
			return cli_fail("info", err);
	}
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
