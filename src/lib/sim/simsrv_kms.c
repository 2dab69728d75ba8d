/*
 * The simulator's dstack key hierarchy: the app key K_app and its KMS
 * signature (chain[1]) that every GetKey, Sign and DeriveK256Key answer
 * carries, from one of three sources:
 *   - an .appkeys.json file (dstack's simulator ships one): K_app and the
 *     signature as given; the KMS root is whatever chain[1] recovers to;
 *   - the public development keys: dstack's simulator appkeys.json, built
 *     in, so GetKey reproduces its published answers without a file;
 *   - a KMS root of our own, k256, generated once into the state directory
 *     (0600), from which K_app and chain[1] are derived for the app id as
 *     dstack's KMS does.
 */
#include "sim/simsrv.h"

#include "teeliza/common/encoding.h"

#include <openssl/rand.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define APPKEYS_MAX ((size_t)1 << 20)
#define ROOT_FILE_MAX 4096u

/* dstack's sdk/simulator/appkeys.json (tests/vectors/dstack-simulator-appkeys.json): public test keys. */
static const uint8_t dev_app_key[32] = {
	0xd6, 0xe8, 0x89, 0x92, 0xcd, 0xee, 0xee, 0x35, 0xfe, 0x70, 0xb5, 0xdb, 0x61, 0xab, 0x66, 0xcd,
	0xb1, 0x91, 0xfb, 0x9b, 0x6e, 0xc9, 0x31, 0x37, 0x57, 0xef, 0x16, 0x2d, 0xd7, 0x21, 0x4d, 0x5d,
};
static const uint8_t dev_kms_signature[65] = {
	0x9e, 0x61, 0x86, 0x03, 0xe7, 0x2d, 0x01, 0xfe, 0xdb, 0x82, 0xde, 0xff, 0x6d, 0xaf, 0x2d, 0x62,
	0xa5, 0x72, 0xbe, 0xcf, 0x00, 0x59, 0xee, 0xc3, 0xf8, 0x9c, 0x1a, 0xb4, 0x0e, 0x1f, 0x2e, 0x59,
	0x4d, 0x2a, 0x28, 0x3f, 0x84, 0x3f, 0x34, 0xe8, 0xf3, 0x9e, 0x4c, 0xc4, 0x9a, 0x61, 0x24, 0x96,
	0xce, 0x67, 0x22, 0x3a, 0x12, 0xac, 0x92, 0x3f, 0x8e, 0xfe, 0x33, 0x03, 0x46, 0xdf, 0xc6, 0xc5,
	0x00,
};

/* The root chain[1] recovers to for app_id; unknown (not an error) when there is no signature or none recovers. */
static void recover_root(simsrv_kms *kms, const uint8_t app_id[20])
{
	uint8_t digest[32];

	kms->root_known = false;
	if (kms->keys.kms_signature_len != TEE_DSTACK_CHAIN_SIG_LEN)
		return;
	tee_dstack_kms_digest(digest, app_id, kms->keys.app_pub);
	kms->root_known = tee_dstack_recover(kms->root_pub, kms->keys.kms_signature, digest) == TEELIZA_OK;
	teeliza_clear_error();
}

static teeliza_err load_appkeys(simsrv_kms *kms, const char *path)
{
	teeliza_buf text;
	char why[256];
	teeliza_err err;

	err = teeliza_read_file(&text, path, APPKEYS_MAX);
	if (err == TEELIZA_ERR_NOT_FOUND)
		return teeliza_set_error(TEELIZA_ERR_CONFIG, "app keys file %s does not exist", path);
	if (err == TEELIZA_ERR_TOO_LARGE)
		return teeliza_set_error(TEELIZA_ERR_CONFIG, "app keys file %s is larger than %zu bytes", path, APPKEYS_MAX);
	if (err)
		return err;
	text.secret = true;
	err = tee_dstack_app_keys_from_json(&kms->keys, (const char *)text.data, text.len);
	teeliza_buf_free(&text);
	if (err) {
		/* copied first: the message lives in the buffer teeliza_set_error writes */
		snprintf(why, sizeof(why), "%s", teeliza_errmsg());
		return teeliza_set_error(err, "app keys file %s: %s", path, why);
	}
	return TEELIZA_OK;
}

/* A scalar in 1..n-1 (what has a public key). */
static bool k256_valid(const uint8_t key[32])
{
	uint8_t pub[TEE_DSTACK_PUB_MAX];
	size_t len;

	if (tee_dstack_public_key(pub, &len, TEE_DSTACK_ALG_SECP256K1, key) != TEELIZA_OK) {
		teeliza_clear_error();
		return false;
	}
	return true;
}

static teeliza_err create_root(const char *path)
{
	uint8_t key[32];
	char text[2 * 32 + 2];
	teeliza_err err;

	do {
		if (RAND_bytes(key, sizeof(key)) != 1)
			return teeliza_set_error(TEELIZA_ERR_CRYPTO, "cannot generate the simulated KMS root key");
	} while (!k256_valid(key));
	teeliza_hex_encode(text, key, sizeof(key));
	text[64] = '\n';
	err = teeliza_write_file(path, text, 65, 0600);
	TEELIZA_WIPE_BUFFER(key);
	TEELIZA_WIPE_BUFFER(text);
	return err;
}

/* The root key file: 64 hex digits, optionally followed by a newline. */
static teeliza_err read_root(uint8_t key[32], const char *path)
{
	teeliza_buf text;
	size_t len, n = 0;
	teeliza_err err;

	err = teeliza_read_file(&text, path, ROOT_FILE_MAX);
	if (err == TEELIZA_ERR_TOO_LARGE)
		return teeliza_set_error(TEELIZA_ERR_CONFIG, "KMS root key file %s: not a key (too long)", path);
	if (err)
		return err;
	text.secret = true;
	len = text.len;
	while (len > 0 && (text.data[len - 1] == '\n' || text.data[len - 1] == '\r'))
		len--;
	err = teeliza_hex_decode(key, 32, &n, (const char *)text.data, len, false);
	teeliza_buf_free(&text);
	if (err || n != 32) {
		teeliza_wipe(key, 32);
		return teeliza_set_error(TEELIZA_ERR_CONFIG, "KMS root key file %s: expected 64 hex digits (a secp256k1 key)",
		                         path);
	}
	if (!k256_valid(key)) {
		teeliza_wipe(key, 32);
		return teeliza_set_error(TEELIZA_ERR_CONFIG, "KMS root key file %s: not a valid secp256k1 key", path);
	}
	return TEELIZA_OK;
}

static teeliza_err own_root(simsrv_kms *kms, const char *state_dir, const uint8_t app_id[20])
{
	char path[4096];
	uint8_t root[32];
	size_t pub_len = 0;
	bool created = false;
	int n = snprintf(path, sizeof(path), "%s/%s", state_dir, SIMSRV_KMS_ROOT_FILE);
	teeliza_err err;

	if (n < 0 || (size_t)n >= sizeof(path))
		return teeliza_set_error(TEELIZA_ERR_CONFIG, "state directory path too long: %s", state_dir);
	err = read_root(root, path);
	if (err == TEELIZA_ERR_NOT_FOUND) {
		teeliza_clear_error();
		err = create_root(path);
		if (err == TEELIZA_OK)
			err = read_root(root, path);
		created = true;
	}
	if (err)
		return err;
	err = tee_dstack_app_keys_derive(&kms->keys, root, app_id);
	if (!err)
		err = tee_dstack_public_key(kms->root_pub, &pub_len, TEE_DSTACK_ALG_SECP256K1, root);
	TEELIZA_WIPE_BUFFER(root);
	if (err)
		return err;
	kms->root_known = true;
	snprintf(kms->source, sizeof(kms->source), "simulated KMS root %s %.280s", created ? "created in" : "from", path);
	return TEELIZA_OK;
}

teeliza_err simsrv_kms_open(simsrv_kms *kms, const char *appkeys_file, bool dev_keys, const char *state_dir,
                            const uint8_t app_id[20])
{
	teeliza_err err;

	memset(kms, 0, sizeof(*kms));
	if (appkeys_file != NULL && dev_keys)
		return teeliza_set_error(TEELIZA_ERR_CONFIG, "give app keys or the development keys, not both");
	err = simsrv_keycache_new(&kms->cache);
	if (err)
		return err;
	if (appkeys_file != NULL) {
		err = load_appkeys(kms, appkeys_file);
		snprintf(kms->source, sizeof(kms->source), "app keys from %.300s", appkeys_file);
	} else if (dev_keys) {
		err = tee_dstack_app_keys_load(&kms->keys, dev_app_key, dev_kms_signature, sizeof(dev_kms_signature));
		snprintf(kms->source, sizeof(kms->source), "the public development app keys (dstack's simulator)");
	} else {
		return own_root(kms, state_dir, app_id);
	}
	if (err)
		return err;
	recover_root(kms, app_id);
	return TEELIZA_OK;
}

void simsrv_kms_close(simsrv_kms *kms)
{
	if (kms == NULL)
		return;
	simsrv_keycache_free(kms->cache);
	teeliza_wipe(kms, sizeof(*kms));
}

teeliza_err simsrv_kms_get_key(tee_dstack_key *out, const simsrv_kms *kms, tee_dstack_alg alg, const char *path,
                               size_t path_len, const char *purpose, size_t purpose_len)
{
	teeliza_err err;

	if (simsrv_keycache_get(kms->cache, out, alg, path, path_len, purpose, purpose_len))
		return TEELIZA_OK;
	err = tee_dstack_get_key(out, &kms->keys, alg, path, path_len, purpose, purpose_len);
	if (err == TEELIZA_OK)
		simsrv_keycache_put(kms->cache, out, alg, path, path_len, purpose, purpose_len);
	return err;
}

teeliza_err simsrv_kms_get_key_args(tee_dstack_key *out, const simsrv_kms *kms, const json_t *args)
{
	const char *path, *purpose, *alg_name;
	size_t path_len, purpose_len, alg_len;
	tee_dstack_alg alg;
	teeliza_err err;

	err = simsrv_arg_string_len(&path, &path_len, args, "path");
	if (!err)
		err = simsrv_arg_string_len(&purpose, &purpose_len, args, "purpose");
	if (!err)
		err = simsrv_arg_string_len(&alg_name, &alg_len, args, "algorithm");
	if (!err)
		err = tee_dstack_key_alg_parse(&alg, alg_name, alg_len);
	if (!err)
		err = simsrv_kms_get_key(out, kms, alg, path, path_len, purpose, purpose_len);
	return err;
}
