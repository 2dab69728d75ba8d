/*
 * DCAP quote parsing, description (JSON/table), PCK chain splitting and the
 * PCK SGX extension, against every quote in tests/vectors.
 *
 * Expected field values come from tests/vectors/SOURCES.md and
 * dcap-verification.md §4 (produced with dcap-qvl and by hand decoding), or
 * from `openssl asn1parse` as noted at each table.
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <cmocka.h>

#include "testutil.h"
#include "teeliza/dcap/pck.h"
#include "teeliza/dcap/quote.h"
#include "dcap/verify_internal.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#include <openssl/pem.h>

#define ZERO48 "000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000"
#define ZERO32 "0000000000000000000000000000000000000000000000000000000000000000"

/* Offsets in a v4 TDX quote (48 header + 584 body), from dcap-verification.md §1. */
#define V4_SIG_DATA_LEN 632
#define V4_OUTER_TYPE (636 + 128)
#define V4_OUTER_LEN (V4_OUTER_TYPE + 2)
#define V4_QE_AUTH_LEN (V4_OUTER_TYPE + 6 + 384 + 64)
#define V4_INNER_TYPE (V4_QE_AUTH_LEN + 2 + 32)
#define V4_INNER_LEN (V4_INNER_TYPE + 2)
/* Offsets in the v3 SGX quote (48 header + 384 body). */
#define V3_SIG_DATA_LEN 432
#define V3_QE_AUTH_LEN (436 + 128 + 384 + 64)
#define V3_CERT_TYPE (V3_QE_AUTH_LEN + 2 + 32)
#define V3_CERT_LEN (V3_CERT_TYPE + 2)

static void put16(uint8_t *p, uint16_t v)
{
	p[0] = (uint8_t)v;
	p[1] = (uint8_t)(v >> 8);
}

static void put32(uint8_t *p, uint32_t v)
{
	put16(p, (uint16_t)v);
	put16(p + 2, (uint16_t)(v >> 16));
}

static uint32_t get32(const uint8_t *p)
{
	return (uint32_t)p[0] | (uint32_t)p[1] << 8 | (uint32_t)p[2] << 16 | (uint32_t)p[3] << 24;
}

/* A quote vector, binary or hex text (SOURCES.md says which). */
static uint8_t *quote_read(const char *name, size_t *len)
{
	size_t n = strlen(name);
	uint8_t *raw, *bin;
	size_t raw_len;

	raw = vector_read(name, &raw_len);
	if (n < 4 || strcmp(name + n - 4, ".hex") != 0) {
		*len = raw_len;
		return raw;
	}
	while (raw_len > 0 && (raw[raw_len - 1] == '\n' || raw[raw_len - 1] == '\r' || raw[raw_len - 1] == ' '))
		raw[--raw_len] = '\0';
	bin = hex_alloc((const char *)raw, len);
	free(raw);
	return bin;
}

static void assert_hex_affixes(const uint8_t *buf, size_t len, const char *prefix, const char *suffix)
{
	char *got = malloc(2 * len + 1);
	size_t i;

	assert_non_null(got);
	for (i = 0; i < len; i++)
		snprintf(got + 2 * i, 3, "%02x", buf[i]);
	assert_true(strncmp(got, prefix, strlen(prefix)) == 0);
	assert_string_equal(got + 2 * len - strlen(suffix), suffix);
	free(got);
}

static bool all_zero(const uint8_t *p, size_t n)
{
	while (n--)
		if (*p++)
			return false;
	return true;
}

static void assert_zeroed(const dcap_quote *q)
{
	dcap_quote zero;

	memset(&zero, 0, sizeof(zero));
	assert_memory_equal(q, &zero, sizeof(zero));
}

static void assert_err_contains(teeliza_err got, teeliza_err want, const char *needle)
{
	assert_int_equal(got, want);
	if (strstr(teeliza_errmsg(), needle) == NULL)
		fail_msg("error \"%s\" does not contain \"%s\"", teeliza_errmsg(), needle);
}

/* ---- the vector quotes ---- */

static void test_tdx_v4(void **state)
{
	size_t len;
	uint8_t *buf = quote_read("dcapqvl-tdx_quote", &len);
	dcap_quote q;

	(void)state;
	assert_int_equal(len, 5006);
	assert_int_equal(dcap_quote_parse(&q, buf, len), TEELIZA_OK);
	assert_int_equal(q.header.version, 4);
	assert_int_equal(q.header.att_key_type, 2);
	assert_int_equal(q.header.tee_type, DCAP_TEE_TYPE_TDX);
	assert_memory_equal(q.header.qe_vendor_id, DCAP_INTEL_QE_VENDOR_ID, 16);
	assert_hex_equal(DCAP_INTEL_QE_VENDOR_ID, 16, "939a7233f79c4ca9940a0db3957f0607");
	assert_int_equal(q.body_type, DCAP_BODY_TD10);
	assert_int_equal(q.body_size, 584);
	assert_ptr_equal(q.body.td.raw, buf + 48);
	assert_ptr_equal(q.signed_data, buf);
	assert_int_equal(q.signed_len, 48 + 584);
	assert_hex_affixes(q.body.td.tee_tcb_svn, 16, "06010300", "");
	assert_hex_equal(q.body.td.mrtd, 48,
	                 "91eb2b44d141d4ece09f0c75c2c53d247a3c68edd7fafe8a3520c942a604a407de03ae6dc5f87f27428b2538873118b7");
	assert_hex_equal(q.body.td.rtmr[0], 48,
	                 "44c0197b39157fdd7a4dcc44767f9d6b0bb3977c7a8e347b8492f827fe9d9e5c48aca29b220b80b6a540cf994b9bc9c0");
	assert_hex_equal(q.body.td.rtmr[1], 48,
	                 "0084452c01668329d4bc06acdf58a7205c26743304509973949e5619bf81a6a7aea8c323c173019b3093d54e579e9378");
	assert_hex_equal(q.body.td.rtmr[2], 48,
	                 "d833feef2cd945148aa38ead2c53e9b7f138190aaaebfc551dccd829fc207aa3ba80b70870d7330733642e01d48c3132");
	assert_hex_equal(q.body.td.rtmr[3], 48, ZERO48);
	assert_hex_equal(q.body.td.report_data, 64,
	                 "9a9d48e7f6799642d3d1b34e1e5e1742d4bb02dd6ddd551862c1211d35c304f9"
	                 "eca3efdbb481601c163cf52493d6e44aed55d51ec39b7e518fadb92c2b523f20");
	/* td_attributes bytes 0000001000000000: bit 28 only */
	assert_true(q.body.td.td_attributes == DCAP_TD_ATTR_SEPT_VE_DISABLE);
	assert_null(q.body.td.tee_tcb_svn2);
	assert_null(q.body.td.mr_service_td);
	/* sizes measured on this quote (dcap-verification.md §1.3, SOURCES.md) */
	assert_int_equal(q.sig_data_len, 4300);
	assert_ptr_equal(q.signature, buf + 636);
	assert_ptr_equal(q.att_pub_key, buf + 700);
	assert_ptr_equal(q.qe_report.raw, buf + 770);
	assert_int_equal(q.qe_auth_len, 32);
	assert_int_equal(q.cert_type, 5);
	assert_int_equal(q.cert_data_len, 3678);
	assert_memory_equal(q.cert_data, "-----BEGIN CERTIFICATE-----", 27);
	assert_int_equal(q.parsed_len, 4936);
	assert_int_equal(q.trailing_len, 70);
	assert_true(all_zero(buf + q.parsed_len, q.trailing_len));
	free(buf);
}

static void test_tdx_v4_hex_vectors(void **state)
{
	size_t len;
	uint8_t *buf;
	dcap_quote q;

	(void)state;
	buf = quote_read("dcapqvl-tdx-quote.hex", &len);
	assert_int_equal(len, 5006);
	assert_int_equal(dcap_quote_parse(&q, buf, len), TEELIZA_OK);
	assert_int_equal(q.header.version, 4);
	assert_int_equal(q.body_type, DCAP_BODY_TD10);
	assert_int_equal(q.sig_data_len, 4300);
	assert_int_equal(q.trailing_len, 70);
	assert_hex_affixes(q.body.td.rtmr[0], 48, "4574c098", "4610");
	assert_hex_affixes(q.body.td.rtmr[3], 48, "547fcba4", "113f");
	free(buf);

	buf = quote_read("dcapqvl-quote-from-tappd.hex", &len);
	assert_int_equal(dcap_quote_parse(&q, buf, len), TEELIZA_OK);
	assert_int_equal(q.header.version, 4);
	assert_int_equal(q.header.tee_type, DCAP_TEE_TYPE_TDX);
	assert_int_equal(q.cert_type, 5);
	assert_int_equal(q.trailing_len, 70);
	assert_true(all_zero(buf + q.parsed_len, q.trailing_len));
	free(buf);
}

static void test_sgx_v3(void **state)
{
	size_t len;
	uint8_t *buf = quote_read("dcapqvl-sgx_quote", &len);
	dcap_quote q;
	uint8_t want_rd[64] = "Hello, world!";

	(void)state;
	assert_int_equal(dcap_quote_parse(&q, buf, len), TEELIZA_OK);
	assert_int_equal(q.header.version, 3);
	assert_int_equal(q.header.tee_type, DCAP_TEE_TYPE_SGX);
	assert_int_equal(q.body_type, DCAP_BODY_SGX);
	assert_int_equal(q.body_size, 384);
	assert_int_equal(q.signed_len, 48 + 384);
	assert_hex_affixes(q.body.sgx.mrenclave, 32, "33d8736d", "2fbb");
	assert_hex_affixes(q.body.sgx.mrsigner, 32, "815f42f1", "e0e6");
	assert_int_equal(q.body.sgx.isvprodid, 0);
	assert_int_equal(q.body.sgx.isvsvn, 0);
	assert_memory_equal(q.body.sgx.report_data, want_rd, 64);
	assert_int_equal(q.sig_data_len, 4164);
	assert_int_equal(q.qe_auth_len, 32);
	assert_int_equal(q.cert_type, 5);
	assert_int_equal(q.cert_data_len, 3548);
	assert_int_equal(q.parsed_len, len);
	assert_int_equal(q.trailing_len, 0);
	free(buf);
}

static void test_v5_vectors(void **state)
{
	size_t len;
	uint8_t *buf;
	dcap_quote q;

	(void)state;
	buf = quote_read("dcapqvl-tdx_quote_outdated", &len);
	assert_int_equal(dcap_quote_parse(&q, buf, len), TEELIZA_OK);
	assert_int_equal(q.header.version, 5);
	assert_int_equal(q.body_type, DCAP_BODY_TD15);
	assert_int_equal(q.body_size, 648);
	assert_ptr_equal(q.body.td.raw, buf + 54);
	assert_int_equal(q.signed_len, 54 + 648);
	assert_hex_affixes(q.body.td.tee_tcb_svn, 16, "07010300", "");
	assert_hex_affixes(q.body.td.tee_tcb_svn2, 16, "0d010300", "");
	assert_hex_equal(q.body.td.mr_service_td, 48, ZERO48);
	for (int i = 0; i < 4; i++)
		assert_hex_equal(q.body.td.rtmr[i], 48, ZERO48);
	assert_hex_affixes(q.body.td.report_data, 64, "d2142b64", "7728" ZERO32);
	assert_int_equal(q.sig_data_len, 4300);
	assert_int_equal(q.cert_type, 5);
	free(buf);

	buf = quote_read("gotdx-quote_v5_sample.dat", &len);
	assert_int_equal(dcap_quote_parse(&q, buf, len), TEELIZA_OK);
	assert_int_equal(q.header.version, 5);
	assert_int_equal(q.body_type, DCAP_BODY_TD15);
	assert_hex_affixes(q.body.td.tee_tcb_svn, 16, "0b010400", "");
	assert_hex_affixes(q.body.td.tee_tcb_svn2, 16, "0d010400", "");
	assert_int_equal(q.qe_report.isvsvn, 7);
	free(buf);
}

static void test_gotdx_spr(void **state)
{
	size_t len;
	uint8_t *buf = quote_read("gotdx-tdx_prod_quote_SPR_E4.dat", &len);
	dcap_quote q;

	(void)state;
	assert_int_equal(dcap_quote_parse(&q, buf, len), TEELIZA_OK);
	assert_int_equal(q.header.version, 4);
	assert_int_equal(q.body_type, DCAP_BODY_TD10);
	assert_hex_affixes(q.body.td.tee_tcb_svn, 16, "030004", "");
	/* td_attributes 0000004000000000: PKS set, SEPT_VE_DISABLE not */
	assert_true(q.body.td.td_attributes == DCAP_TD_ATTR_PKS);
	/* the go-tdx-guest quote carries 39 bytes after sig_data (dcap-verification.md §1.3) */
	assert_int_equal(q.trailing_len, 39);
	assert_int_equal(q.parsed_len + q.trailing_len, len);
	free(buf);
}

static void test_eliza_simulator_quote(void **state)
{
	size_t len;
	uint8_t *buf = quote_read("eliza-guide-simulator-quote.hex", &len);
	dcap_quote q;
	dcap_header h;

	(void)state;
	assert_int_equal(len, 1246);
	assert_err_contains(dcap_quote_parse(&q, buf, len), TEELIZA_ERR_UNSUPPORTED,
	                    "unsupported attestation key type 3 (only 2, ECDSA-256-with-P-256)");
	assert_zeroed(&q);

	/* the header is still readable, with the values of dcap-verification.md §5 */
	assert_int_equal(dcap_header_parse(&h, buf, len), TEELIZA_OK);
	assert_int_equal(h.version, 4);
	assert_int_equal(h.att_key_type, 3);
	assert_int_equal(h.tee_type, DCAP_TEE_TYPE_TDX);
	assert_int_equal(h.qe_svn, 26995);
	assert_int_equal(h.pce_svn, 63552);
	assert_hex_equal(h.qe_vendor_id, 16, "88442c8ca8cb432d7a87145f9b7aeab1");
	assert_int_equal(dcap_header_parse(&h, buf, 47), TEELIZA_ERR_TRUNCATED);

	/* with the key type relaxed it fails at its certification data type 0 */
	put16(buf + 2, 2);
	assert_err_contains(dcap_quote_parse(&q, buf, len), TEELIZA_ERR_UNSUPPORTED,
	                    "outer certification data type 0");
	free(buf);
}

/* ---- description ---- */

static void test_json(void **state)
{
	size_t len;
	uint8_t *buf = quote_read("dcapqvl-tdx_quote", &len);
	dcap_quote q;
	json_t *j, *body, *attr;

	(void)state;
	assert_int_equal(dcap_quote_parse(&q, buf, len), TEELIZA_OK);
	assert_int_equal(dcap_quote_to_json(&j, &q), TEELIZA_OK);
	assert_int_equal(json_integer_value(json_object_get(json_object_get(j, "header"), "version")), 4);
	assert_int_equal(json_integer_value(json_object_get(json_object_get(j, "header"), "tee_type")), 0x81);
	assert_true(json_is_true(json_object_get(json_object_get(j, "header"), "qe_vendor_is_intel")));
	body = json_object_get(j, "body");
	assert_string_equal(json_string_value(json_object_get(body, "type")), "td10");
	assert_string_equal(json_string_value(json_object_get(body, "mrtd")),
	                    "91eb2b44d141d4ece09f0c75c2c53d247a3c68edd7fafe8a3520c942a604a407de03ae6dc5f87f27428b2538873118b7");
	assert_string_equal(json_string_value(json_object_get(body, "rtmr3")), ZERO48);
	assert_non_null(json_object_get(body, "xfam"));
	assert_non_null(json_object_get(body, "mrconfigid"));
	assert_null(json_object_get(body, "tee_tcb_svn2"));
	attr = json_object_get(body, "td_attributes");
	assert_string_equal(json_string_value(json_object_get(attr, "hex")), "0000001000000000");
	assert_true(json_is_true(json_object_get(attr, "sept_ve_disable")));
	assert_true(json_is_false(json_object_get(attr, "debug")));
	assert_true(json_is_false(json_object_get(attr, "reserved_bits_set")));
	assert_int_equal(json_integer_value(json_object_get(json_object_get(j, "signature_data"), "sig_data_len")), 4300);
	assert_int_equal(json_integer_value(json_object_get(json_object_get(
	                 json_object_get(j, "signature_data"), "qe_report"), "isvprodid")), 2);
	assert_int_equal(json_integer_value(json_object_get(json_object_get(j, "sizes"), "trailing_len")), 70);
	assert_int_equal(json_integer_value(json_object_get(json_object_get(j, "sizes"), "total")), 5006);
	json_decref(j);
	free(buf);

	buf = quote_read("dcapqvl-sgx_quote", &len);
	assert_int_equal(dcap_quote_parse(&q, buf, len), TEELIZA_OK);
	assert_int_equal(dcap_quote_to_json(&j, &q), TEELIZA_OK);
	body = json_object_get(j, "body");
	assert_string_equal(json_string_value(json_object_get(body, "type")), "sgx");
	assert_string_equal(json_string_value(json_object_get(body, "mrenclave")),
	                    "33d8736db756ed4997e04ba358d27833188f1932ff7b1d156904d3f560452fbb");
	assert_true(json_is_false(json_object_get(body, "debug")));
	json_decref(j);
	free(buf);

	buf = quote_read("dcapqvl-tdx_quote_outdated", &len);
	assert_int_equal(dcap_quote_parse(&q, buf, len), TEELIZA_OK);
	assert_int_equal(dcap_quote_to_json(&j, &q), TEELIZA_OK);
	body = json_object_get(j, "body");
	assert_string_equal(json_string_value(json_object_get(body, "type")), "td15");
	assert_string_equal(json_string_value(json_object_get(body, "tee_tcb_svn2")), "0d010300000000000000000000000000");
	assert_string_equal(json_string_value(json_object_get(body, "mr_service_td")), ZERO48);
	json_decref(j);
	free(buf);
}

static void test_print(void **state)
{
	size_t len, out_len;
	uint8_t *buf = quote_read("gotdx-tdx_prod_quote_SPR_E4.dat", &len);
	dcap_quote q;
	char *out = NULL;
	FILE *f;

	(void)state;
	assert_int_equal(dcap_quote_parse(&q, buf, len), TEELIZA_OK);
	f = open_memstream(&out, &out_len);
	assert_non_null(f);
	dcap_quote_print(f, &q);
	fclose(f);
	assert_non_null(strstr(out, "\n  version                4\n"));
	assert_non_null(strstr(out, "\n  tee_type               0x00000081 (TDX)\n"));
	assert_non_null(strstr(out, "\n  td_attributes          0000004000000000 (pks)\n"));
	assert_non_null(strstr(out, "\n  tee_tcb_svn            03000400000000000000000000000000\n"));
	/* the vendor ID is a claim, never labelled as if it proved Intel signed */
	assert_non_null(strstr(out, "(Intel's QE ID, as the quote claims; the certificate chain says who signed)\n"));
	assert_null(strstr(out, "(Intel)"));
	assert_non_null(strstr(out, "\n  trailing_len           39\n"));
	assert_null(strstr(out, "tee_tcb_svn2"));
	free(out);
	free(buf);
}

/* ---- truncation, with the input ending right before an unmapped page ---- */

typedef struct guarded {
	uint8_t *map;
	uint8_t *guard; /* first byte of the PROT_NONE page */
	size_t map_len;
} guarded;

static void guarded_init(guarded *g, size_t max)
{
	size_t page = (size_t)sysconf(_SC_PAGESIZE);
	size_t data = (max + page - 1) / page * page;

	g->map_len = data + page;
	g->map = mmap(NULL, g->map_len, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	assert_true(g->map != MAP_FAILED);
	g->guard = g->map + data;
	assert_int_equal(mprotect(g->guard, page, PROT_NONE), 0);
}

/* Place the first n bytes of src so they end at the guard page. */
static const uint8_t *guarded_place(guarded *g, const uint8_t *src, size_t n)
{
	memcpy(g->guard - n, src, n);
	return g->guard - n;
}

static void guarded_free(guarded *g)
{
	munmap(g->map, g->map_len);
}

static void check_every_prefix(const char *name, size_t want_parsed)
{
	size_t len, n;
	uint8_t *buf = quote_read(name, &len);
	guarded g;
	dcap_quote q;
	json_t *j;
	FILE *devnull = fopen("/dev/null", "w");

	assert_non_null(devnull);
	guarded_init(&g, len);
	for (n = 0; n <= len; n++) {
		const uint8_t *p = guarded_place(&g, buf, n);
		teeliza_err err = dcap_quote_parse(&q, p, n);

		if (n < want_parsed) {
			if (err != TEELIZA_ERR_TRUNCATED)
				fail_msg("%s cut to %zu bytes: got %d (%s)", name, n, err, teeliza_errmsg());
			assert_non_null(strstr(teeliza_errmsg(), "truncated"));
			assert_zeroed(&q);
			continue;
		}
		assert_int_equal(err, TEELIZA_OK);
		assert_int_equal(q.parsed_len, want_parsed);
		assert_int_equal(q.trailing_len, n - want_parsed);
		/* describing it reads only what the parser accepted */
		assert_int_equal(dcap_quote_to_json(&j, &q), TEELIZA_OK);
		json_decref(j);
		dcap_quote_print(devnull, &q);
	}
	guarded_free(&g);
	fclose(devnull);
	free(buf);
}

static void test_truncations(void **state)
{
	(void)state;
	check_every_prefix("dcapqvl-tdx_quote", 4936);          /* v4 TDX */
	check_every_prefix("dcapqvl-tdx_quote_outdated", 5006); /* v5 TD 1.5 */
	check_every_prefix("gotdx-quote_v5_sample.dat", 5006);  /* v5 TD 1.5 */
	check_every_prefix("dcapqvl-sgx_quote", 4600);          /* v3 SGX */
}

/* ---- bad lengths ---- */

static teeliza_err parse_patched32(const char *name, size_t off, uint32_t v)
{
	size_t len;
	uint8_t *buf = quote_read(name, &len);
	dcap_quote q;
	teeliza_err err;

	put32(buf + off, v);
	err = dcap_quote_parse(&q, buf, len);
	if (err)
		assert_zeroed(&q);
	free(buf);
	return err;
}

static teeliza_err parse_patched16(const char *name, size_t off, uint16_t v)
{
	size_t len;
	uint8_t *buf = quote_read(name, &len);
	dcap_quote q;
	teeliza_err err;

	put16(buf + off, v);
	err = dcap_quote_parse(&q, buf, len);
	if (err)
		assert_zeroed(&q);
	free(buf);
	return err;
}

static void test_bad_lengths_v4(void **state)
{
	const char *v4 = "dcapqvl-tdx_quote";

	(void)state;
	/* sanity: the offsets point where we think */
	{
		size_t len;
		uint8_t *buf = quote_read(v4, &len);

		assert_int_equal(get32(buf + V4_SIG_DATA_LEN), 4300);
		assert_int_equal(buf[V4_OUTER_TYPE], 6);
		assert_int_equal(get32(buf + V4_OUTER_LEN), 4166);
		assert_int_equal(buf[V4_QE_AUTH_LEN], 32);
		assert_int_equal(buf[V4_INNER_TYPE], 5);
		assert_int_equal(get32(buf + V4_INNER_LEN), 3678);
		free(buf);
	}
	assert_err_contains(parse_patched32(v4, V4_SIG_DATA_LEN, 0xffffffffu), TEELIZA_ERR_TRUNCATED,
	                    "sig_data_len");
	assert_err_contains(parse_patched32(v4, V4_SIG_DATA_LEN, 4300 + 71), TEELIZA_ERR_TRUNCATED, "sig_data_len");
	/* still inside the buffer (70 padding bytes), but a byte is left unparsed */
	assert_err_contains(parse_patched32(v4, V4_SIG_DATA_LEN, 4301), TEELIZA_ERR_PARSE, "1 unparsed bytes");
	assert_err_contains(parse_patched32(v4, V4_SIG_DATA_LEN, 4299), TEELIZA_ERR_PARSE,
	                    "outer certification data");
	assert_err_contains(parse_patched32(v4, V4_SIG_DATA_LEN, 0), TEELIZA_ERR_PARSE, "ECDSA quote signature");
	assert_err_contains(parse_patched32(v4, V4_OUTER_LEN, 0xffffffffu), TEELIZA_ERR_PARSE,
	                    "outer certification data needs 4294967295 bytes");
	assert_err_contains(parse_patched32(v4, V4_OUTER_LEN, 4165), TEELIZA_ERR_PARSE, "unparsed");
	assert_err_contains(parse_patched16(v4, V4_QE_AUTH_LEN, 0xffff), TEELIZA_ERR_PARSE, "QE auth data");
	assert_err_contains(parse_patched16(v4, V4_QE_AUTH_LEN, 33), TEELIZA_ERR_PARSE, "inner certification data");
	assert_err_contains(parse_patched32(v4, V4_INNER_LEN, 0xffffffffu), TEELIZA_ERR_PARSE,
	                    "inner certification data needs 4294967295 bytes");
	/* nested length greater than the outer length */
	assert_err_contains(parse_patched32(v4, V4_INNER_LEN, 3679), TEELIZA_ERR_PARSE,
	                    "but outer certification data has only 3678 left");
	assert_err_contains(parse_patched32(v4, V4_INNER_LEN, 3677), TEELIZA_ERR_PARSE, "1 unparsed bytes");
	/* certification data types */
	assert_err_contains(parse_patched16(v4, V4_OUTER_TYPE, 5), TEELIZA_ERR_UNSUPPORTED,
	                    "outer certification data type 5 (only 6");
	assert_err_contains(parse_patched16(v4, V4_INNER_TYPE, 4), TEELIZA_ERR_UNSUPPORTED,
	                    "inner certification data type 4 (only 5");
	assert_err_contains(parse_patched16(v4, V4_INNER_TYPE, 3), TEELIZA_ERR_UNSUPPORTED, "type 3");
}

/* A structure declared too small for what it must hold: the error names the field that did not fit. */
static void test_undersized_structures(void **state)
{
	const char *v4 = "dcapqvl-tdx_quote", *v3 = "dcapqvl-sgx_quote";
	size_t len;
	uint8_t *buf;
	dcap_quote q;

	(void)state;
	assert_err_contains(parse_patched32(v4, V4_SIG_DATA_LEN, 128 + 3), TEELIZA_ERR_PARSE,
	                    "outer certification data needs 6 bytes");
	/* outer type 6 of 100 bytes, sig_data_len shrunk to match: the QE report does not fit */
	buf = quote_read(v4, &len);
	put32(buf + V4_SIG_DATA_LEN, 128 + 6 + 100);
	put32(buf + V4_OUTER_LEN, 100);
	assert_err_contains(dcap_quote_parse(&q, buf, len), TEELIZA_ERR_PARSE,
	                    "QE report needs 384 bytes at offset 770, but outer certification data has only 100 left");
	put32(buf + V4_SIG_DATA_LEN, 128 + 6 + 384 + 64 + 1);
	put32(buf + V4_OUTER_LEN, 384 + 64 + 1);
	assert_err_contains(dcap_quote_parse(&q, buf, len), TEELIZA_ERR_PARSE, "qe_auth_len needs 2 bytes");
	free(buf);
	assert_err_contains(parse_patched32(v3, V3_SIG_DATA_LEN, 128 + 100), TEELIZA_ERR_PARSE,
	                    "QE report needs 384 bytes at offset 564, but signature data has only 100 left");
	assert_err_contains(parse_patched32(v3, V3_SIG_DATA_LEN, 128 + 384 + 10), TEELIZA_ERR_PARSE,
	                    "QE report signature needs 64 bytes");
	assert_err_contains(parse_patched32(v3, V3_SIG_DATA_LEN, 128 + 384 + 64 + 1), TEELIZA_ERR_PARSE,
	                    "qe_auth_len needs 2 bytes");
	assert_err_contains(parse_patched32(v3, V3_SIG_DATA_LEN, 128 + 384 + 64 + 2 + 32 + 5), TEELIZA_ERR_PARSE,
	                    "certification data needs 6 bytes");
}

static void test_bad_lengths_v3(void **state)
{
	const char *v3 = "dcapqvl-sgx_quote";

	(void)state;
	{
		size_t len;
		uint8_t *buf = quote_read(v3, &len);

		assert_int_equal(get32(buf + V3_SIG_DATA_LEN), 4164);
		assert_int_equal(buf[V3_QE_AUTH_LEN], 32);
		assert_int_equal(buf[V3_CERT_TYPE], 5);
		assert_int_equal(get32(buf + V3_CERT_LEN), 3548);
		free(buf);
	}
	assert_err_contains(parse_patched32(v3, V3_SIG_DATA_LEN, 0xffffffffu), TEELIZA_ERR_TRUNCATED,
	                    "sig_data_len");
	assert_err_contains(parse_patched32(v3, V3_SIG_DATA_LEN, 4165), TEELIZA_ERR_TRUNCATED, "sig_data_len");
	assert_err_contains(parse_patched16(v3, V3_QE_AUTH_LEN, 0xffff), TEELIZA_ERR_PARSE, "QE auth data");
	assert_err_contains(parse_patched32(v3, V3_CERT_LEN, 0xffffffffu), TEELIZA_ERR_PARSE, "certification data");
	assert_err_contains(parse_patched32(v3, V3_CERT_LEN, 3549), TEELIZA_ERR_PARSE, "certification data");
	assert_err_contains(parse_patched32(v3, V3_CERT_LEN, 3547), TEELIZA_ERR_PARSE, "unparsed");
	assert_err_contains(parse_patched16(v3, V3_CERT_TYPE, 6), TEELIZA_ERR_UNSUPPORTED,
	                    "certification data type 6 (only 5");
}

static void test_header_checks(void **state)
{
	static const uint16_t versions[] = { 0, 1, 2, 6, 0xffff };
	char want[64];
	size_t i;

	(void)state;
	for (i = 0; i < sizeof(versions) / sizeof(versions[0]); i++) {
		snprintf(want, sizeof(want), "unsupported quote version %u", versions[i]);
		assert_err_contains(parse_patched16("dcapqvl-tdx_quote", 0, versions[i]), TEELIZA_ERR_UNSUPPORTED, want);
	}
	assert_err_contains(parse_patched16("dcapqvl-tdx_quote", 2, 3), TEELIZA_ERR_UNSUPPORTED,
	                    "attestation key type 3");
	assert_err_contains(parse_patched32("dcapqvl-tdx_quote", 4, 0x80), TEELIZA_ERR_UNSUPPORTED,
	                    "TEE type 0x00000080");
	assert_err_contains(parse_patched32("dcapqvl-sgx_quote", 4, 0x81), TEELIZA_ERR_UNSUPPORTED,
	                    "version 3 is SGX only");
	/* v4 with tee_type SGX reads a 384-byte body, so the rest no longer lines up */
	assert_int_not_equal(parse_patched32("dcapqvl-tdx_quote", 4, 0), TEELIZA_OK);
	/* the vendor ID is the verifier's business */
	assert_int_equal(parse_patched32("dcapqvl-tdx_quote", 12, 0x12345678), TEELIZA_OK);
	assert_err_contains(dcap_quote_parse(&(dcap_quote){ 0 }, (const uint8_t *)"", 0), TEELIZA_ERR_TRUNCATED,
	                    "header");
}

static void test_v5_descriptor(void **state)
{
	const char *v5 = "dcapqvl-tdx_quote_outdated";

	(void)state;
	assert_err_contains(parse_patched32(v5, 50, 584), TEELIZA_ERR_PARSE,
	                    "v5 body type 3 must be 648 bytes, but the descriptor says 584");
	assert_err_contains(parse_patched32(v5, 50, 0xffffffffu), TEELIZA_ERR_PARSE, "must be 648 bytes");
	assert_err_contains(parse_patched32(v5, 50, 0), TEELIZA_ERR_PARSE, "must be 648 bytes");
	assert_err_contains(parse_patched16(v5, 48, 4), TEELIZA_ERR_UNSUPPORTED, "v5 body type 4");
	assert_err_contains(parse_patched16(v5, 48, 0), TEELIZA_ERR_UNSUPPORTED, "v5 body type 0");
	/* type 2 with its own (correct) size: the body is 64 bytes shorter, so the rest no longer lines up */
	{
		size_t len;
		uint8_t *buf = quote_read(v5, &len);
		dcap_quote q;

		put16(buf + 48, 2);
		put32(buf + 50, 584);
		assert_int_not_equal(dcap_quote_parse(&q, buf, len), TEELIZA_OK);
		put16(buf + 48, 1);
		put32(buf + 50, 384);
		assert_err_contains(dcap_quote_parse(&q, buf, len), TEELIZA_ERR_PARSE,
		                    "v5 body type 1 does not match tee_type 0x00000081");
		free(buf);
	}
}

/*
 * Quotes no vector has: v5 with a TD 1.0 body, v4 and v5 SGX. Built from the
 * vectors by inserting a v5 descriptor or wrapping v3 QE data in type 6.
 */
static uint8_t *build_v5_td10(size_t *out_len)
{
	size_t len;
	uint8_t *v4 = quote_read("dcapqvl-tdx_quote", &len);
	uint8_t *q = malloc(len + 6);

	assert_non_null(q);
	memcpy(q, v4, 48);
	put16(q, 5);
	put16(q + 48, 2);
	put32(q + 50, 584);
	memcpy(q + 54, v4 + 48, len - 48);
	*out_len = len + 6;
	free(v4);
	return q;
}

static uint8_t *build_sgx(size_t *out_len, uint16_t version)
{
	size_t len, hdr = version == 5 ? 54 : 48;
	uint8_t *v3 = quote_read("dcapqvl-sgx_quote", &len);
	uint32_t sig_len = get32(v3 + V3_SIG_DATA_LEN);
	uint8_t *q = malloc(len + 12);
	uint8_t *s;

	assert_non_null(q);
	memcpy(q, v3, 48);
	put16(q, version);
	if (version == 5) {
		put16(q + 48, 1);
		put32(q + 50, 384);
	}
	memcpy(q + hdr, v3 + 48, 384);
	s = q + hdr + 384;
	put32(s, sig_len + 6);
	memcpy(s + 4, v3 + 436, 128);      /* signature, attestation key */
	put16(s + 4 + 128, 6);
	put32(s + 4 + 128 + 2, sig_len - 128);
	memcpy(s + 4 + 134, v3 + 436 + 128, sig_len - 128);
	*out_len = hdr + 384 + 4 + sig_len + 6;
	free(v3);
	return q;
}

static void test_synthetic_layouts(void **state)
{
	size_t len;
	uint8_t *buf;
	dcap_quote q;

	(void)state;
	buf = build_v5_td10(&len);
	assert_int_equal(dcap_quote_parse(&q, buf, len), TEELIZA_OK);
	assert_int_equal(q.body_type, DCAP_BODY_TD10);
	assert_int_equal(q.signed_len, 54 + 584);
	assert_null(q.body.td.tee_tcb_svn2);
	assert_hex_affixes(q.body.td.mrtd, 48, "91eb2b44", "18b7");
	assert_int_equal(q.trailing_len, 70);
	put32(buf + 50, 648);
	assert_err_contains(dcap_quote_parse(&q, buf, len), TEELIZA_ERR_PARSE, "v5 body type 2 must be 584 bytes");
	free(buf);

	for (uint16_t v = 4; v <= 5; v++) {
		buf = build_sgx(&len, v);
		assert_int_equal(dcap_quote_parse(&q, buf, len), TEELIZA_OK);
		assert_int_equal(q.header.version, v);
		assert_int_equal(q.body_type, DCAP_BODY_SGX);
		assert_int_equal(q.signed_len, (v == 5 ? 54u : 48u) + 384);
		assert_hex_affixes(q.body.sgx.mrenclave, 32, "33d8736d", "2fbb");
		assert_int_equal(q.cert_data_len, 3548);
		assert_int_equal(q.trailing_len, 0);
		free(buf);
	}
}

static void test_trailing_bytes(void **state)
{
	size_t len;
	uint8_t *buf = quote_read("dcapqvl-tdx_quote", &len);
	uint8_t *longer = malloc(len + 10);
	dcap_quote q;

	(void)state;
	assert_non_null(longer);
	memcpy(longer, buf, len);
	memset(longer + len, 0xa5, 10);
	assert_int_equal(dcap_quote_parse(&q, longer, len + 10), TEELIZA_OK);
	assert_int_equal(q.trailing_len, 80);
	/* trailing bytes never change the signed range */
	assert_int_equal(q.signed_len, 632);
	assert_int_equal(dcap_quote_parse(&q, buf, 636 + 4300), TEELIZA_OK);
	assert_int_equal(q.trailing_len, 0);
	free(longer);
	free(buf);
}

/* ---- PCK chain and SGX extension ---- */

/*
 * Expected values, computed independently of our parser with
 *   openssl x509 -in leaf.pem -outform der -out leaf.der
 *   openssl asn1parse -inform der -in leaf.der -strparse <offset of the
 *       OCTET STRING after OBJECT 1.2.840.113741.1.13.1>
 * where leaf.pem is the first certificate of the quote's PEM chain (cut out
 * of the quote with a separate Python script following the offsets of
 * dcap-verification.md §1.3). The FMSPC of dcapqvl-tdx_quote also matches
 * SOURCES.md (B0C06F000000).
 */
static const struct pck_expect {
	const char *quote;
	const char *ppid, *cpusvn, *fmspc;
	uint16_t pcesvn;
	int sgx_type;
	const char *instance; /* NULL when absent */
	int dynamic_platform, cached_keys, smt_enabled;
} pck_expected[] = {
	{ "dcapqvl-tdx_quote", "811dca2a26b952e85bb6448b097ba4fd", "03030202040100050000000000000000",
	  "b0c06f000000", 11, 1, "07828474603e7019dc930775ffe8cdd2", 1, 1, 1 },
	{ "dcapqvl-sgx_quote", "d04ec06d4e6d92dc90d0ad3cf5ee2ddf", "0b0b0202ff0100000000000000000000",
	  "00a067110000", 13, 0, NULL, -1, -1, -1 },
	{ "dcapqvl-tdx_quote_outdated", "66498c9263c04ed2f0657c530ac2b0cb", "03030202040100030000000000000000",
	  "90c06f000000", 13, 1, "af8de677b5f3d6d0c3a71b288bfdda89", 1, 0, 1 },
	{ "gotdx-tdx_prod_quote_SPR_E4.dat", "089ddfdb9c0359c82a3bc7719239574e", "03030202020100020000000000000000",
	  "50806f000000", 11, 1, "8c314d17d205dfafcbecbb00fc87eff7", 1, 0, 1 },
	{ "gotdx-quote_v5_sample.dat", "2734b654f553596897eaadfb5667a954", "04040202040100050000000000000000",
	  "90c06f000000", 13, 1, "056d0350250988808a9d09103f3e54d5", 1, 1, 1 },
	{ "dcapqvl-tdx-quote.hex", NULL, NULL, NULL, 0, 0, NULL, 0, 0, 0 },
	{ "dcapqvl-quote-from-tappd.hex", NULL, NULL, NULL, 0, 0, NULL, 0, 0, 0 },
};

static STACK_OF(X509) *chain_of(const char *quote_name, uint8_t **buf_out)
{
	size_t len;
	uint8_t *buf = quote_read(quote_name, &len);
	dcap_quote q;
	STACK_OF(X509) *chain;

	assert_int_equal(dcap_quote_parse(&q, buf, len), TEELIZA_OK);
	assert_int_equal(dcap_pem_chain_parse(&chain, q.cert_data, q.cert_data_len), TEELIZA_OK);
	*buf_out = buf;
	return chain;
}

/* The quote view (JSON and table) shows the PCK leaf's SGX extension, from the same expectations. */
static void test_pck_in_quote_view(void **state)
{
	static const char *const type_names[] = { "Standard", "Scalable", "ScalableWithIntegrity" };
	size_t i, len, out_len;

	(void)state;
	for (i = 0; i < sizeof(pck_expected) / sizeof(pck_expected[0]); i++) {
		const struct pck_expect *e = &pck_expected[i];
		uint8_t *buf;
		dcap_quote q;
		json_t *j, *pck;
		char *out = NULL, row[128];
		FILE *f;

		if (e->fmspc == NULL)
			continue;
		buf = quote_read(e->quote, &len);
		assert_int_equal(dcap_quote_parse(&q, buf, len), TEELIZA_OK);
		assert_int_equal(dcap_quote_to_json(&j, &q), TEELIZA_OK);
		pck = json_object_get(j, "pck_certificate");
		assert_non_null(pck);
		assert_null(json_object_get(pck, "error"));
		assert_string_equal(json_string_value(json_object_get(pck, "fmspc")), e->fmspc);
		assert_string_equal(json_string_value(json_object_get(pck, "cpusvn")), e->cpusvn);
		assert_string_equal(json_string_value(json_object_get(pck, "ppid")), e->ppid);
		assert_int_equal(json_integer_value(json_object_get(pck, "pcesvn")), e->pcesvn);
		assert_string_equal(json_string_value(json_object_get(pck, "sgx_type")), type_names[e->sgx_type]);
		if (e->instance != NULL)
			assert_string_equal(json_string_value(json_object_get(pck, "platform_instance_id")), e->instance);
		else
			assert_true(json_is_null(json_object_get(pck, "platform_instance_id")));
		json_decref(j);

		f = open_memstream(&out, &out_len);
		assert_non_null(f);
		dcap_quote_print(f, &q);
		fclose(f);
		snprintf(row, sizeof(row), "\n  fmspc                  %s\n", e->fmspc);
		assert_non_null(strstr(out, "\nPCK certificate\n"));
		assert_non_null(strstr(out, row));
		free(out);

		/* an unreadable certificate (a character that is not base64) is reported, not fatal */
		for (size_t k = 0; k + 30 < q.cert_data_len; k++) {
			if (memcmp(q.cert_data + k, "-----BEGIN CERTIFICATE-----\n", 28) == 0) {
				buf[(size_t)(q.cert_data - buf) + k + 28 + 40] = '!';
				break;
			}
		}
		assert_int_equal(dcap_quote_parse(&q, buf, len), TEELIZA_OK);
		assert_int_equal(dcap_quote_to_json(&j, &q), TEELIZA_OK);
		pck = json_object_get(j, "pck_certificate");
		assert_non_null(json_string_value(json_object_get(pck, "error")));
		assert_null(json_object_get(pck, "fmspc"));
		json_decref(j);
		free(buf);
	}
}

static void test_pck_vectors(void **state)
{
	size_t i;

	(void)state;
	for (i = 0; i < sizeof(pck_expected) / sizeof(pck_expected[0]); i++) {
		const struct pck_expect *e = &pck_expected[i];
		uint8_t *buf;
		STACK_OF(X509) *chain = chain_of(e->quote, &buf);
		dcap_pck_ext ext;
		char cn[128];

		assert_int_equal(sk_X509_num(chain), 3);
		X509_NAME_get_text_by_NID(X509_get_subject_name(sk_X509_value(chain, 0)), NID_commonName, cn, sizeof(cn));
		assert_string_equal(cn, "Intel SGX PCK Certificate");
		X509_NAME_get_text_by_NID(X509_get_subject_name(sk_X509_value(chain, 2)), NID_commonName, cn, sizeof(cn));
		assert_string_equal(cn, "Intel SGX Root CA");
		assert_int_equal(dcap_pck_ext_parse(&ext, sk_X509_value(chain, 0)), TEELIZA_OK);
		if (e->ppid != NULL) {
			assert_hex_equal(ext.ppid, 16, e->ppid);
			assert_hex_equal(ext.cpusvn, 16, e->cpusvn);
			/* every vector's comp SVNs 1..16 equal its CPUSVN bytes (asn1parse .2.1-.2.16) */
			assert_hex_equal(ext.comp_svn, 16, e->cpusvn);
			assert_int_equal(ext.pcesvn, e->pcesvn);
			assert_hex_equal(ext.pceid, 2, "0000");
			assert_hex_equal(ext.fmspc, 6, e->fmspc);
			assert_int_equal(ext.sgx_type, e->sgx_type);
			assert_int_equal(ext.has_platform_instance_id, e->instance != NULL);
			if (e->instance != NULL)
				assert_hex_equal(ext.platform_instance_id, 16, e->instance);
			assert_int_equal(ext.has_configuration, e->dynamic_platform >= 0);
			assert_int_equal(ext.dynamic_platform, e->dynamic_platform);
			assert_int_equal(ext.cached_keys, e->cached_keys);
			assert_int_equal(ext.smt_enabled, e->smt_enabled);
		}
		/* intermediate and root CAs carry no SGX extension */
		assert_int_equal(dcap_pck_ext_parse(&ext, sk_X509_value(chain, 1)), TEELIZA_ERR_NOT_FOUND);
		assert_int_equal(dcap_pck_ext_parse(&ext, sk_X509_value(chain, 2)), TEELIZA_ERR_NOT_FOUND);
		assert_true(all_zero((const uint8_t *)&ext, sizeof(ext)));
		sk_X509_pop_free(chain, X509_free);
		free(buf);
	}
}

/* The SGX extension value of the dcapqvl-tdx_quote leaf. Caller frees. */
static uint8_t *tdx_ext_der(size_t *len)
{
	uint8_t *buf, *out;
	STACK_OF(X509) *chain = chain_of("dcapqvl-tdx_quote", &buf);
	ASN1_OBJECT *oid = OBJ_txt2obj(DCAP_SGX_EXT_OID, 1);
	X509 *leaf = sk_X509_value(chain, 0);
	int idx = X509_get_ext_by_OBJ(leaf, oid, -1);
	const ASN1_OCTET_STRING *v;

	assert_true(idx >= 0);
	v = X509_EXTENSION_get_data(X509_get_ext(leaf, idx));
	*len = (size_t)ASN1_STRING_length(v);
	out = malloc(*len);
	assert_non_null(out);
	memcpy(out, ASN1_STRING_get0_data(v), *len);
	ASN1_OBJECT_free(oid);
	sk_X509_pop_free(chain, X509_free);
	free(buf);
	return out;
}

static uint8_t *find_bytes(uint8_t *hay, size_t n, const char *hex)
{
	size_t k, i;
	uint8_t *needle = hex_alloc(hex, &k);

	for (i = 0; i + k <= n; i++) {
		if (memcmp(hay + i, needle, k) == 0) {
			free(needle);
			return hay + i;
		}
	}
	fail_msg("pattern %s not found", hex);
	return NULL;
}

/* Re-wrap entries (the outer SEQUENCE's content) in a SEQUENCE with a 2-byte length. */
static teeliza_err parse_rewrapped(const uint8_t *content, size_t n, const char *extra_hex)
{
	size_t k = 0, total;
	uint8_t *extra = extra_hex ? hex_alloc(extra_hex, &k) : NULL;
	uint8_t *der;
	dcap_pck_ext ext;
	teeliza_err err;

	total = n + k;
	assert_true(total >= 0x100 && total <= 0xffff);
	der = malloc(4 + total);
	assert_non_null(der);
	der[0] = 0x30;
	der[1] = 0x82;
	der[2] = (uint8_t)(total >> 8);
	der[3] = (uint8_t)total;
	memcpy(der + 4, content, n);
	if (k)
		memcpy(der + 4 + n, extra, k);
	err = dcap_pck_ext_parse_der(&ext, der, 4 + total);
	if (err)
		assert_true(all_zero((const uint8_t *)&ext, sizeof(ext)));
	free(der);
	free(extra);
	return err;
}

#define SGX_OID_HEX "2a864886f84d010d01"
#define FMSPC_ENTRY "3014060a" SGX_OID_HEX "04" "0406b0c06f000000"

static void test_pck_ext_der(void **state)
{
	size_t len, n;
	uint8_t *der = tdx_ext_der(&len), *content, *fmspc, *p;
	guarded g;
	dcap_pck_ext ext;

	(void)state;
	assert_int_equal(dcap_pck_ext_parse_der(&ext, der, len), TEELIZA_OK);
	assert_hex_equal(ext.fmspc, 6, "b0c06f000000");

	/* every truncation fails, reading nothing past the end */
	guarded_init(&g, len);
	for (n = 0; n < len; n++)
		assert_int_equal(dcap_pck_ext_parse_der(&ext, guarded_place(&g, der, n), n), TEELIZA_ERR_PARSE);
	guarded_free(&g);

	/* der is 30 82 02 26 <550 bytes of entries> */
	assert_int_equal(der[0], 0x30);
	assert_int_equal(der[1], 0x82);
	assert_int_equal(len, 4 + 0x226);
	content = der + 4;
	n = len - 4;
	assert_int_equal(parse_rewrapped(content, n, NULL), TEELIZA_OK);
	/* entries with OIDs we do not know are skipped */
	assert_int_equal(parse_rewrapped(content, n, "3006" "06022a03" "0500"), TEELIZA_OK);
	assert_int_equal(parse_rewrapped(content, n, "300f060a" SGX_OID_HEX "63" "0101ff"), TEELIZA_OK);
	/* a second FMSPC */
	assert_err_contains(parse_rewrapped(content, n, FMSPC_ENTRY), TEELIZA_ERR_PARSE, "FMSPC appears twice");
	/* an entry with three elements */
	assert_err_contains(parse_rewrapped(content, n, "3008" "06022a03" "0500" "0500"), TEELIZA_ERR_PARSE,
	                    "more than an OID and a value");
	/* an entry that is not a SEQUENCE */
	assert_err_contains(parse_rewrapped(content, n, "0500"), TEELIZA_ERR_PARSE, "expected DER tag 0x30");
	/* FMSPC removed */
	fmspc = find_bytes(content, n, FMSPC_ENTRY);
	{
		size_t before = (size_t)(fmspc - content), elen = 22;
		uint8_t *cut = malloc(n);

		assert_non_null(cut);
		memcpy(cut, content, before);
		memcpy(cut + before, fmspc + elen, n - before - elen);
		assert_err_contains(parse_rewrapped(cut, n - elen, NULL), TEELIZA_ERR_PARSE, "FMSPC is missing");
		/* ...and put back with 5 bytes */
		assert_err_contains(parse_rewrapped(cut, n - elen, "3013060a" SGX_OID_HEX "04" "0405b0c06f0000"),
		                    TEELIZA_ERR_PARSE, "FMSPC: 5 bytes, expected 6");
		/* ...or as an INTEGER */
		assert_err_contains(parse_rewrapped(cut, n - elen, "3014060a" SGX_OID_HEX "04" "0206b0c06f000000"),
		                    TEELIZA_ERR_PARSE, "FMSPC has DER tag 0x02");
		free(cut);
	}

	/* in-place value changes (same lengths) */
	p = find_bytes(der, len, "060b" SGX_OID_HEX "0211" "0201") + 15; /* PCESVN value byte */
	assert_int_equal(*p, 0x0b);
	*p = 0x8b;
	assert_err_contains(dcap_pck_ext_parse_der(&ext, der, len), TEELIZA_ERR_PARSE, "PCESVN: negative integer");
	*p = 0x0b;
	p = find_bytes(der, len, "060b" SGX_OID_HEX "0203" "0201") + 13; /* comp 3: INTEGER -> OCTET STRING */
	*p = 0x04;
	assert_err_contains(dcap_pck_ext_parse_der(&ext, der, len), TEELIZA_ERR_PARSE, "TCB entry 3 is not an INTEGER");
	*p = 0x02;
	p = find_bytes(der, len, "060b" SGX_OID_HEX "0205" "0201") + 12; /* comp 5 -> a second comp 4 */
	*p = 0x04;
	assert_err_contains(dcap_pck_ext_parse_der(&ext, der, len), TEELIZA_ERR_PARSE, "TCB entry appears twice");
	*p = 0x13; /* comp 5 -> unknown arc 19: skipped, so comp 5 is missing */
	assert_err_contains(dcap_pck_ext_parse_der(&ext, der, len), TEELIZA_ERR_PARSE, "TCB entry 5 (component SVN) is missing");
	*p = 0x05;
	p = find_bytes(der, len, "060b" SGX_OID_HEX "0702" "0101") + 15; /* cachedKeys BOOLEAN value */
	assert_int_equal(*p, 0xff);
	*p = 0x01;
	assert_err_contains(dcap_pck_ext_parse_der(&ext, der, len), TEELIZA_ERR_PARSE, "not a DER BOOLEAN");
	*p = 0xff;
	assert_int_equal(dcap_pck_ext_parse_der(&ext, der, len), TEELIZA_OK);

	/* length encodings */
	{
		uint8_t bad[8];

		memcpy(bad, "\x30\x80\x00\x00", 4);
		assert_err_contains(dcap_pck_ext_parse_der(&ext, bad, 4), TEELIZA_ERR_PARSE, "indefinite");
		memcpy(bad, "\x30\x81\x02\x05\x00", 5);
		assert_err_contains(dcap_pck_ext_parse_der(&ext, bad, 5), TEELIZA_ERR_PARSE, "non-minimal");
		memcpy(bad, "\x30\x82\x00\x02\x05\x00", 6);
		assert_err_contains(dcap_pck_ext_parse_der(&ext, bad, 6), TEELIZA_ERR_PARSE, "non-minimal");
		memcpy(bad, "\x30\x84\xff\xff\xff\xff\x05\x00", 8);
		assert_err_contains(dcap_pck_ext_parse_der(&ext, bad, 8), TEELIZA_ERR_PARSE, "runs past");
		memcpy(bad, "\x30\x88\x01\x00\x00\x00\x00\x00", 8);
		assert_err_contains(dcap_pck_ext_parse_der(&ext, bad, 8), TEELIZA_ERR_PARSE, "bad DER length");
		memcpy(bad, "\x3f\x01\x00", 3);
		assert_err_contains(dcap_pck_ext_parse_der(&ext, bad, 3), TEELIZA_ERR_PARSE, "multi-byte");
		memcpy(bad, "\x30\x00", 2);
		assert_err_contains(dcap_pck_ext_parse_der(&ext, bad, 2), TEELIZA_ERR_PARSE, "PPID is missing");
	}
	/* bytes after the outer SEQUENCE */
	p = malloc(len + 2);
	assert_non_null(p);
	memcpy(p, der, len);
	memcpy(p + len, "\x05\x00", 2);
	assert_err_contains(dcap_pck_ext_parse_der(&ext, p, len + 2), TEELIZA_ERR_PARSE, "after the outer SEQUENCE");
	free(p);
	free(der);
}

/* A small DER writer for building SGX extensions with chosen values. */
typedef struct dbuf {
	uint8_t b[4096];
	size_t n;
} dbuf;

static void d_raw(dbuf *d, const void *p, size_t n)
{
	assert_true(d->n + n <= sizeof(d->b));
	if (n > 0)
		memcpy(d->b + d->n, p, n);
	d->n += n;
}

static void d_tlv(dbuf *d, uint8_t tag, const uint8_t *v, size_t n)
{
	uint8_t h[4];
	size_t k = 0;

	h[k++] = tag;
	if (n < 0x80) {
		h[k++] = (uint8_t)n;
	} else if (n < 0x100) {
		h[k++] = 0x81;
		h[k++] = (uint8_t)n;
	} else {
		h[k++] = 0x82;
		h[k++] = (uint8_t)(n >> 8);
		h[k++] = (uint8_t)n;
	}
	d_raw(d, h, k);
	d_raw(d, v, n);
}

static void d_hex(dbuf *d, uint8_t tag, const char *hex)
{
	size_t n = 0;
	uint8_t *v = hex[0] ? hex_alloc(hex, &n) : NULL;

	d_tlv(d, tag, v, n);
	free(v);
}

/* SEQUENCE { OID 1.2.840.113741.1.13.1.<arcs>, value } with value already encoded */
static void d_entry(dbuf *d, const char *arcs_hex, const dbuf *value)
{
	dbuf s = { .n = 0 };
	char oid[64];

	snprintf(oid, sizeof(oid), "%s%s", SGX_OID_HEX, arcs_hex);
	d_hex(&s, 0x06, oid);
	d_raw(&s, value->b, value->n);
	d_tlv(d, 0x30, s.b, s.n);
}

typedef struct ext_spec {
	const char *comp[16]; /* INTEGER contents, hex */
	const char *pcesvn;
	const char *sgx_type;
	bool instance;
	bool config;
	const char *config_entries; /* encoded entries inside the configuration SEQUENCE */
	const char *extra_entry;    /* arcs hex of an additional top-level entry holding NULL */
} ext_spec;

static ext_spec spec_default(void)
{
	static const char *const hex[16] = { "01", "02", "03", "04", "05", "06", "07", "08",
	                                     "09", "0a", "0b", "0c", "0d", "0e", "0f", "10" };
	ext_spec s = { .pcesvn = "0d", .sgx_type = "02", .instance = true, .config = true,
	               .config_entries = "" };

	memcpy(s.comp, hex, sizeof(s.comp));
	return s;
}

static void build_ext(dbuf *out, const ext_spec *s)
{
	dbuf top = { .n = 0 }, v = { .n = 0 }, tcb = { .n = 0 };
	char arcs[8];
	int k;

	d_hex(&v, 0x04, "00112233445566778899aabbccddeeff");
	d_entry(&top, "01", &v);
	for (k = 1; k <= 16; k++) {
		v.n = 0;
		d_hex(&v, 0x02, s->comp[k - 1]);
		snprintf(arcs, sizeof(arcs), "02%02x", k);
		d_entry(&tcb, arcs, &v);
	}
	v.n = 0;
	d_hex(&v, 0x02, s->pcesvn);
	d_entry(&tcb, "0211", &v);
	v.n = 0;
	d_hex(&v, 0x04, "f0e0d0c0b0a090807060504030201000");
	d_entry(&tcb, "0212", &v);
	v.n = 0;
	d_tlv(&v, 0x30, tcb.b, tcb.n);
	d_entry(&top, "02", &v);
	v.n = 0;
	d_hex(&v, 0x04, "1234");
	d_entry(&top, "03", &v);
	v.n = 0;
	d_hex(&v, 0x04, "30606a000000");
	d_entry(&top, "04", &v);
	v.n = 0;
	d_hex(&v, 0x0a, s->sgx_type);
	d_entry(&top, "05", &v);
	if (s->instance) {
		v.n = 0;
		d_hex(&v, 0x04, "a5a5a5a5a5a5a5a5a5a5a5a5a5a5a5a5");
		d_entry(&top, "06", &v);
	}
	if (s->config) {
		v.n = 0;
		d_hex(&v, 0x30, s->config_entries);
		d_entry(&top, "07", &v);
	}
	if (s->extra_entry) {
		v.n = 0;
		d_hex(&v, 0x05, "");
		d_entry(&top, s->extra_entry, &v);
	}
	out->n = 0;
	d_tlv(out, 0x30, top.b, top.n);
}

static teeliza_err parse_spec(dcap_pck_ext *ext, const ext_spec *s)
{
	dbuf d;

	build_ext(&d, s);
	return dcap_pck_ext_parse_der(ext, d.b, d.n);
}

/* configuration entry k (7.k) = BOOLEAN b */
#define CFG(k, b) "3010060b" SGX_OID_HEX "07" k "0101" b

static void test_pck_ext_values(void **state)
{
	ext_spec s;
	dcap_pck_ext ext;
	int k;

	(void)state;
	s = spec_default();
	assert_int_equal(parse_spec(&ext, &s), TEELIZA_OK);
	for (k = 0; k < 16; k++)
		assert_int_equal(ext.comp_svn[k], k + 1);
	assert_hex_equal(ext.ppid, 16, "00112233445566778899aabbccddeeff");
	assert_hex_equal(ext.cpusvn, 16, "f0e0d0c0b0a090807060504030201000");
	assert_int_equal(ext.pcesvn, 13);
	assert_hex_equal(ext.pceid, 2, "1234");
	assert_hex_equal(ext.fmspc, 6, "30606a000000");
	assert_int_equal(ext.sgx_type, DCAP_SGX_TYPE_SCALABLE_WITH_INTEGRITY);
	assert_true(ext.has_platform_instance_id);
	assert_hex_equal(ext.platform_instance_id, 16, "a5a5a5a5a5a5a5a5a5a5a5a5a5a5a5a5");
	/* an empty configuration: present, every entry absent */
	assert_true(ext.has_configuration);
	assert_int_equal(ext.dynamic_platform, -1);
	assert_int_equal(ext.cached_keys, -1);
	assert_int_equal(ext.smt_enabled, -1);

	s.config_entries = CFG("03", "ff") CFG("01", "00");
	assert_int_equal(parse_spec(&ext, &s), TEELIZA_OK);
	assert_int_equal(ext.dynamic_platform, 0);
	assert_int_equal(ext.cached_keys, -1);
	assert_int_equal(ext.smt_enabled, 1);
	s.config_entries = CFG("03", "ff") CFG("03", "00");
	assert_err_contains(parse_spec(&ext, &s), TEELIZA_ERR_PARSE, "a configuration entry appears twice");
	s.config_entries = CFG("02", "00") "3006" "06022a03" "0500";
	assert_int_equal(parse_spec(&ext, &s), TEELIZA_OK);
	assert_int_equal(ext.cached_keys, 0);
	s.config_entries = "0500";
	assert_err_contains(parse_spec(&ext, &s), TEELIZA_ERR_PARSE, "configuration entry: expected DER tag 0x30");

	s = spec_default();
	s.instance = false;
	s.config = false;
	assert_int_equal(parse_spec(&ext, &s), TEELIZA_OK);
	assert_false(ext.has_platform_instance_id);
	assert_false(ext.has_configuration);
	assert_int_equal(ext.smt_enabled, -1);
	/* a multi-byte arc under the SGX OID is someone else's entry */
	s.extra_entry = "8101";
	assert_int_equal(parse_spec(&ext, &s), TEELIZA_OK);
	s.extra_entry = "0201"; /* but a TCB component OID at the top level is not ours either */
	assert_int_equal(parse_spec(&ext, &s), TEELIZA_OK);

	/* INTEGER rules: minimal, non-negative, in range */
	s = spec_default();
	s.comp[0] = "00ff";
	assert_int_equal(parse_spec(&ext, &s), TEELIZA_OK);
	assert_int_equal(ext.comp_svn[0], 255);
	s.comp[0] = "0100";
	assert_err_contains(parse_spec(&ext, &s), TEELIZA_ERR_PARSE, "TCB component SVN: value 256 above 255");
	s.comp[0] = "0001";
	assert_err_contains(parse_spec(&ext, &s), TEELIZA_ERR_PARSE, "non-minimal integer");
	s.comp[0] = "";
	assert_err_contains(parse_spec(&ext, &s), TEELIZA_ERR_PARSE, "integer of 0 bytes");
	s.comp[0] = "00000001";
	assert_err_contains(parse_spec(&ext, &s), TEELIZA_ERR_PARSE, "integer of 4 bytes");
	s.comp[0] = "ff";
	assert_err_contains(parse_spec(&ext, &s), TEELIZA_ERR_PARSE, "negative integer");
	s = spec_default();
	s.pcesvn = "00ffff";
	assert_int_equal(parse_spec(&ext, &s), TEELIZA_OK);
	assert_int_equal(ext.pcesvn, 65535);
	s.pcesvn = "010000";
	assert_err_contains(parse_spec(&ext, &s), TEELIZA_ERR_PARSE, "PCESVN: value 65536 above 65535");
	s = spec_default();
	s.sgx_type = "80";
	assert_err_contains(parse_spec(&ext, &s), TEELIZA_ERR_PARSE, "SGX type: negative integer");
	s.sgx_type = "05"; /* unknown types are kept for the verifier to judge */
	assert_int_equal(parse_spec(&ext, &s), TEELIZA_OK);
	assert_int_equal(ext.sgx_type, 5);
}

/* dcap_pck_ext_parse on certificates built here: the extension's absence, presence, duplication. */
static void test_pck_ext_in_certificate(void **state)
{
	ext_spec s = spec_default();
	dbuf d;
	X509 *cert = X509_new();
	ASN1_OBJECT *oid = OBJ_txt2obj(DCAP_SGX_EXT_OID, 1);
	ASN1_OCTET_STRING *value = ASN1_OCTET_STRING_new();
	X509_EXTENSION *ext_obj;
	dcap_pck_ext ext;

	(void)state;
	assert_non_null(cert);
	assert_non_null(oid);
	assert_non_null(value);
	assert_err_contains(dcap_pck_ext_parse(&ext, cert), TEELIZA_ERR_NOT_FOUND, "no SGX extension");
	build_ext(&d, &s);
	assert_int_equal(ASN1_OCTET_STRING_set(value, d.b, (int)d.n), 1);
	ext_obj = X509_EXTENSION_create_by_OBJ(NULL, oid, 0, value);
	assert_non_null(ext_obj);
	assert_int_equal(X509_add_ext(cert, ext_obj, -1), 1);
	assert_int_equal(dcap_pck_ext_parse(&ext, cert), TEELIZA_OK);
	assert_hex_equal(ext.fmspc, 6, "30606a000000");
	assert_int_equal(X509_add_ext(cert, ext_obj, -1), 1);
	assert_err_contains(dcap_pck_ext_parse(&ext, cert), TEELIZA_ERR_PARSE, "SGX extension twice");
	assert_true(all_zero((const uint8_t *)&ext, sizeof(ext)));
	X509_EXTENSION_free(ext_obj);
	ASN1_OCTET_STRING_free(value);
	ASN1_OBJECT_free(oid);
	X509_free(cert);
}

/* PEM text of one block with the given label/headers around data. Caller frees. */
static char *pem_block(const char *label, const char *header, const uint8_t *data, size_t n, size_t *out_len)
{
	BIO *b = BIO_new(BIO_s_mem());
	char *p, *out;
	long k;

	assert_non_null(b);
	assert_true(PEM_write_bio(b, label, header, data, (long)n) > 0);
	k = BIO_get_mem_data(b, &p);
	out = malloc((size_t)k + 1);
	assert_non_null(out);
	memcpy(out, p, (size_t)k);
	out[k] = '\0';
	*out_len = (size_t)k;
	BIO_free(b);
	return out;
}

static void test_pem_chain_bad(void **state)
{
	uint8_t *buf, *leaf_der = NULL, *big;
	STACK_OF(X509) *chain = chain_of("dcapqvl-tdx_quote", &buf);
	STACK_OF(X509) *got = NULL;
	int der_len = i2d_X509(sk_X509_value(chain, 0), &leaf_der);
	char *pem, *many;
	size_t pem_len, i;

	(void)state;
	assert_true(der_len > 0);
	sk_X509_pop_free(chain, X509_free);

	assert_err_contains(dcap_pem_chain_parse(&got, (const uint8_t *)"", 0), TEELIZA_ERR_PARSE, "no certificate");
	assert_null(got);
	assert_err_contains(dcap_pem_chain_parse(&got, (const uint8_t *)"\0\0\n", 3), TEELIZA_ERR_PARSE,
	                    "no certificate");
	assert_err_contains(dcap_pem_chain_parse(&got, (const uint8_t *)"garbage", 7), TEELIZA_ERR_PARSE,
	                    "not valid PEM");

	/* a single certificate is fine, and so are trailing whitespace and NULs */
	pem = pem_block("CERTIFICATE", "", leaf_der, (size_t)der_len, &pem_len);
	assert_int_equal(dcap_pem_chain_parse(&got, (const uint8_t *)pem, pem_len), TEELIZA_OK);
	assert_int_equal(sk_X509_num(got), 1);
	sk_X509_pop_free(got, X509_free);
	big = malloc(pem_len + 16);
	assert_non_null(big);
	memcpy(big, pem, pem_len);
	memcpy(big + pem_len, "\r\n \t\0\0", 6);
	assert_int_equal(dcap_pem_chain_parse(&got, big, pem_len + 6), TEELIZA_OK);
	sk_X509_pop_free(got, X509_free);
	memcpy(big + pem_len, "junk", 4);
	assert_err_contains(dcap_pem_chain_parse(&got, big, pem_len + 4), TEELIZA_ERR_PARSE,
	                    "certificate 2 is not valid PEM");
	assert_null(got);
	/* Text before a block is refused, not skipped (PEM_read_bio alone skips it, block and all, when it shares
	 * the BEGIN line: the reader then saw another leaf than the verifier). Blanks and NULs before it are fine. */
	memcpy(big, "\0\t", 2);
	memcpy(big + 2, pem, pem_len);
	assert_int_equal(dcap_pem_chain_parse(&got, big, pem_len + 2), TEELIZA_OK);
	assert_int_equal(sk_X509_num(got), 1);
	sk_X509_pop_free(got, X509_free);
	memcpy(big, "x\n", 2);
	assert_err_contains(dcap_pem_chain_parse(&got, big, pem_len + 2), TEELIZA_ERR_PARSE,
	                    "certificate 1 is not valid PEM (text before its BEGIN line)");
	assert_null(got);
	memcpy(big, "x-", 2);
	assert_err_contains(dcap_pem_chain_parse(&got, big, pem_len + 2), TEELIZA_ERR_PARSE, "text before");
	{
		/* The fuzzer's case: a stray byte on the first BEGIN line, a second certificate behind it. */
		uint8_t *two = malloc(2 * pem_len + 2);
		STACK_OF(X509) *strict = NULL;

		assert_non_null(two);
		two[0] = 'x';
		memcpy(two + 1, pem, pem_len);
		memcpy(two + 1 + pem_len, pem, pem_len);
		assert_err_contains(dcap_pem_chain_parse(&got, two, 2 * pem_len + 1), TEELIZA_ERR_PARSE, "text before");
		assert_int_equal(dcap_pem_chain(&strict, (const char *)two, 2 * pem_len + 1, "chain"), TEELIZA_ERR_PARSE);
		free(two);
	}
	memcpy(big, pem, pem_len);
	/* cut inside the base64 */
	assert_err_contains(dcap_pem_chain_parse(&got, big, pem_len / 2), TEELIZA_ERR_PARSE, "not valid PEM");
	/* a damaged base64 character */
	memcpy(big, pem, pem_len);
	big[40] = '*';
	assert_int_equal(dcap_pem_chain_parse(&got, big, pem_len), TEELIZA_ERR_PARSE);
	free(big);
	free(pem);

	pem = pem_block("PRIVATE KEY", "", leaf_der, (size_t)der_len, &pem_len);
	assert_err_contains(dcap_pem_chain_parse(&got, (const uint8_t *)pem, pem_len), TEELIZA_ERR_PARSE,
	                    "labelled \"PRIVATE KEY\"");
	free(pem);
	pem = pem_block("CERTIFICATE", "Proc-Type: 4,ENCRYPTED\n", leaf_der, (size_t)der_len, &pem_len);
	assert_err_contains(dcap_pem_chain_parse(&got, (const uint8_t *)pem, pem_len), TEELIZA_ERR_PARSE,
	                    "PEM headers");
	free(pem);
	pem = pem_block("CERTIFICATE", "", leaf_der, (size_t)der_len - 1, &pem_len);
	assert_err_contains(dcap_pem_chain_parse(&got, (const uint8_t *)pem, pem_len), TEELIZA_ERR_PARSE,
	                    "not a valid DER certificate");
	free(pem);
	big = malloc((size_t)der_len + 1);
	assert_non_null(big);
	memcpy(big, leaf_der, (size_t)der_len);
	big[der_len] = 0;
	pem = pem_block("CERTIFICATE", "", big, (size_t)der_len + 1, &pem_len);
	assert_err_contains(dcap_pem_chain_parse(&got, (const uint8_t *)pem, pem_len), TEELIZA_ERR_PARSE,
	                    "1 bytes after its DER");
	free(big);
	free(pem);

	/* more certificates than a chain can need */
	pem = pem_block("CERTIFICATE", "", leaf_der, (size_t)der_len, &pem_len);
	many = malloc(pem_len * (DCAP_PEM_CHAIN_MAX_CERTS + 1));
	assert_non_null(many);
	for (i = 0; i < DCAP_PEM_CHAIN_MAX_CERTS + 1; i++)
		memcpy(many + i * pem_len, pem, pem_len);
	assert_int_equal(dcap_pem_chain_parse(&got, (const uint8_t *)many, pem_len * DCAP_PEM_CHAIN_MAX_CERTS),
	                 TEELIZA_OK);
	assert_int_equal(sk_X509_num(got), DCAP_PEM_CHAIN_MAX_CERTS);
	sk_X509_pop_free(got, X509_free);
	assert_err_contains(dcap_pem_chain_parse(&got, (const uint8_t *)many, pem_len * (DCAP_PEM_CHAIN_MAX_CERTS + 1)),
	                    TEELIZA_ERR_TOO_LARGE, "more than 8 certificates");
	assert_null(got);
	free(many);
	free(pem);
	OPENSSL_free(leaf_der);
	free(buf);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_tdx_v4),
		cmocka_unit_test(test_tdx_v4_hex_vectors),
		cmocka_unit_test(test_sgx_v3),
		cmocka_unit_test(test_v5_vectors),
		cmocka_unit_test(test_gotdx_spr),
		cmocka_unit_test(test_eliza_simulator_quote),
		cmocka_unit_test(test_json),
		cmocka_unit_test(test_print),
		cmocka_unit_test(test_truncations),
		cmocka_unit_test(test_bad_lengths_v4),
		cmocka_unit_test(test_bad_lengths_v3),
		cmocka_unit_test(test_undersized_structures),
		cmocka_unit_test(test_header_checks),
		cmocka_unit_test(test_v5_descriptor),
		cmocka_unit_test(test_synthetic_layouts),
		cmocka_unit_test(test_trailing_bytes),
		cmocka_unit_test(test_pck_vectors),
		cmocka_unit_test(test_pck_in_quote_view),
		cmocka_unit_test(test_pck_ext_der),
		cmocka_unit_test(test_pck_ext_values),
		cmocka_unit_test(test_pck_ext_in_certificate),
		cmocka_unit_test(test_pem_chain_bad),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
