/* The offline ELIZA responder: script, matching, reflection, memory, persona, actions, limits. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <cmocka.h>

#include "testutil.h"
#include "teeliza/agent/eliza.h"
#include "agent/eliza/eliza_internal.h"

#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

/* A character of our own, so the checks do not depend on the bundled one. */
static const char zorblax_json[] =
	"{\"name\":\"Zorblax\",\"modelProvider\":\"openai\",\"clients\":[],\"plugins\":[],"
	"\"bio\":[\"Zorblax keeps the lighthouse on Kelp Rock.\",\"Zorblax counts waves for a living.\"],"
	"\"lore\":[\"Zorblax once traded a lantern for a map.\"],"
	"\"adjectives\":[\"salty\",\"patient\"],"
	"\"topics\":[\"tides\",\"lanterns\",\"knots\",\"gulls\"],"
	"\"postExamples\":[],"
	"\"messageExamples\":[["
	"{\"user\":\"{{user1}}\",\"content\":{\"text\":\"How is the weather at the rock?\"}},"
	"{\"user\":\"Zorblax\",\"content\":{\"text\":\"Grey and loud, {{user1}}, as always.\"}}],["
	"{\"user\":\"{{user1}}\",\"content\":{\"text\":\"Show me your proof of residence\"}},"
	"{\"user\":\"Zorblax\",\"content\":{\"text\":\"Here it comes.\",\"action\":\"REMOTE_ATTESTATION\"}}]],"
	"\"style\":{\"all\":[\"short sentences\"],\"chat\":[],\"post\":[]}}";

static const char lower_json[] =
	"{\"name\":\"Quiet\",\"modelProvider\":\"openai\",\"clients\":[],\"plugins\":[],"
	"\"bio\":[\"Quiet Speaks Softly.\"],\"lore\":[],\"adjectives\":[],\"topics\":[],"
	"\"postExamples\":[],\"messageExamples\":[],"
	"\"style\":{\"all\":[\"always write in lowercase\"],\"chat\":[],\"post\":[]}}";

static const char *const wallet_kw[] = { "wallet", "address", "solana", "evm", "public key", NULL };
static const char *const ra_kw[] = { "attest*", "quote", "tee", "prove", NULL };
static const char *const ra_sim[] = { "TEE_REMOTE_ATTESTATION", "TEE_ATTESTATION", NULL };
static const char *const ignore_kw[] = { "bye", "stop talking", "shut up", NULL };

static const agent_action_hint hints[] = {
	{ "NONE", NULL, NULL, NULL },
	{ "WALLET_ADDRESS", NULL, wallet_kw, NULL },
	{ "REMOTE_ATTESTATION", ra_sim, ra_kw, "Here is my attestation." },
	{ "IGNORE", NULL, ignore_kw, NULL },
};
#define N_HINTS (sizeof(hints) / sizeof(hints[0]))

struct fixture {
	agent_character *c;
	agent_eliza_persona *p;
	agent_eliza *e;
	teeliza_buf out;
};

static struct fixture *fixture_new(const char *json, uint64_t seed)
{
	struct fixture *f = calloc(1, sizeof(*f));

	assert_non_null(f);
	if (json != NULL)
		assert_int_equal(agent_character_from_text(&f->c, NULL, json, strlen(json), NULL), TEELIZA_OK);
	assert_int_equal(agent_eliza_persona_new(&f->p, f->c), TEELIZA_OK);
	assert_int_equal(agent_eliza_new(&f->e, f->p, seed), TEELIZA_OK);
	teeliza_buf_init(&f->out, 1 << 20);
	return f;
}

static void fixture_free(struct fixture *f)
{
	teeliza_buf_free(&f->out);
	agent_eliza_free(f->e);
	agent_eliza_persona_free(f->p);
	agent_character_free(f->c);
	free(f);
}

static const char *say(struct fixture *f, const char *text)
{
	assert_int_equal(agent_eliza_respond(f->e, &f->out, text, strlen(text)), TEELIZA_OK);
	assert_true(f->out.len > 0);
	assert_int_equal(strlen((const char *)f->out.data), f->out.len);
	return (const char *)f->out.data;
}

/* The reply as JSON, checked for shape; caller json_decref()s. */
static json_t *say_json(struct fixture *f, const char *text, size_t len)
{
	json_error_t jerr;
	json_t *j;

	assert_int_equal(agent_eliza_reply_json(f->e, &f->out, text, len, hints, N_HINTS), TEELIZA_OK);
	j = json_loadb((const char *)f->out.data, f->out.len, 0, &jerr);
	if (j == NULL)
		fail_msg("reply is not JSON (%s): %s", jerr.text, (const char *)f->out.data);
	assert_true(json_is_object(j));
	assert_int_equal(json_object_size(j), 3);
	assert_true(json_is_string(json_object_get(j, "user")));
	assert_true(json_is_string(json_object_get(j, "text")));
	assert_true(json_string_length(json_object_get(j, "text")) > 0);
	assert_true(json_is_string(json_object_get(j, "action")));
	return j;
}

static const char *jtext(const json_t *j)
{
	return json_string_value(json_object_get(j, "text"));
}

static const char *jaction(const json_t *j)
{
	return json_string_value(json_object_get(j, "action"));
}

static void test_script_compiles(void **state)
{
	const struct elz_script *s = elz_script_builtin();

	(void)state;
	assert_non_null(s);
	assert_true(s->n_keys > 30);
	assert_true(s->key_none >= 0 && s->key_empty >= 0 && s->key_greet >= 0);
	assert_non_null(elz_lex_find(s, "remember", 8));
	assert_true(elz_lex_find(s, "remember", 8)->key >= 0);
	assert_true(elz_lex_find(s, "i'm", 3)->pre >= 0);
	assert_null(elz_lex_find(s, "zzyzx", 5));
}

static void expect_compile_error(const char *text, const char *needle)
{
	struct elz_script *s = malloc(sizeof(*s));
	char *storage = (char *)1;

	assert_non_null(s);
	assert_int_not_equal(elz_script_compile(s, &storage, text), TEELIZA_OK);
	assert_null(storage);
	if (strstr(teeliza_errmsg(), needle) == NULL)
		fail_msg("error \"%s\" lacks \"%s\"", teeliza_errmsg(), needle);
	free(s);
}

static void test_script_errors(void **state)
{
	static const char specials[] = "special %none\ndecomp *\n> a\nspecial %empty\ndecomp *\n> b\n"
	                               "special %greet\ndecomp *\n> c\n";
	char buf[512];

	(void)state;
	expect_compile_error("frobnicate x\n", "line 1: unknown directive");
	expect_compile_error("> text before any pattern\n", "reassembly before any pattern");
	expect_compile_error("decomp * x *\n", "pattern before any key");
	expect_compile_error("key x 1\ndecomp * x *\n> $4\n", "$N beyond");
	expect_compile_error("key x 1\ndecomp * x *\n> $nope\n", "unknown $variable");
	expect_compile_error("key x 1\ndecomp * @nogroup *\n> a\n", "unknown group");
	expect_compile_error("key x 1\ndecomp * X *\n> a\n", "lowercase");
	expect_compile_error("key x 999\n", "rank above 255");
	expect_compile_error("key x 256\n", "rank above 255");
	/* strtoul read these as ranks: a sign, a blank, a wrap-around */
	expect_compile_error("key x -1\n", "rank is not a number");
	expect_compile_error("key x +1\n", "rank is not a number");
	expect_compile_error("key x 18446744073709551617\n", "rank is not a number");
	expect_compile_error("key x 1\ndecomp *\n> a\nkey x 2\n", "repeated keyword");
	expect_compile_error("pre a =\n", "without replacement");
	expect_compile_error("key x 1\ndecomp *\n> a\n", "lacks one of");
	snprintf(buf, sizeof(buf), "%skey x 1\ndecomp *\n> goto nowhere\n", specials);
	expect_compile_error(buf, "goto to unknown key nowhere");
	snprintf(buf, sizeof(buf), "%skey x 1\n", specials);
	expect_compile_error(buf, "key x has no pattern");
	snprintf(buf, sizeof(buf), "%skey x 1\ndecomp *\n", specials);
	expect_compile_error(buf, "has no reassembly");
}

static void test_greeting_and_name(void **state)
{
	struct fixture *f = fixture_new(zorblax_json, 7);

	(void)state;
	assert_int_equal(agent_eliza_greeting(f->e, &f->out), TEELIZA_OK);
	assert_non_null(strstr((const char *)f->out.data, "Zorblax"));
	assert_string_equal(agent_eliza_persona_name(f->p), "Zorblax");
	/* Every reassembly of these rules names the character. */
	for (int i = 0; i < 3; i++) {
		assert_non_null(strstr(say(f, "hello"), "Zorblax"));
		assert_non_null(strstr(say(f, "What is your name?"), "Zorblax"));
	}
	fixture_free(f);
}

static bool contains_any(const char *s, const char *const *items)
{
	for (size_t i = 0; items[i] != NULL; i++) {
		if (strstr(s, items[i]) != NULL)
			return true;
	}
	return false;
}

static void test_self_description(void **state)
{
	static const char *const bio[] = { "Zorblax keeps the lighthouse on Kelp Rock.", "Zorblax counts waves for a living.",
	                                   NULL };
	static const char *const topics[] = { "tides", "lanterns", "knots", "gulls", NULL };
	static const char *const lore_or_bio[] = { "Zorblax keeps the lighthouse", "Zorblax counts waves",
	                                           "traded a lantern", NULL };
	struct fixture *f = fixture_new(zorblax_json, 11);

	(void)state;
	for (int i = 0; i < 4; i++) {
		const char *r = say(f, "Who are you?");

		assert_non_null(strstr(r, "Zorblax"));
		assert_true(contains_any(r, bio));
		assert_true(contains_any(say(f, "Tell me about yourself."), lore_or_bio));
		assert_true(contains_any(say(f, "what do you like?"), topics));
		assert_true(contains_any(say(f, "what are your hobbies"), topics));
	}
	fixture_free(f);
}

static void test_plain_persona(void **state)
{
	struct fixture *f = fixture_new(NULL, 3);

	(void)state;
	assert_string_equal(agent_eliza_persona_name(f->p), "Eliza");
	assert_non_null(strstr(say(f, "who are you"), "Eliza"));
	assert_non_null(say(f, "what do you like"));
	fixture_free(f);
}

static void test_reflection(void **state)
{
	struct fixture *f = fixture_new(zorblax_json, 5);

	(void)state;
	/* Each reassembly of the matching rule carries the reflected words. */
	for (int i = 0; i < 3; i++) {
		assert_non_null(strstr(say(f, "I think you hate me"), "I hate you"));
		assert_non_null(strstr(say(f, "If I lose my boots at sea"), "you lose your boots at sea"));
		assert_non_null(strstr(say(f, "why don't you help me"), "help you"));
	}
	/* One of the two answers of "* you @want *" echoes the words. */
	{
		char first[256];

		snprintf(first, sizeof(first), "%s", say(f, "you want me to leave"));
		assert_true(strstr(first, "I want you to leave") != NULL ||
		            strstr(say(f, "you want me to leave"), "I want you to leave") != NULL);
	}
	fixture_free(f);
}

static void test_keyword_ranking(void **state)
{
	struct fixture *f = fixture_new(zorblax_json, 9);

	(void)state;
	for (int i = 0; i < 3; i++) {
		/* "name" (15) beats "my" (2): the name is echoed back, case kept. */
		assert_non_null(strstr(say(f, "my name is Alice"), "Alice"));
		/* "remember" and "computer" share a rank; the earlier word wins, "my" is reflected. */
		assert_non_null(strstr(say(f, "I remember my first computer"), "your first computer"));
		/* "yourself" (20) outranks everything else in the sentence. */
		assert_non_null(strstr(say(f, "I want you to describe yourself"), "Zorblax"));
	}
	fixture_free(f);
}

static void test_cycling(void **state)
{
	struct fixture *f = fixture_new(zorblax_json, 21);
	char first[256], second[256], third[256];

	(void)state;
	/* "* i @want *" has three reassemblies, used in turn. */
	snprintf(first, sizeof(first), "%s", say(f, "I want a boat"));
	snprintf(second, sizeof(second), "%s", say(f, "I want a boat"));
	snprintf(third, sizeof(third), "%s", say(f, "I want a boat"));
	assert_string_not_equal(first, second);
	assert_string_not_equal(second, third);
	assert_string_not_equal(first, third);
	assert_string_equal(say(f, "I want a boat"), first);
	fixture_free(f);
}

static void test_memory(void **state)
{
	struct fixture *f = fixture_new(zorblax_json, 13);
	const char *r;

	(void)state;
	r = say(f, "My dog is sick");
	assert_non_null(strstr(r, "dog is sick"));
	/* No keyword: the remark saved by the "my" rule comes back. */
	r = say(f, "ok");
	assert_non_null(strstr(r, "your dog is sick"));
	/* It was used up; now the generic fallback. */
	r = say(f, "ok");
	assert_null(strstr(r, "dog"));
	/* Oldest first. */
	say(f, "my boat leaks");
	say(f, "my lamp is out");
	assert_non_null(strstr(say(f, "hmm"), "your boat leaks"));
	assert_non_null(strstr(say(f, "hmm"), "your lamp is out"));
	fixture_free(f);
}

static const char *const transcript[] = {
	"hello", "who are you?", "I am tired of the fog", "my brother never writes", "whatever",
	"I think you are a lighthouse", "can you help me", "what do you like", "nothing", "bye",
	"I remember the storm", "you are strange", "maybe", "no", "because the sea is loud", NULL,
};

static void run_transcript(teeliza_buf *log, uint64_t seed)
{
	struct fixture *f = fixture_new(zorblax_json, seed);

	for (size_t i = 0; transcript[i] != NULL; i++) {
		assert_int_equal(teeliza_buf_append_str(log, say(f, transcript[i])), TEELIZA_OK);
		assert_int_equal(teeliza_buf_append(log, "\n", 1), TEELIZA_OK);
	}
	fixture_free(f);
}

static void test_deterministic(void **state)
{
	teeliza_buf a, b, c;

	(void)state;
	teeliza_buf_init(&a, 1 << 20);
	teeliza_buf_init(&b, 1 << 20);
	teeliza_buf_init(&c, 1 << 20);
	run_transcript(&a, 1234);
	run_transcript(&b, 1234);
	run_transcript(&c, 99);
	assert_string_equal((const char *)a.data, (const char *)b.data);
	assert_string_not_equal((const char *)a.data, (const char *)c.data);
	teeliza_buf_free(&a);
	teeliza_buf_free(&b);
	teeliza_buf_free(&c);
}

static void test_message_examples(void **state)
{
	struct fixture *f = fixture_new(zorblax_json, 17);
	json_t *j;

	(void)state;
	/* Close to an example user line: the character's own answer, placeholders filled. */
	assert_string_equal(say(f, "how is the weather at the rock"), "Grey and loud, friend, as always.");
	assert_string_equal(say(f, "How's the weather at the rock?"), "Grey and loud, friend, as always.");
	/* Not close enough. */
	assert_string_not_equal(say(f, "the weather"), "Grey and loud, friend, as always.");
	/* The example's action is used when offered and nothing else was picked. */
	j = say_json(f, "show me your proof of residence", 31);
	assert_string_equal(jaction(j), "REMOTE_ATTESTATION");
	json_decref(j);
	fixture_free(f);
}

static void test_select_action(void **state)
{
	static const struct {
		const char *text;
		int want;
	} cases[] = {
		{ "what's your wallet address?", 1 },
		{ "What is your Solana address", 1 },
		{ "send me your public key", 1 },
		{ "what are your wallets", 1 },
		{ "prove you run in a TEE", 2 },
		{ "can I see an attestation?", 2 },
		{ "give me a quote", 2 },
		{ "is this attested", 2 },
		{ "tee attestation please", 2 },
		{ "remote attestation", 2 },
		{ "bye", 3 },
		{ "please stop talking", 3 },
		{ "hello there", -1 },
		{ "I love the sea", -1 },
		{ "", -1 },
		{ "none", 0 },
	};

	(void)state;
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		int got = agent_eliza_select_action(hints, N_HINTS, cases[i].text, strlen(cases[i].text));

		if (got != cases[i].want)
			fail_msg("\"%s\": got %d, want %d", cases[i].text, got, cases[i].want);
	}
	assert_int_equal(agent_eliza_select_action(NULL, 0, "wallet", 6), -1);
}

static void test_select_action_ties_and_scores(void **state)
{
	static const char *const a_kw[] = { "apple", NULL };
	static const char *const b_kw[] = { "apple", NULL };
	static const char *const c_kw[] = { "apple pie", NULL };
	agent_action_hint h[] = {
		{ "A_THING", NULL, a_kw, NULL },
		{ "B_THING", NULL, b_kw, NULL },
		{ "C_THING", NULL, c_kw, NULL },
	};

	(void)state;
	/* Equal scores: the earlier action. */
	assert_int_equal(agent_eliza_select_action(h, 3, "an apple", 8), 0);
	/* A longer phrase scores more. */
	assert_int_equal(agent_eliza_select_action(h, 3, "apple pie", 9), 2);
	/* One word of a name is not enough. */
	assert_int_equal(agent_eliza_select_action(h, 3, "the thing", 9), -1);
	/* The whole name is. */
	assert_int_equal(agent_eliza_select_action(h, 3, "b thing", 7), 1);
}

static void test_reply_json_actions(void **state)
{
	struct fixture *f = fixture_new(zorblax_json, 23);
	json_t *j;

	(void)state;
	j = say_json(f, "what's your wallet address?", 27);
	assert_string_equal(json_string_value(json_object_get(j, "user")), "Zorblax");
	assert_string_equal(jaction(j), "WALLET_ADDRESS");
	json_decref(j);
	/* The hint's reply text replaces the script's answer. */
	j = say_json(f, "prove you run in a TEE", 22);
	assert_string_equal(jaction(j), "REMOTE_ATTESTATION");
	assert_string_equal(jtext(j), "Here is my attestation.");
	json_decref(j);
	j = say_json(f, "I like knots", 12);
	assert_string_equal(jaction(j), "NONE");
	json_decref(j);
	fixture_free(f);
}

static void test_empty_input(void **state)
{
	struct fixture *f = fixture_new(zorblax_json, 29);
	json_t *j;

	(void)state;
	assert_int_equal(agent_eliza_respond(f->e, &f->out, NULL, 0), TEELIZA_OK);
	assert_true(f->out.len > 0);
	assert_true(strlen(say(f, "")) > 0);
	assert_true(strlen(say(f, "   ?!... ")) > 0);
	j = say_json(f, "", 0);
	assert_string_equal(jaction(j), "NONE");
	json_decref(j);
	fixture_free(f);
}

static void test_long_input(void **state)
{
	struct fixture *f = fixture_new(zorblax_json, 31);
	size_t n = 100 * 1024;
	char *big = malloc(n + 1);
	json_t *j;

	(void)state;
	assert_non_null(big);
	/* Many short sentences. */
	for (size_t i = 0; i < n; i++)
		big[i] = "my dog is sick. "[i % 16];
	big[n] = '\0';
	j = say_json(f, big, n);
	assert_true(json_string_length(json_object_get(j, "text")) < AGENT_ELIZA_MAX_REPLY);
	json_decref(j);
	/* One enormous word. */
	memset(big, 'a', n);
	j = say_json(f, big, n);
	json_decref(j);
	/* Enormous runs of multi-byte characters, cut anywhere. */
	for (size_t i = 0; i + 3 <= n; i += 3)
		memcpy(big + i, "\xe2\x82\xac", 3);
	j = say_json(f, big, n - 1);
	json_decref(j);
	/* Only delimiters. */
	memset(big, '.', n);
	j = say_json(f, big, n);
	json_decref(j);
	free(big);
	fixture_free(f);
}

static void test_non_ascii(void **state)
{
	struct fixture *f = fixture_new(zorblax_json, 37);
	json_t *j;

	(void)state;
	/* Non-ASCII words survive reflection untouched. */
	assert_non_null(strstr(say(f, "My café is closed"), "café is closed"));
	assert_non_null(strstr(say(f, "I want crêpes 🥞"), "crêpes 🥞"));
	/* Typographic apostrophes work like ASCII ones. */
	for (int i = 0; i < 2; i++)
		assert_non_null(strstr(say(f, "I\xe2\x80\x99m worried about the gulls"), "worried"));
	j = say_json(f, "我很难过", strlen("我很难过"));
	json_decref(j);
	/* Invalid UTF-8 never reaches the JSON. */
	{
		static const char bad[] = "my \xff\xfe dog \xc3 is \xed\xa0\x80 here";

		j = say_json(f, bad, sizeof(bad) - 1);
		assert_non_null(strstr(jtext(j), "dog"));
		json_decref(j);
	}
	fixture_free(f);
}

static void test_lowercase_style(void **state)
{
	struct fixture *f = fixture_new(lower_json, 41);

	(void)state;
	for (size_t i = 0; transcript[i] != NULL; i++) {
		const char *r = say(f, transcript[i]);

		for (const char *p = r; *p != '\0'; p++) {
			if (*p >= 'A' && *p <= 'Z')
				fail_msg("uppercase in \"%s\"", r);
		}
	}
	assert_non_null(strstr(say(f, "who are you"), "quiet speaks softly."));
	fixture_free(f);
}

static void test_json_string(void **state)
{
	static const char in[] = "a\"b\\c\x01\n\t\xc3\xa9\xff\xc3";
	teeliza_buf b;
	json_t *j;

	(void)state;
	teeliza_buf_init(&b, 1024);
	assert_int_equal(elz_json_string(&b, in, sizeof(in) - 1), TEELIZA_OK);
	assert_string_equal((const char *)b.data, "\"a\\\"b\\\\c\\u0001\\n\\t\xc3\xa9\xef\xbf\xbd\xef\xbf\xbd\"");
	teeliza_buf_reset(&b);
	/* Overlong, surrogate and out-of-range forms are replaced too. */
	assert_int_equal(elz_json_string(&b, "\xc0\xaf\xed\xa0\x80\xf4\x90\x80\x80", 9), TEELIZA_OK);
	j = json_loads((const char *)b.data, JSON_DECODE_ANY, NULL);
	assert_non_null(j);
	json_decref(j);
	assert_null(strchr((const char *)b.data, '\xc0'));
	teeliza_buf_free(&b);
	/* A full buffer fails cleanly. */
	teeliza_buf_init(&b, 4);
	assert_int_equal(elz_json_string(&b, "hello", 5), TEELIZA_ERR_TOO_LARGE);
	teeliza_buf_free(&b);
}

static void test_utf8_cut(void **state)
{
	(void)state;
	assert_int_equal(elz_utf8_cut("abc", 3), 3);
	assert_int_equal(elz_utf8_cut("a\xe2\x82\xac", 4), 4);
	assert_int_equal(elz_utf8_cut("a\xe2\x82\xac", 3), 1);
	assert_int_equal(elz_utf8_cut("a\xe2\x82\xac", 2), 1);
	assert_int_equal(elz_utf8_cut("\xf0\x9f\xa5\x9e", 3), 0);
	assert_int_equal(elz_utf8_cut("", 0), 0);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_script_compiles),
		cmocka_unit_test(test_script_errors),
		cmocka_unit_test(test_greeting_and_name),
		cmocka_unit_test(test_self_description),
		cmocka_unit_test(test_plain_persona),
		cmocka_unit_test(test_reflection),
		cmocka_unit_test(test_keyword_ranking),
		cmocka_unit_test(test_cycling),
		cmocka_unit_test(test_memory),
		cmocka_unit_test(test_deterministic),
		cmocka_unit_test(test_message_examples),
		cmocka_unit_test(test_select_action),
		cmocka_unit_test(test_select_action_ties_and_scores),
		cmocka_unit_test(test_reply_json_actions),
		cmocka_unit_test(test_empty_input),
		cmocka_unit_test(test_long_input),
		cmocka_unit_test(test_non_ascii),
		cmocka_unit_test(test_lowercase_style),
		cmocka_unit_test(test_json_string),
		cmocka_unit_test(test_utf8_cut),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
