/*
 * The 19 pitfalls of dcap-verification.md §7, one test each (some with
 * several cases). Quotes and collateral are built here and signed with the
 * simulator PKI's keys (tee_sim_pki_open writes them to its state dir), so
 * every field can be changed and still carry valid signatures; the verifier
 * trusts that PKI's root explicitly. Pitfalls that need Intel data use the
 * shared vectors.
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
#include "dcap/verify_internal.h"

#include <dirent.h>
#include <openssl/ecdsa.h>
#include <openssl/pem.h>
#include <openssl/x509v3.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#define NOW INT64_C(1760000000)
#define DAY INT64_C(86400)

/* ---- the kit: simulator keys and certificates, a simulator quote to take parts from ---- */

static struct kit {
	char dir[64];
	EVP_PKEY *root_key, *ca_key, *pck_key, *tcb_key, *att_key;
	X509 *root, *ca, *pck, *tcb;
	char *root_pem, *ca_pem, *tcb_pem;
	teeliza_buf simq;
	dcap_quote q;
	dcap_pck_ext ext;
	dcap_trust *trust;
	tee_sim_pki *pki;
} K;

static char *read_text(const char *name)
{
	char path[160];
	teeliza_buf b;

	snprintf(path, sizeof(path), "%s/%s", K.dir, name);
	assert_int_equal(teeliza_read_file(&b, path, 1 << 20), TEELIZA_OK);
	return (char *)b.data;
}

static EVP_PKEY *read_key(const char *name)
{
	char *pem = read_text(name);
	BIO *bio = BIO_new_mem_buf(pem, -1);
	EVP_PKEY *k = PEM_read_bio_PrivateKey(bio, NULL, NULL, NULL);

	assert_non_null(k);
	BIO_free(bio);
	teeliza_wipe(pem, strlen(pem));
	free(pem);
	return k;
}

static X509 *read_cert(const char *name, char **pem_out)
{
	char *pem = read_text(name);
	BIO *bio = BIO_new_mem_buf(pem, -1);
	X509 *x = PEM_read_bio_X509(bio, NULL, NULL, NULL);

	assert_non_null(x);
	BIO_free(bio);
	if (pem_out)
		*pem_out = pem;
	else
		free(pem);
	return x;
}

static int kit_setup(void **state)
{
	uint8_t rd[64], rtmr[4][48];

	(void)state;
	memset(&K, 0, sizeof(K));
	snprintf(K.dir, sizeof(K.dir), "/tmp/teeliza-pitfalls-XXXXXX");
	if (mkdtemp(K.dir) == NULL)
		return -1;
	if (tee_sim_pki_open(&K.pki, K.dir) != TEELIZA_OK)
		return -1;
	memset(rd, 0x42, sizeof(rd));
	memset(rtmr, 0x24, sizeof(rtmr));
	teeliza_buf_init(&K.simq, 1 << 20);
	if (tee_sim_quote(&K.simq, K.pki, rd, (const uint8_t(*)[48])rtmr) != TEELIZA_OK)
		return -1;
	if (dcap_quote_parse(&K.q, K.simq.data, K.simq.len) != TEELIZA_OK)
		return -1;
	K.root_key = read_key("sim-root.key");
	K.ca_key = read_key("sim-pck-ca.key");
	K.pck_key = read_key("sim-pck.key");
	K.tcb_key = read_key("sim-tcb-signing.key");
	K.att_key = read_key("sim-attestation.key");
	K.root = read_cert("sim-root.pem", &K.root_pem);
	K.ca = read_cert("sim-pck-ca.pem", &K.ca_pem);
	K.pck = read_cert("sim-pck.pem", NULL);
	K.tcb = read_cert("sim-tcb-signing.pem", &K.tcb_pem);
	if (dcap_pck_ext_parse(&K.ext, K.pck) != TEELIZA_OK)
		return -1;
	if (dcap_trust_new(&K.trust, true) != TEELIZA_OK ||
	    dcap_trust_add_pem(K.trust, K.root_pem, strlen(K.root_pem)) != TEELIZA_OK)
		return -1;
	return 0;
}

static int kit_teardown(void **state)
{
	DIR *d;
	struct dirent *e;
	char path[320];

	(void)state;
	EVP_PKEY_free(K.root_key);
	EVP_PKEY_free(K.ca_key);
	EVP_PKEY_free(K.pck_key);
	EVP_PKEY_free(K.tcb_key);
	EVP_PKEY_free(K.att_key);
	X509_free(K.root);
	X509_free(K.ca);
	X509_free(K.pck);
	X509_free(K.tcb);
	free(K.root_pem);
	free(K.ca_pem);
	free(K.tcb_pem);
	teeliza_buf_free(&K.simq);
	dcap_trust_free(K.trust);
	tee_sim_pki_free(K.pki);
	d = opendir(K.dir);
	while (d != NULL && (e = readdir(d)) != NULL) {
		if (strcmp(e->d_name, ".") == 0 || strcmp(e->d_name, "..") == 0)
			continue;
		snprintf(path, sizeof(path), "%s/%s", K.dir, e->d_name);
		unlink(path);
	}
	if (d != NULL)
		closedir(d);
	rmdir(K.dir);
	return 0;
}

/* ---- signing ---- */

static void sign_raw(uint8_t out[64], EVP_PKEY *key, const void *msg, size_t len)
{
	EVP_MD_CTX *md = EVP_MD_CTX_new();
	uint8_t der[80];
	size_t der_len = sizeof(der);
	const unsigned char *p = der;
	ECDSA_SIG *sig;
	const BIGNUM *r, *s;

	assert_int_equal(EVP_DigestSignInit(md, NULL, EVP_sha256(), NULL, key), 1);
	assert_int_equal(EVP_DigestSign(md, der, &der_len, msg, len), 1);
	EVP_MD_CTX_free(md);
	sig = d2i_ECDSA_SIG(NULL, &p, (long)der_len);
	assert_non_null(sig);
	ECDSA_SIG_get0(sig, &r, &s);
	assert_int_equal(BN_bn2binpad(r, out, 32), 32);
	assert_int_equal(BN_bn2binpad(s, out + 32, 32), 32);
	ECDSA_SIG_free(sig);
}

static void hex_upper(char *out, const uint8_t *b, size_t n)
{
	size_t i;

	for (i = 0; i < n; i++)
		snprintf(out + 2 * i, 3, "%02X", b[i]);
}

/* ---- TCB Info ---- */

typedef struct level_spec {
	uint8_t sgx[16];
	uint16_t pcesvn;
	uint8_t tdx[16];
	const char *status;
	const char *advisories; /* JSON array text, or NULL */
	int ncomp;              /* component count to write (0 = 16) */
} level_spec;

typedef struct id_level {
	unsigned isvsvn;
	const char *status;
	const char *advisories;
} id_level;

typedef struct module_spec {
	const char *id;
	uint8_t mrsigner[48];
	const char *attributes;
	size_t nlevels;
	id_level levels[4];
} module_spec;

typedef struct tcb_spec {
	const char *id;
	unsigned version;
	char fmspc[16];
	char pceid[8];
	int64_t issue, next;
	uint8_t module_mrsigner[48];
	const char *module_attributes;
	size_t nmodules;
	module_spec modules[4];
	size_t nlevels;
	level_spec levels[6];
	const char *extra;   /* raw members added at the end of the object */
	const char *trailer; /* raw text after the object */
} tcb_spec;

static void tcb_default(tcb_spec *s)
{
	memset(s, 0, sizeof(*s));
	s->id = "TDX";
	s->version = 3;
	hex_upper(s->fmspc, K.ext.fmspc, 6);
	hex_upper(s->pceid, K.ext.pceid, 2);
	s->issue = NOW - DAY;
	s->next = NOW + 30 * DAY;
	s->module_attributes = "0000000000000000";
	s->nmodules = 1;
	s->modules[0].id = "TDX_01";
	s->modules[0].attributes = "0000000000000000";
	s->modules[0].nlevels = 1;
	s->modules[0].levels[0] = (id_level){K.q.body.td.tee_tcb_svn[0], "UpToDate", NULL};
	s->nlevels = 1;
	memcpy(s->levels[0].sgx, K.ext.comp_svn, 16);
	s->levels[0].pcesvn = K.ext.pcesvn;
	memcpy(s->levels[0].tdx, K.q.body.td.tee_tcb_svn, 16);
	s->levels[0].status = "UpToDate";
}

static void sgx_tcb_default(tcb_spec *s)
{
	tcb_default(s);
	s->id = "SGX";
	s->nmodules = 0;
}

static void date(char out[24], int64_t t)
{
	dcap_format_date(out, t);
}

static void put_components(teeliza_buf *b, const char *key, const uint8_t svn[16], int n)
{
	int i;

	assert_int_equal(teeliza_buf_printf(b, "\"%s\":[", key), TEELIZA_OK);
	for (i = 0; i < n; i++)
		assert_int_equal(teeliza_buf_printf(b, "%s{\"svn\":%u}", i ? "," : "", i < 16 ? svn[i] : 0), TEELIZA_OK);
	assert_int_equal(teeliza_buf_append_str(b, "]"), TEELIZA_OK);
}

static void put_id_levels(teeliza_buf *b, const id_level *l, size_t n)
{
	size_t i;

	assert_int_equal(teeliza_buf_append_str(b, "\"tcbLevels\":["), TEELIZA_OK);
	for (i = 0; i < n; i++) {
		assert_int_equal(teeliza_buf_printf(b, "%s{\"tcb\":{\"isvsvn\":%u},\"tcbDate\":\"2024-01-01T00:00:00Z\","
		                                       "\"tcbStatus\":\"%s\"",
		                                    i ? "," : "", l[i].isvsvn, l[i].status),
		                 TEELIZA_OK);
		if (l[i].advisories)
			assert_int_equal(teeliza_buf_printf(b, ",\"advisoryIDs\":%s", l[i].advisories), TEELIZA_OK);
		assert_int_equal(teeliza_buf_append_str(b, "}"), TEELIZA_OK);
	}
	assert_int_equal(teeliza_buf_append_str(b, "]"), TEELIZA_OK);
}

static char *tcb_info_text(const tcb_spec *s)
{
	teeliza_buf b;
	char issue[24], next[24], mr[97];
	size_t i;
	bool tdx = strcmp(s->id, "TDX") == 0;

	teeliza_buf_init(&b, 1 << 20);
	date(issue, s->issue);
	date(next, s->next);
	assert_int_equal(teeliza_buf_printf(&b, "{\"id\":\"%s\",\"version\":%u,\"issueDate\":\"%s\",\"nextUpdate\":\"%s\","
	                                        "\"fmspc\":\"%s\",\"pceId\":\"%s\",\"tcbType\":0,"
	                                        "\"tcbEvaluationDataNumber\":17",
	                                     s->id, s->version, issue, next, s->fmspc, s->pceid),
	                 TEELIZA_OK);
	if (tdx) {
		hex_upper(mr, s->module_mrsigner, 48);
		assert_int_equal(teeliza_buf_printf(&b, ",\"tdxModule\":{\"mrsigner\":\"%s\",\"attributes\":\"%s\","
		                                        "\"attributesMask\":\"FFFFFFFFFFFFFFFF\"}",
		                                     mr, s->module_attributes),
		                 TEELIZA_OK);
		if (s->nmodules > 0) {
			assert_int_equal(teeliza_buf_append_str(&b, ",\"tdxModuleIdentities\":["), TEELIZA_OK);
			for (i = 0; i < s->nmodules; i++) {
				hex_upper(mr, s->modules[i].mrsigner, 48);
				assert_int_equal(teeliza_buf_printf(&b, "%s{\"id\":\"%s\",\"mrsigner\":\"%s\",\"attributes\":\"%s\","
				                                        "\"attributesMask\":\"FFFFFFFFFFFFFFFF\",",
				                                     i ? "," : "", s->modules[i].id, mr, s->modules[i].attributes),
				                 TEELIZA_OK);
				put_id_levels(&b, s->modules[i].levels, s->modules[i].nlevels);
				assert_int_equal(teeliza_buf_append_str(&b, "}"), TEELIZA_OK);
			}
			assert_int_equal(teeliza_buf_append_str(&b, "]"), TEELIZA_OK);
		}
	}
	assert_int_equal(teeliza_buf_append_str(&b, ",\"tcbLevels\":["), TEELIZA_OK);
	for (i = 0; i < s->nlevels; i++) {
		const level_spec *l = &s->levels[i];
		int n = l->ncomp ? l->ncomp : 16;

		assert_int_equal(teeliza_buf_printf(&b, "%s{\"tcb\":{", i ? "," : ""), TEELIZA_OK);
		put_components(&b, "sgxtcbcomponents", l->sgx, n);
		assert_int_equal(teeliza_buf_printf(&b, ",\"pcesvn\":%u", l->pcesvn), TEELIZA_OK);
		if (tdx) {
			assert_int_equal(teeliza_buf_append_str(&b, ","), TEELIZA_OK);
			put_components(&b, "tdxtcbcomponents", l->tdx, 16);
		}
		assert_int_equal(teeliza_buf_printf(&b, "},\"tcbDate\":\"2024-01-01T00:00:00Z\",\"tcbStatus\":\"%s\"",
		                                    l->status),
		                 TEELIZA_OK);
		if (l->advisories)
			assert_int_equal(teeliza_buf_printf(&b, ",\"advisoryIDs\":%s", l->advisories), TEELIZA_OK);
		assert_int_equal(teeliza_buf_append_str(&b, "}"), TEELIZA_OK);
	}
	assert_int_equal(teeliza_buf_printf(&b, "]%s}%s", s->extra ? s->extra : "", s->trailer ? s->trailer : ""),
	                 TEELIZA_OK);
	return (char *)b.data;
}

/* ---- QE Identity ---- */

typedef struct qe_spec {
	const char *id;
	unsigned version;
	uint8_t mrsigner[32];
	unsigned isvprodid;
	uint8_t attributes[16];
	const char *attributes_mask;
	const char *miscselect;
	int64_t issue, next;
	size_t nlevels;
	id_level levels[4];
} qe_spec;

static void qe_default(qe_spec *s)
{
	size_t i;

	memset(s, 0, sizeof(*s));
	s->id = "TD_QE";
	s->version = 2;
	memcpy(s->mrsigner, K.q.qe_report.mrsigner, 32);
	s->isvprodid = K.q.qe_report.isvprodid;
	memcpy(s->attributes, K.q.qe_report.attributes, 16);
	s->attributes[0] &= 0xfb;
	for (i = 8; i < 16; i++)
		s->attributes[i] = 0;
	s->attributes_mask = "FBFFFFFFFFFFFFFF0000000000000000";
	s->miscselect = "00000000";
	s->issue = NOW - DAY;
	s->next = NOW + 30 * DAY;
	s->nlevels = 1;
	s->levels[0] = (id_level){K.q.qe_report.isvsvn, "UpToDate", NULL};
}

static char *qe_identity_text(const qe_spec *s)
{
	teeliza_buf b;
	char issue[24], next[24], mr[65], attrs[33];

	teeliza_buf_init(&b, 1 << 20);
	date(issue, s->issue);
	date(next, s->next);
	hex_upper(mr, s->mrsigner, 32);
	hex_upper(attrs, s->attributes, 16);
	assert_int_equal(teeliza_buf_printf(&b, "{\"id\":\"%s\",\"version\":%u,\"issueDate\":\"%s\",\"nextUpdate\":\"%s\","
	                                        "\"tcbEvaluationDataNumber\":17,\"miscselect\":\"%s\","
	                                        "\"miscselectMask\":\"FFFFFFFF\",\"attributes\":\"%s\","
	                                        "\"attributesMask\":\"%s\",\"mrsigner\":\"%s\",\"isvprodid\":%u,",
	                                     s->id, s->version, issue, next, s->miscselect, attrs, s->attributes_mask, mr,
	                                     s->isvprodid),
	                 TEELIZA_OK);
	put_id_levels(&b, s->levels, s->nlevels);
	assert_int_equal(teeliza_buf_append_str(&b, "}"), TEELIZA_OK);
	return (char *)b.data;
}

/* ---- CRLs and collateral ---- */

static char *crl_hex(X509 *issuer, EVP_PKEY *key, const ASN1_INTEGER *revoked, int64_t this_update,
                     int64_t next_update, bool critical_ext)
{
	X509_CRL *crl = X509_CRL_new();
	ASN1_TIME *t1 = ASN1_TIME_set(NULL, (time_t)this_update), *t2 = ASN1_TIME_set(NULL, (time_t)next_update);
	unsigned char *der = NULL;
	char *hex;
	int len;

	assert_non_null(crl);
	assert_int_equal(X509_CRL_set_version(crl, 1), 1);
	assert_int_equal(X509_CRL_set_issuer_name(crl, X509_get_subject_name(issuer)), 1);
	assert_int_equal(X509_CRL_set1_lastUpdate(crl, t1), 1);
	assert_int_equal(X509_CRL_set1_nextUpdate(crl, t2), 1);
	if (revoked != NULL) {
		X509_REVOKED *r = X509_REVOKED_new();

		assert_int_equal(X509_REVOKED_set_serialNumber(r, (ASN1_INTEGER *)revoked), 1);
		assert_int_equal(X509_REVOKED_set_revocationDate(r, t1), 1);
		assert_int_equal(X509_CRL_add0_revoked(crl, r), 1);
	}
	if (critical_ext) {
		ASN1_INTEGER *n = ASN1_INTEGER_new();

		ASN1_INTEGER_set(n, 7);
		assert_int_equal(X509_CRL_add1_ext_i2d(crl, NID_delta_crl, n, 1, 0), 1);
		ASN1_INTEGER_free(n);
	}
	X509_CRL_sort(crl);
	assert_true(X509_CRL_sign(crl, key, EVP_sha256()) > 0);
	len = i2d_X509_CRL(crl, &der);
	assert_true(len > 0);
	hex = malloc(2 * (size_t)len + 1);
	teeliza_hex_encode(hex, der, (size_t)len);
	OPENSSL_free(der);
	ASN1_TIME_free(t1);
	ASN1_TIME_free(t2);
	X509_CRL_free(crl);
	return hex;
}

typedef struct coll_spec {
	const char *tcb_info, *qe_identity;        /* texts placed in the collateral (NULL = defaults) */
	const char *tcb_signed, *qe_signed;        /* texts signed, when they differ from the placed ones */
	int64_t crl_this, crl_next;
	const ASN1_INTEGER *revoke_by_root, *revoke_by_ca;
	bool root_crl_by_ca_key;                   /* root CA CRL signed with the wrong key */
	bool pck_crl_critical;                     /* PCK CRL with a critical extension */
	const char *raw_root_crl;                  /* hex to use as is */
} coll_spec;

static char *concat(const char *a, const char *b)
{
	size_t la = strlen(a), lb = strlen(b);
	char *s = malloc(la + lb + 1);

	memcpy(s, a, la);
	memcpy(s + la, b, lb + 1);
	return s;
}

static char *collateral_json(const coll_spec *cs)
{
	tcb_spec ts;
	qe_spec qs;
	char *tcb_text = NULL, *qe_text = NULL, *root_crl, *pck_crl, *crl_chain, *tcb_chain, *out, sighex[129];
	const char *tcb_placed, *qe_placed, *tcb_signed, *qe_signed;
	uint8_t sig[64];
	int64_t t1 = cs->crl_this ? cs->crl_this : NOW - DAY, t2 = cs->crl_next ? cs->crl_next : NOW + 30 * DAY;
	json_t *j = json_object();

	if (cs->tcb_info == NULL) {
		tcb_default(&ts);
		tcb_text = tcb_info_text(&ts);
	}
	if (cs->qe_identity == NULL) {
		qe_default(&qs);
		qe_text = qe_identity_text(&qs);
	}
	tcb_placed = cs->tcb_info ? cs->tcb_info : tcb_text;
	qe_placed = cs->qe_identity ? cs->qe_identity : qe_text;
	tcb_signed = cs->tcb_signed ? cs->tcb_signed : tcb_placed;
	qe_signed = cs->qe_signed ? cs->qe_signed : qe_placed;
	root_crl = cs->raw_root_crl ? strdup(cs->raw_root_crl)
	                            : crl_hex(K.root, cs->root_crl_by_ca_key ? K.ca_key : K.root_key, cs->revoke_by_root,
	                                      t1, t2, false);
	pck_crl = crl_hex(K.ca, K.ca_key, cs->revoke_by_ca, t1, t2, cs->pck_crl_critical);
	crl_chain = concat(K.ca_pem, K.root_pem);
	tcb_chain = concat(K.tcb_pem, K.root_pem);
	json_object_set_new(j, "pck_crl_issuer_chain", json_string(crl_chain));
	json_object_set_new(j, "root_ca_crl", json_string(root_crl));
	json_object_set_new(j, "pck_crl", json_string(pck_crl));
	json_object_set_new(j, "tcb_info_issuer_chain", json_string(tcb_chain));
	json_object_set_new(j, "tcb_info", json_string(tcb_placed));
	sign_raw(sig, K.tcb_key, tcb_signed, strlen(tcb_signed));
	teeliza_hex_encode(sighex, sig, 64);
	json_object_set_new(j, "tcb_info_signature", json_string(sighex));
	json_object_set_new(j, "qe_identity_issuer_chain", json_string(tcb_chain));
	json_object_set_new(j, "qe_identity", json_string(qe_placed));
	sign_raw(sig, K.tcb_key, qe_signed, strlen(qe_signed));
	teeliza_hex_encode(sighex, sig, 64);
	json_object_set_new(j, "qe_identity_signature", json_string(sighex));
	out = json_dumps(j, JSON_INDENT(2) | JSON_PRESERVE_ORDER);
	assert_non_null(out);
	json_decref(j);
	free(tcb_text);
	free(qe_text);
	free(root_crl);
	free(pck_crl);
	free(crl_chain);
	free(tcb_chain);
	return out;
}

static char *collateral_with(const char *tcb_info, const char *qe_identity)
{
	coll_spec cs = {0};

	cs.tcb_info = tcb_info;
	cs.qe_identity = qe_identity;
	return collateral_json(&cs);
}

/* ---- quotes ---- */

typedef struct quote_spec {
	uint16_t version;
	uint32_t tee_type;
	uint16_t body_type;      /* v5 descriptor */
	uint32_t body_size_field; /* v5 descriptor size (0 = body_len) */
	uint8_t body[DCAP_TD15_REPORT_LEN];
	size_t body_len;
	uint8_t vendor[16];
	uint8_t qe_report[DCAP_SGX_REPORT_LEN];
} quote_spec;

/* TD report 1.0 field offsets inside the body */
enum { TD_TEE_TCB_SVN = 0, TD_MRSIGNERSEAM = 64, TD_SEAM_ATTR = 112, TD_ATTR = 120, TD_SVN2 = 584, TD_SERVICE = 600 };

static void quote_default(quote_spec *s)
{
	memset(s, 0, sizeof(*s));
	s->version = 4;
	s->tee_type = DCAP_TEE_TYPE_TDX;
	memcpy(s->body, K.q.body.td.raw, DCAP_TD10_REPORT_LEN);
	s->body_len = DCAP_TD10_REPORT_LEN;
	memcpy(s->vendor, DCAP_INTEL_QE_VENDOR_ID, 16);
	memcpy(s->qe_report, K.q.qe_report.raw, DCAP_SGX_REPORT_LEN);
}

/* A TD 1.5 quote (v5): the 1.0 body plus tee_tcb_svn2 and mr_service_td. */
static void quote_v5(quote_spec *s)
{
	quote_default(s);
	s->version = 5;
	s->body_type = DCAP_BODY_TD15;
	s->body_len = DCAP_TD15_REPORT_LEN;
	memcpy(s->body + TD_SVN2, K.q.body.td.tee_tcb_svn, 16);
}

/* An SGX v3 quote of an enclave (not debug) from the same platform and QE. */
static void quote_sgx(quote_spec *s)
{
	quote_default(s);
	s->version = 3;
	s->tee_type = DCAP_TEE_TYPE_SGX;
	memset(s->body, 0, sizeof(s->body));
	s->body_len = DCAP_SGX_REPORT_LEN;
	memcpy(s->body, K.ext.cpusvn, 16);
	s->body[48] = 0x05; /* INIT | MODE64BIT */
	memset(s->body + 64, 0xe1, 32);    /* mrenclave */
	memset(s->body + 128, 0x51, 32);   /* mrsigner */
	memcpy(s->body + 320, "teeliza sgx test", 16);
}

static void put16(teeliza_buf *b, uint16_t v)
{
	uint8_t p[2] = {(uint8_t)v, (uint8_t)(v >> 8)};

	assert_int_equal(teeliza_buf_append(b, p, 2), TEELIZA_OK);
}

static void put32(teeliza_buf *b, uint32_t v)
{
	uint8_t p[4] = {(uint8_t)v, (uint8_t)(v >> 8), (uint8_t)(v >> 16), (uint8_t)(v >> 24)};

	assert_int_equal(teeliza_buf_append(b, p, 4), TEELIZA_OK);
}

static uint8_t *build_quote(const quote_spec *s, size_t *len)
{
	teeliza_buf q, auth;
	uint8_t hdr[DCAP_HEADER_LEN], sig[64], qe_sig[64];
	uint32_t cert_len = K.q.cert_data_len;

	memcpy(hdr, K.simq.data, DCAP_HEADER_LEN);
	hdr[0] = (uint8_t)s->version;
	hdr[1] = (uint8_t)(s->version >> 8);
	hdr[4] = (uint8_t)s->tee_type;
	hdr[5] = hdr[6] = hdr[7] = 0;
	memcpy(hdr + 12, s->vendor, 16);
	teeliza_buf_init(&q, 1 << 20);
	assert_int_equal(teeliza_buf_append(&q, hdr, sizeof(hdr)), TEELIZA_OK);
	if (s->version == 5) {
		put16(&q, s->body_type);
		put32(&q, s->body_size_field ? s->body_size_field : (uint32_t)s->body_len);
	}
	assert_int_equal(teeliza_buf_append(&q, s->body, s->body_len), TEELIZA_OK);
	sign_raw(sig, K.att_key, q.data, q.len);
	sign_raw(qe_sig, K.pck_key, s->qe_report, DCAP_SGX_REPORT_LEN);

	teeliza_buf_init(&auth, 1 << 20);
	assert_int_equal(teeliza_buf_append(&auth, sig, 64), TEELIZA_OK);
	assert_int_equal(teeliza_buf_append(&auth, K.q.att_pub_key, 64), TEELIZA_OK);
	if (s->version != 3) {
		put16(&auth, 6);
		put32(&auth, DCAP_SGX_REPORT_LEN + 64 + 2 + K.q.qe_auth_len + 2 + 4 + cert_len);
	}
	assert_int_equal(teeliza_buf_append(&auth, s->qe_report, DCAP_SGX_REPORT_LEN), TEELIZA_OK);
	assert_int_equal(teeliza_buf_append(&auth, qe_sig, 64), TEELIZA_OK);
	put16(&auth, K.q.qe_auth_len);
	assert_int_equal(teeliza_buf_append(&auth, K.q.qe_auth, K.q.qe_auth_len), TEELIZA_OK);
	put16(&auth, 5);
	put32(&auth, cert_len);
	assert_int_equal(teeliza_buf_append(&auth, K.q.cert_data, cert_len), TEELIZA_OK);
	put32(&q, (uint32_t)auth.len);
	assert_int_equal(teeliza_buf_append(&q, auth.data, auth.len), TEELIZA_OK);
	teeliza_buf_free(&auth);
	*len = q.len;
	return q.data;
}

/* ---- verifying ---- */

static dcap_result *run_with(const quote_spec *qs, const char *coll, const dcap_policy *p, int64_t now)
{
	dcap_collateral *c;
	dcap_result *r = malloc(sizeof(*r));
	uint8_t *quote;
	size_t len;
	teeliza_err err;

	assert_non_null(r);
	if (dcap_collateral_parse_json(&c, coll, strlen(coll)) != TEELIZA_OK)
		fail_msg("collateral does not parse: %s", teeliza_errmsg());
	quote = build_quote(qs, &len);
	err = dcap_verify(r, quote, len, c, now, p, K.trust);
	assert_int_equal(err == TEELIZA_OK, r->verdict == DCAP_VERDICT_TRUSTED);
	if (r->verdict == DCAP_VERDICT_FAILED)
		assert_int_equal(r->status, DCAP_STATUS_NONE);
	free(quote);
	dcap_collateral_free(c);
	return r;
}

static dcap_result *run(const quote_spec *qs, const char *coll, const dcap_policy *p)
{
	return run_with(qs, coll, p, NOW);
}

static void assert_contains(const char *hay, const char *needle)
{
	if (strstr(hay, needle) == NULL)
		fail_msg("\"%s\" does not contain \"%s\"", hay, needle);
}

static void expect_failure(const quote_spec *qs, const char *coll, dcap_failure f, const char *needle)
{
	dcap_result *r = run(qs, coll, NULL);

	if (r->failure != f)
		fail_msg("expected failure %s, got %s: %s", dcap_failure_name(f), dcap_failure_name(r->failure), r->reason);
	if (needle)
		assert_contains(r->reason, needle);
	free(r);
}

static void expect_status(const quote_spec *qs, const char *coll, dcap_tcb_status st)
{
	dcap_policy p = DCAP_POLICY_INIT;
	dcap_result *r;

	p.accepted = 0xffffffffu;
	r = run(qs, coll, &p);
	if (r->status != st)
		fail_msg("expected %s, got %s (%s)", dcap_tcb_status_name(st), dcap_tcb_status_name(r->status), r->reason);
	free(r);
}

static char *tcb_coll(const tcb_spec *ts)
{
	char *t = tcb_info_text(ts), *c = collateral_with(t, NULL);

	free(t);
	return c;
}

static char *qe_coll(const qe_spec *qs)
{
	char *t = qe_identity_text(qs), *c = collateral_with(NULL, t);

	free(t);
	return c;
}

/* ---- baseline ---- */

static void test_baseline(void **state)
{
	quote_spec qs;
	char *coll;
	dcap_result *r, r2;
	dcap_collateral *c;
	teeliza_buf sim_coll;

	(void)state;
	quote_default(&qs);
	coll = collateral_with(NULL, NULL);
	r = run(&qs, coll, NULL);
	assert_int_equal(r->verdict, DCAP_VERDICT_TRUSTED);
	assert_int_equal(r->status, DCAP_STATUS_UP_TO_DATE);
	assert_false(r->intel_root);
	free(r);
	free(coll);

	/* The simulator's own quote and collateral: trusted with its root, "not Intel" without. */
	teeliza_buf_init(&sim_coll, 1 << 22);
	assert_int_equal(tee_sim_collateral_json(&sim_coll, K.pki, NOW), TEELIZA_OK);
	assert_int_equal(dcap_collateral_parse_json(&c, (const char *)sim_coll.data, sim_coll.len), TEELIZA_OK);
	assert_int_equal(dcap_verify(&r2, K.simq.data, K.simq.len, c, NOW, NULL, K.trust), TEELIZA_OK);
	assert_int_equal(r2.status, DCAP_STATUS_UP_TO_DATE);
	assert_int_equal(dcap_verify(&r2, K.simq.data, K.simq.len, c, NOW, NULL, NULL), TEELIZA_ERR_VERIFY);
	assert_int_equal(r2.verdict, DCAP_VERDICT_FAILED);
	assert_int_equal(r2.failure, DCAP_FAIL_UNTRUSTED_ROOT);
	assert_int_equal(r2.status, DCAP_STATUS_NONE);
	assert_contains(r2.reason, "signed by a simulator root, not Intel");
	dcap_collateral_free(c);
	teeliza_buf_free(&sim_coll);
}

/* 1. QE identity: wrong id, mrsigner, isvprodid, attributes, isvsvn */
static void test_p01_qe_identity(void **state)
{
	quote_spec qs;
	qe_spec e;
	char *coll;

	(void)state;
	quote_default(&qs);
	qe_default(&e);
	e.id = "QE";
	coll = qe_coll(&e);
	expect_failure(&qs, coll, DCAP_FAIL_QE_IDENTITY, "needs \"TD_QE\"");
	free(coll);
	qe_default(&e);
	e.mrsigner[5] ^= 1;
	coll = qe_coll(&e);
	expect_failure(&qs, coll, DCAP_FAIL_QE_IDENTITY, "mrsigner");
	free(coll);
	qe_default(&e);
	e.isvprodid = 1;
	coll = qe_coll(&e);
	expect_failure(&qs, coll, DCAP_FAIL_QE_IDENTITY, "isvprodid");
	free(coll);
	qe_default(&e);
	e.attributes[8] = 1;
	e.attributes_mask = "FBFFFFFFFFFFFFFFFF00000000000000";
	coll = qe_coll(&e);
	expect_failure(&qs, coll, DCAP_FAIL_QE_IDENTITY, "attributes");
	free(coll);
	qe_default(&e);
	e.levels[0].isvsvn = K.q.qe_report.isvsvn + 1u;
	coll = qe_coll(&e);
	expect_failure(&qs, coll, DCAP_FAIL_TCB_NOT_SUPPORTED, "QE isvsvn");
	free(coll);
	/* A debug QE (attributes bit 1), signed by the PCK: rejected even if the identity's mask ignores it. */
	qe_default(&e);
	e.attributes_mask = "F9FFFFFFFFFFFFFF0000000000000000";
	coll = qe_coll(&e);
	qs.qe_report[48] |= 0x02;
	expect_failure(&qs, coll, DCAP_FAIL_QE_IDENTITY, "debug enclave");
	free(coll);
}

/* 2. QE vendor ID */
static void test_p02_qe_vendor_id(void **state)
{
	quote_spec qs;
	char *coll = collateral_with(NULL, NULL);

	(void)state;
	quote_default(&qs);
	qs.vendor[0] ^= 0x80;
	expect_failure(&qs, coll, DCAP_FAIL_BAD_QUOTE, "is not Intel's");
	free(coll);
}

/* 3. TCB component count: 8 or 20 entries are refused, not zipped */
static void test_p03_component_count(void **state)
{
	tcb_spec ts;
	char *coll;
	dcap_collateral *c;
	int counts[2] = {8, 20};
	size_t i;

	(void)state;
	for (i = 0; i < 2; i++) {
		tcb_default(&ts);
		ts.levels[0].ncomp = counts[i];
		coll = tcb_coll(&ts);
		assert_int_equal(dcap_collateral_parse_json(&c, coll, strlen(coll)), TEELIZA_ERR_PARSE);
		assert_contains(teeliza_errmsg(), "exactly 16 entries");
		free(coll);
	}
}

/* 4. TDX module identity: mrsignerseam, seam attributes, missing TDX_xx, module levels */
static void test_p04_tdx_module(void **state)
{
	quote_spec qs;
	tcb_spec ts;
	char *coll;
	dcap_result *r;
	dcap_policy p = DCAP_POLICY_INIT;

	(void)state;
	coll = collateral_with(NULL, NULL);
	quote_default(&qs);
	qs.body[TD_MRSIGNERSEAM + 7] = 1;
	expect_failure(&qs, coll, DCAP_FAIL_TDX_MODULE_MISMATCH, "mrsignerseam");
	quote_default(&qs);
	qs.body[TD_SEAM_ATTR] = 1;
	expect_failure(&qs, coll, DCAP_FAIL_TDX_MODULE_MISMATCH, "seam_attributes");
	free(coll);

	tcb_default(&ts);
	ts.modules[0].id = "TDX_03";
	coll = tcb_coll(&ts);
	quote_default(&qs);
	expect_failure(&qs, coll, DCAP_FAIL_TDX_MODULE_MISMATCH, "TDX_01");
	free(coll);

	/* The identity's mrsigner overrides the base tdxModule's. */
	tcb_default(&ts);
	ts.modules[0].mrsigner[0] = 0xaa;
	coll = tcb_coll(&ts);
	expect_failure(&qs, coll, DCAP_FAIL_TDX_MODULE_MISMATCH, "mrsignerseam");
	free(coll);

	/* Lower-case id is found (QVL compares case-insensitively). */
	tcb_default(&ts);
	ts.modules[0].id = "tdx_01";
	coll = tcb_coll(&ts);
	expect_status(&qs, coll, DCAP_STATUS_UP_TO_DATE);
	free(coll);

	tcb_default(&ts);
	ts.modules[0].levels[0].isvsvn = K.q.body.td.tee_tcb_svn[0] + 1u;
	coll = tcb_coll(&ts);
	expect_failure(&qs, coll, DCAP_FAIL_TCB_NOT_SUPPORTED, "below every level");
	free(coll);

	tcb_default(&ts);
	ts.modules[0].nlevels = 2;
	ts.modules[0].levels[0] = (id_level){K.q.body.td.tee_tcb_svn[0] + 1u, "UpToDate", "[\"INTEL-SA-MOD\"]"};
	ts.modules[0].levels[1] = (id_level){K.q.body.td.tee_tcb_svn[0], "OutOfDate", "[\"INTEL-SA-MOD\"]"};
	coll = tcb_coll(&ts);
	p.accepted = 0xffffffffu;
	r = run(&qs, coll, &p);
	assert_int_equal(r->status, DCAP_STATUS_OUT_OF_DATE);
	assert_int_equal(r->module_status, DCAP_STATUS_OUT_OF_DATE);
	assert_int_equal(r->platform_status, DCAP_STATUS_UP_TO_DATE);
	assert_int_equal(r->advisory_count, 1);
	assert_string_equal(r->advisory_ids[0], "INTEL-SA-MOD");
	free(r);
	free(coll);

	/* Module major version 0: no identity needed, and tdxtcbcomponents[0..1] count. */
	tcb_default(&ts);
	ts.nmodules = 0;
	ts.levels[0].tdx[1] = 0;
	coll = tcb_coll(&ts);
	qs.body[TD_TEE_TCB_SVN + 1] = 0;
	r = run(&qs, coll, NULL);
	assert_int_equal(r->verdict, DCAP_VERDICT_TRUSTED);
	assert_int_equal(r->module_status, DCAP_STATUS_NONE);
	free(r);
	qs.body[TD_TEE_TCB_SVN] = 0; /* below the level's tdx[0] */
	expect_failure(&qs, coll, DCAP_FAIL_TCB_NOT_SUPPORTED, "tee_tcb_svn");
	free(coll);
}

/* 5. TCB level order: a shuffled list gives the same level */
static void test_p05_shuffled_levels(void **state)
{
	quote_spec qs;
	tcb_spec ts;
	qe_spec e;
	char *coll;
	dcap_result *r;

	(void)state;
	quote_default(&qs);
	tcb_default(&ts);
	ts.nlevels = 3;
	/* JSON order: an old level the platform also meets, the right one, then one it does not meet. */
	ts.levels[1] = ts.levels[0];
	ts.levels[0].sgx[0]--;
	ts.levels[0].status = "OutOfDate";
	ts.levels[0].advisories = "[\"INTEL-SA-OLD\"]";
	ts.levels[2] = ts.levels[1];
	ts.levels[2].sgx[1]++;
	ts.levels[2].status = "Revoked";
	ts.levels[1].advisories = "[\"INTEL-SA-RIGHT\"]";
	coll = tcb_coll(&ts);
	r = run(&qs, coll, NULL);
	assert_int_equal(r->verdict, DCAP_VERDICT_TRUSTED);
	assert_int_equal(r->status, DCAP_STATUS_UP_TO_DATE);
	assert_int_equal(r->advisory_count, 1);
	assert_string_equal(r->advisory_ids[0], "INTEL-SA-RIGHT");
	free(r);
	free(coll);

	/* Same for QE Identity levels. */
	qe_default(&e);
	e.nlevels = 2;
	e.levels[0] = (id_level){1, "OutOfDate", NULL};
	e.levels[1] = (id_level){K.q.qe_report.isvsvn, "UpToDate", NULL};
	coll = qe_coll(&e);
	expect_status(&qs, coll, DCAP_STATUS_UP_TO_DATE);
	free(coll);
}

/* 6. lengths that overflow or disagree */
static void test_p06_lengths(void **state)
{
	quote_spec qs;
	char *coll = collateral_with(NULL, NULL);
	dcap_collateral *c;
	dcap_result r;
	uint8_t *quote;
	size_t len;

	(void)state;
	/* v5 body_size that disagrees with its body type */
	quote_v5(&qs);
	qs.body_size_field = DCAP_TD10_REPORT_LEN;
	expect_failure(&qs, coll, DCAP_FAIL_BAD_QUOTE, NULL);
	/* sig_data_len 0xFFFFFFFF and every truncation of a valid quote */
	quote_default(&qs);
	quote = build_quote(&qs, &len);
	assert_int_equal(dcap_collateral_parse_json(&c, coll, strlen(coll)), TEELIZA_OK);
	assert_int_equal(dcap_verify(&r, quote, len, c, NOW, NULL, K.trust), TEELIZA_OK);
	for (size_t cut = 0; cut < len; cut += 7) {
		assert_int_not_equal(dcap_verify(&r, quote, cut, c, NOW, NULL, K.trust), TEELIZA_OK);
		assert_int_equal(r.failure, DCAP_FAIL_BAD_QUOTE);
	}
	quote[632] = quote[633] = quote[634] = quote[635] = 0xff;
	assert_int_not_equal(dcap_verify(&r, quote, len, c, NOW, NULL, K.trust), TEELIZA_OK);
	assert_int_equal(r.failure, DCAP_FAIL_BAD_QUOTE);
	free(quote);
	dcap_collateral_free(c);
	free(coll);
}

/* Every byte before the PEM chain of a valid v5 (TD 1.5) quote matters: flipping any one fails. */
static void test_flip_every_byte_v5(void **state)
{
	quote_spec qs;
	char *coll = collateral_with(NULL, NULL);
	dcap_collateral *c;
	dcap_result r;
	dcap_quote pq;
	uint8_t *quote;
	size_t len, i, end, bad = 0;

	(void)state;
	quote_v5(&qs);
	quote = build_quote(&qs, &len);
	assert_int_equal(dcap_collateral_parse_json(&c, coll, strlen(coll)), TEELIZA_OK);
	assert_int_equal(dcap_quote_parse(&pq, quote, len), TEELIZA_OK);
	assert_int_equal(pq.signed_len, 54 + DCAP_TD15_REPORT_LEN);
	end = (size_t)(pq.cert_data - quote);
	for (i = 0; i < end; i++) {
		quote[i] ^= 0x80;
		if (dcap_verify(&r, quote, len, c, NOW, NULL, K.trust) == TEELIZA_OK) {
			fprintf(stderr, "flipping byte %zu of the v5 quote still verifies\n", i);
			bad++;
		}
		quote[i] ^= 0x80;
	}
	assert_int_equal(bad, 0);
	assert_int_equal(dcap_verify(&r, quote, len, c, NOW, NULL, K.trust), TEELIZA_OK);
	free(quote);
	dcap_collateral_free(c);
	free(coll);
}

/* 7. trailing bytes are accepted and do not move the signed range */
static void test_p07_trailing_bytes(void **state)
{
	quote_spec qs;
	char *coll = collateral_with(NULL, NULL);
	dcap_collateral *c;
	dcap_result r;
	uint8_t *quote;
	size_t len;

	(void)state;
	quote_default(&qs);
	quote = build_quote(&qs, &len);
	quote = realloc(quote, len + 64);
	memset(quote + len, 0xee, 64);
	assert_int_equal(dcap_collateral_parse_json(&c, coll, strlen(coll)), TEELIZA_OK);
	assert_int_equal(dcap_verify(&r, quote, len + 64, c, NOW, NULL, K.trust), TEELIZA_OK);
	assert_int_equal(r.quote.signed_len, 632);
	assert_int_equal(r.quote.trailing_len, 64);
	free(quote);
	dcap_collateral_free(c);
	free(coll);
}

/* 8. debug TDs / enclaves, reserved bits, SEPT_VE_DISABLE */
static void test_p08_attributes(void **state)
{
	quote_spec qs;
	char *coll = collateral_with(NULL, NULL), *sgx_coll;
	tcb_spec ts;
	qe_spec e;
	dcap_policy p = DCAP_POLICY_INIT;
	dcap_result *r;

	(void)state;
	quote_default(&qs);
	qs.body[TD_ATTR] |= 0x01; /* DEBUG */
	r = run(&qs, coll, NULL);
	assert_int_equal(r->verdict, DCAP_VERDICT_UNTRUSTED);
	assert_int_equal(r->violations, DCAP_VIOLATION_DEBUG);
	assert_contains(r->reason, "DEBUG");
	free(r);
	p.allow_debug = true;
	r = run(&qs, coll, &p);
	assert_int_equal(r->verdict, DCAP_VERDICT_TRUSTED);
	free(r);

	quote_default(&qs);
	qs.body[TD_ATTR] |= 0x02; /* reserved TUD bit */
	r = run(&qs, coll, &p);
	assert_int_equal(r->violations, DCAP_VIOLATION_RESERVED_ATTR);
	free(r);

	quote_default(&qs);
	qs.body[TD_ATTR + 3] &= (uint8_t)~0x10; /* SEPT_VE_DISABLE (bit 28) off */
	r = run(&qs, coll, NULL);
	assert_int_equal(r->verdict, DCAP_VERDICT_UNTRUSTED);
	assert_int_equal(r->violations, DCAP_VIOLATION_SEPT_VE);
	assert_contains(r->reason, "SEPT_VE_DISABLE is not set");
	free(r);
	dcap_policy_init(&p);
	p.require_sept_ve_disable = false;
	r = run(&qs, coll, &p);
	assert_int_equal(r->verdict, DCAP_VERDICT_TRUSTED);
	free(r);

	/* SGX: attributes bit 1 is DEBUG */
	sgx_tcb_default(&ts);
	qe_default(&e);
	e.id = "QE";
	{
		char *t = tcb_info_text(&ts), *q = qe_identity_text(&e);

		sgx_coll = collateral_with(t, q);
		free(t);
		free(q);
	}
	quote_sgx(&qs);
	r = run(&qs, sgx_coll, NULL);
	assert_int_equal(r->verdict, DCAP_VERDICT_TRUSTED);
	assert_false(r->tdx);
	free(r);
	qs.body[48] |= 0x02;
	r = run(&qs, sgx_coll, NULL);
	assert_int_equal(r->verdict, DCAP_VERDICT_UNTRUSTED);
	assert_int_equal(r->violations, DCAP_VIOLATION_DEBUG);
	free(r);
	free(sgx_coll);
	free(coll);
}

/* 9. mr_service_td */
static void test_p09_service_td(void **state)
{
	quote_spec qs;
	char *coll = collateral_with(NULL, NULL);
	dcap_policy p = DCAP_POLICY_INIT;
	dcap_result *r;

	(void)state;
	quote_v5(&qs);
	r = run(&qs, coll, NULL);
	assert_int_equal(r->verdict, DCAP_VERDICT_TRUSTED);
	assert_int_equal(r->quote.body_type, DCAP_BODY_TD15);
	free(r);
	qs.body[TD_SERVICE + 47] = 1;
	r = run(&qs, coll, NULL);
	assert_int_equal(r->verdict, DCAP_VERDICT_UNTRUSTED);
	assert_int_equal(r->violations, DCAP_VIOLATION_SERVICE_TD);
	free(r);
	p.allow_service_td = true;
	r = run(&qs, coll, &p);
	assert_int_equal(r->verdict, DCAP_VERDICT_TRUSTED);
	free(r);
	free(coll);
}

/* 10. not only Revoked fails: the policy decides; Revoked is never accepted */
static void test_p10_status_policy(void **state)
{
	quote_spec qs;
	tcb_spec ts;
	char *coll;
	dcap_policy p = DCAP_POLICY_INIT;
	dcap_result *r;

	(void)state;
	quote_default(&qs);
	tcb_default(&ts);
	ts.levels[0].status = "Revoked";
	coll = tcb_coll(&ts);
	p.accepted = 0xffffffffu;
	r = run(&qs, coll, &p);
	assert_int_equal(r->verdict, DCAP_VERDICT_UNTRUSTED);
	assert_int_equal(r->status, DCAP_STATUS_REVOKED);
	assert_int_equal(r->violations, DCAP_VIOLATION_STATUS);
	free(r);
	free(coll);
	tcb_default(&ts);
	ts.levels[0].status = "OutOfDate";
	coll = tcb_coll(&ts);
	r = run(&qs, coll, NULL);
	assert_int_equal(r->verdict, DCAP_VERDICT_UNTRUSTED);
	free(r);
	dcap_policy_init(&p);
	p.accepted |= DCAP_STATUS_BIT(DCAP_STATUS_OUT_OF_DATE);
	r = run(&qs, coll, &p);
	assert_int_equal(r->verdict, DCAP_VERDICT_TRUSTED);
	assert_int_equal(r->status, DCAP_STATUS_OUT_OF_DATE);
	free(r);
	free(coll);
}

/* 11. PCEID (and FMSPC) compared with the PCK certificate */
static void test_p11_pceid_fmspc(void **state)
{
	quote_spec qs;
	tcb_spec ts;
	char *coll;

	(void)state;
	quote_default(&qs);
	tcb_default(&ts);
	snprintf(ts.pceid, sizeof(ts.pceid), "%s", K.ext.pceid[1] == 1 ? "0002" : "0001");
	coll = tcb_coll(&ts);
	expect_failure(&qs, coll, DCAP_FAIL_TCB_MISMATCH, "PCEID");
	free(coll);
	tcb_default(&ts);
	ts.fmspc[11] = ts.fmspc[11] == '1' ? '2' : '1';
	coll = tcb_coll(&ts);
	expect_failure(&qs, coll, DCAP_FAIL_TCB_MISMATCH, "FMSPC");
	free(coll);
}

/* 12. status convergence as Intel's QVL tables, and TD relaunch */
static void test_p12_convergence_table(void **state)
{
	static const dcap_tcb_status levels[] = {
		DCAP_STATUS_UP_TO_DATE, DCAP_STATUS_SW_HARDENING_NEEDED, DCAP_STATUS_CONFIGURATION_NEEDED,
		DCAP_STATUS_CONFIGURATION_AND_SW_HARDENING_NEEDED, DCAP_STATUS_OUT_OF_DATE,
		DCAP_STATUS_OUT_OF_DATE_CONFIGURATION_NEEDED, DCAP_STATUS_REVOKED,
	};
	size_t i;

	(void)state;
	for (i = 0; i < sizeof(levels) / sizeof(levels[0]); i++) {
		dcap_tcb_status l = levels[i], want;

		/* other = UpToDate: the level stands */
		assert_int_equal(dcap_converge(l, DCAP_STATUS_UP_TO_DATE), l);
		/* other = Revoked: Revoked */
		assert_int_equal(dcap_converge(l, DCAP_STATUS_REVOKED), DCAP_STATUS_REVOKED);
		/* other = OutOfDate: QVL's table, not "the worse of the two" */
		switch (l) {
		case DCAP_STATUS_UP_TO_DATE:
		case DCAP_STATUS_SW_HARDENING_NEEDED:
			want = DCAP_STATUS_OUT_OF_DATE;
			break;
		case DCAP_STATUS_CONFIGURATION_NEEDED:
		case DCAP_STATUS_CONFIGURATION_AND_SW_HARDENING_NEEDED:
			want = DCAP_STATUS_OUT_OF_DATE_CONFIGURATION_NEEDED;
			break;
		default:
			want = l;
		}
		assert_int_equal(dcap_converge(l, DCAP_STATUS_OUT_OF_DATE), want);
	}
}

static void test_p12_convergence_end_to_end(void **state)
{
	quote_spec qs;
	tcb_spec ts;
	qe_spec e;
	char *t, *q, *coll;
	dcap_policy p = DCAP_POLICY_INIT;
	dcap_result *r;

	(void)state;
	p.accepted = 0xffffffffu;
	quote_default(&qs);
	/* platform ConfigurationNeeded + QE OutOfDate → OutOfDateConfigurationNeeded (dcap-qvl: OutOfDate) */
	tcb_default(&ts);
	ts.levels[0].status = "ConfigurationNeeded";
	ts.levels[0].advisories = "[\"INTEL-SA-P\",\"INTEL-SA-X\"]";
	qe_default(&e);
	e.levels[0].status = "OutOfDate";
	e.levels[0].advisories = "[\"INTEL-SA-Q\",\"INTEL-SA-X\"]";
	t = tcb_info_text(&ts);
	q = qe_identity_text(&e);
	coll = collateral_with(t, q);
	r = run(&qs, coll, &p);
	assert_int_equal(r->status, DCAP_STATUS_OUT_OF_DATE_CONFIGURATION_NEEDED);
	assert_int_equal(r->platform_status, DCAP_STATUS_CONFIGURATION_NEEDED);
	assert_int_equal(r->qe_status, DCAP_STATUS_OUT_OF_DATE);
	/* the union: platform first, then QE, no duplicates */
	assert_int_equal(r->advisory_count, 3);
	assert_string_equal(r->advisory_ids[0], "INTEL-SA-P");
	assert_string_equal(r->advisory_ids[1], "INTEL-SA-X");
	assert_string_equal(r->advisory_ids[2], "INTEL-SA-Q");
	free(r);
	free(coll);
	free(t);
	free(q);
	/* QE Revoked → Revoked */
	qe_default(&e);
	e.levels[0].status = "Revoked";
	coll = qe_coll(&e);
	expect_status(&qs, coll, DCAP_STATUS_REVOKED);
	free(coll);
}

static void test_p12_td_relaunch(void **state)
{
	quote_spec qs;
	tcb_spec ts;
	char *coll;
	uint8_t minor = K.q.body.td.tee_tcb_svn[0];

	(void)state;
	/* Module TDX_01 at `minor` is OutOfDate; the newer module (tee_tcb_svn2) reaches the latest level. */
	tcb_default(&ts);
	ts.modules[0].nlevels = 2;
	ts.modules[0].levels[0] = (id_level){minor + 2u, "UpToDate", NULL};
	ts.modules[0].levels[1] = (id_level){minor, "OutOfDate", NULL};
	coll = tcb_coll(&ts);
	quote_v5(&qs);
	qs.body[TD_SVN2] = (uint8_t)(minor + 2);
	expect_status(&qs, coll, DCAP_STATUS_TD_RELAUNCH_ADVISED);
	/* The same TD in a v4 (TD 1.0) quote has no tee_tcb_svn2: plain OutOfDate. */
	quote_default(&qs);
	expect_status(&qs, coll, DCAP_STATUS_OUT_OF_DATE);
	/* tee_tcb_svn2 not newer: OutOfDate */
	quote_v5(&qs);
	qs.body[TD_SVN2] = (uint8_t)(minor + 1);
	expect_status(&qs, coll, DCAP_STATUS_OUT_OF_DATE);
	free(coll);
	/* with a ConfigurationNeeded platform: TDRelaunchAdvisedConfigurationNeeded */
	ts.levels[0].status = "ConfigurationNeeded";
	coll = tcb_coll(&ts);
	quote_v5(&qs);
	qs.body[TD_SVN2] = (uint8_t)(minor + 2);
	expect_status(&qs, coll, DCAP_STATUS_TD_RELAUNCH_ADVISED_CONFIGURATION_NEEDED);
	free(coll);
	/* tee_tcb_svn2 names a module version with no identity: TDX module mismatch */
	tcb_default(&ts);
	ts.modules[0].nlevels = 2;
	ts.modules[0].levels[0] = (id_level){minor + 2u, "UpToDate", NULL};
	ts.modules[0].levels[1] = (id_level){minor, "OutOfDate", NULL};
	coll = tcb_coll(&ts);
	quote_v5(&qs);
	qs.body[TD_SVN2 + 1] = 7;
	expect_failure(&qs, coll, DCAP_FAIL_TDX_MODULE_MISMATCH, "TDX_07");
	free(coll);
}

/* 13. QE report_data: the last 32 bytes must be zero */
static void test_p13_qe_report_data(void **state)
{
	quote_spec qs;
	char *coll = collateral_with(NULL, NULL);

	(void)state;
	quote_default(&qs);
	qs.qe_report[320 + 40] = 1;
	expect_failure(&qs, coll, DCAP_FAIL_QE_REPORT, "last 32 bytes");
	quote_default(&qs);
	qs.qe_report[320 + 3] ^= 1;
	expect_failure(&qs, coll, DCAP_FAIL_QE_REPORT, "does not bind the attestation key");
	free(coll);
}

/* 14. CRLs: nextUpdate, revoked PCK, revoked intermediates, wrong signer, root checked too */
static void test_p14_crls(void **state)
{
	quote_spec qs;
	coll_spec cs;
	char *coll;
	dcap_result *r;
	dcap_policy p = DCAP_POLICY_INIT;

	(void)state;
	quote_default(&qs);
	memset(&cs, 0, sizeof(cs));
	cs.crl_next = NOW - 10;
	coll = collateral_json(&cs);
	expect_failure(&qs, coll, DCAP_FAIL_EXPIRED, "PCK CRL expired");
	p.expired = DCAP_EXPIRED_ALLOW;
	r = run(&qs, coll, &p);
	assert_int_equal(r->verdict, DCAP_VERDICT_TRUSTED);
	assert_true(r->collateral_expired);
	free(r);
	free(coll);

	memset(&cs, 0, sizeof(cs));
	cs.crl_this = NOW + 10;
	coll = collateral_json(&cs);
	expect_failure(&qs, coll, DCAP_FAIL_EXPIRED, "in the future");
	free(coll);

	memset(&cs, 0, sizeof(cs));
	cs.revoke_by_ca = X509_get0_serialNumber(K.pck);
	coll = collateral_json(&cs);
	expect_failure(&qs, coll, DCAP_FAIL_CERT_REVOKED, "revoked");
	free(coll);

	memset(&cs, 0, sizeof(cs));
	cs.revoke_by_root = X509_get0_serialNumber(K.ca);
	coll = collateral_json(&cs);
	expect_failure(&qs, coll, DCAP_FAIL_CERT_REVOKED, "PCK Platform CA");
	free(coll);

	memset(&cs, 0, sizeof(cs));
	cs.revoke_by_root = X509_get0_serialNumber(K.tcb);
	coll = collateral_json(&cs);
	expect_failure(&qs, coll, DCAP_FAIL_CERT_REVOKED, "TCB Signing");
	free(coll);

	/* The root is checked against its own CRL as well. */
	memset(&cs, 0, sizeof(cs));
	cs.revoke_by_root = X509_get0_serialNumber(K.root);
	coll = collateral_json(&cs);
	expect_failure(&qs, coll, DCAP_FAIL_CERT_REVOKED, "Root CA");
	free(coll);

	memset(&cs, 0, sizeof(cs));
	cs.root_crl_by_ca_key = true;
	coll = collateral_json(&cs);
	expect_failure(&qs, coll, DCAP_FAIL_CHAIN, "root CA CRL signature");
	free(coll);

	memset(&cs, 0, sizeof(cs));
	cs.pck_crl_critical = true;
	coll = collateral_json(&cs);
	expect_failure(&qs, coll, DCAP_FAIL_CHAIN, "critical extension");
	free(coll);
}

/* 15. signatures over the exact bytes: a whitespace change breaks them */
static void test_p15_whitespace(void **state)
{
	quote_spec qs;
	tcb_spec ts;
	qe_spec e;
	coll_spec cs = {0};
	char *t, *t2, *q, *q2, *coll;

	(void)state;
	quote_default(&qs);
	tcb_default(&ts);
	t = tcb_info_text(&ts);
	t2 = malloc(strlen(t) + 2);
	/* same JSON value, one space more */
	memcpy(t2, t, 1);
	t2[1] = ' ';
	memcpy(t2 + 2, t + 1, strlen(t));
	cs.tcb_info = t2;
	cs.tcb_signed = t;
	coll = collateral_json(&cs);
	expect_failure(&qs, coll, DCAP_FAIL_COLLATERAL_SIGNATURE, "TCB Info signature is invalid");
	free(coll);
	qe_default(&e);
	q = qe_identity_text(&e);
	q2 = concat(q, "\n");
	memset(&cs, 0, sizeof(cs));
	cs.qe_identity = q2;
	cs.qe_signed = q;
	coll = collateral_json(&cs);
	expect_failure(&qs, coll, DCAP_FAIL_COLLATERAL_SIGNATURE, "QE Identity signature is invalid");
	free(coll);
	free(t);
	free(t2);
	free(q);
	free(q2);
}

/* 16. JSON laxity: duplicate keys and trailing junk refused even when signed; hex case ignored */
static void test_p16_json_laxity(void **state)
{
	quote_spec qs;
	tcb_spec ts;
	char *coll, *dup;
	dcap_collateral *c;
	size_t i;

	(void)state;
	quote_default(&qs);
	tcb_default(&ts);
	ts.extra = ",\"version\":3";
	coll = tcb_coll(&ts);
	assert_int_equal(dcap_collateral_parse_json(&c, coll, strlen(coll)), TEELIZA_ERR_PARSE);
	assert_contains(teeliza_errmsg(), "duplicate");
	free(coll);
	tcb_default(&ts);
	ts.trailer = " {}";
	coll = tcb_coll(&ts);
	assert_int_equal(dcap_collateral_parse_json(&c, coll, strlen(coll)), TEELIZA_ERR_PARSE);
	free(coll);
	/* lowercase hex for fmspc and pceId: compared after decoding */
	tcb_default(&ts);
	for (i = 0; ts.fmspc[i]; i++)
		ts.fmspc[i] = (char)(ts.fmspc[i] >= 'A' && ts.fmspc[i] <= 'F' ? ts.fmspc[i] + 32 : ts.fmspc[i]);
	coll = tcb_coll(&ts);
	expect_status(&qs, coll, DCAP_STATUS_UP_TO_DATE);
	/* a duplicate key in the outer collateral object */
	dup = malloc(strlen(coll) + 64);
	snprintf(dup, strlen(coll) + 64, "{\"pck_crl\": \"00\",%s", coll + 1);
	assert_int_equal(dcap_collateral_parse_json(&c, dup, strlen(dup)), TEELIZA_ERR_PARSE);
	assert_contains(teeliza_errmsg(), "duplicate key \"pck_crl\"");
	free(dup);
	free(coll);
}

/* 17. TCB Info / QE Identity for the other TEE */
static void test_p17_tee_mismatch(void **state)
{
	quote_spec qs;
	tcb_spec ts;
	qe_spec e;
	char *t, *q, *coll;

	(void)state;
	sgx_tcb_default(&ts);
	coll = tcb_coll(&ts);
	quote_default(&qs);
	expect_failure(&qs, coll, DCAP_FAIL_TCB_MISMATCH, "TCB Info is for SGX but the quote is TDX");
	free(coll);
	/* an SGX quote with TDX collateral */
	coll = collateral_with(NULL, NULL);
	quote_sgx(&qs);
	expect_failure(&qs, coll, DCAP_FAIL_TCB_MISMATCH, "TCB Info is for TDX but the quote is SGX");
	free(coll);
	/* an SGX quote with SGX TCB Info but the TD_QE identity */
	sgx_tcb_default(&ts);
	qe_default(&e);
	t = tcb_info_text(&ts);
	q = qe_identity_text(&e);
	coll = collateral_with(t, q);
	expect_failure(&qs, coll, DCAP_FAIL_QE_IDENTITY, "needs \"QE\"");
	free(coll);
	free(t);
	free(q);
}

/* 18. untrusted CRLs and X.509 are parsed defensively (and fuzzed: tests/fuzz/fuzz_collateral.c) */
static void test_p18_hostile_crl(void **state)
{
	coll_spec cs = {0};
	char *coll;
	dcap_collateral *c;
	const char *junk[] = {"3082ffff0000", "30030201", "00", "3080020100", "ffffffffffffffff"};
	size_t i;

	(void)state;
	for (i = 0; i < sizeof(junk) / sizeof(junk[0]); i++) {
		cs.raw_root_crl = junk[i];
		coll = collateral_json(&cs);
		assert_int_equal(dcap_collateral_parse_json(&c, coll, strlen(coll)), TEELIZA_ERR_PARSE);
		assert_contains(teeliza_errmsg(), "root_ca_crl");
		free(coll);
	}
}

/* 19. Intel TCB Signing certificate renewal: the old chain verifies at historic times only */
static void test_p19_tcb_signing_renewal(void **state)
{
	size_t qlen, jlen;
	uint8_t *quote = vector_read("gotdx-tdx_prod_quote_SPR_E4.dat", &qlen);
	char *json = (char *)vector_read("gotdx-tdx_prod_quote_SPR_E4_collateral.json", &jlen);
	dcap_collateral *c;
	dcap_policy p = DCAP_POLICY_INIT;
	dcap_result r;

	(void)state;
	assert_int_equal(dcap_collateral_parse_json(&c, json, jlen), TEELIZA_OK);
	/* 2023: the 2018 TCB Signing certificate is valid; verification gets to TCB matching. */
	assert_int_not_equal(dcap_verify(&r, quote, qlen, c, 1688173200, NULL, NULL), TEELIZA_OK);
	assert_int_equal(r.failure, DCAP_FAIL_TCB_NOT_SUPPORTED);
	/* 2025-06: that certificate expired on 2025-05-21, even with expired collateral allowed. */
	p.expired = DCAP_EXPIRED_ALLOW;
	assert_int_not_equal(dcap_verify(&r, quote, qlen, c, 1750000000, &p, NULL), TEELIZA_OK);
	assert_int_equal(r.failure, DCAP_FAIL_EXPIRED);
	assert_contains(r.reason, "certificate has expired");
	dcap_collateral_free(c);
	free(quote);
	free(json);
}

static void write_file(const char *path, const void *data, size_t len)
{
	FILE *f = fopen(path, "w");

	assert_non_null(f);
	assert_int_equal(fwrite(data, 1, len, f), len);
	fclose(f);
}

/* `teeliza verify` on a simulator quote binding the plugin's app-data JSON, with and without its root. */
static void test_cli_simulator(void **state)
{
	const char *json = "{\"agentId\":\"a1\",\"publicKey\":\"pk\"}";
	uint8_t rd[64], rtmr[4][48] = {{0}};
	unsigned int n = 64;
	EVP_MD_CTX *md = EVP_MD_CTX_new();
	teeliza_buf quote, coll;
	char qpath[128], cpath[128], rpath[128], cmd[1024], *out = NULL;
	int rc;

	(void)state;
	assert_int_equal(EVP_DigestInit_ex(md, EVP_sha512(), NULL), 1);
	assert_int_equal(EVP_DigestUpdate(md, "app-data:", 9), 1);
	assert_int_equal(EVP_DigestUpdate(md, json, strlen(json)), 1);
	assert_int_equal(EVP_DigestFinal_ex(md, rd, &n), 1);
	EVP_MD_CTX_free(md);
	teeliza_buf_init(&quote, 1 << 20);
	teeliza_buf_init(&coll, 1 << 22);
	assert_int_equal(tee_sim_quote(&quote, K.pki, rd, (const uint8_t(*)[48])rtmr), TEELIZA_OK);
	assert_int_equal(tee_sim_collateral_json(&coll, K.pki, (int64_t)time(NULL)), TEELIZA_OK);
	snprintf(qpath, sizeof(qpath), "%s/q.bin", K.dir);
	snprintf(cpath, sizeof(cpath), "%s/c.json", K.dir);
	snprintf(rpath, sizeof(rpath), "%s/r.pem", K.dir);
	write_file(qpath, quote.data, quote.len);
	write_file(cpath, coll.data, coll.len);
	write_file(rpath, K.root_pem, strlen(K.root_pem));

	snprintf(cmd, sizeof(cmd), "%s verify %s --collateral %s --trust-root %s --expect-app-data '%s'", TEELIZA_BINARY,
	         qpath, cpath, rpath, json);
	rc = run_capture(cmd, &out);
	assert_int_equal(rc, 0);
	assert_contains(out, "report_data        matches");
	free(out);
	snprintf(cmd, sizeof(cmd), "%s verify %s --collateral %s --trust-root %s --expect-app-data '{}'", TEELIZA_BINARY,
	         qpath, cpath, rpath);
	rc = run_capture(cmd, &out);
	assert_int_equal(rc, 2);
	assert_contains(out, "does not bind the expected report_data");
	free(out);
	snprintf(cmd, sizeof(cmd), "%s verify %s --collateral %s --json", TEELIZA_BINARY, qpath, cpath);
	rc = run_capture(cmd, &out);
	assert_int_equal(rc, 2);
	assert_contains(out, "signed by a simulator root, not Intel");
	assert_contains(out, "\"status\": null");
	free(out);
	unlink(qpath);
	unlink(cpath);
	unlink(rpath);
	teeliza_buf_free(&quote);
	teeliza_buf_free(&coll);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_baseline),
		cmocka_unit_test(test_p01_qe_identity),
		cmocka_unit_test(test_p02_qe_vendor_id),
		cmocka_unit_test(test_p03_component_count),
		cmocka_unit_test(test_p04_tdx_module),
		cmocka_unit_test(test_p05_shuffled_levels),
		cmocka_unit_test(test_p06_lengths),
		cmocka_unit_test(test_flip_every_byte_v5),
		cmocka_unit_test(test_p07_trailing_bytes),
		cmocka_unit_test(test_p08_attributes),
		cmocka_unit_test(test_p09_service_td),
		cmocka_unit_test(test_p10_status_policy),
		cmocka_unit_test(test_p11_pceid_fmspc),
		cmocka_unit_test(test_p12_convergence_table),
		cmocka_unit_test(test_p12_convergence_end_to_end),
		cmocka_unit_test(test_p12_td_relaunch),
		cmocka_unit_test(test_p13_qe_report_data),
		cmocka_unit_test(test_p14_crls),
		cmocka_unit_test(test_p15_whitespace),
		cmocka_unit_test(test_p16_json_laxity),
		cmocka_unit_test(test_p17_tee_mismatch),
		cmocka_unit_test(test_p18_hostile_crl),
		cmocka_unit_test(test_p19_tcb_signing_renewal),
		cmocka_unit_test(test_cli_simulator),
	};

	return cmocka_run_group_tests(tests, kit_setup, kit_teardown);
}
