/*
 * stringToUuid compatibility.
 *
 * Reference values were produced by running the real `stringToUuid` from the
 * npm tarball @elizaos/core@0.1.7 (dist/index.js, with its pinned js-sha1
 * 0.7.0) under node v20.20.2. "Eliza" -> b850bc30-45f8-0041-a00a-83df46d8555d
 * is also the agent id seen in Eliza users' logs for the default character.
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <cmocka.h>

#include "testutil.h"
#include "teeliza/agent/uuid.h"

#include <string.h>

struct ref {
	const char *in;
	const char *uuid;
};

static const struct ref refs[] = {
	{ "Eliza", "b850bc30-45f8-0041-a00a-83df46d8555d" },
	{ "C-3PO", "e61b079d-5226-06e9-9763-a33094aa8d82" },
	{ "user", "12dea96f-ec20-0935-a6ab-75692c994959" },
	{ "default-room-Eliza", "217df98d-3f87-0a35-9a24-e0cd4fb3a9f1" },
	{ "default-room-c-3po", "d51247c7-b60b-0e8c-a712-328d25124cbb" },
	{ "", "da39a3ee-5e6b-0b0d-b255-bfef95601890" },
	{ "hello world", "f0355dd5-2823-054c-ae66-a0b12842c215" },
	{ "\xc3\xbcn\xc3\xaf\x63\xc3\xb6\x64\xc3\xa9 \xe2\x9c\x93 \xf0\x9f\x99\x82", "c661cf2d-009d-0c6c-a892-ed94f71e13e1" },
	{ "1700000000000-user", "e97a2f0a-a87d-01df-a044-9f77bbaa9afd" },
	{ "!~*'()-_.", "870143c7-0226-0746-9693-eaa516cb5247" },
	{ "a/b?c=d&e#f", "4aa63b46-b140-0687-b2bf-ff8a8704ba9b" },
	{ "12345", "8cb2237d-0679-0a88-9b64-64eac60da963" }, /* JS also accepts the number 12345 */
};

static void test_reference_values(void **state)
{
	char out[AGENT_UUID_BUFSZ];

	(void)state;
	for (size_t i = 0; i < sizeof(refs) / sizeof(refs[0]); i++) {
		assert_int_equal(agent_uuid_from_string(out, refs[i].in), TEELIZA_OK);
		assert_string_equal(out, refs[i].uuid);
		assert_true(agent_uuid_is_valid(out));
		/* the quirk: no version digit, variant 8..b */
		assert_int_equal(out[14], '0');
		assert_non_null(strchr("89ab", out[19]));
	}
}

static void test_embedded_nul_and_long(void **state)
{
	char out[AGENT_UUID_BUFSZ];
	char big[1000 + 600 + 1];
	size_t n = 0;

	(void)state;
	assert_int_equal(agent_uuid_from_bytes(out, "a\0b", 3), TEELIZA_OK);
	assert_string_equal(out, "040670a8-2cd6-05a3-b599-f16c20375c24");
	/* "x"*1000 + "é"*300: crosses the internal chunk size many times */
	memset(big, 'x', 1000);
	n = 1000;
	for (int i = 0; i < 300; i++) {
		big[n++] = (char)0xc3;
		big[n++] = (char)0xa9;
	}
	big[n] = '\0';
	assert_int_equal(agent_uuid_from_string(out, big), TEELIZA_OK);
	assert_string_equal(out, "fa28eeac-93f8-0cd8-9f7c-449f0fc441e5");
}

static void test_message_ids(void **state)
{
	char mid[AGENT_UUID_BUFSZ], user[AGENT_UUID_BUFSZ], memid[AGENT_UUID_BUFSZ];

	(void)state;
	/* client-direct: messageId = stringToUuid(Date.now().toString()) */
	assert_int_equal(agent_uuid_from_ms(mid, 1700000000000LL), TEELIZA_OK);
	assert_string_equal(mid, "0d0709bf-f175-0282-b1ca-e6d2ce40ea74");
	assert_int_equal(agent_uuid_user(user, NULL), TEELIZA_OK);
	assert_string_equal(user, "12dea96f-ec20-0935-a6ab-75692c994959");
	/* user memory id = stringToUuid(messageId + "-" + userId) */
	assert_int_equal(agent_uuid_join(memid, mid, user), TEELIZA_OK);
	assert_string_equal(memid, "4be3fe07-75f4-0578-9570-654d7aba2482");
	/* an explicit empty user id is hashed as given (JS `??` keeps "") */
	assert_int_equal(agent_uuid_user(user, ""), TEELIZA_OK);
	assert_string_equal(user, "da39a3ee-5e6b-0b0d-b255-bfef95601890");
}

static void test_room_ids(void **state)
{
	char room[AGENT_UUID_BUFSZ];

	(void)state;
	assert_int_equal(agent_uuid_room(room, NULL, "Eliza"), TEELIZA_OK);
	assert_string_equal(room, "217df98d-3f87-0a35-9a24-e0cd4fb3a9f1");
	assert_int_equal(agent_uuid_room(room, NULL, "C-3PO"), TEELIZA_OK);
	assert_string_equal(room, "e0be51bc-3f14-0d48-a515-9cf9a4e90de8");
	/* a given room string is hashed as is, not prefixed */
	assert_int_equal(agent_uuid_room(room, "default-room-c-3po", "ignored"), TEELIZA_OK);
	assert_string_equal(room, "d51247c7-b60b-0e8c-a712-328d25124cbb");
}

static void test_is_valid(void **state)
{
	(void)state;
	assert_true(agent_uuid_is_valid("00000000-0000-0000-0000-000000000000"));
	assert_true(agent_uuid_is_valid("B850BC30-45F8-0041-A00A-83DF46D8555D"));
	assert_false(agent_uuid_is_valid(""));
	assert_false(agent_uuid_is_valid("not-a-uuid"));
	assert_false(agent_uuid_is_valid("b850bc30-45f8-0041-a00a-83df46d8555"));
	assert_false(agent_uuid_is_valid("b850bc30-45f8-0041-a00a-83df46d8555dd"));
	assert_false(agent_uuid_is_valid("b850bc30_45f8-0041-a00a-83df46d8555d"));
	assert_false(agent_uuid_is_valid("g850bc30-45f8-0041-a00a-83df46d8555d"));
	assert_false(agent_uuid_is_valid("b850bc3045f8-0041-a00a-83df46d8555d-"));
}

static void test_random(void **state)
{
	char a[AGENT_UUID_BUFSZ], b[AGENT_UUID_BUFSZ];

	(void)state;
	assert_int_equal(agent_uuid_random(a), TEELIZA_OK);
	assert_int_equal(agent_uuid_random(b), TEELIZA_OK);
	assert_true(agent_uuid_is_valid(a));
	assert_int_equal(a[14], '4');
	assert_non_null(strchr("89ab", a[19]));
	assert_string_not_equal(a, b);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_reference_values),
		cmocka_unit_test(test_embedded_nul_and_long),
		cmocka_unit_test(test_message_ids),
		cmocka_unit_test(test_room_ids),
		cmocka_unit_test(test_is_valid),
		cmocka_unit_test(test_random),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
