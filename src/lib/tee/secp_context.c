/*
 * One secp256k1 context per process: the EVM wallet (derive_wallet.c) and
 * dstack's key hierarchy and signatures (dstack_keys.c, dstack_sign.c) share
 * it, so it is created and blinded once.
 */
#include "tee/secp_context.h"
#include "teeliza/common/common.h"

#include <pthread.h>

#include <openssl/rand.h>

static pthread_once_t once = PTHREAD_ONCE_INIT;
static secp256k1_context *ctx;

static void context_init(void)
{
	uint8_t blind[32];

	ctx = secp256k1_context_create(SECP256K1_CONTEXT_NONE);
	if (ctx == NULL)
		return;
	/* Blinding against side channels; without entropy the context is still correct. */
	if (RAND_bytes(blind, sizeof(blind)) == 1 && !secp256k1_context_randomize(ctx, blind)) {
		secp256k1_context_destroy(ctx);
		ctx = NULL;
	}
	TEELIZA_WIPE_BUFFER(blind);
}

const secp256k1_context *tee_secp_context(void)
{
	if (pthread_once(&once, context_init) != 0 || ctx == NULL) {
		teeliza_set_error(TEELIZA_ERR_CRYPTO, "cannot create a secp256k1 context");
		return NULL;
	}
	return ctx;
}
