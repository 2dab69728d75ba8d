/*
 * The order the router walks the route tables in. Routes of different
 * tables never match the same request (test_agent_api_routes.c checks it),
 * so this order decides nothing; the order within a table does. The token
 * check comes with each route (api_route.h), so open routes need not come
 * first.
 */
#include "agent/api/api_route.h"

const api_route *const api_route_tables[] = {
	api_ops_routes,
	api_dashboard_routes,
	api_agents_routes,
	api_records_routes,
	api_verify_routes,
	api_message_routes,
	api_v1_agents_routes,
	api_v1_sessions_routes,
	api_v1_messaging_routes,
	api_v1_memory_routes,
	api_ready_routes,
	api_instances_routes,
	NULL,
};
