/*
 * Eliza's direct-client REST API on http_server: routing, CORS (open, as
 * Eliza's cors()), the optional bearer token, start-up and the settings
 * read from the environment.
 */
#include "agent/api_internal.h"
#include "teeliza/metrics.h"

#include <assert.h>
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#define API_DEFAULT_THREADS 16u
#define API_PORT_TRIES 10u
#define API_TOKEN_MAX 4096

static const char cors_origin[] = "Access-Control-Allow-Origin: *";

void api_reply_json(http_server_reply *reply, unsigned status, json_t *value)
{
	char *text = value != NULL ? json_dumps(value, JSON_COMPACT | JSON_PRESERVE_ORDER | JSON_ENCODE_ANY) : NULL;

	json_decref(value);
	teeliza_buf_reset(&reply->body);
	reply->content_type = "application/json; charset=utf-8";
	if (text == NULL || teeliza_buf_append_str(&reply->body, text) != TEELIZA_OK) {
		free(text);
		teeliza_buf_reset(&reply->body);
		reply->status = 500;
		if (teeliza_buf_append_str(&reply->body, "{\"error\":\"out of memory\"}") != TEELIZA_OK)
			teeliza_buf_reset(&reply->body);
		return;
	}
	free(text);
	reply->status = status;
}

void api_reply_error(http_server_reply *reply, unsigned status, const char *message)
{
	api_reply_json(reply, status, json_pack("{s:s}", "error", message));
}

void api_reply_text(http_server_reply *reply, unsigned status, const char *text)
{
	teeliza_buf_reset(&reply->body);
	reply->status = status;
	reply->content_type = "text/html; charset=utf-8";
	if (teeliza_buf_append_str(&reply->body, text) != TEELIZA_OK)
		reply->status = 500;
}

/* "Authorization: Bearer <token>", compared in constant time. */
static bool authorized(const agent_api *api, const char *header)
{
	size_t n;

	if (api->token == NULL)
		return true;
	if (strncasecmp(header, "Bearer ", 7) != 0)
		return false;
	header += 7;
	while (*header == ' ')
		header++;
	n = strlen(header);
	while (n > 0 && (header[n - 1] == ' ' || header[n - 1] == '\t'))
		n--;
	return n == api->token_len && teeliza_ct_eq(header, api->token, n);
}

static bool seg_is(const api_request *r, size_t i, const char *name)
{
	return i < r->n_seg && strcasecmp(r->seg[i], name) == 0;
}

/* Split "/a/b/c/" into segments; false when there are too many. */
bool api_split_path(api_request *r, const char *path)
{
	char *p;

	r->path_copy = strdup(path);
	if (r->path_copy == NULL)
		return false;
	r->n_seg = 0;
	for (p = r->path_copy; *p != 0;) {
		while (*p == '/')
			p++;
		if (*p == 0)
			break;
		if (r->n_seg == sizeof(r->seg) / sizeof(r->seg[0]))
			return false;
		r->seg[r->n_seg++] = p;
		p = strchr(p, '/');
		if (p == NULL)
			break;
		*p++ = 0;
	}
	return true;
}

static void not_found_route(http_server_reply *reply, const http_server_request *req)
{
	teeliza_buf_reset(&reply->body);
	reply->status = 404;
	reply->content_type = "text/html; charset=utf-8";
	if (teeliza_buf_printf(&reply->body, "Cannot %s %s", req->method, req->path) != TEELIZA_OK)
		teeliza_buf_reset(&reply->body);
}

static void route(http_server_reply *reply, agent_api *api, api_request *r)
{
	const char *m = r->http->method;
	bool get = strcmp(m, "GET") == 0 || strcmp(m, "HEAD") == 0, post = strcmp(m, "POST") == 0;

	if (get && r->n_seg == 0) {
		api_reply_text(reply, 200, "Welcome, this is the REST API!");
		return;
	}
	if (get && r->n_seg == 1 && seg_is(r, 0, "hello")) {
		api_reply_json(reply, 200, json_pack("{s:s}", "message", "Hello World!"));
		return;
	}
	if (get && r->n_seg == 1 && seg_is(r, 0, "healthz")) {
		api_route_healthz(reply, api);
		return;
	}
	/* The dashboard's page and scripts hold no data: they ask for the token themselves. */
	if (get && seg_is(r, 0, "dashboard") && api_route_dashboard_asset(reply, r))
		return;
	if (!authorized(api, r->http->authorization)) {
		reply->extra_headers[1] = "WWW-Authenticate: Bearer";
		api_reply_error(reply, 401, "Unauthorized: send the API token as 'Authorization: Bearer <API_TOKEN>'");
		return;
	}
	if (seg_is(r, 0, "agents")) {
		if (get && r->n_seg == 1) {
			api_route_agents(reply, api);
			return;
		}
		if (get && r->n_seg == 2) {
			api_route_agent_get(reply, api, r->seg[1]);
			return;
		}
		if (strcmp(m, "DELETE") == 0 && r->n_seg == 2) {
			api_route_agent_delete(reply, api, r->seg[1]);
			return;
		}
		if (post && r->n_seg == 3 && seg_is(r, 2, "set")) {
			api_route_agent_set(reply, api, r, r->seg[1]);
			return;
		}
		if (post && r->n_seg == 3 && seg_is(r, 2, "stop")) {
			api_route_agent_stop(reply, api, r->seg[1]);
			return;
		}
		if (get && r->n_seg == 4 && seg_is(r, 3, "memories")) {
			api_route_memories(reply, api, r, r->seg[1], r->seg[2]);
			return;
		}
		if (get && r->n_seg == 4 && seg_is(r, 2, "attestations")) {
			api_route_attestation(reply, api, r, r->seg[1], r->seg[3]);
			return;
		}
	}
	if (get && r->n_seg == 1 && seg_is(r, 0, "metrics")) {
		api_route_metrics(reply, api);
		return;
	}
	if (post && r->n_seg == 1 && seg_is(r, 0, "verify")) {
		api_route_verify(reply, api, r);
		return;
	}
	if (get && r->n_seg == 4 && seg_is(r, 0, "dashboard") && seg_is(r, 1, "api") && seg_is(r, 2, "agents")) {
		api_route_dashboard_agent(reply, api, r->seg[3]);
		return;
	}
	if (get && r->n_seg == 3 && seg_is(r, 0, "dashboard") && seg_is(r, 1, "api") && seg_is(r, 2, "logs")) {
		api_route_dashboard_logs(reply, r);
		return;
	}
	if (post && r->n_seg == 2 && seg_is(r, 1, "message")) {
		api_route_message(reply, api, r, r->seg[0]);
		return;
	}
	not_found_route(reply, r->http);
}

static void handle(http_server_reply *reply, const http_server_request *req, void *ctx)
{
	agent_api *api = ctx;
	api_request r;

	reply->extra_headers[0] = cors_origin;
	if (strcmp(req->method, "OPTIONS") == 0) {
		/* CORS preflight, answered as the cors package does. */
		reply->status = 204;
		reply->extra_headers[1] = "Access-Control-Allow-Methods: GET,HEAD,PUT,PATCH,POST,DELETE";
		reply->extra_headers[2] = "Access-Control-Allow-Headers: Content-Type, Authorization";
		reply->extra_headers[3] = "Access-Control-Max-Age: 600";
		return;
	}
	memset(&r, 0, sizeof(r));
	r.http = req;
	if (!api_split_path(&r, req->path)) {
		free(r.path_copy);
		not_found_route(reply, req);
		return;
	}
	api_parse_body(&r);
	route(reply, api, &r);
	if (reply->status >= 500)
		teeliza_metrics_count_error(TEELIZA_METRIC_ERR_HTTP_5XX);
	json_decref(r.body);
	json_decref(r.files);
	free(r.path_copy);
}

static teeliza_err start_server(agent_api *api, const agent_api_config *cfg, uint16_t port)
{
	http_server_config hc;

	memset(&hc, 0, sizeof(hc));
	hc.host = api->host;
	hc.port = port;
	hc.max_body = cfg->max_body != 0 ? cfg->max_body : AGENT_API_DEFAULT_MAX_BODY;
	api_form_limits(&api->form_limits, hc.max_body, cfg->max_file != 0 ? cfg->max_file : AGENT_API_DEFAULT_MAX_FILE);
	hc.form = &api->form_limits;
	hc.threads = cfg->threads != 0 ? cfg->threads : API_DEFAULT_THREADS;
	hc.handler = handle;
	hc.ctx = api;
	return http_server_start(&api->server, &hc);
}

teeliza_err agent_api_start(agent_api **out, const agent_api_config *cfg)
{
	agent_api *api;
	unsigned tries;
	teeliza_err err;

	assert(out != NULL && cfg != NULL && cfg->registry != NULL);
	*out = NULL;
	api = calloc(1, sizeof(*api));
	if (api == NULL)
		return teeliza_set_error(TEELIZA_ERR_NOMEM, "out of memory");
	api->registry = cfg->registry;
	api->log = cfg->log;
	snprintf(api->host, sizeof(api->host), "%s", cfg->host != NULL && cfg->host[0] != 0 ? cfg->host : "0.0.0.0");
	if (cfg->api_token != NULL && cfg->api_token[0] != 0) {
		api->token_len = strlen(cfg->api_token);
		if (api->token_len > API_TOKEN_MAX) {
			free(api);
			return teeliza_set_error(TEELIZA_ERR_CONFIG, "API_TOKEN is longer than %d bytes", API_TOKEN_MAX);
		}
		api->token = strdup(cfg->api_token);
		if (api->token == NULL) {
			free(api);
			return teeliza_set_error(TEELIZA_ERR_NOMEM, "out of memory");
		}
	}
	err = api_verifier_new(&api->verifier, cfg->sim_pki);
	if (err) {
		if (api->token != NULL)
			teeliza_wipe(api->token, api->token_len);
		free(api->token);
		free(api);
		return err;
	}
	err = start_server(api, cfg, cfg->port);
	/* Eliza 0.1.9 moves up from a port that is taken. */
	for (tries = 1; err && cfg->port_fallback && cfg->port != 0 && tries <= API_PORT_TRIES &&
	                (unsigned)cfg->port + tries <= 65535u && strstr(teeliza_errmsg(), "in use") != NULL;
	     tries++) {
		agent_log(cfg->log, "Port %u is in use, trying %u", (unsigned)cfg->port + tries - 1,
		          (unsigned)cfg->port + tries);
		err = start_server(api, cfg, (uint16_t)(cfg->port + tries));
	}
	if (err) {
		api_verifier_free(api->verifier);
		if (api->token != NULL)
			teeliza_wipe(api->token, api->token_len);
		free(api->token);
		free(api);
		return err;
	}
	api->port = http_server_port(api->server);
	agent_log(cfg->log, "REST API bound to %s:%u", api->host, (unsigned)api->port);
	if (api->token == NULL && !agent_host_is_loopback(api->host))
		agent_log(cfg->log,
		          "WARNING: the REST API listens on %s:%u without API_TOKEN: anyone who can reach this "
		          "port can talk to the agents, read their memories, replace or stop them. Set API_TOKEN, "
		          "or SERVER_HOST=127.0.0.1 to listen on loopback only.",
		          api->host, (unsigned)api->port);
	else if (api->token != NULL)
		agent_log(cfg->log, "REST API requires 'Authorization: Bearer <API_TOKEN>'");
	*out = api;
	return TEELIZA_OK;
}

uint16_t agent_api_port(const agent_api *api)
{
	assert(api != NULL);
	return api->port;
}

void agent_api_stop(agent_api *api)
{
	if (api == NULL)
		return;
	http_server_stop(api->server);
	api_verifier_free(api->verifier);
	if (api->token != NULL)
		teeliza_wipe(api->token, api->token_len);
	free(api->token);
	free(api);
}

teeliza_err agent_api_parse_size(size_t *out, const char *text)
{
	unsigned long long n = 0, mult = 1;
	const char *p = text;
	size_t digits = 0;

	assert(out != NULL);
	*out = 0;
	if (text == NULL)
		return teeliza_set_error(TEELIZA_ERR_INVALID, "no size given");
	while (*p == ' ')
		p++;
	for (; *p >= '0' && *p <= '9'; p++, digits++) {
		if (n > (1ull << 40))
			return teeliza_set_error(TEELIZA_ERR_INVALID, "size '%s' is too large", text);
		n = n * 10 + (unsigned long long)(*p - '0');
	}
	if (digits == 0)
		return teeliza_set_error(TEELIZA_ERR_INVALID, "size '%s' is not a number with an optional unit", text);
	while (*p == ' ')
		p++;
	/* The `bytes` package's units, as body-parser reads "100kb". */
	if (*p == 0 || strcasecmp(p, "b") == 0)
		mult = 1;
	else if (strcasecmp(p, "kb") == 0)
		mult = 1ull << 10;
	else if (strcasecmp(p, "mb") == 0)
		mult = 1ull << 20;
	else if (strcasecmp(p, "gb") == 0)
		mult = 1ull << 30;
	else
		return teeliza_set_error(TEELIZA_ERR_INVALID, "size '%s' has an unknown unit (b, kb, mb, gb)", text);
	if (n == 0 || n > (1ull << 40) / mult)
		return teeliza_set_error(TEELIZA_ERR_INVALID, "size '%s' is out of range", text);
	*out = (size_t)(n * mult);
	return TEELIZA_OK;
}

teeliza_err agent_api_config_from_env(agent_api_config *cfg)
{
	const char *host = getenv("SERVER_HOST"), *port = getenv("SERVER_PORT"), *token = getenv("API_TOKEN");
	const char *payload = getenv("EXPRESS_MAX_PAYLOAD"), *max_file = getenv("TEELIZA_MAX_FILE_SIZE");
	uint64_t v;

	assert(cfg != NULL);
	if (host != NULL && host[0] != 0)
		cfg->host = host;
	if (port != NULL && port[0] != 0) {
		if (teeliza_parse_u64(&v, port, 0, 65535) != TEELIZA_OK)
			return teeliza_set_error(TEELIZA_ERR_CONFIG, "SERVER_PORT must be a port number (0-65535), got '%s'",
			                         port);
		cfg->port = (uint16_t)v;
	}
	if (token != NULL && token[0] != 0)
		cfg->api_token = token;
	if (payload != NULL && payload[0] != 0 && agent_api_parse_size(&cfg->max_body, payload) != TEELIZA_OK)
		return agent_error_wrap(TEELIZA_ERR_CONFIG, "EXPRESS_MAX_PAYLOAD: ");
	if (max_file != NULL && max_file[0] != 0 && agent_api_parse_size(&cfg->max_file, max_file) != TEELIZA_OK)
		return agent_error_wrap(TEELIZA_ERR_CONFIG, "TEELIZA_MAX_FILE_SIZE: ");
	return TEELIZA_OK;
}
