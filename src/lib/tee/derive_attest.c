/*
 * The derive-key attestation payload: the bytes the plugin's
 * JSON.stringify({agentId, publicKey}) produces, because its report_data is a
 * hash of exactly those bytes.
 */
#include "teeliza/tee/derive.h"
#include "teeliza/common/encoding.h"

#include <assert.h>
#include <string.h>

#define ATTEST_FIELD_MAX 4096

/* One field as JSON.stringify writes it, with a size cap. */
static teeliza_err append_json_string(teeliza_buf *out, const char *field, const char *s)
{
	size_t n = strlen(s);

	if (n > ATTEST_FIELD_MAX)
		return teeliza_set_error(TEELIZA_ERR_TOO_LARGE, "%s is longer than %d bytes", field, ATTEST_FIELD_MAX);
	return teeliza_json_append_string(out, s, n, field);
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
