/*
 * Eliza's POST /:agentId/message: one message to an agent, named by id or
 * by name, as JSON, a form or multipart with one file; the answer is the
 * runtime's reply array (agent_runtime_message). With an Idempotency-Key
 * (or a messageId field) the request is claimed first and its answer kept
 * for retries on any replica (api_idempotency.c).
 */
#include "agent/api/api_route.h"

#include <stdio.h>
#include <string.h>

/* A body field as a string: strings as they are, numbers as JS prints them, anything else NULL. */
static const char *field_text(char *tmp, size_t tmp_len, const json_t *body, const char *name)
{
	const json_t *v = json_object_get(body, name);

	if (json_is_string(v))
		return json_string_value(v);
	if (json_is_integer(v)) {
		snprintf(tmp, tmp_len, "%lld", (long long)json_integer_value(v));
		return tmp;
	}
	if (json_is_real(v)) {
		snprintf(tmp, tmp_len, "%.17g", json_real_value(v));
		return tmp;
	}
	return NULL;
}

static void post_message(http_server_reply *reply, agent_api *api, const api_request *r)
{
	const char *agent_ref = r->param[0];
	char user_id[AGENT_UUID_BUFSZ], room_id[AGENT_UUID_BUFSZ], t1[32], t2[32], why[200], failed[512];
	const char *user, *room;
	agent_message_in in;
	api_reply_seal seal;
	api_idem idem;
	agent_runtime *rt;
	json_t *out = NULL, *attachments;
	const json_t *text;
	teeliza_err err;

	rt = agent_registry_find(api->registry, agent_ref, true);
	if (rt == NULL) {
		api_reply_text(reply, 404, "Agent not found");
		return;
	}
	rt = api_character_sync(api, rt); /* a character set on another replica */
	if (r->body == NULL) {
		agent_runtime_release(rt);
		api_reply_error(reply, r->body_status, r->body_error);
		return;
	}
	text = json_object_get(r->body, "text");
	if (text != NULL && !json_is_string(text) && !json_is_null(text)) {
		agent_runtime_release(rt);
		api_reply_error(reply, 400, "text must be a string");
		return;
	}
	attachments = api_message_attachments(why, sizeof(why), r);
	if (attachments == NULL) {
		agent_runtime_release(rt);
		api_reply_error(reply, strcmp(why, "out of memory") == 0 ? 500 : 400, why);
		return;
	}
	user = field_text(t1, sizeof(t1), r->body, "userId");
	room = field_text(t2, sizeof(t2), r->body, "roomId");
	err = agent_uuid_user(user_id, user);
	if (!err)
		err = agent_uuid_room(room_id, room, agent_ref);
	memset(&in, 0, sizeof(in));
	in.text = json_string_value(text);
	in.user_id = user_id;
	in.room_id = room_id;
	in.user_name = json_string_value(json_object_get(r->body, "userName"));
	in.name = json_string_value(json_object_get(r->body, "name"));
	in.source = "direct";
	in.attachments = attachments;
	memset(&idem, 0, sizeof(idem));
	if (err) {
		/* reported below */
	} else if (!api_idem_begin(&idem, reply, api, r, rt, user_id, room_id)) {
		/* answered: a stored reply, or why not (busy, another body, a bad key) */
		json_decref(attachments);
		agent_runtime_release(rt);
		return;
	} else if (idem.active) {
		in.message_id = idem.user_memory_id;
		in.reply_id = idem.reply_memory_id;
	}
	/* the reply's memories and its receipt in one store transaction */
	memset(&seal, 0, sizeof(seal));
	seal.api = api;
	seal.r = r;
	seal.room_id = room_id;
	in.seal = api_seal_reply;
	in.seal_ctx = &seal;
	agent_store_failure_reset(); /* which store call of this message failed, if one did */
	if (!err)
		err = agent_runtime_message(&out, rt, &in);
	if (err == TEELIZA_ERR_NOT_FOUND) {
		/* replaced while we held it (a character set here or on another replica): once more with the new one */
		agent_runtime *now = agent_registry_find(api->registry, agent_ref, true);

		if (now != NULL && now != rt && strcmp(agent_runtime_id(now), agent_runtime_id(rt)) == 0) {
			agent_runtime_release(rt);
			rt = now;
			teeliza_clear_error();
			err = agent_runtime_message(&out, rt, &in);
		} else {
			agent_runtime_release(now);
		}
	}
	json_decref(attachments);
	if (err == TEELIZA_ERR_NOT_FOUND) {
		api_reply_text(reply, 404, "Agent not found");
	} else if (err == TEELIZA_ERR_TOO_LARGE) {
		api_reply_error(reply, 413, teeliza_errmsg());
	} else if (err) {
		snprintf(failed, sizeof(failed), "%s", teeliza_errmsg()[0] ? teeliza_errmsg() : teeliza_strerror(err));
		if (err == TEELIZA_ERR_TIMEOUT && agent_store_failure() == err) {
			/*
			 * The database is busy (no pooled connection came free in time, or
			 * a lock wait ran out): the store said so, the model did not fail.
			 * Pinging it now would wait for the pool again, and might pass
			 * once it frees, turning a retryable moment into a 500.
			 */
			agent_log(api->log, "Agent %s: message failed, the database is busy: %s", agent_runtime_name(rt),
			          failed);
			api_reply_error(reply, 503, "The database is busy; retry shortly");
			reply->extra_headers[0] = "Retry-After: 1";
		} else if (agent_store_ping(agent_runtime_store(rt)) != TEELIZA_OK) {
			/* the database went away mid-request (not the model): every write is idempotent, a retry is safe */
			agent_log(api->log, "Agent %s: message failed, the database is unreachable: %s", agent_runtime_name(rt),
			          failed);
			api_reply_error(reply, 503, "The database is unreachable; retry shortly");
			reply->extra_headers[0] = "Retry-After: 1";
		} else {
			agent_log(api->log, "Agent %s: message failed: %s", agent_runtime_name(rt), failed);
			api_reply_json(reply, 500, json_pack("{s:s, s:s}", "error", "No response from generateMessageResponse",
			                                     "details", failed));
		}
	} else {
		api_send_sealed(reply, rt, &seal, out);
	}
	api_reply_seal_free(&seal);
	api_idem_end(&idem, reply, api, rt);
	agent_runtime_release(rt);
}

const api_route api_message_routes[] = {
	{API_POST, "/:agentId/message", API_TOKEN, post_message, API_ROUTE_DB},
	{0, NULL, API_OPEN, NULL, 0},
};
