/*
 * Fuzz the RA-TLS certificate reader (tee_ratls_cert_parse) and the binding
 * check on what it returns: every length within its cap, the event log
 * text free of NULs, the same answer twice, and a binding that holds only
 * when the quote's report data is SHA-512("ratls-cert:" || SPKI).
 */
#include "fuzz.h"

#include "teeliza/tee/attest.h"
#include "teeliza/tee/ratls.h"

#include <string.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	tee_ratls_cert c, again;
	const uint8_t *rtmr[4], *rd;
	uint8_t expected[64], want[64];
	teeliza_err err, err2, berr;

	err = tee_ratls_cert_parse(&c, data, size);
	err2 = tee_ratls_cert_parse(&again, data, size);
	FUZZ_CHECK(err == err2);
	if (err) {
		FUZZ_CHECK(err == TEELIZA_ERR_PARSE || err == TEELIZA_ERR_TOO_LARGE || err == TEELIZA_ERR_NOT_FOUND ||
		           err == TEELIZA_ERR_UNSUPPORTED || err == TEELIZA_ERR_NOMEM);
		FUZZ_CHECK(teeliza_errmsg()[0] != 0);
		tee_ratls_cert_free(&c);
		tee_ratls_cert_free(&again);
		return 0;
	}
	FUZZ_CHECK(c.spki.len > 0 && c.spki.len == again.spki.len && memcmp(c.spki.data, again.spki.data, c.spki.len) == 0);
	FUZZ_CHECK(c.quote.len >= 1 && c.quote.len <= TEE_RATLS_QUOTE_MAX);
	FUZZ_CHECK(c.quote.len == again.quote.len && memcmp(c.quote.data, again.quote.data, c.quote.len) == 0);
	FUZZ_CHECK(c.event_log.len <= TEE_RATLS_EVENT_LOG_MAX && c.event_log.len == again.event_log.len);
	FUZZ_CHECK(c.event_log.len == 0 || memchr(c.event_log.data, 0, c.event_log.len) == NULL);
	FUZZ_CHECK(c.has_app_id == again.has_app_id && c.has_attestation == again.has_attestation);
	/* within what was given, with its wrappers */
	FUZZ_CHECK(c.quote.len + c.event_log.len < size);
	berr = tee_ratls_check_binding(expected, &c);
	tee_ratls_report_data(want, c.spki.data, c.spki.len);
	FUZZ_CHECK(memcmp(expected, want, 64) == 0);
	if (tee_quote_td_fields(rtmr, &rd, c.quote.data, c.quote.len) != TEELIZA_OK)
		FUZZ_CHECK(berr == TEELIZA_ERR_PARSE);
	else
		FUZZ_CHECK((berr == TEELIZA_OK) == (memcmp(rd, want, 64) == 0) && (berr == TEELIZA_OK || berr == TEELIZA_ERR_VERIFY));
	tee_ratls_cert_free(&c);
	tee_ratls_cert_free(&again);
	return 0;
}
