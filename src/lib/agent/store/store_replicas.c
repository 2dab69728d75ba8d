/*
 * The back-end independent half of what replicas sharing one database need
 * from the store (teeliza/agent/store.h, "Replicas sharing one database"):
 * who this replica is, and the checked dispatch of the claim, readiness,
 * instance and character operations to the back-end's table.
 */
#include "teeliza/agent/store.h"
#include "agent/store/store_failure.h"
#include "teeliza/agent/uuid.h"

#include <assert.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

static bool instance_char_ok(char c)
{
	return (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '.' || c == '_' ||
	       c == ':' || c == '-';
}

teeliza_err agent_store_set_identity(agent_store *s, const char *instance_id)
{
	char host[256];
	size_t n;
	teeliza_err err;

	assert(s != NULL);
	if (instance_id == NULL || instance_id[0] == '\0') {
		if (gethostname(host, sizeof(host)) != 0 || host[0] == '\0')
			snprintf(host, sizeof(host), "localhost");
		host[sizeof(host) - 1] = '\0';
		instance_id = host;
	}
	n = strlen(instance_id);
	if (n > AGENT_INSTANCE_ID_MAX)
		return teeliza_set_error(TEELIZA_ERR_INVALID, "TEELIZA_INSTANCE_ID is longer than %d characters",
		                         AGENT_INSTANCE_ID_MAX);
	for (size_t i = 0; i < n; i++)
		if (!instance_char_ok(instance_id[i]))
			return teeliza_set_error(TEELIZA_ERR_INVALID,
			                         "TEELIZA_INSTANCE_ID may hold only letters, digits and . _ : -");
	err = agent_uuid_random(s->boot_id);
	if (err)
		return err;
	memcpy(s->instance_id, instance_id, n + 1);
	snprintf(s->owner, sizeof(s->owner), "%s/%s", s->instance_id, s->boot_id);
	return TEELIZA_OK;
}

/* A back-end that lacks one of the replicas' operations says so (it cannot serve replicas); never a crash. */
static teeliza_err lacks(const agent_store *s, const char *op)
{
	return teeliza_set_error(TEELIZA_ERR_UNSUPPORTED, "the %s store has no %s: it cannot serve replicas",
	                         agent_store_backend(s), op);
}

teeliza_err agent_store_ping(agent_store *s)
{
	assert(s != NULL);
	if (s->ops->ping == NULL)
		return TEELIZA_OK; /* nothing to ask: reachable as far as this back-end can tell */
	return agent_store_noted(s->ops->ping(s));
}

teeliza_err agent_store_request_claim(agent_store *s, agent_request_result *out, const agent_request_claim *c)
{
	size_t n;

	assert(s != NULL && out != NULL && c != NULL && c->agent_id != NULL && c->request_key != NULL &&
	       c->body_hash != NULL && c->room_id != NULL && c->user_memory_id != NULL &&
	       c->reply_memory_id != NULL && c->lease_ms > 0);
	memset(out, 0, sizeof(*out));
	n = strlen(c->request_key);
	if (n == 0 || n > AGENT_REQUEST_KEY_MAX)
		return teeliza_set_error(TEELIZA_ERR_INVALID, "a request key has 1 to %d characters",
		                         AGENT_REQUEST_KEY_MAX);
	if (s->owner[0] == '\0' && agent_store_set_identity(s, NULL) != TEELIZA_OK)
		return TEELIZA_ERR_INVALID;
	if (s->ops->request_claim == NULL)
		return lacks(s, "request claim");
	return agent_store_noted(s->ops->request_claim(s, out, c));
}

teeliza_err agent_store_request_complete(agent_store *s, const char *agent_id, const char *request_key,
                                         const char *response_json)
{
	assert(s != NULL && agent_id != NULL && request_key != NULL && response_json != NULL);
	if (s->ops->request_complete == NULL)
		return lacks(s, "request complete");
	return agent_store_noted(s->ops->request_complete(s, agent_id, request_key, response_json));
}

teeliza_err agent_store_request_release(agent_store *s, const char *agent_id, const char *request_key)
{
	assert(s != NULL && agent_id != NULL && request_key != NULL);
	if (s->ops->request_release == NULL)
		return lacks(s, "request release");
	return agent_store_noted(s->ops->request_release(s, agent_id, request_key));
}

teeliza_err agent_store_list_instances(agent_store *s, agent_instance_list *out, const char *agent_id)
{
	assert(s != NULL && out != NULL && agent_id != NULL);
	memset(out, 0, sizeof(*out));
	if (s->ops->list_instances == NULL)
		return lacks(s, "list instances");
	return agent_store_noted(s->ops->list_instances(s, out, agent_id));
}

teeliza_err agent_store_character_put(agent_store *s, uint64_t *version, const char *agent_id, const char *json)
{
	assert(s != NULL && version != NULL && agent_id != NULL && json != NULL);
	*version = 0;
	if (s->ops->character_put == NULL)
		return lacks(s, "character put");
	return agent_store_noted(s->ops->character_put(s, version, agent_id, json));
}

teeliza_err agent_store_character_get(agent_store *s, char **json, uint64_t *version, const char *agent_id)
{
	assert(s != NULL && json != NULL && version != NULL && agent_id != NULL);
	*json = NULL;
	*version = 0;
	if (s->ops->character_get == NULL)
		return lacks(s, "character get");
	return agent_store_noted(s->ops->character_get(s, json, version, agent_id));
}

teeliza_err agent_store_character_version(agent_store *s, uint64_t *version, const char *agent_id)
{
	assert(s != NULL && version != NULL && agent_id != NULL);
	*version = 0;
	if (s->ops->character_version == NULL)
		return lacks(s, "character version");
	return agent_store_noted(s->ops->character_version(s, version, agent_id));
}

void agent_request_result_clear(agent_request_result *r)
{
	if (r == NULL)
		return;
	free(r->response);
	memset(r, 0, sizeof(*r));
}

void agent_instance_list_free(agent_instance_list *l)
{
	if (l == NULL)
		return;
	for (size_t i = 0; i < l->count; i++)
		free(l->items[i].owned_);
	free(l->items);
	l->items = NULL;
	l->count = 0;
}
