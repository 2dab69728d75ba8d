/* RA-TLS certificates: the extension reader, its bounds, and the key binding. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <cmocka.h>

#include "testutil.h"
#include "teeliza/common/common.h"
#include "teeliza/tee/attest.h"
#include "teeliza/tee/ratls.h"

#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/x509.h>
#include <stdlib.h>
#include <string.h>

#define LEAF "teeliza-sim-ratls-leaf.pem"

/* One extension to put in a test certificate: extnValue's contents as given (wrapping included). */
struct ext {
	const char *oid;
	const uint8_t *value;
	size_t len;
};

static EVP_PKEY *new_key(void)
{
	EVP_PKEY *k = EVP_EC_gen("P-256");

	assert_non_null(k);
	return k;
}

/* A self-signed certificate with exts, as DER. Out: *len. */
static uint8_t *make_cert(size_t *len, EVP_PKEY *key, const struct ext *exts, size_t n)
{
	X509 *x = X509_new();
	unsigned char *der = NULL;
	size_t i;
	int dlen;

	assert_non_null(x);
	assert_int_equal(X509_set_version(x, 2), 1);
	ASN1_INTEGER_set(X509_get_serialNumber(x), 1);
	X509_gmtime_adj(X509_getm_notBefore(x), 0);
	X509_gmtime_adj(X509_getm_notAfter(x), 3600);
	X509_NAME_add_entry_by_txt(X509_get_subject_name(x), "CN", MBSTRING_ASC, (const unsigned char *)"t", -1, -1, 0);
	X509_set_issuer_name(x, X509_get_subject_name(x));
	assert_int_equal(X509_set_pubkey(x, key), 1);
	for (i = 0; i < n; i++) {
		ASN1_OBJECT *obj = OBJ_txt2obj(exts[i].oid, 1);
		ASN1_OCTET_STRING *os = ASN1_OCTET_STRING_new();
		X509_EXTENSION *e;

		assert_non_null(obj);
		assert_int_equal(ASN1_OCTET_STRING_set(os, exts[i].value, (int)exts[i].len), 1);
		e = X509_EXTENSION_create_by_OBJ(NULL, obj, 0, os);
		assert_non_null(e);
		assert_int_equal(X509_add_ext(x, e, -1), 1);
		X509_EXTENSION_free(e);
		ASN1_OCTET_STRING_free(os);
		ASN1_OBJECT_free(obj);
	}
	assert_true(X509_sign(x, key, EVP_sha256()) > 0);
	dlen = i2d_X509(x, &der);
	assert_true(dlen > 0);
	X509_free(x);
	*len = (size_t)dlen;
	return der;
}

/* bytes wrapped in an OCTET STRING (DER), as dstack writes extnValue. Out: *len. */
static uint8_t *wrap(size_t *len, const uint8_t *b, size_t n)
{
	uint8_t *w = malloc(n + 4);
	size_t h;

	assert_non_null(w);
	w[0] = 0x04;
	if (n < 0x80) {
		w[1] = (uint8_t)n;
		h = 2;
	} else {
		w[1] = 0x82;
		w[2] = (uint8_t)(n >> 8);
		w[3] = (uint8_t)n;
		h = 4;
	}
	memcpy(w + h, b, n);
	*len = n + h;
	return w;
}

/* The vector leaf's quote. Out: *len. */
static uint8_t *vector_quote(size_t *len)
{
	size_t n;
	uint8_t *pem = vector_read(LEAF, &n), *q;
	tee_ratls_cert c;

	assert_int_equal(tee_ratls_cert_parse(&c, pem, n), TEELIZA_OK);
	q = malloc(c.quote.len);
	assert_non_null(q);
	memcpy(q, c.quote.data, c.quote.len);
	*len = c.quote.len;
	tee_ratls_cert_free(&c);
	free(pem);
	return q;
}

/* The simulator's GetTlsKey leaf: every extension read, and its quote binds its key. */
static void test_simulator_leaf(void **state)
{
	size_t n;
	uint8_t *pem = vector_read(LEAF, &n), expected[64];
	const uint8_t *rtmr[4], *rd;
	tee_ratls_cert c;
	char hex[65];

	(void)state;
	assert_int_equal(tee_ratls_cert_parse(&c, pem, n), TEELIZA_OK);
	assert_int_equal(c.spki.len, 91); /* P-256 */
	assert_true(c.quote.len > 1000);
	assert_true(c.event_log.len > 100);
	assert_int_equal(((const char *)c.event_log.data)[0], '[');
	assert_true(c.has_app_id);
	assert_false(c.has_attestation);
	assert_int_equal(tee_ratls_check_binding(expected, &c), TEELIZA_OK);
	assert_int_equal(tee_quote_td_fields(rtmr, &rd, c.quote.data, c.quote.len), TEELIZA_OK);
	assert_memory_equal(rd, expected, 64);
	tee_ratls_spki_sha256_hex(hex, c.spki.data, c.spki.len);
	assert_string_equal(hex, "e81b74e92b827f741bb9ccdaeb86a82cc1aac80439d4da6f68b04938974af1ff");
	tee_ratls_cert_free(&c);
	/* leading blank lines and a second certificate after it: the first is read */
	{
		char *two = malloc(2 * n + 3);

		assert_non_null(two);
		memcpy(two, "\n\n", 2);
		memcpy(two + 2, pem, n);
		memcpy(two + 2 + n, pem, n);
		assert_int_equal(tee_ratls_cert_parse(&c, (const uint8_t *)two, 2 * n + 2), TEELIZA_OK);
		assert_int_equal(c.spki.len, 91);
		tee_ratls_cert_free(&c);
		free(two);
	}
	free(pem);
}

/* dstack-next §2.2: the report data of the P-256 key of DeriveKey("test") with the simulator's K_app. */
static void test_report_data_vector(void **state)
{
	size_t n;
	uint8_t *spki = hex_alloc("3059301306072a8648ce3d020106082a8648ce3d03010703420004eae0e028e950f924c8981753232d9b"
	                          "f171e04706b17673d55649e8145835859308456ec98d66006f076cf7c65970b61de1e5f619480c3a911a70"
	                          "0234360d2857",
	                          &n);
	uint8_t out[64];

	(void)state;
	assert_int_equal(n, 91);
	tee_ratls_report_data(out, spki, n);
	assert_hex_equal(out, 64, "ef6f24a35a41609d2dc6d314306fd31e72fd2b79fec1ca291e18904581442b8e58f6e9d2d3fa35b238ead6"
	                          "074040bccc1031ddd2532730a0e2959d05e2507b29");
	free(spki);
}

/* The same quote in a certificate of another key (the SPKI swapped): the binding names the mismatch. */
static void test_swapped_key(void **state)
{
	EVP_PKEY *key = new_key();
	size_t qlen, wlen, dlen;
	uint8_t *q = vector_quote(&qlen), *w = wrap(&wlen, q, qlen), *der, expected[64];
	struct ext e[] = {{TEE_RATLS_OID_QUOTE, w, wlen}};
	tee_ratls_cert c;

	(void)state;
	der = make_cert(&dlen, key, e, 1);
	assert_int_equal(tee_ratls_cert_parse(&c, der, dlen), TEELIZA_OK);
	assert_int_equal(c.quote.len, qlen);
	assert_int_equal(c.event_log.len, 0);
	assert_false(c.has_app_id);
	assert_int_equal(tee_ratls_check_binding(expected, &c), TEELIZA_ERR_VERIFY);
	assert_non_null(strstr(teeliza_errmsg(), "RA-TLS binding"));
	tee_ratls_cert_free(&c);
	OPENSSL_free(der);
	free(w);
	free(q);
	EVP_PKEY_free(key);
}

/* Parse a certificate made with exts; return the error. */
static teeliza_err parse_with(const struct ext *exts, size_t n)
{
	EVP_PKEY *key = new_key();
	size_t dlen;
	uint8_t *der = make_cert(&dlen, key, exts, n);
	tee_ratls_cert c;
	teeliza_err err = tee_ratls_cert_parse(&c, der, dlen);

	tee_ratls_cert_free(&c);
	OPENSSL_free(der);
	EVP_PKEY_free(key);
	return err;
}

static void test_malformed_extensions(void **state)
{
	static const uint8_t utf8[] = {0x0c, 0x01, 'x'}, short_len[] = {0x04, 0x05, 1, 2, 3},
	                     long_len[] = {0x04, 0x02, 1, 2, 3}, bad_long[] = {0x04, 0x85, 0, 0, 0, 0, 1},
	                     empty[] = {0x04, 0x00}, quote_ok[] = {0x04, 0x03, 1, 2, 3},
	                     app19[] = {0x04, 19, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15, 16, 17, 18, 19},
	                     elgz[] = {0x04, 0x08, 'E', 'L', 'G', 'Z', 'v', '1', 0x1f, 0x8b},
	                     nul_log[] = {0x04, 0x03, '[', 0, ']'}, blob[] = {0x04, 0x01, 0x00};

	(void)state;
	assert_int_equal(parse_with(NULL, 0), TEELIZA_ERR_NOT_FOUND);
	assert_non_null(strstr(teeliza_errmsg(), "no RA-TLS quote extension"));
	{
		struct ext e[] = {{TEE_RATLS_OID_QUOTE, utf8, sizeof(utf8)}};

		assert_int_equal(parse_with(e, 1), TEELIZA_ERR_PARSE);
	}
	{
		struct ext e[] = {{TEE_RATLS_OID_QUOTE, short_len, sizeof(short_len)}};

		assert_int_equal(parse_with(e, 1), TEELIZA_ERR_PARSE);
	}
	{
		struct ext e[] = {{TEE_RATLS_OID_QUOTE, long_len, sizeof(long_len)}};

		assert_int_equal(parse_with(e, 1), TEELIZA_ERR_PARSE);
	}
	{
		struct ext e[] = {{TEE_RATLS_OID_QUOTE, bad_long, sizeof(bad_long)}};

		assert_int_equal(parse_with(e, 1), TEELIZA_ERR_PARSE);
	}
	{
		struct ext e[] = {{TEE_RATLS_OID_QUOTE, empty, sizeof(empty)}};

		assert_int_equal(parse_with(e, 1), TEELIZA_ERR_PARSE);
	}
	{
		struct ext e[] = {{TEE_RATLS_OID_QUOTE, quote_ok, sizeof(quote_ok)},
		                  {TEE_RATLS_OID_QUOTE, quote_ok, sizeof(quote_ok)}};

		assert_int_equal(parse_with(e, 2), TEELIZA_ERR_PARSE);
		assert_non_null(strstr(teeliza_errmsg(), "more than once"));
	}
	{
		struct ext e[] = {{TEE_RATLS_OID_QUOTE, quote_ok, sizeof(quote_ok)}, {TEE_RATLS_OID_APP_ID, app19, sizeof(app19)}};

		assert_int_equal(parse_with(e, 2), TEELIZA_ERR_PARSE);
	}
	{
		struct ext e[] = {{TEE_RATLS_OID_QUOTE, quote_ok, sizeof(quote_ok)}, {TEE_RATLS_OID_EVENT_LOG, elgz, sizeof(elgz)}};

		assert_int_equal(parse_with(e, 2), TEELIZA_ERR_UNSUPPORTED);
	}
	{
		struct ext e[] = {{TEE_RATLS_OID_QUOTE, quote_ok, sizeof(quote_ok)}, {TEE_RATLS_OID_EVENT_LOG, nul_log, sizeof(nul_log)}};

		assert_int_equal(parse_with(e, 2), TEELIZA_ERR_PARSE);
	}
	{
		struct ext e[] = {{TEE_RATLS_OID_ATTESTATION, blob, sizeof(blob)}};

		assert_int_equal(parse_with(e, 1), TEELIZA_ERR_UNSUPPORTED);
	}
	{
		/* a well-wrapped quote that is no TDX quote: parsed, then the binding cannot be read */
		struct ext e[] = {{TEE_RATLS_OID_QUOTE, quote_ok, sizeof(quote_ok)}};

		assert_int_equal(parse_with(e, 1), TEELIZA_OK);
	}
}

/* Not a certificate, cut short, or with bytes after it. */
static void test_not_a_certificate(void **state)
{
	EVP_PKEY *key = new_key();
	static const uint8_t q[] = {0x04, 0x01, 0x00};
	struct ext e[] = {{TEE_RATLS_OID_QUOTE, q, sizeof(q)}};
	size_t dlen;
	uint8_t *der = make_cert(&dlen, key, e, 1), *more;
	tee_ratls_cert c;

	(void)state;
	assert_int_equal(tee_ratls_cert_parse(&c, der, dlen), TEELIZA_OK);
	tee_ratls_cert_free(&c);
	assert_int_equal(tee_ratls_cert_parse(&c, der, dlen - 1), TEELIZA_ERR_PARSE);
	tee_ratls_cert_free(&c);
	more = malloc(dlen + 1);
	assert_non_null(more);
	memcpy(more, der, dlen);
	more[dlen] = 0;
	assert_int_equal(tee_ratls_cert_parse(&c, more, dlen + 1), TEELIZA_ERR_PARSE);
	tee_ratls_cert_free(&c);
	assert_int_equal(tee_ratls_cert_parse(&c, (const uint8_t *)"-----BEGIN CERTIFICATE-----\nxx\n", 31),
	                 TEELIZA_ERR_PARSE);
	tee_ratls_cert_free(&c);
	assert_int_equal(tee_ratls_cert_parse(&c, NULL, 0), TEELIZA_ERR_PARSE);
	tee_ratls_cert_free(&c);
	free(more);
	OPENSSL_free(der);
	EVP_PKEY_free(key);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_simulator_leaf),
		cmocka_unit_test(test_report_data_vector),
		cmocka_unit_test(test_swapped_key),
		cmocka_unit_test(test_malformed_extensions),
		cmocka_unit_test(test_not_a_certificate),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
