/*
 * dcap_verify against the shared vectors (SOURCES.md): each vector's outcome
 * at its "now" and just inside and outside every validity window, tampering
 * of every byte of the signed ranges, expectations, policy, cache, output,
 * and the `teeliza verify` command line.
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

#include <fcntl.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#define TDX_NOW 1752919234
#define SGX_NOW 1752919277
#define OUTDATED_NOW 1774003274
#define GOTDX_NOW 1688173200

typedef struct vec {
	uint8_t *quote;
	size_t quote_len;
	char *json;
	size_t json_len;
	dcap_collateral *coll;
} vec;

static void vec_load(vec *v, const char *quote_name, const char *coll_name)
{
	v->quote = vector_read(quote_name, &v->quote_len);
	v->json = (char *)vector_read(coll_name, &v->json_len);
	assert_int_equal(dcap_collateral_parse_json(&v->coll, v->json, v->json_len), TEELIZA_OK);
}

static void vec_free(vec *v)
{
	dcap_collateral_free(v->coll);
	free(v->quote);
	free(v->json);
}

static dcap_result *verify_at(const vec *v, const uint8_t *quote, size_t len, int64_t now, const dcap_policy *p,
                              teeliza_err *err_out)
{
	dcap_result *r = malloc(sizeof(*r));
	teeliza_err err;

	assert_non_null(r);
	err = dcap_verify(r, quote, len, v->coll, now, p, NULL);
	if (err_out)
		*err_out = err;
	/* The return code and the verdict always tell the same story. */
	assert_int_equal(err == TEELIZA_OK, r->verdict == DCAP_VERDICT_TRUSTED);
	assert_int_equal(err == TEELIZA_ERR_UNTRUSTED, r->verdict == DCAP_VERDICT_UNTRUSTED);
	if (r->verdict == DCAP_VERDICT_FAILED) {
		assert_int_equal(r->status, DCAP_STATUS_NONE);
		assert_int_not_equal(r->failure, DCAP_FAIL_NONE);
		assert_string_equal(teeliza_errmsg(), r->reason);
	}
	return r;
}

static void assert_contains(const char *hay, const char *needle)
{
	if (strstr(hay, needle) == NULL)
		fail_msg("\"%s\" does not contain \"%s\"", hay, needle);
}

/* ---- the vectors at their "now" ---- */

static void test_tdx_vector(void **state)
{
	vec v;
	dcap_result *r;
	teeliza_err err;

	(void)state;
	vec_load(&v, "dcapqvl-tdx_quote", "dcapqvl-tdx_quote_collateral.json");
	r = verify_at(&v, v.quote, v.quote_len, TDX_NOW, NULL, &err);
	assert_int_equal(err, TEELIZA_OK);
	assert_int_equal(r->verdict, DCAP_VERDICT_TRUSTED);
	assert_int_equal(r->status, DCAP_STATUS_UP_TO_DATE);
	assert_int_equal(r->platform_status, DCAP_STATUS_UP_TO_DATE);
	assert_int_equal(r->qe_status, DCAP_STATUS_UP_TO_DATE);
	/* tee_tcb_svn 06 01: module major 1 → TDX_01, ISVSVN 6 ≥ 4 → UpToDate */
	assert_int_equal(r->module_status, DCAP_STATUS_UP_TO_DATE);
	assert_int_equal(r->advisory_count, 0);
	assert_true(r->tdx);
	assert_true(r->intel_root);
	assert_memory_equal(r->root_sha256, DCAP_INTEL_ROOT_SHA256, 32);
	assert_hex_equal(r->fmspc, 6, "b0c06f000000");
	assert_hex_equal(r->pceid, 2, "0000");
	assert_string_equal(r->tcb_date, "2024-03-13T00:00:00Z");
	assert_int_equal(r->tcb_eval_number, 17);
	assert_false(r->collateral_expired);
	assert_true(r->quote_parsed);
	assert_hex_equal(r->quote.body.td.mrtd, 48,
	                 "91eb2b44d141d4ece09f0c75c2c53d247a3c68edd7fafe8a3520c942a604a407de03ae6dc5f87f27428b2538873118b7");
	assert_hex_equal(r->quote.body.td.rtmr[0], 48,
	                 "44c0197b39157fdd7a4dcc44767f9d6b0bb3977c7a8e347b8492f827fe9d9e5c48aca29b220b80b6a540cf994b9bc9c0");
	assert_hex_equal(r->quote.body.td.report_data, 64,
	                 "9a9d48e7f6799642d3d1b34e1e5e1742d4bb02dd6ddd551862c1211d35c304f9eca3efdbb481601c163cf52493d6e44a"
	                 "ed55d51ec39b7e518fadb92c2b523f20");
	assert_contains(r->reason, "UpToDate");
	free(r);
	vec_free(&v);
}

static void test_sgx_vector(void **state)
{
	vec v;
	dcap_result *r;
	teeliza_err err;

	(void)state;
	vec_load(&v, "dcapqvl-sgx_quote", "dcapqvl-sgx_quote_collateral.json");
	r = verify_at(&v, v.quote, v.quote_len, SGX_NOW, NULL, &err);
	assert_int_equal(err, TEELIZA_OK);
	assert_int_equal(r->status, DCAP_STATUS_CONFIGURATION_AND_SW_HARDENING_NEEDED);
	assert_int_equal(r->platform_status, DCAP_STATUS_CONFIGURATION_AND_SW_HARDENING_NEEDED);
	assert_int_equal(r->qe_status, DCAP_STATUS_UP_TO_DATE);
	assert_int_equal(r->module_status, DCAP_STATUS_NONE);
	assert_int_equal(r->advisory_count, 2);
	assert_string_equal(r->advisory_ids[0], "INTEL-SA-00289");
	assert_string_equal(r->advisory_ids[1], "INTEL-SA-00615");
	assert_false(r->tdx);
	assert_int_equal(r->quote.header.version, 3);
	assert_memory_equal(r->quote.body.sgx.report_data, "Hello, world!", 13);
	assert_int_equal(r->quote.body.sgx.report_data[13], 0);
	assert_hex_equal(r->quote.body.sgx.mrenclave, 4, "33d8736d");
	assert_hex_equal(r->quote.body.sgx.mrsigner, 4, "815f42f1");
	free(r);
	vec_free(&v);
}

static void test_outdated_v5_vector(void **state)
{
	vec v;
	dcap_result *r;

	(void)state;
	vec_load(&v, "dcapqvl-tdx_quote_outdated", "dcapqvl-tdx_quote_outdated_collateral.json");
	r = verify_at(&v, v.quote, v.quote_len, OUTDATED_NOW, NULL, NULL);
	assert_int_equal(r->verdict, DCAP_VERDICT_FAILED);
	assert_int_equal(r->failure, DCAP_FAIL_TCB_NOT_SUPPORTED);
	assert_contains(r->reason, "No matching TCB level found");
	/* It parsed as v5 / TD 1.5 and got through every signature first. */
	assert_int_equal(r->quote.header.version, 5);
	assert_int_equal(r->quote.body_type, DCAP_BODY_TD15);
	assert_hex_equal(r->quote.body.td.tee_tcb_svn2, 4, "0d010300");
	free(r);
	vec_free(&v);
}

static void test_gotdx_vector(void **state)
{
	vec v;
	dcap_result *r;

	(void)state;
	vec_load(&v, "gotdx-tdx_prod_quote_SPR_E4.dat", "gotdx-tdx_prod_quote_SPR_E4_collateral.json");
	r = verify_at(&v, v.quote, v.quote_len, GOTDX_NOW, NULL, NULL);
	/* Chains (with the 2018 TCB Signing certificate), CRLs and signatures pass; no TCB level matches. */
	assert_int_equal(r->failure, DCAP_FAIL_TCB_NOT_SUPPORTED);
	assert_contains(r->reason, "No matching TCB level found");
	assert_hex_equal(r->quote.body.td.tee_tcb_svn, 3, "030004");
	free(r);
	vec_free(&v);
}

static void test_eliza_guide_quote(void **state)
{
	vec v;
	size_t hex_len, len;
	char *hex;
	uint8_t *quote;
	dcap_result *r;
	teeliza_err err;

	(void)state;
	vec_load(&v, "dcapqvl-tdx_quote", "dcapqvl-tdx_quote_collateral.json");
	hex = (char *)vector_read("eliza-guide-simulator-quote.hex", &hex_len);
	hex = realloc(hex, hex_len + 1);
	hex[hex_len] = '\0';
	while (hex_len > 0 && (hex[hex_len - 1] == '\n' || hex[hex_len - 1] == '\r'))
		hex[--hex_len] = '\0';
	quote = hex_alloc(hex, &len);
	assert_int_equal(len, 1246);
	r = verify_at(&v, quote, len, TDX_NOW, NULL, &err);
	assert_int_equal(err, TEELIZA_ERR_UNSUPPORTED);
	assert_int_equal(r->failure, DCAP_FAIL_BAD_QUOTE);
	assert_contains(r->reason, "attestation key type 3");
	assert_contains(r->reason, "not Intel's");
	assert_false(r->quote_parsed);
	free(r);
	free(quote);
	free(hex);
	vec_free(&v);
}

/* ---- validity windows ---- */

static void check_window(const char *quote_name, const char *coll_name, int64_t now, dcap_failure at_now)
{
	vec v;
	dcap_collateral_info info;
	dcap_result *r;
	int64_t inside[3];
	size_t i;

	vec_load(&v, quote_name, coll_name);
	dcap_collateral_get_info(&info, v.coll);
	assert_true(info.not_before <= now && now <= info.not_after);
	inside[0] = info.not_before;
	inside[1] = info.not_after;
	inside[2] = now;
	for (i = 0; i < 3; i++) {
		r = verify_at(&v, v.quote, v.quote_len, inside[i], NULL, NULL);
		assert_int_equal(r->failure, at_now);
		free(r);
	}
	r = verify_at(&v, v.quote, v.quote_len, info.not_before - 1, NULL, NULL);
	assert_int_equal(r->failure, DCAP_FAIL_EXPIRED);
	assert_contains(r->reason, "issue date is in the future");
	free(r);
	r = verify_at(&v, v.quote, v.quote_len, info.not_after + 1, NULL, NULL);
	assert_int_equal(r->failure, DCAP_FAIL_EXPIRED);
	assert_contains(r->reason, "expired at");
	assert_true(r->collateral_expired);
	free(r);
	vec_free(&v);
}

static void test_windows(void **state)
{
	(void)state;
	check_window("dcapqvl-tdx_quote", "dcapqvl-tdx_quote_collateral.json", TDX_NOW, DCAP_FAIL_NONE);
	check_window("dcapqvl-sgx_quote", "dcapqvl-sgx_quote_collateral.json", SGX_NOW, DCAP_FAIL_NONE);
	check_window("dcapqvl-tdx_quote_outdated", "dcapqvl-tdx_quote_outdated_collateral.json", OUTDATED_NOW,
	             DCAP_FAIL_TCB_NOT_SUPPORTED);
	check_window("gotdx-tdx_prod_quote_SPR_E4.dat", "gotdx-tdx_prod_quote_SPR_E4_collateral.json", GOTDX_NOW,
	             DCAP_FAIL_TCB_NOT_SUPPORTED);
}

static void test_window_messages(void **state)
{
	vec v;
	dcap_result *r;

	(void)state;
	/* SOURCES.md: the SGX vector at now + 2 fails with "QE Identity expired". */
	vec_load(&v, "dcapqvl-sgx_quote", "dcapqvl-sgx_quote_collateral.json");
	r = verify_at(&v, v.quote, v.quote_len, SGX_NOW + 2, NULL, NULL);
	assert_contains(r->reason, "QE Identity expired at 2025-07-19T10:01:18Z");
	free(r);
	vec_free(&v);

	/* The TDX vector: before QE Identity's issueDate, and past the PCK CRL's nextUpdate (which JS ignores). */
	vec_load(&v, "dcapqvl-tdx_quote", "dcapqvl-tdx_quote_collateral.json");
	r = verify_at(&v, v.quote, v.quote_len, 1750329146, NULL, NULL);
	assert_contains(r->reason, "QE Identity issue date is in the future");
	free(r);
	r = verify_at(&v, v.quote, v.quote_len, 1750329147, NULL, NULL);
	assert_int_equal(r->verdict, DCAP_VERDICT_TRUSTED);
	free(r);
	r = verify_at(&v, v.quote, v.quote_len, TDX_NOW + 2, NULL, NULL);
	assert_contains(r->reason, "PCK CRL expired at 2025-07-19T10:00:35Z");
	free(r);
	r = verify_at(&v, v.quote, v.quote_len, 1752920164, NULL, NULL);
	assert_contains(r->reason, "TCB Info expired at 2025-07-19T10:16:03Z");
	assert_contains(r->reason, "PCK CRL expired");
	free(r);
	vec_free(&v);
}

static void test_expiry_rules(void **state)
{
	vec v;
	dcap_policy p = DCAP_POLICY_INIT;
	dcap_result *r;
	teeliza_err err;
	const int64_t later = TDX_NOW + 3600;

	(void)state;
	vec_load(&v, "dcapqvl-tdx_quote", "dcapqvl-tdx_quote_collateral.json");
	p.expired = DCAP_EXPIRED_ALLOW;
	r = verify_at(&v, v.quote, v.quote_len, later, &p, &err);
	assert_int_equal(err, TEELIZA_OK);
	assert_true(r->collateral_expired);
	assert_int_equal(r->status, DCAP_STATUS_UP_TO_DATE);
	assert_contains(r->reason, "expired collateral");
	free(r);
	p.expired = DCAP_EXPIRED_UNTRUSTED;
	r = verify_at(&v, v.quote, v.quote_len, later, &p, &err);
	assert_int_equal(err, TEELIZA_ERR_UNTRUSTED);
	assert_int_equal(r->violations, DCAP_VIOLATION_EXPIRED);
	assert_int_equal(r->status, DCAP_STATUS_UP_TO_DATE);
	free(r);
	p.expired = DCAP_EXPIRED_REJECT;
	r = verify_at(&v, v.quote, v.quote_len, later, &p, &err);
	assert_int_equal(err, TEELIZA_ERR_EXPIRED);
	free(r);
	/* "Not yet valid" is never waived. */
	p.expired = DCAP_EXPIRED_ALLOW;
	r = verify_at(&v, v.quote, v.quote_len, 1750329146, &p, &err);
	assert_int_equal(err, TEELIZA_ERR_EXPIRED);
	free(r);
	vec_free(&v);
}

/* ---- every byte of the signed ranges ---- */

static size_t cert_data_offset(const uint8_t *quote, size_t len)
{
	dcap_quote q;

	assert_int_equal(dcap_quote_parse(&q, quote, len), TEELIZA_OK);
	return (size_t)(q.cert_data - quote);
}

static void flip_all(const char *quote_name, const char *coll_name, int64_t now)
{
	vec v;
	dcap_result *r;
	size_t i, end, trusted = 0;
	uint8_t *q;

	vec_load(&v, quote_name, coll_name);
	q = malloc(v.quote_len);
	assert_non_null(q);
	memcpy(q, v.quote, v.quote_len);
	/* header, body, sig_data_len, signature, attestation key, QE report and its signature, QE auth, lengths */
	end = cert_data_offset(q, v.quote_len);
	for (i = 0; i < end; i++) {
		q[i] ^= 0x01;
		r = verify_at(&v, q, v.quote_len, now, NULL, NULL);
		if (r->verdict == DCAP_VERDICT_TRUSTED) {
			fprintf(stderr, "flipping byte %zu still verifies\n", i);
			trusted++;
		}
		free(r);
		q[i] ^= 0x01;
	}
	assert_int_equal(trusted, 0);
	r = verify_at(&v, q, v.quote_len, now, NULL, NULL);
	assert_int_equal(r->verdict, DCAP_VERDICT_TRUSTED);
	free(r);
	free(q);
	vec_free(&v);
}

static void test_flip_every_signed_byte_tdx(void **state)
{
	(void)state;
	flip_all("dcapqvl-tdx_quote", "dcapqvl-tdx_quote_collateral.json", TDX_NOW);
}

static void test_flip_every_signed_byte_sgx(void **state)
{
	(void)state;
	flip_all("dcapqvl-sgx_quote", "dcapqvl-sgx_quote_collateral.json", SGX_NOW);
}

static void test_pck_chain_base64_changes(void **state)
{
	vec v;
	dcap_result *r;
	size_t i, off, n = 0;
	uint8_t *q;
	dcap_quote pq;

	(void)state;
	vec_load(&v, "dcapqvl-tdx_quote", "dcapqvl-tdx_quote_collateral.json");
	q = malloc(v.quote_len);
	memcpy(q, v.quote, v.quote_len);
	assert_int_equal(dcap_quote_parse(&pq, q, v.quote_len), TEELIZA_OK);
	off = (size_t)(pq.cert_data - q);
	/* Change a base64 letter into another (case swap), sampled across the three certificates. */
	for (i = off + 40; i < off + pq.cert_data_len; i += 53) {
		uint8_t c = q[i];

		if (!((c >= 'a' && c <= 'y') || (c >= 'A' && c <= 'Y')))
			continue;
		/* The last character before '=' padding carries unused bits; skip it. */
		if (q[i + 1] == '=')
			continue;
		q[i] = (uint8_t)(c ^ 0x20);
		r = verify_at(&v, q, v.quote_len, TDX_NOW, NULL, NULL);
		if (r->verdict == DCAP_VERDICT_TRUSTED)
			fail_msg("changing PEM byte %zu ('%c', offset %zu in the chain) still verifies", i, c, i - off);
		free(r);
		q[i] = c;
		n++;
	}
	assert_true(n > 30);
	free(q);
	vec_free(&v);
}

static void test_trailing_bytes(void **state)
{
	vec v;
	dcap_result *r;
	uint8_t *q;
	size_t i, parsed;
	dcap_quote pq;

	(void)state;
	vec_load(&v, "dcapqvl-tdx_quote", "dcapqvl-tdx_quote_collateral.json");
	q = malloc(v.quote_len + 10);
	memcpy(q, v.quote, v.quote_len);
	memset(q + v.quote_len, 0x5a, 10);
	assert_int_equal(dcap_quote_parse(&pq, q, v.quote_len), TEELIZA_OK);
	parsed = pq.parsed_len;
	assert_int_equal(pq.trailing_len, 70);
	/* 10 bytes appended, and the 70 padding bytes changed: still the same verified quote. */
	for (i = parsed; i < v.quote_len; i++)
		q[i] = 0xff;
	r = verify_at(&v, q, v.quote_len + 10, TDX_NOW, NULL, NULL);
	assert_int_equal(r->verdict, DCAP_VERDICT_TRUSTED);
	assert_int_equal(r->quote.signed_len, 632);
	free(r);
	/* Cut to exactly the parsed structure: fine too. */
	r = verify_at(&v, q, parsed, TDX_NOW, NULL, NULL);
	assert_int_equal(r->verdict, DCAP_VERDICT_TRUSTED);
	free(r);
	free(q);
	vec_free(&v);
}

static void wr32(uint8_t *p, uint32_t v)
{
	p[0] = (uint8_t)v;
	p[1] = (uint8_t)(v >> 8);
	p[2] = (uint8_t)(v >> 16);
	p[3] = (uint8_t)(v >> 24);
}

static void test_bad_lengths(void **state)
{
	vec v;
	dcap_result *r;
	uint8_t *q;
	dcap_quote pq;
	size_t qe_auth_len_off, cert_len_off, outer_len_off;

	(void)state;
	vec_load(&v, "dcapqvl-tdx_quote", "dcapqvl-tdx_quote_collateral.json");
	q = malloc(v.quote_len);
	memcpy(q, v.quote, v.quote_len);
	assert_int_equal(dcap_quote_parse(&pq, q, v.quote_len), TEELIZA_OK);
	qe_auth_len_off = (size_t)(pq.qe_auth - q) - 2;
	cert_len_off = (size_t)(pq.cert_data - q) - 4;
	outer_len_off = 632 + 4 + 128 + 2;

	/* truncated by 100 bytes (into the PEM chain) */
	r = verify_at(&v, q, v.quote_len - 170, TDX_NOW, NULL, NULL);
	assert_int_equal(r->failure, DCAP_FAIL_BAD_QUOTE);
	free(r);
	/* sig_data_len = 0xFFFFFFFF */
	wr32(q + 632, 0xffffffffu);
	r = verify_at(&v, q, v.quote_len, TDX_NOW, NULL, NULL);
	assert_int_equal(r->failure, DCAP_FAIL_BAD_QUOTE);
	free(r);
	memcpy(q, v.quote, v.quote_len);
	/* qe_auth_len past the end */
	q[qe_auth_len_off] = 0xff;
	q[qe_auth_len_off + 1] = 0xff;
	r = verify_at(&v, q, v.quote_len, TDX_NOW, NULL, NULL);
	assert_int_equal(r->failure, DCAP_FAIL_BAD_QUOTE);
	free(r);
	memcpy(q, v.quote, v.quote_len);
	/* certification data length past the end */
	wr32(q + cert_len_off, 0x7ffffff0u);
	r = verify_at(&v, q, v.quote_len, TDX_NOW, NULL, NULL);
	assert_int_equal(r->failure, DCAP_FAIL_BAD_QUOTE);
	free(r);
	memcpy(q, v.quote, v.quote_len);
	/* nested (type 5) length bigger than the outer (type 6) length */
	wr32(q + cert_len_off, pq.cert_data_len + 200);
	r = verify_at(&v, q, v.quote_len, TDX_NOW, NULL, NULL);
	assert_int_equal(r->failure, DCAP_FAIL_BAD_QUOTE);
	free(r);
	memcpy(q, v.quote, v.quote_len);
	/* outer length 0 */
	wr32(q + outer_len_off, 0);
	r = verify_at(&v, q, v.quote_len, TDX_NOW, NULL, NULL);
	assert_int_equal(r->failure, DCAP_FAIL_BAD_QUOTE);
	free(r);
	memcpy(q, v.quote, v.quote_len);
	/* att_key_type 3 */
	q[2] = 3;
	r = verify_at(&v, q, v.quote_len, TDX_NOW, NULL, NULL);
	assert_int_equal(r->failure, DCAP_FAIL_BAD_QUOTE);
	assert_contains(r->reason, "attestation key type 3");
	free(r);
	/* empty and tiny inputs */
	r = verify_at(&v, q, 0, TDX_NOW, NULL, NULL);
	assert_int_equal(r->failure, DCAP_FAIL_BAD_QUOTE);
	free(r);
	r = verify_at(&v, q, 47, TDX_NOW, NULL, NULL);
	assert_int_equal(r->failure, DCAP_FAIL_BAD_QUOTE);
	free(r);
	free(q);
	vec_free(&v);
}

/* ---- expectations, policy, trust ---- */

static void test_expectations(void **state)
{
	vec v;
	dcap_policy p = DCAP_POLICY_INIT;
	dcap_result *r;
	uint8_t rd[64], rtmr0[48], rtmr3[48] = {0}, wrong[48];
	size_t n;
	uint8_t *tmp;

	(void)state;
	vec_load(&v, "dcapqvl-tdx_quote", "dcapqvl-tdx_quote_collateral.json");
	tmp = hex_alloc("9a9d48e7f6799642d3d1b34e1e5e1742d4bb02dd6ddd551862c1211d35c304f9eca3efdbb481601c163cf52493d6e44a"
	                "ed55d51ec39b7e518fadb92c2b523f20", &n);
	memcpy(rd, tmp, 64);
	free(tmp);
	tmp = hex_alloc("44c0197b39157fdd7a4dcc44767f9d6b0bb3977c7a8e347b8492f827fe9d9e5c48aca29b220b80b6a540cf994b9bc9c0",
	                &n);
	memcpy(rtmr0, tmp, 48);
	free(tmp);
	p.expect_report_data = rd;
	p.expect_rtmr[0] = rtmr0;
	p.expect_rtmr[3] = rtmr3;
	r = verify_at(&v, v.quote, v.quote_len, TDX_NOW, &p, NULL);
	assert_int_equal(r->verdict, DCAP_VERDICT_TRUSTED);
	assert_int_equal(r->report_data_match, 1);
	assert_int_equal(r->rtmr_match[0], 1);
	assert_int_equal(r->rtmr_match[1], -1);
	assert_int_equal(r->rtmr_match[3], 1);
	assert_int_equal(r->mrtd_match, -1);
	free(r);

	rd[63] ^= 1;
	memset(wrong, 0x11, sizeof(wrong));
	p.expect_rtmr[1] = wrong;
	r = verify_at(&v, v.quote, v.quote_len, TDX_NOW, &p, NULL);
	assert_int_equal(r->verdict, DCAP_VERDICT_FAILED);
	assert_int_equal(r->failure, DCAP_FAIL_EXPECTATION);
	assert_int_equal(r->report_data_match, 0);
	assert_int_equal(r->rtmr_match[0], 1);
	assert_int_equal(r->rtmr_match[1], 0);
	assert_contains(r->reason, "report_data, RTMR1");
	free(r);
	vec_free(&v);

	/* An SGX quote has no RTMRs to match. */
	vec_load(&v, "dcapqvl-sgx_quote", "dcapqvl-sgx_quote_collateral.json");
	memset(&p, 0, sizeof(p));
	dcap_policy_init(&p);
	p.expect_rtmr[2] = rtmr3;
	r = verify_at(&v, v.quote, v.quote_len, SGX_NOW, &p, NULL);
	assert_int_equal(r->failure, DCAP_FAIL_EXPECTATION);
	assert_contains(r->reason, "SGX quote has no MRTD or RTMRs");
	free(r);
	vec_free(&v);
}

static void test_policy_status(void **state)
{
	vec v;
	dcap_policy p;
	dcap_result *r;
	teeliza_err err;

	(void)state;
	dcap_policy_init(&p);
	assert_int_equal(p.accepted, DCAP_DEFAULT_ACCEPTED);
	assert_false(p.allow_debug);
	assert_true(p.require_sept_ve_disable);
	assert_false(p.allow_service_td);
	assert_int_equal(p.expired, DCAP_EXPIRED_REJECT);
	vec_load(&v, "dcapqvl-sgx_quote", "dcapqvl-sgx_quote_collateral.json");
	p.accepted = DCAP_STATUS_BIT(DCAP_STATUS_UP_TO_DATE);
	r = verify_at(&v, v.quote, v.quote_len, SGX_NOW, &p, &err);
	assert_int_equal(err, TEELIZA_ERR_UNTRUSTED);
	assert_int_equal(r->violations, DCAP_VIOLATION_STATUS);
	assert_int_equal(r->status, DCAP_STATUS_CONFIGURATION_AND_SW_HARDENING_NEEDED);
	assert_contains(r->reason, "TCB status ConfigurationAndSWHardeningNeeded is not accepted");
	free(r);
	dcap_policy_init(&p);
	p.allow_sgx = false;
	r = verify_at(&v, v.quote, v.quote_len, SGX_NOW, &p, &err);
	assert_int_equal(r->violations, DCAP_VIOLATION_TEE_TYPE);
	free(r);
	vec_free(&v);
}

static void test_trust_sets(void **state)
{
	vec v;
	dcap_trust *t;
	dcap_result r;
	teeliza_err err;
	size_t len;
	uint8_t *pem;

	(void)state;
	vec_load(&v, "dcapqvl-tdx_quote", "dcapqvl-tdx_quote_collateral.json");
	assert_int_equal(dcap_trust_new(&t, false), TEELIZA_OK);
	err = dcap_verify(&r, v.quote, v.quote_len, v.coll, TDX_NOW, NULL, t);
	assert_int_equal(err, TEELIZA_ERR_VERIFY);
	assert_int_equal(r.verdict, DCAP_VERDICT_FAILED);
	assert_int_equal(r.failure, DCAP_FAIL_UNTRUSTED_ROOT);
	assert_contains(r.reason, "Intel SGX Root CA, which this trust set excludes");
	/* Adding the Intel root by its certificate trusts it again. */
	pem = vector_read("Intel_SGX_Provisioning_Certification_RootCA.pem", &len);
	assert_int_equal(dcap_trust_add_pem(t, (const char *)pem, len), TEELIZA_OK);
	err = dcap_verify(&r, v.quote, v.quote_len, v.coll, TDX_NOW, NULL, t);
	assert_int_equal(err, TEELIZA_OK);
	/* A non-CA or non-PEM "root" is refused. */
	assert_int_not_equal(dcap_trust_add_pem(t, "junk", 4), TEELIZA_OK);
	free(pem);
	dcap_trust_free(t);
	vec_free(&v);
}

static void test_mismatched_tee(void **state)
{
	vec v;
	uint8_t *sgx;
	size_t sgx_len;
	dcap_result *r;

	(void)state;
	/* An SGX TCB Info for a TDX quote, and the other way round (pitfall 17). */
	vec_load(&v, "dcapqvl-tdx_quote", "dcapqvl-sgx_quote_collateral.json");
	r = verify_at(&v, v.quote, v.quote_len, SGX_NOW, NULL, NULL);
	assert_int_equal(r->failure, DCAP_FAIL_TCB_MISMATCH);
	assert_contains(r->reason, "TCB Info is for SGX but the quote is TDX");
	free(r);
	vec_free(&v);
	vec_load(&v, "dcapqvl-tdx_quote", "dcapqvl-tdx_quote_collateral.json");
	sgx = vector_read("dcapqvl-sgx_quote", &sgx_len);
	r = verify_at(&v, sgx, sgx_len, TDX_NOW, NULL, NULL);
	assert_int_equal(r->failure, DCAP_FAIL_TCB_MISMATCH);
	free(r);
	free(sgx);
	vec_free(&v);
}

/* ---- cache, threads, output ---- */

static void test_cache(void **state)
{
	char *a, *b;
	size_t alen, blen;
	dcap_cache *cache;
	dcap_collateral *c1, *c2, *c3;
	dcap_cache_stats st;
	uint8_t *quote;
	size_t qlen;
	dcap_result r;

	(void)state;
	a = (char *)vector_read("dcapqvl-tdx_quote_collateral.json", &alen);
	b = (char *)vector_read("dcapqvl-sgx_quote_collateral.json", &blen);
	quote = vector_read("dcapqvl-tdx_quote", &qlen);
	assert_int_equal(dcap_cache_new(&cache, 1), TEELIZA_OK);
	assert_int_equal(dcap_cache_get(&c1, cache, a, alen), TEELIZA_OK);
	assert_int_equal(dcap_cache_get(&c2, cache, a, alen), TEELIZA_OK);
	assert_ptr_equal(c1, c2);
	assert_int_equal(dcap_verify(&r, quote, qlen, c1, TDX_NOW, NULL, NULL), TEELIZA_OK);
	assert_int_equal(dcap_verify(&r, quote, qlen, c2, TDX_NOW, NULL, NULL), TEELIZA_OK);
	/* The memo does not outlive the window: past it the same collateral fails. */
	assert_int_equal(dcap_verify(&r, quote, qlen, c2, TDX_NOW + 2, NULL, NULL), TEELIZA_ERR_EXPIRED);
	assert_int_equal(dcap_verify(&r, quote, qlen, c2, TDX_NOW, NULL, NULL), TEELIZA_OK);
	dcap_cache_get_stats(&st, cache);
	assert_int_equal(st.hits, 1);
	assert_int_equal(st.misses, 1);
	assert_int_equal(st.entries, 1);
	assert_int_equal(dcap_cache_get(&c3, cache, b, blen), TEELIZA_OK);
	assert_ptr_not_equal(c3, c1);
	dcap_cache_get_stats(&st, cache);
	assert_int_equal(st.evictions, 1);
	assert_int_equal(st.entries, 1);
	/* Evicted entries stay alive for their holders. */
	assert_int_equal(dcap_verify(&r, quote, qlen, c1, TDX_NOW, NULL, NULL), TEELIZA_OK);
	dcap_collateral_free(c2);
	assert_int_not_equal(dcap_cache_get(&c2, cache, "{}", 2), TEELIZA_OK);
	assert_null(c2);
	dcap_collateral_free(c1);
	dcap_collateral_free(c3);
	dcap_cache_free(cache);
	free(quote);
	free(a);
	free(b);
}

struct thread_arg {
	const vec *v;
	int trusted;
};

static void *verify_thread(void *p)
{
	struct thread_arg *a = p;
	dcap_result r;
	int i;

	for (i = 0; i < 40; i++)
		if (dcap_verify(&r, a->v->quote, a->v->quote_len, a->v->coll, TDX_NOW + (i % 2), NULL, NULL) ==
		    TEELIZA_OK)
			a->trusted++;
	return NULL;
}

static void test_threads_share_collateral(void **state)
{
	vec v;
	pthread_t th[4];
	struct thread_arg args[4];
	int i;

	(void)state;
	vec_load(&v, "dcapqvl-tdx_quote", "dcapqvl-tdx_quote_collateral.json");
	for (i = 0; i < 4; i++) {
		args[i].v = &v;
		args[i].trusted = 0;
		assert_int_equal(pthread_create(&th[i], NULL, verify_thread, &args[i]), 0);
	}
	for (i = 0; i < 4; i++) {
		pthread_join(th[i], NULL);
		assert_int_equal(args[i].trusted, 40);
	}
	vec_free(&v);
}

static void test_json_output(void **state)
{
	vec v;
	dcap_result *r;
	teeliza_buf out;
	json_t *j;
	json_error_t e;

	(void)state;
	vec_load(&v, "dcapqvl-sgx_quote", "dcapqvl-sgx_quote_collateral.json");
	r = verify_at(&v, v.quote, v.quote_len, SGX_NOW, NULL, NULL);
	teeliza_buf_init(&out, 1 << 20);
	assert_int_equal(dcap_result_to_json(&out, r), TEELIZA_OK);
	j = json_loadb((const char *)out.data, out.len, 0, &e);
	assert_non_null(j);
	assert_string_equal(json_string_value(json_object_get(j, "verdict")), "trusted");
	assert_string_equal(json_string_value(json_object_get(j, "status")), "ConfigurationAndSWHardeningNeeded");
	assert_string_equal(json_string_value(json_object_get(j, "qe_status")), "UpToDate");
	assert_true(json_is_null(json_object_get(j, "module_status")));
	assert_int_equal(json_array_size(json_object_get(j, "advisory_ids")), 2);
	assert_string_equal(json_string_value(json_object_get(j, "fmspc")), "00a067110000");
	assert_string_equal(json_string_value(json_object_get(j, "tee")), "SGX");
	assert_true(json_is_null(json_object_get(j, "failure")));
	json_decref(j);
	free(r);
	teeliza_buf_free(&out);
	vec_free(&v);
}

static void test_collateral_round_trip(void **state)
{
	vec v;
	teeliza_buf out;
	dcap_collateral *c2;
	dcap_result r;

	(void)state;
	vec_load(&v, "dcapqvl-tdx_quote", "dcapqvl-tdx_quote_collateral.json");
	teeliza_buf_init(&out, 1 << 22);
	assert_int_equal(dcap_collateral_to_json(&out, v.coll), TEELIZA_OK);
	assert_int_equal(dcap_collateral_parse_json(&c2, (const char *)out.data, out.len), TEELIZA_OK);
	assert_int_equal(dcap_verify(&r, v.quote, v.quote_len, c2, TDX_NOW, NULL, NULL), TEELIZA_OK);
	dcap_collateral_free(c2);
	teeliza_buf_free(&out);
	vec_free(&v);
}

static void test_status_names(void **state)
{
	dcap_tcb_status s;
	unsigned i;

	(void)state;
	for (i = 1; i < DCAP_STATUS__COUNT; i++) {
		assert_int_equal(dcap_tcb_status_parse(&s, dcap_tcb_status_name((dcap_tcb_status)i)), TEELIZA_OK);
		assert_int_equal(s, i);
	}
	assert_string_equal(dcap_tcb_status_name(DCAP_STATUS_OUT_OF_DATE_CONFIGURATION_NEEDED),
	                    "OutOfDateConfigurationNeeded");
	assert_int_equal(dcap_tcb_status_parse(&s, "uptodate"), TEELIZA_ERR_INVALID);
	assert_int_equal(dcap_tcb_status_parse(&s, ""), TEELIZA_ERR_INVALID);
	assert_string_equal(dcap_failure_name(DCAP_FAIL_UNTRUSTED_ROOT), "untrusted_root");
}

/* ---- the command line ---- */

static int run(char **out, const char *fmt, ...) TEELIZA_PRINTF(2, 3);

static int run(char **out, const char *fmt, ...)
{
	char cmd[4096];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(cmd, sizeof(cmd), fmt, ap);
	va_end(ap);
	return run_capture(cmd, out);
}

static void test_cli(void **state)
{
	char *out = NULL, path[64], hexpath[64];
	const char *vd = TEELIZA_VECTORS;
	int rc, fd;
	size_t len;
	uint8_t *q;
	char *hex;
	FILE *f;
	json_t *j;
	json_error_t e;

	(void)state;
	rc = run(&out, "%s verify %s/dcapqvl-tdx_quote --collateral %s/dcapqvl-tdx_quote_collateral.json --now %d",
	         TEELIZA_BINARY, vd, vd, TDX_NOW);
	assert_int_equal(rc, 0);
	assert_contains(out, "Verdict: TRUSTED");
	assert_contains(out, "rtmr0");
	assert_contains(out, "44c0197b39157fdd7a4dcc44767f9d6b0bb3977c7a8e347b8492f827fe9d9e5c48aca29b220b80b6a540cf994b9bc9c0");
	free(out);

	/* --json, and the quote given as 0x-hex on stdin */
	q = vector_read("dcapqvl-tdx_quote", &len);
	hex = malloc(2 * len + 1);
	teeliza_hex_encode(hex, q, len);
	snprintf(hexpath, sizeof(hexpath), "/tmp/teeliza-dv-%d.hex", (int)getpid());
	f = fopen(hexpath, "w");
	assert_non_null(f);
	fprintf(f, "0x%s\n", hex);
	fclose(f);
	rc = run(&out, "%s verify - --collateral %s/dcapqvl-tdx_quote_collateral.json --now %d --json < %s",
	         TEELIZA_BINARY, vd, TDX_NOW, hexpath);
	assert_int_equal(rc, 0);
	j = json_loads(out, 0, &e);
	assert_non_null(j);
	assert_string_equal(json_string_value(json_object_get(j, "status")), "UpToDate");
	assert_true(json_is_object(json_object_get(j, "quote")));
	json_decref(j);
	free(out);
	unlink(hexpath);
	free(hex);
	free(q);

	/* 1: genuine but not accepted */
	rc = run(&out, "%s verify %s/dcapqvl-sgx_quote --collateral %s/dcapqvl-sgx_quote_collateral.json --now %d "
	               "--accept UpToDate",
	         TEELIZA_BINARY, vd, vd, SGX_NOW);
	assert_int_equal(rc, 1);
	assert_contains(out, "NOT TRUSTED");
	free(out);
	/* 2: a check failed (expired collateral) */
	rc = run(&out, "%s verify %s/dcapqvl-sgx_quote --collateral %s/dcapqvl-sgx_quote_collateral.json --now %d",
	         TEELIZA_BINARY, vd, vd, SGX_NOW + 2);
	assert_int_equal(rc, 2);
	assert_contains(out, "QE Identity expired");
	free(out);
	/* 2: an expectation that does not hold */
	rc = run(&out, "%s verify %s/dcapqvl-tdx_quote --collateral %s/dcapqvl-tdx_quote_collateral.json --now %d "
	               "--expect-rtmr 3=%096d",
	         TEELIZA_BINARY, vd, vd, TDX_NOW, 1);
	assert_int_equal(rc, 2);
	assert_contains(out, "RTMR3");
	free(out);
	/* 3: the Eliza guide's simulator quote */
	rc = run(&out, "%s verify %s/eliza-guide-simulator-quote.hex --collateral %s/dcapqvl-tdx_quote_collateral.json",
	         TEELIZA_BINARY, vd, vd);
	assert_int_equal(rc, 3);
	assert_contains(out, "attestation key type 3");
	free(out);
	/* 3: malformed collateral */
	snprintf(path, sizeof(path), "/tmp/teeliza-dv-%d.json", (int)getpid());
	fd = open(path, O_CREAT | O_WRONLY | O_TRUNC, 0600);
	assert_true(fd >= 0);
	assert_int_equal(write(fd, "{\"tcb_info\": 1}", 15), 15);
	close(fd);
	rc = run(&out, "%s verify %s/dcapqvl-tdx_quote --collateral %s 2>&1", TEELIZA_BINARY, vd, path);
	assert_int_equal(rc, 3);
	assert_contains(out, "bad collateral");
	free(out);
	unlink(path);
	/* 64: bad command lines */
	rc = run(&out, "%s verify %s/dcapqvl-tdx_quote 2>&1", TEELIZA_BINARY, vd);
	assert_int_equal(rc, 64);
	free(out);
	rc = run(&out, "%s verify x --collateral y --expired sometimes 2>&1", TEELIZA_BINARY);
	assert_int_equal(rc, 64);
	free(out);
	rc = run(&out, "%s verify x --collateral y --accept Great 2>&1", TEELIZA_BINARY);
	assert_int_equal(rc, 64);
	assert_contains(out, "unknown TCB status");
	free(out);
	rc = run(&out, "%s verify --help", TEELIZA_BINARY);
	assert_int_equal(rc, 0);
	assert_contains(out, "--expect-app-data");
	free(out);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_tdx_vector),
		cmocka_unit_test(test_sgx_vector),
		cmocka_unit_test(test_outdated_v5_vector),
		cmocka_unit_test(test_gotdx_vector),
		cmocka_unit_test(test_eliza_guide_quote),
		cmocka_unit_test(test_windows),
		cmocka_unit_test(test_window_messages),
		cmocka_unit_test(test_expiry_rules),
		cmocka_unit_test(test_flip_every_signed_byte_tdx),
		cmocka_unit_test(test_flip_every_signed_byte_sgx),
		cmocka_unit_test(test_pck_chain_base64_changes),
		cmocka_unit_test(test_trailing_bytes),
		cmocka_unit_test(test_bad_lengths),
		cmocka_unit_test(test_expectations),
		cmocka_unit_test(test_policy_status),
		cmocka_unit_test(test_trust_sets),
		cmocka_unit_test(test_mismatched_tee),
		cmocka_unit_test(test_cache),
		cmocka_unit_test(test_threads_share_collateral),
		cmocka_unit_test(test_json_output),
		cmocka_unit_test(test_collateral_round_trip),
		cmocka_unit_test(test_status_names),
		cmocka_unit_test(test_cli),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
