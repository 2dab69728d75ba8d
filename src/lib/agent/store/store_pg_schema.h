/* The PostgreSQL schema as a list of migrations; not public. */
#ifndef TEELIZA_AGENT_STORE_PG_SCHEMA_H
#define TEELIZA_AGENT_STORE_PG_SCHEMA_H

#include <stddef.h>

struct agent_pg_migration {
	int version;             /* 1, 2, ... in order, no gaps */
	const char *name;        /* recorded in teeliza_schema_migrations.name */
	const char *sql;         /* run in one transaction */
};

extern const struct agent_pg_migration agent_pg_migrations[];
extern const size_t agent_pg_migration_count;

#endif
