/*
 * How the agent learns a separately started teeliza simulator's root:
 * - the simulator's /prpc/Tappd.SimRoot route (POST and GET) and the tappd
 *   client call: its root and collateral, with which its quotes verify;
 * - api_sim_root_parse: the answer is network data, parsed strictly (size,
 *   duplicate keys, one self-signed CA certificate that is not Intel's,
 *   valid collateral);
 * - api_verifier_learn_simulator against a fake tappd: only in simulator
 *   mode (the plugin's own rule: TEE_MODE LOCAL/DOCKER or
 *   DSTACK_SIMULATOR_ENDPOINT), at most once a minute per endpoint (daily once known), with a
 *   timeout and a size cap; "method Not Found" (real tappd) teaches nothing;
 *   a learned root verifies that simulator's quotes as simulator-rooted.
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <cmocka.h>

#include "testutil.h"
#include "fakehttp.h"
#include "agent/api/api_verifier.h"
#include "teeliza/agent/tee_plugin.h"
#include "teeliza/agent/store.h"
#include "teeliza/common/encoding.h"
#include "teeliza/common/metrics.h"
#include "teeliza/sim/simulator.h"
#include "teeliza/tee/tappd.h"

#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

static void rm_rf(const char *dir)
{
	char cmd[128];

	snprintf(cmd, sizeof(cmd), "rm -rf '%s'", dir);
	assert_int_equal(system(cmd), 0);
}

/* A simulator PKI in a fresh directory, and its answer to Tappd.SimRoot made here as the route makes it. */
struct pki {
	char dir[64];
	tee_sim_pki *pki;
	teeliza_buf root, coll;
	char *answer;
};

static void pki_open(struct pki *p, int64_t now)
{
	json_t *j;

	snprintf(p->dir, sizeof(p->dir), "%s", "/tmp/teeliza-simroot-XXXXXX");
	assert_non_null(mkdtemp(p->dir));
	assert_int_equal(tee_sim_pki_open(&p->pki, p->dir), TEELIZA_OK);
	assert_int_equal(tee_sim_pki_root_pem(&p->root, p->pki), TEELIZA_OK);
	assert_int_equal(tee_sim_collateral_json(&p->coll, p->pki, now), TEELIZA_OK);
	j = json_pack("{s:s, s:s%, s:o}", "note", "test", "root_pem", (const char *)p->root.data, p->root.len,
	              "collateral", json_loadb((const char *)p->coll.data, p->coll.len, 0, NULL));
	assert_non_null(j);
	p->answer = json_dumps(j, JSON_COMPACT | JSON_PRESERVE_ORDER);
	json_decref(j);
}

static void pki_close(struct pki *p)
{
	free(p->answer);
	teeliza_buf_free(&p->root);
	teeliza_buf_free(&p->coll);
	tee_sim_pki_free(p->pki);
	rm_rf(p->dir);
}

static uint8_t *sim_quote(size_t *len, const tee_sim_pki *pki)
{
	uint8_t rd[64] = {1, 2, 3}, rtmr[4][48] = {{0}};
	teeliza_buf q;
	uint8_t *out;

	assert_int_equal(tee_sim_quote(&q, pki, rd, (const uint8_t(*)[48])rtmr), TEELIZA_OK);
	out = malloc(q.len);
	assert_non_null(out);
	memcpy(out, q.data, q.len);
	*len = q.len;
	teeliza_buf_free(&q);
	return out;
}

/* ---- the simulator's route ---- */

static void test_route(void **state)
{
	char dir[64], url[64];
	tee_sim_config sc;
	tee_sim *sim;
	tappd_endpoint ep;
	tappd_client c;
	teeliza_buf text, root;
	struct test_resp r;
	sim_anchor *a;
	dcap_result *res = malloc(sizeof(*res));
	tappd_quote_response q;
	json_t *j;

	(void)state;
	assert_non_null(res);
	snprintf(dir, sizeof(dir), "%s", "/tmp/teeliza-simroot-XXXXXX");
	assert_non_null(mkdtemp(dir));
	memset(&sc, 0, sizeof(sc));
	sc.host = "127.0.0.1";
	sc.state_dir = dir;
	sc.quiet = true;
	assert_int_equal(tee_sim_start(&sim, &sc), TEELIZA_OK);
	snprintf(url, sizeof(url), "http://127.0.0.1:%u", (unsigned)tee_sim_port(sim));

	/* Through the tappd client, as the agent asks. */
	assert_int_equal(tappd_endpoint_parse(&ep, url), TEELIZA_OK);
	tappd_client_init(&c, &ep);
	assert_int_equal(tappd_sim_root(&text, &c), TEELIZA_OK);
	j = json_loadb((const char *)text.data, text.len, JSON_REJECT_DUPLICATES, NULL);
	assert_non_null(j);
	assert_int_equal(tee_sim_pki_root_pem(&root, tee_sim_get_pki(sim)), TEELIZA_OK);
	assert_string_equal(json_string_value(json_object_get(j, "root_pem")), (const char *)root.data);
	assert_non_null(strstr(json_string_value(json_object_get(j, "note")), "NOT Intel"));
	assert_true(json_is_object(json_object_get(j, "collateral")));
	json_decref(j);
	/* What it hands out verifies its quotes, as a non-Intel root. */
	assert_int_equal(api_sim_root_parse(&a, (const char *)text.data, text.len, url, (int64_t)time(NULL)), TEELIZA_OK);
	assert_int_equal(tappd_tdx_quote(&q, &c, (const uint8_t *)"hello", 5, NULL, NULL), TEELIZA_OK);
	assert_int_equal(dcap_verify(res, q.quote.data, q.quote.len, a->coll, (int64_t)time(NULL), NULL, a->trust), TEELIZA_OK);
	assert_int_equal(res->verdict, DCAP_VERDICT_TRUSTED);
	assert_false(res->intel_root);
	assert_memory_equal(res->root_sha256, a->root_sha256, 32);
	/* Intel's root alone still refuses it. */
	assert_int_not_equal(dcap_verify(res, q.quote.data, q.quote.len, a->coll, (int64_t)time(NULL), NULL, NULL), TEELIZA_OK);
	assert_int_equal(res->failure, DCAP_FAIL_UNTRUSTED_ROOT);
	tappd_quote_response_free(&q);
	sim_anchor_free(a);
	teeliza_buf_free(&text);
	/* GET works too (pRPC methods take both), and the collateral changes with time but not the root. */
	r = test_http_request(url, "GET", "/prpc/Tappd.SimRoot", NULL, NULL, 0, NULL, 10000);
	assert_int_equal(r.status, 200);
	assert_non_null(strstr(r.body, "\"root_pem\":"));
	free(r.body);
	/* Other teeliza-only names are not made up: an unknown method is still "method Not Found". */
	r = test_http_request(url, "POST", "/prpc/Tappd.SimRootX", "application/json", "{}", 2, NULL, 10000);
	assert_int_equal(r.status, 404);
	free(r.body);
	teeliza_buf_free(&root);
	tee_sim_stop(sim);
	rm_rf(dir);
	free(res);
}

/* ---- parsing the answer ---- */

static void expect_bad(const char *text, size_t len, teeliza_err want, const char *words)
{
	sim_anchor *a = (sim_anchor *)1;
	teeliza_err err = api_sim_root_parse(&a, text, len, "http://x", 1760000000);

	if (err == TEELIZA_OK)
		fail_msg("accepted: %.200s", text);
	assert_null(a);
	if (want != TEELIZA_OK)
		assert_int_equal(err, want);
	if (strstr(teeliza_errmsg(), words) == NULL)
		fail_msg("error \"%s\" does not say \"%s\"", teeliza_errmsg(), words);
}

/* The good answer with root_pem replaced by pem (a JSON string) and collateral by coll (JSON text). */
static char *answer_with(const char *pem, const char *coll)
{
	json_t *j = json_pack("{s:s, s:o}", "root_pem", pem, "collateral", json_loads(coll, 0, NULL));
	char *s;

	assert_non_null(j);
	s = json_dumps(j, JSON_COMPACT | JSON_PRESERVE_ORDER);
	json_decref(j);
	return s;
}

static void test_parse(void **state)
{
	struct pki p;
	sim_anchor *a;
	char *s, *two, *big;
	size_t len;
	uint8_t *intel = vector_read("Intel_SGX_Provisioning_Certification_RootCA.pem", &len);
	char *intel_pem = malloc(len + 1);
	const char *coll;

	(void)state;
	assert_non_null(intel_pem);
	memcpy(intel_pem, intel, len);
	intel_pem[len] = 0;
	pki_open(&p, 1760000000);
	coll = (const char *)p.coll.data;

	assert_int_equal(api_sim_root_parse(&a, p.answer, strlen(p.answer), "http://x", 1760000000), TEELIZA_OK);
	assert_string_equal(a->endpoint, "http://x");
	assert_int_equal(a->made, 1760000000);
	sim_anchor_free(a);

	expect_bad("", 0, TEELIZA_ERR_PARSE, "not a JSON object");
	expect_bad("[1]", 3, TEELIZA_ERR_PARSE, "not a JSON object");
	expect_bad("{\"root_pem\":1,\"collateral\":{}}", 30, TEELIZA_ERR_PARSE, "no string \"root_pem\"");
	expect_bad("{\"root_pem\":\"x\"}", 16, TEELIZA_ERR_PARSE, "no \"collateral\" object");
	/* Duplicate keys: which root would count? Neither. */
	s = malloc(strlen(p.answer) + 64);
	assert_non_null(s);
	snprintf(s, strlen(p.answer) + 64, "{\"root_pem\":\"x\",%s", p.answer + 1);
	expect_bad(s, strlen(s), TEELIZA_ERR_PARSE, "not a JSON object");
	free(s);
	/* Trailing junk after the object. */
	s = malloc(strlen(p.answer) + 8);
	assert_non_null(s);
	snprintf(s, strlen(p.answer) + 8, "%s{}", p.answer);
	expect_bad(s, strlen(s), TEELIZA_ERR_PARSE, "not a JSON object");
	free(s);
	/* The root: Intel's is never a simulator root; two certificates, a leaf, junk around it. */
	s = answer_with(intel_pem, coll);
	expect_bad(s, strlen(s), TEELIZA_OK, "Intel SGX Root CA, not a simulator root");
	free(s);
	two = malloc(2 * p.root.len + 1);
	assert_non_null(two);
	snprintf(two, 2 * p.root.len + 1, "%s%s", (const char *)p.root.data, (const char *)p.root.data);
	s = answer_with(two, coll);
	expect_bad(s, strlen(s), TEELIZA_ERR_PARSE, "one PEM certificate");
	free(s);
	free(two);
	{
		teeliza_buf leaf;
		char path[128];

		snprintf(path, sizeof(path), "%s/sim-pck.pem", p.dir);
		assert_int_equal(teeliza_read_file(&leaf, path, 1 << 20), TEELIZA_OK);
		s = answer_with((const char *)leaf.data, coll);
		expect_bad(s, strlen(s), TEELIZA_OK, "self-signed CA");
		free(s);
		teeliza_buf_free(&leaf);
	}
	two = malloc(p.root.len + 16);
	assert_non_null(two);
	snprintf(two, p.root.len + 16, "hello\n%s", (const char *)p.root.data);
	s = answer_with(two, coll);
	expect_bad(s, strlen(s), TEELIZA_ERR_PARSE, "root_pem");
	free(s);
	free(two);
	/* The collateral: present and valid. */
	s = answer_with((const char *)p.root.data, "{\"tcb_info\":\"x\"}");
	expect_bad(s, strlen(s), TEELIZA_ERR_PARSE, "Tappd.SimRoot collateral:");
	free(s);
	/* Size. */
	big = malloc(API_SIM_ROOT_MAX + 2);
	assert_non_null(big);
	memset(big, ' ', API_SIM_ROOT_MAX + 1);
	memcpy(big, p.answer, strlen(p.answer));
	big[API_SIM_ROOT_MAX + 1] = 0;
	expect_bad(big, API_SIM_ROOT_MAX + 1, TEELIZA_ERR_TOO_LARGE, "over");
	free(big);
	pki_close(&p);
	free(intel_pem);
	free(intel);
}

/* ---- learning from a fake tappd ---- */

enum fake_mode { FAKE_NOT_FOUND, FAKE_GOOD, FAKE_GARBAGE, FAKE_HUGE, FAKE_SLOW };

struct fake {
	struct fakehttp srv;
	pthread_mutex_t lock;
	enum fake_mode mode;
	const char *answer;
	int simroot_calls;
};

static enum MHD_Result fake_handle(void *ctx, struct MHD_Connection *conn, const char *method, const char *url,
                                   const char *body, size_t body_len)
{
	static const char not_found[] = "{\"error\":\"method Not Found\"}";
	struct fake *f = ctx;
	enum fake_mode mode;
	const char *answer;
	enum MHD_Result rc;

	(void)method;
	(void)body;
	(void)body_len;
	if (strcmp(url, "/prpc/Tappd.SimRoot") != 0)
		return fakehttp_reply(conn, 404, not_found, sizeof(not_found) - 1, false);
	pthread_mutex_lock(&f->lock);
	f->simroot_calls++;
	mode = f->mode;
	answer = f->answer;
	pthread_mutex_unlock(&f->lock);
	switch (mode) {
	case FAKE_GOOD:
		return fakehttp_reply(conn, 200, answer, strlen(answer), false);
	case FAKE_GARBAGE:
		return fakehttp_reply(conn, 200, "{\"root_pem\":\"nope\",\"collateral\":{}}", 35, false);
	case FAKE_HUGE: {
		size_t n = API_SIM_ROOT_MAX + 4096;
		char *big = malloc(n);

		if (big == NULL)
			return MHD_NO;
		memset(big, ' ', n);
		big[0] = '{';
		big[n - 1] = '}';
		rc = fakehttp_reply(conn, 200, big, n, true);
		free(big);
		return rc;
	}
	case FAKE_SLOW:
		sleep(4);
		return fakehttp_reply(conn, 200, answer, strlen(answer), false);
	default:
		return fakehttp_reply(conn, 404, not_found, sizeof(not_found) - 1, false);
	}
}

struct learn_env {
	struct fake fake;
	char url[64];
	agent_store *store;
	agent_tee *tee;
	api_verifier *v;
	FILE *log;
};

static void learn_start(struct learn_env *e, const char *mode)
{
	agent_tee_config cfg;

	memset(e, 0, sizeof(*e));
	pthread_mutex_init(&e->fake.lock, NULL);
	fakehttp_start(&e->fake.srv, false, 1 << 20, fake_handle, &e->fake);
	snprintf(e->url, sizeof(e->url), "http://127.0.0.1:%u", (unsigned)e->fake.srv.port);
	e->log = tmpfile();
	assert_non_null(e->log);
	assert_int_equal(agent_store_sqlite_open(&e->store, ":memory:"), TEELIZA_OK);
	memset(&cfg, 0, sizeof(cfg));
	cfg.mode = mode;
	cfg.salt = "simroot-test-salt";
	cfg.simulator_endpoint = e->url;
	cfg.timeout_ms = 5000;
	/* DeriveKey gets "method Not Found": the plugin starts without wallets, which is fine here. */
	assert_int_equal(agent_tee_start(&e->tee, &cfg, "00000000-0000-0000-0000-000000000001", e->store, e->log),
	                 TEELIZA_OK);
	assert_int_equal(api_verifier_new(&e->v, NULL), TEELIZA_OK);
}

static void learn_stop(struct learn_env *e)
{
	api_verifier_free(e->v);
	agent_tee_free(e->tee);
	agent_store_close(e->store);
	fakehttp_stop(&e->fake.srv);
	pthread_mutex_destroy(&e->fake.lock);
	fclose(e->log);
}

static void set_mode(struct learn_env *e, enum fake_mode mode, const char *answer)
{
	pthread_mutex_lock(&e->fake.lock);
	e->fake.mode = mode;
	e->fake.answer = answer;
	pthread_mutex_unlock(&e->fake.lock);
}

static int calls(struct learn_env *e)
{
	int n;

	pthread_mutex_lock(&e->fake.lock);
	n = e->fake.simroot_calls;
	pthread_mutex_unlock(&e->fake.lock);
	return n;
}

static char *log_text(FILE *log)
{
	long n;
	char *s;

	fflush(log);
	n = ftell(log);
	s = malloc((size_t)n + 1);
	assert_non_null(s);
	rewind(log);
	assert_int_equal(fread(s, 1, (size_t)n, log), (size_t)n);
	s[n] = 0;
	fseek(log, 0, SEEK_END);
	return s;
}

/* The verdict on quote by the verifier alone (no collateral given). */
static json_t *verdict(struct learn_env *e, const uint8_t *quote, size_t len, int64_t now, unsigned *status)
{
	api_verify_input in;
	json_t *out = NULL;

	memset(&in, 0, sizeof(in));
	in.quote = quote;
	in.quote_len = len;
	in.now = now;
	assert_int_equal(api_verify_quote(&out, status, e->v, &in), TEELIZA_OK);
	return out;
}

static void test_learn(void **state)
{
	const int64_t now = 1760000000;
	struct learn_env e;
	struct pki p, p2;
	uint8_t *quote, *quote2;
	size_t qlen, qlen2;
	unsigned status;
	json_t *j;
	char *log;

	(void)state;
	pki_open(&p, now);
	pki_open(&p2, now + 2 * 86400);
	quote = sim_quote(&qlen, p.pki);
	quote2 = sim_quote(&qlen2, p2.pki);
	learn_start(&e, "LOCAL");

	/* Real tappd (or Phala's simulator): "method Not Found". Nothing learned, and no verdict; asking is
	 * not a tappd request or error in /metrics. */
	set_mode(&e, FAKE_NOT_FOUND, NULL);
	{
		teeliza_metrics before, after;

		teeliza_metrics_get(&before);
		api_verifier_learn_simulator(e.v, e.tee, e.log, now);
		teeliza_metrics_get(&after);
		assert_int_equal(after.tappd_requests, before.tappd_requests);
		assert_int_equal(after.errors[TEELIZA_METRIC_ERR_TAPPD], before.errors[TEELIZA_METRIC_ERR_TAPPD]);
	}
	assert_int_equal(calls(&e), 1);
	j = verdict(&e, quote, qlen, now, &status);
	assert_int_equal(status, 422);
	assert_non_null(strstr(json_string_value(json_object_get(j, "error")), "teeliza sim-root --collateral"));
	assert_null(strstr(json_string_value(json_object_get(j, "error")), "--pccs-url"));
	json_decref(j);
	/* Not asked again within a minute ... */
	set_mode(&e, FAKE_GOOD, p.answer);
	api_verifier_learn_simulator(e.v, e.tee, e.log, now + 59);
	assert_int_equal(calls(&e), 1);
	/* ... then asked, and the root is learned: the simulator's quotes are simulator-rooted, never Intel. */
	api_verifier_learn_simulator(e.v, e.tee, e.log, now + 60);
	assert_int_equal(calls(&e), 2);
	j = verdict(&e, quote, qlen, now + 60, &status);
	assert_int_equal(status, 200);
	assert_string_equal(json_string_value(json_object_get(j, "verdict")), "trusted");
	assert_string_equal(json_string_value(json_object_get(j, "rootedIn")), "simulator");
	assert_string_equal(json_string_value(json_object_get(j, "collateralSource")), "simulator");
	assert_true(json_is_false(json_object_get(j, "intel_root")));
	assert_string_equal(json_string_value(json_object_get(json_object_get(j, "simulator"), "endpoint")), e.url);
	assert_non_null(strstr(json_string_value(json_object_get(j, "label")), "Simulator-rooted (NOT Intel)"));
	json_decref(j);
	log = log_text(e.log);
	assert_non_null(strstr(log, "is a teeliza simulator"));
	assert_non_null(strstr(log, "NOT Intel"));
	free(log);
	/* Another simulator's quote does not borrow that root. */
	j = verdict(&e, quote2, qlen2, now + 60, &status);
	assert_int_equal(status, 422);
	json_decref(j);
	/* Known: asked again only after a day. A failing refresh keeps what was learned. */
	set_mode(&e, FAKE_GARBAGE, NULL);
	api_verifier_learn_simulator(e.v, e.tee, e.log, now + 3600);
	assert_int_equal(calls(&e), 2);
	api_verifier_learn_simulator(e.v, e.tee, e.log, now + 60 + 86400);
	assert_int_equal(calls(&e), 3);
	log = log_text(e.log);
	assert_non_null(strstr(log, "answered Tappd.SimRoot with something unusable"));
	free(log);
	j = verdict(&e, quote, qlen, now + 60 + 86400, &status);
	assert_string_equal(json_string_value(json_object_get(j, "rootedIn")), "simulator");
	json_decref(j);
	/* A restarted simulator with a new root: learned on the next refresh, the old one dropped. */
	set_mode(&e, FAKE_GOOD, p2.answer);
	api_verifier_learn_simulator(e.v, e.tee, e.log, now + 60 + 2 * 86400);
	assert_int_equal(calls(&e), 4);
	j = verdict(&e, quote2, qlen2, now + 60 + 2 * 86400, &status);
	assert_string_equal(json_string_value(json_object_get(j, "verdict")), "trusted");
	json_decref(j);
	j = verdict(&e, quote, qlen, now + 60 + 2 * 86400, &status);
	assert_int_equal(status, 422);
	json_decref(j);
	learn_stop(&e);

	/* Too big (sent chunked, so the cap bites while reading) and too slow: nothing learned. */
	learn_start(&e, "LOCAL");
	set_mode(&e, FAKE_HUGE, NULL);
	api_verifier_learn_simulator(e.v, e.tee, e.log, now);
	assert_int_equal(calls(&e), 1);
	set_mode(&e, FAKE_SLOW, p.answer);
	{
		struct timespec t0, t1;

		clock_gettime(CLOCK_MONOTONIC, &t0);
		api_verifier_learn_simulator(e.v, e.tee, e.log, now + 60);
		clock_gettime(CLOCK_MONOTONIC, &t1);
		assert_int_equal(calls(&e), 2);
		/* The 2 s timeout, not the plugin's 5 s nor the fake's 4 s (a generous bound, not a speed test). */
		assert_true(t1.tv_sec - t0.tv_sec < 4);
	}
	j = verdict(&e, quote, qlen, now + 60, &status);
	assert_int_equal(status, 422);
	json_decref(j);
	learn_stop(&e);

	free(quote);
	free(quote2);
	pki_close(&p);
	pki_close(&p2);
}

/* ---- the in-process simulator, through agent_api_config.sim_trust ---- */

struct source {
	const tee_sim_pki *pki;
	int calls;
	int64_t last_now;
	bool fail;
};

static teeliza_err source_get(teeliza_buf *root_pem, teeliza_buf *collateral_json, void *ctx, int64_t now)
{
	struct source *s = ctx;
	teeliza_buf b;
	teeliza_err err;

	s->calls++;
	s->last_now = now;
	if (s->fail)
		return teeliza_set_error(TEELIZA_ERR_CRYPTO, "the test source fails");
	err = tee_sim_collateral_json(&b, s->pki, now);
	if (err)
		return err;
	err = teeliza_buf_append(collateral_json, b.data, b.len);
	teeliza_buf_free(&b);
	if (!err)
		err = tee_sim_pki_root_pem(&b, s->pki);
	if (err)
		return err;
	err = teeliza_buf_append(root_pem, b.data, b.len);
	teeliza_buf_free(&b);
	return err;
}

static json_t *local_verdict(api_verifier *v, const uint8_t *quote, size_t len, int64_t now, unsigned *status)
{
	api_verify_input in;
	json_t *out = NULL;

	memset(&in, 0, sizeof(in));
	in.quote = quote;
	in.quote_len = len;
	in.now = now;
	assert_int_equal(api_verify_quote(&out, status, v, &in), TEELIZA_OK);
	return out;
}

static void test_local_source(void **state)
{
	const int64_t start = (int64_t)time(NULL);
	int64_t now;
	struct source src;
	agent_api_trust_anchor anchor;
	api_verifier *v;
	struct pki p;
	uint8_t *quote;
	size_t qlen;
	unsigned status;
	json_t *j;

	(void)state;
	pki_open(&p, start);
	quote = sim_quote(&qlen, p.pki);
	memset(&src, 0, sizeof(src));
	src.pki = p.pki;
	anchor.get = source_get;
	anchor.ctx = &src;

	/* Asked once at start; its quotes are then simulator-rooted, from the in-process simulator (no endpoint). */
	assert_int_equal(api_verifier_new(&v, &anchor), TEELIZA_OK);
	assert_int_equal(src.calls, 1);
	assert_true(src.last_now >= start && src.last_now - start < 3600);
	/* The verifier's clock from here on: when it made the anchor (later than start on a slow machine). */
	now = src.last_now;
	j = local_verdict(v, quote, qlen, now, &status);
	assert_int_equal(status, 200);
	assert_string_equal(json_string_value(json_object_get(j, "verdict")), "trusted");
	assert_string_equal(json_string_value(json_object_get(j, "rootedIn")), "simulator");
	assert_string_equal(json_string_value(json_object_get(j, "collateralSource")), "simulator");
	assert_true(json_is_null(json_object_get(json_object_get(j, "simulator"), "endpoint")));
	assert_non_null(strstr(json_string_value(json_object_get(j, "label")), "Simulator-rooted (NOT Intel)"));
	json_decref(j);
	/* Reused for 29 days, then asked again for collateral made for the new time. */
	j = local_verdict(v, quote, qlen, now + 28 * 86400, &status);
	json_decref(j);
	assert_int_equal(src.calls, 1);
	j = local_verdict(v, quote, qlen, now + 40 * 86400, &status);
	assert_int_equal(src.calls, 2);
	assert_int_equal(src.last_now, now + 40 * 86400);
	assert_string_equal(json_string_value(json_object_get(j, "verdict")), "trusted");
	json_decref(j);
	/* A failing renewal: no verdict from stale collateral, the quote needs collateral (422). */
	src.fail = true;
	j = local_verdict(v, quote, qlen, now + 80 * 86400, &status);
	assert_int_equal(src.calls, 3);
	assert_int_equal(status, 422);
	json_decref(j);
	api_verifier_free(v);

	/* A source that fails at start fails the verifier (and so agent_api_start) with its error. */
	src.calls = 0;
	v = (api_verifier *)1;
	assert_int_equal(api_verifier_new(&v, &anchor), TEELIZA_ERR_CRYPTO);
	assert_null(v);
	assert_int_equal(src.calls, 1);
	assert_string_equal(teeliza_errmsg(), "the test source fails");

	/* None (NULL, or get NULL): the same quote needs collateral. */
	anchor.get = NULL;
	assert_int_equal(api_verifier_new(&v, &anchor), TEELIZA_OK);
	j = local_verdict(v, quote, qlen, now, &status);
	assert_int_equal(status, 422);
	json_decref(j);
	api_verifier_free(v);

	free(quote);
	pki_close(&p);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_route),
		cmocka_unit_test(test_parse),
		cmocka_unit_test(test_learn),
		cmocka_unit_test(test_local_source),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
