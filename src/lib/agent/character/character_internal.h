/* Shared between the character files of src/lib/agent; not public. */
#ifndef TEELIZA_AGENT_CHARACTER_INTERNAL_H
#define TEELIZA_AGENT_CHARACTER_INTERNAL_H

#include <jansson.h>
#include <sys/types.h>

#include "teeliza/agent/character.h"

struct agent_character {
	json_t *root;                 /* owned; validated, env-merged, extended (0.1.x shape) */
	char id[AGENT_UUID_BUFSZ];    /* `id`, or stringToUuid(name) */
	/* v1 characters only (character_v1*.c); all NULL / -1 for 0.1.x */
	json_t *v1;                   /* owned; the v1 document as read (zod output, id, env secrets) */
	int model_plugin;             /* index in the v1 plugin table that picked the provider, or -1 */
	char *plugin_note;            /* the log line about plugins, or NULL */
	char *ollama_url;             /* OLLAMA_API_ENDPOINT made an OpenAI-compatible base, or NULL */
};

/* The bundled character (character_default_json.c, generated). */
extern const char agent_default_character_json[];

/* Longest text agent_js_number writes, NUL included. */
#define AGENT_JS_NUMBER_BUFSZ 40

/* x formatted as JavaScript's String(x) formats a number ("7", "1.5", "1e+21", "1e-7"). */
void agent_js_number(char out[AGENT_JS_NUMBER_BUFSZ], double x);

/*
 * Merge env vars CHARACTER.<ID_OR_NAME>.<KEY> into root.settings.secrets,
 * values already in root winning. root must have passed validation.
 */
teeliza_err agent_character_env_secrets(json_t *root) TEELIZA_WARN_UNUSED;

/*
 * Eliza's `extends` fold in one pass (character_merge.c): with layers[0] the
 * child and layers[1..n-1] its parents in `extends` order, *out is
 *   mergeCharacters(layers[n-1], ... mergeCharacters(layers[1], layers[0]))
 * where mergeCharacters merges objects key by key (the base's keys first),
 * concatenates arrays base first (a lone non-array value counts as one
 * element, null as none) and otherwise keeps the child's value when it has
 * the key. Linear in the total size. *out may share values with the layers
 * (references, not copies): neither may be changed afterwards.
 */
teeliza_err agent_character_merge(json_t **out, json_t *const *layers, size_t n) TEELIZA_WARN_UNUSED;

/* A file's identity (device and inode), to tell when `extends` comes back to a file. */
typedef struct agent_file_id {
	dev_t dev;
	ino_t ino;
	bool known;
} agent_file_id;

/*
 * Read a character file (at most max bytes) into out, whoever named the path
 * (character_file.c): only a regular file is opened (symlinks followed),
 * never blocking (a FIFO or device is refused, not opened). *id receives the
 * file's identity. Errors, each naming path: TEELIZA_ERR_NOT_FOUND
 * "Character file not found: <path>" for a missing or empty file (Eliza's
 * words); TEELIZA_ERR_IO "<path> is not a regular file" or a read error;
 * TEELIZA_ERR_TOO_LARGE "<path> is larger than <max> bytes".
 */
teeliza_err agent_character_read_file(teeliza_buf *out, agent_file_id *id, const char *path,
                                      size_t max) TEELIZA_WARN_UNUSED;

/* Wrap a finished JSON (reference stolen, also on failure) as a character. */
teeliza_err agent_character_wrap(agent_character **out, json_t *root) TEELIZA_WARN_UNUSED;

/*
 * The keys of obj in JavaScript property order (array-index keys first,
 * ascending, then the others as written): a malloc'd array of n borrowed
 * keys (caller frees the array only), NULL when out of memory
 * (character_js_keys.c).
 */
const char **character_js_keys(const json_t *obj, size_t *n);

#endif
