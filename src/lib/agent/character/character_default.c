/* The bundled default character (its text lives in character_default_json.c). */
#include "teeliza/agent/character.h"
#include "agent/character/character_internal.h"

#include <assert.h>
#include <string.h>

const char *agent_character_default_json(void)
{
	return agent_default_character_json;
}

teeliza_err agent_character_load_default(agent_character **out)
{
	assert(out != NULL);
	return agent_character_from_text(out, NULL, agent_default_character_json,
	                                  strlen(agent_default_character_json), NULL);
}
