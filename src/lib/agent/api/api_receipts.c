/*
 * teeliza's verifiability routes (docs/VERIFIABILITY.md):
 *  - GET /agents/:agentId/receipts/:receiptId: a reply's signed receipt;
 *    with ?bundle=1 also its statement, quote, event log and key proof
 *    (listed in api_records.c's table, after the memories route it could
 *    be confused with, as is the next);
 *  - GET /agents/:agentId/attestation?nonce=HEX: a fresh quote binding the
 *    nonce, the reply key and the wallets, rate-limited per client since
 *    each one costs a quote.
 * And the receipt of a POST /:agentId/message reply (api_message.c calls
 * api_send_with_receipt).
 */
#include "agent/api/api_rate.h"
#include "agent/api/api_route.h"
#include "teeliza/agent/tee_receipts.h"
#include "teeliza/common/encoding.h"
#include "teeliza/tee/receipt.h"

#include <stdlib.h>
#include <string.h>

/* Fresh attestations per client per minute; a quote is slow and the TEE is shared by every agent. */
static api_rate attest_rate = API_RATE_INIT(10u);

/* True when the query asks for the receipt in the body (receipt=1 or receipt=true). */
static bool wants_receipt_body(const char *query)
{
	char v[8];
	const char *p = api_query_param(v, sizeof(v), query, "receipt");

	return p != NULL && (strcmp(p, "1") == 0 || strcmp(p, "true") == 0);
}

/* True when the receipt route is asked for the whole bundle (bundle=1 or bundle=true). */
static bool wants_bundle(const char *query)
{
	char v[8];
	const char *p = api_query_param(v, sizeof(v), query, "bundle");

	return p != NULL && (strcmp(p, "1") == 0 || strcmp(p, "true") == 0);
}

/* Send out with receipt id (text: out as serialised and hashed), as api_send_with_receipt describes. */
static void send_receipted(http_server_reply *reply, agent_runtime *rt, const api_request *r, const char *id,
                           const char *text, json_t *out, unsigned status)
{
	static _Thread_local char header[sizeof(AGENT_RECEIPT_HEADER) + 2 + AGENT_RECEIPT_ID_BUFSZ];
	json_t *full = NULL, *last;

	snprintf(header, sizeof(header), "%s: %s", AGENT_RECEIPT_HEADER, id);
	last = json_array_size(out) > 0 ? json_array_get(out, json_array_size(out) - 1) : NULL;
	if (wants_receipt_body(r->http->query) && json_is_object(last) &&
	    agent_reply_receipt_json(&full, rt, id) == TEELIZA_OK)
		json_object_set_new(last, "teelizaReceipt", full);
	if (full != NULL) {
		api_reply_json(reply, status, out);
	} else {
		/* exactly the bytes the receipt hashed */
		teeliza_buf_reset(&reply->body);
		reply->content_type = "application/json; charset=utf-8";
		reply->status = status;
		if (teeliza_buf_append_str(&reply->body, text) != TEELIZA_OK) {
			json_decref(out);
			api_reply_error(reply, 500, "out of memory");
			return;
		}
		json_decref(out);
	}
	/* a browser client may read the header too (CORS hides it otherwise) */
	for (size_t i = 0, added = 0; added < 2 && i < sizeof(reply->extra_headers) / sizeof(reply->extra_headers[0]);
	     i++) {
		if (reply->extra_headers[i] == NULL)
			reply->extra_headers[i] = added++ == 0 ? header
			                                       : "Access-Control-Expose-Headers: " AGENT_RECEIPT_HEADER;
	}
}

static char *reply_text(const json_t *out)
{
	return json_dumps(out, JSON_COMPACT | JSON_PRESERVE_ORDER | JSON_ENCODE_ANY);
}

void api_send_with_receipt(http_server_reply *reply, agent_api *api, agent_runtime *rt, const api_request *r,
                           const char *room_id, json_t *out)
{
	api_send_with_receipt_status(reply, api, rt, r, room_id, out, 200);
}

void api_send_with_receipt_status(http_server_reply *reply, agent_api *api, agent_runtime *rt, const api_request *r,
                                  const char *room_id, json_t *out, unsigned status)
{
	char id[AGENT_RECEIPT_ID_BUFSZ];
	char *text;
	teeliza_err err;

	if (!agent_reply_receipts_on(rt)) {
		api_reply_json(reply, status, out);
		return;
	}
	text = reply_text(out);
	if (text == NULL) {
		api_reply_json(reply, status, out);
		return;
	}
	err = agent_reply_receipt(id, rt, room_id, r->http->body, r->http->body_len, text, strlen(text));
	if (err) {
		/* The reply stands without a receipt; the operator learns why. */
		agent_log(api->log, "Agent %s: no receipt for this reply: %s", agent_runtime_name(rt),
		          teeliza_errmsg()[0] ? teeliza_errmsg() : teeliza_strerror(err));
		api_reply_json(reply, status, out);
	} else {
		send_receipted(reply, rt, r, id, text, out, status);
	}
	free(text);
}

_Static_assert(sizeof(((api_reply_seal *)0)->id) == AGENT_RECEIPT_ID_BUFSZ, "a receipt id");

teeliza_err api_seal_reply(void *ctx, agent_runtime *rt, const json_t *reply, const agent_memory *memories, size_t n)
{
	api_reply_seal *seal = ctx;
	teeliza_err err;

	seal->called = true;
	seal->id[0] = 0;
	if (!agent_reply_receipts_on(rt))
		return teeliza_set_error(TEELIZA_ERR_UNSUPPORTED, "no receipts"); /* the runtime stores the memories */
	free(seal->text);
	seal->text = reply_text(reply);
	if (seal->text == NULL)
		return teeliza_set_error(TEELIZA_ERR_NOMEM, "out of memory");
	err = agent_reply_receipt_with_memories(seal->id, rt, seal->room_id, seal->r->http->body,
	                                        seal->r->http->body_len, seal->text, strlen(seal->text), memories, n);
	if (err) {
		/* The reply stands without a receipt; the operator learns why. */
		agent_log(seal->api->log, "Agent %s: no receipt for this reply: %s", agent_runtime_name(rt),
		          teeliza_errmsg()[0] ? teeliza_errmsg() : teeliza_strerror(err));
		seal->id[0] = 0;
	}
	return err;
}

void api_reply_seal_free(api_reply_seal *seal)
{
	free(seal->text);
	seal->text = NULL;
}

void api_send_sealed(http_server_reply *reply, agent_runtime *rt, api_reply_seal *seal, json_t *out)
{
	if (!seal->called)
		api_send_with_receipt(reply, seal->api, rt, seal->r, seal->room_id, out);
	else if (seal->id[0] == 0 || seal->text == NULL)
		api_reply_json(reply, 200, out);
	else
		send_receipted(reply, rt, seal->r, seal->id, seal->text, out, 200);
	api_reply_seal_free(seal);
}

void api_get_receipt(http_server_reply *reply, agent_api *api, const api_request *r)
{
	const char *id = r->param[1];
	agent_runtime *rt;
	json_t *out = NULL;
	uint8_t raw[32];
	size_t n = 0;
	teeliza_err err;

	(void)api;
	rt = agent_registry_find(api->registry, r->param[0], true);
	if (rt == NULL) {
		api_reply_error(reply, 404, "Agent not found");
		return;
	}
	if (strlen(id) != 64 || teeliza_hex_decode(raw, sizeof(raw), &n, id, 64, false) != TEELIZA_OK) {
		agent_runtime_release(rt);
		api_reply_error(reply, 404, "Receipt not found");
		return;
	}
	err = wants_bundle(r->http->query) ? agent_reply_receipt_bundle(&out, rt, id)
	                                   : agent_reply_receipt_json(&out, rt, id);
	if (err == TEELIZA_ERR_NOT_FOUND || err == TEELIZA_ERR_UNSUPPORTED)
		api_reply_error(reply, 404, "Receipt not found");
	else if (err == TEELIZA_ERR_CONNECT)
		api_reply_error(reply, 503, "The reply key's statement is not quoted yet");
	else if (err)
		api_reply_error(reply, 500, "Failed to fetch the receipt");
	else
		api_reply_json(reply, 200, out);
	agent_runtime_release(rt);
}

void api_get_fresh_attestation(http_server_reply *reply, agent_api *api, const api_request *r)
{
	char nonce_hex[2 * TEE_NONCE_MAX + 8];
	uint8_t nonce[TEE_NONCE_MAX];
	size_t n = 0;
	agent_runtime *rt;
	json_t *out = NULL;
	unsigned wait;
	teeliza_err err;

	rt = agent_registry_find(api->registry, r->param[0], true);
	if (rt == NULL) {
		api_reply_error(reply, 404, "Agent not found");
		return;
	}
	if (api_query_param(nonce_hex, sizeof(nonce_hex), r->http->query, "nonce") == NULL ||
	    teeliza_hex_decode(nonce, sizeof(nonce), &n, nonce_hex, strlen(nonce_hex), true) != TEELIZA_OK ||
	    n < TEE_NONCE_MIN || n > TEE_NONCE_MAX) {
		agent_runtime_release(rt);
		api_reply_error(reply, 400, "nonce must be 16 to 64 bytes as hex (?nonce=HEX)");
		return;
	}
	wait = api_rate_check(&attest_rate, r->http->remote != NULL ? r->http->remote : "");
	if (wait > 0) {
		agent_runtime_release(rt);
		api_reply_rate_limited(reply, wait, "Too many fresh attestations; try again later");
		return;
	}
	err = agent_fresh_attestation(&out, rt, nonce, n);
	if (err == TEELIZA_ERR_UNSUPPORTED)
		api_reply_error(reply, 404, "This agent has no TEE plugin: no attestation");
	else if (err)
		api_reply_json(reply, 503, json_pack("{s:s, s:s}", "error", "Attestation unavailable", "details",
		                                     teeliza_errmsg()));
	else
		api_reply_json(reply, 200, out);
	agent_runtime_release(rt);
}

