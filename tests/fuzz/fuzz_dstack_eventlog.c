/*
 * Fuzz the dstack event-log parser (tee_dstack_events_parse), its replay and
 * identity extraction, and the key-provenance walk that reads the log.
 * Input: an event-log JSON array, or a whole GetQuote response (an object
 * with "event_log" and "quote"), whose log is checked against its quote.
 */
#include "fuzz.h"

#include "teeliza/dcap/quote.h"
#include "teeliza/tee/app_identity.h"
#include "teeliza/tee/dstack_events.h"
#include "teeliza/tee/dstack_provenance.h"
#include "teeliza/common/encoding.h"

#include <jansson.h>
#include <string.h>

/* The simulator's GetKey("/test/path", "test-purpose") answer: a valid claim to walk with the log. */
static const char *const sim_chain[2] = {
	"f50c51735a97072f0c98125ed61fc84e2fdb36e95990b9e57337dadc0e2a9712227f04e07209faecb8891d59ec144a6c13e411dc90b3423f28071bd3fe11978d01",
	"9e618603e72d01fedb82deff6daf2d62a572becf0059eec3f89c1ab40e1f2e594d2a283f843f34e8f39e4cc49a612496ce67223a12ac923f8efe330346dfc6c500",
};
static const uint8_t sim_app_id[20] = {0x5b, 0xb4, 0xff, 0x9a, 0x38, 0x37, 0x35, 0x7f, 0x19, 0xdc,
                                       0x17, 0x64, 0x07, 0xa5, 0x70, 0x9c, 0x62, 0xeb, 0x6c, 0x56};

/* What a successful parse promises. */
static void check_events(const tee_dstack_events *ev)
{
	uint8_t mr[4][TEE_RTMR_LEN] = {{0}}, d[TEE_DSTACK_DIGEST_LEN];
	size_t i, runtime = 0;
	bool no_action = false;
	int id;

	FUZZ_CHECK(ev->log.count <= TEE_DSTACK_EVENTS_MAX);
	FUZZ_CHECK(ev->stripped_count + ev->mismatch_count <= ev->runtime_count);
	FUZZ_CHECK((ev->mismatch_count == 0) == (ev->first_mismatch == SIZE_MAX));
	for (i = 0; i < ev->log.count; i++) {
		const tee_event *e = &ev->log.events[i];

		FUZZ_CHECK(e->imr < 4 && e->digest_len == TEE_DSTACK_DIGEST_LEN && e->event != NULL);
		FUZZ_CHECK((e->imr == 3) == (e->event_type == TEE_DSTACK_RUNTIME_EVENT_TYPE));
		if (e->imr == 3) {
			runtime++;
			/* the digest kept is the recomputed one, whatever the log carried */
			tee_dstack_event_digest(d, e->event, strlen(e->event), e->payload, e->payload_len);
			FUZZ_CHECK(memcmp(d, e->digest, sizeof(d)) == 0);
		} else if (e->event_type == TEE_DSTACK_EV_NO_ACTION) {
			no_action = true;
			continue;
		}
		tee_dstack_rtmr_extend(mr[e->imr], e->digest);
	}
	FUZZ_CHECK(runtime == ev->runtime_count);
	FUZZ_CHECK(memcmp(mr, ev->rtmr, sizeof(mr)) == 0);
	if (!no_action) {
		tee_rtmr_replay(mr, &ev->log);
		FUZZ_CHECK(memcmp(mr, ev->rtmr, sizeof(mr)) == 0);
	}
	FUZZ_CHECK(ev->system_ready == SIZE_MAX ||
	           (ev->system_ready < ev->log.count && strcmp(ev->log.events[ev->system_ready].event, "system-ready") == 0));
	for (id = 0; id < TEE_DSTACK_IDENT__COUNT; id++) {
		const tee_event *e = tee_dstack_events_ident(ev, (tee_dstack_ident)id);

		if (e == NULL)
			continue;
		FUZZ_CHECK(ev->ident[id] < ev->system_ready);
		FUZZ_CHECK(e->imr == 3 && strcmp(e->event, tee_dstack_ident_name((tee_dstack_ident)id)) == 0);
		if (id == TEE_DSTACK_IDENT_APP_ID)
			FUZZ_CHECK(e->payload_len == 20);
	}
}

/* Serialised (with the recomputed digests) and parsed again: the same log, nothing stripped or mismatched. */
static void check_roundtrip(const tee_dstack_events *ev)
{
	tee_dstack_events again;
	teeliza_buf text;
	int id;

	teeliza_buf_init(&text, 64u << 20);
	FUZZ_CHECK(tee_event_log_to_json(&text, &ev->log) == TEELIZA_OK);
	if (text.len > TEE_DSTACK_EVENT_LOG_MAX) { /* hex digests can outgrow the cap */
		teeliza_buf_free(&text);
		return;
	}
	FUZZ_CHECK(tee_dstack_events_parse(&again, (const char *)text.data, text.len) == TEELIZA_OK);
	FUZZ_CHECK(again.log.count == ev->log.count && again.runtime_count == ev->runtime_count);
	FUZZ_CHECK(again.mismatch_count == 0 && again.stripped_count == 0);
	FUZZ_CHECK(memcmp(again.rtmr, ev->rtmr, sizeof(ev->rtmr)) == 0);
	FUZZ_CHECK(again.system_ready == ev->system_ready);
	for (id = 0; id < TEE_DSTACK_IDENT__COUNT; id++)
		FUZZ_CHECK(again.ident[id] == ev->ident[id]);
	tee_dstack_events_free(&again);
	teeliza_buf_free(&text);
}

/* The provenance walk with this log as evidence: only log-related links may break. */
static void check_provenance(const char *log, size_t len, const tee_dstack_events *ev)
{
	tee_dstack_key_claim c = {
		.algorithm = "secp256k1",
		.purpose = "test-purpose",
		.purpose_len = 12,
		.public_key_hex = "02c1082e78670feed1c847db81dbd71be37e4d53200a746c0a89f0afa8173cf566",
		.chain_hex = sim_chain,
		.chain_len = 2,
		.kms_root_hex = "0321529e458424ab1f710a3a57ec4dad2fb195ddca572f7469242ba6c7563085b6",
		.event_log = log,
		.event_log_len = len,
		.rtmr3 = ev->rtmr[3],
	};
	tee_dstack_key_report r;
	teeliza_err err = tee_dstack_verify_key(&r, &c);
	const tee_event *app = tee_dstack_events_ident(ev, TEE_DSTACK_IDENT_APP_ID);

	FUZZ_CHECK(r.have_app_pub);
	if (app == NULL) {
		FUZZ_CHECK(err == TEELIZA_ERR_VERIFY && r.broken == TEE_DSTACK_LINK_EVENT_LOG);
		return;
	}
	FUZZ_CHECK(r.app_id_from_log && r.log_bound && memcmp(r.app_id, app->payload, 20) == 0);
	if (memcmp(app->payload, sim_app_id, 20) == 0)
		FUZZ_CHECK(err == TEELIZA_OK && r.broken == TEE_DSTACK_LINK_NONE);
	else
		FUZZ_CHECK(err == TEELIZA_ERR_VERIFY && r.broken == TEE_DSTACK_LINK_KMS_ROOT);
}

/* The app identity read from a log that parsed: what its events say, and only against its own RTMR3. */
static void check_identity(const char *log, size_t len, const tee_dstack_events *ev)
{
	tee_app_identity id;
	tee_identity_policy p = {0};
	uint8_t other[TEE_RTMR_LEN];
	const tee_event *e;
	teeliza_err err = tee_app_identity_check(&id, log, len, ev->rtmr[3], NULL);

	if (err) { /* only a key-provider payload that is not short UTF-8 text */
		e = tee_dstack_events_ident(ev, TEE_DSTACK_IDENT_KEY_PROVIDER);
		FUZZ_CHECK(err == TEELIZA_ERR_PARSE && e != NULL);
		return;
	}
	e = tee_dstack_events_ident(ev, TEE_DSTACK_IDENT_APP_ID);
	FUZZ_CHECK(id.has_app_id == (e != NULL) && (e == NULL || memcmp(id.app_id, e->payload, 20) == 0));
	e = tee_dstack_events_ident(ev, TEE_DSTACK_IDENT_COMPOSE_HASH);
	FUZZ_CHECK(id.has_compose_hash == (e != NULL) && (e == NULL || memcmp(id.compose_hash, e->payload, 32) == 0));
	e = tee_dstack_events_ident(ev, TEE_DSTACK_IDENT_KEY_PROVIDER);
	FUZZ_CHECK(id.has_key_provider == (e != NULL) && (e == NULL || id.key_provider_len == e->payload_len));
	FUZZ_CHECK(id.system_ready == (ev->system_ready != SIZE_MAX));
	/* what it read is what it accepts */
	p.expect_app_id = id.has_app_id ? id.app_id : NULL;
	p.expect_compose_hash = id.has_compose_hash ? id.compose_hash : NULL;
	p.expect_os_image_hash = id.has_os_image_hash ? id.os_image_hash : NULL;
	p.expect_key_provider = id.has_key_provider && id.key_provider[0] == '{' ? id.key_provider : NULL;
	FUZZ_CHECK(tee_app_identity_check(NULL, log, len, ev->rtmr[3], &p) == TEELIZA_OK);
	/* and any other RTMR3 is refused */
	memcpy(other, ev->rtmr[3], TEE_RTMR_LEN);
	other[0] ^= 1;
	FUZZ_CHECK(tee_app_identity_check(NULL, log, len, other, NULL) == TEELIZA_ERR_VERIFY);
}

static void run_log(const char *log, size_t len, const uint8_t *quote, size_t quote_len)
{
	tee_dstack_events ev;
	dcap_quote q;
	uint8_t agg[32];

	if (tee_dstack_events_parse(&ev, log, len) != TEELIZA_OK) {
		FUZZ_CHECK(ev.log.count == 0 && ev.log.events == NULL && ev.runtime_count == 0);
		return;
	}
	check_events(&ev);
	check_roundtrip(&ev);
	check_provenance(log, len, &ev);
	check_identity(log, len, &ev);
	if (quote != NULL && dcap_quote_parse(&q, quote, quote_len) == TEELIZA_OK &&
	    q.header.tee_type == DCAP_TEE_TYPE_TDX) {
		if (tee_dstack_events_check_quote(&ev, &q.body.td) == TEELIZA_OK)
			FUZZ_CHECK(memcmp(ev.rtmr[3], q.body.td.rtmr[3], TEE_RTMR_LEN) == 0);
		tee_dstack_mr_aggregated(agg, &q.body.td, ev.rtmr[3]);
	}
	tee_dstack_events_free(&ev);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	size_t i = 0;
	json_t *root, *log, *quote_hex;
	teeliza_buf quote;

	while (i < size && (data[i] == ' ' || data[i] == '\n' || data[i] == '\t' || data[i] == '\r'))
		i++;
	if (i == size || data[i] != '{') {
		run_log((const char *)data, size, NULL, 0);
		return 0;
	}
	/* a GetQuote response */
	root = json_loadb((const char *)data, size, 0, NULL);
	log = json_object_get(root, "event_log");
	if (!json_is_string(log)) {
		json_decref(root);
		return 0;
	}
	teeliza_buf_init(&quote, 1u << 20);
	quote_hex = json_object_get(root, "quote");
	if (!json_is_string(quote_hex) ||
	    teeliza_hex_decode_buf(&quote, json_string_value(quote_hex), json_string_length(quote_hex), true) != TEELIZA_OK)
		teeliza_buf_reset(&quote);
	run_log(json_string_value(log), json_string_length(log), quote.len ? quote.data : NULL, quote.len);
	teeliza_buf_free(&quote);
	json_decref(root);
	return 0;
}
