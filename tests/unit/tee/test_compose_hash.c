/*
 * The compose hash (compose_hash.h): hashes computed by @phala/dstack-sdk
 * 0.5.8's getComposeHash (node, with and without normalize), the JS forms
 * of numbers, strings and key order, and what is refused.
 * tests/interop/compose_hash.test.sh compares with the SDK itself.
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <cmocka.h>

#include "testutil.h"
#include "teeliza/common/common.h"
#include "teeliza/tee/compose_hash.h"

#include <string.h>

/* getComposeHash(JSON.parse(text)) and getComposeHash(JSON.parse(text), true), from node. */
static void test_sdk_vectors(void **state)
{
	static const struct {
		const char *text, *hash, *normalized;
	} rows[] = {
		{"{\"runner\":\"docker-compose\",\"name\":\"n\",\"docker_compose_file\":\"services: {}\",\"manifest_version\":2}",
		 "3ac8da0f3bf54cadadc103dd755db71f2e260b20c0ef8fec7c3be7310daa3ed2",
		 "3ac8da0f3bf54cadadc103dd755db71f2e260b20c0ef8fec7c3be7310daa3ed2"},
		{"{\"b\":[{\"d\":1e21,\"c\":0.1}],\"a\":-0,\"\xc3\xa9\":\"\\u0001\"}",
		 "109abb763c6a4b9a0c7d0c5d0bf1751506c5969708bd9f25f1ea587eb05d855d",
		 "109abb763c6a4b9a0c7d0c5d0bf1751506c5969708bd9f25f1ea587eb05d855d"},
		{"{\"runner\":\"bash\",\"bash_script\":\"b\",\"docker_compose_file\":\"d\",\"pre_launch_script\":\"\"}",
		 "dc1e669af4acfbdc4890938dcc386bd58c3f700677003c6e83fbdf9f20a38836",
		 "968606e90c0f9150b3e807173b0357df89c67503c47d43a9ed4413c280eac4a6"},
	};
	static const char sdk_text[] =
		"{\"docker_compose_file\":\"services: {}\",\"manifest_version\":2,\"name\":\"n\",\"runner\":\"docker-compose\"}";
	uint8_t h[32];
	size_t i;

	(void)state;
	for (i = 0; i < sizeof(rows) / sizeof(rows[0]); i++) {
		assert_int_equal(tee_compose_hash(h, rows[i].text, strlen(rows[i].text), false), TEELIZA_OK);
		assert_hex_equal(h, 32, rows[i].hash);
		assert_int_equal(tee_compose_hash(h, rows[i].text, strlen(rows[i].text), true), TEELIZA_OK);
		assert_hex_equal(h, 32, rows[i].normalized);
	}
	/* the raw hash of the SDK's own text is the same: what the OS measures for it */
	tee_compose_hash_raw(h, sdk_text, strlen(sdk_text));
	assert_hex_equal(h, 32, rows[0].hash);
}

static void canon_is(const char *in, const char *want)
{
	teeliza_buf out;

	teeliza_buf_init(&out, 1u << 20);
	if (tee_compose_canonical(&out, in, strlen(in), false) != TEELIZA_OK)
		fail_msg("%s: %s", in, teeliza_errmsg());
	if (out.len != strlen(want) || memcmp(out.data, want, out.len) != 0)
		fail_msg("%s: got %.*s, want %s", in, (int)out.len, (const char *)out.data, want);
	teeliza_buf_free(&out);
}

/* JSON.stringify's forms (values from node). */
static void test_js_forms(void **state)
{
	(void)state;
	canon_is("{\"a\":1.0,\"b\":1e21,\"c\":1e20,\"d\":1e-7,\"e\":0.000001,\"f\":-0,\"g\":-2.5E+3}",
	         "{\"a\":1,\"b\":1e+21,\"c\":100000000000000000000,\"d\":1e-7,\"e\":0.000001,\"f\":0,\"g\":-2500}");
	canon_is("{\"a\":123456789012345678901,\"b\":5e-324,\"c\":1.7976931348623157e308,\"d\":0.30000000000000004,\"e\":123e-20}",
	         "{\"a\":123456789012345680000,\"b\":5e-324,\"c\":1.7976931348623157e+308,\"d\":0.30000000000000004,"
	         "\"e\":1.23e-18}");
	canon_is("{\"s\":\"\\\" \\\\ \\/ \\t\\n\\r\\b\\f \\u0001\\u001f\\u007f \\u2028 \\ud83d\\ude00\",\"n\":\"a\\u0000b\"}",
	         "{\"n\":\"a\\u0000b\",\"s\":\"\\\" \\\\ / \\t\\n\\r\\b\\f \\u0001\\u001f\x7f \xe2\x80\xa8 \xf0\x9f\x98\x80\"}");
	/* index keys first, numerically; the rest by UTF-16 code units (U+1F600 before U+E000) */
	canon_is("{\"b\":1,\"10\":2,\"9\":3,\"01\":4,\"4294967295\":5,\"4294967294\":6,\"\\ue000\":7,\"\\ud83d\\ude00\":8,\"B\":9}",
	         "{\"9\":3,\"10\":2,\"4294967294\":6,\"01\":4,\"4294967295\":5,\"B\":9,\"b\":1,\"\xf0\x9f\x98\x80\":8,"
	         "\"\xee\x80\x80\":7}");
	/* an object with a "constructor" key is left in its order, and all inside it */
	canon_is("{\"z\":{\"constructor\":1,\"b\":{\"y\":1,\"x\":2},\"a\":0,\"1\":0},\"a\":{\"b\":1,\"a\":2}}",
	         "{\"a\":{\"a\":2,\"b\":1},\"z\":{\"1\":0,\"constructor\":1,\"b\":{\"y\":1,\"x\":2},\"a\":0}}");
	canon_is(" {\"a\" : [ 1 , { \"c\":true, \"b\":null } ] }\n", "{\"a\":[1,{\"b\":null,\"c\":true}]}");
}

static void test_refused(void **state)
{
	static const struct {
		const char *text;
		teeliza_err err;
		const char *msg;
	} rows[] = {
		{"[]", TEELIZA_ERR_PARSE, "app-compose is not a JSON object"},
		{"", TEELIZA_ERR_PARSE, "app-compose is not valid JSON"},
		{"{\"a\":1,\"a\":2}", TEELIZA_ERR_PARSE, "duplicate object key"},
		{"{\"x\":{\"__proto__\":{}}}", TEELIZA_ERR_PARSE, "a key \"__proto__\""},
		{"{\"a\":1e400}", TEELIZA_ERR_PARSE, "app-compose is not valid JSON"},
		{"{\"a\":\"\\ud800\"}", TEELIZA_ERR_PARSE, "app-compose is not valid JSON"},
		{"\xef\xbb\xbf{}", TEELIZA_ERR_PARSE, "app-compose is not valid JSON"},
	};
	char deep[300];
	teeliza_buf out;
	size_t i;

	(void)state;
	teeliza_buf_init(&out, 1u << 20);
	for (i = 0; i < sizeof(rows) / sizeof(rows[0]); i++) {
		teeliza_err err = tee_compose_canonical(&out, rows[i].text, strlen(rows[i].text), false);

		if (err != rows[i].err || strstr(teeliza_errmsg(), rows[i].msg) == NULL)
			fail_msg("%s: got %d \"%s\", want \"%s\"", rows[i].text, err, teeliza_errmsg(), rows[i].msg);
		teeliza_buf_reset(&out);
	}
	memset(deep, '[', sizeof(deep));
	memcpy(deep, "{\"a\":", 5);
	memset(deep + 150, ']', 145);
	deep[295] = '}';
	assert_int_equal(tee_compose_canonical(&out, deep, 296, false), TEELIZA_ERR_PARSE);
	assert_non_null(strstr(teeliza_errmsg(), "nested deeper than 64 levels"));
	teeliza_buf_free(&out);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_sdk_vectors),
		cmocka_unit_test(test_js_forms),
		cmocka_unit_test(test_refused),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
