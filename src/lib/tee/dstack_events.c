/*
 * Strict parsing of the dstack 0.5 GetQuote event log, its replay into
 * RTMR0–3 and the identity events before "system-ready". The input is
 * hostile: it is capped before parsing, every field is type- and
 * range-checked, and a runtime event's digest is always recomputed.
 */
#include "teeliza/tee/dstack_events.h"
#include "teeliza/common/encoding.h"
#include "tee/eventlog_json.h"

#include <assert.h>
#include <stdlib.h>
#include <string.h>

#include <jansson.h>

static const char *const ident_names[TEE_DSTACK_IDENT__COUNT] = {
	[TEE_DSTACK_IDENT_APP_ID] = "app-id",
	[TEE_DSTACK_IDENT_COMPOSE_HASH] = "compose-hash",
	[TEE_DSTACK_IDENT_INSTANCE_ID] = "instance-id",
	[TEE_DSTACK_IDENT_OS_IMAGE_HASH] = "os-image-hash",
	[TEE_DSTACK_IDENT_KEY_PROVIDER] = "key-provider",
	[TEE_DSTACK_IDENT_STORAGE_FS] = "storage-fs",
};

const char *tee_dstack_ident_name(tee_dstack_ident id)
{
	assert((unsigned)id < TEE_DSTACK_IDENT__COUNT);
	return ident_names[id];
}

void tee_dstack_events_free(tee_dstack_events *ev)
{
	size_t i;

	if (ev == NULL)
		return;
	tee_event_log_free(&ev->log);
	memset(ev, 0, sizeof(*ev));
	ev->first_mismatch = SIZE_MAX;
	ev->system_ready = SIZE_MAX;
	for (i = 0; i < TEE_DSTACK_IDENT__COUNT; i++)
		ev->ident[i] = SIZE_MAX;
}

const tee_event *tee_dstack_events_ident(const tee_dstack_events *ev, tee_dstack_ident id)
{
	assert(ev != NULL && (unsigned)id < TEE_DSTACK_IDENT__COUNT);
	if (ev->ident[id] == SIZE_MAX)
		return NULL;
	assert(ev->ident[id] < ev->log.count);
	return &ev->log.events[ev->ident[id]];
}

/* ---- one event ---- */

static teeliza_err parse_event(tee_dstack_events *out, json_t *item, size_t index)
{
	uint8_t digest[TEE_DSTACK_DIGEST_LEN], recomputed[TEE_DSTACK_DIGEST_LEN];
	uint8_t *payload = NULL;
	const char *name, *payload_hex, *digest_hex;
	size_t name_len, payload_hex_len, digest_hex_len, payload_len = 0, digest_len = 0;
	uint32_t imr = 0, type = 0;
	bool runtime;
	teeliza_err err;

	if (!json_is_object(item))
		return teeliza_set_error(TEELIZA_ERR_PARSE, "event %zu is not a JSON object", index);
	err = tee_evjson_u32(&imr, item, "imr", true, 3, index);
	if (!err)
		err = tee_evjson_u32(&type, item, "event_type", true, UINT32_MAX, index);
	if (!err)
		err = tee_evjson_string(&name, &name_len, item, "event", true, index);
	if (!err)
		err = tee_evjson_string(&payload_hex, &payload_hex_len, item, "event_payload", true, index);
	if (!err)
		err = tee_evjson_string(&digest_hex, &digest_hex_len, item, "digest", false, index);
	if (err)
		return err;

	runtime = type == TEE_DSTACK_RUNTIME_EVENT_TYPE;
	if (runtime && imr != 3)
		return teeliza_set_error(TEELIZA_ERR_PARSE, "event %zu: a runtime event (type 0x08000001) on imr %u; "
		                                            "dstack extends runtime events into RTMR3 only", index, imr);
	if (!runtime && imr == 3)
		return teeliza_set_error(TEELIZA_ERR_PARSE, "event %zu: event_type %u on imr 3, which holds only "
		                                            "dstack runtime events (0x08000001)", index, type);
	if (digest_hex_len != 0 && digest_hex_len != 2 * TEE_DSTACK_DIGEST_LEN)
		return teeliza_set_error(TEELIZA_ERR_PARSE, "event %zu: \"digest\" has %zu hex digits, must be 96 (SHA-384)%s",
		                         index, digest_hex_len, runtime ? " or empty" : "");
	if (!runtime && digest_hex_len == 0)
		return teeliza_set_error(TEELIZA_ERR_PARSE, "event %zu: an imr %u event without a digest", index, imr);
	if (digest_hex_len != 0) {
		err = tee_evjson_hex(digest, sizeof(digest), &digest_len, digest_hex, digest_hex_len, "digest", index);
		if (err)
			return err;
	}
	err = tee_evjson_hex_alloc(&payload, &payload_len, payload_hex, payload_hex_len, "event_payload", index);
	if (err)
		return err;

	if (runtime) {
		/* Never trust a carried digest: recompute, and only note a disagreement. */
		tee_dstack_event_digest(recomputed, name, name_len, payload, payload_len);
		out->runtime_count++;
		if (digest_len == 0) {
			out->stripped_count++;
		} else if (memcmp(digest, recomputed, TEE_DSTACK_DIGEST_LEN) != 0) {
			if (out->mismatch_count++ == 0) {
				out->first_mismatch = index;
				memcpy(out->first_mismatch_carried, digest, TEE_DSTACK_DIGEST_LEN);
			}
		}
		memcpy(digest, recomputed, TEE_DSTACK_DIGEST_LEN);
	}
	/* jansson refuses "\u0000" without JSON_ALLOW_NUL, so name is a whole C string. */
	err = tee_event_log_add(&out->log, imr, type, digest, TEE_DSTACK_DIGEST_LEN, name, payload, payload_len);
	free(payload);
	return err;
}

/* ---- identity ---- */

static teeliza_err check_ident_length(const tee_event *ev, tee_dstack_ident id, size_t index)
{
	switch (id) {
	case TEE_DSTACK_IDENT_APP_ID:
		if (ev->payload_len != 20)
			break;
		return TEELIZA_OK;
	case TEE_DSTACK_IDENT_COMPOSE_HASH:
	case TEE_DSTACK_IDENT_OS_IMAGE_HASH:
		if (ev->payload_len != 32)
			break;
		return TEELIZA_OK;
	case TEE_DSTACK_IDENT_INSTANCE_ID:
		if (ev->payload_len != 0 && ev->payload_len != 20)
			break;
		return TEELIZA_OK;
	default:
		return TEELIZA_OK;
	}
	return teeliza_set_error(TEELIZA_ERR_PARSE, "event %zu: \"%s\" payload is %zu bytes, expected %s", index,
	                         ident_names[id], ev->payload_len,
	                         id == TEE_DSTACK_IDENT_APP_ID ? "20"
	                         : id == TEE_DSTACK_IDENT_INSTANCE_ID ? "20 or 0" : "32");
}

static teeliza_err find_identity(tee_dstack_events *out)
{
	size_t i;
	int id;

	for (i = 0; i < out->log.count; i++) {
		const tee_event *ev = &out->log.events[i];

		if (ev->event_type != TEE_DSTACK_RUNTIME_EVENT_TYPE)
			continue;
		if (strcmp(ev->event, "system-ready") == 0) {
			out->system_ready = i;
			return TEELIZA_OK; /* later events may be anything the app emitted */
		}
		for (id = 0; id < TEE_DSTACK_IDENT__COUNT; id++) {
			teeliza_err err;

			if (strcmp(ev->event, ident_names[id]) != 0)
				continue;
			if (out->ident[id] != SIZE_MAX)
				return teeliza_set_error(TEELIZA_ERR_PARSE,
				                         "events %zu and %zu: \"%s\" twice before system-ready",
				                         out->ident[id], i, ident_names[id]);
			err = check_ident_length(ev, (tee_dstack_ident)id, i);
			if (err)
				return err;
			out->ident[id] = i;
		}
	}
	return TEELIZA_OK;
}

/* ---- the log ---- */

static void replay(tee_dstack_events *out)
{
	size_t i;

	memset(out->rtmr, 0, sizeof(out->rtmr));
	for (i = 0; i < out->log.count; i++) {
		const tee_event *ev = &out->log.events[i];

		assert(ev->imr < 4 && ev->digest_len == TEE_DSTACK_DIGEST_LEN);
		if (ev->imr < 3 && ev->event_type == TEE_DSTACK_EV_NO_ACTION)
			continue;
		tee_dstack_rtmr_extend(out->rtmr[ev->imr], ev->digest);
	}
}

teeliza_err tee_dstack_events_parse(tee_dstack_events *out, const char *json, size_t len)
{
	json_t *root, *item;
	size_t i;
	teeliza_err err = TEELIZA_OK;

	assert(out != NULL && (json != NULL || len == 0));
	memset(out, 0, sizeof(*out));
	tee_dstack_events_free(out); /* sets the "none" indexes */
	if (len > TEE_DSTACK_EVENT_LOG_MAX)
		return teeliza_set_error(TEELIZA_ERR_TOO_LARGE, "event log is %zu bytes, at most %u accepted", len,
		                         TEE_DSTACK_EVENT_LOG_MAX);
	err = tee_evjson_load(&root, json, len, JSON_REJECT_DUPLICATES);
	if (err)
		return err;
	if (json_array_size(root) > TEE_DSTACK_EVENTS_MAX) {
		err = teeliza_set_error(TEELIZA_ERR_TOO_LARGE, "event log has %zu events, at most %u accepted",
		                        json_array_size(root), TEE_DSTACK_EVENTS_MAX);
		goto done;
	}
	json_array_foreach(root, i, item) {
		err = parse_event(out, item, i);
		if (err)
			goto done;
	}
	err = find_identity(out);
	if (!err)
		replay(out);
done:
	json_decref(root);
	if (err)
		tee_dstack_events_free(out);
	return err;
}
