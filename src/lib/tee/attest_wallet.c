/*
 * The plugin's deriveEd25519Keypair / deriveEcdsaKeypair, and the raw key,
 * each followed by generateDeriveKeyAttestation.
 */
#include "teeliza/tee/attest.h"
#include "teeliza/common/encoding.h"

#include <assert.h>
#include <openssl/core_names.h>
#include <openssl/evp.h>
#include <openssl/x509.h>
#include <string.h>

/* "0x04…": the uncompressed P-256 public key of the tappd key itself. */
static teeliza_err p256_public_hex(char out[140], const uint8_t *der, size_t der_len)
{
	const unsigned char *p = der;
	uint8_t pub[133];
	size_t pub_len = 0;
	EVP_PKEY *pk;
	teeliza_err err = TEELIZA_OK;

	if (der_len > 65536)
		return teeliza_set_error(TEELIZA_ERR_PARSE, "tappd key of %zu bytes is too large", der_len);
	pk = d2i_AutoPrivateKey(NULL, &p, (long)der_len);
	if (pk == NULL || !EVP_PKEY_is_a(pk, "EC"))
		err = teeliza_set_error(TEELIZA_ERR_PARSE, "tappd key is not an EC private key");
	else if (EVP_PKEY_get_octet_string_param(pk, OSSL_PKEY_PARAM_PUB_KEY, pub, sizeof(pub), &pub_len) != 1 ||
	         pub_len == 0 || 2 * pub_len + 3 > 140)
		err = teeliza_set_error(TEELIZA_ERR_CRYPTO, "cannot read the public key of the tappd key");
	if (!err) {
		out[0] = '0';
		out[1] = 'x';
		teeliza_hex_encode(out + 2, pub, pub_len);
	}
	EVP_PKEY_free(pk);
	return err;
}

void tee_wallet_free(tee_wallet *w)
{
	if (w == NULL)
		return;
	teeliza_buf_free(&w->der);
	tee_attestation_free(&w->attestation);
	teeliza_wipe(w, sizeof(*w));
}

/* DeriveKey → DER → the chain's keypair, then the attestation when asked. */
static teeliza_err wallet_from_request(tee_wallet *w, const tappd_client *c, const char *path, const char *subject,
                                       bool attest)
{
	tappd_derive_key_response dk;
	teeliza_buf json;
	teeliza_err err;

	err = tappd_derive_key(&dk, c, path, subject, NULL, 0);
	if (err)
		return err;
	err = tee_pem_to_der(&w->der, (const char *)dk.key.data, dk.key.len);
	w->der.secret = true;
	tappd_derive_key_response_free(&dk);
	if (err)
		return err;

	switch (w->chain) {
	case TEE_CHAIN_SOLANA:
		err = tee_derive_solana(&w->solana, w->der.data, w->der.len);
		if (!err)
			memcpy(w->address, w->solana.address, sizeof(w->solana.address));
		break;
	case TEE_CHAIN_EVM:
		err = tee_derive_evm(&w->evm, w->der.data, w->der.len);
		if (!err)
			memcpy(w->address, w->evm.address, sizeof(w->evm.address));
		break;
	case TEE_CHAIN_RAW:
		err = p256_public_hex(w->address, w->der.data, w->der.len);
		break;
	default:
		err = teeliza_set_error(TEELIZA_ERR_INVALID, "unknown chain %d", (int)w->chain);
	}
	if (err || !attest)
		return err;
	/* generateDeriveKeyAttestation: {"agentId","publicKey"} quoted with no hash algorithm. */
	teeliza_buf_init(&json, 0);
	err = tee_derive_attestation_json(&json, w->agent_id, w->address);
	if (!err)
		err = tee_remote_attestation(&w->attestation, c, (const char *)json.data, json.len, NULL);
	teeliza_buf_free(&json);
	if (!err)
		w->attested = true;
	return err;
}

/* Zero w and record what it is for; an agent id is needed to attest. */
static teeliza_err wallet_start(tee_wallet *w, tee_chain chain, const char *agent_id, bool attest)
{
	memset(w, 0, sizeof(*w));
	teeliza_buf_init(&w->der, 1 << 16);
	w->der.secret = true;
	w->chain = chain;
	if (agent_id == NULL || agent_id[0] == 0) {
		if (attest)
			return teeliza_set_error(TEELIZA_ERR_INVALID, "an agent id is required for the attestation");
		return TEELIZA_OK;
	}
	if (strlen(agent_id) >= sizeof(w->agent_id))
		return teeliza_set_error(TEELIZA_ERR_INVALID, "agent id is longer than %zu bytes", sizeof(w->agent_id) - 1);
	memcpy(w->agent_id, agent_id, strlen(agent_id) + 1);
	return TEELIZA_OK;
}

teeliza_err tee_derive_wallet(tee_wallet *w, const tappd_client *c, tee_key_scheme scheme, tee_chain chain,
                              const char *salt, const char *agent_id, bool attest)
{
	teeliza_buf path, subject;
	teeliza_err err;

	assert(w != NULL && c != NULL);
	err = wallet_start(w, chain, agent_id, attest);
	w->scheme = scheme;
	if (err)
		return err;
	err = tee_scheme_request(&path, &subject, scheme, salt, agent_id, chain);
	if (!err)
		err = wallet_from_request(w, c, (const char *)path.data, (const char *)subject.data, attest);
	teeliza_buf_free(&path);
	teeliza_buf_free(&subject);
	return err;
}

teeliza_err tee_derive_wallet_path(tee_wallet *w, const tappd_client *c, const char *path, const char *subject,
                                   tee_chain chain, const char *agent_id, bool attest)
{
	teeliza_err err;

	assert(w != NULL && c != NULL && path != NULL);
	err = wallet_start(w, chain, agent_id, attest);
	if (err)
		return err;
	return wallet_from_request(w, c, path, subject, attest);
}
