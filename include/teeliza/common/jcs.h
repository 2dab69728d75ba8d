/*
 * RFC 8785 JSON Canonicalization Scheme (JCS) over jansson values: the
 * bytes that receipts and statements are hashed and signed over
 * (docs/VERIFIABILITY.md).
 *
 * - Objects: members sorted by their names as arrays of UTF-16 code units
 *   (RFC 8785 §3.2.3), no whitespace. (jansson refuses U+0000 in a name
 *   when parsing, so teeliza_jcs_text does too.)
 * - Strings: '"', '\\' and the controls U+0000–U+001F escaped, the five with
 *   a short form as \b \t \n \f \r, the others as \u00xx (lowercase hex);
 *   everything else as its UTF-8 bytes (RFC 8785 §3.2.2.2).
 * - Numbers: ECMAScript's Number.prototype.toString (§3.2.2.3): the shortest
 *   decimal that reads back as the same IEEE 754 double, -0 as 0. A text
 *   (teeliza_jcs_text) has every number read as a double, as JSON.parse
 *   does (9007199254740993 becomes 9007199254740992; 1e400 is refused by the
 *   parser). A jansson integer built by code must be exact: |n| ≤ 2^53, else
 *   TEELIZA_ERR_INVALID.
 * - Nesting deeper than JCS_DEPTH_MAX: TEELIZA_ERR_TOO_LARGE.
 */
#ifndef TEELIZA_JCS_H
#define TEELIZA_JCS_H

#include "teeliza/common/common.h"

#include <jansson.h>

#ifdef __cplusplus
extern "C" {
#endif

#define JCS_DEPTH_MAX 64
#define JCS_SAFE_INTEGER_MAX 9007199254740992LL /* 2^53 */

/* Append v's canonical form to out (out's max applies). On failure out may hold a partial text. */
teeliza_err teeliza_jcs_append(teeliza_buf *out, const json_t *v) TEELIZA_WARN_UNUSED;

/* Parse text (strict: duplicate names refused), then canonicalise into out (reset first). */
teeliza_err teeliza_jcs_text(teeliza_buf *out, const char *text, size_t text_len) TEELIZA_WARN_UNUSED;

/*
 * ECMAScript Number.prototype.toString of d into out (at most 32 bytes with
 * the NUL). NaN and infinities: TEELIZA_ERR_INVALID (JSON has none).
 */
teeliza_err teeliza_jcs_number(char out[32], double d) TEELIZA_WARN_UNUSED;

#ifdef __cplusplus
}
#endif
#endif
