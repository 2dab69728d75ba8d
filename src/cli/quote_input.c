/*
 * What the verifying commands read from the command line (cli.h): a quote
 * (`verify`, `collateral fetch`, `verify-reply`'s PCCS lookup) and extra trust
 * roots (`verify`, `verify-reply`).
 */
#include "cli/cli.h"
#include "teeliza/common/encoding.h"

#include <ctype.h>
#include <stdio.h>
#include <string.h>

static bool all_hex(const uint8_t *p, size_t n)
{
	size_t i;

	for (i = 0; i < n; i++)
		if (!isxdigit(p[i]))
			return false;
	return n > 0;
}

int cli_read_quote(teeliza_buf *out, const char *cmd, const char *path, size_t max)
{
	teeliza_buf raw;
	size_t start = 0, end;
	teeliza_err err;

	teeliza_buf_init(out, max);
	err = teeliza_read_file(&raw, path, max); /* "-" is stdin */
	if (err)
		return cli_fail(cmd, err);
	end = raw.len;
	while (start < end && isspace(raw.data[start]))
		start++;
	while (end > start && isspace(raw.data[end - 1]))
		end--;
	if (end - start >= 2 && raw.data[start] == '0' && (raw.data[start + 1] == 'x' || raw.data[start + 1] == 'X') &&
	    all_hex(raw.data + start + 2, end - start - 2))
		start += 2;
	if (all_hex(raw.data + start, end - start)) {
		err = teeliza_hex_decode_buf(out, (const char *)raw.data + start, end - start, false);
		teeliza_buf_free(&raw);
		if (err) {
			fprintf(stderr, "teeliza %s: the quote is hex but does not decode: %s\n", cmd, teeliza_errmsg());
			return EXIT_BAD_INPUT;
		}
		return EXIT_OK;
	}
	*out = raw;
	return EXIT_OK;
}

int cli_load_trust(dcap_trust **out, const char *cmd, const char *path)
{
	teeliza_buf pem;
	teeliza_err err;

	*out = NULL;
	if (path == NULL)
		return EXIT_OK;
	err = teeliza_read_file(&pem, path, 1u << 20);
	if (err)
		return cli_fail(cmd, err);
	err = dcap_trust_new(out, true);
	if (!err)
		err = dcap_trust_add_pem(*out, (const char *)pem.data, pem.len);
	teeliza_buf_free(&pem);
	if (err) {
		fprintf(stderr, "teeliza %s: --trust-root %s: %s\n", cmd, path, teeliza_errmsg());
		return EXIT_BAD_INPUT;
	}
	return EXIT_OK;
}
