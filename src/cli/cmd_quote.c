/*
 * `teeliza quote DATA`: a TDX quote over some data, with its event log and
 * RTMRs, as Eliza's plugin asks for it: report data = SHA-512("app-data:" ‖
 * DATA) (or --hash/--prefix). On tappd the agent computes that; on dstack
 * (TEE_API=dstack, or PRODUCTION with a dstack socket) this command computes
 * the same 64 bytes and sends them raw to GetQuote, so that a quote means
 * the same on both APIs (docs/DSTACK.md). `teeliza get-quote` is dstack's
 * GetQuote as it is.
 */
#include "cli/tee_cli.h"
#include "teeliza/common/encoding.h"
#include "teeliza/dcap/quote.h"
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
	TEE_ANY_CLI_ROWS(struct quote_opts),
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
	         "On the dstack API (TEE_API=dstack; see docs/DSTACK.md) the report data is\n"
	         "computed here as tappd would (SHA-512(\"app-data:\" || DATA) by default) and\n"
	         "sent to GetQuote, so the quote means the same on both APIs; --hash raw sends\n"
	         "DATA as is (at most 64 bytes, zero-padded at the end as dstack does).\n"
	         "`teeliza get-quote` is dstack's GetQuote without any hashing.\n"
	         "\n"
	         "stdout: quote (0x hex), event_log, rtmr0..rtmr3, one per line (or --json).\n"
	         "stderr: the plugin's log lines (unless --quiet).\n"
	         "\n",
	.usage_end = "\n" TEE_CLI_ENV_HELP "\n"
	             "exit codes: 0 ok, 2 the quote does not match its event log or DATA, 3 bad input\n"
	             "  (DATA not hex with --hex or too long for --hash raw; a quote from tappd that\n"
	             "  cannot be parsed), 64 bad command line,\n"
	             "  69 the agent unreachable, timed out or answered an error, 70 internal error,\n"
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

/* The quote's RTMR0-3, checked against the replay of its event log. */
static int dstack_rtmrs(uint8_t rtmr[4][TEE_RTMR_LEN], const dstack_quote_reply *r)
{
	dcap_quote q;
	int i;

	if (dcap_quote_parse(&q, r->quote.data, r->quote.len) != TEELIZA_OK || q.body_type == DCAP_BODY_SGX)
		return cli_fail("quote", TEELIZA_ERR_PARSE);
	for (i = 0; i < 4; i++)
		memcpy(rtmr[i], q.body.td.rtmr[i], TEE_RTMR_LEN);
	if (!r->replay_matches) {
		teeliza_set_error(TEELIZA_ERR_VERIFY, "the quote does not match its event log: %s", r->replay_error);
		return cli_fail("quote", TEELIZA_ERR_VERIFY);
	}
	return EXIT_OK;
}

static json_t *dstack_json(const struct quote_opts *o, const teeliza_buf *data, const dstack_quote_reply *r,
                           uint8_t rtmr[4][TEE_RTMR_LEN])
{
	json_t *j = json_object(), *rtmrs = json_array(), *log, *rd;
	char *hex = malloc(2 * r->quote.len + 3);
	int i;

	if (j == NULL || rtmrs == NULL || hex == NULL) {
		free(hex);
		json_decref(j);
		json_decref(rtmrs);
		return NULL;
	}
	rd = json_stringn((const char *)data->data, data->len);
	if (rd == NULL) {
		hex[0] = '0', hex[1] = 'x';
		teeliza_hex_encode(hex + 2, data->data, data->len);
		rd = json_string(hex);
	}
	json_object_set_new(j, "reportData", rd);
	json_object_set_new(j, "hashAlgorithm", json_string(o->hash != NULL ? o->hash : "sha512"));
	hex[0] = '0', hex[1] = 'x';
	teeliza_hex_encode(hex + 2, r->quote.data, r->quote.len);
	json_object_set_new(j, "quote", json_string(hex));
	free(hex);
	log = json_loadb((const char *)r->event_log.data, r->event_log.len, 0, NULL);
	if (log == NULL)
		log = json_stringn((const char *)r->event_log.data, r->event_log.len);
	json_object_set_new(j, "eventLog", log);
	for (i = 0; i < 4; i++)
		json_array_append_new(rtmrs, tee_cli_hex_json(rtmr[i], TEE_RTMR_LEN));
	json_object_set_new(j, "rtmrs", rtmrs);
	return j;
}

static int dstack_quote(const struct quote_opts *o, const tee_endpoint *ep, const teeliza_buf *data)
{
	dstack_client c;
	dstack_quote_reply r;
	uint8_t rd[64], rtmr[4][TEE_RTMR_LEN];
	char hex[2 * TEE_RTMR_LEN + 1];
	const uint8_t *send = rd;
	size_t send_len = sizeof(rd);
	bool raw = o->hash != NULL && strcmp(o->hash, "raw") == 0;
	teeliza_err err;
	json_t *j;
	int rc, i;

	if (raw) {
		send = data->data;
		send_len = data->len;
	} else {
		err = tee_report_data(rd, o->hash, o->prefix, data->data, data->len);
		if (err)
			return cli_fail("quote", err);
	}
	dstack_client_init(&c, ep);
	if (o->timeout_ms > 0)
		c.timeout_ms = (long)o->timeout_ms;
	if (!o->quiet)
		fprintf(stderr, "teeliza quote: dstack GetQuote, report data %s\n",
		        raw ? "DATA as is" : "H(\"<prefix>:\" || DATA) computed here as tappd does");
	err = dstack_get_quote(&r, &c, send, send_len);
	if (err)
		return tee_cli_dstack_fail("quote", err);
	rc = dstack_rtmrs(rtmr, &r);
	if (rc == EXIT_OK && o->json) {
		j = dstack_json(o, data, &r, rtmr);
		rc = tee_cli_print_json(j);
		json_decref(j);
	} else if (rc == EXIT_OK) {
		fputs("quote: 0x", stdout);
		for (i = 0; (size_t)i < r.quote.len; i++) {
			teeliza_hex_encode(hex, r.quote.data + i, 1);
			fputs(hex, stdout);
		}
		fputs("\nevent_log: ", stdout);
		tee_cli_write(stdout, &r.event_log);
		fputc('\n', stdout);
		for (i = 0; i < 4; i++) {
			teeliza_hex_encode(hex, rtmr[i], TEE_RTMR_LEN);
			printf("rtmr%d: %s\n", i, hex);
		}
	}
	dstack_quote_reply_free(&r);
	return rc;
}

int quote_main(int argc, char **argv)
{
	struct quote_opts o;
	tee_endpoint_choice ch;
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
		rc = tee_cli_choose(&ch, "quote", o.endpoint, TEE_CLI_WANT_ANY, o.quiet);
	if (rc == EXIT_OK && ch.api == TEE_API_DSTACK)
		rc = dstack_quote(&o, &ch.ep, &data);
	if (rc || ch.api == TEE_API_DSTACK) {
		teeliza_buf_free(&data);
		return rc;
	}
	tappd_client_init(&c, &ch.ep);
	if (o.timeout_ms > 0)
		c.timeout_ms = (long)o.timeout_ms;
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
