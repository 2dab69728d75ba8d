/*
 * GetKey answers the simulator has already computed. GetKey is
 * deterministic (HKDF, then an RFC 6979 signature), and apps ask for the
 * same few paths again and again, so remembering answers saves the two
 * secp256k1 operations that are nearly all of its cost. Direct-mapped:
 * each (algorithm, path, purpose) has one slot, a newer one evicts the
 * older. A slot holds a derived key, so the cache is wiped when freed.
 */
#include "sim/simsrv.h"

#include <stdlib.h>
#include <string.h>

#define SLOTS 1024u
#define TEXT_MAX 192u /* path and purpose longer than this together are not cached */

struct slot {
	pthread_mutex_t lock;
	bool used;
	tee_dstack_alg alg;
	size_t path_len, purpose_len;
	char text[TEXT_MAX];  /* path ‖ purpose */
	tee_dstack_key key;   /* secret */
};

struct simsrv_keycache {
	struct slot slots[SLOTS];
};

teeliza_err simsrv_keycache_new(simsrv_keycache **out)
{
	simsrv_keycache *c = calloc(1, sizeof(*c));
	size_t i;

	*out = NULL;
	if (c == NULL)
		return teeliza_set_error(TEELIZA_ERR_NOMEM, "out of memory");
	for (i = 0; i < SLOTS; i++)
		pthread_mutex_init(&c->slots[i].lock, NULL);
	*out = c;
	return TEELIZA_OK;
}

void simsrv_keycache_free(simsrv_keycache *c)
{
	size_t i;

	if (c == NULL)
		return;
	for (i = 0; i < SLOTS; i++)
		pthread_mutex_destroy(&c->slots[i].lock);
	teeliza_wipe(c, sizeof(*c));
	free(c);
}

/* FNV-1a over the lengths and bytes: only spreads entries, a collision just shares a slot. */
static struct slot *slot_for(simsrv_keycache *c, tee_dstack_alg alg, const char *path, size_t path_len,
                             const char *purpose, size_t purpose_len)
{
	uint64_t h = 1469598103934665603u;
	size_t i;

	h = (h ^ (uint64_t)alg) * 1099511628211u;
	h = (h ^ (uint64_t)path_len) * 1099511628211u;
	for (i = 0; i < path_len; i++)
		h = (h ^ (uint8_t)path[i]) * 1099511628211u;
	for (i = 0; i < purpose_len; i++)
		h = (h ^ (uint8_t)purpose[i]) * 1099511628211u;
	return &c->slots[(h ^ (h >> 32)) % SLOTS];
}

static bool matches(const struct slot *s, tee_dstack_alg alg, const char *path, size_t path_len, const char *purpose,
                    size_t purpose_len)
{
	return s->used && s->alg == alg && s->path_len == path_len && s->purpose_len == purpose_len &&
	       (path_len == 0 || memcmp(s->text, path, path_len) == 0) &&
	       (purpose_len == 0 || memcmp(s->text + path_len, purpose, purpose_len) == 0);
}

bool simsrv_keycache_get(simsrv_keycache *c, tee_dstack_key *out, tee_dstack_alg alg, const char *path,
                         size_t path_len, const char *purpose, size_t purpose_len)
{
	struct slot *s;
	bool hit;

	if (c == NULL || path_len + purpose_len > TEXT_MAX)
		return false;
	s = slot_for(c, alg, path, path_len, purpose, purpose_len);
	pthread_mutex_lock(&s->lock);
	hit = matches(s, alg, path, path_len, purpose, purpose_len);
	if (hit)
		*out = s->key;
	pthread_mutex_unlock(&s->lock);
	return hit;
}

void simsrv_keycache_put(simsrv_keycache *c, const tee_dstack_key *key, tee_dstack_alg alg, const char *path,
                         size_t path_len, const char *purpose, size_t purpose_len)
{
	struct slot *s;

	if (c == NULL || path_len + purpose_len > TEXT_MAX)
		return;
	s = slot_for(c, alg, path, path_len, purpose, purpose_len);
	pthread_mutex_lock(&s->lock);
	s->used = true;
	s->alg = alg;
	s->path_len = path_len;
	s->purpose_len = purpose_len;
	if (path_len > 0)
		memcpy(s->text, path, path_len);
	if (purpose_len > 0)
		memcpy(s->text + path_len, purpose, purpose_len);
	s->key = *key;
	pthread_mutex_unlock(&s->lock);
}
