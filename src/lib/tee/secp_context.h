/* The process's one secp256k1 context (secp_context.c), for the EVM wallet and dstack's keys. */
#ifndef TEELIZA_TEE_SECP_CONTEXT_H
#define TEELIZA_TEE_SECP_CONTEXT_H

#include <secp256k1.h>

/*
 * Created on first use and randomised for blinding, then only read, which
 * libsecp256k1 allows from many threads. NULL, with an error set, when it
 * cannot be created.
 */
const secp256k1_context *tee_secp_context(void);

#endif
