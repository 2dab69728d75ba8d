/*
 * The simulator's (and tappd ≤ 2025-01's) DeriveKey: HKDF over the CA key's
 * P-256 scalar, output as the same PKCS#8 PEM tappd sends, and the reading
 * of that CA key from its PEM file.
 */
#include "teeliza/tee/derive.h"
#include "teeliza/common/encoding.h"

#include <assert.h>
#include <string.h>

#include <openssl/bio.h>
#include <openssl/bn.h>
#include <openssl/core_names.h>
#include <openssl/decoder.h>
#include <openssl/ec.h>
#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/kdf.h>
#include <openssl/obj_mac.h>
#include <openssl/params.h>
#include <openssl/pem.h>
#include <openssl/x509.h>

#define P256_PEM_MAX (64 * 1024)

/* The order n of the P-256 group, big-endian. */
static const uint8_t p256_order[32] = {
	0xff, 0xff, 0xff, 0xff, 0x00, 0x00, 0x00, 0x00, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff,
	0xbc, 0xe6, 0xfa, 0xad, 0xa7, 0x17, 0x9e, 0x84, 0xf3, 0xb9, 0xca, 0xc2, 0xfc, 0x63, 0x25, 0x51,
};

/*
 * PKCS#8 PrivateKeyInfo { version 0, {ecPublicKey, prime256v1}, OCTET STRING
 * { ECPrivateKey { version 1, key[32], [1] BIT STRING 04‖X‖Y } } }: the
 * 138-byte layout of rcgen/ring and of `openssl genpkey`. Only the key and
 * the point vary, so the DER is a template with two holes.
 */
static const uint8_t pkcs8_head[] = {
	0x30, 0x81, 0x87, 0x02, 0x01, 0x00, 0x30, 0x13, 0x06, 0x07, 0x2a, 0x86, 0x48, 0xce, 0x3d, 0x02,
	0x01, 0x06, 0x08, 0x2a, 0x86, 0x48, 0xce, 0x3d, 0x03, 0x01, 0x07, 0x04, 0x6d, 0x30, 0x6b, 0x02,
	0x01, 0x01, 0x04, 0x20,
};
static const uint8_t pkcs8_mid[] = { 0xa1, 0x44, 0x03, 0x42, 0x00 };
#define PKCS8_P256_LEN (sizeof(pkcs8_head) + 32 + sizeof(pkcs8_mid) + 65)

/* 0 < d < n, without branching on d. */
static bool p256_scalar_valid(const uint8_t d[32])
{
	unsigned borrow = 0, nonzero = 0, t;
	int i;

	for (i = 31; i >= 0; i--) {
		t = (unsigned)d[i] - p256_order[i] - borrow;
		borrow = (t >> 31) & 1u;
		nonzero |= d[i];
	}
	return (borrow & (unsigned)(nonzero != 0)) != 0;
}

teeliza_err tee_hkdf_p256_scalar(uint8_t out[32], const uint8_t ca_scalar[32], const char *path, size_t path_len)
{
	static const char hkdf_salt[] = "RATLS";
	EVP_KDF *kdf;
	EVP_KDF_CTX *kctx = NULL;
	OSSL_PARAM params[5];
	int ok = 0;

	assert(out != NULL && ca_scalar != NULL && (path != NULL || path_len == 0));
	memset(out, 0, 32);
	params[0] = OSSL_PARAM_construct_utf8_string(OSSL_KDF_PARAM_DIGEST, (char *)"SHA256", 0);
	params[1] = OSSL_PARAM_construct_octet_string(OSSL_KDF_PARAM_SALT, (void *)hkdf_salt, sizeof(hkdf_salt) - 1);
	params[2] = OSSL_PARAM_construct_octet_string(OSSL_KDF_PARAM_KEY, (void *)ca_scalar, 32);
	params[3] = OSSL_PARAM_construct_octet_string(OSSL_KDF_PARAM_INFO, (void *)(path_len ? path : ""), path_len);
	params[4] = OSSL_PARAM_construct_end();
	kdf = EVP_KDF_fetch(NULL, "HKDF", NULL);
	if (kdf != NULL)
		kctx = EVP_KDF_CTX_new(kdf);
	if (kctx != NULL)
		ok = EVP_KDF_derive(kctx, out, 32, params);
	EVP_KDF_CTX_free(kctx);
	EVP_KDF_free(kdf);
	if (ok != 1) {
		teeliza_wipe(out, 32);
		ERR_clear_error();
		return teeliza_set_error(TEELIZA_ERR_CRYPTO, "HKDF-SHA256 failed");
	}
	if (!p256_scalar_valid(out)) {
		teeliza_wipe(out, 32);
		/* p256::SecretKey::from_slice's rejection, in tappd's words. */
		return teeliza_set_error(TEELIZA_ERR_CRYPTO, "failed to decode derived secret key");
	}
	return TEELIZA_OK;
}

/* point = d·G, uncompressed. */
static teeliza_err p256_public_point(uint8_t point[65], const uint8_t d[32])
{
	EC_GROUP *group = EC_GROUP_new_by_curve_name(NID_X9_62_prime256v1);
	EC_POINT *pub = NULL;
	BN_CTX *bn_ctx = BN_CTX_secure_new();
	BIGNUM *k = BN_secure_new();
	teeliza_err err = TEELIZA_OK;

	memset(point, 0, 65);
	if (group == NULL || bn_ctx == NULL || k == NULL || (pub = EC_POINT_new(group)) == NULL) {
		err = teeliza_set_error(TEELIZA_ERR_NOMEM, "out of memory for a P-256 point");
		goto out;
	}
	BN_set_flags(k, BN_FLG_CONSTTIME);
	if (BN_bin2bn(d, 32, k) == NULL || !EC_POINT_mul(group, pub, k, NULL, NULL, bn_ctx)
	    || EC_POINT_point2oct(group, pub, POINT_CONVERSION_UNCOMPRESSED, point, 65, bn_ctx) != 65) {
		memset(point, 0, 65);
		err = teeliza_set_error(TEELIZA_ERR_CRYPTO, "P-256 public key computation failed");
	}
out:
	if (err)
		ERR_clear_error();
	BN_clear_free(k);
	BN_CTX_free(bn_ctx);
	EC_POINT_free(pub);
	EC_GROUP_free(group);
	return err;
}

/* rcgen's serialize_pem: 64-column base64 lines, LF, trailing newline. */
static teeliza_err pem_armor(teeliza_buf *pem, const char *label, const uint8_t *der, size_t der_len)
{
	teeliza_buf b64;
	size_t off, n;
	teeliza_err err;

	teeliza_buf_init(&b64, P256_PEM_MAX);
	b64.secret = true;
	err = teeliza_base64_encode_buf(&b64, der, der_len);
	if (!err)
		err = teeliza_buf_printf(pem, "-----BEGIN %s-----\n", label);
	for (off = 0; !err && off < b64.len; off += n) {
		n = b64.len - off < 64 ? b64.len - off : 64;
		err = teeliza_buf_append(pem, b64.data + off, n);
		if (!err)
			err = teeliza_buf_append(pem, "\n", 1);
	}
	if (!err)
		err = teeliza_buf_printf(pem, "-----END %s-----\n", label);
	teeliza_buf_free(&b64);
	return err;
}

teeliza_err tee_hkdf_p256_pem(teeliza_buf *pem, const uint8_t ca_scalar[32], const char *path, size_t path_len)
{
	uint8_t d[32];
	uint8_t point[65];
	uint8_t der[PKCS8_P256_LEN];
	uint8_t *p = der;
	teeliza_err err;

	assert(pem != NULL);
	teeliza_buf_init(pem, P256_PEM_MAX);
	pem->secret = true;
	err = tee_hkdf_p256_scalar(d, ca_scalar, path, path_len);
	if (!err)
		err = p256_public_point(point, d);
	if (!err) {
		memcpy(p, pkcs8_head, sizeof(pkcs8_head));
		p += sizeof(pkcs8_head);
		memcpy(p, d, sizeof(d));
		p += sizeof(d);
		memcpy(p, pkcs8_mid, sizeof(pkcs8_mid));
		p += sizeof(pkcs8_mid);
		memcpy(p, point, sizeof(point));
		err = pem_armor(pem, "PRIVATE KEY", der, sizeof(der));
	}
	TEELIZA_WIPE_BUFFER(d);
	TEELIZA_WIPE_BUFFER(der);
	if (err)
		teeliza_buf_free(pem);
	return err;
}

/* The next PEM block that is not "EC PARAMETERS" (openssl ecparam -genkey writes one first). */
static teeliza_err read_key_block(BIO *bio, char **name, unsigned char **data, long *len)
{
	char *header = NULL;
	unsigned long e;
	bool encrypted;

	for (;;) {
		*name = NULL;
		*data = NULL;
		*len = 0;
		if (!PEM_read_bio(bio, name, &header, data, len)) {
			e = ERR_peek_last_error();
			if (ERR_GET_LIB(e) == ERR_LIB_PEM && ERR_GET_REASON(e) == PEM_R_NO_START_LINE)
				return teeliza_set_error(TEELIZA_ERR_PARSE, "invalid PEM: no private key block found");
			return teeliza_set_error(TEELIZA_ERR_PARSE, "invalid PEM: malformed block (%s)",
			                         ERR_reason_error_string(e) ? ERR_reason_error_string(e) : "unknown");
		}
		encrypted = header != NULL && header[0] != '\0';
		OPENSSL_free(header);
		header = NULL;
		if (encrypted || strcmp(*name, "ENCRYPTED PRIVATE KEY") == 0)
			return teeliza_set_error(TEELIZA_ERR_PARSE, "invalid PEM: encrypted keys are not supported");
		if (strcmp(*name, "EC PARAMETERS") != 0)
			return TEELIZA_OK;
		OPENSSL_free(*name);
		OPENSSL_clear_free(*data, (size_t)*len);
	}
}

/*
 * SEC1 ECPrivateKey DER. OpenSSL's SEC1 decoder also takes PKCS#8, so first
 * check the SEC1 shape: SEQUENCE { INTEGER 1 (ecPrivkeyVer1), ... }.
 */
static EVP_PKEY *decode_sec1(const unsigned char *data, size_t len)
{
	static const unsigned char version1[] = { 0x02, 0x01, 0x01 };
	const unsigned char *p = data;
	size_t left = len, header;
	EVP_PKEY *pkey = NULL;
	OSSL_DECODER_CTX *dctx;
	int ok = 0;

	if (len < 2 || data[0] != 0x30)
		return NULL;
	header = data[1] < 0x80 ? 2 : 2 + (data[1] & 0x7fu);
	if (len < header + sizeof(version1) || memcmp(data + header, version1, sizeof(version1)) != 0)
		return NULL;
	dctx = OSSL_DECODER_CTX_new_for_pkey(&pkey, "DER", "type-specific", "EC", OSSL_KEYMGMT_SELECT_KEYPAIR,
	                                     NULL, NULL);
	if (dctx != NULL)
		ok = OSSL_DECODER_from_data(dctx, &p, &left);
	OSSL_DECODER_CTX_free(dctx);
	if (ok != 1 || left != 0) {
		EVP_PKEY_free(pkey);
		return NULL;
	}
	return pkey;
}

/*
 * The key from the DER of a "PRIVATE KEY" (PKCS#8) or "EC PRIVATE KEY" (SEC1)
 * block, each parsed strictly as its label says (d2i_PrivateKey would also
 * take a PKCS#8 body under the SEC1 label); all bytes must be used.
 */
static teeliza_err decode_key_block(EVP_PKEY **pkey, const char *name, const unsigned char *data, long len)
{
	const unsigned char *p = data;
	PKCS8_PRIV_KEY_INFO *p8;

	*pkey = NULL;
	if (strcmp(name, "PRIVATE KEY") == 0) {
		p8 = d2i_PKCS8_PRIV_KEY_INFO(NULL, &p, len);
		if (p8 != NULL && p == data + len)
			*pkey = EVP_PKCS82PKEY(p8);
		PKCS8_PRIV_KEY_INFO_free(p8);
	} else if (strcmp(name, "EC PRIVATE KEY") == 0) {
		*pkey = decode_sec1(data, (size_t)len);
	} else {
		return teeliza_set_error(TEELIZA_ERR_PARSE,
		                         "invalid PEM: expected \"PRIVATE KEY\" or \"EC PRIVATE KEY\", found \"%.64s\"", name);
	}
	if (*pkey == NULL)
		return teeliza_set_error(TEELIZA_ERR_PARSE, "invalid PEM: the \"%s\" block is not a valid DER key", name);
	return TEELIZA_OK;
}

teeliza_err tee_p256_scalar_from_pem(uint8_t scalar[32], const char *pem, size_t pem_len)
{
	BIO *bio = NULL;
	char *name = NULL;
	unsigned char *data = NULL;
	long len = 0;
	EVP_PKEY *pkey = NULL;
	BIGNUM *d = NULL;
	char group[64];
	const char *type;
	teeliza_err err;

	assert(scalar != NULL && (pem != NULL || pem_len == 0));
	memset(scalar, 0, 32);
	group[0] = '\0';
	if (pem_len == 0)
		return teeliza_set_error(TEELIZA_ERR_PARSE, "invalid PEM: empty key file");
	if (pem_len > P256_PEM_MAX)
		return teeliza_set_error(TEELIZA_ERR_PARSE, "invalid PEM: %zu bytes is too large for a key file", pem_len);
	bio = BIO_new_mem_buf(pem, (int)pem_len);
	if (bio == NULL)
		return teeliza_set_error(TEELIZA_ERR_NOMEM, "out of memory");
	err = read_key_block(bio, &name, &data, &len);
	if (!err)
		err = decode_key_block(&pkey, name, data, len);
	if (err)
		goto out;
	if (!EVP_PKEY_is_a(pkey, "EC")) {
		type = EVP_PKEY_get0_type_name(pkey);
		err = teeliza_set_error(TEELIZA_ERR_PARSE, "invalid PEM: a %s key, not a P-256 EC key",
		                        type ? type : "non-EC");
		goto out;
	}
	if (!EVP_PKEY_get_utf8_string_param(pkey, OSSL_PKEY_PARAM_GROUP_NAME, group, sizeof(group), NULL)
	    || strcmp(group, "prime256v1") != 0) {
		err = teeliza_set_error(TEELIZA_ERR_PARSE, "invalid PEM: EC key on curve %s, not P-256 (prime256v1)",
		                        group[0] ? group : "with explicit parameters");
		goto out;
	}
	if (!EVP_PKEY_get_bn_param(pkey, OSSL_PKEY_PARAM_PRIV_KEY, &d) || BN_bn2binpad(d, scalar, 32) != 32
	    || !p256_scalar_valid(scalar)) {
		teeliza_wipe(scalar, 32);
		err = teeliza_set_error(TEELIZA_ERR_PARSE, "invalid PEM: the private scalar is not in 1..n-1");
		goto out;
	}
out:
	BN_clear_free(d);
	EVP_PKEY_free(pkey);
	OPENSSL_free(name);
	if (data != NULL)
		OPENSSL_clear_free(data, (size_t)len);
	BIO_free(bio);
	ERR_clear_error();
	return err;
}
