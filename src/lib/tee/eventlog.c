/*
 * The event-log container: building it, runtime-event digests, and the
 * compact JSON text real tappd serves (serde_json::to_string of Vec<TdxEvent>).
 */
#include "teeliza/rtmr.h"
#include "teeliza/encoding.h"
#include "tee/eventlog_internal.h"

#include <assert.h>
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

/*
 * Length of the valid UTF-8 sequence at s (1..4), or 0 if invalid: no
 * overlong forms, surrogates or code points above U+10FFFF (Rust strings
 * can hold none of them).
 */
static size_t utf8_seq_len(const uint8_t *s, size_t left)
{
	uint32_t cp;
	size_t n, i;

	if (s[0] < 0x80)
		return 1;
	if (s[0] >= 0xc2 && s[0] <= 0xdf)
		n = 2, cp = s[0] & 0x1fu;
	else if (s[0] >= 0xe0 && s[0] <= 0xef)
		n = 3, cp = s[0] & 0x0fu;
	else if (s[0] >= 0xf0 && s[0] <= 0xf4)
		n = 4, cp = s[0] & 0x07u;
	else
		return 0;
	if (left < n)
		return 0;
	for (i = 1; i < n; i++) {
		if ((s[i] & 0xc0) != 0x80)
			return 0;
		cp = cp << 6 | (s[i] & 0x3fu);
	}
	if ((n == 3 && cp < 0x800) || (n == 4 && cp < 0x10000) || cp > 0x10ffff ||
	    (cp >= 0xd800 && cp <= 0xdfff))
		return 0;
	return n;
}

/* A JSON string escaped as serde_json does: only '"', '\\' and control characters. */
static teeliza_err append_json_string(teeliza_buf *out, const char *s, size_t index)
{
	static const char hexd[] = "0123456789abcdef";
	const uint8_t *p = (const uint8_t *)s;
	size_t len = strlen(s), i = 0, run, n;
	teeliza_err err;
	char esc[6];

	err = teeliza_buf_append(out, "\"", 1);
	while (!err && i < len) {
		/* copy a run of characters that need no escaping in one go */
		for (run = i; run < len && p[run] >= 0x20 && p[run] != '"' && p[run] != '\\'; run += n) {
			n = utf8_seq_len(p + run, len - run);
			if (n == 0)
				return teeliza_set_error(TEELIZA_ERR_INVALID, "event %zu: name is not valid UTF-8", index);
		}
		err = teeliza_buf_append(out, p + i, run - i);
		i = run;
		if (err || i == len)
			break;
		esc[0] = '\\';
		switch (p[i]) {
		case '"': esc[1] = '"'; n = 2; break;
		case '\\': esc[1] = '\\'; n = 2; break;
		case '\b': esc[1] = 'b'; n = 2; break;
		case '\f': esc[1] = 'f'; n = 2; break;
		case '\n': esc[1] = 'n'; n = 2; break;
		case '\r': esc[1] = 'r'; n = 2; break;
		case '\t': esc[1] = 't'; n = 2; break;
		default:
			memcpy(esc + 1, "u00", 3);
			esc[4] = hexd[p[i] >> 4];
			esc[5] = hexd[p[i] & 15];
			n = 6;
			break;
		}
		err = teeliza_buf_append(out, esc, n);
		i++;
	}
	if (!err)
		err = teeliza_buf_append(out, "\"", 1);
	return err;
}

static teeliza_err append_hex_string(teeliza_buf *out, const uint8_t *data, size_t len)
{
	char chunk[2 * 64 + 1];
	size_t off, n;
	teeliza_err err;

	err = teeliza_buf_append(out, "\"", 1);
	for (off = 0; !err && off < len; off += n) {
		n = len - off < 64 ? len - off : 64;
		teeliza_hex_encode(chunk, data + off, n);
		err = teeliza_buf_append(out, chunk, 2 * n);
	}
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
		if (!err)
			err = append_json_string(out, ev->event, i);
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
