/* Event-log parsing and serializing, RTMR replay, and `teeliza replay`. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <cmocka.h>

#include "testutil.h"
#include "teeliza/common/common.h"
#include "teeliza/common/encoding.h"
#include "teeliza/tee/rtmr.h"
#include "tee/eventlog_internal.h"

#include <openssl/evp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

/* The "event_log" array of a plugin-tee.json entry as JSON text (caller frees). */
static char *vector_log_text(json_t *v, const char *key, size_t flags)
{
	json_t *el = json_object_get(json_object_get(v, key), "event_log");
	char *text;

	assert_true(json_is_array(el));
	text = json_dumps(el, flags);
	assert_non_null(text);
	return text;
}

static void assert_rtmrs(uint8_t rtmr[4][TEE_RTMR_LEN], json_t *expect)
{
	size_t i;

	assert_int_equal(json_array_size(expect), 4);
	for (i = 0; i < 4; i++)
		assert_hex_equal(rtmr[i], TEE_RTMR_LEN, json_string_value(json_array_get(expect, i)));
}

static void assert_logs_equal(const tee_event_log *a, const tee_event_log *b)
{
	size_t i;

	assert_int_equal(a->count, b->count);
	for (i = 0; i < a->count; i++) {
		const tee_event *x = &a->events[i], *y = &b->events[i];

		assert_int_equal(x->imr, y->imr);
		assert_int_equal(x->event_type, y->event_type);
		assert_int_equal(x->digest_len, y->digest_len);
		assert_memory_equal(x->digest, y->digest, x->digest_len);
		assert_non_null(x->event);
		assert_non_null(y->event);
		assert_string_equal(x->event, y->event);
		assert_int_equal(x->payload_len, y->payload_len);
		if (x->payload_len)
			assert_memory_equal(x->payload, y->payload, x->payload_len);
	}
}

static void sha384(uint8_t out[48], const void *data, size_t len)
{
	size_t n = 0;

	assert_int_equal(EVP_Q_digest(NULL, "SHA384", NULL, data, len, out, &n), 1);
	assert_int_equal(n, 48);
}

/* plugin-tee.json replay_small: 8 events, one 32-byte digest; compact and pretty text. */
static void test_replay_small(void **state)
{
	json_t *v = vector_json("plugin-tee.json");
	json_t *small = json_object_get(v, "replay_small");
	size_t flags[] = {JSON_COMPACT, JSON_INDENT(2)};
	tee_event_log log, fast;
	uint8_t rtmr[4][TEE_RTMR_LEN];
	size_t i;

	(void)state;
	for (i = 0; i < 2; i++) {
		char *text = vector_log_text(v, "replay_small", flags[i]);

		assert_int_equal(tee_event_log_parse(&log, text, strlen(text)), TEELIZA_OK);
		assert_int_equal(log.count, 8);
		assert_int_equal(log.events[6].digest_len, 32);
		assert_string_equal(log.events[4].event, "app-id");
		assert_int_equal(log.events[4].event_type, 134217729);
		assert_int_equal(log.events[4].payload_len, 20);
		tee_rtmr_replay(rtmr, &log);
		assert_rtmrs(rtmr, json_object_get(small, "rtmrs_sdk"));
		assert_rtmrs(rtmr, json_object_get(small, "rtmrs_independent"));
		/* tappd's plain form is handled by the fast scanner, with the same result */
		assert_int_equal(tee_event_log_parse_fast(&fast, text, strlen(text)), TEELIZA_OK);
		assert_logs_equal(&fast, &log);
		tee_event_log_free(&fast);
		tee_event_log_free(&log);
		assert_null(log.events);
		free(text);
	}
	json_decref(v);
}

/* plugin-tee.json replay_30_event_log, generated as its description says. */
static void build_log30(tee_event_log *log)
{
	char name[16];
	uint8_t digest[48];
	int i;

	tee_event_log_init(log);
	for (i = 0; i < 30; i++) {
		snprintf(name, sizeof(name), "e%d", i);
		sha384(digest, name, strlen(name));
		assert_int_equal(tee_event_log_add(log, (uint32_t)(i % 4), 1, digest, 48, name, NULL, 0), TEELIZA_OK);
	}
}

static void test_replay_30(void **state)
{
	json_t *v = vector_json("plugin-tee.json");
	json_t *expect = json_object_get(json_object_get(v, "replay_30_event_log"), "rtmrs");
	tee_event_log built, parsed;
	uint8_t rtmr[4][TEE_RTMR_LEN];
	teeliza_buf text;

	(void)state;
	build_log30(&built);
	tee_rtmr_replay(rtmr, &built);
	assert_rtmrs(rtmr, expect);

	teeliza_buf_init(&text, 1 << 20);
	assert_int_equal(tee_event_log_to_json(&text, &built), TEELIZA_OK);
	assert_int_equal(tee_event_log_parse(&parsed, (char *)text.data, text.len), TEELIZA_OK);
	assert_logs_equal(&parsed, &built);
	memset(rtmr, 0xee, sizeof(rtmr));
	tee_rtmr_replay(rtmr, &parsed);
	assert_rtmrs(rtmr, expect);
	tee_event_log_free(&parsed);
	assert_int_equal(tee_event_log_parse_fast(&parsed, (char *)text.data, text.len), TEELIZA_OK);
	tee_event_log_free(&parsed);
	teeliza_buf_free(&text);
	tee_event_log_free(&built);
	json_decref(v);
}

static void test_replay_empty(void **state)
{
	json_t *v = vector_json("plugin-tee.json");
	char *text = vector_log_text(v, "replay_empty", JSON_COMPACT);
	tee_event_log log;
	uint8_t rtmr[4][TEE_RTMR_LEN];

	(void)state;
	assert_int_equal(tee_event_log_parse(&log, text, strlen(text)), TEELIZA_OK);
	assert_int_equal(log.count, 0);
	memset(rtmr, 0xee, sizeof(rtmr));
	tee_rtmr_replay(rtmr, &log);
	assert_rtmrs(rtmr, json_object_get(json_object_get(v, "replay_empty"), "rtmrs"));
	tee_rtmr_replay_steps(NULL, &log);
	tee_event_log_free(&log);
	assert_int_equal(tee_event_log_parse(&log, " [ ] \n", 6), TEELIZA_OK);
	assert_int_equal(log.count, 0);
	tee_event_log_free(&log);
	free(text);
	json_decref(v);
}

static void parse_fails(const char *text, const char *message_part)
{
	tee_event_log log;

	assert_int_equal(tee_event_log_parse(&log, text, strlen(text)), TEELIZA_ERR_PARSE);
	if (strstr(teeliza_errmsg(), message_part) == NULL)
		fail_msg("error \"%s\" for %s lacks \"%s\"", teeliza_errmsg(), text, message_part);
	assert_int_equal(log.count, 0);
	assert_null(log.events);
}

#define D48 "1bdb8285ce5d3bfb3c89006197b7e262af95dafec4783c3e07ef7d28a3e7dd636f085a12fd0a4807ab7b076426d0e7c2"

static void test_parse_errors(void **state)
{
	(void)state;
	parse_fails("", "not valid JSON");
	parse_fails("[", "not valid JSON");
	parse_fails("[{\"imr\":0,\"digest\":\"" D48 "\"}", "not valid JSON");
	parse_fails("[] x", "not valid JSON");
	parse_fails("{}", "not a JSON array");
	parse_fails("{\"event_log\":[]}", "not a JSON array");
	parse_fails("[1]", "event 0 is not a JSON object");
	parse_fails("[{\"event_type\":1,\"digest\":\"" D48 "\",\"event\":\"\",\"event_payload\":\"\"}]",
	            "event 0: missing \"imr\"");
	parse_fails("[{\"imr\":0,\"digest\":\"" D48 "\"},{\"imr\":1}]", "event 1: missing \"digest\"");
	parse_fails("[{\"imr\":\"0\",\"digest\":\"" D48 "\"}]", "event 0: \"imr\" is not an integer");
	parse_fails("[{\"imr\":1.0,\"digest\":\"" D48 "\"}]", "event 0: \"imr\" is not an integer");
	parse_fails("[{\"imr\":-1,\"digest\":\"" D48 "\"}]", "event 0: \"imr\" is -1, outside 0..4294967295");
	parse_fails("[{\"imr\":4294967296,\"digest\":\"" D48 "\"}]", "event 0: \"imr\" is 4294967296, outside 0..4294967295");
	parse_fails("[{\"imr\":0,\"event_type\":null,\"digest\":\"" D48 "\"}]",
	            "event 0: \"event_type\" is not an integer");
	parse_fails("[{\"imr\":0,\"digest\":\"zz" D48 "\"}]", "event 0: \"digest\" is not hex: invalid hex digit at position 0");
	parse_fails("[{\"imr\":0,\"digest\":\"0x" D48 "\"}]", "event 0: \"digest\" is not hex: invalid hex digit at position 1");
	parse_fails("[{\"imr\":0,\"digest\":\"" D48 "0\"}]", "event 0: \"digest\" is not hex: odd-length hex string (97 digits)");
	parse_fails("[{\"imr\":0,\"digest\":\"" D48 D48 "\"}]", "event 0: \"digest\" is 96 bytes, at most 64 allowed");
	parse_fails("[{\"imr\":0,\"digest\":\"" D48 "00112233445566778899aabbccddeeff00\"}]",
	            "event 0: \"digest\" is 65 bytes");
	parse_fails("[{\"imr\":0,\"digest\":48}]", "event 0: \"digest\" is not a string");
	parse_fails("[{\"imr\":0,\"digest\":\"" D48 "\",\"event\":7}]", "event 0: \"event\" is not a string");
	parse_fails("[{\"imr\":0,\"digest\":\"" D48 "\",\"event_payload\":\"abc\"}]",
	            "event 0: \"event_payload\" is not hex: odd-length hex string (3 digits)");
	parse_fails("[{\"imr\":0,\"digest\":\"" D48 "\",\"event_payload\":\"g0\"}]",
	            "event 0: \"event_payload\" is not hex");
	parse_fails("[{\"imr\":0,\"digest\":\"\\u0000\"}]", "not valid JSON");
}

/* Forms the fast scanner leaves to jansson still parse, with JSON.parse's meaning. */
static void test_parse_other_forms(void **state)
{
	tee_event_log log;
	const char *text;

	(void)state;
	/* escapes, non-ASCII, unknown keys, key order, whitespace, uppercase hex, missing optional fields */
	text = " [ {\"digest\" : \"" D48 "\", \"imr\" : 2 , \"event\":\"\\u0061pp-id \\\"\\u00e9\\\"\","
	       "\"extra\":[1,{\"a\":null}],\"event_payload\":\"ABcd\"},\n"
	       "{\"imr\":3,\"digest\":\"\",\"event\":\"caf\xc3\xa9\"} ]";
	assert_int_equal(tee_event_log_parse_fast(&log, text, strlen(text)), TEELIZA_ERR_UNSUPPORTED);
	assert_int_equal(log.count, 0);
	assert_int_equal(tee_event_log_parse(&log, text, strlen(text)), TEELIZA_OK);
	assert_int_equal(log.count, 2);
	assert_int_equal(log.events[0].imr, 2);
	assert_int_equal(log.events[0].event_type, 0);
	assert_int_equal(log.events[0].digest_len, 48);
	assert_string_equal(log.events[0].event, "app-id \"\xc3\xa9\"");
	assert_int_equal(log.events[0].payload_len, 2);
	assert_int_equal(log.events[0].payload[0], 0xab);
	assert_int_equal(log.events[0].payload[1], 0xcd);
	assert_int_equal(log.events[1].digest_len, 0); /* a stripped dstack 0.5 log */
	assert_string_equal(log.events[1].event, "caf\xc3\xa9");
	assert_null(log.events[1].payload);
	tee_event_log_free(&log);

	/* a duplicate key: the last one counts, as in JSON.parse */
	text = "[{\"imr\":0,\"imr\":3,\"digest\":\"" D48 "\"}]";
	assert_int_equal(tee_event_log_parse_fast(&log, text, strlen(text)), TEELIZA_ERR_UNSUPPORTED);
	assert_int_equal(tee_event_log_parse(&log, text, strlen(text)), TEELIZA_OK);
	assert_int_equal(log.events[0].imr, 3);
	tee_event_log_free(&log);

	/* imr outside 0..3 parses; replay ignores it */
	text = "[{\"imr\":7,\"event_type\":4294967295,\"digest\":\"" D48 "\"}]";
	assert_int_equal(tee_event_log_parse_fast(&log, text, strlen(text)), TEELIZA_OK);
	assert_int_equal(log.events[0].imr, 7);
	assert_int_equal(log.events[0].event_type, 4294967295u);
	assert_string_equal(log.events[0].event, "");
	tee_event_log_free(&log);
}

static void check_fast_against_jansson(const char *text, size_t len, size_t *fast_ok)
{
	tee_event_log a, b;
	teeliza_err fa = tee_event_log_parse_fast(&a, text, len);
	teeliza_err ja = tee_event_log_parse_jansson(&b, text, len);

	if (fa == TEELIZA_OK) {
		if (ja != TEELIZA_OK)
			fail_msg("fast scanner accepted what jansson rejects (%s): %.*s", teeliza_errmsg(), (int)len, text);
		assert_logs_equal(&a, &b);
		(*fast_ok)++;
	} else {
		assert_int_equal(fa, TEELIZA_ERR_UNSUPPORTED);
		assert_int_equal(a.count, 0);
	}
	tee_event_log_free(&a);
	tee_event_log_free(&b);
}

/*
 * Every one-character replacement, deletion and truncation of a real log:
 * whenever the fast scanner accepts, jansson accepts the same log.
 */
/* Every document `teeliza replay` reads gives the log inside it; anything else is a clear parse error. */
static void test_parse_input_forms(void **state)
{
	json_t *v = vector_json("plugin-tee.json");
	char *text = vector_log_text(v, "replay_small", JSON_COMPACT);
	json_t *arr = json_loads(text, 0, NULL);
	json_t *forms[] = {
		json_pack("{s:s, s:s}", "quote", "0x00", "event_log", text),             /* tappd TdxQuote */
		json_pack("{s:s, s:O}", "quote", "0x00", "event_log", arr),              /* array form */
		json_pack("{s:s, s:O, s:[]}", "reportData", "x", "eventLog", arr, "rtmrs"), /* quote --json */
		json_pack("{s:s, s:s, s:s}", "id", "q", "quote", "0x00", "eventLog", text), /* attestation route */
		json_pack("{s:s, s:{s:O}}", "address", "a", "attestation", "eventLog", arr), /* derive --json */
		json_pack("{s:s, s:{s:O}}", "app_id", "x", "tcb_info", "event_log", arr),    /* info --json */
		NULL,                                                                      /* raw Info: below */
	};
	static const char *const bad[] = {
		"{\"event_log\":[],\"eventLog\":[]}",
		"{\"quote\":\"0x00\"}",
		"{\"eventLog\":5}",
		"{\"eventLog\":\"not json\"}",
		"{\"tcb_info\":\"not json\"}",
		"{\"tcb_info\":\"[1]\"}",
		"{\"eventLog\":[],\"eventLog\":[]}",
		"{\"a\":{\"eventLog\":[]}}",
		"{\"attestation\":{\"attestation\":{\"attestation\":{\"eventLog\":[]}}}}",
		"{\"eventLog\":[] x",
		"{",
	};
	tee_event_log want, got;
	char *doc, *tcb;
	size_t i;

	(void)state;
	assert_non_null(arr);
	assert_int_equal(tee_event_log_parse(&want, text, strlen(text)), TEELIZA_OK);
	tcb = json_dumps(forms[5] != NULL ? json_object_get(forms[5], "tcb_info") : NULL, JSON_INDENT(2));
	forms[6] = json_pack("{s:s, s:s}", "app_id", "x", "tcb_info", tcb);
	for (i = 0; i < sizeof(forms) / sizeof(forms[0]); i++) {
		assert_non_null(forms[i]);
		doc = json_dumps(forms[i], JSON_INDENT(2) | JSON_PRESERVE_ORDER);
		if (tee_event_log_parse_input(&got, doc, strlen(doc)) != TEELIZA_OK)
			fail_msg("form %zu: %s", i, teeliza_errmsg());
		assert_logs_equal(&got, &want);
		tee_event_log_free(&got);
		free(doc);
		json_decref(forms[i]);
	}
	/* the bare array, with a byte order mark and blank lines first */
	doc = malloc(strlen(text) + 8);
	assert_non_null(doc);
	memcpy(doc, "\xef\xbb\xbf\n \t", 6);
	memcpy(doc + 6, text, strlen(text) + 1);
	assert_int_equal(tee_event_log_parse_input(&got, doc, strlen(doc)), TEELIZA_OK);
	assert_logs_equal(&got, &want);
	tee_event_log_free(&got);
	free(doc);
	for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		if (tee_event_log_parse_input(&got, bad[i], strlen(bad[i])) != TEELIZA_ERR_PARSE)
			fail_msg("accepted: %s", bad[i]);
		assert_int_equal(got.count, 0);
		assert_null(got.events);
	}
	assert_int_equal(tee_event_log_parse_input(&got, "{\"quote\":1}", 11), TEELIZA_ERR_PARSE);
	assert_non_null(strstr(teeliza_errmsg(), "\"eventLog\""));
	tee_event_log_free(&want);
	free(tcb);
	free(text);
	json_decref(arr);
	json_decref(v);
}

static void test_fast_scanner_agrees(void **state)
{
	static const char repl[] = "\"\\0aAzG,:{}[] -.1e\t\x7f\x80";
	json_t *v = vector_json("plugin-tee.json");
	char *text = vector_log_text(v, "replay_small", JSON_COMPACT);
	size_t len = strlen(text), pos, r, fast_ok = 0;
	char *m = malloc(len + 1);

	(void)state;
	assert_non_null(m);
	for (pos = 0; pos < len; pos++) {
		for (r = 0; r < sizeof(repl) - 1; r++) {
			if (repl[r] == text[pos])
				continue;
			memcpy(m, text, len);
			m[pos] = repl[r];
			check_fast_against_jansson(m, len, &fast_ok);
		}
		memcpy(m, text, pos);
		memcpy(m + pos, text + pos + 1, len - pos - 1);
		check_fast_against_jansson(m, len - 1, &fast_ok);
		check_fast_against_jansson(text, pos, &fast_ok);
	}
	/* the mutations kept valid include hex digits, imr values and spaces */
	assert_true(fast_ok > 1000);
	free(m);
	free(text);
	json_decref(v);
}

/* The vector's compact text is exactly what tappd (serde) would print back. */
static void test_to_json_roundtrip(void **state)
{
	json_t *v = vector_json("plugin-tee.json");
	char *text = vector_log_text(v, "replay_small", JSON_COMPACT);
	tee_event_log log, again;
	teeliza_buf out;

	(void)state;
	assert_int_equal(tee_event_log_parse(&log, text, strlen(text)), TEELIZA_OK);
	teeliza_buf_init(&out, 1 << 20);
	assert_int_equal(teeliza_buf_append_str(&out, "keep:"), TEELIZA_OK);
	assert_int_equal(tee_event_log_to_json(&out, &log), TEELIZA_OK);
	assert_memory_equal(out.data, "keep:", 5);
	assert_string_equal((char *)out.data + 5, text);
	assert_int_equal(tee_event_log_parse(&again, (char *)out.data + 5, out.len - 5), TEELIZA_OK);
	assert_logs_equal(&again, &log);
	tee_event_log_free(&again);
	tee_event_log_free(&log);

	/* empty log */
	teeliza_buf_reset(&out);
	tee_event_log_init(&log);
	assert_int_equal(tee_event_log_to_json(&out, &log), TEELIZA_OK);
	assert_string_equal((char *)out.data, "[]");
	teeliza_buf_free(&out);
	free(text);
	json_decref(v);
}

/* serde_json escapes only '"', '\\' and control characters (lowercase \u00xx). */
static void test_to_json_escapes(void **state)
{
	const char *name = "a\"b\\c\n\t\x01\x1f\x7f/\xc3\xa9\xf0\x9f\x98\x80";
	const uint8_t digest[2] = {0xab, 0x01}, payload[3] = {0x00, 0xff, 0x10};
	tee_event_log log, back;
	teeliza_buf out;

	(void)state;
	tee_event_log_init(&log);
	assert_int_equal(tee_event_log_add(&log, 3, 134217729, digest, 2, name, payload, 3), TEELIZA_OK);
	teeliza_buf_init(&out, 4096);
	assert_int_equal(tee_event_log_to_json(&out, &log), TEELIZA_OK);
	assert_string_equal((char *)out.data,
	                    "[{\"imr\":3,\"event_type\":134217729,\"digest\":\"ab01\",\"event\":"
	                    "\"a\\\"b\\\\c\\n\\t\\u0001\\u001f\x7f/\xc3\xa9\xf0\x9f\x98\x80\",\"event_payload\":\"00ff10\"}]");
	assert_int_equal(tee_event_log_parse(&back, (char *)out.data, out.len), TEELIZA_OK);
	assert_logs_equal(&back, &log);
	tee_event_log_free(&back);
	tee_event_log_free(&log);

	/* names that are not UTF-8 cannot be serialized; the buffer is left as it was */
	const char *bad[] = {"\xff", "a\xc3", "\xc0\xaf", "\xed\xa0\x80", "\xf4\x90\x80\x80", "\xe0\x80\xaf"};
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		tee_event_log_init(&log);
		assert_int_equal(tee_event_log_add(&log, 3, 1, digest, 2, "ok", NULL, 0), TEELIZA_OK);
		assert_int_equal(tee_event_log_add(&log, 3, 1, digest, 2, bad[i], NULL, 0), TEELIZA_OK);
		teeliza_buf_reset(&out);
		assert_int_equal(teeliza_buf_append_str(&out, "x"), TEELIZA_OK);
		assert_int_equal(tee_event_log_to_json(&out, &log), TEELIZA_ERR_INVALID);
		assert_non_null(strstr(teeliza_errmsg(), "event 1"));
		assert_int_equal(out.len, 1);
		assert_string_equal((char *)out.data, "x");
		tee_event_log_free(&log);
	}
	teeliza_buf_free(&out);
}

/* digest = SHA-384(le32(event_type) ‖ ":" ‖ event ‖ ":" ‖ payload), computed here byte by byte. */
static void test_add_runtime(void **state)
{
	const uint8_t payload[20] = {0xea, 0x54, 0x9f, 0x02, 0xe1, 0xa2, 0x5f, 0xab, 0xd1, 0xcb,
	                             0x78, 0x83, 0x80, 0xe0, 0x33, 0xec, 0x54, 0x61, 0xb2, 0xff};
	uint8_t msg[64], expect[48];
	size_t n = 0;
	tee_event_log log;

	(void)state;
	msg[n++] = 0x01, msg[n++] = 0x00, msg[n++] = 0x00, msg[n++] = 0x08; /* 0x08000001 little-endian */
	msg[n++] = ':';
	memcpy(msg + n, "app-id", 6);
	n += 6;
	msg[n++] = ':';
	memcpy(msg + n, payload, sizeof(payload));
	n += sizeof(payload);
	sha384(expect, msg, n);

	tee_event_log_init(&log);
	assert_int_equal(tee_event_log_add_runtime(&log, 3, 0x08000001, "app-id", payload, sizeof(payload)),
	                 TEELIZA_OK);
	/* empty name and payload: le32 ‖ "::" */
	assert_int_equal(tee_event_log_add_runtime(&log, 3, 0x08000001, "", NULL, 0), TEELIZA_OK);
	assert_int_equal(log.count, 2);
	assert_int_equal(log.events[0].imr, 3);
	assert_int_equal(log.events[0].event_type, 0x08000001);
	assert_string_equal(log.events[0].event, "app-id");
	assert_int_equal(log.events[0].payload_len, 20);
	assert_memory_equal(log.events[0].payload, payload, 20);
	assert_int_equal(log.events[0].digest_len, 48);
	assert_memory_equal(log.events[0].digest, expect, 48);
	sha384(expect, "\x01\x00\x00\x08::", 6);
	assert_memory_equal(log.events[1].digest, expect, 48);
	tee_event_log_free(&log);
}

/* Digests up to 64 bytes are hashed whole; shorter than 48 are zero-padded. */
static void test_digest_lengths(void **state)
{
	uint8_t d64[64], block[112] = {0}, expect[48], rtmr[4][TEE_RTMR_LEN];
	tee_event_log log;
	size_t i;

	(void)state;
	for (i = 0; i < sizeof(d64); i++)
		d64[i] = (uint8_t)(0x40 + i);
	tee_event_log_init(&log);
	assert_int_equal(tee_event_log_add(&log, 1, 0, d64, 64, "", NULL, 0), TEELIZA_OK);
	assert_int_equal(tee_event_log_add(&log, 2, 0, d64, 5, "", NULL, 0), TEELIZA_OK);
	assert_int_equal(tee_event_log_add(&log, 3, 0, NULL, 0, "", NULL, 0), TEELIZA_OK);
	assert_int_equal(tee_event_log_add(&log, 0, 0, d64, 65, "", NULL, 0), TEELIZA_ERR_INVALID);
	assert_int_equal(log.count, 3);
	tee_rtmr_replay(rtmr, &log);

	memcpy(block + 48, d64, 64);
	sha384(expect, block, 112);
	assert_memory_equal(rtmr[1], expect, 48);
	memset(block, 0, sizeof(block));
	memcpy(block + 48, d64, 5);
	sha384(expect, block, 96);
	assert_memory_equal(rtmr[2], expect, 48);
	memset(block, 0, sizeof(block));
	sha384(expect, block, 96);
	assert_memory_equal(rtmr[3], expect, 48);
	for (i = 0; i < 48; i++)
		assert_int_equal(rtmr[0][i], 0);
	tee_event_log_free(&log);
}

static void test_replay_steps(void **state)
{
	json_t *v = vector_json("plugin-tee.json");
	char *text = vector_log_text(v, "replay_small", JSON_COMPACT);
	tee_event_log log;
	uint8_t rtmr[4][TEE_RTMR_LEN], (*steps)[TEE_RTMR_LEN], d[48] = {0};
	uint8_t first[96] = {0};
	size_t i, last[4] = {0};

	(void)state;
	assert_int_equal(tee_event_log_parse(&log, text, strlen(text)), TEELIZA_OK);
	/* an event for a register that is not an RTMR */
	assert_int_equal(tee_event_log_add(&log, 9, 0, d, 48, "", NULL, 0), TEELIZA_OK);
	steps = malloc(log.count * sizeof(*steps));
	assert_non_null(steps);
	memset(steps, 0xee, log.count * sizeof(*steps));
	tee_rtmr_replay_steps(steps, &log);
	tee_rtmr_replay(rtmr, &log);
	assert_rtmrs(rtmr, json_object_get(json_object_get(v, "replay_small"), "rtmrs_sdk"));
	for (i = 0; i < log.count; i++)
		if (log.events[i].imr < 4)
			last[log.events[i].imr] = i;
	for (i = 0; i < 4; i++)
		assert_memory_equal(steps[last[i]], rtmr[i], 48);
	/* the first step is SHA-384(zeros ‖ digest) */
	memcpy(first + 48, log.events[0].digest, 48);
	sha384(d, first, 96);
	assert_memory_equal(steps[0], d, 48);
	for (i = 0; i < 48; i++)
		assert_int_equal(steps[log.count - 1][i], 0);
	free(steps);
	tee_event_log_free(&log);
	free(text);
	json_decref(v);
}

/* ---- the CLI ---- */

static char *write_temp(const char *content)
{
	char *path = strdup("/tmp/teeliza-test-rtmr-XXXXXX");
	int fd;
	size_t len = strlen(content);

	assert_non_null(path);
	fd = mkstemp(path);
	assert_true(fd >= 0);
	assert_int_equal(write(fd, content, len), (ssize_t)len);
	close(fd);
	return path;
}

static int run_replay(const char *args, char **out)
{
	char cmd[1024];

	snprintf(cmd, sizeof(cmd), "'%s' replay %s 2>/dev/null", TEELIZA_BINARY, args);
	return run_capture(cmd, out);
}

static void test_cli(void **state)
{
	json_t *v = vector_json("plugin-tee.json");
	json_t *expect = json_object_get(json_object_get(v, "replay_small"), "rtmrs_sdk");
	char *text = vector_log_text(v, "replay_small", JSON_INDENT(1));
	json_t *resp = json_pack("{s:s, s:s}", "quote", "0x00", "event_log", text);
	char *resp_text = json_dumps(resp, 0);
	char *log_path = write_temp(text), *resp_path = write_temp(resp_text);
	char *bad_path = write_temp("[{\"imr\":0}]"), *obj_path = write_temp("{\"quote\":\"0x00\"}");
	json_t *camel = json_pack("{s:s, s:s, s:s}", "reportData", "hello", "quote", "0x00", "eventLog", text);
	char *camel_text = json_dumps(camel, JSON_INDENT(2) | JSON_PRESERVE_ORDER), *camel_path = write_temp(camel_text);
	char human[512], args[256], *out;
	json_t *j;
	json_error_t jerr;
	size_t i;

	(void)state;
	human[0] = 0;
	for (i = 0; i < 4; i++) {
		size_t at = strlen(human);

		snprintf(human + at, sizeof(human) - at, "rtmr%zu: %s\n", i, json_string_value(json_array_get(expect, i)));
	}
	assert_int_equal(run_replay(log_path, &out), 0);
	assert_string_equal(out, human);
	free(out);
	snprintf(args, sizeof(args), "%s --json", resp_path);
	assert_int_equal(run_replay(args, &out), 0);
	j = json_loads(out, 0, &jerr);
	assert_non_null(j);
	for (i = 0; i < 4; i++) {
		char key[8];

		snprintf(key, sizeof(key), "rtmr%zu", i);
		assert_string_equal(json_string_value(json_object_get(j, key)),
		                    json_string_value(json_array_get(expect, i)));
	}
	assert_int_equal(json_object_size(j), 4);
	json_decref(j);
	free(out);
	snprintf(args, sizeof(args), "- < '%s'", resp_path);
	assert_int_equal(run_replay(args, &out), 0);
	assert_string_equal(out, human);
	free(out);

	/* teeliza's own JSON (quote --json, the attestation route) carries "eventLog" */
	snprintf(args, sizeof(args), "%s", camel_path);
	assert_int_equal(run_replay(args, &out), 0);
	assert_string_equal(out, human);
	free(out);

	assert_int_equal(run_replay(bad_path, NULL), 3);
	assert_int_equal(run_replay(obj_path, NULL), 3);
	assert_int_equal(run_replay("/nonexistent/teeliza-log.json", NULL), 74);
	assert_int_equal(run_replay("", NULL), 64);
	assert_int_equal(run_replay("--bogus x", NULL), 64);
	snprintf(args, sizeof(args), "%s %s", log_path, log_path);
	assert_int_equal(run_replay(args, NULL), 64);
	assert_int_equal(run_replay("--help", &out), 0);
	assert_non_null(strstr(out, "usage: teeliza replay"));
	free(out);

	unlink(log_path);
	unlink(resp_path);
	unlink(bad_path);
	unlink(obj_path);
	unlink(camel_path);
	free(camel_path);
	free(camel_text);
	json_decref(camel);
	free(log_path);
	free(resp_path);
	free(bad_path);
	free(obj_path);
	free(resp_text);
	json_decref(resp);
	free(text);
	json_decref(v);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_replay_small),
		cmocka_unit_test(test_replay_30),
		cmocka_unit_test(test_replay_empty),
		cmocka_unit_test(test_parse_errors),
		cmocka_unit_test(test_parse_other_forms),
		cmocka_unit_test(test_parse_input_forms),
		cmocka_unit_test(test_fast_scanner_agrees),
		cmocka_unit_test(test_to_json_roundtrip),
		cmocka_unit_test(test_to_json_escapes),
		cmocka_unit_test(test_add_runtime),
		cmocka_unit_test(test_digest_lengths),
		cmocka_unit_test(test_replay_steps),
		cmocka_unit_test(test_cli),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
