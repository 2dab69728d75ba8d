/* The reply cache's inside, for verify_reply.c (the public half is in teeliza/tee/verify_reply.h). */
#ifndef TEELIZA_TEE_VERIFY_REPLY_CACHE_H
#define TEELIZA_TEE_VERIFY_REPLY_CACHE_H

#include "teeliza/tee/verify_reply.h"


/* What the statement quote, event log, app identity and key provenance links proved (the verdict's fields). */
typedef struct tee_reply_proved {
	dcap_result dcap;               /* its quote's pointers are not kept: the caller parses its own bytes again */
	bool rtmr_done, identity_read, provenance_present, provenance_checked, untrusted;
	tee_app_identity identity;
	teeliza_err provenance_err;
	tee_dstack_key_report provenance;
	char provenance_note[200];
} tee_reply_proved;

/* Does p use c (c given, made for p's collateral and trust)? */
bool tee_reply_cache_usable(const tee_reply_cache *c, const tee_reply_policy *p);
/* SHA-256 of every input of those links: policy (now, TCB, identity, KMS root) and the bundle's bytes. False: no key (no cache). */
bool tee_reply_cache_key(uint8_t key[32], const tee_reply_policy *p, const char *statement, size_t statement_len,
                         const char *quote_hex, size_t quote_hex_len, const char *event_log, size_t event_log_len,
                         const char *provenance_json, const char *reply_key_hex);
bool tee_reply_cache_get(tee_reply_proved *out, tee_reply_cache *c, const uint8_t key[32]);
void tee_reply_cache_put(tee_reply_cache *c, const uint8_t key[32], const tee_reply_proved *proved);

#endif
