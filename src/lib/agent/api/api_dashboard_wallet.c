/*
 * One wallet's card on the dashboard: the attestation made when the wallet
 * was derived, with what its report_data binds (checked), its RTMRs, the
 * event log replayed against them, and the verifier's verdict.
 * docs/DASHBOARD.md describes the card.
 */
#include "agent/api/api_dashboard.h"
#include "agent/api/api_verifier.h"
#include "teeliza/common/encoding.h"
#include "teeliza/tee/attest.h"
#include "teeliza/tee/reportdata.h"
#include "teeliza/tee/rtmr.h"

#include <stdlib.h>
#include <string.h>
#include <time.h>

static json_t *hex_json(const uint8_t *p, size_t n)
{
	char *s = malloc(2 * n + 1);
	json_t *j;

	if (s == NULL)
		return NULL;
	teeliza_hex_encode(s, p, n);
	j = json_string(s);
	free(s);
	return j;
}

/* What report_data binds: the JSON whose SHA-512("app-data:" ‖ JSON) the quote carries, checked. */
static json_t *report_data_json(const agent_attestation *a, const uint8_t *in_quote)
{
	uint8_t expected[64];
	json_t *binds;
	bool ok;

	if (a->report_data_json == NULL)
		return json_pack("{s:n}", "json");
	ok = tee_report_data(expected, "sha512", "app-data", (const uint8_t *)a->report_data_json,
	                     strlen(a->report_data_json)) == TEELIZA_OK;
	binds = json_loads(a->report_data_json, 0, NULL);
	return json_pack("{s:s, s:o, s:s, s:o*, s:o*, s:b}", "json", a->report_data_json, "binds",
	                 binds != NULL ? binds : json_null(), "hash", "SHA-512(\"app-data:\" ‖ json)", "inQuote",
	                 in_quote != NULL ? hex_json(in_quote, 64) : NULL, "expected", ok ? hex_json(expected, 64) : NULL,
	                 "matches", ok && in_quote != NULL && memcmp(expected, in_quote, 64) == 0);
}

/* The event log as table rows, each with the running value of its RTMR after it; and the replay per RTMR. */
static teeliza_err event_rows(json_t *att, const agent_attestation *a, const uint8_t *const rtmr[4])
{
	tee_event_log log;
	uint8_t (*running)[TEE_RTMR_LEN] = NULL;
	uint8_t final[4][TEE_RTMR_LEN];
	json_t *rows = json_array(), *replay = json_array(), *row;
	size_t i;
	unsigned k;

	tee_event_log_init(&log);
	if (rows == NULL || replay == NULL)
		goto nomem;
	if (a->event_log == NULL || tee_event_log_parse(&log, a->event_log, strlen(a->event_log)) != TEELIZA_OK) {
		json_object_set_new(att, "eventLogError",
		                    json_string(a->event_log == NULL ? "no event log stored" : teeliza_errmsg()));
	} else if (log.count > 0) {
		running = calloc(log.count, sizeof(*running));
		if (running == NULL)
			goto nomem;
		tee_rtmr_replay_steps(running, &log);
	}
	memset(final, 0, sizeof(final));
	for (i = 0; i < log.count; i++) {
		const tee_event *e = &log.events[i];

		if (e->imr < 4)
			memcpy(final[e->imr], running[i], TEE_RTMR_LEN);
		row = json_pack("{s:I, s:I, s:I, s:s, s:o, s:o}", "index", (json_int_t)i, "imr", (json_int_t)e->imr,
		                "eventType", (json_int_t)e->event_type, "event", e->event != NULL ? e->event : "",
		                "digest", hex_json(e->digest, e->digest_len), "running", hex_json(running[i], TEE_RTMR_LEN));
		if (row == NULL || json_array_append_new(rows, row) != 0)
			goto nomem;
	}
	for (k = 0; k < 4; k++) {
		row = json_pack("{s:I, s:o, s:o*, s:b}", "rtmr", (json_int_t)k, "replayed", hex_json(final[k], TEE_RTMR_LEN),
		                "quoted", rtmr[k] != NULL ? hex_json(rtmr[k], TEE_RTMR_LEN) : NULL, "matches",
		                rtmr[k] != NULL && memcmp(final[k], rtmr[k], TEE_RTMR_LEN) == 0);
		if (row == NULL || json_array_append_new(replay, row) != 0)
			goto nomem;
	}
	json_object_set_new(att, "eventLog", rows);
	json_object_set_new(att, "replay", replay);
	free(running);
	tee_event_log_free(&log);
	return TEELIZA_OK;
nomem:
	json_decref(rows);
	json_decref(replay);
	free(running);
	tee_event_log_free(&log);
	return teeliza_set_error(TEELIZA_ERR_NOMEM, "out of memory");
}

/* The verdict on one of the agent's own quotes: collateral and root only from a simulator the agent knows. */
static teeliza_err verify_own_quote(json_t **verdict, unsigned *status, agent_api *api, const agent_attestation *a)
{
	api_verify_input in;

	memset(&in, 0, sizeof(in));
	in.quote = a->quote;
	in.quote_len = a->quote_len;
	in.now = (int64_t)time(NULL);
	return api_verify_quote(verdict, status, api->verifier, &in);
}

/* A card's label when there is no verdict: the verifier's own advice (which names only real flags). */
static void not_verified_label(json_t *verdict, unsigned status)
{
	const char *why = json_string_value(json_object_get(verdict, "error"));
	char label[1000];

	if (status == 422)
		snprintf(label, sizeof(label), "Not verified: %s; the RA explorer takes them", why != NULL ? why : "");
	else if (status == 502) /* the PCCS gave no collateral: nothing is known about the quote yet */
		snprintf(label, sizeof(label), "Not verified: %s", why != NULL ? why : "");
	else
		snprintf(label, sizeof(label), "Failed: %s", why != NULL ? why : "the quote does not parse");
	json_object_set_new(verdict, "label", json_string(label));
}

/*
 * Where the wallet's key came from. dstack: GetKey's path, purpose and
 * algorithm, and its chain walked link by link (tee_dstack_verify_key at
 * derive time): the key's public key, the app key recovered from chain[0],
 * the app id (from the quote's attested event log), the KMS root recovered
 * from chain[1], whether it is the pinned one, and the link that broke.
 * tappd: DeriveKey's keys have no KMS chain, and the card says so.
 */
static json_t *key_chain_json(const agent_tee_key_origin *o)
{
	const tee_dstack_key_report *r = &o->provenance;
	json_t *j;

	if (!o->dstack)
		return json_pack("{s:s, s:s}", "api", "tappd", "note",
		                 "tappd's DeriveKey returns a key with an X.509 certificate from the app's CA, but no KMS "
		                 "signature chain: there is no path to a KMS root to show or check");
	j = json_pack("{s:s, s:s, s:s, s:s}", "api", "dstack", "path", o->path, "purpose", o->purpose, "algorithm",
	              o->algorithm);
	if (j == NULL)
		return NULL;
	if (!o->have_provenance) {
		json_object_set_new(j, "verified", json_false());
		json_object_set_new(j, "brokenLink", json_string("input"));
		json_object_set_new(j, "message", json_string("the chain was not walked (no attestation)"));
		return j;
	}
	if (r->public_key_len > 0)
		json_object_set_new(j, "publicKey", hex_json(r->public_key, r->public_key_len));
	if (r->have_app_pub)
		json_object_set_new(j, "appKey", hex_json(r->app_pub, sizeof(r->app_pub)));
	if (r->have_app_id) {
		json_object_set_new(j, "appId", hex_json(r->app_id, sizeof(r->app_id)));
		json_object_set_new(j, "appIdFromEventLog", json_boolean(r->app_id_from_log));
		json_object_set_new(j, "eventLogBoundToQuote", json_boolean(r->log_bound));
	}
	if (r->have_root)
		json_object_set_new(j, "kmsRoot", hex_json(r->root_pub, sizeof(r->root_pub)));
	json_object_set_new(j, "kmsRootPinned", json_boolean(r->root_pinned));
	json_object_set_new(j, "verified", json_boolean(o->provenance_err == TEELIZA_OK));
	json_object_set_new(j, "brokenLink", o->provenance_err == TEELIZA_OK ? json_null()
	                                                                    : json_string(tee_dstack_link_name(r->broken)));
	json_object_set_new(j, "message", json_string(r->message));
	return j;
}

/* One wallet with its derive-time attestation: quote, report_data binding, RTMRs, event log, verdict. */
json_t *api_dashboard_wallet_json(agent_api *api, agent_runtime *rt, const agent_tee_key_origin *origin,
                                  const char *chain, const char *address, const char *quote_id)
{
	const uint8_t *rtmr[4] = {NULL, NULL, NULL, NULL}, *rd = NULL;
	agent_attestation a;
	json_t *w, *att, *rtmrs, *verdict = NULL;
	unsigned status = 0, k;
	char *hex;

	w = json_pack("{s:s, s:s, s:s}", "chain", chain, "address", address, "quoteId", quote_id);
	if (w == NULL)
		return NULL;
	json_object_set_new(w, "keyChain", key_chain_json(origin));
	memset(&a, 0, sizeof(a));
	if (agent_store_get_attestation(agent_runtime_store(rt), &a, quote_id) != TEELIZA_OK) {
		json_object_set_new(w, "attestationError", json_string(teeliza_errmsg()));
		return w;
	}
	hex = malloc(2 * a.quote_len + 3);
	att = json_object();
	rtmrs = json_array();
	if (hex == NULL || att == NULL || rtmrs == NULL) {
		free(hex);
		json_decref(att);
		json_decref(rtmrs);
		agent_attestation_clear(&a);
		json_decref(w);
		return NULL;
	}
	memcpy(hex, "0x", 2);
	teeliza_hex_encode(hex + 2, a.quote, a.quote_len);
	json_object_set_new(att, "createdAt", json_integer((json_int_t)a.created_at));
	json_object_set_new(att, "quote", json_string(hex));
	json_object_set_new(att, "quoteBytes", json_integer((json_int_t)a.quote_len));
	free(hex);
	if (tee_quote_td_fields(rtmr, &rd, a.quote, a.quote_len) != TEELIZA_OK) {
		json_object_set_new(att, "quoteError", json_string(teeliza_errmsg()));
		rd = NULL;
		memset(rtmr, 0, sizeof(rtmr));
	}
	for (k = 0; k < 4; k++)
		json_array_append_new(rtmrs, rtmr[k] != NULL ? hex_json(rtmr[k], TEE_RTMR_LEN) : json_null());
	json_object_set_new(att, "rtmrs", rtmrs);
	json_object_set_new(att, "reportData", report_data_json(&a, rd));
	if (event_rows(att, &a, rtmr) != TEELIZA_OK) {
		json_decref(att);
		json_decref(w);
		agent_attestation_clear(&a);
		return NULL;
	}
	if (verify_own_quote(&verdict, &status, api, &a) != TEELIZA_OK)
		verdict = json_pack("{s:s, s:s}", "verdict", "error", "label", teeliza_errmsg());
	else if (status != 200)
		not_verified_label(verdict, status);
	/* The decoded quote is in the RA explorer; the card keeps to the verdict. */
	if (verdict != NULL)
		json_object_del(verdict, "quote");
	json_object_set_new(att, "verdict", verdict != NULL ? verdict : json_null());
	json_object_set_new(w, "attestation", att);
	agent_attestation_clear(&a);
	return w;
}
