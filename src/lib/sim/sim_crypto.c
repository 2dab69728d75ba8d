/* P-256 key generation, raw-format signatures and public keys for the simulator PKI. */
#include "sim_internal.h"

#include <assert.h>
#include <string.h>

#include <openssl/core_names.h>
#include <openssl/ec.h>
#include <openssl/sha.h>

teeliza_err sim_gen_key(EVP_PKEY **out)
{
	assert(out != NULL);
	*out = EVP_EC_gen("P-256");
	if (*out == NULL)
		return teeliza_set_error(TEELIZA_ERR_CRYPTO, "cannot generate a P-256 key");
	return TEELIZA_OK;
}

teeliza_err sim_pub_xy(uint8_t out[64], EVP_PKEY *key)
{
	uint8_t point[65];
	size_t len = 0;

	assert(out != NULL && key != NULL);
	memset(out, 0, 64);
	if (EVP_PKEY_get_octet_string_param(key, OSSL_PKEY_PARAM_ENCODED_PUBLIC_KEY, point, sizeof(point), &len) != 1 ||
	    len != sizeof(point) || point[0] != 0x04)
		return teeliza_set_error(TEELIZA_ERR_CRYPTO, "cannot export the P-256 public key");
	memcpy(out, point + 1, 64);
	return TEELIZA_OK;
}

/*
 * A fresh EVP_PKEY_CTX per call: the EVP_PKEY itself is only read, so any
 * number of threads can sign with the same key at once.
 */
teeliza_err sim_sign_raw(uint8_t sig[64], EVP_PKEY *key, const uint8_t *msg, size_t len)
{
	uint8_t digest[SHA256_DIGEST_LENGTH];
	uint8_t der[80];
	size_t der_len = sizeof(der);
	const unsigned char *p = der;
	EVP_PKEY_CTX *ctx;
	ECDSA_SIG *es = NULL;
	const BIGNUM *r, *s;
	teeliza_err err = TEELIZA_OK;

	assert(sig != NULL && key != NULL && (msg != NULL || len == 0));
	memset(sig, 0, 64);
	SHA256(msg, len, digest);
	ctx = EVP_PKEY_CTX_new(key, NULL);
	if (ctx == NULL || EVP_PKEY_sign_init(ctx) != 1 || EVP_PKEY_sign(ctx, der, &der_len, digest, sizeof(digest)) != 1 ||
	    (es = d2i_ECDSA_SIG(NULL, &p, (long)der_len)) == NULL) {
		err = teeliza_set_error(TEELIZA_ERR_CRYPTO, "ECDSA-P256 signing failed");
		goto out;
	}
	ECDSA_SIG_get0(es, &r, &s);
	if (BN_bn2binpad(r, sig, 32) != 32 || BN_bn2binpad(s, sig + 32, 32) != 32) {
		memset(sig, 0, 64);
		err = teeliza_set_error(TEELIZA_ERR_CRYPTO, "ECDSA signature component longer than 32 bytes");
	}
out:
	ECDSA_SIG_free(es);
	EVP_PKEY_CTX_free(ctx);
	return err;
}
