/*
 * The SQLite back-end's schema: migrations applied in order, each in its
 * own write transaction, re-checked under the lock so that two processes
 * opening one database do not both apply one.
 */
#include "agent/store/store_sqlite_internal.h"
#include "agent/store/store_sqlite_schema.h"

teeliza_err sq_exec_sql(sqlite3 *db, const char *sql, const char *what)
{
	int rc = sqlite3_exec(db, sql, NULL, NULL, NULL);

	return rc == SQLITE_OK ? TEELIZA_OK : sq_fail(db, rc, what);
}

teeliza_err sq_read_version(struct sqlite_store *s, int *out)
{
	sqlite3_stmt *st = stmt(s, ST_SCHEMA_VERSION);
	int rc = sqlite3_step(st);
	teeliza_err err = TEELIZA_OK;

	*out = 0;
	if (rc == SQLITE_ROW)
		*out = sqlite3_column_int(st, 0);
	else
		err = sq_fail(s->db, rc, "reading the schema version");
	done(st);
	return err;
}

teeliza_err sq_migrate(struct sqlite_store *s)
{
	const int latest = AGENT_STORE_SCHEMA_VERSION;
	teeliza_err err;
	int current;

	err = sq_exec_sql(s->db, agent_sqlite_schema_version_sql, "creating schema_version");
	if (err)
		return err;
	if (sqlite3_prepare_v2(s->db, sq_stmt_sql[ST_SCHEMA_VERSION], -1, &s->st[ST_SCHEMA_VERSION], NULL) != SQLITE_OK)
		return sq_fail(s->db, sqlite3_errcode(s->db), "preparing the schema query");
	for (size_t i = 0; i < agent_sqlite_migration_count; i++) {
		const struct agent_sqlite_migration *m = &agent_sqlite_migrations[i];
		sqlite3_stmt *ins = NULL;
		int rc;

		/* re-read inside the write lock: another process may have migrated meanwhile */
		err = sq_exec_sql(s->db, "BEGIN IMMEDIATE", "starting a migration");
		if (err)
			return err;
		err = sq_read_version(s, &current);
		if (err == TEELIZA_OK && current > latest)
			err = teeliza_set_error(TEELIZA_ERR_UNSUPPORTED,
			                        "database schema version %d is newer than this teeliza understands (%d)",
			                        current, latest);
		if (err == TEELIZA_OK && current < m->version) {
			err = sq_exec_sql(s->db, m->sql, m->description);
			if (err == TEELIZA_OK) {
				rc = sqlite3_prepare_v2(s->db, "INSERT INTO schema_version (version, applied_at, description) "
				                        "VALUES (?1, ?2, ?3)", -1, &ins, NULL);
				if (rc == SQLITE_OK) {
					sqlite3_bind_int(ins, 1, m->version);
					sqlite3_bind_int64(ins, 2, agent_store_now_ms());
					sqlite3_bind_text(ins, 3, m->description, -1, SQLITE_STATIC);
					rc = sqlite3_step(ins);
				}
				if (rc != SQLITE_DONE)
					err = sq_fail(s->db, rc, "recording a migration");
				sqlite3_finalize(ins);
			}
		}
		if (err == TEELIZA_OK)
			err = sq_exec_sql(s->db, "COMMIT", "committing a migration");
		if (err) {
			sqlite3_exec(s->db, "ROLLBACK", NULL, NULL, NULL);
			return err;
		}
	}
	return TEELIZA_OK;
}
