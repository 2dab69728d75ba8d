/*
 * The Eliza TEE plugin's flows as library calls: derive a wallet through
 * tappd together with its attestation quote, remote attestation over any
 * report-data string, the plugin's log lines, and a local consistency check
 * of a quote against its event log and report data.
 */
#ifndef TEELIZA_ATTEST_H
#define TEELIZA_ATTEST_H

#include "teeliza/common/common.h"
#include "teeliza/tee/derive.h"
#include "teeliza/tee/dstack_provenance.h"
#include "teeliza/tee/rtmr.h"
#include "teeliza/tee/tappd.h"

#ifdef __cplusplus
extern "C" {
#endif

/* The plugin's generateAttestation result plus what it logs. */
typedef struct tee_attestation {
	teeliza_buf report_data;        /* the text that was quoted, as sent (UTF-8) */
	char hash_algorithm[32];        /* as sent; "" = not sent (server default: SHA-512 of "app-data:" ‖ data) */
	char prefix[64];                /* as sent; "" = not sent (server default "app-data") */
	teeliza_buf quote;              /* binary TDX quote */
	teeliza_buf event_log;          /* event-log JSON text as received */
	uint8_t rtmr[4][TEE_RTMR_LEN];  /* RTMR0..3 replayed from event_log (the SDK's replayRtmrs) */
	int64_t timestamp_ms;           /* Date.now() when the quote arrived */
} tee_attestation;

/*
 * generateAttestation(report_data, hash_algorithm): TdxQuote over the UTF-8
 * bytes of report_data (hash_algorithm NULL = not sent, as the plugin does),
 * then replay the event log. Out: a (zeroed first; free with
 * tee_attestation_free, also after a failure). Errors as tappd_tdx_quote
 * and tee_event_log_parse, with the message prefixed "Failed to generate TDX
 * Quote: " as the plugin's.
 */
teeliza_err tee_remote_attestation(tee_attestation *out, const tappd_client *c, const char *report_data,
                                   size_t report_data_len, const char *hash_algorithm) TEELIZA_WARN_UNUSED;
/* The same with tappd's custom report-data prefix (NULL = not sent; tappd ≥ 2024-12-23 only). */
teeliza_err tee_remote_attestation_prefix(tee_attestation *out, const tappd_client *c, const char *report_data,
                                          size_t report_data_len, const char *hash_algorithm,
                                          const char *prefix) TEELIZA_WARN_UNUSED;
void tee_attestation_free(tee_attestation *a);

/* Flags of tee_attestation_log. */
#define TEE_LOG_QUOTE_JSON 0x1u  /* print the quote object as one JSON line: {"quote":"0x…","timestamp":N} */
#define TEE_LOG_STRAY_F    0x2u  /* keep the 'f' every plugin version prints after rtmr3 */

/*
 * Append the lines the plugin's generateAttestation logs, each ending "\n":
 *   Generating attestation for:  <report data>
 *   rtmr0: <96 hex> … rtmr3: <96 hex>
 *   Remote attestation quote:  <the {quote, timestamp} object>
 * By default the bytes are those of Node's console.log (two spaces after
 * each colon, the object in util.inspect's layout, as in the Eliza TEE
 * guide's example log), except that the stray 'f' after rtmr3 is dropped and
 * the quote is never cut at util.inspect's 10000-character string limit.
 * The caller initialises out.
 */
teeliza_err tee_attestation_log(teeliza_buf *out, const tee_attestation *a, unsigned flags) TEELIZA_WARN_UNUSED;

/*
 * Check a TDX quote (v4 or v5, TD report 1.0/1.5) against its attestation:
 * each of RTMR0..3 in the quote equals the replayed a->rtmr, and the quote's
 * report_data equals tappd's hash of a->report_data (tee_report_data with
 * a->hash_algorithm and a->prefix or "app-data"; for "raw", the data
 * left-padded to 64 bytes as sent). TEELIZA_ERR_VERIFY naming the
 * field that differs; TEELIZA_ERR_PARSE for a quote too short or not TDX.
 * This binds quote, event log and data together; it does not verify the
 * quote's signature (see dcap_verify.h).
 */
teeliza_err tee_attestation_check(const tee_attestation *a) TEELIZA_WARN_UNUSED;

/*
 * Pointers into a TDX quote's RTMRs (4 × 48 bytes) and report_data (64
 * bytes). TEELIZA_ERR_PARSE when quote is not a TDX v4/v5 quote long enough
 * for its TD report.
 */
teeliza_err tee_quote_td_fields(const uint8_t *rtmr[4], const uint8_t **report_data, const uint8_t *quote,
                                size_t quote_len) TEELIZA_WARN_UNUSED;

#define TEE_WALLET_PATH_MAX 1024
#define TEE_WALLET_PURPOSE_MAX 256

/* A derived wallet and its attestation. */
typedef struct tee_wallet {
	tee_key_scheme scheme;
	tee_chain chain;
	char agent_id[128];
	/*
	 * Solana: base58 public key; EVM: EIP-55 address; raw: "0x04…" P-256
	 * public key of the tappd key. What the attestation JSON calls publicKey.
	 */
	char address[140];
	tee_solana_keypair solana;  /* chain SOLANA; secret */
	tee_evm_keypair evm;        /* chain EVM; secret */
	teeliza_buf der;            /* the tappd key as PKCS#8 DER (the SDK's asUint8Array()); secret */
	bool attested;
	tee_attestation attestation; /* report_data = {"agentId":"…","publicKey":"…"} */
	/* Set only for a wallet from dstack's GetKey (dstack_wallet.h); der then holds the 32 key bytes. */
	bool dstack;
	char key_path[TEE_WALLET_PATH_MAX + 1];      /* GetKey path */
	char key_purpose[TEE_WALLET_PURPOSE_MAX + 1]; /* GetKey purpose */
	char key_algorithm[16];                        /* GetKey algorithm */
	tee_dstack_key key;                            /* GetKey's answer (key secret; public key; chain) */
	bool have_provenance;                          /* the chain was walked (after the attestation) */
	teeliza_err provenance_err;                    /* tee_dstack_verify_key's result */
	tee_dstack_key_report provenance;              /* how far it got, which link broke */
} tee_wallet;

/*
 * The plugin's deriveEd25519Keypair / deriveEcdsaKeypair for a scheme:
 * (path, subject) from tee_scheme_request → tappd DeriveKey → PEM → DER →
 * Solana (SHA-256 seed) or EVM (Keccak-256 key), or for TEE_CHAIN_RAW the
 * DER and its P-256 public key; then, when attest is set,
 * generateDeriveKeyAttestation: a quote over exactly
 * {"agentId":"<agent_id>","publicKey":"<address>"} with no hash algorithm.
 * agent_id may be NULL only when attest is false and the scheme does not use it.
 * Out: w (zeroed first; free with tee_wallet_free, also after a failure).
 * A missing salt is TEELIZA_ERR_CONFIG; other errors as the calls above.
 */
teeliza_err tee_derive_wallet(tee_wallet *w, const tappd_client *c, tee_key_scheme scheme, tee_chain chain,
                              const char *salt, const char *agent_id, bool attest) TEELIZA_WARN_UNUSED;
/*
 * The same with an explicit DeriveKey (path, subject) instead of a scheme
 * (the plugin's rawDeriveKey); subject NULL or "" = path, as the SDK does.
 * w->scheme is left TEE_SCHEME_TEELIZA and means nothing here.
 */
teeliza_err tee_derive_wallet_path(tee_wallet *w, const tappd_client *c, const char *path, const char *subject,
                                   tee_chain chain, const char *agent_id, bool attest) TEELIZA_WARN_UNUSED;
/* Wipe the keys and free. NULL-safe. */
void tee_wallet_free(tee_wallet *w);

#ifdef __cplusplus
}
#endif
#endif
