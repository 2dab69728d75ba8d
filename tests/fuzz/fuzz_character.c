/*
 * Fuzz the character loader with character JSON, twice per input:
 *
 *  1. as a REST body (no source file): whatever the input, no file is
 *     looked at. A character with `extends` either fails validation or gets
 *     exactly AGENT_CHARACTER_EXTENDS_REFUSED; a loaded one has no
 *     `extends` and its API copy no secrets.
 *  2. as a file in a sandbox folder that LLVMFuzzerInitialize fills with
 *     parents: good ones (nested, a diamond, a fan-out, a symlink) and bad
 *     ones (invalid, a cycle, empty, not JSON, a FIFO, a directory).
 *     `extends` entries that could leave the folder (absolute, "..") are
 *     dropped first. Whenever the load succeeds, the result must be what
 *     Eliza's own fold gives, one parent at a time (a plain pairwise
 *     mergeCharacters written here, key order included) over the parents
 *     loaded one by one; and when every parent loads alone, the whole load
 *     may fail only on a cap (TEELIZA_ERR_TOO_LARGE).
 * A FIFO parent that blocked would show as a libFuzzer timeout.
 */
#include "fuzz.h"

#include "teeliza/agent/character.h"
#include "teeliza/agent/character_v1.h"
#include "teeliza/agent/uuid.h"

#include <jansson.h>
#include <limits.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

static char sandbox[64];
static char input_path[128];

/* Write text to sandbox/name. */
static void put(const char *name, const char *text)
{
	char path[256];
	FILE *f;

	snprintf(path, sizeof(path), "%s/%s", sandbox, name);
	f = fopen(path, "w");
	FUZZ_CHECK(f != NULL);
	FUZZ_CHECK(fputs(text, f) >= 0);
	FUZZ_CHECK(fclose(f) == 0);
}

/* A minimal valid character named name, with extra fields (",\"k\":v..." text) appended. */
#define CHARACTER(name, extra) \
	"{\"name\":\"" name "\",\"modelProvider\":\"openai\",\"bio\":\"" name " bio\",\"lore\":[\"" name "\"]," \
	"\"messageExamples\":[],\"postExamples\":[],\"topics\":[],\"adjectives\":[],\"clients\":[]," \
	"\"plugins\":[],\"style\":{\"all\":[],\"chat\":[],\"post\":[]}" extra "}"

static void cleanup(void)
{
	char cmd[128];

	snprintf(cmd, sizeof(cmd), "rm -rf '%s'", sandbox);
	if (sandbox[0] != '\0' && system(cmd) != 0)
		fprintf(stderr, "fuzz_character: cannot remove %s\n", sandbox);
}

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
	char path[256];

	(void)argc;
	(void)argv;
	snprintf(sandbox, sizeof(sandbox), "/tmp/teeliza-fuzz-char-XXXXXX");
	FUZZ_CHECK(mkdtemp(sandbox) != NULL);
	atexit(cleanup);
	snprintf(input_path, sizeof(input_path), "%s/input.json", sandbox);
	put("base.json", CHARACTER("Base", ",\"settings\":{\"secrets\":{\"S\":\"base\"},\"model\":\"m\"},"
	                                   "\"extra\":{\"a\":[1],\"b\":\"x\",\"n\":null},\"system\":\"base system\""));
	put("mid.json", CHARACTER("Mid", ",\"extends\":[\"base.json\"],\"extra\":[2],"
	                                 "\"settings\":{\"secrets\":{\"S\":\"mid\",\"M\":\"m\"}}"));
	snprintf(path, sizeof(path), "%s/sub", sandbox);
	FUZZ_CHECK(mkdir(path, 0700) == 0);
	put("sub/deep.json", CHARACTER("Deep", ",\"extends\":[\"../mid.json\",\"../base.json\"],"
	                                       "\"extra\":{\"c\":null,\"a\":\"deep\"},\"topics\":[\"deep\"]"));
	put("fan.json", CHARACTER("Fan", ",\"extends\":[\"mid.json\",\"mid.json\",\"mid.json\"]"));
	put("bad.json", "{\"name\":1}");
	put("self.json", CHARACTER("Self", ",\"extends\":[\"self.json\"]"));
	put("empty.json", "");
	put("notjson.json", "{\"name\":");
	snprintf(path, sizeof(path), "%s/base.json", sandbox);
	{
		char link[256];

		snprintf(link, sizeof(link), "%s/link.json", sandbox);
		FUZZ_CHECK(symlink(path, link) == 0);
	}
	snprintf(path, sizeof(path), "%s/pipe", sandbox);
	FUZZ_CHECK(mkfifo(path, 0600) == 0);
	snprintf(path, sizeof(path), "%s/adir", sandbox);
	FUZZ_CHECK(mkdir(path, 0700) == 0);
	return 0;
}

/* ---- Eliza's mergeCharacters, one parent at a time: the reference ---- */

static json_t *ref_concat(json_t *a, json_t *b)
{
	json_t *out = json_array();
	json_t *parts[2] = { a, b };

	FUZZ_CHECK(out != NULL);
	for (int i = 0; i < 2; i++) {
		if (parts[i] == NULL || json_is_null(parts[i]))
			continue;
		if (json_is_array(parts[i]))
			FUZZ_CHECK(json_array_extend(out, parts[i]) == 0);
		else
			FUZZ_CHECK(json_array_append(out, parts[i]) == 0);
	}
	return out;
}

static json_t *ref_merge(json_t *base, json_t *child);

static json_t *ref_value(json_t *b, json_t *c)
{
	if (json_is_object(b) && json_is_object(c))
		return ref_merge(b, c);
	if (json_is_array(b) || json_is_array(c))
		return ref_concat(b, c);
	return json_incref(c != NULL ? c : b);
}

static json_t *ref_merge(json_t *base, json_t *child)
{
	json_t *out = json_object(), *v;
	const char *key;

	FUZZ_CHECK(out != NULL);
	json_object_foreach(base, key, v)
		FUZZ_CHECK(json_object_set_new(out, key, ref_value(v, json_object_get(child, key))) == 0);
	json_object_foreach(child, key, v) {
		if (json_object_get(base, key) == NULL)
			FUZZ_CHECK(json_object_set_new(out, key, json_incref(v)) == 0);
	}
	return out;
}

/* ---- the two runs ---- */

static bool has_prefix(const teeliza_buf *b, const char *prefix)
{
	return b->data != NULL && strncmp((const char *)b->data, prefix, strlen(prefix)) == 0;
}

static void check_loaded(const agent_character *c)
{
	json_t *api = agent_character_to_json(c, false);

	FUZZ_CHECK(agent_uuid_is_valid(agent_character_id(c)));
	FUZZ_CHECK(agent_character_name(c) != NULL);
	FUZZ_CHECK(api != NULL);
	FUZZ_CHECK(json_object_get(json_object_get(api, "settings"), "secrets") == NULL);
	json_decref(api);
}

static void as_body(const uint8_t *data, size_t size, const json_t *root)
{
	agent_character *c = NULL;
	teeliza_buf report;
	teeliza_err err = agent_character_from_text(&c, &report, (const char *)data, size, NULL);

	if (err == TEELIZA_OK) {
		FUZZ_CHECK(c != NULL);
		FUZZ_CHECK(json_object_get(agent_character_json(c), "extends") == NULL);
		check_loaded(c);
	} else {
		FUZZ_CHECK(c == NULL);
		/* refused as a body: in the words of the format the document is read in (1.x has no `extends`) */
		if (json_object_get(root, "extends") != NULL)
			FUZZ_CHECK(agent_character_detect_format(root) == AGENT_CHARACTER_FORMAT_V1
			                   ? has_prefix(&report, AGENT_CHARACTER_V1_INVALID_PREFIX)
			                   : has_prefix(&report, AGENT_CHARACTER_INVALID_PREFIX) ||
			                             strcmp((const char *)report.data, AGENT_CHARACTER_EXTENDS_REFUSED) == 0);
	}
	teeliza_buf_free(&report);
	agent_character_free(c);
}

/* Drop `extends` entries that could name a file outside the sandbox. */
static void keep_in_sandbox(json_t *root)
{
	json_t *list = json_object_get(root, "extends");
	size_t i = 0;

	while (i < json_array_size(list)) {
		const char *p = json_string_value(json_array_get(list, i));

		if (p != NULL && (p[0] == '/' || strstr(p, "..") != NULL))
			FUZZ_CHECK(json_array_remove(list, i) == 0);
		else
			i++;
	}
}

/*
 * sandbox/NAME as Node's path.resolve writes it (Eliza resolves extends so):
 * empty and "." segments dropped, so "fan.json///" and "./fan.json/." name
 * fan.json (".." never reaches here: keep_in_sandbox). A plain open of
 * "fan.json/" would fail with ENOTDIR, which is not what Eliza does.
 */
static void sandbox_path(char *out, size_t out_size, const char *name)
{
	size_t used = (size_t)snprintf(out, out_size, "%s", sandbox);
	const char *seg = name;

	while (*seg != 0 && used < out_size) {
		size_t len = strcspn(seg, "/");

		if (len > 0 && !(len == 1 && seg[0] == '.'))
			used += (size_t)snprintf(out + used, out_size - used, "/%.*s", (int)len, seg);
		seg += len;
		while (*seg == '/')
			seg++;
	}
}

static void as_file(json_t *root)
{
	json_t *list = json_object_get(root, "extends");
	size_t n = json_array_size(list), i;
	agent_character *c = NULL;
	teeliza_buf issues;
	bool valid, parents_ok = true;
	json_t *expected;
	teeliza_err err;

	err = agent_character_from_json(&c, NULL, root, input_path);
	if (agent_character_detect_format(root) == AGENT_CHARACTER_FORMAT_V1) {
		/* a 1.x file: 1.x's schema decides (it has no `extends`); fuzz_character_v1 checks the rest */
		valid = agent_character_v1_validate(&issues, root) == TEELIZA_OK;
		teeliza_buf_free(&issues);
		FUZZ_CHECK(valid ? err == TEELIZA_OK && c != NULL : err == TEELIZA_ERR_INVALID && c == NULL);
		if (c != NULL)
			check_loaded(c);
		agent_character_free(c);
		return;
	}
	valid = agent_character_validate(&issues, root) == TEELIZA_OK;
	teeliza_buf_free(&issues);
	if (!valid) {
		FUZZ_CHECK(err == TEELIZA_ERR_INVALID && c == NULL);
		return;
	}
	if (n > AGENT_CHARACTER_MAX_PARENTS) {
		FUZZ_CHECK(err == TEELIZA_ERR_TOO_LARGE && c == NULL);
		return;
	}
	/* the reference: each parent loaded alone, folded in Eliza's order */
	expected = json_incref(root);
	for (i = 0; i < n && parents_ok; i++) {
		char path[PATH_MAX];
		agent_character *p;

		sandbox_path(path, sizeof(path), json_string_value(json_array_get(list, i)));
		if (agent_character_load_file(&p, NULL, path) != TEELIZA_OK) {
			parents_ok = false;
		} else {
			json_t *next = ref_merge((json_t *)agent_character_json(p), expected);

			json_decref(expected);
			expected = next;
			agent_character_free(p);
		}
	}
	if (err == TEELIZA_OK) {
		char *got, *want;

		FUZZ_CHECK(parents_ok);
		check_loaded(c);
		got = json_dumps(agent_character_json(c), JSON_COMPACT | JSON_ENCODE_ANY);
		want = json_dumps(expected, JSON_COMPACT | JSON_ENCODE_ANY);
		FUZZ_CHECK(got != NULL && want != NULL && strcmp(got, want) == 0);
		free(got);
		free(want);
	} else {
		FUZZ_CHECK(c == NULL);
		FUZZ_CHECK(!parents_ok || err == TEELIZA_ERR_TOO_LARGE);
	}
	json_decref(expected);
	agent_character_free(c);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	json_t *root = json_loadb((const char *)data, size, JSON_DECODE_ANY, NULL);

	as_body(data, size, root);
	if (json_is_object(root)) {
		keep_in_sandbox(root);
		as_file(root);
	}
	json_decref(root);
	return 0;
}
