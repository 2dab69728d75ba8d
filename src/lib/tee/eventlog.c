/*
 * The event-log container: building it, runtime-event digests, and the
 * compact JSON text real tappd serves (serde_json::to_string of Vec<TdxEvent>).
 */
#include "teeliza/tee/rtmr.h"
#include "teeliza/common/encoding.h"
#include "tee/eventlog_internal.h"

#include <assert.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/evp.h>

void tee_event_log_init(tee_event_log *log)
{
	assert(log != NULL);
	memset(log, 0, sizeof(*log));
}

void tee_event_log_free(tee_event_log *log)
{
	size_t i;

	if (log == NULL)
		return;
	for (i = 0; i < log->count; i++) {
		free(log->events[i].event);
		free(log->events[i].payload);
	}
	free(log->events);
	memset(log, 0, sizeof(*log));
}

tee_event *tee_event_log_push(tee_event_log *log)
{
	tee_event *ev;

	if (log->count == log->cap) {
		size_t cap = log->cap ? log->cap * 2 : 32;
		tee_event *p;

		if (cap > SIZE_MAX / sizeof(*p)) {
			teeliza_set_error(TEELIZA_ERR_TOO_LARGE, "event log too large");
			return NULL;
		}
		p = realloc(log->events, cap * sizeof(*p));
		if (p == NULL) {
			teeliza_set_error(TEELIZA_ERR_NOMEM, "out of memory");
			return NULL;
		}
		log->events = p;
		log->cap = cap;
	}
	ev = &log->events[log->count++];
	memset(ev, 0, sizeof(*ev));
	return ev;
}

void tee_event_log_pop(tee_event_log *log)
{
	tee_event *ev;

	assert(log->count > 0);
	ev = &log->events[--log->count];
	free(ev->event);
	free(ev->payload);
	memset(ev, 0, sizeof(*ev));
}

teeliza_err tee_event_log_add(tee_event_log *log, uint32_t imr, uint32_t event_type,
                              const uint8_t *digest, size_t digest_len, const char *event,
                              const uint8_t *payload, size_t payload_len)
{
	tee_event *ev;
	size_t event_len;

	assert(log != NULL && event != NULL);
	assert((digest != NULL || digest_len == 0) && (payload != NULL || payload_len == 0));
	if (digest_len > TEE_EVENT_DIGEST_MAX)
		return teeliza_set_error(TEELIZA_ERR_INVALID, "event digest is %zu bytes, at most %d allowed",
		                         digest_len, TEE_EVENT_DIGEST_MAX);
	ev = tee_event_log_push(log);
	if (ev == NULL)
		return TEELIZA_ERR_NOMEM;
	event_len = strlen(event);
	ev->event = malloc(event_len + 1);
	if (payload_len > 0)
		ev->payload = malloc(payload_len);
	if (ev->event == NULL || (payload_len > 0 && ev->payload == NULL)) {
		tee_event_log_pop(log);
		return teeliza_set_error(TEELIZA_ERR_NOMEM, "out of memory");
	}
	memcpy(ev->event, event, event_len + 1);
	if (payload_len > 0)
		memcpy(ev->payload, payload, payload_len);
	ev->payload_len = payload_len;
	ev->imr = imr;
	ev->event_type = event_type;
	if (digest_len > 0)
		memcpy(ev->digest, digest, digest_len);
	ev->digest_len = digest_len;
	return TEELIZA_OK;
}

teeliza_err tee_event_log_add_runtime(tee_event_log *log, uint32_t imr, uint32_t event_type,
                                      const char *event, const uint8_t *payload, size_t payload_len)
{
	uint8_t type_le[4] = {(uint8_t)event_type, (uint8_t)(event_type >> 8), (uint8_t)(event_type >> 16),
	                      (uint8_t)(event_type >> 24)};
	uint8_t digest[TEE_RTMR_LEN];
	unsigned int n = 0;
	EVP_MD_CTX *ctx;
	int ok;

	assert(log != NULL && event != NULL && (payload != NULL || payload_len == 0));
	ctx = EVP_MD_CTX_new();
	if (ctx == NULL)
		return teeliza_set_error(TEELIZA_ERR_NOMEM, "out of memory");
	ok = EVP_DigestInit_ex2(ctx, EVP_sha384(), NULL) && EVP_DigestUpdate(ctx, type_le, 4) &&
	     EVP_DigestUpdate(ctx, ":", 1) && EVP_DigestUpdate(ctx, event, strlen(event)) &&
	     EVP_DigestUpdate(ctx, ":", 1) && EVP_DigestUpdate(ctx, payload, payload_len) &&
	     EVP_DigestFinal_ex(ctx, digest, &n);
	EVP_MD_CTX_free(ctx);
	if (!ok || n != sizeof(digest))
		return teeliza_set_error(TEELIZA_ERR_CRYPTO, "SHA-384 of a runtime event failed");
	return tee_event_log_add(log, imr, event_type, digest, sizeof(digest), event, payload, payload_len);
}

static teeliza_err append_hex_string(teeliza_buf *out, const uint8_t *data, size_t len)
{
	teeliza_err err = teeliza_buf_append(out, "\"", 1);

	if (!err)
		err = teeliza_hex_append(out, data, len);
	if (!err)
		err = teeliza_buf_append(out, "\"", 1);
	return err;
}

teeliza_err tee_event_log_to_json(teeliza_buf *out, const tee_event_log *log)
{
	size_t start, i;
	teeliza_err err;

	assert(out != NULL && log != NULL);
	start = out->len;
	err = teeliza_buf_append(out, "[", 1);
	for (i = 0; !err && i < log->count; i++) {
		const tee_event *ev = &log->events[i];

		/* field order is TdxEvent's declaration order, which serde keeps */
		err = teeliza_buf_printf(out, "%s{\"imr\":%u,\"event_type\":%u,\"digest\":", i ? "," : "",
		                         (unsigned)ev->imr, (unsigned)ev->event_type);
		if (!err)
			err = append_hex_string(out, ev->digest, ev->digest_len);
		if (!err)
			err = teeliza_buf_append_str(out, ",\"event\":");
		if (!err) {
			char what[48];

			snprintf(what, sizeof(what), "event %zu: name", i);
			err = teeliza_json_append_string(out, ev->event, strlen(ev->event), what);
		}
		if (!err)
			err = teeliza_buf_append_str(out, ",\"event_payload\":");
		if (!err)
			err = append_hex_string(out, ev->payload, ev->payload_len);
		if (!err)
			err = teeliza_buf_append(out, "}", 1);
	}
	if (!err)
		err = teeliza_buf_append(out, "]", 1);
	if (err && out->data) {
		out->len = start;
		out->data[start] = 0;
	}
	return err;
}
