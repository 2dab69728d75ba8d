/*
 * A small LRU cache of parsed collateral keyed by the SHA-256 of its JSON.
 * The verification memo lives in each dcap_collateral, so a hit skips JSON,
 * certificate and CRL parsing and, inside the validity window, the chain and
 * signature checks too.
 */
#include "dcap/verify_internal.h"

#include <stdlib.h>
#include <string.h>

typedef struct cache_entry {
	uint8_t key[32];
	dcap_collateral *coll;  /* the cache's own reference */
	uint64_t stamp;
} cache_entry;

struct dcap_cache {
	pthread_mutex_t lock;
	size_t max, n;
	cache_entry *entries;
	uint64_t stamp;
	uint64_t hits, misses, evictions;
};

teeliza_err dcap_cache_new(dcap_cache **out, size_t max_entries)
{
	dcap_cache *c;

	*out = NULL;
	if (max_entries == 0)
		max_entries = 16;
	if (max_entries > 1u << 20)
		return teeliza_set_error(TEELIZA_ERR_INVALID, "cache size %zu is too large", max_entries);
	c = calloc(1, sizeof(*c));
	if (c == NULL)
		return teeliza_set_error(TEELIZA_ERR_NOMEM, "out of memory");
	c->entries = calloc(max_entries, sizeof(*c->entries));
	if (c->entries == NULL || pthread_mutex_init(&c->lock, NULL) != 0) {
		free(c->entries);
		free(c);
		return teeliza_set_error(TEELIZA_ERR_NOMEM, "out of memory");
	}
	c->max = max_entries;
	*out = c;
	return TEELIZA_OK;
}

/* Under the lock. */
static dcap_collateral *find(dcap_cache *c, const uint8_t key[32])
{
	size_t i;

	for (i = 0; i < c->n; i++) {
		if (memcmp(c->entries[i].key, key, 32) == 0) {
			c->entries[i].stamp = ++c->stamp;
			return dcap_collateral_ref(c->entries[i].coll);
		}
	}
	return NULL;
}

/* Under the lock: insert coll (taking a new reference), evicting the least recently used entry. */
static void insert(dcap_cache *c, const uint8_t key[32], dcap_collateral *coll)
{
	cache_entry *slot;
	size_t i;

	if (c->n < c->max) {
		slot = &c->entries[c->n++];
	} else {
		slot = &c->entries[0];
		for (i = 1; i < c->n; i++)
			if (c->entries[i].stamp < slot->stamp)
				slot = &c->entries[i];
		dcap_collateral_free(slot->coll);
		c->evictions++;
	}
	memcpy(slot->key, key, 32);
	slot->coll = dcap_collateral_ref(coll);
	slot->stamp = ++c->stamp;
}

teeliza_err dcap_cache_get(dcap_collateral **out, dcap_cache *cache, const char *json, size_t json_len)
{
	uint8_t key[32];
	dcap_collateral *coll, *raced;
	teeliza_err err;

	*out = NULL;
	dcap_sha256_of(key, json, json_len);
	pthread_mutex_lock(&cache->lock);
	coll = find(cache, key);
	if (coll != NULL)
		cache->hits++;
	else
		cache->misses++;
	pthread_mutex_unlock(&cache->lock);
	if (coll != NULL) {
		*out = coll;
		return TEELIZA_OK;
	}
	/* Parse outside the lock; if another thread got there first, use its copy. */
	err = dcap_collateral_parse_json(&coll, json, json_len);
	if (err)
		return err;
	pthread_mutex_lock(&cache->lock);
	raced = find(cache, key);
	if (raced == NULL)
		insert(cache, key, coll);
	pthread_mutex_unlock(&cache->lock);
	if (raced != NULL) {
		dcap_collateral_free(coll);
		coll = raced;
	}
	*out = coll;
	return TEELIZA_OK;
}

void dcap_cache_get_stats(dcap_cache_stats *out, dcap_cache *cache)
{
	pthread_mutex_lock(&cache->lock);
	out->hits = cache->hits;
	out->misses = cache->misses;
	out->evictions = cache->evictions;
	out->entries = cache->n;
	pthread_mutex_unlock(&cache->lock);
}

void dcap_cache_free(dcap_cache *cache)
{
	size_t i;

	if (cache == NULL)
		return;
	for (i = 0; i < cache->n; i++)
		dcap_collateral_free(cache->entries[i].coll);
	pthread_mutex_destroy(&cache->lock);
	free(cache->entries);
	free(cache);
}
