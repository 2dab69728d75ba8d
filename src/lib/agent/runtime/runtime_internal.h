/* Internals shared by the runtime's files, the plugins and the REST API (src/lib/agent/runtime, tee_plugin, api). */
#ifndef TEELIZA_AGENT_RUNTIME_INTERNAL_H
#define TEELIZA_AGENT_RUNTIME_INTERNAL_H

#include "teeliza/agent/runtime.h"

#include <pthread.h>
#include <stdatomic.h>

#define AGENT_PUBLIC_URL_MAX 512

struct agent_runtime {
	pthread_mutex_t lock;            /* refs, running, rng, public_url */
	unsigned refs;
	bool running;
	agent_character *character;
	char id[AGENT_UUID_BUFSZ];
	agent_store *store;              /* borrowed from the registry's config */
	FILE *log;
	agent_model model;
	/* The registry's plugins, copied (a stopped agent may outlive its registry), and what each started. */
	agent_plugin plugins[AGENT_MAX_PLUGINS];
	void *plugin_state[AGENT_MAX_PLUGINS]; /* NULL: off for this agent */
	size_t n_plugins;
	agent_action actions[AGENT_MAX_ACTIONS];
	agent_action_hint hints[AGENT_MAX_ACTIONS];
	size_t n_actions;
	uint64_t rng;
	char public_url[AGENT_PUBLIC_URL_MAX];
	/* The shared character's version this agent runs (0: its own file's) and when the store was last asked (api_character_sync.c). */
	_Atomic uint64_t character_version;
	_Atomic int64_t character_checked_ms;
};

struct agent_registry {
	pthread_mutex_t lock;            /* agents, public_url */
	agent_runtime **agents;
	size_t n_agents, cap_agents;
	agent_registry_config cfg;       /* cfg.plugins points to plugins */
	agent_plugin plugins[AGENT_MAX_PLUGINS];
	char public_url[AGENT_PUBLIC_URL_MAX];
};

/*
 * A new agent for character c (ownership passes, also on failure), with
 * the registry's store, log, model choice and plugins, not yet registered.
 * Out: *out, one reference.
 */
teeliza_err agent_runtime_new(agent_runtime **out, agent_registry *r, agent_character *c,
                              const json_t *posted) TEELIZA_WARN_UNUSED;

/* Mark the agent stopped: later messages to it fail with TEELIZA_ERR_NOT_FOUND. */
void agent_runtime_mark_stopped(agent_runtime *rt);

/* A random 64-bit value from the agent's generator (thread-safe). */
uint64_t agent_runtime_random(agent_runtime *rt);

/*
 * The state of Eliza's composeState for a room as a JSON object of strings
 * (agentName, bio, lore, recentMessages, actions, providers, ...).
 * Out: *state (new reference).
 */
teeliza_err agent_runtime_compose_state(json_t **state, agent_runtime *rt, const char *room_id,
                                        const char *sender_name) TEELIZA_WARN_UNUSED;

/* The read a prompt for room_id makes (agent_store_recall): its recent conversation. */
void agent_runtime_recall_query(agent_memory_query *q, const agent_runtime *rt, const char *room_id);

/* agent_runtime_compose_state from what was already read (recalled; NULL: read it now). */
teeliza_err agent_runtime_compose_state_from(json_t **state, agent_runtime *rt, const char *room_id,
                                             const char *sender_name, const agent_recall *recalled) TEELIZA_WARN_UNUSED;

/* agent_runtime_compose_prompt from what was already read (recalled; NULL: read it now). */
teeliza_err agent_runtime_compose_prompt_from(teeliza_buf *prompt, agent_runtime *rt, const char *room_id,
                                              const char *sender_name, const agent_recall *recalled) TEELIZA_WARN_UNUSED;

/*
 * Ask the agent's model for a reply to the message in the room (compose,
 * fill the template, generate, normalise to an object with string user,
 * text and action). recalled: the room's conversation as read with the
 * message's write (agent_store_ensure_connection_recall), or NULL to read
 * it now. Out: *content (new reference).
 */
teeliza_err agent_runtime_generate(json_t **content, agent_runtime *rt, const char *room_id,
                                   const char *sender_name, const char *user_text,
                                   const agent_recall *recalled) TEELIZA_WARN_UNUSED;

/* Whether the agent's model reads the prompt (the offline responder does not: nothing to recall for it). */
bool agent_runtime_reads_prompt(const agent_runtime *rt);

/* Store an agent message (content JSON) in a room; id NULL: a new random id. */
teeliza_err agent_runtime_store_reply(agent_runtime *rt, const char *id, const char *room_id,
                                      const json_t *content) TEELIZA_WARN_UNUSED;

/* Seed for a generator: the given seed when not 0, else random bytes. */
uint64_t agent_seed_or_random(uint64_t seed);

/* Set err with prefix + the current detail message (which may itself be the source). Returns err. */
teeliza_err agent_error_wrap(teeliza_err err, const char *prefix);

#endif
