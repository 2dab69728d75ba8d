/* tappd's TdxQuote report_data: every algorithm, raw, custom prefix, errors. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <cmocka.h>

#include "testutil.h"
#include "teeliza/common/common.h"
#include "teeliza/common/keccak.h"
#include "teeliza/tee/reportdata.h"

#include <openssl/evp.h>
#include <stdlib.h>
#include <string.h>

/* plugin-tee.json report_data[]: the wire hex is the content; null algorithm = default. */
static void test_report_data_vectors(void **state)
{
	json_t *v = vector_json("plugin-tee.json");
	json_t *cases = json_object_get(v, "report_data");
	size_t i, n, checked = 0;

	(void)state;
	assert_true(json_array_size(cases) >= 40);
	for (i = 0; i < json_array_size(cases); i++) {
		json_t *c = json_array_get(cases, i);
		const char *alg = json_string_value(json_object_get(c, "hash_algorithm"));
		const char *prefix = json_string_value(json_object_get(c, "prefix"));
		const char *input = json_string_value(json_object_get(c, "input_utf8"));
		const char *sent = json_string_value(json_object_get(c, "sent_report_data_hex"));
		const char *expect = json_string_value(json_object_get(c, "final_report_data_64B_hex"));
		uint8_t out[64], *content;

		assert_non_null(input);
		assert_non_null(expect);
		if (sent != NULL) {
			content = hex_alloc(sent, &n);
			assert_int_equal(n, strlen(input));
			assert_memory_equal(content, input, n);
		} else {
			n = strlen(input);
			content = malloc(n + 1);
			assert_non_null(content);
			memcpy(content, input, n);
		}
		assert_int_equal(tee_report_data(out, alg, prefix, content, n), TEELIZA_OK);
		assert_hex_equal(out, 64, expect);
		if (alg == NULL) {
			/* an empty algorithm name and prefix are the defaults too */
			assert_int_equal(tee_report_data(out, "", "", content, n), TEELIZA_OK);
			assert_hex_equal(out, 64, expect);
		}
		free(content);
		checked++;
	}
	assert_int_equal(checked, json_array_size(cases));
	json_decref(v);
}

/*
 * plugin-tee.json raw[]: the SDK pads short input client-side to exactly 64
 * bytes (its final_report_data_64B_hex) and throws on longer input, so the
 * server sees 64 bytes and copies them.
 */
static void test_raw_vectors(void **state)
{
	json_t *v = vector_json("plugin-tee.json");
	json_t *cases = json_object_get(v, "raw");
	size_t i, n, ok = 0;

	(void)state;
	assert_true(json_array_size(cases) >= 4);
	for (i = 0; i < json_array_size(cases); i++) {
		const char *expect = json_string_value(json_object_get(json_array_get(cases, i),
		                                                       "final_report_data_64B_hex"));
		uint8_t out[64], *content;

		if (expect == NULL)
			continue; /* an SDK-side error case: nothing reaches the server */
		content = hex_alloc(expect, &n);
		assert_int_equal(n, 64);
		assert_int_equal(tee_report_data(out, "raw", NULL, content, n), TEELIZA_OK);
		assert_memory_equal(out, content, 64);
		/* the prefix plays no part in raw */
		assert_int_equal(tee_report_data(out, "raw", "my-tag", content, n), TEELIZA_OK);
		assert_memory_equal(out, content, 64);
		free(content);
		ok++;
	}
	assert_int_equal(ok, 4);
	json_decref(v);
}

static void test_raw_wrong_length(void **state)
{
	uint8_t content[65], out[64];
	size_t lens[] = {0, 3, 63, 65};
	size_t i;

	(void)state;
	memset(content, 0x11, sizeof(content));
	for (i = 0; i < sizeof(lens) / sizeof(lens[0]); i++) {
		memset(out, 0xee, sizeof(out));
		assert_int_equal(tee_report_data(out, "raw", NULL, content, lens[i]), TEELIZA_ERR_INVALID);
		assert_string_equal(teeliza_errmsg(), "invalid content length");
		/* the output is zeroed on failure */
		for (size_t j = 0; j < 64; j++)
			assert_int_equal(out[j], 0);
	}
}

static void test_bad_algorithm(void **state)
{
	json_t *v = vector_json("plugin-tee.json");
	const char *expect = json_string_value(json_object_get(v, "bad_alg_error"));
	const char *bad[] = {"sha3_256", "SHA256", "md5", "sha1", "keccak", "sha256 ", "raw64"};
	uint8_t out[64];
	size_t i;

	(void)state;
	assert_non_null(expect);
	for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		memset(out, 0xee, sizeof(out));
		assert_int_equal(tee_report_data(out, bad[i], NULL, (const uint8_t *)"hello", 5), TEELIZA_ERR_INVALID);
		assert_string_equal(teeliza_errmsg(), expect);
		assert_false(tee_hash_algorithm_valid(bad[i]));
		for (size_t j = 0; j < 64; j++)
			assert_int_equal(out[j], 0);
	}
	json_decref(v);
}

static void test_algorithm_names(void **state)
{
	const char *good[] = {"sha256", "sha384", "sha512", "sha3-256", "sha3-384", "sha3-512",
	                      "keccak256", "keccak384", "keccak512", "raw", "", NULL};
	size_t i;

	(void)state;
	for (i = 0; i < sizeof(good) / sizeof(good[0]); i++)
		assert_true(tee_hash_algorithm_valid(good[i]));
}

/* A custom prefix is followed by ':' as well; checked against OpenSSL directly. */
static void test_custom_prefix(void **state)
{
	const char *algs[] = {"sha256", "sha384", "sha512", "sha3-256", "sha3-384", "sha3-512"};
	const char *mds[] = {"SHA256", "SHA384", "SHA512", "SHA3-256", "SHA3-384", "SHA3-512"};
	const char *msg = "my-tag:hello";
	uint8_t out[64], expect[64];
	size_t i, n;

	(void)state;
	for (i = 0; i < sizeof(algs) / sizeof(algs[0]); i++) {
		memset(expect, 0, sizeof(expect));
		assert_int_equal(EVP_Q_digest(NULL, mds[i], NULL, msg, strlen(msg), expect, &n), 1);
		assert_int_equal(tee_report_data(out, algs[i], "my-tag", (const uint8_t *)"hello", 5), TEELIZA_OK);
		assert_memory_equal(out, expect, 64);
	}
	memset(expect, 0, sizeof(expect));
	teeliza_keccak384(expect, msg, strlen(msg));
	assert_int_equal(tee_report_data(out, "keccak384", "my-tag", (const uint8_t *)"hello", 5), TEELIZA_OK);
	assert_memory_equal(out, expect, 64);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_report_data_vectors),
		cmocka_unit_test(test_raw_vectors),
		cmocka_unit_test(test_raw_wrong_length),
		cmocka_unit_test(test_bad_algorithm),
		cmocka_unit_test(test_algorithm_names),
		cmocka_unit_test(test_custom_prefix),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
