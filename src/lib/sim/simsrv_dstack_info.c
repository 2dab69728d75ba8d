/*
 * The DstackGuest Info answer (dstack v0.5.11 rpc_service.rs get_info):
 * AppInfo in protobuf field order, bytes as hex without "0x", and tcb_info
 * a string of pretty JSON (serde_json's json! map, so its keys, and the
 * keys of each event inside it, come out sorted). The Worker service on
 * the public port hides tcb_info and vm_config ("") unless the app compose
 * sets public_tcbinfo (dstack's default is to show them).
 */
#include "sim/simsrv.h"

#include "teeliza/common/encoding.h"
#include "teeliza/dcap/quote.h"
#include "teeliza/tee/dstack_events.h"

#include <assert.h>
#include <openssl/evp.h>
#include <stdlib.h>
#include <string.h>

#define CLOUD_VENDOR "teeliza simulator"
#define CLOUD_PRODUCT "simulated TDX VM (not a TEE)"

struct measures {
	uint8_t mrtd[48];
	uint8_t mr_aggregated[32];
	uint8_t device_id[32]; /* SHA-256 of an empty PPID: what dstack reports for a local attestation */
};

static teeliza_err measure(struct measures *m, const simsrv_state *st, const simsrv_view *v)
{
	static const uint8_t zero_report_data[64];
	teeliza_buf quote;
	dcap_quote q;
	teeliza_err err;

	err = tee_sim_quote(&quote, st->pki, zero_report_data, (const uint8_t(*)[48])v->rtmr);
	if (err)
		return err;
	err = dcap_quote_parse(&q, quote.data, quote.len);
	if (!err && q.body_type != DCAP_BODY_TD10 && q.body_type != DCAP_BODY_TD15)
		err = teeliza_set_error(TEELIZA_ERR_INTERNAL, "the simulated quote has no TD report");
	if (!err) {
		memcpy(m->mrtd, q.body.td.mrtd, sizeof(m->mrtd));
		tee_dstack_mr_aggregated(m->mr_aggregated, &q.body.td, v->rtmr[3]);
		if (EVP_Digest("", 0, m->device_id, NULL, EVP_sha256(), NULL) != 1)
			err = teeliza_set_error(TEELIZA_ERR_CRYPTO, "SHA-256 failed");
	}
	teeliza_buf_free(&quote);
	return err;
}

static int set_hex(json_t *obj, const char *key, const uint8_t *data, size_t len)
{
	char hex[2 * 48 + 1];

	if (len > 48)
		return -1;
	teeliza_hex_encode(hex, data, len);
	return json_object_set_new(obj, key, json_string(hex));
}

static teeliza_err tcb_info(char **out, const simsrv_state *st, const simsrv_view *v, const struct measures *m)
{
	json_t *obj = json_object(), *log;
	json_error_t je;
	int rc;

	*out = NULL;
	log = json_loadb((const char *)v->log_json.data, v->log_json.len, 0, &je);
	if (obj == NULL || log == NULL) {
		json_decref(obj);
		json_decref(log);
		return teeliza_set_error(TEELIZA_ERR_INTERNAL, "cannot re-read the simulated event log");
	}
	rc = set_hex(obj, "mrtd", m->mrtd, sizeof(m->mrtd));
	rc |= set_hex(obj, "rtmr0", v->rtmr[0], TEE_RTMR_LEN);
	rc |= set_hex(obj, "rtmr1", v->rtmr[1], TEE_RTMR_LEN);
	rc |= set_hex(obj, "rtmr2", v->rtmr[2], TEE_RTMR_LEN);
	rc |= set_hex(obj, "rtmr3", v->rtmr[3], TEE_RTMR_LEN);
	rc |= set_hex(obj, "mr_aggregated", m->mr_aggregated, sizeof(m->mr_aggregated));
	rc |= set_hex(obj, "os_image_hash", st->app.os_image_hash, sizeof(st->app.os_image_hash));
	rc |= set_hex(obj, "compose_hash", st->app.compose_hash, sizeof(st->app.compose_hash));
	rc |= set_hex(obj, "device_id", m->device_id, sizeof(m->device_id));
	rc |= json_object_set_new(obj, "event_log", log);
	rc |= json_object_set_new(obj, "app_compose", json_stringn(st->app.compose, st->app.compose_len));
	if (rc == 0)
		*out = json_dumps(obj, JSON_INDENT(2) | JSON_SORT_KEYS);
	json_decref(obj);
	if (*out == NULL)
		return teeliza_set_error(TEELIZA_ERR_NOMEM, "out of memory");
	return TEELIZA_OK;
}

/* "name": after a comma unless it is the first field of the object started at offset 0. */
static teeliza_err field(teeliza_buf *out, const char *name)
{
	return teeliza_buf_printf(out, "%s\"%s\":", out->len > 1 ? "," : "", name);
}

static teeliza_err str_field(teeliza_buf *out, const char *name, const char *value)
{
	teeliza_err err = field(out, name);

	return err ? err : simsrv_json_string(out, value, strlen(value));
}

static teeliza_err hex_field(teeliza_buf *out, const char *name, const uint8_t *data, size_t len)
{
	teeliza_err err = field(out, name);

	return err ? err : simsrv_json_hex(out, data, len, false);
}

teeliza_err simsrv_dstack_info(teeliza_buf *out, const simsrv_state *st, const simsrv_view *v, bool external)
{
	bool hide = external && !st->app.public_tcbinfo;
	struct measures m;
	char *tcb = NULL;
	const simsrv_app *a = &st->app;
	teeliza_err err;

	assert(out->len == 0); /* field() tells the first field by the length */
	err = measure(&m, st, v);
	if (!err && !hide)
		err = tcb_info(&tcb, st, v, &m);
	if (err)
		return err;
	err = teeliza_buf_append_str(out, "{");
	if (!err)
		err = hex_field(out, "app_id", a->app_id, sizeof(a->app_id));
	if (!err)
		err = hex_field(out, "instance_id", a->instance_id, a->instance_id_len);
	if (!err)
		err = str_field(out, "app_cert", st->app_cert != NULL ? st->app_cert : "");
	if (!err)
		err = str_field(out, "tcb_info", hide ? "" : tcb);
	if (!err)
		err = str_field(out, "app_name", a->name);
	if (!err)
		err = hex_field(out, "device_id", m.device_id, sizeof(m.device_id));
	if (!err)
		err = hex_field(out, "mr_aggregated", m.mr_aggregated, sizeof(m.mr_aggregated));
	if (!err)
		err = hex_field(out, "os_image_hash", a->os_image_hash, sizeof(a->os_image_hash));
	if (!err)
		err = str_field(out, "key_provider_info", a->key_provider);
	if (!err)
		err = hex_field(out, "compose_hash", a->compose_hash, sizeof(a->compose_hash));
	if (!err)
		err = str_field(out, "vm_config", hide ? "" : a->vm_config);
	if (!err)
		err = str_field(out, "cloud_vendor", CLOUD_VENDOR);
	if (!err)
		err = str_field(out, "cloud_product", CLOUD_PRODUCT);
	if (!err)
		err = teeliza_buf_append_str(out, "}");
	free(tcb);
	return err;
}
