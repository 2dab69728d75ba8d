/*
 * dstack 0.5 guest-agent client: every method of the DstackGuest service
 * (GetKey, GetQuote, Attest, Info, EmitEvent, GetTlsKey, Sign, Verify,
 * Version) over TCP or a unix socket, with typed, length-checked results.
 *
 * Wire (as @phala/dstack-sdk 0.5.8 sends it): POST /<Method> with
 * Content-Type: application/json and a JSON body. Over a URL endpoint the
 * request goes to the URL's origin + "/<Method>" (any path in the endpoint
 * is ignored, as the SDK's new URL(path, endpoint) does); over a socket to
 * http://localhost/<Method>. The true Content-Length is sent; no proxy is
 * used; no User-Agent is sent (the agent reads none).
 *
 * Replies are hostile input: each method has a size cap (below), JSON is
 * parsed strictly (duplicate keys, "\u0000" and trailing bytes refused),
 * every field is type-checked, hex is decoded after trimming any number of
 * leading "0x" (as prpc's deserialiser does; 0.5 agents write none), and
 * every length is checked.
 *
 * Errors (the message always names the endpoint and the method):
 *  - TEELIZA_ERR_CONNECT / _TIMEOUT / _TOO_LARGE from the transport; a
 *    socket path that does not exist is TEELIZA_ERR_CONNECT "Unix socket
 *    file <p> does not exist" (the SDK's words);
 *  - TEELIZA_ERR_REMOTE when the reply carries {"error": …}: dstack's
 *    400 {"error": msg} gives msg first ("Unsupported algorithm (dstack at
 *    unix:/var/run/dstack.sock, GetKey)"); any status but 404 with such a
 *    body is REMOTE (the SDK throws on the key whatever the status);
 *  - TEELIZA_ERR_NOT_FOUND for HTTP 404 (tappd's "method Not Found", or a
 *    server with no such route): the endpoint does not serve the dstack API,
 *    and the message says to check TEE_API / the endpoint;
 *  - TEELIZA_ERR_PROTOCOL for any other non-2xx status, a body that is not
 *    the JSON expected, a missing or mistyped field, bad hex or a wrong
 *    length;
 *  - TEELIZA_ERR_VERIFY when a reply contradicts itself or the request
 *    (a quote whose report data is not the one asked for, a Sign signature
 *    that does not verify under the key it came with);
 *  - client-side checks as the SDK makes them, before anything is sent:
 *    TEELIZA_ERR_INVALID "Report data is too large, it should be less than
 *    64 bytes.", "Event name cannot be empty", "Pre-hashed signing requires
 *    a 32-byte digest, but received N bytes"; TEELIZA_ERR_UNSUPPORTED
 *    "Unsupported algorithm: "<name>" (…)" (the agent's words first) for an
 *    algorithm the agent would refuse; strings that are not UTF-8:
 *    TEELIZA_ERR_INVALID.
 * Outputs are zeroed first and hold nothing to free on failure.
 */
#ifndef TEELIZA_DSTACK_H
#define TEELIZA_DSTACK_H

#include "teeliza/common/common.h"
#include "teeliza/tee/dstack_events.h"
#include "teeliza/tee/dstack_keys.h"
#include "teeliza/tee/dstack_provenance.h"
#include "teeliza/tee/tee_endpoint.h"

#ifdef __cplusplus
extern "C" {
#endif

/* Reply size caps per method (the client's max_response can only lower them). */
#define DSTACK_SMALL_REPLY_MAX ((size_t)64 << 10)  /* GetKey, Sign, Verify, Version, EmitEvent */
#define DSTACK_TLS_REPLY_MAX ((size_t)1 << 20)     /* GetTlsKey */
#define DSTACK_QUOTE_REPLY_MAX ((size_t)4 << 20)   /* GetQuote, Attest, Info */

#define DSTACK_REPORT_DATA_MAX 64
#define DSTACK_QUOTE_MAX 32768u           /* the kernel's TSM_OUTBLOB_MAX: no TDX quote is longer */
#define DSTACK_ATTESTATION_MAX ((size_t)1 << 20)
#define DSTACK_CHAIN_MAX 16               /* certificates in a GetTlsKey chain */

typedef struct dstack_client {
	tee_endpoint ep;
	long timeout_ms;      /* default 30000 (the SDK's) */
	size_t max_response;  /* default 16 MiB; the per-method caps above apply below it */
} dstack_client;

/* Copy ep and set the defaults above. */
void dstack_client_init(dstack_client *c, const tee_endpoint *ep);

/* "dstack at unix:<path>" or "dstack at <url>" for messages. Returns out. */
const char *dstack_client_str(char *out, size_t out_len, const dstack_client *c);

/* ---- GetKey ---- */

/*
 * GetKey(path, purpose, algorithm). Body {"path","purpose","algorithm"}, all
 * three always sent (NULL path/purpose = "", NULL algorithm = "secp256k1",
 * the SDK's defaults). algorithm must be one the agent accepts ("secp256k1",
 * "k256", "", "ed25519"; sent as given), else TEELIZA_ERR_UNSUPPORTED
 * "Unsupported algorithm". For ed25519 the SDK first asks /Version, since an
 * agent older than 0.5.7 ignores the algorithm and would answer with a
 * secp256k1 key: when Version fails with an error answer, this fails with
 * TEELIZA_ERR_UNSUPPORTED "algorithm "ed25519" is not supported: OS version
 * too old (Version RPC unavailable)" (transport errors are passed on).
 *
 * Out: the 32-byte key (secret: teeliza_wipe(out, sizeof(*out)) when done),
 * its public key computed here, and the chain: chain[0] 65 bytes, chain[1]
 * 65 bytes or empty (a local key provider signs nothing;
 * kms_signature_len 0). The chain is not verified here: see
 * dstack_key_provenance(). A reply with a key that is not 32 bytes, a chain
 * that is not two entries or an entry of the wrong length:
 * TEELIZA_ERR_PROTOCOL.
 */
teeliza_err dstack_get_key(tee_dstack_key *out, const dstack_client *c, const char *path, const char *purpose,
                           const char *algorithm) TEELIZA_WARN_UNUSED;

/* What to check a key's chain against (each NULL/0 when not known). */
typedef struct dstack_trust {
	const char *app_id_hex;    /* 20 bytes (Info's app_id), or NULL: the event log's "app-id" */
	const char *kms_root_hex;  /* the pinned KMS root (33-byte compressed secp256k1), or NULL */
	const char *event_log;     /* a GetQuote event_log text, or NULL */
	size_t event_log_len;
	const uint8_t *rtmr3;      /* 48 bytes of a verified quote the log must replay to, or NULL */
} dstack_trust;

/*
 * Walk a GetKey result's chain (tee_dstack_verify_key, "verify-key"): the
 * key's public key, chain[0] over purpose, chain[1] over the app id, up to
 * the pinned root. algorithm as given to dstack_get_key (NULL =
 * "secp256k1"); purpose likewise (NULL = ""). Returns and fills *out as
 * tee_dstack_verify_key does: TEELIZA_OK only when every link holds up to a
 * pinned root; TEELIZA_ERR_UNTRUSTED when all holds but no root was given.
 */
teeliza_err dstack_key_provenance(tee_dstack_key_report *out, const tee_dstack_key *key, const char *algorithm,
                                  const char *purpose, const dstack_trust *trust) TEELIZA_WARN_UNUSED;

/* ---- GetQuote / Attest ---- */

typedef struct dstack_quote_reply {
	teeliza_buf quote;              /* the binary TDX quote; it parses (dcap_quote_parse) */
	uint8_t report_data[64];        /* the request's data right-padded with zeros: checked against both
	                                   the reply's report_data and the quote's */
	teeliza_buf event_log;          /* the event_log JSON text as received */
	tee_dstack_events events;       /* that text parsed (strictly) and replayed */
	bool replay_matches;            /* the replayed RTMR0–3 equal the quote's */
	char replay_error[300];         /* why not ("RTMR3 mismatch, quoted: …"), else "" */
	char *vm_config;                /* vm_config text as received ("" when absent) */
} dstack_quote_reply;

/*
 * GetQuote(report_data): at most 64 bytes, sent as hex without padding,
 * no prefix and no hash (the agent pads with zeros on the right); more:
 * TEELIZA_ERR_INVALID "Report data is too large, it should be less than 64
 * bytes." (the SDK's text) and nothing is sent. Body {"report_data":"<hex>"}.
 * Out: see above; free with dstack_quote_reply_free. A quote longer than
 * DSTACK_QUOTE_MAX, one that does not parse as a TDX quote, or an event log
 * the strict parser refuses: TEELIZA_ERR_PROTOCOL; report data that differs
 * from what was asked: TEELIZA_ERR_VERIFY. An event log that parses but
 * does not replay to the quote's RTMRs is returned, with replay_matches
 * false: a verifier decides.
 */
teeliza_err dstack_get_quote(dstack_quote_reply *out, const dstack_client *c, const uint8_t *report_data,
                             size_t report_data_len) TEELIZA_WARN_UNUSED;
void dstack_quote_reply_free(dstack_quote_reply *r);

/* The two attestation formats dstack writes (the blob's first byte). */
typedef enum dstack_attestation_format {
	DSTACK_ATTESTATION_V0 = 0, /* 0x00: SCALE, what 0.5.x CVMs produce */
	DSTACK_ATTESTATION_V1 = 1, /* 0x80–0x8f, 0xde, 0xdf: a MessagePack map (0.5.11 simulator, later) */
} dstack_attestation_format;

/*
 * Attest(report_data): the same input rules and body as GetQuote. Out: the
 * attestation blob (1..DSTACK_ATTESTATION_MAX bytes; free with
 * teeliza_buf_free) and its format. A blob that starts with neither
 * format's byte: TEELIZA_ERR_PROTOCOL. The blob's contents are not decoded.
 */
teeliza_err dstack_attest(teeliza_buf *attestation, dstack_attestation_format *format, const dstack_client *c,
                          const uint8_t *report_data, size_t report_data_len) TEELIZA_WARN_UNUSED;

/* ---- Info ---- */

/* Info's tcb_info, a JSON text inside the reply, parsed. */
typedef struct dstack_tcb_info {
	bool present;                   /* false when tcb_info was "" (hidden, as the public port does) */
	bool has_registers;             /* mrtd and rtmr0–3 present (null when the platform has no TD report) */
	uint8_t mrtd[48];
	uint8_t rtmr[4][48];
	uint8_t mr_aggregated[32];
	size_t mr_aggregated_len;       /* 32, or 0 when empty */
	uint8_t os_image_hash[32];
	size_t os_image_hash_len;       /* 32 or 0 */
	uint8_t compose_hash[32];
	size_t compose_hash_len;        /* 32 or 0 */
	uint8_t device_id[32];
	size_t device_id_len;           /* 32 or 0 */
	tee_dstack_events events;       /* its event_log, parsed and replayed */
	bool replay_matches;            /* has_registers and the replay gives rtmr0–3 */
	char *app_compose;              /* the raw app-compose.json text ("" when absent) */
} dstack_tcb_info;

typedef struct dstack_info {
	uint8_t app_id[20];
	size_t app_id_len;              /* 20, or 0 when empty */
	uint8_t instance_id[20];
	size_t instance_id_len;         /* 20 or 0 */
	uint8_t device_id[32];
	size_t device_id_len;           /* 32 or 0 */
	uint8_t mr_aggregated[32];
	size_t mr_aggregated_len;       /* 32 or 0 */
	uint8_t os_image_hash[32];
	size_t os_image_hash_len;       /* 32 or 0 */
	uint8_t compose_hash[32];
	size_t compose_hash_len;        /* 32 or 0 */
	char *app_name;                 /* strings: as received, "" when absent */
	char *app_cert;                 /* PEM, may be "" (fetched by the agent in the background) */
	char *key_provider_info;
	char *vm_config;
	char *cloud_vendor;
	char *cloud_product;
	char *tcb_info_text;            /* tcb_info as received */
	dstack_tcb_info tcb;
	teeliza_buf raw;                /* the whole reply as received */
} dstack_info;

/*
 * Info (body "{}"). Out: *out; free with dstack_info_free. Every field the
 * agent sends is read; app_name, app_cert, tcb_info, app_id, instance_id,
 * device_id, key_provider_info and compose_hash are required (they exist in
 * every 0.5 agent), the rest ("" when absent) are newer. tcb_info "" is
 * allowed (tcb.present false); otherwise it must be a JSON object whose
 * fields have the lengths above, and whose event_log the strict
 * dstack_events parser accepts.
 */
teeliza_err dstack_get_info(dstack_info *out, const dstack_client *c) TEELIZA_WARN_UNUSED;
void dstack_info_free(dstack_info *info);

/* ---- Version ---- */

typedef struct dstack_version {
	char version[64];   /* "0.5.11" */
	char rev[128];      /* git revision */
} dstack_version;

/* Version (body "{}"); agents before 0.5.7 have none (an error answer). Longer strings: PROTOCOL. */
teeliza_err dstack_get_version(dstack_version *out, const dstack_client *c) TEELIZA_WARN_UNUSED;

/*
 * The SDK's isReachable(): Info answered within timeout_ms (the SDK uses
 * 500) with anything parseable. Never sets an error that matters.
 */
bool dstack_is_reachable(const dstack_client *c, long timeout_ms);

/* ---- EmitEvent ---- */

/*
 * EmitEvent(event, payload): extend RTMR3. event must be non-empty
 * (TEELIZA_ERR_INVALID "Event name cannot be empty", the SDK's check) and
 * UTF-8. Body {"event":…,"payload":"<hex>"}. The agent answers null.
 */
teeliza_err dstack_emit_event(const dstack_client *c, const char *event, const uint8_t *payload,
                              size_t payload_len) TEELIZA_WARN_UNUSED;

/* ---- GetTlsKey ---- */

typedef struct dstack_tls_key_options {
	const char *subject;             /* NULL = "" */
	const char *const *alt_names;    /* sent only when n_alt > 0, as the SDK */
	size_t n_alt;
	bool usage_ra_tls;
	bool usage_server_auth;          /* the SDK's default is true: use dstack_tls_key_options_init */
	bool usage_client_auth;
	/* Newer options, sent only when set (the SDK probes /Version first, so do we). */
	bool set_not_before;
	uint64_t not_before;             /* seconds since the epoch */
	bool set_not_after;
	uint64_t not_after;
	bool set_with_app_info;
	bool with_app_info;
} dstack_tls_key_options;

/* The SDK's defaults: subject "", no alt names, server auth only. */
void dstack_tls_key_options_init(dstack_tls_key_options *o);

typedef struct dstack_tls_key {
	teeliza_buf key;                 /* PEM private key (secret; wiped on free) */
	teeliza_buf *certificate_chain;  /* PEM certificates, leaf first */
	size_t chain_len;                /* 1..DSTACK_CHAIN_MAX */
} dstack_tls_key;

/*
 * GetTlsKey. Body {"subject","usage_ra_tls","usage_server_auth",
 * "usage_client_auth"} then "alt_names", "not_before", "not_after",
 * "with_app_info" when given, in the SDK's key order. With a newer option
 * set, /Version is asked first; when it fails with an error answer:
 * TEELIZA_ERR_UNSUPPORTED "TLS key options [notBefore, notAfter] are not
 * supported: OS version too old (Version RPC unavailable)" (the SDK's
 * names). Out: key and chain; free with dstack_tls_key_free. A key that is
 * not a PEM "PRIVATE KEY" or a chain that is empty, too long or holds
 * something other than PEM certificates: TEELIZA_ERR_PROTOCOL.
 */
teeliza_err dstack_get_tls_key(dstack_tls_key *out, const dstack_client *c,
                               const dstack_tls_key_options *opts) TEELIZA_WARN_UNUSED;
void dstack_tls_key_free(dstack_tls_key *k);

/* ---- Sign / Verify ---- */

/*
 * Sign(algorithm, data) with the agent's key GetKey("vms", "signing").
 * algorithm: "secp256k1", "k256", "ed25519", "secp256k1_prehashed" (else
 * TEELIZA_ERR_UNSUPPORTED "Unsupported algorithm"); prehashed data must be
 * 32 bytes (the SDK's error otherwise). Body {"algorithm","data":"<hex>"}.
 * Out: signature (64 bytes), public key (33 bytes compressed secp256k1 or
 * 32 bytes ed25519) and key_chain = signature_chain[1..2] (65 bytes, the
 * last possibly empty). signature_chain[0] must equal signature, and the
 * signature must verify under the public key (tee_dstack_verify), else
 * TEELIZA_ERR_VERIFY. The key chain is not walked: dstack_sign_provenance.
 */
teeliza_err dstack_sign(tee_dstack_signature *out, const dstack_client *c, const char *algorithm,
                        const uint8_t *data, size_t data_len) TEELIZA_WARN_UNUSED;

/* The signing key's chain (purpose "signing"), as dstack_key_provenance. algorithm as given to dstack_sign. */
teeliza_err dstack_sign_provenance(tee_dstack_key_report *out, const tee_dstack_signature *sig,
                                   const char *algorithm, const dstack_trust *trust) TEELIZA_WARN_UNUSED;

/*
 * Verify(algorithm, data, signature, public_key) as the agent judges it.
 * algorithm as for Sign. Body {"algorithm","data","signature","public_key"},
 * hex. Out: *valid (false on error). A malformed key or signature is the
 * agent's 400: TEELIZA_ERR_REMOTE.
 */
teeliza_err dstack_verify(bool *valid, const dstack_client *c, const char *algorithm, const uint8_t *data,
                          size_t data_len, const uint8_t *signature, size_t signature_len, const uint8_t *public_key,
                          size_t public_key_len) TEELIZA_WARN_UNUSED;

#ifdef __cplusplus
}
#endif
#endif
