/*
 * dcap_verify: the whole verification of one quote, in dcap-qvl's order with
 * Intel QVL's checks and statuses (docs/VERIFY.md lists every step). The
 * collateral's own chains and signatures, and each PCK chain seen, are
 * verified once and remembered inside the collateral for as long as the
 * certificates involved stay valid.
 */
#include "dcap/verify_internal.h"

#include <assert.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#include "teeliza/common/encoding.h"

/* td_attributes bits that must be zero: TUD 1..7, SEC 8..27 and 29, OTHER 32..62. */
#define TD_ATTR_RESERVED 0x7FFFFFFF2FFFFFFEull

static teeliza_err vfail(dcap_result *res, dcap_failure f, teeliza_err err, const char *fmt, va_list ap)
{
	vsnprintf(res->reason, sizeof(res->reason), fmt, ap);
	res->verdict = DCAP_VERDICT_FAILED;
	res->failure = f;
	res->violations = 0;
	res->status = res->platform_status = res->qe_status = res->module_status = DCAP_STATUS_NONE;
	res->advisory_count = 0;
	memset(res->advisory_ids, 0, sizeof(res->advisory_ids));
	res->tcb_date[0] = '\0';
	return teeliza_set_error(err, "%s", res->reason);
}

static teeliza_err fail(dcap_result *res, dcap_failure f, teeliza_err err, const char *fmt, ...) TEELIZA_PRINTF(4, 5);

static teeliza_err fail(dcap_result *res, dcap_failure f, teeliza_err err, const char *fmt, ...)
{
	va_list ap;
	teeliza_err rc;

	va_start(ap, fmt);
	rc = vfail(res, f, err, fmt, ap);
	va_end(ap);
	return rc;
}

teeliza_err dcap_result_fail(dcap_result *res, dcap_failure f, teeliza_err err, const char *fmt, ...)
{
	va_list ap;
	teeliza_err rc;

	assert(res != NULL && f > DCAP_FAIL_NONE && f < DCAP_FAIL__COUNT && err != TEELIZA_OK);
	va_start(ap, fmt);
	rc = vfail(res, f, err, fmt, ap);
	va_end(ap);
	return rc;
}

/* Fail with the detail a helper just recorded. */
static teeliza_err fail_last(dcap_result *res, dcap_failure f, teeliza_err err)
{
	char detail[sizeof(res->reason)];

	snprintf(detail, sizeof(detail), "%s", teeliza_errmsg());
	return fail(res, f, err, "%s", detail);
}

static void hex(char *out, const uint8_t *b, size_t n)
{
	teeliza_hex_encode(out, b, n);
}

/* ---- collateral: dates, chains, CRLs, signatures ---- */

static teeliza_err check_dates(dcap_result *res, const dcap_collateral *c, int64_t now, const dcap_policy *p)
{
	const struct {
		const char *what;
		int64_t from, until;
	} w[4] = {
		{"TCB Info", c->tcb.issue_date, c->tcb.next_update},
		{"QE Identity", c->qe.issue_date, c->qe.next_update},
		{"root CA CRL", c->root_crl_this, c->root_crl_next},
		{"PCK CRL", c->pck_crl_this, c->pck_crl_next},
	};
	char when[24], at[24], msg[sizeof(res->reason)];
	size_t i, used = 0;

	dcap_format_date(at, now);
	for (i = 0; i < 4; i++) {
		if (now < w[i].from) {
			dcap_format_date(when, w[i].from);
			return fail(res, DCAP_FAIL_EXPIRED, TEELIZA_ERR_EXPIRED,
			            "%s issue date is in the future: issued %s, now is %s", w[i].what, when, at);
		}
	}
	msg[0] = '\0';
	for (i = 0; i < 4; i++) {
		if (now <= w[i].until)
			continue;
		res->collateral_expired = true;
		dcap_format_date(when, w[i].until);
		used += (size_t)snprintf(msg + used, sizeof(msg) - used, "%s%s expired at %s", used ? "; " : "",
		                         w[i].what, when);
		if (used >= sizeof(msg))
			used = sizeof(msg) - 1;
	}
	if (res->collateral_expired && p->expired == DCAP_EXPIRED_REJECT)
		return fail(res, DCAP_FAIL_EXPIRED, TEELIZA_ERR_EXPIRED, "%s (now is %s)", msg, at);
	return TEELIZA_OK;
}

/* The CRLs' signatures: the root CA CRL by the root above the TCB Info chain, the PCK CRL by its issuer chain's leaf. */
static teeliza_err check_crls(dcap_result *res, dcap_collateral *c)
{
	X509 *root;
	teeliza_err err = TEELIZA_OK;

	pthread_mutex_lock(&c->lock);
	if (c->crls_ok)
		goto out;
	root = dcap_chain_anchor(c->tcb_chain, c->pool);
	if (root == NULL) {
		err = fail(res, DCAP_FAIL_CHAIN, TEELIZA_ERR_VERIFY, "the TCB Info issuer chain has no root certificate");
		goto out;
	}
	err = dcap_crl_accept(&c->crls[0], c->root_crl, root, "the root CA CRL", "the root of the TCB Info issuer chain");
	if (!err)
		err = dcap_crl_accept(&c->crls[1], c->pck_crl_obj, sk_X509_value(c->pck_crl_chain, 0), "the PCK CRL",
		                      "the first certificate of the PCK CRL issuer chain");
	if (err) {
		err = fail_last(res, DCAP_FAIL_CHAIN, err == TEELIZA_ERR_UNSUPPORTED ? TEELIZA_ERR_UNSUPPORTED
		                                                                      : TEELIZA_ERR_VERIFY);
		goto out;
	}
	c->crls_ok = true;
out:
	pthread_mutex_unlock(&c->lock);
	return err;
}

static void narrow(dcap_collateral *c, const dcap_chain_check *k)
{
	if (k->valid_from > c->memo_from)
		c->memo_from = k->valid_from;
	if (k->valid_until < c->memo_until)
		c->memo_until = k->valid_until;
}

/*
 * One of the collateral's chains: verified, unless it is a piece of a path
 * this verification already verified (the QE Identity chain is usually the
 * TCB Info chain, the PCK CRL issuer chain the top of the quote's PCK chain).
 * Either way every certificate it holds is on a verified path to a trusted
 * root: a certificate of its own (a forged root with Intel's name, an
 * appended one) sends it through the full check, which rejects it.
 */
static teeliza_err check_chain(dcap_result *res, dcap_collateral *c, STACK_OF(X509) *chain, int64_t now,
                               const dcap_trust *trust, dcap_verified_paths *seen, const char *what)
{
	dcap_chain_check k;
	teeliza_err err;

	if (!dcap_chain_on_path(&k, seen, chain)) {
		err = dcap_chain_verify(&k, chain, c->pool, c->crls, 2, trust, now, seen, what);
		if (err)
			return fail_last(res, k.failure, err);
	}
	narrow(c, &k);
	return TEELIZA_OK;
}

/* The TCB Info, QE Identity and PCK CRL issuer chains, and the TCB Info and QE Identity signatures. */
static teeliza_err verify_collateral_pki(dcap_result *res, dcap_collateral *c, int64_t now, const dcap_trust *trust,
                                         dcap_verified_paths *seen)
{
	EVP_PKEY *key;
	teeliza_err err;

	c->memo_from = INT64_MIN;
	c->memo_until = INT64_MAX;
	err = check_chain(res, c, c->tcb_chain, now, trust, seen, "the TCB Info issuer chain");
	if (!err)
		err = check_chain(res, c, c->qe_chain, now, trust, seen, "the QE Identity issuer chain");
	if (!err)
		err = check_chain(res, c, c->pck_crl_chain, now, trust, seen, "the PCK CRL issuer chain");
	if (err)
		return err;

	key = X509_get0_pubkey(sk_X509_value(c->tcb_chain, 0));
	if (key == NULL || dcap_ecdsa_verify(key, c->tcb_info_signature, (const uint8_t *)c->tcb_info,
	                                     c->tcb_info_len) != TEELIZA_OK)
		return fail(res, DCAP_FAIL_COLLATERAL_SIGNATURE, TEELIZA_ERR_VERIFY,
		            "TCB Info signature is invalid: it does not verify over the exact tcb_info bytes with the "
		            "TCB Signing certificate");
	key = X509_get0_pubkey(sk_X509_value(c->qe_chain, 0));
	if (key == NULL || dcap_ecdsa_verify(key, c->qe_identity_signature, (const uint8_t *)c->qe_identity,
	                                     c->qe_identity_len) != TEELIZA_OK)
		return fail(res, DCAP_FAIL_COLLATERAL_SIGNATURE, TEELIZA_ERR_VERIFY,
		            "QE Identity signature is invalid: it does not verify over the exact qe_identity bytes with "
		            "the QE Identity signing certificate");
	c->memo_trust_id = trust->id;
	c->memo_ok = true;
	return TEELIZA_OK;
}

static teeliza_err check_collateral(dcap_result *res, dcap_collateral *c, int64_t now, const dcap_trust *trust,
                                    dcap_verified_paths *seen)
{
	teeliza_err err = TEELIZA_OK;

	pthread_mutex_lock(&c->lock);
	if (!(c->memo_ok && c->memo_trust_id == trust->id && now >= c->memo_from && now <= c->memo_until)) {
		c->memo_ok = false;
		err = verify_collateral_pki(res, c, now, trust, seen);
	}
	pthread_mutex_unlock(&c->lock);
	return err;
}

/* ---- the quote's PCK chain ---- */

typedef struct pck_view {
	dcap_pck_ext ext;
	bool platform_ca;
	EVP_PKEY *key;             /* a reference the caller frees */
	dcap_chain_check check;
} pck_view;

static bool memo_lookup(pck_view *out, dcap_collateral *c, const uint8_t h[32], uint64_t trust_id, int64_t now)
{
	size_t i;
	bool found = false;

	pthread_mutex_lock(&c->lock);
	for (i = 0; i < DCAP_PCK_MEMO; i++) {
		dcap_pck_memo *m = &c->pck_memo[i];

		if (!m->used || m->trust_id != trust_id || memcmp(m->pem_sha256, h, 32) != 0 || now < m->valid_from ||
		    now > m->valid_until)
			continue;
		out->ext = m->ext;
		out->platform_ca = m->platform_ca;
		out->check = m->check;
		out->key = m->key;
		EVP_PKEY_up_ref(out->key);
		m->stamp = ++c->pck_stamp;
		found = true;
		break;
	}
	pthread_mutex_unlock(&c->lock);
	return found;
}

static void memo_store(dcap_collateral *c, const uint8_t h[32], uint64_t trust_id, const pck_view *v)
{
	dcap_pck_memo *slot = &c->pck_memo[0];
	size_t i;

	pthread_mutex_lock(&c->lock);
	for (i = 0; i < DCAP_PCK_MEMO; i++) {
		if (!c->pck_memo[i].used) {
			slot = &c->pck_memo[i];
			break;
		}
		if (c->pck_memo[i].stamp < slot->stamp)
			slot = &c->pck_memo[i];
	}
	EVP_PKEY_free(slot->key);
	memset(slot, 0, sizeof(*slot));
	slot->used = true;
	memcpy(slot->pem_sha256, h, 32);
	slot->trust_id = trust_id;
	slot->valid_from = v->check.valid_from;
	slot->valid_until = v->check.valid_until;
	slot->check = v->check;
	slot->check.root = NULL; /* the quote's chain is gone after this call */
	slot->ext = v->ext;
	slot->platform_ca = v->platform_ca;
	slot->key = v->key;
	EVP_PKEY_up_ref(slot->key);
	slot->stamp = ++c->pck_stamp;
	pthread_mutex_unlock(&c->lock);
}

/* The quote's PCK chain: from the memo, or verified (its path then added to seen). */
static teeliza_err check_pck(dcap_result *res, pck_view *v, dcap_verified_paths *seen, dcap_collateral *c,
                             const dcap_quote *q, int64_t now, const dcap_trust *trust)
{
	STACK_OF(X509) *chain = NULL;
	uint8_t h[32];
	char cn[128];
	X509 *leaf;
	teeliza_err err;

	memset(v, 0, sizeof(*v));
	dcap_sha256_of(h, q->cert_data, q->cert_data_len);
	if (memo_lookup(v, c, h, trust->id, now))
		return TEELIZA_OK;
	err = dcap_pem_chain(&chain, (const char *)q->cert_data, q->cert_data_len, "the quote's PCK certificate chain");
	if (err)
		return fail_last(res, DCAP_FAIL_BAD_QUOTE, err);
	err = dcap_chain_verify(&v->check, chain, c->pool, c->crls, 2, trust, now, seen,
	                        "the quote's PCK certificate chain");
	if (err) {
		err = fail_last(res, v->check.failure, err);
		goto out;
	}
	leaf = sk_X509_value(chain, 0);
	err = dcap_pck_ext_parse(&v->ext, leaf);
	if (err) {
		char detail[400];

		snprintf(detail, sizeof(detail), "%s", teeliza_errmsg());
		err = fail(res, DCAP_FAIL_BAD_QUOTE, err == TEELIZA_ERR_NOMEM ? err : TEELIZA_ERR_PARSE,
		           "PCK certificate SGX extension: %s", detail);
		goto out;
	}
	v->key = X509_get0_pubkey(leaf);
	if (v->key == NULL || !EVP_PKEY_is_a(v->key, "EC") || EVP_PKEY_get_bits(v->key) != 256) {
		v->key = NULL;
		err = fail(res, DCAP_FAIL_BAD_QUOTE, TEELIZA_ERR_UNSUPPORTED, "the PCK certificate key is not P-256");
		goto out;
	}
	EVP_PKEY_up_ref(v->key);
	if (X509_NAME_get_text_by_NID(X509_get_issuer_name(leaf), NID_commonName, cn, (int)sizeof(cn)) > 0)
		v->platform_ca = strstr(cn, "Platform") != NULL;
	v->check.root = NULL; /* it may be in the chain, freed below */
	memo_store(c, h, trust->id, v);
out:
	sk_X509_pop_free(chain, X509_free);
	return err;
}

/* ---- QE report and identity ---- */

/*
 * A quoting enclave signs many quotes with one attestation key and one QE
 * report, so a collateral remembers QE reports whose PCK signature verified
 * (keyed by the PCK chain, the report and the signature) with the parsed
 * attestation key.
 */
static void qe_memo_key(uint8_t out[32], const uint8_t pem_hash[32], const dcap_quote *q)
{
	uint8_t buf[32 + DCAP_SGX_REPORT_LEN + 64];

	memcpy(buf, pem_hash, 32);
	memcpy(buf + 32, q->qe_report.raw, DCAP_SGX_REPORT_LEN);
	memcpy(buf + 32 + DCAP_SGX_REPORT_LEN, q->qe_report_sig, 64);
	dcap_sha256_of(out, buf, sizeof(buf));
}

/* A new reference to the remembered attestation key when this QE report already verified, else NULL. */
static EVP_PKEY *qe_memo_get(dcap_collateral *c, const uint8_t key[32], const uint8_t att_xy[64])
{
	EVP_PKEY *att = NULL;
	size_t i;

	pthread_mutex_lock(&c->lock);
	for (i = 0; i < DCAP_QE_MEMO; i++) {
		dcap_qe_memo *m = &c->qe_memo[i];

		if (m->used && memcmp(m->key, key, 32) == 0 && memcmp(m->att_xy, att_xy, 64) == 0) {
			att = m->att;
			EVP_PKEY_up_ref(att);
			m->stamp = ++c->pck_stamp;
			break;
		}
	}
	pthread_mutex_unlock(&c->lock);
	return att;
}

static void qe_memo_put(dcap_collateral *c, const uint8_t key[32], const uint8_t att_xy[64], EVP_PKEY *att)
{
	dcap_qe_memo *slot = &c->qe_memo[0];
	size_t i;

	pthread_mutex_lock(&c->lock);
	for (i = 0; i < DCAP_QE_MEMO; i++) {
		if (!c->qe_memo[i].used) {
			slot = &c->qe_memo[i];
			break;
		}
		if (c->qe_memo[i].stamp < slot->stamp)
			slot = &c->qe_memo[i];
	}
	EVP_PKEY_free(slot->att);
	slot->used = true;
	memcpy(slot->key, key, 32);
	memcpy(slot->att_xy, att_xy, 64);
	slot->att = att;
	EVP_PKEY_up_ref(att);
	slot->stamp = ++c->pck_stamp;
	pthread_mutex_unlock(&c->lock);
}

static teeliza_err check_qe_report(dcap_result *res, const dcap_quote *q, EVP_PKEY *pck_key, bool sig_known_good)
{
	static const uint8_t zero[32];
	EVP_MD_CTX *md;
	uint8_t h[32];
	unsigned int hl = 32;
	int ok;

	if (!sig_known_good &&
	    dcap_ecdsa_verify(pck_key, q->qe_report_sig, q->qe_report.raw, DCAP_SGX_REPORT_LEN) != TEELIZA_OK)
		return fail(res, DCAP_FAIL_QE_REPORT, TEELIZA_ERR_VERIFY,
		            "QE report signature is invalid: it does not verify with the PCK certificate key");
	md = EVP_MD_CTX_new();
	ok = md != NULL && EVP_DigestInit_ex(md, dcap_sha256(), NULL) == 1 &&
	     EVP_DigestUpdate(md, q->att_pub_key, 64) == 1 && EVP_DigestUpdate(md, q->qe_auth, q->qe_auth_len) == 1 &&
	     EVP_DigestFinal_ex(md, h, &hl) == 1;
	EVP_MD_CTX_free(md);
	if (!ok)
		return fail(res, DCAP_FAIL_QE_REPORT, TEELIZA_ERR_CRYPTO, "SHA-256 failed");
	if (memcmp(h, q->qe_report.report_data, 32) != 0)
		return fail(res, DCAP_FAIL_QE_REPORT, TEELIZA_ERR_VERIFY,
		            "QE report data does not bind the attestation key: SHA-256(attestation key || QE auth data) "
		            "differs from the first 32 bytes of the QE report's report_data");
	if (memcmp(zero, q->qe_report.report_data + 32, 32) != 0)
		return fail(res, DCAP_FAIL_QE_REPORT, TEELIZA_ERR_VERIFY,
		            "QE report data: the last 32 bytes of the QE report's report_data must be zero");
	return TEELIZA_OK;
}

static teeliza_err check_qe_identity(dcap_result *res, const dcap_id_level **level, const dcap_collateral *c,
                                     const dcap_quote *q)
{
	const dcap_qe_identity *qi = &c->qe;
	const dcap_sgx_report *r = &q->qe_report;
	bool tdx = q->header.tee_type == DCAP_TEE_TYPE_TDX;
	char a[65], b[65];
	size_t i;

	*level = NULL;
	if (strcmp(qi->id, tdx ? "TD_QE" : "QE") != 0)
		return fail(res, DCAP_FAIL_QE_IDENTITY, TEELIZA_ERR_VERIFY,
		            "QE Identity id is \"%s\" but a%s quote needs \"%s\"", qi->id, tdx ? " TDX" : "n SGX",
		            tdx ? "TD_QE" : "QE");
	if (memcmp(r->mrsigner, qi->mrsigner, 32) != 0) {
		hex(a, r->mrsigner, 32);
		hex(b, qi->mrsigner, 32);
		return fail(res, DCAP_FAIL_QE_IDENTITY, TEELIZA_ERR_VERIFY,
		            "QE mrsigner %s differs from the QE Identity's %s", a, b);
	}
	if (r->isvprodid != qi->isvprodid)
		return fail(res, DCAP_FAIL_QE_IDENTITY, TEELIZA_ERR_VERIFY,
		            "QE isvprodid %u differs from the QE Identity's %u", r->isvprodid, qi->isvprodid);
	if ((r->miscselect & qi->miscselect_mask) != (qi->miscselect & qi->miscselect_mask))
		return fail(res, DCAP_FAIL_QE_IDENTITY, TEELIZA_ERR_VERIFY,
		            "QE miscselect %08x does not match the QE Identity's %08x under mask %08x", r->miscselect,
		            qi->miscselect, qi->miscselect_mask);
	for (i = 0; i < 16; i++) {
		if ((r->attributes[i] & qi->attributes_mask[i]) != (qi->attributes[i] & qi->attributes_mask[i])) {
			hex(a, r->attributes, 16);
			hex(b, qi->attributes, 16);
			return fail(res, DCAP_FAIL_QE_IDENTITY, TEELIZA_ERR_VERIFY,
			            "QE attributes %s do not match the QE Identity's %s under its mask", a, b);
		}
	}
	if (r->attributes[0] & 0x02)
		return fail(res, DCAP_FAIL_QE_IDENTITY, TEELIZA_ERR_VERIFY, "the QE is a debug enclave");
	*level = dcap_id_level_match(qi->levels, qi->nlevels, r->isvsvn);
	if (*level == NULL)
		return fail(res, DCAP_FAIL_TCB_NOT_SUPPORTED, TEELIZA_ERR_VERIFY,
		            "QE isvsvn %u is below every QE Identity level: TCB not supported", r->isvsvn);
	return TEELIZA_OK;
}

/* ---- TDX module identity (QVL 4.1.2.4.11) ---- */

static teeliza_err check_tdx_module(dcap_result *res, const dcap_tcb_info *ti, const dcap_td_report *td)
{
	const uint8_t *mrsigner = ti->module_mrsigner, *attrs = ti->module_attributes;
	uint8_t seam[8];
	char a[97], b[97];
	size_t i;

	if (td->tee_tcb_svn[1] > 0) {
		const dcap_module_identity *m = dcap_tcb_info_find_module(ti, td->tee_tcb_svn[1]);

		if (m == NULL)
			return fail(res, DCAP_FAIL_TDX_MODULE_MISMATCH, TEELIZA_ERR_VERIFY,
			            "TCB Info has no TDX module identity TDX_%02X for the TD's module major version %u",
			            td->tee_tcb_svn[1], td->tee_tcb_svn[1]);
		mrsigner = m->mrsigner;
		attrs = m->attributes;
	}
	if (memcmp(td->mrsignerseam, mrsigner, 48) != 0) {
		hex(a, td->mrsignerseam, 48);
		hex(b, mrsigner, 48);
		return fail(res, DCAP_FAIL_TDX_MODULE_MISMATCH, TEELIZA_ERR_VERIFY,
		            "TDX module mrsignerseam %s differs from the TCB Info's %s", a, b);
	}
	for (i = 0; i < 8; i++)
		seam[i] = (uint8_t)(td->seam_attributes >> (8 * i));
	for (i = 0; i < 8; i++) {
		if (seam[i] != 0 || attrs[i] != 0) {
			hex(a, seam, 8);
			hex(b, attrs, 8);
			return fail(res, DCAP_FAIL_TDX_MODULE_MISMATCH, TEELIZA_ERR_VERIFY,
			            "TDX module seam_attributes %s must be zero and equal to the TCB Info's %s", a, b);
		}
	}
	return TEELIZA_OK;
}

/* ---- results ---- */

static void add_advisories(dcap_result *res, const json_t *arr)
{
	const json_t *v;
	size_t i, j;

	json_array_foreach(arr, i, v) {
		const char *s = json_string_value(v);
		bool dup = false;

		for (j = 0; j < res->advisory_count && !dup; j++)
			dup = strcmp(res->advisory_ids[j], s) == 0;
		if (dup || res->advisory_count >= DCAP_MAX_ADVISORIES)
			continue;
		snprintf(res->advisory_ids[res->advisory_count++], DCAP_ADVISORY_LEN, "%s", s);
	}
}

static int match(const uint8_t *got, const uint8_t *want, size_t n)
{
	return teeliza_ct_eq(got, want, n) ? 1 : 0;
}

static teeliza_err check_expectations(dcap_result *res, const dcap_quote *q, const dcap_policy *p)
{
	bool tdx = q->header.tee_type == DCAP_TEE_TYPE_TDX;
	const uint8_t *rd = tdx ? q->body.td.report_data : q->body.sgx.report_data;
	char what[160];
	size_t used = 0, i;

	what[0] = '\0';
	if (p->expect_report_data != NULL) {
		res->report_data_match = match(rd, p->expect_report_data, 64);
		if (!res->report_data_match)
			used += (size_t)snprintf(what + used, sizeof(what) - used, "%sreport_data", used ? ", " : "");
	}
	if (p->expect_mrtd != NULL) {
		res->mrtd_match = tdx ? match(q->body.td.mrtd, p->expect_mrtd, 48) : 0;
		if (!res->mrtd_match && used < sizeof(what))
			used += (size_t)snprintf(what + used, sizeof(what) - used, "%sMRTD", used ? ", " : "");
	}
	for (i = 0; i < 4; i++) {
		if (p->expect_rtmr[i] == NULL)
			continue;
		res->rtmr_match[i] = tdx ? match(q->body.td.rtmr[i], p->expect_rtmr[i], 48) : 0;
		if (!res->rtmr_match[i] && used < sizeof(what))
			used += (size_t)snprintf(what + used, sizeof(what) - used, "%sRTMR%zu", used ? ", " : "", i);
	}
	if (used == 0)
		return TEELIZA_OK;
	return fail(res, DCAP_FAIL_EXPECTATION, TEELIZA_ERR_VERIFY,
	            "the quote does not bind the expected %s%s", what,
	            tdx ? "" : " (an SGX quote has no MRTD or RTMRs)");
}

static void append(char *buf, size_t cap, size_t *used, const char *s)
{
	int n;

	if (*used >= cap)
		return;
	n = snprintf(buf + *used, cap - *used, "%s%s", *used ? "; " : "", s);
	*used = n < 0 ? cap : *used + (size_t)n;
	if (*used >= cap)
		*used = cap - 1;
}

static void apply_policy(dcap_result *res, const dcap_quote *q, const dcap_policy *p)
{
	char buf[sizeof(res->reason)], tmp[160];
	size_t used = 0;
	bool tdx = q->header.tee_type == DCAP_TEE_TYPE_TDX;

	buf[0] = '\0';
	if (tdx ? !p->allow_tdx : !p->allow_sgx) {
		res->violations |= DCAP_VIOLATION_TEE_TYPE;
		append(buf, sizeof(buf), &used, tdx ? "TDX quotes are not allowed" : "SGX quotes are not allowed");
	}
	if (res->status == DCAP_STATUS_REVOKED || !(p->accepted & DCAP_STATUS_BIT(res->status))) {
		res->violations |= DCAP_VIOLATION_STATUS;
		snprintf(tmp, sizeof(tmp), "TCB status %s is not accepted", dcap_tcb_status_name(res->status));
		append(buf, sizeof(buf), &used, tmp);
	}
	if (tdx) {
		uint64_t a = q->body.td.td_attributes;

		if ((a & DCAP_TD_ATTR_DEBUG) && !p->allow_debug) {
			res->violations |= DCAP_VIOLATION_DEBUG;
			append(buf, sizeof(buf), &used, "the TD is in DEBUG mode (td_attributes bit 0)");
		}
		if (a & TD_ATTR_RESERVED) {
			res->violations |= DCAP_VIOLATION_RESERVED_ATTR;
			snprintf(tmp, sizeof(tmp), "reserved td_attributes bits are set (%016llx)",
			         (unsigned long long)(a & TD_ATTR_RESERVED));
			append(buf, sizeof(buf), &used, tmp);
		}
		if (!(a & DCAP_TD_ATTR_SEPT_VE_DISABLE) && p->require_sept_ve_disable) {
			res->violations |= DCAP_VIOLATION_SEPT_VE;
			append(buf, sizeof(buf), &used,
			       "SEPT_VE_DISABLE is not set (td_attributes bit 28): the TD can be sent #VE on EPT "
			       "violations, so the host can observe its memory accesses; allow with "
			       "require_sept_ve_disable = false");
		}
		if (q->body.td.mr_service_td != NULL && !p->allow_service_td) {
			static const uint8_t zero[48];

			if (memcmp(q->body.td.mr_service_td, zero, 48) != 0) {
				res->violations |= DCAP_VIOLATION_SERVICE_TD;
				append(buf, sizeof(buf), &used, "mr_service_td is not zero: a service TD is bound");
			}
		}
	} else if ((q->body.sgx.attributes[0] & 0x02) && !p->allow_debug) {
		res->violations |= DCAP_VIOLATION_DEBUG;
		append(buf, sizeof(buf), &used, "the enclave is a debug enclave (attributes bit 1)");
	}
	if (res->collateral_expired && p->expired == DCAP_EXPIRED_UNTRUSTED) {
		res->violations |= DCAP_VIOLATION_EXPIRED;
		append(buf, sizeof(buf), &used, "the collateral has expired");
	}
	if (res->violations) {
		res->verdict = DCAP_VERDICT_UNTRUSTED;
		snprintf(res->reason, sizeof(res->reason), "not trusted under the policy: %s", buf);
		return;
	}
	res->verdict = DCAP_VERDICT_TRUSTED;
	snprintf(res->reason, sizeof(res->reason), "trusted: %s, verified to %s%s", dcap_tcb_status_name(res->status),
	         res->intel_root ? "the Intel SGX Root CA" : "an explicitly trusted non-Intel (simulator) root",
	         res->collateral_expired ? " with expired collateral" : "");
}

static void fill_from_collateral(dcap_result *res, const dcap_collateral *c)
{
	dcap_collateral_info info;

	dcap_collateral_get_info(&info, c);
	res->collateral_not_after = info.not_after;
	res->tcb_eval_number = c->tcb.eval_number;
}

static teeliza_err verify_quote(dcap_result *res, const uint8_t *quote, size_t quote_len, dcap_collateral *c,
                                int64_t now, const dcap_policy *p, const dcap_trust *trust)
{
	dcap_quote *q = &res->quote;
	pck_view pck = {0};
	dcap_verified_paths seen = {0};
	uint8_t pem_hash[32], qe_key[32];
	const dcap_id_level *qe_level;
	dcap_tcb_eval ev;
	EVP_PKEY *att = NULL;
	char a[17], b[17];
	teeliza_err err;

	err = dcap_quote_parse(q, quote, quote_len);
	if (err) {
		dcap_header h;
		char detail[400];

		snprintf(detail, sizeof(detail), "%s", teeliza_errmsg());
		if (dcap_header_parse(&h, quote, quote_len) == TEELIZA_OK &&
		    memcmp(h.qe_vendor_id, DCAP_INTEL_QE_VENDOR_ID, 16) != 0) {
			hex(a, h.qe_vendor_id, 8);
			return fail(res, DCAP_FAIL_BAD_QUOTE, err, "%s; its QE vendor ID %s... is not Intel's either",
			            detail, a);
		}
		return fail(res, DCAP_FAIL_BAD_QUOTE, err, "%s", detail);
	}
	res->quote_parsed = true;
	res->tdx = q->header.tee_type == DCAP_TEE_TYPE_TDX;
	if (memcmp(q->header.qe_vendor_id, DCAP_INTEL_QE_VENDOR_ID, 16) != 0) {
		hex(a, q->header.qe_vendor_id, 8);
		return fail(res, DCAP_FAIL_BAD_QUOTE, TEELIZA_ERR_UNSUPPORTED,
		            "QE vendor ID %s... is not Intel's (939a7233f79c4ca9940a0db3957f0607)", a);
	}
	fill_from_collateral(res, c);

	err = check_dates(res, c, now, p);
	if (err)
		return err;
	if (c->tcb.tdx != res->tdx)
		return fail(res, DCAP_FAIL_TCB_MISMATCH, TEELIZA_ERR_VERIFY,
		            "the TCB Info is for %s but the quote is %s", c->tcb.tdx ? "TDX" : "SGX",
		            res->tdx ? "TDX" : "SGX");
	err = check_crls(res, c);
	if (!err)
		err = check_pck(res, &pck, &seen, c, q, now, trust);
	if (err)
		goto out;
	memcpy(res->root_sha256, pck.check.root_sha256, 32);
	res->intel_root = pck.check.intel_root;
	memcpy(res->fmspc, pck.ext.fmspc, 6);
	memcpy(res->pceid, pck.ext.pceid, 2);
	err = check_collateral(res, c, now, trust, &seen);
	if (err)
		goto out;

	if (memcmp(pck.ext.fmspc, c->tcb.fmspc, 6) != 0) {
		hex(a, pck.ext.fmspc, 6);
		hex(b, c->tcb.fmspc, 6);
		err = fail(res, DCAP_FAIL_TCB_MISMATCH, TEELIZA_ERR_VERIFY,
		           "FMSPC of the PCK certificate (%s) differs from the TCB Info's (%s)", a, b);
		goto out;
	}
	if (memcmp(pck.ext.pceid, c->tcb.pceid, 2) != 0) {
		hex(a, pck.ext.pceid, 2);
		hex(b, c->tcb.pceid, 2);
		err = fail(res, DCAP_FAIL_TCB_MISMATCH, TEELIZA_ERR_VERIFY,
		           "PCEID of the PCK certificate (%s) differs from the TCB Info's (%s)", a, b);
		goto out;
	}
	dcap_sha256_of(pem_hash, q->cert_data, q->cert_data_len);
	qe_memo_key(qe_key, pem_hash, q);
	att = qe_memo_get(c, qe_key, q->att_pub_key);
	err = check_qe_report(res, q, pck.key, att != NULL);
	if (!err)
		err = check_qe_identity(res, &qe_level, c, q);
	if (err)
		goto out;

	if (att == NULL) {
		err = dcap_p256_key(&att, q->att_pub_key);
		if (err) {
			err = fail(res, DCAP_FAIL_BAD_QUOTE, TEELIZA_ERR_PARSE, "the attestation key is not a P-256 point");
			goto out;
		}
		qe_memo_put(c, qe_key, q->att_pub_key, att);
	}
	if (dcap_ecdsa_verify(att, q->signature, q->signed_data, q->signed_len) != TEELIZA_OK) {
		err = fail(res, DCAP_FAIL_QUOTE_SIGNATURE, TEELIZA_ERR_VERIFY,
		           "quote signature is invalid: the attestation key's signature over header and body does not "
		           "verify");
		goto out;
	}
	if (res->tdx) {
		err = check_tdx_module(res, &c->tcb, &q->body.td);
		if (err)
			goto out;
	}

	err = dcap_tcb_evaluate(&ev, &c->tcb, &pck.ext, q, qe_level->status);
	if (err) {
		err = fail_last(res, ev.failure, err);
		goto out;
	}
	res->platform_status = ev.platform_status;
	res->qe_status = qe_level->status;
	res->module_status = ev.module != NULL ? ev.module_status : DCAP_STATUS_NONE;
	res->status = ev.converged;
	{
		const dcap_tcb_level *pl = ev.tdx_level != NULL ? ev.tdx_level : ev.sgx_level;

		memcpy(res->tcb_date, pl->tcb_date, sizeof(res->tcb_date));
		add_advisories(res, pl->advisories);
	}
	if (ev.module_level != NULL)
		add_advisories(res, ev.module_level->advisories);
	add_advisories(res, qe_level->advisories);

	err = check_expectations(res, q, p);
	if (err)
		goto out;
	apply_policy(res, q, p);
	if (res->verdict != DCAP_VERDICT_TRUSTED)
		err = teeliza_set_error(TEELIZA_ERR_UNTRUSTED, "%s", res->reason);
	else
		teeliza_clear_error();
out:
	dcap_verified_paths_free(&seen);
	EVP_PKEY_free(att);
	EVP_PKEY_free(pck.key);
	return err;
}

teeliza_err dcap_verify(dcap_result *res, const uint8_t *quote, size_t quote_len, dcap_collateral *coll,
                        int64_t now, const dcap_policy *policy, const dcap_trust *trust)
{
	dcap_policy defaults;
	size_t i;

	assert(res != NULL && coll != NULL && (quote != NULL || quote_len == 0));
	memset(res, 0, sizeof(*res));
	res->report_data_match = res->mrtd_match = -1;
	for (i = 0; i < 4; i++)
		res->rtmr_match[i] = -1;
	if (policy == NULL) {
		dcap_policy_init(&defaults);
		policy = &defaults;
	}
	if (trust == NULL)
		trust = dcap_trust_default();
	return verify_quote(res, quote, quote_len, coll, now, policy, trust);
}

void dcap_policy_init(dcap_policy *p)
{
	const dcap_policy d = DCAP_POLICY_INIT;

	*p = d;
}
