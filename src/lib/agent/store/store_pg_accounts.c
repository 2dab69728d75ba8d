/*
 * The PostgreSQL back-end's accounts, rooms and participants: each write an
 * upsert (ON CONFLICT DO NOTHING), so two replicas meeting one new user at
 * the same moment both succeed and leave one row, with no check-then-insert
 * race and no unique violation to retry (Eliza's adapter has both).
 */
#include "agent/store/store_pg_internal.h"

#include <string.h>

static teeliza_err command(struct pg_conn *c, enum pg_stmt id, int n, const char *const *vals, const char *what)
{
	teeliza_err err;
	PGresult *r = pg_exec(c, &err, id, n, vals, NULL, NULL, what);

	PQclear(r);
	return err;
}

teeliza_err pg_put_account(struct pg_conn *c, const agent_account *a)
{
	const char *vals[6] = { a->id, a->name, a->username, a->email != NULL ? a->email : a->id, a->avatar_url,
	                        a->details != NULL ? a->details : "{\"summary\":\"\"}" };

	return command(c, PG_ENSURE_ACCOUNT, 6, vals, "creating an account");
}

teeliza_err pg_put_room(struct pg_conn *c, const char *room_id)
{
	const char *vals[1] = { room_id };

	return command(c, PG_ENSURE_ROOM, 1, vals, "creating a room");
}

teeliza_err pg_put_participant(struct pg_conn *c, const char *user_id, const char *room_id)
{
	const char *vals[2] = { user_id, room_id };

	return command(c, PG_ENSURE_PARTICIPANT, 2, vals, "adding a participant");
}

static teeliza_err account_op(struct pg_store *s, struct pg_conn *c, void *ctx)
{
	(void)s;
	return pg_put_account(c, ctx);
}

teeliza_err pg_ensure_account(agent_store *base, const agent_account *a)
{
	return pg_run1(P(base), account_op, (void *)a, "creating an account");
}

struct by_id {
	const char *id;
	void *out;
};

static teeliza_err get_account_op(struct pg_store *s, struct pg_conn *c, void *ctx)
{
	struct by_id *q = ctx;
	const char *vals[1] = { q->id };
	teeliza_err err;
	PGresult *r = pg_exec(c, &err, PG_GET_ACCOUNT, 1, vals, NULL, NULL, "reading an account");

	(void)s;
	agent_account_clear(q->out); /* from a try whose COMMIT failed */
	if (r == NULL)
		return err;
	if (PQntuples(r) == 0)
		err = teeliza_set_error(TEELIZA_ERR_NOT_FOUND, "no account %s", q->id);
	else
		err = pg_read_account(q->out, r, 0);
	PQclear(r);
	return err;
}

teeliza_err pg_get_account(agent_store *base, agent_account *out, const char *id)
{
	struct by_id q = { id, out };

	teeliza_err err;

	memset(out, 0, sizeof(*out));
	err = pg_run1(P(base), get_account_op, &q, "reading an account");
	if (err)
		agent_account_clear(out);
	return err;
}

static teeliza_err room_op(struct pg_store *s, struct pg_conn *c, void *ctx)
{
	(void)s;
	return pg_put_room(c, ctx);
}

teeliza_err pg_ensure_room(agent_store *base, const char *room_id)
{
	return pg_run1(P(base), room_op, (void *)room_id, "creating a room");
}

struct pair {
	const char *user_id, *room_id;
};

static teeliza_err participant_op(struct pg_store *s, struct pg_conn *c, void *ctx)
{
	struct pair *p = ctx;

	(void)s;
	return pg_put_participant(c, p->user_id, p->room_id);
}

teeliza_err pg_ensure_participant(agent_store *base, const char *user_id, const char *room_id)
{
	struct pair p = { user_id, room_id };

	return pg_run1(P(base), participant_op, &p, "adding a participant");
}

static teeliza_err actors_op(struct pg_store *s, struct pg_conn *c, void *ctx)
{
	struct by_id *q = ctx;
	agent_account_list *out = q->out;
	const char *vals[1] = { q->id };
	size_t cap = 0;
	teeliza_err err;
	PGresult *r = pg_exec(c, &err, PG_ROOM_ACTORS, 1, vals, NULL, NULL, "listing a room's participants");

	(void)s;
	agent_account_list_free(out); /* from a try whose COMMIT failed */
	if (r == NULL)
		return err;
	for (int i = 0; err == TEELIZA_OK && i < PQntuples(r); i++) {
		err = pg_grow((void **)&out->items, &cap, out->count, sizeof(*out->items));
		if (err == TEELIZA_OK)
			err = pg_read_account(&out->items[out->count], r, i);
		if (err == TEELIZA_OK)
			out->count++;
	}
	PQclear(r);
	if (err)
		agent_account_list_free(out);
	return err;
}

teeliza_err pg_list_room_actors(agent_store *base, agent_account_list *out, const char *room_id)
{
	struct by_id q = { room_id, out };

	teeliza_err err;

	memset(out, 0, sizeof(*out));
	err = pg_run1(P(base), actors_op, &q, "listing a room's participants");
	if (err)
		agent_account_list_free(out);
	return err;
}
