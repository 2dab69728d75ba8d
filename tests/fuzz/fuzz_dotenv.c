/*
 * Fuzz the .env parser (teeliza start, derive, quote and info read the
 * nearest .env). Invariants: a failure leaves nothing behind; names are
 * unique and of dotenv's characters; values hold no NUL and their length
 * is right; parsing is deterministic; and every value that NAME='value'
 * can say, written back so, parses back to itself.
 */
#include "fuzz.h"

#include "teeliza/common/dotenv.h"

#include <string.h>

static bool name_ok(const char *s)
{
	if (*s == 0)
		return false;
	for (; *s; s++)
		if (!((*s >= 'A' && *s <= 'Z') || (*s >= 'a' && *s <= 'z') || (*s >= '0' && *s <= '9') || *s == '_' ||
		      *s == '.' || *s == '-'))
			return false;
	return true;
}

/*
 * Can NAME='value' say this value? Not with a ' in it, nor a CR (read back
 * as LF), nor a final backslash (it would escape the closing quote).
 */
static bool writable(const teeliza_dotenv_entry *e)
{
	return memchr(e->value, '\'', e->value_len) == NULL && memchr(e->value, '\r', e->value_len) == NULL &&
	       (e->value_len == 0 || e->value[e->value_len - 1] != '\\');
}

static void check_round_trip(const teeliza_dotenv *env)
{
	teeliza_dotenv back;
	teeliza_buf text;
	size_t i, n = 0;

	teeliza_buf_init(&text, 4 * TEELIZA_DOTENV_MAX);
	for (i = 0; i < env->count; i++) {
		const teeliza_dotenv_entry *e = &env->entries[i];

		if (!writable(e))
			continue;
		FUZZ_CHECK(teeliza_buf_printf(&text, "%s='%s'\n", e->name, e->value) == TEELIZA_OK);
		n++;
	}
	if (text.len <= TEELIZA_DOTENV_MAX) {
		FUZZ_CHECK(teeliza_dotenv_parse(&back, (const char *)text.data, text.len) == TEELIZA_OK);
		FUZZ_CHECK(back.count == n);
		for (i = 0, n = 0; i < env->count; i++) {
			const teeliza_dotenv_entry *e = &env->entries[i];

			if (!writable(e))
				continue;
			FUZZ_CHECK(strcmp(back.entries[n].name, e->name) == 0);
			FUZZ_CHECK(back.entries[n].value_len == e->value_len);
			FUZZ_CHECK(memcmp(back.entries[n].value, e->value, e->value_len) == 0);
			n++;
		}
		teeliza_dotenv_free(&back);
	}
	teeliza_buf_free(&text);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	teeliza_dotenv env, again;
	teeliza_err err;
	size_t i, j;

	err = teeliza_dotenv_parse(&env, (const char *)data, size);
	FUZZ_CHECK((teeliza_dotenv_parse(&again, (const char *)data, size) == TEELIZA_OK) == (err == TEELIZA_OK));
	if (err != TEELIZA_OK) {
		FUZZ_CHECK(err == TEELIZA_ERR_PARSE || err == TEELIZA_ERR_TOO_LARGE || err == TEELIZA_ERR_NOMEM);
		FUZZ_CHECK(env.count == 0 && env.entries == NULL);
		return 0;
	}
	FUZZ_CHECK(env.count <= TEELIZA_DOTENV_MAX_ENTRIES && again.count == env.count);
	for (i = 0; i < env.count; i++) {
		const teeliza_dotenv_entry *e = &env.entries[i];

		FUZZ_CHECK(name_ok(e->name));
		FUZZ_CHECK(e->value != NULL && strlen(e->value) == e->value_len && e->value_len <= size);
		FUZZ_CHECK(e->line >= 1);
		FUZZ_CHECK(strcmp(again.entries[i].name, e->name) == 0 && strcmp(again.entries[i].value, e->value) == 0);
		for (j = 0; j < i; j++)
			FUZZ_CHECK(strcmp(env.entries[j].name, e->name) != 0);
	}
	check_round_trip(&env);
	teeliza_dotenv_free(&again);
	teeliza_dotenv_free(&env);
	return 0;
}
