/* `teeliza tee-version`: the dstack guest agent's Version (`teeliza version` is teeliza's own). */
#include "cli/tee_cli.h"

struct tee_version_opts {
	const char *endpoint;
	uint64_t timeout_ms;
	bool json, quiet;
};

static const struct cli_opt tee_version_rows[] = {
	CLI_OPT_FLAG(struct tee_version_opts, json, "json", 0, "indented JSON"),
	DSTACK_CLI_ROWS(struct tee_version_opts),
	CLI_OPT_HELP,
	CLI_OPT_END,
};

static const struct cli_command tee_version_cmd = {
	.name = "tee-version",
	.usage = "usage: teeliza tee-version [--json] [--quiet] [--endpoint URL|SOCKET] [--timeout MS]\n"
	         "\n"
	         "Ask the dstack guest agent's Version (agents from dstack 0.5.7 have it; older\n"
	         "ones answer an error). `teeliza version` prints teeliza's own version.\n"
	         "\n"
	         "stdout: the agent's answer as JSON on one line (--json: indented):\n"
	         "  {\"version\": \"0.5.11\", \"rev\": git revision}\n"
	         "\n",
	.usage_end = "\n" DSTACK_CLI_ENV_HELP "\n"
	             "exit codes: 0 ok, " DSTACK_CLI_EXIT_TAIL,
	.opts = tee_version_rows,
	.col = 17,
	.errors = TEE_CLI_ERRORS,
};

int tee_version_main(int argc, char **argv)
{
	struct tee_version_opts o = {0};
	dstack_client c;
	dstack_version v;
	teeliza_err err;
	json_t *j;
	int rc, first;

	rc = cli_parse(&tee_version_cmd, &o, argc, argv, &first);
	if (rc == EXIT_OK)
		rc = cli_no_args(&tee_version_cmd, argc, argv, first);
	if (rc)
		return rc == CLI_HELP_SHOWN ? EXIT_OK : rc;
	rc = tee_cli_dstack(&c, "tee-version", o.endpoint, o.timeout_ms, o.quiet);
	if (rc)
		return rc;
	err = dstack_get_version(&v, &c);
	if (err)
		return tee_cli_dstack_fail("tee-version", err);
	j = json_pack("{s:s, s:s}", "version", v.version, "rev", v.rev);
	rc = tee_cli_print_json_as(j, o.json);
	json_decref(j);
	return rc;
}
