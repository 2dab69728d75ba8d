/*
 * agent_api: Eliza's direct-client REST API over http_server, serving the
 * agents of one registry (teeliza/agent/runtime.h), with teeliza's routes
 * (attestations, POST /verify, the dashboard, /healthz, /metrics).
 *
 * Thread safety: the API may be used from any thread; requests are served
 * concurrently. docs/AGENT.md is the user-level reference, docs/DASHBOARD.md
 * the dashboard's.
 */
#ifndef TEELIZA_AGENT_API_H
#define TEELIZA_AGENT_API_H

#include <stdint.h>
#include <stdio.h>

#include "teeliza/agent/runtime.h"
#include "teeliza/common/common.h"

#ifdef __cplusplus
extern "C" {
#endif

/* Default REST port (Eliza's SERVER_PORT default) and body limit (EXPRESS_MAX_PAYLOAD "100kb"). */
#define AGENT_API_DEFAULT_PORT 3000
#define AGENT_API_DEFAULT_MAX_BODY ((size_t)100 * 1024)
/* Largest file part of a multipart message (TEELIZA_MAX_FILE_SIZE; multer has no limit). */
#define AGENT_API_DEFAULT_MAX_FILE ((size_t)64 << 20)

typedef struct agent_api agent_api;

/*
 * A simulator the API cannot learn about over the network but is told of by
 * its caller: the in-process simulator of `teeliza start --simulator`. get
 * appends to root_pem the simulator's root CA (one PEM certificate) and to
 * collateral_json collateral for its quotes (dcap-qvl QuoteCollateralV3
 * JSON) valid from a day before now (Unix seconds) to 30 days after it
 * (the API asks again after 29 days); both buffers are initialised (empty)
 * and freed by the API. Errors are reported with
 * teeliza_set_error. Called at start (a failure there fails agent_api_start)
 * and again from request threads when the collateral is due for renewal,
 * so it must be thread-safe. The root is trusted only as a simulator root:
 * verdicts under it are labelled so, never as Intel's.
 */
typedef teeliza_err (*agent_api_trust_anchor_fn)(teeliza_buf *root_pem, teeliza_buf *collateral_json, void *ctx,
                                                  int64_t now);

typedef struct agent_api_trust_anchor {
	agent_api_trust_anchor_fn get;   /* NULL: none */
	void *ctx;                       /* passed to get; must outlive the API */
} agent_api_trust_anchor;

typedef struct agent_api_config {
	agent_registry *registry;        /* borrowed; required */
	const char *host;                /* NULL: "0.0.0.0" (Eliza's bind address) */
	uint16_t port;                   /* 0: any free port */
	bool port_fallback;              /* port taken: try the next 10 ports (Eliza 0.1.9) */
	const char *api_token;           /* NULL or "": no authentication (set, stop and delete then answer loopback
	                                    clients only); else Bearer <token> on every route but GET /, /hello,
	                                    /healthz and the dashboard's files */
	size_t max_body;                 /* 0: AGENT_API_DEFAULT_MAX_BODY */
	size_t max_file;                 /* one multipart file part; 0: AGENT_API_DEFAULT_MAX_FILE */
	unsigned threads;                /* 0: 16 */
	/* The server's limits (http_server_config; 0: its defaults): */
	unsigned max_connections;        /* open connections (4096) */
	unsigned max_per_client;         /* open connections from one client address (256) */
	unsigned request_timeout_s;      /* to receive a whole request (30 s, plus 1 s per 16 KiB of body) */
	unsigned rate_limit;             /* requests per minute per client address; 0: none (Eliza has none) */
	FILE *log;                       /* NULL: stderr */
	/*
	 * The in-process simulator's root and collateral (teeliza start
	 * --simulator), or none (get NULL): POST /verify and the dashboard then
	 * trust its root CA, labelled as a simulator root, and verify its quotes
	 * against its own collateral.
	 */
	agent_api_trust_anchor sim_trust;
	/*
	 * Collateral for quotes that bring none (POST /verify, the dashboard):
	 * fetched from this PCCS / Intel PCS and kept in collateral_cache
	 * (teeliza/dcap/pccs.h). NULL: none, the API never reaches the network
	 * for collateral. collateral_cache NULL: AGENT_COLLATERAL_CACHE_DEFAULT.
	 * pccs_allow_http: plain http to a PCCS that is not on loopback.
	 */
	const char *pccs_url;
	const char *collateral_cache;
	bool pccs_allow_http;
	/*
	 * HTTPS instead of HTTP on the port (teeliza start --tls): the PEM
	 * chain, leaf first, and its PEM private key (http_server_config's
	 * tls_*: the server keeps its own copy in memory, wiped on stop).
	 * NULL: plain HTTP.
	 */
	const char *tls_cert_pem;
	const char *tls_key_pem;
	/*
	 * Replicas (docs/DEPLOY.md, "Scale-out"): how long a claimed request
	 * (Idempotency-Key) stays this replica's before another may take it
	 * over, in seconds; 0: AGENT_API_DEFAULT_REQUEST_LEASE_S. It must
	 * exceed the slowest model reply.
	 */
	unsigned request_lease_s;
} agent_api_config;

#define AGENT_API_DEFAULT_REQUEST_LEASE_S 120u

/* Where the API caches collateral by default, next to the database (relative to the cwd). */
#define AGENT_COLLATERAL_CACHE_DEFAULT "data/collateral"

/*
 * Read SERVER_HOST, SERVER_PORT, API_TOKEN (else elizaOS 1.x's
 * ELIZA_SERVER_AUTH_TOKEN), EXPRESS_MAX_PAYLOAD ("100kb",
 * "1mb", "512", ...), TEELIZA_MAX_FILE_SIZE (same syntax), API_RATE_LIMIT,
 * API_MAX_CONNECTIONS, API_MAX_CONNECTIONS_PER_CLIENT, API_REQUEST_TIMEOUT,
 * TEELIZA_REQUEST_LEASE (seconds, 1-86400), PCCS_URL and TEELIZA_COLLATERAL_CACHE into cfg (other fields untouched; unset or empty variables leave theirs).
 * Strings are borrowed from the environment. Bad values: TEELIZA_ERR_CONFIG
 * naming the variable.
 */
teeliza_err agent_api_config_from_env(agent_api_config *cfg) TEELIZA_WARN_UNUSED;

/* Parse a body-parser size ("100kb", "1mb", "2gb", "512b", "4096"). TEELIZA_ERR_INVALID on junk. */
teeliza_err agent_api_parse_size(size_t *out, const char *text) TEELIZA_WARN_UNUSED;

/*
 * Start serving. Logs "REST API bound to <host>:<port>", the limits, and,
 * when the host is not a loopback address and there is no token, a warning
 * that anyone who can reach the port can talk to the agents and read their
 * memories (set, stop and delete stay loopback-only).
 * Out: *out (free with agent_api_stop).
 */
teeliza_err agent_api_start(agent_api **out, const agent_api_config *cfg) TEELIZA_WARN_UNUSED;
uint16_t agent_api_port(const agent_api *api);
/* Stop serving; NULL-safe. The registry is left alone. */
void agent_api_stop(agent_api *api);

#ifdef __cplusplus
}
#endif
#endif
