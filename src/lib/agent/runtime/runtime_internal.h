/* Internals shared by the runtime, its actions and the REST API (src/lib/agent/runtime*.c, api*.c). */
#ifndef TEELIZA_AGENT_RUNTIME_INTERNAL_H
#define TEELIZA_AGENT_RUNTIME_INTERNAL_H

#include "teeliza/agent/runtime.h"

#include <pthread.h>

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
	agent_tee *tee;                  /* NULL: plugin off */
	agent_action actions[AGENT_MAX_ACTIONS];
	agent_action_hint hints[AGENT_MAX_ACTIONS];
	size_t n_actions;
	uint64_t rng;
	char public_url[AGENT_PUBLIC_URL_MAX];
};

struct agent_registry {
	pthread_mutex_t lock;            /* agents, public_url */
	agent_runtime **agents;
	size_t n_agents, cap_agents;
	agent_registry_config cfg;
	agent_tee_config tee_cfg;        /* copy of *cfg.tee when given */
	char public_url[AGENT_PUBLIC_URL_MAX];
};

/* A random 64-bit value from the agent's generator (thread-safe). */
uint64_t agent_runtime_random(agent_runtime *rt);

/*
 * The state of Eliza's composeState for a room as a JSON object of strings
 * (agentName, bio, lore, recentMessages, actions, providers, ...).
 * Out: *state (new reference).
 */
teeliza_err agent_runtime_compose_state(json_t **state, agent_runtime *rt, const char *room_id,
                                        const char *sender_name) TEELIZA_WARN_UNUSED;

/*
 * Ask the agent's model for a reply to the message in the room (compose,
 * fill the template, generate, normalise to an object with string user,
 * text and action). Out: *content (new reference).
 */
teeliza_err agent_runtime_generate(json_t **content, agent_runtime *rt, const char *room_id,
                                   const char *sender_name, const char *user_text) TEELIZA_WARN_UNUSED;

/* Store an agent message (content JSON) in a room; id NULL: a new random id. */
teeliza_err agent_runtime_store_reply(agent_runtime *rt, const char *id, const char *room_id,
                                      const json_t *content) TEELIZA_WARN_UNUSED;

/* Seed for a generator: the given seed when not 0, else random bytes. */
uint64_t agent_seed_or_random(uint64_t seed);

/* True when the plugin talks to a simulator (TEE_MODE LOCAL/DOCKER or DSTACK_SIMULATOR_ENDPOINT). */
bool agent_tee_simulated(const agent_tee *t);

/*
 * tappd's Info answer (app id, instance id, compose hash, …) for the
 * plugin's endpoint, with its own timeout (0: the plugin's). Appends the
 * JSON text to json_out.
 */
teeliza_err agent_tee_tappd_info(teeliza_buf *json_out, agent_tee *t, long timeout_ms) TEELIZA_WARN_UNUSED;

/*
 * A teeliza simulator's root and collateral (Tappd.SimRoot) from the
 * plugin's endpoint, at most max bytes, with its own timeout (0: the
 * plugin's). Real tappd has no such method (TEELIZA_ERR_REMOTE).
 */
teeliza_err agent_tee_sim_root(teeliza_buf *json_out, agent_tee *t, long timeout_ms, size_t max) TEELIZA_WARN_UNUSED;

/* The plugin's endpoint for messages and as a key ("http://…" or "unix:…"). Returns out. */
const char *agent_tee_endpoint(char *out, size_t out_len, const agent_tee *t);

/* Set err with prefix + the current detail message (which may itself be the source). Returns err. */
teeliza_err agent_error_wrap(teeliza_err err, const char *prefix);

/* True when host is a loopback address (127.0.0.0/8, ::1, localhost). */
bool agent_host_is_loopback(const char *host);

#endif
