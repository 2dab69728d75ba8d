/*
 * The reply-signing keys of an agent (teeliza/tee/reply_key.h): the path
 * asked of the TEE, the key pair from the 32 bytes it yields, and the two
 * signatures receipts carry (Ed25519, and EIP-191 over secp256k1).
 */
#include "teeliza/tee/reply_key.h"
#include "teeliza/tee/derive.h"
#include "teeliza/common/encoding.h"
#include "teeliza/common/keccak.h"

#include <assert.h>
#include <pthread.h>
#include <string.h>

#include <openssl/core_names.h>
#include <openssl/evp.h>
#include <openssl/params.h>
#include <openssl/rand.h>
#include <openssl/sha.h>
#include <secp256k1.h>
#include <secp256k1_recovery.h>

#define REPLY_FIELD_MAX 4096

/* Domain separation from the wallets' "teeliza wallet v1"; the NUL is part of it. */
static const char reply_label[] = "teeliza reply key v1";

static const char *kind_name(tee_reply_key_kind kind)
{
	return kind == TEE_REPLY_KEY_ED25519 ? "ed25519" : "secp256k1";
}

teeliza_err tee_reply_key_path(teeliza_buf *path, const char *salt, const char *agent_id, tee_reply_key_kind kind)
{
	const char *kn = kind_name(kind);
	uint8_t mac[32];
	char mac_hex[65];
	size_t mac_len = 0;
	EVP_MAC *hmac;
	EVP_MAC_CTX *ctx = NULL;
	OSSL_PARAM params[2];
	teeliza_err err = TEELIZA_OK;

	assert(path != NULL);
	teeliza_buf_init(path, REPLY_FIELD_MAX);
	path->secret = true;
	if (salt == NULL || salt[0] == 0)
		return teeliza_set_error(TEELIZA_ERR_CONFIG, "Wallet secret salt is not configured in settings");
	if (agent_id == NULL || agent_id[0] == 0)
		return teeliza_set_error(TEELIZA_ERR_INVALID, "agent id is empty: reply keys are derived per agent");
	if (strlen(salt) > REPLY_FIELD_MAX || strlen(agent_id) > REPLY_FIELD_MAX)
		return teeliza_set_error(TEELIZA_ERR_TOO_LARGE, "salt or agent id longer than %d bytes", REPLY_FIELD_MAX);
	params[0] = OSSL_PARAM_construct_utf8_string(OSSL_MAC_PARAM_DIGEST, (char *)"SHA256", 0);
	params[1] = OSSL_PARAM_construct_end();
	hmac = EVP_MAC_fetch(NULL, "HMAC", NULL);
	if (hmac != NULL)
		ctx = EVP_MAC_CTX_new(hmac);
	if (ctx == NULL || !EVP_MAC_init(ctx, (const unsigned char *)salt, strlen(salt), params)
	    || !EVP_MAC_update(ctx, (const unsigned char *)reply_label, sizeof(reply_label))
	    || !EVP_MAC_update(ctx, (const unsigned char *)agent_id, strlen(agent_id) + 1)
	    || !EVP_MAC_update(ctx, (const unsigned char *)kn, strlen(kn))
	    || !EVP_MAC_final(ctx, mac, &mac_len, sizeof(mac)) || mac_len != sizeof(mac))
		err = teeliza_set_error(TEELIZA_ERR_CRYPTO, "HMAC-SHA256 of the reply key path failed");
	EVP_MAC_CTX_free(ctx);
	EVP_MAC_free(hmac);
	if (!err) {
		teeliza_hex_encode(mac_hex, mac, sizeof(mac));
		err = teeliza_buf_printf(path, "teeliza/v1/reply-key/%s/%s", kn, mac_hex);
	}
	TEELIZA_WIPE_BUFFER(mac);
	TEELIZA_WIPE_BUFFER(mac_hex);
	if (err)
		teeliza_buf_free(path);
	return err;
}

/* One context for the process, randomised once and then only read (thread-safe). */
static pthread_once_t secp_once = PTHREAD_ONCE_INIT;
static secp256k1_context *secp_ctx;

static void secp_init(void)
{
	uint8_t blind[32];

	secp_ctx = secp256k1_context_create(SECP256K1_CONTEXT_NONE);
	if (secp_ctx != NULL && RAND_bytes(blind, sizeof(blind)) == 1 && !secp256k1_context_randomize(secp_ctx, blind)) {
		secp256k1_context_destroy(secp_ctx);
		secp_ctx = NULL;
	}
	TEELIZA_WIPE_BUFFER(blind);
}

static secp256k1_context *secp(void)
{
	if (pthread_once(&secp_once, secp_init) != 0)
		return NULL;
	return secp_ctx;
}

static void address_of(char out[43], const uint8_t pub65[65])
{
	uint8_t h[32];

	teeliza_keccak256(h, pub65 + 1, 64);
	teeliza_eip55_address(out, h + 12);
}

teeliza_err tee_reply_key_from_secret(tee_reply_key *out, tee_reply_key_kind kind, const uint8_t secret[32])
{
	secp256k1_context *ctx;
	secp256k1_pubkey pk;
	EVP_PKEY *pkey;
	size_t len;

	assert(out != NULL && secret != NULL);
	memset(out, 0, sizeof(*out));
	out->kind = kind;
	if (kind == TEE_REPLY_KEY_ED25519) {
		pkey = EVP_PKEY_new_raw_private_key(EVP_PKEY_ED25519, NULL, secret, 32);
		len = 32;
		if (pkey == NULL || EVP_PKEY_get_raw_public_key(pkey, out->public_key, &len) != 1 || len != 32) {
			EVP_PKEY_free(pkey);
			teeliza_wipe(out, sizeof(*out));
			return teeliza_set_error(TEELIZA_ERR_CRYPTO, "Ed25519 key from seed failed");
		}
		out->pkey_ = pkey;
		out->public_key_len = 32;
	} else {
		ctx = secp();
		len = 65;
		if (ctx == NULL)
			return teeliza_set_error(TEELIZA_ERR_CRYPTO, "cannot create a secp256k1 context");
		if (!secp256k1_ec_seckey_verify(ctx, secret))
			return teeliza_set_error(TEELIZA_ERR_CRYPTO, "reply key is not a valid secp256k1 private key");
		if (!secp256k1_ec_pubkey_create(ctx, &pk, secret)
		    || !secp256k1_ec_pubkey_serialize(ctx, out->public_key, &len, &pk, SECP256K1_EC_UNCOMPRESSED))
			return teeliza_set_error(TEELIZA_ERR_CRYPTO, "secp256k1 public key computation failed");
		out->public_key_len = 65;
		address_of(out->address, out->public_key);
	}
	memcpy(out->secret, secret, 32);
	return TEELIZA_OK;
}

void tee_reply_key_wipe(tee_reply_key *k)
{
	if (k == NULL)
		return;
	EVP_PKEY_free(k->pkey_);
	teeliza_wipe(k, sizeof(*k));
}

teeliza_err tee_reply_key_tappd(tee_reply_key *out, const tappd_client *c, const char *salt, const char *agent_id,
                                tee_reply_key_kind kind)
{
	tappd_derive_key_response dk;
	teeliza_buf path, der;
	uint8_t secret[32];
	teeliza_err err;

	assert(out != NULL && c != NULL);
	memset(out, 0, sizeof(*out));
	err = tee_reply_key_path(&path, salt, agent_id, kind);
	if (err)
		return err;
	err = tappd_derive_key(&dk, c, (const char *)path.data, TEE_REPLY_KEY_PURPOSE, NULL, 0);
	teeliza_buf_free(&path);
	if (err)
		return err;
	err = tee_pem_to_der(&der, (const char *)dk.key.data, dk.key.len);
	der.secret = true;
	tappd_derive_key_response_free(&dk);
	if (!err) {
		if (kind == TEE_REPLY_KEY_ED25519)
			SHA256(der.data, der.len, secret);
		else
			teeliza_keccak256(secret, der.data, der.len);
		err = tee_reply_key_from_secret(out, kind, secret);
	}
	teeliza_buf_free(&der);
	TEELIZA_WIPE_BUFFER(secret);
	return err;
}

teeliza_err tee_reply_key_dstack(tee_reply_key *out, const dstack_client *c, const char *salt,
                                 const char *agent_id, tee_reply_key_kind kind)
{
	return tee_reply_key_dstack_proof(out, NULL, c, salt, agent_id, kind);
}

teeliza_err tee_reply_key_dstack_proof(tee_reply_key *out, tee_dstack_key *proof, const dstack_client *c,
                                       const char *salt, const char *agent_id, tee_reply_key_kind kind)
{
	tee_dstack_key key;
	teeliza_buf path;
	teeliza_err err;

	assert(out != NULL && c != NULL);
	memset(out, 0, sizeof(*out));
	err = tee_reply_key_path(&path, salt, agent_id, kind);
	if (err)
		return err;
	err = dstack_get_key(&key, c, (const char *)path.data, TEE_REPLY_KEY_PURPOSE, kind_name(kind));
	teeliza_buf_free(&path);
	if (!err)
		err = tee_reply_key_from_secret(out, kind, key.key);
	if (proof != NULL) {
		/* the public half: the key bytes never leave this function */
		memset(proof, 0, sizeof(*proof));
		if (!err) {
			memcpy(proof->public_key, key.public_key, sizeof(proof->public_key));
			proof->public_key_len = key.public_key_len;
			memcpy(proof->chain, key.chain, sizeof(proof->chain));
			proof->kms_signature_len = key.kms_signature_len;
		}
	}
	teeliza_wipe(&key, sizeof(key));
	return err;
}

teeliza_err tee_reply_key_sign_ed25519(uint8_t sig[64], const tee_reply_key *k, const uint8_t *msg, size_t msg_len)
{
	EVP_MD_CTX *md;
	size_t sig_len = 64;
	int ok;

	assert(sig != NULL && k != NULL && k->kind == TEE_REPLY_KEY_ED25519 && k->pkey_ != NULL);
	md = EVP_MD_CTX_new();
	ok = md != NULL && EVP_DigestSignInit(md, NULL, NULL, NULL, (EVP_PKEY *)k->pkey_) == 1
	     && EVP_DigestSign(md, sig, &sig_len, msg, msg_len) == 1 && sig_len == 64;
	EVP_MD_CTX_free(md);
	if (!ok) {
		memset(sig, 0, 64);
		return teeliza_set_error(TEELIZA_ERR_CRYPTO, "Ed25519 signing failed");
	}
	return TEELIZA_OK;
}

teeliza_err tee_ed25519_verify(const uint8_t public_key[32], const uint8_t *msg, size_t msg_len, const uint8_t sig[64])
{
	EVP_PKEY *pkey = EVP_PKEY_new_raw_public_key(EVP_PKEY_ED25519, NULL, public_key, 32);
	EVP_MD_CTX *md = pkey != NULL ? EVP_MD_CTX_new() : NULL;
	int ok;

	ok = md != NULL && EVP_DigestVerifyInit(md, NULL, NULL, NULL, pkey) == 1
	     && EVP_DigestVerify(md, sig, 64, msg, msg_len) == 1;
	EVP_MD_CTX_free(md);
	EVP_PKEY_free(pkey);
	if (!ok)
		return teeliza_set_error(TEELIZA_ERR_VERIFY, "Ed25519 signature does not verify");
	return TEELIZA_OK;
}

static void eip191_digest(uint8_t out[32], const uint8_t hash[32])
{
	static const char prefix[] = "\x19" "Ethereum Signed Message:\n32";
	uint8_t msg[sizeof(prefix) - 1 + 32];

	memcpy(msg, prefix, sizeof(prefix) - 1);
	memcpy(msg + sizeof(prefix) - 1, hash, 32);
	teeliza_keccak256(out, msg, sizeof(msg));
}

teeliza_err tee_reply_key_sign_eip191(uint8_t sig[65], const tee_reply_key *k, const uint8_t hash[32])
{
	secp256k1_context *ctx = secp();
	secp256k1_ecdsa_recoverable_signature rs;
	uint8_t digest[32];
	int recid = 0;

	assert(sig != NULL && k != NULL && k->kind == TEE_REPLY_KEY_SECP256K1 && hash != NULL);
	memset(sig, 0, 65);
	if (ctx == NULL)
		return teeliza_set_error(TEELIZA_ERR_CRYPTO, "cannot create a secp256k1 context");
	eip191_digest(digest, hash);
	/* RFC 6979 nonces; libsecp256k1 produces low-s signatures. */
	if (!secp256k1_ecdsa_sign_recoverable(ctx, &rs, digest, k->secret, NULL, NULL)
	    || !secp256k1_ecdsa_recoverable_signature_serialize_compact(ctx, sig, &recid, &rs))
		return teeliza_set_error(TEELIZA_ERR_CRYPTO, "secp256k1 signing failed");
	sig[64] = (uint8_t)(27 + recid);
	return TEELIZA_OK;
}

teeliza_err tee_eip191_recover(char address[43], const uint8_t hash[32], const uint8_t sig[65])
{
	secp256k1_context *ctx = secp();
	secp256k1_ecdsa_recoverable_signature rs;
	secp256k1_ecdsa_signature plain;
	secp256k1_pubkey pk;
	uint8_t digest[32], pub[65];
	size_t len = sizeof(pub);

	assert(address != NULL && hash != NULL && sig != NULL);
	address[0] = 0;
	if (ctx == NULL)
		return teeliza_set_error(TEELIZA_ERR_CRYPTO, "cannot create a secp256k1 context");
	if (sig[64] != 27 && sig[64] != 28)
		return teeliza_set_error(TEELIZA_ERR_VERIFY, "EIP-191 signature: v is %u, not 27 or 28", sig[64]);
	if (!secp256k1_ecdsa_recoverable_signature_parse_compact(ctx, &rs, sig, sig[64] - 27))
		return teeliza_set_error(TEELIZA_ERR_VERIFY, "EIP-191 signature: r or s out of range");
	/* A contract's ECDSA.recover refuses high s (malleable twins); so do we. */
	if (!secp256k1_ecdsa_signature_parse_compact(ctx, &plain, sig)
	    || secp256k1_ecdsa_signature_normalize(ctx, NULL, &plain))
		return teeliza_set_error(TEELIZA_ERR_VERIFY, "EIP-191 signature: s is not in the lower half");
	eip191_digest(digest, hash);
	if (!secp256k1_ecdsa_recover(ctx, &pk, &rs, digest)
	    || !secp256k1_ec_pubkey_serialize(ctx, pub, &len, &pk, SECP256K1_EC_UNCOMPRESSED))
		return teeliza_set_error(TEELIZA_ERR_VERIFY, "EIP-191 signature: no public key recovers from it");
	address_of(address, pub);
	return TEELIZA_OK;
}
