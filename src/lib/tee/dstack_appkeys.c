/* Reading an app's K_app and KMS signature from dstack's .appkeys.json text. */
#include "teeliza/tee/dstack_keys.h"
#include "teeliza/common/encoding.h"

#include <assert.h>
#include <string.h>

#include <jansson.h>

#define APPKEYS_JSON_MAX (1024u * 1024u)

/* jansson frees without wiping: clear a secret string in place first (as tappd.c does). */
static void wipe_json_string(json_t *s)
{
	if (json_is_string(s))
		teeliza_wipe((char *)json_string_value(s), json_string_length(s));
}

static teeliza_err member_hex(uint8_t *out, size_t cap, size_t *out_len, json_t *root, const char *key)
{
	json_t *v = json_object_get(root, key);
	char detail[128];

	if (!json_is_string(v))
		return teeliza_set_error(TEELIZA_ERR_PARSE, "appkeys: \"%s\" is %s", key,
		                         v == NULL ? "missing" : "not a string");
	if (teeliza_hex_decode(out, cap, out_len, json_string_value(v), json_string_length(v), false) != TEELIZA_OK) {
		snprintf(detail, sizeof(detail), "%s", teeliza_errmsg());
		return teeliza_set_error(TEELIZA_ERR_PARSE, "appkeys: \"%s\": %s", key, detail);
	}
	return TEELIZA_OK;
}

teeliza_err tee_dstack_app_keys_from_json(tee_dstack_app_keys *out, const char *json, size_t len)
{
	uint8_t key[64], sig[128];
	size_t key_len = 0, sig_len = 0;
	json_error_t jerr;
	json_t *root;
	teeliza_err err;

	assert(out != NULL && (json != NULL || len == 0));
	memset(out, 0, sizeof(*out));
	if (len > APPKEYS_JSON_MAX)
		return teeliza_set_error(TEELIZA_ERR_TOO_LARGE, "appkeys: %zu bytes, at most %u accepted", len,
		                         APPKEYS_JSON_MAX);
	root = json_loadb(json ? json : "", len, JSON_REJECT_DUPLICATES, &jerr);
	if (root == NULL)
		return teeliza_set_error(TEELIZA_ERR_PARSE, "appkeys: not valid JSON: %s (line %d, column %d)", jerr.text,
		                         jerr.line, jerr.column);
	if (!json_is_object(root)) {
		json_decref(root);
		return teeliza_set_error(TEELIZA_ERR_PARSE, "appkeys: not a JSON object");
	}
	/* room to spare, so that a somewhat longer value reads as a wrong length */
	err = member_hex(key, sizeof(key), &key_len, root, "k256_key");
	if (!err)
		err = member_hex(sig, sizeof(sig), &sig_len, root, "k256_signature");
	if (!err && key_len != TEE_DSTACK_KEY_LEN)
		err = teeliza_set_error(TEELIZA_ERR_INVALID, "appkeys: \"k256_key\" is %zu bytes, must be 32", key_len);
	if (!err)
		err = tee_dstack_app_keys_load(out, key, sig, sig_len);
	wipe_json_string(json_object_get(root, "k256_key"));
	json_decref(root);
	TEELIZA_WIPE_BUFFER(key);
	return err;
}
