/*
 * Fuzz event-log parsing in every form `teeliza replay` reads
 * (tee_event_log_parse_input: the bare array, TdxQuote / GetQuote answers,
 * teeliza's JSON, tappd's Info) and the log parser under it, with its two
 * halves (the fast scanner and jansson) checked against each other.
 * Invariants: a failure leaves the log empty; a parsed log serializes and
 * parses back to the same log with the same RTMRs; the fast scanner, when
 * it accepts, agrees with jansson; the step-by-step replay ends where the
 * replay does; the input forms agree with the plain parser on arrays.
 */
#include "fuzz.h"

#include "teeliza/tee/rtmr.h"
/* the two parsers behind tee_event_log_parse (a library internal, not installed) */
#include "../../src/lib/tee/eventlog_internal.h"

#include <string.h>

static bool same_log(const tee_event_log *a, const tee_event_log *b)
{
	size_t i;

	if (a->count != b->count)
		return false;
	for (i = 0; i < a->count; i++) {
		const tee_event *x = &a->events[i], *y = &b->events[i];

		if (x->imr != y->imr || x->event_type != y->event_type || x->digest_len != y->digest_len ||
		    memcmp(x->digest, y->digest, x->digest_len) != 0 || strcmp(x->event, y->event) != 0 ||
		    x->payload_len != y->payload_len ||
		    (x->payload_len > 0 && memcmp(x->payload, y->payload, x->payload_len) != 0))
			return false;
	}
	return true;
}

static void check_empty(const tee_event_log *log)
{
	FUZZ_CHECK(log->count == 0 && log->events == NULL);
}

/* A parsed log: well-formed events, a faithful round trip, consistent replays. */
static void check_log(const tee_event_log *log)
{
	uint8_t rtmr[4][TEE_RTMR_LEN], again[4][TEE_RTMR_LEN], last[4][TEE_RTMR_LEN];
	uint8_t (*steps)[TEE_RTMR_LEN];
	tee_event_log back;
	teeliza_buf json;
	size_t i;

	for (i = 0; i < log->count; i++) {
		FUZZ_CHECK(log->events[i].digest_len <= TEE_EVENT_DIGEST_MAX);
		FUZZ_CHECK(log->events[i].event != NULL);
		FUZZ_CHECK(log->events[i].payload_len == 0 || log->events[i].payload != NULL);
	}
	tee_rtmr_replay(rtmr, log);
	teeliza_buf_init(&json, (size_t)256 << 20);
	FUZZ_CHECK(tee_event_log_to_json(&json, log) == TEELIZA_OK);
	FUZZ_CHECK(tee_event_log_parse(&back, (const char *)json.data, json.len) == TEELIZA_OK);
	FUZZ_CHECK(same_log(&back, log));
	tee_rtmr_replay(again, &back);
	FUZZ_CHECK(memcmp(rtmr, again, sizeof(rtmr)) == 0);
	tee_event_log_free(&back);
	teeliza_buf_free(&json);

	/* running values: the last one of each RTMR is the replay's result */
	if (log->count == 0)
		return;
	steps = malloc(log->count * sizeof(*steps));
	FUZZ_CHECK(steps != NULL);
	tee_rtmr_replay_steps(steps, log);
	memset(last, 0, sizeof(last));
	for (i = 0; i < log->count; i++)
		if (log->events[i].imr < 4)
			memcpy(last[log->events[i].imr], steps[i], TEE_RTMR_LEN);
	FUZZ_CHECK(memcmp(last, rtmr, sizeof(rtmr)) == 0);
	free(steps);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	const char *text = (const char *)data;
	tee_event_log log, fast, slow;
	teeliza_err err, err_fast, err_slow;

	/* the two halves of the parser */
	err_fast = tee_event_log_parse_fast(&fast, text, size);
	err_slow = tee_event_log_parse_jansson(&slow, text, size);
	if (err_fast == TEELIZA_OK) {
		FUZZ_CHECK(err_slow == TEELIZA_OK);
		FUZZ_CHECK(same_log(&fast, &slow));
	} else {
		FUZZ_CHECK(err_fast == TEELIZA_ERR_UNSUPPORTED || err_fast == TEELIZA_ERR_NOMEM);
		check_empty(&fast);
	}
	if (err_slow != TEELIZA_OK)
		check_empty(&slow);
	err = tee_event_log_parse(&log, text, size);
	FUZZ_CHECK((err == TEELIZA_OK) == (err_slow == TEELIZA_OK));
	if (err == TEELIZA_OK) {
		FUZZ_CHECK(same_log(&log, &slow));
		check_log(&log);
	} else {
		check_empty(&log);
	}
	tee_event_log_free(&fast);
	tee_event_log_free(&slow);

	/* every form replay reads; a bare array must read as the plain parser reads it */
	err_slow = tee_event_log_parse_input(&slow, text, size);
	if (err_slow == TEELIZA_OK) {
		check_log(&slow);
		if (size > 0 && text[0] == '[' && err == TEELIZA_OK)
			FUZZ_CHECK(same_log(&slow, &log));
	} else {
		check_empty(&slow);
		if (size > 0 && text[0] == '[')
			FUZZ_CHECK(err != TEELIZA_OK);
	}
	tee_event_log_free(&slow);
	tee_event_log_free(&log);
	return 0;
}
