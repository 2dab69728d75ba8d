/*
 * The message path of the v1 API and its channel routes. A v1 message goes
 * through the same pipeline as a 0.1.x POST /:agentId/message
 * (agent_runtime_message: the same store, TEE actions, wallet answer and
 * receipt), with the channel as the room. v1's default transport,
 * "websocket", answers at once and delivers the agent's reply over
 * Socket.IO; teeliza serves no Socket.IO, runs the message before it
 * answers and stores the reply in the channel, where a client reads it
 * (GET the channel's or session's messages). "http" returns the reply.
 */
#include "agent/api/api_v1.h"

#include <stdlib.h>
#include <string.h>

#define CHANNEL_DEFAULT_LIMIT 50
#define CHANNEL_MAX_LIMIT 100

bool api_v1_parse_transport(api_v1_transport *out, char *why, size_t why_len, const json_t *body,
                            api_v1_transport dflt)
{
	const json_t *t = json_object_get(body, "transport");
	const char *s;

	if (t == NULL || json_is_null(t))
		t = json_object_get(body, "mode"); /* the legacy name */
	*out = dflt;
	if (t == NULL || json_is_null(t))
		return true;
	s = json_string_value(t);
	if (s != NULL && (strcmp(s, "http") == 0 || strcmp(s, "sync") == 0)) {
		*out = API_V1_HTTP;
		return true;
	}
	if (s != NULL && strcmp(s, "websocket") == 0) {
		*out = API_V1_WEBSOCKET;
		return true;
	}
	if (s != NULL && (strcmp(s, "sse") == 0 || strcmp(s, "stream") == 0))
		snprintf(why, why_len, "Invalid content: transport \"%s\" (Server-Sent Events) is not served by teeliza; "
		                       "use \"http\"", s);
	else
		snprintf(why, why_len, "Invalid content: Invalid transport. Must be one of: http, websocket, sync");
	return false;
}

/* The stored user message this chat just made: the newest of user_id in the room with this text. */
static void find_user_message(char id[AGENT_UUID_BUFSZ], int64_t *created_at, agent_runtime *rt, const char *room,
                              const char *user_id, const char *text)
{
	agent_memory_list mems = {0};
	agent_memory_query q;
	json_t *content;
	size_t i;

	memset(&q, 0, sizeof(q));
	q.room_id = room;
	q.agent_id = agent_runtime_id(rt);
	q.count = 8;
	q.newest_first = true;
	if (agent_store_get_memories(agent_runtime_store(rt), &mems, &q) == TEELIZA_OK) {
		for (i = 0; i < mems.count; i++) {
			if (mems.items[i].user_id == NULL || strcmp(mems.items[i].user_id, user_id) != 0)
				continue;
			content = json_loads(mems.items[i].content != NULL ? mems.items[i].content : "{}", 0, NULL);
			if (content != NULL && json_is_string(json_object_get(content, "text")) &&
			    strcmp(json_string_value(json_object_get(content, "text")), text) == 0) {
				snprintf(id, AGENT_UUID_BUFSZ, "%s", mems.items[i].id);
				*created_at = mems.items[i].created_at;
				json_decref(content);
				break;
			}
			json_decref(content);
		}
		agent_memory_list_free(&mems);
	} else {
		teeliza_clear_error();
	}
}

/* v1's responseContent from teeliza's reply array ([response], [response, callback] or [callback]). */
static json_t *agent_response(const json_t *out, const char *in_reply_to)
{
	size_t n = json_array_size(out);
	const json_t *first, *last;
	const char *action;
	json_t *r;

	if (n == 0)
		return json_null(); /* the agent chose not to answer */
	first = json_array_get(out, 0);
	last = json_array_get(out, n - 1);
	action = json_string_value(json_object_get(first, "action"));
	r = json_pack("{s:O, s:[s], s:s, s:s}", "text",
	              json_is_string(json_object_get(last, "text")) ? json_object_get(last, "text")
	                                                            : json_object_get(first, "text"),
	              "actions", action != NULL ? action : "NONE", "inReplyTo", in_reply_to, "source", "teeliza");
	if (r == NULL)
		return NULL;
	if (json_is_string(json_object_get(first, "thought")))
		json_object_set(r, "thought", json_object_get(first, "thought"));
	/* as v1 puts the last action callback's content there */
	if (n > 1)
		json_object_set(r, "actionCallbacks", (json_t *)last);
	return r;
}

teeliza_err api_v1_chat(json_t **user_message, json_t **agent_response_out, agent_runtime *rt, const char *channel_id,
                        const char *user_id, const char *text, const json_t *metadata)
{
	char msg_id[AGENT_UUID_BUFSZ] = "", when[32];
	int64_t created_at = agent_store_now_ms();
	agent_message_in in;
	json_t *out = NULL;
	teeliza_err err;

	*user_message = *agent_response_out = NULL;
	memset(&in, 0, sizeof(in));
	in.text = text;
	in.user_id = user_id;
	in.room_id = channel_id;
	in.source = "api";
	err = agent_runtime_message(&out, rt, &in);
	if (err)
		return err;
	find_user_message(msg_id, &created_at, rt, channel_id, user_id, text);
	if (msg_id[0] == 0 && agent_uuid_random(msg_id) != TEELIZA_OK) {
		json_decref(out);
		return teeliza_set_error(TEELIZA_ERR_INTERNAL, "no random id");
	}
	api_v1_iso_time(when, created_at);
	*user_message = json_pack("{s:s, s:s, s:s, s:s, s:o}", "id", msg_id, "content", text, "authorId", user_id,
	                          "createdAt", when, "metadata",
	                          metadata != NULL ? json_deep_copy(metadata) : json_object());
	*agent_response_out = agent_response(out, msg_id);
	json_decref(out);
	if (*user_message == NULL || *agent_response_out == NULL) {
		json_decref(*user_message);
		json_decref(*agent_response_out);
		*user_message = *agent_response_out = NULL;
		return teeliza_set_error(TEELIZA_ERR_NOMEM, "out of memory");
	}
	return TEELIZA_OK;
}

void api_v1_send_with_receipt(http_server_reply *reply, agent_api *api, agent_runtime *rt, const api_request *r,
                              const char *room_id, json_t *body)
{
	if (body == NULL) {
		api_v1_fail(reply, 500, "INTERNAL_ERROR", "out of memory");
		return;
	}
	api_send_with_receipt_status(reply, api, rt, r, room_id, body, 201);
}

/* A stored message as v1's channel Message. */
static json_t *channel_message(const agent_memory *m, const char *agent_id)
{
	json_t *content = json_loads(m->content != NULL ? m->content : "{}", 0, NULL), *meta, *out;
	const char *text, *action;
	char when[32];
	bool from_agent = m->user_id != NULL && agent_id != NULL && strcmp(m->user_id, agent_id) == 0;

	if (m->agent_id != NULL && m->user_id != NULL && strcmp(m->user_id, m->agent_id) == 0)
		from_agent = true;
	if (content == NULL)
		content = json_object();
	text = json_string_value(json_object_get(content, "text"));
	action = json_string_value(json_object_get(content, "action"));
	meta = json_object();
	if (meta != NULL && action != NULL)
		json_object_set_new(meta, "actions", json_pack("[s]", action));
	if (meta != NULL && json_is_string(json_object_get(content, "thought")))
		json_object_set(meta, "thought", json_object_get(content, "thought"));
	api_v1_iso_time(when, m->created_at);
	out = json_pack("{s:s?, s:s?, s:s?, s:s, s:O, s:s, s:s, s:s, s:s, s:I, s:I, s:o?}", "id", m->id, "channelId",
	                m->room_id, "authorId", m->user_id, "content", text != NULL ? text : "", "rawMessage", content,
	                "sourceType", from_agent ? "agent_response" : "user", "createdAt", when, "updatedAt", when,
	                "inReplyToRootMessageId", json_string_value(json_object_get(content, "inReplyTo")) != NULL
	                                              ? json_string_value(json_object_get(content, "inReplyTo"))
	                                              : "",
	                "created_at", (json_int_t)m->created_at, "updated_at", (json_int_t)m->created_at, "metadata",
	                meta);
	json_decref(content);
	if (out != NULL && json_string_length(json_object_get(out, "inReplyToRootMessageId")) == 0)
		json_object_del(out, "inReplyToRootMessageId");
	return out;
}

json_t *api_v1_channel_message(const agent_memory *m, const char *agent_id)
{
	return channel_message(m, agent_id);
}

teeliza_err api_v1_room_messages(agent_memory_list *out, bool *has_more, agent_store *store, const char *room,
                                 size_t limit, int64_t before, int64_t after)
{
	agent_memory_query q;
	teeliza_err err;

	memset(&q, 0, sizeof(q));
	q.room_id = room;
	q.count = limit + 1;
	q.newest_first = true;
	q.end = before > 0 ? before - 1 : 0;
	q.start = after > 0 ? after + 1 : 0;
	err = agent_store_get_memories(store, out, &q);
	*has_more = false;
	if (!err && out->count > limit) {
		*has_more = true;
		agent_memory_clear(&out->items[limit]);
		out->count = limit;
	}
	return err;
}

/* ?limit, ?before and ?after as v1 reads them; false (answered) when one is not a number. */
bool api_v1_page(size_t *limit, int64_t *before, int64_t *after, http_server_reply *reply, const api_request *r,
                 bool session_errors)
{
	uint64_t l = CHANNEL_DEFAULT_LIMIT, b = 0, a = 0;
	char raw[32];

	/* v1 clamps limit to 1..100 rather than refusing */
	if (api_query_param(raw, sizeof(raw), r->http->query, "limit") != NULL &&
	    teeliza_parse_u64(&l, raw, 0, UINT64_MAX) != TEELIZA_OK)
		l = CHANNEL_DEFAULT_LIMIT;
	if (l < 1)
		l = 1;
	if (l > CHANNEL_MAX_LIMIT)
		l = CHANNEL_MAX_LIMIT;
	if (api_query_u64(&b, NULL, r->http->query, "before", 0, (uint64_t)INT64_MAX) != TEELIZA_OK ||
	    api_query_u64(&a, NULL, r->http->query, "after", 0, (uint64_t)INT64_MAX) != TEELIZA_OK) {
		teeliza_clear_error();
		if (session_errors)
			api_v1_session_fail(reply, 400, "VALIDATION_ERROR",
			                    "Invalid pagination parameter: before and after must be valid timestamps (ms)");
		else
			api_v1_fail(reply, 400, "INVALID_REQUEST", "before and after must be timestamps (ms)");
		return false;
	}
	*limit = (size_t)l;
	*before = (int64_t)b;
	*after = (int64_t)a;
	return true;
}

static void get_channel_messages(http_server_reply *reply, agent_api *api, const api_request *r)
{
	char channel[AGENT_UUID_BUFSZ], agent_id[AGENT_UUID_BUFSZ] = "";
	agent_memory_list mems = {0};
	size_t limit, i;
	int64_t before, after;
	bool more;
	json_t *list, *one;

	if (!api_v1_uuid(channel, r->param[0])) {
		api_v1_fail(reply, 400, "INVALID_ID", "Invalid channelId");
		return;
	}
	if (!api_v1_page(&limit, &before, &after, reply, r, false))
		return;
	(void)api_v1_channel_agent(agent_id, api->v1, channel);
	list = json_array();
	if (list == NULL ||
	    api_v1_room_messages(&mems, &more, api->registry->cfg.store, channel, limit, before, after) != TEELIZA_OK) {
		json_decref(list);
		api_v1_fail(reply, 500, "MESSAGE_ERROR", "Failed to fetch messages");
		return;
	}
	for (i = 0; i < mems.count; i++) {
		one = channel_message(&mems.items[i], agent_id[0] != 0 ? agent_id : NULL);
		if (one == NULL || json_array_append_new(list, one) != 0) {
			agent_memory_list_free(&mems);
			json_decref(list);
			api_v1_fail(reply, 500, "MESSAGE_ERROR", "out of memory");
			return;
		}
	}
	agent_memory_list_free(&mems);
	api_v1_ok(reply, 200, json_pack("{s:o, s:b}", "messages", list, "hasMore", more));
}

/* The agent a channel post is for: metadata.targetAgentId, body agentId, or the channel's own agent. */
static bool post_agent(char agent_id[AGENT_UUID_BUFSZ], agent_api *api, const json_t *body, const char *channel)
{
	const char *s = json_string_value(json_object_get(json_object_get(body, "metadata"), "targetAgentId"));

	if (s == NULL)
		s = json_string_value(json_object_get(body, "agentId"));
	if (s != NULL)
		return api_v1_uuid(agent_id, s);
	return api_v1_channel_agent(agent_id, api->v1, channel);
}

/*
 * POST /api/messaging/channels/:channelId/messages: v1's body
 * {author_id, content, message_server_id, metadata?, transport?} or
 * @elizaos/api-client's {content, metadata} (upstream refuses the latter;
 * here its author is stringToUuid("user:" + channelId), one stable user per
 * channel).
 */
static void post_channel_message(http_server_reply *reply, agent_api *api, const api_request *r)
{
	char channel[AGENT_UUID_BUFSZ], agent_id[AGENT_UUID_BUFSZ], author[AGENT_UUID_BUFSZ], why[200], seed[64];
	const char *content, *author_s;
	const json_t *metadata;
	api_v1_transport transport;
	agent_runtime *rt;
	json_t *user = NULL, *answer = NULL, *data, *body;
	teeliza_err err;

	if (!api_v1_uuid(channel, r->param[0])) {
		api_v1_fail(reply, 400, "INVALID_ID", "Invalid channelId");
		return;
	}
	if (r->body == NULL) {
		api_v1_fail(reply, r->body_status, "INVALID_REQUEST", r->body_error);
		return;
	}
	content = json_string_value(json_object_get(r->body, "content"));
	metadata = json_object_get(r->body, "metadata");
	if (content == NULL || content[0] == 0) {
		api_v1_fail(reply, 400, "INVALID_REQUEST", "Missing required fields: content");
		return;
	}
	if (api_v1_js_length(content) > API_V1_MAX_CONTENT) {
		api_v1_fail(reply, 400, "INVALID_REQUEST", "content exceeds maximum length of 4000 characters");
		return;
	}
	if (metadata != NULL && !json_is_object(metadata)) {
		api_v1_fail(reply, 400, "INVALID_REQUEST", "metadata must be an object");
		return;
	}
	if (!api_v1_parse_transport(&transport, why, sizeof(why), r->body, API_V1_WEBSOCKET)) {
		api_v1_fail(reply, 400, "INVALID_REQUEST", why);
		return;
	}
	author_s = json_string_value(json_object_get(r->body, "author_id"));
	if (author_s != NULL ? !api_v1_uuid(author, author_s)
	                     : (snprintf(seed, sizeof(seed), "user:%s", channel),
	                        agent_uuid_from_string(author, seed) != TEELIZA_OK)) {
		api_v1_fail(reply, 400, "INVALID_ID", "Invalid author_id format");
		return;
	}
	if (!post_agent(agent_id, api, r->body, channel)) {
		api_v1_fail(reply, 400, "NO_AGENT",
		            "No agent found for this channel: name one as metadata.targetAgentId, or open a session");
		return;
	}
	rt = agent_registry_find(api->registry, agent_id, false);
	if (rt == NULL) {
		api_v1_fail(reply, 404, "NOT_FOUND", "Agent not found");
		return;
	}
	if (api_v1_channel_note(api->v1, channel, agent_id) != TEELIZA_OK)
		teeliza_clear_error();
	agent_store_failure_reset(); /* a busy or unreachable database is 503, not 500 */
	err = api_v1_chat(&user, &answer, rt, channel, author, content, metadata);
	if (err) {
		agent_log(api->log, "Agent %s: v1 channel message failed: %s", agent_runtime_name(rt),
		          teeliza_errmsg()[0] ? teeliza_errmsg() : teeliza_strerror(err));
		agent_runtime_release(rt);
		if (api_store_unavailable(err)) {
			api_v1_fail(reply, 503, "SERVICE_UNAVAILABLE", "The database is busy or unreachable; retry shortly");
			api_reply_retry_after(reply);
			return;
		}
		api_v1_fail(reply, err == TEELIZA_ERR_TOO_LARGE ? 413 : err == TEELIZA_ERR_NOT_FOUND ? 404 : 500,
		            "MESSAGE_ERROR", "Failed to process message");
		return;
	}
	json_object_set_new(user, "channelId", json_string(channel));
	json_object_set_new(user, "sourceType", json_string("user"));
	json_object_set(user, "updatedAt", json_object_get(user, "createdAt"));
	/* upstream answers {success, userMessage, agentResponse}; api-client reads data (a Message) */
	data = json_deep_copy(user);
	if (transport == API_V1_HTTP && data != NULL)
		json_object_set(data, "agentResponse", answer);
	body = json_pack("{s:b, s:o, s:o?}", "success", 1, "userMessage", user, "data", data);
	if (body != NULL && transport == API_V1_HTTP)
		json_object_set(body, "agentResponse", answer);
	json_decref(answer);
	api_v1_send_with_receipt(reply, api, rt, r, channel, body);
	agent_runtime_release(rt);
}

static void current_server(http_server_reply *reply, agent_api *api, const api_request *r)
{
	(void)api;
	(void)r;
	api_v1_ok(reply, 200, json_pack("{s:s}", "messageServerId", API_V1_DEFAULT_SERVER));
}

const api_route api_v1_messaging_routes[] = {
	{API_GET, "/api/messaging/channels/:channelId/messages", API_TOKEN, get_channel_messages, 0},
	{API_POST, "/api/messaging/channels/:channelId/messages", API_TOKEN, post_channel_message, 0},
	{API_GET, "/api/messaging/message-server/current", API_TOKEN, current_server, 0},
	{0, NULL, API_OPEN, NULL, 0},
};
