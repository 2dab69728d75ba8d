/*
 * Text decoding for form bodies, as Node decodes them: UTF-8 with every
 * ill-formed subsequence replaced by one U+FFFD (the WHATWG "maximal
 * subpart" rule, Unicode 15 §3.9), and Latin-1 where each byte is a
 * character. The output is always valid UTF-8.
 */
#include "teeliza/http/form.h"

static const uint8_t replacement[3] = { 0xef, 0xbf, 0xbd };

/*
 * Length of the ill-formed prefix at s (its maximal subpart: the lead byte
 * and the continuation bytes that could still have completed it), or 0 when
 * s starts with a well-formed sequence; *ok_len receives that sequence's length.
 */
static size_t bad_prefix(size_t *ok_len, const uint8_t *s, size_t left)
{
	uint8_t b = s[0], lo = 0x80, hi = 0xbf;
	size_t need, i;

	*ok_len = 0;
	if (b < 0x80) {
		*ok_len = 1;
		return 0;
	}
	if (b >= 0xc2 && b <= 0xdf) {
		need = 1;
	} else if (b >= 0xe0 && b <= 0xef) {
		need = 2;
		if (b == 0xe0)
			lo = 0xa0;
		else if (b == 0xed)
			hi = 0x9f;
	} else if (b >= 0xf0 && b <= 0xf4) {
		need = 3;
		if (b == 0xf0)
			lo = 0x90;
		else if (b == 0xf4)
			hi = 0x8f;
	} else {
		return 1;
	}
	for (i = 1; i <= need; i++) {
		if (i >= left || s[i] < lo || s[i] > hi)
			return i; /* the lead and i-1 good continuation bytes */
		lo = 0x80;
		hi = 0xbf;
	}
	*ok_len = need + 1;
	return 0;
}

teeliza_err http_utf8_append_lossy(teeliza_buf *out, const uint8_t *in, size_t len)
{
	size_t i = 0, start = 0, ok, bad;
	teeliza_err err;

	if (len == 0)
		return TEELIZA_OK;
	while (i < len) {
		bad = bad_prefix(&ok, in + i, len - i);
		if (bad == 0) {
			i += ok;
			continue;
		}
		err = teeliza_buf_append(out, in + start, i - start);
		if (!err)
			err = teeliza_buf_append(out, replacement, sizeof(replacement));
		if (err)
			return err;
		i += bad;
		start = i;
	}
	return teeliza_buf_append(out, in + start, len - start);
}

teeliza_err http_latin1_append(teeliza_buf *out, const uint8_t *in, size_t len)
{
	uint8_t two[2];
	size_t i, start = 0;
	teeliza_err err;

	if (len == 0)
		return TEELIZA_OK;
	for (i = 0; i < len; i++) {
		if (in[i] < 0x80)
			continue;
		two[0] = (uint8_t)(0xc0 | (in[i] >> 6));
		two[1] = (uint8_t)(0x80 | (in[i] & 0x3f));
		err = teeliza_buf_append(out, in + start, i - start);
		if (!err)
			err = teeliza_buf_append(out, two, 2);
		if (err)
			return err;
		start = i + 1;
	}
	return teeliza_buf_append(out, in + start, len - start);
}
