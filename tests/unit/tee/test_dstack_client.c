/*
 * dstack 0.5 client (dstack.h) against a loopback fake guest agent, over TCP
 * and over a unix socket: the request bytes of every method, checked against
 * what @phala/dstack-sdk 0.5.8 sends (tests/vectors/dstack-sdk-wire.json);
 * typed results checked against dstack's simulator key vectors and a real
 * GetQuote answer; every error shape of both API generations; the SDK's
 * client-side checks and Version probes; malformed, oversize and slow
 * replies; chains that do not verify.
 *
 * The fake answers as a 0.5 agent would, computing keys and signatures with
 * the library's own dstack key code from dstack's public simulator keys,
 * and quotes by patching the report data into the real quote of
 * dstack-getquote-tdx-lite.json (as dstack's simulator does). A test can
 * force one reply for a path instead.
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <cmocka.h>

#include "fakehttp.h"
#include "testutil.h"
#include "teeliza/common/common.h"
#include "teeliza/common/encoding.h"
#include "teeliza/dcap/quote.h"
#include "teeliza/tee/dstack.h"

#include <jansson.h>
#include <microhttpd.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#define MAX_REQS 8
#define QUOTE_RD_OFFSET 568 /* a v4 TD 1.0 quote's report data */

/* dstack's simulator: the app id of its attestation.bin and the KMS root its k256_signature recovers to. */
#define SIM_APP_ID "5bb4ff9a3837357f19dc176407a5709c62eb6c56"
#define SIM_KMS_ROOT "0321529e458424ab1f710a3a57ec4dad2fb195ddca572f7469242ba6c7563085b6"
#define SIM_K256_SIG                                                                                                    \
	"9e618603e72d01fedb82deff6daf2d62a572becf0059eec3f89c1ab40e1f2e594d2a283f843f34e8f39e4cc49a612496ce67223a12ac923f8" \
	"efe330346dfc6c500"

/* ---- the fake agent ---- */

struct fake {
	struct fakehttp srv;
	pthread_mutex_t mu;
	/* a forced reply for force_path (NULL: every path); status 0 = none */
	const char *force_path;
	unsigned force_status;
	const char *force_body;
	size_t force_len;
	bool chunked;
	unsigned sleep_ms;
	bool no_patch;               /* GetQuote: leave the fixture's report data in the quote */
	/* the agent's state */
	tee_dstack_app_keys keys;
	uint8_t *quote;
	size_t quote_len;
	char *event_log;
	char *vm_config;
	char *info_reply;
	/* what was asked */
	int count;
	struct fakehttp_request reqs[MAX_REQS];
	char user_agent[MAX_REQS][128];
};

static enum MHD_Result send_json(struct fake *f, struct MHD_Connection *conn, unsigned status, json_t *j)
{
	char *text = json_dumps(j, JSON_COMPACT | JSON_ENCODE_ANY);
	enum MHD_Result r;

	json_decref(j);
	if (text == NULL)
		return MHD_NO;
	r = fakehttp_reply(conn, status, text, strlen(text), f->chunked);
	free(text);
	return r;
}

/* dstack's error shape: HTTP 400, serde_json::to_string_pretty({"error": msg}). */
static enum MHD_Result send_error(struct fake *f, struct MHD_Connection *conn, const char *msg)
{
	json_t *s = json_string(msg);
	char *m = json_dumps(s, JSON_ENCODE_ANY), body[1024];

	json_decref(s);
	snprintf(body, sizeof(body), "{\n  \"error\": %s\n}", m != NULL ? m : "\"?\"");
	free(m);
	return fakehttp_reply(conn, 400, body, strlen(body), f->chunked);
}

static json_t *hexj(const uint8_t *b, size_t n)
{
	char *h = malloc(2 * n + 1);
	json_t *j;

	if (h == NULL)
		return NULL;
	teeliza_hex_encode(h, b, n);
	j = json_string(h);
	free(h);
	return j;
}

static bool get_hex(teeliza_buf *out, json_t *req, const char *key)
{
	json_t *v = json_object_get(req, key);

	teeliza_buf_init(out, 1 << 20);
	if (v == NULL)
		return true;
	return json_is_string(v) &&
	       teeliza_hex_decode_buf(out, json_string_value(v), json_string_length(v), true) == TEELIZA_OK;
}

static const char *get_str(json_t *req, const char *key)
{
	const char *s = json_string_value(json_object_get(req, key));

	return s != NULL ? s : "";
}

static enum MHD_Result agent_get_key(struct fake *f, struct MHD_Connection *conn, json_t *req)
{
	const char *path = get_str(req, "path"), *purpose = get_str(req, "purpose"), *alg_name = get_str(req, "algorithm");
	tee_dstack_alg alg;
	tee_dstack_key k;

	if (tee_dstack_key_alg_parse(&alg, alg_name, strlen(alg_name)) != TEELIZA_OK)
		return send_error(f, conn, "Unsupported algorithm");
	if (tee_dstack_get_key(&k, &f->keys, alg, path, strlen(path), purpose, strlen(purpose)) != TEELIZA_OK)
		return send_error(f, conn, "Failed to parse k256 key");
	return send_json(f, conn, 200,
	                 json_pack("{s:o,s:[o,o]}", "key", hexj(k.key, 32), "signature_chain", hexj(k.chain[0], 65),
	                           hexj(k.chain[1], k.kms_signature_len)));
}

static enum MHD_Result agent_quote(struct fake *f, struct MHD_Connection *conn, json_t *req, bool attest)
{
	uint8_t rd[64] = {0}, *q;
	teeliza_buf in;
	json_t *reply;

	if (!get_hex(&in, req, "report_data")) {
		teeliza_buf_free(&in);
		return send_error(f, conn, "Invalid hex");
	}
	if (in.len > 64) {
		teeliza_buf_free(&in);
		return send_error(f, conn, "Report data is too long");
	}
	memcpy(rd, in.data, in.len);
	teeliza_buf_free(&in);
	if (attest) {
		uint8_t blob[65] = {0x00};

		memcpy(blob + 1, rd, 64);
		return send_json(f, conn, 200, json_pack("{s:o}", "attestation", hexj(blob, sizeof(blob))));
	}
	q = malloc(f->quote_len);
	if (q == NULL)
		return MHD_NO;
	memcpy(q, f->quote, f->quote_len);
	if (!f->no_patch)
		memcpy(q + QUOTE_RD_OFFSET, rd, 64);
	reply = json_pack("{s:o,s:s,s:o,s:s}", "quote", hexj(q, f->quote_len), "event_log", f->event_log, "report_data",
	                  hexj(rd, 64), "vm_config", f->vm_config);
	free(q);
	return send_json(f, conn, 200, reply);
}

static enum MHD_Result agent_sign(struct fake *f, struct MHD_Connection *conn, json_t *req)
{
	const char *alg_name = get_str(req, "algorithm");
	tee_dstack_alg alg;
	tee_dstack_signature s;
	teeliza_buf data;
	teeliza_err err;

	if (tee_dstack_sign_alg_parse(&alg, alg_name, strlen(alg_name)) != TEELIZA_OK)
		return send_error(f, conn, "Unsupported algorithm");
	if (!get_hex(&data, req, "data")) {
		teeliza_buf_free(&data);
		return send_error(f, conn, "Invalid hex");
	}
	err = tee_dstack_sign(&s, &f->keys, alg, data.data, data.len);
	teeliza_buf_free(&data);
	if (err)
		return send_error(f, conn, teeliza_errmsg());
	return send_json(f, conn, 200,
	                 json_pack("{s:o,s:[o,o,o],s:o}", "signature", hexj(s.signature, 64), "signature_chain",
	                           hexj(s.signature, 64), hexj(s.key_chain[0], 65), hexj(s.key_chain[1], s.kms_signature_len),
	                           "public_key", hexj(s.public_key, s.public_key_len)));
}

static enum MHD_Result agent_verify(struct fake *f, struct MHD_Connection *conn, json_t *req)
{
	const char *alg_name = get_str(req, "algorithm");
	tee_dstack_alg alg;
	teeliza_buf data, sig, pub;
	bool valid = false, ok;
	teeliza_err err = TEELIZA_ERR_INVALID;

	if (tee_dstack_sign_alg_parse(&alg, alg_name, strlen(alg_name)) != TEELIZA_OK)
		return send_error(f, conn, "Unsupported algorithm");
	ok = get_hex(&data, req, "data") & get_hex(&sig, req, "signature") & get_hex(&pub, req, "public_key");
	if (ok)
		err = tee_dstack_verify(&valid, alg, data.data, data.len, sig.data, sig.len, pub.data, pub.len);
	teeliza_buf_free(&data);
	teeliza_buf_free(&sig);
	teeliza_buf_free(&pub);
	if (err)
		return send_error(f, conn, "signature error");
	return send_json(f, conn, 200, json_pack("{s:b}", "valid", valid));
}

static enum MHD_Result agent(struct fake *f, struct MHD_Connection *conn, const char *url, const char *body,
                             size_t body_len)
{
	json_t *req = json_loadb(body, body_len, 0, NULL);
	enum MHD_Result r;
	char msg[300];

	if (!json_is_object(req)) {
		json_decref(req);
		return send_error(f, conn, "Failed to decode request");
	}
	if (strcmp(url, "/GetKey") == 0)
		r = agent_get_key(f, conn, req);
	else if (strcmp(url, "/GetQuote") == 0 || strcmp(url, "/Attest") == 0)
		r = agent_quote(f, conn, req, strcmp(url, "/Attest") == 0);
	else if (strcmp(url, "/Sign") == 0)
		r = agent_sign(f, conn, req);
	else if (strcmp(url, "/Verify") == 0)
		r = agent_verify(f, conn, req);
	else if (strcmp(url, "/Info") == 0)
		r = fakehttp_reply(conn, 200, f->info_reply, strlen(f->info_reply), f->chunked);
	else if (strcmp(url, "/Version") == 0)
		r = send_json(f, conn, 200, json_pack("{s:s,s:s}", "version", "0.5.11", "rev",
		                                      "40eaf35e6b3f112998d01569f2a26110baab123b"));
	else if (strcmp(url, "/EmitEvent") == 0)
		r = fakehttp_reply(conn, 200, "null", 4, f->chunked);
	else if (strcmp(url, "/GetTlsKey") == 0)
		r = send_json(f, conn, 200,
		              json_pack("{s:s,s:[s,s]}", "key", "-----BEGIN PRIVATE KEY-----\nMIGH\n-----END PRIVATE KEY-----\n",
		                        "certificate_chain", "-----BEGIN CERTIFICATE-----\nleaf\n-----END CERTIFICATE-----\n",
		                        "-----BEGIN CERTIFICATE-----\nca\n-----END CERTIFICATE-----\n"));
	else {
		snprintf(msg, sizeof(msg), "Service not found: %s", url + 1);
		r = send_error(f, conn, msg);
	}
	json_decref(req);
	return r;
}

static enum MHD_Result handle(void *ctx, struct MHD_Connection *conn, const char *method, const char *url,
                              const char *body, size_t body_len)
{
	struct fake *f = ctx;
	const char *ua = MHD_lookup_connection_value(conn, MHD_HEADER_KIND, "User-Agent");

	pthread_mutex_lock(&f->mu);
	if (f->count < MAX_REQS) {
		if (!fakehttp_record(&f->reqs[f->count], conn, method, url, body, body_len))
			f->count = -1000;
		snprintf(f->user_agent[f->count], sizeof(f->user_agent[0]), "%s", ua != NULL ? ua : "");
	}
	f->count++;
	pthread_mutex_unlock(&f->mu);
	if (f->sleep_ms)
		usleep(f->sleep_ms * 1000u);
	if (f->force_status != 0 && (f->force_path == NULL || strcmp(f->force_path, url) == 0))
		return fakehttp_reply(conn, f->force_status, f->force_body, f->force_len, f->chunked);
	return agent(f, conn, url, body, body_len);
}

/* Info as a 0.5 agent builds it, from the fixture's quote and event log. */
static char *build_info(struct fake *f)
{
	json_t *log = json_loads(f->event_log, 0, NULL), *tcb, *info;
	uint8_t agg[32], dev[32];
	char *tcb_text, *out;
	dcap_quote q;
	tee_dstack_events ev;
	const tee_event *app, *compose, *inst, *os;

	assert_int_equal(dcap_quote_parse(&q, f->quote, f->quote_len), TEELIZA_OK);
	assert_int_equal(tee_dstack_events_parse(&ev, f->event_log, strlen(f->event_log)), TEELIZA_OK);
	tee_dstack_mr_aggregated(agg, &q.body.td, ev.rtmr[3]);
	memset(dev, 0x11, sizeof(dev));
	app = tee_dstack_events_ident(&ev, TEE_DSTACK_IDENT_APP_ID);
	compose = tee_dstack_events_ident(&ev, TEE_DSTACK_IDENT_COMPOSE_HASH);
	inst = tee_dstack_events_ident(&ev, TEE_DSTACK_IDENT_INSTANCE_ID);
	os = tee_dstack_events_ident(&ev, TEE_DSTACK_IDENT_OS_IMAGE_HASH);
	assert_non_null(app);
	assert_non_null(compose);
	assert_non_null(inst);
	assert_non_null(os);
	tcb = json_pack("{s:o,s:o,s:o,s:o,s:o,s:o,s:o,s:o,s:o,s:o,s:s}", "mrtd", hexj(q.body.td.mrtd, 48), "rtmr0",
	                hexj(q.body.td.rtmr[0], 48), "rtmr1", hexj(q.body.td.rtmr[1], 48), "rtmr2",
	                hexj(q.body.td.rtmr[2], 48), "rtmr3", hexj(q.body.td.rtmr[3], 48), "mr_aggregated", hexj(agg, 32),
	                "os_image_hash", hexj(os->payload, os->payload_len), "compose_hash",
	                hexj(compose->payload, compose->payload_len), "device_id", hexj(dev, 32), "event_log", log,
	                "app_compose", "{\"name\":\"teeliza-test\"}");
	assert_non_null(tcb);
	tcb_text = json_dumps(tcb, JSON_INDENT(2) | JSON_PRESERVE_ORDER);
	info = json_pack("{s:o,s:o,s:s,s:s,s:s,s:o,s:o,s:o,s:s,s:o,s:s,s:s,s:s}", "app_id",
	                 hexj(app->payload, app->payload_len), "instance_id", hexj(inst->payload, inst->payload_len),
	                 "app_cert", "", "tcb_info", tcb_text, "app_name", "teeliza-test", "device_id", hexj(dev, 32),
	                 "mr_aggregated", hexj(agg, 32), "os_image_hash", hexj(os->payload, os->payload_len),
	                 "key_provider_info", "{\"name\":\"kms\",\"id\":\"00\"}", "compose_hash",
	                 hexj(compose->payload, compose->payload_len), "vm_config", f->vm_config, "cloud_vendor", "QEMU",
	                 "cloud_product", "Standard PC");
	assert_non_null(info);
	out = json_dumps(info, JSON_COMPACT | JSON_PRESERVE_ORDER);
	free(tcb_text);
	json_decref(tcb);
	json_decref(info);
	tee_dstack_events_free(&ev);
	return out;
}

static struct fake *fake_start(bool unix_socket)
{
	struct fake *f = calloc(1, sizeof(*f));
	json_t *fixture = vector_json("dstack-getquote-tdx-lite.json");
	uint8_t *appkeys;
	size_t len;

	assert_non_null(f);
	pthread_mutex_init(&f->mu, NULL);
	appkeys = vector_read("dstack-simulator-appkeys.json", &len);
	assert_int_equal(tee_dstack_app_keys_from_json(&f->keys, (const char *)appkeys, len), TEELIZA_OK);
	teeliza_wipe(appkeys, len);
	free(appkeys);
	f->quote = hex_alloc(json_string_value(json_object_get(fixture, "quote")), &f->quote_len);
	f->event_log = strdup(json_string_value(json_object_get(fixture, "event_log")));
	f->vm_config = strdup(json_string_value(json_object_get(fixture, "vm_config")));
	json_decref(fixture);
	f->info_reply = build_info(f);
	fakehttp_start(&f->srv, unix_socket, 1 << 24, handle, f);
	return f;
}

static void fake_stop(struct fake *f)
{
	int i;

	fakehttp_stop(&f->srv);
	for (i = 0; i < MAX_REQS; i++)
		fakehttp_request_free(&f->reqs[i]);
	pthread_mutex_destroy(&f->mu);
	teeliza_wipe(&f->keys, sizeof(f->keys));
	free(f->quote);
	free(f->event_log);
	free(f->vm_config);
	free(f->info_reply);
	free(f);
}

/* Forget what was asked. */
static void fake_reset(struct fake *f)
{
	int i;

	for (i = 0; i < MAX_REQS; i++)
		fakehttp_request_free(&f->reqs[i]);
	f->count = 0;
}

/* Force every reply to path (NULL: all) to be status + body; status 0 lets the agent answer again. */
static void fake_force(struct fake *f, const char *path, unsigned status, const char *body)
{
	f->force_path = path;
	f->force_status = status;
	f->force_body = body;
	f->force_len = body != NULL ? strlen(body) : 0;
}

static void fake_client(dstack_client *c, const struct fake *f)
{
	tee_endpoint ep;
	char url[80];

	if (f->srv.sock_path[0]) {
		assert_int_equal(tee_endpoint_parse(&ep, f->srv.sock_path, TEE_API_DSTACK), TEELIZA_OK);
	} else {
		/* A path in the endpoint is ignored, as new URL("/GetKey", endpoint) does. */
		snprintf(url, sizeof(url), "http://127.0.0.1:%u/ignored/path", f->srv.port);
		assert_int_equal(tee_endpoint_parse(&ep, url, TEE_API_DSTACK), TEELIZA_OK);
	}
	dstack_client_init(c, &ep);
	c->timeout_ms = 10000;
}

#define assert_err(expr, code, text)                                                         \
	do {                                                                                 \
		assert_int_equal((expr), (code));                                            \
		if (strstr(teeliza_errmsg(), (text)) == NULL)                                \
			fail_msg("error message \"%s\" lacks \"%s\"", teeliza_errmsg(), (text)); \
	} while (0)

static const uint8_t *bytes(uint8_t *buf, size_t n, uint8_t v)
{
	memset(buf, v, n);
	return buf;
}

/* ---- the SDK's requests ---- */

/* Run one of the generator's calls (dstack-sdk-wire.mjs) with the C client. */
static teeliza_err run_call(const char *call, const dstack_client *c)
{
	static const char *const alts[] = {"a.example", "b"};
	uint8_t b1[64], b2[64], b3[64];
	tee_dstack_key k;
	tee_dstack_signature s;
	dstack_tls_key_options o;
	dstack_tls_key tk;
	dstack_quote_reply q;
	dstack_info info;
	dstack_version v;
	dstack_attestation_format fmt;
	teeliza_buf att;
	teeliza_err err = TEELIZA_ERR_INTERNAL;
	bool valid;

	dstack_tls_key_options_init(&o);
	if (strcmp(call, "getKey()") == 0)
		return dstack_get_key(&k, c, NULL, NULL, NULL);
	if (strcmp(call, "getKey('/test/path', 'test-purpose')") == 0)
		return dstack_get_key(&k, c, "/test/path", "test-purpose", NULL);
	if (strcmp(call, "getKey('wallet/eth', 'signing', 'k256')") == 0)
		return dstack_get_key(&k, c, "wallet/eth", "signing", "k256");
	if (strcmp(call, "getKey('/test/path', 'test-purpose', 'ed25519')") == 0)
		return dstack_get_key(&k, c, "/test/path", "test-purpose", "ed25519");
	if (strncmp(call, "getTlsKey(", 10) == 0) {
		if (strcmp(call, "getTlsKey()") == 0) {
		} else if (strstr(call, "example.com") != NULL) {
			o.subject = "example.com";
			o.alt_names = alts;
			o.n_alt = 2;
			o.usage_ra_tls = true;
			o.usage_client_auth = true;
		} else if (strstr(call, "withAppInfo: true") != NULL) {
			o.subject = "x";
			o.usage_server_auth = false;
			o.set_not_before = true;
			o.not_before = 1700000000;
			o.set_not_after = true;
			o.not_after = 1800000000;
			o.set_with_app_info = true;
			o.with_app_info = true;
		} else {
			fail_msg("unknown call %s", call);
		}
		err = dstack_get_tls_key(&tk, c, &o);
		dstack_tls_key_free(&tk);
		return err;
	}
	if (strncmp(call, "getQuote(", 9) == 0) {
		if (strcmp(call, "getQuote('hello')") == 0)
			err = dstack_get_quote(&q, c, (const uint8_t *)"hello", 5);
		else if (strcmp(call, "getQuote(64 bytes of 0xab)") == 0)
			err = dstack_get_quote(&q, c, bytes(b1, 64, 0xab), 64);
		else if (strcmp(call, "getQuote('')") == 0)
			err = dstack_get_quote(&q, c, NULL, 0);
		else
			fail_msg("unknown call %s", call);
		dstack_quote_reply_free(&q);
		return err;
	}
	if (strcmp(call, "attest(Buffer.from([1, 2, 3]))") == 0) {
		err = dstack_attest(&att, &fmt, c, (const uint8_t *)"\x01\x02\x03", 3);
		teeliza_buf_free(&att);
		return err;
	}
	if (strcmp(call, "info()") == 0) {
		err = dstack_get_info(&info, c);
		dstack_info_free(&info);
		return err;
	}
	if (strcmp(call, "version()") == 0)
		return dstack_get_version(&v, c);
	if (strcmp(call, "emitEvent('custom-event', Buffer.from('deadbeef', 'hex'))") == 0)
		return dstack_emit_event(c, "custom-event", (const uint8_t *)"\xde\xad\xbe\xef", 4);
	if (strcmp(call, "emitEvent('second', 'hello')") == 0)
		return dstack_emit_event(c, "second", (const uint8_t *)"hello", 5);
	if (strcmp(call, "sign('ed25519', 'hello')") == 0)
		return dstack_sign(&s, c, "ed25519", (const uint8_t *)"hello", 5);
	if (strcmp(call, "sign('secp256k1_prehashed', 32 bytes of 0x11)") == 0)
		return dstack_sign(&s, c, "secp256k1_prehashed", bytes(b1, 32, 0x11), 32);
	if (strcmp(call, "verify('secp256k1', 'hello', 64 bytes of 0x22, 33 bytes of 0x02)") == 0) {
		err = dstack_verify(&valid, c, "secp256k1", (const uint8_t *)"hello", 5, bytes(b2, 64, 0x22), 64,
		                    bytes(b3, 33, 0x02), 33);
		/* 02‖02… is no curve point for the agent: it answers 400. Only the request matters here. */
		return err == TEELIZA_ERR_REMOTE ? TEELIZA_OK : err;
	}
	fail_msg("unknown call %s (dstack-sdk-wire.json has a case this test does not know)", call);
	return TEELIZA_ERR_INTERNAL;
}

static void check_wire(bool unix_socket)
{
	json_t *vec = vector_json("dstack-sdk-wire.json"), *samples = json_object_get(vec, "samples");
	struct fake *f = fake_start(unix_socket);
	const char *transport = unix_socket ? "unix" : "http";
	dstack_client c;
	size_t i, j, checked = 0;

	fake_client(&c, f);
	for (i = 0; i < json_array_size(samples); i++) {
		json_t *s = json_array_get(samples, i), *reqs = json_object_get(s, "requests");
		const char *call = json_string_value(json_object_get(s, "call"));

		if (strcmp(json_string_value(json_object_get(s, "transport")), transport) != 0)
			continue;
		fake_reset(f);
		if (run_call(call, &c) != TEELIZA_OK)
			fail_msg("%s: %s", call, teeliza_errmsg());
		if ((size_t)f->count != json_array_size(reqs))
			fail_msg("%s: %d requests, the SDK sends %zu", call, f->count, json_array_size(reqs));
		for (j = 0; j < json_array_size(reqs); j++) {
			json_t *r = json_array_get(reqs, j), *h = json_object_get(r, "headers");
			const char *body = json_string_value(json_object_get(r, "body"));
			char clen[24];

			assert_string_equal(f->reqs[j].method, json_string_value(json_object_get(r, "method")));
			assert_string_equal(f->reqs[j].path, json_string_value(json_object_get(r, "path")));
			assert_int_equal(f->reqs[j].nargs, 0);
			assert_string_equal(f->reqs[j].content_type, json_string_value(json_object_get(h, "content-type")));
			assert_string_equal(f->reqs[j].body, body);
			/* The true byte length (the SDK's own over HTTP; the same over a socket for ASCII). */
			snprintf(clen, sizeof(clen), "%zu", strlen(body));
			assert_string_equal(f->reqs[j].content_length, clen);
			assert_string_equal(f->reqs[j].content_length, json_string_value(json_object_get(h, "content-length")));
			/* We do not pretend to be the JS SDK (whose User-Agent is dstack-sdk-js/0.5.6 over HTTP). */
			assert_string_equal(f->user_agent[j], "");
		}
		checked++;
	}
	assert_int_equal(checked, 18);
	fake_stop(f);
	json_decref(vec);
}

static void test_wire_tcp(void **state)
{
	(void)state;
	check_wire(false);
}

static void test_wire_unix(void **state)
{
	(void)state;
	check_wire(true);
}

/* Bodies the samples do not cover: escaping, non-ASCII, true byte length, UTF-8 checks. */
static void test_request_bodies(void **state)
{
	struct fake *f = fake_start(true);
	const char *nasty = "a\"b\\c\n\x01/\xc3\xa9\xf0\x9f\x98\x80";
	const char *nasty_json = "{\"path\":\"a\\\"b\\\\c\\n\\u0001/\xc3\xa9\xf0\x9f\x98\x80\",\"purpose\":\"p\","
	                         "\"algorithm\":\"\"}";
	dstack_client c;
	tee_dstack_key k;
	char clen[16];

	(void)state;
	fake_client(&c, f);
	assert_int_equal(dstack_get_key(&k, &c, nasty, "p", ""), TEELIZA_OK);
	assert_string_equal(f->reqs[0].body, nasty_json);
	snprintf(clen, sizeof(clen), "%zu", strlen(nasty_json));
	assert_string_equal(f->reqs[0].content_length, clen);
	assert_int_equal(k.public_key_len, 33);

	fake_reset(f);
	assert_err(dstack_get_key(&k, &c, "\xff", "p", NULL), TEELIZA_ERR_INVALID, "UTF-8");
	assert_err(dstack_get_key(&k, &c, "p", "\xed\xa0\x80", NULL), TEELIZA_ERR_INVALID, "UTF-8");
	assert_err(dstack_emit_event(&c, "\xc0\x80", NULL, 0), TEELIZA_ERR_INVALID, "UTF-8");
	assert_int_equal(f->count, 0);
	fake_stop(f);
}

/* The SDK's checks before sending, with its words (dstack-sdk-wire.json "errors"). */
static void test_client_checks(void **state)
{
	json_t *vec = vector_json("dstack-sdk-wire.json"), *errors = json_object_get(vec, "errors");
	struct fake *f = fake_start(false);
	uint8_t big[65];
	dstack_client c;
	tee_dstack_key k;
	tee_dstack_signature s;
	dstack_quote_reply q;
	teeliza_buf att;
	dstack_attestation_format fmt;
	tee_endpoint ep;
	bool valid;

	(void)state;
	fake_client(&c, f);
	memset(big, 1, sizeof(big));
	assert_int_equal(dstack_get_quote(&q, &c, big, 65), TEELIZA_ERR_INVALID);
	assert_string_equal(teeliza_errmsg(), json_string_value(json_object_get(errors, "getQuote_65_bytes")));
	assert_null(q.quote.data);
	assert_int_equal(dstack_attest(&att, &fmt, &c, big, 65), TEELIZA_ERR_INVALID);
	assert_string_equal(teeliza_errmsg(), json_string_value(json_object_get(errors, "attest_65_bytes")));
	assert_null(att.data);
	assert_int_equal(dstack_emit_event(&c, "", (const uint8_t *)"x", 1), TEELIZA_ERR_INVALID);
	assert_string_equal(teeliza_errmsg(), json_string_value(json_object_get(errors, "emitEvent_empty_name")));
	assert_int_equal(dstack_emit_event(&c, NULL, NULL, 0), TEELIZA_ERR_INVALID);
	assert_int_equal(dstack_sign(&s, &c, "secp256k1_prehashed", big, 31), TEELIZA_ERR_INVALID);
	assert_string_equal(teeliza_errmsg(), json_string_value(json_object_get(errors, "sign_prehashed_31_bytes")));

	/* Algorithms the agent refuses: its words first. GetKey takes "", Sign and Verify do not. */
	assert_err(dstack_get_key(&k, &c, "p", "q", "rsa"), TEELIZA_ERR_UNSUPPORTED, "Unsupported algorithm");
	assert_int_equal(strncmp(teeliza_errmsg(), "Unsupported algorithm", 21), 0);
	assert_err(dstack_get_key(&k, &c, "p", "q", "secp256k1_prehashed"), TEELIZA_ERR_UNSUPPORTED,
	           "Unsupported algorithm");
	assert_err(dstack_get_key(&k, &c, "p", "q", "ED25519"), TEELIZA_ERR_UNSUPPORTED, "\"ED25519\"");
	assert_err(dstack_sign(&s, &c, "", (const uint8_t *)"x", 1), TEELIZA_ERR_UNSUPPORTED, "Unsupported algorithm");
	assert_err(dstack_verify(&valid, &c, "p256", NULL, 0, NULL, 0, NULL, 0), TEELIZA_ERR_UNSUPPORTED,
	           "Unsupported algorithm");
	assert_int_equal(f->count, 0);

	/* A socket path that does not exist: the SDK's words, and nothing sent. */
	assert_int_equal(tee_endpoint_parse(&ep, "/nonexistent/dstack.sock", TEE_API_DSTACK), TEELIZA_OK);
	dstack_client_init(&c, &ep);
	assert_err(dstack_get_key(&k, &c, "p", "q", NULL), TEELIZA_ERR_CONNECT,
	           json_string_value(json_object_get(errors, "missing_socket")));
	assert_non_null(strstr(teeliza_errmsg(), "GetKey"));
	fake_stop(f);
	json_decref(vec);
}

/* ---- typed results against dstack's simulator vectors ---- */

static void test_get_key_vectors(void **state)
{
	struct fake *f = fake_start(true);
	dstack_client c;
	tee_dstack_key k;
	tee_dstack_key_report r;
	dstack_trust trust = {.app_id_hex = SIM_APP_ID, .kms_root_hex = SIM_KMS_ROOT};

	(void)state;
	fake_client(&c, f);
	assert_int_equal(dstack_get_key(&k, &c, "/test/path", "test-purpose", NULL), TEELIZA_OK);
	assert_hex_equal(k.key, 32, "b9fbb7171185c421c58610a2acba8ceae93623ae47815618cbad1e98fc042cb7");
	assert_hex_equal(k.public_key, k.public_key_len,
	                 "02c1082e78670feed1c847db81dbd71be37e4d53200a746c0a89f0afa8173cf566");
	assert_hex_equal(k.chain[0], 65,
	                 "f50c51735a97072f0c98125ed61fc84e2fdb36e95990b9e57337dadc0e2a9712227f04e07209faecb8891d59ec144a6c13e"
	                 "411dc90b3423f28071bd3fe11978d01");
	assert_int_equal(k.kms_signature_len, 65);
	assert_hex_equal(k.chain[1], 65, SIM_K256_SIG);
	/* verify-key up to the pinned root; without one it holds but is untrusted */
	assert_int_equal(dstack_key_provenance(&r, &k, NULL, "test-purpose", &trust), TEELIZA_OK);
	assert_int_equal(r.broken, TEE_DSTACK_LINK_NONE);
	trust.kms_root_hex = NULL;
	assert_int_equal(dstack_key_provenance(&r, &k, "secp256k1", "test-purpose", &trust), TEELIZA_ERR_UNTRUSTED);
	assert_int_equal(r.broken, TEE_DSTACK_LINK_KMS_ROOT);
	assert_hex_equal(r.root_pub, 33, SIM_KMS_ROOT);
	trust.kms_root_hex = SIM_KMS_ROOT;
	/* with nothing to check against, the walk stops at the app id */
	assert_int_equal(dstack_key_provenance(&r, &k, NULL, "test-purpose", NULL), TEELIZA_ERR_INVALID);
	assert_int_equal(r.broken, TEE_DSTACK_LINK_APP_ID);
	assert_true(r.have_app_pub);
	/* the wrong purpose recovers some other app key, so the root no longer matches */
	assert_int_equal(dstack_key_provenance(&r, &k, NULL, "other", &trust), TEELIZA_ERR_VERIFY);
	assert_int_equal(r.broken, TEE_DSTACK_LINK_KMS_ROOT);
	/* the real GetQuote log names another app: the walk says the app id is not the chain's */
	{
		json_t *fixture = vector_json("dstack-getquote-tdx-lite.json");
		const char *log = json_string_value(json_object_get(fixture, "event_log"));
		dstack_trust from_log = {.kms_root_hex = SIM_KMS_ROOT, .event_log = log, .event_log_len = strlen(log)};

		assert_int_equal(dstack_key_provenance(&r, &k, NULL, "test-purpose", &from_log), TEELIZA_ERR_VERIFY);
		assert_true(r.app_id_from_log);
		assert_hex_equal(r.app_id, 20, "86b0e55f2fa8e4fb69d890f14f54d5612707646e");
		json_decref(fixture);
	}
	teeliza_wipe(&k, sizeof(k));

	assert_int_equal(dstack_get_key(&k, &c, "/test/path", "test-purpose", "ed25519"), TEELIZA_OK);
	assert_hex_equal(k.public_key, k.public_key_len,
	                 "2149e71e37ed8568f5a240e6966b5d6f6017428069ddf06ed4c04151de4b2304");
	assert_hex_equal(k.chain[0], 65,
	                 "effb33c8bb9beab8058a165af210047acb15a67bb6482819b44655f8b22a150a45e50fdce916374f2f4bd380c83eac6ca8b6"
	                 "a765a4fb7c3f03ab9932342ce53200");
	assert_int_equal(dstack_key_provenance(&r, &k, "ed25519", "test-purpose", &trust), TEELIZA_OK);
	/* the same key claimed as secp256k1 does not give that public key */
	assert_int_equal(dstack_key_provenance(&r, &k, "secp256k1", "test-purpose", &trust), TEELIZA_ERR_INVALID);

	assert_int_equal(dstack_get_key(&k, &c, "wallet/eth", "signing", "k256"), TEELIZA_OK);
	assert_hex_equal(k.key, 32, "65cca2e2dcbe516145cc7bcbfea6fab9d7f430d6ea66cd1775f37142c25dfa40");
	assert_int_equal(dstack_get_key(&k, &c, NULL, NULL, NULL), TEELIZA_OK);
	assert_hex_equal(k.key, 32, "aa221ae548b5a8f52fcb8687cfd873712f6a1232b2717e5ee3d58ab74f21905b");
	assert_int_equal(dstack_key_provenance(&r, &k, NULL, NULL, &trust), TEELIZA_OK);
	teeliza_wipe(&k, sizeof(k));
	fake_stop(f);
}

/* A chain that does not verify is still returned; the walk says which link broke. */
static void test_get_key_broken_chain(void **state)
{
	struct fake *f = fake_start(false);
	dstack_client c;
	tee_dstack_key k;
	tee_dstack_key_report r;
	dstack_trust trust = {.app_id_hex = SIM_APP_ID, .kms_root_hex = SIM_KMS_ROOT};
	char body[600];

	(void)state;
	fake_client(&c, f);
	/* chain[0] with recid 27 (the Ethereum form): no app key recovers */
	snprintf(body, sizeof(body), "{\"key\":\"%s\",\"signature_chain\":[\"%.128s1b\",\"%s\"]}",
	         "b9fbb7171185c421c58610a2acba8ceae93623ae47815618cbad1e98fc042cb7",
	         "f50c51735a97072f0c98125ed61fc84e2fdb36e95990b9e57337dadc0e2a9712227f04e07209faecb8891d59ec144a6c13e411dc90b"
	         "3423f28071bd3fe11978d",
	         SIM_K256_SIG);
	fake_force(f, "/GetKey", 200, body);
	assert_int_equal(dstack_get_key(&k, &c, "/test/path", "test-purpose", NULL), TEELIZA_OK);
	assert_int_equal(k.chain[0][64], 0x1b);
	assert_int_equal(dstack_key_provenance(&r, &k, NULL, "test-purpose", &trust), TEELIZA_ERR_VERIFY);
	assert_int_equal(r.broken, TEE_DSTACK_LINK_APP_SIGNATURE);
	assert_non_null(strstr(r.message, "27"));

	/* a local key provider signs nothing: chain[1] is empty */
	snprintf(body, sizeof(body), "{\"key\":\"%s\",\"signature_chain\":[\"%s\",\"\"]}",
	         "b9fbb7171185c421c58610a2acba8ceae93623ae47815618cbad1e98fc042cb7",
	         "f50c51735a97072f0c98125ed61fc84e2fdb36e95990b9e57337dadc0e2a9712227f04e07209faecb8891d59ec144a6c13e411dc90b"
	         "3423f28071bd3fe11978d01");
	fake_force(f, "/GetKey", 200, body);
	assert_int_equal(dstack_get_key(&k, &c, "/test/path", "test-purpose", NULL), TEELIZA_OK);
	assert_int_equal(k.kms_signature_len, 0);
	assert_int_equal(dstack_key_provenance(&r, &k, NULL, "test-purpose", &trust), TEELIZA_ERR_VERIFY);
	assert_int_equal(r.broken, TEE_DSTACK_LINK_KMS_SIGNATURE);
	assert_true(r.have_app_pub);
	teeliza_wipe(&k, sizeof(k));
	fake_stop(f);
}

static void test_get_key_bad_replies(void **state)
{
	static const struct {
		const char *body;
		teeliza_err err;
		const char *text;
	} cases[] = {
		{"{\"signature_chain\":[]}", TEELIZA_ERR_PROTOCOL, "has no \"key\""},
		{"{\"key\":7,\"signature_chain\":[]}", TEELIZA_ERR_PROTOCOL, "\"key\" is not a string"},
		{"{\"key\":\"KEY\",\"signature_chain\":[]}", TEELIZA_ERR_PROTOCOL, "\"key\" is not hex"},
		{"{\"key\":\"0X11\",\"signature_chain\":[]}", TEELIZA_ERR_PROTOCOL, "not hex"},
		{"{\"key\":\"1111\",\"signature_chain\":[]}", TEELIZA_ERR_PROTOCOL, "\"key\" is 2 bytes, not 32"},
		{"{\"key\":\"%s11\",\"signature_chain\":[]}", TEELIZA_ERR_PROTOCOL, "\"key\" is 33 bytes, not 32"},
		{"{\"key\":\"%s%s%s%s\",\"signature_chain\":[]}", TEELIZA_ERR_PROTOCOL, "too long"},
		{"{\"key\":\"%s\"}", TEELIZA_ERR_PROTOCOL, "no \"signature_chain\""},
		{"{\"key\":\"%s\",\"signature_chain\":\"x\"}", TEELIZA_ERR_PROTOCOL, "not an array"},
		{"{\"key\":\"%s\",\"signature_chain\":[\"%s\"]}", TEELIZA_ERR_PROTOCOL, "1 entries, not 2"},
		{"{\"key\":\"%s\",\"signature_chain\":[\"%s\",\"%s\",\"%s\"]}", TEELIZA_ERR_PROTOCOL, "3 entries, not 2"},
		{"{\"key\":\"%s\",\"signature_chain\":[1,\"%s\"]}", TEELIZA_ERR_PROTOCOL, "signature_chain[0] is not a string"},
		{"{\"key\":\"%s\",\"signature_chain\":[\"00\",\"%s\"]}", TEELIZA_ERR_PROTOCOL,
		 "\"signature_chain[0]\" is 1 bytes, not 65"},
		{"{\"key\":\"%s\",\"signature_chain\":[\"%s\",\"0000\"]}", TEELIZA_ERR_PROTOCOL, "not 65 or 0"},
		{"{\"key\":\"%s\",\"key\":\"%s\",\"signature_chain\":[]}", TEELIZA_ERR_PROTOCOL, "duplicate"},
		{"{\"key\":\"%s\",\"signature_chain\":[\"%s\",\"%s\"]} x", TEELIZA_ERR_PROTOCOL, "not JSON"},
	};
	static const char k32[] = "5e5e5e5e5e5e5e5e5e5e5e5e5e5e5e5e5e5e5e5e5e5e5e5e5e5e5e5e5e5e5e5e";
	char sig[131], body[1024], good[1024];
	struct fake *f = fake_start(false);
	dstack_client c;
	tee_dstack_key k;
	size_t i;

	(void)state;
	fake_client(&c, f);
	memset(sig, 'a', 130);
	sig[130] = 0;
	for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		snprintf(body, sizeof(body), cases[i].body, k32, sig, sig, sig);
		fake_force(f, "/GetKey", 200, body);
		if (dstack_get_key(&k, &c, "p", "q", NULL) != cases[i].err || strstr(teeliza_errmsg(), cases[i].text) == NULL)
			fail_msg("case %zu: %s", i, teeliza_errmsg());
		/* a key is never quoted back, and nothing is left in the output */
		assert_null(strstr(teeliza_errmsg(), "5e5e5e"));
		assert_true(k.key[0] == 0 && k.public_key_len == 0 && k.kms_signature_len == 0);
		assert_non_null(strstr(teeliza_errmsg(), "GetKey"));
	}

	/* prpc trims any number of leading "0x"; either case of digits */
	snprintf(good, sizeof(good), "{\"key\":\"0x0x%s\",\"signature_chain\":[\"0x%s\",\"\"],\"extra\":1}",
	         "B9FBB7171185C421C58610A2ACBA8CEAE93623AE47815618CBAD1E98FC042CB7", sig);
	fake_force(f, "/GetKey", 200, good);
	assert_int_equal(dstack_get_key(&k, &c, "p", "q", NULL), TEELIZA_OK);
	assert_hex_equal(k.key, 32, "b9fbb7171185c421c58610a2acba8ceae93623ae47815618cbad1e98fc042cb7");
	assert_int_equal(k.chain[0][0], 0xaa);
	/* zero is no secp256k1 key (the agent itself would fail); for ed25519 it is just a seed */
	snprintf(good, sizeof(good), "{\"key\":\"%064d\",\"signature_chain\":[\"%s\",\"\"]}", 0, sig);
	fake_force(f, "/GetKey", 200, good);
	assert_err(dstack_get_key(&k, &c, "p", "q", NULL), TEELIZA_ERR_PROTOCOL, "not a valid secp256k1 key");
	assert_int_equal(dstack_get_key(&k, &c, "p", "q", "ed25519"), TEELIZA_OK); /* the agent answers /Version */
	assert_int_equal(k.public_key_len, 32);
	teeliza_wipe(&k, sizeof(k));
	fake_stop(f);
}

/* ---- error shapes of both generations ---- */

static void test_error_shapes(void **state)
{
	struct fake *f = fake_start(true);
	dstack_client c;
	tee_dstack_key k;
	dstack_version v;
	dstack_info info;
	char where[200];

	(void)state;
	fake_client(&c, f);
	snprintf(where, sizeof(where), "dstack at unix:%s, GetKey", f->srv.sock_path);

	/* dstack: 400 {"error": msg}, pretty-printed; the agent's words first */
	fake_force(f, NULL, 400, "{\n  \"error\": \"Failed to derive k256 key: boom\"\n}");
	assert_int_equal(dstack_get_key(&k, &c, "p", "q", NULL), TEELIZA_ERR_REMOTE);
	assert_int_equal(strncmp(teeliza_errmsg(), "Failed to derive k256 key: boom (", 33), 0);
	assert_non_null(strstr(teeliza_errmsg(), where));
	fake_force(f, NULL, 0, NULL);
	assert_err(dstack_get_key(&k, &c, "p", "q", "k256"), TEELIZA_OK, "");
	/* an unknown method on a 0.5 agent */
	fake_force(f, "/Version", 400, "{\n  \"error\": \"Service not found: Version\"\n}");
	assert_err(dstack_get_version(&v, &c), TEELIZA_ERR_REMOTE, "Service not found: Version");
	/* tappd: 404 "method Not Found", or a bare 404: not the dstack API */
	fake_force(f, NULL, 404, "{\"error\":\"method Not Found\"}");
	assert_err(dstack_get_key(&k, &c, "p", "q", NULL), TEELIZA_ERR_NOT_FOUND, "method Not Found");
	assert_non_null(strstr(teeliza_errmsg(), where));
	assert_non_null(strstr(teeliza_errmsg(), "HTTP 404"));
	assert_non_null(strstr(teeliza_errmsg(), "does not serve the dstack 0.5 API"));
	assert_non_null(strstr(teeliza_errmsg(), "TEE_API"));
	fake_force(f, NULL, 404, "<html>Not Found</html>");
	assert_err(dstack_get_info(&info, &c), TEELIZA_ERR_NOT_FOUND, "<html>Not Found</html>");
	assert_non_null(strstr(teeliza_errmsg(), ", Info"));
	/* an error member with any other status, even 200: the SDK throws on the key */
	fake_force(f, NULL, 500, "{\"error\":\"internal\"}");
	assert_err(dstack_get_version(&v, &c), TEELIZA_ERR_REMOTE, "internal (dstack at unix:");
	assert_non_null(strstr(teeliza_errmsg(), "HTTP 500"));
	fake_force(f, NULL, 200, "{\"error\":{\"code\":7}}");
	assert_err(dstack_get_version(&v, &c), TEELIZA_ERR_REMOTE, "{\"code\":7}");
	/* other statuses without an error member */
	fake_force(f, NULL, 502, "<html>Bad Gateway</html>");
	assert_err(dstack_get_version(&v, &c), TEELIZA_ERR_PROTOCOL, "HTTP 502 without an error message: <html>Bad");
	fake_force(f, NULL, 503, "{\"ok\":false}");
	assert_err(dstack_get_version(&v, &c), TEELIZA_ERR_PROTOCOL, "HTTP 503");
	/* bodies that are not a JSON object */
	fake_force(f, NULL, 200, "");
	assert_err(dstack_get_version(&v, &c), TEELIZA_ERR_PROTOCOL, "not JSON");
	fake_force(f, NULL, 200, "[1,2]");
	assert_err(dstack_get_version(&v, &c), TEELIZA_ERR_PROTOCOL, "not a JSON object");
	fake_force(f, NULL, 200, "null");
	assert_err(dstack_get_version(&v, &c), TEELIZA_ERR_PROTOCOL, "not a JSON object");
	fake_force(f, NULL, 200, "{\"version\":\"a\",\"rev\":\"b\",\"version\":\"c\"}");
	assert_err(dstack_get_version(&v, &c), TEELIZA_ERR_PROTOCOL, "duplicate");
	fake_force(f, NULL, 200, "{\"version\":\"a\\u0000b\",\"rev\":\"b\"}");
	assert_err(dstack_get_version(&v, &c), TEELIZA_ERR_PROTOCOL, "not JSON");
	/* a reply that may hold a key is never quoted */
	fake_force(f, NULL, 200, "{\"key\":\"deadbeefcafe");
	assert_err(dstack_get_key(&k, &c, "p", "q", NULL), TEELIZA_ERR_PROTOCOL, "not JSON (premature end of input at byte 20 of 20 bytes)");
	assert_null(strstr(teeliza_errmsg(), "deadbeef"));
	fake_force(f, NULL, 500, "deadbeefcafe");
	assert_err(dstack_get_key(&k, &c, "p", "q", NULL), TEELIZA_ERR_PROTOCOL, "HTTP 500");
	assert_null(strstr(teeliza_errmsg(), "deadbeef"));
	/* control characters of a server's message never reach ours */
	fake_force(f, NULL, 400, "{\"error\":\"line\\nbreak\\u001b[31m\"}");
	assert_err(dstack_get_version(&v, &c), TEELIZA_ERR_REMOTE, "line.break.[31m");
	fake_stop(f);
}

/* ---- the Version probes ---- */

static void test_version_probe(void **state)
{
	json_t *vec = vector_json("dstack-sdk-wire.json"), *errors = json_object_get(vec, "errors");
	struct fake *f = fake_start(false);
	static const char *const version_failures[][2] = {
		{"404", "Not Found"},
		{"400", "{\n  \"error\": \"Service not found: Version\"\n}"},
		{"200", "not json"},
	};
	dstack_client c;
	tee_dstack_key k;
	dstack_tls_key tk;
	dstack_tls_key_options o;
	tee_endpoint ep;
	uint16_t port;
	char url[64];
	size_t i;
	int fd;

	(void)state;
	fake_client(&c, f);
	for (i = 0; i < 3; i++) {
		fake_force(f, "/Version", (unsigned)atoi(version_failures[i][0]), version_failures[i][1]);
		fake_reset(f);
		assert_int_equal(dstack_get_key(&k, &c, "p", "q", "ed25519"), TEELIZA_ERR_UNSUPPORTED);
		assert_string_equal(teeliza_errmsg(),
		                    json_string_value(json_object_get(errors, "getKey_ed25519_without_version")));
		assert_int_equal(f->count, 1); /* only the probe went out */
		dstack_tls_key_options_init(&o);
		o.set_not_before = o.set_not_after = true;
		o.not_before = 1;
		o.not_after = 2;
		assert_int_equal(dstack_get_tls_key(&tk, &c, &o), TEELIZA_ERR_UNSUPPORTED);
		assert_string_equal(teeliza_errmsg(),
		                    json_string_value(json_object_get(errors, "getTlsKey_options_without_version")));
		dstack_tls_key_options_init(&o);
		o.set_with_app_info = true;
		assert_int_equal(dstack_get_tls_key(&tk, &c, &o), TEELIZA_ERR_UNSUPPORTED);
		assert_string_equal(teeliza_errmsg(),
		                    json_string_value(json_object_get(errors, "getTlsKey_app_info_without_version")));
		assert_null(tk.key.data);
		/* secp256k1 and plain TLS keys need no probe */
		fake_reset(f);
		assert_int_equal(dstack_get_key(&k, &c, "p", "q", ""), TEELIZA_OK);
		dstack_tls_key_options_init(&o);
		assert_int_equal(dstack_get_tls_key(&tk, &c, &o), TEELIZA_OK);
		dstack_tls_key_free(&tk);
		assert_int_equal(f->count, 2);
	}
	/* an unreachable agent is said so, not "too old" */
	fd = fakehttp_listen_tcp(&port);
	close(fd);
	snprintf(url, sizeof(url), "http://127.0.0.1:%u", port);
	assert_int_equal(tee_endpoint_parse(&ep, url, TEE_API_DSTACK), TEELIZA_OK);
	dstack_client_init(&c, &ep);
	assert_err(dstack_get_key(&k, &c, "p", "q", "ed25519"), TEELIZA_ERR_CONNECT, "/Version");
	assert_err(dstack_get_key(&k, &c, "p", "q", NULL), TEELIZA_ERR_CONNECT, "refused");
	assert_non_null(strstr(teeliza_errmsg(), "/GetKey"));
	teeliza_wipe(&k, sizeof(k));
	fake_stop(f);
	json_decref(vec);
}

/* ---- GetQuote, Attest ---- */

static void test_quote(void **state)
{
	struct fake *f = fake_start(true);
	json_t *fixture = vector_json("dstack-getquote-tdx-lite.json");
	dstack_client c;
	dstack_quote_reply q;
	uint8_t rd[64] = {'h', 'e', 'l', 'l', 'o'}, full[64];
	dcap_quote parsed;

	(void)state;
	fake_client(&c, f);
	assert_int_equal(dstack_get_quote(&q, &c, (const uint8_t *)"hello", 5), TEELIZA_OK);
	assert_memory_equal(q.report_data, rd, 64);
	assert_int_equal(q.quote.len, f->quote_len);
	assert_int_equal(dcap_quote_parse(&parsed, q.quote.data, q.quote.len), TEELIZA_OK);
	assert_memory_equal(parsed.body.td.report_data, rd, 64);
	assert_string_equal((char *)q.event_log.data, f->event_log);
	assert_int_equal(q.events.log.count, 29);
	assert_non_null(tee_dstack_events_ident(&q.events, TEE_DSTACK_IDENT_APP_ID));
	assert_true(q.replay_matches);
	assert_string_equal(q.replay_error, "");
	assert_string_equal(q.vm_config, json_string_value(json_object_get(fixture, "vm_config")));
	dstack_quote_reply_free(&q);
	assert_null(q.quote.data);
	assert_null(q.vm_config);

	/* the real answer, byte for byte: its report data is the text "dip1::secp256k1c-pk:…" */
	memset(full, 0, sizeof(full));
	f->no_patch = true;
	fake_force(f, "/GetQuote", 200, NULL);
	{
		char *text = json_dumps(fixture, JSON_COMPACT);
		uint8_t *want;
		size_t n;

		want = hex_alloc(json_string_value(json_object_get(fixture, "report_data")), &n);
		assert_int_equal(n, 64);
		fake_force(f, "/GetQuote", 200, text);
		assert_int_equal(dstack_get_quote(&q, &c, want, 64), TEELIZA_OK);
		assert_true(q.replay_matches);
		dstack_quote_reply_free(&q);
		/* asking for other data: the reply does not carry it */
		assert_err(dstack_get_quote(&q, &c, (const uint8_t *)"hello", 5), TEELIZA_ERR_VERIFY,
		           "\"report_data\" is not the one asked for");
		assert_null(q.quote.data);
		free(want);
		free(text);
	}
	/* the reply's report_data right, the quote's not */
	fake_force(f, NULL, 0, NULL);
	assert_err(dstack_get_quote(&q, &c, (const uint8_t *)"hello", 5), TEELIZA_ERR_VERIFY,
	           "the quote's report data is not the one asked for");
	assert_non_null(strstr(teeliza_errmsg(), "68656c6c6f000000"));
	f->no_patch = false;
	dstack_quote_reply_free(&q);
	json_decref(fixture);
	fake_stop(f);
}

/* A GetQuote reply built from the fixture with one member replaced (value NULL: removed). */
static char *quote_reply_with(const char *key, json_t *value)
{
	json_t *fixture = vector_json("dstack-getquote-tdx-lite.json");
	char *text;

	if (value != NULL)
		json_object_set_new(fixture, key, value);
	else
		json_object_del(fixture, key);
	text = json_dumps(fixture, JSON_COMPACT);
	json_decref(fixture);
	return text;
}

static void test_quote_bad_replies(void **state)
{
	struct fake *f = fake_start(false);
	json_t *fixture = vector_json("dstack-getquote-tdx-lite.json");
	const char *qhex = json_string_value(json_object_get(fixture, "quote"));
	const char *log = json_string_value(json_object_get(fixture, "event_log"));
	uint8_t *want;
	size_t n;
	dstack_client c;
	dstack_quote_reply q;
	char *body, *big, *logx;

	(void)state;
	fake_client(&c, f);
	want = hex_alloc(json_string_value(json_object_get(fixture, "report_data")), &n);

#define QUOTE_CASE(member, value, code, text)                                    \
	do {                                                                     \
		body = quote_reply_with((member), (value));                      \
		fake_force(f, "/GetQuote", 200, body);                           \
		assert_err(dstack_get_quote(&q, &c, want, 64), (code), (text));  \
		assert_null(q.quote.data);                                       \
		assert_null(q.event_log.data);                                   \
		assert_int_equal(q.events.log.count, 0);                         \
		free(body);                                                      \
	} while (0)

	QUOTE_CASE("quote", NULL, TEELIZA_ERR_PROTOCOL, "has no \"quote\"");
	QUOTE_CASE("quote", json_string("zz"), TEELIZA_ERR_PROTOCOL, "\"quote\" is not hex");
	QUOTE_CASE("quote", json_string(""), TEELIZA_ERR_PROTOCOL, "is not a quote");
	QUOTE_CASE("quote", json_stringn(qhex, 2 * 700), TEELIZA_ERR_PROTOCOL, "is not a quote");
	big = calloc(1, 2 * 40000 + 1);
	assert_non_null(big);
	memset(big, '0', 2 * 40000);
	memcpy(big, qhex, strlen(qhex));
	QUOTE_CASE("quote", json_string(big), TEELIZA_ERR_PROTOCOL, "longer than 32768 bytes");
	free(big);
	QUOTE_CASE("report_data", json_string("00"), TEELIZA_ERR_PROTOCOL, "\"report_data\" is 1 bytes, not 64");
	QUOTE_CASE("event_log", NULL, TEELIZA_ERR_PROTOCOL, "has no \"event_log\"");
	QUOTE_CASE("event_log", json_string("{}"), TEELIZA_ERR_PROTOCOL, "\"event_log\":");
	QUOTE_CASE("event_log", json_pack("[]"), TEELIZA_ERR_PROTOCOL, "\"event_log\" is not a string");
	QUOTE_CASE("event_log", json_string("[{\"imr\":9,\"event_type\":1,\"digest\":\"\",\"event\":\"\",\"event_payload\":\"\"}]"),
	           TEELIZA_ERR_PROTOCOL, "outside 0..3");
	QUOTE_CASE("vm_config", json_integer(1), TEELIZA_ERR_PROTOCOL, "\"vm_config\" is not a string");

	/* prpc's "0x" prefixes, a missing report_data and vm_config (older agents): accepted */
	body = quote_reply_with("quote", json_sprintf("0x%s", qhex));
	fake_force(f, "/GetQuote", 200, body);
	assert_int_equal(dstack_get_quote(&q, &c, want, 64), TEELIZA_OK);
	dstack_quote_reply_free(&q);
	free(body);
	{
		json_t *j = json_deep_copy(fixture);

		json_object_del(j, "report_data");
		json_object_del(j, "vm_config");
		body = json_dumps(j, JSON_COMPACT);
		json_decref(j);
	}
	fake_force(f, "/GetQuote", 200, body);
	assert_int_equal(dstack_get_quote(&q, &c, want, 64), TEELIZA_OK);
	assert_string_equal(q.vm_config, "");
	dstack_quote_reply_free(&q);
	free(body);

	/* a log that parses but does not replay to the quote: returned, and said so */
	logx = strdup(log);
	assert_non_null(logx);
	assert_non_null(strstr(logx, "0b8772e5b0"));
	memcpy(strstr(logx, "0b8772e5b0"), "1b8772e5b0", 10);
	body = quote_reply_with("event_log", json_string(logx));
	fake_force(f, "/GetQuote", 200, body);
	assert_int_equal(dstack_get_quote(&q, &c, want, 64), TEELIZA_OK);
	assert_false(q.replay_matches);
	assert_non_null(strstr(q.replay_error, "RTMR0 mismatch"));
	dstack_quote_reply_free(&q);
	free(body);
	free(logx);

	free(want);
	json_decref(fixture);
	fake_stop(f);
#undef QUOTE_CASE
}

static void test_attest(void **state)
{
	static const struct {
		const char *body;
		teeliza_err err;
		const char *text;
	} bad[] = {
		{"{}", TEELIZA_ERR_PROTOCOL, "has no \"attestation\""},
		{"{\"attestation\":\"\"}", TEELIZA_ERR_PROTOCOL, "is empty"},
		{"{\"attestation\":\"0x\"}", TEELIZA_ERR_PROTOCOL, "is empty"},
		{"{\"attestation\":\"0g\"}", TEELIZA_ERR_PROTOCOL, "not hex"},
		{"{\"attestation\":\"01aa\"}", TEELIZA_ERR_PROTOCOL, "starts with 0x01"},
		{"{\"attestation\":\"7f\"}", TEELIZA_ERR_PROTOCOL, "neither dstack format"},
	};
	struct fake *f = fake_start(true);
	dstack_client c;
	teeliza_buf att;
	dstack_attestation_format fmt;
	char *big;
	size_t i;

	(void)state;
	fake_client(&c, f);
	assert_int_equal(dstack_attest(&att, &fmt, &c, (const uint8_t *)"\x01\x02\x03", 3), TEELIZA_OK);
	assert_int_equal(fmt, DSTACK_ATTESTATION_V0);
	assert_int_equal(att.len, 65);
	assert_hex_equal(att.data, 5, "0001020300");
	teeliza_buf_free(&att);
	fake_force(f, "/Attest", 200, "{\"attestation\":\"0x82a776657273696f6e01\"}");
	assert_int_equal(dstack_attest(&att, &fmt, &c, NULL, 0), TEELIZA_OK);
	assert_int_equal(fmt, DSTACK_ATTESTATION_V1);
	teeliza_buf_free(&att);
	fake_force(f, "/Attest", 200, "{\"attestation\":\"de0000\"}");
	assert_int_equal(dstack_attest(&att, &fmt, &c, NULL, 0), TEELIZA_OK);
	assert_int_equal(fmt, DSTACK_ATTESTATION_V1);
	teeliza_buf_free(&att);
	for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		fake_force(f, "/Attest", 200, bad[i].body);
		if (dstack_attest(&att, &fmt, &c, NULL, 0) != bad[i].err || strstr(teeliza_errmsg(), bad[i].text) == NULL)
			fail_msg("case %zu: %s", i, teeliza_errmsg());
		assert_null(att.data);
	}
	/* over the blob cap (1 MiB), under the reply cap */
	big = malloc(2 * ((1 << 20) + 1) + 32);
	assert_non_null(big);
	strcpy(big, "{\"attestation\":\"");
	memset(big + 16, '0', 2 * ((1 << 20) + 1));
	strcpy(big + 16 + 2 * ((1 << 20) + 1), "\"}");
	fake_force(f, "/Attest", 200, big);
	assert_err(dstack_attest(&att, &fmt, &c, NULL, 0), TEELIZA_ERR_PROTOCOL, "longer than 1048576 bytes");
	free(big);
	fake_stop(f);
}

/* ---- Info, Version ---- */

static void test_info(void **state)
{
	struct fake *f = fake_start(false);
	dstack_client c;
	dstack_info info;
	json_t *fixture = vector_json("dstack-getquote-tdx-lite.json");
	uint8_t dev[32];

	(void)state;
	fake_client(&c, f);
	assert_int_equal(dstack_get_info(&info, &c), TEELIZA_OK);
	assert_hex_equal(info.app_id, info.app_id_len, "86b0e55f2fa8e4fb69d890f14f54d5612707646e");
	assert_int_equal(info.instance_id_len, 20);
	assert_int_equal(info.compose_hash_len, 32);
	assert_int_equal(info.os_image_hash_len, 32);
	memset(dev, 0x11, sizeof(dev));
	assert_memory_equal(info.device_id, dev, 32);
	assert_string_equal(info.app_name, "teeliza-test");
	assert_string_equal(info.app_cert, "");
	assert_string_equal(info.cloud_vendor, "QEMU");
	assert_string_equal(info.vm_config, json_string_value(json_object_get(fixture, "vm_config")));
	assert_string_equal(info.key_provider_info, "{\"name\":\"kms\",\"id\":\"00\"}");
	assert_string_equal((char *)info.raw.data, f->info_reply);
	/* tcb_info, parsed */
	assert_true(info.tcb.present);
	assert_true(info.tcb.has_registers);
	assert_hex_equal(info.tcb.rtmr[3], 48,
	                 "6f24c170d0fd63fc2b1b53202eea47b013978437fa6982cf5e0438ff95c208994aaa0f4ebab2e3a66824b5b56869137e");
	assert_memory_equal(info.tcb.mr_aggregated, info.mr_aggregated, 32);
	assert_memory_equal(info.tcb.compose_hash, info.compose_hash, 32);
	assert_int_equal(info.tcb.events.log.count, 29);
	assert_true(info.tcb.replay_matches);
	assert_string_equal(info.tcb.app_compose, "{\"name\":\"teeliza-test\"}");
	dstack_info_free(&info);
	assert_null(info.app_name);
	json_decref(fixture);
	fake_stop(f);
}

/* An Info reply from the fake's with one member of it (or of its tcb_info) replaced; NULL removes. */
static char *info_with(const struct fake *f, const char *key, json_t *value, bool in_tcb)
{
	json_t *info = json_loads(f->info_reply, JSON_PRESERVE_ORDER, NULL), *tcb;
	char *text, *tcb_text;

	assert_non_null(info);
	if (in_tcb) {
		tcb = json_loads(json_string_value(json_object_get(info, "tcb_info")), JSON_PRESERVE_ORDER, NULL);
		assert_non_null(tcb);
		if (value != NULL)
			json_object_set_new(tcb, key, value);
		else
			json_object_del(tcb, key);
		tcb_text = json_dumps(tcb, JSON_INDENT(2) | JSON_PRESERVE_ORDER);
		json_object_set_new(info, "tcb_info", json_string(tcb_text));
		free(tcb_text);
		json_decref(tcb);
	} else if (value != NULL) {
		json_object_set_new(info, key, value);
	} else {
		json_object_del(info, key);
	}
	text = json_dumps(info, JSON_COMPACT | JSON_PRESERVE_ORDER);
	json_decref(info);
	return text;
}

static void test_info_variants(void **state)
{
	struct fake *f = fake_start(true);
	dstack_client c;
	dstack_info info;
	char *body;

	(void)state;
	fake_client(&c, f);
#define INFO_OK(key, value, in_tcb)                                  \
	do {                                                         \
		body = info_with(f, (key), (value), (in_tcb));       \
		fake_force(f, "/Info", 200, body);                   \
		if (dstack_get_info(&info, &c) != TEELIZA_OK)        \
			fail_msg("%s: %s", (key), teeliza_errmsg()); \
		free(body);                                          \
	} while (0)
#define INFO_BAD(key, value, in_tcb, text)                                              \
	do {                                                                            \
		body = info_with(f, (key), (value), (in_tcb));                          \
		fake_force(f, "/Info", 200, body);                                      \
		assert_err(dstack_get_info(&info, &c), TEELIZA_ERR_PROTOCOL, (text));   \
		assert_null(info.app_name);                                             \
		assert_null(info.raw.data);                                             \
		free(body);                                                             \
	} while (0)

	/* hidden tcb_info (the public port) */
	INFO_OK("tcb_info", json_string(""), false);
	assert_false(info.tcb.present);
	assert_false(info.tcb.has_registers);
	dstack_info_free(&info);
	/* no TD report on the platform: the registers are null */
	body = info_with(f, "mrtd", NULL, true);
	{
		json_t *i = json_loads(body, 0, NULL), *t = json_loads(json_string_value(json_object_get(i, "tcb_info")), 0,
		                                                      NULL);
		char *tt;

		json_object_set_new(t, "rtmr0", json_null());
		json_object_set_new(t, "rtmr1", json_null());
		json_object_set_new(t, "rtmr2", json_null());
		json_object_set_new(t, "rtmr3", json_null());
		tt = json_dumps(t, 0);
		json_object_set_new(i, "tcb_info", json_string(tt));
		free(body);
		body = json_dumps(i, 0);
		free(tt);
		json_decref(t);
		json_decref(i);
	}
	fake_force(f, "/Info", 200, body);
	assert_int_equal(dstack_get_info(&info, &c), TEELIZA_OK);
	assert_true(info.tcb.present);
	assert_false(info.tcb.has_registers);
	assert_false(info.tcb.replay_matches);
	dstack_info_free(&info);
	free(body);
	/* newer fields absent (older agents), empty ids */
	INFO_OK("cloud_vendor", NULL, false);
	assert_string_equal(info.cloud_vendor, "");
	dstack_info_free(&info);
	INFO_OK("instance_id", json_string(""), false);
	assert_int_equal(info.instance_id_len, 0);
	dstack_info_free(&info);
	INFO_OK("app_id", json_string("0x86b0e55f2fa8e4fb69d890f14f54d5612707646e"), false);
	assert_int_equal(info.app_id_len, 20);
	dstack_info_free(&info);

	INFO_BAD("app_name", NULL, false, "Info reply has no \"app_name\"");
	INFO_BAD("tcb_info", json_integer(3), false, "\"tcb_info\" is not a string");
	INFO_BAD("tcb_info", json_string("{"), false, "\"tcb_info\" is not JSON");
	INFO_BAD("tcb_info", json_string("[]"), false, "not a JSON object");
	INFO_BAD("tcb_info", json_string("{\"event_log\":[],\"event_log\":[]}"), false, "duplicate");
	INFO_BAD("app_id", json_string("00"), false, "\"app_id\" is 1 bytes, not 20 or 0");
	INFO_BAD("device_id", json_string("0011"), false, "\"device_id\" is 2 bytes, not 32 or 0");
	INFO_BAD("mrtd", json_string("00"), true, "\"mrtd\" is 1 bytes, not 48");
	INFO_BAD("rtmr2", json_null(), true, "some of mrtd, rtmr0");
	INFO_BAD("mrtd", json_null(), true, "some of mrtd, rtmr0");
	INFO_BAD("compose_hash", json_string("ab"), true, "tcb_info: \"compose_hash\" is 1 bytes");
	INFO_BAD("event_log", NULL, true, "tcb_info has no \"event_log\"");
	INFO_BAD("event_log", json_string("[]"), true, "\"event_log\" is not an array");
	INFO_BAD("event_log", json_pack("[{s:i}]", "imr", 0), true, "tcb_info: \"event_log\": event 0");
	INFO_BAD("app_compose", json_true(), true, "\"app_compose\" is not a string");
	fake_stop(f);
#undef INFO_OK
#undef INFO_BAD
}

static void test_version_emit(void **state)
{
	struct fake *f = fake_start(false);
	dstack_client c;
	dstack_version v;
	char big[300];

	(void)state;
	fake_client(&c, f);
	assert_int_equal(dstack_get_version(&v, &c), TEELIZA_OK);
	assert_string_equal(v.version, "0.5.11");
	assert_string_equal(v.rev, "40eaf35e6b3f112998d01569f2a26110baab123b");
	fake_force(f, "/Version", 200, "{\"version\":\"0.5.11\"}");
	assert_err(dstack_get_version(&v, &c), TEELIZA_ERR_PROTOCOL, "no \"rev\"");
	snprintf(big, sizeof(big), "{\"version\":\"%0200d\",\"rev\":\"\"}", 0);
	fake_force(f, "/Version", 200, big);
	assert_err(dstack_get_version(&v, &c), TEELIZA_ERR_PROTOCOL, "implausibly long");
	assert_string_equal(v.version, "");

	assert_int_equal(dstack_emit_event(&c, "custom-event", (const uint8_t *)"\xde\xad\xbe\xef", 4), TEELIZA_OK);
	fake_force(f, "/EmitEvent", 200, "{}");
	assert_int_equal(dstack_emit_event(&c, "e", NULL, 0), TEELIZA_OK);
	assert_string_equal(f->reqs[f->count - 1].body, "{\"event\":\"e\",\"payload\":\"\"}");
	fake_force(f, "/EmitEvent", 200, "{\"ok\":true}");
	assert_err(dstack_emit_event(&c, "e", NULL, 0), TEELIZA_ERR_PROTOCOL, "EmitEvent reply is not null");
	fake_force(f, "/EmitEvent", 200, "1");
	assert_err(dstack_emit_event(&c, "e", NULL, 0), TEELIZA_ERR_PROTOCOL, "not a JSON object");
	/* dstack's simulator cannot extend RTMR3 */
	fake_force(f, "/EmitEvent", 400,
	           "{\n  \"error\": \"runtime event emission is unavailable in simulator mode: e\"\n}");
	assert_err(dstack_emit_event(&c, "e", NULL, 0), TEELIZA_ERR_REMOTE,
	           "runtime event emission is unavailable in simulator mode: e (dstack at http://127.0.0.1:");
	fake_stop(f);
}

/* ---- GetTlsKey ---- */

static void test_tls_key(void **state)
{
	static const struct {
		const char *body;
		const char *text;
	} bad[] = {
		{"{\"certificate_chain\":[]}", "has no \"key\""},
		{"{\"key\":\"MIGH\",\"certificate_chain\":[\"-----BEGIN CERTIFICATE-----\"]}", "not a PEM private key (4 bytes)"},
		{"{\"key\":\"-----BEGIN PRIVATE KEY-----\"}", "no \"certificate_chain\""},
		{"{\"key\":\"-----BEGIN PRIVATE KEY-----\",\"certificate_chain\":[]}", "0 entries"},
		{"{\"key\":\"-----BEGIN PRIVATE KEY-----\",\"certificate_chain\":{}}", "not an array"},
		{"{\"key\":\"-----BEGIN PRIVATE KEY-----\",\"certificate_chain\":[\"-----BEGIN CERTIFICATE-----\",\"x\"]}",
		 "certificate_chain[1] is not a PEM certificate"},
		{"{\"key\":\"-----BEGIN PRIVATE KEY-----\",\"certificate_chain\":[1]}", "certificate_chain[0] is not"},
	};
	struct fake *f = fake_start(true);
	dstack_client c;
	dstack_tls_key k;
	dstack_tls_key_options o;
	char many[2000];
	size_t i, n;

	(void)state;
	fake_client(&c, f);
	dstack_tls_key_options_init(&o);
	assert_true(o.usage_server_auth && !o.usage_client_auth && !o.usage_ra_tls);
	assert_int_equal(dstack_get_tls_key(&k, &c, &o), TEELIZA_OK);
	assert_true(k.key.secret);
	assert_non_null(strstr((char *)k.key.data, "MIGH"));
	assert_int_equal(k.chain_len, 2);
	assert_non_null(strstr((char *)k.certificate_chain[1].data, "\nca\n"));
	dstack_tls_key_free(&k);
	assert_null(k.key.data);
	for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		fake_force(f, "/GetTlsKey", 200, bad[i].body);
		if (dstack_get_tls_key(&k, &c, &o) != TEELIZA_ERR_PROTOCOL || strstr(teeliza_errmsg(), bad[i].text) == NULL)
			fail_msg("case %zu: %s", i, teeliza_errmsg());
		assert_null(k.key.data);
		assert_null(k.certificate_chain);
	}
	n = (size_t)snprintf(many, sizeof(many), "{\"key\":\"-----BEGIN PRIVATE KEY-----\",\"certificate_chain\":[");
	for (i = 0; i < DSTACK_CHAIN_MAX + 1; i++)
		n += (size_t)snprintf(many + n, sizeof(many) - n, "%s\"-----BEGIN CERTIFICATE-----\"", i ? "," : "");
	snprintf(many + n, sizeof(many) - n, "]}");
	fake_force(f, "/GetTlsKey", 200, many);
	assert_err(dstack_get_tls_key(&k, &c, &o), TEELIZA_ERR_PROTOCOL, "17 entries, not 1..16");
	fake_stop(f);
}

/* ---- Sign, Verify ---- */

static void test_sign_verify(void **state)
{
	static const char *const algs[] = {"secp256k1", "k256", "ed25519", "secp256k1_prehashed"};
	struct fake *f = fake_start(false);
	dstack_client c;
	tee_dstack_signature s;
	tee_dstack_key_report r;
	dstack_trust trust = {.app_id_hex = SIM_APP_ID, .kms_root_hex = SIM_KMS_ROOT};
	uint8_t digest[32];
	char body[1024], sig_hex[129], pub_hex[67], c1[131], c2[131];
	bool valid;
	size_t i;

	(void)state;
	fake_client(&c, f);
	memset(digest, 0x11, sizeof(digest));
	for (i = 0; i < 4; i++) {
		const uint8_t *data = i == 3 ? digest : (const uint8_t *)"hello";
		size_t len = i == 3 ? 32 : 5;

		assert_int_equal(dstack_sign(&s, &c, algs[i], data, len), TEELIZA_OK);
		assert_int_equal(s.public_key_len, i == 2 ? 32 : 33);
		assert_int_equal(s.kms_signature_len, 65);
		assert_int_equal(dstack_sign_provenance(&r, &s, algs[i], &trust), TEELIZA_OK);
		assert_int_equal(dstack_verify(&valid, &c, algs[i], data, len, s.signature, 64, s.public_key,
		                               s.public_key_len),
		                 TEELIZA_OK);
		assert_true(valid);
		assert_int_equal(dstack_verify(&valid, &c, algs[i], (const uint8_t *)"other data, 32 bytes long......", 32,
		                               s.signature, 64, s.public_key, s.public_key_len),
		                 TEELIZA_OK);
		assert_false(valid);
	}
	assert_int_equal(dstack_sign_provenance(&r, &s, "rsa", &trust), TEELIZA_ERR_UNSUPPORTED);

	/* a reply that contradicts itself */
	assert_int_equal(dstack_sign(&s, &c, "secp256k1", (const uint8_t *)"hello", 5), TEELIZA_OK);
	teeliza_hex_encode(sig_hex, s.signature, 64);
	teeliza_hex_encode(pub_hex, s.public_key, 33);
	teeliza_hex_encode(c1, s.key_chain[0], 65);
	teeliza_hex_encode(c2, s.key_chain[1], 65);
	snprintf(body, sizeof(body), "{\"signature\":\"%s\",\"signature_chain\":[\"%.126s00\",\"%s\",\"%s\"],\"public_key\":\"%s\"}",
	         sig_hex, sig_hex, c1, c2, pub_hex);
	fake_force(f, "/Sign", 200, body);
	assert_err(dstack_sign(&s, &c, "secp256k1", (const uint8_t *)"hello", 5), TEELIZA_ERR_VERIFY,
	           "signature_chain[0] is not the signature");
	snprintf(body, sizeof(body), "{\"signature\":\"%s\",\"signature_chain\":[\"%s\",\"%s\",\"%s\"],\"public_key\":\"%s\"}",
	         sig_hex, sig_hex, c1, c2, pub_hex);
	fake_force(f, "/Sign", 200, body);
	assert_int_equal(dstack_sign(&s, &c, "secp256k1", (const uint8_t *)"hello", 5), TEELIZA_OK);
	assert_err(dstack_sign(&s, &c, "secp256k1", (const uint8_t *)"hellO", 5), TEELIZA_ERR_VERIFY,
	           "does not verify under the public key");
	assert_int_equal(s.public_key_len, 0);
	assert_err(dstack_sign(&s, &c, "ed25519", (const uint8_t *)"hello", 5), TEELIZA_ERR_PROTOCOL,
	           "\"public_key\" is 33 bytes, not 32");
	snprintf(body, sizeof(body), "{\"signature\":\"%s\",\"signature_chain\":[\"%s\",\"%s\"],\"public_key\":\"%s\"}",
	         sig_hex, sig_hex, c1, pub_hex);
	fake_force(f, "/Sign", 200, body);
	assert_err(dstack_sign(&s, &c, "secp256k1", (const uint8_t *)"hello", 5), TEELIZA_ERR_PROTOCOL,
	           "2 entries, not 3");
	snprintf(body, sizeof(body), "{\"signature\":\"%s\",\"signature_chain\":[\"%s\",\"%s\",\"%s\"],\"public_key\":\"04%.64s\"}",
	         sig_hex, sig_hex, c1, c2, pub_hex + 2);
	fake_force(f, "/Sign", 200, body);
	assert_err(dstack_sign(&s, &c, "secp256k1", (const uint8_t *)"hello", 5), TEELIZA_ERR_PROTOCOL, "malformed");
	/* the agent's own refusal */
	fake_force(f, NULL, 0, NULL);
	fake_force(f, "/Verify", 400, "{\n  \"error\": \"invalid public key\"\n}");
	assert_err(dstack_verify(&valid, &c, "ed25519", NULL, 0, NULL, 0, NULL, 0), TEELIZA_ERR_REMOTE, "invalid public key");
	fake_force(f, "/Verify", 200, "{\"valid\":\"yes\"}");
	assert_err(dstack_verify(&valid, &c, "ed25519", NULL, 0, NULL, 0, NULL, 0), TEELIZA_ERR_PROTOCOL,
	           "\"valid\" is not a boolean");
	assert_false(valid);
	fake_force(f, "/Verify", 200, "{}");
	assert_err(dstack_verify(&valid, &c, "ed25519", NULL, 0, NULL, 0, NULL, 0), TEELIZA_ERR_PROTOCOL, "no \"valid\"");
	fake_stop(f);
}

/* ---- limits ---- */

static void check_caps(bool chunked)
{
	struct fake *f = fake_start(false);
	dstack_client c;
	dstack_version v;
	tee_dstack_key k;
	char *big = malloc(70000);

	assert_non_null(big);
	fake_client(&c, f);
	f->chunked = chunked;
	/* exactly the client's cap fits, one byte less does not */
	memset(big, ' ', 69999);
	big[69999] = 0;
	memcpy(big, "{\"version\":\"1\",\"rev\":\"2\"}", 25);
	big[20000] = 0;
	fake_force(f, "/Version", 200, big);
	c.max_response = 20000;
	assert_int_equal(dstack_get_version(&v, &c), TEELIZA_OK);
	c.max_response = 19999;
	assert_err(dstack_get_version(&v, &c), TEELIZA_ERR_TOO_LARGE, "19999");
	assert_non_null(strstr(teeliza_errmsg(), "/Version"));
	/* the method's own cap applies below the client's default 16 MiB */
	c.max_response = (size_t)16 << 20;
	big[20000] = ' ';
	fake_force(f, "/GetKey", 200, big);
	assert_err(dstack_get_key(&k, &c, "p", "q", NULL), TEELIZA_ERR_TOO_LARGE, "65536");
	assert_non_null(strstr(teeliza_errmsg(), "/GetKey"));
	free(big);
	fake_stop(f);
}

static void test_size_caps(void **state)
{
	(void)state;
	check_caps(false);
	check_caps(true);
}

static void test_timeout(void **state)
{
	struct fake *f = fake_start(true);
	dstack_client c;
	dstack_version v;

	(void)state;
	fake_client(&c, f);
	f->sleep_ms = 1500;
	c.timeout_ms = 200;
	assert_err(dstack_get_version(&v, &c), TEELIZA_ERR_TIMEOUT, "200 ms");
	assert_non_null(strstr(teeliza_errmsg(), "/Version"));
	/* isReachable: Info within the time given */
	assert_false(dstack_is_reachable(&c, 200));
	f->sleep_ms = 0;
	assert_true(dstack_is_reachable(&c, 5000));
	fake_stop(f);
}

static void test_client_str(void **state)
{
	tee_endpoint ep;
	dstack_client c;
	char s[700];

	(void)state;
	assert_int_equal(tee_endpoint_parse(&ep, "/var/run/dstack.sock", TEE_API_DSTACK), TEELIZA_OK);
	dstack_client_init(&c, &ep);
	assert_int_equal(c.timeout_ms, 30000);
	assert_string_equal(dstack_client_str(s, sizeof(s), &c), "dstack at unix:/var/run/dstack.sock");
	assert_int_equal(tee_endpoint_parse(&ep, "https://dstack.example:8443/x", TEE_API_DSTACK), TEELIZA_OK);
	dstack_client_init(&c, &ep);
	assert_string_equal(dstack_client_str(s, sizeof(s), &c), "dstack at https://dstack.example:8443/x");
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_wire_tcp),
		cmocka_unit_test(test_wire_unix),
		cmocka_unit_test(test_request_bodies),
		cmocka_unit_test(test_client_checks),
		cmocka_unit_test(test_get_key_vectors),
		cmocka_unit_test(test_get_key_broken_chain),
		cmocka_unit_test(test_get_key_bad_replies),
		cmocka_unit_test(test_error_shapes),
		cmocka_unit_test(test_version_probe),
		cmocka_unit_test(test_quote),
		cmocka_unit_test(test_quote_bad_replies),
		cmocka_unit_test(test_attest),
		cmocka_unit_test(test_info),
		cmocka_unit_test(test_info_variants),
		cmocka_unit_test(test_version_emit),
		cmocka_unit_test(test_tls_key),
		cmocka_unit_test(test_sign_verify),
		cmocka_unit_test(test_size_caps),
		cmocka_unit_test(test_timeout),
		cmocka_unit_test(test_client_str),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
