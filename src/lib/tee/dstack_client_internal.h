/*
 * Internals of the dstack client (dstack_client*.c): the transport, the
 * judgement of a reply's status and body, and one parser per method that
 * turns a reply object into its typed result. The parsers take no network
 * and are what tests/fuzz/fuzz_dstack_response.c drives.
 */
#ifndef TEELIZA_TEE_DSTACK_CLIENT_INTERNAL_H
#define TEELIZA_TEE_DSTACK_CLIENT_INTERNAL_H

#include "teeliza/tee/dstack.h"

#include <jansson.h>

/* dstack_call flags */
#define DSTACK_CALL_SECRET 1u   /* the reply holds a key: its bytes are wiped and never quoted */
#define DSTACK_CALL_NULL_OK 2u  /* the method returns Empty: the body is null (or {}) */

/* Room for "dstack at unix:<108-byte path>" or "dstack at <511-byte URL>", plus the method. */
#define DSTACK_WHERE_MAX 700

/* "dstack at <endpoint>, <Method>" for messages. */
void dstack_where(char out[DSTACK_WHERE_MAX], const dstack_client *c, const char *method);

/*
 * Judge one HTTP reply. Out: *out, the reply JSON (a new reference; NULL
 * for a null body when DSTACK_CALL_NULL_OK). Errors as dstack.h describes
 * (REMOTE, NOT_FOUND, PROTOCOL); where names the endpoint and method.
 */
teeliza_err dstack_reply_judge(json_t **out, long status, const uint8_t *body, size_t len, const char *where,
                               unsigned flags) TEELIZA_WARN_UNUSED;

/*
 * POST body to /<method> and judge the reply. cap: the method's size cap.
 * timeout_ms 0: the client's. Out: *out as dstack_reply_judge; raw_out (if
 * not NULL; initialised here, freed on failure) the reply's bytes.
 */
teeliza_err dstack_call(json_t **out, teeliza_buf *raw_out, const dstack_client *c, const char *method,
                        const teeliza_buf *body, size_t cap, long timeout_ms, unsigned flags) TEELIZA_WARN_UNUSED;

/* The same with body "{}" (Info, Version). */
teeliza_err dstack_call_empty(json_t **out, teeliza_buf *raw_out, const dstack_client *c, const char *method,
                              size_t cap, long timeout_ms) TEELIZA_WARN_UNUSED;

/*
 * Ask /Version before using a feature that older agents ignore silently.
 * An error answer (REMOTE, NOT_FOUND, PROTOCOL) becomes
 * TEELIZA_ERR_UNSUPPORTED with unsupported_msg as the message (text, not
 * a format); transport errors pass unchanged.
 */
teeliza_err dstack_require_version(const dstack_client *c, const char *unsupported_msg) TEELIZA_WARN_UNUSED;

/*
 * The current error message, copied into out: teeliza_set_error() writes
 * the very buffer teeliza_errmsg() returns, so a message that quotes the
 * previous one must quote a copy. Returns out.
 */
#define DSTACK_WHY_MAX 512
const char *dstack_why(char out[DSTACK_WHY_MAX]);

/* ---- reading reply fields (what is the name of the field's owner, e.g. "GetKey reply") ---- */

/* A required (or, with optional, possibly absent → "") string member. */
teeliza_err dstack_json_string(const char **text, size_t *len, json_t *obj, const char *key, bool optional,
                               const char *what) TEELIZA_WARN_UNUSED;

/* Decode hex as prpc does: any number of leading "0x" trimmed, then hex digits (either case), even count. */
teeliza_err dstack_hex_decode(teeliza_buf *out, const char *hex, size_t len) TEELIZA_WARN_UNUSED;

/*
 * A hex member whose decoded length must be one of lens[0..n_lens) (0 in
 * the list allows ""). Out: out[0..*out_len). absent_ok: a missing member
 * is accepted, with *out_len 0.
 */
teeliza_err dstack_json_hex_fixed(uint8_t *out, size_t *out_len, json_t *obj, const char *key, const size_t *lens,
                                  size_t n_lens, bool absent_ok, const char *what) TEELIZA_WARN_UNUSED;

/* A string member copied into a new malloc'd C string ("" when optional and absent). */
teeliza_err dstack_json_strdup(char **out, json_t *obj, const char *key, bool optional,
                               const char *what) TEELIZA_WARN_UNUSED;

/* jansson frees without wiping: clear a secret string member in place first. */
void dstack_json_wipe_string(json_t *s);

/* ---- the methods' parsers ---- */

teeliza_err dstack_parse_key(tee_dstack_key *out, json_t *reply, tee_dstack_alg alg) TEELIZA_WARN_UNUSED;
/* report_data: what was sent (at most 64 bytes). */
teeliza_err dstack_parse_quote(dstack_quote_reply *out, json_t *reply, const uint8_t *report_data,
                               size_t report_data_len) TEELIZA_WARN_UNUSED;
teeliza_err dstack_parse_attest(teeliza_buf *attestation, dstack_attestation_format *format,
                                json_t *reply) TEELIZA_WARN_UNUSED;
/* raw: the reply text, kept in out->raw. */
teeliza_err dstack_parse_info(dstack_info *out, json_t *reply, const uint8_t *raw, size_t raw_len) TEELIZA_WARN_UNUSED;
teeliza_err dstack_parse_tcb_info(dstack_tcb_info *out, const char *text, size_t len) TEELIZA_WARN_UNUSED;
teeliza_err dstack_parse_version(dstack_version *out, json_t *reply) TEELIZA_WARN_UNUSED;
teeliza_err dstack_parse_tls_key(dstack_tls_key *out, json_t *reply) TEELIZA_WARN_UNUSED;
/* alg: the parsed Sign algorithm; data: what was signed (for the local check). */
teeliza_err dstack_parse_sign(tee_dstack_signature *out, json_t *reply, tee_dstack_alg alg, const uint8_t *data,
                              size_t data_len) TEELIZA_WARN_UNUSED;
teeliza_err dstack_parse_verify(bool *valid, json_t *reply) TEELIZA_WARN_UNUSED;

/* ---- request bodies ---- */

/* Append the lowercase hex of data as a JSON string ("…"). */
teeliza_err dstack_body_hex(teeliza_buf *b, const uint8_t *data, size_t len) TEELIZA_WARN_UNUSED;

/* Append ,"key": (or "key": when first) then the JSON string s (UTF-8 checked). */
teeliza_err dstack_body_string(teeliza_buf *b, bool first, const char *key, const char *s) TEELIZA_WARN_UNUSED;

#endif
