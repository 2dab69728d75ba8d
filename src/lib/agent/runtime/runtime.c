/*
 * One agent (Eliza's AgentRuntime) once started: reference counting, so
 * that a message in flight keeps its agent alive while the agent is
 * stopped or replaced; what it is made of; its sampling generator.
 */
#include "agent/runtime/runtime_internal.h"
#include "agent/runtime/logring.h"

#include <assert.h>
#include <stdlib.h>
#include <string.h>

static void runtime_free(agent_runtime *rt)
{
	size_t i;

	/* The reverse of agent_runtime_new: plugins (the last started first), then the model. */
	for (i = rt->n_plugins; i-- > 0;)
		if (rt->plugin_state[i] != NULL)
			rt->plugins[i].stop(rt->plugin_state[i]);
	agent_model_free(&rt->model);
	/* Held in registry_start; no line about this agent can be logged any more. */
	agent_logring_release_character_secrets(rt->character);
	agent_character_free(rt->character);
	pthread_mutex_destroy(&rt->lock);
	free(rt);
}

agent_runtime *agent_runtime_ref(agent_runtime *rt)
{
	assert(rt != NULL);
	pthread_mutex_lock(&rt->lock);
	rt->refs++;
	pthread_mutex_unlock(&rt->lock);
	return rt;
}

void agent_runtime_release(agent_runtime *rt)
{
	unsigned left;

	if (rt == NULL)
		return;
	pthread_mutex_lock(&rt->lock);
	assert(rt->refs > 0);
	left = --rt->refs;
	pthread_mutex_unlock(&rt->lock);
	if (left == 0)
		runtime_free(rt);
}

void agent_runtime_mark_stopped(agent_runtime *rt)
{
	pthread_mutex_lock(&rt->lock);
	rt->running = false;
	pthread_mutex_unlock(&rt->lock);
}

const char *agent_runtime_id(const agent_runtime *rt)
{
	return rt->id;
}

const char *agent_runtime_name(const agent_runtime *rt)
{
	return agent_character_name(rt->character);
}

const agent_character *agent_runtime_character(const agent_runtime *rt)
{
	return rt->character;
}

agent_store *agent_runtime_store(const agent_runtime *rt)
{
	return rt->store;
}

void *agent_runtime_plugin_state(const agent_runtime *rt, const char *name)
{
	size_t i;

	assert(rt != NULL && name != NULL);
	for (i = 0; i < rt->n_plugins; i++)
		if (strcmp(rt->plugins[i].name, name) == 0)
			return rt->plugin_state[i];
	return NULL;
}

bool agent_runtime_running(const agent_runtime *rt)
{
	agent_runtime *m = (agent_runtime *)(uintptr_t)rt; /* the lock is not part of the value */
	bool running;

	pthread_mutex_lock(&m->lock);
	running = m->running;
	pthread_mutex_unlock(&m->lock);
	return running;
}

void agent_runtime_public_url(char *out, size_t out_len, const agent_runtime *rt)
{
	agent_runtime *m = (agent_runtime *)(uintptr_t)rt;

	assert(out != NULL && out_len > 0);
	pthread_mutex_lock(&m->lock);
	snprintf(out, out_len, "%s", m->public_url);
	pthread_mutex_unlock(&m->lock);
}

const agent_action *agent_runtime_actions(const agent_runtime *rt, size_t *n)
{
	*n = rt->n_actions;
	return rt->actions;
}

uint64_t agent_runtime_random(agent_runtime *rt)
{
	uint64_t x;

	/* xorshift64*: sampling only, never secrets. */
	pthread_mutex_lock(&rt->lock);
	x = rt->rng;
	x ^= x >> 12;
	x ^= x << 25;
	x ^= x >> 27;
	rt->rng = x;
	pthread_mutex_unlock(&rt->lock);
	return x * 0x2545f4914f6cdd1dull;
}
