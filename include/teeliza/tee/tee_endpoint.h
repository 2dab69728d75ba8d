/*
 * Which TEE API to talk to and where: the dstack 0.5 guest agent
 * (dstack.h) or the older tappd (tappd.h), chosen from the environment.
 *
 * Inputs: TEE_MODE (LOCAL, DOCKER, PRODUCTION; as Eliza), TEE_API
 * ("dstack", "tappd", or unset/"" for automatic), DSTACK_SIMULATOR_ENDPOINT
 * and TAPPD_SIMULATOR_ENDPOINT (as @phala/dstack-sdk 0.5.8 reads them).
 *
 * The API (docs/DSTACK.md explains why):
 *   - TEE_API=dstack or TEE_API=tappd: that one, in every mode;
 *   - unset: dstack only when TEE_MODE=PRODUCTION, neither endpoint
 *     variable is set and one of the dstack sockets exists; tappd otherwise,
 *     which keeps Eliza's behaviour for LOCAL and DOCKER unchanged. A probe
 *     is never used: the API decides which keys and which report data an
 *     agent gets, so it must not change with what a server happens to answer.
 * The endpoint:
 *   - dstack: DSTACK_SIMULATOR_ENDPOINT; else LOCAL http://localhost:8090,
 *     DOCKER http://host.docker.internal:8090 (a teeliza simulator serves
 *     both APIs on one port), PRODUCTION the first existing of
 *     /var/run/dstack.sock, /run/dstack.sock, /var/run/dstack/dstack.sock,
 *     /run/dstack/dstack.sock, or the first when none exists (SDK 0.5.8);
 *   - tappd: TAPPD_SIMULATOR_ENDPOINT; else DSTACK_SIMULATOR_ENDPOINT (what
 *     Eliza's SDK 0.1.x reads for tappd); else LOCAL and DOCKER as above,
 *     PRODUCTION the first existing of /var/run/tappd.sock, /run/tappd.sock,
 *     /var/run/dstack/tappd.sock, /run/dstack/tappd.sock, or the first.
 * An endpoint string starting with "http://" or "https://" is a URL (its
 * path is ignored, as new URL("/<Method>", endpoint) does); anything else
 * is a unix socket path. An empty variable counts as unset (falsy in JS).
 */
#ifndef TEELIZA_TEE_ENDPOINT_H
#define TEELIZA_TEE_ENDPOINT_H

#include "teeliza/common/common.h"
#include "teeliza/tee/tappd.h"

#ifdef __cplusplus
extern "C" {
#endif

/* An endpoint of either API: a URL or a unix socket path (the tappd client's type). */
typedef tappd_endpoint tee_endpoint;

typedef enum tee_api {
	TEE_API_TAPPD = 1,  /* /prpc/Tappd.<Method>: DeriveKey, TdxQuote, Info (tappd.h) */
	TEE_API_DSTACK = 2, /* /<Method>: GetKey, GetQuote, Attest, Info, … (dstack.h) */
} tee_api;

/* "tappd", "dstack". */
const char *tee_api_name(tee_api api);

/*
 * TEE_API's value: "dstack" or "tappd" (exactly, lowercase). Anything else:
 * TEELIZA_ERR_CONFIG "Invalid TEE_API: <v>. Must be one of: dstack, tappd
 * (or unset to choose automatically)". NULL or "" is not a value: assert.
 */
teeliza_err tee_api_parse(tee_api *out, const char *name) TEELIZA_WARN_UNUSED;

/* The SDK 0.5.8 socket lists, NULL-terminated. */
extern const char *const TEE_DSTACK_SOCKETS[];
extern const char *const TEE_TAPPD_SOCKETS[];

#define TEE_DSTACK_SOCKET_DEFAULT "/var/run/dstack.sock"

/* The SDK's console.warn lines when an endpoint variable is used. */
#define TEE_DSTACK_OVERRIDE_LOG_PREFIX "Using simulator endpoint: " /* DstackClient */
#define TEE_TAPPD_OVERRIDE_LOG_PREFIX "Using tappd endpoint: "      /* TappdClient */

/* What the choice depends on; NULL and "" mean unset. */
typedef struct tee_endpoint_env {
	const char *tee_mode;               /* TEE_MODE */
	const char *tee_api;                /* TEE_API */
	const char *dstack_endpoint;        /* DSTACK_SIMULATOR_ENDPOINT */
	const char *tappd_endpoint;         /* TAPPD_SIMULATOR_ENDPOINT */
	const char *const *dstack_sockets;  /* NULL: TEE_DSTACK_SOCKETS (tests give their own) */
	const char *const *tappd_sockets;   /* NULL: TEE_TAPPD_SOCKETS */
} tee_endpoint_env;

/* Fill env from getenv() (pointers into the environment; the socket lists NULL). */
void tee_endpoint_env_from_process(tee_endpoint_env *env);

#define TEE_ENDPOINT_LOG_MAX 1200

typedef struct tee_endpoint_choice {
	tee_api api;
	tee_endpoint ep;
	bool api_explicit;    /* TEE_API chose the API */
	bool overridden;      /* an endpoint variable chose the endpoint */
	/*
	 * The line to log before connecting. For tappd in LOCAL/DOCKER with no
	 * TEE_API and no TAPPD_SIMULATOR_ENDPOINT it is exactly
	 * tappd_connect_log_line() (Eliza's). Otherwise it names the API, the
	 * endpoint and what chose them, e.g. "TEE: Running in production mode
	 * without simulator: dstack API at /var/run/dstack.sock (found)"; a
	 * PRODUCTION endpoint taken from a variable is a WARNING. Control
	 * characters of an endpoint are shown as '?'.
	 */
	char log_line[TEE_ENDPOINT_LOG_MAX];
	/*
	 * The SDK's own warning when a variable chose the endpoint
	 * ("Using simulator endpoint: <v>" for DSTACK_SIMULATOR_ENDPOINT,
	 * "Using tappd endpoint: <v>" for TAPPD_SIMULATOR_ENDPOINT), else "".
	 */
	char sdk_line[TEE_ENDPOINT_LOG_MAX];
} tee_endpoint_choice;

/*
 * Choose as described at the top. Out: *out (zeroed first). Errors:
 * TEELIZA_ERR_CONFIG for TEE_MODE (the tappd_endpoint_select() message:
 * "Invalid TEE_MODE: <m>. Must be one of: LOCAL, DOCKER, PRODUCTION"),
 * checked first, then TEE_API; TEELIZA_ERR_INVALID for an endpoint that
 * does not parse (empty URL host, too long, …). A socket that does not
 * exist is not an error here: the call that uses it says so.
 */
teeliza_err tee_endpoint_choose(tee_endpoint_choice *out, const tee_endpoint_env *env) TEELIZA_WARN_UNUSED;

/*
 * The SDK 0.5.8 DstackClient default: simulator_endpoint (non-empty) as
 * given, else the first path of sockets (NULL: TEE_DSTACK_SOCKETS) that
 * exists, else its first. Out: *out. TEELIZA_ERR_INVALID for an endpoint
 * that does not parse.
 */
teeliza_err tee_dstack_endpoint_default(tee_endpoint *out, const char *simulator_endpoint,
                                        const char *const *sockets) TEELIZA_WARN_UNUSED;

/* The same for TappdClient: TAPPD_SIMULATOR_ENDPOINT, else sockets (NULL: TEE_TAPPD_SOCKETS). */
teeliza_err tee_tappd_endpoint_default(tee_endpoint *out, const char *simulator_endpoint,
                                       const char *const *sockets) TEELIZA_WARN_UNUSED;

/*
 * Parse one endpoint string for api: "http://" or "https://"
 * (case-sensitive) → URL, anything else → unix socket path. Empty, too
 * long, a URL with spaces or control characters or without a host:
 * TEELIZA_ERR_INVALID, the message naming the API ("empty dstack endpoint:
 * …"). tappd_endpoint_parse() is this with TEE_API_TAPPD.
 */
teeliza_err tee_endpoint_parse(tee_endpoint *out, const char *endpoint, tee_api api) TEELIZA_WARN_UNUSED;

/* The first path of list that exists (stat() succeeds, as fs.existsSync), or NULL. */
const char *tee_first_existing(const char *const *list);

#ifdef __cplusplus
}
#endif
#endif
