/*
 * The simulator's tappd pRPC methods: DeriveKey, TdxQuote / RawQuote,
 * DeriveK256Key, and the Info and Version answers. Response field order is
 * tappd's (protobuf field order, which pRPC's serde output keeps). These
 * keep the old tappd wire (hex with "0x"), which the tappd clients were
 * written against; dstack 0.5's tappd-compatible service writes hex
 * without it (docs/SIMULATED-QUOTES.md).
 */
#include "sim/simsrv.h"

#include "teeliza/tee/derive.h"
#include "teeliza/common/encoding.h"
#include "teeliza/tee/reportdata.h"

#include <openssl/evp.h>
#include <openssl/rand.h>
#include <stdlib.h>
#include <string.h>

#define REPORT_DATA_MAX ((size_t)1 << 20)
/* Offsets in a TDX quote v4: header user_data, and TD report fields after the 48-byte header. */
#define QUOTE_USER_DATA 28
#define QUOTE_MRTD (48 + 136)

static teeliza_err append_str(teeliza_buf *out, const char *s)
{
	return simsrv_json_string(out, s, strlen(s));
}

/*
 * The public point inside the PKCS#8 DER tee_hkdf_p256_pem encodes: 138
 * bytes ending in [1] { BIT STRING { 00 04 X Y } }, i.e. a1 44 03 42 00 04 ‖ X ‖ Y.
 */
static bool pkcs8_p256_public_key(const uint8_t **pub, const uint8_t *der, size_t len)
{
	static const uint8_t tail_head[] = {0xa1, 0x44, 0x03, 0x42, 0x00, 0x04};

	if (len != 138 || memcmp(der + len - 65 - 5, tail_head, sizeof(tail_head)) != 0)
		return false;
	*pub = der + len - 65;
	return true;
}

teeliza_err simsrv_derive_key(teeliza_buf *out, const simsrv_state *st, const json_t *args)
{
	const char *path, *subject, **alt = NULL;
	size_t n_alt = 0, i;
	bool usage, random_seed = false;
	uint8_t ikm[32];
	const uint8_t *pub = NULL;
	teeliza_buf key, leaf, der;
	teeliza_err err;

	teeliza_buf_init(&key, 0);
	teeliza_buf_init(&leaf, 0);
	teeliza_buf_init(&der, 0);
	err = simsrv_arg_string(&path, args, "path");
	if (err == TEELIZA_OK)
		err = simsrv_arg_string(&subject, args, "subject");
	if (err == TEELIZA_OK)
		err = simsrv_arg_strings(&alt, &n_alt, args, "alt_names");
	/* accepted for compatibility with tappd ≥ 2025-01; a simulator has no RA-TLS or key usages to apply */
	if (err == TEELIZA_OK)
		err = simsrv_arg_bool(&usage, args, "usage_ra_tls");
	if (err == TEELIZA_OK)
		err = simsrv_arg_bool(&usage, args, "usage_server_auth");
	if (err == TEELIZA_OK)
		err = simsrv_arg_bool(&usage, args, "usage_client_auth");
	if (err == TEELIZA_OK)
		err = simsrv_arg_bool(&random_seed, args, "random_seed");
	for (i = 0; err == TEELIZA_OK && i < n_alt; i++)
		if (!simsrv_dns_name_valid(alt[i]))
			err = teeliza_set_error(TEELIZA_ERR_INVALID, "invalid DNS name in alt_names[%zu]: \"%.80s\"", i,
			                        alt[i]);
	if (err)
		goto out;
	if (random_seed) {
		if (RAND_bytes(ikm, sizeof(ikm)) != 1) {
			err = teeliza_set_error(TEELIZA_ERR_CRYPTO, "Failed to generate secure seed");
			goto out;
		}
	} else {
		memcpy(ikm, st->ca.scalar, sizeof(ikm));
	}
	err = tee_hkdf_p256_pem(&key, ikm, path, strlen(path));
	if (err == TEELIZA_OK)
		err = tee_pem_to_der(&der, (const char *)key.data, key.len);
	if (err == TEELIZA_OK && !pkcs8_p256_public_key(&pub, der.data, der.len))
		err = teeliza_set_error(TEELIZA_ERR_INTERNAL, "derived key is not the expected 138-byte PKCS#8 DER");
	if (err == TEELIZA_OK)
		err = simsrv_ca_issue(&leaf, &st->ca, pub, subject, alt, n_alt);
	if (err)
		goto out;
	out->secret = true;
	err = teeliza_buf_append_str(out, "{\"key\":");
	if (err == TEELIZA_OK)
		err = simsrv_json_string(out, (const char *)key.data, key.len);
	if (err == TEELIZA_OK)
		err = teeliza_buf_append_str(out, ",\"certificate_chain\":[");
	if (err == TEELIZA_OK)
		err = simsrv_json_string(out, (const char *)leaf.data, leaf.len);
	if (err == TEELIZA_OK)
		err = teeliza_buf_append_str(out, ",");
	if (err == TEELIZA_OK)
		err = append_str(out, st->ca.cert_pem);
	if (err == TEELIZA_OK)
		err = teeliza_buf_append_str(out, "]}");
out:
	TEELIZA_WIPE_BUFFER(ikm);
	teeliza_buf_free(&key);
	teeliza_buf_free(&der);
	teeliza_buf_free(&leaf);
	free(alt);
	return err;
}

teeliza_err simsrv_tdx_quote(teeliza_buf *out, simsrv_state *st, const json_t *args, bool raw_only)
{
	const char *alg = "raw", *prefix = "", *echo_prefix;
	uint8_t report_data[64];
	teeliza_buf content, quote;
	simsrv_view *v = simsrv_view_get(st);
	teeliza_err err;

	teeliza_buf_init(&quote, 0);
	err = simsrv_arg_bytes(&content, args, "report_data", REPORT_DATA_MAX);
	if (err == TEELIZA_OK && !raw_only)
		err = simsrv_arg_string(&alg, args, "hash_algorithm");
	if (err == TEELIZA_OK && !raw_only)
		err = simsrv_arg_string(&prefix, args, "prefix");
	if (err == TEELIZA_OK)
		err = tee_report_data(report_data, alg, prefix, content.data, content.len);
	if (err == TEELIZA_OK)
		err = tee_sim_quote(&quote, st->pki, report_data, (const uint8_t(*)[48])v->rtmr);
	if (err)
		goto out;
	if (alg[0] == 0)
		alg = "sha512";
	/* the prefix actually hashed in (tappd D0116 always echoes "app-data", a bug we do not copy) */
	echo_prefix = strcmp(alg, "raw") == 0 ? "" : prefix[0] != 0 ? prefix : "app-data";
	err = teeliza_buf_append_str(out, "{\"quote\":");
	if (err == TEELIZA_OK)
		err = simsrv_json_hex(out, quote.data, quote.len, true);
	if (err == TEELIZA_OK)
		err = teeliza_buf_append_str(out, ",\"event_log\":");
	if (err == TEELIZA_OK)
		err = teeliza_buf_append(out, v->full_log_literal.data, v->full_log_literal.len);
	if (err == TEELIZA_OK)
		err = teeliza_buf_append_str(out, ",\"hash_algorithm\":");
	if (err == TEELIZA_OK)
		err = append_str(out, alg);
	if (err == TEELIZA_OK)
		err = teeliza_buf_append_str(out, ",\"prefix\":");
	if (err == TEELIZA_OK)
		err = append_str(out, echo_prefix);
	if (err == TEELIZA_OK)
		err = teeliza_buf_append_str(out, "}");
out:
	simsrv_view_put(v);
	teeliza_buf_free(&content);
	teeliza_buf_free(&quote);
	return err;
}

teeliza_err simsrv_derive_k256_key(teeliza_buf *out, const simsrv_state *st, const json_t *args)
{
	const char *path, *purpose, *alg_name;
	size_t path_len, purpose_len, alg_len;
	tee_dstack_alg alg;
	tee_dstack_key key;
	teeliza_err err;

	err = simsrv_arg_string_len(&path, &path_len, args, "path");
	if (!err)
		err = simsrv_arg_string_len(&purpose, &purpose_len, args, "purpose");
	if (!err)
		err = simsrv_arg_string_len(&alg_name, &alg_len, args, "algorithm");
	if (!err)
		err = tee_dstack_key_alg_parse(&alg, alg_name, alg_len);
	if (!err)
		err = simsrv_kms_get_key(&key, &st->kms, alg, path, path_len, purpose, purpose_len);
	if (err)
		return err;
	/* dstack 0.5's field names; its hex has no "0x", and no tappd-era client knows this method */
	out->secret = true;
	err = teeliza_buf_append_str(out, "{\"k256_key\":");
	if (!err)
		err = simsrv_json_hex(out, key.key, sizeof(key.key), false);
	if (!err)
		err = teeliza_buf_append_str(out, ",\"k256_signature_chain\":[");
	if (!err)
		err = simsrv_json_hex(out, key.chain[0], TEE_DSTACK_CHAIN_SIG_LEN, false);
	if (!err)
		err = teeliza_buf_append_str(out, ",");
	if (!err)
		err = simsrv_json_hex(out, key.chain[1], key.kms_signature_len, false);
	if (!err)
		err = teeliza_buf_append_str(out, "]}");
	teeliza_wipe(&key, sizeof(key));
	return err;
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

teeliza_err simsrv_prepare_static(simsrv_state *st)
{
	teeliza_err err;

	teeliza_buf_init(&st->version_json, 4096);
	teeliza_buf_init(&st->dstack_version_json, 4096);
	err = teeliza_buf_append_str(&st->version_json, "{\"version\":\"" SIMSRV_VERSION "\",\"rev\":\"" SIMSRV_REV "\"}");
	if (err == TEELIZA_OK)
		err = teeliza_buf_append_str(&st->dstack_version_json,
		                             "{\"version\":\"" SIMSRV_DSTACK_VERSION "\",\"rev\":\"" SIMSRV_DSTACK_REV "\"}");
	return err;
}
