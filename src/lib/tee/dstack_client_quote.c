/*
 * dstack client: GetQuote and Attest. The report data goes out raw (no
 * prefix, no hash; the agent pads it to 64 bytes with zeros on the right),
 * and the quote that comes back must carry exactly that.
 */
#include "tee/dstack_client_internal.h"
#include "teeliza/common/encoding.h"
#include "teeliza/dcap/quote.h"

#include <assert.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static const size_t len_report[] = {DSTACK_REPORT_DATA_MAX};

static teeliza_err report_body(teeliza_buf *body, const uint8_t *report_data, size_t len)
{
	teeliza_err err;

	/* The SDK's check (on the hex: more than 128 digits), before anything is sent. */
	if (len > DSTACK_REPORT_DATA_MAX)
		return teeliza_set_error(TEELIZA_ERR_INVALID, "Report data is too large, it should be less than 64 bytes.");
	teeliza_buf_init(body, 512);
	err = teeliza_buf_append_str(body, "{\"report_data\":");
	if (!err)
		err = dstack_body_hex(body, report_data, len);
	if (!err)
		err = teeliza_buf_append(body, "}", 1);
	if (err)
		teeliza_buf_free(body);
	return err;
}

/* ---- GetQuote ---- */

void dstack_quote_reply_free(dstack_quote_reply *r)
{
	if (r == NULL)
		return;
	teeliza_buf_free(&r->quote);
	teeliza_buf_free(&r->event_log);
	tee_dstack_events_free(&r->events);
	free(r->vm_config);
	memset(r, 0, sizeof(*r));
	tee_dstack_events_free(&r->events); /* back to its empty state (SIZE_MAX indices) */
}

static void hex64(char out[129], const uint8_t *b)
{
	teeliza_hex_encode(out, b, 64);
}

static teeliza_err parse_quote_body(dstack_quote_reply *out, json_t *reply, const uint8_t *report_data,
                                    size_t report_data_len)
{
	const char *what = "GetQuote reply", *text;
	char a[129], b[129], why[DSTACK_WHY_MAX];
	uint8_t carried[DSTACK_REPORT_DATA_MAX];
	size_t len;
	dcap_quote q;
	teeliza_err err;

	if (report_data_len > 0)
		memcpy(out->report_data, report_data, report_data_len);
	err = dstack_json_string(&text, &len, reply, "quote", false, what);
	if (err)
		return err;
	err = dstack_hex_decode(&out->quote, text, len);
	if (err == TEELIZA_ERR_TOO_LARGE)
		return teeliza_set_error(TEELIZA_ERR_PROTOCOL, "%s: \"quote\" is longer than %u bytes (no TDX quote is)",
		                         what, DSTACK_QUOTE_MAX);
	if (err)
		return teeliza_set_error(TEELIZA_ERR_PROTOCOL, "%s: \"quote\" is not hex: %s", what, dstack_why(why));
	if (dcap_quote_parse(&q, out->quote.data, out->quote.len) != TEELIZA_OK)
		return teeliza_set_error(TEELIZA_ERR_PROTOCOL, "%s: \"quote\" (%zu bytes) is not a quote: %s", what,
		                         out->quote.len, dstack_why(why));
	if (q.header.tee_type != DCAP_TEE_TYPE_TDX)
		return teeliza_set_error(TEELIZA_ERR_PROTOCOL, "%s: \"quote\" is not a TDX quote (TEE type 0x%x)", what,
		                         (unsigned)q.header.tee_type);
	/* Both copies of the report data must be what was asked, zero-padded on the right. */
	err = dstack_json_hex_fixed(carried, &len, reply, "report_data", len_report, 1, true, what);
	if (err)
		return err;
	if (len > 0 && memcmp(carried, out->report_data, sizeof(carried)) != 0) {
		hex64(a, out->report_data);
		hex64(b, carried);
		return teeliza_set_error(TEELIZA_ERR_VERIFY, "%s: \"report_data\" is not the one asked for: asked %s, got %s",
		                         what, a, b);
	}
	if (memcmp(q.body.td.report_data, out->report_data, sizeof(out->report_data)) != 0) {
		hex64(a, out->report_data);
		hex64(b, q.body.td.report_data);
		return teeliza_set_error(TEELIZA_ERR_VERIFY,
		                         "%s: the quote's report data is not the one asked for: asked %s, quoted %s", what, a, b);
	}

	err = dstack_json_string(&text, &len, reply, "event_log", false, what);
	if (!err)
		err = teeliza_buf_append(&out->event_log, text, len);
	if (err == TEELIZA_ERR_TOO_LARGE)
		return teeliza_set_error(TEELIZA_ERR_PROTOCOL, "%s: \"event_log\" is longer than %u bytes", what,
		                         TEE_DSTACK_EVENT_LOG_MAX);
	if (err)
		return err;
	if (tee_dstack_events_parse(&out->events, text, len) != TEELIZA_OK)
		return teeliza_set_error(TEELIZA_ERR_PROTOCOL, "%s: \"event_log\": %s", what, dstack_why(why));
	if (tee_dstack_events_check_quote(&out->events, &q.body.td) == TEELIZA_OK) {
		out->replay_matches = true;
	} else {
		snprintf(out->replay_error, sizeof(out->replay_error), "%s", teeliza_errmsg());
		teeliza_clear_error();
	}
	return dstack_json_strdup(&out->vm_config, reply, "vm_config", true, what);
}

teeliza_err dstack_parse_quote(dstack_quote_reply *out, json_t *reply, const uint8_t *report_data,
                               size_t report_data_len)
{
	teeliza_err err;

	assert(out != NULL && reply != NULL && (report_data != NULL || report_data_len == 0));
	assert(report_data_len <= DSTACK_REPORT_DATA_MAX);
	memset(out, 0, sizeof(*out));
	tee_dstack_events_free(&out->events);
	teeliza_buf_init(&out->quote, DSTACK_QUOTE_MAX);
	teeliza_buf_init(&out->event_log, TEE_DSTACK_EVENT_LOG_MAX);
	err = parse_quote_body(out, reply, report_data, report_data_len);
	if (err)
		dstack_quote_reply_free(out);
	return err;
}

teeliza_err dstack_get_quote(dstack_quote_reply *out, const dstack_client *c, const uint8_t *report_data,
                             size_t report_data_len)
{
	teeliza_buf body;
	json_t *reply = NULL;
	teeliza_err err;

	assert(out != NULL && c != NULL && (report_data != NULL || report_data_len == 0));
	memset(out, 0, sizeof(*out));
	tee_dstack_events_free(&out->events);
	err = report_body(&body, report_data, report_data_len);
	if (err)
		return err;
	err = dstack_call(&reply, NULL, c, "GetQuote", &body, DSTACK_QUOTE_REPLY_MAX, 0, 0);
	teeliza_buf_free(&body);
	if (err)
		return err;
	err = dstack_parse_quote(out, reply, report_data, report_data_len);
	json_decref(reply);
	return err;
}

/* ---- Attest ---- */

teeliza_err dstack_parse_attest(teeliza_buf *attestation, dstack_attestation_format *format, json_t *reply)
{
	const char *what = "Attest reply", *text;
	char why[DSTACK_WHY_MAX];
	size_t len;
	uint8_t first;
	teeliza_err err;

	assert(attestation != NULL && format != NULL && reply != NULL);
	teeliza_buf_init(attestation, DSTACK_ATTESTATION_MAX);
	*format = DSTACK_ATTESTATION_V0;
	err = dstack_json_string(&text, &len, reply, "attestation", false, what);
	if (err)
		return err;
	err = dstack_hex_decode(attestation, text, len);
	if (err == TEELIZA_ERR_TOO_LARGE)
		err = teeliza_set_error(TEELIZA_ERR_PROTOCOL, "%s: \"attestation\" is longer than %zu bytes", what,
		                        DSTACK_ATTESTATION_MAX);
	else if (err)
		err = teeliza_set_error(TEELIZA_ERR_PROTOCOL, "%s: \"attestation\" is not hex: %s", what, dstack_why(why));
	else if (attestation->len == 0)
		err = teeliza_set_error(TEELIZA_ERR_PROTOCOL, "%s: \"attestation\" is empty", what);
	if (err) {
		teeliza_buf_free(attestation);
		return err;
	}
	/* VersionedAttestation: 0x00 is SCALE V0; a MessagePack map (fixmap, map16, map32) is V1. */
	first = attestation->data[0];
	if (first == 0x00) {
		*format = DSTACK_ATTESTATION_V0;
	} else if ((first >= 0x80 && first <= 0x8f) || first == 0xde || first == 0xdf) {
		*format = DSTACK_ATTESTATION_V1;
	} else {
		teeliza_buf_free(attestation);
		return teeliza_set_error(TEELIZA_ERR_PROTOCOL,
		                         "%s: \"attestation\" starts with 0x%02x, which is neither dstack format (V0 0x00, "
		                         "V1 a MessagePack map)", what, first);
	}
	return TEELIZA_OK;
}

teeliza_err dstack_attest(teeliza_buf *attestation, dstack_attestation_format *format, const dstack_client *c,
                          const uint8_t *report_data, size_t report_data_len)
{
	teeliza_buf body;
	json_t *reply = NULL;
	teeliza_err err;

	assert(attestation != NULL && format != NULL && c != NULL && (report_data != NULL || report_data_len == 0));
	memset(attestation, 0, sizeof(*attestation));
	*format = DSTACK_ATTESTATION_V0;
	err = report_body(&body, report_data, report_data_len);
	if (err)
		return err;
	err = dstack_call(&reply, NULL, c, "Attest", &body, DSTACK_QUOTE_REPLY_MAX, 0, 0);
	teeliza_buf_free(&body);
	if (err)
		return err;
	err = dstack_parse_attest(attestation, format, reply);
	json_decref(reply);
	return err;
}
