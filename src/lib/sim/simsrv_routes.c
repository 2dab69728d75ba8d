/*
 * The simulator's tappd pRPC methods: DeriveKey, TdxQuote / RawQuote,
 * DeriveK256Key, and the Version answers (Info: simsrv_tappd_info.c). Response field order is
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
	tee_dstack_key key;
	teeliza_err err;

	err = simsrv_kms_get_key_args(&key, &st->kms, args);
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
