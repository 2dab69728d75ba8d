/*
 * Eliza's direct-client REST API on http_server: routing, CORS (open, as
 * Eliza's cors(), on every reply including the server's own 413 and 429),
 * the optional bearer token, the loopback-only control routes when there is
 * none, start-up and the settings read from the environment.
 */
#include "agent/api/api_internal.h"
#include "teeliza/common/metrics.h"

#include <assert.h>
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#define API_DEFAULT_THREADS 16u
#define API_PORT_TRIES 10u
#define API_TOKEN_MAX 4096

/* Added by the server to every reply, its own 413 and 429 included. */
static const char *const api_headers[] = {"Access-Control-Allow-Origin: *", NULL};

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
	reply->content_type = "text/plain; charset=utf-8";
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

/*
 * Express's "Cannot GET /x", as plain text (never HTML: the path is the
 * client's), with bytes outside printable ASCII percent-encoded as a client
 * sends them, so the reply is one printable line.
 */
static void not_found_route(http_server_reply *reply, const http_server_request *req)
{
	static const char hex[] = "0123456789ABCDEF";
	const unsigned char *p;
	teeliza_err err;

	teeliza_buf_reset(&reply->body);
	reply->status = 404;
	reply->content_type = "text/plain; charset=utf-8";
	err = teeliza_buf_printf(&reply->body, "Cannot %s ", req->method);
	for (p = (const unsigned char *)req->path; err == TEELIZA_OK && *p != 0; p++) {
		if (*p > 0x20 && *p < 0x7f)
			err = teeliza_buf_append(&reply->body, p, 1);
		else
			err = teeliza_buf_printf(&reply->body, "%%%c%c", hex[*p >> 4], hex[*p & 15]);
	}
	if (err != TEELIZA_OK)
		teeliza_buf_reset(&reply->body);
}

/*
 * Without a token, what replaces or stops agents answers only to clients on
 * this machine: the API may listen on every interface (Eliza's default).
 */
static bool control_allowed(http_server_reply *reply, const agent_api *api, const api_request *r)
{
	if (api->token != NULL || r->http->remote_local)
		return true;
	api_reply_error(reply, 403,
	                "Forbidden: without API_TOKEN, set, stop and delete are accepted only from this machine "
	                "(loopback). Set API_TOKEN on the server to manage agents remotely.");
	return false;
}

static void route(http_server_reply *reply, agent_api *api, api_request *r)
{
	const char *m = r->http->method;
	bool get = strcmp(m, "GET") == 0 || strcmp(m, "HEAD") == 0, post = strcmp(m, "POST") == 0;

	if (get && r->n_seg == 0 && !r->too_deep) {
		api_reply_text(reply, 200, "Welcome, this is the REST API!");
		reply->content_type = "text/html; charset=utf-8"; /* Express's res.send of a string */
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
	/* no route is this deep: the answer to any unknown path, after the token check like theirs */
	if (r->too_deep) {
		not_found_route(reply, r->http);
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
			if (control_allowed(reply, api, r))
				api_route_agent_delete(reply, api, r->seg[1]);
			return;
		}
		if (post && r->n_seg == 3 && seg_is(r, 2, "set")) {
			if (control_allowed(reply, api, r))
				api_route_agent_set(reply, api, r, r->seg[1]);
			return;
		}
		if (post && r->n_seg == 3 && seg_is(r, 2, "stop")) {
			if (control_allowed(reply, api, r))
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
		if (r.path_copy == NULL) {
			api_reply_error(reply, 500, "out of memory");
			return;
		}
		/* deeper than any route: answered as any unknown path, after the token check */
		r.n_seg = 0;
		r.too_deep = true;
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
	hc.headers = api_headers;
	hc.max_connections = cfg->max_connections;
	hc.max_per_client = cfg->max_per_client;
	hc.request_timeout_s = cfg->request_timeout_s;
	hc.rate_limit = cfg->rate_limit;
	return http_server_start(&api->server, &hc);
}

static void log_limits(const agent_api_config *cfg, unsigned max_connections)
{
	char rate[64];

	if (cfg->rate_limit != 0)
		snprintf(rate, sizeof(rate), "%u requests a minute per client address", cfg->rate_limit);
	else
		snprintf(rate, sizeof(rate), "none (API_RATE_LIMIT)");
	agent_log(cfg->log,
	          "REST API limits: %u connections, %u per client address, %u s to send a request; rate limit: %s",
	          max_connections, cfg->max_per_client != 0 ? cfg->max_per_client : HTTP_SERVER_DEFAULT_MAX_PER_CLIENT,
	          cfg->request_timeout_s != 0 ? cfg->request_timeout_s : HTTP_SERVER_DEFAULT_REQUEST_TIMEOUT_S, rate);
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
	log_limits(cfg, http_server_max_connections(api->server));
	if (api->token == NULL && !agent_host_is_loopback(api->host))
		agent_log(cfg->log,
		          "WARNING: the REST API listens on %s:%u without API_TOKEN: anyone who can reach this "
		          "port can talk to the agents and read their memories. Replacing, stopping and deleting "
		          "agents (set, stop, delete) is refused to clients other than loopback. Set API_TOKEN, "
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

/* An unsigned setting in [min, max] from the environment (what: its unit); unset or empty leaves *out. */
static teeliza_err env_unsigned(unsigned *out, const char *name, const char *what, uint64_t min, uint64_t max)
{
	const char *text = getenv(name);
	char prefix[160];
	uint64_t v;

	if (text == NULL || text[0] == 0)
		return TEELIZA_OK;
	if (teeliza_parse_u64(&v, text, min, max) != TEELIZA_OK) {
		snprintf(prefix, sizeof(prefix), "%s (%s): ", name, what);
		return agent_error_wrap(TEELIZA_ERR_CONFIG, prefix);
	}
	*out = (unsigned)v;
	return TEELIZA_OK;
}

/* The server's limits (docs/AGENT.md, "Limits"). */
static teeliza_err limits_from_env(agent_api_config *cfg)
{
	teeliza_err err;

	err = env_unsigned(&cfg->rate_limit, "API_RATE_LIMIT", "requests a minute per client address, 0 = no limit", 0,
	                   HTTP_SERVER_MAX_RATE_LIMIT);
	if (!err)
		err = env_unsigned(&cfg->max_connections, "API_MAX_CONNECTIONS", "open connections", 1, 1000000);
	if (!err)
		err = env_unsigned(&cfg->max_per_client, "API_MAX_CONNECTIONS_PER_CLIENT",
		                   "open connections from one client address", 1, 1000000);
	if (!err)
		err = env_unsigned(&cfg->request_timeout_s, "API_REQUEST_TIMEOUT", "seconds to send a whole request", 1,
		                   3600);
	return err;
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
	return limits_from_env(cfg);
}
