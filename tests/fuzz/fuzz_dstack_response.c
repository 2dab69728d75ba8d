/*
 * Fuzz the dstack client's reply handling: the judgement of status and body
 * (dstack_reply_judge) and every method's parser, on hostile bytes.
 *
 * Input: "<Method> <status> [args]\n" then the reply body. Methods: GetKey
 * [algorithm], GetQuote [report data hex; default: the reply's own
 * report_data], Attest, Info, TcbInfo (the body is a tcb_info text),
 * Version, GetTlsKey, EmitEvent, Sign <algorithm> <data hex>, Verify. An
 * input that starts with '{' is a GetQuote 200 body (so real answers, like
 * dstack-getquote-tdx-lite.json, seed it).
 *
 * Invariants: judge only passes a 2xx JSON object without "error" (or null
 * for EmitEvent), says 404 is NOT_FOUND, and names the endpoint and method
 * when it refuses; a parser that succeeds returns what dstack.h promises
 * (lengths, a quote carrying the asked report data, a signature that
 * verifies, …) and one that fails leaves nothing behind.
 */
#include "fuzz.h"

#include "tee/dstack_client_internal.h"
#include "teeliza/common/encoding.h"
#include "teeliza/dcap/quote.h"

#include <jansson.h>
#include <string.h>

#define WHERE "dstack at unix:/fuzz.sock, Fuzz"

static bool all_zero(const void *p, size_t n)
{
	const uint8_t *b = p;
	size_t i;

	for (i = 0; i < n; i++)
		if (b[i] != 0)
			return false;
	return true;
}

static bool len_in(size_t n, size_t a, size_t b)
{
	return n == a || n == b;
}

static void check_key(json_t *reply, const char *alg_name)
{
	tee_dstack_alg alg;
	tee_dstack_key k;
	uint8_t pub[TEE_DSTACK_PUB_MAX];
	size_t pub_len;

	if (tee_dstack_key_alg_parse(&alg, alg_name, strlen(alg_name)) != TEELIZA_OK)
		return;
	if (dstack_parse_key(&k, reply, alg) != TEELIZA_OK) {
		FUZZ_CHECK(all_zero(&k, sizeof(k)));
		return;
	}
	FUZZ_CHECK(k.public_key_len == (alg == TEE_DSTACK_ALG_ED25519 ? 32u : 33u));
	FUZZ_CHECK(len_in(k.kms_signature_len, 0, 65));
	FUZZ_CHECK(tee_dstack_public_key(pub, &pub_len, alg, k.key) == TEELIZA_OK);
	FUZZ_CHECK(pub_len == k.public_key_len && memcmp(pub, k.public_key, pub_len) == 0);
}

static void check_quote(json_t *reply, const char *arg)
{
	uint8_t rd[64] = {0};
	size_t rd_len = 0;
	dstack_quote_reply q;
	dcap_quote parsed;
	const char *carried = json_string_value(json_object_get(reply, "report_data"));

	if (arg != NULL) {
		if (teeliza_hex_decode(rd, sizeof(rd), &rd_len, arg, strlen(arg), false) != TEELIZA_OK)
			return;
	} else if (carried != NULL) {
		if (teeliza_hex_decode(rd, sizeof(rd), &rd_len, carried, strlen(carried), true) != TEELIZA_OK)
			rd_len = 0;
	}
	if (dstack_parse_quote(&q, reply, rd, rd_len) != TEELIZA_OK) {
		FUZZ_CHECK(q.quote.data == NULL && q.event_log.data == NULL && q.vm_config == NULL);
		FUZZ_CHECK(q.events.log.count == 0 && q.events.log.events == NULL);
		return;
	}
	/* the asked data, zero-padded, in the quote */
	FUZZ_CHECK(memcmp(q.report_data, rd, rd_len) == 0 && all_zero(q.report_data + rd_len, 64 - rd_len));
	FUZZ_CHECK(q.quote.len <= DSTACK_QUOTE_MAX);
	FUZZ_CHECK(dcap_quote_parse(&parsed, q.quote.data, q.quote.len) == TEELIZA_OK);
	FUZZ_CHECK(parsed.header.tee_type == DCAP_TEE_TYPE_TDX);
	FUZZ_CHECK(memcmp(parsed.body.td.report_data, q.report_data, 64) == 0);
	FUZZ_CHECK(q.events.log.count <= TEE_DSTACK_EVENTS_MAX && q.event_log.len <= TEE_DSTACK_EVENT_LOG_MAX);
	FUZZ_CHECK(q.replay_matches == (tee_dstack_events_check_quote(&q.events, &parsed.body.td) == TEELIZA_OK));
	FUZZ_CHECK(q.replay_matches == (q.replay_error[0] == 0));
	FUZZ_CHECK(q.vm_config != NULL);
	dstack_quote_reply_free(&q);
}

static void check_attest(json_t *reply)
{
	teeliza_buf att;
	dstack_attestation_format fmt;

	if (dstack_parse_attest(&att, &fmt, reply) != TEELIZA_OK) {
		FUZZ_CHECK(att.data == NULL);
		return;
	}
	FUZZ_CHECK(att.len >= 1 && att.len <= DSTACK_ATTESTATION_MAX);
	FUZZ_CHECK((att.data[0] == 0) == (fmt == DSTACK_ATTESTATION_V0));
	teeliza_buf_free(&att);
}

static void check_tcb(const dstack_tcb_info *t, size_t text_len)
{
	FUZZ_CHECK(t->present == (text_len > 0));
	FUZZ_CHECK(len_in(t->mr_aggregated_len, 0, 32) && len_in(t->os_image_hash_len, 0, 32));
	FUZZ_CHECK(len_in(t->compose_hash_len, 0, 32) && len_in(t->device_id_len, 0, 32));
	FUZZ_CHECK(!t->replay_matches || (t->has_registers && memcmp(t->events.rtmr, t->rtmr, sizeof(t->rtmr)) == 0));
	FUZZ_CHECK(!t->present || t->app_compose != NULL);
	FUZZ_CHECK(t->events.log.count <= TEE_DSTACK_EVENTS_MAX);
}

static void check_info(json_t *reply, const uint8_t *raw, size_t raw_len)
{
	dstack_info info;

	if (dstack_parse_info(&info, reply, raw, raw_len) != TEELIZA_OK) {
		FUZZ_CHECK(info.app_name == NULL && info.tcb_info_text == NULL && info.raw.data == NULL);
		FUZZ_CHECK(info.tcb.app_compose == NULL && info.tcb.events.log.events == NULL);
		return;
	}
	FUZZ_CHECK(len_in(info.app_id_len, 0, 20) && len_in(info.instance_id_len, 0, 20));
	FUZZ_CHECK(len_in(info.device_id_len, 0, 32) && len_in(info.compose_hash_len, 0, 32));
	FUZZ_CHECK(info.app_name != NULL && info.app_cert != NULL && info.cloud_product != NULL);
	FUZZ_CHECK(info.raw.len == raw_len && memcmp(info.raw.data, raw, raw_len) == 0);
	check_tcb(&info.tcb, strlen(info.tcb_info_text));
	dstack_info_free(&info);
}

static void check_tcb_text(const uint8_t *body, size_t len)
{
	dstack_tcb_info t;
	dstack_info holder; /* dstack_info_free frees a tcb_info */

	if (dstack_parse_tcb_info(&t, (const char *)body, len) != TEELIZA_OK) {
		FUZZ_CHECK(t.app_compose == NULL && t.events.log.events == NULL && !t.present);
		return;
	}
	check_tcb(&t, len);
	memset(&holder, 0, sizeof(holder));
	holder.tcb = t;
	dstack_info_free(&holder);
}

static void check_tls(json_t *reply)
{
	dstack_tls_key k;
	size_t i;

	if (dstack_parse_tls_key(&k, reply) != TEELIZA_OK) {
		FUZZ_CHECK(k.key.data == NULL && k.certificate_chain == NULL && k.chain_len == 0);
		return;
	}
	FUZZ_CHECK(k.key.secret && k.key.len >= 27 && memcmp(k.key.data, "-----BEGIN PRIVATE KEY-----", 27) == 0);
	FUZZ_CHECK(k.chain_len >= 1 && k.chain_len <= DSTACK_CHAIN_MAX);
	for (i = 0; i < k.chain_len; i++)
		FUZZ_CHECK(memcmp(k.certificate_chain[i].data, "-----BEGIN CERTIFICATE-----", 27) == 0);
	dstack_tls_key_free(&k);
}

static void check_sign(json_t *reply, const char *alg_name, const char *data_hex)
{
	tee_dstack_alg alg;
	tee_dstack_signature s;
	uint8_t data[256];
	size_t data_len;
	bool valid = false;

	if (alg_name == NULL || data_hex == NULL || tee_dstack_sign_alg_parse(&alg, alg_name, strlen(alg_name)) != TEELIZA_OK ||
	    teeliza_hex_decode(data, sizeof(data), &data_len, data_hex, strlen(data_hex), false) != TEELIZA_OK)
		return;
	if (dstack_parse_sign(&s, reply, alg, data, data_len) != TEELIZA_OK) {
		FUZZ_CHECK(all_zero(&s, sizeof(s)));
		return;
	}
	FUZZ_CHECK(s.public_key_len == (alg == TEE_DSTACK_ALG_ED25519 ? 32u : 33u));
	FUZZ_CHECK(len_in(s.kms_signature_len, 0, 65));
	FUZZ_CHECK(tee_dstack_verify(&valid, alg, data, data_len, s.signature, 64, s.public_key, s.public_key_len) ==
	           TEELIZA_OK);
	FUZZ_CHECK(valid);
}

static void check_version(json_t *reply)
{
	dstack_version v;

	if (dstack_parse_version(&v, reply) != TEELIZA_OK) {
		FUZZ_CHECK(v.version[0] == 0 && v.rev[0] == 0);
		return;
	}
	FUZZ_CHECK(memchr(v.version, 0, sizeof(v.version)) != NULL && memchr(v.rev, 0, sizeof(v.rev)) != NULL);
}

static void check_verify(json_t *reply)
{
	bool valid = true;

	if (dstack_parse_verify(&valid, reply) != TEELIZA_OK) {
		FUZZ_CHECK(!valid);
		return;
	}
	FUZZ_CHECK(valid == json_is_true(json_object_get(reply, "valid")));
}

/* Split the header line into at most 4 words (method, status, args). */
static size_t words(char *line, char *w[4])
{
	size_t n = 0;
	char *save = NULL, *t;

	for (t = strtok_r(line, " ", &save); t != NULL && n < 4; t = strtok_r(NULL, " ", &save))
		w[n++] = t;
	return n;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	char line[512], *w[4] = {NULL, NULL, NULL, NULL};
	const uint8_t *body, *nl;
	size_t body_len, n;
	uint64_t status = 200;
	unsigned flags = 0;
	const char *method;
	json_t *reply = NULL;
	teeliza_err err;

	if (size > 0 && data[0] == '{') {
		method = "GetQuote";
		body = data;
		body_len = size;
	} else {
		nl = memchr(data, '\n', size < sizeof(line) ? size : sizeof(line));
		if (nl == NULL)
			return 0;
		memcpy(line, data, (size_t)(nl - data));
		line[nl - data] = 0;
		body = nl + 1;
		body_len = size - (size_t)(nl - data) - 1;
		n = words(line, w);
		if (n < 2 || teeliza_parse_u64(&status, w[1], 100, 599) != TEELIZA_OK)
			return 0;
		method = w[0];
	}
	if (strcmp(method, "TcbInfo") == 0) {
		check_tcb_text(body, body_len);
		return 0;
	}
	if (strcmp(method, "EmitEvent") == 0)
		flags |= DSTACK_CALL_NULL_OK;
	if (strcmp(method, "GetKey") == 0 || strcmp(method, "GetTlsKey") == 0)
		flags |= DSTACK_CALL_SECRET;

	err = dstack_reply_judge(&reply, (long)status, body, body_len, WHERE, flags);
	if (err) {
		FUZZ_CHECK(reply == NULL);
		FUZZ_CHECK(err == TEELIZA_ERR_REMOTE || err == TEELIZA_ERR_NOT_FOUND || err == TEELIZA_ERR_PROTOCOL);
		FUZZ_CHECK((status == 404) == (err == TEELIZA_ERR_NOT_FOUND));
		FUZZ_CHECK(strstr(teeliza_errmsg(), WHERE) != NULL);
		return 0;
	}
	FUZZ_CHECK(status >= 200 && status <= 299);
	if (reply == NULL) {
		FUZZ_CHECK((flags & DSTACK_CALL_NULL_OK) != 0);
		return 0;
	}
	FUZZ_CHECK(json_is_object(reply) && json_object_get(reply, "error") == NULL);

	if (strcmp(method, "GetKey") == 0)
		check_key(reply, w[2] != NULL ? w[2] : "secp256k1");
	else if (strcmp(method, "GetQuote") == 0)
		check_quote(reply, w[2]);
	else if (strcmp(method, "Attest") == 0)
		check_attest(reply);
	else if (strcmp(method, "Info") == 0)
		check_info(reply, body, body_len);
	else if (strcmp(method, "Version") == 0)
		check_version(reply);
	else if (strcmp(method, "GetTlsKey") == 0)
		check_tls(reply);
	else if (strcmp(method, "Sign") == 0)
		check_sign(reply, w[2], w[3]);
	else if (strcmp(method, "Verify") == 0)
		check_verify(reply);
	json_decref(reply);
	return 0;
}
