/*
 * Wallet key derivation, byte-identical to Eliza's TEE plugin, and the
 * simulator's key derivation (tappd's HKDF over the CA key).
 */
#ifndef TEELIZA_DERIVE_H
#define TEELIZA_DERIVE_H

#include "teeliza/common.h"

#ifdef __cplusplus
extern "C" {
#endif

typedef enum tee_chain {
	TEE_CHAIN_SOLANA = 0,
	TEE_CHAIN_EVM = 1,
	TEE_CHAIN_RAW = 2,
} tee_chain;

typedef enum tee_key_scheme {
	TEE_SCHEME_TEELIZA = 0,     /* default: key depends on salt, agent id and chain */
	TEE_SCHEME_ELIZA_V017 = 1,  /* path "/", subject = salt (the salt has no effect) */
	TEE_SCHEME_ELIZA_V019 = 2,  /* path = salt, subject "solana"/"evm" (agent id has no effect) */
} tee_key_scheme;

/* "teeliza", "eliza-v0.1.7", "eliza-v0.1.9"; NULL-safe parse returns TEELIZA_ERR_INVALID with a message. */
const char *tee_key_scheme_name(tee_key_scheme s);
teeliza_err tee_key_scheme_parse(tee_key_scheme *out, const char *name) TEELIZA_WARN_UNUSED;
const char *tee_chain_name(tee_chain c);  /* "solana", "evm", "raw" */
teeliza_err tee_chain_parse(tee_chain *out, const char *name) TEELIZA_WARN_UNUSED;

/*
 * The (path, subject) a scheme sends to tappd's DeriveKey for this salt,
 * agent id and chain. Out: path/subject (NUL-terminated, owned by the caller,
 * free with teeliza_buf_free; marked secret because the v0.1.x paths contain
 * the salt). For TEE_CHAIN_RAW the eliza schemes use subject "raw".
 */
teeliza_err tee_scheme_request(teeliza_buf *path, teeliza_buf *subject, tee_key_scheme scheme,
                               const char *salt, const char *agent_id, tee_chain chain) TEELIZA_WARN_UNUSED;

/*
 * PEM → DER as the JS SDK's asUint8Array() does: strip the first
 * "-----BEGIN PRIVATE KEY-----" and "-----END PRIVATE KEY-----", drop newlines,
 * base64-decode ignoring whitespace. Out: der (secret). Bad base64 or another
 * label: TEELIZA_ERR_PARSE.
 */
teeliza_err tee_pem_to_der(teeliza_buf *der, const char *pem, size_t pem_len) TEELIZA_WARN_UNUSED;

typedef struct tee_solana_keypair {
	uint8_t secret_key[64];   /* seed ‖ public key, as @solana/web3.js Keypair.secretKey */
	uint8_t public_key[32];
	char address[45];         /* base58 public key */
} tee_solana_keypair;

typedef struct tee_evm_keypair {
	uint8_t private_key[32];
	uint8_t public_key[65];   /* uncompressed, 0x04 ‖ X ‖ Y */
	char address[43];         /* EIP-55 "0x…" */
} tee_evm_keypair;

/* seed = SHA-256(der); Ed25519 keypair from the seed (RFC 8032). */
teeliza_err tee_derive_solana(tee_solana_keypair *out, const uint8_t *der, size_t der_len) TEELIZA_WARN_UNUSED;
/* private key = Keccak-256(der); secp256k1; address = EIP-55 of keccak256(X‖Y)[12..]. */
teeliza_err tee_derive_evm(tee_evm_keypair *out, const uint8_t *der, size_t der_len) TEELIZA_WARN_UNUSED;

/*
 * Simulator / tappd ≤ 2025-01 key derivation:
 * d = HKDF-SHA256(salt "RATLS", IKM = ca_scalar, info = path, L = 32), as a
 * P-256 key encoded as PKCS#8 PEM (64-column base64, LF, trailing newline;
 * the 138-byte DER with the public key). Out: pem (secret). d = 0 or ≥ n fails
 * with TEELIZA_ERR_CRYPTO "failed to decode derived secret key".
 */
teeliza_err tee_hkdf_p256_pem(teeliza_buf *pem, const uint8_t ca_scalar[32], const char *path,
                              size_t path_len) TEELIZA_WARN_UNUSED;

#ifdef __cplusplus
}
#endif
#endif
