/*
 * The members of one event-log entry ({imr, event_type, digest, event,
 * event_payload}) read from jansson, shared by the tappd event-log parser
 * (eventlog_parse.c) and dstack's strict one (dstack_events.c), so that
 * both check and word each field the same way. Errors are TEELIZA_ERR_PARSE
 * and start "event <index>: ".
 */
#ifndef TEELIZA_TEE_EVENTLOG_JSON_H
#define TEELIZA_TEE_EVENTLOG_JSON_H

#include "teeliza/common/common.h"

#include <jansson.h>

/*
 * Load text as the event log's JSON array (*out, json_decref it):
 * "event log is not valid JSON: …" or "event log is not a JSON array".
 */
teeliza_err tee_evjson_load(json_t **out, const char *json, size_t len, size_t flags) TEELIZA_WARN_UNUSED;

/* An integer member in 0..max ("missing", "is not an integer", "is V, outside 0..max"); 0 when absent and optional. */
teeliza_err tee_evjson_u32(uint32_t *out, json_t *obj, const char *key, bool required, uint32_t max,
                           size_t index) TEELIZA_WARN_UNUSED;

/* A string member's text and length ("missing", "is not a string"); NULL and 0 when absent and optional. */
teeliza_err tee_evjson_string(const char **text, size_t *len, json_t *obj, const char *key, bool required,
                              size_t index) TEELIZA_WARN_UNUSED;

/*
 * Decode a member's hex text (no "0x") into out, at most cap bytes:
 * "\"key\" is not hex: <why>" or "\"key\" is N bytes, at most cap allowed".
 */
teeliza_err tee_evjson_hex(uint8_t *out, size_t cap, size_t *out_len, const char *hex, size_t hex_len,
                           const char *key, size_t index) TEELIZA_WARN_UNUSED;

/* The same into a new buffer (*out NULL when the text is empty; free it). */
teeliza_err tee_evjson_hex_alloc(uint8_t **out, size_t *out_len, const char *hex, size_t hex_len, const char *key,
                                 size_t index) TEELIZA_WARN_UNUSED;

#endif
