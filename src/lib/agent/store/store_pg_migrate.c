/*
 * The PostgreSQL back-end's schema. Several replicas may start at once on
 * one database: `CREATE TABLE IF NOT EXISTS` is not safe under concurrency
 * in PostgreSQL (two sessions can both pass the check and one then fails on
 * pg_type's unique index), so every migrator first takes the session-level
 * advisory lock (32273, 1) and reads teeliza_schema_migrations under it;
 * the ones that lose the race wait and then find nothing to do. A session
 * lock, not a transaction lock: it spans one transaction per migration, and
 * the server drops it if this process dies.
 */
#include "agent/store/store_pg_internal.h"
#include "agent/store/store_pg_schema.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

_Static_assert(PG_SCHEMA_LATEST >= 1, "at least one migration");

/* The first column of the first row of a one-row query, copied into out; "" for NULL or no row. */
static teeliza_err query_text(struct pg_conn *c, char *out, size_t cap, const char *sql, const char *what)
{
	PGresult *r = PQexec(c->c, sql);
	teeliza_err err = TEELIZA_OK;

	out[0] = '\0';
	if (PQresultStatus(r) != PGRES_TUPLES_OK) {
		err = pg_fail_result(c, r, what);
		PQclear(r);
		return err;
	}
	if (PQntuples(r) > 0 && !PQgetisnull(r, 0, 0))
		snprintf(out, cap, "%s", PQgetvalue(r, 0, 0));
	PQclear(r);
	return err;
}

static teeliza_err current_version(struct pg_conn *c, int *out)
{
	char v[32];
	uint64_t n;
	teeliza_err err;

	*out = 0;
	err = query_text(c, v, sizeof(v), "SELECT to_regclass('teeliza_schema_migrations') IS NOT NULL",
	                 "looking for teeliza_schema_migrations");
	if (err || strcmp(v, "t") != 0)
		return err;
	err = query_text(c, v, sizeof(v), "SELECT COALESCE(MAX(version), 0) FROM teeliza_schema_migrations",
	                 "reading the schema version");
	if (err)
		return err;
	if (teeliza_parse_u64(&n, v, 0, 1000000) != TEELIZA_OK)
		return teeliza_set_error(TEELIZA_ERR_PARSE, "teeliza_schema_migrations holds version %s", v);
	*out = (int)n;
	return TEELIZA_OK;
}

/*
 * An Eliza database made by its pgvector schema stores embeddings as
 * vector(N): keep that type (never ALTER it), but its dimension must be ours.
 */
static teeliza_err check_embedding_column(struct pg_store *s, struct pg_conn *c)
{
	char type[64];
	char want[32];
	teeliza_err err;

	err = query_text(c, type, sizeof(type),
	                 "SELECT format_type(atttypid, atttypmod) FROM pg_attribute "
	                 "WHERE attrelid = to_regclass('memories') AND attname = 'embedding' AND NOT attisdropped",
	                 "reading the type of memories.embedding");
	if (err || type[0] == '\0')
		return err; /* no memories table yet: version 1 makes it */
	snprintf(want, sizeof(want), "vector(%d)", AGENT_STORE_EMBEDDING_DIM);
	s->vector_embeddings = strncmp(type, "vector", 6) == 0;
	if (strcmp(type, "real[]") == 0 || strcmp(type, want) == 0)
		return TEELIZA_OK;
	return teeliza_set_error(TEELIZA_ERR_UNSUPPORTED,
	                         "memories.embedding is %s; this teeliza stores %d-float embeddings (real[] or %s). "
	                         "The dimension of an Eliza database is fixed when it is created and is never "
	                         "altered", type, AGENT_STORE_EMBEDDING_DIM, want);
}

static teeliza_err apply(struct pg_store *s, struct pg_conn *c, const struct agent_pg_migration *m)
{
	const char *vals[3];
	char version[24];
	PGresult *r;
	teeliza_err err;

	err = pg_exec_sql(c, "BEGIN", "starting a migration");
	if (err == TEELIZA_OK)
		err = pg_exec_sql(c, m->sql, m->name);
	if (err == TEELIZA_OK) {
		snprintf(version, sizeof(version), "%d", m->version);
		vals[0] = version;
		vals[1] = m->name;
		vals[2] = s->vector_embeddings ? "pgvector" : "portable";
		r = PQexecParams(c->c, "INSERT INTO teeliza_schema_migrations (version, name, profile) VALUES ($1, $2, $3)",
		                 3, NULL, vals, NULL, NULL, 0);
		if (PQresultStatus(r) != PGRES_COMMAND_OK)
			err = pg_fail_result(c, r, "recording a migration");
		PQclear(r);
	}
	if (err == TEELIZA_OK)
		err = pg_exec_sql(c, "COMMIT", "committing a migration");
	if (err) {
		r = PQexec(c->c, "ROLLBACK");
		PQclear(r);
	}
	return err;
}

teeliza_err pg_migrate(struct pg_store *s, PGconn *conn)
{
	struct pg_conn c = { .c = conn };
	int current = 0;
	teeliza_err err, unlock_err;

	/* 32273 = 0x7E11, teeliza's advisory-lock namespace; 1 = migrations */
	err = pg_exec_sql(&c, "SELECT pg_advisory_lock(32273, 1)", "taking the migration lock");
	if (err)
		return err;
	err = current_version(&c, &current);
	if (err == TEELIZA_OK && current > PG_SCHEMA_LATEST)
		err = teeliza_set_error(TEELIZA_ERR_UNSUPPORTED,
		                        "the PostgreSQL schema is at version %d, newer than this teeliza understands (%d): "
		                        "a newer teeliza migrated this database; run that version (nothing was changed)",
		                        current, PG_SCHEMA_LATEST);
	if (err == TEELIZA_OK)
		err = check_embedding_column(s, &c);
	for (size_t i = 0; err == TEELIZA_OK && i < agent_pg_migration_count; i++)
		if (agent_pg_migrations[i].version > current)
			err = apply(s, &c, &agent_pg_migrations[i]);
	unlock_err = pg_exec_sql(&c, "SELECT pg_advisory_unlock(32273, 1)", "releasing the migration lock");
	return err != TEELIZA_OK ? err : unlock_err;
}
