/*
 * The v1 (elizaOS 1.x) REST API under /api (src/lib/agent/api/api_v1*.c)
 * over real loopback HTTP: its envelopes and status codes for agents
 * (create stopped, start, PATCH validated, stop, delete), sessions (the
 * http and websocket transports, content limits, pagination, expiry
 * answers), channels, memories and logs; bad input of every kind; auth
 * with X-API-KEY on /api only, v1's 401/403/404 bodies; and that the
 * 0.1.x routes answer as before beside it. The model is a fake injected
 * through agent_registry_config ("echo: <text>").
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <cmocka.h>

#include "testutil.h"
#include "agent/api/api_v1.h"
#include "teeliza/agent/api.h"
#include "teeliza/agent/runtime.h"
#include "teeliza/http/http.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* A character the loader accepts today (0.1.x); api_v1_character_load decides the format. */
static const char character_fmt[] =
	"{\"name\":\"%s\",\"modelProvider\":\"openai\",\"bio\":[\"%s is a test agent.\"],"
	"\"lore\":[\"It was written for a unit test.\"],"
	"\"messageExamples\":[[{\"user\":\"{{user1}}\",\"content\":{\"text\":\"hi\"}},"
	"{\"user\":\"%s\",\"content\":{\"text\":\"hello\"}}]],"
	"\"postExamples\":[],\"topics\":[\"testing\"],\"adjectives\":[\"exact\"],\"clients\":[],\"plugins\":[],"
	"\"settings\":{\"secrets\":{\"OPENAI_API_KEY\":\"sk-secret-value\"},\"model\":\"m\"},"
	"\"style\":{\"all\":[\"be brief\"],\"chat\":[\"answer\"],\"post\":[]}}";

static teeliza_err fake_generate(json_t **content, void *ctx, const agent_generate_request *req)
{
	char text[512];

	(void)ctx;
	snprintf(text, sizeof(text), "echo: %.400s", req->user_text);
	*content = json_pack("{s:s, s:s, s:s}", "user", agent_character_name(req->character), "text", text, "action",
	                     "NONE");
	return TEELIZA_OK;
}

struct env {
	agent_store *store;
	agent_registry *reg;
	agent_api *api;
	agent_runtime *alice;
	char base[64];
	char alice_id[AGENT_UUID_BUFSZ];
	FILE *log;
};

static void env_start(struct env *e, const char *token)
{
	agent_registry_config rc;
	agent_api_config ac;
	agent_character *c = NULL;
	teeliza_buf report;
	char text[2048];

	memset(e, 0, sizeof(*e));
	e->log = tmpfile();
	assert_non_null(e->log);
	assert_int_equal(agent_store_sqlite_open(&e->store, ":memory:"), TEELIZA_OK);
	memset(&rc, 0, sizeof(rc));
	rc.store = e->store;
	rc.log = e->log;
	rc.generate = fake_generate;
	rc.seed = 7;
	assert_int_equal(agent_registry_new(&e->reg, &rc), TEELIZA_OK);
	memset(&ac, 0, sizeof(ac));
	ac.registry = e->reg;
	ac.host = "127.0.0.1";
	ac.api_token = token;
	ac.log = e->log;
	assert_int_equal(agent_api_start(&e->api, &ac), TEELIZA_OK);
	snprintf(e->base, sizeof(e->base), "http://127.0.0.1:%u", (unsigned)agent_api_port(e->api));
	snprintf(text, sizeof(text), character_fmt, "Alice Bot", "Alice Bot", "Alice Bot");
	assert_int_equal(agent_character_from_text(&c, &report, text, strlen(text), NULL), TEELIZA_OK);
	teeliza_buf_free(&report);
	assert_int_equal(agent_registry_start(&e->alice, e->reg, c), TEELIZA_OK);
	snprintf(e->alice_id, sizeof(e->alice_id), "%s", agent_runtime_id(e->alice));
}

static void env_stop(struct env *e)
{
	agent_runtime_release(e->alice);
	agent_api_stop(e->api);
	agent_registry_free(e->reg);
	agent_store_close(e->store);
	fclose(e->log);
}

/* One request with an optional header line ("X-API-KEY: t", "Authorization: Bearer t"); the body as JSON. */
static json_t *call(long *status, const struct env *e, const char *method, const char *path, const char *body,
                    const char *header)
{
	char url[512];
	const char *headers[2] = {header, NULL};
	http_request req;
	http_response resp;
	json_t *j;

	snprintf(url, sizeof(url), "%s%s", e->base, path);
	memset(&req, 0, sizeof(req));
	req.method = method;
	req.url = url;
	req.content_type = body != NULL ? "application/json" : NULL;
	req.body = (const uint8_t *)body;
	req.body_len = body != NULL ? strlen(body) : 0;
	req.headers = header != NULL ? headers : NULL;
	req.no_proxy = true;
	req.timeout_ms = 20000;
	if (http_perform(&resp, &req) != TEELIZA_OK)
		fail_msg("%s %s: %s", method, path, teeliza_errmsg());
	*status = resp.status;
	j = resp.body.len > 0 ? json_loadb((const char *)resp.body.data, resp.body.len, 0, NULL) : json_null();
	if (j == NULL)
		fail_msg("%s %s: not JSON: %s", method, path, (const char *)resp.body.data);
	http_response_free(&resp);
	return j;
}

/* The request answers status with v1's error envelope and this code. */
static void expect_fail(const struct env *e, const char *method, const char *path, const char *body, long status,
                        const char *code)
{
	long st;
	json_t *j = call(&st, e, method, path, body, NULL);

	if (st != status || !json_is_false(json_object_get(j, "success")) ||
	    !json_is_string(json_object_get(json_object_get(j, "error"), "message")) ||
	    strcmp(json_string_value(json_object_get(json_object_get(j, "error"), "code")), code) != 0)
		fail_msg("%s %s: got %ld %s, want %ld %s", method, path, st, json_dumps(j, JSON_COMPACT), status, code);
	json_decref(j);
}

/* A sessions-API error: {error:{code, message, timestamp}}, no "success", no stack. */
static void expect_session_fail(const struct env *e, const char *method, const char *path, const char *body,
                                long status, const char *code)
{
	long st;
	json_t *j = call(&st, e, method, path, body, NULL), *err = json_object_get(j, "error");

	if (st != status || json_object_get(j, "success") != NULL ||
	    strcmp(json_string_value(json_object_get(err, "code")), code) != 0 ||
	    !json_is_string(json_object_get(err, "message")) || !json_is_string(json_object_get(err, "timestamp")) ||
	    json_object_get(err, "stack") != NULL)
		fail_msg("%s %s: got %ld %s, want %ld %s", method, path, st, json_dumps(j, JSON_COMPACT), status, code);
	json_decref(j);
}

/* The data of a {success:true, data} reply with this status (new reference). */
static json_t *expect_ok(const struct env *e, const char *method, const char *path, const char *body, long status)
{
	long st;
	json_t *j = call(&st, e, method, path, body, NULL), *data;

	if (st != status || !json_is_true(json_object_get(j, "success")) || json_object_get(j, "data") == NULL)
		fail_msg("%s %s: got %ld %s, want %ld {success:true, data}", method, path, st, json_dumps(j, JSON_COMPACT),
		         status);
	data = json_incref(json_object_get(j, "data"));
	json_decref(j);
	return data;
}

static void test_agents(void **state)
{
	struct env e;
	char path[256], body[4096], ch[2048], id[AGENT_UUID_BUFSZ];
	json_t *d, *agents;
	long st;

	(void)state;
	env_start(&e, NULL);
	d = expect_ok(&e, "GET", "/api/agents", NULL, 200);
	agents = json_object_get(d, "agents");
	assert_int_equal(json_array_size(agents), 1);
	assert_string_equal(json_string_value(json_object_get(json_array_get(agents, 0), "status")), "active");
	assert_string_equal(json_string_value(json_object_get(json_array_get(agents, 0), "bio")),
	                    "Alice Bot is a test agent.");
	json_decref(d);
	snprintf(path, sizeof(path), "/api/agents/%s", e.alice_id);
	d = expect_ok(&e, "GET", path, NULL, 200);
	assert_string_equal(json_string_value(json_object_get(d, "name")), "Alice Bot");
	assert_true(json_is_true(json_object_get(d, "enabled")));
	assert_true(json_is_integer(json_object_get(d, "createdAt")));
	/* no secrets, ever */
	assert_null(json_object_get(json_object_get(d, "settings"), "secrets"));
	json_decref(d);
	/* ids: any case is the same agent; not a UUID is 400; unknown is 404 */
	for (char *p = path; *p; p++)
		*p = (char)(*p >= 'a' && *p <= 'f' ? *p - 32 : *p);
	memcpy(path, "/api/agents/", 12);
	d = expect_ok(&e, "GET", path, NULL, 200);
	json_decref(d);
	expect_fail(&e, "GET", "/api/agents/not-a-uuid", NULL, 400, "INVALID_ID");
	expect_fail(&e, "GET", "/api/agents/00000000-0000-0000-0000-0000000000aa", NULL, 404, "NOT_FOUND");
	expect_fail(&e, "POST", "/api/agents/00000000-0000-0000-0000-0000000000aa/start", NULL, 404, "NOT_FOUND");
	expect_fail(&e, "POST", "/api/agents/00000000-0000-0000-0000-0000000000aa/stop", NULL, 404, "NOT_FOUND");
	expect_fail(&e, "DELETE", "/api/agents/00000000-0000-0000-0000-0000000000aa", NULL, 404, "NOT_FOUND");
	expect_fail(&e, "PATCH", "/api/agents/00000000-0000-0000-0000-0000000000aa", "{\"bio\":\"x\"}", 404,
	            "NOT_FOUND");

	/* create: bad bodies */
	expect_fail(&e, "POST", "/api/agents", "{}", 400, "CREATE_ERROR");
	expect_fail(&e, "POST", "/api/agents", "{\"characterJson\":\"text\"}", 400, "CREATE_ERROR");
	expect_fail(&e, "POST", "/api/agents", "{\"characterJson\":{\"name\":\"x\"}}", 400, "CREATE_ERROR");
	expect_fail(&e, "POST", "/api/agents", "{\"characterPath\":\"/etc/passwd\"}", 400, "CREATE_ERROR");
	expect_fail(&e, "POST", "/api/agents", "{not json", 400, "INVALID_REQUEST");
	/* create: stopped, 201, {id, character} and the Agent's own fields */
	snprintf(ch, sizeof(ch), character_fmt, "Bob Bot", "Bob Bot", "Bob Bot");
	snprintf(body, sizeof(body), "{\"characterJson\":%s}", ch);
	d = expect_ok(&e, "POST", "/api/agents", body, 201);
	snprintf(id, sizeof(id), "%s", json_string_value(json_object_get(d, "id")));
	assert_true(agent_uuid_is_valid(id));
	assert_string_equal(json_string_value(json_object_get(d, "status")), "inactive");
	assert_string_equal(json_string_value(json_object_get(json_object_get(d, "character"), "name")), "Bob Bot");
	assert_null(json_object_get(json_object_get(d, "settings"), "secrets"));
	json_decref(d);
	/* the same again: kept, still 201 */
	d = expect_ok(&e, "POST", "/api/agents", body, 201);
	assert_string_equal(json_string_value(json_object_get(d, "id")), id);
	json_decref(d);
	d = expect_ok(&e, "GET", "/api/agents", NULL, 200);
	assert_int_equal(json_array_size(json_object_get(d, "agents")), 2);
	assert_string_equal(json_string_value(json_object_get(json_array_get(json_object_get(d, "agents"), 1), "status")),
	                    "inactive");
	json_decref(d);
	/* a session needs a running agent */
	snprintf(body, sizeof(body), "{\"agentId\":\"%s\",\"userId\":\"11111111-1111-1111-1111-111111111111\"}", id);
	expect_session_fail(&e, "POST", "/api/messaging/sessions", body, 404, "AGENT_NOT_FOUND");
	snprintf(path, sizeof(path), "/api/agents/%s/start", id);
	d = expect_ok(&e, "POST", path, NULL, 200);
	assert_string_equal(json_string_value(json_object_get(d, "status")), "active");
	json_decref(d);
	d = expect_ok(&e, "POST", path, NULL, 200); /* already running: the same */
	json_decref(d);
	/* PATCH: validated before anything changes */
	snprintf(path, sizeof(path), "/api/agents/%s", id);
	expect_fail(&e, "PATCH", path, "{\"bio\":5}", 400, "UPDATE_ERROR");
	expect_fail(&e, "PATCH", path, "{\"id\":\"00000000-0000-0000-0000-000000000001\"}", 400, "UPDATE_ERROR");
	d = expect_ok(&e, "GET", path, NULL, 200);
	assert_string_equal(json_string_value(json_array_get(json_object_get(d, "bio"), 0)), "Bob Bot is a test agent.");
	json_decref(d);
	d = expect_ok(&e, "PATCH", path, "{\"bio\":[\"changed\"]}", 200);
	assert_string_equal(json_string_value(json_array_get(json_object_get(d, "bio"), 0)), "changed");
	assert_string_equal(json_string_value(json_object_get(d, "status")), "active");
	json_decref(d);
	/* stop: {message} as v1, {status} as api-client's type */
	snprintf(path, sizeof(path), "/api/agents/%s/stop", id);
	d = expect_ok(&e, "POST", path, NULL, 200);
	assert_string_equal(json_string_value(json_object_get(d, "message")), "Agent stopped");
	assert_string_equal(json_string_value(json_object_get(d, "status")), "inactive");
	json_decref(d);
	expect_fail(&e, "POST", path, NULL, 404, "NOT_FOUND"); /* not running */
	snprintf(path, sizeof(path), "/api/agents/%s", id);
	d = expect_ok(&e, "GET", path, NULL, 200); /* still listed, inactive, with the update */
	assert_string_equal(json_string_value(json_object_get(d, "status")), "inactive");
	assert_string_equal(json_string_value(json_array_get(json_object_get(d, "bio"), 0)), "changed");
	json_decref(d);
	d = call(&st, &e, "DELETE", path, NULL, NULL);
	assert_int_equal(st, 204);
	json_decref(d);
	expect_fail(&e, "GET", path, NULL, 404, "NOT_FOUND");
	expect_fail(&e, "DELETE", path, NULL, 404, "NOT_FOUND");
	/* the 0.1.x list is unchanged beside it */
	d = call(&st, &e, "GET", "/agents", NULL, NULL);
	assert_int_equal(st, 200);
	assert_null(json_object_get(d, "success"));
	assert_int_equal(json_array_size(json_object_get(d, "agents")), 1);
	json_decref(d);
	env_stop(&e);
}

/* POST a session for Alice; out: its id and channel. */
static void open_session(char sid[AGENT_UUID_BUFSZ], char channel[AGENT_UUID_BUFSZ], const struct env *e)
{
	char body[256];
	long st;
	json_t *j;

	snprintf(body, sizeof(body),
	         "{\"agentId\":\"%s\",\"userId\":\"11111111-2222-3333-4444-555555555555\",\"metadata\":{\"platform\":"
	         "\"unit\"}}",
	         e->alice_id);
	j = call(&st, e, "POST", "/api/messaging/sessions", body, NULL);
	assert_int_equal(st, 201);
	assert_null(json_object_get(j, "success"));
	snprintf(sid, AGENT_UUID_BUFSZ, "%s", json_string_value(json_object_get(j, "sessionId")));
	snprintf(channel, AGENT_UUID_BUFSZ, "%s", json_string_value(json_object_get(j, "channelId")));
	assert_true(agent_uuid_is_valid(sid) && agent_uuid_is_valid(channel));
	assert_string_equal(json_string_value(json_object_get(json_object_get(j, "metadata"), "platform")), "unit");
	assert_int_equal(json_integer_value(json_object_get(json_object_get(j, "timeoutConfig"), "timeoutMinutes")), 30);
	json_decref(j);
}

static void test_sessions(void **state)
{
	struct env e;
	char sid[AGENT_UUID_BUFSZ], channel[AGENT_UUID_BUFSZ], path[256], body[16384], *p;
	json_t *j, *msgs;
	long st;

	(void)state;
	env_start(&e, NULL);
	expect_session_fail(&e, "POST", "/api/messaging/sessions", "{}", 400, "VALIDATION_ERROR");
	expect_session_fail(&e, "POST", "/api/messaging/sessions", "{\"agentId\":\"x\",\"userId\":\"y\"}", 400,
	                    "VALIDATION_ERROR");
	snprintf(body, sizeof(body),
	         "{\"agentId\":\"%s\",\"userId\":\"11111111-2222-3333-4444-555555555555\",\"metadata\":[1]}", e.alice_id);
	expect_session_fail(&e, "POST", "/api/messaging/sessions", body, 400, "VALIDATION_ERROR");
	/* metadata over 10240 bytes */
	p = body + snprintf(body, sizeof(body),
	                    "{\"agentId\":\"%s\",\"userId\":\"11111111-2222-3333-4444-555555555555\",\"metadata\":{\"a\":\"",
	                    e.alice_id);
	memset(p, 'x', 11000);
	p[11000] = 0;
	strcat(body, "\"}}");
	expect_session_fail(&e, "POST", "/api/messaging/sessions", body, 400, "VALIDATION_ERROR");
	strcpy(p + 6000, "\"}}");
	j = call(&st, &e, "POST", "/api/messaging/sessions", body, NULL);
	assert_int_equal(st, 201); /* 6000 bytes fit */
	json_decref(j);
	open_session(sid, channel, &e);

	snprintf(path, sizeof(path), "/api/messaging/sessions/%s/messages", sid);
	expect_session_fail(&e, "POST", path, "{\"content\":\"\"}", 400, "VALIDATION_ERROR");
	expect_session_fail(&e, "POST", path, "{\"content\":5}", 400, "VALIDATION_ERROR");
	expect_session_fail(&e, "POST", path, "{\"content\":\"hi\",\"transport\":\"pigeon\"}", 400, "VALIDATION_ERROR");
	expect_session_fail(&e, "POST", path, "{\"content\":\"hi\",\"transport\":\"sse\"}", 400, "VALIDATION_ERROR");
	expect_session_fail(&e, "POST", path, "{\"content\":\"hi\",\"metadata\":7}", 400, "VALIDATION_ERROR");
	/* 4000 characters pass, 4001 do not; a character beyond the BMP counts 2, as in JavaScript */
	p = body + snprintf(body, sizeof(body), "{\"content\":\"");
	memset(p, 'a', 4001);
	strcpy(p + 4001, "\",\"transport\":\"http\"}");
	expect_session_fail(&e, "POST", path, body, 400, "VALIDATION_ERROR");
	strcpy(p + 3999, "\xf0\x9f\x98\x80\",\"transport\":\"http\"}"); /* 3999 + 2 */
	expect_session_fail(&e, "POST", path, body, 400, "VALIDATION_ERROR");
	strcpy(p + 3998, "\xf0\x9f\x98\x80\",\"transport\":\"http\"}"); /* 3998 + 2 */
	j = call(&st, &e, "POST", path, body, NULL);
	assert_int_equal(st, 201);
	json_decref(j);

	/* http: the reply is in the answer, top level (v1) and in data (api-client) */
	j = call(&st, &e, "POST", path, "{\"content\":\"hello there\",\"transport\":\"http\",\"metadata\":{\"k\":\"v\"}}",
	         NULL);
	assert_int_equal(st, 201);
	assert_true(json_is_true(json_object_get(j, "success")));
	assert_string_equal(json_string_value(json_object_get(json_object_get(j, "agentResponse"), "text")),
	                    "echo: hello there");
	assert_string_equal(
		json_string_value(json_object_get(json_object_get(json_object_get(j, "data"), "agentResponse"), "text")),
		"echo: hello there");
	assert_string_equal(json_string_value(json_object_get(json_object_get(j, "userMessage"), "content")),
	                    "hello there");
	assert_string_equal(
		json_string_value(json_object_get(json_object_get(json_object_get(j, "userMessage"), "metadata"), "k")), "v");
	assert_string_equal(json_string_value(json_object_get(json_object_get(j, "userMessage"), "authorId")),
	                    "11111111-2222-3333-4444-555555555555");
	assert_true(json_is_boolean(json_object_get(json_object_get(j, "sessionStatus"), "wasRenewed")));
	json_decref(j);
	/* websocket (the default): answered without the reply, which is stored for polling; sync is http */
	j = call(&st, &e, "POST", path, "{\"content\":\"second\"}", NULL);
	assert_int_equal(st, 201);
	assert_null(json_object_get(j, "agentResponse"));
	json_decref(j);
	j = call(&st, &e, "POST", path, "{\"content\":\"third\",\"mode\":\"sync\"}", NULL);
	assert_non_null(json_object_get(j, "agentResponse"));
	json_decref(j);

	/* messages: newest first, the agent's marked, paged */
	j = call(&st, &e, "GET", path, NULL, NULL);
	assert_int_equal(st, 200);
	msgs = json_object_get(j, "messages");
	assert_int_equal(json_array_size(msgs), 8);
	assert_false(json_is_true(json_object_get(j, "hasMore")));
	{
		size_t i, agent = 0;
		json_t *m;

		json_array_foreach(msgs, i, m) {
			if (json_is_true(json_object_get(m, "isAgent"))) {
				agent++;
				assert_string_equal(json_string_value(json_object_get(m, "authorId")), e.alice_id);
			}
			assert_true(json_is_string(json_object_get(m, "createdAt")));
		}
		assert_int_equal(agent, 4);
	}
	json_decref(j);
	snprintf(path, sizeof(path), "/api/messaging/sessions/%s/messages?limit=3", sid);
	j = call(&st, &e, "GET", path, NULL, NULL);
	assert_int_equal(json_array_size(json_object_get(j, "messages")), 3);
	assert_true(json_is_true(json_object_get(j, "hasMore")));
	json_decref(j);
	snprintf(path, sizeof(path), "/api/messaging/sessions/%s/messages?before=yesterday", sid);
	expect_session_fail(&e, "GET", path, NULL, 400, "VALIDATION_ERROR");
	snprintf(path, sizeof(path), "/api/messaging/sessions/%s/messages?after=99999999999999", sid);
	j = call(&st, &e, "GET", path, NULL, NULL);
	assert_int_equal(json_array_size(json_object_get(j, "messages")), 0);
	json_decref(j);

	/* get, list, health */
	snprintf(path, sizeof(path), "/api/messaging/sessions/%s", sid);
	j = call(&st, &e, "GET", path, NULL, NULL);
	assert_int_equal(st, 200);
	assert_string_equal(json_string_value(json_object_get(j, "channelId")), channel);
	assert_true(json_integer_value(json_object_get(j, "renewalCount")) >= 1);
	json_decref(j);
	j = call(&st, &e, "GET", "/api/messaging/sessions", NULL, NULL);
	assert_int_equal(json_integer_value(json_object_get(j, "total")), 2);
	json_decref(j);
	j = call(&st, &e, "GET", "/api/messaging/sessions/health", NULL, NULL);
	assert_string_equal(json_string_value(json_object_get(j, "status")), "healthy");
	json_decref(j);

	/* delete: {success, message} and data for api-client; then gone */
	j = call(&st, &e, "DELETE", path, NULL, NULL);
	assert_int_equal(st, 200);
	assert_true(json_is_true(json_object_get(json_object_get(j, "data"), "success")));
	json_decref(j);
	expect_session_fail(&e, "GET", path, NULL, 404, "SESSION_NOT_FOUND");
	expect_session_fail(&e, "DELETE", path, NULL, 404, "SESSION_NOT_FOUND");
	snprintf(path, sizeof(path), "/api/messaging/sessions/%s/messages", sid);
	expect_session_fail(&e, "POST", path, "{\"content\":\"hi\"}", 404, "SESSION_NOT_FOUND");
	expect_session_fail(&e, "GET", "/api/messaging/sessions/nope/messages", NULL, 404, "SESSION_NOT_FOUND");

	/* the channel and its messages stay */
	snprintf(path, sizeof(path), "/api/messaging/channels/%s/messages?limit=2", channel);
	j = expect_ok(&e, "GET", path, NULL, 200);
	msgs = json_object_get(j, "messages");
	assert_int_equal(json_array_size(msgs), 2);
	assert_string_equal(json_string_value(json_object_get(json_array_get(msgs, 0), "channelId")), channel);
	assert_true(json_is_string(json_object_get(json_array_get(msgs, 0), "sourceType")));
	json_decref(j);
	env_stop(&e);
}

static void test_channels_memories_logs(void **state)
{
	struct env e;
	char sid[AGENT_UUID_BUFSZ], channel[AGENT_UUID_BUFSZ], path[256], body[512];
	json_t *d, *mems, *m;
	long st;
	size_t i, found = 0;

	(void)state;
	env_start(&e, NULL);
	open_session(sid, channel, &e);
	/* a channel post: for the channel's agent; http gives the reply, the api-client body works */
	snprintf(path, sizeof(path), "/api/messaging/channels/%s/messages", channel);
	d = call(&st, &e, "POST", path, "{\"content\":\"from the channel\",\"transport\":\"http\"}", NULL);
	assert_int_equal(st, 201);
	assert_string_equal(json_string_value(json_object_get(json_object_get(d, "agentResponse"), "text")),
	                    "echo: from the channel");
	assert_string_equal(json_string_value(json_object_get(json_object_get(d, "data"), "channelId")), channel);
	json_decref(d);
	expect_fail(&e, "POST", path, "{}", 400, "INVALID_REQUEST");
	expect_fail(&e, "POST", path, "{\"content\":\"x\",\"author_id\":\"bob\"}", 400, "INVALID_ID");
	expect_fail(&e, "POST", "/api/messaging/channels/99999999-9999-9999-9999-999999999999/messages",
	            "{\"content\":\"nobody here\"}", 400, "NO_AGENT");
	snprintf(body, sizeof(body), "{\"content\":\"to alice\",\"metadata\":{\"targetAgentId\":\"%s\"}}", e.alice_id);
	d = expect_ok(&e, "POST", "/api/messaging/channels/99999999-9999-9999-9999-999999999999/messages", body, 201);
	assert_null(json_object_get(d, "agentResponse")); /* websocket: stored only */
	json_decref(d);
	expect_fail(&e, "GET", "/api/messaging/channels/x/messages", NULL, 400, "INVALID_ID");

	/* memories: every channel the agent talks in, newest first, v1's Memory */
	snprintf(path, sizeof(path), "/api/memory/%s/memories", e.alice_id);
	d = expect_ok(&e, "GET", path, NULL, 200);
	mems = json_object_get(d, "memories");
	assert_int_equal(json_array_size(mems), 4);
	json_array_foreach(mems, i, m) {
		const char *t = json_string_value(json_object_get(json_object_get(m, "content"), "text"));

		assert_string_equal(json_string_value(json_object_get(m, "agentId")), e.alice_id);
		assert_string_equal(json_string_value(json_object_get(m, "type")), "messages");
		found += t != NULL && (strcmp(t, "to alice") == 0 || strcmp(t, "echo: from the channel") == 0);
	}
	assert_int_equal(found, 2);
	json_decref(d);
	snprintf(path, sizeof(path), "/api/memory/%s/memories?roomId=%s", e.alice_id, channel);
	d = expect_ok(&e, "GET", path, NULL, 200);
	assert_int_equal(json_array_size(json_object_get(d, "memories")), 2);
	json_decref(d);
	snprintf(path, sizeof(path), "/api/memory/%s/rooms/%s/memories?limit=1", e.alice_id, channel);
	d = expect_ok(&e, "GET", path, NULL, 200);
	assert_int_equal(json_array_size(json_object_get(d, "memories")), 1);
	json_decref(d);
	snprintf(path, sizeof(path), "/api/memory/%s/memories?roomId=nope", e.alice_id);
	expect_fail(&e, "GET", path, NULL, 400, "INVALID_ID");
	snprintf(path, sizeof(path), "/api/memory/%s/rooms/%s/memories?limit=0", e.alice_id, channel);
	expect_fail(&e, "GET", path, NULL, 400, "INVALID_REQUEST");
	expect_fail(&e, "GET", "/api/memory/00000000-0000-0000-0000-0000000000aa/memories", NULL, 404, "NOT_FOUND");
	expect_fail(&e, "GET", "/api/memory/x/memories", NULL, 400, "INVALID_ID");

	/* logs: an array in the envelope */
	snprintf(path, sizeof(path), "/api/agents/%s/logs?count=5", e.alice_id);
	d = expect_ok(&e, "GET", path, NULL, 200);
	assert_true(json_is_array(d));
	json_decref(d);
	snprintf(path, sizeof(path), "/api/agents/%s/logs?count=0", e.alice_id);
	expect_fail(&e, "GET", path, NULL, 400, "INVALID_REQUEST");

	/* ping, the current server, an unknown /api path */
	d = call(&st, &e, "GET", "/api/server/ping", NULL, NULL);
	assert_true(json_is_true(json_object_get(d, "pong")));
	json_decref(d);
	d = expect_ok(&e, "GET", "/api/messaging/message-server/current", NULL, 200);
	assert_string_equal(json_string_value(json_object_get(d, "messageServerId")), API_V1_DEFAULT_SERVER);
	json_decref(d);
	d = call(&st, &e, "GET", "/api/nothing/here", NULL, NULL);
	assert_int_equal(st, 404);
	assert_int_equal(json_integer_value(json_object_get(json_object_get(d, "error"), "code")), 404);
	assert_string_equal(json_string_value(json_object_get(json_object_get(d, "error"), "message")),
	                    "API endpoint not found");
	json_decref(d);
	env_stop(&e);
}

static void test_auth(void **state)
{
	struct env e;
	json_t *d;
	long st;

	(void)state;
	env_start(&e, "s3cret");
	/* v1: X-API-KEY or Bearer; anything else is 401 in v1's envelope */
	d = call(&st, &e, "GET", "/api/agents", NULL, NULL);
	assert_int_equal(st, 401);
	assert_string_equal(json_string_value(json_object_get(json_object_get(d, "error"), "code")), "UNAUTHORIZED");
	json_decref(d);
	d = call(&st, &e, "GET", "/api/agents", NULL, "X-API-KEY: wrong");
	assert_int_equal(st, 401);
	json_decref(d);
	d = call(&st, &e, "GET", "/api/agents", NULL, "X-API-KEY: s3cret");
	assert_int_equal(st, 200);
	json_decref(d);
	d = call(&st, &e, "GET", "/api/agents", NULL, "Authorization: Bearer s3cret");
	assert_int_equal(st, 200);
	json_decref(d);
	/* the token comes before the 404, as on 0.1.x */
	d = call(&st, &e, "GET", "/api/nothing", NULL, NULL);
	assert_int_equal(st, 401);
	json_decref(d);
	d = call(&st, &e, "GET", "/api/nothing", NULL, "X-API-KEY: s3cret");
	assert_int_equal(st, 404);
	json_decref(d);
	/* 0.1.x routes keep their Bearer token only, and their own 401 body */
	d = call(&st, &e, "GET", "/agents", NULL, "X-API-KEY: s3cret");
	assert_int_equal(st, 401);
	assert_true(json_is_string(json_object_get(d, "error")));
	json_decref(d);
	d = call(&st, &e, "GET", "/agents", NULL, "Authorization: Bearer s3cret");
	assert_int_equal(st, 200);
	json_decref(d);
	env_stop(&e);
}

/* Without a token, managing agents over /api answers loopback only: 403 in v1's envelope for others. */
static void test_control_forbidden(void **state)
{
	agent_api api;
	http_server_request h;
	http_server_reply reply;
	api_request r;
	json_t *j;

	(void)state;
	memset(&api, 0, sizeof(api));
	memset(&h, 0, sizeof(h));
	h.method = "POST";
	h.path = "/api/agents";
	h.query = "";
	h.content_type = "";
	h.authorization = "";
	h.api_key = "";
	h.body = (const uint8_t *)"";
	h.remote = "192.0.2.1";
	h.remote_local = false;
	memset(&r, 0, sizeof(r));
	r.http = &h;
	assert_true(api_split_path(&r, h.path));
	memset(&reply, 0, sizeof(reply));
	teeliza_buf_init(&reply.body, 1 << 20);
	api_dispatch(&reply, &api, &r, api_route_tables);
	assert_int_equal(reply.status, 403);
	j = json_loadb((const char *)reply.body.data, reply.body.len, 0, NULL);
	assert_non_null(j);
	assert_string_equal(json_string_value(json_object_get(json_object_get(j, "error"), "code")), "FORBIDDEN");
	json_decref(j);
	teeliza_buf_free(&reply.body);
	free(r.path_copy);
}

static void test_helpers(void **state)
{
	char out[32], id[AGENT_UUID_BUFSZ];

	(void)state;
	api_v1_iso_time(out, 0);
	assert_string_equal(out, "1970-01-01T00:00:00.000Z");
	api_v1_iso_time(out, 1796168718023);
	assert_string_equal(out, "2026-12-01T23:45:18.023Z");
	assert_int_equal(api_v1_js_length(""), 0);
	assert_int_equal(api_v1_js_length("a\xc3\xa9\xe2\x82\xac\xf0\x9f\x98\x80"), 5); /* a é € 😀 */
	assert_true(api_v1_uuid(id, "ABCDEF01-2345-6789-ABCD-EF0123456789"));
	assert_string_equal(id, "abcdef01-2345-6789-abcd-ef0123456789");
	assert_false(api_v1_uuid(id, "abcdef01-2345-6789-abcd-ef012345678"));
	assert_false(api_v1_uuid(id, NULL));
}

/* v1's ELIZA_SERVER_AUTH_TOKEN is the token when API_TOKEN is not set. */
static void test_env_token(void **state)
{
	agent_api_config cfg;

	(void)state;
	unsetenv("API_TOKEN");
	setenv("ELIZA_SERVER_AUTH_TOKEN", "v1-token", 1);
	memset(&cfg, 0, sizeof(cfg));
	assert_int_equal(agent_api_config_from_env(&cfg), TEELIZA_OK);
	assert_non_null(cfg.api_token);
	assert_string_equal(cfg.api_token, "v1-token");
	setenv("API_TOKEN", "api-token", 1);
	memset(&cfg, 0, sizeof(cfg));
	assert_int_equal(agent_api_config_from_env(&cfg), TEELIZA_OK);
	assert_string_equal(cfg.api_token, "api-token");
	unsetenv("API_TOKEN");
	unsetenv("ELIZA_SERVER_AUTH_TOKEN");
	memset(&cfg, 0, sizeof(cfg));
	assert_int_equal(agent_api_config_from_env(&cfg), TEELIZA_OK);
	assert_null(cfg.api_token);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_helpers),
		cmocka_unit_test(test_agents),
		cmocka_unit_test(test_sessions),
		cmocka_unit_test(test_channels_memories_logs),
		cmocka_unit_test(test_auth),
		cmocka_unit_test(test_control_forbidden),
		cmocka_unit_test(test_env_token),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
