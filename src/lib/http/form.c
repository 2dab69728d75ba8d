/*
 * The multipart/form-data stream (see http_form.h): a delimiter search that
 * carries a partial match from one chunk to the next, so any split of the
 * body gives the same parts; part headers gathered up to
 * HTTP_FORM_MAX_HEADER bytes; text values kept, file bytes only counted.
 */
#include "form_internal.h"

#include <assert.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

enum form_state {
	ST_PREAMBLE,     /* before the first delimiter: ignored */
	ST_AFTER_DELIM,  /* a delimiter was matched: "--" or CRLF must follow */
	ST_AFTER_DASH,   /* "-" after a delimiter: the second "-" must follow */
	ST_AFTER_CR,     /* CR after a delimiter: LF must follow */
	ST_HEADERS,      /* a part's header block */
	ST_BODY,         /* a part's content */
	ST_DONE,         /* after the closing delimiter: the epilogue is ignored */
	ST_FAILED,
};

enum part_use { USE_SKIP, USE_TEXT, USE_FILE };

struct http_form {
	http_form_limits lim;
	uint8_t delim[4 + HTTP_FORM_MAX_BOUNDARY]; /* "\r\n--" boundary */
	size_t dlen;
	size_t held;                 /* delim bytes matched at the end of the data fed so far */
	enum form_state state;
	uint64_t total;              /* body bytes fed */

	/* the part being read */
	enum part_use use;
	form_head head_info;
	bool head_valid;             /* head_info holds a parsed header */
	teeliza_buf text;            /* USE_TEXT: the raw value */
	uint64_t size;               /* USE_FILE / USE_SKIP: bytes seen */
	uint8_t head[HTTP_FORM_MAX_HEADER];
	size_t head_len;

	/* results */
	http_form_part *parts;
	size_t n_parts, cap_parts;
	size_t n_seen;               /* parts started, skipped ones included */
	size_t n_files;
	size_t text_total;

	teeliza_err err;
	http_form_limit limit;
	char msg[200];
};

/* Record the first failure; every later call returns it. */
static teeliza_err fail(http_form *f, teeliza_err err, http_form_limit limit, const char *fmt, ...)
	TEELIZA_PRINTF(4, 5);

static teeliza_err fail(http_form *f, teeliza_err err, http_form_limit limit, const char *fmt, ...)
{
	va_list ap;

	if (f->state == ST_FAILED)
		return f->err;
	va_start(ap, fmt);
	vsnprintf(f->msg, sizeof(f->msg), fmt, ap);
	va_end(ap);
	f->err = err;
	f->limit = limit;
	f->state = ST_FAILED;
	return teeliza_set_error(err, "%s", f->msg);
}

static teeliza_err fail_nomem(http_form *f)
{
	return fail(f, TEELIZA_ERR_NOMEM, HTTP_FORM_LIMIT_NONE, "out of memory");
}

teeliza_err http_form_new(http_form **out, const char *content_type, const http_form_limits *limits)
{
	char boundary[HTTP_FORM_MAX_BOUNDARY + 1];
	size_t blen;
	http_form *f;
	teeliza_err err;

	assert(out != NULL && content_type != NULL && limits != NULL);
	*out = NULL;
	err = form_boundary_parse(boundary, sizeof(boundary), &blen, content_type);
	if (err)
		return err;
	f = calloc(1, sizeof(*f));
	if (f == NULL)
		return teeliza_set_error(TEELIZA_ERR_NOMEM, "out of memory");
	f->lim = *limits;
	memcpy(f->delim, "\r\n--", 4);
	memcpy(f->delim + 4, boundary, blen);
	f->dlen = 4 + blen;
	f->state = ST_PREAMBLE;
	f->use = USE_SKIP;
	teeliza_buf_init(&f->text, limits->max_text);
	/* As busboy: a CRLF before the body lets it start with "--boundary". */
	f->held = 2;
	*out = f;
	return TEELIZA_OK;
}

static void part_free(http_form_part *p)
{
	free(p->name);
	free(p->value);
	free(p->filename);
	free(p->content_type);
}

void http_form_free(http_form *f)
{
	size_t i;

	if (f == NULL)
		return;
	for (i = 0; i < f->n_parts; i++)
		part_free(&f->parts[i]);
	free(f->parts);
	if (f->head_valid)
		form_head_free(&f->head_info);
	teeliza_buf_free(&f->text);
	free(f);
}

const http_form_part *http_form_parts(const http_form *f, size_t *count)
{
	assert(f != NULL && count != NULL);
	*count = f->n_parts;
	return f->parts;
}

const char *http_form_error(const http_form *f)
{
	return f->state == ST_FAILED ? f->msg : "";
}

http_form_limit http_form_limit_hit(const http_form *f)
{
	return f->state == ST_FAILED ? f->limit : HTTP_FORM_LIMIT_NONE;
}

uint64_t http_form_bytes(const http_form *f)
{
	return f->total;
}

/* Content of the current part (or preamble). */
static teeliza_err emit(http_form *f, const uint8_t *data, size_t len)
{
	if (len == 0 || f->state == ST_PREAMBLE)
		return TEELIZA_OK;
	if (f->use == USE_TEXT) {
		if (len > f->lim.max_text - f->text_total)
			return fail(f, TEELIZA_ERR_TOO_LARGE, HTTP_FORM_LIMIT_TEXT,
			            "the text fields of the multipart body are over %zu bytes", f->lim.max_text);
		f->text_total += len;
		if (teeliza_buf_append(&f->text, data, len) != TEELIZA_OK)
			return fail_nomem(f);
		return TEELIZA_OK;
	}
	if (len > f->lim.max_file - f->size)
		return fail(f, TEELIZA_ERR_TOO_LARGE, HTTP_FORM_LIMIT_FILE,
		            "a file part of the multipart body is over %llu bytes", (unsigned long long)f->lim.max_file);
	f->size += len;
	return TEELIZA_OK;
}

static char *dup_bytes(const teeliza_buf *b)
{
	char *s = malloc(b->len + 1);

	if (s == NULL)
		return NULL;
	if (b->len > 0)
		memcpy(s, b->data, b->len);
	s[b->len] = 0;
	return s;
}

/* The current part is complete: keep what it holds. */
static teeliza_err end_part(http_form *f)
{
	http_form_part p, *grown;
	teeliza_buf value;
	size_t cap;

	if (f->use == USE_SKIP || !f->head_valid)
		return TEELIZA_OK;
	memset(&p, 0, sizeof(p));
	p.kind = f->use == USE_TEXT ? HTTP_FORM_TEXT : HTTP_FORM_FILE;
	p.name = dup_bytes(&f->head_info.name);
	p.content_type = dup_bytes(&f->head_info.content_type);
	if (p.name == NULL || p.content_type == NULL)
		goto nomem;
	if (f->use == USE_TEXT) {
		/* busboy decodes with the part's charset: Latin-1 aliases, else UTF-8. */
		teeliza_buf_init(&value, f->text.len * 3 + 1);
		if ((f->head_info.latin1 ? http_latin1_append(&value, f->text.data, f->text.len)
		                         : http_utf8_append_lossy(&value, f->text.data, f->text.len)) != TEELIZA_OK ||
		    teeliza_buf_append(&value, "", 0) != TEELIZA_OK) {
			teeliza_buf_free(&value);
			goto nomem;
		}
		p.value = (char *)value.data;
		p.value_len = value.len;
		teeliza_buf_reset(&f->text);
	} else {
		p.filename = dup_bytes(&f->head_info.filename);
		if (p.filename == NULL)
			goto nomem;
		p.filename_len = f->head_info.filename.len;
		p.size = f->size;
	}
	if (f->n_parts == f->cap_parts) {
		cap = f->cap_parts != 0 ? f->cap_parts * 2 : 4;
		grown = realloc(f->parts, cap * sizeof(*grown));
		if (grown == NULL)
			goto nomem;
		f->parts = grown;
		f->cap_parts = cap;
	}
	f->parts[f->n_parts++] = p;
	return TEELIZA_OK;
nomem:
	part_free(&p);
	return fail_nomem(f);
}

/* A header block is complete: decide what the part is. */
static teeliza_err begin_part(http_form *f)
{
	form_head *h = &f->head_info;
	teeliza_err err;

	if (f->head_valid)
		form_head_free(h);
	f->head_valid = false;
	err = form_head_parse(h, f->head, f->head_len);
	f->head_valid = true;
	if (err == TEELIZA_ERR_INVALID)
		return fail(f, err, HTTP_FORM_LIMIT_NONE, "%s", "malformed multipart part header");
	if (err)
		return fail_nomem(f);
	f->size = 0;
	f->use = USE_SKIP;
	if (!h->form_data)
		return TEELIZA_OK;
	if (h->name.len == 0)
		return fail(f, TEELIZA_ERR_INVALID, HTTP_FORM_LIMIT_NONE,
		            "a multipart part has no name (Content-Disposition: form-data; name=\"...\")");
	if (h->has_filename) {
		if (h->filename.len == 0)
			return TEELIZA_OK; /* an empty file input: multer skips it */
		if (f->n_files == f->lim.max_files)
			return fail(f, TEELIZA_ERR_TOO_LARGE, HTTP_FORM_LIMIT_FILES,
			            "the multipart body has more than %zu file part(s)", f->lim.max_files);
		f->n_files++;
		f->use = USE_FILE;
		return TEELIZA_OK;
	}
	/* busboy treats an octet-stream without a filename as a file, which multer skips */
	if (strcmp((const char *)h->content_type.data, "application/octet-stream") == 0)
		return TEELIZA_OK;
	f->use = USE_TEXT;
	return TEELIZA_OK;
}

/*
 * Part content from d[0..n) up to the next delimiter. Out: *used (bytes
 * consumed, the delimiter included when *found).
 */
static teeliza_err scan_body(http_form *f, size_t *used, bool *found, const uint8_t *d, size_t n)
{
	const uint8_t *cr;
	size_t i = 0, at, cmp;
	teeliza_err err;

	*found = false;
	*used = n;
	if (f->held > 0) {
		while (f->held < f->dlen && i < n && d[i] == f->delim[f->held]) {
			f->held++;
			i++;
		}
		if (f->held == f->dlen) {
			f->held = 0;
			*used = i;
			*found = true;
			return TEELIZA_OK;
		}
		if (i == n)
			return TEELIZA_OK; /* still a possible delimiter */
		/* Not a delimiter. Its only CR is its first byte, so no match starts inside it. */
		err = emit(f, f->delim, f->held);
		f->held = 0;
		if (err)
			return err;
	}
	while (i < n) {
		cr = memchr(d + i, '\r', n - i);
		if (cr == NULL)
			return emit(f, d + i, n - i);
		at = (size_t)(cr - d);
		err = emit(f, d + i, at - i);
		if (err)
			return err;
		cmp = n - at < f->dlen ? n - at : f->dlen;
		if (memcmp(d + at, f->delim, cmp) == 0) {
			if (cmp == f->dlen) {
				*used = at + f->dlen;
				*found = true;
			} else {
				f->held = cmp;
			}
			return TEELIZA_OK;
		}
		err = emit(f, d + at, 1);
		if (err)
			return err;
		i = at + 1;
	}
	return TEELIZA_OK;
}

/* Header bytes from d[0..n) up to the empty line. Out: *used. */
static teeliza_err scan_headers(http_form *f, size_t *used, const uint8_t *d, size_t n)
{
	size_t i;
	uint8_t c;

	for (i = 0; i < n; i++) {
		c = d[i];
		/* busboy fails at once when a part does not start with a header name */
		if (f->head_len == 0 && (c == ':' || c == '\r' || c == '\n' || c == ' ' || c == '\t' || c < 0x21 ||
		                         c > 0x7e))
			return fail(f, TEELIZA_ERR_INVALID, HTTP_FORM_LIMIT_NONE, "%s",
			            "malformed multipart part header");
		if (f->head_len == sizeof(f->head))
			return fail(f, TEELIZA_ERR_INVALID, HTTP_FORM_LIMIT_NONE,
			            "a multipart part header is over %u bytes", HTTP_FORM_MAX_HEADER);
		f->head[f->head_len++] = c;
		if (c == '\n' && f->head_len >= 4 && memcmp(f->head + f->head_len - 4, "\r\n\r\n", 4) == 0) {
			*used = i + 1;
			f->state = ST_BODY;
			return begin_part(f);
		}
	}
	*used = n;
	return TEELIZA_OK;
}

static teeliza_err step(http_form *f, size_t *used, const uint8_t *d, size_t n)
{
	teeliza_err err;
	bool found;

	*used = 1;
	switch (f->state) {
	case ST_PREAMBLE:
	case ST_BODY:
		err = scan_body(f, used, &found, d, n);
		if (err || !found)
			return err;
		err = f->state == ST_BODY ? end_part(f) : TEELIZA_OK;
		f->state = ST_AFTER_DELIM;
		return err;
	case ST_AFTER_DELIM:
		if (d[0] == '-') {
			f->state = ST_AFTER_DASH;
		} else if (d[0] == '\r') {
			f->state = ST_AFTER_CR;
		} else {
			return fail(f, TEELIZA_ERR_INVALID, HTTP_FORM_LIMIT_NONE, "%s",
			            "a multipart delimiter is not followed by CRLF or \"--\"");
		}
		return TEELIZA_OK;
	case ST_AFTER_DASH:
		if (d[0] != '-')
			return fail(f, TEELIZA_ERR_INVALID, HTTP_FORM_LIMIT_NONE, "%s",
			            "a multipart delimiter is not followed by CRLF or \"--\"");
		f->state = ST_DONE;
		return TEELIZA_OK;
	case ST_AFTER_CR:
		if (d[0] != '\n')
			return fail(f, TEELIZA_ERR_INVALID, HTTP_FORM_LIMIT_NONE, "%s",
			            "a multipart delimiter is not followed by CRLF or \"--\"");
		if (f->n_seen == f->lim.max_parts)
			return fail(f, TEELIZA_ERR_TOO_LARGE, HTTP_FORM_LIMIT_PARTS,
			            "the multipart body has more than %zu parts", f->lim.max_parts);
		f->n_seen++;
		f->head_len = 0;
		f->use = USE_SKIP;
		f->state = ST_HEADERS;
		return TEELIZA_OK;
	case ST_HEADERS:
		return scan_headers(f, used, d, n);
	case ST_DONE:
		*used = n; /* the epilogue, ignored (RFC 2046 §5.1.1) */
		return TEELIZA_OK;
	case ST_FAILED:
		break;
	}
	return f->err;
}

teeliza_err http_form_feed(http_form *f, const uint8_t *data, size_t len)
{
	size_t n = len, used;
	bool over;
	teeliza_err err;

	assert(f != NULL && (data != NULL || len == 0));
	if (f->state == ST_FAILED)
		return teeliza_set_error(f->err, "%s", f->msg);
	/* Parse up to the limit first, so a split body fails where the whole one does. */
	over = len > f->lim.max_total - f->total;
	if (over)
		n = (size_t)(f->lim.max_total - f->total);
	f->total += n;
	while (n > 0) {
		err = step(f, &used, data, n);
		if (err)
			return err;
		data += used;
		n -= used;
	}
	if (over)
		return fail(f, TEELIZA_ERR_TOO_LARGE, HTTP_FORM_LIMIT_TOTAL, "the multipart body is over %llu bytes",
		            (unsigned long long)f->lim.max_total);
	return TEELIZA_OK;
}

teeliza_err http_form_finish(http_form *f)
{
	assert(f != NULL);
	if (f->state == ST_FAILED)
		return teeliza_set_error(f->err, "%s", f->msg);
	/* No body at all is an empty form: multer skips a request without one. */
	if (f->state != ST_DONE && !(f->total == 0 && f->state == ST_PREAMBLE))
		return fail(f, TEELIZA_ERR_INVALID, HTTP_FORM_LIMIT_NONE, "%s",
		            "the multipart body ends before its closing delimiter");
	return TEELIZA_OK;
}
