/*
 * The PCK certificate chain carried in a quote (certification data type 5)
 * and the Intel SGX extension of the PCK leaf certificate (OID
 * 1.2.840.113741.1.13.1): PPID, TCB (16 component SVNs, PCESVN, CPUSVN),
 * PCE-ID, FMSPC, SGX type, and for multi-package platforms the platform
 * instance ID and configuration. The verifier matches these against TCB Info.
 */
#ifndef TEELIZA_DCAP_PCK_H
#define TEELIZA_DCAP_PCK_H

#include "teeliza/common/common.h"

#include <openssl/x509.h>

#ifdef __cplusplus
extern "C" {
#endif

#define DCAP_SGX_EXT_OID "1.2.840.113741.1.13.1"

/* A PCK chain is leaf, intermediate CA, root: allow a little slack, no more. */
#define DCAP_PEM_CHAIN_MAX_CERTS 8

/* SGX Type values (OID ...13.1.5) */
#define DCAP_SGX_TYPE_STANDARD 0
#define DCAP_SGX_TYPE_SCALABLE 1
#define DCAP_SGX_TYPE_SCALABLE_WITH_INTEGRITY 2

typedef struct dcap_pck_ext {
	uint8_t ppid[16];
	uint8_t cpusvn[16];     /* TCB .18 */
	uint8_t comp_svn[16];   /* TCB .1 to .16: sgxTcbComp01Svn..sgxTcbComp16Svn */
	uint16_t pcesvn;        /* TCB .17 */
	uint8_t pceid[2];
	uint8_t fmspc[6];
	int sgx_type;           /* DCAP_SGX_TYPE_* (other values are kept as found) */
	bool has_platform_instance_id;
	uint8_t platform_instance_id[16];
	bool has_configuration;
	/* Configuration entries: -1 absent, 0 false, 1 true */
	int dynamic_platform;
	int cached_keys;
	int smt_enabled;
} dcap_pck_ext;

/*
 * Split a PEM certificate chain (a quote's type 5 cert_data) into
 * certificates, in the order they appear (leaf first in a quote).
 * Out: *out, a new stack the caller frees with sk_X509_pop_free(*out,
 * X509_free); NULL on failure. In: pem/len (need not be NUL-terminated).
 * Every block must be labelled CERTIFICATE, carry no PEM headers, and hold
 * exactly one DER certificate; after the last one only whitespace and NUL
 * bytes may follow (quotes end the chain with a NUL). Text before a BEGIN
 * line is skipped, as PEM allows.
 * Returns TEELIZA_OK; TEELIZA_ERR_PARSE (no certificate, bad base64 or DER,
 * wrong label, trailing garbage); TEELIZA_ERR_TOO_LARGE (more than
 * DCAP_PEM_CHAIN_MAX_CERTS, or len > INT_MAX); TEELIZA_ERR_NOMEM.
 */
teeliza_err dcap_pem_chain_parse(STACK_OF(X509) **out, const uint8_t *pem, size_t len) TEELIZA_WARN_UNUSED;

/*
 * Read the SGX extension of a PCK leaf certificate.
 * Out: ext (zeroed on failure). In: leaf (borrowed).
 * Returns TEELIZA_OK; TEELIZA_ERR_NOT_FOUND when the certificate has no SGX
 * extension; TEELIZA_ERR_PARSE when it appears twice or its content is
 * malformed (see dcap_pck_ext_parse_der); TEELIZA_ERR_NOMEM.
 */
teeliza_err dcap_pck_ext_parse(dcap_pck_ext *ext, const X509 *leaf) TEELIZA_WARN_UNUSED;

/*
 * Decode the SGX extension value itself (the bytes inside the extension's
 * extnValue OCTET STRING). Strict DER: definite minimal lengths, minimal
 * non-negative INTEGERs, DER BOOLEANs, nothing after the outer SEQUENCE.
 * PPID, all 18 TCB entries, PCE-ID, FMSPC and SGX type are required, each
 * at most once, with their exact sizes; platform instance ID and
 * configuration are optional. Entries with unknown OIDs are skipped.
 * Out: ext (zeroed on failure). Returns TEELIZA_OK or TEELIZA_ERR_PARSE
 * naming the offending entry.
 */
teeliza_err dcap_pck_ext_parse_der(dcap_pck_ext *ext, const uint8_t *der, size_t len) TEELIZA_WARN_UNUSED;

#ifdef __cplusplus
}
#endif
#endif
