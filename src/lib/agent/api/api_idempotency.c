/*
 * Idempotent messages for replicas behind a load balancer (docs/DEPLOY.md,
 * "Scale-out"): a POST /:agentId/message with an Idempotency-Key header (or
 * a messageId body field, a teeliza extension Eliza ignores) is claimed in
 * the shared store before any work (agent_store_request_claim). The first
 * claimant runs the model and stores its answer; a retry with the same key
 * on any replica gets that answer back byte for byte (status, body, the
 * receipt header) without a second model call; the same key with another
 * body is refused (422); a duplicate that arrives while the first is still
 * being worked on waits a little for it, then gets 409 with Retry-After. A
 * replica that dies holding a claim loses it when its lease runs out, and
 * the next retry takes it over. An answer whose completion finds the
 * database unreachable is kept and recorded once it is back
 * (api_idem_pending.c), never released: its memories are written, and a
 * retry must get it back rather than run the model again. A request without
 * a key is handled as before: nothing to de-duplicate (a content hash would
 * merge two genuinely repeated messages).
 */
#include "agent/api/api_route.h"
#include "teeliza/common/encoding.h"

#include <openssl/evp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

/* How long a duplicate waits for the first to finish before 409; the lease bounds it too. */
#define WAIT_MAX_MS 5000
#define WAIT_STEP_MS 50
#define REPLAY_HEADER_MAX 320

static bool unreachable(teeliza_err err)
{
	return err == TEELIZA_ERR_CONNECT || err == TEELIZA_ERR_TIMEOUT || err == TEELIZA_ERR_IO;
}

/* The request's key, or NULL when it has none; *bad when it has one that is not 1..128 printable ASCII. */
static const char *request_key(bool *bad, const api_request *r)
{
	const char *k = r->http->idempotency_key;
	size_t n;

	*bad = false;
	if (k == NULL || k[0] == '\0')
		k = r->body != NULL ? json_string_value(json_object_get(r->body, "messageId")) : NULL;
	if (k == NULL)
		return NULL;
	n = strlen(k);
	*bad = n == 0 || n > AGENT_REQUEST_KEY_MAX;
	for (size_t i = 0; i < n && !*bad; i++)
		*bad = (unsigned char)k[i] < 0x20 || (unsigned char)k[i] > 0x7e;
	return k;
}

/* Hex SHA-256 of what the request asks: method, path, query, content type and body. */
static teeliza_err request_hash(char out[65], const api_request *r)
{
	const http_server_request *h = r->http;
	const char *parts[4] = { h->method, h->path, h->query != NULL ? h->query : "",
	                         h->content_type != NULL ? h->content_type : "" };
	EVP_MD_CTX *ctx = EVP_MD_CTX_new();
	uint8_t md[32];
	unsigned len = 0;
	int ok = ctx != NULL && EVP_DigestInit_ex(ctx, EVP_sha256(), NULL) == 1;

	for (size_t i = 0; ok && i < 4; i++)
		ok = EVP_DigestUpdate(ctx, parts[i], strlen(parts[i]) + 1) == 1; /* the NUL separates them */
	if (ok)
		ok = EVP_DigestUpdate(ctx, h->body, h->body_len) == 1 && EVP_DigestFinal_ex(ctx, md, &len) == 1;
	EVP_MD_CTX_free(ctx);
	if (!ok || len != sizeof(md))
		return teeliza_set_error(TEELIZA_ERR_CRYPTO, "SHA-256 failed");
	teeliza_hex_encode(out, md, sizeof(md));
	return TEELIZA_OK;
}

/* Add a "Name: value" line to the reply's first free slot (the line must outlive the reply). */
static void add_header(http_server_reply *reply, const char *line)
{
	for (size_t i = 0; i < sizeof(reply->extra_headers) / sizeof(reply->extra_headers[0]); i++) {
		if (reply->extra_headers[i] == NULL) {
			reply->extra_headers[i] = line;
			return;
		}
	}
}

/* Send the stored answer again: {"status":N,"type":"…","headers":["Name: value",…],"body":"…"}. */
static void replay(http_server_reply *reply, agent_api *api, const char *stored)
{
	static _Thread_local char headers[8][REPLAY_HEADER_MAX];
	static _Thread_local char type[128];
	json_t *j = json_loads(stored, 0, NULL), *hs;
	const char *body;
	json_int_t status;
	size_t n = 0;

	body = json_string_value(json_object_get(j, "body"));
	status = json_integer_value(json_object_get(j, "status"));
	hs = json_object_get(j, "headers");
	if (body == NULL || status < 200 || status > 299 || !json_is_array(hs)) {
		agent_log(api->log, "A stored reply cannot be read back; answering 500");
		json_decref(j);
		api_reply_error(reply, 500, "the stored reply of this request cannot be read");
		return;
	}
	teeliza_buf_reset(&reply->body);
	if (teeliza_buf_append(&reply->body, body, json_string_length(json_object_get(j, "body"))) != TEELIZA_OK) {
		json_decref(j);
		api_reply_error(reply, 500, "out of memory");
		return;
	}
	reply->status = (unsigned)status;
	snprintf(type, sizeof(type), "%s",
	         json_is_string(json_object_get(j, "type")) ? json_string_value(json_object_get(j, "type"))
	                                                     : "application/json; charset=utf-8");
	reply->content_type = type;
	for (size_t i = 0; i < json_array_size(hs) && n < 7; i++) {
		const char *h = json_string_value(json_array_get(hs, i));

		if (h == NULL || strchr(h, ':') == NULL || strlen(h) >= REPLAY_HEADER_MAX)
			continue;
		snprintf(headers[n], REPLAY_HEADER_MAX, "%s", h);
		add_header(reply, headers[n++]);
	}
	add_header(reply, "Idempotent-Replayed: true");
	json_decref(j);
}

static void sleep_ms(long ms)
{
	struct timespec ts = { ms / 1000, (ms % 1000) * 1000000L };

	nanosleep(&ts, NULL);
}

bool api_idem_begin(api_idem *idem, http_server_reply *reply, agent_api *api, const api_request *r,
                    agent_runtime *rt, const char *user_id, const char *room_id)
{
	static _Thread_local char retry_after[40];
	agent_request_claim c;
	agent_request_result res;
	char hash[65];
	const char *key;
	bool bad;
	long waited = 0;
	teeliza_err err;

	memset(idem, 0, sizeof(*idem));
	key = request_key(&bad, r);
	if (key == NULL)
		return true;
	if (bad) {
		api_reply_error(reply, 400, "Idempotency-Key (or messageId) must be 1 to 128 printable ASCII characters");
		return false;
	}
	snprintf(idem->key, sizeof(idem->key), "%s", key);
	snprintf(idem->agent_id, sizeof(idem->agent_id), "%s", agent_runtime_id(rt));
	err = agent_uuid_request_ids(idem->user_memory_id, idem->reply_memory_id, idem->agent_id, room_id, user_id, key);
	if (!err)
		err = request_hash(hash, r);
	memset(&c, 0, sizeof(c));
	c.agent_id = idem->agent_id;
	c.request_key = idem->key;
	c.body_hash = hash;
	c.room_id = room_id;
	c.user_memory_id = idem->user_memory_id;
	c.reply_memory_id = idem->reply_memory_id;
	c.lease_ms = api->request_lease_ms > 0 ? api->request_lease_ms : AGENT_API_DEFAULT_REQUEST_LEASE_S * 1000;
	/* marked before the claim, so that a duplicate on this replica never takes it back from us */
	(void)api_idem_in_flight(idem->agent_id, idem->key, 1);
	for (;;) {
		memset(&res, 0, sizeof(res));
		c.own_stale = api_idem_in_flight(idem->agent_id, idem->key, 0) == 1; /* only our own mark */
		if (!err && api_idem_pending_has(api->pending, idem->agent_id, idem->key)) {
			/* answered here, its completion waits for the database: never claimed again meanwhile */
			res.outcome = AGENT_REQUEST_BUSY;
			res.retry_after_ms = 1000;
		} else if (!err) {
			idem->lease_until_ms = agent_store_now_ms() + c.lease_ms;
			err = agent_store_request_claim(api->registry->cfg.store, &res, &c);
		}
		if (err) {
			agent_log(api->log, "Agent %s: cannot claim request %s: %s", agent_runtime_name(rt), idem->key,
			          teeliza_errmsg()[0] ? teeliza_errmsg() : teeliza_strerror(err));
			if (unreachable(err)) {
				api_reply_error(reply, 503, "The database is unreachable; retry shortly");
				add_header(reply, "Retry-After: 1");
			} else {
				api_reply_error(reply, 500, "cannot record this request");
			}
			(void)api_idem_in_flight(idem->agent_id, idem->key, -1);
			return false;
		}
		/* polling again also takes the request over once the holder's lease runs out */
		if (res.outcome != AGENT_REQUEST_BUSY || waited >= WAIT_MAX_MS)
			break;
		agent_request_result_clear(&res);
		sleep_ms(WAIT_STEP_MS);
		waited += WAIT_STEP_MS;
	}
	switch (res.outcome) {
	case AGENT_REQUEST_CLAIMED:
		if (res.attempts > 1)
			agent_log(api->log, "Agent %s: request %s taken over (attempt %u): its replica's lease ran out",
			          agent_runtime_name(rt), idem->key, res.attempts);
		idem->active = true; /* the mark stays until api_idem_end */
		agent_request_result_clear(&res);
		return true;
	case AGENT_REQUEST_DONE:
		replay(reply, api, res.response);
		break;
	case AGENT_REQUEST_CONFLICT:
		api_reply_error(reply, 422, "Idempotency-Key was already used for a different request");
		break;
	case AGENT_REQUEST_BUSY:
	default:
		api_reply_error(reply, 409, "This request is still being answered; retry after the time Retry-After gives");
		snprintf(retry_after, sizeof(retry_after), "Retry-After: %lld",
		         (long long)((res.retry_after_ms + 999) / 1000 > 0 ? (res.retry_after_ms + 999) / 1000 : 1));
		add_header(reply, retry_after);
		break;
	}
	agent_request_result_clear(&res);
	(void)api_idem_in_flight(idem->agent_id, idem->key, -1);
	return false;
}

void api_idem_end(api_idem *idem, const http_server_reply *reply, agent_api *api, agent_runtime *rt)
{
	agent_store *s = api->registry->cfg.store;
	json_t *headers, *stored;
	char *text = NULL;
	teeliza_err err;

	if (!idem->active)
		return;
	idem->active = false;
	/* the in-flight mark stays until the claim is settled: a duplicate here must not take it back meanwhile */
	if (reply->status < 200 || reply->status > 299) {
		/* nothing worth repeating: the next try starts afresh */
		if (agent_store_request_release(s, idem->agent_id, idem->key) != TEELIZA_OK)
			teeliza_clear_error();
		api_idem_unmark(idem->agent_id, idem->key);
		return;
	}
	headers = json_array();
	for (size_t i = 0; headers != NULL && i < sizeof(reply->extra_headers) / sizeof(reply->extra_headers[0]); i++)
		if (reply->extra_headers[i] != NULL)
			json_array_append_new(headers, json_string(reply->extra_headers[i]));
	stored = json_pack("{s:i, s:s, s:o, s:s%}", "status", (int)reply->status, "type",
	                   reply->content_type != NULL ? reply->content_type : "application/json", "headers", headers,
	                   "body", reply->body.data != NULL ? (const char *)reply->body.data : "", reply->body.len);
	if (stored != NULL)
		text = json_dumps(stored, JSON_COMPACT);
	json_decref(stored);
	err = text != NULL ? agent_store_request_complete(s, idem->agent_id, idem->key, text)
	                   : teeliza_set_error(TEELIZA_ERR_NOMEM, "out of memory");
	if (unreachable(err) && api->pending != NULL) {
		/* the client has its answer and its memories are stored: record it once the database is back */
		agent_log(api->log, "Agent %s: request %s answered; recording it as done waits for the database: %s",
		          agent_runtime_name(rt), idem->key, teeliza_errmsg()[0] ? teeliza_errmsg() : teeliza_strerror(err));
		teeliza_clear_error();
		api_idem_pending_add(api->pending, idem->agent_id, idem->key, text, idem->lease_until_ms);
		return; /* the entry holds the mark now */
	}
	free(text);
	if (err) {
		/* NOT_FOUND: another replica took the claim over after our lease, and its answer is the one kept */
		agent_log(api->log, "Agent %s: request %s answered but not recorded: %s", agent_runtime_name(rt), idem->key,
		          teeliza_errmsg()[0] ? teeliza_errmsg() : teeliza_strerror(err));
		if (err != TEELIZA_ERR_NOT_FOUND && agent_store_request_release(s, idem->agent_id, idem->key) != TEELIZA_OK)
			teeliza_clear_error();
		teeliza_clear_error();
	}
	api_idem_unmark(idem->agent_id, idem->key);
}
