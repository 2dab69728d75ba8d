/*
 * tappd client: the pRPC API of Phala's dstack tappd (and our simulator),
 * over TCP or a unix socket, with Eliza's TEE_MODE endpoint selection.
 */
#ifndef TEELIZA_TAPPD_H
#define TEELIZA_TAPPD_H

#include "teeliza/common/common.h"
#include "teeliza/tee/rtmr.h"

#ifdef __cplusplus
extern "C" {
#endif

#define TAPPD_DEFAULT_SOCKET "/var/run/tappd.sock"

typedef struct tappd_endpoint {
	char url[512];        /* http(s)://host:port base URL, or "" for a unix socket */
	char socket[512];     /* unix socket path, or "" */
} tappd_endpoint;

/*
 * From TEE_MODE: LOCAL → http://localhost:8090, DOCKER →
 * http://host.docker.internal:8090, PRODUCTION → /var/run/tappd.sock; else
 * TEELIZA_ERR_CONFIG "Invalid TEE_MODE: <m>. Must be one of: LOCAL, DOCKER,
 * PRODUCTION" (NULL prints "undefined"). A non-NULL simulator_endpoint
 * (DSTACK_SIMULATOR_ENDPOINT) overrides it as the SDK does: http(s):// → URL,
 * anything else → socket path.
 */
teeliza_err tappd_endpoint_select(tappd_endpoint *out, const char *tee_mode,
                                  const char *simulator_endpoint) TEELIZA_WARN_UNUSED;
/*
 * Parse one endpoint string: "http://" or "https://" (case-sensitive) → URL
 * (any path in it is ignored, as Node's new URL(path, endpoint) does), anything
 * else → unix socket path. Empty, too long, or a URL without a host:
 * TEELIZA_ERR_INVALID.
 */
teeliza_err tappd_endpoint_parse(tappd_endpoint *out, const char *endpoint) TEELIZA_WARN_UNUSED;
/*
 * The log line the plugin prints for a mode ("TEE: Connecting to local
 * simulator at localhost:8090"); NULL for a mode the plugin rejects. Static.
 */
const char *tappd_mode_log_line(const char *tee_mode);

/* The line the JS SDK prints when DSTACK_SIMULATOR_ENDPOINT overrides ("Using simulator endpoint: <v>"). */
#define TAPPD_OVERRIDE_LOG_PREFIX "Using simulator endpoint: "

/*
 * The mode line to log before connecting: tappd_mode_log_line(tee_mode)
 * when simulator_endpoint is NULL or "", else a line naming the endpoint
 * actually used and what it replaces ("TEE: Connecting to local simulator
 * at <endpoint> (DSTACK_SIMULATOR_ENDPOINT replaces localhost:8090 of
 * TEE_MODE=LOCAL)"; for PRODUCTION a WARNING that keys and quotes come from
 * the endpoint, not this machine's TDX), so that it agrees with the SDK's
 * "Using simulator endpoint: <endpoint>" line that follows. Control
 * characters of the endpoint are shown as '?'. Returns the static line or
 * out (truncated to out_len; 1100 bytes always fit); NULL for a mode the
 * plugin rejects.
 */
const char *tappd_connect_log_line(char *out, size_t out_len, const char *tee_mode, const char *simulator_endpoint);
#define TAPPD_CONNECT_LOG_LINE_MAX 1100

/*
 * Human-readable form of an endpoint for messages: the URL, or
 * "unix:<path>". Returns out.
 */
const char *tappd_endpoint_str(char *out, size_t out_len, const tappd_endpoint *ep);

typedef struct tappd_client {
	tappd_endpoint ep;
	long timeout_ms;      /* default 30000 (the SDK's "Request timed out" limit) */
	size_t max_response;  /* default 16 MiB; bigger replies fail with TEELIZA_ERR_TOO_LARGE */
} tappd_client;

/* Copy ep and set the defaults above. */
void tappd_client_init(tappd_client *c, const tappd_endpoint *ep);

/*
 * Every call below POSTs JSON to /prpc/Tappd.<Method> with the bytes the JS
 * SDK (@phala/dstack-sdk 0.1.7) sends, and the true Content-Length. Errors:
 * TEELIZA_ERR_CONNECT / _TIMEOUT / _TOO_LARGE from the transport (message
 * names the endpoint); TEELIZA_ERR_PROTOCOL for a body that is not a JSON
 * object ("Failed to parse response from ..."), for a non-2xx status without
 * an "error" member, and for missing or mistyped fields;
 * TEELIZA_ERR_REMOTE when the reply has an "error" member (message starts
 * with the server's text, as the SDK's rethrown Error does). Outputs are
 * zeroed first and hold nothing to free on failure.
 */

typedef struct tappd_derive_key_response {
	teeliza_buf key;                 /* PEM, secret */
	teeliza_buf *certificate_chain;  /* array of PEM strings */
	size_t chain_len;
} tappd_derive_key_response;

/*
 * Body {"path":…,"subject":…} plus "alt_names" only when n_alt > 0. As in the
 * SDK, a NULL path is "" and a NULL or empty subject becomes the path.
 * Strings must be valid UTF-8 (else TEELIZA_ERR_INVALID). Out: key (secret)
 * and the certificate chain (empty when the reply has none); free with
 * tappd_derive_key_response_free, which wipes the key.
 */
teeliza_err tappd_derive_key(tappd_derive_key_response *out, const tappd_client *c, const char *path,
                             const char *subject, const char *const *alt_names,
                             size_t n_alt) TEELIZA_WARN_UNUSED;
void tappd_derive_key_response_free(tappd_derive_key_response *r);

typedef struct tappd_quote_response {
	teeliza_buf quote;       /* binary quote */
	teeliza_buf event_log;   /* the event_log JSON text as received */
	char hash_algorithm[32]; /* echoed by newer tappd, else "" */
	char prefix[64];
} tappd_quote_response;

/*
 * Body {"report_data":"<hex>"} plus "hash_algorithm" and "prefix" only when
 * non-NULL (NULL = server defaults: SHA-512 over "app-data:" ‖ data). With
 * hash_algorithm "raw", as SDK 0.1.7: more than 64 bytes fails with
 * TEELIZA_ERR_INVALID "Report data is too large, it should less then 64 bytes
 * when hash_algorithm is raw."; shorter data is left-padded with zero bytes.
 * Out: the binary quote and the event-log text; free with
 * tappd_quote_response_free.
 */
teeliza_err tappd_tdx_quote(tappd_quote_response *out, const tappd_client *c, const uint8_t *report_data,
                            size_t report_data_len, const char *hash_algorithm,
                            const char *prefix) TEELIZA_WARN_UNUSED;
/* RawQuote: report_data must be exactly 64 bytes. */
teeliza_err tappd_raw_quote(tappd_quote_response *out, const tappd_client *c,
                            const uint8_t report_data[64]) TEELIZA_WARN_UNUSED;
void tappd_quote_response_free(tappd_quote_response *r);

/* Info / Version (body "{}"): the JSON object text of the reply as received; free json_out. */
teeliza_err tappd_info(teeliza_buf *json_out, const tappd_client *c) TEELIZA_WARN_UNUSED;
teeliza_err tappd_version(teeliza_buf *json_out, const tappd_client *c) TEELIZA_WARN_UNUSED;
/*
 * SimRoot, a teeliza simulator's own method (real tappd answers "method Not
 * Found", TEELIZA_ERR_REMOTE): {"root_pem":…,"collateral":{…}} as received,
 * its simulator root CA and collateral. Nothing in it is checked here. Not
 * counted in the tappd metrics: asking is how a caller finds out whether the
 * endpoint is a teeliza simulator at all.
 */
teeliza_err tappd_sim_root(teeliza_buf *json_out, const tappd_client *c) TEELIZA_WARN_UNUSED;

#ifdef __cplusplus
}
#endif
#endif
