/*
 * What `teeliza replay` reads: an event log as such, or any JSON document
 * that carries one - tappd's TdxQuote answer and dstack's GetQuote answer
 * ("event_log": JSON text), teeliza's own `quote --json` and the agent's
 * attestation route ("eventLog": an array or JSON text), `derive --json`
 * ("attestation": {"eventLog": ...}) and tappd's Info (the event log inside
 * "tcb_info", an object or JSON text).
 */
#include "teeliza/tee/rtmr.h"

#include <assert.h>
#include <stdlib.h>
#include <string.h>

#include <jansson.h>

/* Nesting this deep is what the documents above need; anything deeper is not one of them. */
#define INPUT_DEPTH_MAX 2

/* The event-log JSON text a member holds: its string, or the array written out compactly. */
static teeliza_err member_text(teeliza_buf *out, const json_t *v, const char *where)
{
	teeliza_err err;
	char *text;

	if (json_is_string(v))
		return teeliza_buf_append(out, json_string_value(v), json_string_length(v));
	if (!json_is_array(v))
		return teeliza_set_error(TEELIZA_ERR_PARSE, "%s is neither an event-log array nor its JSON text", where);
	text = json_dumps(v, JSON_COMPACT);
	if (text == NULL)
		return teeliza_set_error(TEELIZA_ERR_NOMEM, "out of memory");
	err = teeliza_buf_append(out, text, strlen(text));
	free(text);
	return err;
}

/* The event log of obj (a JSON object), looked for as the header comment says. */
static teeliza_err from_object(teeliza_buf *out, const json_t *obj, int depth)
{
	const json_t *snake = json_object_get(obj, "event_log"), *camel = json_object_get(obj, "eventLog");
	const json_t *inner;
	json_t *decoded;
	teeliza_err err;

	if (snake != NULL && camel != NULL)
		return teeliza_set_error(TEELIZA_ERR_PARSE, "the input has both \"event_log\" and \"eventLog\": which one?");
	if (snake != NULL || camel != NULL)
		return member_text(out, snake != NULL ? snake : camel, snake != NULL ? "\"event_log\"" : "\"eventLog\"");
	if (depth < INPUT_DEPTH_MAX) {
		inner = json_object_get(obj, "attestation");
		if (json_is_object(inner))
			return from_object(out, inner, depth + 1);
		inner = json_object_get(obj, "tcb_info");
		if (json_is_object(inner))
			return from_object(out, inner, depth + 1);
		if (json_is_string(inner)) {
			decoded = json_loadb(json_string_value(inner), json_string_length(inner), JSON_REJECT_DUPLICATES, NULL);
			if (!json_is_object(decoded)) {
				json_decref(decoded);
				return teeliza_set_error(TEELIZA_ERR_PARSE, "\"tcb_info\" is not the JSON text of an object");
			}
			err = from_object(out, decoded, depth + 1);
			json_decref(decoded);
			return err;
		}
	}
	return teeliza_set_error(TEELIZA_ERR_PARSE,
	                         "the input object holds no event log (\"event_log\", \"eventLog\", "
	                         "\"attestation\".\"eventLog\" or \"tcb_info\".\"event_log\")");
}

teeliza_err tee_event_log_input_text(teeliza_buf *out, const char *text, size_t len)
{
	json_error_t jerr;
	json_t *root;
	teeliza_err err;
	size_t i = 0;

	assert(out != NULL && (text != NULL || len == 0));
	if (text == NULL)
		text = ""; /* len is 0: no NULL + 0 below */
	if (len >= 3 && memcmp(text, "\xef\xbb\xbf", 3) == 0)
		i = 3; /* a UTF-8 byte order mark, as some editors save files */
	while (i < len && (text[i] == ' ' || text[i] == '\t' || text[i] == '\n' || text[i] == '\r'))
		i++;
	if (i == len || text[i] != '{')
		return teeliza_buf_append(out, text + i, len - i);
	root = json_loadb(text + i, len - i, JSON_REJECT_DUPLICATES, &jerr);
	if (root == NULL)
		return teeliza_set_error(TEELIZA_ERR_PARSE, "input is not valid JSON: %s (line %d, column %d)", jerr.text,
		                         jerr.line, jerr.column);
	err = from_object(out, root, 0);
	json_decref(root);
	return err;
}

teeliza_err tee_event_log_parse_input(tee_event_log *out, const char *text, size_t len)
{
	teeliza_buf log;
	teeliza_err err;

	assert(out != NULL && (text != NULL || len == 0));
	tee_event_log_init(out);
	teeliza_buf_init(&log, 2 * len + 64); /* a member written out again may grow its escapes */
	err = tee_event_log_input_text(&log, text, len);
	if (!err)
		err = tee_event_log_parse(out, (const char *)log.data, log.len);
	teeliza_buf_free(&log);
	return err;
}
