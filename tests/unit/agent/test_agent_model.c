/*
 * The model layer against a local OpenAI-compatible server written here on
 * libmicrohttpd (it records every request): the exact request, replies,
 * fenced JSON, bounded retries with fallback, HTTP errors, refused
 * connections, timeouts; provider selection from settings; the offline
 * responder as a model; parseJSONObjectFromText.
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <cmocka.h>

#include "fakehttp.h"
#include "testutil.h"
#include "teeliza/agent/model.h"
#include "teeliza/agent/parse_reply.h"

#include <jansson.h>
#include <microhttpd.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

/* ---- the recording server ---- */

#define MAX_RECORDED 32
#define MAX_SCRIPT 8

struct scripted {
	unsigned status;
	const char *body;
	long delay_ms;
};

struct server {
	struct fakehttp srv;
	char base[64];               /* http://127.0.0.1:<port>/v1 */
	pthread_mutex_t mu;
	bool stopping;
	struct fakehttp_request req[MAX_RECORDED];
	size_t n_req;
	struct scripted script[MAX_SCRIPT]; /* reply n uses script[min(n, n_script - 1)] */
	size_t n_script;
};

static enum MHD_Result handle(void *ctx, struct MHD_Connection *conn, const char *method, const char *url,
                              const char *body, size_t body_len)
{
	struct server *s = ctx;
	struct scripted reply = { 500, "{\"error\":{\"message\":\"no script\"}}", 0 };

	pthread_mutex_lock(&s->mu);
	if (s->n_req < MAX_RECORDED)
		fakehttp_record(&s->req[s->n_req], conn, method, url, body, body_len);
	if (s->n_script > 0)
		reply = s->script[s->n_req < s->n_script ? s->n_req : s->n_script - 1];
	s->n_req++;
	pthread_mutex_unlock(&s->mu);
	/* A slow server, in small steps so that stopping the test does not wait long. */
	for (long waited = 0; waited < reply.delay_ms; waited += 10) {
		bool stop;

		pthread_mutex_lock(&s->mu);
		stop = s->stopping;
		pthread_mutex_unlock(&s->mu);
		if (stop)
			break;
		usleep(10000);
	}
	return fakehttp_reply(conn, reply.status, reply.body, strlen(reply.body), false);
}

static struct server *server_start(void)
{
	struct server *s = calloc(1, sizeof(*s));

	assert_non_null(s);
	pthread_mutex_init(&s->mu, NULL);
	fakehttp_start(&s->srv, false, 8 << 20, handle, s);
	snprintf(s->base, sizeof(s->base), "http://127.0.0.1:%u/v1", (unsigned)s->srv.port);
	return s;
}

static void server_stop(struct server *s)
{
	pthread_mutex_lock(&s->mu);
	s->stopping = true;
	pthread_mutex_unlock(&s->mu);
	fakehttp_stop(&s->srv);
	for (size_t i = 0; i < s->n_req && i < MAX_RECORDED; i++)
		fakehttp_request_free(&s->req[i]);
	pthread_mutex_destroy(&s->mu);
	free(s);
}

static void server_script(struct server *s, size_t n, const struct scripted *replies)
{
	assert_true(n <= MAX_SCRIPT);
	pthread_mutex_lock(&s->mu);
	memcpy(s->script, replies, n * sizeof(*replies));
	s->n_script = n;
	pthread_mutex_unlock(&s->mu);
}

static size_t server_requests(struct server *s)
{
	size_t n;

	pthread_mutex_lock(&s->mu);
	n = s->n_req;
	pthread_mutex_unlock(&s->mu);
	return n;
}

/* A chat-completions answer whose message content is text. Caller frees. */
static char *completion(const char *text)
{
	json_t *j = json_pack("{s:s,s:s,s:[{s:i,s:{s:s,s:s},s:s}]}", "id", "chatcmpl-1", "object", "chat.completion",
	                      "choices", "index", 0, "message", "role", "assistant", "content", text,
	                      "finish_reason", "stop");
	char *s;

	assert_non_null(j);
	s = json_dumps(j, JSON_COMPACT);
	json_decref(j);
	assert_non_null(s);
	return s;
}

/* ---- settings and logs ---- */

struct settings {
	const char *kv[32][2];
};

static const char *get_setting(void *ctx, const char *key)
{
	const struct settings *s = ctx;

	for (size_t i = 0; i < 32 && s->kv[i][0] != NULL; i++) {
		if (strcmp(s->kv[i][0], key) == 0)
			return s->kv[i][1];
	}
	return NULL;
}

struct logbook {
	char lines[16][1024];
	size_t n;
};

static void log_line(void *ctx, const char *line)
{
	struct logbook *lb = ctx;

	if (lb->n < 16)
		snprintf(lb->lines[lb->n], sizeof(lb->lines[0]), "%s", line);
	lb->n++;
}

static size_t log_count(const struct logbook *lb, const char *needle)
{
	size_t n = 0;

	for (size_t i = 0; i < lb->n && i < 16; i++) {
		if (strstr(lb->lines[i], needle) != NULL)
			n++;
	}
	return n;
}

/* A model for the test server: RedPill with its URL pointed at it. */
static agent_llm *redpill_at(struct server *s, struct settings *st, struct logbook *lb)
{
	agent_llm_config cfg;
	agent_llm *m = NULL;
	size_t i = 0;

	while (st->kv[i][0] != NULL)
		i++;
	st->kv[i][0] = "REDPILL_API_URL";
	st->kv[i][1] = s->base;
	memset(&cfg, 0, sizeof(cfg));
	cfg.provider = "redpill";
	cfg.get = get_setting;
	cfg.get_ctx = st;
	cfg.log = log_line;
	cfg.log_ctx = lb;
	assert_int_equal(agent_llm_from_settings(&m, &cfg), TEELIZA_OK);
	assert_non_null(m);
	assert_false(m->offline);
	return m;
}

static const agent_reply_config quick = { 3, -1, "Zed", NULL, NULL };

/* ---- tests ---- */

static void check_body(const char *body, const char *model, bool with_system, bool with_stop)
{
	json_t *j = json_loads(body, 0, NULL), *msgs;
	const char *expected_keys[] = { "model", "messages", "temperature", "max_tokens", "frequency_penalty",
	                                "presence_penalty" };

	assert_non_null(j);
	for (size_t k = 0; k < sizeof(expected_keys) / sizeof(expected_keys[0]); k++)
		assert_non_null(json_object_get(j, expected_keys[k]));
	assert_int_equal(json_object_size(j), 6 + (with_stop ? 1 : 0));
	assert_string_equal(json_string_value(json_object_get(j, "model")), model);
	assert_true(json_is_real(json_object_get(j, "temperature")));
	assert_true(json_real_value(json_object_get(j, "temperature")) == 0.6);
	assert_int_equal(json_integer_value(json_object_get(j, "max_tokens")), 8192);
	assert_true(json_number_value(json_object_get(j, "frequency_penalty")) == 0.0);
	assert_true(json_number_value(json_object_get(j, "presence_penalty")) == 0.0);
	msgs = json_object_get(j, "messages");
	assert_int_equal(json_array_size(msgs), with_system ? 2 : 1);
	if (with_system) {
		assert_string_equal(json_string_value(json_object_get(json_array_get(msgs, 0), "role")), "system");
		assert_string_equal(json_string_value(json_object_get(json_array_get(msgs, 0), "content")),
		                    "You are Zed.");
	}
	assert_string_equal(json_string_value(json_object_get(json_array_get(msgs, with_system ? 1 : 0), "role")),
	                    "user");
	assert_string_equal(json_string_value(json_object_get(json_array_get(msgs, with_system ? 1 : 0), "content")),
	                    "# Task: reply to \"hi\" \xe2\x9c\x93");
	if (with_stop) {
		assert_int_equal(json_array_size(json_object_get(j, "stop")), 2);
		assert_string_equal(json_string_value(json_array_get(json_object_get(j, "stop"), 1)), "\n\n");
	}
	json_decref(j);
	/* 0.6 goes out as 0.6, not 0.59999999999999998. */
	assert_non_null(strstr(body, "\"temperature\":0.6,"));
}

static void test_request_shape(void **state)
{
	struct server *s = server_start();
	struct settings st = { { { "REDPILL_API_KEY", "sk-test-123" },
	                         { "SMALL_REDPILL_MODEL", "anthropic/claude-3-5-sonnet" },
	                         { "LARGE_REDPILL_MODEL", "anthropic/claude-3-opus" },
	                         { "REDPILL_MODEL", "meta/llama-3" } } };
	struct logbook lb = { .n = 0 };
	char *ok = completion("hello");
	struct scripted replies[] = { { 200, ok, 0 } };
	static const char *const stop[] = { "###", "\n\n", NULL };
	const char *want[3] = { "anthropic/claude-3-5-sonnet", "meta/llama-3", "anthropic/claude-3-opus" };
	agent_llm *m;
	agent_llm_options o;
	teeliza_buf out;
	char desc[512];

	(void)state;
	server_script(s, 1, replies);
	m = redpill_at(s, &st, &lb);
	assert_string_equal(m->provider, "redpill");
	assert_string_equal(m->base_url, s->base);
	teeliza_buf_init(&out, 1 << 20);
	for (int size = AGENT_LLM_SMALL; size <= AGENT_LLM_LARGE; size++) {
		assert_int_equal(agent_llm_generate(m, &out, "You are Zed.", "# Task: reply to \"hi\" \xe2\x9c\x93",
		                                    (agent_llm_size)size, NULL),
		                 TEELIZA_OK);
		assert_string_equal((const char *)out.data, "hello");
	}
	agent_llm_default_options(&o, m);
	o.stop = stop;
	assert_int_equal(agent_llm_generate(m, &out, NULL, "# Task: reply to \"hi\" \xe2\x9c\x93", AGENT_LLM_SMALL, &o),
	                 TEELIZA_OK);
	assert_int_equal(server_requests(s), 4);
	for (size_t i = 0; i < 4; i++) {
		assert_string_equal(s->req[i].method, "POST");
		assert_string_equal(s->req[i].path, "/v1/chat/completions");
		assert_string_equal(s->req[i].auth, "Bearer sk-test-123");
		assert_string_equal(s->req[i].content_type, "application/json");
		check_body(s->req[i].body, i < 3 ? want[i] : want[0], i < 3, i == 3);
	}
	/* The description names models and URL, never the key. */
	agent_llm_describe(desc, sizeof(desc), m);
	assert_non_null(strstr(desc, "anthropic/claude-3-opus"));
	assert_null(strstr(desc, "sk-test"));
	assert_int_equal(lb.n, 0);
	teeliza_buf_free(&out);
	agent_llm_free(m);
	server_stop(s);
	free(ok);
}

static void test_good_and_fenced_reply(void **state)
{
	struct server *s = server_start();
	struct settings st = { { { "REDPILL_API_KEY", "k" } } };
	struct logbook lb = { .n = 0 };
	char *plain = completion("{\"user\":\"Zed\",\"text\":\"Hi there\",\"action\":\"NONE\"}");
	char *fenced = completion("Sure! Here you go:\n```json\n{\n  \"user\": \"Zed\",\n  \"text\": \"My keys {stay} "
	                          "inside\",\n  \"action\": \"WALLET_ADDRESS\",\n  \"extra\": {\"n\": 1}\n}\n```\nDone.");
	struct scripted replies[] = { { 200, plain, 0 }, { 200, fenced, 0 } };
	agent_reply_info info;
	agent_llm *m;
	json_t *c;

	(void)state;
	server_script(s, 2, replies);
	m = redpill_at(s, &st, &lb);
	assert_int_equal(agent_generate_reply(&c, &info, m, "sys", "prompt", AGENT_LLM_LARGE, NULL, &quick), TEELIZA_OK);
	assert_string_equal(json_string_value(json_object_get(c, "text")), "Hi there");
	assert_string_equal(json_string_value(json_object_get(c, "action")), "NONE");
	assert_int_equal(info.attempts, 1);
	assert_false(info.fallback);
	json_decref(c);
	assert_int_equal(agent_generate_reply(&c, &info, m, "sys", "prompt", AGENT_LLM_LARGE, NULL, &quick), TEELIZA_OK);
	assert_string_equal(json_string_value(json_object_get(c, "text")), "My keys {stay} inside");
	assert_string_equal(json_string_value(json_object_get(c, "action")), "WALLET_ADDRESS");
	/* Extra members the model emitted are kept, as in Eliza. */
	assert_int_equal(json_integer_value(json_object_get(json_object_get(c, "extra"), "n")), 1);
	assert_int_equal(info.attempts, 1);
	json_decref(c);
	assert_int_equal(server_requests(s), 2);
	assert_int_equal(lb.n, 0);
	agent_llm_free(m);
	server_stop(s);
	free(plain);
	free(fenced);
}

static void test_malformed_bounded_retries(void **state)
{
	struct server *s = server_start();
	struct settings st = { { { "REDPILL_API_KEY", "k" } } };
	struct logbook lb = { .n = 0 };
	char *junk = completion("  I would rather just talk, no JSON today.  ");
	char *good = completion("{\"user\":\"Zed\",\"text\":\"ok\",\"action\":\"NONE\"}");
	struct scripted always_junk[] = { { 200, junk, 0 } };
	struct scripted junk_then_good[] = { { 200, junk, 0 }, { 200, good, 0 } };
	agent_reply_config five = quick;
	agent_reply_info info;
	agent_llm *m;
	json_t *c;

	(void)state;
	server_script(s, 1, always_junk);
	m = redpill_at(s, &st, &lb);
	assert_int_equal(agent_generate_reply(&c, &info, m, NULL, "p", AGENT_LLM_LARGE, NULL, &quick), TEELIZA_OK);
	/* Exactly three calls, then the text itself, trimmed, with action NONE. */
	assert_int_equal(server_requests(s), 3);
	assert_int_equal(info.attempts, 3);
	assert_true(info.fallback);
	assert_string_equal(json_string_value(json_object_get(c, "user")), "Zed");
	assert_string_equal(json_string_value(json_object_get(c, "text")), "I would rather just talk, no JSON today.");
	assert_string_equal(json_string_value(json_object_get(c, "action")), "NONE");
	json_decref(c);
	assert_int_equal(log_count(&lb, "asking again"), 2);
	assert_int_equal(log_count(&lb, "1/3"), 1);
	assert_int_equal(log_count(&lb, "using its text as the reply"), 1);

	/* A configurable bound. */
	five.max_attempts = 5;
	assert_int_equal(agent_generate_reply(&c, &info, m, NULL, "p", AGENT_LLM_LARGE, NULL, &five), TEELIZA_OK);
	assert_int_equal(server_requests(s), 8);
	assert_int_equal(info.attempts, 5);
	json_decref(c);

	/* One bad answer, then a good one: no fallback. */
	pthread_mutex_lock(&s->mu);
	for (size_t i = 0; i < s->n_req && i < MAX_RECORDED; i++)
		fakehttp_request_free(&s->req[i]);
	s->n_req = 0;
	pthread_mutex_unlock(&s->mu);
	server_script(s, 2, junk_then_good);
	assert_int_equal(agent_generate_reply(&c, &info, m, NULL, "p", AGENT_LLM_LARGE, NULL, &quick), TEELIZA_OK);
	assert_int_equal(server_requests(s), 2);
	assert_int_equal(info.attempts, 2);
	assert_false(info.fallback);
	assert_string_equal(json_string_value(json_object_get(c, "text")), "ok");
	json_decref(c);
	agent_llm_free(m);
	server_stop(s);
	free(junk);
	free(good);
}

static void test_empty_text_is_an_error(void **state)
{
	struct server *s = server_start();
	struct settings st = { { { "REDPILL_API_KEY", "k" } } };
	struct logbook lb = { .n = 0 };
	char *empty = completion("");
	char *blank = completion(" \n\t ");
	struct scripted r_empty[] = { { 200, empty, 0 } };
	struct scripted r_blank[] = { { 200, blank, 0 } };
	agent_reply_info info;
	agent_llm *m;
	json_t *c = NULL;

	(void)state;
	m = redpill_at(s, &st, &lb);
	server_script(s, 1, r_empty);
	assert_int_equal(agent_generate_reply(&c, &info, m, NULL, "p", AGENT_LLM_SMALL, NULL, &quick),
	                 TEELIZA_ERR_PROTOCOL);
	assert_null(c);
	assert_non_null(strstr(teeliza_errmsg(), "empty text"));
	server_script(s, 1, r_blank);
	assert_int_equal(agent_generate_reply(&c, &info, m, NULL, "p", AGENT_LLM_SMALL, NULL, &quick),
	                 TEELIZA_ERR_PROTOCOL);
	assert_false(info.fallback);
	assert_int_equal(server_requests(s), 6);
	agent_llm_free(m);
	server_stop(s);
	free(empty);
	free(blank);
}

static void test_http_errors(void **state)
{
	struct server *s = server_start();
	struct settings st = { { { "REDPILL_API_KEY", "sk-bad" } } };
	struct logbook lb = { .n = 0 };
	struct scripted r401[] = { { 401, "{\"error\":{\"message\":\"Incorrect API key provided\","
	                                  "\"type\":\"invalid_request_error\"}}", 0 } };
	struct scripted r500[] = { { 500, "{\"error\":\"upstream exploded\"}", 0 } };
	struct scripted r429[] = { { 429, "{\"message\":\"slow down\"}", 0 } };
	struct scripted r502[] = { { 502, "<html>bad gateway\n</html>", 0 } };
	struct scripted r404[] = { { 404, "", 0 } };
	agent_reply_info info;
	agent_llm *m;
	teeliza_buf out;
	json_t *c = NULL;
	char url[128];

	(void)state;
	m = redpill_at(s, &st, &lb);
	snprintf(url, sizeof(url), "%s/chat/completions", s->base);
	teeliza_buf_init(&out, 1 << 20);

	server_script(s, 1, r401);
	assert_int_equal(agent_llm_generate(m, &out, NULL, "p", AGENT_LLM_SMALL, NULL), TEELIZA_ERR_CONFIG);
	assert_int_equal(out.len, 0);
	assert_non_null(strstr(teeliza_errmsg(), "HTTP 401"));
	assert_non_null(strstr(teeliza_errmsg(), "Incorrect API key provided"));
	assert_non_null(strstr(teeliza_errmsg(), url));
	assert_non_null(strstr(teeliza_errmsg(), "redpill"));
	/* Not retried: the key will not get better. */
	assert_int_equal(agent_generate_reply(&c, &info, m, NULL, "p", AGENT_LLM_SMALL, NULL, &quick),
	                 TEELIZA_ERR_CONFIG);
	assert_null(c);
	assert_int_equal(info.attempts, 1);
	assert_non_null(strstr(teeliza_errmsg(), "Incorrect API key provided"));
	assert_int_equal(server_requests(s), 2);

	server_script(s, 1, r500);
	assert_int_equal(agent_llm_generate(m, &out, NULL, "p", AGENT_LLM_SMALL, NULL), TEELIZA_ERR_REMOTE);
	assert_non_null(strstr(teeliza_errmsg(), "HTTP 500"));
	assert_non_null(strstr(teeliza_errmsg(), "upstream exploded"));
	/* Retried, bounded, then the error. */
	lb.n = 0;
	assert_int_equal(agent_generate_reply(&c, &info, m, NULL, "p", AGENT_LLM_SMALL, NULL, &quick),
	                 TEELIZA_ERR_REMOTE);
	assert_int_equal(info.attempts, 3);
	assert_int_equal(server_requests(s), 6);
	assert_int_equal(log_count(&lb, "failed"), 2);
	assert_non_null(strstr(teeliza_errmsg(), "upstream exploded"));

	server_script(s, 1, r429);
	assert_int_equal(agent_llm_generate(m, &out, NULL, "p", AGENT_LLM_SMALL, NULL), TEELIZA_ERR_REMOTE);
	assert_non_null(strstr(teeliza_errmsg(), "slow down"));
	server_script(s, 1, r502);
	assert_int_equal(agent_llm_generate(m, &out, NULL, "p", AGENT_LLM_SMALL, NULL), TEELIZA_ERR_REMOTE);
	assert_non_null(strstr(teeliza_errmsg(), "HTTP 502"));
	assert_non_null(strstr(teeliza_errmsg(), "<html>bad gateway </html>"));
	server_script(s, 1, r404);
	assert_int_equal(agent_llm_generate(m, &out, NULL, "p", AGENT_LLM_SMALL, NULL), TEELIZA_ERR_CONFIG);
	assert_non_null(strstr(teeliza_errmsg(), "HTTP 404"));
	assert_non_null(strstr(teeliza_errmsg(), "(empty body)"));
	teeliza_buf_free(&out);
	agent_llm_free(m);
	server_stop(s);
}

static void test_bad_success_bodies(void **state)
{
	static const struct {
		const char *body;
		const char *needle;
	} cases[] = {
		{ "this is not json", "is not JSON" },
		{ "{}", "no choices[0].message.content" },
		{ "{\"choices\":[]}", "no choices[0].message.content" },
		{ "{\"choices\":[{\"message\":{\"content\":null}}]}", "no choices[0].message.content" },
		{ "{\"choices\":[{\"message\":{\"content\":42}}]}", "no choices[0].message.content" },
		{ "{\"error\":{\"message\":\"quota exceeded\"}}", "quota exceeded" },
		{ "[1,2,3]", "no choices[0].message.content" },
	};
	struct server *s = server_start();
	struct settings st = { { { "REDPILL_API_KEY", "k" } } };
	struct logbook lb = { .n = 0 };
	agent_llm *m;
	teeliza_buf out;

	(void)state;
	m = redpill_at(s, &st, &lb);
	teeliza_buf_init(&out, 1 << 20);
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		struct scripted r[] = { { 200, cases[i].body, 0 } };

		server_script(s, 1, r);
		assert_int_equal(agent_llm_generate(m, &out, NULL, "p", AGENT_LLM_MEDIUM, NULL), TEELIZA_ERR_PROTOCOL);
		if (strstr(teeliza_errmsg(), cases[i].needle) == NULL)
			fail_msg("body %s: message \"%s\" lacks \"%s\"", cases[i].body, teeliza_errmsg(), cases[i].needle);
		assert_int_equal(out.len, 0);
	}
	/* Invalid UTF-8 in the prompt is refused before anything is sent. */
	assert_int_equal(agent_llm_generate(m, &out, NULL, "bad \xff prompt", AGENT_LLM_MEDIUM, NULL),
	                 TEELIZA_ERR_INVALID);
	assert_int_equal(server_requests(s), sizeof(cases) / sizeof(cases[0]));
	teeliza_buf_free(&out);
	agent_llm_free(m);
	server_stop(s);
}

static void test_connection_refused(void **state)
{
	agent_llm_endpoint ep;
	agent_llm *m;
	agent_reply_info info;
	teeliza_buf out;
	json_t *c = NULL;
	uint16_t port;
	char needle[128];
	int fd;

	(void)state;
	/* A port that was free a moment ago and has no listener now. */
	fd = fakehttp_listen_tcp(&port);
	close(fd);
	memset(&ep, 0, sizeof(ep));
	snprintf(ep.provider, sizeof(ep.provider), "ollama");
	snprintf(ep.base_url, sizeof(ep.base_url), "http://127.0.0.1:%u/v1", (unsigned)port);
	snprintf(ep.model[0], sizeof(ep.model[0]), "llama3.2");
	assert_int_equal(agent_llm_openai_new(&m, &ep, NULL, NULL), TEELIZA_OK);
	teeliza_buf_init(&out, 1024);
	assert_int_equal(agent_llm_generate(m, &out, NULL, "p", AGENT_LLM_SMALL, NULL), TEELIZA_ERR_CONNECT);
	snprintf(needle, sizeof(needle), "cannot connect to http://127.0.0.1:%u/v1/chat/completions", (unsigned)port);
	assert_non_null(strstr(teeliza_errmsg(), needle));
	assert_non_null(strstr(teeliza_errmsg(), "refused"));
	assert_true(agent_llm_error_retriable(TEELIZA_ERR_CONNECT));
	assert_int_equal(agent_generate_reply(&c, &info, m, NULL, "p", AGENT_LLM_SMALL, NULL, &quick),
	                 TEELIZA_ERR_CONNECT);
	assert_int_equal(info.attempts, 3);
	assert_null(c);
	teeliza_buf_free(&out);
	agent_llm_free(m);
}

static double now_s(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static void test_timeout(void **state)
{
	struct server *s = server_start();
	struct settings st = { { { "REDPILL_API_KEY", "k" }, { "MODEL_TIMEOUT_MS", "250" } } };
	struct logbook lb = { .n = 0 };
	char *ok = completion("late");
	struct scripted slow[] = { { 200, ok, 3000 } };
	agent_llm *m;
	agent_llm_options o;
	teeliza_buf out;
	double t0, elapsed;

	(void)state;
	server_script(s, 1, slow);
	m = redpill_at(s, &st, &lb);
	assert_int_equal(m->defaults.timeout_ms, 250);
	teeliza_buf_init(&out, 1024);
	t0 = now_s();
	assert_int_equal(agent_llm_generate(m, &out, NULL, "p", AGENT_LLM_SMALL, NULL), TEELIZA_ERR_TIMEOUT);
	elapsed = now_s() - t0;
	assert_true(elapsed < 2.0);
	assert_non_null(strstr(teeliza_errmsg(), "250 ms"));
	assert_non_null(strstr(teeliza_errmsg(), s->base));
	/* Per-call timeout. */
	agent_llm_default_options(&o, m);
	o.timeout_ms = 100;
	assert_int_equal(agent_llm_generate(m, &out, NULL, "p", AGENT_LLM_SMALL, &o), TEELIZA_ERR_TIMEOUT);
	assert_non_null(strstr(teeliza_errmsg(), "100 ms"));
	assert_true(agent_llm_error_retriable(TEELIZA_ERR_TIMEOUT));
	teeliza_buf_free(&out);
	agent_llm_free(m);
	server_stop(s);
	free(ok);
}

static void resolve_ok(agent_llm_endpoint *ep, const char *provider, struct settings *st)
{
	agent_llm_config cfg;

	memset(&cfg, 0, sizeof(cfg));
	cfg.provider = provider;
	cfg.get = get_setting;
	cfg.get_ctx = st;
	if (agent_llm_resolve(ep, &cfg) != TEELIZA_OK)
		fail_msg("resolve %s: %s", provider, teeliza_errmsg());
}

static void resolve_fails(teeliza_err want, const char *needle, const char *provider, struct settings *st)
{
	agent_llm_endpoint ep;
	agent_llm_config cfg;

	memset(&cfg, 0, sizeof(cfg));
	cfg.provider = provider;
	cfg.get = get_setting;
	cfg.get_ctx = st;
	assert_int_equal(agent_llm_resolve(&ep, &cfg), want);
	if (strstr(teeliza_errmsg(), needle) == NULL)
		fail_msg("%s: \"%s\" lacks \"%s\"", provider, teeliza_errmsg(), needle);
	assert_string_equal(ep.api_key, "");
}

static void test_provider_settings(void **state)
{
	struct settings none = { { { NULL, NULL } } };
	struct settings rp = { { { "REDPILL_API_KEY", "rk" } } };
	struct settings rp_one = { { { "REDPILL_API_KEY", "rk" }, { "REDPILL_MODEL", "qwen/qwen-2.5" },
	                             { "MEDIUM_REDPILL_MODEL", "m-model" } } };
	struct settings oa = { { { "OPENAI_API_KEY", "sk-x" }, { "OPENAI_API_URL", "https://proxy.example/v1//" },
	                         { "LARGE_OPENAI_MODEL", "gpt-4.1" } } };
	struct settings ol = { { { "OLLAMA_SERVER_URL", "http://localhost:11434" }, { "OLLAMA_MODEL", "qwen2.5" },
	                         { "SMALL_OLLAMA_MODEL", "tiny" } } };
	struct settings ll = { { { "LOCAL_MODEL_URL", "http://127.0.0.1:8080/v1" }, { "LOCAL_MODEL_API_KEY", "lk" } } };
	struct settings lm = { { { "LMSTUDIO_SERVER_URL", "http://127.0.0.1:1234/" } } };
	struct settings bad_url = { { { "REDPILL_API_KEY", "rk" }, { "REDPILL_API_URL", "ftp://x/v1" } } };
	struct settings no_host = { { { "OPENAI_API_KEY", "k" }, { "OPENAI_API_URL", "http:///v1" } } };
	struct settings bad_key = { { { "REDPILL_API_KEY", "rk\r\nX-Evil: 1" } } };
	struct settings bad_timeout = { { { "REDPILL_API_KEY", "rk" }, { "MODEL_TIMEOUT_MS", "soon" } } };
	struct settings offline = { { { "REDPILL_API_KEY", "rk" }, { "TEELIZA_OFFLINE", "true" } } };
	agent_llm_endpoint ep;
	agent_llm_config cfg;

	(void)state;
	resolve_ok(&ep, "redpill", &rp);
	assert_string_equal(ep.provider, "redpill");
	assert_string_equal(ep.base_url, "https://api.red-pill.ai/v1");
	assert_string_equal(ep.api_key, "rk");
	assert_string_equal(ep.model[0], "gpt-4o-mini");
	assert_string_equal(ep.model[1], "gpt-4o");
	assert_string_equal(ep.model[2], "gpt-4o");
	assert_true(ep.temperature == 0.6);
	assert_int_equal(ep.max_tokens, 8192);
	assert_int_equal(ep.timeout_ms, AGENT_LLM_DEFAULT_TIMEOUT_MS);
	agent_llm_endpoint_wipe(&ep);
	assert_string_equal(ep.api_key, "");

	resolve_ok(&ep, "REDPILL", &rp_one);
	assert_string_equal(ep.model[0], "qwen/qwen-2.5");
	assert_string_equal(ep.model[1], "m-model");
	assert_string_equal(ep.model[2], "qwen/qwen-2.5");

	resolve_ok(&ep, "openai", &oa);
	assert_string_equal(ep.base_url, "https://proxy.example/v1");
	assert_string_equal(ep.model[0], "gpt-4o-mini");
	assert_string_equal(ep.model[2], "gpt-4.1");
	resolve_fails(TEELIZA_ERR_NOT_FOUND, "set OPENAI_API_KEY", "openai", &none);

	resolve_ok(&ep, "ollama", &ol);
	assert_string_equal(ep.base_url, "http://localhost:11434/v1");
	assert_string_equal(ep.api_key, "");
	assert_string_equal(ep.model[0], "tiny");
	assert_string_equal(ep.model[1], "qwen2.5");
	resolve_fails(TEELIZA_ERR_NOT_FOUND, "no OLLAMA_SERVER_URL", "ollama", &none);

	resolve_ok(&ep, "llama_local", &ll);
	assert_string_equal(ep.base_url, "http://127.0.0.1:8080/v1");
	assert_string_equal(ep.api_key, "lk");
	assert_string_equal(ep.model[1], "local-model");
	resolve_fails(TEELIZA_ERR_NOT_FOUND, "no LOCAL_MODEL_URL", "llama_local", &none);

	resolve_ok(&ep, "lmstudio", &lm);
	assert_string_equal(ep.base_url, "http://127.0.0.1:1234/v1");

	resolve_fails(TEELIZA_ERR_NOT_FOUND, "no REDPILL_API_KEY for modelProvider \"redpill\"", "redpill", &none);
	resolve_fails(TEELIZA_ERR_UNSUPPORTED, "\"anthropic\" is not supported", "anthropic", &rp);
	resolve_fails(TEELIZA_ERR_NOT_FOUND, "no modelProvider", NULL, &rp);
	resolve_fails(TEELIZA_ERR_CONFIG, "REDPILL_API_URL is not an http(s) URL", "redpill", &bad_url);
	resolve_fails(TEELIZA_ERR_CONFIG, "has no host", "openai", &no_host);
	resolve_fails(TEELIZA_ERR_CONFIG, "REDPILL_API_KEY contains control characters", "redpill", &bad_key);
	resolve_fails(TEELIZA_ERR_CONFIG, "MODEL_TIMEOUT_MS", "redpill", &bad_timeout);
	{
		/* The bounds, and what strtol used to let through (a sign, a blank). */
		static const char *const bad[] = { "0", "3600001", "-5", "+5", " 5", "9223372036854775808" };
		struct settings t = { { { "REDPILL_API_KEY", "rk" }, { "MODEL_TIMEOUT_MS", "" } } };

		for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
			t.kv[1][1] = bad[i];
			resolve_fails(TEELIZA_ERR_CONFIG, "MODEL_TIMEOUT_MS", "redpill", &t);
		}
		t.kv[1][1] = "3600000";
		resolve_ok(&ep, "redpill", &t);
		assert_int_equal(ep.timeout_ms, 3600000);
		t.kv[1][1] = "1";
		resolve_ok(&ep, "redpill", &t);
		assert_int_equal(ep.timeout_ms, 1);
	}
	resolve_fails(TEELIZA_ERR_NOT_FOUND, "TEELIZA_OFFLINE", "redpill", &offline);

	/* The character's modelEndpointOverride wins over the provider's URL. */
	memset(&cfg, 0, sizeof(cfg));
	cfg.provider = "redpill";
	cfg.get = get_setting;
	cfg.get_ctx = &rp;
	cfg.endpoint_override = "https://gateway.example/api/v1/";
	assert_int_equal(agent_llm_resolve(&ep, &cfg), TEELIZA_OK);
	assert_string_equal(ep.base_url, "https://gateway.example/api/v1");
	/* And an explicit timeout wins over MODEL_TIMEOUT_MS. */
	cfg.timeout_ms = 777;
	assert_int_equal(agent_llm_resolve(&ep, &cfg), TEELIZA_OK);
	assert_int_equal(ep.timeout_ms, 777);
	agent_llm_endpoint_wipe(&ep);
}

static const char zed_json[] =
	"{\"name\":\"Zed\",\"modelProvider\":\"redpill\",\"clients\":[],\"plugins\":[],"
	"\"settings\":{\"secrets\":{\"REDPILL_API_KEY\":\"from-secrets\"}},"
	"\"bio\":[\"Zed minds the harbour.\"],\"lore\":[],\"adjectives\":[\"calm\"],\"topics\":[\"boats\"],"
	"\"postExamples\":[],\"messageExamples\":[],\"style\":{\"all\":[],\"chat\":[],\"post\":[]}}";

static const char nokey_json[] =
	"{\"name\":\"Zed\",\"modelProvider\":\"redpill\",\"clients\":[],\"plugins\":[],"
	"\"bio\":[\"Zed minds the harbour.\"],\"lore\":[],\"adjectives\":[\"calm\"],\"topics\":[\"boats\"],"
	"\"postExamples\":[],\"messageExamples\":[],\"style\":{\"all\":[],\"chat\":[],\"post\":[]}}";

static void test_character_settings(void **state)
{
	agent_character *c = NULL;
	agent_llm_endpoint ep;
	agent_llm_config cfg;

	(void)state;
	/* settings.secrets wins over the environment, as Eliza's getSetting has it. */
	setenv("REDPILL_API_KEY", "from-env", 1);
	assert_int_equal(agent_character_from_text(&c, NULL, zed_json, strlen(zed_json), NULL), TEELIZA_OK);
	memset(&cfg, 0, sizeof(cfg));
	cfg.provider = agent_character_model_provider(c);
	cfg.get = agent_llm_character_setting;
	cfg.get_ctx = c;
	assert_int_equal(agent_llm_resolve(&ep, &cfg), TEELIZA_OK);
	assert_string_equal(ep.api_key, "from-secrets");
	agent_character_free(c);
	/* Without a secret the environment is used. */
	assert_int_equal(agent_character_from_text(&c, NULL, nokey_json, strlen(nokey_json), NULL), TEELIZA_OK);
	cfg.provider = agent_character_model_provider(c);
	cfg.get_ctx = c;
	assert_int_equal(agent_llm_resolve(&ep, &cfg), TEELIZA_OK);
	assert_string_equal(ep.api_key, "from-env");
	/* The plain environment lookup. */
	cfg.get = NULL;
	cfg.get_ctx = NULL;
	assert_int_equal(agent_llm_resolve(&ep, &cfg), TEELIZA_OK);
	assert_string_equal(ep.api_key, "from-env");
	unsetenv("REDPILL_API_KEY");
	agent_llm_endpoint_wipe(&ep);
	agent_character_free(c);
}

static const char *const wallet_kw[] = { "wallet", "address", NULL };
static const char *const ra_kw[] = { "attest*", "quote", "tee", NULL };
static const agent_action_hint hints[] = {
	{ "NONE", NULL, NULL, NULL },
	{ "WALLET_ADDRESS", NULL, wallet_kw, NULL },
	{ "REMOTE_ATTESTATION", NULL, ra_kw, NULL },
};

static json_t *offline_say(agent_llm *m, const char *room, const char *text)
{
	agent_llm_options o;
	agent_reply_info info;
	json_t *c = NULL;

	agent_llm_default_options(&o, m);
	o.user_text = text;
	o.conversation = room;
	o.actions = hints;
	o.n_actions = 3;
	/* The prompt is what a remote model would get; the offline responder answers user_text. */
	assert_int_equal(agent_generate_reply(&c, &info, m, "sys", "# a long composed prompt", AGENT_LLM_LARGE, &o,
	                                      &quick),
	                 TEELIZA_OK);
	assert_int_equal(info.attempts, 1);
	assert_false(info.fallback);
	assert_string_equal(json_string_value(json_object_get(c, "user")), "Zed");
	return c;
}

static void test_offline_fallback(void **state)
{
	agent_character *c = NULL;
	struct settings none = { { { NULL, NULL } } };
	struct logbook lb = { .n = 0 };
	agent_llm_config cfg;
	agent_llm *m = NULL;
	json_t *r;
	char desc[128];

	(void)state;
	assert_int_equal(agent_character_from_text(&c, NULL, nokey_json, strlen(nokey_json), NULL), TEELIZA_OK);
	memset(&cfg, 0, sizeof(cfg));
	cfg.provider = "redpill";
	cfg.get = get_setting;
	cfg.get_ctx = &none;
	cfg.character = c;
	cfg.seed = 5;
	cfg.log = log_line;
	cfg.log_ctx = &lb;
	assert_int_equal(agent_llm_from_settings(&m, &cfg), TEELIZA_OK);
	assert_true(m->offline);
	assert_string_equal(m->provider, "offline");
	assert_string_equal(m->model[AGENT_LLM_LARGE], "eliza");
	agent_llm_describe(desc, sizeof(desc), m);
	assert_string_equal(desc, "offline responder (ELIZA)");
	/* One clear line saying why and what to set. */
	assert_int_equal(lb.n, 1);
	assert_non_null(strstr(lb.lines[0], "no REDPILL_API_KEY"));
	assert_non_null(strstr(lb.lines[0], "set REDPILL_API_KEY"));
	assert_non_null(strstr(lb.lines[0], "offline responder"));

	r = offline_say(m, "room-a", "what's your wallet address?");
	assert_string_equal(json_string_value(json_object_get(r, "action")), "WALLET_ADDRESS");
	json_decref(r);
	r = offline_say(m, "room-a", "can you prove you run in a TEE?");
	assert_string_equal(json_string_value(json_object_get(r, "action")), "REMOTE_ATTESTATION");
	json_decref(r);
	r = offline_say(m, "room-a", "who are you?");
	assert_non_null(strstr(json_string_value(json_object_get(r, "text")), "Zed"));
	json_decref(r);
	/* Each room has its own ELIZA memory. */
	r = offline_say(m, "room-a", "my boat is sinking");
	json_decref(r);
	r = offline_say(m, "room-b", "ok");
	assert_null(strstr(json_string_value(json_object_get(r, "text")), "boat"));
	json_decref(r);
	r = offline_say(m, "room-a", "ok");
	assert_non_null(strstr(json_string_value(json_object_get(r, "text")), "your boat is sinking"));
	json_decref(r);
	agent_llm_free(m);

	/* An unsupported provider also goes offline, and says so. */
	lb.n = 0;
	cfg.provider = "anthropic";
	assert_int_equal(agent_llm_from_settings(&m, &cfg), TEELIZA_OK);
	assert_true(m->offline);
	assert_int_equal(log_count(&lb, "\"anthropic\" is not supported"), 1);
	agent_llm_free(m);

	/* A bad setting is an error, not a silent fallback. */
	cfg.provider = "ollama";
	{
		struct settings bad = { { { "OLLAMA_SERVER_URL", "localhost:11434" } } };

		cfg.get_ctx = &bad;
		assert_int_equal(agent_llm_from_settings(&m, &cfg), TEELIZA_ERR_CONFIG);
		assert_null(m);
		assert_non_null(strstr(teeliza_errmsg(), "OLLAMA_SERVER_URL is not an http(s) URL"));
	}
	agent_character_free(c);
}

struct room_thread {
	agent_llm *m;
	char room[32];
	int failures;
};

static void *room_worker(void *arg)
{
	struct room_thread *t = arg;
	agent_llm_options o;
	teeliza_buf out;

	teeliza_buf_init(&out, 1 << 16);
	agent_llm_default_options(&o, t->m);
	o.conversation = t->room;
	for (int i = 0; i < 2000; i++) {
		o.user_text = i % 2 == 0 ? "my lamp is broken" : "hmm";
		if (agent_llm_generate(t->m, &out, NULL, "p", AGENT_LLM_LARGE, &o) != TEELIZA_OK || out.len == 0)
			t->failures++;
	}
	teeliza_buf_free(&out);
	return NULL;
}

static void test_offline_threads(void **state)
{
	struct room_thread t[4];
	pthread_t th[4];
	agent_llm *m = NULL;

	(void)state;
	assert_int_equal(agent_llm_offline_new(&m, NULL, 9, NULL, NULL), TEELIZA_OK);
	for (int i = 0; i < 4; i++) {
		t[i].m = m;
		t[i].failures = 0;
		snprintf(t[i].room, sizeof(t[i].room), "room-%d", i);
		assert_int_equal(pthread_create(&th[i], NULL, room_worker, &t[i]), 0);
	}
	for (int i = 0; i < 4; i++) {
		pthread_join(th[i], NULL);
		assert_int_equal(t[i].failures, 0);
	}
	agent_llm_free(m);
}

static void expect_object(const char *text, const char *key, const char *value)
{
	json_t *j = NULL;

	if (agent_parse_json_object(&j, text, strlen(text)) != TEELIZA_OK)
		fail_msg("no object in \"%s\": %s", text, teeliza_errmsg());
	assert_true(json_is_object(j));
	assert_string_equal(json_string_value(json_object_get(j, key)), value);
	json_decref(j);
}

static void expect_no_object(const char *text, const char *needle)
{
	json_t *j = (json_t *)1;

	assert_int_equal(agent_parse_json_object(&j, text, strlen(text)), TEELIZA_ERR_PARSE);
	assert_null(j);
	if (strstr(teeliza_errmsg(), needle) == NULL)
		fail_msg("\"%s\": message \"%s\" lacks \"%s\"", text, teeliza_errmsg(), needle);
}

static void test_parse_json_object(void **state)
{
	(void)state;
	expect_object("{\"text\":\"plain\"}", "text", "plain");
	expect_object("Sure. {\"text\":\"after prose\"} Bye.", "text", "after prose");
	expect_object("```json\n{\"text\":\"fenced\"}\n```", "text", "fenced");
	expect_object("```json {\"text\":\"same line\"}```", "text", "same line");
	expect_object("intro {\"text\":\"not this\"}\n```json\n{\"text\":\"the block wins\"}\n```", "text",
	              "the block wins");
	expect_object("```json\n{\"text\":\"first\"}\n```\n```json\n{\"text\":\"second\"}\n```", "text", "first");
	expect_object("```json\n{\"text\":\"junk after\"} trailing words\n```", "text", "junk after");
	/* Nested objects and braces inside strings. */
	expect_object("{\"a\":{\"b\":{}},\"text\":\"nested\"}", "text", "nested");
	expect_object("{\"text\":\"a } b { c\"}", "text", "a } b { c");
	expect_object("{\"text\":\"esc \\\" } quote\"}", "text", "esc \" } quote");
	/* A brace that never closes, then a real object. */
	expect_object("use {name here {\"text\":\"inner\"}", "text", "inner");
	/* A braced word that is not JSON, then a real object. */
	expect_object("Replace {name}: {\"text\":\"second try\"}", "text", "second try");
	/* An unclosed fence: the first object anywhere. */
	expect_object("```json\n{\"text\":\"open fence\"}", "text", "open fence");
	expect_object("{\"text\":\"unicode \xe2\x9c\x93\"}", "text", "unicode \xe2\x9c\x93");

	expect_no_object("", "empty text");
	expect_no_object("no braces at all", "no complete JSON object");
	expect_no_object("{\"text\": \"never closed\"", "no complete JSON object");
	expect_no_object("[{\"text\":\"in an array\"", "no complete JSON object");
	expect_no_object("{not json}", "not valid JSON");
	expect_no_object("```json\n[1,2]\n```", "the ```json block");
	expect_no_object("{\"text\":\"bad \xff utf8\"}", "not valid JSON");
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_request_shape),
		cmocka_unit_test(test_good_and_fenced_reply),
		cmocka_unit_test(test_malformed_bounded_retries),
		cmocka_unit_test(test_empty_text_is_an_error),
		cmocka_unit_test(test_http_errors),
		cmocka_unit_test(test_bad_success_bodies),
		cmocka_unit_test(test_connection_refused),
		cmocka_unit_test(test_timeout),
		cmocka_unit_test(test_provider_settings),
		cmocka_unit_test(test_character_settings),
		cmocka_unit_test(test_offline_fallback),
		cmocka_unit_test(test_offline_threads),
		cmocka_unit_test(test_parse_json_object),
	};

	/* Loopback only: never through a proxy from the environment. */
	unsetenv("http_proxy");
	unsetenv("HTTP_PROXY");
	unsetenv("all_proxy");
	unsetenv("ALL_PROXY");
	unsetenv("TEELIZA_OFFLINE");
	return cmocka_run_group_tests(tests, NULL, NULL);
}
