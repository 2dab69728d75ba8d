/*
 * elizaOS 1.x (v1) characters: validation against the reference set, format
 * detection, loading, the mapping onto teeliza's character and back.
 *
 * tests/vectors/character-validation-v1.json comes from
 * tests/vectors/gen/character-validation-v1.mjs, which runs @elizaos/core
 * 1.7.2's own characterSchema (zod 4.3.6) on the same mutations of
 * tests/vectors/v1/characters/eliza-cli-1.7.2.character.json this test applies.
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <cmocka.h>

#include "testutil.h"
#include "teeliza/agent/character.h"
#include "teeliza/agent/character_v1.h"

#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

static const char *const fixtures[] = {
	"v1/characters/ada.json",
	"v1/characters/eliza-cli-1.7.2.character.json",
	"v1/characters/max.json",
	"v1/characters/mr-tee-1.7.2.character.json",
	"v1/characters/project-starter-1.7.2.character.json",
	"v1/characters/shaw.json",
};

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

/*
 * The case's document, or NULL when one of its values is a number JSON
 * parsers may refuse (1e400): jansson refuses it when the text is read, so
 * such a document never reaches validation here.
 */
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
		if (strcmp(kind, "rootfile") == 0) {
			json_decref(c);
			c = vector_json(json_string_value(json_array_get(op, 1)));
			continue;
		}
		container = walk(c, json_string_value(json_array_get(op, 1)), last, sizeof(last));
		if (strcmp(kind, "del") == 0) {
			assert_int_equal(json_object_del(container, last), 0);
		} else if (strcmp(kind, "set") == 0) {
			put_at(container, last, json_deep_copy(json_array_get(op, 2)));
		} else {
			json_error_t jerr;
			json_t *v = json_loads(json_string_value(json_array_get(op, 2)), JSON_DECODE_ANY, &jerr);

			assert_string_equal(kind, "setjson");
			if (v == NULL) {
				json_decref(c);
				return NULL;
			}
			put_at(container, last, v);
		}
	}
	return c;
}

/* "a\nb" -> "Character validation failed: a; b" */
static char *joined_message(const char *expected)
{
	size_t n = strlen(expected);
	char *out = malloc(strlen(AGENT_CHARACTER_V1_INVALID_PREFIX) + 2 * n + 1);
	char *p;

	assert_non_null(out);
	p = out + sprintf(out, "%s", AGENT_CHARACTER_V1_INVALID_PREFIX);
	for (size_t i = 0; i < n; i++) {
		if (expected[i] == '\n') {
			*p++ = ';';
			*p++ = ' ';
		} else {
			*p++ = expected[i];
		}
	}
	*p = '\0';
	return out;
}

static void test_validation_matches_zod_v1(void **state)
{
	json_t *cases, *base, *list, *tc;
	size_t i, checked = 0, invalid = 0, unparsable = 0;

	(void)state;
	cases = vector_json("character-validation-v1.json");
	base = vector_json("v1/characters/eliza-cli-1.7.2.character.json");
	list = json_object_get(cases, "cases");
	assert_true(json_array_size(list) >= 140);
	json_array_foreach(list, i, tc) {
		const char *name = json_string_value(json_object_get(tc, "name"));
		const char *expected = json_string_value(json_object_get(tc, "expected"));
		const json_t *output = json_object_get(tc, "output");
		bool valid = json_is_true(json_object_get(tc, "valid"));
		json_t *c = apply_ops(base, json_object_get(tc, "ops"));
		agent_character *ch = NULL;
		teeliza_buf issues, report;
		teeliza_err err;

		checked++;
		if (c == NULL) { /* 1e400: refused as JSON text, as checked below */
			assert_false(valid);
			unparsable++;
			continue;
		}
		err = agent_character_v1_validate(&issues, c);
		if (strcmp((const char *)issues.data, expected) != 0)
			fail_msg("case %s:\n got: %s\nwant: %s", name, (const char *)issues.data, expected);
		assert_int_equal(err, valid ? TEELIZA_OK : TEELIZA_ERR_INVALID);
		teeliza_buf_free(&issues);

		/* the loader: accepted with zod's output, or refused with jsonToCharacter's message */
		err = agent_character_v1_from_json(&ch, &report, c, NULL);
		if (valid) {
			json_t *got, *want;

			if (err != TEELIZA_OK)
				fail_msg("case %s: %s", name, (const char *)report.data);
			got = agent_character_to_v1_json(ch, true);
			want = json_deep_copy(output != NULL ? output : c);
			assert_non_null(got);
			/* loading adds the id zod's output does not have */
			if (json_object_get(want, "id") == NULL)
				json_object_del(got, "id");
			if (!json_equal(got, want)) {
				char *g = json_dumps(got, JSON_COMPACT), *w = json_dumps(want, JSON_COMPACT);

				fail_msg("case %s: output differs\n got: %.600s\nwant: %.600s", name, g, w);
			}
			json_decref(got);
			json_decref(want);
			agent_character_free(ch);
		} else {
			char *msg = joined_message(expected);

			assert_int_equal(err, TEELIZA_ERR_INVALID);
			assert_null(ch);
			assert_string_equal((const char *)report.data, msg);
			free(msg);
			invalid++;
		}
		teeliza_buf_free(&report);
		json_decref(c);
	}
	assert_int_equal(checked, json_array_size(list));
	assert_int_equal(unparsable, 2);
	assert_int_equal(invalid + unparsable, 105);
	json_decref(base);
	json_decref(cases);
}

static void test_big_number_refused_as_text(void **state)
{
	agent_character *c;
	teeliza_buf report;
	static const char text[] = "{\"name\":\"A\",\"bio\":\"\",\"settings\":{\"big\":1e400}}";

	(void)state;
	assert_int_equal(agent_character_v1_from_text(&c, &report, text, strlen(text), NULL), TEELIZA_ERR_PARSE);
	assert_null(c);
	assert_non_null(strstr((const char *)report.data, "invalid JSON"));
	teeliza_buf_free(&report);
}

static void test_detect_format(void **state)
{
	static const struct {
		const char *json;
		agent_character_format want;
	} cases[] = {
		{ "{\"name\":\"A\",\"bio\":\"\"}", AGENT_CHARACTER_FORMAT_V1 },
		{ "{\"name\":\"A\",\"bio\":\"\",\"lore\":[]}", AGENT_CHARACTER_FORMAT_0_1 },
		{ "{\"name\":\"A\",\"modelProvider\":\"openai\"}", AGENT_CHARACTER_FORMAT_0_1 },
		{ "{\"name\":\"A\",\"clients\":[]}", AGENT_CHARACTER_FORMAT_0_1 },
		{ "{\"name\":\"A\"}", AGENT_CHARACTER_FORMAT_0_1 },
		{ "{\"id\":\"x\",\"name\":\"A\"}", AGENT_CHARACTER_FORMAT_0_1 },
		{ "{}", AGENT_CHARACTER_FORMAT_0_1 },
		{ "[1]", AGENT_CHARACTER_FORMAT_0_1 },
		{ "{\"bio\":\"x\"}", AGENT_CHARACTER_FORMAT_V1 },
	};

	(void)state;
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		json_t *j = json_loads(cases[i].json, JSON_DECODE_ANY, NULL);

		assert_non_null(j);
		if (agent_character_detect_format(j) != cases[i].want)
			fail_msg("%s", cases[i].json);
		json_decref(j);
	}
	/* every 0.1.x vector stays 0.1.x, every v1 fixture is v1 */
	{
		json_t *c3po = vector_json("characters/c3po.character.json");

		assert_int_equal(agent_character_detect_format(c3po), AGENT_CHARACTER_FORMAT_0_1);
		json_decref(c3po);
	}
	for (size_t i = 0; i < sizeof(fixtures) / sizeof(fixtures[0]); i++) {
		json_t *j = vector_json(fixtures[i]);

		assert_int_equal(agent_character_detect_format(j), AGENT_CHARACTER_FORMAT_V1);
		json_decref(j);
	}
}

static void test_fixtures_load(void **state)
{
	(void)state;
	for (size_t i = 0; i < sizeof(fixtures) / sizeof(fixtures[0]); i++) {
		agent_character *c;
		teeliza_buf report;
		json_t *v1, *file = vector_json(fixtures[i]);

		if (agent_character_load_file(&c, &report, vector_path(fixtures[i])) != TEELIZA_OK)
			fail_msg("%s: %s", fixtures[i], (const char *)report.data);
		teeliza_buf_free(&report);
		assert_int_equal(agent_character_format_of(c), AGENT_CHARACTER_FORMAT_V1);
		assert_string_equal(agent_character_name(c), json_string_value(json_object_get(file, "name")));
		/* the 0.1.x view the runtime reads */
		assert_true(agent_character_list_count(c, AGENT_CHAR_BIO) > 0);
		assert_int_equal(agent_character_list_count(c, AGENT_CHAR_LORE), 0);
		assert_int_equal(agent_character_example_count(c),
		                 json_array_size(json_object_get(file, "messageExamples")));
		if (agent_character_example_count(c) > 0) {
			agent_message_example ex;

			assert_true(agent_character_example(&ex, c, 0, 0));
			assert_non_null(ex.user);
		}
		/* and back: what GET /api/agents/:id shows passes v1's schema */
		v1 = agent_character_to_v1_json(c, false);
		assert_non_null(v1);
		assert_int_equal(agent_character_v1_validate(NULL, v1), TEELIZA_OK);
		assert_null(json_object_get(v1, "secrets"));
		assert_null(json_object_get(json_object_get(v1, "settings"), "secrets"));
		json_decref(v1);
		json_decref(file);
		agent_character_free(c);
	}
}

static void test_mr_tee_mapping(void **state)
{
	agent_character *c;
	teeliza_buf report;
	const char *note;
	agent_message_example ex;
	bool saw_action = false;

	(void)state;
	unsetenv("OPENAI_BASE_URL");
	unsetenv("REDPILL_BASE_URL");
	assert_int_equal(agent_character_load_file(&c, &report, vector_path("v1/characters/mr-tee-1.7.2.character.json")),
	                 TEELIZA_OK);
	teeliza_buf_free(&report);
	/* no id in the file: stringToUuid("Mr. TEE"), as elizaOS 1.x gives it */
	assert_string_equal(agent_character_id(c), "f1b8ef45-dab5-095e-90a8-87a35b16966e");
	/* plugins: redpill is the first model plugin teeliza speaks to */
	assert_string_equal(agent_character_model_provider(c), "redpill");
	note = agent_character_plugin_note(c);
	assert_non_null(note);
	assert_non_null(strstr(note, "@elizaos/plugin-redpill: model provider redpill"));
	assert_non_null(strstr(note, "@elizaos/plugin-openai: ignored (another plugin picked the model)"));
	assert_non_null(strstr(note, "@elizaos/plugin-discord: ignored"));
	assert_non_null(strstr(note, "@elizaos/plugin-tee: teeliza's own TEE plugin"));
	/* settings.secrets of the file reach the TEE plugin's getSetting */
	unsetenv("TEE_MODE");
	assert_string_equal(agent_character_get_setting(c, "TEE_MODE"), "PRODUCTION");
	assert_string_equal(agent_character_get_setting(c, "TEE_VENDOR"), "phala");
	/* examples: name -> user, a non-REPLY action -> action */
	for (size_t conv = 0; conv < agent_character_example_count(c); conv++) {
		for (size_t i = 0; agent_character_example(&ex, c, conv, i); i++) {
			assert_non_null(ex.user);
			if (ex.action != NULL)
				saw_action = true;
		}
	}
	assert_true(saw_action);
	agent_character_free(c);
}

static agent_character *load_text(const char *text, const char *source_path)
{
	agent_character *c = NULL;
	teeliza_buf report;

	if (agent_character_from_text(&c, &report, text, strlen(text), source_path) != TEELIZA_OK)
		fail_msg("%s: %s", text, (const char *)report.data);
	teeliza_buf_free(&report);
	return c;
}

static void test_model_settings_aliases(void **state)
{
	agent_character *c;

	(void)state;
	unsetenv("OPENAI_API_URL");
	unsetenv("OPENAI_BASE_URL");
	unsetenv("SMALL_MODEL");
	unsetenv("LARGE_MODEL");
	/* openai: v1 names answer for the 0.1.x names teeliza's client asks */
	c = load_text("{\"name\":\"A\",\"bio\":\"\",\"plugins\":[\"@elizaos/plugin-sql\",\"@elizaos/plugin-openai\"],"
	              "\"settings\":{\"OPENAI_BASE_URL\":\"http://127.0.0.1:9/v1\",\"OPENAI_LARGE_MODEL\":\"big\"},"
	              "\"secrets\":{\"OPENAI_API_KEY\":\"sk-top\"}}", NULL);
	assert_string_equal(agent_character_model_provider(c), "openai");
	assert_string_equal(agent_character_get_setting(c, "OPENAI_API_URL"), "http://127.0.0.1:9/v1");
	assert_string_equal(agent_character_get_setting(c, "LARGE_OPENAI_MODEL"), "big");
	assert_null(agent_character_get_setting(c, "SMALL_OPENAI_MODEL"));
	assert_string_equal(agent_character_get_setting(c, "OPENAI_API_KEY"), "sk-top");
	assert_string_equal(agent_character_secret(c, "OPENAI_API_KEY"), "sk-top");
	/* the 0.1.x view keeps both kinds of secrets in settings.secrets, hidden from GET */
	assert_string_equal(json_string_value(json_object_get(json_object_get(json_object_get(agent_character_json(c),
	                    "settings"), "secrets"), "OPENAI_API_KEY")), "sk-top");
	agent_character_free(c);

	/* getSetting order: secrets, settings, settings.secrets; "" falls through */
	c = load_text("{\"name\":\"A\",\"bio\":\"\",\"secrets\":{\"K\":\"\",\"L\":\"top\"},"
	              "\"settings\":{\"K\":\"settings\",\"L\":\"settings\",\"secrets\":{\"K\":\"inner\",\"M\":\"inner\"}}}",
	              NULL);
	assert_string_equal(agent_character_get_setting(c, "K"), "settings");
	assert_string_equal(agent_character_get_setting(c, "L"), "top");
	assert_string_equal(agent_character_get_setting(c, "M"), "inner");
	assert_null(agent_character_model_provider(c));
	agent_character_free(c);

	/* openrouter: never the OpenAI key, OpenRouter's URL and models by default */
	setenv("OPENAI_API_KEY", "sk-openai-operator", 1);
	c = load_text("{\"name\":\"A\",\"bio\":\"\",\"plugins\":[\"@elizaos/plugin-openrouter\"]}", NULL);
	assert_string_equal(agent_character_model_provider(c), "openai");
	assert_null(agent_character_get_setting(c, "OPENAI_API_KEY"));
	assert_string_equal(agent_character_get_setting(c, "OPENAI_API_URL"), "https://openrouter.ai/api/v1");
	assert_string_equal(agent_character_get_setting(c, "SMALL_OPENAI_MODEL"), "google/gemini-2.0-flash-001");
	agent_character_free(c);
	setenv("OPENROUTER_API_KEY", "sk-or", 1);
	c = load_text("{\"name\":\"A\",\"bio\":\"\",\"plugins\":[\"@elizaos/plugin-openrouter\"]}", NULL);
	assert_string_equal(agent_character_get_setting(c, "OPENAI_API_KEY"), "sk-or");
	agent_character_free(c);
	unsetenv("OPENROUTER_API_KEY");
	unsetenv("OPENAI_API_KEY");

	/* ollama: the native endpoint's host, for its OpenAI-compatible /v1 */
	c = load_text("{\"name\":\"A\",\"bio\":\"\",\"plugins\":[\"@elizaos/plugin-ollama\"],"
	              "\"settings\":{\"OLLAMA_API_ENDPOINT\":\"http://127.0.0.1:11434/api/\"}}", NULL);
	assert_string_equal(agent_character_model_provider(c), "ollama");
	assert_string_equal(agent_character_get_setting(c, "OLLAMA_SERVER_URL"), "http://127.0.0.1:11434");
	assert_string_equal(agent_character_get_setting(c, "LARGE_OLLAMA_MODEL"), "gemma3:latest");
	agent_character_free(c);

	/* a model plugin teeliza does not speak to: its name, for the offline responder's log line */
	c = load_text("{\"name\":\"A\",\"bio\":\"\",\"plugins\":[\"@elizaos/plugin-anthropic\",\"x-unknown\"]}", NULL);
	assert_string_equal(agent_character_model_provider(c), "anthropic");
	assert_non_null(strstr(agent_character_plugin_note(c), "x-unknown: ignored (teeliza has no such plugin)"));
	agent_character_free(c);
}

static void test_env_secrets_v1(void **state)
{
	agent_character *c;

	(void)state;
	setenv("CHARACTER.MR__TEE.TEE_MODE", "LOCAL", 1);
	setenv("MR__TEE_WALLET_SECRET_SALT", "salt-from-env", 1);
	/* a file: all three prefixes; env wins over the file */
	c = load_text("{\"name\":\"Mr. TEE\",\"bio\":\"\",\"secrets\":{\"TEE_MODE\":\"DOCKER\"}}", "/nonexistent.json");
	assert_string_equal(agent_character_get_setting(c, "TEE_MODE"), "LOCAL");
	assert_string_equal(agent_character_get_setting(c, "WALLET_SECRET_SALT"), "salt-from-env");
	agent_character_free(c);
	/* not from a file: never <NAME>_<KEY> */
	c = load_text("{\"name\":\"Mr. TEE\",\"bio\":\"\",\"secrets\":{\"TEE_MODE\":\"DOCKER\"}}", NULL);
	assert_string_equal(agent_character_get_setting(c, "TEE_MODE"), "LOCAL");
	assert_null(agent_character_get_setting(c, "WALLET_SECRET_SALT"));
	agent_character_free(c);
	unsetenv("CHARACTER.MR__TEE.TEE_MODE");
	unsetenv("MR__TEE_WALLET_SECRET_SALT");
	/* by id */
	setenv("CHARACTER.D6D0C1A5_6A5C_4E4B_9C58_0A9F2A4C1E11.K", "v", 1);
	c = load_text("{\"id\":\"d6d0c1a5-6a5c-4e4b-9c58-0a9f2a4c1e11\",\"name\":\"A\",\"bio\":\"\"}", NULL);
	assert_string_equal(agent_character_get_setting(c, "K"), "v");
	assert_string_equal(agent_character_id(c), "d6d0c1a5-6a5c-4e4b-9c58-0a9f2a4c1e11");
	agent_character_free(c);
	unsetenv("CHARACTER.D6D0C1A5_6A5C_4E4B_9C58_0A9F2A4C1E11.K");
	/* a name that is a UUID is the id as written */
	c = load_text("{\"name\":\"B850BC30-45F8-0041-A00A-83DF46D8555D\",\"bio\":\"\"}", NULL);
	assert_string_equal(agent_character_id(c), "B850BC30-45F8-0041-A00A-83DF46D8555D");
	agent_character_free(c);
}

static void test_errors_in_v1_words(void **state)
{
	agent_character *c;
	teeliza_buf report;
	char dir[] = "/tmp/teeliza-v1char-XXXXXX";
	char path[PATH_MAX], want[PATH_MAX * 3];
	FILE *f;

	(void)state;
	/* detected v1 through the 0.1.x entry points */
	assert_int_equal(agent_character_from_text(&c, &report, "{\"name\":1,\"bio\":2,\"x\":3}", 24, NULL),
	                 TEELIZA_ERR_INVALID);
	assert_string_equal((const char *)report.data, "Character validation failed: name: Invalid input: expected "
	                    "string, received number; bio: Invalid input; : Unrecognized key: \"x\"");
	teeliza_buf_free(&report);
	/* v1 rules whatever the document looks like (POST /api/agents) */
	assert_int_equal(agent_character_v1_from_text(&c, &report, "{\"name\":\"x\"}", 12, NULL), TEELIZA_ERR_INVALID);
	assert_string_equal((const char *)report.data, "Character validation failed: bio: Invalid input");
	teeliza_buf_free(&report);
	/* and the 0.1.x words stay for a 0.1.x document */
	assert_int_equal(agent_character_from_text(&c, &report, "{\"name\":\"x\"}", 12, NULL), TEELIZA_ERR_INVALID);
	assert_true(strncmp((const char *)report.data, AGENT_CHARACTER_INVALID_PREFIX,
	                    strlen(AGENT_CHARACTER_INVALID_PREFIX)) == 0);
	teeliza_buf_free(&report);

	/* the file loader wraps it as elizaOS 1.x's loader does */
	assert_non_null(mkdtemp(dir));
	snprintf(path, sizeof(path), "%s/bad.json", dir);
	f = fopen(path, "w");
	assert_non_null(f);
	fputs("{\"name\":\"\",\"bio\":\"x\",\"lore2\":1}", f);
	fclose(f);
	assert_int_equal(agent_character_load(&c, &report, NULL, path, dir), TEELIZA_ERR_INVALID);
	snprintf(want, sizeof(want), "Character file '%s' contains invalid character data. Failed to load character "
	         "from %s: Character validation failed: name: Character name is required; : Unrecognized key: \"lore2\"",
	         path, path);
	assert_string_equal((const char *)report.data, want);
	teeliza_buf_free(&report);
	unlink(path);
	rmdir(dir);
}

static void test_0_1_to_v1_shape(void **state)
{
	agent_character *c;
	json_t *v1, *ex;

	(void)state;
	assert_int_equal(agent_character_load_file(&c, NULL, vector_path("characters/c3po.character.json")), TEELIZA_OK);
	assert_int_equal(agent_character_format_of(c), AGENT_CHARACTER_FORMAT_0_1);
	assert_null(agent_character_plugin_note(c));
	v1 = agent_character_to_v1_json(c, false);
	assert_non_null(v1);
	assert_int_equal(agent_character_v1_validate(NULL, v1), TEELIZA_OK);
	assert_string_equal(json_string_value(json_object_get(v1, "id")), agent_character_id(c));
	assert_null(json_object_get(v1, "lore"));
	assert_null(json_object_get(v1, "modelProvider"));
	ex = json_array_get(json_array_get(json_object_get(v1, "messageExamples"), 0), 2);
	assert_string_equal(json_string_value(json_object_get(ex, "name")), "{{user1}}");
	/* c3po lists a plugin by name: kept */
	assert_string_equal(json_string_value(json_array_get(json_object_get(v1, "plugins"), 0)), "@elizaos/plugin-twilio");
	json_decref(v1);
	agent_character_free(c);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_validation_matches_zod_v1),
		cmocka_unit_test(test_big_number_refused_as_text),
		cmocka_unit_test(test_detect_format),
		cmocka_unit_test(test_fixtures_load),
		cmocka_unit_test(test_mr_tee_mapping),
		cmocka_unit_test(test_model_settings_aliases),
		cmocka_unit_test(test_env_secrets_v1),
		cmocka_unit_test(test_errors_in_v1_words),
		cmocka_unit_test(test_0_1_to_v1_shape),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
