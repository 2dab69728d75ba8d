/*
 * The DstackGuest methods (dstack v0.5.11 guest-agent rpc_service.rs) and
 * the Worker's GetAttestationForAppKey. Answers are compact JSON in
 * protobuf field order with bytes as lowercase hex without "0x"; error
 * texts are the agent's where the SDK shows them ("Unsupported algorithm",
 * "Report data is too long", ...).
 */
#include "sim/simsrv.h"

#include "teeliza/common/encoding.h"

#include <stdlib.h>
#include <string.h>

#define BYTES_MAX ((size_t)1 << 20) /* no bytes field can be longer than a request body */

static teeliza_err append_hex_list(teeliza_buf *out, const uint8_t *const *items, const size_t *lens, size_t n)
{
	size_t i;
	teeliza_err err = teeliza_buf_append_str(out, "[");

	for (i = 0; !err && i < n; i++) {
		if (i > 0)
			err = teeliza_buf_append_str(out, ",");
		if (!err)
			err = simsrv_json_hex(out, items[i], lens[i], false);
	}
	return err ? err : teeliza_buf_append_str(out, "]");
}

/* ---- GetKey ---- */

teeliza_err simsrv_dstack_get_key(teeliza_buf *out, simsrv_state *st, const json_t *args)
{
	tee_dstack_key key;
	teeliza_err err;

	err = simsrv_kms_get_key_args(&key, &st->kms, args);
	if (err)
		return err;
	out->secret = true;
	err = teeliza_buf_append_str(out, "{\"key\":");
	if (!err)
		err = simsrv_json_hex(out, key.key, sizeof(key.key), false);
	if (!err)
		err = teeliza_buf_append_str(out, ",\"signature_chain\":");
	if (!err) {
		const uint8_t *items[] = {key.chain[0], key.chain[1]};
		const size_t lens[] = {TEE_DSTACK_CHAIN_SIG_LEN, key.kms_signature_len};

		err = append_hex_list(out, items, lens, 2);
	}
	if (!err)
		err = teeliza_buf_append_str(out, "}");
	teeliza_wipe(&key, sizeof(key));
	return err;
}

/* ---- GetQuote, Attest ---- */

/* dstack's pad64: at most 64 bytes, zero-padded on the right; no prefix, no hashing. */
static teeliza_err report_data_arg(uint8_t report_data[64], const json_t *args)
{
	teeliza_buf rd;
	teeliza_err err = simsrv_arg_bytes(&rd, args, "report_data", BYTES_MAX);

	if (!err && rd.len > 64)
		err = teeliza_set_error(TEELIZA_ERR_INVALID, "Report data is too long");
	if (!err) {
		memset(report_data, 0, 64);
		if (rd.len > 0)
			memcpy(report_data, rd.data, rd.len);
	}
	teeliza_buf_free(&rd);
	return err;
}

teeliza_err simsrv_dstack_quote_response(teeliza_buf *out, const simsrv_state *st, const simsrv_view *v,
                                         const uint8_t report_data[64])
{
	teeliza_buf quote;
	teeliza_err err;

	err = tee_sim_quote(&quote, st->pki, report_data, (const uint8_t(*)[48])v->rtmr);
	if (err)
		return err;
	err = teeliza_buf_append_str(out, "{\"quote\":");
	if (!err)
		err = simsrv_json_hex(out, quote.data, quote.len, false);
	if (!err)
		err = teeliza_buf_append_str(out, ",\"event_log\":");
	if (!err)
		err = teeliza_buf_append(out, v->stripped_log_literal.data, v->stripped_log_literal.len);
	if (!err)
		err = teeliza_buf_append_str(out, ",\"report_data\":");
	if (!err)
		err = simsrv_json_hex(out, report_data, 64, false);
	if (!err)
		err = teeliza_buf_append_str(out, ",\"vm_config\":");
	if (!err)
		err = simsrv_json_string(out, st->app.vm_config, strlen(st->app.vm_config));
	if (!err)
		err = teeliza_buf_append_str(out, "}");
	teeliza_buf_free(&quote);
	return err;
}

teeliza_err simsrv_dstack_get_quote(teeliza_buf *out, simsrv_state *st, const json_t *args)
{
	uint8_t report_data[64];
	simsrv_view *v;
	teeliza_err err = report_data_arg(report_data, args);

	if (err)
		return err;
	v = simsrv_view_get(st);
	err = simsrv_dstack_quote_response(out, st, v, report_data);
	simsrv_view_put(v);
	return err;
}

teeliza_err simsrv_dstack_attest(teeliza_buf *out, simsrv_state *st, const json_t *args)
{
	uint8_t report_data[64];
	teeliza_buf quote, blob;
	simsrv_view *v;
	teeliza_err err = report_data_arg(report_data, args);

	if (err)
		return err;
	teeliza_buf_init(&blob, 0);
	v = simsrv_view_get(st);
	err = tee_sim_quote(&quote, st->pki, report_data, (const uint8_t(*)[48])v->rtmr);
	if (!err)
		err = simsrv_attestation_v0(&blob, quote.data, quote.len, &v->log, report_data, st->app.vm_config);
	if (!err)
		err = teeliza_buf_append_str(out, "{\"attestation\":");
	if (!err)
		err = simsrv_json_hex(out, blob.data, blob.len, false);
	if (!err)
		err = teeliza_buf_append_str(out, "}");
	simsrv_view_put(v);
	teeliza_buf_free(&quote);
	teeliza_buf_free(&blob);
	return err;
}

/* ---- EmitEvent ---- */

teeliza_err simsrv_dstack_emit_event(teeliza_buf *out, simsrv_state *st, const json_t *args)
{
	const char *event;
	size_t event_len;
	teeliza_buf payload;
	teeliza_err err;

	teeliza_buf_init(&payload, 0);
	err = simsrv_arg_string_len(&event, &event_len, args, "event");
	if (!err && st->refuse_emit)
		/* dstack's own simulator, word for word */
		return teeliza_set_error(TEELIZA_ERR_UNSUPPORTED,
		                         "runtime event emission is unavailable in simulator mode: %.200s", event);
	if (!err)
		err = simsrv_arg_bytes(&payload, args, "payload", BYTES_MAX);
	if (!err)
		err = simsrv_view_emit(st, event, event_len, payload.data, payload.len);
	if (!err)
		err = teeliza_buf_append_str(out, "null"); /* google.protobuf.Empty, as serde_json writes () */
	teeliza_buf_free(&payload);
	return err;
}

/* ---- Sign, Verify ---- */

teeliza_err simsrv_dstack_sign(teeliza_buf *out, simsrv_state *st, const json_t *args)
{
	const char *alg_name;
	size_t alg_len;
	tee_dstack_alg alg;
	tee_dstack_signature sig;
	teeliza_buf data;
	teeliza_err err;

	teeliza_buf_init(&data, 0);
	err = simsrv_arg_string_len(&alg_name, &alg_len, args, "algorithm");
	if (!err)
		err = tee_dstack_sign_alg_parse(&alg, alg_name, alg_len);
	if (!err)
		err = simsrv_arg_bytes(&data, args, "data", BYTES_MAX);
	if (!err)
		err = tee_dstack_sign(&sig, &st->kms.keys, alg, data.data, data.len);
	teeliza_buf_free(&data);
	if (err)
		return err;
	err = teeliza_buf_append_str(out, "{\"signature\":");
	if (!err)
		err = simsrv_json_hex(out, sig.signature, TEE_DSTACK_SIG_LEN, false);
	if (!err)
		err = teeliza_buf_append_str(out, ",\"signature_chain\":");
	if (!err) {
		const uint8_t *items[] = {sig.signature, sig.key_chain[0], sig.key_chain[1]};
		const size_t lens[] = {TEE_DSTACK_SIG_LEN, TEE_DSTACK_CHAIN_SIG_LEN, sig.kms_signature_len};

		err = append_hex_list(out, items, lens, 3);
	}
	if (!err)
		err = teeliza_buf_append_str(out, ",\"public_key\":");
	if (!err)
		err = simsrv_json_hex(out, sig.public_key, sig.public_key_len, false);
	if (!err)
		err = teeliza_buf_append_str(out, "}");
	return err;
}

teeliza_err simsrv_dstack_verify(teeliza_buf *out, simsrv_state *st, const json_t *args)
{
	const char *alg_name;
	size_t alg_len;
	tee_dstack_alg alg;
	teeliza_buf data, sig, pub;
	bool valid = false;
	teeliza_err err;

	(void)st;
	teeliza_buf_init(&data, 0);
	teeliza_buf_init(&sig, 0);
	teeliza_buf_init(&pub, 0);
	err = simsrv_arg_string_len(&alg_name, &alg_len, args, "algorithm");
	if (!err)
		err = tee_dstack_sign_alg_parse(&alg, alg_name, alg_len);
	if (!err)
		err = simsrv_arg_bytes(&data, args, "data", BYTES_MAX);
	if (!err)
		err = simsrv_arg_bytes(&sig, args, "signature", BYTES_MAX);
	if (!err)
		err = simsrv_arg_bytes(&pub, args, "public_key", BYTES_MAX);
	if (!err)
		err = tee_dstack_verify(&valid, alg, data.data, data.len, sig.data, sig.len, pub.data, pub.len);
	if (!err)
		err = teeliza_buf_append_str(out, valid ? "{\"valid\":true}" : "{\"valid\":false}");
	teeliza_buf_free(&data);
	teeliza_buf_free(&sig);
	teeliza_buf_free(&pub);
	return err;
}

/* ---- GetTlsKey ---- */

teeliza_err simsrv_dstack_get_tls_key(teeliza_buf *out, simsrv_state *st, const json_t *args)
{
	simsrv_tls_request req;
	const char **alt = NULL;
	bool with_app_info = false;
	teeliza_buf key, cert;
	simsrv_view *v;
	teeliza_err err;

	memset(&req, 0, sizeof(req));
	teeliza_buf_init(&key, 0);
	teeliza_buf_init(&cert, 0);
	err = simsrv_arg_string(&req.subject, args, "subject");
	if (!err)
		err = simsrv_arg_strings(&alt, &req.n_alt, args, "alt_names");
	if (!err)
		err = simsrv_arg_bool(&req.usage_ra_tls, args, "usage_ra_tls");
	if (!err)
		err = simsrv_arg_bool(&req.usage_server_auth, args, "usage_server_auth");
	if (!err)
		err = simsrv_arg_bool(&req.usage_client_auth, args, "usage_client_auth");
	if (!err)
		err = simsrv_arg_opt_u64(&req.not_before, &req.have_not_before, args, "not_before");
	if (!err)
		err = simsrv_arg_opt_u64(&req.not_after, &req.have_not_after, args, "not_after");
	if (!err)
		err = simsrv_arg_bool(&with_app_info, args, "with_app_info");
	if (!err && with_app_info)
		err = teeliza_set_error(TEELIZA_ERR_UNSUPPORTED,
		                        "with_app_info is not supported by this simulator (the app-info extension "
		                        "1.3.6.1.4.1.62397.1.9 is not issued)");
	if (err) {
		free(alt);
		return err;
	}
	req.alt_names = alt;
	v = simsrv_view_get(st);
	err = simsrv_tls_issue(&key, &cert, st, v, &req);
	simsrv_view_put(v);
	free(alt);
	if (!err) {
		out->secret = true;
		err = teeliza_buf_append_str(out, "{\"key\":");
	}
	if (!err)
		err = simsrv_json_string(out, (const char *)key.data, key.len);
	if (!err)
		err = teeliza_buf_append_str(out, ",\"certificate_chain\":[");
	if (!err)
		err = simsrv_json_string(out, (const char *)cert.data, cert.len);
	if (!err)
		err = teeliza_buf_append_str(out, ",");
	if (!err)
		err = simsrv_json_string(out, st->ca.cert_pem, strlen(st->ca.cert_pem));
	if (!err)
		err = teeliza_buf_append_str(out, "]}");
	teeliza_buf_free(&key);
	teeliza_buf_free(&cert);
	return err;
}

/* ---- Worker.GetAttestationForAppKey ---- */

/* base64url without padding, as Rust's URL_SAFE_NO_PAD. */
static teeliza_err base64url(char *out, size_t cap, const uint8_t *data, size_t len)
{
	teeliza_buf b;
	size_t i, n = 0;
	teeliza_err err;

	teeliza_buf_init(&b, 4 * len / 3 + 8);
	err = teeliza_base64_encode_buf(&b, data, len);
	for (i = 0; !err && i < b.len && b.data[i] != '='; i++) {
		if (n + 1 >= cap) {
			err = teeliza_set_error(TEELIZA_ERR_INTERNAL, "base64 of %zu bytes does not fit", len);
			break;
		}
		out[n++] = b.data[i] == '+' ? '-' : b.data[i] == '/' ? '_' : (char)b.data[i];
	}
	out[n] = 0;
	teeliza_buf_free(&b);
	return err;
}

teeliza_err simsrv_worker_attestation_for_app_key(teeliza_buf *out, simsrv_state *st, const json_t *args)
{
	const char *alg_name;
	size_t alg_len;
	tee_dstack_alg alg;
	tee_dstack_key key;
	uint8_t report_data[64];
	char b64[64], text[96];
	simsrv_view *v;
	int n;
	teeliza_err err;

	err = simsrv_arg_string_len(&alg_name, &alg_len, args, "algorithm");
	if (err)
		return err;
	/* the agent takes GetKey's algorithms, then only these three names */
	if (alg_len == strlen(alg_name) &&
	    (strcmp(alg_name, "secp256k1") == 0 || strcmp(alg_name, "k256") == 0))
		alg = TEE_DSTACK_ALG_SECP256K1;
	else if (alg_len == strlen(alg_name) && strcmp(alg_name, "ed25519") == 0)
		alg = TEE_DSTACK_ALG_ED25519;
	else
		return teeliza_set_error(TEELIZA_ERR_UNSUPPORTED, "Unsupported algorithm");
	err = simsrv_kms_get_key(&key, &st->kms, alg, "vms", 3, "signing", 7);
	if (!err)
		err = base64url(b64, sizeof(b64), key.public_key, key.public_key_len);
	teeliza_wipe(key.key, sizeof(key.key));
	if (err)
		return err;
	n = snprintf(text, sizeof(text), "dip1::%s:%s", alg == TEE_DSTACK_ALG_ED25519 ? "ed25519-pk" : "secp256k1c-pk",
	             b64);
	if (n < 0 || n > 64)
		return teeliza_set_error(TEELIZA_ERR_INTERNAL, "app key report data is %d bytes", n);
	memset(report_data, 0, sizeof(report_data));
	memcpy(report_data, text, (size_t)n);
	v = simsrv_view_get(st);
	err = simsrv_dstack_quote_response(out, st, v, report_data);
	simsrv_view_put(v);
	return err;
}
