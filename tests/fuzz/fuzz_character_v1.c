/*
 * Fuzz elizaOS 1.x (v1) character loading with JSON text:
 *  - agent_character_v1_validate fails exactly when it reports lines
 *    (`path: message`); a document that is not an object gets one root line;
 *  - agent_character_v1_from_json loads exactly what validates; a loaded
 *    character's accessors agree with its document, its id is a UUID, its
 *    v1 form passes the schema again and is a fixed point (loading it gives
 *    it back), and neither its v1 form nor its 0.1.x form for the API
 *    carries secrets when asked without them;
 *  - the detecting entry point (agent_character_from_json) reads a v1
 *    document with exactly the v1 verdict and message;
 *  - any 0.1.x character that loads converts to a v1 form the schema takes
 *    (unless its name is empty, which 0.1.x allows and 1.x does not).
 */
#include "fuzz.h"

#include "teeliza/agent/character.h"
#include "teeliza/agent/character_v1.h"
#include "teeliza/agent/uuid.h"

#include <jansson.h>
#include <string.h>

static void check_lines(const teeliza_buf *issues, teeliza_err err, const json_t *root)
{
	const char *s = (const char *)issues->data;

	FUZZ_CHECK(s != NULL);
	FUZZ_CHECK((err == TEELIZA_OK) == (s[0] == '\0'));
	if (!json_is_object(root))
		FUZZ_CHECK(strncmp(s, ": Invalid input: expected object, received ", 43) == 0 && strchr(s, '\n') == NULL);
	/* a path and a message (lines are not split here: a key may hold a newline, which zod prints as it is) */
	if (err != TEELIZA_OK)
		FUZZ_CHECK(strstr(s, ": ") != NULL);
}

static void check_no_secrets(const json_t *j)
{
	FUZZ_CHECK(json_object_get(j, "secrets") == NULL);
	FUZZ_CHECK(json_object_get(json_object_get(j, "settings"), "secrets") == NULL);
}

static void check_loaded(agent_character *c, const json_t *root)
{
	json_t *v1 = agent_character_to_v1_json(c, true), *bare = agent_character_to_v1_json(c, false);
	json_t *api = agent_character_to_json(c, false);
	agent_character *again = NULL;
	const json_t *bio = json_object_get(root, "bio");

	FUZZ_CHECK(v1 != NULL && bare != NULL && api != NULL);
	FUZZ_CHECK(agent_character_format_of(c) == AGENT_CHARACTER_FORMAT_V1);
	FUZZ_CHECK(agent_uuid_is_valid(agent_character_id(c)));
	FUZZ_CHECK(strcmp(agent_character_name(c), json_string_value(json_object_get(root, "name"))) == 0);
	FUZZ_CHECK(agent_character_list_count(c, AGENT_CHAR_BIO) == (json_is_string(bio) ? 1 : json_array_size(bio)));
	FUZZ_CHECK(agent_character_example_count(c) == json_array_size(json_object_get(root, "messageExamples")));
	FUZZ_CHECK(agent_character_list_count(c, AGENT_CHAR_LORE) == 0);
	(void)agent_character_get_setting(c, "OPENAI_API_URL");
	(void)agent_character_get_setting(c, "LARGE_OLLAMA_MODEL");
	(void)agent_character_secret(c, "OPENAI_API_KEY");
	FUZZ_CHECK(agent_character_v1_validate(NULL, v1) == TEELIZA_OK);
	FUZZ_CHECK(strcmp(json_string_value(json_object_get(v1, "id")), agent_character_id(c)) == 0);
	check_no_secrets(bare);
	FUZZ_CHECK(json_object_get(json_object_get(api, "settings"), "secrets") == NULL);
	FUZZ_CHECK(json_object_get(api, "secrets") == NULL);
	/* what the v1 API shows loads back to itself */
	FUZZ_CHECK(agent_character_v1_from_json(&again, NULL, v1, NULL) == TEELIZA_OK);
	{
		json_t *v1b = agent_character_to_v1_json(again, true);

		FUZZ_CHECK(v1b != NULL && json_equal(v1, v1b));
		FUZZ_CHECK(strcmp(agent_character_id(again), agent_character_id(c)) == 0);
		json_decref(v1b);
	}
	agent_character_free(again);
	json_decref(v1);
	json_decref(bare);
	json_decref(api);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	json_t *root;
	json_error_t jerr;
	teeliza_buf issues, report, report2;
	agent_character *c = NULL, *c2 = NULL;
	teeliza_err err, err_load, err_detect;

	root = json_loadb((const char *)data, size, JSON_DECODE_ANY, &jerr);
	if (root == NULL)
		return 0;
	err = agent_character_v1_validate(&issues, root);
	FUZZ_CHECK(err == TEELIZA_OK || err == TEELIZA_ERR_INVALID);
	check_lines(&issues, err, root);

	err_load = agent_character_v1_from_json(&c, &report, root, NULL);
	FUZZ_CHECK(err_load == err);
	if (err == TEELIZA_OK)
		check_loaded(c, root);
	else
		FUZZ_CHECK(c == NULL && strncmp((const char *)report.data, AGENT_CHARACTER_V1_INVALID_PREFIX,
		                                strlen(AGENT_CHARACTER_V1_INVALID_PREFIX)) == 0);

	err_detect = agent_character_from_json(&c2, &report2, root, NULL);
	if (agent_character_detect_format(root) == AGENT_CHARACTER_FORMAT_V1) {
		FUZZ_CHECK(err_detect == err);
		if (err != TEELIZA_OK)
			FUZZ_CHECK(strcmp((const char *)report.data, (const char *)report2.data) == 0);
	} else if (err_detect == TEELIZA_OK) {
		json_t *v1 = agent_character_to_v1_json(c2, false);

		FUZZ_CHECK(agent_character_format_of(c2) == AGENT_CHARACTER_FORMAT_0_1);
		/* 0.1.x takes an empty name, 1.x does not: that one field may stay invalid */
		FUZZ_CHECK(v1 != NULL);
		if (agent_character_name(c2)[0] != '\0')
			FUZZ_CHECK(agent_character_v1_validate(NULL, v1) == TEELIZA_OK);
		check_no_secrets(v1);
		json_decref(v1);
	}
	agent_character_free(c);
	agent_character_free(c2);
	teeliza_buf_free(&issues);
	teeliza_buf_free(&report);
	teeliza_buf_free(&report2);
	json_decref(root);
	return 0;
}
