/*
 * dstack 0.5 app keys: the key hierarchy behind the guest agent's GetKey, its
 * two-link signature chain, and the Sign / Verify routes.
 *
 *   HKDF(ikm, info) = HKDF-SHA256(salt "RATLS", ikm, info, 32 bytes)
 *   K_app   = HKDF(K_root, app_id(20 raw bytes) ‖ "app-key")   the KMS derives it
 *   K_path  = HKDF(K_app, path)                                GetKey "key"
 *   chain[0] = Sign_K_app (Keccak-256(purpose ‖ ":" ‖ lowercase_hex(pub(K_path))))
 *   chain[1] = Sign_K_root(Keccak-256("dstack-kms-issued:" ‖ app_id ‖ pub(K_app)))
 *
 * pub() is the 33-byte compressed SEC1 point for secp256k1 and the 32-byte
 * RFC 8032 public key for ed25519 (K_path is then the seed). Neither the
 * algorithm nor the purpose enters the derivation. Chain signatures are
 * secp256k1 ECDSA with RFC 6979 nonces and low S, encoded r ‖ s ‖ recid.
 * (dstack v0.5.11: ra-tls/src/kdf.rs, kms/src/crypto.rs,
 * guest-agent/src/rpc_service.rs.)
 *
 * Every function is thread-safe; the secp256k1 context is created once per
 * process and shared. Secret outputs (keys) are the caller's to wipe.
 */
#ifndef TEELIZA_DSTACK_KEYS_H
#define TEELIZA_DSTACK_KEYS_H

#include "teeliza/common/common.h"

#ifdef __cplusplus
extern "C" {
#endif

#define TEE_DSTACK_KEY_LEN 32          /* K_root, K_app, K_path */
#define TEE_DSTACK_APP_ID_LEN 20
#define TEE_DSTACK_K256_PUB_LEN 33     /* compressed SEC1 */
#define TEE_DSTACK_ED25519_PUB_LEN 32
#define TEE_DSTACK_PUB_MAX 33
#define TEE_DSTACK_CHAIN_SIG_LEN 65    /* recoverable: r ‖ s ‖ recid */
#define TEE_DSTACK_SIG_LEN 64          /* Sign route: r ‖ s, or Ed25519 R ‖ S */

typedef enum tee_dstack_alg {
	TEE_DSTACK_ALG_SECP256K1 = 0,
	TEE_DSTACK_ALG_ED25519 = 1,
	TEE_DSTACK_ALG_SECP256K1_PREHASHED = 2, /* Sign and Verify only: data is the 32-byte digest */
} tee_dstack_alg;

/*
 * GetKey's algorithm: "secp256k1", "" and "k256" are secp256k1, "ed25519" is
 * ed25519. Anything else (also "secp256k1_prehashed"): TEELIZA_ERR_UNSUPPORTED
 * "Unsupported algorithm", the agent's words.
 */
teeliza_err tee_dstack_key_alg_parse(tee_dstack_alg *out, const char *name, size_t name_len) TEELIZA_WARN_UNUSED;

/*
 * Sign's and Verify's algorithm: "secp256k1", "k256", "ed25519",
 * "secp256k1_prehashed". Unlike GetKey, "" is refused (the agent's Sign and
 * Verify match the name after only mapping "k256"). Same error otherwise.
 */
teeliza_err tee_dstack_sign_alg_parse(tee_dstack_alg *out, const char *name, size_t name_len) TEELIZA_WARN_UNUSED;

/* "secp256k1", "ed25519", "secp256k1_prehashed". */
const char *tee_dstack_alg_name(tee_dstack_alg alg);

/* What an agent holds for one app (.appkeys.json "k256_key" and "k256_signature"). */
typedef struct tee_dstack_app_keys {
	uint8_t app_key[TEE_DSTACK_KEY_LEN];             /* K_app (secret) */
	uint8_t app_pub[TEE_DSTACK_K256_PUB_LEN];        /* pub(K_app) */
	uint8_t kms_signature[TEE_DSTACK_CHAIN_SIG_LEN]; /* chain[1] */
	size_t kms_signature_len; /* 65, or 0 when no KMS signed (a local key provider writes an empty one) */
} tee_dstack_app_keys;

/*
 * The KMS side: K_app and chain[1] from the KMS root key and an app id.
 * Out: *out (zeroed on failure; app_key is secret). A root or derived key
 * that is 0 or not below the group order: TEELIZA_ERR_CRYPTO.
 */
teeliza_err tee_dstack_app_keys_derive(tee_dstack_app_keys *out, const uint8_t root_key[TEE_DSTACK_KEY_LEN],
                                       const uint8_t app_id[TEE_DSTACK_APP_ID_LEN]) TEELIZA_WARN_UNUSED;

/*
 * The agent side: take K_app and chain[1] as delivered (appkeys.json). The
 * signature is copied, not checked (the agent serves it as is); it is 65
 * bytes from a KMS and empty from dstack's local key provider
 * (dstack-util make_app_keys), and any other length is refused
 * (TEELIZA_ERR_INVALID). A key that is 0 or not below the group order:
 * TEELIZA_ERR_CRYPTO "Failed to parse app k256 key".
 */
teeliza_err tee_dstack_app_keys_load(tee_dstack_app_keys *out, const uint8_t app_key[TEE_DSTACK_KEY_LEN],
                                     const uint8_t *kms_signature, size_t kms_signature_len) TEELIZA_WARN_UNUSED;

/*
 * The same from the text of an .appkeys.json file: its "k256_key" (32 bytes)
 * and "k256_signature" (65 or 0 bytes), lowercase or uppercase hex without
 * "0x" (serde's form); other members are ignored. At most 1 MiB of text.
 * Errors: TEELIZA_ERR_PARSE (not JSON, a member missing or not a string, bad
 * hex), TEELIZA_ERR_INVALID (a length), TEELIZA_ERR_CRYPTO (the key). The
 * caller wipes its copy of the text; jansson's copies are wiped here.
 */
teeliza_err tee_dstack_app_keys_from_json(tee_dstack_app_keys *out, const char *json, size_t len) TEELIZA_WARN_UNUSED;

/* A GetKey result. */
typedef struct tee_dstack_key {
	uint8_t key[TEE_DSTACK_KEY_LEN];                 /* K_path (secret) */
	uint8_t public_key[TEE_DSTACK_PUB_MAX];          /* pub(K_path) */
	size_t public_key_len;                           /* 33 (secp256k1) or 32 (ed25519) */
	uint8_t chain[2][TEE_DSTACK_CHAIN_SIG_LEN];      /* signature_chain */
	size_t kms_signature_len;                        /* bytes of chain[1]: 65, or 0 (see app_keys) */
} tee_dstack_key;

/*
 * GetKey(path, purpose, alg) (alg secp256k1 or ed25519; asserts otherwise).
 * path and purpose are byte strings (may be empty, NULL only when empty).
 * Out: *out (zeroed on failure). A secp256k1 K_path that is 0 or not below
 * the order (probability about 2^-128): TEELIZA_ERR_CRYPTO "Failed to parse
 * k256 key", as the agent.
 */
teeliza_err tee_dstack_get_key(tee_dstack_key *out, const tee_dstack_app_keys *app, tee_dstack_alg alg,
                               const char *path, size_t path_len, const char *purpose,
                               size_t purpose_len) TEELIZA_WARN_UNUSED;

/*
 * pub(key) for alg (secp256k1 → 33 bytes compressed; ed25519 → 32 bytes, key
 * is the seed). Out: pub (TEE_DSTACK_PUB_MAX bytes), *pub_len. An invalid
 * secp256k1 scalar: TEELIZA_ERR_CRYPTO.
 */
teeliza_err tee_dstack_public_key(uint8_t pub[TEE_DSTACK_PUB_MAX], size_t *pub_len, tee_dstack_alg alg,
                                  const uint8_t key[TEE_DSTACK_KEY_LEN]) TEELIZA_WARN_UNUSED;

/* The digests the two chain links sign. */
void tee_dstack_key_digest(uint8_t out[32], const char *purpose, size_t purpose_len, const uint8_t *pub,
                           size_t pub_len);
void tee_dstack_kms_digest(uint8_t out[32], const uint8_t app_id[TEE_DSTACK_APP_ID_LEN],
                           const uint8_t app_pub[TEE_DSTACK_K256_PUB_LEN]);

/*
 * A chain link: recoverable ECDSA over a 32-byte digest, r ‖ s ‖ recid.
 * RFC 6979 (HMAC-SHA256) nonce and low S, as k256's sign_digest_recoverable;
 * the bytes are the same unless the digest is ≥ the group order
 * (probability about 2^-128), where libsecp256k1 and k256 feed RFC 6979
 * differently. An invalid key: TEELIZA_ERR_CRYPTO.
 */
teeliza_err tee_dstack_sign_recoverable(uint8_t sig[TEE_DSTACK_CHAIN_SIG_LEN],
                                        const uint8_t key[TEE_DSTACK_KEY_LEN],
                                        const uint8_t digest[32]) TEELIZA_WARN_UNUSED;

/*
 * The compressed public key that made sig over digest. Refused, with
 * TEELIZA_ERR_VERIFY and a message saying which: recid not 0–3 (27/28, the
 * Ethereum form, named as such), r or s zero or not below the order, s above
 * n/2 (high S: the other half of a malleable pair, which dstack never
 * writes), or no key recovers.
 */
teeliza_err tee_dstack_recover(uint8_t pub[TEE_DSTACK_K256_PUB_LEN], const uint8_t sig[TEE_DSTACK_CHAIN_SIG_LEN],
                               const uint8_t digest[32]) TEELIZA_WARN_UNUSED;

/* A Sign result: the route's signature_chain is [signature, key_chain[0], key_chain[1]]. */
typedef struct tee_dstack_signature {
	uint8_t signature[TEE_DSTACK_SIG_LEN];
	uint8_t public_key[TEE_DSTACK_PUB_MAX];
	size_t public_key_len;
	uint8_t key_chain[2][TEE_DSTACK_CHAIN_SIG_LEN]; /* GetKey("vms", "signing").signature_chain */
	size_t kms_signature_len;                       /* bytes of key_chain[1]: 65, or 0 */
} tee_dstack_signature;

/*
 * Sign(alg, data) with GetKey(path "vms", purpose "signing"):
 * ed25519 → RFC 8032 signature of data; secp256k1 → ECDSA over SHA-256(data),
 * r ‖ s, low S, no recid; secp256k1_prehashed → data is the digest and must be
 * 32 bytes, else TEELIZA_ERR_INVALID "Pre-hashed signing requires a 32-byte
 * digest, but received N bytes". Out: *out (zeroed on failure).
 */
teeliza_err tee_dstack_sign(tee_dstack_signature *out, const tee_dstack_app_keys *app, tee_dstack_alg alg,
                            const uint8_t *data, size_t data_len) TEELIZA_WARN_UNUSED;

/*
 * Verify(alg, data, signature, public_key), as the agent answers it. Out:
 * *valid (false on any error). A signature that merely does not verify is
 * TEELIZA_OK with *valid false; so is a high-S ECDSA signature (k256 ≥ 0.13.2
 * rejects those) and, for secp256k1_prehashed, data shorter than 16 bytes
 * (k256's bits2field; 16–31 bytes are left-padded with zeros, more than 32
 * truncated to the first 32). A malformed key or signature is an error
 * (TEELIZA_ERR_INVALID), as the agent answers 400: ed25519 key not 32 bytes
 * ("invalid public key") or not a curve point, signature not 64 bytes;
 * secp256k1 key not a 33/65-byte SEC1 point, r or s zero or not below n.
 */
teeliza_err tee_dstack_verify(bool *valid, tee_dstack_alg alg, const uint8_t *data, size_t data_len,
                              const uint8_t *signature, size_t signature_len, const uint8_t *public_key,
                              size_t public_key_len) TEELIZA_WARN_UNUSED;

#ifdef __cplusplus
}
#endif
#endif
