/* Shared by the dashboard's route file (api_dashboard.c) and its wallet cards (api_dashboard_wallet.c). */
#ifndef TEELIZA_AGENT_API_DASHBOARD_H
#define TEELIZA_AGENT_API_DASHBOARD_H

#include "agent/api/api_route.h"
#include "teeliza/agent/tee_plugin.h"

/*
 * One wallet of rt with its derive-time attestation (quote, report_data
 * binding, RTMRs, event log replay, verdict), as GET
 * /dashboard/api/agents/:agentId shows it. NULL when out of memory; a
 * missing attestation is an "attestationError" in the card.
 */
json_t *api_dashboard_wallet_json(agent_api *api, agent_runtime *rt, const agent_tee_key_origin *origin,
                                  const char *chain, const char *address,
                                  const char *quote_id);

/* GET /dashboard/api/agents/:agentId/chain (api_dashboard_chain.c): the agent's chain of trust, link by link. */
void api_dashboard_chain(http_server_reply *reply, agent_api *api, const api_request *r);

#endif
