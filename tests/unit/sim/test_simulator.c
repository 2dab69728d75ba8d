/*
 * The tappd-compatible simulator, exercised over real loopback HTTP (libcurl
 * and raw sockets, not the tappd client): DeriveKey against the shared
 * simulator-key vectors, the certificate chain, key persistence, quotes
 * (report_data vectors, RTMRs = replay of the returned log), RawQuote, GET
 * with a query string, Info/Version, every bad input, oversized and
 * truncated requests, concurrent clients, unix sockets and the CLI.
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <cmocka.h>

#include "testutil.h"
#include "teeliza/common/encoding.h"
#include "teeliza/tee/rtmr.h"
#include "teeliza/sim/simulator.h"

#include <arpa/inet.h>
#include <curl/curl.h>
#include <errno.h>
#include <fcntl.h>
#include <ftw.h>
#include <netinet/in.h>
#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/x509v3.h>
#include <poll.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#define QUOTE_USER_DATA 28
#define QUOTE_MRTD (48 + 136)
#define QUOTE_RTMR0 (48 + 328)
#define QUOTE_REPORT_DATA (48 + 520)

struct fixture {
	char dir[128];
	char state[192];
	char sock[192];
	char base[64];
	tee_sim *sim;
};

static struct fixture fx;

/* ---- helpers ---- */

static int rm_entry(const char *path, const struct stat *st, int flag, struct FTW *ftw)
{
	(void)st;
	(void)flag;
	(void)ftw;
	return remove(path);
}

static void rm_tree(const char *dir)
{
	nftw(dir, rm_entry, 16, FTW_DEPTH | FTW_PHYS);
}

static void make_temp_dir(char *out, size_t len)
{
	snprintf(out, len, "/tmp/teeliza-simtest-XXXXXX");
	assert_non_null(mkdtemp(out));
}

static tee_sim *start_sim(const char *state, const char *key_file, const char *sock, unsigned mode)
{
	tee_sim_config cfg;
	tee_sim *sim = NULL;
	teeliza_err err;

	memset(&cfg, 0, sizeof(cfg));
	cfg.host = "127.0.0.1";
	cfg.port = 0;
	cfg.socket_path = sock;
	cfg.socket_mode = mode;
	cfg.key_file = key_file;
	cfg.state_dir = state;
	cfg.quiet = true;
	err = tee_sim_start(&sim, &cfg);
	if (err)
		fail_msg("tee_sim_start: %s", teeliza_errmsg());
	assert_true(tee_sim_port(sim) != 0);
	return sim;
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

/* One request; returns the curl result so thread workers can count failures without cmocka. */
static CURLcode http_try(struct reply *r, const char *method, const char *url, const char *unix_path,
                         const char *body, size_t body_len, const char *content_type)
{
	CURL *c = curl_easy_init();
	struct curl_slist *h = NULL;
	char ct[128];
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
		curl_easy_setopt(c, CURLOPT_POSTFIELDSIZE_LARGE, (curl_off_t)body_len);
	}
	curl_easy_setopt(c, CURLOPT_CUSTOMREQUEST, method);
	snprintf(ct, sizeof(ct), "Content-Type:%s%s", content_type ? " " : "", content_type ? content_type : "");
	h = curl_slist_append(h, ct);
	curl_easy_setopt(c, CURLOPT_HTTPHEADER, h);
	rc = curl_easy_perform(c);
	curl_easy_getinfo(c, CURLINFO_RESPONSE_CODE, &r->status);
	curl_slist_free_all(h);
	curl_easy_cleanup(c);
	return rc;
}

static void http(struct reply *r, const char *method, const char *url, const char *unix_path, const char *body)
{
	CURLcode rc = http_try(r, method, url, unix_path, body, body ? strlen(body) : 0, "application/json");

	if (rc != CURLE_OK)
		fail_msg("%s %s: %s", method, url, curl_easy_strerror(rc));
}

static void post(struct reply *r, const char *method_name, const char *body)
{
	char url[256];

	snprintf(url, sizeof(url), "%s/prpc/Tappd.%s", fx.base, method_name);
	http(r, "POST", url, NULL, body);
}

static json_t *reply_json(const struct reply *r)
{
	json_error_t je;
	json_t *j = json_loadb(r->body, r->len, 0, &je);

	if (j == NULL)
		fail_msg("response is not JSON (%s): %.300s", je.text, r->body ? r->body : "");
	return j;
}

static const char *jstr(const json_t *obj, const char *key)
{
	const char *s = json_string_value(json_object_get(obj, key));

	if (s == NULL)
		fail_msg("response field %s missing or not a string", key);
	return s;
}

static void reply_free(struct reply *r)
{
	free(r->body);
	memset(r, 0, sizeof(*r));
}

/* The JSON string literal of msg as serde_json writes it (the tests only use ASCII messages). */
static char *expected_error_body(const char *msg)
{
	teeliza_buf b;
	size_t i;

	teeliza_buf_init(&b, 1 << 16);
	assert_int_equal(teeliza_buf_append_str(&b, "{\n  \"error\": \""), TEELIZA_OK);
	for (i = 0; msg[i]; i++) {
		if (msg[i] == '"' || msg[i] == '\\')
			assert_int_equal(teeliza_buf_append(&b, "\\", 1), TEELIZA_OK);
		assert_int_equal(teeliza_buf_append(&b, msg + i, 1), TEELIZA_OK);
	}
	assert_int_equal(teeliza_buf_append_str(&b, "\"\n}"), TEELIZA_OK);
	return (char *)b.data;
}

static void assert_error_reply(const struct reply *r, long status, const char *msg)
{
	char *want = expected_error_body(msg);

	if (r->status != status || r->body == NULL || strcmp(r->body, want) != 0)
		fail_msg("want %ld %s\n got %ld %s", status, want, r->status, r->body ? r->body : "(none)");
	free(want);
}

/* Decode the "0x…" quote of a TdxQuote response. */
static uint8_t *reply_quote(const json_t *j, size_t *len)
{
	const char *q = jstr(j, "quote");

	assert_true(strncmp(q, "0x", 2) == 0);
	return hex_alloc(q, len);
}

static void assert_rtmrs_match_log(const uint8_t *quote, const char *event_log)
{
	tee_event_log log;
	uint8_t rtmr[4][TEE_RTMR_LEN];
	int i;

	if (tee_event_log_parse(&log, event_log, strlen(event_log)) != TEELIZA_OK)
		fail_msg("event_log does not parse: %s", teeliza_errmsg());
	assert_true(log.count > 0);
	tee_rtmr_replay(rtmr, &log);
	for (i = 0; i < 4; i++)
		assert_memory_equal(quote + QUOTE_RTMR0 + 48 * i, rtmr[i], 48);
	tee_event_log_free(&log);
}

/* ---- setup ---- */

static int group_setup(void **state)
{
	(void)state;
	signal(SIGPIPE, SIG_IGN);
	curl_global_init(CURL_GLOBAL_DEFAULT);
	make_temp_dir(fx.dir, sizeof(fx.dir));
	snprintf(fx.state, sizeof(fx.state), "%s/state", fx.dir);
	snprintf(fx.sock, sizeof(fx.sock), "%s/tappd.sock", fx.dir);
	fx.sim = start_sim(fx.state, vector_path("tappd-simulator-app.key"), fx.sock, 0666);
	snprintf(fx.base, sizeof(fx.base), "http://127.0.0.1:%u", tee_sim_port(fx.sim));
	return 0;
}

static int group_teardown(void **state)
{
	(void)state;
	tee_sim_stop(fx.sim);
	rm_tree(fx.dir);
	curl_global_cleanup();
	return 0;
}

/* ---- DeriveKey ---- */

static void test_derive_key_vectors(void **state)
{
	json_t *v = vector_json("plugin-tee.json"), *vec = json_object_get(v, "derive_hkdf_sim"), *item, *j;
	struct reply r;
	char body[512], url[256];
	size_t i;

	(void)state;
	assert_true(json_array_size(vec) >= 2);
	json_array_foreach(vec, i, item) {
		const char *path = json_string_value(json_object_get(item, "path"));

		/* the SDK's wire form: path, subject; the subject never changes the key */
		snprintf(body, sizeof(body), "{\"path\":\"%s\",\"subject\":\"solana\"}", path);
		post(&r, "DeriveKey", body);
		assert_int_equal(r.status, 200);
		j = reply_json(&r);
		assert_string_equal(jstr(j, "key"), json_string_value(json_object_get(item, "pem")));
		assert_int_equal(json_array_size(json_object_get(j, "certificate_chain")), 2);
		json_decref(j);
		reply_free(&r);

		/* same over the unix socket, with another subject */
		snprintf(body, sizeof(body), "{\"path\":\"%s\",\"subject\":\"evm\",\"unknown_field\":[1,2]}", path);
		snprintf(url, sizeof(url), "http://localhost/prpc/Tappd.DeriveKey");
		http(&r, "POST", url, fx.sock, body);
		assert_int_equal(r.status, 200);
		j = reply_json(&r);
		assert_string_equal(jstr(j, "key"), json_string_value(json_object_get(item, "pem")));
		json_decref(j);
		reply_free(&r);
	}
	json_decref(v);
}

/*
 * dstack's tappd trims the "Tappd." service prefix (every leading copy), so
 * /prpc/DeriveKey is /prpc/Tappd.DeriveKey: the same answers here. Other
 * prefixes, other case, and nothing after the prefix are still unknown.
 */
static void test_method_without_service_prefix(void **state)
{
	static const char *const unknown[] = {"Worker.DeriveKey", "tappd.DeriveKey", "Tappd.", "", "Tappd.Nope",
	                                      "Tappd.Worker.Info", ".DeriveKey"};
	json_t *v = vector_json("plugin-tee.json"), *item = json_array_get(json_object_get(v, "derive_hkdf_sim"), 0);
	const char *path = json_string_value(json_object_get(item, "path"));
	const char *prefixes[] = {"", "Tappd.Tappd."};
	struct reply r;
	char url[256], body[256];
	json_t *j;
	size_t i;

	(void)state;
	snprintf(body, sizeof(body), "{\"path\":\"%s\",\"subject\":\"solana\"}", path);
	for (i = 0; i < 2; i++) {
		snprintf(url, sizeof(url), "%s/prpc/%sDeriveKey", fx.base, prefixes[i]);
		http(&r, "POST", url, NULL, body);
		assert_int_equal(r.status, 200);
		j = reply_json(&r);
		assert_string_equal(jstr(j, "key"), json_string_value(json_object_get(item, "pem")));
		json_decref(j);
		reply_free(&r);
	}
	snprintf(url, sizeof(url), "%s/prpc/TdxQuote", fx.base);
	http(&r, "POST", url, NULL, "{\"report_data\":\"00\"}");
	assert_int_equal(r.status, 200);
	j = reply_json(&r);
	assert_true(strncmp(jstr(j, "quote"), "0x04000200", 10) == 0);
	json_decref(j);
	reply_free(&r);
	snprintf(url, sizeof(url), "http://localhost/prpc/RawQuote?report_data=%0128d", 0);
	http(&r, "GET", url, fx.sock, NULL);
	assert_int_equal(r.status, 200);
	reply_free(&r);
	snprintf(url, sizeof(url), "%s/prpc/Info", fx.base);
	http(&r, "POST", url, NULL, "{}");
	assert_int_equal(r.status, 200);
	j = reply_json(&r);
	assert_non_null(json_object_get(j, "app_id"));
	json_decref(j);
	reply_free(&r);
	snprintf(url, sizeof(url), "%s/prpc/Version", fx.base);
	http(&r, "GET", url, NULL, NULL);
	assert_int_equal(r.status, 200);
	reply_free(&r);
	for (i = 0; i < sizeof(unknown) / sizeof(unknown[0]); i++) {
		snprintf(url, sizeof(url), "%s/prpc/%s", fx.base, unknown[i]);
		http(&r, "POST", url, NULL, "{}");
		assert_error_reply(&r, 404, "method Not Found");
		reply_free(&r);
	}
	json_decref(v);
}

/*
 * The embedded public development key is tappd-simulator's certs/app.key
 * byte for byte, so a simulator started with it derives the vectors' keys;
 * a simulator with no listener answers through tee_sim_call as the server does.
 */
static void test_dev_key_and_call(void **state)
{
	json_t *v = vector_json("plugin-tee.json"), *item = json_array_get(json_object_get(v, "derive_hkdf_sim"), 0), *j;
	const char *path = json_string_value(json_object_get(item, "path"));
	char dir[64], st_dir[128], body[256];
	tee_sim_config cfg;
	tee_sim *sim = NULL;
	teeliza_buf key, reply;
	unsigned status = 0;

	(void)state;
	assert_int_equal(teeliza_read_file(&key, vector_path("tappd-simulator-app.key"), 4096), TEELIZA_OK);
	assert_string_equal(tee_sim_dev_key_pem, (const char *)key.data);
	teeliza_buf_free(&key);

	make_temp_dir(dir, sizeof(dir));
	snprintf(st_dir, sizeof(st_dir), "%s/state", dir);
	memset(&cfg, 0, sizeof(cfg));
	cfg.state_dir = st_dir;
	cfg.key_pem = tee_sim_dev_key_pem;
	cfg.key_file = "/nonexistent/teeliza/ca.key"; /* key_pem wins */
	cfg.no_listener = true;
	assert_int_equal(tee_sim_start(&sim, &cfg), TEELIZA_OK);
	assert_int_equal(tee_sim_port(sim), 0);
	/* nothing written for the key: it is not the state dir's */
	snprintf(body, sizeof(body), "%s/ca.key", st_dir);
	assert_int_equal(access(body, F_OK), -1);

	snprintf(body, sizeof(body), "{\"path\":\"%s\",\"subject\":\"evm\"}", path);
	assert_int_equal(tee_sim_call(&reply, &status, sim, "POST", "/prpc/DeriveKey", NULL, (const uint8_t *)body,
	                              strlen(body)), TEELIZA_OK);
	assert_int_equal(status, 200);
	j = json_loadb((const char *)reply.data, reply.len, 0, NULL);
	assert_non_null(j);
	assert_string_equal(jstr(j, "key"), json_string_value(json_object_get(item, "pem")));
	json_decref(j);
	teeliza_buf_free(&reply);
	assert_int_equal(tee_sim_call(&reply, &status, sim, "GET", "/prpc/Tappd.TdxQuote", "report_data=00", NULL, 0),
	                 TEELIZA_OK);
	assert_int_equal(status, 200);
	assert_non_null(strstr((const char *)reply.data, "\"event_log\":"));
	teeliza_buf_free(&reply);
	assert_int_equal(tee_sim_call(&reply, &status, sim, "POST", "/prpc/Tappd.TdxQuote", NULL,
	                              (const uint8_t *)"{\"report_data\":5}", 17), TEELIZA_OK);
	assert_int_equal(status, 400);
	assert_non_null(strstr((const char *)reply.data, "invalid field \\\"report_data\\\""));
	teeliza_buf_free(&reply);
	assert_int_equal(tee_sim_call(&reply, &status, sim, "PUT", "/prpc/Tappd.Info", NULL, NULL, 0), TEELIZA_OK);
	assert_int_equal(status, 404);
	teeliza_buf_free(&reply);
	tee_sim_stop(sim);
	rm_tree(dir);
	json_decref(v);
}

/* The wire samples the SDK really sends are answered (and the quote carries the vector's report_data). */
static void test_wire_samples(void **state)
{
	json_t *v = vector_json("plugin-tee.json"), *item, *j;
	struct reply r;
	char url[512];
	size_t i, qlen;
	uint8_t *q;

	(void)state;
	json_array_foreach(json_object_get(v, "wire_samples"), i, item) {
		const char *path = json_string_value(json_object_get(item, "path"));
		const char *body = json_string_value(json_object_get(item, "body"));

		snprintf(url, sizeof(url), "%s%s", fx.base, path);
		http(&r, json_string_value(json_object_get(item, "method")), url, NULL, body);
		assert_int_equal(r.status, 200);
		j = reply_json(&r);
		if (strcmp(path, "/prpc/Tappd.TdxQuote") == 0 && strstr(body, "\"hash_algorithm\"") == NULL &&
		    strstr(body, "7b226167656e744964") != NULL) {
			q = reply_quote(j, &qlen);
			assert_hex_equal(q + QUOTE_REPORT_DATA, 64,
			                 json_string_value(json_object_get(v, "derive_attestation_report_data_sha512")));
			free(q);
		}
		json_decref(j);
		reply_free(&r);
	}
	json_decref(v);
}

static X509 *pem_cert(const char *pem)
{
	BIO *b = BIO_new_mem_buf(pem, -1);
	X509 *x = PEM_read_bio_X509(b, NULL, NULL, NULL);

	BIO_free(b);
	assert_non_null(x);
	return x;
}

static void test_certificate_chain(void **state)
{
	struct reply r;
	json_t *j, *chain;
	X509 *leaf, *ca;
	EVP_PKEY *key;
	BIO *b;
	GENERAL_NAMES *sans;
	char cn[256];
	const char *want_sans[] = {"wallet.example.com", "*.agents.example"};
	int i;

	(void)state;
	post(&r, "DeriveKey",
	     "{\"path\":\"my-wallet-salt\",\"subject\":\"Eliza agent\",\"alt_names\":[\"wallet.example.com\",\"*.agents.example\"]}");
	assert_int_equal(r.status, 200);
	j = reply_json(&r);
	chain = json_object_get(j, "certificate_chain");
	assert_int_equal(json_array_size(chain), 2);
	leaf = pem_cert(json_string_value(json_array_get(chain, 0)));
	ca = pem_cert(json_string_value(json_array_get(chain, 1)));

	/* leaf signed by the CA, CA self-signed; the leaf certifies the returned key */
	assert_int_equal(X509_verify(leaf, X509_get0_pubkey(ca)), 1);
	assert_int_equal(X509_verify(ca, X509_get0_pubkey(ca)), 1);
	assert_int_equal(X509_check_issued(ca, leaf), X509_V_OK);
	b = BIO_new_mem_buf(jstr(j, "key"), -1);
	key = PEM_read_bio_PrivateKey(b, NULL, NULL, NULL);
	BIO_free(b);
	assert_non_null(key);
	assert_int_equal(X509_check_private_key(leaf, key), 1);
	EVP_PKEY_free(key);

	assert_true(X509_NAME_get_text_by_NID(X509_get_subject_name(leaf), NID_commonName, cn, sizeof(cn)) > 0);
	assert_string_equal(cn, "Eliza agent");
	assert_true(X509_NAME_get_text_by_NID(X509_get_subject_name(ca), NID_commonName, cn, sizeof(cn)) > 0);
	assert_string_equal(cn, "teeliza simulator app CA");
	assert_true(X509_NAME_get_text_by_NID(X509_get_subject_name(ca), NID_organizationName, cn, sizeof(cn)) > 0);
	assert_string_equal(cn, "teeliza (simulated, not a TEE)");
	assert_true(X509_check_ca(ca) > 0);
	assert_int_equal(X509_check_ca(leaf), 0);

	sans = X509_get_ext_d2i(leaf, NID_subject_alt_name, NULL, NULL);
	assert_non_null(sans);
	assert_int_equal(sk_GENERAL_NAME_num(sans), 2);
	for (i = 0; i < 2; i++) {
		int type;
		ASN1_IA5STRING *s = GENERAL_NAME_get0_value(sk_GENERAL_NAME_value(sans, i), &type);

		assert_int_equal(type, GEN_DNS);
		assert_int_equal(ASN1_STRING_length(s), (int)strlen(want_sans[i]));
		assert_memory_equal(ASN1_STRING_get0_data(s), want_sans[i], strlen(want_sans[i]));
	}
	GENERAL_NAMES_free(sans);
	X509_free(leaf);
	X509_free(ca);
	json_decref(j);
	reply_free(&r);

	/* no alt names: no SAN extension */
	post(&r, "DeriveKey", "{\"path\":\"x\"}");
	assert_int_equal(r.status, 200);
	j = reply_json(&r);
	leaf = pem_cert(json_string_value(json_array_get(json_object_get(j, "certificate_chain"), 0)));
	assert_null(X509_get_ext_d2i(leaf, NID_subject_alt_name, NULL, NULL));
	X509_free(leaf);
	json_decref(j);
	reply_free(&r);
}

static void test_random_seed(void **state)
{
	struct reply a, b;
	json_t *ja, *jb;

	(void)state;
	post(&a, "DeriveKey", "{\"path\":\"test\",\"random_seed\":true,\"usage_ra_tls\":false,\"usage_server_auth\":true}");
	post(&b, "DeriveKey", "{\"path\":\"test\",\"random_seed\":true}");
	assert_int_equal(a.status, 200);
	assert_int_equal(b.status, 200);
	ja = reply_json(&a);
	jb = reply_json(&b);
	assert_string_not_equal(jstr(ja, "key"), jstr(jb, "key"));
	json_decref(ja);
	json_decref(jb);
	reply_free(&a);
	reply_free(&b);
}

/* A generated CA key is stored 0600 and gives the same keys (and CA certificate, ids) after a restart. */
static void test_generated_key_persists(void **state)
{
	char dir[128], st_dir[192], key_path[256];
	struct reply r;
	struct stat sb;
	tee_sim *sim;
	json_t *j;
	char *key1, *ca1, *info1, *shared_key;

	(void)state;
	make_temp_dir(dir, sizeof(dir));
	snprintf(st_dir, sizeof(st_dir), "%s/a/b/state", dir);
	snprintf(key_path, sizeof(key_path), "%s/ca.key", st_dir);

	post(&r, "DeriveKey", "{\"path\":\"persist\"}");
	j = reply_json(&r);
	shared_key = strdup(jstr(j, "key"));
	json_decref(j);
	reply_free(&r);

	sim = start_sim(st_dir, NULL, NULL, 0);
	assert_int_equal(stat(key_path, &sb), 0);
	assert_int_equal(sb.st_mode & 0777, 0600);
	snprintf(fx.base, sizeof(fx.base), "http://127.0.0.1:%u", tee_sim_port(sim));
	post(&r, "DeriveKey", "{\"path\":\"persist\"}");
	j = reply_json(&r);
	key1 = strdup(jstr(j, "key"));
	ca1 = strdup(json_string_value(json_array_get(json_object_get(j, "certificate_chain"), 1)));
	json_decref(j);
	reply_free(&r);
	post(&r, "Info", "");
	info1 = strdup(r.body);
	reply_free(&r);
	tee_sim_stop(sim);
	assert_string_not_equal(key1, shared_key);

	sim = start_sim(st_dir, NULL, NULL, 0);
	snprintf(fx.base, sizeof(fx.base), "http://127.0.0.1:%u", tee_sim_port(sim));
	post(&r, "DeriveKey", "{\"path\":\"persist\"}");
	j = reply_json(&r);
	assert_string_equal(jstr(j, "key"), key1);
	assert_string_equal(json_string_value(json_array_get(json_object_get(j, "certificate_chain"), 1)), ca1);
	json_decref(j);
	reply_free(&r);
	post(&r, "Info", "");
	assert_string_equal(r.body, info1);
	reply_free(&r);
	tee_sim_stop(sim);

	snprintf(fx.base, sizeof(fx.base), "http://127.0.0.1:%u", tee_sim_port(fx.sim));
	free(key1);
	free(ca1);
	free(info1);
	free(shared_key);
	rm_tree(dir);
}

/* ---- TdxQuote / RawQuote ---- */

static void test_quote_report_data_vectors(void **state)
{
	json_t *v = vector_json("plugin-tee.json"), *item, *j;
	struct reply r;
	char body[1024];
	char *first_log = NULL;
	size_t i, qlen, checked = 0;
	uint8_t *q;

	(void)state;
	json_array_foreach(json_object_get(v, "report_data"), i, item) {
		const json_t *alg = json_object_get(item, "hash_algorithm");
		const char *sent = json_string_value(json_object_get(item, "sent_report_data_hex"));
		const char *input = json_string_value(json_object_get(item, "input_utf8"));
		const char *prefix = json_string_value(json_object_get(item, "prefix"));
		char hex[256];
		int n;

		if (sent == NULL) {
			/* the custom-prefix vector gives only the text */
			assert_true(strlen(input) < sizeof(hex) / 2);
			teeliza_hex_encode(hex, (const uint8_t *)input, strlen(input));
			sent = hex;
		}
		n = snprintf(body, sizeof(body), "{\"report_data\":\"%s\"", sent);
		if (json_is_string(alg))
			n += snprintf(body + n, sizeof(body) - (size_t)n, ",\"hash_algorithm\":\"%s\"", json_string_value(alg));
		if (prefix != NULL)
			n += snprintf(body + n, sizeof(body) - (size_t)n, ",\"prefix\":\"%s\"", prefix);
		snprintf(body + n, sizeof(body) - (size_t)n, "}");
		post(&r, "TdxQuote", body);
		if (r.status != 200)
			fail_msg("%s: %ld %s", body, r.status, r.body);
		j = reply_json(&r);
		q = reply_quote(j, &qlen);
		assert_true(qlen > QUOTE_REPORT_DATA + 64);
		assert_int_equal(q[0] | q[1] << 8, 4);                                  /* version 4 */
		assert_int_equal(q[4] | q[5] << 8 | q[6] << 16 | (uint32_t)q[7] << 24, 0x81); /* TDX */
		assert_hex_equal(q + QUOTE_REPORT_DATA, 64,
		                 json_string_value(json_object_get(item, "final_report_data_64B_hex")));
		assert_rtmrs_match_log(q, jstr(j, "event_log"));
		assert_string_equal(jstr(j, "hash_algorithm"), json_is_string(alg) ? json_string_value(alg) : "sha512");
		assert_string_equal(jstr(j, "prefix"), prefix != NULL ? prefix : "app-data");
		/* one log for the whole run */
		if (first_log == NULL)
			first_log = strdup(jstr(j, "event_log"));
		else
			assert_string_equal(jstr(j, "event_log"), first_log);
		free(q);
		json_decref(j);
		reply_free(&r);
		checked++;
	}
	assert_true(checked >= 40);
	free(first_log);
	json_decref(v);
}

static void test_event_log_shape(void **state)
{
	struct reply r;
	json_t *j, *log, *ev;
	size_t i, per_imr[4] = {0, 0, 0, 0};
	const char *names[] = {"app-id", "compose-hash", "instance-id", "boot-mr-done"};
	bool seen[4] = {false, false, false, false};
	size_t k;

	(void)state;
	post(&r, "TdxQuote", "");
	assert_int_equal(r.status, 200);
	j = reply_json(&r);
	log = json_loads(jstr(j, "event_log"), 0, NULL);
	assert_true(json_is_array(log));
	json_array_foreach(log, i, ev) {
		json_int_t imr = json_integer_value(json_object_get(ev, "imr"));

		assert_true(imr >= 0 && imr <= 3);
		per_imr[imr]++;
		assert_int_equal(strlen(json_string_value(json_object_get(ev, "digest"))), 96);
		assert_true(json_is_integer(json_object_get(ev, "event_type")));
		assert_true(json_is_string(json_object_get(ev, "event_payload")));
		for (k = 0; k < 4; k++)
			if (imr == 3 && strcmp(json_string_value(json_object_get(ev, "event")), names[k]) == 0)
				seen[k] = true;
	}
	for (k = 0; k < 4; k++) {
		assert_true(per_imr[k] > 0);
		assert_true(seen[k]);
	}
	json_decref(log);
	json_decref(j);
	reply_free(&r);
}

static void test_raw_and_prefix(void **state)
{
	json_t *v = vector_json("plugin-tee.json"), *item, *j;
	struct reply r;
	char body[512];
	size_t i, qlen, n = 0;
	uint8_t *q, md[32];
	unsigned mdlen;

	(void)state;
	json_array_foreach(json_object_get(v, "raw"), i, item) {
		const char *final = json_string_value(json_object_get(item, "final_report_data_64B_hex"));

		if (final == NULL)
			continue;
		/* TdxQuote raw, and RawQuote with an (optional, even repeated) 0x */
		snprintf(body, sizeof(body), "{\"report_data\":\"%s\",\"hash_algorithm\":\"raw\"}", final);
		post(&r, "TdxQuote", body);
		assert_int_equal(r.status, 200);
		j = reply_json(&r);
		q = reply_quote(j, &qlen);
		assert_hex_equal(q + QUOTE_REPORT_DATA, 64, final);
		assert_string_equal(jstr(j, "prefix"), "");
		assert_string_equal(jstr(j, "hash_algorithm"), "raw");
		free(q);
		json_decref(j);
		reply_free(&r);

		snprintf(body, sizeof(body), "{\"report_data\":\"%s%s\"}", n % 2 ? "0x0x" : "0x", final);
		post(&r, "RawQuote", body);
		assert_int_equal(r.status, 200);
		j = reply_json(&r);
		q = reply_quote(j, &qlen);
		assert_hex_equal(q + QUOTE_REPORT_DATA, 64, final);
		assert_rtmrs_match_log(q, jstr(j, "event_log"));
		free(q);
		json_decref(j);
		reply_free(&r);
		n++;
	}
	assert_true(n >= 4);
	json_decref(v);

	/* custom prefix (tappd ≥ 2024-12-23): H("my-tag:" ‖ content), computed here independently */
	post(&r, "TdxQuote", "{\"report_data\":\"68656c6c6f\",\"hash_algorithm\":\"sha256\",\"prefix\":\"my-tag\"}");
	assert_int_equal(r.status, 200);
	j = reply_json(&r);
	q = reply_quote(j, &qlen);
	assert_int_equal(EVP_Digest("my-tag:hello", 12, md, &mdlen, EVP_sha256(), NULL), 1);
	assert_memory_equal(q + QUOTE_REPORT_DATA, md, 32);
	assert_string_equal(jstr(j, "prefix"), "my-tag");
	free(q);
	json_decref(j);
	reply_free(&r);
}

/* ---- GET, ?json, Info, Version ---- */

static void test_get_query(void **state)
{
	json_t *v = vector_json("plugin-tee.json"), *vec, *j;
	struct reply r;
	char url[512];
	size_t qlen;
	uint8_t *q, md[64];
	unsigned mdlen;

	(void)state;
	/* no arguments: the default message, i.e. SHA-512("app-data:") */
	snprintf(url, sizeof(url), "%s/prpc/Tappd.TdxQuote", fx.base);
	http(&r, "GET", url, NULL, NULL);
	assert_int_equal(r.status, 200);
	j = reply_json(&r);
	q = reply_quote(j, &qlen);
	assert_int_equal(EVP_Digest("app-data:", 9, md, &mdlen, EVP_sha512(), NULL), 1);
	assert_memory_equal(q + QUOTE_REPORT_DATA, md, 64);
	free(q);
	json_decref(j);
	reply_free(&r);

	/* url-encoded arguments, ?json ignored */
	snprintf(url, sizeof(url), "%s/prpc/Tappd.TdxQuote?json&report_data=0x68656c6c6f&hash_algorithm=sha%%33-256",
	         fx.base);
	http(&r, "GET", url, NULL, NULL);
	assert_int_equal(r.status, 200);
	j = reply_json(&r);
	q = reply_quote(j, &qlen);
	vec = json_object_get(v, "report_data");
	assert_hex_equal(q + QUOTE_REPORT_DATA, 64,
	                 json_string_value(json_object_get(json_array_get(vec, 4), "final_report_data_64B_hex")));
	assert_string_equal(json_string_value(json_object_get(json_array_get(vec, 4), "hash_algorithm")), "sha3-256");
	free(q);
	json_decref(j);
	reply_free(&r);

	/* DeriveKey by GET, over the unix socket, with repeated and indexed alt_names */
	http(&r, "GET", "http://localhost/prpc/Tappd.DeriveKey?path=my-wallet-salt&subject=a+b&alt_names=x.example"
	                "&alt_names%5B%5D=y.example&usage_ra_tls=1", fx.sock, NULL);
	assert_int_equal(r.status, 200);
	j = reply_json(&r);
	assert_string_equal(jstr(j, "key"), json_string_value(json_object_get(
	                                        json_array_get(json_object_get(v, "derive_hkdf_sim"), 0), "pem")));
	json_decref(j);
	reply_free(&r);

	/* POST with ?json=1 and without a JSON Content-Type is still JSON */
	snprintf(url, sizeof(url), "%s/prpc/Tappd.RawQuote?json=1", fx.base);
	assert_int_equal(http_try(&r, "POST", url, NULL, "{}", 2, NULL), CURLE_OK);
	assert_error_reply(&r, 400, "invalid content length");
	reply_free(&r);
	json_decref(v);
}

static void test_info_version(void **state)
{
	static const char *const order[] = {"app_id", "instance_id", "app_cert", "tcb_info", "app_name", "public_logs",
	                                     "public_sysinfo", "device_id", "mr_aggregated", "mr_image",
	                                     "mr_key_provider", "key_provider_info", "compose_hash"};
	struct reply r, qr, dr;
	json_t *j, *tcb, *qj, *dj, *log, *ev;
	const char *key;
	json_t *value;
	size_t i = 0, qlen;
	uint8_t *q;
	char hex[2 * 48 + 1], want[2 * 48 + 3];
	uint8_t rtmr[4][48];
	tee_event_log elog;

	(void)state;
	post(&r, "Info", "this is not JSON, and Info takes no arguments");
	assert_int_equal(r.status, 200);
	j = reply_json(&r);
	json_object_foreach(j, key, value) {
		assert_true(i < sizeof(order) / sizeof(order[0]));
		assert_string_equal(key, order[i]);
		i++;
	}
	assert_int_equal(i, sizeof(order) / sizeof(order[0]));
	assert_string_equal(jstr(j, "app_name"), "teeliza-simulator");

	post(&qr, "TdxQuote", "{}");
	qj = reply_json(&qr);
	q = reply_quote(qj, &qlen);
	post(&dr, "DeriveKey", "{}");
	dj = reply_json(&dr);
	assert_string_equal(jstr(j, "app_cert"),
	                    json_string_value(json_array_get(json_object_get(dj, "certificate_chain"), 1)));

	tcb = json_loads(jstr(j, "tcb_info"), 0, NULL);
	assert_non_null(tcb);
	assert_non_null(strstr(jstr(j, "tcb_info"), "\n  \"mrtd\": ")); /* pretty-printed */
	teeliza_hex_encode(hex, q + QUOTE_MRTD, 48);
	assert_string_equal(jstr(tcb, "mrtd"), hex);
	assert_int_equal(tee_event_log_parse(&elog, jstr(qj, "event_log"), strlen(jstr(qj, "event_log"))), TEELIZA_OK);
	tee_rtmr_replay(rtmr, &elog);
	for (i = 0; i < 4; i++) {
		char name[8];

		snprintf(name, sizeof(name), "rtmr%zu", i);
		teeliza_hex_encode(hex, rtmr[i], 48);
		assert_string_equal(jstr(tcb, name), hex);
	}
	/* app_id / instance_id / compose_hash are the payloads of their RTMR3 events */
	log = json_object_get(tcb, "event_log");
	assert_int_equal(json_array_size(log), elog.count);
	json_array_foreach(log, i, ev) {
		const char *name = json_string_value(json_object_get(ev, "event"));
		const char *field = strcmp(name, "app-id") == 0         ? "app_id"
		                    : strcmp(name, "instance-id") == 0  ? "instance_id"
		                    : strcmp(name, "compose-hash") == 0 ? "compose_hash"
		                                                        : NULL;

		if (field == NULL)
			continue;
		snprintf(want, sizeof(want), "0x%s", json_string_value(json_object_get(ev, "event_payload")));
		assert_string_equal(jstr(j, field), want);
	}
	tee_event_log_free(&elog);
	json_decref(tcb);
	free(q);
	json_decref(qj);
	json_decref(dj);
	json_decref(j);
	reply_free(&r);
	reply_free(&qr);
	reply_free(&dr);

	post(&r, "Version", NULL);
	assert_int_equal(r.status, 200);
	j = reply_json(&r);
	assert_true(strlen(jstr(j, "version")) > 0);
	assert_true(strlen(jstr(j, "rev")) > 0);
	json_decref(j);
	reply_free(&r);
}

/* ---- bad input ---- */

struct bad_case {
	const char *method; /* pRPC method */
	const char *body;
	long status;
	const char *error;
};

static void test_bad_inputs(void **state)
{
	static const struct bad_case cases[] = {
		{"TdxQuote", "{\"report_data\":", 400, "invalid JSON at line 1 column 15: unexpected token near end of file"},
		{"DeriveKey", "{\"path\":\"ab", 400, "invalid JSON at line 1 column 11: premature end of input near '\"ab'"},
		{"DeriveKey", "{\"path\":\"a\"} trailing", 400, "invalid JSON at line 1 column 21: end of file expected near 'trailing'"},
		{"DeriveKey", "{\"path\":\"a\",\"path\":\"b\"}", 400, "invalid JSON at line 1 column 18: duplicate object key near '\"path\"'"},
		{"TdxQuote", "[]", 400, "invalid request: expected a JSON object, found array"},
		{"TdxQuote", "\"hello\"", 400, "invalid request: expected a JSON object, found string"},
		{"DeriveKey", "{\"path\":1}", 400, "invalid field \"path\": expected a string, found integer"},
		{"DeriveKey", "{\"subject\":null}", 400, "invalid field \"subject\": expected a string, found null"},
		{"DeriveKey", "{\"alt_names\":\"a.example\"}", 400, "invalid field \"alt_names\": expected an array of strings, found string"},
		{"DeriveKey", "{\"alt_names\":[\"a.example\",7]}", 400, "invalid field \"alt_names[1]\": expected a string, found integer"},
		{"DeriveKey", "{\"random_seed\":\"yes\"}", 400, "invalid field \"random_seed\": expected a boolean, found string"},
		{"DeriveKey", "{\"alt_names\":[\"ok.example\",\"not a name\"]}", 400, "invalid DNS name in alt_names[1]: \"not a name\""},
		{"DeriveKey", "{\"alt_names\":[\"\"]}", 400, "invalid DNS name in alt_names[0]: \"\""},
		{"DeriveKey", "{\"alt_names\":[\"a..b\"]}", 400, "invalid DNS name in alt_names[0]: \"a..b\""},
		{"DeriveKey", "{\"alt_names\":[\"caf\\u00e9.example\"]}", 400, "invalid DNS name in alt_names[0]: \"caf\xc3\xa9.example\""},
		{"TdxQuote", "{\"report_data\":5}", 400, "invalid field \"report_data\": expected a string, found integer"},
		{"TdxQuote", "{\"report_data\":[\"00\"]}", 400, "invalid field \"report_data\": expected a string, found array"},
		{"TdxQuote", "{\"hash_algorithm\":256}", 400, "invalid field \"hash_algorithm\": expected a string, found integer"},
		{"TdxQuote", "{\"prefix\":true}", 400, "invalid field \"prefix\": expected a string, found boolean"},
		{"TdxQuote", "{\"report_data\":\"zz\"}", 400, "invalid field \"report_data\": invalid hex character 'z' at position 0"},
		{"TdxQuote", "{\"report_data\":\"0x00 1\"}", 400, "invalid field \"report_data\": invalid hex character ' ' at position 2"},
		{"TdxQuote", "{\"report_data\":\"abc\"}", 400, "invalid field \"report_data\": odd number of hex digits (3)"},
		{"RawQuote", "{\"report_data\":\"0x1\"}", 400, "invalid field \"report_data\": odd number of hex digits (1)"},
		{"TdxQuote", "{\"report_data\":\"00\",\"hash_algorithm\":\"raw\"}", 400, "invalid content length"},
		{"TdxQuote", "{\"hash_algorithm\":\"raw\"}", 400, "invalid content length"},
		{"RawQuote", "{\"report_data\":\"00\"}", 400, "invalid content length"},
		{"TdxQuote", "{\"report_data\":\"00\",\"hash_algorithm\":\"md5\"}", 400, "invalid hash algorithm"},
		{"TdxQuote", "{\"hash_algorithm\":\"sha3_256\"}", 400, "invalid hash algorithm"},
		{"TdxQuote", "{\"hash_algorithm\":\"SHA256\"}", 400, "invalid hash algorithm"},
		{"Nope", "{}", 404, "method Not Found"},
		{"derivekey", "{}", 404, "method Not Found"},
	};
	json_t *v = vector_json("plugin-tee.json");
	struct reply r;
	char url[256], raw65[2 * 65 + 32];
	size_t i;

	(void)state;
	/* the vector's error text for an unknown algorithm is tappd's */
	assert_string_equal(json_string_value(json_object_get(v, "bad_alg_error")), "invalid hash algorithm");
	json_decref(v);
	for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		post(&r, cases[i].method, cases[i].body);
		assert_error_reply(&r, cases[i].status, cases[i].error);
		reply_free(&r);
	}
	/* 65 raw bytes */
	memcpy(raw65, "{\"report_data\":\"", 16);
	memset(raw65 + 16, 'a', 130);
	memcpy(raw65 + 146, "\"}", 3);
	post(&r, "RawQuote", raw65);
	assert_error_reply(&r, 400, "invalid content length");
	reply_free(&r);

	/* GET query errors */
	snprintf(url, sizeof(url), "%s/prpc/Tappd.TdxQuote?report_data=%%zz", fx.base);
	http(&r, "GET", url, NULL, NULL);
	assert_error_reply(&r, 400, "invalid query string: bad percent-encoding at offset 0");
	reply_free(&r);
	snprintf(url, sizeof(url), "%s/prpc/Tappd.TdxQuote?report_data=%%ff", fx.base);
	http(&r, "GET", url, NULL, NULL);
	assert_error_reply(&r, 400, "invalid query string: value of \"report_data\" is not valid UTF-8 text");
	reply_free(&r);
	snprintf(url, sizeof(url), "%s/prpc/Tappd.DeriveKey?usage_server_auth=maybe", fx.base);
	http(&r, "GET", url, NULL, NULL);
	assert_error_reply(&r, 400, "invalid field \"usage_server_auth\": expected a boolean, found string");
	reply_free(&r);

	/* other paths and methods */
	snprintf(url, sizeof(url), "%s/", fx.base);
	http(&r, "GET", url, NULL, NULL);
	assert_error_reply(&r, 404, "method Not Found");
	reply_free(&r);
	snprintf(url, sizeof(url), "%s/prpc/Tappd.TdxQuote", fx.base);
	http(&r, "PUT", url, NULL, "{}");
	assert_error_reply(&r, 404, "method Not Found");
	reply_free(&r);

	/* unknown fields are ignored, missing ones default */
	post(&r, "TdxQuote", "{\"report_data\":\"00\",\"some_future_field\":{\"x\":[1,2,3]}}");
	assert_int_equal(r.status, 200);
	reply_free(&r);
	post(&r, "DeriveKey", "{}");
	assert_int_equal(r.status, 200);
	reply_free(&r);
}

/* ---- transport: oversized, truncated, concurrent ---- */

static int connect_tcp(uint16_t port)
{
	struct sockaddr_in a;
	int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);

	assert_true(fd >= 0);
	memset(&a, 0, sizeof(a));
	a.sin_family = AF_INET;
	a.sin_port = htons(port);
	a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	assert_int_equal(connect(fd, (struct sockaddr *)&a, sizeof(a)), 0);
	return fd;
}

static void send_all(int fd, const char *data, size_t len)
{
	while (len > 0) {
		ssize_t n = send(fd, data, len, MSG_NOSIGNAL);

		assert_true(n > 0);
		data += n;
		len -= (size_t)n;
	}
}

/* Read until the peer closes or timeout_ms passes without data; returns bytes read. */
static size_t read_until_close(int fd, char *buf, size_t cap, int timeout_ms, bool *closed)
{
	size_t got = 0;
	struct pollfd p = {fd, POLLIN, 0};

	*closed = false;
	while (got + 1 < cap && poll(&p, 1, timeout_ms) == 1) {
		ssize_t n = recv(fd, buf + got, cap - 1 - got, 0);

		if (n <= 0) {
			*closed = true;
			break;
		}
		got += (size_t)n;
	}
	buf[got] = 0;
	return got;
}

static void assert_server_alive(void)
{
	struct reply r;

	post(&r, "Version", "");
	assert_int_equal(r.status, 200);
	reply_free(&r);
}

static void test_body_too_large(void **state)
{
	size_t big = 10u * 1000 * 1000;
	char *body = malloc(big);
	char head[512], buf[4096];
	struct reply r;
	bool closed;
	int fd;

	(void)state;
	assert_non_null(body);
	memset(body, 'a', big);
	/* through libcurl (which waits for 100-continue on a big body) */
	{
		char url[256];

		snprintf(url, sizeof(url), "%s/prpc/Tappd.TdxQuote", fx.base);
		assert_int_equal(http_try(&r, "POST", url, NULL, body, big, "application/json"), CURLE_OK);
		assert_int_equal(r.status, 413);
		assert_string_equal(r.body, "{\"error\":\"request body too large\"}");
		reply_free(&r);
	}
	free(body);

	/* raw: announce 10 MB, send a little, and get the 413 without sending the rest */
	fd = connect_tcp(tee_sim_port(fx.sim));
	snprintf(head, sizeof(head),
	         "POST /prpc/Tappd.TdxQuote HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\n"
	         "Content-Length: %zu\r\n\r\n{\"report_data\":\"",
	         big);
	send_all(fd, head, strlen(head));
	read_until_close(fd, buf, sizeof(buf), 5000, &closed);
	close(fd);
	assert_true(strncmp(buf, "HTTP/1.1 413", 12) == 0);
	assert_non_null(strstr(buf, "\r\n\r\n{\"error\":\"request body too large\"}"));
	assert_true(closed);

	/* chunked (no announced length): cut at the cap while reading */
	fd = connect_tcp(tee_sim_port(fx.sim));
	snprintf(head, sizeof(head),
	         "POST /prpc/Tappd.TdxQuote HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\n");
	send_all(fd, head, strlen(head));
	{
		char *chunk = malloc(65536 + 16);
		int i, len;

		assert_non_null(chunk);
		len = snprintf(chunk, 16, "10000\r\n");
		memset(chunk + len, 'b', 65536);
		memcpy(chunk + len + 65536, "\r\n", 2);
		for (i = 0; i < 20; i++) /* 1.25 MiB > the 1 MiB cap */
			send_all(fd, chunk, (size_t)len + 65536 + 2);
		send_all(fd, "0\r\n\r\n", 5);
		free(chunk);
	}
	read_until_close(fd, buf, sizeof(buf), 5000, &closed);
	close(fd);
	assert_true(strncmp(buf, "HTTP/1.1 413", 12) == 0);
	assert_server_alive();
}

static double now_s(void)
{
	struct timespec t;

	clock_gettime(CLOCK_MONOTONIC, &t);
	return (double)t.tv_sec + (double)t.tv_nsec / 1e9;
}

static void test_truncated_requests(void **state)
{
	static const char *const partial[] = {
		"POST /prpc/Tappd.TdxQuote HTTP/1.1\r\nHost: x\r\nContent-Length: 100\r\n\r\n{\"report_d",
		"POST /prpc/Tappd.TdxQuote HTTP/1.1\r\nHost: x\r\nContent-Le",
		"POST /prpc/Tappd.TdxQuo",
		"GARBAGE\r\n\r\n",
		"POST /prpc/Tappd.TdxQuote HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\n5\r\nab",
	};
	char buf[4096];
	size_t i;
	int fd, held;
	bool closed;
	double t0;

	(void)state;
	for (i = 0; i < sizeof(partial) / sizeof(partial[0]); i++) {
		fd = connect_tcp(tee_sim_port(fx.sim));
		send_all(fd, partial[i], strlen(partial[i]));
		shutdown(fd, SHUT_WR); /* the client gives up mid-request */
		read_until_close(fd, buf, sizeof(buf), 5000, &closed);
		close(fd);
		assert_server_alive();
	}
	/* a client that stalls mid-body holds only its own connection */
	held = connect_tcp(tee_sim_port(fx.sim));
	send_all(held, partial[0], strlen(partial[0]));
	t0 = now_s();
	for (i = 0; i < 20; i++)
		assert_server_alive();
	assert_true(now_s() - t0 < 5.0);
	close(held);
	assert_server_alive();
}

struct worker {
	int id;
	int failures;
	const char *expected_key;
};

static void *worker_main(void *arg)
{
	struct worker *w = arg;
	struct reply r;
	char body[256], url[256];
	int i;

	for (i = 0; i < 12; i++) {
		bool via_unix = (w->id + i) % 2 == 0;
		json_t *j;

		if (i % 3 == 0) {
			snprintf(url, sizeof(url), "%s/prpc/Tappd.DeriveKey", via_unix ? "http://localhost" : fx.base);
			snprintf(body, sizeof(body), "{\"path\":\"test\",\"subject\":\"w%d\"}", w->id);
		} else {
			snprintf(url, sizeof(url), "%s/prpc/Tappd.RawQuote", via_unix ? "http://localhost" : fx.base);
			snprintf(body, sizeof(body), "{\"report_data\":\"%02x%02x%0124d\"}", w->id, i, 0);
		}
		if (http_try(&r, "POST", url, via_unix ? fx.sock : NULL, body, strlen(body), "application/json") !=
		        CURLE_OK ||
		    r.status != 200 || (j = json_loadb(r.body, r.len, 0, NULL)) == NULL) {
			w->failures++;
			reply_free(&r);
			continue;
		}
		if (i % 3 == 0) {
			const char *key = json_string_value(json_object_get(j, "key"));

			if (key == NULL || strcmp(key, w->expected_key) != 0)
				w->failures++;
		} else {
			const char *q = json_string_value(json_object_get(j, "quote"));
			char want[5];

			snprintf(want, sizeof(want), "%02x%02x", w->id, i);
			/* report_data starts at byte 568 = hex offset 2 + 1136 */
			if (q == NULL || strlen(q) < 2 + 2 * 632 || strncmp(q + 2 + 2 * QUOTE_REPORT_DATA, want, 4) != 0)
				w->failures++;
		}
		json_decref(j);
		reply_free(&r);
	}
	return NULL;
}

static void test_concurrent_clients(void **state)
{
	json_t *v = vector_json("plugin-tee.json");
	struct worker w[16];
	pthread_t t[16];
	int i, failures = 0;

	(void)state;
	for (i = 0; i < 16; i++) {
		w[i].id = i;
		w[i].failures = 0;
		w[i].expected_key =
			json_string_value(json_object_get(json_array_get(json_object_get(v, "derive_hkdf_sim"), 1), "pem"));
		assert_int_equal(pthread_create(&t[i], NULL, worker_main, &w[i]), 0);
	}
	for (i = 0; i < 16; i++) {
		pthread_join(t[i], NULL);
		failures += w[i].failures;
	}
	assert_int_equal(failures, 0);
	json_decref(v);
}

/* ---- listeners and start-up errors ---- */

static void test_unix_socket_files(void **state)
{
	char dir[128], st_dir[192], sock[192];
	struct sockaddr_un a;
	struct stat sb;
	tee_sim_config cfg;
	tee_sim *sim = NULL, *other = NULL;
	int fd;

	(void)state;
	make_temp_dir(dir, sizeof(dir));
	snprintf(st_dir, sizeof(st_dir), "%s/state", dir);
	snprintf(sock, sizeof(sock), "%s/s.sock", dir);

	/* a stale socket file left by a dead server is replaced */
	fd = socket(AF_UNIX, SOCK_STREAM, 0);
	memset(&a, 0, sizeof(a));
	a.sun_family = AF_UNIX;
	memcpy(a.sun_path, sock, strlen(sock) + 1);
	assert_int_equal(bind(fd, (struct sockaddr *)&a, sizeof(a)), 0);
	close(fd);
	sim = start_sim(st_dir, vector_path("tappd-simulator-app.key"), sock, 0660);
	assert_int_equal(lstat(sock, &sb), 0);
	assert_true(S_ISSOCK(sb.st_mode));
	assert_int_equal(sb.st_mode & 0777, 0660);

	/* a live socket is not taken over, and neither is the TCP port */
	memset(&cfg, 0, sizeof(cfg));
	cfg.socket_path = sock;
	cfg.state_dir = st_dir;
	cfg.quiet = true;
	assert_int_equal(tee_sim_start(&other, &cfg), TEELIZA_ERR_IO);
	assert_non_null(strstr(teeliza_errmsg(), "another server"));
	assert_null(other);
	cfg.socket_path = NULL;
	cfg.host = "127.0.0.1";
	cfg.port = tee_sim_port(sim);
	assert_int_equal(tee_sim_start(&other, &cfg), TEELIZA_ERR_IO);
	assert_non_null(strstr(teeliza_errmsg(), "Address already in use"));

	tee_sim_stop(sim);
	assert_int_equal(lstat(sock, &sb), -1); /* removed on stop */

	/* a regular file at the socket path is left alone */
	assert_int_equal(teeliza_write_file(sock, "keep", 4, 0644), TEELIZA_OK);
	cfg.host = NULL;
	cfg.socket_path = sock;
	assert_int_equal(tee_sim_start(&other, &cfg), TEELIZA_ERR_IO);
	assert_non_null(strstr(teeliza_errmsg(), "not a socket"));
	assert_int_equal(lstat(sock, &sb), 0);
	assert_true(S_ISREG(sb.st_mode));

	/* bad or missing key files */
	cfg.socket_path = NULL;
	cfg.host = "127.0.0.1";
	cfg.port = 0;
	cfg.key_file = "/nonexistent/teeliza/ca.key";
	assert_int_equal(tee_sim_start(&other, &cfg), TEELIZA_ERR_CONFIG);
	assert_non_null(strstr(teeliza_errmsg(), "does not exist"));
	cfg.key_file = sock; /* "keep" is not a PEM key */
	assert_int_equal(tee_sim_start(&other, &cfg), TEELIZA_ERR_PARSE);
	cfg.key_file = NULL;
	cfg.host = NULL;
	assert_int_equal(tee_sim_start(&other, &cfg), TEELIZA_ERR_CONFIG);
	rm_tree(dir);
}

/* ---- the CLI ---- */

static void test_cli(void **state)
{
	char dir[128], st_dir[192], sock[192], cmd[600], line[64], url[128];
	int out[2], status = -1, i;
	unsigned long port;
	struct reply r;
	struct stat sb;
	pid_t pid;
	FILE *f;
	char *printed = NULL, *end;
	tee_sim_pki *pki = NULL;
	teeliza_buf pem;

	(void)state;
	make_temp_dir(dir, sizeof(dir));
	snprintf(st_dir, sizeof(st_dir), "%s/state", dir);
	snprintf(sock, sizeof(sock), "%s/cli.sock", dir);
	assert_int_equal(pipe(out), 0);
	pid = fork();
	assert_true(pid >= 0);
	if (pid == 0) {
		dup2(out[1], 1);
		close(out[0]);
		close(out[1]);
		execl(TEELIZA_BINARY, "teeliza", "simulator", "--port", "0", "--state-dir", st_dir, "--socket", sock,
		      "--socket-mode", "0600", "--quiet", (char *)NULL);
		_exit(127);
	}
	close(out[1]);
	f = fdopen(out[0], "r");
	assert_non_null(f);
	/* with --port 0 the bound port is printed on stdout */
	assert_non_null(fgets(line, sizeof(line), f));
	assert_true(strncmp(line, "port ", 5) == 0);
	port = strtoul(line + 5, &end, 10);
	assert_true(port > 0 && port < 65536 && *end == '\n');

	snprintf(url, sizeof(url), "http://127.0.0.1:%lu/prpc/Tappd.Version", port);
	http(&r, "POST", url, NULL, "{}");
	assert_int_equal(r.status, 200);
	reply_free(&r);
	http(&r, "GET", "http://localhost/prpc/Tappd.TdxQuote", sock, NULL);
	assert_int_equal(r.status, 200);
	reply_free(&r);
	assert_int_equal(lstat(sock, &sb), 0);
	assert_int_equal(sb.st_mode & 0777, 0600);

	/* SIGTERM: clean exit 0, socket removed */
	assert_int_equal(kill(pid, SIGTERM), 0);
	for (i = 0; i < 100 && waitpid(pid, &status, WNOHANG) == 0; i++)
		usleep(50000);
	if (i == 100) {
		kill(pid, SIGKILL);
		waitpid(pid, &status, 0);
		fail_msg("teeliza simulator did not stop on SIGTERM");
	}
	fclose(f);
	assert_true(WIFEXITED(status));
	assert_int_equal(WEXITSTATUS(status), 0);
	assert_int_equal(lstat(sock, &sb), -1);

	/* sim-root prints the root CA of the same state dir */
	snprintf(cmd, sizeof(cmd), "'%s' sim-root --state-dir '%s'", TEELIZA_BINARY, st_dir);
	assert_int_equal(run_capture(cmd, &printed), 0);
	assert_int_equal(tee_sim_pki_open(&pki, st_dir), TEELIZA_OK);
	assert_int_equal(tee_sim_pki_root_pem(&pem, pki), TEELIZA_OK);
	assert_string_equal(printed, (const char *)pem.data);
	teeliza_buf_free(&pem);
	tee_sim_pki_free(pki);
	free(printed);

	/* usage errors */
	snprintf(cmd, sizeof(cmd), "'%s' simulator --port 70000 2>/dev/null", TEELIZA_BINARY);
	assert_int_equal(run_capture(cmd, NULL), 64);
	snprintf(cmd, sizeof(cmd), "'%s' simulator --no-tcp 2>/dev/null", TEELIZA_BINARY);
	assert_int_equal(run_capture(cmd, NULL), 64);
	snprintf(cmd, sizeof(cmd), "'%s' simulator --state-dir '%s' --key-file /nonexistent/k 2>/dev/null",
	         TEELIZA_BINARY, st_dir);
	assert_int_equal(run_capture(cmd, NULL), 78);
	rm_tree(dir);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_derive_key_vectors),
		cmocka_unit_test(test_method_without_service_prefix),
		cmocka_unit_test(test_dev_key_and_call),
		cmocka_unit_test(test_wire_samples),
		cmocka_unit_test(test_certificate_chain),
		cmocka_unit_test(test_random_seed),
		cmocka_unit_test(test_generated_key_persists),
		cmocka_unit_test(test_quote_report_data_vectors),
		cmocka_unit_test(test_event_log_shape),
		cmocka_unit_test(test_raw_and_prefix),
		cmocka_unit_test(test_get_query),
		cmocka_unit_test(test_info_version),
		cmocka_unit_test(test_bad_inputs),
		cmocka_unit_test(test_body_too_large),
		cmocka_unit_test(test_truncated_requests),
		cmocka_unit_test(test_concurrent_clients),
		cmocka_unit_test(test_unix_socket_files),
		cmocka_unit_test(test_cli),
	};

	return cmocka_run_group_tests(tests, group_setup, group_teardown);
}
