/*
 * Check a reply end to end from a reply bundle (docs/VERIFIABILITY.md,
 * "Reply bundles"): the receipt, its signature, the reply key the
 * statement names, the statement's quote (DCAP under the TCB policy), the
 * RTMR0–3 replay of the quote's event log, the app identity policy, the
 * key's provenance to a pinned KMS root (dstack) and the receipt's place in
 * its hash chain. The first link that fails is named; nothing after it is
 * trusted.
 */
#ifndef TEELIZA_TEE_VERIFY_REPLY_H
#define TEELIZA_TEE_VERIFY_REPLY_H

#include "teeliza/common/common.h"
#include "teeliza/dcap/verify.h"
#include "teeliza/tee/app_identity.h"
#include "teeliza/tee/dstack_provenance.h"
#include "teeliza/tee/receipt.h"

#include <jansson.h>

#ifdef __cplusplus
extern "C" {
#endif

#define TEE_REPLY_BUNDLE_FORMAT "teeliza-reply-bundle"
#define TEE_REPLY_BUNDLE_MAX ((size_t)4 << 20) /* bytes of bundle JSON accepted */

/* The links, in the order they are checked (receipt.h names the receipt's own). */
#define TEE_LINK_BUNDLE "bundle"                  /* the bundle is not JSON of the documented form */
/*      TEE_LINK_RECEIPT, TEE_LINK_SIGNATURE, TEE_LINK_EIP191, TEE_LINK_REPLY_KEY (receipt.h) */
#define TEE_LINK_STATEMENT_QUOTE "statement quote" /* report data ≠ SHA-512(statement), or DCAP */
#define TEE_LINK_EVENT_LOG "event log"             /* RTMR0–3 do not replay from the event log */
#define TEE_LINK_APP_IDENTITY "app identity"       /* an --expect-* field absent or different */
#define TEE_LINK_KEY_PROVENANCE "key provenance"   /* GetKey's chain does not reach the pinned KMS root */
/*      TEE_LINK_CHAIN (receipt.h) */

/*
 * What the expensive links of a bundle proved, remembered per statement
 * (tee_reply_cache_new): the statement quote (DCAP), the RTMR0–3 replay,
 * the app identity and the key provenance are walked once for a given
 * statement, quote, event log and key provenance, and a later bundle with
 * exactly those bytes under exactly the same policy (now, TCB policy,
 * identity policy, KMS root) gets the same verdict without the work. The
 * key is the SHA-256 of all of them, so a changed byte is never served
 * from the cache; only walks in which every one of those links held are
 * remembered (a broken link is walked again, and named, every time). The
 * receipt, its signatures, the reply key and the hash chain are checked
 * on every call. Bound to the collateral and trust it was made for: a
 * policy with other ones does not use it. Thread-safe; free it before them.
 */
typedef struct tee_reply_cache tee_reply_cache;
teeliza_err tee_reply_cache_new(tee_reply_cache **out, const dcap_collateral *collateral,
                                const dcap_trust *trust) TEELIZA_WARN_UNUSED;
void tee_reply_cache_free(tee_reply_cache *c);
/* Walks served from the cache and walks done (for benchmarks and tests). */
void tee_reply_cache_stats(tee_reply_cache *c, uint64_t *hits, uint64_t *misses);

typedef struct tee_reply_policy {
	dcap_collateral *collateral;          /* for the statement quote; NULL: none, the quote link breaks (why below) */
	const char *no_collateral;            /* collateral NULL: why there is none (for the message), or NULL */
	const dcap_trust *trust;              /* NULL: Intel's root only */
	int64_t now;                          /* Unix seconds */
	const dcap_policy *dcap;              /* NULL: defaults (expect_report_data is set here) */
	const tee_identity_policy *identity;  /* NULL: none */
	const char *kms_root_hex;             /* pinned KMS root (33-byte compressed secp256k1), or NULL */
	const char *prev_receipt;             /* the previous receipt's canonical text, or NULL */
	size_t prev_len;
	tee_reply_cache *cache;               /* NULL: every link walked every time */
	/* prev_receipt NULL: why the previous receipt is known not to exist (e.g. it is not in the store of the
	 * agent that signed this one), so a receipt past seq 1 breaks the hash chain; NULL: unknown, not checked */
	const char *prev_absent;
} tee_reply_policy;

typedef struct tee_reply_verdict {
	const char *link;                     /* the first broken link (static), NULL when every link held */
	teeliza_err err;                      /* what tee_verify_reply returned */
	char message[768];                    /* why it broke; "" when it held */
	char id[65];                          /* the receipt's id (hex), once parsed */
	uint64_t seq;
	char agent_id[128];
	char reply_key[65];
	bool eip191;                          /* an EIP-191 signature was checked */
	dcap_result dcap;                     /* the statement quote's verdict (when reached) */
	bool dcap_done;
	bool rtmr_done;                       /* RTMR0–3 replayed and equal */
	bool identity_read;
	tee_app_identity identity;
	bool provenance_present;              /* the bundle carries a GetKey chain */
	bool provenance_checked;              /* and it was walked */
	teeliza_err provenance_err;           /* OK: to the pinned root; UNTRUSTED: no root pinned */
	tee_dstack_key_report provenance;
	char provenance_note[200];            /* the bundle's note when it has no chain */
	bool chain_checked;                   /* against a previous receipt (or seq 1's zero prev) */
	char wallets[256];                    /* the statement's wallets, "chain address, ..." (once the key held) */
	char eip191_address[43];              /* the statement's eip191Address, "" when none */
	bool no_collateral;                   /* the quote link broke for want of collateral (policy.collateral NULL) */
} tee_reply_verdict;

/*
 * Verify a bundle. Returns TEELIZA_OK when every link held and the quote is
 * trusted; TEELIZA_ERR_UNTRUSTED when every link held but the quote is
 * genuine and not trusted under the policy (link "statement quote");
 * TEELIZA_ERR_PARSE / TOO_LARGE for a malformed bundle, event log or
 * receipt; else the error of the failed check (TEELIZA_ERR_VERIFY, _EXPIRED,
 * ...). out is always filled as far as the walk got; teeliza_errmsg() holds
 * out->message.
 */
teeliza_err tee_verify_reply(tee_reply_verdict *out, const char *bundle, size_t len,
                             const tee_reply_policy *p) TEELIZA_WARN_UNUSED;

/* One receipt of a chain, as the receipt route serves it (borrowed strings). */
typedef struct tee_reply_item {
	const char *receipt;       /* the canonical text */
	size_t receipt_len;
	const char *signature_hex; /* Ed25519, 64 bytes */
	const char *eip191_hex;    /* 65 bytes, or NULL */
} tee_reply_item;

/*
 * A whole chain at the cost of one quote: verify the bundle as
 * tee_verify_reply (which proves its statement and reply key), then each of
 * items[0..n) in order as a receipt of that key: its form, its Ed25519 and
 * EIP-191 signatures, its replyKey = the statement's, and its link to the
 * one before it (items[0]: to p->prev_receipt when given, else seq 1 must
 * have a zero prev). The bundle's own receipt need not be among them.
 * Out: *out as tee_verify_reply, its message prefixed "receipt #i (seq N):"
 * for an item's broken link; *bad the index of the broken item, or SIZE_MAX
 * (none, or the bundle itself broke). Returns as tee_verify_reply.
 */
teeliza_err tee_verify_reply_chain(tee_reply_verdict *out, size_t *bad, const char *bundle, size_t len,
                                   const tee_reply_item *items, size_t n,
                                   const tee_reply_policy *p) TEELIZA_WARN_UNUSED;

/*
 * A chain file: a JSON array of what the receipt route serves (or bundles),
 * in chain order; each needs "receipt" and "signature" strings, "eip191"
 * optional. Out: *items (free()) pointing into *owner (json_decref), *n.
 * TEELIZA_ERR_PARSE naming the entry, TEELIZA_ERR_TOO_LARGE past
 * TEE_REPLY_BUNDLE_MAX bytes.
 */
teeliza_err tee_reply_chain_parse(json_t **owner, tee_reply_item **items, size_t *n, const char *text,
                                  size_t len) TEELIZA_WARN_UNUSED;

/*
 * The receipt text inside what --prev names: a bundle or the receipt
 * route's answer (its "receipt" string), or the receipt's own canonical
 * text. Appends to out. TEELIZA_ERR_PARSE for anything else.
 */
teeliza_err tee_reply_receipt_text(teeliza_buf *out, const char *text, size_t len) TEELIZA_WARN_UNUSED;

/* The verdict as JSON: {"ok","link","message","id","seq","agentId","replyKey","quote" (dcap_result),
 * "appIdentity","keyProvenance","chainChecked","links" (tee_reply_links_json)}. NULL when out of memory. */
json_t *tee_reply_verdict_to_json(const tee_reply_verdict *v);

/*
 * The chain of trust link by link, from the hardware root to the receipt
 * (verify_reply_links.c; docs/VERIFIABILITY.md, "The chain, link by link"):
 * a JSON array of {"id","name","status","reason"} in this order, whatever
 * order the checks ran in:
 *   root ("Root CA"), pck ("PCK chain and collateral"), qe ("Quoting
 *   enclave"), quote ("TD quote"), rtmr ("RTMR0-3 replay"), identity
 *   ("OS image, compose hash, app id"), kms-root ("KMS root"), app-key
 *   ("App key"), keys ("Reply key and wallets"), receipt ("Receipt"),
 *   signature ("Receipt signature"), chain ("Hash chain").
 * status is "ok" (it held), "fail" (it broke, or the quote is genuine but
 * untrusted: reason says which), or "not-checked" (an earlier check broke,
 * or the bundle does not carry that link, e.g. no KMS chain on tappd, no
 * previous receipt, no KMS root pinned). At most one link fails. A bundle
 * that is not of the documented form fails link "receipt". NULL when out of
 * memory.
 */
json_t *tee_reply_links_json(const tee_reply_verdict *v);

/* Replace each byte of s that is not part of well-formed UTF-8 with '?' (text cut by a length, for JSON). */
void tee_reply_utf8_clean(char *s);

/* The tee_reply_links_json id of verdict link name (TEE_LINK_*), or NULL when v holds. */
const char *tee_reply_link_id(const tee_reply_verdict *v);

#ifdef __cplusplus
}
#endif
#endif
