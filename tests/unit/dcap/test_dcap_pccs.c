/*
 * Fetching collateral (dcap_pccs_fetch, `teeliza verify --pccs-url`) from a
 * PCCS on loopback that serves the vector files the way Intel PCS / PCCS
 * API v4 does (tests/unit/pccs_fake.c), and what the client refuses: plain
 * http off loopback, redirects to another host, oversize bodies, bad
 * issuer-chain headers, collateral for another platform.
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <cmocka.h>

#include "pccs_fake.h"
#include "testutil.h"
#include "teeliza/common/common.h"
#include "teeliza/common/encoding.h"
#include "teeliza/dcap/pccs.h"
#include "teeliza/dcap/verify.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#define TDX_NOW 1752919234
#define GOTDX_NOW 1688173200

static void test_fetch_and_verify(void **state)
{
	pccs_fake p;
	char url[128];
	teeliza_buf json;
	dcap_collateral *c;
	dcap_result r;
	size_t qlen;
	uint8_t *quote = vector_read("dcapqvl-tdx_quote", &qlen);
	json_t *want, *got;
	json_error_t e;

	(void)state;
	pccs_fake_init(&p, "dcapqvl-tdx_quote_collateral.json", "tdx", "B0C06F000000", "platform");
	pccs_fake_start(&p);
	teeliza_buf_init(&json, 1 << 22);
	assert_int_equal(dcap_pccs_fetch(&json, p.base, quote, qlen, 5000), TEELIZA_OK);
	assert_int_equal(pccs_fake_requests(&p), 4);
	assert_int_equal(dcap_collateral_parse_json(&c, (const char *)json.data, json.len), TEELIZA_OK);
	assert_int_equal(dcap_verify(&r, quote, qlen, c, TDX_NOW, NULL, NULL), TEELIZA_OK);
	assert_int_equal(r.status, DCAP_STATUS_UP_TO_DATE);
	/* Every field equals the file's: the signed objects were cut out byte for byte. */
	want = vector_json("dcapqvl-tdx_quote_collateral.json");
	got = json_loadb((const char *)json.data, json.len, 0, &e);
	assert_non_null(got);
	assert_true(json_equal(want, got));
	json_decref(want);
	json_decref(got);
	dcap_collateral_free(c);

	/* A base URL that already ends in the API path, with a trailing slash */
	teeliza_buf_reset(&json);
	snprintf(url, sizeof(url), "%s/tdx/certification/v4/", p.base);
	assert_int_equal(dcap_pccs_fetch(&json, url, quote, qlen, 5000), TEELIZA_OK);
	assert_int_equal(dcap_collateral_parse_json(&c, (const char *)json.data, json.len), TEELIZA_OK);
	dcap_collateral_free(c);
	teeliza_buf_free(&json);
	pccs_fake_free(&p);
	free(quote);
}

/* Intel PCS's own response bodies (go-tdx-guest test data): the signed objects come out exactly as assembled. */
static void test_fetch_raw_pcs_bodies(void **state)
{
	pccs_fake p;
	teeliza_buf json;
	size_t qlen, n;
	uint8_t *quote = vector_read("gotdx-tdx_prod_quote_SPR_E4.dat", &qlen);
	uint8_t *root;
	json_t *want, *got;
	json_error_t e;
	dcap_collateral *c;
	dcap_result r;

	(void)state;
	pccs_fake_init(&p, "gotdx-tdx_prod_quote_SPR_E4_collateral.json", "tdx", "50806F000000", "platform");
	free(p.tcb_body);
	free(p.qe_body);
	free(p.pck_crl);
	free(p.root_crl_hex);
	p.tcb_body = (char *)vector_read("gotdx-sample_tcbInfo_response", &n);
	p.tcb_body = realloc(p.tcb_body, n + 1);
	p.tcb_body[n] = '\0';
	p.qe_body = (char *)vector_read("gotdx-sample_qeIdentity_response", &n);
	p.qe_body = realloc(p.qe_body, n + 1);
	p.qe_body[n] = '\0';
	p.pck_crl = vector_read("gotdx-pckcrl", &p.pck_crl_len);
	root = vector_read("gotdx-rootcrl.der", &n);
	p.root_crl_hex = malloc(2 * n + 1);
	teeliza_hex_encode(p.root_crl_hex, root, n);
	free(root);
	pccs_fake_start(&p);
	teeliza_buf_init(&json, 1 << 22);
	assert_int_equal(dcap_pccs_fetch(&json, p.base, quote, qlen, 5000), TEELIZA_OK);
	want = vector_json("gotdx-tdx_prod_quote_SPR_E4_collateral.json");
	got = json_loadb((const char *)json.data, json.len, 0, &e);
	assert_non_null(got);
	assert_string_equal(json_string_value(json_object_get(got, "tcb_info")),
	                    json_string_value(json_object_get(want, "tcb_info")));
	assert_string_equal(json_string_value(json_object_get(got, "qe_identity")),
	                    json_string_value(json_object_get(want, "qe_identity")));
	assert_true(json_equal(want, got));
	assert_int_equal(dcap_collateral_parse_json(&c, (const char *)json.data, json.len), TEELIZA_OK);
	assert_int_not_equal(dcap_verify(&r, quote, qlen, c, GOTDX_NOW, NULL, NULL), TEELIZA_OK);
	assert_int_equal(r.failure, DCAP_FAIL_TCB_NOT_SUPPORTED);
	dcap_collateral_free(c);
	json_decref(want);
	json_decref(got);
	teeliza_buf_free(&json);
	pccs_fake_free(&p);
	free(quote);
}

static void test_fetch_errors(void **state)
{
	pccs_fake p;
	char base[64];
	teeliza_buf json;
	size_t qlen;
	uint8_t *quote = vector_read("dcapqvl-tdx_quote", &qlen);
	teeliza_err err;

	(void)state;
	pccs_fake_init(&p, "dcapqvl-tdx_quote_collateral.json", "tdx", "B0C06F000000", "platform");
	pccs_fake_start(&p);
	teeliza_buf_init(&json, 1 << 22);
	p.tcb_404 = true;
	err = dcap_pccs_fetch(&json, p.base, quote, qlen, 5000);
	assert_int_equal(err, TEELIZA_ERR_NOT_FOUND);
	assert_non_null(strstr(teeliza_errmsg(), "/tdx/certification/v4/tcb?fmspc=B0C06F000000"));
	p.tcb_404 = false;
	p.no_qe_header = true;
	teeliza_buf_reset(&json);
	assert_int_equal(dcap_pccs_fetch(&json, p.base, quote, qlen, 5000), TEELIZA_ERR_PROTOCOL);
	assert_non_null(strstr(teeliza_errmsg(), "issuer chain header"));
	p.no_qe_header = false;
	/* a quote the fetcher cannot read the FMSPC from */
	teeliza_buf_reset(&json);
	assert_int_not_equal(dcap_pccs_fetch(&json, p.base, quote, 100, 5000), TEELIZA_OK);
	snprintf(base, sizeof(base), "%s", p.base);
	pccs_fake_stop(&p);
	/* nobody listening any more */
	teeliza_buf_reset(&json);
	assert_int_equal(dcap_pccs_fetch(&json, base, quote, qlen, 5000), TEELIZA_ERR_CONNECT);
	assert_int_equal(json.len, 0);
	teeliza_buf_free(&json);
	pccs_fake_free(&p);
	free(quote);
}

static void test_url_rules(void **state)
{
	bool insecure;
	teeliza_buf json;
	size_t qlen;
	uint8_t *quote = vector_read("dcapqvl-tdx_quote", &qlen);

	(void)state;
	assert_int_equal(dcap_pccs_check_url(&insecure, "https://pccs.phala.network", false), TEELIZA_OK);
	assert_false(insecure);
	assert_int_equal(dcap_pccs_check_url(&insecure, "https://api.trustedservices.intel.com/tdx/certification/v4", false),
	                 TEELIZA_OK);
	/* plain http: loopback only, unless allowed (and then flagged for the warning) */
	assert_int_equal(dcap_pccs_check_url(&insecure, "http://127.0.0.1:8081", false), TEELIZA_OK);
	assert_int_equal(dcap_pccs_check_url(&insecure, "http://127.9.8.7", false), TEELIZA_OK);
	assert_int_equal(dcap_pccs_check_url(&insecure, "http://[::1]:8081/", false), TEELIZA_OK);
	assert_int_equal(dcap_pccs_check_url(&insecure, "http://localhost:8081/", false), TEELIZA_OK);
	assert_false(insecure);
	assert_int_equal(dcap_pccs_check_url(&insecure, "http://pccs.example.com", false), TEELIZA_ERR_CONFIG);
	assert_non_null(strstr(teeliza_errmsg(), "refusing plain http to pccs.example.com"));
	assert_int_equal(dcap_pccs_check_url(&insecure, "http://128.0.0.1", false), TEELIZA_ERR_CONFIG);
	assert_int_equal(dcap_pccs_check_url(&insecure, "http://[::2]", false), TEELIZA_ERR_CONFIG);
	assert_int_equal(dcap_pccs_check_url(&insecure, "http://127.0.0.1.example.com", false), TEELIZA_ERR_CONFIG);
	assert_int_equal(dcap_pccs_check_url(&insecure, "http://pccs.example.com", true), TEELIZA_OK);
	assert_true(insecure);
	/* not http(s), no host, credentials */
	assert_int_equal(dcap_pccs_check_url(NULL, "ftp://127.0.0.1/", false), TEELIZA_ERR_INVALID);
	assert_int_equal(dcap_pccs_check_url(NULL, "file:///etc/passwd", false), TEELIZA_ERR_INVALID);
	assert_int_equal(dcap_pccs_check_url(NULL, "not a url", false), TEELIZA_ERR_INVALID);
	assert_int_equal(dcap_pccs_check_url(NULL, "https://user:pw@pccs.example.com", false), TEELIZA_ERR_INVALID);
	/* the fetch refuses before any request: nothing here can reach the network */
	teeliza_buf_init(&json, 1 << 22);
	assert_int_equal(dcap_pccs_fetch(&json, "http://pccs.invalid", quote, qlen, 5000), TEELIZA_ERR_CONFIG);
	teeliza_buf_free(&json);
	free(quote);
}

static void test_redirects(void **state)
{
	pccs_fake p;
	char loc[160];
	teeliza_buf json;
	size_t qlen;
	uint8_t *quote = vector_read("dcapqvl-tdx_quote", &qlen);
	dcap_collateral *c;

	(void)state;
	pccs_fake_init(&p, "dcapqvl-tdx_quote_collateral.json", "tdx", "B0C06F000000", "platform");
	pccs_fake_start(&p);
	teeliza_buf_init(&json, 1 << 22);
	/* The same server under another name is another host: refused, and not asked. */
	snprintf(loc, sizeof(loc), "http://localhost:%u/tdx/certification/v4/tcb?fmspc=B0C06F000000&moved=1", p.port);
	p.tcb_redirect = loc;
	assert_int_equal(dcap_pccs_fetch(&json, p.base, quote, qlen, 5000), TEELIZA_ERR_PROTOCOL);
	assert_non_null(strstr(teeliza_errmsg(), "redirects to another host"));
	assert_int_equal(pccs_fake_requests(&p), 2);
	/* https on the same host and port is another origin too */
	snprintf(loc, sizeof(loc), "https://127.0.0.1:%u/tdx/certification/v4/tcb?fmspc=B0C06F000000&moved=1", p.port);
	teeliza_buf_reset(&json);
	assert_int_equal(dcap_pccs_fetch(&json, p.base, quote, qlen, 5000), TEELIZA_ERR_PROTOCOL);
	/* Within the same origin (relative or absolute) it is followed. */
	p.tcb_redirect = "/tdx/certification/v4/tcb?fmspc=B0C06F000000&moved=1";
	teeliza_buf_reset(&json);
	assert_int_equal(dcap_pccs_fetch(&json, p.base, quote, qlen, 5000), TEELIZA_OK);
	assert_int_equal(dcap_collateral_parse_json(&c, (const char *)json.data, json.len), TEELIZA_OK);
	dcap_collateral_free(c);
	/* A loop ends after a few hops. */
	p.tcb_redirect = "/tdx/certification/v4/tcb?fmspc=B0C06F000000";
	teeliza_buf_reset(&json);
	assert_int_equal(dcap_pccs_fetch(&json, p.base, quote, qlen, 5000), TEELIZA_ERR_PROTOCOL);
	assert_non_null(strstr(teeliza_errmsg(), "redirects"));
	teeliza_buf_free(&json);
	pccs_fake_free(&p);
	free(quote);
}

static void test_hostile_answers(void **state)
{
	pccs_fake p;
	teeliza_buf json;
	size_t qlen;
	uint8_t *quote = vector_read("dcapqvl-tdx_quote", &qlen);
	json_t *j = vector_json("dcapqvl-tdx_quote_collateral.json");
	const char *pem = json_string_value(json_object_get(j, "qe_identity_issuer_chain"));
	char *raw;
	size_t i, o;

	(void)state;
	pccs_fake_init(&p, "dcapqvl-tdx_quote_collateral.json", "tdx", "B0C06F000000", "platform");
	pccs_fake_start(&p);
	teeliza_buf_init(&json, 1 << 22);
	/* A body over 1 MiB is refused, not read into memory without end. */
	p.tcb_pad = (size_t)3 << 19;
	assert_int_equal(dcap_pccs_fetch(&json, p.base, quote, qlen, 5000), TEELIZA_ERR_TOO_LARGE);
	p.tcb_pad = 0;
	/* Issuer chain headers: a bad escape, a NUL, text that is no chain. */
	p.qe_header_raw = "SGX-Enclave-Identity-Issuer-Chain: -----BEGIN%ZZCERTIFICATE";
	teeliza_buf_reset(&json);
	assert_int_equal(dcap_pccs_fetch(&json, p.base, quote, qlen, 5000), TEELIZA_ERR_PROTOCOL);
	assert_non_null(strstr(teeliza_errmsg(), "bad %-escape"));
	p.qe_header_raw = "SGX-Enclave-Identity-Issuer-Chain: abc%00def";
	teeliza_buf_reset(&json);
	assert_int_equal(dcap_pccs_fetch(&json, p.base, quote, qlen, 5000), TEELIZA_ERR_PROTOCOL);
	assert_non_null(strstr(teeliza_errmsg(), "not PEM"));
	p.qe_header_raw = "SGX-Enclave-Identity-Issuer-Chain: hello";
	teeliza_buf_reset(&json);
	assert_int_equal(dcap_pccs_fetch(&json, p.base, quote, qlen, 5000), TEELIZA_ERR_PROTOCOL);
	assert_non_null(strstr(teeliza_errmsg(), "not a PEM chain"));
	p.qe_header_raw = "SGX-Enclave-Identity-Issuer-Chain: abc%4";
	teeliza_buf_reset(&json);
	assert_int_equal(dcap_pccs_fetch(&json, p.base, quote, qlen, 5000), TEELIZA_ERR_PROTOCOL);
	/* A server that escapes only what it must (line breaks) leaves base64's '+' and '/' as they are:
	 * '+' is a '+', not a blank (decodeURIComponent, as dcap-qvl reads it). */
	raw = malloc(strlen("SGX-Enclave-Identity-Issuer-Chain: ") + 3 * strlen(pem) + 1);
	o = (size_t)sprintf(raw, "SGX-Enclave-Identity-Issuer-Chain: ");
	for (i = 0; pem[i]; i++) {
		if (pem[i] == '\n') {
			memcpy(raw + o, "%0A", 3);
			o += 3;
		} else if (pem[i] == ' ') {
			memcpy(raw + o, "%20", 3);
			o += 3;
		} else {
			raw[o++] = pem[i];
		}
	}
	raw[o] = '\0';
	assert_non_null(strchr(pem, '+'));
	p.qe_header_raw = raw;
	teeliza_buf_reset(&json);
	assert_int_equal(dcap_pccs_fetch(&json, p.base, quote, qlen, 5000), TEELIZA_OK);
	p.qe_header_raw = NULL;
	free(raw);
	pccs_fake_free(&p);

	/* The SGX vector's collateral for the TDX quote: another platform, refused. */
	pccs_fake_init(&p, "dcapqvl-sgx_quote_collateral.json", "tdx", "B0C06F000000", "platform");
	pccs_fake_start(&p);
	teeliza_buf_reset(&json);
	assert_int_equal(dcap_pccs_fetch(&json, p.base, quote, qlen, 5000), TEELIZA_ERR_PROTOCOL);
	assert_non_null(strstr(teeliza_errmsg(), "asked for the TDX TCB Info of FMSPC B0C06F000000"));
	assert_int_equal(json.len, 0);
	teeliza_buf_free(&json);
	pccs_fake_free(&p);
	json_decref(j);
	free(quote);
}

/* What a quote needs collateral for, and whether its PCK chain is Intel's. */
static void test_key_of(void **state)
{
	dcap_collateral_key k;
	size_t qlen, slen, glen;
	uint8_t *quote = vector_read("dcapqvl-tdx_quote", &qlen);
	uint8_t *squote = vector_read("dcapqvl-sgx_quote", &slen);
	uint8_t *gquote = vector_read("gotdx-tdx_prod_quote_SPR_E4.dat", &glen);
	uint8_t *at;
	const char *end = "-----END CERTIFICATE-----";

	(void)state;
	assert_int_equal(dcap_collateral_key_of(&k, quote, qlen), TEELIZA_OK);
	assert_false(k.sgx);
	assert_string_equal(k.fmspc, "B0C06F000000");
	assert_string_equal(k.ca, "platform");
	assert_true(k.intel_signed);
	assert_int_equal(dcap_collateral_key_of(&k, squote, slen), TEELIZA_OK);
	assert_true(k.sgx);
	assert_string_equal(k.fmspc, "00A067110000");
	assert_string_equal(k.ca, "processor");
	assert_true(k.intel_signed);
	assert_int_equal(dcap_collateral_key_of(&k, gquote, glen), TEELIZA_OK);
	assert_string_equal(k.fmspc, "50806F000000");
	assert_true(k.intel_signed);
	/* one byte of the leaf's signature: the FMSPC still reads, but the chain is not Intel's */
	at = memmem(quote, qlen, end, strlen(end));
	assert_non_null(at);
	at[-8] = at[-8] == 'A' ? 'B' : 'A';
	assert_int_equal(dcap_collateral_key_of(&k, quote, qlen), TEELIZA_OK);
	assert_string_equal(k.fmspc, "B0C06F000000");
	assert_false(k.intel_signed);
	/* no PCK chain to read: an error saying so */
	assert_int_not_equal(dcap_collateral_key_of(&k, quote, 600), TEELIZA_OK);
	assert_non_null(strstr(teeliza_errmsg(), "cannot tell which collateral the quote needs"));
	free(quote);
	free(squote);
	free(gquote);
}

static void test_cli_pccs_url(void **state)
{
	pccs_fake p;
	char cmd[1024], saved[64], *out = NULL;
	int rc;
	dcap_collateral *c;
	teeliza_buf b;

	(void)state;
	pccs_fake_init(&p, "dcapqvl-sgx_quote_collateral.json", "sgx", "00A067110000", "processor");
	pccs_fake_start(&p);
	snprintf(saved, sizeof(saved), "/tmp/teeliza-pccs-%d.json", (int)getpid());
	snprintf(cmd, sizeof(cmd),
	         "%s verify %s/dcapqvl-sgx_quote --pccs-url %s --no-collateral-cache --now 1752919277 "
	         "--save-collateral %s",
	         TEELIZA_BINARY, TEELIZA_VECTORS, p.base, saved);
	rc = run_capture(cmd, &out);
	assert_int_equal(rc, 0);
	assert_non_null(strstr(out, "ConfigurationAndSWHardeningNeeded"));
	free(out);
	assert_int_equal(teeliza_read_file(&b, saved, 1 << 22), TEELIZA_OK);
	assert_int_equal(dcap_collateral_parse_json(&c, (const char *)b.data, b.len), TEELIZA_OK);
	dcap_collateral_free(c);
	teeliza_buf_free(&b);
	unlink(saved);
	pccs_fake_stop(&p);
	/* 69 when the PCCS is unreachable */
	snprintf(cmd, sizeof(cmd), "%s verify %s/dcapqvl-sgx_quote --pccs-url %s --no-collateral-cache 2>&1",
	         TEELIZA_BINARY, TEELIZA_VECTORS, p.base);
	rc = run_capture(cmd, &out);
	assert_int_equal(rc, 69);
	free(out);
	/* 78 for plain http off loopback, before any request; 64 without collateral or PCCS (offline default) */
	snprintf(cmd, sizeof(cmd), "%s verify %s/dcapqvl-sgx_quote --pccs-url http://pccs.invalid 2>&1",
	         TEELIZA_BINARY, TEELIZA_VECTORS);
	rc = run_capture(cmd, &out);
	assert_int_equal(rc, 78);
	assert_non_null(strstr(out, "refusing plain http"));
	free(out);
	snprintf(cmd, sizeof(cmd), "env -u PCCS_URL %s verify %s/dcapqvl-sgx_quote 2>&1", TEELIZA_BINARY, TEELIZA_VECTORS);
	rc = run_capture(cmd, &out);
	assert_int_equal(rc, 64);
	assert_non_null(strstr(out, "offline is the"));
	free(out);
	pccs_fake_free(&p);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_fetch_and_verify),
		cmocka_unit_test(test_fetch_raw_pcs_bodies),
		cmocka_unit_test(test_fetch_errors),
		cmocka_unit_test(test_url_rules),
		cmocka_unit_test(test_redirects),
		cmocka_unit_test(test_hostile_answers),
		cmocka_unit_test(test_key_of),
		cmocka_unit_test(test_cli_pccs_url),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
