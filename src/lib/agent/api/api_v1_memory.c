/*
 * elizaOS 1.x's /api/memory routes over teeliza's store: an agent's
 * memories (one room, ?roomId or ?channelId, or every channel the v1 API
 * knows for it), a room's memories, as v1's Memory objects; and the
 * server's /api/server/ping.
 */
#include "agent/api/api_v1.h"

#include <stdlib.h>
#include <string.h>

#define MEMORIES_PER_ROOM 100u
#define MEMORIES_MAX 1000u

/* v1's Memory: {id, entityId, agentId, roomId, type, content, createdAt (ms), unique, metadata}. */
static json_t *memory_json(const agent_memory *m)
{
	json_t *content = json_loads(m->content != NULL ? m->content : "{}", 0, NULL);

	if (content == NULL)
		content = json_object();
	/* v1's content names the actions as a list */
	if (json_is_string(json_object_get(content, "action")) && json_object_get(content, "actions") == NULL)
		json_object_set_new(content, "actions", json_pack("[O]", json_object_get(content, "action")));
	return json_pack("{s:s?, s:s?, s:s?, s:s?, s:s, s:o, s:I, s:b, s:{s:s}}", "id", m->id, "entityId", m->user_id,
	                 "agentId", m->agent_id, "roomId", m->room_id, "type",
	                 m->type != NULL ? m->type : AGENT_MEMORY_MESSAGES, "content", content, "createdAt",
	                 (json_int_t)m->created_at, "unique", m->unique, "metadata", "type", "message");
}

/* Append the agent's memories of one room to list (newest first, at most max in all). */
static teeliza_err add_room(json_t *list, agent_runtime *rt, const char *room, const char *type, size_t max)
{
	agent_memory_list mems = {0};
	agent_memory_query q;
	teeliza_err err;
	json_t *one;

	memset(&q, 0, sizeof(q));
	q.type = type;
	q.agent_id = agent_runtime_id(rt);
	q.room_id = room;
	q.count = MEMORIES_PER_ROOM;
	q.newest_first = true;
	err = agent_store_get_memories(agent_runtime_store(rt), &mems, &q);
	for (size_t i = 0; !err && i < mems.count && json_array_size(list) < max; i++) {
		one = memory_json(&mems.items[i]);
		if (one == NULL || json_array_append_new(list, one) != 0)
			err = teeliza_set_error(TEELIZA_ERR_NOMEM, "out of memory");
	}
	agent_memory_list_free(&mems);
	return err;
}

static int newest_first(const void *a, const void *b)
{
	json_int_t x = json_integer_value(json_object_get(*(json_t *const *)a, "createdAt"));
	json_int_t y = json_integer_value(json_object_get(*(json_t *const *)b, "createdAt"));

	return x < y ? 1 : x > y ? -1 : 0;
}

/* Sort a list of memories newest first (a stable order for equal times is not promised). */
static json_t *sorted(json_t *list)
{
	size_t n = json_array_size(list), i;
	json_t **items = n > 0 ? calloc(n, sizeof(*items)) : NULL, *out;

	if (n == 0)
		return list;
	out = json_array();
	if (items == NULL || out == NULL) {
		free(items);
		json_decref(out);
		json_decref(list);
		return NULL;
	}
	for (i = 0; i < n; i++)
		items[i] = json_array_get(list, i);
	qsort(items, n, sizeof(*items), newest_first);
	for (i = 0; i < n; i++)
		json_array_append(out, items[i]);
	free(items);
	json_decref(list);
	return out;
}

/* The running agent of the path; NULL when answered (400 or 404). */
static agent_runtime *path_agent(http_server_reply *reply, agent_api *api, const api_request *r)
{
	char id[AGENT_UUID_BUFSZ];
	agent_runtime *rt;

	if (!api_v1_uuid(id, r->param[0])) {
		api_v1_fail(reply, 400, "INVALID_ID", "Invalid agent ID");
		return NULL;
	}
	rt = agent_registry_find(api->registry, id, false);
	if (rt == NULL)
		api_v1_fail(reply, 404, "NOT_FOUND", "Agent not found");
	return rt;
}

static void agent_memories(http_server_reply *reply, agent_api *api, const api_request *r)
{
	char room[AGENT_UUID_BUFSZ], raw[64], type[64];
	const char *room_q, *type_q;
	agent_runtime *rt;
	json_t *list, *rooms = NULL, *v;
	teeliza_err err = TEELIZA_OK;
	size_t i;

	rt = path_agent(reply, api, r);
	if (rt == NULL)
		return;
	type_q = api_query_param(type, sizeof(type), r->http->query, "tableName");
	if (type_q != NULL && strcmp(type_q, AGENT_MEMORY_MESSAGES) != 0) {
		/* teeliza keeps messages only: any other table is empty */
		agent_runtime_release(rt);
		api_v1_ok(reply, 200, json_pack("{s:[]}", "memories"));
		return;
	}
	room_q = api_query_param(raw, sizeof(raw), r->http->query, "roomId");
	if (room_q == NULL)
		room_q = api_query_param(raw, sizeof(raw), r->http->query, "channelId");
	if (room_q != NULL && !api_v1_uuid(room, room_q)) {
		agent_runtime_release(rt);
		api_v1_fail(reply, 400, "INVALID_ID", "Invalid room ID format");
		return;
	}
	list = json_array();
	if (room_q != NULL)
		rooms = json_pack("[s]", room);
	else
		rooms = api_v1_agent_channels(api->v1, agent_runtime_id(rt));
	if (list == NULL || rooms == NULL)
		err = TEELIZA_ERR_NOMEM;
	json_array_foreach(rooms, i, v) {
		if (err)
			break;
		err = add_room(list, rt, json_string_value(v), NULL, MEMORIES_MAX);
	}
	json_decref(rooms);
	if (!err && (list = sorted(list)) == NULL)
		err = TEELIZA_ERR_NOMEM;
	if (err) {
		agent_log(api->log, "GET /api/memory of %s: %s", agent_runtime_name(rt), teeliza_errmsg());
		json_decref(list);
		agent_runtime_release(rt);
		api_v1_fail(reply, 500, "MEMORY_ERROR", "Error retrieving agent memories");
		return;
	}
	agent_runtime_release(rt);
	api_v1_ok(reply, 200, json_pack("{s:o}", "memories", list));
}

static void room_memories(http_server_reply *reply, agent_api *api, const api_request *r)
{
	char room[AGENT_UUID_BUFSZ];
	agent_runtime *rt;
	uint64_t limit = 20;
	json_t *list;

	rt = path_agent(reply, api, r);
	if (rt == NULL)
		return;
	if (!api_v1_uuid(room, r->param[1])) {
		agent_runtime_release(rt);
		api_v1_fail(reply, 400, "INVALID_ID", "Invalid room ID format");
		return;
	}
	if (api_query_u64(&limit, NULL, r->http->query, "limit", 1, MEMORIES_PER_ROOM) != TEELIZA_OK) {
		agent_runtime_release(rt);
		api_v1_fail(reply, 400, "INVALID_REQUEST", "limit must be a number from 1 to 100");
		return;
	}
	list = json_array();
	if (list == NULL || add_room(list, rt, room, NULL, (size_t)limit) != TEELIZA_OK) {
		json_decref(list);
		agent_runtime_release(rt);
		api_v1_fail(reply, 500, "MEMORY_ERROR", "Error retrieving room memories");
		return;
	}
	agent_runtime_release(rt);
	api_v1_ok(reply, 200, json_pack("{s:o}", "memories", list));
}

static void ping(http_server_reply *reply, agent_api *api, const api_request *r)
{
	(void)api;
	(void)r;
	api_reply_json(reply, 200, json_pack("{s:b, s:I}", "pong", 1, "timestamp", (json_int_t)agent_store_now_ms()));
}

const api_route api_v1_memory_routes[] = {
	{API_GET, "/api/memory/:agentId/memories", API_TOKEN, agent_memories, 0},
	{API_GET, "/api/memory/:agentId/rooms/:roomId/memories", API_TOKEN, room_memories, 0},
	{API_GET, "/api/server/ping", API_TOKEN, ping, 0},
	{0, NULL, API_OPEN, NULL, 0},
};
