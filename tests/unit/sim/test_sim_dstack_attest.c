/*
 * What the simulator's DstackGuest service attests, checked from the
 * outside: GetQuote (raw report data right-padded, the stripped event log
 * replaying to the quote's RTMRs, the OS's runtime events, the quote
 * verifying under the simulator root), EmitEvent (RTMR3 extended as spec
 * §1.9's two-step vector, the event in later logs and in Info; dstack's
 * refusal when asked for), Info (fields, tcb_info, Worker's hiding),
 * GetTlsKey (the RA-TLS extensions, report data = SHA-512("ratls-cert:" ‖
 * SPKI), a quote that verifies) and Attest (the V0 SCALE blob, decoded).
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <cmocka.h>

#include "testutil.h"
#include "teeliza/common/encoding.h"
#include "teeliza/dcap/quote.h"
#include "teeliza/dcap/verify.h"
#include "teeliza/sim/simulator.h"
#include "teeliza/tee/dstack_events.h"

#include <arpa/inet.h>
#include <ftw.h>
#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/x509v3.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#define QUOTE_REPORT_DATA 568

static char tmp_dir[64];

static int rm_entry(const char *path, const struct stat *st, int flag, struct FTW *ftw)
{
	(void)st;
	(void)flag;
	(void)ftw;
	return remove(path);
}

static int setup(void **state)
{
	(void)state;
	snprintf(tmp_dir, sizeof(tmp_dir), "/tmp/teeliza-simattest-XXXXXX");
	assert_non_null(mkdtemp(tmp_dir));
	return 0;
}

static int teardown(void **state)
{
	(void)state;
	nftw(tmp_dir, rm_entry, 16, FTW_DEPTH | FTW_PHYS);
	return 0;
}

static tee_sim *start_with(const char *compose, bool refuse_emit)
{
	char state[192];
	tee_sim_config cfg;
	tee_sim *sim = NULL;

	snprintf(state, sizeof(state), "%s/state", tmp_dir);
	memset(&cfg, 0, sizeof(cfg));
	cfg.state_dir = state;
	cfg.key_pem = tee_sim_dev_key_pem;
	cfg.dstack_dev_keys = true;
	cfg.compose_file = compose;
	cfg.refuse_emit_event = refuse_emit;
	cfg.no_listener = true;
	cfg.quiet = true;
	if (tee_sim_start(&sim, &cfg) != TEELIZA_OK)
		fail_msg("tee_sim_start: %s", teeliza_errmsg());
	return sim;
}

static tee_sim *start(void)
{
	return start_with(NULL, false);
}

static char *call(unsigned *status, tee_sim *sim, tee_sim_listener l, const char *path, const char *body)
{
	teeliza_buf reply;
	char *text;

	assert_int_equal(tee_sim_call_on(&reply, status, sim, l, "POST", path, NULL, "application/json",
	                                 (const uint8_t *)body, body != NULL ? strlen(body) : 0),
	                 TEELIZA_OK);
	text = strdup(reply.data != NULL ? (const char *)reply.data : "");
	assert_non_null(text);
	teeliza_buf_free(&reply);
	return text;
}

static json_t *post_on(tee_sim *sim, tee_sim_listener l, const char *path, const char *body)
{
	unsigned status = 0;
	char *text = call(&status, sim, l, path, body);
	json_t *j;

	if (status != 200)
		fail_msg("POST %s: %u %s", path, status, text);
	j = json_loads(text, JSON_DECODE_ANY, NULL);
	assert_non_null(j);
	free(text);
	return j;
}

static json_t *post(tee_sim *sim, const char *path, const char *body)
{
	return post_on(sim, TEE_SIM_DSTACK_SOCKET, path, body);
}

static const char *jstr(const json_t *o, const char *key)
{
	const char *s = json_string_value(json_object_get(o, key));

	if (s == NULL)
		fail_msg("field %s missing or not a string", key);
	return s;
}

static void hex_to(uint8_t *out, size_t len, const char *hex)
{
	size_t n = 0;

	assert_int_equal(teeliza_hex_decode(out, len, &n, hex, strlen(hex), false), TEELIZA_OK);
	assert_int_equal(n, len);
}

/* The quote verifies under the simulator root with fresh collateral: DCAP all the way, not Intel. */
static void assert_quote_verifies(tee_sim *sim, const uint8_t *quote, size_t len)
{
	int64_t now = (int64_t)time(NULL);
	teeliza_buf root, coll_json;
	dcap_trust *trust = NULL;
	dcap_collateral *coll = NULL;
	dcap_result res;

	assert_int_equal(tee_sim_pki_root_pem(&root, tee_sim_get_pki(sim)), TEELIZA_OK);
	assert_int_equal(tee_sim_collateral_json(&coll_json, tee_sim_get_pki(sim), now), TEELIZA_OK);
	assert_int_equal(dcap_trust_new(&trust, false), TEELIZA_OK);
	assert_int_equal(dcap_trust_add_pem(trust, (const char *)root.data, root.len), TEELIZA_OK);
	assert_int_equal(dcap_collateral_parse_json(&coll, (const char *)coll_json.data, coll_json.len), TEELIZA_OK);
	if (dcap_verify(&res, quote, len, coll, now, NULL, trust) != TEELIZA_OK)
		fail_msg("quote does not verify: %s", teeliza_errmsg());
	assert_int_equal(res.verdict, DCAP_VERDICT_TRUSTED);
	assert_false(res.intel_root);
	dcap_collateral_free(coll);
	dcap_trust_free(trust);
	teeliza_buf_free(&root);
	teeliza_buf_free(&coll_json);
}

/* The log replays to the quote's RTMRs; returns the parsed events (caller frees). */
static void parse_and_check(tee_dstack_events *ev, const char *log, const uint8_t *quote, size_t qlen)
{
	dcap_quote q;

	if (tee_dstack_events_parse(ev, log, strlen(log)) != TEELIZA_OK)
		fail_msg("event log: %s", teeliza_errmsg());
	assert_int_equal(dcap_quote_parse(&q, quote, qlen), TEELIZA_OK);
	if (tee_dstack_events_check_quote(ev, &q.body.td) != TEELIZA_OK)
		fail_msg("replay: %s", teeliza_errmsg());
	assert_int_equal(ev->mismatch_count, 0);
}

/* ---- GetQuote ---- */

static void test_get_quote(void **state)
{
	static const char *const runtime_names[] = {"system-preparing", "app-id",        "compose-hash",
	                                            "instance-id",      "boot-mr-done",  "os-image-hash",
	                                            "key-provider",     "storage-fs",    "system-ready"};
	tee_sim *sim = start();
	json_t *q, *info;
	uint8_t *quote, want_rd[64];
	size_t qlen, i, k = 0;
	tee_dstack_events ev;
	json_t *log, *e;
	const tee_event *id;

	(void)state;
	q = post(sim, "/GetQuote", "{\"report_data\":\"0x0x68656c6c6f\"}");
	assert_int_equal(json_object_size(q), 4);
	/* "hello", right-padded, no prefix, no hash (§1.9) */
	memset(want_rd, 0, sizeof(want_rd));
	memcpy(want_rd, "hello", 5);
	assert_hex_equal(want_rd, 64, jstr(q, "report_data"));
	quote = hex_alloc(jstr(q, "quote"), &qlen);
	assert_memory_equal(quote + QUOTE_REPORT_DATA, want_rd, 64);
	assert_quote_verifies(sim, quote, qlen);
	/* the stripped form: boot digests kept and payloads dropped; runtime events the other way round */
	log = json_loads(jstr(q, "event_log"), 0, NULL);
	assert_non_null(log);
	json_array_foreach(log, i, e) {
		json_int_t imr = json_integer_value(json_object_get(e, "imr"));

		if (imr < 3) {
			assert_int_equal(strlen(jstr(e, "digest")), 96);
			assert_string_equal(jstr(e, "event_payload"), "");
		} else {
			assert_int_equal(json_integer_value(json_object_get(e, "event_type")), 0x08000001);
			assert_string_equal(jstr(e, "digest"), "");
			assert_true(k < 9);
			assert_string_equal(jstr(e, "event"), runtime_names[k]);
			k++;
		}
	}
	assert_int_equal(k, 9);
	json_decref(log);
	parse_and_check(&ev, jstr(q, "event_log"), quote, qlen);
	assert_int_equal(ev.runtime_count, 9);
	assert_int_equal(ev.stripped_count, 9);
	assert_int_not_equal(ev.system_ready, SIZE_MAX);
	/* the identity events carry what Info reports */
	info = post(sim, "/Info", "");
	id = tee_dstack_events_ident(&ev, TEE_DSTACK_IDENT_APP_ID);
	assert_non_null(id);
	assert_hex_equal(id->payload, id->payload_len, jstr(info, "app_id"));
	id = tee_dstack_events_ident(&ev, TEE_DSTACK_IDENT_COMPOSE_HASH);
	assert_hex_equal(id->payload, id->payload_len, jstr(info, "compose_hash"));
	id = tee_dstack_events_ident(&ev, TEE_DSTACK_IDENT_INSTANCE_ID);
	assert_hex_equal(id->payload, id->payload_len, jstr(info, "instance_id"));
	id = tee_dstack_events_ident(&ev, TEE_DSTACK_IDENT_OS_IMAGE_HASH);
	assert_hex_equal(id->payload, id->payload_len, jstr(info, "os_image_hash"));
	id = tee_dstack_events_ident(&ev, TEE_DSTACK_IDENT_KEY_PROVIDER);
	assert_int_equal(id->payload_len, strlen(jstr(info, "key_provider_info")));
	assert_memory_equal(id->payload, jstr(info, "key_provider_info"), id->payload_len);
	assert_non_null(strstr(jstr(info, "key_provider_info"), "{\"name\":\"kms\",\"id\":\"3059301306072a8648ce3d0201"));
	id = tee_dstack_events_ident(&ev, TEE_DSTACK_IDENT_STORAGE_FS);
	assert_int_equal(id->payload_len, 3);
	assert_memory_equal(id->payload, "zfs", 3);
	/* vm_config is Info's, and names the OS image */
	assert_string_equal(jstr(q, "vm_config"), jstr(info, "vm_config"));
	{
		json_t *vm = json_loads(jstr(q, "vm_config"), 0, NULL);

		assert_non_null(vm);
		assert_string_equal(jstr(vm, "os_image_hash"), jstr(info, "os_image_hash"));
		json_decref(vm);
	}
	tee_dstack_events_free(&ev);
	json_decref(info);
	free(quote);
	json_decref(q);

	/* exactly 64 bytes, and none */
	{
		char body[200];

		snprintf(body, sizeof(body), "{\"report_data\":\"%0128x\"}", 7);
		q = post(sim, "/GetQuote", body);
		assert_int_equal(strlen(jstr(q, "report_data")), 128);
		assert_string_equal(jstr(q, "report_data") + 126, "07");
		json_decref(q);
		q = post(sim, "/GetQuote", "");
		memset(want_rd, 0, sizeof(want_rd));
		assert_hex_equal(want_rd, 64, jstr(q, "report_data"));
		json_decref(q);
	}
	/* §1.9: the same "hello" through the tappd service (default sha512) is
	 * SHA-512("app-data:hello"), on the tappd socket and with the prefix trimmed */
	{
		static const char *const paths[] = {"/prpc/Tappd.TdxQuote", "/prpc/TdxQuote"};
		static const char want[] = "e39fd3dbee991d65e65cc38c6e9d664324929816279a19b495bcd3f77a62d819"
		                           "49ba61282d8a732916d39bb9f6a6a16d11211c0d800b6ffc56ecf74419a7c835";

		for (i = 0; i < 2; i++) {
			q = post_on(sim, TEE_SIM_TAPPD_SOCKET, paths[i], "{\"report_data\":\"68656c6c6f\"}");
			quote = hex_alloc(jstr(q, "quote"), &qlen);
			hex_to(want_rd, 64, want);
			assert_memory_equal(quote + QUOTE_REPORT_DATA, want_rd, 64);
			free(quote);
			json_decref(q);
		}
	}
	tee_sim_stop(sim);
}

/* ---- EmitEvent ---- */

static void quote_rtmr3(uint8_t out[48], tee_sim *sim)
{
	json_t *q = post(sim, "/GetQuote", "{}");
	size_t qlen;
	uint8_t *quote = hex_alloc(jstr(q, "quote"), &qlen);
	tee_dstack_events ev;

	parse_and_check(&ev, jstr(q, "event_log"), quote, qlen);
	memcpy(out, quote + 48 + 472, 48);
	tee_dstack_events_free(&ev);
	free(quote);
	json_decref(q);
}

static void test_emit_event(void **state)
{
	static const char d1_hex[] = "932d89c58e4b06531792f52cae148160c71aed5eef155b3294b2ca88e85b4b9b96753526c082a4cf90fd"
	                             "39ffe6ee2fd9";
	tee_sim *sim = start();
	uint8_t before[48], after[48], want[48], d1[48], d2[48], zero[48];
	unsigned status = 0;
	char *text;
	json_t *q, *log, *last, *info, *tcb, *tq;
	tee_event_log tlog;
	uint8_t trtmr[4][48];

	(void)state;
	/* §1.9: the digests, and RTMR3 from zero through both steps */
	hex_to(d1, 48, d1_hex);
	tee_dstack_event_digest(d2, "second", 6, (const uint8_t *)"hello", 5);
	memset(zero, 0, sizeof(zero));
	tee_dstack_rtmr_extend(zero, d1);
	assert_hex_equal(zero, 48, "c7122276de7e76fba4ed83db5af807f677a4335e0318cfca55928b4a1dea2863bd3a951a64ed1498c5de85"
	                           "86d8613a6b");
	tee_dstack_rtmr_extend(zero, d2);
	assert_hex_equal(zero, 48, "a0c4d03007b357de53e77d7dd63195b164f88b7e0f07104526a967820df14beabc8f68c2a58a25d25d5d71"
	                           "c4877ee131");

	quote_rtmr3(before, sim);
	text = call(&status, sim, TEE_SIM_DSTACK_SOCKET, "/EmitEvent", "{\"event\":\"custom-event\",\"payload\":\"deadbeef\"}");
	assert_int_equal(status, 200);
	assert_string_equal(text, "null");
	free(text);
	quote_rtmr3(after, sim);
	memcpy(want, before, 48);
	tee_dstack_rtmr_extend(want, d1);
	assert_memory_equal(after, want, 48);
	text = call(&status, sim, TEE_SIM_DSTACK_SOCKET, "/EmitEvent", "{\"event\":\"second\",\"payload\":\"68656c6c6f\"}");
	assert_int_equal(status, 200);
	free(text);
	quote_rtmr3(after, sim);
	tee_dstack_rtmr_extend(want, d2);
	assert_memory_equal(after, want, 48);

	/* the events close the later GetQuote logs, in order, after system-ready */
	q = post(sim, "/GetQuote", "{}");
	log = json_loads(jstr(q, "event_log"), 0, NULL);
	last = json_array_get(log, json_array_size(log) - 2);
	assert_string_equal(jstr(last, "event"), "custom-event");
	assert_string_equal(jstr(last, "event_payload"), "deadbeef");
	assert_string_equal(jstr(last, "digest"), "");
	last = json_array_get(log, json_array_size(log) - 1);
	assert_string_equal(jstr(last, "event"), "second");
	assert_string_equal(jstr(json_array_get(log, json_array_size(log) - 3), "event"), "system-ready");
	json_decref(log);
	json_decref(q);
	/* ... and Info's tcb_info: the full event with its digest, and the new RTMR3 */
	info = post(sim, "/Info", "");
	tcb = json_loads(jstr(info, "tcb_info"), 0, NULL);
	assert_non_null(tcb);
	assert_hex_equal(after, 48, jstr(tcb, "rtmr3"));
	log = json_object_get(tcb, "event_log");
	last = json_array_get(log, json_array_size(log) - 2);
	assert_string_equal(jstr(last, "event"), "custom-event");
	assert_string_equal(jstr(last, "digest"), d1_hex);
	json_decref(tcb);
	json_decref(info);
	/* ... and the tappd service's TdxQuote, whose full log replays to its quote */
	tq = post_on(sim, TEE_SIM_TAPPD_SOCKET, "/prpc/Tappd.TdxQuote", "{}");
	assert_int_equal(tee_event_log_parse(&tlog, jstr(tq, "event_log"), strlen(jstr(tq, "event_log"))), TEELIZA_OK);
	tee_rtmr_replay(trtmr, &tlog);
	assert_memory_equal(trtmr[3], after, 48);
	assert_string_equal(tlog.events[tlog.count - 1].event, "second");
	tee_event_log_free(&tlog);
	json_decref(tq);

	/* limits: a name too long; a log that would grow past what clients accept */
	{
		size_t big = 200u << 10, n;
		char *body = malloc(2 * big + 64);
		uint8_t r1[48], r2[48];

		assert_non_null(body);
		n = (size_t)snprintf(body, 64, "{\"event\":\"");
		memset(body + n, 'a', 1025);
		snprintf(body + n + 1025, 64, "\"}");
		text = call(&status, sim, TEE_SIM_DSTACK_SOCKET, "/EmitEvent", body);
		assert_int_equal(status, 400);
		assert_non_null(strstr(text, "event name is 1025 bytes; the simulator allows at most 1024"));
		free(text);
		n = (size_t)snprintf(body, 64, "{\"event\":\"big\",\"payload\":\"");
		memset(body + n, 'a', 2 * big);
		snprintf(body + n + 2 * big, 64, "\"}");
		text = call(&status, sim, TEE_SIM_DSTACK_SOCKET, "/EmitEvent", body);
		assert_int_equal(status, 200);
		free(text);
		quote_rtmr3(r1, sim);
		text = call(&status, sim, TEE_SIM_DSTACK_SOCKET, "/EmitEvent", body);
		assert_int_equal(status, 400);
		assert_non_null(strstr(text, "the simulated event log is full"));
		free(text);
		quote_rtmr3(r2, sim);
		assert_memory_equal(r1, r2, 48); /* nothing extended */
		free(body);
	}
	text = call(&status, sim, TEE_SIM_DSTACK_SOCKET, "/EmitEvent", "{\"event\":\"a\\u0000b\"}");
	assert_int_equal(status, 400);
	assert_non_null(strstr(text, "NUL"));
	free(text);
	tee_sim_stop(sim);

	/* dstack's own simulator refuses, and so does this one when asked to */
	sim = start_with(NULL, true);
	quote_rtmr3(before, sim);
	text = call(&status, sim, TEE_SIM_DSTACK_SOCKET, "/EmitEvent", "{\"event\":\"custom-event\",\"payload\":\"deadbeef\"}");
	assert_int_equal(status, 400);
	assert_string_equal(text, "{\n  \"error\": \"runtime event emission is unavailable in simulator mode: custom-event\"\n}");
	free(text);
	quote_rtmr3(after, sim);
	assert_memory_equal(before, after, 48);
	tee_sim_stop(sim);
}

/* ---- Info ---- */

static void test_info(void **state)
{
	static const char *const order[] = {"app_id",        "instance_id",   "app_cert",          "tcb_info",
	                                    "app_name",      "device_id",     "mr_aggregated",     "os_image_hash",
	                                    "key_provider_info", "compose_hash", "vm_config",      "cloud_vendor",
	                                    "cloud_product"};
	static const char *const tcb_keys[] = {"app_compose", "compose_hash", "device_id", "event_log", "mr_aggregated",
	                                       "mrtd", "os_image_hash", "rtmr0", "rtmr1", "rtmr2", "rtmr3"};
	static const char compose[] = "{\"manifest_version\":2,\"name\":\"hidden\",\"runner\":\"docker-compose\","
	                              "\"public_tcbinfo\":false}";
	tee_sim *sim = start();
	json_t *info, *tcb, *q, *value, *w, *ev;
	const char *key;
	size_t i = 0, qlen;
	uint8_t *quote, agg[32], hash[32];
	dcap_quote pq;
	char path[256];

	(void)state;
	info = post(sim, "/Info", "");
	json_object_foreach(info, key, value) {
		assert_true(i < sizeof(order) / sizeof(order[0]));
		assert_string_equal(key, order[i]);
		assert_true(json_is_string(value));
		i++;
	}
	assert_int_equal(i, sizeof(order) / sizeof(order[0]));
	assert_string_equal(jstr(info, "app_name"), "teeliza-simulator");
	assert_string_equal(jstr(info, "device_id"), "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855");
	/* tcb_info: pretty JSON, keys sorted (serde_json's map), events full with sorted keys */
	assert_int_equal(strncmp(jstr(info, "tcb_info"), "{\n  \"app_compose\": ", 19), 0);
	tcb = json_loads(jstr(info, "tcb_info"), JSON_PRESERVE_ORDER, NULL);
	assert_non_null(tcb);
	i = 0;
	json_object_foreach(tcb, key, value) {
		assert_true(i < sizeof(tcb_keys) / sizeof(tcb_keys[0]));
		assert_string_equal(key, tcb_keys[i]);
		i++;
	}
	assert_int_equal(i, sizeof(tcb_keys) / sizeof(tcb_keys[0]));
	ev = json_array_get(json_object_get(tcb, "event_log"), 0);
	assert_int_equal(strcmp(json_object_iter_key(json_object_iter(ev)), "digest"), 0);
	assert_int_equal(strlen(jstr(ev, "digest")), 96);
	assert_string_equal(jstr(tcb, "compose_hash"), jstr(info, "compose_hash"));
	assert_string_equal(jstr(tcb, "os_image_hash"), jstr(info, "os_image_hash"));
	assert_string_equal(jstr(tcb, "mr_aggregated"), jstr(info, "mr_aggregated"));
	assert_string_equal(jstr(tcb, "device_id"), jstr(info, "device_id"));
	/* the compose hash is SHA-256 of app_compose's text */
	assert_int_equal(EVP_Digest(jstr(tcb, "app_compose"), strlen(jstr(tcb, "app_compose")), hash, NULL, EVP_sha256(),
	                            NULL),
	                 1);
	assert_hex_equal(hash, 32, jstr(info, "compose_hash"));
	/* the built-in compose is in getComposeHash()'s canonical form (keys sorted, compact), so its hash is that too */
	{
		json_t *c = json_loads(jstr(tcb, "app_compose"), 0, NULL);
		char *canon = json_dumps(c, JSON_COMPACT | JSON_SORT_KEYS);

		assert_string_equal(canon, jstr(tcb, "app_compose"));
		free(canon);
		json_decref(c);
	}
	/* the measurements are the quote's, and mr_aggregated is computed from them */
	q = post(sim, "/GetQuote", "{}");
	quote = hex_alloc(jstr(q, "quote"), &qlen);
	assert_int_equal(dcap_quote_parse(&pq, quote, qlen), TEELIZA_OK);
	assert_hex_equal(pq.body.td.mrtd, 48, jstr(tcb, "mrtd"));
	assert_hex_equal(pq.body.td.rtmr[0], 48, jstr(tcb, "rtmr0"));
	assert_hex_equal(pq.body.td.rtmr[1], 48, jstr(tcb, "rtmr1"));
	assert_hex_equal(pq.body.td.rtmr[2], 48, jstr(tcb, "rtmr2"));
	assert_hex_equal(pq.body.td.rtmr[3], 48, jstr(tcb, "rtmr3"));
	tee_dstack_mr_aggregated(agg, &pq.body.td, pq.body.td.rtmr[3]);
	assert_hex_equal(agg, 32, jstr(info, "mr_aggregated"));
	/* app_cert: a demo-cert chain, its leaf an RA-TLS certificate */
	assert_int_equal(strncmp(jstr(info, "app_cert"), "-----BEGIN CERTIFICATE-----", 27), 0);
	assert_non_null(strstr(jstr(info, "app_cert"), "-----END CERTIFICATE-----\n\n-----BEGIN CERTIFICATE-----"));
	/* Worker.Info on TCP: the same, with public_tcbinfo (dstack's default) */
	w = post_on(sim, TEE_SIM_TCP, "/prpc/Worker.Info", "");
	assert_string_equal(jstr(w, "tcb_info"), jstr(info, "tcb_info"));
	json_decref(w);
	free(quote);
	json_decref(q);
	json_decref(tcb);
	json_decref(info);
	tee_sim_stop(sim);

	/* public_tcbinfo false: Worker.Info hides tcb_info and vm_config, Info does not */
	snprintf(path, sizeof(path), "%s/hidden.json", tmp_dir);
	assert_int_equal(teeliza_write_file(path, compose, sizeof(compose) - 1, 0644), TEELIZA_OK);
	sim = start_with(path, false);
	info = post(sim, "/Info", "");
	w = post_on(sim, TEE_SIM_TCP, "/prpc/Worker.Info", "");
	assert_string_equal(jstr(w, "tcb_info"), "");
	assert_string_equal(jstr(w, "vm_config"), "");
	assert_string_equal(jstr(w, "app_id"), jstr(info, "app_id"));
	assert_true(strlen(jstr(info, "tcb_info")) > 100);
	tcb = json_loads(jstr(info, "tcb_info"), 0, NULL);
	assert_string_equal(jstr(tcb, "app_compose"), compose);
	json_decref(tcb);
	json_decref(w);
	json_decref(info);
	tee_sim_stop(sim);
}

/* ---- GetTlsKey ---- */

/* The raw bytes of a dstack RA-TLS extension (extnValue = DER OCTET STRING of them); NULL when absent. */
static uint8_t *ratls_ext(X509 *x, const char *oid, size_t *len)
{
	ASN1_OBJECT *obj = OBJ_txt2obj(oid, 1);
	int idx = X509_get_ext_by_OBJ(x, obj, -1);
	X509_EXTENSION *ext;
	const ASN1_OCTET_STRING *outer;
	const unsigned char *p;
	ASN1_OCTET_STRING *inner;
	uint8_t *out;

	ASN1_OBJECT_free(obj);
	if (idx < 0)
		return NULL;
	ext = X509_get_ext(x, idx);
	assert_int_equal(X509_EXTENSION_get_critical(ext), 0);
	outer = X509_EXTENSION_get_data(ext);
	p = ASN1_STRING_get0_data(outer);
	inner = d2i_ASN1_OCTET_STRING(NULL, &p, ASN1_STRING_length(outer));
	assert_non_null(inner);
	assert_ptr_equal(p, ASN1_STRING_get0_data(outer) + ASN1_STRING_length(outer)); /* nothing after it */
	*len = (size_t)ASN1_STRING_length(inner);
	out = malloc(*len + 1);
	assert_non_null(out);
	memcpy(out, ASN1_STRING_get0_data(inner), *len);
	out[*len] = 0;
	ASN1_OCTET_STRING_free(inner);
	return out;
}

static X509 *pem_cert(const char *pem)
{
	BIO *b = BIO_new_mem_buf(pem, -1);
	X509 *x = PEM_read_bio_X509(b, NULL, NULL, NULL);

	BIO_free(b);
	assert_non_null(x);
	return x;
}

static void test_get_tls_key(void **state)
{
	tee_sim *sim = start();
	json_t *r, *chain, *info;
	X509 *leaf, *ca;
	EVP_PKEY *key, *ca_key;
	BIO *b;
	unsigned char *spki = NULL;
	int spki_len;
	uint8_t rd[64], *quote, *log, *app_id, *usage;
	size_t qlen, log_len, id_len, usage_len;
	GENERAL_NAMES *sans;
	EXTENDED_KEY_USAGE *eku;
	tee_dstack_events ev;
	unsigned status = 0;
	char *text;

	(void)state;
	r = post(sim, "/GetTlsKey", "{\"subject\":\"app.example\",\"alt_names\":[\"app.example\",\"10.0.0.1\",\"::1\"],"
	                            "\"usage_ra_tls\":true,\"usage_server_auth\":true,\"not_before\":1700000000,"
	                            "\"not_after\":1900000000}");
	chain = json_object_get(r, "certificate_chain");
	assert_int_equal(json_array_size(chain), 2);
	leaf = pem_cert(json_string_value(json_array_get(chain, 0)));
	ca = pem_cert(json_string_value(json_array_get(chain, 1)));
	/* the key is a P-256 key of its own, and the leaf's; the CA signed the leaf */
	b = BIO_new_mem_buf(jstr(r, "key"), -1);
	key = PEM_read_bio_PrivateKey(b, NULL, NULL, NULL);
	BIO_free(b);
	assert_non_null(key);
	assert_int_equal(strncmp(jstr(r, "key"), "-----BEGIN PRIVATE KEY-----", 27), 0);
	assert_int_equal(X509_check_private_key(leaf, key), 1);
	ca_key = X509_get0_pubkey(ca);
	assert_int_equal(X509_verify(leaf, ca_key), 1);
	/* names, usages, validity */
	assert_int_equal(X509_check_host(leaf, "app.example", 0, 0, NULL), 1);
	assert_int_equal(X509_check_ip_asc(leaf, "10.0.0.1", 0), 1);
	assert_int_equal(X509_check_ip_asc(leaf, "::1", 0), 1);
	sans = X509_get_ext_d2i(leaf, NID_subject_alt_name, NULL, NULL);
	assert_int_equal(sk_GENERAL_NAME_num(sans), 3);
	GENERAL_NAMES_free(sans);
	assert_int_equal(X509_get_key_usage(leaf), KU_DIGITAL_SIGNATURE);
	eku = X509_get_ext_d2i(leaf, NID_ext_key_usage, NULL, NULL);
	assert_int_equal(sk_ASN1_OBJECT_num(eku), 1);
	assert_int_equal(OBJ_obj2nid(sk_ASN1_OBJECT_value(eku, 0)), NID_server_auth);
	EXTENDED_KEY_USAGE_free(eku);
	assert_int_equal(ASN1_TIME_cmp_time_t(X509_get0_notBefore(leaf), 1700000000), 0);
	assert_int_equal(ASN1_TIME_cmp_time_t(X509_get0_notAfter(leaf), 1900000000), 0);
	/* 1.1: a quote over SHA-512("ratls-cert:" ‖ SPKI DER), verifying under the simulator root */
	spki_len = i2d_PUBKEY(X509_get0_pubkey(leaf), &spki);
	assert_true(spki_len > 0);
	{
		EVP_MD_CTX *ctx = EVP_MD_CTX_new();

		assert_int_equal(EVP_DigestInit_ex(ctx, EVP_sha512(), NULL), 1);
		assert_int_equal(EVP_DigestUpdate(ctx, "ratls-cert:", 11), 1);
		assert_int_equal(EVP_DigestUpdate(ctx, spki, (size_t)spki_len), 1);
		assert_int_equal(EVP_DigestFinal_ex(ctx, rd, NULL), 1);
		EVP_MD_CTX_free(ctx);
	}
	quote = ratls_ext(leaf, "1.3.6.1.4.1.62397.1.1", &qlen);
	assert_non_null(quote);
	assert_memory_equal(quote + QUOTE_REPORT_DATA, rd, 64);
	assert_quote_verifies(sim, quote, qlen);
	/* 1.2: the full event log, replaying to the quote */
	log = ratls_ext(leaf, "1.3.6.1.4.1.62397.1.2", &log_len);
	assert_non_null(log);
	parse_and_check(&ev, (const char *)log, quote, qlen);
	assert_int_equal(ev.stripped_count, 0);
	tee_dstack_events_free(&ev);
	/* 1.3: the app id; 1.4: app:custom */
	info = post(sim, "/Info", "");
	app_id = ratls_ext(leaf, "1.3.6.1.4.1.62397.1.3", &id_len);
	assert_non_null(app_id);
	assert_hex_equal(app_id, id_len, jstr(info, "app_id"));
	usage = ratls_ext(leaf, "1.3.6.1.4.1.62397.1.4", &usage_len);
	assert_non_null(usage);
	assert_string_equal((const char *)usage, "app:custom");
	free(quote);
	free(log);
	free(app_id);
	free(usage);
	OPENSSL_free(spki);
	EVP_PKEY_free(key);
	X509_free(leaf);
	X509_free(ca);
	json_decref(info);
	json_decref(r);

	/* SDK defaults: no RA-TLS, no quote; validity 1975 .. about now + 3650 days; a fresh key each time */
	r = post(sim, "/GetTlsKey", "{\"subject\":\"x\",\"usage_server_auth\":true}");
	leaf = pem_cert(json_string_value(json_array_get(json_object_get(r, "certificate_chain"), 0)));
	assert_null(ratls_ext(leaf, "1.3.6.1.4.1.62397.1.1", &qlen));
	assert_null(ratls_ext(leaf, "1.3.6.1.4.1.62397.1.2", &qlen));
	app_id = ratls_ext(leaf, "1.3.6.1.4.1.62397.1.3", &id_len);
	assert_non_null(app_id);
	free(app_id);
	assert_int_equal(ASN1_TIME_cmp_time_t(X509_get0_notBefore(leaf), 157766400), 0); /* 1975-01-01 */
	assert_int_equal(ASN1_TIME_cmp_time_t(X509_get0_notAfter(leaf), time(NULL) + 3649 * 86400), 1);
	assert_int_equal(ASN1_TIME_cmp_time_t(X509_get0_notAfter(leaf), time(NULL) + 3651 * 86400), -1);
	{
		json_t *r2 = post(sim, "/GetTlsKey", "{\"subject\":\"x\"}");

		assert_string_not_equal(jstr(r2, "key"), jstr(r, "key"));
		json_decref(r2);
	}
	X509_free(leaf);
	json_decref(r);

	/* bad input */
	{
		static const struct {
			const char *body, *msg;
		} bad[] = {
			{"{\"alt_names\":[\"not a name\"]}", "invalid DNS name in alt_names[0]: \\\"not a name\\\""},
			{"{\"not_before\":2,\"not_after\":1}", "not_before (2) is later than not_after (1)"},
			{"{\"not_after\":253402300800}", "not_after 253402300800 is past 9999-12-31"},
			{"{\"not_before\":-1}", "invalid field \\\"not_before\\\": expected an unsigned integer, found negative integer"},
			{"{\"not_after\":\"1\"}", "invalid field \\\"not_after\\\": expected an unsigned integer, found string"},
			{"{\"with_app_info\":true}", "with_app_info is not supported by this simulator"},
		};
		size_t i;

		for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
			text = call(&status, sim, TEE_SIM_DSTACK_SOCKET, "/GetTlsKey", bad[i].body);
			assert_int_equal(status, 400);
			if (strstr(text, bad[i].msg) == NULL)
				fail_msg("%s: %s", bad[i].body, text);
			free(text);
		}
		/* null is an absent Option, as serde reads it; with_app_info false is fine */
		text = call(&status, sim, TEE_SIM_DSTACK_SOCKET, "/GetTlsKey", "{\"not_before\":null,\"with_app_info\":false}");
		assert_int_equal(status, 200);
		free(text);
	}
	tee_sim_stop(sim);
}

/* ---- Attest: the V0 SCALE blob ---- */

struct reader {
	const uint8_t *p;
	size_t left;
};

static uint8_t rd_u8(struct reader *r)
{
	assert_true(r->left >= 1);
	r->left--;
	return *r->p++;
}

static uint32_t rd_u32(struct reader *r)
{
	uint32_t v;

	assert_true(r->left >= 4);
	v = (uint32_t)r->p[0] | (uint32_t)r->p[1] << 8 | (uint32_t)r->p[2] << 16 | (uint32_t)r->p[3] << 24;
	r->p += 4;
	r->left -= 4;
	return v;
}

static size_t rd_compact(struct reader *r)
{
	uint8_t b = rd_u8(r);

	switch (b & 3) {
	case 0:
		return b >> 2;
	case 1:
		return (size_t)(b >> 2) | (size_t)rd_u8(r) << 6;
	case 2: {
		uint32_t v = (uint32_t)b | (uint32_t)rd_u8(r) << 8 | (uint32_t)rd_u8(r) << 16 | (uint32_t)rd_u8(r) << 24;

		return v >> 2;
	}
	default:
		fail_msg("big compact length in the attestation");
	}
	return 0;
}

static const uint8_t *rd_bytes(struct reader *r, size_t *len)
{
	const uint8_t *p;

	*len = rd_compact(r);
	assert_true(r->left >= *len);
	p = r->p;
	r->p += *len;
	r->left -= *len;
	return p;
}

static void test_attest(void **state)
{
	tee_sim *sim = start();
	json_t *a, *q;
	uint8_t *blob, want_rd[64];
	size_t blen, len, n, i, runtime = 0;
	const uint8_t *quote, *p;
	size_t qlen;
	struct reader r;
	tee_dstack_events ev;

	(void)state;
	a = post(sim, "/Attest", "{\"report_data\":\"c0ffee\"}");
	assert_int_equal(json_object_size(a), 1);
	blob = hex_alloc(jstr(a, "attestation"), &blen);
	q = post(sim, "/GetQuote", "{\"report_data\":\"c0ffee\"}");
	r.p = blob;
	r.left = blen;
	assert_int_equal(rd_u8(&r), 0); /* V0 */
	assert_int_equal(rd_u8(&r), 0); /* DstackTdx */
	quote = rd_bytes(&r, &qlen);
	memset(want_rd, 0, sizeof(want_rd));
	want_rd[0] = 0xc0;
	want_rd[1] = 0xff;
	want_rd[2] = 0xee;
	assert_true(qlen > QUOTE_REPORT_DATA + 64);
	assert_memory_equal(quote + QUOTE_REPORT_DATA, want_rd, 64);
	assert_quote_verifies(sim, quote, qlen);
	parse_and_check(&ev, jstr(q, "event_log"), quote, qlen);
	n = rd_compact(&r);
	assert_int_equal(n, ev.log.count);
	for (i = 0; i < n; i++) {
		uint32_t imr = rd_u32(&r), type = rd_u32(&r);

		assert_int_equal(imr, ev.log.events[i].imr);
		assert_int_equal(type, ev.log.events[i].event_type);
		p = rd_bytes(&r, &len); /* every digest carried: the full form */
		assert_int_equal(len, 48);
		assert_memory_equal(p, ev.log.events[i].digest, 48);
		p = rd_bytes(&r, &len);
		assert_int_equal(len, strlen(ev.log.events[i].event));
		assert_memory_equal(p, ev.log.events[i].event, len);
		p = rd_bytes(&r, &len);
		if (imr == 3) {
			assert_int_equal(len, ev.log.events[i].payload_len);
			runtime++;
		}
	}
	n = rd_compact(&r);
	assert_int_equal(n, runtime);
	assert_int_equal(n, 9);
	for (i = 0; i < n; i++) {
		p = rd_bytes(&r, &len);
		if (i == 0)
			assert_memory_equal(p, "system-preparing", len);
		p = rd_bytes(&r, &len);
	}
	assert_true(r.left >= 64);
	assert_memory_equal(r.p, want_rd, 64);
	r.p += 64;
	r.left -= 64;
	p = rd_bytes(&r, &len);
	assert_int_equal(len, strlen(jstr(q, "vm_config")));
	assert_memory_equal(p, jstr(q, "vm_config"), len);
	assert_int_equal(r.left, 0); /* every byte consumed */
	tee_dstack_events_free(&ev);
	free(blob);
	json_decref(q);
	json_decref(a);
	tee_sim_stop(sim);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_get_quote),
		cmocka_unit_test(test_emit_event),
		cmocka_unit_test(test_info),
		cmocka_unit_test(test_get_tls_key),
		cmocka_unit_test(test_attest),
	};

	return cmocka_run_group_tests(tests, setup, teardown);
}
