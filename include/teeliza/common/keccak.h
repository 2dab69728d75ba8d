/*
 * Keccak with the original padding (0x01), as Ethereum's keccak256 uses; not
 * NIST SHA-3 (0x06), which OpenSSL provides. Rates for 256/384/512-bit output.
 */
#ifndef TEELIZA_KECCAK_H
#define TEELIZA_KECCAK_H

#include "teeliza/common/common.h"

#ifdef __cplusplus
extern "C" {
#endif

typedef struct teeliza_keccak_ctx {
	uint64_t state[25];
	size_t rate;      /* bytes absorbed per permutation */
	size_t pos;       /* bytes absorbed into the current block */
	size_t out_len;   /* digest length in bytes */
} teeliza_keccak_ctx;

/* bits is 256, 384 or 512 (asserts otherwise). */
void teeliza_keccak_init(teeliza_keccak_ctx *ctx, unsigned bits);
void teeliza_keccak_update(teeliza_keccak_ctx *ctx, const void *data, size_t len);
/* Writes ctx->out_len bytes and wipes the context. */
void teeliza_keccak_final(uint8_t *out, teeliza_keccak_ctx *ctx);

void teeliza_keccak256(uint8_t out[32], const void *data, size_t len);
void teeliza_keccak384(uint8_t out[48], const void *data, size_t len);
void teeliza_keccak512(uint8_t out[64], const void *data, size_t len);

#ifdef __cplusplus
}
#endif
#endif
