/*
 * Certificate chains and CRLs for the verifier.
 *
 * Chains are verified with OpenSSL's X509_STORE at an explicit time, with a
 * revocation check of our own plugged in (X509_STORE_set_check_revocation):
 * every certificate of the chain, the root included, must be covered by a
 * CRL from its issuer whose signature was verified with that issuer's key
 * beforehand, and must not be listed in it. Each CRL signature is checked
 * once per verification instead of once per certificate, as OpenSSL's own
 * CRL_CHECK_ALL would. The trust anchor is found in the chains themselves
 * and trusted only when its SHA-256 fingerprint is in the dcap_trust set.
 * Certificates and CRLs come decoded from x509_decode.c.
 */
#include "dcap/verify_internal.h"

#include <limits.h>
#include <openssl/err.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "teeliza/common/encoding.h"

int64_t dcap_asn1_time(const ASN1_TIME *t)
{
	struct tm tm;
	int64_t y, m, d, era, yoe, doy, doe;

	if (t == NULL || ASN1_TIME_to_tm(t, &tm) != 1)
		return 0;
	/* tm is UTC; count days rather than call timegm, which depends on the environment. */
	y = tm.tm_year + 1900;
	m = tm.tm_mon + 1;
	d = tm.tm_mday;
	y -= m <= 2;
	era = (y >= 0 ? y : y - 399) / 400;
	yoe = y - era * 400;
	doy = (153 * (m + (m > 2 ? -3 : 9)) + 2) / 5 + d - 1;
	doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
	return (era * 146097 + doe - 719468) * 86400 + tm.tm_hour * 3600 + tm.tm_min * 60 + tm.tm_sec;
}

static void subject_cn(char *out, size_t cap, X509 *x)
{
	if (x == NULL || X509_NAME_get_text_by_NID(X509_get_subject_name(x), NID_commonName, out, (int)cap) < 0)
		snprintf(out, cap, "?");
}

/* ---- CRLs ---- */

/* No critical extension we do not understand, in the CRL or any entry (no delta or indirect CRLs). */
static bool crl_extensions_ok(X509_CRL *crl)
{
	STACK_OF(X509_REVOKED) *revs = X509_CRL_get_REVOKED(crl);
	int i, j;

	for (i = 0; i < X509_CRL_get_ext_count(crl); i++)
		if (X509_EXTENSION_get_critical(X509_CRL_get_ext(crl, i)))
			return false;
	for (i = 0; i < sk_X509_REVOKED_num(revs); i++) {
		const STACK_OF(X509_EXTENSION) *exts = X509_REVOKED_get0_extensions(sk_X509_REVOKED_value(revs, i));

		for (j = 0; j < sk_X509_EXTENSION_num(exts); j++)
			if (X509_EXTENSION_get_critical(sk_X509_EXTENSION_value(exts, j)))
				return false;
	}
	return true;
}

teeliza_err dcap_crl_accept(dcap_crl_ref *out, X509_CRL *crl, X509 *issuer, const char *what, const char *issuer_what)
{
	EVP_PKEY *key = X509_get0_pubkey(issuer);
	char cn[128];

	memset(out, 0, sizeof(*out));
	subject_cn(cn, sizeof(cn), issuer);
	if (X509_NAME_cmp(X509_CRL_get_issuer(crl), X509_get_subject_name(issuer)) != 0)
		return teeliza_set_error(TEELIZA_ERR_VERIFY, "%s is not issued by %s (\"%s\")", what, issuer_what, cn);
	if (key == NULL || X509_CRL_verify(crl, key) != 1) {
		ERR_clear_error();
		return teeliza_set_error(TEELIZA_ERR_VERIFY, "%s signature does not verify with the key of %s (\"%s\")",
		                         what, issuer_what, cn);
	}
	if (!crl_extensions_ok(crl))
		return teeliza_set_error(TEELIZA_ERR_UNSUPPORTED, "%s has a critical extension (delta or indirect CRL)",
		                         what);
	out->crl = crl;
	out->signer = key;
	return TEELIZA_OK;
}

/* ---- chains ---- */

static bool self_signed(X509 *x)
{
	return X509_check_issued(x, x) == X509_V_OK;
}

/* An issuer of x in list: any certificate when roots_only is false, else only self-signed ones. */
static X509 *find_issuer(X509 *x, STACK_OF(X509) *list, bool roots_only)
{
	int i;

	for (i = 0; list != NULL && i < sk_X509_num(list); i++) {
		X509 *c = sk_X509_value(list, i);

		if (c != x && X509_check_issued(c, x) == X509_V_OK && (!roots_only || self_signed(c)))
			return c;
	}
	return NULL;
}

/*
 * Intermediates must come from the chain itself; only the root may be
 * taken from the pool (a chain that stops below the root).
 */
X509 *dcap_chain_anchor(STACK_OF(X509) *chain, STACK_OF(X509) *pool)
{
	X509 *cur, *next;
	int depth;

	if (chain == NULL || sk_X509_num(chain) == 0)
		return NULL;
	cur = sk_X509_value(chain, 0);
	for (depth = 0; depth <= DCAP_MAX_CHAIN_CERTS; depth++) {
		if (self_signed(cur))
			return cur;
		next = find_issuer(cur, chain, false);
		if (next == NULL)
			next = find_issuer(cur, pool, true);
		if (next == NULL)
			return NULL;
		cur = next;
	}
	return NULL;
}

typedef struct revocation {
	const dcap_crl_ref *crls;
	size_t ncrls;
} revocation;

static int report(X509_STORE_CTX *ctx, int depth, X509 *x, int error)
{
	X509_STORE_CTX_verify_cb cb = X509_STORE_CTX_get_verify_cb(ctx);

	X509_STORE_CTX_set_error_depth(ctx, depth);
	X509_STORE_CTX_set_current_cert(ctx, x);
	X509_STORE_CTX_set_error(ctx, error);
	return cb != NULL ? cb(0, ctx) : 0;
}

/* Every certificate, the root included, against a CRL its issuer signed. */
static int check_revocation(X509_STORE_CTX *ctx)
{
	const revocation *rev = X509_STORE_CTX_get_app_data(ctx);
	STACK_OF(X509) *chain = X509_STORE_CTX_get0_chain(ctx);
	int i, n = sk_X509_num(chain);
	size_t j;

	for (i = 0; i < n; i++) {
		X509 *x = sk_X509_value(chain, i), *issuer = i + 1 < n ? sk_X509_value(chain, i + 1) : x;
		const dcap_crl_ref *use = NULL;
		X509_REVOKED *entry = NULL;

		for (j = 0; rev != NULL && j < rev->ncrls && use == NULL; j++) {
			const dcap_crl_ref *r = &rev->crls[j];

			if (r->crl != NULL && X509_NAME_cmp(X509_CRL_get_issuer(r->crl), X509_get_issuer_name(x)) == 0 &&
			    EVP_PKEY_eq(r->signer, X509_get0_pubkey(issuer)) == 1)
				use = r;
		}
		if (use == NULL) {
			if (!report(ctx, i, x, X509_V_ERR_UNABLE_TO_GET_CRL))
				return 0;
			continue;
		}
		if (X509_CRL_get0_by_cert(use->crl, &entry, x) == 1 && !report(ctx, i, x, X509_V_ERR_CERT_REVOKED))
			return 0;
	}
	return 1;
}

static dcap_failure classify(int e)
{
	switch (e) {
	case X509_V_ERR_CERT_REVOKED:
		return DCAP_FAIL_CERT_REVOKED;
	case X509_V_ERR_CERT_HAS_EXPIRED:
	case X509_V_ERR_CERT_NOT_YET_VALID:
		return DCAP_FAIL_EXPIRED;
	default:
		return DCAP_FAIL_CHAIN;
	}
}

/* Run OpenSSL's verification with anchor as the only trusted certificate. */
static int run_store(int *verr, X509 **bad, STACK_OF(X509) **verified, X509 *anchor, STACK_OF(X509) *chain,
                     const revocation *rev, int64_t now)
{
	X509_STORE *store = X509_STORE_new();
	X509_STORE_CTX *ctx = X509_STORE_CTX_new();
	STACK_OF(X509) *untrusted = sk_X509_new_null();
	X509_VERIFY_PARAM *param;
	int i, ok = -1;

	*verr = X509_V_ERR_UNSPECIFIED;
	*bad = NULL;
	*verified = NULL;
	if (store == NULL || ctx == NULL || untrusted == NULL || X509_STORE_add_cert(store, anchor) != 1)
		goto out;
	for (i = 1; i < sk_X509_num(chain); i++)
		if (sk_X509_push(untrusted, sk_X509_value(chain, i)) <= 0)
			goto out;
	X509_STORE_set_check_revocation(store, check_revocation);
	if (X509_STORE_CTX_init(ctx, store, sk_X509_value(chain, 0), untrusted) != 1)
		goto out;
	X509_STORE_CTX_set_app_data(ctx, (void *)rev);
	param = X509_STORE_CTX_get0_param(ctx);
	X509_VERIFY_PARAM_set_flags(param, X509_V_FLAG_X509_STRICT);
	X509_VERIFY_PARAM_set_time(param, (time_t)now);
	ok = X509_verify_cert(ctx);
	if (ok == 1) {
		*verr = X509_V_OK;
		*verified = X509_STORE_CTX_get1_chain(ctx);
	} else {
		*verr = X509_STORE_CTX_get_error(ctx);
		*bad = X509_STORE_CTX_get_current_cert(ctx);
		if (*bad != NULL)
			X509_up_ref(*bad);
	}
out:
	ERR_clear_error();
	X509_STORE_CTX_free(ctx);
	X509_STORE_free(store);
	sk_X509_free(untrusted);
	return ok;
}

/* The latest thisUpdate of the CRLs used: before it, the revocation check had nothing to go by. */
static int64_t crl_from(const revocation *rev)
{
	int64_t from = INT64_MIN, t;
	size_t i;

	for (i = 0; i < rev->ncrls; i++) {
		if (rev->crls[i].crl == NULL)
			continue;
		t = dcap_asn1_time(X509_CRL_get0_lastUpdate(rev->crls[i].crl));
		from = t > from ? t : from;
	}
	return from;
}

/* The window in which certs[first..] are all valid (and the CRLs issued). */
static void window(dcap_chain_check *out, STACK_OF(X509) *certs, int first, int64_t from)
{
	int64_t until = INT64_MAX, t;
	int i;

	for (i = first; i < sk_X509_num(certs); i++) {
		X509 *x = sk_X509_value(certs, i);

		t = dcap_asn1_time(X509_get0_notBefore(x));
		from = t > from ? t : from;
		t = dcap_asn1_time(X509_get0_notAfter(x));
		until = t < until ? t : until;
	}
	out->valid_from = from;
	out->valid_until = until;
}

static int find_cert(STACK_OF(X509) *list, X509 *x, int from)
{
	int i;

	for (i = from; list != NULL && i < sk_X509_num(list); i++)
		if (X509_cmp(sk_X509_value(list, i), x) == 0)
			return i;
	return -1;
}

void dcap_verified_paths_free(dcap_verified_paths *seen)
{
	size_t i;

	if (seen == NULL)
		return;
	for (i = 0; i < seen->n; i++)
		sk_X509_pop_free(seen->path[i].certs, X509_free);
	memset(seen, 0, sizeof(*seen));
}

/* Keep a verified path (takes the reference to certs). */
static void remember(dcap_verified_paths *seen, STACK_OF(X509) *certs, const dcap_chain_check *check, int64_t from)
{
	if (seen == NULL || seen->n == DCAP_VERIFIED_PATHS) {
		sk_X509_pop_free(certs, X509_free);
		return;
	}
	seen->path[seen->n].certs = certs;
	seen->path[seen->n].check = *check;
	seen->path[seen->n].crl_from = from;
	seen->n++;
}

bool dcap_chain_on_path(dcap_chain_check *out, const dcap_verified_paths *seen, STACK_OF(X509) *chain)
{
	size_t p;
	int i, k, last;

	if (seen == NULL || chain == NULL || sk_X509_num(chain) == 0)
		return false;
	for (p = 0; p < seen->n; p++) {
		STACK_OF(X509) *path = seen->path[p].certs;
		bool ok;

		k = find_cert(path, sk_X509_value(chain, 0), 0);
		if (k < 0)
			continue;
		last = sk_X509_num(path) - 1;
		ok = true;
		/* Nothing but the path from chain[0] up ... */
		for (i = 1; i < sk_X509_num(chain) && ok; i++)
			ok = find_cert(path, sk_X509_value(chain, i), k) >= 0;
		/* ... and all of it, but the root, which may come from the pool. */
		for (i = k + 1; i < last && ok; i++)
			ok = find_cert(chain, sk_X509_value(path, i), 0) >= 0;
		if (!ok)
			continue;
		*out = seen->path[p].check;
		out->root = sk_X509_value(path, last);
		window(out, path, k, seen->path[p].crl_from);
		return true;
	}
	return false;
}

teeliza_err dcap_chain_verify(dcap_chain_check *out, STACK_OF(X509) *chain, STACK_OF(X509) *pool,
                              const dcap_crl_ref *crls, size_t ncrls, const dcap_trust *trust, int64_t now,
                              dcap_verified_paths *seen, const char *what)
{
	revocation rev = {crls, ncrls};
	X509 *anchor, *bad = NULL;
	STACK_OF(X509) *verified = NULL;
	char cn[128], fphex[65];
	unsigned int fplen = 32;
	int verr, ok, i;
	teeliza_err err;

	memset(out, 0, sizeof(*out));
	out->failure = DCAP_FAIL_CHAIN;
	if (trust == NULL)
		trust = dcap_trust_default();
	if (chain == NULL || sk_X509_num(chain) == 0)
		return teeliza_set_error(TEELIZA_ERR_VERIFY, "%s: no certificates", what);
	anchor = dcap_chain_anchor(chain, pool);
	if (anchor == NULL) {
		subject_cn(cn, sizeof(cn), sk_X509_value(chain, sk_X509_num(chain) - 1));
		return teeliza_set_error(TEELIZA_ERR_VERIFY, "%s: no root certificate above \"%s\"", what, cn);
	}
	if (X509_digest(anchor, dcap_sha256(), out->root_sha256, &fplen) != 1)
		return teeliza_set_error(TEELIZA_ERR_CRYPTO, "%s: cannot hash the root certificate", what);
	out->intel_root = memcmp(out->root_sha256, DCAP_INTEL_ROOT_SHA256, 32) == 0;
	out->root = anchor;

	ok = run_store(&verr, &bad, &verified, anchor, chain, &rev, now);
	if (ok < 0) {
		X509_free(bad);
		return teeliza_set_error(TEELIZA_ERR_NOMEM, "%s: cannot set up certificate verification", what);
	}
	subject_cn(cn, sizeof(cn), anchor);
	teeliza_hex_encode(fphex, out->root_sha256, 32);
	if (!dcap_trust_has(trust, out->root_sha256)) {
		sk_X509_pop_free(verified, X509_free);
		if (ok == 1 && out->intel_root) {
			out->failure = DCAP_FAIL_UNTRUSTED_ROOT;
			return teeliza_set_error(TEELIZA_ERR_VERIFY,
			                         "%s ends in the Intel SGX Root CA, which this trust set excludes", what);
		}
		if (ok == 1 && strncmp(cn, "Intel ", 6) == 0) {
			out->failure = DCAP_FAIL_UNTRUSTED_ROOT;
			return teeliza_set_error(TEELIZA_ERR_VERIFY,
			                         "%s ends in a root named \"%s\" that is not the pinned Intel SGX Root CA "
			                         "(SHA-256 %s): a forged or substituted root",
			                         what, cn, fphex);
		}
		if (ok == 1) {
			out->failure = DCAP_FAIL_UNTRUSTED_ROOT;
			return teeliza_set_error(TEELIZA_ERR_VERIFY,
			                         "%s is signed by a simulator root, not Intel (root \"%s\", SHA-256 %s); "
			                         "it verifies only if that root is trusted explicitly (--trust-root)",
			                         what, cn, fphex);
		}
		{
			char bad_cn[128];

			subject_cn(bad_cn, sizeof(bad_cn), bad);
			X509_free(bad);
			return teeliza_set_error(TEELIZA_ERR_VERIFY,
			                         "%s ends in an untrusted root \"%s\" (SHA-256 %s), and does not verify even "
			                         "under it: %s (at \"%s\")",
			                         what, cn, fphex, X509_verify_cert_error_string(verr), bad_cn);
		}
	}
	if (ok != 1) {
		out->failure = classify(verr);
		subject_cn(cn, sizeof(cn), bad);
		X509_free(bad);
		err = out->failure == DCAP_FAIL_CERT_REVOKED ? TEELIZA_ERR_REVOKED
		      : out->failure == DCAP_FAIL_EXPIRED    ? TEELIZA_ERR_EXPIRED
		                                             : TEELIZA_ERR_VERIFY;
		return teeliza_set_error(err, "%s: %s (certificate \"%s\")", what, X509_verify_cert_error_string(verr),
		                         cn);
	}
	/* Every certificate given must be on the verified path: no stray or altered extras. */
	for (i = 0; i < sk_X509_num(chain); i++) {
		X509 *x = sk_X509_value(chain, i);
		int j;
		bool used = false;

		for (j = 0; j < sk_X509_num(verified) && !used; j++)
			used = X509_cmp(sk_X509_value(verified, j), x) == 0;
		if (!used) {
			sk_X509_pop_free(verified, X509_free);
			subject_cn(cn, sizeof(cn), x);
			return teeliza_set_error(TEELIZA_ERR_VERIFY,
			                         "%s: certificate %d (\"%s\") is not on the verified path to the root (an "
			                         "extra or substituted certificate)",
			                         what, i, cn);
		}
	}
	window(out, verified, 0, crl_from(&rev));
	out->failure = DCAP_FAIL_NONE;
	remember(seen, verified, out, crl_from(&rev));
	return TEELIZA_OK;
}
