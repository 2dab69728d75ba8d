/*
 * teeliza's tappd-compatible simulator: pRPC over TCP and/or a unix socket,
 * keys derived from a CA key, and well-formed simulated TDX quotes signed by
 * a simulator PKI (never Intel-rooted).
 */
#ifndef TEELIZA_SIMULATOR_H
#define TEELIZA_SIMULATOR_H

#include "teeliza/common/common.h"
#include "teeliza/tee/rtmr.h"

#ifdef __cplusplus
extern "C" {
#endif

/* ---- simulated PKI, quotes and collateral (src/lib/tee/sim_pki.c, sim_quote.c) ---- */

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

/* ---- the server (src/lib/tee/simulator.c) ---- */

typedef struct tee_sim_config {
	const char *host;        /* TCP address, e.g. "127.0.0.1" or "0.0.0.0"; NULL = no TCP */
	uint16_t port;           /* 8090 by default; 0 = any free port */
	const char *socket_path; /* unix socket, or NULL */
	unsigned socket_mode;    /* e.g. 0666 */
	const char *key_file;    /* CA key PEM (P-256); NULL = <state_dir>/ca.key, created 0600 */
	const char *key_pem;     /* the CA key PEM itself (e.g. tee_sim_dev_key_pem); wins over key_file */
	const char *state_dir;   /* where generated keys and the sim PKI live; NULL = $XDG_STATE_HOME or ~/.local/state/teeliza-simulator */
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

/*
 * Answer one request as the server does, without a network (tests, fuzzing):
 * http_method "GET" or "POST" (others get 404 as from the server), path such
 * as "/prpc/Tappd.TdxQuote", query the raw query string without '?' (NULL =
 * none; read for GET) and the request body (read for POST). Out: *status
 * (200, 400 or 404) and reply (initialised here, tappd's JSON answer or
 * error; free with teeliza_buf_free, it holds a key after DeriveKey).
 * Returns TEELIZA_OK whenever a reply was made, whatever its status.
 */
teeliza_err tee_sim_call(teeliza_buf *reply, unsigned *status, const tee_sim *sim, const char *http_method,
                         const char *path, const char *query, const uint8_t *body,
                         size_t body_len) TEELIZA_WARN_UNUSED;
const tee_sim_pki *tee_sim_get_pki(const tee_sim *sim);
void tee_sim_stop(tee_sim *sim);

#ifdef __cplusplus
}
#endif
#endif
