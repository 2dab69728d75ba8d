/*
 * The agent's recent log lines, kept in memory for the dashboard's logs
 * view (GET /dashboard/api/logs), and the redaction every agent log line
 * goes through first, on stderr as in the ring (agent_log in
 * runtime_util.c). Cut out are: the values registered with
 * agent_logring_add_secret (each agent's WALLET_SECRET_SALT, every string
 * in its settings.secrets), the values of environment variables whose
 * names say they hold a secret (…SALT, …KEY, …SECRET, …TOKEN,
 * …PASSWORD…; read at the first line), and PEM private-key blocks.
 * There is no limit on the number of secrets; when one cannot be kept
 * (memory), redaction fails closed: every later line is withheld.
 * Process-wide; thread-safe.
 */
#ifndef TEELIZA_AGENT_LOGRING_H
#define TEELIZA_AGENT_LOGRING_H

#include <jansson.h>
#include <stdbool.h>
#include <stdint.h>

#include "teeliza/common/common.h"

/* Lines kept; the oldest go first. */
#define AGENT_LOGRING_LINES 512
/* Longest line kept (bytes); longer ones are cut with a note of their length. */
#define AGENT_LOGRING_LINE_MAX 1024

/* What a redacted secret is replaced with. */
#define AGENT_LOGRING_REDACTED "[redacted]"
/* What is logged instead of a line that could not be redacted. */
#define AGENT_LOGRING_WITHHELD "[redacted] (a log line was withheld: its secrets could not be checked)"

/*
 * Never let s appear in a log line (strings shorter than 4 bytes are
 * ignored: redacting them would shred ordinary text), for the life of the
 * process (the environment's salt). The value is copied. When the copy
 * cannot be made, every later line is withheld.
 */
void agent_logring_add_secret(const char *s);

/*
 * The same while an agent needs it: each hold is matched by one release,
 * and the last release of a secret that is not also added for good wipes
 * and forgets the copy, so that agents replaced again and again (POST
 * /agents/:id/set) do not make the list grow.
 */
void agent_logring_hold_secret(const char *s);
void agent_logring_release_secret(const char *s);

/* Hold (release) every string in the character's settings.secrets (model keys, salts, …). */
struct agent_character;
void agent_logring_hold_character_secrets(const struct agent_character *c);
void agent_logring_release_character_secrets(const struct agent_character *c);

/*
 * text[0..len) with every occurrence of every registered secret replaced
 * by AGENT_LOGRING_REDACTED: where occurrences overlap or one secret holds
 * another, the whole covered stretch becomes one AGENT_LOGRING_REDACTED.
 * Out: out (initialised here; the caller frees it, also on failure).
 * Errors: TEELIZA_ERR_NOMEM, or TEELIZA_ERR_INTERNAL once a secret could
 * not be registered: the caller then logs AGENT_LOGRING_WITHHELD instead.
 */
teeliza_err agent_logring_redact(teeliza_buf *out, const char *text, size_t len) TEELIZA_WARN_UNUSED;

/*
 * Is this line (one line of a multi-line block) part of a PEM private key?
 * *in_key carries the state from one line of a block to the next (start
 * with false).
 */
bool agent_logring_private_key_line(const char *line, size_t len, bool *in_key);

/* Keep one finished log line (redacted and escaped; no '\n'). */
void agent_logring_push_line(const char *line, size_t len, int64_t time_ms);

/*
 * The newest lines (at most max; 0: all kept), oldest first, as a JSON
 * array of {"seq":n,"time":ms,"line":"…"}; seq counts every line ever
 * pushed, so a client can ask for what is new. Only lines with seq > after
 * are returned (none when after is at or past the newest). Out: *out (new
 * reference). TEELIZA_ERR_NOMEM.
 */
teeliza_err agent_logring_json(json_t **out, uint64_t after, size_t max) TEELIZA_WARN_UNUSED;

/* How many secrets are registered (tests). */
size_t agent_logring_secret_count(void);

/* Forget every line (tests). Registered secrets stay. */
void agent_logring_clear(void);

#endif
