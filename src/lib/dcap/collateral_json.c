/*
 * A strict reader for the collateral's outer JSON object, whose values are
 * long strings (PEM chains, hex CRLs, the signed TCB Info and QE Identity
 * texts). A general JSON library spends most of its time on these strings;
 * this reader decodes them in one pass. It accepts exactly RFC 8259 JSON:
 * one object, no duplicate keys, valid UTF-8, no control characters in
 * strings, nothing but whitespace after the object. Values of unknown keys
 * are validated and skipped.
 */
#include "teeliza/common/encoding.h"
#include "dcap/verify_internal.h"

#include <stdlib.h>
#include <string.h>

#define MAX_UNKNOWN_KEYS 64

typedef struct reader {
	const char *s;
	size_t len, i;
	const char *what;
} reader;

static teeliza_err bad(const reader *r, const char *msg)
{
	return teeliza_set_error(TEELIZA_ERR_PARSE, "%s: invalid JSON at byte %zu: %s", r->what, r->i, msg);
}

static void ws(reader *r)
{
	while (r->i < r->len && (r->s[r->i] == ' ' || r->s[r->i] == '\t' || r->s[r->i] == '\n' || r->s[r->i] == '\r'))
		r->i++;
}

static bool u4(unsigned *out, const reader *r, size_t at)
{
	size_t k;
	int v;

	*out = 0;
	if (at + 4 > r->len)
		return false;
	for (k = 0; k < 4; k++) {
		v = teeliza_hex_nibble(r->s[at + k]);
		if (v < 0)
			return false;
		*out = *out << 4 | (unsigned)v;
	}
	return true;
}

/* Length of a valid UTF-8 sequence starting at p (at most n bytes), or 0. */
static size_t utf8_len(const unsigned char *p, size_t n)
{
	unsigned c = p[0];
	size_t len, k;
	unsigned cp;

	if (c < 0x80)
		return 1;
	if (c >= 0xc2 && c <= 0xdf)
		len = 2, cp = c & 0x1f;
	else if (c >= 0xe0 && c <= 0xef)
		len = 3, cp = c & 0x0f;
	else if (c >= 0xf0 && c <= 0xf4)
		len = 4, cp = c & 0x07;
	else
		return 0;
	if (n < len)
		return 0;
	for (k = 1; k < len; k++) {
		if ((p[k] & 0xc0) != 0x80)
			return 0;
		cp = cp << 6 | (p[k] & 0x3f);
	}
	if ((len == 3 && (cp < 0x800 || (cp >= 0xd800 && cp <= 0xdfff))) || (len == 4 && (cp < 0x10000 || cp > 0x10ffff)))
		return 0;
	return len;
}

static void put_utf8(char *out, size_t *o, unsigned cp)
{
	if (cp < 0x80) {
		out[(*o)++] = (char)cp;
	} else if (cp < 0x800) {
		out[(*o)++] = (char)(0xc0 | cp >> 6);
		out[(*o)++] = (char)(0x80 | (cp & 0x3f));
	} else if (cp < 0x10000) {
		out[(*o)++] = (char)(0xe0 | cp >> 12);
		out[(*o)++] = (char)(0x80 | ((cp >> 6) & 0x3f));
		out[(*o)++] = (char)(0x80 | (cp & 0x3f));
	} else {
		out[(*o)++] = (char)(0xf0 | cp >> 18);
		out[(*o)++] = (char)(0x80 | ((cp >> 12) & 0x3f));
		out[(*o)++] = (char)(0x80 | ((cp >> 6) & 0x3f));
		out[(*o)++] = (char)(0x80 | (cp & 0x3f));
	}
}

/*
 * A string at r->i (the opening quote). With out != NULL, its decoded bytes
 * go to a new buffer (*out, NUL-terminated, *out_len); decoding never grows
 * a string, so the raw length bounds the buffer.
 */
static teeliza_err string(reader *r, char **out, size_t *out_len)
{
	size_t start, o = 0;
	char *buf = NULL;

	if (r->i >= r->len || r->s[r->i] != '"')
		return bad(r, "expected a string");
	start = ++r->i;
	/* Find the end first, so the buffer can be sized once. */
	while (r->i < r->len && r->s[r->i] != '"') {
		if (r->s[r->i] == '\\')
			r->i++;
		r->i++;
	}
	if (r->i >= r->len)
		return bad(r, "unterminated string");
	if (out != NULL) {
		buf = malloc(r->i - start + 1);
		if (buf == NULL)
			return teeliza_set_error(TEELIZA_ERR_NOMEM, "out of memory");
	}
	r->i = start;
	while (r->s[r->i] != '"') {
		unsigned char c = (unsigned char)r->s[r->i];

		if (c < 0x20) {
			free(buf);
			return bad(r, "control character in a string");
		}
		if (c == '\\') {
			char e = r->s[r->i + 1];
			char plain = e == '"' ? '"' : e == '\\' ? '\\' : e == '/' ? '/' : e == 'b' ? '\b' : e == 'f' ? '\f'
			             : e == 'n' ? '\n' : e == 'r' ? '\r' : e == 't' ? '\t' : 0;
			unsigned cp, lo;

			if (plain != 0) {
				if (buf)
					buf[o++] = plain;
				r->i += 2;
				continue;
			}
			if (e != 'u' || !u4(&cp, r, r->i + 2)) {
				free(buf);
				return bad(r, "bad escape in a string");
			}
			r->i += 6;
			if (cp >= 0xd800 && cp <= 0xdbff) {
				if (r->i + 1 >= r->len || r->s[r->i] != '\\' || r->s[r->i + 1] != 'u' || !u4(&lo, r, r->i + 2) ||
				    lo < 0xdc00 || lo > 0xdfff) {
					free(buf);
					return bad(r, "unpaired surrogate in a string");
				}
				r->i += 6;
				cp = 0x10000 + ((cp - 0xd800) << 10) + (lo - 0xdc00);
			} else if (cp >= 0xdc00 && cp <= 0xdfff) {
				free(buf);
				return bad(r, "unpaired surrogate in a string");
			}
			if (cp == 0) {
				free(buf);
				return bad(r, "NUL character in a string");
			}
			if (buf)
				put_utf8(buf, &o, cp);
			continue;
		}
		if (c >= 0x80) {
			size_t n = utf8_len((const unsigned char *)r->s + r->i, r->len - r->i);

			if (n == 0) {
				free(buf);
				return bad(r, "invalid UTF-8 in a string");
			}
			if (buf)
				memcpy(buf + o, r->s + r->i, n);
			o += buf ? n : 0;
			r->i += n;
			continue;
		}
		if (buf)
			buf[o++] = (char)c;
		r->i++;
	}
	r->i++;
	if (buf) {
		buf[o] = '\0';
		*out = buf;
		*out_len = o;
	}
	return TEELIZA_OK;
}

static bool lit(reader *r, const char *word)
{
	size_t n = strlen(word);

	if (r->len - r->i < n || memcmp(r->s + r->i, word, n) != 0)
		return false;
	r->i += n;
	return true;
}

static teeliza_err number(reader *r)
{
	size_t d;

	if (r->i < r->len && r->s[r->i] == '-')
		r->i++;
	if (r->i < r->len && r->s[r->i] == '0') {
		r->i++;
	} else {
		for (d = 0; r->i < r->len && r->s[r->i] >= '0' && r->s[r->i] <= '9'; d++)
			r->i++;
		if (d == 0)
			return bad(r, "unexpected character");
	}
	if (r->i < r->len && r->s[r->i] == '.') {
		r->i++;
		for (d = 0; r->i < r->len && r->s[r->i] >= '0' && r->s[r->i] <= '9'; d++)
			r->i++;
		if (d == 0)
			return bad(r, "bad number");
	}
	if (r->i < r->len && (r->s[r->i] == 'e' || r->s[r->i] == 'E')) {
		r->i++;
		if (r->i < r->len && (r->s[r->i] == '+' || r->s[r->i] == '-'))
			r->i++;
		for (d = 0; r->i < r->len && r->s[r->i] >= '0' && r->s[r->i] <= '9'; d++)
			r->i++;
		if (d == 0)
			return bad(r, "bad number");
	}
	return TEELIZA_OK;
}

/* Validate and skip any value (for keys we do not use). Duplicate keys inside are not our concern. */
static teeliza_err skip(reader *r, int depth)
{
	teeliza_err err;
	char close;

	if (depth > DCAP_MAX_JSON_DEPTH)
		return bad(r, "nested too deeply");
	ws(r);
	if (r->i >= r->len)
		return bad(r, "unexpected end");
	switch (r->s[r->i]) {
	case '"':
		return string(r, NULL, NULL);
	case 't':
		return lit(r, "true") ? TEELIZA_OK : bad(r, "unexpected character");
	case 'f':
		return lit(r, "false") ? TEELIZA_OK : bad(r, "unexpected character");
	case 'n':
		return lit(r, "null") ? TEELIZA_OK : bad(r, "unexpected character");
	case '{':
	case '[':
		close = r->s[r->i] == '{' ? '}' : ']';
		r->i++;
		ws(r);
		if (r->i < r->len && r->s[r->i] == close) {
			r->i++;
			return TEELIZA_OK;
		}
		for (;;) {
			if (close == '}') {
				ws(r);
				err = string(r, NULL, NULL);
				if (err)
					return err;
				ws(r);
				if (r->i >= r->len || r->s[r->i] != ':')
					return bad(r, "expected ':'");
				r->i++;
			}
			err = skip(r, depth + 1);
			if (err)
				return err;
			ws(r);
			if (r->i < r->len && r->s[r->i] == ',') {
				r->i++;
				continue;
			}
			if (r->i < r->len && r->s[r->i] == close) {
				r->i++;
				return TEELIZA_OK;
			}
			return bad(r, "expected ',' or a closing bracket");
		}
	default:
		return number(r);
	}
}

teeliza_err dcap_flat_json_parse(dcap_flat_field *fields, size_t nfields, const char *text, size_t len,
                                 const char *what)
{
	reader r = {text, len, 0, what};
	struct {
		size_t at, len;
	} unknown[MAX_UNKNOWN_KEYS];
	size_t nunknown = 0, k;
	teeliza_err err = TEELIZA_OK;

	for (k = 0; k < nfields; k++) {
		fields[k].value = NULL;
		fields[k].len = 0;
		fields[k].present = fields[k].is_null = false;
	}
	if (len > DCAP_MAX_COLLATERAL_JSON)
		return teeliza_set_error(TEELIZA_ERR_TOO_LARGE, "%s: %zu bytes is more than the %u allowed", what, len,
		                         DCAP_MAX_COLLATERAL_JSON);
	ws(&r);
	if (r.i >= r.len || text[r.i] != '{')
		return bad(&r, "must be a JSON object");
	r.i++;
	ws(&r);
	if (r.i < r.len && text[r.i] == '}') {
		r.i++;
		goto end;
	}
	for (;;) {
		size_t kstart, klen;
		dcap_flat_field *f = NULL;

		ws(&r);
		kstart = r.i + 1;
		err = string(&r, NULL, NULL);
		if (err)
			goto fail;
		klen = r.i - 1 - kstart;
		for (k = 0; k < nfields && f == NULL; k++)
			if (strlen(fields[k].name) == klen && memcmp(fields[k].name, text + kstart, klen) == 0)
				f = &fields[k];
		ws(&r);
		if (r.i >= r.len || text[r.i] != ':') {
			err = bad(&r, "expected ':'");
			goto fail;
		}
		r.i++;
		ws(&r);
		if (f != NULL) {
			if (f->present) {
				err = teeliza_set_error(TEELIZA_ERR_PARSE, "%s: duplicate key \"%s\"", what, f->name);
				goto fail;
			}
			f->present = true;
			if (lit(&r, "null"))
				f->is_null = true;
			else if (r.i < r.len && text[r.i] == '"')
				err = string(&r, &f->value, &f->len);
			else
				err = teeliza_set_error(TEELIZA_ERR_PARSE, "%s: \"%s\" must be a string", what, f->name);
		} else {
			/* Keys with escapes compare raw here; collateral keys never have them. */
			for (k = 0; k < nunknown; k++)
				if (unknown[k].len == klen && memcmp(text + unknown[k].at, text + kstart, klen) == 0)
					break;
			if (k < nunknown) {
				err = teeliza_set_error(TEELIZA_ERR_PARSE, "%s: duplicate key \"%.*s\"", what,
				                        (int)(klen > 40 ? 40 : klen), text + kstart);
				goto fail;
			}
			if (nunknown == MAX_UNKNOWN_KEYS) {
				err = teeliza_set_error(TEELIZA_ERR_TOO_LARGE, "%s: too many unknown keys", what);
				goto fail;
			}
			unknown[nunknown].at = kstart;
			unknown[nunknown++].len = klen;
			err = skip(&r, 1);
		}
		if (err)
			goto fail;
		ws(&r);
		if (r.i < r.len && text[r.i] == ',') {
			r.i++;
			continue;
		}
		if (r.i < r.len && text[r.i] == '}') {
			r.i++;
			break;
		}
		err = bad(&r, "expected ',' or '}'");
		goto fail;
	}
end:
	ws(&r);
	if (r.i != r.len) {
		err = bad(&r, "data after the object");
		goto fail;
	}
	return TEELIZA_OK;
fail:
	for (k = 0; k < nfields; k++) {
		free(fields[k].value);
		fields[k].value = NULL;
		fields[k].len = 0;
	}
	return err;
}
