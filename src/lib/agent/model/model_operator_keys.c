/*
 * Where the operator's keys may go: each (key, base URL) pair the operator
 * configured (a character loaded from disk, the environment), the key kept
 * only as its SHA-256, so that a character posted over the network cannot
 * send an operator's key anywhere else (model_resolve.c).
 */
#include "agent/model/model_internal.h"

#include <openssl/evp.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* A (key, base URL) pair the operator configured: the key only as its SHA-256. */
struct binding {
	unsigned char key_id[32];
	char base_url[512];
};

static pthread_mutex_t bindings_lock = PTHREAD_MUTEX_INITIALIZER;
static struct binding *bindings;
static size_t n_bindings, cap_bindings;

static bool key_id(unsigned char out[32], const char *key)
{
	unsigned int n = 0;

	return EVP_Digest(key, strlen(key), out, &n, EVP_sha256(), NULL) == 1 && n == 32;
}

/* Remember that the operator sends key to base_url (a character loaded from disk, the environment). */
void agent_llm_bind_operator_key(const char *key, const char *base_url)
{
	struct binding b, *grown;
	size_t i;

	memset(&b, 0, sizeof(b));
	if (!key_id(b.key_id, key))
		return; /* not remembered: a posted character then cannot use this pair, which is the safe side */
	snprintf(b.base_url, sizeof(b.base_url), "%s", base_url);
	pthread_mutex_lock(&bindings_lock);
	for (i = 0; i < n_bindings; i++)
		if (memcmp(bindings[i].key_id, b.key_id, 32) == 0 && strcmp(bindings[i].base_url, b.base_url) == 0)
			break;
	if (i == n_bindings) {
		if (n_bindings == cap_bindings) {
			size_t cap = cap_bindings != 0 ? cap_bindings * 2 : 8;

			grown = realloc(bindings, cap * sizeof(*grown));
			if (grown != NULL) {
				bindings = grown;
				cap_bindings = cap;
			}
		}
		if (n_bindings < cap_bindings)
			bindings[n_bindings++] = b;
	}
	pthread_mutex_unlock(&bindings_lock);
}

bool agent_llm_operator_bound(const char *key, const char *base_url)
{
	unsigned char id[32];
	bool found = false;

	if (!key_id(id, key))
		return false;
	pthread_mutex_lock(&bindings_lock);
	for (size_t i = 0; i < n_bindings && !found; i++)
		found = memcmp(bindings[i].key_id, id, 32) == 0 && strcmp(bindings[i].base_url, base_url) == 0;
	pthread_mutex_unlock(&bindings_lock);
	return found;
}
