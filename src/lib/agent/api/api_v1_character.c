/*
 * Characters on the v1 API: the one function every v1 route loads a
 * posted character through (so the format it accepts is decided in one
 * place: today the loader's, agent_character_from_json, with no source
 * path, so `extends` is refused), and an agent as v1's Agent type shows it,
 * without secrets (upstream echoes them, encrypted; teeliza never does).
 */
#include "agent/api/api_v1.h"

teeliza_err api_v1_character_load(agent_character **out, teeliza_buf *report, const json_t *character)
{
	return agent_character_from_json(out, report, character, NULL);
}

json_t *api_v1_agent_json(const json_t *character, agent_runtime *rt, const char *id, int64_t created_at,
                          int64_t updated_at)
{
	json_t *a, *settings;
	bool running = rt != NULL && agent_runtime_running(rt);

	if (character != NULL)
		a = json_deep_copy(character);
	else if (rt != NULL)
		a = agent_character_to_json(agent_runtime_character(rt), false);
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
