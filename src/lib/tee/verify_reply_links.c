/*
 * tee_reply_links_json (teeliza/tee/verify_reply.h): a tee_verify_reply
 * verdict as the chain of trust, link by link, from the hardware root to the
 * receipt, so that a page can draw it without judging anything itself.
 * tee_verify_reply checks in the order that is cheapest to refuse (the
 * receipt's signature first); this file only says, for each link in trust
 * order, whether its check ran and held, broke, or never ran.
 */
#include "teeliza/tee/verify_reply.h"
#include "teeliza/common/encoding.h"

#include <stdarg.h>
#include <stdio.h>
#include <string.h>

/* Here, not in verify_reply.c, which calls this file (and this file never calls it). */
void tee_reply_utf8_clean(char *s)
{
	size_t left = strlen(s), n;

	while (left > 0) {
		n = teeliza_utf8_seq_len((const uint8_t *)s, left);
		if (n == 0) {
			*s = '?';
			n = 1;
		}
		s += n;
		left -= n;
	}
}

/* The checks in the order tee_verify_reply runs them (walk_bundle). */
enum step {
	S_BUNDLE,
	S_RECEIPT,
	S_SIGNATURE,
	S_KEYS,
	S_BINDING, /* report data = SHA-512(statement), before DCAP */
	S_DCAP,
	S_RTMR,
	S_IDENTITY,
	S_PROVENANCE,
	S_CHAIN,
	S_NONE, /* nothing broke */
};

static enum step failed_step(const tee_reply_verdict *v)
{
	static const struct {
		const char *link;
		enum step step;
	} map[] = {
		{TEE_LINK_BUNDLE, S_BUNDLE},        {TEE_LINK_RECEIPT, S_RECEIPT},
		{TEE_LINK_SIGNATURE, S_SIGNATURE},  {TEE_LINK_EIP191, S_SIGNATURE},
		{TEE_LINK_REPLY_KEY, S_KEYS},       {TEE_LINK_EVENT_LOG, S_RTMR},
		{TEE_LINK_APP_IDENTITY, S_IDENTITY}, {TEE_LINK_KEY_PROVENANCE, S_PROVENANCE},
		{TEE_LINK_CHAIN, S_CHAIN},
	};
	size_t i;

	if (v->link == NULL)
		return S_NONE;
	if (strcmp(v->link, TEE_LINK_STATEMENT_QUOTE) == 0) {
		/* genuine but untrusted: every check ran; the quote link says why it is not trusted */
		if (v->err == TEELIZA_ERR_UNTRUSTED)
			return S_NONE;
		return v->dcap_done ? S_DCAP : S_BINDING;
	}
	for (i = 0; i < sizeof(map) / sizeof(map[0]); i++)
		if (strcmp(v->link, map[i].link) == 0)
			return map[i].step;
	return S_BUNDLE;
}

const char *tee_reply_link_id(const tee_reply_verdict *v)
{
	enum step s = failed_step(v);

	if (v->link == NULL)
		return NULL;
	switch (s) {
	case S_BUNDLE:
	case S_RECEIPT:
		return "receipt";
	case S_SIGNATURE:
		return "signature";
	case S_KEYS:
		return "keys";
	case S_BINDING:
		return "quote";
	case S_DCAP:
		switch (v->dcap.failure) {
		case DCAP_FAIL_UNTRUSTED_ROOT:
			return "root";
		case DCAP_FAIL_CHAIN:
		case DCAP_FAIL_CERT_REVOKED:
		case DCAP_FAIL_EXPIRED:
		case DCAP_FAIL_BAD_COLLATERAL:
		case DCAP_FAIL_COLLATERAL_SIGNATURE:
		case DCAP_FAIL_TCB_MISMATCH:
			return "pck";
		case DCAP_FAIL_QE_REPORT:
		case DCAP_FAIL_QE_IDENTITY:
			return "qe";
		default:
			return "quote";
		}
	case S_RTMR:
		return "rtmr";
	case S_IDENTITY:
		return "identity";
	case S_PROVENANCE:
		if (!v->provenance_checked || v->provenance.broken == TEE_DSTACK_LINK_KMS_SIGNATURE ||
		    v->provenance.broken == TEE_DSTACK_LINK_KMS_ROOT)
			return "kms-root";
		return "app-key";
	case S_CHAIN:
		return "chain";
	case S_NONE:
		return "quote"; /* untrusted */
	}
	return "receipt";
}

struct links {
	json_t *a;
	const tee_reply_verdict *v;
	enum step failed;
	const char *failed_id;
	bool oom;
};

static void add(struct links *l, const char *id, const char *name, const char *status, const char *fmt, ...)
	TEELIZA_PRINTF(5, 6);

static void add(struct links *l, const char *id, const char *name, const char *status, const char *fmt, ...)
{
	char reason[1024];
	va_list ap;
	json_t *o;

	va_start(ap, fmt);
	vsnprintf(reason, sizeof(reason), fmt, ap);
	va_end(ap);
	tee_reply_utf8_clean(reason);
	o = json_pack("{s:s, s:s, s:s, s:s}", "id", id, "name", name, "status", status, "reason", reason);
	if (o == NULL || json_array_append_new(l->a, o) != 0)
		l->oom = true;
}

/*
 * A link whose check is step: "fail" with the verdict's message when it is
 * the broken one, "not-checked" when an earlier check broke, else NULL (the
 * caller says how it held).
 */
static bool settled(struct links *l, const char *id, const char *name, enum step step)
{
	if (l->failed_id != NULL && strcmp(l->failed_id, id) == 0) {
		add(l, id, name, "fail", "%s", l->v->message);
		return true;
	}
	if (step >= l->failed) {
		add(l, id, name, "not-checked", "not checked: the \"%s\" link broke first", l->v->link);
		return true;
	}
	return false;
}

static void hexs(char *out, const uint8_t *b, size_t n)
{
	teeliza_hex_encode(out, b, n);
}

/* Root CA, PCK, QE, TD quote: the DCAP verdict split at the checks dcap_verify makes in that order. */
static void dcap_links(struct links *l)
{
	static const char *const ids[4] = {"root", "pck", "qe", "quote"};
	static const char *const names[4] = {"Root CA", "PCK chain and collateral", "Quoting enclave", "TD quote"};
	static const uint8_t zero[32];
	const tee_reply_verdict *v = l->v;
	const dcap_result *r = &v->dcap;
	bool root_known = v->dcap_done && memcmp(r->root_sha256, zero, 32) != 0;
	size_t i, broken = 4;
	char fp[65], fmspc[13];

	hexs(fp, r->root_sha256, 32);
	hexs(fmspc, r->fmspc, 6);
	if (l->failed < S_BINDING) {
		for (i = 0; i < 4; i++)
			add(l, ids[i], names[i], "not-checked", "not checked: the \"%s\" link broke first", v->link);
		return;
	}
	if (l->failed == S_BINDING) {
		for (i = 0; i < 3; i++)
			add(l, ids[i], names[i], "not-checked", "not checked: %s",
			    v->no_collateral ? "no collateral for the quote" : "the quote does not bind the statement");
		add(l, "quote", "TD quote", "fail", "%s", v->message);
		return;
	}
	if (l->failed == S_DCAP)
		for (broken = 0; broken < 3 && strcmp(ids[broken], l->failed_id) != 0; broken++)
			;
	for (i = 0; i < 4; i++) {
		if (i == broken)
			add(l, ids[i], names[i], "fail", "%s", v->message);
		else if (i > broken || !root_known)
			add(l, ids[i], names[i], "not-checked", "not checked: the \"%s\" link broke first", ids[broken]);
		else if (i == 0 && r->intel_root)
			add(l, ids[i], names[i], "ok", "Intel SGX Root CA (certificate SHA-256 %s)", fp);
		else if (i == 0)
			add(l, ids[i], names[i], "ok",
			    "NOT Intel: a root this verifier was told to trust (certificate SHA-256 %s)", fp);
		else if (i == 1)
			add(l, ids[i], names[i], "ok", "the PCK certificate chain and CRLs verify to the root; FMSPC %s; "
			    "TCB Info and QE Identity are signed under the same root", fmspc);
		else if (i == 2)
			add(l, ids[i], names[i], "ok", "the QE report is signed by the PCK key and binds the attestation "
			    "key; the QE matches the QE Identity (%s)", dcap_tcb_status_name(r->qe_status));
		else if (v->link != NULL && v->err == TEELIZA_ERR_UNTRUSTED)
			add(l, ids[i], names[i], "fail", "%s", v->message);
		else
			add(l, ids[i], names[i], "ok", "a TDX quote signed by the attestation key; report data = "
			    "SHA-512(statement); TCB %s", dcap_tcb_status_name(r->status));
	}
}

static void identity_link(struct links *l)
{
	const tee_app_identity *id = &l->v->identity;
	char os[65] = "absent", compose[65] = "absent", app[41] = "absent";

	if (settled(l, "identity", "OS image, compose hash, app id", S_IDENTITY))
		return;
	if (id->has_os_image_hash)
		hexs(os, id->os_image_hash, 32);
	if (id->has_compose_hash)
		hexs(compose, id->compose_hash, 32);
	if (id->has_app_id)
		hexs(app, id->app_id, 20);
	add(l, "identity", "OS image, compose hash, app id", "ok",
	    "from the replayed log's events before system-ready: os-image-hash %s, compose-hash %s, app-id %s%s%s", os,
	    compose, app, id->has_key_provider ? ", key-provider " : "",
	    id->has_key_provider ? (id->key_provider_name[0] ? id->key_provider_name : "(unnamed)") : "");
}

static void provenance_links(struct links *l)
{
	const tee_reply_verdict *v = l->v;
	const tee_dstack_key_report *p = &v->provenance;
	char root[67] = "", app_pub[67] = "", app_id[41] = "";
	const char *note = v->provenance_note[0] ? v->provenance_note : "the bundle carries no GetKey signature chain";

	if (p->have_root)
		hexs(root, p->root_pub, sizeof(p->root_pub));
	if (p->have_app_pub)
		hexs(app_pub, p->app_pub, sizeof(p->app_pub));
	if (p->have_app_id)
		hexs(app_id, p->app_id, sizeof(p->app_id));
	if (l->failed < S_PROVENANCE) {
		add(l, "kms-root", "KMS root", "not-checked", "not checked: the \"%s\" link broke first", v->link);
		add(l, "app-key", "App key", "not-checked", "not checked: the \"%s\" link broke first", v->link);
		return;
	}
	if (l->failed == S_PROVENANCE && strcmp(l->failed_id, "app-key") == 0) {
		add(l, "kms-root", "KMS root", "not-checked", "not checked: the app key link broke first");
		add(l, "app-key", "App key", "fail", "%s", v->message);
		return;
	}
	if (l->failed == S_PROVENANCE)
		add(l, "kms-root", "KMS root", "fail", "%s", v->message);
	else if (!v->provenance_checked)
		add(l, "kms-root", "KMS root", "not-checked", "no KMS: %s", note);
	else if (v->provenance_err == TEELIZA_OK)
		add(l, "kms-root", "KMS root", "ok", "chain[1] recovers the KMS root %s, the pinned one", root);
	else
		add(l, "kms-root", "KMS root", "not-checked", "chain[1] recovers the KMS root %s, but no KMS root is pinned "
		    "to compare it with (TEE_KMS_ROOT, or kmsRoot in the request)", root);
	if (!v->provenance_checked)
		add(l, "app-key", "App key", "not-checked", "no KMS: %s", note);
	else
		add(l, "app-key", "App key", "ok", "chain[0] recovers the app key %s, which signs the reply key; app id "
		    "%s%s", app_pub, app_id, p->app_id_from_log ? " (the attested app-id event)" : "");
}

json_t *tee_reply_links_json(const tee_reply_verdict *v)
{
	struct links l;
	char chain_note[160];

	memset(&l, 0, sizeof(l));
	l.a = json_array();
	if (l.a == NULL)
		return NULL;
	l.v = v;
	l.failed = failed_step(v);
	l.failed_id = tee_reply_link_id(v);
	/* a bundle of the wrong form fails at the receipt, before any other link */
	if (l.failed == S_BUNDLE)
		l.failed = S_RECEIPT;
	dcap_links(&l);
	if (!settled(&l, "rtmr", "RTMR0-3 replay", S_RTMR))
		add(&l, "rtmr", "RTMR0-3 replay", "ok", "RTMR0-3 of the quote equal the replay of the bundle's event log");
	identity_link(&l);
	provenance_links(&l);
	if (!settled(&l, "keys", "Reply key and wallets", S_KEYS))
		add(&l, "keys", "Reply key and wallets", "ok", "the statement names reply key %s%s%s and wallets: %s",
		    v->reply_key, v->eip191_address[0] ? ", EIP-191 address " : "", v->eip191_address,
		    v->wallets[0] ? v->wallets : "none");
	if (!settled(&l, "receipt", "Receipt", S_RECEIPT))
		add(&l, "receipt", "Receipt", "ok", "receipt %s, seq %llu of agent %s, in canonical form", v->id,
		    (unsigned long long)v->seq, v->agent_id);
	if (!settled(&l, "signature", "Receipt signature", S_SIGNATURE))
		add(&l, "signature", "Receipt signature", "ok", "Ed25519 by the reply key verifies over the receipt%s",
		    v->eip191 ? "; the EIP-191 signature recovers to the statement's address" : "");
	if (!settled(&l, "chain", "Hash chain", S_CHAIN)) {
		if (!v->chain_checked)
			add(&l, "chain", "Hash chain", "not-checked", "no previous receipt to compare with (seq %llu)",
			    (unsigned long long)v->seq);
		else {
			if (v->seq == 1)
				snprintf(chain_note, sizeof(chain_note), "seq 1, the first of the chain: prev is all zeros");
			else
				snprintf(chain_note, sizeof(chain_note), "follows the previous receipt (seq %llu): prev is its "
				         "hash", (unsigned long long)(v->seq - 1));
			add(&l, "chain", "Hash chain", "ok", "%s", chain_note);
		}
	}
	if (l.oom) {
		json_decref(l.a);
		return NULL;
	}
	return l.a;
}
