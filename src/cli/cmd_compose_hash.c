/* `teeliza compose-hash FILE`: the compose hash of an app-compose.json, as dstack's SDK and OS compute it. */
#include "cli/cli_opts.h"
#include "teeliza/common/encoding.h"
#include "teeliza/tee/compose_hash.h"

#include <stdio.h>
#include <string.h>

struct compose_opts {
	bool normalize, raw, canonical;
};

static const struct cli_opt compose_rows[] = {
	CLI_OPT_FLAG(struct compose_opts, normalize, "normalize", 0,
	             "getComposeHash(compose, true): first drop what the runner\n"
	             "does not use (docker_compose_file for runner \"bash\",\n"
	             "bash_script for \"docker-compose\") and a false or empty\n"
	             "pre_launch_script"),
	CLI_OPT_FLAG(struct compose_opts, raw, "raw", 0,
	             "SHA-256 of FILE's bytes as they are, unparsed: what the OS\n"
	             "measures when FILE is deployed as it is"),
	CLI_OPT_FLAG(struct compose_opts, canonical, "canonical", 0,
	             "print the text that is hashed (the SDK's JSON) instead of\n"
	             "the hash: deploy that as app-compose.json"),
	CLI_OPT_HELP,
	CLI_OPT_END,
};

static const struct cli_command compose_cmd = {
	.name = "compose-hash",
	.usage = "usage: teeliza compose-hash FILE [--normalize | --raw] [--canonical]\n"
	         "\n"
	         "Print a dstack app's compose hash as hex: SHA-256 of the app-compose JSON that\n"
	         "@phala/dstack-sdk 0.5.8's getComposeHash builds from FILE (every object's keys\n"
	         "sorted, JSON.stringify's compact form). dstack's OS measures SHA-256 of the\n"
	         "bytes of app-compose.json as deployed (the \"compose-hash\" event in RTMR3), and\n"
	         "deployment tools write it as that JSON, so the two agree; check a quote with\n"
	         "`teeliza verify --event-log LOG --expect-compose-hash HEX`.\n"
	         "\n"
	         "FILE ('-' for standard input) is an app-compose.json: a JSON object such as\n"
	         "{\"manifest_version\":2,\"name\":\"app\",\"runner\":\"docker-compose\",\n"
	         " \"docker_compose_file\":\"<the docker-compose.yml text>\",...}. The SDK does\n"
	         "not wrap a bare docker-compose.yml, so neither does this. When FILE's bytes\n"
	         "are not already that JSON, a note on stderr gives the hash of the bytes as\n"
	         "they are (what the OS would measure for FILE deployed unchanged).\n"
	         "docs/VERIFIABILITY.md gives the preimage exactly.\n"
	         "\n"
	         "options:\n",
	.usage_end = "\n"
	             "exit codes: 0 ok, 3 FILE is not a JSON object (or holds what the SDK and\n"
	             "  dstack read differently), 64 bad usage, 74 file error\n",
	.opts = compose_rows,
	.col = 16,
};

int compose_hash_main(int argc, char **argv)
{
	struct compose_opts o = {0};
	teeliza_buf in, text;
	uint8_t hash[32], raw[32];
	char hex[65];
	teeliza_err err;
	int rc, first;

	rc = cli_parse(&compose_cmd, &o, argc, argv, &first);
	if (rc != EXIT_OK)
		return rc == CLI_HELP_SHOWN ? EXIT_OK : rc;
	if (argc - first != 1)
		return cli_usage_error(&compose_cmd, "give exactly one FILE (an app-compose.json, or - for stdin)");
	if (o.raw && o.normalize)
		return cli_usage_error(&compose_cmd, "--raw hashes the bytes unparsed, so --normalize cannot apply");
	err = teeliza_read_file(&in, strcmp(argv[first], "-") == 0 ? "/dev/stdin" : argv[first], TEE_COMPOSE_MAX);
	if (err)
		return cli_fail("compose-hash", err);
	teeliza_buf_init(&text, 8 * (size_t)TEE_COMPOSE_MAX);
	if (o.raw) {
		err = teeliza_buf_append(&text, in.data, in.len);
	} else {
		err = tee_compose_canonical(&text, (const char *)in.data, in.len, o.normalize);
		if (err)
			fprintf(stderr, "teeliza compose-hash: %s: %s\n", argv[first], teeliza_errmsg());
	}
	if (!err) {
		tee_compose_hash_raw(hash, text.data, text.len);
		if (o.canonical) {
			fwrite(text.data, 1, text.len, stdout);
			printf("\n");
		} else {
			teeliza_hex_encode(hex, hash, 32);
			printf("%s\n", hex);
		}
		if (!o.raw && (text.len != in.len || memcmp(text.data, in.data, in.len) != 0)) {
			tee_compose_hash_raw(raw, in.data, in.len);
			teeliza_hex_encode(hex, raw, 32);
			fprintf(stderr,
			        "teeliza compose-hash: note: %s is not byte for byte the SDK's JSON; deployed as it is, the OS "
			        "would measure %s (--canonical prints the SDK's text)\n",
			        argv[first], hex);
		}
	}
	teeliza_buf_free(&text);
	teeliza_buf_free(&in);
	if (err == TEELIZA_ERR_PARSE || err == TEELIZA_ERR_TOO_LARGE)
		return EXIT_BAD_INPUT;
	return err ? cli_exit_code(err) : EXIT_OK;
}
