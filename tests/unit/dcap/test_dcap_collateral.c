/*
 * Collateral parsing: the dcap-qvl JSON form, its strict outer reader, the
 * TCB Info and QE Identity schemas, and tampering with Intel's real
 * collateral (which must fail at the right check).
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <cmocka.h>

#include "testutil.h"
#include "teeliza/common/common.h"
#include "teeliza/dcap/verify.h"
#include "teeliza/common/encoding.h"
#include "dcap/verify_internal.h"

#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define TDX_NOW 1752919234

static void assert_contains(const char *hay, const char *needle)
{
	if (strstr(hay, needle) == NULL)
		fail_msg("\"%s\" does not contain \"%s\"", hay, needle);
}

static json_t *intel_json(void)
{
	return vector_json("dcapqvl-tdx_quote_collateral.json");
}

static char *dump(json_t *j)
{
	char *s = json_dumps(j, JSON_COMPACT | JSON_PRESERVE_ORDER);

	assert_non_null(s);
	return s;
}

static teeliza_err parse_text(const char *s, size_t len)
{
	dcap_collateral *c = NULL;
	teeliza_err err = dcap_collateral_parse_json(&c, s, len);

	if (err == TEELIZA_OK)
		assert_non_null(c);
	else
		assert_null(c);
	dcap_collateral_free(c);
	return err;
}

/* Parse j; returns the error and leaves the message in teeliza_errmsg(). */
static teeliza_err parse(json_t *j)
{
	char *s = dump(j);
	teeliza_err err = parse_text(s, strlen(s));

	free(s);
	return err;
}

/* Verify the TDX vector with collateral j at TDX_NOW; the reason goes to reason. */
static dcap_failure verify_with(json_t *j, char *reason, size_t cap)
{
	char *s = dump(j);
	dcap_collateral *c;
	dcap_result r;
	size_t qlen;
	uint8_t *quote = vector_read("dcapqvl-tdx_quote", &qlen);
	teeliza_err err;

	if (dcap_collateral_parse_json(&c, s, strlen(s)) != TEELIZA_OK)
		fail_msg("collateral does not parse: %s", teeliza_errmsg());
	err = dcap_verify(&r, quote, qlen, c, TDX_NOW, NULL, NULL);
	assert_int_equal(err == TEELIZA_OK, r.verdict == DCAP_VERDICT_TRUSTED);
	snprintf(reason, cap, "%s", r.reason);
	dcap_collateral_free(c);
	free(quote);
	free(s);
	return r.failure;
}

/* Replace the first occurrence of from in j[key] (a string) by to. */
static void edit(json_t *j, const char *key, const char *from, const char *to)
{
	const char *s = json_string_value(json_object_get(j, key));
	const char *at;
	char *out;

	assert_non_null(s);
	at = strstr(s, from);
	assert_non_null(at);
	out = malloc(strlen(s) + strlen(to) + 1);
	memcpy(out, s, (size_t)(at - s));
	memcpy(out + (at - s), to, strlen(to));
	memcpy(out + (at - s) + strlen(to), at + strlen(from), strlen(at + strlen(from)) + 1);
	json_object_set_new(j, key, json_string(out));
	free(out);
}

static void test_intel_vectors_parse(void **state)
{
	static const char *const names[] = {
		"dcapqvl-tdx_quote_collateral.json", "dcapqvl-sgx_quote_collateral.json",
		"dcapqvl-tdx_quote_outdated_collateral.json", "gotdx-tdx_prod_quote_SPR_E4_collateral.json",
	};
	dcap_collateral *c;
	dcap_collateral_info info;
	size_t i, len;
	char *s;

	(void)state;
	for (i = 0; i < 4; i++) {
		s = (char *)vector_read(names[i], &len);
		assert_int_equal(dcap_collateral_parse_json(&c, s, len), TEELIZA_OK);
		dcap_collateral_get_info(&info, c);
		assert_true(info.not_before < info.not_after);
		assert_int_equal(info.tdx, i != 1);
		dcap_collateral_free(c);
		free(s);
	}
	s = (char *)vector_read(names[0], &len);
	assert_int_equal(dcap_collateral_parse_json(&c, s, len), TEELIZA_OK);
	dcap_collateral_get_info(&info, c);
	assert_hex_equal(info.fmspc, 6, "b0c06f000000");
	assert_int_equal(info.tcb_info_version, 3);
	assert_int_equal(info.tcb_eval_number, 17);
	assert_int_equal(info.not_before, 1750329147); /* QE Identity issueDate */
	assert_int_equal(info.not_after, 1752919235);  /* PCK CRL nextUpdate */
	dcap_collateral_free(c);
	free(s);
}

static void test_missing_and_mistyped_fields(void **state)
{
	static const char *const required[] = {
		"pck_crl_issuer_chain", "root_ca_crl", "pck_crl", "tcb_info_issuer_chain", "tcb_info",
		"tcb_info_signature", "qe_identity_issuer_chain", "qe_identity", "qe_identity_signature",
	};
	json_t *j;
	size_t i;

	(void)state;
	for (i = 0; i < sizeof(required) / sizeof(required[0]); i++) {
		j = intel_json();
		json_object_del(j, required[i]);
		assert_int_equal(parse(j), TEELIZA_ERR_PARSE);
		assert_contains(teeliza_errmsg(), required[i]);
		json_object_set_new(j, required[i], json_integer(5));
		assert_int_equal(parse(j), TEELIZA_ERR_PARSE);
		json_object_set_new(j, required[i], json_string(""));
		assert_int_equal(parse(j), TEELIZA_ERR_PARSE);
		json_object_set_new(j, required[i], json_null());
		assert_int_equal(parse(j), TEELIZA_ERR_PARSE);
		json_decref(j);
	}
	/* optional pck_certificate_chain: null is fine, garbage is not */
	j = intel_json();
	json_object_set_new(j, "pck_certificate_chain", json_null());
	assert_int_equal(parse(j), TEELIZA_OK);
	json_object_set_new(j, "pck_certificate_chain", json_string("not a PEM"));
	assert_int_equal(parse(j), TEELIZA_ERR_PARSE);
	json_decref(j);
	/* unknown keys are validated and ignored */
	j = intel_json();
	json_object_set_new(j, "comment", json_pack("{s:[i,f,b,n,s]}", "x", 1, 2.5, 1, "y"));
	assert_int_equal(parse(j), TEELIZA_OK);
	json_decref(j);
}

static void test_hex_fields(void **state)
{
	json_t *j = intel_json();
	char *up;
	size_t i;

	(void)state;
	json_object_set_new(j, "root_ca_crl", json_string("30820"));
	assert_int_equal(parse(j), TEELIZA_ERR_PARSE);
	assert_contains(teeliza_errmsg(), "even-length");
	json_object_set_new(j, "root_ca_crl", json_string("zz"));
	assert_int_equal(parse(j), TEELIZA_ERR_PARSE);
	json_decref(j);
	j = intel_json();
	json_object_set_new(j, "tcb_info_signature", json_string("abcd"));
	assert_int_equal(parse(j), TEELIZA_ERR_PARSE);
	assert_contains(teeliza_errmsg(), "64 bytes");
	json_decref(j);
	/* upper-case hex is the same bytes: still verifies */
	j = intel_json();
	up = strdup(json_string_value(json_object_get(j, "pck_crl")));
	for (i = 0; up[i]; i++)
		up[i] = (char)toupper((unsigned char)up[i]);
	json_object_set_new(j, "pck_crl", json_string(up));
	{
		char reason[640];

		assert_int_equal(verify_with(j, reason, sizeof(reason)), DCAP_FAIL_NONE);
	}
	free(up);
	json_decref(j);
}

static void test_outer_json_strictness(void **state)
{
	size_t len;
	char *s = (char *)vector_read("dcapqvl-tdx_quote_collateral.json", &len), *t;

	(void)state;
	assert_int_equal(parse_text(s, len), TEELIZA_OK);
	/* trailing junk */
	t = malloc(len + 8);
	memcpy(t, s, len);
	memcpy(t + len, " x", 2);
	assert_int_equal(parse_text(t, len + 2), TEELIZA_ERR_PARSE);
	assert_contains(teeliza_errmsg(), "data after the object");
	/* a second object */
	memcpy(t + len, "{}", 2);
	assert_int_equal(parse_text(t, len + 2), TEELIZA_ERR_PARSE);
	/* truncated anywhere */
	for (size_t cut = 0; cut < len; cut += 97)
		assert_int_not_equal(parse_text(s, cut), TEELIZA_OK);
	free(t);
	free(s);

	assert_int_equal(parse_text("[]", 2), TEELIZA_ERR_PARSE);
	assert_int_equal(parse_text("", 0), TEELIZA_ERR_PARSE);
	assert_int_equal(parse_text("{}", 2), TEELIZA_ERR_PARSE);
	assert_contains(teeliza_errmsg(), "missing");
	/* duplicate unknown keys, bad literals, unterminated strings, control characters, bad UTF-8 */
	assert_int_equal(parse_text("{\"a\":1,\"a\":2}", 13), TEELIZA_ERR_PARSE);
	assert_contains(teeliza_errmsg(), "duplicate");
	assert_int_equal(parse_text("{\"a\":tru}", 9), TEELIZA_ERR_PARSE);
	assert_int_equal(parse_text("{\"a\":\"x}", 8), TEELIZA_ERR_PARSE);
	assert_int_equal(parse_text("{\"a\":\"\x01\"}", 9), TEELIZA_ERR_PARSE);
	assert_int_equal(parse_text("{\"a\":\"\xc3\x28\"}", 10), TEELIZA_ERR_PARSE);
	assert_int_equal(parse_text("{\"a\":01}", 8), TEELIZA_ERR_PARSE);
	assert_int_equal(parse_text("{\"a\":[1,]}", 10), TEELIZA_ERR_PARSE);
	assert_int_equal(parse_text("{\"a\" 1}", 7), TEELIZA_ERR_PARSE);
	assert_int_equal(parse_text("{\"a\":\"\\ud800\"}", 14), TEELIZA_ERR_PARSE);
	assert_int_equal(parse_text("{\"a\":\"\\u0000\"}", 14), TEELIZA_ERR_PARSE);
	assert_int_equal(parse_text("{\"a\":\"\\q\"}", 10), TEELIZA_ERR_PARSE);
	/* nesting deeper than the limit inside an unknown key */
	{
		char deep[200];
		size_t i, n = 0;

		n += (size_t)snprintf(deep, sizeof(deep), "{\"a\":");
		for (i = 0; i < 40; i++)
			deep[n++] = '[';
		for (i = 0; i < 40; i++)
			deep[n++] = ']';
		deep[n++] = '}';
		assert_int_equal(parse_text(deep, n), TEELIZA_ERR_PARSE);
		assert_contains(teeliza_errmsg(), "nested too deeply");
	}
}

static void test_flat_reader_escapes(void **state)
{
	dcap_flat_field f[2] = {{.name = "a"}, {.name = "b"}};
	const char *text = "{ \"b\" : null , \"a\":\"x\\n\\\"\\u00e9\\ud83d\\ude00\\/\" }";

	(void)state;
	assert_int_equal(dcap_flat_json_parse(f, 2, text, strlen(text), "t"), TEELIZA_OK);
	assert_true(f[0].present);
	assert_string_equal(f[0].value, "x\n\"\xc3\xa9\xf0\x9f\x98\x80/");
	assert_int_equal(f[0].len, strlen("x\n\"\xc3\xa9\xf0\x9f\x98\x80/"));
	assert_true(f[1].present);
	assert_true(f[1].is_null);
	assert_null(f[1].value);
	free(f[0].value);
	/* a known key twice */
	text = "{\"a\":\"1\",\"a\":\"2\"}";
	assert_int_equal(dcap_flat_json_parse(f, 2, text, strlen(text), "t"), TEELIZA_ERR_PARSE);
	assert_null(f[0].value);
}

static void test_tcb_info_schema(void **state)
{
	struct {
		const char *from, *to, *msg;
	} cases[] = {
		{"\"version\":3", "\"version\":2", "not supported for TDX"},
		{"\"id\":\"TDX\"", "\"id\":\"XYZ\"", "neither"},
		{"\"tcbType\":0", "\"tcbType\":1", "tcbType 1"},
		{"\"issueDate\":\"2025-06-19T10:16:03Z\"", "\"issueDate\":\"2025-06-19 10:16:03\"", "ISO 8601"},
		{"\"issueDate\":\"2025-06-19T10:16:03Z\"", "\"issueDate\":\"2025-02-30T10:16:03Z\"", "ISO 8601"},
		{"\"fmspc\":\"B0C06F000000\"", "\"fmspc\":\"B0C06F0000\"", "fmspc"},
		{"\"tcbStatus\":\"UpToDate\"", "\"tcbStatus\":\"Fine\"", "tcbStatus \"Fine\" is not a valid"},
		{"\"tcbStatus\":\"OutOfDate\",\"advisoryIDs\"", "\"tcbStatus\":\"Old\",\"advisoryIDs\"", "not a valid TCB level status"},
		{"{\"svn\":2,\"category\":\"BIOS\",\"type\":\"Early Microcode Update\"},", "", "exactly 16 entries"},
		{"{\"svn\":5,\"category\":\"OS/VMM\",\"type\":\"TDX Module\"}", "{\"svn\":256}", "out of range"},
		{"\"pcesvn\":11", "\"pcesvn\":-1", "out of range"},
		{"\"tdxModule\":{", "\"tdxModuleX\":{", "tdxModule"},
		{"\"isvsvn\":3}", "\"isvsvn\":\"3\"}", "integer"},
		{"\"tcbLevels\":[{\"tcb\":{\"isvsvn\":3}", "\"tcbLevels\":[{\"tcb\":{\"isv\":3}", "isvsvn"},
		{"\"tcbStatus\":\"OutOfDate\",\"advisoryIDs\":[\"INTEL-SA-00106\"",
		 "\"tcbStatus\":\"OutOfDate\",\"advisoryIDs\":[7", "advisoryIDs"},
		{"\"version\":3", "\"version\":3,\"version\":3", "duplicate"},
	};
	size_t i;
	json_t *j;

	(void)state;
	for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		j = intel_json();
		edit(j, "tcb_info", cases[i].from, cases[i].to);
		if (parse(j) == TEELIZA_OK)
			fail_msg("case %zu (%s -> %s) parsed", i, cases[i].from, cases[i].to);
		assert_contains(teeliza_errmsg(), cases[i].msg);
		json_decref(j);
	}
}

static void test_qe_identity_schema(void **state)
{
	struct {
		const char *from, *to, *msg;
	} cases[] = {
		{"\"id\":\"TD_QE\"", "\"id\":\"QQ\"", "not QE, TD_QE or QVE"},
		{"\"version\":2", "\"version\":1", "version 1"},
		{"\"mrsigner\":\"DC9E", "\"mrsigner\":\"DC9", "mrsigner"},
		{"\"isvprodid\":2", "\"isvprodid\":70000", "out of range"},
		{"\"tcbStatus\":\"UpToDate\"", "\"tcbStatus\":\"SWHardeningNeeded\"", "identity level"},
		{"\"tcbLevels\":[", "\"tcbLevels\":[],\"x\":[", "non-empty"},
		{"\"miscselect\":\"00000000\"", "\"miscselect\":\"000000\"", "miscselect"},
	};
	size_t i;
	json_t *j;

	(void)state;
	for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		j = intel_json();
		edit(j, "qe_identity", cases[i].from, cases[i].to);
		if (parse(j) == TEELIZA_OK)
			fail_msg("case %zu (%s -> %s) parsed", i, cases[i].from, cases[i].to);
		assert_contains(teeliza_errmsg(), cases[i].msg);
		json_decref(j);
	}
}

/* Intel's collateral, changed after signing: each change fails at its own check. */
static void test_tampered_intel_collateral(void **state)
{
	json_t *j;
	char reason[640], *hex;
	size_t n;

	(void)state;
	/* pitfall 15 on Intel's bytes: the same JSON value with one more space */
	j = intel_json();
	edit(j, "tcb_info", "\"version\":3", "\"version\": 3");
	assert_int_equal(verify_with(j, reason, sizeof(reason)), DCAP_FAIL_COLLATERAL_SIGNATURE);
	assert_contains(reason, "TCB Info signature is invalid");
	json_decref(j);
	j = intel_json();
	edit(j, "qe_identity", "\"isvprodid\":2", "\"isvprodid\":2 ");
	assert_int_equal(verify_with(j, reason, sizeof(reason)), DCAP_FAIL_COLLATERAL_SIGNATURE);
	assert_contains(reason, "QE Identity signature is invalid");
	json_decref(j);
	/* a changed status (the obvious attack) */
	j = intel_json();
	edit(j, "tcb_info", "\"OutOfDate\"", "\"UpToDate\"");
	assert_int_equal(verify_with(j, reason, sizeof(reason)), DCAP_FAIL_COLLATERAL_SIGNATURE);
	json_decref(j);
	/* a flipped signature bit */
	j = intel_json();
	hex = strdup(json_string_value(json_object_get(j, "tcb_info_signature")));
	hex[10] = hex[10] == '0' ? '1' : '0';
	json_object_set_new(j, "tcb_info_signature", json_string(hex));
	assert_int_equal(verify_with(j, reason, sizeof(reason)), DCAP_FAIL_COLLATERAL_SIGNATURE);
	free(hex);
	json_decref(j);
	/* a byte of the PCK CRL's signature */
	j = intel_json();
	hex = strdup(json_string_value(json_object_get(j, "pck_crl")));
	n = strlen(hex);
	hex[n - 3] = hex[n - 3] == '0' ? '1' : '0';
	json_object_set_new(j, "pck_crl", json_string(hex));
	assert_int_equal(verify_with(j, reason, sizeof(reason)), DCAP_FAIL_CHAIN);
	assert_contains(reason, "PCK CRL signature");
	free(hex);
	json_decref(j);
	/* CRLs swapped */
	j = intel_json();
	hex = strdup(json_string_value(json_object_get(j, "pck_crl")));
	json_object_set(j, "pck_crl", json_object_get(j, "root_ca_crl"));
	json_object_set_new(j, "root_ca_crl", json_string(hex));
	assert_int_equal(verify_with(j, reason, sizeof(reason)), DCAP_FAIL_CHAIN);
	free(hex);
	json_decref(j);
	/* the TCB Info chain replaced by the PCK CRL chain (wrong signer) */
	j = intel_json();
	json_object_set(j, "tcb_info_issuer_chain", json_object_get(j, "pck_crl_issuer_chain"));
	assert_int_equal(verify_with(j, reason, sizeof(reason)), DCAP_FAIL_COLLATERAL_SIGNATURE);
	json_decref(j);
	/* the root dropped from a chain: found in the other chains, still fine */
	j = intel_json();
	{
		const char *pem = json_string_value(json_object_get(j, "tcb_info_issuer_chain"));
		const char *second = strstr(pem + 1, "-----BEGIN CERTIFICATE-----");
		char *first = strndup(pem, (size_t)(second - pem));

		json_object_set_new(j, "tcb_info_issuer_chain", json_string(first));
		free(first);
	}
	assert_int_equal(verify_with(j, reason, sizeof(reason)), DCAP_FAIL_NONE);
	json_decref(j);
}

static void test_to_json_keeps_signed_bytes(void **state)
{
	size_t len;
	char *s = (char *)vector_read("dcapqvl-sgx_quote_collateral.json", &len);
	dcap_collateral *c;
	teeliza_buf out;
	json_t *a, *b;
	json_error_t e;
	const char *keys[] = {"tcb_info", "qe_identity", "root_ca_crl", "pck_crl", "tcb_info_signature",
	                      "tcb_info_issuer_chain", "qe_identity_issuer_chain", "pck_crl_issuer_chain",
	                      "qe_identity_signature"};
	size_t i;

	(void)state;
	assert_int_equal(dcap_collateral_parse_json(&c, s, len), TEELIZA_OK);
	teeliza_buf_init(&out, 1 << 22);
	assert_int_equal(dcap_collateral_to_json(&out, c), TEELIZA_OK);
	a = json_loadb(s, len, 0, &e);
	b = json_loadb((const char *)out.data, out.len, 0, &e);
	assert_non_null(b);
	for (i = 0; i < sizeof(keys) / sizeof(keys[0]); i++)
		assert_string_equal(json_string_value(json_object_get(a, keys[i])),
		                    json_string_value(json_object_get(b, keys[i])));
	json_decref(a);
	json_decref(b);
	teeliza_buf_free(&out);
	dcap_collateral_free(c);
	free(s);
}

static void test_dates(void **state)
{
	int64_t t;
	char out[24];

	(void)state;
	assert_int_equal(dcap_parse_date(&t, "2025-07-19T10:16:03Z"), TEELIZA_OK);
	assert_int_equal(t, 1752920163);
	assert_int_equal(dcap_parse_date(&t, "2024-02-29T00:00:00.123Z"), TEELIZA_OK);
	assert_int_equal(t, 1709164800);
	assert_int_equal(dcap_parse_date(&t, "1970-01-01T00:00:00Z"), TEELIZA_OK);
	assert_int_equal(t, 0);
	assert_int_not_equal(dcap_parse_date(&t, "2023-02-29T00:00:00Z"), TEELIZA_OK);
	assert_int_not_equal(dcap_parse_date(&t, "2023-01-01T24:00:00Z"), TEELIZA_OK);
	assert_int_not_equal(dcap_parse_date(&t, "2023-01-01T00:00:00"), TEELIZA_OK);
	assert_int_not_equal(dcap_parse_date(&t, "2023-01-01T00:00:00+00:00"), TEELIZA_OK);
	assert_int_not_equal(dcap_parse_date(&t, "2023-01-01T00:00:00.Z"), TEELIZA_OK);
	assert_int_not_equal(dcap_parse_date(&t, ""), TEELIZA_OK);
	dcap_format_date(out, 1752920163);
	assert_string_equal(out, "2025-07-19T10:16:03Z");
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_intel_vectors_parse),
		cmocka_unit_test(test_missing_and_mistyped_fields),
		cmocka_unit_test(test_hex_fields),
		cmocka_unit_test(test_outer_json_strictness),
		cmocka_unit_test(test_flat_reader_escapes),
		cmocka_unit_test(test_tcb_info_schema),
		cmocka_unit_test(test_qe_identity_schema),
		cmocka_unit_test(test_tampered_intel_collateral),
		cmocka_unit_test(test_to_json_keeps_signed_bytes),
		cmocka_unit_test(test_dates),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
