/*
 * Receipts for every reply and fresh attestations, for the TEE plugin
 * (docs/VERIFIABILITY.md). Each agent with the TEE plugin on has a reply key
 * (teeliza/tee/reply_key.h) derived from the plugin's tappd at start-up,
 * bound into a quote of a "teeliza-reply-key" statement that is stored with
 * the agent's attestations; every reply then gets a receipt in the agent's
 * hash chain, stored in the agent's store, continuing across restarts.
 *
 * RECEIPT_SIGNATURE (environment): "ed25519" (default, also ""),
 * "eip191": also sign each receipt's id as EIP-191 with a secp256k1 reply
 * key whose address the statement names, or "off": no reply key and no
 * receipts (logged as a warning; for measuring what receipts cost).
 * Anything else stops the agent with TEELIZA_ERR_CONFIG.
 *
 * When tappd is down the key is asked for again (at most every 3 s) on the
 * next reply; until then replies carry no receipt and say nothing else.
 */
#ifndef TEELIZA_AGENT_TEE_RECEIPTS_H
#define TEELIZA_AGENT_TEE_RECEIPTS_H

#include "teeliza/agent/tee_plugin.h"
#include "teeliza/tee/dstack.h"
#include "teeliza/tee/tappd.h"

#include <stdio.h>

#ifdef __cplusplus
extern "C" {
#endif

#define AGENT_RECEIPT_ID_BUFSZ 65 /* hex SHA-256 + NUL */
#define AGENT_RECEIPT_HEADER "X-Teeliza-Receipt"

/* True when rt's agent signs receipts (a TEE plugin, RECEIPT_SIGNATURE not off). */
bool agent_reply_receipts_on(const agent_runtime *rt);

/*
 * The receipt of one reply of rt's agent: request and response are the
 * exact bytes the client sent and received (REST: the request body and the
 * JSON reply array as sent without any receipt field; terminal chat: the
 * line typed and the reply texts joined by "\n"). Out: id. Replicas on one
 * database share the agent's chain: after a link another replica stored
 * first, the receipt is built again on the head the store reads under the
 * chain's lock (agent_store_append_receipt), so it cannot lose again; a
 * store without that lock gets up to 16 retries on each new head. Errors:
 * TEELIZA_ERR_UNSUPPORTED when the agent has no TEE plugin; the key's
 * derivation error while tappd is unavailable; the store's;
 * TEELIZA_ERR_CONFLICT when, without the lock, other replicas took the next
 * link every time.
 */
teeliza_err agent_reply_receipt(char id[AGENT_RECEIPT_ID_BUFSZ], agent_runtime *rt, const char *room_id,
                                const void *request, size_t request_len, const void *response,
                                size_t response_len) TEELIZA_WARN_UNUSED;

/*
 * agent_reply_receipt, storing the reply's memories (n_memories >= 1; the
 * first is the reply the receipt's memory_id names) in the same store
 * transaction as the receipt (agent_store_put_receipt_with_memories): one
 * commit per reply. Nothing is stored when it fails, whatever the cause:
 * the caller then stores the memories itself (agent_runtime_message does,
 * see agent_message_in.seal).
 */
teeliza_err agent_reply_receipt_with_memories(char id[AGENT_RECEIPT_ID_BUFSZ], agent_runtime *rt, const char *room_id,
                                              const void *request, size_t request_len, const void *response,
                                              size_t response_len, const agent_memory *memories,
                                              size_t n_memories) TEELIZA_WARN_UNUSED;

/*
 * A stored receipt as the REST API returns it:
 * {"id","receipt" (the canonical text, a string),"signature","publicKey",
 *  "algorithm":"ed25519","seq","statementQuoteId", ["eip191","eip191Address"]}.
 * TEELIZA_ERR_NOT_FOUND when the agent has no such receipt.
 */
teeliza_err agent_reply_receipt_json(json_t **out, agent_runtime *rt, const char *id) TEELIZA_WARN_UNUSED;

/*
 * A receipt with everything a stranger needs to check it offline
 * (docs/VERIFIABILITY.md, "Reply bundles"): the route's fields plus
 * "format":"teeliza-reply-bundle", "version":1, "prev", "statement",
 * "quote" (hex), "eventLog" and "keyProvenance". TEELIZA_ERR_NOT_FOUND as
 * above; TEELIZA_ERR_CONNECT while the statement is not quoted yet.
 */
teeliza_err agent_reply_receipt_bundle(json_t **out, agent_runtime *rt, const char *id) TEELIZA_WARN_UNUSED;

/*
 * A fresh quote over a "teeliza-fresh-attestation" statement binding nonce
 * (TEE_NONCE_MIN..TEE_NONCE_MAX bytes): {"statement" (text),"reportData",
 * "quote" (hex),"eventLog" (tappd's text),"replyKey","agentId","nonce"}.
 * Errors as agent_reply_receipt, TEELIZA_ERR_INVALID for a nonce of the
 * wrong size.
 */
teeliza_err agent_fresh_attestation(json_t **out, agent_runtime *rt, const uint8_t *nonce,
                                    size_t nonce_len) TEELIZA_WARN_UNUSED;

/*
 * The key the process serves HTTPS with (teeliza start --tls), named in
 * every statement quoted from now on (the reply-key statement at an
 * agent's start, fresh attestations) as "tlsKey": the lowercase hex
 * SHA-256 of its SubjectPublicKeyInfo DER (64 digits), or NULL / "": none
 * (written as ""). Process-wide: set it before the agents start. Anything
 * else: TEELIZA_ERR_INVALID.
 */
teeliza_err agent_receipts_set_tls_key(const char *spki_sha256_hex) TEELIZA_WARN_UNUSED;

/* ---- for the TEE plugin (tee_plugin.c) ---- */

typedef struct agent_tee_receipts agent_tee_receipts;

/*
 * The layers below the three functions above (tee_receipts.c, which calls
 * nothing of the plugin: the wallets come in as arguments, NULL when not
 * known, and are written as "" in statements).
 */

/* RECEIPT_SIGNATURE is one of the values above, else TEELIZA_ERR_CONFIG (agent_tee_config_check asks). */
teeliza_err agent_receipt_signature_check(void) TEELIZA_WARN_UNUSED;

/*
 * Read RECEIPT_SIGNATURE and set up (keys are derived by agent_tee_receipts_prepare); *out NULL when off.
 * Exactly one of client (tappd: DeriveKey, RawQuote) and dclient (dstack: GetKey, GetQuote) is given.
 */
teeliza_err agent_tee_receipts_new(agent_tee_receipts **out, const tappd_client *client, const dstack_client *dclient,
                                   const char *salt, const char *agent_id, agent_store *store,
                                   FILE *log) TEELIZA_WARN_UNUSED;
/* Derive the keys, quote the statement, load the chain (when not done yet; retried at most every 3 s). */
teeliza_err agent_tee_receipts_prepare(agent_tee_receipts *r, const agent_tee_wallets *w) TEELIZA_WARN_UNUSED;
/* agent_reply_receipt_with_memories for r (n_memories 0: the receipt alone); model is what the receipt names. */
teeliza_err agent_tee_receipts_sign(char id[AGENT_RECEIPT_ID_BUFSZ], agent_tee_receipts *r,
                                   const agent_tee_wallets *w, const char *room_id, const char *model,
                                   const void *request, size_t request_len, const void *response,
                                   size_t response_len, const agent_memory *memories,
                                   size_t n_memories) TEELIZA_WARN_UNUSED;
teeliza_err agent_tee_receipts_json(json_t **out, agent_tee_receipts *r, const char *id) TEELIZA_WARN_UNUSED;
teeliza_err agent_tee_receipts_bundle(json_t **out, agent_tee_receipts *r, const char *id) TEELIZA_WARN_UNUSED;
teeliza_err agent_tee_receipts_fresh(json_t **out, agent_tee_receipts *r, const agent_tee_wallets *w,
                                    const uint8_t *nonce, size_t nonce_len) TEELIZA_WARN_UNUSED;
void agent_tee_receipts_free(agent_tee_receipts *r);
/* The plugin's receipts state (NULL when the plugin is off). */
agent_tee_receipts *agent_tee_receipts_of(agent_tee *t);

#ifdef __cplusplus
}
#endif
#endif
