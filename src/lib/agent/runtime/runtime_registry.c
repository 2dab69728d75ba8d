/*
 * The agents of one process (Eliza's DirectClient.agents): start (made by
 * agent_runtime_new), replace, lookup by id or name, stop, list. The
 * plugins every agent gets are the ones the registry's creator handed in.
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
	size_t i, j;

	assert(out != NULL && cfg != NULL && cfg->store != NULL);
	assert(cfg->n_plugins <= AGENT_MAX_PLUGINS && (cfg->plugins != NULL || cfg->n_plugins == 0));
	for (i = 0; i < cfg->n_plugins; i++)
		assert(cfg->plugins[i].name != NULL && cfg->plugins[i].start != NULL && cfg->plugins[i].stop != NULL);
	*out = NULL;
	r = calloc(1, sizeof(*r));
	if (r == NULL)
		return teeliza_set_error(TEELIZA_ERR_NOMEM, "out of memory");
	if (pthread_mutex_init(&r->lock, NULL) != 0) {
		free(r);
		return teeliza_set_error(TEELIZA_ERR_NOMEM, "cannot create a mutex");
	}
	r->cfg = *cfg;
	for (i = 0; i < cfg->n_plugins; i++) {
		r->plugins[i] = cfg->plugins[i];
		for (j = 0; j < i; j++)
			assert(strcmp(r->plugins[j].name, r->plugins[i].name) != 0);
	}
	r->cfg.plugins = r->plugins;
	*out = r;
	return TEELIZA_OK;
}

void agent_registry_free(agent_registry *r)
{
	size_t i;

	if (r == NULL)
		return;
	for (i = 0; i < r->n_agents; i++) {
		agent_runtime_mark_stopped(r->agents[i]);
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

/* "Agent <name> (<id>) started; model: <description>", then "; <note>" for each plugin that is on. */
static void log_started(FILE *log, const agent_runtime *rt)
{
	char notes[512];
	size_t i, len = 0;
	int n;

	notes[0] = 0;
	for (i = 0; i < rt->n_plugins; i++) {
		if (rt->plugin_state[i] == NULL || rt->plugins[i].note == NULL)
			continue;
		n = snprintf(notes + len, sizeof(notes) - len, "; %s", rt->plugins[i].note);
		if (n < 0 || (size_t)n >= sizeof(notes) - len)
			break;
		len += (size_t)n;
	}
	agent_log(log, "Agent %s (%s) started; model: %s%s", agent_runtime_name(rt), rt->id, rt->model.description,
	          notes);
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
	err = agent_runtime_new(&rt, r, c, posted);
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
		agent_runtime_mark_stopped(old);
		agent_runtime_release(old);
	}
	log_started(r->cfg.log, rt);
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
	agent_runtime_mark_stopped(hit);
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
