/*
 * The v1 API's replies: its envelopes ({success, data} and {success:false,
 * error:{code, message}} for agents, memories and channels; bare objects
 * and {error:{code, message, timestamp}} for sessions, never with a stack
 * as upstream leaks one), its 404, and what every v1 route checks: UUIDs
 * as validateUuid takes them, times as Date.toISOString() prints them,
 * lengths as JavaScript counts them.
 */
#include "agent/api/api_v1.h"

#include <ctype.h>
#include <string.h>
#include <strings.h>
#include <time.h>

void api_v1_ok(http_server_reply *reply, unsigned status, json_t *data)
{
	if (data == NULL) {
		api_v1_fail(reply, 500, "INTERNAL_ERROR", "out of memory");
		return;
	}
	api_reply_json(reply, status, json_pack("{s:b, s:o}", "success", 1, "data", data));
}

void api_v1_fail(http_server_reply *reply, unsigned status, const char *code, const char *message)
{
	api_reply_json(reply, status,
	               json_pack("{s:b, s:{s:s, s:s}}", "success", 0, "error", "code", code, "message", message));
}

void api_v1_session_fail(http_server_reply *reply, unsigned status, const char *code, const char *message)
{
	char now[32];

	api_v1_iso_time(now, agent_store_now_ms());
	api_reply_json(reply, status,
	               json_pack("{s:{s:s, s:s, s:s}}", "error", "code", code, "message", message, "timestamp", now));
}

void api_v1_not_found(http_server_reply *reply)
{
	api_reply_json(reply, 404, json_pack("{s:b, s:{s:s, s:i}}", "success", 0, "error", "message",
	                                     "API endpoint not found", "code", 404));
}

void api_v1_unauthorized(http_server_reply *reply)
{
	api_v1_fail(reply, 401, "UNAUTHORIZED",
	            "Missing or invalid API key: send 'X-API-KEY: <API_TOKEN>' or 'Authorization: Bearer <API_TOKEN>'");
}

void api_v1_forbidden(http_server_reply *reply)
{
	api_v1_fail(reply, 403, "FORBIDDEN",
	            "without API_TOKEN, creating, changing, starting, stopping and deleting agents is accepted only "
	            "from this machine (loopback). Set API_TOKEN on the server to manage agents remotely.");
}

bool api_v1_path(const api_request *r)
{
	return !r->too_deep && r->n_seg > 0 && strcasecmp(r->seg[0], "api") == 0;
}

void api_v1_iso_time(char out[32], int64_t ms)
{
	time_t t = (time_t)(ms / 1000);
	struct tm tm;

	if (ms < 0 || gmtime_r(&t, &tm) == NULL) {
		snprintf(out, 32, "1970-01-01T00:00:00.000Z");
		return;
	}
	/* strftime: the compiler cannot bound snprintf's %d fields of struct tm */
	if (strftime(out, 32, "%Y-%m-%dT%H:%M:%S", &tm) == 0 || strlen(out) > 26) {
		snprintf(out, 32, "1970-01-01T00:00:00.000Z");
		return;
	}
	snprintf(out + strlen(out), 32 - strlen(out), ".%03dZ", (int)(ms % 1000));
}

bool api_v1_uuid(char out[AGENT_UUID_BUFSZ], const char *s)
{
	size_t i;

	if (s == NULL || !agent_uuid_is_valid(s) || strlen(s) != AGENT_UUID_BUFSZ - 1)
		return false;
	for (i = 0; i < AGENT_UUID_BUFSZ - 1; i++)
		out[i] = (char)tolower((unsigned char)s[i]);
	out[i] = 0;
	return true;
}

size_t api_v1_js_length(const char *s)
{
	const unsigned char *p = (const unsigned char *)s;
	size_t n = 0;

	for (; *p != 0; p++) {
		if ((*p & 0xc0) == 0x80)
			continue; /* continuation byte */
		n += *p >= 0xf0 ? 2 : 1; /* a code point beyond the BMP is a surrogate pair */
	}
	return n;
}
