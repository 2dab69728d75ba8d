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
#include "teeliza/agent/character.h"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/inotify.h>
#include <sys/stat.h>
#include <unistd.h>


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
	snprintf(path, sizeof(path), "%s", vector_path("character-validation.json"));
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
	snprintf(path, sizeof(path), "%s/characters/teeliza.character.json", TEELIZA_SOURCE_DIR);
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

/* A valid character (c3po) named name, with extends set to the list (stolen) unless it is NULL. */
static json_t *character_extending(const char *name, json_t *extends)
{
	json_t *j = vector_json("characters/c3po.character.json");

	json_object_set_new(j, "name", json_string(name));
	if (extends != NULL)
		json_object_set_new(j, "extends", extends);
	return j;
}

/* Count the inotify events waiting on fd (non-blocking). */
static size_t pending_events(int fd)
{
	char buf[4096] __attribute__((aligned(__alignof__(struct inotify_event))));
	size_t count = 0;
	ssize_t n;

	while ((n = read(fd, buf, sizeof(buf))) > 0) {
		for (char *p = buf; p < buf + n; p += sizeof(struct inotify_event) + ((struct inotify_event *)p)->len)
			count++;
	}
	assert_true(n < 0 && errno == EAGAIN);
	return count;
}

/*
 * A character that does not come from a file (source_path NULL: a REST body)
 * may not use extends: one fixed answer whatever the paths, and no file is
 * opened or even read. The paths are the attacks of the hardening issue: a
 * readable system file (its first token leaked), a FIFO (a worker pinned
 * forever), a missing file and a directory (an existence oracle), "../" and
 * a character file holding secrets (merged in).
 */
static void test_extends_refused_without_file(void **state)
{
	char *dir = make_tmpdir();
	char fifo[PATH_MAX], secret[PATH_MAX], missing[PATH_MAX], up[PATH_MAX + 8];
	json_t *with_secret = character_extending("Secret Holder", NULL);
	const char *paths[] = { "/etc/passwd", fifo, missing, dir, up, secret, "/etc/shadow", "", "/dev/zero" };
	int ino;

	(void)state;
	snprintf(fifo, sizeof(fifo), "%s/fifo", dir);
	assert_int_equal(mkfifo(fifo, 0600), 0);
	snprintf(missing, sizeof(missing), "%s/missing.json", dir);
	snprintf(up, sizeof(up), "%s/../x.json", dir);
	snprintf(secret, sizeof(secret), "%s/secret.character.json", dir);
	json_object_set_new(json_object_get(with_secret, "settings"), "secrets", json_pack("{s:s}", "K", "v"));
	write_character(secret, with_secret);
	json_decref(with_secret);
	/*
	 * every open or read of the folder or its files is seen (not of
	 * /etc/passwd: other processes open it)
	 */
	ino = inotify_init1(IN_NONBLOCK | IN_CLOEXEC);
	assert_true(ino >= 0);
	assert_true(inotify_add_watch(ino, dir, IN_OPEN | IN_ACCESS) >= 0);

	for (size_t i = 0; i <= sizeof(paths) / sizeof(paths[0]); i++) {
		/* the last round: an empty list, refused the same */
		json_t *list = i < sizeof(paths) / sizeof(paths[0]) ? json_pack("[s]", paths[i]) : json_array();
		json_t *j = character_extending("Net", list);
		char *text = json_dumps(j, 0);
		agent_character *c = (agent_character *)0x1;
		teeliza_buf report;

		assert_int_equal(agent_character_from_json(&c, &report, j, NULL), TEELIZA_ERR_INVALID);
		assert_null(c);
		assert_string_equal((const char *)report.data, AGENT_CHARACTER_EXTENDS_REFUSED);
		teeliza_buf_free(&report);
		assert_int_equal(agent_character_from_text(&c, &report, text, strlen(text), NULL), TEELIZA_ERR_INVALID);
		assert_string_equal((const char *)report.data, AGENT_CHARACTER_EXTENDS_REFUSED);
		teeliza_buf_free(&report);
		free(text);
		json_decref(j);
	}
	/* ... and several parents, ours and the system's, give the same answer too */
	{
		json_t *j = character_extending("Net", json_pack("[s, s, s]", secret, fifo, "/etc/passwd"));
		agent_character *c;
		teeliza_buf report;

		assert_int_equal(agent_character_from_json(&c, &report, j, NULL), TEELIZA_ERR_INVALID);
		assert_string_equal((const char *)report.data, AGENT_CHARACTER_EXTENDS_REFUSED);
		teeliza_buf_free(&report);
		json_decref(j);
	}
	assert_int_equal(pending_events(ino), 0);
	/* the watch works: a load from the folder is seen */
	{
		agent_character *c;

		assert_int_equal(agent_character_load_file(&c, NULL, secret), TEELIZA_OK);
		agent_character_free(c);
		assert_true(pending_events(ino) > 0);
	}
	close(ino);
	rm_rf(dir);
	free(dir);
}

/* dir/name holding j; returns the path in a static buffer. */
static const char *put_character(const char *dir, const char *name, json_t *j)
{
	static char path[PATH_MAX];

	snprintf(path, sizeof(path), "%s/%s", dir, name);
	write_character(path, j);
	return path;
}

/* Load dir/name, expecting err and (when not NULL) the report to contain want. */
static void expect_load(const char *dir, const char *name, teeliza_err err, const char *want)
{
	char path[PATH_MAX];
	agent_character *c;
	teeliza_buf report;

	snprintf(path, sizeof(path), "%s/%s", dir, name);
	assert_int_equal(agent_character_load_file(&c, &report, path), err);
	if (want != NULL && strstr((const char *)report.data, want) == NULL)
		fail_msg("loading %s: report \"%s\" lacks \"%s\"", name, (const char *)report.data, want);
	teeliza_buf_free(&report);
	agent_character_free(c);
}

/*
 * From disk, parents are read safely: regular files only (a FIFO or a
 * directory is refused without blocking; a symlink to a file is fine), a
 * size cap per file and for all parents together, a cap on the number of
 * parents, depth and cycles; errors name the operator's paths.
 */
static void test_extends_from_disk_safe(void **state)
{
	char *dir = make_tmpdir();
	char p[PATH_MAX], q[PATH_MAX], want[PATH_MAX + 64];
	json_t *j, *list;
	agent_character *c;
	teeliza_buf report;
	int fd;

	(void)state;
	j = character_extending("Parent", NULL);
	json_object_set_new(j, "lore", json_pack("[s]", "parent lore"));
	put_character(dir, "parent.json", j);
	json_decref(j);

	/* a directory and a FIFO are not read; a missing file says so; all name the path */
	snprintf(p, sizeof(p), "%s/fifo.json", dir);
	assert_int_equal(mkfifo(p, 0600), 0);
	snprintf(p, sizeof(p), "%s/adir.json", dir);
	assert_int_equal(mkdir(p, 0700), 0);
	j = character_extending("Child", json_pack("[s]", "adir.json"));
	put_character(dir, "child.json", j);
	snprintf(want, sizeof(want), "%s/adir.json is not a regular file", dir);
	expect_load(dir, "child.json", TEELIZA_ERR_IO, want);
	json_object_set_new(j, "extends", json_pack("[s]", "fifo.json"));
	put_character(dir, "child.json", j);
	snprintf(want, sizeof(want), "%s/fifo.json is not a regular file", dir);
	expect_load(dir, "child.json", TEELIZA_ERR_IO, want);
	/* the FIFO given as the character itself is refused the same way */
	snprintf(p, sizeof(p), "%s/fifo.json", dir);
	assert_int_equal(agent_character_load_file(&c, &report, p), TEELIZA_ERR_IO);
	assert_non_null(strstr((const char *)report.data, "is not a regular file"));
	teeliza_buf_free(&report);
	json_object_set_new(j, "extends", json_pack("[s]", "gone.json"));
	put_character(dir, "child.json", j);
	snprintf(want, sizeof(want), "Character file not found: %s/gone.json", dir);
	expect_load(dir, "child.json", TEELIZA_ERR_NOT_FOUND, want);

	/* a symlink to a regular file is the operator's choice: followed */
	snprintf(p, sizeof(p), "%s/parent.json", dir);
	snprintf(q, sizeof(q), "%s/link.json", dir);
	assert_int_equal(symlink(p, q), 0);
	json_object_set_new(j, "extends", json_pack("[s]", "link.json"));
	put_character(dir, "child.json", j);
	expect_load(dir, "child.json", TEELIZA_OK, NULL);

	/* a parent over the per-file cap is refused before it is read (a sparse file) */
	snprintf(p, sizeof(p), "%s/huge.json", dir);
	fd = open(p, O_WRONLY | O_CREAT | O_TRUNC, 0600);
	assert_true(fd >= 0);
	assert_int_equal(ftruncate(fd, (off_t)AGENT_CHARACTER_MAX_FILE + 1), 0);
	close(fd);
	json_object_set_new(j, "extends", json_pack("[s]", "huge.json"));
	put_character(dir, "child.json", j);
	snprintf(want, sizeof(want), "%s/huge.json is larger than", dir);
	expect_load(dir, "child.json", TEELIZA_ERR_TOO_LARGE, want);

	/* all parents together: three of 6 MB pass the 16 MB budget at the third */
	{
		json_t *big = character_extending("Big", NULL);
		size_t pad_len = (size_t)6 << 20;
		char *pad = malloc(pad_len + 1);

		assert_non_null(pad);
		memset(pad, 'x', pad_len);
		pad[pad_len] = '\0';
		json_object_set_new(big, "pad", json_string(pad));
		free(pad);
		put_character(dir, "big.json", big);
		json_decref(big);
		json_object_set_new(j, "extends", json_pack("[s, s]", "big.json", "big.json"));
		put_character(dir, "child.json", j);
		expect_load(dir, "child.json", TEELIZA_OK, NULL);
		json_object_set_new(j, "extends", json_pack("[s, s, s]", "big.json", "big.json", "big.json"));
		put_character(dir, "child.json", j);
		snprintf(want, sizeof(want), "%s/big.json: the parents of one character may not exceed", dir);
		expect_load(dir, "child.json", TEELIZA_ERR_TOO_LARGE, want);
	}

	/* the number of parents: 64 in one list load (and merge: 64 lore lines + the child's), 65 do not */
	list = json_array();
	for (int i = 0; i < AGENT_CHARACTER_MAX_PARENTS; i++)
		json_array_append_new(list, json_string("parent.json"));
	json_object_set_new(j, "extends", list);
	json_object_set_new(j, "lore", json_pack("[s]", "child lore"));
	snprintf(p, sizeof(p), "%s/child.json", dir);
	write_character(p, j);
	assert_int_equal(agent_character_load_file(&c, NULL, p), TEELIZA_OK);
	assert_int_equal(agent_character_list_count(c, AGENT_CHAR_LORE), AGENT_CHARACTER_MAX_PARENTS + 1);
	assert_string_equal(agent_character_list_item(c, AGENT_CHAR_LORE, 0), "parent lore");
	assert_string_equal(agent_character_list_item(c, AGENT_CHAR_LORE, AGENT_CHARACTER_MAX_PARENTS), "child lore");
	assert_string_equal(agent_character_name(c), "Child");
	agent_character_free(c);
	json_array_append_new(list, json_string("parent.json"));
	write_character(p, j);
	snprintf(want, sizeof(want), "%s/child.json: its 65 parents would pass the limit of 64", dir);
	expect_load(dir, "child.json", TEELIZA_ERR_TOO_LARGE, want);

	/* fan-out counts parents of parents: 3 + 9 + 27 = 39 load, 3 + ... + 81 = 120 do not */
	for (int level = 0; level <= 4; level++) {
		char name[32], next[32];

		snprintf(name, sizeof(name), "fan%d.json", level);
		snprintf(next, sizeof(next), "fan%d.json", level + 1);
		json_decref(j);
		j = character_extending(name, level < 4 ? json_pack("[s, s, s]", next, next, next) : NULL);
		json_object_set_new(j, "lore", json_pack("[s]", name));
		put_character(dir, name, j);
	}
	expect_load(dir, "fan1.json", TEELIZA_OK, NULL);
	snprintf(p, sizeof(p), "%s/fan1.json", dir);
	assert_int_equal(agent_character_load_file(&c, NULL, p), TEELIZA_OK);
	assert_int_equal(agent_character_list_count(c, AGENT_CHAR_LORE), 1 + 3 + 9 + 27);
	agent_character_free(c);
	expect_load(dir, "fan0.json", TEELIZA_ERR_TOO_LARGE, "would pass the limit of 64 parents");

	/* nesting: 16 levels of parents load, 17 do not */
	for (int level = 0; level <= AGENT_CHARACTER_MAX_EXTENDS + 1; level++) {
		char name[32], next[32];

		snprintf(name, sizeof(name), "deep%d.json", level);
		snprintf(next, sizeof(next), "deep%d.json", level + 1);
		json_decref(j);
		j = character_extending(name, level <= AGENT_CHARACTER_MAX_EXTENDS ? json_pack("[s]", next) : NULL);
		put_character(dir, name, j);
	}
	expect_load(dir, "deep1.json", TEELIZA_OK, NULL);
	expect_load(dir, "deep0.json", TEELIZA_ERR_INVALID, "deeper than 16 levels");

	/* cycles, through a symlink too, are named as such */
	json_decref(j);
	j = character_extending("Self", json_pack("[s]", "self.json"));
	put_character(dir, "self.json", j);
	snprintf(want, sizeof(want), "extends cycle: %s/self.json extends %s/self.json", dir, dir);
	expect_load(dir, "self.json", TEELIZA_ERR_INVALID, want);
	json_object_set_new(j, "extends", json_pack("[s]", "self-link.json"));
	put_character(dir, "self.json", j);
	snprintf(p, sizeof(p), "%s/self.json", dir);
	snprintf(q, sizeof(q), "%s/self-link.json", dir);
	assert_int_equal(symlink(p, q), 0);
	expect_load(dir, "self.json", TEELIZA_ERR_INVALID, "extends cycle");

	json_decref(j);
	rm_rf(dir);
	free(dir);
}

/*
 * Eliza's fold, for c extending [p1, p2]: merge(p2, merge(p1, c)), with p1
 * extending p3, and every mixed case of mergeCharacters (array against
 * object, scalar against array, null, nested objects), key order included.
 * The expected values are worked out by hand from Eliza's mergeCharacters.
 */
static void test_extends_merge_order(void **state)
{
	char *dir = make_tmpdir();
	json_t *j;
	agent_character *c;
	char p[PATH_MAX];
	char *mix;
	teeliza_buf report;

	(void)state;
	j = character_extending("C", json_pack("[s, s]", "p1.json", "p2.json"));
	json_object_set_new(j, "lore", json_pack("[s]", "c"));
	json_object_set_new(j, "mix", json_loads("{\"x\":{\"a\":1,\"c\":[3]},\"y\":\"child\",\"z\":[1],\"w\":null,"
	                                         "\"v\":{\"k\":\"c\"},\"u\":\"s\",\"n\":null}", 0, NULL));
	put_character(dir, "c.json", j);
	json_decref(j);
	j = character_extending("P1", json_pack("[s]", "p3.json"));
	json_object_set_new(j, "lore", json_pack("[s]", "p1"));
	json_object_set_new(j, "mix", json_loads("{\"x\":{\"b\":2,\"c\":[2],\"a\":0},\"y\":[\"p1\"],\"z\":{\"o\":1},"
	                                         "\"w\":[5],\"v\":\"p1\",\"t\":1,\"n\":{\"a\":1}}", 0, NULL));
	put_character(dir, "p1.json", j);
	json_decref(j);
	j = character_extending("P2", NULL);
	json_object_set_new(j, "lore", json_pack("[s]", "p2"));
	json_object_set_new(j, "mix", json_loads("{\"x\":[9],\"y\":\"p2\",\"z\":[0],\"w\":7,"
	                                         "\"v\":{\"k\":\"p2\",\"m\":1},\"u\":{\"q\":1}}", 0, NULL));
	put_character(dir, "p2.json", j);
	json_decref(j);
	j = character_extending("P3", NULL);
	json_object_set_new(j, "lore", json_pack("[s]", "p3"));
	put_character(dir, "p3.json", j);
	json_decref(j);

	snprintf(p, sizeof(p), "%s/c.json", dir);
	assert_int_equal(agent_character_load_file(&c, &report, p), TEELIZA_OK);
	teeliza_buf_free(&report);
	assert_string_equal(agent_character_name(c), "C");
	mix = json_dumps(json_object_get(agent_character_json(c), "mix"), JSON_COMPACT);
	assert_string_equal(mix, "{\"x\":[9,{\"b\":2,\"c\":[2,3],\"a\":1}],\"y\":[\"p2\",\"p1\",\"child\"],"
	                         "\"z\":[0,{\"o\":1},1],\"w\":[7,5],\"v\":{\"k\":\"c\",\"m\":1},\"u\":\"s\",\"t\":1,"
	                         "\"n\":null}");
	free(mix);
	/* arrays: the outermost parent first; extends: the parents' lists before the child's */
	mix = json_dumps(json_object_get(agent_character_json(c), "lore"), JSON_COMPACT);
	assert_string_equal(mix, "[\"p2\",\"p3\",\"p1\",\"c\"]");
	free(mix);
	mix = json_dumps(json_object_get(agent_character_json(c), "extends"), JSON_COMPACT);
	assert_string_equal(mix, "[\"p3.json\",\"p1.json\",\"p2.json\"]");
	free(mix);
	agent_character_free(c);
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
		cmocka_unit_test(test_extends_refused_without_file),
		cmocka_unit_test(test_extends_from_disk_safe),
		cmocka_unit_test(test_extends_merge_order),
		cmocka_unit_test(test_path_lookup),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
