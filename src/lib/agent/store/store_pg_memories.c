/* The PostgreSQL back-end's memories: Eliza's messages with their embeddings. */
#include "agent/store/store_pg_internal.h"

#include <stdlib.h>
#include <string.h>

teeliza_err pg_memory_args_init(struct pg_memory_args *a, const struct pg_store *s, const agent_memory *m)
{
	teeliza_err err;

	memset(a, 0, sizeof(*a));
	a->m = m;
	if (m->embedding_len > INT32_MAX / 4)
		return teeliza_set_error(TEELIZA_ERR_TOO_LARGE, "embedding of %zu floats", m->embedding_len);
	a->id = m->id;
	if (a->id == NULL) {
		/* fixed before the first try: a retry writes the same row */
		err = agent_uuid_random(a->fresh);
		if (err)
			return err;
		a->id = a->fresh;
	}
	if (m->embedding != NULL)
		a->embedding = pg_format_embedding(m->embedding, m->embedding_len, s->vector_embeddings);
	else
		a->embedding = pg_format_embedding(NULL, AGENT_STORE_EMBEDDING_DIM, s->vector_embeddings);
	if (a->embedding == NULL)
		return pg_nomem();
	if (m->created_at != 0)
		pg_i64(a->created, m->created_at);
	return TEELIZA_OK;
}

void pg_memory_args_free(struct pg_memory_args *a)
{
	free(a->embedding);
	a->embedding = NULL;
}

teeliza_err pg_put_memory(struct pg_conn *c, const struct pg_memory_args *a)
{
	const agent_memory *m = a->m;
	const char *vals[9] = { a->id, m->type != NULL ? m->type : AGENT_MEMORY_MESSAGES, m->content, a->embedding,
	                        m->user_id, m->room_id, m->agent_id, m->unique ? "t" : "f",
	                        m->created_at != 0 ? a->created : NULL };
	teeliza_err err;
	PGresult *r = pg_exec(c, &err, PG_PUT_MEMORY, 9, vals, NULL, NULL, "storing a memory");

	PQclear(r);
	return err;
}

static teeliza_err create_op(struct pg_store *s, struct pg_conn *c, void *ctx)
{
	(void)s;
	return pg_put_memory(c, ctx);
}

teeliza_err pg_create_memory(agent_store *base, const agent_memory *m)
{
	struct pg_memory_args a;
	teeliza_err err;

	err = pg_memory_args_init(&a, P(base), m);
	if (err == TEELIZA_OK)
		err = pg_run1(P(base), create_op, &a, "storing a memory");
	pg_memory_args_free(&a);
	return err;
}

struct get_one {
	const char *id;
	agent_memory *out;
};

static teeliza_err get_op(struct pg_store *s, struct pg_conn *c, void *ctx)
{
	struct get_one *q = ctx;
	const char *vals[1] = { q->id };
	teeliza_err err;
	PGresult *r = pg_exec(c, &err, PG_GET_MEMORY, 1, vals, NULL, NULL, "reading a memory");

	(void)s;
	agent_memory_clear(q->out); /* from a try whose COMMIT failed */
	if (r == NULL)
		return err;
	if (PQntuples(r) == 0)
		err = teeliza_set_error(TEELIZA_ERR_NOT_FOUND, "no memory %s", q->id);
	else
		err = pg_read_memory(q->out, r, 0);
	PQclear(r);
	return err;
}

teeliza_err pg_get_memory(agent_store *base, agent_memory *out, const char *id)
{
	struct get_one q = { id, out };

	teeliza_err err;

	memset(out, 0, sizeof(*out));
	err = pg_run1(P(base), get_op, &q, "reading a memory");
	if (err)
		agent_memory_clear(out);
	return err;
}

struct get_many {
	const agent_memory_query *q;
	agent_memory_list *out;
};

static teeliza_err list_op(struct pg_store *s, struct pg_conn *c, void *ctx)
{
	struct get_many *g = ctx;
	const agent_memory_query *q = g->q;
	char start[24], end[24], count[24];
	const char *vals[8] = { q->type != NULL ? q->type : AGENT_MEMORY_MESSAGES, q->room_id, q->agent_id,
	                        q->unique_only ? "t" : "f", q->start != 0 ? pg_i64(start, q->start) : NULL,
	                        q->end != 0 ? pg_i64(end, q->end) : NULL,
	                        q->count > 0 && q->count <= INT64_MAX ? pg_i64(count, (int64_t)q->count) : NULL,
	                        q->with_embedding ? "t" : "f" };
	size_t cap = 0;
	teeliza_err err;
	PGresult *r = pg_exec(c, &err, PG_GET_MEMORIES, 8, vals, NULL, NULL, "reading a room's memories");

	(void)s;
	agent_memory_list_free(g->out); /* from a try whose COMMIT failed */
	if (r == NULL)
		return err;
	for (int i = 0; err == TEELIZA_OK && i < PQntuples(r); i++) {
		err = pg_grow((void **)&g->out->items, &cap, g->out->count, sizeof(*g->out->items));
		if (err == TEELIZA_OK)
			err = pg_read_memory(&g->out->items[g->out->count], r, i);
		if (err == TEELIZA_OK)
			g->out->count++;
	}
	PQclear(r);
	if (err)
		agent_memory_list_free(g->out);
	return err;
}

teeliza_err pg_get_memories(agent_store *base, agent_memory_list *out, const agent_memory_query *q)
{
	struct get_many g = { q, out };
	teeliza_err err;

	memset(out, 0, sizeof(*out));
	err = pg_run1(P(base), list_op, &g, "reading a room's memories");
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

struct room_op {
	const char *type, *room_id;
	bool unique_only;
	size_t n;
};

static teeliza_err count_op(struct pg_store *s, struct pg_conn *c, void *ctx)
{
	struct room_op *o = ctx;
	const char *vals[3] = { o->type, o->room_id, o->unique_only ? "t" : "f" };
	uint64_t n = 0;
	teeliza_err err;
	PGresult *r = pg_exec(c, &err, PG_COUNT_MEMORIES, 3, vals, NULL, NULL, "counting memories");

	(void)s;
	if (r == NULL)
		return err;
	if (PQntuples(r) != 1 || teeliza_parse_u64(&n, PQgetvalue(r, 0, 0), 0, SIZE_MAX) != TEELIZA_OK)
		err = teeliza_set_error(TEELIZA_ERR_PARSE, "counting memories: not a count");
	o->n = (size_t)n;
	PQclear(r);
	return err;
}

teeliza_err pg_count_memories(agent_store *base, size_t *out, const char *type, const char *room_id,
                              bool unique_only)
{
	struct room_op o = { type, room_id, unique_only, 0 };
	teeliza_err err = pg_run1(P(base), count_op, &o, "counting memories");

	*out = err == TEELIZA_OK ? o.n : 0;
	return err;
}

static teeliza_err delete_op(struct pg_store *s, struct pg_conn *c, void *ctx)
{
	struct room_op *o = ctx;
	const char *vals[2] = { o->type, o->room_id };
	uint64_t n = 0;
	teeliza_err err;
	PGresult *r = pg_exec(c, &err, PG_DELETE_ROOM_MEMORIES, 2, vals, NULL, NULL, "deleting a room's memories");

	(void)s;
	if (r == NULL)
		return err;
	if (teeliza_parse_u64(&n, PQcmdTuples(r), 0, SIZE_MAX) != TEELIZA_OK)
		err = teeliza_set_error(TEELIZA_ERR_PARSE, "deleting a room's memories: no row count");
	o->n = (size_t)n;
	PQclear(r);
	return err;
}

teeliza_err pg_delete_room_memories(agent_store *base, size_t *deleted, const char *type, const char *room_id)
{
	struct room_op o = { type, room_id, false, 0 };
	teeliza_err err = pg_run1(P(base), delete_op, &o, "deleting a room's memories");

	if (deleted != NULL)
		*deleted = err == TEELIZA_OK ? o.n : 0;
	return err;
}
