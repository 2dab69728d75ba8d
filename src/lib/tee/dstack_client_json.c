/*
 * Reading dstack reply fields (typed, length-checked, hex as prpc writes and
 * reads it) and writing request bodies byte for byte as the SDK's
 * JSON.stringify does.
 */
#include "tee/dstack_client_internal.h"
#include "teeliza/common/encoding.h"

#include <assert.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

const char *dstack_why(char out[DSTACK_WHY_MAX])
{
	snprintf(out, DSTACK_WHY_MAX, "%s", teeliza_errmsg());
	return out;
}

teeliza_err dstack_json_string(const char **text, size_t *len, json_t *obj, const char *key, bool optional,
                               const char *what)
{
	json_t *v = json_object_get(obj, key);

	*text = "";
	*len = 0;
	if (v == NULL && optional)
		return TEELIZA_OK;
	if (v == NULL)
		return teeliza_set_error(TEELIZA_ERR_PROTOCOL, "%s has no \"%s\"", what, key);
	if (!json_is_string(v))
		return teeliza_set_error(TEELIZA_ERR_PROTOCOL, "%s: \"%s\" is not a string", what, key);
	*text = json_string_value(v);
	*len = json_string_length(v);
	return TEELIZA_OK;
}

teeliza_err dstack_hex_decode(teeliza_buf *out, const char *hex, size_t len)
{
	/* prpc: hex_str.trim_start_matches("0x"), then hex::decode (either case). */
	while (len >= 2 && hex[0] == '0' && hex[1] == 'x') {
		hex += 2;
		len -= 2;
	}
	return teeliza_hex_decode_buf(out, hex, len, false);
}

/* Decode member key of obj (a string of hex) into a fresh buffer of at most max bytes. */
static teeliza_err member_hex(teeliza_buf *out, json_t *obj, const char *key, size_t max, bool absent_ok,
                              const char *what)
{
	char why[DSTACK_WHY_MAX];
	const char *text;
	size_t len;
	teeliza_err err;

	teeliza_buf_init(out, max);
	out->secret = true; /* it may be a key: wiped on growth and free */
	err = dstack_json_string(&text, &len, obj, key, absent_ok, what);
	if (err)
		return err;
	err = dstack_hex_decode(out, text, len);
	if (err == TEELIZA_ERR_TOO_LARGE)
		return teeliza_set_error(TEELIZA_ERR_PROTOCOL, "%s: \"%s\" is too long (more than %zu bytes)", what, key,
		                         max);
	if (err)
		return teeliza_set_error(TEELIZA_ERR_PROTOCOL, "%s: \"%s\" is not hex: %s", what, key, dstack_why(why));
	return TEELIZA_OK;
}

teeliza_err dstack_json_hex_fixed(uint8_t *out, size_t *out_len, json_t *obj, const char *key, const size_t *lens,
                                  size_t n_lens, bool absent_ok, const char *what)
{
	teeliza_buf b;
	size_t i, max = 0;
	char want[64];
	size_t pos = 0;
	teeliza_err err;

	assert(out != NULL && out_len != NULL && n_lens > 0);
	*out_len = 0;
	if (absent_ok && json_object_get(obj, key) == NULL)
		return TEELIZA_OK;
	for (i = 0; i < n_lens; i++)
		max = lens[i] > max ? lens[i] : max;
	/* Room for a little more than the longest, so that a wrong length can be told exactly. */
	err = member_hex(&b, obj, key, max + 64, absent_ok, what);
	for (i = 0; !err && i < n_lens; i++)
		if (b.len == lens[i])
			break;
	if (!err && i == n_lens) {
		want[0] = 0;
		for (i = 0; i < n_lens && pos + 16 < sizeof(want); i++)
			pos += (size_t)snprintf(want + pos, sizeof(want) - pos, "%s%zu", i == 0 ? "" : " or ", lens[i]);
		err = teeliza_set_error(TEELIZA_ERR_PROTOCOL, "%s: \"%s\" is %zu bytes, not %s", what, key, b.len, want);
	}
	if (!err) {
		if (b.len > 0)
			memcpy(out, b.data, b.len);
		*out_len = b.len;
	}
	teeliza_buf_free(&b);
	return err;
}

teeliza_err dstack_json_strdup(char **out, json_t *obj, const char *key, bool optional, const char *what)
{
	const char *text;
	size_t len;
	teeliza_err err;

	*out = NULL;
	err = dstack_json_string(&text, &len, obj, key, optional, what);
	if (err)
		return err;
	*out = malloc(len + 1);
	if (*out == NULL)
		return teeliza_set_error(TEELIZA_ERR_NOMEM, "out of memory");
	memcpy(*out, text, len);
	(*out)[len] = 0;
	return TEELIZA_OK;
}

void dstack_json_wipe_string(json_t *s)
{
	if (json_is_string(s))
		teeliza_wipe((char *)json_string_value(s), json_string_length(s));
}

teeliza_err dstack_body_hex(teeliza_buf *b, const uint8_t *data, size_t len)
{
	teeliza_err err = teeliza_buf_append(b, "\"", 1);

	if (!err)
		err = teeliza_hex_append(b, data, len);
	if (!err)
		err = teeliza_buf_append(b, "\"", 1);
	return err;
}

teeliza_err dstack_body_string(teeliza_buf *b, bool first, const char *key, const char *s)
{
	teeliza_err err;

	assert(b != NULL && key != NULL && s != NULL);
	err = teeliza_buf_append_str(b, first ? "\"" : ",\"");
	if (!err)
		err = teeliza_buf_append_str(b, key);
	if (!err)
		err = teeliza_buf_append_str(b, "\":");
	if (!err)
		err = teeliza_json_append_string(b, s, strlen(s), key);
	return err;
}
