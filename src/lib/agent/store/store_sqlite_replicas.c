/*
 * The SQLite back-end's share of replicas on one database (several
 * processes on one WAL file; teeliza/agent/store.h): request claims, the
 * readiness ping, the instances that stored quotes, and the character set
 * over the API. Each claim step is one BEGIN IMMEDIATE transaction, so two
 * processes never both take one request. Leases are measured on the
 * processes' own clock (one machine shares one).
 */
#include "agent/store/store_sqlite_internal.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

teeliza_err sq_ping(agent_store *base)
{
	struct sqlite_store *s = S(base);
	struct stat st;
	teeliza_err err;

	/* the file this store opened must still be the one at its path: a volume gone or swapped is not ready */
	if (s->path != NULL) {
		if (stat(s->path, &st) != 0)
			return teeliza_set_error(TEELIZA_ERR_CONNECT, "database %s: %s", s->path, strerror(errno));
		if (st.st_dev != s->dev || st.st_ino != s->ino)
			return teeliza_set_error(TEELIZA_ERR_CONNECT, "database %s was replaced by another file", s->path);
	}
	pthread_mutex_lock(&s->lock);
	err = sq_exec(s, stmt(s, ST_PING), "reading the database");
	pthread_mutex_unlock(&s->lock);
	if (err && err != TEELIZA_ERR_NOMEM)
		err = teeliza_set_error(TEELIZA_ERR_CONNECT, "%s", teeliza_errmsg());
	return err;
}

/* Read the claim's row: TEELIZA_ERR_NOT_FOUND when there is none. Lock held, inside the transaction. */
static teeliza_err decide(struct sqlite_store *s, agent_request_result *out, bool *take, const agent_request_claim *c,
                          int64_t now)
{
	sqlite3_stmt *st = stmt(s, ST_REQUEST_GET);
	teeliza_err err = TEELIZA_OK;
	int rc;

	*take = false;
	bind_text(st, 1, c->agent_id);
	bind_text(st, 2, c->request_key);
	rc = sqlite3_step(st);
	if (rc == SQLITE_DONE) {
		done(st);
		return TEELIZA_ERR_NOT_FOUND;
	}
	if (rc != SQLITE_ROW) {
		err = sq_fail(s->db, rc, "reading a request");
		done(st);
		return err;
	}
	const char *hash = (const char *)sqlite3_column_text(st, 0);
	const char *state = (const char *)sqlite3_column_text(st, 1);
	const char *owner = (const char *)sqlite3_column_text(st, 2);
	int64_t lease = sqlite3_column_int64(st, 3);
	const char *resp = (const char *)sqlite3_column_text(st, 4);

	if (hash == NULL || state == NULL || owner == NULL) {
		err = teeliza_set_error(TEELIZA_ERR_PARSE, "a request row lacks a column");
	} else if (strcmp(hash, c->body_hash) != 0) {
		out->outcome = AGENT_REQUEST_CONFLICT;
	} else if (strcmp(state, "done") == 0) {
		out->outcome = AGENT_REQUEST_DONE;
		out->response = strdup(resp != NULL ? resp : "null");
		if (out->response == NULL)
			err = sq_nomem();
	} else if (strcmp(state, "failed") == 0 || lease < now || (c->own_stale && strcmp(owner, s->base.owner) == 0)) {
		*take = true; /* given up, its holder's lease ran out, or ours and no longer worked on */
	} else {
		out->outcome = AGENT_REQUEST_BUSY;
		out->retry_after_ms = lease - now > 0 ? lease - now : 1;
	}
	done(st);
	return err;
}

teeliza_err sq_request_claim(agent_store *base, agent_request_result *out, const agent_request_claim *c)
{
	struct sqlite_store *s = S(base);
	int64_t now = agent_store_now_ms();
	sqlite3_stmt *st;
	bool take = false;
	teeliza_err err;
	int rc;

	pthread_mutex_lock(&s->lock);
	err = sq_begin(s);
	if (err) {
		pthread_mutex_unlock(&s->lock);
		return err;
	}
	err = decide(s, out, &take, c, now);
	if (err == TEELIZA_ERR_NOT_FOUND) {
		teeliza_clear_error();
		st = stmt(s, ST_REQUEST_NEW);
		bind_text(st, 1, c->agent_id);
		bind_text(st, 2, c->request_key);
		bind_text(st, 3, c->body_hash);
		bind_text(st, 4, c->room_id);
		bind_text(st, 5, c->user_memory_id);
		bind_text(st, 6, c->reply_memory_id);
		bind_text(st, 7, s->base.owner);
		sqlite3_bind_int64(st, 8, now + c->lease_ms);
		sqlite3_bind_int64(st, 9, now);
		err = sq_exec(s, st, "claiming a request");
		if (!err) {
			out->outcome = AGENT_REQUEST_CLAIMED;
			out->attempts = 1;
		}
	} else if (err == TEELIZA_OK && take) {
		st = stmt(s, ST_REQUEST_TAKE);
		bind_text(st, 1, c->agent_id);
		bind_text(st, 2, c->request_key);
		bind_text(st, 3, s->base.owner);
		sqlite3_bind_int64(st, 4, now + c->lease_ms);
		sqlite3_bind_int64(st, 5, now);
		sqlite3_bind_int(st, 6, c->own_stale ? 1 : 0);
		rc = sqlite3_step(st);
		if (rc == SQLITE_ROW) {
			int64_t a = sqlite3_column_int64(st, 0);

			out->outcome = AGENT_REQUEST_CLAIMED;
			out->attempts = a > 0 && a < (int64_t)UINT32_MAX ? (unsigned)a : 1;
			rc = sqlite3_step(st);
		}
		if (rc != SQLITE_DONE)
			err = sq_fail(s->db, rc, "taking over a request");
		else if (out->outcome != AGENT_REQUEST_CLAIMED)
			err = teeliza_set_error(TEELIZA_ERR_INTERNAL, "a request's lease changed inside a transaction");
		done(st);
	}
	err = sq_end(s, err, "claiming a request");
	pthread_mutex_unlock(&s->lock);
	if (err)
		agent_request_result_clear(out);
	return err;
}

/* Run one of the claim-holder's updates; TEELIZA_ERR_NOT_FOUND when this replica no longer holds it. */
static teeliza_err holder_update(struct sqlite_store *s, enum stmt_id which, const char *agent_id,
                                 const char *request_key, const char *response_json, const char *what)
{
	sqlite3_stmt *st;
	teeliza_err err;

	pthread_mutex_lock(&s->lock);
	st = stmt(s, which);
	bind_text(st, 1, agent_id);
	bind_text(st, 2, request_key);
	bind_text(st, 3, s->base.owner);
	if (response_json != NULL) {
		bind_text(st, 4, response_json);
		sqlite3_bind_int64(st, 5, agent_store_now_ms());
	} else {
		sqlite3_bind_int64(st, 4, agent_store_now_ms());
	}
	err = sq_exec(s, st, what);
	if (!err && sqlite3_changes(s->db) == 0)
		err = teeliza_set_error(TEELIZA_ERR_NOT_FOUND, "request %s is no longer claimed by this replica (%s)",
		                        request_key, s->base.owner);
	pthread_mutex_unlock(&s->lock);
	return err;
}

teeliza_err sq_request_complete(agent_store *base, const char *agent_id, const char *request_key,
                                const char *response_json)
{
	return holder_update(S(base), ST_REQUEST_DONE, agent_id, request_key, response_json, "completing a request");
}

teeliza_err sq_request_release(agent_store *base, const char *agent_id, const char *request_key)
{
	return holder_update(S(base), ST_REQUEST_RELEASE, agent_id, request_key, NULL, "releasing a request");
}

/* The strings of one instances row, in one block. */
static teeliza_err instance_row(agent_instance *out, sqlite3_stmt *st)
{
	const char *cols[3] = { (const char *)sqlite3_column_text(st, 0), (const char *)sqlite3_column_text(st, 1),
	                        (const char *)sqlite3_column_text(st, 5) };
	const char **dst[3] = { &out->instance_id, &out->boot_id, &out->last_attestation_id };
	size_t len[3], total = 0;
	char *p;

	for (int i = 0; i < 3; i++) {
		len[i] = cols[i] != NULL ? strlen(cols[i]) : 0;
		total += len[i] + 1;
	}
	p = malloc(total);
	if (p == NULL)
		return sq_nomem();
	out->owned_ = p;
	for (int i = 0; i < 3; i++) {
		memcpy(p, cols[i] != NULL ? cols[i] : "", len[i]);
		p[len[i]] = '\0';
		*dst[i] = p;
		p += len[i] + 1;
	}
	out->first_ms = sqlite3_column_int64(st, 2);
	out->last_ms = sqlite3_column_int64(st, 3);
	out->attestations = (uint64_t)sqlite3_column_int64(st, 4);
	return TEELIZA_OK;
}

teeliza_err sq_list_instances(agent_store *base, agent_instance_list *out, const char *agent_id)
{
	struct sqlite_store *s = S(base);
	sqlite3_stmt *st;
	size_t cap = 0;
	teeliza_err err = TEELIZA_OK;
	int rc;

	pthread_mutex_lock(&s->lock);
	st = stmt(s, ST_LIST_INSTANCES);
	bind_text(st, 1, agent_id);
	while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
		err = sq_grow((void **)&out->items, &cap, out->count, sizeof(*out->items));
		if (!err)
			err = instance_row(&out->items[out->count], st);
		if (err)
			break;
		out->count++;
	}
	if (!err && rc != SQLITE_DONE)
		err = sq_fail(s->db, rc, "listing instances");
	done(st);
	pthread_mutex_unlock(&s->lock);
	if (err)
		agent_instance_list_free(out);
	return err;
}

teeliza_err sq_character_put(agent_store *base, uint64_t *version, const char *agent_id, const char *json)
{
	struct sqlite_store *s = S(base);
	sqlite3_stmt *st;
	teeliza_err err = TEELIZA_OK;
	int rc;

	pthread_mutex_lock(&s->lock);
	st = stmt(s, ST_CHARACTER_PUT);
	bind_text(st, 1, agent_id);
	bind_text(st, 2, json);
	sqlite3_bind_int64(st, 3, agent_store_now_ms());
	bind_text(st, 4, s->base.owner[0] != '\0' ? s->base.owner : "-");
	rc = sqlite3_step(st);
	if (rc == SQLITE_ROW) {
		*version = (uint64_t)sqlite3_column_int64(st, 0);
		rc = sqlite3_step(st);
	}
	if (rc != SQLITE_DONE)
		err = sq_fail(s->db, rc, "storing the character");
	done(st);
	pthread_mutex_unlock(&s->lock);
	return err;
}

/* version only (json NULL), or both. */
static teeliza_err character_read(struct sqlite_store *s, char **json, uint64_t *version, const char *agent_id)
{
	sqlite3_stmt *st;
	teeliza_err err = TEELIZA_OK;
	int rc;

	pthread_mutex_lock(&s->lock);
	st = stmt(s, json != NULL ? ST_CHARACTER_GET : ST_CHARACTER_VERSION);
	bind_text(st, 1, agent_id);
	rc = sqlite3_step(st);
	if (rc == SQLITE_ROW) {
		*version = (uint64_t)sqlite3_column_int64(st, 0);
		if (json != NULL) {
			const char *t = (const char *)sqlite3_column_text(st, 1);

			*json = strdup(t != NULL ? t : "{}");
			if (*json == NULL)
				err = sq_nomem();
		}
	} else if (rc == SQLITE_DONE) {
		if (json != NULL)
			err = teeliza_set_error(TEELIZA_ERR_NOT_FOUND, "no character stored for agent %s", agent_id);
	} else {
		err = sq_fail(s->db, rc, "reading the character");
	}
	done(st);
	pthread_mutex_unlock(&s->lock);
	return err;
}

teeliza_err sq_character_get(agent_store *base, char **json, uint64_t *version, const char *agent_id)
{
	return character_read(S(base), json, version, agent_id);
}

teeliza_err sq_character_version(agent_store *base, uint64_t *version, const char *agent_id)
{
	return character_read(S(base), NULL, version, agent_id);
}
