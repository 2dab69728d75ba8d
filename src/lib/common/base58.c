/*
 * Base58 with the Bitcoin alphabet (Solana addresses). Plain quadratic base
 * conversion: inputs are keys and signatures, a few dozen bytes.
 */
#include "teeliza/common/encoding.h"

#include <assert.h>
#include <string.h>

static const char alphabet[] = "123456789ABCDEFGHJKLMNPQRSTUVWXYZabcdefghijkmnopqrstuvwxyz";

static int digit_value(char ch)
{
	const char *p;

	if (ch == '\0')
		return -1;
	p = strchr(alphabet, ch);
	return p ? (int)(p - alphabet) : -1;
}

teeliza_err teeliza_base58_encode(char *out, size_t out_cap, const uint8_t *in, size_t in_len)
{
	size_t zeros = 0, ndigits = 0, i, j;
	uint8_t *digits = (uint8_t *)out; /* base-58 digits, least significant first */

	assert(out != NULL && out_cap > 0 && (in != NULL || in_len == 0));
	memset(out, 0, out_cap);
	while (zeros < in_len && in[zeros] == 0)
		zeros++;
	if (zeros >= out_cap)
		goto too_small;
	for (i = zeros; i < in_len; i++) {
		unsigned carry = in[i];

		for (j = 0; j < ndigits; j++) {
			carry += (unsigned)digits[j] << 8;
			digits[j] = (uint8_t)(carry % 58);
			carry /= 58;
		}
		while (carry > 0) {
			/* room must remain for the leading '1's and the NUL */
			if (ndigits + zeros + 1 >= out_cap)
				goto too_small;
			digits[ndigits++] = (uint8_t)(carry % 58);
			carry /= 58;
		}
	}
	/* reverse into most-significant-first order after the leading '1's */
	for (i = 0; i < ndigits / 2; i++) {
		uint8_t t = digits[i];

		digits[i] = digits[ndigits - 1 - i];
		digits[ndigits - 1 - i] = t;
	}
	memmove(out + zeros, digits, ndigits);
	for (i = 0; i < zeros; i++)
		out[i] = '1';
	for (i = zeros; i < zeros + ndigits; i++)
		out[i] = alphabet[(uint8_t)out[i]];
	out[zeros + ndigits] = '\0';
	return TEELIZA_OK;

too_small:
	memset(out, 0, out_cap);
	return teeliza_set_error(TEELIZA_ERR_TOO_LARGE, "base58 text of %zu bytes does not fit in %zu characters",
	                         in_len, out_cap - 1);
}

teeliza_err teeliza_base58_decode(uint8_t *out, size_t out_cap, size_t *out_len,
                                  const char *in, size_t in_len)
{
	size_t zeros = 0, nbytes = 0, i, j;
	teeliza_err err;

	assert(out_len != NULL && (out != NULL || out_cap == 0) && (in != NULL || in_len == 0));
	*out_len = 0;
	if (out_cap > 0)
		memset(out, 0, out_cap);
	while (zeros < in_len && in[zeros] == '1')
		zeros++;
	if (zeros > out_cap)
		goto too_small;
	/* out[0..nbytes) holds the value after the leading zeros, least significant byte first */
	for (i = zeros; i < in_len; i++) {
		int v = digit_value(in[i]);
		unsigned carry;

		if (v < 0) {
			err = teeliza_set_error(TEELIZA_ERR_INVALID, "invalid base58 character at position %zu", i);
			goto fail;
		}
		carry = (unsigned)v;
		for (j = 0; j < nbytes; j++) {
			carry += (unsigned)out[j] * 58;
			out[j] = (uint8_t)carry;
			carry >>= 8;
		}
		while (carry > 0) {
			if (zeros + nbytes >= out_cap)
				goto too_small;
			out[nbytes++] = (uint8_t)carry;
			carry >>= 8;
		}
	}
	for (i = 0; i < nbytes / 2; i++) {
		uint8_t t = out[i];

		out[i] = out[nbytes - 1 - i];
		out[nbytes - 1 - i] = t;
	}
	memmove(out + zeros, out, nbytes);
	memset(out, 0, zeros);
	*out_len = zeros + nbytes;
	return TEELIZA_OK;

too_small:
	err = teeliza_set_error(TEELIZA_ERR_TOO_LARGE, "base58 value is longer than %zu bytes", out_cap);
fail:
	if (out_cap > 0)
		memset(out, 0, out_cap);
	return err;
}
