/*
 * A dstack app's identity, read from the runtime events the OS extends into
 * RTMR3 before "system-ready": app-id, compose-hash, instance-id,
 * os-image-hash and key-provider. The event log is replayed (every runtime
 * digest recomputed, dstack_events.h) and must reproduce the quote's RTMR3;
 * only then do its events say anything. docs/VERIFIABILITY.md ("App
 * identity") explains what each field is and why events after system-ready
 * are ignored.
 */
#ifndef TEELIZA_TEE_APP_IDENTITY_H
#define TEELIZA_TEE_APP_IDENTITY_H

#include "teeliza/common/common.h"
#include "teeliza/dcap/verify.h"
#include "teeliza/tee/dstack_events.h"

#include <jansson.h>
#include <stdio.h>

#ifdef __cplusplus
extern "C" {
#endif

#define TEE_KEY_PROVIDER_MAX 1024 /* bytes of key-provider payload kept (dstack's are about 200) */

typedef struct tee_app_identity {
	bool has_app_id;
	uint8_t app_id[20];
	bool has_compose_hash;
	uint8_t compose_hash[32];         /* SHA-256 of app-compose.json's bytes */
	bool has_instance_id;
	uint8_t instance_id[20];
	size_t instance_id_len;           /* 20, or 0 when the app asked for no_instance_id */
	bool has_os_image_hash;
	uint8_t os_image_hash[32];
	bool has_key_provider;
	char key_provider[TEE_KEY_PROVIDER_MAX + 1]; /* the payload text, e.g. {"name":"kms","id":"<hex>"} */
	size_t key_provider_len;
	char key_provider_name[64];       /* its "name" ("kms", "local-sgx", ...); "" when not a JSON object with one */
	char key_provider_id[TEE_KEY_PROVIDER_MAX + 1]; /* its "id" (lowercase hex, e.g. the KMS root's SPKI); "" when none */
	bool system_ready;                /* the log has "system-ready" (else every runtime event counted) */
	uint8_t rtmr3[TEE_RTMR_LEN];      /* the replayed RTMR3 */
} tee_app_identity;

/* The fields a policy can require. */
typedef enum tee_app_field {
	TEE_APP_FIELD_APP_ID = 0,
	TEE_APP_FIELD_COMPOSE_HASH,
	TEE_APP_FIELD_INSTANCE_ID,
	TEE_APP_FIELD_OS_IMAGE_HASH,
	TEE_APP_FIELD_KEY_PROVIDER,
} tee_app_field;

/*
 * Read the identity from a parsed log (tee_dstack_events_parse, which has
 * already refused an identity event named twice before system-ready or of
 * the wrong length). A key-provider payload longer than
 * TEE_KEY_PROVIDER_MAX or not UTF-8 text is TEELIZA_ERR_PARSE. Out: *out
 * (zeroed first).
 */
teeliza_err tee_app_identity_read(tee_app_identity *out, const tee_dstack_events *ev) TEELIZA_WARN_UNUSED;

/* What a relying party requires; NULL = anything (and the event may be absent). Pointers are borrowed. */
typedef struct tee_identity_policy {
	const uint8_t *expect_app_id;        /* 20 bytes */
	const uint8_t *expect_compose_hash;  /* 32 bytes */
	const uint8_t *expect_os_image_hash; /* 32 bytes */
	/*
	 * The key provider: a text starting with '{' must equal the payload
	 * byte for byte; anything else is hex (an optional 0x, any case) that
	 * must equal its "id" (for a KMS, its root public key).
	 */
	const char *expect_key_provider;
} tee_identity_policy;

/* Does the policy require anything? */
bool tee_identity_policy_any(const tee_identity_policy *p);

/*
 * Check an event log against a quote's RTMR3 and a policy:
 *   1. the log parses (tee_dstack_events_parse): else TEELIZA_ERR_PARSE,
 *      "event log does not parse: …";
 *   2. its replayed RTMR3 equals rtmr3: else TEELIZA_ERR_VERIFY, "event log
 *      does not match RTMR3 (quoted <hex>, replayed <hex>)";
 *   3. the identity is read (tee_app_identity_read);
 *   4. each expected field: TEELIZA_ERR_VERIFY naming it, "app identity:
 *      no compose-hash event before system-ready" or "app identity:
 *      compose-hash is <hex>, expected <hex>".
 * Out: *id (filled as far as step 3 got; may be NULL). policy NULL = none.
 */
teeliza_err tee_app_identity_check(tee_app_identity *id, const char *event_log, size_t len,
                                   const uint8_t rtmr3[TEE_RTMR_LEN],
                                   const tee_identity_policy *policy) TEELIZA_WARN_UNUSED;

/*
 * The same on a DCAP verdict: when res is TRUSTED or UNTRUSTED for a TDX
 * quote, run tee_app_identity_check against the quote's RTMR3 and, on
 * failure, turn res into FAILED (dcap_result_fail) with failure event_log
 * (steps 1–3: the log is malformed or not the quote's) or app_identity
 * (step 4: a field absent or different) and the message as reason. An
 * SGX quote with an event log or a policy fails as app_identity ("not a
 * TDX quote"). A res already FAILED is left alone. Returns what
 * tee_app_identity_check returned (TEELIZA_OK when not run). *id_read says
 * whether *id holds an identity (step 3 passed; also on an app_identity
 * failure, to show what the log does hold).
 */
teeliza_err tee_verify_app_identity(dcap_result *res, tee_app_identity *id, bool *id_read, const char *event_log,
                                    size_t len, const tee_identity_policy *policy) TEELIZA_WARN_UNUSED;

/*
 * The identity as JSON: {"appId": hex|null, "composeHash", "instanceId",
 * "osImageHash", "keyProvider": {"text","name","id"}|null, "systemReady",
 * "rtmr3"}; a field absent from the log is null ("instanceId" "" when the
 * app has none). NULL when out of memory.
 */
json_t *tee_app_identity_to_json(const tee_app_identity *id);

/* The identity as text for people, one "  name  value" line per field ("absent" when not in the log). */
void tee_app_identity_print(FILE *out, const tee_app_identity *id);

#ifdef __cplusplus
}
#endif
#endif
