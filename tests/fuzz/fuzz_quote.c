/*
 * Fuzz the quote parser, its JSON and text descriptions, the PCK chain
 * splitter and the SGX extension reader (on the chain's leaf, and on the
 * raw input so that extension seeds reach the DER walker directly).
 */
#include "fuzz.h"

#include "teeliza/dcap/pck.h"
#include "teeliza/dcap/quote.h"

#include <stdio.h>
#include <string.h>

static FILE *sink;

static bool inside(const uint8_t *p, size_t n, const uint8_t *data, size_t size)
{
	return p >= data && n <= size && (size_t)(p - data) <= size - n;
}

static void check_view(const dcap_quote *q, const uint8_t *data, size_t size)
{
	FUZZ_CHECK(q->parsed_len <= size && q->trailing_len == size - q->parsed_len);
	FUZZ_CHECK(q->signed_data == data && q->signed_len < q->parsed_len);
	FUZZ_CHECK(q->signed_len == (q->header.version == 5 ? 54u : 48u) + q->body_size);
	FUZZ_CHECK(q->cert_type == 5);
	FUZZ_CHECK(inside(q->signature, 64, data, q->parsed_len));
	FUZZ_CHECK(inside(q->att_pub_key, 64, data, q->parsed_len));
	FUZZ_CHECK(inside(q->qe_report.raw, DCAP_SGX_REPORT_LEN, data, q->parsed_len));
	FUZZ_CHECK(inside(q->qe_report_sig, 64, data, q->parsed_len));
	FUZZ_CHECK(inside(q->qe_auth, q->qe_auth_len, data, q->parsed_len));
	FUZZ_CHECK(inside(q->cert_data, q->cert_data_len, data, q->parsed_len));
	FUZZ_CHECK(q->cert_data + q->cert_data_len == data + q->parsed_len);
}

static void fuzz_pck(const uint8_t *pem, size_t len)
{
	STACK_OF(X509) *chain = NULL;
	dcap_pck_ext ext;

	if (dcap_pem_chain_parse(&chain, pem, len) != TEELIZA_OK) {
		FUZZ_CHECK(chain == NULL);
		return;
	}
	FUZZ_CHECK(sk_X509_num(chain) >= 1 && sk_X509_num(chain) <= DCAP_PEM_CHAIN_MAX_CERTS);
	if (dcap_pck_ext_parse(&ext, sk_X509_value(chain, 0)) == TEELIZA_OK)
		FUZZ_CHECK(ext.sgx_type >= 0 && ext.sgx_type <= 255);
	sk_X509_pop_free(chain, X509_free);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	dcap_quote q;
	dcap_header h;
	dcap_pck_ext ext;
	json_t *j = NULL;
	char *text;

	if (sink == NULL)
		sink = fopen("/dev/null", "w");
	FUZZ_CHECK(sink != NULL);

	if (dcap_pck_ext_parse_der(&ext, data, size) == TEELIZA_OK)
		FUZZ_CHECK(ext.dynamic_platform >= -1 && ext.dynamic_platform <= 1);
	if (dcap_header_parse(&h, data, size) == TEELIZA_OK)
		FUZZ_CHECK(h.qe_vendor_id == data + 12);

	if (dcap_quote_parse(&q, data, size) != TEELIZA_OK)
		return 0;
	check_view(&q, data, size);
	FUZZ_CHECK(dcap_quote_to_json(&j, &q) == TEELIZA_OK);
	text = json_dumps(j, JSON_COMPACT);
	FUZZ_CHECK(text != NULL);
	free(text);
	json_decref(j);
	dcap_quote_print(sink, &q);
	fuzz_pck(q.cert_data, q.cert_data_len);
	return 0;
}
