/* Internals of the event-log module, shared with its unit test. */
#ifndef TEELIZA_TEE_EVENTLOG_INTERNAL_H
#define TEELIZA_TEE_EVENTLOG_INTERNAL_H

#include "teeliza/tee/rtmr.h"

/* Append a zeroed event (NULL and an error set when out of memory); pop drops the last one. */
tee_event *tee_event_log_push(tee_event_log *log);
void tee_event_log_pop(tee_event_log *log);

/*
 * The two parsers behind tee_event_log_parse. The fast one handles the plain
 * form tappd emits (five known keys, no string escapes, no non-ASCII, no
 * duplicate keys) and answers TEELIZA_ERR_UNSUPPORTED, leaving out empty,
 * for anything else. The jansson one accepts and rejects everything as the
 * public function documents. Whenever the fast one succeeds, both give the
 * same log. Both leave out empty on failure.
 */
teeliza_err tee_event_log_parse_fast(tee_event_log *out, const char *json, size_t len) TEELIZA_WARN_UNUSED;
teeliza_err tee_event_log_parse_jansson(tee_event_log *out, const char *json, size_t len) TEELIZA_WARN_UNUSED;

#endif
