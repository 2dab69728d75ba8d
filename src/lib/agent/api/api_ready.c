/*
 * Readiness: GET /readyz beside /healthz, and the gate in front of every
 * route that needs the database (API_ROUTE_DB). /healthz says the process
 * runs; /readyz says whether the database answers (agent_store_ping), so a
 * load balancer sends no traffic to a replica that cannot serve it. The
 * ping's answer is kept for a second: a replica never pings more than once
 * a second however busy it is, and it notices by itself when the database
 * comes back. While it is down, gated routes answer 503 with Retry-After.
 */
#include "agent/api/api_route.h"

#include <pthread.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>

#define READY_TTL_MS 1000
#define RETRY_AFTER_S "1"

struct api_ready {
	pthread_mutex_t lock;     /* one ping at a time; the others read the last answer */
	_Atomic int64_t checked_ms;
	atomic_bool ok;
	char why[256];            /* under lock: why the last ping failed */
};

teeliza_err api_ready_new(struct api_ready **out)
{
	struct api_ready *r = calloc(1, sizeof(*r));

	*out = NULL;
	if (r == NULL)
		return teeliza_set_error(TEELIZA_ERR_NOMEM, "out of memory");
	if (pthread_mutex_init(&r->lock, NULL) != 0) {
		free(r);
		return teeliza_set_error(TEELIZA_ERR_INTERNAL, "pthread_mutex_init failed");
	}
	atomic_store(&r->ok, true);
	*out = r;
	return TEELIZA_OK;
}

void api_ready_free(struct api_ready *r)
{
	if (r == NULL)
		return;
	pthread_mutex_destroy(&r->lock);
	free(r);
}

/* Is the database reachable? Pings when the last answer is older than READY_TTL_MS. why (may be NULL) gets the reason. */
static bool ready(agent_api *api, char *why, size_t why_len)
{
	struct api_ready *r = api->ready;
	int64_t now = agent_store_now_ms();
	bool ok;

	if (why != NULL)
		why[0] = '\0';
	if (r == NULL)
		return true;
	if (now - atomic_load(&r->checked_ms) >= READY_TTL_MS && pthread_mutex_trylock(&r->lock) == 0) {
		teeliza_err err = agent_store_ping(api->registry->cfg.store);
		bool was = atomic_load(&r->ok);

		if (err) {
			snprintf(r->why, sizeof(r->why), "%s", teeliza_errmsg()[0] ? teeliza_errmsg() : teeliza_strerror(err));
			teeliza_clear_error();
			if (was)
				agent_log(api->log, "Database unreachable, answering 503 until it is back: %s", r->why);
		} else if (!was) {
			agent_log(api->log, "Database reachable again, serving");
		}
		atomic_store(&r->ok, err == TEELIZA_OK);
		atomic_store(&r->checked_ms, now);
		pthread_mutex_unlock(&r->lock);
	}
	ok = atomic_load(&r->ok);
	if (!ok && why != NULL && pthread_mutex_lock(&r->lock) == 0) {
		snprintf(why, why_len, "%s", r->why);
		pthread_mutex_unlock(&r->lock);
	}
	return ok;
}

static void unavailable(http_server_reply *reply, const char *why)
{
	api_reply_json(reply, 503, json_pack("{s:s, s:s}", "error", "The database is unreachable; retry shortly",
	                                     "details", why));
	for (size_t i = 0; i < sizeof(reply->extra_headers) / sizeof(reply->extra_headers[0]); i++) {
		if (reply->extra_headers[i] == NULL) {
			reply->extra_headers[i] = "Retry-After: " RETRY_AFTER_S;
			break;
		}
	}
}

bool api_ready_gate(http_server_reply *reply, agent_api *api)
{
	char why[256];

	if (ready(api, why, sizeof(why)))
		return true;
	unavailable(reply, why);
	return false;
}

static void readyz(http_server_reply *reply, agent_api *api, const api_request *r)
{
	char why[256];
	int version = 0;

	(void)r;
	if (!ready(api, why, sizeof(why))) {
		unavailable(reply, why);
		return;
	}
	if (agent_store_schema_version(api->registry->cfg.store, &version) != TEELIZA_OK) {
		unavailable(reply, teeliza_errmsg());
		return;
	}
	api_reply_json(reply, 200, json_pack("{s:s, s:s, s:i, s:s}", "status", "ready", "database",
	                                     agent_store_backend(api->registry->cfg.store), "schemaVersion", version,
	                                     "instance", api->registry->cfg.store->instance_id));
}

const api_route api_ready_routes[] = {
	{API_GET, "/readyz", API_OPEN, readyz, 0},
	{0, NULL, API_OPEN, NULL, 0},
};
