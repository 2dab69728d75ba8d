/*
 * Wallets from a tappd key, with the plugin's arithmetic:
 * Solana = Ed25519 from seed SHA-256(DER); EVM = secp256k1 key Keccak-256(DER).
 */
#include "teeliza/tee/derive.h"
#include "teeliza/common/encoding.h"
#include "teeliza/common/keccak.h"
#include "tee/secp_context.h"

#include <assert.h>
#include <string.h>

#include <openssl/evp.h>
#include <openssl/rand.h>
#include <openssl/sha.h>
#include <secp256k1.h>

teeliza_err tee_derive_solana(tee_solana_keypair *out, const uint8_t *der, size_t der_len)
{
	uint8_t seed[32];
	uint8_t pub[32];
	size_t pub_len = sizeof(pub);
	EVP_PKEY *pkey;
	teeliza_err err = TEELIZA_OK;

	assert(out != NULL && (der != NULL || der_len == 0));
	memset(out, 0, sizeof(*out));
	if (SHA256(der, der_len, seed) == NULL)
		return teeliza_set_error(TEELIZA_ERR_CRYPTO, "SHA-256 failed");
	/* The provider derives the public key on import and clears its copy of the seed on free. */
	pkey = EVP_PKEY_new_raw_private_key(EVP_PKEY_ED25519, NULL, seed, sizeof(seed));
	if (pkey == NULL || EVP_PKEY_get_raw_public_key(pkey, pub, &pub_len) != 1 || pub_len != sizeof(pub)) {
		err = teeliza_set_error(TEELIZA_ERR_CRYPTO, "Ed25519 key from seed failed");
		goto out;
	}
	err = teeliza_base58_encode(out->address, sizeof(out->address), pub, sizeof(pub));
	if (err)
		goto out;
	memcpy(out->secret_key, seed, sizeof(seed));
	memcpy(out->secret_key + sizeof(seed), pub, sizeof(pub));
	memcpy(out->public_key, pub, sizeof(pub));
out:
	EVP_PKEY_free(pkey);
	TEELIZA_WIPE_BUFFER(seed);
	if (err)
		teeliza_wipe(out, sizeof(*out));
	return err;
}

/* The process's one secp256k1 context (secp_context.c): creating one costs more than a derivation. */
teeliza_err tee_derive_evm(tee_evm_keypair *out, const uint8_t *der, size_t der_len)
{
	uint8_t priv[32];
	uint8_t pub[65];
	uint8_t pub_hash[32];
	size_t pub_len = sizeof(pub);
	secp256k1_pubkey pk;
	const secp256k1_context *secp_ctx;
	teeliza_err err = TEELIZA_OK;

	assert(out != NULL && (der != NULL || der_len == 0));
	memset(out, 0, sizeof(*out));
	secp_ctx = tee_secp_context();
	if (secp_ctx == NULL)
		return TEELIZA_ERR_CRYPTO;
	teeliza_keccak256(priv, der, der_len);
	/* viem rejects these keys too (probability about 2^-128). */
	if (!secp256k1_ec_seckey_verify(secp_ctx, priv)) {
		err = teeliza_set_error(TEELIZA_ERR_CRYPTO,
		                        "keccak256 of the key is not a valid secp256k1 private key (zero or not below n)");
		goto out;
	}
	if (!secp256k1_ec_pubkey_create(secp_ctx, &pk, priv)
	    || !secp256k1_ec_pubkey_serialize(secp_ctx, pub, &pub_len, &pk, SECP256K1_EC_UNCOMPRESSED)
	    || pub_len != sizeof(pub)) {
		err = teeliza_set_error(TEELIZA_ERR_CRYPTO, "secp256k1 public key computation failed");
		goto out;
	}
	teeliza_keccak256(pub_hash, pub + 1, sizeof(pub) - 1);
	teeliza_eip55_address(out->address, pub_hash + 12);
	memcpy(out->private_key, priv, sizeof(priv));
	memcpy(out->public_key, pub, sizeof(pub));
out:
	TEELIZA_WIPE_BUFFER(priv);
	if (err)
		teeliza_wipe(out, sizeof(*out));
	return err;
}
