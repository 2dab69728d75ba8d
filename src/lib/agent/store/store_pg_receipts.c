/* The PostgreSQL back-end's receipts (teeliza_receipts): one append-only hash chain per agent. */
#include "agent/store/store_pg_internal.h"

#include <stdlib.h>
#include <string.h>

/* PostgreSQL's name for migration 2's UNIQUE ("agentId", "seq") (<table>_<columns>_key). */
#define PG_RECEIPT_SEQ_CONSTRAINT "teeliza_receipts_agentId_seq_key"

bool pg_receipt_seq_taken(const struct pg_conn *c)
{
	return strcmp(c->sqlstate, "23505") == 0 && strcmp(c->constraint, PG_RECEIPT_SEQ_CONSTRAINT) == 0;
}

struct put_args {
	const agent_receipt *r;
	char seq[24], created[24];
};

/* What a failed receipt insert means: a taken link (CONFLICT), a taken id, or what pg_fail_result said. */
static teeliza_err put_failed(void *ctx, const struct pg_conn *c, teeliza_err err)
{
	const struct put_args *p = ctx;
	const agent_receipt *rc = p->r;

	if (pg_receipt_seq_taken(c))
		return teeliza_set_error(TEELIZA_ERR_CONFLICT, "receipt seq %s of agent %s was taken by another writer",
		                         p->seq, rc->agent_id);
	if (err == TEELIZA_ERR_INVALID && strcmp(c->sqlstate, "23505") == 0)
		teeliza_set_error(err, "receipt %s (agent %s, seq %s) already exists", rc->id, rc->agent_id, p->seq);
	return err;
}

static teeliza_err put_op(struct pg_store *s, struct pg_conn *c, void *ctx)
{
	struct put_args *p = ctx;
	const agent_receipt *rc = p->r;
	const char *vals[9] = { rc->id, rc->agent_id, p->seq, rc->created_at != 0 ? p->created : NULL, rc->memory_id,
	                        rc->receipt, rc->signature, rc->public_key, rc->eip191 };
	teeliza_err err;
	PGresult *r;

	(void)s;
	if (c->pipelined) /* with a reply's memories: the failure is known when the pipeline's results come */
		return pg_queue(c, PG_PUT_RECEIPT, 9, vals, NULL, NULL, NULL, put_failed, p, "storing a receipt");
	r = pg_exec(c, &err, PG_PUT_RECEIPT, 9, vals, NULL, NULL, "storing a receipt");
	PQclear(r);
	return err != TEELIZA_OK ? put_failed(p, c, err) : err;
}

teeliza_err pg_put_receipt(agent_store *base, const agent_receipt *r)
{
	struct put_args p = { .r = r };

	if (r->seq == 0 || r->seq > INT64_MAX)
		return teeliza_set_error(TEELIZA_ERR_INVALID, "receipt sequence number %llu out of range",
		                         (unsigned long long)r->seq);
	pg_i64(p.seq, (int64_t)r->seq);
	pg_i64(p.created, r->created_at);
	return pg_run1(P(base), put_op, &p, "storing a receipt");
}

struct get_args {
	enum pg_stmt which;
	const char *vals[2];
	int n;
	agent_receipt *out;
};

static teeliza_err get_op(struct pg_store *s, struct pg_conn *c, void *ctx)
{
	struct get_args *g = ctx;
	teeliza_err err;
	PGresult *r = pg_exec(c, &err, g->which, g->n, g->vals, NULL, NULL, "reading a receipt");

	(void)s;
	agent_receipt_clear(g->out); /* from a try whose COMMIT failed */
	if (r == NULL)
		return err;
	if (PQntuples(r) == 0)
		err = teeliza_set_error(TEELIZA_ERR_NOT_FOUND, "no receipt");
	else
		err = pg_read_receipt(g->out, r, 0);
	PQclear(r);
	return err;
}

teeliza_err pg_get_receipt(agent_store *base, agent_receipt *out, const char *agent_id, const char *id)
{
	struct get_args g = { PG_GET_RECEIPT, { id, agent_id }, 2, out };
	teeliza_err err;

	memset(out, 0, sizeof(*out));
	err = pg_run1(P(base), get_op, &g, "reading a receipt");
	if (err == TEELIZA_ERR_NOT_FOUND)
		teeliza_set_error(err, "no receipt %s", id);
	if (err)
		agent_receipt_clear(out);
	return err;
}

teeliza_err pg_last_receipt(agent_store *base, agent_receipt *out, const char *agent_id)
{
	struct get_args g = { PG_LAST_RECEIPT, { agent_id, NULL }, 1, out };
	teeliza_err err;

	memset(out, 0, sizeof(*out));
	err = pg_run1(P(base), get_op, &g, "reading the last receipt");
	if (err == TEELIZA_ERR_NOT_FOUND)
		teeliza_set_error(err, "agent %s has no receipt yet", agent_id);
	if (err)
		agent_receipt_clear(out);
	return err;
}

struct with_memories_args {
	struct put_args receipt;
	struct pg_memory_args *memories;
	size_t n;
};

static teeliza_err with_memories_op(struct pg_store *s, struct pg_conn *c, void *ctx)
{
	struct with_memories_args *w = ctx;
	teeliza_err err = TEELIZA_OK;

	for (size_t i = 0; err == TEELIZA_OK && i < w->n; i++)
		err = pg_put_memory(c, &w->memories[i]);
	if (err == TEELIZA_OK)
		err = put_op(s, c, &w->receipt);
	return err;
}

teeliza_err pg_put_receipt_with_memories(agent_store *base, const agent_receipt *r, const agent_memory *memories,
                                         size_t n)
{
	struct with_memories_args w = { .receipt = { .r = r }, .n = 0 };
	teeliza_err err = TEELIZA_OK;

	if (r->seq == 0 || r->seq > INT64_MAX)
		return teeliza_set_error(TEELIZA_ERR_INVALID, "receipt sequence number %llu out of range",
		                         (unsigned long long)r->seq);
	pg_i64(w.receipt.seq, (int64_t)r->seq);
	pg_i64(w.receipt.created, r->created_at);
	w.memories = calloc(n > 0 ? n : 1, sizeof(*w.memories));
	if (w.memories == NULL)
		return pg_nomem();
	for (; err == TEELIZA_OK && w.n < n; w.n++)
		err = pg_memory_args_init(&w.memories[w.n], P(base), &memories[w.n]);
	/* the memories and their receipt in one transaction, all or none, sent as one pipeline: one round trip */
	if (err == TEELIZA_OK)
		err = pg_run_pipelined(P(base), with_memories_op, &w, "storing a reply and its receipt");
	for (size_t i = 0; i < w.n; i++)
		pg_memory_args_free(&w.memories[i]);
	free(w.memories);
	return err;
}
