/*
 * dstack client transport: POST /<Method> with a JSON body, and the
 * judgement of what came back (status, error shapes of both API
 * generations, strict JSON).
 */
#include "tee/dstack_client_internal.h"
#include "teeliza/http/http.h"

#include <assert.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

void dstack_client_init(dstack_client *c, const tee_endpoint *ep)
{
	assert(c != NULL && ep != NULL);
	memset(c, 0, sizeof(*c));
	c->ep = *ep;
	c->timeout_ms = 30000;
	c->max_response = (size_t)16 << 20;
}

const char *dstack_client_str(char *out, size_t out_len, const dstack_client *c)
{
	assert(out != NULL && out_len > 0 && c != NULL);
	if (c->ep.socket[0])
		snprintf(out, out_len, "dstack at unix:%s", c->ep.socket);
	else
		snprintf(out, out_len, "dstack at %s", c->ep.url);
	return out;
}

void dstack_where(char out[DSTACK_WHERE_MAX], const dstack_client *c, const char *method)
{
	char ep[DSTACK_WHERE_MAX - 40];

	snprintf(out, DSTACK_WHERE_MAX, "%s, %.24s", dstack_client_str(ep, sizeof(ep), c), method);
}

/* Origin of a URL endpoint: "/<Method>" replaces any path, as new URL(path, base) does. */
static size_t origin_len(const char *url)
{
	const char *host = strstr(url, "://") + 3;

	return (size_t)(host - url) + strcspn(host, "/?#");
}

/* A short printable excerpt of a reply for error messages. */
static void excerpt(char *out, size_t out_len, const uint8_t *body, size_t len)
{
	size_t i, n = 0;

	for (i = 0; i < len && n + 4 < out_len; i++)
		out[n++] = (body[i] >= 0x20 && body[i] < 0x7f) ? (char)body[i] : '.';
	if (i < len && n + 3 < out_len)
		out[n++] = '.', out[n++] = '.', out[n++] = '.';
	out[n] = 0;
}

/* The server's own words for an "error" member (a string, or anything else as compact JSON). */
static void error_text(char *out, size_t out_len, json_t *error)
{
	char *dumped;

	if (json_is_string(error)) {
		excerpt(out, out_len, (const uint8_t *)json_string_value(error), json_string_length(error));
		return;
	}
	dumped = json_dumps(error, JSON_COMPACT | JSON_ENCODE_ANY);
	excerpt(out, out_len, (const uint8_t *)(dumped != NULL ? dumped : "error"), dumped != NULL ? strlen(dumped) : 5);
	free(dumped);
}

teeliza_err dstack_reply_judge(json_t **out, long status, const uint8_t *body, size_t len, const char *where,
                               unsigned flags)
{
	bool secret = (flags & DSTACK_CALL_SECRET) != 0, ok = status >= 200 && status <= 299;
	char snippet[400], msg[400];
	json_error_t jerr;
	json_t *reply, *error = NULL;
	teeliza_err err;

	assert(out != NULL && (body != NULL || len == 0) && where != NULL);
	*out = NULL;
	/* Strict: one JSON value and nothing after it, no duplicate keys, no "\u0000". */
	reply = json_loadb(len > 0 ? (const char *)body : "", len, JSON_REJECT_DUPLICATES | JSON_DECODE_ANY, &jerr);
	if (json_is_object(reply))
		error = json_object_get(reply, "error");
	if (status == 404) {
		/* tappd's "method Not Found", or a server without the route: not the dstack API. */
		if (error != NULL)
			error_text(msg, sizeof(msg), error);
		else
			excerpt(msg, sizeof(msg), body, secret ? 0 : len);
		json_decref(reply);
		return teeliza_set_error(TEELIZA_ERR_NOT_FOUND,
		                         "%s: no such method (HTTP 404%s%s): the endpoint does not serve the dstack 0.5 API "
		                         "(an older tappd?); check TEE_API and the endpoint",
		                         where, msg[0] ? ": " : "", msg);
	}
	if (error != NULL) {
		/* dstack's 400 {"error": msg}; the SDK throws on the key whatever the status. */
		error_text(msg, sizeof(msg), error);
		json_decref(reply);
		if (status == 400)
			return teeliza_set_error(TEELIZA_ERR_REMOTE, "%s (%s)", msg, where);
		return teeliza_set_error(TEELIZA_ERR_REMOTE, "%s (%s, HTTP %ld)", msg, where, status);
	}
	if (!ok) {
		if (secret)
			snprintf(snippet, sizeof(snippet), "%zu bytes", len);
		else
			excerpt(snippet, sizeof(snippet), body, len);
		json_decref(reply);
		return teeliza_set_error(TEELIZA_ERR_PROTOCOL, "%s: HTTP %ld without an error message: %s", where, status,
		                         snippet);
	}
	if (reply == NULL) {
		/* jansson's text ends with the token it stopped at ("… near '<token>'"): cut for a reply that may hold a key. */
		if (secret) {
			char *near = strstr(jerr.text, " near ");

			if (near != NULL)
				*near = 0;
			return teeliza_set_error(TEELIZA_ERR_PROTOCOL, "%s: the reply is not JSON (%s at byte %d of %zu bytes)",
			                         where, jerr.text, jerr.position, len);
		}
		excerpt(snippet, sizeof(snippet), body, len);
		return teeliza_set_error(TEELIZA_ERR_PROTOCOL, "%s: the reply is not JSON (%s at byte %d): %s", where,
		                         jerr.text, jerr.position, snippet);
	}
	if ((flags & DSTACK_CALL_NULL_OK) != 0 && (json_is_null(reply) || (json_is_object(reply) &&
	                                                                    json_object_size(reply) == 0))) {
		json_decref(reply);
		return TEELIZA_OK;
	}
	if (!json_is_object(reply)) {
		err = teeliza_set_error(TEELIZA_ERR_PROTOCOL, "%s: the reply is not a JSON object", where);
		json_decref(reply);
		return err;
	}
	*out = reply;
	return TEELIZA_OK;
}

teeliza_err dstack_call(json_t **out, teeliza_buf *raw_out, const dstack_client *c, const char *method,
                        const teeliza_buf *body, size_t cap, long timeout_ms, unsigned flags)
{
	char url[700], where[DSTACK_WHERE_MAX];
	http_request req;
	http_response resp;
	struct stat st;
	teeliza_err err;
	int n;

	assert(out != NULL && c != NULL && method != NULL && body != NULL && cap > 0);
	*out = NULL;
	if (raw_out != NULL)
		teeliza_buf_init(raw_out, cap);
	dstack_where(where, c, method);
	if (c->ep.socket[0]) {
		/* The SDK's constructor check, with its words; other stat failures are left to connect(). */
		if (stat(c->ep.socket, &st) != 0 && errno == ENOENT)
			return teeliza_set_error(TEELIZA_ERR_CONNECT, "Unix socket file %s does not exist (%s)", c->ep.socket,
			                         where);
		n = snprintf(url, sizeof(url), "http://localhost/%s", method);
	} else {
		n = snprintf(url, sizeof(url), "%.*s/%s", (int)origin_len(c->ep.url), c->ep.url, method);
	}
	if (n < 0 || (size_t)n >= sizeof(url))
		return teeliza_set_error(TEELIZA_ERR_INVALID, "dstack endpoint URL too long");

	memset(&req, 0, sizeof(req));
	req.method = "POST";
	req.url = url;
	req.unix_socket = c->ep.socket[0] ? c->ep.socket : NULL;
	req.content_type = "application/json";
	req.body = body->data;
	req.body_len = body->len;
	req.timeout_ms = timeout_ms > 0 ? timeout_ms : c->timeout_ms;
	req.max_response = c->max_response > 0 && c->max_response < cap ? c->max_response : cap;
	req.no_proxy = true;
	req.secret_response = (flags & DSTACK_CALL_SECRET) != 0;
	err = http_perform(&resp, &req);
	if (err)
		return err;
	err = dstack_reply_judge(out, resp.status, resp.body.data, resp.body.len, where, flags);
	if (!err && raw_out != NULL) {
		err = teeliza_buf_append(raw_out, resp.body.data, resp.body.len);
		if (err) {
			json_decref(*out);
			*out = NULL;
			teeliza_buf_free(raw_out);
		}
	}
	http_response_free(&resp);
	return err;
}

teeliza_err dstack_call_empty(json_t **out, teeliza_buf *raw_out, const dstack_client *c, const char *method,
                              size_t cap, long timeout_ms)
{
	teeliza_buf body;
	teeliza_err err;

	teeliza_buf_init(&body, 16);
	err = teeliza_buf_append_str(&body, "{}");
	if (!err)
		err = dstack_call(out, raw_out, c, method, &body, cap, timeout_ms, 0);
	teeliza_buf_free(&body);
	return err;
}

bool dstack_is_reachable(const dstack_client *c, long timeout_ms)
{
	json_t *reply = NULL;
	teeliza_err err;

	assert(c != NULL);
	err = dstack_call_empty(&reply, NULL, c, "Info", DSTACK_QUOTE_REPLY_MAX, timeout_ms > 0 ? timeout_ms : 500);
	json_decref(reply);
	teeliza_clear_error();
	return err == TEELIZA_OK;
}
