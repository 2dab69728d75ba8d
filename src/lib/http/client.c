/*
 * The client half of http.h on libcurl: one easy handle per request, TCP or
 * a unix socket, a hard cap on the response body enforced while it arrives,
 * and errors that name the endpoint so a user can tell which server failed.
 */
#include "teeliza/http/http.h"

#include <assert.h>
#include <curl/curl.h>
#include <pthread.h>
#include <stdio.h>
#include <string.h>

#define HTTP_DEFAULT_TIMEOUT_MS 30000L
#define HTTP_DEFAULT_MAX_RESPONSE ((size_t)16 << 20)

static pthread_once_t curl_once = PTHREAD_ONCE_INIT;
static CURLcode curl_init_rc = CURLE_FAILED_INIT;

static void curl_init_once(void)
{
	curl_init_rc = curl_global_init(CURL_GLOBAL_DEFAULT);
}

struct sink {
	teeliza_buf *body;
	bool too_large;
	bool nomem;
};

/* libcurl hands the body over in pieces; refuse the piece that crosses the cap. */
static size_t on_body(char *data, size_t size, size_t nmemb, void *userdata)
{
	struct sink *s = userdata;
	size_t n = size * nmemb;
	teeliza_err err;

	err = teeliza_buf_append(s->body, data, n);
	if (err == TEELIZA_ERR_TOO_LARGE) {
		s->too_large = true;
		return 0;
	}
	if (err != TEELIZA_OK) {
		s->nomem = true;
		return 0;
	}
	return n;
}

/* "http://h/x" or "unix socket /p (/x)": what a user needs to find the server. */
static void describe_target(char *out, size_t out_len, const http_request *req)
{
	const char *path = req->url;
	const char *sep;

	if (req->unix_socket == NULL) {
		snprintf(out, out_len, "%s", req->url);
		return;
	}
	sep = strstr(req->url, "://");
	if (sep != NULL) {
		path = strchr(sep + 3, '/');
		if (path == NULL)
			path = "/";
	}
	snprintf(out, out_len, "unix socket %s (%s)", req->unix_socket, path);
}

static bool is_connect_failure(CURLcode rc)
{
	return rc == CURLE_COULDNT_CONNECT || rc == CURLE_COULDNT_RESOLVE_HOST ||
	       rc == CURLE_COULDNT_RESOLVE_PROXY || rc == CURLE_SSL_CONNECT_ERROR;
}

static teeliza_err map_curl_error(CURL *h, CURLcode rc, const struct sink *sink, const http_request *req,
                                  long timeout_ms, size_t max_response, const char *errbuf)
{
	char where[1200], ebuf[128];
	const char *detail = errbuf[0] ? errbuf : curl_easy_strerror(rc);
	long os_errno = 0;

	describe_target(where, sizeof(where), req);
	if (sink->too_large || rc == CURLE_FILESIZE_EXCEEDED)
		return teeliza_set_error(TEELIZA_ERR_TOO_LARGE, "response from %s exceeds the limit of %zu bytes",
		                         where, max_response);
	if (sink->nomem || rc == CURLE_OUT_OF_MEMORY)
		return teeliza_set_error(TEELIZA_ERR_NOMEM, "out of memory reading the response from %s", where);
	if (rc == CURLE_OPERATION_TIMEDOUT)
		return teeliza_set_error(TEELIZA_ERR_TIMEOUT, "no complete answer from %s within %ld ms", where,
		                         timeout_ms);
	if (rc == CURLE_URL_MALFORMAT || rc == CURLE_UNSUPPORTED_PROTOCOL)
		return teeliza_set_error(TEELIZA_ERR_INVALID, "bad URL %s: %s", req->url, detail);
	if (is_connect_failure(rc)) {
		/* "Connection refused" / "No such file or directory" say more than curl's summary. */
		if (curl_easy_getinfo(h, CURLINFO_OS_ERRNO, &os_errno) == CURLE_OK && os_errno != 0)
			detail = strerror_r((int)os_errno, ebuf, sizeof(ebuf));
		return teeliza_set_error(TEELIZA_ERR_CONNECT, "cannot connect to %s: %s", where, detail);
	}
	return teeliza_set_error(TEELIZA_ERR_CONNECT, "request to %s failed: %s", where, detail);
}

#define SETOPT(h, opt, val)                                     \
	do {                                                    \
		if (rc == CURLE_OK)                             \
			rc = curl_easy_setopt((h), (opt), (val)); \
	} while (0)

static CURLcode set_method(CURL *h, const http_request *req)
{
	CURLcode rc = CURLE_OK;
	bool has_body = req->body != NULL || req->body_len > 0;

	if (strcmp(req->method, "GET") == 0 && !has_body) {
		SETOPT(h, CURLOPT_HTTPGET, 1L);
		return rc;
	}
	if (strcmp(req->method, "HEAD") == 0) {
		SETOPT(h, CURLOPT_NOBODY, 1L);
		return rc;
	}
	if (strcmp(req->method, "POST") != 0)
		SETOPT(h, CURLOPT_CUSTOMREQUEST, req->method);
	if (strcmp(req->method, "POST") == 0 || has_body) {
		SETOPT(h, CURLOPT_POST, 1L);
		/* The true byte length: never strlen, never UTF-16 units. */
		SETOPT(h, CURLOPT_POSTFIELDSIZE_LARGE, (curl_off_t)req->body_len);
		SETOPT(h, CURLOPT_POSTFIELDS, req->body_len > 0 ? (const char *)req->body : "");
	}
	return rc;
}

static teeliza_err build_headers(struct curl_slist **out, const http_request *req)
{
	struct curl_slist *list = NULL, *next;
	char line[512];
	size_t i;

	*out = NULL;
	/* No "Expect: 100-continue" round trip: tappd and the SDK never use it. */
	list = curl_slist_append(NULL, "Expect:");
	if (list == NULL)
		return teeliza_set_error(TEELIZA_ERR_NOMEM, "out of memory");
	if (req->content_type != NULL) {
		if ((size_t)snprintf(line, sizeof(line), "Content-Type: %s", req->content_type) >= sizeof(line)) {
			curl_slist_free_all(list);
			return teeliza_set_error(TEELIZA_ERR_INVALID, "content type too long");
		}
		next = curl_slist_append(list, line);
		if (next == NULL)
			goto nomem;
		list = next;
	}
	for (i = 0; req->headers != NULL && req->headers[i] != NULL; i++) {
		if (strchr(req->headers[i], '\r') != NULL || strchr(req->headers[i], '\n') != NULL) {
			curl_slist_free_all(list);
			return teeliza_set_error(TEELIZA_ERR_INVALID, "header %zu contains a line break", i);
		}
		next = curl_slist_append(list, req->headers[i]);
		if (next == NULL)
			goto nomem;
		list = next;
	}
	*out = list;
	return TEELIZA_OK;
nomem:
	curl_slist_free_all(list);
	return teeliza_set_error(TEELIZA_ERR_NOMEM, "out of memory");
}

teeliza_err http_perform(http_response *resp, const http_request *req)
{
	long timeout_ms, status = 0;
	size_t max_response;
	struct sink sink = {0};
	struct curl_slist *headers = NULL;
	char errbuf[CURL_ERROR_SIZE];
	char *ctype = NULL;
	CURL *h;
	CURLcode rc = CURLE_OK;
	teeliza_err err;

	assert(resp != NULL && req != NULL && req->method != NULL && req->url != NULL);
	assert(req->body != NULL || req->body_len == 0);
	memset(resp, 0, sizeof(*resp));
	timeout_ms = req->timeout_ms > 0 ? req->timeout_ms : HTTP_DEFAULT_TIMEOUT_MS;
	max_response = req->max_response > 0 ? req->max_response : HTTP_DEFAULT_MAX_RESPONSE;

	pthread_once(&curl_once, curl_init_once);
	if (curl_init_rc != CURLE_OK)
		return teeliza_set_error(TEELIZA_ERR_INTERNAL, "libcurl initialisation failed: %s",
		                         curl_easy_strerror(curl_init_rc));
	h = curl_easy_init();
	if (h == NULL)
		return teeliza_set_error(TEELIZA_ERR_NOMEM, "cannot create a libcurl handle");
	err = build_headers(&headers, req);
	if (err) {
		curl_easy_cleanup(h);
		return err;
	}

	teeliza_buf_init(&resp->body, max_response);
	resp->body.secret = req->secret_response;
	sink.body = &resp->body;
	errbuf[0] = 0;

	SETOPT(h, CURLOPT_URL, req->url);
	SETOPT(h, CURLOPT_PROTOCOLS_STR, "http,https");
	SETOPT(h, CURLOPT_NOSIGNAL, 1L);
	SETOPT(h, CURLOPT_FOLLOWLOCATION, 0L);
	SETOPT(h, CURLOPT_TIMEOUT_MS, timeout_ms);
	SETOPT(h, CURLOPT_CONNECTTIMEOUT_MS, timeout_ms);
	SETOPT(h, CURLOPT_MAXFILESIZE_LARGE, (curl_off_t)max_response);
	SETOPT(h, CURLOPT_ERRORBUFFER, errbuf);
	SETOPT(h, CURLOPT_WRITEFUNCTION, on_body);
	SETOPT(h, CURLOPT_WRITEDATA, &sink);
	SETOPT(h, CURLOPT_HTTPHEADER, headers);
	if (req->unix_socket != NULL)
		SETOPT(h, CURLOPT_UNIX_SOCKET_PATH, req->unix_socket);
	if (req->no_proxy)
		SETOPT(h, CURLOPT_PROXY, "");
	if (req->tls_no_verify) {
		SETOPT(h, CURLOPT_SSL_VERIFYPEER, 0L);
		SETOPT(h, CURLOPT_SSL_VERIFYHOST, 0L);
	}
	if (rc == CURLE_OK)
		rc = set_method(h, req);
	if (rc != CURLE_OK) {
		err = teeliza_set_error(rc == CURLE_UNSUPPORTED_PROTOCOL ? TEELIZA_ERR_INVALID : TEELIZA_ERR_INTERNAL,
		                        "cannot set up the request to %s: %s", req->url, curl_easy_strerror(rc));
		goto fail;
	}

	rc = curl_easy_perform(h);
	if (rc != CURLE_OK) {
		err = map_curl_error(h, rc, &sink, req, timeout_ms, max_response, errbuf);
		goto fail;
	}
	/* Even an empty body is a NUL-terminated string for the caller. */
	err = teeliza_buf_append(&resp->body, "", 0);
	if (err)
		goto fail;
	if (curl_easy_getinfo(h, CURLINFO_RESPONSE_CODE, &status) == CURLE_OK)
		resp->status = status;
	if (curl_easy_getinfo(h, CURLINFO_CONTENT_TYPE, &ctype) == CURLE_OK && ctype != NULL)
		snprintf(resp->content_type, sizeof(resp->content_type), "%s", ctype);
	curl_slist_free_all(headers);
	curl_easy_cleanup(h);
	return TEELIZA_OK;
fail:
	curl_slist_free_all(headers);
	curl_easy_cleanup(h);
	http_response_free(resp);
	return err;
}

void http_response_free(http_response *resp)
{
	if (resp == NULL)
		return;
	teeliza_buf_free(&resp->body);
	memset(resp, 0, sizeof(*resp));
}
