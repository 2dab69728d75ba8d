/* `teeliza quote DATA`: a TDX quote from tappd over some data, with its event log and RTMRs. */
#include "cli/tee_cli.h"
#include "teeliza/common/encoding.h"
#include "teeliza/tee/reportdata.h"

#include <string.h>

struct quote_opts {
	const char *data, *hash, *prefix, *endpoint;
	uint64_t timeout_ms;
	bool hex, json, quiet;
};

static const struct cli_opt quote_rows[] = {
	CLI_OPT_FLAG(struct quote_opts, hex, "hex", 0, "DATA is hex (an optional 0x is skipped)"),
	CLI_OPT_STRING(struct quote_opts, hash, "hash", 0, "ALG",
	               "tappd hashes \"<prefix>:\" || DATA with ALG: sha256 sha384 sha512\n"
	               "sha3-256 sha3-384 sha3-512 keccak256 keccak384 keccak512, or raw\n"
	               "(DATA itself, at most 64 bytes, zero-padded at the start).\n"
	               "Default: not sent, so tappd uses sha512 - what the plugin does."),
	CLI_OPT_STRING(struct quote_opts, prefix, "prefix", 0, "P",
	               "report-data prefix instead of \"app-data\" (tappd >= 2024-12-23 only)"),
	CLI_OPT_FLAG(struct quote_opts, json, "json", 0, "print {reportData, hashAlgorithm, quote, eventLog, rtmrs, timestamp}"),
	TEE_CLI_ROWS(struct quote_opts),
	CLI_OPT_HELP,
	CLI_OPT_END,
};

static const struct cli_command quote_cmd = {
	.name = "quote",
	.usage = "usage: teeliza quote DATA [--hex] [--hash ALG] [--prefix P] [--json] [--quiet]\n"
	         "                     [--endpoint URL|SOCKET] [--timeout MS]\n"
	         "\n"
	         "Ask tappd's TdxQuote for a quote over DATA (its UTF-8 bytes, or with --hex the\n"
	         "bytes DATA spells), as the plugin's generateAttestation does, replay the event\n"
	         "log into RTMR0-3 and check the quote against both.\n"
	         "\n"
	         "stdout: quote (0x hex), event_log, rtmr0..rtmr3, one per line (or --json).\n"
	         "stderr: the plugin's log lines (unless --quiet).\n"
	         "\n",
	.usage_end = "\n" TEE_CLI_ENV_HELP "\n"
	             "exit codes: 0 ok, 2 the quote does not match its event log or DATA, 3 bad input\n"
	             "  (DATA not hex with --hex or too long for --hash raw; a quote from tappd that\n"
	             "  cannot be parsed), 64 bad command line,\n"
	             "  69 tappd unreachable, timed out or answered an error, 70 internal error,\n"
	             "  74 .env could not be read, 78 bad configuration (invalid TEE_MODE or\n"
	             "  endpoint, a .env refused)\n",
	.opts = quote_rows,
	.col = 17,
	.errors = TEE_CLI_ERRORS,
};

/* Returns CLI_HELP_SHOWN after --help, else an exit code (EXIT_OK to go on). */
static int parse_opts(struct quote_opts *o, int argc, char **argv)
{
	int rc, first;

	memset(o, 0, sizeof(*o));
	rc = cli_parse(&quote_cmd, o, argc, argv, &first);
	if (rc)
		return rc;
	if (argc - first != 1)
		return cli_usage_error(&quote_cmd, "give exactly one DATA argument (run 'teeliza quote --help')");
	o->data = argv[first];
	if (o->hash != NULL && !tee_hash_algorithm_valid(o->hash))
		return cli_usage_error(&quote_cmd, "unknown hash algorithm '%s' (see --help)", o->hash);
	return EXIT_OK;
}

static void print_text(const tee_attestation *a)
{
	char hex[2 * TEE_RTMR_LEN + 1];
	size_t i;
	int r;

	fputs("quote: 0x", stdout);
	for (i = 0; i < a->quote.len; i++) {
		teeliza_hex_encode(hex, a->quote.data + i, 1);
		fputs(hex, stdout);
	}
	fputs("\nevent_log: ", stdout);
	tee_cli_write(stdout, &a->event_log);
	fputc('\n', stdout);
	for (r = 0; r < 4; r++) {
		teeliza_hex_encode(hex, a->rtmr[r], TEE_RTMR_LEN);
		printf("rtmr%d: %s\n", r, hex);
	}
}

int quote_main(int argc, char **argv)
{
	struct quote_opts o;
	tappd_client c;
	teeliza_buf data, log;
	tee_attestation a;
	json_t *j;
	teeliza_err err;
	int rc;

	rc = parse_opts(&o, argc, argv);
	if (rc)
		return rc == CLI_HELP_SHOWN ? EXIT_OK : rc;
	teeliza_buf_init(&data, (size_t)8 << 20);
	if (o.hex)
		err = teeliza_hex_decode_buf(&data, o.data, strlen(o.data), true);
	else
		err = teeliza_buf_append_str(&data, o.data);
	if (err) {
		teeliza_buf_free(&data);
		return cli_fail("quote", err);
	}
	rc = tee_cli_load_env("quote", o.quiet);
	if (rc == EXIT_OK)
		rc = tee_cli_client(&c, "quote", o.endpoint, o.timeout_ms, o.quiet);
	if (rc) {
		teeliza_buf_free(&data);
		return rc;
	}
	err = tee_remote_attestation_prefix(&a, &c, (const char *)data.data, data.len, o.hash, o.prefix);
	teeliza_buf_free(&data);
	if (err) {
		tee_attestation_free(&a);
		return cli_fail("quote", err);
	}
	if (!o.quiet) {
		teeliza_buf_init(&log, (size_t)64 << 20);
		if (tee_attestation_log(&log, &a, 0) == TEELIZA_OK)
			tee_cli_write(stderr, &log);
		teeliza_buf_free(&log);
	}
	err = tee_attestation_check(&a);
	if (err) {
		tee_attestation_free(&a);
		return cli_fail("quote", err);
	}
	if (o.json) {
		j = tee_cli_attestation_json(&a);
		rc = tee_cli_print_json(j);
		json_decref(j);
	} else {
		print_text(&a);
	}
	tee_attestation_free(&a);
	return rc;
}
