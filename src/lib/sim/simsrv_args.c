/*
 * Request arguments of the simulator's pRPC methods. A body is a JSON
 * object; a GET passes the same fields as a query string, as tappd does.
 * pRPC messages default missing fields and ignore unknown ones, so the
 * accessors only complain about a field that is there with the wrong type,
 * and they name it so a client can tell what to fix.
 */
#include "sim/simsrv.h"

#include "teeliza/common/encoding.h"

#include <assert.h>
#include <stdlib.h>
#include <string.h>

static const char *const bool_fields[] = {
	"usage_ra_tls", "usage_server_auth", "usage_client_auth", "random_seed", "with_app_info",
};

/* optional uint64 fields of GetTlsKeyArgs: digits in a query string are a number */
static const char *const u64_fields[] = {
	"not_before", "not_after",
};

static const char *json_kind(const json_t *v)
{
	switch (json_typeof(v)) {
	case JSON_OBJECT: return "object";
	case JSON_ARRAY: return "array";
	case JSON_STRING: return "string";
	case JSON_INTEGER: return "integer";
	case JSON_REAL: return "number";
	case JSON_TRUE:
	case JSON_FALSE: return "boolean";
	default: return "null";
	}
}

teeliza_err simsrv_args_from_body(json_t **out, const uint8_t *body, size_t len)
{
	json_error_t je;
	json_t *v;

	*out = NULL;
	if (len == 0) {
		*out = json_object();
		return *out != NULL ? TEELIZA_OK : teeliza_set_error(TEELIZA_ERR_NOMEM, "out of memory");
	}
	/* "\u0000" is text to serde_json, so dstack derives keys for paths holding it:
	 * allowed here; the accessors below refuse it where a field is read as C text. */
	v = json_loadb((const char *)body, len, JSON_REJECT_DUPLICATES | JSON_DECODE_ANY | JSON_ALLOW_NUL, &je);
	if (v == NULL)
		return teeliza_set_error(TEELIZA_ERR_PARSE, "invalid JSON at line %d column %d: %s", je.line,
		                         je.column, je.text);
	if (!json_is_object(v)) {
		teeliza_err err = teeliza_set_error(TEELIZA_ERR_PARSE,
		                                    "invalid request: expected a JSON object, found %s", json_kind(v));
		json_decref(v);
		return err;
	}
	*out = v;
	return TEELIZA_OK;
}

/* Percent-decode s[0..len) ('+' is a space) into a new NUL-terminated string. */
static teeliza_err url_decode(char **out, size_t *out_len, const char *s, size_t len)
{
	char *d = malloc(len + 1);
	size_t i, n = 0;

	*out = NULL;
	if (d == NULL)
		return teeliza_set_error(TEELIZA_ERR_NOMEM, "out of memory");
	for (i = 0; i < len; i++) {
		if (s[i] == '+') {
			d[n++] = ' ';
		} else if (s[i] == '%') {
			int hi = i + 2 < len ? teeliza_hex_nibble(s[i + 1]) : -1;
			int lo = i + 2 < len ? teeliza_hex_nibble(s[i + 2]) : -1;

			if (hi < 0 || lo < 0) {
				free(d);
				return teeliza_set_error(TEELIZA_ERR_PARSE,
				                         "invalid query string: bad percent-encoding at offset %zu", i);
			}
			d[n++] = (char)(hi << 4 | lo);
			i += 2;
		} else {
			d[n++] = s[i];
		}
	}
	d[n] = 0;
	*out = d;
	*out_len = n;
	return TEELIZA_OK;
}

static bool in_list(const char *key, const char *const *list, size_t n)
{
	size_t i;

	for (i = 0; i < n; i++)
		if (strcmp(key, list[i]) == 0)
			return true;
	return false;
}

static bool is_bool_field(const char *key)
{
	return in_list(key, bool_fields, sizeof(bool_fields) / sizeof(bool_fields[0]));
}

/* "name[]" or "name[12]" → cut to "name"; true when the key named an array element. */
static bool strip_index(char *key)
{
	size_t n = strlen(key), i;

	if (n < 3 || key[n - 1] != ']')
		return false;
	for (i = n - 2; i > 0 && key[i] >= '0' && key[i] <= '9'; i--)
		;
	if (key[i] != '[' || i == 0)
		return false;
	key[i] = 0;
	return true;
}

static json_t *query_value(const char *key, const char *value, size_t len)
{
	uint64_t n;

	if (in_list(key, u64_fields, sizeof(u64_fields) / sizeof(u64_fields[0])) &&
	    teeliza_parse_u64(&n, value, 0, INT64_MAX) == TEELIZA_OK)
		return json_integer((json_int_t)n);
	teeliza_clear_error();
	if (is_bool_field(key)) {
		if (strcmp(value, "true") == 0 || strcmp(value, "1") == 0)
			return json_true();
		if (strcmp(value, "false") == 0 || strcmp(value, "0") == 0 || value[0] == 0)
			return json_false();
	}
	return json_stringn(value, len); /* NULL when not UTF-8 or holding a NUL */
}

static teeliza_err add_query_pair(json_t *obj, const char *pair, size_t len)
{
	const char *eq = memchr(pair, '=', len);
	size_t klen = eq != NULL ? (size_t)(eq - pair) : len;
	char *key = NULL, *value = NULL;
	size_t key_len, value_len;
	json_t *v = NULL, *arr;
	bool indexed;
	teeliza_err err;

	err = url_decode(&key, &key_len, pair, klen);
	if (err == TEELIZA_OK)
		err = url_decode(&value, &value_len, eq != NULL ? eq + 1 : "", eq != NULL ? len - klen - 1 : 0);
	if (err)
		goto out;
	if (strlen(key) != key_len || strlen(value) != value_len) {
		err = teeliza_set_error(TEELIZA_ERR_PARSE, "invalid query string: %%00 (a NUL byte) is not allowed");
		goto out;
	}
	if (strcmp(key, "json") == 0)
		goto out; /* the ?json switch, not a field */
	indexed = strip_index(key);
	v = query_value(key, value, value_len);
	if (v == NULL) {
		err = teeliza_set_error(TEELIZA_ERR_PARSE, "invalid query string: value of \"%s\" is not valid UTF-8 text",
		                        key);
		goto out;
	}
	arr = json_object_get(obj, key);
	if (indexed || strcmp(key, "alt_names") == 0 || json_is_array(arr)) {
		/* array fields: every occurrence appends */
		if (arr == NULL) {
			arr = json_array();
			if (arr == NULL || json_object_set_new(obj, key, arr) != 0) {
				err = teeliza_set_error(TEELIZA_ERR_NOMEM, "out of memory");
				goto out;
			}
		}
		if (!json_is_array(arr)) {
			err = teeliza_set_error(TEELIZA_ERR_PARSE, "invalid query string: \"%s\" given both as a value and as a list",
			                        key);
			goto out;
		}
		if (json_array_append_new(arr, v) != 0)
			err = teeliza_set_error(TEELIZA_ERR_NOMEM, "out of memory");
	} else if (json_object_set_new(obj, key, v) != 0) {
		err = teeliza_set_error(TEELIZA_ERR_NOMEM, "out of memory");
	}
	v = NULL; /* the *_new calls took it, even on failure */
out:
	json_decref(v);
	free(key);
	free(value);
	return err;
}

teeliza_err simsrv_args_from_query(json_t **out, const char *query)
{
	json_t *obj = json_object();
	const char *p = query, *amp;
	teeliza_err err = TEELIZA_OK;

	*out = NULL;
	if (obj == NULL)
		return teeliza_set_error(TEELIZA_ERR_NOMEM, "out of memory");
	while (*p != 0) {
		amp = strchr(p, '&');
		if (amp == NULL)
			amp = p + strlen(p);
		if (amp > p) {
			err = add_query_pair(obj, p, (size_t)(amp - p));
			if (err)
				break;
		}
		p = *amp != 0 ? amp + 1 : amp;
	}
	if (err) {
		json_decref(obj);
		return err;
	}
	*out = obj;
	return TEELIZA_OK;
}

teeliza_err simsrv_arg_string_len(const char **out, size_t *len, const json_t *args, const char *field)
{
	const json_t *v = json_object_get(args, field);

	*out = "";
	*len = 0;
	if (v == NULL)
		return TEELIZA_OK;
	if (!json_is_string(v))
		return teeliza_set_error(TEELIZA_ERR_PARSE, "invalid field \"%s\": expected a string, found %s", field,
		                         json_kind(v));
	*out = json_string_value(v);
	*len = json_string_length(v);
	return TEELIZA_OK;
}

teeliza_err simsrv_arg_string(const char **out, const json_t *args, const char *field)
{
	size_t len;
	teeliza_err err = simsrv_arg_string_len(out, &len, args, field);

	/* read as C text: a NUL would silently cut it short */
	if (err == TEELIZA_OK && strlen(*out) != len) {
		*out = "";
		return teeliza_set_error(TEELIZA_ERR_PARSE, "invalid field \"%s\": a NUL character is not allowed here", field);
	}
	return err;
}

teeliza_err simsrv_arg_opt_u64(uint64_t *out, bool *present, const json_t *args, const char *field)
{
	const json_t *v = json_object_get(args, field);

	*out = 0;
	*present = false;
	if (v == NULL || json_is_null(v))
		return TEELIZA_OK;
	if (!json_is_integer(v) || json_integer_value(v) < 0)
		return teeliza_set_error(TEELIZA_ERR_PARSE, "invalid field \"%s\": expected an unsigned integer, found %s%s",
		                         field, json_is_integer(v) ? "negative " : "", json_kind(v));
	*out = (uint64_t)json_integer_value(v);
	*present = true;
	return TEELIZA_OK;
}

teeliza_err simsrv_arg_bool(bool *out, const json_t *args, const char *field)
{
	const json_t *v = json_object_get(args, field);

	*out = false;
	if (v == NULL)
		return TEELIZA_OK;
	if (!json_is_boolean(v))
		return teeliza_set_error(TEELIZA_ERR_PARSE, "invalid field \"%s\": expected a boolean, found %s", field,
		                         json_kind(v));
	*out = json_is_true(v);
	return TEELIZA_OK;
}

teeliza_err simsrv_arg_bytes(teeliza_buf *out, const json_t *args, const char *field, size_t max)
{
	const char *s;
	size_t len, i;
	teeliza_err err;

	teeliza_buf_init(out, max);
	err = simsrv_arg_string_len(&s, &len, args, field);
	if (err)
		return err;
	/* pRPC trims every leading "0x" (Rust trim_start_matches) */
	while (len >= 2 && s[0] == '0' && s[1] == 'x') {
		s += 2;
		len -= 2;
	}
	for (i = 0; i < len; i++)
		if (teeliza_hex_nibble(s[i]) < 0) {
			unsigned char c = (unsigned char)s[i];

			if (c >= 0x20 && c < 0x7f)
				return teeliza_set_error(TEELIZA_ERR_PARSE,
				                         "invalid field \"%s\": invalid hex character '%c' at position %zu",
				                         field, c, i);
			return teeliza_set_error(TEELIZA_ERR_PARSE,
			                         "invalid field \"%s\": invalid hex character (byte 0x%02x) at position %zu",
			                         field, c, i);
		}
	if (len % 2 != 0)
		return teeliza_set_error(TEELIZA_ERR_PARSE, "invalid field \"%s\": odd number of hex digits (%zu)", field,
		                         len);
	err = teeliza_hex_decode_buf(out, s, len, false);
	if (err == TEELIZA_ERR_TOO_LARGE)
		return teeliza_set_error(err, "invalid field \"%s\": more than %zu bytes", field, max);
	if (err == TEELIZA_OK && out->data == NULL)
		err = teeliza_buf_append(out, "", 0);
	return err;
}

teeliza_err simsrv_arg_strings(const char ***items, size_t *count, const json_t *args, const char *field)
{
	const json_t *v = json_object_get(args, field);
	const char **list;
	size_t i, n;

	*items = NULL;
	*count = 0;
	if (v == NULL)
		return TEELIZA_OK;
	if (!json_is_array(v))
		return teeliza_set_error(TEELIZA_ERR_PARSE, "invalid field \"%s\": expected an array of strings, found %s",
		                         field, json_kind(v));
	n = json_array_size(v);
	if (n == 0)
		return TEELIZA_OK;
	list = calloc(n, sizeof(*list));
	if (list == NULL)
		return teeliza_set_error(TEELIZA_ERR_NOMEM, "out of memory");
	for (i = 0; i < n; i++) {
		const json_t *item = json_array_get(v, i);

		if (!json_is_string(item)) {
			free(list);
			return teeliza_set_error(TEELIZA_ERR_PARSE, "invalid field \"%s[%zu]\": expected a string, found %s",
			                         field, i, json_kind(item));
		}
		list[i] = json_string_value(item);
		if (strlen(list[i]) != json_string_length(item)) {
			free(list);
			return teeliza_set_error(TEELIZA_ERR_PARSE,
			                         "invalid field \"%s[%zu]\": a NUL character is not allowed here", field, i);
		}
	}
	*items = list;
	*count = n;
	return TEELIZA_OK;
}
