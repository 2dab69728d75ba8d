/*
 * The agent REST API (agent_api_*) over real loopback HTTP: every route of
 * Eliza's direct client with its status codes and bodies, the body formats
 * (JSON, urlencoded, multipart), the body limit, the bearer token, CORS,
 * the attestation route, settings from the environment, the start-up
 * warning, port fallback, 64 concurrent clients, and uploads: multipart
 * messages with files (also chunked, also 50 MiB with a bound on the peak
 * RSS), their limits, and Express's field semantics. Then what hardening
 * added: error replies as plain text or JSON with nosniff and CORS on every
 * reply, the rate limit, and set/stop/delete refused to clients beyond
 * loopback when there is no token (bound to a non-loopback address of this
 * machine when it has one). The model is a fake injected through
 * agent_registry_config, so replies are predictable.
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <cmocka.h>

#include "testutil.h"
#include "teeliza/agent/api.h"
#include "teeliza/agent/runtime.h"
#include "teeliza/http/http.h"

#include <arpa/inet.h>
#include <errno.h>
#include <net/if.h>
#include <netinet/in.h>
#include <poll.h>
#include <pthread.h>
#include <sched.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <unistd.h>

/* ---- fixtures ---- */

static const char character_fmt[] =
	"{\"name\":\"%s\",\"modelProvider\":\"openai\",\"bio\":[\"%s is a test agent.\"],"
	"\"lore\":[\"It was written for a unit test.\"],"
	"\"messageExamples\":[[{\"user\":\"{{user1}}\",\"content\":{\"text\":\"hi\"}},"
	"{\"user\":\"%s\",\"content\":{\"text\":\"hello\"}}]],"
	"\"postExamples\":[],\"topics\":[\"testing\"],\"adjectives\":[\"exact\"],\"clients\":[],\"plugins\":[],"
	"\"settings\":{\"secrets\":{\"OPENAI_API_KEY\":\"sk-secret-value\"},\"model\":\"m\"},"
	"\"style\":{\"all\":[\"be brief\"],\"chat\":[\"answer\"],\"post\":[]}}";

static agent_character *make_character(const char *name)
{
	char text[2048];
	agent_character *c = NULL;
	teeliza_buf report;

	snprintf(text, sizeof(text), character_fmt, name, name, name);
	if (agent_character_from_text(&c, &report, text, strlen(text), NULL) != TEELIZA_OK)
		fail_msg("character: %s", report.data != NULL ? (const char *)report.data : teeliza_errmsg());
	teeliza_buf_free(&report);
	return c;
}

static atomic_int generate_calls;

/*
 * The fake model: "echo: <text>". A message "act:NAME rest" answers with
 * action NAME; "fail" fails like an unreachable model, "slow model" like one
 * that timed out.
 */
static teeliza_err fake_generate(json_t **content, void *ctx, const agent_generate_request *req)
{
	char action[64] = "NONE";
	const char *t = req->user_text;
	char *text;
	size_t n;

	(void)ctx;
	atomic_fetch_add(&generate_calls, 1);
	if (strcmp(t, "fail") == 0)
		return teeliza_set_error(TEELIZA_ERR_CONNECT, "cannot connect to http://127.0.0.1:9/v1");
	if (strcmp(t, "slow model") == 0)
		return teeliza_set_error(TEELIZA_ERR_TIMEOUT, "no complete answer from the model within 1 ms");
	if (strncmp(t, "act:", 4) == 0) {
		n = strcspn(t + 4, " ");
		if (n >= sizeof(action))
			n = sizeof(action) - 1;
		memcpy(action, t + 4, n);
		action[n] = 0;
	}
	text = malloc(strlen(t) + 8);
	assert_non_null(text);
	snprintf(text, strlen(t) + 8, "echo: %s", t);
	*content = json_pack("{s:s, s:s, s:s}", "user", agent_character_name(req->character), "text", text, "action",
	                     action);
	free(text);
	return TEELIZA_OK;
}

struct env {
	agent_store *store;
	agent_registry *reg;
	agent_api *api;
	agent_runtime *alice;   /* agent "Alice Bot" */
	char base[64];
	FILE *log;
};

/*
 * The API on host (an IPv4 address), with a token or none, a body limit, a
 * file limit and a rate limit (0: the defaults).
 */
static void env_start_on(struct env *e, const char *host, const char *token, size_t max_body, size_t max_file,
                         unsigned rate_limit)
{
	agent_registry_config rc;
	agent_api_config ac;

	memset(e, 0, sizeof(*e));
	e->log = tmpfile();
	assert_non_null(e->log);
	assert_int_equal(agent_store_sqlite_open(&e->store, ":memory:"), TEELIZA_OK);
	memset(&rc, 0, sizeof(rc));
	rc.store = e->store;
	rc.log = e->log;
	rc.generate = fake_generate;
	rc.seed = 42;
	assert_int_equal(agent_registry_new(&e->reg, &rc), TEELIZA_OK);
	memset(&ac, 0, sizeof(ac));
	ac.registry = e->reg;
	ac.host = host;
	ac.port = 0;
	ac.api_token = token;
	ac.max_body = max_body;
	ac.max_file = max_file;
	ac.rate_limit = rate_limit;
	ac.log = e->log;
	assert_int_equal(agent_api_start(&e->api, &ac), TEELIZA_OK);
	snprintf(e->base, sizeof(e->base), "http://%s:%u", host, (unsigned)agent_api_port(e->api));
	assert_int_equal(agent_registry_set_public_url(e->reg, e->base), TEELIZA_OK);
	assert_int_equal(agent_registry_start(&e->alice, e->reg, make_character("Alice Bot")), TEELIZA_OK);
}

static void env_start(struct env *e, const char *token, size_t max_body)
{
	env_start_on(e, "127.0.0.1", token, max_body, 0, 0);
}

static void env_start_full(struct env *e, const char *token, size_t max_body, size_t max_file)
{
	env_start_on(e, "127.0.0.1", token, max_body, max_file, 0);
}

static void env_stop(struct env *e)
{
	agent_runtime_release(e->alice);
	agent_api_stop(e->api);
	agent_registry_free(e->reg);
	agent_store_close(e->store);
	fclose(e->log);
}

/* A store test double for readiness: the real back-end, with a ping that fails while db_down is set. */
static atomic_bool db_down;
static agent_store_ops double_ops;
static teeliza_err (*real_ping)(agent_store *s);

static teeliza_err double_ping(agent_store *s)
{
	if (atomic_load(&db_down))
		return teeliza_set_error(TEELIZA_ERR_CONNECT, "test double: the database is down");
	return real_ping(s);
}

/* ... and while db_busy is set, writes that time out as a PostgreSQL pool with no free connection does. */
static atomic_bool db_busy;
static teeliza_err (*real_ensure_connection)(agent_store *s, const agent_account *agent, const agent_account *user,
                                             const char *room_id, const agent_memory *m);
static teeliza_err (*real_create_memory)(agent_store *s, const agent_memory *m);

static teeliza_err busy_error(void)
{
	return teeliza_set_error(TEELIZA_ERR_TIMEOUT, "test double: all 1 PostgreSQL connections stayed busy");
}

static teeliza_err double_ensure_connection(agent_store *s, const agent_account *agent, const agent_account *user,
                                            const char *room_id, const agent_memory *m)
{
	return atomic_load(&db_busy) ? busy_error() : real_ensure_connection(s, agent, user, room_id, m);
}

static teeliza_err (*real_get_memories)(agent_store *s, agent_memory_list *out, const agent_memory_query *q);

static teeliza_err double_get_memories(agent_store *s, agent_memory_list *out, const agent_memory_query *q)
{
	memset(out, 0, sizeof(*out));
	return atomic_load(&db_busy) ? busy_error() : real_get_memories(s, out, q);
}

static teeliza_err double_create_memory(agent_store *s, const agent_memory *m)
{
	return atomic_load(&db_busy) ? busy_error() : real_create_memory(s, m);
}

/* ... and request completions that fail as an unreachable database does while complete_down is set. */
static atomic_bool complete_down;
static atomic_int complete_calls, release_calls;
static teeliza_err (*real_complete)(agent_store *s, const char *agent_id, const char *request_key,
                                    const char *response_json);
static teeliza_err (*real_release)(agent_store *s, const char *agent_id, const char *request_key);

static teeliza_err double_complete(agent_store *s, const char *agent_id, const char *request_key,
                                   const char *response_json)
{
	atomic_fetch_add(&complete_calls, 1);
	if (atomic_load(&complete_down))
		return teeliza_set_error(TEELIZA_ERR_CONNECT, "test double: the database is down");
	return real_complete(s, agent_id, request_key, response_json);
}

static teeliza_err double_release(agent_store *s, const char *agent_id, const char *request_key)
{
	atomic_fetch_add(&release_calls, 1);
	return real_release(s, agent_id, request_key);
}

static void use_store_double(struct env *e)
{
	double_ops = *e->store->ops;
	real_ping = double_ops.ping;
	double_ops.ping = double_ping;
	real_ensure_connection = double_ops.ensure_connection;
	double_ops.ensure_connection = double_ensure_connection;
	real_create_memory = double_ops.create_memory;
	double_ops.create_memory = double_create_memory;
	real_get_memories = double_ops.get_memories;
	double_ops.get_memories = double_get_memories;
	real_complete = double_ops.request_complete;
	double_ops.request_complete = double_complete;
	real_release = double_ops.request_release;
	double_ops.request_release = double_release;
	atomic_store(&complete_down, false);
	atomic_store(&complete_calls, 0);
	atomic_store(&release_calls, 0);
	e->store->ops = &double_ops;
}

static void resp_free(struct test_resp *r)
{
	free(r->body);
	memset(r, 0, sizeof(*r));
}

static struct test_resp request(const struct env *e, const char *method, const char *path, const char *ctype,
                                const char *body, const char *auth)
{
	return test_http_request(e->base, method, path, ctype, body, body != NULL ? strlen(body) : 0, auth, 20000);
}

static json_t *body_json(const struct test_resp *r)
{
	json_error_t err;
	json_t *j = json_loadb(r->body, r->len, JSON_DECODE_ANY, &err);

	if (j == NULL)
		fail_msg("not JSON (%s): %s", err.text, r->body);
	return j;
}

static void expect_json(const struct env *e, const char *method, const char *path, const char *body, long status,
                        const char *expected)
{
	struct test_resp r = request(e, method, path, body != NULL ? "application/json" : NULL, body, NULL);
	json_t *got, *want;

	assert_int_equal(r.status, status);
	assert_non_null(strstr(r.ctype, "application/json"));
	got = body_json(&r);
	want = json_loads(expected, JSON_DECODE_ANY, NULL);
	assert_non_null(want);
	if (!json_equal(got, want))
		fail_msg("%s %s: got %s, want %s", method, path, r.body, expected);
	json_decref(got);
	json_decref(want);
	resp_free(&r);
}

static void expect_text(const struct env *e, const char *method, const char *path, const char *body, long status,
                        const char *expected)
{
	struct test_resp r = request(e, method, path, body != NULL ? "application/json" : NULL, body, NULL);

	assert_int_equal(r.status, status);
	assert_string_equal(r.body, expected);
	assert_null(strstr(r.ctype, "json"));
	resp_free(&r);
}

static void uuid_of(char out[AGENT_UUID_BUFSZ], const char *s)
{
	assert_int_equal(agent_uuid_from_string(out, s), TEELIZA_OK);
}

/* ---- tests ---- */

static void test_root_and_hello(void **state)
{
	struct env e;
	struct test_resp r;

	(void)state;
	env_start(&e, NULL, 0);
	r = request(&e, "GET", "/", NULL, NULL, NULL);
	assert_int_equal(r.status, 200);
	assert_string_equal(r.body, "Welcome, this is the REST API!");
	assert_non_null(strstr(r.ctype, "text/html"));
	resp_free(&r);
	expect_json(&e, "GET", "/hello", NULL, 200, "{\"message\":\"Hello World!\"}");
	expect_text(&e, "GET", "/nope/a/b", NULL, 404, "Cannot GET /nope/a/b");
	expect_text(&e, "PUT", "/agents", NULL, 404, "Cannot PUT /agents");
	env_stop(&e);
}

static void test_agents_list_and_get(void **state)
{
	struct env e;
	char id[AGENT_UUID_BUFSZ], path[128], want[256];
	struct test_resp r;
	json_t *j, *c;

	(void)state;
	env_start(&e, NULL, 0);
	uuid_of(id, "Alice Bot");
	assert_string_equal(agent_runtime_id(e.alice), id);
	snprintf(want, sizeof(want), "{\"agents\":[{\"id\":\"%s\",\"name\":\"Alice Bot\",\"clients\":[]}]}", id);
	expect_json(&e, "GET", "/agents", NULL, 200, want);

	snprintf(path, sizeof(path), "/agents/%s", id);
	r = request(&e, "GET", path, NULL, NULL, NULL);
	assert_int_equal(r.status, 200);
	j = body_json(&r);
	assert_string_equal(json_string_value(json_object_get(j, "id")), id);
	c = json_object_get(j, "character");
	assert_string_equal(json_string_value(json_object_get(c, "name")), "Alice Bot");
	assert_string_equal(json_string_value(json_object_get(c, "id")), id);
	assert_string_equal(json_string_value(json_object_get(c, "username")), "Alice Bot");
	/* secrets removed, the rest of settings kept */
	assert_null(json_object_get(json_object_get(c, "settings"), "secrets"));
	assert_string_equal(json_string_value(json_object_get(json_object_get(c, "settings"), "model")), "m");
	assert_null(strstr(r.body, "sk-secret-value"));
	json_decref(j);
	resp_free(&r);

	expect_json(&e, "GET", "/agents/Alice%20Bot", NULL, 400,
	            "{\"error\":\"Invalid AgentId format. Expected to be a UUID: xxxxxxxx-xxxx-xxxx-xxxx-xxxxxxxxxxxx\"}");
	expect_json(&e, "GET", "/agents/00000000-0000-0000-0000-000000000000", NULL, 404,
	            "{\"error\":\"Agent not found\"}");
	env_stop(&e);
}

static void test_message_routes(void **state)
{
	struct env e;
	char id[AGENT_UUID_BUFSZ], path[128];
	struct test_resp r;

	(void)state;
	env_start(&e, NULL, 0);
	uuid_of(id, "Alice Bot");
	/* by name (any case), by name with %20, by id */
	expect_json(&e, "POST", "/alice%20bot/message", "{\"text\":\"hello\",\"userId\":\"u1\"}", 200,
	            "[{\"user\":\"Alice Bot\",\"text\":\"echo: hello\",\"action\":\"NONE\"}]");
	snprintf(path, sizeof(path), "/%s/message", id);
	expect_json(&e, "POST", path, "{\"text\":\"by id\"}", 200,
	            "[{\"user\":\"Alice Bot\",\"text\":\"echo: by id\",\"action\":\"NONE\"}]");
	/* unknown agent: plain text */
	expect_text(&e, "POST", "/Bob/message", "{\"text\":\"hi\"}", 404, "Agent not found");
	/* no text: [] without calling the model (0.1.9) */
	atomic_store(&generate_calls, 0);
	expect_json(&e, "POST", "/Alice%20Bot/message", "{\"userId\":\"u1\"}", 200, "[]");
	expect_json(&e, "POST", "/Alice%20Bot/message", "{\"text\":\"\"}", 200, "[]");
	expect_json(&e, "POST", "/Alice%20Bot/message", NULL, 200, "[]");
	assert_int_equal(atomic_load(&generate_calls), 0);
	/* bad bodies */
	r = request(&e, "POST", "/Alice%20Bot/message", "application/json", "{\"text\":", NULL);
	assert_int_equal(r.status, 400);
	assert_non_null(strstr(r.body, "invalid JSON body"));
	resp_free(&r);
	expect_json(&e, "POST", "/Alice%20Bot/message", "{\"text\":42}", 400, "{\"error\":\"text must be a string\"}");
	/* a JSON array body has no fields */
	expect_json(&e, "POST", "/Alice%20Bot/message", "[1,2]", 200, "[]");
	/* model failure: 500, and no crash */
	r = request(&e, "POST", "/Alice%20Bot/message", "application/json", "{\"text\":\"fail\"}", NULL);
	assert_int_equal(r.status, 500);
	assert_non_null(strstr(r.body, "No response from generateMessageResponse"));
	resp_free(&r);
	env_stop(&e);
}

static void test_message_forms(void **state)
{
	struct env e;
	const char *mp = "--XyZ\r\n"
	                 "Content-Disposition: form-data; name=\"text\"\r\n\r\n"
	                 "from a form\r\n"
	                 "--XyZ\r\n"
	                 "Content-Disposition: form-data; name=\"user\"\r\n\r\n"
	                 "user\r\n"
	                 "--XyZ\r\n"
	                 "Content-Disposition: form-data; name=\"file\"; filename=\"a.txt\"\r\n"
	                 "Content-Type: text/plain\r\n\r\n"
	                 "ignored file\r\n"
	                 "--XyZ--\r\n";
	struct test_resp r;
	json_t *j;

	(void)state;
	env_start(&e, NULL, 0);
	r = request(&e, "POST", "/Alice%20Bot/message", "application/x-www-form-urlencoded",
	            "text=caf%C3%A9+au+lait&userId=u%202", NULL);
	assert_int_equal(r.status, 200);
	j = body_json(&r);
	assert_string_equal(json_string_value(json_object_get(json_array_get(j, 0), "text")), "echo: café au lait");
	json_decref(j);
	resp_free(&r);

	r = request(&e, "POST", "/Alice%20Bot/message", "multipart/form-data; boundary=XyZ", mp, NULL);
	assert_int_equal(r.status, 200);
	j = body_json(&r);
	assert_int_equal(json_array_size(j), 1);
	assert_string_equal(json_string_value(json_object_get(json_array_get(j, 0), "text")), "echo: from a form");
	json_decref(j);
	resp_free(&r);

	r = request(&e, "POST", "/Alice%20Bot/message", "multipart/form-data", mp, NULL);
	assert_int_equal(r.status, 400);
	resp_free(&r);
	/* an unknown content type is an empty body, as in Express */
	expect_json(&e, "POST", "/Alice%20Bot/message", NULL, 200, "[]");
	r = request(&e, "POST", "/Alice%20Bot/message", "text/plain", "text=hi", NULL);
	assert_int_equal(r.status, 200);
	assert_string_equal(r.body, "[]");
	resp_free(&r);
	env_stop(&e);
}

static void test_body_limit(void **state)
{
	struct env e;
	char *big;
	struct test_resp r;

	(void)state;
	env_start(&e, NULL, 1024);
	big = malloc(4096);
	assert_non_null(big);
	memset(big, 'a', 4095);
	big[4095] = 0;
	memcpy(big, "{\"text\":\"", 9);
	memcpy(big + 4093, "\"}", 2);
	r = request(&e, "POST", "/Alice%20Bot/message", "application/json", big, NULL);
	assert_int_equal(r.status, 413);
	resp_free(&r);
	big[1000] = 0;
	memcpy(big + 998, "\"}", 2);
	r = request(&e, "POST", "/Alice%20Bot/message", "application/json", big, NULL);
	assert_int_equal(r.status, 200);
	resp_free(&r);
	free(big);
	env_stop(&e);
}

static void test_memories(void **state)
{
	struct env e;
	char id[AGENT_UUID_BUFSZ], room[AGENT_UUID_BUFSZ], user[AGENT_UUID_BUFSZ], path[256];
	struct test_resp r, r2;
	json_t *j, *m0, *m1, *mems;

	(void)state;
	env_start(&e, NULL, 0);
	uuid_of(id, "Alice Bot");
	uuid_of(room, "room-1");
	uuid_of(user, "carol");
	expect_json(&e, "POST", "/Alice%20Bot/message", "{\"text\":\"first\",\"userId\":\"carol\",\"roomId\":\"room-1\"}",
	            200, "[{\"user\":\"Alice Bot\",\"text\":\"echo: first\",\"action\":\"NONE\"}]");
	expect_json(&e, "POST", "/Alice%20Bot/message",
	            "{\"text\":\"second\",\"userId\":\"carol\",\"roomId\":\"room-1\"}", 200,
	            "[{\"user\":\"Alice Bot\",\"text\":\"echo: second\",\"action\":\"NONE\"}]");
	/* 0.1.9: UUIDs */
	snprintf(path, sizeof(path), "/agents/%s/%s/memories", id, room);
	r = request(&e, "GET", path, NULL, NULL, NULL);
	assert_int_equal(r.status, 200);
	j = body_json(&r);
	assert_string_equal(json_string_value(json_object_get(j, "agentId")), id);
	assert_string_equal(json_string_value(json_object_get(j, "roomId")), room);
	mems = json_object_get(j, "memories");
	assert_int_equal(json_array_size(mems), 4);
	/* newest first: the reply to "second", then "second" */
	m0 = json_array_get(mems, 0);
	m1 = json_array_get(mems, 1);
	assert_string_equal(json_string_value(json_object_get(json_object_get(m0, "content"), "text")), "echo: second");
	assert_string_equal(json_string_value(json_object_get(m0, "userId")), id);
	assert_string_equal(json_string_value(json_object_get(json_object_get(m1, "content"), "text")), "second");
	assert_string_equal(json_string_value(json_object_get(json_object_get(m1, "content"), "source")), "direct");
	assert_string_equal(json_string_value(json_object_get(m1, "userId")), user);
	assert_string_equal(json_string_value(json_object_get(m1, "agentId")), id);
	assert_string_equal(json_string_value(json_object_get(m1, "roomId")), room);
	assert_true(json_is_array(json_object_get(json_object_get(m1, "content"), "attachments")));
	assert_string_equal(json_string_value(json_object_get(json_object_get(m0, "content"), "inReplyTo")),
	                    json_string_value(json_object_get(m1, "id")));
	assert_true(json_is_integer(json_object_get(m1, "createdAt")));
	assert_true(json_is_array(json_object_get(m0, "embedding")));
	json_decref(j);

	/* 0.1.7: the room's string and the agent's name give the same memories */
	r2 = request(&e, "GET", "/agents/alice%20bot/room-1/memories", NULL, NULL, NULL);
	assert_int_equal(r2.status, 200);
	assert_string_equal(r.body, r2.body);
	resp_free(&r);
	resp_free(&r2);

	snprintf(path, sizeof(path), "/agents/%s/%s/memories?count=1", id, room);
	r = request(&e, "GET", path, NULL, NULL, NULL);
	j = body_json(&r);
	assert_int_equal(json_array_size(json_object_get(j, "memories")), 1);
	json_decref(j);
	resp_free(&r);
	snprintf(path, sizeof(path), "/agents/%s/%s/memories?count=0", id, room);
	r = request(&e, "GET", path, NULL, NULL, NULL);
	assert_int_equal(r.status, 400);
	resp_free(&r);
	/* the bounds, and what strtoul used to let through (a sign, a blank, a wrap-around) */
	{
		static const char *const bad[] = { "1001", "%2B5", "%205", "-1", "18446744073709551617", "0x10", "" };

		snprintf(path, sizeof(path), "/agents/%s/%s/memories?count=1000", id, room);
		r = request(&e, "GET", path, NULL, NULL, NULL);
		assert_int_equal(r.status, 200);
		resp_free(&r);
		for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
			snprintf(path, sizeof(path), "/agents/%s/%s/memories?count=%s", id, room, bad[i]);
			r = request(&e, "GET", path, NULL, NULL, NULL);
			if (r.status != 400)
				fail_msg("count=%s: HTTP %ld", bad[i], r.status);
			resp_free(&r);
		}
	}

	/* the default room of a name differs from the default room of the id, as in Eliza */
	expect_json(&e, "POST", "/Alice%20Bot/message", "{\"text\":\"x\"}", 200,
	            "[{\"user\":\"Alice Bot\",\"text\":\"echo: x\",\"action\":\"NONE\"}]");
	r = request(&e, "GET", "/agents/Alice%20Bot/default-room-Alice%20Bot/memories", NULL, NULL, NULL);
	j = body_json(&r);
	assert_int_equal(json_array_size(json_object_get(j, "memories")), 2);
	json_decref(j);
	resp_free(&r);
	snprintf(path, sizeof(path), "/agents/%s/default-room-%s/memories", id, id);
	r = request(&e, "GET", path, NULL, NULL, NULL);
	j = body_json(&r);
	assert_int_equal(json_array_size(json_object_get(j, "memories")), 0);
	json_decref(j);
	resp_free(&r);

	expect_text(&e, "GET", "/agents/Nobody/room-1/memories", NULL, 404, "Agent not found");
	env_stop(&e);
}

static void test_stop_delete_set(void **state)
{
	struct env e;
	char id[AGENT_UUID_BUFSZ], bob[AGENT_UUID_BUFSZ], path[128], body[2048], want[256];
	struct test_resp r;
	json_t *j;

	(void)state;
	env_start(&e, NULL, 0);
	uuid_of(id, "Alice Bot");
	uuid_of(bob, "Bob");

	/* set: a new agent from a character body */
	snprintf(body, sizeof(body), character_fmt, "Bob", "Bob", "Bob");
	snprintf(path, sizeof(path), "/agents/%s/set", bob);
	r = request(&e, "POST", path, "application/json", body, NULL);
	assert_int_equal(r.status, 200);
	j = body_json(&r);
	assert_string_equal(json_string_value(json_object_get(j, "id")), bob);
	assert_string_equal(json_string_value(json_object_get(json_object_get(j, "character"), "name")), "Bob");
	assert_null(strstr(r.body, "sk-secret-value"));
	json_decref(j);
	resp_free(&r);
	assert_int_equal(agent_registry_count(e.reg), 2);
	expect_json(&e, "POST", "/bob/message", "{\"text\":\"hey\"}", 200,
	            "[{\"user\":\"Bob\",\"text\":\"echo: hey\",\"action\":\"NONE\"}]");

	/* set with an invalid character: 400 with Eliza's validation text, the agent stays */
	r = request(&e, "POST", path, "application/json", "{\"name\":\"Bob\",\"lore\":[true]}", NULL);
	assert_int_equal(r.status, 400);
	j = body_json(&r);
	assert_true(json_is_false(json_object_get(j, "success")));
	assert_non_null(strstr(json_string_value(json_object_get(j, "message")),
	                       "Character configuration validation failed:\n"));
	assert_non_null(strstr(json_string_value(json_object_get(j, "message")), "lore.0: Expected string, received boolean"));
	json_decref(j);
	resp_free(&r);
	assert_int_equal(agent_registry_count(e.reg), 2);
	r = request(&e, "POST", "/agents/bob/set", "application/json", body, NULL);
	assert_int_equal(r.status, 400);
	resp_free(&r);

	/* set replaces the agent the URL names (Alice) by the new character's id */
	snprintf(body, sizeof(body), character_fmt, "Carol", "Carol", "Carol");
	snprintf(path, sizeof(path), "/agents/%s/set", id);
	r = request(&e, "POST", path, "application/json", body, NULL);
	assert_int_equal(r.status, 200);
	resp_free(&r);
	assert_int_equal(agent_registry_count(e.reg), 2);
	expect_text(&e, "POST", "/Alice%20Bot/message", "{\"text\":\"hi\"}", 404, "Agent not found");
	assert_false(agent_runtime_running(e.alice));

	/* stop */
	snprintf(path, sizeof(path), "/agents/%s/stop", bob);
	expect_json(&e, "POST", path, NULL, 200, "{\"success\":true}");
	expect_json(&e, "POST", path, NULL, 404, "{\"error\":\"Agent not found\"}");
	expect_text(&e, "POST", "/Bob/message", "{\"text\":\"hi\"}", 404, "Agent not found");

	/* delete */
	uuid_of(id, "Carol");
	snprintf(path, sizeof(path), "/agents/%s", id);
	r = request(&e, "DELETE", path, NULL, NULL, NULL);
	assert_int_equal(r.status, 204);
	assert_int_equal(r.len, 0);
	resp_free(&r);
	expect_json(&e, "DELETE", path, NULL, 404, "{\"error\":\"Agent not found\"}");
	expect_json(&e, "DELETE", "/agents/Carol", NULL, 400,
	            "{\"error\":\"Invalid AgentId format. Expected to be a UUID: xxxxxxxx-xxxx-xxxx-xxxx-xxxxxxxxxxxx\"}");
	snprintf(want, sizeof(want), "{\"agents\":[]}");
	expect_json(&e, "GET", "/agents", NULL, 200, want);
	env_stop(&e);
}

/*
 * /set with `extends`: the body is not a file, so its paths would be the
 * server's. Whatever they name (a system file, a FIFO, a missing file, a
 * directory, "../", a character holding secrets), the answer is the same 400
 * and nothing is read: the FIFO cannot pin a worker, even 40 times over.
 */
static void test_set_extends_refused(void **state)
{
	struct env e;
	char tmpl[] = "/tmp/teeliza-api-set-XXXXXX";
	char *dir = mkdtemp(tmpl);
	char bob[AGENT_UUID_BUFSZ], path[128], fifo[64], secret[64], missing[64], up[64];
	char body[2048], first[4096] = "";
	const char *targets[] = { "/etc/passwd", "/etc/shadow", fifo, missing, dir, up, secret, "" };
	json_t *j;

	(void)state;
	assert_non_null(dir);
	snprintf(fifo, sizeof(fifo), "%s/fifo", dir);
	assert_int_equal(mkfifo(fifo, 0600), 0);
	snprintf(missing, sizeof(missing), "%s/missing.json", dir);
	snprintf(up, sizeof(up), "%s/../../../../etc/passwd", dir);
	snprintf(secret, sizeof(secret), "%s/secret.json", dir);
	snprintf(body, sizeof(body), character_fmt, "Secret", "Secret", "Secret");
	{
		FILE *f = fopen(secret, "w");

		assert_non_null(f);
		assert_true(fputs(body, f) >= 0);
		assert_int_equal(fclose(f), 0);
	}
	env_start(&e, NULL, 0);
	uuid_of(bob, "Bob");
	snprintf(path, sizeof(path), "/agents/%s/set", bob);
	snprintf(body, sizeof(body), character_fmt, "Bob", "Bob", "Bob");
	j = json_loads(body, 0, NULL);
	assert_non_null(j);
	for (size_t i = 0; i <= sizeof(targets) / sizeof(targets[0]); i++) {
		/* the last round: an empty list */
		bool last = i == sizeof(targets) / sizeof(targets[0]);
		char *text;
		struct test_resp r;
		json_t *got;

		json_object_set_new(j, "extends", last ? json_array() : json_pack("[s]", targets[i]));
		text = json_dumps(j, 0);
		assert_non_null(text);
		r = request(&e, "POST", path, "application/json", text, NULL);
		free(text);
		assert_int_equal(r.status, 400);
		got = body_json(&r);
		assert_true(json_is_false(json_object_get(got, "success")));
		assert_string_equal(json_string_value(json_object_get(got, "message")), AGENT_CHARACTER_EXTENDS_REFUSED);
		json_decref(got);
		/* byte for byte the same answer every time */
		if (i == 0)
			snprintf(first, sizeof(first), "%s", r.body);
		assert_string_equal(r.body, first);
		resp_free(&r);
	}
	/* a worker per FIFO request used to block for good */
	json_object_set_new(j, "extends", json_pack("[s]", fifo));
	{
		char *text = json_dumps(j, 0);

		for (int i = 0; i < 40; i++) {
			struct test_resp r = request(&e, "POST", path, "application/json", text, NULL);

			assert_int_equal(r.status, 400);
			resp_free(&r);
		}
		free(text);
	}
	expect_json(&e, "GET", "/hello", NULL, 200, "{\"message\":\"Hello World!\"}");
	assert_int_equal(agent_registry_count(e.reg), 1);
	/* the same character without extends is accepted */
	json_object_del(j, "extends");
	{
		char *text = json_dumps(j, 0);
		struct test_resp r = request(&e, "POST", path, "application/json", text, NULL);

		assert_int_equal(r.status, 200);
		resp_free(&r);
		free(text);
	}
	assert_int_equal(agent_registry_count(e.reg), 2);
	json_decref(j);
	env_stop(&e);
	assert_int_equal(unlink(fifo), 0);
	assert_int_equal(unlink(secret), 0);
	assert_int_equal(rmdir(dir), 0);
}

static void test_actions_and_callbacks(void **state)
{
	struct env e;
	struct test_resp r;
	json_t *j;

	(void)state;
	env_start(&e, NULL, 0);
	/* CONTINUE runs its handler: a second message from the model, whose own CONTINUE is turned into NONE */
	atomic_store(&generate_calls, 0);
	r = request(&e, "POST", "/Alice%20Bot/message", "application/json", "{\"text\":\"act:CONTINUE go on\"}", NULL);
	assert_int_equal(r.status, 200);
	j = body_json(&r);
	assert_int_equal(json_array_size(j), 2);
	assert_string_equal(json_string_value(json_object_get(json_array_get(j, 0), "action")), "CONTINUE");
	assert_string_equal(json_string_value(json_object_get(json_array_get(j, 1), "action")), "NONE");
	assert_string_equal(json_string_value(json_object_get(json_array_get(j, 1), "user")), "Alice Bot");
	assert_int_equal(atomic_load(&generate_calls), 2);
	json_decref(j);
	resp_free(&r);
	/* Eliza's matching: "ignore" and a made-up name that contains NONE; IGNORE has no handler */
	atomic_store(&generate_calls, 0);
	expect_json(&e, "POST", "/Alice%20Bot/message", "{\"text\":\"act:ignore\"}", 200,
	            "[{\"user\":\"Alice Bot\",\"text\":\"echo: act:ignore\",\"action\":\"ignore\"}]");
	expect_json(&e, "POST", "/Alice%20Bot/message", "{\"text\":\"act:NONE_AT_ALL\"}", 200,
	            "[{\"user\":\"Alice Bot\",\"text\":\"echo: act:NONE_AT_ALL\",\"action\":\"NONE_AT_ALL\"}]");
	/* without the TEE plugin a wallet question is just a message for the model */
	expect_json(&e, "POST", "/Alice%20Bot/message", "{\"text\":\"act:WALLET_ADDRESS\"}", 200,
	            "[{\"user\":\"Alice Bot\",\"text\":\"echo: act:WALLET_ADDRESS\",\"action\":\"WALLET_ADDRESS\"}]");
	assert_int_equal(atomic_load(&generate_calls), 3);
	env_stop(&e);
}

static void test_auth_and_cors(void **state)
{
	struct env e;
	struct test_resp r;

	(void)state;
	env_start(&e, "s3cret-token", 0);
	r = request(&e, "GET", "/agents", NULL, NULL, NULL);
	assert_int_equal(r.status, 401);
	resp_free(&r);
	r = request(&e, "GET", "/agents", NULL, NULL, "Bearer wrong-token!");
	assert_int_equal(r.status, 401);
	resp_free(&r);
	r = request(&e, "GET", "/agents", NULL, NULL, "Bearer s3cret-toke");
	assert_int_equal(r.status, 401);
	resp_free(&r);
	r = request(&e, "GET", "/agents", NULL, NULL, "Basic s3cret-token");
	assert_int_equal(r.status, 401);
	resp_free(&r);
	r = request(&e, "POST", "/Alice%20Bot/message", "application/json", "{\"text\":\"hi\"}", NULL);
	assert_int_equal(r.status, 401);
	resp_free(&r);
	r = request(&e, "GET", "/agents", NULL, NULL, "Bearer s3cret-token");
	assert_int_equal(r.status, 200);
	resp_free(&r);
	r = request(&e, "POST", "/Alice%20Bot/message", "application/json", "{\"text\":\"hi\"}", "bearer s3cret-token");
	assert_int_equal(r.status, 200);
	resp_free(&r);
	/* open routes and preflight */
	r = request(&e, "GET", "/hello", NULL, NULL, NULL);
	assert_int_equal(r.status, 200);
	resp_free(&r);
	r = request(&e, "OPTIONS", "/agents", NULL, NULL, NULL);
	assert_int_equal(r.status, 204);
	resp_free(&r);
	env_stop(&e);
}

static bool log_contains(FILE *f, const char *needle)
{
	char buf[8192];
	size_t n;

	fflush(f);
	rewind(f);
	n = fread(buf, 1, sizeof(buf) - 1, f);
	buf[n] = 0;
	fseek(f, 0, SEEK_END);
	return strstr(buf, needle) != NULL;
}

static void test_warning_and_port_fallback(void **state)
{
	agent_store *store;
	agent_registry *reg;
	agent_registry_config rc;
	agent_api_config ac;
	agent_api *a1, *a2;
	FILE *log = tmpfile();

	(void)state;
	assert_int_equal(agent_store_sqlite_open(&store, ":memory:"), TEELIZA_OK);
	memset(&rc, 0, sizeof(rc));
	rc.store = store;
	rc.log = log;
	rc.generate = fake_generate;
	assert_int_equal(agent_registry_new(&reg, &rc), TEELIZA_OK);
	memset(&ac, 0, sizeof(ac));
	ac.registry = reg;
	ac.log = log;
	ac.host = "127.0.0.1";
	assert_int_equal(agent_api_start(&a1, &ac), TEELIZA_OK);
	assert_true(log_contains(log, "REST API bound to 127.0.0.1:"));
	assert_false(log_contains(log, "WARNING"));
	/* the same port again: taken; with fallback the next free one */
	ac.port = agent_api_port(a1);
	assert_int_not_equal(agent_api_start(&a2, &ac), TEELIZA_OK);
	assert_null(a2);
	ac.port_fallback = true;
	assert_int_equal(agent_api_start(&a2, &ac), TEELIZA_OK);
	assert_true(agent_api_port(a2) > agent_api_port(a1));
	assert_true(agent_api_port(a2) <= agent_api_port(a1) + 10);
	agent_api_stop(a2);
	agent_api_stop(a1);
	/* all interfaces without a token: a warning; with a token: none */
	ac.host = "0.0.0.0";
	ac.port = 0;
	ac.port_fallback = false;
	assert_int_equal(agent_api_start(&a1, &ac), TEELIZA_OK);
	assert_true(log_contains(log, "WARNING: the REST API listens on 0.0.0.0"));
	assert_true(log_contains(log, "(set, stop, delete) is refused to clients other than loopback"));
	assert_true(log_contains(log, "REST API limits: "));
	assert_true(log_contains(log, ", 256 per client address, 30 s to send a request; rate limit: none"));
	agent_api_stop(a1);
	fclose(log);
	log = tmpfile();
	ac.log = log;
	ac.api_token = "t";
	assert_int_equal(agent_api_start(&a1, &ac), TEELIZA_OK);
	assert_false(log_contains(log, "WARNING"));
	agent_api_stop(a1);
	agent_registry_free(reg);
	agent_store_close(store);
	fclose(log);
}

static void test_sizes_and_env(void **state)
{
	agent_api_config c;
	size_t n;

	(void)state;
	assert_int_equal(agent_api_parse_size(&n, "100kb"), TEELIZA_OK);
	assert_int_equal(n, 102400);
	assert_int_equal(agent_api_parse_size(&n, "1MB"), TEELIZA_OK);
	assert_int_equal(n, 1048576);
	assert_int_equal(agent_api_parse_size(&n, "512"), TEELIZA_OK);
	assert_int_equal(n, 512);
	assert_int_equal(agent_api_parse_size(&n, "2 gb"), TEELIZA_OK);
	assert_int_equal(n, (size_t)2 << 30);
	assert_int_equal(agent_api_parse_size(&n, "kb"), TEELIZA_ERR_INVALID);
	assert_int_equal(agent_api_parse_size(&n, "10tb"), TEELIZA_ERR_INVALID);
	assert_int_equal(agent_api_parse_size(&n, "0"), TEELIZA_ERR_INVALID);
	assert_int_equal(agent_api_parse_size(&n, "-1kb"), TEELIZA_ERR_INVALID);
	assert_int_equal(agent_api_parse_size(&n, "99999999999999999999kb"), TEELIZA_ERR_INVALID);

	memset(&c, 0, sizeof(c));
	setenv("SERVER_PORT", "3456", 1);
	setenv("SERVER_HOST", "127.0.0.1", 1);
	setenv("API_TOKEN", "tok", 1);
	setenv("EXPRESS_MAX_PAYLOAD", "2mb", 1);
	assert_int_equal(agent_api_config_from_env(&c), TEELIZA_OK);
	assert_int_equal(c.port, 3456);
	assert_string_equal(c.host, "127.0.0.1");
	assert_string_equal(c.api_token, "tok");
	assert_int_equal(c.max_body, (size_t)2 << 20);
	setenv("SERVER_PORT", "70000", 1);
	assert_int_equal(agent_api_config_from_env(&c), TEELIZA_ERR_CONFIG);
	assert_non_null(strstr(teeliza_errmsg(), "SERVER_PORT"));
	setenv("SERVER_PORT", "80x", 1);
	assert_int_equal(agent_api_config_from_env(&c), TEELIZA_ERR_CONFIG);
	{
		static const char *const bad[] = { "65536", "-0", "+80", " 80", "18446744073709551616", "0x50" };

		for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
			setenv("SERVER_PORT", bad[i], 1);
			if (agent_api_config_from_env(&c) != TEELIZA_ERR_CONFIG)
				fail_msg("SERVER_PORT=\"%s\" accepted", bad[i]);
		}
		setenv("SERVER_PORT", "65535", 1);
		assert_int_equal(agent_api_config_from_env(&c), TEELIZA_OK);
		assert_int_equal(c.port, 65535);
		setenv("SERVER_PORT", "0", 1);
		assert_int_equal(agent_api_config_from_env(&c), TEELIZA_OK);
		assert_int_equal(c.port, 0);
	}
	setenv("SERVER_PORT", "3000", 1);
	setenv("EXPRESS_MAX_PAYLOAD", "lots", 1);
	assert_int_equal(agent_api_config_from_env(&c), TEELIZA_ERR_CONFIG);
	assert_non_null(strstr(teeliza_errmsg(), "EXPRESS_MAX_PAYLOAD"));
	unsetenv("SERVER_PORT");
	unsetenv("SERVER_HOST");
	unsetenv("API_TOKEN");
	unsetenv("EXPRESS_MAX_PAYLOAD");
}

static void test_attestation_route(void **state)
{
	static const uint8_t quote[] = {0x04, 0x00, 0x02, 0x00, 0x81, 0x00, 0xff, 0x10};
	struct env e;
	char id[AGENT_UUID_BUFSZ], qid[AGENT_UUID_BUFSZ], other[AGENT_UUID_BUFSZ], path[256];
	agent_attestation a;
	struct test_resp r;
	json_t *j;

	(void)state;
	env_start(&e, NULL, 0);
	uuid_of(id, "Alice Bot");
	assert_int_equal(agent_uuid_random(qid), TEELIZA_OK);
	assert_int_equal(agent_uuid_random(other), TEELIZA_OK);
	memset(&a, 0, sizeof(a));
	a.id = qid;
	a.agent_id = id;
	a.report_data_json = "{\"agentId\":\"x\"}";
	a.quote = quote;
	a.quote_len = sizeof(quote);
	a.event_log = "[]";
	assert_int_equal(agent_store_put_attestation(e.store, &a), TEELIZA_OK);
	a.id = other;
	a.agent_id = "00000000-0000-0000-0000-000000000001";
	assert_int_equal(agent_store_put_attestation(e.store, &a), TEELIZA_OK);

	snprintf(path, sizeof(path), "/agents/%s/attestations/%s", id, qid);
	r = request(&e, "GET", path, NULL, NULL, NULL);
	assert_int_equal(r.status, 200);
	j = body_json(&r);
	assert_string_equal(json_string_value(json_object_get(j, "id")), qid);
	assert_string_equal(json_string_value(json_object_get(j, "agentId")), id);
	assert_string_equal(json_string_value(json_object_get(j, "quote")), "0x0400020081" "00ff10");
	assert_string_equal(json_string_value(json_object_get(j, "reportData")), "{\"agentId\":\"x\"}");
	assert_string_equal(json_string_value(json_object_get(j, "eventLog")), "[]");
	json_decref(j);
	resp_free(&r);
	snprintf(path, sizeof(path), "/agents/Alice%%20Bot/attestations/%s?format=bin", qid);
	r = request(&e, "GET", path, NULL, NULL, NULL);
	assert_int_equal(r.status, 200);
	assert_int_equal(r.len, sizeof(quote));
	assert_memory_equal(r.body, quote, sizeof(quote));
	assert_string_equal(r.ctype, "application/octet-stream");
	resp_free(&r);
	snprintf(path, sizeof(path), "/agents/%s/attestations/%s?format=hex", id, qid);
	expect_text(&e, "GET", path, NULL, 200, "0x040002008100ff10");
	/* another agent's quote, an unknown id, a malformed id, an unknown agent */
	snprintf(path, sizeof(path), "/agents/%s/attestations/%s", id, other);
	expect_json(&e, "GET", path, NULL, 404, "{\"error\":\"Attestation not found\"}");
	snprintf(path, sizeof(path), "/agents/%s/attestations/00000000-0000-0000-0000-000000000009", id);
	expect_json(&e, "GET", path, NULL, 404, "{\"error\":\"Attestation not found\"}");
	snprintf(path, sizeof(path), "/agents/%s/attestations/not-a-quote'", id);
	expect_json(&e, "GET", path, NULL, 404, "{\"error\":\"Attestation not found\"}");
	snprintf(path, sizeof(path), "/agents/%s/attestations/..%%2F..%%2Fetc", id);
	r = request(&e, "GET", path, NULL, NULL, NULL);
	assert_int_equal(r.status, 404);
	resp_free(&r);
	snprintf(path, sizeof(path), "/agents/Nobody/attestations/%s", qid);
	expect_json(&e, "GET", path, NULL, 404, "{\"error\":\"Agent not found\"}");
	env_stop(&e);
}

/* ---- hardening: error replies, headers on every reply, rate limit, loopback-only control ---- */

/* Send text as is from src (NULL: any) to the API; the whole reply (the request asks to close), NUL-terminated. */
static char *raw_request(const struct env *e, const char *src, const char *text)
{
	struct sockaddr_in a;
	struct pollfd p;
	char host[64], *out = NULL, *grown;
	size_t len = 0;
	ssize_t n;
	int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);

	assert_true(fd >= 0);
	if (src != NULL) {
		memset(&a, 0, sizeof(a));
		a.sin_family = AF_INET;
		assert_int_equal(inet_pton(AF_INET, src, &a.sin_addr), 1);
		assert_int_equal(bind(fd, (struct sockaddr *)&a, sizeof(a)), 0);
	}
	/* the API's address from e->base, "http://HOST:PORT" */
	snprintf(host, sizeof(host), "%s", e->base + strlen("http://"));
	assert_non_null(strchr(host, ':'));
	*strchr(host, ':') = 0;
	memset(&a, 0, sizeof(a));
	a.sin_family = AF_INET;
	a.sin_port = htons(agent_api_port(e->api));
	assert_int_equal(inet_pton(AF_INET, host, &a.sin_addr), 1);
	assert_int_equal(connect(fd, (struct sockaddr *)&a, sizeof(a)), 0);
	assert_int_equal(send(fd, text, strlen(text), MSG_NOSIGNAL), (ssize_t)strlen(text));
	for (;;) {
		p.fd = fd;
		p.events = POLLIN;
		assert_int_equal(poll(&p, 1, 20000), 1);
		grown = realloc(out, len + 4097);
		assert_non_null(grown);
		out = grown;
		n = recv(fd, out + len, 4096, 0);
		if (n <= 0)
			break;
		len += (size_t)n;
	}
	close(fd);
	out[len] = 0;
	return out;
}

static int status_of(const char *resp)
{
	assert_int_equal(strncmp(resp, "HTTP/1.1 ", 9), 0);
	return atoi(resp + 9);
}

/* How often the header line (exact, case as sent) appears in the reply's headers. */
static int header_count(const char *resp, const char *line)
{
	const char *end = strstr(resp, "\r\n\r\n"), *p = resp;
	size_t n = strlen(line);
	int count = 0;

	assert_non_null(end);
	while ((p = strstr(p, line)) != NULL && p < end) {
		if (p > resp && p[-1] == '\n' && p[n] == '\r')
			count++;
		p += n;
	}
	return count;
}

static const char *body_of(const char *resp)
{
	const char *b = strstr(resp, "\r\n\r\n");

	assert_non_null(b);
	return b + 4;
}

/* Every reply: CORS as Eliza's cors() sends it, nosniff; and never HTML for an error. */
static void expect_common(const char *resp)
{
	assert_int_equal(header_count(resp, "Access-Control-Allow-Origin: *"), 1);
	assert_int_equal(header_count(resp, "X-Content-Type-Options: nosniff"), 1);
	if (status_of(resp) >= 400) {
		const char *ct = strstr(resp, "\r\nContent-Type: ");

		assert_non_null(ct);
		ct += 16;
		assert_true(strncmp(ct, "text/plain", 10) == 0 || strncmp(ct, "application/json", 16) == 0);
	}
}

static void test_not_found_is_plain_text(void **state)
{
	static const char script_path[] = "/<script>fetch('//x/'+sessionStorage.getItem('token'))</script>";
	char req[512], want[256];
	struct env e;
	char *r;

	(void)state;
	env_start(&e, NULL, 0);
	/* a path with markup, sent as is: 404 in plain text, the text Eliza shows */
	snprintf(req, sizeof(req), "GET %s HTTP/1.1\r\nHost: t\r\nConnection: close\r\n\r\n", script_path);
	r = raw_request(&e, NULL, req);
	assert_int_equal(status_of(r), 404);
	assert_int_equal(header_count(r, "Content-Type: text/plain; charset=utf-8"), 1);
	assert_null(strstr(r, "text/html"));
	expect_common(r);
	snprintf(want, sizeof(want), "Cannot GET %s", script_path);
	assert_string_equal(body_of(r), want);
	free(r);
	/* percent-encoded markup and control bytes: decoded for routing, shown as a client sends them */
	r = raw_request(&e, NULL, "GET /%3Cimg%20src=x%3E%0d%0aX:%01 HTTP/1.1\r\nHost: t\r\nConnection: close\r\n\r\n");
	assert_int_equal(status_of(r), 404);
	assert_string_equal(body_of(r), "Cannot GET /<img%20src=x>%0D%0AX:%01");
	expect_common(r);
	free(r);
	/* deeper than any route: the same 404 */
	snprintf(req, sizeof(req), "GET /a/b/c/d/e/f/g/h%s HTTP/1.1\r\nHost: t\r\nConnection: close\r\n\r\n", script_path);
	r = raw_request(&e, NULL, req);
	assert_int_equal(status_of(r), 404);
	assert_int_equal(header_count(r, "Content-Type: text/plain; charset=utf-8"), 1);
	expect_common(r);
	free(r);
	env_stop(&e);

	/* with a token, an unknown path reveals nothing before the token check, however deep */
	env_start(&e, "s3cret-token", 0);
	r = raw_request(&e, NULL, req);
	assert_int_equal(status_of(r), 401);
	assert_null(strstr(r, "script"));
	expect_common(r);
	free(r);
	snprintf(req, sizeof(req),
	         "GET /a/b/c/d/e/f/g/h%s HTTP/1.1\r\nHost: t\r\nAuthorization: Bearer s3cret-token\r\nConnection: close\r\n\r\n",
	         script_path);
	r = raw_request(&e, NULL, req);
	assert_int_equal(status_of(r), 404);
	assert_int_equal(header_count(r, "Content-Type: text/plain; charset=utf-8"), 1);
	expect_common(r);
	free(r);
	/* agent not found (Eliza's res.send text): plain text too */
	r = raw_request(&e, NULL,
	                "POST /Nobody/message HTTP/1.1\r\nHost: t\r\nAuthorization: Bearer s3cret-token\r\n"
	                "Content-Type: application/json\r\nContent-Length: 2\r\nConnection: close\r\n\r\n{}");
	assert_int_equal(status_of(r), 404);
	assert_string_equal(body_of(r), "Agent not found");
	expect_common(r);
	free(r);
	env_stop(&e);
}

static void test_every_reply_has_cors(void **state)
{
	static const char auth[] = "Authorization: Bearer s3cret-token\r\n";
	struct env e;
	char req[1024];
	char *r;
	size_t i;
	static const struct {
		const char *method, *path, *headers, *body;
		int status;
	} cases[] = {
		{"GET", "/hello", "", "", 200},
		{"GET", "/agents", "", "", 401},
		{"GET", "/agents", auth, "", 200},
		{"GET", "/nope", auth, "", 404},
		{"OPTIONS", "/agents", "", "", 204},
		{"GET", "/agents/not-a-uuid", auth, "", 400},
		{"POST", "/Alice%20Bot/message", auth, "{\"text\":\"fail\"}", 500},
		{"POST", "/Alice%20Bot/message", auth, "{\"text\":", 400},
		/* the server's own 413: the body is refused before the handler sees it */
		{"POST", "/Alice%20Bot/message", auth, "{\"text\":\"0123456789012345678901234567890123456789\"}", 413},
	};

	(void)state;
	env_start(&e, "s3cret-token", 32);
	for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		snprintf(req, sizeof(req),
		         "%s %s HTTP/1.1\r\nHost: t\r\n%sContent-Type: application/json\r\nContent-Length: %zu\r\n"
		         "Connection: close\r\n\r\n%s",
		         cases[i].method, cases[i].path, cases[i].headers, strlen(cases[i].body), cases[i].body);
		r = raw_request(&e, NULL, req);
		if (status_of(r) != cases[i].status)
			fail_msg("%s %s: %d, want %d", cases[i].method, cases[i].path, status_of(r), cases[i].status);
		expect_common(r);
		free(r);
	}
	/* HTML: Eliza's welcome page, and the dashboard (its own policy, framing forbidden beside it) */
	r = raw_request(&e, NULL, "GET / HTTP/1.1\r\nHost: t\r\nConnection: close\r\n\r\n");
	assert_int_equal(status_of(r), 200);
	expect_common(r);
	assert_non_null(strstr(r, "\r\nContent-Security-Policy: default-src 'none'; base-uri 'none'; form-action 'none'; "
	                          "frame-ancestors 'none'\r\n"));
	free(r);
	r = raw_request(&e, NULL, "GET /dashboard HTTP/1.1\r\nHost: t\r\nConnection: close\r\n\r\n");
	assert_int_equal(status_of(r), 200);
	expect_common(r);
	assert_non_null(strstr(r, "frame-ancestors 'none'"));
	free(r);
	env_stop(&e);
}

static void test_rate_limit(void **state)
{
	struct env e;
	struct test_resp r;
	char *raw;
	int i, accepted = 0, refused = -1;
	size_t count;
	json_t *j;

	(void)state;
	env_start_on(&e, "127.0.0.1", NULL, 0, 0, 2);
	atomic_store(&generate_calls, 0);
	for (i = 0; i < 2; i++) {
		r = request(&e, "POST", "/Alice%20Bot/message", "application/json", "{\"text\":\"hi\",\"roomId\":\"flood\"}",
		            NULL);
		assert_int_equal(r.status, 200);
		accepted++;
		resp_free(&r);
	}
	for (i = 0; i < 5 && refused < 0; i++) {
		raw = raw_request(&e, NULL,
		                  "POST /Alice%20Bot/message HTTP/1.1\r\nHost: t\r\nContent-Type: application/json\r\n"
		                  "Content-Length: 31\r\nConnection: close\r\n\r\n{\"text\":\"hi\",\"roomId\":\"flood\"}");
		if (status_of(raw) == 429) {
			refused = i;
			expect_common(raw);
			assert_int_equal(header_count(raw, "Content-Type: application/json"), 1);
			assert_non_null(strstr(raw, "\r\nRetry-After: "));
			j = json_loads(body_of(raw), 0, NULL);
			assert_non_null(strstr(json_string_value(json_object_get(j, "error")), "Too many requests"));
			json_decref(j);
		} else {
			assert_int_equal(status_of(raw), 200);
			accepted++;
		}
		free(raw);
	}
	assert_true(refused >= 0);
	/* refused before the handler: no model call, nothing stored */
	assert_int_equal(atomic_load(&generate_calls), accepted);
	{
		char room[AGENT_UUID_BUFSZ];

		uuid_of(room, "flood");
		assert_int_equal(agent_store_count_memories(e.store, &count, NULL, room, false), TEELIZA_OK);
		assert_int_equal(count, 2 * (size_t)accepted);
	}
	/* another client address is not limited by this one */
	raw = raw_request(&e, "127.0.0.2", "GET /hello HTTP/1.1\r\nHost: t\r\nConnection: close\r\n\r\n");
	assert_int_equal(status_of(raw), 200);
	free(raw);
	env_stop(&e);
}

static void test_limits_env(void **state)
{
	agent_api_config c;

	(void)state;
	memset(&c, 0, sizeof(c));
	assert_int_equal(agent_api_config_from_env(&c), TEELIZA_OK);
	assert_int_equal(c.rate_limit, 0); /* off unless asked for, as in Eliza */
	setenv("API_RATE_LIMIT", "120", 1);
	setenv("API_MAX_CONNECTIONS", "1000", 1);
	setenv("API_MAX_CONNECTIONS_PER_CLIENT", "8", 1);
	setenv("API_REQUEST_TIMEOUT", "15", 1);
	assert_int_equal(agent_api_config_from_env(&c), TEELIZA_OK);
	assert_int_equal(c.rate_limit, 120);
	assert_int_equal(c.max_connections, 1000);
	assert_int_equal(c.max_per_client, 8);
	assert_int_equal(c.request_timeout_s, 15);
	setenv("API_RATE_LIMIT", "0", 1);
	assert_int_equal(agent_api_config_from_env(&c), TEELIZA_OK);
	assert_int_equal(c.rate_limit, 0);
	setenv("API_RATE_LIMIT", "60/min", 1);
	assert_int_equal(agent_api_config_from_env(&c), TEELIZA_ERR_CONFIG);
	assert_non_null(strstr(teeliza_errmsg(), "API_RATE_LIMIT"));
	setenv("API_RATE_LIMIT", "-1", 1);
	assert_int_equal(agent_api_config_from_env(&c), TEELIZA_ERR_CONFIG);
	setenv("API_RATE_LIMIT", "99999999999999999999", 1);
	assert_int_equal(agent_api_config_from_env(&c), TEELIZA_ERR_CONFIG);
	unsetenv("API_RATE_LIMIT");
	setenv("API_REQUEST_TIMEOUT", "0", 1);
	assert_int_equal(agent_api_config_from_env(&c), TEELIZA_ERR_CONFIG);
	assert_non_null(strstr(teeliza_errmsg(), "API_REQUEST_TIMEOUT"));
	unsetenv("API_REQUEST_TIMEOUT");
	setenv("API_MAX_CONNECTIONS_PER_CLIENT", "lots", 1);
	assert_int_equal(agent_api_config_from_env(&c), TEELIZA_ERR_CONFIG);
	assert_non_null(strstr(teeliza_errmsg(), "API_MAX_CONNECTIONS_PER_CLIENT"));
	unsetenv("API_MAX_CONNECTIONS_PER_CLIENT");
	unsetenv("API_MAX_CONNECTIONS");
}

/*
 * A non-loopback address to talk to without any traffic leaving loopback:
 * the test moves into a network namespace of its own (root, as in CI; any
 * other user skips), brings its `lo` up and gives it 10.77.0.1 besides
 * 127.0.0.1. A client connecting to 10.77.0.1 then has 10.77.0.1 as its
 * address, which is not a loopback address. Later tests of this program run in
 * that namespace too, on its own 127.0.0.1.
 */
static bool private_non_loopback_address(char *out, size_t len)
{
	struct ifreq ifr;
	struct sockaddr_in *sin = (struct sockaddr_in *)(void *)&ifr.ifr_addr;
	int fd;
	bool ok;

	if (unshare(CLONE_NEWNET) != 0)
		return false;
	fd = socket(AF_INET, SOCK_DGRAM, 0);
	if (fd < 0)
		return false;
	memset(&ifr, 0, sizeof(ifr));
	snprintf(ifr.ifr_name, sizeof(ifr.ifr_name), "lo");
	ok = ioctl(fd, SIOCGIFFLAGS, &ifr) == 0;
	ifr.ifr_flags |= IFF_UP;
	ok = ok && ioctl(fd, SIOCSIFFLAGS, &ifr) == 0;
	memset(&ifr, 0, sizeof(ifr));
	snprintf(ifr.ifr_name, sizeof(ifr.ifr_name), "lo:1");
	sin->sin_family = AF_INET;
	ok = ok && inet_pton(AF_INET, "10.77.0.1", &sin->sin_addr) == 1 && ioctl(fd, SIOCSIFADDR, &ifr) == 0;
	close(fd);
	if (ok)
		snprintf(out, len, "10.77.0.1");
	return ok;
}

static void test_control_routes_loopback_only(void **state)
{
	char host[64], id[AGENT_UUID_BUFSZ], path[128], body[2048];
	struct env e;
	struct test_resp r;
	json_t *j;

	(void)state;
	/* loopback without a token: allowed (test_stop_delete_set does the rest) */
	env_start(&e, NULL, 0);
	uuid_of(id, "Alice Bot");
	snprintf(path, sizeof(path), "/agents/%s/stop", id);
	expect_json(&e, "POST", path, NULL, 200, "{\"success\":true}");
	env_stop(&e);

	/*
	 * A client beyond loopback, in a private network namespace (see
	 * private_non_loopback_address). Where none can be made, the check itself
	 * is still covered by test_http_server's test_local_addresses.
	 */
	if (!private_non_loopback_address(host, sizeof(host))) {
		fprintf(stderr, "skipped: no private network namespace (needs root): %s\n", strerror(errno));
		skip();
	}
	env_start_on(&e, host, NULL, 0, 0, 0);
	snprintf(body, sizeof(body), character_fmt, "Bob", "Bob", "Bob");
	snprintf(path, sizeof(path), "/agents/%s/set", id);
	r = request(&e, "POST", path, "application/json", body, NULL);
	assert_int_equal(r.status, 403);
	j = body_json(&r);
	assert_non_null(strstr(json_string_value(json_object_get(j, "error")), "without API_TOKEN"));
	json_decref(j);
	resp_free(&r);
	snprintf(path, sizeof(path), "/agents/%s/stop", id);
	r = request(&e, "POST", path, NULL, NULL, NULL);
	assert_int_equal(r.status, 403);
	resp_free(&r);
	snprintf(path, sizeof(path), "/agents/%s", id);
	r = request(&e, "DELETE", path, NULL, NULL, NULL);
	assert_int_equal(r.status, 403);
	resp_free(&r);
	assert_true(agent_runtime_running(e.alice));
	assert_int_equal(agent_registry_count(e.reg), 1);
	/* talking to the agent and reading stays open, as in Eliza */
	expect_json(&e, "POST", "/Alice%20Bot/message", "{\"text\":\"hi\"}", 200,
	            "[{\"user\":\"Alice Bot\",\"text\":\"echo: hi\",\"action\":\"NONE\"}]");
	r = request(&e, "GET", "/agents", NULL, NULL, NULL);
	assert_int_equal(r.status, 200);
	resp_free(&r);
	env_stop(&e);

	/* with a token, the token decides, wherever the client is */
	env_start_on(&e, host, "s3cret-token", 0, 0, 0);
	snprintf(path, sizeof(path), "/agents/%s/stop", id);
	r = request(&e, "POST", path, NULL, NULL, "Bearer s3cret-token");
	assert_int_equal(r.status, 200);
	resp_free(&r);
	env_stop(&e);
}

/* ---- 64 concurrent clients ---- */

#define CLIENTS 64
#define MESSAGES_PER_CLIENT 5

struct client_arg {
	const struct env *e;
	int n;
	int ok;
};

static void *client_main(void *p)
{
	struct client_arg *a = p;
	char body[256], want[256], url[256];
	http_request req;
	http_response resp;
	json_t *j;
	int i;

	snprintf(url, sizeof(url), "%s/Alice%%20Bot/message", a->e->base);
	for (i = 0; i < MESSAGES_PER_CLIENT; i++) {
		/* even clients have their own room, odd ones all share one */
		snprintf(body, sizeof(body), "{\"text\":\"client %d message %d\",\"userId\":\"user-%d\",\"roomId\":\"%s%d\"}",
		         a->n, i, a->n, a->n % 2 == 0 ? "room-" : "shared", a->n % 2 == 0 ? a->n : 0);
		snprintf(want, sizeof(want), "echo: client %d message %d", a->n, i);
		memset(&req, 0, sizeof(req));
		req.method = "POST";
		req.url = url;
		req.content_type = "application/json";
		req.body = (const uint8_t *)body;
		req.body_len = strlen(body);
		req.no_proxy = true;
		req.timeout_ms = 60000;
		if (http_perform(&resp, &req) != TEELIZA_OK)
			return NULL;
		j = resp.status == 200 ? json_loads((const char *)resp.body.data, 0, NULL) : NULL;
		if (j != NULL && json_array_size(j) == 1 &&
		    strcmp(json_string_value(json_object_get(json_array_get(j, 0), "text")), want) == 0)
			a->ok++;
		json_decref(j);
		http_response_free(&resp);
	}
	return NULL;
}

/* ---- uploads (multipart with files), Express's form semantics ---- */

/* A body sent in pieces: head, `fill` bytes of a pattern, tail; with Content-Length or chunked. */
struct upload {
	const char *ctype;
	const char *head;
	uint64_t fill;
	const char *tail;
	bool chunked;
	bool headers_only;           /* send the request head only, then read the answer */
};

static bool send_all(int fd, const void *data, size_t len)
{
	const char *p = data;
	ssize_t n;

	while (len > 0) {
		n = send(fd, p, len, MSG_NOSIGNAL);
		if (n <= 0)
			return false;
		p += n;
		len -= (size_t)n;
	}
	return true;
}

static bool send_piece(int fd, const void *data, size_t len, bool chunked)
{
	char size[32];

	if (len == 0)
		return true;
	if (!chunked)
		return send_all(fd, data, len);
	snprintf(size, sizeof(size), "%zx\r\n", len);
	return send_all(fd, size, strlen(size)) && send_all(fd, data, len) && send_all(fd, "\r\n", 2);
}

/* POST an upload over a raw socket; returns the status, the response (head and body) in resp. */
static long raw_post(char *resp, size_t resp_len, const struct env *e, const char *path, const struct upload *u)
{
	static uint8_t pattern[65536];
	struct sockaddr_in a;
	char head[512];
	uint64_t left = u->fill;
	size_t got = 0, i, n;
	ssize_t r;
	long status = -1;
	bool ok;
	int fd;

	for (i = 0; i < sizeof(pattern); i++)
		pattern[i] = (uint8_t)(i * 7 + i / 251); /* every byte value, CR and '-' included */
	fd = socket(AF_INET, SOCK_STREAM, 0);
	assert_true(fd >= 0);
	memset(&a, 0, sizeof(a));
	a.sin_family = AF_INET;
	a.sin_port = htons(agent_api_port(e->api));
	a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	assert_int_equal(connect(fd, (struct sockaddr *)&a, sizeof(a)), 0);
	if (u->chunked)
		snprintf(head, sizeof(head),
		         "POST %s HTTP/1.1\r\nHost: x\r\nContent-Type: %s\r\nTransfer-Encoding: chunked\r\n"
		         "Connection: close\r\n\r\n",
		         path, u->ctype);
	else
		snprintf(head, sizeof(head),
		         "POST %s HTTP/1.1\r\nHost: x\r\nContent-Type: %s\r\nContent-Length: %llu\r\n"
		         "Connection: close\r\n\r\n",
		         path, u->ctype, (unsigned long long)(strlen(u->head) + u->fill + strlen(u->tail)));
	ok = send_all(fd, head, strlen(head));
	if (ok && !u->headers_only) {
		ok = send_piece(fd, u->head, strlen(u->head), u->chunked);
		while (ok && left > 0) {
			n = left < sizeof(pattern) ? (size_t)left : sizeof(pattern);
			ok = send_piece(fd, pattern, n, u->chunked);
			left -= n;
		}
		ok = ok && send_piece(fd, u->tail, strlen(u->tail), u->chunked);
		if (ok && u->chunked)
			(void)send_all(fd, "0\r\n\r\n", 5);
	}
	while (got + 1 < resp_len && (r = recv(fd, resp + got, resp_len - 1 - got, 0)) > 0)
		got += (size_t)r;
	resp[got] = 0;
	close(fd);
	if (sscanf(resp, "HTTP/1.%*d %ld", &status) != 1)
		status = -1;
	return status;
}

static const char *resp_body(const char *resp)
{
	const char *b = strstr(resp, "\r\n\r\n");

	return b != NULL ? b + 4 : "";
}

#define BOUNDARY "----WebKitFormBoundaryQz3LzXq8m0VhL2e1"
#define FORM_TYPE "multipart/form-data; boundary=" BOUNDARY
#define TEXT_PART(name, value) "--" BOUNDARY "\r\nContent-Disposition: form-data; name=\"" name "\"\r\n\r\n" value "\r\n"
#define FILE_HEAD(name, filename, type)                                                                  \
	"--" BOUNDARY "\r\nContent-Disposition: form-data; name=\"" name "\"; filename=\"" filename "\"\r\n" \
	"Content-Type: " type "\r\n\r\n"
#define FORM_END "--" BOUNDARY "--\r\n"

/* The user memory of the last message in Alice Bot's default room (by name). */
static json_t *last_user_content(const struct env *e)
{
	struct test_resp r = request(e, "GET", "/agents/Alice%20Bot/default-room-Alice%20Bot/memories", NULL, NULL, NULL);
	json_t *j = body_json(&r), *m, *content;
	char user[AGENT_UUID_BUFSZ];
	size_t i;

	uuid_of(user, "user");
	resp_free(&r);
	json_array_foreach(json_object_get(j, "memories"), i, m) {
		if (strcmp(json_string_value(json_object_get(m, "userId")), user) == 0) {
			content = json_incref(json_object_get(m, "content"));
			json_decref(j);
			return content;
		}
	}
	fail_msg("no user memory");
	return NULL;
}

/* Eliza's web client posts FormData with a file: accepted past 100 kB, the file kept as attachment metadata only. */
static void test_message_upload(void **state)
{
	struct env e;
	struct upload u = { .ctype = FORM_TYPE };
	char resp[8192];
	json_t *content, *a;

	(void)state;
	env_start(&e, NULL, 0);
	/* 150 kB image: Eliza's multer takes it; the 100 kB limit is for JSON and urlencoded bodies */
	u.head = TEXT_PART("text", "what is in this picture?") TEXT_PART("user", "user")
		FILE_HEAD("file", "cat.png", "image/png");
	u.fill = 150 * 1024;
	u.tail = "\r\n" FORM_END;
	assert_int_equal(raw_post(resp, sizeof(resp), &e, "/Alice%20Bot/message", &u), 200);
	assert_non_null(strstr(resp_body(resp), "echo: what is in this picture?"));
	content = last_user_content(&e);
	assert_string_equal(json_string_value(json_object_get(content, "text")), "what is in this picture?");
	assert_int_equal(json_array_size(json_object_get(content, "attachments")), 1);
	a = json_array_get(json_object_get(content, "attachments"), 0);
	assert_string_equal(json_string_value(json_object_get(a, "title")), "cat.png");
	assert_string_equal(json_string_value(json_object_get(a, "contentType")), "image/png");
	assert_string_equal(json_string_value(json_object_get(a, "source")), "direct");
	assert_string_equal(json_string_value(json_object_get(a, "description")), "Uploaded file: cat.png");
	assert_string_equal(json_string_value(json_object_get(a, "url")), "");
	assert_string_equal(json_string_value(json_object_get(a, "text")), "");
	assert_int_equal(json_integer_value(json_object_get(a, "size")), 150 * 1024);
	assert_true(strtoll(json_string_value(json_object_get(a, "id")), NULL, 10) > 1700000000000LL);
	json_decref(content);

	/* chunked (no Content-Length), the client's path in the file name reduced to its base name */
	u.head = TEXT_PART("text", "chunked") FILE_HEAD("file", "../../x/evil.sh", "text/x-sh");
	u.fill = 3 << 20;
	u.chunked = true;
	assert_int_equal(raw_post(resp, sizeof(resp), &e, "/Alice%20Bot/message", &u), 200);
	assert_non_null(strstr(resp_body(resp), "echo: chunked"));
	content = last_user_content(&e);
	a = json_array_get(json_object_get(content, "attachments"), 0);
	assert_string_equal(json_string_value(json_object_get(a, "title")), "evil.sh");
	json_decref(content);
	u.chunked = false;

	/* an empty file input (filename="") is no attachment, as in multer */
	u.head = TEXT_PART("text", "no file") FILE_HEAD("file", "", "application/octet-stream");
	u.fill = 0;
	u.tail = "\r\n" FORM_END;
	assert_int_equal(raw_post(resp, sizeof(resp), &e, "/Alice%20Bot/message", &u), 200);
	content = last_user_content(&e);
	assert_string_equal(json_string_value(json_object_get(content, "text")), "no file");
	assert_int_equal(json_array_size(json_object_get(content, "attachments")), 0);
	json_decref(content);

	/* multer's upload.single("file"): a file under another name, or a second file, is refused */
	u.head = TEXT_PART("text", "x") FILE_HEAD("image", "a.png", "image/png");
	u.fill = 10;
	assert_int_equal(raw_post(resp, sizeof(resp), &e, "/Alice%20Bot/message", &u), 400);
	assert_non_null(strstr(resp_body(resp), "Unexpected field"));
	u.head = FILE_HEAD("file", "a.png", "image/png") "a\r\n" FILE_HEAD("file", "b.png", "image/png");
	assert_int_equal(raw_post(resp, sizeof(resp), &e, "/Alice%20Bot/message", &u), 413);
	assert_string_equal(resp_body(resp), "{\"error\":\"request body too large: too many file parts\"}");
	env_stop(&e);
}

static void test_multipart_errors_and_limits(void **state)
{
	struct env e;
	struct upload u = { .ctype = FORM_TYPE, .tail = "" };
	char resp[8192], *big;
	size_t n;

	(void)state;
	env_start_full(&e, NULL, 0, 1 << 20);
	/* malformed: bare LF line ends, no closing delimiter, a part without a name, no boundary */
	u.head = "--" BOUNDARY "\nContent-Disposition: form-data; name=\"text\"\n\nhi\n--" BOUNDARY "--\n";
	assert_int_equal(raw_post(resp, sizeof(resp), &e, "/Alice%20Bot/message", &u), 400);
	assert_non_null(strstr(resp_body(resp), "\"error\""));
	u.head = TEXT_PART("text", "hi");
	assert_int_equal(raw_post(resp, sizeof(resp), &e, "/Alice%20Bot/message", &u), 400);
	assert_non_null(strstr(resp_body(resp), "closing delimiter"));
	u.head = "--" BOUNDARY "\r\nContent-Disposition: form-data\r\n\r\nhi\r\n" FORM_END;
	assert_int_equal(raw_post(resp, sizeof(resp), &e, "/Alice%20Bot/message", &u), 400);
	assert_non_null(strstr(resp_body(resp), "no name"));
	u.ctype = "multipart/form-data; charset=utf-8";
	assert_int_equal(raw_post(resp, sizeof(resp), &e, "/Alice%20Bot/message", &u), 400);
	assert_non_null(strstr(resp_body(resp), "without a boundary"));
	u.ctype = FORM_TYPE;

	/* the text fields are capped like a JSON body (100 kB) */
	n = 101 * 1024;
	big = malloc(n + 256);
	assert_non_null(big);
	snprintf(big, 256, "--" BOUNDARY "\r\nContent-Disposition: form-data; name=\"text\"\r\n\r\n");
	memset(big + strlen(big), 'a', n);
	strcpy(big + strlen("--" BOUNDARY "\r\nContent-Disposition: form-data; name=\"text\"\r\n\r\n") + n,
	       "\r\n" FORM_END);
	u.head = big;
	assert_int_equal(raw_post(resp, sizeof(resp), &e, "/Alice%20Bot/message", &u), 413);
	assert_non_null(strstr(resp_body(resp), "text fields"));
	free(big);

	/* a file over the limit (1 MiB here): announced, 413 before the body is read; chunked, 413 after it */
	u.head = TEXT_PART("text", "x") FILE_HEAD("file", "big.bin", "application/octet-stream");
	u.fill = 16 << 20;
	u.tail = "\r\n" FORM_END;
	u.headers_only = true;
	assert_int_equal(raw_post(resp, sizeof(resp), &e, "/Alice%20Bot/message", &u), 413);
	u.headers_only = false;
	u.fill = 3 << 20;
	u.chunked = true;
	assert_int_equal(raw_post(resp, sizeof(resp), &e, "/Alice%20Bot/message", &u), 413);
	assert_string_equal(resp_body(resp),
	                    "{\"error\":\"request body too large: a file part is over the upload limit\"}");
	/* just under it */
	u.fill = (1 << 20);
	assert_int_equal(raw_post(resp, sizeof(resp), &e, "/Alice%20Bot/message", &u), 200);
	env_stop(&e);
}

/* body-parser's urlencoded parser (qs) and multer: repeats become arrays, undecodable text stays as sent. */
static void test_form_field_semantics(void **state)
{
	struct env e;
	struct test_resp r;
	char *many;
	size_t i;

	(void)state;
	env_start(&e, NULL, 0);
	r = request(&e, "POST", "/Alice%20Bot/message", "application/x-www-form-urlencoded", "text=a&text=b", NULL);
	assert_int_equal(r.status, 400);
	assert_string_equal(r.body, "{\"error\":\"text must be a string\"}");
	resp_free(&r);
	r = request(&e, "POST", "/Alice%20Bot/message", "application/x-www-form-urlencoded",
	            "=x&&text=100%25+sure&userId&", NULL);
	assert_int_equal(r.status, 200);
	assert_non_null(strstr(r.body, "echo: 100% sure"));
	resp_free(&r);
	/* a lone '%' or bytes that are not UTF-8: qs keeps the text undecoded */
	r = request(&e, "POST", "/Alice%20Bot/message", "application/x-www-form-urlencoded", "text=50%+off%21", NULL);
	assert_non_null(strstr(r.body, "echo: 50% off%21"));
	resp_free(&r);
	r = request(&e, "POST", "/Alice%20Bot/message", "application/x-www-form-urlencoded", "text=%FF+%41", NULL);
	assert_non_null(strstr(r.body, "echo: %FF %41"));
	resp_free(&r);
	/* 1000 parameters is body-parser's limit */
	many = malloc(4 * 1000 + 16);
	assert_non_null(many);
	strcpy(many, "text=hi");
	for (i = 0; i < 999; i++)
		strcat(many, "&a=1");
	r = request(&e, "POST", "/Alice%20Bot/message", "application/x-www-form-urlencoded", many, NULL);
	assert_int_equal(r.status, 200);
	resp_free(&r);
	strcat(many, "&b");
	r = request(&e, "POST", "/Alice%20Bot/message", "application/x-www-form-urlencoded", many, NULL);
	assert_int_equal(r.status, 413);
	assert_string_equal(r.body, "{\"error\":\"too many parameters\"}");
	resp_free(&r);
	free(many);
	/* JSON is application/json or a media type ending in +json, not "+json" anywhere in the header */
	r = request(&e, "POST", "/Alice%20Bot/message", "text/plain; note=a+json", "not json", NULL);
	assert_int_equal(r.status, 200);
	assert_string_equal(r.body, "[]");
	resp_free(&r);
	r = request(&e, "POST", "/Alice%20Bot/message", "application/vnd.api+json; charset=utf-8", "{\"text\":\"vnd\"}",
	            NULL);
	assert_non_null(strstr(r.body, "echo: vnd"));
	resp_free(&r);
	/* multipart: a repeated field is an array too; an empty one is "" */
	r = request(&e, "POST", "/Alice%20Bot/message", FORM_TYPE, TEXT_PART("text", "a") TEXT_PART("text", "b") FORM_END,
	            NULL);
	assert_int_equal(r.status, 400);
	resp_free(&r);
	r = request(&e, "POST", "/Alice%20Bot/message", FORM_TYPE, TEXT_PART("text", "") FORM_END, NULL);
	assert_int_equal(r.status, 200);
	assert_string_equal(r.body, "[]");
	resp_free(&r);
	env_stop(&e);
}

static void test_max_file_env(void **state)
{
	agent_api_config c;

	(void)state;
	memset(&c, 0, sizeof(c));
	setenv("TEELIZA_MAX_FILE_SIZE", "10mb", 1);
	assert_int_equal(agent_api_config_from_env(&c), TEELIZA_OK);
	assert_int_equal(c.max_file, (size_t)10 << 20);
	setenv("TEELIZA_MAX_FILE_SIZE", "big", 1);
	assert_int_equal(agent_api_config_from_env(&c), TEELIZA_ERR_CONFIG);
	assert_non_null(strstr(teeliza_errmsg(), "TEELIZA_MAX_FILE_SIZE"));
	unsetenv("TEELIZA_MAX_FILE_SIZE");
}

/* Peak RSS of this process in kB (VmHWM), or 0 when unknown. */
static long peak_rss_kb(const char *key)
{
	char line[256];
	long kb = 0;
	FILE *f = fopen("/proc/self/status", "r");

	if (f == NULL)
		return 0;
	while (fgets(line, sizeof(line), f) != NULL)
		if (strncmp(line, key, strlen(key)) == 0)
			kb = strtol(line + strlen(key), NULL, 10);
	fclose(f);
	return kb;
}

/* A 50 MiB file part is answered, and the server never holds it: the peak RSS stays far below its size. */
static void test_upload_memory_bounded(void **state)
{
	struct env e;
	struct upload u = { .ctype = FORM_TYPE };
	char resp[8192];
	long before, after;
	FILE *f;

	(void)state;
	env_start(&e, NULL, 0);
	/* warm up (threads, SQLite, first message), then reset the peak (Linux clear_refs "5") */
	u.head = TEXT_PART("text", "warm up") FILE_HEAD("file", "w.bin", "application/octet-stream");
	u.fill = 1 << 20;
	u.tail = "\r\n" FORM_END;
	assert_int_equal(raw_post(resp, sizeof(resp), &e, "/Alice%20Bot/message", &u), 200);
	f = fopen("/proc/self/clear_refs", "w");
	if (f != NULL) {
		fputs("5", f);
		fclose(f);
	}
	before = peak_rss_kb("VmHWM:");
	u.head = TEXT_PART("text", "a big upload") FILE_HEAD("file", "video.mp4", "video/mp4");
	u.fill = (uint64_t)50 << 20;
	assert_int_equal(raw_post(resp, sizeof(resp), &e, "/Alice%20Bot/message", &u), 200);
	assert_non_null(strstr(resp_body(resp), "echo: a big upload"));
	after = peak_rss_kb("VmHWM:");
	print_message("peak RSS %ld kB before, %ld kB after a 50 MiB upload (+%ld kB)\n", before, after, after - before);
	if (before > 0)
		assert_true(after - before < 16 * 1024); /* generous: the file is 51200 kB */
	env_stop(&e);
}

static void test_concurrent_clients(void **state)
{
	struct env e;
	pthread_t th[CLIENTS];
	struct client_arg args[CLIENTS];
	char room[AGENT_UUID_BUFSZ], name[32], text[64];
	agent_memory_list mems;
	agent_memory_query q;
	size_t count, i, j, seen;
	int n;

	(void)state;
	env_start(&e, NULL, 0);
	for (n = 0; n < CLIENTS; n++) {
		args[n].e = &e;
		args[n].n = n;
		args[n].ok = 0;
		assert_int_equal(pthread_create(&th[n], NULL, client_main, &args[n]), 0);
	}
	for (n = 0; n < CLIENTS; n++) {
		assert_int_equal(pthread_join(th[n], NULL), 0);
		assert_int_equal(args[n].ok, MESSAGES_PER_CLIENT);
	}
	/* nothing lost: every room holds every message and every reply */
	for (n = 0; n < CLIENTS; n += 2) {
		snprintf(name, sizeof(name), "room-%d", n);
		uuid_of(room, name);
		assert_int_equal(agent_store_count_memories(e.store, &count, NULL, room, false), TEELIZA_OK);
		assert_int_equal(count, 2 * MESSAGES_PER_CLIENT);
	}
	uuid_of(room, "shared0");
	assert_int_equal(agent_store_count_memories(e.store, &count, NULL, room, false), TEELIZA_OK);
	assert_int_equal(count, 2 * MESSAGES_PER_CLIENT * (CLIENTS / 2));
	/* nothing mixed up: each user message in the shared room is answered by its own echo */
	memset(&q, 0, sizeof(q));
	q.room_id = room;
	assert_int_equal(agent_store_get_memories(e.store, &mems, &q), TEELIZA_OK);
	for (n = 1; n < CLIENTS; n += 2) {
		for (i = 0; i < MESSAGES_PER_CLIENT; i++) {
			snprintf(text, sizeof(text), "\"echo: client %d message %zu\"", n, i);
			seen = 0;
			for (j = 0; j < mems.count; j++)
				if (strstr(mems.items[j].content, text) != NULL)
					seen++;
			assert_int_equal(seen, 1);
		}
	}
	/* and each reply points at the message it answers */
	for (j = 0; j < mems.count; j++) {
		json_t *c = json_loads(mems.items[j].content, 0, NULL);
		const char *t = json_string_value(json_object_get(c, "text"));
		const char *to = json_string_value(json_object_get(c, "inReplyTo"));

		assert_non_null(t);
		if (strncmp(t, "echo: ", 6) == 0) {
			assert_non_null(to);
			for (i = 0; i < mems.count; i++)
				if (strcmp(mems.items[i].id, to) == 0)
					break;
			assert_true(i < mems.count);
			assert_non_null(strstr(mems.items[i].content, t + 6));
		}
		json_decref(c);
	}
	agent_memory_list_free(&mems);
	env_stop(&e);
}

static void expect_json_status(const struct env *e, const char *method, const char *path, const char *body,
                               long status)
{
	struct test_resp r = request(e, method, path, body != NULL ? "application/json" : NULL, body, NULL);

	if (r.status != status)
		fail_msg("%s %s: %ld, want %ld (%s)", method, path, r.status, status, r.body != NULL ? r.body : "");
	resp_free(&r);
}

/* A keyed message (raw, so that the header can be sent): the whole reply, status line to body. */
static char *keyed_message(const struct env *e, const char *key, const char *body)
{
	char req[1024];

	snprintf(req, sizeof(req),
	         "POST /Alice%%20Bot/message HTTP/1.1\r\nHost: t\r\nContent-Type: application/json\r\n"
	         "Idempotency-Key: %s\r\nContent-Length: %zu\r\nConnection: close\r\n\r\n%s",
	         key, strlen(body), body);
	return raw_request(e, NULL, req);
}

/* Idempotency-Key: one model call, the stored reply again, 422 for another body, 400 for a bad key. */
static void test_idempotency_key(void **state)
{
	struct env e;
	char *a, *b;

	(void)state;
	env_start(&e, NULL, 0);
	atomic_store(&generate_calls, 0);
	a = keyed_message(&e, "key-1", "{\"text\":\"once\",\"roomId\":\"idem\"}");
	assert_int_equal(status_of(a), 200);
	b = keyed_message(&e, "key-1", "{\"text\":\"once\",\"roomId\":\"idem\"}");
	assert_int_equal(status_of(b), 200);
	assert_string_equal(body_of(a), body_of(b));
	assert_null(strstr(a, "Idempotent-Replayed"));
	assert_non_null(strstr(b, "\r\nIdempotent-Replayed: true\r\n"));
	assert_int_equal(atomic_load(&generate_calls), 1);
	free(b);
	b = keyed_message(&e, "key-1", "{\"text\":\"another\",\"roomId\":\"idem\"}");
	assert_int_equal(status_of(b), 422);
	free(b);
	b = keyed_message(&e, "bad\tkey", "{\"text\":\"once\",\"roomId\":\"idem\"}");
	assert_int_equal(status_of(b), 400);
	free(b);
	assert_int_equal(atomic_load(&generate_calls), 1);
	free(a);
	env_stop(&e);
}

struct keyed_call {
	const struct env *e;
	const char *key, *body;
	char *reply;
};

static void *keyed_thread(void *arg)
{
	struct keyed_call *c = arg;

	c->reply = keyed_message(c->e, c->key, c->body);
	return NULL;
}

/*
 * The database goes away after a keyed reply's memories are written but
 * before its claim is marked done: the client gets its answer, the claim is
 * not given up (a retry would run the model again), the completion is
 * retried in the background, a duplicate meanwhile is not run again, and
 * once the database is back the claim is done with the reply the client got.
 */
static void test_idempotency_unrecorded(void **state)
{
	static const char body[] = "{\"text\":\"kept\",\"roomId\":\"idem-down\"}";
	struct keyed_call dup;
	struct env e;
	pthread_t t;
	char *a, *b, log[8192];
	size_t n;

	(void)state;
	env_start(&e, NULL, 0);
	use_store_double(&e);
	atomic_store(&db_down, false);
	atomic_store(&generate_calls, 0);
	atomic_store(&complete_down, true);
	a = keyed_message(&e, "key-down", body);
	assert_int_equal(status_of(a), 200);
	assert_int_equal(atomic_load(&generate_calls), 1);
	assert_int_equal(atomic_load(&release_calls), 0); /* not given up */
	/* it is tried again while the database stays away (deterministic: the first try alone counts 1) */
	for (int i = 0; i < 1000 && atomic_load(&complete_calls) < 3; i++)
		usleep(10 * 1000);
	assert_true(atomic_load(&complete_calls) >= 3);
	assert_int_equal(atomic_load(&release_calls), 0);
	/* a duplicate while the completion waits: it waits (or gets 409 with Retry-After), never runs again */
	dup.e = &e;
	dup.key = "key-down";
	dup.body = body;
	dup.reply = NULL;
	assert_int_equal(pthread_create(&t, NULL, keyed_thread, &dup), 0);
	usleep(300 * 1000);
	atomic_store(&complete_down, false);
	assert_int_equal(pthread_join(t, NULL), 0);
	if (status_of(dup.reply) == 409) {
		assert_non_null(strstr(dup.reply, "\r\nRetry-After: 1\r\n"));
	} else {
		assert_int_equal(status_of(dup.reply), 200);
		assert_string_equal(body_of(a), body_of(dup.reply));
	}
	free(dup.reply);
	/* recorded: the stored reply comes back (waiting for the background try if it is not there yet) */
	b = keyed_message(&e, "key-down", body);
	assert_int_equal(status_of(b), 200);
	assert_string_equal(body_of(a), body_of(b));
	assert_non_null(strstr(b, "\r\nIdempotent-Replayed: true\r\n"));
	assert_int_equal(atomic_load(&generate_calls), 1);
	assert_int_equal(atomic_load(&release_calls), 0);
	free(a);
	free(b);
	/* stopping while a completion still waits: tried once more, then logged, no hang */
	atomic_store(&complete_down, true);
	a = keyed_message(&e, "key-down-2", "{\"text\":\"left\",\"roomId\":\"idem-down\"}");
	assert_int_equal(status_of(a), 200);
	free(a);
	agent_runtime_release(e.alice);
	agent_api_stop(e.api);
	assert_int_equal(atomic_load(&release_calls), 0);
	rewind(e.log);
	n = fread(log, 1, sizeof(log) - 1, e.log);
	log[n] = '\0';
	assert_non_null(strstr(log, "recorded as done once the database answered again"));
	assert_non_null(strstr(log, "Stopping with 1 answered requests not recorded as done"));
	agent_registry_free(e.reg);
	agent_store_close(e.store);
	fclose(e.log);
}

/* /readyz and the 503 gate follow the store's ping, and recover by themselves (api_ready.c). */
static void test_readyz(void **state)
{
	struct env e;
	struct test_resp r;

	(void)state;
	env_start(&e, NULL, 0);
	use_store_double(&e);
	atomic_store(&db_down, false);
	r = request(&e, "GET", "/readyz", NULL, NULL, NULL);
	assert_int_equal(r.status, 200);
	assert_non_null(strstr(r.body, "\"status\":\"ready\""));
	resp_free(&r);
	atomic_store(&db_down, true);
	usleep(1100 * 1000); /* the last answer is kept for a second */
	r = request(&e, "GET", "/readyz", NULL, NULL, NULL);
	assert_int_equal(r.status, 503);
	assert_non_null(strstr(r.body, "test double: the database is down"));
	resp_free(&r);
	atomic_store(&generate_calls, 0);
	expect_json_status(&e, "POST", "/Alice%20Bot/message", "{\"text\":\"hi\"}", 503);
	assert_int_equal(atomic_load(&generate_calls), 0);
	{
		char *raw = keyed_message(&e, "k", "{\"text\":\"hi\"}");

		assert_int_equal(status_of(raw), 503);
		assert_non_null(strstr(raw, "\r\nRetry-After: 1\r\n"));
		free(raw);
	}
	expect_json_status(&e, "GET", "/agents/Alice%20Bot/instances", NULL, 503);
	/* the process is fine: liveness and the agent list still answer */
	expect_json_status(&e, "GET", "/healthz", NULL, 200);
	expect_json_status(&e, "GET", "/agents", NULL, 200);
	atomic_store(&db_down, false);
	usleep(1100 * 1000);
	expect_json_status(&e, "GET", "/readyz", NULL, 200);
	expect_json_status(&e, "POST", "/Alice%20Bot/message", "{\"text\":\"hi\"}", 200);
	env_stop(&e);
}

/*
 * A store that times out (no pooled connection came free) while its ping
 * passes: 503 with Retry-After, not 500, with or without a key; a model
 * that times out is still a 500 (api_message.c tells them apart by the
 * store's own record, agent_store_failure).
 */
static void test_busy_store(void **state)
{
	static const char unkeyed[] = "POST /Alice%20Bot/message HTTP/1.1\r\nHost: t\r\nContent-Type: application/json\r\n"
	                              "Content-Length: 13\r\nConnection: close\r\n\r\n{\"text\":\"hi\"}";
	struct env e;
	struct test_resp r;
	char *raw, alice[AGENT_UUID_BUFSZ], body[256];

	(void)state;
	env_start(&e, NULL, 0);
	use_store_double(&e);
	atomic_store(&db_down, false);
	atomic_store(&db_busy, true);
	raw = raw_request(&e, NULL, unkeyed);
	assert_int_equal(status_of(raw), 503);
	assert_non_null(strstr(raw, "\r\nRetry-After: 1\r\n"));
	assert_non_null(strstr(raw, "The database is busy"));
	free(raw);
	raw = keyed_message(&e, "busy-1", "{\"text\":\"hi\"}");
	assert_int_equal(status_of(raw), 503);
	assert_non_null(strstr(raw, "\r\nRetry-After: 1\r\n"));
	free(raw);
	/* a read the busy database cannot answer: 503 with Eliza's words, not 500 */
	r = request(&e, "GET", "/agents/alice%20bot/room-1/memories", NULL, NULL, NULL);
	assert_int_equal(r.status, 503);
	assert_non_null(strstr(r.body, "Failed to fetch memories"));
	resp_free(&r);
	/* and a message over elizaOS v1's API */
	assert_int_equal(agent_uuid_from_string(alice, "Alice Bot"), TEELIZA_OK);
	snprintf(body, sizeof(body), "{\"content\":\"hi\",\"transport\":\"http\",\"metadata\":{\"targetAgentId\":\"%s\"}}",
	         alice);
	r = request(&e, "POST", "/api/messaging/channels/99999999-9999-4999-8999-999999999999/messages",
	            "application/json", body, NULL);
	assert_int_equal(r.status, 503);
	assert_non_null(strstr(r.body, "SERVICE_UNAVAILABLE"));
	resp_free(&r);
	/* the same key once the database has a connection free again: answered */
	atomic_store(&db_busy, false);
	raw = keyed_message(&e, "busy-1", "{\"text\":\"hi\"}");
	assert_int_equal(status_of(raw), 200);
	free(raw);
	expect_json_status(&e, "GET", "/readyz", NULL, 200);
	/* a model that times out is the model's failure, whatever the store did earlier on this thread */
	r = request(&e, "POST", "/Alice%20Bot/message", "application/json", "{\"text\":\"slow model\"}", NULL);
	assert_int_equal(r.status, 500);
	assert_non_null(strstr(r.body, "No response from generateMessageResponse"));
	resp_free(&r);
	env_stop(&e);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_root_and_hello),
		cmocka_unit_test(test_agents_list_and_get),
		cmocka_unit_test(test_message_routes),
		cmocka_unit_test(test_message_forms),
		cmocka_unit_test(test_body_limit),
		cmocka_unit_test(test_memories),
		cmocka_unit_test(test_stop_delete_set),
		cmocka_unit_test(test_set_extends_refused),
		cmocka_unit_test(test_actions_and_callbacks),
		cmocka_unit_test(test_auth_and_cors),
		cmocka_unit_test(test_warning_and_port_fallback),
		cmocka_unit_test(test_sizes_and_env),
		cmocka_unit_test(test_attestation_route),
		cmocka_unit_test(test_concurrent_clients),
		cmocka_unit_test(test_message_upload),
		cmocka_unit_test(test_multipart_errors_and_limits),
		cmocka_unit_test(test_form_field_semantics),
		cmocka_unit_test(test_upload_memory_bounded),
		cmocka_unit_test(test_max_file_env),
		cmocka_unit_test(test_not_found_is_plain_text),
		cmocka_unit_test(test_every_reply_has_cors),
		cmocka_unit_test(test_rate_limit),
		cmocka_unit_test(test_limits_env),
		cmocka_unit_test(test_control_routes_loopback_only),
		cmocka_unit_test(test_readyz),
		cmocka_unit_test(test_idempotency_key),
		cmocka_unit_test(test_busy_store),
		cmocka_unit_test(test_idempotency_unrecorded),
	};

	/* TEE settings come from the registry config here, never from the caller's environment. */
	unsetenv("TEE_MODE");
	return cmocka_run_group_tests(tests, NULL, NULL);
}
