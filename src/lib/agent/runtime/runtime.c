/*
 * The agents of one process (Eliza's DirectClient.agents) and each agent's
 * life: start (model, actions, TEE plugin), lookup by id or name, stop,
 * reference counting so that a message in flight keeps its agent alive
 * while the agent is stopped or replaced.
 */
#include "agent/runtime/runtime_internal.h"
#include "agent/runtime/logring.h"

#include <assert.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

teeliza_err agent_registry_new(agent_registry **out, const agent_registry_config *cfg)
{
	agent_registry *r;

	assert(out != NULL && cfg != NULL && cfg->store != NULL);
	*out = NULL;
	r = calloc(1, sizeof(*r));
	if (r == NULL)
		return teeliza_set_error(TEELIZA_ERR_NOMEM, "out of memory");
	if (pthread_mutex_init(&r->lock, NULL) != 0) {
		free(r);
		return teeliza_set_error(TEELIZA_ERR_NOMEM, "cannot create a mutex");
	}
	r->cfg = *cfg;
	if (cfg->tee != NULL) {
		r->tee_cfg = *cfg->tee;
		r->cfg.tee = &r->tee_cfg;
	}
	*out = r;
	return TEELIZA_OK;
}

static void runtime_free(agent_runtime *rt)
{
	agent_tee_free(rt->tee);
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

static void mark_stopped(agent_runtime *rt)
{
	pthread_mutex_lock(&rt->lock);
	rt->running = false;
	pthread_mutex_unlock(&rt->lock);
}

void agent_registry_free(agent_registry *r)
{
	size_t i;

	if (r == NULL)
		return;
	for (i = 0; i < r->n_agents; i++) {
		mark_stopped(r->agents[i]);
		agent_runtime_release(r->agents[i]);
	}
	free(r->agents);
	pthread_mutex_destroy(&r->lock);
	free(r);
}

teeliza_err agent_registry_set_public_url(agent_registry *r, const char *url)
{
	size_t i, n;

	assert(r != NULL && url != NULL);
	n = strlen(url);
	while (n > 0 && url[n - 1] == '/')
		n--;
	if (n >= AGENT_PUBLIC_URL_MAX)
		return teeliza_set_error(TEELIZA_ERR_INVALID, "public URL longer than %d bytes", AGENT_PUBLIC_URL_MAX - 1);
	pthread_mutex_lock(&r->lock);
	memcpy(r->public_url, url, n);
	r->public_url[n] = 0;
	for (i = 0; i < r->n_agents; i++) {
		pthread_mutex_lock(&r->agents[i]->lock);
		memcpy(r->agents[i]->public_url, r->public_url, n + 1);
		pthread_mutex_unlock(&r->agents[i]->lock);
	}
	pthread_mutex_unlock(&r->lock);
	return TEELIZA_OK;
}

/* NONE, IGNORE, CONTINUE in Eliza's bootstrap order, then the TEE plugin's. */
static teeliza_err install_actions(agent_runtime *rt)
{
	size_t i, n = 0;
	teeliza_err err;

	rt->actions[0] = agent_action_continue;
	rt->actions[1] = agent_action_ignore;
	rt->actions[2] = agent_action_none;
	rt->n_actions = 3;
	if (rt->tee != NULL) {
		err = agent_tee_actions(rt->actions + rt->n_actions, AGENT_MAX_ACTIONS - rt->n_actions, &n, rt->tee);
		if (err)
			return err;
		rt->n_actions += n;
	}
	for (i = 0; i < rt->n_actions; i++) {
		memset(&rt->hints[i], 0, sizeof(rt->hints[i]));
		rt->hints[i].name = rt->actions[i].name;
		rt->hints[i].similes = rt->actions[i].similes;
		rt->hints[i].keywords = rt->actions[i].keywords;
	}
	return TEELIZA_OK;
}

static teeliza_err runtime_new(agent_runtime **out, agent_registry *r, agent_character *c, const json_t *posted)
{
	agent_tee_config tcfg;
	agent_runtime *rt;
	teeliza_err err;

	*out = NULL;
	rt = calloc(1, sizeof(*rt));
	if (rt == NULL) {
		agent_logring_release_character_secrets(c);
		agent_character_free(c);
		return teeliza_set_error(TEELIZA_ERR_NOMEM, "out of memory");
	}
	if (pthread_mutex_init(&rt->lock, NULL) != 0) {
		free(rt);
		agent_logring_release_character_secrets(c);
		agent_character_free(c);
		return teeliza_set_error(TEELIZA_ERR_NOMEM, "cannot create a mutex");
	}
	rt->refs = 1;
	rt->running = true;
	rt->character = c;
	rt->store = r->cfg.store;
	rt->log = r->cfg.log;
	snprintf(rt->id, sizeof(rt->id), "%s", agent_character_id(c));
	rt->rng = agent_seed_or_random(r->cfg.seed != 0 ? r->cfg.seed ^ (uint64_t)strlen(rt->id) : 0);
	pthread_mutex_lock(&r->lock);
	memcpy(rt->public_url, r->public_url, sizeof(rt->public_url));
	pthread_mutex_unlock(&r->lock);

	if (r->cfg.generate != NULL) {
		rt->model.generate = r->cfg.generate;
		rt->model.ctx = r->cfg.generate_ctx;
		snprintf(rt->model.description, sizeof(rt->model.description), "%s", "the embedding program's model");
		err = TEELIZA_OK;
	} else {
		err = agent_model_for_character(&rt->model, c, posted, r->cfg.seed, r->cfg.log);
	}
	if (!err) {
		if (r->cfg.tee != NULL)
			tcfg = *r->cfg.tee;
		else
			agent_tee_config_for_character(&tcfg, c);
		if (agent_tee_config_enabled(&tcfg))
			err = agent_tee_start(&rt->tee, &tcfg, rt->id, rt->store, rt->log);
	}
	if (!err)
		err = install_actions(rt);
	if (err) {
		runtime_free(rt);
		return err;
	}
	*out = rt;
	return TEELIZA_OK;
}

static teeliza_err registry_start(agent_runtime **out, agent_registry *r, agent_character *c, const json_t *posted)
{
	agent_runtime *rt = NULL, *old = NULL, **grown;
	size_t i, cap;
	teeliza_err err;

	assert(r != NULL && c != NULL);
	if (out != NULL)
		*out = NULL;
	/* Before the agent's first log line: its secrets never reach the dashboard's log ring. */
	agent_logring_hold_character_secrets(c);
	err = runtime_new(&rt, r, c, posted);
	if (err)
		return err;
	pthread_mutex_lock(&r->lock);
	for (i = 0; i < r->n_agents; i++) {
		if (strcmp(r->agents[i]->id, rt->id) == 0) {
			old = r->agents[i];
			r->agents[i] = rt;
			break;
		}
	}
	if (old == NULL) {
		if (r->n_agents == r->cap_agents) {
			cap = r->cap_agents ? r->cap_agents * 2 : 4;
			grown = realloc(r->agents, cap * sizeof(*grown));
			if (grown == NULL) {
				pthread_mutex_unlock(&r->lock);
				agent_runtime_release(rt);
				return teeliza_set_error(TEELIZA_ERR_NOMEM, "out of memory");
			}
			r->agents = grown;
			r->cap_agents = cap;
		}
		r->agents[r->n_agents++] = rt;
	}
	if (out != NULL)
		*out = agent_runtime_ref(rt);
	pthread_mutex_unlock(&r->lock);
	if (old != NULL) {
		mark_stopped(old);
		agent_runtime_release(old);
	}
	agent_log(r->cfg.log, "Agent %s (%s) started; model: %s%s", agent_runtime_name(rt), rt->id,
	          rt->model.description, rt->tee != NULL ? "; TEE plugin on" : "");
	return TEELIZA_OK;
}

teeliza_err agent_registry_start(agent_runtime **out, agent_registry *r, agent_character *c)
{
	return registry_start(out, r, c, NULL);
}

teeliza_err agent_registry_start_posted(agent_runtime **out, agent_registry *r, agent_character *c,
                                        const json_t *posted)
{
	assert(posted != NULL);
	return registry_start(out, r, c, posted);
}

agent_runtime *agent_registry_find(agent_registry *r, const char *ref, bool by_name)
{
	agent_runtime *hit = NULL;
	size_t i;

	assert(r != NULL);
	if (ref == NULL)
		return NULL;
	pthread_mutex_lock(&r->lock);
	for (i = 0; i < r->n_agents && hit == NULL; i++)
		if (strcmp(r->agents[i]->id, ref) == 0)
			hit = r->agents[i];
	/* Eliza: character.name.toLowerCase() === agentId.toLowerCase() */
	for (i = 0; by_name && i < r->n_agents && hit == NULL; i++)
		if (strcasecmp(agent_runtime_name(r->agents[i]), ref) == 0)
			hit = r->agents[i];
	if (hit != NULL)
		agent_runtime_ref(hit);
	pthread_mutex_unlock(&r->lock);
	return hit;
}

teeliza_err agent_registry_stop(agent_registry *r, const char *agent_id)
{
	agent_runtime *hit = NULL;
	size_t i;

	assert(r != NULL && agent_id != NULL);
	pthread_mutex_lock(&r->lock);
	for (i = 0; i < r->n_agents; i++) {
		if (strcmp(r->agents[i]->id, agent_id) == 0) {
			hit = r->agents[i];
			memmove(r->agents + i, r->agents + i + 1, (r->n_agents - i - 1) * sizeof(*r->agents));
			r->n_agents--;
			break;
		}
	}
	pthread_mutex_unlock(&r->lock);
	if (hit == NULL)
		return teeliza_set_error(TEELIZA_ERR_NOT_FOUND, "Agent not found");
	agent_log(r->cfg.log, "Agent %s (%s) stopped", agent_runtime_name(hit), hit->id);
	mark_stopped(hit);
	agent_runtime_release(hit);
	return TEELIZA_OK;
}

teeliza_err agent_registry_list(agent_runtime ***list, size_t *count, agent_registry *r)
{
	agent_runtime **out;
	size_t i;

	assert(list != NULL && count != NULL && r != NULL);
	*list = NULL;
	*count = 0;
	pthread_mutex_lock(&r->lock);
	out = calloc(r->n_agents + 1, sizeof(*out));
	if (out == NULL) {
		pthread_mutex_unlock(&r->lock);
		return teeliza_set_error(TEELIZA_ERR_NOMEM, "out of memory");
	}
	for (i = 0; i < r->n_agents; i++)
		out[i] = agent_runtime_ref(r->agents[i]);
	*count = r->n_agents;
	pthread_mutex_unlock(&r->lock);
	*list = out;
	return TEELIZA_OK;
}

void agent_runtime_list_release(agent_runtime **list, size_t count)
{
	size_t i;

	if (list == NULL)
		return;
	for (i = 0; i < count; i++)
		agent_runtime_release(list[i]);
	free(list);
}

size_t agent_registry_count(agent_registry *r)
{
	size_t n;

	assert(r != NULL);
	pthread_mutex_lock(&r->lock);
	n = r->n_agents;
	pthread_mutex_unlock(&r->lock);
	return n;
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

agent_tee *agent_runtime_tee(const agent_runtime *rt)
{
	return rt->tee;
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
