/*
 * Wallet key derivation, byte-identical to Eliza's TEE plugin, and the
 * simulator's key derivation (tappd's HKDF over the CA key).
 */
#ifndef TEELIZA_DERIVE_H
#define TEELIZA_DERIVE_H

#include "teeliza/common/common.h"

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
	/* dstack 0.5 GetKey (dstack_wallet.h): */
	TEE_SCHEME_DSTACK = 3,      /* the teeliza scheme's binding on GetKey: salt, agent id, chain; key used as is */
	TEE_SCHEME_DSTACK_SDK = 4,  /* a GetKey path the user gives: the JS SDK's toViemAccountSecure/toKeypairSecure */
} tee_key_scheme;

/*
 * "teeliza", "eliza-v0.1.7", "eliza-v0.1.9", "dstack", "dstack-sdk";
 * NULL-safe parse returns TEELIZA_ERR_INVALID with a message.
 */
const char *tee_key_scheme_name(tee_key_scheme s);
teeliza_err tee_key_scheme_parse(tee_key_scheme *out, const char *name) TEELIZA_WARN_UNUSED;
const char *tee_chain_name(tee_chain c);  /* "solana", "evm", "raw" */

/* True for the schemes that ask dstack's GetKey (dstack, dstack-sdk); the others ask tappd's DeriveKey. */
bool tee_key_scheme_is_dstack(tee_key_scheme s);

/*
 * The GetKey algorithm a dstack scheme asks for: "ed25519" for the dstack
 * scheme's Solana wallet, else "secp256k1" (dstack-sdk: the SDK's default,
 * what `client.getKey(path, purpose)` sends). The algorithm never changes
 * the 32 key bytes, only the public key the chain signs.
 */
const char *tee_dstack_scheme_algorithm(tee_key_scheme s, tee_chain c);
teeliza_err tee_chain_parse(tee_chain *out, const char *name) TEELIZA_WARN_UNUSED;

/*
 * The (path, subject) a scheme sends to tappd's DeriveKey for this salt,
 * agent id and chain; for TEE_SCHEME_DSTACK the (path, purpose) it sends to
 * dstack's GetKey (path "teeliza/dstack/v1/<chain>/" ‖ hex(HMAC), purpose =
 * chain). TEE_SCHEME_DSTACK_SDK has no salt-based request: TEELIZA_ERR_CONFIG
 * (its path is the user's). Out: path/subject (initialised here, NUL-terminated,
 * owned by the caller, free with teeliza_buf_free even on failure; marked
 * secret because the v0.1.x requests contain the salt). For TEE_CHAIN_RAW the
 * eliza schemes use subject "raw". Empty or NULL salt: TEELIZA_ERR_CONFIG
 * "Wallet secret salt is not configured in settings"; empty or NULL agent id:
 * TEELIZA_ERR_INVALID. docs/KEY-SCHEMES.md defines the schemes.
 */
teeliza_err tee_scheme_request(teeliza_buf *path, teeliza_buf *subject, tee_key_scheme scheme,
                               const char *salt, const char *agent_id, tee_chain chain) TEELIZA_WARN_UNUSED;

/*
 * PEM → DER as the JS SDK's asUint8Array() does: strip the first
 * "-----BEGIN PRIVATE KEY-----" and "-----END PRIVATE KEY-----", drop newlines,
 * base64-decode ignoring whitespace. Out: der (initialised here, secret; free
 * with teeliza_buf_free even on failure). Bad base64, another PEM label, no
 * data, or bytes that are not exactly one DER SEQUENCE (truncated or trailing
 * data, which the SDK would silently hash): TEELIZA_ERR_PARSE "invalid PEM: ...".
 */
teeliza_err tee_pem_to_der(teeliza_buf *der, const char *pem, size_t pem_len) TEELIZA_WARN_UNUSED;

/*
 * asUint8Array(max_length) on an already decoded DER: the first out_len bytes
 * of der, zero-padded when der is shorter. (The SDK's toKeypair/toViemAccount
 * use out_len 32, which is only the constant ASN.1 header plus two key bytes
 * for every tappd key; the plugin never does.)
 */
void tee_as_uint8array(uint8_t *out, size_t out_len, const uint8_t *der, size_t der_len);

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

/*
 * seed = SHA-256(der); Ed25519 keypair from the seed (RFC 8032). Out: *out
 * (secret_key is secret: wipe it when done); zeroed on failure
 * (TEELIZA_ERR_CRYPTO). Thread-safe.
 */
teeliza_err tee_derive_solana(tee_solana_keypair *out, const uint8_t *der, size_t der_len) TEELIZA_WARN_UNUSED;
/*
 * private key = Keccak-256(der); secp256k1; address = EIP-55 of
 * keccak256(X‖Y)[12..]. Out: *out (private_key is secret); zeroed on failure.
 * A hash that is 0 or ≥ n (as viem, probability ~2^-128): TEELIZA_ERR_CRYPTO.
 * Thread-safe (one shared, randomised secp256k1 context, created on first use).
 */
teeliza_err tee_derive_evm(tee_evm_keypair *out, const uint8_t *der, size_t der_len) TEELIZA_WARN_UNUSED;

/*
 * The same arithmetic on 32 bytes used as they are, as @phala/dstack-sdk
 * 0.5.8's toKeypairSecure / toViemAccountSecure treat a GetKey key: an
 * Ed25519 keypair from the seed (Keypair.fromSeed), or the secp256k1
 * private key itself (privateKeyToAccount). Same outputs and errors as
 * above (a key that is 0 or ≥ n: TEELIZA_ERR_CRYPTO).
 */
teeliza_err tee_solana_from_seed(tee_solana_keypair *out, const uint8_t seed[32]) TEELIZA_WARN_UNUSED;
teeliza_err tee_evm_from_private(tee_evm_keypair *out, const uint8_t key[32]) TEELIZA_WARN_UNUSED;

/*
 * Simulator / tappd ≤ 2025-01 key derivation:
 * d = HKDF-SHA256(salt "RATLS", IKM = ca_scalar, info = path, L = 32), as a
 * P-256 key encoded as PKCS#8 PEM (64-column base64, LF, trailing newline;
 * the 138-byte DER with the public key). Out: pem (initialised here, secret;
 * free with teeliza_buf_free even on failure). d = 0 or ≥ n fails with
 * TEELIZA_ERR_CRYPTO "failed to decode derived secret key".
 */
teeliza_err tee_hkdf_p256_pem(teeliza_buf *pem, const uint8_t ca_scalar[32], const char *path,
                              size_t path_len) TEELIZA_WARN_UNUSED;

/* The bare scalar d of tee_hkdf_p256_pem (big-endian, secret; same errors). */
teeliza_err tee_hkdf_p256_scalar(uint8_t out[32], const uint8_t ca_scalar[32], const char *path,
                                 size_t path_len) TEELIZA_WARN_UNUSED;

/*
 * The private scalar of a P-256 CA key file (32 bytes big-endian, secret):
 * PKCS#8 "PRIVATE KEY" or SEC1 "EC PRIVATE KEY" (a leading "EC PARAMETERS"
 * block is skipped). Encrypted keys, other labels, other key types or curves
 * and malformed DER: TEELIZA_ERR_PARSE "invalid PEM: ...".
 */
teeliza_err tee_p256_scalar_from_pem(uint8_t scalar[32], const char *pem, size_t pem_len) TEELIZA_WARN_UNUSED;

/*
 * The plugin's derive-key attestation payload, exactly as JSON.stringify
 * prints it: {"agentId":"<agent_id>","publicKey":"<public_key>"} (compact,
 * that key order, JSON.stringify's escaping). Out: out is initialised here;
 * free with teeliza_buf_free. Both strings must be valid UTF-8, else
 * TEELIZA_ERR_INVALID.
 */
teeliza_err tee_derive_attestation_json(teeliza_buf *out, const char *agent_id,
                                        const char *public_key) TEELIZA_WARN_UNUSED;

#ifdef __cplusplus
}
#endif
#endif
