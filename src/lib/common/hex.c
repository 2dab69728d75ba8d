/* Hex encoding and strict decoding. */
#include "teeliza/common/encoding.h"

#include <assert.h>

static const char digits[] = "0123456789abcdef";

void teeliza_hex_encode(char *out, const uint8_t *in, size_t in_len)
{
	size_t i;

	assert(out != NULL && (in != NULL || in_len == 0));
	for (i = 0; i < in_len; i++) {
		out[2 * i] = digits[in[i] >> 4];
		out[2 * i + 1] = digits[in[i] & 15];
	}
	out[2 * in_len] = '\0';
}

teeliza_err teeliza_hex_append(teeliza_buf *out, const uint8_t *in, size_t in_len)
{
	teeliza_err err;

	if (in_len > SIZE_MAX / 2 - 1)
		return teeliza_set_error(TEELIZA_ERR_TOO_LARGE, "value too large to hex-encode");
	err = teeliza_buf_reserve(out, 2 * in_len);
	if (err)
		return err;
	teeliza_hex_encode((char *)out->data + out->len, in, in_len);
	out->len += 2 * in_len;
	return TEELIZA_OK;
}

int teeliza_hex_nibble(char c)
{
	if (c >= '0' && c <= '9')
		return c - '0';
	if (c >= 'a' && c <= 'f')
		return c - 'a' + 10;
	if (c >= 'A' && c <= 'F')
		return c - 'A' + 10;
	return -1;
}

static teeliza_err hex_check(const char **in, size_t *in_len, bool allow_0x)
{
	size_t i;

	if (allow_0x && *in_len >= 2 && (*in)[0] == '0' && ((*in)[1] == 'x' || (*in)[1] == 'X')) {
		*in += 2;
		*in_len -= 2;
	}
	if (*in_len % 2 != 0)
		return teeliza_set_error(TEELIZA_ERR_INVALID, "odd-length hex string (%zu digits)", *in_len);
	for (i = 0; i < *in_len; i++)
		if (teeliza_hex_nibble((*in)[i]) < 0)
			return teeliza_set_error(TEELIZA_ERR_INVALID, "invalid hex digit at position %zu", i);
	return TEELIZA_OK;
}

teeliza_err teeliza_hex_decode(uint8_t *out, size_t out_cap, size_t *out_len,
                               const char *in, size_t in_len, bool allow_0x)
{
	size_t i, n;
	teeliza_err err;

	assert(out_len != NULL && (in != NULL || in_len == 0));
	*out_len = 0;
	err = hex_check(&in, &in_len, allow_0x);
	if (err)
		return err;
	n = in_len / 2;
	if (n > out_cap)
		return teeliza_set_error(TEELIZA_ERR_TOO_LARGE, "hex value is %zu bytes, at most %zu allowed", n, out_cap);
	for (i = 0; i < n; i++)
		out[i] = (uint8_t)(teeliza_hex_nibble(in[2 * i]) << 4 | teeliza_hex_nibble(in[2 * i + 1]));
	*out_len = n;
	return TEELIZA_OK;
}

teeliza_err teeliza_hex_decode_buf(teeliza_buf *out, const char *in, size_t in_len, bool allow_0x)
{
	uint8_t chunk[512];
	size_t i, n, k = 0;
	teeliza_err err;

	err = hex_check(&in, &in_len, allow_0x);
	if (err)
		return err;
	n = in_len / 2;
	for (i = 0; i < n; i++) {
		chunk[k++] = (uint8_t)(teeliza_hex_nibble(in[2 * i]) << 4 | teeliza_hex_nibble(in[2 * i + 1]));
		if (k == sizeof(chunk) || i + 1 == n) {
			err = teeliza_buf_append(out, chunk, k);
			if (err)
				return err;
			k = 0;
		}
	}
	if (n == 0)
		return teeliza_buf_append(out, "", 0);
	return TEELIZA_OK;
}
