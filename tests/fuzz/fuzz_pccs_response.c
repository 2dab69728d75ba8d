/*
 * Fuzz the reading of what a PCCS answers (src/lib/dcap/pccs_parse.c). The
 * input is the server's bytes, read as each of three things:
 *
 * 1. An issuer-chain header value (URL-encoded PEM). Accepted text must be
 *    printable ASCII with line breaks, no longer than the input, and must
 *    come back the same when percent-encoded in full and decoded again.
 * 2. A signed body {"tcbInfo": {...}, "signature": "..."}. When accepted,
 *    the text cut out must lie inside the input and parse to exactly the
 *    object a strict JSON parser sees under "tcbInfo"; the signature must
 *    be the body's "signature" string. pccs_raw_member on any key of any
 *    object the strict parser accepts must cut inside the input, and what
 *    it cuts must parse to that key's value.
 * 3. A CRL body (DER, hex or PEM). When accepted, the hex must decode to a
 *    DER CRL the verifier's own CRL reader accepts.
 */
#include "fuzz.h"

#include "dcap/pccs_internal.h"
#include "dcap/verify_internal.h"
#include "teeliza/common/encoding.h"

#include <string.h>

static void header(const uint8_t *d, size_t n)
{
	teeliza_buf pem, enc, again;
	size_t i;

	if (pccs_header_pem(&pem, d, n, "fuzz") != TEELIZA_OK) {
		teeliza_buf_free(&pem);
		return;
	}
	FUZZ_CHECK(pem.len > 0 && pem.len <= n);
	for (i = 0; i < pem.len; i++)
		FUZZ_CHECK(pem.data[i] == '\n' || pem.data[i] == '\r' || pem.data[i] == '\t' ||
		           (pem.data[i] >= 0x20 && pem.data[i] < 0x7f));
	teeliza_buf_init(&enc, 4 * pem.len + 16);
	for (i = 0; i < pem.len; i++)
		FUZZ_CHECK(teeliza_buf_printf(&enc, "%%%02X", pem.data[i]) == TEELIZA_OK);
	FUZZ_CHECK(pccs_header_pem(&again, enc.data, enc.len, "fuzz") == TEELIZA_OK);
	FUZZ_CHECK(again.len == pem.len && memcmp(again.data, pem.data, pem.len) == 0);
	teeliza_buf_free(&again);
	teeliza_buf_free(&enc);
	teeliza_buf_free(&pem);
}

static void members(const char *s, size_t n)
{
	json_t *doc, *v, *cut;
	const char *key, *val;
	size_t len;

	if (dcap_json_load(&doc, s, n, "fuzz") != TEELIZA_OK)
		return;
	if (json_is_object(doc)) {
		json_object_foreach(doc, key, v) {
			if (pccs_raw_member(&val, &len, s, n, key) != TEELIZA_OK)
				continue; /* a key written with escapes is not found: that is allowed */
			FUZZ_CHECK(val >= s && len > 0 && len <= n && (size_t)(val - s) <= n - len);
			cut = json_loadb(val, len, JSON_DECODE_ANY, NULL);
			FUZZ_CHECK(cut != NULL && json_equal(cut, v));
			json_decref(cut);
		}
	}
	json_decref(doc);
}

static void signed_body(const uint8_t *d, size_t n)
{
	const char *s = (const char *)d;
	json_t *out = json_object(), *doc = NULL, *cut;
	const char *text;

	FUZZ_CHECK(out != NULL);
	if (pccs_signed_body(out, s, n, "tcbInfo", "tcb_info", "tcb_info_signature", "fuzz") == TEELIZA_OK) {
		text = json_string_value(json_object_get(out, "tcb_info"));
		FUZZ_CHECK(text != NULL && strlen(text) <= n);
		FUZZ_CHECK(dcap_json_load(&doc, s, n, "fuzz") == TEELIZA_OK);
		cut = json_loads(text, 0, NULL);
		FUZZ_CHECK(cut != NULL && json_equal(cut, json_object_get(doc, "tcbInfo")));
		FUZZ_CHECK(memmem(s, n, text, strlen(text)) != NULL);
		FUZZ_CHECK(json_equal(json_object_get(out, "tcb_info_signature"), json_object_get(doc, "signature")));
		json_decref(cut);
		json_decref(doc);
	}
	json_decref(out);
	members(s, n);
}

static void crl(const uint8_t *d, size_t n)
{
	json_t *out = json_object();
	teeliza_buf der;
	X509_CRL *c = NULL;
	const char *hex;

	FUZZ_CHECK(out != NULL);
	if (pccs_crl_hex(out, "crl", d, n, "fuzz") == TEELIZA_OK) {
		hex = json_string_value(json_object_get(out, "crl"));
		FUZZ_CHECK(hex != NULL);
		teeliza_buf_init(&der, strlen(hex) / 2 + 1);
		FUZZ_CHECK(teeliza_hex_decode_buf(&der, hex, strlen(hex), false) == TEELIZA_OK);
		FUZZ_CHECK(dcap_der_crl(&c, der.data, der.len, "fuzz") == TEELIZA_OK);
		X509_CRL_free(c);
		teeliza_buf_free(&der);
	}
	json_decref(out);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	if (size > ((size_t)256 << 10))
		return 0;
	header(data, size);
	signed_body(data, size);
	crl(data, size);
	return 0;
}
