/* `teeliza replay EVENTLOG.json [--json]`: RTMR0-3 from an event log. */
#include "cli/cli.h"
#include "teeliza/common/encoding.h"
#include "teeliza/tee/rtmr.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <jansson.h>

#define REPLAY_MAX_INPUT (64u << 20)

static void replay_usage(FILE *f)
{
	fprintf(f,
	        "usage: teeliza replay EVENTLOG.json [--json]\n"
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
	        "options:\n"
	        "  --json     print {\"rtmr0\": ..., \"rtmr3\": ...} instead of one line per register\n"
	        "  -h, --help show this help\n"
	        "\n"
	        "exit codes: 0 ok, 3 unreadable or malformed event log, 64 bad usage, 74 file error\n");
}

int replay_main(int argc, char **argv)
{
	const char *path = NULL;
	bool as_json = false;
	teeliza_buf in;
	tee_event_log log;
	uint8_t rtmr[4][TEE_RTMR_LEN];
	char hex[4][2 * TEE_RTMR_LEN + 1];
	teeliza_err err;
	int i;

	if (cli_wants_help(argc, argv)) {
		replay_usage(stdout);
		return EXIT_OK;
	}
	for (i = 1; i < argc; i++) {
		if (strcmp(argv[i], "--json") == 0) {
			as_json = true;
		} else if (argv[i][0] == '-' && argv[i][1] != '\0') {
			fprintf(stderr, "teeliza replay: unknown option '%s'\n\n", argv[i]);
			replay_usage(stderr);
			return EXIT_USAGE;
		} else if (path == NULL) {
			path = argv[i];
		} else {
			fprintf(stderr, "teeliza replay: more than one event log given\n\n");
			replay_usage(stderr);
			return EXIT_USAGE;
		}
	}
	if (path == NULL) {
		replay_usage(stderr);
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
	if (as_json)
		printf("{\"rtmr0\":\"%s\",\"rtmr1\":\"%s\",\"rtmr2\":\"%s\",\"rtmr3\":\"%s\"}\n", hex[0], hex[1],
		       hex[2], hex[3]);
	else
		for (i = 0; i < 4; i++)
			printf("rtmr%d: %s\n", i, hex[i]);
	if (fflush(stdout) != 0)
		return cli_fail("replay", teeliza_set_error(TEELIZA_ERR_IO, "cannot write the output"));
	return EXIT_OK;
}
