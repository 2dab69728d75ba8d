/*
 * DCAP quote parsing: SGX quote v3, TDX/SGX v4, v5 (body descriptor), with
 * certification data type 6 (QE report certification data) holding type 5
 * (PEM PCK chain). The parser never allocates: the view points into the
 * caller's buffer, which must outlive it. Every declared length is checked
 * against what remains before it is used.
 */
#ifndef TEELIZA_DCAP_QUOTE_H
#define TEELIZA_DCAP_QUOTE_H

#include "teeliza/common/common.h"

#include <jansson.h>
#include <stdio.h>

#ifdef __cplusplus
extern "C" {
#endif

#define DCAP_HEADER_LEN 48
#define DCAP_SGX_REPORT_LEN 384
#define DCAP_TD10_REPORT_LEN 584
#define DCAP_TD15_REPORT_LEN 648
#define DCAP_TEE_TYPE_SGX 0x00000000u
#define DCAP_TEE_TYPE_TDX 0x00000081u
#define DCAP_ATT_KEY_ECDSA_P256 2

/* td_attributes bits */
#define DCAP_TD_ATTR_DEBUG (1ull << 0)
#define DCAP_TD_ATTR_SEPT_VE_DISABLE (1ull << 28)
#define DCAP_TD_ATTR_PKS (1ull << 30)
#define DCAP_TD_ATTR_KL (1ull << 31)
#define DCAP_TD_ATTR_PERFMON (1ull << 63)

extern const uint8_t DCAP_INTEL_QE_VENDOR_ID[16];

typedef enum dcap_body_type {
	DCAP_BODY_SGX = 1,   /* enclave report, 384 bytes */
	DCAP_BODY_TD10 = 2,  /* TD report 1.0, 584 bytes */
	DCAP_BODY_TD15 = 3,  /* TD report 1.5, 648 bytes */
} dcap_body_type;

typedef struct dcap_header {
	uint16_t version;
	uint16_t att_key_type;
	uint32_t tee_type;
	uint16_t qe_svn;
	uint16_t pce_svn;
	const uint8_t *qe_vendor_id; /* 16 */
	const uint8_t *user_data;    /* 20; first 16 = QE ID */
} dcap_header;

/* SGX enclave report (also the layout of the QE report). Pointers into the quote. */
typedef struct dcap_sgx_report {
	const uint8_t *raw;        /* 384 bytes, the whole report */
	const uint8_t *cpusvn;     /* 16 */
	uint32_t miscselect;
	const uint8_t *attributes; /* 16; attributes[0] bit 1 = DEBUG */
	const uint8_t *mrenclave;  /* 32 */
	const uint8_t *mrsigner;   /* 32 */
	uint16_t isvprodid;
	uint16_t isvsvn;
	const uint8_t *report_data; /* 64 */
} dcap_sgx_report;

/* TD report 1.0 and 1.5. Fields of 1.5 are NULL for 1.0. */
typedef struct dcap_td_report {
	const uint8_t *raw;          /* 584 or 648 bytes */
	const uint8_t *tee_tcb_svn;  /* 16 */
	const uint8_t *mrseam;       /* 48 */
	const uint8_t *mrsignerseam; /* 48 */
	uint64_t seam_attributes;
	uint64_t td_attributes;
	uint64_t xfam;
	const uint8_t *mrtd;          /* 48 */
	const uint8_t *mrconfigid;    /* 48 */
	const uint8_t *mrowner;       /* 48 */
	const uint8_t *mrownerconfig; /* 48 */
	const uint8_t *rtmr[4];       /* 48 each */
	const uint8_t *report_data;   /* 64 */
	const uint8_t *tee_tcb_svn2;  /* 16, TD 1.5 only */
	const uint8_t *mr_service_td; /* 48, TD 1.5 only */
} dcap_td_report;

typedef struct dcap_quote {
	dcap_header header;
	dcap_body_type body_type;
	uint32_t body_size;            /* 384, 584 or 648 */
	union {
		dcap_sgx_report sgx;
		dcap_td_report td;
	} body;

	/* header ‖ (v5 descriptor ‖) body: what the attestation key signs */
	const uint8_t *signed_data;
	size_t signed_len;

	uint32_t sig_data_len;
	const uint8_t *signature;      /* 64: r ‖ s big-endian */
	const uint8_t *att_pub_key;    /* 64: X ‖ Y, no 0x04 */

	dcap_sgx_report qe_report;     /* its raw field is what the PCK signs */
	const uint8_t *qe_report_sig;  /* 64 */
	const uint8_t *qe_auth;
	uint16_t qe_auth_len;

	uint16_t cert_type;            /* innermost certification data type (5 = PEM chain) */
	const uint8_t *cert_data;      /* the PEM chain for type 5 (leaf, intermediate, root) */
	uint32_t cert_data_len;

	size_t parsed_len;             /* bytes covered by the structure; the rest is trailing padding */
	size_t trailing_len;
} dcap_quote;

/*
 * Parse a quote. Out: q (zeroed on failure). In: buf/len (borrowed).
 * Returns TEELIZA_OK; TEELIZA_ERR_TRUNCATED when a declared length runs past
 * the end; TEELIZA_ERR_UNSUPPORTED for unknown versions, key types, body or
 * certification data types; TEELIZA_ERR_PARSE for inconsistent sizes. The
 * detail names the field (teeliza_errmsg()).
 */
teeliza_err dcap_quote_parse(dcap_quote *q, const uint8_t *buf, size_t len) TEELIZA_WARN_UNUSED;

/*
 * Decode only the 48-byte header, without judging any field, so that a quote
 * the full parser refuses (say att_key_type 3) can still be described.
 * Out: h (zeroed on failure; pointers into buf). Returns TEELIZA_OK or
 * TEELIZA_ERR_TRUNCATED when len < 48.
 *
 * Parser decisions (dcap_quote_parse): version must be 3, 4 or 5;
 * att_key_type must be 2 (the signature data layout depends on it; error
 * "unsupported attestation key type 3 (only 2, ECDSA-256-with-P-256)");
 * tee_type 0 (SGX) or 0x81 (TDX), v3 SGX only; a v5 body_size must match its
 * type and the type must match tee_type; the certification data must be type 6
 * holding type 5 (v4/v5) or type 5 (v3), and each structure inside sig_data
 * must end exactly where its declared length ends. qe_vendor_id is NOT
 * checked: compare with DCAP_INTEL_QE_VENDOR_ID in the verifier. Bytes after
 * sig_data are allowed (trailing_len).
 */
teeliza_err dcap_header_parse(dcap_header *h, const uint8_t *buf, size_t len) TEELIZA_WARN_UNUSED;

/* "sgx", "td10", "td15" (as dcap-qvl's JS names report types), or "unknown". */
const char *dcap_body_type_name(dcap_body_type type);

/*
 * Describe a parsed quote as JSON: header, body (every TD or SGX report
 * field, td_attributes with its named bits), signature data with the QE
 * report, and sizes. Byte fields are lowercase hex strings of the bytes as
 * they appear in the quote (seam_attributes, td_attributes, xfam included).
 * Out: *out, a new reference the caller json_decref()s (NULL on failure).
 * Returns TEELIZA_OK or TEELIZA_ERR_NOMEM.
 */
teeliza_err dcap_quote_to_json(json_t **out, const dcap_quote *q) TEELIZA_WARN_UNUSED;

/* Print a parsed quote to f as an aligned, human-readable table. */
void dcap_quote_print(FILE *f, const dcap_quote *q);

#ifdef __cplusplus
}
#endif
#endif
