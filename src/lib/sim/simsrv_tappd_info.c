/*
 * tappd's Info answer: the app's identity (app id, instance id, app
 * certificate) and tcb_info with the measurements dstack 0.4 derives from
 * a quote and its event log. Built once per measured-state snapshot
 * (simsrv_view.c), so it is here and not among the routes that read it.
 */
#include "sim/simsrv.h"

#include "teeliza/common/encoding.h"

#include <openssl/evp.h>
#include <stdlib.h>
#include <string.h>

/* Offsets in a TDX quote v4: header user_data, and TD report fields after the 48-byte header. */
#define QUOTE_USER_DATA 28
#define QUOTE_MRTD (48 + 136)

static teeliza_err append_str(teeliza_buf *out, const char *s)
{
	return simsrv_json_string(out, s, strlen(s));
}
static teeliza_err sha256_of(uint8_t out[32], const uint8_t *const *parts, const size_t *lens, size_t n)
{
	EVP_MD_CTX *ctx = EVP_MD_CTX_new();
	size_t i;
	int ok = ctx != NULL && EVP_DigestInit_ex(ctx, EVP_sha256(), NULL) == 1;

	for (i = 0; ok && i < n; i++)
		ok = EVP_DigestUpdate(ctx, parts[i], lens[i]) == 1;
	ok = ok && EVP_DigestFinal_ex(ctx, out, NULL) == 1;
	EVP_MD_CTX_free(ctx);
	return ok ? TEELIZA_OK : teeliza_set_error(TEELIZA_ERR_CRYPTO, "SHA-256 failed");
}

struct app_measurements {
	uint8_t mrtd[48];
	uint8_t device_id[32];
	uint8_t mr_key_provider[32]; /* SHA-256 of the key-provider event's payload */
	uint8_t mr_aggregated[32];
	uint8_t mr_image[32];
};

/* What dstack 0.4's decode_app_info derives from a quote and its event log. */
static teeliza_err measure_app(struct app_measurements *m, const simsrv_state *st, const simsrv_view *v)
{
	static const uint8_t zero_report_data[64];
	teeliza_buf quote;
	const uint8_t(*r)[48] = (const uint8_t(*)[48])v->rtmr;
	const uint8_t *kp[] = {(const uint8_t *)st->app.key_provider};
	const size_t kp_len[] = {strlen(st->app.key_provider)};
	teeliza_err err;

	memset(m, 0, sizeof(*m));
	err = sha256_of(m->mr_key_provider, kp, kp_len, 1);
	if (!err)
		err = tee_sim_quote(&quote, st->pki, zero_report_data, r);
	if (err)
		return err;
	memcpy(m->mrtd, quote.data + QUOTE_MRTD, sizeof(m->mrtd));
	{
		const uint8_t *p1[] = {quote.data + QUOTE_USER_DATA};
		const size_t l1[] = {20};
		const uint8_t *p2[] = {m->mrtd, r[0], r[1], r[2], m->mr_key_provider};
		const size_t l2[] = {48, 48, 48, 48, 32};
		const uint8_t *p3[] = {m->mrtd, r[1], r[2]};
		const size_t l3[] = {48, 48, 48};

		err = sha256_of(m->device_id, p1, l1, 1);
		if (err == TEELIZA_OK)
			err = sha256_of(m->mr_aggregated, p2, l2, 5);
		if (err == TEELIZA_OK)
			err = sha256_of(m->mr_image, p3, l3, 3);
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

/* tcb_info: serde_json's pretty printing of a json! map, whose keys come out sorted. */
static teeliza_err build_tcb_info(char **out, const simsrv_state *st, const simsrv_view *v,
                                  const struct app_measurements *m)
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
	rc = json_object_set_new(obj, "app_compose", json_stringn(st->app.compose, st->app.compose_len));
	rc |= set_hex(obj, "compose_hash", st->app.compose_hash, sizeof(st->app.compose_hash));
	rc |= set_hex(obj, "device_id", m->device_id, sizeof(m->device_id));
	rc |= json_object_set_new(obj, "event_log", log);
	rc |= set_hex(obj, "mr_aggregated", m->mr_aggregated, sizeof(m->mr_aggregated));
	rc |= set_hex(obj, "mr_image", m->mr_image, sizeof(m->mr_image));
	rc |= set_hex(obj, "mr_key_provider", m->mr_key_provider, sizeof(m->mr_key_provider));
	rc |= set_hex(obj, "mrtd", m->mrtd, sizeof(m->mrtd));
	rc |= set_hex(obj, "rtmr0", v->rtmr[0], 48);
	rc |= set_hex(obj, "rtmr1", v->rtmr[1], 48);
	rc |= set_hex(obj, "rtmr2", v->rtmr[2], 48);
	rc |= set_hex(obj, "rtmr3", v->rtmr[3], 48);
	if (rc == 0)
		*out = json_dumps(obj, JSON_INDENT(2) | JSON_PRESERVE_ORDER);
	json_decref(obj);
	if (*out == NULL)
		return teeliza_set_error(TEELIZA_ERR_NOMEM, "out of memory");
	return TEELIZA_OK;
}

teeliza_err simsrv_tappd_info(teeliza_buf *out, const simsrv_state *st, const simsrv_view *v)
{
	struct app_measurements m;
	char *tcb = NULL;
	teeliza_err err;

	err = measure_app(&m, st, v);
	if (err == TEELIZA_OK)
		err = build_tcb_info(&tcb, st, v, &m);
	if (err)
		return err;
	err = teeliza_buf_append_str(out, "{\"app_id\":");
	if (!err)
		err = simsrv_json_hex(out, st->app.app_id, sizeof(st->app.app_id), true);
	if (!err)
		err = teeliza_buf_append_str(out, ",\"instance_id\":");
	if (!err)
		err = simsrv_json_hex(out, st->app.instance_id, st->app.instance_id_len, true);
	if (!err)
		err = teeliza_buf_append_str(out, ",\"app_cert\":");
	if (!err)
		err = append_str(out, st->ca.cert_pem);
	if (!err)
		err = teeliza_buf_append_str(out, ",\"tcb_info\":");
	if (!err)
		err = append_str(out, tcb);
	if (!err)
		err = teeliza_buf_append_str(out, ",\"app_name\":");
	if (!err)
		err = append_str(out, st->app.name);
	if (!err)
		err = teeliza_buf_append_str(out, ",\"public_logs\":true,\"public_sysinfo\":true,\"device_id\":");
	if (!err)
		err = simsrv_json_hex(out, m.device_id, sizeof(m.device_id), true);
	if (!err)
		err = teeliza_buf_append_str(out, ",\"mr_aggregated\":");
	if (!err)
		err = simsrv_json_hex(out, m.mr_aggregated, sizeof(m.mr_aggregated), true);
	if (!err)
		err = teeliza_buf_append_str(out, ",\"mr_image\":");
	if (!err)
		err = simsrv_json_hex(out, m.mr_image, sizeof(m.mr_image), true);
	if (!err)
		err = teeliza_buf_append_str(out, ",\"mr_key_provider\":");
	if (!err)
		err = simsrv_json_hex(out, m.mr_key_provider, sizeof(m.mr_key_provider), true);
	if (!err)
		err = teeliza_buf_append_str(out, ",\"key_provider_info\":");
	if (!err)
		err = append_str(out, st->app.key_provider);
	if (!err)
		err = teeliza_buf_append_str(out, ",\"compose_hash\":");
	if (!err)
		err = simsrv_json_hex(out, st->app.compose_hash, sizeof(st->app.compose_hash), true);
	if (!err)
		err = teeliza_buf_append_str(out, "}");
	free(tcb);
	return err;
}
