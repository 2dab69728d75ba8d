/* Shared between the v1 character files (character_v1*.c); not public. */
#ifndef TEELIZA_AGENT_CHARACTER_V1_INTERNAL_H
#define TEELIZA_AGENT_CHARACTER_V1_INTERNAL_H

#include "agent/character/character_internal.h"
#include "teeliza/agent/character_v1.h"

/* zod's output of a valid v1 character: drop unknown keys of its "strip" objects, in place. */
teeliza_err agent_character_v1_strip(json_t *root) TEELIZA_WARN_UNUSED;

/* Build a v1 character from a validated, stripped document (reference stolen, also on failure). */
teeliza_err agent_character_v1_wrap(agent_character **out, json_t *v1, bool from_file) TEELIZA_WARN_UNUSED;

/* agent_character_get_setting / agent_character_secret for a v1 character (character_v1_setting.c). */
const char *agent_character_v1_get_setting(const agent_character *c, const char *key);
const char *agent_character_v1_secret(const agent_character *c, const char *key);

/* The v1 plugin table (character_v1_plugins.c). */
typedef struct agent_v1_plugin {
	const char *package;    /* "@elizaos/plugin-openai" */
	const char *provider;   /* teeliza modelProvider it picks, or NULL */
	const char *why;        /* for the log: what it is, why it is ignored or what it maps to */
} agent_v1_plugin;

/* The entry for a package name, or NULL when teeliza does not know it. */
const agent_v1_plugin *agent_v1_plugin_find(const char *package, int *index);

/* Entry i (from agent_v1_plugin_find's index). */
const agent_v1_plugin *agent_v1_plugin_at(int index);

#endif
