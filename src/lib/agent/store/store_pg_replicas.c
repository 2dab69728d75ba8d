/*
 * The PostgreSQL back-end's share of replicas on one database
 * (teeliza/agent/store.h, "Replicas sharing one database"): the readiness
 * ping, request claims, the instances that stored quotes, and the character
 * set over the API. Leases are measured on the database's clock (now()),
 * never on a replica's: replicas on several machines share no other. A
 * claim is race-free because each of its steps is one statement that
 * PostgreSQL decides on the locked row (store_pg_stmt.c says how).
 */
#include "agent/store/store_pg_internal.h"

#include <stdlib.h>
#include <string.h>

static teeliza_err ping_op(struct pg_store *s, struct pg_conn *c, void *ctx)
{
	teeliza_err err;
	PGresult *r = pg_exec(c, &err, PG_PING, 0, NULL, NULL, NULL, "pinging the database");

	(void)s;
	(void)ctx;
	PQclear(r);
	return err;
}

teeliza_err pg_ping(agent_store *base)
{
	/* one round trip on a pooled connection; a server that cannot be reached fails at once (store_pg_pool.c) */
	teeliza_err err = pg_run1(P(base), ping_op, NULL, "pinging the database");

	if (err && err != TEELIZA_ERR_NOMEM && err != TEELIZA_ERR_CONNECT)
		err = teeliza_set_error(TEELIZA_ERR_CONNECT, "%s", teeliza_errmsg());
	return err;
}

struct claim_args {
	const agent_request_claim *c;
	const char *owner;
	char lease[24];
	agent_request_result *out;
};

/* The first row's column as a bounded count (attempts, ms); 1 when it does not parse. */
static uint64_t count_of(const PGresult *r, int col)
{
	uint64_t v = 1;

	if (teeliza_parse_u64(&v, PQgetvalue(r, 0, col), 1, UINT32_MAX) != TEELIZA_OK)
		v = 1;
	return v;
}

static teeliza_err claim_op(struct pg_store *s, struct pg_conn *c, void *ctx)
{
	struct claim_args *a = ctx;
	const agent_request_claim *q = a->c;
	const char *ins[8] = { q->agent_id, q->request_key, q->body_hash, q->room_id, q->user_memory_id,
	                       q->reply_memory_id, a->owner, a->lease };
	const char *take[6] = { q->agent_id, q->request_key, a->owner, a->lease, q->own_stale ? "t" : "f", q->body_hash };
	const char *get[2] = { q->agent_id, q->request_key };
	teeliza_err err;
	PGresult *r;

	(void)s;
	agent_request_result_clear(a->out); /* from a try whose COMMIT failed */
	r = pg_exec(c, &err, PG_REQUEST_NEW, 8, ins, NULL, NULL, "claiming a request");
	if (r != NULL && PQntuples(r) == 1) {
		a->out->outcome = AGENT_REQUEST_CLAIMED;
		a->out->attempts = 1;
	}
	PQclear(r);
	if (err || a->out->outcome != 0)
		return err;
	r = pg_exec(c, &err, PG_REQUEST_TAKE, 6, take, NULL, NULL, "taking over a request");
	if (r != NULL && PQntuples(r) == 1) {
		a->out->outcome = AGENT_REQUEST_CLAIMED;
		a->out->attempts = (unsigned)count_of(r, 0);
	}
	PQclear(r);
	if (err || a->out->outcome != 0)
		return err;
	r = pg_exec(c, &err, PG_REQUEST_GET, 2, get, NULL, NULL, "reading a request");
	if (r == NULL)
		return err;
	if (PQntuples(r) != 1) {
		err = teeliza_set_error(TEELIZA_ERR_INTERNAL, "request %s vanished while it was claimed", q->request_key);
	} else if (strcmp(PQgetvalue(r, 0, 0), q->body_hash) != 0) {
		a->out->outcome = AGENT_REQUEST_CONFLICT;
	} else if (strcmp(PQgetvalue(r, 0, 1), "done") == 0) {
		a->out->outcome = AGENT_REQUEST_DONE;
		a->out->response = strdup(PQgetisnull(r, 0, 2) ? "null" : PQgetvalue(r, 0, 2));
		if (a->out->response == NULL)
			err = pg_nomem();
	} else {
		/* held under a live lease (or its lease ran out just now: asking again soon takes it) */
		a->out->outcome = AGENT_REQUEST_BUSY;
		a->out->retry_after_ms = (int64_t)count_of(r, 3);
	}
	PQclear(r);
	return err;
}

teeliza_err pg_request_claim(agent_store *base, agent_request_result *out, const agent_request_claim *c)
{
	struct claim_args a = { .c = c, .owner = base->owner, .out = out };
	teeliza_err err;

	pg_i64(a.lease, c->lease_ms);
	/*
	 * No transaction around the steps: each is one statement decided on
	 * the locked row, and READ COMMITTED gives each statement its own
	 * snapshot inside a transaction as well, so BEGIN and COMMIT would
	 * only add two round trips (a new request's claim is one).
	 */
	err = pg_run1(P(base), claim_op, &a, "claiming a request");
	if (err)
		agent_request_result_clear(out);
	return err;
}

struct holder_args {
	enum pg_stmt which;
	const char *vals[4];
	int n;
};

static teeliza_err holder_op(struct pg_store *s, struct pg_conn *c, void *ctx)
{
	struct holder_args *h = ctx;
	teeliza_err err;
	PGresult *r = pg_exec(c, &err, h->which, h->n, h->vals, NULL, NULL, "updating a request");

	(void)s;
	if (r != NULL && strcmp(PQcmdTuples(r), "0") == 0)
		err = teeliza_set_error(TEELIZA_ERR_NOT_FOUND, "request %s is no longer claimed by this replica",
		                        h->vals[1]);
	PQclear(r);
	return err;
}

teeliza_err pg_request_complete(agent_store *base, const char *agent_id, const char *request_key,
                                const char *response_json)
{
	struct holder_args h = { PG_REQUEST_DONE, { agent_id, request_key, base->owner, response_json }, 4 };

	return pg_run1(P(base), holder_op, &h, "completing a request");
}

teeliza_err pg_request_release(agent_store *base, const char *agent_id, const char *request_key)
{
	struct holder_args h = { PG_REQUEST_RELEASE, { agent_id, request_key, base->owner, NULL }, 3 };

	return pg_run1(P(base), holder_op, &h, "releasing a request");
}

/* The strings of one instances row, in one block. */
static teeliza_err instance_row(agent_instance *out, const PGresult *r, int row)
{
	const int col[3] = { 0, 1, 5 };
	const char **dst[3] = { &out->instance_id, &out->boot_id, &out->last_attestation_id };
	size_t len[3], total = 0;
	int64_t v[3];
	char *p;

	for (int i = 0; i < 3; i++) {
		const char *t = PQgetvalue(r, row, 2 + i);
		char *end;

		v[i] = strtoll(t, &end, 10);
		if (t[0] == '\0' || *end != '\0')
			return teeliza_set_error(TEELIZA_ERR_PARSE, "an instances row holds a bad number");
	}
	for (int i = 0; i < 3; i++) {
		len[i] = strlen(PQgetvalue(r, row, col[i]));
		total += len[i] + 1;
	}
	p = malloc(total);
	if (p == NULL)
		return pg_nomem();
	out->owned_ = p;
	for (int i = 0; i < 3; i++) {
		memcpy(p, PQgetvalue(r, row, col[i]), len[i] + 1);
		*dst[i] = p;
		p += len[i] + 1;
	}
	out->first_ms = v[0];
	out->last_ms = v[1];
	out->attestations = v[2] > 0 ? (uint64_t)v[2] : 0;
	return TEELIZA_OK;
}

struct list_args {
	const char *agent_id;
	agent_instance_list *out;
};

static teeliza_err list_op(struct pg_store *s, struct pg_conn *c, void *ctx)
{
	struct list_args *l = ctx;
	const char *vals[1] = { l->agent_id };
	size_t cap = 0;
	teeliza_err err;
	PGresult *r = pg_exec(c, &err, PG_LIST_INSTANCES, 1, vals, NULL, NULL, "listing instances");

	(void)s;
	agent_instance_list_free(l->out); /* from a try whose COMMIT failed */
	if (r == NULL)
		return err;
	for (int i = 0; err == TEELIZA_OK && i < PQntuples(r); i++) {
		err = pg_grow((void **)&l->out->items, &cap, l->out->count, sizeof(*l->out->items));
		if (err == TEELIZA_OK)
			err = instance_row(&l->out->items[l->out->count], r, i);
		if (err == TEELIZA_OK)
			l->out->count++;
	}
	PQclear(r);
	return err;
}

teeliza_err pg_list_instances(agent_store *base, agent_instance_list *out, const char *agent_id)
{
	struct list_args l = { agent_id, out };
	teeliza_err err = pg_run1(P(base), list_op, &l, "listing instances");

	if (err)
		agent_instance_list_free(out);
	return err;
}

struct character_args {
	enum pg_stmt which;
	const char *vals[3];
	int n;
	uint64_t *version;
	char **json;              /* PG_CHARACTER_GET only */
};

static teeliza_err character_op(struct pg_store *s, struct pg_conn *c, void *ctx)
{
	struct character_args *a = ctx;
	teeliza_err err;
	PGresult *r = pg_exec(c, &err, a->which, a->n, a->vals, NULL, NULL, "reading the character");

	(void)s;
	if (a->json != NULL) {
		free(*a->json);
		*a->json = NULL;
	}
	*a->version = 0;
	if (r == NULL)
		return err;
	if (PQntuples(r) == 1) {
		if (teeliza_parse_u64(a->version, PQgetvalue(r, 0, 0), 1, INT64_MAX) != TEELIZA_OK)
			err = teeliza_set_error(TEELIZA_ERR_PARSE, "a character's version does not parse");
		if (err == TEELIZA_OK && a->json != NULL) {
			*a->json = strdup(PQgetvalue(r, 0, 1));
			if (*a->json == NULL)
				err = pg_nomem();
		}
	} else if (a->which != PG_CHARACTER_VERSION) {
		err = teeliza_set_error(a->which == PG_CHARACTER_GET ? TEELIZA_ERR_NOT_FOUND : TEELIZA_ERR_INTERNAL,
		                        "no character stored for agent %s", a->vals[0]);
	}
	PQclear(r);
	return err;
}

teeliza_err pg_character_put(agent_store *base, uint64_t *version, const char *agent_id, const char *json)
{
	struct character_args a = { PG_CHARACTER_PUT, { agent_id, json, base->owner[0] != '\0' ? base->owner : "-" }, 3,
	                            version, NULL };

	return pg_run1(P(base), character_op, &a, "storing the character");
}

teeliza_err pg_character_get(agent_store *base, char **json, uint64_t *version, const char *agent_id)
{
	struct character_args a = { PG_CHARACTER_GET, { agent_id, NULL, NULL }, 1, version, json };
	teeliza_err err = pg_run1(P(base), character_op, &a, "reading the character");

	if (err) {
		free(*json);
		*json = NULL;
	}
	return err;
}

teeliza_err pg_character_version(agent_store *base, uint64_t *version, const char *agent_id)
{
	struct character_args a = { PG_CHARACTER_VERSION, { agent_id, NULL, NULL }, 1, version, NULL };

	return pg_run1(P(base), character_op, &a, "reading the character's version");
}
