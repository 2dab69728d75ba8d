/*
 * dstack client: GetKey, Sign and Verify, and walking the chains they
 * return (dstack_provenance.c does the walk).
 */
#include "tee/dstack_client_internal.h"
#include "teeliza/common/encoding.h"

#include <assert.h>
#include <stdio.h>
#include <string.h>

#define KEY_BODY_MAX ((size_t)16 << 20)

static const size_t len_key[] = {TEE_DSTACK_KEY_LEN};
static const size_t len_chain[] = {TEE_DSTACK_CHAIN_SIG_LEN};
static const size_t len_kms[] = {TEE_DSTACK_CHAIN_SIG_LEN, 0};
static const size_t len_sig[] = {TEE_DSTACK_SIG_LEN};
static const size_t len_k256_pub[] = {TEE_DSTACK_K256_PUB_LEN};
static const size_t len_ed_pub[] = {TEE_DSTACK_ED25519_PUB_LEN};

/* The chain array: n entries, each a hex string. */
static teeliza_err chain_array(json_t **out, json_t *reply, size_t n, const char *what)
{
	json_t *chain = json_object_get(reply, "signature_chain");
	size_t i;

	*out = NULL;
	if (chain == NULL)
		return teeliza_set_error(TEELIZA_ERR_PROTOCOL, "%s has no \"signature_chain\"", what);
	if (!json_is_array(chain))
		return teeliza_set_error(TEELIZA_ERR_PROTOCOL, "%s: \"signature_chain\" is not an array", what);
	if (json_array_size(chain) != n)
		return teeliza_set_error(TEELIZA_ERR_PROTOCOL, "%s: \"signature_chain\" has %zu entries, not %zu", what,
		                         json_array_size(chain), n);
	for (i = 0; i < n; i++)
		if (!json_is_string(json_array_get(chain, i)))
			return teeliza_set_error(TEELIZA_ERR_PROTOCOL, "%s: signature_chain[%zu] is not a string", what, i);
	*out = chain;
	return TEELIZA_OK;
}

/* Entry i of a chain array, through a one-member object so the field readers can name it. */
static teeliza_err chain_entry(uint8_t *out, size_t *out_len, json_t *chain, size_t i, const size_t *lens,
                               size_t n_lens, const char *what)
{
	char key[32];
	json_t *holder = json_object();
	teeliza_err err;

	if (holder == NULL)
		return teeliza_set_error(TEELIZA_ERR_NOMEM, "out of memory");
	snprintf(key, sizeof(key), "signature_chain[%zu]", i);
	if (json_object_set(holder, key, json_array_get(chain, i)) != 0)
		err = teeliza_set_error(TEELIZA_ERR_NOMEM, "out of memory");
	else
		err = dstack_json_hex_fixed(out, out_len, holder, key, lens, n_lens, false, what);
	json_decref(holder);
	return err;
}

/* ---- GetKey ---- */

teeliza_err dstack_parse_key(tee_dstack_key *out, json_t *reply, tee_dstack_alg alg)
{
	const char *what = "GetKey reply";
	json_t *chain;
	size_t len;
	teeliza_err err;

	assert(out != NULL && reply != NULL);
	assert(alg == TEE_DSTACK_ALG_SECP256K1 || alg == TEE_DSTACK_ALG_ED25519);
	memset(out, 0, sizeof(*out));
	err = dstack_json_hex_fixed(out->key, &len, reply, "key", len_key, 1, false, what);
	if (!err)
		err = chain_array(&chain, reply, 2, what);
	if (!err)
		err = chain_entry(out->chain[0], &len, chain, 0, len_chain, 1, what);
	if (!err)
		err = chain_entry(out->chain[1], &out->kms_signature_len, chain, 1, len_kms, 2, what);
	if (!err && tee_dstack_public_key(out->public_key, &out->public_key_len, alg, out->key) != TEELIZA_OK)
		err = teeliza_set_error(TEELIZA_ERR_PROTOCOL, "%s: \"key\" is not a valid %s key", what,
		                        tee_dstack_alg_name(alg));
	if (err)
		teeliza_wipe(out, sizeof(*out));
	return err;
}

static teeliza_err unsupported(const char *name, const char *method, const char *accepted)
{
	return teeliza_set_error(TEELIZA_ERR_UNSUPPORTED, "Unsupported algorithm: \"%.64s\" (%s takes %s)", name, method,
	                         accepted);
}

teeliza_err dstack_get_key(tee_dstack_key *out, const dstack_client *c, const char *path, const char *purpose,
                           const char *algorithm)
{
	char msg[200];
	teeliza_buf body;
	tee_dstack_alg alg;
	json_t *reply = NULL;
	teeliza_err err;

	assert(out != NULL && c != NULL);
	memset(out, 0, sizeof(*out));
	path = path != NULL ? path : "";
	purpose = purpose != NULL ? purpose : "";
	algorithm = algorithm != NULL ? algorithm : "secp256k1";
	if (tee_dstack_key_alg_parse(&alg, algorithm, strlen(algorithm)) != TEELIZA_OK)
		return unsupported(algorithm, "GetKey", "secp256k1, k256, \"\" or ed25519");
	/* Agents before 0.5.7 ignore the algorithm and would hand out a secp256k1 key: the SDK asks first. */
	if (alg != TEE_DSTACK_ALG_SECP256K1) {
		snprintf(msg, sizeof(msg), "algorithm \"%s\" is not supported: OS version too old (Version RPC unavailable)",
		         algorithm);
		err = dstack_require_version(c, msg);
		if (err)
			return err;
	}
	teeliza_buf_init(&body, KEY_BODY_MAX);
	body.secret = true; /* a path can be a wallet salt */
	/* JSON.stringify({path, purpose, algorithm}): all three, in this order. */
	err = teeliza_buf_append(&body, "{", 1);
	if (!err)
		err = dstack_body_string(&body, true, "path", path);
	if (!err)
		err = dstack_body_string(&body, false, "purpose", purpose);
	if (!err)
		err = dstack_body_string(&body, false, "algorithm", algorithm);
	if (!err)
		err = teeliza_buf_append(&body, "}", 1);
	if (!err)
		err = dstack_call(&reply, NULL, c, "GetKey", &body, DSTACK_SMALL_REPLY_MAX, 0, DSTACK_CALL_SECRET);
	teeliza_buf_free(&body);
	if (err)
		return err;
	err = dstack_parse_key(out, reply, alg);
	dstack_json_wipe_string(json_object_get(reply, "key"));
	json_decref(reply);
	return err;
}

/* ---- chains ---- */

static teeliza_err provenance(tee_dstack_key_report *out, const char *algorithm, const char *purpose,
                              const uint8_t *pub, size_t pub_len, const uint8_t chain[2][TEE_DSTACK_CHAIN_SIG_LEN],
                              size_t kms_signature_len, const dstack_trust *trust)
{
	static const dstack_trust none;
	char pub_hex[2 * TEE_DSTACK_PUB_MAX + 1], c0[2 * TEE_DSTACK_CHAIN_SIG_LEN + 1],
		c1[2 * TEE_DSTACK_CHAIN_SIG_LEN + 1];
	const char *chain_hex[2] = {c0, c1};
	tee_dstack_key_claim claim;

	assert(pub_len <= TEE_DSTACK_PUB_MAX && kms_signature_len <= TEE_DSTACK_CHAIN_SIG_LEN);
	if (trust == NULL)
		trust = &none;
	teeliza_hex_encode(pub_hex, pub, pub_len);
	teeliza_hex_encode(c0, chain[0], TEE_DSTACK_CHAIN_SIG_LEN);
	teeliza_hex_encode(c1, chain[1], kms_signature_len);
	memset(&claim, 0, sizeof(claim));
	claim.algorithm = algorithm;
	claim.purpose = purpose;
	claim.purpose_len = strlen(purpose);
	claim.public_key_hex = pub_hex;
	claim.chain_hex = chain_hex;
	claim.chain_len = 2;
	claim.app_id_hex = trust->app_id_hex;
	claim.kms_root_hex = trust->kms_root_hex;
	claim.event_log = trust->event_log;
	claim.event_log_len = trust->event_log_len;
	claim.rtmr3 = trust->rtmr3;
	return tee_dstack_verify_key(out, &claim);
}

teeliza_err dstack_key_provenance(tee_dstack_key_report *out, const tee_dstack_key *key, const char *algorithm,
                                  const char *purpose, const dstack_trust *trust)
{
	assert(out != NULL && key != NULL);
	return provenance(out, algorithm != NULL ? algorithm : "secp256k1", purpose != NULL ? purpose : "",
	                  key->public_key, key->public_key_len, key->chain, key->kms_signature_len, trust);
}

teeliza_err dstack_sign_provenance(tee_dstack_key_report *out, const tee_dstack_signature *sig, const char *algorithm,
                                   const dstack_trust *trust)
{
	tee_dstack_alg alg;

	assert(out != NULL && sig != NULL && algorithm != NULL);
	memset(out, 0, sizeof(*out));
	if (tee_dstack_sign_alg_parse(&alg, algorithm, strlen(algorithm)) != TEELIZA_OK)
		return unsupported(algorithm, "Sign", "secp256k1, k256, ed25519 or secp256k1_prehashed");
	/* The agent signs with GetKey("vms", "signing", the base algorithm). */
	return provenance(out, alg == TEE_DSTACK_ALG_ED25519 ? "ed25519" : "secp256k1", "signing", sig->public_key,
	                  sig->public_key_len, sig->key_chain, sig->kms_signature_len, trust);
}

/* ---- Sign ---- */

teeliza_err dstack_parse_sign(tee_dstack_signature *out, json_t *reply, tee_dstack_alg alg, const uint8_t *data,
                              size_t data_len)
{
	const char *what = "Sign reply";
	char why[DSTACK_WHY_MAX];
	uint8_t first[TEE_DSTACK_SIG_LEN];
	json_t *chain;
	size_t len;
	bool valid = false;
	teeliza_err err;

	assert(out != NULL && reply != NULL && (data != NULL || data_len == 0));
	memset(out, 0, sizeof(*out));
	err = dstack_json_hex_fixed(out->signature, &len, reply, "signature", len_sig, 1, false, what);
	if (!err)
		err = dstack_json_hex_fixed(out->public_key, &out->public_key_len, reply, "public_key",
		                            alg == TEE_DSTACK_ALG_ED25519 ? len_ed_pub : len_k256_pub, 1, false, what);
	if (!err)
		err = chain_array(&chain, reply, 3, what);
	if (!err)
		err = chain_entry(first, &len, chain, 0, len_sig, 1, what);
	if (!err && memcmp(first, out->signature, sizeof(first)) != 0)
		err = teeliza_set_error(TEELIZA_ERR_VERIFY, "%s: signature_chain[0] is not the signature", what);
	if (!err)
		err = chain_entry(out->key_chain[0], &len, chain, 1, len_chain, 1, what);
	if (!err)
		err = chain_entry(out->key_chain[1], &out->kms_signature_len, chain, 2, len_kms, 2, what);
	if (!err) {
		err = tee_dstack_verify(&valid, alg, data, data_len, out->signature, sizeof(out->signature), out->public_key,
		                        out->public_key_len);
		if (err)
			err = teeliza_set_error(TEELIZA_ERR_PROTOCOL, "%s: \"public_key\" or \"signature\" is malformed: %s", what,
			                        dstack_why(why));
		else if (!valid)
			err = teeliza_set_error(TEELIZA_ERR_VERIFY,
			                        "%s: the %s signature does not verify under the public key it came with", what,
			                        tee_dstack_alg_name(alg));
	}
	if (err)
		memset(out, 0, sizeof(*out));
	return err;
}

/* The start of a Sign or Verify request, which both begin {"algorithm":…,"data":"<hex>" (left open). */
static teeliza_err signing_body(teeliza_buf *body, const char *algorithm, const uint8_t *data, size_t data_len)
{
	teeliza_err err;

	teeliza_buf_init(body, KEY_BODY_MAX);
	err = teeliza_buf_append(body, "{", 1);
	if (!err)
		err = dstack_body_string(body, true, "algorithm", algorithm);
	if (!err)
		err = teeliza_buf_append_str(body, ",\"data\":");
	if (!err)
		err = dstack_body_hex(body, data, data_len);
	return err;
}

teeliza_err dstack_sign(tee_dstack_signature *out, const dstack_client *c, const char *algorithm, const uint8_t *data,
                        size_t data_len)
{
	teeliza_buf body;
	tee_dstack_alg alg;
	json_t *reply = NULL;
	teeliza_err err;

	assert(out != NULL && c != NULL && algorithm != NULL && (data != NULL || data_len == 0));
	memset(out, 0, sizeof(*out));
	if (tee_dstack_sign_alg_parse(&alg, algorithm, strlen(algorithm)) != TEELIZA_OK)
		return unsupported(algorithm, "Sign", "secp256k1, k256, ed25519 or secp256k1_prehashed");
	if (alg == TEE_DSTACK_ALG_SECP256K1_PREHASHED && data_len != 32)
		return teeliza_set_error(TEELIZA_ERR_INVALID,
		                         "Pre-hashed signing requires a 32-byte digest, but received %zu bytes", data_len);
	if (data_len > KEY_BODY_MAX / 2 - 128)
		return teeliza_set_error(TEELIZA_ERR_TOO_LARGE, "%zu bytes are too many to sign in one request", data_len);
	err = signing_body(&body, algorithm, data, data_len);
	if (!err)
		err = teeliza_buf_append(&body, "}", 1);
	if (!err)
		err = dstack_call(&reply, NULL, c, "Sign", &body, DSTACK_SMALL_REPLY_MAX, 0, 0);
	teeliza_buf_free(&body);
	if (err)
		return err;
	err = dstack_parse_sign(out, reply, alg, data, data_len);
	json_decref(reply);
	return err;
}

/* ---- Verify ---- */

teeliza_err dstack_parse_verify(bool *valid, json_t *reply)
{
	json_t *v = json_object_get(reply, "valid");

	*valid = false;
	if (v == NULL)
		return teeliza_set_error(TEELIZA_ERR_PROTOCOL, "Verify reply has no \"valid\"");
	if (!json_is_boolean(v))
		return teeliza_set_error(TEELIZA_ERR_PROTOCOL, "Verify reply: \"valid\" is not a boolean");
	*valid = json_is_true(v);
	return TEELIZA_OK;
}

teeliza_err dstack_verify(bool *valid, const dstack_client *c, const char *algorithm, const uint8_t *data,
                          size_t data_len, const uint8_t *signature, size_t signature_len, const uint8_t *public_key,
                          size_t public_key_len)
{
	teeliza_buf body;
	tee_dstack_alg alg;
	json_t *reply = NULL;
	teeliza_err err;

	assert(valid != NULL && c != NULL && algorithm != NULL);
	assert((data != NULL || data_len == 0) && (signature != NULL || signature_len == 0) &&
	       (public_key != NULL || public_key_len == 0));
	*valid = false;
	if (tee_dstack_sign_alg_parse(&alg, algorithm, strlen(algorithm)) != TEELIZA_OK)
		return unsupported(algorithm, "Verify", "secp256k1, k256, ed25519 or secp256k1_prehashed");
	if (data_len > KEY_BODY_MAX / 2 - 1024 || signature_len > 1024 || public_key_len > 1024)
		return teeliza_set_error(TEELIZA_ERR_TOO_LARGE, "data, signature or public key too large to send");
	err = signing_body(&body, algorithm, data, data_len);
	if (!err)
		err = teeliza_buf_append_str(&body, ",\"signature\":");
	if (!err)
		err = dstack_body_hex(&body, signature, signature_len);
	if (!err)
		err = teeliza_buf_append_str(&body, ",\"public_key\":");
	if (!err)
		err = dstack_body_hex(&body, public_key, public_key_len);
	if (!err)
		err = teeliza_buf_append(&body, "}", 1);
	if (!err)
		err = dstack_call(&reply, NULL, c, "Verify", &body, DSTACK_SMALL_REPLY_MAX, 0, 0);
	teeliza_buf_free(&body);
	if (err)
		return err;
	err = dstack_parse_verify(valid, reply);
	json_decref(reply);
	return err;
}
