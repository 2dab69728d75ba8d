/*
 * Fuzz the canonical-JSON and receipt parsers that verifiers run on receipts
 * from strangers. Invariants: canonicalising is idempotent (the canonical
 * form of a canonical text is itself); a receipt that parses is rebuilt
 * byte for byte from its fields, and its hash is the SHA-256 of its bytes;
 * a failed parse leaves nothing behind.
 */
#include "fuzz.h"

#include "teeliza/common/jcs.h"
#include "teeliza/tee/receipt.h"

#include <openssl/sha.h>
#include <string.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	teeliza_buf a, b;
	tee_receipt_fields f;
	uint8_t hash[32], want[32], rebuilt_hash[32];
	char *owned = NULL;

	teeliza_buf_init(&a, 1 << 20);
	teeliza_buf_init(&b, 1 << 20);
	if (teeliza_jcs_text(&a, (const char *)data, size) == TEELIZA_OK) {
		FUZZ_CHECK(teeliza_jcs_text(&b, (const char *)a.data, a.len) == TEELIZA_OK);
		FUZZ_CHECK(a.len == b.len && memcmp(a.data, b.data, a.len) == 0);
	}
	if (tee_receipt_parse(&f, &owned, hash, (const char *)data, size) == TEELIZA_OK) {
		SHA256(data, size, want);
		FUZZ_CHECK(memcmp(hash, want, 32) == 0);
		FUZZ_CHECK(tee_receipt_build(&b, rebuilt_hash, &f) == TEELIZA_OK);
		FUZZ_CHECK(b.len == size && memcmp(b.data, data, size) == 0);
		FUZZ_CHECK(memcmp(rebuilt_hash, hash, 32) == 0);
		free(owned);
	} else {
		FUZZ_CHECK(owned == NULL && f.agent_id == NULL && f.seq == 0);
	}
	teeliza_buf_free(&a);
	teeliza_buf_free(&b);
	return 0;
}
