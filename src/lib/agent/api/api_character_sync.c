/*
 * A character changed on one replica is seen by the others without a
 * restart. POST /agents/:id/set stores the posted character in the shared
 * store as the agent's next version (agent_store_character_put); every
 * replica asks for the agent's version at most once a second, when a
 * request for the agent comes in, and restarts the agent from the stored
 * character when it is newer than the one it runs. So a change shows on
 * every replica within about a second of the next request, and costs one
 * small read a second per agent, not one per request. (On PostgreSQL a
 * LISTEN on the store's notification can make the check immediate; the
 * interface is the same.)
 *
 * The posted character is stored as it was posted, secrets included: the
 * other replicas need them to act the same. docs/DEPLOY.md says so.
 */
#include "agent/api/api_route.h"

#include <stdlib.h>
#include <string.h>

#define SYNC_EVERY_MS 1000

void api_character_share(agent_api *api, agent_runtime *rt, const json_t *posted)
{
	uint64_t v = 0;
	char *text = json_dumps(posted, JSON_COMPACT | JSON_PRESERVE_ORDER);
	teeliza_err err;

	err = text != NULL ? agent_store_character_put(rt->store, &v, rt->id, text)
	                   : teeliza_set_error(TEELIZA_ERR_NOMEM, "out of memory");
	if (text != NULL)
		teeliza_wipe(text, strlen(text)); /* it may hold the character's secrets */
	free(text);
	if (err) {
		agent_log(api->log, "Agent %s: the new character runs here but other replicas will not see it: %s",
		          agent_runtime_name(rt), teeliza_errmsg()[0] ? teeliza_errmsg() : teeliza_strerror(err));
		return;
	}
	atomic_store(&rt->character_version, v);
	atomic_store(&rt->character_checked_ms, agent_store_now_ms());
}

/* Start the stored character (version v) in place of rt; NULL when it cannot (logged). */
static agent_runtime *restart(agent_api *api, agent_runtime *rt, const char *stored, uint64_t v)
{
	json_error_t jerr;
	json_t *posted = json_loads(stored, 0, &jerr);
	agent_character *c = NULL;
	agent_runtime *fresh = NULL;
	teeliza_buf report;
	teeliza_err err;

	if (posted == NULL) {
		agent_log(api->log, "Agent %s: the shared character (version %llu) is not JSON: %s", agent_runtime_name(rt),
		          (unsigned long long)v, jerr.text);
		return NULL;
	}
	err = agent_character_from_json(&c, &report, posted, NULL);
	teeliza_buf_free(&report);
	if (!err && strcmp(agent_character_id(c), rt->id) != 0) {
		agent_character_free(c);
		err = teeliza_set_error(TEELIZA_ERR_INVALID, "it names another agent id");
	}
	if (!err)
		err = agent_registry_start_posted(&fresh, api->registry, c, posted);
	json_decref(posted);
	if (err) {
		agent_log(api->log, "Agent %s: cannot run the shared character (version %llu): %s", agent_runtime_name(rt),
		          (unsigned long long)v, teeliza_errmsg()[0] ? teeliza_errmsg() : teeliza_strerror(err));
		return NULL;
	}
	atomic_store(&fresh->character_version, v);
	atomic_store(&fresh->character_checked_ms, agent_store_now_ms());
	agent_log(api->log, "Agent %s: character version %llu, set on another replica, runs here now",
	          agent_runtime_name(fresh), (unsigned long long)v);
	return fresh;
}

agent_runtime *api_character_sync(agent_api *api, agent_runtime *rt)
{
	int64_t now = agent_store_now_ms(), last = atomic_load(&rt->character_checked_ms);
	uint64_t v = 0, have;
	char *stored = NULL;
	agent_runtime *fresh;

	/* one thread per agent and second asks; the others go on with what runs */
	if (now - last < SYNC_EVERY_MS || !atomic_compare_exchange_strong(&rt->character_checked_ms, &last, now))
		return rt;
	have = atomic_load(&rt->character_version);
	if (agent_store_character_version(rt->store, &v, rt->id) != TEELIZA_OK) {
		teeliza_clear_error();
		return rt; /* the request's own store calls report a database that is gone */
	}
	if (v <= have)
		return rt;
	if (agent_store_character_get(rt->store, &stored, &v, rt->id) != TEELIZA_OK) {
		teeliza_clear_error();
		return rt;
	}
	fresh = restart(api, rt, stored, v);
	teeliza_wipe(stored, strlen(stored));
	free(stored);
	if (fresh == NULL) {
		atomic_store(&rt->character_version, v); /* logged once, not every second */
		return rt;
	}
	agent_runtime_release(rt);
	return fresh;
}
