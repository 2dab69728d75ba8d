/*
 * Every certificate of every chain a verification is given (the quote's PCK
 * chain, pck_crl_issuer_chain, tcb_info_issuer_chain,
 * qe_identity_issuer_chain) must lie on a verified path to a trusted root.
 * Starting from dcap-qvl's TDX vector (TRUSTED, UpToDate), each chain gets a
 * forged certificate made here with OpenSSL: a self-signed root with the
 * Intel SGX Root CA's name (with its own key id, or Intel's copied), such a
 * root appended or inserted, an intermediate with the real one's name under a
 * forged root. Each must fail and the reason must name the chain. Then
 * dcap_chain_on_path, the rule that lets a chain that is a piece of an
 * already verified path skip a second check, on its own.
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <cmocka.h>

#include "testutil.h"
#include "teeliza/common/common.h"
#include "teeliza/dcap/quote.h"
#include "teeliza/dcap/verify.h"
#include "teeliza/common/encoding.h"
#include "dcap/verify_internal.h"

#include <openssl/ec.h>
#include <openssl/pem.h>
#include <openssl/x509v3.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#define TDX_NOW 1752919234

/* ---- the vector, split into its certificates ---- */

static struct {
	uint8_t *quote;
	size_t quote_len;
	json_t *coll;                 /* the collateral JSON */
	X509 *leaf, *pck_ca, *root;   /* the quote's PCK chain */
	X509 *tcb;                    /* TCB Signing, first of tcb_info_issuer_chain */
	EVP_PKEY *fk_root, *fk_root2, *fk_ca, *fk_tcb;
	X509 *f_root;                 /* self-signed "Intel SGX Root CA", its own key id */
	X509 *f_root_kid;             /* the same with Intel's subject key id copied */
	X509 *f_ca;                   /* "Intel SGX PCK Platform CA" under f_root_kid */
	X509 *f_tcb;                  /* "Intel SGX TCB Signing" under f_root_kid */
	char *pem_leaf, *pem_pck_ca, *pem_root, *pem_tcb, *pem_f_root, *pem_f_root_kid, *pem_f_ca, *pem_f_tcb;
} V;

static X509 *pem_cert(const char *pem, size_t len, int index)
{
	BIO *bio = BIO_new_mem_buf(pem, (int)len);
	X509 *x = NULL;
	int i;

	assert_non_null(bio);
	for (i = 0; i <= index; i++) {
		X509_free(x);
		x = PEM_read_bio_X509(bio, NULL, NULL, NULL);
		assert_non_null(x);
	}
	BIO_free(bio);
	return x;
}

static char *to_pem(X509 *x)
{
	BIO *bio = BIO_new(BIO_s_mem());
	char *p, *out;
	long n;

	assert_non_null(bio);
	assert_int_equal(PEM_write_bio_X509(bio, x), 1);
	n = BIO_get_mem_data(bio, &p);
	out = malloc((size_t)n + 1);
	assert_non_null(out);
	memcpy(out, p, (size_t)n);
	out[n] = '\0';
	BIO_free(bio);
	return out;
}

static EVP_PKEY *new_key(void)
{
	EVP_PKEY *k = EVP_EC_gen("P-256");

	assert_non_null(k);
	return k;
}

static void add_ext(X509 *x, X509 *issuer, int nid, const char *value)
{
	X509V3_CTX ctx;
	X509_EXTENSION *e;

	X509V3_set_ctx(&ctx, issuer, x, NULL, NULL, 0);
	e = X509V3_EXT_conf_nid(NULL, &ctx, nid, value);
	assert_non_null(e);
	assert_int_equal(X509_add_ext(x, e, -1), 1);
	X509_EXTENSION_free(e);
}

/*
 * A certificate with like's subject and validity and a new key, issued by
 * issuer (NULL: self-signed) with issuer_key. copy_kid: take like's subject
 * key identifier, so that name and key id both point the same way as the
 * real certificate's.
 */
static X509 *forge(X509 *like, EVP_PKEY *key, X509 *issuer, EVP_PKEY *issuer_key, bool copy_kid)
{
	X509 *x = X509_new();
	ASN1_INTEGER *serial = ASN1_INTEGER_new();

	assert_non_null(x);
	assert_int_equal(X509_set_version(x, 2), 1);
	ASN1_INTEGER_set(serial, 0x7ea1);
	assert_int_equal(X509_set_serialNumber(x, serial), 1);
	ASN1_INTEGER_free(serial);
	assert_int_equal(X509_set_subject_name(x, X509_get_subject_name(like)), 1);
	assert_int_equal(X509_set_issuer_name(x, X509_get_subject_name(issuer != NULL ? issuer : like)), 1);
	assert_int_equal(X509_set1_notBefore(x, X509_get0_notBefore(like)), 1);
	assert_int_equal(X509_set1_notAfter(x, X509_get0_notAfter(like)), 1);
	assert_int_equal(X509_set_pubkey(x, key), 1);
	if (copy_kid) {
		const ASN1_OCTET_STRING *kid = X509_get0_subject_key_id(like);

		assert_non_null(kid);
		assert_int_equal(X509_add1_ext_i2d(x, NID_subject_key_identifier, (void *)kid, 0, 0), 1);
	} else {
		add_ext(x, x, NID_subject_key_identifier, "hash");
	}
	if (issuer != NULL)
		add_ext(x, issuer, NID_authority_key_identifier, "keyid:always");
	add_ext(x, x, NID_key_usage, "critical,keyCertSign,cRLSign");
	add_ext(x, x, NID_basic_constraints, "critical,CA:TRUE");
	assert_true(X509_sign(x, issuer_key != NULL ? issuer_key : key, EVP_sha256()) > 0);
	return x;
}

static int setup(void **state)
{
	dcap_quote q;
	const char *tcb_chain;

	(void)state;
	memset(&V, 0, sizeof(V));
	V.quote = vector_read("dcapqvl-tdx_quote", &V.quote_len);
	V.coll = vector_json("dcapqvl-tdx_quote_collateral.json");
	if (dcap_quote_parse(&q, V.quote, V.quote_len) != TEELIZA_OK)
		return -1;
	V.leaf = pem_cert((const char *)q.cert_data, q.cert_data_len, 0);
	V.pck_ca = pem_cert((const char *)q.cert_data, q.cert_data_len, 1);
	V.root = pem_cert((const char *)q.cert_data, q.cert_data_len, 2);
	tcb_chain = json_string_value(json_object_get(V.coll, "tcb_info_issuer_chain"));
	V.tcb = pem_cert(tcb_chain, strlen(tcb_chain), 0);
	V.fk_root = new_key();
	V.fk_root2 = new_key();
	V.fk_ca = new_key();
	V.fk_tcb = new_key();
	V.f_root = forge(V.root, V.fk_root, NULL, NULL, false);
	V.f_root_kid = forge(V.root, V.fk_root2, NULL, NULL, true);
	V.f_ca = forge(V.pck_ca, V.fk_ca, V.f_root_kid, V.fk_root2, true);
	V.f_tcb = forge(V.tcb, V.fk_tcb, V.f_root_kid, V.fk_root2, true);
	V.pem_leaf = to_pem(V.leaf);
	V.pem_pck_ca = to_pem(V.pck_ca);
	V.pem_root = to_pem(V.root);
	V.pem_tcb = to_pem(V.tcb);
	V.pem_f_root = to_pem(V.f_root);
	V.pem_f_root_kid = to_pem(V.f_root_kid);
	V.pem_f_ca = to_pem(V.f_ca);
	V.pem_f_tcb = to_pem(V.f_tcb);
	return 0;
}

static int teardown(void **state)
{
	(void)state;
	free(V.quote);
	json_decref(V.coll);
	X509_free(V.leaf);
	X509_free(V.pck_ca);
	X509_free(V.root);
	X509_free(V.tcb);
	X509_free(V.f_root);
	X509_free(V.f_root_kid);
	X509_free(V.f_ca);
	X509_free(V.f_tcb);
	EVP_PKEY_free(V.fk_root);
	EVP_PKEY_free(V.fk_root2);
	EVP_PKEY_free(V.fk_ca);
	EVP_PKEY_free(V.fk_tcb);
	free(V.pem_leaf);
	free(V.pem_pck_ca);
	free(V.pem_root);
	free(V.pem_tcb);
	free(V.pem_f_root);
	free(V.pem_f_root_kid);
	free(V.pem_f_ca);
	free(V.pem_f_tcb);
	return 0;
}

/* ---- building inputs ---- */

/* The PEM certificates given, concatenated (NULL-terminated list). */
static char *chain_of(const char *first, ...)
{
	teeliza_buf b;
	va_list ap;
	const char *p;

	teeliza_buf_init(&b, 1 << 20);
	va_start(ap, first);
	for (p = first; p != NULL; p = va_arg(ap, const char *))
		assert_int_equal(teeliza_buf_append_str(&b, p), TEELIZA_OK);
	va_end(ap);
	assert_int_equal(teeliza_buf_append(&b, "", 1), TEELIZA_OK);
	return (char *)b.data;
}

static void wr32(uint8_t *p, uint32_t v)
{
	p[0] = (uint8_t)v;
	p[1] = (uint8_t)(v >> 8);
	p[2] = (uint8_t)(v >> 16);
	p[3] = (uint8_t)(v >> 24);
}

static uint32_t rd32(const uint8_t *p)
{
	return (uint32_t)p[0] | (uint32_t)p[1] << 8 | (uint32_t)p[2] << 16 | (uint32_t)p[3] << 24;
}

/*
 * The vector quote (v4) with another PEM chain in its certification data:
 * the three enclosing lengths (signature data, outer type 6 data, inner type
 * 5 data) are fixed up; nothing the chain sits in is signed.
 */
static uint8_t *quote_with_chain(size_t *len, const char *pem)
{
	enum { SIG_DATA_LEN = 48 + 584, OUTER_SIZE = SIG_DATA_LEN + 4 + 64 + 64 + 2 };
	dcap_quote q;
	size_t off, old_len, new_len = strlen(pem) + 1, tail;
	uint8_t *out;
	int64_t delta;

	assert_int_equal(dcap_quote_parse(&q, V.quote, V.quote_len), TEELIZA_OK);
	assert_int_equal(q.header.version, 4);
	off = (size_t)(q.cert_data - V.quote);
	old_len = q.cert_data_len;
	tail = V.quote_len - off - old_len;
	delta = (int64_t)new_len - (int64_t)old_len;
	*len = off + new_len + tail;
	out = malloc(*len);
	assert_non_null(out);
	memcpy(out, V.quote, off);
	memcpy(out + off, pem, new_len);
	memcpy(out + off + new_len, V.quote + off + old_len, tail);
	wr32(out + off - 4, (uint32_t)new_len);
	wr32(out + OUTER_SIZE, (uint32_t)((int64_t)rd32(out + OUTER_SIZE) + delta));
	wr32(out + SIG_DATA_LEN, (uint32_t)((int64_t)rd32(out + SIG_DATA_LEN) + delta));
	return out;
}

/* The vector collateral with one field replaced (value NULL: unchanged). */
static dcap_collateral *collateral_with(const char *field, const char *value)
{
	json_t *c = json_deep_copy(V.coll);
	dcap_collateral *coll = NULL;
	char *text;

	assert_non_null(c);
	if (field != NULL)
		assert_int_equal(json_object_set_new(c, field, json_string(value)), 0);
	text = json_dumps(c, JSON_COMPACT | JSON_PRESERVE_ORDER);
	assert_non_null(text);
	assert_int_equal(dcap_collateral_parse_json(&coll, text, strlen(text)), TEELIZA_OK);
	free(text);
	json_decref(c);
	return coll;
}

/* The PCK CRL of the vector, re-signed by key under issuer's name (what a forger of the CA would do). */
static char *pck_crl_signed_by(X509 *issuer, EVP_PKEY *key)
{
	const char *hex = json_string_value(json_object_get(V.coll, "pck_crl"));
	size_t der_len;
	uint8_t *der = hex_alloc(hex, &der_len);
	const unsigned char *p = der;
	X509_CRL *crl = d2i_X509_CRL(NULL, &p, (long)der_len);
	unsigned char *out = NULL;
	char *text;
	int n;

	assert_non_null(crl);
	assert_int_equal(X509_CRL_set_issuer_name(crl, X509_get_subject_name(issuer)), 1);
	assert_true(X509_CRL_sign(crl, key, EVP_sha256()) > 0);
	n = i2d_X509_CRL(crl, &out);
	assert_true(n > 0);
	text = malloc(2 * (size_t)n + 1);
	assert_non_null(text);
	teeliza_hex_encode(text, out, (size_t)n);
	OPENSSL_free(out);
	X509_CRL_free(crl);
	free(der);
	return text;
}

/*
 * Verify twice with one collateral object (the second run may be served
 * from what the first remembered), and once more after a genuine quote has
 * filled the memo; all must give the same failure. needle: what the reason
 * must name.
 */
static void expect_rejected(const char *label, const uint8_t *quote, size_t quote_len, dcap_collateral *coll,
                            const char *needle)
{
	dcap_result *r = malloc(sizeof(*r));
	int round;

	assert_non_null(r);
	for (round = 0; round < 2; round++) {
		teeliza_err err = dcap_verify(r, quote, quote_len, coll, TDX_NOW, NULL, NULL);

		if (r->verdict != DCAP_VERDICT_FAILED)
			fail_msg("%s: verdict %d (%s), expected a failure", label, r->verdict, r->reason);
		assert_int_not_equal(err, TEELIZA_OK);
		if (r->failure != DCAP_FAIL_CHAIN && r->failure != DCAP_FAIL_UNTRUSTED_ROOT)
			fail_msg("%s: failure %s (%s), expected chain or untrusted_root", label,
			         dcap_failure_name(r->failure), r->reason);
		if (round == 0 && getenv("SHOW_REASONS"))
			fprintf(stderr, "%s: %s\n", label, r->reason);
		if (strstr(r->reason, needle) == NULL)
			fail_msg("%s: the reason \"%s\" does not name %s", label, r->reason, needle);
	}
	free(r);
}

static void expect_trusted(const uint8_t *quote, size_t quote_len, dcap_collateral *coll)
{
	dcap_result *r = malloc(sizeof(*r));

	assert_non_null(r);
	assert_int_equal(dcap_verify(r, quote, quote_len, coll, TDX_NOW, NULL, NULL), TEELIZA_OK);
	assert_int_equal(r->verdict, DCAP_VERDICT_TRUSTED);
	assert_int_equal(r->status, DCAP_STATUS_UP_TO_DATE);
	assert_true(r->intel_root);
	free(r);
}

/* ---- the chains ---- */

static void test_vector_still_trusted(void **state)
{
	dcap_collateral *coll = collateral_with(NULL, NULL);
	char *pem = chain_of(V.pem_leaf, V.pem_pck_ca, V.pem_root, NULL);
	uint8_t *q;
	size_t n;

	(void)state;
	expect_trusted(V.quote, V.quote_len, coll);
	expect_trusted(V.quote, V.quote_len, coll);
	/* Rebuilding the quote's chain from its own certificates changes nothing. */
	q = quote_with_chain(&n, pem);
	expect_trusted(q, n, coll);
	free(q);
	free(pem);
	dcap_collateral_free(coll);
}

/* The case: a forged root with Intel's name at the top of pck_crl_issuer_chain gave TRUSTED. */
static void test_pck_crl_chain(void **state)
{
	const struct {
		const char *label, *needle;
		char *chain;
		char *pck_crl;
	} cases[] = {
		{"forged root", "the PCK CRL issuer chain", chain_of(V.pem_pck_ca, V.pem_f_root, NULL), NULL},
		{"forged root with Intel's key id", "the PCK CRL issuer chain",
		 chain_of(V.pem_pck_ca, V.pem_f_root_kid, NULL), NULL},
		{"forged root appended", "the PCK CRL issuer chain",
		 chain_of(V.pem_pck_ca, V.pem_root, V.pem_f_root, NULL), NULL},
		{"forged root inserted", "the PCK CRL issuer chain",
		 chain_of(V.pem_pck_ca, V.pem_f_root, V.pem_root, NULL), NULL},
		{"Intel root appended twice", "the PCK CRL issuer chain",
		 chain_of(V.pem_pck_ca, V.pem_root, V.pem_f_root_kid, V.pem_root, NULL), NULL},
		/* A forged CA cannot sign the real PCK CRL ... */
		{"forged CA", "PCK CRL issuer chain", chain_of(V.pem_f_ca, V.pem_root, NULL), NULL},
		/* ... and with a PCK CRL of its own the quote's leaf has no CRL from its issuer. */
		{"forged CA and CRL", "certificate CRL", chain_of(V.pem_f_ca, V.pem_f_root_kid, NULL),
		 pck_crl_signed_by(V.f_ca, V.fk_ca)},
	};
	size_t i;

	(void)state;
	for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		json_t *c = json_deep_copy(V.coll);
		dcap_collateral *coll;
		char *text;

		json_object_set_new(c, "pck_crl_issuer_chain", json_string(cases[i].chain));
		if (cases[i].pck_crl != NULL)
			json_object_set_new(c, "pck_crl", json_string(cases[i].pck_crl));
		text = json_dumps(c, JSON_COMPACT | JSON_PRESERVE_ORDER);
		assert_int_equal(dcap_collateral_parse_json(&coll, text, strlen(text)), TEELIZA_OK);
		expect_rejected(cases[i].label, V.quote, V.quote_len, coll, cases[i].needle);
		dcap_collateral_free(coll);
		free(text);
		json_decref(c);
		free(cases[i].chain);
		free(cases[i].pck_crl);
	}
}

/* The same forgeries in the two signing chains, one at a time and in both at once. */
static void test_signing_chains(void **state)
{
	static const char *const fields[] = {"tcb_info_issuer_chain", "qe_identity_issuer_chain"};
	static const char *const names[] = {"TCB Info issuer chain", "QE Identity issuer chain"};
	size_t f, i;

	(void)state;
	for (f = 0; f < 2; f++) {
		const struct {
			const char *label;
			char *chain;
		} cases[] = {
			{"forged root", chain_of(V.pem_tcb, V.pem_f_root, NULL)},
			{"forged root with Intel's key id", chain_of(V.pem_tcb, V.pem_f_root_kid, NULL)},
			{"forged root appended", chain_of(V.pem_tcb, V.pem_root, V.pem_f_root, NULL)},
			{"forged root inserted", chain_of(V.pem_tcb, V.pem_f_root, V.pem_root, NULL)},
			{"forged signer", chain_of(V.pem_f_tcb, V.pem_root, NULL)},
			{"forged signer under a forged root", chain_of(V.pem_f_tcb, V.pem_f_root_kid, NULL)},
		};

		for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
			dcap_collateral *coll = collateral_with(fields[f], cases[i].chain);
			char label[160], needle[80];

			snprintf(label, sizeof(label), "%s: %s", fields[f], cases[i].label);
			/* A forged TCB Info chain root also fails to have signed the root CA CRL: named too. */
			snprintf(needle, sizeof(needle), "%s", names[f]);
			expect_rejected(label, V.quote, V.quote_len, coll, needle);
			dcap_collateral_free(coll);
			free(cases[i].chain);
		}
	}
}

static void test_quote_pck_chain(void **state)
{
	const struct {
		const char *label;
		char *chain;
	} cases[] = {
		{"forged root", chain_of(V.pem_leaf, V.pem_pck_ca, V.pem_f_root, NULL)},
		{"forged root with Intel's key id", chain_of(V.pem_leaf, V.pem_pck_ca, V.pem_f_root_kid, NULL)},
		{"forged root appended", chain_of(V.pem_leaf, V.pem_pck_ca, V.pem_root, V.pem_f_root, NULL)},
		{"forged root inserted", chain_of(V.pem_leaf, V.pem_pck_ca, V.pem_f_root, V.pem_root, NULL)},
		{"forged CA", chain_of(V.pem_leaf, V.pem_f_ca, V.pem_root, NULL)},
		{"forged CA and root", chain_of(V.pem_leaf, V.pem_f_ca, V.pem_f_root_kid, NULL)},
		{"forged CA appended", chain_of(V.pem_leaf, V.pem_pck_ca, V.pem_root, V.pem_f_ca, NULL)},
	};
	dcap_collateral *coll = collateral_with(NULL, NULL);
	size_t i, n;

	(void)state;
	for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		uint8_t *q = quote_with_chain(&n, cases[i].chain);

		expect_rejected(cases[i].label, q, n, coll, "the quote's PCK certificate chain");
		free(q);
		free(cases[i].chain);
	}
	/* The collateral still verifies the genuine quote after all that. */
	expect_trusted(V.quote, V.quote_len, coll);
	dcap_collateral_free(coll);
}

/* ---- dcap_chain_on_path ---- */

static STACK_OF(X509) *stack_of(X509 *first, ...)
{
	STACK_OF(X509) *sk = sk_X509_new_null();
	va_list ap;
	X509 *x;

	assert_non_null(sk);
	va_start(ap, first);
	for (x = first; x != NULL; x = va_arg(ap, X509 *)) {
		X509_up_ref(x);
		assert_true(sk_X509_push(sk, x) > 0);
	}
	va_end(ap);
	return sk;
}

static bool on_path(const dcap_verified_paths *seen, STACK_OF(X509) *chain)
{
	dcap_chain_check k;
	bool r = dcap_chain_on_path(&k, seen, chain);

	if (r) {
		assert_int_equal(k.failure, DCAP_FAIL_NONE);
		assert_true(k.intel_root);
		assert_true(k.valid_from <= k.valid_until);
	}
	sk_X509_pop_free(chain, X509_free);
	return r;
}

static void test_on_path(void **state)
{
	dcap_verified_paths seen = {0};
	dcap_chain_check k;
	int64_t leaf_until, ca_until;

	(void)state;
	memset(&k, 0, sizeof(k));
	k.intel_root = true;
	seen.n = 1;
	seen.path[0].certs = stack_of(V.leaf, V.pck_ca, V.root, NULL);
	seen.path[0].check = k;
	seen.path[0].crl_from = INT64_MIN;

	assert_false(dcap_chain_on_path(&k, NULL, seen.path[0].certs));
	/* Pieces of the path: from any certificate up, the root optional. */
	assert_true(on_path(&seen, stack_of(V.leaf, V.pck_ca, V.root, NULL)));
	assert_true(on_path(&seen, stack_of(V.pck_ca, V.root, NULL)));
	assert_true(on_path(&seen, stack_of(V.pck_ca, NULL)));
	assert_true(on_path(&seen, stack_of(V.root, NULL)));
	assert_true(on_path(&seen, stack_of(V.leaf, V.pck_ca, NULL)));
	/* Anything else is not: a forged certificate anywhere, a gap, a certificate below the first. */
	assert_false(on_path(&seen, stack_of(V.pck_ca, V.f_root, NULL)));
	assert_false(on_path(&seen, stack_of(V.pck_ca, V.f_root_kid, NULL)));
	assert_false(on_path(&seen, stack_of(V.pck_ca, V.root, V.f_root, NULL)));
	assert_false(on_path(&seen, stack_of(V.pck_ca, V.f_root, V.root, NULL)));
	assert_false(on_path(&seen, stack_of(V.f_ca, V.root, NULL)));
	assert_false(on_path(&seen, stack_of(V.leaf, V.root, NULL)));
	assert_false(on_path(&seen, stack_of(V.leaf, NULL)));
	assert_false(on_path(&seen, stack_of(V.pck_ca, V.leaf, NULL)));
	assert_false(on_path(&seen, stack_of(V.root, V.pck_ca, NULL)));
	assert_false(on_path(&seen, stack_of(V.tcb, V.root, NULL)));
	/* The window is the piece's: the leaf's notAfter no longer counts without the leaf. */
	leaf_until = dcap_asn1_time(X509_get0_notAfter(V.leaf));
	ca_until = dcap_asn1_time(X509_get0_notAfter(V.pck_ca));
	{
		STACK_OF(X509) *piece = stack_of(V.pck_ca, V.root, NULL);

		assert_true(dcap_chain_on_path(&k, &seen, piece));
		assert_true(k.valid_until >= leaf_until);
		assert_true(k.valid_until <= ca_until);
		assert_ptr_equal(k.root, V.root);
		sk_X509_pop_free(piece, X509_free);
	}
	dcap_verified_paths_free(&seen);
	assert_int_equal(seen.n, 0);
}

/* A chain that verifies completely under a root with Intel's name but not Intel's key: called what it is. */
static void test_forged_intel_root_named(void **state)
{
	X509_CRL *crl = X509_CRL_new();
	ASN1_TIME *t1 = ASN1_TIME_set(NULL, (time_t)(TDX_NOW - 86400)), *t2 = ASN1_TIME_set(NULL, (time_t)(TDX_NOW + 86400));
	STACK_OF(X509) *chain = stack_of(V.f_root, NULL);
	dcap_crl_ref ref;
	dcap_chain_check k;
	dcap_verified_paths seen = {0};

	(void)state;
	assert_non_null(crl);
	assert_int_equal(X509_CRL_set_version(crl, 1), 1);
	assert_int_equal(X509_CRL_set_issuer_name(crl, X509_get_subject_name(V.f_root)), 1);
	assert_int_equal(X509_CRL_set1_lastUpdate(crl, t1), 1);
	assert_int_equal(X509_CRL_set1_nextUpdate(crl, t2), 1);
	assert_true(X509_CRL_sign(crl, V.fk_root, EVP_sha256()) > 0);
	assert_int_equal(dcap_crl_accept(&ref, crl, V.f_root, "a CRL", "the forged root"), TEELIZA_OK);
	assert_int_equal(dcap_chain_verify(&k, chain, NULL, &ref, 1, NULL, TDX_NOW, &seen, "the test chain"),
	                 TEELIZA_ERR_VERIFY);
	assert_int_equal(k.failure, DCAP_FAIL_UNTRUSTED_ROOT);
	assert_false(k.intel_root);
	assert_non_null(strstr(teeliza_errmsg(), "root named \"Intel SGX Root CA\" that is not the pinned Intel SGX Root CA"));
	/* Nothing unverified is remembered. */
	assert_int_equal(seen.n, 0);
	sk_X509_pop_free(chain, X509_free);
	X509_CRL_free(crl);
	ASN1_TIME_free(t1);
	ASN1_TIME_free(t2);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_vector_still_trusted),
		cmocka_unit_test(test_pck_crl_chain),
		cmocka_unit_test(test_signing_chains),
		cmocka_unit_test(test_quote_pck_chain),
		cmocka_unit_test(test_on_path),
		cmocka_unit_test(test_forged_intel_root_named),
	};

	return cmocka_run_group_tests(tests, setup, teardown);
}
