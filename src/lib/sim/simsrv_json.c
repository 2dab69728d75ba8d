/*
 * Response text for the simulator, written directly rather than through
 * jansson: the DeriveKey response holds a private key, and building it in
 * our own (secret, wiped) buffer keeps copies of it out of the JSON library.
 * Escaping follows serde_json, which is what tappd's responses are made with.
 */
#include "sim/simsrv.h"

#include "teeliza/common/encoding.h"

#include <assert.h>
#include <stdlib.h>
#include <string.h>

teeliza_err simsrv_json_string(teeliza_buf *out, const char *s, size_t len)
{
	return teeliza_json_append_string(out, s, len, "response text");
}

teeliza_err simsrv_json_hex(teeliza_buf *out, const uint8_t *data, size_t len, bool prefix_0x)
{
	teeliza_err err;

	err = teeliza_buf_append_str(out, prefix_0x ? "\"0x" : "\"");
	if (err == TEELIZA_OK)
		err = teeliza_hex_append(out, data, len);
	if (err == TEELIZA_OK)
		err = teeliza_buf_append(out, "\"", 1);
	return err;
}

void simsrv_json_error(teeliza_buf *out, const char *msg)
{
	teeliza_buf_reset(out);
	if (teeliza_buf_append_str(out, "{\n  \"error\": ") != TEELIZA_OK ||
	    simsrv_json_string(out, msg, strlen(msg)) != TEELIZA_OK ||
	    teeliza_buf_append_str(out, "\n}") != TEELIZA_OK) {
		/* Only an absurdly long message can fail; say something rather than nothing. */
		teeliza_buf_reset(out);
		if (teeliza_buf_append_str(out, "{\n  \"error\": \"internal error\"\n}") != TEELIZA_OK)
			teeliza_buf_reset(out);
	}
}
