/* .env parsing: dotenv 16.4.5's results (tests/vectors/dotenv-cases.json), and the lines teeliza refuses. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <cmocka.h>

#include "testutil.h"
#include "teeliza/common/dotenv.h"

#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static const char *value_of(const teeliza_dotenv *env, const char *name)
{
	size_t i;

	for (i = 0; i < env->count; i++)
		if (strcmp(env->entries[i].name, name) == 0)
			return env->entries[i].value;
	return NULL;
}

/* Every case: "same" gives exactly dotenv's names and values, "error" is refused with a line number. */
static void test_dotenv_vectors(void **state)
{
	json_t *v = vector_json("dotenv-cases.json"), *c, *want, *val;
	teeliza_dotenv env;
	const char *input, *name, *key;
	size_t i, n_same = 0, n_error = 0;
	teeliza_err err;

	(void)state;
	json_array_foreach(json_object_get(v, "cases"), i, c) {
		name = json_string_value(json_object_get(c, "name"));
		input = json_string_value(json_object_get(c, "input"));
		want = json_object_get(c, "dotenv");
		err = teeliza_dotenv_parse(&env, input, json_string_length(json_object_get(c, "input")));
		if (strcmp(json_string_value(json_object_get(c, "teeliza")), "error") == 0) {
			if (err != TEELIZA_ERR_PARSE)
				fail_msg("case '%s': want a parse error, got %d", name, err);
			assert_non_null(strstr(teeliza_errmsg(), ".env line "));
			assert_int_equal(env.count, 0);
			n_error++;
			continue;
		}
		if (err != TEELIZA_OK)
			fail_msg("case '%s': %s", name, teeliza_errmsg());
		if (env.count != json_object_size(want))
			fail_msg("case '%s': %zu names, dotenv has %zu", name, env.count, json_object_size(want));
		json_object_foreach(want, key, val) {
			const char *got = value_of(&env, key);

			if (got == NULL || strcmp(got, json_string_value(val)) != 0)
				fail_msg("case '%s': %s is '%s', dotenv says '%s'", name, key, got ? got : "(missing)",
				         json_string_value(val));
		}
		teeliza_dotenv_free(&env);
		n_same++;
	}
	assert_true(n_same >= 25 && n_error >= 5);
	json_decref(v);
}

/* Order of first appearance, the line of the last setting, lengths, and what errors say. */
static void test_dotenv_details(void **state)
{
	static const char text[] = "B=1\nA=x\n# c\nB=\"two\nlines\"\n";
	const char *text2;
	teeliza_dotenv env;

	(void)state;
	assert_int_equal(teeliza_dotenv_parse(&env, text, sizeof(text) - 1), TEELIZA_OK);
	assert_int_equal(env.count, 2);
	assert_string_equal(env.entries[0].name, "B");
	assert_string_equal(env.entries[0].value, "two\nlines");
	assert_int_equal(env.entries[0].value_len, 9);
	assert_int_equal(env.entries[0].line, 4);
	assert_string_equal(env.entries[1].name, "A");
	assert_int_equal(env.entries[1].line, 2);
	teeliza_dotenv_free(&env);
	assert_int_equal(env.count, 0);
	assert_null(env.entries);

	/* the error names the line (counted across a multi-line value), never the value */
	text2 = "A='s3cr3t\n\n'\nWALLET_SECRET_SALT=\"s3cr3t\" x\n";
	assert_int_equal(teeliza_dotenv_parse(&env, text2, strlen(text2)), TEELIZA_ERR_PARSE);
	assert_string_equal(teeliza_errmsg(), ".env line 4: text after the closing \" quote (put a # before a comment)");
	assert_int_equal(teeliza_dotenv_parse(&env, "A=\"s3cr3t\n", 10), TEELIZA_ERR_PARSE);
	assert_string_equal(teeliza_errmsg(), ".env line 1: the \" quote is never closed");
	assert_int_equal(teeliza_dotenv_parse(&env, "A=1\nno value here\n", 18), TEELIZA_ERR_PARSE);
	assert_string_equal(teeliza_errmsg(),
	                    ".env line 2: expected NAME=VALUE (NAME of letters, digits, '_', '.', '-')");

	/* NUL bytes: never in a value (setenv could not carry them), fine in a comment */
	assert_int_equal(teeliza_dotenv_parse(&env, "A=x\0y\n", 6), TEELIZA_ERR_PARSE);
	assert_non_null(strstr(teeliza_errmsg(), "NUL"));
	assert_int_equal(teeliza_dotenv_parse(&env, "A=\"x\0y\"\n", 8), TEELIZA_ERR_PARSE);
	assert_int_equal(teeliza_dotenv_parse(&env, "# x\0y\nA=1", 9), TEELIZA_OK);
	assert_string_equal(value_of(&env, "A"), "1");
	teeliza_dotenv_free(&env);

	/* only len bytes are read: the text need not end in NUL, and what follows is ignored */
	assert_int_equal(teeliza_dotenv_parse(&env, "A=12345", 4), TEELIZA_OK);
	assert_string_equal(value_of(&env, "A"), "12");
	teeliza_dotenv_free(&env);
	assert_int_equal(teeliza_dotenv_parse(&env, "A=\"x\"", 4), TEELIZA_ERR_PARSE);
	assert_int_equal(teeliza_dotenv_parse(&env, NULL, 0), TEELIZA_OK);
	assert_int_equal(env.count, 0);
	teeliza_dotenv_free(&env);
}

static void test_dotenv_limits(void **state)
{
	teeliza_dotenv env;
	teeliza_buf b;
	size_t i;
	char *big;

	(void)state;
	big = calloc(1, TEELIZA_DOTENV_MAX + 1);
	assert_non_null(big);
	memset(big, '#', TEELIZA_DOTENV_MAX + 1);
	assert_int_equal(teeliza_dotenv_parse(&env, big, TEELIZA_DOTENV_MAX + 1), TEELIZA_ERR_TOO_LARGE);
	assert_int_equal(teeliza_dotenv_parse(&env, big, TEELIZA_DOTENV_MAX), TEELIZA_OK);
	free(big);

	teeliza_buf_init(&b, TEELIZA_DOTENV_MAX);
	for (i = 0; i <= TEELIZA_DOTENV_MAX_ENTRIES; i++)
		assert_int_equal(teeliza_buf_printf(&b, "N%zu=%zu\n", i, i), TEELIZA_OK);
	assert_int_equal(teeliza_dotenv_parse(&env, (const char *)b.data, b.len), TEELIZA_ERR_TOO_LARGE);
	/* the same name again and again is one entry */
	teeliza_buf_reset(&b);
	for (i = 0; i <= TEELIZA_DOTENV_MAX_ENTRIES; i++)
		assert_int_equal(teeliza_buf_printf(&b, "N=%zu\n", i), TEELIZA_OK);
	assert_int_equal(teeliza_dotenv_parse(&env, (const char *)b.data, b.len), TEELIZA_OK);
	assert_int_equal(env.count, 1);
	teeliza_dotenv_free(&env);
	teeliza_buf_free(&b);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_dotenv_vectors),
		cmocka_unit_test(test_dotenv_details),
		cmocka_unit_test(test_dotenv_limits),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
