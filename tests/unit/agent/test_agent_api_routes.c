/*
 * The REST API's route tables and router (src/lib/agent/api/api_route.h),
 * without a network:
 * - no two routes of different tables match the same request, so the order
 *   of the tables decides nothing (only the order inside a table does);
 * - which route (and auth class) each request finds, as the server routed
 *   them before the tables existed: case-insensitive paths, case-sensitive
 *   dashboard file names, GET covering HEAD, too-deep paths matching none;
 * - the router's decisions: open routes without a token, 401 before any
 *   unknown path, 403 for control routes from other machines without a
 *   token, Express's 404 text.
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <cmocka.h>

#include "testutil.h"
#include "agent/api/api_route.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

/* Could a and b match the same request? (Same segment count, a shared method, no two literals that differ.) */
static bool routes_overlap(const api_route *a, const api_route *b)
{
	const char *p = a->pattern, *q = b->pattern;
	size_t lp, lq;

	if ((a->methods & b->methods) == 0)
		return false;
	for (;;) {
		while (*p == '/')
			p++;
		while (*q == '/')
			q++;
		if (*p == 0 || *q == 0)
			return *p == 0 && *q == 0;
		lp = strcspn(p, "/");
		lq = strcspn(q, "/");
		if (*p != ':' && *q != ':' && (lp != lq || strncasecmp(p, q, lp) != 0))
			return false;
		p += lp;
		q += lq;
	}
}

static size_t count_routes(const api_route *t)
{
	size_t n = 0;

	while (t[n].pattern != NULL)
		n++;
	return n;
}

static void test_tables_do_not_overlap(void **state)
{
	size_t ta, tb, i, j, tables = 0, routes = 0;

	(void)state;
	for (ta = 0; api_route_tables[ta] != NULL; ta++) {
		tables++;
		routes += count_routes(api_route_tables[ta]);
		for (tb = ta + 1; api_route_tables[tb] != NULL; tb++)
			for (i = 0; api_route_tables[ta][i].pattern != NULL; i++)
				for (j = 0; api_route_tables[tb][j].pattern != NULL; j++)
					if (routes_overlap(&api_route_tables[ta][i], &api_route_tables[tb][j]))
						fail_msg("%s (table %zu) and %s (table %zu) can match the same request: put them in one "
						         "table, in the order that decides it",
						         api_route_tables[ta][i].pattern, ta, api_route_tables[tb][j].pattern, tb);
	}
	assert_int_equal(tables, 12);
	assert_int_equal(routes, 48);
	/* the checker itself: these do overlap, these do not */
	{
		const api_route a = {API_GET, "/agents/:id/:room/memories", API_TOKEN, NULL, 0};
		const api_route b = {API_GET, "/AGENTS/x/attestations/:q", API_TOKEN, NULL, 0};
		const api_route c = {API_POST, "/agents/:id/attestations/:q", API_TOKEN, NULL, 0};
		const api_route d = {API_GET, "/agents/:id", API_TOKEN, NULL, 0};

		assert_true(routes_overlap(&a, &b));
		assert_false(routes_overlap(&a, &c));
		assert_false(routes_overlap(&a, &d));
	}
}

struct expect {
	const char *method;
	const char *path;
	const char *pattern; /* NULL: no route */
	api_auth auth;
	const char *param0, *param1;
};

/* What the server routed each request to before the route tables existed (route() in api.c, commit 59399e1). */
static const struct expect matrix[] = {
	{"GET", "/", "/", API_OPEN, NULL, NULL},
	{"HEAD", "/", "/", API_OPEN, NULL, NULL},
	{"GET", "//", "/", API_OPEN, NULL, NULL},
	{"POST", "/", NULL, API_OPEN, NULL, NULL},
	{"GET", "/hello", "/hello", API_OPEN, NULL, NULL},
	{"GET", "/HeLLo/", "/hello", API_OPEN, NULL, NULL},
	{"POST", "/hello", NULL, API_OPEN, NULL, NULL},
	{"GET", "/healthz", "/healthz", API_OPEN, NULL, NULL},
	{"GET", "/metrics", "/metrics", API_TOKEN, NULL, NULL},
	{"get", "/metrics", NULL, API_OPEN, NULL, NULL}, /* methods are case-sensitive */
	{"GET", "/dashboard", "/dashboard", API_OPEN, NULL, NULL},
	{"GET", "/DashBoard/", "/dashboard", API_OPEN, NULL, NULL},
	{"GET", "/dashboard/index.html", "/dashboard/index.html", API_OPEN, NULL, NULL},
	{"GET", "/DASHBOARD/app.js", "/dashboard/app.js", API_OPEN, NULL, NULL},
	{"GET", "/dashboard/App.js", NULL, API_OPEN, NULL, NULL}, /* file names are case-sensitive */
	{"GET", "/dashboard/INDEX.HTML", NULL, API_OPEN, NULL, NULL},
	{"HEAD", "/dashboard/style.css", "/dashboard/style.css", API_OPEN, NULL, NULL},
	{"POST", "/dashboard/style.css", NULL, API_OPEN, NULL, NULL},
	{"GET", "/dashboard/api/logs", "/dashboard/api/logs", API_TOKEN, NULL, NULL},
	{"GET", "/Dashboard/API/Agents/x", "/dashboard/api/agents/:agentId", API_TOKEN, "x", NULL},
	{"GET", "/dashboard/api/agents", NULL, API_OPEN, NULL, NULL},
	{"GET", "/agents", "/agents", API_TOKEN, NULL, NULL},
	{"GET", "/agents/a1", "/agents/:agentId", API_TOKEN, "a1", NULL},
	{"DELETE", "/agents/a1", "/agents/:agentId", API_CONTROL, "a1", NULL},
	{"DELETE", "/agents", NULL, API_OPEN, NULL, NULL},
	{"POST", "/agents/a1/set", "/agents/:agentId/set", API_CONTROL, "a1", NULL},
	{"POST", "/Agents/a1/STOP", "/agents/:agentId/stop", API_CONTROL, "a1", NULL},
	{"GET", "/agents/a1/stop", NULL, API_OPEN, NULL, NULL},
	{"GET", "/agents/a1/r1/memories", "/agents/:agentId/:roomId/memories", API_TOKEN, "a1", "r1"},
	{"GET", "/agents/a1/attestations/q1", "/agents/:agentId/attestations/:quoteId", API_TOKEN, "a1", "q1"},
	/* both match: memories came first */
	{"GET", "/agents/a1/attestations/memories", "/agents/:agentId/:roomId/memories", API_TOKEN, "a1", "attestations"},
	{"POST", "/verify", "/verify", API_TOKEN, NULL, NULL},
	{"GET", "/verify", NULL, API_OPEN, NULL, NULL},
	{"POST", "/verify/reply", "/verify/reply", API_TOKEN, NULL, NULL},
	{"GET", "/verify/reply", NULL, API_OPEN, NULL, NULL},
	{"GET", "/dashboard/api/agents/x/chain", "/dashboard/api/agents/:agentId/chain", API_TOKEN, "x", NULL},
	{"POST", "/Eliza/message", "/:agentId/message", API_TOKEN, "Eliza", NULL},
	{"POST", "/agents/message", "/:agentId/message", API_TOKEN, "agents", NULL},
	{"POST", "/verify/MESSAGE/", "/:agentId/message", API_TOKEN, "verify", NULL},
	{"GET", "/x/message", NULL, API_OPEN, NULL, NULL},
	{"PUT", "/agents", NULL, API_OPEN, NULL, NULL},
	{"PATCH", "/agents/a1", NULL, API_OPEN, NULL, NULL}, /* PATCH is v1's only */
	/* the v1 API under /api */
	{"GET", "/api/agents", "/api/agents", API_TOKEN, NULL, NULL},
	{"POST", "/API/Agents/", "/api/agents", API_CONTROL, NULL, NULL},
	{"PATCH", "/api/agents/a1", "/api/agents/:agentId", API_CONTROL, "a1", NULL},
	{"POST", "/api/agents/a1/start", "/api/agents/:agentId/start", API_CONTROL, "a1", NULL},
	{"GET", "/api/messaging/sessions/health", "/api/messaging/sessions/health", API_TOKEN, NULL, NULL},
	{"GET", "/api/messaging/sessions/s1", "/api/messaging/sessions/:sessionId", API_TOKEN, "s1", NULL},
	{"POST", "/api/messaging/sessions/s1/messages", "/api/messaging/sessions/:sessionId/messages", API_TOKEN, "s1",
	 NULL},
	{"GET", "/api/memory/a1/memories", "/api/memory/:agentId/memories", API_TOKEN, "a1", NULL},
	/* an agent named "api" keeps its 0.1.x message route */
	{"POST", "/api/message", "/:agentId/message", API_TOKEN, "api", NULL},
	{"GET", "/api/nothing", NULL, API_OPEN, NULL, NULL},
	{"GET", "/a/b/c/d/e/f/g/h", NULL, API_OPEN, NULL, NULL},
	{"GET", "/a/b/c/d/e/f/g/h/i", NULL, API_OPEN, NULL, NULL}, /* too deep */
	{"GET", "/////////", "/", API_OPEN, NULL, NULL},
};

/* Split like the server; deeper than any route: too_deep. */
static void request_for(api_request *r, http_server_request *h, const char *method, const char *path)
{
	memset(h, 0, sizeof(*h));
	h->method = method;
	h->path = path;
	h->query = "";
	h->content_type = "";
	h->authorization = "";
	h->api_key = "";
	h->body = (const uint8_t *)"";
	h->remote = "127.0.0.1";
	h->remote_local = true;
	memset(r, 0, sizeof(*r));
	r->http = h;
	if (!api_split_path(r, path)) {
		assert_non_null(r->path_copy);
		r->n_seg = 0;
		r->too_deep = true;
	}
}

static void test_route_matrix(void **state)
{
	http_server_request h;
	api_request r;
	const api_route *route;
	size_t i;

	(void)state;
	for (i = 0; i < sizeof(matrix) / sizeof(matrix[0]); i++) {
		const struct expect *e = &matrix[i];

		request_for(&r, &h, e->method, e->path);
		route = api_route_find(&r, api_route_tables);
		if (e->pattern == NULL) {
			if (route != NULL)
				fail_msg("%s %s: matched %s, want none", e->method, e->path, route->pattern);
		} else {
			if (route == NULL)
				fail_msg("%s %s: no route, want %s", e->method, e->path, e->pattern);
			if (strcmp(route->pattern, e->pattern) != 0)
				fail_msg("%s %s: matched %s, want %s", e->method, e->path, route->pattern, e->pattern);
			assert_int_equal(route->auth, e->auth);
			assert_int_equal(r.n_param, (e->param0 != NULL) + (e->param1 != NULL));
			if (e->param0 != NULL)
				assert_string_equal(r.param[0], e->param0);
			if (e->param1 != NULL)
				assert_string_equal(r.param[1], e->param1);
		}
		free(r.path_copy);
	}
}

/* ---- the router's decisions, with a table of stub handlers ---- */

static int ran;

static void stub(http_server_reply *reply, agent_api *api, const api_request *r)
{
	(void)api;
	ran++;
	api_reply_text(reply, 200, r->n_param > 0 ? r->param[0] : "ok");
}

static const api_route stub_routes[] = {
	{API_GET, "/open", API_OPEN, stub, 0},
	{API_GET, "/token/:x", API_TOKEN, stub, 0},
	{API_POST | API_DELETE, "/control/:x", API_CONTROL, stub, 0},
	{0, NULL, API_OPEN, NULL, 0},
};
static const api_route *const stub_tables[] = {stub_routes, NULL};

struct decision {
	const char *token;     /* the API's token, NULL for none */
	const char *auth;      /* the request's Authorization */
	bool local;            /* a loopback client */
	const char *method, *path;
	unsigned status;
	const char *body;      /* prefix of the body */
	bool www_authenticate;
	bool handler_runs;
};

static const struct decision decisions[] = {
	{NULL, "", false, "GET", "/open", 200, "ok", false, true},
	{"tok", "", false, "GET", "/open", 200, "ok", false, true},
	{"tok", "Bearer bad", true, "GET", "/open", 200, "ok", false, true},
	{NULL, "", false, "GET", "/token/a", 200, "a", false, true},
	{"tok", "", true, "GET", "/token/a", 401, "{\"error\":\"Unauthorized", true, false},
	{"tok", "Bearer tok", true, "GET", "/token/a", 200, "a", false, true},
	{"tok", "bearer   tok \t", false, "GET", "/token/a", 200, "a", false, true},
	{"tok", "Bearer tokk", true, "GET", "/token/a", 401, "{\"error\":\"Unauthorized", true, false},
	/* unknown paths: the token first */
	{"tok", "", true, "GET", "/nope", 401, "{\"error\":\"Unauthorized", true, false},
	{"tok", "Bearer tok", true, "GET", "/nope", 404, "Cannot GET /nope", false, false},
	{NULL, "", true, "GET", "/a/b/c/d/e/f/g/h/i", 404, "Cannot GET /a/b/c/d/e/f/g/h/i", false, false},
	{"tok", "", true, "GET", "/a/b/c/d/e/f/g/h/i", 401, "{\"error\":\"Unauthorized", true, false},
	{NULL, "", true, "GET", "/open/\x01", 404, "Cannot GET /open/%01", false, false},
	/* control routes: loopback only without a token; the token decides with one */
	{NULL, "", true, "POST", "/control/c", 200, "c", false, true},
	{NULL, "", false, "DELETE", "/control/c", 403, "{\"error\":\"Forbidden: without API_TOKEN", false, false},
	{"tok", "Bearer tok", false, "POST", "/control/c", 200, "c", false, true},
	{"tok", "", false, "POST", "/control/c", 401, "{\"error\":\"Unauthorized", true, false},
	{"tok", "", true, "POST", "/control/c", 401, "{\"error\":\"Unauthorized", true, false},
};

static void test_router_decisions(void **state)
{
	http_server_request h;
	http_server_reply reply;
	api_request r;
	agent_api api;
	size_t i;

	(void)state;
	for (i = 0; i < sizeof(decisions) / sizeof(decisions[0]); i++) {
		const struct decision *d = &decisions[i];

		memset(&api, 0, sizeof(api));
		api.token = (char *)d->token;
		api.token_len = d->token != NULL ? strlen(d->token) : 0;
		request_for(&r, &h, d->method, d->path);
		h.authorization = d->auth;
		h.remote_local = d->local;
		memset(&reply, 0, sizeof(reply));
		teeliza_buf_init(&reply.body, 1 << 16);
		ran = 0;
		api_dispatch(&reply, &api, &r, stub_tables);
		assert_int_equal(teeliza_buf_append(&reply.body, "", 0), TEELIZA_OK);
		if (reply.status != d->status || strncmp((const char *)reply.body.data, d->body, strlen(d->body)) != 0)
			fail_msg("case %zu (%s %s): %u %s, want %u %s", i, d->method, d->path, reply.status,
			         (const char *)reply.body.data, d->status, d->body);
		assert_int_equal(ran, d->handler_runs ? 1 : 0);
		if (d->www_authenticate)
			assert_string_equal(reply.extra_headers[1], "WWW-Authenticate: Bearer");
		else
			assert_null(reply.extra_headers[1]);
		if (d->status == 404)
			assert_string_equal(reply.content_type, "text/plain; charset=utf-8");
		teeliza_buf_free(&reply.body);
		free(r.path_copy);
	}
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_tables_do_not_overlap),
		cmocka_unit_test(test_route_matrix),
		cmocka_unit_test(test_router_decisions),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
