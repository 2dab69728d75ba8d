/*
 * POST /verify: any DCAP quote, pasted as hex (raw text or JSON
 * {"quote":"0x…","collateral":{…},"trustRoot":"PEM","now":…}) or sent as
 * bytes, verified by the agent's verifier (api_verifier.c); the answer is
 * its verdict JSON, labelled with the root it is rooted in. JSON may add
 * "eventLog" (the quote's event log: an array, its JSON text, or dstack's
 * GetQuote answer) and the app identity to require, "expectComposeHash",
 * "expectAppId", "expectOsImageHash" (hex) and "expectKeyProvider" (the id
 * as hex, or the payload's JSON text), as `teeliza verify` takes them.
 */
#include "agent/api/api_route.h"
#include "agent/api/api_verifier.h"
#include "teeliza/common/encoding.h"

#include <ctype.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>

/* Largest /verify body, whatever EXPRESS_MAX_PAYLOAD allows the other routes. */
#define VERIFY_MAX_BODY ((size_t)1 << 20)
#define TRUST_ROOT_MAX ((size_t)64 << 10)

/* Decode hex text (optional 0x, surrounding whitespace) into out; a 400 message in why on failure. */
static bool decode_hex_quote(teeliza_buf *out, char *why, size_t why_len, const char *s, size_t n)
{
	size_t i;

	while (n > 0 && isspace((unsigned char)*s)) {
		s++;
		n--;
	}
	while (n > 0 && isspace((unsigned char)s[n - 1]))
		n--;
	if (n >= 2 && s[0] == '0' && (s[1] == 'x' || s[1] == 'X')) {
		s += 2;
		n -= 2;
	}
	if (n == 0) {
		snprintf(why, why_len, "no quote given: send the quote as hex");
		return false;
	}
	for (i = 0; i < n; i++)
		if (teeliza_hex_nibble(s[i]) < 0) {
			if ((unsigned char)s[i] >= 0x20 && (unsigned char)s[i] < 0x7f)
				snprintf(why, why_len, "the quote is not hex: '%c' at offset %zu", s[i], i);
			else
				snprintf(why, why_len, "the quote is not hex: byte 0x%02x at offset %zu", (unsigned char)s[i], i);
			return false;
		}
	if (n % 2 != 0) {
		snprintf(why, why_len, "the quote is not hex: odd number of digits (%zu)", n);
		return false;
	}
	if (teeliza_hex_decode_buf(out, s, n, false) != TEELIZA_OK) {
		snprintf(why, why_len, "the quote is not hex: %s", teeliza_errmsg());
		return false;
	}
	return true;
}

/* The app identity a JSON body asks for; a 400 message in why when a value is not what it should be. */
struct identity_wanted {
	tee_identity_policy policy;
	uint8_t app_id[20], compose_hash[32], os_image_hash[32];
};

static bool take_hex(const uint8_t **dst, uint8_t *buf, size_t n, const json_t *body, const char *key, char *why,
                     size_t why_len)
{
	const json_t *v = json_object_get(body, key);
	const char *s;
	size_t got = 0;

	if (v == NULL || json_is_null(v))
		return true;
	s = json_string_value(v);
	if (s == NULL || teeliza_hex_decode(buf, n, &got, s, json_string_length(v), true) != TEELIZA_OK || got != n) {
		snprintf(why, why_len, "\"%s\" must be %zu bytes as hex", key, n);
		return false;
	}
	*dst = buf;
	return true;
}

static bool identity_from_body(struct identity_wanted *w, const json_t *body, char *why, size_t why_len)
{
	const json_t *kp = json_object_get(body, "expectKeyProvider");

	memset(w, 0, sizeof(*w));
	if (!take_hex(&w->policy.expect_app_id, w->app_id, 20, body, "expectAppId", why, why_len) ||
	    !take_hex(&w->policy.expect_compose_hash, w->compose_hash, 32, body, "expectComposeHash", why, why_len) ||
	    !take_hex(&w->policy.expect_os_image_hash, w->os_image_hash, 32, body, "expectOsImageHash", why, why_len))
		return false;
	if (kp != NULL && !json_is_null(kp)) {
		if (!json_is_string(kp) || json_string_length(kp) == 0 ||
		    strlen(json_string_value(kp)) != json_string_length(kp)) {
			snprintf(why, why_len, "\"expectKeyProvider\" must be the key provider's id as hex, or its payload");
			return false;
		}
		w->policy.expect_key_provider = json_string_value(kp);
	}
	return true;
}

/* The event log's JSON text out of "eventLog" (into out); a 400 message in why when it is none. */
static bool event_log_from_body(teeliza_buf *out, bool *given, const json_t *body, char *why, size_t why_len)
{
	const json_t *v = json_object_get(body, "eventLog");
	char *text = NULL;
	teeliza_err err;

	*given = false;
	if (v == NULL || json_is_null(v))
		return true;
	if (json_is_array(v) || json_is_object(v)) {
		text = json_dumps(v, JSON_COMPACT | JSON_PRESERVE_ORDER);
		if (text == NULL) {
			snprintf(why, why_len, "out of memory");
			return false;
		}
	} else if (!json_is_string(v)) {
		snprintf(why, why_len, "\"eventLog\" must be the event log: an array, its JSON text, or a GetQuote answer");
		return false;
	}
	err = tee_event_log_input_text(out, text != NULL ? text : json_string_value(v),
	                               text != NULL ? strlen(text) : json_string_length(v));
	free(text);
	if (err) {
		snprintf(why, why_len, "\"eventLog\": %s", teeliza_errmsg());
		return false;
	}
	*given = true;
	return true;
}

/* Both of the above, and an expectation only with an event log to check it on. */
static bool identity_request(struct identity_wanted *w, teeliza_buf *log, bool *has_log, const json_t *body, char *why,
                             size_t why_len)
{
	if (!identity_from_body(w, body, why, why_len) || !event_log_from_body(log, has_log, body, why, why_len))
		return false;
	if (tee_identity_policy_any(&w->policy) && !*has_log) {
		snprintf(why, why_len, "the \"expect…\" app identity fields need \"eventLog\": the identity is read from "
		                       "the quote's event log");
		return false;
	}
	return true;
}

static void post_verify(http_server_reply *reply, agent_api *api, const api_request *r)
{
	const http_server_request *h = r->http;
	const json_t *jq = NULL, *jc = NULL, *jn = NULL, *jr = NULL;
	api_verify_input in;
	char why[512], *coll_text = NULL;
	const char *coll = NULL;
	size_t coll_len = 0;
	teeliza_buf quote, event_log;
	struct identity_wanted wanted;
	bool has_log = false;
	int64_t now = (int64_t)time(NULL);
	unsigned status;
	json_t *out;
	bool is_json = strncasecmp(h->content_type, "application/json", 16) == 0;
	bool is_binary = strncasecmp(h->content_type, "application/octet-stream", 24) == 0;

	if (h->body_len > VERIFY_MAX_BODY) {
		api_reply_error(reply, 413, "the body is larger than 1 MiB; a quote is at most a few KiB");
		return;
	}
	memset(&wanted, 0, sizeof(wanted));
	teeliza_buf_init(&event_log, 2 * VERIFY_MAX_BODY + 64);
	if (is_json) {
		if (r->body == NULL) {
			api_reply_error(reply, r->body_status, r->body_error);
			return;
		}
		jq = json_object_get(r->body, "quote");
		jc = json_object_get(r->body, "collateral");
		jn = json_object_get(r->body, "now");
		jr = json_object_get(r->body, "trustRoot");
		if (!json_is_string(jq)) {
			api_reply_error(reply, 400, "\"quote\" must be the quote as a hex string");
			return;
		}

		if (jn != NULL && !json_is_null(jn) && (!json_is_integer(jn) || json_integer_value(jn) < 0)) {
			api_reply_error(reply, 400, "\"now\" must be Unix seconds");
			return;
		}
		if (json_is_integer(jn))
			now = (int64_t)json_integer_value(jn);
		if (jr != NULL && !json_is_null(jr) &&
		    (!json_is_string(jr) || json_string_length(jr) == 0 || json_string_length(jr) > TRUST_ROOT_MAX)) {
			api_reply_error(reply, 400, "\"trustRoot\" must be a PEM certificate (at most 64 KiB)");
			return;
		}
		if (json_is_string(jc)) {
			coll = json_string_value(jc);
			coll_len = json_string_length(jc);
		} else if (json_is_object(jc)) {
			/* Re-serialising keeps the signed tcb_info / qe_identity strings byte for byte. */
			coll_text = json_dumps(jc, JSON_COMPACT | JSON_PRESERVE_ORDER);
			if (coll_text == NULL) {
				api_reply_error(reply, 500, "out of memory");
				return;
			}
			coll = coll_text;
			coll_len = strlen(coll_text);
		} else if (jc != NULL && !json_is_null(jc)) {
			api_reply_error(reply, 400, "\"collateral\" must be dcap-qvl QuoteCollateralV3 JSON (object or string)");
			return;
		}
	}
	teeliza_buf_init(&quote, VERIFY_MAX_BODY);
	if (is_binary) {
		if (teeliza_buf_append(&quote, h->body, h->body_len) != TEELIZA_OK) {
			free(coll_text);
			api_reply_error(reply, 500, "out of memory");
			return;
		}
	} else if (!decode_hex_quote(&quote, why, sizeof(why), is_json ? json_string_value(jq) : (const char *)h->body,
	                             is_json ? json_string_length(jq) : h->body_len)) {
		free(coll_text);
		teeliza_buf_free(&quote);
		api_reply_error(reply, 400, why);
		return;
	}
	if (is_json && !identity_request(&wanted, &event_log, &has_log, r->body, why, sizeof(why))) {
		free(coll_text);
		teeliza_buf_free(&quote);
		teeliza_buf_free(&event_log);
		api_reply_error(reply, 400, why);
		return;
	}
	memset(&in, 0, sizeof(in));
	in.quote = quote.data;
	in.quote_len = quote.len;
	in.collateral_json = coll;
	in.collateral_len = coll_len;
	in.root_pem = json_is_string(jr) ? json_string_value(jr) : NULL;
	in.root_pem_len = json_is_string(jr) ? json_string_length(jr) : 0;
	in.now = now;
	in.event_log = has_log ? (event_log.data != NULL ? (const char *)event_log.data : "") : NULL;
	in.event_log_len = event_log.len;
	in.identity = wanted.policy;
	if (api_verify_quote(&out, &status, api->verifier, &in) != TEELIZA_OK)
		api_reply_error(reply, 500, teeliza_errmsg());
	else
		api_reply_json(reply, status, out);
	free(coll_text);
	teeliza_buf_free(&quote);
	teeliza_buf_free(&event_log);
}

const api_route api_verify_routes[] = {
	{API_POST, "/verify", API_TOKEN, post_verify, 0},
	{API_POST, "/verify/reply", API_TOKEN, api_post_verify_reply, 0},
	{0, NULL, API_OPEN, NULL, 0},
};
