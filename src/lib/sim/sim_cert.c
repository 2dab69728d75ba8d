/*
 * Certificates and CRLs of the simulator PKI, shaped like Intel's SGX PKI:
 * the same extensions in the same order (AKI, CRL distribution point, SKI,
 * key usage, basic constraints, and the SGX extension on the PCK), P-256
 * keys, ECDSA-SHA256 signatures, 20-byte serials. The names and the .invalid
 * URLs say "teeliza simulator" so no one can take them for Intel's.
 */
#include "sim_internal.h"

#include <assert.h>
#include <string.h>

#include <openssl/bn.h>
#include <openssl/objects.h>
#include <openssl/rand.h>
#include <openssl/x509v3.h>

#define SIM_ORG "teeliza simulator"
#define SIM_ROOT_CRL_URL "URI:https://teeliza-simulator.invalid/SimulatorRootCA.der"
#define SIM_PCK_CRL_URL "URI:https://teeliza-simulator.invalid/sgx/certification/v4/pckcrl?ca=platform&encoding=der"

/* Fixed validity for every certificate, so quotes verify at any `now` in it. */
#define SIM_CERT_NOT_BEFORE INT64_C(1577836800) /* 2020-01-01T00:00:00Z */
#define SIM_CERT_NOT_AFTER INT64_C(2524607999)  /* 2049-12-31T23:59:59Z, as Intel's root */

typedef struct cert_profile {
	const char *cn;
	const char *crl_url;
	const char *key_usage;
	const char *basic_constraints;
	bool sgx_extension;
} cert_profile;

static const cert_profile profiles[] = {
	[SIM_CERT_ROOT] = { "teeliza Simulator Root CA \xe2\x80\x94 NOT INTEL", SIM_ROOT_CRL_URL,
	                    "critical,keyCertSign,cRLSign", "critical,CA:TRUE,pathlen:1", false },
	[SIM_CERT_PCK_CA] = { "teeliza Simulator PCK Platform CA", SIM_ROOT_CRL_URL, "critical,keyCertSign,cRLSign",
	                      "critical,CA:TRUE,pathlen:0", false },
	[SIM_CERT_PCK] = { "teeliza Simulator PCK Certificate", SIM_PCK_CRL_URL,
	                   "critical,digitalSignature,nonRepudiation", "critical,CA:FALSE", true },
	[SIM_CERT_TCB_SIGNING] = { "teeliza Simulator TCB Signing", SIM_ROOT_CRL_URL,
	                           "critical,digitalSignature,nonRepudiation", "critical,CA:FALSE", false },
};

static teeliza_err crypto_fail(const char *what)
{
	return teeliza_set_error(TEELIZA_ERR_CRYPTO, "simulator PKI: %s failed", what);
}

static X509_NAME *make_name(const char *cn)
{
	X509_NAME *n = X509_NAME_new();

	if (n == NULL ||
	    X509_NAME_add_entry_by_txt(n, "CN", MBSTRING_UTF8, (const unsigned char *)cn, -1, -1, 0) != 1 ||
	    X509_NAME_add_entry_by_txt(n, "O", MBSTRING_UTF8, (const unsigned char *)SIM_ORG, -1, -1, 0) != 1) {
		X509_NAME_free(n);
		return NULL;
	}
	return n;
}

/* A positive random 20-byte serial (top bit clear), like Intel's. */
static bool set_serial(X509 *x)
{
	BIGNUM *bn = BN_new();
	ASN1_INTEGER *serial = NULL;
	bool ok = bn != NULL && BN_rand(bn, 159, BN_RAND_TOP_ONE, BN_RAND_BOTTOM_ANY) == 1 &&
	          (serial = BN_to_ASN1_INTEGER(bn, NULL)) != NULL && X509_set_serialNumber(x, serial) == 1;

	ASN1_INTEGER_free(serial);
	BN_free(bn);
	return ok;
}

/* SHA-1 of the subjectPublicKey bits (RFC 5280 method 1), as Intel's key ids are. */
static bool key_id(uint8_t md[20], const X509 *cert)
{
	unsigned len = 0;

	return X509_pubkey_digest(cert, EVP_sha1(), md, &len) == 1 && len == 20;
}

static bool add_akid(X509 *x, X509_CRL *crl, const uint8_t md[20])
{
	AUTHORITY_KEYID *akid = AUTHORITY_KEYID_new();
	bool ok = akid != NULL && (akid->keyid = ASN1_OCTET_STRING_new()) != NULL &&
	          ASN1_OCTET_STRING_set(akid->keyid, md, 20) == 1;

	if (ok && x != NULL)
		ok = X509_add1_ext_i2d(x, NID_authority_key_identifier, akid, 0, X509V3_ADD_APPEND) == 1;
	if (ok && crl != NULL)
		ok = X509_CRL_add1_ext_i2d(crl, NID_authority_key_identifier, akid, 0, X509V3_ADD_APPEND) == 1;
	AUTHORITY_KEYID_free(akid);
	return ok;
}

static bool add_conf_ext(X509 *x, int nid, const char *value)
{
	X509_EXTENSION *ext = X509V3_EXT_conf_nid(NULL, NULL, nid, value);
	bool ok = ext != NULL && X509_add_ext(x, ext, -1) == 1;

	X509_EXTENSION_free(ext);
	return ok;
}

static bool add_skid(X509 *x, const uint8_t md[20])
{
	ASN1_OCTET_STRING *oct = ASN1_OCTET_STRING_new();
	bool ok = oct != NULL && ASN1_OCTET_STRING_set(oct, md, 20) == 1 &&
	          X509_add1_ext_i2d(x, NID_subject_key_identifier, oct, 0, X509V3_ADD_APPEND) == 1;

	ASN1_OCTET_STRING_free(oct);
	return ok;
}

static teeliza_err add_sgx_ext(X509 *x)
{
	uint8_t ppid[16], instance[16];
	teeliza_buf der;
	ASN1_OBJECT *oid = NULL;
	ASN1_OCTET_STRING *oct = NULL;
	X509_EXTENSION *ext = NULL;
	teeliza_err err;

	/* Per-platform identifiers: random, and fixed from then on because the certificate is stored. */
	if (RAND_bytes(ppid, sizeof(ppid)) != 1 || RAND_bytes(instance, sizeof(instance)) != 1)
		return crypto_fail("random PPID");
	err = sim_sgx_extension_der(&der, ppid, instance);
	if (err)
		return err;
	if ((oid = OBJ_txt2obj("1.2.840.113741.1.13.1", 1)) == NULL || (oct = ASN1_OCTET_STRING_new()) == NULL ||
	    ASN1_OCTET_STRING_set(oct, der.data, (int)der.len) != 1 ||
	    (ext = X509_EXTENSION_create_by_OBJ(NULL, oid, 0, oct)) == NULL || X509_add_ext(x, ext, -1) != 1)
		err = crypto_fail("adding the SGX extension");
	X509_EXTENSION_free(ext);
	ASN1_OCTET_STRING_free(oct);
	ASN1_OBJECT_free(oid);
	teeliza_buf_free(&der);
	return err;
}

teeliza_err sim_cert_issue(X509 **out, sim_cert_kind kind, EVP_PKEY *subject_key, const X509 *issuer_cert,
                           EVP_PKEY *issuer_key)
{
	const cert_profile *pr;
	X509 *x;
	X509_NAME *subject = NULL;
	uint8_t skid[20], akid[20];
	teeliza_err err = TEELIZA_OK;

	assert(out != NULL && subject_key != NULL && issuer_key != NULL);
	assert((unsigned)kind < sizeof(profiles) / sizeof(profiles[0]));
	assert((kind == SIM_CERT_ROOT) == (issuer_cert == NULL));
	*out = NULL;
	pr = &profiles[kind];
	x = X509_new();
	if (x == NULL || X509_set_version(x, X509_VERSION_3) != 1 || !set_serial(x) ||
	    (subject = make_name(pr->cn)) == NULL || X509_set_subject_name(x, subject) != 1 ||
	    X509_set_issuer_name(x, issuer_cert ? X509_get_subject_name(issuer_cert) : subject) != 1 ||
	    ASN1_TIME_set(X509_getm_notBefore(x), (time_t)SIM_CERT_NOT_BEFORE) == NULL ||
	    ASN1_TIME_set(X509_getm_notAfter(x), (time_t)SIM_CERT_NOT_AFTER) == NULL ||
	    X509_set_pubkey(x, subject_key) != 1 || !key_id(skid, x) ||
	    !key_id(akid, issuer_cert ? issuer_cert : x)) {
		err = crypto_fail("building a certificate");
		goto out;
	}
	if (!add_akid(x, NULL, akid) || !add_conf_ext(x, NID_crl_distribution_points, pr->crl_url) ||
	    !add_skid(x, skid) || !add_conf_ext(x, NID_key_usage, pr->key_usage) ||
	    !add_conf_ext(x, NID_basic_constraints, pr->basic_constraints)) {
		err = crypto_fail("adding certificate extensions");
		goto out;
	}
	if (pr->sgx_extension && (err = add_sgx_ext(x)) != TEELIZA_OK)
		goto out;
	if (X509_sign(x, issuer_key, EVP_sha256()) <= 0) {
		err = crypto_fail("signing a certificate");
		goto out;
	}
	*out = x;
	x = NULL;
out:
	X509_NAME_free(subject);
	X509_free(x);
	return err;
}

teeliza_err sim_crl_der(teeliza_buf *out, const X509 *issuer_cert, EVP_PKEY *issuer_key, int64_t now)
{
	X509_CRL *crl;
	ASN1_TIME *this_update = NULL, *next_update = NULL;
	ASN1_INTEGER *number = NULL;
	uint8_t akid[20];
	unsigned char *der = NULL;
	int der_len;
	teeliza_err err = TEELIZA_OK;

	assert(out != NULL && issuer_cert != NULL && issuer_key != NULL);
	teeliza_buf_init(out, 1 << 16);
	crl = X509_CRL_new();
	if (crl == NULL || X509_CRL_set_version(crl, X509_CRL_VERSION_2) != 1 ||
	    X509_CRL_set_issuer_name(crl, X509_get_subject_name(issuer_cert)) != 1 ||
	    (this_update = ASN1_TIME_set(NULL, (time_t)(now - SIM_COLLATERAL_BEFORE))) == NULL ||
	    (next_update = ASN1_TIME_set(NULL, (time_t)(now + SIM_COLLATERAL_AFTER))) == NULL ||
	    X509_CRL_set1_lastUpdate(crl, this_update) != 1 || X509_CRL_set1_nextUpdate(crl, next_update) != 1 ||
	    (number = ASN1_INTEGER_new()) == NULL || ASN1_INTEGER_set(number, 1) != 1 ||
	    X509_CRL_add1_ext_i2d(crl, NID_crl_number, number, 0, X509V3_ADD_APPEND) != 1 ||
	    !key_id(akid, issuer_cert) || !add_akid(NULL, crl, akid) ||
	    X509_CRL_sign(crl, issuer_key, EVP_sha256()) <= 0 || (der_len = i2d_X509_CRL(crl, &der)) <= 0) {
		err = crypto_fail("building a CRL");
		goto out;
	}
	err = teeliza_buf_append(out, der, (size_t)der_len);
out:
	OPENSSL_free(der);
	ASN1_INTEGER_free(number);
	ASN1_TIME_free(this_update);
	ASN1_TIME_free(next_update);
	X509_CRL_free(crl);
	if (err)
		teeliza_buf_free(out);
	return err;
}
