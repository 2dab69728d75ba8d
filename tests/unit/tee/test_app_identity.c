/*
 * App identity from RTMR3 (app_identity.h) on the real dstack GetQuote
 * fixture: its app-id, compose-hash, instance-id, os-image-hash and
 * key-provider read after the stripped log replays to the quoted RTMR3;
 * tampering (one payload byte, an identity event after system-ready, a
 * wrong expected value) rejected naming the link; and the verdict of
 * tee_verify_app_identity.
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <cmocka.h>

#include "testutil.h"
#include "teeliza/common/common.h"
#include "teeliza/dcap/quote.h"
#include "teeliza/tee/app_identity.h"

#include <stdlib.h>
#include <string.h>

#define FIXTURE "dstack-getquote-tdx-lite.json"
#define RT 134217729 /* 0x08000001 */

#define APP_ID "86b0e55f2fa8e4fb69d890f14f54d5612707646e"
#define COMPOSE "86b0e55f2fa8e4fb69d890f14f54d5612707646e2573d54e0d2ddaaade77caa9"
#define INSTANCE "050bf89570575fe8fab4cb8f0a62a9e64efe8ead"
#define OS_IMAGE "07a2388c7a6a1b6a646d443f1517990a4ec294471d63146cda9d56972765051d"
#define KMS_ID                                                                                                    \
	"3059301306072a8648ce3d020106082a8648ce3d030107034200042f71e234d7339a1ceaca09c3c391eb816c533f980adaab34f16ead09" \
	"3ff0ac100d9c03253a3056f6d27735125433180b3e61c54a78f3fd13337869e0051dee06"

struct fx {
	json_t *v;
	uint8_t *quote;
	size_t quote_len;
	dcap_quote q;
	const char *log;
};

static void load(struct fx *f)
{
	f->v = vector_json(FIXTURE);
	f->quote = hex_alloc(json_string_value(json_object_get(f->v, "quote")), &f->quote_len);
	assert_int_equal(dcap_quote_parse(&f->q, f->quote, f->quote_len), TEELIZA_OK);
	f->log = json_string_value(json_object_get(f->v, "event_log"));
}

static void unload(struct fx *f)
{
	free(f->quote);
	json_decref(f->v);
}

static void expect_err(teeliza_err got, teeliza_err want, const char *msg)
{
	if (got != want || strstr(teeliza_errmsg(), msg) == NULL)
		fail_msg("got %d \"%s\", want %d \"…%s…\"", got, teeliza_errmsg(), want, msg);
}

static const uint8_t *hex_static(uint8_t *buf, const char *hex)
{
	size_t n;
	uint8_t *p = hex_alloc(hex, &n);

	memcpy(buf, p, n);
	free(p);
	return buf;
}

/* The fixture's identity, read only once its log replays to the quote's RTMR3. */
static void test_fixture_identity(void **state)
{
	struct fx f;
	tee_app_identity id;
	tee_identity_policy p;
	uint8_t a[20], c[32], o[32];
	json_t *j;
	char *text;

	(void)state;
	load(&f);
	assert_int_equal(tee_app_identity_check(&id, f.log, strlen(f.log), f.q.body.td.rtmr[3], NULL), TEELIZA_OK);
	assert_true(id.has_app_id && id.has_compose_hash && id.has_instance_id && id.has_os_image_hash &&
	            id.has_key_provider && id.system_ready);
	assert_hex_equal(id.app_id, 20, APP_ID);
	assert_hex_equal(id.compose_hash, 32, COMPOSE);
	assert_int_equal(id.instance_id_len, 20);
	assert_hex_equal(id.instance_id, 20, INSTANCE);
	assert_hex_equal(id.os_image_hash, 32, OS_IMAGE);
	assert_string_equal(id.key_provider_name, "kms");
	assert_string_equal(id.key_provider_id, KMS_ID);
	assert_string_equal(id.key_provider, "{\"name\":\"kms\",\"id\":\"" KMS_ID "\"}");
	assert_memory_equal(id.rtmr3, f.q.body.td.rtmr[3], 48);

	/* every expectation met: by id (any case, 0x) and by the whole payload */
	memset(&p, 0, sizeof(p));
	p.expect_app_id = hex_static(a, APP_ID);
	p.expect_compose_hash = hex_static(c, COMPOSE);
	p.expect_os_image_hash = hex_static(o, OS_IMAGE);
	p.expect_key_provider = "0x3059301306072A8648CE3D020106082A8648CE3D030107034200042F71E234D7339A1CEACA09C3C391EB816C"
	                        "533F980ADAAB34F16EAD093FF0AC100D9C03253A3056F6D27735125433180B3E61C54A78F3FD13337869E0051DEE06";
	assert_int_equal(tee_app_identity_check(NULL, f.log, strlen(f.log), f.q.body.td.rtmr[3], &p), TEELIZA_OK);
	p.expect_key_provider = id.key_provider;
	assert_int_equal(tee_app_identity_check(NULL, f.log, strlen(f.log), f.q.body.td.rtmr[3], &p), TEELIZA_OK);

	j = tee_app_identity_to_json(&id);
	assert_non_null(j);
	assert_string_equal(json_string_value(json_object_get(j, "composeHash")), COMPOSE);
	assert_string_equal(json_string_value(json_object_get(json_object_get(j, "keyProvider"), "id")), KMS_ID);
	text = json_dumps(j, 0);
	assert_non_null(strstr(text, "\"systemReady\": true"));
	free(text);
	json_decref(j);
	unload(&f);
}

/* Each expected value that differs is a failure naming its field. */
static void test_wrong_expectations(void **state)
{
	static const struct {
		int field;
		const char *hex, *msg;
	} rows[] = {
		{0, "86b0e55f2fa8e4fb69d890f14f54d5612707646f", "app identity: app-id is " APP_ID ", expected 86b0e55f2fa8e4fb69d890f14f54d5612707646f"},
		{1, "06b0e55f2fa8e4fb69d890f14f54d5612707646e2573d54e0d2ddaaade77caa9", "app identity: compose-hash is " COMPOSE ", expected 06b0"},
		{2, "17a2388c7a6a1b6a646d443f1517990a4ec294471d63146cda9d56972765051d", "app identity: os-image-hash is " OS_IMAGE},
		{3, "3059", "app identity: key-provider id is " KMS_ID " (kms), expected 3059"},
		{4, "{\"name\":\"kms\",\"id\":\"00\"}", "app identity: key-provider is {\"name\":\"kms\""},
	};
	struct fx f;
	tee_identity_policy p;
	uint8_t buf[32];
	size_t i;

	(void)state;
	load(&f);
	for (i = 0; i < sizeof(rows) / sizeof(rows[0]); i++) {
		memset(&p, 0, sizeof(p));
		if (rows[i].field == 0)
			p.expect_app_id = hex_static(buf, rows[i].hex);
		else if (rows[i].field == 1)
			p.expect_compose_hash = hex_static(buf, rows[i].hex);
		else if (rows[i].field == 2)
			p.expect_os_image_hash = hex_static(buf, rows[i].hex);
		else
			p.expect_key_provider = rows[i].hex;
		expect_err(tee_app_identity_check(NULL, f.log, strlen(f.log), f.q.body.td.rtmr[3], &p), TEELIZA_ERR_VERIFY,
		           rows[i].msg);
	}
	unload(&f);
}

/* The fixture's log as a JSON array, to tamper with. */
static json_t *log_array(const struct fx *f)
{
	json_t *a = json_loads(f->log, 0, NULL);

	assert_true(json_is_array(a));
	return a;
}

static size_t find_event(json_t *a, const char *name)
{
	size_t i;
	json_t *e;

	json_array_foreach(a, i, e)
		if (strcmp(json_string_value(json_object_get(e, "event")), name) == 0)
			return i;
	fail_msg("no event %s", name);
	return 0;
}

/* Replay a (tampered) log to the RTMR3 it produces: what a quote taken after such events would carry. */
static void replayed_rtmr3(uint8_t out[48], const char *log)
{
	tee_dstack_events ev;

	assert_int_equal(tee_dstack_events_parse(&ev, log, strlen(log)), TEELIZA_OK);
	memcpy(out, ev.rtmr[3], 48);
	tee_dstack_events_free(&ev);
}

/* One byte of one payload changed: the log no longer replays to the quoted RTMR3. */
static void test_tampered_payload(void **state)
{
	struct fx f;
	json_t *a, *e;
	char *text, payload[65];
	tee_app_identity id;

	(void)state;
	load(&f);
	a = log_array(&f);
	e = json_array_get(a, find_event(a, "compose-hash"));
	snprintf(payload, sizeof(payload), "%s", json_string_value(json_object_get(e, "event_payload")));
	payload[63] = payload[63] == '9' ? '8' : '9';
	json_object_set_new(e, "event_payload", json_string(payload));
	text = json_dumps(a, JSON_COMPACT);
	expect_err(tee_app_identity_check(&id, text, strlen(text), f.q.body.td.rtmr[3], NULL), TEELIZA_ERR_VERIFY,
	           "event log does not match RTMR3 (quoted 6f24c170");
	assert_false(id.has_compose_hash);
	free(text);
	json_decref(a);

	/* and a log that does not parse says so */
	expect_err(tee_app_identity_check(&id, "[{\"imr\":3}]", 11, f.q.body.td.rtmr[3], NULL), TEELIZA_ERR_PARSE,
	           "event log does not parse: event 0: missing \"event_type\"");
	unload(&f);
}

static json_t *runtime_event(const char *name, const char *payload_hex)
{
	return json_pack("{s:i, s:i, s:s, s:s, s:s}", "imr", 3, "event_type", RT, "digest", "", "event", name,
	                 "event_payload", payload_hex);
}

/* An identity event after system-ready says nothing, even when RTMR3 matches (the app emitted it). */
static void test_identity_after_system_ready(void **state)
{
	static const char other[] = "00000000000000000000000000000000000000000000000000000000000000aa";
	struct fx f;
	json_t *a;
	char *text;
	uint8_t rtmr3[48], want[32];
	tee_app_identity id;
	tee_identity_policy p;

	(void)state;
	load(&f);
	/* the app emits a second compose-hash after system-ready */
	a = log_array(&f);
	json_array_append_new(a, runtime_event("compose-hash", other));
	text = json_dumps(a, JSON_COMPACT);
	replayed_rtmr3(rtmr3, text);
	memset(&p, 0, sizeof(p));
	p.expect_compose_hash = hex_static(want, other);
	expect_err(tee_app_identity_check(&id, text, strlen(text), rtmr3, &p), TEELIZA_ERR_VERIFY,
	           "app identity: compose-hash is " COMPOSE ", expected " "00000000");
	assert_hex_equal(id.compose_hash, 32, COMPOSE);
	free(text);
	json_decref(a);

	/* the OS's compose-hash moved after system-ready: there is none before it */
	a = log_array(&f);
	json_array_remove(a, find_event(a, "compose-hash"));
	json_array_append_new(a, runtime_event("compose-hash", other));
	text = json_dumps(a, JSON_COMPACT);
	replayed_rtmr3(rtmr3, text);
	expect_err(tee_app_identity_check(&id, text, strlen(text), rtmr3, &p), TEELIZA_ERR_VERIFY,
	           "app identity: no compose-hash event before system-ready");
	assert_false(id.has_compose_hash);
	assert_true(id.has_app_id);
	free(text);
	json_decref(a);
	unload(&f);
}

/* tee_verify_app_identity turns a verdict into a failure naming event_log or app_identity. */
static void test_verdict(void **state)
{
	struct fx f;
	dcap_result *res = calloc(1, sizeof(*res));
	tee_app_identity id;
	tee_identity_policy p;
	uint8_t want[32];
	bool read;

	(void)state;
	assert_non_null(res);
	load(&f);
	memset(&p, 0, sizeof(p));
#define TRUSTED()                                  \
	do {                                       \
		memset(res, 0, sizeof(*res));      \
		res->verdict = DCAP_VERDICT_TRUSTED; \
		res->tdx = true;                   \
		res->quote_parsed = true;          \
		res->quote = f.q;                  \
	} while (0)
	TRUSTED();
	assert_int_equal(tee_verify_app_identity(res, &id, &read, NULL, 0, &p), TEELIZA_OK);
	assert_false(read);
	assert_int_equal(res->verdict, DCAP_VERDICT_TRUSTED);
	assert_int_equal(tee_verify_app_identity(res, &id, &read, f.log, strlen(f.log), &p), TEELIZA_OK);
	assert_true(read);
	assert_int_equal(res->verdict, DCAP_VERDICT_TRUSTED);

	p.expect_compose_hash = hex_static(want, OS_IMAGE);
	assert_int_equal(tee_verify_app_identity(res, &id, &read, f.log, strlen(f.log), &p), TEELIZA_ERR_VERIFY);
	assert_true(read);
	assert_int_equal(res->verdict, DCAP_VERDICT_FAILED);
	assert_string_equal(dcap_failure_name(res->failure), "app_identity");
	assert_non_null(strstr(res->reason, "compose-hash is " COMPOSE));

	TRUSTED();
	assert_int_equal(tee_verify_app_identity(res, &id, &read, NULL, 0, &p), TEELIZA_ERR_VERIFY);
	assert_string_equal(dcap_failure_name(res->failure), "event_log");

	TRUSTED();
	res->quote.body.td.rtmr[3] = res->quote.body.td.rtmr[2];
	assert_int_equal(tee_verify_app_identity(res, &id, &read, f.log, strlen(f.log), NULL), TEELIZA_ERR_VERIFY);
	assert_false(read);
	assert_string_equal(dcap_failure_name(res->failure), "event_log");
	assert_non_null(strstr(res->reason, "event log does not match RTMR3"));
	assert_int_equal(res->status, DCAP_STATUS_NONE);

	/* a verdict that already failed is left as it was */
	res->failure = DCAP_FAIL_CHAIN;
	assert_int_equal(tee_verify_app_identity(res, &id, &read, f.log, strlen(f.log), &p), TEELIZA_OK);
	assert_int_equal(res->failure, DCAP_FAIL_CHAIN);
#undef TRUSTED
	free(res);
	unload(&f);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_fixture_identity),
		cmocka_unit_test(test_wrong_expectations),
		cmocka_unit_test(test_tampered_payload),
		cmocka_unit_test(test_identity_after_system_ready),
		cmocka_unit_test(test_verdict),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
