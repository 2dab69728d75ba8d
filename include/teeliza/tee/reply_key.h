/*
 * An agent's reply-signing keys, derived in the TEE (docs/VERIFIABILITY.md,
 * "Statements"): an Ed25519 key that signs every receipt and, optionally, a
 * secp256k1 key for EIP-191 signatures a contract can ecrecover.
 *
 * The path asked of the TEE is domain-separated from the wallets' and bound
 * to the agent and the salt like them:
 *   path = "teeliza/v1/reply-key/<kind>/" ‖ hex(HMAC-SHA256(key = salt,
 *          "teeliza reply key v1\0" ‖ agent_id ‖ "\0" ‖ kind))
 * with kind "ed25519" or "secp256k1", and the purpose/subject
 * "teeliza-reply-key".
 *  - tappd (DeriveKey(path, subject)): key bytes as the wallet schemes make
 *    them from the PKCS#8 DER of the returned key: Ed25519 seed =
 *    SHA-256(DER), secp256k1 key = Keccak-256(DER).
 *  - dstack (GetKey(path, purpose, algorithm)): the 32 bytes GetKey returns
 *    are the Ed25519 seed or the secp256k1 key.
 * The simulator serves both APIs; which one is used is the caller's choice.
 */
#ifndef TEELIZA_TEE_REPLY_KEY_H
#define TEELIZA_TEE_REPLY_KEY_H

#include "teeliza/common/common.h"
#include "teeliza/tee/dstack.h"
#include "teeliza/tee/dstack_keys.h"
#include "teeliza/tee/tappd.h"

#ifdef __cplusplus
extern "C" {
#endif

#define TEE_REPLY_KEY_PURPOSE "teeliza-reply-key"

typedef enum tee_reply_key_kind {
	TEE_REPLY_KEY_ED25519 = 0,
	TEE_REPLY_KEY_SECP256K1 = 1,
} tee_reply_key_kind;

typedef struct tee_reply_key {
	tee_reply_key_kind kind;
	uint8_t secret[32];        /* Ed25519 seed or secp256k1 private key: secret, wipe with tee_reply_key_wipe */
	uint8_t public_key[65];    /* Ed25519: 32 bytes; secp256k1: 65 bytes uncompressed 0x04 ‖ X ‖ Y */
	size_t public_key_len;
	char address[43];          /* secp256k1: EIP-55 address "0x…"; Ed25519: "" */
	void *pkey_;               /* Ed25519: the OpenSSL key, made once (signing then costs no key setup) */
} tee_reply_key;

/* The path above (initialised here, secret since it depends on the salt; free with teeliza_buf_free). */
teeliza_err tee_reply_key_path(teeliza_buf *path, const char *salt, const char *agent_id,
                               tee_reply_key_kind kind) TEELIZA_WARN_UNUSED;

/* From tappd's DeriveKey. Errors: the salt/agent checks, tappd's, TEELIZA_ERR_PARSE for a bad key. */
teeliza_err tee_reply_key_tappd(tee_reply_key *out, const tappd_client *c, const char *salt, const char *agent_id,
                                tee_reply_key_kind kind) TEELIZA_WARN_UNUSED;

/* From dstack's GetKey (algorithm "ed25519" or "secp256k1"). */
teeliza_err tee_reply_key_dstack(tee_reply_key *out, const dstack_client *c, const char *salt,
                                 const char *agent_id, tee_reply_key_kind kind) TEELIZA_WARN_UNUSED;

/*
 * The same, also keeping GetKey's proof for a verifier: *proof gets the
 * public key and the signature chain (its key field stays zero).
 */
teeliza_err tee_reply_key_dstack_proof(tee_reply_key *out, tee_dstack_key *proof, const dstack_client *c,
                                       const char *salt, const char *agent_id,
                                       tee_reply_key_kind kind) TEELIZA_WARN_UNUSED;

/* The key pair from its 32 secret bytes (what both derivations end with). */
teeliza_err tee_reply_key_from_secret(tee_reply_key *out, tee_reply_key_kind kind,
                                      const uint8_t secret[32]) TEELIZA_WARN_UNUSED;

/* Wipe the secret and free the cached key. NULL-safe. */
void tee_reply_key_wipe(tee_reply_key *k);

/* Ed25519 (RFC 8032, pure) signature of msg. k must be an Ed25519 key. Thread-safe. */
teeliza_err tee_reply_key_sign_ed25519(uint8_t sig[64], const tee_reply_key *k, const uint8_t *msg,
                                       size_t msg_len) TEELIZA_WARN_UNUSED;

/* Verify an Ed25519 signature: TEELIZA_OK, or TEELIZA_ERR_VERIFY. */
teeliza_err tee_ed25519_verify(const uint8_t public_key[32], const uint8_t *msg, size_t msg_len,
                               const uint8_t sig[64]) TEELIZA_WARN_UNUSED;

/*
 * EIP-191 personal_sign over a 32-byte hash, as a contract checks it:
 * digest = Keccak-256("\x19Ethereum Signed Message:\n32" ‖ hash), signature
 * r ‖ s ‖ v (65 bytes, s low, v = 27 + recovery id). k must be secp256k1.
 */
teeliza_err tee_reply_key_sign_eip191(uint8_t sig[65], const tee_reply_key *k,
                                      const uint8_t hash[32]) TEELIZA_WARN_UNUSED;

/*
 * ecrecover of such a signature: the EIP-55 address that signed hash.
 * A malformed signature (v not 27/28, r or s out of range, high s): TEELIZA_ERR_VERIFY.
 */
teeliza_err tee_eip191_recover(char address[43], const uint8_t hash[32], const uint8_t sig[65]) TEELIZA_WARN_UNUSED;

#ifdef __cplusplus
}
#endif
#endif
