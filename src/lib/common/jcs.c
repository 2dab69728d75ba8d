/*
 * RFC 8785 (JCS) canonical JSON. Numbers follow ECMAScript's
 * Number::toString: the digits are the shortest that read back as the same
 * double (found by asking printf for 1..17 significant digits, which glibc
 * rounds correctly), then laid out by ECMAScript's rules on the decimal
 * exponent.
 */
#include "teeliza/common/jcs.h"

#include <assert.h>
#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

teeliza_err teeliza_jcs_number(char out[32], double d)
{
	char sci[40], digits[20];
	char *p = out;
	int prec, exp10, k = 0, n, i;
	long exp_long;
	const char *s;
	char *end;

	out[0] = 0;
	if (isnan(d) || isinf(d))
		return teeliza_set_error(TEELIZA_ERR_INVALID, "NaN and Infinity have no JSON form");
	if (d == 0) { /* both zeros */
		memcpy(out, "0", 2);
		return TEELIZA_OK;
	}
	for (prec = 1; prec <= 17; prec++) {
		snprintf(sci, sizeof(sci), "%.*e", prec - 1, d);
		if (strtod(sci, NULL) == d)
			break;
	}
	/* sci: [-]D[.DDD]e±XX */
	s = sci;
	if (*s == '-') {
		*p++ = '-';
		s++;
	}
	for (; *s != 'e'; s++)
		if (*s != '.')
			digits[k++] = *s;
	while (k > 1 && digits[k - 1] == '0')
		k--;
	/* the exponent printf wrote: a sign and at most 3 digits for a double */
	errno = 0;
	exp_long = strtol(s + 1, &end, 10);
	if (errno != 0 || *end != 0 || exp_long < -400 || exp_long > 400)
		return teeliza_set_error(TEELIZA_ERR_INTERNAL, "unexpected exponent in %s", sci);
	exp10 = (int)exp_long;
	n = exp10 + 1; /* value = 0.digits × 10^n */
	if (k <= n && n <= 21) {
		memcpy(p, digits, (size_t)k);
		p += k;
		for (i = 0; i < n - k; i++)
			*p++ = '0';
	} else if (0 < n && n <= 21) {
		memcpy(p, digits, (size_t)n);
		p += n;
		*p++ = '.';
		memcpy(p, digits + n, (size_t)(k - n));
		p += k - n;
	} else if (-6 < n && n <= 0) {
		*p++ = '0';
		*p++ = '.';
		for (i = 0; i < -n; i++)
			*p++ = '0';
		memcpy(p, digits, (size_t)k);
		p += k;
	} else {
		*p++ = digits[0];
		if (k > 1) {
			*p++ = '.';
			memcpy(p, digits + 1, (size_t)(k - 1));
			p += k - 1;
		}
		p += snprintf(p, 8, "e%c%d", n - 1 < 0 ? '-' : '+', abs(n - 1));
	}
	*p = 0;
	return TEELIZA_OK;
}

static teeliza_err jcs_string(teeliza_buf *out, const char *s, size_t len)
{
	static const char hexd[] = "0123456789abcdef";
	size_t i, run = 0;
	char esc[7];
	teeliza_err err;

	err = teeliza_buf_append(out, "\"", 1);
	for (i = 0; !err && i < len; i++) {
		unsigned char c = (unsigned char)s[i];
		const char *e = NULL;

		if (c >= 0x20 && c != '"' && c != '\\')
			continue;
		switch (c) {
		case '"': e = "\\\""; break;
		case '\\': e = "\\\\"; break;
		case '\b': e = "\\b"; break;
		case '\t': e = "\\t"; break;
		case '\n': e = "\\n"; break;
		case '\f': e = "\\f"; break;
		case '\r': e = "\\r"; break;
		default:
			memcpy(esc, "\\u00", 4);
			esc[4] = hexd[c >> 4];
			esc[5] = hexd[c & 15];
			esc[6] = 0;
			e = esc;
			break;
		}
		err = teeliza_buf_append(out, s + run, i - run);
		if (!err)
			err = teeliza_buf_append_str(out, e);
		run = i + 1;
	}
	if (!err)
		err = teeliza_buf_append(out, s + run, len - run);
	if (!err)
		err = teeliza_buf_append(out, "\"", 1);
	return err;
}

/*
 * Next code point of valid UTF-8 (jansson validated it), weighted so that
 * comparing weights orders strings as their UTF-16 code units would:
 * U+E000–U+FFFF come after every supplementary character, whose high
 * surrogates (U+D800–U+DBFF) sort below U+E000.
 */
static unsigned long utf16_weight(const unsigned char **p, const unsigned char *end)
{
	const unsigned char *s = *p;
	unsigned long cp;
	size_t extra = s[0] < 0x80 ? 0 : s[0] < 0xE0 ? 1 : s[0] < 0xF0 ? 2 : 3;
	size_t i;

	cp = extra == 0 ? s[0] : (unsigned long)(s[0] & (0x3F >> extra));
	for (i = 1; i <= extra && s + i < end; i++)
		cp = (cp << 6) | (s[i] & 0x3F);
	*p = s + i;
	if (cp >= 0xE000 && cp <= 0xFFFF)
		return cp + 0x200000;
	return cp;
}

typedef struct jcs_member {
	const char *key;
	size_t key_len;
	json_t *value;
} jcs_member;

static int member_cmp(const void *va, const void *vb)
{
	const jcs_member *a = va, *b = vb;
	const unsigned char *pa = (const unsigned char *)a->key, *ea = pa + a->key_len;
	const unsigned char *pb = (const unsigned char *)b->key, *eb = pb + b->key_len;

	while (pa < ea && pb < eb) {
		unsigned long wa = utf16_weight(&pa, ea), wb = utf16_weight(&pb, eb);

		if (wa != wb)
			return wa < wb ? -1 : 1;
	}
	return (pa < ea) - (pb < eb);
}

static teeliza_err jcs_value(teeliza_buf *out, const json_t *v, int depth);

static teeliza_err jcs_object(teeliza_buf *out, const json_t *v, int depth)
{
	size_t n = json_object_size(v), i = 0;
	jcs_member *m;
	void *it;
	teeliza_err err;

	if (n == 0)
		return teeliza_buf_append(out, "{}", 2);
	m = calloc(n, sizeof(*m));
	if (m == NULL)
		return teeliza_set_error(TEELIZA_ERR_NOMEM, "out of memory");
	for (it = json_object_iter((json_t *)v); it != NULL && i < n; it = json_object_iter_next((json_t *)v, it)) {
		m[i].key = json_object_iter_key(it);
		m[i].key_len = json_object_iter_key_len(it);
		m[i].value = json_object_iter_value(it);
		i++;
	}
	qsort(m, i, sizeof(*m), member_cmp);
	err = teeliza_buf_append(out, "{", 1);
	for (n = 0; !err && n < i; n++) {
		if (n > 0)
			err = teeliza_buf_append(out, ",", 1);
		if (!err)
			err = jcs_string(out, m[n].key, m[n].key_len);
		if (!err)
			err = teeliza_buf_append(out, ":", 1);
		if (!err)
			err = jcs_value(out, m[n].value, depth + 1);
	}
	if (!err)
		err = teeliza_buf_append(out, "}", 1);
	free(m);
	return err;
}

static teeliza_err jcs_value(teeliza_buf *out, const json_t *v, int depth)
{
	char num[32];
	size_t i;
	teeliza_err err = TEELIZA_OK;

	if (depth > JCS_DEPTH_MAX)
		return teeliza_set_error(TEELIZA_ERR_TOO_LARGE, "JSON nested deeper than %d levels", JCS_DEPTH_MAX);
	switch (json_typeof(v)) {
	case JSON_OBJECT:
		return jcs_object(out, v, depth);
	case JSON_ARRAY:
		err = teeliza_buf_append(out, "[", 1);
		for (i = 0; !err && i < json_array_size(v); i++) {
			if (i > 0)
				err = teeliza_buf_append(out, ",", 1);
			if (!err)
				err = jcs_value(out, json_array_get(v, i), depth + 1);
		}
		return err ? err : teeliza_buf_append(out, "]", 1);
	case JSON_STRING:
		return jcs_string(out, json_string_value(v), json_string_length(v));
	case JSON_INTEGER: {
		json_int_t x = json_integer_value(v);

		if (x > JCS_SAFE_INTEGER_MAX || x < -JCS_SAFE_INTEGER_MAX)
			return teeliza_set_error(TEELIZA_ERR_INVALID,
			                         "integer %lld is beyond 2^53: it has no exact canonical JSON form",
			                         (long long)x);
		return teeliza_buf_printf(out, "%lld", (long long)x);
	}
	case JSON_REAL:
		err = teeliza_jcs_number(num, json_real_value(v));
		return err ? err : teeliza_buf_append_str(out, num);
	case JSON_TRUE:
		return teeliza_buf_append(out, "true", 4);
	case JSON_FALSE:
		return teeliza_buf_append(out, "false", 5);
	case JSON_NULL:
		return teeliza_buf_append(out, "null", 4);
	}
	return teeliza_set_error(TEELIZA_ERR_INTERNAL, "unknown JSON type");
}

teeliza_err teeliza_jcs_append(teeliza_buf *out, const json_t *v)
{
	assert(out != NULL && v != NULL);
	return jcs_value(out, v, 0);
}

teeliza_err teeliza_jcs_text(teeliza_buf *out, const char *text, size_t text_len)
{
	json_error_t jerr;
	json_t *v;
	teeliza_err err;

	assert(out != NULL && (text != NULL || text_len == 0));
	teeliza_buf_reset(out);
	/* Every number as a double, as JSON.parse reads it: 1E2 and 100 are one value, and so is any integer text */
	v = json_loadb(text, text_len,
	               JSON_REJECT_DUPLICATES | JSON_DECODE_ANY | JSON_ALLOW_NUL | JSON_DECODE_INT_AS_REAL, &jerr);
	if (v == NULL)
		return teeliza_set_error(TEELIZA_ERR_PARSE, "invalid JSON at line %d column %d: %s", jerr.line,
		                         jerr.column, jerr.text);
	err = teeliza_jcs_append(out, v);
	json_decref(v);
	return err;
}
