/*
 * Which back-end the settings pick (agent_store_open_default). Each
 * back-end is a row of the table below: the setting that names its
 * database and how to open it. Another back-end is a new file and a new
 * row; store.c, which dispatches, does not change.
 */
#include "teeliza/agent/store.h"

#include "teeliza/common/log.h"

#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

struct store_backend {
	const char *setting;             /* the environment variable naming its database, e.g. "SQLITE_FILE" */
	const char *default_location;    /* opened when no back-end's setting is set; NULL: never by default */
	teeliza_err (*open)(agent_store **out, const char *location);
};

/*
 * DATABASE_URL is the name many platforms (Heroku, Render, Kubernetes
 * operators) give a database; it names PostgreSQL here only with a
 * postgres:// or postgresql:// scheme, anything else is refused rather than
 * ignored, so a misconfigured replica never falls back to a private SQLite
 * file and forks the conversation.
 */
static teeliza_err open_database_url(agent_store **out, const char *url)
{
	if (strncmp(url, "postgres://", 11) != 0 && strncmp(url, "postgresql://", 13) != 0) {
		*out = NULL;
		return teeliza_set_error(TEELIZA_ERR_CONFIG, "DATABASE_URL is set but is not a postgres:// or "
		                                             "postgresql:// URL; unset it to use SQLite");
	}
	return agent_store_pg_open(out, url);
}

/* Tried in order: the first whose setting is set wins (Eliza looks for POSTGRES_URL before SQLite). */
static const struct store_backend backends[] = {
	{ "POSTGRES_URL", NULL, agent_store_pg_open },
	{ "DATABASE_URL", NULL, open_database_url },
	{ "SQLITE_FILE", AGENT_STORE_DEFAULT_PATH, agent_store_sqlite_open },
};

#define N_BACKENDS (sizeof(backends) / sizeof(backends[0]))

teeliza_err agent_store_open_default(agent_store **out)
{
	const char *v, *pg = getenv("POSTGRES_URL"), *db = getenv("DATABASE_URL");
	size_t i;

	if (pg != NULL && pg[0] != '\0' && db != NULL && db[0] != '\0' && strcmp(pg, db) != 0)
		teeliza_logf(stderr, "WARNING: POSTGRES_URL and DATABASE_URL are both set and differ; "
		                     "using POSTGRES_URL");
	for (i = 0; i < N_BACKENDS; i++) {
		v = getenv(backends[i].setting);
		if (v != NULL && v[0] != '\0')
			return backends[i].open(out, v);
	}
	for (i = 0; i < N_BACKENDS; i++)
		if (backends[i].default_location != NULL)
			return backends[i].open(out, backends[i].default_location);
	*out = NULL;
	return teeliza_set_error(TEELIZA_ERR_CONFIG, "no database back-end is configured");
}
