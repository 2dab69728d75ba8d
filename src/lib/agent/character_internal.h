/* Shared between the character files of src/lib/agent; not public. */
#ifndef TEELIZA_AGENT_CHARACTER_INTERNAL_H
#define TEELIZA_AGENT_CHARACTER_INTERNAL_H

#include <jansson.h>

#include "teeliza/agent_character.h"

struct agent_character {
	json_t *root;                 /* owned; validated, env-merged, extended */
	char id[AGENT_UUID_BUFSZ];    /* `id`, or stringToUuid(name) */
};

/* The bundled character (character_default_json.c, generated). */
extern const char agent_default_character_json[];

/* Longest text agent_js_number writes, NUL included. */
#define AGENT_JS_NUMBER_BUFSZ 40

/* x formatted as JavaScript's String(x) formats a number ("7", "1.5", "1e+21", "1e-7"). */
void agent_js_number(char out[AGENT_JS_NUMBER_BUFSZ], double x);

/*
 * Merge env vars CHARACTER.<ID_OR_NAME>.<KEY> into root.settings.secrets,
 * values already in root winning. root must have passed validation.
 */
teeliza_err agent_character_env_secrets(json_t *root) TEELIZA_WARN_UNUSED;

/*
 * Eliza's mergeCharacters(base, child) as a new object in *out: objects
 * merged key by key, arrays concatenated base first, other values the
 * child's unless the child lacks the key.
 */
teeliza_err agent_character_merge(json_t **out, const json_t *base, const json_t *child) TEELIZA_WARN_UNUSED;

/* Wrap a finished JSON (reference stolen, also on failure) as a character. */
teeliza_err agent_character_wrap(agent_character **out, json_t *root) TEELIZA_WARN_UNUSED;

#endif
