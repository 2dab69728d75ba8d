/*
 * RTMR replay as the JS SDK's replayRtmrs() does it: per register,
 * mr = SHA-384(mr ‖ digest), digests shorter than 48 bytes zero-padded on the
 * right and longer ones (up to 64 bytes) used whole.
 */
#include "teeliza/tee/rtmr.h"

#include <assert.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/evp.h>

/* Fetched once: an implicit fetch per digest costs about as much as the hash. */
static EVP_MD *sha384_md;
static pthread_once_t sha384_once = PTHREAD_ONCE_INIT;

static void fetch_sha384(void)
{
	sha384_md = EVP_MD_fetch(NULL, "SHA384", NULL);
}

/*
 * SHA-384 with the default provider only fails when memory runs out, and the
 * replay API has no error path, so failure ends the process rather than
 * returning wrong register values.
 */
static void crypto_failed(void)
{
	fprintf(stderr, "teeliza: SHA-384 unavailable for RTMR replay\n");
	abort();
}

static EVP_MD_CTX *replay_begin(void)
{
	EVP_MD_CTX *ctx;

	pthread_once(&sha384_once, fetch_sha384);
	ctx = EVP_MD_CTX_new();
	if (sha384_md == NULL || ctx == NULL)
		crypto_failed();
	return ctx;
}

static void extend(EVP_MD_CTX *ctx, uint8_t mr[TEE_RTMR_LEN], const tee_event *ev)
{
	uint8_t block[TEE_RTMR_LEN + TEE_EVENT_DIGEST_MAX] = {0};
	size_t digest_len = ev->digest_len < TEE_RTMR_LEN ? TEE_RTMR_LEN : ev->digest_len;
	unsigned int n = 0;

	assert(ev->digest_len <= TEE_EVENT_DIGEST_MAX);
	memcpy(block, mr, TEE_RTMR_LEN);
	memcpy(block + TEE_RTMR_LEN, ev->digest, ev->digest_len);
	if (!EVP_DigestInit_ex2(ctx, sha384_md, NULL) ||
	    !EVP_DigestUpdate(ctx, block, TEE_RTMR_LEN + digest_len) ||
	    !EVP_DigestFinal_ex(ctx, mr, &n) || n != TEE_RTMR_LEN)
		crypto_failed();
}

void tee_rtmr_replay(uint8_t rtmr[4][TEE_RTMR_LEN], const tee_event_log *log)
{
	EVP_MD_CTX *ctx;
	size_t i;

	assert(rtmr != NULL && log != NULL);
	memset(rtmr, 0, 4 * TEE_RTMR_LEN);
	ctx = replay_begin();
	/* one pass in log order: each register's events keep their relative order */
	for (i = 0; i < log->count; i++)
		if (log->events[i].imr < 4)
			extend(ctx, rtmr[log->events[i].imr], &log->events[i]);
	EVP_MD_CTX_free(ctx);
}

/* Events of an imr outside 0..3 extend nothing; their running value is all zeros. */
void tee_rtmr_replay_steps(uint8_t (*running)[TEE_RTMR_LEN], const tee_event_log *log)
{
	uint8_t mr[4][TEE_RTMR_LEN] = {{0}};
	EVP_MD_CTX *ctx;
	size_t i;

	assert(log != NULL && (running != NULL || log->count == 0));
	if (log->count == 0)
		return;
	ctx = replay_begin();
	for (i = 0; i < log->count; i++) {
		uint32_t imr = log->events[i].imr;

		if (imr < 4) {
			extend(ctx, mr[imr], &log->events[i]);
			memcpy(running[i], mr[imr], TEE_RTMR_LEN);
		} else {
			memset(running[i], 0, TEE_RTMR_LEN);
		}
	}
	EVP_MD_CTX_free(ctx);
}
