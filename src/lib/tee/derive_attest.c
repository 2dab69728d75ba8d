/*
 * The derive-key attestation payload: the bytes the plugin's
 * JSON.stringify({agentId, publicKey}) produces, because its report_data is a
 * hash of exactly those bytes.
 */
#include "teeliza/derive.h"

#include <assert.h>
#include <string.h>

#define ATTEST_FIELD_MAX 4096

/* Length of the UTF-8 sequence at s (n bytes left), or 0 when it is not well-formed. */
static size_t utf8_sequence_len(const unsigned char *s, size_t n)
{
	size_t len, i;
	uint32_t cp;

	if (s[0] < 0x80)
		return 1;
	if (s[0] >= 0xc2 && s[0] <= 0xdf) {
		len = 2;
		cp = s[0] & 0x1fu;
	} else if (s[0] >= 0xe0 && s[0] <= 0xef) {
		len = 3;
		cp = s[0] & 0x0fu;
	} else if (s[0] >= 0xf0 && s[0] <= 0xf4) {
		len = 4;
		cp = s[0] & 0x07u;
	} else {
		return 0;
	}
	if (n < len)
		return 0;
	for (i = 1; i < len; i++) {
		if ((s[i] & 0xc0) != 0x80)
			return 0;
		cp = cp << 6 | (s[i] & 0x3fu);
	}
	/* Overlong forms, UTF-16 surrogates and code points past U+10FFFF. */
	if ((len == 3 && cp < 0x800) || (len == 4 && cp < 0x10000) || (cp >= 0xd800 && cp <= 0xdfff) || cp > 0x10ffff)
		return 0;
	return len;
}

/* A JSON string literal with JSON.stringify's escapes: \" \\ \b \f \n \r \t and \u00xx. */
static teeliza_err append_json_string(teeliza_buf *out, const char *field, const char *s)
{
	const unsigned char *p = (const unsigned char *)s;
	size_t n = strlen(s), i = 0, step;
	teeliza_err err;

	if (n > ATTEST_FIELD_MAX)
		return teeliza_set_error(TEELIZA_ERR_TOO_LARGE, "%s is longer than %d bytes", field, ATTEST_FIELD_MAX);
	err = teeliza_buf_append(out, "\"", 1);
	while (!err && i < n) {
		step = utf8_sequence_len(p + i, n - i);
		if (step == 0)
			return teeliza_set_error(TEELIZA_ERR_INVALID, "%s is not valid UTF-8 (byte %zu)", field, i);
		switch (p[i]) {
		case '"':
			err = teeliza_buf_append_str(out, "\\\"");
			break;
		case '\\':
			err = teeliza_buf_append_str(out, "\\\\");
			break;
		case '\b':
			err = teeliza_buf_append_str(out, "\\b");
			break;
		case '\f':
			err = teeliza_buf_append_str(out, "\\f");
			break;
		case '\n':
			err = teeliza_buf_append_str(out, "\\n");
			break;
		case '\r':
			err = teeliza_buf_append_str(out, "\\r");
			break;
		case '\t':
			err = teeliza_buf_append_str(out, "\\t");
			break;
		default:
			if (p[i] < 0x20)
				err = teeliza_buf_printf(out, "\\u%04x", p[i]);
			else
				err = teeliza_buf_append(out, p + i, step);
			break;
		}
		i += step;
	}
	if (!err)
		err = teeliza_buf_append(out, "\"", 1);
	return err;
}

teeliza_err tee_derive_attestation_json(teeliza_buf *out, const char *agent_id, const char *public_key)
{
	teeliza_err err;

	assert(out != NULL && agent_id != NULL && public_key != NULL);
	teeliza_buf_init(out, 4 * 6 * ATTEST_FIELD_MAX);
	err = teeliza_buf_append_str(out, "{\"agentId\":");
	if (!err)
		err = append_json_string(out, "agent id", agent_id);
	if (!err)
		err = teeliza_buf_append_str(out, ",\"publicKey\":");
	if (!err)
		err = append_json_string(out, "public key", public_key);
	if (!err)
		err = teeliza_buf_append(out, "}", 1);
	if (err)
		teeliza_buf_free(out);
	return err;
}
