/*
 * Eliza-compatible identifiers.
 *
 * Eliza names agents, users, rooms and memories with `stringToUuid(text)`
 * (@elizaos/core): the SHA-1 of encodeURIComponent(text), laid out as a UUID
 * with byte 6 masked to its low nibble (no version digit, so the third group
 * always starts with '0') and byte 8 forced to the RFC 4122 variant
 * (`& 0x3f | 0x80`). The functions here give byte-identical strings, so a
 * teeliza agent keeps the ids an Eliza deployment of the same character had.
 *
 * All outputs are 36 lowercase characters plus NUL (AGENT_UUID_BUFSZ).
 */
#ifndef TEELIZA_AGENT_UUID_H
#define TEELIZA_AGENT_UUID_H

#include "teeliza/common/common.h"

#ifdef __cplusplus
extern "C" {
#endif

#define AGENT_UUID_STRLEN 36
#define AGENT_UUID_BUFSZ 37

/*
 * stringToUuid over the len bytes at s (UTF-8; may contain NUL bytes).
 * Valid UTF-8 gives exactly Eliza's value. Invalid UTF-8 has no JS
 * equivalent (JS strings cannot hold it); its bytes are percent-encoded
 * one by one. Fails only when the SHA-1 provider fails (TEELIZA_ERR_CRYPTO).
 */
teeliza_err agent_uuid_from_bytes(char out[AGENT_UUID_BUFSZ], const char *s, size_t len) TEELIZA_WARN_UNUSED;

/* stringToUuid(s) for a NUL-terminated string. */
teeliza_err agent_uuid_from_string(char out[AGENT_UUID_BUFSZ], const char *s) TEELIZA_WARN_UNUSED;

/* stringToUuid(a + "-" + b): Eliza's memory ids (`messageId + "-" + userId`). */
teeliza_err agent_uuid_join(char out[AGENT_UUID_BUFSZ], const char *a, const char *b) TEELIZA_WARN_UNUSED;

/*
 * stringToUuid(Date.now().toString()): the per-message base id the direct
 * client derives both memory ids from.
 */
teeliza_err agent_uuid_from_ms(char out[AGENT_UUID_BUFSZ], int64_t ms) TEELIZA_WARN_UNUSED;

/*
 * User id of a REST caller: stringToUuid(user), with Eliza's default
 * "user" when user is NULL.
 */
teeliza_err agent_uuid_user(char out[AGENT_UUID_BUFSZ], const char *user) TEELIZA_WARN_UNUSED;

/*
 * Room id of a REST message: stringToUuid(room) when room is not NULL,
 * else stringToUuid("default-room-" + agent_ref), where agent_ref is the
 * agent id or name exactly as it appeared in the URL (so talking to an agent
 * by name and by UUID gives two rooms, as in Eliza).
 */
teeliza_err agent_uuid_room(char out[AGENT_UUID_BUFSZ], const char *room, const char *agent_ref) TEELIZA_WARN_UNUSED;

/*
 * True when s has the shape zod's `.uuid()` accepts: 8-4-4-4-12 hex digits,
 * either case, nothing else (no version/variant check, so Eliza's own ids
 * and the nil UUID pass).
 */
bool agent_uuid_is_valid(const char *s);

/*
 * The memory ids of a request with a client key (teeliza's convention for
 * replicas, not Eliza's; docs/DEPLOY.md "Scale-out"): the user's message
 * stringToUuid(agent + ":" + room + ":" + user + ":" + key) and the reply
 * stringToUuid(message + ":reply"). They name the room and the user, so
 * two users' replies never share an id, and a retry on any replica maps to
 * the same rows.
 */
teeliza_err agent_uuid_request_ids(char message[AGENT_UUID_BUFSZ], char reply[AGENT_UUID_BUFSZ],
                                   const char *agent_id, const char *room_id, const char *user_id,
                                   const char *key) TEELIZA_WARN_UNUSED;

/* stringToUuid(message + ":reply:" + n): the n-th extra message (an action's answer) of a keyed request. */
teeliza_err agent_uuid_request_extra(char out[AGENT_UUID_BUFSZ], const char *message, unsigned n) TEELIZA_WARN_UNUSED;

/* A random version-4 UUID (lowercase) from OpenSSL's RNG. */
teeliza_err agent_uuid_random(char out[AGENT_UUID_BUFSZ]) TEELIZA_WARN_UNUSED;

#ifdef __cplusplus
}
#endif
#endif
