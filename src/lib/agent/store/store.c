/*
 * The back-end independent half of agent_store: dispatch through the
 * back-end's table (agent_store_ops), defaults, result ownership. Which
 * back-end opens a store is store_open.c's business; nothing here names one.
 */
#include "teeliza/agent/store.h"
#include "agent/store/store_failure.h"
#include "agent/store/store_connection.h"

#include <assert.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

int64_t agent_store_now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_REALTIME, &ts);
	return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

void agent_store_close(agent_store *s)
{
	if (s != NULL)
		s->ops->close(s);
}

const char *agent_store_backend(const agent_store *s)
{
	assert(s != NULL);
	return s->ops->name;
}

teeliza_err agent_store_schema_version(agent_store *s, int *out)
{
	assert(s != NULL && out != NULL);
	return agent_store_noted(s->ops->schema_version(s, out));
}

teeliza_err agent_store_ensure_account(agent_store *s, const agent_account *a)
{
	assert(s != NULL && a != NULL && a->id != NULL);
	return agent_store_noted(s->ops->ensure_account(s, a));
}

teeliza_err agent_store_get_account(agent_store *s, agent_account *out, const char *id)
{
	assert(s != NULL && out != NULL && id != NULL);
	return agent_store_noted(s->ops->get_account(s, out, id));
}

teeliza_err agent_store_ensure_room(agent_store *s, const char *room_id)
{
	assert(s != NULL && room_id != NULL);
	return agent_store_noted(s->ops->ensure_room(s, room_id));
}

teeliza_err agent_store_ensure_participant(agent_store *s, const char *user_id, const char *room_id)
{
	assert(s != NULL && user_id != NULL && room_id != NULL);
	return agent_store_noted(s->ops->ensure_participant(s, user_id, room_id));
}

teeliza_err agent_store_connection(agent_store *s, const char *agent_id, const char *agent_name, const char *user_id,
                                  const char *room_id, const char *user_name, const char *user_screen_name,
                                  const char *source, const agent_memory *m, agent_recall *recall,
                                  const agent_memory_query *q)
{
	const agent_account *other;
	teeliza_buf fallback;
	agent_account agent = { 0 }, user = { 0 };
	teeliza_err err;

	assert(agent_id != NULL && agent_name != NULL && user_id != NULL && room_id != NULL);
	/* Eliza: userName ?? "User" + userId */
	teeliza_buf_init(&fallback, 64 * 1024);
	err = teeliza_buf_printf(&fallback, "User%s", user_id);
	if (err)
		return teeliza_set_error(err, "user id too long");
	agent.id = agent_id;
	agent.name = agent_name;
	agent.username = agent_name;
	agent.email = source;
	user.id = user_id;
	user.name = user_screen_name != NULL ? user_screen_name : (const char *)fallback.data;
	user.username = user_name != NULL ? user_name : (const char *)fallback.data;
	user.email = source;
	other = strcmp(agent_id, user_id) != 0 ? &user : NULL;
	if (recall == NULL)
		err = agent_store_noted(s->ops->ensure_connection(s, &agent, other, room_id, m));
	else
		err = agent_store_noted(s->ops->ensure_connection_recall(s, recall, &agent, other, room_id, m, q));
	teeliza_buf_free(&fallback);
	return err;
}

teeliza_err agent_store_ensure_connection(agent_store *s, const char *agent_id, const char *agent_name,
                                          const char *user_id, const char *room_id, const char *user_name,
                                          const char *user_screen_name, const char *source)
{
	return agent_store_connection(s, agent_id, agent_name, user_id, room_id, user_name, user_screen_name, source, NULL,
	                              NULL, NULL);
}

teeliza_err agent_store_ensure_connection_and_memory(agent_store *s, const char *agent_id, const char *agent_name,
                                                     const char *user_id, const char *room_id,
                                                     const char *user_name, const char *user_screen_name,
                                                     const char *source, const agent_memory *m)
{
	assert(m != NULL && m->content != NULL);
	assert(m->embedding != NULL || m->embedding_len == 0);
	return agent_store_connection(s, agent_id, agent_name, user_id, room_id, user_name, user_screen_name, source, m,
	                              NULL, NULL);
}

teeliza_err agent_store_list_room_actors(agent_store *s, agent_account_list *out, const char *room_id)
{
	assert(s != NULL && out != NULL && room_id != NULL);
	return agent_store_noted(s->ops->list_room_actors(s, out, room_id));
}

teeliza_err agent_store_create_memory(agent_store *s, const agent_memory *m)
{
	assert(s != NULL && m != NULL && m->content != NULL);
	assert(m->embedding != NULL || m->embedding_len == 0);
	return agent_store_noted(s->ops->create_memory(s, m));
}

teeliza_err agent_store_get_memory(agent_store *s, agent_memory *out, const char *id)
{
	assert(s != NULL && out != NULL && id != NULL);
	return agent_store_noted(s->ops->get_memory(s, out, id));
}

teeliza_err agent_store_get_memories(agent_store *s, agent_memory_list *out, const agent_memory_query *q)
{
	assert(s != NULL && out != NULL && q != NULL && q->room_id != NULL);
	return agent_store_noted(s->ops->get_memories(s, out, q));
}

teeliza_err agent_store_count_memories(agent_store *s, size_t *out, const char *type, const char *room_id,
                                       bool unique_only)
{
	assert(s != NULL && out != NULL && room_id != NULL);
	return agent_store_noted(s->ops->count_memories(s, out, type != NULL ? type : AGENT_MEMORY_MESSAGES, room_id, unique_only));
}

teeliza_err agent_store_delete_room_memories(agent_store *s, size_t *deleted, const char *type,
                                             const char *room_id)
{
	assert(s != NULL && room_id != NULL);
	return agent_store_noted(s->ops->delete_room_memories(s, deleted, type != NULL ? type : AGENT_MEMORY_MESSAGES, room_id));
}

teeliza_err agent_store_cache_get(agent_store *s, char **out, const char *key, const char *agent_id)
{
	assert(s != NULL && out != NULL && key != NULL && agent_id != NULL);
	return agent_store_noted(s->ops->cache_get(s, out, key, agent_id));
}

teeliza_err agent_store_cache_set(agent_store *s, const char *key, const char *agent_id,
                                  const char *value_json, int64_t expires_at)
{
	assert(s != NULL && key != NULL && agent_id != NULL && value_json != NULL);
	return agent_store_noted(s->ops->cache_set(s, key, agent_id, value_json, expires_at));
}

teeliza_err agent_store_cache_delete(agent_store *s, const char *key, const char *agent_id)
{
	assert(s != NULL && key != NULL && agent_id != NULL);
	return agent_store_noted(s->ops->cache_delete(s, key, agent_id));
}

teeliza_err agent_store_log(agent_store *s, const char *user_id, const char *room_id, const char *type,
                            const char *body_json)
{
	assert(s != NULL && user_id != NULL && room_id != NULL && type != NULL && body_json != NULL);
	return agent_store_noted(s->ops->log(s, user_id, room_id, type, body_json));
}

teeliza_err agent_store_put_attestation(agent_store *s, const agent_attestation *a)
{
	assert(s != NULL && a != NULL && a->id != NULL && (a->quote != NULL || a->quote_len == 0));
	return agent_store_noted(s->ops->put_attestation(s, a));
}

teeliza_err agent_store_get_attestation(agent_store *s, agent_attestation *out, const char *id)
{
	assert(s != NULL && out != NULL && id != NULL);
	return agent_store_noted(s->ops->get_attestation(s, out, id));
}

teeliza_err agent_store_put_receipt(agent_store *s, const agent_receipt *r)
{
	assert(s != NULL && r != NULL && r->id != NULL && r->agent_id != NULL && r->receipt != NULL &&
	       r->signature != NULL && r->public_key != NULL);
	return agent_store_noted(s->ops->put_receipt(s, r));
}

teeliza_err agent_store_put_receipt_with_memories(agent_store *s, const agent_receipt *r, const agent_memory *memories,
                                                  size_t n)
{
	teeliza_err err = TEELIZA_OK;

	assert(s != NULL && r != NULL && r->id != NULL && r->agent_id != NULL && r->receipt != NULL &&
	       r->signature != NULL && r->public_key != NULL && memories != NULL && n > 0);
	for (size_t i = 0; i < n; i++) {
		assert(memories[i].id != NULL && memories[i].content != NULL);
		assert(memories[i].embedding != NULL || memories[i].embedding_len == 0);
	}
	if (s->ops->put_receipt_with_memories != NULL)
		return agent_store_noted(s->ops->put_receipt_with_memories(s, r, memories, n));
	/* a back-end without one transaction for both: the reply first, never a receipt without it */
	for (size_t i = 0; !err && i < n; i++)
		err = agent_store_noted(s->ops->create_memory(s, &memories[i]));
	return err ? err : agent_store_noted(s->ops->put_receipt(s, r));
}

teeliza_err agent_store_append_receipt(agent_store *s, const char *agent_id, agent_receipt_build build, void *ctx,
                                       const agent_memory *memories, size_t n)
{
	assert(s != NULL && agent_id != NULL && build != NULL && (memories != NULL || n == 0));
	for (size_t i = 0; i < n; i++) {
		assert(memories[i].id != NULL && memories[i].content != NULL);
		assert(memories[i].embedding != NULL || memories[i].embedding_len == 0);
	}
	if (s->ops->append_receipt == NULL)
		return teeliza_set_error(TEELIZA_ERR_UNSUPPORTED, "the %s store has no lock on a receipt chain",
		                         s->ops->name);
	return agent_store_noted(s->ops->append_receipt(s, agent_id, build, ctx, memories, n));
}

teeliza_err agent_store_get_receipt(agent_store *s, agent_receipt *out, const char *agent_id, const char *id)
{
	assert(s != NULL && out != NULL && agent_id != NULL && id != NULL);
	return agent_store_noted(s->ops->get_receipt(s, out, agent_id, id));
}

teeliza_err agent_store_last_receipt(agent_store *s, agent_receipt *out, const char *agent_id)
{
	assert(s != NULL && out != NULL && agent_id != NULL);
	return agent_store_noted(s->ops->last_receipt(s, out, agent_id));
}

void agent_receipt_clear(agent_receipt *r)
{
	if (r == NULL)
		return;
	free(r->owned_);
	memset(r, 0, sizeof(*r));
}

void agent_account_clear(agent_account *a)
{
	if (a == NULL)
		return;
	free(a->owned_);
	memset(a, 0, sizeof(*a));
}

void agent_memory_clear(agent_memory *m)
{
	if (m == NULL)
		return;
	free(m->owned_);
	memset(m, 0, sizeof(*m));
}

void agent_attestation_clear(agent_attestation *a)
{
	if (a == NULL)
		return;
	free(a->owned_);
	memset(a, 0, sizeof(*a));
}

void agent_account_list_free(agent_account_list *l)
{
	if (l == NULL)
		return;
	for (size_t i = 0; i < l->count; i++)
		agent_account_clear(&l->items[i]);
	free(l->items);
	l->items = NULL;
	l->count = 0;
}

void agent_recall_free(agent_recall *r)
{
	if (r == NULL)
		return;
	agent_memory_list_free(&r->memories);
	agent_account_list_free(&r->authors);
}

void agent_memory_list_free(agent_memory_list *l)
{
	if (l == NULL)
		return;
	for (size_t i = 0; i < l->count; i++)
		agent_memory_clear(&l->items[i]);
	free(l->items);
	l->items = NULL;
	l->count = 0;
}
