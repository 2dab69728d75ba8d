/*
 * tee_reply_cache (teeliza/tee/verify_reply.h): what a bundle's statement
 * quote, event log, app identity and key provenance proved, kept under the
 * SHA-256 of every byte and policy setting those links read, so that the
 * bundles of one agent (the same statement, quote and log) cost one DCAP
 * verification and one RTMR replay between them.
 */
#include "tee/verify_reply_cache.h"

#include <openssl/evp.h>

#include <pthread.h>
#include <stdlib.h>
#include <string.h>

#define CACHE_SLOTS 16u /* an agent has one statement per start; a few agents at once */

struct reply_cache_slot {
	bool used;
	uint8_t key[32];
	tee_reply_proved proved;
};

struct tee_reply_cache {
	pthread_mutex_t lock;
	const dcap_collateral *collateral;
	const dcap_trust *trust;
	uint64_t hits, misses;
	struct reply_cache_slot slot[CACHE_SLOTS];
};

teeliza_err tee_reply_cache_new(tee_reply_cache **out, const dcap_collateral *collateral, const dcap_trust *trust)
{
	tee_reply_cache *c = calloc(1, sizeof(*c));

	*out = NULL;
	if (c == NULL || pthread_mutex_init(&c->lock, NULL) != 0) {
		free(c);
		return teeliza_set_error(TEELIZA_ERR_NOMEM, "out of memory");
	}
	c->collateral = collateral;
	c->trust = trust;
	*out = c;
	return TEELIZA_OK;
}

void tee_reply_cache_free(tee_reply_cache *c)
{
	if (c == NULL)
		return;
	pthread_mutex_destroy(&c->lock);
	free(c);
}

void tee_reply_cache_stats(tee_reply_cache *c, uint64_t *hits, uint64_t *misses)
{
	pthread_mutex_lock(&c->lock);
	*hits = c->hits;
	*misses = c->misses;
	pthread_mutex_unlock(&c->lock);
}

bool tee_reply_cache_usable(const tee_reply_cache *c, const tee_reply_policy *p)
{
	return c != NULL && c->collateral == p->collateral && c->trust == p->trust;
}

/* A field of the key: its length, then its bytes (absent: a length no field has), so no two inputs run together. */
static void put(EVP_MD_CTX *h, const void *b, size_t n, bool present)
{
	uint64_t len = present ? (uint64_t)n : UINT64_MAX;

	EVP_DigestUpdate(h, &len, sizeof(len));
	if (present && n > 0)
		EVP_DigestUpdate(h, b, n);
}

static void put_str(EVP_MD_CTX *h, const char *s)
{
	put(h, s, s != NULL ? strlen(s) : 0, s != NULL);
}

bool tee_reply_cache_key(uint8_t key[32], const tee_reply_policy *p, const char *statement, size_t statement_len,
                         const char *quote_hex, size_t quote_hex_len, const char *event_log, size_t event_log_len,
                         const char *provenance_json, const char *reply_key_hex)
{
	static const char label[] = "teeliza-reply-cache-v1";
	const dcap_policy *d = p->dcap;
	const tee_identity_policy *id = p->identity;
	int64_t now = p->now;
	EVP_MD_CTX *h = EVP_MD_CTX_new();
	unsigned n = 0;
	bool ok;

	if (h == NULL || EVP_DigestInit_ex(h, EVP_sha256(), NULL) != 1) {
		EVP_MD_CTX_free(h);
		return false;
	}
	put(h, label, sizeof(label) - 1, true);
	put(h, &now, sizeof(now), true);
	put(h, NULL, 0, d != NULL);
	if (d != NULL) {
		uint8_t flags[5] = { d->allow_debug, d->require_sept_ve_disable, d->allow_service_td, d->allow_sgx,
			             d->allow_tdx };
		uint32_t accepted = d->accepted, expired = (uint32_t)d->expired;

		put(h, &accepted, sizeof(accepted), true);
		put(h, flags, sizeof(flags), true);
		put(h, &expired, sizeof(expired), true);
		/* expect_report_data is not read: the walk sets it to SHA-512(statement) */
		for (int i = 0; i < 4; i++)
			put(h, d->expect_rtmr[i], 48, d->expect_rtmr[i] != NULL);
		put(h, d->expect_mrtd, 48, d->expect_mrtd != NULL);
	}
	put(h, NULL, 0, id != NULL);
	if (id != NULL) {
		put(h, id->expect_app_id, 20, id->expect_app_id != NULL);
		put(h, id->expect_compose_hash, 32, id->expect_compose_hash != NULL);
		put(h, id->expect_os_image_hash, 32, id->expect_os_image_hash != NULL);
		put_str(h, id->expect_key_provider);
	}
	put_str(h, p->kms_root_hex);
	put(h, statement, statement_len, true);
	put(h, quote_hex, quote_hex_len, true);
	put(h, event_log, event_log_len, true);
	put_str(h, provenance_json);
	put_str(h, reply_key_hex);
	ok = EVP_DigestFinal_ex(h, key, &n) == 1 && n == 32;
	EVP_MD_CTX_free(h);
	return ok;
}

bool tee_reply_cache_get(tee_reply_proved *out, tee_reply_cache *c, const uint8_t key[32])
{
	struct reply_cache_slot *s = &c->slot[key[0] % CACHE_SLOTS];
	bool hit;

	pthread_mutex_lock(&c->lock);
	hit = s->used && memcmp(s->key, key, 32) == 0;
	if (hit) {
		*out = s->proved;
		c->hits++;
	} else {
		c->misses++;
	}
	pthread_mutex_unlock(&c->lock);
	return hit;
}

void tee_reply_cache_put(tee_reply_cache *c, const uint8_t key[32], const tee_reply_proved *proved)
{
	struct reply_cache_slot *s = &c->slot[key[0] % CACHE_SLOTS];

	pthread_mutex_lock(&c->lock);
	s->used = true;
	memcpy(s->key, key, 32);
	s->proved = *proved;
	pthread_mutex_unlock(&c->lock);
}
