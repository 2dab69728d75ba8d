/*
 * Internals of the PCCS client (pccs_fetch.c), the reading of its responses
 * (pccs_parse.c, fuzzed by tests/fuzz/fuzz_pccs_response.c) and the on-disk
 * cache (pccs_cache.c). Not installed.
 */
#ifndef TEELIZA_DCAP_PCCS_INTERNAL_H
#define TEELIZA_DCAP_PCCS_INTERNAL_H

#include <jansson.h>

#include "teeliza/dcap/pccs.h"

/* Intel serves TCB Info of tens of KiB and CRLs of a few KiB: 1 MiB is far above any of them. */
#define PCCS_MAX_BODY ((size_t)1 << 20)
/* An issuer chain of three PEM certificates, URL-encoded, is under 10 KiB. */
#define PCCS_MAX_HEADER ((size_t)64 << 10)
#define PCCS_MAX_REDIRECTS 3

/*
 * The PEM text of an issuer-chain header value (URL-encoded PEM, as
 * decodeURIComponent reads it: %XX escapes, '+' stays '+'). The text must
 * then be printable ASCII with line breaks, and a PEM chain of 1 to 8
 * certificates. Out: out (initialised here; teeliza_buf_free).
 */
teeliza_err pccs_header_pem(teeliza_buf *out, const uint8_t *value, size_t len, const char *what) TEELIZA_WARN_UNUSED;

/*
 * A signed PCS body {"<inner>": {...}, "signature": "<hex>"}: set out[text_key]
 * to the inner object's exact bytes (never re-serialized: the signature is
 * over them) and out[sig_key] to the signature. The body must be strict JSON
 * (no duplicate keys, nothing after it).
 */
teeliza_err pccs_signed_body(json_t *out, const char *body, size_t len, const char *inner, const char *text_key,
                             const char *sig_key, const char *what) TEELIZA_WARN_UNUSED;

/* A CRL body as served (DER, hex of DER as PCCS's rootcacrl, or PEM): out[key] = hex of the DER. */
teeliza_err pccs_crl_hex(json_t *out, const char *key, const uint8_t *body, size_t len,
                         const char *what) TEELIZA_WARN_UNUSED;

/* The exact bytes of top-level member key of a JSON object text that dcap_json_load accepted. */
teeliza_err pccs_raw_member(const char **val, size_t *val_len, const char *s, size_t len,
                            const char *key) TEELIZA_WARN_UNUSED;

/* The base URL without a trailing "/", "/sgx/certification/v4" or "/tdx/certification/v4". */
void pccs_base_of(char *out, size_t cap, const char *url);

/* The cache file's name for (base URL, key): "<tee>-<FMSPC>-<ca>-<16 hex>.json". */
void pccs_cache_name(char out[64], const char *base, const dcap_collateral_key *key);

#endif
