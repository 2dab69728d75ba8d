/*
 * The routes of Eliza's direct client, with its status codes and bodies
 * (0.1.9 where the versions differ, docs/AGENT.md lists where we differ),
 * and teeliza's GET /agents/:id/attestations/:quoteId.
 */
#include "agent/api/api_internal.h"
#include "teeliza/common/encoding.h"

#include <stdlib.h>
#include <string.h>

static const char invalid_agent_id[] = "Invalid AgentId format. Expected to be a UUID: xxxxxxxx-xxxx-xxxx-xxxx-xxxxxxxxxxxx";

#define MEMORIES_DEFAULT_COUNT 10
#define MEMORIES_MAX_COUNT 1000

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

void api_route_agents(http_server_reply *reply, agent_api *api)
{
	agent_runtime **list = NULL;
	json_t *agents = json_array(), *one;
	size_t i, n = 0;

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

void api_route_agent_get(http_server_reply *reply, agent_api *api, const char *id)
{
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
	c = character_json(rt);
	if (c == NULL)
		api_reply_error(reply, 500, "out of memory");
	else
		api_reply_json(reply, 200, json_pack("{s:s, s:o}", "id", agent_runtime_id(rt), "character", c));
	agent_runtime_release(rt);
}

void api_route_agent_delete(http_server_reply *reply, agent_api *api, const char *id)
{
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

void api_route_agent_stop(http_server_reply *reply, agent_api *api, const char *id)
{
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

void api_route_agent_set(http_server_reply *reply, agent_api *api, const api_request *r, const char *id)
{
	agent_character *c = NULL;
	agent_runtime *rt = NULL;
	teeliza_buf report;
	json_t *cj;
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
	err = agent_registry_start_posted(&rt, api->registry, c, r->body);
	if (err) {
		/* CONFIG: the posted settings cannot be used (e.g. an operator's key sent elsewhere). */
		set_failed(reply, err == TEELIZA_ERR_CONFIG ? 400 : 500,
		           teeliza_errmsg()[0] ? teeliza_errmsg() : teeliza_strerror(err));
		return;
	}
	/* Eliza stops the agent the URL names (none there is fine); only once the new one runs. */
	if (other_id && agent_registry_stop(api->registry, id) != TEELIZA_OK)
		teeliza_clear_error();
	cj = character_json(rt);
	if (cj == NULL)
		api_reply_error(reply, 500, "out of memory");
	else
		api_reply_json(reply, 200, json_pack("{s:s, s:o}", "id", agent_runtime_id(rt), "character", cj));
	agent_runtime_release(rt);
}

/* Eliza's memory shape: {id,userId,agentId,createdAt,content:{text,action,source,url,inReplyTo,attachments},embedding,roomId,unique}. */
static json_t *memory_json(const agent_memory *m)
{
	json_t *stored = json_loads(m->content != NULL ? m->content : "{}", 0, NULL), *content, *emb, *v;
	static const char *const keys[] = {"text", "action", "source", "url", "inReplyTo"};
	size_t i;

	content = json_object();
	emb = json_array();
	if (content == NULL || emb == NULL) {
		json_decref(stored);
		json_decref(content);
		json_decref(emb);
		return NULL;
	}
	for (i = 0; i < sizeof(keys) / sizeof(keys[0]); i++) {
		v = json_object_get(stored, keys[i]);
		if (v != NULL && !json_is_null(v))
			json_object_set(content, keys[i], v);
	}
	v = json_object_get(stored, "attachments");
	json_object_set_new(content, "attachments", json_is_array(v) ? json_incref(v) : json_array());
	for (i = 0; m->embedding != NULL && i < m->embedding_len; i++)
		json_array_append_new(emb, json_real((double)m->embedding[i]));
	json_decref(stored);
	return json_pack("{s:s?, s:s?, s:s?, s:I, s:o, s:o, s:s?, s:b}", "id", m->id, "userId", m->user_id, "agentId",
	                 m->agent_id, "createdAt", (json_int_t)m->created_at, "content", content, "embedding", emb,
	                 "roomId", m->room_id, "unique", m->unique);
}

void api_route_memories(http_server_reply *reply, agent_api *api, const api_request *r, const char *id,
                        const char *room)
{
	char room_id[AGENT_UUID_BUFSZ];
	agent_memory_list mems = {0};
	agent_memory_query q;
	agent_runtime *rt;
	json_t *list, *one;
	uint64_t count = MEMORIES_DEFAULT_COUNT;
	size_t i;

	rt = agent_registry_find(api->registry, id, true);
	if (rt == NULL) {
		api_reply_text(reply, 404, "Agent not found");
		return;
	}
	/* 0.1.9 clients send the room's UUID, 0.1.7 clients the string it came from. */
	if (agent_uuid_is_valid(room))
		snprintf(room_id, sizeof(room_id), "%s", room);
	else if (agent_uuid_from_string(room_id, room) != TEELIZA_OK) {
		agent_runtime_release(rt);
		api_reply_error(reply, 500, "Failed to fetch memories");
		return;
	}
	if (api_query_u64(&count, NULL, r->http->query, "count", 1, MEMORIES_MAX_COUNT) != TEELIZA_OK) {
		agent_runtime_release(rt);
		api_reply_error(reply, 400, "count must be a number from 1 to 1000");
		return;
	}
	memset(&q, 0, sizeof(q));
	q.agent_id = agent_runtime_id(rt);
	q.room_id = room_id;
	q.count = count;
	q.unique_only = true;
	q.newest_first = true;
	q.with_embedding = true;
	list = json_array();
	if (list == NULL || agent_store_get_memories(agent_runtime_store(rt), &mems, &q) != TEELIZA_OK) {
		agent_log(api->log, "GET memories of %s: %s", agent_runtime_name(rt), teeliza_errmsg());
		json_decref(list);
		agent_runtime_release(rt);
		api_reply_error(reply, 500, "Failed to fetch memories");
		return;
	}
	for (i = 0; i < mems.count; i++) {
		one = memory_json(&mems.items[i]);
		if (one == NULL || json_array_append_new(list, one) != 0) {
			agent_memory_list_free(&mems);
			json_decref(list);
			agent_runtime_release(rt);
			api_reply_error(reply, 500, "Failed to fetch memories");
			return;
		}
	}
	agent_memory_list_free(&mems);
	api_reply_json(reply, 200,
	               json_pack("{s:s, s:s, s:o}", "agentId", agent_runtime_id(rt), "roomId", room_id, "memories", list));
	agent_runtime_release(rt);
}

static void attestation_reply(http_server_reply *reply, const agent_attestation *a, const char *format)
{
	json_t *j;
	char *hex;

	if (format != NULL && strcmp(format, "bin") == 0) {
		teeliza_buf_reset(&reply->body);
		reply->content_type = "application/octet-stream";
		reply->status = teeliza_buf_append(&reply->body, a->quote, a->quote_len) == TEELIZA_OK ? 200 : 500;
		return;
	}
	hex = malloc(2 * a->quote_len + 3);
	if (hex == NULL) {
		api_reply_error(reply, 500, "out of memory");
		return;
	}
	hex[0] = '0';
	hex[1] = 'x';
	teeliza_hex_encode(hex + 2, a->quote, a->quote_len);
	if (format != NULL && strcmp(format, "hex") == 0) {
		api_reply_text(reply, 200, hex);
		reply->content_type = "text/plain; charset=utf-8";
		free(hex);
		return;
	}
	j = json_pack("{s:s, s:s, s:I, s:s?, s:s, s:s?}", "id", a->id, "agentId", a->agent_id, "createdAt",
	              (json_int_t)a->created_at, "reportData", a->report_data_json, "quote", hex, "eventLog",
	              a->event_log);
	free(hex);
	if (j == NULL)
		api_reply_error(reply, 500, "out of memory");
	else
		api_reply_json(reply, 200, j);
}

void api_route_attestation(http_server_reply *reply, agent_api *api, const api_request *r, const char *id,
                           const char *quote_id)
{
	char format[8];
	agent_attestation a;
	agent_runtime *rt;
	teeliza_err err;

	rt = agent_registry_find(api->registry, id, true);
	if (rt == NULL) {
		api_reply_error(reply, 404, "Agent not found");
		return;
	}
	if (!agent_uuid_is_valid(quote_id)) {
		agent_runtime_release(rt);
		api_reply_error(reply, 404, "Attestation not found");
		return;
	}
	memset(&a, 0, sizeof(a));
	err = agent_store_get_attestation(agent_runtime_store(rt), &a, quote_id);
	if (err == TEELIZA_ERR_NOT_FOUND || (!err && (a.agent_id == NULL || strcmp(a.agent_id, agent_runtime_id(rt)) != 0)))
		api_reply_error(reply, 404, "Attestation not found");
	else if (err)
		api_reply_error(reply, 500, "Failed to fetch the attestation");
	else
		attestation_reply(reply, &a, api_query_param(format, sizeof(format), r->http->query, "format"));
	agent_attestation_clear(&a);
	agent_runtime_release(rt);
}

/* A body field as a string: strings as they are, numbers as JS prints them, anything else NULL. */
static const char *field_text(char *tmp, size_t tmp_len, const json_t *body, const char *name)
{
	const json_t *v = json_object_get(body, name);

	if (json_is_string(v))
		return json_string_value(v);
	if (json_is_integer(v)) {
		snprintf(tmp, tmp_len, "%lld", (long long)json_integer_value(v));
		return tmp;
	}
	if (json_is_real(v)) {
		snprintf(tmp, tmp_len, "%.17g", json_real_value(v));
		return tmp;
	}
	return NULL;
}

void api_route_message(http_server_reply *reply, agent_api *api, const api_request *r, const char *agent_ref)
{
	char user_id[AGENT_UUID_BUFSZ], room_id[AGENT_UUID_BUFSZ], t1[32], t2[32], why[200];
	const char *user, *room;
	agent_message_in in;
	agent_runtime *rt;
	json_t *out = NULL, *attachments;
	const json_t *text;
	teeliza_err err;

	rt = agent_registry_find(api->registry, agent_ref, true);
	if (rt == NULL) {
		api_reply_text(reply, 404, "Agent not found");
		return;
	}
	if (r->body == NULL) {
		agent_runtime_release(rt);
		api_reply_error(reply, r->body_status, r->body_error);
		return;
	}
	text = json_object_get(r->body, "text");
	if (text != NULL && !json_is_string(text) && !json_is_null(text)) {
		agent_runtime_release(rt);
		api_reply_error(reply, 400, "text must be a string");
		return;
	}
	attachments = api_message_attachments(why, sizeof(why), r);
	if (attachments == NULL) {
		agent_runtime_release(rt);
		api_reply_error(reply, strcmp(why, "out of memory") == 0 ? 500 : 400, why);
		return;
	}
	user = field_text(t1, sizeof(t1), r->body, "userId");
	room = field_text(t2, sizeof(t2), r->body, "roomId");
	err = agent_uuid_user(user_id, user);
	if (!err)
		err = agent_uuid_room(room_id, room, agent_ref);
	memset(&in, 0, sizeof(in));
	in.text = json_string_value(text);
	in.user_id = user_id;
	in.room_id = room_id;
	in.user_name = json_string_value(json_object_get(r->body, "userName"));
	in.name = json_string_value(json_object_get(r->body, "name"));
	in.source = "direct";
	in.attachments = attachments;
	if (!err)
		err = agent_runtime_message(&out, rt, &in);
	json_decref(attachments);
	if (err == TEELIZA_ERR_NOT_FOUND) {
		api_reply_text(reply, 404, "Agent not found");
	} else if (err == TEELIZA_ERR_TOO_LARGE) {
		api_reply_error(reply, 413, teeliza_errmsg());
	} else if (err) {
		agent_log(api->log, "Agent %s: message failed: %s", agent_runtime_name(rt),
		          teeliza_errmsg()[0] ? teeliza_errmsg() : teeliza_strerror(err));
		api_reply_json(reply, 500, json_pack("{s:s, s:s}", "error", "No response from generateMessageResponse",
		                                     "details", teeliza_errmsg()));
	} else {
		api_reply_json(reply, 200, out);
	}
	agent_runtime_release(rt);
}
