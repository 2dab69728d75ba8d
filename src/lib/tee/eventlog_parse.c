/*
 * Parsing tappd's event-log JSON. It sits on the replay hot path, and jansson
 * builds a tree of allocated nodes (about 70 us for a 30-event log, more than
 * the replay itself), so the plain form tappd emits is scanned directly.
 * Anything unusual (escapes, non-ASCII, unknown or duplicate keys, odd
 * numbers, errors) goes to jansson, which decides what is accepted and words
 * the error messages.
 */
#include "teeliza/tee/rtmr.h"
#include "teeliza/common/encoding.h"
#include "tee/eventlog_internal.h"
#include "tee/eventlog_json.h"

#include <assert.h>
#include <stdlib.h>
#include <string.h>

#include <jansson.h>

enum { KEY_IMR = 1, KEY_TYPE = 2, KEY_DIGEST = 4, KEY_EVENT = 8, KEY_PAYLOAD = 16 };

struct scanner {
	const char *p;
	const char *end;
};

static void skip_ws(struct scanner *s)
{
	while (s->p < s->end && (*s->p == ' ' || *s->p == '\n' || *s->p == '\r' || *s->p == '\t'))
		s->p++;
}

static bool take(struct scanner *s, char c)
{
	skip_ws(s);
	if (s->p < s->end && *s->p == c) {
		s->p++;
		return true;
	}
	return false;
}

/* A string with no escapes, control characters or non-ASCII bytes. */
static bool plain_string(struct scanner *s, const char **str, size_t *len)
{
	const char *q;

	if (!take(s, '"'))
		return false;
	for (q = s->p; q < s->end && *q != '"'; q++)
		if ((unsigned char)*q < 0x20 || (unsigned char)*q >= 0x80 || *q == '\\')
			return false;
	if (q == s->end)
		return false;
	*str = s->p;
	*len = (size_t)(q - s->p);
	s->p = q + 1;
	return true;
}

/* A JSON integer in 0..UINT32_MAX without sign, fraction or exponent. */
static bool plain_u32(struct scanner *s, uint32_t *out)
{
	const char *start;
	uint64_t v = 0;

	skip_ws(s);
	start = s->p;
	while (s->p < s->end && *s->p >= '0' && *s->p <= '9') {
		if (s->p - start == 10)
			return false;
		v = v * 10 + (uint64_t)(*s->p - '0');
		s->p++;
	}
	/* what may follow (',' or '}') is checked by the caller; '.', 'e' make it bail */
	if (s->p == start || (s->p - start > 1 && *start == '0') || v > UINT32_MAX)
		return false;
	*out = (uint32_t)v;
	return true;
}

/* Decode len (even) hex digits into out; false on a non-hex digit. */
static bool plain_hex(uint8_t *out, const char *hex, size_t len)
{
	size_t i;

	for (i = 0; i < len; i += 2) {
		int hi = teeliza_hex_nibble(hex[i]), lo = teeliza_hex_nibble(hex[i + 1]);

		if (hi < 0 || lo < 0)
			return false;
		out[i / 2] = (uint8_t)(hi << 4 | lo);
	}
	return true;
}

static unsigned key_id(const char *k, size_t len)
{
	if (len == 3 && memcmp(k, "imr", 3) == 0)
		return KEY_IMR;
	if (len == 10 && memcmp(k, "event_type", 10) == 0)
		return KEY_TYPE;
	if (len == 6 && memcmp(k, "digest", 6) == 0)
		return KEY_DIGEST;
	if (len == 5 && memcmp(k, "event", 5) == 0)
		return KEY_EVENT;
	if (len == 13 && memcmp(k, "event_payload", 13) == 0)
		return KEY_PAYLOAD;
	return 0;
}

/* One event object into ev (already in the log, so the caller frees it on failure). */
static teeliza_err scan_event(struct scanner *s, tee_event *ev)
{
	unsigned seen = 0, key;
	const char *str;
	size_t len;

	if (!take(s, '{'))
		return TEELIZA_ERR_UNSUPPORTED;
	do {
		if (!plain_string(s, &str, &len) || !take(s, ':'))
			return TEELIZA_ERR_UNSUPPORTED;
		key = key_id(str, len);
		if (key == 0 || (seen & key))
			return TEELIZA_ERR_UNSUPPORTED;
		seen |= key;
		switch (key) {
		case KEY_IMR:
			if (!plain_u32(s, &ev->imr))
				return TEELIZA_ERR_UNSUPPORTED;
			break;
		case KEY_TYPE:
			if (!plain_u32(s, &ev->event_type))
				return TEELIZA_ERR_UNSUPPORTED;
			break;
		case KEY_DIGEST:
			if (!plain_string(s, &str, &len) || len % 2 != 0 || len / 2 > TEE_EVENT_DIGEST_MAX ||
			    !plain_hex(ev->digest, str, len))
				return TEELIZA_ERR_UNSUPPORTED;
			ev->digest_len = len / 2;
			break;
		case KEY_EVENT:
			if (!plain_string(s, &str, &len))
				return TEELIZA_ERR_UNSUPPORTED;
			ev->event = malloc(len + 1);
			if (ev->event == NULL)
				return teeliza_set_error(TEELIZA_ERR_NOMEM, "out of memory");
			memcpy(ev->event, str, len);
			ev->event[len] = '\0';
			break;
		default: /* KEY_PAYLOAD */
			if (!plain_string(s, &str, &len) || len % 2 != 0)
				return TEELIZA_ERR_UNSUPPORTED;
			if (len > 0) {
				ev->payload = malloc(len / 2);
				if (ev->payload == NULL)
					return teeliza_set_error(TEELIZA_ERR_NOMEM, "out of memory");
				if (!plain_hex(ev->payload, str, len))
					return TEELIZA_ERR_UNSUPPORTED;
			}
			ev->payload_len = len / 2;
			break;
		}
	} while (take(s, ','));
	if (!take(s, '}') || !(seen & KEY_IMR) || !(seen & KEY_DIGEST))
		return TEELIZA_ERR_UNSUPPORTED;
	if (ev->event == NULL) {
		ev->event = calloc(1, 1);
		if (ev->event == NULL)
			return teeliza_set_error(TEELIZA_ERR_NOMEM, "out of memory");
	}
	return TEELIZA_OK;
}

teeliza_err tee_event_log_parse_fast(tee_event_log *out, const char *json, size_t len)
{
	struct scanner s = {json, json + len};
	teeliza_err err = TEELIZA_ERR_UNSUPPORTED;
	tee_event *ev;

	assert(out != NULL && (json != NULL || len == 0));
	tee_event_log_init(out);
	if (len == 0 || !take(&s, '['))
		goto fail;
	if (!take(&s, ']')) {
		do {
			ev = tee_event_log_push(out);
			if (ev == NULL) {
				err = TEELIZA_ERR_NOMEM;
				goto fail;
			}
			err = scan_event(&s, ev);
			if (err)
				goto fail;
		} while (take(&s, ','));
		err = TEELIZA_ERR_UNSUPPORTED;
		if (!take(&s, ']'))
			goto fail;
	}
	skip_ws(&s);
	if (s.p != s.end) {
		err = TEELIZA_ERR_UNSUPPORTED;
		goto fail;
	}
	return TEELIZA_OK;
fail:
	tee_event_log_free(out);
	return err;
}

static teeliza_err event_from_json(tee_event_log *log, json_t *item, size_t index)
{
	uint32_t imr, type;
	uint8_t digest[TEE_EVENT_DIGEST_MAX], *payload = NULL;
	const char *digest_hex, *payload_hex, *name;
	size_t digest_hex_len, payload_hex_len, name_len, digest_len = 0, payload_len = 0;
	tee_event *ev;
	teeliza_err err;

	if (!json_is_object(item))
		return teeliza_set_error(TEELIZA_ERR_PARSE, "event %zu is not a JSON object", index);
	err = tee_evjson_u32(&imr, item, "imr", true, UINT32_MAX, index);
	if (!err)
		err = tee_evjson_u32(&type, item, "event_type", false, UINT32_MAX, index);
	if (!err)
		err = tee_evjson_string(&digest_hex, &digest_hex_len, item, "digest", true, index);
	if (!err)
		err = tee_evjson_string(&payload_hex, &payload_hex_len, item, "event_payload", false, index);
	if (!err)
		err = tee_evjson_string(&name, &name_len, item, "event", false, index);
	if (!err)
		err = tee_evjson_hex(digest, sizeof(digest), &digest_len, digest_hex, digest_hex_len, "digest", index);
	if (!err)
		err = tee_evjson_hex_alloc(&payload, &payload_len, payload_hex, payload_hex_len, "event_payload", index);
	if (!err)
		err = tee_event_log_add(log, imr, type, digest, digest_len, name != NULL ? name : "", NULL, 0);
	if (err) {
		free(payload);
		return err;
	}
	/* the payload moves in rather than being copied */
	ev = &log->events[log->count - 1];
	ev->payload = payload;
	ev->payload_len = payload_len;
	return TEELIZA_OK;
}

teeliza_err tee_event_log_parse_jansson(tee_event_log *out, const char *json, size_t len)
{
	json_t *root, *item;
	size_t i;
	teeliza_err err;

	assert(out != NULL && (json != NULL || len == 0));
	tee_event_log_init(out);
	err = tee_evjson_load(&root, json, len, 0);
	if (err)
		return err;
	json_array_foreach(root, i, item) {
		err = event_from_json(out, item, i);
		if (err)
			break;
	}
	json_decref(root);
	if (err)
		tee_event_log_free(out);
	return err;
}

teeliza_err tee_event_log_parse(tee_event_log *out, const char *json, size_t len)
{
	teeliza_err err = tee_event_log_parse_fast(out, json, len);

	if (err != TEELIZA_ERR_UNSUPPORTED)
		return err;
	return tee_event_log_parse_jansson(out, json, len);
}
