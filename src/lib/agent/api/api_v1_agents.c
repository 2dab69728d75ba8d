/*
 * elizaOS 1.x's /api/agents routes (@elizaos/server 1.7.2) in its
 * {success, data} envelope: list, get, create (stopped, as v1 does), update
 * (PATCH, validated here where upstream is not), start, stop, delete, and
 * an agent's logs. A running agent is the registry's, whichever API
 * started it; an agent created here and not running is the v1 state's
 * (api_v1_state.c). Where v1's own server answers differently from what
 * @elizaos/api-client's types promise (create, stop), the answer holds both
 * (docs/API-V1.md).
 */
#include "agent/api/api_v1.h"
#include "agent/runtime/logring.h"

#include <string.h>

#define LOGS_DEFAULT_COUNT 100
#define LOGS_MAX_COUNT 512

/* The agent id in the path, lowercased; false (answered 400) when it is not a UUID. */
static bool path_id(char id[AGENT_UUID_BUFSZ], http_server_reply *reply, const api_request *r)
{
	if (api_v1_uuid(id, r->param[0]))
		return true;
	api_v1_fail(reply, 400, "INVALID_ID", "Invalid agent ID format");
	return false;
}

/* v1's list item: {id, name, characterName, bio (the first entry), status, ...}. */
static json_t *list_item(const json_t *agent)
{
	const json_t *bio = json_object_get(agent, "bio");
	const char *first = json_is_string(bio) ? json_string_value(bio) : json_string_value(json_array_get(bio, 0));
	const char *name = json_string_value(json_object_get(agent, "name"));

	return json_pack("{s:O?, s:s?, s:s?, s:s, s:O?, s:O?, s:O?, s:O?}", "id", json_object_get(agent, "id"), "name",
	                 name, "characterName", name, "bio", first != NULL ? first : "", "status",
	                 json_object_get(agent, "status"), "enabled", json_object_get(agent, "enabled"), "createdAt",
	                 json_object_get(agent, "createdAt"), "updatedAt", json_object_get(agent, "updatedAt"));
}

/* The agent id as v1 shows it, running or created: NULL when neither (or out of memory). */
static json_t *agent_view(agent_api *api, const char *id, agent_runtime *rt)
{
	json_t *character = NULL, *out;
	int64_t created = api_v1_started_at(api->v1), updated = created;
	bool created_here = api_v1_agent_get(rt == NULL ? &character : NULL, &created, &updated, api->v1, id) ==
	                    TEELIZA_OK;

	if (rt == NULL && !created_here)
		return NULL;
	out = api_v1_agent_json(character, rt, id, created, updated);
	json_decref(character);
	return out;
}

static void list_agents(http_server_reply *reply, agent_api *api, const api_request *r)
{
	agent_runtime **list = NULL;
	json_t *agents = json_array(), *ids = api_v1_agent_ids(api->v1), *view, *item, *v;
	size_t i, n = 0, k;
	bool failed = agents == NULL || ids == NULL;

	(void)r;
	if (!failed && agent_registry_list(&list, &n, api->registry) != TEELIZA_OK)
		failed = true;
	for (i = 0; !failed && i < n; i++) {
		view = agent_view(api, agent_runtime_id(list[i]), list[i]);
		item = view != NULL ? list_item(view) : NULL;
		json_decref(view);
		failed = item == NULL || json_array_append_new(agents, item) != 0;
	}
	/* then the agents created here that are not running */
	json_array_foreach(ids, k, v) {
		agent_runtime *rt;

		if (failed)
			break;
		rt = agent_registry_find(api->registry, json_string_value(v), false);
		agent_runtime_release(rt);
		if (rt != NULL)
			continue;
		view = agent_view(api, json_string_value(v), NULL);
		if (view == NULL)
			continue; /* deleted meanwhile */
		item = list_item(view);
		json_decref(view);
		failed = item == NULL || json_array_append_new(agents, item) != 0;
	}
	agent_runtime_list_release(list, n);
	json_decref(ids);
	if (failed) {
		json_decref(agents);
		api_v1_fail(reply, 500, "500", "Error retrieving agents");
		return;
	}
	api_v1_ok(reply, 200, json_pack("{s:o}", "agents", agents));
}

static void get_agent(http_server_reply *reply, agent_api *api, const api_request *r)
{
	char id[AGENT_UUID_BUFSZ];
	agent_runtime *rt;
	json_t *view;

	if (!path_id(id, reply, r))
		return;
	rt = agent_registry_find(api->registry, id, false);
	view = agent_view(api, id, rt);
	agent_runtime_release(rt);
	if (view == NULL)
		api_v1_fail(reply, 404, "NOT_FOUND", "Agent not found");
	else
		api_v1_ok(reply, 200, view);
}

/* Is there an agent with this id, running or created here? */
static bool agent_exists(agent_api *api, const char *id)
{
	agent_runtime *rt = agent_registry_find(api->registry, id, false);

	agent_runtime_release(rt);
	return rt != NULL || api_v1_agent_get(NULL, NULL, NULL, api->v1, id) == TEELIZA_OK;
}

static void create_agent(http_server_reply *reply, agent_api *api, const api_request *r)
{
	const json_t *posted;
	agent_character *c = NULL;
	teeliza_buf report;
	char id[AGENT_UUID_BUFSZ];
	json_t *view;
	teeliza_err err;

	if (r->body == NULL) {
		api_v1_fail(reply, r->body_status, "INVALID_REQUEST", r->body_error);
		return;
	}
	if (json_object_get(r->body, "characterPath") != NULL) {
		/* v1 reads any path on the server; a network caller never reaches the filesystem here */
		api_v1_fail(reply, 400, "CREATE_ERROR",
		            "characterPath is not accepted over the network: send the character itself as characterJson");
		return;
	}
	posted = json_object_get(r->body, "characterJson");
	if (posted == NULL)
		posted = json_object_get(r->body, "agent");
	if (!json_is_object(posted)) {
		api_v1_fail(reply, 400, "CREATE_ERROR", "No character configuration provided");
		return;
	}
	err = api_v1_character_load(&c, &report, posted);
	if (err) {
		api_v1_fail(reply, err == TEELIZA_ERR_NOMEM ? 500 : 400, "CREATE_ERROR",
		            report.len > 0 ? (const char *)report.data : teeliza_errmsg());
		teeliza_buf_free(&report);
		return;
	}
	teeliza_buf_free(&report);
	snprintf(id, sizeof(id), "%s", agent_character_id(c));
	agent_character_free(c);
	/* v1 keeps an agent that exists unchanged, and still answers 201 */
	if (!agent_exists(api, id)) {
		err = api_v1_agent_put(api->v1, id, posted, false);
		if (err && err != TEELIZA_ERR_INVALID) {
			api_v1_fail(reply, err == TEELIZA_ERR_TOO_LARGE ? 400 : 500, "CREATE_ERROR", teeliza_errmsg());
			return;
		}
	}
	view = agent_view(api, id, NULL);
	if (view == NULL) {
		agent_runtime *rt = agent_registry_find(api->registry, id, false);

		view = agent_view(api, id, rt);
		agent_runtime_release(rt);
	}
	/* v1 answers {id, character}; api-client's type is the Agent itself: both */
	if (view != NULL && json_object_set_new(view, "character", json_deep_copy(view)) != 0) {
		json_decref(view);
		view = NULL;
	}
	if (view != NULL)
		json_object_del(json_object_get(view, "character"), "character");
	api_v1_ok(reply, 201, view);
}

/*
 * Start c, the model's key check reading what the network brought (posted
 * in 0.1.x shape). An operator's agent enters the /api store without its
 * secrets (stop, PATCH), so its keys can go only where the operator sends
 * them: a network caller who PATCHes an endpoint in must bring its own key.
 * c is taken (freed on failure).
 */
static teeliza_err start_posted(agent_runtime **out, agent_api *api, agent_character *c, const json_t *posted)
{
	json_t *form = NULL;
	teeliza_err err = api_v1_posted_form(&form, c, posted);

	if (err) {
		agent_character_free(c);
		return err;
	}
	err = agent_registry_start_posted(out, api->registry, c, form);
	json_decref(form);
	return err;
}

/* Start the agent created here (character as posted); answered on failure. */
static agent_runtime *start_created(http_server_reply *reply, agent_api *api, const char *id, const char *code)
{
	json_t *posted = NULL;
	agent_character *c = NULL;
	agent_runtime *rt = NULL;
	teeliza_buf report;
	teeliza_err err;

	if (api_v1_agent_get(&posted, NULL, NULL, api->v1, id) != TEELIZA_OK) {
		api_v1_fail(reply, 404, "NOT_FOUND", "Agent not found");
		return NULL;
	}
	err = api_v1_character_load(&c, &report, posted);
	if (!err)
		err = start_posted(&rt, api, c, posted);
	else
		teeliza_set_error(err, "%s", report.len > 0 ? (const char *)report.data : teeliza_errmsg());
	teeliza_buf_free(&report);
	json_decref(posted);
	if (err) {
		/* CONFIG: its settings cannot be used (e.g. an operator's key sent elsewhere) */
		api_v1_fail(reply, err == TEELIZA_ERR_CONFIG || err == TEELIZA_ERR_INVALID ? 400 : 500, code,
		            teeliza_errmsg()[0] ? teeliza_errmsg() : teeliza_strerror(err));
		return NULL;
	}
	return rt;
}

static void start_agent(http_server_reply *reply, agent_api *api, const api_request *r)
{
	char id[AGENT_UUID_BUFSZ];
	agent_runtime *rt;

	if (!path_id(id, reply, r))
		return;
	rt = agent_registry_find(api->registry, id, false);
	if (rt == NULL && (rt = start_created(reply, api, id, "START_ERROR")) == NULL)
		return;
	api_v1_ok(reply, 200,
	          json_pack("{s:s, s:s, s:s}", "id", agent_runtime_id(rt), "name", agent_runtime_name(rt), "status",
	                    "active"));
	agent_runtime_release(rt);
}

static void stop_agent(http_server_reply *reply, agent_api *api, const api_request *r)
{
	char id[AGENT_UUID_BUFSZ], name[256];
	agent_runtime *rt;
	json_t *character;

	if (!path_id(id, reply, r))
		return;
	rt = agent_registry_find(api->registry, id, false);
	if (rt == NULL) {
		api_v1_fail(reply, 404, "NOT_FOUND", "Agent not found");
		return;
	}
	snprintf(name, sizeof(name), "%s", agent_runtime_name(rt));
	/* An operator's agent stopped here stays listed (inactive) and can be started again, as in v1. */
	if (api_v1_agent_get(NULL, NULL, NULL, api->v1, id) != TEELIZA_OK) {
		character = agent_character_to_json(agent_runtime_character(rt), false);
		if (character == NULL || api_v1_agent_put(api->v1, id, character, false) != TEELIZA_OK)
			agent_log(api->log, "Agent %s: stopped, and cannot be started again over /api: %s", name,
			          teeliza_errmsg());
		json_decref(character);
	}
	agent_runtime_release(rt);
	if (agent_registry_stop(api->registry, id) != TEELIZA_OK) {
		api_v1_fail(reply, 404, "NOT_FOUND", "Agent not found");
		return;
	}
	/* v1 answers {message}; api-client's type says {status}: both */
	api_v1_ok(reply, 200,
	          json_pack("{s:s, s:s, s:s, s:s}", "message", "Agent stopped", "id", id, "name", name, "status",
	                    "inactive"));
}

static void delete_agent(http_server_reply *reply, agent_api *api, const api_request *r)
{
	char id[AGENT_UUID_BUFSZ];
	bool stopped, removed;

	if (!path_id(id, reply, r))
		return;
	stopped = agent_registry_stop(api->registry, id) == TEELIZA_OK;
	if (!stopped)
		teeliza_clear_error();
	removed = api_v1_agent_remove(api->v1, id);
	if (!stopped && !removed) {
		api_v1_fail(reply, 404, "NOT_FOUND", "Agent not found");
		return;
	}
	teeliza_buf_reset(&reply->body);
	reply->status = 204;
}

/* PATCH: the fields given replace the character's (v1's shallow update), validated before anything changes. */
static void update_agent(http_server_reply *reply, agent_api *api, const api_request *r)
{
	char id[AGENT_UUID_BUFSZ];
	agent_runtime *rt, *started = NULL;
	json_t *merged = NULL, *view;
	agent_character *c = NULL;
	teeliza_buf report;
	const json_t *new_id;
	teeliza_err err;

	if (!path_id(id, reply, r))
		return;
	if (r->body == NULL) {
		api_v1_fail(reply, r->body_status, "INVALID_REQUEST", r->body_error);
		return;
	}
	new_id = json_object_get(r->body, "id");
	if (new_id != NULL && (!json_is_string(new_id) || strcasecmp(json_string_value(new_id), id) != 0)) {
		api_v1_fail(reply, 400, "UPDATE_ERROR", "id cannot be changed");
		return;
	}
	rt = agent_registry_find(api->registry, id, false);
	if (api_v1_agent_get(&merged, NULL, NULL, api->v1, id) != TEELIZA_OK && rt != NULL)
		merged = agent_character_to_json(agent_runtime_character(rt), false);
	if (merged == NULL) {
		agent_runtime_release(rt);
		api_v1_fail(reply, 404, "NOT_FOUND", "Agent not found");
		return;
	}
	if (json_object_update(merged, r->body) != 0 || json_object_set_new(merged, "id", json_string(id)) != 0) {
		agent_runtime_release(rt);
		json_decref(merged);
		api_v1_fail(reply, 500, "UPDATE_ERROR", "out of memory");
		return;
	}
	err = api_v1_character_load(&c, &report, merged);
	if (err) {
		api_v1_fail(reply, err == TEELIZA_ERR_NOMEM ? 500 : 400, "UPDATE_ERROR",
		            report.len > 0 ? (const char *)report.data : teeliza_errmsg());
		teeliza_buf_free(&report);
		agent_runtime_release(rt);
		json_decref(merged);
		return;
	}
	teeliza_buf_free(&report);
	/* a running agent is replaced by one with the new character (the registry swaps them) */
	if (rt != NULL) {
		err = start_posted(&started, api, c, merged);
		if (err) {
			api_v1_fail(reply, err == TEELIZA_ERR_CONFIG ? 400 : 500, "UPDATE_ERROR",
			            teeliza_errmsg()[0] ? teeliza_errmsg() : teeliza_strerror(err));
			agent_runtime_release(rt);
			json_decref(merged);
			return;
		}
	} else {
		agent_character_free(c);
	}
	agent_runtime_release(rt);
	err = api_v1_agent_put(api->v1, id, merged, true);
	json_decref(merged);
	if (err) {
		agent_runtime_release(started);
		api_v1_fail(reply, 500, "UPDATE_ERROR", teeliza_errmsg());
		return;
	}
	view = agent_view(api, id, started);
	agent_runtime_release(started);
	api_v1_ok(reply, 200, view);
}

/*
 * GET /api/agents/:id/logs: the agent's lines of the process log (the
 * dashboard's ring, redacted), newest first, as v1's log entries. v1 keeps
 * model calls and actions in a table; teeliza logs them as lines.
 */
static void get_logs(http_server_reply *reply, agent_api *api, const api_request *r)
{
	char id[AGENT_UUID_BUFSZ], name[256];
	agent_runtime *rt;
	json_t *lines = NULL, *out, *one, *v;
	uint64_t count = LOGS_DEFAULT_COUNT, offset = 0, skipped = 0;
	const char *line;
	size_t i;

	if (!path_id(id, reply, r))
		return;
	if (api_query_u64(&count, NULL, r->http->query, "count", 1, LOGS_MAX_COUNT) != TEELIZA_OK ||
	    api_query_u64(&offset, NULL, r->http->query, "offset", 0, LOGS_MAX_COUNT) != TEELIZA_OK) {
		api_v1_fail(reply, 400, "INVALID_REQUEST", "count must be 1 to 512 and offset 0 to 512");
		return;
	}
	rt = agent_registry_find(api->registry, id, false);
	if (rt == NULL) {
		api_v1_fail(reply, 404, "NOT_FOUND", "Agent not found");
		return;
	}
	snprintf(name, sizeof(name), "%s", agent_runtime_name(rt));
	agent_runtime_release(rt);
	out = json_array();
	if (out == NULL || agent_logring_json(&lines, 0, 0) != TEELIZA_OK) {
		json_decref(out);
		api_v1_fail(reply, 500, "LOG_ERROR", "Error retrieving agent logs");
		return;
	}
	for (i = json_array_size(lines); i-- > 0 && json_array_size(out) < count;) {
		v = json_array_get(lines, i);
		line = json_string_value(json_object_get(v, "line"));
		if (line == NULL || (strstr(line, id) == NULL && strstr(line, name) == NULL))
			continue;
		if (skipped++ < offset)
			continue;
		one = json_pack("{s:s, s:O, s:O, s:s, s:O, s:{s:s}}", "type", "log", "timestamp", json_object_get(v, "time"),
		                "createdAt", json_object_get(v, "time"), "message", line, "seq", json_object_get(v, "seq"),
		                "body", "message", line);
		if (one == NULL || json_array_append_new(out, one) != 0) {
			json_decref(lines);
			json_decref(out);
			api_v1_fail(reply, 500, "LOG_ERROR", "out of memory");
			return;
		}
	}
	json_decref(lines);
	api_v1_ok(reply, 200, out);
}

const api_route api_v1_agents_routes[] = {
	{API_GET, "/api/agents", API_TOKEN, list_agents, 0},
	{API_POST, "/api/agents", API_CONTROL, create_agent, 0},
	{API_GET, "/api/agents/:agentId", API_TOKEN, get_agent, 0},
	{API_PATCH, "/api/agents/:agentId", API_CONTROL, update_agent, 0},
	{API_DELETE, "/api/agents/:agentId", API_CONTROL, delete_agent, 0},
	{API_POST, "/api/agents/:agentId/start", API_CONTROL, start_agent, 0},
	{API_POST, "/api/agents/:agentId/stop", API_CONTROL, stop_agent, 0},
	{API_GET, "/api/agents/:agentId/logs", API_TOKEN, get_logs, 0},
	{0, NULL, API_OPEN, NULL, 0},
};
