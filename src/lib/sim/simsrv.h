/*
 * Internals of the simulator server: simulator.c (start, stop, listeners,
 * routing), simsrv_ca.c (the app CA and leaf certificates), simsrv_app.c
 * (the simulated app: compose, ids), simsrv_kms.c (the dstack key
 * hierarchy), simsrv_events.c (the boot event log), simsrv_view.c (the
 * measured state EmitEvent changes, and what is rendered from it),
 * simsrv_args.c (request arguments from JSON or a query string),
 * simsrv_routes.c (the tappd pRPC methods), simsrv_dstack*.c (the
 * DstackGuest and Worker services), simsrv_tls.c (GetTlsKey's RA-TLS
 * certificates), simsrv_scale.c (the V0 attestation blob) and
 * simsrv_json.c (response text).
 */
#ifndef TEELIZA_SIMSRV_H
#define TEELIZA_SIMSRV_H

#include "teeliza/http/http.h"
#include "teeliza/sim/simulator.h"
#include "teeliza/tee/dstack_keys.h"
#include "teeliza/tee/rtmr.h"

#include <jansson.h>
#include <openssl/evp.h>
#include <openssl/x509.h>
#include <pthread.h>
#include <stdatomic.h>

#define SIMSRV_CA_KEY_FILE "ca.key"
#define SIMSRV_CA_CERT_FILE "app-ca.pem"
#define SIMSRV_KMS_ROOT_FILE "kms-root-k256.key"
#define SIMSRV_CA_CN "teeliza simulator app CA"
#define SIMSRV_CA_ORG "teeliza (simulated, not a TEE)"
#define SIMSRV_APP_NAME "teeliza-simulator"
#define SIMSRV_VERSION "0.1.0"
#define SIMSRV_REV "teeliza"
/* what the DstackGuest and Worker services' Version says: the guest-agent API this simulates */
#define SIMSRV_DSTACK_VERSION "0.5.11"
#define SIMSRV_DSTACK_REV "teeliza-simulator"

/* dstack's event type for runtime (RTMR3) events. */
#define SIMSRV_EVENT_TYPE_RUNTIME 0x08000001u

/* ---- the app CA (simsrv_ca.c) ---- */

typedef struct simsrv_ca {
	uint8_t scalar[32];  /* the CA private scalar: the IKM of every tappd-derived key (secret) */
	EVP_PKEY *key;
	X509 *cert;          /* self-signed; persisted in the state dir so it is stable */
	char *cert_pem;
	uint8_t ski[20];     /* its subject key identifier, the leaves' authority key id */
	uint8_t spki_sha256[32]; /* SHA-256 of its SubjectPublicKeyInfo: seeds the simulated ids */
	uint8_t *spki_der;   /* its SubjectPublicKeyInfo (DER): the key provider id */
	size_t spki_der_len;
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

/* Helpers shared with simsrv_tls.c. */
teeliza_err simsrv_cert_to_pem(char **out, size_t *out_len, X509 *x) TEELIZA_WARN_UNUSED;
bool simsrv_cert_add_key_ids(X509 *x, const simsrv_ca *ca);
bool simsrv_cert_set_serial(X509 *x, const uint8_t *seed, size_t seed_len);

/* ---- the simulated app (simsrv_app.c) ---- */

/* The app id of dstack's own simulator (its attestation.bin), for which its appkeys.json was signed. */
extern const uint8_t simsrv_dstack_sim_app_id[20];

typedef struct simsrv_app {
	char *compose;             /* the app-compose.json text, as loaded (Info's app_compose) */
	size_t compose_len;
	char *name;                /* its "name" (Info's app_name) */
	bool public_tcbinfo;       /* Worker.Info shows tcb_info (dstack's default: true) */
	bool no_instance_id;       /* the instance-id event is empty */
	char storage_fs[8];        /* "zfs" (dstack's default) or "ext4" */
	uint8_t compose_hash[32];  /* SHA-256 of the compose text's bytes, as dstack's OS measures it */
	uint8_t app_id[20];
	uint8_t instance_id[20];
	size_t instance_id_len;    /* 20, or 0 with no_instance_id */
	uint8_t os_image_hash[32];
	char *vm_config;           /* GetQuote's and Info's vm_config (JSON text) */
	char *key_provider;        /* the key-provider event: {"name":"kms","id":"<hex of the CA's SPKI DER>"} */
} simsrv_app;

/*
 * Load the app: compose_file (NULL = a built-in app-compose.json), its hash,
 * the app id (app_id_hex: 40 hex digits; NULL = dstack's simulator app id
 * when sim_app_id, else the first 20 bytes of the compose hash, as dstack
 * when no app id is configured), the instance id (from the CA and the app
 * id, so stable across restarts), and the rest. Errors name the file and
 * what is wrong (TEELIZA_ERR_CONFIG / _PARSE / _INVALID). Free with
 * simsrv_app_free (also after a failure).
 */
teeliza_err simsrv_app_load(simsrv_app *app, const char *compose_file, const char *app_id_hex, bool sim_app_id,
                            const simsrv_ca *ca) TEELIZA_WARN_UNUSED;
void simsrv_app_free(simsrv_app *app);

/* ---- the dstack key hierarchy (simsrv_kms.c, simsrv_keycache.c) ---- */

typedef struct simsrv_keycache simsrv_keycache;

typedef struct simsrv_kms {
	tee_dstack_app_keys keys;  /* K_app (secret) and chain[1] */
	bool root_known;           /* root_pub holds the KMS root (own, or recovered from chain[1]) */
	uint8_t root_pub[TEE_DSTACK_K256_PUB_LEN];
	char source[320];          /* where the keys came from, for the start-up line */
	simsrv_keycache *cache;    /* GetKey answers already computed */
} simsrv_kms;

/*
 * The app keys for app_id: from an .appkeys.json file, from the public
 * development keys (dstack's simulator appkeys.json, built in), or derived
 * from a KMS root k256 key kept in <state_dir>/kms-root-k256.key (64 hex
 * digits, created 0600 when missing; a file that is there but unreadable or
 * not a valid key is an error, never replaced). Free with simsrv_kms_close
 * (also after a failure).
 */
teeliza_err simsrv_kms_open(simsrv_kms *kms, const char *appkeys_file, bool dev_keys, const char *state_dir,
                            const uint8_t app_id[20]) TEELIZA_WARN_UNUSED;
void simsrv_kms_close(simsrv_kms *kms);

/* GetKey through the cache (answers are deterministic). Same contract as tee_dstack_get_key. */
teeliza_err simsrv_kms_get_key(tee_dstack_key *out, const simsrv_kms *kms, tee_dstack_alg alg, const char *path,
                               size_t path_len, const char *purpose, size_t purpose_len) TEELIZA_WARN_UNUSED;
/* The same for a request's "path", "purpose" and "algorithm" (GetKey, DeriveK256Key); their errors as the agent's. */
teeliza_err simsrv_kms_get_key_args(tee_dstack_key *out, const simsrv_kms *kms, const json_t *args) TEELIZA_WARN_UNUSED;

teeliza_err simsrv_keycache_new(simsrv_keycache **out) TEELIZA_WARN_UNUSED;
void simsrv_keycache_free(simsrv_keycache *c);
/* true and *out filled when (alg, path, purpose) is cached. */
bool simsrv_keycache_get(simsrv_keycache *c, tee_dstack_key *out, tee_dstack_alg alg, const char *path,
                         size_t path_len, const char *purpose, size_t purpose_len);
void simsrv_keycache_put(simsrv_keycache *c, const tee_dstack_key *key, tee_dstack_alg alg, const char *path,
                         size_t path_len, const char *purpose, size_t purpose_len);

/* ---- the boot event log (simsrv_events.c) ---- */

/*
 * The log a freshly booted dstack 0.5 CVM has: fixed simulated firmware and
 * kernel events on RTMR0-2, then the OS's runtime events on RTMR3
 * (system-preparing, app-id, compose-hash, instance-id, boot-mr-done,
 * os-image-hash, key-provider, storage-fs, system-ready). log must be empty.
 */
teeliza_err simsrv_boot_log(tee_event_log *log, const simsrv_app *app) TEELIZA_WARN_UNUSED;

/* ---- request arguments (simsrv_args.c) ---- */

/*
 * The request message as a JSON object: from a JSON body (empty body = {}),
 * or from a query string (url-decoded key=value pairs; "json" is ignored;
 * repeated keys, "k[]" and "k[N]" build arrays; "true"/"false"/"1"/"0" become
 * booleans for the boolean fields, digits integers for not_before/not_after).
 * Out: *out (json_decref). Errors are TEELIZA_ERR_PARSE with the message the
 * client gets.
 */
teeliza_err simsrv_args_from_body(json_t **out, const uint8_t *body, size_t len) TEELIZA_WARN_UNUSED;
teeliza_err simsrv_args_from_query(json_t **out, const char *query) TEELIZA_WARN_UNUSED;

/* Field accessors: a missing field gives the default ("", false, empty); a mistyped one an error naming it.
 * simsrv_arg_string and simsrv_arg_strings read C text, so they refuse a string holding "\u0000". */
teeliza_err simsrv_arg_string(const char **out, const json_t *args, const char *field) TEELIZA_WARN_UNUSED;
/* The same, with its length (JSON strings may hold NUL bytes: *len says where it really ends). */
teeliza_err simsrv_arg_string_len(const char **out, size_t *len, const json_t *args,
                                  const char *field) TEELIZA_WARN_UNUSED;
teeliza_err simsrv_arg_bool(bool *out, const json_t *args, const char *field) TEELIZA_WARN_UNUSED;
/* An optional unsigned 64-bit integer: *present false when absent (or null, as serde's Option). */
teeliza_err simsrv_arg_opt_u64(uint64_t *out, bool *present, const json_t *args,
                               const char *field) TEELIZA_WARN_UNUSED;
/* Hex bytes, "0x" prefixes optional. Out: bytes (initialised here; free with teeliza_buf_free). */
teeliza_err simsrv_arg_bytes(teeliza_buf *out, const json_t *args, const char *field, size_t max) TEELIZA_WARN_UNUSED;
/* Array of strings. Out: *items (malloc'd array of pointers into args; free() it) and *count. */
teeliza_err simsrv_arg_strings(const char ***items, size_t *count, const json_t *args,
                               const char *field) TEELIZA_WARN_UNUSED;

/* ---- response text (simsrv_json.c) ---- */

/* Append s as a JSON string literal with serde_json's escaping. */
teeliza_err simsrv_json_string(teeliza_buf *out, const char *s, size_t len) TEELIZA_WARN_UNUSED;
/* Append ["0x" +] lowercase hex as a JSON string literal (pRPC bytes). */
teeliza_err simsrv_json_hex(teeliza_buf *out, const uint8_t *data, size_t len, bool prefix_0x) TEELIZA_WARN_UNUSED;
/* Replace out with pRPC's error body: {\n  "error": "<msg>"\n}. */
void simsrv_json_error(teeliza_buf *out, const char *msg);

/* ---- the measured state (simsrv_view.c) ---- */

/*
 * Everything that changes when an event is emitted, and the answers made
 * from it, as one immutable snapshot: a request takes a reference to the
 * current view and answers from it alone, so a quote's RTMRs always match
 * the log it comes with, even while EmitEvent runs.
 */
typedef struct simsrv_view {
	atomic_uint refs;
	tee_event_log log;                 /* boot events, then runtime events (RTMR3) in order */
	uint8_t rtmr[4][TEE_RTMR_LEN];     /* the replay of log */
	size_t runtime_events;             /* events on RTMR3 */
	teeliza_buf log_json;              /* log as JSON (full: digests and payloads everywhere) */
	teeliza_buf full_log_literal;      /* log_json as a JSON string literal (tappd's TdxQuote) */
	teeliza_buf stripped_log_literal;  /* the 0.5.8+ stripped log as a literal (GetQuote) */
	teeliza_buf tappd_info;            /* the whole tappd Info answer */
	teeliza_buf dstack_info;           /* the whole DstackGuest Info answer */
	teeliza_buf worker_info;           /* Worker.Info: tcb_info and vm_config hidden unless public_tcbinfo */
} simsrv_view;

struct simsrv_state;

/* Take / drop a reference to the current view (never NULL while the state is up). */
simsrv_view *simsrv_view_get(struct simsrv_state *st);
void simsrv_view_put(simsrv_view *v);

/* Build the first view from the boot log (start-up, before any listener). */
teeliza_err simsrv_view_init(struct simsrv_state *st) TEELIZA_WARN_UNUSED;
void simsrv_view_close(struct simsrv_state *st);
/* Render the current view again (after something it shows changed, e.g. app_cert at start-up). */
teeliza_err simsrv_view_refresh(struct simsrv_state *st) TEELIZA_WARN_UNUSED;

/* The runtime-event limits that keep every answer (and its log) within what clients accept. */
#define SIMSRV_EMIT_LOG_MAX ((size_t)512 << 10) /* bytes of the full log's JSON */
#define SIMSRV_EMIT_NAME_MAX 1024u              /* bytes of an event name */

/*
 * EmitEvent: append {event, payload} as a runtime event, extend RTMR3, and
 * make the result the current view. Event names are UTF-8 without NUL.
 * TEELIZA_ERR_TOO_LARGE when the log would pass its limits (the view is
 * then unchanged); thread-safe.
 */
teeliza_err simsrv_view_emit(struct simsrv_state *st, const char *event, size_t event_len, const uint8_t *payload,
                             size_t payload_len) TEELIZA_WARN_UNUSED;

/* Render the tappd Info / DstackGuest Info of a view (simsrv_routes.c, simsrv_dstack_info.c). */
teeliza_err simsrv_tappd_info(teeliza_buf *out, const struct simsrv_state *st, const simsrv_view *v) TEELIZA_WARN_UNUSED;
teeliza_err simsrv_dstack_info(teeliza_buf *out, const struct simsrv_state *st, const simsrv_view *v,
                               bool external) TEELIZA_WARN_UNUSED;

/* ---- the whole state ---- */

typedef struct simsrv_state {
	const tee_sim_pki *pki;
	simsrv_ca ca;
	simsrv_app app;
	simsrv_kms kms;
	bool refuse_emit;              /* EmitEvent fails as in dstack's own simulator */
	char *app_cert;                /* Info's app_cert: a "demo-cert" chain issued at start */
	teeliza_buf version_json;      /* tappd's Version */
	teeliza_buf dstack_version_json;
	pthread_mutex_t view_lock;     /* guards view (the pointer, and taking a reference) */
	pthread_mutex_t emit_lock;     /* one EmitEvent at a time */
	simsrv_view *view;
	bool locks_ready;
} simsrv_state;

/* ---- the tappd pRPC methods (simsrv_routes.c) ---- */

/* Compute version_json and the like once the rest of the state is ready. */
teeliza_err simsrv_prepare_static(simsrv_state *st) TEELIZA_WARN_UNUSED;

/*
 * Run one method on args; on success the response JSON is in out (secret for
 * DeriveKey). On failure the message (teeliza_errmsg) is what the client gets.
 */
teeliza_err simsrv_derive_key(teeliza_buf *out, const simsrv_state *st, const json_t *args) TEELIZA_WARN_UNUSED;
teeliza_err simsrv_tdx_quote(teeliza_buf *out, simsrv_state *st, const json_t *args,
                             bool raw_only) TEELIZA_WARN_UNUSED;
/* Tappd.DeriveK256Key (dstack 0.5's tappd-compat name for GetKey): {k256_key, k256_signature_chain}. */
teeliza_err simsrv_derive_k256_key(teeliza_buf *out, const simsrv_state *st, const json_t *args) TEELIZA_WARN_UNUSED;

/*
 * Tappd.SimRoot (simsrv_simroot.c, teeliza only): {"note":…,"root_pem":PEM,
 * "collateral":{dcap-qvl QuoteCollateralV3 valid from now - 1 day to now + 30 days}}.
 */
teeliza_err simsrv_sim_root(teeliza_buf *out, const simsrv_state *st) TEELIZA_WARN_UNUSED;

/* ---- the DstackGuest and Worker services (simsrv_dstack.c, simsrv_dstack_rpc.c) ---- */

/* Which service a request is for. */
typedef enum simsrv_service {
	SIMSRV_SERVICE_DSTACK,  /* DstackGuest at / */
	SIMSRV_SERVICE_WORKER,  /* Worker at /prpc/Worker. (the public TCP port) */
} simsrv_service;

/*
 * Answer one request for method of service with dstack's pRPC rules (JSON
 * mode from GET, ?json or the content type; errors 400 with a pretty
 * {"error"} body). Out: reply->status and reply->body. Returns the error
 * that made it a 400 (for the log), or TEELIZA_OK.
 */
teeliza_err simsrv_dstack_serve(http_server_reply *reply, simsrv_state *st, simsrv_service service,
                                const char *method, const http_server_request *req);

/* True when the request is in pRPC's JSON mode (else pRPC would read protobuf). */
bool simsrv_prpc_json_mode(const http_server_request *req);

/* The DstackGuest methods (simsrv_dstack.c); args is NULL for Info and Version. */
teeliza_err simsrv_dstack_get_key(teeliza_buf *out, simsrv_state *st, const json_t *args) TEELIZA_WARN_UNUSED;
teeliza_err simsrv_dstack_get_quote(teeliza_buf *out, simsrv_state *st, const json_t *args) TEELIZA_WARN_UNUSED;
teeliza_err simsrv_dstack_attest(teeliza_buf *out, simsrv_state *st, const json_t *args) TEELIZA_WARN_UNUSED;
teeliza_err simsrv_dstack_emit_event(teeliza_buf *out, simsrv_state *st, const json_t *args) TEELIZA_WARN_UNUSED;
teeliza_err simsrv_dstack_sign(teeliza_buf *out, simsrv_state *st, const json_t *args) TEELIZA_WARN_UNUSED;
teeliza_err simsrv_dstack_verify(teeliza_buf *out, simsrv_state *st, const json_t *args) TEELIZA_WARN_UNUSED;
teeliza_err simsrv_dstack_get_tls_key(teeliza_buf *out, simsrv_state *st, const json_t *args) TEELIZA_WARN_UNUSED;
teeliza_err simsrv_worker_attestation_for_app_key(teeliza_buf *out, simsrv_state *st,
                                                  const json_t *args) TEELIZA_WARN_UNUSED;

/* A GetQuote-shaped answer for report_data from view v: {quote, event_log (stripped), report_data, vm_config}. */
teeliza_err simsrv_dstack_quote_response(teeliza_buf *out, const simsrv_state *st, const simsrv_view *v,
                                         const uint8_t report_data[64]) TEELIZA_WARN_UNUSED;

/* ---- RA-TLS certificates (simsrv_tls.c) ---- */

typedef struct simsrv_tls_request {
	const char *subject;
	const char *const *alt_names; /* DNS names or IP literals */
	size_t n_alt;
	bool usage_ra_tls;            /* quote + event log extensions */
	bool usage_server_auth;
	bool usage_client_auth;
	bool have_not_before, have_not_after;
	uint64_t not_before, not_after; /* unix seconds */
} simsrv_tls_request;

#define SIMSRV_TLS_TIME_MAX UINT64_C(253402300799) /* 9999-12-31T23:59:59Z, the last X.509 time */

/*
 * A fresh P-256 key and a leaf certificate for it signed by the CA, as
 * GetTlsKey issues them: CN = subject, SANs, key usage digitalSignature,
 * EKUs by the flags, validity not_before (default 1975-01-01) .. not_after
 * (default now + 3650 days), extensions 1.3.6.1.4.1.62397.1.3 (app id) and
 * .1.4 ("app:custom"), and with usage_ra_tls .1.1 (a quote over
 * SHA-512("ratls-cert:" ‖ SPKI DER), from view v) and .1.2 (v's full event
 * log). Out: key_pem (PKCS#8 PEM, secret) and cert_pem (both initialised
 * here; free with teeliza_buf_free). Bad alt names or times:
 * TEELIZA_ERR_INVALID with the client's message.
 */
teeliza_err simsrv_tls_issue(teeliza_buf *key_pem, teeliza_buf *cert_pem, const simsrv_state *st,
                             const simsrv_view *v, const simsrv_tls_request *req) TEELIZA_WARN_UNUSED;

/*
 * Info's app_cert: a "demo-cert" the agent has issued for itself (subject
 * demo-cert, client auth, RA-TLS), its chain joined with "\n" as dstack
 * does. Sets st->app_cert.
 */
teeliza_err simsrv_issue_demo_cert(simsrv_state *st) TEELIZA_WARN_UNUSED;

/* The OIDs (dstack ra-tls/src/oids.rs). */
#define SIMSRV_OID_RATLS_QUOTE "1.3.6.1.4.1.62397.1.1"
#define SIMSRV_OID_RATLS_EVENT_LOG "1.3.6.1.4.1.62397.1.2"
#define SIMSRV_OID_RATLS_APP_ID "1.3.6.1.4.1.62397.1.3"
#define SIMSRV_OID_RATLS_CERT_USAGE "1.3.6.1.4.1.62397.1.4"

/* ---- the V0 attestation blob (simsrv_scale.c) ---- */

/*
 * dstack's VersionedAttestation::V0, SCALE-encoded: 0x00, quote kind 0
 * (DstackTdx) with the quote and log (every event in full), the runtime
 * events, report_data and config. Out: out (initialised here).
 */
teeliza_err simsrv_attestation_v0(teeliza_buf *out, const uint8_t *quote, size_t quote_len, const tee_event_log *log,
                                  const uint8_t report_data[64], const char *config) TEELIZA_WARN_UNUSED;

#endif
