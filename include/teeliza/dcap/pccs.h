/*
 * Collateral from a PCCS or Intel PCS (API v4), kept in an on-disk cache.
 *
 * Offline is the default everywhere: nothing here is called unless a PCCS
 * URL was configured (--pccs-url, PCCS_URL). What a PCCS answers is
 * hostile: bodies are capped, requests time out, https is required except
 * to loopback (plain http elsewhere only when allowed, and the caller then
 * warns), redirects are followed only to the same scheme, host and port,
 * and nothing from a response ever names a file. docs/COLLATERAL.md has
 * the endpoints, the cache's rules and the file format.
 *
 * The cache holds one file per (PCCS URL, TEE, FMSPC, PCK CA):
 * "<tee>-<FMSPC>-<ca>-<16 hex of SHA-256(URL)>.json", mode 0600 in a 0700
 * directory, written atomically (temp file + rename). An entry is served
 * while it is fresh (now before the earliest nextUpdate of its TCB Info, QE
 * Identity and CRLs, and fetched less than refresh_s ago); past refresh_s
 * it is fetched again, and served still when the PCCS cannot be reached;
 * past nextUpdate it is never served.
 */
#ifndef TEELIZA_DCAP_PCCS_H
#define TEELIZA_DCAP_PCCS_H

#include "teeliza/common/common.h"
#include "teeliza/dcap/verify.h"

#ifdef __cplusplus
extern "C" {
#endif

/* The documented choices are verify.h's DCAP_PCCS_DEFAULT_URL (dcap-qvl's default) and DCAP_INTEL_PCS_URL. */

#define DCAP_PCCS_DEFAULT_REFRESH_S 86400

typedef struct dcap_pccs_config {
	const char *url;        /* the PCCS / PCS base URL; a trailing /{sgx,tdx}/certification/v4 is accepted */
	const char *cache_dir;  /* the on-disk cache, or NULL for none */
	long timeout_ms;        /* each request, in all; 0: 30 s */
	bool allow_http;        /* plain http to a host that is not loopback (the caller warns loudly) */
	int64_t refresh_s;      /* fetch a cached entry again after this many seconds; 0: a day */
	bool no_fetch;          /* serve a valid cached entry only, never ask the PCCS (it failed just now) */
} dcap_pccs_config;

/* What a quote needs collateral for, read from its PCK certificate. */
typedef struct dcap_collateral_key {
	bool sgx;               /* TEE type of the quote: "sgx" or "tdx" endpoints */
	char fmspc[13];         /* uppercase hex */
	char ca[10];            /* "processor" or "platform": the PCK certificate's issuing CA */
	bool intel_signed;      /* the quote's PCK chain is signed up to the Intel SGX Root CA (signatures only:
	                           no dates, no CRLs); without it the FMSPC is whatever the quote says */
} dcap_collateral_key;

/* The key of a quote (its PCK chain must be in the quote: certification data type 5). */
teeliza_err dcap_collateral_key_of(dcap_collateral_key *out, const uint8_t *quote, size_t quote_len) TEELIZA_WARN_UNUSED;

/*
 * Check a PCCS base URL: http or https, a host, no user name or password.
 * Plain http to a host other than loopback (127.0.0.0/8, ::1, localhost) is
 * refused unless allow_http; *insecure (may be NULL) then says so.
 */
teeliza_err dcap_pccs_check_url(bool *insecure, const char *url, bool allow_http) TEELIZA_WARN_UNUSED;

/*
 * Fetch the collateral for key from cfg->url (no cache): PCK CRL, TCB Info,
 * QE Identity, root CA CRL and their issuer chains. Appends dcap-qvl JSON
 * (QuoteCollateralV3) to json_out; it has been parsed once to check it.
 */
teeliza_err dcap_pccs_fetch_key(teeliza_buf *json_out, const dcap_pccs_config *cfg,
                                const dcap_collateral_key *key) TEELIZA_WARN_UNUSED;

typedef enum dcap_collateral_origin {
	DCAP_ORIGIN_PCCS = 0,      /* fetched now (and cached when there is a cache) */
	DCAP_ORIGIN_CACHE,         /* a fresh cached entry; nothing was fetched */
	DCAP_ORIGIN_CACHE_OFFLINE, /* due for refresh, the PCCS failed (fetch_error), still valid: served */
} dcap_collateral_origin;

typedef struct dcap_collateral_got {
	dcap_collateral_origin origin;
	dcap_collateral_key key;
	int64_t fetched_at;        /* when the served collateral was fetched */
	int64_t not_after;         /* its earliest nextUpdate */
	char cache_path[512];      /* the cache file ("" without a cache) */
	char fetch_error[320];     /* CACHE_OFFLINE: why the refresh failed */
	bool cache_write_failed;   /* fetched, but the cache could not be written (cache_error) */
	char cache_error[320];
} dcap_collateral_got;

/*
 * The collateral for a quote at time now: from the cache when fresh, else
 * from the PCCS (then cached), else (PCCS failing) from the cache while it is
 * still valid. force: fetch even when the cache is fresh. Out: *coll (a new
 * reference, dcap_collateral_free; may be NULL) parsed, and/or the dcap-qvl
 * JSON appended to json_out (may be NULL); *got says where it came from.
 * Expired cached collateral is never returned: with the PCCS failing that is
 * an error naming both. A cache file that does not read back is ignored (and
 * replaced by the next fetch).
 */
teeliza_err dcap_collateral_obtain(dcap_collateral **coll, teeliza_buf *json_out, dcap_collateral_got *got,
                                   const dcap_pccs_config *cfg,
                                   const uint8_t *quote, size_t quote_len, int64_t now,
                                   bool force) TEELIZA_WARN_UNUSED;

/* The default cache directory: $XDG_CACHE_HOME/teeliza/collateral, else $HOME/.cache/teeliza/collateral. */
teeliza_err dcap_collateral_cache_default_dir(char *out, size_t out_len) TEELIZA_WARN_UNUSED;

/* One cache entry as dcap_collateral_cache_list reads it. */
typedef struct dcap_cache_entry {
	char file[128];            /* the file's name in the directory */
	char url[256];             /* the PCCS it came from */
	dcap_collateral_key key;
	int64_t fetched_at;
	int64_t not_after;         /* earliest nextUpdate */
	bool fresh;                /* now <= not_after */
	char error[160];           /* non-empty: the file is unreadable or inconsistent (never served) */
} dcap_cache_entry;

/*
 * The entries of a cache directory, sorted by file name. Out: *out (free())
 * and *n. A directory that does not exist has no entries.
 */
teeliza_err dcap_collateral_cache_list(dcap_cache_entry **out, size_t *n, const char *dir,
                                       int64_t now) TEELIZA_WARN_UNUSED;

#ifdef __cplusplus
}
#endif
#endif
