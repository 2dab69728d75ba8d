/*
 * Characters on the v1 API: the one function every v1 route loads a
 * posted character through, the form of it the model's key check reads,
 * and an agent as v1's Agent type shows it, without secrets (upstream
 * echoes them, encrypted; teeliza never does).
 */
#include "agent/api/api_v1.h"

#include <assert.h>

#include "teeliza/agent/character_v1.h"

/*
 * On /api a document is read with 1.x's rules, so a v1 client gets 1.x's
 * verdict even for `{"name": "x"}` (which a file would read as 0.1.x); one
 * that carries a key only 0.1.x has keeps the 0.1.x loader, a superset
 * teeliza allows there. No source path: `extends` and the <NAME>_<KEY>
 * env variables stay out of a network caller's reach.
 */
teeliza_err api_v1_character_load(agent_character **out, teeliza_buf *report, const json_t *character)
{
	if (agent_character_has_0_1_keys(character))
		return agent_character_from_json(out, report, character, NULL);
	return agent_character_v1_from_json(out, report, character, NULL);
}

teeliza_err api_v1_posted_form(json_t **out, const agent_character *c, const json_t *character)
{
	assert(out != NULL && c != NULL && character != NULL);
	if (agent_character_format_of(c) != AGENT_CHARACTER_FORMAT_V1) {
		*out = json_incref((json_t *)character);
		return TEELIZA_OK;
	}
	return agent_character_v1_to_internal(out, character);
}

json_t *api_v1_agent_json(const json_t *character, agent_runtime *rt, const char *id, int64_t created_at,
                          int64_t updated_at)
{
	json_t *a, *settings;
	bool running = rt != NULL && agent_runtime_running(rt);

	if (character != NULL)
		a = json_deep_copy(character);
	else if (rt != NULL)
		a = agent_character_to_v1_json(agent_runtime_character(rt), false);
	else
		a = NULL;
	if (a == NULL || !json_is_object(a)) {
		json_decref(a);
		return NULL;
	}
	json_object_del(a, "secrets");
	settings = json_object_get(a, "settings");
	if (json_is_object(settings))
		json_object_del(settings, "secrets");
	if (json_object_set_new(a, "id", json_string(id)) != 0 ||
	    json_object_set_new(a, "enabled", json_boolean(running)) != 0 ||
	    json_object_set_new(a, "status", json_string(running ? "active" : "inactive")) != 0 ||
	    json_object_set_new(a, "createdAt", json_integer(created_at)) != 0 ||
	    json_object_set_new(a, "updatedAt", json_integer(updated_at)) != 0) {
		json_decref(a);
		return NULL;
	}
	return a;
}
