/*
 * HTTP client (libcurl) and server (libmicrohttpd) wrappers, shared by the
 * tappd client, the simulator, the agent's REST API, model clients and PCCS
 * fetching.
 */
#ifndef TEELIZA_HTTP_H
#define TEELIZA_HTTP_H

#include "teeliza/common/common.h"

#ifdef __cplusplus
extern "C" {
#endif

/* ---- client ---- */

typedef struct http_request {
	const char *method;         /* "GET", "POST", ... */
	const char *url;            /* full URL; with unix_socket set, the host part is ignored */
	const char *unix_socket;    /* NULL for TCP */
	const char *content_type;   /* NULL: none */
	const char *const *headers; /* NULL-terminated "Name: value" list, or NULL */
	const uint8_t *body;
	size_t body_len;
	long timeout_ms;            /* 0: 30000; covers connect, send and receive */
	size_t max_response;        /* 0: 16 MiB; a bigger body fails with TEELIZA_ERR_TOO_LARGE */
	bool no_proxy;              /* ignore http_proxy & co. (tappd: the JS SDK never uses a proxy) */
	bool secret_response;       /* the body holds a secret: wiped on growth and free */
	bool tls_no_verify;         /* https: no CA or name check (only `teeliza healthcheck --insecure` of a loopback
	                               server, whose RA-TLS certificate comes from no CA) */
} http_request;

typedef struct http_response {
	long status;
	teeliza_buf body;           /* NUL-terminated; free with http_response_free */
	char content_type[128];
} http_response;

/*
 * Perform a request. Out: resp (zeroed first; on success free with
 * http_response_free, on failure nothing to free). The body is sent with its
 * true byte length. Transport failures map to TEELIZA_ERR_CONNECT ("cannot
 * connect to <where>: ..."), TEELIZA_ERR_TIMEOUT, TEELIZA_ERR_TOO_LARGE; a
 * malformed URL or a scheme other than http/https to TEELIZA_ERR_INVALID.
 * <where> is the URL, or "unix socket <path> (<url path>)". Any HTTP status
 * is success here; callers judge status. Redirects are not followed.
 * Thread-safe (libcurl is initialised once, without signals).
 */
teeliza_err http_perform(http_response *resp, const http_request *req) TEELIZA_WARN_UNUSED;
void http_response_free(http_response *resp);

/*
 * Complete a TLS handshake with host:port (a name, or an IP address
 * without brackets) and return the leaf certificate the server presented,
 * as PEM (pem initialised here; free with teeliza_buf_free). No CA or name
 * is checked (RA-TLS: the quote inside the certificate is what is
 * trusted); no proxy is used. timeout_ms 0: 30000. Errors:
 * TEELIZA_ERR_INVALID for a host that cannot be one, TEELIZA_ERR_CONNECT
 * (connection or handshake refused, naming the URL), TEELIZA_ERR_TIMEOUT,
 * TEELIZA_ERR_PROTOCOL when no certificate came.
 */
teeliza_err http_tls_peer_cert(teeliza_buf *pem, const char *host, uint16_t port, long timeout_ms) TEELIZA_WARN_UNUSED;

/* ---- server ---- */

typedef struct http_server http_server;
struct http_form;          /* teeliza/http/form.h */
struct http_form_limits;

typedef struct http_server_request {
	const char *method;
	const char *path;            /* without the query string */
	const char *query;           /* raw query string without '?', "" when none */
	const char *content_type;    /* "" when none */
	const char *authorization;   /* "" when none */
	const char *api_key;         /* the X-API-KEY header (elizaOS 1.x's credential), "" when none */
	const char *idempotency_key; /* the Idempotency-Key header, "" when none (NULL in a hand-made request) */
	const uint8_t *body;         /* NUL-terminated copy ("" for a multipart body read as form) */
	size_t body_len;
	const char *remote;          /* peer address, "unix" for unix sockets */
	const struct http_form *form; /* a multipart/form-data body parsed as it arrived (config.form), else NULL */
	const char *form_error;      /* non-NULL when that multipart body was malformed: why (form is NULL) */
	bool remote_local;           /* a loopback address (127.0.0.0/8, ::1, ::ffff:127.x.y.z) or a unix socket */
} http_server_request;

typedef struct http_server_reply {
	unsigned status;
	const char *content_type;    /* default "application/json" */
	teeliza_buf body;            /* handler appends; freed by the server */
	const char *extra_headers[8]; /* "Name: value"; unused slots NULL */
} http_server_reply;

/* Called on a server thread; must be thread-safe. */
typedef void (*http_handler_fn)(http_server_reply *reply, const http_server_request *req, void *ctx);

typedef struct http_server_config {
	const char *host;            /* TCP bind address; NULL for no TCP listener */
	uint16_t port;               /* 0 = any free port (see http_server_port) */
	const char *unix_socket;     /* unix socket path, or NULL */
	unsigned unix_mode;          /* chmod for the socket, e.g. 0666 */
	size_t max_body;             /* bigger bodies get 413 with a JSON error; 0 = 1 MiB */
	/*
	 * When set, multipart/form-data bodies are not collected: they are parsed
	 * as they arrive (http_form.h), text parts kept and file parts counted,
	 * so only these limits bound them; one that is hit gets 413.
	 */
	const struct http_form_limits *form;
	unsigned threads;            /* worker threads; 0 = 2 */
	http_handler_fn handler;
	void *ctx;
	/*
	 * "Name: value" lines (NULL-terminated, borrowed for the server's life)
	 * added to every reply, the server's own 413 and 429 included, unless the
	 * handler set a header of that name: e.g. the CORS headers an API promises.
	 */
	const char *const *headers;
	/*
	 * HTTPS on the TCP listener (the unix socket stays plain): the PEM
	 * certificate chain (leaf first) and its PEM private key, both
	 * NUL-terminated. The server keeps its own copy of the key, in memory
	 * only, wiped when it stops; the caller may wipe its own after start.
	 * NULL: plain HTTP. libmicrohttpd without TLS support: TEELIZA_ERR_UNSUPPORTED.
	 */
	const char *tls_cert_pem;
	const char *tls_key_pem;
	/* Limits; 0 = the default. docs/AGENT.md and docs/SIMULATED-QUOTES.md describe them. */
	unsigned max_connections;    /* per listener (4096), capped by the open-file limit */
	unsigned max_per_client;     /* connections open at once from one IPv4 address or IPv6 /64 (256) */
	unsigned request_timeout_s;  /* to receive a whole request: line, headers and body (30), plus 1 s per
	                                HTTP_SERVER_BODY_MIN_RATE body bytes */
	unsigned rate_limit;         /* requests per minute per client address (0 = none); 429 beyond */
} http_server_config;

#define HTTP_SERVER_DEFAULT_MAX_CONNECTIONS 4096u
#define HTTP_SERVER_DEFAULT_MAX_PER_CLIENT 256u
#define HTTP_SERVER_DEFAULT_REQUEST_TIMEOUT_S 30u
#define HTTP_SERVER_MAX_RATE_LIMIT 1000000u
/* Body bytes a second that keep extending the request deadline (an upload at this pace is never cut). */
#define HTTP_SERVER_BODY_MIN_RATE 16384u

/*
 * Start listening (both TCP and unix socket when both are configured).
 *
 * Every reply carries X-Content-Type-Options: nosniff, and an HTML one a
 * Content-Security-Policy with frame-ancestors 'none' (added beside the
 * handler's own policy when that one does not forbid framing). A request
 * must arrive whole within request_timeout_s of the connection opening or
 * of the previous reply on it, plus a second per HTTP_SERVER_BODY_MIN_RATE
 * body bytes received, else the connection is closed; that also bounds idle
 * keep-alive. A client over max_per_client has its new
 * connections closed at once; over the rate limit it gets 429 with
 * Retry-After and a JSON error (unix-socket clients have neither limit).
 * The first start raises the process's soft open-file limit to its hard
 * limit, so that max_connections can be served.
 */
teeliza_err http_server_start(http_server **out, const http_server_config *cfg) TEELIZA_WARN_UNUSED;
uint16_t http_server_port(const http_server *s);  /* bound TCP port */
/* The connection limit per listener in effect (max_connections after the open-file cap). */
unsigned http_server_max_connections(const http_server *s);
/* Stop, close sockets, unlink the unix socket, free. NULL-safe. */
void http_server_stop(http_server *s);

struct sockaddr;
/*
 * True for a peer on this machine: a unix socket, 127.0.0.0/8, ::1 or
 * ::ffff:127.x.y.z. len is the address's size; anything shorter than its
 * family needs is not local.
 */
bool http_sockaddr_is_local(const struct sockaddr *sa, size_t len);

/*
 * True when a host name or address, as written in a URL or a bind setting,
 * is this machine's loopback: "localhost" (any case), 127.0.0.0/8 or ::1
 * (without brackets). NULL and anything else: false.
 */
bool http_host_is_loopback(const char *host);

#ifdef __cplusplus
}
#endif
#endif
