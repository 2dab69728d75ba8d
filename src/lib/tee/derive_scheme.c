/*
 * Which (path, subject) each key scheme asks tappd for. tappd derives the
 * key from the path alone, so the path is what must carry the salt, agent id
 * and chain; docs/KEY-SCHEMES.md explains the three schemes.
 */
#include "teeliza/tee/derive.h"
#include "teeliza/common/encoding.h"

#include <assert.h>
#include <string.h>

#include <openssl/core_names.h>
#include <openssl/evp.h>
#include <openssl/params.h>

/* Longest salt or agent id accepted; tappd paths are short in practice. */
#define SCHEME_FIELD_MAX 4096
#define SCHEME_BUF_MAX (SCHEME_FIELD_MAX + 64)

/* Domain separation of the HMACs; the NUL is part of each label. */
static const char teeliza_wallet_label[] = "teeliza wallet v1";
static const char dstack_wallet_label[] = "teeliza dstack wallet v1";

#define SCHEME_NAMES "teeliza, eliza-v0.1.7, eliza-v0.1.9, dstack, dstack-sdk"

const char *tee_key_scheme_name(tee_key_scheme s)
{
	switch (s) {
	case TEE_SCHEME_TEELIZA:
		return "teeliza";
	case TEE_SCHEME_ELIZA_V017:
		return "eliza-v0.1.7";
	case TEE_SCHEME_ELIZA_V019:
		return "eliza-v0.1.9";
	case TEE_SCHEME_DSTACK:
		return "dstack";
	case TEE_SCHEME_DSTACK_SDK:
		return "dstack-sdk";
	}
	return "unknown";
}

teeliza_err tee_key_scheme_parse(tee_key_scheme *out, const char *name)
{
	static const tee_key_scheme all[] = { TEE_SCHEME_TEELIZA, TEE_SCHEME_ELIZA_V017, TEE_SCHEME_ELIZA_V019,
		                              TEE_SCHEME_DSTACK, TEE_SCHEME_DSTACK_SDK };
	size_t i;

	assert(out != NULL);
	*out = TEE_SCHEME_TEELIZA;
	if (name == NULL)
		return teeliza_set_error(TEELIZA_ERR_INVALID, "missing key scheme: must be one of " SCHEME_NAMES);
	for (i = 0; i < sizeof(all) / sizeof(all[0]); i++) {
		if (strcmp(name, tee_key_scheme_name(all[i])) == 0) {
			*out = all[i];
			return TEELIZA_OK;
		}
	}
	return teeliza_set_error(TEELIZA_ERR_INVALID, "unknown key scheme \"%s\": must be one of " SCHEME_NAMES, name);
}

const char *tee_chain_name(tee_chain c)
{
	switch (c) {
	case TEE_CHAIN_SOLANA:
		return "solana";
	case TEE_CHAIN_EVM:
		return "evm";
	case TEE_CHAIN_RAW:
		return "raw";
	}
	return "unknown";
}

teeliza_err tee_chain_parse(tee_chain *out, const char *name)
{
	static const tee_chain all[] = { TEE_CHAIN_SOLANA, TEE_CHAIN_EVM, TEE_CHAIN_RAW };
	size_t i;

	assert(out != NULL);
	*out = TEE_CHAIN_SOLANA;
	if (name == NULL)
		return teeliza_set_error(TEELIZA_ERR_INVALID, "missing chain: must be one of solana, evm, raw");
	for (i = 0; i < sizeof(all) / sizeof(all[0]); i++) {
		if (strcmp(name, tee_chain_name(all[i])) == 0) {
			*out = all[i];
			return TEELIZA_OK;
		}
	}
	return teeliza_set_error(TEELIZA_ERR_INVALID, "unknown chain \"%s\": must be one of solana, evm, raw", name);
}

bool tee_key_scheme_is_dstack(tee_key_scheme s)
{
	return s == TEE_SCHEME_DSTACK || s == TEE_SCHEME_DSTACK_SDK;
}

const char *tee_dstack_scheme_algorithm(tee_key_scheme s, tee_chain c)
{
	/* dstack-sdk asks as `client.getKey(path, purpose)` did: the SDK's default algorithm. */
	return s == TEE_SCHEME_DSTACK && c == TEE_CHAIN_SOLANA ? "ed25519" : "secp256k1";
}

/* HMAC-SHA256(key = salt, label ‖ "\0" ‖ agent_id ‖ "\0" ‖ chain); label_size counts its NUL. */
static teeliza_err teeliza_path_mac(uint8_t mac[32], const char *label, size_t label_size, const char *salt,
                                    size_t salt_len, const char *agent_id, const char *chain)
{
	EVP_MAC *hmac = NULL;
	EVP_MAC_CTX *ctx = NULL;
	OSSL_PARAM params[2];
	size_t mac_len = 0;
	teeliza_err err = TEELIZA_OK;

	memset(mac, 0, 32);
	params[0] = OSSL_PARAM_construct_utf8_string(OSSL_MAC_PARAM_DIGEST, (char *)"SHA256", 0);
	params[1] = OSSL_PARAM_construct_end();
	hmac = EVP_MAC_fetch(NULL, "HMAC", NULL);
	if (hmac != NULL)
		ctx = EVP_MAC_CTX_new(hmac);
	if (ctx == NULL
	    || !EVP_MAC_init(ctx, (const unsigned char *)salt, salt_len, params)
	    || !EVP_MAC_update(ctx, (const unsigned char *)label, label_size)
	    || !EVP_MAC_update(ctx, (const unsigned char *)agent_id, strlen(agent_id) + 1)
	    || !EVP_MAC_update(ctx, (const unsigned char *)chain, strlen(chain))
	    || !EVP_MAC_final(ctx, mac, &mac_len, 32)
	    || mac_len != 32) {
		memset(mac, 0, 32);
		err = teeliza_set_error(TEELIZA_ERR_CRYPTO, "HMAC-SHA256 of the wallet path failed");
	}
	EVP_MAC_CTX_free(ctx); /* OpenSSL cleanses the key schedule */
	EVP_MAC_free(hmac);
	return err;
}

/* The teeliza and dstack schemes: "<prefix><chain>/<hex(mac)>", subject (or purpose) = chain. */
static teeliza_err teeliza_request(teeliza_buf *path, teeliza_buf *subject, bool dstack, const char *salt,
                                   size_t salt_len, const char *agent_id, const char *chain)
{
	uint8_t mac[32];
	char mac_hex[65];
	teeliza_err err;

	if (dstack)
		err = teeliza_path_mac(mac, dstack_wallet_label, sizeof(dstack_wallet_label), salt, salt_len, agent_id,
		                       chain);
	else
		err = teeliza_path_mac(mac, teeliza_wallet_label, sizeof(teeliza_wallet_label), salt, salt_len, agent_id,
		                       chain);
	if (err)
		return err;
	teeliza_hex_encode(mac_hex, mac, sizeof(mac));
	err = teeliza_buf_printf(path, "%s%s/%s", dstack ? "teeliza/dstack/v1/" : "teeliza/v1/", chain, mac_hex);
	if (!err)
		err = teeliza_buf_append_str(subject, chain);
	TEELIZA_WIPE_BUFFER(mac);
	TEELIZA_WIPE_BUFFER(mac_hex);
	return err;
}

teeliza_err tee_scheme_request(teeliza_buf *path, teeliza_buf *subject, tee_key_scheme scheme,
                               const char *salt, const char *agent_id, tee_chain chain)
{
	const char *chain_name = tee_chain_name(chain);
	size_t salt_len;
	teeliza_err err;

	assert(path != NULL && subject != NULL && path != subject);
	assert(chain == TEE_CHAIN_SOLANA || chain == TEE_CHAIN_EVM || chain == TEE_CHAIN_RAW);
	teeliza_buf_init(path, SCHEME_BUF_MAX);
	teeliza_buf_init(subject, SCHEME_BUF_MAX);
	path->secret = subject->secret = true;

	/* Same check and words as the plugin's deriveKeyProvider. */
	if (salt == NULL || salt[0] == '\0')
		return teeliza_set_error(TEELIZA_ERR_CONFIG, "Wallet secret salt is not configured in settings");
	if (agent_id == NULL || agent_id[0] == '\0')
		return teeliza_set_error(TEELIZA_ERR_INVALID, "agent id is empty: wallet keys are derived per agent");
	salt_len = strlen(salt);
	if (salt_len > SCHEME_FIELD_MAX)
		return teeliza_set_error(TEELIZA_ERR_TOO_LARGE, "wallet secret salt is %zu bytes, at most %d allowed",
		                         salt_len, SCHEME_FIELD_MAX);
	if (strlen(agent_id) > SCHEME_FIELD_MAX)
		return teeliza_set_error(TEELIZA_ERR_TOO_LARGE, "agent id is longer than %d bytes", SCHEME_FIELD_MAX);

	switch (scheme) {
	case TEE_SCHEME_TEELIZA:
	case TEE_SCHEME_DSTACK:
		err = teeliza_request(path, subject, scheme == TEE_SCHEME_DSTACK, salt, salt_len, agent_id, chain_name);
		break;
	case TEE_SCHEME_DSTACK_SDK:
		err = teeliza_set_error(TEELIZA_ERR_CONFIG,
		                        "the dstack-sdk scheme derives from the GetKey path you used with the JS SDK, not "
		                        "from a salt: give that path (teeliza derive --path P [--purpose Q])");
		break;
	case TEE_SCHEME_ELIZA_V017:
		err = teeliza_buf_append_str(path, "/");
		if (!err)
			err = teeliza_buf_append(subject, salt, salt_len);
		break;
	case TEE_SCHEME_ELIZA_V019:
		err = teeliza_buf_append(path, salt, salt_len);
		if (!err)
			err = teeliza_buf_append_str(subject, chain_name);
		break;
	default:
		assert(0 && "unknown key scheme");
		err = teeliza_set_error(TEELIZA_ERR_INTERNAL, "unknown key scheme %d", (int)scheme);
		break;
	}
	if (err) {
		teeliza_buf_free(path);
		teeliza_buf_free(subject);
	}
	return err;
}
