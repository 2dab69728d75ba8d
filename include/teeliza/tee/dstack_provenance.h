/*
 * Where a dstack GetKey key comes from: walk its signature chain up to a
 * pinned KMS root, with the app id taken from the caller or from the
 * attested "app-id" runtime event, and say which link broke when one does.
 *
 *   1. pub(K_path): computed from the key, or given (both: they must agree)
 *   2. P_app  = recover(chain[0], Keccak-256(purpose ‖ ":" ‖ hex(pub(K_path))))
 *   3. app_id = the caller's, or the log's "app-id" event before "system-ready"
 *               (both: they must agree)
 *   4. P_root = recover(chain[1], Keccak-256("dstack-kms-issued:" ‖ app_id ‖ P_app))
 *   5. P_root = the pinned KMS root (GetMeta's k256_pubkey)
 *
 * Recovery always yields *some* key, so a wrong purpose, path, key, app id
 * or signature usually shows only at step 5; without a pinned root nothing
 * is proven, and the result says so. The path never enters the chain and
 * cannot be checked. The chain says "this key belongs to app_id under that
 * KMS", not that it lives in a TEE; the event log is evidence only when it
 * replays to the RTMR3 of a verified quote (pass rtmr3).
 */
#ifndef TEELIZA_DSTACK_PROVENANCE_H
#define TEELIZA_DSTACK_PROVENANCE_H

#include "teeliza/common/common.h"
#include "teeliza/tee/dstack_keys.h"

#ifdef __cplusplus
extern "C" {
#endif

/* The first link that broke; values are stable (they may appear in JSON). */
typedef enum tee_dstack_link {
	TEE_DSTACK_LINK_NONE = 0,          /* verified up to the pinned root */
	TEE_DSTACK_LINK_INPUT = 1,         /* the claim is malformed: hex, a length, the algorithm, the chain size */
	TEE_DSTACK_LINK_KEY = 2,           /* the key does not give the stated public key */
	TEE_DSTACK_LINK_APP_SIGNATURE = 3, /* chain[0] yields no app key (recid, r, s, high S) */
	TEE_DSTACK_LINK_EVENT_LOG = 4,     /* the log is malformed, does not replay to rtmr3, or has no app-id */
	TEE_DSTACK_LINK_APP_ID = 5,        /* no app id, or the given one is not the attested one */
	TEE_DSTACK_LINK_KMS_SIGNATURE = 6, /* chain[1] yields no root key, or is empty (no KMS) */
	TEE_DSTACK_LINK_KMS_ROOT = 7,      /* the recovered root is not the pinned one, or none was pinned */
} tee_dstack_link;

/* "none", "input", "key", "app-signature", "event-log", "app-id", "kms-signature", "kms-root". */
const char *tee_dstack_link_name(tee_dstack_link link);

/* A GetKey result and what to check it against. Hex may carry one "0x". */
typedef struct tee_dstack_key_claim {
	const char *algorithm;        /* GetKey's: "secp256k1", "", "k256", "ed25519"; NULL = "secp256k1" */
	const char *purpose;          /* GetKey's purpose (bytes; NULL only when purpose_len is 0) */
	size_t purpose_len;
	const char *key_hex;          /* GetKey "key" (32 bytes), or NULL */
	const char *public_key_hex;   /* pub(K_path) (33 or 32 bytes), or NULL; at least one of the two */
	const char *const *chain_hex; /* GetKey "signature_chain" (NULL only when chain_len is 0); chain[1] may be "" */
	size_t chain_len;             /* must be 2 */
	const char *app_id_hex;       /* 20 bytes, or NULL: taken from event_log */
	const char *kms_root_hex;     /* pinned KMS root, 33-byte compressed secp256k1, or NULL */
	const char *event_log;        /* GetQuote "event_log" text, or NULL */
	size_t event_log_len;
	const uint8_t *rtmr3;         /* 48 bytes: a verified quote's RTMR3 the log must replay to, or NULL */
} tee_dstack_key_claim;

/* What was found, for display, whether or not it verified. */
typedef struct tee_dstack_key_report {
	tee_dstack_link broken;       /* the first broken link; TEE_DSTACK_LINK_NONE when verified */
	char message[512];            /* what broke and why (also teeliza_errmsg()); "" when verified */
	tee_dstack_alg alg;
	uint8_t public_key[TEE_DSTACK_PUB_MAX]; /* pub(K_path), once known */
	size_t public_key_len;                  /* 0 until known */
	bool have_app_pub;
	uint8_t app_pub[TEE_DSTACK_K256_PUB_LEN];  /* recovered from chain[0] */
	bool have_app_id;
	bool app_id_from_log;                      /* taken from (or confirmed by) the log's app-id event */
	bool log_bound;                            /* the log replayed to the given rtmr3 */
	uint8_t app_id[TEE_DSTACK_APP_ID_LEN];
	bool have_root;
	uint8_t root_pub[TEE_DSTACK_K256_PUB_LEN]; /* recovered from chain[1] */
	bool root_pinned;                          /* a root was given (and it was compared) */
} tee_dstack_key_report;

/*
 * Check a claim. Out: *out (always filled as far as the walk got). Returns
 * TEELIZA_OK only when every link holds up to the pinned root;
 * TEELIZA_ERR_UNTRUSTED when all holds but no root was pinned (broken =
 * KMS_ROOT, the recovered root in root_pub); TEELIZA_ERR_INVALID for a
 * malformed claim, TEELIZA_ERR_PARSE / TOO_LARGE for a malformed log, and
 * TEELIZA_ERR_VERIFY for every other broken link. The message names the link.
 */
teeliza_err tee_dstack_verify_key(tee_dstack_key_report *out, const tee_dstack_key_claim *claim) TEELIZA_WARN_UNUSED;

#ifdef __cplusplus
}
#endif
#endif
