/*
 * POST /verify/reply (listed in api_verify.c's table): a reply checked link by link (api_verify_reply over
 * tee_verify_reply), as the dashboard's paste box sends it and anyone may:
 *  - a reply bundle (GET /agents/:id/receipts/:rid?bundle=1) as the body, or
 *  - {"bundle": <that bundle, as an object or its text>, "previous": …,
 *    "kmsRoot": "HEX", "now": UNIX}, where "bundle" may also be what the
 *    receipt route serves without ?bundle=1 ({"receipt","signature",…}):
 *    the statement, quote and event log are then those of the agent that
 *    signed it, when that agent is hosted here.
 * The previous receipt, unless "previous" gives it, is looked up in the
 * signing agent's store when the agent is hosted here (and its absence breaks
 * the hash chain); the KMS root, unless "kmsRoot" gives it, is that agent's
 * TEE_KMS_ROOT. Collateral comes only from a simulator this agent knows or
 * the operator's PCCS: nothing in the request is fetched or opened.
 * Rate-limited per client, and at most 1 MiB, as POST /verify.
 */
#include "agent/api/api_rate.h"
#include "agent/api/api_route.h"
#include "agent/api/api_verifier.h"
#include "teeliza/agent/tee_receipts.h"
#include "teeliza/common/encoding.h"

#include <openssl/sha.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>

#define VERIFY_REPLY_MAX_BODY ((size_t)1 << 20)
#define VERIFY_REPLY_RATE_PER_MIN 60u

static api_rate reply_rate = API_RATE_INIT(VERIFY_REPLY_RATE_PER_MIN);

/* What the agent that signed a receipt knows about it, when that agent is hosted here. */
struct signer {
	agent_runtime *rt;           /* NULL: not hosted here */
	char *prev;                  /* the previous receipt's canonical text, or NULL */
	const char *prev_absent;     /* it is known not to exist: why */
	const char *kms_root;        /* the agent's TEE_KMS_ROOT, or NULL */
};

static void signer_free(struct signer *s)
{
	free(s->prev);
	if (s->rt != NULL)
		agent_runtime_release(s->rt);
}

/* The receipt text's agent (as hosted here), its KMS root and the receipt before it in its store. */
static void signer_of(struct signer *s, agent_api *api, const char *receipt, bool want_prev)
{
	json_t *r = receipt != NULL ? json_loads(receipt, JSON_REJECT_DUPLICATES, NULL) : NULL;
	const char *agent = json_string_value(json_object_get(r, "agentId"));
	const char *prev = json_string_value(json_object_get(r, "prev"));
	json_t *seq = json_object_get(r, "seq"), *found = NULL;
	agent_tee *tee;

	memset(s, 0, sizeof(*s));
	if (agent != NULL)
		s->rt = agent_registry_find(api->registry, agent, false);
	if (s->rt == NULL) {
		json_decref(r);
		return;
	}
	tee = agent_runtime_tee(s->rt);
	s->kms_root = tee != NULL ? agent_tee_kms_root(tee) : NULL;
	if (want_prev && json_is_integer(seq) && json_integer_value(seq) > 1 && prev != NULL && strlen(prev) == 64) {
		teeliza_err err = agent_reply_receipt_json(&found, s->rt, prev);
		const char *text = json_string_value(json_object_get(found, "receipt"));

		if (err == TEELIZA_OK && text != NULL)
			s->prev = strdup(text);
		else if (err == TEELIZA_ERR_NOT_FOUND)
			s->prev_absent = "which is not a receipt of this agent: its store, on this server, has no receipt "
			                 "with that id (a receipt before it was deleted, or prev was changed)";
		json_decref(found);
	}
	json_decref(r);
}

/*
 * A receipt route's answer ({"receipt","signature",…} without "statement")
 * made into a bundle with its signer's statement, quote and event log: the
 * stored bundle of the same receipt when there is one, else of the agent's
 * latest; the pasted receipt and signatures replace its own. NULL (and a 422
 * message in why) when the signer is not hosted here or has no statement.
 */
static json_t *complete_bundle(const json_t *pasted, const struct signer *s, char *why, size_t why_len)
{
	const char *text = json_string_value(json_object_get(pasted, "receipt"));
	const char *keys[] = {"signature", "eip191", "id", "publicKey"};
	char id[65];
	uint8_t h[32];
	agent_receipt last;
	json_t *b = NULL;
	size_t i;

	if (s->rt == NULL) {
		snprintf(why, why_len, "a receipt alone is checked against the statement of the agent that signed it, and "
		                       "that agent is not hosted here: paste its bundle (GET "
		                       "/agents/:agentId/receipts/:receiptId?bundle=1)");
		return NULL;
	}
	SHA256((const unsigned char *)text, strlen(text), h);
	teeliza_hex_encode(id, h, 32);
	if (agent_reply_receipt_bundle(&b, s->rt, id) != TEELIZA_OK) {
		if (agent_store_last_receipt(agent_runtime_store(s->rt), &last, agent_runtime_id(s->rt)) == TEELIZA_OK) {
			if (agent_reply_receipt_bundle(&b, s->rt, last.id) != TEELIZA_OK)
				b = NULL;
			agent_receipt_clear(&last);
		}
	}
	if (b == NULL) {
		snprintf(why, why_len, "agent %s has no quoted statement to check this receipt against yet",
		         agent_runtime_id(s->rt));
		return NULL;
	}
	json_object_set(b, "receipt", json_object_get(pasted, "receipt"));
	json_object_del(b, "prev"); /* the bundle's copy of the receipt's own prev: the stored one's */
	for (i = 0; i < sizeof(keys) / sizeof(keys[0]); i++) {
		const json_t *v = json_object_get(pasted, keys[i]);

		if (v != NULL)
			json_object_set(b, keys[i], (json_t *)v);
		else
			json_object_del(b, keys[i]);
	}
	return b;
}

/* "previous": a receipt's text, the receipt route's answer or a bundle (object or text). */
static bool previous_of(teeliza_buf *out, const json_t *prev, char *why, size_t why_len)
{
	char *text = NULL;
	teeliza_err err;

	if (json_is_object(prev))
		text = json_dumps(prev, JSON_COMPACT | JSON_PRESERVE_ORDER);
	else if (!json_is_string(prev)) {
		snprintf(why, why_len, "\"previous\" must be the previous receipt: its text, the receipt route's answer or "
		                       "its bundle");
		return false;
	}
	err = tee_reply_receipt_text(out, text != NULL ? text : json_string_value(prev),
	                             text != NULL ? strlen(text) : json_string_length(prev));
	free(text);
	if (err) {
		snprintf(why, why_len, "\"previous\": %s", teeliza_errmsg());
		return false;
	}
	return teeliza_buf_append(out, "", 1) == TEELIZA_OK; /* NUL, not counted by the caller */
}

static bool kms_root_of(const char **out, const json_t *k, char *why, size_t why_len)
{
	const char *s = json_string_value(k);
	uint8_t pub[33];
	size_t n = 0;

	*out = NULL;
	if (k == NULL || json_is_null(k))
		return true;
	if (s == NULL || teeliza_hex_decode(pub, sizeof(pub), &n, s, json_string_length(k), true) != TEELIZA_OK ||
	    n != 33 || (pub[0] != 2 && pub[0] != 3)) {
		snprintf(why, why_len, "\"kmsRoot\" must be the KMS root's compressed secp256k1 public key: 33 bytes as hex");
		return false;
	}
	*out = s;
	return true;
}

void api_post_verify_reply(http_server_reply *reply, agent_api *api, const api_request *r)
{
	const http_server_request *h = r->http;
	const json_t *body = r->body, *jn, *sub;
	json_t *subject = NULL, *built = NULL, *out = NULL;
	char why[512], *text = NULL;
	const char *kms = NULL, *receipt;
	teeliza_buf prev;
	api_reply_input in;
	struct signer s;
	unsigned wait;

	memset(&s, 0, sizeof(s));
	teeliza_buf_init(&prev, VERIFY_REPLY_MAX_BODY + 1);
	if (h->body_len > VERIFY_REPLY_MAX_BODY) {
		api_reply_error(reply, 413, "the body is larger than 1 MiB; a reply bundle is a few tens of KiB");
		return;
	}
	wait = api_rate_check(&reply_rate, h->remote != NULL ? h->remote : "");
	if (wait > 0) {
		api_reply_rate_limited(reply, wait, "Too many reply checks; try again later");
		return;
	}
	if (strncasecmp(h->content_type, "application/json", 16) != 0) {
		api_reply_error(reply, 400, "send JSON: a reply bundle, or {\"bundle\": …}");
		return;
	}
	if (body == NULL) {
		api_reply_error(reply, r->body_status, r->body_error);
		return;
	}
	memset(&in, 0, sizeof(in));
	in.now = (int64_t)time(NULL);
	jn = json_object_get(body, "now");
	if (jn != NULL && !json_is_null(jn) && (!json_is_integer(jn) || json_integer_value(jn) < 0)) {
		api_reply_error(reply, 400, "\"now\" must be Unix seconds");
		return;
	}
	if (json_is_integer(jn))
		in.now = (int64_t)json_integer_value(jn);
	if (!kms_root_of(&kms, json_object_get(body, "kmsRoot"), why, sizeof(why))) {
		api_reply_error(reply, 400, why);
		return;
	}
	if (json_object_get(body, "previous") != NULL &&
	    !previous_of(&prev, json_object_get(body, "previous"), why, sizeof(why))) {
		api_reply_error(reply, 400, why);
		return;
	}
	/* what to check: the body itself, or its "bundle" (an object, or the pasted text) */
	sub = json_object_get(body, "bundle");
	if (json_object_get(body, "format") != NULL || json_object_get(body, "receipt") != NULL)
		subject = json_incref((json_t *)body);
	else if (json_is_object(sub))
		subject = json_incref((json_t *)sub);
	else if (json_is_string(sub))
		subject = json_loadb(json_string_value(sub), json_string_length(sub), JSON_REJECT_DUPLICATES, NULL);
	else {
		api_reply_error(reply, 400, "send a reply bundle, or {\"bundle\": the bundle or the receipt route's answer}");
		return;
	}
	receipt = json_string_value(json_object_get(subject, "receipt"));
	signer_of(&s, api, receipt, prev.len == 0);
	if (json_is_object(subject) && receipt != NULL && json_object_get(subject, "statement") == NULL &&
	    json_object_get(subject, "format") == NULL) {
		built = complete_bundle(subject, &s, why, sizeof(why));
		if (built == NULL) {
			api_reply_error(reply, 422, why);
			goto done;
		}
	}
	if (subject == NULL) /* the pasted text is not JSON: the verdict's first link says so */
		text = strndup(json_string_value(sub), json_string_length(sub));
	else
		text = json_dumps(built != NULL ? built : subject, JSON_COMPACT | JSON_PRESERVE_ORDER | JSON_ENCODE_ANY);
	if (text == NULL) {
		api_reply_error(reply, 500, "out of memory");
		goto done;
	}
	in.bundle = text;
	in.bundle_len = strlen(text);
	in.kms_root_hex = kms != NULL ? kms : s.kms_root;
	if (prev.len > 0) {
		in.prev = (const char *)prev.data;
		in.prev_len = prev.len - 1;
	} else if (s.prev != NULL) {
		in.prev = s.prev;
		in.prev_len = strlen(s.prev);
	} else {
		in.prev_absent = s.prev_absent;
	}
	if (api_verify_reply(&out, api->verifier, &in) != TEELIZA_OK)
		api_reply_error(reply, 500, teeliza_errmsg());
	else
		api_reply_json(reply, 200, out);
done:
	free(text);
	json_decref(built);
	json_decref(subject);
	signer_free(&s);
	teeliza_buf_free(&prev);
}
