/*
 * PEM → DER the way the dstack JS SDK's DeriveKeyResponse.asUint8Array()
 * does it, so that hashing our DER gives the plugin's wallets byte for byte.
 * Where the SDK would hash garbage (another label, truncated or padded DER)
 * we refuse instead: no valid tappd key is affected.
 */
#include "teeliza/tee/derive.h"
#include "teeliza/common/encoding.h"

#include <assert.h>
#include <stdio.h>
#include <string.h>

#define PEM_MAX (64 * 1024)

static const char begin_marker[] = "-----BEGIN PRIVATE KEY-----";
static const char end_marker[] = "-----END PRIVATE KEY-----";

/* String.prototype.replace(marker, ""): only the first occurrence goes. */
static void remove_first(teeliza_buf *text, const char *marker, size_t marker_len)
{
	uint8_t *hit = memmem(text->data, text->len, marker, marker_len);
	size_t tail;

	if (hit == NULL)
		return;
	tail = text->len - (size_t)(hit - text->data) - marker_len;
	memmove(hit, hit + marker_len, tail);
	text->len -= marker_len;
	teeliza_wipe(text->data + text->len, marker_len);
}

/* After the markers are gone any "-----" means a block we do not take. */
static teeliza_err reject_other_labels(const teeliza_buf *text)
{
	static const char other_begin[] = "-----BEGIN ";
	const uint8_t *label, *label_end;
	size_t rest;

	label = memmem(text->data, text->len, other_begin, sizeof(other_begin) - 1);
	if (label != NULL) {
		label += sizeof(other_begin) - 1;
		rest = text->len - (size_t)(label - text->data);
		label_end = memmem(label, rest, "-----", 5);
		if (label_end != NULL && label_end - label <= 64)
			return teeliza_set_error(TEELIZA_ERR_PARSE,
			                         "invalid PEM: expected a \"PRIVATE KEY\" block, found \"%.*s\"",
			                         (int)(label_end - label), (const char *)label);
		return teeliza_set_error(TEELIZA_ERR_PARSE, "invalid PEM: malformed -----BEGIN line");
	}
	if (memmem(text->data, text->len, "-----", 5) != NULL)
		return teeliza_set_error(TEELIZA_ERR_PARSE,
		                         "invalid PEM: unmatched or misspelt -----BEGIN/END PRIVATE KEY----- line");
	return TEELIZA_OK;
}

/* The decoded bytes must be exactly one definite-length SEQUENCE. */
static teeliza_err check_der_sequence(const uint8_t *der, size_t der_len)
{
	size_t i, n_len, body, header;

	if (der_len == 0)
		return teeliza_set_error(TEELIZA_ERR_PARSE, "invalid PEM: no key data");
	if (der[0] != 0x30)
		return teeliza_set_error(TEELIZA_ERR_PARSE,
		                         "invalid PEM: key data is not a DER SEQUENCE (first byte 0x%02x)", der[0]);
	if (der_len < 2)
		return teeliza_set_error(TEELIZA_ERR_PARSE, "invalid PEM: DER is truncated after 1 byte");
	if (der[1] < 0x80) {
		body = der[1];
		header = 2;
	} else {
		n_len = der[1] & 0x7fu;
		if (n_len == 0 || n_len > 4)
			return teeliza_set_error(TEELIZA_ERR_PARSE, "invalid PEM: bad DER length byte 0x%02x", der[1]);
		if (der_len < 2 + n_len)
			return teeliza_set_error(TEELIZA_ERR_PARSE, "invalid PEM: DER is truncated inside a length");
		body = 0;
		for (i = 0; i < n_len; i++)
			body = body << 8 | der[2 + i];
		header = 2 + n_len;
	}
	if (body > der_len - header)
		return teeliza_set_error(TEELIZA_ERR_PARSE,
		                         "invalid PEM: DER is truncated: the key declares %zu bytes, %zu are present",
		                         header + body, der_len);
	if (body < der_len - header)
		return teeliza_set_error(TEELIZA_ERR_PARSE,
		                         "invalid PEM: %zu bytes of trailing data after the DER key",
		                         der_len - header - body);
	return TEELIZA_OK;
}

teeliza_err tee_pem_to_der(teeliza_buf *der, const char *pem, size_t pem_len)
{
	teeliza_buf text;
	char detail[256];
	teeliza_err err;

	assert(der != NULL && (pem != NULL || pem_len == 0));
	teeliza_buf_init(der, PEM_MAX);
	der->secret = true;
	if (pem_len > PEM_MAX)
		return teeliza_set_error(TEELIZA_ERR_TOO_LARGE, "invalid PEM: %zu bytes, at most %d allowed",
		                         pem_len, PEM_MAX);

	teeliza_buf_init(&text, PEM_MAX);
	text.secret = true;
	err = teeliza_buf_append(&text, pem, pem_len);
	if (err)
		goto out;
	remove_first(&text, begin_marker, sizeof(begin_marker) - 1);
	remove_first(&text, end_marker, sizeof(end_marker) - 1);
	err = reject_other_labels(&text);
	if (err)
		goto out;
	/* The SDK drops '\n' and atob skips the other ASCII whitespace; the decoder skips all of it. */
	err = teeliza_base64_decode_buf(der, (const char *)text.data, text.len);
	if (err) {
		snprintf(detail, sizeof(detail), "%s", teeliza_errmsg());
		err = teeliza_set_error(TEELIZA_ERR_PARSE, "invalid PEM: bad base64 (%s)", detail);
		goto out;
	}
	err = check_der_sequence(der->data, der->len);
out:
	teeliza_buf_free(&text);
	if (err)
		teeliza_buf_free(der);
	return err;
}

void tee_as_uint8array(uint8_t *out, size_t out_len, const uint8_t *der, size_t der_len)
{
	size_t n = der_len < out_len ? der_len : out_len;

	assert((out != NULL || out_len == 0) && (der != NULL || der_len == 0));
	if (n > 0)
		memcpy(out, der, n);
	if (out_len > n)
		memset(out + n, 0, out_len - n);
}
