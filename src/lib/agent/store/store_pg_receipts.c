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

/* Hold the chain's lock (PG_CHAIN_LOCK) until the transaction ends: queued in a pipeline, else waited for. */
static teeliza_err lock_chain(struct pg_conn *c, const char *agent_id)
{
	const char *vals[1] = { agent_id };
	teeliza_err err;
	PGresult *r = pg_exec(c, &err, PG_CHAIN_LOCK, 1, vals, NULL, NULL, "locking a receipt chain");

	PQclear(r);
	return err;
}

static teeliza_err locked_put_op(struct pg_store *s, struct pg_conn *c, void *ctx)
{
	struct put_args *p = ctx;
	teeliza_err err = lock_chain(c, p->r->agent_id);

	return err != TEELIZA_OK ? err : put_op(s, c, p);
}

teeliza_err pg_put_receipt(agent_store *base, const agent_receipt *r)
{
	struct put_args p = { .r = r };

	if (r->seq == 0 || r->seq > INT64_MAX)
		return teeliza_set_error(TEELIZA_ERR_INVALID, "receipt sequence number %llu out of range",
		                         (unsigned long long)r->seq);
	pg_i64(p.seq, (int64_t)r->seq);
	pg_i64(p.created, r->created_at);
	/* the chain's lock and the insert as one pipeline: one round trip, as the insert alone */
	return pg_run_pipelined(P(base), locked_put_op, &p, "storing a receipt");
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

/* The memories' statement inputs, fixed before the first try (*out: n of them; free with memories_free). */
static teeliza_err memories_args(struct pg_memory_args **out, size_t *made, struct pg_store *s,
                                 const agent_memory *memories, size_t n)
{
	teeliza_err err = TEELIZA_OK;

	*made = 0;
	*out = calloc(n > 0 ? n : 1, sizeof(**out));
	if (*out == NULL)
		return pg_nomem();
	for (; err == TEELIZA_OK && *made < n; (*made)++)
		err = pg_memory_args_init(&(*out)[*made], s, &memories[*made]);
	return err;
}

static void memories_free(struct pg_memory_args *args, size_t made)
{
	for (size_t i = 0; args != NULL && i < made; i++)
		pg_memory_args_free(&args[i]);
	free(args);
}

struct with_memories_args {
	struct put_args receipt;
	struct pg_memory_args *memories;
	size_t n;
};

static teeliza_err with_memories_op(struct pg_store *s, struct pg_conn *c, void *ctx)
{
	struct with_memories_args *w = ctx;
	teeliza_err err = lock_chain(c, w->receipt.r->agent_id);

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
	err = memories_args(&w.memories, &w.n, P(base), memories, n);
	/* the memories and their receipt in one transaction, all or none, sent as one pipeline: one round trip */
	if (err == TEELIZA_OK)
		err = pg_run_pipelined(P(base), with_memories_op, &w, "storing a reply and its receipt");
	memories_free(w.memories, w.n);
	return err;
}

struct append_args {
	const char *agent_id;
	agent_receipt_build build;
	void *ctx;
	struct pg_memory_args *memories;
	size_t n;
	agent_receipt row;           /* what build filled in (its strings are build's) */
	struct put_args put;
};

static teeliza_err append_op(struct pg_store *s, struct pg_conn *c, void *ctx)
{
	struct append_args *a = ctx;
	const char *vals[1] = { a->agent_id };
	agent_receipt head;
	bool have_head = false;
	teeliza_err err = lock_chain(c, a->agent_id);
	PGresult *r = NULL;

	/* under the lock the head read here stays the head until COMMIT: no other writer can append */
	if (err == TEELIZA_OK)
		r = pg_exec(c, &err, PG_LAST_RECEIPT, 1, vals, NULL, NULL, "reading the last receipt");
	memset(&head, 0, sizeof(head));
	if (r != NULL && PQntuples(r) > 0) {
		err = pg_read_receipt(&head, r, 0);
		have_head = err == TEELIZA_OK;
	}
	PQclear(r);
	memset(&a->row, 0, sizeof(a->row));
	if (err == TEELIZA_OK)
		err = a->build(&a->row, a->ctx, have_head ? &head : NULL);
	if (have_head)
		agent_receipt_clear(&head);
	if (err == TEELIZA_OK && (a->row.seq == 0 || a->row.seq > INT64_MAX))
		err = teeliza_set_error(TEELIZA_ERR_INVALID, "receipt sequence number %llu out of range",
		                        (unsigned long long)a->row.seq);
	for (size_t i = 0; err == TEELIZA_OK && i < a->n; i++)
		err = pg_put_memory(c, &a->memories[i]);
	if (err == TEELIZA_OK) {
		a->put.r = &a->row;
		pg_i64(a->put.seq, (int64_t)a->row.seq);
		pg_i64(a->put.created, a->row.created_at);
		err = put_op(s, c, &a->put);
	}
	return err;
}

teeliza_err pg_append_receipt(agent_store *base, const char *agent_id, agent_receipt_build build, void *ctx,
                              const agent_memory *memories, size_t n)
{
	struct append_args a = { .agent_id = agent_id, .build = build, .ctx = ctx };
	teeliza_err err = memories_args(&a.memories, &a.n, P(base), memories, n);

	/* a transaction that waits: the head has to be read before the receipt can be built */
	if (err == TEELIZA_OK)
		err = pg_run(P(base), append_op, &a, "appending a receipt");
	memories_free(a.memories, a.n);
	return err;
}
