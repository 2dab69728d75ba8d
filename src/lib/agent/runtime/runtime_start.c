/*
 * Making one agent: its model, then the registry's plugins in order, then
 * its actions (Eliza's bootstrap actions, then each plugin's).
 */
#include "agent/runtime/runtime_internal.h"
#include "agent/runtime/logring.h"

#include <assert.h>
#include <stdlib.h>
#include <string.h>

/* NONE, IGNORE, CONTINUE in Eliza's bootstrap order, then the plugins'. */
static teeliza_err install_actions(agent_runtime *rt)
{
	size_t i, n;
	teeliza_err err;

	rt->actions[0] = agent_action_continue;
	rt->actions[1] = agent_action_ignore;
	rt->actions[2] = agent_action_none;
	rt->n_actions = 3;
	for (i = 0; i < rt->n_plugins; i++) {
		if (rt->plugin_state[i] == NULL || rt->plugins[i].actions == NULL)
			continue;
		n = 0;
		err = rt->plugins[i].actions(rt->actions + rt->n_actions, AGENT_MAX_ACTIONS - rt->n_actions, &n,
		                             rt->plugin_state[i]);
		if (err)
			return err;
		assert(n <= AGENT_MAX_ACTIONS - rt->n_actions);
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

/* Start each of the registry's plugins for the agent; on failure the ones started stay for agent_runtime_release. */
static teeliza_err start_plugins(agent_runtime *rt, const agent_registry *r)
{
	agent_plugin_agent who;
	size_t i;
	teeliza_err err;

	memset(&who, 0, sizeof(who));
	who.character = rt->character;
	who.agent_id = rt->id;
	who.store = rt->store;
	who.log = rt->log;
	for (i = 0; i < r->cfg.n_plugins; i++) {
		rt->plugins[i] = r->plugins[i];
		rt->plugin_state[i] = NULL;
		rt->n_plugins = i + 1;
		err = rt->plugins[i].start(&rt->plugin_state[i], rt->plugins[i].ctx, &who);
		if (err) {
			rt->plugin_state[i] = NULL;
			return err;
		}
	}
	return TEELIZA_OK;
}

teeliza_err agent_runtime_new(agent_runtime **out, agent_registry *r, agent_character *c, const json_t *posted)
{
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
	if (!err)
		err = start_plugins(rt, r);
	if (!err)
		err = install_actions(rt);
	if (err) {
		agent_runtime_release(rt);
		return err;
	}
	*out = rt;
	return TEELIZA_OK;
}
