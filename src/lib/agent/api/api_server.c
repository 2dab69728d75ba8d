/*
 * Eliza's direct-client REST API on http_server: start-up (with Eliza's
 * port fallback), CORS (open, as Eliza's cors(), on every reply including
 * the server's own 413 and 429, and the preflight), and each request split,
 * its body parsed and handed to the router (api_router.c) with the route
 * tables (api_routes.c).
 */
#include "agent/api/api_route.h"
#include "agent/api/api_v1.h"
#include "agent/api/api_verifier.h"
#include "teeliza/common/metrics.h"

#include <assert.h>
#include <stdlib.h>
#include <string.h>

#define API_DEFAULT_THREADS 16u
#define API_PORT_TRIES 10u
#define API_TOKEN_MAX 4096

/* Added by the server to every reply, its own 413 and 429 included. */
static const char *const api_headers[] = {"Access-Control-Allow-Origin: *", NULL};

static void handle(http_server_reply *reply, const http_server_request *req, void *ctx)
{
	agent_api *api = ctx;
	api_request r;

	if (strcmp(req->method, "OPTIONS") == 0) {
		/* CORS preflight, answered as the cors package does. */
		reply->status = 204;
		reply->extra_headers[1] = "Access-Control-Allow-Methods: GET,HEAD,PUT,PATCH,POST,DELETE";
		reply->extra_headers[2] = "Access-Control-Allow-Headers: Content-Type, Authorization, X-API-KEY";
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
	api_dispatch(reply, api, &r, api_route_tables);
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
	hc.tls_cert_pem = cfg->tls_cert_pem;
	hc.tls_key_pem = cfg->tls_key_pem;
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
	err = api_v1_new(&api->v1);
	if (!err)
		err = api_verifier_new(&api->verifier, &cfg->sim_trust);
	if (!err && cfg->pccs_url != NULL && cfg->pccs_url[0] != '\0') {
		err = api_verifier_set_pccs(api->verifier, cfg->pccs_url,
		                            cfg->collateral_cache != NULL ? cfg->collateral_cache
		                                                          : AGENT_COLLATERAL_CACHE_DEFAULT,
		                            cfg->pccs_allow_http);
		if (err) {
			api_verifier_free(api->verifier);
			api->verifier = NULL;
		} else {
			agent_log(cfg->log, "Verifier: quotes without collateral get it from the PCCS %s (cached in %s)",
			          cfg->pccs_url,
			          cfg->collateral_cache != NULL ? cfg->collateral_cache : AGENT_COLLATERAL_CACHE_DEFAULT);
		}
	}
	if (err) {
		api_verifier_free(api->verifier);
		api_v1_free(api->v1);
		if (api->token != NULL)
			teeliza_wipe(api->token, api->token_len);
		free(api->token);
		free(api);
		return err;
	}
	api->request_lease_ms = (int64_t)(cfg->request_lease_s != 0 ? cfg->request_lease_s
	                                                            : AGENT_API_DEFAULT_REQUEST_LEASE_S) * 1000;
	err = api_ready_new(&api->ready);
	if (!err)
		err = api_idem_pending_start(&api->pending, cfg->registry->cfg.store, cfg->log, 0);
	if (!err)
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
		api_v1_free(api->v1);
		api_ready_free(api->ready);
		api_idem_pending_stop(api->pending);
		if (api->token != NULL)
			teeliza_wipe(api->token, api->token_len);
		free(api->token);
		free(api);
		return err;
	}
	api->port = http_server_port(api->server);
	agent_log(cfg->log, "REST API bound to %s:%u", api->host, (unsigned)api->port);
	log_limits(cfg, http_server_max_connections(api->server));
	if (api->token == NULL && !http_host_is_loopback(api->host))
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
	/* after the server: its last requests may still hand completions over */
	api_idem_pending_stop(api->pending);
	api_verifier_free(api->verifier);
	api_v1_free(api->v1);
	api_ready_free(api->ready);
	if (api->token != NULL)
		teeliza_wipe(api->token, api->token_len);
	free(api->token);
	free(api);
}
