/* Operability routes of the REST API: GET /healthz (liveness, no token) and GET /metrics (Prometheus text). */
#include "agent/api/api_internal.h"
#include "teeliza/common/metrics.h"

void api_route_healthz(http_server_reply *reply, agent_api *api)
{
	api_reply_json(reply, 200,
	               json_pack("{s:s, s:I}", "status", "ok", "agents", (json_int_t)agent_registry_count(api->registry)));
}

void api_route_metrics(http_server_reply *reply, agent_api *api)
{
	teeliza_buf_reset(&reply->body);
	reply->content_type = "text/plain; version=0.0.4; charset=utf-8";
	reply->status = 200;
	if (teeliza_metrics_prometheus(&reply->body, agent_registry_count(api->registry)) != TEELIZA_OK) {
		teeliza_buf_reset(&reply->body);
		api_reply_error(reply, 500, "cannot format the metrics");
	}
}
