/*
 * The server half of http.h on libmicrohttpd: a TCP listener and/or a unix
 * socket, each served by its own daemon (epoll, internal thread pool), with
 * request bodies collected up to a hard cap. We create, bind and listen the
 * sockets ourselves so that failures carry errno ("Address already in use")
 * and the unix socket gets its mode before the first client can connect.
 *
 * A reply body whose teeliza_buf the handler marked `secret` is wiped when
 * libmicrohttpd is done sending it.
 *
 * With config.form, a multipart/form-data body is not collected but fed to
 * http_form as libmicrohttpd hands it over (begin_body, take_body,
 * end_body), so a file part costs no memory.
 *
 * Connection limits, the whole-request deadline and the rate limit are kept
 * by server_guard.c; this file wires them to libmicrohttpd and adds the
 * headers every reply carries (add_common_headers).
 */
#include "teeliza/http/http.h"
#include "teeliza/http/form.h"
#include "http/server_guard.h"

#include <arpa/inet.h>
#include <assert.h>
#include <errno.h>
#include <fcntl.h>
#include <microhttpd.h>
#include <netdb.h>
#include <netinet/in.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

#define HTTP_DEFAULT_MAX_BODY ((size_t)1 << 20)
#define HTTP_DEFAULT_THREADS 2u
#define HTTP_MAX_THREADS 64u
#define HTTP_MAX_REPLY ((size_t)64 << 20)
#define HTTP_IDLE_TIMEOUT_S 60u
#define HTTP_LISTEN_BACKLOG 1024
/* A chunked body over the cap is read and dropped up to this much, then the connection is cut. */
#define HTTP_MAX_DISCARD ((size_t)16 << 20)
/* Descriptors kept free for everything else the process opens (database, logs, outgoing HTTP). */
#define HTTP_FD_RESERVE 128u

static const char too_large_json[] = "{\"error\":\"request body too large\"}";
static const char nosniff[] = "X-Content-Type-Options: nosniff";
/* For HTML without a policy of its own: nothing loads, nothing frames it. */
static const char html_csp[] = "Content-Security-Policy: default-src 'none'; base-uri 'none'; form-action 'none'; "
                               "frame-ancestors 'none'";
/* Beside a handler's policy that does not mention framing (every policy given is enforced). */
static const char no_framing_csp[] = "Content-Security-Policy: frame-ancestors 'none'";

struct listener {
	http_server *server;
	struct MHD_Daemon *daemon;
	int fd;         /* owned until the daemon takes it over */
	bool is_unix;
};

struct http_server {
	http_handler_fn handler;
	void *ctx;
	size_t max_body;
	http_form_limits form;  /* valid when has_form */
	bool has_form;
	unsigned threads;
	const char *const *headers;   /* borrowed from the config */
	unsigned max_connections;     /* per listener, in effect */
	unsigned rate_limit;
	http_guard *guard;
	struct listener tcp;
	struct listener local;
	uint16_t port;
	char *unix_path;  /* set once we created the socket file, so stop unlinks it */
	char *tls_cert;   /* HTTPS on the TCP listener: the chain and */
	char *tls_key;    /* the key (secret: wiped on stop), NULL for plain HTTP */
	size_t tls_key_len;
};

/* One request in flight, from the request line to the completion callback. */
struct pending {
	char *query;      /* raw query string, without '?' */
	teeliza_buf body;
	size_t discarded;
	bool started;
	bool too_large;
	const char *too_large_json;  /* the 413 body (static) */
	http_form *form;             /* a multipart body parsed as it arrives */
	bool form_failed;            /* it is malformed: form_error says why */
	char form_error[200];
};

static void *on_uri(void *cls, const char *uri, struct MHD_Connection *con)
{
	struct listener *l = cls;
	struct pending *p;
	const char *q = strchr(uri, '?');

	(void)con;
	p = calloc(1, sizeof(*p));
	if (p == NULL)
		return NULL;
	p->query = strdup(q != NULL ? q + 1 : "");
	if (p->query == NULL) {
		free(p);
		return NULL;
	}
	teeliza_buf_init(&p->body, l->server->max_body);
	return p;
}

static void on_done(void *cls, struct MHD_Connection *con, void **con_cls,
                    enum MHD_RequestTerminationCode toe)
{
	struct pending *p = *con_cls;

	(void)cls;
	(void)toe;
	http_guard_reply_done(con);
	if (p == NULL)
		return;
	teeliza_buf_free(&p->body);
	http_form_free(p->form);
	free(p->query);
	free(p);
	*con_cls = NULL;
}

/* True when a Content-Length header announces more than max bytes (or is not a number). */
static bool announced_too_large(const char *value, size_t max)
{
	unsigned long long n = 0;
	const char *s = value;

	while (*s == ' ' || *s == '\t')
		s++;
	if (*s < '0' || *s > '9')
		return false; /* libmicrohttpd rejects a malformed length itself */
	for (; *s >= '0' && *s <= '9'; s++) {
		if (n > (unsigned long long)max)
			return true;
		n = n * 10 + (unsigned long long)(*s - '0');
	}
	return n > (unsigned long long)max;
}

/* "Name: value" → header; a line without a colon is a handler bug. */
static bool add_extra_header(struct MHD_Response *resp, const char *line)
{
	char name[128];
	const char *colon = strchr(line, ':');
	size_t n;

	assert(colon != NULL);
	n = (size_t)(colon - line);
	if (n == 0 || n >= sizeof(name))
		return false;
	memcpy(name, line, n);
	name[n] = 0;
	colon++;
	while (*colon == ' ')
		colon++;
	return MHD_add_response_header(resp, name, colon) == MHD_YES;
}

/* The value of header name among "Name: value" lines (NULL slots skipped), or NULL. */
static const char *find_header(const char *const *lines, size_t n, const char *name)
{
	size_t i, len = strlen(name);
	const char *v;

	for (i = 0; i < n; i++) {
		if (lines[i] == NULL || strncasecmp(lines[i], name, len) != 0 || lines[i][len] != ':')
			continue;
		for (v = lines[i] + len + 1; *v == ' '; v++)
			;
		return v;
	}
	return NULL;
}

static bool is_html(const char *content_type)
{
	return strncasecmp(content_type, "text/html", 9) == 0 ||
	       strncasecmp(content_type, "application/xhtml+xml", 21) == 0;
}

/*
 * What every reply carries besides its own headers (own, n slots): the
 * configured ones (s may be NULL) unless own names them, nosniff, and for
 * HTML a policy that forbids framing.
 */
static bool add_common_headers(struct MHD_Response *resp, const http_server *s, const char *content_type,
                               const char *const *own, size_t n)
{
	const char *const *h;
	const char *csp;
	char name[128];
	size_t len;

	for (h = s != NULL ? s->headers : NULL; h != NULL && *h != NULL; h++) {
		len = strcspn(*h, ":");
		assert((*h)[len] == ':' && len < sizeof(name));
		memcpy(name, *h, len);
		name[len] = 0;
		if (find_header(own, n, name) == NULL && !add_extra_header(resp, *h))
			return false;
	}
	if (find_header(own, n, "X-Content-Type-Options") == NULL && !add_extra_header(resp, nosniff))
		return false;
	if (!is_html(content_type))
		return true;
	csp = find_header(own, n, "Content-Security-Policy");
	if (csp == NULL)
		return add_extra_header(resp, html_csp);
	if (strstr(csp, "frame-ancestors") == NULL)
		return add_extra_header(resp, no_framing_csp);
	return true;
}

/* A reply the server makes itself (413, 429): JSON, the common headers, and own (n lines). */
static enum MHD_Result queue_server_reply(struct MHD_Connection *con, unsigned status, const char *body,
                                          enum MHD_ResponseMemoryMode mode, const char *const *own, size_t n)
{
	const struct listener *l = http_guard_owner(con);
	struct MHD_Response *resp;
	enum MHD_Result ret;
	size_t i;

	resp = MHD_create_response_from_buffer(strlen(body), (void *)(uintptr_t)body, mode);
	if (resp == NULL)
		return MHD_NO;
	if (MHD_add_response_header(resp, MHD_HTTP_HEADER_CONTENT_TYPE, "application/json") != MHD_YES ||
	    !add_common_headers(resp, l != NULL ? l->server : NULL, "application/json", own, n)) {
		MHD_destroy_response(resp);
		return MHD_NO;
	}
	for (i = 0; i < n; i++) {
		if (own[i] != NULL && !add_extra_header(resp, own[i])) {
			MHD_destroy_response(resp);
			return MHD_NO;
		}
	}
	ret = MHD_queue_response(con, status, resp);
	MHD_destroy_response(resp);
	return ret;
}

static enum MHD_Result queue_static(struct MHD_Connection *con, unsigned status, const char *body,
                                    bool close_after)
{
	const char *own[1] = {close_after ? "Connection: close" : NULL};

	return queue_server_reply(con, status, body, MHD_RESPMEM_PERSISTENT, own, 1);
}

/*
 * With a rate limit: true when this request is over it, with *ret the queued
 * 429. The body is not read, so the connection closes after the reply.
 */
static bool refuse_over_rate(enum MHD_Result *ret, struct MHD_Connection *con, const http_server *s)
{
	char body[160], retry[32];
	const char *own[2] = {"Connection: close", retry};
	unsigned secs;

	if (s->rate_limit == 0)
		return false;
	secs = http_guard_rate_check(con);
	if (secs == 0)
		return false;
	snprintf(retry, sizeof(retry), "Retry-After: %u", secs);
	snprintf(body, sizeof(body),
	         "{\"error\":\"Too many requests: at most %u a minute from one address. Retry in %u s.\"}",
	         s->rate_limit, secs);
	*ret = queue_server_reply(con, 429, body, MHD_RESPMEM_MUST_COPY, own, 2);
	return true;
}

static void free_secret_body(void *cls)
{
	teeliza_buf *b = cls;

	teeliza_buf_free(b);
	free(b);
}

/* Wrap the handler's body without copying it; libmicrohttpd frees it after sending. */
static struct MHD_Response *response_from_reply(http_server_reply *r)
{
	struct MHD_Response *resp;
	teeliza_buf *owned;

	if (r->body.len == 0) {
		teeliza_buf_free(&r->body);
		return MHD_create_response_from_buffer(0, (void *)(uintptr_t)"", MHD_RESPMEM_PERSISTENT);
	}
	if (!r->body.secret) {
		resp = MHD_create_response_from_buffer(r->body.len, r->body.data, MHD_RESPMEM_MUST_FREE);
		if (resp != NULL)
			memset(&r->body, 0, sizeof(r->body));
		return resp;
	}
	owned = malloc(sizeof(*owned));
	if (owned == NULL)
		return NULL;
	*owned = r->body;
	resp = MHD_create_response_from_buffer_with_free_callback_cls(owned->len, owned->data,
	                                                              free_secret_body, owned);
	if (resp == NULL) {
		free(owned);
		return NULL;
	}
	memset(&r->body, 0, sizeof(r->body));
	return resp;
}

static enum MHD_Result send_reply(struct MHD_Connection *con, const http_server *s, http_server_reply *r)
{
	const size_t n = sizeof(r->extra_headers) / sizeof(r->extra_headers[0]);
	const char *type = r->content_type != NULL ? r->content_type : "application/json";
	struct MHD_Response *resp;
	enum MHD_Result ret;
	size_t i;

	resp = response_from_reply(r);
	if (resp == NULL) {
		teeliza_buf_free(&r->body);
		return MHD_NO;
	}
	if (MHD_add_response_header(resp, MHD_HTTP_HEADER_CONTENT_TYPE, type) != MHD_YES ||
	    !add_common_headers(resp, s, type, r->extra_headers, n)) {
		MHD_destroy_response(resp);
		return MHD_NO;
	}
	for (i = 0; i < n; i++) {
		if (r->extra_headers[i] != NULL && !add_extra_header(resp, r->extra_headers[i])) {
			MHD_destroy_response(resp);
			return MHD_NO;
		}
	}
	ret = MHD_queue_response(con, r->status, resp);
	MHD_destroy_response(resp);
	return ret;
}

/* Out: the peer's address as text; returns whether the peer is local. */
static bool format_remote(char *out, size_t out_len, struct MHD_Connection *con, bool is_unix)
{
	const union MHD_ConnectionInfo *ci;
	const struct sockaddr *sa;

	snprintf(out, out_len, "%s", is_unix ? "unix" : "?");
	if (is_unix)
		return true;
	ci = MHD_get_connection_info(con, MHD_CONNECTION_INFO_CLIENT_ADDRESS);
	if (ci == NULL || ci->client_addr == NULL)
		return false;
	sa = ci->client_addr;
	if (sa->sa_family == AF_INET) {
		inet_ntop(AF_INET, &((const struct sockaddr_in *)(const void *)sa)->sin_addr, out, (socklen_t)out_len);
		return http_sockaddr_is_local(sa, sizeof(struct sockaddr_in));
	}
	if (sa->sa_family == AF_INET6) {
		inet_ntop(AF_INET6, &((const struct sockaddr_in6 *)(const void *)sa)->sin6_addr, out, (socklen_t)out_len);
		return http_sockaddr_is_local(sa, sizeof(struct sockaddr_in6));
	}
	if (sa->sa_family == AF_UNIX) {
		snprintf(out, out_len, "unix");
		return true;
	}
	return false;
}

static const char *header_or_empty(struct MHD_Connection *con, const char *name)
{
	const char *v = MHD_lookup_connection_value(con, MHD_HEADER_KIND, name);

	return v != NULL ? v : "";
}

static enum MHD_Result dispatch(struct listener *l, struct MHD_Connection *con, struct pending *p,
                                const char *url, const char *method)
{
	http_server_request req;
	http_server_reply reply;
	char remote[INET6_ADDRSTRLEN + 8];

	http_guard_request_received(con);
	memset(&req, 0, sizeof(req));
	req.remote_local = format_remote(remote, sizeof(remote), con, l->is_unix);
	req.method = method;
	req.path = url;
	req.query = p->query;
	req.content_type = header_or_empty(con, MHD_HTTP_HEADER_CONTENT_TYPE);
	req.authorization = header_or_empty(con, MHD_HTTP_HEADER_AUTHORIZATION);
	req.api_key = header_or_empty(con, "X-API-KEY");
	req.idempotency_key = header_or_empty(con, "Idempotency-Key");
	req.body = p->body.data != NULL ? p->body.data : (const uint8_t *)"";
	req.body_len = p->body.len;
	req.remote = remote;
	req.form = p->form_failed ? NULL : p->form;
	req.form_error = p->form_failed ? p->form_error : NULL;

	memset(&reply, 0, sizeof(reply));
	reply.status = 200;
	teeliza_buf_init(&reply.body, HTTP_MAX_REPLY);
	l->server->handler(&reply, &req, l->server->ctx);
	if (reply.status < 100 || reply.status > 999)
		reply.status = 500;
	return send_reply(con, l->server, &reply);
}

/* The 413 body for a multipart limit (static: libmicrohttpd sends it without a copy). */
static const char *form_too_large_json(http_form_limit limit)
{
	switch (limit) {
	case HTTP_FORM_LIMIT_FILE:
		return "{\"error\":\"request body too large: a file part is over the upload limit\"}";
	case HTTP_FORM_LIMIT_FILES:
		return "{\"error\":\"request body too large: too many file parts\"}";
	case HTTP_FORM_LIMIT_PARTS:
		return "{\"error\":\"request body too large: too many parts\"}";
	case HTTP_FORM_LIMIT_TEXT:
		return "{\"error\":\"request body too large: the text fields are over the body limit\"}";
	default:
		return too_large_json;
	}
}

static bool is_multipart_form(const char *ctype)
{
	static const char type[] = "multipart/form-data";

	return ctype != NULL && strncasecmp(ctype, type, sizeof(type) - 1) == 0 &&
	       (ctype[sizeof(type) - 1] == 0 || ctype[sizeof(type) - 1] == ';' || ctype[sizeof(type) - 1] == ' ' ||
	        ctype[sizeof(type) - 1] == '\t');
}

/* Headers are in: a multipart body is parsed as it comes (when configured). Returns the body limit. */
static size_t begin_body(struct pending *p, const http_server *s, struct MHD_Connection *con)
{
	const char *ctype = MHD_lookup_connection_value(con, MHD_HEADER_KIND, MHD_HTTP_HEADER_CONTENT_TYPE);

	p->too_large_json = too_large_json;
	if (!s->has_form || !is_multipart_form(ctype))
		return s->max_body;
	if (http_form_new(&p->form, ctype, &s->form) != TEELIZA_OK) {
		p->form_failed = true;
		snprintf(p->form_error, sizeof(p->form_error), "%s", teeliza_errmsg());
	}
	return s->form.max_total < SIZE_MAX ? (size_t)s->form.max_total : SIZE_MAX;
}

/* Body bytes: collected, or fed to the form parser; after a failure counted and dropped. */
static enum MHD_Result take_body(struct pending *p, const char *data, size_t len)
{
	teeliza_err err = TEELIZA_OK;

	if (!p->too_large && !p->form_failed) {
		if (p->form != NULL) {
			err = http_form_feed(p->form, (const uint8_t *)data, len);
			if (err == TEELIZA_ERR_TOO_LARGE)
				p->too_large_json = form_too_large_json(http_form_limit_hit(p->form));
			else if (err == TEELIZA_ERR_INVALID)
				p->form_failed = true;
		} else {
			err = teeliza_buf_append(&p->body, data, len);
		}
		if (err == TEELIZA_ERR_TOO_LARGE) {
			p->too_large = true;
			teeliza_buf_free(&p->body);
		} else if (err != TEELIZA_OK && err != TEELIZA_ERR_INVALID) {
			return MHD_NO;
		}
	}
	if (p->too_large || p->form_failed) {
		p->discarded += len;
		if (p->discarded > HTTP_MAX_DISCARD)
			return MHD_NO;
	}
	return MHD_YES;
}

/* The body is complete: a multipart body must have ended properly. */
static void end_body(struct pending *p)
{
	/* No body at all is no form, whatever the Content-Type says: multer skips such a request. */
	if (p->form == NULL && p->form_failed && p->discarded == 0) {
		p->form_failed = false;
		return;
	}
	if (p->form == NULL || p->too_large || p->form_failed)
		return;
	if (http_form_finish(p->form) != TEELIZA_OK)
		p->form_failed = true;
}

static enum MHD_Result on_request(void *cls, struct MHD_Connection *con, const char *url,
                                  const char *method, const char *version, const char *upload_data,
                                  size_t *upload_data_size, void **con_cls)
{
	struct listener *l = cls;
	struct pending *p = *con_cls;
	const char *cl;
	size_t limit;
	enum MHD_Result ret;

	(void)version;
	if (p == NULL)
		return MHD_NO; /* out of memory in on_uri */
	if (!p->started) {
		/* Headers only. Refuse an announced oversized body before reading any of it. */
		p->started = true;
		if (refuse_over_rate(&ret, con, l->server))
			return ret;
		limit = begin_body(p, l->server, con);
		cl = MHD_lookup_connection_value(con, MHD_HEADER_KIND, MHD_HTTP_HEADER_CONTENT_LENGTH);
		if (cl != NULL && announced_too_large(cl, limit))
			return queue_static(con, 413, too_large_json, true);
		return MHD_YES;
	}
	if (*upload_data_size > 0) {
		http_guard_body_received(con, *upload_data_size);
		if (take_body(p, upload_data, *upload_data_size) != MHD_YES)
			return MHD_NO;
		*upload_data_size = 0;
		return MHD_YES;
	}
	end_body(p);
	if (p->too_large)
		return queue_static(con, 413, p->too_large_json, true);
	if (p->form_failed && p->form != NULL)
		snprintf(p->form_error, sizeof(p->form_error), "%s", http_form_error(p->form));
	return dispatch(l, con, p, url, method);
}

static teeliza_err set_nonblocking(int fd)
{
	int flags = fcntl(fd, F_GETFL);

	if (flags < 0 || fcntl(fd, F_SETFL, flags | O_NONBLOCK) != 0)
		return teeliza_set_error(TEELIZA_ERR_IO, "cannot configure socket: %s", strerror(errno));
	return TEELIZA_OK;
}

static teeliza_err listen_tcp(int *fd_out, uint16_t *port_out, const char *host, uint16_t port)
{
	struct addrinfo hints, *res = NULL, *ai;
	char port_str[8];
	int fd = -1, rc, one = 1, saved = 0;
	struct sockaddr_storage ss;
	socklen_t sl = sizeof(ss);

	*fd_out = -1;
	*port_out = 0;
	memset(&hints, 0, sizeof(hints));
	hints.ai_family = AF_UNSPEC;
	hints.ai_socktype = SOCK_STREAM;
	/* numeric only: starting a server never waits on DNS */
	hints.ai_flags = AI_PASSIVE | AI_NUMERICSERV | AI_NUMERICHOST;
	snprintf(port_str, sizeof(port_str), "%u", (unsigned)port);
	rc = getaddrinfo(strcmp(host, "localhost") == 0 ? "127.0.0.1" : host, port_str, &hints, &res);
	if (rc != 0)
		return teeliza_set_error(TEELIZA_ERR_CONFIG, "cannot listen on %s:%u: not an IP address", host,
		                         (unsigned)port);
	for (ai = res; ai != NULL; ai = ai->ai_next) {
		fd = socket(ai->ai_family, ai->ai_socktype | SOCK_CLOEXEC, ai->ai_protocol);
		if (fd < 0) {
			saved = errno;
			continue;
		}
		(void)setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
		if (bind(fd, ai->ai_addr, ai->ai_addrlen) == 0 && listen(fd, HTTP_LISTEN_BACKLOG) == 0)
			break;
		saved = errno;
		close(fd);
		fd = -1;
	}
	freeaddrinfo(res);
	if (fd < 0)
		return teeliza_set_error(TEELIZA_ERR_IO, "cannot listen on %s:%u: %s", host, (unsigned)port,
		                         strerror(saved));
	if (set_nonblocking(fd) != TEELIZA_OK || getsockname(fd, (struct sockaddr *)&ss, &sl) != 0) {
		close(fd);
		return teeliza_set_error(TEELIZA_ERR_IO, "cannot listen on %s:%u: %s", host, (unsigned)port,
		                         strerror(errno));
	}
	if (ss.ss_family == AF_INET)
		*port_out = ntohs(((struct sockaddr_in *)(void *)&ss)->sin_port);
	else if (ss.ss_family == AF_INET6)
		*port_out = ntohs(((struct sockaddr_in6 *)(void *)&ss)->sin6_port);
	*fd_out = fd;
	return TEELIZA_OK;
}

/* True when something accepts connections on the unix socket at path. */
static bool unix_socket_alive(const struct sockaddr_un *addr)
{
	int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
	bool alive;

	if (fd < 0)
		return false;
	alive = connect(fd, (const struct sockaddr *)addr, sizeof(*addr)) == 0;
	close(fd);
	return alive;
}

static teeliza_err listen_unix(int *fd_out, const char *path, unsigned mode)
{
	struct sockaddr_un addr;
	struct stat st;
	int fd;

	*fd_out = -1;
	memset(&addr, 0, sizeof(addr));
	addr.sun_family = AF_UNIX;
	if (path[0] == 0 || strlen(path) >= sizeof(addr.sun_path))
		return teeliza_set_error(TEELIZA_ERR_CONFIG, "unix socket path must be 1..%zu bytes: %s",
		                         sizeof(addr.sun_path) - 1, path);
	memcpy(addr.sun_path, path, strlen(path) + 1);
	if (lstat(path, &st) == 0) {
		/* A leftover from a server that died is replaced; anything else is not ours to delete. */
		if (!S_ISSOCK(st.st_mode))
			return teeliza_set_error(TEELIZA_ERR_IO, "cannot listen on %s: exists and is not a socket", path);
		if (unix_socket_alive(&addr))
			return teeliza_set_error(TEELIZA_ERR_IO, "cannot listen on %s: another server is using it", path);
		if (unlink(path) != 0)
			return teeliza_set_error(TEELIZA_ERR_IO, "cannot remove stale socket %s: %s", path, strerror(errno));
	}
	fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (fd < 0)
		return teeliza_set_error(TEELIZA_ERR_IO, "cannot create unix socket: %s", strerror(errno));
	if (bind(fd, (struct sockaddr *)&addr, sizeof(addr)) != 0) {
		teeliza_err err = teeliza_set_error(TEELIZA_ERR_IO, "cannot listen on %s: %s", path, strerror(errno));
		close(fd);
		return err;
	}
	if ((mode != 0 && chmod(path, (mode_t)mode) != 0) || listen(fd, HTTP_LISTEN_BACKLOG) != 0 ||
	    set_nonblocking(fd) != TEELIZA_OK) {
		teeliza_err err = teeliza_set_error(TEELIZA_ERR_IO, "cannot listen on %s: %s", path, strerror(errno));
		close(fd);
		unlink(path);
		return err;
	}
	*fd_out = fd;
	return TEELIZA_OK;
}

static void on_connection(void *cls, struct MHD_Connection *con, void **socket_context,
                          enum MHD_ConnectionNotificationCode code)
{
	struct listener *l = cls;

	if (code == MHD_CONNECTION_NOTIFY_STARTED)
		http_guard_conn_started(l->server->guard, socket_context, con, l);
	else if (code == MHD_CONNECTION_NOTIFY_CLOSED)
		http_guard_conn_closed(l->server->guard, *socket_context);
}

static teeliza_err start_daemon(struct listener *l, const char *what)
{
	unsigned flags = MHD_USE_INTERNAL_POLLING_THREAD | MHD_USE_EPOLL | MHD_USE_TURBO;
	unsigned pool = l->server->threads;
	struct MHD_OptionItem tls[3] = {{MHD_OPTION_END, 0, NULL}, {MHD_OPTION_END, 0, NULL}, {MHD_OPTION_END, 0, NULL}};

	if (!l->is_unix && l->server->tls_key != NULL) {
		flags |= MHD_USE_TLS;
		tls[0] = (struct MHD_OptionItem){MHD_OPTION_HTTPS_MEM_KEY, 0, l->server->tls_key};
		tls[1] = (struct MHD_OptionItem){MHD_OPTION_HTTPS_MEM_CERT, 0, l->server->tls_cert};
	}

	/* epoll: no FD_SETSIZE bound on the descriptors, so the connection limit is ours to set */
	l->daemon = MHD_start_daemon(flags, 0, http_guard_accept, l->server->guard, on_request, l,
	                             MHD_OPTION_LISTEN_SOCKET, (MHD_socket)l->fd,
	                             MHD_OPTION_THREAD_POOL_SIZE, (unsigned int)(pool > 1 ? pool : 0),
	                             MHD_OPTION_URI_LOG_CALLBACK, on_uri, l,
	                             MHD_OPTION_NOTIFY_COMPLETED, on_done, l,
	                             MHD_OPTION_NOTIFY_CONNECTION, on_connection, l,
	                             MHD_OPTION_CONNECTION_LIMIT, (unsigned int)l->server->max_connections,
	                             MHD_OPTION_CONNECTION_TIMEOUT, (unsigned int)HTTP_IDLE_TIMEOUT_S,
	                             MHD_OPTION_ARRAY, tls, MHD_OPTION_END);
	if (l->daemon == NULL)
		return teeliza_set_error(TEELIZA_ERR_IO, "cannot start the HTTP server on %s", what);
	l->fd = -1; /* the daemon closes it on stop */
	return TEELIZA_OK;
}

static pthread_once_t nofile_once = PTHREAD_ONCE_INIT;

/* Each connection is a descriptor: let the process use as many as its hard limit allows. */
static void raise_nofile(void)
{
	struct rlimit rl;

	if (getrlimit(RLIMIT_NOFILE, &rl) == 0 && rl.rlim_cur < rl.rlim_max) {
		rl.rlim_cur = rl.rlim_max;
		(void)setrlimit(RLIMIT_NOFILE, &rl);
	}
}

/* max connections per listener that the open-file limit leaves room for, all listeners together. */
static unsigned connections_allowed(unsigned wanted, unsigned listeners)
{
	struct rlimit rl;
	rlim_t room;

	pthread_once(&nofile_once, raise_nofile);
	if (getrlimit(RLIMIT_NOFILE, &rl) != 0 || rl.rlim_cur == RLIM_INFINITY)
		return wanted;
	room = rl.rlim_cur > 2 * HTTP_FD_RESERVE ? rl.rlim_cur - HTTP_FD_RESERVE : rl.rlim_cur / 2;
	room /= listeners;
	if (room < 1)
		room = 1;
	return (rlim_t)wanted < room ? wanted : (unsigned)room;
}

static teeliza_err start_guard(http_server *s, const http_server_config *cfg, unsigned listeners)
{
	http_guard_config g;

	memset(&g, 0, sizeof(g));
	s->max_connections = connections_allowed(
		cfg->max_connections != 0 ? cfg->max_connections : HTTP_SERVER_DEFAULT_MAX_CONNECTIONS, listeners);
	/* libmicrohttpd splits the limit between its worker threads: none may get 0 */
	if (s->max_connections < s->threads)
		s->max_connections = s->threads;
	s->rate_limit = cfg->rate_limit < HTTP_SERVER_MAX_RATE_LIMIT ? cfg->rate_limit : HTTP_SERVER_MAX_RATE_LIMIT;
	g.max_connections = s->max_connections * listeners;
	g.max_per_client = cfg->max_per_client != 0 ? cfg->max_per_client : HTTP_SERVER_DEFAULT_MAX_PER_CLIENT;
	g.request_timeout_s = cfg->request_timeout_s != 0 ? cfg->request_timeout_s : HTTP_SERVER_DEFAULT_REQUEST_TIMEOUT_S;
	g.rate_limit = s->rate_limit;
	return http_guard_new(&s->guard, &g);
}

/* The server's own copy of the TLS chain and key (memory only; the key wiped in http_server_stop). */
static teeliza_err copy_tls(http_server *s, const http_server_config *cfg)
{
	if (cfg->tls_key_pem == NULL && cfg->tls_cert_pem == NULL)
		return TEELIZA_OK;
	if (cfg->tls_key_pem == NULL || cfg->tls_cert_pem == NULL || cfg->host == NULL)
		return teeliza_set_error(TEELIZA_ERR_CONFIG, "HTTPS needs a certificate, its key and a TCP listener");
	if (MHD_is_feature_supported(MHD_FEATURE_TLS) != MHD_YES)
		return teeliza_set_error(TEELIZA_ERR_UNSUPPORTED, "this libmicrohttpd was built without TLS (GnuTLS)");
	s->tls_key_len = strlen(cfg->tls_key_pem);
	s->tls_key = strdup(cfg->tls_key_pem);
	s->tls_cert = strdup(cfg->tls_cert_pem);
	if (s->tls_key == NULL || s->tls_cert == NULL)
		return teeliza_set_error(TEELIZA_ERR_NOMEM, "out of memory");
	return TEELIZA_OK;
}

teeliza_err http_server_start(http_server **out, const http_server_config *cfg)
{
	http_server *s;
	teeliza_err err;

	assert(out != NULL && cfg != NULL && cfg->handler != NULL);
	*out = NULL;
	if (cfg->host == NULL && cfg->unix_socket == NULL)
		return teeliza_set_error(TEELIZA_ERR_CONFIG, "no listener configured: need a TCP address or a unix socket");
	s = calloc(1, sizeof(*s));
	if (s == NULL)
		return teeliza_set_error(TEELIZA_ERR_NOMEM, "out of memory");
	s->handler = cfg->handler;
	s->ctx = cfg->ctx;
	s->headers = cfg->headers;
	s->max_body = cfg->max_body != 0 ? cfg->max_body : HTTP_DEFAULT_MAX_BODY;
	if (cfg->form != NULL) {
		s->form = *cfg->form;
		s->has_form = true;
	}
	s->threads = cfg->threads != 0 ? cfg->threads : HTTP_DEFAULT_THREADS;
	if (s->threads > HTTP_MAX_THREADS)
		s->threads = HTTP_MAX_THREADS;
	s->tcp.server = s->local.server = s;
	s->tcp.fd = s->local.fd = -1;
	s->local.is_unix = true;
	err = copy_tls(s, cfg);
	if (err)
		goto fail;
	err = start_guard(s, cfg, (cfg->host != NULL ? 1u : 0u) + (cfg->unix_socket != NULL ? 1u : 0u));
	if (err)
		goto fail;

	if (cfg->host != NULL) {
		err = listen_tcp(&s->tcp.fd, &s->port, cfg->host, cfg->port);
		if (err)
			goto fail;
		err = start_daemon(&s->tcp, cfg->host);
		if (err)
			goto fail;
	}
	if (cfg->unix_socket != NULL) {
		err = listen_unix(&s->local.fd, cfg->unix_socket, cfg->unix_mode);
		if (err)
			goto fail;
		s->unix_path = strdup(cfg->unix_socket);
		if (s->unix_path == NULL) {
			unlink(cfg->unix_socket);
			err = teeliza_set_error(TEELIZA_ERR_NOMEM, "out of memory");
			goto fail;
		}
		err = start_daemon(&s->local, cfg->unix_socket);
		if (err)
			goto fail;
	}
	*out = s;
	return TEELIZA_OK;
fail:
	http_server_stop(s);
	return err;
}

uint16_t http_server_port(const http_server *s)
{
	assert(s != NULL);
	return s->port;
}

unsigned http_server_max_connections(const http_server *s)
{
	assert(s != NULL);
	return s->max_connections;
}

static void stop_listener(struct listener *l)
{
	if (l->daemon != NULL)
		MHD_stop_daemon(l->daemon);
	l->daemon = NULL;
	if (l->fd >= 0)
		close(l->fd);
	l->fd = -1;
}

void http_server_stop(http_server *s)
{
	struct stat st;

	if (s == NULL)
		return;
	/* the sweeper first: it must not shut down a descriptor the daemons are closing */
	http_guard_stop(s->guard);
	stop_listener(&s->tcp);
	stop_listener(&s->local);
	http_guard_free(s->guard);
	if (s->unix_path != NULL) {
		if (lstat(s->unix_path, &st) == 0 && S_ISSOCK(st.st_mode))
			unlink(s->unix_path);
		free(s->unix_path);
	}
	if (s->tls_key != NULL)
		teeliza_wipe(s->tls_key, s->tls_key_len);
	free(s->tls_key);
	free(s->tls_cert);
	free(s);
}
