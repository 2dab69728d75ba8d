/* Keccak, base58, base64 and EIP-55. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <cmocka.h>

#include "testutil.h"
#include "teeliza/common/common.h"
#include "teeliza/common/encoding.h"
#include "teeliza/common/keccak.h"

#include <stdlib.h>
#include <string.h>

/* Bytes 0, 1, 2, ... (mod 256): the input of the reference values below. */
static uint8_t *counting_bytes(size_t n)
{
	uint8_t *p = malloc(n ? n : 1);
	size_t i;

	assert_non_null(p);
	for (i = 0; i < n; i++)
		p[i] = (uint8_t)i;
	return p;
}

static void keccak_bits(uint8_t *out, unsigned bits, const uint8_t *in, size_t len)
{
	switch (bits) {
	case 256:
		teeliza_keccak256(out, in, len);
		break;
	case 384:
		teeliza_keccak384(out, in, len);
		break;
	default:
		teeliza_keccak512(out, in, len);
		break;
	}
}

static void test_keccak_known(void **state)
{
	uint8_t out[64];

	(void)state;
	teeliza_keccak256(out, "", 0);
	assert_hex_equal(out, 32, "c5d2460186f7233c927e7db2dcc703c0e500b653ca82273b7bfad8045d85a470");
	teeliza_keccak256(out, "abc", 3);
	assert_hex_equal(out, 32, "4e03657aea45a94fc7d47ba826c8d667c0d1e6e33a64a036ec44f58fa12d6c45");
}

/*
 * Inputs of counting bytes just below, at and above each rate (136/104/72
 * bytes) and over several blocks. Reference digests computed with the npm
 * package js-sha3 0.13.0 (keccak256/keccak384/keccak512 of a Uint8Array) on node 20.
 */
static const struct {
	unsigned bits;
	size_t len;
	const char *hex;
} keccak_refs[] = {
	{256, 135, "cbdfd9dee5faad3818d6b06f95a219fd290b0e1706f6a82e5a595b9ce9faca62"},
	{256, 136, "7ce759f1ab7f9ce437719970c26b0a66ff11fe3e38e17df89cf5d29c7d7f807e"},
	{256, 137, "ac73d4fae68b8453f764007c1a20ce95994187861f0c3227a3a8e99a73a3b1db"},
	{256, 272, "fdf2ec49e749960d3c8521a0219af8d03e30e2b3bf19bd16150ee0eaf133d66e"},
	{256, 1000, "aca79e4146e30eb1c733f6d6060d72471c36ea4e01ebf45d7f4916249c2bbd82"},
	{384, 103, "594b7f9a689485dba9802ed9f13e986b0b9bb83b448d402a37a628fedbeee0783b1d03c8a9a211fe9d8269a6a45ad0a1"},
	{384, 104, "7f6de44434fc3011507c34186e81e80174f82052f4c63e67b85fc82835ec7659a767052484569835c98bcdc82c785e3f"},
	{384, 105, "1480a097d5c3cc04b85bfba18666c3fd5f246744f8798f247f3c107187d8899a2711edd8aa5cfcaf77b9f33450c8d785"},
	{512, 71, "fe0953f9afdffed7ff9764c2590ff0e6af1b0689e42ddca68d6ef003ddce2671b806e0d2e6d57117bb75ad6166e2e990ca662b6a7f8945584f5308459eabae15"},
	{512, 72, "76fa23369085405345fe6a2831f334113bee6b111056e21072082af56e7c1ab4458858dbdb5f88e0d86d38ca654310c9a30712319c1f4f9783fe9f3ac0469527"},
	{512, 73, "e417b9573c871d948d48f62f6b16ea6cd1f1557a462ff5c1ae276d14d2fb43cd7084631656bf60f4ceb881133113d304335bd93487e8ec3e845ebc3c1877ca12"},
};

static void test_keccak_rate_boundaries(void **state)
{
	size_t i;
	uint8_t out[64];

	(void)state;
	for (i = 0; i < sizeof(keccak_refs) / sizeof(keccak_refs[0]); i++) {
		uint8_t *in = counting_bytes(keccak_refs[i].len);

		keccak_bits(out, keccak_refs[i].bits, in, keccak_refs[i].len);
		assert_hex_equal(out, keccak_refs[i].bits / 8, keccak_refs[i].hex);
		free(in);
	}
}

/* Feeding the input in pieces of every size must give the one-shot digest. */
static void test_keccak_incremental(void **state)
{
	size_t i, step, off;
	uint8_t one[64], inc[64];

	(void)state;
	for (i = 0; i < sizeof(keccak_refs) / sizeof(keccak_refs[0]); i++) {
		uint8_t *in = counting_bytes(keccak_refs[i].len);

		keccak_bits(one, keccak_refs[i].bits, in, keccak_refs[i].len);
		for (step = 1; step <= 150; step += 7) {
			teeliza_keccak_ctx ctx;

			teeliza_keccak_init(&ctx, keccak_refs[i].bits);
			assert_int_equal(ctx.out_len, keccak_refs[i].bits / 8);
			for (off = 0; off < keccak_refs[i].len; off += step) {
				size_t n = keccak_refs[i].len - off < step ? keccak_refs[i].len - off : step;

				teeliza_keccak_update(&ctx, in + off, n);
			}
			teeliza_keccak_update(&ctx, NULL, 0);
			teeliza_keccak_final(inc, &ctx);
			assert_memory_equal(one, inc, keccak_refs[i].bits / 8);
			/* final wipes the context */
			assert_int_equal(ctx.rate, 0);
		}
		free(in);
	}
}

/* plugin-tee.json: keccak256 of the fixed key's DER (the EVM private key). */
static void test_keccak_vector_der(void **state)
{
	json_t *v = vector_json("plugin-tee.json");
	json_t *fixed = json_object_get(v, "derive_fixed_openssl");
	uint8_t *der, out[32];
	size_t der_len;

	(void)state;
	assert_non_null(fixed);
	der = hex_alloc(json_string_value(json_object_get(fixed, "der_hex")), &der_len);
	assert_int_equal(der_len, 138);
	teeliza_keccak256(out, der, der_len);
	assert_hex_equal(out, 32, json_string_value(json_object_get(fixed, "keccak256_privkey_hex")));
	free(der);
	json_decref(v);
}

static void b58_roundtrip(const char *hex, const char *b58)
{
	uint8_t *bytes, dec[128];
	size_t n, dn;
	char enc[200];

	bytes = hex_alloc(hex, &n);
	assert_int_equal(teeliza_base58_encode(enc, sizeof(enc), bytes, n), TEELIZA_OK);
	assert_string_equal(enc, b58);
	assert_int_equal(teeliza_base58_decode(dec, sizeof(dec), &dn, b58, strlen(b58)), TEELIZA_OK);
	assert_int_equal(dn, n);
	if (n)
		assert_memory_equal(dec, bytes, n);
	free(bytes);
}

/* Encodings computed with the npm package bs58 6.0 (base-x 5) on node 20. */
static void test_base58_known(void **state)
{
	char hex[129];
	uint8_t *counting = counting_bytes(64);

	(void)state;
	b58_roundtrip("", "");
	b58_roundtrip("00", "1");
	b58_roundtrip("0000", "11");
	b58_roundtrip("61", "2g");
	b58_roundtrip("0000010203", "11Ldp");
	b58_roundtrip("ffffffffffffffffffffffffffffffffffffffffffffffffffffffffffffffff",
	              "JEKNVnkbo3jma5nREBBJCDoXFVeKkD56V3xKrvRmWxFG");
	teeliza_hex_encode(hex, counting, 64);
	b58_roundtrip(hex, "1GMkH3brNXiNNs1tiFZHu4yZSRrzJwxi5wB9bHFtMinfCXNnR1adh8Vo8NTheK4evneedH4qmvjeqcBBNAefgS");
	free(counting);
}

/* plugin-tee.json: Solana public keys (32 bytes) from the fixed and simulator keys. */
static void test_base58_vectors(void **state)
{
	json_t *v = vector_json("plugin-tee.json");
	json_t *sims = json_object_get(v, "derive_hkdf_sim");
	const char *pub = json_string_value(json_object_get(json_object_get(v, "derive_fixed_openssl"),
	                                                    "solana_pubkey_base58"));
	uint8_t key[32];
	size_t n, i;
	char enc[45];

	(void)state;
	assert_non_null(pub);
	assert_int_equal(teeliza_base58_decode(key, sizeof(key), &n, pub, strlen(pub)), TEELIZA_OK);
	assert_int_equal(n, 32);
	assert_int_equal(teeliza_base58_encode(enc, sizeof(enc), key, n), TEELIZA_OK);
	assert_string_equal(enc, pub);
	assert_true(json_array_size(sims) >= 2);
	for (i = 0; i < json_array_size(sims); i++) {
		pub = json_string_value(json_object_get(json_array_get(sims, i), "solana_pubkey_base58"));
		assert_int_equal(teeliza_base58_decode(key, sizeof(key), &n, pub, strlen(pub)), TEELIZA_OK);
		assert_int_equal(n, 32);
		assert_int_equal(teeliza_base58_encode(enc, sizeof(enc), key, n), TEELIZA_OK);
		assert_string_equal(enc, pub);
	}
	json_decref(v);
}

static void test_base58_bad(void **state)
{
	uint8_t out[32], ff[32];
	size_t n = 99;
	char enc[45];

	(void)state;
	/* 0, O, I and l are not in the alphabet; nor are '+', space and NUL */
	assert_int_equal(teeliza_base58_decode(out, sizeof(out), &n, "abc0", 4), TEELIZA_ERR_INVALID);
	assert_int_equal(n, 0);
	assert_non_null(strstr(teeliza_errmsg(), "position 3"));
	assert_int_equal(teeliza_base58_decode(out, sizeof(out), &n, "O", 1), TEELIZA_ERR_INVALID);
	assert_int_equal(teeliza_base58_decode(out, sizeof(out), &n, "I", 1), TEELIZA_ERR_INVALID);
	assert_int_equal(teeliza_base58_decode(out, sizeof(out), &n, "l", 1), TEELIZA_ERR_INVALID);
	assert_int_equal(teeliza_base58_decode(out, sizeof(out), &n, "2g+", 3), TEELIZA_ERR_INVALID);
	assert_int_equal(teeliza_base58_decode(out, sizeof(out), &n, " 2g", 3), TEELIZA_ERR_INVALID);
	assert_int_equal(teeliza_base58_decode(out, sizeof(out), &n, "2g\0", 3), TEELIZA_ERR_INVALID);
	/* too long for the output: a failed decode leaves the output zeroed */
	assert_int_equal(teeliza_base58_decode(out, 2, &n, "11Ldp", 5), TEELIZA_ERR_TOO_LARGE);
	assert_int_equal(n, 0);
	assert_int_equal(out[0] | out[1], 0);
	assert_int_equal(teeliza_base58_decode(out, 1, &n, "11", 2), TEELIZA_ERR_TOO_LARGE);
	assert_int_equal(teeliza_base58_decode(out, 2, &n, "11", 2), TEELIZA_OK);
	assert_int_equal(n, 2);
	assert_int_equal(teeliza_base58_decode(out, 4, &n, "11Ldp", 5), TEELIZA_ERR_TOO_LARGE);
	assert_int_equal(teeliza_base58_decode(out, 5, &n, "11Ldp", 5), TEELIZA_OK);
	/* encode into a too-small buffer: 44 characters need 45 bytes */
	memset(ff, 0xff, sizeof(ff));
	assert_int_equal(teeliza_base58_encode(enc, 44, ff, 32), TEELIZA_ERR_TOO_LARGE);
	assert_string_equal(enc, "");
	assert_int_equal(teeliza_base58_encode(enc, 45, ff, 32), TEELIZA_OK);
	memset(ff, 0, sizeof(ff));
	assert_int_equal(teeliza_base58_encode(enc, 32, ff, 32), TEELIZA_ERR_TOO_LARGE);
	assert_int_equal(teeliza_base58_encode(enc, 33, ff, 32), TEELIZA_OK);
	assert_string_equal(enc, "11111111111111111111111111111111");
}

static void b64_encode_is(const char *plain, const char *expect)
{
	teeliza_buf b;

	teeliza_buf_init(&b, 1024);
	assert_int_equal(teeliza_base64_encode_buf(&b, (const uint8_t *)plain, strlen(plain)), TEELIZA_OK);
	assert_string_equal((char *)b.data, expect);
	teeliza_buf_free(&b);
}

static void b64_decode_is(const char *text, const char *expect)
{
	teeliza_buf b;

	teeliza_buf_init(&b, 1024);
	assert_int_equal(teeliza_base64_decode_buf(&b, text, strlen(text)), TEELIZA_OK);
	assert_int_equal(b.len, strlen(expect));
	assert_memory_equal(b.data, expect, b.len);
	teeliza_buf_free(&b);
}

static void b64_decode_fails(const char *text)
{
	teeliza_buf b;

	teeliza_buf_init(&b, 1024);
	assert_int_equal(teeliza_buf_append_str(&b, "keep"), TEELIZA_OK);
	assert_int_equal(teeliza_base64_decode_buf(&b, text, strlen(text)), TEELIZA_ERR_INVALID);
	assert_string_equal((char *)b.data, "keep");
	teeliza_buf_free(&b);
}

/* RFC 4648 section 10 test vectors. */
static void test_base64_rfc4648(void **state)
{
	static const char *const pairs[][2] = {
		{"", ""}, {"f", "Zg=="}, {"fo", "Zm8="}, {"foo", "Zm9v"},
		{"foob", "Zm9vYg=="}, {"fooba", "Zm9vYmE="}, {"foobar", "Zm9vYmFy"},
	};
	size_t i;

	(void)state;
	for (i = 0; i < sizeof(pairs) / sizeof(pairs[0]); i++) {
		b64_encode_is(pairs[i][0], pairs[i][1]);
		b64_decode_is(pairs[i][1], pairs[i][0]);
	}
}

static void test_base64_binary_roundtrip(void **state)
{
	uint8_t *in = counting_bytes(1000);
	teeliza_buf enc, dec;
	size_t n;

	(void)state;
	for (n = 0; n <= 1000; n += 37) {
		teeliza_buf_init(&enc, 4096);
		teeliza_buf_init(&dec, 4096);
		assert_int_equal(teeliza_base64_encode_buf(&enc, in, n), TEELIZA_OK);
		assert_int_equal(enc.len, (n + 2) / 3 * 4);
		assert_int_equal(teeliza_base64_decode_buf(&dec, (char *)enc.data, enc.len), TEELIZA_OK);
		assert_int_equal(dec.len, n);
		if (n)
			assert_memory_equal(dec.data, in, n);
		teeliza_buf_free(&enc);
		teeliza_buf_free(&dec);
	}
	/* all 64 characters of the alphabet, '+' and '/' included */
	b64_decode_is("+/+/", "\xfb\xff\xbf");
	free(in);
}

/* atob() behaviour (checked against node 20 atob): whitespace skipped, padding optional. */
static void test_base64_whitespace(void **state)
{
	(void)state;
	b64_decode_is(" Zm9v\nYmFy\r\n", "foobar");
	b64_decode_is("Zm9v\tYg =\f=", "foob");
	b64_decode_is("Zm9vYg", "foob");
	b64_decode_is("Zm9vYmE", "fooba");
	b64_decode_is("  \n", "");
}

/* Every text below is also rejected by node 20 atob(). */
static void test_base64_invalid(void **state)
{
	teeliza_buf b;

	(void)state;
	b64_decode_fails("Zm9v!");
	b64_decode_fails("Zm9-");      /* base64url is not accepted */
	b64_decode_fails("Zm9_");
	b64_decode_fails("Z");         /* one character cannot carry a byte */
	b64_decode_fails("Zm9vY");
	b64_decode_fails("Zg=");       /* padding that does not complete a group */
	b64_decode_fails("Zg===");
	b64_decode_fails("Z===");
	b64_decode_fails("Zg==Zg==");  /* data after padding */
	b64_decode_fails("=Zm9");
	b64_decode_fails("Zm9v\v");    /* vertical tab is not ASCII whitespace */
	b64_decode_fails("Zm9v\xc3\xa9");
	teeliza_buf_init(&b, 16);
	assert_int_equal(teeliza_base64_decode_buf(&b, "Zm\0v", 4), TEELIZA_ERR_INVALID);
	/* output limit: a failed append leaves the buffer empty */
	teeliza_buf_init(&b, 2);
	assert_int_equal(teeliza_base64_decode_buf(&b, "Zm9v", 4), TEELIZA_ERR_TOO_LARGE);
	assert_int_equal(b.len, 0);
	assert_int_equal(teeliza_base64_encode_buf(&b, (const uint8_t *)"f", 1), TEELIZA_ERR_TOO_LARGE);
	assert_int_equal(b.len, 0);
	teeliza_buf_free(&b);
}

static void eip55_is(const char *checksummed)
{
	char lower[41], out[43];
	uint8_t addr[20];
	size_t i, n;

	assert_int_equal(strlen(checksummed), 42);
	for (i = 0; i < 40; i++) {
		char ch = checksummed[2 + i];

		lower[i] = (ch >= 'A' && ch <= 'F') ? (char)(ch - 'A' + 'a') : ch;
	}
	lower[40] = 0;
	assert_int_equal(teeliza_hex_decode(addr, sizeof(addr), &n, lower, 40, false), TEELIZA_OK);
	assert_int_equal(n, 20);
	teeliza_eip55_address(out, addr);
	assert_string_equal(out, checksummed);
}

/* The examples of the EIP-55 specification (eips.ethereum.org/EIPS/eip-55). */
static void test_eip55_spec(void **state)
{
	(void)state;
	eip55_is("0x52908400098527886E0F7030069857D2E4169EE7");
	eip55_is("0x8617E340B3D01FA5F11F306F4090FD50E238070D");
	eip55_is("0xde709f2102306220921060314715629080e2fb77");
	eip55_is("0x27b1fdb04752bbc536007a920d24acb045561c26");
	eip55_is("0x5aAeb6053F3E94C9b9A09f33669435E7Ef1BeAed");
	eip55_is("0xfB6916095ca1df60bB79Ce92cE3Ea74c37c5d359");
	eip55_is("0xdbF03B407c01E7cD3CBea99509d93f8DDDC8C6FB");
	eip55_is("0xD1220A0cf47c7B9Be7A2E6BA89F429762e7b9aDb");
}

/* plugin-tee.json: EVM addresses (viem's getAddress) of the fixed and simulator keys. */
static void test_eip55_vectors(void **state)
{
	json_t *v = vector_json("plugin-tee.json");
	json_t *sims = json_object_get(v, "derive_hkdf_sim");
	const char *addr = json_string_value(json_object_get(json_object_get(v, "derive_fixed_openssl"),
	                                                     "evm_address"));
	size_t i;

	(void)state;
	assert_non_null(addr);
	eip55_is(addr);
	assert_true(json_array_size(sims) >= 2);
	for (i = 0; i < json_array_size(sims); i++)
		eip55_is(json_string_value(json_object_get(json_array_get(sims, i), "evm_address")));
	json_decref(v);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_keccak_known),
		cmocka_unit_test(test_keccak_rate_boundaries),
		cmocka_unit_test(test_keccak_incremental),
		cmocka_unit_test(test_keccak_vector_der),
		cmocka_unit_test(test_base58_known),
		cmocka_unit_test(test_base58_vectors),
		cmocka_unit_test(test_base58_bad),
		cmocka_unit_test(test_base64_rfc4648),
		cmocka_unit_test(test_base64_binary_roundtrip),
		cmocka_unit_test(test_base64_whitespace),
		cmocka_unit_test(test_base64_invalid),
		cmocka_unit_test(test_eip55_spec),
		cmocka_unit_test(test_eip55_vectors),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
