/*
 * tee_verify_reply (teeliza/tee/verify_reply.h): walk a reply bundle's
 * links in order and stop at the first that breaks. Every check uses what
 * the previous link proved: the reply key is trusted only because the
 * statement names it, the statement only because a verified quote carries
 * its hash, the event log only because it replays to that quote's RTMRs.
 */
#include "teeliza/tee/verify_reply.h"
#include "tee/verify_reply_cache.h"
#include "teeliza/common/encoding.h"
#include "teeliza/tee/attest.h"
#include "teeliza/tee/dstack_events.h"
#include "teeliza/tee/reply_key.h"

#include <assert.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/sha.h>

/* Record the broken link and say why ("<link>: <why>" in teeliza_errmsg()). */
static teeliza_err TEELIZA_PRINTF(4, 5) broke(tee_reply_verdict *v, const char *link, teeliza_err err,
                                              const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(v->message, sizeof(v->message), fmt, ap);
	va_end(ap);
	tee_reply_utf8_clean(v->message); /* "%.64s" of a hostile string may cut a character: the verdict is JSON */
	v->link = link;
	v->err = err;
	return teeliza_set_error(err, "%s: %s", link, v->message);
}

/* A string member, or NULL (absent, or not a string). */
static const char *str_of(const json_t *o, const char *name, size_t *len)
{
	const json_t *s = json_object_get(o, name);

	if (!json_is_string(s))
		return NULL;
	if (len != NULL)
		*len = json_string_length(s);
	return json_string_value(s);
}

static bool hex_exact(uint8_t *out, size_t n, const char *hex)
{
	size_t got = 0;

	return hex != NULL && teeliza_hex_decode(out, n, &got, hex, strlen(hex), false) == TEELIZA_OK && got == n;
}

struct walk {
	json_t *bundle;
	const char *receipt, *statement, *event_log;
	size_t receipt_len, statement_len, event_log_len;
	tee_receipt_fields f;
	char *owned;
	uint8_t hash[32];
	json_t *st;
	teeliza_buf quote;
	tee_dstack_events ev;
	bool ev_init;
	bool untrusted;
};

/* The bundle's shape (link "bundle"). */
static teeliza_err check_shape(tee_reply_verdict *v, struct walk *w, const char *text, size_t len)
{
	json_error_t je;
	const char *fmt;

	if (len > TEE_REPLY_BUNDLE_MAX)
		return broke(v, TEE_LINK_BUNDLE, TEELIZA_ERR_TOO_LARGE, "%zu bytes, more than %zu", len,
		             TEE_REPLY_BUNDLE_MAX);
	w->bundle = json_loadb(text, len, JSON_REJECT_DUPLICATES, &je);
	if (!json_is_object(w->bundle))
		return broke(v, TEE_LINK_BUNDLE, TEELIZA_ERR_PARSE, "not a JSON object%s%s", w->bundle ? "" : ": ",
		             w->bundle ? "" : je.text);
	fmt = str_of(w->bundle, "format", NULL);
	if (fmt == NULL || strcmp(fmt, TEE_REPLY_BUNDLE_FORMAT) != 0)
		return broke(v, TEE_LINK_BUNDLE, TEELIZA_ERR_PARSE, "\"format\" is not \"" TEE_REPLY_BUNDLE_FORMAT "\"");
	if (json_integer_value(json_object_get(w->bundle, "version")) != 1 ||
	    !json_is_integer(json_object_get(w->bundle, "version")))
		return broke(v, TEE_LINK_BUNDLE, TEELIZA_ERR_UNSUPPORTED, "\"version\" is not 1");
	w->receipt = str_of(w->bundle, "receipt", &w->receipt_len);
	w->statement = str_of(w->bundle, "statement", &w->statement_len);
	w->event_log = str_of(w->bundle, "eventLog", &w->event_log_len);
	if (w->receipt == NULL || w->statement == NULL || w->event_log == NULL || str_of(w->bundle, "quote", NULL) == NULL ||
	    str_of(w->bundle, "signature", NULL) == NULL)
		return broke(v, TEE_LINK_BUNDLE, TEELIZA_ERR_PARSE,
		             "\"receipt\", \"signature\", \"statement\", \"quote\" and \"eventLog\" must be strings");
	return TEELIZA_OK;
}

/* The receipt's form and its Ed25519 (and EIP-191) signatures. */
static teeliza_err check_receipt(tee_reply_verdict *v, struct walk *w)
{
	uint8_t sig[64], e191[65];
	const char *id = str_of(w->bundle, "id", NULL), *e191_hex = str_of(w->bundle, "eip191", NULL), *addr;
	char got[43];
	teeliza_err err;

	err = tee_receipt_parse(&w->f, &w->owned, w->hash, w->receipt, w->receipt_len);
	if (err)
		return broke(v, TEE_LINK_RECEIPT, err, "%s", teeliza_errmsg());
	teeliza_hex_encode(v->id, w->hash, 32);
	v->seq = w->f.seq;
	snprintf(v->agent_id, sizeof(v->agent_id), "%s", w->f.agent_id);
	tee_reply_utf8_clean(v->agent_id);
	teeliza_hex_encode(v->reply_key, w->f.reply_key, 32);
	if (!hex_exact(sig, 64, str_of(w->bundle, "signature", NULL)))
		return broke(v, TEE_LINK_SIGNATURE, TEELIZA_ERR_VERIFY, "the signature is not 64 bytes of hex");
	if (tee_ed25519_verify(w->f.reply_key, (const uint8_t *)w->receipt, w->receipt_len, sig) != TEELIZA_OK)
		return broke(v, TEE_LINK_SIGNATURE, TEELIZA_ERR_VERIFY,
		             "the Ed25519 signature does not verify over the receipt with its replyKey %s", v->reply_key);
	/* after the signature: a changed receipt is a bad signature; this is the bundle disagreeing with itself */
	if (id != NULL && strcmp(id, v->id) != 0)
		return broke(v, TEE_LINK_RECEIPT, TEELIZA_ERR_VERIFY, "the bundle's id %.64s is not the receipt's hash %s",
		             id, v->id);
	if (e191_hex == NULL)
		return TEELIZA_OK;
	v->eip191 = true;
	addr = str_of(w->st, "eip191Address", NULL);
	if (!hex_exact(e191, 65, e191_hex))
		return broke(v, TEE_LINK_EIP191, TEELIZA_ERR_VERIFY, "the EIP-191 signature is not 65 bytes of hex");
	if (tee_eip191_recover(got, w->hash, e191) != TEELIZA_OK)
		return broke(v, TEE_LINK_EIP191, TEELIZA_ERR_VERIFY, "the EIP-191 signature is malformed: %s",
		             teeliza_errmsg());
	if (addr == NULL || strcmp(addr, got) != 0)
		return broke(v, TEE_LINK_EIP191, TEELIZA_ERR_VERIFY, "the EIP-191 signature recovers to %s, the statement's "
		             "eip191Address is %.64s", got, addr != NULL ? addr : "absent");
	return TEELIZA_OK;
}

/* What the statement says the agent's wallets and EIP-191 address are, for display. */
static void statement_wallets(tee_reply_verdict *v, const json_t *st)
{
	const json_t *ws = json_object_get(st, "wallets");
	const char *chain, *addr = str_of(st, "eip191Address", NULL);
	const json_t *a;
	size_t at = 0;

	snprintf(v->eip191_address, sizeof(v->eip191_address), "%s", addr != NULL ? addr : "");
	tee_reply_utf8_clean(v->eip191_address);
	json_object_foreach((json_t *)ws, chain, a) {
		int n;

		if (!json_is_string(a) || json_string_length(a) == 0)
			continue;
		n = snprintf(v->wallets + at, sizeof(v->wallets) - at, "%s%.16s %.64s", at > 0 ? ", " : "", chain,
		             json_string_value(a));
		if (n < 0 || (size_t)n >= sizeof(v->wallets) - at)
			break;
		at += (size_t)n;
	}
	tee_reply_utf8_clean(v->wallets);
}

/* The statement names this agent and this key (link "reply key"). */
static teeliza_err check_reply_key(tee_reply_verdict *v, struct walk *w)
{
	const char *purpose, *agent, *key, *pub = str_of(w->bundle, "publicKey", NULL);
	json_t *ver;

	if (!json_is_object(w->st))
		return broke(v, TEE_LINK_REPLY_KEY, TEELIZA_ERR_VERIFY, "the statement is not a JSON object");
	purpose = str_of(w->st, "purpose", NULL);
	agent = str_of(w->st, "agentId", NULL);
	key = str_of(w->st, "replyKey", NULL);
	ver = json_object_get(w->st, "version");
	if (!json_is_integer(ver) || json_integer_value(ver) != TEE_STATEMENT_VERSION)
		return broke(v, TEE_LINK_REPLY_KEY, TEELIZA_ERR_VERIFY, "the statement's version is not 1");
	if (purpose == NULL || (strcmp(purpose, TEE_STATEMENT_PURPOSE_REPLY_KEY) != 0 &&
	                        strcmp(purpose, TEE_STATEMENT_PURPOSE_FRESH) != 0))
		return broke(v, TEE_LINK_REPLY_KEY, TEELIZA_ERR_VERIFY, "the statement's purpose is not %s",
		             TEE_STATEMENT_PURPOSE_REPLY_KEY);
	if (agent == NULL || strcmp(agent, w->f.agent_id) != 0)
		return broke(v, TEE_LINK_REPLY_KEY, TEELIZA_ERR_VERIFY, "the statement is of agent %.64s, the receipt of %.64s",
		             agent != NULL ? agent : "(none)", w->f.agent_id);
	if (key == NULL || strcmp(key, v->reply_key) != 0)
		return broke(v, TEE_LINK_REPLY_KEY, TEELIZA_ERR_VERIFY,
		             "the receipt is signed by %s, the statement's replyKey is %.64s", v->reply_key,
		             key != NULL ? key : "(none)");
	if (pub != NULL && strcmp(pub, v->reply_key) != 0)
		return broke(v, TEE_LINK_REPLY_KEY, TEELIZA_ERR_VERIFY, "the bundle's publicKey %.64s is not the receipt's %s",
		             pub, v->reply_key);
	statement_wallets(v, w->st);
	return TEELIZA_OK;
}

/* SHA-512(statement) is the quote's report data, and the quote verifies (link "statement quote"). */
static teeliza_err check_quote(tee_reply_verdict *v, struct walk *w, const tee_reply_policy *p)
{
	const char *hex = str_of(w->bundle, "quote", NULL);
	const uint8_t *rtmr[4], *quoted;
	uint8_t rd[64];
	dcap_policy pol;
	teeliza_err err;

	teeliza_buf_init(&w->quote, TEE_REPLY_BUNDLE_MAX);
	if (teeliza_hex_decode_buf(&w->quote, hex, strlen(hex), true) != TEELIZA_OK)
		return broke(v, TEE_LINK_STATEMENT_QUOTE, TEELIZA_ERR_PARSE, "the quote is not hex");
	if (tee_quote_td_fields(rtmr, &quoted, w->quote.data, w->quote.len) != TEELIZA_OK)
		return broke(v, TEE_LINK_STATEMENT_QUOTE, TEELIZA_ERR_VERIFY, "not a TDX quote: %s", teeliza_errmsg());
	SHA512((const uint8_t *)w->statement, w->statement_len, rd);
	if (memcmp(rd, quoted, 64) != 0)
		return broke(v, TEE_LINK_STATEMENT_QUOTE, TEELIZA_ERR_VERIFY,
		             "the quote's report data is not SHA-512 of the statement");
	if (p->collateral == NULL) {
		v->no_collateral = true;
		return broke(v, TEE_LINK_STATEMENT_QUOTE, TEELIZA_ERR_UNSUPPORTED, "no collateral for this quote: %s",
		             p->no_collateral != NULL ? p->no_collateral : "none given");
	}
	if (p->dcap != NULL)
		pol = *p->dcap;
	else
		dcap_policy_init(&pol);
	pol.expect_report_data = rd;
	err = dcap_verify(&v->dcap, w->quote.data, w->quote.len, p->collateral, p->now, &pol, p->trust);
	v->dcap_done = true;
	if (v->dcap.verdict == DCAP_VERDICT_FAILED)
		return broke(v, TEE_LINK_STATEMENT_QUOTE, err != TEELIZA_OK ? err : TEELIZA_ERR_VERIFY, "%s (%s)",
		             v->dcap.reason, dcap_failure_name(v->dcap.failure));
	if (!v->dcap.tdx || !v->dcap.quote_parsed)
		return broke(v, TEE_LINK_STATEMENT_QUOTE, TEELIZA_ERR_VERIFY, "not a TDX quote");
	w->untrusted = v->dcap.verdict != DCAP_VERDICT_TRUSTED;
	return TEELIZA_OK;
}

/* RTMR0–3 replay from the event log (link "event log"), then the app identity (link "app identity"). */
static teeliza_err check_log(tee_reply_verdict *v, struct walk *w, const tee_reply_policy *p)
{
	const dcap_td_report *td = &v->dcap.quote.body.td;
	teeliza_err err;

	err = tee_dstack_events_parse(&w->ev, w->event_log, w->event_log_len);
	w->ev_init = true;
	if (err)
		return broke(v, TEE_LINK_EVENT_LOG, err, "%s", teeliza_errmsg());
	err = tee_dstack_events_check_quote(&w->ev, td);
	if (err)
		return broke(v, TEE_LINK_EVENT_LOG, err, "%s", teeliza_errmsg());
	v->rtmr_done = true;
	if (p->identity != NULL && tee_identity_policy_any(p->identity)) {
		err = tee_app_identity_check(&v->identity, w->event_log, w->event_log_len, td->rtmr[3], p->identity);
		v->identity_read = err == TEELIZA_OK || err == TEELIZA_ERR_VERIFY; /* VERIFY: step 4, the identity was read */
		if (err)
			return broke(v, TEE_LINK_APP_IDENTITY, err, "%s", teeliza_errmsg());
		return TEELIZA_OK;
	}
	err = tee_app_identity_read(&v->identity, &w->ev);
	if (err)
		return broke(v, TEE_LINK_APP_IDENTITY, err, "%s", teeliza_errmsg());
	v->identity_read = true;
	return TEELIZA_OK;
}

/* GetKey's chain from the reply key to the pinned KMS root (link "key provenance"). */
static teeliza_err check_provenance(tee_reply_verdict *v, struct walk *w, const tee_reply_policy *p)
{
	const json_t *prov = json_object_get(w->bundle, "keyProvenance"), *chain = json_object_get(prov, "signatureChain");
	const char *note = str_of(prov, "note", NULL), *links[2];
	tee_dstack_key_claim c;
	teeliza_err err;

	if (note != NULL) {
		snprintf(v->provenance_note, sizeof(v->provenance_note), "%s", note);
		tee_reply_utf8_clean(v->provenance_note);
	}
	if (chain == NULL) {
		if (p->kms_root_hex != NULL)
			return broke(v, TEE_LINK_KEY_PROVENANCE, TEELIZA_ERR_VERIFY,
			             "a KMS root is pinned (--kms-root, TEE_KMS_ROOT or kmsRoot), but the bundle carries no "
			             "GetKey signature chain%s%s",
			             note != NULL ? ": " : "", note != NULL ? note : "");
		return TEELIZA_OK;
	}
	v->provenance_present = true;
	if (!json_is_array(chain) || json_array_size(chain) != 2 || !json_is_string(json_array_get(chain, 0)) ||
	    !json_is_string(json_array_get(chain, 1)))
		return broke(v, TEE_LINK_KEY_PROVENANCE, TEELIZA_ERR_PARSE, "signatureChain is not two hex strings");
	links[0] = json_string_value(json_array_get(chain, 0));
	links[1] = json_string_value(json_array_get(chain, 1));
	memset(&c, 0, sizeof(c));
	c.algorithm = "ed25519";
	c.purpose = TEE_REPLY_KEY_PURPOSE; /* fixed by the scheme, never taken from the bundle */
	c.purpose_len = strlen(TEE_REPLY_KEY_PURPOSE);
	c.public_key_hex = v->reply_key;
	c.chain_hex = links;
	c.chain_len = 2;
	c.kms_root_hex = p->kms_root_hex;
	c.event_log = w->event_log;
	c.event_log_len = w->event_log_len;
	c.rtmr3 = v->dcap.quote.body.td.rtmr[3];
	err = tee_dstack_verify_key(&v->provenance, &c);
	v->provenance_checked = true;
	v->provenance_err = err;
	if (err == TEELIZA_OK || (err == TEELIZA_ERR_UNTRUSTED && p->kms_root_hex == NULL))
		return TEELIZA_OK;
	return broke(v, TEE_LINK_KEY_PROVENANCE, err == TEELIZA_ERR_UNTRUSTED ? TEELIZA_ERR_VERIFY : err, "%s",
	             v->provenance.message);
}

/* The receipt follows the previous one (link "hash chain"). */
static teeliza_err check_chain(tee_reply_verdict *v, struct walk *w, const tee_reply_policy *p)
{
	static const uint8_t zero[32];
	tee_receipt_fields pf;
	uint8_t phash[32];
	char *powned = NULL;
	teeliza_err err;

	const char *named = str_of(w->bundle, "prev", NULL);
	char prev_hex[65];

	teeliza_hex_encode(prev_hex, w->f.prev, 32);
	if (named != NULL && strcmp(named, prev_hex) != 0)
		return broke(v, TEE_LINK_CHAIN, TEELIZA_ERR_VERIFY, "the bundle's prev %.64s is not the receipt's %s", named,
		             prev_hex);
	if (p->prev_receipt == NULL) {
		if (w->f.seq == 1 && memcmp(w->f.prev, zero, 32) != 0)
			return broke(v, TEE_LINK_CHAIN, TEELIZA_ERR_VERIFY, "seq 1 but prev is not all zeros");
		if (w->f.seq != 1 && p->prev_absent != NULL)
			return broke(v, TEE_LINK_CHAIN, TEELIZA_ERR_VERIFY, "seq %llu names prev %s, %s",
			             (unsigned long long)w->f.seq, prev_hex, p->prev_absent);
		v->chain_checked = w->f.seq == 1;
		return TEELIZA_OK;
	}
	err = tee_receipt_parse(&pf, &powned, phash, p->prev_receipt, p->prev_len);
	if (err)
		return broke(v, TEE_LINK_CHAIN, err, "the previous receipt: %s", teeliza_errmsg());
	if (strcmp(pf.agent_id, w->f.agent_id) != 0)
		err = broke(v, TEE_LINK_CHAIN, TEELIZA_ERR_VERIFY, "the previous receipt is of agent %.64s", pf.agent_id);
	else if (w->f.seq != pf.seq + 1)
		err = broke(v, TEE_LINK_CHAIN, TEELIZA_ERR_VERIFY, "seq %llu does not follow the previous receipt's %llu",
		            (unsigned long long)w->f.seq, (unsigned long long)pf.seq);
	else if (memcmp(w->f.prev, phash, 32) != 0)
		err = broke(v, TEE_LINK_CHAIN, TEELIZA_ERR_VERIFY, "prev is not the previous receipt's hash");
	free(powned);
	v->chain_checked = err == TEELIZA_OK;
	return err;
}

/* The cache key of w's statement, quote, event log and key provenance under p; false when there is none. */
static bool cache_key(uint8_t key[32], const struct walk *w, const tee_reply_verdict *v, const tee_reply_policy *p)
{
	const json_t *prov = json_object_get(w->bundle, "keyProvenance");
	const char *quote_hex = str_of(w->bundle, "quote", NULL);
	char *prov_text = NULL;
	bool ok;

	if (!tee_reply_cache_usable(p->cache, p) || quote_hex == NULL)
		return false;
	if (prov != NULL) {
		prov_text = json_dumps(prov, JSON_COMPACT | JSON_SORT_KEYS | JSON_ENCODE_ANY);
		if (prov_text == NULL)
			return false;
	}
	ok = tee_reply_cache_key(key, p, w->statement, w->statement_len, quote_hex, strlen(quote_hex), w->event_log,
	                         w->event_log_len, prov_text != NULL ? prov_text : "", v->reply_key);
	free(prov_text);
	return ok;
}

/* What check_quote, check_log and check_provenance proved, for the cache. */
static void proved_of(tee_reply_proved *out, const tee_reply_verdict *v, const struct walk *w)
{
	memset(out, 0, sizeof(*out));
	out->dcap = v->dcap;
	memset(&out->dcap.quote, 0, sizeof(out->dcap.quote)); /* it points into w->quote, freed after the walk */
	out->rtmr_done = v->rtmr_done;
	out->identity_read = v->identity_read;
	out->identity = v->identity;
	out->provenance_present = v->provenance_present;
	out->provenance_checked = v->provenance_checked;
	out->provenance_err = v->provenance_err;
	out->provenance = v->provenance;
	memcpy(out->provenance_note, v->provenance_note, sizeof(out->provenance_note));
	out->untrusted = w->untrusted;
}

/* The verdict of those three links from the cache; the quote is parsed again from this bundle's bytes. */
static teeliza_err from_cache(tee_reply_verdict *v, struct walk *w, const tee_reply_proved *pr)
{
	const char *hex = str_of(w->bundle, "quote", NULL);
	dcap_quote q;

	teeliza_buf_init(&w->quote, TEE_REPLY_BUNDLE_MAX);
	if (teeliza_hex_decode_buf(&w->quote, hex, strlen(hex), true) != TEELIZA_OK ||
	    dcap_quote_parse(&q, w->quote.data, w->quote.len) != TEELIZA_OK)
		return broke(v, TEE_LINK_STATEMENT_QUOTE, TEELIZA_ERR_INTERNAL, "the cached quote does not parse again");
	v->dcap = pr->dcap;
	v->dcap.quote = q;
	v->dcap_done = true;
	v->rtmr_done = pr->rtmr_done;
	v->identity_read = pr->identity_read;
	v->identity = pr->identity;
	v->provenance_present = pr->provenance_present;
	v->provenance_checked = pr->provenance_checked;
	v->provenance_err = pr->provenance_err;
	v->provenance = pr->provenance;
	memcpy(v->provenance_note, pr->provenance_note, sizeof(v->provenance_note));
	w->untrusted = pr->untrusted;
	return TEELIZA_OK;
}

static teeliza_err walk_bundle(tee_reply_verdict *v, struct walk *wp, const char *bundle, size_t len,
                               const tee_reply_policy *p)
{
	struct walk w;
	tee_reply_proved *pr = NULL;
	uint8_t key[32];
	bool keyed = false;
	teeliza_err err;

	memset(v, 0, sizeof(*v));
	memset(&w, 0, sizeof(w));
	err = check_shape(v, &w, bundle, len);
	if (!err) {
		w.st = json_loadb(w.statement, w.statement_len, JSON_REJECT_DUPLICATES, NULL);
		err = check_receipt(v, &w);
	}
	if (!err)
		err = check_reply_key(v, &w);
	if (!err && p->cache != NULL) {
		pr = malloc(sizeof(*pr));
		keyed = pr != NULL && cache_key(key, &w, v, p);
	}
	if (!err && keyed && tee_reply_cache_get(pr, p->cache, key)) {
		err = from_cache(v, &w, pr);
	} else {
		if (!err)
			err = check_quote(v, &w, p);
		if (!err)
			err = check_log(v, &w, p);
		if (!err)
			err = check_provenance(v, &w, p);
		if (!err && keyed) { /* only a walk in which all three held */
			proved_of(pr, v, &w);
			tee_reply_cache_put(p->cache, key, pr);
		}
	}
	free(pr);
	if (!err)
		err = check_chain(v, &w, p);
	if (!err && w.untrusted)
		err = broke(v, TEE_LINK_STATEMENT_QUOTE, TEELIZA_ERR_UNTRUSTED, "genuine, but not trusted: %s",
		            v->dcap.reason);
	*wp = w;
	v->err = err;
	return err;
}

static void walk_free(struct walk *w)
{
	if (w->ev_init)
		tee_dstack_events_free(&w->ev);
	if (w->quote.max != 0)
		teeliza_buf_free(&w->quote);
	free(w->owned);
	json_decref(w->st);
	json_decref(w->bundle);
}

teeliza_err tee_verify_reply(tee_reply_verdict *v, const char *bundle, size_t len, const tee_reply_policy *p)
{
	struct walk w;
	teeliza_err err;

	assert(v != NULL && bundle != NULL && p != NULL);
	err = walk_bundle(v, &w, bundle, len, p);
	walk_free(&w);
	return err;
}

/* What an item links to: the previous receipt's seq and hash (agent checked through the key). */
struct link_to {
	bool have;
	uint64_t seq;
	uint8_t hash[32];
};

/* One item of a chain: form, signatures, key, link to *prev; then *prev becomes this item. */
static teeliza_err check_item(tee_reply_verdict *v, const tee_reply_item *it, const struct walk *w,
                              struct link_to *prev)
{
	static const uint8_t zero[32];
	tee_receipt_fields f;
	uint8_t hash[32], sig[64], e191[65];
	char *owned = NULL, got[43], key[65];
	const char *addr = str_of(w->st, "eip191Address", NULL);
	teeliza_err err;

	err = tee_receipt_parse(&f, &owned, hash, it->receipt, it->receipt_len);
	if (err)
		return broke(v, TEE_LINK_RECEIPT, err, "%s", teeliza_errmsg());
	teeliza_hex_encode(v->id, hash, 32);
	v->seq = f.seq;
	teeliza_hex_encode(key, f.reply_key, 32);
	if (!hex_exact(sig, 64, it->signature_hex) ||
	    tee_ed25519_verify(f.reply_key, (const uint8_t *)it->receipt, it->receipt_len, sig) != TEELIZA_OK)
		err = broke(v, TEE_LINK_SIGNATURE, TEELIZA_ERR_VERIFY, "the Ed25519 signature does not verify");
	else if (it->eip191_hex != NULL &&
	         (!hex_exact(e191, 65, it->eip191_hex) || tee_eip191_recover(got, hash, e191) != TEELIZA_OK ||
	          addr == NULL || strcmp(got, addr) != 0))
		err = broke(v, TEE_LINK_EIP191, TEELIZA_ERR_VERIFY,
		            "the EIP-191 signature does not recover to the statement's eip191Address");
	else if (strcmp(key, v->reply_key) != 0 || strcmp(f.agent_id, v->agent_id) != 0)
		err = broke(v, TEE_LINK_REPLY_KEY, TEELIZA_ERR_VERIFY, "signed by %s of agent %.64s, not the statement's key",
		            key, f.agent_id);
	else if (!prev->have && f.seq == 1 && memcmp(f.prev, zero, 32) != 0)
		err = broke(v, TEE_LINK_CHAIN, TEELIZA_ERR_VERIFY, "seq 1 but prev is not all zeros");
	else if (prev->have && f.seq != prev->seq + 1)
		err = broke(v, TEE_LINK_CHAIN, TEELIZA_ERR_VERIFY, "seq %llu does not follow %llu",
		            (unsigned long long)f.seq, (unsigned long long)prev->seq);
	else if (prev->have && memcmp(f.prev, prev->hash, 32) != 0)
		err = broke(v, TEE_LINK_CHAIN, TEELIZA_ERR_VERIFY, "prev is not the previous receipt's hash");
	prev->have = true;
	prev->seq = f.seq;
	memcpy(prev->hash, hash, 32);
	free(owned);
	return err;
}

teeliza_err tee_verify_reply_chain(tee_reply_verdict *v, size_t *bad, const char *bundle, size_t len,
                                   const tee_reply_item *items, size_t n, const tee_reply_policy *p)
{
	struct walk w;
	tee_reply_policy bp;
	struct link_to prev;
	teeliza_err err;
	char why[sizeof(v->message)];
	size_t i;

	assert(v != NULL && bad != NULL && bundle != NULL && p != NULL);
	assert(items != NULL || n == 0);
	*bad = SIZE_MAX;
	/* the bundle proves the key; --prev is where the list starts, not the bundle's predecessor */
	bp = *p;
	bp.prev_receipt = NULL;
	bp.prev_len = 0;
	bp.prev_absent = NULL;
	err = walk_bundle(v, &w, bundle, len, &bp);
	if (err && err != TEELIZA_ERR_UNTRUSTED) {
		walk_free(&w);
		return err;
	}
	memset(&prev, 0, sizeof(prev));
	if (p->prev_receipt != NULL) {
		tee_receipt_fields pf;
		char *powned = NULL;

		if (tee_receipt_parse(&pf, &powned, prev.hash, p->prev_receipt, p->prev_len) != TEELIZA_OK) {
			err = broke(v, TEE_LINK_CHAIN, TEELIZA_ERR_PARSE, "the previous receipt: %s", teeliza_errmsg());
			walk_free(&w);
			return err;
		}
		prev.have = true;
		prev.seq = pf.seq;
		free(powned);
	}
	for (i = 0; i < n; i++) {
		teeliza_err ierr = check_item(v, &items[i], &w, &prev);

		if (ierr) {
			*bad = i;
			snprintf(why, sizeof(why), "%s", v->message);
			err = broke(v, v->link, ierr, "receipt #%zu (seq %llu): %s", i, (unsigned long long)v->seq, why);
			break;
		}
	}
	v->chain_checked = err == TEELIZA_OK || err == TEELIZA_ERR_UNTRUSTED;
	if (err == TEELIZA_ERR_UNTRUSTED)
		(void)broke(v, TEE_LINK_STATEMENT_QUOTE, TEELIZA_ERR_UNTRUSTED, "genuine, but not trusted: %s",
		            v->dcap.reason);
	v->err = err;
	walk_free(&w);
	return err;
}

teeliza_err tee_reply_chain_parse(json_t **owner, tee_reply_item **items, size_t *n, const char *text, size_t len)
{
	json_error_t je;
	json_t *a;
	size_t i;

	*owner = NULL;
	*items = NULL;
	*n = 0;
	if (len > TEE_REPLY_BUNDLE_MAX)
		return teeliza_set_error(TEELIZA_ERR_TOO_LARGE, "chain: %zu bytes, more than %zu", len, TEE_REPLY_BUNDLE_MAX);
	a = json_loadb(text, len, JSON_REJECT_DUPLICATES, &je);
	if (!json_is_array(a)) {
		json_decref(a);
		return teeliza_set_error(TEELIZA_ERR_PARSE, "chain: not a JSON array of receipts");
	}
	if (json_array_size(a) > 0) {
		*items = calloc(json_array_size(a), sizeof(**items));
		if (*items == NULL) {
			json_decref(a);
			return teeliza_set_error(TEELIZA_ERR_NOMEM, "out of memory");
		}
	}
	for (i = 0; i < json_array_size(a); i++) {
		const json_t *e = json_array_get(a, i), *e191 = json_object_get(e, "eip191");
		tee_reply_item *it = &(*items)[i];

		it->receipt = str_of(e, "receipt", &it->receipt_len);
		it->signature_hex = str_of(e, "signature", NULL);
		it->eip191_hex = str_of(e, "eip191", NULL);
		if (it->receipt == NULL || it->signature_hex == NULL || (e191 != NULL && it->eip191_hex == NULL)) {
			free(*items);
			*items = NULL;
			json_decref(a);
			return teeliza_set_error(TEELIZA_ERR_PARSE, "chain: entry %zu has no \"receipt\" and \"signature\" strings",
			                         i);
		}
	}
	*n = json_array_size(a);
	*owner = a;
	return TEELIZA_OK;
}

teeliza_err tee_reply_receipt_text(teeliza_buf *out, const char *text, size_t len)
{
	json_t *o;
	const char *r;
	size_t n = 0;
	teeliza_err err;

	while (len > 0 && (text[len - 1] == '\n' || text[len - 1] == '\r' || text[len - 1] == ' '))
		len--;
	o = json_loadb(text, len, JSON_REJECT_DUPLICATES, NULL);
	if (!json_is_object(o)) {
		json_decref(o);
		return teeliza_set_error(TEELIZA_ERR_PARSE, "not a receipt, a receipt route's answer or a bundle");
	}
	r = str_of(o, "receipt", &n);
	err = r != NULL ? teeliza_buf_append(out, r, n) : teeliza_buf_append(out, text, len);
	json_decref(o);
	return err;
}

static json_t *hex_or_null(const uint8_t *b, size_t n, bool have)
{
	char h[2 * 65 + 1];

	if (!have || n > 65)
		return json_null();
	teeliza_hex_encode(h, b, n);
	return json_string(h);
}

json_t *tee_reply_verdict_to_json(const tee_reply_verdict *v)
{
	json_t *o = json_object(), *q = NULL, *prov;
	teeliza_buf text;

	if (o == NULL)
		return NULL;
	json_object_set_new(o, "ok", json_boolean(v->link == NULL));
	json_object_set_new(o, "link", v->link != NULL ? json_string(v->link) : json_null());
	json_object_set_new(o, "message", json_string(v->message));
	json_object_set_new(o, "id", v->id[0] ? json_string(v->id) : json_null());
	json_object_set_new(o, "seq", json_integer((json_int_t)v->seq));
	json_object_set_new(o, "agentId", v->agent_id[0] ? json_string(v->agent_id) : json_null());
	json_object_set_new(o, "replyKey", v->reply_key[0] ? json_string(v->reply_key) : json_null());
	json_object_set_new(o, "eip191", json_boolean(v->eip191));
	if (v->dcap_done) {
		teeliza_buf_init(&text, 1u << 20);
		if (dcap_result_to_json(&text, &v->dcap) == TEELIZA_OK)
			q = json_loadb((const char *)text.data, text.len, 0, NULL);
		teeliza_buf_free(&text);
	}
	json_object_set_new(o, "quote", q != NULL ? q : json_null());
	json_object_set_new(o, "rtmrReplayed", json_boolean(v->rtmr_done));
	json_object_set_new(o, "appIdentity", v->identity_read ? tee_app_identity_to_json(&v->identity) : json_null());
	if (v->provenance_checked) {
		prov = json_pack("{s:b, s:s, s:o, s:o, s:b}", "verified", v->provenance_err == TEELIZA_OK, "brokenLink",
		                 tee_dstack_link_name(v->provenance.broken), "appId",
		                 hex_or_null(v->provenance.app_id, sizeof(v->provenance.app_id), v->provenance.have_app_id),
		                 "kmsRoot",
		                 hex_or_null(v->provenance.root_pub, sizeof(v->provenance.root_pub), v->provenance.have_root),
		                 "kmsRootPinned", v->provenance.root_pinned);
	} else {
		prov = json_pack("{s:b, s:s}", "verified", false, "note",
		                 v->provenance_note[0] ? v->provenance_note : "not checked");
	}
	json_object_set_new(o, "keyProvenance", prov != NULL ? prov : json_null());
	json_object_set_new(o, "chainChecked", json_boolean(v->chain_checked));
	json_object_set_new(o, "links", tee_reply_links_json(v));
	return o;
}
