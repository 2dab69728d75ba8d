/*
 * Wallets from dstack 0.5's GetKey (docs/KEY-SCHEMES.md, "dstack"), their
 * attestation through GetQuote, the walk of each key's chain to the KMS
 * root, and the rule that ties a key scheme to a TEE API.
 *
 *   path    = "teeliza/dstack/v1/" ‖ chain ‖ "/" ‖ hex(HMAC-SHA256(salt,
 *             "teeliza dstack wallet v1" 0x00 ‖ agent_id ‖ 0x00 ‖ chain))
 *   purpose = chain; algorithm ed25519 (Solana) or secp256k1 (EVM, raw)
 *   Solana  = Ed25519 keypair from seed = GetKey's 32 bytes
 *   EVM     = secp256k1 private key = GetKey's 32 bytes
 *   quote   = GetQuote(report_data = SHA-512("app-data:" ‖ JSON)), JSON =
 *             {"agentId":"<id>","publicKey":"<address>"} as for tappd
 * The dstack-sdk scheme takes a path and purpose the user gives and uses
 * the 32 bytes the same way, which is what @phala/dstack-sdk 0.5.8's
 * toKeypairSecure / toViemAccountSecure do with a GetKey answer.
 */
#ifndef TEELIZA_DSTACK_WALLET_H
#define TEELIZA_DSTACK_WALLET_H

#include "teeliza/common/common.h"
#include "teeliza/tee/attest.h"
#include "teeliza/tee/dstack.h"
#include "teeliza/tee/tee_endpoint.h"

#ifdef __cplusplus
extern "C" {
#endif

/*
 * A quote over exactly these 64 bytes of report data (GetQuote, no prefix or
 * hash), with the event log as tee_dstack_remote_attestation keeps it; the
 * report_data field is left empty. Same ownership and errors as below.
 */
teeliza_err tee_dstack_quote_exact(tee_attestation *a, teeliza_buf *raw_log, const dstack_client *c,
                                   const uint8_t report_data[64]) TEELIZA_WARN_UNUSED;

/*
 * Remote attestation over dstack with tappd's default meaning: report data
 * = SHA-512("app-data:" ‖ data), computed here and sent raw to GetQuote.
 * Out: *a as tee_remote_attestation fills it (hash_algorithm and prefix "",
 * meaning that default; event_log = the GetQuote log in tappd's form with
 * runtime digests recomputed and EV_NO_ACTION events, which are never
 * extended, left out; rtmr = its replay), and, when raw_log is not NULL,
 * the log text as received (raw_log initialised here). Free both even after
 * a failure. Errors as dstack_get_quote; an event log that does not replay
 * to the quote's RTMRs: TEELIZA_ERR_VERIFY.
 */
teeliza_err tee_dstack_remote_attestation(tee_attestation *a, teeliza_buf *raw_log, const dstack_client *c,
                                          const char *data, size_t len) TEELIZA_WARN_UNUSED;

/*
 * A wallet of the dstack scheme (TEE_SCHEME_DSTACK; dstack-sdk has no
 * salt-based request: TEELIZA_ERR_CONFIG): GetKey(path, purpose,
 * algorithm) as above, the chain's keypair, then, when attest is set, the
 * quote over {"agentId","publicKey"} and the walk of the key's chain with
 * the app id from the quote's event log (bound to its RTMR3) up to
 * kms_root_hex (NULL: nothing pinned, provenance_err UNTRUSTED). A chain
 * that does not verify is not an error of this call: provenance_err and
 * provenance say which link broke. Out: *w (free with tee_wallet_free,
 * also after a failure).
 */
teeliza_err tee_dstack_derive_wallet(tee_wallet *w, const dstack_client *c, tee_key_scheme scheme, tee_chain chain,
                                     const char *salt, const char *agent_id, bool attest,
                                     const char *kms_root_hex) TEELIZA_WARN_UNUSED;

/*
 * The same for a GetKey (path, purpose, algorithm) the caller gives (the
 * dstack-sdk scheme; purpose NULL = "", algorithm NULL = "secp256k1").
 * w->scheme is TEE_SCHEME_DSTACK_SDK. Path over TEE_WALLET_PATH_MAX or
 * purpose over TEE_WALLET_PURPOSE_MAX bytes: TEELIZA_ERR_TOO_LARGE.
 */
teeliza_err tee_dstack_derive_wallet_path(tee_wallet *w, const dstack_client *c, const char *path,
                                          const char *purpose, const char *algorithm, tee_chain chain,
                                          const char *agent_id, bool attest,
                                          const char *kms_root_hex) TEELIZA_WARN_UNUSED;

/* The scheme that goes with the API, and why (for the log). */
typedef struct tee_wallet_choice {
	tee_endpoint_choice endpoint;  /* tee_endpoint_choose's answer */
	tee_key_scheme scheme;
	bool scheme_explicit;          /* TEE_KEY_SCHEME chose it */
	char scheme_line[200];         /* "TEE: key scheme dstack (...)" */
} tee_wallet_choice;

/*
 * The API and the key scheme together (docs/DSTACK.md, "Which key scheme"):
 *   - an explicit scheme (scheme_setting, non-empty) chooses its API: the
 *     tappd schemes tappd, dstack and dstack-sdk dstack (it is passed to
 *     tee_endpoint_choose as TEE_API when TEE_API is unset);
 *   - no scheme: the endpoint tee_endpoint_choose picks decides: dstack →
 *     dstack, tappd → teeliza.
 * Errors, all TEELIZA_ERR_CONFIG: those of tee_endpoint_choose (TEE_MODE,
 * TEE_API; an endpoint that does not parse is also CONFIG here), a scheme
 * that does not parse ("TEE_KEY_SCHEME: unknown key scheme …"), and a scheme
 * whose API contradicts TEE_API ("TEE_KEY_SCHEME=dstack needs the dstack API,
 * but TEE_API=tappd …").
 */
teeliza_err tee_wallet_choose(tee_wallet_choice *out, const tee_endpoint_env *env,
                              const char *scheme_setting) TEELIZA_WARN_UNUSED;

#ifdef __cplusplus
}
#endif
#endif
