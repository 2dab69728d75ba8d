/*
 * A prompt's read on PostgreSQL (agent_store_ops.recall): the room's recent
 * memories joined with their authors' accounts, one statement (PG_RECALL);
 * and the message's write with that read after it, one pipeline
 * (ensure_connection_recall, store_pg_connection.c).
 */
#include "agent/store/store_pg_internal.h"

#include <stdlib.h>
#include <string.h>

void pg_recall_args_init(struct pg_recall_args *a, agent_recall *out, const agent_memory_query *q)
{
	memset(a, 0, sizeof(*a));
	a->q = q;
	a->out = out;
	a->vals[0] = q->type != NULL ? q->type : AGENT_MEMORY_MESSAGES;
	a->vals[1] = q->room_id;
	a->vals[2] = q->agent_id;
	a->vals[3] = q->unique_only ? "t" : "f";
	a->vals[4] = q->start != 0 ? pg_i64(a->start, q->start) : NULL;
	a->vals[5] = q->end != 0 ? pg_i64(a->end, q->end) : NULL;
	a->vals[6] = q->count > 0 && q->count <= INT64_MAX ? pg_i64(a->count, (int64_t)q->count) : NULL;
}

#define AUTHOR_COLUMN 9 /* PG_RECALL: the memory's nine columns, then the account's six */

static bool has_author(const agent_account_list *l, const char *id)
{
	for (size_t i = 0; i < l->count; i++)
		if (strcmp(l->items[i].id, id) == 0)
			return true;
	return false;
}

/* The rows (newest first) into out: memories in the query's order, then each author once in that order. */
static teeliza_err read_rows(void *ctx, const PGresult *r)
{
	struct pg_recall_args *a = ctx;
	agent_recall *out = a->out;
	int rows = PQntuples(r);
	int *row_of = NULL;
	size_t cap = 0;
	teeliza_err err = TEELIZA_OK;

	agent_recall_free(out); /* from a try that failed after reading */
	if (rows == 0)
		return TEELIZA_OK;
	if (PQnfields(r) != AUTHOR_COLUMN + 6)
		return teeliza_set_error(TEELIZA_ERR_PROTOCOL, "reading a conversation: %d columns", PQnfields(r));
	row_of = malloc((size_t)rows * sizeof(*row_of));
	out->authors.items = calloc((size_t)rows, sizeof(*out->authors.items));
	if (row_of == NULL || out->authors.items == NULL)
		err = pg_nomem();
	for (int i = 0; err == TEELIZA_OK && i < rows; i++) {
		err = pg_grow((void **)&out->memories.items, &cap, out->memories.count, sizeof(*out->memories.items));
		if (err == TEELIZA_OK)
			err = pg_read_memory(&out->memories.items[out->memories.count], r, i);
		if (err == TEELIZA_OK)
			row_of[out->memories.count++] = i;
	}
	if (err == TEELIZA_OK && !a->q->newest_first) {
		size_t n = out->memories.count;

		for (size_t i = 0; i < n / 2; i++) {
			agent_memory t = out->memories.items[i];
			int tr = row_of[i];

			out->memories.items[i] = out->memories.items[n - 1 - i];
			out->memories.items[n - 1 - i] = t;
			row_of[i] = row_of[n - 1 - i];
			row_of[n - 1 - i] = tr;
		}
	}
	for (size_t i = 0; err == TEELIZA_OK && i < out->memories.count; i++) {
		const char *uid = out->memories.items[i].user_id;

		/* no account row (NULL id): a message from an account since removed, left out as the fallback does */
		if (uid == NULL || PQgetisnull(r, row_of[i], AUTHOR_COLUMN) || has_author(&out->authors, uid))
			continue;
		err = pg_read_account_at(&out->authors.items[out->authors.count], r, row_of[i], AUTHOR_COLUMN);
		if (err == TEELIZA_OK)
			out->authors.count++;
	}
	free(row_of);
	if (err)
		agent_recall_free(out);
	return err;
}

teeliza_err pg_queue_recall(struct pg_conn *c, struct pg_recall_args *a)
{
	return pg_queue_read(c, PG_RECALL, 7, a->vals, read_rows, a, "reading a conversation");
}

static teeliza_err recall_op(struct pg_store *s, struct pg_conn *c, void *ctx)
{
	struct pg_recall_args *a = ctx;
	teeliza_err err;
	PGresult *r = pg_exec(c, &err, PG_RECALL, 7, a->vals, NULL, NULL, "reading a conversation");

	(void)s;
	if (r == NULL)
		return err;
	err = read_rows(a, r);
	PQclear(r);
	return err;
}

teeliza_err pg_recall(agent_store *base, agent_recall *out, const agent_memory_query *q)
{
	struct pg_recall_args a;
	teeliza_err err;

	memset(out, 0, sizeof(*out));
	pg_recall_args_init(&a, out, q);
	err = pg_run1(P(base), recall_op, &a, "reading a conversation");
	if (err)
		agent_recall_free(out);
	return err;
}
