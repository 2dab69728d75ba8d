/*
 * tappd client: the pRPC API of Phala's dstack tappd (and our simulator),
 * over TCP or a unix socket, with Eliza's TEE_MODE endpoint selection.
 */
#ifndef TEELIZA_TAPPD_H
#define TEELIZA_TAPPD_H

#include "teeliza/common.h"
#include "teeliza/rtmr.h"

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
/* Parse one endpoint string (URL or socket path). */
teeliza_err tappd_endpoint_parse(tappd_endpoint *out, const char *endpoint) TEELIZA_WARN_UNUSED;
/* The log line the plugin prints for a mode ("TEE: Connecting to local simulator at localhost:8090"). */
const char *tappd_mode_log_line(const char *tee_mode);

typedef struct tappd_client {
	tappd_endpoint ep;
	long timeout_ms;      /* default 30000 */
} tappd_client;

void tappd_client_init(tappd_client *c, const tappd_endpoint *ep);

typedef struct tappd_derive_key_response {
	teeliza_buf key;                 /* PEM, secret */
	teeliza_buf *certificate_chain;  /* array of PEM strings */
	size_t chain_len;
} tappd_derive_key_response;

/* alt_names: n_alt strings (may be 0). Server errors: TEELIZA_ERR_REMOTE with the server's text. */
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

/* hash_algorithm / prefix NULL = omitted from the request (server defaults). */
teeliza_err tappd_tdx_quote(tappd_quote_response *out, const tappd_client *c, const uint8_t *report_data,
                            size_t report_data_len, const char *hash_algorithm,
                            const char *prefix) TEELIZA_WARN_UNUSED;
/* RawQuote: report_data must be exactly 64 bytes. */
teeliza_err tappd_raw_quote(tappd_quote_response *out, const tappd_client *c,
                            const uint8_t report_data[64]) TEELIZA_WARN_UNUSED;
void tappd_quote_response_free(tappd_quote_response *r);

/* Info / Version: the raw JSON object text of the reply. */
teeliza_err tappd_info(teeliza_buf *json_out, const tappd_client *c) TEELIZA_WARN_UNUSED;
teeliza_err tappd_version(teeliza_buf *json_out, const tappd_client *c) TEELIZA_WARN_UNUSED;

#ifdef __cplusplus
}
#endif
#endif
