/*
 * Eliza's direct client's agent routes, with its status codes and bodies
 * (0.1.9 where the versions differ; docs/AGENT.md lists where we differ):
 * the list, one agent's character, and replacing (set), stopping and
 * deleting an agent, which without a token answer loopback clients only.
 */
#include "agent/api/api_route.h"
#include "agent/api/api_v1.h"

#include <string.h>

static const char invalid_agent_id[] = "Invalid AgentId format. Expected to be a UUID: xxxxxxxx-xxxx-xxxx-xxxx-xxxxxxxxxxxx";

/* The character as the API shows it: no secrets, with the id and username Eliza's start-up fills in. */
static json_t *character_json(const agent_runtime *rt)
{
	json_t *c = agent_character_to_json(agent_runtime_character(rt), false);

	if (c == NULL)
		return NULL;
	if (!json_is_string(json_object_get(c, "id")))
		json_object_set_new(c, "id", json_string(agent_runtime_id(rt)));
	if (!json_is_string(json_object_get(c, "username")))
		json_object_set_new(c, "username", json_string(agent_character_username(agent_runtime_character(rt))));
	return c;
}

static void list_agents(http_server_reply *reply, agent_api *api, const api_request *r)
{
	agent_runtime **list = NULL;
	json_t *agents = json_array(), *one;
	size_t i, n = 0;

	(void)r;
	if (agents == NULL || agent_registry_list(&list, &n, api->registry) != TEELIZA_OK) {
		json_decref(agents);
		api_reply_error(reply, 500, "out of memory");
		return;
	}
	for (i = 0; i < n; i++) {
		/* clients: the social clients started for the agent; this build starts none. */
		one = json_pack("{s:s, s:s, s:[]}", "id", agent_runtime_id(list[i]), "name", agent_runtime_name(list[i]),
		                "clients");
		if (one == NULL || json_array_append_new(agents, one) != 0) {
			agent_runtime_list_release(list, n);
			json_decref(agents);
			api_reply_error(reply, 500, "out of memory");
			return;
		}
	}
	agent_runtime_list_release(list, n);
	api_reply_json(reply, 200, json_pack("{s:o}", "agents", agents));
}

static void get_agent(http_server_reply *reply, agent_api *api, const api_request *r)
{
	const char *id = r->param[0];
	agent_runtime *rt;
	json_t *c;

	if (!agent_uuid_is_valid(id)) {
		api_reply_error(reply, 400, invalid_agent_id);
		return;
	}
	rt = agent_registry_find(api->registry, id, false);
	if (rt == NULL) {
		api_reply_error(reply, 404, "Agent not found");
		return;
	}
	rt = api_character_sync(api, rt);
	c = character_json(rt);
	if (c == NULL)
		api_reply_error(reply, 500, "out of memory");
	else
		api_reply_json(reply, 200, json_pack("{s:s, s:o}", "id", agent_runtime_id(rt), "character", c));
	agent_runtime_release(rt);
}

static void delete_agent(http_server_reply *reply, agent_api *api, const api_request *r)
{
	const char *id = r->param[0];

	if (!agent_uuid_is_valid(id)) {
		api_reply_error(reply, 400, invalid_agent_id);
		return;
	}
	if (agent_registry_stop(api->registry, id) != TEELIZA_OK) {
		api_reply_error(reply, 404, "Agent not found");
		return;
	}
	teeliza_buf_reset(&reply->body);
	reply->status = 204;
}

static void stop_agent(http_server_reply *reply, agent_api *api, const api_request *r)
{
	const char *id = r->param[0];

	if (agent_registry_stop(api->registry, id) != TEELIZA_OK) {
		api_reply_error(reply, 404, "Agent not found");
		return;
	}
	api_reply_json(reply, 200, json_pack("{s:b}", "success", 1));
}

static void set_failed(http_server_reply *reply, unsigned status, const char *message)
{
	api_reply_json(reply, status, json_pack("{s:b, s:s}", "success", 0, "message", message));
}

static void set_agent(http_server_reply *reply, agent_api *api, const api_request *r)
{
	const char *id = r->param[0];
	agent_character *c = NULL;
	agent_runtime *rt = NULL;
	teeliza_buf report;
	json_t *cj, *posted = NULL;
	bool other_id;
	teeliza_err err;

	if (!agent_uuid_is_valid(id)) {
		api_reply_error(reply, 400, invalid_agent_id);
		return;
	}
	if (r->body == NULL) {
		set_failed(reply, r->body_status, r->body_error);
		return;
	}
	/*
	 * Validate before stopping the old agent (Eliza stops it first, so a
	 * bad character used to take the agent down). No source path: a body
	 * is not a file, so a character with `extends` is refused (400) before
	 * any of its paths is looked at.
	 */
	err = agent_character_from_json(&c, &report, r->body, NULL);
	if (err) {
		set_failed(reply, err == TEELIZA_ERR_NOMEM ? 500 : 400,
		           report.len > 0 ? (const char *)report.data : teeliza_errmsg());
		teeliza_buf_free(&report);
		return;
	}
	teeliza_buf_free(&report);
	/* c's id is read before the registry takes c (and may free it on failure). */
	other_id = strcmp(agent_character_id(c), id) != 0;
	/* the model's key check reads what the caller brought, in 0.1.x shape (a v1 body converted) */
	err = api_v1_posted_form(&posted, c, r->body);
	if (err)
		agent_character_free(c);
	else
		err = agent_registry_start_posted(&rt, api->registry, c, posted);
	json_decref(posted);
	if (err) {
		/* CONFIG: the posted settings cannot be used (e.g. an operator's key sent elsewhere). */
		set_failed(reply, err == TEELIZA_ERR_CONFIG ? 400 : 500,
		           teeliza_errmsg()[0] ? teeliza_errmsg() : teeliza_strerror(err));
		return;
	}
	/* Eliza stops the agent the URL names (none there is fine); only once the new one runs. */
	if (other_id && agent_registry_stop(api->registry, id) != TEELIZA_OK)
		teeliza_clear_error();
	/* the other replicas pick it up on their next request for the agent (api_character_sync.c) */
	api_character_share(api, rt, r->body);
	cj = character_json(rt);
	if (cj == NULL)
		api_reply_error(reply, 500, "out of memory");
	else
		api_reply_json(reply, 200, json_pack("{s:s, s:o}", "id", agent_runtime_id(rt), "character", cj));
	agent_runtime_release(rt);
}

const api_route api_agents_routes[] = {
	{API_GET, "/agents", API_TOKEN, list_agents, 0},
	{API_GET, "/agents/:agentId", API_TOKEN, get_agent, 0},
	{API_DELETE, "/agents/:agentId", API_CONTROL, delete_agent, 0},
	{API_POST, "/agents/:agentId/set", API_CONTROL, set_agent, API_ROUTE_DB},
	{API_POST, "/agents/:agentId/stop", API_CONTROL, stop_agent, 0},
	{0, NULL, API_OPEN, NULL, 0},
};
