/*
 * teeliza's tappd-compatible simulator: pRPC over TCP and/or a unix socket,
 * keys derived from a CA key, and well-formed simulated TDX quotes signed by
 * a simulator PKI (never Intel-rooted).
 */
#ifndef TEELIZA_SIMULATOR_H
#define TEELIZA_SIMULATOR_H

#include "teeliza/common.h"
#include "teeliza/rtmr.h"

#ifdef __cplusplus
extern "C" {
#endif

/* ---- simulated PKI, quotes and collateral (src/lib/tee/sim_pki.c, sim_quote.c) ---- */

typedef struct tee_sim_pki tee_sim_pki;

/*
 * Load the simulator PKI from dir (sim-root.pem/key, PCK chain, QE key, TCB
 * signing key — all created on first use, key files 0600), or create it.
 * dir is created (0700) if missing.
 */
teeliza_err tee_sim_pki_open(tee_sim_pki **out, const char *dir) TEELIZA_WARN_UNUSED;
void tee_sim_pki_free(tee_sim_pki *pki);

/* The simulator root CA certificate (PEM): what `verify --trust-root` takes. */
teeliza_err tee_sim_pki_root_pem(teeliza_buf *out, const tee_sim_pki *pki) TEELIZA_WARN_UNUSED;

/*
 * A TDX quote v4: att key type 2, certification data 6 → QE report signed by
 * the simulated PCK, PEM chain (PCK leaf, sim intermediate, sim root), real
 * ECDSA signature over header ‖ body. report_data and rtmr[] as given; other
 * measurements fixed simulator values. Thread-safe.
 */
teeliza_err tee_sim_quote(teeliza_buf *quote, const tee_sim_pki *pki, const uint8_t report_data[64],
                          const uint8_t rtmr[4][48]) TEELIZA_WARN_UNUSED;

/* Collateral for simulator quotes in dcap-qvl JSON form, valid around `now` (unix seconds). */
teeliza_err tee_sim_collateral_json(teeliza_buf *out, const tee_sim_pki *pki, int64_t now) TEELIZA_WARN_UNUSED;

/* ---- the server (src/lib/tee/simulator.c) ---- */

typedef struct tee_sim_config {
	const char *host;        /* TCP address, e.g. "127.0.0.1" or "0.0.0.0"; NULL = no TCP */
	uint16_t port;           /* 8090 by default; 0 = any free port */
	const char *socket_path; /* unix socket, or NULL */
	unsigned socket_mode;    /* e.g. 0666 */
	const char *key_file;    /* CA key PEM (P-256); NULL = <state_dir>/ca.key, created 0600 */
	const char *state_dir;   /* where generated keys and the sim PKI live; NULL = $XDG_STATE_HOME or ~/.local/state/teeliza-simulator */
	unsigned threads;        /* 0 = 2 */
	bool quiet;              /* no request log on stderr */
} tee_sim_config;

typedef struct tee_sim tee_sim;

teeliza_err tee_sim_start(tee_sim **out, const tee_sim_config *cfg) TEELIZA_WARN_UNUSED;
uint16_t tee_sim_port(const tee_sim *sim);
const tee_sim_pki *tee_sim_get_pki(const tee_sim *sim);
void tee_sim_stop(tee_sim *sim);

#ifdef __cplusplus
}
#endif
#endif
