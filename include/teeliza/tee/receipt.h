/*
 * Receipts of replies and the statements that bind reply keys to quotes
 * (docs/VERIFIABILITY.md: "Statements", "Receipts", "Fresh attestation").
 *
 * A receipt is RFC 8785 JSON:
 *   {"agentId","model","prev","replyKey","requestSha256","responseSha256",
 *    "roomId","seq","time","version"}
 * (that is also its canonical key order). Hashes and keys are lowercase hex;
 * time is ms since the epoch; seq counts an agent's receipts from 1; prev is
 * the hex SHA-256 of the previous receipt's canonical bytes (64 zeros for
 * seq 1). The receipt's id is the hex SHA-256 of its canonical bytes; the
 * reply key signs those bytes (Ed25519) and, optionally, the id as EIP-191.
 */
#ifndef TEELIZA_TEE_RECEIPT_H
#define TEELIZA_TEE_RECEIPT_H

#include "teeliza/common/common.h"
#include "teeliza/tee/reply_key.h"

#ifdef __cplusplus
extern "C" {
#endif

#define TEE_RECEIPT_VERSION 1
#define TEE_STATEMENT_VERSION 1
#define TEE_RECEIPT_MAX ((size_t)16 << 10)    /* a receipt's canonical text: ids and hashes only */
#define TEE_STATEMENT_PURPOSE_REPLY_KEY "teeliza-reply-key"
#define TEE_STATEMENT_PURPOSE_FRESH "teeliza-fresh-attestation"
#define TEE_NONCE_MIN 16
#define TEE_NONCE_MAX 64

typedef struct tee_receipt_fields {
	const char *agent_id;
	const char *room_id;
	const char *model;
	uint8_t request_sha256[32];
	uint8_t response_sha256[32];
	int64_t time_ms;
	uint64_t seq;              /* 1..2^53 */
	uint8_t prev[32];          /* zeros for seq 1 */
	uint8_t reply_key[32];     /* the Ed25519 public key that signs it */
} tee_receipt_fields;

/* The canonical receipt text into json (reset first) and its SHA-256. Strings must be UTF-8. */
teeliza_err tee_receipt_build(teeliza_buf *json, uint8_t hash[32], const tee_receipt_fields *f) TEELIZA_WARN_UNUSED;

/*
 * Parse a receipt text: it must be exactly the canonical form of a version-1
 * receipt with every field of the right type (hex of the right length,
 * seq 1..2^53, time ≥ 0). Out: *f (strings point into a copy kept in
 * *owned, free() it) and hash. Errors: TEELIZA_ERR_VERIFY naming the field.
 */
teeliza_err tee_receipt_parse(tee_receipt_fields *f, char **owned, uint8_t hash[32], const char *json,
                              size_t json_len) TEELIZA_WARN_UNUSED;

/* Which link of a receipt failed (tee_receipt_verify's *link). */
#define TEE_LINK_RECEIPT "receipt"            /* the text is not a well-formed canonical receipt */
#define TEE_LINK_REPLY_KEY "reply key"        /* signed by another key than the one expected */
#define TEE_LINK_SIGNATURE "receipt signature"
#define TEE_LINK_EIP191 "EIP-191 signature"
#define TEE_LINK_CHAIN "hash chain"           /* prev, seq or agent do not follow the previous receipt */

/*
 * Check one receipt: its form, that replyKey is public_key (32 bytes), the
 * Ed25519 signature (64 bytes) over its bytes, and, when prev_json is not
 * NULL, its link to that previous receipt (same agent, seq one more, prev =
 * SHA-256 of prev_json); with prev_json NULL and seq 1, prev must be zeros
 * (a chain's first receipt). With eip191 (65 bytes, or NULL) and
 * eip191_address (or NULL: any), the EIP-191 signature over the receipt's
 * hash must recover to that address.
 * TEELIZA_OK, or TEELIZA_ERR_VERIFY with *link (static, may be NULL) naming
 * the first link that failed and the message saying why.
 */
teeliza_err tee_receipt_verify(const char **link, const char *json, size_t json_len, const uint8_t sig[64],
                               const uint8_t public_key[32], const char *prev_json, size_t prev_len,
                               const uint8_t *eip191, const char *eip191_address) TEELIZA_WARN_UNUSED;

/*
 * The statement that binds an agent's reply key to a quote, canonical JSON:
 *   {"agentId","purpose","replyKey","tlsKey","version","wallets":{"evm","solana"},
 *    ["eip191Address"], ["nonce"]}
 * purpose TEE_STATEMENT_PURPOSE_REPLY_KEY (at start) or _FRESH (a nonce
 * attestation, nonce as hex); wallets absent ("" / NULL) are written as "".
 * tls_key: hex SPKI SHA-256 of the TLS key when the agent serves TLS, else
 * NULL (written as ""). Out: json (reset first) and report_data =
 * SHA-512(json), what the quote's report data must equal.
 */
typedef struct tee_statement {
	const char *agent_id;
	const char *purpose;
	uint8_t reply_key[32];
	const char *eip191_address;   /* NULL: absent */
	const char *wallet_solana;
	const char *wallet_evm;
	const char *tls_key;
	const uint8_t *nonce;         /* NULL: absent; else TEE_NONCE_MIN..TEE_NONCE_MAX bytes */
	size_t nonce_len;
} tee_statement;

teeliza_err tee_statement_build(teeliza_buf *json, uint8_t report_data[64],
                                const tee_statement *st) TEELIZA_WARN_UNUSED;

#ifdef __cplusplus
}
#endif
#endif
