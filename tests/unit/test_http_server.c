/*
 * The generic HTTP server (http_server_*): what a handler sees (method,
 * path, raw query, headers, binary body, peer), what it can send (status,
 * content type, extra headers, empty and secret bodies), the body cap,
 * keep-alive, and configuration errors. Real loopback requests via libcurl.
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <cmocka.h>

#include "testutil.h"
#include "teeliza/http.h"

#include <curl/curl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

static char tmp_dir[64];
static char sock_path[128];

/*
 * /echo returns the body as is; /status/NNN answers NNN with an empty body;
 * anything else describes the request as JSON.
 */
static void handler(http_server_reply *reply, const http_server_request *req, void *ctx)
{
	json_t *j;
	char *text;
	teeliza_err err = TEELIZA_OK;

	(void)ctx;
	if (strcmp(req->path, "/echo") == 0) {
		reply->content_type = "application/octet-stream";
		reply->body.secret = strcmp(req->query, "secret") == 0;
		err = teeliza_buf_append(&reply->body, req->body, req->body_len);
	} else if (strncmp(req->path, "/status/", 8) == 0) {
		reply->status = (unsigned)strtoul(req->path + 8, NULL, 10);
	} else {
		j = json_pack("{s:s, s:s, s:s, s:s, s:s, s:I, s:s, s:b}", "method", req->method, "path", req->path, "query",
		              req->query, "content_type", req->content_type, "authorization", req->authorization,
		              "body_len", (json_int_t)req->body_len, "remote", req->remote, "body_nul_terminated",
		              req->body[req->body_len] == 0);
		text = json_dumps(j, JSON_COMPACT);
		err = teeliza_buf_append_str(&reply->body, text);
		free(text);
		json_decref(j);
		reply->extra_headers[0] = "X-Teeliza-Test: yes";
		reply->extra_headers[1] = "Cache-Control: no-store";
	}
	if (err)
		reply->status = 500;
}

struct reply {
	long status;
	teeliza_buf body;
	teeliza_buf headers;
};

static size_t on_data(char *p, size_t size, size_t n, void *ud)
{
	return teeliza_buf_append(ud, p, size * n) == TEELIZA_OK ? size * n : 0;
}

static CURLcode request(struct reply *r, CURL *reuse, const char *url, const char *unix_path, const char *body,
                        size_t body_len, const char *extra_header)
{
	CURL *c = reuse != NULL ? reuse : curl_easy_init();
	struct curl_slist *h = NULL;
	CURLcode rc;

	teeliza_buf_init(&r->body, 16 << 20);
	teeliza_buf_init(&r->headers, 1 << 20);
	r->status = 0;
	curl_easy_setopt(c, CURLOPT_URL, url);
	curl_easy_setopt(c, CURLOPT_NOPROXY, "*");
	curl_easy_setopt(c, CURLOPT_TIMEOUT_MS, 20000L);
	curl_easy_setopt(c, CURLOPT_WRITEFUNCTION, on_data);
	curl_easy_setopt(c, CURLOPT_WRITEDATA, &r->body);
	curl_easy_setopt(c, CURLOPT_HEADERFUNCTION, on_data);
	curl_easy_setopt(c, CURLOPT_HEADERDATA, &r->headers);
	if (unix_path != NULL)
		curl_easy_setopt(c, CURLOPT_UNIX_SOCKET_PATH, unix_path);
	if (body != NULL) {
		curl_easy_setopt(c, CURLOPT_POSTFIELDS, body);
		curl_easy_setopt(c, CURLOPT_POSTFIELDSIZE_LARGE, (curl_off_t)body_len);
	}
	if (extra_header != NULL)
		h = curl_slist_append(h, extra_header);
	curl_easy_setopt(c, CURLOPT_HTTPHEADER, h);
	rc = curl_easy_perform(c);
	curl_easy_getinfo(c, CURLINFO_RESPONSE_CODE, &r->status);
	curl_slist_free_all(h);
	if (reuse == NULL)
		curl_easy_cleanup(c);
	return rc;
}

static void reply_free(struct reply *r)
{
	teeliza_buf_free(&r->body);
	teeliza_buf_free(&r->headers);
}

static http_server *start(size_t max_body, bool with_unix)
{
	http_server_config cfg;
	http_server *s = NULL;

	memset(&cfg, 0, sizeof(cfg));
	cfg.host = "127.0.0.1";
	cfg.unix_socket = with_unix ? sock_path : NULL;
	cfg.unix_mode = 0600;
	cfg.max_body = max_body;
	cfg.handler = handler;
	if (http_server_start(&s, &cfg) != TEELIZA_OK)
		fail_msg("http_server_start: %s", teeliza_errmsg());
	assert_true(http_server_port(s) != 0);
	return s;
}

static int setup(void **state)
{
	(void)state;
	signal(SIGPIPE, SIG_IGN);
	curl_global_init(CURL_GLOBAL_DEFAULT);
	snprintf(tmp_dir, sizeof(tmp_dir), "/tmp/teeliza-httptest-XXXXXX");
	assert_non_null(mkdtemp(tmp_dir));
	snprintf(sock_path, sizeof(sock_path), "%s/http.sock", tmp_dir);
	return 0;
}

static int teardown(void **state)
{
	(void)state;
	unlink(sock_path);
	rmdir(tmp_dir);
	curl_global_cleanup();
	return 0;
}

static void test_request_fields(void **state)
{
	http_server *s = start(0, true);
	struct reply r;
	char url[256];
	json_t *j;

	(void)state;
	snprintf(url, sizeof(url), "http://127.0.0.1:%u/a/b?x=1&y=%%20z&json", http_server_port(s));
	assert_int_equal(request(&r, NULL, url, NULL, "{\"k\":1}", 7, "Authorization: Bearer t0k"), CURLE_OK);
	assert_int_equal(r.status, 200);
	j = json_loads((const char *)r.body.data, 0, NULL);
	assert_non_null(j);
	assert_string_equal(json_string_value(json_object_get(j, "method")), "POST");
	assert_string_equal(json_string_value(json_object_get(j, "path")), "/a/b");
	assert_string_equal(json_string_value(json_object_get(j, "query")), "x=1&y=%20z&json"); /* raw */
	assert_string_equal(json_string_value(json_object_get(j, "content_type")), "application/x-www-form-urlencoded");
	assert_string_equal(json_string_value(json_object_get(j, "authorization")), "Bearer t0k");
	assert_int_equal(json_integer_value(json_object_get(j, "body_len")), 7);
	assert_string_equal(json_string_value(json_object_get(j, "remote")), "127.0.0.1");
	assert_true(json_is_true(json_object_get(j, "body_nul_terminated")));
	assert_non_null(strstr((const char *)r.headers.data, "Content-Type: application/json\r\n"));
	assert_non_null(strstr((const char *)r.headers.data, "X-Teeliza-Test: yes\r\n"));
	assert_non_null(strstr((const char *)r.headers.data, "Cache-Control: no-store\r\n"));
	json_decref(j);
	reply_free(&r);

	/* GET without a query over the unix socket */
	assert_int_equal(request(&r, NULL, "http://localhost/plain", sock_path, NULL, 0, NULL), CURLE_OK);
	j = json_loads((const char *)r.body.data, 0, NULL);
	assert_string_equal(json_string_value(json_object_get(j, "method")), "GET");
	assert_string_equal(json_string_value(json_object_get(j, "query")), "");
	assert_string_equal(json_string_value(json_object_get(j, "content_type")), "");
	assert_string_equal(json_string_value(json_object_get(j, "authorization")), "");
	assert_int_equal(json_integer_value(json_object_get(j, "body_len")), 0);
	assert_string_equal(json_string_value(json_object_get(j, "remote")), "unix");
	json_decref(j);
	reply_free(&r);
	http_server_stop(s);
	assert_int_equal(access(sock_path, F_OK), -1);
}

static void test_binary_bodies_and_status(void **state)
{
	http_server *s = start(0, false);
	struct reply r;
	char url[256];
	uint8_t body[3000];
	size_t i;

	(void)state;
	for (i = 0; i < sizeof(body); i++)
		body[i] = (uint8_t)(i * 7);
	snprintf(url, sizeof(url), "http://127.0.0.1:%u/echo", http_server_port(s));
	assert_int_equal(request(&r, NULL, url, NULL, (const char *)body, sizeof(body), NULL), CURLE_OK);
	assert_int_equal(r.status, 200);
	assert_int_equal(r.body.len, sizeof(body));
	assert_memory_equal(r.body.data, body, sizeof(body));
	assert_non_null(strstr((const char *)r.headers.data, "Content-Type: application/octet-stream\r\n"));
	reply_free(&r);

	/* a body the handler marked secret is sent the same way (and wiped afterwards) */
	snprintf(url, sizeof(url), "http://127.0.0.1:%u/echo?secret", http_server_port(s));
	assert_int_equal(request(&r, NULL, url, NULL, "s3cr3t", 6, NULL), CURLE_OK);
	assert_int_equal(r.body.len, 6);
	assert_memory_equal(r.body.data, "s3cr3t", 6);
	reply_free(&r);

	snprintf(url, sizeof(url), "http://127.0.0.1:%u/status/204", http_server_port(s));
	assert_int_equal(request(&r, NULL, url, NULL, NULL, 0, NULL), CURLE_OK);
	assert_int_equal(r.status, 204);
	assert_int_equal(r.body.len, 0);
	reply_free(&r);
	snprintf(url, sizeof(url), "http://127.0.0.1:%u/status/7", http_server_port(s));
	assert_int_equal(request(&r, NULL, url, NULL, NULL, 0, NULL), CURLE_OK);
	assert_int_equal(r.status, 500); /* not an HTTP status: the handler is wrong */
	reply_free(&r);
	http_server_stop(s);
}

static void test_body_cap(void **state)
{
	http_server *s = start(1000, false);
	struct reply r;
	char url[256], body[2000];

	(void)state;
	memset(body, 'x', sizeof(body));
	snprintf(url, sizeof(url), "http://127.0.0.1:%u/echo", http_server_port(s));
	assert_int_equal(request(&r, NULL, url, NULL, body, 1000, NULL), CURLE_OK);
	assert_int_equal(r.status, 200);
	assert_int_equal(r.body.len, 1000);
	reply_free(&r);
	assert_int_equal(request(&r, NULL, url, NULL, body, 1001, NULL), CURLE_OK);
	assert_int_equal(r.status, 413);
	assert_string_equal((const char *)r.body.data, "{\"error\":\"request body too large\"}");
	reply_free(&r);
	/* chunked: no length announced, cut while reading */
	assert_int_equal(request(&r, NULL, url, NULL, body, sizeof(body), "Transfer-Encoding: chunked"), CURLE_OK);
	assert_int_equal(r.status, 413);
	reply_free(&r);
	assert_int_equal(request(&r, NULL, url, NULL, body, 999, "Transfer-Encoding: chunked"), CURLE_OK);
	assert_int_equal(r.status, 200);
	assert_int_equal(r.body.len, 999);
	reply_free(&r);
	http_server_stop(s);
}

static void test_keep_alive(void **state)
{
	http_server *s = start(0, false);
	CURL *c = curl_easy_init();
	struct reply r;
	char url[256];
	long connects, total = 0;
	int i;

	(void)state;
	snprintf(url, sizeof(url), "http://127.0.0.1:%u/x", http_server_port(s));
	for (i = 0; i < 50; i++) {
		assert_int_equal(request(&r, c, url, NULL, "{}", 2, NULL), CURLE_OK);
		assert_int_equal(r.status, 200);
		curl_easy_getinfo(c, CURLINFO_NUM_CONNECTS, &connects);
		total += connects;
		reply_free(&r);
	}
	assert_int_equal(total, 1); /* one connection for all 50 requests */
	curl_easy_cleanup(c);
	http_server_stop(s);
}

static void test_config_errors(void **state)
{
	http_server_config cfg;
	http_server *s = (http_server *)&cfg, *first;
	char long_path[200];

	(void)state;
	memset(&cfg, 0, sizeof(cfg));
	cfg.handler = handler;
	assert_int_equal(http_server_start(&s, &cfg), TEELIZA_ERR_CONFIG);
	assert_null(s);
	memset(long_path, 'a', sizeof(long_path) - 1);
	long_path[sizeof(long_path) - 1] = 0;
	cfg.unix_socket = long_path;
	assert_int_equal(http_server_start(&s, &cfg), TEELIZA_ERR_CONFIG);
	assert_non_null(strstr(teeliza_errmsg(), "unix socket path"));
	cfg.unix_socket = NULL;
	cfg.host = "not an address";
	assert_int_equal(http_server_start(&s, &cfg), TEELIZA_ERR_CONFIG);
	assert_string_equal(teeliza_errmsg(), "cannot listen on not an address:0: not an IP address");
	cfg.host = "192.0.2.1"; /* TEST-NET: not an address of this machine */
	assert_int_equal(http_server_start(&s, &cfg), TEELIZA_ERR_IO);
	assert_non_null(strstr(teeliza_errmsg(), "Cannot assign requested address"));
	first = start(0, false);
	cfg.host = "127.0.0.1";
	cfg.port = http_server_port(first);
	assert_int_equal(http_server_start(&s, &cfg), TEELIZA_ERR_IO);
	assert_non_null(strstr(teeliza_errmsg(), "Address already in use"));
	http_server_stop(first);
	cfg.host = "localhost"; /* the one name accepted: 127.0.0.1 without asking DNS */
	cfg.port = 0;
	assert_int_equal(http_server_start(&s, &cfg), TEELIZA_OK);
	assert_true(http_server_port(s) != 0);
	http_server_stop(s);
	http_server_stop(NULL);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_request_fields),
		cmocka_unit_test(test_binary_bodies_and_status),
		cmocka_unit_test(test_body_cap),
		cmocka_unit_test(test_keep_alive),
		cmocka_unit_test(test_config_errors),
	};

	return cmocka_run_group_tests(tests, setup, teardown);
}
