/*
 * Strict decimal parsing for numbers that come from outside (query strings,
 * environment, command lines). strtoul and friends accept a sign, leading
 * blanks and wrap silently on overflow ("18446744073709551616" → 0, "-1" →
 * UINT64_MAX); this accepts digits only and checks the range before each step.
 */
#include "teeliza/common/common.h"

#include <assert.h>
#include <inttypes.h>

teeliza_err teeliza_parse_u64(uint64_t *out, const char *text, uint64_t min, uint64_t max)
{
	uint64_t v = 0;
	const char *s = text;

	assert(out != NULL && text != NULL && min <= max);
	if (*s == 0)
		return teeliza_set_error(TEELIZA_ERR_INVALID, "not a number: empty");
	for (; *s != 0; s++) {
		unsigned d;

		if (*s < '0' || *s > '9')
			return teeliza_set_error(TEELIZA_ERR_INVALID, "not a number (digits only): %.40s", text);
		d = (unsigned)(*s - '0');
		if (v > (UINT64_MAX - d) / 10)
			return teeliza_set_error(TEELIZA_ERR_INVALID, "out of range %" PRIu64 "..%" PRIu64 ": %.40s",
			                         min, max, text);
		v = v * 10 + d;
	}
	if (v < min || v > max)
		return teeliza_set_error(TEELIZA_ERR_INVALID, "out of range %" PRIu64 "..%" PRIu64 ": %.40s", min,
		                         max, text);
	*out = v;
	return TEELIZA_OK;
}
