/*
 * dstack key hierarchy (dstack_keys.h): the §1.9 GetKey table and simulator
 * keys byte for byte, HKDF against OpenSSL's, chain-signature recovery and
 * its refusals, and Sign / Verify for the three algorithms, checked by
 * OpenSSL (ECDSA through OpenSSL's own secp256k1, Ed25519) rather than by
 * the code under test.
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <cmocka.h>

#include "testutil.h"
#include "teeliza/common/common.h"
#include "teeliza/tee/dstack_keys.h"
#include "teeliza/common/encoding.h"
#include "teeliza/common/keccak.h"

#include <openssl/bn.h>
#include <openssl/core_names.h>
#include <openssl/ec.h>
#include <openssl/evp.h>
#include <openssl/kdf.h>
#include <openssl/param_build.h>
#include <openssl/sha.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>

/* The simulator's app id (R511 sdk/simulator/attestation.bin), the KMS root and app key it implies. */
#define SIM_APP_ID "5bb4ff9a3837357f19dc176407a5709c62eb6c56"
#define SIM_ROOT_PUB "0321529e458424ab1f710a3a57ec4dad2fb195ddca572f7469242ba6c7563085b6"
#define SIM_APP_PUB "02818494263695e8839122dbd88e281d7380622999df4e60a14befa0f2d096fc7c"

/* secp256k1 group order n, big-endian. */
static const uint8_t order_n[32] = {
	0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xfe,
	0xba, 0xae, 0xdc, 0xe6, 0xaf, 0x48, 0xa0, 0x3b, 0xbf, 0xd2, 0x5e, 0x8c, 0xd0, 0x36, 0x41, 0x41,
};

static void hex_to(uint8_t *out, size_t want, const char *hex)
{
	size_t n = 0;

	assert_int_equal(teeliza_hex_decode(out, want, &n, hex, strlen(hex), false), TEELIZA_OK);
	assert_int_equal(n, want);
}

/* appkeys.json's k256_key and k256_signature, read from the file's text. */
static void sim_app(tee_dstack_app_keys *app)
{
	size_t len;
	uint8_t *text = vector_read("dstack-simulator-appkeys.json", &len);

	assert_int_equal(tee_dstack_app_keys_from_json(app, (const char *)text, len), TEELIZA_OK);
	teeliza_wipe(text, len);
	free(text);
}

/* HKDF-SHA256(salt "RATLS", ikm, info) by OpenSSL's KDF: the independent reference. */
static void openssl_hkdf(uint8_t out[32], const uint8_t ikm[32], const void *info, size_t info_len)
{
	EVP_KDF *kdf = EVP_KDF_fetch(NULL, "HKDF", NULL);
	EVP_KDF_CTX *kctx = EVP_KDF_CTX_new(kdf);
	OSSL_PARAM params[5];

	params[0] = OSSL_PARAM_construct_utf8_string(OSSL_KDF_PARAM_DIGEST, (char *)"SHA256", 0);
	params[1] = OSSL_PARAM_construct_octet_string(OSSL_KDF_PARAM_SALT, (void *)"RATLS", 5);
	params[2] = OSSL_PARAM_construct_octet_string(OSSL_KDF_PARAM_KEY, (void *)ikm, 32);
	params[3] = OSSL_PARAM_construct_octet_string(OSSL_KDF_PARAM_INFO, (void *)(info_len ? info : ""), info_len);
	params[4] = OSSL_PARAM_construct_end();
	assert_non_null(kctx);
	assert_int_equal(EVP_KDF_derive(kctx, out, 32, params), 1);
	EVP_KDF_CTX_free(kctx);
	EVP_KDF_free(kdf);
}

/* ECDSA verification through OpenSSL's secp256k1 (not libsecp256k1): 1 valid, 0 not. */
static int openssl_k256_verify(const uint8_t *pub, size_t pub_len, const uint8_t rs[64], const uint8_t digest[32])
{
	OSSL_PARAM_BLD *bld = OSSL_PARAM_BLD_new();
	OSSL_PARAM *params;
	EVP_PKEY_CTX *fctx = EVP_PKEY_CTX_new_from_name(NULL, "EC", NULL), *vctx;
	EVP_PKEY *pkey = NULL;
	ECDSA_SIG *sig = ECDSA_SIG_new();
	unsigned char *der = NULL;
	int der_len, rc;

	assert_non_null(bld);
	assert_int_equal(OSSL_PARAM_BLD_push_utf8_string(bld, OSSL_PKEY_PARAM_GROUP_NAME, "secp256k1", 0), 1);
	assert_int_equal(OSSL_PARAM_BLD_push_octet_string(bld, OSSL_PKEY_PARAM_PUB_KEY, pub, pub_len), 1);
	params = OSSL_PARAM_BLD_to_param(bld);
	assert_non_null(params);
	assert_int_equal(EVP_PKEY_fromdata_init(fctx), 1);
	assert_int_equal(EVP_PKEY_fromdata(fctx, &pkey, EVP_PKEY_PUBLIC_KEY, params), 1);
	assert_int_equal(ECDSA_SIG_set0(sig, BN_bin2bn(rs, 32, NULL), BN_bin2bn(rs + 32, 32, NULL)), 1);
	der_len = i2d_ECDSA_SIG(sig, &der);
	assert_true(der_len > 0);
	vctx = EVP_PKEY_CTX_new(pkey, NULL);
	assert_int_equal(EVP_PKEY_verify_init(vctx), 1);
	rc = EVP_PKEY_verify(vctx, der, (size_t)der_len, digest, 32);
	EVP_PKEY_CTX_free(vctx);
	OPENSSL_free(der);
	ECDSA_SIG_free(sig);
	EVP_PKEY_free(pkey);
	EVP_PKEY_CTX_free(fctx);
	OSSL_PARAM_free(params);
	OSSL_PARAM_BLD_free(bld);
	return rc == 1;
}

static int openssl_ed25519_verify(const uint8_t pub[32], const uint8_t sig[64], const uint8_t *msg, size_t len)
{
	EVP_PKEY *pkey = EVP_PKEY_new_raw_public_key(EVP_PKEY_ED25519, NULL, pub, 32);
	EVP_MD_CTX *md = EVP_MD_CTX_new();
	int rc;

	assert_non_null(pkey);
	assert_int_equal(EVP_DigestVerifyInit(md, NULL, NULL, NULL, pkey), 1);
	rc = EVP_DigestVerify(md, sig, 64, msg, len);
	EVP_MD_CTX_free(md);
	EVP_PKEY_free(pkey);
	return rc == 1;
}

/* s' = n − s: the high-S twin of a low-S signature. */
static void negate_s(uint8_t s[32])
{
	int i, borrow = 0;

	for (i = 31; i >= 0; i--) {
		int d = order_n[i] - s[i] - borrow;

		borrow = d < 0;
		s[i] = (uint8_t)(d + (borrow ? 256 : 0));
	}
}

static void test_alg_parse(void **state)
{
	tee_dstack_alg a;

	(void)state;
	assert_int_equal(tee_dstack_key_alg_parse(&a, "secp256k1", 9), TEELIZA_OK);
	assert_int_equal(a, TEE_DSTACK_ALG_SECP256K1);
	assert_int_equal(tee_dstack_key_alg_parse(&a, "", 0), TEELIZA_OK);
	assert_int_equal(a, TEE_DSTACK_ALG_SECP256K1);
	assert_int_equal(tee_dstack_key_alg_parse(&a, NULL, 0), TEELIZA_OK);
	assert_int_equal(tee_dstack_key_alg_parse(&a, "k256", 4), TEELIZA_OK);
	assert_int_equal(a, TEE_DSTACK_ALG_SECP256K1);
	assert_int_equal(tee_dstack_key_alg_parse(&a, "ed25519", 7), TEELIZA_OK);
	assert_int_equal(a, TEE_DSTACK_ALG_ED25519);
	assert_int_equal(tee_dstack_key_alg_parse(&a, "secp256k1_prehashed", 19), TEELIZA_ERR_UNSUPPORTED);
	assert_string_equal(teeliza_errmsg(), "Unsupported algorithm");
	assert_int_equal(tee_dstack_key_alg_parse(&a, "Ed25519", 7), TEELIZA_ERR_UNSUPPORTED);
	assert_int_equal(tee_dstack_key_alg_parse(&a, "ed25519\0", 8), TEELIZA_ERR_UNSUPPORTED);

	assert_int_equal(tee_dstack_sign_alg_parse(&a, "secp256k1_prehashed", 19), TEELIZA_OK);
	assert_int_equal(a, TEE_DSTACK_ALG_SECP256K1_PREHASHED);
	assert_int_equal(tee_dstack_sign_alg_parse(&a, "k256", 4), TEELIZA_OK);
	assert_int_equal(a, TEE_DSTACK_ALG_SECP256K1);
	assert_int_equal(tee_dstack_sign_alg_parse(&a, "ed25519", 7), TEELIZA_OK);
	assert_int_equal(a, TEE_DSTACK_ALG_ED25519);
	/* the agent's Sign/Verify fall through to "Unsupported algorithm" for "" */
	assert_int_equal(tee_dstack_sign_alg_parse(&a, "", 0), TEELIZA_ERR_UNSUPPORTED);
	assert_int_equal(tee_dstack_sign_alg_parse(&a, "rsa", 3), TEELIZA_ERR_UNSUPPORTED);
	assert_string_equal(tee_dstack_alg_name(TEE_DSTACK_ALG_SECP256K1_PREHASHED), "secp256k1_prehashed");
}

/* .appkeys.json: the two members, their lengths, the empty signature of a local key provider. */
static void test_appkeys_json(void **state)
{
	static const struct {
		const char *json;
		teeliza_err err;
		const char *msg;
	} bad[] = {
		{"", TEELIZA_ERR_PARSE, "appkeys: not valid JSON"},
		{"[]", TEELIZA_ERR_PARSE, "appkeys: not a JSON object"},
		{"{\"k256_signature\":\"\"}", TEELIZA_ERR_PARSE, "appkeys: \"k256_key\" is missing"},
		{"{\"k256_key\":1,\"k256_signature\":\"\"}", TEELIZA_ERR_PARSE, "appkeys: \"k256_key\" is not a string"},
		{"{\"k256_key\":\"d6e88992cdeeee35fe70b5db61ab66cdb191fb9b6ec9313757ef162dd7214d5d\"}", TEELIZA_ERR_PARSE,
		 "appkeys: \"k256_signature\" is missing"},
		{"{\"k256_key\":\"d6e8\",\"k256_signature\":\"\"}", TEELIZA_ERR_INVALID,
		 "appkeys: \"k256_key\" is 2 bytes, must be 32"},
		{"{\"k256_key\":\"0xd6e88992cdeeee35fe70b5db61ab66cdb191fb9b6ec9313757ef162dd7214d5d\",\"k256_signature\":\"\"}",
		 TEELIZA_ERR_PARSE, "appkeys: \"k256_key\": invalid hex digit at position 1"},
		{"{\"k256_key\":\"d6e88992cdeeee35fe70b5db61ab66cdb191fb9b6ec9313757ef162dd7214d5d\",\"k256_signature\":\"00\"}",
		 TEELIZA_ERR_INVALID, "k256_signature is 1 bytes"},
		{"{\"k256_key\":\"0000000000000000000000000000000000000000000000000000000000000000\",\"k256_signature\":\"\"}",
		 TEELIZA_ERR_CRYPTO, "Failed to parse app k256 key"},
		{"{\"k256_key\":\"\",\"k256_key\":\"\",\"k256_signature\":\"\"}", TEELIZA_ERR_PARSE,
		 "appkeys: not valid JSON: duplicate object key"},
	};
	static const char local[] = "{\"k256_key\":\"D6E88992CDEEEE35FE70B5DB61AB66CDB191FB9B6EC9313757EF162DD7214D5D\","
	                            "\"k256_signature\":\"\",\"key_provider\":{\"Local\":{}}}";
	tee_dstack_app_keys app;
	tee_dstack_key k;
	size_t i;

	(void)state;
	for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		teeliza_err err = tee_dstack_app_keys_from_json(&app, bad[i].json, strlen(bad[i].json));

		if (err != bad[i].err || strncmp(teeliza_errmsg(), bad[i].msg, strlen(bad[i].msg)) != 0)
			fail_msg("case %zu: got %d \"%s\", want %d \"%s…\"", i, err, teeliza_errmsg(), bad[i].err, bad[i].msg);
		assert_int_equal(app.kms_signature_len, 0);
	}
	/* a local key provider: the same key, no KMS signature, GetKey's chain[1] is empty */
	assert_int_equal(tee_dstack_app_keys_from_json(&app, local, strlen(local)), TEELIZA_OK);
	assert_hex_equal(app.app_pub, 33, SIM_APP_PUB);
	assert_int_equal(app.kms_signature_len, 0);
	assert_int_equal(tee_dstack_get_key(&k, &app, TEE_DSTACK_ALG_SECP256K1, "/test/path", 10, "test-purpose", 12),
	                 TEELIZA_OK);
	assert_int_equal(k.kms_signature_len, 0);
	assert_hex_equal(k.key, 32, "b9fbb7171185c421c58610a2acba8ceae93623ae47815618cbad1e98fc042cb7");
	sim_app(&app);
	assert_int_equal(app.kms_signature_len, 65);
	teeliza_wipe(&app, sizeof(app));
	teeliza_wipe(&k, sizeof(k));
}

/* §1.9: pub(K_app) and the KMS root recovered from k256_signature with the simulator's app id. */
static void test_simulator_keys(void **state)
{
	tee_dstack_app_keys app;
	uint8_t app_id[20], digest[32], root[33];

	(void)state;
	sim_app(&app);
	assert_hex_equal(app.app_pub, 33, SIM_APP_PUB);
	hex_to(app_id, 20, SIM_APP_ID);
	tee_dstack_kms_digest(digest, app_id, app.app_pub);
	assert_int_equal(tee_dstack_recover(root, app.kms_signature, digest), TEELIZA_OK);
	assert_hex_equal(root, 33, SIM_ROOT_PUB);
	/* the digest is Keccak-256 of the plain concatenation */
	{
		uint8_t msg[18 + 20 + 33], expect[32];

		memcpy(msg, "dstack-kms-issued:", 18);
		memcpy(msg + 18, app_id, 20);
		memcpy(msg + 38, app.app_pub, 33);
		teeliza_keccak256(expect, msg, sizeof(msg));
		assert_memory_equal(digest, expect, 32);
	}
	teeliza_wipe(&app, sizeof(app));
}

/* §1.9's GetKey table, byte for byte: key, public key, chain[0]; chain[1] is k256_signature. */
static void test_getkey_table(void **state)
{
	static const struct {
		const char *path, *purpose, *alg, *key, *pub, *chain0;
	} rows[] = {
		{"/test/path", "test-purpose", "secp256k1",
		 "b9fbb7171185c421c58610a2acba8ceae93623ae47815618cbad1e98fc042cb7",
		 "02c1082e78670feed1c847db81dbd71be37e4d53200a746c0a89f0afa8173cf566",
		 "f50c51735a97072f0c98125ed61fc84e2fdb36e95990b9e57337dadc0e2a9712227f04e07209faecb8891d59ec144a6c13e411dc90b3423f28071bd3fe11978d01"},
		{"/test/path", "test-purpose", "ed25519",
		 "b9fbb7171185c421c58610a2acba8ceae93623ae47815618cbad1e98fc042cb7",
		 "2149e71e37ed8568f5a240e6966b5d6f6017428069ddf06ed4c04151de4b2304",
		 "effb33c8bb9beab8058a165af210047acb15a67bb6482819b44655f8b22a150a45e50fdce916374f2f4bd380c83eac6ca8b6a765a4fb7c3f03ab9932342ce53200"},
		{"wallet/eth", "signing", "secp256k1",
		 "65cca2e2dcbe516145cc7bcbfea6fab9d7f430d6ea66cd1775f37142c25dfa40",
		 "037743325a2eec97a2b54749972be2eb1107d0a00f5abee4f1d63bbab3a9eebbd5",
		 "43d9cbab7f21d9e8d9ddb2f8ef37828a33e98c8883dc37ef4acaf65c8c94a62152f2990f7a36cfbb59e6cf0153a5fa51118f909204a79cca0453e4716ccdad6c00"},
		{"", "", "secp256k1",
		 "aa221ae548b5a8f52fcb8687cfd873712f6a1232b2717e5ee3d58ab74f21905b",
		 "027458ba47c31272b5076edebdc1ecdaedef806b10d76dd0a209cbd1fa14a3f9cf",
		 "64ce2f1b381d04f7404fda78bdc942c314d89b7069d97eea1897e51b249dd3b1700995cbf7efe7ff04195dd6e31f153b702eeeeaffc5941510739dc39b9bd9cf01"},
	};
	tee_dstack_app_keys app;
	tee_dstack_key k;
	tee_dstack_alg alg;
	uint8_t hkdf[32], digest[32], app_pub[33];
	size_t i;

	(void)state;
	sim_app(&app);
	for (i = 0; i < sizeof(rows) / sizeof(rows[0]); i++) {
		assert_int_equal(tee_dstack_key_alg_parse(&alg, rows[i].alg, strlen(rows[i].alg)), TEELIZA_OK);
		assert_int_equal(tee_dstack_get_key(&k, &app, alg, rows[i].path, strlen(rows[i].path), rows[i].purpose,
		                                    strlen(rows[i].purpose)),
		                 TEELIZA_OK);
		assert_hex_equal(k.key, 32, rows[i].key);
		assert_hex_equal(k.public_key, k.public_key_len, rows[i].pub);
		assert_hex_equal(k.chain[0], 65, rows[i].chain0);
		assert_memory_equal(k.chain[1], app.kms_signature, 65);
		assert_int_equal(k.kms_signature_len, 65);
		/* K_path against OpenSSL's HKDF */
		openssl_hkdf(hkdf, app.app_key, rows[i].path, strlen(rows[i].path));
		assert_memory_equal(k.key, hkdf, 32);
		/* chain[0] recovers the app key */
		tee_dstack_key_digest(digest, rows[i].purpose, strlen(rows[i].purpose), k.public_key, k.public_key_len);
		assert_int_equal(tee_dstack_recover(app_pub, k.chain[0], digest), TEELIZA_OK);
		assert_hex_equal(app_pub, 33, SIM_APP_PUB);
	}
	/* row 1's signed text is "test-purpose:" ‖ the lowercase hex of the compressed key */
	{
		const char *msg = "test-purpose:02c1082e78670feed1c847db81dbd71be37e4d53200a746c0a89f0afa8173cf566";
		uint8_t pub[33], expect[32];

		hex_to(pub, 33, "02c1082e78670feed1c847db81dbd71be37e4d53200a746c0a89f0afa8173cf566");
		teeliza_keccak256(expect, msg, strlen(msg));
		tee_dstack_key_digest(digest, "test-purpose", 12, pub, 33);
		assert_memory_equal(digest, expect, 32);
	}
	teeliza_wipe(&app, sizeof(app));
}

/* The KMS side: K_app = HKDF(root, app_id ‖ "app-key"), chain[1] recovers pub(root). */
static void test_app_keys_derive(void **state)
{
	uint8_t root[32], app_id[20], info[27], expect[32], digest[32], rec[33], root_pub[33];
	size_t root_pub_len = 0;
	tee_dstack_app_keys app, loaded;
	tee_dstack_key a, b;
	size_t i;

	(void)state;
	for (i = 0; i < 32; i++)
		root[i] = (uint8_t)(0x11 + i);
	hex_to(app_id, 20, SIM_APP_ID);
	assert_int_equal(tee_dstack_app_keys_derive(&app, root, app_id), TEELIZA_OK);
	memcpy(info, app_id, 20);
	memcpy(info + 20, "app-key", 7);
	openssl_hkdf(expect, root, info, sizeof(info));
	assert_memory_equal(app.app_key, expect, 32);

	assert_int_equal(tee_dstack_public_key(root_pub, &root_pub_len, TEE_DSTACK_ALG_SECP256K1, root), TEELIZA_OK);
	assert_int_equal(root_pub_len, 33);
	tee_dstack_kms_digest(digest, app_id, app.app_pub);
	assert_int_equal(tee_dstack_recover(rec, app.kms_signature, digest), TEELIZA_OK);
	assert_memory_equal(rec, root_pub, 33);
	assert_true(app.kms_signature[64] <= 1);

	/* loading what the KMS delivered gives the same GetKey answers */
	assert_int_equal(tee_dstack_app_keys_load(&loaded, app.app_key, app.kms_signature, 65), TEELIZA_OK);
	assert_memory_equal(&loaded, &app, sizeof(app));
	assert_int_equal(tee_dstack_get_key(&a, &app, TEE_DSTACK_ALG_SECP256K1, "p", 1, "x", 1), TEELIZA_OK);
	assert_int_equal(tee_dstack_get_key(&b, &loaded, TEE_DSTACK_ALG_SECP256K1, "p", 1, "x", 1), TEELIZA_OK);
	assert_memory_equal(&a, &b, sizeof(a));

	/* invalid scalars: zero and n */
	memset(root, 0, 32);
	assert_int_equal(tee_dstack_app_keys_derive(&app, root, app_id), TEELIZA_ERR_CRYPTO);
	assert_int_equal(tee_dstack_app_keys_load(&loaded, root, a.chain[1], 65), TEELIZA_ERR_CRYPTO);
	assert_string_equal(teeliza_errmsg(), "Failed to parse app k256 key");
	assert_int_equal(tee_dstack_app_keys_load(&loaded, order_n, a.chain[1], 65), TEELIZA_ERR_CRYPTO);
	assert_int_equal(tee_dstack_app_keys_load(&loaded, a.key, a.chain[1], 64), TEELIZA_ERR_INVALID);
	assert_int_equal(tee_dstack_public_key(rec, &root_pub_len, TEE_DSTACK_ALG_SECP256K1, order_n), TEELIZA_ERR_CRYPTO);
	assert_int_equal(root_pub_len, 0);
	teeliza_wipe(&app, sizeof(app));
	teeliza_wipe(&loaded, sizeof(loaded));
}

/* RFC 8032 §7.1 test 1: the ed25519 public key of a seed. */
static void test_ed25519_public(void **state)
{
	uint8_t seed[32], pub[33];
	size_t len = 0;

	(void)state;
	hex_to(seed, 32, "9d61b19deffd5a60ba844af492ec2cc44449c5697b326919703bac031cae7f60");
	assert_int_equal(tee_dstack_public_key(pub, &len, TEE_DSTACK_ALG_ED25519, seed), TEELIZA_OK);
	assert_int_equal(len, 32);
	assert_hex_equal(pub, 32, "d75a980182b10ab7d54bfed3c964073a0ee172f3daa62325af021a68f707511a");
}

/* Every refusal of tee_dstack_recover, each with its own message. */
static void test_recover_refusals(void **state)
{
	tee_dstack_app_keys app;
	tee_dstack_key k;
	uint8_t digest[32], sig[65], pub[33];

	(void)state;
	sim_app(&app);
	assert_int_equal(tee_dstack_get_key(&k, &app, TEE_DSTACK_ALG_SECP256K1, "/test/path", 10, "test-purpose", 12),
	                 TEELIZA_OK);
	tee_dstack_key_digest(digest, "test-purpose", 12, k.public_key, k.public_key_len);

	memcpy(sig, k.chain[0], 65);
	sig[64] = 27;
	assert_int_equal(tee_dstack_recover(pub, sig, digest), TEELIZA_ERR_VERIFY);
	assert_non_null(strstr(teeliza_errmsg(), "Ethereum"));
	sig[64] = 4;
	assert_int_equal(tee_dstack_recover(pub, sig, digest), TEELIZA_ERR_VERIFY);
	assert_non_null(strstr(teeliza_errmsg(), "recovery id is 4"));

	/* high S with the flipped recid recovers the same key elsewhere: refused here */
	memcpy(sig, k.chain[0], 65);
	negate_s(sig + 32);
	sig[64] ^= 1;
	assert_int_equal(tee_dstack_recover(pub, sig, digest), TEELIZA_ERR_VERIFY);
	assert_non_null(strstr(teeliza_errmsg(), "high-S"));

	memcpy(sig, k.chain[0], 65);
	memset(sig, 0, 32);
	assert_int_equal(tee_dstack_recover(pub, sig, digest), TEELIZA_ERR_VERIFY);
	assert_non_null(strstr(teeliza_errmsg(), "zero"));
	memcpy(sig, order_n, 32);
	assert_int_equal(tee_dstack_recover(pub, sig, digest), TEELIZA_ERR_VERIFY);
	assert_non_null(strstr(teeliza_errmsg(), "not below the group order"));

	/* recid 2 needs r + n < p, which a random r is not */
	memcpy(sig, k.chain[0], 65);
	sig[64] = 2;
	assert_int_equal(tee_dstack_recover(pub, sig, digest), TEELIZA_ERR_VERIFY);
	assert_non_null(strstr(teeliza_errmsg(), "no public key recovers"));
	teeliza_wipe(&app, sizeof(app));
	teeliza_wipe(&k, sizeof(k));
}

static void test_sign_verify(void **state)
{
	static const uint8_t msg[] = "test message for the Sign route";
	tee_dstack_app_keys app;
	tee_dstack_key vms;
	tee_dstack_signature s;
	uint8_t digest[32];
	bool valid;

	(void)state;
	sim_app(&app);

	/* ed25519: the key of GetKey("vms", "signing", ed25519), signature checked by OpenSSL */
	assert_int_equal(tee_dstack_get_key(&vms, &app, TEE_DSTACK_ALG_ED25519, "vms", 3, "signing", 7), TEELIZA_OK);
	assert_int_equal(tee_dstack_sign(&s, &app, TEE_DSTACK_ALG_ED25519, msg, sizeof(msg) - 1), TEELIZA_OK);
	assert_int_equal(s.public_key_len, 32);
	assert_memory_equal(s.public_key, vms.public_key, 32);
	assert_memory_equal(s.key_chain, vms.chain, sizeof(s.key_chain));
	assert_int_equal(s.kms_signature_len, 65);
	assert_true(openssl_ed25519_verify(s.public_key, s.signature, msg, sizeof(msg) - 1));
	assert_int_equal(tee_dstack_verify(&valid, TEE_DSTACK_ALG_ED25519, msg, sizeof(msg) - 1, s.signature, 64,
	                                   s.public_key, 32), TEELIZA_OK);
	assert_true(valid);
	assert_int_equal(tee_dstack_verify(&valid, TEE_DSTACK_ALG_ED25519, msg, sizeof(msg) - 2, s.signature, 64,
	                                   s.public_key, 32), TEELIZA_OK);
	assert_false(valid);
	/* empty message */
	assert_int_equal(tee_dstack_sign(&s, &app, TEE_DSTACK_ALG_ED25519, NULL, 0), TEELIZA_OK);
	assert_true(openssl_ed25519_verify(s.public_key, s.signature, (const uint8_t *)"", 0));

	/* secp256k1: ECDSA over SHA-256(data), checked by OpenSSL's secp256k1 */
	assert_int_equal(tee_dstack_get_key(&vms, &app, TEE_DSTACK_ALG_SECP256K1, "vms", 3, "signing", 7), TEELIZA_OK);
	assert_int_equal(tee_dstack_sign(&s, &app, TEE_DSTACK_ALG_SECP256K1, msg, sizeof(msg) - 1), TEELIZA_OK);
	assert_int_equal(s.public_key_len, 33);
	assert_memory_equal(s.public_key, vms.public_key, 33);
	assert_memory_equal(s.key_chain, vms.chain, sizeof(s.key_chain));
	SHA256(msg, sizeof(msg) - 1, digest);
	assert_true(openssl_k256_verify(s.public_key, 33, s.signature, digest));
	assert_true((s.signature[32] & 0x80) == 0); /* low S is below 2^255 */
	assert_int_equal(tee_dstack_verify(&valid, TEE_DSTACK_ALG_SECP256K1, msg, sizeof(msg) - 1, s.signature, 64,
	                                   s.public_key, 33), TEELIZA_OK);
	assert_true(valid);
	assert_int_equal(tee_dstack_verify(&valid, TEE_DSTACK_ALG_SECP256K1, digest, 32, s.signature, 64, s.public_key,
	                                   33), TEELIZA_OK);
	assert_false(valid);

	/* secp256k1_prehashed: the digest signed as is gives the same signature */
	{
		tee_dstack_signature p;

		assert_int_equal(tee_dstack_sign(&p, &app, TEE_DSTACK_ALG_SECP256K1_PREHASHED, digest, 32), TEELIZA_OK);
		assert_memory_equal(p.signature, s.signature, 64);
		assert_true(openssl_k256_verify(p.public_key, 33, p.signature, digest));
		assert_int_equal(tee_dstack_verify(&valid, TEE_DSTACK_ALG_SECP256K1_PREHASHED, digest, 32, p.signature, 64,
		                                   p.public_key, 33), TEELIZA_OK);
		assert_true(valid);
		assert_int_equal(tee_dstack_sign(&p, &app, TEE_DSTACK_ALG_SECP256K1_PREHASHED, digest, 31),
		                 TEELIZA_ERR_INVALID);
		assert_string_equal(teeliza_errmsg(), "Pre-hashed signing requires a 32-byte digest, but received 31 bytes");
	}
	teeliza_wipe(&app, sizeof(app));
	teeliza_wipe(&vms, sizeof(vms));
}

/* Which Verify inputs are an error (the agent's 400) and which only invalid. */
static void test_verify_edges(void **state)
{
	tee_dstack_app_keys app;
	tee_dstack_signature s;
	uint8_t digest[32], sig[64], pub[65], data[40];
	bool valid = true;
	int i;

	(void)state;
	sim_app(&app);

	/* ed25519 */
	assert_int_equal(tee_dstack_sign(&s, &app, TEE_DSTACK_ALG_ED25519, (const uint8_t *)"x", 1), TEELIZA_OK);
	assert_int_equal(tee_dstack_verify(&valid, TEE_DSTACK_ALG_ED25519, (const uint8_t *)"x", 1, s.signature, 64,
	                                   s.public_key, 31), TEELIZA_ERR_INVALID);
	assert_string_equal(teeliza_errmsg(), "invalid public key");
	assert_false(valid);
	assert_int_equal(tee_dstack_verify(&valid, TEE_DSTACK_ALG_ED25519, (const uint8_t *)"x", 1, s.signature, 63,
	                                   s.public_key, 32), TEELIZA_ERR_INVALID);
	/* y = 2 does not decompress, y = 3 does (checked with Python's pow: (y²−1)/(dy²+1) is a square only for 3) */
	memset(pub, 0, 32);
	pub[0] = 2;
	assert_int_equal(tee_dstack_verify(&valid, TEE_DSTACK_ALG_ED25519, (const uint8_t *)"x", 1, s.signature, 64,
	                                   pub, 32), TEELIZA_ERR_INVALID);
	assert_non_null(strstr(teeliza_errmsg(), "decompress"));
	pub[0] = 3;
	assert_int_equal(tee_dstack_verify(&valid, TEE_DSTACK_ALG_ED25519, (const uint8_t *)"x", 1, s.signature, 64,
	                                   pub, 32), TEELIZA_OK);
	assert_false(valid);
	/* y = p + 2 (non-canonical, reduces to 2): invalid; y = 2^255 − 1 reduces to 18 and decompresses */
	memset(pub, 0xff, 32);
	pub[31] = 0x7f;
	pub[0] = 0xef;
	assert_int_equal(tee_dstack_verify(&valid, TEE_DSTACK_ALG_ED25519, (const uint8_t *)"x", 1, s.signature, 64,
	                                   pub, 32), TEELIZA_ERR_INVALID);
	pub[0] = 0xff;
	assert_int_equal(tee_dstack_verify(&valid, TEE_DSTACK_ALG_ED25519, (const uint8_t *)"x", 1, s.signature, 64,
	                                   pub, 32), TEELIZA_OK);
	/* a flipped signature bit is merely invalid */
	memcpy(sig, s.signature, 64);
	sig[5] ^= 1;
	assert_int_equal(tee_dstack_verify(&valid, TEE_DSTACK_ALG_ED25519, (const uint8_t *)"x", 1, sig, 64,
	                                   s.public_key, 32), TEELIZA_OK);
	assert_false(valid);

	/* secp256k1 */
	assert_int_equal(tee_dstack_sign(&s, &app, TEE_DSTACK_ALG_SECP256K1, (const uint8_t *)"x", 1), TEELIZA_OK);
	/* the uncompressed form of the same key verifies too */
	{
		EVP_PKEY *k = NULL;
		size_t n = 0;
		OSSL_PARAM_BLD *bld = OSSL_PARAM_BLD_new();
		OSSL_PARAM *params;
		EVP_PKEY_CTX *fctx = EVP_PKEY_CTX_new_from_name(NULL, "EC", NULL);

		assert_int_equal(OSSL_PARAM_BLD_push_utf8_string(bld, OSSL_PKEY_PARAM_GROUP_NAME, "secp256k1", 0), 1);
		assert_int_equal(OSSL_PARAM_BLD_push_octet_string(bld, OSSL_PKEY_PARAM_PUB_KEY, s.public_key, 33), 1);
		params = OSSL_PARAM_BLD_to_param(bld);
		assert_int_equal(EVP_PKEY_fromdata_init(fctx), 1);
		assert_int_equal(EVP_PKEY_fromdata(fctx, &k, EVP_PKEY_PUBLIC_KEY, params), 1);
		assert_int_equal(EVP_PKEY_set_utf8_string_param(k, OSSL_PKEY_PARAM_EC_POINT_CONVERSION_FORMAT,
		                                                 "uncompressed"), 1);
		assert_int_equal(EVP_PKEY_get_octet_string_param(k, OSSL_PKEY_PARAM_ENCODED_PUBLIC_KEY, pub, 65, &n), 1);
		assert_int_equal(n, 65);
		EVP_PKEY_free(k);
		EVP_PKEY_CTX_free(fctx);
		OSSL_PARAM_free(params);
		OSSL_PARAM_BLD_free(bld);
	}
	assert_int_equal(tee_dstack_verify(&valid, TEE_DSTACK_ALG_SECP256K1, (const uint8_t *)"x", 1, s.signature, 64,
	                                   pub, 65), TEELIZA_OK);
	assert_true(valid);
	pub[0] = 6 | (pub[64] & 1); /* the hybrid form: libsecp256k1 reads it, k256 does not */
	assert_int_equal(tee_dstack_verify(&valid, TEE_DSTACK_ALG_SECP256K1, (const uint8_t *)"x", 1, s.signature, 64,
	                                   pub, 65), TEELIZA_ERR_INVALID);
	assert_int_equal(tee_dstack_verify(&valid, TEE_DSTACK_ALG_SECP256K1, (const uint8_t *)"x", 1, s.signature, 64,
	                                   s.public_key, 32), TEELIZA_ERR_INVALID);
	assert_int_equal(tee_dstack_verify(&valid, TEE_DSTACK_ALG_SECP256K1, (const uint8_t *)"x", 1, s.signature, 65,
	                                   s.public_key, 33), TEELIZA_ERR_INVALID);
	memcpy(sig, s.signature, 64);
	memset(sig + 32, 0, 32);
	assert_int_equal(tee_dstack_verify(&valid, TEE_DSTACK_ALG_SECP256K1, (const uint8_t *)"x", 1, sig, 64,
	                                   s.public_key, 33), TEELIZA_ERR_INVALID);
	memcpy(sig, order_n, 32);
	assert_int_equal(tee_dstack_verify(&valid, TEE_DSTACK_ALG_SECP256K1, (const uint8_t *)"x", 1, sig, 64,
	                                   s.public_key, 33), TEELIZA_ERR_INVALID);
	/* high S: OpenSSL accepts it, k256 (and so the agent) says valid: false */
	memcpy(sig, s.signature, 64);
	negate_s(sig + 32);
	SHA256((const uint8_t *)"x", 1, digest);
	assert_true(openssl_k256_verify(s.public_key, 33, sig, digest));
	valid = true;
	assert_int_equal(tee_dstack_verify(&valid, TEE_DSTACK_ALG_SECP256K1, (const uint8_t *)"x", 1, sig, 64,
	                                   s.public_key, 33), TEELIZA_OK);
	assert_false(valid);

	/* secp256k1_prehashed lengths, k256's bits2field: sign a digest whose first 16 bytes are zero */
	memset(digest, 0, 16);
	for (i = 16; i < 32; i++)
		digest[i] = (uint8_t)i;
	assert_int_equal(tee_dstack_sign(&s, &app, TEE_DSTACK_ALG_SECP256K1_PREHASHED, digest, 32), TEELIZA_OK);
	assert_int_equal(tee_dstack_verify(&valid, TEE_DSTACK_ALG_SECP256K1_PREHASHED, digest + 16, 16, s.signature,
	                                   64, s.public_key, 33), TEELIZA_OK);
	assert_true(valid); /* left-padded */
	assert_int_equal(tee_dstack_verify(&valid, TEE_DSTACK_ALG_SECP256K1_PREHASHED, digest + 17, 15, s.signature,
	                                   64, s.public_key, 33), TEELIZA_OK);
	assert_false(valid); /* under half the field size */
	memcpy(data, digest, 32);
	memset(data + 32, 0xaa, 8);
	assert_int_equal(tee_dstack_verify(&valid, TEE_DSTACK_ALG_SECP256K1_PREHASHED, data, 40, s.signature, 64,
	                                   s.public_key, 33), TEELIZA_OK);
	assert_true(valid); /* truncated to the first 32 */
	assert_int_equal(tee_dstack_verify(&valid, TEE_DSTACK_ALG_SECP256K1_PREHASHED, NULL, 0, s.signature, 64,
	                                   s.public_key, 31), TEELIZA_ERR_INVALID); /* the key is decoded first */
	teeliza_wipe(&app, sizeof(app));
}

/* One shared context: GetKey from several threads gives the same bytes. */
struct thread_arg {
	const tee_dstack_app_keys *app;
	int failures;
};

static void *getkey_thread(void *p)
{
	struct thread_arg *arg = p;
	tee_dstack_key k;
	int i;

	for (i = 0; i < 50; i++) {
		if (tee_dstack_get_key(&k, arg->app, TEE_DSTACK_ALG_SECP256K1, "/test/path", 10, "test-purpose", 12) !=
		    TEELIZA_OK)
			arg->failures++;
		else if (k.chain[0][0] != 0xf5 || k.chain[0][64] != 0x01)
			arg->failures++;
	}
	return NULL;
}

static void test_threads(void **state)
{
	tee_dstack_app_keys app;
	pthread_t t[4];
	struct thread_arg args[4];
	int i;

	(void)state;
	sim_app(&app);
	for (i = 0; i < 4; i++) {
		args[i].app = &app;
		args[i].failures = 0;
		assert_int_equal(pthread_create(&t[i], NULL, getkey_thread, &args[i]), 0);
	}
	for (i = 0; i < 4; i++) {
		assert_int_equal(pthread_join(t[i], NULL), 0);
		assert_int_equal(args[i].failures, 0);
	}
	teeliza_wipe(&app, sizeof(app));
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_alg_parse),
		cmocka_unit_test(test_appkeys_json),
		cmocka_unit_test(test_simulator_keys),
		cmocka_unit_test(test_getkey_table),
		cmocka_unit_test(test_app_keys_derive),
		cmocka_unit_test(test_ed25519_public),
		cmocka_unit_test(test_recover_refusals),
		cmocka_unit_test(test_sign_verify),
		cmocka_unit_test(test_verify_edges),
		cmocka_unit_test(test_threads),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
