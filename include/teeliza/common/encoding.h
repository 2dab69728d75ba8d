/*
 * Encodings: hex, base58 (Bitcoin alphabet, as Solana uses), base64 and
 * EIP-55 checksummed Ethereum addresses.
 */
#ifndef TEELIZA_ENCODING_H
#define TEELIZA_ENCODING_H

#include "teeliza/common/common.h"

#ifdef __cplusplus
extern "C" {
#endif

/* Lowercase hex of in into out (2*in_len+1 bytes incl. NUL). */
void teeliza_hex_encode(char *out, const uint8_t *in, size_t in_len);

/* Append the lowercase hex of in to out (no allocation beyond growing out). */
teeliza_err teeliza_hex_append(teeliza_buf *out, const uint8_t *in, size_t in_len) TEELIZA_WARN_UNUSED;

/*
 * Decode hex text (upper or lower case). An optional "0x"/"0X" prefix is
 * skipped when allow_0x. Fails on odd length or a non-hex digit. *out_len
 * receives the byte count; out_cap must hold it (else TEELIZA_ERR_TOO_LARGE).
 */
teeliza_err teeliza_hex_decode(uint8_t *out, size_t out_cap, size_t *out_len,
                               const char *in, size_t in_len, bool allow_0x) TEELIZA_WARN_UNUSED;

/* Same, into a growable buffer. */
teeliza_err teeliza_hex_decode_buf(teeliza_buf *out, const char *in, size_t in_len,
                                   bool allow_0x) TEELIZA_WARN_UNUSED;

/*
 * Base58 (alphabet 123456789ABC...xyz). Leading zero bytes become '1's.
 * out_cap includes the NUL; 44 chars + NUL hold any 32-byte value.
 */
teeliza_err teeliza_base58_encode(char *out, size_t out_cap, const uint8_t *in, size_t in_len) TEELIZA_WARN_UNUSED;
teeliza_err teeliza_base58_decode(uint8_t *out, size_t out_cap, size_t *out_len,
                                  const char *in, size_t in_len) TEELIZA_WARN_UNUSED;

/*
 * Standard base64 (RFC 4648, '+/' and '=' padding). Decoding ignores ASCII
 * whitespace (as the WHATWG atob the JS SDK uses does) and rejects anything else.
 */
teeliza_err teeliza_base64_encode_buf(teeliza_buf *out, const uint8_t *in, size_t in_len) TEELIZA_WARN_UNUSED;
teeliza_err teeliza_base64_decode_buf(teeliza_buf *out, const char *in, size_t in_len) TEELIZA_WARN_UNUSED;

/* Value of one hex digit, or -1. */
int teeliza_hex_nibble(char c);

/*
 * Length of the well-formed UTF-8 sequence at s (1..4; left bytes available),
 * or 0: no overlong forms, surrogates or code points past U+10FFFF.
 */
size_t teeliza_utf8_seq_len(const uint8_t *s, size_t left);

/*
 * Append s[0..len) as a JSON string literal escaped exactly as both
 * JSON.stringify and serde_json do it (\" \\ \b \f \n \r \t, other control
 * characters as lowercase \u00xx, everything else verbatim), so that hashes
 * over the text match the JS SDK's and tappd's. Invalid UTF-8 fails with
 * TEELIZA_ERR_INVALID "<what> is not valid UTF-8 (byte N)".
 */
teeliza_err teeliza_json_append_string(teeliza_buf *out, const char *s, size_t len,
                                       const char *what) TEELIZA_WARN_UNUSED;

/* "0x" + EIP-55 mixed-case checksum hex of a 20-byte address (43 bytes with NUL). */
void teeliza_eip55_address(char out[43], const uint8_t addr[20]);

#ifdef __cplusplus
}
#endif
#endif
