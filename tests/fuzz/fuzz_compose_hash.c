/*
 * Fuzz the compose-hash canonicalizer (tee_compose_canonical): any input
 * either fails cleanly or gives JSON that reads back, that canonicalizes to
 * itself (sorted keys, JS numbers and strings are fixed points), whose
 * SHA-256 tee_compose_hash returns, and (normalized) that no longer has what
 * the SDK's preprocessAppCompose drops.
 */
#include "fuzz.h"

#include "teeliza/tee/compose_hash.h"

#include <jansson.h>
#include <string.h>

static void check_canonical(const uint8_t *data, size_t size, bool normalize)
{
	teeliza_buf out, again;
	uint8_t h1[32], h2[32];
	json_t *back;
	teeliza_err err;

	teeliza_buf_init(&out, 64u << 20);
	err = tee_compose_canonical(&out, (const char *)data, size, normalize);
	if (err) {
		FUZZ_CHECK(err == TEELIZA_ERR_PARSE || err == TEELIZA_ERR_TOO_LARGE || err == TEELIZA_ERR_NOMEM);
		FUZZ_CHECK(tee_compose_hash(h1, (const char *)data, size, normalize) == err);
		teeliza_buf_free(&out);
		return;
	}
	back = json_loadb((const char *)out.data, out.len, JSON_REJECT_DUPLICATES | JSON_ALLOW_NUL | JSON_DECODE_INT_AS_REAL, NULL);
	FUZZ_CHECK(json_is_object(back));
	if (normalize) {
		const char *runner = json_string_value(json_object_get(back, "runner"));

		if (runner != NULL && strcmp(runner, "bash") == 0)
			FUZZ_CHECK(json_object_get(back, "docker_compose_file") == NULL);
		if (runner != NULL && strcmp(runner, "docker-compose") == 0)
			FUZZ_CHECK(json_object_get(back, "bash_script") == NULL);
	}
	json_decref(back);
	teeliza_buf_init(&again, 64u << 20);
	FUZZ_CHECK(tee_compose_canonical(&again, (const char *)out.data, out.len, false) == TEELIZA_OK);
	FUZZ_CHECK(again.len == out.len && memcmp(again.data, out.data, out.len) == 0);
	FUZZ_CHECK(tee_compose_hash(h1, (const char *)data, size, normalize) == TEELIZA_OK);
	tee_compose_hash_raw(h2, out.data, out.len);
	FUZZ_CHECK(memcmp(h1, h2, 32) == 0);
	teeliza_buf_free(&again);
	teeliza_buf_free(&out);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	check_canonical(data, size, false);
	check_canonical(data, size, true);
	return 0;
}
