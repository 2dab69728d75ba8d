/*
 * Which back-end the settings pick (agent_store_open_default). Each
 * back-end is a row of the table below: the setting that names its
 * database and how to open it. Another back-end (PostgreSQL, ...) is a new
 * file and a new row; store.c, which dispatches, does not change.
 */
#include "teeliza/agent/store.h"

#include <stddef.h>
#include <stdlib.h>

struct store_backend {
	const char *setting;             /* the environment variable naming its database, e.g. "SQLITE_FILE" */
	const char *default_location;    /* opened when no back-end's setting is set; NULL: never by default */
	teeliza_err (*open)(agent_store **out, const char *location);
};

/* Tried in order: the first whose setting is set wins (Eliza looks for POSTGRES_URL before SQLite). */
static const struct store_backend backends[] = {
	{ "SQLITE_FILE", AGENT_STORE_DEFAULT_PATH, agent_store_sqlite_open },
};

#define N_BACKENDS (sizeof(backends) / sizeof(backends[0]))

teeliza_err agent_store_open_default(agent_store **out)
{
	const char *v;
	size_t i;

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
