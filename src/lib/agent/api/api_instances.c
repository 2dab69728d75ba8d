/*
 * GET /agents/:agentId/instances: every replica boot that handed out a
 * quote for the agent (agent_store_list_instances), with its latest quote's
 * link, so that a verifier behind a load balancer can fetch and check each
 * instance that served the agent, not only the one that answered it now.
 */
#include "agent/api/api_route.h"

static void get_instances(http_server_reply *reply, agent_api *api, const api_request *r)
{
	agent_instance_list l;
	agent_runtime *rt;
	json_t *items, *one;
	teeliza_err err;

	rt = agent_registry_find(api->registry, r->param[0], true);
	if (rt == NULL) {
		api_reply_error(reply, 404, "Agent not found");
		return;
	}
	err = agent_store_list_instances(agent_runtime_store(rt), &l, agent_runtime_id(rt));
	if (err) {
		agent_runtime_release(rt);
		api_reply_error(reply, err == TEELIZA_ERR_CONNECT ? 503 : 500, "Failed to list the instances");
		return;
	}
	items = json_array();
	for (size_t i = 0; items != NULL && i < l.count; i++) {
		const agent_instance *in = &l.items[i];
		char link[160];

		snprintf(link, sizeof(link), "/agents/%s/attestations/%s", agent_runtime_id(rt), in->last_attestation_id);
		one = json_pack("{s:s, s:s, s:I, s:I, s:I, s:s, s:s}", "instanceId", in->instance_id, "bootId", in->boot_id,
		                "firstAttestationAt", (json_int_t)in->first_ms, "lastAttestationAt", (json_int_t)in->last_ms,
		                "attestations", (json_int_t)in->attestations, "lastAttestationId",
		                in->last_attestation_id, "lastAttestation", link);
		if (one == NULL || json_array_append_new(items, one) != 0) {
			json_decref(items);
			items = NULL;
		}
	}
	agent_instance_list_free(&l);
	if (items == NULL)
		api_reply_error(reply, 500, "out of memory");
	else
		api_reply_json(reply, 200,
		               json_pack("{s:s, s:s, s:o}", "agentId", agent_runtime_id(rt), "servedBy",
		                         agent_runtime_store(rt)->instance_id, "instances", items));
	agent_runtime_release(rt);
}

const api_route api_instances_routes[] = {
	{API_GET, "/agents/:agentId/instances", API_TOKEN, get_instances, API_ROUTE_DB},
	{0, NULL, API_OPEN, NULL, 0},
};
