/*
 * Character loading and validation.
 *
 * The expected validation lines come from tests/vectors/character-validation.json,
 * which tests/vectors/gen/character-validation.mjs produces by running Eliza's
 * own CharacterSchema (cut from @elizaos/core@0.1.9 on npm) under zod 3.23.8
 * on the same mutations of the shared c3po character that this test applies.
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <cmocka.h>

#include "testutil.h"
#include "teeliza/agent_character.h"

#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

/* Directory of this source file's tests/ folder (repo-local vectors live there). */
static const char *tests_dir(void)
{
	static char dir[PATH_MAX];
	const char *suffix = "/unit/test_agent_character.c";
	size_t n = strlen(__FILE__), s = strlen(suffix);

	assert_true(n > s && strcmp(__FILE__ + n - s, suffix) == 0);
	assert_true(n - s < sizeof(dir));
	memcpy(dir, __FILE__, n - s);
	dir[n - s] = '\0';
	return dir;
}

static json_t *load_json_file(const char *path)
{
	json_error_t jerr;
	json_t *j = json_load_file(path, 0, &jerr);

	if (j == NULL)
		fail_msg("cannot parse %s: %s", path, jerr.text);
	return j;
}

static void write_text(const char *path, const char *text)
{
	FILE *f = fopen(path, "w");

	assert_non_null(f);
	assert_int_equal(fputs(text, f) >= 0, 1);
	assert_int_equal(fclose(f), 0);
}

static char *make_tmpdir(void)
{
	char tmpl[] = "/tmp/teeliza-char-XXXXXX";
	char *d = mkdtemp(tmpl);

	assert_non_null(d);
	return strdup(d);
}

static void rm_rf(const char *dir)
{
	char cmd[PATH_MAX + 16];

	snprintf(cmd, sizeof(cmd), "rm -rf '%s'", dir);
	assert_int_equal(system(cmd), 0);
}

/* Walk "a.0.b" to the container of the last key; creates nothing. */
static json_t *walk(json_t *root, const char *dotted, char *last, size_t last_cap)
{
	char buf[256];
	char *save = NULL, *tok, *next;
	json_t *cur = root;

	assert_true(strlen(dotted) < sizeof(buf));
	memcpy(buf, dotted, strlen(dotted) + 1);
	tok = strtok_r(buf, ".", &save);
	while ((next = strtok_r(NULL, ".", &save)) != NULL) {
		cur = json_is_array(cur) ? json_array_get(cur, strtoul(tok, NULL, 10)) : json_object_get(cur, tok);
		assert_non_null(cur);
		tok = next;
	}
	assert_true(strlen(tok) < last_cap);
	memcpy(last, tok, strlen(tok) + 1);
	return cur;
}

static void put_at(json_t *container, const char *key, json_t *v)
{
	if (json_is_array(container))
		assert_int_equal(json_array_set_new(container, strtoul(key, NULL, 10), v), 0);
	else
		assert_int_equal(json_object_set_new(container, key, v), 0);
}

static json_t *apply_ops(const json_t *base, const json_t *ops)
{
	json_t *c = json_deep_copy(base);
	size_t i;
	json_t *op;

	json_array_foreach(ops, i, op) {
		const char *kind = json_string_value(json_array_get(op, 0));
		char last[128];
		json_t *container;

		if (strcmp(kind, "root") == 0) {
			json_decref(c);
			c = json_deep_copy(json_array_get(op, 1));
			continue;
		}
		container = walk(c, json_string_value(json_array_get(op, 1)), last, sizeof(last));
		if (strcmp(kind, "del") == 0) {
			assert_int_equal(json_object_del(container, last), 0);
		} else if (strcmp(kind, "set") == 0) {
			put_at(container, last, json_deep_copy(json_array_get(op, 2)));
		} else {
			json_error_t jerr;
			json_t *v = json_loads(json_string_value(json_array_get(op, 2)), 0, &jerr);

			assert_string_equal(kind, "setjson");
			assert_non_null(v);
			put_at(container, last, v);
		}
	}
	return c;
}

static void test_validation_matches_zod(void **state)
{
	char path[PATH_MAX];
	json_t *cases, *base, *list, *tc;
	size_t i, checked = 0, invalid = 0;

	(void)state;
	snprintf(path, sizeof(path), "%s/vectors/character-validation.json", tests_dir());
	cases = load_json_file(path);
	base = vector_json("characters/c3po.character.json");
	list = json_object_get(cases, "cases");
	assert_true(json_array_size(list) >= 80);
	json_array_foreach(list, i, tc) {
		const char *name = json_string_value(json_object_get(tc, "name"));
		const char *expected = json_string_value(json_object_get(tc, "expected"));
		bool valid = json_is_true(json_object_get(tc, "valid"));
		json_t *c = apply_ops(base, json_object_get(tc, "ops"));
		teeliza_buf issues;
		teeliza_err err = agent_character_validate(&issues, c);

		if (strcmp((const char *)issues.data, expected) != 0)
			fail_msg("case %s:\n got: %s\nwant: %s", name, (const char *)issues.data, expected);
		assert_int_equal(err, valid ? TEELIZA_OK : TEELIZA_ERR_INVALID);
		if (!valid) {
			/* the error detail starts like Eliza's thrown message */
			assert_memory_equal(teeliza_errmsg(), AGENT_CHARACTER_INVALID_PREFIX,
			                    strlen(AGENT_CHARACTER_INVALID_PREFIX));
			invalid++;
		}
		teeliza_buf_free(&issues);
		json_decref(c);
		checked++;
	}
	assert_int_equal(checked, json_array_size(list));
	assert_true(invalid > 60);
	json_decref(base);
	json_decref(cases);
}

static void test_from_json_reports_eliza_message(void **state)
{
	json_t *c = vector_json("characters/c3po.character.json");
	agent_character *ch = (agent_character *)0x1;
	teeliza_buf report;

	(void)state;
	json_object_set_new(c, "name", json_integer(42));
	json_object_del(c, "lore");
	assert_int_equal(agent_character_from_json(&ch, &report, c, NULL), TEELIZA_ERR_INVALID);
	assert_null(ch);
	assert_string_equal((const char *)report.data, "Character configuration validation failed:\n"
	                    "name: Expected string, received number\nlore: Required");
	teeliza_buf_free(&report);
	json_decref(c);
}

static void test_c3po_loads_unchanged(void **state)
{
	agent_character *c;
	teeliza_buf report;
	agent_message_example ex;
	const json_t *spaces;

	(void)state;
	assert_int_equal(agent_character_load_file(&c, &report, vector_path("characters/c3po.character.json")), TEELIZA_OK);
	teeliza_buf_free(&report);
	assert_string_equal(agent_character_name(c), "C-3PO");
	assert_string_equal(agent_character_username(c), "C-3PO"); /* no username: the name */
	assert_string_equal(agent_character_id(c), "e61b079d-5226-06e9-9763-a33094aa8d82");
	assert_string_equal(agent_character_model_provider(c), "anthropic");
	assert_null(agent_character_system(c));
	assert_false(agent_character_bio_is_string(c));
	assert_int_equal(agent_character_list_count(c, AGENT_CHAR_BIO), 4);
	assert_string_equal(agent_character_list_item(c, AGENT_CHAR_BIO, 0),
	                    "C-3PO is a protocol droid fluent in over six million forms of communication.");
	assert_null(agent_character_list_item(c, AGENT_CHAR_BIO, 4));
	assert_int_equal(agent_character_list_count(c, AGENT_CHAR_LORE), 4);
	assert_int_equal(agent_character_list_count(c, AGENT_CHAR_TOPICS), 0);
	assert_int_equal(agent_character_list_count(c, AGENT_CHAR_CLIENTS), 0);
	assert_int_equal(agent_character_list_count(c, AGENT_CHAR_KNOWLEDGE), 5);
	assert_int_equal(agent_character_list_count(c, AGENT_CHAR_POST_EXAMPLES), 2);
	assert_int_equal(agent_character_list_count(c, AGENT_CHAR_ADJECTIVES), 7);
	assert_int_equal(agent_character_list_count(c, AGENT_CHAR_STYLE_ALL), 5);
	assert_int_equal(agent_character_list_count(c, AGENT_CHAR_STYLE_CHAT), 4);
	assert_int_equal(agent_character_list_count(c, AGENT_CHAR_STYLE_POST), 5);
	assert_string_equal(agent_character_list_item(c, AGENT_CHAR_STYLE_CHAT, 3), "Statistics-minded");
	assert_string_equal(agent_character_list_item(c, AGENT_CHAR_PLUGINS, 0), "@elizaos/plugin-twilio");
	assert_int_equal(agent_character_example_count(c), 1);
	assert_int_equal(agent_character_example_length(c, 0), 4);
	assert_int_equal(agent_character_example_length(c, 1), 0);
	assert_true(agent_character_example(&ex, c, 0, 2));
	assert_string_equal(ex.user, "{{user1}}");
	assert_string_equal(ex.text, "This seems difficult.");
	assert_null(ex.action);
	assert_false(agent_character_example(&ex, c, 0, 4));
	assert_null(ex.text);
	/* a field outside the schema is kept */
	spaces = json_object_get(agent_character_json(c), "twitterSpaces");
	assert_int_equal(json_integer_value(json_object_get(spaces, "idleKickTimeoutMs")), 300000);
	assert_string_equal(json_string_value(json_object_get(json_object_get(agent_character_settings(c), "voice"), "model")),
	                    "en_GB-alan-medium");
	agent_character_free(c);
}

static void test_eliza_default_loads(void **state)
{
	agent_character *c;
	json_t *expect = vector_json("characters/eliza-default-0.1.7.character.json");

	(void)state;
	assert_int_equal(agent_character_load_file(&c, NULL, vector_path("characters/eliza-default-0.1.7.character.json")),
	                 TEELIZA_OK);
	assert_string_equal(agent_character_name(c), "Eliza");
	assert_string_equal(agent_character_username(c), "eliza");
	assert_string_equal(agent_character_id(c), "b850bc30-45f8-0041-a00a-83df46d8555d");
	assert_string_equal(agent_character_model_provider(c), "llama_local");
	assert_string_equal(agent_character_system(c), json_string_value(json_object_get(expect, "system")));
	assert_int_equal(agent_character_list_count(c, AGENT_CHAR_LORE),
	                 json_array_size(json_object_get(expect, "lore")));
	assert_int_equal(agent_character_example_count(c),
	                 json_array_size(json_object_get(expect, "messageExamples")));
	/* nothing changed on the way in (no env secrets set for ELIZA here) */
	assert_true(json_equal(agent_character_json(c), expect));
	json_decref(expect);
	agent_character_free(c);
}

static void test_default_character(void **state)
{
	char path[PATH_MAX];
	agent_character *c;
	teeliza_buf file, issues;
	json_t *parsed;
	json_error_t jerr;

	(void)state;
	/* the embedded text is the repository file, byte for byte */
	snprintf(path, sizeof(path), "%s/../characters/teeliza.character.json", tests_dir());
	assert_int_equal(teeliza_read_file(&file, path, 1 << 20), TEELIZA_OK);
	if (strcmp((const char *)file.data, agent_character_default_json()) != 0)
		fail_msg("characters/teeliza.character.json and src/lib/agent/character_default_json.c differ: "
		         "run python3 scripts/gen-default-character.py");
	teeliza_buf_free(&file);

	parsed = json_loads(agent_character_default_json(), 0, &jerr);
	assert_non_null(parsed);
	assert_int_equal(agent_character_validate(&issues, parsed), TEELIZA_OK);
	assert_string_equal((const char *)issues.data, "");
	teeliza_buf_free(&issues);
	json_decref(parsed);

	assert_int_equal(agent_character_load_default(&c), TEELIZA_OK);
	assert_string_equal(agent_character_name(c), "Teeliza");
	assert_string_equal(agent_character_username(c), "teeliza");
	assert_non_null(agent_character_system(c));
	assert_true(agent_character_list_count(c, AGENT_CHAR_BIO) >= 3);
	assert_true(agent_character_list_count(c, AGENT_CHAR_LORE) >= 10);
	assert_true(agent_character_example_count(c) >= 3);
	assert_true(agent_character_list_count(c, AGENT_CHAR_STYLE_ALL) > 0);
	agent_character_free(c);
}

static void test_bio_string_and_bad_json(void **state)
{
	json_t *j = vector_json("characters/c3po.character.json");
	agent_character *c;
	teeliza_buf report;
	char *text;

	(void)state;
	json_object_set_new(j, "bio", json_string("A single bio."));
	json_object_set_new(j, "username", json_string("threepio"));
	text = json_dumps(j, 0);
	assert_int_equal(agent_character_from_text(&c, NULL, text, strlen(text), NULL), TEELIZA_OK);
	assert_true(agent_character_bio_is_string(c));
	assert_int_equal(agent_character_list_count(c, AGENT_CHAR_BIO), 1);
	assert_string_equal(agent_character_list_item(c, AGENT_CHAR_BIO, 0), "A single bio.");
	assert_string_equal(agent_character_username(c), "threepio");
	agent_character_free(c);
	free(text);
	json_decref(j);

	assert_int_equal(agent_character_from_text(&c, &report, "{\"name\": ", 9, NULL), TEELIZA_ERR_PARSE);
	assert_null(c);
	assert_non_null(strstr((const char *)report.data, "invalid JSON"));
	teeliza_buf_free(&report);
	/* JSON that is not an object is a schema error, as in zod */
	assert_int_equal(agent_character_from_text(&c, &report, "[1]", 3, NULL), TEELIZA_ERR_INVALID);
	assert_string_equal((const char *)report.data,
	                    "Character configuration validation failed:\n: Expected object, received array");
	teeliza_buf_free(&report);
}

static void test_env_secrets_and_get_setting(void **state)
{
	json_t *j = vector_json("characters/c3po.character.json");
	json_t *settings = json_object_get(j, "settings");
	json_t *secrets = json_object();
	agent_character *c;
	json_t *pub;

	(void)state;
	json_object_set_new(secrets, "OVERRIDE", json_string("from-file"));
	json_object_set_new(secrets, "EMPTY", json_string(""));
	json_object_set_new(settings, "secrets", secrets);
	json_object_set_new(settings, "model", json_string("settings-model"));
	setenv("CHARACTER.C-3PO.API_KEY", "from-env", 1);
	setenv("CHARACTER.C-3PO.OVERRIDE", "env-loses", 1);
	setenv("CHARACTER.R2-D2.API_KEY", "someone-else", 1);
	setenv("EMPTY", "plain-env", 1);
	setenv("model", "env-model", 1);
	setenv("ONLY_ENV", "only-env", 1);
	unsetenv("NOWHERE");

	assert_int_equal(agent_character_from_json(&c, NULL, j, NULL), TEELIZA_OK);
	assert_string_equal(agent_character_secret(c, "API_KEY"), "from-env");
	assert_string_equal(agent_character_secret(c, "OVERRIDE"), "from-file");
	assert_null(agent_character_secret(c, "EMPTY"));
	/* getSetting: secrets, then settings, then env; empty strings fall through */
	assert_string_equal(agent_character_get_setting(c, "OVERRIDE"), "from-file");
	assert_string_equal(agent_character_get_setting(c, "EMPTY"), "plain-env");
	assert_string_equal(agent_character_get_setting(c, "model"), "settings-model");
	assert_string_equal(agent_character_get_setting(c, "ONLY_ENV"), "only-env");
	assert_null(agent_character_get_setting(c, "NOWHERE"));
	/* the caller's JSON is not modified */
	assert_null(json_object_get(secrets, "API_KEY"));

	pub = agent_character_to_json(c, false);
	assert_null(json_object_get(json_object_get(pub, "settings"), "secrets"));
	assert_non_null(json_object_get(json_object_get(pub, "settings"), "voice"));
	json_decref(pub);
	pub = agent_character_to_json(c, true);
	assert_string_equal(json_string_value(json_object_get(json_object_get(json_object_get(pub, "settings"),
	                    "secrets"), "API_KEY")), "from-env");
	json_decref(pub);
	agent_character_free(c);

	/* no settings at all: env secrets create them; the name is upper-cased, spaces to '_' */
	json_object_del(j, "settings");
	json_object_set_new(j, "name", json_string("My agent"));
	setenv("CHARACTER.MY_AGENT.TOKEN", "t0k", 1);
	assert_int_equal(agent_character_from_json(&c, NULL, j, NULL), TEELIZA_OK);
	assert_string_equal(agent_character_secret(c, "TOKEN"), "t0k");
	assert_null(agent_character_secret(c, "API_KEY"));
	agent_character_free(c);

	/* with an id, the prefix is built from the id instead of the name */
	json_object_set_new(j, "id", json_string("b850bc30-45f8-0041-a00a-83df46d8555d"));
	setenv("CHARACTER.B850BC30-45F8-0041-A00A-83DF46D8555D.TOKEN", "by-id", 1);
	assert_int_equal(agent_character_from_json(&c, NULL, j, NULL), TEELIZA_OK);
	assert_string_equal(agent_character_secret(c, "TOKEN"), "by-id");
	assert_string_equal(agent_character_id(c), "b850bc30-45f8-0041-a00a-83df46d8555d");
	agent_character_free(c);

	unsetenv("CHARACTER.C-3PO.API_KEY");
	unsetenv("CHARACTER.C-3PO.OVERRIDE");
	unsetenv("CHARACTER.R2-D2.API_KEY");
	unsetenv("CHARACTER.MY_AGENT.TOKEN");
	unsetenv("CHARACTER.B850BC30-45F8-0041-A00A-83DF46D8555D.TOKEN");
	unsetenv("EMPTY");
	unsetenv("model");
	unsetenv("ONLY_ENV");
	json_decref(j);
}

static void write_character(const char *path, json_t *j)
{
	assert_int_equal(json_dump_file(j, path, JSON_INDENT(2)), 0);
}

static void test_extends(void **state)
{
	char *dir = make_tmpdir();
	char base_path[PATH_MAX], sub[PATH_MAX], child_path[PATH_MAX + 64], loop_a[PATH_MAX], loop_b[PATH_MAX];
	json_t *base = vector_json("characters/c3po.character.json");
	json_t *child = vector_json("characters/c3po.character.json");
	agent_character *c;
	teeliza_buf report;
	const json_t *secrets, *merged;

	(void)state;
	/* parent: its own lore, system, secrets */
	json_object_set_new(base, "name", json_string("Base"));
	json_object_set_new(base, "system", json_string("base system"));
	json_object_set_new(base, "lore", json_pack("[s]", "base lore"));
	json_object_set_new(json_object_get(base, "settings"), "secrets",
	                    json_pack("{s:s, s:s}", "SHARED", "base", "BASE_ONLY", "b"));
	snprintf(base_path, sizeof(base_path), "%s/base.character.json", dir);
	write_character(base_path, base);
	/* child in a subdirectory, naming its parent relative to itself */
	snprintf(sub, sizeof(sub), "%s/kids", dir);
	assert_int_equal(mkdir(sub, 0700), 0);
	json_object_set_new(child, "name", json_string("Child"));
	json_object_set_new(child, "lore", json_pack("[s, s]", "child lore 1", "child lore 2"));
	json_object_set_new(child, "bio", json_string("child bio string"));
	json_object_set_new(json_object_get(child, "settings"), "secrets", json_pack("{s:s}", "SHARED", "child"));
	json_object_set_new(child, "extends", json_pack("[s]", "../base.character.json"));
	snprintf(child_path, sizeof(child_path), "%s/child.character.json", sub);
	write_character(child_path, child);

	assert_int_equal(agent_character_load_file(&c, &report, child_path), TEELIZA_OK);
	teeliza_buf_free(&report);
	merged = agent_character_json(c);
	assert_string_equal(agent_character_name(c), "Child");            /* scalar: the child's */
	assert_string_equal(agent_character_system(c), "base system");    /* only in the parent */
	assert_int_equal(agent_character_list_count(c, AGENT_CHAR_LORE), 3); /* arrays: parent first */
	assert_string_equal(agent_character_list_item(c, AGENT_CHAR_LORE, 0), "base lore");
	assert_string_equal(agent_character_list_item(c, AGENT_CHAR_LORE, 2), "child lore 2");
	/* bio: parent's 4 entries then the child's string */
	assert_int_equal(agent_character_list_count(c, AGENT_CHAR_BIO), 5);
	assert_string_equal(agent_character_list_item(c, AGENT_CHAR_BIO, 4), "child bio string");
	/* objects merged key by key, the child winning */
	secrets = json_object_get(json_object_get(merged, "settings"), "secrets");
	assert_string_equal(json_string_value(json_object_get(secrets, "SHARED")), "child");
	assert_string_equal(json_string_value(json_object_get(secrets, "BASE_ONLY")), "b");
	/* stringToUuid("Child"), from @elizaos/core 0.1.7 */
	assert_string_equal(agent_character_id(c), "6842c74c-4d51-02bd-a8c5-c4fc9d30c451");
	agent_character_free(c);

	/* a missing parent */
	json_object_set_new(child, "extends", json_pack("[s]", "nope.json"));
	write_character(child_path, child);
	assert_int_equal(agent_character_load_file(&c, &report, child_path), TEELIZA_ERR_NOT_FOUND);
	assert_null(c);
	assert_true(strncmp((const char *)report.data, "Character file not found: ", 26) == 0);
	assert_non_null(strstr((const char *)report.data, "/kids/nope.json"));
	teeliza_buf_free(&report);

	/* a parent that fails validation reports zod's lines */
	json_object_del(base, "style");
	write_character(base_path, base);
	json_object_set_new(child, "extends", json_pack("[s]", "../base.character.json"));
	write_character(child_path, child);
	assert_int_equal(agent_character_load_file(&c, &report, child_path), TEELIZA_ERR_INVALID);
	assert_string_equal((const char *)report.data, "Character configuration validation failed:\nstyle: Required");
	teeliza_buf_free(&report);

	/* a cycle stops instead of recursing forever */
	snprintf(loop_a, sizeof(loop_a), "%s/a.json", dir);
	snprintf(loop_b, sizeof(loop_b), "%s/b.json", dir);
	json_object_set_new(child, "extends", json_pack("[s]", "b.json"));
	write_character(loop_a, child);
	json_object_set_new(child, "extends", json_pack("[s]", "a.json"));
	write_character(loop_b, child);
	assert_int_equal(agent_character_load_file(&c, &report, loop_a), TEELIZA_ERR_INVALID);
	assert_non_null(strstr((const char *)report.data, "deeper than"));
	teeliza_buf_free(&report);

	json_decref(base);
	json_decref(child);
	rm_rf(dir);
	free(dir);
}

static void test_path_lookup(void **state)
{
	char *dir = make_tmpdir();
	char p[PATH_MAX], exe_dir[PATH_MAX], cwd[PATH_MAX], want[PATH_MAX];
	json_t *j = vector_json("characters/c3po.character.json");
	agent_character *c;
	teeliza_buf report;
	char *resolved;

	(void)state;
	assert_non_null(getcwd(cwd, sizeof(cwd)));
	/* <dir>/app/bin is the "script directory"; characters sit in <dir>/characters */
	snprintf(p, sizeof(p), "%s/app", dir);
	assert_int_equal(mkdir(p, 0700), 0);
	snprintf(exe_dir, sizeof(exe_dir), "%s/app/bin", dir);
	assert_int_equal(mkdir(exe_dir, 0700), 0);
	snprintf(p, sizeof(p), "%s/app/characters", dir);
	assert_int_equal(mkdir(p, 0700), 0);
	snprintf(p, sizeof(p), "%s/app/characters/c3po.character.json", dir);
	write_character(p, j);

	/* only the basename matters for <exe>/../characters */
	assert_int_equal(agent_character_load(&c, &report, &resolved, "some/where/c3po.character.json", exe_dir),
	                 TEELIZA_OK);
	assert_string_equal(resolved, p);
	assert_string_equal(agent_character_name(c), "C-3PO");
	agent_character_free(c);
	free(resolved);
	teeliza_buf_free(&report);

	/* cwd/agent/<path> comes before the exe-relative places */
	snprintf(p, sizeof(p), "%s/agent", dir);
	assert_int_equal(mkdir(p, 0700), 0);
	snprintf(p, sizeof(p), "%s/agent/characters", dir);
	assert_int_equal(mkdir(p, 0700), 0);
	json_object_set_new(j, "name", json_string("From agent dir"));
	snprintf(p, sizeof(p), "%s/agent/characters/c3po.character.json", dir);
	write_character(p, j);
	assert_int_equal(chdir(dir), 0);
	assert_int_equal(agent_character_load(&c, NULL, &resolved, "characters/c3po.character.json", exe_dir), TEELIZA_OK);
	assert_string_equal(agent_character_name(c), "From agent dir");
	assert_string_equal(resolved, p);
	agent_character_free(c);
	free(resolved);

	/* a directory is not a hit */
	assert_int_equal(agent_character_load(&c, &report, NULL, "agent", exe_dir), TEELIZA_ERR_NOT_FOUND);
	teeliza_buf_free(&report);

	/* nothing anywhere: every tried path is listed, in Eliza's order */
	assert_int_equal(agent_character_load(&c, &report, &resolved, "x/missing.json", exe_dir), TEELIZA_ERR_NOT_FOUND);
	assert_null(c);
	assert_null(resolved);
	snprintf(want, sizeof(want),
	         "Error loading character from x/missing.json: File not found in any of the expected locations\n"
	         "Tried the following paths:\n - x/missing.json\n - %s/x/missing.json\n - %s/agent/x/missing.json\n"
	         " - %s/app/bin/x/missing.json\n - %s/app/bin/characters/missing.json\n"
	         " - %s/app/characters/missing.json\n - %s/characters/missing.json",
	         dir, dir, dir, dir, dir, dir);
	assert_string_equal((const char *)report.data, want);
	teeliza_buf_free(&report);

	/* found but invalid: Eliza's "Error parsing character from" wrapper */
	snprintf(p, sizeof(p), "%s/bad.json", dir);
	write_text(p, "{\"name\": \"x\"}");
	assert_int_equal(agent_character_load(&c, &report, NULL, "bad.json", exe_dir), TEELIZA_ERR_INVALID);
	{
		const char *prefix = "Error parsing character from bad.json: Error: "
		                     "Character configuration validation failed:\nmodelProvider: Required\n";

		assert_true(strncmp((const char *)report.data, prefix, strlen(prefix)) == 0);
	}
	teeliza_buf_free(&report);
	/* an empty file counts as missing, as `if (!content)` does in Eliza */
	write_text(p, "");
	assert_int_equal(agent_character_load(&c, &report, NULL, "bad.json", exe_dir), TEELIZA_ERR_NOT_FOUND);
	assert_string_equal((const char *)report.data,
	                    "Error parsing character from bad.json: Error: Character file not found: bad.json");
	teeliza_buf_free(&report);

	assert_int_equal(chdir(cwd), 0);
	json_decref(j);
	rm_rf(dir);
	free(dir);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_validation_matches_zod),
		cmocka_unit_test(test_from_json_reports_eliza_message),
		cmocka_unit_test(test_c3po_loads_unchanged),
		cmocka_unit_test(test_eliza_default_loads),
		cmocka_unit_test(test_default_character),
		cmocka_unit_test(test_bio_string_and_bad_json),
		cmocka_unit_test(test_env_secrets_and_get_setting),
		cmocka_unit_test(test_extends),
		cmocka_unit_test(test_path_lookup),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
