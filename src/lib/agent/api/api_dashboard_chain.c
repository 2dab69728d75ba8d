/*
 * GET /dashboard/api/agents/:agentId/chain: the agent's own chain of trust,
 * as the dashboard's chain card draws it (docs/DASHBOARD.md): its latest
 * receipt's bundle checked link by link (api_verify_reply: root, PCK, QE,
 * TD quote, RTMR replay, app identity, KMS root, app key, reply key and
 * wallets, receipt, signature, hash chain against the receipt before it in
 * the store), and its recent receipts, newest first, each checked as a
 * receipt of that statement's key following the one before it.
 */
#include "agent/api/api_dashboard.h"
#include "agent/api/api_rate.h"
#include "agent/api/api_verifier.h"
#include "teeliza/agent/tee_receipts.h"

#include <stdlib.h>
#include <string.h>
#include <time.h>

#define CHAIN_RECENT 8u
#define CHAIN_RATE_PER_MIN 60u

static api_rate chain_rate = API_RATE_INIT(CHAIN_RATE_PER_MIN);

/* Up to CHAIN_RECENT receipts (the receipt route's answers), newest first, walking prev from the latest. */
static size_t recent(json_t *got[CHAIN_RECENT], bool *reached_start, agent_runtime *rt, const char *last_id)
{
	char id[65];
	size_t n = 0;

	*reached_start = false;
	snprintf(id, sizeof(id), "%s", last_id);
	while (n < CHAIN_RECENT && agent_reply_receipt_json(&got[n], rt, id) == TEELIZA_OK) {
		json_t *r = json_loads(json_string_value(json_object_get(got[n], "receipt")), 0, NULL);
		const char *prev = json_string_value(json_object_get(r, "prev"));
		json_int_t seq = json_integer_value(json_object_get(got[n], "seq"));

		n++;
		if (seq <= 1 || prev == NULL || strlen(prev) != 64) {
			*reached_start = seq == 1;
			json_decref(r);
			break;
		}
		snprintf(id, sizeof(id), "%s", prev);
		json_decref(r);
	}
	return n;
}

/* One row of the receipts list: what the receipt says, for people (the verdict is the server's). */
static json_t *receipt_row(const json_t *got, const json_t *status)
{
	json_t *r = json_loads(json_string_value(json_object_get(got, "receipt")), 0, NULL);
	json_t *row = json_pack("{s:O?, s:O?, s:O?, s:O?, s:O?, s:O?, s:O?}", "id", json_object_get(got, "id"), "seq",
	                        json_object_get(got, "seq"), "time", json_object_get(r, "time"), "roomId",
	                        json_object_get(r, "roomId"), "model", json_object_get(r, "model"), "status",
	                        json_object_get(status, "status"), "reason", json_object_get(status, "reason"));

	json_decref(r);
	return row;
}

void api_dashboard_chain(http_server_reply *reply, agent_api *api, const api_request *r)
{
	json_t *got[CHAIN_RECENT] = {NULL}, *out = NULL, *latest = NULL, *statuses = NULL, *rows, *bundle = NULL;
	tee_reply_item items[CHAIN_RECENT];
	agent_receipt last;
	agent_runtime *rt;
	agent_tee *tee;
	api_reply_input in;
	char *text = NULL;
	size_t n = 0, i;
	bool reached_start = false;
	unsigned wait;
	teeliza_err err;

	rt = agent_registry_find(api->registry, r->param[0], true);
	if (rt == NULL) {
		api_reply_error(reply, 404, "Agent not found");
		return;
	}
	wait = api_rate_check(&chain_rate, r->http->remote != NULL ? r->http->remote : "");
	if (wait > 0) {
		agent_runtime_release(rt);
		api_reply_rate_limited(reply, wait, "Too many chain checks; try again later");
		return;
	}
	tee = agent_runtime_tee(rt);
	if (tee == NULL || !agent_reply_receipts_on(rt)) {
		api_reply_json(reply, 200, json_pack("{s:s, s:n, s:[], s:s}", "agentId", agent_runtime_id(rt), "latest",
		                                     "receipts", "note",
		                                     tee == NULL ? "the TEE plugin is off: no reply key, no receipts"
		                                                 : "receipts are off (RECEIPT_SIGNATURE=off)"));
		agent_runtime_release(rt);
		return;
	}
	err = agent_store_last_receipt(agent_runtime_store(rt), &last, agent_runtime_id(rt));
	if (err == TEELIZA_OK) {
		n = recent(got, &reached_start, rt, last.id);
		err = agent_reply_receipt_bundle(&bundle, rt, last.id);
		agent_receipt_clear(&last);
	}
	if (err) {
		api_reply_json(reply, 200, json_pack("{s:s, s:n, s:[], s:s}", "agentId", agent_runtime_id(rt), "latest",
		                                     "receipts", "note",
		                                     err == TEELIZA_ERR_NOT_FOUND
		                                         ? "no reply has a receipt yet: chat with the agent, then reload"
		                                         : err == TEELIZA_ERR_CONNECT ? "the reply key's statement is not "
		                                                                        "quoted yet"
		                                                                      : "the receipts cannot be read"));
		goto done;
	}
	text = json_dumps(bundle, JSON_COMPACT | JSON_PRESERVE_ORDER);
	if (text == NULL) {
		api_reply_error(reply, 500, "out of memory");
		goto done;
	}
	memset(&in, 0, sizeof(in));
	in.bundle = text;
	in.bundle_len = strlen(text);
	in.now = (int64_t)time(NULL);
	in.kms_root_hex = agent_tee_kms_root(tee);
	/* the latest against the one before it; missing from the store (not merely past the walk): the chain broke */
	if (n >= 2) {
		in.prev = json_string_value(json_object_get(got[1], "receipt"));
		in.prev_len = strlen(in.prev);
	} else if (!reached_start) {
		in.prev_absent = "which is not in this agent's store";
	}
	err = api_verify_reply(&latest, api->verifier, &in);
	for (i = 0; !err && i < n; i++) {
		const json_t *g = got[n - 1 - i]; /* oldest first */

		items[i].receipt = json_string_value(json_object_get(g, "receipt"));
		items[i].receipt_len = strlen(items[i].receipt);
		items[i].signature_hex = json_string_value(json_object_get(g, "signature"));
		items[i].eip191_hex = json_string_value(json_object_get(g, "eip191"));
	}
	in.prev = NULL;
	in.prev_len = 0;
	in.prev_absent = NULL;
	if (!err)
		err = api_verify_reply_receipts(&statuses, api->verifier, &in, items, n);
	rows = json_array();
	for (i = 0; !err && rows != NULL && i < n; i++)
		json_array_append_new(rows, receipt_row(got[i], json_array_get(statuses, n - 1 - i)));
	if (err || rows == NULL) {
		json_decref(rows);
		api_reply_error(reply, 500, "out of memory");
		goto done;
	}
	out = json_pack("{s:s, s:o, s:o, s:b}", "agentId", agent_runtime_id(rt), "latest", latest, "receipts", rows,
	                "reachedStart", reached_start);
	latest = NULL;
	api_reply_json(reply, out != NULL ? 200 : 500, out != NULL ? out : json_pack("{s:s}", "error", "out of memory"));
done:
	for (i = 0; i < CHAIN_RECENT; i++)
		json_decref(got[i]);
	json_decref(latest);
	json_decref(statuses);
	json_decref(bundle);
	free(text);
	agent_runtime_release(rt);
}
