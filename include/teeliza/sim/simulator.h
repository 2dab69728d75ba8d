/*
 * teeliza's TEE simulator: dstack 0.5's guest-agent API (the DstackGuest
 * service on dstack.sock and at / on TCP, the Worker service on TCP) and
 * the tappd-compatible pRPC service (tappd.sock and /prpc/ on TCP), with
 * keys derived from a CA key and a simulated KMS hierarchy, and
 * well-formed simulated TDX quotes signed by a simulator PKI (never
 * Intel-rooted). docs/SIMULATED-QUOTES.md describes it.
 */
#ifndef TEELIZA_SIMULATOR_H
#define TEELIZA_SIMULATOR_H

#include "teeliza/common/common.h"
#include "teeliza/tee/rtmr.h"

#ifdef __cplusplus
extern "C" {
#endif

/* ---- simulated PKI, quotes and collateral (src/lib/sim/sim_pki.c, sim_quote.c) ---- */

typedef struct tee_sim_pki tee_sim_pki;

/*
 * Load the simulator PKI from dir, or create what is missing: sim-root.key/.pem
 * (root CA "teeliza Simulator Root CA — NOT INTEL"), sim-pck-ca.key/.pem,
 * sim-pck.key/.pem (PCK leaf with the SGX extension, FMSPC 00AA5E1EE700),
 * sim-tcb-signing.key/.pem, sim-attestation.key. dir and missing parents are
 * created 0700, every file 0600 (atomic writes); an flock on dir/.lock keeps
 * concurrent openers consistent. A missing file is re-created with everything
 * it issued; an unreadable file (TEELIZA_ERR_PARSE), a non-P-256 key
 * (TEELIZA_ERR_UNSUPPORTED) or a certificate that does not match its key or
 * issuer (TEELIZA_ERR_VERIFY) is an error, never silently replaced.
 * TEELIZA_ERR_IO / _INVALID for directory problems.
 * Out: *out (NULL on failure), freed with tee_sim_pki_free.
 */
teeliza_err tee_sim_pki_open(tee_sim_pki **out, const char *dir) TEELIZA_WARN_UNUSED;
void tee_sim_pki_free(tee_sim_pki *pki);

/*
 * The simulator root CA certificate (PEM): what `verify --trust-root` takes.
 * out is initialised by the call; the caller frees it with teeliza_buf_free.
 */
teeliza_err tee_sim_pki_root_pem(teeliza_buf *out, const tee_sim_pki *pki) TEELIZA_WARN_UNUSED;

/*
 * A TDX quote v4: att key type 2, Intel's QE vendor ID, certification data 6
 * → QE report signed by the simulated PCK, PEM chain (PCK leaf, sim
 * intermediate, sim root, NUL), real ECDSA signature over header ‖ body.
 * report_data and rtmr[] as given; other measurements fixed simulator values
 * (docs/SIMULATED-QUOTES.md). One ECDSA signature per call; thread-safe on a
 * shared pki. quote is initialised by the call (empty on failure); the caller
 * frees it with teeliza_buf_free. Fails only with TEELIZA_ERR_CRYPTO/_NOMEM.
 */
teeliza_err tee_sim_quote(teeliza_buf *quote, const tee_sim_pki *pki, const uint8_t report_data[64],
                          const uint8_t rtmr[4][48]) TEELIZA_WARN_UNUSED;

/*
 * Collateral for simulator quotes in dcap-qvl QuoteCollateralV3 JSON form
 * (signed TDX TCB Info v3 and TD_QE identity v2, issuer chains, empty CRLs),
 * valid from now - 1 day to now + 30 days (now in unix seconds). Signatures
 * are fresh on every call; thread-safe. out is initialised by the call and
 * freed by the caller with teeliza_buf_free. TEELIZA_ERR_INVALID when now is
 * outside 1970-01-02 .. 9999-12-01.
 */
teeliza_err tee_sim_collateral_json(teeliza_buf *out, const tee_sim_pki *pki, int64_t now) TEELIZA_WARN_UNUSED;

/* ---- the server (src/lib/sim/simulator.c) ---- */

typedef struct tee_sim_config {
	const char *host;        /* TCP address, e.g. "127.0.0.1" or "0.0.0.0"; NULL = no TCP */
	uint16_t port;           /* 8090 by default; 0 = any free port */
	const char *socket_path; /* the tappd socket (tappd.sock: /prpc/Tappd.*), or NULL */
	const char *dstack_socket_path; /* the dstack socket (dstack.sock: /GetKey, ...), or NULL */
	unsigned socket_mode;    /* e.g. 0666, for both sockets */
	const char *key_file;    /* CA key PEM (P-256); NULL = <state_dir>/ca.key, created 0600 */
	const char *key_pem;     /* the CA key PEM itself (e.g. tee_sim_dev_key_pem); wins over key_file */
	const char *state_dir;   /* where generated keys and the sim PKI live; NULL = $XDG_STATE_HOME or ~/.local/state/teeliza-simulator */
	/*
	 * dstack app keys (GetKey, Sign, DeriveK256Key): an .appkeys.json file
	 * (its k256_key and k256_signature), or dstack_dev_keys for the public
	 * ones of dstack's simulator (built in); neither = a KMS root k256 key of
	 * our own, <state_dir>/kms-root-k256.key, created 0600 at the first start.
	 */
	const char *appkeys_file;
	bool dstack_dev_keys;
	/* 40 hex digits; NULL = dstack's simulator app id with appkeys_file or dstack_dev_keys, else the first 20 bytes of the compose hash */
	const char *app_id_hex;
	const char *compose_file; /* the app's app-compose.json; NULL = a built-in one */
	bool refuse_emit_event;   /* EmitEvent fails as in dstack's own simulator (default: it extends RTMR3) */
	unsigned threads;        /* 0 = 2 */
	bool quiet;              /* no request log on stderr */
	/* 0 = the server's default (30 s; docs/SIMULATED-QUOTES.md lists the limits) */
	unsigned request_timeout_s;
	bool no_listener;        /* no TCP, no socket: answer through tee_sim_call only (tests, fuzzing) */
} tee_sim_config;

typedef struct tee_sim tee_sim;

/*
 * The public development CA key (tappd-simulator's certs/app.key, PEM):
 * what `teeliza demo` and `teeliza start --simulator` use unless given a
 * key, so their wallets are reproducible everywhere. Public: never for value.
 */
extern const char tee_sim_dev_key_pem[];

teeliza_err tee_sim_start(tee_sim **out, const tee_sim_config *cfg) TEELIZA_WARN_UNUSED;
uint16_t tee_sim_port(const tee_sim *sim);

/* The listeners, each with its own routes. */
typedef enum tee_sim_listener {
	TEE_SIM_TCP = 0,           /* /prpc/Tappd.*, /prpc/Worker.*, and the DstackGuest methods at /<Method> */
	TEE_SIM_TAPPD_SOCKET = 1,  /* /prpc/Tappd.* only */
	TEE_SIM_DSTACK_SOCKET = 2, /* the DstackGuest methods at /<Method> only */
} tee_sim_listener;

/*
 * Answer one request as the TCP listener does, without a network (tests,
 * fuzzing): http_method "GET" or "POST" (others get 404 as from the
 * server), path such as "/prpc/Tappd.TdxQuote" or "/GetKey", query the raw
 * query string without '?' (NULL = none; read for GET) and the request body
 * (read for POST), sent as application/json. Out: *status (200, 400 or 404)
 * and reply (initialised here, the JSON answer or error; free with
 * teeliza_buf_free, it may hold a key). Returns TEELIZA_OK whenever a reply
 * was made, whatever its status.
 */
teeliza_err tee_sim_call(teeliza_buf *reply, unsigned *status, const tee_sim *sim, const char *http_method,
                         const char *path, const char *query, const uint8_t *body,
                         size_t body_len) TEELIZA_WARN_UNUSED;

/* The same on a given listener, with a Content-Type of the caller's ("" = none). */
teeliza_err tee_sim_call_on(teeliza_buf *reply, unsigned *status, const tee_sim *sim, tee_sim_listener listener,
                            const char *http_method, const char *path, const char *query, const char *content_type,
                            const uint8_t *body, size_t body_len) TEELIZA_WARN_UNUSED;

/*
 * The KMS root k256 public key the app keys chain up to (GetKey's chain[1]
 * recovers to it): the simulator's own root, or the one the given app keys'
 * signature recovers to for the app id. Out: pub (33 bytes, compressed).
 * false when there is none (app keys without a KMS signature).
 */
bool tee_sim_kms_root(uint8_t pub[33], const tee_sim *sim);
/* The simulated app id (20 bytes) and where the dstack keys came from (text for the start-up line). */
void tee_sim_app_id(uint8_t out[20], const tee_sim *sim);
const char *tee_sim_keys_source(const tee_sim *sim);

const tee_sim_pki *tee_sim_get_pki(const tee_sim *sim);
/*
 * The simulator's root (PEM) and its collateral at now (JSON), appended to
 * the two buffers: what a verifier needs to check this simulator's quotes
 * (the agent API's sim_trust callback; sim is the tee_sim).
 */
teeliza_err tee_sim_trust_anchor(teeliza_buf *root_pem, teeliza_buf *collateral_json, void *sim,
                                 int64_t now) TEELIZA_WARN_UNUSED;
void tee_sim_stop(tee_sim *sim);

#ifdef __cplusplus
}
#endif
#endif
