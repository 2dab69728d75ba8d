/*
 * GetTlsKey's certificates (dstack v0.5.11 rpc_service.rs get_tls_key,
 * ra-tls cert.rs): a fresh random P-256 key, and a leaf for it issued by
 * the simulator's CA the way dstack's local key provider issues it, with
 * the RA-TLS extensions of a 0.5.8 KMS on TDX:
 *   1.3.6.1.4.1.62397.1.1  the quote, report_data = SHA-512("ratls-cert:" ‖ SPKI DER)
 *   1.3.6.1.4.1.62397.1.2  the event log, JSON, every event in full
 *   1.3.6.1.4.1.62397.1.3  the app id (20 bytes)
 *   1.3.6.1.4.1.62397.1.4  "app:custom"
 * Each extension is non-critical and its value is the DER of an OCTET
 * STRING holding the bytes (yasna write_bytes inside the extnValue), as
 * dstack's readers expect. The quote ones only with usage_ra_tls.
 */
#include "sim/simsrv.h"

#include <arpa/inet.h>
#include <openssl/bio.h>
#include <openssl/err.h>
#include <openssl/pem.h>
#include <openssl/x509v3.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#define DEFAULT_NOT_BEFORE "19750101000000Z" /* rcgen's default */
#define DEFAULT_DAYS 3650

static teeliza_err ossl_fail(const char *what)
{
	ERR_clear_error();
	return teeliza_set_error(TEELIZA_ERR_CRYPTO, "%s failed", what);
}

/* One SAN entry: an IP literal becomes an iPAddress (dstack ≥ 0.5.11), anything else must be a DNS name. */
static GENERAL_NAME *san_entry(const char *name, size_t index, teeliza_err *err)
{
	unsigned char ip[16];
	int ip_len = 0;
	GENERAL_NAME *g = GENERAL_NAME_new();
	ASN1_OCTET_STRING *os = NULL;
	ASN1_IA5STRING *s = NULL;

	*err = TEELIZA_OK;
	if (g == NULL) {
		*err = teeliza_set_error(TEELIZA_ERR_NOMEM, "out of memory");
		return NULL;
	}
	if (inet_pton(AF_INET, name, ip) == 1)
		ip_len = 4;
	else if (inet_pton(AF_INET6, name, ip) == 1)
		ip_len = 16;
	if (ip_len > 0) {
		os = ASN1_OCTET_STRING_new();
		if (os != NULL && ASN1_OCTET_STRING_set(os, ip, ip_len) == 1) {
			GENERAL_NAME_set0_value(g, GEN_IPADD, os);
			return g;
		}
		ASN1_OCTET_STRING_free(os);
	} else if (!simsrv_dns_name_valid(name)) {
		GENERAL_NAME_free(g);
		*err = teeliza_set_error(TEELIZA_ERR_INVALID, "invalid DNS name in alt_names[%zu]: \"%.80s\"", index, name);
		return NULL;
	} else {
		s = ASN1_IA5STRING_new();
		if (s != NULL && ASN1_STRING_set(s, name, (int)strlen(name)) == 1) {
			GENERAL_NAME_set0_value(g, GEN_DNS, s);
			return g;
		}
		ASN1_IA5STRING_free(s);
	}
	GENERAL_NAME_free(g);
	*err = ossl_fail("encoding a subject alternative name");
	return NULL;
}

static teeliza_err add_alt_names(X509 *x, const simsrv_tls_request *req)
{
	GENERAL_NAMES *gens;
	size_t i;
	teeliza_err err = TEELIZA_OK;

	if (req->n_alt == 0)
		return TEELIZA_OK;
	gens = sk_GENERAL_NAME_new_null();
	if (gens == NULL)
		return teeliza_set_error(TEELIZA_ERR_NOMEM, "out of memory");
	for (i = 0; !err && i < req->n_alt; i++) {
		GENERAL_NAME *g = san_entry(req->alt_names[i], i, &err);

		if (g != NULL && sk_GENERAL_NAME_push(gens, g) <= 0) {
			GENERAL_NAME_free(g);
			err = teeliza_set_error(TEELIZA_ERR_NOMEM, "out of memory");
		}
	}
	if (!err && X509_add1_ext_i2d(x, NID_subject_alt_name, gens, 0, X509V3_ADD_DEFAULT) != 1)
		err = ossl_fail("adding the subject alternative names");
	GENERAL_NAMES_free(gens);
	return err;
}

static bool add_usages(X509 *x, const simsrv_tls_request *req)
{
	ASN1_BIT_STRING *ku = ASN1_BIT_STRING_new();
	EXTENDED_KEY_USAGE *eku = NULL;
	bool ok = ku != NULL && ASN1_BIT_STRING_set_bit(ku, 0, 1) == 1 && /* digitalSignature */
	          X509_add1_ext_i2d(x, NID_key_usage, ku, 1, X509V3_ADD_DEFAULT) == 1;

	ASN1_BIT_STRING_free(ku);
	if (ok && (req->usage_server_auth || req->usage_client_auth)) {
		eku = sk_ASN1_OBJECT_new_null();
		ok = eku != NULL && (!req->usage_server_auth || sk_ASN1_OBJECT_push(eku, OBJ_nid2obj(NID_server_auth)) > 0) &&
		     (!req->usage_client_auth || sk_ASN1_OBJECT_push(eku, OBJ_nid2obj(NID_client_auth)) > 0) &&
		     X509_add1_ext_i2d(x, NID_ext_key_usage, eku, 0, X509V3_ADD_DEFAULT) == 1;
		sk_ASN1_OBJECT_free(eku); /* the objects are OpenSSL's static ones */
	}
	return ok;
}

/* A non-critical extension whose extnValue is DER(OCTET STRING(data)). */
static bool add_ratls_ext(X509 *x, const char *oid, const void *data, size_t len)
{
	ASN1_OBJECT *obj = OBJ_txt2obj(oid, 1);
	ASN1_OCTET_STRING *inner = ASN1_OCTET_STRING_new(), *outer = ASN1_OCTET_STRING_new();
	X509_EXTENSION *ext = NULL;
	unsigned char *der = NULL;
	int der_len = -1;
	bool ok;

	ok = obj != NULL && inner != NULL && outer != NULL && len <= INT32_MAX &&
	     ASN1_OCTET_STRING_set(inner, data, (int)len) == 1 && (der_len = i2d_ASN1_OCTET_STRING(inner, &der)) > 0 &&
	     ASN1_OCTET_STRING_set(outer, der, der_len) == 1 &&
	     (ext = X509_EXTENSION_create_by_OBJ(NULL, obj, 0, outer)) != NULL && X509_add_ext(x, ext, -1) == 1;
	X509_EXTENSION_free(ext);
	OPENSSL_free(der);
	ASN1_OCTET_STRING_free(inner);
	ASN1_OCTET_STRING_free(outer);
	ASN1_OBJECT_free(obj);
	return ok;
}

static teeliza_err check_times(const simsrv_tls_request *req)
{
	if (req->have_not_before && req->not_before > SIMSRV_TLS_TIME_MAX)
		return teeliza_set_error(TEELIZA_ERR_INVALID, "not_before %llu is past 9999-12-31, the last time a "
		                         "certificate can hold", (unsigned long long)req->not_before);
	if (req->have_not_after && req->not_after > SIMSRV_TLS_TIME_MAX)
		return teeliza_set_error(TEELIZA_ERR_INVALID, "not_after %llu is past 9999-12-31, the last time a "
		                         "certificate can hold", (unsigned long long)req->not_after);
	if (req->have_not_before && req->have_not_after && req->not_before > req->not_after)
		return teeliza_set_error(TEELIZA_ERR_INVALID, "not_before (%llu) is later than not_after (%llu)",
		                         (unsigned long long)req->not_before, (unsigned long long)req->not_after);
	return TEELIZA_OK;
}

static bool set_validity(X509 *x, const simsrv_tls_request *req)
{
	bool ok;

	if (req->have_not_before)
		ok = ASN1_TIME_set(X509_getm_notBefore(x), (time_t)req->not_before) != NULL;
	else
		ok = ASN1_TIME_set_string_X509(X509_getm_notBefore(x), DEFAULT_NOT_BEFORE) == 1;
	if (req->have_not_after)
		ok = ok && ASN1_TIME_set(X509_getm_notAfter(x), (time_t)req->not_after) != NULL;
	else
		ok = ok && ASN1_TIME_adj(X509_getm_notAfter(x), time(NULL), DEFAULT_DAYS, 0) != NULL;
	return ok;
}

/* report_data = SHA-512("ratls-cert:" ‖ SPKI DER) (dstack QuoteContentType::RaTlsCert). */
static teeliza_err ratls_report_data(uint8_t out[64], const uint8_t *spki, size_t len)
{
	EVP_MD_CTX *ctx = EVP_MD_CTX_new();
	int ok = ctx != NULL && EVP_DigestInit_ex(ctx, EVP_sha512(), NULL) == 1 &&
	         EVP_DigestUpdate(ctx, "ratls-cert:", 11) == 1 && EVP_DigestUpdate(ctx, spki, len) == 1 &&
	         EVP_DigestFinal_ex(ctx, out, NULL) == 1;

	EVP_MD_CTX_free(ctx);
	return ok ? TEELIZA_OK : teeliza_set_error(TEELIZA_ERR_CRYPTO, "SHA-512 failed");
}

static teeliza_err key_to_pem(teeliza_buf *out, EVP_PKEY *key)
{
	BIO *bio = BIO_new(BIO_s_secmem());
	char *data = NULL;
	long len;
	teeliza_err err;

	if (bio == NULL || PEM_write_bio_PrivateKey(bio, key, NULL, NULL, 0, NULL, NULL) != 1 ||
	    (len = BIO_get_mem_data(bio, &data)) <= 0)
		err = ossl_fail("encoding the TLS key");
	else
		err = teeliza_buf_append(out, data, (size_t)len);
	BIO_free(bio); /* secure memory: cleared on free */
	return err;
}

/* The leaf's fields and extensions, then the CA's signature. */
static teeliza_err build_leaf(X509 *x, const simsrv_state *st, const simsrv_view *v, const simsrv_tls_request *req,
                              EVP_PKEY *key, const uint8_t *spki, size_t spki_len)
{
	static const char usage[] = "app:custom";
	X509_NAME *name = X509_NAME_new();
	uint8_t report_data[64];
	teeliza_buf quote;
	bool ok;
	teeliza_err err;

	ok = name != NULL && X509_set_version(x, 2) == 1 && simsrv_cert_set_serial(x, spki, spki_len) &&
	     X509_NAME_add_entry_by_NID(name, NID_commonName, V_ASN1_UTF8STRING, (const unsigned char *)req->subject,
	                                (int)strlen(req->subject), -1, 0) == 1 &&
	     X509_set_subject_name(x, name) == 1 && X509_set_issuer_name(x, X509_get_subject_name(st->ca.cert)) == 1 &&
	     set_validity(x, req) && X509_set_pubkey(x, key) == 1 && simsrv_cert_add_key_ids(x, &st->ca) &&
	     add_usages(x, req);
	X509_NAME_free(name);
	if (!ok)
		return ossl_fail("building the TLS certificate");
	err = add_alt_names(x, req);
	if (err)
		return err;
	if (!add_ratls_ext(x, SIMSRV_OID_RATLS_APP_ID, st->app.app_id, sizeof(st->app.app_id)) ||
	    !add_ratls_ext(x, SIMSRV_OID_RATLS_CERT_USAGE, usage, sizeof(usage) - 1))
		return ossl_fail("adding the app extensions");
	if (req->usage_ra_tls) {
		err = ratls_report_data(report_data, spki, spki_len);
		if (!err)
			err = tee_sim_quote(&quote, st->pki, report_data, (const uint8_t(*)[48])v->rtmr);
		if (err)
			return err;
		ok = add_ratls_ext(x, SIMSRV_OID_RATLS_QUOTE, quote.data, quote.len) &&
		     add_ratls_ext(x, SIMSRV_OID_RATLS_EVENT_LOG, v->log_json.data, v->log_json.len);
		teeliza_buf_free(&quote);
		if (!ok)
			return ossl_fail("adding the quote extensions");
	}
	if (X509_sign(x, st->ca.key, EVP_sha256()) <= 0)
		return ossl_fail("signing the TLS certificate");
	return TEELIZA_OK;
}

teeliza_err simsrv_tls_issue(teeliza_buf *key_pem, teeliza_buf *cert_pem, const simsrv_state *st,
                             const simsrv_view *v, const simsrv_tls_request *req)
{
	EVP_PKEY *key = NULL;
	X509 *x = NULL;
	unsigned char *spki = NULL;
	int spki_len = -1;
	char *text = NULL;
	size_t text_len = 0;
	teeliza_err err;

	teeliza_buf_init(key_pem, (size_t)64 << 10);
	key_pem->secret = true;
	teeliza_buf_init(cert_pem, (size_t)8 << 20);
	err = check_times(req);
	if (err)
		return err;
	key = EVP_PKEY_Q_keygen(NULL, NULL, "EC", "P-256");
	x = X509_new();
	if (key == NULL || x == NULL || (spki_len = i2d_PUBKEY(key, &spki)) <= 0)
		err = ossl_fail("generating the TLS key");
	if (!err)
		err = build_leaf(x, st, v, req, key, spki, (size_t)spki_len);
	if (!err)
		err = simsrv_cert_to_pem(&text, &text_len, x);
	if (!err)
		err = teeliza_buf_append(cert_pem, text, text_len);
	if (!err)
		err = key_to_pem(key_pem, key);
	free(text);
	OPENSSL_free(spki);
	X509_free(x);
	EVP_PKEY_free(key);
	if (err) {
		teeliza_buf_free(key_pem);
		teeliza_buf_free(cert_pem);
	}
	return err;
}

teeliza_err simsrv_issue_demo_cert(simsrv_state *st)
{
	simsrv_tls_request req;
	teeliza_buf key, cert, chain;
	simsrv_view *v = simsrv_view_get(st);
	teeliza_err err;

	memset(&req, 0, sizeof(req));
	req.subject = "demo-cert";
	req.usage_client_auth = true;
	req.usage_ra_tls = true;
	teeliza_buf_init(&chain, (size_t)16 << 20);
	err = simsrv_tls_issue(&key, &cert, st, v, &req);
	simsrv_view_put(v);
	teeliza_buf_free(&key); /* the agent keeps it; nobody here needs it */
	if (!err)
		err = teeliza_buf_append(&chain, cert.data, cert.len);
	if (!err)
		err = teeliza_buf_append_str(&chain, "\n");
	if (!err)
		err = teeliza_buf_append_str(&chain, st->ca.cert_pem);
	teeliza_buf_free(&cert);
	if (err) {
		teeliza_buf_free(&chain);
		return err;
	}
	free(st->app_cert);
	st->app_cert = (char *)chain.data;
	return TEELIZA_OK;
}
