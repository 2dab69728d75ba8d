/* Internals of the REST API (src/lib/agent/api*.c). */
#ifndef TEELIZA_AGENT_API_INTERNAL_H
#define TEELIZA_AGENT_API_INTERNAL_H

#include "agent/runtime/runtime_internal.h"
#include "teeliza/http/form.h"

struct agent_api {
	agent_registry *registry;
	http_server *server;
	FILE *log;
	char host[64];
	char *token;                     /* NULL: no authentication */
	size_t token_len;
	uint16_t port;
	struct api_verifier *verifier;   /* POST /verify and the dashboard's verdicts (api_verify.c) */
	http_form_limits form_limits;    /* multipart bodies (api_body.c) */
};

/* A request split into path segments, with its parsed body. */
typedef struct api_request {
	const http_server_request *http;
	char *path_copy;                 /* segments point into it */
	const char *seg[8];
	size_t n_seg;
	bool too_deep;                   /* more segments than seg holds (n_seg is then 0) */
	json_t *body;                    /* the body's fields as an object ({} when none); NULL when unparsable */
	unsigned body_status;            /* 400 or 413 when body is NULL */
	char body_error[240];            /* why body is NULL */
	json_t *files;                   /* multipart file parts [{field,title,contentType,size}], NULL when none */
} api_request;

/* Reply helpers: status + JSON (compact, Express's res.json) or text (res.send). */
void api_reply_json(http_server_reply *reply, unsigned status, json_t *value); /* steals value */
void api_reply_error(http_server_reply *reply, unsigned status, const char *message);
void api_reply_text(http_server_reply *reply, unsigned status, const char *text);

/* Split "/a/b/c/" into r->seg (at most 8 segments; false when there are more or out of memory). */
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

/* Route handlers (src/lib/agent/api_routes.c). */
void api_route_agents(http_server_reply *reply, agent_api *api);
void api_route_agent_get(http_server_reply *reply, agent_api *api, const char *id);
void api_route_agent_delete(http_server_reply *reply, agent_api *api, const char *id);
void api_route_agent_set(http_server_reply *reply, agent_api *api, const api_request *r, const char *id);
void api_route_agent_stop(http_server_reply *reply, agent_api *api, const char *id);
void api_route_memories(http_server_reply *reply, agent_api *api, const api_request *r, const char *id,
                        const char *room);
void api_route_attestation(http_server_reply *reply, agent_api *api, const api_request *r, const char *id,
                           const char *quote_id);
void api_route_message(http_server_reply *reply, agent_api *api, const api_request *r, const char *agent_ref);

/* Operations (src/lib/agent/api_ops.c): GET /healthz, GET /metrics. */
void api_route_healthz(http_server_reply *reply, agent_api *api);
void api_route_metrics(http_server_reply *reply, agent_api *api);

/*
 * Quote verification (src/lib/agent/api_verify.c, api_simroot.c): trust in
 * Intel's root and, for their own quotes, in the simulators the agent knows
 * (in-process, or its TEE endpoint when that is a teeliza simulator),
 * labelled as such, with their collateral.
 */
typedef struct api_verifier api_verifier;
teeliza_err api_verifier_new(api_verifier **out, const struct tee_sim_pki *sim_pki) TEELIZA_WARN_UNUSED;
void api_verifier_free(api_verifier *v);

/*
 * When t's plugin is in simulator mode and its endpoint is a teeliza
 * simulator, learn that simulator's root and collateral (Tappd.SimRoot):
 * asked at most once a minute per endpoint (daily once known), 2 s timeout,
 * 256 KiB cap, parsed strictly. Logs to log when a root is learned.
 */
void api_verifier_learn_simulator(api_verifier *v, agent_tee *t, FILE *log, int64_t now);

typedef struct api_verify_input {
	const uint8_t *quote;
	size_t quote_len;
	const char *collateral_json;   /* NULL: a known simulator's when the quote chains to it, else none */
	size_t collateral_len;
	const char *root_pem;          /* roots the caller trusts for this request (PEM), or NULL */
	size_t root_pem_len;
	int64_t now;
} api_verify_input;

/*
 * Verify a quote. Out: *out, the verifier's verdict JSON with "rootedIn"
 * ("intel", "simulator", "caller" or null), "label", "collateralSource",
 * "simulator" (its root's SHA-256 and endpoint) and the decoded "quote";
 * *status, the HTTP status (200 for any verdict; 400 for a truncated quote,
 * bad collateral or a bad root, 422 with advice when collateral is needed).
 */
teeliza_err api_verify_quote(json_t **out, unsigned *status, api_verifier *v,
                             const api_verify_input *in) TEELIZA_WARN_UNUSED;
void api_route_verify(http_server_reply *reply, agent_api *api, const api_request *r);

/* The dashboard (src/lib/agent/api_dashboard.c): its embedded assets and JSON views. */
bool api_route_dashboard_asset(http_server_reply *reply, const api_request *r);
void api_route_dashboard_agent(http_server_reply *reply, agent_api *api, const char *id);
void api_route_dashboard_logs(http_server_reply *reply, const api_request *r);

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
