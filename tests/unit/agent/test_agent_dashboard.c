/*
 * The agent's operability and dashboard routes over real loopback HTTP,
 * with the tappd simulator in-process: GET /healthz, GET /metrics
 * (counters move with real messages, quotes and tappd calls), POST /verify
 * (same verdict as `teeliza verify --json` for every vector quote and for
 * the simulator's own quotes; bad input gets 4xx), the dashboard's agent
 * view (wallets, report_data binding, RTMR replay, tappd Info, verdict),
 * the log ring (secrets never kept) and the embedded assets (equal to
 * their sources).
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <cmocka.h>

#include "testutil.h"
#include "agent/runtime/logring.h"
#include "teeliza/agent/api.h"
#include "teeliza/agent/runtime.h"
#include "teeliza/agent/tee_plugin.h"
#include "teeliza/common/encoding.h"
#include "teeliza/http/http.h"
#include "teeliza/sim/simulator.h"
#include "teeliza/tee/tappd.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#define SALT "dashboard-test-salt-Qx7"

static const char character_text[] =
	"{\"name\":\"Dash Bot\",\"modelProvider\":\"openai\",\"bio\":[\"A test agent.\"],\"lore\":[],"
	"\"messageExamples\":[],\"postExamples\":[],\"topics\":[],\"adjectives\":[],\"clients\":[],\"plugins\":[],"
	"\"style\":{\"all\":[],\"chat\":[],\"post\":[]}}";

/* A fake model: "echo: <text>"; "fail" fails like an unreachable model. */
static teeliza_err fake_generate(json_t **content, void *ctx, const agent_generate_request *req)
{
	(void)ctx;
	if (strcmp(req->user_text, "fail") == 0)
		return teeliza_set_error(TEELIZA_ERR_CONNECT, "cannot connect to the model");
	*content = json_pack("{s:s, s:s+, s:s}", "user", "Dash Bot", "text", "echo: ", req->user_text, "action", "NONE");
	return TEELIZA_OK;
}

struct env {
	char dir[64];
	tee_sim *sim;
	char sim_url[64];
	agent_tee_config tee;
	agent_plugin tee_plugin;         /* with tee as the agents' settings */
	agent_store *store;
	agent_registry *reg;
	agent_api *api;
	agent_runtime *rt;
	char base[64];
	FILE *log;
};

/* api_knows_sim false: the API is not told of the simulator, as with a separately started `teeliza simulator`. */
static void env_start_ex(struct env *e, const char *token, size_t max_body, bool api_knows_sim)
{
	agent_registry_config rc;
	agent_api_config ac;
	agent_character *c = NULL;
	tee_sim_config sc;
	teeliza_buf report;

	memset(e, 0, sizeof(*e));
	snprintf(e->dir, sizeof(e->dir), "%s", "/tmp/teeliza-dash-XXXXXX");
	assert_non_null(mkdtemp(e->dir));
	memset(&sc, 0, sizeof(sc));
	sc.host = "127.0.0.1";
	sc.state_dir = e->dir;
	sc.quiet = true;
	if (tee_sim_start(&e->sim, &sc) != TEELIZA_OK)
		fail_msg("simulator: %s", teeliza_errmsg());
	snprintf(e->sim_url, sizeof(e->sim_url), "http://127.0.0.1:%u", (unsigned)tee_sim_port(e->sim));
	e->tee.mode = "LOCAL";
	e->tee.salt = SALT;
	e->tee.simulator_endpoint = e->sim_url;
	e->log = tmpfile();
	assert_non_null(e->log);
	assert_int_equal(agent_store_sqlite_open(&e->store, ":memory:"), TEELIZA_OK);
	memset(&rc, 0, sizeof(rc));
	rc.store = e->store;
	rc.log = e->log;
	rc.generate = fake_generate;
	rc.seed = 7;
	agent_tee_plugin(&e->tee_plugin, &e->tee);
	rc.plugins = &e->tee_plugin;
	rc.n_plugins = 1;
	assert_int_equal(agent_registry_new(&e->reg, &rc), TEELIZA_OK);
	memset(&ac, 0, sizeof(ac));
	ac.registry = e->reg;
	ac.host = "127.0.0.1";
	ac.api_token = token;
	ac.max_body = max_body;
	ac.log = e->log;
	if (api_knows_sim) {
		ac.sim_trust.get = tee_sim_trust_anchor;
		ac.sim_trust.ctx = e->sim;
	}
	assert_int_equal(agent_api_start(&e->api, &ac), TEELIZA_OK);
	snprintf(e->base, sizeof(e->base), "http://127.0.0.1:%u", (unsigned)agent_api_port(e->api));
	if (agent_character_from_text(&c, &report, character_text, strlen(character_text), NULL) != TEELIZA_OK)
		fail_msg("character: %s", teeliza_errmsg());
	teeliza_buf_free(&report);
	assert_int_equal(agent_registry_start(&e->rt, e->reg, c), TEELIZA_OK);
}

static void env_start(struct env *e, const char *token, size_t max_body)
{
	env_start_ex(e, token, max_body, true);
}

static void env_stop(struct env *e)
{
	char cmd[128];

	agent_runtime_release(e->rt);
	agent_api_stop(e->api);
	agent_registry_free(e->reg);
	agent_store_close(e->store);
	fclose(e->log);
	tee_sim_stop(e->sim);
	snprintf(cmd, sizeof(cmd), "rm -rf '%s'", e->dir);
	assert_int_equal(system(cmd), 0);
}

static struct test_resp request(const struct env *e, const char *method, const char *path, const char *ctype,
                                const void *body, size_t body_len, const char *auth)
{
	return test_http_request(e->base, method, path, ctype, body, body_len, auth, 30000);
}

static json_t *get_json(const struct env *e, const char *path, long status)
{
	struct test_resp r = request(e, "GET", path, NULL, NULL, 0, NULL);
	json_t *j;

	if (r.status != status)
		fail_msg("GET %s: HTTP %ld, want %ld: %s", path, r.status, status, r.body);
	j = json_loadb(r.body, r.len, 0, NULL);
	if (j == NULL)
		fail_msg("GET %s: not JSON: %s", path, r.body);
	free(r.body);
	return j;
}

static json_t *post_verify(const struct env *e, const char *ctype, const void *body, size_t len, long status)
{
	struct test_resp r = request(e, "POST", "/verify", ctype, body, len, NULL);
	json_t *j;

	if (r.status != status)
		fail_msg("POST /verify: HTTP %ld, want %ld: %.300s", r.status, status, r.body);
	j = json_loadb(r.body, r.len, 0, NULL);
	if (j == NULL)
		fail_msg("POST /verify: not JSON: %.300s", r.body);
	free(r.body);
	return j;
}

/* The value of one sample line "name value" in Prometheus text; fails when missing. */
static double metric(const struct env *e, const char *name)
{
	struct test_resp r = request(e, "GET", "/metrics", NULL, NULL, 0, NULL);
	char *line, *nl, *end;
	size_t n = strlen(name);
	double v = -1;
	bool found = false;

	assert_int_equal(r.status, 200);
	assert_non_null(strstr(r.ctype, "text/plain"));
	for (line = r.body; *line != 0; line = nl + 1) {
		nl = strchr(line, '\n');
		assert_non_null(nl); /* every line ends with a newline */
		*nl = 0;
		if (line[0] == '#')
			continue;
		/* Every sample is `name[{labels}] number`. */
		end = strrchr(line, ' ');
		assert_non_null(end);
		(void)strtod(end + 1, &end);
		assert_int_equal(*end, 0);
		if (strncmp(line, name, n) == 0 && line[n] == ' ') {
			v = strtod(line + n + 1, NULL);
			found = true;
		}
	}
	free(r.body);
	if (!found)
		fail_msg("no metric %s", name);
	return v;
}

static void post_message(const struct env *e, const char *text, long status)
{
	char path[128], body[256];
	struct test_resp r;

	snprintf(path, sizeof(path), "/%s/message", agent_runtime_id(e->rt));
	snprintf(body, sizeof(body), "{\"text\":\"%s\",\"userId\":\"u\",\"roomId\":\"r\"}", text);
	r = request(e, "POST", path, "application/json", body, strlen(body), NULL);
	assert_int_equal(r.status, status);
	free(r.body);
}

/* ---- /healthz and /metrics ---- */

static void test_healthz(void **state)
{
	struct env e;
	json_t *j;
	struct test_resp r;

	(void)state;
	env_start(&e, "tok-123456", 0);
	/* No token needed for liveness; the data routes still want it. */
	j = get_json(&e, "/healthz", 200);
	assert_string_equal(json_string_value(json_object_get(j, "status")), "ok");
	assert_int_equal(json_integer_value(json_object_get(j, "agents")), 1);
	json_decref(j);
	r = request(&e, "GET", "/metrics", NULL, NULL, 0, NULL);
	assert_int_equal(r.status, 401);
	free(r.body);
	r = request(&e, "GET", "/metrics", NULL, NULL, 0, "Bearer tok-123456");
	assert_int_equal(r.status, 200);
	assert_non_null(strstr(r.body, "teeliza_agents 1\n"));
	free(r.body);
	assert_int_equal(agent_registry_stop(e.reg, agent_runtime_id(e.rt)), TEELIZA_OK);
	j = get_json(&e, "/healthz", 200);
	assert_int_equal(json_integer_value(json_object_get(j, "agents")), 0);
	json_decref(j);
	env_stop(&e);
}

static void test_metrics_move(void **state)
{
	struct env e;
	double msgs, quotes, tappd, tappd_sum, err_msg, err_5xx;

	(void)state;
	env_start(&e, NULL, 0);
	/* Start-up derived two wallets, each with a quote, through tappd. */
	quotes = metric(&e, "teeliza_quotes_total");
	assert_true(quotes >= 2);
	tappd = metric(&e, "teeliza_tappd_request_seconds_count");
	assert_true(tappd >= 4);
	tappd_sum = metric(&e, "teeliza_tappd_request_seconds_sum");
	assert_true(tappd_sum > 0);
	msgs = metric(&e, "teeliza_messages_total");
	err_msg = metric(&e, "teeliza_errors_total{kind=\"message\"}");
	err_5xx = metric(&e, "teeliza_errors_total{kind=\"http_5xx\"}");
	assert_int_equal((int)metric(&e, "teeliza_agents"), 1);

	post_message(&e, "hello", 200);
	post_message(&e, "hello again", 200);
	assert_true(metric(&e, "teeliza_messages_total") == msgs + 2);
	post_message(&e, "fail", 500);
	assert_true(metric(&e, "teeliza_messages_total") == msgs + 3);
	assert_true(metric(&e, "teeliza_errors_total{kind=\"message\"}") == err_msg + 1);
	assert_true(metric(&e, "teeliza_errors_total{kind=\"http_5xx\"}") == err_5xx + 1);

	/* A remote attestation of a message asks tappd for one more quote. */
	{
		agent_tee *t = agent_runtime_tee(e.rt);
		char id[AGENT_UUID_BUFSZ];
		double before = metric(&e, "teeliza_quotes_total"), calls = metric(&e, "teeliza_tappd_request_seconds_count");

		assert_int_equal(agent_tee_attest_message(id, t, "u", "r", "hi"), TEELIZA_OK);
		assert_true(metric(&e, "teeliza_quotes_total") == before + 1);
		assert_true(metric(&e, "teeliza_tappd_request_seconds_count") == calls + 1);
	}
	/* Failed tappd requests: an error answer, and nobody listening. */
	{
		double before = metric(&e, "teeliza_errors_total{kind=\"tappd\"}");
		tappd_quote_response q;
		tappd_endpoint ep;
		tappd_client c;

		assert_int_equal(tappd_endpoint_parse(&ep, e.sim_url), TEELIZA_OK);
		tappd_client_init(&c, &ep);
		assert_int_not_equal(tappd_tdx_quote(&q, &c, (const uint8_t *)"x", 1, "no-such-hash", NULL), TEELIZA_OK);
		assert_true(metric(&e, "teeliza_errors_total{kind=\"tappd\"}") == before + 1);
		assert_int_equal(tappd_endpoint_parse(&ep, "http://127.0.0.1:1"), TEELIZA_OK);
		tappd_client_init(&c, &ep);
		assert_int_not_equal(tappd_tdx_quote(&q, &c, (const uint8_t *)"x", 1, NULL, NULL), TEELIZA_OK);
		assert_true(metric(&e, "teeliza_errors_total{kind=\"tappd\"}") == before + 2);
	}
	env_stop(&e);
}

/* ---- POST /verify ---- */

/* `teeliza verify --json` on a file, with --collateral and --now (or --trust-root). */
static json_t *cli_verify(const char *quote_path, const char *coll_path, const char *now, const char *trust_root)
{
	char cmd[2048], *out = NULL;
	json_t *j;

	snprintf(cmd, sizeof(cmd), "'%s' verify --json --collateral '%s' %s%s %s%s%s '%s' 2>/dev/null", TEELIZA_BINARY,
	         coll_path, now != NULL ? "--now " : "", now != NULL ? now : "", trust_root != NULL ? "--trust-root '" : "",
	         trust_root != NULL ? trust_root : "", trust_root != NULL ? "'" : "", quote_path);
	(void)run_capture(cmd, &out);
	j = out != NULL ? json_loads(out, 0, NULL) : NULL;
	if (j == NULL)
		fail_msg("%s: not JSON: %s", cmd, out != NULL ? out : "");
	free(out);
	return j;
}

static void expect_same_verdict(const json_t *cli, const json_t *api, const char *what)
{
	static const char *const keys[] = {"verdict", "trusted", "failure", "reason", "status", "platform_status",
	                                   "qe_status", "module_status", "advisory_ids", "fmspc", "intel_root"};
	size_t i;

	for (i = 0; i < sizeof(keys) / sizeof(keys[0]); i++)
		if (!json_equal(json_object_get(cli, keys[i]), json_object_get(api, keys[i]))) {
			char *a = json_dumps(json_object_get(cli, keys[i]), JSON_ENCODE_ANY),
			     *b = json_dumps(json_object_get(api, keys[i]), JSON_ENCODE_ANY);
			fail_msg("%s: %s differs: CLI %s, API %s", what, keys[i], a, b);
		}
	assert_true(json_equal(json_object_get(cli, "quote"), json_object_get(api, "quote")));
}

/* The body {"quote":"<hex>","collateral":<file>,"now":now}. */
static char *verify_body(const char *quote_file, const char *coll_file, long long now)
{
	size_t qlen;
	uint8_t *q = vector_read(quote_file, &qlen);
	json_t *coll = vector_json(coll_file), *body;
	char *hex, *text;
	bool is_hex = strstr(quote_file, ".hex") != NULL;

	hex = malloc(2 * qlen + 1);
	assert_non_null(hex);
	if (is_hex) {
		memcpy(hex, q, qlen);
		hex[qlen] = 0;
	} else {
		teeliza_hex_encode(hex, q, qlen);
	}
	body = json_pack("{s:s, s:o, s:I}", "quote", hex, "collateral", coll, "now", (json_int_t)now);
	text = json_dumps(body, JSON_COMPACT | JSON_PRESERVE_ORDER);
	json_decref(body);
	free(hex);
	free(q);
	return text;
}

static void test_verify_vectors(void **state)
{
	static const struct {
		const char *quote, *coll;
		long long now;
	} cases[] = {
		{"dcapqvl-sgx_quote", "dcapqvl-sgx_quote_collateral.json", 1752919277},
		{"dcapqvl-sgx_quote", "dcapqvl-sgx_quote_collateral.json", 1752919279},
		{"dcapqvl-tdx_quote", "dcapqvl-tdx_quote_collateral.json", 1752919234},
		{"dcapqvl-tdx_quote_outdated", "dcapqvl-tdx_quote_outdated_collateral.json", 1774003274},
		{"gotdx-tdx_prod_quote_SPR_E4.dat", "gotdx-tdx_prod_quote_SPR_E4_collateral.json", 1688173200},
		{"gotdx-quote_v5_sample.dat", "dcapqvl-tdx_quote_collateral.json", 1752919234},
		{"dcapqvl-tdx-quote.hex", "dcapqvl-tdx_quote_collateral.json", 1752919234},
		{"dcapqvl-quote-from-tappd.hex", "dcapqvl-tdx_quote_collateral.json", 1752919234},
		{"eliza-guide-simulator-quote.hex", "dcapqvl-tdx_quote_collateral.json", 1752919234},
	};
	struct env e;
	char now[32], qpath[1024], cpath[1024], *body;
	json_t *cli, *api;
	size_t i;

	(void)state;
	env_start(&e, NULL, 0);
	for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		snprintf(now, sizeof(now), "%lld", cases[i].now);
		snprintf(qpath, sizeof(qpath), "%s", vector_path(cases[i].quote));
		snprintf(cpath, sizeof(cpath), "%s", vector_path(cases[i].coll));
		cli = cli_verify(qpath, cpath, now, NULL);
		body = verify_body(cases[i].quote, cases[i].coll, cases[i].now);
		api = post_verify(&e, "application/json", body, strlen(body), 200);
		expect_same_verdict(cli, api, cases[i].quote);
		assert_string_equal(json_string_value(json_object_get(api, "collateralSource")), "request");
		/* Only Intel-rooted verdicts say so; these vectors never chain to the simulator. */
		if (json_is_true(json_object_get(cli, "intel_root")) &&
		    strcmp(json_string_value(json_object_get(cli, "verdict")), "failed") != 0)
			assert_string_equal(json_string_value(json_object_get(api, "rootedIn")), "intel");
		else
			assert_true(json_is_null(json_object_get(api, "rootedIn")));
		json_decref(cli);
		json_decref(api);
		free(body);
	}
	/* The two positive vectors really are trusted (so the comparison is not between two failures). */
	body = verify_body("dcapqvl-tdx_quote", "dcapqvl-tdx_quote_collateral.json", 1752919234);
	api = post_verify(&e, "application/json", body, strlen(body), 200);
	assert_string_equal(json_string_value(json_object_get(api, "verdict")), "trusted");
	assert_string_equal(json_string_value(json_object_get(api, "status")), "UpToDate");
	json_decref(api);
	free(body);
	env_stop(&e);
}

/* The agent's derive-time quote (hex, no 0x) of the first wallet, from the dashboard view. */
static char *derive_quote_hex(const struct env *e)
{
	char path[128];
	json_t *d, *w;
	char *hex;

	snprintf(path, sizeof(path), "/dashboard/api/agents/%s", agent_runtime_id(e->rt));
	d = get_json(e, path, 200);
	w = json_array_get(json_object_get(d, "wallets"), 0);
	hex = strdup(json_string_value(json_object_get(json_object_get(w, "attestation"), "quote")) + 2);
	json_decref(d);
	assert_non_null(hex);
	return hex;
}

static void test_verify_simulator_quote(void **state)
{
	char qpath[128], cpath[128], rpath[128];
	teeliza_buf pem, coll;
	size_t len;
	struct env e;
	json_t *api, *cli;
	uint8_t *bin;
	char *hex;

	(void)state;
	env_start(&e, NULL, 0);
	hex = derive_quote_hex(&e);
	/* Raw hex text, no collateral: the simulator's own collateral and root are used, and said to be. */
	api = post_verify(&e, "text/plain", hex, strlen(hex), 200);
	assert_string_equal(json_string_value(json_object_get(api, "verdict")), "trusted");
	assert_string_equal(json_string_value(json_object_get(api, "rootedIn")), "simulator");
	assert_string_equal(json_string_value(json_object_get(api, "collateralSource")), "simulator");
	assert_true(json_is_false(json_object_get(api, "intel_root")));
	assert_non_null(strstr(json_string_value(json_object_get(api, "label")), "NOT Intel"));
	/* `teeliza verify` with the simulator's collateral and --trust-root gives the same verdict. */
	snprintf(qpath, sizeof(qpath), "%s/quote.hex", e.dir);
	snprintf(cpath, sizeof(cpath), "%s/coll.json", e.dir);
	snprintf(rpath, sizeof(rpath), "%s/root.pem", e.dir);
	assert_int_equal(teeliza_write_file(qpath, hex, strlen(hex), 0600), TEELIZA_OK);
	assert_int_equal(tee_sim_collateral_json(&coll, tee_sim_get_pki(e.sim), (int64_t)time(NULL)), TEELIZA_OK);
	assert_int_equal(teeliza_write_file(cpath, coll.data, coll.len, 0600), TEELIZA_OK);
	assert_int_equal(tee_sim_pki_root_pem(&pem, tee_sim_get_pki(e.sim)), TEELIZA_OK);
	assert_int_equal(teeliza_write_file(rpath, pem.data, pem.len, 0600), TEELIZA_OK);
	teeliza_buf_free(&coll);
	teeliza_buf_free(&pem);
	cli = cli_verify(qpath, cpath, NULL, rpath);
	expect_same_verdict(cli, api, "simulator quote");
	json_decref(cli);
	json_decref(api);
	/* The same quote as bytes. */
	bin = hex_alloc(hex, &len);
	api = post_verify(&e, "application/octet-stream", bin, len, 200);
	assert_string_equal(json_string_value(json_object_get(api, "rootedIn")), "simulator");
	json_decref(api);
	/* One flipped byte in the TD report breaks the quote signature. */
	bin[200] ^= 1;
	api = post_verify(&e, "application/octet-stream", bin, len, 200);
	assert_string_equal(json_string_value(json_object_get(api, "verdict")), "failed");
	assert_string_equal(json_string_value(json_object_get(api, "failure")), "quote_signature");
	json_decref(api);
	free(bin);
	free(hex);
	env_stop(&e);
}

/* POST /verify with a JSON body (taken). */
static json_t *verify_json_body(const struct env *e, long status, json_t *body)
{
	char *text = json_dumps(body, JSON_COMPACT);
	json_t *v;

	assert_non_null(text);
	json_decref(body);
	v = post_verify(e, "application/json", text, strlen(text), status);
	free(text);
	return v;
}

/* POST /verify with a dstack quote's event log: its app identity read, required and tampered with. */
static void test_verify_app_identity(void **state)
{
	struct env e;
	struct test_resp r;
	json_t *gq, *v, *id;
	char compose[65], payload[65];
	const char *log;

	(void)state;
	env_start(&e, NULL, 0);
	r = test_http_request(e.sim_url, "POST", "/GetQuote", "application/json", "{\"report_data\":\"00\"}", 20, NULL,
	                      30000);
	assert_int_equal(r.status, 200);
	gq = json_loadb(r.body, r.len, 0, NULL);
	free(r.body);
	assert_non_null(gq);
	log = json_string_value(json_object_get(gq, "event_log"));
	assert_non_null(log);

	/* the log alone: the identity is read and shown */
	v = verify_json_body(&e, 200, json_pack("{s:O, s:s}", "quote", json_object_get(gq, "quote"), "eventLog", log));
	assert_string_equal(json_string_value(json_object_get(v, "verdict")), "trusted");
	id = json_object_get(v, "appIdentity");
	assert_true(json_is_object(id));
	snprintf(compose, sizeof(compose), "%s", json_string_value(json_object_get(id, "composeHash")));
	assert_int_equal(strlen(compose), 64);
	assert_string_equal(json_string_value(json_object_get(json_object_get(id, "keyProvider"), "name")), "kms");
	json_decref(v);

	/* the whole GetQuote answer as eventLog, with the right compose hash */
	v = verify_json_body(&e, 200, json_pack("{s:O, s:O, s:s}", "quote", json_object_get(gq, "quote"), "eventLog", gq, "expectComposeHash", compose));
	assert_string_equal(json_string_value(json_object_get(v, "verdict")), "trusted");
	json_decref(v);

	/* a wrong one: failed, naming the field */
	v = verify_json_body(&e, 200, json_pack("{s:O, s:s, s:s}", "quote", json_object_get(gq, "quote"), "eventLog", log, "expectAppId", "0000000000000000000000000000000000000000"));
	assert_string_equal(json_string_value(json_object_get(v, "verdict")), "failed");
	assert_string_equal(json_string_value(json_object_get(v, "failure")), "app_identity");
	assert_non_null(strstr(json_string_value(json_object_get(v, "reason")), "app identity: app-id is "));
	/* what the log holds is still shown */
	assert_true(json_is_string(json_object_get(json_object_get(v, "appIdentity"), "appId")));
	json_decref(v);

	/* one byte of the compose-hash event's payload: the log no longer replays to RTMR3 */
	{
		json_t *events = json_loads(log, 0, NULL), *ev;
		size_t i;
		char *tampered;

		json_array_foreach(events, i, ev)
			if (strcmp(json_string_value(json_object_get(ev, "event")), "compose-hash") == 0) {
				snprintf(payload, sizeof(payload), "%s", json_string_value(json_object_get(ev, "event_payload")));
				payload[0] = payload[0] == '0' ? '1' : '0';
				json_object_set_new(ev, "event_payload", json_string(payload));
			}
		tampered = json_dumps(events, JSON_COMPACT);
		v = verify_json_body(&e, 200, json_pack("{s:O, s:s, s:s}", "quote", json_object_get(gq, "quote"), "eventLog",
		                                   tampered, "expectComposeHash", payload));
		assert_string_equal(json_string_value(json_object_get(v, "failure")), "event_log");
		assert_non_null(strstr(json_string_value(json_object_get(v, "reason")), "event log does not match RTMR3"));
		json_decref(v);
		free(tampered);
		json_decref(events);
	}

	/* bad requests */
	v = verify_json_body(&e, 400, json_pack("{s:O, s:s}", "quote", json_object_get(gq, "quote"), "expectComposeHash", compose));
	assert_non_null(strstr(json_string_value(json_object_get(v, "error")), "need \"eventLog\""));
	json_decref(v);
	v = verify_json_body(&e, 400, json_pack("{s:O, s:s, s:s}", "quote", json_object_get(gq, "quote"), "eventLog", log, "expectComposeHash", "00"));
	assert_non_null(strstr(json_string_value(json_object_get(v, "error")), "\"expectComposeHash\" must be 32 bytes"));
	json_decref(v);
	v = verify_json_body(&e, 400, json_pack("{s:O, s:i}", "quote", json_object_get(gq, "quote"), "eventLog", 5));
	assert_non_null(strstr(json_string_value(json_object_get(v, "error")), "\"eventLog\" must be the event log"));
	json_decref(v);
	json_decref(gq);
	env_stop(&e);
}

static void expect_error(const struct env *e, const char *ctype, const void *body, size_t len, long status,
                         const char *words)
{
	json_t *j = post_verify(e, ctype, body, len, status);
	const char *msg = json_string_value(json_object_get(j, "error"));

	if (msg == NULL || strstr(msg, words) == NULL)
		fail_msg("want an error with \"%s\", got %s", words, msg != NULL ? msg : "(none)");
	json_decref(j);
}

static void test_verify_bad_input(void **state)
{
	struct env e, big;
	size_t qlen, n = (size_t)10 << 20;
	uint8_t *q = vector_read("dcapqvl-tdx_quote", &qlen);
	char *hex = malloc(2 * qlen + 1), *huge;
	struct test_resp r;

	(void)state;
	assert_non_null(hex);
	teeliza_hex_encode(hex, q, qlen);
	env_start(&e, NULL, 0);
	expect_error(&e, "text/plain", "hello, not a quote", 18, 400, "not hex");
	expect_error(&e, "text/plain", "0x0400zz", 8, 400, "'z' at offset 4");
	expect_error(&e, "text/plain", "abc", 3, 400, "odd number");
	expect_error(&e, "text/plain", "  \n", 3, 400, "no quote");
	expect_error(&e, "application/json", "{\"quote\":12}", 12, 400, "hex string");
	expect_error(&e, "application/json", "{\"quote\":\"00\",\"now\":\"x\"}", 24, 400, "Unix seconds");
	expect_error(&e, "application/json", "{\"quote", 7, 400, "");
	/* Truncated: the first 1000 bytes of a real quote. */
	expect_error(&e, "text/plain", hex, 2000, 400, "truncated");
	expect_error(&e, "text/plain", hex, 40, 400, "truncated");
	/* A real quote that is not the simulator's, without collateral. */
	expect_error(&e, "text/plain", hex, 2 * qlen, 422, "collateral needed");
	/* Collateral that is not collateral. */
	{
		char *body = malloc(2 * qlen + 64);

		assert_non_null(body);
		snprintf(body, 2 * qlen + 64, "{\"quote\":\"%s\",\"collateral\":{\"x\":1}}", hex);
		expect_error(&e, "application/json", body, strlen(body), 400, "bad collateral");
		free(body);
	}
	/* 10 MB of hex digits: refused before it is read as a quote. */
	huge = malloc(n);
	assert_non_null(huge);
	memset(huge, 'a', n);
	r = request(&e, "POST", "/verify", "text/plain", huge, n, NULL);
	assert_int_equal(r.status, 413);
	free(r.body);
	env_stop(&e);
	/* With a body limit above 1 MiB for the other routes, /verify still stops at 1 MiB. */
	env_start(&big, NULL, (size_t)16 << 20);
	expect_error(&big, "text/plain", huge, ((size_t)1 << 20) + 2, 413, "1 MiB");
	env_stop(&big);
	free(huge);
	free(hex);
	free(q);
}


static bool logs_contain(const struct env *e, const char *needle);

/* The simulator's root PEM and collateral JSON, as `teeliza sim-root [--collateral]` print them. */
static void sim_root_and_collateral(const struct env *e, char **root, char **coll)
{
	teeliza_buf b;

	assert_int_equal(tee_sim_pki_root_pem(&b, tee_sim_get_pki(e->sim)), TEELIZA_OK);
	*root = strndup((const char *)b.data, b.len);
	teeliza_buf_free(&b);
	assert_int_equal(tee_sim_collateral_json(&b, tee_sim_get_pki(e->sim), (int64_t)time(NULL)), TEELIZA_OK);
	*coll = strndup((const char *)b.data, b.len);
	teeliza_buf_free(&b);
	assert_non_null(*root);
	assert_non_null(*coll);
}

/* {"quote":hex,"collateral":coll?,"trustRoot":root?} */
static char *body_with(const char *hex, const char *coll, const char *root)
{
	json_t *b = json_pack("{s:s}", "quote", hex);
	char *text;

	if (coll != NULL)
		json_object_set_new(b, "collateral", json_loads(coll, 0, NULL));
	if (root != NULL)
		json_object_set_new(b, "trustRoot", json_string(root));
	text = json_dumps(b, JSON_COMPACT | JSON_PRESERVE_ORDER);
	json_decref(b);
	return text;
}

/* The RA explorer with a root pasted: trusted for that request only, and labelled as the caller's. */
static void test_verify_trust_root(void **state)
{
	struct env e;
	char *hex, *root, *coll, *body, *intel_pem, *leaf_pem;
	size_t len;
	json_t *api;

	(void)state;
	env_start_ex(&e, NULL, 0, false);
	/* A quote of the simulator's, taken without opening the dashboard (which would teach the agent its root). */
	{
		tappd_endpoint ep;
		tappd_client c;
		tappd_quote_response q;

		assert_int_equal(tappd_endpoint_parse(&ep, e.sim_url), TEELIZA_OK);
		tappd_client_init(&c, &ep);
		assert_int_equal(tappd_tdx_quote(&q, &c, (const uint8_t *)"ra", 2, NULL, NULL), TEELIZA_OK);
		hex = malloc(2 * q.quote.len + 1);
		assert_non_null(hex);
		teeliza_hex_encode(hex, q.quote.data, q.quote.len);
		tappd_quote_response_free(&q);
	}
	sim_root_and_collateral(&e, &root, &coll);
	/* Before the dashboard is opened the agent knows no simulator: the advice names real commands only. */
	body = body_with(hex, NULL, NULL);
	api = post_verify(&e, "application/json", body, strlen(body), 422);
	assert_non_null(strstr(json_string_value(json_object_get(api, "error")), "`teeliza sim-root --collateral`"));
	assert_non_null(strstr(json_string_value(json_object_get(api, "error")), "trustRoot"));
	assert_non_null(strstr(json_string_value(json_object_get(api, "error")), "NOT INTEL"));
	json_decref(api);
	free(body);
	/* Collateral without the root: a simulator root is not Intel's. */
	body = body_with(hex, coll, NULL);
	api = post_verify(&e, "application/json", body, strlen(body), 200);
	assert_string_equal(json_string_value(json_object_get(api, "failure")), "untrusted_root");
	assert_true(json_is_null(json_object_get(api, "rootedIn")));
	json_decref(api);
	free(body);
	/* With the root: trusted, rooted in the caller's root, never called Intel's. */
	body = body_with(hex, coll, root);
	api = post_verify(&e, "application/json", body, strlen(body), 200);
	assert_string_equal(json_string_value(json_object_get(api, "verdict")), "trusted");
	assert_string_equal(json_string_value(json_object_get(api, "rootedIn")), "caller");
	assert_true(json_is_false(json_object_get(api, "intel_root")));
	assert_non_null(strstr(json_string_value(json_object_get(api, "label")), "trust root you gave (NOT Intel)"));
	json_decref(api);
	free(body);
	/* The root is for that request only. */
	body = body_with(hex, coll, NULL);
	api = post_verify(&e, "application/json", body, strlen(body), 200);
	assert_string_equal(json_string_value(json_object_get(api, "failure")), "untrusted_root");
	json_decref(api);
	free(body);
	/* A root but no collateral: still 422. */
	body = body_with(hex, NULL, root);
	json_decref(post_verify(&e, "application/json", body, strlen(body), 422));
	free(body);
	/* Not a root: junk, a leaf certificate, two pastes of nothing. */
	body = body_with(hex, coll, "-----BEGIN CERTIFICATE-----\nnope\n-----END CERTIFICATE-----\n");
	expect_error(&e, "application/json", body, strlen(body), 400, "bad trustRoot");
	free(body);
	{
		char path[128];
		teeliza_buf b;

		snprintf(path, sizeof(path), "%s/sim-pck.pem", e.dir);
		assert_int_equal(teeliza_read_file(&b, path, 1 << 20), TEELIZA_OK);
		leaf_pem = strndup((const char *)b.data, b.len);
		teeliza_buf_free(&b);
	}
	body = body_with(hex, coll, leaf_pem);
	expect_error(&e, "application/json", body, strlen(body), 400, "self-signed CA");
	free(body);
	free(leaf_pem);
	expect_error(&e, "application/json", "{\"quote\":\"00\",\"trustRoot\":7}", 28, 400, "PEM certificate");
	/* Intel's root pasted for an Intel quote is simply Intel's: rootedIn intel. */
	intel_pem = (char *)vector_read("Intel_SGX_Provisioning_Certification_RootCA.pem", &len);
	intel_pem = realloc(intel_pem, len + 1);
	intel_pem[len] = 0;
	{
		char *vb = verify_body("dcapqvl-tdx_quote", "dcapqvl-tdx_quote_collateral.json", 1752919234), *text;
		json_t *b = json_loads(vb, 0, NULL);

		free(vb);
		json_object_set_new(b, "trustRoot", json_string(intel_pem));
		text = json_dumps(b, JSON_COMPACT | JSON_PRESERVE_ORDER);
		api = post_verify(&e, "application/json", text, strlen(text), 200);
		assert_string_equal(json_string_value(json_object_get(api, "verdict")), "trusted");
		assert_string_equal(json_string_value(json_object_get(api, "rootedIn")), "intel");
		json_decref(api);
		free(text);
		json_decref(b);
	}
	free(intel_pem);
	free(root);
	free(coll);
	free(hex);
	env_stop(&e);
}

/* A separately started simulator: the dashboard learns its root from Tappd.SimRoot and shows a simulator-rooted verdict. */
static void test_dashboard_separate_simulator(void **state)
{
	struct env e;
	char path[128], *hex, *body;
	json_t *d, *w, *v, *api;
	size_t i;

	(void)state;
	env_start_ex(&e, NULL, 0, false);
	snprintf(path, sizeof(path), "/dashboard/api/agents/%s", agent_runtime_id(e.rt));
	d = get_json(&e, path, 200);
	for (i = 0; i < 2; i++) {
		w = json_array_get(json_object_get(d, "wallets"), i);
		v = json_object_get(json_object_get(w, "attestation"), "verdict");
		assert_string_equal(json_string_value(json_object_get(v, "verdict")), "trusted");
		assert_string_equal(json_string_value(json_object_get(v, "rootedIn")), "simulator");
		assert_true(json_is_false(json_object_get(v, "intel_root")));
		assert_string_equal(json_string_value(json_object_get(json_object_get(v, "simulator"), "endpoint")),
		                    e.sim_url);
		assert_non_null(strstr(json_string_value(json_object_get(v, "label")), "Simulator-rooted (NOT Intel)"));
	}
	json_decref(d);
	assert_true(logs_contain(&e, "is a teeliza simulator"));
	/* Once learned, the RA explorer gives the agent's own quotes the same verdict without collateral. */
	hex = derive_quote_hex(&e);
	body = body_with(hex, NULL, NULL);
	api = post_verify(&e, "application/json", body, strlen(body), 200);
	assert_string_equal(json_string_value(json_object_get(api, "rootedIn")), "simulator");
	assert_string_equal(json_string_value(json_object_get(api, "collateralSource")), "simulator");
	json_decref(api);
	free(body);
	free(hex);
	env_stop(&e);
}

/* ---- the dashboard's agent view, logs and assets ---- */

static void test_dashboard_agent(void **state)
{
	agent_tee_wallets tw;
	struct env e;
	char path[128];
	json_t *d, *w, *att, *rd, *row, *info;
	size_t i, k;

	(void)state;
	env_start(&e, NULL, 0);
	assert_int_equal(agent_tee_wallets_get(&tw, agent_runtime_tee(e.rt)), TEELIZA_OK);
	snprintf(path, sizeof(path), "/dashboard/api/agents/%s", agent_runtime_id(e.rt));
	d = get_json(&e, path, 200);
	assert_string_equal(json_string_value(json_object_get(d, "name")), "Dash Bot");
	assert_true(json_is_true(json_object_get(json_object_get(d, "tee"), "simulated")));
	assert_int_equal(json_array_size(json_object_get(d, "wallets")), 2);
	for (i = 0; i < 2; i++) {
		w = json_array_get(json_object_get(d, "wallets"), i);
		assert_string_equal(json_string_value(json_object_get(w, "address")), i == 0 ? tw.solana : tw.evm);
		assert_string_equal(json_string_value(json_object_get(w, "quoteId")),
		                    i == 0 ? tw.solana_quote_id : tw.evm_quote_id);
		att = json_object_get(w, "attestation");
		assert_non_null(att);
		assert_true(strncmp(json_string_value(json_object_get(att, "quote")), "0x04000200", 10) == 0);
		rd = json_object_get(att, "reportData");
		assert_true(json_is_true(json_object_get(rd, "matches")));
		assert_string_equal(json_string_value(json_object_get(json_object_get(rd, "binds"), "agentId")),
		                    agent_runtime_id(e.rt));
		assert_string_equal(json_string_value(json_object_get(json_object_get(rd, "binds"), "publicKey")),
		                    i == 0 ? tw.solana : tw.evm);
		assert_true(json_equal(json_object_get(rd, "inQuote"), json_object_get(rd, "expected")));
		assert_int_equal(json_array_size(json_object_get(att, "rtmrs")), 4);
		for (k = 0; k < 4; k++) {
			row = json_array_get(json_object_get(att, "replay"), k);
			assert_true(json_is_true(json_object_get(row, "matches")));
			assert_true(json_equal(json_object_get(row, "quoted"), json_array_get(json_object_get(att, "rtmrs"), k)));
		}
		/* The last event of each RTMR's running value is that RTMR. */
		assert_true(json_array_size(json_object_get(att, "eventLog")) > 0);
		json_array_foreach(json_object_get(att, "eventLog"), k, row) {
			size_t imr = (size_t)json_integer_value(json_object_get(row, "imr")), later;
			json_t *next;
			bool last = true;

			json_array_foreach(json_object_get(att, "eventLog"), later, next)
				if (later > k && (size_t)json_integer_value(json_object_get(next, "imr")) == imr)
					last = false;
			if (last)
				assert_true(json_equal(json_object_get(row, "running"),
				                       json_array_get(json_object_get(att, "rtmrs"), imr)));
		}
		assert_string_equal(json_string_value(json_object_get(json_object_get(att, "verdict"), "rootedIn")),
		                    "simulator");
		assert_string_equal(json_string_value(json_object_get(json_object_get(att, "verdict"), "verdict")), "trusted");
	}
	info = json_object_get(d, "tappdInfo");
	assert_true(json_is_string(json_object_get(info, "app_id")));
	assert_true(json_is_string(json_object_get(info, "instance_id")));
	assert_true(json_is_string(json_object_get(info, "compose_hash")));
	json_decref(d);
	json_decref(get_json(&e, "/dashboard/api/agents/no-such-agent", 404));
	env_stop(&e);
}

static bool logs_contain(const struct env *e, const char *needle)
{
	struct test_resp r = request(e, "GET", "/dashboard/api/logs?max=512", NULL, NULL, 0, NULL);
	bool found;

	assert_int_equal(r.status, 200);
	found = strstr(r.body, needle) != NULL;
	free(r.body);
	return found;
}

static void test_logs_redacted(void **state)
{
	struct env e;
	json_t *j, *lines;
	char *line;
	uint64_t last;

	(void)state;
	env_start(&e, NULL, 0);
	assert_true(logs_contain(&e, "wallets (key scheme"));
	/* The salt, an environment secret and a PEM private key never enter the ring. */
	agent_log(e.log, "oops: salt is " SALT " and key sk-env-secret-98765");
	/* A key inside one line, and a key block among the lines of a block. */
	agent_log(e.log, "key -----BEGIN PRIVATE KEY-----\nMIGHAgEAMBMGByqGSM49AwEHone\n-----END PRIVATE KEY----- in one line");
	agent_log_lines(e.log, "-----BEGIN PRIVATE KEY-----\nMIGHAgEAMBMGByqGSM49AgEGCCqGSM49AwEH\n-----END PRIVATE KEY-----\nafter");
	assert_false(logs_contain(&e, "MIGHAgEAMBMGByqGSM49AwEHone"));
	assert_false(logs_contain(&e, SALT));
	assert_false(logs_contain(&e, "sk-env-secret-98765"));
	assert_false(logs_contain(&e, "MIGHAgEAMBMGByqGSM49AgEGCCqGSM49AwEH"));
	/* A character's settings.secrets are registered when it starts. */
	{
		static const char with_secret[] =
			"{\"name\":\"Secret Bot\",\"modelProvider\":\"openai\",\"bio\":[\"b\"],\"lore\":[],"
			"\"messageExamples\":[],\"postExamples\":[],\"topics\":[],\"adjectives\":[],\"clients\":[],"
			"\"plugins\":[],\"style\":{\"all\":[],\"chat\":[],\"post\":[]},"
			"\"settings\":{\"secrets\":{\"OPENAI_API_KEY\":\"sk-char-secret-24680\"}}}";
		agent_character *c = NULL;
		teeliza_buf report;

		assert_int_equal(agent_character_from_text(&c, &report, with_secret, strlen(with_secret), NULL), TEELIZA_OK);
		teeliza_buf_free(&report);
		assert_int_equal(agent_registry_start(NULL, e.reg, c), TEELIZA_OK);
		agent_log(e.log, "model key sk-char-secret-24680 leaked");
		assert_false(logs_contain(&e, "sk-char-secret-24680"));
		assert_true(logs_contain(&e, "model key " AGENT_LOGRING_REDACTED " leaked"));
	}
	assert_true(logs_contain(&e, "oops: salt is " AGENT_LOGRING_REDACTED " and key " AGENT_LOGRING_REDACTED));
	assert_true(logs_contain(&e, "after"));
	/* A long line is cut, and says how long it was. */
	line = malloc(5000);
	assert_non_null(line);
	memset(line, 'x', 4999);
	line[4999] = 0;
	agent_log(e.log, "%s", line);
	free(line);
	assert_true(logs_contain(&e, "[4999 bytes]"));
	/* after=N returns only newer lines. */
	j = get_json(&e, "/dashboard/api/logs?max=1", 200);
	lines = json_object_get(j, "lines");
	assert_int_equal(json_array_size(lines), 1);
	last = (uint64_t)json_integer_value(json_object_get(json_array_get(lines, 0), "seq"));
	json_decref(j);
	agent_log(e.log, "one more line");
	{
		char path[64];

		snprintf(path, sizeof(path), "/dashboard/api/logs?after=%llu", (unsigned long long)last);
		j = get_json(&e, path, 200);
		assert_int_equal(json_array_size(json_object_get(j, "lines")), 1);
		assert_string_equal(json_string_value(json_object_get(json_array_get(json_object_get(j, "lines"), 0), "line")),
		                    "one more line");
		json_decref(j);
	}
	json_decref(get_json(&e, "/dashboard/api/logs?max=0", 400));
	json_decref(get_json(&e, "/dashboard/api/logs?after=x", 400));
	/* Out of range is an error, never a wrap-around to every line (strtoull took all of these). */
	{
		static const char *const bad[] = {
			"after=18446744073709551615", "after=9223372036854775808", "after=-1", "after=%2B1", "after=%201",
			"after=10000000000000000000000000000000000000000", "after=1%00", "max=513", "max=-1",
			"max=18446744073709551617",
		};
		char path[128];

		for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
			snprintf(path, sizeof(path), "/dashboard/api/logs?%s", bad[i]);
			json_decref(get_json(&e, path, 400));
		}
		j = get_json(&e, "/dashboard/api/logs?after=9223372036854775807", 200);
		assert_int_equal(json_array_size(json_object_get(j, "lines")), 0);
		json_decref(j);
		j = get_json(&e, "/dashboard/api/logs?max=512&after=0", 200);
		assert_true(json_array_size(json_object_get(j, "lines")) > 1);
		json_decref(j);
	}
	env_stop(&e);
}

static void test_assets(void **state)
{
	static const struct {
		const char *path, *file, *type;
	} assets[] = {
		{"/dashboard", "index.html", "text/html"},
		{"/dashboard/", "index.html", "text/html"},
		{"/dashboard/app.js", "app.js", "text/javascript"},
		{"/dashboard/style.css", "style.css", "text/css"},
	};
	char src[1024], *dir;
	teeliza_buf want;
	struct env e;
	struct test_resp r;
	size_t i;

	(void)state;
	/* The page's sources, as the build embeds them. */
	snprintf(src, sizeof(src), "%s/", TEELIZA_SOURCE_DIR);
	dir = src + strlen(src);
	env_start(&e, "tok-abcdef", 0);
	for (i = 0; i < sizeof(assets) / sizeof(assets[0]); i++) {
		snprintf(dir, sizeof(src) - (size_t)(dir - src), "src/lib/agent/api/dashboard/%s", assets[i].file);
		assert_int_equal(teeliza_read_file(&want, src, 1u << 20), TEELIZA_OK);
		/* Served without the token: the page asks for it. */
		r = request(&e, "GET", assets[i].path, NULL, NULL, 0, NULL);
		assert_int_equal(r.status, 200);
		assert_non_null(strstr(r.ctype, assets[i].type));
		assert_int_equal(r.len, want.len);
		assert_memory_equal(r.body, want.data, want.len);
		free(r.body);
		teeliza_buf_free(&want);
	}
	/* Nothing from another origin: no http(s) URL in the page or the script. */
	r = request(&e, "GET", "/dashboard/app.js", NULL, NULL, 0, NULL);
	assert_null(strstr(r.body, "http://"));
	assert_null(strstr(r.body, "https://"));
	free(r.body);
	r = request(&e, "GET", "/dashboard/nope.js", NULL, NULL, 0, NULL);
	assert_int_equal(r.status, 401);
	free(r.body);
	r = request(&e, "GET", "/dashboard/api/logs", NULL, NULL, 0, NULL);
	assert_int_equal(r.status, 401);
	free(r.body);
	env_stop(&e);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_healthz),
		cmocka_unit_test(test_metrics_move),
		cmocka_unit_test(test_verify_vectors),
		cmocka_unit_test(test_verify_simulator_quote),
		cmocka_unit_test(test_verify_app_identity),
		cmocka_unit_test(test_verify_bad_input),
		cmocka_unit_test(test_verify_trust_root),
		cmocka_unit_test(test_dashboard_separate_simulator),
		cmocka_unit_test(test_dashboard_agent),
		cmocka_unit_test(test_logs_redacted),
		cmocka_unit_test(test_assets),
	};

	/* As a deployment would: the environment is set before the agent logs its first line. */
	setenv("DASHBOARD_TEST_API_KEY", "sk-env-secret-98765", 1);
	return cmocka_run_group_tests(tests, NULL, NULL);
}
