/*
 * From a request to its route: the path split into segments, matched
 * against the route tables in order, and the check the route's auth class
 * asks for: the optional bearer token and, without one, loopback-only
 * control routes (the API may listen on every interface, Eliza's default).
 */
#include "agent/api/api_route.h"
#include "agent/api/api_v1.h"

#include <stdlib.h>
#include <string.h>
#include <strings.h>

bool api_split_path(api_request *r, const char *path)
{
	char *p;

	r->path_copy = strdup(path);
	if (r->path_copy == NULL)
		return false;
	r->n_seg = 0;
	for (p = r->path_copy; *p != 0;) {
		while (*p == '/')
			p++;
		if (*p == 0)
			break;
		if (r->n_seg == API_MAX_SEGMENTS)
			return false;
		r->seg[r->n_seg++] = p;
		p = strchr(p, '/');
		if (p == NULL)
			break;
		*p++ = 0;
	}
	return true;
}

static bool method_matches(unsigned methods, const char *m)
{
	return ((methods & API_GET) != 0 && (strcmp(m, "GET") == 0 || strcmp(m, "HEAD") == 0)) ||
	       ((methods & API_POST) != 0 && strcmp(m, "POST") == 0) ||
	       ((methods & API_DELETE) != 0 && strcmp(m, "DELETE") == 0) ||
	       ((methods & API_PATCH) != 0 && strcmp(m, "PATCH") == 0);
}

/* Does the literal pattern segment lit (len bytes) name segment seg? */
static bool literal_matches(const char *lit, size_t len, const char *seg, bool exact_case)
{
	if (strlen(seg) != len)
		return false;
	return exact_case ? memcmp(lit, seg, len) == 0 : strncasecmp(lit, seg, len) == 0;
}

bool api_route_matches(api_request *r, const api_route *route)
{
	const char *p = route->pattern;
	const char *param[API_MAX_PARAMS];
	size_t i = 0, n_param = 0, len;
	bool last;

	if (r->too_deep || !method_matches(route->methods, r->http->method))
		return false;
	for (;;) {
		while (*p == '/')
			p++;
		if (*p == 0)
			break;
		len = strcspn(p, "/");
		if (i == r->n_seg)
			return false;
		last = p[len + strspn(p + len, "/")] == 0;
		if (*p == ':') {
			if (n_param == API_MAX_PARAMS)
				return false;
			param[n_param++] = r->seg[i];
		} else if (!literal_matches(p, len, r->seg[i], last && (route->flags & API_ROUTE_FILE) != 0)) {
			return false;
		}
		p += len;
		i++;
	}
	if (i != r->n_seg)
		return false;
	memcpy(r->param, param, n_param * sizeof(param[0]));
	r->n_param = n_param;
	return true;
}

const api_route *api_route_find(api_request *r, const api_route *const *tables)
{
	const api_route *route;

	for (; *tables != NULL; tables++)
		for (route = *tables; route->pattern != NULL; route++)
			if (api_route_matches(r, route))
				return route;
	return NULL;
}

/* The token, compared in constant time, against a header value (trailing blanks ignored). */
static bool token_equals(const agent_api *api, const char *value)
{
	size_t n = strlen(value);

	while (n > 0 && (value[n - 1] == ' ' || value[n - 1] == '\t'))
		n--;
	return n == api->token_len && teeliza_ct_eq(value, api->token, n);
}

/*
 * "Authorization: Bearer <token>"; on the v1 API (/api/...) also elizaOS
 * 1.x's "X-API-KEY: <token>".
 */
static bool authorized(const agent_api *api, const api_request *r)
{
	const char *header = r->http->authorization;

	if (api->token == NULL)
		return true;
	if (api_v1_path(r) && r->http->api_key != NULL && r->http->api_key[0] != 0 && token_equals(api, r->http->api_key))
		return true;
	if (strncasecmp(header, "Bearer ", 7) != 0)
		return false;
	header += 7;
	while (*header == ' ')
		header++;
	return token_equals(api, header);
}

/*
 * Without a token, what replaces or stops agents answers only to clients on
 * this machine: the API may listen on every interface (Eliza's default).
 */
static bool control_allowed(http_server_reply *reply, const agent_api *api, const api_request *r)
{
	if (api->token != NULL || r->http->remote_local)
		return true;
	if (api_v1_path(r)) {
		api_v1_forbidden(reply);
		return false;
	}
	api_reply_error(reply, 403,
	                "Forbidden: without API_TOKEN, set, stop and delete are accepted only from this machine "
	                "(loopback). Set API_TOKEN on the server to manage agents remotely.");
	return false;
}

/*
 * Express's "Cannot GET /x", as plain text (never HTML: the path is the
 * client's), with bytes outside printable ASCII percent-encoded as a client
 * sends them, so the reply is one printable line.
 */
static void not_found_route(http_server_reply *reply, const http_server_request *req)
{
	static const char hex[] = "0123456789ABCDEF";
	const unsigned char *p;
	teeliza_err err;

	teeliza_buf_reset(&reply->body);
	reply->status = 404;
	reply->content_type = "text/plain; charset=utf-8";
	err = teeliza_buf_printf(&reply->body, "Cannot %s ", req->method);
	for (p = (const unsigned char *)req->path; err == TEELIZA_OK && *p != 0; p++) {
		if (*p > 0x20 && *p < 0x7f)
			err = teeliza_buf_append(&reply->body, p, 1);
		else
			err = teeliza_buf_printf(&reply->body, "%%%c%c", hex[*p >> 4], hex[*p & 15]);
	}
	if (err != TEELIZA_OK)
		teeliza_buf_reset(&reply->body);
}

void api_dispatch(http_server_reply *reply, agent_api *api, api_request *r, const api_route *const *tables)
{
	const api_route *route = api_route_find(r, tables);

	/* Unknown paths too: no 404 before the token check, like Eliza's. */
	if ((route == NULL || route->auth != API_OPEN) && !authorized(api, r)) {
		reply->extra_headers[1] = "WWW-Authenticate: Bearer";
		if (api_v1_path(r))
			api_v1_unauthorized(reply);
		else
			api_reply_error(reply, 401, "Unauthorized: send the API token as 'Authorization: Bearer <API_TOKEN>'");
		return;
	}
	if (route == NULL && api_v1_path(r)) {
		api_v1_not_found(reply);
		return;
	}
	if (route == NULL) {
		not_found_route(reply, r->http);
		return;
	}
	if (route->auth == API_CONTROL && !control_allowed(reply, api, r))
		return;
	if ((route->flags & API_ROUTE_DB) && !api_ready_gate(reply, api))
		return;
	route->handler(reply, api, r);
}
