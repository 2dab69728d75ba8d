/*
 * ensure_connection in the PostgreSQL back-end: both accounts and the room
 * first, then both participants (the foreign keys need that order), then
 * the message just received, as upserts in one transaction sent as one
 * pipeline; skipped for a connection this process has already made (the
 * rows are never deleted, and another replica making the same rows
 * meanwhile is harmless). ensure_connection_recall adds the prompt's read
 * (store_pg_recall.c) to the end of the same pipeline.
 */
#include "agent/store/store_pg_internal.h"

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

struct connection {
	const agent_account *agent, *user;
	const char *room_id;
	bool known;
	const struct pg_memory_args *m;  /* NULL: no memory */
	struct pg_recall_args *recall;   /* NULL: no read after the writes (then m's write is all) */
};

static teeliza_err connection_op(struct pg_store *s, struct pg_conn *c, void *ctx)
{
	struct connection *k = ctx;
	const char *user_id = k->user != NULL ? k->user->id : k->agent->id;
	teeliza_err err = TEELIZA_OK;

	(void)s;
	if (!k->known) {
		err = pg_put_account(c, k->agent);
		if (err == TEELIZA_OK && k->user != NULL)
			err = pg_put_account(c, k->user);
		if (err == TEELIZA_OK)
			err = pg_put_room(c, k->room_id);
		if (err == TEELIZA_OK)
			err = pg_put_participant(c, user_id, k->room_id);
		if (err == TEELIZA_OK && k->user != NULL)
			err = pg_put_participant(c, k->agent->id, k->room_id);
	}
	if (err == TEELIZA_OK && k->m != NULL)
		err = pg_put_memory(c, k->m);
	if (err == TEELIZA_OK && k->recall != NULL)
		err = pg_queue_recall(c, k->recall);
	return err;
}

static teeliza_err connect_and_recall(agent_store *base, const agent_account *agent, const agent_account *user,
                                      const char *room_id, const agent_memory *m, struct pg_recall_args *recall)
{
	struct pg_store *s = P(base);
	struct connection k = { .agent = agent, .user = user, .room_id = room_id, .recall = recall };
	struct pg_memory_args args;
	struct pg_known_slot *slot;
	size_t len;
	char *key;
	teeliza_err err;

	if (m != NULL) {
		err = pg_memory_args_init(&args, s, m);
		if (err)
			return err;
		k.m = &args;
	}
	key = connection_key(&len, agent->id, user != NULL ? user->id : agent->id, room_id);
	if (key == NULL) {
		if (m != NULL)
			pg_memory_args_free(&args);
		return pg_nomem();
	}
	slot = &s->known[key_hash(key, len) % PG_KNOWN_SLOTS];
	pthread_mutex_lock(&s->lock);
	k.known = slot->key != NULL && slot->len == len && memcmp(slot->key, key, len) == 0;
	pthread_mutex_unlock(&s->lock);
	/*
	 * A known connection with a memory and no read is one statement: no
	 * transaction around it. Anything more is one pipeline: the writes
	 * and the read after them in one round trip, all or none.
	 */
	if (k.known && k.m == NULL && recall == NULL)
		err = TEELIZA_OK; /* nothing to write: no connection borrowed */
	else if (k.known && recall == NULL)
		err = pg_run1(s, connection_op, &k, "storing a connection");
	else
		err = pg_run_pipelined(s, connection_op, &k, "storing a connection");
	if (err == TEELIZA_OK && !k.known) {
		pthread_mutex_lock(&s->lock);
		free(slot->key);
		slot->key = key;
		slot->len = len;
		key = NULL;
		pthread_mutex_unlock(&s->lock);
	}
	free(key);
	if (m != NULL)
		pg_memory_args_free(&args);
	return err;
}

teeliza_err pg_ensure_connection(agent_store *base, const agent_account *agent, const agent_account *user,
                                 const char *room_id, const agent_memory *m)
{
	return connect_and_recall(base, agent, user, room_id, m, NULL);
}

teeliza_err pg_ensure_connection_recall(agent_store *base, agent_recall *out, const agent_account *agent,
                                        const agent_account *user, const char *room_id, const agent_memory *m,
                                        const agent_memory_query *q)
{
	struct pg_recall_args a;
	teeliza_err err;

	memset(out, 0, sizeof(*out));
	pg_recall_args_init(&a, out, q);
	err = connect_and_recall(base, agent, user, room_id, m, &a);
	if (err)
		agent_recall_free(out);
	return err;
}
