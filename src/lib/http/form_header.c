/*
 * The header block of a multipart part, and the Content-Type and
 * Content-Disposition values in it, parsed with busboy 1.x's grammar (the
 * parser multer 1.4 runs for Eliza): RFC 7230 header lines, RFC 2045
 * parameters with quoted strings, RFC 5987 extended parameters (name*=),
 * the first occurrence of a header or a parameter wins.
 */
#include "form_internal.h"
#include "teeliza/common/encoding.h"

#include <stdio.h>
#include <string.h>
#include <strings.h>

/* RFC 7230 tchar. */
static bool is_token(uint8_t c)
{
	if ((c >= '0' && c <= '9') || (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z'))
		return true;
	return c != 0 && strchr("!#$%&'*+-.^_`|~", c) != NULL;
}

/* A character of a quoted string (after escapes are handled): HTAB, SP, VCHAR but '"' and '\', obs-text. */
static bool is_qdtext(uint8_t c)
{
	return c == '\t' || (c >= 0x20 && c != '"' && c != '\\' && c != 0x7f);
}

/* A header value byte: HTAB, SP, VCHAR, obs-text. */
static bool is_field_vchar(uint8_t c)
{
	return c == '\t' || (c >= 0x20 && c != 0x7f);
}

/* RFC 5987 mime-charsetc. */
static bool is_charset_char(uint8_t c)
{
	if ((c >= '0' && c <= '9') || (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z'))
		return true;
	return c != 0 && strchr("!#$%&+-^_`{}~", c) != NULL;
}

/* RFC 5987 attr-char. */
static bool is_attr_char(uint8_t c)
{
	if ((c >= '0' && c <= '9') || (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z'))
		return true;
	return c != 0 && strchr("!#$&+-.^_`|~", c) != NULL;
}

/* The charsets busboy reads as Latin-1 (its getDecoder); anything else is read as UTF-8 here. */
static bool charset_is_latin1(const char *cs, size_t n)
{
	static const char *const names[] = { "latin1", "ascii", "us-ascii", "iso-8859-1", "iso8859-1", "iso88591",
		                             "iso_8859-1", "windows-1252", "iso_8859-1:1987", "cp1252", "x-cp1252" };
	size_t i;

	for (i = 0; i < sizeof(names) / sizeof(names[0]); i++)
		if (strlen(names[i]) == n && strncasecmp(cs, names[i], n) == 0)
			return true;
	return false;
}

/* Up to four parameters a caller wants; the first occurrence of each is kept. */
#define WANT_MAX 4
struct want {
	const char *name[WANT_MAX];   /* lower case; NULL ends the list */
	teeliza_buf value[WANT_MAX];  /* extended values decoded to UTF-8, others as raw bytes */
	bool found[WANT_MAX];
};

static void want_init(struct want *w, const char *a, const char *b, const char *c)
{
	size_t i;

	memset(w, 0, sizeof(*w));
	w->name[0] = a;
	w->name[1] = b;
	w->name[2] = c;
	for (i = 0; i < WANT_MAX; i++)
		teeliza_buf_init(&w->value[i], HTTP_FORM_MAX_HEADER * 3);
}

static void want_free(struct want *w)
{
	size_t i;

	for (i = 0; i < WANT_MAX; i++)
		teeliza_buf_free(&w->value[i]);
}

/* The slot for a parameter name when it is wanted and not seen yet, else -1. */
static int want_slot(const struct want *w, const uint8_t *name, size_t n)
{
	int i;

	for (i = 0; i < WANT_MAX && w->name[i] != NULL; i++)
		if (strlen(w->name[i]) == n && strncasecmp((const char *)name, w->name[i], n) == 0)
			return w->found[i] ? -1 : i;
	return -1;
}

/* A quoted string at s[*i] (the opening quote); busboy keeps "\x" as is and unescapes \" and \\. */
static bool quoted_value(teeliza_buf *out, const uint8_t *s, size_t len, size_t *i, teeliza_err *err)
{
	size_t k = *i + 1;

	while (k < len) {
		uint8_t c = s[k];

		if (c == '\\') {
			if (k + 1 >= len)
				return false;
			if (s[k + 1] == '"' || s[k + 1] == '\\') {
				*err = teeliza_buf_append(out, s + k + 1, 1);
				k += 2;
			} else {
				*err = teeliza_buf_append(out, s + k, 1);
				k++;
			}
			if (*err)
				return false;
			continue;
		}
		if (c == '"') {
			*i = k + 1;
			return true;
		}
		if (!is_qdtext(c))
			return false;
		*err = teeliza_buf_append(out, &c, 1);
		if (*err)
			return false;
		k++;
	}
	return false; /* no closing quote */
}

/* An RFC 5987 value at s[*i] (just after '='): charset'lang'pct-encoded, decoded to UTF-8. */
static bool extended_value(teeliza_buf *out, const uint8_t *s, size_t len, size_t *i, teeliza_err *err)
{
	size_t k = *i, cs_start = k, cs_len;
	teeliza_buf raw;
	bool latin1;
	int hi, lo;

	while (k < len && is_charset_char(s[k]))
		k++;
	if (k >= len || s[k] != '\'')
		return false;
	cs_len = k - cs_start;
	latin1 = charset_is_latin1((const char *)s + cs_start, cs_len);
	k++;
	while (k < len && s[k] != '\'') /* language: anything up to the next quote */
		k++;
	if (k >= len)
		return false;
	k++;
	if (k >= len)
		return false;
	teeliza_buf_init(&raw, len);
	for (; k < len; k++) {
		uint8_t c = s[k];

		if (c == '%') {
			if (k + 2 >= len || (hi = teeliza_hex_nibble((char)s[k + 1])) < 0 ||
			    (lo = teeliza_hex_nibble((char)s[k + 2])) < 0) {
				teeliza_buf_free(&raw);
				return false;
			}
			c = (uint8_t)(hi * 16 + lo);
			k += 2;
		} else if (!is_attr_char(c)) {
			break;
		}
		*err = teeliza_buf_append(&raw, &c, 1);
		if (*err) {
			teeliza_buf_free(&raw);
			return false;
		}
	}
	/* UTF-8, and charsets busboy would hand to TextDecoder, are read as UTF-8. */
	*err = latin1 ? http_latin1_append(out, raw.data != NULL ? raw.data : (const uint8_t *)"", raw.len)
	              : http_utf8_append_lossy(out, raw.data != NULL ? raw.data : (const uint8_t *)"", raw.len);
	teeliza_buf_free(&raw);
	*i = k;
	return *err == TEELIZA_OK;
}

/*
 * Parameters from s[i]: (OWS ';' OWS name '=' value)* OWS. Extended values
 * only when `extended` (Content-Disposition). False when malformed (busboy
 * then ignores the whole header value); *err is set on allocation failure.
 */
static bool parse_params(struct want *w, const uint8_t *s, size_t len, size_t i, bool extended, teeliza_err *err)
{
	size_t name_start, name_len;
	teeliza_buf scratch;
	teeliza_buf *dst;
	int slot;
	bool ok;

	*err = TEELIZA_OK;
	while (i < len) {
		while (i < len && (s[i] == ' ' || s[i] == '\t'))
			i++;
		if (i == len)
			break;
		if (s[i++] != ';')
			return false;
		while (i < len && (s[i] == ' ' || s[i] == '\t'))
			i++;
		if (i == len)
			return false;
		name_start = i;
		while (i < len && is_token(s[i]))
			i++;
		if (i == len || s[i] != '=')
			return false;
		name_len = i - name_start; /* may be 0: busboy accepts "; =x" */
		slot = want_slot(w, s + name_start, name_len);
		teeliza_buf_init(&scratch, len * 3 + 16);
		dst = slot >= 0 ? &w->value[slot] : &scratch;
		i++; /* '=' */
		if (i == len) {
			teeliza_buf_free(&scratch);
			return false;
		}
		if (extended && name_len > 0 && s[name_start + name_len - 1] == '*') {
			ok = extended_value(dst, s, len, &i, err);
		} else if (s[i] == '"') {
			ok = quoted_value(dst, s, len, &i, err);
		} else {
			size_t v = i;

			while (i < len && is_token(s[i]))
				i++;
			ok = i > v;
			if (ok)
				*err = teeliza_buf_append(dst, s + v, i - v);
			ok = ok && *err == TEELIZA_OK;
		}
		teeliza_buf_free(&scratch);
		if (!ok)
			return false;
		if (slot >= 0)
			w->found[slot] = true;
	}
	return true;
}

/* Lower-case "type/subtype" of a media type value at s, and the index where its parameters start. */
static bool media_type(teeliza_buf *out, size_t *params_at, const uint8_t *s, size_t len, teeliza_err *err)
{
	size_t i = 0, slash, k;
	uint8_t c;

	while (i < len && is_token(s[i]))
		i++;
	if (i == 0 || i == len || s[i] != '/')
		return false;
	slash = i++;
	while (i < len && is_token(s[i]))
		i++;
	if (i == slash + 1)
		return false;
	teeliza_buf_reset(out);
	for (k = 0; k < i; k++) {
		c = (uint8_t)((s[k] >= 'A' && s[k] <= 'Z') ? s[k] + 32 : s[k]);
		*err = teeliza_buf_append(out, &c, 1);
		if (*err)
			return false;
	}
	*params_at = i;
	return true;
}

teeliza_err form_boundary_parse(char *out, size_t out_len, size_t *blen, const char *content_type)
{
	const uint8_t *s = (const uint8_t *)content_type;
	size_t len = strlen(content_type), at = 0, i;
	teeliza_buf type;
	struct want w;
	teeliza_err err = TEELIZA_OK;
	bool ok;

	*blen = 0;
	out[0] = 0;
	teeliza_buf_init(&type, len + 1);
	want_init(&w, "boundary", NULL, NULL);
	ok = media_type(&type, &at, s, len, &err) && parse_params(&w, s, len, at, false, &err);
	if (err) {
		teeliza_buf_free(&type);
		want_free(&w);
		return err;
	}
	if (!ok) {
		err = teeliza_set_error(TEELIZA_ERR_INVALID, "malformed multipart Content-Type");
	} else if (strcmp((const char *)type.data, "multipart/form-data") != 0) {
		err = teeliza_set_error(TEELIZA_ERR_INVALID, "not a multipart/form-data body");
	} else if (!w.found[0]) {
		err = teeliza_set_error(TEELIZA_ERR_INVALID, "multipart body without a boundary");
	} else if (w.value[0].len == 0 || w.value[0].len > HTTP_FORM_MAX_BOUNDARY || w.value[0].len >= out_len) {
		err = teeliza_set_error(TEELIZA_ERR_INVALID, "multipart boundary must be 1..%u characters",
		                        HTTP_FORM_MAX_BOUNDARY);
	} else {
		/* RFC 2046 bchars are printable ASCII; CR or LF would break the delimiter search. */
		for (i = 0; i < w.value[0].len && !err; i++)
			if (w.value[0].data[i] < 0x20 || w.value[0].data[i] > 0x7e)
				err = teeliza_set_error(TEELIZA_ERR_INVALID,
				                        "multipart boundary must be printable ASCII");
		if (!err) {
			memcpy(out, w.value[0].data, w.value[0].len + 1);
			*blen = w.value[0].len;
		}
	}
	teeliza_buf_free(&type);
	want_free(&w);
	return err;
}

/* busboy's basename: what follows the last '/' or '\', with "." and ".." empty. */
static void base_name(teeliza_buf *b)
{
	size_t i = b->len, start = 0;

	while (i > 0) {
		if (b->data[i - 1] == '/' || b->data[i - 1] == '\\') {
			start = i;
			break;
		}
		i--;
	}
	if (start > 0) {
		memmove(b->data, b->data + start, b->len - start);
		b->len -= start;
		b->data[b->len] = 0;
	}
	if ((b->len == 1 && b->data[0] == '.') || (b->len == 2 && memcmp(b->data, "..", 2) == 0)) {
		b->len = 0;
		b->data[0] = 0;
	}
}

static bool valid_utf8(const uint8_t *s, size_t n)
{
	teeliza_buf probe;
	bool same;

	teeliza_buf_init(&probe, n * 3 + 1);
	same = http_utf8_append_lossy(&probe, s, n) == TEELIZA_OK && probe.len == n;
	teeliza_buf_free(&probe);
	return same;
}

static teeliza_err disposition(form_head *h, const uint8_t *v, size_t len)
{
	struct want w;
	size_t i = 0;
	teeliza_err err = TEELIZA_OK;
	bool ok;

	if (len == 0)
		return TEELIZA_OK;
	while (i < len && is_token(v[i]))
		i++;
	if (i != 9 || strncasecmp((const char *)v, "form-data", 9) != 0)
		return TEELIZA_OK; /* busboy skips parts of any other disposition type */
	want_init(&w, "name", "filename", "filename*");
	ok = parse_params(&w, v, len, i, true, &err);
	if (!err && ok) {
		h->form_data = true;
		if (w.found[0])
			err = http_latin1_append(&h->name, w.value[0].data, w.value[0].len);
		h->has_filename = w.found[1] || w.found[2];
		if (!err && w.found[2]) {
			err = teeliza_buf_append(&h->filename, w.value[2].data, w.value[2].len);
		} else if (!err && w.found[1]) {
			/*
			 * multer 1.4 shows a UTF-8 file name as Latin-1 mojibake
			 * (expressjs/multer#1104); browsers send UTF-8, so keep it
			 * when it is, and read anything else as Latin-1.
			 */
			if (valid_utf8(w.value[1].data, w.value[1].len))
				err = teeliza_buf_append(&h->filename, w.value[1].data, w.value[1].len);
			else
				err = http_latin1_append(&h->filename, w.value[1].data, w.value[1].len);
		}
		if (!err && h->has_filename)
			base_name(&h->filename);
	}
	want_free(&w);
	return err;
}

static teeliza_err part_type(form_head *h, const uint8_t *v, size_t len)
{
	struct want w;
	size_t at = 0;
	teeliza_err err = TEELIZA_OK;
	teeliza_buf type;

	teeliza_buf_init(&type, len + 1);
	want_init(&w, "charset", NULL, NULL);
	/* An unparsable type leaves busboy's default, text/plain in UTF-8. */
	if (media_type(&type, &at, v, len, &err) && parse_params(&w, v, len, at, false, &err) && !err) {
		teeliza_buf_reset(&h->content_type);
		err = teeliza_buf_append(&h->content_type, type.data, type.len);
		h->latin1 = w.found[0] && charset_is_latin1((const char *)w.value[0].data, w.value[0].len);
	}
	teeliza_buf_free(&type);
	want_free(&w);
	return err;
}

void form_head_free(form_head *h)
{
	teeliza_buf_free(&h->name);
	teeliza_buf_free(&h->filename);
	teeliza_buf_free(&h->content_type);
}

/* One header: its lower-case-insensitive name and its value with folded lines joined. */
struct header_line {
	const uint8_t *name;
	size_t name_len;
	teeliza_buf value;
};

/*
 * The next header line at block[*i]: name ':' OWS value CRLF, continued by
 * lines that start with SP or HTAB. False when malformed.
 */
static bool next_header(struct header_line *hl, const uint8_t *block, size_t len, size_t *i, teeliza_err *err)
{
	size_t k = *i, start;

	hl->name = block + k;
	while (k < len && is_token(block[k]))
		k++;
	if (k == *i || k >= len || block[k] != ':')
		return false;
	hl->name_len = k - *i;
	k++;
	while (k < len && (block[k] == ' ' || block[k] == '\t'))
		k++;
	teeliza_buf_reset(&hl->value);
	for (;;) {
		start = k;
		while (k < len && is_field_vchar(block[k]))
			k++;
		if (k + 1 >= len || block[k] != '\r' || block[k + 1] != '\n')
			return false;
		*err = teeliza_buf_append(&hl->value, block + start, k - start);
		if (*err)
			return false;
		k += 2;
		if (k < len && (block[k] == ' ' || block[k] == '\t'))
			continue; /* folded: the value goes on, whitespace included */
		break;
	}
	*i = k;
	return true;
}

teeliza_err form_head_parse(form_head *h, const uint8_t *block, size_t len)
{
	struct header_line hl;
	size_t i = 0;
	bool have_cd = false, have_ct = false;
	teeliza_err err = TEELIZA_OK;

	memset(h, 0, sizeof(*h));
	teeliza_buf_init(&h->name, HTTP_FORM_MAX_HEADER * 2);
	teeliza_buf_init(&h->filename, HTTP_FORM_MAX_HEADER * 3);
	teeliza_buf_init(&h->content_type, HTTP_FORM_MAX_HEADER);
	err = teeliza_buf_append_str(&h->content_type, "text/plain");
	if (err)
		return err;
	teeliza_buf_init(&hl.value, HTTP_FORM_MAX_HEADER);
	while (!err && !(len - i == 2 && block[i] == '\r' && block[i + 1] == '\n')) {
		if (!next_header(&hl, block, len, &i, &err)) {
			if (!err)
				err = teeliza_set_error(TEELIZA_ERR_INVALID, "malformed multipart part header");
			break;
		}
		if (!have_cd && hl.name_len == 19 && strncasecmp((const char *)hl.name, "content-disposition", 19) == 0) {
			have_cd = true;
			err = disposition(h, hl.value.data != NULL ? hl.value.data : (const uint8_t *)"", hl.value.len);
		} else if (!have_ct && hl.name_len == 12 && strncasecmp((const char *)hl.name, "content-type", 12) == 0) {
			have_ct = true;
			err = part_type(h, hl.value.data != NULL ? hl.value.data : (const uint8_t *)"", hl.value.len);
		}
	}
	teeliza_buf_free(&hl.value);
	return err;
}
