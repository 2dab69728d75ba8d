/*
 * Internals shared by the simulator PKI, quote and collateral code
 * (sim_pki.c, sim_cert.c, sim_quote.c, sim_collateral.c, sim_values.c).
 * The fixed simulated platform values live in sim_values.c so that the PCK
 * certificate, the quote and the TCB Info / QE Identity always agree.
 */
#ifndef TEELIZA_SIM_INTERNAL_H
#define TEELIZA_SIM_INTERNAL_H

#include "teeliza/sim/simulator.h"

#include <openssl/evp.h>
#include <openssl/x509.h>

/* ---- fixed simulated platform values (sim_values.c) ---- */

#define SIM_TCB_COMPONENTS 16

extern const uint8_t sim_fmspc[6];
extern const uint8_t sim_pceid[2];
extern const uint8_t sim_sgx_tcb_svn[SIM_TCB_COMPONENTS]; /* PCK comp SVNs, also the CPUSVN */
extern const uint16_t sim_pcesvn;
extern const uint8_t sim_tee_tcb_svn[SIM_TCB_COMPONENTS]; /* TD report: [0] module minor, [1] major */
extern const uint8_t sim_mrseam[48];
extern const uint8_t sim_mrtd[48];
extern const uint64_t sim_td_attributes;
extern const uint64_t sim_xfam;
extern const uint8_t sim_qe_mrsigner[32];
extern const uint8_t sim_qe_mrenclave[32];
extern const uint8_t sim_qe_attributes[16];
extern const uint32_t sim_qe_miscselect;
extern const uint16_t sim_qe_isvprodid;
extern const uint16_t sim_qe_isvsvn;
extern const uint8_t sim_qe_auth[32];
extern const unsigned sim_tcb_eval_number;
extern const char sim_tcb_date[]; /* date of the only TCB level, RFC 3339 */

/* ---- the PKI ---- */

typedef struct sim_entity {
	EVP_PKEY *key;
	X509 *cert;   /* NULL for the attestation key */
	char *pem;    /* the certificate as PEM text, NUL-terminated */
} sim_entity;

struct tee_sim_pki {
	sim_entity root;    /* self-signed root CA */
	sim_entity pck_ca;  /* "Platform CA", issued by root */
	sim_entity pck;     /* PCK leaf, issued by pck_ca */
	sim_entity tcb;     /* TCB signing, issued by root */
	sim_entity att;     /* quoting enclave's attestation key (no certificate) */

	uint8_t att_pub[64];  /* X ‖ Y */

	/* Precomputed quote pieces: everything but the attestation signature. */
	uint8_t quote_prefix[48 + 584]; /* header ‖ TD report template */
	uint8_t *quote_tail;            /* att_pub ‖ certification data (type 6) */
	size_t quote_tail_len;
};

/* ---- helpers ---- */

/* ECDSA-P256-SHA256 over msg, as raw r ‖ s (32 bytes each, big-endian). */
teeliza_err sim_sign_raw(uint8_t sig[64], EVP_PKEY *key, const uint8_t *msg, size_t len) TEELIZA_WARN_UNUSED;

/* Uncompressed P-256 public key of key as X ‖ Y. */
teeliza_err sim_pub_xy(uint8_t out[64], EVP_PKEY *key) TEELIZA_WARN_UNUSED;

/* A fresh P-256 key pair. */
teeliza_err sim_gen_key(EVP_PKEY **out) TEELIZA_WARN_UNUSED;

/* Which certificate sim_cert_issue builds. */
typedef enum sim_cert_kind {
	SIM_CERT_ROOT,
	SIM_CERT_PCK_CA,
	SIM_CERT_PCK,
	SIM_CERT_TCB_SIGNING,
} sim_cert_kind;

/*
 * Issue a certificate for subject_key shaped like Intel's of that kind (same
 * extensions, order and key usages; PCK with the SGX extension). issuer_cert
 * is NULL for the root, which is then self-signed by subject_key.
 */
teeliza_err sim_cert_issue(X509 **out, sim_cert_kind kind, EVP_PKEY *subject_key, const X509 *issuer_cert,
                           EVP_PKEY *issuer_key) TEELIZA_WARN_UNUSED;

/* DER of the SGX extension (OID 1.2.840.113741.1.13.1) value for the simulated PCK. */
teeliza_err sim_sgx_extension_der(teeliza_buf *out, const uint8_t ppid[16],
                                  const uint8_t platform_instance_id[16]) TEELIZA_WARN_UNUSED;

/* Collateral (TCB Info, QE Identity, CRLs) is valid from now - BEFORE to now + AFTER. */
#define SIM_COLLATERAL_BEFORE INT64_C(86400)        /* 1 day */
#define SIM_COLLATERAL_AFTER (INT64_C(30) * 86400)  /* 30 days */

/* An empty CRL signed by issuer, valid now - 1 day .. now + 30 days; DER. */
teeliza_err sim_crl_der(teeliza_buf *out, const X509 *issuer_cert, EVP_PKEY *issuer_key,
                        int64_t now) TEELIZA_WARN_UNUSED;

/* Build pki->quote_prefix and pki->quote_tail (sim_quote.c); called once by tee_sim_pki_open. */
teeliza_err sim_quote_prepare(tee_sim_pki *pki) TEELIZA_WARN_UNUSED;

#endif
