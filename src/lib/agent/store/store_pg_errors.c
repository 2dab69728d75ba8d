/*
 * What a failed statement of the PostgreSQL back-end means: its SQLSTATE
 * mapped to teeliza_err, whether it may be retried, and the message kept
 * for the caller. Shared by the pool (store_pg_pool.c) and pipelines
 * (store_pg_pipeline.c).
 */
#include "agent/store/store_pg_internal.h"

#include <stdio.h>
#include <string.h>

static bool lost_connection(const char *st)
{
	return st == NULL || st[0] == '\0' || strncmp(st, "08", 2) == 0 || strcmp(st, "57P01") == 0 ||
	       strcmp(st, "57P02") == 0 || strcmp(st, "57P03") == 0;
}

bool pg_sqlstate_retryable(const char *st)
{
	return lost_connection(st) || strcmp(st, "40001") == 0 || strcmp(st, "40P01") == 0;
}

teeliza_err pg_map_sqlstate(const char *st)
{
	if (lost_connection(st))
		return TEELIZA_ERR_CONNECT;
	if (strncmp(st, "23", 2) == 0 || strncmp(st, "22", 2) == 0)
		return TEELIZA_ERR_INVALID; /* constraint violations, bad UUID or JSON text */
	if (strncmp(st, "40", 2) == 0 || strcmp(st, "55P03") == 0 || strcmp(st, "57014") == 0)
		return TEELIZA_ERR_TIMEOUT; /* serialization, deadlock, lock or statement timeout */
	return TEELIZA_ERR_IO;
}

/* The first line of libpq's message (it may end in newlines and carry a DETAIL line). */
void pg_first_line(char *out, size_t cap, const char *msg)
{
	size_t n = 0;

	while (msg != NULL && msg[n] != '\0' && msg[n] != '\n' && n + 1 < cap)
		n++;
	if (n > 0)
		memcpy(out, msg, n);
	out[n] = '\0';
}

/* Record a failed result (or a NULL one: the connection failed) on c; returns the error set. */
teeliza_err pg_fail_result(struct pg_conn *c, const PGresult *r, const char *what)
{
	const char *st = r != NULL ? PQresultErrorField(r, PG_DIAG_SQLSTATE) : NULL;
	const char *constraint = r != NULL ? PQresultErrorField(r, PG_DIAG_CONSTRAINT_NAME) : NULL;
	char msg[512];
	teeliza_err err;

	snprintf(c->sqlstate, sizeof(c->sqlstate), "%s", st != NULL ? st : "");
	snprintf(c->constraint, sizeof(c->constraint), "%s", constraint != NULL ? constraint : "");
	pg_first_line(msg, sizeof(msg), r != NULL ? PQresultErrorMessage(r) : PQerrorMessage(c->c));
	if (msg[0] == '\0')
		pg_first_line(msg, sizeof(msg), PQerrorMessage(c->c));
	/* a result without a SQLSTATE on a live connection is a client-side failure (e.g. out of memory) */
	if ((st == NULL || st[0] == '\0') && PQstatus(c->c) == CONNECTION_OK && r != NULL)
		snprintf(c->sqlstate, sizeof(c->sqlstate), "XX000");
	err = pg_map_sqlstate(c->sqlstate);
	return teeliza_set_error(err, "%s: %s%s%s%s", what, msg, c->sqlstate[0] != '\0' ? " (SQLSTATE " : "",
	                         c->sqlstate, c->sqlstate[0] != '\0' ? ")" : "");
}
