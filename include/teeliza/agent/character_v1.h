/*
 * elizaOS 1.x ("v1") character files, beside Eliza 0.1.x ones.
 *
 * The format of a character is decided per document
 * (agent_character_detect_format): a JSON object with none of the keys
 * 0.1.x requires and 1.x forbids (`modelProvider`, `clients`, `lore`) and
 * with some key besides `name` and `id` is a v1 character; anything else
 * keeps the 0.1.x rules and messages. agent_character_load,
 * agent_character_load_file, agent_character_from_json and
 * agent_character_from_text (character.h) detect; the functions below take
 * v1 whatever the document looks like (the v1 REST API: POST /api/agents).
 *
 * A v1 character is validated against @elizaos/core 1.7.2's
 * `characterSchema` (zod 4), problems worded and ordered as zod does, then
 * read as elizaOS's server reads it (jsonToCharacter): zod's output (unknown
 * keys of message examples, knowledge objects and `style` dropped), `id`
 * defaulting to stringToUuid(name) (a name that is itself a UUID is the id
 * as written), env variables CHARACTER.<NAME>.<KEY>, CHARACTER.<ID>.<KEY>
 * and (files only) <NAME>_<KEY> merged into top-level `secrets`, env
 * winning. It is then mapped onto the same character the 0.1.x accessors
 * of character.h read, so prompts, the model and the TEE plugin work
 * unchanged; docs/CHARACTERS.md lists what maps to what. The v1 document
 * itself is kept for agent_character_to_v1_json.
 */
#ifndef TEELIZA_AGENT_CHARACTER_V1_H
#define TEELIZA_AGENT_CHARACTER_V1_H

#include <jansson.h>

#include "teeliza/agent/character.h"

#ifdef __cplusplus
extern "C" {
#endif

typedef enum agent_character_format {
	AGENT_CHARACTER_FORMAT_0_1 = 0, /* Eliza 0.1.x */
	AGENT_CHARACTER_FORMAT_V1 = 1,  /* elizaOS 1.x */
} agent_character_format;

/* Start of elizaOS 1.x's error (jsonToCharacter, POST /api/agents): then the lines joined by "; ". */
#define AGENT_CHARACTER_V1_INVALID_PREFIX "Character validation failed: "

/* Which rules a parsed document is read with (see the top of this file). */
agent_character_format agent_character_detect_format(const json_t *root);

/* Does root carry a key only Eliza 0.1.x has (`modelProvider`, `clients`, `lore`; 1.x refuses them)? */
bool agent_character_has_0_1_keys(const json_t *root);

/* The format a loaded character was read in. */
agent_character_format agent_character_format_of(const agent_character *c);

/*
 * Check root against elizaOS 1.x's characterSchema.
 * TEELIZA_OK, or TEELIZA_ERR_INVALID when there is a problem; then
 * teeliza_errmsg() holds AGENT_CHARACTER_V1_INVALID_PREFIX and the lines.
 * When issues is not NULL it is initialised here (always; caller frees) and
 * receives zod's `path: message` lines joined by '\n' (no trailing newline;
 * "" when valid), e.g. "name: Invalid input: expected string, received
 * undefined\nbio: Invalid input". A root-level issue has an empty path
 * (": Unrecognized key: \"lore\""). TEELIZA_ERR_NOMEM if the report
 * cannot be built.
 */
teeliza_err agent_character_v1_validate(teeliza_buf *issues, const json_t *root) TEELIZA_WARN_UNUSED;

/*
 * Load root as a v1 character whatever it looks like (root is copied; the
 * caller keeps its reference). source_path NULL says it does not come from
 * a file (a REST body): then only the CHARACTER.* env variables are merged,
 * never <NAME>_<KEY>, which a name chosen over the network could aim at any
 * variable. When report is not NULL it is initialised here (caller frees)
 * and on failure holds the whole error; for a schema failure exactly
 * elizaOS's: "Character validation failed: <line>; <line>" (the text
 * POST /api/agents answers with 400 CREATE_ERROR). Errors:
 * TEELIZA_ERR_INVALID, TEELIZA_ERR_NOMEM.
 */
teeliza_err agent_character_v1_from_json(agent_character **out, teeliza_buf *report, const json_t *root,
                                         const char *source_path) TEELIZA_WARN_UNUSED;

/* Same from JSON text; text that is not JSON is TEELIZA_ERR_PARSE ("invalid JSON at line L column C: ..."). */
teeliza_err agent_character_v1_from_text(agent_character **out, teeliza_buf *report, const char *text, size_t len,
                                         const char *source_path) TEELIZA_WARN_UNUSED;

/*
 * The character in v1 shape, as GET /api/agents/:id shows it (new
 * reference, caller json_decref()s; NULL on allocation failure). A v1
 * character comes back as it was read (zod's output, `id` filled in, env
 * secrets merged); a 0.1.x one is converted: examples' `user` becomes
 * `name`, `action` becomes `actions`, plugin objects, `lore`, `clients`,
 * `modelProvider` and other 0.1.x-only fields are left out, so the result
 * passes agent_character_v1_validate. Without with_secrets, `secrets` and
 * `settings.secrets` are removed.
 */
json_t *agent_character_to_v1_json(const agent_character *c, bool with_secrets);

/*
 * v1 document -> the 0.1.x-shaped JSON teeliza runs on, with no env
 * variable merged (new reference in *out). For a caller that must tell what
 * a posted character brought itself (the model's `posted` check reads
 * `settings.secrets`/`settings`): pass it this, not the raw v1 body.
 * root must have passed agent_character_v1_validate.
 */
teeliza_err agent_character_v1_to_internal(json_t **out, const json_t *root) TEELIZA_WARN_UNUSED;

/*
 * What loading said about the character's plugins, one line, for the log:
 * which plugin picked the model provider, which were ignored and why.
 * NULL for a 0.1.x character or a v1 one without plugins. Valid as long as c.
 */
const char *agent_character_plugin_note(const agent_character *c);

#ifdef __cplusplus
}
#endif
#endif
