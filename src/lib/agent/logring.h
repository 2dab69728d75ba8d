/*
 * The agent's recent log lines, kept in memory for the dashboard's logs
 * view (GET /dashboard/api/logs). Every line agent_log writes goes in, with
 * secrets cut out first: the values registered with agent_logring_add_secret
 * (each agent's WALLET_SECRET_SALT), the values of environment variables
 * whose names say they hold a secret (…SALT, …KEY, …SECRET, …TOKEN,
 * …PASSWORD…), and PEM private-key blocks. Process-wide; thread-safe.
 */
#ifndef TEELIZA_AGENT_LOGRING_H
#define TEELIZA_AGENT_LOGRING_H

#include <jansson.h>
#include <stdarg.h>

#include "teeliza/common.h"

/* Lines kept; the oldest go first. */
#define AGENT_LOGRING_LINES 512
/* Longest line kept (bytes); longer ones are cut with a note of their length. */
#define AGENT_LOGRING_LINE_MAX 1024

/* What a redacted secret is replaced with. */
#define AGENT_LOGRING_REDACTED "[redacted]"

/*
 * Never let s appear in the ring (strings shorter than 4 bytes are
 * ignored: redacting them would shred ordinary text). The value is copied.
 */
void agent_logring_add_secret(const char *s);

/* Register every string in the character's settings.secrets (model keys, salts, …) with agent_logring_add_secret. */
struct agent_character;
void agent_logring_add_character_secrets(const struct agent_character *c);

/* Add the text of one log event (split at '\n' into lines), redacted. */
void agent_logring_vpush(const char *fmt, va_list ap);
void agent_logring_push(const char *fmt, ...) TEELIZA_PRINTF(1, 2);

/*
 * The newest lines (at most max; 0: all kept), oldest first, as a JSON
 * array of {"seq":n,"time":ms,"line":"…"}; seq counts every line ever
 * pushed, so a client can ask for what is new. Only lines with seq > after
 * are returned. Out: *out (new reference). TEELIZA_ERR_NOMEM.
 */
teeliza_err agent_logring_json(json_t **out, uint64_t after, size_t max) TEELIZA_WARN_UNUSED;

/* Forget every line (tests). Registered secrets stay. */
void agent_logring_clear(void);

#endif
