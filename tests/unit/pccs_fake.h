/*
 * A PCCS on loopback for tests, on the project's HTTP server: it serves a
 * vector's collateral the way Intel PCS / PCCS API v4 does (issuer chains
 * URL-encoded in response headers, the signed object next to its signature
 * in the body, a DER PCK CRL, a hex root CA CRL), and misbehaves on demand.
 */
#ifndef TEELIZA_TEST_PCCS_FAKE_H
#define TEELIZA_TEST_PCCS_FAKE_H

#include "teeliza/http/http.h"

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

typedef struct pccs_fake {
	char tee[8];             /* "tdx" or "sgx" */
	char fmspc[16];
	char ca[16];
	uint8_t *pck_crl;        /* DER */
	size_t pck_crl_len;
	char *root_crl_hex;
	char *tcb_body, *qe_body;
	char *h_crl, *h_tcb, *h_qe; /* "Name: url-encoded PEM" */
	/* misbehaviour */
	bool tcb_404, no_qe_header;
	const char *tcb_redirect;   /* the TCB Info request (without "&moved=1") answers 302 to this */
	size_t tcb_pad;             /* append this many blanks to the TCB Info body */
	const char *qe_header_raw;  /* send this header line instead of the QE Identity chain */
	int requests;
	char loc_header[320];
	http_server *server;
	char base[64];              /* http://127.0.0.1:PORT */
	uint16_t port;
} pccs_fake;

/* "Name: value" with value URL-encoded as encodeURIComponent does (malloc). */
char *pccs_fake_header(const char *name, const char *pem);

/* {"<key>": <text>, "signature": "<sig>"} (malloc); spaces: with blanks around the parts. */
char *pccs_fake_signed_body(const char *key, const char *text, const char *sig, bool spaces);

/* Load the collateral of a dcap-qvl JSON vector for a quote of that TEE, FMSPC and PCK CA. */
void pccs_fake_init(pccs_fake *p, const char *vector, const char *tee, const char *fmspc, const char *ca);

/* Start serving on a free loopback port (p->base, p->port); fails the test on error. */
void pccs_fake_start(pccs_fake *p);

/* Stop serving (the port is then free: nobody answers). */
void pccs_fake_stop(pccs_fake *p);

/* Requests served so far. */
int pccs_fake_requests(pccs_fake *p);

/* Stop if serving, and free everything. */
void pccs_fake_free(pccs_fake *p);

#endif
