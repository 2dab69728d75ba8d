/* The PostgreSQL back-end's cache entries and Eliza's logs table. */
#include "agent/store/store_pg_internal.h"

#include <stdlib.h>
#include <string.h>

struct cache_args {
	const char *key, *agent_id, *value;
	char expires[24];
	bool has_expiry;
	char *out;
};

static teeliza_err get_op(struct pg_store *s, struct pg_conn *c, void *ctx)
{
	struct cache_args *a = ctx;
	const char *vals[2] = { a->key, a->agent_id };
	teeliza_err err;
	PGresult *r = pg_exec(c, &err, PG_CACHE_GET, 2, vals, NULL, NULL, "reading the cache");

	(void)s;
	free(a->out); /* from a try whose COMMIT failed */
	a->out = NULL;
	if (r == NULL)
		return err;
	if (PQntuples(r) == 0)
		err = teeliza_set_error(TEELIZA_ERR_NOT_FOUND, "no cache entry %s", a->key);
	else if (strcmp(PQgetvalue(r, 0, 1), "t") == 0 || PQgetisnull(r, 0, 0))
		err = teeliza_set_error(TEELIZA_ERR_NOT_FOUND, "cache entry %s %s", a->key,
		                        PQgetisnull(r, 0, 0) ? "is empty" : "expired");
	else if ((a->out = strdup(PQgetvalue(r, 0, 0))) == NULL)
		err = pg_nomem();
	PQclear(r);
	return err;
}

teeliza_err pg_cache_get(agent_store *base, char **out, const char *key, const char *agent_id)
{
	struct cache_args a = { .key = key, .agent_id = agent_id };
	teeliza_err err = pg_run1(P(base), get_op, &a, "reading the cache");

	*out = err == TEELIZA_OK ? a.out : NULL;
	if (err)
		free(a.out);
	return err;
}

static teeliza_err set_op(struct pg_store *s, struct pg_conn *c, void *ctx)
{
	struct cache_args *a = ctx;
	const char *vals[4] = { a->key, a->agent_id, a->value, a->has_expiry ? a->expires : NULL };
	teeliza_err err;
	PGresult *r = pg_exec(c, &err, PG_CACHE_SET, 4, vals, NULL, NULL, "writing the cache");

	(void)s;
	PQclear(r);
	if (err == TEELIZA_ERR_INVALID)
		teeliza_set_error(err, "cache value for %s is not valid JSON", a->key);
	return err;
}

teeliza_err pg_cache_set(agent_store *base, const char *key, const char *agent_id, const char *value_json,
                         int64_t expires_at)
{
	struct cache_args a = { .key = key, .agent_id = agent_id, .value = value_json, .has_expiry = expires_at != 0 };

	pg_i64(a.expires, expires_at);
	return pg_run1(P(base), set_op, &a, "writing the cache");
}

static teeliza_err delete_op(struct pg_store *s, struct pg_conn *c, void *ctx)
{
	struct cache_args *a = ctx;
	const char *vals[2] = { a->key, a->agent_id };
	teeliza_err err;
	PGresult *r = pg_exec(c, &err, PG_CACHE_DELETE, 2, vals, NULL, NULL, "deleting a cache entry");

	(void)s;
	PQclear(r);
	return err;
}

teeliza_err pg_cache_delete(agent_store *base, const char *key, const char *agent_id)
{
	struct cache_args a = { .key = key, .agent_id = agent_id };

	return pg_run1(P(base), delete_op, &a, "deleting a cache entry");
}

static teeliza_err log_op(struct pg_store *s, struct pg_conn *c, void *ctx)
{
	const char *const *vals = ctx;
	teeliza_err err;
	PGresult *r = pg_exec(c, &err, PG_LOG, 5, vals, NULL, NULL, "writing a log entry");

	(void)s;
	PQclear(r);
	return err;
}

teeliza_err pg_log(agent_store *base, const char *user_id, const char *room_id, const char *type,
                   const char *body_json)
{
	char id[AGENT_UUID_BUFSZ];
	const char *vals[5] = { id, body_json, user_id, room_id, type };
	teeliza_err err;

	/* the id is fixed before the first try: a retried insert finds its own row (ON CONFLICT DO NOTHING) */
	err = agent_uuid_random(id);
	if (err)
		return err;
	return pg_run1(P(base), log_op, (void *)vals, "writing a log entry");
}
