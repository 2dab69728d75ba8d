/* The SQLite back-end's receipts (teeliza's own table): one append-only hash chain per agent. */
#include "agent/store/store_sqlite_internal.h"

#include <stdlib.h>
#include <string.h>

static teeliza_err check_seq(const agent_receipt *r)
{
	if (r->seq == 0 || r->seq > INT64_MAX)
		return teeliza_set_error(TEELIZA_ERR_INVALID, "receipt sequence number %llu out of range",
		                         (unsigned long long)r->seq);
	return TEELIZA_OK;
}

/*
 * With s->lock held. The table's one UNIQUE constraint is (agent_id, seq)
 * (its id is the PRIMARY KEY, which fails as SQLITE_CONSTRAINT_PRIMARYKEY):
 * SQLITE_CONSTRAINT_UNIQUE means another writer (a replica on the same
 * file) stored this link of the chain first, TEELIZA_ERR_CONFLICT.
 */
static teeliza_err put_receipt_locked(struct sqlite_store *s, const agent_receipt *r)
{
	sqlite3_stmt *st = stmt(s, ST_PUT_RECEIPT);
	teeliza_err err = TEELIZA_OK;
	int rc;

	bind_text(st, 1, r->id);
	bind_text(st, 2, r->agent_id);
	sqlite3_bind_int64(st, 3, (int64_t)r->seq);
	sqlite3_bind_int64(st, 4, r->created_at != 0 ? r->created_at : agent_store_now_ms());
	bind_text(st, 5, r->memory_id);
	bind_text(st, 6, r->receipt);
	bind_text(st, 7, r->signature);
	bind_text(st, 8, r->public_key);
	bind_text(st, 9, r->eip191);
	rc = sqlite3_step(st);
	if (rc == SQLITE_CONSTRAINT_UNIQUE)
		err = teeliza_set_error(TEELIZA_ERR_CONFLICT, "receipt seq %llu of agent %s was taken by another writer",
		                        (unsigned long long)r->seq, r->agent_id);
	else if (rc == SQLITE_CONSTRAINT_PRIMARYKEY)
		err = teeliza_set_error(TEELIZA_ERR_INVALID, "receipt %s (agent %s, seq %llu) already exists", r->id,
		                        r->agent_id, (unsigned long long)r->seq);
	else if (rc != SQLITE_DONE)
		err = sq_fail(s->db, rc, "storing a receipt");
	done(st);
	return err;
}

teeliza_err sq_put_receipt(agent_store *base, const agent_receipt *r)
{
	struct sqlite_store *s = S(base);
	teeliza_err err = check_seq(r);

	if (err)
		return err;
	pthread_mutex_lock(&s->lock);
	err = put_receipt_locked(s, r);
	pthread_mutex_unlock(&s->lock);
	return err;
}

/* A reply's memories with their embeddings encoded before the lock is taken (sq_prepare_memory). */
struct prepared {
	uint8_t **emb;
	size_t *emb_len;
	size_t n;
};

static teeliza_err prepare_all(struct prepared *p, const agent_memory *memories, size_t n)
{
	char unused[AGENT_UUID_BUFSZ];
	teeliza_err err = TEELIZA_OK;

	p->n = n;
	p->emb = calloc(n > 0 ? n : 1, sizeof(*p->emb));
	p->emb_len = calloc(n > 0 ? n : 1, sizeof(*p->emb_len));
	if (p->emb == NULL || p->emb_len == NULL)
		err = sq_nomem();
	for (size_t i = 0; !err && i < n; i++)
		err = sq_prepare_memory(&p->emb[i], &p->emb_len[i], unused, &memories[i]);
	return err;
}

/* In the caller's transaction, with s->lock held. */
static teeliza_err put_all_locked(struct sqlite_store *s, const struct prepared *p, const agent_memory *memories)
{
	teeliza_err err = TEELIZA_OK;

	for (size_t i = 0; !err && i < p->n; i++)
		err = sq_put_memory(s, &memories[i], memories[i].id, p->emb[i], p->emb_len[i]);
	return err;
}

static void prepared_free(struct prepared *p)
{
	for (size_t i = 0; p->emb != NULL && i < p->n; i++)
		free(p->emb[i]);
	free(p->emb);
	free(p->emb_len);
}

/*
 * The reply's memories and its receipt in one transaction: the receipt's
 * own commit was most of what a receipt added to a /message reply
 * (docs/PERFORMANCE.md, "Receipts").
 */
teeliza_err sq_put_receipt_with_memories(agent_store *base, const agent_receipt *r, const agent_memory *memories,
                                         size_t n)
{
	struct sqlite_store *s = S(base);
	struct prepared p = { 0 };
	teeliza_err err = check_seq(r);

	if (err)
		return err;
	err = prepare_all(&p, memories, n);
	if (!err) {
		pthread_mutex_lock(&s->lock);
		err = sq_begin(s);
		if (!err)
			err = put_all_locked(s, &p, memories);
		if (!err)
			err = put_receipt_locked(s, r);
		err = sq_end(s, err, "committing a reply and its receipt");
		pthread_mutex_unlock(&s->lock);
	}
	prepared_free(&p);
	return err;
}

/* ?1, ?2 bound; one step: a row, none (NOT_FOUND), or the database's error. */
static teeliza_err one_receipt(struct sqlite_store *s, sqlite3_stmt *st, agent_receipt *out, const char *what)
{
	int rc = sqlite3_step(st);
	teeliza_err err;

	if (rc == SQLITE_ROW)
		err = sq_read_receipt(out, st);
	else if (rc == SQLITE_DONE)
		err = teeliza_set_error(TEELIZA_ERR_NOT_FOUND, "no receipt");
	else
		err = sq_fail(s->db, rc, what);
	done(st);
	return err;
}

teeliza_err sq_get_receipt(agent_store *base, agent_receipt *out, const char *agent_id, const char *id)
{
	struct sqlite_store *s = S(base);
	sqlite3_stmt *st;
	teeliza_err err;

	memset(out, 0, sizeof(*out));
	pthread_mutex_lock(&s->lock);
	st = stmt(s, ST_GET_RECEIPT);
	bind_text(st, 1, id);
	bind_text(st, 2, agent_id);
	err = one_receipt(s, st, out, "reading a receipt");
	if (err == TEELIZA_ERR_NOT_FOUND)
		teeliza_set_error(err, "no receipt %s", id);
	pthread_mutex_unlock(&s->lock);
	return err;
}

teeliza_err sq_last_receipt(agent_store *base, agent_receipt *out, const char *agent_id)
{
	struct sqlite_store *s = S(base);
	sqlite3_stmt *st;
	teeliza_err err;

	memset(out, 0, sizeof(*out));
	pthread_mutex_lock(&s->lock);
	st = stmt(s, ST_LAST_RECEIPT);
	bind_text(st, 1, agent_id);
	err = one_receipt(s, st, out, "reading the last receipt");
	if (err == TEELIZA_ERR_NOT_FOUND)
		teeliza_set_error(err, "agent %s has no receipt yet", agent_id);
	pthread_mutex_unlock(&s->lock);
	return err;
}

/*
 * agent_store_append_receipt: BEGIN IMMEDIATE takes the file's write lock,
 * which every writer of every process on the file needs, so the head read
 * inside it stays the head until COMMIT.
 */
teeliza_err sq_append_receipt(agent_store *base, const char *agent_id, agent_receipt_build build, void *ctx,
                              const agent_memory *memories, size_t n)
{
	struct sqlite_store *s = S(base);
	struct prepared p = { 0 };
	agent_receipt head, row;
	bool have_head = false;
	teeliza_err err = prepare_all(&p, memories, n);

	if (!err) {
		pthread_mutex_lock(&s->lock);
		err = sq_begin(s);
		if (!err) {
			sqlite3_stmt *st = stmt(s, ST_LAST_RECEIPT);

			memset(&head, 0, sizeof(head));
			bind_text(st, 1, agent_id);
			err = one_receipt(s, st, &head, "reading the last receipt");
			have_head = err == TEELIZA_OK;
			if (err == TEELIZA_ERR_NOT_FOUND) {
				teeliza_clear_error();
				err = TEELIZA_OK;
			}
		}
		memset(&row, 0, sizeof(row));
		if (!err)
			err = build(&row, ctx, have_head ? &head : NULL);
		if (!err)
			err = check_seq(&row);
		if (!err)
			err = put_all_locked(s, &p, memories);
		if (!err)
			err = put_receipt_locked(s, &row);
		err = sq_end(s, err, "committing a reply and its receipt");
		pthread_mutex_unlock(&s->lock);
		if (have_head)
			agent_receipt_clear(&head);
	}
	prepared_free(&p);
	return err;
}
