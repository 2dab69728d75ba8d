/* Internals shared by the dstack key modules (dstack_keys.c, dstack_sign.c, dstack_provenance.c). */
#ifndef TEELIZA_TEE_DSTACK_INTERNAL_H
#define TEELIZA_TEE_DSTACK_INTERNAL_H

#include "teeliza/tee/dstack_keys.h"
#include "tee/secp_context.h"

#include <secp256k1.h>

/* Parse a 32-byte secp256k1 secret key; false when 0 or ≥ n. */
bool tee_dstack_k256_key_valid(const uint8_t key[TEE_DSTACK_KEY_LEN]);

#endif
