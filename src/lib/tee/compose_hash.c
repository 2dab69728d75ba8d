/*
 * The compose hash as @phala/dstack-sdk 0.5.8's getComposeHash computes it
 * (compose_hash.h): the JSON.parse → sort keys → JSON.stringify round trip
 * redone in C, with JS's quirks (index keys first, UTF-16 key order,
 * Number.prototype.toString) so that the bytes agree with the SDK's.
 */
#include "teeliza/tee/compose_hash.h"
#include "teeliza/common/jcs.h"

#include <assert.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <jansson.h>
#include <openssl/evp.h>

/* ---- keys in JS order ---- */

/* A key that JS treats as an array index: "0" or [1-9][0-9]* up to 2^32 - 2. */
static bool index_key(const char *k, uint64_t *value)
{
	uint64_t v = 0;
	size_t i;

	if (k[0] == '\0' || (k[0] == '0' && k[1] != '\0'))
		return false;
	for (i = 0; k[i] != '\0'; i++) {
		if (k[i] < '0' || k[i] > '9' || i >= 10)
			return false;
		v = v * 10 + (uint64_t)(k[i] - '0');
	}
	if (v > 4294967294u)
		return false;
	*value = v;
	return true;
}

/* The next UTF-16 code unit of a valid UTF-8 string (jansson checked it); 0 at the end. */
struct u16_reader {
	const unsigned char *p;
	uint16_t pending; /* a low surrogate still to come */
};

static uint32_t next_unit(struct u16_reader *r)
{
	uint32_t cp;
	unsigned char c;

	if (r->pending) {
		cp = r->pending;
		r->pending = 0;
		return cp;
	}
	c = *r->p;
	if (c == 0)
		return 0;
	if (c < 0x80) {
		r->p++;
		return c;
	}
	if (c < 0xe0) {
		cp = (uint32_t)(c & 0x1f) << 6 | (r->p[1] & 0x3f);
		r->p += 2;
	} else if (c < 0xf0) {
		cp = (uint32_t)(c & 0x0f) << 12 | (uint32_t)(r->p[1] & 0x3f) << 6 | (r->p[2] & 0x3f);
		r->p += 3;
	} else {
		cp = (uint32_t)(c & 0x07) << 18 | (uint32_t)(r->p[1] & 0x3f) << 12 | (uint32_t)(r->p[2] & 0x3f) << 6 |
		     (r->p[3] & 0x3f);
		r->p += 4;
	}
	if (cp < 0x10000)
		return cp;
	cp -= 0x10000;
	r->pending = (uint16_t)(0xdc00 | (cp & 0x3ff));
	return 0xd800 | (cp >> 10);
}

/* JS's default sort: by UTF-16 code units, a prefix first. (Keys hold no NUL: jansson refuses them.) */
static int utf16_cmp(const char *a, const char *b)
{
	struct u16_reader ra = {(const unsigned char *)a, 0}, rb = {(const unsigned char *)b, 0};

	for (;;) {
		uint32_t ua = next_unit(&ra), ub = next_unit(&rb);

		if (ua != ub)
			return ua < ub ? -1 : 1;
		if (ua == 0)
			return 0;
	}
}

struct key {
	const char *name;
	json_t *value;
	bool is_index;
	uint64_t index;
	size_t pos; /* insertion order */
};

/* Index keys first in numeric order (JS enumerates them so), then the rest by name (sorted) ... */
static int key_cmp_sorted(const void *pa, const void *pb)
{
	const struct key *a = pa, *b = pb;

	if (a->is_index != b->is_index)
		return a->is_index ? -1 : 1;
	if (a->is_index)
		return a->index < b->index ? -1 : a->index > b->index;
	return utf16_cmp(a->name, b->name);
}

/* ... or in the order they were written (an object the SDK leaves unsorted). */
static int key_cmp_unsorted(const void *pa, const void *pb)
{
	const struct key *a = pa, *b = pb;

	if (a->is_index != b->is_index)
		return a->is_index ? -1 : 1;
	if (a->is_index)
		return a->index < b->index ? -1 : a->index > b->index;
	return a->pos < b->pos ? -1 : a->pos > b->pos;
}

/* ---- JSON.stringify ---- */

static teeliza_err put(teeliza_buf *out, const char *s, size_t n)
{
	return teeliza_buf_append(out, s, n);
}

static teeliza_err put_string(teeliza_buf *out, const char *s, size_t n)
{
	static const char hex[] = "0123456789abcdef";
	size_t i, run = 0;
	teeliza_err err = put(out, "\"", 1);

	for (i = 0; !err && i < n; i++) {
		unsigned char c = (unsigned char)s[i];
		char esc[7] = "\\u00";
		const char *e = NULL;
		size_t elen = 2;

		switch (c) {
		case '"': e = "\\\""; break;
		case '\\': e = "\\\\"; break;
		case '\b': e = "\\b"; break;
		case '\f': e = "\\f"; break;
		case '\n': e = "\\n"; break;
		case '\r': e = "\\r"; break;
		case '\t': e = "\\t"; break;
		default:
			if (c < 0x20) {
				esc[4] = hex[c >> 4];
				esc[5] = hex[c & 15];
				e = esc;
				elen = 6;
			}
		}
		if (e == NULL) {
			run++;
			continue;
		}
		err = put(out, s + i - run, run);
		run = 0;
		if (!err)
			err = put(out, e, elen);
	}
	if (!err)
		err = put(out, s + n - run, run);
	return err ? err : put(out, "\"", 1);
}

/* Number.prototype.toString(10), what JSON.stringify writes for a finite number: JCS's (RFC 8785 §3.2.2.3). */
static teeliza_err put_number(teeliza_buf *out, double v)
{
	char text[32];
	teeliza_err err = teeliza_jcs_number(text, v);

	return err ? err : put(out, text, strlen(text));
}

static teeliza_err put_value(teeliza_buf *out, json_t *v, bool sorting, int depth);

static teeliza_err put_object(teeliza_buf *out, json_t *obj, bool sorting, int depth)
{
	struct key *keys;
	const char *name;
	json_t *value;
	size_t n = json_object_size(obj), i = 0;
	teeliza_err err = TEELIZA_OK;

	/* The SDK sorts an object only when obj.constructor === Object: an own "constructor" key stops it, deep. */
	if (json_object_get(obj, "constructor") != NULL)
		sorting = false;
	keys = calloc(n ? n : 1, sizeof(*keys));
	if (keys == NULL)
		return teeliza_set_error(TEELIZA_ERR_NOMEM, "out of memory");
	json_object_foreach(obj, name, value) {
		if (strcmp(name, "__proto__") == 0) {
			free(keys);
			return teeliza_set_error(TEELIZA_ERR_PARSE, "a key \"__proto__\": the SDK's getComposeHash drops it "
			                                            "while dstack keeps it, so no hash would be right");
		}
		keys[i].name = name;
		keys[i].value = value;
		keys[i].is_index = index_key(name, &keys[i].index);
		keys[i].pos = i;
		i++;
	}
	assert(i == n);
	qsort(keys, n, sizeof(*keys), sorting ? key_cmp_sorted : key_cmp_unsorted);
	err = put(out, "{", 1);
	for (i = 0; !err && i < n; i++) {
		if (i)
			err = put(out, ",", 1);
		if (!err)
			err = put_string(out, keys[i].name, strlen(keys[i].name));
		if (!err)
			err = put(out, ":", 1);
		if (!err)
			err = put_value(out, keys[i].value, sorting, depth + 1);
	}
	free(keys);
	return err ? err : put(out, "}", 1);
}

static teeliza_err put_value(teeliza_buf *out, json_t *v, bool sorting, int depth)
{
	size_t i;
	teeliza_err err = TEELIZA_OK;

	if (depth > TEE_COMPOSE_DEPTH_MAX)
		return teeliza_set_error(TEELIZA_ERR_PARSE, "nested deeper than %d levels", TEE_COMPOSE_DEPTH_MAX);
	switch (json_typeof(v)) {
	case JSON_OBJECT:
		return put_object(out, v, sorting, depth);
	case JSON_ARRAY:
		err = put(out, "[", 1);
		for (i = 0; !err && i < json_array_size(v); i++) {
			if (i)
				err = put(out, ",", 1);
			if (!err)
				err = put_value(out, json_array_get(v, i), sorting, depth + 1);
		}
		return err ? err : put(out, "]", 1);
	case JSON_STRING:
		return put_string(out, json_string_value(v), json_string_length(v));
	case JSON_REAL:
		return put_number(out, json_real_value(v));
	case JSON_INTEGER: /* not with JSON_DECODE_INT_AS_REAL; kept for completeness */
		return put_number(out, (double)json_integer_value(v));
	case JSON_TRUE:
		return put(out, "true", 4);
	case JSON_FALSE:
		return put(out, "false", 5);
	default:
		return put(out, "null", 4);
	}
}

/* ---- the SDK's preprocessAppCompose ---- */

static bool js_falsy(const json_t *v)
{
	return json_is_null(v) || json_is_false(v) || (json_is_real(v) && json_real_value(v) == 0) ||
	       (json_is_string(v) && json_string_length(v) == 0);
}

static bool string_is(const json_t *v, const char *s)
{
	return json_is_string(v) && json_string_length(v) == strlen(s) && strcmp(json_string_value(v), s) == 0;
}

static void normalize_compose(json_t *obj)
{
	const json_t *runner = json_object_get(obj, "runner"), *pre = json_object_get(obj, "pre_launch_script");

	if (string_is(runner, "bash"))
		json_object_del(obj, "docker_compose_file");
	else if (string_is(runner, "docker-compose"))
		json_object_del(obj, "bash_script");
	if (pre != NULL && js_falsy(pre))
		json_object_del(obj, "pre_launch_script");
}

teeliza_err tee_compose_canonical(teeliza_buf *out, const char *json, size_t len, bool normalize)
{
	json_error_t jerr;
	json_t *root;
	teeliza_err err;

	assert(out != NULL && (json != NULL || len == 0));
	if (len > TEE_COMPOSE_MAX)
		return teeliza_set_error(TEELIZA_ERR_TOO_LARGE, "app-compose JSON is %zu bytes, at most %u accepted", len,
		                         TEE_COMPOSE_MAX);
	root = json_loadb(json != NULL ? json : "", len, JSON_REJECT_DUPLICATES | JSON_DECODE_INT_AS_REAL | JSON_ALLOW_NUL,
	                  &jerr);
	if (root == NULL)
		return teeliza_set_error(TEELIZA_ERR_PARSE, "app-compose is not valid JSON: %s (line %d, column %d)", jerr.text,
		                         jerr.line, jerr.column);
	if (!json_is_object(root)) {
		json_decref(root);
		return teeliza_set_error(TEELIZA_ERR_PARSE, "app-compose is not a JSON object");
	}
	if (normalize)
		normalize_compose(root);
	err = put_value(out, root, true, 0);
	json_decref(root);
	return err;
}

void tee_compose_hash_raw(uint8_t out[32], const void *bytes, size_t len)
{
	size_t n = 32;

	assert(out != NULL && (bytes != NULL || len == 0));
	/* SHA-256 with the default provider fails only without memory; a wrong hash must never come out. */
	if (EVP_Q_digest(NULL, "SHA256", NULL, bytes != NULL ? bytes : "", len, out, &n) != 1 || n != 32) {
		fprintf(stderr, "teeliza: SHA-256 unavailable for the compose hash\n");
		abort();
	}
}

teeliza_err tee_compose_hash(uint8_t out[32], const char *json, size_t len, bool normalize)
{
	teeliza_buf text;
	teeliza_err err;

	teeliza_buf_init(&text, 8 * (size_t)TEE_COMPOSE_MAX); /* "1e20" prints as 21 digits */
	err = tee_compose_canonical(&text, json, len, normalize);
	if (!err)
		tee_compose_hash_raw(out, text.data, text.len);
	teeliza_buf_free(&text);
	return err;
}
