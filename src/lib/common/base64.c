/*
 * Standard base64 (RFC 4648 alphabet, '=' padding). Decoding follows the
 * WHATWG "forgiving-base64 decode" that the JS SDK's atob() uses: ASCII
 * whitespace is skipped, padding may be omitted, '=' is only allowed as the
 * last one or two characters of a multiple-of-4 text.
 */
#include "teeliza/common/encoding.h"

#include <assert.h>

static const char alphabet[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";

static int sextet(char ch)
{
	if (ch >= 'A' && ch <= 'Z')
		return ch - 'A';
	if (ch >= 'a' && ch <= 'z')
		return ch - 'a' + 26;
	if (ch >= '0' && ch <= '9')
		return ch - '0' + 52;
	if (ch == '+')
		return 62;
	if (ch == '/')
		return 63;
	return -1;
}

/* The WHATWG set: TAB, LF, FF, CR, SPACE. */
static bool is_ascii_whitespace(char ch)
{
	return ch == '\t' || ch == '\n' || ch == '\f' || ch == '\r' || ch == ' ';
}

teeliza_err teeliza_base64_encode_buf(teeliza_buf *out, const uint8_t *in, size_t in_len)
{
	size_t start, i;
	char quad[4];
	teeliza_err err;

	assert(out != NULL && (in != NULL || in_len == 0));
	start = out->len;
	for (i = 0; i < in_len; i += 3) {
		uint32_t v = (uint32_t)in[i] << 16;
		size_t left = in_len - i;

		if (left > 1)
			v |= (uint32_t)in[i + 1] << 8;
		if (left > 2)
			v |= in[i + 2];
		quad[0] = alphabet[v >> 18];
		quad[1] = alphabet[(v >> 12) & 63];
		quad[2] = left > 1 ? alphabet[(v >> 6) & 63] : '=';
		quad[3] = left > 2 ? alphabet[v & 63] : '=';
		err = teeliza_buf_append(out, quad, 4);
		if (err)
			goto fail;
	}
	/* also NUL-terminates an empty result */
	err = teeliza_buf_append(out, "", 0);
	if (err)
		goto fail;
	return TEELIZA_OK;
fail:
	out->len = start;
	if (out->data)
		out->data[start] = 0;
	return err;
}

teeliza_err teeliza_base64_decode_buf(teeliza_buf *out, const char *in, size_t in_len)
{
	size_t start, i, chars = 0, pads = 0, k = 0;
	uint32_t acc = 0;
	unsigned bits = 0;
	uint8_t chunk[384];
	teeliza_err err;

	assert(out != NULL && (in != NULL || in_len == 0));
	start = out->len;
	/* first pass: validate, and count data characters and trailing '='s */
	for (i = 0; i < in_len; i++) {
		if (is_ascii_whitespace(in[i]))
			continue;
		if (in[i] == '=') {
			pads++;
			continue;
		}
		if (sextet(in[i]) < 0 || pads > 0)
			return teeliza_set_error(TEELIZA_ERR_INVALID, "invalid base64 character at position %zu", i);
		chars++;
	}
	if (pads > 0 && (pads > 2 || (chars + pads) % 4 != 0))
		return teeliza_set_error(TEELIZA_ERR_INVALID, "misplaced base64 padding");
	if (chars % 4 == 1)
		return teeliza_set_error(TEELIZA_ERR_INVALID, "truncated base64 text (%zu characters)", chars);

	/* second pass: decode; leftover bits of a partial group are dropped, as atob() does */
	for (i = 0; i < in_len; i++) {
		int v = sextet(in[i]);

		if (v < 0)
			continue;
		acc = (acc << 6) | (uint32_t)v;
		bits += 6;
		if (bits >= 8) {
			bits -= 8;
			chunk[k++] = (uint8_t)(acc >> bits);
			acc &= (1u << bits) - 1;
		}
		if (k == sizeof(chunk)) {
			err = teeliza_buf_append(out, chunk, k);
			if (err)
				goto fail;
			k = 0;
		}
	}
	err = teeliza_buf_append(out, chunk, k);
	if (err)
		goto fail;
	teeliza_wipe(chunk, sizeof(chunk));
	return TEELIZA_OK;
fail:
	teeliza_wipe(chunk, sizeof(chunk));
	if (out->data) {
		teeliza_wipe(out->data + start, out->len - start);
		out->len = start;
		out->data[start] = 0;
	}
	return err;
}
