/* `teeliza replay EVENTLOG.json [--json]`: RTMR0-3 from an event log. */
#include "cli/cli_opts.h"
#include "teeliza/common/encoding.h"
#include "teeliza/tee/rtmr.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <jansson.h>

#define REPLAY_MAX_INPUT (64u << 20)

struct replay_opts {
	bool json;
};

static const struct cli_opt replay_rows[] = {
	CLI_OPT_FLAG(struct replay_opts, json, "json", 0,
	             "print {\"rtmr0\": ..., \"rtmr3\": ...} instead of one line per register"),
	{.name = "help", .short_name = 'h', .kind = CLI_HELP, .label = "-h, --help", .help = "show this help"},
	CLI_OPT_END,
};

/* replay takes its options as written in full, anywhere, and --help before anything else (cli_parse_exact) */
static const struct cli_command replay_cmd = {
	.name = "replay",
	.usage = "usage: teeliza replay EVENTLOG.json [--json]\n"
	         "\n"
	         "Replay a TDX event log into RTMR0-3 the way the dstack JS SDK's replayRtmrs()\n"
	         "does, and print the four registers as hex.\n"
	         "\n"
	         "EVENTLOG.json is a file, or '-' for standard input. It holds the event-log array\n"
	         "tappd serves ([{imr, event_type, digest, event, event_payload}, ...]), or a JSON\n"
	         "object that carries one:\n"
	         "  - tappd's TdxQuote or dstack's GetQuote answer: {\"quote\": ..., \"event_log\": \"<JSON>\"}\n"
	         "  - `teeliza quote --json` and the agent's /agents/<id>/attestations/<quote id>:\n"
	         "    {..., \"eventLog\": [...] or \"<JSON>\"}\n"
	         "  - `teeliza derive --json`: {..., \"attestation\": {..., \"eventLog\": [...]}}\n"
	         "  - tappd's Info (`teeliza info`, --json too): the event_log in its tcb_info\n"
	         "\n"
	         "options:\n",
	.usage_end = "\n"
	             "exit codes: 0 ok, 3 unreadable or malformed event log, 64 bad usage, 74 file error\n",
	.opts = replay_rows,
	.col = 13,
	.errors = CLI_NEEDS_VALUE | CLI_USAGE_AFTER,
};

int replay_main(int argc, char **argv)
{
	struct replay_opts o = {0};
	const char *path = NULL;
	teeliza_buf in;
	tee_event_log log;
	uint8_t rtmr[4][TEE_RTMR_LEN];
	char hex[4][2 * TEE_RTMR_LEN + 1];
	teeliza_err err;
	int i, rc;

	if (cli_wants_help(argc, argv)) {
		cli_usage(stdout, &replay_cmd);
		return EXIT_OK;
	}
	for (i = 1; i < argc; i++) {
		rc = cli_parse_exact(&replay_cmd, &o, argv[i]);
		if (rc == CLI_NOT_AN_OPTION && path == NULL)
			path = argv[i];
		else if (rc == CLI_NOT_AN_OPTION)
			return cli_usage_error(&replay_cmd, "more than one event log given");
		else if (rc != EXIT_OK)
			return rc;
	}
	if (path == NULL) {
		cli_usage(stderr, &replay_cmd);
		return EXIT_USAGE;
	}

	err = teeliza_read_file(&in, path, REPLAY_MAX_INPUT);
	if (err)
		return cli_fail("replay", err);
	err = tee_event_log_parse_input(&log, (const char *)in.data, in.len);
	teeliza_buf_free(&in);
	if (err)
		return cli_fail("replay", err);
	tee_rtmr_replay(rtmr, &log);
	tee_event_log_free(&log);

	for (i = 0; i < 4; i++)
		teeliza_hex_encode(hex[i], rtmr[i], TEE_RTMR_LEN);
	if (o.json)
		printf("{\"rtmr0\":\"%s\",\"rtmr1\":\"%s\",\"rtmr2\":\"%s\",\"rtmr3\":\"%s\"}\n", hex[0], hex[1],
		       hex[2], hex[3]);
	else
		for (i = 0; i < 4; i++)
			printf("rtmr%d: %s\n", i, hex[i]);
	if (fflush(stdout) != 0)
		return cli_fail("replay", teeliza_set_error(TEELIZA_ERR_IO, "cannot write the output"));
	return EXIT_OK;
}
