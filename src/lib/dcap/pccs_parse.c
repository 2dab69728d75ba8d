/*
 * Reading what a PCCS or Intel PCS (API v4) answers: the URL-encoded PEM of
 * the issuer-chain headers, the signed tcbInfo / enclaveIdentity bodies
 * (whose inner object is cut out byte for byte, since the signature covers
 * those exact bytes and re-serializing would break it) and CRLs in the
 * encodings servers use. Everything here reads hostile bytes: each length
 * is checked against what is left, and every output has been parsed again
 * by the strict parsers of the verifier.
 */
#include "dcap/pccs_internal.h"
#include "dcap/verify_internal.h"

#include <ctype.h>
#include <openssl/pem.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "teeliza/common/encoding.h"

teeliza_err pccs_header_pem(teeliza_buf *out, const uint8_t *value, size_t len, const char *what)
{
	STACK_OF(X509) *chain = NULL;
	teeliza_err err;
	size_t i;

	teeliza_buf_init(out, PCCS_MAX_HEADER);
	if (len == 0)
		return teeliza_set_error(TEELIZA_ERR_PROTOCOL, "PCCS: the %s response has no issuer chain header", what);
	for (i = 0; i < len; i++) {
		uint8_t b = value[i];

		if (b == '%') {
			int hi = len - i > 2 ? teeliza_hex_nibble((char)value[i + 1]) : -1;
			int lo = len - i > 2 ? teeliza_hex_nibble((char)value[i + 2]) : -1;

			if (hi < 0 || lo < 0)
				return teeliza_set_error(TEELIZA_ERR_PROTOCOL,
				                         "PCCS: the %s issuer chain header has a bad %%-escape at byte %zu", what, i);
			b = (uint8_t)(hi << 4 | lo);
			i += 2;
		}
		/* PEM is printable ASCII and line breaks; anything else (a NUL above all) is not a chain. */
		if (!(b == '\n' || b == '\r' || b == '\t' || (b >= 0x20 && b < 0x7f)))
			return teeliza_set_error(TEELIZA_ERR_PROTOCOL,
			                         "PCCS: the %s issuer chain header decodes to a byte that is not PEM (0x%02x)",
			                         what, b);
		if (teeliza_buf_append(out, &b, 1) != TEELIZA_OK)
			return teeliza_set_error(TEELIZA_ERR_TOO_LARGE, "PCCS: the %s issuer chain header is too large", what);
	}
	err = dcap_pem_chain(&chain, (const char *)out->data, out->len, what);
	sk_X509_pop_free(chain, X509_free);
	if (err) {
		char detail[300];

		snprintf(detail, sizeof(detail), "%s", teeliza_errmsg());
		return teeliza_set_error(TEELIZA_ERR_PROTOCOL, "PCCS: the %s issuer chain header is not a PEM chain: %s",
		                         what, detail);
	}
	return TEELIZA_OK;
}

/* After a JSON string starting at s[i] == '"': the index just past its closing quote, or len. */
static size_t skip_string(const char *s, size_t len, size_t i)
{
	for (i++; i < len; i++) {
		if (s[i] == '\\') {
			if (++i >= len)
				return len;
		} else if (s[i] == '"') {
			return i + 1;
		}
	}
	return len;
}

/* After the JSON value starting at s[i]: the index just past it (a scalar ends at , } ] or a blank). */
static size_t skip_value(const char *s, size_t len, size_t i)
{
	size_t depth = 0;

	while (i < len) {
		char c = s[i];

		if (c == '"') {
			i = skip_string(s, len, i);
			if (depth == 0)
				return i;
			continue;
		}
		if (c == '{' || c == '[') {
			depth++;
		} else if (c == '}' || c == ']') {
			if (depth == 0)
				return i;
			if (--depth == 0)
				return i + 1;
		} else if (depth == 0 && (c == ',' || isspace((unsigned char)c))) {
			return i;
		}
		i++;
	}
	return len;
}

static size_t skip_ws(const char *s, size_t len, size_t i)
{
	while (i < len && isspace((unsigned char)s[i]))
		i++;
	return i;
}

teeliza_err pccs_raw_member(const char **val, size_t *val_len, const char *s, size_t len, const char *key)
{
	size_t i, klen = strlen(key);

	i = skip_ws(s, len, 0);
	if (i >= len || s[i] != '{')
		return teeliza_set_error(TEELIZA_ERR_PROTOCOL, "PCCS: the response is not a JSON object");
	i++;
	for (;;) {
		size_t kstart, kend, vstart;

		i = skip_ws(s, len, i);
		if (i >= len || s[i] != '"')
			break;
		kstart = i + 1;
		i = skip_string(s, len, i);
		if (i >= len || i - 1 < kstart)
			break;
		kend = i - 1;
		i = skip_ws(s, len, i);
		if (i >= len || s[i] != ':')
			break;
		i = skip_ws(s, len, i + 1);
		vstart = i;
		i = skip_value(s, len, i);
		if (kend - kstart == klen && memcmp(s + kstart, key, klen) == 0 && i > vstart) {
			*val = s + vstart;
			*val_len = i - vstart;
			return TEELIZA_OK;
		}
		i = skip_ws(s, len, i);
		if (i >= len || s[i] != ',')
			break;
		i++;
	}
	return teeliza_set_error(TEELIZA_ERR_PROTOCOL, "PCCS: the response has no \"%s\" member (written plainly)", key);
}

teeliza_err pccs_signed_body(json_t *out, const char *body, size_t len, const char *inner, const char *text_key,
                             const char *sig_key, const char *what)
{
	json_t *doc, *parsed;
	const char *raw = NULL, *sig;
	size_t raw_len = 0;
	teeliza_err err;

	err = dcap_json_load(&doc, body, len, what);
	if (err)
		return err;
	if (!json_is_object(json_object_get(doc, inner))) {
		json_decref(doc);
		return teeliza_set_error(TEELIZA_ERR_PROTOCOL, "PCCS: the %s response has no \"%s\" object", what, inner);
	}
	err = dcap_json_string(&sig, doc, "signature", what);
	if (!err)
		err = pccs_raw_member(&raw, &raw_len, body, len, inner);
	if (!err) {
		/* The cut must be the very object the parser saw, not a look-alike inside a string. */
		parsed = json_loadb(raw, raw_len, JSON_REJECT_DUPLICATES, NULL);
		if (parsed == NULL || !json_equal(parsed, json_object_get(doc, inner)))
			err = teeliza_set_error(TEELIZA_ERR_PROTOCOL, "PCCS: cannot cut the %s object out of the %s response",
			                        inner, what);
		json_decref(parsed);
	}
	if (!err && (json_object_set_new(out, text_key, json_stringn(raw, raw_len)) != 0 ||
	             json_object_set_new(out, sig_key, json_string(sig)) != 0))
		err = teeliza_set_error(TEELIZA_ERR_NOMEM, "out of memory");
	json_decref(doc);
	return err;
}

static bool is_hex_text(const uint8_t *p, size_t n)
{
	size_t i;

	for (i = 0; i < n; i++)
		if (!isxdigit(p[i]) && !isspace(p[i]))
			return false;
	return n > 0;
}

teeliza_err pccs_crl_hex(json_t *out, const char *key, const uint8_t *body, size_t n, const char *what)
{
	teeliza_buf der;
	X509_CRL *crl = NULL;
	char *hex;
	teeliza_err err = TEELIZA_OK;

	teeliza_buf_init(&der, PCCS_MAX_BODY);
	if (n > PCCS_MAX_BODY)
		return teeliza_set_error(TEELIZA_ERR_TOO_LARGE, "PCCS: the %s is too large", what);
	if (n > 20 && memcmp(body, "-----BEGIN", 10) == 0) {
		BIO *bio = BIO_new_mem_buf(body, (int)n);
		unsigned char *p = NULL;
		int len;

		crl = bio != NULL ? PEM_read_bio_X509_CRL(bio, NULL, NULL, NULL) : NULL;
		BIO_free(bio);
		len = crl != NULL ? i2d_X509_CRL(crl, &p) : -1;
		if (len <= 0 || teeliza_buf_append(&der, p, (size_t)len) != TEELIZA_OK)
			err = teeliza_set_error(TEELIZA_ERR_PROTOCOL, "PCCS: the %s is not a PEM CRL", what);
		OPENSSL_free(p);
		X509_CRL_free(crl);
		crl = NULL;
	} else if (is_hex_text(body, n)) {
		size_t start = 0, end = n;

		while (start < end && isspace(body[start]))
			start++;
		while (end > start && isspace(body[end - 1]))
			end--;
		if (teeliza_hex_decode_buf(&der, (const char *)body + start, end - start, false) != TEELIZA_OK)
			err = teeliza_set_error(TEELIZA_ERR_PROTOCOL, "PCCS: the %s is not hex", what);
	} else {
		err = teeliza_buf_append(&der, body, n);
	}
	if (!err) {
		err = dcap_der_crl(&crl, der.data, der.len, what);
		X509_CRL_free(crl);
		if (err) {
			char detail[300];

			snprintf(detail, sizeof(detail), "%s", teeliza_errmsg());
			err = teeliza_set_error(TEELIZA_ERR_PROTOCOL, "PCCS: %s", detail);
		}
	}
	if (!err) {
		hex = malloc(2 * der.len + 1);
		if (hex == NULL) {
			err = teeliza_set_error(TEELIZA_ERR_NOMEM, "out of memory");
		} else {
			teeliza_hex_encode(hex, der.data, der.len);
			if (json_object_set_new(out, key, json_string(hex)) != 0)
				err = teeliza_set_error(TEELIZA_ERR_NOMEM, "out of memory");
			free(hex);
		}
	}
	teeliza_buf_free(&der);
	return err;
}

void pccs_base_of(char *out, size_t cap, const char *url)
{
	static const char *const suffixes[] = {"/sgx/certification/v4", "/tdx/certification/v4"};
	size_t n = strlen(url), i, sl;

	while (n > 0 && url[n - 1] == '/')
		n--;
	for (i = 0; i < 2; i++) {
		sl = strlen(suffixes[i]);
		if (n >= sl && memcmp(url + n - sl, suffixes[i], sl) == 0)
			n -= sl;
	}
	while (n > 0 && url[n - 1] == '/')
		n--;
	snprintf(out, cap, "%.*s", (int)n, url);
}
