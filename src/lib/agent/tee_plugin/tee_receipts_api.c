/*
 * Receipts and fresh attestations by agent (teeliza/agent/tee_receipts.h):
 * find the agent's TEE plugin and its wallets, then ask tee_receipts.c.
 */
#include "teeliza/agent/tee_receipts.h"
#include "agent/runtime/runtime_internal.h"

#include <assert.h>

/* The agent's receipts state and its wallets (*have_w false when not derived). */
static agent_tee_receipts *receipts_of(agent_tee_wallets *w, bool *have_w, agent_runtime *rt)
{
	agent_tee *t = agent_runtime_tee(rt);

	*have_w = false;
	if (t == NULL || agent_tee_receipts_of(t) == NULL) {
		teeliza_set_error(TEELIZA_ERR_UNSUPPORTED, "agent %s has no TEE plugin: no reply key",
		                  agent_runtime_name(rt));
		return NULL;
	}
	if (w != NULL)
		*have_w = agent_tee_wallets_get(w, t) == TEELIZA_OK;
	return agent_tee_receipts_of(t);
}

teeliza_err agent_reply_receipt(char id[AGENT_RECEIPT_ID_BUFSZ], agent_runtime *rt, const char *room_id,
                                const void *request, size_t request_len, const void *response, size_t response_len)
{
	return agent_reply_receipt_with_memories(id, rt, room_id, request, request_len, response, response_len, NULL, 0);
}

teeliza_err agent_reply_receipt_with_memories(char id[AGENT_RECEIPT_ID_BUFSZ], agent_runtime *rt, const char *room_id,
                                              const void *request, size_t request_len, const void *response,
                                              size_t response_len, const agent_memory *memories, size_t n_memories)
{
	agent_tee_wallets w;
	agent_tee_receipts *r;
	bool have_w;

	assert(id != NULL && rt != NULL && room_id != NULL);
	id[0] = 0;
	r = receipts_of(&w, &have_w, rt);
	if (r == NULL)
		return TEELIZA_ERR_UNSUPPORTED;
	return agent_tee_receipts_sign(id, r, have_w ? &w : NULL, room_id, rt->model.description, request, request_len,
	                               response, response_len, memories, n_memories);
}

teeliza_err agent_reply_receipt_json(json_t **out, agent_runtime *rt, const char *id)
{
	agent_tee_receipts *r;
	bool have_w;

	assert(out != NULL && rt != NULL && id != NULL);
	*out = NULL;
	r = receipts_of(NULL, &have_w, rt);
	if (r == NULL)
		return TEELIZA_ERR_UNSUPPORTED;
	return agent_tee_receipts_json(out, r, id);
}

teeliza_err agent_reply_receipt_bundle(json_t **out, agent_runtime *rt, const char *id)
{
	agent_tee_receipts *r;
	bool have_w;

	assert(out != NULL && rt != NULL && id != NULL);
	*out = NULL;
	r = receipts_of(NULL, &have_w, rt);
	if (r == NULL)
		return TEELIZA_ERR_UNSUPPORTED;
	return agent_tee_receipts_bundle(out, r, id);
}

teeliza_err agent_fresh_attestation(json_t **out, agent_runtime *rt, const uint8_t *nonce, size_t nonce_len)
{
	agent_tee_wallets w;
	agent_tee_receipts *r;
	bool have_w;

	assert(out != NULL && rt != NULL && nonce != NULL);
	*out = NULL;
	r = receipts_of(&w, &have_w, rt);
	if (r == NULL)
		return TEELIZA_ERR_UNSUPPORTED;
	return agent_tee_receipts_fresh(out, r, have_w ? &w : NULL, nonce, nonce_len);
}

bool agent_reply_receipts_on(const agent_runtime *rt)
{
	agent_tee *t = agent_runtime_tee(rt);

	return t != NULL && agent_tee_receipts_of(t) != NULL;
}
