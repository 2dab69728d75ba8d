/*
 * The simulator's three listeners over real loopback HTTP, all at once:
 * the dstack socket (DstackGuest at /<Method>), the tappd socket
 * (/prpc/Tappd.*) and TCP (both, plus the Worker). Spec §1.9's GetKey
 * table through the HTTP server as the SDK sends it (POST, JSON content
 * type, to the socket and to an http:// endpoint), which path reaches
 * which service where, and EmitEvent racing GetQuote: every quote still
 * matches the log it came with.
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <cmocka.h>

#include "testutil.h"
#include "teeliza/common/encoding.h"
#include "teeliza/sim/simulator.h"
#include "teeliza/tee/dstack_events.h"
#include "teeliza/dcap/quote.h"

#include <curl/curl.h>
#include <ftw.h>
#include <poll.h>
#include <pthread.h>
#include <signal.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

static char tmp_dir[64], dstack_sock[128], tappd_sock[128], base[64];
static tee_sim *sim;

static int rm_entry(const char *path, const struct stat *st, int flag, struct FTW *ftw)
{
	(void)st;
	(void)flag;
	(void)ftw;
	return remove(path);
}

static int setup(void **state)
{
	char st_dir[128];
	tee_sim_config cfg;

	(void)state;
	signal(SIGPIPE, SIG_IGN);
	curl_global_init(CURL_GLOBAL_DEFAULT);
	snprintf(tmp_dir, sizeof(tmp_dir), "/tmp/teeliza-simdhttp-XXXXXX");
	assert_non_null(mkdtemp(tmp_dir));
	snprintf(dstack_sock, sizeof(dstack_sock), "%s/dstack.sock", tmp_dir);
	snprintf(tappd_sock, sizeof(tappd_sock), "%s/tappd.sock", tmp_dir);
	snprintf(st_dir, sizeof(st_dir), "%s/state", tmp_dir);
	memset(&cfg, 0, sizeof(cfg));
	cfg.host = "127.0.0.1";
	cfg.port = 0;
	cfg.socket_path = tappd_sock;
	cfg.dstack_socket_path = dstack_sock;
	cfg.socket_mode = 0600;
	cfg.state_dir = st_dir;
	cfg.key_pem = tee_sim_dev_key_pem;
	cfg.dstack_dev_keys = true;
	cfg.quiet = true;
	if (tee_sim_start(&sim, &cfg) != TEELIZA_OK)
		fail_msg("tee_sim_start: %s", teeliza_errmsg());
	snprintf(base, sizeof(base), "http://127.0.0.1:%u", tee_sim_port(sim));
	return 0;
}

static int teardown(void **state)
{
	(void)state;
	tee_sim_stop(sim);
	nftw(tmp_dir, rm_entry, 16, FTW_DEPTH | FTW_PHYS);
	curl_global_cleanup();
	return 0;
}

struct reply {
	long status;
	char *body;
	size_t len;
};

static size_t collect(char *data, size_t size, size_t nmemb, void *ud)
{
	struct reply *r = ud;
	size_t n = size * nmemb;
	char *p = realloc(r->body, r->len + n + 1);

	if (p == NULL)
		return 0;
	memcpy(p + r->len, data, n);
	r->len += n;
	p[r->len] = 0;
	r->body = p;
	return n;
}

/* One request; the curl result (threads count failures without cmocka). unix_path NULL = TCP. */
static CURLcode http_try(struct reply *r, const char *method, const char *url, const char *unix_path, const char *body)
{
	CURL *c = curl_easy_init();
	struct curl_slist *h = NULL;
	CURLcode rc;

	memset(r, 0, sizeof(*r));
	if (c == NULL)
		return CURLE_FAILED_INIT;
	curl_easy_setopt(c, CURLOPT_URL, url);
	curl_easy_setopt(c, CURLOPT_NOPROXY, "*");
	curl_easy_setopt(c, CURLOPT_TIMEOUT_MS, 30000L);
	curl_easy_setopt(c, CURLOPT_NOSIGNAL, 1L);
	curl_easy_setopt(c, CURLOPT_WRITEFUNCTION, collect);
	curl_easy_setopt(c, CURLOPT_WRITEDATA, r);
	if (unix_path != NULL)
		curl_easy_setopt(c, CURLOPT_UNIX_SOCKET_PATH, unix_path);
	if (body != NULL) {
		curl_easy_setopt(c, CURLOPT_POSTFIELDS, body);
		curl_easy_setopt(c, CURLOPT_POSTFIELDSIZE_LARGE, (curl_off_t)strlen(body));
	}
	curl_easy_setopt(c, CURLOPT_CUSTOMREQUEST, method);
	h = curl_slist_append(h, "Content-Type: application/json"); /* what the SDK always sends */
	curl_easy_setopt(c, CURLOPT_HTTPHEADER, h);
	rc = curl_easy_perform(c);
	curl_easy_getinfo(c, CURLINFO_RESPONSE_CODE, &r->status);
	curl_slist_free_all(h);
	curl_easy_cleanup(c);
	return rc;
}

/* where: "dstack", "tappd" or "tcp". */
static void request(struct reply *r, const char *where, const char *method, const char *path, const char *body)
{
	char url[512];
	const char *sock = strcmp(where, "dstack") == 0 ? dstack_sock : strcmp(where, "tappd") == 0 ? tappd_sock : NULL;
	CURLcode rc;

	snprintf(url, sizeof(url), "%s%s", sock != NULL ? "http://localhost" : base, path);
	rc = http_try(r, method, url, sock, body);
	if (rc != CURLE_OK)
		fail_msg("%s %s on %s: %s", method, path, where, curl_easy_strerror(rc));
}

static json_t *reply_json(const struct reply *r)
{
	json_t *j = json_loadb(r->body, r->len, JSON_DECODE_ANY, NULL);

	if (j == NULL)
		fail_msg("not JSON: %.300s", r->body ? r->body : "");
	return j;
}

static const char *jstr(const json_t *o, const char *key)
{
	const char *s = json_string_value(json_object_get(o, key));

	if (s == NULL)
		fail_msg("field %s missing or not a string", key);
	return s;
}

/* §1.9's GetKey table, as the SDK sends it, over the dstack socket and to an http:// endpoint. */
static void test_getkey_table_over_http(void **state)
{
	static const struct {
		const char *body, *key, *chain0;
	} rows[] = {
		{"{\"path\":\"/test/path\",\"purpose\":\"test-purpose\",\"algorithm\":\"secp256k1\"}",
		 "b9fbb7171185c421c58610a2acba8ceae93623ae47815618cbad1e98fc042cb7",
		 "f50c51735a97072f0c98125ed61fc84e2fdb36e95990b9e57337dadc0e2a9712227f04e07209faecb8891d59ec144a6c13e411dc90b"
		 "3423f28071bd3fe11978d01"},
		{"{\"path\":\"/test/path\",\"purpose\":\"test-purpose\",\"algorithm\":\"ed25519\"}",
		 "b9fbb7171185c421c58610a2acba8ceae93623ae47815618cbad1e98fc042cb7",
		 "effb33c8bb9beab8058a165af210047acb15a67bb6482819b44655f8b22a150a45e50fdce916374f2f4bd380c83eac6ca8b6a765a4fb"
		 "7c3f03ab9932342ce53200"},
		{"{\"path\":\"wallet/eth\",\"purpose\":\"signing\",\"algorithm\":\"secp256k1\"}",
		 "65cca2e2dcbe516145cc7bcbfea6fab9d7f430d6ea66cd1775f37142c25dfa40",
		 "43d9cbab7f21d9e8d9ddb2f8ef37828a33e98c8883dc37ef4acaf65c8c94a62152f2990f7a36cfbb59e6cf0153a5fa51118f909204a"
		 "79cca0453e4716ccdad6c00"},
		{"{\"path\":\"\",\"purpose\":\"\",\"algorithm\":\"secp256k1\"}",
		 "aa221ae548b5a8f52fcb8687cfd873712f6a1232b2717e5ee3d58ab74f21905b",
		 "64ce2f1b381d04f7404fda78bdc942c314d89b7069d97eea1897e51b249dd3b1700995cbf7efe7ff04195dd6e31f153b702eeeeaffc5"
		 "941510739dc39b9bd9cf01"},
	};
	static const char *const where[] = {"dstack", "tcp"};
	size_t i, w;

	(void)state;
	for (w = 0; w < 2; w++)
		for (i = 0; i < sizeof(rows) / sizeof(rows[0]); i++) {
			struct reply r;
			json_t *j;

			request(&r, where[w], "POST", "/GetKey", rows[i].body);
			assert_int_equal(r.status, 200);
			j = reply_json(&r);
			assert_string_equal(jstr(j, "key"), rows[i].key);
			assert_string_equal(json_string_value(json_array_get(json_object_get(j, "signature_chain"), 0)),
			                    rows[i].chain0);
			assert_string_equal(json_string_value(json_array_get(json_object_get(j, "signature_chain"), 1)),
			                    "9e618603e72d01fedb82deff6daf2d62a572becf0059eec3f89c1ab40e1f2e594d2a283f843f34e8f39e4cc"
			                    "49a612496ce67223a12ac923f8efe330346dfc6c500");
			json_decref(j);
			free(r.body);
		}
}

/* A NUL inside path or purpose is text like any other for dstack (serde_json reads
 * "\u0000" into a Rust String): the key is HKDF over the path's bytes, NUL included,
 * and the chain signs "purpose:pubkey" with its NUL. The SDK sends what JSON.stringify
 * writes for such a string. */
static void test_getkey_nul_in_path(void **state)
{
	static const char *const where[] = {"dstack", "tcp"};
	size_t w;

	(void)state;
	for (w = 0; w < 2; w++) {
		struct reply r;
		json_t *j;

		request(&r, where[w], "POST", "/GetKey", "{\"path\":\"a\\u0000b\",\"purpose\":\"p\\u0000\",\"algorithm\":\"secp256k1\"}");
		assert_int_equal(r.status, 200);
		j = reply_json(&r);
		/* HKDF-SHA256(salt "RATLS", dstack's simulator k256_key, "a\0b") */
		assert_string_equal(jstr(j, "key"), "8b22c6d8589ecea694e6d0be3b9ee9990bcb79cf9defef0b48655a397dd8e1df");
		json_decref(j);
		free(r.body);
		/* fields read as C text still refuse it, saying why */
		request(&r, where[w], "POST", "/GetTlsKey", "{\"subject\":\"a\\u0000b\"}");
		assert_int_equal(r.status, 400);
		assert_non_null(strstr(r.body, "invalid field \\\"subject\\\": a NUL character is not allowed here"));
		free(r.body);
	}
}

/*
 * The SDKs' unix-socket reader compares Content-Length (bytes) with the UTF-16
 * length of what it read, so a reply holding non-ASCII text only ends for it
 * when the connection does. Such a reply on a socket therefore closes the
 * connection; an ASCII one keeps it open (keep-alive) as before. Sent here
 * byte for byte as @phala/dstack-sdk 0.5.8 writes it.
 */
static bool sdk_request_closes(const char *sock_path, const char *method, int wait_ms, bool *non_ascii)
{
	struct sockaddr_un sa;
	struct pollfd pfd;
	char req[256], buf[4096];
	ssize_t n;
	bool closed = false;
	int fd = socket(AF_UNIX, SOCK_STREAM, 0);

	assert_true(fd >= 0);
	memset(&sa, 0, sizeof(sa));
	sa.sun_family = AF_UNIX;
	snprintf(sa.sun_path, sizeof(sa.sun_path), "%s", sock_path);
	assert_int_equal(connect(fd, (struct sockaddr *)&sa, sizeof(sa)), 0);
	snprintf(req, sizeof(req),
	         "POST /%s HTTP/1.1\r\nHost: localhost\r\nContent-Type: application/json\r\nContent-Length: 2\r\n\r\n{}",
	         method);
	assert_int_equal(write(fd, req, strlen(req)), (ssize_t)strlen(req));
	*non_ascii = false;
	pfd.fd = fd;
	pfd.events = POLLIN;
	/* the reply comes at once; without the close it only ends at the 30 s idle timeout */
	while (poll(&pfd, 1, wait_ms) == 1) {
		n = read(fd, buf, sizeof(buf));
		if (n <= 0) {
			closed = n == 0;
			break;
		}
		for (ssize_t i = 0; i < n; i++)
			*non_ascii |= (unsigned char)buf[i] >= 0x80;
	}
	close(fd);
	return closed;
}

static void test_non_ascii_reply_closes_socket(void **state)
{
	static const char compose[] = "{\"manifest_version\":2,\"name\":\"caf\xc3\xa9 \xe2\x98\x95\",\"runner\":\"docker-compose\","
	                              "\"docker_compose_file\":\"services: {}\\n\"}";
	char dir[64], path[128], sock[128];
	tee_sim_config cfg;
	tee_sim *s2 = NULL;
	bool non_ascii;

	(void)state;
	snprintf(dir, sizeof(dir), "/tmp/teeliza-simdhttp2-XXXXXX");
	assert_non_null(mkdtemp(dir));
	snprintf(path, sizeof(path), "%s/app-compose.json", dir);
	snprintf(sock, sizeof(sock), "%s/dstack.sock", dir);
	assert_int_equal(teeliza_write_file(path, compose, strlen(compose), 0600), TEELIZA_OK);
	memset(&cfg, 0, sizeof(cfg));
	cfg.dstack_socket_path = sock;
	cfg.socket_mode = 0600;
	cfg.state_dir = dir;
	cfg.key_pem = tee_sim_dev_key_pem;
	cfg.dstack_dev_keys = true;
	cfg.compose_file = path;
	cfg.quiet = true;
	if (tee_sim_start(&s2, &cfg) != TEELIZA_OK)
		fail_msg("tee_sim_start: %s", teeliza_errmsg());
	assert_true(sdk_request_closes(sock, "Info", 10000, &non_ascii)); /* app_name and app_compose hold UTF-8 */
	assert_true(non_ascii);
	assert_false(sdk_request_closes(sock, "Version", 1000, &non_ascii)); /* ASCII: kept alive */
	assert_false(non_ascii);
	tee_sim_stop(s2);
	nftw(dir, rm_entry, 16, FTW_DEPTH | FTW_PHYS);
}

/* Which service answers which path on which listener. */
static void test_routes_per_listener(void **state)
{
	static const struct {
		const char *where, *method, *path, *body;
		long status;
		const char *needle; /* in the body */
	} cases[] = {
		/* dstack socket: DstackGuest only */
		{"dstack", "POST", "/Info", "{}", 200, "\"tcb_info\":\"{\\n"},
		{"dstack", "GET", "/Version", NULL, 200, "\"version\":\"0.5.11\""},
		{"dstack", "POST", "/GetQuote", "{\"report_data\":\"00\"}", 200, "\"vm_config\":"},
		{"dstack", "POST", "/prpc/Tappd.Info", "{}", 404, "method Not Found"},
		{"dstack", "POST", "/prpc/Worker.Info", "{}", 404, "method Not Found"},
		{"dstack", "POST", "/Nope", "{}", 400, "\"error\": \"Service not found: Nope\""},
		/* tappd socket: the tappd service, unchanged (0x hex) */
		{"tappd", "POST", "/prpc/Tappd.Info", "{}", 200, "\"app_id\":\"0x"},
		{"tappd", "POST", "/prpc/Info", "{}", 200, "\"public_logs\":true"},
		{"tappd", "POST", "/prpc/Tappd.TdxQuote", "{}", 200, "\"quote\":\"0x04000200"},
		{"tappd", "POST", "/prpc/Tappd.DeriveK256Key", "{}", 200, "\"k256_signature_chain\":["},
		{"tappd", "POST", "/GetKey", "{}", 404, "method Not Found"},
		{"tappd", "POST", "/prpc/Worker.Info", "{}", 404, "method Not Found"},
		{"tappd", "POST", "/prpc/Tappd.Nope", "{}", 404, "method Not Found"},
		/* TCP: all three services */
		{"tcp", "POST", "/GetKey", "{}", 200, "\"signature_chain\":["},
		{"tcp", "POST", "/GetQuote", "{}", 200, "\"quote\":\"04000200"},
		{"tcp", "POST", "/prpc/Tappd.TdxQuote", "{}", 200, "\"quote\":\"0x04000200"},
		{"tcp", "POST", "/prpc/Worker.Info", "{}", 200, "\"cloud_vendor\":"},
		{"tcp", "GET", "/prpc/Worker.Version", NULL, 200, "\"version\":\"0.5.11\""},
		{"tcp", "POST", "/prpc/Worker.GetAttestationForAppKey", "{\"algorithm\":\"ed25519\"}", 200, "\"report_data\":\"646970313a3a"},
		{"tcp", "POST", "/prpc/Worker.DeriveKey", "{}", 404, "method Not Found"},
		{"tcp", "GET", "/", NULL, 404, "method Not Found"},
		{"tcp", "POST", "/Nope", "{}", 400, "Service not found: Nope"},
	};
	size_t i;

	(void)state;
	for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		struct reply r;

		request(&r, cases[i].where, cases[i].method, cases[i].path, cases[i].body);
		if (r.status != cases[i].status || r.body == NULL || strstr(r.body, cases[i].needle) == NULL)
			fail_msg("%s %s on %s: %ld %.300s (want %ld with %s)", cases[i].method, cases[i].path, cases[i].where,
			         r.status, r.body ? r.body : "", cases[i].status, cases[i].needle);
		free(r.body);
	}
	/* one state behind all listeners: the same app everywhere */
	{
		struct reply a, b;
		json_t *ja, *jb;

		request(&a, "dstack", "POST", "/Info", "{}");
		request(&b, "tappd", "POST", "/prpc/Tappd.Info", "{}");
		ja = reply_json(&a);
		jb = reply_json(&b);
		assert_string_equal(jstr(jb, "app_id") + 2, jstr(ja, "app_id"));
		assert_string_equal(jstr(jb, "compose_hash") + 2, jstr(ja, "compose_hash"));
		json_decref(ja);
		json_decref(jb);
		free(a.body);
		free(b.body);
	}
}

/* Both sockets exist with the mode asked for, and go away at stop (checked by a second simulator on them). */
static void test_socket_files(void **state)
{
	struct stat st;

	(void)state;
	assert_int_equal(stat(dstack_sock, &st), 0);
	assert_true(S_ISSOCK(st.st_mode));
	assert_int_equal(st.st_mode & 0777, 0600);
	assert_int_equal(stat(tappd_sock, &st), 0);
	assert_true(S_ISSOCK(st.st_mode));
}

/* The same path for both sockets is refused. */
static void test_same_socket_refused(void **state)
{
	tee_sim_config cfg;
	tee_sim *other = NULL;
	char path[160];

	(void)state;
	snprintf(path, sizeof(path), "%s/one.sock", tmp_dir);
	memset(&cfg, 0, sizeof(cfg));
	cfg.socket_path = path;
	cfg.dstack_socket_path = path;
	cfg.state_dir = tmp_dir;
	cfg.quiet = true;
	assert_int_equal(tee_sim_start(&other, &cfg), TEELIZA_ERR_CONFIG);
	assert_non_null(strstr(teeliza_errmsg(), "must be different"));
	assert_null(other);
}

/* ---- EmitEvent racing GetQuote ---- */

/* enough rounds that a quote and a log taken from two snapshots get caught (it was, 3 runs of 3) */
#define RACE_ROUNDS 150

struct racer {
	int quotes, failures, emits;
	char why[256];
};

static void *quote_thread(void *arg)
{
	struct racer *rc = arg;
	int i;

	for (i = 0; i < RACE_ROUNDS; i++) {
		struct reply r;
		json_t *j = NULL;
		tee_dstack_events ev;
		uint8_t *quote = NULL;
		size_t qlen = 0;
		dcap_quote q;
		const char *hex, *log;
		bool ok;

		if (http_try(&r, "POST", "http://localhost/GetQuote", dstack_sock, "{}") != CURLE_OK || r.status != 200 ||
		    (j = json_loadb(r.body, r.len, 0, NULL)) == NULL) {
			rc->failures++;
			free(r.body);
			continue;
		}
		hex = json_string_value(json_object_get(j, "quote"));
		log = json_string_value(json_object_get(j, "event_log"));
		quote = hex != NULL ? malloc(strlen(hex) / 2 + 1) : NULL;
		ok = quote != NULL && log != NULL &&
		     teeliza_hex_decode(quote, strlen(hex) / 2 + 1, &qlen, hex, strlen(hex), false) == TEELIZA_OK &&
		     dcap_quote_parse(&q, quote, qlen) == TEELIZA_OK;
		if (ok && tee_dstack_events_parse(&ev, log, strlen(log)) == TEELIZA_OK) {
			if (tee_dstack_events_check_quote(&ev, &q.body.td) != TEELIZA_OK) {
				snprintf(rc->why, sizeof(rc->why), "%s", teeliza_errmsg());
				ok = false;
			}
			tee_dstack_events_free(&ev);
		} else {
			ok = false;
		}
		if (ok)
			rc->quotes++;
		else
			rc->failures++;
		free(quote);
		json_decref(j);
		free(r.body);
	}
	return NULL;
}

static void *emit_thread(void *arg)
{
	struct racer *rc = arg;
	int i;

	for (i = 0; i < RACE_ROUNDS; i++) {
		struct reply r;
		char body[96];

		snprintf(body, sizeof(body), "{\"event\":\"race-%d\",\"payload\":\"%02x\"}", i, i);
		if (http_try(&r, "POST", "http://localhost/EmitEvent", dstack_sock, body) == CURLE_OK && r.status == 200)
			rc->emits++;
		else
			rc->failures++;
		free(r.body);
	}
	return NULL;
}

static void test_emit_races_quotes(void **state)
{
	struct racer q1 = {0}, q2 = {0}, em = {0};
	pthread_t t1, t2, t3;
	struct reply r;
	json_t *j, *log;

	(void)state;
	assert_int_equal(pthread_create(&t1, NULL, quote_thread, &q1), 0);
	assert_int_equal(pthread_create(&t2, NULL, quote_thread, &q2), 0);
	assert_int_equal(pthread_create(&t3, NULL, emit_thread, &em), 0);
	pthread_join(t1, NULL);
	pthread_join(t2, NULL);
	pthread_join(t3, NULL);
	if (q1.failures || q2.failures || em.failures)
		fail_msg("failures: quotes %d/%d (%s%s), emits %d", q1.failures, q2.failures, q1.why, q2.why, em.failures);
	assert_int_equal(q1.quotes + q2.quotes, 2 * RACE_ROUNDS);
	assert_int_equal(em.emits, RACE_ROUNDS);
	/* every event is in the log, in order */
	request(&r, "dstack", "POST", "/GetQuote", "{}");
	j = reply_json(&r);
	log = json_loads(jstr(j, "event_log"), 0, NULL);
	{
		char last[32];

		snprintf(last, sizeof(last), "race-%d", RACE_ROUNDS - 1);
		assert_string_equal(jstr(json_array_get(log, json_array_size(log) - 1), "event"), last);
		assert_string_equal(jstr(json_array_get(log, json_array_size(log) - RACE_ROUNDS), "event"), "race-0");
	}
	json_decref(log);
	json_decref(j);
	free(r.body);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_getkey_table_over_http),
		cmocka_unit_test(test_getkey_nul_in_path),
		cmocka_unit_test(test_non_ascii_reply_closes_socket),
		cmocka_unit_test(test_routes_per_listener),
		cmocka_unit_test(test_socket_files),
		cmocka_unit_test(test_same_socket_refused),
		cmocka_unit_test(test_emit_races_quotes),
	};

	return cmocka_run_group_tests(tests, setup, teardown);
}
