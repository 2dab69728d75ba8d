/*
 * Request bodies as Express with body-parser and multer reads them for the
 * direct client: JSON, urlencoded forms, and the text fields of
 * multipart/form-data (Eliza's web client posts messages as FormData; file
 * parts are skipped). Every other content type is an empty body.
 */
#include "teeliza/encoding.h"
#include "agent/api_internal.h"

#include <stdlib.h>
#include <string.h>
#include <strings.h>

#define FIELD_NAME_MAX 256

/* Percent-decode s[0..n) ('+' is a space in forms) into a malloc'd string; *out_len its length. */
static char *form_decode(const char *s, size_t n, size_t *out_len)
{
	char *out = malloc(n + 1);
	size_t i, o = 0;
	int hi, lo;

	if (out == NULL)
		return NULL;
	for (i = 0; i < n; i++) {
		hi = lo = -1;
		if (s[i] == '%' && n - i >= 3) {
			hi = teeliza_hex_nibble(s[i + 1]);
			lo = teeliza_hex_nibble(s[i + 2]);
		}
		if (s[i] == '+') {
			out[o++] = ' ';
		} else if (hi >= 0 && lo >= 0) {
			out[o++] = (char)(hi * 16 + lo);
			i += 2;
		} else {
			out[o++] = s[i]; /* a lone '%' stays, as qs leaves it */
		}
	}
	out[o] = 0;
	*out_len = o;
	return out;
}

/* Add name=value (raw bytes) to obj when both are valid UTF-8; a later value wins. */
static void set_field(json_t *obj, const char *name, size_t name_len, const char *value, size_t value_len)
{
	char key[FIELD_NAME_MAX];
	json_t *v;

	if (name_len == 0 || name_len >= sizeof(key) || memchr(name, 0, name_len) != NULL)
		return;
	memcpy(key, name, name_len);
	key[name_len] = 0;
	v = json_stringn(value, value_len);
	if (v != NULL)
		(void)json_object_set_new(obj, key, v);
}

static json_t *parse_urlencoded(const char *s, size_t n)
{
	json_t *obj = json_object();
	const char *end = s + n, *amp, *eq;
	char *k, *v;
	size_t klen, vlen;

	while (obj != NULL && s < end) {
		amp = memchr(s, '&', (size_t)(end - s));
		if (amp == NULL)
			amp = end;
		eq = memchr(s, '=', (size_t)(amp - s));
		k = form_decode(s, (size_t)((eq != NULL ? eq : amp) - s), &klen);
		v = eq != NULL ? form_decode(eq + 1, (size_t)(amp - eq - 1), &vlen) : form_decode("", 0, &vlen);
		if (k != NULL && v != NULL)
			set_field(obj, k, klen, v, vlen);
		free(k);
		free(v);
		s = amp + 1;
	}
	return obj;
}

/* The value of param (e.g. "boundary") in a header value like `multipart/form-data; boundary=x`. */
static bool header_param(char *out, size_t out_len, const char *value, size_t value_len, const char *param)
{
	size_t plen = strlen(param), i = 0, o = 0;
	bool quoted;

	while (i < value_len) {
		while (i < value_len && (value[i] == ';' || value[i] == ' ' || value[i] == '\t'))
			i++;
		if (value_len - i > plen && strncasecmp(value + i, param, plen) == 0 && value[i + plen] == '=') {
			i += plen + 1;
			quoted = i < value_len && value[i] == '"';
			if (quoted)
				i++;
			while (i < value_len && (quoted ? value[i] != '"' : value[i] != ';' && value[i] != ' ')) {
				if (o + 1 >= out_len)
					return false;
				out[o++] = value[i++];
			}
			out[o] = 0;
			return o > 0;
		}
		while (i < value_len && value[i] != ';')
			i++;
	}
	return false;
}

static const char *find_bytes(const char *hay, size_t hay_len, const char *needle, size_t needle_len)
{
	return memmem(hay, hay_len, needle, needle_len);
}

/* One part: headers, blank line, content. Adds its field when it is a text field. */
static void multipart_part(json_t *obj, const char *part, size_t len)
{
	const char *hdr_end = find_bytes(part, len, "\r\n\r\n", 4), *line = part, *eol;
	char name[FIELD_NAME_MAX], file[8];
	bool have_name = false, is_file = false;

	if (hdr_end == NULL)
		return;
	while (line < hdr_end) {
		eol = find_bytes(line, (size_t)(hdr_end - line), "\r\n", 2);
		if (eol == NULL)
			eol = hdr_end;
		if ((size_t)(eol - line) > 20 && strncasecmp(line, "Content-Disposition:", 20) == 0) {
			have_name = header_param(name, sizeof(name), line + 20, (size_t)(eol - line - 20), "name");
			is_file = header_param(file, sizeof(file), line + 20, (size_t)(eol - line - 20), "filename") ||
			          find_bytes(line, (size_t)(eol - line), "filename=", 9) != NULL;
		}
		line = eol + 2;
	}
	if (have_name && !is_file)
		set_field(obj, name, strlen(name), hdr_end + 4, (size_t)(part + len - (hdr_end + 4)));
}

static json_t *parse_multipart(char *err, size_t err_len, const char *ctype, const char *body, size_t n)
{
	char boundary[128], delim[136];
	const char *p, *next, *end = body + n;
	size_t dlen;
	json_t *obj;

	if (!header_param(boundary, sizeof(boundary), ctype, strlen(ctype), "boundary")) {
		snprintf(err, err_len, "%s", "multipart body without a boundary");
		return NULL;
	}
	dlen = (size_t)snprintf(delim, sizeof(delim), "--%s", boundary);
	obj = json_object();
	p = find_bytes(body, n, delim, dlen);
	while (obj != NULL && p != NULL) {
		p += dlen;
		if (end - p >= 2 && p[0] == '-' && p[1] == '-')
			break; /* closing delimiter */
		if (end - p >= 2 && p[0] == '\r' && p[1] == '\n')
			p += 2;
		next = find_bytes(p, (size_t)(end - p), delim, dlen);
		if (next == NULL)
			break;
		/* The CRLF before the delimiter belongs to the delimiter. */
		if (next - p >= 2 && next[-2] == '\r' && next[-1] == '\n')
			multipart_part(obj, p, (size_t)(next - 2 - p));
		p = next;
	}
	return obj;
}

static bool type_is(const char *ctype, const char *want)
{
	size_t n = strlen(want);

	return strncasecmp(ctype, want, n) == 0 && (ctype[n] == 0 || ctype[n] == ';' || ctype[n] == ' ');
}

json_t *api_parse_body(char *err, size_t err_len, const http_server_request *req)
{
	const char *ctype = req->content_type, *body = (const char *)req->body, *plus;
	json_error_t jerr;
	json_t *v;

	err[0] = 0;
	if (req->body_len == 0)
		return json_object();
	plus = strstr(ctype, "+json");
	if (type_is(ctype, "application/json") || (plus != NULL && (plus[5] == 0 || plus[5] == ';'))) {
		v = json_loadb(body, req->body_len, JSON_DECODE_ANY, &jerr);
		if (v == NULL) {
			snprintf(err, err_len, "invalid JSON body: %s (at byte %d)", jerr.text, jerr.position);
			return NULL;
		}
		if (!json_is_object(v)) {
			/* Not an object: no fields, as req.body.text is then undefined. */
			json_decref(v);
			return json_object();
		}
		return v;
	}
	if (type_is(ctype, "application/x-www-form-urlencoded"))
		return parse_urlencoded(body, req->body_len);
	if (type_is(ctype, "multipart/form-data"))
		return parse_multipart(err, err_len, ctype, body, req->body_len);
	return json_object();
}

const char *api_query_param(char *out, size_t out_len, const char *query, const char *name)
{
	size_t nlen = strlen(name), vlen, dlen;
	const char *p = query, *amp;
	char *dec;

	while (p != NULL && *p != 0) {
		amp = strchr(p, '&');
		if (strncmp(p, name, nlen) == 0 && (p[nlen] == '=' || p[nlen] == '&' || p[nlen] == 0)) {
			vlen = p[nlen] == '=' ? (size_t)((amp != NULL ? amp : p + strlen(p)) - (p + nlen + 1)) : 0;
			dec = form_decode(p + nlen + (p[nlen] == '=' ? 1 : 0), vlen, &dlen);
			if (dec == NULL || dlen >= out_len || memchr(dec, 0, dlen) != NULL) {
				free(dec);
				return NULL;
			}
			memcpy(out, dec, dlen + 1);
			free(dec);
			return out;
		}
		p = amp != NULL ? amp + 1 : NULL;
	}
	return NULL;
}
