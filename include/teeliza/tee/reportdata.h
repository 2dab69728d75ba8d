/*
 * TDX report_data as tappd computes it from a TdxQuote request (server side).
 */
#ifndef TEELIZA_REPORTDATA_H
#define TEELIZA_REPORTDATA_H

#include "teeliza/common/common.h"

#ifdef __cplusplus
extern "C" {
#endif

/*
 * out = H(prefix ‖ ":" ‖ content) right-padded with zeros to 64 bytes, where
 * H is hash_algorithm (NULL or "" = "sha512"): sha256 sha384 sha512 sha3-256
 * sha3-384 sha3-512 keccak256 keccak384 keccak512; prefix NULL or "" = "app-data".
 * hash_algorithm "raw": content must be exactly 64 bytes and is copied as is.
 * Errors (message text exactly as tappd's): TEELIZA_ERR_INVALID with
 * "invalid hash algorithm" or "invalid content length".
 */
teeliza_err tee_report_data(uint8_t out[64], const char *hash_algorithm, const char *prefix,
                            const uint8_t *content, size_t content_len) TEELIZA_WARN_UNUSED;

/* True when name is one of the algorithms above (including "raw"). */
bool tee_hash_algorithm_valid(const char *name);

#ifdef __cplusplus
}
#endif
#endif
