/*
 * UTF-8 checks and JSON string literals written byte for byte as the JS SDK
 * (JSON.stringify) and tappd (serde_json) write them: report_data is a hash
 * of such text, so jansson's escaping (uppercase \u00XX) would not do.
 */
#include "teeliza/common/encoding.h"

#include <assert.h>
#include <string.h>

size_t teeliza_utf8_seq_len(const uint8_t *s, size_t left)
{
	uint32_t cp;
	size_t n, i;

	assert(left > 0);
	if (s[0] < 0x80)
		return 1;
	if (s[0] >= 0xc2 && s[0] <= 0xdf)
		n = 2, cp = s[0] & 0x1fu;
	else if (s[0] >= 0xe0 && s[0] <= 0xef)
		n = 3, cp = s[0] & 0x0fu;
	else if (s[0] >= 0xf0 && s[0] <= 0xf4)
		n = 4, cp = s[0] & 0x07u;
	else
		return 0;
	if (left < n)
		return 0;
	for (i = 1; i < n; i++) {
		if ((s[i] & 0xc0) != 0x80)
			return 0;
		cp = cp << 6 | (s[i] & 0x3fu);
	}
	if ((n == 3 && cp < 0x800) || (n == 4 && cp < 0x10000) || cp > 0x10ffff ||
	    (cp >= 0xd800 && cp <= 0xdfff))
		return 0;
	return n;
}

teeliza_err teeliza_json_append_string(teeliza_buf *out, const char *s, size_t len, const char *what)
{
	static const char hexd[] = "0123456789abcdef";
	const uint8_t *p = (const uint8_t *)s;
	size_t i = 0, run, n;
	teeliza_err err;
	char esc[6];

	assert(out != NULL && (s != NULL || len == 0) && what != NULL);
	err = teeliza_buf_append(out, "\"", 1);
	while (!err && i < len) {
		/* copy a run of characters that need no escaping in one go */
		for (run = i; run < len && p[run] >= 0x20 && p[run] != '"' && p[run] != '\\'; run += n) {
			n = teeliza_utf8_seq_len(p + run, len - run);
			if (n == 0)
				return teeliza_set_error(TEELIZA_ERR_INVALID, "%s is not valid UTF-8 (byte %zu)", what, run);
		}
		err = teeliza_buf_append(out, p + i, run - i);
		i = run;
		if (err || i == len)
			break;
		esc[0] = '\\';
		n = 2;
		switch (p[i]) {
		case '"': esc[1] = '"'; break;
		case '\\': esc[1] = '\\'; break;
		case '\b': esc[1] = 'b'; break;
		case '\f': esc[1] = 'f'; break;
		case '\n': esc[1] = 'n'; break;
		case '\r': esc[1] = 'r'; break;
		case '\t': esc[1] = 't'; break;
		default:
			memcpy(esc + 1, "u00", 3);
			esc[4] = hexd[p[i] >> 4];
			esc[5] = hexd[p[i] & 15];
			n = 6;
			break;
		}
		err = teeliza_buf_append(out, esc, n);
		i++;
	}
	if (!err)
		err = teeliza_buf_append(out, "\"", 1);
	return err;
}
