/* The SQLite back-end's accounts, rooms and participants. */
#include "agent/store/store_sqlite_internal.h"
#include "teeliza/agent/uuid.h"

#include <string.h>

/* The put_* helpers run with s->lock held, in the caller's transaction (or autocommit). */
teeliza_err sq_put_account(struct sqlite_store *s, const agent_account *a)
{
	sqlite3_stmt *st = stmt(s, ST_ENSURE_ACCOUNT);

	bind_text(st, 1, a->id);
	bind_text(st, 2, a->name);
	bind_text(st, 3, a->username);
	bind_text(st, 4, a->email != NULL ? a->email : a->id);
	bind_text(st, 5, a->avatar_url);
	bind_text(st, 6, a->details != NULL ? a->details : "{\"summary\":\"\"}");
	return sq_exec(s, st, "creating an account");
}

teeliza_err sq_put_room(struct sqlite_store *s, const char *room_id)
{
	sqlite3_stmt *st = stmt(s, ST_ENSURE_ROOM);

	bind_text(st, 1, room_id);
	return sq_exec(s, st, "creating a room");
}

/* Check and insert: inside a write transaction, so other processes cannot double the row. */
teeliza_err sq_put_participant(struct sqlite_store *s, const char *user_id, const char *room_id)
{
	sqlite3_stmt *st;
	char id[AGENT_UUID_BUFSZ];
	int rc;
	teeliza_err err;

	st = stmt(s, ST_FIND_PARTICIPANT);
	bind_text(st, 1, room_id);
	bind_text(st, 2, user_id);
	rc = sqlite3_step(st);
	done(st);
	if (rc == SQLITE_ROW)
		return TEELIZA_OK;
	if (rc != SQLITE_DONE)
		return sq_fail(s->db, rc, "looking up a participant");
	err = agent_uuid_random(id);
	if (err)
		return err;
	st = stmt(s, ST_ADD_PARTICIPANT);
	bind_text(st, 1, id);
	bind_text(st, 2, user_id);
	bind_text(st, 3, room_id);
	return sq_exec(s, st, "adding a participant");
}

teeliza_err sq_ensure_account(agent_store *base, const agent_account *a)
{
	struct sqlite_store *s = S(base);
	teeliza_err err;

	pthread_mutex_lock(&s->lock);
	err = sq_put_account(s, a);
	pthread_mutex_unlock(&s->lock);
	return err;
}

static teeliza_err account_row(void *out, sqlite3_stmt *st)
{
	return sq_read_account(out, st);
}

teeliza_err sq_get_account(agent_store *base, agent_account *out, const char *id)
{
	memset(out, 0, sizeof(*out));
	return sq_get_by_id(S(base), ST_GET_ACCOUNT, id, account_row, out, "account", "reading an account");
}

teeliza_err sq_ensure_room(agent_store *base, const char *room_id)
{
	struct sqlite_store *s = S(base);
	teeliza_err err;

	pthread_mutex_lock(&s->lock);
	err = sq_put_room(s, room_id);
	pthread_mutex_unlock(&s->lock);
	return err;
}

teeliza_err sq_ensure_participant(agent_store *base, const char *user_id, const char *room_id)
{
	struct sqlite_store *s = S(base);
	teeliza_err err;

	pthread_mutex_lock(&s->lock);
	err = sq_begin(s);
	if (err == TEELIZA_OK)
		err = sq_end(s, sq_put_participant(s, user_id, room_id), "committing a participant");
	pthread_mutex_unlock(&s->lock);
	return err;
}

teeliza_err sq_list_room_actors(agent_store *base, agent_account_list *out, const char *room_id)
{
	struct sqlite_store *s = S(base);
	sqlite3_stmt *st;
	size_t cap = 0;
	int rc;
	teeliza_err err = TEELIZA_OK;

	memset(out, 0, sizeof(*out));
	pthread_mutex_lock(&s->lock);
	st = stmt(s, ST_ROOM_ACTORS);
	bind_text(st, 1, room_id);
	while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
		err = sq_grow((void **)&out->items, &cap, out->count, sizeof(*out->items));
		if (err == TEELIZA_OK)
			err = sq_read_account(&out->items[out->count], st);
		if (err)
			break;
		out->count++;
	}
	if (err == TEELIZA_OK && rc != SQLITE_DONE)
		err = sq_fail(s->db, rc, "listing a room's participants");
	done(st);
	pthread_mutex_unlock(&s->lock);
	if (err)
		agent_account_list_free(out);
	return err;
}
