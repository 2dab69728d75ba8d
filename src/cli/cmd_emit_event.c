/* `teeliza emit-event NAME PAYLOAD`: dstack's EmitEvent, extending RTMR3 with a runtime event. */
#include "cli/tee_cli.h"

#include <string.h>

#define PAYLOAD_MAX ((size_t)32 << 10)

struct emit_event_opts {
	const char *endpoint;
	uint64_t timeout_ms;
	bool hex, quiet;
};

static const struct cli_opt emit_event_rows[] = {
	CLI_OPT_FLAG(struct emit_event_opts, hex, "hex", 0, "PAYLOAD is hex (an optional 0x is skipped)"),
	DSTACK_CLI_ROWS(struct emit_event_opts),
	CLI_OPT_HELP,
	CLI_OPT_END,
};

static const struct cli_command emit_event_cmd = {
	.name = "emit-event",
	.usage = "usage: teeliza emit-event NAME PAYLOAD [--hex] [--quiet] [--endpoint URL|SOCKET]\n"
	         "                          [--timeout MS]\n"
	         "\n"
	         "Ask the dstack guest agent's EmitEvent to extend RTMR3 with the runtime event\n"
	         "NAME (non-empty) and PAYLOAD (its UTF-8 bytes, or with --hex the bytes it\n"
	         "spells; \"\" allowed): digest = SHA-384(08000001 LE || \":\" || NAME || \":\" ||\n"
	         "PAYLOAD). Later quotes carry the event in their event log.\n"
	         "\n"
	         "stdout: nothing (the agent answers an empty object).\n"
	         "\n",
	.usage_end = "\n" DSTACK_CLI_ENV_HELP "\n"
	             "exit codes: 0 ok, 3 bad input (empty NAME, bad hex, not UTF-8), " DSTACK_CLI_EXIT_TAIL,
	.opts = emit_event_rows,
	.col = 17,
	.errors = TEE_CLI_ERRORS,
};

int emit_event_main(int argc, char **argv)
{
	struct emit_event_opts o = {0};
	dstack_client c;
	teeliza_buf payload;
	teeliza_err err;
	int rc, first;

	rc = cli_parse(&emit_event_cmd, &o, argc, argv, &first);
	if (rc)
		return rc == CLI_HELP_SHOWN ? EXIT_OK : rc;
	if (argc - first != 2)
		return cli_usage_error(&emit_event_cmd, "give NAME and PAYLOAD (\"\" for an empty payload)");
	rc = tee_cli_data(&payload, "emit-event", argv[first + 1], o.hex, PAYLOAD_MAX);
	if (rc == EXIT_OK)
		rc = tee_cli_dstack(&c, "emit-event", o.endpoint, o.timeout_ms, o.quiet);
	if (rc) {
		teeliza_buf_free(&payload);
		return rc;
	}
	err = dstack_emit_event(&c, argv[first], payload.data, payload.len);
	teeliza_buf_free(&payload);
	if (err)
		return tee_cli_dstack_fail("emit-event", err);
	if (!o.quiet)
		fprintf(stderr, "teeliza emit-event: RTMR3 extended with event \"%s\"\n", argv[first]);
	return EXIT_OK;
}
