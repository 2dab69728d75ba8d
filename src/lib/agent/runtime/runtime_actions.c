/*
 * Actions: Eliza's processActions name matching and the bootstrap actions
 * NONE, IGNORE and CONTINUE.
 */
#include "agent/runtime/runtime_internal.h"

#include <assert.h>
#include <string.h>

/* Longest action name or simile we normalise; longer ones never match. */
#define ACTION_NAME_MAX 128

/*
 * Eliza: name.toLowerCase().replace("_", ""): ASCII lowercase (action names
 * are ASCII identifiers) and only the FIRST underscore removed.
 */
static bool normalise(char out[ACTION_NAME_MAX], const char *name)
{
	size_t i, o = 0;
	bool dropped = false;

	for (i = 0; name[i] != 0; i++) {
		char ch = name[i];

		if (ch == '_' && !dropped) {
			dropped = true;
			continue;
		}
		if (o + 1 >= ACTION_NAME_MAX)
			return false;
		if (ch >= 'A' && ch <= 'Z')
			ch = (char)(ch - 'A' + 'a');
		out[o++] = ch;
	}
	out[o] = 0;
	return true;
}

/* a.includes(b) || b.includes(a) */
static bool either_contains(const char *a, const char *b)
{
	return strstr(a, b) != NULL || strstr(b, a) != NULL;
}

int agent_action_match(const agent_action *actions, size_t n, const char *name)
{
	char want[ACTION_NAME_MAX], have[ACTION_NAME_MAX];
	size_t i, j;

	assert(actions != NULL || n == 0);
	/* Eliza skips a response whose action is missing or empty. */
	if (name == NULL || name[0] == 0 || !normalise(want, name))
		return -1;
	for (i = 0; i < n; i++)
		if (normalise(have, actions[i].name) && either_contains(have, want))
			return (int)i;
	for (i = 0; i < n; i++) {
		if (actions[i].similes == NULL)
			continue;
		for (j = 0; actions[i].similes[j] != NULL; j++)
			if (normalise(have, actions[i].similes[j]) && either_contains(have, want))
				return (int)i;
	}
	return -1;
}

/* ---- bootstrap actions ---- */

static const char *const none_similes[] = {"NO_ACTION", "NO_RESPONSE", "NO_REACTION", "RESPONSE", "REPLY", "DEFAULT",
                                           NULL};
static const char *const none_examples[] = {
	"{{user1}}: Hey, how are you?\n{{agentName}}: Doing well, thanks. You? (NONE)",
	NULL,
};

const agent_action agent_action_none = {
	.name = "NONE",
	.similes = none_similes,
	.description = "Answer normally, with no further action. Use this by default.",
	.examples = none_examples,
};

static const char *const ignore_similes[] = {"STOP_TALKING", "STOP_CHATTING", "STOP_CONVERSATION", NULL};
static const char *const ignore_examples[] = {
	"{{user1}}: Go away, I'm done talking.\n{{agentName}}: (IGNORE)",
	NULL,
};

const agent_action agent_action_ignore = {
	.name = "IGNORE",
	.similes = ignore_similes,
	.description = "Stop answering this user: when they are rude, want to end the conversation, or the "
	               "conversation is over.",
	.examples = ignore_examples,
};

/*
 * CONTINUE: one more message from the agent, generated with its first reply
 * already in the conversation. Eliza lets it chain; here the follow-up can
 * never ask for another one, so a message costs at most two model calls.
 */
static teeliza_err continue_handler(json_t **callback, const agent_action_call *call, void *ctx)
{
	json_t *content = NULL;
	teeliza_err err;

	(void)ctx;
	*callback = NULL;
	err = agent_runtime_generate(&content, call->rt, call->room_id, NULL, call->text, NULL);
	if (err)
		return err;
	if (agent_action_match(&agent_action_continue, 1, json_string_value(json_object_get(content, "action"))) == 0)
		json_object_set_new(content, "action", json_string("NONE"));
	*callback = content;
	return TEELIZA_OK;
}

static const char *const continue_similes[] = {"ELABORATE", "KEEP_TALKING", NULL};
static const char *const continue_examples[] = {
	"{{user1}}: Tell me about the history of the printing press.\n"
	"{{agentName}}: It starts with Gutenberg around 1440, but the story goes back further. (CONTINUE)\n"
	"{{agentName}}: Movable type was already used in China and Korea centuries earlier. (NONE)",
	NULL,
};

const agent_action agent_action_continue = {
	.name = "CONTINUE",
	.similes = continue_similes,
	.description = "Add one more message right after this one, only when the answer needs a follow-up; "
	               "never when the user asked a simple question.",
	.examples = continue_examples,
	.handler = continue_handler,
};
