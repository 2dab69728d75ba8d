/*
 * TDX event logs (as tappd returns them: a JSON array of
 * {imr, event_type, digest, event, event_payload}) and RTMR replay.
 */
#ifndef TEELIZA_RTMR_H
#define TEELIZA_RTMR_H

#include "teeliza/common/common.h"

#ifdef __cplusplus
extern "C" {
#endif

#define TEE_RTMR_LEN 48
#define TEE_EVENT_DIGEST_MAX 64

typedef struct tee_event {
	uint32_t imr;
	uint32_t event_type;
	uint8_t digest[TEE_EVENT_DIGEST_MAX]; /* as given; shorter ones are right-padded at replay */
	size_t digest_len;
	char *event;                          /* UTF-8, owned */
	uint8_t *payload;                     /* owned */
	size_t payload_len;
} tee_event;

typedef struct tee_event_log {
	tee_event *events;
	size_t count;
	size_t cap;
} tee_event_log;

void tee_event_log_init(tee_event_log *log);
void tee_event_log_free(tee_event_log *log);

/*
 * Parse tappd's event-log JSON text. Rejects (TEELIZA_ERR_PARSE, message names
 * the index and field) non-arrays, missing/mistyped fields, non-hex or
 * odd-length digests and digests longer than 64 bytes. Unknown fields are ignored.
 */
teeliza_err tee_event_log_parse(tee_event_log *out, const char *json, size_t len) TEELIZA_WARN_UNUSED;

/*
 * Parse what `teeliza replay` accepts: the event-log JSON above, or a JSON
 * object that carries one - "event_log" (tappd's TdxQuote answer, dstack's
 * GetQuote answer) or "eventLog" (`teeliza quote --json`, the agent's
 * attestation route), each an array or its JSON text; or these inside
 * "attestation" (`teeliza derive --json`) or "tcb_info" (tappd's Info, an
 * object or JSON text). A UTF-8 byte order mark and leading whitespace are
 * skipped. TEELIZA_ERR_PARSE for anything else (an object with both
 * "event_log" and "eventLog", or with neither, or with duplicate keys).
 */
teeliza_err tee_event_log_parse_input(tee_event_log *out, const char *text, size_t len) TEELIZA_WARN_UNUSED;

/*
 * The event-log JSON text inside what tee_event_log_parse_input accepts
 * (the text itself, without a byte order mark and leading whitespace, or
 * the carried member: its string, or the array written out compactly),
 * unparsed, for a stricter parser (tee_dstack_events_parse). Appends to
 * out. TEELIZA_ERR_PARSE as tee_event_log_parse_input for the wrappers.
 */
teeliza_err tee_event_log_input_text(teeliza_buf *out, const char *text, size_t len) TEELIZA_WARN_UNUSED;

/* Append an event (copies event and payload). */
teeliza_err tee_event_log_add(tee_event_log *log, uint32_t imr, uint32_t event_type,
                              const uint8_t *digest, size_t digest_len, const char *event,
                              const uint8_t *payload, size_t payload_len) TEELIZA_WARN_UNUSED;

/*
 * Append a runtime event the way tappd records them for RTMR3:
 * digest = SHA-384(le32(event_type) ‖ ":" ‖ event ‖ ":" ‖ payload).
 */
teeliza_err tee_event_log_add_runtime(tee_event_log *log, uint32_t imr, uint32_t event_type,
                                      const char *event, const uint8_t *payload,
                                      size_t payload_len) TEELIZA_WARN_UNUSED;

/* Compact JSON array text as real tappd serializes it (digests/payloads plain lowercase hex). */
teeliza_err tee_event_log_to_json(teeliza_buf *out, const tee_event_log *log) TEELIZA_WARN_UNUSED;

/*
 * Replay: for each of RTMR0..3, mr = 48 zero bytes, then for each event of
 * that imr in order mr = SHA-384(mr ‖ digest right-padded with zeros to 48).
 * An RTMR with no events stays all zero. (The JS SDK's rule.)
 */
void tee_rtmr_replay(uint8_t rtmr[4][TEE_RTMR_LEN], const tee_event_log *log);

/* Replay, keeping the running value after every event (for showing the chain of trust):
 * running[i] = the value of RTMR events[i].imr after extending events[i]. */
void tee_rtmr_replay_steps(uint8_t (*running)[TEE_RTMR_LEN], const tee_event_log *log);

#ifdef __cplusplus
}
#endif
#endif
