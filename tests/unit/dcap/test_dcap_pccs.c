/*
 * Fetching collateral (dcap_pccs_fetch, `teeliza verify --pccs-url`) from a
 * PCCS on loopback that serves the vector files the way Intel PCS / PCCS
 * API v4 does: issuer chains URL-encoded in response headers, the signed
 * object next to its signature in the body, DER CRLs, a hex root CA CRL.
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <cmocka.h>

#include "testutil.h"
#include "teeliza/common/common.h"
#include "teeliza/dcap/verify.h"
#include "teeliza/common/encoding.h"
#include "teeliza/http/http.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#define TDX_NOW 1752919234
#define GOTDX_NOW 1688173200

typedef struct pccs {
	char tee[8];             /* "tdx" or "sgx" */
	char fmspc[16];
	char ca[16];
	uint8_t *pck_crl;        /* DER */
	size_t pck_crl_len;
	char *root_crl_hex;
	char *tcb_body, *qe_body;
	char *h_crl, *h_tcb, *h_qe; /* "Name: url-encoded PEM" */
	bool tcb_404, no_qe_header, sgx_tcb_header_name;
	int requests;
} pccs;

static char *header(const char *name, const char *pem)
{
	static const char hexd[] = "0123456789ABCDEF";
	size_t n = strlen(name), i, o;
	char *h = malloc(n + 2 + 3 * strlen(pem) + 1);

	memcpy(h, name, n);
	h[n] = ':';
	h[n + 1] = ' ';
	o = n + 2;
	for (i = 0; pem[i]; i++) {
		unsigned char c = (unsigned char)pem[i];

		if ((c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '-' || c == '.' ||
		    c == '_' || c == '~') {
			h[o++] = (char)c;
		} else {
			h[o++] = '%';
			h[o++] = hexd[c >> 4];
			h[o++] = hexd[c & 15];
		}
	}
	h[o] = '\0';
	return h;
}

static void handler(http_server_reply *reply, const http_server_request *req, void *ctx)
{
	pccs *p = ctx;
	char path[128], want[64];
	teeliza_err err = TEELIZA_OK;

	__atomic_add_fetch(&p->requests, 1, __ATOMIC_SEQ_CST);
	reply->status = 200;
	snprintf(path, sizeof(path), "/%s/certification/v4/tcb", p->tee);
	if (strcmp(req->path, "/sgx/certification/v4/pckcrl") == 0) {
		snprintf(want, sizeof(want), "ca=%s&encoding=der", p->ca);
		if (strcmp(req->query, want) != 0) {
			reply->status = 400;
			return;
		}
		reply->content_type = "application/pkix-crl";
		reply->extra_headers[0] = p->h_crl;
		err = teeliza_buf_append(&reply->body, p->pck_crl, p->pck_crl_len);
	} else if (strcmp(req->path, path) == 0) {
		snprintf(want, sizeof(want), "fmspc=%s", p->fmspc);
		if (p->tcb_404 || strcmp(req->query, want) != 0) {
			reply->status = 404;
			return;
		}
		reply->extra_headers[0] = p->h_tcb;
		err = teeliza_buf_append_str(&reply->body, p->tcb_body);
	} else if (strcmp(req->path + 4, "/certification/v4/qe/identity") == 0 && strncmp(req->path + 1, p->tee, 3) == 0) {
		if (!p->no_qe_header)
			reply->extra_headers[0] = p->h_qe;
		err = teeliza_buf_append_str(&reply->body, p->qe_body);
	} else if (strcmp(req->path, "/sgx/certification/v4/rootcacrl") == 0) {
		reply->content_type = "text/plain";
		err = teeliza_buf_append_str(&reply->body, p->root_crl_hex);
	} else {
		reply->status = 404;
	}
	if (err)
		reply->status = 500;
}

static char *signed_body(const char *key, const char *text, const char *sig, bool spaces)
{
	size_t n = strlen(key) + strlen(text) + strlen(sig) + 64;
	char *b = malloc(n);

	snprintf(b, n, spaces ? "{ \"%s\" :  %s ,\n \"signature\" : \"%s\" }\n" : "{\"%s\":%s,\"signature\":\"%s\"}", key,
	         text, sig);
	return b;
}

/* A PCCS serving the collateral of a dcap-qvl JSON file. */
static void pccs_from_collateral(pccs *p, const char *name, const char *tee, const char *fmspc, const char *ca)
{
	json_t *j = vector_json(name);
	const char *crl_hex = json_string_value(json_object_get(j, "pck_crl"));
	size_t n;

	memset(p, 0, sizeof(*p));
	snprintf(p->tee, sizeof(p->tee), "%s", tee);
	snprintf(p->fmspc, sizeof(p->fmspc), "%s", fmspc);
	snprintf(p->ca, sizeof(p->ca), "%s", ca);
	p->pck_crl = hex_alloc(crl_hex, &n);
	p->pck_crl_len = n;
	p->root_crl_hex = strdup(json_string_value(json_object_get(j, "root_ca_crl")));
	p->tcb_body = signed_body("tcbInfo", json_string_value(json_object_get(j, "tcb_info")),
	                          json_string_value(json_object_get(j, "tcb_info_signature")), true);
	p->qe_body = signed_body("enclaveIdentity", json_string_value(json_object_get(j, "qe_identity")),
	                         json_string_value(json_object_get(j, "qe_identity_signature")), false);
	p->h_crl = header("SGX-PCK-CRL-Issuer-Chain", json_string_value(json_object_get(j, "pck_crl_issuer_chain")));
	p->h_tcb = header("TCB-Info-Issuer-Chain", json_string_value(json_object_get(j, "tcb_info_issuer_chain")));
	p->h_qe = header("SGX-Enclave-Identity-Issuer-Chain",
	                 json_string_value(json_object_get(j, "qe_identity_issuer_chain")));
	json_decref(j);
}

static void pccs_free(pccs *p)
{
	free(p->pck_crl);
	free(p->root_crl_hex);
	free(p->tcb_body);
	free(p->qe_body);
	free(p->h_crl);
	free(p->h_tcb);
	free(p->h_qe);
}

static http_server *start(pccs *p, char *base, size_t cap)
{
	http_server_config cfg = {0};
	http_server *s;

	cfg.host = "127.0.0.1";
	cfg.port = 0;
	cfg.handler = handler;
	cfg.ctx = p;
	assert_int_equal(http_server_start(&s, &cfg), TEELIZA_OK);
	snprintf(base, cap, "http://127.0.0.1:%u", http_server_port(s));
	return s;
}

static void test_fetch_and_verify(void **state)
{
	pccs p;
	http_server *s;
	char base[64], url[128];
	teeliza_buf json;
	dcap_collateral *c;
	dcap_result r;
	size_t qlen;
	uint8_t *quote = vector_read("dcapqvl-tdx_quote", &qlen);
	json_t *want, *got;
	json_error_t e;

	(void)state;
	pccs_from_collateral(&p, "dcapqvl-tdx_quote_collateral.json", "tdx", "B0C06F000000", "platform");
	s = start(&p, base, sizeof(base));
	teeliza_buf_init(&json, 1 << 22);
	assert_int_equal(dcap_pccs_fetch(&json, base, quote, qlen, 5000), TEELIZA_OK);
	assert_int_equal(p.requests, 4);
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
	snprintf(url, sizeof(url), "%s/tdx/certification/v4/", base);
	assert_int_equal(dcap_pccs_fetch(&json, url, quote, qlen, 5000), TEELIZA_OK);
	assert_int_equal(dcap_collateral_parse_json(&c, (const char *)json.data, json.len), TEELIZA_OK);
	dcap_collateral_free(c);
	teeliza_buf_free(&json);
	http_server_stop(s);
	pccs_free(&p);
	free(quote);
}

/* Intel PCS's own response bodies (go-tdx-guest test data): the signed objects come out exactly as assembled. */
static void test_fetch_raw_pcs_bodies(void **state)
{
	pccs p;
	http_server *s;
	char base[64];
	teeliza_buf json;
	size_t qlen, n;
	uint8_t *quote = vector_read("gotdx-tdx_prod_quote_SPR_E4.dat", &qlen);
	uint8_t *root;
	json_t *want, *got;
	json_error_t e;
	dcap_collateral *c;
	dcap_result r;

	(void)state;
	pccs_from_collateral(&p, "gotdx-tdx_prod_quote_SPR_E4_collateral.json", "tdx", "50806F000000", "platform");
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
	s = start(&p, base, sizeof(base));
	teeliza_buf_init(&json, 1 << 22);
	assert_int_equal(dcap_pccs_fetch(&json, base, quote, qlen, 5000), TEELIZA_OK);
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
	http_server_stop(s);
	pccs_free(&p);
	free(quote);
}

static void test_fetch_errors(void **state)
{
	pccs p;
	http_server *s;
	char base[64];
	teeliza_buf json;
	size_t qlen;
	uint8_t *quote = vector_read("dcapqvl-tdx_quote", &qlen);
	teeliza_err err;
	uint16_t port;

	(void)state;
	pccs_from_collateral(&p, "dcapqvl-tdx_quote_collateral.json", "tdx", "B0C06F000000", "platform");
	s = start(&p, base, sizeof(base));
	teeliza_buf_init(&json, 1 << 22);
	p.tcb_404 = true;
	err = dcap_pccs_fetch(&json, base, quote, qlen, 5000);
	assert_int_equal(err, TEELIZA_ERR_NOT_FOUND);
	assert_non_null(strstr(teeliza_errmsg(), "/tdx/certification/v4/tcb?fmspc=B0C06F000000"));
	p.tcb_404 = false;
	p.no_qe_header = true;
	teeliza_buf_reset(&json);
	assert_int_equal(dcap_pccs_fetch(&json, base, quote, qlen, 5000), TEELIZA_ERR_PROTOCOL);
	assert_non_null(strstr(teeliza_errmsg(), "issuer chain header"));
	p.no_qe_header = false;
	/* a quote the fetcher cannot read the FMSPC from */
	teeliza_buf_reset(&json);
	assert_int_not_equal(dcap_pccs_fetch(&json, base, quote, 100, 5000), TEELIZA_OK);
	port = http_server_port(s);
	http_server_stop(s);
	/* nobody listening any more */
	snprintf(base, sizeof(base), "http://127.0.0.1:%u", port);
	teeliza_buf_reset(&json);
	assert_int_equal(dcap_pccs_fetch(&json, base, quote, qlen, 5000), TEELIZA_ERR_CONNECT);
	teeliza_buf_free(&json);
	pccs_free(&p);
	free(quote);
}

static void test_cli_pccs_url(void **state)
{
	pccs p;
	http_server *s;
	char base[64], cmd[1024], saved[64], *out = NULL;
	int rc;
	dcap_collateral *c;
	teeliza_buf b;

	(void)state;
	pccs_from_collateral(&p, "dcapqvl-sgx_quote_collateral.json", "sgx", "00A067110000", "processor");
	s = start(&p, base, sizeof(base));
	snprintf(saved, sizeof(saved), "/tmp/teeliza-pccs-%d.json", (int)getpid());
	snprintf(cmd, sizeof(cmd), "%s verify %s/dcapqvl-sgx_quote --pccs-url %s --now 1752919277 --save-collateral %s",
	         TEELIZA_BINARY, TEELIZA_VECTORS, base, saved);
	rc = run_capture(cmd, &out);
	assert_int_equal(rc, 0);
	assert_non_null(strstr(out, "ConfigurationAndSWHardeningNeeded"));
	free(out);
	assert_int_equal(teeliza_read_file(&b, saved, 1 << 22), TEELIZA_OK);
	assert_int_equal(dcap_collateral_parse_json(&c, (const char *)b.data, b.len), TEELIZA_OK);
	dcap_collateral_free(c);
	teeliza_buf_free(&b);
	unlink(saved);
	http_server_stop(s);
	/* 69 when the PCCS is unreachable */
	snprintf(cmd, sizeof(cmd), "%s verify %s/dcapqvl-sgx_quote --pccs-url %s 2>&1", TEELIZA_BINARY, TEELIZA_VECTORS,
	         base);
	rc = run_capture(cmd, &out);
	assert_int_equal(rc, 69);
	free(out);
	pccs_free(&p);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_fetch_and_verify),
		cmocka_unit_test(test_fetch_raw_pcs_bodies),
		cmocka_unit_test(test_fetch_errors),
		cmocka_unit_test(test_cli_pccs_url),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
