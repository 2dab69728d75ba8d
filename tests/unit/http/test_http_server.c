/*
 * The generic HTTP server (http_server_*): what a handler sees (method,
 * path, raw query, headers, binary body, peer), what it can send (status,
 * content type, extra headers, empty and secret bodies), the body cap,
 * keep-alive, configuration errors, the headers every reply carries, and
 * the defences against clients that hold it: the whole-request deadline, the
 * connection limits and the rate limit. Real loopback requests via libcurl
 * and raw sockets (clients bound to 127.x.y.z addresses to be many clients).
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <cmocka.h>

#include "testutil.h"
#include "teeliza/http/http.h"

#include <arpa/inet.h>
#include <curl/curl.h>
#include <errno.h>
#include <netinet/in.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <time.h>
#include <unistd.h>

static char tmp_dir[64];
static char sock_path[128];

/*
 * /echo returns the body as is; /status/NNN answers NNN with an empty body;
 * /html is a page, /html-csp one with its own policy; /sleep/MS answers
 * after MS milliseconds; anything else describes the request as JSON.
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
	} else if (strcmp(req->path, "/html") == 0 || strcmp(req->path, "/html-csp") == 0) {
		reply->content_type = "text/html; charset=utf-8";
		err = teeliza_buf_append_str(&reply->body, "<p>page</p>");
		if (strcmp(req->path, "/html-csp") == 0) {
			reply->extra_headers[2] = "Content-Security-Policy: default-src 'self'";
			reply->extra_headers[5] = "X-Content-Type-Options: nosniff";
		}
	} else if (strncmp(req->path, "/sleep/", 7) == 0) {
		usleep((useconds_t)strtoul(req->path + 7, NULL, 10) * 1000u);
	} else {
		j = json_pack("{s:s, s:s, s:s, s:s, s:s, s:I, s:s, s:b, s:b}", "method", req->method, "path", req->path,
		              "query", req->query, "content_type", req->content_type, "authorization", req->authorization,
		              "body_len", (json_int_t)req->body_len, "remote", req->remote, "body_nul_terminated",
		              req->body[req->body_len] == 0, "remote_local", req->remote_local);
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
	assert_true(json_is_true(json_object_get(j, "remote_local")));
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
	assert_true(json_is_true(json_object_get(j, "remote_local")));
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

/* ---- headers every reply carries ---- */

static const char *const server_headers[] = {"Access-Control-Allow-Origin: *", "X-Teeliza-Test: server", NULL};

static http_server *start_with(http_server_config *cfg)
{
	http_server *s = NULL;

	cfg->host = "127.0.0.1";
	cfg->handler = handler;
	if (http_server_start(&s, cfg) != TEELIZA_OK)
		fail_msg("http_server_start: %s", teeliza_errmsg());
	return s;
}

/* How many times line (a whole header line, CRLF excluded) appears in headers. */
static int header_count(const struct reply *r, const char *line)
{
	const char *p = (const char *)r->headers.data;
	size_t n = strlen(line);
	int count = 0;

	while (p != NULL && (p = strstr(p, line)) != NULL) {
		if ((p == (const char *)r->headers.data || p[-1] == '\n') && p[n] == '\r')
			count++;
		p += n;
	}
	return count;
}

static void test_common_headers(void **state)
{
	http_server_config cfg;
	http_server *s;
	struct reply r;
	char url[256], body[64];

	(void)state;
	memset(&cfg, 0, sizeof(cfg));
	cfg.max_body = 16;
	cfg.headers = server_headers;
	s = start_with(&cfg);
	/* a JSON reply: the configured headers, but the handler's own value wins; nosniff once */
	snprintf(url, sizeof(url), "http://127.0.0.1:%u/x", http_server_port(s));
	assert_int_equal(request(&r, NULL, url, NULL, NULL, 0, NULL), CURLE_OK);
	assert_int_equal(header_count(&r, "X-Content-Type-Options: nosniff"), 1);
	assert_int_equal(header_count(&r, "Access-Control-Allow-Origin: *"), 1);
	assert_int_equal(header_count(&r, "X-Teeliza-Test: yes"), 1);
	assert_int_equal(header_count(&r, "X-Teeliza-Test: server"), 0);
	assert_null(strstr((const char *)r.headers.data, "Content-Security-Policy"));
	reply_free(&r);
	/* HTML: a policy that loads nothing and forbids framing */
	snprintf(url, sizeof(url), "http://127.0.0.1:%u/html", http_server_port(s));
	assert_int_equal(request(&r, NULL, url, NULL, NULL, 0, NULL), CURLE_OK);
	assert_int_equal(header_count(&r, "Content-Security-Policy: default-src 'none'; base-uri 'none'; "
	                                  "form-action 'none'; frame-ancestors 'none'"),
	                 1);
	assert_int_equal(header_count(&r, "X-Content-Type-Options: nosniff"), 1);
	reply_free(&r);
	/* HTML with its own policy: kept, and framing forbidden beside it; the handler's nosniff not doubled */
	snprintf(url, sizeof(url), "http://127.0.0.1:%u/html-csp", http_server_port(s));
	assert_int_equal(request(&r, NULL, url, NULL, NULL, 0, NULL), CURLE_OK);
	assert_int_equal(header_count(&r, "Content-Security-Policy: default-src 'self'"), 1);
	assert_int_equal(header_count(&r, "Content-Security-Policy: frame-ancestors 'none'"), 1);
	assert_int_equal(header_count(&r, "X-Content-Type-Options: nosniff"), 1);
	reply_free(&r);
	/* the server's own 413 carries them too */
	memset(body, 'x', sizeof(body));
	snprintf(url, sizeof(url), "http://127.0.0.1:%u/echo", http_server_port(s));
	assert_int_equal(request(&r, NULL, url, NULL, body, sizeof(body), NULL), CURLE_OK);
	assert_int_equal(r.status, 413);
	assert_int_equal(header_count(&r, "Content-Type: application/json"), 1);
	assert_int_equal(header_count(&r, "X-Content-Type-Options: nosniff"), 1);
	assert_int_equal(header_count(&r, "Access-Control-Allow-Origin: *"), 1);
	assert_int_equal(header_count(&r, "X-Teeliza-Test: server"), 1);
	reply_free(&r);
	/* chunked, cut while reading */
	assert_int_equal(request(&r, NULL, url, NULL, body, sizeof(body), "Transfer-Encoding: chunked"), CURLE_OK);
	assert_int_equal(r.status, 413);
	assert_int_equal(header_count(&r, "Access-Control-Allow-Origin: *"), 1);
	assert_int_equal(header_count(&r, "X-Content-Type-Options: nosniff"), 1);
	reply_free(&r);
	http_server_stop(s);
}

static void test_local_addresses(void **state)
{
	struct sockaddr_in a4;
	struct sockaddr_in6 a6;
	struct sockaddr_un un;
	static const struct {
		const char *addr;
		bool local;
	} cases[] = {
		{"127.0.0.1", true},   {"127.255.255.254", true}, {"127.1.2.3", true},        {"126.255.255.255", false},
		{"128.0.0.1", false},  {"10.0.0.1", false},       {"0.0.0.0", false},         {"192.0.2.2", false},
		{"::1", true},         {"::", false},             {"::2", false},             {"fe80::1", false},
		{"::ffff:127.0.0.1", true}, {"::ffff:127.9.9.9", true}, {"::ffff:10.0.0.1", false},
		{"::127.0.0.1", false}, /* IPv4-compatible, not mapped: not loopback */
		{"2001:db8::1", false},
	};
	size_t i;

	(void)state;
	for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		if (strchr(cases[i].addr, ':') == NULL) {
			memset(&a4, 0, sizeof(a4));
			a4.sin_family = AF_INET;
			assert_int_equal(inet_pton(AF_INET, cases[i].addr, &a4.sin_addr), 1);
			if (http_sockaddr_is_local((const struct sockaddr *)&a4, sizeof(a4)) != cases[i].local)
				fail_msg("%s: want local=%d", cases[i].addr, cases[i].local);
			/* too short for its family: not local */
			assert_false(http_sockaddr_is_local((const struct sockaddr *)&a4, sizeof(a4) - 1));
		} else {
			memset(&a6, 0, sizeof(a6));
			a6.sin6_family = AF_INET6;
			assert_int_equal(inet_pton(AF_INET6, cases[i].addr, &a6.sin6_addr), 1);
			if (http_sockaddr_is_local((const struct sockaddr *)&a6, sizeof(a6)) != cases[i].local)
				fail_msg("%s: want local=%d", cases[i].addr, cases[i].local);
			assert_false(http_sockaddr_is_local((const struct sockaddr *)&a6, sizeof(a4)));
		}
	}
	memset(&un, 0, sizeof(un));
	un.sun_family = AF_UNIX;
	assert_true(http_sockaddr_is_local((const struct sockaddr *)&un, sizeof(un)));
	assert_false(http_sockaddr_is_local(NULL, 0));
	assert_false(http_sockaddr_is_local((const struct sockaddr *)&un, 1));
}

/* Host names as written in a URL or a bind setting (http_host_is_loopback). */
static void test_loopback_host_names(void **state)
{
	static const struct {
		const char *host;
		bool loopback;
	} cases[] = {
		{"localhost", true},  {"LocalHost", true},        {"127.0.0.1", true},   {"127.255.255.254", true},
		{"::1", true},        {"128.0.0.1", false},       {"0.0.0.0", false},    {"::", false},
		{"[::1]", false},     /* brackets are the URL's, not the host's */
		{"127.0.0.1.example.org", false}, {"localhost.example.org", false},    {"", false},
		{"::ffff:127.0.0.1", false},      /* only ::1, as the API's loopback-bind warning has it */
		{"10.0.0.1", false},
	};
	size_t i;

	(void)state;
	for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++)
		if (http_host_is_loopback(cases[i].host) != cases[i].loopback)
			fail_msg("%s: want loopback=%d", cases[i].host, cases[i].loopback);
	assert_false(http_host_is_loopback(NULL));
}

/* ---- holding the server: deadlines, connection limits, rate ---- */

static long long mono_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (long long)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

/* A TCP connection to 127.0.0.1:port from the local address src (NULL: the kernel's choice), or -1. */
static int connect_from(const char *src, uint16_t port)
{
	struct sockaddr_in a;
	int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);

	if (fd < 0)
		return -1;
	if (src != NULL) {
		memset(&a, 0, sizeof(a));
		a.sin_family = AF_INET;
		assert_int_equal(inet_pton(AF_INET, src, &a.sin_addr), 1);
		if (bind(fd, (struct sockaddr *)&a, sizeof(a)) != 0) {
			close(fd);
			return -1;
		}
	}
	memset(&a, 0, sizeof(a));
	a.sin_family = AF_INET;
	a.sin_port = htons(port);
	a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	if (connect(fd, (struct sockaddr *)&a, sizeof(a)) != 0) {
		close(fd);
		return -1;
	}
	return fd;
}

static void send_all(int fd, const char *text)
{
	assert_int_equal(send(fd, text, strlen(text), MSG_NOSIGNAL), (ssize_t)strlen(text));
}

/* True when the server closes fd (end of file or reset) within ms; what it sends meanwhile is dropped. */
static bool closed_within(int fd, int ms)
{
	long long end = mono_ms() + ms, left;
	struct pollfd p;
	char buf[4096];
	ssize_t n;

	while ((left = end - mono_ms()) > 0) {
		p.fd = fd;
		p.events = POLLIN;
		p.revents = 0;
		if (poll(&p, 1, (int)left) <= 0)
			continue;
		n = recv(fd, buf, sizeof(buf), MSG_DONTWAIT);
		if (n == 0 || (n < 0 && errno != EAGAIN && errno != EWOULDBLOCK && errno != EINTR))
			return true;
	}
	return false;
}

/*
 * Send the start of a request, then `step` every interval_ms, never idle for
 * long, until the server closes the connection (or cap_ms passes). Returns
 * the milliseconds until it closed, or -1.
 */
static long long trickle(uint16_t port, const char *start, const char *step, int interval_ms, int cap_ms)
{
	int fd = connect_from(NULL, port);
	long long t0 = mono_ms(), took = -1;

	assert_true(fd >= 0);
	send_all(fd, start);
	while (mono_ms() - t0 < cap_ms) {
		if (closed_within(fd, interval_ms) || send(fd, step, strlen(step), MSG_NOSIGNAL) < 0) {
			took = mono_ms() - t0;
			break;
		}
	}
	close(fd);
	return took;
}

static void test_request_deadline(void **state)
{
	http_server_config cfg;
	http_server *s;
	struct reply r;
	char url[256];
	long long took;
	int fd;

	(void)state;
	memset(&cfg, 0, sizeof(cfg));
	cfg.request_timeout_s = 2;
	s = start_with(&cfg);
	/* a header line every 300 ms: never idle, cut at the deadline */
	took = trickle(http_server_port(s), "GET /x HTTP/1.1\r\nHost: t\r\n", "X-Slow: 1\r\n", 300, 20000);
	assert_true(took >= 1500);
	/* a body a byte at a time */
	took = trickle(http_server_port(s), "POST /echo HTTP/1.1\r\nHost: t\r\nContent-Length: 1000\r\n\r\n", "x", 300,
	               20000);
	assert_true(took >= 1500);
	/* the request line itself, a byte at a time */
	took = trickle(http_server_port(s), "G", "E", 300, 20000);
	assert_true(took >= 1500);

	/* keep-alive: the next request is due within the deadline of the last reply */
	fd = connect_from(NULL, http_server_port(s));
	assert_true(fd >= 0);
	send_all(fd, "GET /x HTTP/1.1\r\nHost: t\r\n\r\n");
	assert_true(closed_within(fd, 20000));
	close(fd);

	/* an upload that keeps its pace (here 160 KiB/s, ten times the minimum) is not cut, however long */
	fd = connect_from(NULL, http_server_port(s));
	assert_true(fd >= 0);
	send_all(fd, "POST /echo HTTP/1.1\r\nHost: t\r\nContent-Length: 491520\r\nConnection: close\r\n\r\n");
	{
		char chunk[16384], head[16];
		long long t0 = mono_ms();
		int i;

		memset(chunk, 'x', sizeof(chunk));
		for (i = 0; i < 30; i++) {
			assert_int_equal(send(fd, chunk, sizeof(chunk), MSG_NOSIGNAL), (ssize_t)sizeof(chunk));
			usleep(100 * 1000);
		}
		assert_true(mono_ms() - t0 > 2000); /* longer than the deadline alone */
		assert_int_equal(recv(fd, head, 12, MSG_WAITALL), 12);
		assert_memory_equal(head, "HTTP/1.1 200", 12);
	}
	close(fd);

	/* a handler that takes longer than the deadline still answers: the deadline is for receiving */
	snprintf(url, sizeof(url), "http://127.0.0.1:%u/sleep/3000", http_server_port(s));
	assert_int_equal(request(&r, NULL, url, NULL, "{}", 2, NULL), CURLE_OK);
	assert_int_equal(r.status, 200);
	reply_free(&r);
	http_server_stop(s);
}

/* A request that waits for a busy worker thread is the server's delay, not the client's: not cut. */
static void test_deadline_spares_waiting_requests(void **state)
{
	http_server_config cfg;
	http_server *s;
	int waiting, busy;
	struct pollfd p;
	char buf[256];
	ssize_t n;

	(void)state;
	memset(&cfg, 0, sizeof(cfg));
	cfg.request_timeout_s = 2;
	cfg.threads = 1; /* one thread: a slow handler holds every connection */
	s = start_with(&cfg);
	waiting = connect_from(NULL, http_server_port(s));
	busy = connect_from(NULL, http_server_port(s));
	assert_true(waiting >= 0 && busy >= 0);
	usleep(200 * 1000); /* both accepted */
	send_all(busy, "GET /sleep/4000 HTTP/1.1\r\nHost: t\r\n\r\n");
	usleep(200 * 1000); /* the handler runs */
	send_all(waiting, "GET /x HTTP/1.1\r\nHost: t\r\n\r\n");
	/* answered once the thread is free, although that is past the deadline */
	p.fd = waiting;
	p.events = POLLIN;
	assert_int_equal(poll(&p, 1, 20000), 1);
	n = recv(waiting, buf, sizeof(buf) - 1, 0);
	assert_true(n > 12);
	buf[n] = 0;
	assert_int_equal(strncmp(buf, "HTTP/1.1 200", 12), 0);
	close(waiting);
	close(busy);
	http_server_stop(s);
}

/* Client address number i, spread over 127.1.0.0/16 (none of them 127.0.0.1). */
static void client_addr(char *out, size_t len, unsigned i)
{
	snprintf(out, len, "127.1.%u.%u", i / 250, i % 250 + 1);
}

static bool raise_nofile(rlim_t want)
{
	struct rlimit rl;

	if (getrlimit(RLIMIT_NOFILE, &rl) != 0)
		return false;
	if (rl.rlim_cur >= want)
		return true;
	if (rl.rlim_max < want)
		return false;
	rl.rlim_cur = want;
	return setrlimit(RLIMIT_NOFILE, &rl) == 0;
}

#define IDLE_CONNECTIONS 1100

static void test_many_idle_connections(void **state)
{
	static int fds[IDLE_CONNECTIONS];
	http_server *s;
	struct reply r;
	char url[256], src[32];
	unsigned i;

	(void)state;
	if (!raise_nofile(2 * IDLE_CONNECTIONS + 256))
		skip(); /* a hard open-file limit this low cannot hold the test's own sockets */
	s = start(0, false);
	/* more half-sent requests than libmicrohttpd's default limit (FD_SETSIZE - 4), from as many clients */
	for (i = 0; i < IDLE_CONNECTIONS; i++) {
		client_addr(src, sizeof(src), i);
		fds[i] = connect_from(src, http_server_port(s));
		assert_true(fds[i] >= 0);
		send_all(fds[i], "GET /x HTTP/1.1\r\n");
	}
	snprintf(url, sizeof(url), "http://127.0.0.1:%u/x", http_server_port(s));
	assert_int_equal(request(&r, NULL, url, NULL, NULL, 0, NULL), CURLE_OK);
	assert_int_equal(r.status, 200);
	reply_free(&r);
	for (i = 0; i < IDLE_CONNECTIONS; i++)
		close(fds[i]);
	http_server_stop(s);
}

static CURLcode request_from(struct reply *r, const char *url, const char *src)
{
	CURL *c = curl_easy_init();
	CURLcode rc;

	curl_easy_setopt(c, CURLOPT_INTERFACE, src);
	rc = request(r, c, url, NULL, NULL, 0, NULL);
	curl_easy_cleanup(c);
	return rc;
}

static void test_per_client_limit(void **state)
{
	http_server_config cfg;
	http_server *s;
	struct reply r;
	char url[256];
	int fds[5], closed = -1, i, tries;
	CURLcode rc = CURLE_OK;

	(void)state;
	memset(&cfg, 0, sizeof(cfg));
	cfg.max_per_client = 4;
	s = start_with(&cfg);
	for (i = 0; i < 5; i++) {
		fds[i] = connect_from("127.0.0.1", http_server_port(s));
		assert_true(fds[i] >= 0);
		send_all(fds[i], "GET /x HTTP/1.1\r\n");
	}
	/* one of the five is over the limit and closed at once; the four others stay */
	for (tries = 0; tries < 100 && closed < 0; tries++)
		for (i = 0; i < 5 && closed < 0; i++)
			if (closed_within(fds[i], 20))
				closed = i;
	assert_true(closed >= 0);
	for (i = 0; i < 5; i++)
		if (i != closed)
			assert_false(closed_within(fds[i], 50));
	snprintf(url, sizeof(url), "http://127.0.0.1:%u/x", http_server_port(s));
	/* this client gets nothing more, another is served */
	assert_int_not_equal(request_from(&r, url, "127.0.0.1"), CURLE_OK);
	reply_free(&r);
	assert_int_equal(request_from(&r, url, "127.0.0.2"), CURLE_OK);
	assert_int_equal(r.status, 200);
	reply_free(&r);
	/* once one of its connections is gone, the client is served again */
	close(fds[closed == 0 ? 1 : 0]);
	for (tries = 0; tries < 100; tries++) {
		rc = request_from(&r, url, "127.0.0.1");
		if (rc == CURLE_OK)
			break;
		reply_free(&r);
		usleep(100 * 1000);
	}
	assert_int_equal(rc, CURLE_OK);
	assert_int_equal(r.status, 200);
	reply_free(&r);
	for (i = 0; i < 5; i++)
		if (i != (closed == 0 ? 1 : 0))
			close(fds[i]);
	http_server_stop(s);
}

static void test_rate_limit(void **state)
{
	http_server_config cfg;
	http_server *s;
	struct reply r;
	char url[256];
	const char *ra;
	json_t *j;
	int i, refused = -1;
	long secs;

	(void)state;
	memset(&cfg, 0, sizeof(cfg));
	cfg.rate_limit = 3; /* a request every 20 s, bursts of 3 */
	cfg.headers = server_headers;
	s = start_with(&cfg);
	snprintf(url, sizeof(url), "http://127.0.0.1:%u/x", http_server_port(s));
	for (i = 0; i < 3; i++) {
		assert_int_equal(request_from(&r, url, "127.0.0.1"), CURLE_OK);
		assert_int_equal(r.status, 200);
		reply_free(&r);
	}
	/* within the next few, one is refused (a slow machine may earn one more request meanwhile) */
	for (i = 0; i < 5 && refused < 0; i++) {
		assert_int_equal(request(&r, NULL, url, NULL, "{\"a\":1}", 7, NULL), CURLE_OK);
		if (r.status == 429)
			refused = i;
		else
			reply_free(&r);
	}
	assert_true(refused >= 0);
	j = json_loads((const char *)r.body.data, 0, NULL);
	assert_true(json_is_string(json_object_get(j, "error")));
	assert_non_null(strstr(json_string_value(json_object_get(j, "error")), "Too many requests"));
	json_decref(j);
	assert_int_equal(header_count(&r, "Content-Type: application/json"), 1);
	assert_int_equal(header_count(&r, "Access-Control-Allow-Origin: *"), 1);
	assert_int_equal(header_count(&r, "X-Content-Type-Options: nosniff"), 1);
	ra = strstr((const char *)r.headers.data, "Retry-After: ");
	assert_non_null(ra);
	secs = strtol(ra + 13, NULL, 10);
	assert_true(secs >= 1 && secs <= 20);
	reply_free(&r);
	/* another client has its own allowance */
	assert_int_equal(request_from(&r, url, "127.0.0.2"), CURLE_OK);
	assert_int_equal(r.status, 200);
	reply_free(&r);
	http_server_stop(s);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_request_fields),
		cmocka_unit_test(test_binary_bodies_and_status),
		cmocka_unit_test(test_body_cap),
		cmocka_unit_test(test_keep_alive),
		cmocka_unit_test(test_config_errors),
		cmocka_unit_test(test_common_headers),
		cmocka_unit_test(test_local_addresses),
		cmocka_unit_test(test_loopback_host_names),
		cmocka_unit_test(test_request_deadline),
		cmocka_unit_test(test_deadline_spares_waiting_requests),
		cmocka_unit_test(test_many_idle_connections),
		cmocka_unit_test(test_per_client_limit),
		cmocka_unit_test(test_rate_limit),
	};

	return cmocka_run_group_tests(tests, setup, teardown);
}
