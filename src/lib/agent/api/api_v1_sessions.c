/*
 * elizaOS 1.x's sessions API (/api/messaging/sessions), the way a v1
 * client chats: a session pairs a running agent and a user in a channel of
 * its own, expires after 30 idle minutes (renewed by each message, at most
 * 12 hours), and is kept in memory as upstream keeps it. Its replies are
 * bare objects and its errors {error:{code, message, timestamp}} as
 * upstream's (without the stack upstream leaks). Where upstream's answer
 * is one @elizaos/api-client cannot read (a send or a delete has
 * "success" but no "data", so the client returns undefined), the answer
 * also carries "data" (docs/API-V1.md).
 */
#include "agent/api/api_v1.h"

#include <string.h>

static void health(http_server_reply *reply, agent_api *api, const api_request *r)
{
	int64_t now = agent_store_now_ms();
	json_t *list = api_v1_session_list(api->v1, now);
	char when[32];

	(void)r;
	api_v1_iso_time(when, now);
	if (list == NULL) {
		api_v1_session_fail(reply, 500, "INTERNAL_ERROR", "out of memory");
		return;
	}
	api_reply_json(reply, 200,
	               json_pack("{s:s, s:O, s:s, s:i, s:I}", "status", "healthy", "activeSessions",
	                         json_object_get(list, "total"), "timestamp", when, "expiringSoon", 0, "uptime",
	                         (json_int_t)((now - api_v1_started_at(api->v1)) / 1000)));
	json_decref(list);
}

static void list_sessions(http_server_reply *reply, agent_api *api, const api_request *r)
{
	json_t *list = api_v1_session_list(api->v1, agent_store_now_ms());

	(void)r;
	if (list == NULL)
		api_v1_session_fail(reply, 500, "INTERNAL_ERROR", "out of memory");
	else
		api_reply_json(reply, 200, list);
}

/* A body field that must be a UUID; false (answered) when missing or malformed. */
static bool body_uuid(char out[AGENT_UUID_BUFSZ], http_server_reply *reply, const json_t *body, const char *field)
{
	char msg[96];

	if (api_v1_uuid(out, json_string_value(json_object_get(body, field))))
		return true;
	snprintf(msg, sizeof(msg), "Invalid UUID format for field '%s'", field);
	api_v1_session_fail(reply, 400, "VALIDATION_ERROR", msg);
	return false;
}

static void create_session(http_server_reply *reply, agent_api *api, const api_request *r)
{
	api_v1_session s;
	const json_t *metadata;
	agent_runtime *rt;
	char *text, msg[160];
	size_t size;
	json_t *info;
	teeliza_err err;

	if (r->body == NULL) {
		api_v1_session_fail(reply, r->body_status, "VALIDATION_ERROR", r->body_error);
		return;
	}
	if (json_object_get(r->body, "agentId") == NULL || json_object_get(r->body, "userId") == NULL) {
		api_v1_session_fail(reply, 400, "VALIDATION_ERROR", "Missing required fields: agentId, userId");
		return;
	}
	memset(&s, 0, sizeof(s));
	if (!body_uuid(s.agent_id, reply, r->body, "agentId") || !body_uuid(s.user_id, reply, r->body, "userId"))
		return;
	metadata = json_object_get(r->body, "metadata");
	if (metadata != NULL && !json_is_null(metadata) && !json_is_object(metadata)) {
		api_v1_session_fail(reply, 400, "VALIDATION_ERROR", "Invalid metadata: must be an object");
		return;
	}
	if (json_is_object(metadata)) {
		text = json_dumps(metadata, JSON_COMPACT);
		size = text != NULL ? strlen(text) : 0;
		free(text);
		if (size > API_V1_MAX_METADATA) {
			api_v1_session_fail(reply, 400, "VALIDATION_ERROR",
			                    "Invalid metadata: Metadata exceeds maximum size of 10240 bytes");
			return;
		}
	}
	rt = agent_registry_find(api->registry, s.agent_id, false);
	if (rt == NULL) {
		snprintf(msg, sizeof(msg), "Agent with ID '%s' not found", s.agent_id);
		api_v1_session_fail(reply, 404, "AGENT_NOT_FOUND", msg);
		return;
	}
	agent_runtime_release(rt);
	if (agent_uuid_random(s.id) != TEELIZA_OK || agent_uuid_random(s.channel_id) != TEELIZA_OK) {
		api_v1_session_fail(reply, 500, "SESSION_CREATION_FAILED", "no random ids");
		return;
	}
	s.metadata = json_is_object(metadata) ? json_deep_copy(metadata) : json_object();
	s.created_at = s.last_activity = agent_store_now_ms();
	s.expires_at = s.created_at + (int64_t)API_V1_SESSION_TIMEOUT_MIN * 60000;
	err = s.metadata == NULL ? TEELIZA_ERR_NOMEM : api_v1_session_add(api->v1, &s);
	if (!err)
		err = api_v1_channel_note(api->v1, s.channel_id, s.agent_id);
	if (err) {
		json_decref(s.metadata);
		api_v1_session_fail(reply, err == TEELIZA_ERR_TOO_LARGE ? 503 : 500, "SESSION_CREATION_FAILED",
		                    teeliza_errmsg());
		return;
	}
	info = api_v1_session_info(&s, s.created_at);
	json_decref(s.metadata);
	if (info != NULL) {
		/* create answers fewer fields than get */
		json_object_del(info, "lastActivity");
		json_object_del(info, "renewalCount");
		json_object_del(info, "timeRemaining");
		json_object_del(info, "isNearExpiration");
	}
	api_reply_json(reply, info != NULL ? 201 : 500, info);
}

/* The session in the path, renewed or not; false (answered 404 or 410) when it cannot be used. */
static bool path_session(api_v1_session *s, bool *renewed, http_server_reply *reply, agent_api *api,
                         const api_request *r, bool renew)
{
	char id[AGENT_UUID_BUFSZ], msg[128];
	teeliza_err err;

	memset(s, 0, sizeof(*s));
	err = api_v1_uuid(id, r->param[0]) ? api_v1_session_get(s, renewed, api->v1, id, renew) : TEELIZA_ERR_NOT_FOUND;
	if (err == TEELIZA_OK)
		return true;
	api_v1_session_clear(s);
	if (err == TEELIZA_ERR_EXPIRED) {
		snprintf(msg, sizeof(msg), "Session with ID '%s' has expired", id);
		api_v1_session_fail(reply, 410, "SESSION_EXPIRED", msg);
	} else {
		api_v1_session_fail(reply, 404, "SESSION_NOT_FOUND", "Session not found");
	}
	return false;
}

static void get_session(http_server_reply *reply, agent_api *api, const api_request *r)
{
	api_v1_session s;

	if (!path_session(&s, NULL, reply, api, r, false))
		return;
	api_reply_json(reply, 200, api_v1_session_info(&s, agent_store_now_ms()));
	api_v1_session_clear(&s);
}

/* POST …/renew and …/heartbeat: the session, renewed. */
static void renew_session(http_server_reply *reply, agent_api *api, const api_request *r)
{
	api_v1_session s;

	if (!path_session(&s, NULL, reply, api, r, true))
		return;
	api_reply_json(reply, 200, api_v1_session_info(&s, agent_store_now_ms()));
	api_v1_session_clear(&s);
}

static void delete_session(http_server_reply *reply, agent_api *api, const api_request *r)
{
	char id[AGENT_UUID_BUFSZ], msg[96];

	if (!api_v1_uuid(id, r->param[0]) || !api_v1_session_remove(api->v1, id)) {
		api_v1_session_fail(reply, 404, "SESSION_NOT_FOUND", "Session not found");
		return;
	}
	/* the channel and its messages stay, as in v1 */
	snprintf(msg, sizeof(msg), "Session %s deleted successfully", id);
	api_reply_json(reply, 200,
	               json_pack("{s:b, s:s, s:{s:b, s:s}}", "success", 1, "message", msg, "data", "success", 1,
	                         "message", msg));
}

static void send_message(http_server_reply *reply, agent_api *api, const api_request *r)
{
	api_v1_session s;
	api_v1_transport transport;
	const json_t *content, *metadata;
	agent_runtime *rt;
	json_t *user = NULL, *answer = NULL, *status, *body;
	char why[200], expires[32];
	bool renewed;
	teeliza_err err;

	if (r->body == NULL) {
		api_v1_session_fail(reply, r->body_status, "VALIDATION_ERROR", r->body_error);
		return;
	}
	if (!api_v1_parse_transport(&transport, why, sizeof(why), r->body, API_V1_WEBSOCKET)) {
		api_v1_session_fail(reply, 400, "VALIDATION_ERROR", why);
		return;
	}
	content = json_object_get(r->body, "content");
	metadata = json_object_get(r->body, "metadata");
	if (!json_is_string(content)) {
		api_v1_session_fail(reply, 400, "VALIDATION_ERROR", "Invalid content: Invalid message request format");
		return;
	}
	if (json_string_length(content) == 0) {
		api_v1_session_fail(reply, 400, "VALIDATION_ERROR", "Invalid content: Content cannot be empty");
		return;
	}
	if (api_v1_js_length(json_string_value(content)) > API_V1_MAX_CONTENT) {
		api_v1_session_fail(reply, 400, "VALIDATION_ERROR",
		                    "Invalid content: Content exceeds maximum length of 4000 characters");
		return;
	}
	if (metadata != NULL && !json_is_null(metadata) && !json_is_object(metadata)) {
		api_v1_session_fail(reply, 400, "VALIDATION_ERROR", "Invalid metadata: must be an object");
		return;
	}
	if (!path_session(&s, &renewed, reply, api, r, true))
		return;
	rt = agent_registry_find(api->registry, s.agent_id, false);
	if (rt == NULL) {
		api_v1_session_clear(&s);
		api_v1_session_fail(reply, 404, "AGENT_NOT_FOUND", "The session's agent is not running");
		return;
	}
	body = json_deep_copy(s.metadata);
	if (body != NULL) {
		json_object_set_new(body, "sessionId", json_string(s.id));
		if (json_is_object(metadata))
			json_object_update(body, (json_t *)metadata); /* copies its members, changes nothing */
	}
	agent_store_failure_reset(); /* a busy or unreachable database is 503, not 500 */
	err = body == NULL ? teeliza_set_error(TEELIZA_ERR_NOMEM, "out of memory")
	                   : api_v1_chat(&user, &answer, rt, s.channel_id, s.user_id, json_string_value(content), body);
	json_decref(body);
	if (err) {
		agent_log(api->log, "Agent %s: v1 session message failed: %s", agent_runtime_name(rt),
		          teeliza_errmsg()[0] ? teeliza_errmsg() : teeliza_strerror(err));
		agent_runtime_release(rt);
		api_v1_session_clear(&s);
		if (api_store_unavailable(err)) {
			api_v1_session_fail(reply, 503, "SERVICE_UNAVAILABLE", "The database is busy or unreachable; retry shortly");
			api_reply_retry_after(reply);
			return;
		}
		api_v1_session_fail(reply, err == TEELIZA_ERR_TOO_LARGE ? 413 : 500, "MESSAGE_SEND_FAILED",
		                    "Failed to process the message");
		return;
	}
	api_v1_iso_time(expires, s.expires_at);
	status = json_pack("{s:s, s:i, s:b, s:b}", "expiresAt", expires, "renewalCount", (int)s.renewals, "wasRenewed",
	                   renewed, "isNearExpiration",
	                   s.expires_at - agent_store_now_ms() <= (int64_t)API_V1_SESSION_WARNING_MIN * 60000);
	body = json_pack("{s:b, s:o, s:o?}", "success", 1, "userMessage", user, "sessionStatus", status);
	if (body != NULL && transport == API_V1_HTTP)
		json_object_set(body, "agentResponse", answer);
	json_decref(answer);
	/* the same object again as data: what @elizaos/api-client returns to its caller */
	if (body != NULL && json_object_set_new(body, "data", json_deep_copy(body)) != 0) {
		json_decref(body);
		body = NULL;
	}
	api_v1_send_with_receipt(reply, api, rt, r, s.channel_id, body);
	agent_runtime_release(rt);
	api_v1_session_clear(&s);
}

static void get_messages(http_server_reply *reply, agent_api *api, const api_request *r)
{
	api_v1_session s;
	agent_memory_list mems = {0};
	size_t limit, i;
	int64_t before, after;
	bool more;
	json_t *list, *m, *one, *meta;
	const char *author;

	if (!api_v1_page(&limit, &before, &after, reply, r, true))
		return;
	if (!path_session(&s, NULL, reply, api, r, false))
		return;
	list = json_array();
	if (list == NULL ||
	    api_v1_room_messages(&mems, &more, api->registry->cfg.store, s.channel_id, limit, before, after) != TEELIZA_OK) {
		json_decref(list);
		api_v1_session_clear(&s);
		api_v1_session_fail(reply, 500, "INTERNAL_ERROR", "Failed to fetch messages");
		return;
	}
	for (i = 0; i < mems.count; i++) {
		m = api_v1_channel_message(&mems.items[i], s.agent_id);
		author = json_string_value(json_object_get(m, "authorId"));
		meta = json_object_get(m, "metadata");
		one = m == NULL ? NULL
		                : json_pack("{s:O, s:O, s:O, s:b, s:O, s:O}", "id", json_object_get(m, "id"), "content",
		                            json_object_get(m, "content"), "authorId", json_object_get(m, "authorId"),
		                            "isAgent", author != NULL && strcmp(author, s.agent_id) == 0, "createdAt",
		                            json_object_get(m, "createdAt"), "metadata", meta);
		json_decref(m);
		if (one == NULL || json_array_append_new(list, one) != 0) {
			agent_memory_list_free(&mems);
			json_decref(list);
			api_v1_session_clear(&s);
			api_v1_session_fail(reply, 500, "INTERNAL_ERROR", "out of memory");
			return;
		}
	}
	agent_memory_list_free(&mems);
	api_v1_session_clear(&s);
	api_reply_json(reply, 200, json_pack("{s:o, s:b}", "messages", list, "hasMore", more));
}

/* health before :sessionId (a table's order decides within it) */
const api_route api_v1_sessions_routes[] = {
	{API_GET, "/api/messaging/sessions/health", API_TOKEN, health, 0},
	{API_GET, "/api/messaging/sessions", API_TOKEN, list_sessions, 0},
	{API_POST, "/api/messaging/sessions", API_TOKEN, create_session, 0},
	{API_GET, "/api/messaging/sessions/:sessionId", API_TOKEN, get_session, 0},
	{API_DELETE, "/api/messaging/sessions/:sessionId", API_TOKEN, delete_session, 0},
	{API_POST, "/api/messaging/sessions/:sessionId/messages", API_TOKEN, send_message, 0},
	{API_GET, "/api/messaging/sessions/:sessionId/messages", API_TOKEN, get_messages, 0},
	{API_POST, "/api/messaging/sessions/:sessionId/renew", API_TOKEN, renew_session, 0},
	{API_POST, "/api/messaging/sessions/:sessionId/heartbeat", API_TOKEN, renew_session, 0},
	{0, NULL, API_OPEN, NULL, 0},
};
