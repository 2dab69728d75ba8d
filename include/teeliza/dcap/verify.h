/*
 * DCAP quote verification (SGX v3, TDX/SGX v4, TDX v5) against collateral in
 * dcap-qvl's QuoteCollateralV3 JSON form, following Intel's QVL semantics
 * (status convergence tables, TDX module identities, TD relaunch) plus the
 * extra safety checks of Phala's dcap-qvl (QE identity policy, TD attribute
 * policy, sorted TCB levels). docs/VERIFY.md explains every check and default.
 *
 * Trust: the Intel SGX Root CA is pinned by its SHA-256 fingerprint
 * (DCAP_INTEL_ROOT_SHA256); the certificate itself is taken from the quote's or
 * the collateral's chains. Other roots (the teeliza simulator's) are trusted
 * only when added to a dcap_trust explicitly.
 *
 * Thread safety: a dcap_collateral, dcap_trust and dcap_cache may be shared by
 * threads verifying concurrently; dcap_verify locks what it updates.
 */
#ifndef TEELIZA_DCAP_VERIFY_H
#define TEELIZA_DCAP_VERIFY_H

#include <stdio.h>

#include "teeliza/common/common.h"
#include "teeliza/dcap/quote.h"

#ifdef __cplusplus
extern "C" {
#endif

/* SHA-256 of the DER Intel SGX Root CA certificate: 44A0196B…B674D3. */
extern const uint8_t DCAP_INTEL_ROOT_SHA256[32];

/* ---- statuses ---- */

/* The converged TCB status, Intel QVL's set. 0 = no status (verification failed). */
typedef enum dcap_tcb_status {
	DCAP_STATUS_NONE = 0,
	DCAP_STATUS_UP_TO_DATE,
	DCAP_STATUS_SW_HARDENING_NEEDED,
	DCAP_STATUS_CONFIGURATION_NEEDED,
	DCAP_STATUS_CONFIGURATION_AND_SW_HARDENING_NEEDED,
	DCAP_STATUS_OUT_OF_DATE,
	DCAP_STATUS_OUT_OF_DATE_CONFIGURATION_NEEDED,
	DCAP_STATUS_TD_RELAUNCH_ADVISED,
	DCAP_STATUS_TD_RELAUNCH_ADVISED_CONFIGURATION_NEEDED,
	DCAP_STATUS_REVOKED,
	DCAP_STATUS__COUNT
} dcap_tcb_status;

#define DCAP_STATUS_BIT(s) (1u << (unsigned)(s))

/* The statuses a default policy accepts: UpToDate, SWHardeningNeeded,
 * ConfigurationNeeded, ConfigurationAndSWHardeningNeeded. */
#define DCAP_DEFAULT_ACCEPTED                                                          \
	(DCAP_STATUS_BIT(DCAP_STATUS_UP_TO_DATE) | DCAP_STATUS_BIT(DCAP_STATUS_SW_HARDENING_NEEDED) | \
	 DCAP_STATUS_BIT(DCAP_STATUS_CONFIGURATION_NEEDED) |                             \
	 DCAP_STATUS_BIT(DCAP_STATUS_CONFIGURATION_AND_SW_HARDENING_NEEDED))

/* Intel's spelling ("UpToDate", "OutOfDateConfigurationNeeded", ...); "" for NONE. Never NULL. */
const char *dcap_tcb_status_name(dcap_tcb_status s);

/* Parse Intel's spelling (case-sensitive). TEELIZA_ERR_INVALID for anything else. */
teeliza_err dcap_tcb_status_parse(dcap_tcb_status *out, const char *name) TEELIZA_WARN_UNUSED;

/* ---- trust anchors ---- */

typedef struct dcap_trust dcap_trust;

/*
 * A set of trusted root CAs. With trust_intel the Intel SGX Root CA (by its
 * pinned fingerprint) is in the set. Free with dcap_trust_free.
 */
teeliza_err dcap_trust_new(dcap_trust **out, bool trust_intel) TEELIZA_WARN_UNUSED;

/*
 * Add every certificate of a PEM text as a trusted root (each must be a
 * self-signed CA certificate). The bytes are copied.
 */
teeliza_err dcap_trust_add_pem(dcap_trust *t, const char *pem, size_t pem_len) TEELIZA_WARN_UNUSED;
void dcap_trust_free(dcap_trust *t);

/* ---- collateral ---- */

typedef struct dcap_collateral dcap_collateral;

/*
 * Parse collateral in dcap-qvl's QuoteCollateralV3 JSON form: hex strings for
 * root_ca_crl, pck_crl, tcb_info_signature, qe_identity_signature; PEM strings
 * for the issuer chains; tcb_info / qe_identity hold the exact signed JSON
 * text (never re-serialized). Optional pck_certificate_chain. The JSON, the
 * certificates, CRLs, TCB Info and QE Identity are parsed once here; no
 * signature is checked until dcap_verify. Rejects duplicate keys and trailing
 * junk. Out: *out (reference count 1; dcap_collateral_free). In: json copied.
 */
teeliza_err dcap_collateral_parse_json(dcap_collateral **out, const char *json, size_t json_len) TEELIZA_WARN_UNUSED;

/* The collateral back in dcap-qvl JSON form (as parsed, field order fixed). Appends to out. */
teeliza_err dcap_collateral_to_json(teeliza_buf *out, const dcap_collateral *c) TEELIZA_WARN_UNUSED;

/* Take another reference. Returns c. */
dcap_collateral *dcap_collateral_ref(dcap_collateral *c);

/* Drop a reference; frees on the last one. NULL-safe. */
void dcap_collateral_free(dcap_collateral *c);

/* What the collateral is for and when it is valid (from the parsed JSON). */
typedef struct dcap_collateral_info {
	bool tdx;                  /* tcbInfo id "TDX" (else "SGX") */
	uint8_t fmspc[6];
	uint8_t pceid[2];
	uint32_t tcb_info_version;
	uint32_t tcb_eval_number;  /* tcbEvaluationDataNumber of the TCB Info */
	int64_t not_before;        /* latest issueDate / CRL thisUpdate */
	int64_t not_after;         /* earliest nextUpdate of TCB Info, QE Identity and both CRLs */
} dcap_collateral_info;

void dcap_collateral_get_info(dcap_collateral_info *out, const dcap_collateral *c);

/* ---- policy ---- */

/* What to do when now is past a nextUpdate (TCB Info, QE Identity, either CRL). */
typedef enum dcap_expiry_rule {
	DCAP_EXPIRED_REJECT = 0,   /* default, as dcap-qvl: verification fails */
	DCAP_EXPIRED_UNTRUSTED,    /* verify anyway (QVL style), flag it; the verdict is untrusted */
	DCAP_EXPIRED_ALLOW,        /* verify anyway, flag it; the verdict may be trusted */
} dcap_expiry_rule;

/*
 * Relying-party policy. Start from DCAP_POLICY_INIT (or dcap_policy_init) and
 * change fields. Pointers are borrowed for the duration of dcap_verify.
 */
typedef struct dcap_policy {
	uint32_t accepted;             /* DCAP_STATUS_BIT()s; Revoked is never accepted */
	bool allow_debug;              /* accept DEBUG TDs / debug enclaves (default false) */
	bool require_sept_ve_disable;  /* TDX: td_attributes bit 28 must be set (default true) */
	bool allow_service_td;         /* TD 1.5: accept a non-zero mr_service_td (default false) */
	bool allow_sgx;                /* accept SGX enclave quotes (default true) */
	bool allow_tdx;                /* accept TDX quotes (default true) */
	dcap_expiry_rule expired;      /* default DCAP_EXPIRED_REJECT */
	const uint8_t *expect_report_data; /* 64 bytes the quote must bind, or NULL */
	const uint8_t *expect_rtmr[4];     /* TDX: 48-byte RTMR values to require, or NULL each */
	const uint8_t *expect_mrtd;        /* TDX: 48-byte MRTD to require, or NULL */
} dcap_policy;

#define DCAP_POLICY_INIT                                                        \
	{                                                                       \
		.accepted = DCAP_DEFAULT_ACCEPTED, .allow_debug = false,        \
		.require_sept_ve_disable = true, .allow_service_td = false,     \
		.allow_sgx = true, .allow_tdx = true, .expired = DCAP_EXPIRED_REJECT, \
		.expect_report_data = NULL, .expect_rtmr = {NULL, NULL, NULL, NULL}, \
		.expect_mrtd = NULL,                                            \
	}

/* Fill p with the defaults of DCAP_POLICY_INIT. */
void dcap_policy_init(dcap_policy *p);

/* ---- result ---- */

typedef enum dcap_verdict {
	DCAP_VERDICT_FAILED = 0,   /* a check failed (see failure, reason); status is NONE */
	DCAP_VERDICT_TRUSTED,      /* genuine, and acceptable under the policy */
	DCAP_VERDICT_UNTRUSTED,    /* genuine, but the policy rejects it (see violations, reason) */
} dcap_verdict;

/* Why verification failed (verdict FAILED). */
typedef enum dcap_failure {
	DCAP_FAIL_NONE = 0,
	DCAP_FAIL_BAD_QUOTE,          /* malformed, unsupported format, key type or QE vendor */
	DCAP_FAIL_BAD_COLLATERAL,     /* malformed collateral, wrong ids or versions */
	DCAP_FAIL_UNTRUSTED_ROOT,     /* a self-consistent chain ends in a root we do not trust (simulator) */
	DCAP_FAIL_CHAIN,              /* a certificate chain or CRL does not verify */
	DCAP_FAIL_CERT_REVOKED,       /* a certificate is listed in a CRL */
	DCAP_FAIL_EXPIRED,            /* collateral or certificate outside its validity at now */
	DCAP_FAIL_COLLATERAL_SIGNATURE, /* TCB Info or QE Identity signature */
	DCAP_FAIL_QE_REPORT,          /* QE report signature, or its report_data binding */
	DCAP_FAIL_QE_IDENTITY,        /* QE does not match the QE Identity (or its isvsvn is unknown) */
	DCAP_FAIL_QUOTE_SIGNATURE,    /* attestation key signature over header ‖ body */
	DCAP_FAIL_TCB_MISMATCH,       /* FMSPC, PCEID or TEE type differ between PCK and TCB Info */
	DCAP_FAIL_TCB_NOT_SUPPORTED,  /* no TCB level matches the platform */
	DCAP_FAIL_TDX_MODULE_MISMATCH, /* mrsignerseam, seam attributes or missing TDX_xx identity */
	DCAP_FAIL_EXPECTATION,        /* report_data / MRTD / RTMR differ from what the caller expects */
	DCAP_FAIL_EVENT_LOG,          /* the event log does not parse or does not replay to the quote's RTMR3 (tee/app_identity.h) */
	DCAP_FAIL_APP_IDENTITY,       /* an app identity event is missing or differs from the policy (tee/app_identity.h) */
	DCAP_FAIL__COUNT
} dcap_failure;

/* Short stable name of a failure ("untrusted_root", ...). Never NULL. */
const char *dcap_failure_name(dcap_failure f);

/* Why a genuine quote is untrusted (verdict UNTRUSTED); bits of violations. */
enum {
	DCAP_VIOLATION_STATUS = 1u << 0,      /* status not in policy.accepted (or Revoked) */
	DCAP_VIOLATION_DEBUG = 1u << 1,       /* debug TD / enclave */
	DCAP_VIOLATION_SEPT_VE = 1u << 2,     /* SEPT_VE_DISABLE not set */
	DCAP_VIOLATION_SERVICE_TD = 1u << 3,  /* mr_service_td non-zero */
	DCAP_VIOLATION_RESERVED_ATTR = 1u << 4, /* reserved TD attribute bits set */
	DCAP_VIOLATION_EXPIRED = 1u << 5,     /* collateral expired (rule UNTRUSTED) */
	DCAP_VIOLATION_TEE_TYPE = 1u << 6,    /* SGX or TDX not allowed by the policy */
};

#define DCAP_MAX_ADVISORIES 64
#define DCAP_ADVISORY_LEN 32

typedef struct dcap_result {
	dcap_verdict verdict;
	dcap_failure failure;
	uint32_t violations;               /* DCAP_VIOLATION_* */
	char reason[640];                  /* why failed / untrusted; a summary when trusted */

	dcap_tcb_status status;            /* converged (QVL tables) */
	dcap_tcb_status platform_status;   /* matched TCB level (the TDX level for TDX) */
	dcap_tcb_status qe_status;         /* QE Identity level: UpToDate, OutOfDate or Revoked */
	dcap_tcb_status module_status;     /* TDX module identity level; NONE for SGX or module major 0 */
	size_t advisory_count;             /* union: platform, then module, then QE */
	char advisory_ids[DCAP_MAX_ADVISORIES][DCAP_ADVISORY_LEN];
	char tcb_date[24];                 /* tcbDate of the matched platform level */
	uint32_t tcb_eval_number;

	bool collateral_expired;           /* now is past some nextUpdate (see policy.expired) */
	int64_t collateral_not_after;      /* earliest nextUpdate of the collateral */

	bool tdx;
	uint8_t fmspc[6];                  /* from the PCK certificate */
	uint8_t pceid[2];
	uint8_t root_sha256[32];           /* the trust anchor the chains ended in */
	bool intel_root;                   /* that anchor is the Intel SGX Root CA */

	int report_data_match;             /* -1 not checked, 0 differs, 1 equal */
	int mrtd_match;
	int rtmr_match[4];

	dcap_quote quote;                  /* the parsed quote; points into the caller's bytes */
	bool quote_parsed;
} dcap_result;

/*
 * Verify a quote at time now (Unix seconds) against collateral, under policy
 * (NULL = defaults) and trust (NULL = Intel only). res is always filled: its
 * verdict says what held. Returns TEELIZA_OK only for DCAP_VERDICT_TRUSTED;
 * TEELIZA_ERR_UNTRUSTED for UNTRUSTED; for FAILED the error class of the
 * failure (TEELIZA_ERR_VERIFY, _EXPIRED, _REVOKED, _PARSE, _UNSUPPORTED ...).
 * teeliza_errmsg() then holds res->reason. The collateral's verified chains
 * and signatures are remembered inside it (for its validity window and this
 * trust set), so verifying many quotes with one collateral is cheap.
 */
teeliza_err dcap_verify(dcap_result *res, const uint8_t *quote, size_t quote_len, dcap_collateral *coll,
                        int64_t now, const dcap_policy *policy, const dcap_trust *trust) TEELIZA_WARN_UNUSED;

/*
 * Turn res into a failure of kind f (verdict FAILED, statuses and advisories
 * cleared, as dcap_verify fails) with the formatted reason; for checks made
 * on top of dcap_verify (the app identity of tee/app_identity.h). Returns
 * err with teeliza_errmsg() set to the reason.
 */
teeliza_err dcap_result_fail(dcap_result *res, dcap_failure f, teeliza_err err, const char *fmt, ...)
	TEELIZA_PRINTF(4, 5);

/* The result as a JSON object (verdict, reason, statuses, advisory IDs, flags, matches). Appends to out. */
teeliza_err dcap_result_to_json(teeliza_buf *out, const dcap_result *res) TEELIZA_WARN_UNUSED;

/* Human-readable verdict block (not the quote fields). */
void dcap_result_print(FILE *out, const dcap_result *res);

/* ---- cache of parsed and verified collateral ---- */

typedef struct dcap_cache dcap_cache;

typedef struct dcap_cache_stats {
	uint64_t hits;
	uint64_t misses;
	uint64_t evictions;
	size_t entries;
} dcap_cache_stats;

/* A cache of at most max_entries collaterals (0 = 16), keyed by SHA-256 of the JSON. */
teeliza_err dcap_cache_new(dcap_cache **out, size_t max_entries) TEELIZA_WARN_UNUSED;

/*
 * The parsed collateral for this JSON: from the cache, or parsed and added.
 * Out: *out, a new reference (dcap_collateral_free). Since verification state
 * lives in the collateral, a hit also skips chain and signature checks.
 */
teeliza_err dcap_cache_get(dcap_collateral **out, dcap_cache *cache, const char *json, size_t json_len) TEELIZA_WARN_UNUSED;
void dcap_cache_get_stats(dcap_cache_stats *out, dcap_cache *cache);
void dcap_cache_free(dcap_cache *cache);

/* ---- fetching collateral from a PCCS or Intel PCS ---- */

#define DCAP_PCCS_DEFAULT_URL "https://pccs.phala.network"
#define DCAP_INTEL_PCS_URL "https://api.trustedservices.intel.com"

/*
 * Fetch the collateral for a quote (its FMSPC and PCK CA come from the PCK
 * certificate in the quote) from base_url, e.g. DCAP_INTEL_PCS_URL or a PCCS;
 * a trailing "/sgx/certification/v4" or "/tdx/certification/v4" is accepted.
 * Uses the PCS v4 API: pckcrl, tcb, qe/identity, rootcacrl (or the root's CRL
 * distribution point). The signed tcbInfo / enclaveIdentity bytes are kept
 * exactly as served. Appends the dcap-qvl JSON to json_out. timeout_ms 0 = 30 s.
 */
teeliza_err dcap_pccs_fetch(teeliza_buf *json_out, const char *base_url, const uint8_t *quote, size_t quote_len,
                            long timeout_ms) TEELIZA_WARN_UNUSED;

#ifdef __cplusplus
}
#endif
#endif
