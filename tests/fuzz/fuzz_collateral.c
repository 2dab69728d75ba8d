/*
 * Fuzz what the verifier reads from collateral, all of it attacker input
 * (spec pitfall 18): the outer JSON, TCB Info and QE Identity texts, PEM
 * chains, DER CRLs; then TCB matching and status convergence on whatever
 * TCB Info parsed, with SVNs taken from the input.
 */
#include "fuzz.h"

#include "teeliza/dcap/verify.h"
#include "../../src/lib/dcap/verify_internal.h"

#include <string.h>

static void evaluate(const dcap_tcb_info *ti, const uint8_t *data, size_t size)
{
	static const uint8_t zero[DCAP_TD15_REPORT_LEN];
	uint8_t body[DCAP_TD15_REPORT_LEN];
	dcap_pck_ext pck;
	dcap_quote q;
	dcap_tcb_eval ev;
	size_t i;
	teeliza_err err;

	memset(&pck, 0, sizeof(pck));
	memset(&q, 0, sizeof(q));
	memcpy(body, zero, sizeof(body));
	for (i = 0; i < 16; i++) {
		pck.comp_svn[i] = size > i ? data[i] : 0;
		body[i] = size > 16 + i ? data[16 + i] : 0;       /* tee_tcb_svn */
		body[584 + i] = size > 32 + i ? data[32 + i] : 0; /* tee_tcb_svn2 */
	}
	pck.pcesvn = (uint16_t)(size > 49 ? data[48] | data[49] << 8 : 0);
	q.header.tee_type = ti->tdx ? DCAP_TEE_TYPE_TDX : DCAP_TEE_TYPE_SGX;
	q.body_type = ti->tdx ? DCAP_BODY_TD15 : DCAP_BODY_SGX;
	q.body.td.raw = body;
	q.body.td.tee_tcb_svn = body;
	q.body.td.tee_tcb_svn2 = body + 584;
	err = dcap_tcb_evaluate(&ev, ti, &pck, &q, (dcap_tcb_status)(1 + (size % 3 == 0 ? 0 : size % 3 == 1 ? 4 : 8)));
	if (err) {
		FUZZ_CHECK(ev.failure != DCAP_FAIL_NONE);
		return;
	}
	FUZZ_CHECK(ev.failure == DCAP_FAIL_NONE);
	FUZZ_CHECK(ev.converged > DCAP_STATUS_NONE && ev.converged < DCAP_STATUS__COUNT);
	FUZZ_CHECK(ev.sgx_level != NULL);
	FUZZ_CHECK(!ti->tdx || ev.tdx_level != NULL);
}

static void collateral(const char *text, size_t size)
{
	dcap_collateral *c = NULL, *c2 = NULL;
	dcap_collateral_info info;
	teeliza_buf a, b;

	if (dcap_collateral_parse_json(&c, text, size) != TEELIZA_OK) {
		FUZZ_CHECK(c == NULL);
		return;
	}
	dcap_collateral_get_info(&info, c);
	/* What we write back must read back to the same thing. */
	teeliza_buf_init(&a, 1u << 24);
	teeliza_buf_init(&b, 1u << 24);
	FUZZ_CHECK(dcap_collateral_to_json(&a, c) == TEELIZA_OK);
	FUZZ_CHECK(dcap_collateral_parse_json(&c2, (const char *)a.data, a.len) == TEELIZA_OK);
	FUZZ_CHECK(dcap_collateral_to_json(&b, c2) == TEELIZA_OK);
	FUZZ_CHECK(a.len == b.len && memcmp(a.data, b.data, a.len) == 0);
	teeliza_buf_free(&a);
	teeliza_buf_free(&b);
	dcap_collateral_free(c2);
	dcap_collateral_free(c);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	const char *text = (const char *)data;
	dcap_tcb_info ti;
	dcap_qe_identity qi;
	STACK_OF(X509) *chain = NULL;
	X509_CRL *crl = NULL;
	dcap_flat_field f[2] = {{.name = "tcb_info"}, {.name = "pck_crl"}};

	collateral(text, size);
	if (dcap_tcb_info_parse(&ti, text, size) == TEELIZA_OK) {
		FUZZ_CHECK(ti.nlevels > 0);
		evaluate(&ti, data, size);
		dcap_tcb_info_free(&ti);
	}
	if (dcap_qe_identity_parse(&qi, text, size) == TEELIZA_OK) {
		FUZZ_CHECK(qi.nlevels > 0);
		dcap_qe_identity_free(&qi);
	}
	if (dcap_flat_json_parse(f, 2, text, size, "fuzz") == TEELIZA_OK) {
		FUZZ_CHECK(f[0].value == NULL || strlen(f[0].value) <= f[0].len);
		free(f[0].value);
		free(f[1].value);
	}
	if (dcap_pem_chain(&chain, text, size, "fuzz") == TEELIZA_OK) {
		FUZZ_CHECK(sk_X509_num(chain) >= 1 && sk_X509_num(chain) <= DCAP_MAX_CHAIN_CERTS);
		sk_X509_pop_free(chain, X509_free);
	}
	if (dcap_der_crl(&crl, data, size, "fuzz") == TEELIZA_OK)
		X509_CRL_free(crl);
	return 0;
}
