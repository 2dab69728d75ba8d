/*
 * The message pipeline (Eliza's direct client POST /:agentId/message):
 * connection → user memory → model (runtime_generate.c) → action → replies.
 */
#include "agent/runtime/runtime_internal.h"
#include "teeliza/common/metrics.h"

#include <assert.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* The message memory of rt's room for content. Out: m, and *text (free it), the JSON m->content points to. */
static teeliza_err message_memory(agent_memory *m, char **text, const agent_runtime *rt, const char *id,
                                  const char *user_id, const char *room_id, const json_t *content)
{
	*text = json_dumps(content, JSON_COMPACT | JSON_PRESERVE_ORDER);
	if (*text == NULL)
		return teeliza_set_error(TEELIZA_ERR_NOMEM, "out of memory");
	memset(m, 0, sizeof(*m));
	m->id = id;
	m->type = AGENT_MEMORY_MESSAGES;
	m->agent_id = rt->id;
	m->user_id = user_id;
	m->room_id = room_id;
	m->content = *text;
	m->unique = true;
	return TEELIZA_OK;
}

static teeliza_err store_memory(agent_runtime *rt, const char *id, const char *user_id, const char *room_id,
                                const json_t *content)
{
	agent_memory m;
	char *text;
	teeliza_err err;

	err = message_memory(&m, &text, rt, id, user_id, room_id, content);
	if (err)
		return err;
	err = agent_store_create_memory(rt->store, &m);
	free(text);
	return err;
}

teeliza_err agent_runtime_store_reply(agent_runtime *rt, const char *id, const char *room_id, const json_t *content)
{
	char fresh[AGENT_UUID_BUFSZ];
	teeliza_err err;

	if (id == NULL) {
		err = agent_uuid_random(fresh);
		if (err)
			return err;
		id = fresh;
	}
	return store_memory(rt, id, rt->id, room_id, content);
}

/* A message's reply memories, kept for agent_message_in.seal. */
typedef struct pending_replies {
	agent_memory m[2];                   /* the response, an action's callback */
	char *text[2];                       /* their content JSON */
	char id[2][AGENT_UUID_BUFSZ];
	size_t n;
} pending_replies;

/* Store content as a reply memory (id NULL: a new one) now, or keep it in p (not NULL) for the seal. */
static teeliza_err reply_memory(pending_replies *p, agent_runtime *rt, const char *id, const char *room_id,
                                const json_t *content)
{
	teeliza_err err = TEELIZA_OK;

	if (p == NULL)
		return agent_runtime_store_reply(rt, id, room_id, content);
	assert(p->n < 2);
	if (id == NULL)
		err = agent_uuid_random(p->id[p->n]);
	else
		snprintf(p->id[p->n], sizeof(p->id[p->n]), "%s", id);
	if (!err)
		err = message_memory(&p->m[p->n], &p->text[p->n], rt, p->id[p->n], rt->id, room_id, content);
	if (!err)
		p->n++;
	return err;
}

/* The seal stores p's memories with what goes with them; when it cannot, they are stored here as they are. */
static teeliza_err seal_replies(pending_replies *p, agent_runtime *rt, const agent_message_in *in, const json_t *out)
{
	teeliza_err err;

	if (p->n == 0)
		return TEELIZA_OK;
	if (in->seal(in->seal_ctx, rt, out, p->m, p->n) == TEELIZA_OK)
		return TEELIZA_OK;
	err = TEELIZA_OK;
	for (size_t i = 0; !err && i < p->n; i++)
		err = agent_store_create_memory(rt->store, &p->m[i]);
	return err;
}

/* A copy of content with inReplyTo set, for storing. */
static json_t *with_reply_to(const json_t *content, const char *message_id)
{
	json_t *copy = json_deep_copy(content);

	if (copy != NULL && json_object_set_new(copy, "inReplyTo", json_string(message_id)) != 0) {
		json_decref(copy);
		return NULL;
	}
	return copy;
}

/*
 * The action to run: the one the model named (Eliza's matching), unless the
 * model chose none and the user's words select an action that asks for
 * keyword triggering.
 */
static int choose_action(agent_runtime *rt, json_t *response, const char *text)
{
	const char *name = json_string_value(json_object_get(response, "action"));
	int idx = agent_action_match(rt->actions, rt->n_actions, name), sel;

	if (idx >= 0 && strcmp(rt->actions[idx].name, "NONE") != 0)
		return idx;
	sel = agent_eliza_select_action(rt->hints, rt->n_actions, text, strlen(text));
	if (sel >= 0 && (size_t)sel < rt->n_actions && rt->actions[sel].keyword_trigger) {
		json_object_set_new(response, "action", json_string(rt->actions[sel].name));
		return sel;
	}
	return idx;
}

static teeliza_err run_action(json_t **callback, agent_runtime *rt, const agent_action *act,
                              const agent_message_in *in, const char *message_id, const json_t *response)
{
	agent_action_call call;
	teeliza_err err;

	*callback = NULL;
	if (act->handler == NULL)
		return TEELIZA_OK;
	memset(&call, 0, sizeof(call));
	call.rt = rt;
	call.agent_id = rt->id;
	call.user_id = in->user_id;
	call.room_id = in->room_id;
	call.message_id = message_id;
	call.text = in->text;
	call.response = response;
	err = act->handler(callback, &call, act->ctx);
	if (err) {
		agent_log(rt->log, "Agent %s: action %s failed: %s", agent_runtime_name(rt), act->name,
		          teeliza_errmsg()[0] ? teeliza_errmsg() : teeliza_strerror(err));
		json_decref(*callback);
		*callback = NULL;
		return TEELIZA_OK; /* the reply still goes out, as in Eliza */
	}
	if (*callback != NULL && !json_is_object(*callback)) {
		json_decref(*callback);
		*callback = NULL;
	}
	if (*callback != NULL && !json_is_string(json_object_get(*callback, "user")))
		json_object_set_new(*callback, "user", json_string(agent_runtime_name(rt)));
	return TEELIZA_OK;
}

/*
 * Eliza's ensureConnection, then the user's message as a memory (when it
 * has text; id receives its id), stored in one transaction. recall (not
 * NULL, for a model that reads its prompt): the room's conversation, read
 * after that write in the same round trip (agent_store_ensure_connection_recall).
 */
static teeliza_err connect_and_remember(char id[AGENT_UUID_BUFSZ], agent_recall *recall, agent_runtime *rt,
                                        const agent_message_in *in, const char *sender)
{
	agent_memory_query q;
	const char *source = in->source != NULL ? in->source : "direct";
	json_t *content;
	agent_memory m;
	char *text;
	teeliza_err err;

	if (in->text == NULL || in->text[0] == 0)
		return agent_store_ensure_connection(rt->store, rt->id, agent_runtime_name(rt), in->user_id,
		                                     in->room_id, in->user_name, sender, source);
	/*
	 * Eliza's id is stringToUuid(Date.now() + "-" + userId), which collides
	 * (and so overwrites) when one user sends two messages in the same
	 * millisecond; a random id never loses a message, and a keyed request's
	 * id (in->message_id) is the same on every retry.
	 */
	if (in->message_id != NULL) {
		snprintf(id, AGENT_UUID_BUFSZ, "%s", in->message_id);
		err = TEELIZA_OK;
	} else {
		err = agent_uuid_random(id);
	}
	if (err)
		return err;
	content = json_pack("{s:s, s:o, s:s}", "text", in->text, "attachments",
	                    in->attachments != NULL ? json_deep_copy(in->attachments) : json_array(), "source", source);
	if (content == NULL) {
		/* the connection is still made, as when the text was stored apart */
		err = agent_store_ensure_connection(rt->store, rt->id, agent_runtime_name(rt), in->user_id,
		                                    in->room_id, in->user_name, sender, source);
		return err ? err : teeliza_set_error(TEELIZA_ERR_INVALID, "message text is not valid UTF-8");
	}
	err = message_memory(&m, &text, rt, id, in->user_id, in->room_id, content);
	json_decref(content);
	if (err)
		return err;
	if (recall != NULL) {
		agent_runtime_recall_query(&q, rt, in->room_id);
		err = agent_store_ensure_connection_recall(rt->store, recall, rt->id, agent_runtime_name(rt), in->user_id,
		                                           in->room_id, in->user_name, sender, source, &m, &q);
	} else {
		err = agent_store_ensure_connection_and_memory(rt->store, rt->id, agent_runtime_name(rt), in->user_id,
		                                               in->room_id, in->user_name, sender, source, &m);
	}
	free(text);
	return err;
}

teeliza_err agent_runtime_message(json_t **reply, agent_runtime *rt, const agent_message_in *in)
{
	char msg_id[AGENT_UUID_BUFSZ], reply_id[AGENT_UUID_BUFSZ], extra_id[AGENT_UUID_BUFSZ];
	const char *sender;
	json_t *response = NULL, *callback = NULL, *stored = NULL, *out = NULL;
	const agent_action *act = NULL;
	pending_replies pending, *keep = in->seal != NULL ? &pending : NULL;
	agent_recall recall = { 0 };
	bool with_text = in->text != NULL && in->text[0] != 0;
	teeliza_err err;
	int idx;

	assert(reply != NULL && rt != NULL && in != NULL && in->user_id != NULL && in->room_id != NULL);
	*reply = NULL;
	if (!agent_runtime_running(rt))
		return teeliza_set_error(TEELIZA_ERR_NOT_FOUND, "Agent not found");
	if (in->text != NULL && strlen(in->text) > AGENT_MAX_MESSAGE_TEXT)
		return teeliza_set_error(TEELIZA_ERR_TOO_LARGE, "message text longer than %zu bytes", AGENT_MAX_MESSAGE_TEXT);
	sender = in->name != NULL ? in->name : in->user_name;
	memset(&pending, 0, sizeof(pending));
	out = json_array();
	if (out == NULL)
		return teeliza_set_error(TEELIZA_ERR_NOMEM, "out of memory");
	/* the prompt's read rides with the message's write: one round trip to a database server, not two */
	err = connect_and_remember(msg_id, with_text && agent_runtime_reads_prompt(rt) ? &recall : NULL, rt, in, sender);
	if (err && !with_text) {
		json_decref(out);
		return err;
	}
	if (!with_text) {
		*reply = out; /* Eliza 0.1.9: no text, empty reply */
		return TEELIZA_OK;
	}
	teeliza_metrics_count_message();
	if (!err)
		err = agent_runtime_generate(&response, rt, in->room_id, sender != NULL ? sender : "User", in->text,
		                             agent_runtime_reads_prompt(rt) ? &recall : NULL);
	agent_recall_free(&recall);
	if (!err) {
		idx = choose_action(rt, response, in->text);
		act = idx >= 0 ? &rt->actions[idx] : NULL;
		/* Eliza: the reply's id is stringToUuid(messageId + "-" + agentId); a keyed request's is given. */
		if (in->reply_id != NULL)
			snprintf(reply_id, sizeof(reply_id), "%s", in->reply_id);
		else
			err = agent_uuid_join(reply_id, msg_id, rt->id);
	}
	if (!err && (act == NULL || !act->suppress_initial_message)) {
		stored = with_reply_to(response, msg_id);
		err = stored == NULL ? teeliza_set_error(TEELIZA_ERR_NOMEM, "out of memory")
		                     : reply_memory(keep, rt, reply_id, in->room_id, stored);
		json_decref(stored);
		stored = NULL;
		if (!err && json_array_append(out, response) != 0)
			err = teeliza_set_error(TEELIZA_ERR_NOMEM, "out of memory");
	}
	if (!err && act != NULL)
		err = run_action(&callback, rt, act, in, msg_id, response);
	if (!err && callback != NULL && in->message_id != NULL)
		err = agent_uuid_request_extra(extra_id, msg_id, 1);
	if (!err && callback != NULL) {
		stored = with_reply_to(callback, msg_id);
		err = stored == NULL ? teeliza_set_error(TEELIZA_ERR_NOMEM, "out of memory")
		                     : reply_memory(keep, rt, in->message_id != NULL ? extra_id : NULL, in->room_id,
		                                    stored);
		json_decref(stored);
		if (!err && json_array_append(out, callback) != 0)
			err = teeliza_set_error(TEELIZA_ERR_NOMEM, "out of memory");
	}
	json_decref(response);
	json_decref(callback);
	if (!err && keep != NULL)
		err = seal_replies(keep, rt, in, out);
	for (size_t i = 0; i < pending.n; i++)
		free(pending.text[i]);
	if (err) {
		teeliza_metrics_count_error(TEELIZA_METRIC_ERR_MESSAGE);
		json_decref(out);
		return err;
	}
	*reply = out;
	return TEELIZA_OK;
}
