/*
 * Simulator PKI, quotes and collateral: layout (through the real parser and
 * at absolute offsets), every signature and binding checked independently
 * with OpenSSL, chains against the simulator root and not Intel's,
 * collateral consistency with the quote and PCK, persistence, bad state
 * files, and concurrent quoting.
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <cmocka.h>

#include "testutil.h"
#include "teeliza/common/common.h"
#include "teeliza/dcap/pck.h"
#include "teeliza/dcap/quote.h"
#include "teeliza/dcap/verify.h"
#include "teeliza/common/encoding.h"
#include "teeliza/sim/simulator.h"

#include <dirent.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include <openssl/bio.h>
#include <openssl/core_names.h>
#include <openssl/ec.h>
#include <openssl/evp.h>
#include <openssl/param_build.h>
#include <openssl/pem.h>
#include <openssl/rand.h>
#include <openssl/sha.h>
#include <openssl/x509.h>
#include <openssl/x509_vfy.h>
#include <openssl/x509v3.h>

/* Absolute offsets in a v4 TDX quote (spec §1.1, §1.2: body at 48). */
#define OFF_TD_ATTRIBUTES (48 + 120)
#define OFF_RTMR0 (48 + 328)
#define OFF_REPORT_DATA (48 + 520)
#define OFF_SIG_DATA_LEN (48 + 584)

static const char intel_vendor_id_hex[] = "939a7233f79c4ca9940a0db3957f0607";

/* ---- helpers ---- */

static char *make_tmpdir(void)
{
	char *dir = strdup("/tmp/test_sim_quote.XXXXXX");

	assert_non_null(dir);
	assert_non_null(mkdtemp(dir));
	return dir;
}

static void rm_rf(const char *dir)
{
	DIR *d = opendir(dir);
	struct dirent *e;
	char path[4096];

	if (d == NULL) {
		unlink(dir);
		return;
	}
	while ((e = readdir(d)) != NULL) {
		if (strcmp(e->d_name, ".") == 0 || strcmp(e->d_name, "..") == 0)
			continue;
		snprintf(path, sizeof(path), "%s/%s", dir, e->d_name);
		rm_rf(path);
	}
	closedir(d);
	rmdir(dir);
}

/* dir/name in one of four rotating static buffers, so two can be used in one call. */
static char *path_in(const char *dir, const char *name)
{
	static char paths[4][4096];
	static unsigned next;
	char *path = paths[next++ % 4];

	snprintf(path, sizeof(paths[0]), "%s/%s", dir, name);
	return path;
}

static void random_inputs(uint8_t report_data[64], uint8_t rtmr[4][48])
{
	assert_int_equal(RAND_bytes(report_data, 64), 1);
	assert_int_equal(RAND_bytes(&rtmr[0][0], 4 * 48), 1);
}

static STACK_OF(X509) *pem_certs(const void *pem, size_t len)
{
	STACK_OF(X509) *sk = sk_X509_new_null();
	BIO *bio = BIO_new_mem_buf(pem, (int)len);
	X509 *x;

	assert_non_null(sk);
	assert_non_null(bio);
	while ((x = PEM_read_bio_X509(bio, NULL, NULL, NULL)) != NULL)
		sk_X509_push(sk, x);
	BIO_free(bio);
	return sk;
}

static X509 *root_cert(const tee_sim_pki *pki)
{
	teeliza_buf pem;
	STACK_OF(X509) *sk;
	X509 *root;

	assert_int_equal(tee_sim_pki_root_pem(&pem, pki), TEELIZA_OK);
	sk = pem_certs(pem.data, pem.len);
	assert_int_equal(sk_X509_num(sk), 1);
	root = sk_X509_shift(sk);
	sk_X509_pop_free(sk, X509_free);
	teeliza_buf_free(&pem);
	return root;
}

static X509 *intel_root(void)
{
	size_t len;
	uint8_t *pem = vector_read("Intel_SGX_Provisioning_Certification_RootCA.pem", &len);
	STACK_OF(X509) *sk = pem_certs(pem, len);
	X509 *root;

	assert_int_equal(sk_X509_num(sk), 1);
	root = sk_X509_shift(sk);
	sk_X509_pop_free(sk, X509_free);
	free(pem);
	return root;
}

/* OpenSSL chain verification of leaf with untrusted intermediates against exactly one trusted root. */
static int chain_verifies(X509 *leaf, STACK_OF(X509) *untrusted, X509 *root, STACK_OF(X509_CRL) *crls)
{
	X509_STORE *store = X509_STORE_new();
	X509_STORE_CTX *ctx = X509_STORE_CTX_new();
	int ok;

	assert_non_null(store);
	assert_non_null(ctx);
	assert_int_equal(X509_STORE_add_cert(store, root), 1);
	assert_int_equal(X509_STORE_CTX_init(ctx, store, leaf, untrusted), 1);
	if (crls != NULL) {
		X509_STORE_CTX_set0_crls(ctx, crls);
		X509_STORE_CTX_set_flags(ctx, X509_V_FLAG_CRL_CHECK | X509_V_FLAG_CRL_CHECK_ALL);
	}
	ok = X509_verify_cert(ctx);
	X509_STORE_CTX_free(ctx);
	X509_STORE_free(store);
	return ok;
}

static EVP_PKEY *pub_from_xy(const uint8_t xy[64])
{
	uint8_t point[65];
	OSSL_PARAM_BLD *bld = OSSL_PARAM_BLD_new();
	OSSL_PARAM *params;
	EVP_PKEY_CTX *ctx = EVP_PKEY_CTX_new_from_name(NULL, "EC", NULL);
	EVP_PKEY *key = NULL;

	point[0] = 0x04;
	memcpy(point + 1, xy, 64);
	assert_non_null(bld);
	assert_int_equal(OSSL_PARAM_BLD_push_utf8_string(bld, OSSL_PKEY_PARAM_GROUP_NAME, "prime256v1", 0), 1);
	assert_int_equal(OSSL_PARAM_BLD_push_octet_string(bld, OSSL_PKEY_PARAM_PUB_KEY, point, sizeof(point)), 1);
	params = OSSL_PARAM_BLD_to_param(bld);
	assert_non_null(params);
	assert_int_equal(EVP_PKEY_fromdata_init(ctx), 1);
	assert_int_equal(EVP_PKEY_fromdata(ctx, &key, EVP_PKEY_PUBLIC_KEY, params), 1);
	OSSL_PARAM_free(params);
	OSSL_PARAM_BLD_free(bld);
	EVP_PKEY_CTX_free(ctx);
	return key;
}

/* ECDSA-P256-SHA256 check of a raw r ‖ s signature. */
static bool raw_sig_ok(EVP_PKEY *pub, const uint8_t sig[64], const void *msg, size_t len)
{
	ECDSA_SIG *es = ECDSA_SIG_new();
	BIGNUM *r = BN_bin2bn(sig, 32, NULL), *s = BN_bin2bn(sig + 32, 32, NULL);
	unsigned char *der = NULL;
	int der_len;
	EVP_MD_CTX *md = EVP_MD_CTX_new();
	bool ok;

	assert_non_null(es);
	assert_int_equal(ECDSA_SIG_set0(es, r, s), 1);
	der_len = i2d_ECDSA_SIG(es, &der);
	assert_true(der_len > 0);
	ok = EVP_DigestVerifyInit(md, NULL, EVP_sha256(), NULL, pub) == 1 &&
	     EVP_DigestVerify(md, der, (size_t)der_len, msg, len) == 1;
	EVP_MD_CTX_free(md);
	OPENSSL_free(der);
	ECDSA_SIG_free(es);
	return ok;
}

static bool hex_sig_ok(EVP_PKEY *pub, const char *hex, const char *text)
{
	uint8_t sig[64];
	size_t n;

	assert_int_equal(teeliza_hex_decode(sig, sizeof(sig), &n, hex, strlen(hex), false), TEELIZA_OK);
	assert_int_equal(n, 64);
	return raw_sig_ok(pub, sig, text, strlen(text));
}

static void make_quote(teeliza_buf *q, dcap_quote *pq, const tee_sim_pki *pki, uint8_t rd[64], uint8_t rtmr[4][48])
{
	random_inputs(rd, rtmr);
	assert_int_equal(tee_sim_quote(q, pki, rd, (const uint8_t(*)[48])rtmr), TEELIZA_OK);
	assert_int_equal(dcap_quote_parse(pq, q->data, q->len), TEELIZA_OK);
}

static int64_t parse_date(const char *s)
{
	struct tm tm;
	char *end;

	memset(&tm, 0, sizeof(tm));
	end = strptime(s, "%Y-%m-%dT%H:%M:%SZ", &tm);
	assert_non_null(end);
	assert_int_equal(*end, '\0');
	return (int64_t)timegm(&tm);
}

static const char *jstr(json_t *obj, const char *key)
{
	json_t *v = json_object_get(obj, key);

	assert_non_null(v);
	assert_true(json_is_string(v));
	return json_string_value(v);
}

static json_int_t jint(json_t *obj, const char *key)
{
	json_t *v = json_object_get(obj, key);

	assert_non_null(v);
	assert_true(json_is_integer(v));
	return json_integer_value(v);
}

static void assert_hex_field(json_t *obj, const char *key, const uint8_t *expect, size_t len)
{
	uint8_t buf[64];
	size_t n;
	const char *hex = jstr(obj, key);

	assert_int_equal(teeliza_hex_decode(buf, sizeof(buf), &n, hex, strlen(hex), false), TEELIZA_OK);
	assert_int_equal(n, len);
	assert_memory_equal(buf, expect, len);
}

/* ---- shared PKI for most tests ---- */

typedef struct fixture {
	char *dir;
	tee_sim_pki *pki;
} fixture;

static int setup(void **state)
{
	fixture *f = calloc(1, sizeof(*f));

	assert_non_null(f);
	f->dir = make_tmpdir();
	assert_int_equal(tee_sim_pki_open(&f->pki, path_in(f->dir, "pki")), TEELIZA_OK);
	*state = f;
	return 0;
}

static int teardown(void **state)
{
	fixture *f = *state;

	tee_sim_pki_free(f->pki);
	rm_rf(f->dir);
	free(f->dir);
	free(f);
	return 0;
}

/* ---- quote layout ---- */

static void test_quote_layout(void **state)
{
	fixture *f = *state;
	uint8_t rd[64], rtmr[4][48];
	teeliza_buf q;
	dcap_quote pq;
	uint32_t sig_len;
	int i;

	make_quote(&q, &pq, f->pki, rd, rtmr);
	assert_int_equal(pq.header.version, 4);
	assert_int_equal(pq.header.att_key_type, DCAP_ATT_KEY_ECDSA_P256);
	assert_int_equal(pq.header.tee_type, DCAP_TEE_TYPE_TDX);
	assert_int_equal(pq.header.qe_svn, 0);
	assert_int_equal(pq.header.pce_svn, 0);
	assert_hex_equal(pq.header.qe_vendor_id, 16, intel_vendor_id_hex);
	assert_int_equal(pq.body_type, DCAP_BODY_TD10);
	assert_int_equal(pq.body_size, DCAP_TD10_REPORT_LEN);
	assert_int_equal(pq.signed_len, DCAP_HEADER_LEN + DCAP_TD10_REPORT_LEN);

	/* report_data and RTMRs where the spec puts them, and where the parser finds them */
	assert_memory_equal(q.data + OFF_REPORT_DATA, rd, 64);
	assert_ptr_equal(pq.body.td.report_data, q.data + OFF_REPORT_DATA);
	for (i = 0; i < 4; i++) {
		assert_memory_equal(q.data + OFF_RTMR0 + 48 * i, rtmr[i], 48);
		assert_ptr_equal(pq.body.td.rtmr[i], q.data + OFF_RTMR0 + 48 * i);
	}

	/* production-looking TD: SEPT_VE_DISABLE set, DEBUG and reserved bits clear; Intel-signed module */
	assert_true(pq.body.td.td_attributes & DCAP_TD_ATTR_SEPT_VE_DISABLE);
	assert_false(pq.body.td.td_attributes & DCAP_TD_ATTR_DEBUG);
	assert_int_equal(pq.body.td.td_attributes, DCAP_TD_ATTR_SEPT_VE_DISABLE);
	assert_int_equal(q.data[OFF_TD_ATTRIBUTES + 3], 0x10);
	assert_int_equal(pq.body.td.xfam, 0x602e7);
	assert_int_equal(pq.body.td.seam_attributes, 0);
	for (i = 0; i < 48; i++)
		assert_int_equal(pq.body.td.mrsignerseam[i], 0);
	/* the fixed measurements are readable text, not hashes */
	assert_non_null(memmem(pq.body.td.mrtd, 48, "teeliza", 7));
	assert_non_null(memmem(pq.body.td.mrseam, 48, "NOT INTEL", 9));

	/* signature data: exact lengths, no padding */
	sig_len = (uint32_t)q.data[OFF_SIG_DATA_LEN] | (uint32_t)q.data[OFF_SIG_DATA_LEN + 1] << 8 |
	          (uint32_t)q.data[OFF_SIG_DATA_LEN + 2] << 16 | (uint32_t)q.data[OFF_SIG_DATA_LEN + 3] << 24;
	assert_int_equal(sig_len, pq.sig_data_len);
	assert_int_equal(q.len, OFF_SIG_DATA_LEN + 4 + sig_len);
	assert_int_equal(pq.parsed_len, q.len);
	assert_int_equal(pq.trailing_len, 0);
	assert_int_equal(pq.cert_type, 5);
	assert_int_equal(pq.qe_auth_len, 32);
	/* the PEM chain ends with a NUL, as Intel's QE writes it */
	assert_int_equal(pq.cert_data[pq.cert_data_len - 1], 0);
	assert_int_equal(pq.qe_report.isvprodid, 2);
	assert_false(pq.qe_report.attributes[0] & 0x02);
	teeliza_buf_free(&q);
}

static void test_quote_signature(void **state)
{
	fixture *f = *state;
	uint8_t rd[64], rtmr[4][48];
	teeliza_buf q;
	dcap_quote pq;
	EVP_PKEY *att;

	make_quote(&q, &pq, f->pki, rd, rtmr);
	att = pub_from_xy(pq.att_pub_key);
	assert_true(raw_sig_ok(att, pq.signature, pq.signed_data, pq.signed_len));
	/* one flipped report_data bit breaks it */
	q.data[OFF_REPORT_DATA] ^= 1;
	assert_false(raw_sig_ok(att, pq.signature, pq.signed_data, pq.signed_len));
	q.data[OFF_REPORT_DATA] ^= 1;
	/* the signature covers exactly header ‖ body: not a byte less */
	assert_false(raw_sig_ok(att, pq.signature, pq.signed_data, pq.signed_len - 1));
	EVP_PKEY_free(att);
	teeliza_buf_free(&q);
}

static void test_two_quotes_differ_only_in_inputs(void **state)
{
	fixture *f = *state;
	uint8_t rd[64], rtmr[4][48], rd2[64], rtmr2[4][48];
	teeliza_buf q1, q2;
	dcap_quote p1, p2;
	size_t tail;

	make_quote(&q1, &p1, f->pki, rd, rtmr);
	make_quote(&q2, &p2, f->pki, rd2, rtmr2);
	assert_int_equal(q1.len, q2.len);
	/* header and fixed body fields equal */
	assert_memory_equal(q1.data, q2.data, OFF_RTMR0);
	/* everything after the attestation signature (key, QE report, chain) is the same */
	tail = (size_t)(p1.att_pub_key - q1.data);
	assert_memory_equal(q1.data + tail, q2.data + tail, q1.len - tail);
	assert_memory_not_equal(p1.signature, p2.signature, 64);
	teeliza_buf_free(&q1);
	teeliza_buf_free(&q2);
}

/* ---- QE report and PCK chain ---- */

static void test_qe_report(void **state)
{
	fixture *f = *state;
	uint8_t rd[64], rtmr[4][48], bound[64 + 32], digest[32];
	static const uint8_t zero[32];
	teeliza_buf q;
	dcap_quote pq;
	STACK_OF(X509) *chain;
	EVP_PKEY *pck_pub;

	make_quote(&q, &pq, f->pki, rd, rtmr);
	chain = pem_certs(pq.cert_data, pq.cert_data_len);
	assert_int_equal(sk_X509_num(chain), 3);
	pck_pub = X509_get0_pubkey(sk_X509_value(chain, 0));
	assert_non_null(pck_pub);
	assert_true(raw_sig_ok(pck_pub, pq.qe_report_sig, pq.qe_report.raw, DCAP_SGX_REPORT_LEN));
	/* signed by the leaf, not by the intermediate */
	assert_false(raw_sig_ok(X509_get0_pubkey(sk_X509_value(chain, 1)), pq.qe_report_sig, pq.qe_report.raw,
	                        DCAP_SGX_REPORT_LEN));

	/* report_data = SHA-256(att_pub ‖ qe_auth) ‖ 32 zero bytes */
	memcpy(bound, pq.att_pub_key, 64);
	memcpy(bound + 64, pq.qe_auth, pq.qe_auth_len);
	SHA256(bound, 64 + (size_t)pq.qe_auth_len, digest);
	assert_memory_equal(pq.qe_report.report_data, digest, 32);
	assert_memory_equal(pq.qe_report.report_data + 32, zero, 32);
	sk_X509_pop_free(chain, X509_free);
	teeliza_buf_free(&q);
}

static void test_chain_sim_root_not_intel(void **state)
{
	fixture *f = *state;
	uint8_t rd[64], rtmr[4][48];
	teeliza_buf q;
	dcap_quote pq;
	STACK_OF(X509) *chain;
	X509 *leaf, *sim_root, *intel;
	char cn[256];
	uint8_t fp_sim[32], fp_intel[32];
	unsigned n;

	make_quote(&q, &pq, f->pki, rd, rtmr);
	chain = pem_certs(pq.cert_data, pq.cert_data_len);
	assert_int_equal(sk_X509_num(chain), 3);
	leaf = sk_X509_value(chain, 0);
	sim_root = root_cert(f->pki);
	intel = intel_root();

	assert_int_equal(chain_verifies(leaf, chain, sim_root, NULL), 1);
	assert_int_equal(chain_verifies(leaf, chain, intel, NULL), 0);
	/* the chain's last certificate is the exported root */
	assert_int_equal(X509_cmp(sk_X509_value(chain, 2), sim_root), 0);
	assert_int_equal(X509_digest(sim_root, EVP_sha256(), fp_sim, &n), 1);
	assert_int_equal(X509_digest(intel, EVP_sha256(), fp_intel, &n), 1);
	assert_memory_not_equal(fp_sim, fp_intel, 32);

	/* the names say what it is */
	assert_true(X509_NAME_get_text_by_NID(X509_get_subject_name(sim_root), NID_commonName, cn, sizeof(cn)) > 0);
	assert_string_equal(cn, "teeliza Simulator Root CA \xe2\x80\x94 NOT INTEL");
	assert_true(X509_NAME_get_text_by_NID(X509_get_subject_name(sim_root), NID_organizationName, cn,
	                                      sizeof(cn)) > 0);
	assert_string_equal(cn, "teeliza simulator");
	assert_true(X509_NAME_get_text_by_NID(X509_get_subject_name(leaf), NID_commonName, cn, sizeof(cn)) > 0);
	assert_string_equal(cn, "teeliza Simulator PCK Certificate");
	assert_true(X509_NAME_get_text_by_NID(X509_get_subject_name(sk_X509_value(chain, 1)), NID_commonName, cn,
	                                      sizeof(cn)) > 0);
	assert_string_equal(cn, "teeliza Simulator PCK Platform CA");
	/* CA flags as Intel's: root and platform CA are CAs, the PCK is not */
	assert_int_equal(X509_check_ca(sim_root), 1);
	assert_int_equal(X509_check_ca(sk_X509_value(chain, 1)), 1);
	assert_int_equal(X509_check_ca(leaf), 0);

	X509_free(intel);
	X509_free(sim_root);
	sk_X509_pop_free(chain, X509_free);
	teeliza_buf_free(&q);
}

static void test_pck_sgx_extension(void **state)
{
	fixture *f = *state;
	uint8_t rd[64], rtmr[4][48];
	teeliza_buf q;
	dcap_quote pq;
	STACK_OF(X509) *chain;
	dcap_pck_ext ext;
	char hex[13];

	make_quote(&q, &pq, f->pki, rd, rtmr);
	chain = pem_certs(pq.cert_data, pq.cert_data_len);
	/* decoded by the verifier's own strict DER reader */
	assert_int_equal(dcap_pck_ext_parse(&ext, sk_X509_value(chain, 0)), TEELIZA_OK);
	teeliza_hex_encode(hex, ext.fmspc, 6);
	assert_string_equal(hex, "00aa5e1ee700");
	assert_int_equal(ext.pceid[0], 0);
	assert_int_equal(ext.pceid[1], 0);
	assert_int_equal(ext.sgx_type, DCAP_SGX_TYPE_SCALABLE);
	assert_true(ext.has_platform_instance_id);
	assert_true(ext.has_configuration);
	/* the QE runs on this platform: its CPUSVN is the PCK's */
	assert_memory_equal(ext.cpusvn, pq.qe_report.cpusvn, 16);
	/* an intermediate has no SGX extension */
	assert_int_equal(dcap_pck_ext_parse(&ext, sk_X509_value(chain, 1)), TEELIZA_ERR_NOT_FOUND);
	sk_X509_pop_free(chain, X509_free);
	teeliza_buf_free(&q);
}

/* ---- collateral ---- */

/* Check one signed collateral item: chain to the sim root (not Intel), signature over the exact text. */
static void check_signed_item(json_t *coll, const char *chain_key, const char *text_key, const char *sig_key,
                              X509 *sim_root, X509 *intel)
{
	const char *chain_pem = jstr(coll, chain_key);
	STACK_OF(X509) *chain = pem_certs(chain_pem, strlen(chain_pem));
	X509 *signer;
	char cn[256];
	char *tampered;

	assert_int_equal(sk_X509_num(chain), 2);
	signer = sk_X509_value(chain, 0);
	assert_true(X509_NAME_get_text_by_NID(X509_get_subject_name(signer), NID_commonName, cn, sizeof(cn)) > 0);
	assert_string_equal(cn, "teeliza Simulator TCB Signing");
	assert_int_equal(chain_verifies(signer, chain, sim_root, NULL), 1);
	assert_int_equal(chain_verifies(signer, chain, intel, NULL), 0);
	assert_true(hex_sig_ok(X509_get0_pubkey(signer), jstr(coll, sig_key), jstr(coll, text_key)));
	/* the signature covers the exact bytes: one added space breaks it */
	tampered = malloc(strlen(jstr(coll, text_key)) + 2);
	assert_non_null(tampered);
	tampered[0] = ' ';
	memcpy(tampered + 1, jstr(coll, text_key), strlen(jstr(coll, text_key)) + 1);
	assert_false(hex_sig_ok(X509_get0_pubkey(signer), jstr(coll, sig_key), tampered));
	free(tampered);
	sk_X509_pop_free(chain, X509_free);
}

static X509_CRL *crl_from_hex(const char *hex)
{
	teeliza_buf der;
	const unsigned char *p;
	X509_CRL *crl;

	teeliza_buf_init(&der, 1 << 16);
	assert_int_equal(teeliza_hex_decode_buf(&der, hex, strlen(hex), false), TEELIZA_OK);
	p = der.data;
	crl = d2i_X509_CRL(NULL, &p, (long)der.len);
	assert_non_null(crl);
	assert_ptr_equal(p, der.data + der.len);
	teeliza_buf_free(&der);
	return crl;
}

static void check_crl(X509_CRL *crl, X509 *issuer, int64_t now)
{
	assert_int_equal(X509_NAME_cmp(X509_CRL_get_issuer(crl), X509_get_subject_name(issuer)), 0);
	assert_int_equal(X509_CRL_verify(crl, X509_get0_pubkey(issuer)), 1);
	/* empty: no revokedCertificates at all (num is -1 for the absent list) */
	assert_true(sk_X509_REVOKED_num(X509_CRL_get_REVOKED(crl)) <= 0);
	assert_int_equal(X509_cmp_time(X509_CRL_get0_lastUpdate(crl), &(time_t){ (time_t)now }), -1);
	assert_int_equal(X509_cmp_time(X509_CRL_get0_nextUpdate(crl), &(time_t){ (time_t)now }), 1);
}

static void test_collateral_signatures_and_crls(void **state)
{
	fixture *f = *state;
	int64_t now = (int64_t)time(NULL);
	teeliza_buf text, q;
	json_t *coll;
	json_error_t jerr;
	X509 *sim_root = root_cert(f->pki), *intel = intel_root();
	STACK_OF(X509) *pck_chain, *crl_chain;
	STACK_OF(X509_CRL) *crls;
	X509_CRL *root_crl, *pck_crl;
	dcap_quote pq;
	uint8_t rd[64], rtmr[4][48];

	assert_int_equal(tee_sim_collateral_json(&text, f->pki, now), TEELIZA_OK);
	coll = json_loadb((const char *)text.data, text.len, 0, &jerr);
	assert_non_null(coll);
	assert_int_equal(json_object_size(coll), 9);

	check_signed_item(coll, "tcb_info_issuer_chain", "tcb_info", "tcb_info_signature", sim_root, intel);
	check_signed_item(coll, "qe_identity_issuer_chain", "qe_identity", "qe_identity_signature", sim_root, intel);

	/* CRLs: root CRL from the root, PCK CRL from the platform CA named in pck_crl_issuer_chain */
	crl_chain = pem_certs(jstr(coll, "pck_crl_issuer_chain"), strlen(jstr(coll, "pck_crl_issuer_chain")));
	assert_int_equal(sk_X509_num(crl_chain), 2);
	assert_int_equal(X509_cmp(sk_X509_value(crl_chain, 1), sim_root), 0);
	root_crl = crl_from_hex(jstr(coll, "root_ca_crl"));
	pck_crl = crl_from_hex(jstr(coll, "pck_crl"));
	check_crl(root_crl, sim_root, now);
	check_crl(pck_crl, sk_X509_value(crl_chain, 0), now);

	/* the quote's PCK chain verifies with both CRLs checked */
	make_quote(&q, &pq, f->pki, rd, rtmr);
	pck_chain = pem_certs(pq.cert_data, pq.cert_data_len);
	assert_int_equal(X509_cmp(sk_X509_value(pck_chain, 1), sk_X509_value(crl_chain, 0)), 0);
	crls = sk_X509_CRL_new_null();
	sk_X509_CRL_push(crls, root_crl);
	sk_X509_CRL_push(crls, pck_crl);
	assert_int_equal(chain_verifies(sk_X509_value(pck_chain, 0), pck_chain, sim_root, crls), 1);

	sk_X509_CRL_pop_free(crls, X509_CRL_free);
	sk_X509_pop_free(pck_chain, X509_free);
	sk_X509_pop_free(crl_chain, X509_free);
	X509_free(sim_root);
	X509_free(intel);
	json_decref(coll);
	teeliza_buf_free(&q);
	teeliza_buf_free(&text);
}

static void check_components(json_t *arr, const uint8_t expect[16])
{
	size_t i;

	assert_true(json_is_array(arr));
	assert_int_equal(json_array_size(arr), 16);
	for (i = 0; i < 16; i++)
		assert_int_equal(jint(json_array_get(arr, i), "svn"), expect[i]);
}

static void test_tcb_info_matches_quote(void **state)
{
	fixture *f = *state;
	int64_t now = 1752919234; /* any time works; the vector's is as good as another */
	teeliza_buf text, q;
	json_t *coll, *tcb, *level, *module, *ident;
	json_error_t jerr;
	dcap_quote pq;
	dcap_pck_ext ext;
	STACK_OF(X509) *chain;
	uint8_t rd[64], rtmr[4][48];
	char id[8];

	assert_int_equal(tee_sim_collateral_json(&text, f->pki, now), TEELIZA_OK);
	coll = json_loadb((const char *)text.data, text.len, 0, &jerr);
	assert_non_null(coll);
	tcb = json_loads(jstr(coll, "tcb_info"), JSON_REJECT_DUPLICATES, &jerr);
	assert_non_null(tcb);
	make_quote(&q, &pq, f->pki, rd, rtmr);
	chain = pem_certs(pq.cert_data, pq.cert_data_len);
	assert_int_equal(dcap_pck_ext_parse(&ext, sk_X509_value(chain, 0)), TEELIZA_OK);

	assert_string_equal(jstr(tcb, "id"), "TDX");
	assert_int_equal(jint(tcb, "version"), 3);
	assert_int_equal(jint(tcb, "tcbType"), 0);
	assert_true(parse_date(jstr(tcb, "issueDate")) <= now && parse_date(jstr(tcb, "issueDate")) >= now - 86400 * 2);
	assert_true(parse_date(jstr(tcb, "nextUpdate")) > now + 86400 * 7);
	assert_hex_field(tcb, "fmspc", ext.fmspc, 6);
	assert_hex_field(tcb, "pceId", ext.pceid, 2);
	assert_string_equal(jstr(tcb, "fmspc"), "00AA5E1EE700");

	/* the one level is UpToDate and matches the PCK and the TD exactly */
	assert_int_equal(json_array_size(json_object_get(tcb, "tcbLevels")), 1);
	level = json_array_get(json_object_get(tcb, "tcbLevels"), 0);
	assert_string_equal(jstr(level, "tcbStatus"), "UpToDate");
	check_components(json_object_get(json_object_get(level, "tcb"), "sgxtcbcomponents"), ext.comp_svn);
	assert_int_equal(jint(json_object_get(level, "tcb"), "pcesvn"), ext.pcesvn);
	check_components(json_object_get(json_object_get(level, "tcb"), "tdxtcbcomponents"), pq.body.td.tee_tcb_svn);

	/* TDX module: mrsignerseam and seam attributes as the base entry says, identity for the major version */
	module = json_object_get(tcb, "tdxModule");
	assert_non_null(module);
	assert_hex_field(module, "mrsigner", pq.body.td.mrsignerseam, 48);
	assert_string_equal(jstr(module, "attributes"), "0000000000000000");
	assert_true(pq.body.td.tee_tcb_svn[1] > 0);
	snprintf(id, sizeof(id), "TDX_%02X", pq.body.td.tee_tcb_svn[1]);
	assert_int_equal(json_array_size(json_object_get(tcb, "tdxModuleIdentities")), 1);
	ident = json_array_get(json_object_get(tcb, "tdxModuleIdentities"), 0);
	assert_string_equal(jstr(ident, "id"), id);
	level = json_array_get(json_object_get(ident, "tcbLevels"), 0);
	assert_int_equal(jint(json_object_get(level, "tcb"), "isvsvn"), pq.body.td.tee_tcb_svn[0]);
	assert_string_equal(jstr(level, "tcbStatus"), "UpToDate");

	json_decref(tcb);
	json_decref(coll);
	sk_X509_pop_free(chain, X509_free);
	teeliza_buf_free(&q);
	teeliza_buf_free(&text);
}

static void test_qe_identity_matches_quote(void **state)
{
	fixture *f = *state;
	int64_t now = (int64_t)time(NULL);
	teeliza_buf text, q;
	json_t *coll, *qe, *level;
	json_error_t jerr;
	dcap_quote pq;
	uint8_t rd[64], rtmr[4][48], attr[16], mask[16];
	size_t n, i;
	const char *s;

	assert_int_equal(tee_sim_collateral_json(&text, f->pki, now), TEELIZA_OK);
	coll = json_loadb((const char *)text.data, text.len, 0, &jerr);
	assert_non_null(coll);
	qe = json_loads(jstr(coll, "qe_identity"), JSON_REJECT_DUPLICATES, &jerr);
	assert_non_null(qe);
	make_quote(&q, &pq, f->pki, rd, rtmr);

	assert_string_equal(jstr(qe, "id"), "TD_QE");
	assert_int_equal(jint(qe, "version"), 2);
	assert_hex_field(qe, "mrsigner", pq.qe_report.mrsigner, 32);
	assert_int_equal(jint(qe, "isvprodid"), pq.qe_report.isvprodid);
	assert_string_equal(jstr(qe, "miscselect"), "00000000");
	assert_int_equal(pq.qe_report.miscselect, 0);
	s = jstr(qe, "attributes");
	assert_int_equal(teeliza_hex_decode(attr, 16, &n, s, strlen(s), false), TEELIZA_OK);
	s = jstr(qe, "attributesMask");
	assert_int_equal(teeliza_hex_decode(mask, 16, &n, s, strlen(s), false), TEELIZA_OK);
	for (i = 0; i < 16; i++)
		assert_int_equal(pq.qe_report.attributes[i] & mask[i], attr[i] & mask[i]);
	level = json_array_get(json_object_get(qe, "tcbLevels"), 0);
	assert_non_null(level);
	assert_true(pq.qe_report.isvsvn >= jint(json_object_get(level, "tcb"), "isvsvn"));
	assert_string_equal(jstr(level, "tcbStatus"), "UpToDate");
	/* and it is plainly not Intel's QE */
	assert_string_not_equal(jstr(qe, "mrsigner"), "DC9E2A7C6F948F17474E34A7FC43ED030F7C1563F1BABDDF6340C82E0E54A8C5");

	json_decref(qe);
	json_decref(coll);
	teeliza_buf_free(&q);
	teeliza_buf_free(&text);
}

static void test_collateral_shape_like_vector(void **state)
{
	fixture *f = *state;
	teeliza_buf text;
	json_t *mine, *ref, *v;
	json_error_t jerr;
	const char *key;
	void *iter;
	size_t i = 0;

	assert_int_equal(tee_sim_collateral_json(&text, f->pki, (int64_t)time(NULL)), TEELIZA_OK);
	mine = json_loadb((const char *)text.data, text.len, 0, &jerr);
	assert_non_null(mine);
	ref = vector_json("dcapqvl-tdx_quote_collateral.json");
	/* same keys in the same order, same JSON types */
	assert_int_equal(json_object_size(mine), json_object_size(ref));
	for (iter = json_object_iter(ref); iter != NULL; iter = json_object_iter_next(ref, iter), i++) {
		key = json_object_iter_key(iter);
		v = json_object_get(mine, key);
		assert_non_null(v);
		assert_int_equal(json_typeof(v), json_typeof(json_object_iter_value(iter)));
	}
	iter = json_object_iter(mine);
	assert_string_equal(json_object_iter_key(iter), "pck_crl_issuer_chain");
	json_decref(ref);
	json_decref(mine);
	teeliza_buf_free(&text);
}

static void test_collateral_bad_time(void **state)
{
	fixture *f = *state;
	static const int64_t bad[] = { -1, 0, 3600, INT64_MAX, INT64_MIN, INT64_C(253402300799) };
	teeliza_buf text;
	size_t i;

	for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		assert_int_equal(tee_sim_collateral_json(&text, f->pki, bad[i]), TEELIZA_ERR_INVALID);
		assert_null(text.data);
		assert_int_equal(text.len, 0);
		assert_non_null(strstr(teeliza_errmsg(), "out of range"));
	}
	/* the edges that still work */
	assert_int_equal(tee_sim_collateral_json(&text, f->pki, 86400), TEELIZA_OK);
	teeliza_buf_free(&text);
}

/* ---- the whole DCAP verification (teeliza's verifier) ---- */

static teeliza_err verify_with(dcap_result *res, const teeliza_buf *q, const char *coll_json, int64_t now,
                               bool trust_intel, const teeliza_buf *sim_root_pem, const dcap_policy *policy)
{
	dcap_trust *trust;
	dcap_collateral *coll;
	teeliza_err err;

	assert_int_equal(dcap_trust_new(&trust, trust_intel), TEELIZA_OK);
	if (sim_root_pem != NULL)
		assert_int_equal(dcap_trust_add_pem(trust, (const char *)sim_root_pem->data, sim_root_pem->len),
		                 TEELIZA_OK);
	assert_int_equal(dcap_collateral_parse_json(&coll, coll_json, strlen(coll_json)), TEELIZA_OK);
	err = dcap_verify(res, q->data, q->len, coll, now, policy, trust);
	dcap_collateral_free(coll);
	dcap_trust_free(trust);
	return err;
}

static void test_dcap_verify_end_to_end(void **state)
{
	fixture *f = *state;
	int64_t now = (int64_t)time(NULL);
	uint8_t rd[64], rtmr[4][48], root_sha[32];
	teeliza_buf q, coll, root_pem;
	dcap_quote pq;
	dcap_result res;
	dcap_policy policy;
	X509 *root = root_cert(f->pki);
	unsigned n;

	make_quote(&q, &pq, f->pki, rd, rtmr);
	assert_int_equal(tee_sim_collateral_json(&coll, f->pki, now), TEELIZA_OK);
	assert_int_equal(tee_sim_pki_root_pem(&root_pem, f->pki), TEELIZA_OK);
	assert_int_equal(X509_digest(root, EVP_sha256(), root_sha, &n), 1);

	/* trusting only the simulator root: fully verified, UpToDate everywhere, and said to be non-Intel */
	dcap_policy_init(&policy);
	policy.expect_report_data = rd;
	policy.expect_rtmr[0] = rtmr[0];
	policy.expect_rtmr[3] = rtmr[3];
	assert_int_equal(verify_with(&res, &q, (const char *)coll.data, now, false, &root_pem, &policy), TEELIZA_OK);
	assert_int_equal(res.verdict, DCAP_VERDICT_TRUSTED);
	assert_int_equal(res.status, DCAP_STATUS_UP_TO_DATE);
	assert_int_equal(res.platform_status, DCAP_STATUS_UP_TO_DATE);
	assert_int_equal(res.qe_status, DCAP_STATUS_UP_TO_DATE);
	assert_int_equal(res.module_status, DCAP_STATUS_UP_TO_DATE);
	assert_int_equal(res.advisory_count, 0);
	assert_true(res.tdx);
	assert_false(res.intel_root);
	assert_memory_equal(res.root_sha256, root_sha, 32);
	assert_hex_equal(res.fmspc, 6, "00aa5e1ee700");
	assert_int_equal(res.report_data_match, 1);
	assert_int_equal(res.rtmr_match[0], 1);
	assert_int_equal(res.rtmr_match[3], 1);

	/* Intel's root and both: Intel alone refuses it; with both it verifies but never as Intel-rooted */
	assert_int_not_equal(verify_with(&res, &q, (const char *)coll.data, now, true, NULL, NULL), TEELIZA_OK);
	assert_int_equal(res.verdict, DCAP_VERDICT_FAILED);
	assert_int_equal(res.failure, DCAP_FAIL_UNTRUSTED_ROOT);
	assert_int_equal(verify_with(&res, &q, (const char *)coll.data, now, true, &root_pem, NULL), TEELIZA_OK);
	assert_false(res.intel_root);

	/* tampering and expiry are caught like for any quote */
	q.data[OFF_REPORT_DATA + 5] ^= 0x80;
	assert_int_not_equal(verify_with(&res, &q, (const char *)coll.data, now, false, &root_pem, NULL), TEELIZA_OK);
	assert_int_equal(res.failure, DCAP_FAIL_QUOTE_SIGNATURE);
	q.data[OFF_REPORT_DATA + 5] ^= 0x80;
	assert_int_not_equal(verify_with(&res, &q, (const char *)coll.data, now + 31 * 86400, false, &root_pem, NULL),
	                     TEELIZA_OK);
	assert_int_equal(res.failure, DCAP_FAIL_EXPIRED);

	X509_free(root);
	teeliza_buf_free(&root_pem);
	teeliza_buf_free(&coll);
	teeliza_buf_free(&q);
}

/* ---- persistence ---- */

static void quote_chain_and_key(const tee_sim_pki *pki, teeliza_buf *chain, uint8_t att_pub[64])
{
	uint8_t rd[64], rtmr[4][48];
	teeliza_buf q;
	dcap_quote pq;

	make_quote(&q, &pq, pki, rd, rtmr);
	teeliza_buf_init(chain, 1 << 16);
	assert_int_equal(teeliza_buf_append(chain, pq.cert_data, pq.cert_data_len), TEELIZA_OK);
	memcpy(att_pub, pq.att_pub_key, 64);
	teeliza_buf_free(&q);
}

static void test_pki_persistence(void **state)
{
	char *dir = make_tmpdir(), *pki_dir;
	static const char *const keys[] = { "sim-root.key", "sim-pck-ca.key", "sim-pck.key", "sim-tcb-signing.key",
	                                    "sim-attestation.key" };
	tee_sim_pki *a, *b;
	teeliza_buf root_a, root_b, chain_a, chain_b;
	uint8_t att_a[64], att_b[64];
	struct stat st;
	size_t i;

	(void)state;
	/* nested: missing parents are created too */
	pki_dir = strdup(path_in(dir, "state/sim"));
	assert_int_equal(tee_sim_pki_open(&a, pki_dir), TEELIZA_OK);
	assert_int_equal(stat(pki_dir, &st), 0);
	assert_int_equal(st.st_mode & 0777, 0700);
	for (i = 0; i < sizeof(keys) / sizeof(keys[0]); i++) {
		assert_int_equal(stat(path_in(pki_dir, keys[i]), &st), 0);
		assert_int_equal(st.st_mode & 0777, 0600);
	}
	assert_int_equal(stat(path_in(pki_dir, "sim-root.pem"), &st), 0);
	assert_int_equal(st.st_mode & 0077, 0);
	assert_int_equal(tee_sim_pki_root_pem(&root_a, a), TEELIZA_OK);
	assert_non_null(strstr((const char *)root_a.data, "-----BEGIN CERTIFICATE-----\n"));
	quote_chain_and_key(a, &chain_a, att_a);
	tee_sim_pki_free(a);

	/* reopened: same root, same chain, same attestation key */
	assert_int_equal(tee_sim_pki_open(&b, pki_dir), TEELIZA_OK);
	assert_int_equal(tee_sim_pki_root_pem(&root_b, b), TEELIZA_OK);
	assert_int_equal(root_a.len, root_b.len);
	assert_memory_equal(root_a.data, root_b.data, root_a.len);
	quote_chain_and_key(b, &chain_b, att_b);
	assert_int_equal(chain_a.len, chain_b.len);
	assert_memory_equal(chain_a.data, chain_b.data, chain_a.len);
	assert_memory_equal(att_a, att_b, 64);
	tee_sim_pki_free(b);
	teeliza_buf_free(&root_b);
	teeliza_buf_free(&chain_b);

	/* a lost PCK is re-issued under the same root */
	assert_int_equal(unlink(path_in(pki_dir, "sim-pck.pem")), 0);
	assert_int_equal(tee_sim_pki_open(&b, pki_dir), TEELIZA_OK);
	assert_int_equal(tee_sim_pki_root_pem(&root_b, b), TEELIZA_OK);
	assert_memory_equal(root_a.data, root_b.data, root_a.len);
	quote_chain_and_key(b, &chain_b, att_b);
	assert_false(chain_a.len == chain_b.len && memcmp(chain_a.data, chain_b.data, chain_a.len) == 0);
	tee_sim_pki_free(b);
	teeliza_buf_free(&root_b);
	teeliza_buf_free(&chain_b);

	/* a lost root key means a new root and everything below it re-issued */
	assert_int_equal(unlink(path_in(pki_dir, "sim-root.key")), 0);
	assert_int_equal(tee_sim_pki_open(&b, pki_dir), TEELIZA_OK);
	assert_int_equal(tee_sim_pki_root_pem(&root_b, b), TEELIZA_OK);
	assert_false(root_a.len == root_b.len && memcmp(root_a.data, root_b.data, root_a.len) == 0);
	quote_chain_and_key(b, &chain_b, att_b);
	{
		STACK_OF(X509) *chain = pem_certs(chain_b.data, chain_b.len);
		X509 *root = root_cert(b);

		assert_int_equal(chain_verifies(sk_X509_value(chain, 0), chain, root, NULL), 1);
		X509_free(root);
		sk_X509_pop_free(chain, X509_free);
	}
	tee_sim_pki_free(b);
	teeliza_buf_free(&root_b);
	teeliza_buf_free(&chain_b);

	teeliza_buf_free(&root_a);
	teeliza_buf_free(&chain_a);
	rm_rf(dir);
	free(pki_dir);
	free(dir);
}

static void copy_file(const char *from, const char *to)
{
	teeliza_buf b;

	assert_int_equal(teeliza_read_file(&b, from, 1 << 16), TEELIZA_OK);
	assert_int_equal(teeliza_write_file(to, b.data, b.len, 0600), TEELIZA_OK);
	teeliza_buf_free(&b);
}

static void test_pki_bad_state(void **state)
{
	char *dir = make_tmpdir(), *pki_dir, *file_path;
	tee_sim_pki *pki = NULL;
	EVP_PKEY *p384;
	BIO *bio;
	char *pem;
	long len;

	(void)state;
	pki_dir = strdup(path_in(dir, "pki"));
	assert_int_equal(tee_sim_pki_open(&pki, pki_dir), TEELIZA_OK);
	tee_sim_pki_free(pki);

	/* the directory is a file */
	file_path = strdup(path_in(dir, "plain-file"));
	assert_int_equal(teeliza_write_file(file_path, "x", 1, 0600), TEELIZA_OK);
	assert_int_equal(tee_sim_pki_open(&pki, file_path), TEELIZA_ERR_IO);
	assert_null(pki);
	/* ... or below a file */
	assert_int_equal(tee_sim_pki_open(&pki, path_in(file_path, "sub")), TEELIZA_ERR_IO);
	assert_null(pki);
	assert_int_equal(tee_sim_pki_open(&pki, ""), TEELIZA_ERR_INVALID);

	/* a garbled key file is an error, not a silent new key */
	copy_file(path_in(pki_dir, "sim-pck-ca.key"), path_in(dir, "saved.key"));
	assert_int_equal(teeliza_write_file(path_in(pki_dir, "sim-pck-ca.key"), "garbage", 7, 0600), TEELIZA_OK);
	assert_int_equal(tee_sim_pki_open(&pki, pki_dir), TEELIZA_ERR_PARSE);
	assert_null(pki);
	assert_non_null(strstr(teeliza_errmsg(), "sim-pck-ca.key"));
	copy_file(path_in(dir, "saved.key"), path_in(pki_dir, "sim-pck-ca.key"));

	/* a garbled certificate too */
	copy_file(path_in(pki_dir, "sim-root.pem"), path_in(dir, "saved.pem"));
	assert_int_equal(teeliza_write_file(path_in(pki_dir, "sim-root.pem"), "-----BEGIN CERTIFICATE-----\nAAAA\n", 33,
	                                    0600), TEELIZA_OK);
	assert_int_equal(tee_sim_pki_open(&pki, pki_dir), TEELIZA_ERR_PARSE);
	assert_null(pki);
	copy_file(path_in(dir, "saved.pem"), path_in(pki_dir, "sim-root.pem"));

	/* a certificate that is not issued by its CA (TCB signing cert put in place of the PCK) */
	copy_file(path_in(pki_dir, "sim-pck.pem"), path_in(dir, "saved.pem"));
	copy_file(path_in(pki_dir, "sim-pck.key"), path_in(dir, "saved.key"));
	copy_file(path_in(pki_dir, "sim-tcb-signing.pem"), path_in(pki_dir, "sim-pck.pem"));
	copy_file(path_in(pki_dir, "sim-tcb-signing.key"), path_in(pki_dir, "sim-pck.key"));
	assert_int_equal(tee_sim_pki_open(&pki, pki_dir), TEELIZA_ERR_VERIFY);
	assert_null(pki);
	/* a certificate with someone else's key */
	copy_file(path_in(dir, "saved.pem"), path_in(pki_dir, "sim-pck.pem"));
	assert_int_equal(tee_sim_pki_open(&pki, pki_dir), TEELIZA_ERR_VERIFY);
	assert_null(pki);
	copy_file(path_in(dir, "saved.key"), path_in(pki_dir, "sim-pck.key"));

	/* a key on the wrong curve */
	p384 = EVP_EC_gen("P-384");
	assert_non_null(p384);
	bio = BIO_new(BIO_s_mem());
	assert_int_equal(PEM_write_bio_PrivateKey(bio, p384, NULL, NULL, 0, NULL, NULL), 1);
	len = BIO_get_mem_data(bio, &pem);
	assert_int_equal(teeliza_write_file(path_in(pki_dir, "sim-attestation.key"), pem, (size_t)len, 0600), TEELIZA_OK);
	BIO_free(bio);
	EVP_PKEY_free(p384);
	assert_int_equal(tee_sim_pki_open(&pki, pki_dir), TEELIZA_ERR_UNSUPPORTED);
	assert_null(pki);

	/* restored, it opens again */
	assert_int_equal(unlink(path_in(pki_dir, "sim-attestation.key")), 0);
	assert_int_equal(tee_sim_pki_open(&pki, pki_dir), TEELIZA_OK);
	tee_sim_pki_free(pki);

	rm_rf(dir);
	free(file_path);
	free(pki_dir);
	free(dir);
}

/* Processes (here: threads with their own lock descriptors) creating one PKI at once agree on it. */
typedef struct opener {
	const char *dir;
	teeliza_err err;
	teeliza_buf root;
} opener;

static void *open_worker(void *arg)
{
	opener *o = arg;
	tee_sim_pki *pki;

	o->err = tee_sim_pki_open(&pki, o->dir);
	if (o->err == TEELIZA_OK) {
		o->err = tee_sim_pki_root_pem(&o->root, pki);
		tee_sim_pki_free(pki);
	}
	return NULL;
}

static void test_pki_concurrent_create(void **state)
{
	char *dir = make_tmpdir(), *pki_dir;
	pthread_t th[4];
	opener o[4];
	tee_sim_pki *pki;
	teeliza_buf root;
	int i;

	(void)state;
	pki_dir = strdup(path_in(dir, "pki"));
	for (i = 0; i < 4; i++) {
		o[i] = (opener){ .dir = pki_dir };
		assert_int_equal(pthread_create(&th[i], NULL, open_worker, &o[i]), 0);
	}
	for (i = 0; i < 4; i++)
		assert_int_equal(pthread_join(th[i], NULL), 0);
	for (i = 0; i < 4; i++) {
		assert_int_equal(o[i].err, TEELIZA_OK);
		assert_int_equal(o[i].root.len, o[0].root.len);
		assert_memory_equal(o[i].root.data, o[0].root.data, o[0].root.len);
	}
	/* and what is on disk is one consistent PKI */
	assert_int_equal(tee_sim_pki_open(&pki, pki_dir), TEELIZA_OK);
	assert_int_equal(tee_sim_pki_root_pem(&root, pki), TEELIZA_OK);
	assert_memory_equal(root.data, o[0].root.data, o[0].root.len);
	tee_sim_pki_free(pki);
	teeliza_buf_free(&root);
	for (i = 0; i < 4; i++)
		teeliza_buf_free(&o[i].root);
	rm_rf(dir);
	free(pki_dir);
	free(dir);
}

/* ---- threads and speed ---- */

#define THREADS 4
#define QUOTES_PER_THREAD 100

typedef struct worker {
	const tee_sim_pki *pki;
	EVP_PKEY *att;
	int failures;
} worker;

static void *quote_worker(void *arg)
{
	worker *w = arg;
	uint8_t rd[64], rtmr[4][48];
	teeliza_buf q;
	dcap_quote pq;
	int i;

	for (i = 0; i < QUOTES_PER_THREAD; i++) {
		if (RAND_bytes(rd, sizeof(rd)) != 1 || RAND_bytes(&rtmr[0][0], sizeof(rtmr)) != 1 ||
		    tee_sim_quote(&q, w->pki, rd, (const uint8_t(*)[48])rtmr) != TEELIZA_OK) {
			w->failures++;
			continue;
		}
		if (dcap_quote_parse(&pq, q.data, q.len) != TEELIZA_OK || memcmp(pq.body.td.report_data, rd, 64) != 0 ||
		    memcmp(pq.body.td.rtmr[3], rtmr[3], 48) != 0 ||
		    !raw_sig_ok(w->att, pq.signature, pq.signed_data, pq.signed_len))
			w->failures++;
		teeliza_buf_free(&q);
	}
	return NULL;
}

static void test_concurrent_quotes(void **state)
{
	fixture *f = *state;
	pthread_t th[THREADS];
	worker w[THREADS];
	uint8_t rd[64], rtmr[4][48];
	teeliza_buf q;
	dcap_quote pq;
	EVP_PKEY *att;
	int i;

	make_quote(&q, &pq, f->pki, rd, rtmr);
	att = pub_from_xy(pq.att_pub_key);
	for (i = 0; i < THREADS; i++) {
		w[i] = (worker){ .pki = f->pki, .att = att, .failures = 0 };
		assert_int_equal(pthread_create(&th[i], NULL, quote_worker, &w[i]), 0);
	}
	for (i = 0; i < THREADS; i++) {
		assert_int_equal(pthread_join(th[i], NULL), 0);
		assert_int_equal(w[i].failures, 0);
	}
	EVP_PKEY_free(att);
	teeliza_buf_free(&q);
}

static double seconds_now(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec * 1e-9;
}

static void test_quote_rate(void **state)
{
	fixture *f = *state;
	uint8_t rd[64], rtmr[4][48];
	teeliza_buf q;
	double start = seconds_now(), elapsed;
	int n = 0;

	random_inputs(rd, rtmr);
	do {
		rd[0] = (uint8_t)n;
		assert_int_equal(tee_sim_quote(&q, f->pki, rd, (const uint8_t(*)[48])rtmr), TEELIZA_OK);
		teeliza_buf_free(&q);
		n++;
	} while ((elapsed = seconds_now() - start) < 0.5);
	print_message("tee_sim_quote: %.0f quotes/s on one thread (%d in %.2f s)\n", n / elapsed, n, elapsed);
	/* one ECDSA signature per quote: even a slow or sanitized build does hundreds */
	assert_true(n / elapsed > 200);
}

int main(void)
{
	const struct CMUnitTest shared[] = {
		cmocka_unit_test(test_quote_layout),
		cmocka_unit_test(test_quote_signature),
		cmocka_unit_test(test_two_quotes_differ_only_in_inputs),
		cmocka_unit_test(test_qe_report),
		cmocka_unit_test(test_chain_sim_root_not_intel),
		cmocka_unit_test(test_pck_sgx_extension),
		cmocka_unit_test(test_collateral_signatures_and_crls),
		cmocka_unit_test(test_tcb_info_matches_quote),
		cmocka_unit_test(test_qe_identity_matches_quote),
		cmocka_unit_test(test_collateral_shape_like_vector),
		cmocka_unit_test(test_collateral_bad_time),
		cmocka_unit_test(test_dcap_verify_end_to_end),
		cmocka_unit_test(test_concurrent_quotes),
		cmocka_unit_test(test_quote_rate),
	};
	const struct CMUnitTest own_dirs[] = {
		cmocka_unit_test(test_pki_persistence),
		cmocka_unit_test(test_pki_bad_state),
		cmocka_unit_test(test_pki_concurrent_create),
	};
	int failed = cmocka_run_group_tests_name("sim_quote", shared, setup, teardown);

	failed += cmocka_run_group_tests_name("sim_pki_files", own_dirs, NULL, NULL);
	return failed;
}
