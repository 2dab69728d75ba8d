/*
 * RA-TLS certificates (dstack's form, docs/VERIFIABILITY.md "RA-TLS"): an
 * X.509 certificate whose extension 1.3.6.1.4.1.62397.1.1 holds a TDX quote
 * with report data = SHA-512("ratls-cert:" ‖ the certificate's
 * SubjectPublicKeyInfo DER), so the quote vouches for the TLS key.
 *
 * Extensions read (each non-critical; extnValue is the DER of a second
 * OCTET STRING holding the raw bytes, as dstack writes them):
 *   1.1  the quote (required)
 *   1.2  the event log, JSON (optional; the "ELGZv1" gzip form is refused
 *        as unsupported)
 *   1.3  the app id, 20 bytes (optional)
 *   1.8  dstack 0.5.11's attestation blob: noted, not decoded (a
 *        certificate with 1.8 but no 1.1 is TEELIZA_ERR_UNSUPPORTED)
 *
 * The certificate is untrusted input: its size is capped, it must be one
 * whole DER certificate (or PEM of one; the first of a PEM chain), every
 * wrapper is length-checked and an extension that appears twice is refused.
 * No chain of signatures is checked: the trust comes from the quote.
 */
#ifndef TEELIZA_RATLS_H
#define TEELIZA_RATLS_H

#include "teeliza/common/common.h"

#ifdef __cplusplus
extern "C" {
#endif

#define TEE_RATLS_OID_QUOTE "1.3.6.1.4.1.62397.1.1"
#define TEE_RATLS_OID_EVENT_LOG "1.3.6.1.4.1.62397.1.2"
#define TEE_RATLS_OID_APP_ID "1.3.6.1.4.1.62397.1.3"
#define TEE_RATLS_OID_ATTESTATION "1.3.6.1.4.1.62397.1.8"
#define TEE_RATLS_PREFIX "ratls-cert:"

#define TEE_RATLS_CERT_MAX ((size_t)1 << 20)   /* a certificate, DER or PEM */
#define TEE_RATLS_QUOTE_MAX 32768u             /* no TDX quote is longer (TSM_OUTBLOB_MAX) */
#define TEE_RATLS_EVENT_LOG_MAX ((size_t)512 << 10)

typedef struct tee_ratls_cert {
	teeliza_buf spki;        /* the SubjectPublicKeyInfo DER */
	teeliza_buf quote;       /* extension 1.1 */
	teeliza_buf event_log;   /* extension 1.2, NUL-terminated JSON text; len 0 when absent */
	bool has_app_id;
	uint8_t app_id[20];      /* extension 1.3 */
	bool has_attestation;    /* extension 1.8 is present (not decoded) */
} tee_ratls_cert;

/*
 * Parse a certificate (DER, or PEM: the first CERTIFICATE block) and read
 * the extensions above. Out: *out (zeroed first; free with
 * tee_ratls_cert_free, also after a failure). Errors: TEELIZA_ERR_PARSE for
 * something that is not a certificate or a malformed extension (the
 * message names it), TEELIZA_ERR_TOO_LARGE over the caps,
 * TEELIZA_ERR_NOT_FOUND "no RA-TLS quote extension (1.3.6.1.4.1.62397.1.1)"
 * when there is no quote, TEELIZA_ERR_UNSUPPORTED for 1.8 without 1.1 and
 * for a compressed event log.
 */
teeliza_err tee_ratls_cert_parse(tee_ratls_cert *out, const uint8_t *data, size_t len) TEELIZA_WARN_UNUSED;
void tee_ratls_cert_free(tee_ratls_cert *c);

/* out = SHA-512("ratls-cert:" ‖ spki): the report data a quote for that key carries. */
void tee_ratls_report_data(uint8_t out[64], const uint8_t *spki, size_t spki_len);

/*
 * The binding: the quote's report data (a TDX quote's) equals
 * tee_ratls_report_data(c->spki). TEELIZA_ERR_VERIFY "RA-TLS binding: …"
 * when it does not; TEELIZA_ERR_PARSE when the quote is not a TDX quote
 * whose report data can be read. Out: expected (the report data wanted).
 */
teeliza_err tee_ratls_check_binding(uint8_t expected[64], const tee_ratls_cert *c) TEELIZA_WARN_UNUSED;

/* Lowercase hex SHA-256 of an SPKI DER (what statements name as "tlsKey"). out: 65 bytes. */
void tee_ratls_spki_sha256_hex(char out[65], const uint8_t *spki, size_t spki_len);

#ifdef __cplusplus
}
#endif
#endif
