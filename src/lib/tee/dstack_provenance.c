/*
 * tee_dstack_verify_key: the walk from a GetKey key up to a pinned KMS root,
 * stopping at the first link that breaks and keeping what it recovered on the
 * way for display.
 */
#include "teeliza/tee/dstack_provenance.h"
#include "teeliza/tee/dstack_events.h"
#include "teeliza/common/encoding.h"
#include "tee/dstack_internal.h"

#include <assert.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

static const char *const link_names[] = {
	[TEE_DSTACK_LINK_NONE] = "none",
	[TEE_DSTACK_LINK_INPUT] = "input",
	[TEE_DSTACK_LINK_KEY] = "key",
	[TEE_DSTACK_LINK_APP_SIGNATURE] = "app-signature",
	[TEE_DSTACK_LINK_EVENT_LOG] = "event-log",
	[TEE_DSTACK_LINK_APP_ID] = "app-id",
	[TEE_DSTACK_LINK_KMS_SIGNATURE] = "kms-signature",
	[TEE_DSTACK_LINK_KMS_ROOT] = "kms-root",
};

const char *tee_dstack_link_name(tee_dstack_link link)
{
	if ((unsigned)link >= sizeof(link_names) / sizeof(link_names[0]))
		return "unknown";
	return link_names[link];
}

/* Record the broken link and its message in the report and as the thread's error. */
TEELIZA_PRINTF(4, 5)
static teeliza_err broke(tee_dstack_key_report *out, tee_dstack_link link, teeliza_err err, const char *fmt, ...)
{
	char detail[sizeof(out->message) - 32];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(detail, sizeof(detail), fmt, ap);
	va_end(ap);
	out->broken = link;
	/* link names are at most 13 characters, so the detail always fits */
	snprintf(out->message, sizeof(out->message), "%s: %s", link_names[link], detail);
	return teeliza_set_error(err, "%s", out->message);
}

/* Exactly want bytes of hex (one optional "0x"); false with the decoder's words in why. */
static bool hex_exact(uint8_t *dst, size_t want, const char *hex, char *why, size_t why_len)
{
	size_t got = 0, len = strlen(hex);
	teeliza_err err = teeliza_hex_decode(dst, want, &got, hex, len, true);

	if (err == TEELIZA_ERR_TOO_LARGE) /* well-formed hex, too long */
		got = (len - (hex[0] == '0' && (hex[1] == 'x' || hex[1] == 'X') ? 2 : 0)) / 2;
	else if (err) {
		snprintf(why, why_len, "%s", teeliza_errmsg());
		return false;
	}
	if (got != want) {
		snprintf(why, why_len, "%zu bytes, must be %zu", got, want);
		return false;
	}
	return true;
}

/* A given public key, as the 33 compressed (secp256k1) or 32 (ed25519) bytes the chain signs. */
static teeliza_err given_public_key(tee_dstack_key_report *out, uint8_t pub[TEE_DSTACK_PUB_MAX], size_t *pub_len,
                                    const char *hex)
{
	uint8_t raw[65];
	size_t got = 0, len = TEE_DSTACK_K256_PUB_LEN;
	secp256k1_pubkey pk;

	if (teeliza_hex_decode(raw, sizeof(raw), &got, hex, strlen(hex), true) != TEELIZA_OK)
		return broke(out, TEE_DSTACK_LINK_INPUT, TEELIZA_ERR_INVALID, "public key: %s", teeliza_errmsg());
	if (out->alg == TEE_DSTACK_ALG_ED25519) {
		if (got != TEE_DSTACK_ED25519_PUB_LEN)
			return broke(out, TEE_DSTACK_LINK_INPUT, TEELIZA_ERR_INVALID,
			             "public key: %zu bytes, an ed25519 key has 32", got);
		memcpy(pub, raw, got);
		*pub_len = got;
		return TEELIZA_OK;
	}
	/* The chain signs the compressed form; an uncompressed key is the same key. */
	if (!((got == 33 && (raw[0] == 2 || raw[0] == 3)) || (got == 65 && raw[0] == 4)) ||
	    !secp256k1_ec_pubkey_parse(secp256k1_context_static, &pk, raw, got) ||
	    !secp256k1_ec_pubkey_serialize(secp256k1_context_static, pub, &len, &pk, SECP256K1_EC_COMPRESSED))
		return broke(out, TEE_DSTACK_LINK_INPUT, TEELIZA_ERR_INVALID,
		             "public key: not a secp256k1 point in SEC1 form (33 bytes 02/03… or 65 bytes 04…)");
	*pub_len = TEE_DSTACK_K256_PUB_LEN;
	return TEELIZA_OK;
}

struct decoded {
	uint8_t key[TEE_DSTACK_KEY_LEN];
	bool have_key;
	uint8_t pub[TEE_DSTACK_PUB_MAX];
	size_t pub_len;
	uint8_t chain[2][TEE_DSTACK_CHAIN_SIG_LEN];
	bool no_kms_signature; /* chain[1] is "": a local key provider, no KMS */
	uint8_t root[TEE_DSTACK_K256_PUB_LEN];
};

/* Link "input": everything decodes and has the right size. */
static teeliza_err decode_claim(tee_dstack_key_report *out, struct decoded *d, const tee_dstack_key_claim *c)
{
	const char *alg = c->algorithm ? c->algorithm : "secp256k1";
	char why[160];
	secp256k1_pubkey pk;
	size_t i;
	teeliza_err err;

	if (tee_dstack_key_alg_parse(&out->alg, alg, strlen(alg)) != TEELIZA_OK)
		return broke(out, TEE_DSTACK_LINK_INPUT, TEELIZA_ERR_INVALID,
		             "algorithm \"%.40s\" is not one GetKey accepts (secp256k1, k256, \"\", ed25519)", alg);
	if (c->key_hex == NULL && c->public_key_hex == NULL)
		return broke(out, TEE_DSTACK_LINK_INPUT, TEELIZA_ERR_INVALID, "neither the key nor its public key given");
	if (c->key_hex != NULL) {
		if (!hex_exact(d->key, sizeof(d->key), c->key_hex, why, sizeof(why)))
			return broke(out, TEE_DSTACK_LINK_INPUT, TEELIZA_ERR_INVALID, "key: %s", why);
		d->have_key = true;
	}
	if (c->public_key_hex != NULL) {
		err = given_public_key(out, d->pub, &d->pub_len, c->public_key_hex);
		if (err)
			return err;
	}
	if (c->chain_len != 2)
		return broke(out, TEE_DSTACK_LINK_INPUT, TEELIZA_ERR_INVALID,
		             "the signature chain has %zu elements, GetKey's has 2 (app, KMS)", c->chain_len);
	for (i = 0; i < 2; i++) {
		if (c->chain_hex[i] == NULL)
			return broke(out, TEE_DSTACK_LINK_INPUT, TEELIZA_ERR_INVALID, "chain[%zu] is missing", i);
		if (i == 1 && c->chain_hex[i][0] == '\0') {
			d->no_kms_signature = true;
			continue;
		}
		if (!hex_exact(d->chain[i], TEE_DSTACK_CHAIN_SIG_LEN, c->chain_hex[i], why, sizeof(why)))
			return broke(out, TEE_DSTACK_LINK_INPUT, TEELIZA_ERR_INVALID, "chain[%zu]: %s (r ‖ s ‖ recid)", i,
			             why);
	}
	if (c->app_id_hex != NULL) {
		if (!hex_exact(out->app_id, TEE_DSTACK_APP_ID_LEN, c->app_id_hex, why, sizeof(why)))
			return broke(out, TEE_DSTACK_LINK_INPUT, TEELIZA_ERR_INVALID, "app id: %s", why);
		out->have_app_id = true;
	}
	if (c->kms_root_hex != NULL) {
		if (!hex_exact(d->root, TEE_DSTACK_K256_PUB_LEN, c->kms_root_hex, why, sizeof(why)))
			return broke(out, TEE_DSTACK_LINK_INPUT, TEELIZA_ERR_INVALID, "pinned KMS root: %s", why);
		if ((d->root[0] != 2 && d->root[0] != 3) ||
		    !secp256k1_ec_pubkey_parse(secp256k1_context_static, &pk, d->root, sizeof(d->root)))
			return broke(out, TEE_DSTACK_LINK_INPUT, TEELIZA_ERR_INVALID,
			             "pinned KMS root: not a compressed secp256k1 point");
		out->root_pinned = true;
	}
	if (c->event_log == NULL && c->event_log_len != 0)
		return broke(out, TEE_DSTACK_LINK_INPUT, TEELIZA_ERR_INVALID, "event log length without a log");
	return TEELIZA_OK;
}

/* Link "key": the key gives the stated public key. */
static teeliza_err check_key(tee_dstack_key_report *out, struct decoded *d)
{
	uint8_t pub[TEE_DSTACK_PUB_MAX];
	size_t pub_len = 0;
	char a[2 * TEE_DSTACK_PUB_MAX + 1], b[2 * TEE_DSTACK_PUB_MAX + 1];

	if (d->have_key) {
		if (tee_dstack_public_key(pub, &pub_len, out->alg, d->key) != TEELIZA_OK)
			return broke(out, TEE_DSTACK_LINK_KEY, TEELIZA_ERR_VERIFY, "the key is not a valid %s key: %s",
			             tee_dstack_alg_name(out->alg), teeliza_errmsg());
		if (d->pub_len != 0 && (pub_len != d->pub_len || memcmp(pub, d->pub, pub_len) != 0)) {
			teeliza_hex_encode(a, pub, pub_len);
			teeliza_hex_encode(b, d->pub, d->pub_len);
			memcpy(out->public_key, pub, pub_len);
			out->public_key_len = pub_len;
			return broke(out, TEE_DSTACK_LINK_KEY, TEELIZA_ERR_VERIFY,
			             "the key's %s public key is %s, not the stated %s", tee_dstack_alg_name(out->alg), a, b);
		}
		memcpy(d->pub, pub, pub_len);
		d->pub_len = pub_len;
	}
	memcpy(out->public_key, d->pub, d->pub_len);
	out->public_key_len = d->pub_len;
	return TEELIZA_OK;
}

/* Links "event-log" and "app-id": the app id to check chain[1] with. */
static teeliza_err settle_app_id(tee_dstack_key_report *out, const tee_dstack_key_claim *c)
{
	tee_dstack_events ev;
	const tee_event *app;
	char given[41], attested[41];
	teeliza_err err;

	if (c->event_log == NULL) {
		if (!out->have_app_id)
			return broke(out, TEE_DSTACK_LINK_APP_ID, TEELIZA_ERR_INVALID,
			             "no app id: give it, or an event log whose app-id event attests it");
		return TEELIZA_OK;
	}
	err = tee_dstack_events_parse(&ev, c->event_log, c->event_log_len);
	if (err)
		return broke(out, TEE_DSTACK_LINK_EVENT_LOG, err, "%s", teeliza_errmsg());
	if (c->rtmr3 != NULL && memcmp(ev.rtmr[3], c->rtmr3, TEE_RTMR_LEN) != 0) {
		tee_dstack_events_free(&ev);
		return broke(out, TEE_DSTACK_LINK_EVENT_LOG, TEELIZA_ERR_VERIFY,
		             "the runtime events do not replay to the quoted RTMR3, so the log attests nothing");
	}
	out->log_bound = c->rtmr3 != NULL;
	app = tee_dstack_events_ident(&ev, TEE_DSTACK_IDENT_APP_ID);
	if (app == NULL) {
		tee_dstack_events_free(&ev);
		return broke(out, TEE_DSTACK_LINK_EVENT_LOG, TEELIZA_ERR_VERIFY,
		             "the event log has no app-id event before system-ready");
	}
	assert(app->payload_len == TEE_DSTACK_APP_ID_LEN);
	if (out->have_app_id && memcmp(out->app_id, app->payload, TEE_DSTACK_APP_ID_LEN) != 0) {
		teeliza_hex_encode(given, out->app_id, TEE_DSTACK_APP_ID_LEN);
		teeliza_hex_encode(attested, app->payload, TEE_DSTACK_APP_ID_LEN);
		tee_dstack_events_free(&ev);
		return broke(out, TEE_DSTACK_LINK_APP_ID, TEELIZA_ERR_VERIFY,
		             "the app id %s is not the attested app-id %s", given, attested);
	}
	memcpy(out->app_id, app->payload, TEE_DSTACK_APP_ID_LEN);
	out->have_app_id = true;
	out->app_id_from_log = true;
	tee_dstack_events_free(&ev);
	return TEELIZA_OK;
}

teeliza_err tee_dstack_verify_key(tee_dstack_key_report *out, const tee_dstack_key_claim *claim)
{
	struct decoded d;
	uint8_t digest[32];
	char root[2 * TEE_DSTACK_K256_PUB_LEN + 1], pinned[2 * TEE_DSTACK_K256_PUB_LEN + 1];
	teeliza_err err;

	assert(out != NULL && claim != NULL);
	assert((claim->purpose != NULL || claim->purpose_len == 0) && (claim->chain_hex != NULL || claim->chain_len == 0));
	memset(out, 0, sizeof(*out));
	memset(&d, 0, sizeof(d));
	err = decode_claim(out, &d, claim);
	if (!err)
		err = check_key(out, &d);
	teeliza_wipe(d.key, sizeof(d.key)); /* only its public key is needed from here on */
	if (err)
		return err;

	tee_dstack_key_digest(digest, claim->purpose, claim->purpose_len, d.pub, d.pub_len);
	if (tee_dstack_recover(out->app_pub, d.chain[0], digest) != TEELIZA_OK)
		return broke(out, TEE_DSTACK_LINK_APP_SIGNATURE, TEELIZA_ERR_VERIFY, "chain[0]: %s", teeliza_errmsg());
	out->have_app_pub = true;

	err = settle_app_id(out, claim);
	if (err)
		return err;

	if (d.no_kms_signature)
		return broke(out, TEE_DSTACK_LINK_KMS_SIGNATURE, TEELIZA_ERR_VERIFY,
		             "chain[1] is empty: no KMS signed this app's key (a local key provider), so the chain "
		             "ends at the app key");
	tee_dstack_kms_digest(digest, out->app_id, out->app_pub);
	if (tee_dstack_recover(out->root_pub, d.chain[1], digest) != TEELIZA_OK)
		return broke(out, TEE_DSTACK_LINK_KMS_SIGNATURE, TEELIZA_ERR_VERIFY, "chain[1]: %s", teeliza_errmsg());
	out->have_root = true;

	teeliza_hex_encode(root, out->root_pub, sizeof(out->root_pub));
	if (!out->root_pinned)
		return broke(out, TEE_DSTACK_LINK_KMS_ROOT, TEELIZA_ERR_UNTRUSTED,
		             "no KMS root pinned: the chain recovers the root %s, which proves nothing until it is "
		             "compared with a trusted one", root);
	if (memcmp(out->root_pub, d.root, sizeof(d.root)) != 0) {
		teeliza_hex_encode(pinned, d.root, sizeof(d.root));
		return broke(out, TEE_DSTACK_LINK_KMS_ROOT, TEELIZA_ERR_VERIFY,
		             "the chain recovers the root %s, not the pinned %s: the purpose, the key, the app id or "
		             "a signature is not the one the KMS and the app signed", root, pinned);
	}
	teeliza_clear_error();
	return TEELIZA_OK;
}
