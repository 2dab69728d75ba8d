/*
 * Fuzz the log escaping rule (teeliza/common/log.h): whatever the bytes, an escaped
 * text is valid UTF-8 with no control character, DEL, C1 control, line or
 * paragraph separator or bidi override; it is never shorter than its input;
 * printable ASCII passes unchanged; a log line never holds a '\n' and never
 * passes TEELIZA_LOG_LINE_MAX plus its length note.
 */
#include "fuzz.h"

#include "teeliza/common/encoding.h"
#include "teeliza/common/log.h"

#include <string.h>

static void check_clean(const uint8_t *p, size_t n)
{
	size_t i = 0, k;

	while (i < n) {
		k = teeliza_utf8_seq_len(p + i, n - i);
		FUZZ_CHECK(k != 0);
		if (k == 1) {
			FUZZ_CHECK(p[i] >= 0x20 && p[i] != 0x7f);
		} else if (k == 2) {
			FUZZ_CHECK(!(p[i] == 0xc2 && p[i + 1] >= 0x80 && p[i + 1] <= 0x9f)); /* C1 */
		} else if (k == 3 && p[i] == 0xe2 && p[i + 1] == 0x80) {
			FUZZ_CHECK(!(p[i + 2] >= 0xa8 && p[i + 2] <= 0xae)); /* U+2028..U+202E */
		} else if (k == 3 && p[i] == 0xe2 && p[i + 1] == 0x81) {
			FUZZ_CHECK(!(p[i + 2] >= 0xa6 && p[i + 2] <= 0xa9)); /* U+2066..U+2069 */
		}
		i += k;
	}
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	const char *text = (const char *)data;
	bool plain = true;
	teeliza_buf out;

	teeliza_buf_init(&out, (size_t)64 << 20);
	FUZZ_CHECK(teeliza_log_escape(&out, text, size) == TEELIZA_OK);
	FUZZ_CHECK(out.len >= size);
	check_clean(out.data, out.len);
	for (size_t i = 0; i < size; i++)
		plain = plain && data[i] >= 0x20 && data[i] < 0x7f;
	if (plain)
		FUZZ_CHECK(out.len == size && (size == 0 || memcmp(out.data, data, size) == 0));
	teeliza_buf_free(&out);

	teeliza_buf_init(&out, (size_t)64 << 20);
	FUZZ_CHECK(teeliza_log_line(&out, text, size) == TEELIZA_OK);
	FUZZ_CHECK(out.len <= TEELIZA_LOG_LINE_MAX + 40);
	FUZZ_CHECK(out.data == NULL || memchr(out.data, '\n', out.len) == NULL);
	if (out.len > 0)
		check_clean(out.data, out.len);
	teeliza_buf_free(&out);
	return 0;
}
