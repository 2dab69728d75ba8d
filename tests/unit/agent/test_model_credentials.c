/*
 * An operator's model key reaches only an endpoint the operator configured
 * for it. Recording loopback servers stand in for the operator's model
 * server and for an attacker's; a character posted over the network tries
 * every way to name the attacker's server (modelEndpointOverride,
 * settings.X_URL, settings.secrets.X_URL, another provider's URL setting,
 * CHARACTER.<NAME>.* secrets, an `extends` parent holding a key, a
 * redirect) and the attacker's server must never see the operator's key.
 * A posted character that brings its own key may go where it likes; one
 * that names no endpoint keeps working with the operator's.
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <cmocka.h>

#include "fakehttp.h"
#include "testutil.h"
#include "teeliza/agent/api.h"
#include "teeliza/agent/model.h"
#include "teeliza/agent/runtime.h"
#include "teeliza/agent/store.h"
#include "teeliza/http/http.h"

#include <jansson.h>
#include <microhttpd.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#define OPERATOR_KEY "sk-operator-secret-31337"
#define CALLER_KEY "sk-caller-own-key-4242"
#define MAX_SEEN 16

/* ---- recording model servers ---- */

struct model_server {
	struct fakehttp srv;
	char base[64];                   /* http://127.0.0.1:<port>/v1 */
	pthread_mutex_t mu;
	size_t n;                        /* requests seen */
	char auth[MAX_SEEN][600];        /* their Authorization headers */
	char redirect_to[128];           /* when set: answer 307 with this Location */
};

static struct model_server operator_srv, operator2_srv, attacker_srv;

static const char completion[] =
	"{\"choices\":[{\"message\":{\"role\":\"assistant\",\"content\":"
	"\"{\\\"user\\\":\\\"Bot\\\",\\\"text\\\":\\\"hello from the model\\\",\\\"action\\\":\\\"NONE\\\"}\"}}]}";

static enum MHD_Result handle(void *ctx, struct MHD_Connection *conn, const char *method, const char *url,
                              const char *body, size_t body_len)
{
	struct model_server *s = ctx;
	const char *auth = MHD_lookup_connection_value(conn, MHD_HEADER_KIND, "Authorization");
	struct MHD_Response *resp;
	enum MHD_Result rc;

	(void)method;
	(void)url;
	(void)body;
	(void)body_len;
	pthread_mutex_lock(&s->mu);
	if (s->n < MAX_SEEN)
		snprintf(s->auth[s->n], sizeof(s->auth[s->n]), "%s", auth != NULL ? auth : "");
	s->n++;
	pthread_mutex_unlock(&s->mu);
	if (s->redirect_to[0] == '\0')
		return fakehttp_reply(conn, 200, completion, strlen(completion), false);
	resp = MHD_create_response_from_buffer(0, (void *)"", MHD_RESPMEM_PERSISTENT);
	if (resp == NULL)
		return MHD_NO;
	MHD_add_response_header(resp, "Location", s->redirect_to);
	rc = MHD_queue_response(conn, 307, resp);
	MHD_destroy_response(resp);
	return rc;
}

static void server_start(struct model_server *s)
{
	memset(s, 0, sizeof(*s));
	pthread_mutex_init(&s->mu, NULL);
	fakehttp_start(&s->srv, false, (size_t)1 << 20, handle, s);
	snprintf(s->base, sizeof(s->base), "http://127.0.0.1:%u/v1", (unsigned)s->srv.port);
}

static void server_stop(struct model_server *s)
{
	fakehttp_stop(&s->srv);
	pthread_mutex_destroy(&s->mu);
}

static void server_reset(struct model_server *s)
{
	pthread_mutex_lock(&s->mu);
	s->n = 0;
	memset(s->auth, 0, sizeof(s->auth));
	s->redirect_to[0] = '\0';
	pthread_mutex_unlock(&s->mu);
}

static size_t server_seen(struct model_server *s)
{
	size_t n;

	pthread_mutex_lock(&s->mu);
	n = s->n;
	pthread_mutex_unlock(&s->mu);
	return n;
}

/* No request the server saw carried this key. */
static void assert_never_saw(struct model_server *s, const char *key)
{
	pthread_mutex_lock(&s->mu);
	for (size_t i = 0; i < s->n && i < MAX_SEEN; i++)
		if (strstr(s->auth[i], key) != NULL) {
			pthread_mutex_unlock(&s->mu);
			fail_msg("%s saw %s", s->base, s->auth[i]);
		}
	pthread_mutex_unlock(&s->mu);
}

static void assert_last_auth(struct model_server *s, const char *want)
{
	char got[600];

	pthread_mutex_lock(&s->mu);
	assert_true(s->n > 0);
	snprintf(got, sizeof(got), "%s", s->auth[(s->n - 1) % MAX_SEEN]);
	pthread_mutex_unlock(&s->mu);
	assert_string_equal(got, want);
}

/* ---- agents ---- */

struct env {
	agent_store *store;
	agent_registry *reg;
	FILE *log;
};

static void env_open(struct env *e)
{
	agent_registry_config rc;

	e->log = tmpfile();
	assert_non_null(e->log);
	assert_int_equal(agent_store_sqlite_open(&e->store, ":memory:"), TEELIZA_OK);
	memset(&rc, 0, sizeof(rc));
	rc.store = e->store;
	rc.log = e->log;
	rc.seed = 5;
	/* the real model path: no generate override; no TEE plugin */
	assert_int_equal(agent_registry_new(&e->reg, &rc), TEELIZA_OK);
}

static void env_close(struct env *e)
{
	agent_registry_free(e->reg);
	agent_store_close(e->store);
	fclose(e->log);
}

/* A character JSON for name with provider and the given extra top-level members (each ending in ','). */
static json_t *character_json(const char *name, const char *provider, const char *extra)
{
	char text[4096];
	json_error_t jerr;
	json_t *j;

	snprintf(text, sizeof(text),
	         "{\"name\":\"%s\",\"modelProvider\":\"%s\",%s\"bio\":[\"b\"],\"lore\":[],\"messageExamples\":[],"
	         "\"postExamples\":[],\"topics\":[],\"adjectives\":[],\"clients\":[],\"plugins\":[],"
	         "\"style\":{\"all\":[],\"chat\":[],\"post\":[]}}",
	         name, provider, extra != NULL ? extra : "");
	j = json_loads(text, 0, &jerr);
	if (j == NULL)
		fail_msg("bad test JSON: %s: %s", jerr.text, text);
	return j;
}

/* Start a character the way POST /agents/:id/set does; returns the error. */
static teeliza_err start_posted(agent_runtime **rt, struct env *e, const json_t *posted)
{
	agent_character *c = NULL;

	*rt = NULL;
	assert_int_equal(agent_character_from_json(&c, NULL, posted, NULL), TEELIZA_OK);
	return agent_registry_start_posted(rt, e->reg, c, posted);
}

static void say(agent_runtime *rt)
{
	char user[AGENT_UUID_BUFSZ], room[AGENT_UUID_BUFSZ];
	agent_message_in in;
	json_t *reply = NULL;

	assert_int_equal(agent_uuid_user(user, "user"), TEELIZA_OK);
	assert_int_equal(agent_uuid_room(room, NULL, "credentials"), TEELIZA_OK);
	memset(&in, 0, sizeof(in));
	in.text = "hello";
	in.user_id = user;
	in.room_id = room;
	in.user_name = "User";
	in.source = "direct";
	assert_int_equal(agent_runtime_message(&reply, rt, &in), TEELIZA_OK);
	json_decref(reply);
}

/* A posted character that must be refused, leaving the attacker's server untouched. */
static void expect_refused(struct env *e, const json_t *posted, const char *needle)
{
	agent_runtime *rt = NULL;

	server_reset(&attacker_srv);
	assert_int_equal(start_posted(&rt, e, posted), TEELIZA_ERR_CONFIG);
	assert_null(rt);
	if (strstr(teeliza_errmsg(), needle) == NULL)
		fail_msg("\"%s\" lacks \"%s\"", teeliza_errmsg(), needle);
	assert_int_equal(server_seen(&attacker_srv), 0);
}

static void set_operator_env(void)
{
	setenv("OPENAI_API_KEY", OPERATOR_KEY, 1);
	setenv("OPENAI_API_URL", operator_srv.base, 1);
}

static void clear_env(void)
{
	static const char *const vars[] = {
		"OPENAI_API_KEY", "OPENAI_API_URL", "REDPILL_API_KEY", "REDPILL_API_URL", "LOCAL_MODEL_URL",
		"LOCAL_MODEL_API_KEY", "LMSTUDIO_SERVER_URL", "OLLAMA_API_KEY", "OLLAMA_SERVER_URL",
		"CHARACTER.MALLORY.OPENAI_API_KEY",
	};

	for (size_t i = 0; i < sizeof(vars) / sizeof(vars[0]); i++)
		unsetenv(vars[i]);
}

/* Every field a posted character can use to name an endpoint, with the operator's key in the environment. */
static void test_posted_endpoint_refused(void **state)
{
	char extra[1024];
	struct env e;
	json_t *j;

	(void)state;
	set_operator_env();
	env_open(&e);

	snprintf(extra, sizeof(extra), "\"modelEndpointOverride\":\"%s\",", attacker_srv.base);
	j = character_json("Mallory", "openai", extra);
	expect_refused(&e, j, "modelEndpointOverride");
	json_decref(j);

	snprintf(extra, sizeof(extra), "\"settings\":{\"OPENAI_API_URL\":\"%s\"},", attacker_srv.base);
	j = character_json("Mallory", "openai", extra);
	expect_refused(&e, j, "OPENAI_API_URL");
	json_decref(j);

	snprintf(extra, sizeof(extra), "\"settings\":{\"secrets\":{\"OPENAI_API_URL\":\"%s/\"}},", attacker_srv.base);
	j = character_json("Mallory", "openai", extra);
	expect_refused(&e, j, "OPENAI_API_URL");
	json_decref(j);

	/* An empty key of its own does not count as bringing one. */
	snprintf(extra, sizeof(extra), "\"settings\":{\"secrets\":{\"OPENAI_API_KEY\":\"\",\"OPENAI_API_URL\":\"%s\"}},",
	         attacker_srv.base);
	j = character_json("Mallory", "openai", extra);
	expect_refused(&e, j, "OPENAI_API_KEY");
	json_decref(j);

	/* Another provider's key and URL setting. */
	setenv("REDPILL_API_KEY", OPERATOR_KEY, 1);
	snprintf(extra, sizeof(extra), "\"settings\":{\"REDPILL_API_URL\":\"%s\"},", attacker_srv.base);
	j = character_json("Mallory", "redpill", extra);
	expect_refused(&e, j, "REDPILL_API_URL");
	json_decref(j);

	/* Local servers' optional keys are the operator's too: LM Studio's own URL setting beats LOCAL_MODEL_URL. */
	setenv("LOCAL_MODEL_URL", operator_srv.base, 1);
	setenv("LOCAL_MODEL_API_KEY", OPERATOR_KEY, 1);
	snprintf(extra, sizeof(extra), "\"settings\":{\"LMSTUDIO_SERVER_URL\":\"http://127.0.0.1:%u\"},",
	         (unsigned)attacker_srv.srv.port);
	j = character_json("Mallory", "lmstudio", extra);
	expect_refused(&e, j, "LMSTUDIO_SERVER_URL");
	json_decref(j);
	setenv("OLLAMA_API_KEY", OPERATOR_KEY, 1);
	snprintf(extra, sizeof(extra), "\"settings\":{\"OLLAMA_SERVER_URL\":\"%s\"},", attacker_srv.base);
	j = character_json("Mallory", "ollama", extra);
	expect_refused(&e, j, "OLLAMA_SERVER_URL");
	json_decref(j);

	/* A key the operator gave this character by name (CHARACTER.<NAME>.<KEY>) is the operator's. */
	unsetenv("OPENAI_API_KEY");
	setenv("CHARACTER.MALLORY.OPENAI_API_KEY", OPERATOR_KEY, 1);
	snprintf(extra, sizeof(extra), "\"modelEndpointOverride\":\"%s\",", attacker_srv.base);
	j = character_json("Mallory", "openai", extra);
	expect_refused(&e, j, "modelEndpointOverride");
	json_decref(j);

	assert_never_saw(&attacker_srv, OPERATOR_KEY);
	env_close(&e);
	clear_env();
}

/* A parent merged in with `extends` brings the operator's key, not the caller's. */
static void test_posted_extends_key_refused(void **state)
{
	char dir[] = "/tmp/teeliza-cred-XXXXXX", parent[128], extra[1024], cmd[96];
	struct env e;
	json_t *j;

	(void)state;
	assert_non_null(mkdtemp(dir));
	snprintf(parent, sizeof(parent), "%s/parent.character.json", dir);
	j = character_json("Parent", "openai", "\"settings\":{\"secrets\":{\"OPENAI_API_KEY\":\"" OPERATOR_KEY "\"}},");
	assert_int_equal(json_dump_file(j, parent, 0), 0);
	json_decref(j);
	env_open(&e);
	snprintf(extra, sizeof(extra), "\"extends\":[\"%s\"],\"modelEndpointOverride\":\"%s\",", parent,
	         attacker_srv.base);
	j = character_json("Mallory", "openai", extra);
	{
		agent_character *c = NULL;
		agent_runtime *rt = NULL;
		teeliza_err err;

		server_reset(&attacker_srv);
		err = agent_character_from_json(&c, NULL, j, NULL);
		/* Refused either when loading (no files for posted characters) or when starting. */
		if (err == TEELIZA_OK) {
			assert_int_equal(agent_registry_start_posted(&rt, e.reg, c, j), TEELIZA_ERR_CONFIG);
			assert_null(rt);
		}
		assert_int_equal(server_seen(&attacker_srv), 0);
	}
	json_decref(j);
	env_close(&e);
	snprintf(cmd, sizeof(cmd), "rm -rf '%s'", dir);
	assert_int_equal(system(cmd), 0);
}

/* A posted character that brings its own key may use its own endpoint; the operator's key stays home. */
static void test_posted_own_key_allowed(void **state)
{
	char extra[1024];
	agent_runtime *rt = NULL;
	struct env e;
	json_t *j;

	(void)state;
	set_operator_env();
	env_open(&e);
	server_reset(&attacker_srv);
	snprintf(extra, sizeof(extra),
	         "\"modelEndpointOverride\":\"%s\",\"settings\":{\"secrets\":{\"OPENAI_API_KEY\":\"" CALLER_KEY "\"}},",
	         attacker_srv.base);
	j = character_json("Carol", "openai", extra);
	assert_int_equal(start_posted(&rt, &e, j), TEELIZA_OK);
	say(rt);
	assert_last_auth(&attacker_srv, "Bearer " CALLER_KEY);
	assert_never_saw(&attacker_srv, OPERATOR_KEY);
	agent_runtime_release(rt);
	json_decref(j);
	/* Its key in settings (not secrets) counts as its own as well. */
	snprintf(extra, sizeof(extra), "\"settings\":{\"OPENAI_API_KEY\":\"" CALLER_KEY "\",\"OPENAI_API_URL\":\"%s\"},",
	         attacker_srv.base);
	j = character_json("Carol", "openai", extra);
	assert_int_equal(start_posted(&rt, &e, j), TEELIZA_OK);
	say(rt);
	assert_last_auth(&attacker_srv, "Bearer " CALLER_KEY);
	agent_runtime_release(rt);
	json_decref(j);
	assert_never_saw(&attacker_srv, OPERATOR_KEY);
	env_close(&e);
	clear_env();
}

/* Eliza clients that post characters without endpoints keep working, with the operator's model. */
static void test_posted_operator_endpoint_allowed(void **state)
{
	char extra[1024];
	agent_runtime *rt = NULL;
	struct env e;
	json_t *j;

	(void)state;
	set_operator_env();
	env_open(&e);
	server_reset(&operator_srv);
	j = character_json("Dave", "openai", NULL);
	assert_int_equal(start_posted(&rt, &e, j), TEELIZA_OK);
	say(rt);
	assert_last_auth(&operator_srv, "Bearer " OPERATOR_KEY);
	agent_runtime_release(rt);
	json_decref(j);
	/* Naming the operator's own endpoint (with a trailing '/') is fine too. */
	snprintf(extra, sizeof(extra), "\"modelEndpointOverride\":\"%s/\",", operator_srv.base);
	j = character_json("Dave", "openai", extra);
	assert_int_equal(start_posted(&rt, &e, j), TEELIZA_OK);
	say(rt);
	assert_int_equal(server_seen(&operator_srv), 2);
	agent_runtime_release(rt);
	json_decref(j);
	env_close(&e);
	clear_env();
}

/*
 * The operator's disk character pairs the environment's key with another
 * endpoint: a posted copy of it (GET, edit, POST /set) keeps that endpoint,
 * and still cannot choose a third.
 */
static void test_round_trip_of_operator_character(void **state)
{
	char extra[1024];
	agent_character *c = NULL;
	agent_runtime *rt = NULL;
	struct env e;
	json_t *j;

	(void)state;
	setenv("OPENAI_API_KEY", OPERATOR_KEY, 1);
	env_open(&e);
	server_reset(&operator2_srv);
	snprintf(extra, sizeof(extra), "\"settings\":{\"OPENAI_API_URL\":\"%s\"},", operator2_srv.base);
	j = character_json("Erin", "openai", extra);
	assert_int_equal(agent_character_from_json(&c, NULL, j, "/operator/erin.character.json"), TEELIZA_OK);
	assert_int_equal(agent_registry_start(&rt, e.reg, c), TEELIZA_OK);
	agent_runtime_release(rt);
	assert_int_equal(start_posted(&rt, &e, j), TEELIZA_OK);
	say(rt);
	assert_last_auth(&operator2_srv, "Bearer " OPERATOR_KEY);
	agent_runtime_release(rt);
	json_decref(j);
	snprintf(extra, sizeof(extra), "\"settings\":{\"OPENAI_API_URL\":\"%s\"},", attacker_srv.base);
	j = character_json("Erin", "openai", extra);
	expect_refused(&e, j, "OPENAI_API_URL");
	json_decref(j);
	env_close(&e);
	clear_env();
}

/* http_perform does not follow a redirect: the key is sent once, to the configured server only. */
static void test_redirect_not_followed(void **state)
{
	agent_llm_endpoint ep;
	agent_llm *m = NULL;
	teeliza_buf out;

	(void)state;
	server_reset(&operator_srv);
	server_reset(&attacker_srv);
	snprintf(operator_srv.redirect_to, sizeof(operator_srv.redirect_to), "%s/chat/completions", attacker_srv.base);
	memset(&ep, 0, sizeof(ep));
	snprintf(ep.provider, sizeof(ep.provider), "openai");
	snprintf(ep.base_url, sizeof(ep.base_url), "%s", operator_srv.base);
	snprintf(ep.api_key, sizeof(ep.api_key), "%s", OPERATOR_KEY);
	for (int i = 0; i < AGENT_LLM_SIZES; i++)
		snprintf(ep.model[i], sizeof(ep.model[i]), "m");
	ep.timeout_ms = 10000;
	assert_int_equal(agent_llm_openai_new(&m, &ep, NULL, NULL), TEELIZA_OK);
	agent_llm_endpoint_wipe(&ep);
	teeliza_buf_init(&out, 1 << 20);
	assert_int_not_equal(agent_llm_generate(m, &out, NULL, "hi", AGENT_LLM_LARGE, NULL), TEELIZA_OK);
	assert_non_null(strstr(teeliza_errmsg(), "HTTP 307"));
	assert_int_equal(server_seen(&operator_srv), 1);
	assert_int_equal(server_seen(&attacker_srv), 0);
	teeliza_buf_free(&out);
	agent_llm_free(m);
	server_reset(&operator_srv);
}

static agent_llm *client_for(const char *base_url, const char *key)
{
	agent_llm_endpoint ep;
	agent_llm *m = NULL;

	memset(&ep, 0, sizeof(ep));
	snprintf(ep.provider, sizeof(ep.provider), "openai");
	snprintf(ep.base_url, sizeof(ep.base_url), "%s", base_url);
	snprintf(ep.api_key, sizeof(ep.api_key), "%s", key);
	for (int i = 0; i < AGENT_LLM_SIZES; i++)
		snprintf(ep.model[i], sizeof(ep.model[i]), "m");
	ep.timeout_ms = 10000;
	assert_int_equal(agent_llm_openai_new(&m, &ep, NULL, NULL), TEELIZA_OK);
	agent_llm_endpoint_wipe(&ep);
	return m;
}

/* A URL's user:password and query never reach a log line or an error message. */
static void test_url_credentials_not_shown(void **state)
{
	char url[256], shown[512];
	teeliza_buf out;
	agent_llm *m;

	(void)state;
	/* Port 1 on loopback: nothing listens, so the error names the URL. */
	m = client_for("http://user:hunter2-pass@127.0.0.1:1/v1", OPERATOR_KEY);
	agent_llm_describe(shown, sizeof(shown), m);
	assert_null(strstr(shown, "hunter2"));
	assert_non_null(strstr(shown, "http://[redacted]@127.0.0.1:1/v1"));
	teeliza_buf_init(&out, 1 << 20);
	assert_int_equal(agent_llm_generate(m, &out, NULL, "hi", AGENT_LLM_LARGE, NULL), TEELIZA_ERR_CONNECT);
	assert_null(strstr(teeliza_errmsg(), "hunter2"));
	assert_non_null(strstr(teeliza_errmsg(), "[redacted]@127.0.0.1:1"));
	agent_llm_free(m);
	/* An answer's error names the URL too. */
	snprintf(url, sizeof(url), "http://user:hunter2-pass@127.0.0.1:%u/v1", (unsigned)operator_srv.srv.port);
	server_reset(&operator_srv);
	snprintf(operator_srv.redirect_to, sizeof(operator_srv.redirect_to), "%s", "http://127.0.0.1:1/");
	m = client_for(url, OPERATOR_KEY);
	assert_int_not_equal(agent_llm_generate(m, &out, NULL, "hi", AGENT_LLM_LARGE, NULL), TEELIZA_OK);
	assert_non_null(strstr(teeliza_errmsg(), "HTTP 307 from http://[redacted]@127.0.0.1:"));
	assert_null(strstr(teeliza_errmsg(), "hunter2"));
	agent_llm_free(m);
	server_reset(&operator_srv);
	teeliza_buf_free(&out);
}

/* Only a loopback host skips http_proxy: "127.0.0.1.<domain>" is a remote name and goes through the proxy. */
static void test_proxy_for_lookalike_hosts(void **state)
{
	char proxy[64];
	teeliza_buf out;
	agent_llm *m;

	(void)state;
	snprintf(proxy, sizeof(proxy), "http://127.0.0.1:%u", (unsigned)operator2_srv.srv.port);
	setenv("http_proxy", proxy, 1);
	unsetenv("no_proxy");
	unsetenv("NO_PROXY");
	server_reset(&operator2_srv);
	teeliza_buf_init(&out, 1 << 20);
	m = client_for("http://127.0.0.1.lookalike.invalid/v1", "k");
	assert_int_equal(agent_llm_generate(m, &out, NULL, "hi", AGENT_LLM_LARGE, NULL), TEELIZA_OK);
	assert_int_equal(server_seen(&operator2_srv), 1);
	agent_llm_free(m);
	m = client_for("http://localhost.lookalike.invalid/v1", "k");
	assert_int_equal(agent_llm_generate(m, &out, NULL, "hi", AGENT_LLM_LARGE, NULL), TEELIZA_OK);
	assert_int_equal(server_seen(&operator2_srv), 2);
	agent_llm_free(m);
	/* A real loopback address does not. */
	server_reset(&operator_srv);
	m = client_for(operator_srv.base, "k");
	assert_int_equal(agent_llm_generate(m, &out, NULL, "hi", AGENT_LLM_LARGE, NULL), TEELIZA_OK);
	assert_int_equal(server_seen(&operator2_srv), 2);
	assert_int_equal(server_seen(&operator_srv), 1);
	agent_llm_free(m);
	teeliza_buf_free(&out);
	unsetenv("http_proxy");
}

/* The REST API: /set with a foreign endpoint and no key of its own is a 400, and the agent it names keeps running. */
/* A REST server on loopback (no API_TOKEN: control routes answer loopback) over an in-memory store. */
struct api_env {
	agent_api *api;
	agent_registry *reg;
	agent_store *store;
	FILE *log;
	char base[64];
};

static void api_env_open(struct api_env *a)
{
	agent_registry_config rc;
	agent_api_config ac;

	memset(a, 0, sizeof(*a));
	a->log = tmpfile();
	assert_non_null(a->log);
	assert_int_equal(agent_store_sqlite_open(&a->store, ":memory:"), TEELIZA_OK);
	memset(&rc, 0, sizeof(rc));
	rc.store = a->store;
	rc.log = a->log;
	assert_int_equal(agent_registry_new(&a->reg, &rc), TEELIZA_OK);
	memset(&ac, 0, sizeof(ac));
	ac.registry = a->reg;
	ac.host = "127.0.0.1";
	ac.log = a->log;
	assert_int_equal(agent_api_start(&a->api, &ac), TEELIZA_OK);
	snprintf(a->base, sizeof(a->base), "http://127.0.0.1:%u", (unsigned)agent_api_port(a->api));
}

static void api_env_close(struct api_env *a)
{
	agent_api_stop(a->api);
	agent_registry_free(a->reg);
	agent_store_close(a->store);
	fclose(a->log);
}

static void test_set_over_http(void **state)
{
	struct api_env a;
	agent_runtime *rt = NULL;
	agent_character *c = NULL;
	char path[128], extra[512], *body;
	const char *base;
	struct test_resp r;
	json_t *j;

	(void)state;
	set_operator_env();
	api_env_open(&a);
	base = a.base;
	j = character_json("Frank", "openai", NULL);
	assert_int_equal(agent_character_from_json(&c, NULL, j, NULL), TEELIZA_OK);
	json_decref(j);
	assert_int_equal(agent_registry_start(&rt, a.reg, c), TEELIZA_OK);

	server_reset(&attacker_srv);
	server_reset(&operator_srv);
	snprintf(extra, sizeof(extra), "\"id\":\"%s\",\"modelEndpointOverride\":\"%s\",", agent_runtime_id(rt),
	         attacker_srv.base);
	j = character_json("Frank", "openai", extra);
	body = json_dumps(j, 0);
	json_decref(j);
	snprintf(path, sizeof(path), "/agents/%s/set", agent_runtime_id(rt));
	r = test_http_request(base, "POST", path, "application/json", body, strlen(body), NULL, 10000);
	free(body);
	assert_int_equal(r.status, 400);
	assert_non_null(strstr(r.body, "must bring its own key"));
	assert_null(strstr(r.body, OPERATOR_KEY));
	free(r.body);
	/* The agent is still the operator's, and still answers through the operator's endpoint. */
	snprintf(path, sizeof(path), "/%s/message", agent_runtime_id(rt));
	r = test_http_request(base, "POST", path, "application/json", "{\"text\":\"hi\"}", 13, NULL, 10000);
	assert_int_equal(r.status, 200);
	assert_non_null(strstr(r.body, "hello from the model"));
	free(r.body);
	assert_last_auth(&operator_srv, "Bearer " OPERATOR_KEY);
	assert_int_equal(server_seen(&attacker_srv), 0);

	agent_runtime_release(rt);
	api_env_close(&a);
	clear_env();
}

/* One request to the v1 API; its status. */
static unsigned v1_call(const struct api_env *a, const char *method, const char *path, const char *body)
{
	struct test_resp r = test_http_request(a->base, method, path, "application/json", body,
	                                       body != NULL ? strlen(body) : 0, NULL, 10000);
	unsigned status = r.status;

	assert_null(strstr(r.body != NULL ? r.body : "", OPERATOR_KEY));
	free(r.body);
	return status;
}

/*
 * The v1 API keeps a copy of an agent it stops or PATCHes; an operator's
 * agent whose key lives only in its character file must not lend that key
 * to an endpoint a network caller PATCHes in (modelEndpointOverride keeps
 * settings.secrets in a shallow update), running or stopped and restarted.
 */
static void test_v1_patch_keeps_operator_key(void **state)
{
	struct api_env a;
	agent_runtime *rt = NULL;
	agent_character *c = NULL;
	char extra[512], path[160], body[256], id[AGENT_UUID_BUFSZ];
	json_t *j;

	(void)state;
	clear_env();
	api_env_open(&a);
	snprintf(extra, sizeof(extra), "\"settings\":{\"OPENAI_API_URL\":\"%s\",\"secrets\":{\"OPENAI_API_KEY\":\"%s\"}},",
	         operator_srv.base, OPERATOR_KEY);
	j = character_json("Grace", "openai", extra);
	assert_int_equal(agent_character_from_json(&c, NULL, j, "/operator/grace.character.json"), TEELIZA_OK);
	json_decref(j);
	assert_int_equal(agent_registry_start(&rt, a.reg, c), TEELIZA_OK);
	snprintf(id, sizeof(id), "%s", agent_runtime_id(rt));
	server_reset(&operator_srv);
	say(rt);
	assert_last_auth(&operator_srv, "Bearer " OPERATOR_KEY);
	agent_runtime_release(rt);

	server_reset(&attacker_srv);
	snprintf(path, sizeof(path), "/api/agents/%s", id);
	snprintf(body, sizeof(body), "{\"modelEndpointOverride\":\"%s\"}", attacker_srv.base);
	(void)v1_call(&a, "PATCH", path, body);
	rt = agent_registry_find(a.reg, id, false);
	if (rt != NULL)
		say(rt);
	agent_runtime_release(rt);
	assert_int_equal(server_seen(&attacker_srv), 0);

	snprintf(path, sizeof(path), "/api/agents/%s/stop", id);
	(void)v1_call(&a, "POST", path, NULL);
	snprintf(path, sizeof(path), "/api/agents/%s", id);
	(void)v1_call(&a, "PATCH", path, body);
	snprintf(path, sizeof(path), "/api/agents/%s/start", id);
	(void)v1_call(&a, "POST", path, NULL);
	rt = agent_registry_find(a.reg, id, false);
	if (rt != NULL)
		say(rt);
	agent_runtime_release(rt);
	assert_int_equal(server_seen(&attacker_srv), 0);
	api_env_close(&a);
	clear_env();
}

static int setup(void **state)
{
	(void)state;
	clear_env();
	unsetenv("TEELIZA_OFFLINE");
	unsetenv("MODEL_TIMEOUT_MS");
	server_start(&operator_srv);
	server_start(&operator2_srv);
	server_start(&attacker_srv);
	return 0;
}

static int teardown(void **state)
{
	(void)state;
	server_stop(&operator_srv);
	server_stop(&operator2_srv);
	server_stop(&attacker_srv);
	return 0;
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_posted_endpoint_refused),
		cmocka_unit_test(test_posted_extends_key_refused),
		cmocka_unit_test(test_posted_own_key_allowed),
		cmocka_unit_test(test_posted_operator_endpoint_allowed),
		cmocka_unit_test(test_round_trip_of_operator_character),
		cmocka_unit_test(test_redirect_not_followed),
		cmocka_unit_test(test_set_over_http),
		cmocka_unit_test(test_v1_patch_keeps_operator_key),
		cmocka_unit_test(test_url_credentials_not_shown),
		cmocka_unit_test(test_proxy_for_lookalike_hosts),
	};

	return cmocka_run_group_tests(tests, setup, teardown);
}
