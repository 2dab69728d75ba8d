/*
 * Simulated TDX quotes, version 4, laid out byte for byte as Intel's QE
 * writes them (header, TD report 1.0, then signature data with QE report
 * certification data, type 6, holding the PEM chain, type 5). Everything but
 * report_data, the RTMRs and the attestation signature is fixed per PKI, so
 * it is built once in sim_quote_prepare; a quote costs one ECDSA signature.
 */
#include "sim_internal.h"

#include "teeliza/dcap/quote.h"

#include <assert.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/sha.h>

#define SIM_QUOTE_MAX (64 * 1024)
#define CERT_TYPE_PCK_CHAIN 5
#define CERT_TYPE_QE_REPORT 6

/* TD report 1.0 field offsets (spec §1.2). */
#define TD_TEE_TCB_SVN 0
#define TD_MRSEAM 16
#define TD_TD_ATTRIBUTES 120
#define TD_XFAM 128
#define TD_MRTD 136
#define TD_RTMR0 328
#define TD_REPORT_DATA 520

/* SGX report (QE report) field offsets. */
#define QE_CPUSVN 0
#define QE_MISCSELECT 16
#define QE_ATTRIBUTES 48
#define QE_MRENCLAVE 64
#define QE_MRSIGNER 128
#define QE_ISVPRODID 256
#define QE_ISVSVN 258
#define QE_REPORT_DATA 320

static void put_le16(uint8_t *p, uint16_t v)
{
	p[0] = (uint8_t)v;
	p[1] = (uint8_t)(v >> 8);
}

static void put_le32(uint8_t *p, uint32_t v)
{
	put_le16(p, (uint16_t)v);
	put_le16(p + 2, (uint16_t)(v >> 16));
}

static void put_le64(uint8_t *p, uint64_t v)
{
	put_le32(p, (uint32_t)v);
	put_le32(p + 4, (uint32_t)(v >> 32));
}

static void build_header(uint8_t h[DCAP_HEADER_LEN], const uint8_t att_pub[64])
{
	static const char qeid_label[] = "teeliza simulator QE ID";
	uint8_t msg[sizeof(qeid_label) - 1 + 64], digest[SHA256_DIGEST_LENGTH];

	memset(h, 0, DCAP_HEADER_LEN);
	put_le16(h, 4);
	put_le16(h + 2, DCAP_ATT_KEY_ECDSA_P256);
	put_le32(h + 4, DCAP_TEE_TYPE_TDX);
	/* qe_svn and pce_svn stay 0, as in every real TDX quote. */
	/* Verifiers require Intel's vendor ID; the chain's root is what marks the quote simulated. */
	memcpy(h + 12, DCAP_INTEL_QE_VENDOR_ID, 16);
	/* A stable per-PKI QE ID in user_data[0..16]. */
	memcpy(msg, qeid_label, sizeof(qeid_label) - 1);
	memcpy(msg + sizeof(qeid_label) - 1, att_pub, 64);
	SHA256(msg, sizeof(msg), digest);
	memcpy(h + 28, digest, 16);
}

static void build_td_template(uint8_t b[DCAP_TD10_REPORT_LEN])
{
	memset(b, 0, DCAP_TD10_REPORT_LEN);
	memcpy(b + TD_TEE_TCB_SVN, sim_tee_tcb_svn, SIM_TCB_COMPONENTS);
	memcpy(b + TD_MRSEAM, sim_mrseam, 48);
	/* mrsignerseam and seam_attributes zero: an Intel-signed module, as the TCB Info says. */
	put_le64(b + TD_TD_ATTRIBUTES, sim_td_attributes);
	put_le64(b + TD_XFAM, sim_xfam);
	memcpy(b + TD_MRTD, sim_mrtd, 48);
	/* mrconfigid, mrowner, mrownerconfig zero; RTMRs and report_data are per quote. */
}

static void build_qe_report(uint8_t r[DCAP_SGX_REPORT_LEN], const uint8_t att_pub[64])
{
	uint8_t bound[64 + sizeof(sim_qe_auth)];

	memset(r, 0, DCAP_SGX_REPORT_LEN);
	memcpy(r + QE_CPUSVN, sim_sgx_tcb_svn, SIM_TCB_COMPONENTS);
	put_le32(r + QE_MISCSELECT, sim_qe_miscselect);
	memcpy(r + QE_ATTRIBUTES, sim_qe_attributes, 16);
	memcpy(r + QE_MRENCLAVE, sim_qe_mrenclave, 32);
	memcpy(r + QE_MRSIGNER, sim_qe_mrsigner, 32);
	put_le16(r + QE_ISVPRODID, sim_qe_isvprodid);
	put_le16(r + QE_ISVSVN, sim_qe_isvsvn);
	/* Binds the attestation key: SHA-256(att_pub ‖ qe_auth) ‖ 32 zero bytes. */
	memcpy(bound, att_pub, 64);
	memcpy(bound + 64, sim_qe_auth, sizeof(sim_qe_auth));
	SHA256(bound, sizeof(bound), r + QE_REPORT_DATA);
}

teeliza_err sim_quote_prepare(tee_sim_pki *pki)
{
	uint8_t qe_report[DCAP_SGX_REPORT_LEN], qe_sig[64], field[6];
	teeliza_buf chain, tail;
	teeliza_err err;

	assert(pki != NULL && pki->quote_tail == NULL);
	build_header(pki->quote_prefix, pki->att_pub);
	build_td_template(pki->quote_prefix + DCAP_HEADER_LEN);
	build_qe_report(qe_report, pki->att_pub);
	err = sim_sign_raw(qe_sig, pki->pck.key, qe_report, sizeof(qe_report));
	if (err)
		return err;

	/* PCK leaf, Platform CA, root; NUL-terminated as Intel's QE sends it. */
	teeliza_buf_init(&chain, SIM_QUOTE_MAX);
	err = teeliza_buf_append_str(&chain, pki->pck.pem);
	if (err == TEELIZA_OK)
		err = teeliza_buf_append_str(&chain, pki->pck_ca.pem);
	if (err == TEELIZA_OK)
		err = teeliza_buf_append_str(&chain, pki->root.pem);
	if (err == TEELIZA_OK)
		err = teeliza_buf_append(&chain, "", 1);

	teeliza_buf_init(&tail, SIM_QUOTE_MAX);
	if (err == TEELIZA_OK)
		err = teeliza_buf_append(&tail, pki->att_pub, 64);
	if (err == TEELIZA_OK) {
		put_le16(field, CERT_TYPE_QE_REPORT);
		put_le32(field + 2, (uint32_t)(sizeof(qe_report) + sizeof(qe_sig) + 2 + sizeof(sim_qe_auth) + 6 + chain.len));
		err = teeliza_buf_append(&tail, field, 6);
	}
	if (err == TEELIZA_OK)
		err = teeliza_buf_append(&tail, qe_report, sizeof(qe_report));
	if (err == TEELIZA_OK)
		err = teeliza_buf_append(&tail, qe_sig, sizeof(qe_sig));
	if (err == TEELIZA_OK) {
		put_le16(field, (uint16_t)sizeof(sim_qe_auth));
		err = teeliza_buf_append(&tail, field, 2);
	}
	if (err == TEELIZA_OK)
		err = teeliza_buf_append(&tail, sim_qe_auth, sizeof(sim_qe_auth));
	if (err == TEELIZA_OK) {
		put_le16(field, CERT_TYPE_PCK_CHAIN);
		put_le32(field + 2, (uint32_t)chain.len);
		err = teeliza_buf_append(&tail, field, 6);
	}
	if (err == TEELIZA_OK)
		err = teeliza_buf_append(&tail, chain.data, chain.len);
	teeliza_buf_free(&chain);
	if (err) {
		teeliza_buf_free(&tail);
		return err;
	}
	pki->quote_tail = tail.data; /* ownership moves to the PKI */
	pki->quote_tail_len = tail.len;
	return TEELIZA_OK;
}

teeliza_err tee_sim_quote(teeliza_buf *quote, const tee_sim_pki *pki, const uint8_t report_data[64],
                          const uint8_t rtmr[4][48])
{
	uint8_t signed_part[DCAP_HEADER_LEN + DCAP_TD10_REPORT_LEN];
	uint8_t sig[64], len_field[4];
	uint8_t *body = signed_part + DCAP_HEADER_LEN;
	teeliza_err err;

	assert(quote != NULL && pki != NULL && pki->quote_tail != NULL && report_data != NULL && rtmr != NULL);
	teeliza_buf_init(quote, SIM_QUOTE_MAX);
	memcpy(signed_part, pki->quote_prefix, sizeof(signed_part));
	memcpy(body + TD_RTMR0, rtmr, 4 * 48);
	memcpy(body + TD_REPORT_DATA, report_data, 64);
	err = sim_sign_raw(sig, pki->att.key, signed_part, sizeof(signed_part));
	if (err)
		return err;
	put_le32(len_field, (uint32_t)(sizeof(sig) + pki->quote_tail_len));
	err = teeliza_buf_append(quote, signed_part, sizeof(signed_part));
	if (err == TEELIZA_OK)
		err = teeliza_buf_append(quote, len_field, sizeof(len_field));
	if (err == TEELIZA_OK)
		err = teeliza_buf_append(quote, sig, sizeof(sig));
	if (err == TEELIZA_OK)
		err = teeliza_buf_append(quote, pki->quote_tail, pki->quote_tail_len);
	if (err)
		teeliza_buf_free(quote);
	return err;
}
