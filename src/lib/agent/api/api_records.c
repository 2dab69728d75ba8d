/*
 * What an agent has recorded: Eliza's GET /agents/:agentId/:roomId/memories
 * and teeliza's GET /agents/:agentId/attestations/:quoteId (the quote as
 * JSON, hex or bytes).
 */
#include "agent/api/api_route.h"
#include "teeliza/common/encoding.h"

#include <stdlib.h>
#include <string.h>

#define MEMORIES_DEFAULT_COUNT 10
#define MEMORIES_MAX_COUNT 1000

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

static void get_memories(http_server_reply *reply, agent_api *api, const api_request *r)
{
	const char *id = r->param[0], *room = r->param[1];
	char room_id[AGENT_UUID_BUFSZ];
	agent_memory_list mems = {0};
	agent_memory_query q;
	agent_runtime *rt;
	json_t *list, *one;
	uint64_t count = MEMORIES_DEFAULT_COUNT;
	size_t i;
	teeliza_err err;
	bool busy;

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
	agent_store_failure_reset();
	err = list == NULL ? teeliza_set_error(TEELIZA_ERR_NOMEM, "out of memory")
	                   : agent_store_get_memories(agent_runtime_store(rt), &mems, &q);
	if (err) {
		agent_log(api->log, "GET memories of %s: %s", agent_runtime_name(rt), teeliza_errmsg());
		json_decref(list);
		agent_runtime_release(rt);
		/* Eliza's words either way; a database that is busy or gone is worth a retry */
		busy = api_store_unavailable(err);
		api_reply_error(reply, busy ? 503 : 500, "Failed to fetch memories");
		if (busy)
			api_reply_retry_after(reply);
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
	j = json_pack("{s:s, s:s, s:I, s:s?, s:s, s:s?, s:s?, s:s?}", "id", a->id, "agentId", a->agent_id, "createdAt",
	              (json_int_t)a->created_at, "reportData", a->report_data_json, "quote", hex, "eventLog",
	              a->event_log, "instanceId", a->instance_id, "bootId", a->boot_id);
	free(hex);
	if (j == NULL)
		api_reply_error(reply, 500, "out of memory");
	else
		api_reply_json(reply, 200, j);
}

static void get_attestation(http_server_reply *reply, agent_api *api, const api_request *r)
{
	const char *id = r->param[0], *quote_id = r->param[1];
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

/* Memories first: a path both match (/agents/:id/attestations/memories) asks for room "attestations". */
const api_route api_records_routes[] = {
	{API_GET, "/agents/:agentId/:roomId/memories", API_TOKEN, get_memories, API_ROUTE_DB},
	{API_GET, "/agents/:agentId/attestations/:quoteId", API_TOKEN, get_attestation, API_ROUTE_DB},
	{API_GET, "/agents/:agentId/receipts/:receiptId", API_TOKEN, api_get_receipt, API_ROUTE_DB},
	{API_GET, "/agents/:agentId/attestation", API_TOKEN, api_get_fresh_attestation, API_ROUTE_DB},
	{0, NULL, API_OPEN, NULL, 0},
};
