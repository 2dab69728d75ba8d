/* Strict JSON field readers for collateral: each failure names the field. */
#include "dcap/verify_internal.h"

#include <stdio.h>
#include <string.h>
#include <time.h>

#include "teeliza/common/encoding.h"

static bool digits(const char *s, size_t n)
{
	size_t i;

	for (i = 0; i < n; i++)
		if (s[i] < '0' || s[i] > '9')
			return false;
	return true;
}

static int num(const char *s, size_t n)
{
	int v = 0;
	size_t i;

	for (i = 0; i < n; i++)
		v = v * 10 + (s[i] - '0');
	return v;
}

/* Days from 1970-01-01 to y-m-d in the proleptic Gregorian calendar (no timegm locale issues). */
static int64_t days_from_civil(int64_t y, int m, int d)
{
	int64_t era, yoe, doy, doe;

	y -= m <= 2;
	era = (y >= 0 ? y : y - 399) / 400;
	yoe = y - era * 400;
	doy = (153 * (m + (m > 2 ? -3 : 9)) + 2) / 5 + d - 1;
	doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
	return era * 146097 + doe - 719468;
}

static int days_in_month(int y, int m)
{
	static const int dm[12] = {31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31};

	if (m == 2 && ((y % 4 == 0 && y % 100 != 0) || y % 400 == 0))
		return 29;
	return dm[m - 1];
}

teeliza_err dcap_parse_date(int64_t *out, const char *s)
{
	size_t len = strlen(s), i = 19;
	int y, mo, d, h, mi, se;

	*out = 0;
	if (len < 20 || !digits(s, 4) || s[4] != '-' || !digits(s + 5, 2) || s[7] != '-' || !digits(s + 8, 2) ||
	    s[10] != 'T' || !digits(s + 11, 2) || s[13] != ':' || !digits(s + 14, 2) || s[16] != ':' ||
	    !digits(s + 17, 2))
		return TEELIZA_ERR_PARSE;
	if (s[i] == '.') {
		i++;
		if (i >= len || !digits(s + i, 1))
			return TEELIZA_ERR_PARSE;
		while (i < len && s[i] >= '0' && s[i] <= '9')
			i++;
	}
	if (i + 1 != len || s[i] != 'Z')
		return TEELIZA_ERR_PARSE;
	y = num(s, 4);
	mo = num(s + 5, 2);
	d = num(s + 8, 2);
	h = num(s + 11, 2);
	mi = num(s + 14, 2);
	se = num(s + 17, 2);
	if (mo < 1 || mo > 12 || d < 1 || d > days_in_month(y, mo) || h > 23 || mi > 59 || se > 60)
		return TEELIZA_ERR_PARSE;
	*out = days_from_civil(y, mo, d) * 86400 + h * 3600 + mi * 60 + se;
	return TEELIZA_OK;
}

void dcap_format_date(char out[24], int64_t t)
{
	struct tm tm;
	time_t tt = (time_t)t;

	if (gmtime_r(&tt, &tm) == NULL || strftime(out, 24, "%Y-%m-%dT%H:%M:%SZ", &tm) == 0)
		snprintf(out, 24, "@%lld", (long long)t);
}

teeliza_err dcap_json_string(const char **out, const json_t *obj, const char *key, const char *what)
{
	const json_t *v = json_object_get(obj, key);

	*out = NULL;
	if (v == NULL)
		return teeliza_set_error(TEELIZA_ERR_PARSE, "%s: missing \"%s\"", what, key);
	if (!json_is_string(v))
		return teeliza_set_error(TEELIZA_ERR_PARSE, "%s: \"%s\" must be a string", what, key);
	if (strlen(json_string_value(v)) != json_string_length(v))
		return teeliza_set_error(TEELIZA_ERR_PARSE, "%s: \"%s\" contains a NUL character", what, key);
	*out = json_string_value(v);
	return TEELIZA_OK;
}

teeliza_err dcap_json_uint(uint32_t *out, const json_t *obj, const char *key, uint32_t max, const char *what)
{
	const json_t *v = json_object_get(obj, key);
	json_int_t i;

	*out = 0;
	if (v == NULL)
		return teeliza_set_error(TEELIZA_ERR_PARSE, "%s: missing \"%s\"", what, key);
	if (!json_is_integer(v))
		return teeliza_set_error(TEELIZA_ERR_PARSE, "%s: \"%s\" must be an integer", what, key);
	i = json_integer_value(v);
	if (i < 0 || (uint64_t)i > max)
		return teeliza_set_error(TEELIZA_ERR_PARSE, "%s: \"%s\" = %lld is out of range 0..%u", what, key,
		                         (long long)i, max);
	*out = (uint32_t)i;
	return TEELIZA_OK;
}

teeliza_err dcap_json_date(int64_t *out, const json_t *obj, const char *key, const char *what)
{
	const char *s;
	teeliza_err err = dcap_json_string(&s, obj, key, what);

	*out = 0;
	if (err)
		return err;
	if (dcap_parse_date(out, s) != TEELIZA_OK)
		return teeliza_set_error(TEELIZA_ERR_PARSE, "%s: \"%s\" is not an ISO 8601 UTC date: \"%.40s\"", what,
		                         key, s);
	return TEELIZA_OK;
}

teeliza_err dcap_json_hex(uint8_t *out, size_t n, const json_t *obj, const char *key, const char *what)
{
	const char *s;
	size_t got = 0;
	teeliza_err err = dcap_json_string(&s, obj, key, what);

	memset(out, 0, n);
	if (err)
		return err;
	if (strlen(s) != 2 * n)
		return teeliza_set_error(TEELIZA_ERR_PARSE, "%s: \"%s\" must be %zu hex digits, got %zu", what, key,
		                         2 * n, strlen(s));
	if (teeliza_hex_decode(out, n, &got, s, 2 * n, false) != TEELIZA_OK || got != n) {
		memset(out, 0, n);
		return teeliza_set_error(TEELIZA_ERR_PARSE, "%s: \"%s\" is not hex", what, key);
	}
	return TEELIZA_OK;
}

/* Reject nesting deeper than DCAP_MAX_JSON_DEPTH before jansson recurses into it. */
static bool depth_ok(const char *text, size_t len)
{
	size_t i, depth = 0;
	bool in_str = false;

	for (i = 0; i < len; i++) {
		char c = text[i];

		if (in_str) {
			if (c == '\\')
				i++;
			else if (c == '"')
				in_str = false;
			continue;
		}
		if (c == '"')
			in_str = true;
		else if (c == '{' || c == '[') {
			if (++depth > DCAP_MAX_JSON_DEPTH)
				return false;
		} else if ((c == '}' || c == ']') && depth > 0)
			depth--;
	}
	return true;
}

teeliza_err dcap_json_load(json_t **out, const char *text, size_t len, const char *what)
{
	json_error_t e;

	*out = NULL;
	if (len > DCAP_MAX_COLLATERAL_JSON)
		return teeliza_set_error(TEELIZA_ERR_TOO_LARGE, "%s: %zu bytes is more than the %u allowed", what, len,
		                         DCAP_MAX_COLLATERAL_JSON);
	if (!depth_ok(text, len))
		return teeliza_set_error(TEELIZA_ERR_PARSE, "%s: JSON nested deeper than %d levels", what,
		                         DCAP_MAX_JSON_DEPTH);
	*out = json_loadb(text, len, JSON_REJECT_DUPLICATES, &e);
	if (*out == NULL)
		return teeliza_set_error(TEELIZA_ERR_PARSE, "%s: invalid JSON at line %d column %d: %s", what, e.line,
		                         e.column, e.text);
	if (!json_is_object(*out)) {
		json_decref(*out);
		*out = NULL;
		return teeliza_set_error(TEELIZA_ERR_PARSE, "%s: must be a JSON object", what);
	}
	return TEELIZA_OK;
}
