/* The SQLite schema as a list of migrations; not public. */
#ifndef TEELIZA_AGENT_STORE_SQLITE_SCHEMA_H
#define TEELIZA_AGENT_STORE_SQLITE_SCHEMA_H

#include <stddef.h>

struct agent_sqlite_migration {
	int version;             /* 1, 2, ... in order, no gaps */
	const char *description;
	const char *sql;         /* run in one transaction */
};

extern const struct agent_sqlite_migration agent_sqlite_migrations[];
extern const size_t agent_sqlite_migration_count;

/* Bookkeeping table, created before any migration runs. */
extern const char agent_sqlite_schema_version_sql[];

#endif
