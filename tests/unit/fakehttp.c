#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <cmocka.h>

#include "fakehttp.h"
#include "teeliza/common/common.h"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

/* The body of one request as it arrives, kept in MHD's per-connection pointer. */
struct upload {
	teeliza_buf body;
};

static enum MHD_Result handle(void *cls, struct MHD_Connection *conn, const char *url, const char *method,
                              const char *version, const char *upload_data, size_t *upload_data_size,
                              void **con_cls)
{
	struct fakehttp *h = cls;
	struct upload *up = *con_cls;

	(void)version;
	if (up == NULL) {
		up = calloc(1, sizeof(*up));
		if (up == NULL)
			return MHD_NO;
		teeliza_buf_init(&up->body, h->max_body);
		*con_cls = up;
		return MHD_YES;
	}
	if (*upload_data_size > 0) {
		if (teeliza_buf_append(&up->body, upload_data, *upload_data_size) != TEELIZA_OK)
			return MHD_NO;
		*upload_data_size = 0;
		return MHD_YES;
	}
	return h->handler(h->ctx, conn, method, url, up->body.data != NULL ? (const char *)up->body.data : "",
	                  up->body.len);
}

static void request_done(void *cls, struct MHD_Connection *conn, void **con_cls,
                         enum MHD_RequestTerminationCode toe)
{
	struct upload *up = *con_cls;

	(void)cls;
	(void)conn;
	(void)toe;
	if (up != NULL) {
		teeliza_buf_free(&up->body);
		free(up);
		*con_cls = NULL;
	}
}

int fakehttp_listen_tcp(uint16_t *port)
{
	struct sockaddr_in sa;
	socklen_t sl = sizeof(sa);
	int fd = socket(AF_INET, SOCK_STREAM, 0);

	assert_true(fd >= 0);
	memset(&sa, 0, sizeof(sa));
	sa.sin_family = AF_INET;
	sa.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	assert_int_equal(bind(fd, (struct sockaddr *)&sa, sizeof(sa)), 0);
	assert_int_equal(listen(fd, 16), 0);
	assert_int_equal(getsockname(fd, (struct sockaddr *)&sa, &sl), 0);
	*port = ntohs(sa.sin_port);
	return fd;
}

int fakehttp_listen_unix(const char *path)
{
	struct sockaddr_un sa;
	int fd = socket(AF_UNIX, SOCK_STREAM, 0);

	assert_true(fd >= 0);
	memset(&sa, 0, sizeof(sa));
	sa.sun_family = AF_UNIX;
	assert_true(strlen(path) < sizeof(sa.sun_path));
	memcpy(sa.sun_path, path, strlen(path) + 1);
	assert_int_equal(bind(fd, (struct sockaddr *)&sa, sizeof(sa)), 0);
	assert_int_equal(listen(fd, 16), 0);
	return fd;
}

void fakehttp_start(struct fakehttp *h, bool unix_socket, size_t max_body, fakehttp_handler handler, void *ctx)
{
	int fd;

	memset(h, 0, sizeof(*h));
	h->max_body = max_body;
	h->handler = handler;
	h->ctx = ctx;
	if (unix_socket) {
		snprintf(h->dir, sizeof(h->dir), "%s", "/tmp/teeliza-tappd-test-XXXXXX");
		assert_non_null(mkdtemp(h->dir));
		snprintf(h->sock_path, sizeof(h->sock_path), "%s/tappd.sock", h->dir);
		fd = fakehttp_listen_unix(h->sock_path);
	} else {
		fd = fakehttp_listen_tcp(&h->port);
	}
	h->daemon = MHD_start_daemon(MHD_USE_THREAD_PER_CONNECTION | MHD_USE_INTERNAL_POLLING_THREAD, 0, NULL, NULL,
	                             handle, h, MHD_OPTION_LISTEN_SOCKET, fd, MHD_OPTION_NOTIFY_COMPLETED,
	                             request_done, h, MHD_OPTION_END);
	assert_non_null(h->daemon);
}

void fakehttp_stop(struct fakehttp *h)
{
	MHD_stop_daemon(h->daemon);
	h->daemon = NULL;
	if (h->sock_path[0]) {
		unlink(h->sock_path);
		rmdir(h->dir);
	}
}

static enum MHD_Result count_arg(void *cls, enum MHD_ValueKind kind, const char *key, const char *value)
{
	(void)kind;
	(void)key;
	(void)value;
	(*(int *)cls)++;
	return MHD_YES;
}

static void copy_header(char *out, size_t len, struct MHD_Connection *conn, const char *name)
{
	const char *v = MHD_lookup_connection_value(conn, MHD_HEADER_KIND, name);

	snprintf(out, len, "%s", v != NULL ? v : "");
}

bool fakehttp_record(struct fakehttp_request *rec, struct MHD_Connection *conn, const char *method, const char *url,
                     const char *body, size_t body_len)
{
	fakehttp_request_free(rec);
	snprintf(rec->method, sizeof(rec->method), "%s", method);
	snprintf(rec->path, sizeof(rec->path), "%s", url);
	MHD_get_connection_values(conn, MHD_GET_ARGUMENT_KIND, count_arg, &rec->nargs);
	copy_header(rec->content_type, sizeof(rec->content_type), conn, MHD_HTTP_HEADER_CONTENT_TYPE);
	copy_header(rec->content_length, sizeof(rec->content_length), conn, MHD_HTTP_HEADER_CONTENT_LENGTH);
	copy_header(rec->auth, sizeof(rec->auth), conn, MHD_HTTP_HEADER_AUTHORIZATION);
	rec->body = malloc(body_len + 1);
	if (rec->body == NULL)
		return false;
	memcpy(rec->body, body, body_len);
	rec->body[body_len] = 0;
	rec->body_len = body_len;
	return true;
}

void fakehttp_request_free(struct fakehttp_request *rec)
{
	free(rec->body);
	memset(rec, 0, sizeof(*rec));
}

struct chunked_body {
	size_t len;
	char data[];
};

static ssize_t chunk_reader(void *cls, uint64_t pos, char *buf, size_t max)
{
	const struct chunked_body *c = cls;
	size_t left;

	if (pos >= c->len)
		return MHD_CONTENT_READER_END_OF_STREAM;
	left = c->len - (size_t)pos;
	if (left > max)
		left = max;
	memcpy(buf, c->data + pos, left);
	return (ssize_t)left;
}

enum MHD_Result fakehttp_reply(struct MHD_Connection *conn, unsigned status, const char *body, size_t len,
                               bool chunked)
{
	struct MHD_Response *resp;
	enum MHD_Result ret;

	if (chunked) {
		struct chunked_body *c = malloc(sizeof(*c) + len);

		if (c == NULL)
			return MHD_NO;
		c->len = len;
		memcpy(c->data, body, len);
		resp = MHD_create_response_from_callback(MHD_SIZE_UNKNOWN, 4096, chunk_reader, c, free);
		if (resp == NULL)
			free(c);
	} else {
		resp = MHD_create_response_from_buffer(len, (void *)body, MHD_RESPMEM_MUST_COPY);
	}
	if (resp == NULL)
		return MHD_NO;
	MHD_add_response_header(resp, MHD_HTTP_HEADER_CONTENT_TYPE, "application/json");
	ret = MHD_queue_response(conn, status, resp);
	MHD_destroy_response(resp);
	return ret;
}
