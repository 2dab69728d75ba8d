/*
 * Fuzz the streaming multipart/form-data parser (http_form.h). Input: a
 * Content-Type header value, '\n', the body (no '\n': the whole input is a
 * body for boundary "XyZ"). The body is parsed whole, in chunks whose sizes
 * come from a hash of the input, and (when short) byte by byte, under small
 * limits and under large ones; every split must give the same parts or the
 * same error. Reported names, values and file names are valid UTF-8 JSON
 * strings; counts and sizes stay within the limits; nothing reads past the
 * input (every piece is an exact-size heap copy, for ASan).
 */
#include "fuzz.h"

#include "teeliza/common/encoding.h"
#include "teeliza/http/form.h"

#include <jansson.h>
#include <stdio.h>
#include <string.h>

static const http_form_limits small = {
	.max_parts = 6, .max_files = 2, .max_text = 200, .max_file = 300, .max_total = 2000,
};
static const http_form_limits large = {
	.max_parts = 100, .max_files = 1, .max_text = 100 * 1024, .max_file = 64u << 20, .max_total = 1u << 30,
};

static bool valid_utf8(const char *s, size_t n)
{
	size_t i = 0, k;

	while (i < n) {
		k = teeliza_utf8_seq_len((const uint8_t *)s + i, n - i);
		if (k == 0)
			return false;
		i += k;
	}
	return true;
}

static void check_json_string(const char *s, size_t n)
{
	json_t *j;

	FUZZ_CHECK(s != NULL && s[n] == 0 && valid_utf8(s, n));
	j = json_stringn(s, n);
	FUZZ_CHECK(j != NULL);
	json_decref(j);
}

/* The outcome of one parse, for comparison: parts and error, serialised. */
static void describe(teeliza_buf *out, const http_form *f, teeliza_err err, const http_form_limits *lim)
{
	const http_form_part *p;
	size_t n, i, files = 0, text = 0;

	FUZZ_CHECK(teeliza_buf_printf(out, "err=%d limit=%d;", (int)err, (int)http_form_limit_hit(f)) == TEELIZA_OK);
	FUZZ_CHECK(http_form_bytes(f) <= lim->max_total);
	if (err) {
		FUZZ_CHECK(err == TEELIZA_ERR_INVALID || err == TEELIZA_ERR_TOO_LARGE);
		FUZZ_CHECK((err == TEELIZA_ERR_TOO_LARGE) == (http_form_limit_hit(f) != HTTP_FORM_LIMIT_NONE));
		FUZZ_CHECK(http_form_error(f)[0] != 0);
		FUZZ_CHECK(teeliza_buf_append_str(out, http_form_error(f)) == TEELIZA_OK);
		return;
	}
	p = http_form_parts(f, &n);
	FUZZ_CHECK(n <= lim->max_parts);
	for (i = 0; i < n; i++) {
		FUZZ_CHECK(p[i].name[0] != 0);
		check_json_string(p[i].name, strlen(p[i].name));
		check_json_string(p[i].content_type, strlen(p[i].content_type));
		FUZZ_CHECK(teeliza_buf_printf(out, "[%d %s %s ", (int)p[i].kind, p[i].name, p[i].content_type) ==
		           TEELIZA_OK);
		if (p[i].kind == HTTP_FORM_TEXT) {
			check_json_string(p[i].value, p[i].value_len);
			FUZZ_CHECK(p[i].filename == NULL);
			text += p[i].value_len;
			FUZZ_CHECK(teeliza_buf_append(out, p[i].value, p[i].value_len) == TEELIZA_OK);
		} else {
			FUZZ_CHECK(p[i].kind == HTTP_FORM_FILE && p[i].value == NULL);
			FUZZ_CHECK(p[i].filename_len > 0);
			check_json_string(p[i].filename, p[i].filename_len);
			FUZZ_CHECK(memchr(p[i].filename, '/', p[i].filename_len) == NULL);
			FUZZ_CHECK(memchr(p[i].filename, '\\', p[i].filename_len) == NULL);
			FUZZ_CHECK(p[i].size <= lim->max_file);
			files++;
			FUZZ_CHECK(teeliza_buf_append(out, p[i].filename, p[i].filename_len) == TEELIZA_OK);
			FUZZ_CHECK(teeliza_buf_printf(out, " %llu", (unsigned long long)p[i].size) == TEELIZA_OK);
		}
		FUZZ_CHECK(teeliza_buf_append_str(out, "]") == TEELIZA_OK);
	}
	FUZZ_CHECK(files <= lim->max_files);
	FUZZ_CHECK(text <= 3 * lim->max_text); /* raw bytes are capped; U+FFFD and Latin-1 widen them */
}

static uint64_t mix(uint64_t h)
{
	h ^= h >> 33;
	h *= 0xff51afd7ed558ccdull;
	h ^= h >> 33;
	return h;
}

/* Parse body in pieces: step 0 whole, 1 byte by byte, else pseudo-random sizes 1..step from seed. */
static void parse(teeliza_buf *out, const char *ctype, const uint8_t *body, size_t len, const http_form_limits *lim,
                  size_t step, uint64_t seed)
{
	http_form *f = NULL;
	teeliza_err err;
	size_t off = 0, n;
	uint8_t *piece;

	teeliza_buf_init(out, 1u << 26);
	FUZZ_CHECK(teeliza_buf_append(out, "", 0) == TEELIZA_OK);
	err = http_form_new(&f, ctype, lim);
	if (err) {
		FUZZ_CHECK(err == TEELIZA_ERR_INVALID && f == NULL);
		FUZZ_CHECK(teeliza_buf_append_str(out, "new failed") == TEELIZA_OK);
		return;
	}
	err = TEELIZA_OK;
	while (!err && off < len) {
		if (step == 0) {
			n = len;
		} else if (step == 1) {
			n = 1;
		} else {
			seed = mix(seed + off);
			n = 1 + (size_t)(seed % step);
		}
		if (n > len - off)
			n = len - off;
		piece = malloc(n);
		FUZZ_CHECK(piece != NULL);
		memcpy(piece, body + off, n);
		err = http_form_feed(f, piece, n);
		free(piece);
		off += n;
	}
	if (!err)
		err = http_form_finish(f);
	describe(out, f, err, lim);
	http_form_free(f);
}

static void run(const char *ctype, const uint8_t *body, size_t len, const http_form_limits *lim, uint64_t seed)
{
	teeliza_buf whole, other;

	parse(&whole, ctype, body, len, lim, 0, 0);
	parse(&other, ctype, body, len, lim, 2 + seed % 97, seed);
	FUZZ_CHECK(whole.len == other.len && memcmp(whole.data, other.data, whole.len) == 0);
	teeliza_buf_free(&other);
	if (len <= 2048) {
		parse(&other, ctype, body, len, lim, 1, 0);
		FUZZ_CHECK(whole.len == other.len && memcmp(whole.data, other.data, whole.len) == 0);
		teeliza_buf_free(&other);
	}
	teeliza_buf_free(&whole);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	const uint8_t *nl = memchr(data, '\n', size > 512 ? 512 : size);
	char ctype[520];
	const uint8_t *body = data;
	size_t len = size, i;
	uint64_t seed = size;

	if (nl != NULL && memchr(data, 0, (size_t)(nl - data)) == NULL) {
		memcpy(ctype, data, (size_t)(nl - data));
		ctype[nl - data] = 0;
		body = nl + 1;
		len = size - (size_t)(nl - data) - 1;
	} else {
		snprintf(ctype, sizeof(ctype), "%s", "multipart/form-data; boundary=XyZ");
	}
	for (i = 0; i < size && i < 64; i++)
		seed = mix(seed ^ data[i]);
	run(ctype, body, len, &small, seed);
	run(ctype, body, len, &large, seed);
	return 0;
}
