/*
 * Settings of a v1 character.
 *
 * elizaOS 1.x's runtime.getSetting(key) reads `secrets[key]`, then
 * `settings[key]`, then `settings.secrets[key]`, then the environment, each
 * with JavaScript's `||` (an empty string falls through). Only strings are
 * returned here, as for 0.1.x.
 *
 * teeliza's model client asks for its 0.1.x names (OPENAI_API_URL,
 * SMALL_OPENAI_MODEL, ...). A v1 user sets the names the v1 model plugins
 * read (OPENAI_BASE_URL, OPENAI_SMALL_MODEL, SMALL_MODEL, ...), so for the
 * provider the character's plugin picked, the v1 names are looked up
 * first, then the 0.1.x name, then the v1 plugin's default where teeliza
 * has none. For OpenRouter (teeliza's openai client at OpenRouter's
 * OpenAI-compatible API) the OpenRouter names replace the OpenAI ones: an
 * OPENAI_API_KEY must never be sent to OpenRouter.
 */
#include "agent/character/character_v1_internal.h"

#include <stdlib.h>
#include <string.h>

#define MAX_NAMES 5

struct alias {
	const char *package;             /* the plugin that picked the provider */
	const char *key;                 /* the 0.1.x name teeliza asks for */
	const char *names[MAX_NAMES];    /* looked up in order; NULL-terminated */
	const char *fallback;            /* v1 plugin default, or NULL */
};

#define OLLAMA_DEFAULT_MODEL "gemma3:latest"
#define OPENROUTER_SMALL "google/gemini-2.0-flash-001"
#define OPENROUTER_LARGE "google/gemini-2.5-flash"

static const struct alias aliases[] = {
	{ "@elizaos/plugin-openai", "OPENAI_API_URL", { "OPENAI_BASE_URL", "OPENAI_API_URL" }, NULL },
	{ "@elizaos/plugin-openai", "SMALL_OPENAI_MODEL", { "OPENAI_SMALL_MODEL", "SMALL_MODEL", "SMALL_OPENAI_MODEL" }, NULL },
	{ "@elizaos/plugin-openai", "MEDIUM_OPENAI_MODEL", { "OPENAI_LARGE_MODEL", "LARGE_MODEL", "MEDIUM_OPENAI_MODEL" }, NULL },
	{ "@elizaos/plugin-openai", "LARGE_OPENAI_MODEL", { "OPENAI_LARGE_MODEL", "LARGE_MODEL", "LARGE_OPENAI_MODEL" }, NULL },

	{ "@elizaos/plugin-redpill", "REDPILL_API_URL", { "REDPILL_BASE_URL", "REDPILL_API_URL" }, NULL },
	{ "@elizaos/plugin-redpill", "SMALL_REDPILL_MODEL", { "REDPILL_SMALL_MODEL", "SMALL_MODEL", "SMALL_REDPILL_MODEL" }, NULL },
	{ "@elizaos/plugin-redpill", "MEDIUM_REDPILL_MODEL", { "REDPILL_LARGE_MODEL", "LARGE_MODEL", "MEDIUM_REDPILL_MODEL" }, NULL },
	{ "@elizaos/plugin-redpill", "LARGE_REDPILL_MODEL", { "REDPILL_LARGE_MODEL", "LARGE_MODEL", "LARGE_REDPILL_MODEL" }, NULL },

	{ "@elizaos/plugin-ollama", "SMALL_OLLAMA_MODEL",
	  { "OLLAMA_SMALL_MODEL", "SMALL_MODEL", "SMALL_OLLAMA_MODEL", "OLLAMA_MODEL" }, OLLAMA_DEFAULT_MODEL },
	{ "@elizaos/plugin-ollama", "MEDIUM_OLLAMA_MODEL",
	  { "OLLAMA_MEDIUM_MODEL", "MEDIUM_OLLAMA_MODEL", "OLLAMA_MODEL" }, OLLAMA_DEFAULT_MODEL },
	{ "@elizaos/plugin-ollama", "LARGE_OLLAMA_MODEL",
	  { "OLLAMA_LARGE_MODEL", "LARGE_MODEL", "LARGE_OLLAMA_MODEL", "OLLAMA_MODEL" }, OLLAMA_DEFAULT_MODEL },

	{ "@elizaos/plugin-openrouter", "OPENAI_API_KEY", { "OPENROUTER_API_KEY" }, NULL },
	{ "@elizaos/plugin-openrouter", "OPENAI_API_URL", { "OPENROUTER_BASE_URL" }, "https://openrouter.ai/api/v1" },
	{ "@elizaos/plugin-openrouter", "SMALL_OPENAI_MODEL", { "OPENROUTER_SMALL_MODEL", "SMALL_MODEL" }, OPENROUTER_SMALL },
	{ "@elizaos/plugin-openrouter", "MEDIUM_OPENAI_MODEL", { "OPENROUTER_LARGE_MODEL", "LARGE_MODEL" }, OPENROUTER_LARGE },
	{ "@elizaos/plugin-openrouter", "LARGE_OPENAI_MODEL", { "OPENROUTER_LARGE_MODEL", "LARGE_MODEL" }, OPENROUTER_LARGE },
};

static const char *nonempty_string(const json_t *v)
{
	return json_is_string(v) && json_string_length(v) > 0 ? json_string_value(v) : NULL;
}

const char *agent_character_v1_secret(const agent_character *c, const char *key)
{
	const char *v = nonempty_string(json_object_get(json_object_get(c->v1, "secrets"), key));

	if (v == NULL)
		v = nonempty_string(json_object_get(json_object_get(json_object_get(c->v1, "settings"), "secrets"), key));
	return v;
}

/* getSetting(key) without aliases. */
static const char *lookup(const agent_character *c, const char *key)
{
	const json_t *settings = json_object_get(c->v1, "settings");
	const char *v = nonempty_string(json_object_get(json_object_get(c->v1, "secrets"), key));

	if (v == NULL)
		v = nonempty_string(json_object_get(settings, key));
	if (v == NULL)
		v = nonempty_string(json_object_get(json_object_get(settings, "secrets"), key));
	if (v == NULL) {
		v = getenv(key);
		if (v != NULL && v[0] == '\0')
			v = NULL;
	}
	return v;
}

const char *agent_character_v1_get_setting(const agent_character *c, const char *key)
{
	const agent_v1_plugin *p = agent_v1_plugin_at(c->model_plugin);

	if (p != NULL) {
		if (strcmp(p->package, "@elizaos/plugin-ollama") == 0 && strcmp(key, "OLLAMA_SERVER_URL") == 0) {
			const char *v = c->ollama_url != NULL ? c->ollama_url : lookup(c, key);

			return v != NULL ? v : "http://localhost:11434";
		}
		for (size_t i = 0; i < sizeof(aliases) / sizeof(aliases[0]); i++) {
			if (strcmp(aliases[i].package, p->package) != 0 || strcmp(aliases[i].key, key) != 0)
				continue;
			for (size_t n = 0; n < MAX_NAMES && aliases[i].names[n] != NULL; n++) {
				const char *v = lookup(c, aliases[i].names[n]);

				if (v != NULL)
					return v;
			}
			return aliases[i].fallback;
		}
	}
	return lookup(c, key);
}
