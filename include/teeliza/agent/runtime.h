/*
 * The agent runtime: what `teeliza start` runs for each character.
 *
 *  - agent_registry: the agents of one process (Eliza's DirectClient.agents),
 *    looked up by id or by name, started and stopped at run time; one store
 *    shared by all of them.
 *  - agent_runtime: one agent (Eliza's AgentRuntime): its character, its
 *    actions, its model, its plugins.
 *  - agent_runtime_message: Eliza's message pipeline for one incoming
 *    message: ensure the connection, store the user's message, compose the
 *    state, fill the message template, ask the model, pick and run the
 *    action, store the replies, return the JSON reply array.
 *  - agent_action: Eliza's actions (name, similes, description, handler,
 *    callback message), matched as Eliza's processActions matches them.
 *  - agent_plugin: the hooks of a plugin (Eliza's Plugin: per-agent state,
 *    actions, provider text). The TEE plugin (teeliza/agent/tee_plugin.h)
 *    is one; the runtime never names it: the registry's creator hands it in.
 *
 * Eliza's direct-client REST API over these is teeliza/agent/api.h.
 *
 * Thread safety: registry and runtimes may be used from any thread;
 * every message may run concurrently with every other. docs/AGENT.md is
 * the user-level reference.
 */
#ifndef TEELIZA_AGENT_RUNTIME_H
#define TEELIZA_AGENT_RUNTIME_H

#include <jansson.h>
#include <stdio.h>

#include "teeliza/common/common.h"
#include "teeliza/agent/character.h"
#include "teeliza/agent/eliza.h"
#include "teeliza/agent/store.h"
#include "teeliza/agent/uuid.h"
#include "teeliza/http/http.h"

#ifdef __cplusplus
extern "C" {
#endif

/* Messages of the room put into the prompt (Eliza's conversationLength). */
#define AGENT_CONVERSATION_LENGTH 32

/* Longest message text accepted (bytes); longer REST messages get 413. */
#define AGENT_MAX_MESSAGE_TEXT ((size_t)64 << 10)

/* Most actions one agent can hold. */
#define AGENT_MAX_ACTIONS 16

typedef struct agent_registry agent_registry;
typedef struct agent_runtime agent_runtime;

/* ------------------------------------------------------------------ */
/* Logging: one line per event on the log stream (stderr by default).  */

/*
 * Write one log line "<text>\n" to f (NULL: stderr) under a lock so that
 * lines of concurrent messages never interleave. The text is redacted
 * (registered secrets, secret-named environment values and PEM private
 * keys become "[redacted]") and escaped as teeliza/common/log.h says, a '\n' in it
 * included: whatever the arguments hold, this writes exactly one line. The
 * same line is kept for the dashboard's logs view.
 */
void agent_log(FILE *f, const char *fmt, ...) TEELIZA_PRINTF(2, 3);

/*
 * Write a block of lines (text split at '\n', each line redacted and
 * escaped like agent_log's) together, e.g. the TEE plugin's attestation
 * log. Only for text the program composed: a '\n' from outside would
 * start a line of its own here.
 */
void agent_log_lines(FILE *f, const char *text);

/* ------------------------------------------------------------------ */
/* Model                                                               */

/* What the runtime asks a model for: one reply to one composed prompt. */
typedef struct agent_generate_request {
	const agent_character *character;
	const char *agent_id;
	const char *room_id;
	const char *system;              /* system prompt (character `system` or SYSTEM_PROMPT), or NULL */
	const char *prompt;              /* the filled message template */
	const char *user_text;           /* the message being answered */
	const agent_action_hint *hints;  /* the actions offered, as hints for an offline model */
	size_t n_hints;
} agent_generate_request;

/*
 * A model: answer the request with Eliza's content object
 * {"user":…,"text":…,"action":…} (extra members allowed). Out: *content, a
 * new JSON object reference (caller decrefs), NULL on failure. Called
 * concurrently from several threads with the same ctx.
 */
typedef teeliza_err (*agent_generate_fn)(json_t **content, void *ctx, const agent_generate_request *req);

/* A model together with its state; free(ctx) is called when the agent goes away. */
typedef struct agent_model {
	agent_generate_fn generate;
	void *ctx;
	void (*free_ctx)(void *ctx);     /* NULL: nothing to free */
	char description[768];           /* for the start-up log, e.g. "offline responder (ELIZA)" */
	/*
	 * true: generate() never reads req->prompt (the offline responder
	 * answers user_text alone), so the runtime passes "" instead of
	 * composing the state and filling the template. false (the zeroed
	 * default): the prompt is built for every message.
	 */
	bool prompt_unused;
} agent_model;

/*
 * The model for a character (agent_llm_from_settings in agent_model.h: the
 * provider's OpenAI-compatible client when it has a key or URL, else the
 * built-in offline responder, which needs no network), wrapped so that its
 * text is parsed into a content object with bounded retries and a
 * plain-text fallback (agent_parse.h). posted: the character's JSON as a
 * network caller posted it, or NULL when the operator loaded it (an
 * operator's key then keeps to the operator's endpoints: agent_model.h).
 * Log lines go to log (NULL: stderr).
 * Out: *out (zeroed first; free with agent_model_free).
 * Errors: TEELIZA_ERR_CONFIG for unusable model settings (a posted
 * character steering an operator's key elsewhere included), TEELIZA_ERR_NOMEM.
 */
teeliza_err agent_model_for_character(agent_model *out, const agent_character *c, const json_t *posted,
                                      uint64_t seed, FILE *log) TEELIZA_WARN_UNUSED;

/* Release a model's state; NULL-safe, zeroes *m. */
void agent_model_free(agent_model *m);

/* ------------------------------------------------------------------ */
/* Actions                                                             */

/* What an action handler is given. Pointers are valid during the call only. */
typedef struct agent_action_call {
	agent_runtime *rt;
	const char *agent_id;
	const char *user_id;
	const char *room_id;
	const char *message_id;          /* id of the stored user message */
	const char *text;                /* the user's message text */
	const json_t *response;          /* the model's content object */
} agent_action_call;

/*
 * Run an action. Out: *callback, the content of the message the action
 * sends back ({"text":…,"action":…}), or NULL when it sends none. A handler
 * that cannot do its work should still answer with a callback saying so;
 * an error return is logged and the reply goes out without a callback.
 */
typedef teeliza_err (*agent_action_handler_fn)(json_t **callback, const agent_action_call *call, void *ctx);

typedef struct agent_action {
	const char *name;                /* "REMOTE_ATTESTATION" */
	const char *const *similes;      /* NULL-terminated, or NULL */
	const char *description;         /* shown to the model under "# Available Actions" */
	/*
	 * Example conversations for the prompt, NULL-terminated; each one string
	 * of lines "{{user1}}: …" / "{{agentName}}: … (NAME)" separated by '\n'.
	 */
	const char *const *examples;
	const char *const *keywords;     /* words that select it offline (agent_action_hint.keywords), or NULL */
	/* Only the callback is sent back (Eliza's suppressInitialMessage). */
	bool suppress_initial_message;
	/*
	 * When the user's own words select this action (its keywords, as the
	 * offline responder scores them) and the model chose no other action
	 * (NONE, nothing, or a name no action matches), the action runs anyway:
	 * the answer to "what's your wallet address?" comes from the action, not
	 * from whatever the model wrote.
	 */
	bool keyword_trigger;
	agent_action_handler_fn handler; /* NULL: nothing to do (NONE, IGNORE) */
	void *ctx;
} agent_action;

/*
 * Eliza's processActions lookup of a model's action name: the name is
 * lowercased and its first '_' dropped; the first action (in order) whose
 * normalised name contains it or is contained in it wins; failing that the
 * first action with such a simile. NULL or "" matches nothing.
 * Returns the index, or -1.
 */
int agent_action_match(const agent_action *actions, size_t n, const char *name);

/* The built-in actions every agent has (Eliza's bootstrap plugin): NONE, IGNORE, CONTINUE. */
extern const agent_action agent_action_none;
extern const agent_action agent_action_ignore;
extern const agent_action agent_action_continue;

/* ------------------------------------------------------------------ */
/* Plugins                                                             */

/* Most plugins one registry hands its agents. */
#define AGENT_MAX_PLUGINS 4

/* The agent a plugin starts for. Pointers are valid during start only, store and log while the agent lives. */
typedef struct agent_plugin_agent {
	const agent_character *character;
	const char *agent_id;
	agent_store *store;
	FILE *log;                       /* NULL: stderr */
} agent_plugin_agent;

/*
 * A plugin (Eliza's Plugin): state started with each agent, the actions
 * it adds and the text it provides for the prompt. The runtime knows a
 * plugin only through these hooks; whoever creates the registry hands the
 * plugins in (agent_registry_config.plugins), e.g. the TEE plugin
 * (teeliza/agent/tee_plugin.h).
 */
typedef struct agent_plugin {
	const char *name;                /* unique among a registry's plugins, e.g. "tee" */
	/* Appended to the agent's "started" log line as "; <note>" when the plugin is on for it; NULL: nothing. */
	const char *note;
	/*
	 * Start for one agent, after its model. Out: *state, or NULL (with
	 * TEELIZA_OK) when the plugin is off for this agent. An error stops the
	 * agent from starting.
	 */
	teeliza_err (*start)(void **state, void *ctx, const agent_plugin_agent *agent);
	/* Release a state start made, when the agent goes away. */
	void (*stop)(void *state);
	/*
	 * The plugin's actions, appended after the bootstrap ones. Out:
	 * actions[0..*n) (at most max); TEELIZA_ERR_TOO_LARGE when max is too
	 * small. NULL: none.
	 */
	teeliza_err (*actions)(agent_action *actions, size_t max, size_t *n, void *state);
	/*
	 * The provider's text for the prompt (Eliza's Provider.get): text is
	 * reset and filled, empty when there is nothing to say. Called for every
	 * composed prompt, so it must not wait on the network. NULL: none.
	 */
	teeliza_err (*provider)(teeliza_buf *text, void *state);
	void *ctx;                       /* handed to start; borrowed, must outlive the registry */
} agent_plugin;

/* ------------------------------------------------------------------ */
/* Registry and runtime                                                */

typedef struct agent_registry_config {
	agent_store *store;              /* borrowed; shared by every agent; required */
	FILE *log;                       /* NULL: stderr */
	/*
	 * When set, every agent uses this model (tests, embedding); else each
	 * picks its own with agent_model_for_character.
	 */
	agent_generate_fn generate;
	void *generate_ctx;
	uint64_t seed;                   /* prompt sampling and offline replies; 0: random */
	/*
	 * The plugins every agent starts, in this order (the array is copied;
	 * at most AGENT_MAX_PLUGINS, names unique), e.g. the TEE plugin
	 * (agent_tee_plugin). None: agents have the bootstrap actions only.
	 */
	const agent_plugin *plugins;
	size_t n_plugins;
} agent_registry_config;

/* Out: *r (free with agent_registry_free). Errors: TEELIZA_ERR_NOMEM. */
teeliza_err agent_registry_new(agent_registry **r, const agent_registry_config *cfg) TEELIZA_WARN_UNUSED;

/* Stop every agent and free (agents still referenced are freed when released). NULL-safe. */
void agent_registry_free(agent_registry *r);

/*
 * Base URL of the REST API for links in replies (attestation URLs), e.g.
 * "http://localhost:3000". Copied.
 */
teeliza_err agent_registry_set_public_url(agent_registry *r, const char *url) TEELIZA_WARN_UNUSED;

/*
 * Start an agent for character c (ownership of c passes to the registry,
 * also on failure): its model, then its plugins in the registry's order,
 * then its actions; an agent already registered under the same id is
 * stopped and replaced (Eliza's registerAgent). Out: *rt, a new reference
 * (release with agent_runtime_release), may be NULL when not wanted.
 * Errors from the model and plugin set-up (TEELIZA_ERR_CONFIG with the
 * reason).
 * For characters the operator loaded (files, the bundled one); a character
 * from the network goes through agent_registry_start_posted.
 */
teeliza_err agent_registry_start(agent_runtime **rt, agent_registry *r, agent_character *c) TEELIZA_WARN_UNUSED;

/*
 * The same for a character a network caller posted (POST
 * /agents/:id/set): posted is the JSON as received (borrowed, read during
 * the call). Its model may not send an operator's key to an endpoint the
 * operator did not configure for it (agent_model.h): such a character
 * fails with TEELIZA_ERR_CONFIG and starts nothing.
 */
teeliza_err agent_registry_start_posted(agent_runtime **rt, agent_registry *r, agent_character *c,
                                        const json_t *posted) TEELIZA_WARN_UNUSED;

/*
 * The agent with this id, else (when by_name) the first whose name equals
 * ref ignoring ASCII case. Returns a new reference or NULL.
 */
agent_runtime *agent_registry_find(agent_registry *r, const char *ref, bool by_name);

/* Stop and unregister the agent with this id; TEELIZA_ERR_NOT_FOUND when none. */
teeliza_err agent_registry_stop(agent_registry *r, const char *agent_id) TEELIZA_WARN_UNUSED;

/*
 * References to every running agent, in start order. Out: *list (malloc'd
 * array, release with agent_runtime_list_release) and *count.
 */
teeliza_err agent_registry_list(agent_runtime ***list, size_t *count, agent_registry *r) TEELIZA_WARN_UNUSED;
void agent_runtime_list_release(agent_runtime **list, size_t count);

/* Number of running agents. */
size_t agent_registry_count(agent_registry *r);

/* A new reference to rt. */
agent_runtime *agent_runtime_ref(agent_runtime *rt);
/* Drop a reference; the last one frees the agent. NULL-safe. */
void agent_runtime_release(agent_runtime *rt);

const char *agent_runtime_id(const agent_runtime *rt);
const char *agent_runtime_name(const agent_runtime *rt);
const agent_character *agent_runtime_character(const agent_runtime *rt);
agent_store *agent_runtime_store(const agent_runtime *rt);
/*
 * The state the plugin of this name started for the agent, or NULL (no
 * such plugin in the registry, or off for this agent).
 */
void *agent_runtime_plugin_state(const agent_runtime *rt, const char *name);
/* False once the agent was stopped (messages to it then fail with TEELIZA_ERR_NOT_FOUND). */
bool agent_runtime_running(const agent_runtime *rt);
/* The REST base URL the registry was given ("" when none), copied into out (NUL-terminated, cut to out_len). */
void agent_runtime_public_url(char *out, size_t out_len, const agent_runtime *rt);
/* The agent's actions in match order. */
const agent_action *agent_runtime_actions(const agent_runtime *rt, size_t *n);

/*
 * Stores a message's reply memories in the runtime's place, together with
 * what must be committed with them (the REST API: the reply's receipt, in
 * one transaction). Called once, after the replies are complete and before
 * agent_runtime_message returns, with the reply array as it will be
 * returned and the reply memories in order (n >= 1, each with an id; the
 * first is the reply that answers the message unless an action suppressed
 * it). It stores all of them or none; after an error the runtime stores
 * them itself, as without a seal.
 */
typedef teeliza_err (*agent_reply_seal_fn)(void *ctx, agent_runtime *rt, const json_t *reply,
                                           const agent_memory *memories, size_t n);

/* One incoming message. */
typedef struct agent_message_in {
	const char *text;                /* NULL or "": nothing is generated, the reply is [] */
	const char *user_id;             /* UUID (the REST API applies stringToUuid) */
	const char *room_id;             /* UUID */
	const char *user_name;           /* the account's username (REST userName), or NULL */
	const char *name;                /* the account's display name (REST name), or NULL */
	const char *source;              /* "direct" for the REST API and the terminal */
	const json_t *attachments;       /* Eliza's Media objects stored with the message (REST file part), or NULL: [] */
	agent_reply_seal_fn seal;        /* NULL: the runtime stores each reply memory as it is made */
	void *seal_ctx;
	/*
	 * A keyed request's memory ids (agent_uuid_request_ids), so that a retry
	 * on any replica writes the same rows; an action's answer then gets
	 * agent_uuid_request_extra(message_id, 1). NULL: a random message id and
	 * Eliza's reply id (stringToUuid(messageId + "-" + agentId)).
	 */
	const char *message_id;
	const char *reply_id;
} agent_message_in;

/*
 * Eliza's direct-client pipeline for one message (see the top of this
 * file). Out: *reply, a new JSON array: [response], [response, callback],
 * [callback] for actions that suppress the initial message, or [] for an
 * empty text. Errors: TEELIZA_ERR_NOT_FOUND when the agent was stopped,
 * TEELIZA_ERR_TOO_LARGE for a text over AGENT_MAX_MESSAGE_TEXT, store and
 * model errors.
 */
teeliza_err agent_runtime_message(json_t **reply, agent_runtime *rt, const agent_message_in *in) TEELIZA_WARN_UNUSED;

/*
 * Compose the prompt the model would get for a message already stored in
 * the room (the state of Eliza's composeState filled into the
 * messageHandlerTemplate, or the character's templates.messageHandlerTemplate).
 * Out: prompt (caller-initialised, reset and filled).
 */
teeliza_err agent_runtime_compose_prompt(teeliza_buf *prompt, agent_runtime *rt, const char *room_id,
                                         const char *sender_name, const char *user_text) TEELIZA_WARN_UNUSED;

/*
 * Eliza's composeContext: every {{key}} in template replaced by the string
 * member `key` of state (numbers printed), unknown keys by "". Out: out
 * (caller-initialised, reset and filled).
 */
teeliza_err agent_template_fill(teeliza_buf *out, const char *template_text, const json_t *state) TEELIZA_WARN_UNUSED;

/* The default message template (our wording, Eliza's keys and order). Static. */
const char *agent_message_template(void);

#ifdef __cplusplus
}
#endif
#endif
