/*
 * A loopback HTTP server for tests, on libmicrohttpd: one thread per
 * connection; the whole request body is collected before the test's handler
 * sees the request. Tests keep their own reply logic in the handler and use
 * the helpers below to record what was asked and to answer. Include after
 * cmocka.h: start and the listeners fail the test on error.
 */
#ifndef TEELIZA_FAKEHTTP_H
#define TEELIZA_FAKEHTTP_H

#include <microhttpd.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/*
 * Called once per complete request, on a server thread (so no cmocka asserts
 * in it). body is NUL-terminated ("" when there is none). Returns what
 * MHD_queue_response returned, or MHD_NO to drop the connection.
 */
typedef enum MHD_Result (*fakehttp_handler)(void *ctx, struct MHD_Connection *conn, const char *method,
                                            const char *url, const char *body, size_t body_len);

struct fakehttp {
	struct MHD_Daemon *daemon;
	uint16_t port;              /* TCP port, or 0 on a unix socket */
	char dir[64];               /* temp dir holding the socket, or "" */
	char sock_path[108];        /* unix socket, or "" */
	size_t max_body;            /* a bigger request body drops the connection */
	fakehttp_handler handler;
	void *ctx;
};

/*
 * Start serving on a free loopback TCP port, or (unix_socket) on
 * tappd.sock in a fresh /tmp directory. Fails the test on error.
 */
void fakehttp_start(struct fakehttp *h, bool unix_socket, size_t max_body, fakehttp_handler handler, void *ctx);

/* Stop the server (waits for its threads) and remove the socket and its directory. */
void fakehttp_stop(struct fakehttp *h);

/* A listening loopback socket on a free port, written to *port. Caller owns the fd. */
int fakehttp_listen_tcp(uint16_t *port);

/* A listening unix socket bound at path. Caller owns the fd and unlinks path. */
int fakehttp_listen_unix(const char *path);

/* One request as the server saw it; absent headers are "". */
struct fakehttp_request {
	char method[16];
	char path[256];
	int nargs;                  /* query arguments */
	char content_type[128];
	char content_length[32];
	char auth[600];             /* Authorization */
	char *body;                 /* NUL-terminated; free with fakehttp_request_free */
	size_t body_len;
};

/*
 * Record the request into *rec, replacing (and freeing) what it held.
 * Returns false when the body copy could not be allocated (rec->body is then NULL).
 */
bool fakehttp_record(struct fakehttp_request *rec, struct MHD_Connection *conn, const char *method, const char *url,
                     const char *body, size_t body_len);

/* Free the recorded body; the record reads as empty afterwards. */
void fakehttp_request_free(struct fakehttp_request *rec);

/*
 * Queue a copy of body[0..len) with status and Content-Type application/json.
 * chunked: sent without Content-Length, so a client must cap while reading.
 */
enum MHD_Result fakehttp_reply(struct MHD_Connection *conn, unsigned status, const char *body, size_t len,
                               bool chunked);

#endif
