/*
 * Internals of the tappd-compatible simulator server: simulator.c (start,
 * stop, dispatch), simsrv_ca.c (the app CA and leaf certificates),
 * simsrv_events.c (the simulated identity and event log), simsrv_args.c
 * (request arguments from JSON or a query string), simsrv_routes.c (the
 * pRPC methods) and simsrv_json.c (response text).
 */
#ifndef TEELIZA_SIMSRV_H
#define TEELIZA_SIMSRV_H

#include "teeliza/http/http.h"
#include "teeliza/tee/rtmr.h"
#include "teeliza/sim/simulator.h"

#include <jansson.h>
#include <openssl/evp.h>
#include <openssl/x509.h>

#define SIMSRV_CA_KEY_FILE "ca.key"
#define SIMSRV_CA_CERT_FILE "app-ca.pem"
#define SIMSRV_CA_CN "teeliza simulator app CA"
#define SIMSRV_CA_ORG "teeliza (simulated, not a TEE)"
#define SIMSRV_APP_NAME "teeliza-simulator"
#define SIMSRV_VERSION "0.1.0"
#define SIMSRV_REV "teeliza"

/* dstack's event type for runtime (RTMR3) events. */
#define SIMSRV_EVENT_TYPE_RUNTIME 0x08000001u

/* ---- the app CA (simsrv_ca.c) ---- */

typedef struct simsrv_ca {
	uint8_t scalar[32];  /* the CA private scalar: the IKM of every derived key (secret) */
	EVP_PKEY *key;
	X509 *cert;          /* self-signed; persisted in the state dir so it is stable */
	char *cert_pem;
	uint8_t ski[20];     /* its subject key identifier, the leaves' authority key id */
	uint8_t spki_sha256[32]; /* SHA-256 of its SubjectPublicKeyInfo: seeds the simulated ids */
	bool generated;      /* the key was created by this start */
} simsrv_ca;

/*
 * Load the CA key from key_pem (the PEM text), else key_file, else
 * <state_dir>/ca.key, creating that with mode 0600 when missing; then load
 * or create the CA certificate <state_dir>/app-ca.pem. Free with
 * simsrv_ca_close (also after a failure).
 */
teeliza_err simsrv_ca_open(simsrv_ca *ca, const char *key_pem, const char *key_file,
                           const char *state_dir) TEELIZA_WARN_UNUSED;
void simsrv_ca_close(simsrv_ca *ca);

/* True when name is an acceptable dNSName: ASCII labels [A-Za-z0-9_-], 1..63 each, optional leading "*.". */
bool simsrv_dns_name_valid(const char *name);

/*
 * A leaf certificate (PEM) for the P-256 public key pub (uncompressed,
 * 0x04 ‖ X ‖ Y): subject CN = subject, one SAN dNSName per alt name (already
 * validated), signed ECDSA-SHA256 by the CA. Out: pem (initialised here;
 * free with teeliza_buf_free).
 */
teeliza_err simsrv_ca_issue(teeliza_buf *pem, const simsrv_ca *ca, const uint8_t pub[65], const char *subject,
                            const char *const *alt_names, size_t n_alt) TEELIZA_WARN_UNUSED;

/* ---- the simulated app identity and its event log (simsrv_events.c) ---- */

typedef struct simsrv_identity {
	uint8_t app_id[20];
	uint8_t instance_id[20];
	uint8_t compose_hash[32];
	uint8_t rootfs_hash[32];
	const char *app_compose;
	tee_event_log log;             /* boot events (RTMR0-2) then runtime events (RTMR3) */
	teeliza_buf log_json;          /* the log as tappd serializes it (compact array) */
	uint8_t rtmr[4][TEE_RTMR_LEN]; /* tee_rtmr_replay(log) */
} simsrv_identity;

/*
 * Build the identity and log: fixed simulated boot events, then app-id,
 * compose-hash, instance-id (derived from seed, so they are the same for the
 * same CA key) and boot-mr-done. Free with simsrv_identity_free (also after a failure).
 */
teeliza_err simsrv_identity_build(simsrv_identity *id, const uint8_t seed[32]) TEELIZA_WARN_UNUSED;
void simsrv_identity_free(simsrv_identity *id);

/* ---- request arguments (simsrv_args.c) ---- */

/*
 * The request message as a JSON object: from a JSON body (empty body = {}),
 * or from a query string (url-decoded key=value pairs; "json" is ignored;
 * repeated keys, "k[]" and "k[N]" build arrays; "true"/"false"/"1"/"0" become
 * booleans for the boolean fields). Out: *out (json_decref). Errors are
 * TEELIZA_ERR_PARSE with the message the client gets.
 */
teeliza_err simsrv_args_from_body(json_t **out, const uint8_t *body, size_t len) TEELIZA_WARN_UNUSED;
teeliza_err simsrv_args_from_query(json_t **out, const char *query) TEELIZA_WARN_UNUSED;

/* Field accessors: a missing field gives the default ("", false, empty); a mistyped one an error naming it. */
teeliza_err simsrv_arg_string(const char **out, const json_t *args, const char *field) TEELIZA_WARN_UNUSED;
teeliza_err simsrv_arg_bool(bool *out, const json_t *args, const char *field) TEELIZA_WARN_UNUSED;
/* Hex bytes, "0x" prefixes optional. Out: bytes (initialised here; free with teeliza_buf_free). */
teeliza_err simsrv_arg_bytes(teeliza_buf *out, const json_t *args, const char *field, size_t max) TEELIZA_WARN_UNUSED;
/* Array of strings. Out: *items (malloc'd array of pointers into args; free() it) and *count. */
teeliza_err simsrv_arg_strings(const char ***items, size_t *count, const json_t *args,
                               const char *field) TEELIZA_WARN_UNUSED;

/* ---- response text (simsrv_json.c) ---- */

/* Append s as a JSON string literal with serde_json's escaping. */
teeliza_err simsrv_json_string(teeliza_buf *out, const char *s, size_t len) TEELIZA_WARN_UNUSED;
/* Append "0x" + lowercase hex as a JSON string literal (pRPC bytes). */
teeliza_err simsrv_json_hex(teeliza_buf *out, const uint8_t *data, size_t len, bool prefix_0x) TEELIZA_WARN_UNUSED;
/* Replace out with tappd's error body: {\n  "error": "<msg>"\n}. */
void simsrv_json_error(teeliza_buf *out, const char *msg);

/* ---- the pRPC methods (simsrv_routes.c) ---- */

typedef struct simsrv_state {
	const tee_sim_pki *pki;
	simsrv_ca ca;
	simsrv_identity id;
	teeliza_buf event_log_literal; /* id.log_json as a JSON string literal, ready to append */
	teeliza_buf info_json;         /* the whole Info response (constant during a run) */
	teeliza_buf version_json;
} simsrv_state;

/* Compute info_json, version_json and event_log_literal once the rest of the state is ready. */
teeliza_err simsrv_prepare_static(simsrv_state *st) TEELIZA_WARN_UNUSED;

/*
 * Run one method on args; on success the response JSON is in out (secret for
 * DeriveKey). On failure the message (teeliza_errmsg) is what the client gets.
 */
teeliza_err simsrv_derive_key(teeliza_buf *out, const simsrv_state *st, const json_t *args) TEELIZA_WARN_UNUSED;
teeliza_err simsrv_tdx_quote(teeliza_buf *out, const simsrv_state *st, const json_t *args,
                             bool raw_only) TEELIZA_WARN_UNUSED;

/*
 * Tappd.SimRoot (simsrv_simroot.c, teeliza only): {"note":…,"root_pem":PEM,
 * "collateral":{dcap-qvl QuoteCollateralV3 valid from now - 1 day to now + 30 days}}.
 */
teeliza_err simsrv_sim_root(teeliza_buf *out, const simsrv_state *st) TEELIZA_WARN_UNUSED;

#endif
