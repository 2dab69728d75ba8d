/*
 * Loading characters the way Eliza's agent start-up does: path lookup,
 * JSON parse, validation, env secrets, then `extends` parents merged in.
 */
#include "teeliza/agent_character.h"
#include "agent/character_internal.h"

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

static teeliza_err build(json_t **result, teeliza_buf *report, const json_t *root,
                         const char *source_path, int depth);

/* Read and parse one file; Eliza treats a missing or empty file alike. */
static teeliza_err read_json(json_t **out, teeliza_buf *report, const char *path)
{
	teeliza_buf text;
	json_error_t jerr;
	teeliza_err err;

	*out = NULL;
	err = teeliza_read_file(&text, path, AGENT_CHARACTER_MAX_FILE);
	if (err == TEELIZA_OK && text.len == 0) {
		teeliza_buf_free(&text);
		err = TEELIZA_ERR_NOT_FOUND;
	}
	if (err == TEELIZA_ERR_NOT_FOUND) {
		report_set(report, "Character file not found: ", path, NULL);
		return teeliza_set_error(err, "Character file not found: %s", path);
	}
	if (err) {
		report_set(report, teeliza_errmsg(), NULL, NULL);
		return err;
	}
	*out = json_loadb((const char *)text.data, text.len, JSON_DECODE_ANY, &jerr);
	teeliza_buf_free(&text);
	if (*out == NULL) {
		teeliza_set_error(TEELIZA_ERR_PARSE, "%s: invalid JSON at line %d column %d: %s", path,
		                  jerr.line, jerr.column, jerr.text);
		report_set(report, teeliza_errmsg(), NULL, NULL);
		return TEELIZA_ERR_PARSE;
	}
	return TEELIZA_OK;
}

static teeliza_err merge_parents(json_t **character, teeliza_buf *report, const char *source_path, int depth)
{
	json_t *list = json_incref(json_object_get(*character, "extends"));
	char *dir = path_dirname(source_path != NULL ? source_path : "./x");
	size_t i;
	json_t *ext;
	teeliza_err err = TEELIZA_OK;

	if (dir == NULL) {
		json_decref(list);
		return teeliza_set_error(TEELIZA_ERR_NOMEM, "out of memory resolving extends");
	}
	/* The list as it was before merging: parents do not add to it. */
	json_array_foreach(list, i, ext) {
		const char *rel = json_string_value(ext);
		const char *dirs[1] = { dir };
		char *parent_path;
		json_t *parent_raw = NULL, *parent = NULL, *merged = NULL;

		if (depth >= AGENT_CHARACTER_MAX_EXTENDS) {
			err = teeliza_set_error(TEELIZA_ERR_INVALID, "extends nested deeper than %d levels (a cycle?) at %s",
			                        AGENT_CHARACTER_MAX_EXTENDS, rel);
			report_set(report, teeliza_errmsg(), NULL, NULL);
			break;
		}
		parent_path = path_resolve(dirs, 1, rel, strlen(rel));
		if (parent_path == NULL) {
			err = teeliza_set_error(TEELIZA_ERR_INVALID, "cannot resolve extends path %s", rel);
			report_set(report, teeliza_errmsg(), NULL, NULL);
			break;
		}
		err = read_json(&parent_raw, report, parent_path);
		if (err == TEELIZA_OK)
			err = build(&parent, report, parent_raw, parent_path, depth + 1);
		if (err == TEELIZA_OK)
			err = agent_character_merge(&merged, parent, *character);
		json_decref(parent_raw);
		json_decref(parent);
		free(parent_path);
		if (err) {
			if (err == TEELIZA_ERR_NOMEM)
				report_set(report, teeliza_errmsg(), NULL, NULL);
			break;
		}
		json_decref(*character);
		*character = merged;
	}
	free(dir);
	json_decref(list);
	return err;
}

/* validate -> copy -> env secrets -> extends; *result is a new reference. */
static teeliza_err build(json_t **result, teeliza_buf *report, const json_t *root,
                         const char *source_path, int depth)
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
	c = json_deep_copy(root);
	if (c == NULL) {
		report_set(report, "out of memory", NULL, NULL);
		return teeliza_set_error(TEELIZA_ERR_NOMEM, "out of memory copying a character");
	}
	err = agent_character_env_secrets(c);
	if (err == TEELIZA_OK && json_object_get(c, "extends") != NULL)
		err = merge_parents(&c, report, source_path, depth);
	if (err) {
		json_decref(c);
		return err;
	}
	*result = c;
	return TEELIZA_OK;
}

teeliza_err agent_character_from_json(agent_character **out, teeliza_buf *report,
                                      const json_t *root, const char *source_path)
{
	json_t *c;
	teeliza_err err;

	assert(out != NULL && root != NULL);
	*out = NULL;
	report_init(report);
	err = build(&c, report, root, source_path, 0);
	if (err)
		return err;
	err = agent_character_wrap(out, c);
	if (err)
		report_set(report, teeliza_errmsg(), NULL, NULL);
	return err;
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
	teeliza_err err;

	assert(out != NULL && path != NULL);
	*out = NULL;
	report_init(report);
	err = read_json(&root, report, path);
	if (err)
		return err;
	err = agent_character_from_json(out, report, root, path);
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

		/* Eliza prints the caught Error with its "Error: " prefix */
		teeliza_buf_init(&msg, (size_t)16 << 20);
		if (teeliza_buf_printf(&msg, "Error parsing character from %s: Error: %s", hit,
		                       inner.data != NULL ? (const char *)inner.data : teeliza_errmsg()) != TEELIZA_OK)
			teeliza_buf_reset(&msg);
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
