/*
 * Eliza character files (`*.character.json`).
 *
 * A character is loaded exactly as Eliza's agent start-up loads one:
 *  1. path lookup (agent_character_load): the path as given, then relative
 *     to the cwd, cwd/agent/<path>, <exe dir>/<path>,
 *     <exe dir>/characters/<basename>, <exe dir>/../characters/<basename>,
 *     <exe dir>/../../characters/<basename>; first readable file wins;
 *  2. validation against Eliza's zod `CharacterSchema` (the 0.1.9 schema, a
 *     superset of 0.1.7's): one `path: message` line per problem, worded and
 *     ordered as zod words and orders them;
 *  3. env variables `CHARACTER.<ID_OR_NAME>.<KEY>` (id or name upper-cased,
 *     spaces turned into '_') merged into settings.secrets, values already
 *     in the file winning;
 *  4. `extends`: each listed parent (relative to the child's directory) is
 *     loaded the same way and merged under the child: objects merged key by
 *     key, arrays concatenated parent first, other values the child's.
 *     Only for a character read from a file: one that does not come from a
 *     file (a REST body) and has `extends` is refused, and nothing is opened.
 *     Parents are read safely (regular files only, never a blocking open,
 *     AGENT_CHARACTER_MAX_FILE each) within the caps below, and merged in
 *     time linear in their total size.
 *
 * The whole JSON is kept, so fields outside the schema (c3po's
 * `twitterSpaces`, `username`, `clientConfig.slack`, ...) survive and come
 * back from agent_character_to_json(). A loaded character is immutable and
 * may be shared between threads.
 */
#ifndef TEELIZA_AGENT_CHARACTER_H
#define TEELIZA_AGENT_CHARACTER_H

#include <jansson.h>

#include "teeliza/common/common.h"
#include "teeliza/agent/uuid.h"

#ifdef __cplusplus
extern "C" {
#endif

typedef struct agent_character agent_character;

/* First line of Eliza's validation error, followed by the issue lines. */
#define AGENT_CHARACTER_INVALID_PREFIX "Character configuration validation failed:\n"

/* Character files larger than this are refused. */
#define AGENT_CHARACTER_MAX_FILE ((size_t)8 << 20)

/* Nesting of `extends` deeper than this is refused. */
#define AGENT_CHARACTER_MAX_EXTENDS 16

/*
 * At most this many parents are loaded for one character, counting parents
 * of parents and each repeat (Eliza loads a parent listed twice twice).
 */
#define AGENT_CHARACTER_MAX_PARENTS 64

/* All parent files of one character together are at most this large. */
#define AGENT_CHARACTER_MAX_PARENT_BYTES ((size_t)16 << 20)

/*
 * The whole error for a character with `extends` that does not come from a
 * file (source_path NULL): the same whatever the paths, since they are never
 * looked at.
 */
#define AGENT_CHARACTER_EXTENDS_REFUSED \
	"extends is not accepted for a character that does not come from a file: parents are " \
	"merged only when the operator loads a character file (teeliza start --character). " \
	"Send the merged character instead."

/*
 * Check root against Eliza's CharacterSchema.
 * Returns TEELIZA_OK, or TEELIZA_ERR_INVALID when there is at least one
 * problem (teeliza_errmsg() then holds AGENT_CHARACTER_INVALID_PREFIX and
 * as many lines as fit). When issues is not NULL it is initialised here
 * (always; the caller frees it with teeliza_buf_free) and receives every
 * issue as `path: message`, lines joined by '\n' with no trailing newline,
 * e.g. "name: Required\nlore.1: Expected string, received boolean".
 * TEELIZA_ERR_NOMEM if the report cannot be built.
 */
teeliza_err agent_character_validate(teeliza_buf *issues, const json_t *root) TEELIZA_WARN_UNUSED;

/*
 * Build a character from parsed JSON (root is deep-copied; the caller keeps
 * its reference): validate, merge CHARACTER.<ID>.<KEY> env secrets, resolve
 * `extends` relative to the directory of source_path, the file root was
 * read from.
 * source_path NULL says root does not come from a file (a REST body, or
 * anything else from the network): then a character with `extends` is
 * refused with TEELIZA_ERR_INVALID and the report
 * AGENT_CHARACTER_EXTENDS_REFUSED, before any path is looked at.
 * On success *out is a new character (free with agent_character_free).
 * When report is not NULL it is initialised here (caller frees) and on
 * failure receives the full error text, for a validation failure exactly
 * Eliza's message: AGENT_CHARACTER_INVALID_PREFIX + the issue lines.
 * Errors: TEELIZA_ERR_INVALID (schema, `extends` refused, nested too deep
 * or a cycle), TEELIZA_ERR_NOT_FOUND / _IO / _PARSE (a parent: missing or
 * empty, not a regular file or unreadable, not JSON), TEELIZA_ERR_TOO_LARGE
 * (a parent file over AGENT_CHARACTER_MAX_FILE, more than
 * AGENT_CHARACTER_MAX_PARENTS parents, or AGENT_CHARACTER_MAX_PARENT_BYTES
 * of them), TEELIZA_ERR_NOMEM. Errors about parents name their paths: only
 * the operator's files get that far.
 */
teeliza_err agent_character_from_json(agent_character **out, teeliza_buf *report,
                                      const json_t *root, const char *source_path) TEELIZA_WARN_UNUSED;

/* Same from JSON text (len bytes). A JSON syntax error is TEELIZA_ERR_PARSE. */
teeliza_err agent_character_from_text(agent_character **out, teeliza_buf *report,
                                      const char *text, size_t len,
                                      const char *source_path) TEELIZA_WARN_UNUSED;

/*
 * Load the file at exactly this path (Eliza's loadCharacter, used for the
 * resolved path and for `extends` parents). A missing or empty file is
 * TEELIZA_ERR_NOT_FOUND with "Character file not found: <path>"; only a
 * regular file is read (symlinks followed; a FIFO or device is
 * TEELIZA_ERR_IO "<path> is not a regular file", never opened).
 */
teeliza_err agent_character_load_file(agent_character **out, teeliza_buf *report,
                                      const char *path) TEELIZA_WARN_UNUSED;

/*
 * Eliza's `--character=<path>` lookup (see the top of this file), then
 * agent_character_load_file on the first candidate that can be read.
 * exe_dir stands for Eliza's script directory: pass NULL to use the
 * directory of the running executable (/proc/self/exe).
 * When no candidate exists: TEELIZA_ERR_NOT_FOUND, and report holds
 * "Error loading character from <path>: File not found in any of the
 * expected locations\nTried the following paths:\n - <p1>\n - <p2>...".
 * When the file exists but is bad, report holds
 * "Error parsing character from <resolved>: <reason>".
 * If resolved is not NULL it receives a malloc'd copy of the path that was
 * loaded (NULL on failure); the caller frees it.
 */
teeliza_err agent_character_load(agent_character **out, teeliza_buf *report, char **resolved,
                                 const char *path, const char *exe_dir) TEELIZA_WARN_UNUSED;

/*
 * The bundled default character "Teeliza" (characters/teeliza.character.json,
 * compiled into the library), used when no character is given. It goes
 * through the same validation and env-secret merge as a file.
 */
teeliza_err agent_character_load_default(agent_character **out) TEELIZA_WARN_UNUSED;

/* The bundled default character's JSON text (static, NUL-terminated). */
const char *agent_character_default_json(void);

void agent_character_free(agent_character *c);

/*
 * Agent id: the character's `id` when it has one, else stringToUuid(name)
 * (Eliza's startAgent). 36 characters, valid as long as c is.
 */
const char *agent_character_id(const agent_character *c);

/* `name` (always present after validation). */
const char *agent_character_name(const agent_character *c);

/* `username`, falling back to `name` as Eliza's start-up does. */
const char *agent_character_username(const agent_character *c);

/* `system` prompt, or NULL when the character has none. */
const char *agent_character_system(const agent_character *c);

/* `modelProvider`, lowercase as in the file ("openai", "redpill", ...). */
const char *agent_character_model_provider(const agent_character *c);

/*
 * Any top-level string field by name ("modelEndpointOverride",
 * "imageModelProvider", "username", ...); NULL when absent or not a string.
 */
const char *agent_character_string(const agent_character *c, const char *field);

/* templates[name] (e.g. "messageHandlerTemplate"), or NULL. */
const char *agent_character_template(const agent_character *c, const char *name);

/* The string lists of a character. */
typedef enum agent_character_list {
	AGENT_CHAR_BIO,           /* a plain-string bio counts as one entry */
	AGENT_CHAR_LORE,
	AGENT_CHAR_POST_EXAMPLES,
	AGENT_CHAR_TOPICS,
	AGENT_CHAR_ADJECTIVES,
	AGENT_CHAR_STYLE_ALL,
	AGENT_CHAR_STYLE_CHAT,
	AGENT_CHAR_STYLE_POST,
	AGENT_CHAR_CLIENTS,
	AGENT_CHAR_PLUGINS,       /* entries that are plugin objects read as NULL */
	AGENT_CHAR_KNOWLEDGE,     /* entries that are {path}/{directory} objects read as NULL */
} agent_character_list;

/* Number of entries in a list; 0 when the field is absent. */
size_t agent_character_list_count(const agent_character *c, agent_character_list which);

/* Entry i of a list, or NULL when i is out of range or the entry is not a string. */
const char *agent_character_list_item(const agent_character *c, agent_character_list which, size_t i);

/* True when `bio` is a single string (Eliza then uses it whole instead of sampling). */
bool agent_character_bio_is_string(const agent_character *c);

/* One message of a `messageExamples` conversation. */
typedef struct agent_message_example {
	const char *user;       /* "{{user1}}" placeholders left as they are */
	const char *text;
	const char *action;     /* NULL when absent */
	const json_t *content;  /* the whole content object (borrowed) */
} agent_message_example;

/* Number of example conversations. */
size_t agent_character_example_count(const agent_character *c);

/* Number of messages in conversation conv (0 when out of range). */
size_t agent_character_example_length(const agent_character *c, size_t conv);

/*
 * Message i of conversation conv. Returns false (and zeroes *out) when out
 * of range. Pointers stay valid as long as c.
 */
bool agent_character_example(agent_message_example *out, const agent_character *c, size_t conv, size_t i);

/* `settings` object (borrowed), or NULL when absent. */
const json_t *agent_character_settings(const agent_character *c);

/* settings.secrets[key] when it is a non-empty string, else NULL. */
const char *agent_character_secret(const agent_character *c, const char *key);

/*
 * Eliza's runtime.getSetting(key): settings.secrets[key], else
 * settings[key], else the process environment, each only when a non-empty
 * string; NULL when none has it. (Eliza would return a non-string
 * settings[key] as is; here such values are skipped.)
 */
const char *agent_character_get_setting(const agent_character *c, const char *key);

/* The whole character JSON after env merge and `extends` (borrowed). */
const json_t *agent_character_json(const agent_character *c);

/*
 * A deep copy of the character for API responses (new reference, caller
 * json_decref()s). Without with_secrets, settings.secrets is removed, as
 * Eliza 0.1.9's GET /agents/:agentId does. NULL on allocation failure.
 */
json_t *agent_character_to_json(const agent_character *c, bool with_secrets);

#ifdef __cplusplus
}
#endif
#endif
