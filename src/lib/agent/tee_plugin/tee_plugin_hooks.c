/*
 * The TEE plugin as the runtime sees it: the agent_plugin hooks (start,
 * stop, actions, provider) over agent_tee, so that the runtime starts it
 * for every agent without naming it (teeliza/agent/runtime.h).
 */
#include "agent/tee_plugin/tee_plugin_internal.h"

#include <assert.h>
#include <string.h>

/* The settings for one agent: the registry's fixed ones, else its character's. On when they enable it. */
static teeliza_err tee_start(void **state, void *ctx, const agent_plugin_agent *agent)
{
	const agent_tee_config *fixed = ctx;
	agent_tee_config cfg;
	agent_tee *t = NULL;
	teeliza_err err;

	*state = NULL;
	if (fixed != NULL)
		cfg = *fixed;
	else
		agent_tee_config_for_character(&cfg, agent->character);
	if (!agent_tee_config_enabled(&cfg))
		return TEELIZA_OK;
	err = agent_tee_start(&t, &cfg, agent->agent_id, agent->store, agent->log);
	*state = t;
	return err;
}

static void tee_stop(void *state)
{
	agent_tee_free(state);
}

static teeliza_err tee_actions(agent_action *actions, size_t max, size_t *n, void *state)
{
	return agent_tee_actions(actions, max, n, state);
}

static teeliza_err tee_provider(teeliza_buf *text, void *state)
{
	return agent_tee_provider_text(text, state);
}

void agent_tee_plugin(agent_plugin *out, const agent_tee_config *cfg)
{
	assert(out != NULL);
	memset(out, 0, sizeof(*out));
	out->name = AGENT_TEE_PLUGIN_NAME;
	out->note = "TEE plugin on";
	out->start = tee_start;
	out->stop = tee_stop;
	out->actions = tee_actions;
	out->provider = tee_provider;
	out->ctx = (void *)(uintptr_t)cfg;
}

agent_tee *agent_runtime_tee(const agent_runtime *rt)
{
	return agent_runtime_plugin_state(rt, AGENT_TEE_PLUGIN_NAME);
}
