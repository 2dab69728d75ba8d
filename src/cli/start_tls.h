/*
 * `teeliza start --tls`: the RA-TLS key and certificate the REST API serves
 * HTTPS with, from the dstack API's GetTlsKey with usage_ra_tls (a dstack
 * CVM, or the simulator in LOCAL/DOCKER). docs/AGENT.md "HTTPS (RA-TLS)".
 */
#ifndef TEELIZA_CLI_START_TLS_H
#define TEELIZA_CLI_START_TLS_H

#include "teeliza/tee/dstack.h"

struct start_tls {
	dstack_tls_key key;      /* the PEM key (secret, wiped on free) and chain */
	teeliza_buf chain_pem;   /* the chain's PEM certificates, leaf first, concatenated */
	char spki_sha256[65];    /* hex SHA-256 of the leaf's SubjectPublicKeyInfo: the statements' "tlsKey" */
};

/*
 * Refuse TEE_API=tappd before anything starts (tappd has no RA-TLS
 * certificate method). Returns an exit code, said on stderr.
 */
int start_tls_check_api(void);

/*
 * Ask GetTlsKey (usage_ra_tls, server auth, subject "teeliza", SAN
 * localhost) on the dstack endpoint chosen as `teeliza get-tls-key`
 * chooses it, and check that the leaf's quote binds its key. Out: *t (free
 * with start_tls_free). Returns an exit code, said on stderr.
 */
int start_tls_get(struct start_tls *t);

/* Wipe the key and free everything. NULL-safe. */
void start_tls_free(struct start_tls *t);

#endif
