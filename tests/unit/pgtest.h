/* What the unit tests that run against a real PostgreSQL (TEELIZA_TEST_PG_URL) share. */
#ifndef TEELIZA_TEST_PGTEST_H
#define TEELIZA_TEST_PGTEST_H

#include <stddef.h>

/*
 * Run sql on conninfo, failing the test on error; the first column of the
 * first row into out (cap bytes) when out is not NULL ("" when none).
 */
void pgtest_query(char *out, size_t cap, const char *conninfo, const char *sql);

/* The base conninfo (URL or key=value) with dbname replaced by db, as key=value with quoted values. */
void pgtest_conninfo_for(char *out, size_t cap, const char *base, const char *db);

#endif
