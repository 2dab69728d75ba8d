/*
 * Describing a parsed quote: JSON (for tools and tests) and an aligned text
 * table (for people). Both read only through the dcap_quote view, so they see
 * exactly what the parser accepted.
 */
#include "teeliza/dcap/quote.h"
#include "teeliza/dcap/pck.h"
#include "teeliza/common/encoding.h"

#include <openssl/objects.h>
#include <openssl/x509.h>

#include <assert.h>
#include <inttypes.h>
#include <stdlib.h>
#include <string.h>

#define TD_ATTR_NAMED (DCAP_TD_ATTR_DEBUG | DCAP_TD_ATTR_SEPT_VE_DISABLE | DCAP_TD_ATTR_PKS | \
                       DCAP_TD_ATTR_KL | DCAP_TD_ATTR_PERFMON)
#define SGX_ATTR_DEBUG 0x02u

static const struct {
	const char *name;
	uint64_t bit;
} td_attr_bits[] = {
	{ "debug", DCAP_TD_ATTR_DEBUG },
	{ "sept_ve_disable", DCAP_TD_ATTR_SEPT_VE_DISABLE },
	{ "pks", DCAP_TD_ATTR_PKS },
	{ "kl", DCAP_TD_ATTR_KL },
	{ "perfmon", DCAP_TD_ATTR_PERFMON },
};

/* The 8 bytes as they appear in the quote (little-endian). */
static void u64_bytes(uint8_t out[8], uint64_t v)
{
	int i;

	for (i = 0; i < 8; i++)
		out[i] = (uint8_t)(v >> (8 * i));
}

static const char *tee_name(uint32_t tee_type)
{
	if (tee_type == DCAP_TEE_TYPE_TDX)
		return "TDX";
	if (tee_type == DCAP_TEE_TYPE_SGX)
		return "SGX";
	return "unknown";
}

static const char *body_title(dcap_body_type type)
{
	switch (type) {
	case DCAP_BODY_SGX:
		return "SGX enclave report";
	case DCAP_BODY_TD10:
		return "TD report 1.0";
	case DCAP_BODY_TD15:
		return "TD report 1.5";
	default:
		return "unknown body";
	}
}

/* ---- JSON ---- */

static json_t *j_hex(const uint8_t *p, size_t n)
{
	char small[2 * 64 + 1];
	char *s = small;
	json_t *j;

	if (p == NULL)
		return json_null();
	if (n > 64) {
		s = malloc(2 * n + 1);
		if (s == NULL)
			return NULL;
	}
	teeliza_hex_encode(s, p, n);
	j = json_stringn(s, 2 * n);
	if (s != small)
		free(s);
	return j;
}

static json_t *j_u64_hex(uint64_t v)
{
	uint8_t b[8];

	u64_bytes(b, v);
	return j_hex(b, sizeof(b));
}

/* Set obj[key] = v, stealing v; false (and v released) on failure. */
static bool put(json_t *obj, const char *key, json_t *v)
{
	return obj != NULL && json_object_set_new(obj, key, v) == 0;
}

/*
 * The PCK leaf certificate's subject and SGX extension, decoded for display
 * (the verifier reads them itself). Unlike the parse, this allocates: the
 * chain is decoded with OpenSSL.
 */
static teeliza_err read_pck(dcap_pck_ext *ext, char *subject, size_t subject_len, const dcap_quote *q)
{
	STACK_OF(X509) *chain = NULL;
	teeliza_err err;

	memset(ext, 0, sizeof(*ext));
	subject[0] = '\0';
	if (q->cert_type != 5)
		return teeliza_set_error(TEELIZA_ERR_UNSUPPORTED, "no PEM PCK certificate chain in the quote");
	err = dcap_pem_chain_parse(&chain, q->cert_data, q->cert_data_len);
	if (!err) {
		X509 *leaf = sk_X509_value(chain, 0);

		if (X509_NAME_get_text_by_NID(X509_get_subject_name(leaf), NID_commonName, subject,
		                              (int)subject_len) < 0)
			subject[0] = '\0';
		err = dcap_pck_ext_parse(ext, leaf);
	}
	sk_X509_pop_free(chain, X509_free);
	return err;
}

static const char *sgx_type_name(int t)
{
	switch (t) {
	case DCAP_SGX_TYPE_STANDARD: return "Standard";
	case DCAP_SGX_TYPE_SCALABLE: return "Scalable";
	case DCAP_SGX_TYPE_SCALABLE_WITH_INTEGRITY: return "ScalableWithIntegrity";
	default: return "unknown";
	}
}

static json_t *j_tristate(int v)
{
	return v < 0 ? json_null() : json_boolean(v);
}

static json_t *pck_json(const dcap_quote *q)
{
	dcap_pck_ext e;
	char subject[256];
	json_t *o = json_object(), *cfg;
	bool ok = o != NULL;

	if (read_pck(&e, subject, sizeof(subject), q) != TEELIZA_OK) {
		ok = ok && put(o, "error", json_string(teeliza_errmsg()));
		teeliza_clear_error();
	} else {
		ok = ok && put(o, "subject_cn", json_string(subject));
		ok = ok && put(o, "fmspc", j_hex(e.fmspc, sizeof(e.fmspc)));
		ok = ok && put(o, "pceid", j_hex(e.pceid, sizeof(e.pceid)));
		ok = ok && put(o, "cpusvn", j_hex(e.cpusvn, sizeof(e.cpusvn)));
		ok = ok && put(o, "pcesvn", json_integer(e.pcesvn));
		ok = ok && put(o, "tcb_comp_svn", j_hex(e.comp_svn, sizeof(e.comp_svn)));
		ok = ok && put(o, "sgx_type", json_string(sgx_type_name(e.sgx_type)));
		ok = ok && put(o, "ppid", j_hex(e.ppid, sizeof(e.ppid)));
		ok = ok && put(o, "platform_instance_id",
		               e.has_platform_instance_id ? j_hex(e.platform_instance_id, 16) : json_null());
		if (e.has_configuration) {
			cfg = json_object();
			ok = ok && cfg != NULL;
			ok = ok && put(cfg, "dynamic_platform", j_tristate(e.dynamic_platform));
			ok = ok && put(cfg, "cached_keys", j_tristate(e.cached_keys));
			ok = ok && put(cfg, "smt_enabled", j_tristate(e.smt_enabled));
			ok = ok && put(o, "configuration", cfg);
		} else {
			ok = ok && put(o, "configuration", json_null());
		}
	}
	if (!ok) {
		json_decref(o);
		return NULL;
	}
	return o;
}

static json_t *sgx_report_json(const dcap_sgx_report *r)
{
	json_t *o = json_object();
	bool ok = o != NULL;

	ok = ok && put(o, "cpusvn", j_hex(r->cpusvn, 16));
	ok = ok && put(o, "miscselect", json_integer(r->miscselect));
	ok = ok && put(o, "attributes", j_hex(r->attributes, 16));
	ok = ok && put(o, "debug", json_boolean(r->attributes[0] & SGX_ATTR_DEBUG));
	ok = ok && put(o, "mrenclave", j_hex(r->mrenclave, 32));
	ok = ok && put(o, "mrsigner", j_hex(r->mrsigner, 32));
	ok = ok && put(o, "isvprodid", json_integer(r->isvprodid));
	ok = ok && put(o, "isvsvn", json_integer(r->isvsvn));
	ok = ok && put(o, "report_data", j_hex(r->report_data, 64));
	if (!ok) {
		json_decref(o);
		return NULL;
	}
	return o;
}

static json_t *td_attributes_json(uint64_t attr)
{
	json_t *o = json_object();
	bool ok = o != NULL;
	size_t i;

	ok = ok && put(o, "hex", j_u64_hex(attr));
	for (i = 0; i < sizeof(td_attr_bits) / sizeof(td_attr_bits[0]); i++)
		ok = ok && put(o, td_attr_bits[i].name, json_boolean(attr & td_attr_bits[i].bit));
	ok = ok && put(o, "reserved_bits_set", json_boolean(attr & ~TD_ATTR_NAMED));
	if (!ok) {
		json_decref(o);
		return NULL;
	}
	return o;
}

static bool td_report_fill(json_t *o, const dcap_td_report *r)
{
	static const char *const rtmr_names[4] = { "rtmr0", "rtmr1", "rtmr2", "rtmr3" };
	bool ok = true;
	int i;

	ok = ok && put(o, "tee_tcb_svn", j_hex(r->tee_tcb_svn, 16));
	ok = ok && put(o, "mrseam", j_hex(r->mrseam, 48));
	ok = ok && put(o, "mrsignerseam", j_hex(r->mrsignerseam, 48));
	ok = ok && put(o, "seam_attributes", j_u64_hex(r->seam_attributes));
	ok = ok && put(o, "td_attributes", td_attributes_json(r->td_attributes));
	ok = ok && put(o, "xfam", j_u64_hex(r->xfam));
	ok = ok && put(o, "mrtd", j_hex(r->mrtd, 48));
	ok = ok && put(o, "mrconfigid", j_hex(r->mrconfigid, 48));
	ok = ok && put(o, "mrowner", j_hex(r->mrowner, 48));
	ok = ok && put(o, "mrownerconfig", j_hex(r->mrownerconfig, 48));
	for (i = 0; i < 4; i++)
		ok = ok && put(o, rtmr_names[i], j_hex(r->rtmr[i], 48));
	ok = ok && put(o, "report_data", j_hex(r->report_data, 64));
	if (r->tee_tcb_svn2 != NULL) {
		ok = ok && put(o, "tee_tcb_svn2", j_hex(r->tee_tcb_svn2, 16));
		ok = ok && put(o, "mr_service_td", j_hex(r->mr_service_td, 48));
	}
	return ok;
}

static json_t *header_json(const dcap_header *h)
{
	json_t *o = json_object();
	bool ok = o != NULL;

	ok = ok && put(o, "version", json_integer(h->version));
	ok = ok && put(o, "att_key_type", json_integer(h->att_key_type));
	ok = ok && put(o, "tee_type", json_integer(h->tee_type));
	ok = ok && put(o, "tee", json_string(tee_name(h->tee_type)));
	ok = ok && put(o, "qe_svn", json_integer(h->qe_svn));
	ok = ok && put(o, "pce_svn", json_integer(h->pce_svn));
	ok = ok && put(o, "qe_vendor_id", j_hex(h->qe_vendor_id, 16));
	ok = ok && put(o, "qe_vendor_is_intel",
	               json_boolean(memcmp(h->qe_vendor_id, DCAP_INTEL_QE_VENDOR_ID, 16) == 0));
	ok = ok && put(o, "user_data", j_hex(h->user_data, 20));
	ok = ok && put(o, "qe_id", j_hex(h->user_data, 16));
	if (!ok) {
		json_decref(o);
		return NULL;
	}
	return o;
}

static json_t *body_json(const dcap_quote *q)
{
	json_t *o = json_object();
	bool ok = o != NULL;

	ok = ok && put(o, "type", json_string(dcap_body_type_name(q->body_type)));
	ok = ok && put(o, "body_type", json_integer(q->body_type));
	ok = ok && put(o, "size", json_integer(q->body_size));
	if (ok && q->body_type == DCAP_BODY_SGX) {
		json_t *r = sgx_report_json(&q->body.sgx);

		ok = r != NULL && json_object_update(o, r) == 0;
		json_decref(r);
	} else if (ok) {
		ok = td_report_fill(o, &q->body.td);
	}
	if (!ok) {
		json_decref(o);
		return NULL;
	}
	return o;
}

static json_t *sig_json(const dcap_quote *q)
{
	json_t *o = json_object();
	bool ok = o != NULL;

	ok = ok && put(o, "sig_data_len", json_integer(q->sig_data_len));
	ok = ok && put(o, "signature", j_hex(q->signature, 64));
	ok = ok && put(o, "att_pub_key", j_hex(q->att_pub_key, 64));
	ok = ok && put(o, "qe_report", sgx_report_json(&q->qe_report));
	ok = ok && put(o, "qe_report_sig", j_hex(q->qe_report_sig, 64));
	ok = ok && put(o, "qe_auth_len", json_integer(q->qe_auth_len));
	ok = ok && put(o, "qe_auth", j_hex(q->qe_auth, q->qe_auth_len));
	ok = ok && put(o, "cert_type", json_integer(q->cert_type));
	ok = ok && put(o, "cert_data_len", json_integer(q->cert_data_len));
	if (!ok) {
		json_decref(o);
		return NULL;
	}
	return o;
}

static json_t *sizes_json(const dcap_quote *q)
{
	json_t *o = json_object();
	bool ok = o != NULL;

	ok = ok && put(o, "total", json_integer((json_int_t)(q->parsed_len + q->trailing_len)));
	ok = ok && put(o, "signed_len", json_integer((json_int_t)q->signed_len));
	ok = ok && put(o, "parsed_len", json_integer((json_int_t)q->parsed_len));
	ok = ok && put(o, "trailing_len", json_integer((json_int_t)q->trailing_len));
	if (!ok) {
		json_decref(o);
		return NULL;
	}
	return o;
}

teeliza_err dcap_quote_to_json(json_t **out, const dcap_quote *q)
{
	json_t *o;
	bool ok;

	assert(out != NULL && q != NULL && q->signed_data != NULL);
	*out = NULL;
	o = json_object();
	ok = o != NULL;
	ok = ok && put(o, "header", header_json(&q->header));
	ok = ok && put(o, "body", body_json(q));
	ok = ok && put(o, "signature_data", sig_json(q));
	ok = ok && put(o, "pck_certificate", pck_json(q));
	ok = ok && put(o, "sizes", sizes_json(q));
	if (!ok) {
		json_decref(o);
		return teeliza_set_error(TEELIZA_ERR_NOMEM, "out of memory building quote JSON");
	}
	*out = o;
	return TEELIZA_OK;
}

/* ---- text table ---- */

#define LABEL_WIDTH 22

static void row_hex(FILE *f, const char *label, const uint8_t *p, size_t n)
{
	size_t i;

	fprintf(f, "  %-*s ", LABEL_WIDTH, label);
	for (i = 0; i < n; i++)
		fprintf(f, "%02x", p[i]);
	fputc('\n', f);
}

static void row_u64_hex(FILE *f, const char *label, uint64_t v)
{
	uint8_t b[8];

	u64_bytes(b, v);
	row_hex(f, label, b, sizeof(b));
}

static void row_num(FILE *f, const char *label, uint64_t v)
{
	fprintf(f, "  %-*s %" PRIu64 "\n", LABEL_WIDTH, label, v);
}

static void print_sgx_report(FILE *f, const dcap_sgx_report *r)
{
	row_hex(f, "cpusvn", r->cpusvn, 16);
	fprintf(f, "  %-*s 0x%08" PRIx32 "\n", LABEL_WIDTH, "miscselect", r->miscselect);
	fprintf(f, "  %-*s ", LABEL_WIDTH, "attributes");
	for (int i = 0; i < 16; i++)
		fprintf(f, "%02x", r->attributes[i]);
	fprintf(f, "%s\n", (r->attributes[0] & SGX_ATTR_DEBUG) ? " (debug)" : "");
	row_hex(f, "mrenclave", r->mrenclave, 32);
	row_hex(f, "mrsigner", r->mrsigner, 32);
	row_num(f, "isvprodid", r->isvprodid);
	row_num(f, "isvsvn", r->isvsvn);
	row_hex(f, "report_data", r->report_data, 64);
}

static void print_td_attributes(FILE *f, uint64_t attr)
{
	uint8_t b[8];
	const char *sep = " (";
	size_t i;

	u64_bytes(b, attr);
	fprintf(f, "  %-*s ", LABEL_WIDTH, "td_attributes");
	for (i = 0; i < 8; i++)
		fprintf(f, "%02x", b[i]);
	for (i = 0; i < sizeof(td_attr_bits) / sizeof(td_attr_bits[0]); i++) {
		if (attr & td_attr_bits[i].bit) {
			fprintf(f, "%s%s", sep, td_attr_bits[i].name);
			sep = ", ";
		}
	}
	if (attr & ~TD_ATTR_NAMED) {
		fprintf(f, "%sreserved bits set", sep);
		sep = ", ";
	}
	fputs(sep[0] == ',' ? ")\n" : "\n", f);
}

static void print_td_report(FILE *f, const dcap_td_report *r)
{
	static const char *const rtmr_names[4] = { "rtmr0", "rtmr1", "rtmr2", "rtmr3" };
	int i;

	row_hex(f, "tee_tcb_svn", r->tee_tcb_svn, 16);
	row_hex(f, "mrseam", r->mrseam, 48);
	row_hex(f, "mrsignerseam", r->mrsignerseam, 48);
	row_u64_hex(f, "seam_attributes", r->seam_attributes);
	print_td_attributes(f, r->td_attributes);
	row_u64_hex(f, "xfam", r->xfam);
	row_hex(f, "mrtd", r->mrtd, 48);
	row_hex(f, "mrconfigid", r->mrconfigid, 48);
	row_hex(f, "mrowner", r->mrowner, 48);
	row_hex(f, "mrownerconfig", r->mrownerconfig, 48);
	for (i = 0; i < 4; i++)
		row_hex(f, rtmr_names[i], r->rtmr[i], 48);
	row_hex(f, "report_data", r->report_data, 64);
	if (r->tee_tcb_svn2 != NULL) {
		row_hex(f, "tee_tcb_svn2", r->tee_tcb_svn2, 16);
		row_hex(f, "mr_service_td", r->mr_service_td, 48);
	}
}

static void print_pck(FILE *f, const dcap_quote *q)
{
	dcap_pck_ext e;
	char subject[256];

	fprintf(f, "PCK certificate\n");
	if (read_pck(&e, subject, sizeof(subject), q) != TEELIZA_OK) {
		fprintf(f, "  %-*s %s\n", LABEL_WIDTH, "unreadable", teeliza_errmsg());
		teeliza_clear_error();
		return;
	}
	fprintf(f, "  %-*s %s\n", LABEL_WIDTH, "subject CN", subject);
	row_hex(f, "fmspc", e.fmspc, sizeof(e.fmspc));
	row_hex(f, "pceid", e.pceid, sizeof(e.pceid));
	row_hex(f, "cpusvn", e.cpusvn, sizeof(e.cpusvn));
	row_num(f, "pcesvn", e.pcesvn);
	row_hex(f, "tcb_comp_svn", e.comp_svn, sizeof(e.comp_svn));
	fprintf(f, "  %-*s %d (%s)\n", LABEL_WIDTH, "sgx_type", e.sgx_type, sgx_type_name(e.sgx_type));
	row_hex(f, "ppid", e.ppid, sizeof(e.ppid));
	if (e.has_platform_instance_id)
		row_hex(f, "platform_instance_id", e.platform_instance_id, 16);
}

void dcap_quote_print(FILE *f, const dcap_quote *q)
{
	const dcap_header *h = &q->header;

	assert(f != NULL && q != NULL && q->signed_data != NULL);
	fprintf(f, "Header\n");
	row_num(f, "version", h->version);
	fprintf(f, "  %-*s %u%s\n", LABEL_WIDTH, "att_key_type", h->att_key_type,
	        h->att_key_type == DCAP_ATT_KEY_ECDSA_P256 ? " (ECDSA-256-with-P-256)" : "");
	fprintf(f, "  %-*s 0x%08" PRIx32 " (%s)\n", LABEL_WIDTH, "tee_type", h->tee_type,
	        tee_name(h->tee_type));
	row_num(f, "qe_svn", h->qe_svn);
	row_num(f, "pce_svn", h->pce_svn);
	fprintf(f, "  %-*s ", LABEL_WIDTH, "qe_vendor_id");
	for (int i = 0; i < 16; i++)
		fprintf(f, "%02x", h->qe_vendor_id[i]);
	/* any quote can carry Intel's ID (teeliza's simulator does): it names no signer */
	fputs(memcmp(h->qe_vendor_id, DCAP_INTEL_QE_VENDOR_ID, 16) == 0
	          ? " (Intel's QE ID, as the quote claims; the certificate chain says who signed)\n"
	          : " (not Intel's QE ID)\n",
	      f);
	row_hex(f, "user_data", h->user_data, 20);

	fprintf(f, "Body: %s (type %d, %" PRIu32 " bytes)\n", body_title(q->body_type),
	        (int)q->body_type, q->body_size);
	if (q->body_type == DCAP_BODY_SGX)
		print_sgx_report(f, &q->body.sgx);
	else
		print_td_report(f, &q->body.td);

	fprintf(f, "Signature data (%" PRIu32 " bytes)\n", q->sig_data_len);
	row_hex(f, "signature", q->signature, 64);
	row_hex(f, "att_pub_key", q->att_pub_key, 64);
	row_hex(f, "qe_report_sig", q->qe_report_sig, 64);
	row_num(f, "qe_auth_len", q->qe_auth_len);
	row_hex(f, "qe_auth", q->qe_auth, q->qe_auth_len);
	fprintf(f, "  %-*s %u%s\n", LABEL_WIDTH, "cert_type", q->cert_type,
	        q->cert_type == 5 ? " (PEM PCK certificate chain)" : "");
	row_num(f, "cert_data_len", q->cert_data_len);

	fprintf(f, "QE report\n");
	print_sgx_report(f, &q->qe_report);

	print_pck(f, q);

	fprintf(f, "Sizes\n");
	row_num(f, "total", q->parsed_len + q->trailing_len);
	row_num(f, "signed_len", q->signed_len);
	row_num(f, "parsed_len", q->parsed_len);
	row_num(f, "trailing_len", q->trailing_len);
}
