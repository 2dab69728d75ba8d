/*
 * A prompt's read (agent_store_recall): a room's recent memories and their
 * authors' accounts. A back-end that can do it in one statement fills
 * agent_store_ops.recall; for the others (SQLite, in process, where a call
 * costs no round trip) it is the memories, then each author's account.
 * agent_store_ensure_connection_recall puts the message's write before it:
 * one call when the back-end has ensure_connection_recall (PostgreSQL: one
 * pipeline), else the connection and then this read.
 */
#include "teeliza/agent/store.h"
#include "agent/store/store_failure.h"
#include "agent/store/store_connection.h"

#include <assert.h>
#include <stdlib.h>
#include <string.h>

static teeliza_err authors_one_by_one(agent_account_list *out, agent_store *s, const agent_memory_list *mems)
{
	teeliza_err err = TEELIZA_OK;

	memset(out, 0, sizeof(*out));
	if (mems->count == 0)
		return TEELIZA_OK;
	out->items = calloc(mems->count, sizeof(*out->items));
	if (out->items == NULL)
		return teeliza_set_error(TEELIZA_ERR_NOMEM, "out of memory");
	for (size_t i = 0; err == TEELIZA_OK && i < mems->count; i++) {
		const char *uid = mems->items[i].user_id;
		size_t j;

		if (uid == NULL)
			continue;
		for (j = 0; j < out->count && strcmp(out->items[j].id, uid) != 0; j++)
			;
		if (j < out->count)
			continue;
		err = agent_store_get_account(s, &out->items[out->count], uid);
		if (err == TEELIZA_ERR_NOT_FOUND) {
			teeliza_clear_error(); /* a message from an account since removed */
			err = TEELIZA_OK;
		} else if (err == TEELIZA_OK) {
			out->count++;
		}
	}
	if (err)
		agent_account_list_free(out);
	return err;
}

teeliza_err agent_store_recall(agent_store *s, agent_recall *out, const agent_memory_query *q)
{
	teeliza_err err;

	assert(s != NULL && out != NULL && q != NULL && q->room_id != NULL);
	memset(out, 0, sizeof(*out));
	if (s->ops->recall != NULL)
		err = agent_store_noted(s->ops->recall(s, out, q));
	else
		err = agent_store_get_memories(s, &out->memories, q);
	if (err == TEELIZA_OK && s->ops->recall == NULL)
		err = authors_one_by_one(&out->authors, s, &out->memories);
	if (err)
		agent_recall_free(out);
	return err;
}

teeliza_err agent_store_ensure_connection_recall(agent_store *s, agent_recall *out, const char *agent_id,
                                                 const char *agent_name, const char *user_id, const char *room_id,
                                                 const char *user_name, const char *user_screen_name,
                                                 const char *source, const agent_memory *m,
                                                 const agent_memory_query *q)
{
	teeliza_err err;

	assert(s != NULL && out != NULL && q != NULL && q->room_id != NULL);
	assert(m == NULL || (m->content != NULL && (m->embedding != NULL || m->embedding_len == 0)));
	memset(out, 0, sizeof(*out));
	/* the write and the read in one call when the back-end can (one round trip), else one after the other */
	err = agent_store_connection(s, agent_id, agent_name, user_id, room_id, user_name, user_screen_name, source, m,
	                             s->ops->ensure_connection_recall != NULL ? out : NULL, q);
	if (err == TEELIZA_OK && s->ops->ensure_connection_recall == NULL)
		err = agent_store_recall(s, out, q);
	if (err)
		agent_recall_free(out);
	return err;
}
