/*
 * elizaOS 1.x's REST API under /api (@elizaos/server 1.7.2, the routes
 * @elizaos/api-client 1.7.2 calls), served beside the 0.1.x routes by the
 * same router and over the same registry, store and message pipeline
 * (agent_runtime_message): agents (api_v1_agents.c), the sessions a v1
 * client chats through (api_v1_sessions.c), channels (api_v1_messaging.c),
 * memories and the server's ping (api_v1_memory.c). What only v1 has lives
 * in one api_v1 per API (api_v1_state.c): agents created but not started,
 * sessions, and which channel belongs to which agent. Its envelopes are in
 * api_v1_reply.c; docs/API-V1.md is the user-level reference.
 */
#ifndef TEELIZA_AGENT_API_V1_H
#define TEELIZA_AGENT_API_V1_H

#include "agent/api/api_route.h"

/* v1's session limits (SESSION_DEFAULT_TIMEOUT_MINUTES and friends; fixed here). */
#define API_V1_SESSION_TIMEOUT_MIN 30
#define API_V1_SESSION_MAX_DURATION_MIN 720
#define API_V1_SESSION_WARNING_MIN 5
/* A session message's content: 1..4000 characters (JavaScript's length: UTF-16 units). */
#define API_V1_MAX_CONTENT 4000u
/* Session metadata as JSON (v1's 10240 bytes). */
#define API_V1_MAX_METADATA 10240u
/* Bounds on what the network can make us keep: sessions, channels, created agents. */
#define API_V1_MAX_SESSIONS 4096u
#define API_V1_MAX_CHANNELS 4096u
#define API_V1_MAX_AGENTS 256u
/* v1's default message server (world) id. */
#define API_V1_DEFAULT_SERVER "00000000-0000-0000-0000-000000000000"

typedef struct api_v1 api_v1;

/* ---- state (api_v1_state.c); every call locks, results are copies ---- */

teeliza_err api_v1_new(api_v1 **out) TEELIZA_WARN_UNUSED;
void api_v1_free(api_v1 *v1);

/* When the API started (ms): the createdAt of agents the operator started. */
int64_t api_v1_started_at(const api_v1 *v1);

/*
 * An agent created with POST /api/agents (or stopped after it): its
 * character as posted (with its secrets, to start it again; never shown),
 * and its times. put: TEELIZA_ERR_INVALID (when !replace and the id is
 * taken), TEELIZA_ERR_TOO_LARGE (API_V1_MAX_AGENTS). character is copied.
 */
teeliza_err api_v1_agent_put(api_v1 *v1, const char *id, const json_t *character, bool replace) TEELIZA_WARN_UNUSED;
/* Out: *character (new reference, may be NULL when not wanted), times. TEELIZA_ERR_NOT_FOUND. */
teeliza_err api_v1_agent_get(json_t **character, int64_t *created_at, int64_t *updated_at, api_v1 *v1,
                             const char *id) TEELIZA_WARN_UNUSED;
bool api_v1_agent_remove(api_v1 *v1, const char *id);
/* The ids of the created agents, as a JSON array of strings (new reference; NULL: out of memory). */
json_t *api_v1_agent_ids(api_v1 *v1);

/* One session. metadata is a JSON object (owned by the state; copies get their own reference). */
typedef struct api_v1_session {
	char id[AGENT_UUID_BUFSZ];
	char channel_id[AGENT_UUID_BUFSZ];
	char agent_id[AGENT_UUID_BUFSZ];
	char user_id[AGENT_UUID_BUFSZ];
	json_t *metadata;
	int64_t created_at, last_activity, expires_at; /* ms */
	unsigned renewals;
} api_v1_session;

/* Add s (metadata reference taken). TEELIZA_ERR_TOO_LARGE when API_V1_MAX_SESSIONS live sessions exist. */
teeliza_err api_v1_session_add(api_v1 *v1, const api_v1_session *s) TEELIZA_WARN_UNUSED;
/*
 * A copy of session id (out->metadata a new reference: clear with
 * api_v1_session_clear). renew: slide its expiry (v1's auto-renew, capped
 * at the maximum duration) and count the renewal. TEELIZA_ERR_NOT_FOUND;
 * TEELIZA_ERR_EXPIRED when it has expired (the copy is filled all the same).
 */
teeliza_err api_v1_session_get(api_v1_session *out, bool *renewed, api_v1 *v1, const char *id,
                               bool renew) TEELIZA_WARN_UNUSED;
bool api_v1_session_remove(api_v1 *v1, const char *id);
/* A session as v1's getSession shows it (new reference). */
json_t *api_v1_session_info(const api_v1_session *s, int64_t now);
/* Every session as v1 lists them (new reference), with the counts. */
json_t *api_v1_session_list(api_v1 *v1, int64_t now);
void api_v1_session_clear(api_v1_session *s);

/* Remember that channel_id talks to agent_id (sessions, channel posts); the oldest is forgotten past the bound. */
teeliza_err api_v1_channel_note(api_v1 *v1, const char *channel_id, const char *agent_id) TEELIZA_WARN_UNUSED;
/* The agent of a channel (copied into agent_id); false when unknown. */
bool api_v1_channel_agent(char agent_id[AGENT_UUID_BUFSZ], api_v1 *v1, const char *channel_id);
/* The channels of an agent, newest first, as a JSON array of strings (new reference). */
json_t *api_v1_agent_channels(api_v1 *v1, const char *agent_id);

/* ---- replies (api_v1_reply.c) ---- */

/* 200/201 {"success":true,"data":data} (steals data). */
void api_v1_ok(http_server_reply *reply, unsigned status, json_t *data);
/* {"success":false,"error":{"code":code,"message":message}}. */
void api_v1_fail(http_server_reply *reply, unsigned status, const char *code, const char *message);
/* The sessions API's errors: {"error":{"code","message","timestamp"}} (no "success", no stack). */
void api_v1_session_fail(http_server_reply *reply, unsigned status, const char *code, const char *message);
/* v1's 404 for an unknown /api path: {"success":false,"error":{"message":"API endpoint not found","code":404}}. */
void api_v1_not_found(http_server_reply *reply);
/* Is this request for the v1 API (its first segment "api")? */
bool api_v1_path(const api_request *r);
/* ms since the epoch as JavaScript's Date.toISOString() ("2026-12-01T23:59:59.123Z"). */
void api_v1_iso_time(char out[32], int64_t ms);
/*
 * A path or body id as v1's validateUuid accepts it (8-4-4-4-12 hex, any
 * case), lowercased into out (teeliza's ids are lowercase). false: not a UUID.
 */
bool api_v1_uuid(char out[AGENT_UUID_BUFSZ], const char *s);
/* Length of UTF-8 text in UTF-16 units (JavaScript's String.length). */
size_t api_v1_js_length(const char *s);

/* ---- characters (api_v1_character.c) ---- */

/*
 * The one place a v1 route turns a posted character into an agent_character:
 * POST /api/agents and PATCH /api/agents/:id. Out: *out, and report
 * (initialised here; caller frees) with the loader's message on failure.
 * Errors: TEELIZA_ERR_INVALID (the character is refused), TEELIZA_ERR_NOMEM.
 */
teeliza_err api_v1_character_load(agent_character **out, teeliza_buf *report,
                                  const json_t *character) TEELIZA_WARN_UNUSED;
/*
 * What a network caller brought itself, in the 0.1.x shape the model's
 * operator-key check reads (agent_registry_start_posted): a v1 document
 * converted with no env value merged, a 0.1.x one as posted; c is what it
 * loaded into (it tells the format). The 0.1.x POST /agents/:id/set reads
 * v1 bodies too and uses this as well. New reference in *out.
 * TEELIZA_ERR_NOMEM.
 */
teeliza_err api_v1_posted_form(json_t **out, const agent_character *c, const json_t *character) TEELIZA_WARN_UNUSED;
/*
 * An agent as v1's Agent type shows it: the character without secrets,
 * with id, enabled, status ("active"/"inactive"), createdAt, updatedAt.
 * character NULL: rt's. New reference, NULL on allocation failure.
 */
json_t *api_v1_agent_json(const json_t *character, agent_runtime *rt, const char *id, int64_t created_at,
                          int64_t updated_at);

/* ---- the message path shared by sessions and channels (api_v1_messaging.c) ---- */

/* What a v1 message does with its reply. */
typedef enum api_v1_transport {
	API_V1_HTTP,      /* the agent's answer in the reply (agentResponse) */
	API_V1_WEBSOCKET, /* the answer is stored in the channel only (no Socket.IO here: clients poll) */
} api_v1_transport;

/*
 * Parse v1's transport (or legacy mode) field: NULL or absent → dflt.
 * false with a v1 message in why when it is not one we serve.
 */
bool api_v1_parse_transport(api_v1_transport *out, char *why, size_t why_len, const json_t *body,
                            api_v1_transport dflt);

/*
 * Send text from user_id to the agent in channel_id through the runtime's
 * pipeline (TEE actions, storage, the wallet answer: the same as 0.1.x's
 * POST /:agentId/message). Out: *user_message ({id, content, authorId,
 * createdAt, metadata}), *agent_response (v1's responseContent: {text,
 * thought?, actions, inReplyTo, actionCallbacks?}, JSON null when the agent
 * said nothing); new references. Errors as agent_runtime_message.
 */
teeliza_err api_v1_chat(json_t **user_message, json_t **agent_response, agent_runtime *rt, const char *channel_id,
                        const char *user_id, const char *text, const json_t *metadata) TEELIZA_WARN_UNUSED;

/* A stored message as v1's channel Message (agent_id: the channel's agent, or NULL). New reference. */
json_t *api_v1_channel_message(const agent_memory *m, const char *agent_id);

/*
 * The newest limit messages of a room (any agent), created before `before`
 * and after `after` (ms; 0: no bound), newest first; *has_more when there
 * are older ones. Free out with agent_memory_list_free.
 */
teeliza_err api_v1_room_messages(agent_memory_list *out, bool *has_more, agent_store *store, const char *room,
                                 size_t limit, int64_t before, int64_t after) TEELIZA_WARN_UNUSED;

/*
 * ?limit (default 50, clamped to 1..100 as v1 does), ?before, ?after (ms).
 * false when before or after is not a number: answered 400 in the sessions'
 * error form (session_errors) or the envelope.
 */
bool api_v1_page(size_t *limit, int64_t *before, int64_t *after, http_server_reply *reply, const api_request *r,
                 bool session_errors);

/*
 * Answer 201 with body (stolen) and the reply's receipt (X-Teeliza-Receipt,
 * as for 0.1.x replies: api_send_with_receipt).
 */
void api_v1_send_with_receipt(http_server_reply *reply, agent_api *api, agent_runtime *rt, const api_request *r,
                              const char *room_id, json_t *body);

/* The router's refusals on a v1 path, in v1's envelope. */
void api_v1_unauthorized(http_server_reply *reply);
void api_v1_forbidden(http_server_reply *reply);

#endif
