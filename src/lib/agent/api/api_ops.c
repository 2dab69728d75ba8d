/*
 * The API's own routes: Eliza's greetings (GET /, GET /hello), liveness
 * (GET /healthz, no token: for probes) and GET /metrics (Prometheus text).
 */
#include "agent/api/api_route.h"
#include "teeliza/common/metrics.h"

static void welcome(http_server_reply *reply, agent_api *api, const api_request *r)
{
	(void)api;
	(void)r;
	api_reply_text(reply, 200, "Welcome, this is the REST API!");
	reply->content_type = "text/html; charset=utf-8"; /* Express's res.send of a string */
}

static void hello(http_server_reply *reply, agent_api *api, const api_request *r)
{
	(void)api;
	(void)r;
	api_reply_json(reply, 200, json_pack("{s:s}", "message", "Hello World!"));
}

static void healthz(http_server_reply *reply, agent_api *api, const api_request *r)
{
	(void)r;
	api_reply_json(reply, 200,
	               json_pack("{s:s, s:I}", "status", "ok", "agents", (json_int_t)agent_registry_count(api->registry)));
}

static void metrics(http_server_reply *reply, agent_api *api, const api_request *r)
{
	(void)r;
	teeliza_buf_reset(&reply->body);
	reply->content_type = "text/plain; version=0.0.4; charset=utf-8";
	reply->status = 200;
	if (teeliza_metrics_prometheus(&reply->body, agent_registry_count(api->registry)) != TEELIZA_OK) {
		teeliza_buf_reset(&reply->body);
		api_reply_error(reply, 500, "cannot format the metrics");
	}
}

const api_route api_ops_routes[] = {
	{API_GET, "/", API_OPEN, welcome, 0},
	{API_GET, "/hello", API_OPEN, hello, 0},
	{API_GET, "/healthz", API_OPEN, healthz, 0},
	{API_GET, "/metrics", API_TOKEN, metrics, 0},
	{0, NULL, API_OPEN, NULL, 0},
};
