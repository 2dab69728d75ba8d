/* A PCCS on loopback for tests (pccs_fake.h). */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <cmocka.h>

#include "pccs_fake.h"
#include "testutil.h"
#include "teeliza/common/common.h"

#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

char *pccs_fake_header(const char *name, const char *pem)
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
	pccs_fake *p = ctx;
	char path[128], want[64];
	teeliza_err err = TEELIZA_OK;
	size_t i;

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
		if (p->tcb_redirect != NULL && strstr(req->query, "&moved=1") == NULL) {
			snprintf(p->loc_header, sizeof(p->loc_header), "Location: %s", p->tcb_redirect);
			reply->status = 302;
			reply->extra_headers[0] = p->loc_header;
			return;
		}
		if (p->tcb_404 || strncmp(req->query, want, strlen(want)) != 0) {
			reply->status = 404;
			return;
		}
		reply->extra_headers[0] = p->h_tcb;
		err = teeliza_buf_append_str(&reply->body, p->tcb_body);
		for (i = 0; !err && i < p->tcb_pad; i += 1024) {
			char blanks[1024];

			memset(blanks, ' ', sizeof(blanks));
			err = teeliza_buf_append(&reply->body, blanks, p->tcb_pad - i < 1024 ? p->tcb_pad - i : 1024);
		}
	} else if (strcmp(req->path + 4, "/certification/v4/qe/identity") == 0 && strncmp(req->path + 1, p->tee, 3) == 0) {
		if (p->qe_header_raw != NULL)
			reply->extra_headers[0] = p->qe_header_raw;
		else if (!p->no_qe_header)
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

char *pccs_fake_signed_body(const char *key, const char *text, const char *sig, bool spaces)
{
	size_t n = strlen(key) + strlen(text) + strlen(sig) + 64;
	char *b = malloc(n);

	snprintf(b, n, spaces ? "{ \"%s\" :  %s ,\n \"signature\" : \"%s\" }\n" : "{\"%s\":%s,\"signature\":\"%s\"}", key,
	         text, sig);
	return b;
}

void pccs_fake_init(pccs_fake *p, const char *name, const char *tee, const char *fmspc, const char *ca)
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
	p->tcb_body = pccs_fake_signed_body("tcbInfo", json_string_value(json_object_get(j, "tcb_info")),
	                                    json_string_value(json_object_get(j, "tcb_info_signature")), true);
	p->qe_body = pccs_fake_signed_body("enclaveIdentity", json_string_value(json_object_get(j, "qe_identity")),
	                                   json_string_value(json_object_get(j, "qe_identity_signature")), false);
	p->h_crl = pccs_fake_header("SGX-PCK-CRL-Issuer-Chain",
	                            json_string_value(json_object_get(j, "pck_crl_issuer_chain")));
	p->h_tcb = pccs_fake_header("TCB-Info-Issuer-Chain", json_string_value(json_object_get(j, "tcb_info_issuer_chain")));
	p->h_qe = pccs_fake_header("SGX-Enclave-Identity-Issuer-Chain",
	                           json_string_value(json_object_get(j, "qe_identity_issuer_chain")));
	json_decref(j);
}

void pccs_fake_start(pccs_fake *p)
{
	http_server_config cfg = {0};

	cfg.host = "127.0.0.1";
	cfg.port = 0;
	cfg.handler = handler;
	cfg.ctx = p;
	assert_int_equal(http_server_start(&p->server, &cfg), TEELIZA_OK);
	p->port = http_server_port(p->server);
	snprintf(p->base, sizeof(p->base), "http://127.0.0.1:%u", p->port);
}

void pccs_fake_stop(pccs_fake *p)
{
	if (p->server != NULL)
		http_server_stop(p->server);
	p->server = NULL;
}

int pccs_fake_requests(pccs_fake *p)
{
	return __atomic_load_n(&p->requests, __ATOMIC_SEQ_CST);
}

void pccs_fake_free(pccs_fake *p)
{
	pccs_fake_stop(p);
	free(p->pck_crl);
	free(p->root_crl_hex);
	free(p->tcb_body);
	free(p->qe_body);
	free(p->h_crl);
	free(p->h_tcb);
	free(p->h_qe);
}
