/*
 * dstack runtime events and GetQuote event logs (dstack_events.h): the §1.9
 * digests and RTMR3 steps, the real GetQuote fixture replayed to the RTMRs
 * in its quote's bytes, both log forms, identity events, strict parsing and
 * mr_aggregated (expected values computed with Python's hashlib from the
 * fixture's quote bytes).
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <cmocka.h>

#include "testutil.h"
#include "teeliza/common/common.h"
#include "teeliza/dcap/quote.h"
#include "teeliza/tee/dstack_events.h"
#include "teeliza/common/encoding.h"
#include "teeliza/tee/rtmr.h"

#include <openssl/evp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define FIXTURE "dstack-getquote-tdx-lite.json"
#define RT "134217729" /* 0x08000001 */

static const char *const fixture_rtmr[4] = {
	"f8438db36b96f85d8752ff7f24a89ec05c79ec9eda2ba732c897fb970ca429365b7471b1c054cb84f17b1c2b23ba6640",
	"2023546e7f3b9d1228e274f70c44d481162540f8452544520a796a52f06879709b81a824a26792a7822327504b0d2aee",
	"4c1b739ed451a637b0f82642e48a5ea83925d23633c72e7385c8e9aca4175e133ed1625b7d92eb39edf509c27ff392dc",
	"6f24c170d0fd63fc2b1b53202eea47b013978437fa6982cf5e0438ff95c208994aaa0f4ebab2e3a66824b5b56869137e",
};

static void sha384(uint8_t out[48], const void *data, size_t len)
{
	size_t n = 0;

	assert_int_equal(EVP_Q_digest(NULL, "SHA384", NULL, data, len, out, &n), 1);
	assert_int_equal(n, 48);
}

static teeliza_err parse_str(tee_dstack_events *ev, const char *json)
{
	return tee_dstack_events_parse(ev, json, strlen(json));
}

/* The fixture's event_log text and quote bytes (caller frees both and decrefs *v). */
static const char *fixture(json_t **v, uint8_t **quote, size_t *quote_len)
{
	*v = vector_json(FIXTURE);
	*quote = hex_alloc(json_string_value(json_object_get(*v, "quote")), quote_len);
	return json_string_value(json_object_get(*v, "event_log"));
}

/* §1.9 digest table: the preimage bytes, and the digest of that preimage. */
static void test_event_digests(void **state)
{
	static const struct {
		const char *event, *payload, *preimage, *digest;
	} rows[] = {
		{"custom-event", "deadbeef", "010000083a637573746f6d2d6576656e743adeadbeef",
		 "932d89c58e4b06531792f52cae148160c71aed5eef155b3294b2ca88e85b4b9b96753526c082a4cf90fd39ffe6ee2fd9"},
		{"app-id", "86b0e55f2fa8e4fb69d890f14f54d5612707646e",
		 "010000083a6170702d69643a86b0e55f2fa8e4fb69d890f14f54d5612707646e",
		 "e115f23f600ee1a9e085dac82e912c37258c9bf23a3ea0f790fe0896f3432f6e49b6d5420295e7de50293659a5b24685"},
		{"", "", "010000083a3a",
		 "ff43e849def880489a769ce417c0d0f1a6453a39f2058090d2037cc38648dd9f7e9fd61b554110201dd2d1bd069399fc"},
	};
	uint8_t payload[64], digest[48], direct[48], *pre;
	size_t i, plen = 0, pre_len;

	(void)state;
	for (i = 0; i < sizeof(rows) / sizeof(rows[0]); i++) {
		assert_int_equal(teeliza_hex_decode(payload, sizeof(payload), &plen, rows[i].payload,
		                                    strlen(rows[i].payload), false), TEELIZA_OK);
		tee_dstack_event_digest(digest, rows[i].event, strlen(rows[i].event), plen ? payload : NULL, plen);
		assert_hex_equal(digest, 48, rows[i].digest);
		pre = hex_alloc(rows[i].preimage, &pre_len);
		sha384(direct, pre, pre_len);
		assert_memory_equal(direct, digest, 48);
		free(pre);
	}
}

/* §1.9 RTMR3 steps from zero. */
static void test_rtmr3_steps(void **state)
{
	uint8_t mr[48] = {0}, d[48], block[96], expect[48];
	static const uint8_t deadbeef[] = {0xde, 0xad, 0xbe, 0xef};

	(void)state;
	tee_dstack_event_digest(d, "custom-event", 12, deadbeef, 4);
	tee_dstack_rtmr_extend(mr, d);
	assert_hex_equal(mr, 48,
	                 "c7122276de7e76fba4ed83db5af807f677a4335e0318cfca55928b4a1dea2863bd3a951a64ed1498c5de8586d8613a6b");
	memcpy(block, mr, 48);
	tee_dstack_event_digest(d, "second", 6, (const uint8_t *)"hello", 5);
	memcpy(block + 48, d, 48);
	sha384(expect, block, 96);
	tee_dstack_rtmr_extend(mr, d);
	assert_memory_equal(mr, expect, 48);
	assert_hex_equal(mr, 48,
	                 "a0c4d03007b357de53e77d7dd63195b164f88b7e0f07104526a967820df14beabc8f68c2a58a25d25d5d71c4877ee131");
}

/* The real GetQuote response: the stripped log replays to the RTMRs at the quote's body offsets. */
static void test_fixture_replay(void **state)
{
	json_t *v;
	uint8_t *quote;
	size_t quote_len, i;
	const char *log = fixture(&v, &quote, &quote_len);
	tee_dstack_events ev;
	dcap_quote q;
	const tee_event *e;

	(void)state;
	assert_int_equal(quote_len, 5006);
	assert_int_equal(tee_dstack_events_parse(&ev, log, strlen(log)), TEELIZA_OK);
	assert_int_equal(ev.log.count, 29);
	for (i = 0; i < 4; i++) {
		assert_hex_equal(ev.rtmr[i], 48, fixture_rtmr[i]);
		assert_memory_equal(ev.rtmr[i], quote + 48 + 328 + 48 * i, 48);
	}
	assert_int_equal(ev.runtime_count, 9);
	assert_int_equal(ev.stripped_count, 9);
	assert_int_equal(ev.mismatch_count, 0);
	assert_true(ev.first_mismatch == SIZE_MAX);
	assert_int_equal(ev.system_ready, 28);
	assert_string_equal(ev.log.events[28].event, "system-ready");

	e = tee_dstack_events_ident(&ev, TEE_DSTACK_IDENT_APP_ID);
	assert_non_null(e);
	assert_hex_equal(e->payload, e->payload_len, "86b0e55f2fa8e4fb69d890f14f54d5612707646e");
	e = tee_dstack_events_ident(&ev, TEE_DSTACK_IDENT_COMPOSE_HASH);
	assert_hex_equal(e->payload, e->payload_len, "86b0e55f2fa8e4fb69d890f14f54d5612707646e2573d54e0d2ddaaade77caa9");
	e = tee_dstack_events_ident(&ev, TEE_DSTACK_IDENT_INSTANCE_ID);
	assert_hex_equal(e->payload, e->payload_len, "050bf89570575fe8fab4cb8f0a62a9e64efe8ead");
	e = tee_dstack_events_ident(&ev, TEE_DSTACK_IDENT_OS_IMAGE_HASH);
	assert_hex_equal(e->payload, e->payload_len, "07a2388c7a6a1b6a646d443f1517990a4ec294471d63146cda9d56972765051d");
	e = tee_dstack_events_ident(&ev, TEE_DSTACK_IDENT_KEY_PROVIDER);
	assert_true(e->payload_len > 20 && memcmp(e->payload, "{\"name\":\"kms\",\"id\":\"", 20) == 0);
	e = tee_dstack_events_ident(&ev, TEE_DSTACK_IDENT_STORAGE_FS);
	assert_int_equal(e->payload_len, 3);
	assert_memory_equal(e->payload, "zfs", 3);
	assert_string_equal(tee_dstack_ident_name(TEE_DSTACK_IDENT_OS_IMAGE_HASH), "os-image-hash");

	/* the parsed quote agrees, report_data sits at 568..632 */
	assert_int_equal(dcap_quote_parse(&q, quote, quote_len), TEELIZA_OK);
	assert_int_equal(q.header.tee_type, DCAP_TEE_TYPE_TDX);
	assert_int_equal(tee_dstack_events_check_quote(&ev, &q.body.td), TEELIZA_OK);
	assert_ptr_equal(q.body.td.report_data, quote + 568);
	assert_hex_equal(quote + 568, 64, json_string_value(json_object_get(v, "report_data")));

	/* the SDKs' rule (zero-padded carried digests) gets RTMR3 wrong on this stripped log */
	{
		tee_event_log plain;
		uint8_t rtmr[4][TEE_RTMR_LEN];

		assert_int_equal(tee_event_log_parse(&plain, log, strlen(log)), TEELIZA_OK);
		tee_rtmr_replay(rtmr, &plain);
		assert_memory_equal(rtmr, ev.rtmr, 3 * TEE_RTMR_LEN);
		assert_memory_not_equal(rtmr[3], ev.rtmr[3], TEE_RTMR_LEN);
		/* while the log this module keeps (recomputed digests) replays right with it */
		tee_rtmr_replay(rtmr, &ev.log);
		assert_memory_equal(rtmr, ev.rtmr, sizeof(rtmr));
		tee_event_log_free(&plain);
	}
	tee_dstack_events_free(&ev);
	free(quote);
	json_decref(v);
}

/* The full (≤ 0.5.5) form: carried digests are compared, never used. */
static void test_full_form(void **state)
{
	json_t *v, *arr, *item;
	uint8_t *quote, d[48];
	size_t quote_len, i;
	const char *log = fixture(&v, &quote, &quote_len);
	char hex[97], *text;
	tee_dstack_events ev;

	(void)state;
	arr = json_loads(log, 0, NULL);
	assert_non_null(arr);
	json_array_foreach(arr, i, item) {
		if (json_integer_value(json_object_get(item, "imr")) != 3)
			continue;
		{
			size_t plen = 0;
			const char *ph = json_string_value(json_object_get(item, "event_payload"));
			uint8_t *p = hex_alloc(ph, &plen);
			const char *name = json_string_value(json_object_get(item, "event"));
			uint8_t pre[512];

			/* computed here from the formula, not by the module */
			assert_true(4 + 1 + strlen(name) + 1 + plen <= sizeof(pre));
			memcpy(pre, "\x01\x00\x00\x08:", 5);
			memcpy(pre + 5, name, strlen(name));
			pre[5 + strlen(name)] = ':';
			memcpy(pre + 6 + strlen(name), p, plen);
			sha384(d, pre, 6 + strlen(name) + plen);
			free(p);
		}
		teeliza_hex_encode(hex, d, 48);
		json_object_set_new(item, "digest", json_string(hex));
	}
	text = json_dumps(arr, JSON_COMPACT);
	assert_int_equal(parse_str(&ev, text), TEELIZA_OK);
	assert_int_equal(ev.stripped_count, 0);
	assert_int_equal(ev.mismatch_count, 0);
	for (i = 0; i < 4; i++)
		assert_hex_equal(ev.rtmr[i], 48, fixture_rtmr[i]);
	tee_dstack_events_free(&ev);
	free(text);

	/* a lying digest on app-id (event 21): reported, not used */
	item = json_array_get(arr, 21);
	assert_string_equal(json_string_value(json_object_get(item, "event")), "app-id");
	json_object_set_new(item, "digest", json_string("00000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000abcd"));
	text = json_dumps(arr, JSON_INDENT(2));
	assert_int_equal(parse_str(&ev, text), TEELIZA_OK);
	assert_int_equal(ev.mismatch_count, 1);
	assert_int_equal(ev.first_mismatch, 21);
	assert_int_equal(ev.first_mismatch_carried[47], 0xcd);
	for (i = 0; i < 4; i++)
		assert_hex_equal(ev.rtmr[i], 48, fixture_rtmr[i]);
	tee_dstack_events_free(&ev);
	free(text);
	json_decref(arr);
	free(quote);
	json_decref(v);
}

/* Identity events: only before system-ready, a duplicate there is an error, after it is ignored. */
static void test_identity(void **state)
{
	tee_dstack_events ev;
	const char *after =
		"[{\"imr\":3,\"event_type\":" RT ",\"digest\":\"\",\"event\":\"system-ready\",\"event_payload\":\"\"},"
		"{\"imr\":3,\"event_type\":" RT ",\"digest\":\"\",\"event\":\"app-id\",\"event_payload\":"
		"\"1111111111111111111111111111111111111111\"}]";
	const char *dup =
		"[{\"imr\":3,\"event_type\":" RT ",\"digest\":\"\",\"event\":\"app-id\",\"event_payload\":"
		"\"1111111111111111111111111111111111111111\"},"
		"{\"imr\":3,\"event_type\":" RT ",\"digest\":\"\",\"event\":\"app-id\",\"event_payload\":"
		"\"2222222222222222222222222222222222222222\"},"
		"{\"imr\":3,\"event_type\":" RT ",\"digest\":\"\",\"event\":\"system-ready\",\"event_payload\":\"\"}]";
	const char *dup_after =
		"[{\"imr\":3,\"event_type\":" RT ",\"digest\":\"\",\"event\":\"app-id\",\"event_payload\":"
		"\"1111111111111111111111111111111111111111\"},"
		"{\"imr\":3,\"event_type\":" RT ",\"digest\":\"\",\"event\":\"system-ready\",\"event_payload\":\"\"},"
		"{\"imr\":3,\"event_type\":" RT ",\"digest\":\"\",\"event\":\"app-id\",\"event_payload\":\"22\"},"
		"{\"imr\":3,\"event_type\":" RT ",\"digest\":\"\",\"event\":\"system-ready\",\"event_payload\":\"\"}]";
	const char *no_ready =
		"[{\"imr\":3,\"event_type\":" RT ",\"event\":\"instance-id\",\"event_payload\":\"\"},"
		"{\"imr\":3,\"event_type\":" RT ",\"event\":\"compose-hash\",\"event_payload\":\"aa\"}]";
	const tee_event *e;

	(void)state;
	assert_int_equal(parse_str(&ev, after), TEELIZA_OK);
	assert_null(tee_dstack_events_ident(&ev, TEE_DSTACK_IDENT_APP_ID));
	assert_int_equal(ev.system_ready, 0);
	tee_dstack_events_free(&ev);

	assert_int_equal(parse_str(&ev, dup), TEELIZA_ERR_PARSE);
	assert_string_equal(teeliza_errmsg(), "events 0 and 1: \"app-id\" twice before system-ready");
	assert_int_equal(ev.log.count, 0);
	tee_dstack_events_free(&ev);

	assert_int_equal(parse_str(&ev, dup_after), TEELIZA_OK);
	e = tee_dstack_events_ident(&ev, TEE_DSTACK_IDENT_APP_ID);
	assert_non_null(e);
	assert_int_equal(e->payload[0], 0x11);
	assert_int_equal(ev.system_ready, 1);
	tee_dstack_events_free(&ev);

	/* without system-ready every runtime event counts; lengths are checked; instance-id may be empty */
	assert_int_equal(parse_str(&ev, no_ready), TEELIZA_ERR_PARSE);
	assert_string_equal(teeliza_errmsg(), "event 1: \"compose-hash\" payload is 1 bytes, expected 32");
	tee_dstack_events_free(&ev);
	assert_int_equal(parse_str(&ev, "[{\"imr\":3,\"event_type\":" RT ",\"event\":\"instance-id\",\"event_payload\":\"\"}]"),
	                 TEELIZA_OK);
	assert_non_null(tee_dstack_events_ident(&ev, TEE_DSTACK_IDENT_INSTANCE_ID));
	assert_true(ev.system_ready == SIZE_MAX);
	tee_dstack_events_free(&ev);
	assert_int_equal(parse_str(&ev, "[{\"imr\":3,\"event_type\":" RT ",\"event\":\"app-id\",\"event_payload\":\"00\"}]"),
	                 TEELIZA_ERR_PARSE);
	assert_string_equal(teeliza_errmsg(), "event 0: \"app-id\" payload is 1 bytes, expected 20");
	tee_dstack_events_free(&ev);
}

/* EV_NO_ACTION events are logged but never extended. */
static void test_no_action(void **state)
{
	tee_dstack_events ev;
	char json[512];
	uint8_t d[48], mr[48] = {0};

	(void)state;
	memset(d, 0x5a, sizeof(d));
	snprintf(json, sizeof(json),
	         "[{\"imr\":0,\"event_type\":3,\"digest\":\"%096d\",\"event\":\"\",\"event_payload\":\"\"},"
	         "{\"imr\":0,\"event_type\":1,\"digest\":\"5a5a5a5a5a5a5a5a5a5a5a5a5a5a5a5a5a5a5a5a5a5a5a5a5a5a5a5a5a5a"
	         "5a5a5a5a5a5a5a5a5a5a5a5a5a5a5a5a5a5a\",\"event\":\"\",\"event_payload\":\"\"}]", 7);
	assert_int_equal(parse_str(&ev, json), TEELIZA_OK);
	tee_dstack_rtmr_extend(mr, d);
	assert_memory_equal(ev.rtmr[0], mr, 48);
	assert_int_equal(ev.log.count, 2);
	tee_dstack_events_free(&ev);
}

/* Hostile input: every malformation a clear error, nothing half-filled. */
static void test_parse_errors(void **state)
{
	static const char d48[] = "\"000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000\"";
	static const struct {
		const char *json;
		teeliza_err err;
		const char *msg; /* prefix of the message */
	} cases[] = {
		{"", TEELIZA_ERR_PARSE, "event log is not valid JSON"},
		{"{}", TEELIZA_ERR_PARSE, "event log is not a JSON array"},
		{"[1]", TEELIZA_ERR_PARSE, "event 0 is not a JSON object"},
		{"[] x", TEELIZA_ERR_PARSE, "event log is not valid JSON"},
		{"[{\"imr\":3,\"imr\":3,\"event_type\":" RT ",\"event\":\"a\",\"event_payload\":\"\"}]", TEELIZA_ERR_PARSE,
		 "event log is not valid JSON: duplicate object key"},
		{"[{\"event_type\":" RT ",\"event\":\"a\",\"event_payload\":\"\"}]", TEELIZA_ERR_PARSE, "event 0: missing \"imr\""},
		{"[{\"imr\":3,\"event\":\"a\",\"event_payload\":\"\"}]", TEELIZA_ERR_PARSE, "event 0: missing \"event_type\""},
		{"[{\"imr\":3,\"event_type\":" RT ",\"event_payload\":\"\"}]", TEELIZA_ERR_PARSE, "event 0: missing \"event\""},
		{"[{\"imr\":3,\"event_type\":" RT ",\"event\":\"a\"}]", TEELIZA_ERR_PARSE, "event 0: missing \"event_payload\""},
		{"[{\"imr\":4,\"event_type\":" RT ",\"event\":\"a\",\"event_payload\":\"\"}]", TEELIZA_ERR_PARSE,
		 "event 0: \"imr\" is 4, outside 0..3"},
		{"[{\"imr\":-1,\"event_type\":" RT ",\"event\":\"a\",\"event_payload\":\"\"}]", TEELIZA_ERR_PARSE,
		 "event 0: \"imr\" is -1"},
		{"[{\"imr\":3.0,\"event_type\":" RT ",\"event\":\"a\",\"event_payload\":\"\"}]", TEELIZA_ERR_PARSE,
		 "event 0: \"imr\" is not an integer"},
		{"[{\"imr\":\"3\",\"event_type\":" RT ",\"event\":\"a\",\"event_payload\":\"\"}]", TEELIZA_ERR_PARSE,
		 "event 0: \"imr\" is not an integer"},
		{"[{\"imr\":0,\"event_type\":4294967296,\"event\":\"a\",\"event_payload\":\"\"}]", TEELIZA_ERR_PARSE,
		 "event 0: \"event_type\" is 4294967296, outside 0..4294967295"},
		{"[{\"imr\":3,\"event_type\":99999999999999999999,\"event\":\"a\",\"event_payload\":\"\"}]", TEELIZA_ERR_PARSE,
		 "event log is not valid JSON"},
		{"[{\"imr\":2,\"event_type\":" RT ",\"event\":\"a\",\"event_payload\":\"\"}]", TEELIZA_ERR_PARSE,
		 "event 0: a runtime event (type 0x08000001) on imr 2"},
		{"[{\"imr\":3,\"event_type\":1,\"event\":\"a\",\"event_payload\":\"\"}]", TEELIZA_ERR_PARSE,
		 "event 0: event_type 1 on imr 3"},
		{"[{\"imr\":0,\"event_type\":1,\"event\":\"a\",\"event_payload\":\"\"}]", TEELIZA_ERR_PARSE,
		 "event 0: an imr 0 event without a digest"},
		{"[{\"imr\":0,\"event_type\":1,\"digest\":\"00\",\"event\":\"a\",\"event_payload\":\"\"}]", TEELIZA_ERR_PARSE,
		 "event 0: \"digest\" has 2 hex digits, must be 96 (SHA-384)"},
		{"[{\"imr\":3,\"event_type\":" RT ",\"digest\":null,\"event\":\"a\",\"event_payload\":\"\"}]", TEELIZA_ERR_PARSE,
		 "event 0: \"digest\" is not a string"},
		{"[{\"imr\":3,\"event_type\":" RT ",\"event\":\"a\",\"event_payload\":\"0g\"}]", TEELIZA_ERR_PARSE,
		 "event 0: \"event_payload\" is not hex: invalid hex digit at position 1"},
		{"[{\"imr\":3,\"event_type\":" RT ",\"event\":\"a\",\"event_payload\":\"abc\"}]", TEELIZA_ERR_PARSE,
		 "event 0: \"event_payload\" is not hex: odd-length"},
		{"[{\"imr\":3,\"event_type\":" RT ",\"event\":\"a\",\"event_payload\":\"0xab\"}]", TEELIZA_ERR_PARSE,
		 "event 0: \"event_payload\" is not hex"},
		{"[{\"imr\":3,\"event_type\":" RT ",\"event\":\"a\\u0000b\",\"event_payload\":\"\"}]", TEELIZA_ERR_PARSE,
		 "event log is not valid JSON"},
		{"[{\"imr\":3,\"event_type\":" RT ",\"event\":\"\xff\",\"event_payload\":\"\"}]", TEELIZA_ERR_PARSE,
		 "event log is not valid JSON"},
		{"[{\"imr\":3,\"event_type\":" RT ",\"event\":1,\"event_payload\":\"\"}]", TEELIZA_ERR_PARSE,
		 "event 0: \"event\" is not a string"},
	};
	tee_dstack_events ev;
	char json[1024];
	size_t i;

	(void)state;
	for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		teeliza_err err = parse_str(&ev, cases[i].json);

		if (err != cases[i].err || strncmp(teeliza_errmsg(), cases[i].msg, strlen(cases[i].msg)) != 0)
			fail_msg("case %zu: got %d \"%s\", want %d \"%s…\"", i, err, teeliza_errmsg(), cases[i].err,
			         cases[i].msg);
		assert_int_equal(ev.log.count, 0);
		assert_null(ev.log.events);
		tee_dstack_events_free(&ev);
	}
	/* a 48-byte digest on a runtime event and unknown keys are fine */
	snprintf(json, sizeof(json),
	         "[{\"imr\":3,\"event_type\":" RT ",\"digest\":%s,\"event\":\"a\",\"event_payload\":\"AB\",\"x\":[1]}]", d48);
	assert_int_equal(parse_str(&ev, json), TEELIZA_OK);
	assert_int_equal(ev.mismatch_count, 1);
	assert_int_equal(ev.log.events[0].payload[0], 0xab);
	tee_dstack_events_free(&ev);
	assert_int_equal(parse_str(&ev, "[]"), TEELIZA_OK);
	assert_int_equal(ev.log.count, 0);
	assert_memory_equal(ev.rtmr, (uint8_t[4 * 48]){0}, sizeof(ev.rtmr));
	tee_dstack_events_free(&ev);
}

/* The caps: bytes and events. */
static void test_caps(void **state)
{
	static const char item[] = "{\"imr\":3,\"event_type\":" RT ",\"event\":\"\",\"event_payload\":\"\"}";
	tee_dstack_events ev;
	teeliza_buf b;
	size_t i;

	(void)state;
	teeliza_buf_init(&b, 4u << 20);
	assert_int_equal(teeliza_buf_append(&b, "[", 1), TEELIZA_OK);
	for (i = 0; i < TEE_DSTACK_EVENTS_MAX; i++) {
		assert_int_equal(teeliza_buf_append_str(&b, i ? "," : ""), TEELIZA_OK);
		assert_int_equal(teeliza_buf_append_str(&b, item), TEELIZA_OK);
	}
	assert_int_equal(teeliza_buf_append(&b, "]", 1), TEELIZA_OK);
	assert_int_equal(tee_dstack_events_parse(&ev, (const char *)b.data, b.len), TEELIZA_OK);
	assert_int_equal(ev.runtime_count, TEE_DSTACK_EVENTS_MAX);
	tee_dstack_events_free(&ev);
	b.len--; /* one more event */
	assert_int_equal(teeliza_buf_append_str(&b, ","), TEELIZA_OK);
	assert_int_equal(teeliza_buf_append_str(&b, item), TEELIZA_OK);
	assert_int_equal(teeliza_buf_append(&b, "]", 1), TEELIZA_OK);
	assert_int_equal(tee_dstack_events_parse(&ev, (const char *)b.data, b.len), TEELIZA_ERR_TOO_LARGE);
	assert_string_equal(teeliza_errmsg(), "event log has 4097 events, at most 4096 accepted");
	tee_dstack_events_free(&ev);
	/* one byte over the size cap is refused before any parsing */
	teeliza_buf_reset(&b);
	assert_int_equal(teeliza_buf_append(&b, "[", 1), TEELIZA_OK);
	while (b.len < TEE_DSTACK_EVENT_LOG_MAX)
		assert_int_equal(teeliza_buf_append(&b, " ", 1), TEELIZA_OK);
	assert_int_equal(teeliza_buf_append(&b, "]", 1), TEELIZA_OK);
	assert_int_equal(tee_dstack_events_parse(&ev, (const char *)b.data, b.len), TEELIZA_ERR_TOO_LARGE);
	tee_dstack_events_free(&ev);
	assert_int_equal(tee_dstack_events_parse(&ev, (const char *)b.data + 1, b.len - 1), TEELIZA_ERR_PARSE);
	tee_dstack_events_free(&ev);
	teeliza_buf_free(&b);
}

/* mr_aggregated: the fixture's MRCONFIGID is set (eight registers); zeroed, the five-register form. */
static void test_mr_aggregated(void **state)
{
	json_t *v;
	uint8_t *quote, out[32];
	size_t quote_len;
	const char *log = fixture(&v, &quote, &quote_len);
	tee_dstack_events ev;
	dcap_quote q;

	(void)state;
	assert_int_equal(tee_dstack_events_parse(&ev, log, strlen(log)), TEELIZA_OK);
	assert_int_equal(dcap_quote_parse(&q, quote, quote_len), TEELIZA_OK);
	tee_dstack_mr_aggregated(out, &q.body.td, ev.rtmr[3]);
	assert_hex_equal(out, 32, "c758fa624b62536ca77504c4c52745e70880220a178a615a859c52f8b101d2ee");
	memset(quote + 48 + 184, 0, 48); /* MRCONFIGID (the view points into quote) */
	tee_dstack_mr_aggregated(out, &q.body.td, ev.rtmr[3]);
	assert_hex_equal(out, 32, "98ec71eb0e613de0a9fa7835dcd0d80add4ef9b857be668890bf1389ad1de137");

	/* a replay that disagrees with the quote names the register */
	ev.rtmr[2][0] ^= 1;
	assert_int_equal(tee_dstack_events_check_quote(&ev, &q.body.td), TEELIZA_ERR_VERIFY);
	assert_non_null(strstr(teeliza_errmsg(), "RTMR2 mismatch, quoted: 4c1b739e"));
	tee_dstack_events_free(&ev);
	free(quote);
	json_decref(v);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_event_digests),
		cmocka_unit_test(test_rtmr3_steps),
		cmocka_unit_test(test_fixture_replay),
		cmocka_unit_test(test_full_form),
		cmocka_unit_test(test_identity),
		cmocka_unit_test(test_no_action),
		cmocka_unit_test(test_parse_errors),
		cmocka_unit_test(test_caps),
		cmocka_unit_test(test_mr_aggregated),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
