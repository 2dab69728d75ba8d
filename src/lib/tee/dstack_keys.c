/*
 * dstack's key hierarchy: HKDF-SHA256 with salt "RATLS", K_app from the KMS
 * root, K_path from K_app, and the recoverable secp256k1 signatures of the
 * GetKey chain.
 */
#include "teeliza/tee/dstack_keys.h"
#include "teeliza/common/encoding.h"
#include "teeliza/common/keccak.h"
#include "tee/dstack_internal.h"

#include <assert.h>
#include <pthread.h>
#include <string.h>

#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/rand.h>
#include <secp256k1_recovery.h>

/* ---- algorithms ---- */

static bool name_is(const char *name, size_t len, const char *lit)
{
	return len == strlen(lit) && (len == 0 || memcmp(name, lit, len) == 0);
}

teeliza_err tee_dstack_key_alg_parse(tee_dstack_alg *out, const char *name, size_t name_len)
{
	assert(out != NULL && (name != NULL || name_len == 0));
	if (name_is(name, name_len, "secp256k1") || name_is(name, name_len, "") || name_is(name, name_len, "k256"))
		*out = TEE_DSTACK_ALG_SECP256K1;
	else if (name_is(name, name_len, "ed25519"))
		*out = TEE_DSTACK_ALG_ED25519;
	else
		return teeliza_set_error(TEELIZA_ERR_UNSUPPORTED, "Unsupported algorithm");
	return TEELIZA_OK;
}

teeliza_err tee_dstack_sign_alg_parse(tee_dstack_alg *out, const char *name, size_t name_len)
{
	assert(out != NULL && (name != NULL || name_len == 0));
	if (name_is(name, name_len, "secp256k1") || name_is(name, name_len, "k256"))
		*out = TEE_DSTACK_ALG_SECP256K1;
	else if (name_is(name, name_len, "ed25519"))
		*out = TEE_DSTACK_ALG_ED25519;
	else if (name_is(name, name_len, "secp256k1_prehashed"))
		*out = TEE_DSTACK_ALG_SECP256K1_PREHASHED;
	else
		return teeliza_set_error(TEELIZA_ERR_UNSUPPORTED, "Unsupported algorithm");
	return TEELIZA_OK;
}

const char *tee_dstack_alg_name(tee_dstack_alg alg)
{
	switch (alg) {
	case TEE_DSTACK_ALG_SECP256K1:
		return "secp256k1";
	case TEE_DSTACK_ALG_ED25519:
		return "ed25519";
	case TEE_DSTACK_ALG_SECP256K1_PREHASHED:
		return "secp256k1_prehashed";
	}
	return "unknown";
}

/* ---- shared state: one SHA-256 method per process (the secp256k1 context is secp_context.c's) ---- */

static pthread_once_t state_once = PTHREAD_ONCE_INIT;
static EVP_MD *sha256_md;

static void state_init(void)
{
	/* An implicit fetch per digest costs about as much as hashing 64 bytes. */
	sha256_md = EVP_MD_fetch(NULL, "SHA256", NULL);
}

bool tee_dstack_k256_key_valid(const uint8_t key[TEE_DSTACK_KEY_LEN])
{
	/* seckey_verify needs no context state; the static context avoids the once-lock. */
	return secp256k1_ec_seckey_verify(secp256k1_context_static, key) == 1;
}

/* ---- HKDF-SHA256, L = 32 ---- */

struct part {
	const void *data;
	size_t len;
};

/* HMAC-SHA256 (RFC 2104) with a key of at most one block, over the parts concatenated. */
static bool hmac_sha256(uint8_t out[32], EVP_MD_CTX *ctx, const uint8_t *key, size_t key_len,
                        const struct part *parts, size_t n_parts)
{
	uint8_t pad[64], inner[32];
	unsigned int n = 0;
	size_t i;
	bool ok;

	assert(key_len <= sizeof(pad));
	memset(pad, 0x36, sizeof(pad));
	for (i = 0; i < key_len; i++)
		pad[i] ^= key[i];
	ok = EVP_DigestInit_ex2(ctx, sha256_md, NULL) && EVP_DigestUpdate(ctx, pad, sizeof(pad));
	for (i = 0; ok && i < n_parts; i++)
		ok = parts[i].len == 0 || EVP_DigestUpdate(ctx, parts[i].data, parts[i].len);
	ok = ok && EVP_DigestFinal_ex(ctx, inner, &n) && n == 32;
	for (i = 0; i < sizeof(pad); i++)
		pad[i] ^= 0x36 ^ 0x5c;
	ok = ok && EVP_DigestInit_ex2(ctx, sha256_md, NULL) && EVP_DigestUpdate(ctx, pad, sizeof(pad)) &&
	     EVP_DigestUpdate(ctx, inner, sizeof(inner)) && EVP_DigestFinal_ex(ctx, out, &n) && n == 32;
	TEELIZA_WIPE_BUFFER(pad);
	TEELIZA_WIPE_BUFFER(inner);
	return ok;
}

/*
 * out = HKDF-SHA256(salt "RATLS", ikm, info_a ‖ info_b, 32): one expand
 * block, T(1) = HMAC(PRK, info ‖ 0x01). ring's expand() concatenates its info
 * slices the same way.
 */
static teeliza_err hkdf32(uint8_t out[32], const uint8_t ikm[32], const void *info_a, size_t info_a_len,
                          const void *info_b, size_t info_b_len)
{
	static const uint8_t salt[5] = {'R', 'A', 'T', 'L', 'S'};
	static const uint8_t one = 1;
	struct part extract[1] = {{ikm, 32}};
	struct part expand[3] = {{info_a, info_a_len}, {info_b, info_b_len}, {&one, 1}};
	uint8_t prk[32];
	EVP_MD_CTX *ctx;
	bool ok;

	memset(out, 0, 32);
	if (pthread_once(&state_once, state_init) != 0 || sha256_md == NULL)
		return teeliza_set_error(TEELIZA_ERR_CRYPTO, "cannot fetch SHA-256");
	ctx = EVP_MD_CTX_new();
	ok = sha256_md != NULL && ctx != NULL && hmac_sha256(prk, ctx, salt, sizeof(salt), extract, 1) &&
	     hmac_sha256(out, ctx, prk, sizeof(prk), expand, 3);
	EVP_MD_CTX_free(ctx);
	TEELIZA_WIPE_BUFFER(prk);
	if (!ok) {
		teeliza_wipe(out, 32);
		ERR_clear_error();
		return teeliza_set_error(TEELIZA_ERR_CRYPTO, "HKDF-SHA256 failed");
	}
	return TEELIZA_OK;
}

/* ---- chain signatures ---- */

teeliza_err tee_dstack_sign_recoverable(uint8_t sig[TEE_DSTACK_CHAIN_SIG_LEN], const uint8_t key[TEE_DSTACK_KEY_LEN],
                                        const uint8_t digest[32])
{
	const secp256k1_context *ctx = tee_secp_context();
	secp256k1_ecdsa_recoverable_signature rsig;
	int recid = 0;

	assert(sig != NULL && key != NULL && digest != NULL);
	memset(sig, 0, TEE_DSTACK_CHAIN_SIG_LEN);
	if (ctx == NULL)
		return TEELIZA_ERR_CRYPTO;
	/* NULL nonce function = RFC 6979 with HMAC-SHA256; the result is always low S. */
	if (!secp256k1_ecdsa_sign_recoverable(ctx, &rsig, digest, key, NULL, NULL) ||
	    !secp256k1_ecdsa_recoverable_signature_serialize_compact(ctx, sig, &recid, &rsig))
		return teeliza_set_error(TEELIZA_ERR_CRYPTO, "secp256k1 signing failed (invalid key)");
	sig[64] = (uint8_t)recid;
	return TEELIZA_OK;
}

teeliza_err tee_dstack_recover(uint8_t pub[TEE_DSTACK_K256_PUB_LEN], const uint8_t sig[TEE_DSTACK_CHAIN_SIG_LEN],
                               const uint8_t digest[32])
{
	/* Recovery and parsing use no secret, so the static context serves. */
	const secp256k1_context *ctx = secp256k1_context_static;
	secp256k1_ecdsa_recoverable_signature rsig;
	secp256k1_ecdsa_signature plain;
	secp256k1_pubkey pk;
	static const uint8_t zero[32];
	size_t len = TEE_DSTACK_K256_PUB_LEN;
	uint8_t recid;

	assert(pub != NULL && sig != NULL && digest != NULL);
	memset(pub, 0, TEE_DSTACK_K256_PUB_LEN);
	recid = sig[64];
	if (recid == 27 || recid == 28)
		return teeliza_set_error(TEELIZA_ERR_VERIFY,
		                         "recovery id is %u (the Ethereum v form); dstack writes 0 or 1", recid);
	if (recid > 3)
		return teeliza_set_error(TEELIZA_ERR_VERIFY, "recovery id is %u, must be 0 or 1", recid);
	if (memcmp(sig, zero, 32) == 0 || memcmp(sig + 32, zero, 32) == 0)
		return teeliza_set_error(TEELIZA_ERR_VERIFY, "r or s is zero");
	if (!secp256k1_ecdsa_signature_parse_compact(ctx, &plain, sig))
		return teeliza_set_error(TEELIZA_ERR_VERIFY, "r or s is not below the group order");
	if (secp256k1_ecdsa_signature_normalize(ctx, NULL, &plain))
		return teeliza_set_error(TEELIZA_ERR_VERIFY,
		                         "s is above n/2 (a high-S, non-canonical signature; dstack signs with low S)");
	if (!secp256k1_ecdsa_recoverable_signature_parse_compact(ctx, &rsig, sig, recid) ||
	    !secp256k1_ecdsa_recover(ctx, &pk, &rsig, digest))
		return teeliza_set_error(TEELIZA_ERR_VERIFY, "no public key recovers from this signature (r is not the "
		                                             "x coordinate of a curve point for recovery id %u)", recid);
	if (!secp256k1_ec_pubkey_serialize(ctx, pub, &len, &pk, SECP256K1_EC_COMPRESSED) ||
	    len != TEE_DSTACK_K256_PUB_LEN) {
		memset(pub, 0, TEE_DSTACK_K256_PUB_LEN);
		return teeliza_set_error(TEELIZA_ERR_INTERNAL, "cannot serialize a recovered key");
	}
	return TEELIZA_OK;
}

void tee_dstack_key_digest(uint8_t out[32], const char *purpose, size_t purpose_len, const uint8_t *pub,
                           size_t pub_len)
{
	char hex[2 * TEE_DSTACK_PUB_MAX + 1];
	teeliza_keccak_ctx k;

	assert(out != NULL && (purpose != NULL || purpose_len == 0) && pub != NULL && pub_len <= TEE_DSTACK_PUB_MAX);
	teeliza_hex_encode(hex, pub, pub_len);
	teeliza_keccak_init(&k, 256);
	teeliza_keccak_update(&k, purpose, purpose_len);
	teeliza_keccak_update(&k, ":", 1);
	teeliza_keccak_update(&k, hex, 2 * pub_len);
	teeliza_keccak_final(out, &k);
}

void tee_dstack_kms_digest(uint8_t out[32], const uint8_t app_id[TEE_DSTACK_APP_ID_LEN],
                           const uint8_t app_pub[TEE_DSTACK_K256_PUB_LEN])
{
	static const char prefix[] = "dstack-kms-issued:";
	teeliza_keccak_ctx k;

	assert(out != NULL && app_id != NULL && app_pub != NULL);
	teeliza_keccak_init(&k, 256);
	teeliza_keccak_update(&k, prefix, sizeof(prefix) - 1);
	teeliza_keccak_update(&k, app_id, TEE_DSTACK_APP_ID_LEN);
	teeliza_keccak_update(&k, app_pub, TEE_DSTACK_K256_PUB_LEN);
	teeliza_keccak_final(out, &k);
}

/* ---- public keys ---- */

static teeliza_err k256_public(uint8_t pub[TEE_DSTACK_K256_PUB_LEN], const uint8_t key[TEE_DSTACK_KEY_LEN],
                               const char *invalid_msg)
{
	const secp256k1_context *ctx;
	secp256k1_pubkey pk;
	size_t len = TEE_DSTACK_K256_PUB_LEN;

	memset(pub, 0, TEE_DSTACK_K256_PUB_LEN);
	if (!tee_dstack_k256_key_valid(key))
		return teeliza_set_error(TEELIZA_ERR_CRYPTO, "%s", invalid_msg);
	ctx = tee_secp_context();
	if (ctx == NULL)
		return TEELIZA_ERR_CRYPTO;
	if (!secp256k1_ec_pubkey_create(ctx, &pk, key) ||
	    !secp256k1_ec_pubkey_serialize(ctx, pub, &len, &pk, SECP256K1_EC_COMPRESSED) ||
	    len != TEE_DSTACK_K256_PUB_LEN) {
		memset(pub, 0, TEE_DSTACK_K256_PUB_LEN);
		return teeliza_set_error(TEELIZA_ERR_CRYPTO, "secp256k1 public key computation failed");
	}
	return TEELIZA_OK;
}

static teeliza_err ed25519_public(uint8_t pub[TEE_DSTACK_ED25519_PUB_LEN], const uint8_t seed[TEE_DSTACK_KEY_LEN])
{
	/* The provider derives the public key on import and clears its copy of the seed on free. */
	EVP_PKEY *pkey = EVP_PKEY_new_raw_private_key(EVP_PKEY_ED25519, NULL, seed, TEE_DSTACK_KEY_LEN);
	size_t len = TEE_DSTACK_ED25519_PUB_LEN;
	teeliza_err err = TEELIZA_OK;

	if (pkey == NULL || EVP_PKEY_get_raw_public_key(pkey, pub, &len) != 1 || len != TEE_DSTACK_ED25519_PUB_LEN) {
		memset(pub, 0, TEE_DSTACK_ED25519_PUB_LEN);
		ERR_clear_error();
		err = teeliza_set_error(TEELIZA_ERR_CRYPTO, "Ed25519 key from seed failed");
	}
	EVP_PKEY_free(pkey);
	return err;
}

teeliza_err tee_dstack_public_key(uint8_t pub[TEE_DSTACK_PUB_MAX], size_t *pub_len, tee_dstack_alg alg,
                                  const uint8_t key[TEE_DSTACK_KEY_LEN])
{
	teeliza_err err;

	assert(pub != NULL && pub_len != NULL && key != NULL);
	*pub_len = 0;
	memset(pub, 0, TEE_DSTACK_PUB_MAX);
	switch (alg) {
	case TEE_DSTACK_ALG_ED25519:
		err = ed25519_public(pub, key);
		if (!err)
			*pub_len = TEE_DSTACK_ED25519_PUB_LEN;
		return err;
	case TEE_DSTACK_ALG_SECP256K1:
	case TEE_DSTACK_ALG_SECP256K1_PREHASHED:
		err = k256_public(pub, key, "Failed to parse k256 key");
		if (!err)
			*pub_len = TEE_DSTACK_K256_PUB_LEN;
		return err;
	}
	assert(0 && "unknown algorithm");
	return TEELIZA_ERR_INTERNAL;
}

/* ---- the app's keys and GetKey ---- */

teeliza_err tee_dstack_app_keys_derive(tee_dstack_app_keys *out, const uint8_t root_key[TEE_DSTACK_KEY_LEN],
                                       const uint8_t app_id[TEE_DSTACK_APP_ID_LEN])
{
	static const char info_tail[] = "app-key";
	uint8_t digest[32];
	teeliza_err err;

	assert(out != NULL && root_key != NULL && app_id != NULL);
	memset(out, 0, sizeof(*out));
	if (!tee_dstack_k256_key_valid(root_key))
		return teeliza_set_error(TEELIZA_ERR_CRYPTO, "the KMS root key is not a valid secp256k1 key");
	err = hkdf32(out->app_key, root_key, app_id, TEE_DSTACK_APP_ID_LEN, info_tail, sizeof(info_tail) - 1);
	if (!err)
		err = k256_public(out->app_pub, out->app_key, "the derived app key is not a valid secp256k1 key");
	if (!err) {
		tee_dstack_kms_digest(digest, app_id, out->app_pub);
		err = tee_dstack_sign_recoverable(out->kms_signature, root_key, digest);
		out->kms_signature_len = TEE_DSTACK_CHAIN_SIG_LEN;
	}
	if (err)
		teeliza_wipe(out, sizeof(*out));
	return err;
}

teeliza_err tee_dstack_app_keys_load(tee_dstack_app_keys *out, const uint8_t app_key[TEE_DSTACK_KEY_LEN],
                                     const uint8_t *kms_signature, size_t kms_signature_len)
{
	teeliza_err err;

	assert(out != NULL && app_key != NULL && (kms_signature != NULL || kms_signature_len == 0));
	memset(out, 0, sizeof(*out));
	if (kms_signature_len != 0 && kms_signature_len != TEE_DSTACK_CHAIN_SIG_LEN)
		return teeliza_set_error(TEELIZA_ERR_INVALID,
		                         "k256_signature is %zu bytes: a KMS signature has 65, a local key provider's 0",
		                         kms_signature_len);
	err = k256_public(out->app_pub, app_key, "Failed to parse app k256 key");
	if (err)
		return err;
	memcpy(out->app_key, app_key, TEE_DSTACK_KEY_LEN);
	if (kms_signature_len > 0)
		memcpy(out->kms_signature, kms_signature, kms_signature_len);
	out->kms_signature_len = kms_signature_len;
	return TEELIZA_OK;
}

teeliza_err tee_dstack_get_key(tee_dstack_key *out, const tee_dstack_app_keys *app, tee_dstack_alg alg,
                               const char *path, size_t path_len, const char *purpose, size_t purpose_len)
{
	uint8_t digest[32];
	teeliza_err err;

	assert(out != NULL && app != NULL && (path != NULL || path_len == 0) && (purpose != NULL || purpose_len == 0));
	assert(alg == TEE_DSTACK_ALG_SECP256K1 || alg == TEE_DSTACK_ALG_ED25519);
	memset(out, 0, sizeof(*out));
	err = hkdf32(out->key, app->app_key, path, path_len, NULL, 0);
	if (!err)
		err = tee_dstack_public_key(out->public_key, &out->public_key_len, alg, out->key);
	if (!err) {
		tee_dstack_key_digest(digest, purpose, purpose_len, out->public_key, out->public_key_len);
		err = tee_dstack_sign_recoverable(out->chain[0], app->app_key, digest);
	}
	if (err) {
		teeliza_wipe(out, sizeof(*out));
		return err;
	}
	memcpy(out->chain[1], app->kms_signature, TEE_DSTACK_CHAIN_SIG_LEN);
	out->kms_signature_len = app->kms_signature_len;
	return TEELIZA_OK;
}
