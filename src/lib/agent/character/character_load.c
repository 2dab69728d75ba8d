/*
 * Loading characters the way Eliza's agent start-up does: path lookup,
 * JSON parse, validation, env secrets, then `extends` parents merged in.
 * `extends` is resolved only for a character read from a file (Eliza too
 * resolves it only in its file loader): a character that comes from the
 * network names paths on the server, so it is refused before any is looked
 * at. Parents are read by character_file.c (regular files only, never a
 * blocking open) within caps on their number, their total size and the
 * nesting depth, a file already on the way down being a cycle; all the
 * parents of one character are merged in one linear pass (character_merge.c).
 */
#include "teeliza/agent/character.h"
#include "agent/character/character_internal.h"
#include "teeliza/agent/character_v1.h"

#include <assert.h>
#include <errno.h>
#include <limits.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

static void report_init(teeliza_buf *report)
{
	if (report != NULL)
		teeliza_buf_init(report, (size_t)16 << 20);
}

/* Replace the report's text; allocation failure leaves it short, not wrong. */
static void report_set(teeliza_buf *report, const char *a, const char *b, const char *c)
{
	if (report == NULL)
		return;
	teeliza_buf_reset(report);
	if (teeliza_buf_append_str(report, a) != TEELIZA_OK ||
	    (b != NULL && teeliza_buf_append_str(report, b) != TEELIZA_OK) ||
	    (c != NULL && teeliza_buf_append_str(report, c) != TEELIZA_OK))
		teeliza_buf_reset(report);
}

/* Node's path.dirname: "a/b.json" -> "a", "b.json" -> ".", "/b" -> "/". Caller frees. */
static char *path_dirname(const char *path)
{
	size_t len = strlen(path);

	while (len > 1 && path[len - 1] == '/')
		len--;
	while (len > 0 && path[len - 1] != '/')
		len--;
	if (len == 0)
		return strdup(".");
	while (len > 1 && path[len - 1] == '/')
		len--;
	return strndup(path, len);
}

/* Node's path.basename (no extension stripping). Points into path. */
static const char *path_basename(const char *path, size_t *len)
{
	size_t end = strlen(path), start;

	while (end > 1 && path[end - 1] == '/')
		end--;
	start = end;
	while (start > 0 && path[start - 1] != '/')
		start--;
	*len = end - start;
	return path + start;
}

/* Append a '/'-separated piece to an absolute path in out, folding "." and "..". */
static teeliza_err push_segments(teeliza_buf *out, const char *piece, size_t len)
{
	size_t i = 0;

	while (i < len) {
		size_t j = i;

		while (j < len && piece[j] != '/')
			j++;
		if (j - i == 0 || (j - i == 1 && piece[i] == '.')) {
			/* empty or "." */
		} else if (j - i == 2 && piece[i] == '.' && piece[i + 1] == '.') {
			while (out->len > 0 && out->data[out->len - 1] != '/')
				out->len--;
			if (out->len > 1)
				out->len--; /* drop the '/' too, unless it is the root */
			out->data[out->len] = '\0';
		} else {
			if (out->len > 1 && teeliza_buf_append(out, "/", 1) != TEELIZA_OK)
				return TEELIZA_ERR_TOO_LARGE;
			if (teeliza_buf_append(out, piece + i, j - i) != TEELIZA_OK)
				return TEELIZA_ERR_TOO_LARGE;
		}
		i = j + 1;
	}
	return TEELIZA_OK;
}

/*
 * Node's path.resolve(parts...) with the final piece given by length
 * (for basenames). Returns a malloc'd absolute, normalised path or NULL.
 */
static char *path_resolve(const char *const *parts, size_t n, const char *last, size_t last_len)
{
	teeliza_buf out;
	char cwd[PATH_MAX];
	size_t first = 0;
	bool absolute = last_len > 0 && last[0] == '/';
	char *res;

	for (size_t i = n; !absolute && i > 0; i--) {
		if (parts[i - 1][0] == '/') {
			first = i - 1;
			absolute = true;
		}
	}
	teeliza_buf_init(&out, PATH_MAX);
	if (teeliza_buf_append(&out, "/", 1) != TEELIZA_OK)
		goto fail;
	if (!absolute) {
		if (getcwd(cwd, sizeof(cwd)) == NULL)
			goto fail;
		if (push_segments(&out, cwd, strlen(cwd)))
			goto fail;
	}
	if (last_len == 0 || last[0] != '/') {
		for (size_t i = first; i < n; i++) {
			if (push_segments(&out, parts[i], strlen(parts[i])))
				goto fail;
		}
	}
	if (push_segments(&out, last, last_len))
		goto fail;
	res = strdup((const char *)out.data);
	teeliza_buf_free(&out);
	return res;
fail:
	teeliza_buf_free(&out);
	return NULL;
}

/*
 * One character's load: the files on the way down (for cycles) and what its
 * parents have used of the caps so far.
 */
struct load_ctx {
	struct {
		agent_file_id id;
		const char *path;
	} chain[AGENT_CHARACTER_MAX_EXTENDS + 1]; /* the file being built at each depth */
	size_t depth;
	size_t parents;                           /* parents loaded, repeats included */
	size_t parent_bytes;                      /* bytes of them */
};

static teeliza_err build(json_t **result, teeliza_buf *report, struct load_ctx *ctx, const json_t *root,
                         const char *source_path);

/* On an error, the report says what teeliza_errmsg says. */
static teeliza_err fail(teeliza_buf *report, teeliza_err err)
{
	report_set(report, teeliza_errmsg(), NULL, NULL);
	return err;
}

/* Read and parse one file; max is its size cap. */
static teeliza_err read_json(json_t **out, agent_file_id *id, size_t *size, teeliza_buf *report,
                             const char *path, size_t max)
{
	teeliza_buf text;
	json_error_t jerr;
	teeliza_err err;

	*out = NULL;
	*size = 0;
	err = agent_character_read_file(&text, id, path, max);
	if (err == TEELIZA_ERR_NOT_FOUND) { /* whole, however long the path */
		report_set(report, "Character file not found: ", path, NULL);
		return err;
	}
	if (err)
		return fail(report, err);
	*size = text.len;
	*out = json_loadb((const char *)text.data, text.len, JSON_DECODE_ANY, &jerr);
	teeliza_buf_free(&text);
	if (*out == NULL) {
		teeliza_set_error(TEELIZA_ERR_PARSE, "%s: invalid JSON at line %d column %d: %s", path,
		                  jerr.line, jerr.column, jerr.text);
		return fail(report, TEELIZA_ERR_PARSE);
	}
	return TEELIZA_OK;
}

/* Read, parse and build the parent at path into *out, counting it against the caps. */
static teeliza_err load_parent(json_t **out, teeliza_buf *report, struct load_ctx *ctx, const char *path)
{
	size_t left = AGENT_CHARACTER_MAX_PARENT_BYTES - ctx->parent_bytes, size;
	size_t max = left < AGENT_CHARACTER_MAX_FILE ? left : AGENT_CHARACTER_MAX_FILE;
	agent_file_id id;
	json_t *raw;
	teeliza_err err;

	*out = NULL;
	ctx->parents++;
	err = read_json(&raw, &id, &size, report, path, max);
	if (err == TEELIZA_ERR_TOO_LARGE && max < AGENT_CHARACTER_MAX_FILE) {
		teeliza_set_error(err, "%s: the parents of one character may not exceed %zu bytes together", path,
		                  AGENT_CHARACTER_MAX_PARENT_BYTES);
		return fail(report, err);
	}
	if (err)
		return err;
	ctx->parent_bytes += size;
	for (size_t i = 0; i <= ctx->depth; i++) {
		if (ctx->chain[i].id.known && ctx->chain[i].id.dev == id.dev && ctx->chain[i].id.ino == id.ino) {
			json_decref(raw);
			teeliza_set_error(TEELIZA_ERR_INVALID, "extends cycle: %s extends %s, which is already being "
			                  "loaded (a cycle would nest deeper than any limit)",
			                  ctx->chain[ctx->depth].path, path);
			return fail(report, TEELIZA_ERR_INVALID);
		}
	}
	ctx->depth++;
	ctx->chain[ctx->depth].id = id;
	ctx->chain[ctx->depth].path = path;
	err = build(out, report, ctx, raw, path);
	ctx->depth--;
	json_decref(raw);
	return err;
}

/* Load every parent `extends` names, then fold them all into *character at once. */
static teeliza_err merge_parents(json_t **character, teeliza_buf *report, struct load_ctx *ctx,
                                 const char *source_path)
{
	/* the list as it was before merging: parents do not add to it */
	json_t *list = json_object_get(*character, "extends");
	size_t n = json_array_size(list), loaded = 0;
	json_t **layers;
	char *dir;
	json_t *merged;
	teeliza_err err = TEELIZA_OK;

	assert(source_path != NULL); /* build refuses extends without a file */
	if (n == 0)
		return TEELIZA_OK;
	if (ctx->depth >= AGENT_CHARACTER_MAX_EXTENDS) {
		teeliza_set_error(TEELIZA_ERR_INVALID, "extends nested deeper than %d levels (a cycle?) at %s",
		                  AGENT_CHARACTER_MAX_EXTENDS, json_string_value(json_array_get(list, 0)));
		return fail(report, TEELIZA_ERR_INVALID);
	}
	if (n > AGENT_CHARACTER_MAX_PARENTS - ctx->parents) {
		teeliza_set_error(TEELIZA_ERR_TOO_LARGE, "%s: its %zu parents would pass the limit of %d parents for "
		                  "one character (parents of parents and repeats count; %zu loaded so far)",
		                  source_path, n, AGENT_CHARACTER_MAX_PARENTS, ctx->parents);
		return fail(report, TEELIZA_ERR_TOO_LARGE);
	}
	layers = calloc(n + 1, sizeof(*layers));
	dir = path_dirname(source_path);
	if (layers == NULL || dir == NULL) {
		free(layers);
		free(dir);
		teeliza_set_error(TEELIZA_ERR_NOMEM, "out of memory resolving extends");
		return fail(report, TEELIZA_ERR_NOMEM);
	}
	layers[0] = *character;
	for (loaded = 0; err == TEELIZA_OK && loaded < n; loaded++) {
		const char *rel = json_string_value(json_array_get(list, loaded));
		const char *dirs[1] = { dir };
		char *parent_path = path_resolve(dirs, 1, rel, strlen(rel));

		if (parent_path == NULL) {
			teeliza_set_error(TEELIZA_ERR_INVALID, "cannot resolve extends path %s", rel);
			err = fail(report, TEELIZA_ERR_INVALID);
			break;
		}
		err = load_parent(&layers[loaded + 1], report, ctx, parent_path);
		free(parent_path);
	}
	if (err == TEELIZA_OK) {
		err = agent_character_merge(&merged, layers, n + 1);
		if (err)
			fail(report, err);
		else {
			json_decref(*character);
			*character = merged;
		}
	}
	for (size_t i = 1; i <= n; i++)
		json_decref(layers[i]);
	free(layers);
	free(dir);
	return err;
}

/* validate -> copy -> env secrets -> extends; *result is a new reference. */
static teeliza_err build(json_t **result, teeliza_buf *report, struct load_ctx *ctx, const json_t *root,
                         const char *source_path)
{
	teeliza_buf issues;
	json_t *c;
	teeliza_err err;

	*result = NULL;
	err = agent_character_validate(&issues, root);
	if (err == TEELIZA_ERR_INVALID)
		report_set(report, AGENT_CHARACTER_INVALID_PREFIX, (const char *)issues.data, NULL);
	else if (err)
		report_set(report, teeliza_errmsg(), NULL, NULL);
	teeliza_buf_free(&issues);
	if (err)
		return err;
	/* not from a file (a REST body): its paths would be the server's files */
	if (source_path == NULL && json_object_get(root, "extends") != NULL) {
		teeliza_set_error(TEELIZA_ERR_INVALID, "%s", AGENT_CHARACTER_EXTENDS_REFUSED);
		return fail(report, TEELIZA_ERR_INVALID);
	}
	c = json_deep_copy(root);
	if (c == NULL) {
		report_set(report, "out of memory", NULL, NULL);
		return teeliza_set_error(TEELIZA_ERR_NOMEM, "out of memory copying a character");
	}
	err = agent_character_env_secrets(c);
	if (err == TEELIZA_OK && json_object_get(c, "extends") != NULL)
		err = merge_parents(&c, report, ctx, source_path);
	if (err) {
		json_decref(c);
		return err;
	}
	*result = c;
	return TEELIZA_OK;
}

/* from_json once the top file's identity is known (unknown: id->known false). */
static teeliza_err from_json_at(agent_character **out, teeliza_buf *report, const json_t *root,
                                const char *source_path, const agent_file_id *id)
{
	struct load_ctx ctx;
	json_t *c;
	teeliza_err err;

	/* decided per document: a v1 character is read with v1's rules and words (character_v1.c) */
	if (agent_character_detect_format(root) == AGENT_CHARACTER_FORMAT_V1)
		return agent_character_v1_from_json(out, report, root, source_path);
	memset(&ctx, 0, sizeof(ctx));
	ctx.chain[0].id = *id;
	ctx.chain[0].path = source_path;
	err = build(&c, report, &ctx, root, source_path);
	if (err)
		return err;
	err = agent_character_wrap(out, c);
	if (err)
		report_set(report, teeliza_errmsg(), NULL, NULL);
	return err;
}

teeliza_err agent_character_from_json(agent_character **out, teeliza_buf *report,
                                      const json_t *root, const char *source_path)
{
	agent_file_id id;
	struct stat st;

	assert(out != NULL && root != NULL);
	*out = NULL;
	report_init(report);
	memset(&id, 0, sizeof(id));
	/* stat never opens, so whatever source_path names, this cannot block */
	if (source_path != NULL && stat(source_path, &st) == 0) {
		id.dev = st.st_dev;
		id.ino = st.st_ino;
		id.known = true;
	}
	return from_json_at(out, report, root, source_path, &id);
}

teeliza_err agent_character_from_text(agent_character **out, teeliza_buf *report,
                                      const char *text, size_t len, const char *source_path)
{
	json_t *root;
	json_error_t jerr;
	teeliza_err err;

	assert(out != NULL && text != NULL);
	*out = NULL;
	root = json_loadb(text, len, JSON_DECODE_ANY, &jerr);
	if (root == NULL) {
		report_init(report);
		teeliza_set_error(TEELIZA_ERR_PARSE, "invalid JSON at line %d column %d: %s",
		                  jerr.line, jerr.column, jerr.text);
		report_set(report, teeliza_errmsg(), NULL, NULL);
		return TEELIZA_ERR_PARSE;
	}
	err = agent_character_from_json(out, report, root, source_path);
	json_decref(root);
	return err;
}

teeliza_err agent_character_load_file(agent_character **out, teeliza_buf *report, const char *path)
{
	json_t *root;
	agent_file_id id;
	size_t size;
	teeliza_err err;

	assert(out != NULL && path != NULL);
	*out = NULL;
	report_init(report);
	err = read_json(&root, &id, &size, report, path, AGENT_CHARACTER_MAX_FILE);
	if (err)
		return err;
	err = from_json_at(out, report, root, path, &id);
	json_decref(root);
	return err;
}

/* Directory of the running executable, Eliza's __dirname. Caller frees. */
static char *exe_directory(void)
{
	char buf[PATH_MAX];
	ssize_t n = readlink("/proc/self/exe", buf, sizeof(buf) - 1);

	if (n <= 0)
		return NULL;
	buf[n] = '\0';
	return path_dirname(buf);
}

#define MAX_CANDIDATES 7

static size_t candidates(char *out[MAX_CANDIDATES], const char *path, const char *exe_dir)
{
	size_t blen, n = 0;
	const char *base = path_basename(path, &blen);
	const char *none[1] = { NULL };
	const char *agent_dir[1] = { "agent" };
	const char *exe_only[1] = { exe_dir };
	const char *exe_chars[2] = { exe_dir, "characters" };
	const char *exe_up[2] = { exe_dir, "../characters" };
	const char *exe_upup[2] = { exe_dir, "../../characters" };

	out[n++] = strdup(path);
	out[n++] = path_resolve(none, 0, path, strlen(path));
	out[n++] = path_resolve(agent_dir, 1, path, strlen(path));
	if (exe_dir != NULL) {
		out[n++] = path_resolve(exe_only, 1, path, strlen(path));
		out[n++] = path_resolve(exe_chars, 2, base, blen);
		out[n++] = path_resolve(exe_up, 2, base, blen);
		out[n++] = path_resolve(exe_upup, 2, base, blen);
	}
	return n;
}

teeliza_err agent_character_load(agent_character **out, teeliza_buf *report, char **resolved,
                                 const char *path, const char *exe_dir)
{
	char *cand[MAX_CANDIDATES] = { NULL };
	char *own_exe_dir = NULL;
	const char *hit = NULL;
	size_t n;
	teeliza_buf inner;
	teeliza_err err;

	assert(out != NULL && path != NULL);
	*out = NULL;
	if (resolved != NULL)
		*resolved = NULL;
	report_init(report);
	if (exe_dir == NULL)
		exe_dir = own_exe_dir = exe_directory();
	n = candidates(cand, path, exe_dir);
	for (size_t i = 0; i < n && hit == NULL; i++) {
		struct stat st;

		/* like readFileSync: a directory or unreadable file is a miss */
		if (cand[i] != NULL && stat(cand[i], &st) == 0 && !S_ISDIR(st.st_mode) && access(cand[i], R_OK) == 0)
			hit = cand[i];
	}
	if (hit == NULL) {
		if (report != NULL) {
			teeliza_buf_reset(report);
			if (teeliza_buf_printf(report, "Error loading character from %s: File not found in any of the "
			                       "expected locations\nTried the following paths:", path) != TEELIZA_OK)
				teeliza_buf_reset(report);
			for (size_t i = 0; i < n; i++) {
				if (cand[i] != NULL && teeliza_buf_printf(report, "\n - %s", cand[i]) != TEELIZA_OK)
					break;
			}
		}
		err = teeliza_set_error(TEELIZA_ERR_NOT_FOUND, "Error loading character from %s: File not found "
		                        "in any of the expected locations", path);
		goto done;
	}
	err = agent_character_load_file(out, &inner, hit);
	if (err) {
		teeliza_buf msg;

		teeliza_buf_init(&msg, (size_t)16 << 20);
		if (err == TEELIZA_ERR_INVALID && inner.data != NULL &&
		    strncmp((const char *)inner.data, AGENT_CHARACTER_V1_INVALID_PREFIX,
		            strlen(AGENT_CHARACTER_V1_INVALID_PREFIX)) == 0) {
			/* a v1 file: elizaOS 1.x's loader words (server loadCharacterTryPath) */
			if (teeliza_buf_printf(&msg, "Character file '%s' contains invalid character data. Failed to load "
			                       "character from %s: %s", hit, hit, (const char *)inner.data) != TEELIZA_OK)
				teeliza_buf_reset(&msg);
		} else if (teeliza_buf_printf(&msg, "Error parsing character from %s: Error: %s", hit,
		                              inner.data != NULL ? (const char *)inner.data : teeliza_errmsg()) !=
		           TEELIZA_OK) {
			/* Eliza prints the caught Error with its "Error: " prefix */
			teeliza_buf_reset(&msg);
		}
		teeliza_set_error(err, "%s", msg.data != NULL ? (const char *)msg.data : "");
		report_set(report, msg.data != NULL ? (const char *)msg.data : "", NULL, NULL);
		teeliza_buf_free(&msg);
		teeliza_buf_free(&inner);
		goto done;
	}
	teeliza_buf_free(&inner);
	if (resolved != NULL) {
		*resolved = strdup(hit);
		if (*resolved == NULL) {
			agent_character_free(*out);
			*out = NULL;
			err = teeliza_set_error(TEELIZA_ERR_NOMEM, "out of memory");
		}
	}
done:
	for (size_t i = 0; i < n; i++)
		free(cand[i]);
	free(own_exe_dir);
	return err;
}
