/* Helpers of the PostgreSQL unit tests (pgtest.h). */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <cmocka.h>

#include "pgtest.h"

#include <stdio.h>
#include <string.h>

#include <libpq-fe.h>

void pgtest_query(char *out, size_t cap, const char *conninfo, const char *sql)
{
	PGconn *c = PQconnectdb(conninfo);
	PGresult *r;

	if (PQstatus(c) != CONNECTION_OK)
		fail_msg("connecting to %s: %s", conninfo, PQerrorMessage(c));
	r = PQexec(c, sql);
	if (PQresultStatus(r) != PGRES_COMMAND_OK && PQresultStatus(r) != PGRES_TUPLES_OK)
		fail_msg("%s: %s", sql, PQresultErrorMessage(r));
	if (out != NULL) {
		out[0] = '\0';
		if (PQresultStatus(r) == PGRES_TUPLES_OK && PQntuples(r) > 0 && !PQgetisnull(r, 0, 0))
			snprintf(out, cap, "%s", PQgetvalue(r, 0, 0));
	}
	PQclear(r);
	PQfinish(c);
}

void pgtest_conninfo_for(char *out, size_t cap, const char *base, const char *db)
{
	char *err = NULL;
	PQconninfoOption *opts = PQconninfoParse(base, &err);
	size_t n = 0;

	if (opts == NULL)
		fail_msg("TEELIZA_TEST_PG_URL does not parse: %s", err);
	for (PQconninfoOption *o = opts; o->keyword != NULL; o++) {
		if (o->val == NULL || strcmp(o->keyword, "dbname") == 0)
			continue;
		n += (size_t)snprintf(out + n, cap - n, "%s='%s' ", o->keyword, o->val);
		assert_true(n < cap);
	}
	n += (size_t)snprintf(out + n, cap - n, "dbname='%s'", db);
	assert_true(n < cap);
	PQconninfoFree(opts);
}
