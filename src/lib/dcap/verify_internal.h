/*
 * Internals of the DCAP verifier shared by collateral.c, tcb_info.c,
 * qe_identity.c, x509_decode.c, x509_chain.c, tcb_status.c, verify.c, cache.c
 * and pccs.c.
 * Not installed; nothing outside src/lib/dcap includes it.
 */
#ifndef TEELIZA_DCAP_VERIFY_INTERNAL_H
#define TEELIZA_DCAP_VERIFY_INTERNAL_H

#include <jansson.h>
#include <openssl/evp.h>
#include <openssl/x509.h>
#include <openssl/x509v3.h>
#include <pthread.h>
#include <stdatomic.h>

#include "teeliza/dcap/pck.h"
#include "teeliza/dcap/verify.h"

/* Limits on untrusted collateral: far above anything Intel serves. */
#define DCAP_MAX_COLLATERAL_JSON (4u << 20)
#define DCAP_MAX_CHAIN_CERTS 8
#define DCAP_MAX_TCB_LEVELS 512
#define DCAP_MAX_MODULE_IDENTITIES 64
#define DCAP_MAX_JSON_DEPTH 16

/* ---- small JSON helpers (verify_json.c); each sets a precise error naming `what`.`key` ---- */

/* ISO 8601 "YYYY-MM-DDTHH:MM:SSZ" (optionally with fractional seconds) to Unix seconds. */
teeliza_err dcap_parse_date(int64_t *out, const char *s);
/* Unix seconds to "YYYY-MM-DDTHH:MM:SSZ". */
void dcap_format_date(char out[24], int64_t t);

teeliza_err dcap_json_string(const char **out, const json_t *obj, const char *key, const char *what);
teeliza_err dcap_json_uint(uint32_t *out, const json_t *obj, const char *key, uint32_t max, const char *what);
teeliza_err dcap_json_date(int64_t *out, const json_t *obj, const char *key, const char *what);
/* A hex string of exactly n bytes (either case). */
teeliza_err dcap_json_hex(uint8_t *out, size_t n, const json_t *obj, const char *key, const char *what);
/* A JSON text parsed strictly: no duplicate keys, nothing after the value, depth-limited. */
teeliza_err dcap_json_load(json_t **out, const char *text, size_t len, const char *what);

/* ---- TCB Info (tcb_info.c) ---- */

typedef struct dcap_id_level {       /* a level of a QE Identity or TDX module identity */
	uint32_t isvsvn;
	dcap_tcb_status status;       /* UpToDate, OutOfDate or Revoked */
	char tcb_date[24];
	const json_t *advisories;     /* array of strings or NULL; owned by the parsed JSON */
} dcap_id_level;

typedef struct dcap_tcb_level {
	uint8_t sgx[16];
	uint16_t pcesvn;
	uint8_t tdx[16];
	dcap_tcb_status status;
	char tcb_date[24];
	const json_t *advisories;
	size_t order;                 /* position in the JSON, for a stable sort */
} dcap_tcb_level;

typedef struct dcap_module_identity {
	char id[16];                  /* "TDX_01" ... as written */
	uint8_t mrsigner[48];
	uint8_t attributes[8];
	uint8_t attributes_mask[8];
	size_t nlevels;
	dcap_id_level *levels;        /* sorted by isvsvn, highest first */
} dcap_module_identity;

typedef struct dcap_tcb_info {
	json_t *root;
	bool tdx;
	uint32_t version;
	int64_t issue_date, next_update;
	uint8_t fmspc[6];
	uint8_t pceid[2];
	uint32_t tcb_type;
	uint32_t eval_number;
	bool has_module;              /* tdxModule present */
	uint8_t module_mrsigner[48];
	uint8_t module_attributes[8];
	uint8_t module_attributes_mask[8];
	size_t nmodules;
	dcap_module_identity *modules;
	size_t nlevels;
	dcap_tcb_level *levels;       /* sorted as Intel's QVL orders them: highest first */
} dcap_tcb_info;

/* Parse the exact signed tcbInfo text. Out: ti (freed with dcap_tcb_info_free). */
teeliza_err dcap_tcb_info_parse(dcap_tcb_info *ti, const char *text, size_t len);
void dcap_tcb_info_free(dcap_tcb_info *ti);
/* The module identity "TDX_%02X" of this major version (case-insensitive id), or NULL. */
const dcap_module_identity *dcap_tcb_info_find_module(const dcap_tcb_info *ti, uint8_t major);

/* Status names allowed in platform TCB levels / identity levels. */
teeliza_err dcap_parse_level_status(dcap_tcb_status *out, const char *s, bool identity, const char *what);
teeliza_err dcap_parse_id_levels(dcap_id_level **out, size_t *n, const json_t *arr, const char *what);

/* ---- QE Identity (qe_identity.c) ---- */

typedef struct dcap_qe_identity {
	json_t *root;
	char id[8];                   /* "QE", "TD_QE" or "QVE" */
	uint32_t version;
	int64_t issue_date, next_update;
	uint32_t eval_number;
	uint32_t miscselect, miscselect_mask;
	uint8_t attributes[16], attributes_mask[16];
	uint8_t mrsigner[32];
	uint16_t isvprodid;
	size_t nlevels;
	dcap_id_level *levels;        /* sorted by isvsvn, highest first */
} dcap_qe_identity;

teeliza_err dcap_qe_identity_parse(dcap_qe_identity *qi, const char *text, size_t len);
void dcap_qe_identity_free(dcap_qe_identity *qi);

/* ---- TCB evaluation (tcb_status.c) ---- */

typedef struct dcap_tcb_eval {
	dcap_failure failure;
	const dcap_tcb_level *sgx_level;       /* first level matching the SGX components and PCESVN */
	const dcap_tcb_level *tdx_level;       /* TDX: first level also matching tee_tcb_svn */
	const dcap_module_identity *module;    /* TDX module major > 0 */
	const dcap_id_level *module_level;
	dcap_tcb_status platform_status;       /* TDX: the TDX level's, SGX: the SGX level's */
	dcap_tcb_status module_status;         /* UpToDate when the module has no identity (major 0) */
	dcap_tcb_status converged;
} dcap_tcb_eval;

/* QVL's convergence of a TCB level status with a QE or TDX module status. */
dcap_tcb_status dcap_converge(dcap_tcb_status level, dcap_tcb_status other);
const dcap_id_level *dcap_id_level_match(const dcap_id_level *levels, size_t n, uint32_t svn);
/* Match the platform (and TD) against TCB Info and converge with qe_status (UpToDate/OutOfDate/Revoked). */
teeliza_err dcap_tcb_evaluate(dcap_tcb_eval *ev, const dcap_tcb_info *ti, const dcap_pck_ext *pck,
                              const dcap_quote *q, dcap_tcb_status qe_status);

/* ---- crypto helpers (verify_crypto.c) ---- */

const EVP_MD *dcap_sha256(void);
/* ECDSA-P256-SHA256 over msg with a raw r ‖ s signature. TEELIZA_ERR_VERIFY when it does not verify. */
teeliza_err dcap_ecdsa_verify(EVP_PKEY *key, const uint8_t sig[64], const uint8_t *msg, size_t msg_len);
/* A P-256 public key from raw X ‖ Y. Caller frees with EVP_PKEY_free. */
teeliza_err dcap_p256_key(EVP_PKEY **out, const uint8_t xy[64]);
void dcap_sha256_of(uint8_t out[32], const void *data, size_t len);

/* ---- certificates (decoded in x509_decode.c, verified in x509_chain.c) ---- */

/*
 * Certificates of a PEM text (leaf first), at most DCAP_MAX_CHAIN_CERTS; only
 * whitespace and NULs around the CERTIFICATE blocks, no PEM headers, one DER
 * certificate per block. Decoded objects are shared by content (x509_decode.c).
 */
teeliza_err dcap_pem_chain(STACK_OF(X509) **out, const char *pem, size_t len, const char *what);
teeliza_err dcap_der_crl(X509_CRL **out, const uint8_t *der, size_t len, const char *what);
int64_t dcap_asn1_time(const ASN1_TIME *t);

/* A CRL whose signature was verified with signer (its issuer's key); both borrowed. */
typedef struct dcap_crl_ref {
	X509_CRL *crl;
	EVP_PKEY *signer;
} dcap_crl_ref;

/*
 * Accept crl as issued by issuer: names match, the signature verifies with
 * issuer's key, no critical extensions (no delta or indirect CRLs). Errors
 * name the CRL (what) and where its issuer came from (issuer_what).
 */
teeliza_err dcap_crl_accept(dcap_crl_ref *out, X509_CRL *crl, X509 *issuer, const char *what,
                            const char *issuer_what);

/* The self-signed root above chain[0] through the chain's own certificates, the root possibly from pool (borrowed), or NULL. */
X509 *dcap_chain_anchor(STACK_OF(X509) *chain, STACK_OF(X509) *pool);

/* The outcome of one chain check. */
typedef struct dcap_chain_check {
	dcap_failure failure;         /* DCAP_FAIL_NONE when it verified */
	uint8_t root_sha256[32];
	bool intel_root;
	X509 *root;                   /* the anchor (borrowed from the chain or the pool) */
	int64_t valid_from, valid_until; /* window in which the certificates are all valid */
} dcap_chain_check;

/*
 * The certificate paths one verification has verified (all at the same time,
 * against the same CRLs and trust set), leaf first, anchor last. A chain that
 * is a piece of one of them needs no second check (dcap_chain_on_path).
 */
#define DCAP_VERIFIED_PATHS 4

typedef struct dcap_verified_paths {
	size_t n;
	struct dcap_verified_path {
		STACK_OF(X509) *certs;        /* references held */
		dcap_chain_check check;       /* the check that verified it */
		int64_t crl_from;             /* latest thisUpdate of the CRLs used */
	} path[DCAP_VERIFIED_PATHS];
} dcap_verified_paths;

void dcap_verified_paths_free(dcap_verified_paths *seen);

/*
 * Verify chain (leaf first) at now against trust, every certificate (root
 * included) checked against one of crls, each already accepted with
 * dcap_crl_accept. Intermediates come from the chain only; the root from the
 * chain or from `pool` (other chains' certificates). Every certificate of the
 * chain must lie on the verified path. CRL dates are the caller's business.
 * On success the verified path is added to seen (when not NULL).
 * On failure: out->failure set, error recorded (teeliza_errmsg), returns it.
 */
teeliza_err dcap_chain_verify(dcap_chain_check *out, STACK_OF(X509) *chain, STACK_OF(X509) *pool,
                              const dcap_crl_ref *crls, size_t ncrls, const dcap_trust *trust, int64_t now,
                              dcap_verified_paths *seen, const char *what);

/*
 * True when chain is a piece of a path in seen: its first certificate is on
 * that path, every certificate it holds is on the path from there to the
 * root, and it leaves none of them out (but the root, which dcap_chain_verify
 * also takes from the pool). dcap_chain_verify would then build that same
 * piece of path and accept it; out is filled as it would fill it (the window
 * that of the piece). A chain with any other certificate is not on a path.
 */
bool dcap_chain_on_path(dcap_chain_check *out, const dcap_verified_paths *seen, STACK_OF(X509) *chain);

/* Trust sets (trust.c). */
struct dcap_trust {
	uint64_t id;                  /* unique per content version: memo key */
	bool intel;
	size_t nroots;
	uint8_t (*fingerprints)[32];
	STACK_OF(X509) *roots;        /* the added certificates */
};
bool dcap_trust_has(const dcap_trust *t, const uint8_t fp[32]);
const dcap_trust *dcap_trust_default(void);

/* ---- collateral (collateral.c) ---- */

#define DCAP_PCK_MEMO 16

typedef struct dcap_pck_memo {        /* a verified PCK chain from a quote, keyed by the PEM's hash */
	bool used;
	uint8_t pem_sha256[32];
	uint64_t trust_id;
	int64_t valid_from, valid_until;
	dcap_chain_check check;
	dcap_pck_ext ext;
	bool platform_ca;             /* issued by the Platform CA (else the Processor CA) */
	EVP_PKEY *key;                /* the leaf's public key */
	uint64_t stamp;               /* for replacement */
} dcap_pck_memo;

#define DCAP_QE_MEMO 8

typedef struct dcap_qe_memo {         /* a QE report signature that verified, and its attestation key */
	bool used;
	uint8_t key[32];              /* SHA-256(PCK chain PEM hash || QE report || QE report signature) */
	uint8_t att_xy[64];
	EVP_PKEY *att;
	uint64_t stamp;
} dcap_qe_memo;

struct dcap_collateral {
	atomic_int refs;
	pthread_mutex_t lock;

	char *pck_crl_issuer_chain;
	size_t pck_crl_issuer_chain_len;
	uint8_t *root_ca_crl;
	size_t root_ca_crl_len;
	uint8_t *pck_crl;
	size_t pck_crl_len;
	char *tcb_info_issuer_chain;
	size_t tcb_info_issuer_chain_len;
	char *tcb_info;               /* exact signed text */
	size_t tcb_info_len;
	uint8_t tcb_info_signature[64];
	char *qe_identity_issuer_chain;
	size_t qe_identity_issuer_chain_len;
	char *qe_identity;            /* exact signed text */
	size_t qe_identity_len;
	uint8_t qe_identity_signature[64];
	char *pck_certificate_chain;  /* optional, NULL when absent */
	size_t pck_certificate_chain_len;

	STACK_OF(X509) *pck_crl_chain;
	STACK_OF(X509) *tcb_chain;
	STACK_OF(X509) *qe_chain;
	STACK_OF(X509) *pck_chain;    /* from pck_certificate_chain, or NULL */
	STACK_OF(X509) *pool;         /* the three issuer chains' certificates, for finding roots */
	X509_CRL *root_crl;
	X509_CRL *pck_crl_obj;
	int64_t root_crl_this, root_crl_next, pck_crl_this, pck_crl_next;

	dcap_tcb_info tcb;
	dcap_qe_identity qe;

	/* CRL signatures, checked once (they do not depend on time or trust). */
	bool crls_ok;
	dcap_crl_ref crls[2];         /* root CA CRL, PCK CRL */

	/* Memo of the collateral's own checks (chains, TCB Info and QE Identity signatures). */
	bool memo_ok;
	uint64_t memo_trust_id;
	int64_t memo_from, memo_until;
	dcap_chain_check memo_tcb_check;

	dcap_pck_memo pck_memo[DCAP_PCK_MEMO];
	dcap_qe_memo qe_memo[DCAP_QE_MEMO];
	uint64_t pck_stamp;
};

/* ---- the collateral's outer JSON (collateral_json.c) ---- */

typedef struct dcap_flat_field {
	const char *name;             /* in: the key */
	char *value;                  /* out: decoded string (malloc'd, NUL-terminated) or NULL */
	size_t len;
	bool present, is_null;
} dcap_flat_field;

/*
 * Parse a JSON object whose interesting values are strings (or null): fills
 * the named fields; other keys are validated and skipped. Strict: no
 * duplicate keys, valid UTF-8, nothing after the object. On failure every
 * value is freed.
 */
teeliza_err dcap_flat_json_parse(dcap_flat_field *fields, size_t nfields, const char *text, size_t len,
                                 const char *what);

#endif
