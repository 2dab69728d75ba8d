/*
 * The guest agent's Sign and Verify routes: Ed25519 (OpenSSL) and secp256k1
 * ECDSA (libsecp256k1), with the same answers as the agent's ed25519-dalek
 * and k256 code, down to which inputs are an error and which only invalid.
 */
#include "teeliza/tee/dstack_keys.h"
#include "tee/dstack_internal.h"

#include <assert.h>
#include <string.h>

#include <openssl/bn.h>
#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/sha.h>

static teeliza_err ed25519_sign(uint8_t sig[TEE_DSTACK_SIG_LEN], uint8_t pub[TEE_DSTACK_ED25519_PUB_LEN],
                                const uint8_t seed[TEE_DSTACK_KEY_LEN], const uint8_t *data, size_t data_len)
{
	EVP_PKEY *pkey = EVP_PKEY_new_raw_private_key(EVP_PKEY_ED25519, NULL, seed, TEE_DSTACK_KEY_LEN);
	EVP_MD_CTX *md = EVP_MD_CTX_new();
	size_t pub_len = TEE_DSTACK_ED25519_PUB_LEN, sig_len = TEE_DSTACK_SIG_LEN;
	static const uint8_t empty[1];
	teeliza_err err = TEELIZA_OK;

	/* Ed25519 is one-shot: no digest, the whole message at once. */
	if (pkey == NULL || md == NULL || EVP_PKEY_get_raw_public_key(pkey, pub, &pub_len) != 1 ||
	    pub_len != TEE_DSTACK_ED25519_PUB_LEN || EVP_DigestSignInit(md, NULL, NULL, NULL, pkey) != 1 ||
	    EVP_DigestSign(md, sig, &sig_len, data_len ? data : empty, data_len) != 1 || sig_len != TEE_DSTACK_SIG_LEN) {
		ERR_clear_error();
		err = teeliza_set_error(TEELIZA_ERR_CRYPTO, "Ed25519 signing failed");
	}
	EVP_MD_CTX_free(md);
	EVP_PKEY_free(pkey);
	return err;
}

static teeliza_err k256_sign(uint8_t sig[TEE_DSTACK_SIG_LEN], const uint8_t key[TEE_DSTACK_KEY_LEN],
                             const uint8_t digest[32])
{
	const secp256k1_context *ctx = tee_secp_context();
	secp256k1_ecdsa_signature s;

	if (ctx == NULL)
		return TEELIZA_ERR_CRYPTO;
	/* RFC 6979 nonce, low S: k256's Signer and PrehashSigner give the same bytes. */
	if (!secp256k1_ecdsa_sign(ctx, &s, digest, key, NULL, NULL) ||
	    !secp256k1_ecdsa_signature_serialize_compact(ctx, sig, &s))
		return teeliza_set_error(TEELIZA_ERR_CRYPTO, "Failed to parse secp256k1 key");
	return TEELIZA_OK;
}

teeliza_err tee_dstack_sign(tee_dstack_signature *out, const tee_dstack_app_keys *app, tee_dstack_alg alg,
                            const uint8_t *data, size_t data_len)
{
	static const char path[] = "vms", purpose[] = "signing";
	tee_dstack_alg key_alg = alg == TEE_DSTACK_ALG_ED25519 ? TEE_DSTACK_ALG_ED25519 : TEE_DSTACK_ALG_SECP256K1;
	tee_dstack_key key;
	uint8_t digest[32];
	teeliza_err err;

	assert(out != NULL && app != NULL && (data != NULL || data_len == 0));
	memset(out, 0, sizeof(*out));
	/* The agent derives the key first, so a bad digest length is reported after a bad key. */
	err = tee_dstack_get_key(&key, app, key_alg, path, sizeof(path) - 1, purpose, sizeof(purpose) - 1);
	if (err)
		return err;
	switch (alg) {
	case TEE_DSTACK_ALG_ED25519:
		err = ed25519_sign(out->signature, out->public_key, key.key, data, data_len);
		out->public_key_len = TEE_DSTACK_ED25519_PUB_LEN;
		break;
	case TEE_DSTACK_ALG_SECP256K1:
		if (SHA256(data_len ? data : (const uint8_t *)"", data_len, digest) == NULL) {
			err = teeliza_set_error(TEELIZA_ERR_CRYPTO, "SHA-256 failed");
			break;
		}
		err = k256_sign(out->signature, key.key, digest);
		break;
	case TEE_DSTACK_ALG_SECP256K1_PREHASHED:
		if (data_len != 32) {
			err = teeliza_set_error(TEELIZA_ERR_INVALID,
			                        "Pre-hashed signing requires a 32-byte digest, but received %zu bytes",
			                        data_len);
			break;
		}
		err = k256_sign(out->signature, key.key, data);
		break;
	}
	if (!err && alg != TEE_DSTACK_ALG_ED25519) {
		memcpy(out->public_key, key.public_key, key.public_key_len);
		out->public_key_len = key.public_key_len;
	}
	if (!err) {
		memcpy(out->key_chain, key.chain, sizeof(out->key_chain));
		out->kms_signature_len = key.kms_signature_len;
	}
	teeliza_wipe(&key, sizeof(key));
	if (err)
		memset(out, 0, sizeof(*out));
	return err;
}

/*
 * Whether 32 bytes decode to a point as ed25519-dalek's VerifyingKey::from_bytes
 * requires: y is the low 255 bits (reduced mod p, as dalek's field decoding
 * does), and x² = (y² − 1) / (d·y² + 1) must have a square root mod
 * p = 2^255 − 19. OpenSSL offers no such check; it only fails the
 * verification later, and the agent answers these keys with an error, not
 * with valid: false. Public data, so variable time is fine. -1 on failure.
 */
static int ed25519_point_valid(const uint8_t pub[TEE_DSTACK_ED25519_PUB_LEN])
{
	uint8_t be[32];
	BN_CTX *bn = BN_CTX_new();
	BIGNUM *p, *d, *y, *u, *v, *e, *t;
	int i, result = -1;

	if (bn == NULL)
		return -1;
	BN_CTX_start(bn);
	p = BN_CTX_get(bn);
	d = BN_CTX_get(bn);
	y = BN_CTX_get(bn);
	u = BN_CTX_get(bn);
	v = BN_CTX_get(bn);
	e = BN_CTX_get(bn);
	t = BN_CTX_get(bn);
	if (t == NULL)
		goto out;
	for (i = 0; i < 32; i++)
		be[i] = pub[31 - i];
	be[0] &= 0x7f; /* the sign of x */
	/* p = 2^255 - 19; d = -121665 / 121666 mod p */
	BN_zero(p);
	if (!BN_set_bit(p, 255) || !BN_sub_word(p, 19) || !BN_set_word(t, 121666) ||
	    !BN_mod_inverse(d, t, p, bn) || !BN_mul_word(d, 121665) || !BN_sub(d, p, d) || !BN_nnmod(d, d, p, bn))
		goto out;
	if (BN_bin2bn(be, 32, y) == NULL || !BN_nnmod(y, y, p, bn) || !BN_mod_sqr(t, y, p, bn) ||
	    !BN_sub(u, t, BN_value_one()) || !BN_nnmod(u, u, p, bn) || !BN_mod_mul(v, d, t, p, bn) ||
	    !BN_add_word(v, 1) || !BN_nnmod(v, v, p, bn))
		goto out;
	/* v ≠ 0 for every y, since -1/d is not a square. u/v is a square iff (u·v)^((p−1)/2) ≠ p−1. */
	if (!BN_mod_mul(t, u, v, p, bn) || BN_copy(e, p) == NULL || !BN_sub_word(e, 1) || !BN_rshift1(e, e) ||
	    !BN_mod_exp(t, t, e, p, bn) || !BN_add_word(t, 1))
		goto out;
	result = BN_cmp(t, p) != 0;
out:
	BN_CTX_end(bn);
	BN_CTX_free(bn);
	return result;
}

static teeliza_err ed25519_verify(bool *valid, const uint8_t *data, size_t data_len, const uint8_t *sig,
                                  size_t sig_len, const uint8_t *pub, size_t pub_len)
{
	static const uint8_t empty[1];
	EVP_PKEY *pkey;
	EVP_MD_CTX *md;
	int point, rc = -1;

	if (pub_len != TEE_DSTACK_ED25519_PUB_LEN)
		return teeliza_set_error(TEELIZA_ERR_INVALID, "invalid public key");
	point = ed25519_point_valid(pub);
	if (point < 0)
		return teeliza_set_error(TEELIZA_ERR_CRYPTO, "Ed25519 point check failed");
	if (!point)
		return teeliza_set_error(TEELIZA_ERR_INVALID, "signature error: Cannot decompress Edwards point");
	if (sig_len != TEE_DSTACK_SIG_LEN)
		return teeliza_set_error(TEELIZA_ERR_INVALID, "signature error");
	pkey = EVP_PKEY_new_raw_public_key(EVP_PKEY_ED25519, NULL, pub, pub_len);
	md = EVP_MD_CTX_new();
	if (pkey != NULL && md != NULL && EVP_DigestVerifyInit(md, NULL, NULL, NULL, pkey) == 1)
		rc = EVP_DigestVerify(md, sig, sig_len, data_len ? data : empty, data_len);
	EVP_MD_CTX_free(md);
	EVP_PKEY_free(pkey);
	ERR_clear_error();
	/* 0 is a bad signature (also a non-canonical S, which dalek refuses the same way). */
	if (rc < 0)
		return teeliza_set_error(TEELIZA_ERR_CRYPTO, "Ed25519 verification failed to run");
	*valid = rc == 1;
	return TEELIZA_OK;
}

static teeliza_err k256_verify(bool *valid, const uint8_t digest[32], const uint8_t *sig, size_t sig_len,
                               const uint8_t *pub, size_t pub_len)
{
	const secp256k1_context *ctx = secp256k1_context_static;
	static const uint8_t zero[32];
	secp256k1_ecdsa_signature s;
	secp256k1_pubkey pk;

	/* k256 reads SEC1 compressed or uncompressed; libsecp256k1 would also take the hybrid 06/07 form. */
	if (!((pub_len == 33 && (pub[0] == 2 || pub[0] == 3)) || (pub_len == 65 && pub[0] == 4)) ||
	    !secp256k1_ec_pubkey_parse(ctx, &pk, pub, pub_len))
		return teeliza_set_error(TEELIZA_ERR_INVALID, "signature error");
	if (sig_len != TEE_DSTACK_SIG_LEN || memcmp(sig, zero, 32) == 0 || memcmp(sig + 32, zero, 32) == 0 ||
	    !secp256k1_ecdsa_signature_parse_compact(ctx, &s, sig))
		return teeliza_set_error(TEELIZA_ERR_INVALID, "signature error");
	/* libsecp256k1 refuses high S, as k256 ≥ 0.13.2 does. */
	*valid = secp256k1_ecdsa_verify(ctx, &s, digest, &pk) == 1;
	return TEELIZA_OK;
}

teeliza_err tee_dstack_verify(bool *valid, tee_dstack_alg alg, const uint8_t *data, size_t data_len,
                              const uint8_t *signature, size_t signature_len, const uint8_t *public_key,
                              size_t public_key_len)
{
	uint8_t digest[32];
	teeliza_err err;

	assert(valid != NULL && (data != NULL || data_len == 0));
	assert((signature != NULL || signature_len == 0) && (public_key != NULL || public_key_len == 0));
	*valid = false;
	switch (alg) {
	case TEE_DSTACK_ALG_ED25519:
		return ed25519_verify(valid, data, data_len, signature, signature_len, public_key, public_key_len);
	case TEE_DSTACK_ALG_SECP256K1:
		if (SHA256(data_len ? data : (const uint8_t *)"", data_len, digest) == NULL)
			return teeliza_set_error(TEELIZA_ERR_CRYPTO, "SHA-256 failed");
		return k256_verify(valid, digest, signature, signature_len, public_key, public_key_len);
	case TEE_DSTACK_ALG_SECP256K1_PREHASHED:
		/* k256's bits2field: longer data is truncated, shorter left-padded with zeros, and under half
		 * the field size the verification fails (after the key and signature were decoded). */
		memset(digest, 0, sizeof(digest));
		if (data_len >= 32)
			memcpy(digest, data, 32);
		else if (data_len > 0)
			memcpy(digest + 32 - data_len, data, data_len);
		err = k256_verify(valid, digest, signature, signature_len, public_key, public_key_len);
		if (!err && data_len < 16)
			*valid = false;
		return err;
	}
	assert(0 && "unknown algorithm");
	return TEELIZA_ERR_INTERNAL;
}
