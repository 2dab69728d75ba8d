/*
 * The REST API's routes: each route file exports a table of routes (method,
 * path pattern, who may call it, handler); the server (api_server.c) hands
 * every request to the router (api_router.c), which walks the tables in the
 * order of api_route_tables (api_routes.c) and calls the first route that
 * matches. Route files call down (api_request.h, the runtime, the
 * verifier), never into the server or the router.
 */
#ifndef TEELIZA_AGENT_API_ROUTE_H
#define TEELIZA_AGENT_API_ROUTE_H

#include "agent/api/api_request.h"
#include "agent/runtime/runtime_internal.h"
#include "teeliza/agent/api.h"

struct agent_api {
	agent_registry *registry;
	http_server *server;
	FILE *log;
	char host[64];
	char *token;                     /* NULL: no authentication */
	size_t token_len;
	uint16_t port;
	struct api_v1 *v1;               /* what only the v1 API keeps (api_v1_state.c) */
	struct api_verifier *verifier;   /* POST /verify and the dashboard's verdicts (api_verifier.c) */
	http_form_limits form_limits;    /* multipart bodies (api_body.c) */
	int64_t request_lease_ms;        /* claims of Idempotency-Key requests (api_idempotency.c) */
	struct api_ready *ready;         /* the database's reachability, checked at most once a second (api_ready.c) */
	struct api_idem_pending *pending; /* answered requests whose completion waits for the database (api_idem_pending.c) */
};

/* Who may call a route. */
typedef enum api_auth {
	API_OPEN,     /* anyone: no token asked (GET /, /hello, /healthz, the dashboard's files) */
	API_TOKEN,    /* "Authorization: Bearer <API_TOKEN>" when the API has a token; anyone when it has none */
	API_CONTROL,  /* as API_TOKEN; without a token, loopback clients only (403 to others): set, stop, delete */
} api_auth;

/* Methods a route answers (a mask). */
#define API_GET 1u    /* GET and HEAD (the server sends no body for HEAD) */
#define API_POST 2u
#define API_DELETE 4u
#define API_PATCH 8u  /* the v1 API's updates */

/* Route flags. */
#define API_ROUTE_FILE 1u /* the last segment is a file name, matched case-sensitively as express.static does */
#define API_ROUTE_DB 2u   /* needs the database: 503 with Retry-After while it is unreachable (api_ready.c) */

typedef void api_handler_fn(http_server_reply *reply, agent_api *api, const api_request *r);

/*
 * One route. pattern: "/" or "/seg/seg/...", each segment a literal,
 * matched case-insensitively as Express routes are (but see
 * API_ROUTE_FILE), or ":name", which matches any one segment and is handed
 * to the handler in r->param (in order). A pattern matches a path with
 * exactly as many segments; empty segments ("//", a trailing "/") do not
 * count. Tables end with a route whose pattern is NULL.
 */
typedef struct api_route {
	unsigned methods;
	const char *pattern;
	api_auth auth;
	api_handler_fn *handler;
	unsigned flags;
} api_route;

/* The tables, one per route file. */
extern const api_route api_ops_routes[];        /* api_ops.c: GET /, /hello, /healthz, /metrics */
extern const api_route api_dashboard_routes[];  /* api_dashboard.c: /dashboard, its files and JSON views */
extern const api_route api_agents_routes[];     /* api_agents.c: /agents, /agents/:id, set, stop, delete */
extern const api_route api_records_routes[];    /* api_records.c: an agent's memories and attestations */
extern const api_route api_verify_routes[];     /* api_verify.c: POST /verify */
extern const api_route api_message_routes[];    /* api_message.c: POST /:agentId/message */
/* elizaOS 1.x's API under /api (api_v1.h) */
extern const api_route api_v1_agents_routes[];    /* api_v1_agents.c: /api/agents… */
extern const api_route api_v1_sessions_routes[];  /* api_v1_sessions.c: /api/messaging/sessions… */
extern const api_route api_v1_messaging_routes[]; /* api_v1_messaging.c: /api/messaging/channels…, submit */
extern const api_route api_v1_memory_routes[];    /* api_v1_memory.c: /api/memory…, /api/server/ping */
extern const api_route api_ready_routes[];      /* api_ready.c: GET /readyz */
extern const api_route api_instances_routes[];  /* api_instances.c: GET /agents/:agentId/instances */

/*
 * Readiness (api_ready.c): the store's ping, cached for a second. New/free
 * with the API. api_ready_gate answers 503 with Retry-After and returns
 * false while the database is unreachable; else true and replies nothing.
 */
struct api_ready;
teeliza_err api_ready_new(struct api_ready **out) TEELIZA_WARN_UNUSED;
void api_ready_free(struct api_ready *r);
bool api_ready_gate(http_server_reply *reply, agent_api *api);

/*
 * Idempotent messages (api_idempotency.c). api_idem_begin reads the
 * request's key (the Idempotency-Key header, else the body's messageId):
 * none → returns true with idem->active false (handle as before). With a
 * key it claims the request: true when this replica should do the work
 * (idem->active; the memory ids are in idem), false when it has already
 * replied (a stored answer, 400 for a bad key, 409 busy, 422 another body,
 * 503). After the work, api_idem_end stores a 2xx reply for retries (and
 * releases the claim of anything else); when the database is unreachable
 * then, the completion is kept and retried (api_idem_pending.c), never
 * released: the reply's memories are already written.
 */
typedef struct api_idem {
	bool active;
	int64_t lease_until_ms;          /* agent_store_now_ms() until which the claim's lease surely runs (from before the claim) */
	char key[AGENT_REQUEST_KEY_MAX + 1];
	char agent_id[AGENT_UUID_BUFSZ];
	char user_memory_id[AGENT_UUID_BUFSZ];
	char reply_memory_id[AGENT_UUID_BUFSZ];
} api_idem;
bool api_idem_begin(api_idem *idem, http_server_reply *reply, agent_api *api, const api_request *r,
                    agent_runtime *rt, const char *user_id, const char *room_id);
void api_idem_end(api_idem *idem, const http_server_reply *reply, agent_api *api, agent_runtime *rt);
/*
 * In-flight marks (api_idem_in_flight.c): op > 0 adds one for agent_id/key,
 * op < 0 removes one, op 0 neither; returns how many the key has then (all
 * threads'; more than any real count when the table overflowed).
 * api_idem_unmark removes one (an entry of api_idem_pending leaving).
 */
size_t api_idem_in_flight(const char *agent_id, const char *key, int op);
void api_idem_unmark(const char *agent_id, const char *key);

/*
 * Completions that found the database unreachable (api_idem_pending.c):
 * kept (at most max, 0: API_IDEM_PENDING_MAX; the oldest dropped, logged)
 * and retried by the API's own thread until recorded or no longer this
 * replica's claim (given up 10 minutes past lease_until_ms). An entry holds its key's
 * in-flight mark and gives it up (api_idem_unmark) when it leaves. _add
 * takes response (malloc'd). _stop tries the queue once more, then frees it.
 */
#define API_IDEM_PENDING_MAX 4096u
struct api_idem_pending;
teeliza_err api_idem_pending_start(struct api_idem_pending **out, agent_store *store, FILE *log,
                                   size_t max) TEELIZA_WARN_UNUSED;
void api_idem_pending_add(struct api_idem_pending *p, const char *agent_id, const char *key, char *response,
                          int64_t lease_until_ms);
bool api_idem_pending_has(struct api_idem_pending *p, const char *agent_id, const char *key);
void api_idem_pending_stop(struct api_idem_pending *p);

/* GET /agents/:agentId/receipts/:receiptId and /agents/:agentId/attestation (api_receipts.c; in api_records_routes). */
api_handler_fn api_get_receipt;
api_handler_fn api_get_fresh_attestation;
/* POST /verify/reply (api_verify_reply.c; in api_verify_routes). */
api_handler_fn api_post_verify_reply;

/*
 * Send a message's reply array (stolen) with its receipt (api_receipts.c):
 * the X-Teeliza-Receipt header, and with ?receipt=1 a "teelizaReceipt"
 * field in the last reply. Without a TEE plugin, or when no receipt can be
 * made (logged), the reply goes out as it is.
 */
void api_send_with_receipt(http_server_reply *reply, agent_api *api, agent_runtime *rt, const api_request *r,
                           const char *room_id, json_t *out);
/* The same with another status (the v1 API's 201); an object reply gets the header only. */
void api_send_with_receipt_status(http_server_reply *reply, agent_api *api, agent_runtime *rt, const api_request *r,
                                  const char *room_id, json_t *out, unsigned status);

/*
 * The same for a reply whose memories were stored with its receipt in one
 * transaction: set in.seal = api_seal_reply and in.seal_ctx to a zeroed
 * api_reply_seal with api, r and room_id before agent_runtime_message, then
 * send with api_send_sealed (which also frees what the seal kept, and falls
 * back to api_send_with_receipt when the runtime did not call the seal).
 * After a failed message call api_reply_seal_free instead.
 */
typedef struct api_reply_seal {
	agent_api *api;
	const api_request *r;
	const char *room_id;
	char *text;                      /* the reply array as sent and hashed (malloc'd), or NULL */
	char id[65];                     /* the receipt's id, "" when none */
	bool called;
} api_reply_seal;

teeliza_err api_seal_reply(void *ctx, agent_runtime *rt, const json_t *reply, const agent_memory *memories,
                           size_t n);
void api_send_sealed(http_server_reply *reply, agent_runtime *rt, api_reply_seal *seal, json_t *out);
void api_reply_seal_free(api_reply_seal *seal);

/*
 * A character set over the API on one replica reaches the others
 * (api_character_sync.c): api_character_share stores what POST
 * /agents/:id/set was given as the agent's next version;
 * api_character_sync asks the store (at most once a second per agent) and,
 * when another replica set a newer one, restarts the agent with it. It
 * takes rt's reference and returns the agent to use (rt itself, or the new
 * one), never NULL.
 */
void api_character_share(agent_api *api, agent_runtime *rt, const json_t *posted);
agent_runtime *api_character_sync(agent_api *api, agent_runtime *rt);

/* The order the router walks them in (api_routes.c), NULL-terminated. */
extern const api_route *const api_route_tables[];

/*
 * Does route match r (method and path)? On a match r->param and r->n_param
 * hold the ":name" segments. A request deeper than any route (r->too_deep)
 * matches nothing.
 */
bool api_route_matches(api_request *r, const api_route *route);

/* The first route of tables (NULL-terminated list of tables) that matches r, or NULL. */
const api_route *api_route_find(api_request *r, const api_route *const *tables);

/*
 * Answer r: the first matching route of tables, after the check its auth
 * class asks for (401 with WWW-Authenticate: Bearer for a missing or wrong
 * token, 403 for a control route from another machine without a token).
 * With no matching route: 401 when the token is missing or wrong (the
 * token is checked before any unknown path, as Eliza's middleware does),
 * else Express's 404 "Cannot <METHOD> <path>".
 */
void api_dispatch(http_server_reply *reply, agent_api *api, api_request *r, const api_route *const *tables);

#endif
