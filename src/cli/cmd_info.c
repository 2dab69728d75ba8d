/* `teeliza info`: tappd's Info (app id, instance id, TCB info with the RTMRs and event log). */
#include "cli/tee_cli.h"

#include <getopt.h>
#include <string.h>

static const char info_usage[] =
	"usage: teeliza info [--json] [--quiet] [--endpoint URL|SOCKET] [--timeout MS]\n"
	"\n"
	"Print tappd's Tappd.Info reply. (tappd-simulator v0.1.4 has no Info and answers\n"
	"\"method Not Found\"; real tappd and teeliza's simulator have it.)\n"
	"\n"
	"stdout: the reply's JSON as received, or with --json indented and with the\n"
	"tcb_info string decoded into an object, as the JS SDK's info() does.\n"
	"\n"
	"  --json         indented JSON, tcb_info decoded\n"
	"  --quiet        no log lines on stderr\n"
	TEE_CLI_ENDPOINT_HELP
	"\n"
	TEE_CLI_ENV_HELP
	"\n"
	"exit codes: 0 ok, 64 bad command line, 69 tappd unreachable, timed out or\n"
	"  answered an error, 70 internal error, 74 .env could not be read,\n"
	"  78 bad configuration (invalid TEE_MODE or endpoint, a .env refused)\n";

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
	static const struct option longopts[] = {
		{"json", no_argument, NULL, 'j'},
		{"quiet", no_argument, NULL, 'q'},
		{"endpoint", required_argument, NULL, 'e'},
		{"timeout", required_argument, NULL, 't'},
		{"help", no_argument, NULL, 'h'},
		{NULL, 0, NULL, 0},
	};
	const char *endpoint = NULL;
	long timeout_ms = 0;
	bool json = false, quiet = false;
	tappd_client c;
	teeliza_buf out;
	json_t *j;
	teeliza_err err;
	int ch, rc;

	opterr = 0;
	while ((ch = getopt_long(argc, argv, "hq", longopts, NULL)) != -1) {
		switch (ch) {
		case 'j': json = true; break;
		case 'q': quiet = true; break;
		case 'e': endpoint = optarg; break;
		case 'h':
			fputs(info_usage, stdout);
			return EXIT_OK;
		case 't':
			rc = tee_cli_parse_ms(&timeout_ms, "info", optarg);
			if (rc)
				return rc;
			break;
		default:
			fprintf(stderr, "teeliza info: unknown or incomplete option '%s'\n"
			                "run 'teeliza info --help' for the options\n", argv[optind - 1]);
			return EXIT_USAGE;
		}
	}
	if (optind < argc) {
		fprintf(stderr, "teeliza info: unexpected argument '%s'\n", argv[optind]);
		return EXIT_USAGE;
	}
	rc = tee_cli_load_env("info", quiet);
	if (rc)
		return rc;
	rc = tee_cli_client(&c, "info", endpoint, timeout_ms, quiet);
	if (rc)
		return rc;
	err = tappd_info(&out, &c);
	if (err)
		return cli_fail("info", err);
	if (json) {
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
