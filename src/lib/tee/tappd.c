/*
 * tappd pRPC calls. Request bodies are built by hand so their bytes equal
 * what the JS SDK's JSON.stringify sends (key order, escaping, optional keys
 * left out); replies are parsed with jansson.
 */
#include "teeliza/tee/tappd.h"
#include "teeliza/common/encoding.h"
#include "teeliza/http/http.h"
#include "teeliza/common/metrics.h"

#include <assert.h>
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define TAPPD_MAX_REQUEST ((size_t)64 << 20)
#define TAPPD_RAW_REPORT_LEN 64

/* ---- request bodies ---- */

static teeliza_err derive_key_body(teeliza_buf *b, const char *path, const char *subject,
                                   const char *const *alt_names, size_t n_alt)
{
	teeliza_err err;
	size_t i;

	/* JSON.stringify({path: path||'', subject: subject||path||''}) */
	if (path == NULL)
		path = "";
	if (subject == NULL || subject[0] == 0)
		subject = path;
	err = teeliza_buf_append_str(b, "{\"path\":");
	if (!err)
		err = teeliza_json_append_string(b, path, strlen(path), "path");
	if (!err)
		err = teeliza_buf_append_str(b, ",\"subject\":");
	if (!err)
		err = teeliza_json_append_string(b, subject, strlen(subject), "subject");
	if (!err && n_alt > 0) {
		err = teeliza_buf_append_str(b, ",\"alt_names\":[");
		for (i = 0; !err && i < n_alt; i++) {
			assert(alt_names[i] != NULL);
			if (i > 0)
				err = teeliza_buf_append(b, ",", 1);
			if (!err)
				err = teeliza_json_append_string(b, alt_names[i], strlen(alt_names[i]), "alt name");
		}
		if (!err)
			err = teeliza_buf_append(b, "]", 1);
	}
	if (!err)
		err = teeliza_buf_append(b, "}", 1);
	return err;
}

static teeliza_err append_hex(teeliza_buf *b, const uint8_t *data, size_t len)
{
	static const char digits[] = "0123456789abcdef";
	char pair[2];
	size_t i;
	teeliza_err err = TEELIZA_OK;

	for (i = 0; !err && i < len; i++) {
		pair[0] = digits[data[i] >> 4];
		pair[1] = digits[data[i] & 15];
		err = teeliza_buf_append(b, pair, 2);
	}
	return err;
}

static teeliza_err quote_body(teeliza_buf *b, const uint8_t *report_data, size_t len, const char *hash_algorithm,
                              const char *prefix)
{
	static const uint8_t zeros[TAPPD_RAW_REPORT_LEN];
	teeliza_err err;

	err = teeliza_buf_append_str(b, "{\"report_data\":\"");
	/* SDK 0.1.7 pads raw report data at the start (padStart), to 64 bytes. */
	if (!err && hash_algorithm != NULL && strcmp(hash_algorithm, "raw") == 0 && len < TAPPD_RAW_REPORT_LEN)
		err = append_hex(b, zeros, TAPPD_RAW_REPORT_LEN - len);
	if (!err)
		err = append_hex(b, report_data, len);
	if (!err)
		err = teeliza_buf_append(b, "\"", 1);
	if (!err && hash_algorithm != NULL) {
		err = teeliza_buf_append_str(b, ",\"hash_algorithm\":");
		if (!err)
			err = teeliza_json_append_string(b, hash_algorithm, strlen(hash_algorithm), "hash algorithm");
	}
	if (!err && prefix != NULL) {
		err = teeliza_buf_append_str(b, ",\"prefix\":");
		if (!err)
			err = teeliza_json_append_string(b, prefix, strlen(prefix), "prefix");
	}
	if (!err)
		err = teeliza_buf_append(b, "}", 1);
	return err;
}

/* ---- the call ---- */

/* Origin of a URL endpoint: "/prpc/..." replaces any path, as new URL(path, base) does. */
static size_t origin_len(const char *url)
{
	const char *host = strstr(url, "://") + 3;

	return (size_t)(host - url) + strcspn(host, "/?#");
}

/* A short printable excerpt of a reply for error messages. */
static void excerpt(char *out, size_t out_len, const teeliza_buf *body)
{
	size_t i, n = 0;

	for (i = 0; i < body->len && n + 4 < out_len; i++) {
		unsigned char ch = body->data[i];

		out[n++] = (ch >= 0x20 && ch < 0x7f) ? (char)ch : '.';
	}
	if (i < body->len && n + 3 < out_len)
		out[n++] = '.', out[n++] = '.', out[n++] = '.';
	out[n] = 0;
}

/* A reply that carries {"error": ...}: the server's own words come first. */
static teeliza_err remote_error(json_t *error, const char *where)
{
	char *dumped;
	teeliza_err err;

	if (json_is_string(error))
		return teeliza_set_error(TEELIZA_ERR_REMOTE, "%s (from %s)", json_string_value(error), where);
	dumped = json_dumps(error, JSON_COMPACT | JSON_ENCODE_ANY);
	err = teeliza_set_error(TEELIZA_ERR_REMOTE, "%s (from %s)", dumped ? dumped : "error", where);
	free(dumped);
	return err;
}

/*
 * POST body to /prpc/Tappd.<method>; out: the reply object. secret: the reply
 * holds a key, so its raw bytes are wiped and never quoted in messages.
 * probe: asking whether the method exists at all (SimRoot), so neither the
 * request nor a "method Not Found" counts in the tappd metrics.
 */
static teeliza_err tappd_call(json_t **out, teeliza_buf *raw_out, const tappd_client *c, const char *method,
                              const teeliza_buf *body, bool secret, bool probe)
{
	char url[700], where[1300], snippet[100];
	http_request req;
	http_response resp;
	json_error_t jerr;
	json_t *reply, *error;
	teeliza_err err;
	uint64_t started;
	int n;

	*out = NULL;
	if (c->ep.socket[0])
		n = snprintf(url, sizeof(url), "http://localhost/prpc/Tappd.%s", method);
	else
		n = snprintf(url, sizeof(url), "%.*s/prpc/Tappd.%s", (int)origin_len(c->ep.url), c->ep.url, method);
	if (n < 0 || (size_t)n >= sizeof(url))
		return teeliza_set_error(TEELIZA_ERR_INVALID, "tappd endpoint URL too long");
	if (c->ep.socket[0])
		snprintf(where, sizeof(where), "tappd at unix:%s (Tappd.%s)", c->ep.socket, method);
	else
		snprintf(where, sizeof(where), "tappd at %s", url);

	memset(&req, 0, sizeof(req));
	req.method = "POST";
	req.url = url;
	req.unix_socket = c->ep.socket[0] ? c->ep.socket : NULL;
	req.content_type = "application/json";
	req.body = body->data;
	req.body_len = body->len;
	req.timeout_ms = c->timeout_ms;
	req.max_response = c->max_response;
	req.no_proxy = true;
	req.secret_response = secret;
	started = teeliza_metrics_now_ns();
	err = http_perform(&resp, &req);
	if (!probe)
		teeliza_metrics_tappd_done(started, err != TEELIZA_OK || resp.status < 200 || resp.status > 299);
	if (err)
		return err;

	reply = json_loadb((const char *)resp.body.data, resp.body.len, 0, &jerr);
	if (reply == NULL || !json_is_object(reply)) {
		if (secret)
			snprintf(snippet, sizeof(snippet), "%zu bytes", resp.body.len);
		else
			excerpt(snippet, sizeof(snippet), &resp.body);
		err = teeliza_set_error(TEELIZA_ERR_PROTOCOL, "Failed to parse response from %s (HTTP %ld): %s: %s",
		                        where, resp.status, reply == NULL ? jerr.text : "not a JSON object", snippet);
		json_decref(reply);
		http_response_free(&resp);
		return err;
	}
	error = json_object_get(reply, "error");
	if (error != NULL) {
		/* A 2xx carrying an error was not counted as failed above. */
		if (resp.status >= 200 && resp.status <= 299 && !probe)
			teeliza_metrics_count_error(TEELIZA_METRIC_ERR_TAPPD);
		err = remote_error(error, where);
		json_decref(reply);
		http_response_free(&resp);
		return err;
	}
	if (resp.status < 200 || resp.status > 299) {
		err = teeliza_set_error(TEELIZA_ERR_PROTOCOL, "HTTP %ld from %s without an error message", resp.status,
		                        where);
		json_decref(reply);
		http_response_free(&resp);
		return err;
	}
	if (raw_out != NULL) {
		err = teeliza_buf_append(raw_out, resp.body.data, resp.body.len);
		if (err) {
			json_decref(reply);
			http_response_free(&resp);
			return err;
		}
	}
	http_response_free(&resp);
	*out = reply;
	return TEELIZA_OK;
}

static teeliza_err missing_field(const char *method, const char *field, const char *type)
{
	return teeliza_set_error(TEELIZA_ERR_PROTOCOL, "tappd %s reply has no %s \"%s\"", method, type, field);
}

/* jansson frees without wiping: clear a secret string in place first. */
static void wipe_json_string(json_t *s)
{
	if (json_is_string(s))
		teeliza_wipe((char *)json_string_value(s), json_string_length(s));
}

/* ---- DeriveKey ---- */

void tappd_derive_key_response_free(tappd_derive_key_response *r)
{
	size_t i;

	if (r == NULL)
		return;
	teeliza_buf_free(&r->key);
	for (i = 0; i < r->chain_len; i++)
		teeliza_buf_free(&r->certificate_chain[i]);
	free(r->certificate_chain);
	memset(r, 0, sizeof(*r));
}

static teeliza_err copy_chain(tappd_derive_key_response *out, json_t *chain)
{
	size_t i, n;
	teeliza_err err;

	if (chain == NULL)
		return TEELIZA_OK;
	if (!json_is_array(chain))
		return teeliza_set_error(TEELIZA_ERR_PROTOCOL, "tappd DeriveKey reply: \"certificate_chain\" is not an array");
	n = json_array_size(chain);
	if (n == 0)
		return TEELIZA_OK;
	out->certificate_chain = calloc(n, sizeof(*out->certificate_chain));
	if (out->certificate_chain == NULL)
		return teeliza_set_error(TEELIZA_ERR_NOMEM, "out of memory");
	for (i = 0; i < n; i++) {
		json_t *pem = json_array_get(chain, i);

		if (!json_is_string(pem))
			return teeliza_set_error(TEELIZA_ERR_PROTOCOL,
			                         "tappd DeriveKey reply: certificate_chain[%zu] is not a string", i);
		teeliza_buf_init(&out->certificate_chain[i], (size_t)1 << 20);
		out->chain_len = i + 1;
		err = teeliza_buf_append(&out->certificate_chain[i], json_string_value(pem), json_string_length(pem));
		if (err)
			return err;
	}
	return TEELIZA_OK;
}

teeliza_err tappd_derive_key(tappd_derive_key_response *out, const tappd_client *c, const char *path,
                             const char *subject, const char *const *alt_names, size_t n_alt)
{
	teeliza_buf body;
	json_t *reply = NULL, *key;
	teeliza_err err;

	assert(out != NULL && c != NULL && (alt_names != NULL || n_alt == 0));
	memset(out, 0, sizeof(*out));
	teeliza_buf_init(&body, TAPPD_MAX_REQUEST);
	body.secret = true; /* eliza-v0.1.9 paths are the wallet salt itself */
	err = derive_key_body(&body, path, subject, alt_names, n_alt);
	if (!err)
		err = tappd_call(&reply, NULL, c, "DeriveKey", &body, true, false);
	teeliza_buf_free(&body);
	if (err)
		return err;

	teeliza_buf_init(&out->key, (size_t)1 << 20);
	out->key.secret = true;
	key = json_object_get(reply, "key");
	if (!json_is_string(key))
		err = missing_field("DeriveKey", "key", "string");
	else if (json_string_length(key) == 0)
		err = teeliza_set_error(TEELIZA_ERR_PROTOCOL, "tappd DeriveKey reply has an empty \"key\"");
	else
		err = teeliza_buf_append(&out->key, json_string_value(key), json_string_length(key));
	if (!err)
		err = copy_chain(out, json_object_get(reply, "certificate_chain"));
	wipe_json_string(key);
	json_decref(reply);
	if (err)
		tappd_derive_key_response_free(out);
	return err;
}

/* ---- TdxQuote / RawQuote ---- */

void tappd_quote_response_free(tappd_quote_response *r)
{
	if (r == NULL)
		return;
	teeliza_buf_free(&r->quote);
	teeliza_buf_free(&r->event_log);
	memset(r, 0, sizeof(*r));
}

/* Optional short string echoed by newer tappd; left "" when absent or too long to be real. */
static void copy_echo(char *dst, size_t dst_len, json_t *v)
{
	if (json_is_string(v) && json_string_length(v) < dst_len)
		memcpy(dst, json_string_value(v), json_string_length(v) + 1);
}

static teeliza_err parse_quote_reply(tappd_quote_response *out, json_t *reply, const char *method)
{
	json_t *quote = json_object_get(reply, "quote");
	json_t *log = json_object_get(reply, "event_log");
	const char *q;
	teeliza_err err;

	if (!json_is_string(quote))
		return missing_field(method, "quote", "string");
	if (!json_is_string(log))
		return missing_field(method, "event_log", "string");
	q = json_string_value(quote);
	teeliza_buf_init(&out->quote, (size_t)16 << 20);
	teeliza_buf_init(&out->event_log, (size_t)16 << 20);
	err = teeliza_hex_decode_buf(&out->quote, q, json_string_length(quote), true);
	if (err)
		return teeliza_set_error(TEELIZA_ERR_PROTOCOL, "tappd %s reply: \"quote\" is not hex: %s", method,
		                         teeliza_errmsg());
	if (out->quote.len == 0)
		return teeliza_set_error(TEELIZA_ERR_PROTOCOL, "tappd %s reply has an empty \"quote\"", method);
	err = teeliza_buf_append(&out->event_log, json_string_value(log), json_string_length(log));
	if (err)
		return err;
	copy_echo(out->hash_algorithm, sizeof(out->hash_algorithm), json_object_get(reply, "hash_algorithm"));
	copy_echo(out->prefix, sizeof(out->prefix), json_object_get(reply, "prefix"));
	return TEELIZA_OK;
}

static teeliza_err quote_call(tappd_quote_response *out, const tappd_client *c, const char *method,
                              const teeliza_buf *body)
{
	json_t *reply = NULL;
	teeliza_err err;

	err = tappd_call(&reply, NULL, c, method, body, false, false);
	if (err)
		return err;
	err = parse_quote_reply(out, reply, method);
	json_decref(reply);
	if (err)
		tappd_quote_response_free(out);
	return err;
}

teeliza_err tappd_tdx_quote(tappd_quote_response *out, const tappd_client *c, const uint8_t *report_data,
                            size_t report_data_len, const char *hash_algorithm, const char *prefix)
{
	teeliza_buf body;
	teeliza_err err;

	assert(out != NULL && c != NULL && (report_data != NULL || report_data_len == 0));
	memset(out, 0, sizeof(*out));
	if (hash_algorithm != NULL && strcmp(hash_algorithm, "raw") == 0 && report_data_len > TAPPD_RAW_REPORT_LEN)
		return teeliza_set_error(TEELIZA_ERR_INVALID,
		                         "Report data is too large, it should less then 64 bytes when hash_algorithm is raw.");
	if (report_data_len > TAPPD_MAX_REQUEST / 2 - 256)
		return teeliza_set_error(TEELIZA_ERR_TOO_LARGE, "report data of %zu bytes is too large to send",
		                         report_data_len);
	teeliza_buf_init(&body, TAPPD_MAX_REQUEST);
	err = quote_body(&body, report_data, report_data_len, hash_algorithm, prefix);
	if (!err)
		err = quote_call(out, c, "TdxQuote", &body);
	teeliza_buf_free(&body);
	return err;
}

teeliza_err tappd_raw_quote(tappd_quote_response *out, const tappd_client *c, const uint8_t report_data[64])
{
	teeliza_buf body;
	teeliza_err err;

	assert(out != NULL && c != NULL && report_data != NULL);
	memset(out, 0, sizeof(*out));
	teeliza_buf_init(&body, 1024);
	err = quote_body(&body, report_data, TAPPD_RAW_REPORT_LEN, NULL, NULL);
	if (!err)
		err = quote_call(out, c, "RawQuote", &body);
	teeliza_buf_free(&body);
	return err;
}

/* ---- Info / Version ---- */

static teeliza_err object_call(teeliza_buf *json_out, const tappd_client *c, const char *method, bool probe)
{
	teeliza_buf body;
	json_t *reply = NULL;
	teeliza_err err;

	assert(json_out != NULL && c != NULL);
	teeliza_buf_init(json_out, c->max_response ? c->max_response : (size_t)16 << 20);
	teeliza_buf_init(&body, 16);
	err = teeliza_buf_append_str(&body, "{}");
	if (!err)
		err = tappd_call(&reply, json_out, c, method, &body, false, probe);
	teeliza_buf_free(&body);
	json_decref(reply);
	if (err)
		teeliza_buf_free(json_out);
	return err;
}

teeliza_err tappd_info(teeliza_buf *json_out, const tappd_client *c)
{
	return object_call(json_out, c, "Info", false);
}

teeliza_err tappd_version(teeliza_buf *json_out, const tappd_client *c)
{
	return object_call(json_out, c, "Version", false);
}

teeliza_err tappd_sim_root(teeliza_buf *json_out, const tappd_client *c)
{
	return object_call(json_out, c, "SimRoot", true);
}
