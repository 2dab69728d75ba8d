/*
 * dstack runtime events (RTMR3) and the event log of the 0.5 guest agent's
 * GetQuote: digests, strict parsing, RTMR0–3 replay, the identity events the
 * OS emits before "system-ready", and Info's mr_aggregated.
 *
 *   digest    = SHA-384(LE32(0x08000001) ‖ ":" ‖ event ‖ ":" ‖ payload)
 *   RTMR3_new = SHA-384(RTMR3_old ‖ digest), from 48 zero bytes
 *
 * (dstack v0.5.11: cc-eventlog/src/{runtime_events,tdx}.rs,
 * dstack-attest/src/attestation.rs.)
 */
#ifndef TEELIZA_DSTACK_EVENTS_H
#define TEELIZA_DSTACK_EVENTS_H

#include "teeliza/common/common.h"
#include "teeliza/dcap/quote.h"
#include "teeliza/tee/rtmr.h"

#ifdef __cplusplus
extern "C" {
#endif

#define TEE_DSTACK_RUNTIME_EVENT_TYPE 0x08000001u /* DSTACK_RUNTIME_EVENT_TYPE; not a TCG value */
#define TEE_DSTACK_EV_NO_ACTION 3u                /* TCG: logged, never extended */
#define TEE_DSTACK_EVENT_LOG_MAX (1024u * 1024u)  /* bytes of event-log JSON accepted */
#define TEE_DSTACK_EVENTS_MAX 4096u               /* events per log */
#define TEE_DSTACK_DIGEST_LEN 48

/* The runtime-event digest (event and payload are byte strings; NULL only when empty). */
void tee_dstack_event_digest(uint8_t out[TEE_DSTACK_DIGEST_LEN], const char *event, size_t event_len,
                             const uint8_t *payload, size_t payload_len);

/* mr = SHA-384(mr ‖ digest). */
void tee_dstack_rtmr_extend(uint8_t mr[TEE_RTMR_LEN], const uint8_t digest[TEE_DSTACK_DIGEST_LEN]);

/* The identity events a verifier reads (only before "system-ready"). */
typedef enum tee_dstack_ident {
	TEE_DSTACK_IDENT_APP_ID = 0,        /* 20 bytes */
	TEE_DSTACK_IDENT_COMPOSE_HASH = 1,  /* 32 bytes */
	TEE_DSTACK_IDENT_INSTANCE_ID = 2,   /* 20 bytes, or empty (no_instance_id) */
	TEE_DSTACK_IDENT_OS_IMAGE_HASH = 3, /* 32 bytes */
	TEE_DSTACK_IDENT_KEY_PROVIDER = 4,  /* JSON text, e.g. {"name":"kms","id":"<hex>"} */
	TEE_DSTACK_IDENT_STORAGE_FS = 5,    /* text, e.g. "zfs" */
	TEE_DSTACK_IDENT__COUNT
} tee_dstack_ident;

/* The event name: "app-id", "compose-hash", "instance-id", "os-image-hash", "key-provider", "storage-fs". */
const char *tee_dstack_ident_name(tee_dstack_ident id);

typedef struct tee_dstack_events {
	/*
	 * Every event in log order, imr/event_type/name/payload as carried. The
	 * digest is what was extended: as carried for imr 0–2, recomputed for
	 * runtime events (never taken from the log). tee_rtmr_replay() on it
	 * differs from rtmr below only if the log holds EV_NO_ACTION events.
	 */
	tee_event_log log;
	uint8_t rtmr[4][TEE_RTMR_LEN];   /* replayed RTMR0–3 */
	size_t runtime_count;            /* runtime events (all on imr 3) */
	size_t stripped_count;           /* runtime events that carried no digest (the 0.5.8+ form) */
	size_t mismatch_count;           /* runtime events whose carried digest was not the recomputed one */
	size_t first_mismatch;           /* index in log of the first of those; SIZE_MAX when none */
	uint8_t first_mismatch_carried[TEE_DSTACK_DIGEST_LEN]; /* the digest it carried */
	size_t system_ready;             /* index of the first "system-ready" runtime event; SIZE_MAX when none */
	size_t ident[TEE_DSTACK_IDENT__COUNT]; /* index in log of each identity event; SIZE_MAX when absent */
} tee_dstack_events;

/*
 * Parse a GetQuote event_log (the JSON text inside the response's string):
 * an array of {imr, event_type, digest, event, event_payload}, hex without
 * "0x". Both forms are read: stripped (imr 0–2 with digests and maybe empty
 * payloads, runtime events with digest "") and full (digests everywhere).
 *
 * Strict, for hostile input: at most TEE_DSTACK_EVENT_LOG_MAX bytes and
 * TEE_DSTACK_EVENTS_MAX events; no duplicate keys; imr, event_type, event
 * and event_payload required (digest may be absent, as serde's default);
 * imr 0..3 and event_type 0..2^32−1 integers; event valid UTF-8 without NUL;
 * hex digits only, even length; imr 0–2 digests exactly 48 bytes; a runtime
 * event (event_type 0x08000001) only on imr 3 and imr 3 only runtime events,
 * whose digest is empty or 48 bytes. Unknown keys are ignored (as serde).
 *
 * Replay: imr 0–2 extend their carried digests, except EV_NO_ACTION events
 * (TCG: never extended; dstack's SDKs would extend them, but the firmware
 * does not, so the quote agrees with skipping). Runtime events extend the
 * recomputed digest; a carried one that differs is counted in
 * mismatch_count, not trusted and not an error.
 *
 * Identity: among runtime events before the first "system-ready" (all of
 * them when there is none), the six names above; one named so after it is
 * ignored (that is how dstack's find_event keeps apps from spoofing them).
 * A name twice before it is an error (dstack would take the first; two mean
 * someone extended RTMR3 with it before the OS declared itself ready), as is
 * a payload of the wrong length (app-id 20, compose-hash 32, instance-id 0
 * or 20, os-image-hash 32 bytes).
 *
 * Out: *out (initialised here; free with tee_dstack_events_free, also after
 * a failure). Errors: TEELIZA_ERR_TOO_LARGE, TEELIZA_ERR_PARSE, with the
 * event index and the field in the message.
 */
teeliza_err tee_dstack_events_parse(tee_dstack_events *out, const char *json, size_t len) TEELIZA_WARN_UNUSED;

void tee_dstack_events_free(tee_dstack_events *ev);

/* The identity event, or NULL when the log has none before "system-ready". */
const tee_event *tee_dstack_events_ident(const tee_dstack_events *ev, tee_dstack_ident id);

/*
 * Compare the replayed RTMR0–3 with a quote's (td->rtmr). TEELIZA_ERR_VERIFY
 * naming the first register that differs, with both values:
 * "RTMR3 mismatch, quoted: <hex>, replayed: <hex>".
 */
teeliza_err tee_dstack_events_check_quote(const tee_dstack_events *ev, const dcap_td_report *td) TEELIZA_WARN_UNUSED;

/*
 * Info's mr_aggregated = SHA-256(MRTD ‖ RTMR0 ‖ RTMR1 ‖ RTMR2 ‖ rtmr3
 * [‖ MRCONFIGID ‖ MROWNER ‖ MROWNERCONFIG, only when any of the three is not
 * all zeros]), the other registers taken from td. rtmr3 is the replayed one
 * (dstack replays it from the runtime events; it equals the quoted one once
 * tee_dstack_events_check_quote passed).
 */
void tee_dstack_mr_aggregated(uint8_t out[32], const dcap_td_report *td, const uint8_t rtmr3[TEE_RTMR_LEN]);

#ifdef __cplusplus
}
#endif
#endif
