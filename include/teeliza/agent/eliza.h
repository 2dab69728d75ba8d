/*
 * The embedded offline responder: the ELIZA technique (Weizenbaum, 1966)
 * with a script of our own, flavoured by an Eliza character.
 *
 * It answers when no model is configured, so that an agent without an API
 * key still talks instead of downloading an 8 GB model or failing to start.
 *
 * How a reply is made (see docs/MODELS.md for the script format):
 *  1. the input (at most AGENT_ELIZA_MAX_INPUT bytes are read) is split into
 *     words and clauses (. , ; : ! ? newline and "but" end a clause), words
 *     are lowercased and pre-substituted ("i'm" -> "i am", "dont" -> "don't");
 *  2. when the words closely match the user line of one of the character's
 *     messageExamples, the character's own answer from that example is used;
 *  3. otherwise the keywords found are tried from the highest rank down;
 *     each keyword has decomposition patterns (words, "*" for any run of
 *     words, "@class" or "a|b" for one word from a set); the first pattern
 *     that matches picks a reassembly, cycling through that pattern's
 *     reassemblies on each use, and the captured words are reflected
 *     (I <-> you, my <-> your, am <-> are, me -> you ...);
 *  4. a keyword with "memory" patterns (the "my" rule) also stores a remark
 *     about the topic; when no keyword matches, the oldest stored remark is
 *     used, and only when there is none the generic fallback lines are;
 *  5. questions about the agent itself ("who are you", "tell me about
 *     yourself", "what do you like") are answered from the character's
 *     name, bio, lore, adjectives and topics; a style line mentioning
 *     "lowercase" makes every reply lowercase.
 *
 * Everything random (which bio line, which topic, where each reassembly
 * cycle starts) comes from a per-responder PRNG seeded by the caller, so the
 * same seed and the same inputs give the same transcript.
 *
 * Replies are made without allocating: only the output buffer may grow
 * (reuse one buffer to avoid even that).
 */
#ifndef TEELIZA_AGENT_ELIZA_H
#define TEELIZA_AGENT_ELIZA_H

#include "teeliza/common/common.h"
#include "teeliza/agent/character.h"

#ifdef __cplusplus
extern "C" {
#endif

/* Bytes of input considered; the rest of a longer message is ignored. */
#define AGENT_ELIZA_MAX_INPUT 4096

/* Longest reply text in bytes (longer persona lines are cut at a UTF-8 boundary). */
#define AGENT_ELIZA_MAX_REPLY 2048

/*
 * An action the runtime offers, with the hints used to pick it offline.
 * Matching is on whole words, case-insensitive:
 *  - each keywords[] entry is a word or phrase ("wallet", "wallet address",
 *    "prove you run"); a word ending in '*' matches any word it starts
 *    ("attest*" matches "attested"), and a plural "s"/"es" on the input
 *    word is accepted; a matched phrase scores 2 per word;
 *  - the name and each simile are read as words split at '_'
 *    ("REMOTE_ATTESTATION" -> "remote attestation"); the whole sequence
 *    found in the input scores 3 per word.
 * The best score of at least 2 wins; ties go to the earlier action.
 */
typedef struct agent_action_hint {
	const char *name;              /* "REMOTE_ATTESTATION" */
	const char *const *similes;    /* NULL-terminated list, or NULL */
	const char *const *keywords;   /* NULL-terminated list, or NULL */
	const char *reply;             /* offline reply text when chosen, or NULL for the script's answer */
} agent_action_hint;

/* What the responder knows about the character (immutable, shareable between threads). */
typedef struct agent_eliza_persona agent_eliza_persona;

/* One conversation's responder: PRNG, reassembly cycles, memory. Not thread-safe. */
typedef struct agent_eliza agent_eliza;

/*
 * Build a persona from a character: name, bio, lore, adjectives, topics,
 * style, and an index of the messageExamples user lines. c may be NULL for
 * a plain persona named "Eliza". Strings are borrowed: c must outlive the
 * persona. Out: *out (NULL on failure; free with agent_eliza_persona_free).
 * Errors: TEELIZA_ERR_NOMEM.
 */
teeliza_err agent_eliza_persona_new(agent_eliza_persona **out, const agent_character *c) TEELIZA_WARN_UNUSED;

/* NULL-safe. */
void agent_eliza_persona_free(agent_eliza_persona *p);

/* The name the responder introduces itself with (valid as long as p). */
const char *agent_eliza_persona_name(const agent_eliza_persona *p);

/*
 * A responder for one conversation. p is borrowed and must outlive it.
 * Out: *out (NULL on failure; free with agent_eliza_free).
 * Errors: TEELIZA_ERR_NOMEM.
 */
teeliza_err agent_eliza_new(agent_eliza **out, const agent_eliza_persona *p, uint64_t seed) TEELIZA_WARN_UNUSED;

/* NULL-safe. */
void agent_eliza_free(agent_eliza *e);

/*
 * Answer one user message (len bytes of UTF-8; invalid bytes are tolerated
 * and never reach the output). Out: out_text, initialised by the caller, is
 * reset and receives the reply (NUL-terminated, never empty). Errors only
 * from growing out_text (TEELIZA_ERR_NOMEM, TEELIZA_ERR_TOO_LARGE), which is
 * then left empty.
 */
teeliza_err agent_eliza_respond(agent_eliza *e, teeliza_buf *out_text, const char *input, size_t len) TEELIZA_WARN_UNUSED;

/*
 * The model-shaped answer: out_json (caller-initialised) is reset and
 * receives {"user":<persona name>,"text":<reply>,"action":<action>}, valid
 * UTF-8 JSON. action is the actions[] entry agent_eliza_select_action picks
 * (its `reply` replacing the script's text when set), else the action of a
 * matching messageExamples answer when that action is offered, else "NONE".
 * actions may be NULL when n_actions is 0. Errors as agent_eliza_respond.
 */
teeliza_err agent_eliza_reply_json(agent_eliza *e, teeliza_buf *out_json, const char *input, size_t len,
                                   const agent_action_hint *actions, size_t n_actions) TEELIZA_WARN_UNUSED;

/*
 * Pick the action for a message from the hints (rules above).
 * Returns the index into actions, or -1 when none scores (the caller's "NONE").
 * Pure function; thread-safe.
 */
int agent_eliza_select_action(const agent_action_hint *actions, size_t n_actions, const char *input, size_t len);

/*
 * An opening line in which the responder introduces itself by name.
 * Out: out_text reset and filled. Errors as agent_eliza_respond.
 */
teeliza_err agent_eliza_greeting(agent_eliza *e, teeliza_buf *out_text) TEELIZA_WARN_UNUSED;

#ifdef __cplusplus
}
#endif
#endif
