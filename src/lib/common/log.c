/*
 * The one escaping rule for log lines (teeliza/common/log.h) and the writer every
 * log goes through: a log line is built whole, escaped, then written with
 * one fwrite under the stream's lock, so that neither a byte from outside
 * nor another thread can split it.
 */
#include "teeliza/common/log.h"
#include "teeliza/common/encoding.h"

#include <assert.h>
#include <stdio.h>
#include <string.h>

static const char hexd[] = "0123456789abcdef";

/* The code point of the well-formed n-byte sequence at s. */
static uint32_t code_point(const uint8_t *s, size_t n)
{
	uint32_t cp = n == 2 ? s[0] & 0x1fu : n == 3 ? s[0] & 0x0fu : s[0] & 0x07u;

	for (size_t i = 1; i < n; i++)
		cp = cp << 6 | (s[i] & 0x3fu);
	return cp;
}

/* Code points that look like nothing, move the cursor or break lines. */
static bool hidden_code_point(uint32_t cp)
{
	return (cp >= 0x80 && cp <= 0x9f) || cp == 0x2028 || cp == 0x2029 || (cp >= 0x202a && cp <= 0x202e) ||
	       (cp >= 0x2066 && cp <= 0x2069);
}

/*
 * The escaped form of the character at s (left > 0 bytes): its bytes go to
 * unit (at most 7 bytes, "\u2028" is the longest). Returns how many bytes
 * of s it stands for; *unit_len gets the length of unit.
 */
static size_t escape_one(char unit[8], size_t *unit_len, const uint8_t *s, size_t left)
{
	size_t n = teeliza_utf8_seq_len(s, left);

	if (n == 1 && s[0] >= 0x20 && s[0] != 0x7f) {
		unit[0] = (char)s[0];
		*unit_len = 1;
		return 1;
	}
	if (n == 1 && (s[0] == '\n' || s[0] == '\r' || s[0] == '\t')) {
		unit[0] = '\\';
		unit[1] = s[0] == '\n' ? 'n' : s[0] == '\r' ? 'r' : 't';
		*unit_len = 2;
		return 1;
	}
	if (n <= 1) {
		/* Another control character, DEL, or a byte that does not start well-formed UTF-8. */
		unit[0] = '\\';
		unit[1] = 'x';
		unit[2] = hexd[s[0] >> 4];
		unit[3] = hexd[s[0] & 15];
		*unit_len = 4;
		return 1;
	}
	if (hidden_code_point(code_point(s, n))) {
		uint32_t cp = code_point(s, n);

		unit[0] = '\\';
		unit[1] = 'u';
		for (int i = 0; i < 4; i++)
			unit[2 + i] = hexd[(cp >> (12 - 4 * i)) & 15];
		*unit_len = 6;
		return n;
	}
	memcpy(unit, s, n);
	*unit_len = n;
	return n;
}

/* Escape text into out until the escaped text would pass limit bytes; *used: bytes of text consumed. */
static teeliza_err escape_bounded(teeliza_buf *out, size_t *used, const char *text, size_t len, size_t limit)
{
	const uint8_t *p = (const uint8_t *)text;
	size_t i = 0, written = 0, start = 0;
	teeliza_err err;

	while (i < len) {
		char unit[8];
		size_t unit_len, n;

		/* Plain runs are the common case: append them in one piece. */
		while (i < len && p[i] >= 0x20 && p[i] < 0x7f && written < limit) {
			i++;
			written++;
		}
		if (i > start) {
			err = teeliza_buf_append(out, text + start, i - start);
			if (err)
				return err;
		}
		if (i == len || written >= limit)
			break;
		n = escape_one(unit, &unit_len, p + i, len - i);
		if (written + unit_len > limit)
			break;
		err = teeliza_buf_append(out, unit, unit_len);
		if (err)
			return err;
		written += unit_len;
		i += n;
		start = i;
	}
	*used = i;
	return TEELIZA_OK;
}

teeliza_err teeliza_log_escape(teeliza_buf *out, const char *text, size_t len)
{
	size_t used;

	assert(out != NULL && (text != NULL || len == 0));
	return escape_bounded(out, &used, text, len, SIZE_MAX);
}

teeliza_err teeliza_log_line(teeliza_buf *out, const char *text, size_t len)
{
	size_t used;
	teeliza_err err;

	assert(out != NULL && (text != NULL || len == 0));
	err = escape_bounded(out, &used, text, len, TEELIZA_LOG_LINE_MAX);
	if (err == TEELIZA_OK && used < len)
		err = teeliza_buf_printf(out, " \xe2\x80\xa6 [%zu bytes]", len);
	return err;
}

void teeliza_log_write(FILE *f, const char *text, size_t len)
{
	static const char dropped[] = "(a log line was dropped: out of memory)\n";
	teeliza_buf line;

	if (f == NULL)
		f = stderr;
	teeliza_buf_init(&line, TEELIZA_LOG_LINE_MAX + 64);
	if (teeliza_log_line(&line, text, len) != TEELIZA_OK || teeliza_buf_append(&line, "\n", 1) != TEELIZA_OK) {
		fputs(dropped, f);
		fflush(f);
		teeliza_buf_free(&line);
		return;
	}
	flockfile(f);
	fwrite(line.data, 1, line.len, f);
	fflush(f);
	funlockfile(f);
	teeliza_buf_free(&line);
}

void teeliza_vlogf(FILE *f, const char *fmt, va_list ap)
{
	teeliza_buf text;
	va_list ap2;
	int n;

	va_copy(ap2, ap);
	n = vsnprintf(NULL, 0, fmt, ap2);
	va_end(ap2);
	teeliza_buf_init(&text, (size_t)16 << 20);
	/* A message may quote a secret it is about to refuse: do not leave it in freed memory. */
	text.secret = true;
	if (n < 0 || teeliza_buf_reserve(&text, (size_t)n + 1) != TEELIZA_OK) {
		teeliza_log_write(f, TEELIZA_LOG_UNFORMATTED, sizeof(TEELIZA_LOG_UNFORMATTED) - 1);
		teeliza_buf_free(&text);
		return;
	}
	vsnprintf((char *)text.data, (size_t)n + 1, fmt, ap);
	text.len = (size_t)n;
	teeliza_log_write(f, (const char *)text.data, text.len);
	teeliza_buf_free(&text);
}

void teeliza_logf(FILE *f, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	teeliza_vlogf(f, fmt, ap);
	va_end(ap);
}
