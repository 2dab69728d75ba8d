/* One event-log entry's members, checked and worded once for both event-log parsers (eventlog_json.h). */
#include "tee/eventlog_json.h"
#include "teeliza/common/encoding.h"

#include <assert.h>
#include <stdio.h>
#include <stdlib.h>

teeliza_err tee_evjson_load(json_t **out, const char *json, size_t len, size_t flags)
{
	json_error_t jerr;

	*out = json_loadb(json != NULL ? json : "", len, flags, &jerr);
	if (*out == NULL)
		return teeliza_set_error(TEELIZA_ERR_PARSE, "event log is not valid JSON: %s (line %d, column %d)",
		                         jerr.text, jerr.line, jerr.column);
	if (!json_is_array(*out)) {
		json_decref(*out);
		*out = NULL;
		return teeliza_set_error(TEELIZA_ERR_PARSE, "event log is not a JSON array");
	}
	return TEELIZA_OK;
}

teeliza_err tee_evjson_u32(uint32_t *out, json_t *obj, const char *key, bool required, uint32_t max, size_t index)
{
	json_t *v = json_object_get(obj, key);
	json_int_t n;

	*out = 0;
	if (v == NULL) {
		if (required)
			return teeliza_set_error(TEELIZA_ERR_PARSE, "event %zu: missing \"%s\"", index, key);
		return TEELIZA_OK;
	}
	if (!json_is_integer(v))
		return teeliza_set_error(TEELIZA_ERR_PARSE, "event %zu: \"%s\" is not an integer", index, key);
	n = json_integer_value(v);
	if (n < 0 || (uint64_t)n > max)
		return teeliza_set_error(TEELIZA_ERR_PARSE, "event %zu: \"%s\" is %lld, outside 0..%u", index, key,
		                         (long long)n, (unsigned)max);
	*out = (uint32_t)n;
	return TEELIZA_OK;
}

teeliza_err tee_evjson_string(const char **text, size_t *len, json_t *obj, const char *key, bool required,
                              size_t index)
{
	json_t *v = json_object_get(obj, key);

	*text = NULL;
	*len = 0;
	if (v == NULL) {
		if (required)
			return teeliza_set_error(TEELIZA_ERR_PARSE, "event %zu: missing \"%s\"", index, key);
		return TEELIZA_OK;
	}
	if (!json_is_string(v))
		return teeliza_set_error(TEELIZA_ERR_PARSE, "event %zu: \"%s\" is not a string", index, key);
	*text = json_string_value(v);
	*len = json_string_length(v);
	return TEELIZA_OK;
}

teeliza_err tee_evjson_hex(uint8_t *out, size_t cap, size_t *out_len, const char *hex, size_t hex_len,
                           const char *key, size_t index)
{
	char detail[128];
	teeliza_err err;

	assert(out_len != NULL && (hex != NULL || hex_len == 0));
	*out_len = 0;
	/* the digits are checked before the length, so a long non-hex text says "not hex" */
	err = teeliza_hex_decode(NULL, 0, out_len, hex, hex_len, false);
	if (err == TEELIZA_ERR_TOO_LARGE || err == TEELIZA_OK) {
		if (hex_len / 2 > cap)
			return teeliza_set_error(TEELIZA_ERR_PARSE, "event %zu: \"%s\" is %zu bytes, at most %zu allowed", index,
			                         key, hex_len / 2, cap);
		err = teeliza_hex_decode(out, cap, out_len, hex, hex_len, false);
	}
	if (!err)
		return TEELIZA_OK;
	snprintf(detail, sizeof(detail), "%s", teeliza_errmsg());
	return teeliza_set_error(TEELIZA_ERR_PARSE, "event %zu: \"%s\" is not hex: %s", index, key, detail);
}

teeliza_err tee_evjson_hex_alloc(uint8_t **out, size_t *out_len, const char *hex, size_t hex_len, const char *key,
                                 size_t index)
{
	teeliza_err err;

	*out = NULL;
	*out_len = 0;
	if (hex_len == 0)
		return TEELIZA_OK;
	*out = malloc(hex_len / 2 + 1);
	if (*out == NULL)
		return teeliza_set_error(TEELIZA_ERR_NOMEM, "out of memory");
	err = tee_evjson_hex(*out, hex_len / 2 + 1, out_len, hex, hex_len, key, index);
	if (err) {
		free(*out);
		*out = NULL;
	}
	return err;
}
