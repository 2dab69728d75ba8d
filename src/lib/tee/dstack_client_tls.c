/*
 * dstack client: GetTlsKey (a fresh key and a certificate for it) and
 * EmitEvent (extend RTMR3).
 */
#include "tee/dstack_client_internal.h"
#include "teeliza/common/encoding.h"

#include <assert.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define TLS_BODY_MAX ((size_t)1 << 20)
#define EVENT_BODY_MAX ((size_t)16 << 20)
#define PEM_KEY_HEAD "-----BEGIN PRIVATE KEY-----"
#define PEM_CERT_HEAD "-----BEGIN CERTIFICATE-----"

/* ---- GetTlsKey ---- */

void dstack_tls_key_options_init(dstack_tls_key_options *o)
{
	assert(o != NULL);
	memset(o, 0, sizeof(*o));
	o->usage_server_auth = true;
}

void dstack_tls_key_free(dstack_tls_key *k)
{
	size_t i;

	if (k == NULL)
		return;
	teeliza_buf_free(&k->key);
	for (i = 0; i < k->chain_len; i++)
		teeliza_buf_free(&k->certificate_chain[i]);
	free(k->certificate_chain);
	memset(k, 0, sizeof(*k));
}

static bool starts_with(const char *s, size_t len, const char *prefix)
{
	size_t n = strlen(prefix);

	return len >= n && memcmp(s, prefix, n) == 0;
}

static teeliza_err tls_chain(dstack_tls_key *out, json_t *reply, const char *what)
{
	json_t *chain = json_object_get(reply, "certificate_chain");
	size_t i, n;

	if (chain == NULL)
		return teeliza_set_error(TEELIZA_ERR_PROTOCOL, "%s has no \"certificate_chain\"", what);
	if (!json_is_array(chain))
		return teeliza_set_error(TEELIZA_ERR_PROTOCOL, "%s: \"certificate_chain\" is not an array", what);
	n = json_array_size(chain);
	if (n == 0 || n > DSTACK_CHAIN_MAX)
		return teeliza_set_error(TEELIZA_ERR_PROTOCOL, "%s: \"certificate_chain\" has %zu entries, not 1..%d", what,
		                         n, DSTACK_CHAIN_MAX);
	out->certificate_chain = calloc(n, sizeof(*out->certificate_chain));
	if (out->certificate_chain == NULL)
		return teeliza_set_error(TEELIZA_ERR_NOMEM, "out of memory");
	for (i = 0; i < n; i++) {
		json_t *pem = json_array_get(chain, i);
		teeliza_err err;

		if (!json_is_string(pem) || !starts_with(json_string_value(pem), json_string_length(pem), PEM_CERT_HEAD))
			return teeliza_set_error(TEELIZA_ERR_PROTOCOL, "%s: certificate_chain[%zu] is not a PEM certificate",
			                         what, i);
		teeliza_buf_init(&out->certificate_chain[i], DSTACK_TLS_REPLY_MAX);
		out->chain_len = i + 1;
		err = teeliza_buf_append(&out->certificate_chain[i], json_string_value(pem), json_string_length(pem));
		if (err)
			return err;
	}
	return TEELIZA_OK;
}

teeliza_err dstack_parse_tls_key(dstack_tls_key *out, json_t *reply)
{
	const char *what = "GetTlsKey reply", *key;
	size_t len;
	teeliza_err err;

	assert(out != NULL && reply != NULL);
	memset(out, 0, sizeof(*out));
	teeliza_buf_init(&out->key, DSTACK_TLS_REPLY_MAX);
	out->key.secret = true;
	err = dstack_json_string(&key, &len, reply, "key", false, what);
	if (!err && !starts_with(key, len, PEM_KEY_HEAD))
		err = teeliza_set_error(TEELIZA_ERR_PROTOCOL, "%s: \"key\" is not a PEM private key (%zu bytes)", what, len);
	if (!err)
		err = teeliza_buf_append(&out->key, key, len);
	if (!err)
		err = tls_chain(out, reply, what);
	if (err)
		dstack_tls_key_free(out);
	return err;
}

static teeliza_err tls_body(teeliza_buf *b, const dstack_tls_key_options *o)
{
	char num[64];
	size_t i;
	teeliza_err err;

	/* JSON.stringify(raw): the four fixed keys, then the optional ones in the order the SDK adds them. */
	err = teeliza_buf_append(b, "{", 1);
	if (!err)
		err = dstack_body_string(b, true, "subject", o->subject != NULL ? o->subject : "");
	if (!err)
		err = teeliza_buf_printf(b, ",\"usage_ra_tls\":%s,\"usage_server_auth\":%s,\"usage_client_auth\":%s",
		                         o->usage_ra_tls ? "true" : "false", o->usage_server_auth ? "true" : "false",
		                         o->usage_client_auth ? "true" : "false");
	if (!err && o->n_alt > 0) {
		err = teeliza_buf_append_str(b, ",\"alt_names\":[");
		for (i = 0; !err && i < o->n_alt; i++) {
			assert(o->alt_names[i] != NULL);
			if (i > 0)
				err = teeliza_buf_append(b, ",", 1);
			if (!err)
				err = teeliza_json_append_string(b, o->alt_names[i], strlen(o->alt_names[i]), "alt name");
		}
		if (!err)
			err = teeliza_buf_append(b, "]", 1);
	}
	if (!err && o->set_not_before) {
		snprintf(num, sizeof(num), ",\"not_before\":%" PRIu64, o->not_before);
		err = teeliza_buf_append_str(b, num);
	}
	if (!err && o->set_not_after) {
		snprintf(num, sizeof(num), ",\"not_after\":%" PRIu64, o->not_after);
		err = teeliza_buf_append_str(b, num);
	}
	if (!err && o->set_with_app_info)
		err = teeliza_buf_append_str(b, o->with_app_info ? ",\"with_app_info\":true" : ",\"with_app_info\":false");
	if (!err)
		err = teeliza_buf_append(b, "}", 1);
	return err;
}

/* The SDK's message for newer options on an agent without Version. */
static void options_message(char *out, size_t out_len, const dstack_tls_key_options *o)
{
	snprintf(out, out_len, "TLS key options [%s%s%s%s%s] are not supported: OS version too old (Version RPC unavailable)",
	         o->set_not_before ? "notBefore" : "", o->set_not_before && (o->set_not_after || o->set_with_app_info) ? ", " : "",
	         o->set_not_after ? "notAfter" : "", o->set_not_after && o->set_with_app_info ? ", " : "",
	         o->set_with_app_info ? "withAppInfo" : "");
}

teeliza_err dstack_get_tls_key(dstack_tls_key *out, const dstack_client *c, const dstack_tls_key_options *opts)
{
	char msg[200];
	teeliza_buf body;
	json_t *reply = NULL;
	teeliza_err err;

	assert(out != NULL && c != NULL && opts != NULL && (opts->alt_names != NULL || opts->n_alt == 0));
	memset(out, 0, sizeof(*out));
	teeliza_buf_init(&body, TLS_BODY_MAX);
	err = tls_body(&body, opts);
	if (err) {
		teeliza_buf_free(&body);
		return err;
	}
	/* Agents before 0.5.7 ignore these silently: the SDK asks /Version first. */
	if (opts->set_not_before || opts->set_not_after || opts->set_with_app_info) {
		options_message(msg, sizeof(msg), opts);
		err = dstack_require_version(c, msg);
	}
	if (!err)
		err = dstack_call(&reply, NULL, c, "GetTlsKey", &body, DSTACK_TLS_REPLY_MAX, 0, DSTACK_CALL_SECRET);
	teeliza_buf_free(&body);
	if (err)
		return err;
	err = dstack_parse_tls_key(out, reply);
	dstack_json_wipe_string(json_object_get(reply, "key"));
	json_decref(reply);
	return err;
}

/* ---- EmitEvent ---- */

teeliza_err dstack_emit_event(const dstack_client *c, const char *event, const uint8_t *payload, size_t payload_len)
{
	teeliza_buf body;
	json_t *reply = NULL;
	teeliza_err err;

	assert(c != NULL && (payload != NULL || payload_len == 0));
	if (event == NULL || event[0] == 0)
		return teeliza_set_error(TEELIZA_ERR_INVALID, "Event name cannot be empty");
	if (payload_len > EVENT_BODY_MAX / 2 - 1024)
		return teeliza_set_error(TEELIZA_ERR_TOO_LARGE, "an event payload of %zu bytes is too large to send",
		                         payload_len);
	teeliza_buf_init(&body, EVENT_BODY_MAX);
	err = teeliza_buf_append(&body, "{", 1);
	if (!err)
		err = dstack_body_string(&body, true, "event", event);
	if (!err)
		err = teeliza_buf_append_str(&body, ",\"payload\":");
	if (!err)
		err = dstack_body_hex(&body, payload, payload_len);
	if (!err)
		err = teeliza_buf_append(&body, "}", 1);
	if (!err)
		err = dstack_call(&reply, NULL, c, "EmitEvent", &body, DSTACK_SMALL_REPLY_MAX, 0, DSTACK_CALL_NULL_OK);
	teeliza_buf_free(&body);
	/* The agent answers null for Empty; {} is taken as the same. Anything else is not this method's reply. */
	if (!err && reply != NULL)
		err = teeliza_set_error(TEELIZA_ERR_PROTOCOL, "EmitEvent reply is not null");
	json_decref(reply);
	return err;
}
