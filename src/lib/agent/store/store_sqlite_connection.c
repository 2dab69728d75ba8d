/*
 * ensure_connection in the SQLite back-end: both accounts, the room, both
 * participants and (optionally) the message just received in one write
 * transaction, skipped for a connection this store has already made.
 */
#include "agent/store/store_sqlite_internal.h"

#include <stdlib.h>
#include <string.h>

static uint64_t key_hash(const char *key, size_t len)
{
	uint64_t h = 1469598103934665603ull; /* FNV-1a */

	for (size_t i = 0; i < len; i++) {
		h ^= (uint8_t)key[i];
		h *= 1099511628211ull;
	}
	return h;
}

/* "agent\0user\0room\0" (malloc'd, caller frees), or NULL when out of memory. */
static char *connection_key(size_t *len, const char *agent_id, const char *user_id, const char *room_id)
{
	size_t la = strlen(agent_id) + 1, lu = strlen(user_id) + 1, lr = strlen(room_id) + 1;
	char *key = malloc(la + lu + lr);

	*len = la + lu + lr;
	if (key != NULL) {
		memcpy(key, agent_id, la);
		memcpy(key + la, user_id, lu);
		memcpy(key + la + lu, room_id, lr);
	}
	return key;
}

teeliza_err sq_ensure_connection(agent_store *base, const agent_account *agent, const agent_account *user,
                                 const char *room_id, const agent_memory *m)
{
	struct sqlite_store *s = S(base);
	const char *user_id = user != NULL ? user->id : agent->id;
	struct known_slot *slot;
	char mem_id[AGENT_UUID_BUFSZ];
	uint8_t *emb = NULL;
	size_t len, emb_len = 0;
	char *key;
	bool known;
	teeliza_err err;

	if (m != NULL) {
		err = sq_prepare_memory(&emb, &emb_len, mem_id, m);
		if (err)
			return err;
	}
	key = connection_key(&len, agent->id, user_id, room_id);
	if (key == NULL) {
		free(emb);
		return sq_nomem();
	}
	slot = &s->known[key_hash(key, len) % KNOWN_SLOTS];
	pthread_mutex_lock(&s->lock);
	known = slot->key != NULL && slot->len == len && memcmp(slot->key, key, len) == 0;
	if (known) {
		err = m != NULL ? sq_put_memory(s, m, m->id != NULL ? m->id : mem_id, emb, emb_len) : TEELIZA_OK;
		goto out;
	}
	err = sq_begin(s);
	if (err)
		goto out;
	err = sq_put_account(s, agent);
	if (err == TEELIZA_OK && user != NULL)
		err = sq_put_account(s, user);
	if (err == TEELIZA_OK)
		err = sq_put_room(s, room_id);
	if (err == TEELIZA_OK)
		err = sq_put_participant(s, user_id, room_id);
	if (err == TEELIZA_OK && user != NULL)
		err = sq_put_participant(s, agent->id, room_id);
	if (err == TEELIZA_OK && m != NULL)
		err = sq_put_memory(s, m, m->id != NULL ? m->id : mem_id, emb, emb_len);
	err = sq_end(s, err, "committing a connection");
	if (err == TEELIZA_OK) {
		free(slot->key);
		slot->key = key;
		slot->len = len;
		key = NULL;
	}
out:
	pthread_mutex_unlock(&s->lock);
	free(key);
	free(emb);
	return err;
}
