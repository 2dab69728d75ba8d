/*
 * Certificate chains and CRLs: PEM/DER parsing and chain verification with
 * OpenSSL's X509_STORE at an explicit time, with CRL checks on every
 * certificate of the chain (root CA CRL for certificates the root issued, PCK
 * CRL for PCK leaves). The trust anchor is found in the chains themselves and
 * trusted only when its SHA-256 fingerprint is in the dcap_trust set.
 */
#include "dcap/verify_internal.h"

#include <limits.h>
#include <openssl/err.h>
#include <openssl/pem.h>
#include <stdio.h>
#include <string.h>

#include "teeliza/dcap_pck.h"
#include "teeliza/encoding.h"

teeliza_err dcap_pem_chain(STACK_OF(X509) **out, const char *pem, size_t len, const char *what)
{
	char detail[512];
	teeliza_err err;

	*out = NULL;
	err = dcap_pem_chain_parse(out, (const uint8_t *)pem, len);
	if (err) {
		snprintf(detail, sizeof(detail), "%s", teeliza_errmsg());
		return teeliza_set_error(err, "%s: %s", what, detail);
	}
	return TEELIZA_OK;
}

teeliza_err dcap_der_crl(X509_CRL **out, const uint8_t *der, size_t len, const char *what)
{
	const unsigned char *p = der;

	*out = NULL;
	if (len == 0 || len > DCAP_MAX_COLLATERAL_JSON)
		return teeliza_set_error(TEELIZA_ERR_PARSE, "%s: empty or oversized CRL", what);
	*out = d2i_X509_CRL(NULL, &p, (long)len);
	ERR_clear_error();
	if (*out == NULL || p != der + len) {
		X509_CRL_free(*out);
		*out = NULL;
		return teeliza_set_error(TEELIZA_ERR_PARSE, "%s: not a DER CRL", what);
	}
	return TEELIZA_OK;
}

int64_t dcap_asn1_time(const ASN1_TIME *t)
{
	struct tm tm;
	int64_t days;

	if (t == NULL || ASN1_TIME_to_tm(t, &tm) != 1)
		return 0;
	/* tm is UTC; avoid timegm's dependence on the environment by counting days. */
	{
		int64_t y = tm.tm_year + 1900, m = tm.tm_mon + 1, d = tm.tm_mday, era, yoe, doy, doe;

		y -= m <= 2;
		era = (y >= 0 ? y : y - 399) / 400;
		yoe = y - era * 400;
		doy = (153 * (m + (m > 2 ? -3 : 9)) + 2) / 5 + d - 1;
		doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
		days = era * 146097 + doe - 719468;
	}
	return days * 86400 + tm.tm_hour * 3600 + tm.tm_min * 60 + tm.tm_sec;
}

static void subject_cn(char *out, size_t cap, X509 *x)
{
	if (x == NULL || X509_NAME_get_text_by_NID(X509_get_subject_name(x), NID_commonName, out, (int)cap) < 0)
		snprintf(out, cap, "?");
}

static bool self_signed(X509 *x)
{
	return X509_check_issued(x, x) == X509_V_OK;
}

static X509 *find_issuer(X509 *x, STACK_OF(X509) *a, STACK_OF(X509) *b)
{
	STACK_OF(X509) *lists[2] = {a, b};
	int i, j;

	for (j = 0; j < 2; j++) {
		if (lists[j] == NULL)
			continue;
		for (i = 0; i < sk_X509_num(lists[j]); i++) {
			X509 *c = sk_X509_value(lists[j], i);

			if (c != x && X509_check_issued(c, x) == X509_V_OK)
				return c;
		}
	}
	return NULL;
}

/* Expiry of CRLs is judged by the caller (policy.expired); everything else stands. */
static int verify_cb(int ok, X509_STORE_CTX *ctx)
{
	if (!ok && X509_STORE_CTX_get_error(ctx) == X509_V_ERR_CRL_HAS_EXPIRED)
		return 1;
	return ok;
}

static dcap_failure classify(int e)
{
	switch (e) {
	case X509_V_ERR_CERT_REVOKED:
		return DCAP_FAIL_CERT_REVOKED;
	case X509_V_ERR_CERT_HAS_EXPIRED:
	case X509_V_ERR_CERT_NOT_YET_VALID:
	case X509_V_ERR_CRL_NOT_YET_VALID:
		return DCAP_FAIL_EXPIRED;
	default:
		return DCAP_FAIL_CHAIN;
	}
}

/* Run OpenSSL's verification with anchor as the only trusted certificate. */
static int run_store(int *verr, X509 **bad, STACK_OF(X509) **verified, X509 *anchor, STACK_OF(X509) *chain,
                     STACK_OF(X509) *pool, X509_CRL *const *crls, size_t ncrls, int64_t now)
{
	X509_STORE *store = X509_STORE_new();
	X509_STORE_CTX *ctx = X509_STORE_CTX_new();
	STACK_OF(X509) *untrusted = sk_X509_new_null();
	X509_VERIFY_PARAM *param;
	size_t i;
	int ok = -1;

	*verr = X509_V_ERR_UNSPECIFIED;
	*bad = NULL;
	*verified = NULL;
	if (store == NULL || ctx == NULL || untrusted == NULL || X509_STORE_add_cert(store, anchor) != 1)
		goto out;
	for (i = 0; i < ncrls; i++)
		if (crls[i] != NULL && X509_STORE_add_crl(store, crls[i]) != 1)
			goto out;
	for (i = 1; i < (size_t)sk_X509_num(chain); i++)
		if (sk_X509_push(untrusted, sk_X509_value(chain, (int)i)) <= 0)
			goto out;
	for (i = 0; pool != NULL && i < (size_t)sk_X509_num(pool); i++)
		if (sk_X509_push(untrusted, sk_X509_value(pool, (int)i)) <= 0)
			goto out;
	X509_STORE_set_verify_cb(store, verify_cb);
	if (X509_STORE_CTX_init(ctx, store, sk_X509_value(chain, 0), untrusted) != 1)
		goto out;
	param = X509_STORE_CTX_get0_param(ctx);
	X509_VERIFY_PARAM_set_flags(param, X509_V_FLAG_CRL_CHECK | X509_V_FLAG_CRL_CHECK_ALL | X509_V_FLAG_X509_STRICT);
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

static void window(dcap_chain_check *out, STACK_OF(X509) *verified, X509_CRL *const *crls, size_t ncrls)
{
	int64_t from = INT64_MIN, until = INT64_MAX, t;
	size_t i;

	for (i = 0; i < (size_t)sk_X509_num(verified); i++) {
		X509 *x = sk_X509_value(verified, (int)i);

		t = dcap_asn1_time(X509_get0_notBefore(x));
		from = t > from ? t : from;
		t = dcap_asn1_time(X509_get0_notAfter(x));
		until = t < until ? t : until;
	}
	for (i = 0; i < ncrls; i++) {
		if (crls[i] == NULL)
			continue;
		t = dcap_asn1_time(X509_CRL_get0_lastUpdate(crls[i]));
		from = t > from ? t : from;
	}
	out->valid_from = from;
	out->valid_until = until;
}

teeliza_err dcap_chain_verify(dcap_chain_check *out, STACK_OF(X509) *chain, STACK_OF(X509) *pool,
                              X509_CRL *const *crls, size_t ncrls, const dcap_trust *trust, int64_t now,
                              const char *what)
{
	X509 *cur, *anchor = NULL, *bad = NULL;
	STACK_OF(X509) *verified = NULL;
	char cn[128], fphex[65];
	unsigned int fplen = 32;
	int depth, verr, ok;
	teeliza_err err;

	memset(out, 0, sizeof(*out));
	out->failure = DCAP_FAIL_CHAIN;
	if (trust == NULL)
		trust = dcap_trust_default();
	if (chain == NULL || sk_X509_num(chain) == 0)
		return teeliza_set_error(TEELIZA_ERR_VERIFY, "%s: no certificates", what);
	cur = sk_X509_value(chain, 0);
	for (depth = 0; depth <= DCAP_MAX_CHAIN_CERTS && anchor == NULL; depth++) {
		X509 *issuer;

		if (self_signed(cur)) {
			anchor = cur;
			break;
		}
		issuer = find_issuer(cur, chain, pool);
		if (issuer == NULL) {
			subject_cn(cn, sizeof(cn), cur);
			return teeliza_set_error(TEELIZA_ERR_VERIFY, "%s: no issuer certificate for \"%s\" and no root",
			                         what, cn);
		}
		cur = issuer;
	}
	if (anchor == NULL)
		return teeliza_set_error(TEELIZA_ERR_VERIFY, "%s: issuer loop without a root", what);
	if (X509_digest(anchor, dcap_sha256(), out->root_sha256, &fplen) != 1)
		return teeliza_set_error(TEELIZA_ERR_CRYPTO, "%s: cannot hash the root certificate", what);
	out->intel_root = memcmp(out->root_sha256, DCAP_INTEL_ROOT_SHA256, 32) == 0;
	out->root = anchor;

	ok = run_store(&verr, &bad, &verified, anchor, chain, pool, crls, ncrls, now);
	if (ok < 0) {
		X509_free(bad);
		return teeliza_set_error(TEELIZA_ERR_NOMEM, "%s: cannot set up certificate verification", what);
	}
	subject_cn(cn, sizeof(cn), anchor);
	teeliza_hex_encode(fphex, out->root_sha256, 32);
	if (!dcap_trust_has(trust, out->root_sha256)) {
		sk_X509_pop_free(verified, X509_free);
		if (ok == 1) {
			out->failure = DCAP_FAIL_UNTRUSTED_ROOT;
			X509_free(bad);
			return teeliza_set_error(TEELIZA_ERR_UNTRUSTED,
			                         "%s is signed by a simulator root, not Intel (root \"%s\", SHA-256 %s); "
			                         "it verifies only if that root is trusted explicitly (--trust-root)",
			                         what, cn, fphex);
		}
		subject_cn(cn, sizeof(cn), bad);
		X509_free(bad);
		return teeliza_set_error(TEELIZA_ERR_VERIFY,
		                         "%s ends in an untrusted root (SHA-256 %s), and does not verify even under it: "
		                         "%s (at \"%s\")",
		                         what, fphex, X509_verify_cert_error_string(verr), cn);
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
	window(out, verified, crls, ncrls);
	sk_X509_pop_free(verified, X509_free);
	out->failure = DCAP_FAIL_NONE;
	return TEELIZA_OK;
}
