/*
 * The OpenAI-compatible chat-completions client (RedPill, OpenAI, Ollama,
 * llama.cpp, LM Studio): one POST per generation, the request body Eliza's
 * AI SDK sends, and errors that carry the HTTP status and the server's own
 * error message so that a bad key or model name is obvious from the log.
 */
#include "teeliza/agent/model.h"
#include "teeliza/http/http.h"

#include <assert.h>
#include <curl/curl.h>
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* Enough to print any double we send (0.6 stays "0.6", not 0.59999999999999998). */
#define BODY_FLAGS (JSON_COMPACT | JSON_REAL_PRECISION(15))
#define SNIPPET_MAX 200

struct openai {
	agent_llm_endpoint ep;   /* holds the key: wiped on destroy */
	char url[600];           /* {base}/chat/completions */
	char shown_url[600];     /* the same for messages: no user:password@, no query */
	bool loopback;           /* a local server: never through http_proxy */
};

/*
 * True when the URL's host, as libcurl reads it, is localhost, 127.x.x.x
 * or ::1 (a prefix test would take "http://127.0.0.1.example.org").
 */
static bool url_is_loopback(const char *url)
{
	CURLU *u = curl_url();
	char *host = NULL;
	bool loopback = false;
	size_t n;

	if (u != NULL && curl_url_set(u, CURLUPART_URL, url, 0) == CURLUE_OK &&
	    curl_url_get(u, CURLUPART_HOST, &host, 0) == CURLUE_OK) {
		n = strlen(host);
		if (n > 2 && host[0] == '[' && host[n - 1] == ']') {
			host[n - 1] = '\0';
			loopback = http_host_is_loopback(host + 1);
		} else {
			loopback = http_host_is_loopback(host);
		}
	}
	curl_free(host);
	curl_url_cleanup(u);
	return loopback;
}

/* url for logs and messages: user:password@ and the query (either may hold a key) replaced by [redacted]. */
static void url_for_messages(char *out, size_t out_len, const char *url)
{
	const char *auth = strstr(url, "://"), *end, *at = NULL, *query;

	if (auth == NULL) {
		snprintf(out, out_len, "%s", url);
		return;
	}
	auth += 3;
	end = auth + strcspn(auth, "/?#");
	for (const char *p = auth; p < end; p++)
		if (*p == '@')
			at = p;
	query = strchr(auth, '?');
	if (at != NULL)
		snprintf(out, out_len, "%.*s[redacted]%.*s", (int)(auth - url), url,
		         (int)((query != NULL ? query : url + strlen(url)) - at), at);
	else
		snprintf(out, out_len, "%.*s", (int)((query != NULL ? query : url + strlen(url)) - url), url);
	if (query != NULL)
		snprintf(out + strlen(out), out_len - strlen(out), "?[redacted]");
}

static void openai_destroy(agent_llm *m)
{
	struct openai *o = m->impl;

	if (o == NULL)
		return;
	agent_llm_endpoint_wipe(&o->ep);
	free(o);
	m->impl = NULL;
}

/* A short printable excerpt of a response body for error messages. */
static void snippet(char *out, size_t out_len, const char *body, size_t len)
{
	size_t n = len < SNIPPET_MAX ? len : SNIPPET_MAX, o = 0;

	assert(out_len > SNIPPET_MAX + 4);
	for (size_t i = 0; i < n; i++) {
		unsigned char c = (unsigned char)body[i];

		out[o++] = (char)(c < 0x20 || c == 0x7f ? ' ' : c);
	}
	out[o] = '\0';
	if (len > n) {
		/* Cut before the last character, which may be incomplete. */
		while (o > 0 && ((unsigned char)out[o - 1] & 0xc0) == 0x80)
			o--;
		if (o > 0 && (unsigned char)out[o - 1] >= 0xc0)
			o--;
		memcpy(out + o, "...", 4);
	}
	if (len == 0)
		snprintf(out, out_len, "(empty body)");
}

/* The server's explanation in an error body: error.message, error (string), message or detail. */
static const char *error_message(const json_t *root)
{
	const json_t *e;

	if (!json_is_object(root))
		return NULL;
	e = json_object_get(root, "error");
	if (json_is_object(e) && json_is_string(json_object_get(e, "message")))
		return json_string_value(json_object_get(e, "message"));
	if (json_is_string(e))
		return json_string_value(e);
	if (json_is_string(json_object_get(root, "message")))
		return json_string_value(json_object_get(root, "message"));
	if (json_is_string(json_object_get(root, "detail")))
		return json_string_value(json_object_get(root, "detail"));
	return NULL;
}

/* {"role": role, "content": text}; NULL when text is not valid UTF-8 (or memory ran out). */
static json_t *message(const char *role, const char *text)
{
	json_t *content = json_string(text);

	return content != NULL ? json_pack("{s:s,s:o}", "role", role, "content", content) : NULL;
}

static teeliza_err build_body(char **out, const struct openai *o, const char *system, const char *prompt,
                              agent_llm_size size, const agent_llm_options *opts)
{
	json_t *root = json_object(), *messages = json_array(), *stop = NULL, *msg;
	int rc = 0;

	*out = NULL;
	if (root == NULL || messages == NULL)
		goto nomem;
	rc |= json_object_set_new(root, "model", json_string(o->ep.model[size]));
	if (system != NULL && system[0] != '\0') {
		msg = message("system", system);
		if (msg == NULL)
			goto bad_text;
		rc |= json_array_append_new(messages, msg);
	}
	msg = message("user", prompt);
	if (msg == NULL)
		goto bad_text;
	rc |= json_array_append_new(messages, msg);
	rc |= json_object_set_new(root, "messages", messages);
	messages = NULL;
	rc |= json_object_set_new(root, "temperature", json_real(opts->temperature));
	rc |= json_object_set_new(root, "max_tokens", json_integer(opts->max_tokens));
	rc |= json_object_set_new(root, "frequency_penalty", json_real(opts->frequency_penalty));
	rc |= json_object_set_new(root, "presence_penalty", json_real(opts->presence_penalty));
	if (opts->stop != NULL && opts->stop[0] != NULL) {
		stop = json_array();
		for (size_t i = 0; stop != NULL && opts->stop[i] != NULL; i++)
			rc |= json_array_append_new(stop, json_string(opts->stop[i]));
		rc |= json_object_set_new(root, "stop", stop);
	}
	if (rc != 0)
		goto nomem;
	*out = json_dumps(root, BODY_FLAGS);
	json_decref(root);
	if (*out == NULL)
		return teeliza_set_error(TEELIZA_ERR_NOMEM, "out of memory encoding the model request");
	return TEELIZA_OK;
bad_text:
	json_decref(messages);
	json_decref(root);
	return teeliza_set_error(TEELIZA_ERR_INVALID, "the model's system text or prompt is not valid UTF-8");
nomem:
	json_decref(messages);
	json_decref(root);
	return teeliza_set_error(TEELIZA_ERR_NOMEM, "out of memory building the model request");
}

/* A non-2xx answer: the status and what the server said, classed for retrying. */
static teeliza_err http_failure(const struct openai *o, const http_response *resp)
{
	json_t *root = json_loadb((const char *)resp->body.data, resp->body.len, 0, NULL);
	const char *msg = error_message(root);
	char snip[SNIPPET_MAX + 8];
	long st = resp->status;
	teeliza_err err;

	/* Our request or configuration is wrong: retrying the same call cannot help. */
	err = st >= 400 && st < 500 && st != 408 && st != 429 ? TEELIZA_ERR_CONFIG : TEELIZA_ERR_REMOTE;
	if (msg == NULL) {
		snippet(snip, sizeof(snip), (const char *)resp->body.data, resp->body.len);
		msg = snip;
	}
	err = teeliza_set_error(err, "%s model: HTTP %ld from %s: %s", o->ep.provider, st, o->shown_url, msg);
	json_decref(root);
	return err;
}

static teeliza_err read_content(teeliza_buf *out_text, const struct openai *o, const http_response *resp)
{
	json_error_t jerr;
	json_t *root = json_loadb((const char *)resp->body.data, resp->body.len, 0, &jerr);
	const json_t *choices, *content;
	char snip[SNIPPET_MAX + 8];
	teeliza_err err;

	if (root == NULL) {
		snippet(snip, sizeof(snip), (const char *)resp->body.data, resp->body.len);
		return teeliza_set_error(TEELIZA_ERR_PROTOCOL, "%s model: the answer from %s is not JSON (%s): %s",
		                         o->ep.provider, o->shown_url, jerr.text, snip);
	}
	choices = json_object_get(root, "choices");
	content = json_object_get(json_object_get(json_array_get(choices, 0), "message"), "content");
	if (!json_is_string(content)) {
		const char *why = error_message(root);

		err = teeliza_set_error(TEELIZA_ERR_PROTOCOL, "%s model: the answer from %s has no "
		                        "choices[0].message.content%s%s", o->ep.provider, o->shown_url,
		                        why != NULL ? ": " : "", why != NULL ? why : "");
		json_decref(root);
		return err;
	}
	err = teeliza_buf_append(out_text, json_string_value(content), json_string_length(content));
	json_decref(root);
	return err;
}

static teeliza_err openai_generate(agent_llm *m, teeliza_buf *out_text, const char *system, const char *prompt,
                                   agent_llm_size size, const agent_llm_options *opts)
{
	struct openai *o = m->impl;
	char auth[600];
	const char *headers[3] = { "Accept: application/json", NULL, NULL };
	http_request req;
	http_response resp;
	char *body = NULL;
	teeliza_err err;

	err = build_body(&body, o, system, prompt, size, opts);
	if (err != TEELIZA_OK)
		return err;
	if (o->ep.api_key[0] != '\0') {
		snprintf(auth, sizeof(auth), "Authorization: Bearer %s", o->ep.api_key);
		headers[1] = auth;
	}
	memset(&req, 0, sizeof(req));
	req.method = "POST";
	req.url = o->url;
	req.content_type = "application/json";
	req.headers = headers;
	req.body = (const uint8_t *)body;
	req.body_len = strlen(body);
	req.timeout_ms = opts->timeout_ms;
	req.max_response = AGENT_LLM_MAX_RESPONSE;
	req.no_proxy = o->loopback;
	err = http_perform(&resp, &req);
	TEELIZA_WIPE_BUFFER(auth);
	/* The prompt may hold provider data (wallets, quotes); do not leave it in freed memory. */
	teeliza_wipe(body, req.body_len);
	free(body);
	if (err != TEELIZA_OK) {
		char why[1024];
		const char *at;

		snprintf(why, sizeof(why), "%s", teeliza_errmsg());
		/* The HTTP client names the URL it was given: show it without credentials. */
		at = strstr(why, o->url);
		if (at != NULL)
			return teeliza_set_error(err, "%s model: %.*s%s%s", o->ep.provider, (int)(at - why), why, o->shown_url,
			                         at + strlen(o->url));
		return teeliza_set_error(err, "%s model: %s", o->ep.provider, why);
	}
	if (resp.status < 200 || resp.status > 299)
		err = http_failure(o, &resp);
	else
		err = read_content(out_text, o, &resp);
	http_response_free(&resp);
	if (err != TEELIZA_OK)
		teeliza_buf_reset(out_text);
	return err;
}

static const agent_llm_ops openai_ops = {
	.generate = openai_generate,
	.destroy = openai_destroy,
};

teeliza_err agent_llm_openai_new(agent_llm **out, const agent_llm_endpoint *ep, agent_llm_log_fn log,
                                 void *log_ctx)
{
	agent_llm *m;
	struct openai *o;

	assert(out != NULL && ep != NULL);
	*out = NULL;
	if (strncmp(ep->base_url, "http://", 7) != 0 && strncmp(ep->base_url, "https://", 8) != 0)
		return teeliza_set_error(TEELIZA_ERR_CONFIG, "model base URL is not http(s): \"%s\"", ep->base_url);
	m = calloc(1, sizeof(*m));
	o = calloc(1, sizeof(*o));
	if (m == NULL || o == NULL) {
		free(m);
		free(o);
		return teeliza_set_error(TEELIZA_ERR_NOMEM, "out of memory creating the model client");
	}
	o->ep = *ep;
	snprintf(o->url, sizeof(o->url), "%s/chat/completions", ep->base_url);
	url_for_messages(o->shown_url, sizeof(o->shown_url), o->url);
	o->loopback = url_is_loopback(ep->base_url);
	m->ops = &openai_ops;
	m->impl = o;
	snprintf(m->provider, sizeof(m->provider), "%s", ep->provider[0] != '\0' ? ep->provider : "openai");
	url_for_messages(m->base_url, sizeof(m->base_url), ep->base_url);
	for (size_t s = 0; s < AGENT_LLM_SIZES; s++)
		snprintf(m->model[s], sizeof(m->model[s]), "%s", ep->model[s]);
	m->defaults.temperature = ep->temperature;
	m->defaults.max_tokens = ep->max_tokens > 0 ? ep->max_tokens : AGENT_LLM_DEFAULT_MAX_TOKENS;
	m->defaults.frequency_penalty = ep->frequency_penalty;
	m->defaults.presence_penalty = ep->presence_penalty;
	m->defaults.timeout_ms = ep->timeout_ms > 0 ? ep->timeout_ms : AGENT_LLM_DEFAULT_TIMEOUT_MS;
	m->log = log;
	m->log_ctx = log_ctx;
	*out = m;
	return TEELIZA_OK;
}
