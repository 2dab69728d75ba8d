/*
 * The server's defences against clients that hold it (src/lib/http/server_guard.c):
 * a deadline for receiving each whole request, a cap on the connections of one
 * client, and an optional per-client request rate. One guard per http_server,
 * shared by its listeners; libmicrohttpd's callbacks feed it.
 *
 * A client is an IPv4 address, or an IPv6 /64 (one subscriber's usual
 * allocation: counting single IPv6 addresses would let one client open
 * millions). Unix-socket clients are local by file permission and are not
 * counted, but their requests have the same deadline.
 */
#ifndef TEELIZA_HTTP_SERVER_GUARD_H
#define TEELIZA_HTTP_SERVER_GUARD_H

#include "teeliza/http/http.h"

#include <microhttpd.h>
#include <sys/socket.h>

typedef struct http_guard http_guard;

/* A client for the limits: family 4 with the IPv4 address, or 6 with the /64 prefix. */
typedef struct http_client_id {
	uint64_t value;
	uint8_t family;
} http_client_id;

/* Out: *id. False for a peer that is no client of its own (unix socket, unknown family). */
bool http_client_id_of(http_client_id *id, const struct sockaddr *sa, size_t len);

typedef struct http_guard_config {
	unsigned max_per_client;     /* connections open at once from one client; >= 1 */
	unsigned request_timeout_s;  /* to receive one whole request (line, headers, body); >= 1 */
	unsigned rate_limit;         /* requests per minute per client; 0 = no limit */
	unsigned max_connections;    /* all listeners together: sizes the client table */
} http_guard_config;

/* Create the guard and start its sweeper thread. */
teeliza_err http_guard_new(http_guard **out, const http_guard_config *cfg) TEELIZA_WARN_UNUSED;
/* Stop the sweeper (before the daemons stop: they close their connections through the guard). */
void http_guard_stop(http_guard *g);
/* Free; every connection must have been closed (after MHD_stop_daemon). NULL-safe. */
void http_guard_free(http_guard *g);

/*
 * MHD_OPTION_NOTIFY_CONNECTION, through the server: STARTED counts the
 * connection (a client over its cap is cut at once), CLOSED forgets it.
 * owner is what http_guard_owner returns for this connection.
 */
void http_guard_conn_started(http_guard *g, void **socket_context, struct MHD_Connection *con, void *owner);
void http_guard_conn_closed(http_guard *g, void *socket_context);

/* The accept policy: MHD_NO for a client already at its cap (a cheap early refusal). */
enum MHD_Result http_guard_accept(void *cls, const struct sockaddr *addr, socklen_t addrlen);

/* n more body bytes arrived: each HTTP_SERVER_BODY_MIN_RATE of them extends the deadline by a second. */
void http_guard_body_received(struct MHD_Connection *con, size_t n);
/* The whole request is in: its deadline stops while the handler runs and the reply goes out. */
void http_guard_request_received(struct MHD_Connection *con);
/* The reply is sent: the next request on this connection must arrive within the deadline. */
void http_guard_reply_done(struct MHD_Connection *con);

/*
 * Count one request against the client's rate. 0: allowed; otherwise the
 * whole seconds (>= 1) until the client may send again.
 */
unsigned http_guard_rate_check(struct MHD_Connection *con);

/* The owner given to http_guard_conn_started, or NULL. */
void *http_guard_owner(struct MHD_Connection *con);

#endif
