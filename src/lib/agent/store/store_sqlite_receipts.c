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

/*
 * The reply's memories and its receipt in one transaction: the receipt's
 * own commit was most of what a receipt added to a /message reply
 * (docs/PERFORMANCE.md, "Receipts").
 */
teeliza_err sq_put_receipt_with_memories(agent_store *base, const agent_receipt *r, const agent_memory *memories,
                                         size_t n)
{
	struct sqlite_store *s = S(base);
	char unused[AGENT_UUID_BUFSZ];
	uint8_t **emb;
	size_t *emb_len, i;
	teeliza_err err = check_seq(r);

	if (err)
		return err;
	emb = calloc(n, sizeof(*emb));
	emb_len = calloc(n, sizeof(*emb_len));
	if (emb == NULL || emb_len == NULL)
		err = sq_nomem();
	for (i = 0; !err && i < n; i++)
		err = sq_prepare_memory(&emb[i], &emb_len[i], unused, &memories[i]);
	if (!err) {
		pthread_mutex_lock(&s->lock);
		err = sq_begin(s);
		for (i = 0; !err && i < n; i++)
			err = sq_put_memory(s, &memories[i], memories[i].id, emb[i], emb_len[i]);
		if (!err)
			err = put_receipt_locked(s, r);
		err = sq_end(s, err, "committing a reply and its receipt");
		pthread_mutex_unlock(&s->lock);
	}
	for (i = 0; emb != NULL && i < n; i++)
		free(emb[i]);
	free(emb);
	free(emb_len);
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
	char unused[AGENT_UUID_BUFSZ];
	agent_receipt head, row;
	uint8_t **emb;
	size_t *emb_len, i;
	bool have_head = false;
	teeliza_err err = TEELIZA_OK;

	emb = calloc(n > 0 ? n : 1, sizeof(*emb));
	emb_len = calloc(n > 0 ? n : 1, sizeof(*emb_len));
	if (emb == NULL || emb_len == NULL)
		err = sq_nomem();
	for (i = 0; !err && i < n; i++)
		err = sq_prepare_memory(&emb[i], &emb_len[i], unused, &memories[i]);
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
		for (i = 0; !err && i < n; i++)
			err = sq_put_memory(s, &memories[i], memories[i].id, emb[i], emb_len[i]);
		if (!err)
			err = put_receipt_locked(s, &row);
		err = sq_end(s, err, "committing a reply and its receipt");
		pthread_mutex_unlock(&s->lock);
		if (have_head)
			agent_receipt_clear(&head);
	}
	for (i = 0; emb != NULL && i < n; i++)
		free(emb[i]);
	free(emb);
	free(emb_len);
	return err;
}
