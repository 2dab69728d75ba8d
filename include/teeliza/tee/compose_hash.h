/*
 * A dstack app's compose hash. dstack's OS measures SHA-256 of the bytes of
 * app-compose.json as they are (dstack-util `sha256_file`, the
 * "compose-hash" event in RTMR3); the file is written by deployment tools
 * as the JS SDK's getComposeHash builds it (@phala/dstack-sdk 0.5.8,
 * get-compose-hash.ts): JSON.stringify of the object with the keys of
 * every plain object sorted, so any tool that writes that text gets the
 * hash the OS measures. docs/VERIFIABILITY.md ("App identity") gives the
 * preimage exactly.
 */
#ifndef TEELIZA_TEE_COMPOSE_HASH_H
#define TEELIZA_TEE_COMPOSE_HASH_H

#include "teeliza/common/common.h"

#ifdef __cplusplus
extern "C" {
#endif

#define TEE_COMPOSE_MAX (4u << 20) /* bytes of app-compose.json accepted */
#define TEE_COMPOSE_DEPTH_MAX 64   /* nesting of arrays and objects accepted */

/*
 * The text getComposeHash(JSON.parse(json), normalize) hashes, appended to
 * out, for an app-compose.json (a JSON object):
 *   - every object's keys sorted as JS's Array.prototype.sort sorts
 *     strings (UTF-16 code units), except that keys which are array
 *     indexes ("0".."4294967294" in canonical form) come first in numeric
 *     order, as JS objects enumerate them; an object with a "constructor"
 *     key is not sorted at all, nor anything inside it (the SDK sorts only
 *     objects whose .constructor is Object);
 *   - JSON.stringify's form: no whitespace, strings escaped as JS does
 *     (\" \\ \b \f \n \r \t, other controls \u00xx, everything else as
 *     UTF-8), numbers as JS prints doubles (1.0 → 1, 1e21 → 1e+21, 0.1);
 *   - normalize: the SDK's preprocessAppCompose first (runner "bash" drops
 *     docker_compose_file, runner "docker-compose" drops bash_script, a
 *     falsy pre_launch_script is dropped).
 * Refused (TEELIZA_ERR_PARSE, saying why): anything but a JSON object,
 * duplicate keys (JS keeps the last one, dstack's serde refuses them), a
 * "__proto__" key (the SDK's sort drops it, dstack keeps it), "\u0000" in a
 * key, invalid UTF-8 or escapes, nesting deeper than TEE_COMPOSE_DEPTH_MAX;
 * TEELIZA_ERR_TOO_LARGE over TEE_COMPOSE_MAX bytes.
 */
teeliza_err tee_compose_canonical(teeliza_buf *out, const char *json, size_t len, bool normalize) TEELIZA_WARN_UNUSED;

/* SHA-256 of tee_compose_canonical's text: the SDK's getComposeHash. */
teeliza_err tee_compose_hash(uint8_t out[32], const char *json, size_t len, bool normalize) TEELIZA_WARN_UNUSED;

/* SHA-256 of the bytes as they are: what dstack's OS measures for that file. */
void tee_compose_hash_raw(uint8_t out[32], const void *bytes, size_t len);

#ifdef __cplusplus
}
#endif
#endif
