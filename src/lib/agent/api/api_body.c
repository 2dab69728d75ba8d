/*
 * Request bodies as Express reads them for Eliza's direct client:
 * body-parser's JSON and urlencoded parsers (qs, extended) and multer's
 * upload.single("file") for multipart/form-data, whose body the HTTP server
 * parses as it arrives (http_form.h) so uploads are never held in memory.
 * Every other content type is an empty body.
 *
 * Fields: a repeated name gives an array of its values (qs "combine",
 * multer's append-field); an empty value is ""; a name without "=" in a
 * form is ""; an empty name is dropped. Bracketed names ("a[b]", "a[]") are
 * kept as they are, where qs and multer would build nested objects: no
 * Eliza client sends them.
 */
#include "teeliza/common/encoding.h"
#include "agent/api/api_request.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>

/* body-parser's parameterLimit: a form with this many "&" is refused with 413. */
#define URLENCODED_MAX_PARAMS 1000u
/* Parts of a multipart body (multer has no limit; this bounds the work per request). */
#define FORM_MAX_PARTS 100u
/* Part headers and delimiters allowed beyond the file and text limits. */
#define FORM_OVERHEAD ((uint64_t)2 << 20)

void api_form_limits(http_form_limits *out, size_t max_body, size_t max_file)
{
	memset(out, 0, sizeof(*out));
	out->max_parts = FORM_MAX_PARTS;
	out->max_files = 1; /* upload.single("file") */
	out->max_text = max_body;
	out->max_file = max_file;
	out->max_total = (uint64_t)max_file + max_body + FORM_OVERHEAD;
}

static void set_error(api_request *r, unsigned status, const char *message)
{
	r->body_status = status;
	snprintf(r->body_error, sizeof(r->body_error), "%s", message);
}

/* Add a field; a name seen before collects its values in an array. Steals value. */
static bool add_field(json_t *obj, const char *name, size_t name_len, json_t *value)
{
	json_t *old, *arr;
	char *key;
	bool ok;

	if (value == NULL)
		return false;
	if (name_len == 0 || memchr(name, 0, name_len) != NULL) {
		json_decref(value);
		return true; /* a name jansson cannot hold (NUL) is dropped */
	}
	key = malloc(name_len + 1);
	if (key == NULL) {
		json_decref(value);
		return false;
	}
	memcpy(key, name, name_len);
	key[name_len] = 0;
	old = json_object_get(obj, key);
	if (old == NULL) {
		ok = json_object_set_new(obj, key, value) == 0;
	} else if (json_is_array(old)) {
		ok = json_array_append_new(old, value) == 0;
	} else {
		/* the second value: [first, second] replaces first */
		arr = json_pack("[O, o]", old, value);
		ok = arr != NULL && json_object_set_new(obj, key, arr) == 0;
	}
	free(key);
	return ok;
}

/*
 * qs's decode: '+' is a space, then decodeURIComponent; when that throws (a
 * '%' without two hex digits, or bytes that are not UTF-8) the text stays
 * as it was, '+' replaced. When s is valid UTF-8, so is the result.
 */
static bool qs_decode(teeliza_buf *out, const char *s, size_t n)
{
	size_t i, mark;
	int hi, lo;
	uint8_t c;

	teeliza_buf_reset(out);
	for (i = 0; i < n; i++) {
		c = (uint8_t)s[i];
		if (c == '+') {
			c = ' ';
		} else if (c == '%') {
			if (n - i < 3 || (hi = teeliza_hex_nibble(s[i + 1])) < 0 || (lo = teeliza_hex_nibble(s[i + 2])) < 0)
				goto raw;
			c = (uint8_t)(hi * 16 + lo);
			i += 2;
		}
		if (teeliza_buf_append(out, &c, 1) != TEELIZA_OK)
			return false;
	}
	for (mark = 0; mark < out->len;) {
		size_t k = teeliza_utf8_seq_len(out->data + mark, out->len - mark);

		if (k == 0)
			goto raw;
		mark += k;
	}
	return teeliza_buf_append(out, "", 0) == TEELIZA_OK;
raw:
	teeliza_buf_reset(out);
	for (i = 0; i < n; i++) {
		c = s[i] == '+' ? ' ' : (uint8_t)s[i];
		if (teeliza_buf_append(out, &c, 1) != TEELIZA_OK)
			return false;
	}
	return teeliza_buf_append(out, "", 0) == TEELIZA_OK;
}

/* One "name=value" of a form: qs splits at "]=" when there is one, else at the first "=". */
static bool form_pair(json_t *obj, teeliza_buf *k, teeliza_buf *v, const char *s, size_t n)
{
	const char *eq = NULL, *p;

	for (p = s; p + 1 < s + n; p++)
		if (p[0] == ']' && p[1] == '=') {
			eq = p + 1;
			break;
		}
	if (eq == NULL)
		eq = memchr(s, '=', n);
	if (!qs_decode(k, s, eq != NULL ? (size_t)(eq - s) : n) ||
	    !qs_decode(v, eq != NULL ? eq + 1 : "", eq != NULL ? (size_t)(s + n - eq - 1) : 0))
		return false;
	if (k->len == 0)
		return true; /* qs drops empty names */
	return add_field(obj, (const char *)k->data, k->len, json_stringn((const char *)v->data, v->len));
}

static json_t *parse_urlencoded(api_request *r, const uint8_t *body, size_t n)
{
	teeliza_buf text, k, v;
	json_t *obj = NULL;
	const char *s, *end, *amp;
	size_t amps = 0, i;
	bool ok = true;

	for (i = 0; i < n; i++)
		amps += body[i] == '&';
	if (amps >= URLENCODED_MAX_PARAMS) {
		set_error(r, 413, "too many parameters");
		return NULL;
	}
	/* body-parser reads the body as UTF-8 text first: ill-formed bytes become U+FFFD */
	teeliza_buf_init(&text, n * 3 + 1);
	teeliza_buf_init(&k, n * 3 + 1);
	teeliza_buf_init(&v, n * 3 + 1);
	if (http_utf8_append_lossy(&text, body, n) == TEELIZA_OK && teeliza_buf_append(&text, "", 0) == TEELIZA_OK)
		obj = json_object();
	if (obj != NULL) {
		s = (const char *)text.data;
		end = s + text.len;
		while (ok && s <= end) {
			amp = memchr(s, '&', (size_t)(end - s));
			if (amp == NULL)
				amp = end;
			if (amp > s)
				ok = form_pair(obj, &k, &v, s, (size_t)(amp - s));
			s = amp + 1;
		}
	}
	teeliza_buf_free(&text);
	teeliza_buf_free(&k);
	teeliza_buf_free(&v);
	if (obj == NULL || !ok) {
		json_decref(obj);
		set_error(r, 500, "out of memory");
		return NULL;
	}
	return obj;
}

/* The fields and files of a parsed multipart body. */
static json_t *form_fields(api_request *r, const http_form *form)
{
	const http_form_part *p;
	json_t *obj = json_object(), *file;
	size_t n, i;
	bool ok = obj != NULL;

	p = http_form_parts(form, &n);
	for (i = 0; ok && i < n; i++) {
		if (p[i].kind == HTTP_FORM_TEXT) {
			ok = add_field(obj, p[i].name, strlen(p[i].name), json_stringn(p[i].value, p[i].value_len));
			continue;
		}
		if (r->files == NULL)
			r->files = json_array();
		file = json_pack("{s:s, s:s%, s:s, s:I}", "field", p[i].name, "title", p[i].filename,
		                 p[i].filename_len, "contentType", p[i].content_type, "size", (json_int_t)p[i].size);
		ok = r->files != NULL && file != NULL && json_array_append_new(r->files, file) == 0;
	}
	if (!ok) {
		json_decref(obj);
		set_error(r, 500, "out of memory");
		return NULL;
	}
	return obj;
}

/* A multipart body that arrived whole (a server without form parsing): the same parser over it. */
static json_t *parse_multipart_whole(api_request *r)
{
	const http_server_request *h = r->http;
	http_form_limits lim;
	http_form *form = NULL;
	json_t *obj = NULL;
	teeliza_err err;

	api_form_limits(&lim, h->body_len, h->body_len);
	err = http_form_new(&form, h->content_type, &lim);
	if (!err)
		err = http_form_feed(form, h->body, h->body_len);
	if (!err)
		err = http_form_finish(form);
	if (err == TEELIZA_ERR_NOMEM)
		set_error(r, 500, "out of memory");
	else if (err == TEELIZA_ERR_TOO_LARGE)
		set_error(r, 413, teeliza_errmsg());
	else if (err)
		set_error(r, 400, teeliza_errmsg());
	else
		obj = form_fields(r, form);
	http_form_free(form);
	return obj;
}

static bool type_is(const char *ctype, const char *want)
{
	size_t n = strlen(want);

	return strncasecmp(ctype, want, n) == 0 &&
	       (ctype[n] == 0 || ctype[n] == ';' || ctype[n] == ' ' || ctype[n] == '\t');
}

/* application/json or a media type ending in +json (body-parser's default), parameters aside. */
static bool type_is_json(const char *ctype)
{
	size_t n = strcspn(ctype, "; \t");

	return type_is(ctype, "application/json") || (n >= 5 && strncasecmp(ctype + n - 5, "+json", 5) == 0);
}

void api_parse_body(api_request *r)
{
	const http_server_request *h = r->http;
	const char *ctype = h->content_type;
	json_error_t jerr;
	json_t *v;

	r->body = NULL;
	r->files = NULL;
	r->body_status = 0;
	r->body_error[0] = 0;
	if (h->form_error != NULL) {
		set_error(r, 400, h->form_error);
		return;
	}
	if (h->form != NULL) {
		r->body = form_fields(r, h->form);
		return;
	}
	if (h->body_len == 0) {
		r->body = json_object();
		return;
	}
	if (type_is_json(ctype)) {
		v = json_loadb((const char *)h->body, h->body_len, JSON_DECODE_ANY, &jerr);
		if (v == NULL) {
			r->body_status = 400;
			snprintf(r->body_error, sizeof(r->body_error), "invalid JSON body: %s (at byte %d)", jerr.text,
			         jerr.position);
			return;
		}
		if (!json_is_object(v)) {
			/* Not an object: no fields, as req.body.text is then undefined. */
			json_decref(v);
			v = json_object();
		}
		r->body = v;
		return;
	}
	if (type_is(ctype, "application/x-www-form-urlencoded")) {
		r->body = parse_urlencoded(r, h->body, h->body_len);
		return;
	}
	if (type_is(ctype, "multipart/form-data")) {
		r->body = parse_multipart_whole(r);
		return;
	}
	r->body = json_object();
}

json_t *api_message_attachments(char *err, size_t err_len, const api_request *r)
{
	char id[32];
	const char *field;
	json_t *out = json_array(), *f, *a, *title;
	teeliza_buf description;
	struct timespec ts;
	size_t i;

	err[0] = 0;
	if (out == NULL) {
		snprintf(err, err_len, "%s", "out of memory");
		return NULL;
	}
	clock_gettime(CLOCK_REALTIME, &ts);
	/* Eliza's id is Date.now() as a string */
	snprintf(id, sizeof(id), "%lld", (long long)ts.tv_sec * 1000 + ts.tv_nsec / 1000000);
	json_array_foreach(r->files, i, f) {
		field = json_string_value(json_object_get(f, "field"));
		if (field == NULL || strcmp(field, "file") != 0) {
			snprintf(err, err_len,
			         "Unexpected field: the file part '%.64s' is not named 'file' (a message takes one file, "
			         "as multer's upload.single(\"file\"))",
			         field != NULL ? field : "");
			json_decref(out);
			return NULL;
		}
		title = json_object_get(f, "title");
		teeliza_buf_init(&description, json_string_length(title) + 32);
		a = NULL;
		/*
		 * What Eliza stores, but no url: the file is not kept. Eliza writes
		 * it to data/uploads/<time>-<random>-<client's name> and stores that
		 * path; teeliza never writes request data to disk.
		 */
		if (teeliza_buf_append_str(&description, "Uploaded file: ") == TEELIZA_OK &&
		    teeliza_buf_append(&description, json_string_value(title), json_string_length(title)) == TEELIZA_OK)
			a = json_pack("{s:s, s:s, s:O, s:s, s:s%, s:s, s:O, s:O}", "id", id, "url", "", "title", title,
			              "source", "direct", "description", (const char *)description.data, description.len,
			              "text", "", "contentType", json_object_get(f, "contentType"), "size",
			              json_object_get(f, "size"));
		teeliza_buf_free(&description);
		if (a == NULL || json_array_append_new(out, a) != 0) {
			snprintf(err, err_len, "%s", "out of memory");
			json_decref(out);
			return NULL;
		}
	}
	return out;
}

const char *api_query_param(char *out, size_t out_len, const char *query, const char *name)
{
	size_t nlen = strlen(name), vlen;
	const char *p = query, *amp;
	teeliza_buf dec;

	while (p != NULL && *p != 0) {
		amp = strchr(p, '&');
		if (strncmp(p, name, nlen) == 0 && (p[nlen] == '=' || p[nlen] == '&' || p[nlen] == 0)) {
			vlen = p[nlen] == '=' ? (size_t)((amp != NULL ? amp : p + strlen(p)) - (p + nlen + 1)) : 0;
			teeliza_buf_init(&dec, vlen + 1);
			if (!qs_decode(&dec, p + nlen + (p[nlen] == '=' ? 1 : 0), vlen) || dec.len >= out_len ||
			    memchr(dec.data, 0, dec.len) != NULL) {
				teeliza_buf_free(&dec);
				return NULL;
			}
			memcpy(out, dec.data, dec.len + 1);
			teeliza_buf_free(&dec);
			return out;
		}
		p = amp != NULL ? amp + 1 : NULL;
	}
	return NULL;
}
