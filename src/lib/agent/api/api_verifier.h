/*
 * The quote verifier behind POST /verify and the dashboard's verdicts
 * (api_verifier.c), and the simulator roots it knows (api_simroot.c, each
 * held as a sim_anchor, api_sim_anchor.c): the in-process simulator's,
 * which the API's caller supplies (agent_api_config.sim_trust), and those
 * learned from a tappd endpoint that is a teeliza simulator
 * (Tappd.SimRoot). A simulator root is only ever trusted as a simulator
 * root: verdicts under it say so, never "Intel".
 */
#ifndef TEELIZA_AGENT_API_VERIFIER_H
#define TEELIZA_AGENT_API_VERIFIER_H

#include "agent/runtime/runtime_internal.h"
#include "agent/tee_plugin/tee_plugin_internal.h"
#include "teeliza/agent/api.h"
#include "teeliza/dcap/pccs.h"
#include "teeliza/dcap/verify.h"
#include "teeliza/tee/app_identity.h"
#include "teeliza/tee/verify_reply.h"

#include <jansson.h>
#include <pthread.h>
#include <stdatomic.h>

typedef struct api_verifier api_verifier;

/*
 * A new verifier. local: where the in-process simulator's root and
 * collateral come from (asked now, so a broken source fails here), or NULL
 * (or local->get NULL) for none; copied.
 */
teeliza_err api_verifier_new(api_verifier **out, const agent_api_trust_anchor *local) TEELIZA_WARN_UNUSED;
void api_verifier_free(api_verifier *v);

/*
 * When t's plugin is in simulator mode and its endpoint is a teeliza
 * simulator, learn that simulator's root and collateral (Tappd.SimRoot):
 * asked at most once a minute per endpoint (daily once known), 2 s timeout,
 * 256 KiB cap, parsed strictly. Logs to log when a root is learned.
 */
void api_verifier_learn_simulator(api_verifier *v, agent_tee *t, FILE *log, int64_t now);

typedef struct api_verify_input {
	const uint8_t *quote;
	size_t quote_len;
	const char *collateral_json;   /* NULL: a known simulator's when the quote chains to it, else none */
	size_t collateral_len;
	const char *root_pem;          /* roots the caller trusts for this request (PEM), or NULL */
	size_t root_pem_len;
	int64_t now;
	const char *event_log;         /* the quote's event-log JSON text, or NULL: then no app identity */
	size_t event_log_len;
	tee_identity_policy identity;  /* app identity to require (needs event_log); all NULL = none */
} api_verify_input;

/*
 * Verify a quote, then (with an event log or an identity policy) its app
 * identity (tee_verify_app_identity). Out: *out, the verifier's verdict JSON
 * with "rootedIn" ("intel", "simulator", "caller" or null), "label",
 * "collateralSource", "simulator" (its root's SHA-256 and endpoint), the
 * decoded "quote" and, when read, "appIdentity";
 * *status, the HTTP status (200 for any verdict; 400 for a truncated quote,
 * bad collateral or a bad root, 422 with advice when collateral is needed).
 */
teeliza_err api_verify_quote(json_t **out, unsigned *status, api_verifier *v,
                             const api_verify_input *in) TEELIZA_WARN_UNUSED;

/* A reply bundle to check (api_verifier_reply.c). Strings borrowed. */
typedef struct api_reply_input {
	const char *bundle;           /* the bundle's JSON text (docs/VERIFIABILITY.md, "Reply bundles") */
	size_t bundle_len;
	const char *prev;             /* the previous receipt's canonical text, or NULL */
	size_t prev_len;
	const char *prev_absent;      /* prev NULL: why it is known not to exist (tee_reply_policy), or NULL */
	const char *kms_root_hex;     /* the KMS root to pin, or NULL */
	int64_t now;
} api_reply_input;

/*
 * Check a reply bundle with tee_verify_reply, its statement quote's
 * collateral from a simulator this agent knows, else the configured PCCS
 * (none: the quote link breaks, saying why). Out: *out {"ok","link" (the
 * broken link's id, or null),"message","rootedIn","collateralSource",
 * "receipt":{"id","seq","agentId","replyKey"},"links" (tee_reply_links_json),
 * "verdict" (tee_reply_verdict_to_json without its links)}. Errors: out of
 * memory only; every verdict is an answer.
 */
teeliza_err api_verify_reply(json_t **out, api_verifier *v, const api_reply_input *in) TEELIZA_WARN_UNUSED;

/*
 * items[0..n), in chain order, as receipts of in's bundle's key
 * (tee_verify_reply_chain). Out: *out, an array of n {"status","reason"}
 * in the same order: "ok", "fail" (the first that broke) or "not-checked".
 */
teeliza_err api_verify_reply_receipts(json_t **out, api_verifier *v, const api_reply_input *in,
                                      const tee_reply_item *items, size_t n) TEELIZA_WARN_UNUSED;

/* ---- Inside the verifier (api_verifier.c, api_simroot.c, api_sim_anchor.c) ---- */

/* A simulator root with the collateral for its quotes; reference-counted, shared by verifications. */
typedef struct sim_anchor {
	atomic_int refs;
	dcap_trust *trust;            /* Intel and this root */
	char *root_pem;               /* the root as given (one certificate) */
	size_t root_pem_len;
	char *root_b64;               /* the root certificate's base64 without whitespace: spots quotes carrying it */
	uint8_t root_sha256[32];
	dcap_collateral *coll;
	int64_t made;                 /* when the collateral was made (in-process) or fetched */
	char endpoint[256];           /* where it came from; "" for the in-process simulator */
} sim_anchor;

/*
 * A new anchor for root_pem, which must hold exactly one certificate: a
 * self-signed CA that is not the Intel SGX Root CA. Takes coll (freed on
 * failure too). Out: *out with one reference.
 */
teeliza_err sim_anchor_new(sim_anchor **out, const char *root_pem, size_t root_pem_len, dcap_collateral *coll,
                           int64_t made, const char *endpoint) TEELIZA_WARN_UNUSED;
sim_anchor *sim_anchor_ref(sim_anchor *a);
void sim_anchor_free(sim_anchor *a);
/* Does the quote's PEM chain carry the anchor's root certificate? */
bool sim_anchor_in_quote(const sim_anchor *a, const dcap_quote *q);

#define API_REMOTE_SIMS 4

/* What one tappd endpoint said to Tappd.SimRoot. */
typedef struct remote_sim {
	char endpoint[256];           /* "" = free slot */
	int64_t tried_at;             /* the last request */
	char error[240];              /* why it gave no root ("" when it did) */
	sim_anchor *anchor;           /* NULL: not a teeliza simulator (or unreachable) */
} remote_sim;

struct api_verifier {
	agent_api_trust_anchor local_source; /* the in-process simulator's root and collateral (get NULL: none) */
	pthread_mutex_t lock;          /* local, remote[] */
	sim_anchor *local;             /* the in-process simulator's root and collateral (renewed before it expires) */
	remote_sim remote[API_REMOTE_SIMS];
	pthread_mutex_t fetch_lock;    /* one Tappd.SimRoot request at a time */
	dcap_pccs_config pccs;         /* collateral from a PCCS (url NULL: none); strings owned (api_verifier_pccs.c) */
	int64_t pccs_failed_at;        /* under lock: when (the clock's time) the PCCS last failed; 0: never */
};

/*
 * Fetch collateral for quotes that bring none from the PCCS at url, cached
 * in cache_dir (api_verifier_pccs.c). url NULL: none. Copies the strings.
 */
teeliza_err api_verifier_set_pccs(api_verifier *v, const char *url, const char *cache_dir,
                                  bool allow_http) TEELIZA_WARN_UNUSED;

/*
 * The collateral of an Intel-rooted quote from the cache or the PCCS, when a
 * PCCS is configured. Only a quote whose PCK chain is signed up to Intel's
 * root makes the agent ask the PCCS (anyone may send quotes: a forged chain
 * with made-up FMSPCs must not turn the agent into a PCCS client for them),
 * and for API_PCCS_BACKOFF_S after a failure it is not asked at all (the
 * cache still serves what is valid), so an outage does not hold every request
 * for the timeout. *coll NULL (and TEELIZA_OK) when none is configured or
 * the quote is not one a PCCS serves; *source "pccs", "cache" or "cache
 * (PCCS unreachable)". An error (the PCCS failed, with no valid cache
 * entry) has its reason in msg.
 */
#define API_PCCS_BACKOFF_S 30
teeliza_err api_verifier_pccs_collateral(dcap_collateral **coll, const char **source, char *msg, size_t msg_len,
                                         api_verifier *v, const api_verify_input *in) TEELIZA_WARN_UNUSED;

/*
 * Parse a Tappd.SimRoot answer strictly: at most API_SIM_ROOT_MAX bytes, one
 * JSON object without duplicate keys, "root_pem" one certificate (see
 * sim_anchor_new), "collateral" dcap-qvl QuoteCollateralV3 (object or
 * string). Out: *out with one reference.
 */
#define API_SIM_ROOT_MAX ((size_t)256 << 10)
teeliza_err api_sim_root_parse(sim_anchor **out, const char *text, size_t len, const char *endpoint,
                               int64_t now) TEELIZA_WARN_UNUSED;

/* Make (or renew, before its collateral expires) the in-process simulator's anchor from v->local_source. */
teeliza_err api_verifier_local_anchor(api_verifier *v, int64_t now) TEELIZA_WARN_UNUSED;

/* The anchor (a new reference) whose root the quote carries: the in-process simulator's first, else a learned one. */
sim_anchor *api_verifier_anchor_for(api_verifier *v, const dcap_quote *q, int64_t now);

#endif
