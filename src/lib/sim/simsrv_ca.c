/*
 * The simulator's app CA: the P-256 key every DeriveKey result is derived
 * from (tappd-simulator's certs/app.key plays this role), a self-signed CA
 * certificate for it, and the leaf certificates DeriveKey returns.
 *
 * Certificates follow what tappd-simulator makes with rcgen: validity
 * 1975-01-01 .. 4096-01-01, a serial derived from the public key, leaf
 * subject CN only, one SAN dNSName per alt name. ECDSA signatures are
 * randomized, so certificates are not byte-reproducible (neither are
 * tappd's); the CA certificate is kept in the state dir so it stays the same.
 */
#include "sim/simsrv.h"

#include "teeliza/tee/derive.h"

#include <openssl/bio.h>
#include <openssl/bn.h>
#include <openssl/err.h>
#include <openssl/pem.h>
#include <openssl/x509v3.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define CA_KEY_FILE_MAX ((size_t)64 << 10)
#define CA_CERT_FILE_MAX ((size_t)64 << 10)
#define NOT_BEFORE "19750101000000Z"
#define NOT_AFTER "40960101000000Z"

static teeliza_err ossl_fail(const char *what)
{
	ERR_clear_error();
	return teeliza_set_error(TEELIZA_ERR_CRYPTO, "%s failed", what);
}

/* Never prompt on a terminal for a passphrase: our key files are not encrypted. */
static int no_passphrase(char *buf, int size, int rwflag, void *u)
{
	(void)buf;
	(void)size;
	(void)rwflag;
	(void)u;
	return 0;
}

static teeliza_err join_path(char *out, size_t out_len, const char *dir, const char *name)
{
	int n = snprintf(out, out_len, "%s/%s", dir, name);

	if (n < 0 || (size_t)n >= out_len)
		return teeliza_set_error(TEELIZA_ERR_CONFIG, "state directory path too long: %s", dir);
	return TEELIZA_OK;
}

static teeliza_err create_key_file(const char *path)
{
	EVP_PKEY *key = EVP_PKEY_Q_keygen(NULL, NULL, "EC", "P-256");
	BIO *bio = NULL;
	char *data = NULL;
	long len;
	teeliza_err err;

	if (key == NULL)
		return ossl_fail("generating the simulator CA key");
	bio = BIO_new(BIO_s_secmem());
	if (bio == NULL || PEM_write_bio_PrivateKey(bio, key, NULL, NULL, 0, NULL, NULL) != 1 ||
	    (len = BIO_get_mem_data(bio, &data)) <= 0) {
		err = ossl_fail("encoding the simulator CA key");
	} else {
		err = teeliza_write_file(path, data, (size_t)len, 0600);
	}
	BIO_free(bio); /* secure memory: cleared on free */
	EVP_PKEY_free(key);
	return err;
}

static teeliza_err load_key(simsrv_ca *ca, const char *key_pem, const char *key_file, const char *state_dir)
{
	char path[4096];
	teeliza_buf pem;
	BIO *bio;
	teeliza_err err;

	if (key_pem != NULL) {
		teeliza_buf_init(&pem, CA_KEY_FILE_MAX);
		pem.secret = true;
		err = teeliza_buf_append_str(&pem, key_pem);
		key_file = "given in memory";
		if (err)
			goto out;
	} else if (key_file == NULL) {
		err = join_path(path, sizeof(path), state_dir, SIMSRV_CA_KEY_FILE);
		if (err)
			return err;
		key_file = path;
	}
	if (key_pem == NULL)
		err = teeliza_read_file(&pem, key_file, CA_KEY_FILE_MAX);
	if (key_pem == NULL && err == TEELIZA_ERR_NOT_FOUND && key_file == path) {
		err = create_key_file(path);
		if (err)
			return err;
		ca->generated = true;
		err = teeliza_read_file(&pem, key_file, CA_KEY_FILE_MAX);
	}
	if (err == TEELIZA_ERR_NOT_FOUND)
		return teeliza_set_error(TEELIZA_ERR_CONFIG, "CA key file %s does not exist", key_file);
	if (err)
		return err;
	pem.secret = true;
	err = tee_p256_scalar_from_pem(ca->scalar, (const char *)pem.data, pem.len);
	if (err) {
		char why[256];

		/* copied first: the message lives in the buffer teeliza_set_error writes */
		snprintf(why, sizeof(why), "%s", teeliza_errmsg());
		teeliza_set_error(err, "CA key file %s: %s", key_file, why);
		goto out;
	}
	bio = BIO_new_mem_buf(pem.data, (int)pem.len);
	ca->key = bio != NULL ? PEM_read_bio_PrivateKey(bio, NULL, no_passphrase, NULL) : NULL;
	BIO_free(bio);
	if (ca->key == NULL)
		err = ossl_fail("loading the CA key");
out:
	teeliza_buf_free(&pem);
	return err;
}

static bool set_serial_from_key(X509 *x, EVP_PKEY *key)
{
	unsigned char *der = NULL;
	uint8_t md[32];
	int len = i2d_PUBKEY(key, &der);
	BIGNUM *bn;
	bool ok;

	if (len <= 0)
		return false;
	ok = EVP_Digest(der, (size_t)len, md, NULL, EVP_sha256(), NULL) == 1;
	OPENSSL_free(der);
	if (!ok)
		return false;
	md[0] &= 0x7f; /* a positive INTEGER of at most 20 bytes */
	md[0] |= 0x01;
	bn = BN_bin2bn(md, 20, NULL);
	ok = bn != NULL && BN_to_ASN1_INTEGER(bn, X509_get_serialNumber(x)) != NULL;
	BN_free(bn);
	return ok;
}

static bool add_octets_ext(X509 *x, int nid, const uint8_t *data, size_t len)
{
	ASN1_OCTET_STRING *os = ASN1_OCTET_STRING_new();
	bool ok = os != NULL && ASN1_OCTET_STRING_set(os, data, (int)len) == 1 &&
	          X509_add1_ext_i2d(x, nid, os, 0, X509V3_ADD_DEFAULT) == 1;

	ASN1_OCTET_STRING_free(os);
	return ok;
}

static bool key_id(uint8_t out[20], const X509 *x)
{
	const ASN1_BIT_STRING *bits = X509_get0_pubkey_bitstr(x);

	return bits != NULL && EVP_Digest(bits->data, (size_t)bits->length, out, NULL, EVP_sha1(), NULL) == 1;
}

static bool add_authority_key_id(X509 *x, const uint8_t id[20])
{
	AUTHORITY_KEYID *akid = AUTHORITY_KEYID_new();
	bool ok = akid != NULL && (akid->keyid = ASN1_OCTET_STRING_new()) != NULL &&
	          ASN1_OCTET_STRING_set(akid->keyid, id, 20) == 1 &&
	          X509_add1_ext_i2d(x, NID_authority_key_identifier, akid, 0, X509V3_ADD_DEFAULT) == 1;

	AUTHORITY_KEYID_free(akid);
	return ok;
}

static bool add_ca_extensions(X509 *x)
{
	BASIC_CONSTRAINTS *bc = BASIC_CONSTRAINTS_new();
	ASN1_BIT_STRING *ku = ASN1_BIT_STRING_new();
	bool ok;

	ok = bc != NULL && ku != NULL;
	if (ok) {
		bc->ca = 0xff;
		ok = X509_add1_ext_i2d(x, NID_basic_constraints, bc, 1, X509V3_ADD_DEFAULT) == 1 &&
		     ASN1_BIT_STRING_set_bit(ku, 0, 1) == 1 &&  /* digitalSignature */
		     ASN1_BIT_STRING_set_bit(ku, 5, 1) == 1 &&  /* keyCertSign */
		     ASN1_BIT_STRING_set_bit(ku, 6, 1) == 1 &&  /* cRLSign */
		     X509_add1_ext_i2d(x, NID_key_usage, ku, 1, X509V3_ADD_DEFAULT) == 1;
	}
	BASIC_CONSTRAINTS_free(bc);
	ASN1_BIT_STRING_free(ku);
	return ok;
}

static bool add_dns_names(X509 *x, const char *const *names, size_t n)
{
	GENERAL_NAMES *gens;
	size_t i;
	bool ok = true;

	if (n == 0)
		return true;
	gens = sk_GENERAL_NAME_new_null();
	if (gens == NULL)
		return false;
	for (i = 0; ok && i < n; i++) {
		GENERAL_NAME *g = GENERAL_NAME_new();
		ASN1_IA5STRING *s = ASN1_IA5STRING_new();

		ok = g != NULL && s != NULL && ASN1_STRING_set(s, names[i], (int)strlen(names[i])) == 1;
		if (ok) {
			GENERAL_NAME_set0_value(g, GEN_DNS, s);
			s = NULL;
			ok = sk_GENERAL_NAME_push(gens, g) > 0;
			if (ok)
				g = NULL;
		}
		ASN1_IA5STRING_free(s);
		GENERAL_NAME_free(g);
	}
	ok = ok && X509_add1_ext_i2d(x, NID_subject_alt_name, gens, 0, X509V3_ADD_DEFAULT) == 1;
	GENERAL_NAMES_free(gens);
	return ok;
}

/* Fields common to both certificates: version, serial, names, validity, key, subject key id. */
static bool fill_common(X509 *x, const X509_NAME *subject, const X509_NAME *issuer, EVP_PKEY *subject_key)
{
	uint8_t skid[20];

	return X509_set_version(x, 2) == 1 && set_serial_from_key(x, subject_key) &&
	       X509_set_subject_name(x, subject) == 1 && X509_set_issuer_name(x, issuer) == 1 &&
	       ASN1_TIME_set_string_X509(X509_getm_notBefore(x), NOT_BEFORE) == 1 &&
	       ASN1_TIME_set_string_X509(X509_getm_notAfter(x), NOT_AFTER) == 1 &&
	       X509_set_pubkey(x, subject_key) == 1 && key_id(skid, x) &&
	       add_octets_ext(x, NID_subject_key_identifier, skid, sizeof(skid));
}

static teeliza_err make_ca_cert(X509 **out, EVP_PKEY *key)
{
	X509 *x = X509_new();
	X509_NAME *name = X509_NAME_new();
	uint8_t skid[20];
	bool ok;

	*out = NULL;
	ok = x != NULL && name != NULL &&
	     X509_NAME_add_entry_by_NID(name, NID_organizationName, V_ASN1_UTF8STRING,
	                                (const unsigned char *)SIMSRV_CA_ORG, -1, -1, 0) == 1 &&
	     X509_NAME_add_entry_by_NID(name, NID_commonName, V_ASN1_UTF8STRING,
	                                (const unsigned char *)SIMSRV_CA_CN, -1, -1, 0) == 1 &&
	     fill_common(x, name, name, key) && add_ca_extensions(x) && key_id(skid, x) &&
	     add_authority_key_id(x, skid) && X509_sign(x, key, EVP_sha256()) > 0;
	X509_NAME_free(name);
	if (!ok) {
		X509_free(x);
		return ossl_fail("creating the simulator CA certificate");
	}
	*out = x;
	return TEELIZA_OK;
}

/* The stored CA certificate when it is ours and belongs to this key; NULL otherwise. */
static X509 *load_matching_cert(const char *path, EVP_PKEY *key)
{
	teeliza_buf pem;
	BIO *bio;
	X509 *x = NULL;
	char cn[128];

	if (teeliza_read_file(&pem, path, CA_CERT_FILE_MAX) != TEELIZA_OK) {
		teeliza_clear_error();
		return NULL;
	}
	bio = BIO_new_mem_buf(pem.data, (int)pem.len);
	if (bio != NULL)
		x = PEM_read_bio_X509(bio, NULL, no_passphrase, NULL);
	BIO_free(bio);
	teeliza_buf_free(&pem);
	if (x != NULL && (X509_check_private_key(x, key) != 1 || X509_verify(x, key) != 1 ||
	                  X509_NAME_get_text_by_NID(X509_get_subject_name(x), NID_commonName, cn, sizeof(cn)) < 0 ||
	                  strcmp(cn, SIMSRV_CA_CN) != 0)) {
		X509_free(x);
		x = NULL;
	}
	ERR_clear_error();
	return x;
}

teeliza_err simsrv_cert_to_pem(char **out, size_t *out_len, X509 *x)
{
	BIO *bio = BIO_new(BIO_s_mem());
	char *data = NULL;
	long len;
	teeliza_err err = TEELIZA_OK;

	*out = NULL;
	if (bio == NULL || PEM_write_bio_X509(bio, x) != 1 || (len = BIO_get_mem_data(bio, &data)) <= 0) {
		err = ossl_fail("encoding a certificate");
	} else if ((*out = malloc((size_t)len + 1)) == NULL) {
		err = teeliza_set_error(TEELIZA_ERR_NOMEM, "out of memory");
	} else {
		memcpy(*out, data, (size_t)len);
		(*out)[len] = 0;
		*out_len = (size_t)len;
	}
	BIO_free(bio);
	return err;
}

static teeliza_err load_or_create_cert(simsrv_ca *ca, const char *state_dir)
{
	char path[4096];
	const ASN1_OCTET_STRING *skid;
	size_t len = 0;
	teeliza_err err;

	err = join_path(path, sizeof(path), state_dir, SIMSRV_CA_CERT_FILE);
	if (err)
		return err;
	ca->cert = load_matching_cert(path, ca->key);
	if (ca->cert == NULL) {
		err = make_ca_cert(&ca->cert, ca->key);
		if (err == TEELIZA_OK)
			err = simsrv_cert_to_pem(&ca->cert_pem, &len, ca->cert);
		if (err == TEELIZA_OK)
			err = teeliza_write_file(path, ca->cert_pem, len, 0644);
	} else {
		err = simsrv_cert_to_pem(&ca->cert_pem, &len, ca->cert);
	}
	if (err)
		return err;
	skid = X509_get0_subject_key_id(ca->cert);
	if (skid == NULL || ASN1_STRING_length(skid) != (int)sizeof(ca->ski))
		return teeliza_set_error(TEELIZA_ERR_CRYPTO, "the simulator CA certificate has no usable key identifier");
	memcpy(ca->ski, ASN1_STRING_get0_data(skid), sizeof(ca->ski));
	return TEELIZA_OK;
}

teeliza_err simsrv_ca_open(simsrv_ca *ca, const char *key_pem, const char *key_file, const char *state_dir)
{
	unsigned char *der = NULL;
	int len;
	teeliza_err err;

	memset(ca, 0, sizeof(*ca));
	err = load_key(ca, key_pem, key_file, state_dir);
	if (err)
		return err;
	len = i2d_PUBKEY(ca->key, &der);
	if (len <= 0 || EVP_Digest(der, (size_t)len, ca->spki_sha256, NULL, EVP_sha256(), NULL) != 1) {
		OPENSSL_free(der);
		return ossl_fail("hashing the CA public key");
	}
	ca->spki_der = malloc((size_t)len);
	if (ca->spki_der == NULL) {
		OPENSSL_free(der);
		return teeliza_set_error(TEELIZA_ERR_NOMEM, "out of memory");
	}
	memcpy(ca->spki_der, der, (size_t)len);
	ca->spki_der_len = (size_t)len;
	OPENSSL_free(der);
	return load_or_create_cert(ca, state_dir);
}

void simsrv_ca_close(simsrv_ca *ca)
{
	if (ca == NULL)
		return;
	TEELIZA_WIPE_BUFFER(ca->scalar);
	EVP_PKEY_free(ca->key);
	X509_free(ca->cert);
	free(ca->cert_pem);
	free(ca->spki_der);
	memset(ca, 0, sizeof(*ca));
}

bool simsrv_dns_name_valid(const char *name)
{
	size_t len = strlen(name), label = 0, i;

	if (len == 0 || len > 253)
		return false;
	if (name[0] == '*') {
		/* a wildcard is a whole first label */
		if (name[1] != '.' || name[2] == 0)
			return false;
		name += 2;
	}
	for (i = 0; name[i] != 0; i++) {
		char c = name[i];

		if (c == '.') {
			if (label == 0)
				return false;
			label = 0;
			continue;
		}
		if (!((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '-' ||
		      c == '_'))
			return false;
		if (++label > 63)
			return false;
	}
	return label > 0;
}

/*
 * Put a P-256 point in the certificate as its SubjectPublicKeyInfo directly:
 * building an EVP_PKEY for it would go through OpenSSL 3's decoder machinery,
 * which costs more than the whole rest of DeriveKey.
 */
static bool set_p256_public_key(X509 *x, const uint8_t pub[65])
{
	X509_PUBKEY *spki = X509_get_X509_PUBKEY(x);
	unsigned char *bits = OPENSSL_memdup(pub, 65);

	if (spki == NULL || bits == NULL) {
		OPENSSL_free(bits);
		return false;
	}
	if (X509_PUBKEY_set0_param(spki, OBJ_nid2obj(NID_X9_62_id_ecPublicKey), V_ASN1_OBJECT,
	                           OBJ_nid2obj(NID_X9_62_prime256v1), bits, 65) != 1) {
		OPENSSL_free(bits);
		return false;
	}
	return true;
}

bool simsrv_cert_set_serial(X509 *x, const uint8_t *seed, size_t seed_len)
{
	uint8_t md[32];
	BIGNUM *bn;
	bool ok;

	if (EVP_Digest(seed, seed_len, md, NULL, EVP_sha256(), NULL) != 1)
		return false;
	md[0] &= 0x7f;
	md[0] |= 0x01;
	bn = BN_bin2bn(md, 20, NULL);
	ok = bn != NULL && BN_to_ASN1_INTEGER(bn, X509_get_serialNumber(x)) != NULL;
	BN_free(bn);
	return ok;
}

bool simsrv_cert_add_key_ids(X509 *x, const simsrv_ca *ca)
{
	uint8_t skid[20];

	return key_id(skid, x) && add_octets_ext(x, NID_subject_key_identifier, skid, sizeof(skid)) &&
	       add_authority_key_id(x, ca->ski);
}

teeliza_err simsrv_ca_issue(teeliza_buf *pem, const simsrv_ca *ca, const uint8_t pub[65], const char *subject,
                            const char *const *alt_names, size_t n_alt)
{
	X509 *x = X509_new();
	X509_NAME *name = X509_NAME_new();
	uint8_t skid[20];
	char *text = NULL;
	size_t text_len = 0;
	teeliza_err err;
	bool ok;

	teeliza_buf_init(pem, (size_t)4 << 20);
	ok = x != NULL && name != NULL && pub[0] == 0x04 && X509_set_version(x, 2) == 1 && simsrv_cert_set_serial(x, pub, 65) &&
	     X509_NAME_add_entry_by_NID(name, NID_commonName, V_ASN1_UTF8STRING, (const unsigned char *)subject,
	                                (int)strlen(subject), -1, 0) == 1 &&
	     X509_set_subject_name(x, name) == 1 && X509_set_issuer_name(x, X509_get_subject_name(ca->cert)) == 1 &&
	     ASN1_TIME_set_string_X509(X509_getm_notBefore(x), NOT_BEFORE) == 1 &&
	     ASN1_TIME_set_string_X509(X509_getm_notAfter(x), NOT_AFTER) == 1 && set_p256_public_key(x, pub) &&
	     key_id(skid, x) && add_octets_ext(x, NID_subject_key_identifier, skid, sizeof(skid)) &&
	     add_authority_key_id(x, ca->ski) && add_dns_names(x, alt_names, n_alt) &&
	     X509_sign(x, ca->key, EVP_sha256()) > 0;
	err = ok ? simsrv_cert_to_pem(&text, &text_len, x) : ossl_fail("signing the derived key's certificate");
	if (err == TEELIZA_OK)
		err = teeliza_buf_append(pem, text, text_len);
	free(text);
	X509_NAME_free(name);
	X509_free(x);
	return err;
}
