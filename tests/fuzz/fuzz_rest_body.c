/*
 * Fuzz the REST API's body parsing (api_parse_body, api_message_attachments):
 * JSON, urlencoded forms and multipart/form-data, as Express would read them.
 * Input: a Content-Type header value, '\n', the body (no '\n': the body as
 * urlencoded). Checks: a body either parses to an object whose form fields
 * are strings or arrays of strings (valid UTF-8: it serialises and reads
 * back equal), or fails with 400/413 and a message; at most 1000 fields in a
 * form; a multipart body streamed to the server in chunks (as
 * http_server_config.form does) gives exactly the fields and files of the
 * same body parsed whole; the body is an exact-size heap copy (ASan).
 */
#include "fuzz.h"

#include "teeliza/http/form.h"
#include "agent/api/api_request.h"
#include "teeliza/agent/api.h"

#include <stdio.h>
#include <string.h>
#include <strings.h>

static bool is_form(const char *ctype)
{
	return strncasecmp(ctype, "application/x-www-form-urlencoded", 33) == 0 ||
	       strncasecmp(ctype, "multipart/form-data", 19) == 0;
}

/* Serialise and read back: the value is valid UTF-8 JSON. Returns the text (caller frees). */
static char *round_trip(const json_t *v)
{
	char *text = json_dumps(v, JSON_COMPACT | JSON_SORT_KEYS | JSON_ENCODE_ANY);
	json_t *back;

	FUZZ_CHECK(text != NULL);
	back = json_loads(text, JSON_DECODE_ANY | JSON_ALLOW_NUL, NULL);
	FUZZ_CHECK(back != NULL && json_equal(back, v));
	json_decref(back);
	return text;
}

static void check_parsed(const api_request *r, const char *ctype)
{
	const char *key;
	json_t *v, *item, *att;
	size_t i;
	char err[200];

	if (r->body == NULL) {
		FUZZ_CHECK(r->body_status == 400 || r->body_status == 413);
		FUZZ_CHECK(r->body_error[0] != 0);
		FUZZ_CHECK(r->files == NULL);
		return;
	}
	FUZZ_CHECK(json_is_object(r->body));
	free(round_trip(r->body));
	if (is_form(ctype)) {
		FUZZ_CHECK(json_object_size(r->body) <= 1000);
		json_object_foreach(r->body, key, v) {
			FUZZ_CHECK(key[0] != 0);
			if (json_is_array(v)) {
				FUZZ_CHECK(json_array_size(v) >= 2);
				json_array_foreach(v, i, item)
					FUZZ_CHECK(json_is_string(item));
			} else {
				FUZZ_CHECK(json_is_string(v));
			}
		}
	}
	if (r->files != NULL) {
		FUZZ_CHECK(json_array_size(r->files) == 1); /* upload.single */
		free(round_trip(r->files));
	}
	att = api_message_attachments(err, sizeof(err), r);
	if (att == NULL) {
		FUZZ_CHECK(err[0] != 0 && r->files != NULL);
	} else {
		FUZZ_CHECK(json_array_size(att) == json_array_size(r->files));
		free(round_trip(att));
		json_decref(att);
	}
}

static bool is_multipart(const char *ctype)
{
	return strncasecmp(ctype, "multipart/form-data", 19) == 0 &&
	       (ctype[19] == 0 || ctype[19] == ';' || ctype[19] == ' ' || ctype[19] == '\t');
}

/*
 * The multipart body fed to http_form in chunks of `step` bytes with the
 * API's limits, then handed to api_parse_body as the server does. Out:
 * *too_large when a limit was hit (the server answers 413 itself).
 */
static void streamed(api_request *r, bool *too_large, http_server_request *h, const uint8_t *body, size_t len,
                     size_t step)
{
	http_form_limits lim;
	http_form *f = NULL;
	teeliza_err err;
	size_t off = 0, n;
	uint8_t *piece;

	api_form_limits(&lim, AGENT_API_DEFAULT_MAX_BODY, AGENT_API_DEFAULT_MAX_FILE);
	err = http_form_new(&f, h->content_type, &lim);
	while (!err && off < len) {
		n = len - off < step ? len - off : step;
		piece = malloc(n);
		FUZZ_CHECK(piece != NULL);
		memcpy(piece, body + off, n);
		err = http_form_feed(f, piece, n);
		free(piece);
		off += n;
	}
	if (!err)
		err = http_form_finish(f);
	if (err && f == NULL && len == 0)
		err = TEELIZA_OK; /* no body: the server hands over no form and no error */
	*too_large = err == TEELIZA_ERR_TOO_LARGE;
	h->body = (const uint8_t *)"";
	h->body_len = 0;
	h->form = err ? NULL : f;
	h->form_error = err ? teeliza_errmsg() : NULL;
	memset(r, 0, sizeof(*r));
	r->http = h;
	api_parse_body(r);
	http_form_free(f);
}

static bool same_json(const json_t *a, const json_t *b)
{
	return (a == NULL && b == NULL) || (a != NULL && b != NULL && json_equal(a, b));
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	const uint8_t *nl = memchr(data, '\n', size > 512 ? 512 : size), *src = data;
	size_t len = size;
	char ctype[520];
	uint8_t *body;
	http_server_request h;
	api_request whole, split;
	bool too_large;

	if (nl != NULL && memchr(data, 0, (size_t)(nl - data)) == NULL) {
		memcpy(ctype, data, (size_t)(nl - data));
		ctype[nl - data] = 0;
		src = nl + 1;
		len = size - (size_t)(src - data);
	} else {
		snprintf(ctype, sizeof(ctype), "%s", "application/x-www-form-urlencoded");
	}
	/* the server hands handlers a NUL-terminated copy */
	body = malloc(len + 1);
	FUZZ_CHECK(body != NULL);
	memcpy(body, src, len);
	body[len] = 0;
	memset(&h, 0, sizeof(h));
	h.method = "POST";
	h.path = "/agent/message";
	h.query = "";
	h.content_type = ctype;
	h.authorization = "";
	h.body = body;
	h.body_len = len;
	h.remote = "fuzz";
	memset(&whole, 0, sizeof(whole));
	whole.http = &h;
	api_parse_body(&whole);
	check_parsed(&whole, ctype);

	if (is_multipart(ctype) && len <= AGENT_API_DEFAULT_MAX_BODY) {
		streamed(&split, &too_large, &h, body, len, 1 + (size > 0 ? data[size - 1] % 64 : 0));
		check_parsed(&split, ctype);
		if (whole.body != NULL) {
			FUZZ_CHECK(same_json(whole.body, split.body) && same_json(whole.files, split.files));
		} else if (whole.body_status == 413) {
			FUZZ_CHECK(too_large);
		} else {
			FUZZ_CHECK(split.body == NULL && !too_large && strcmp(whole.body_error, split.body_error) == 0);
		}
		json_decref(split.body);
		json_decref(split.files);
	}
	json_decref(whole.body);
	json_decref(whole.files);
	free(body);
	return 0;
}
