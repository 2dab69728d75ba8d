/* The SQLite back-end's memories: Eliza's messages with their embeddings. */
#include "agent/store/store_sqlite_internal.h"
#include "teeliza/agent/uuid.h"

#include <stdlib.h>
#include <string.h>

/* A memory's embedding as stored (m's, or AGENT_STORE_EMBEDDING_DIM zeros); NULL when out of memory. */
static uint8_t *memory_embedding(const agent_memory *m, size_t *len)
{
	if (m->embedding != NULL)
		return sq_encode_embedding(m->embedding, m->embedding_len, len);
	return sq_encode_embedding(NULL, AGENT_STORE_EMBEDDING_DIM, len);
}

/* With s->lock held; id is m->id or a fresh one, emb from memory_embedding. */
teeliza_err sq_put_memory(struct sqlite_store *s, const agent_memory *m, const char *id, const uint8_t *emb,
                          size_t emb_len)
{
	sqlite3_stmt *st = stmt(s, ST_PUT_MEMORY);

	bind_text(st, 1, id);
	bind_text(st, 2, m->type != NULL ? m->type : AGENT_MEMORY_MESSAGES);
	bind_text(st, 3, m->content);
	sqlite3_bind_blob(st, 4, emb, (int)emb_len, SQLITE_STATIC);
	bind_text(st, 5, m->user_id);
	bind_text(st, 6, m->room_id);
	bind_text(st, 7, m->agent_id);
	sqlite3_bind_int(st, 8, m->unique ? 1 : 0);
	sqlite3_bind_int64(st, 9, m->created_at != 0 ? m->created_at : agent_store_now_ms());
	return sq_exec(s, st, "storing a memory");
}

/* The checks and inputs of put_memory, before the lock. */
teeliza_err sq_prepare_memory(uint8_t **emb, size_t *emb_len, char id[AGENT_UUID_BUFSZ], const agent_memory *m)
{
	teeliza_err err;

	*emb = NULL;
	*emb_len = 0;
	if (m->embedding_len > INT32_MAX / 4)
		return teeliza_set_error(TEELIZA_ERR_TOO_LARGE, "embedding of %zu floats", m->embedding_len);
	if (m->id == NULL) {
		err = agent_uuid_random(id);
		if (err)
			return err;
	}
	*emb = memory_embedding(m, emb_len);
	return *emb == NULL ? sq_nomem() : TEELIZA_OK;
}

teeliza_err sq_create_memory(agent_store *base, const agent_memory *m)
{
	struct sqlite_store *s = S(base);
	char id[AGENT_UUID_BUFSZ];
	uint8_t *emb;
	size_t emb_len;
	teeliza_err err;

	err = sq_prepare_memory(&emb, &emb_len, id, m);
	if (err)
		return err;
	pthread_mutex_lock(&s->lock);
	err = sq_put_memory(s, m, m->id != NULL ? m->id : id, emb, emb_len);
	pthread_mutex_unlock(&s->lock);
	free(emb);
	return err;
}

/* One memory with its embedding. */
static teeliza_err memory_row(void *out, sqlite3_stmt *st)
{
	return sq_read_memory(out, st, true);
}

teeliza_err sq_get_memory(agent_store *base, agent_memory *out, const char *id)
{
	memset(out, 0, sizeof(*out));
	return sq_get_by_id(S(base), ST_GET_MEMORY, id, memory_row, out, "memory", "reading a memory");
}

teeliza_err sq_get_memories(agent_store *base, agent_memory_list *out, const agent_memory_query *q)
{
	struct sqlite_store *s = S(base);
	sqlite3_stmt *st;
	size_t cap = 0;
	int rc;
	teeliza_err err = TEELIZA_OK;

	memset(out, 0, sizeof(*out));
	pthread_mutex_lock(&s->lock);
	st = stmt(s, ST_GET_MEMORIES);
	bind_text(st, 1, q->type != NULL ? q->type : AGENT_MEMORY_MESSAGES);
	bind_text(st, 2, q->room_id);
	bind_text(st, 3, q->agent_id);
	sqlite3_bind_int(st, 4, q->unique_only ? 1 : 0);
	bind_ms(st, 5, q->start);
	bind_ms(st, 6, q->end);
	sqlite3_bind_int64(st, 7, q->count > 0 && q->count <= INT64_MAX ? (sqlite3_int64)q->count : -1);
	while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
		err = sq_grow((void **)&out->items, &cap, out->count, sizeof(*out->items));
		if (err == TEELIZA_OK)
			err = sq_read_memory(&out->items[out->count], st, q->with_embedding);
		if (err)
			break;
		out->count++;
	}
	if (err == TEELIZA_OK && rc != SQLITE_DONE)
		err = sq_fail(s->db, rc, "reading a room's memories");
	done(st);
	pthread_mutex_unlock(&s->lock);
	if (err) {
		agent_memory_list_free(out);
		return err;
	}
	if (!q->newest_first) {
		for (size_t i = 0; i < out->count / 2; i++) {
			agent_memory t = out->items[i];

			out->items[i] = out->items[out->count - 1 - i];
			out->items[out->count - 1 - i] = t;
		}
	}
	return TEELIZA_OK;
}

teeliza_err sq_count_memories(agent_store *base, size_t *out, const char *type, const char *room_id,
                              bool unique_only)
{
	struct sqlite_store *s = S(base);
	sqlite3_stmt *st;
	int rc;
	teeliza_err err = TEELIZA_OK;

	*out = 0;
	pthread_mutex_lock(&s->lock);
	st = stmt(s, ST_COUNT_MEMORIES);
	bind_text(st, 1, type);
	bind_text(st, 2, room_id);
	sqlite3_bind_int(st, 3, unique_only ? 1 : 0);
	rc = sqlite3_step(st);
	if (rc == SQLITE_ROW)
		*out = (size_t)sqlite3_column_int64(st, 0);
	else
		err = sq_fail(s->db, rc, "counting memories");
	done(st);
	pthread_mutex_unlock(&s->lock);
	return err;
}

teeliza_err sq_delete_room_memories(agent_store *base, size_t *deleted, const char *type,
                                    const char *room_id)
{
	struct sqlite_store *s = S(base);
	sqlite3_stmt *st;
	teeliza_err err;

	if (deleted != NULL)
		*deleted = 0;
	pthread_mutex_lock(&s->lock);
	st = stmt(s, ST_DELETE_ROOM_MEMORIES);
	bind_text(st, 1, type);
	bind_text(st, 2, room_id);
	err = sq_exec(s, st, "deleting a room's memories");
	if (err == TEELIZA_OK && deleted != NULL)
		*deleted = (size_t)sqlite3_changes(s->db);
	pthread_mutex_unlock(&s->lock);
	return err;
}
