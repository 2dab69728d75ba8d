/*
 * The dashboard served by the agent: its embedded page, script and style
 * sheet (GET /dashboard, /dashboard/app.js, /dashboard/style.css) and the
 * JSON it draws (GET /dashboard/api/agents/:id, its /chain (api_dashboard_chain.c),
 * /dashboard/api/logs).
 * docs/DASHBOARD.md describes the views.
 */
#include "agent/api/api_dashboard.h"
#include "agent/api/api_verifier.h"
#include "agent/api/dashboard_assets.h"
#include "agent/runtime/logring.h"

#include <stdint.h>
#include <time.h>

/* Info is asked for on every dashboard load: a tappd that hangs must not hold the page for long. */
#define TAPPD_INFO_TIMEOUT_MS 2000L
#define TAPPD_INFO_MAX ((size_t)1 << 20)

static const char asset_csp[] = "Content-Security-Policy: default-src 'none'; script-src 'self'; style-src 'self'; "
                                "connect-src 'self'; img-src 'self' data:; base-uri 'none'; form-action 'none'";

static void asset(http_server_reply *reply, const char *type, const unsigned char *data, size_t len)
{
	teeliza_buf_reset(&reply->body);
	reply->content_type = type;
	reply->status = teeliza_buf_append(&reply->body, data, len) == TEELIZA_OK ? 200 : 500;
	reply->extra_headers[1] = asset_csp;
	reply->extra_headers[2] = "Cache-Control: no-cache";
	reply->extra_headers[3] = "X-Content-Type-Options: nosniff";
}

static void index_html(http_server_reply *reply, agent_api *api, const api_request *r)
{
	(void)api;
	(void)r;
	asset(reply, "text/html; charset=utf-8", dashboard_index_html, dashboard_index_html_len);
}

static void app_js(http_server_reply *reply, agent_api *api, const api_request *r)
{
	(void)api;
	(void)r;
	asset(reply, "text/javascript; charset=utf-8", dashboard_app_js, dashboard_app_js_len);
}

static void style_css(http_server_reply *reply, agent_api *api, const api_request *r)
{
	(void)api;
	(void)r;
	asset(reply, "text/css; charset=utf-8", dashboard_style_css, dashboard_style_css_len);
}

static json_t *tappd_info_json(agent_tee *tee)
{
	teeliza_buf text;
	json_t *info;

	teeliza_buf_init(&text, TAPPD_INFO_MAX);
	if (agent_tee_tappd_info(&text, tee, TAPPD_INFO_TIMEOUT_MS) != TEELIZA_OK) {
		teeliza_buf_free(&text);
		return json_pack("{s:s}", "error", teeliza_errmsg());
	}
	info = json_loadb((const char *)text.data, text.len, 0, NULL);
	teeliza_buf_free(&text);
	return info != NULL ? info : json_pack("{s:s}", "error", "tappd Info answer is not JSON");
}

static void agent_view(http_server_reply *reply, agent_api *api, const api_request *r)
{
	const char *id = r->param[0];
	agent_tee_wallets tw;
	agent_runtime *rt;
	agent_tee *tee;
	json_t *out, *wallets, *one;
	teeliza_err err;

	rt = agent_registry_find(api->registry, id, true);
	if (rt == NULL) {
		api_reply_error(reply, 404, "Agent not found");
		return;
	}
	tee = agent_runtime_tee(rt);
	/* A separately started teeliza simulator hands out its root, so its quotes get a (simulator-rooted) verdict. */
	if (tee != NULL)
		api_verifier_learn_simulator(api->verifier, tee, api->log, (int64_t)time(NULL));
	wallets = json_array();
	out = json_pack("{s:s, s:s, s:{s:b, s:b}}", "id", agent_runtime_id(rt), "name", agent_runtime_name(rt), "tee",
	                "enabled", tee != NULL, "simulated", tee != NULL && agent_tee_simulated(tee));
	if (out == NULL || wallets == NULL) {
		json_decref(out);
		json_decref(wallets);
		agent_runtime_release(rt);
		api_reply_error(reply, 500, "out of memory");
		return;
	}
	if (tee != NULL) {
		err = agent_tee_wallets_get(&tw, tee);
		if (err) {
			json_object_set_new(out, "walletsError", json_string(teeliza_errmsg()));
		} else {
			json_object_set_new(json_object_get(out, "tee"), "keyScheme", json_string(tw.scheme));
			json_object_set_new(json_object_get(out, "tee"), "api", json_string(tw.api));
			one = api_dashboard_wallet_json(api, rt, &tw.solana_origin, "solana", tw.solana, tw.solana_quote_id);
			if (one != NULL)
				json_array_append_new(wallets, one);
			one = api_dashboard_wallet_json(api, rt, &tw.evm_origin, "evm", tw.evm, tw.evm_quote_id);
			if (one != NULL)
				json_array_append_new(wallets, one);
		}
		json_object_set_new(out, "tappdInfo", tappd_info_json(tee));
	}
	json_object_set_new(out, "wallets", wallets);
	agent_runtime_release(rt);
	api_reply_json(reply, 200, out);
}

static void logs_view(http_server_reply *reply, agent_api *api, const api_request *r)
{
	uint64_t after = 0, max = 200;
	json_t *lines;

	(void)api;
	/* Line numbers are JSON integers: 0..INT64_MAX. */
	if (api_query_u64(&after, NULL, r->http->query, "after", 0, INT64_MAX) != TEELIZA_OK) {
		api_reply_error(reply, 400, "after must be a line number from 0 to 9223372036854775807");
		return;
	}
	if (api_query_u64(&max, NULL, r->http->query, "max", 1, AGENT_LOGRING_LINES) != TEELIZA_OK) {
		api_reply_error(reply, 400, "max must be a number from 1 to 512");
		return;
	}
	if (agent_logring_json(&lines, (uint64_t)after, (size_t)max) != TEELIZA_OK) {
		api_reply_error(reply, 500, "out of memory");
		return;
	}
	api_reply_json(reply, 200, json_pack("{s:o}", "lines", lines));
}

/* The page and its files hold no data: they ask for the token themselves. */
const api_route api_dashboard_routes[] = {
	{API_GET, "/dashboard", API_OPEN, index_html, 0},
	{API_GET, "/dashboard/index.html", API_OPEN, index_html, API_ROUTE_FILE},
	{API_GET, "/dashboard/app.js", API_OPEN, app_js, API_ROUTE_FILE},
	{API_GET, "/dashboard/style.css", API_OPEN, style_css, API_ROUTE_FILE},
	{API_GET, "/dashboard/api/agents/:agentId", API_TOKEN, agent_view, 0},
	{API_GET, "/dashboard/api/agents/:agentId/chain", API_TOKEN, api_dashboard_chain, 0},
	{API_GET, "/dashboard/api/logs", API_TOKEN, logs_view, 0},
	{0, NULL, API_OPEN, NULL, 0},
};
