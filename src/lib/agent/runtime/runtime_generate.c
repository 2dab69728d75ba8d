/*
 * One answer from the agent's model: the state composed and filled into
 * the message template (runtime_state.c), the model asked, its content
 * object made safe to send and store. Used by the message pipeline and by
 * the CONTINUE action.
 */
#include "agent/runtime/runtime_internal.h"

#include <assert.h>
#include <string.h>

#define PROMPT_MAX ((size_t)8 << 20)

/* Make the model's content safe to send and store: an object with string user, text and action. */
static teeliza_err normalise_content(json_t *content, agent_runtime *rt)
{
	json_t *text = json_object_get(content, "text"), *action = json_object_get(content, "action");
	int rc = 0;

	if (!json_is_string(json_object_get(content, "user")))
		rc |= json_object_set_new(content, "user", json_string(agent_runtime_name(rt)));
	if (text == NULL || json_is_null(text))
		rc |= json_object_set_new(content, "text", json_string(""));
	else if (!json_is_string(text))
		rc |= json_object_set_new(content, "text", json_stringn("", 0));
	if (action == NULL || json_is_null(action) || !json_is_string(action))
		rc |= json_object_set_new(content, "action", json_string("NONE"));
	return rc != 0 ? teeliza_set_error(TEELIZA_ERR_NOMEM, "out of memory") : TEELIZA_OK;
}

bool agent_runtime_reads_prompt(const agent_runtime *rt)
{
	return !rt->model.prompt_unused;
}

teeliza_err agent_runtime_generate(json_t **content, agent_runtime *rt, const char *room_id,
                                   const char *sender_name, const char *user_text, const agent_recall *recalled)
{
	agent_generate_request req;
	teeliza_buf prompt;
	const char *system;
	json_t *out = NULL;
	teeliza_err err;

	assert(content != NULL && rt != NULL && room_id != NULL);
	*content = NULL;
	teeliza_buf_init(&prompt, PROMPT_MAX);
	/*
	 * A model that never reads the prompt (the offline responder) gets "":
	 * composing the state (the room's memories, the actors' accounts, the
	 * sampled character text) and filling the template was ~30% of the
	 * server's CPU per message, all thrown away.
	 */
	err = rt->model.prompt_unused ? TEELIZA_OK
	                              : agent_runtime_compose_prompt_from(&prompt, rt, room_id, sender_name, recalled);
	if (err) {
		teeliza_buf_free(&prompt);
		return err;
	}
	system = agent_character_system(rt->character);
	if (system == NULL)
		system = agent_character_get_setting(rt->character, "SYSTEM_PROMPT");
	memset(&req, 0, sizeof(req));
	req.character = rt->character;
	req.agent_id = rt->id;
	req.room_id = room_id;
	req.system = system;
	req.prompt = prompt.data != NULL ? (const char *)prompt.data : "";
	req.user_text = user_text != NULL ? user_text : "";
	req.hints = rt->hints;
	req.n_hints = rt->n_actions;
	err = rt->model.generate(&out, rt->model.ctx, &req);
	teeliza_buf_free(&prompt);
	if (!err && !json_is_object(out))
		err = teeliza_set_error(TEELIZA_ERR_PROTOCOL, "the model's reply is not a JSON object");
	if (!err)
		err = normalise_content(out, rt);
	if (err) {
		json_decref(out);
		return err;
	}
	*content = out;
	return TEELIZA_OK;
}
