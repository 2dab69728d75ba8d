/*
 * The plugin's generateAttestation and its log lines, and the local check
 * that ties a quote to its event log and report data.
 */
#include "teeliza/tee/attest.h"
#include "teeliza/common/encoding.h"
#include "teeliza/tee/reportdata.h"

#include <assert.h>
#include <inttypes.h>
#include <stdio.h>
#include <string.h>
#include <time.h>

#define TD_REPORT_RTMR0 328
#define TD_REPORT_DATA 520
#define TD10_REPORT_LEN 584
#define QUOTE_HEADER_LEN 48
#define TEE_TYPE_TDX 0x81u

/* Node's util.inspect puts an object on one line only below this width. */
#define NODE_BREAK_LENGTH 80

static int64_t now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_REALTIME, &ts);
	return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

/* Keep the detail, say what failed, the way the plugin rethrows. */
static teeliza_err plugin_error(teeliza_err err)
{
	char detail[900];

	snprintf(detail, sizeof(detail), "%s", teeliza_errmsg()[0] ? teeliza_errmsg() : teeliza_strerror(err));
	return teeliza_set_error(err, "Failed to generate TDX Quote: %s", detail);
}

void tee_attestation_free(tee_attestation *a)
{
	if (a == NULL)
		return;
	teeliza_buf_free(&a->report_data);
	teeliza_buf_free(&a->quote);
	teeliza_buf_free(&a->event_log);
	memset(a, 0, sizeof(*a));
}

teeliza_err tee_remote_attestation(tee_attestation *out, const tappd_client *c, const char *report_data,
                                   size_t report_data_len, const char *hash_algorithm)
{
	return tee_remote_attestation_prefix(out, c, report_data, report_data_len, hash_algorithm, NULL);
}

teeliza_err tee_remote_attestation_prefix(tee_attestation *out, const tappd_client *c, const char *report_data,
                                          size_t report_data_len, const char *hash_algorithm, const char *prefix)
{
	tappd_quote_response q;
	tee_event_log log;
	teeliza_err err;

	assert(out != NULL && c != NULL && (report_data != NULL || report_data_len == 0));
	memset(out, 0, sizeof(*out));
	teeliza_buf_init(&out->report_data, (size_t)16 << 20);
	if (hash_algorithm != NULL) {
		if (strlen(hash_algorithm) >= sizeof(out->hash_algorithm))
			return teeliza_set_error(TEELIZA_ERR_INVALID, "invalid hash algorithm %.40s", hash_algorithm);
		memcpy(out->hash_algorithm, hash_algorithm, strlen(hash_algorithm) + 1);
	}
	if (prefix != NULL) {
		if (strlen(prefix) >= sizeof(out->prefix))
			return teeliza_set_error(TEELIZA_ERR_INVALID, "report data prefix is longer than %zu bytes",
			                         sizeof(out->prefix) - 1);
		memcpy(out->prefix, prefix, strlen(prefix) + 1);
	}
	err = teeliza_buf_append(&out->report_data, report_data_len ? report_data : "", report_data_len);
	if (err)
		return err;

	err = tappd_tdx_quote(&q, c, (const uint8_t *)report_data, report_data_len, hash_algorithm, prefix);
	if (err)
		return plugin_error(err);
	/* Ownership of the quote and log moves into the attestation. */
	out->quote = q.quote;
	out->event_log = q.event_log;
	memset(&q, 0, sizeof(q));

	tee_event_log_init(&log);
	err = tee_event_log_parse(&log, (const char *)out->event_log.data, out->event_log.len);
	if (err) {
		tee_event_log_free(&log);
		return plugin_error(err);
	}
	tee_rtmr_replay(out->rtmr, &log);
	tee_event_log_free(&log);
	out->timestamp_ms = now_ms();
	return TEELIZA_OK;
}

/* ---- the log lines ---- */

static teeliza_err append_hex_line(teeliza_buf *out, const char *label, const uint8_t *data, size_t len,
                                   const char *suffix)
{
	char hex[2 * TEE_RTMR_LEN + 1];
	teeliza_err err;

	assert(len <= TEE_RTMR_LEN);
	teeliza_hex_encode(hex, data, len);
	err = teeliza_buf_append_str(out, label);
	if (!err)
		err = teeliza_buf_append_str(out, hex);
	if (!err)
		err = teeliza_buf_append_str(out, suffix);
	return err;
}

static teeliza_err append_quote_hex(teeliza_buf *out, const teeliza_buf *quote)
{
	char pair[3];
	size_t i;
	teeliza_err err = teeliza_buf_append(out, "0x", 2);

	for (i = 0; !err && i < quote->len; i++) {
		teeliza_hex_encode(pair, quote->data + i, 1);
		err = teeliza_buf_append(out, pair, 2);
	}
	return err;
}

/*
 * console.log("Remote attestation quote: ", {quote, timestamp}). Node joins
 * the arguments with a space, so two spaces follow the colon, and prints the
 * object with util.inspect: on one line "{ quote: '…', timestamp: N }" when
 * it fits (isBelowBreakLength: 2 entries + 13 + the entries' lengths ≤ 80),
 * else one property per line indented by two. A real quote never fits.
 */
static teeliza_err append_quote_object(teeliza_buf *out, const tee_attestation *a, unsigned flags)
{
	char ts[32];
	size_t quote_entry, ts_entry;
	teeliza_err err;

	snprintf(ts, sizeof(ts), "%" PRId64, a->timestamp_ms);
	if (flags & TEE_LOG_QUOTE_JSON) {
		err = teeliza_buf_append_str(out, "Remote attestation quote: {\"quote\":\"");
		if (!err)
			err = append_quote_hex(out, &a->quote);
		if (!err)
			err = teeliza_buf_printf(out, "\",\"timestamp\":%s}\n", ts);
		return err;
	}
	quote_entry = strlen("quote: '0x'") + 2 * a->quote.len;
	ts_entry = strlen("timestamp: ") + strlen(ts);
	err = teeliza_buf_append_str(out, "Remote attestation quote:  {");
	if (err)
		return err;
	if (a->quote.len < NODE_BREAK_LENGTH && 2 + 13 + quote_entry + ts_entry <= NODE_BREAK_LENGTH) {
		err = teeliza_buf_append_str(out, " quote: '");
		if (!err)
			err = append_quote_hex(out, &a->quote);
		if (!err)
			err = teeliza_buf_printf(out, "', timestamp: %s }\n", ts);
		return err;
	}
	err = teeliza_buf_append_str(out, "\n  quote: '");
	if (!err)
		err = append_quote_hex(out, &a->quote);
	if (!err)
		err = teeliza_buf_printf(out, "',\n  timestamp: %s\n}\n", ts);
	return err;
}

teeliza_err tee_attestation_log(teeliza_buf *out, const tee_attestation *a, unsigned flags)
{
	static const char *const labels[4] = {"rtmr0: ", "rtmr1: ", "rtmr2: ", "rtmr3: "};
	teeliza_err err;
	int i;

	assert(out != NULL && a != NULL);
	/* console.log("Generating attestation for: ", reportData): the string prints raw. */
	err = teeliza_buf_append_str(out, "Generating attestation for:  ");
	if (!err)
		err = teeliza_buf_append(out, a->report_data.len ? a->report_data.data : (const uint8_t *)"",
		                         a->report_data.len);
	if (!err)
		err = teeliza_buf_append(out, "\n", 1);
	for (i = 0; !err && i < 4; i++)
		err = append_hex_line(out, labels[i], a->rtmr[i], TEE_RTMR_LEN,
		                      i == 3 && (flags & TEE_LOG_STRAY_F) ? "f\n" : "\n");
	if (!err)
		err = append_quote_object(out, a, flags);
	return err;
}

/* ---- the local check ---- */

static uint32_t le16(const uint8_t *p)
{
	return (uint32_t)p[0] | (uint32_t)p[1] << 8;
}

static uint32_t le32(const uint8_t *p)
{
	return (uint32_t)p[0] | (uint32_t)p[1] << 8 | (uint32_t)p[2] << 16 | (uint32_t)p[3] << 24;
}

teeliza_err tee_quote_td_fields(const uint8_t *rtmr[4], const uint8_t **report_data, const uint8_t *quote,
                                size_t quote_len)
{
	size_t body;
	uint32_t version;
	int i;

	assert(rtmr != NULL && report_data != NULL && (quote != NULL || quote_len == 0));
	for (i = 0; i < 4; i++)
		rtmr[i] = NULL;
	*report_data = NULL;
	if (quote_len < QUOTE_HEADER_LEN)
		return teeliza_set_error(TEELIZA_ERR_PARSE, "quote of %zu bytes is shorter than its 48-byte header",
		                         quote_len);
	version = le16(quote);
	if (le32(quote + 4) != TEE_TYPE_TDX)
		return teeliza_set_error(TEELIZA_ERR_PARSE, "not a TDX quote (tee_type 0x%08" PRIx32 ")", le32(quote + 4));
	if (version == 4) {
		body = QUOTE_HEADER_LEN;
	} else if (version == 5) {
		/* v5 puts a body descriptor (u16 type, u32 size) before the TD report. */
		if (quote_len < QUOTE_HEADER_LEN + 6)
			return teeliza_set_error(TEELIZA_ERR_PARSE, "quote v5 ends inside its body descriptor");
		body = QUOTE_HEADER_LEN + 6;
	} else {
		return teeliza_set_error(TEELIZA_ERR_PARSE, "unsupported TDX quote version %" PRIu32, version);
	}
	if (quote_len - body < TD10_REPORT_LEN)
		return teeliza_set_error(TEELIZA_ERR_PARSE, "quote of %zu bytes ends inside its TD report", quote_len);
	for (i = 0; i < 4; i++)
		rtmr[i] = quote + body + TD_REPORT_RTMR0 + (size_t)i * TEE_RTMR_LEN;
	*report_data = quote + body + TD_REPORT_DATA;
	return TEELIZA_OK;
}

teeliza_err tee_attestation_check(const tee_attestation *a)
{
	const uint8_t *rtmr[4], *rd;
	uint8_t expected[64];
	char got_hex[129], want_hex[129];
	teeliza_err err;
	int i;

	assert(a != NULL);
	err = tee_quote_td_fields(rtmr, &rd, a->quote.data, a->quote.len);
	if (err)
		return err;
	for (i = 0; i < 4; i++) {
		if (memcmp(rtmr[i], a->rtmr[i], TEE_RTMR_LEN) != 0) {
			teeliza_hex_encode(got_hex, rtmr[i], TEE_RTMR_LEN);
			teeliza_hex_encode(want_hex, a->rtmr[i], TEE_RTMR_LEN);
			return teeliza_set_error(TEELIZA_ERR_VERIFY,
			                         "quote rtmr%d %s differs from the event log's replayed %s", i, got_hex,
			                         want_hex);
		}
	}
	if (strcmp(a->hash_algorithm, "raw") == 0 && a->report_data.len <= sizeof(expected)) {
		/* What tappd_tdx_quote sent: the data right-aligned in 64 bytes (SDK 0.1.7's padStart). */
		memset(expected, 0, sizeof(expected));
		if (a->report_data.len > 0)
			memcpy(expected + sizeof(expected) - a->report_data.len, a->report_data.data, a->report_data.len);
	} else {
		err = tee_report_data(expected, a->hash_algorithm[0] ? a->hash_algorithm : NULL,
		                      a->prefix[0] ? a->prefix : NULL, a->report_data.data, a->report_data.len);
		if (err)
			return err;
	}
	if (memcmp(rd, expected, sizeof(expected)) != 0) {
		teeliza_hex_encode(got_hex, rd, 64);
		teeliza_hex_encode(want_hex, expected, 64);
		if (strcmp(a->hash_algorithm, "raw") == 0)
			return teeliza_set_error(TEELIZA_ERR_VERIFY, "quote report_data %s differs from the raw data sent %s",
			                         got_hex, want_hex);
		return teeliza_set_error(TEELIZA_ERR_VERIFY, "quote report_data %s differs from %s(\"%s:\" ‖ data) %s",
		                         got_hex, a->hash_algorithm[0] ? a->hash_algorithm : "sha512",
		                         a->prefix[0] ? a->prefix : "app-data", want_hex);
	}
	return TEELIZA_OK;
}
