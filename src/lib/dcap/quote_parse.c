/*
 * DCAP quote parser (v3, v4, v5). Layout: dcap-verification.md §1.
 *
 * Every length is checked against the bytes that remain in the enclosing
 * structure before it is used, by subtraction only, so no sum can overflow.
 * A length that runs past the end of the caller's buffer is a truncation
 * (TEELIZA_ERR_TRUNCATED); a nested length that runs past its parent
 * structure, or a parent with unparsed bytes left over, is an inconsistent
 * quote (TEELIZA_ERR_PARSE), as in Intel QVL's certification-data size check.
 * Bytes after sig_data are padding that QE libraries add; they are allowed.
 *
 * Decisions the verifier relies on:
 *  - att_key_type must be 2: the signature data layout (64-byte signature and
 *    key) is only defined for ECDSA-P256, so another key type cannot be parsed
 *    (dcap-qvl rejects it at the same point).
 *  - qe_vendor_id is not checked here; the verifier rejects non-Intel QEs.
 *  - Only certification data that ends in a type 5 PEM chain is accepted,
 *    since that is all the verifier can use.
 */
#include "teeliza/dcap/quote.h"

#include <assert.h>
#include <string.h>

const uint8_t DCAP_INTEL_QE_VENDOR_ID[16] = {
	0x93, 0x9a, 0x72, 0x33, 0xf7, 0x9c, 0x4c, 0xa9,
	0x94, 0x0a, 0x0d, 0xb3, 0x95, 0x7f, 0x06, 0x07,
};

#define CERT_TYPE_PCK_CHAIN 5
#define CERT_TYPE_QE_REPORT 6
#define V5_DESCRIPTOR_LEN 6

/* A bounded window over the quote. `name` is the structure it covers. */
typedef struct reader {
	const uint8_t *base; /* start of the whole quote, for offsets in messages */
	const uint8_t *p;
	size_t left;
	const char *name;
	bool top; /* the window ends where the caller's buffer ends */
} reader;

static uint16_t rd16(const uint8_t *p)
{
	return (uint16_t)(p[0] | p[1] << 8);
}

static uint32_t rd32(const uint8_t *p)
{
	return (uint32_t)p[0] | (uint32_t)p[1] << 8 | (uint32_t)p[2] << 16 | (uint32_t)p[3] << 24;
}

static uint64_t rd64(const uint8_t *p)
{
	return (uint64_t)rd32(p) | (uint64_t)rd32(p + 4) << 32;
}

static teeliza_err take(const uint8_t **out, reader *r, size_t n, const char *field)
{
	size_t off = (size_t)(r->p - r->base);

	*out = NULL;
	if (n > r->left) {
		if (r->top)
			return teeliza_set_error(TEELIZA_ERR_TRUNCATED,
			                         "quote truncated: %s needs %zu bytes at offset %zu, only %zu left",
			                         field, n, off, r->left);
		return teeliza_set_error(TEELIZA_ERR_PARSE,
		                         "inconsistent quote: %s needs %zu bytes at offset %zu, but %s has only %zu left",
		                         field, n, off, r->name, r->left);
	}
	*out = r->p;
	r->p += n;
	r->left -= n;
	return TEELIZA_OK;
}

/* Carve a child window of n bytes out of r. */
static teeliza_err sub(reader *child, reader *r, size_t n, const char *field, const char *name)
{
	const uint8_t *p;
	teeliza_err err = take(&p, r, n, field);

	if (err)
		return err;
	child->base = r->base;
	child->p = p;
	child->left = n;
	child->name = name;
	child->top = false;
	return TEELIZA_OK;
}

static teeliza_err expect_end(const reader *r)
{
	if (r->left != 0)
		return teeliza_set_error(TEELIZA_ERR_PARSE,
		                         "inconsistent quote: %zu unparsed bytes at the end of %s (offset %zu)",
		                         r->left, r->name, (size_t)(r->p - r->base));
	return TEELIZA_OK;
}

static void sgx_report_view(dcap_sgx_report *r, const uint8_t *p)
{
	r->raw = p;
	r->cpusvn = p;
	r->miscselect = rd32(p + 16);
	r->attributes = p + 48;
	r->mrenclave = p + 64;
	r->mrsigner = p + 128;
	r->isvprodid = rd16(p + 256);
	r->isvsvn = rd16(p + 258);
	r->report_data = p + 320;
}

static void td_report_view(dcap_td_report *r, const uint8_t *p, bool v15)
{
	int i;

	r->raw = p;
	r->tee_tcb_svn = p;
	r->mrseam = p + 16;
	r->mrsignerseam = p + 64;
	r->seam_attributes = rd64(p + 112);
	r->td_attributes = rd64(p + 120);
	r->xfam = rd64(p + 128);
	r->mrtd = p + 136;
	r->mrconfigid = p + 184;
	r->mrowner = p + 232;
	r->mrownerconfig = p + 280;
	for (i = 0; i < 4; i++)
		r->rtmr[i] = p + 328 + 48 * i;
	r->report_data = p + 520;
	r->tee_tcb_svn2 = v15 ? p + 584 : NULL;
	r->mr_service_td = v15 ? p + 600 : NULL;
}

teeliza_err dcap_header_parse(dcap_header *h, const uint8_t *buf, size_t len)
{
	assert(h != NULL && (buf != NULL || len == 0));
	memset(h, 0, sizeof(*h));
	if (len < DCAP_HEADER_LEN)
		return teeliza_set_error(TEELIZA_ERR_TRUNCATED,
		                         "quote truncated: %zu bytes, the header alone needs %d",
		                         len, DCAP_HEADER_LEN);
	h->version = rd16(buf);
	h->att_key_type = rd16(buf + 2);
	h->tee_type = rd32(buf + 4);
	h->qe_svn = rd16(buf + 8);
	h->pce_svn = rd16(buf + 10);
	h->qe_vendor_id = buf + 12;
	h->user_data = buf + 28;
	return TEELIZA_OK;
}

static teeliza_err check_header(const dcap_header *h)
{
	if (h->version < 3 || h->version > 5)
		return teeliza_set_error(TEELIZA_ERR_UNSUPPORTED,
		                         "unsupported quote version %u (only 3, 4 and 5)", h->version);
	if (h->att_key_type != DCAP_ATT_KEY_ECDSA_P256)
		return teeliza_set_error(TEELIZA_ERR_UNSUPPORTED,
		                         "unsupported attestation key type %u (only 2, ECDSA-256-with-P-256)",
		                         h->att_key_type);
	if (h->tee_type != DCAP_TEE_TYPE_SGX && h->tee_type != DCAP_TEE_TYPE_TDX)
		return teeliza_set_error(TEELIZA_ERR_UNSUPPORTED,
		                         "unsupported TEE type 0x%08x (only 0x00000000 SGX, 0x00000081 TDX)",
		                         h->tee_type);
	if (h->version == 3 && h->tee_type != DCAP_TEE_TYPE_SGX)
		return teeliza_set_error(TEELIZA_ERR_UNSUPPORTED,
		                         "quote version 3 is SGX only, but tee_type is 0x%08x", h->tee_type);
	return TEELIZA_OK;
}

static uint32_t body_type_size(uint16_t type)
{
	switch (type) {
	case DCAP_BODY_SGX:
		return DCAP_SGX_REPORT_LEN;
	case DCAP_BODY_TD10:
		return DCAP_TD10_REPORT_LEN;
	case DCAP_BODY_TD15:
		return DCAP_TD15_REPORT_LEN;
	default:
		return 0;
	}
}

/* The v5 descriptor, or the body type implied by tee_type for v3/v4. */
static teeliza_err parse_body_type(dcap_quote *q, reader *r)
{
	const uint8_t *d;
	uint16_t type;
	uint32_t size;
	teeliza_err err;

	if (q->header.version != 5) {
		q->body_type = q->header.tee_type == DCAP_TEE_TYPE_TDX ? DCAP_BODY_TD10 : DCAP_BODY_SGX;
		q->body_size = body_type_size((uint16_t)q->body_type);
		return TEELIZA_OK;
	}
	err = take(&d, r, V5_DESCRIPTOR_LEN, "v5 body descriptor");
	if (err)
		return err;
	type = rd16(d);
	size = rd32(d + 2);
	if (body_type_size(type) == 0)
		return teeliza_set_error(TEELIZA_ERR_UNSUPPORTED,
		                         "unsupported v5 body type %u (only 1 SGX, 2 TD 1.0, 3 TD 1.5)", type);
	if (size != body_type_size(type))
		return teeliza_set_error(TEELIZA_ERR_PARSE,
		                         "v5 body type %u must be %u bytes, but the descriptor says %u",
		                         type, body_type_size(type), size);
	if ((type == DCAP_BODY_SGX) != (q->header.tee_type == DCAP_TEE_TYPE_SGX))
		return teeliza_set_error(TEELIZA_ERR_PARSE,
		                         "v5 body type %u does not match tee_type 0x%08x",
		                         type, q->header.tee_type);
	q->body_type = (dcap_body_type)type;
	q->body_size = size;
	return TEELIZA_OK;
}

/* QE report, its signature, QE auth data: common to v3 sig data and type 6 cert data. */
static teeliza_err parse_qe_report(dcap_quote *q, reader *r)
{
	const uint8_t *p;
	teeliza_err err;

	err = take(&p, r, DCAP_SGX_REPORT_LEN, "QE report");
	if (err)
		return err;
	sgx_report_view(&q->qe_report, p);
	err = take(&q->qe_report_sig, r, 64, "QE report signature");
	if (err)
		return err;
	err = take(&p, r, 2, "qe_auth_len");
	if (err)
		return err;
	q->qe_auth_len = rd16(p);
	return take(&q->qe_auth, r, q->qe_auth_len, "QE auth data");
}

/* The certification data header `u16 type, u32 len` and a window over its data. */
static teeliza_err parse_cert_header(uint16_t *type, reader *data, reader *r, const char *what)
{
	const uint8_t *p;
	uint32_t len;
	teeliza_err err;

	err = take(&p, r, 6, what);
	if (err)
		return err;
	*type = rd16(p);
	len = rd32(p + 2);
	return sub(data, r, len, what, what);
}

static teeliza_err parse_pck_chain(dcap_quote *q, reader *r, const char *what)
{
	reader chain;
	uint16_t type;
	teeliza_err err;

	err = parse_cert_header(&type, &chain, r, what);
	if (err)
		return err;
	if (type != CERT_TYPE_PCK_CHAIN)
		return teeliza_set_error(TEELIZA_ERR_UNSUPPORTED,
		                         "unsupported %s type %u (only 5, a PEM PCK certificate chain)",
		                         what, type);
	q->cert_type = type;
	q->cert_data = chain.p;
	q->cert_data_len = (uint32_t)chain.left;
	return expect_end(r);
}

static teeliza_err parse_sig_data(dcap_quote *q, reader *r)
{
	reader qe;
	uint16_t type;
	teeliza_err err;

	err = take(&q->signature, r, 64, "ECDSA quote signature");
	if (err)
		return err;
	err = take(&q->att_pub_key, r, 64, "attestation public key");
	if (err)
		return err;
	if (q->header.version == 3) {
		err = parse_qe_report(q, r);
		if (err)
			return err;
		return parse_pck_chain(q, r, "certification data");
	}
	err = parse_cert_header(&type, &qe, r, "outer certification data");
	if (err)
		return err;
	if (type != CERT_TYPE_QE_REPORT)
		return teeliza_set_error(TEELIZA_ERR_UNSUPPORTED,
		                         "unsupported outer certification data type %u (only 6, QE report certification data)",
		                         type);
	err = expect_end(r);
	if (err)
		return err;
	err = parse_qe_report(q, &qe);
	if (err)
		return err;
	return parse_pck_chain(q, &qe, "inner certification data");
}

static teeliza_err parse(dcap_quote *q, const uint8_t *buf, size_t len)
{
	reader r = { buf, buf, len, "quote", true };
	reader sig;
	const uint8_t *p;
	teeliza_err err;

	err = dcap_header_parse(&q->header, buf, len);
	if (err)
		return err;
	err = check_header(&q->header);
	if (err)
		return err;
	r.p += DCAP_HEADER_LEN;
	r.left -= DCAP_HEADER_LEN;
	err = parse_body_type(q, &r);
	if (err)
		return err;
	err = take(&p, &r, q->body_size, "report body");
	if (err)
		return err;
	if (q->body_type == DCAP_BODY_SGX)
		sgx_report_view(&q->body.sgx, p);
	else
		td_report_view(&q->body.td, p, q->body_type == DCAP_BODY_TD15);
	q->signed_data = buf;
	q->signed_len = (size_t)(r.p - buf);

	err = take(&p, &r, 4, "sig_data_len");
	if (err)
		return err;
	q->sig_data_len = rd32(p);
	err = sub(&sig, &r, q->sig_data_len, "signature data (sig_data_len)", "signature data");
	if (err)
		return err;
	err = parse_sig_data(q, &sig);
	if (err)
		return err;
	q->parsed_len = (size_t)(r.p - buf);
	q->trailing_len = r.left;
	return TEELIZA_OK;
}

teeliza_err dcap_quote_parse(dcap_quote *q, const uint8_t *buf, size_t len)
{
	teeliza_err err;

	assert(q != NULL && (buf != NULL || len == 0));
	memset(q, 0, sizeof(*q));
	err = parse(q, buf, len);
	if (err)
		memset(q, 0, sizeof(*q));
	return err;
}

const char *dcap_body_type_name(dcap_body_type type)
{
	switch (type) {
	case DCAP_BODY_SGX:
		return "sgx";
	case DCAP_BODY_TD10:
		return "td10";
	case DCAP_BODY_TD15:
		return "td15";
	default:
		return "unknown";
	}
}
