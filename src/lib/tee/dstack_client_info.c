/*
 * dstack client: Info (with its tcb_info, a JSON text inside the reply,
 * parsed into fields) and Version, and the Version probe before a feature
 * older agents ignore (dstack_require_version).
 */
#include "tee/dstack_client_internal.h"

#include <assert.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static const size_t len_id[] = {20, 0};
static const size_t len_hash[] = {32, 0};
static const size_t len_mr[] = {48};

/* ---- tcb_info ---- */

static void tcb_info_free(dstack_tcb_info *t)
{
	tee_dstack_events_free(&t->events);
	free(t->app_compose);
	memset(t, 0, sizeof(*t));
	tee_dstack_events_free(&t->events);
}

/* mrtd and rtmr0–3: all five hex (48 bytes), or all null/absent (no TD report on this platform). */
static teeliza_err registers(dstack_tcb_info *out, json_t *root, const char *what)
{
	static const char *const names[5] = {"mrtd", "rtmr0", "rtmr1", "rtmr2", "rtmr3"};
	size_t i, present = 0, len;
	teeliza_err err;

	for (i = 0; i < 5; i++) {
		json_t *v = json_object_get(root, names[i]);

		if (v != NULL && !json_is_null(v))
			present++;
	}
	if (present == 0)
		return TEELIZA_OK;
	if (present != 5)
		return teeliza_set_error(TEELIZA_ERR_PROTOCOL, "%s: some of mrtd, rtmr0–3 are missing or null", what);
	err = dstack_json_hex_fixed(out->mrtd, &len, root, "mrtd", len_mr, 1, false, what);
	for (i = 0; !err && i < 4; i++)
		err = dstack_json_hex_fixed(out->rtmr[i], &len, root, names[i + 1], len_mr, 1, false, what);
	if (!err)
		out->has_registers = true;
	return err;
}

static teeliza_err tcb_info_fields(dstack_tcb_info *out, json_t *root)
{
	const char *what = "Info reply: tcb_info";
	json_t *log = json_object_get(root, "event_log");
	char *log_text, why[DSTACK_WHY_MAX];
	teeliza_err err;

	err = registers(out, root, what);
	if (!err)
		err = dstack_json_hex_fixed(out->mr_aggregated, &out->mr_aggregated_len, root, "mr_aggregated", len_hash, 2,
		                            true, what);
	if (!err)
		err = dstack_json_hex_fixed(out->os_image_hash, &out->os_image_hash_len, root, "os_image_hash", len_hash, 2,
		                            true, what);
	if (!err)
		err = dstack_json_hex_fixed(out->compose_hash, &out->compose_hash_len, root, "compose_hash", len_hash, 2,
		                            true, what);
	if (!err)
		err = dstack_json_hex_fixed(out->device_id, &out->device_id_len, root, "device_id", len_hash, 2, true, what);
	if (!err)
		err = dstack_json_strdup(&out->app_compose, root, "app_compose", true, what);
	if (err)
		return err;
	if (log == NULL)
		return teeliza_set_error(TEELIZA_ERR_PROTOCOL, "%s has no \"event_log\"", what);
	if (!json_is_array(log))
		return teeliza_set_error(TEELIZA_ERR_PROTOCOL, "%s: \"event_log\" is not an array", what);
	/* Here the log is an array, not a text: written back out for the one strict parser. */
	log_text = json_dumps(log, JSON_COMPACT);
	if (log_text == NULL)
		return teeliza_set_error(TEELIZA_ERR_NOMEM, "out of memory");
	err = tee_dstack_events_parse(&out->events, log_text, strlen(log_text));
	free(log_text);
	if (err)
		return teeliza_set_error(TEELIZA_ERR_PROTOCOL, "%s: \"event_log\": %s", what, dstack_why(why));
	out->replay_matches = out->has_registers && memcmp(out->events.rtmr, out->rtmr, sizeof(out->rtmr)) == 0;
	return TEELIZA_OK;
}

teeliza_err dstack_parse_tcb_info(dstack_tcb_info *out, const char *text, size_t len)
{
	json_error_t jerr;
	json_t *root;
	teeliza_err err;

	assert(out != NULL && (text != NULL || len == 0));
	memset(out, 0, sizeof(*out));
	tee_dstack_events_free(&out->events);
	if (len == 0)
		return TEELIZA_OK; /* hidden, as on the agent's public port */
	root = json_loadb(text, len, JSON_REJECT_DUPLICATES, &jerr);
	if (root == NULL)
		return teeliza_set_error(TEELIZA_ERR_PROTOCOL, "Info reply: \"tcb_info\" is not JSON: %s at byte %d",
		                         jerr.text, jerr.position);
	if (!json_is_object(root)) {
		json_decref(root);
		return teeliza_set_error(TEELIZA_ERR_PROTOCOL, "Info reply: \"tcb_info\" is not a JSON object");
	}
	out->present = true;
	err = tcb_info_fields(out, root);
	json_decref(root);
	if (err)
		tcb_info_free(out);
	return err;
}

/* ---- Info ---- */

void dstack_info_free(dstack_info *info)
{
	if (info == NULL)
		return;
	free(info->app_name);
	free(info->app_cert);
	free(info->key_provider_info);
	free(info->vm_config);
	free(info->cloud_vendor);
	free(info->cloud_product);
	free(info->tcb_info_text);
	tcb_info_free(&info->tcb);
	teeliza_buf_free(&info->raw);
	memset(info, 0, sizeof(*info));
	tee_dstack_events_free(&info->tcb.events);
}

static teeliza_err info_fields(dstack_info *out, json_t *reply)
{
	const char *what = "Info reply";
	teeliza_err err;

	/* In every 0.5 agent; the SDK's types mark the rest optional. */
	err = dstack_json_hex_fixed(out->app_id, &out->app_id_len, reply, "app_id", len_id, 2, false, what);
	if (!err)
		err = dstack_json_hex_fixed(out->instance_id, &out->instance_id_len, reply, "instance_id", len_id, 2, false,
		                            what);
	if (!err)
		err = dstack_json_hex_fixed(out->device_id, &out->device_id_len, reply, "device_id", len_hash, 2, false, what);
	if (!err)
		err = dstack_json_hex_fixed(out->compose_hash, &out->compose_hash_len, reply, "compose_hash", len_hash, 2,
		                            false, what);
	if (!err)
		err = dstack_json_hex_fixed(out->mr_aggregated, &out->mr_aggregated_len, reply, "mr_aggregated", len_hash, 2,
		                            true, what);
	if (!err)
		err = dstack_json_hex_fixed(out->os_image_hash, &out->os_image_hash_len, reply, "os_image_hash", len_hash, 2,
		                            true, what);
	if (!err)
		err = dstack_json_strdup(&out->app_name, reply, "app_name", false, what);
	if (!err)
		err = dstack_json_strdup(&out->app_cert, reply, "app_cert", false, what);
	if (!err)
		err = dstack_json_strdup(&out->key_provider_info, reply, "key_provider_info", false, what);
	if (!err)
		err = dstack_json_strdup(&out->tcb_info_text, reply, "tcb_info", false, what);
	if (!err)
		err = dstack_json_strdup(&out->vm_config, reply, "vm_config", true, what);
	if (!err)
		err = dstack_json_strdup(&out->cloud_vendor, reply, "cloud_vendor", true, what);
	if (!err)
		err = dstack_json_strdup(&out->cloud_product, reply, "cloud_product", true, what);
	if (!err)
		err = dstack_parse_tcb_info(&out->tcb, out->tcb_info_text, strlen(out->tcb_info_text));
	return err;
}

teeliza_err dstack_parse_info(dstack_info *out, json_t *reply, const uint8_t *raw, size_t raw_len)
{
	teeliza_err err;

	assert(out != NULL && reply != NULL && (raw != NULL || raw_len == 0));
	memset(out, 0, sizeof(*out));
	tee_dstack_events_free(&out->tcb.events);
	teeliza_buf_init(&out->raw, DSTACK_QUOTE_REPLY_MAX);
	err = teeliza_buf_append(&out->raw, raw, raw_len);
	if (!err)
		err = info_fields(out, reply);
	if (err)
		dstack_info_free(out);
	return err;
}

teeliza_err dstack_get_info(dstack_info *out, const dstack_client *c)
{
	teeliza_buf raw;
	json_t *reply = NULL;
	teeliza_err err;

	assert(out != NULL && c != NULL);
	memset(out, 0, sizeof(*out));
	tee_dstack_events_free(&out->tcb.events);
	err = dstack_call_empty(&reply, &raw, c, "Info", DSTACK_QUOTE_REPLY_MAX, 0);
	if (err)
		return err;
	err = dstack_parse_info(out, reply, raw.data, raw.len);
	teeliza_buf_free(&raw);
	json_decref(reply);
	return err;
}

/* ---- Version ---- */

teeliza_err dstack_parse_version(dstack_version *out, json_t *reply)
{
	const char *what = "Version reply", *version, *rev;
	size_t vlen, rlen;
	teeliza_err err;

	assert(out != NULL && reply != NULL);
	memset(out, 0, sizeof(*out));
	err = dstack_json_string(&version, &vlen, reply, "version", false, what);
	if (!err)
		err = dstack_json_string(&rev, &rlen, reply, "rev", false, what);
	if (err)
		return err;
	if (vlen >= sizeof(out->version) || rlen >= sizeof(out->rev))
		return teeliza_set_error(TEELIZA_ERR_PROTOCOL, "%s: \"version\" or \"rev\" is implausibly long", what);
	memcpy(out->version, version, vlen + 1);
	memcpy(out->rev, rev, rlen + 1);
	return TEELIZA_OK;
}

teeliza_err dstack_get_version(dstack_version *out, const dstack_client *c)
{
	json_t *reply = NULL;
	teeliza_err err;

	assert(out != NULL && c != NULL);
	memset(out, 0, sizeof(*out));
	err = dstack_call_empty(&reply, NULL, c, "Version", DSTACK_SMALL_REPLY_MAX, 0);
	if (err)
		return err;
	err = dstack_parse_version(out, reply);
	json_decref(reply);
	return err;
}

teeliza_err dstack_require_version(const dstack_client *c, const char *unsupported_msg)
{
	dstack_version v;
	teeliza_err err = dstack_get_version(&v, c);

	if (err == TEELIZA_ERR_REMOTE || err == TEELIZA_ERR_NOT_FOUND || err == TEELIZA_ERR_PROTOCOL)
		return teeliza_set_error(TEELIZA_ERR_UNSUPPORTED, "%s", unsupported_msg);
	return err;
}
