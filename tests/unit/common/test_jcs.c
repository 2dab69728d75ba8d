/* RFC 8785 canonical JSON: the RFC's own examples (tests/vectors/jcs-rfc8785.json) and what JCS refuses. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <cmocka.h>

#include "testutil.h"
#include "teeliza/common/jcs.h"

#include <jansson.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

static void test_jcs_rfc_examples(void **state)
{
	json_t *v = vector_json("jcs-rfc8785.json"), *c;
	teeliza_buf out;
	size_t i, n = 0;

	(void)state;
	teeliza_buf_init(&out, 1 << 16);
	json_array_foreach(json_object_get(v, "canonicalize"), i, c) {
		const char *in = json_string_value(json_object_get(c, "input"));
		const char *want = json_string_value(json_object_get(c, "output"));

		assert_int_equal(teeliza_jcs_text(&out, in, strlen(in)), TEELIZA_OK);
		assert_int_equal(out.len, strlen(want));
		assert_memory_equal(out.data, want, out.len);
		n++;
	}
	assert_int_equal(n, 2);
	teeliza_buf_free(&out);
	json_decref(v);
}

static void test_jcs_rfc_numbers(void **state)
{
	json_t *v = vector_json("jcs-rfc8785.json"), *c;
	char got[32];
	size_t i, n = 0, len;
	uint8_t *b;
	uint64_t bits = 0;
	double d;

	(void)state;
	json_array_foreach(json_object_get(v, "numbers"), i, c) {
		json_t *want = json_object_get(c, "output");
		size_t k;

		b = hex_alloc(json_string_value(json_object_get(c, "ieee754")), &len);
		assert_int_equal(len, 8);
		for (bits = 0, k = 0; k < 8; k++)
			bits = bits << 8 | b[k];
		free(b);
		memcpy(&d, &bits, sizeof(d));
		if (json_is_null(want)) {
			assert_int_equal(teeliza_jcs_number(got, d), TEELIZA_ERR_INVALID);
		} else {
			assert_int_equal(teeliza_jcs_number(got, d), TEELIZA_OK);
			assert_string_equal(got, json_string_value(want));
		}
		n++;
	}
	assert_true(n >= 26);
	json_decref(v);
}

static void check(const char *in, const char *want)
{
	teeliza_buf out;

	teeliza_buf_init(&out, 1 << 16);
	assert_int_equal(teeliza_jcs_text(&out, in, strlen(in)), TEELIZA_OK);
	assert_int_equal(out.len, strlen(want));
	assert_memory_equal(out.data, want, out.len);
	teeliza_buf_free(&out);
}

static teeliza_err try(const char *in)
{
	teeliza_buf out;
	teeliza_err err;

	teeliza_buf_init(&out, 1 << 16);
	err = teeliza_jcs_text(&out, in, strlen(in));
	teeliza_buf_free(&out);
	return err;
}

static void test_jcs_details(void **state)
{
	char deep[300];
	size_t i;

	(void)state;
	/* integers up to 2^53 exactly, nested objects sorted, no whitespace */
	check("{ \"b\" : [ 1 , -9007199254740992 ], \"a\":{\"z\":0,\"y\":-0.0}}",
	      "{\"a\":{\"y\":0,\"z\":0},\"b\":[1,-9007199254740992]}");
	/* every control character, DEL and U+2028 literal, NUL in a string */
	check("[\"\\u0000\\u0001\\b\\t\\n\\u000b\\f\\r\\u001f\\u007f\\u2028\"]",
	      "[\"\\u0000\\u0001\\b\\t\\n\\u000b\\f\\r\\u001f\x7f\xe2\x80\xa8\"]");
	/* prefix sorts first; U+FFFF after a supplementary character */
	check("{\"\\uffff\":1,\"\\ud800\\udc00\":2,\"ab\":3,\"a\":4}",
	      "{\"a\":4,\"ab\":3,\"\xf0\x90\x80\x80\":2,\"\xef\xbf\xbf\":1}");
	check("{}", "{}");
	check("[]", "[]");
	check("\"x\"", "\"x\"");
	/* numbers are doubles, as JSON.parse reads them (found by fuzz_receipt: 91E15 canonicalised to an integer
	   text that did not canonicalise again) */
	check("[9007199254740993,-9007199254740993,91E15,100,1E2,-0]",
	      "[9007199254740992,-9007199254740992,91000000000000000,100,100,0]");
	check("[91000000000000000]", "[91000000000000000]");
	assert_int_equal(try("[1e400]"), TEELIZA_ERR_PARSE);
	/* refused: built integers beyond 2^53, duplicate names, depth */
	{
		json_t *big = json_pack("[I]", (json_int_t)9007199254740993LL);
		teeliza_buf out;

		teeliza_buf_init(&out, 64);
		assert_int_equal(teeliza_jcs_append(&out, big), TEELIZA_ERR_INVALID);
		teeliza_buf_free(&out);
		json_decref(big);
	}
	assert_int_equal(try("{\"a\":1,\"a\":2}"), TEELIZA_ERR_PARSE);
	assert_int_equal(try("[1,]"), TEELIZA_ERR_PARSE);
	/* jansson keeps no U+0000 in a member name: refused as input */
	assert_int_equal(try("{\"a\\u0000b\":1}"), TEELIZA_ERR_PARSE);
	for (i = 0; i < JCS_DEPTH_MAX + 2; i++)
		deep[i] = '[';
	for (; i < 2 * (JCS_DEPTH_MAX + 2); i++)
		deep[i] = ']';
	deep[i] = 0;
	assert_int_equal(try(deep), TEELIZA_ERR_TOO_LARGE);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_jcs_rfc_examples),
		cmocka_unit_test(test_jcs_rfc_numbers),
		cmocka_unit_test(test_jcs_details),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
