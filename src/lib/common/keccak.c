/*
 * Keccak-f[1600] sponge with the original multi-rate padding (0x01 ... 0x80),
 * i.e. Ethereum's keccak256, not FIPS 202 SHA-3.
 */
#include "teeliza/common/keccak.h"

#include <assert.h>
#include <string.h>

static const uint64_t round_constants[24] = {
	0x0000000000000001ULL, 0x0000000000008082ULL, 0x800000000000808aULL, 0x8000000080008000ULL,
	0x000000000000808bULL, 0x0000000080000001ULL, 0x8000000080008081ULL, 0x8000000000008009ULL,
	0x000000000000008aULL, 0x0000000000000088ULL, 0x0000000080008009ULL, 0x000000008000000aULL,
	0x000000008000808bULL, 0x800000000000008bULL, 0x8000000000008089ULL, 0x8000000000008003ULL,
	0x8000000000008002ULL, 0x8000000000000080ULL, 0x000000000000800aULL, 0x800000008000000aULL,
	0x8000000080008081ULL, 0x8000000000008080ULL, 0x0000000080000001ULL, 0x8000000080008008ULL,
};

/*
 * rho and pi together: walking the pi cycle starting at lane 1, each lane
 * moves to pi_lane[i] after being rotated by rho_rot[i].
 */
static const unsigned rho_rot[24] = {
	1, 3, 6, 10, 15, 21, 28, 36, 45, 55, 2, 14, 27, 41, 56, 8, 25, 43, 62, 18, 39, 61, 20, 44,
};
static const unsigned pi_lane[24] = {
	10, 7, 11, 17, 18, 3, 5, 16, 8, 21, 24, 4, 15, 23, 19, 13, 12, 2, 20, 14, 22, 9, 6, 1,
};

static inline uint64_t rotl64(uint64_t x, unsigned n)
{
	return (x << n) | (x >> (64 - n));
}

static void keccak_f1600(uint64_t a[25])
{
	uint64_t c[5], d, t, u;
	unsigned r, i, x, y;

	for (r = 0; r < 24; r++) {
		/* theta */
#pragma GCC unroll 5
		for (x = 0; x < 5; x++)
			c[x] = a[x] ^ a[x + 5] ^ a[x + 10] ^ a[x + 15] ^ a[x + 20];
#pragma GCC unroll 5
		for (x = 0; x < 5; x++) {
			d = c[(x + 4) % 5] ^ rotl64(c[(x + 1) % 5], 1);
#pragma GCC unroll 5
			for (y = 0; y < 25; y += 5)
				a[y + x] ^= d;
		}
		/* rho + pi */
		t = a[1];
#pragma GCC unroll 24
		for (i = 0; i < 24; i++) {
			u = a[pi_lane[i]];
			a[pi_lane[i]] = rotl64(t, rho_rot[i]);
			t = u;
		}
		/* chi */
#pragma GCC unroll 5
		for (y = 0; y < 25; y += 5) {
#pragma GCC unroll 5
			for (x = 0; x < 5; x++)
				c[x] = a[y + x];
#pragma GCC unroll 5
			for (x = 0; x < 5; x++)
				a[y + x] = c[x] ^ (~c[(x + 1) % 5] & c[(x + 2) % 5]);
		}
		/* iota */
		a[0] ^= round_constants[r];
	}
}

static inline uint64_t load64_le(const uint8_t *p)
{
	uint64_t v = 0;
	unsigned i;

	for (i = 0; i < 8; i++)
		v |= (uint64_t)p[i] << (8 * i);
	return v;
}

/* XOR one byte into the state at byte offset pos (lanes are little-endian). */
static inline void xor_byte(uint64_t *state, size_t pos, uint8_t b)
{
	state[pos / 8] ^= (uint64_t)b << (8 * (pos % 8));
}

void teeliza_keccak_init(teeliza_keccak_ctx *ctx, unsigned bits)
{
	assert(ctx != NULL);
	assert(bits == 256 || bits == 384 || bits == 512);
	memset(ctx, 0, sizeof(*ctx));
	ctx->out_len = bits / 8;
	ctx->rate = 200 - 2 * ctx->out_len; /* capacity is twice the output */
}

void teeliza_keccak_update(teeliza_keccak_ctx *ctx, const void *data, size_t len)
{
	const uint8_t *p = data;
	size_t i;

	assert(ctx != NULL && ctx->rate != 0 && (data != NULL || len == 0));
	while (len > 0 && ctx->pos != 0) {
		xor_byte(ctx->state, ctx->pos++, *p++);
		len--;
		if (ctx->pos == ctx->rate) {
			keccak_f1600(ctx->state);
			ctx->pos = 0;
		}
	}
	while (len >= ctx->rate) {
		for (i = 0; i < ctx->rate / 8; i++)
			ctx->state[i] ^= load64_le(p + 8 * i);
		keccak_f1600(ctx->state);
		p += ctx->rate;
		len -= ctx->rate;
	}
	while (len > 0) {
		xor_byte(ctx->state, ctx->pos++, *p++);
		len--;
	}
}

void teeliza_keccak_final(uint8_t *out, teeliza_keccak_ctx *ctx)
{
	size_t i;

	assert(out != NULL && ctx != NULL && ctx->rate != 0);
	xor_byte(ctx->state, ctx->pos, 0x01);
	xor_byte(ctx->state, ctx->rate - 1, 0x80);
	keccak_f1600(ctx->state);
	/* out_len <= rate for every supported size, so one squeeze suffices */
	for (i = 0; i < ctx->out_len; i++)
		out[i] = (uint8_t)(ctx->state[i / 8] >> (8 * (i % 8)));
	teeliza_wipe(ctx, sizeof(*ctx));
}

static void keccak_oneshot(uint8_t *out, unsigned bits, const void *data, size_t len)
{
	teeliza_keccak_ctx ctx;

	teeliza_keccak_init(&ctx, bits);
	teeliza_keccak_update(&ctx, data, len);
	teeliza_keccak_final(out, &ctx);
}

void teeliza_keccak256(uint8_t out[32], const void *data, size_t len)
{
	keccak_oneshot(out, 256, data, len);
}

void teeliza_keccak384(uint8_t out[48], const void *data, size_t len)
{
	keccak_oneshot(out, 384, data, len);
}

void teeliza_keccak512(uint8_t out[64], const void *data, size_t len)
{
	keccak_oneshot(out, 512, data, len);
}
