/*
 * A dstack app's identity from its RTMR3 events (app_identity.h): read only
 * after the log has replayed to the quoted RTMR3, only from events before
 * "system-ready", and compared with what the relying party expects.
 */
#include "teeliza/tee/app_identity.h"
#include "teeliza/common/encoding.h"

#include <assert.h>
#include <ctype.h>
#include <stdio.h>
#include <string.h>

/* UTF-8 without control characters: the payload is JSON text, and it may end up in a message. */
static bool valid_utf8_text(const uint8_t *p, size_t n)
{
	size_t i = 0;

	while (i < n) {
		uint8_t c = p[i];
		size_t k, more;
		uint32_t cp;

		if (c < 0x20 || c == 0x7f)
			return false;
		if (c < 0x80) {
			i++;
			continue;
		}
		if (c >= 0xc2 && c <= 0xdf) {
			more = 1;
			cp = c & 0x1f;
		} else if (c >= 0xe0 && c <= 0xef) {
			more = 2;
			cp = c & 0x0f;
		} else if (c >= 0xf0 && c <= 0xf4) {
			more = 3;
			cp = c & 0x07;
		} else {
			return false;
		}
		if (n - i <= more)
			return false;
		for (k = 1; k <= more; k++) {
			if ((p[i + k] & 0xc0) != 0x80)
				return false;
			cp = cp << 6 | (p[i + k] & 0x3f);
		}
		if ((more == 2 && (cp < 0x800 || (cp >= 0xd800 && cp <= 0xdfff))) || (more == 3 && (cp < 0x10000 || cp > 0x10ffff)))
			return false;
		i += more + 1;
	}
	return true;
}

/* The key-provider payload's "name" and "id", when it is the JSON object dstack writes. */
static void key_provider_parts(tee_app_identity *out)
{
	json_t *root = json_loadb(out->key_provider, out->key_provider_len, JSON_REJECT_DUPLICATES, NULL);
	json_t *name = json_object_get(root, "name"), *id = json_object_get(root, "id");

	if (json_is_string(name) && json_string_length(name) < sizeof(out->key_provider_name) &&
	    strlen(json_string_value(name)) == json_string_length(name))
		memcpy(out->key_provider_name, json_string_value(name), json_string_length(name) + 1);
	if (json_is_string(id) && json_string_length(id) < sizeof(out->key_provider_id) &&
	    strlen(json_string_value(id)) == json_string_length(id)) {
		size_t i;

		for (i = 0; i <= json_string_length(id); i++)
			out->key_provider_id[i] = (char)tolower((unsigned char)json_string_value(id)[i]);
	}
	json_decref(root);
}

teeliza_err tee_app_identity_read(tee_app_identity *out, const tee_dstack_events *ev)
{
	const tee_event *e;

	assert(out != NULL && ev != NULL);
	memset(out, 0, sizeof(*out));
	memcpy(out->rtmr3, ev->rtmr[3], TEE_RTMR_LEN);
	out->system_ready = ev->system_ready != SIZE_MAX;
	/* tee_dstack_events_parse has checked the lengths of the fixed-size ones. */
	if ((e = tee_dstack_events_ident(ev, TEE_DSTACK_IDENT_APP_ID)) != NULL) {
		assert(e->payload_len == 20);
		out->has_app_id = true;
		memcpy(out->app_id, e->payload, 20);
	}
	if ((e = tee_dstack_events_ident(ev, TEE_DSTACK_IDENT_COMPOSE_HASH)) != NULL) {
		assert(e->payload_len == 32);
		out->has_compose_hash = true;
		memcpy(out->compose_hash, e->payload, 32);
	}
	if ((e = tee_dstack_events_ident(ev, TEE_DSTACK_IDENT_INSTANCE_ID)) != NULL) {
		assert(e->payload_len == 0 || e->payload_len == 20);
		out->has_instance_id = true;
		out->instance_id_len = e->payload_len;
		if (e->payload_len != 0)
			memcpy(out->instance_id, e->payload, 20);
	}
	if ((e = tee_dstack_events_ident(ev, TEE_DSTACK_IDENT_OS_IMAGE_HASH)) != NULL) {
		assert(e->payload_len == 32);
		out->has_os_image_hash = true;
		memcpy(out->os_image_hash, e->payload, 32);
	}
	if ((e = tee_dstack_events_ident(ev, TEE_DSTACK_IDENT_KEY_PROVIDER)) != NULL) {
		if (e->payload_len > TEE_KEY_PROVIDER_MAX)
			return teeliza_set_error(TEELIZA_ERR_PARSE, "the key-provider payload is %zu bytes, at most %d accepted",
			                         e->payload_len, TEE_KEY_PROVIDER_MAX);
		if (!valid_utf8_text(e->payload, e->payload_len))
			return teeliza_set_error(TEELIZA_ERR_PARSE, "the key-provider payload is not UTF-8 text without control characters");
		out->has_key_provider = true;
		if (e->payload_len != 0)
			memcpy(out->key_provider, e->payload, e->payload_len);
		out->key_provider[e->payload_len] = '\0';
		out->key_provider_len = e->payload_len;
		key_provider_parts(out);
	}
	return TEELIZA_OK;
}

bool tee_identity_policy_any(const tee_identity_policy *p)
{
	return p != NULL && (p->expect_app_id != NULL || p->expect_compose_hash != NULL ||
	                     p->expect_os_image_hash != NULL || p->expect_key_provider != NULL);
}

static teeliza_err missing(const char *name)
{
	return teeliza_set_error(TEELIZA_ERR_VERIFY, "app identity: no %s event before system-ready", name);
}

static teeliza_err check_bytes(bool present, const uint8_t *have, const uint8_t *want, size_t n, const char *name)
{
	char h[65], w[65];

	assert(n <= 32);
	if (want == NULL)
		return TEELIZA_OK;
	if (!present)
		return missing(name);
	if (memcmp(have, want, n) == 0)
		return TEELIZA_OK;
	teeliza_hex_encode(h, have, n);
	teeliza_hex_encode(w, want, n);
	return teeliza_set_error(TEELIZA_ERR_VERIFY, "app identity: %s is %s, expected %s", name, h, w);
}

/* A hex id as given: optional 0x, any case; compared with the payload's lowercase "id". */
static bool same_hex_id(const char *have, const char *want)
{
	size_t i;

	if (want[0] == '0' && (want[1] == 'x' || want[1] == 'X'))
		want += 2;
	if (strlen(want) != strlen(have) || have[0] == '\0')
		return false;
	for (i = 0; have[i] != '\0'; i++)
		if (tolower((unsigned char)want[i]) != have[i])
			return false;
	return true;
}

static teeliza_err check_key_provider(const tee_app_identity *id, const char *want)
{
	if (want == NULL)
		return TEELIZA_OK;
	if (!id->has_key_provider)
		return missing("key-provider");
	if (want[0] == '{') {
		if (strlen(want) == id->key_provider_len && memcmp(want, id->key_provider, id->key_provider_len) == 0)
			return TEELIZA_OK;
		return teeliza_set_error(TEELIZA_ERR_VERIFY, "app identity: key-provider is %s, expected %s", id->key_provider,
		                         want);
	}
	if (same_hex_id(id->key_provider_id, want))
		return TEELIZA_OK;
	if (id->key_provider_id[0] == '\0')
		return teeliza_set_error(TEELIZA_ERR_VERIFY, "app identity: key-provider %s has no \"id\", expected id %s",
		                         id->key_provider, want);
	return teeliza_set_error(TEELIZA_ERR_VERIFY, "app identity: key-provider id is %s (%s), expected %s",
	                         id->key_provider_id, id->key_provider_name[0] ? id->key_provider_name : "no name", want);
}

/* tee_app_identity_check, saying in *read whether the identity was read (so a failure is the policy's). */
static teeliza_err check_steps(tee_app_identity *id, bool *read, const char *event_log, size_t len,
                               const uint8_t rtmr3[TEE_RTMR_LEN], const tee_identity_policy *policy)
{
	tee_app_identity local;
	tee_dstack_events ev;
	char quoted[2 * TEE_RTMR_LEN + 1], replayed[2 * TEE_RTMR_LEN + 1], detail[512];
	teeliza_err err;

	assert(rtmr3 != NULL && (event_log != NULL || len == 0));
	*read = false;
	if (id == NULL)
		id = &local;
	memset(id, 0, sizeof(*id));
	err = tee_dstack_events_parse(&ev, event_log, len);
	if (err) {
		snprintf(detail, sizeof(detail), "%s", teeliza_errmsg());
		return teeliza_set_error(err, "event log does not parse: %s", detail);
	}
	if (memcmp(ev.rtmr[3], rtmr3, TEE_RTMR_LEN) != 0) {
		teeliza_hex_encode(quoted, rtmr3, TEE_RTMR_LEN);
		teeliza_hex_encode(replayed, ev.rtmr[3], TEE_RTMR_LEN);
		tee_dstack_events_free(&ev);
		return teeliza_set_error(TEELIZA_ERR_VERIFY, "event log does not match RTMR3 (quoted %s, replayed %s)", quoted,
		                         replayed);
	}
	err = tee_app_identity_read(id, &ev);
	tee_dstack_events_free(&ev);
	*read = err == TEELIZA_OK;
	if (err || policy == NULL)
		return err;
	err = check_bytes(id->has_app_id, id->app_id, policy->expect_app_id, 20, "app-id");
	if (!err)
		err = check_bytes(id->has_compose_hash, id->compose_hash, policy->expect_compose_hash, 32, "compose-hash");
	if (!err)
		err = check_bytes(id->has_os_image_hash, id->os_image_hash, policy->expect_os_image_hash, 32,
		                  "os-image-hash");
	if (!err)
		err = check_key_provider(id, policy->expect_key_provider);
	return err;
}

teeliza_err tee_app_identity_check(tee_app_identity *id, const char *event_log, size_t len,
                                   const uint8_t rtmr3[TEE_RTMR_LEN], const tee_identity_policy *policy)
{
	bool read;

	return check_steps(id, &read, event_log, len, rtmr3, policy);
}

teeliza_err tee_verify_app_identity(dcap_result *res, tee_app_identity *id, bool *id_read, const char *event_log,
                                    size_t len, const tee_identity_policy *policy)
{
	char detail[sizeof(res->reason)];
	teeliza_err err;

	assert(res != NULL && id != NULL && id_read != NULL);
	*id_read = false;
	memset(id, 0, sizeof(*id));
	if (res->verdict == DCAP_VERDICT_FAILED || (event_log == NULL && !tee_identity_policy_any(policy)))
		return TEELIZA_OK;
	if (!res->tdx || !res->quote_parsed || res->quote.body_type == DCAP_BODY_SGX)
		return dcap_result_fail(res, DCAP_FAIL_APP_IDENTITY, TEELIZA_ERR_VERIFY,
		                        "app identity: not a TDX quote, so it has no RTMR3");
	if (event_log == NULL)
		return dcap_result_fail(res, DCAP_FAIL_EVENT_LOG, TEELIZA_ERR_VERIFY,
		                        "app identity: no event log given, so the quote's RTMR3 says nothing readable");
	err = check_steps(id, id_read, event_log, len, res->quote.body.td.rtmr[3], policy);
	if (!err)
		return TEELIZA_OK;
	snprintf(detail, sizeof(detail), "%s", teeliza_errmsg());
	return dcap_result_fail(res, *id_read ? DCAP_FAIL_APP_IDENTITY : DCAP_FAIL_EVENT_LOG, err, "%s", detail);
}

static json_t *hex_or_null(bool present, const uint8_t *p, size_t n)
{
	char h[65];

	if (!present)
		return json_null();
	assert(n <= 32);
	teeliza_hex_encode(h, p, n);
	return json_string(h);
}

json_t *tee_app_identity_to_json(const tee_app_identity *id)
{
	char r3[2 * TEE_RTMR_LEN + 1];
	json_t *kp = json_null();

	assert(id != NULL);
	if (id->has_key_provider)
		kp = json_pack("{s:s, s:s?, s:s?}", "text", id->key_provider, "name",
		               id->key_provider_name[0] ? id->key_provider_name : NULL, "id",
		               id->key_provider_id[0] ? id->key_provider_id : NULL);
	teeliza_hex_encode(r3, id->rtmr3, TEE_RTMR_LEN);
	return json_pack("{s:o, s:o, s:o, s:o, s:o*, s:b, s:s}", "appId", hex_or_null(id->has_app_id, id->app_id, 20),
	                 "composeHash", hex_or_null(id->has_compose_hash, id->compose_hash, 32), "instanceId",
	                 hex_or_null(id->has_instance_id, id->instance_id, id->instance_id_len), "osImageHash",
	                 hex_or_null(id->has_os_image_hash, id->os_image_hash, 32), "keyProvider", kp, "systemReady",
	                 id->system_ready, "rtmr3", r3);
}

static void print_hex(FILE *out, const char *name, bool present, const uint8_t *p, size_t n)
{
	char h[65];

	assert(n <= 32);
	teeliza_hex_encode(h, p, n);
	fprintf(out, "  %-18s %s\n", name, !present ? "absent" : n == 0 ? "(none: no_instance_id)" : h);
}

void tee_app_identity_print(FILE *out, const tee_app_identity *id)
{
	char r3[2 * TEE_RTMR_LEN + 1];

	assert(out != NULL && id != NULL);
	teeliza_hex_encode(r3, id->rtmr3, TEE_RTMR_LEN);
	fprintf(out, "App identity (RTMR3 events before %s)\n", id->system_ready ? "system-ready" : "the log's end: no system-ready");
	print_hex(out, "app-id", id->has_app_id, id->app_id, 20);
	print_hex(out, "compose-hash", id->has_compose_hash, id->compose_hash, 32);
	print_hex(out, "instance-id", id->has_instance_id, id->instance_id, id->instance_id_len);
	print_hex(out, "os-image-hash", id->has_os_image_hash, id->os_image_hash, 32);
	fprintf(out, "  %-18s %s\n", "key-provider", id->has_key_provider ? id->key_provider : "absent");
	fprintf(out, "  %-18s %s (replayed, equals the quote's)\n", "RTMR3", r3);
}
