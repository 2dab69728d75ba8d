/* The SQLite back-end's cache entries and Eliza's logs table. */
#include "agent/store/store_sqlite_internal.h"
#include "teeliza/agent/uuid.h"

#include <stdlib.h>
#include <string.h>

teeliza_err sq_cache_get(agent_store *base, char **out, const char *key, const char *agent_id)
{
	struct sqlite_store *s = S(base);
	sqlite3_stmt *st;
	int rc;
	teeliza_err err = TEELIZA_OK;

	*out = NULL;
	pthread_mutex_lock(&s->lock);
	st = stmt(s, ST_CACHE_GET);
	bind_text(st, 1, key);
	bind_text(st, 2, agent_id);
	rc = sqlite3_step(st);
	if (rc == SQLITE_ROW) {
		bool expired = sqlite3_column_type(st, 1) == SQLITE_INTEGER &&
		               sqlite3_column_int64(st, 1) <= agent_store_now_ms();
		const unsigned char *v = sqlite3_column_text(st, 0);

		if (expired || v == NULL)
			err = teeliza_set_error(TEELIZA_ERR_NOT_FOUND, "cache entry %s %s", key,
			                        expired ? "expired" : "is empty");
		else if ((*out = strdup((const char *)v)) == NULL)
			err = sq_nomem();
	} else if (rc == SQLITE_DONE) {
		err = teeliza_set_error(TEELIZA_ERR_NOT_FOUND, "no cache entry %s", key);
	} else {
		err = sq_fail(s->db, rc, "reading the cache");
	}
	done(st);
	pthread_mutex_unlock(&s->lock);
	return err;
}

teeliza_err sq_cache_set(agent_store *base, const char *key, const char *agent_id, const char *value_json,
                         int64_t expires_at)
{
	struct sqlite_store *s = S(base);
	sqlite3_stmt *st;
	teeliza_err err;

	pthread_mutex_lock(&s->lock);
	st = stmt(s, ST_CACHE_SET);
	bind_text(st, 1, key);
	bind_text(st, 2, agent_id);
	bind_text(st, 3, value_json);
	bind_ms(st, 4, expires_at);
	err = sq_exec(s, st, "writing the cache");
	if (err == TEELIZA_ERR_INVALID)
		teeliza_set_error(err, "cache value for %s is not valid JSON", key);
	pthread_mutex_unlock(&s->lock);
	return err;
}

teeliza_err sq_cache_delete(agent_store *base, const char *key, const char *agent_id)
{
	struct sqlite_store *s = S(base);
	sqlite3_stmt *st;
	teeliza_err err;

	pthread_mutex_lock(&s->lock);
	st = stmt(s, ST_CACHE_DELETE);
	bind_text(st, 1, key);
	bind_text(st, 2, agent_id);
	err = sq_exec(s, st, "deleting a cache entry");
	pthread_mutex_unlock(&s->lock);
	return err;
}

teeliza_err sq_log(agent_store *base, const char *user_id, const char *room_id, const char *type,
                   const char *body_json)
{
	struct sqlite_store *s = S(base);
	sqlite3_stmt *st;
	char id[AGENT_UUID_BUFSZ];
	teeliza_err err;

	err = agent_uuid_random(id);
	if (err)
		return err;
	pthread_mutex_lock(&s->lock);
	st = stmt(s, ST_LOG);
	bind_text(st, 1, id);
	bind_text(st, 2, body_json);
	bind_text(st, 3, user_id);
	bind_text(st, 4, room_id);
	bind_text(st, 5, type);
	err = sq_exec(s, st, "writing a log entry");
	pthread_mutex_unlock(&s->lock);
	return err;
}
