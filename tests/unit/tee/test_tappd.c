/*
 * tappd client: TEE_MODE endpoint selection, the exact request bytes (checked
 * against the JS SDK's wire samples, over TCP and over a unix socket, recorded
 * by the small libmicrohttpd server of fakehttp.c), and every failure mode:
 * refused connection, missing socket, non-JSON reply, {"error":…} reply,
 * missing fields, a server slower than the timeout, an oversize reply.
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <cmocka.h>

#include "fakehttp.h"
#include "testutil.h"
#include "teeliza/common/common.h"
#include "teeliza/common/encoding.h"
#include "teeliza/tee/tappd.h"

#include <microhttpd.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

/* ---- the fake tappd ---- */

struct fake {
	struct fakehttp srv;
	pthread_mutex_t mu;
	/* what to answer */
	unsigned status;
	const char *reply;
	size_t reply_len;
	unsigned sleep_ms;
	bool chunked;               /* no Content-Length: the client must cap while reading */
	/* what was asked */
	int count;
	struct fakehttp_request last;
};

static enum MHD_Result handle(void *ctx, struct MHD_Connection *conn, const char *method, const char *url,
                              const char *body, size_t body_len)
{
	struct fake *f = ctx;

	pthread_mutex_lock(&f->mu);
	f->count++;
	if (!fakehttp_record(&f->last, conn, method, url, body, body_len))
		f->count = -1000;
	pthread_mutex_unlock(&f->mu);
	if (f->sleep_ms)
		usleep(f->sleep_ms * 1000u);
	return fakehttp_reply(conn, f->status, f->reply, f->reply_len, f->chunked);
}

static struct fake *fake_start(bool unix_socket)
{
	struct fake *f = calloc(1, sizeof(*f));

	assert_non_null(f);
	pthread_mutex_init(&f->mu, NULL);
	f->status = 200;
	f->reply = "{}";
	f->reply_len = 2;
	fakehttp_start(&f->srv, unix_socket, 1 << 20, handle, f);
	return f;
}

static void fake_stop(struct fake *f)
{
	fakehttp_stop(&f->srv);
	fakehttp_request_free(&f->last);
	pthread_mutex_destroy(&f->mu);
	free(f);
}

static void fake_reply(struct fake *f, unsigned status, const char *body)
{
	f->status = status;
	f->reply = body;
	f->reply_len = strlen(body);
}

static void fake_client(tappd_client *c, const struct fake *f)
{
	tappd_endpoint ep;
	char url[64];

	if (f->srv.sock_path[0]) {
		assert_int_equal(tappd_endpoint_parse(&ep, f->srv.sock_path), TEELIZA_OK);
	} else {
		/* A path in the endpoint is ignored, as new URL("/prpc/...", endpoint) does. */
		snprintf(url, sizeof(url), "http://127.0.0.1:%u/ignored/path", f->srv.port);
		assert_int_equal(tappd_endpoint_parse(&ep, url), TEELIZA_OK);
	}
	tappd_client_init(c, &ep);
	c->timeout_ms = 5000;
}

/* ---- endpoint selection ---- */

static void test_endpoint_modes(void **state)
{
	tappd_endpoint ep;

	(void)state;
	assert_int_equal(tappd_endpoint_select(&ep, "LOCAL", NULL), TEELIZA_OK);
	assert_string_equal(ep.url, "http://localhost:8090");
	assert_string_equal(ep.socket, "");
	assert_int_equal(tappd_endpoint_select(&ep, "DOCKER", NULL), TEELIZA_OK);
	assert_string_equal(ep.url, "http://host.docker.internal:8090");
	assert_int_equal(tappd_endpoint_select(&ep, "PRODUCTION", NULL), TEELIZA_OK);
	assert_string_equal(ep.url, "");
	assert_string_equal(ep.socket, "/var/run/tappd.sock");

	assert_string_equal(tappd_mode_log_line("LOCAL"), "TEE: Connecting to local simulator at localhost:8090");
	assert_string_equal(tappd_mode_log_line("DOCKER"),
	                    "TEE: Connecting to simulator via Docker at host.docker.internal:8090");
	assert_string_equal(tappd_mode_log_line("PRODUCTION"), "TEE: Running in production mode without simulator");
	assert_null(tappd_mode_log_line("OFF"));
	assert_null(tappd_mode_log_line(NULL));
}

/* With DSTACK_SIMULATOR_ENDPOINT set, the mode line names the endpoint used, never the one it replaces. */
static void test_connect_log_line(void **state)
{
	char buf[TAPPD_CONNECT_LOG_LINE_MAX], huge[600];

	(void)state;
	assert_string_equal(tappd_connect_log_line(buf, sizeof(buf), "LOCAL", NULL),
	                    "TEE: Connecting to local simulator at localhost:8090");
	assert_string_equal(tappd_connect_log_line(buf, sizeof(buf), "LOCAL", ""),
	                    "TEE: Connecting to local simulator at localhost:8090");
	assert_string_equal(tappd_connect_log_line(buf, sizeof(buf), "LOCAL", "http://127.0.0.1:18090"),
	                    "TEE: Connecting to local simulator at http://127.0.0.1:18090 (DSTACK_SIMULATOR_ENDPOINT "
	                    "replaces localhost:8090 of TEE_MODE=LOCAL)");
	assert_string_equal(tappd_connect_log_line(buf, sizeof(buf), "DOCKER", "/tmp/t.sock"),
	                    "TEE: Connecting to simulator at /tmp/t.sock (DSTACK_SIMULATOR_ENDPOINT replaces "
	                    "host.docker.internal:8090 of TEE_MODE=DOCKER)");
	assert_non_null(strstr(tappd_connect_log_line(buf, sizeof(buf), "PRODUCTION", "http://10.0.0.1:8090"),
	                       "WARNING: TEE_MODE=PRODUCTION, but DSTACK_SIMULATOR_ENDPOINT sends every request to "
	                       "http://10.0.0.1:8090 instead of /var/run/tappd.sock"));
	assert_null(tappd_connect_log_line(buf, sizeof(buf), "OFF", "http://x"));
	/* control characters never reach the log; a long endpoint is truncated, never overflows */
	assert_non_null(strstr(tappd_connect_log_line(buf, sizeof(buf), "LOCAL", "/tmp/a\nb\x1b"), " at /tmp/a?b? ("));
	memset(huge, 'a', sizeof(huge) - 1);
	huge[sizeof(huge) - 1] = 0;
	assert_true(strlen(tappd_connect_log_line(buf, sizeof(buf), "PRODUCTION", huge)) < sizeof(buf));
	assert_int_equal(strlen(tappd_connect_log_line(buf, 16, "LOCAL", huge)), 15);
}

static void test_endpoint_invalid_mode(void **state)
{
	tappd_endpoint ep;

	(void)state;
	assert_int_equal(tappd_endpoint_select(&ep, "X", NULL), TEELIZA_ERR_CONFIG);
	assert_string_equal(teeliza_errmsg(), "Invalid TEE_MODE: X. Must be one of: LOCAL, DOCKER, PRODUCTION");
	assert_int_equal(tappd_endpoint_select(&ep, NULL, NULL), TEELIZA_ERR_CONFIG);
	assert_string_equal(teeliza_errmsg(),
	                    "Invalid TEE_MODE: undefined. Must be one of: LOCAL, DOCKER, PRODUCTION");
	/* OFF is in the plugin's enum but the providers reject it; the match is case-sensitive. */
	assert_int_equal(tappd_endpoint_select(&ep, "OFF", NULL), TEELIZA_ERR_CONFIG);
	assert_int_equal(tappd_endpoint_select(&ep, "local", NULL), TEELIZA_ERR_CONFIG);
	assert_string_equal(teeliza_errmsg(), "Invalid TEE_MODE: local. Must be one of: LOCAL, DOCKER, PRODUCTION");
	assert_int_equal(tappd_endpoint_select(&ep, "", NULL), TEELIZA_ERR_CONFIG);
	assert_string_equal(teeliza_errmsg(), "Invalid TEE_MODE: . Must be one of: LOCAL, DOCKER, PRODUCTION");
	/* The mode is checked before the override is looked at. */
	assert_int_equal(tappd_endpoint_select(&ep, "X", "http://127.0.0.1:1"), TEELIZA_ERR_CONFIG);
	assert_string_equal(ep.url, "");
	assert_string_equal(ep.socket, "");
}

static void test_endpoint_override(void **state)
{
	tappd_endpoint ep;
	char s[600];

	(void)state;
	/* DSTACK_SIMULATOR_ENDPOINT wins over every mode, as in SDK 0.1.6/0.1.7. */
	assert_int_equal(tappd_endpoint_select(&ep, "PRODUCTION", "http://10.0.0.1:8090"), TEELIZA_OK);
	assert_string_equal(ep.url, "http://10.0.0.1:8090");
	assert_string_equal(ep.socket, "");
	assert_int_equal(tappd_endpoint_select(&ep, "LOCAL", "https://tappd.example:443"), TEELIZA_OK);
	assert_string_equal(ep.url, "https://tappd.example:443");
	assert_int_equal(tappd_endpoint_select(&ep, "LOCAL", "/tmp/tappd.sock"), TEELIZA_OK);
	assert_string_equal(ep.url, "");
	assert_string_equal(ep.socket, "/tmp/tappd.sock");
	assert_string_equal(tappd_endpoint_str(s, sizeof(s), &ep), "unix:/tmp/tappd.sock");
	/* Relative paths and odd schemes are socket paths too: only http:// and https:// mean HTTP. */
	assert_int_equal(tappd_endpoint_select(&ep, "DOCKER", "HTTP://x:1"), TEELIZA_OK);
	assert_string_equal(ep.socket, "HTTP://x:1");
	assert_int_equal(tappd_endpoint_select(&ep, "LOCAL", "tappd.sock"), TEELIZA_OK);
	assert_string_equal(ep.socket, "tappd.sock");
	/* An empty variable is falsy in JS: no override. */
	assert_int_equal(tappd_endpoint_select(&ep, "LOCAL", ""), TEELIZA_OK);
	assert_string_equal(ep.url, "http://localhost:8090");
	assert_string_equal(tappd_endpoint_str(s, sizeof(s), &ep), "http://localhost:8090");
}

static void test_endpoint_parse_errors(void **state)
{
	tappd_endpoint ep;
	char longpath[200];

	(void)state;
	assert_int_equal(tappd_endpoint_parse(&ep, ""), TEELIZA_ERR_INVALID);
	assert_int_equal(tappd_endpoint_parse(&ep, NULL), TEELIZA_ERR_INVALID);
	assert_int_equal(tappd_endpoint_parse(&ep, "http://"), TEELIZA_ERR_INVALID);
	assert_non_null(strstr(teeliza_errmsg(), "no host"));
	assert_int_equal(tappd_endpoint_parse(&ep, "http:///x"), TEELIZA_ERR_INVALID);
	assert_int_equal(tappd_endpoint_parse(&ep, "http://a b:1"), TEELIZA_ERR_INVALID);
	memset(longpath, 'a', sizeof(longpath) - 1);
	longpath[0] = '/';
	longpath[sizeof(longpath) - 1] = 0;
	assert_int_equal(tappd_endpoint_parse(&ep, longpath), TEELIZA_ERR_INVALID);
	assert_non_null(strstr(teeliza_errmsg(), "longer than"));
	assert_string_equal(ep.socket, "");
}

/* ---- exact request bytes ---- */

static json_t *wire_sample(json_t *vec, size_t i)
{
	json_t *s = json_array_get(json_object_get(vec, "wire_samples"), i);

	assert_non_null(s);
	return s;
}

/* The recorded request must be the SDK's byte for byte: method, path, no query, headers, body. */
static void assert_request_is(struct fake *f, json_t *sample)
{
	json_t *h = json_object_get(sample, "headers");
	const char *body = json_string_value(json_object_get(sample, "body"));

	assert_int_equal(f->count, 1);
	assert_string_equal(f->last.method, json_string_value(json_object_get(sample, "method")));
	assert_string_equal(f->last.path, json_string_value(json_object_get(sample, "path")));
	assert_string_equal(json_string_value(json_object_get(sample, "query")), "");
	assert_int_equal(f->last.nargs, 0);
	assert_string_equal(f->last.content_type, json_string_value(json_object_get(h, "content-type")));
	assert_string_equal(f->last.content_length, json_string_value(json_object_get(h, "content-length")));
	assert_int_equal(f->last.body_len, strlen(body));
	assert_memory_equal(f->last.body, body, f->last.body_len);
	f->count = 0;
}

static char *derive_reply(json_t *vec)
{
	json_t *fixed = json_object_get(vec, "derive_fixed_openssl");
	json_t *r = json_pack("{s:O,s:[s,s]}", "key", json_object_get(fixed, "pem"), "certificate_chain",
	                      "-----BEGIN CERTIFICATE-----\nleaf\n-----END CERTIFICATE-----\n",
	                      "-----BEGIN CERTIFICATE-----\nca\n-----END CERTIFICATE-----\n");
	char *s;

	assert_non_null(r);
	s = json_dumps(r, JSON_COMPACT);
	json_decref(r);
	return s;
}

/* A reply with a short known quote and the replay_small event log as a string. */
static char *quote_reply(json_t *vec, const char *quote_hex)
{
	char *log = json_dumps(json_object_get(json_object_get(vec, "replay_small"), "event_log"), JSON_COMPACT);
	json_t *r;
	char *s;

	assert_non_null(log);
	r = json_pack("{s:s,s:s}", "quote", quote_hex, "event_log", log);
	s = json_dumps(r, JSON_COMPACT);
	json_decref(r);
	free(log);
	return s;
}

static void check_wire(bool unix_socket)
{
	json_t *vec = vector_json("plugin-tee.json");
	json_t *fixed = json_object_get(vec, "derive_fixed_openssl");
	json_t *raw = json_object_get(vec, "raw");
	const char *att_json = json_string_value(json_object_get(vec, "derive_attestation_json"));
	struct fake *f = fake_start(unix_socket);
	char *dreply = derive_reply(vec), *qreply = quote_reply(vec, "0x0400deadbeef");
	tappd_client c;
	tappd_derive_key_response dk;
	tappd_quote_response q;
	uint8_t *in;
	size_t in_len, i;
	char *log_expected;

	fake_client(&c, f);

	/* deriveKey('my-wallet-salt', 'solana') */
	fake_reply(f, 200, dreply);
	assert_int_equal(tappd_derive_key(&dk, &c, "my-wallet-salt", "solana", NULL, 0), TEELIZA_OK);
	assert_request_is(f, wire_sample(vec, 0));
	assert_string_equal((char *)dk.key.data, json_string_value(json_object_get(fixed, "pem")));
	assert_true(dk.key.secret);
	assert_int_equal(dk.chain_len, 2);
	assert_non_null(strstr((char *)dk.certificate_chain[1].data, "\nca\n"));
	tappd_derive_key_response_free(&dk);
	assert_null(dk.key.data);

	/* deriveKey('onlypath'): the subject defaults to the path */
	assert_int_equal(tappd_derive_key(&dk, &c, "onlypath", NULL, NULL, 0), TEELIZA_OK);
	assert_request_is(f, wire_sample(vec, 1));
	tappd_derive_key_response_free(&dk);
	assert_int_equal(tappd_derive_key(&dk, &c, "onlypath", "", NULL, 0), TEELIZA_OK);
	assert_request_is(f, wire_sample(vec, 1));
	tappd_derive_key_response_free(&dk);

	/* tdxQuote(attestation JSON) with no hash algorithm: the plugin's derive-key quote */
	fake_reply(f, 200, qreply);
	assert_int_equal(tappd_tdx_quote(&q, &c, (const uint8_t *)att_json, strlen(att_json), NULL, NULL), TEELIZA_OK);
	assert_request_is(f, wire_sample(vec, 2));
	assert_hex_equal(q.quote.data, q.quote.len, "0400deadbeef");
	log_expected = json_dumps(json_object_get(json_object_get(vec, "replay_small"), "event_log"), JSON_COMPACT);
	assert_string_equal((char *)q.event_log.data, log_expected);
	free(log_expected);
	assert_string_equal(q.hash_algorithm, "");
	tappd_quote_response_free(&q);

	/* tdxQuote(raw) as SDK 0.1.7: short data padded at the start (sample 4), full 64 bytes as is (5, 6) */
	for (i = 0; i < json_array_size(raw); i++) {
		json_t *r = json_array_get(raw, i);
		size_t sample;

		if (strcmp(json_string_value(json_object_get(r, "sdk")), "0.1.7") != 0 ||
		    json_object_get(r, "error") != NULL)
			continue;
		in = hex_alloc(json_string_value(json_object_get(r, "input_hex")), &in_len);
		sample = in_len < 64 ? 4 : 5;
		assert_int_equal(tappd_tdx_quote(&q, &c, in, in_len, "raw", NULL), TEELIZA_OK);
		assert_request_is(f, wire_sample(vec, sample));
		tappd_quote_response_free(&q);
		free(in);
	}

	free(dreply);
	free(qreply);
	fake_stop(f);
	json_decref(vec);
}

static void test_wire_tcp(void **state)
{
	(void)state;
	check_wire(false);
}

static void test_wire_unix(void **state)
{
	(void)state;
	check_wire(true);
}

/* Bodies outside the recorded samples: alt_names, hash algorithm + prefix, escaping, true byte length. */
static void test_request_bodies(void **state)
{
	struct fake *f = fake_start(false);
	tappd_client c;
	tappd_derive_key_response dk;
	tappd_quote_response q;
	const char *alts[] = {"a.example", "b"};
	/* JSON.stringify({path:"a\"b\\c\n\x01\x7f/é😀\u2028"}) as node prints it */
	const char *nasty = "a\"b\\c\n\x01\x7f/\xc3\xa9\xf0\x9f\x98\x80\xe2\x80\xa8";
	const char *nasty_json = "{\"path\":\"a\\\"b\\\\c\\n\\u0001\x7f/\xc3\xa9\xf0\x9f\x98\x80\xe2\x80\xa8\","
	                         "\"subject\":\"s\"}";
	char clen[16];

	(void)state;
	fake_client(&c, f);
	fake_reply(f, 200, "{\"key\":\"k\"}");
	assert_int_equal(tappd_derive_key(&dk, &c, "p", "s", alts, 2), TEELIZA_OK);
	assert_string_equal(f->last.body, "{\"path\":\"p\",\"subject\":\"s\",\"alt_names\":[\"a.example\",\"b\"]}");
	assert_int_equal(dk.chain_len, 0);
	tappd_derive_key_response_free(&dk);

	assert_int_equal(tappd_derive_key(&dk, &c, nasty, "s", NULL, 0), TEELIZA_OK);
	assert_string_equal(f->last.body, nasty_json);
	/* The true byte length, not the UTF-16 unit count the SDK's unix path sends. */
	snprintf(clen, sizeof(clen), "%zu", strlen(nasty_json));
	assert_string_equal(f->last.content_length, clen);
	tappd_derive_key_response_free(&dk);

	f->count = 0;
	assert_int_equal(tappd_derive_key(&dk, &c, "\xff\xfe", "s", NULL, 0), TEELIZA_ERR_INVALID);
	assert_non_null(strstr(teeliza_errmsg(), "UTF-8"));
	assert_int_equal(tappd_derive_key(&dk, &c, "p", "\xed\xa0\x80", NULL, 0), TEELIZA_ERR_INVALID);
	assert_int_equal(f->count, 0);

	fake_reply(f, 200, "{\"quote\":\"0x00\",\"event_log\":\"[]\",\"hash_algorithm\":\"sha256\",\"prefix\":\"app-data\"}");
	assert_int_equal(tappd_tdx_quote(&q, &c, (const uint8_t *)"hello", 5, "sha256", "my-tag"), TEELIZA_OK);
	assert_string_equal(f->last.body,
	                    "{\"report_data\":\"68656c6c6f\",\"hash_algorithm\":\"sha256\",\"prefix\":\"my-tag\"}");
	assert_string_equal(q.hash_algorithm, "sha256");
	assert_string_equal(q.prefix, "app-data");
	tappd_quote_response_free(&q);
	assert_int_equal(tappd_tdx_quote(&q, &c, NULL, 0, NULL, NULL), TEELIZA_OK);
	assert_string_equal(f->last.body, "{\"report_data\":\"\"}");
	tappd_quote_response_free(&q);

	f->count = 0;
	assert_int_equal(tappd_raw_quote(&q, &c, (const uint8_t *)"0123456789012345678901234567890123456789012345678901234567890123"),
	                 TEELIZA_OK);
	assert_string_equal(f->last.path, "/prpc/Tappd.RawQuote");
	assert_int_equal(strlen(f->last.body), strlen("{\"report_data\":\"\"}") + 128);
	tappd_quote_response_free(&q);

	fake_reply(f, 200, "{\"app_id\":\"0x01\",\"tcb_info\":\"{}\"}");
	{
		teeliza_buf info;

		assert_int_equal(tappd_info(&info, &c), TEELIZA_OK);
		assert_string_equal(f->last.path, "/prpc/Tappd.Info");
		assert_string_equal(f->last.body, "{}");
		assert_string_equal((char *)info.data, "{\"app_id\":\"0x01\",\"tcb_info\":\"{}\"}");
		teeliza_buf_free(&info);
		assert_int_equal(tappd_version(&info, &c), TEELIZA_OK);
		assert_string_equal(f->last.path, "/prpc/Tappd.Version");
		teeliza_buf_free(&info);
	}
	fake_stop(f);
}

static void test_raw_too_large(void **state)
{
	json_t *vec = vector_json("plugin-tee.json");
	json_t *raw = json_object_get(vec, "raw");
	struct fake *f = fake_start(false);
	tappd_client c;
	tappd_quote_response q;
	uint8_t big[65];
	size_t i;
	bool checked = false;

	(void)state;
	fake_client(&c, f);
	memset(big, 1, sizeof(big));
	assert_int_equal(tappd_tdx_quote(&q, &c, big, sizeof(big), "raw", NULL), TEELIZA_ERR_INVALID);
	for (i = 0; i < json_array_size(raw); i++) {
		json_t *r = json_array_get(raw, i);

		if (strcmp(json_string_value(json_object_get(r, "sdk")), "0.1.7") == 0 && json_object_get(r, "error")) {
			assert_string_equal(teeliza_errmsg(), json_string_value(json_object_get(r, "error")));
			checked = true;
		}
	}
	assert_true(checked);
	assert_int_equal(f->count, 0);
	assert_null(q.quote.data);
	fake_stop(f);
	json_decref(vec);
}

/* ---- failures ---- */

static void test_connect_refused(void **state)
{
	tappd_endpoint ep;
	tappd_client c;
	tappd_derive_key_response dk;
	uint16_t port;
	char url[64];
	int fd;

	(void)state;
	/* A port that was just free and has no listener now. */
	fd = fakehttp_listen_tcp(&port);
	close(fd);
	snprintf(url, sizeof(url), "http://127.0.0.1:%u", port);
	assert_int_equal(tappd_endpoint_parse(&ep, url), TEELIZA_OK);
	tappd_client_init(&c, &ep);
	assert_int_equal(tappd_derive_key(&dk, &c, "p", "s", NULL, 0), TEELIZA_ERR_CONNECT);
	assert_non_null(strstr(teeliza_errmsg(), url));
	assert_non_null(strstr(teeliza_errmsg(), "/prpc/Tappd.DeriveKey"));
	assert_non_null(strstr(teeliza_errmsg(), "refused"));
	assert_null(dk.key.data);

	assert_int_equal(tappd_endpoint_parse(&ep, "/nonexistent/teeliza/tappd.sock"), TEELIZA_OK);
	tappd_client_init(&c, &ep);
	assert_int_equal(tappd_derive_key(&dk, &c, "p", "s", NULL, 0), TEELIZA_ERR_CONNECT);
	assert_non_null(strstr(teeliza_errmsg(), "unix socket /nonexistent/teeliza/tappd.sock"));
	assert_non_null(strstr(teeliza_errmsg(), "No such file"));
}

static void test_bad_replies(void **state)
{
	struct fake *f = fake_start(true);
	tappd_client c;
	tappd_derive_key_response dk;
	tappd_quote_response q;
	teeliza_buf info;

	(void)state;
	fake_client(&c, f);

	fake_reply(f, 502, "<html>Bad Gateway</html>");
	assert_int_equal(tappd_tdx_quote(&q, &c, (const uint8_t *)"x", 1, NULL, NULL), TEELIZA_ERR_PROTOCOL);
	assert_non_null(strstr(teeliza_errmsg(), "Failed to parse response"));
	assert_non_null(strstr(teeliza_errmsg(), "HTTP 502"));
	assert_non_null(strstr(teeliza_errmsg(), "<html>Bad Gateway"));
	assert_non_null(strstr(teeliza_errmsg(), f->srv.sock_path));
	assert_null(q.quote.data);
	/* A DeriveKey reply might hold key material: never quoted back. */
	fake_reply(f, 200, "{\"key\":\"-----BEGIN PRIVATE KEY-----\nMIGH");
	assert_int_equal(tappd_derive_key(&dk, &c, "p", "s", NULL, 0), TEELIZA_ERR_PROTOCOL);
	assert_null(strstr(teeliza_errmsg(), "MIGH"));
	fake_reply(f, 200, "");
	assert_int_equal(tappd_info(&info, &c), TEELIZA_ERR_PROTOCOL);
	assert_null(info.data);
	fake_reply(f, 200, "[1,2]");
	assert_int_equal(tappd_info(&info, &c), TEELIZA_ERR_PROTOCOL);
	assert_non_null(strstr(teeliza_errmsg(), "not a JSON object"));

	/* tappd's errors: 400 with pretty JSON, 404 compact */
	fake_reply(f, 400, "{\n  \"error\": \"invalid hash algorithm\"\n}");
	assert_int_equal(tappd_tdx_quote(&q, &c, (const uint8_t *)"x", 1, "sha1", NULL), TEELIZA_ERR_REMOTE);
	assert_true(strncmp(teeliza_errmsg(), "invalid hash algorithm", 22) == 0);
	fake_reply(f, 404, "{\"error\":\"method Not Found\"}");
	assert_int_equal(tappd_info(&info, &c), TEELIZA_ERR_REMOTE);
	assert_true(strncmp(teeliza_errmsg(), "method Not Found", 16) == 0);
	/* The SDK checks only for the key: even a 200 with "error" is an error. */
	fake_reply(f, 200, "{\"error\":{\"code\":7}}");
	assert_int_equal(tappd_derive_key(&dk, &c, "p", "s", NULL, 0), TEELIZA_ERR_REMOTE);
	assert_non_null(strstr(teeliza_errmsg(), "{\"code\":7}"));
	fake_reply(f, 500, "{\"ok\":true}");
	assert_int_equal(tappd_info(&info, &c), TEELIZA_ERR_PROTOCOL);
	assert_non_null(strstr(teeliza_errmsg(), "HTTP 500"));

	/* missing or mistyped fields */
	fake_reply(f, 200, "{\"certificate_chain\":[]}");
	assert_int_equal(tappd_derive_key(&dk, &c, "p", "s", NULL, 0), TEELIZA_ERR_PROTOCOL);
	assert_non_null(strstr(teeliza_errmsg(), "\"key\""));
	assert_null(dk.key.data);
	fake_reply(f, 200, "{\"key\":\"\"}");
	assert_int_equal(tappd_derive_key(&dk, &c, "p", "s", NULL, 0), TEELIZA_ERR_PROTOCOL);
	fake_reply(f, 200, "{\"key\":\"k\",\"certificate_chain\":\"pem\"}");
	assert_int_equal(tappd_derive_key(&dk, &c, "p", "s", NULL, 0), TEELIZA_ERR_PROTOCOL);
	assert_null(dk.key.data);
	fake_reply(f, 200, "{\"key\":\"k\",\"certificate_chain\":[\"a\",3]}");
	assert_int_equal(tappd_derive_key(&dk, &c, "p", "s", NULL, 0), TEELIZA_ERR_PROTOCOL);
	assert_non_null(strstr(teeliza_errmsg(), "certificate_chain[1]"));
	assert_null(dk.certificate_chain);
	fake_reply(f, 200, "{\"quote\":\"0x00\"}");
	assert_int_equal(tappd_tdx_quote(&q, &c, NULL, 0, NULL, NULL), TEELIZA_ERR_PROTOCOL);
	assert_non_null(strstr(teeliza_errmsg(), "\"event_log\""));
	fake_reply(f, 200, "{\"event_log\":\"[]\"}");
	assert_int_equal(tappd_tdx_quote(&q, &c, NULL, 0, NULL, NULL), TEELIZA_ERR_PROTOCOL);
	assert_non_null(strstr(teeliza_errmsg(), "\"quote\""));
	fake_reply(f, 200, "{\"quote\":\"0xzz\",\"event_log\":\"[]\"}");
	assert_int_equal(tappd_tdx_quote(&q, &c, NULL, 0, NULL, NULL), TEELIZA_ERR_PROTOCOL);
	assert_non_null(strstr(teeliza_errmsg(), "not hex"));
	fake_reply(f, 200, "{\"quote\":\"0x\",\"event_log\":\"[]\"}");
	assert_int_equal(tappd_tdx_quote(&q, &c, NULL, 0, NULL, NULL), TEELIZA_ERR_PROTOCOL);
	fake_reply(f, 200, "{\"quote\":1,\"event_log\":\"[]\"}");
	assert_int_equal(tappd_tdx_quote(&q, &c, NULL, 0, NULL, NULL), TEELIZA_ERR_PROTOCOL);
	assert_null(q.quote.data);
	assert_null(q.event_log.data);
	fake_stop(f);
}

static long elapsed_ms(const struct timespec *t0)
{
	struct timespec t1;

	clock_gettime(CLOCK_MONOTONIC, &t1);
	return (t1.tv_sec - t0->tv_sec) * 1000L + (t1.tv_nsec - t0->tv_nsec) / 1000000L;
}

static void test_timeout(void **state)
{
	struct fake *f = fake_start(false);
	tappd_client c;
	tappd_quote_response q;
	struct timespec t0;
	long ms;

	(void)state;
	fake_client(&c, f);
	fake_reply(f, 200, "{\"quote\":\"0x00\",\"event_log\":\"[]\"}");
	f->sleep_ms = 1500;
	c.timeout_ms = 200;
	clock_gettime(CLOCK_MONOTONIC, &t0);
	assert_int_equal(tappd_tdx_quote(&q, &c, NULL, 0, NULL, NULL), TEELIZA_ERR_TIMEOUT);
	ms = elapsed_ms(&t0);
	assert_true(ms >= 150 && ms < 1200);
	assert_non_null(strstr(teeliza_errmsg(), "200 ms"));
	assert_non_null(strstr(teeliza_errmsg(), "/prpc/Tappd.TdxQuote"));
	fake_stop(f);
}

static void check_oversize(bool chunked)
{
	struct fake *f = fake_start(false);
	tappd_client c;
	teeliza_buf info;
	char *big = malloc(20001);
	size_t i;

	assert_non_null(big);
	big[0] = '{';
	big[1] = '"';
	big[2] = 'a';
	big[3] = '"';
	big[4] = ':';
	big[5] = '"';
	for (i = 6; i < 19998; i++)
		big[i] = 'x';
	big[19998] = '"';
	big[19999] = '}';
	big[20000] = 0;
	fake_client(&c, f);
	fake_reply(f, 200, big);
	f->chunked = chunked;
	c.max_response = 20000; /* exactly fits */
	assert_int_equal(tappd_info(&info, &c), TEELIZA_OK);
	assert_int_equal(info.len, 20000);
	teeliza_buf_free(&info);
	c.max_response = 19999;
	assert_int_equal(tappd_info(&info, &c), TEELIZA_ERR_TOO_LARGE);
	assert_non_null(strstr(teeliza_errmsg(), "19999"));
	assert_non_null(strstr(teeliza_errmsg(), "/prpc/Tappd.Info"));
	assert_null(info.data);
	fake_stop(f);
	free(big);
}

static void test_oversize(void **state)
{
	(void)state;
	check_oversize(false);
	check_oversize(true);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_endpoint_modes),
		cmocka_unit_test(test_endpoint_invalid_mode),
		cmocka_unit_test(test_connect_log_line),
		cmocka_unit_test(test_endpoint_override),
		cmocka_unit_test(test_endpoint_parse_errors),
		cmocka_unit_test(test_wire_tcp),
		cmocka_unit_test(test_wire_unix),
		cmocka_unit_test(test_request_bodies),
		cmocka_unit_test(test_raw_too_large),
		cmocka_unit_test(test_connect_refused),
		cmocka_unit_test(test_bad_replies),
		cmocka_unit_test(test_timeout),
		cmocka_unit_test(test_oversize),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
