/*
 * `teeliza verify --ra-tls HOST:PORT | --cert FILE`: the quote (and event
 * log) out of an RA-TLS certificate, its binding to the certificate's key
 * checked, for verify to check as any quote. docs/VERIFY.md "RA-TLS".
 */
#ifndef TEELIZA_CLI_VERIFY_RATLS_H
#define TEELIZA_CLI_VERIFY_RATLS_H

#include "teeliza/common/common.h"

#include <jansson.h>
#include <stdio.h>

struct verify_ratls {
	char source[300];          /* "https://host:port" or the file */
	char tls_key[65];          /* hex SHA-256 of the certificate's SubjectPublicKeyInfo */
	uint8_t report_data[64];   /* SHA-512("ratls-cert:" || SPKI): what the quote carries */
	bool has_event_log;        /* extension 1.2 was there (and was taken, unless --event-log) */
	bool has_app_id;
	uint8_t app_id[20];        /* extension 1.3 */
	bool has_attestation;      /* extension 1.8 (not decoded) */
};

/*
 * Fetch the certificate (host_port: "HOST:PORT", "[V6]:PORT"; or the
 * PEM/DER file cert_path), read its extensions and check the binding.
 * Out: *r, quote (initialised here) and, when the certificate has an event
 * log, its text appended to event_log (initialised by the caller). Returns
 * an exit code, having said what failed on stderr: 2 no quote extension or
 * the binding fails, 3 a malformed certificate or extension, 64 a bad
 * HOST:PORT, 69 no TLS handshake, 74 the file unreadable.
 */
int verify_ratls_load(struct verify_ratls *r, teeliza_buf *quote, teeliza_buf *event_log, const char *host_port,
                      const char *cert_path, long timeout_ms);

/* The lines printed before the quote's. */
void verify_ratls_print(FILE *f, const struct verify_ratls *r);

/* {"source","tlsKey","reportData","binding":"ok","eventLog":bool,"appId"} for --json; NULL on OOM. */
json_t *verify_ratls_json(const struct verify_ratls *r);

#endif
