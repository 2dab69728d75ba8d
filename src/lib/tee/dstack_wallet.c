/*
 * Wallets from dstack's GetKey: the 32 key bytes used as they are (an
 * Ed25519 seed, a secp256k1 private key), attested through GetQuote with the
 * same report data tappd would compute, and the key's chain walked to the
 * KMS root with the app id the quote's event log attests.
 */
#include "teeliza/tee/dstack_wallet.h"
#include "teeliza/common/encoding.h"
#include "teeliza/tee/reportdata.h"

#include <assert.h>
#include <stdio.h>
#include <string.h>
#include <time.h>

static int64_t now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_REALTIME, &ts);
	return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

/* The replayed log in tappd's form, without the events that were only logged (never extended). */
static teeliza_err extended_log_json(teeliza_buf *out, const tee_dstack_events *ev)
{
	tee_event_log kept;
	size_t i;
	teeliza_err err = TEELIZA_OK;

	tee_event_log_init(&kept);
	for (i = 0; i < ev->log.count && !err; i++) {
		const tee_event *e = &ev->log.events[i];

		if (e->imr < 3 && e->event_type == TEE_DSTACK_EV_NO_ACTION)
			continue;
		err = tee_event_log_add(&kept, e->imr, e->event_type, e->digest, e->digest_len, e->event, e->payload,
		                        e->payload_len);
	}
	if (!err)
		err = tee_event_log_to_json(out, &kept);
	tee_event_log_free(&kept);
	return err;
}

teeliza_err tee_dstack_quote_exact(tee_attestation *a, teeliza_buf *raw_log, const dstack_client *c,
                                   const uint8_t report_data[64])
{
	dstack_quote_reply q;
	teeliza_err err;

	assert(a != NULL && c != NULL && report_data != NULL);
	memset(a, 0, sizeof(*a));
	teeliza_buf_init(&a->report_data, (size_t)16 << 20);
	teeliza_buf_init(&a->quote, 0);
	teeliza_buf_init(&a->event_log, (size_t)16 << 20);
	if (raw_log != NULL)
		teeliza_buf_init(raw_log, (size_t)16 << 20);
	err = dstack_get_quote(&q, c, report_data, 64);
	if (err)
		return err;
	if (!q.replay_matches)
		err = teeliza_set_error(TEELIZA_ERR_VERIFY, "the GetQuote event log does not replay to the quote: %s",
		                        q.replay_error);
	if (!err)
		err = extended_log_json(&a->event_log, &q.events);
	if (!err && raw_log != NULL)
		err = teeliza_buf_append(raw_log, q.event_log.data, q.event_log.len);
	if (!err) {
		memcpy(a->rtmr, q.events.rtmr, sizeof(a->rtmr));
		a->quote = q.quote;
		memset(&q.quote, 0, sizeof(q.quote));
		a->timestamp_ms = now_ms();
	}
	dstack_quote_reply_free(&q);
	return err;
}

teeliza_err tee_dstack_remote_attestation(tee_attestation *a, teeliza_buf *raw_log, const dstack_client *c,
                                          const char *data, size_t len)
{
	uint8_t rd[64];
	teeliza_err err;

	assert(a != NULL && c != NULL && (data != NULL || len == 0));
	err = tee_report_data(rd, "sha512", "app-data", (const uint8_t *)data, len);
	if (err) {
		/* what the caller frees must be initialised, also after this failure */
		memset(a, 0, sizeof(*a));
		teeliza_buf_init(&a->report_data, 0);
		teeliza_buf_init(&a->quote, 0);
		teeliza_buf_init(&a->event_log, 0);
		if (raw_log != NULL)
			teeliza_buf_init(raw_log, 0);
		return err;
	}
	err = tee_dstack_quote_exact(a, raw_log, c, rd);
	if (!err)
		err = teeliza_buf_append(&a->report_data, len ? data : "", len);
	return err;
}

static teeliza_err copy_field(char *out, size_t out_size, const char *what, const char *s)
{
	size_t n = s != NULL ? strlen(s) : 0;

	if (n >= out_size)
		return teeliza_set_error(TEELIZA_ERR_TOO_LARGE, "GetKey %s is %zu bytes, at most %zu accepted", what, n,
		                         out_size - 1);
	memcpy(out, n ? s : "", n);
	out[n] = 0;
	return TEELIZA_OK;
}

static teeliza_err wallet_start(tee_wallet *w, tee_key_scheme scheme, tee_chain chain, const char *agent_id,
                                bool attest)
{
	memset(w, 0, sizeof(*w));
	teeliza_buf_init(&w->der, 64);
	w->der.secret = true;
	w->scheme = scheme;
	w->chain = chain;
	w->dstack = true;
	if (agent_id == NULL || agent_id[0] == 0)
		return attest ? teeliza_set_error(TEELIZA_ERR_INVALID, "an agent id is required for the attestation")
		              : TEELIZA_OK;
	return copy_field(w->agent_id, sizeof(w->agent_id), "agent id", agent_id);
}

/* The chain's keypair from the 32 bytes; raw: "0x" ‖ the GetKey public key. */
static teeliza_err keypair(tee_wallet *w)
{
	teeliza_err err;

	switch (w->chain) {
	case TEE_CHAIN_SOLANA:
		err = tee_solana_from_seed(&w->solana, w->key.key);
		if (!err)
			memcpy(w->address, w->solana.address, sizeof(w->solana.address));
		return err;
	case TEE_CHAIN_EVM:
		err = tee_evm_from_private(&w->evm, w->key.key);
		if (!err)
			memcpy(w->address, w->evm.address, sizeof(w->evm.address));
		return err;
	case TEE_CHAIN_RAW:
		w->address[0] = '0';
		w->address[1] = 'x';
		teeliza_hex_encode(w->address + 2, w->key.public_key, w->key.public_key_len);
		return TEELIZA_OK;
	}
	return teeliza_set_error(TEELIZA_ERR_INVALID, "unknown chain %d", (int)w->chain);
}

/* The chain, with the app id from the attested log bound to the quote's RTMR3. */
static void walk_chain(tee_wallet *w, const teeliza_buf *raw_log, const char *kms_root_hex)
{
	const uint8_t *rtmr[4], *rd;
	dstack_trust trust;

	memset(&trust, 0, sizeof(trust));
	trust.kms_root_hex = kms_root_hex;
	trust.event_log = (const char *)raw_log->data;
	trust.event_log_len = raw_log->len;
	if (tee_quote_td_fields(rtmr, &rd, w->attestation.quote.data, w->attestation.quote.len) == TEELIZA_OK)
		trust.rtmr3 = rtmr[3];
	w->provenance_err = dstack_key_provenance(&w->provenance, &w->key, w->key_algorithm, w->key_purpose, &trust);
	w->have_provenance = true;
}

static teeliza_err wallet_from_getkey(tee_wallet *w, const dstack_client *c, bool attest, const char *kms_root_hex)
{
	teeliza_buf json, raw_log;
	teeliza_err err;

	err = dstack_get_key(&w->key, c, w->key_path, w->key_purpose, w->key_algorithm);
	if (!err)
		err = teeliza_buf_append(&w->der, w->key.key, sizeof(w->key.key));
	if (!err)
		err = keypair(w);
	if (err || !attest)
		return err;
	teeliza_buf_init(&json, 0);
	teeliza_buf_init(&raw_log, 0);
	err = tee_derive_attestation_json(&json, w->agent_id, w->address);
	if (!err)
		err = tee_dstack_remote_attestation(&w->attestation, &raw_log, c, (const char *)json.data, json.len);
	if (!err) {
		w->attested = true;
		walk_chain(w, &raw_log, kms_root_hex);
	}
	teeliza_buf_free(&json);
	teeliza_buf_free(&raw_log);
	return err;
}

teeliza_err tee_dstack_derive_wallet(tee_wallet *w, const dstack_client *c, tee_key_scheme scheme, tee_chain chain,
                                     const char *salt, const char *agent_id, bool attest, const char *kms_root_hex)
{
	teeliza_buf path, purpose;
	teeliza_err err;

	assert(w != NULL && c != NULL);
	err = wallet_start(w, scheme, chain, agent_id, attest);
	if (err)
		return err;
	if (scheme == TEE_SCHEME_DSTACK_SDK)
		return teeliza_set_error(TEELIZA_ERR_CONFIG, "the dstack-sdk scheme needs the GetKey path used with the "
		                                             "JS SDK (teeliza derive --path P [--purpose Q])");
	if (scheme != TEE_SCHEME_DSTACK)
		return teeliza_set_error(TEELIZA_ERR_INVALID, "key scheme %s asks tappd's DeriveKey, not dstack's GetKey",
		                         tee_key_scheme_name(scheme));
	err = tee_scheme_request(&path, &purpose, scheme, salt, agent_id, chain);
	if (!err)
		err = copy_field(w->key_path, sizeof(w->key_path), "path", (const char *)path.data);
	if (!err)
		err = copy_field(w->key_purpose, sizeof(w->key_purpose), "purpose", (const char *)purpose.data);
	teeliza_buf_free(&path);
	teeliza_buf_free(&purpose);
	if (!err)
		err = copy_field(w->key_algorithm, sizeof(w->key_algorithm), "algorithm",
		                 tee_dstack_scheme_algorithm(scheme, chain));
	if (!err)
		err = wallet_from_getkey(w, c, attest, kms_root_hex);
	return err;
}

teeliza_err tee_dstack_derive_wallet_path(tee_wallet *w, const dstack_client *c, const char *path,
                                          const char *purpose, const char *algorithm, tee_chain chain,
                                          const char *agent_id, bool attest, const char *kms_root_hex)
{
	teeliza_err err;

	assert(w != NULL && c != NULL && path != NULL);
	err = wallet_start(w, TEE_SCHEME_DSTACK_SDK, chain, agent_id, attest);
	if (!err)
		err = copy_field(w->key_path, sizeof(w->key_path), "path", path);
	if (!err)
		err = copy_field(w->key_purpose, sizeof(w->key_purpose), "purpose", purpose);
	if (!err)
		err = copy_field(w->key_algorithm, sizeof(w->key_algorithm), "algorithm",
		                 algorithm != NULL ? algorithm : "secp256k1");
	if (!err)
		err = wallet_from_getkey(w, c, attest, kms_root_hex);
	return err;
}

static tee_api scheme_api(tee_key_scheme s)
{
	return tee_key_scheme_is_dstack(s) ? TEE_API_DSTACK : TEE_API_TAPPD;
}

teeliza_err tee_wallet_choose(tee_wallet_choice *out, const tee_endpoint_env *env, const char *scheme_setting)
{
	tee_endpoint_env e;
	tee_api given;
	teeliza_err err;

	assert(out != NULL && env != NULL);
	memset(out, 0, sizeof(*out));
	e = *env;
	out->scheme_explicit = scheme_setting != NULL && scheme_setting[0] != 0;
	if (out->scheme_explicit) {
		if (tee_key_scheme_parse(&out->scheme, scheme_setting) != TEELIZA_OK) {
			char why[400];

			snprintf(why, sizeof(why), "%s", teeliza_errmsg());
			return teeliza_set_error(TEELIZA_ERR_CONFIG, "TEE_KEY_SCHEME: %s", why);
		}
		/* TEE_MODE is judged first (tee_endpoint_choose), then TEE_API, then the contradiction. */
		if (e.tee_api != NULL && e.tee_api[0] != 0 && tee_api_parse(&given, e.tee_api) == TEELIZA_OK &&
		    given != scheme_api(out->scheme)) {
			err = tee_endpoint_choose(&out->endpoint, &e);
			if (err)
				return err == TEELIZA_ERR_INVALID ? teeliza_set_error(TEELIZA_ERR_CONFIG, "%s", teeliza_errmsg())
				                                  : err;
			return teeliza_set_error(TEELIZA_ERR_CONFIG,
			                         "TEE_KEY_SCHEME=%s needs the %s API, but TEE_API=%s: unset one of them, or "
			                         "make them agree (docs/DSTACK.md, \"Which key scheme\")",
			                         tee_key_scheme_name(out->scheme), tee_api_name(scheme_api(out->scheme)),
			                         tee_api_name(given));
		}
		if (e.tee_api == NULL || e.tee_api[0] == 0)
			e.tee_api = tee_api_name(scheme_api(out->scheme));
	}
	err = tee_endpoint_choose(&out->endpoint, &e);
	if (err)
		return err == TEELIZA_ERR_INVALID ? teeliza_set_error(TEELIZA_ERR_CONFIG, "%s", teeliza_errmsg()) : err;
	if (out->scheme_explicit) {
		snprintf(out->scheme_line, sizeof(out->scheme_line), "TEE: key scheme %s (TEE_KEY_SCHEME), %s API",
		         tee_key_scheme_name(out->scheme), tee_api_name(out->endpoint.api));
	} else {
		out->scheme = out->endpoint.api == TEE_API_DSTACK ? TEE_SCHEME_DSTACK : TEE_SCHEME_TEELIZA;
		snprintf(out->scheme_line, sizeof(out->scheme_line),
		         "TEE: key scheme %s (TEE_KEY_SCHEME unset: the default of the %s API)",
		         tee_key_scheme_name(out->scheme), tee_api_name(out->endpoint.api));
	}
	return TEELIZA_OK;
}
