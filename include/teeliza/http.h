/*
 * HTTP client (libcurl) and server (libmicrohttpd) wrappers, shared by the
 * tappd client, the simulator, the agent's REST API, model clients and PCCS
 * fetching.
 */
#ifndef TEELIZA_HTTP_H
#define TEELIZA_HTTP_H

#include "teeliza/common.h"

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

/* ---- server ---- */

typedef struct http_server http_server;
struct http_form;          /* teeliza/http_form.h */
struct http_form_limits;

typedef struct http_server_request {
	const char *method;
	const char *path;            /* without the query string */
	const char *query;           /* raw query string without '?', "" when none */
	const char *content_type;    /* "" when none */
	const char *authorization;   /* "" when none */
	const uint8_t *body;         /* NUL-terminated copy ("" for a multipart body read as form) */
	size_t body_len;
	const char *remote;          /* peer address, "unix" for unix sockets */
	const struct http_form *form; /* a multipart/form-data body parsed as it arrived (config.form), else NULL */
	const char *form_error;      /* non-NULL when that multipart body was malformed: why (form is NULL) */
} http_server_request;

typedef struct http_server_reply {
	unsigned status;
	const char *content_type;    /* default "application/json" */
	teeliza_buf body;            /* handler appends; freed by the server */
	const char *extra_headers[8]; /* "Name: value", NULL-terminated */
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
} http_server_config;

/* Start listening (both TCP and unix socket when both are configured). */
teeliza_err http_server_start(http_server **out, const http_server_config *cfg) TEELIZA_WARN_UNUSED;
uint16_t http_server_port(const http_server *s);  /* bound TCP port */
/* Stop, close sockets, unlink the unix socket, free. NULL-safe. */
void http_server_stop(http_server *s);

#ifdef __cplusplus
}
#endif
#endif
