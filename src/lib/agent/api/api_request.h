/*
 * The REST API's requests and replies, the lowest layer of
 * src/lib/agent/api: what the server and every route file use. The reply
 * helpers are in api_reply.c, the path in api_router.c, bodies and query
 * parameters in api_body.c and api_query_number.c. Nothing here calls up
 * into the server or a route.
 */
#ifndef TEELIZA_AGENT_API_REQUEST_H
#define TEELIZA_AGENT_API_REQUEST_H

#include "teeliza/common/common.h"
#include "teeliza/http/form.h"
#include "teeliza/http/http.h"

#include <jansson.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define API_MAX_SEGMENTS 8
#define API_MAX_PARAMS 4

/* A request split into path segments, with its parsed body. */
typedef struct api_request {
	const http_server_request *http;
	char *path_copy;                 /* segments point into it */
	const char *seg[API_MAX_SEGMENTS];
	size_t n_seg;
	bool too_deep;                   /* more segments than seg holds (n_seg is then 0) */
	const char *param[API_MAX_PARAMS]; /* the segments the route's ":name"s matched, in order (api_router.c) */
	size_t n_param;
	json_t *body;                    /* the body's fields as an object ({} when none); NULL when unparsable */
	unsigned body_status;            /* 400 or 413 when body is NULL */
	char body_error[240];            /* why body is NULL */
	json_t *files;                   /* multipart file parts [{field,title,contentType,size}], NULL when none */
} api_request;

/* Reply helpers: status + JSON (compact, Express's res.json) or text (res.send). */
void api_reply_json(http_server_reply *reply, unsigned status, json_t *value); /* steals value */
void api_reply_error(http_server_reply *reply, unsigned status, const char *message);
void api_reply_text(http_server_reply *reply, unsigned status, const char *text);
/*
 * Whether err, what a route got from the store or from the runtime over it,
 * is the database's failure to answer in time: the latest store failure on
 * this thread since agent_store_failure_reset is err, and err is
 * TEELIZA_ERR_CONNECT (unreachable) or TEELIZA_ERR_TIMEOUT (busy: no pooled
 * connection came free, a lock wait ran out). Such a request is worth a
 * retry: answer 503 with Retry-After (api_reply_retry_after), not 500.
 */
bool api_store_unavailable(teeliza_err err);
/* Add "Retry-After: 1" to reply's extra headers (the first free one). */
void api_reply_retry_after(http_server_reply *reply);

/* Split "/a/b/c/" into r->seg (at most API_MAX_SEGMENTS; false when there are more or out of memory). */
bool api_split_path(api_request *r, const char *path);

/*
 * The body of r->http as Express reads it (api_body.c): a JSON object, an
 * urlencoded form (body-parser with qs) or the parts of a multipart/form-data
 * body (multer), a repeated field name giving an array of its values. Out:
 * r->body (new reference) and r->files; on failure r->body is NULL and
 * r->body_status (400, 413) and r->body_error say why.
 */
void api_parse_body(api_request *r);

/*
 * Eliza's content.attachments for POST /:agentId/message: one Media object
 * per file part named "file" (multer's upload.single("file")), the file
 * itself not kept. Out: a new array; NULL with the reason in err when a
 * file part has another name.
 */
json_t *api_message_attachments(char *err, size_t err_len, const api_request *r);

/* The limits of multipart bodies for a body limit (EXPRESS_MAX_PAYLOAD) and a file limit. */
void api_form_limits(http_form_limits *out, size_t max_body, size_t max_file);

/* The value of name in a query string (percent-decoded into out), or NULL. */
const char *api_query_param(char *out, size_t out_len, const char *query, const char *name);

/*
 * The number in query parameter name (api_query_number.c): *present (when
 * not NULL) false and *out untouched when the query does not name it; else it must be a
 * decimal in [min, max] (teeliza_parse_u64). Errors: TEELIZA_ERR_INVALID
 * (present but not such a number, or unreadable), TEELIZA_ERR_NOMEM.
 */
teeliza_err api_query_u64(uint64_t *out, bool *present, const char *query, const char *name, uint64_t min,
                          uint64_t max) TEELIZA_WARN_UNUSED;

#endif
