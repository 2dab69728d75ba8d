/* The REST API's replies: JSON as Express's res.json sends it, text as res.send does. */
#include "agent/api/api_request.h"
#include "teeliza/agent/store.h"

#include <stdlib.h>

void api_reply_json(http_server_reply *reply, unsigned status, json_t *value)
{
	char *text = value != NULL ? json_dumps(value, JSON_COMPACT | JSON_PRESERVE_ORDER | JSON_ENCODE_ANY) : NULL;

	json_decref(value);
	teeliza_buf_reset(&reply->body);
	reply->content_type = "application/json; charset=utf-8";
	if (text == NULL || teeliza_buf_append_str(&reply->body, text) != TEELIZA_OK) {
		free(text);
		teeliza_buf_reset(&reply->body);
		reply->status = 500;
		if (teeliza_buf_append_str(&reply->body, "{\"error\":\"out of memory\"}") != TEELIZA_OK)
			teeliza_buf_reset(&reply->body);
		return;
	}
	free(text);
	reply->status = status;
}

void api_reply_error(http_server_reply *reply, unsigned status, const char *message)
{
	api_reply_json(reply, status, json_pack("{s:s}", "error", message));
}

void api_reply_text(http_server_reply *reply, unsigned status, const char *text)
{
	teeliza_buf_reset(&reply->body);
	reply->status = status;
	reply->content_type = "text/plain; charset=utf-8";
	if (teeliza_buf_append_str(&reply->body, text) != TEELIZA_OK)
		reply->status = 500;
}

bool api_store_unavailable(teeliza_err err)
{
	return (err == TEELIZA_ERR_CONNECT || err == TEELIZA_ERR_TIMEOUT) && agent_store_failure() == err;
}

void api_reply_retry_after(http_server_reply *reply)
{
	for (size_t i = 0; i < sizeof(reply->extra_headers) / sizeof(reply->extra_headers[0]); i++) {
		if (reply->extra_headers[i] == NULL) {
			reply->extra_headers[i] = "Retry-After: 1";
			return;
		}
	}
}
