/* Wallet derivation, key schemes, PEM handling and the simulator's HKDF, against plugin-tee.json. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <cmocka.h>

#include "testutil.h"
#include "teeliza/common/common.h"
#include "teeliza/tee/derive.h"
#include "teeliza/common/encoding.h"
#include "teeliza/tee/reportdata.h"

#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/bio.h>
#include <openssl/evp.h>
#include <openssl/hmac.h>
#include <openssl/pem.h>

static const char *jstr(json_t *obj, const char *key)
{
	const char *s = json_string_value(json_object_get(obj, key));

	if (s == NULL)
		fail_msg("vector field %s missing", key);
	return s;
}

static char *load_text(const char *vector, size_t *len)
{
	return (char *)vector_read(vector, len);
}

/* PEM → DER → both wallets, every field of one vector entry. */
static void check_wallet_vector(json_t *v)
{
	const char *pem = jstr(v, "pem");
	teeliza_buf der;
	tee_solana_keypair sol;
	tee_evm_keypair evm;

	assert_int_equal(tee_pem_to_der(&der, pem, strlen(pem)), TEELIZA_OK);
	assert_true(der.secret);
	assert_int_equal(der.len, json_integer_value(json_object_get(v, "der_len")));
	assert_hex_equal(der.data, der.len, jstr(v, "der_hex"));

	assert_int_equal(tee_derive_solana(&sol, der.data, der.len), TEELIZA_OK);
	assert_hex_equal(sol.secret_key, 32, jstr(v, "sha256_seed_hex"));
	assert_hex_equal(sol.secret_key, 64, jstr(v, "solana_secretkey_hex"));
	assert_memory_equal(sol.public_key, sol.secret_key + 32, 32);
	assert_string_equal(sol.address, jstr(v, "solana_pubkey_base58"));

	assert_int_equal(tee_derive_evm(&evm, der.data, der.len), TEELIZA_OK);
	assert_hex_equal(evm.private_key, 32, jstr(v, "keccak256_privkey_hex"));
	assert_hex_equal(evm.public_key, 65, jstr(v, "evm_pubkey"));
	assert_string_equal(evm.address, jstr(v, "evm_address"));
	teeliza_buf_free(&der);
}

static void test_fixed_openssl_vector(void **state)
{
	json_t *j = vector_json("plugin-tee.json");

	(void)state;
	check_wallet_vector(json_object_get(j, "derive_fixed_openssl"));
	json_decref(j);
}

static void test_hkdf_sim_wallets(void **state)
{
	json_t *j = vector_json("plugin-tee.json");
	json_t *arr = json_object_get(j, "derive_hkdf_sim");
	size_t i;

	(void)state;
	assert_true(json_array_size(arr) >= 2);
	for (i = 0; i < json_array_size(arr); i++)
		check_wallet_vector(json_array_get(arr, i));
	json_decref(j);
}

/* The simulator CA key: scalar from the PEM, then both HKDF paths to the exact PEM bytes. */
static void test_hkdf_sim_from_key_file(void **state)
{
	json_t *j = vector_json("plugin-tee.json");
	json_t *arr = json_object_get(j, "derive_hkdf_sim");
	size_t key_len, i;
	char *key = load_text("tappd-simulator-app.key", &key_len);
	uint8_t ca[32], d[32];
	char ca_hex[65];
	teeliza_buf der, pem;

	(void)state;
	assert_int_equal(tee_p256_scalar_from_pem(ca, key, key_len), TEELIZA_OK);
	/* Cross-check with our own PEM→DER: the scalar sits at offset 36 of a P-256 PKCS#8 key. */
	assert_int_equal(tee_pem_to_der(&der, key, key_len), TEELIZA_OK);
	assert_int_equal(der.len, 138);
	assert_memory_equal(der.data + 36, ca, 32);
	teeliza_buf_free(&der);
	/* The spec quotes the scalar as 13e16d1d…e0cc. */
	teeliza_hex_encode(ca_hex, ca, 32);
	assert_memory_equal(ca_hex, "13e16d1d", 8);
	assert_string_equal(ca_hex + 60, "e0cc");

	for (i = 0; i < json_array_size(arr); i++) {
		json_t *v = json_array_get(arr, i);
		const char *path = jstr(v, "path");

		assert_int_equal(tee_hkdf_p256_scalar(d, ca, path, strlen(path)), TEELIZA_OK);
		assert_hex_equal(d, 32, jstr(v, "derived_scalar_hex"));
		assert_int_equal(tee_hkdf_p256_pem(&pem, ca, path, strlen(path)), TEELIZA_OK);
		assert_true(pem.secret);
		assert_string_equal((const char *)pem.data, jstr(v, "pem"));
		assert_int_equal(pem.len, strlen(jstr(v, "pem")));
		teeliza_buf_free(&pem);
	}
	free(key);
	json_decref(j);
}

/* RFC 5869 with one expand block, computed here with plain HMAC. */
static void reference_hkdf(uint8_t out[32], const uint8_t ikm[32], const char *info, size_t info_len)
{
	uint8_t prk[32];
	unsigned int n = 32;
	unsigned char *msg = malloc(info_len + 1);

	assert_non_null(msg);
	assert_non_null(HMAC(EVP_sha256(), "RATLS", 5, ikm, 32, prk, &n));
	memcpy(msg, info, info_len);
	msg[info_len] = 1;
	assert_non_null(HMAC(EVP_sha256(), prk, 32, msg, info_len + 1, out, &n));
	free(msg);
}

static void test_hkdf_long_and_empty_paths(void **state)
{
	size_t key_len;
	char *key = load_text("tappd-simulator-app.key", &key_len);
	uint8_t ca[32], d[32], want[32];
	char *long_path = malloc(5001);
	teeliza_buf pem, der;
	BIO *bio;
	EVP_PKEY *pkey;
	BIGNUM *bn = NULL;
	uint8_t parsed[32];

	(void)state;
	assert_non_null(long_path);
	memset(long_path, 'p', 5000);
	long_path[5000] = 0;
	assert_int_equal(tee_p256_scalar_from_pem(ca, key, key_len), TEELIZA_OK);

	assert_int_equal(tee_hkdf_p256_scalar(d, ca, long_path, 5000), TEELIZA_OK);
	reference_hkdf(want, ca, long_path, 5000);
	assert_memory_equal(d, want, 32);
	assert_int_equal(tee_hkdf_p256_scalar(d, ca, NULL, 0), TEELIZA_OK);
	reference_hkdf(want, ca, "", 0);
	assert_memory_equal(d, want, 32);

	/* OpenSSL reads our PEM back as the same P-256 key. */
	assert_int_equal(tee_hkdf_p256_pem(&pem, ca, "/", 1), TEELIZA_OK);
	bio = BIO_new_mem_buf(pem.data, (int)pem.len);
	pkey = PEM_read_bio_PrivateKey(bio, NULL, NULL, NULL);
	assert_non_null(pkey);
	assert_true(EVP_PKEY_is_a(pkey, "EC"));
	assert_int_equal(EVP_PKEY_get_bn_param(pkey, "priv", &bn), 1);
	assert_int_equal(BN_bn2binpad(bn, parsed, 32), 32);
	assert_int_equal(tee_hkdf_p256_scalar(d, ca, "/", 1), TEELIZA_OK);
	assert_memory_equal(parsed, d, 32);
	assert_int_equal(tee_pem_to_der(&der, (const char *)pem.data, pem.len), TEELIZA_OK);
	assert_int_equal(der.len, 138);
	teeliza_buf_free(&der);
	BN_clear_free(bn);
	EVP_PKEY_free(pkey);
	BIO_free(bio);
	teeliza_buf_free(&pem);
	free(long_path);
	free(key);
}

static void test_as_uint8array(void **state)
{
	json_t *j = vector_json("plugin-tee.json");
	json_t *rt = json_object_get(j, "sdk_deriveKey_roundtrip");
	const char *pem = jstr(json_object_get(j, "derive_fixed_openssl"), "pem");
	teeliza_buf der;
	uint8_t out[200];
	size_t i;

	(void)state;
	assert_int_equal(tee_pem_to_der(&der, pem, strlen(pem)), TEELIZA_OK);
	assert_int_equal(der.len, json_integer_value(json_object_get(rt, "asUint8Array_len")));
	tee_as_uint8array(out, 32, der.data, der.len);
	assert_hex_equal(out, 32, jstr(rt, "asUint8Array32_hex"));
	memset(out, 0xaa, sizeof(out));
	tee_as_uint8array(out, sizeof(out), der.data, der.len);
	assert_memory_equal(out, der.data, der.len);
	assert_true(json_is_true(json_object_get(rt, "asUint8Array200_tail_zero")));
	for (i = der.len; i < sizeof(out); i++)
		assert_int_equal(out[i], 0);
	tee_as_uint8array(out, der.len, der.data, der.len);
	assert_memory_equal(out, der.data, der.len);
	teeliza_buf_free(&der);
	json_decref(j);
}

/* Line-ending and marker variants the SDK accepts give the same DER. */
static void test_pem_lenient_forms(void **state)
{
	json_t *j = vector_json("plugin-tee.json");
	json_t *v = json_object_get(j, "derive_fixed_openssl");
	const char *pem = jstr(v, "pem");
	teeliza_buf crlf, body, der;
	size_t i;

	(void)state;
	teeliza_buf_init(&crlf, 1 << 16);
	teeliza_buf_init(&body, 1 << 16);
	for (i = 0; pem[i]; i++) {
		if (pem[i] == '\n')
			assert_int_equal(teeliza_buf_append(&crlf, "\r", 1), TEELIZA_OK);
		assert_int_equal(teeliza_buf_append(&crlf, pem + i, 1), TEELIZA_OK);
	}
	assert_int_equal(tee_pem_to_der(&der, (const char *)crlf.data, crlf.len), TEELIZA_OK);
	assert_hex_equal(der.data, der.len, jstr(v, "der_hex"));
	teeliza_buf_free(&der);

	/* Without the armour lines the SDK still decodes the base64 body. */
	const char *start = strchr(pem, '\n') + 1;
	const char *end = strstr(pem, "-----END");
	assert_int_equal(teeliza_buf_append(&body, start, (size_t)(end - start)), TEELIZA_OK);
	assert_int_equal(tee_pem_to_der(&der, (const char *)body.data, body.len), TEELIZA_OK);
	assert_hex_equal(der.data, der.len, jstr(v, "der_hex"));
	teeliza_buf_free(&der);
	/* Not NUL-terminated: only pem_len bytes count. */
	assert_int_equal(tee_pem_to_der(&der, pem, strlen(pem) - 1), TEELIZA_OK);
	assert_int_equal(der.len, 138);
	teeliza_buf_free(&der);
	teeliza_buf_free(&crlf);
	teeliza_buf_free(&body);
	json_decref(j);
}

static void expect_pem_error(const char *pem, size_t len, const char *needle)
{
	teeliza_buf der;

	assert_int_equal(tee_pem_to_der(&der, pem, len), TEELIZA_ERR_PARSE);
	assert_null(der.data);
	assert_int_equal(der.len, 0);
	if (strstr(teeliza_errmsg(), needle) == NULL)
		fail_msg("error \"%s\" lacks \"%s\"", teeliza_errmsg(), needle);
	assert_memory_equal(teeliza_errmsg(), "invalid PEM: ", 13);
}

static char *replace_once(const char *s, const char *from, const char *to)
{
	const char *hit = strstr(s, from);
	size_t n = strlen(s) - strlen(from) + strlen(to) + 1;
	char *r = malloc(n);

	assert_non_null(hit);
	assert_non_null(r);
	snprintf(r, n, "%.*s%s%s", (int)(hit - s), s, to, hit + strlen(from));
	return r;
}

static void test_pem_invalid(void **state)
{
	json_t *j = vector_json("plugin-tee.json");
	const char *pem = jstr(json_object_get(j, "derive_fixed_openssl"), "pem");
	char *bad, *tmp;
	const char *last_line, *armour;

	(void)state;
	/* bad base64 */
	bad = replace_once(pem, "MIGHAgEA", "MIGH!gEA");
	expect_pem_error(bad, strlen(bad), "base64");
	free(bad);
	/* misplaced padding */
	bad = replace_once(pem, "MIGHAgEA", "MI==AgEA");
	expect_pem_error(bad, strlen(bad), "base64");
	free(bad);
	/* wrong label: the same body as SEC1-labelled text */
	tmp = replace_once(pem, "BEGIN PRIVATE KEY", "BEGIN EC PRIVATE KEY");
	bad = replace_once(tmp, "END PRIVATE KEY", "END EC PRIVATE KEY");
	expect_pem_error(bad, strlen(bad), "found \"EC PRIVATE KEY\"");
	free(tmp);
	free(bad);
	/* a stray END line with another label */
	bad = replace_once(pem, "-----END PRIVATE KEY-----", "-----END PUBLIC KEY-----");
	expect_pem_error(bad, strlen(bad), "-----");
	free(bad);
	/* truncated DER: the last base64 line dropped */
	last_line = strstr(pem, "OjBXz0o7");
	assert_non_null(last_line);
	bad = replace_once(pem, "OjBXz0o7bgf3ymDLTCM5RKJEkVCwg9CW3Y0mPXVtJ4DpDNHSkv79CVe6\n", "");
	expect_pem_error(bad, strlen(bad), "truncated");
	free(bad);
	/* trailing data after the SEQUENCE: 3 more bytes of base64 */
	bad = replace_once(pem, "CVe6\n", "CVe6AAAA\n");
	expect_pem_error(bad, strlen(bad), "trailing");
	free(bad);
	/* not a SEQUENCE */
	bad = replace_once(pem, "MIGHAgEA", "AIGHAgEA");
	expect_pem_error(bad, strlen(bad), "SEQUENCE");
	free(bad);
	/* empty and armour-only */
	expect_pem_error("", 0, "no key data");
	expect_pem_error(NULL, 0, "no key data");
	armour = "-----BEGIN PRIVATE KEY-----\n-----END PRIVATE KEY-----\n";
	expect_pem_error(armour, strlen(armour), "no key data");
	/* a single base64 character decodes to nothing valid */
	expect_pem_error("M", 1, "base64");
	json_decref(j);
}

static void test_pem_too_large(void **state)
{
	size_t n = 70000;
	char *big = malloc(n);
	teeliza_buf der;

	(void)state;
	assert_non_null(big);
	memset(big, 'A', n);
	assert_int_equal(tee_pem_to_der(&der, big, n), TEELIZA_ERR_TOO_LARGE);
	free(big);
}

/* Every prefix of a valid PEM either fails with a parse error or (once the body is complete) gives the whole key. */
static void test_truncations(void **state)
{
	json_t *j = vector_json("plugin-tee.json");
	const char *pem = jstr(json_object_get(j, "derive_fixed_openssl"), "pem");
	size_t key_len, n, ok_count = 0;
	char *key = load_text("tappd-simulator-app.key", &key_len);
	uint8_t full[32], scalar[32];
	teeliza_buf der, want;
	teeliza_err err;

	(void)state;
	assert_int_equal(tee_pem_to_der(&want, pem, strlen(pem)), TEELIZA_OK);
	for (n = 0; n < strlen(pem); n++) {
		err = tee_pem_to_der(&der, pem, n);
		if (err == TEELIZA_OK) {
			assert_int_equal(der.len, want.len);
			assert_memory_equal(der.data, want.data, want.len);
			ok_count++;
		} else {
			assert_int_equal(err, TEELIZA_ERR_PARSE);
		}
		teeliza_buf_free(&der);
	}
	/* only prefixes that end inside or after the END line can decode */
	assert_true(ok_count > 0 && ok_count <= strlen("-----END PRIVATE KEY-----\n"));
	teeliza_buf_free(&want);

	ok_count = 0;
	assert_int_equal(tee_p256_scalar_from_pem(full, key, key_len), TEELIZA_OK);
	for (n = 0; n < key_len; n++) {
		err = tee_p256_scalar_from_pem(scalar, key, n);
		if (err == TEELIZA_OK) {
			assert_memory_equal(scalar, full, 32);
			ok_count++;
		} else {
			assert_int_equal(err, TEELIZA_ERR_PARSE);
		}
	}
	assert_true(ok_count <= 1);
	free(key);
	json_decref(j);
}

/* Key PEM of pkey in the given form, as a NUL-terminated malloc'd string. */
static char *pem_of(EVP_PKEY *pkey, int traditional, const char *password)
{
	BIO *bio = BIO_new(BIO_s_mem());
	char *data, *r;
	long n;
	int ok;

	assert_non_null(bio);
	if (password != NULL)
		ok = PEM_write_bio_PKCS8PrivateKey(bio, pkey, EVP_aes_128_cbc(), password, (int)strlen(password),
		                                   NULL, NULL);
	else if (traditional)
		ok = PEM_write_bio_PrivateKey_traditional(bio, pkey, NULL, NULL, 0, NULL, NULL);
	else
		ok = PEM_write_bio_PrivateKey(bio, pkey, NULL, NULL, 0, NULL, NULL);
	assert_int_equal(ok, 1);
	n = BIO_get_mem_data(bio, &data);
	r = malloc((size_t)n + 1);
	assert_non_null(r);
	memcpy(r, data, (size_t)n);
	r[n] = 0;
	BIO_free(bio);
	return r;
}

static void expect_key_error(const char *pem, const char *needle)
{
	uint8_t scalar[32];
	static const uint8_t zero[32];

	memset(scalar, 0x55, sizeof(scalar));
	assert_int_equal(tee_p256_scalar_from_pem(scalar, pem, strlen(pem)), TEELIZA_ERR_PARSE);
	assert_memory_equal(scalar, zero, 32);
	if (strstr(teeliza_errmsg(), needle) == NULL)
		fail_msg("error \"%s\" lacks \"%s\"", teeliza_errmsg(), needle);
	assert_memory_equal(teeliza_errmsg(), "invalid PEM: ", 13);
}

static void test_ca_key_formats(void **state)
{
	size_t key_len;
	char *key = load_text("tappd-simulator-app.key", &key_len);
	BIO *bio = BIO_new_mem_buf(key, (int)key_len);
	EVP_PKEY *pkey = PEM_read_bio_PrivateKey(bio, NULL, NULL, NULL);
	uint8_t want[32], got[32];
	char *sec1, *with_params, *tmp;
	EVP_PKEY *ed, *k1;

	(void)state;
	assert_non_null(pkey);
	assert_int_equal(tee_p256_scalar_from_pem(want, key, key_len), TEELIZA_OK);

	/* SEC1 "EC PRIVATE KEY", and with the EC PARAMETERS block `openssl ecparam -genkey` puts first */
	sec1 = pem_of(pkey, 1, NULL);
	assert_non_null(strstr(sec1, "-----BEGIN EC PRIVATE KEY-----"));
	assert_int_equal(tee_p256_scalar_from_pem(got, sec1, strlen(sec1)), TEELIZA_OK);
	assert_memory_equal(got, want, 32);
	tmp = replace_once(sec1, "-----BEGIN EC PRIVATE KEY",
	                   "-----BEGIN EC PARAMETERS-----\nBggqhkjOPQMBBw==\n-----END EC PARAMETERS-----\n"
	                   "-----BEGIN EC PRIVATE KEY");
	with_params = tmp;
	assert_int_equal(tee_p256_scalar_from_pem(got, with_params, strlen(with_params)), TEELIZA_OK);
	assert_memory_equal(got, want, 32);
	free(with_params);

	/* SEC1 body under the PKCS#8 label, and the other way round */
	tmp = replace_once(sec1, "BEGIN EC PRIVATE KEY", "BEGIN PRIVATE KEY");
	with_params = replace_once(tmp, "END EC PRIVATE KEY", "END PRIVATE KEY");
	expect_key_error(with_params, "not a valid DER key");
	free(tmp);
	free(with_params);
	tmp = replace_once(key, "BEGIN PRIVATE KEY", "BEGIN EC PRIVATE KEY");
	with_params = replace_once(tmp, "END PRIVATE KEY", "END EC PRIVATE KEY");
	expect_key_error(with_params, "not a valid DER key");
	free(tmp);
	free(with_params);
	free(sec1);

	/* encrypted PKCS#8 */
	tmp = pem_of(pkey, 0, "secret");
	assert_non_null(strstr(tmp, "ENCRYPTED PRIVATE KEY"));
	expect_key_error(tmp, "encrypted keys are not supported");
	free(tmp);

	/* other key types and curves */
	ed = EVP_PKEY_Q_keygen(NULL, NULL, "ED25519");
	assert_non_null(ed);
	tmp = pem_of(ed, 0, NULL);
	expect_key_error(tmp, "not a P-256 EC key");
	free(tmp);
	EVP_PKEY_free(ed);
	k1 = EVP_PKEY_Q_keygen(NULL, NULL, "EC", "secp256k1");
	assert_non_null(k1);
	tmp = pem_of(k1, 0, NULL);
	expect_key_error(tmp, "secp256k1");
	free(tmp);
	EVP_PKEY_free(k1);

	/* wrong label, truncated DER, bad base64, no block, empty */
	tmp = replace_once(key, "BEGIN PRIVATE KEY", "BEGIN CERTIFICATE");
	with_params = replace_once(tmp, "END PRIVATE KEY", "END CERTIFICATE");
	expect_key_error(with_params, "found \"CERTIFICATE\"");
	free(tmp);
	free(with_params);
	tmp = replace_once(key, "rRK5s0KMndDwivLRUT8EIELKmYnEj+q5jZQEGAt+5B/xSh4eNECuQZnH\n", "");
	expect_key_error(tmp, "not a valid DER key");
	free(tmp);
	tmp = replace_once(key, "MIGHAgEA", "MIG!AgEA");
	expect_key_error(tmp, "invalid PEM");
	free(tmp);
	expect_key_error("just some text\n", "no private key block");
	assert_int_equal(tee_p256_scalar_from_pem(got, "", 0), TEELIZA_ERR_PARSE);
	assert_string_equal(teeliza_errmsg(), "invalid PEM: empty key file");

	EVP_PKEY_free(pkey);
	BIO_free(bio);
	free(key);
}

static void test_scheme_names(void **state)
{
	tee_key_scheme s;
	tee_chain c;

	(void)state;
	assert_int_equal(tee_key_scheme_parse(&s, "teeliza"), TEELIZA_OK);
	assert_int_equal(s, TEE_SCHEME_TEELIZA);
	assert_int_equal(tee_key_scheme_parse(&s, "eliza-v0.1.7"), TEELIZA_OK);
	assert_int_equal(s, TEE_SCHEME_ELIZA_V017);
	assert_string_equal(tee_key_scheme_name(s), "eliza-v0.1.7");
	assert_int_equal(tee_key_scheme_parse(&s, "eliza-v0.1.9"), TEELIZA_OK);
	assert_int_equal(s, TEE_SCHEME_ELIZA_V019);
	assert_string_equal(tee_key_scheme_name(TEE_SCHEME_TEELIZA), "teeliza");
	assert_int_equal(tee_key_scheme_parse(&s, "eliza"), TEELIZA_ERR_INVALID);
	assert_non_null(strstr(teeliza_errmsg(), "eliza-v0.1.9"));
	assert_int_equal(tee_key_scheme_parse(&s, NULL), TEELIZA_ERR_INVALID);

	assert_int_equal(tee_chain_parse(&c, "evm"), TEELIZA_OK);
	assert_int_equal(c, TEE_CHAIN_EVM);
	assert_int_equal(tee_chain_parse(&c, "raw"), TEELIZA_OK);
	assert_int_equal(c, TEE_CHAIN_RAW);
	assert_int_equal(tee_chain_parse(&c, "solana"), TEELIZA_OK);
	assert_int_equal(c, TEE_CHAIN_SOLANA);
	assert_string_equal(tee_chain_name(TEE_CHAIN_EVM), "evm");
	assert_int_equal(tee_chain_parse(&c, "Solana"), TEELIZA_ERR_INVALID);
	assert_int_equal(tee_chain_parse(&c, NULL), TEELIZA_ERR_INVALID);
}

static void request(teeliza_buf *path, teeliza_buf *subject, tee_key_scheme s, const char *salt, const char *agent,
                    tee_chain c)
{
	assert_int_equal(tee_scheme_request(path, subject, s, salt, agent, c), TEELIZA_OK);
	assert_true(path->secret);
	assert_true(subject->secret);
}

static void test_eliza_schemes(void **state)
{
	static const tee_chain chains[] = { TEE_CHAIN_SOLANA, TEE_CHAIN_EVM, TEE_CHAIN_RAW };
	const char *salt = "my-wallet-salt";
	teeliza_buf path, subject;
	size_t i;

	(void)state;
	for (i = 0; i < 3; i++) {
		/* 0.1.7: deriveEd25519Keypair("/", WALLET_SECRET_SALT, agentId) */
		request(&path, &subject, TEE_SCHEME_ELIZA_V017, salt, "agent-a", chains[i]);
		assert_string_equal((char *)path.data, "/");
		assert_string_equal((char *)subject.data, salt);
		teeliza_buf_free(&path);
		teeliza_buf_free(&subject);
		/* 0.1.9: deriveEd25519Keypair(WALLET_SECRET_SALT, "solana", agentId) */
		request(&path, &subject, TEE_SCHEME_ELIZA_V019, salt, "agent-b", chains[i]);
		assert_string_equal((char *)path.data, salt);
		assert_string_equal((char *)subject.data, tee_chain_name(chains[i]));
		teeliza_buf_free(&path);
		teeliza_buf_free(&subject);
	}
}

/* The teeliza path computed here from the documented formula. */
static void reference_teeliza_path(char *out, size_t out_cap, const char *salt, const char *agent, const char *chain)
{
	unsigned char msg[512], mac[32];
	unsigned int mac_len = 32;
	size_t n = 0;
	char hex[65];

	memcpy(msg + n, "teeliza wallet v1", 18); /* with its NUL */
	n += 18;
	memcpy(msg + n, agent, strlen(agent) + 1);
	n += strlen(agent) + 1;
	memcpy(msg + n, chain, strlen(chain));
	n += strlen(chain);
	assert_non_null(HMAC(EVP_sha256(), salt, (int)strlen(salt), msg, n, mac, &mac_len));
	teeliza_hex_encode(hex, mac, 32);
	snprintf(out, out_cap, "teeliza/v1/%s/%s", chain, hex);
}

static void test_teeliza_scheme(void **state)
{
	static const tee_chain chains[] = { TEE_CHAIN_SOLANA, TEE_CHAIN_EVM, TEE_CHAIN_RAW };
	const char *agent = "b850bc30-45f8-0041-a00a-83df46d8555d";
	const char *salt = "my-wallet-salt";
	char want[256], seen[3][256];
	const char *other;
	teeliza_buf path, subject;
	size_t i;

	(void)state;
	for (i = 0; i < 3; i++) {
		const char *chain = tee_chain_name(chains[i]);

		request(&path, &subject, TEE_SCHEME_TEELIZA, salt, agent, chains[i]);
		reference_teeliza_path(want, sizeof(want), salt, agent, chain);
		assert_string_equal((char *)path.data, want);
		assert_string_equal((char *)subject.data, chain);
		assert_int_equal(path.len, strlen("teeliza/v1/") + strlen(chain) + 1 + 64);
		assert_null(strstr((char *)path.data, salt));
		assert_null(strstr((char *)subject.data, salt));
		snprintf(seen[i], sizeof(seen[i]), "%s", (char *)path.data);
		teeliza_buf_free(&path);
		teeliza_buf_free(&subject);
	}
	/* the chain changes the path beyond its prefix */
	assert_string_not_equal(seen[0] + strlen("teeliza/v1/solana/"), seen[1] + strlen("teeliza/v1/evm/"));
	assert_string_not_equal(seen[1] + strlen("teeliza/v1/evm/"), seen[2] + strlen("teeliza/v1/raw/"));

	/* salt and agent id each change it; the same inputs give the same path */
	request(&path, &subject, TEE_SCHEME_TEELIZA, "my-wallet-salt2", agent, TEE_CHAIN_SOLANA);
	assert_string_not_equal((char *)path.data, seen[0]);
	teeliza_buf_free(&path);
	teeliza_buf_free(&subject);
	request(&path, &subject, TEE_SCHEME_TEELIZA, salt, "b850bc30-45f8-0041-a00a-83df46d8555e", TEE_CHAIN_SOLANA);
	assert_string_not_equal((char *)path.data, seen[0]);
	teeliza_buf_free(&path);
	teeliza_buf_free(&subject);
	request(&path, &subject, TEE_SCHEME_TEELIZA, salt, agent, TEE_CHAIN_SOLANA);
	assert_string_equal((char *)path.data, seen[0]);
	teeliza_buf_free(&path);
	teeliza_buf_free(&subject);

	/* a salt that looks like hex must not leak into the path either */
	other = "0123456789abcdef";
	request(&path, &subject, TEE_SCHEME_TEELIZA, other, agent, TEE_CHAIN_EVM);
	assert_null(strstr((char *)path.data, other));
	teeliza_buf_free(&path);
	teeliza_buf_free(&subject);
}

static void test_scheme_errors(void **state)
{
	static const tee_key_scheme schemes[] = { TEE_SCHEME_TEELIZA, TEE_SCHEME_ELIZA_V017, TEE_SCHEME_ELIZA_V019 };
	teeliza_buf path, subject;
	char *long_salt = malloc(5000);
	size_t i;

	(void)state;
	assert_non_null(long_salt);
	memset(long_salt, 's', 4999);
	long_salt[4999] = 0;
	for (i = 0; i < 3; i++) {
		assert_int_equal(tee_scheme_request(&path, &subject, schemes[i], "", "agent", TEE_CHAIN_SOLANA),
		                 TEELIZA_ERR_CONFIG);
		assert_string_equal(teeliza_errmsg(), "Wallet secret salt is not configured in settings");
		assert_int_equal(path.len, 0);
		teeliza_buf_free(&path);
		teeliza_buf_free(&subject);
		assert_int_equal(tee_scheme_request(&path, &subject, schemes[i], NULL, "agent", TEE_CHAIN_EVM),
		                 TEELIZA_ERR_CONFIG);
		assert_string_equal(teeliza_errmsg(), "Wallet secret salt is not configured in settings");
		assert_int_equal(tee_scheme_request(&path, &subject, schemes[i], "salt", "", TEE_CHAIN_EVM),
		                 TEELIZA_ERR_INVALID);
		assert_non_null(strstr(teeliza_errmsg(), "agent id"));
		assert_int_equal(tee_scheme_request(&path, &subject, schemes[i], "salt", NULL, TEE_CHAIN_EVM),
		                 TEELIZA_ERR_INVALID);
		assert_int_equal(tee_scheme_request(&path, &subject, schemes[i], long_salt, "agent", TEE_CHAIN_EVM),
		                 TEELIZA_ERR_TOO_LARGE);
		teeliza_buf_free(&path);
		teeliza_buf_free(&subject);
	}
	free(long_salt);
}

static void test_attestation_json(void **state)
{
	json_t *j = vector_json("plugin-tee.json");
	const char *want = json_string_value(json_object_get(j, "derive_attestation_json"));
	const char *pub = jstr(json_object_get(j, "derive_fixed_openssl"), "solana_pubkey_base58");
	const char *odd = "a\"b\\c\n\t\x01\x1f/\xc3\xa9\xf0\x9f\x98\x80";
	teeliza_buf out;
	json_t *parsed;
	uint8_t rd[64];

	(void)state;
	assert_non_null(want);
	assert_int_equal(tee_derive_attestation_json(&out, "b850bc30-45f8-0041-a00a-83df46d8555d", pub), TEELIZA_OK);
	assert_string_equal((char *)out.data, want);
	/* and the report_data tappd computes from it (SHA-512 of "app-data:" ‖ JSON) */
	assert_int_equal(tee_report_data(rd, NULL, NULL, out.data, out.len), TEELIZA_OK);
	assert_hex_equal(rd, 64, jstr(j, "derive_attestation_report_data_sha512"));
	teeliza_buf_free(&out);

	/* escapes: a JSON parser gets the original strings back, and \u00xx is lowercase as in JSON.stringify */
	assert_int_equal(tee_derive_attestation_json(&out, odd, "0xAbC"), TEELIZA_OK);
	parsed = json_loads((char *)out.data, 0, NULL);
	assert_non_null(parsed);
	assert_string_equal(json_string_value(json_object_get(parsed, "agentId")), odd);
	assert_string_equal(json_string_value(json_object_get(parsed, "publicKey")), "0xAbC");
	assert_non_null(strstr((char *)out.data, "\\u001f"));
	assert_non_null(strstr((char *)out.data, "\\n\\t"));
	assert_non_null(strstr((char *)out.data, "\\u001f/"));
	json_decref(parsed);
	teeliza_buf_free(&out);

	assert_int_equal(tee_derive_attestation_json(&out, "bad\xff", "x"), TEELIZA_ERR_INVALID);
	assert_int_equal(tee_derive_attestation_json(&out, "x", "\xed\xa0\x80"), TEELIZA_ERR_INVALID);
	assert_int_equal(tee_derive_attestation_json(&out, "\xc0\xaf", "x"), TEELIZA_ERR_INVALID);
	json_decref(j);
}

struct thread_job {
	const uint8_t *der;
	size_t der_len;
	char sol[45];
	char evm[43];
	int rc;
};

static void *derive_thread(void *arg)
{
	struct thread_job *job = arg;
	tee_solana_keypair sol;
	tee_evm_keypair evm;
	int i;

	for (i = 0; i < 50; i++) {
		if (tee_derive_solana(&sol, job->der, job->der_len) != TEELIZA_OK
		    || tee_derive_evm(&evm, job->der, job->der_len) != TEELIZA_OK) {
			job->rc = -1;
			return NULL;
		}
	}
	memcpy(job->sol, sol.address, sizeof(job->sol));
	memcpy(job->evm, evm.address, sizeof(job->evm));
	return NULL;
}

/* The shared secp256k1 context is created once even when threads race for it. */
static void test_derive_threads(void **state)
{
	json_t *j = vector_json("plugin-tee.json");
	json_t *arr = json_object_get(j, "derive_hkdf_sim");
	struct thread_job jobs[4];
	pthread_t th[4];
	uint8_t *ders[2];
	size_t lens[2];
	int i;

	(void)state;
	for (i = 0; i < 2; i++)
		ders[i] = hex_alloc(jstr(json_array_get(arr, (size_t)i), "der_hex"), &lens[i]);
	for (i = 0; i < 4; i++) {
		memset(&jobs[i], 0, sizeof(jobs[i]));
		jobs[i].der = ders[i % 2];
		jobs[i].der_len = lens[i % 2];
		assert_int_equal(pthread_create(&th[i], NULL, derive_thread, &jobs[i]), 0);
	}
	for (i = 0; i < 4; i++) {
		json_t *v = json_array_get(arr, (size_t)(i % 2));

		assert_int_equal(pthread_join(th[i], NULL), 0);
		assert_int_equal(jobs[i].rc, 0);
		assert_string_equal(jobs[i].sol, jstr(v, "solana_pubkey_base58"));
		assert_string_equal(jobs[i].evm, jstr(v, "evm_address"));
	}
	free(ders[0]);
	free(ders[1]);
	json_decref(j);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_fixed_openssl_vector),
		cmocka_unit_test(test_hkdf_sim_wallets),
		cmocka_unit_test(test_hkdf_sim_from_key_file),
		cmocka_unit_test(test_hkdf_long_and_empty_paths),
		cmocka_unit_test(test_as_uint8array),
		cmocka_unit_test(test_pem_lenient_forms),
		cmocka_unit_test(test_pem_invalid),
		cmocka_unit_test(test_pem_too_large),
		cmocka_unit_test(test_truncations),
		cmocka_unit_test(test_ca_key_formats),
		cmocka_unit_test(test_scheme_names),
		cmocka_unit_test(test_eliza_schemes),
		cmocka_unit_test(test_teeliza_scheme),
		cmocka_unit_test(test_scheme_errors),
		cmocka_unit_test(test_attestation_json),
		cmocka_unit_test(test_derive_threads),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
