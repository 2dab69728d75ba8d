/*
 * The hashes behind dstack's measurements: runtime-event digests, RTMR
 * extension, the comparison with a quote, and Info's mr_aggregated.
 */
#include "teeliza/tee/dstack_events.h"
#include "teeliza/common/encoding.h"

#include <assert.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/evp.h>

/* Fetched once: an implicit fetch per digest costs about as much as the hash. */
static EVP_MD *sha384_md, *sha256_md;
static pthread_once_t md_once = PTHREAD_ONCE_INIT;

static void fetch_mds(void)
{
	sha384_md = EVP_MD_fetch(NULL, "SHA384", NULL);
	sha256_md = EVP_MD_fetch(NULL, "SHA256", NULL);
}

/*
 * SHA-2 with the default provider only fails when memory runs out, and these
 * functions have no error path, so failure ends the process rather than
 * returning a wrong measurement (as rtmr.c does).
 */
static void crypto_failed(void)
{
	fprintf(stderr, "teeliza: SHA-2 unavailable for dstack measurements\n");
	abort();
}

struct part {
	const void *data;
	size_t len;
};

static void hash_parts(uint8_t *out, size_t out_len, bool sha384, const struct part *parts, size_t n)
{
	EVP_MD_CTX *ctx;
	unsigned int got = 0;
	size_t i;
	int ok;

	pthread_once(&md_once, fetch_mds);
	ctx = EVP_MD_CTX_new();
	ok = ctx != NULL && (sha384 ? sha384_md : sha256_md) != NULL &&
	     EVP_DigestInit_ex2(ctx, sha384 ? sha384_md : sha256_md, NULL);
	for (i = 0; ok && i < n; i++)
		ok = parts[i].len == 0 || EVP_DigestUpdate(ctx, parts[i].data, parts[i].len);
	ok = ok && EVP_DigestFinal_ex(ctx, out, &got) && got == out_len;
	EVP_MD_CTX_free(ctx);
	if (!ok)
		crypto_failed();
}

void tee_dstack_event_digest(uint8_t out[TEE_DSTACK_DIGEST_LEN], const char *event, size_t event_len,
                             const uint8_t *payload, size_t payload_len)
{
	/* dstack writes the type with to_ne_bytes(); every TDX guest is little-endian. */
	static const uint8_t type_le[4] = {0x01, 0x00, 0x00, 0x08};
	struct part parts[5] = {
		{type_le, 4}, {":", 1}, {event, event_len}, {":", 1}, {payload, payload_len},
	};

	assert(out != NULL && (event != NULL || event_len == 0) && (payload != NULL || payload_len == 0));
	hash_parts(out, TEE_DSTACK_DIGEST_LEN, true, parts, 5);
}

void tee_dstack_rtmr_extend(uint8_t mr[TEE_RTMR_LEN], const uint8_t digest[TEE_DSTACK_DIGEST_LEN])
{
	uint8_t old[TEE_RTMR_LEN];
	struct part parts[2] = {{old, TEE_RTMR_LEN}, {digest, TEE_DSTACK_DIGEST_LEN}};

	assert(mr != NULL && digest != NULL);
	memcpy(old, mr, TEE_RTMR_LEN);
	hash_parts(mr, TEE_RTMR_LEN, true, parts, 2);
}

teeliza_err tee_dstack_events_check_quote(const tee_dstack_events *ev, const dcap_td_report *td)
{
	char quoted[2 * TEE_RTMR_LEN + 1], replayed[2 * TEE_RTMR_LEN + 1];
	int i;

	assert(ev != NULL && td != NULL);
	for (i = 0; i < 4; i++) {
		assert(td->rtmr[i] != NULL);
		if (memcmp(ev->rtmr[i], td->rtmr[i], TEE_RTMR_LEN) == 0)
			continue;
		teeliza_hex_encode(quoted, td->rtmr[i], TEE_RTMR_LEN);
		teeliza_hex_encode(replayed, ev->rtmr[i], TEE_RTMR_LEN);
		return teeliza_set_error(TEELIZA_ERR_VERIFY, "RTMR%d mismatch, quoted: %s, replayed: %s", i, quoted,
		                         replayed);
	}
	return TEELIZA_OK;
}

static bool all_zero(const uint8_t *p, size_t n)
{
	uint8_t acc = 0;
	size_t i;

	for (i = 0; i < n; i++)
		acc |= p[i];
	return acc == 0;
}

void tee_dstack_mr_aggregated(uint8_t out[32], const dcap_td_report *td, const uint8_t rtmr3[TEE_RTMR_LEN])
{
	struct part parts[8] = {
		{td->mrtd, 48}, {td->rtmr[0], 48}, {td->rtmr[1], 48}, {td->rtmr[2], 48}, {rtmr3, 48},
		{td->mrconfigid, 48}, {td->mrowner, 48}, {td->mrownerconfig, 48},
	};
	size_t n = 5;

	assert(out != NULL && td != NULL && rtmr3 != NULL && td->mrtd != NULL && td->mrconfigid != NULL &&
	       td->mrowner != NULL && td->mrownerconfig != NULL);
	/* dstack keeps the older five-register form when the three owner-set registers are unused. */
	if (!all_zero(td->mrconfigid, 48) || !all_zero(td->mrowner, 48) || !all_zero(td->mrownerconfig, 48))
		n = 8;
	hash_parts(out, 32, false, parts, n);
}
