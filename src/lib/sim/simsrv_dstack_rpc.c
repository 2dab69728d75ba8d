/*
 * dstack's pRPC rules for the DstackGuest and Worker services (dstack
 * v0.5.11 ra-rpc rocket_helper.rs and lib.rs, prpc-build 0.6 server.rs):
 *   - JSON mode when the request is a GET, the query string has "json"
 *     (empty, "true" or "1"), or the Content-Type is JSON; otherwise pRPC
 *     reads protobuf, which this simulator does not speak: it answers 400
 *     saying so rather than guessing;
 *   - a GET takes its arguments from the query string, a POST from its JSON
 *     body; an empty body is the all-default message; Info and Version take
 *     no arguments and never look at the body;
 *   - an unknown method is "Service not found: <name>";
 *   - every error is HTTP 400 with {"error": msg} pretty-printed;
 *   - a method returning Empty (EmitEvent) answers the JSON "null".
 */
#include "sim/simsrv.h"

#include "teeliza/common/encoding.h"

#include <stdlib.h>
#include <string.h>
#include <strings.h>

typedef teeliza_err (*method_fn)(teeliza_buf *out, simsrv_state *st, const json_t *args);

struct method {
	const char *name;
	method_fn fn;     /* NULL: Info or Version, answered from what is rendered */
	int no_args;      /* 1 = Info, 2 = Version */
};

static const struct method dstack_methods[] = {
	{"GetTlsKey", simsrv_dstack_get_tls_key, 0},
	{"GetKey", simsrv_dstack_get_key, 0},
	{"GetQuote", simsrv_dstack_get_quote, 0},
	{"Attest", simsrv_dstack_attest, 0},
	{"EmitEvent", simsrv_dstack_emit_event, 0},
	{"Info", NULL, 1},
	{"Sign", simsrv_dstack_sign, 0},
	{"Verify", simsrv_dstack_verify, 0},
	{"Version", NULL, 2},
};

static const struct method worker_methods[] = {
	{"Info", NULL, 1},
	{"Version", NULL, 2},
	{"GetAttestationForAppKey", simsrv_worker_attestation_for_app_key, 0},
};

/* Percent-decode s[0..len) ('+' is a space) into out (cap bytes with the NUL); false when malformed or too long. */
static bool decode_component(char *out, size_t cap, const char *s, size_t len)
{
	size_t i, n = 0;

	for (i = 0; i < len; i++) {
		int c = (unsigned char)s[i];

		if (c == '+') {
			c = ' ';
		} else if (c == '%') {
			int hi = i + 2 < len ? teeliza_hex_nibble(s[i + 1]) : -1;
			int lo = i + 2 < len ? teeliza_hex_nibble(s[i + 2]) : -1;

			if (hi < 0 || lo < 0)
				return false;
			c = hi << 4 | lo;
			i += 2;
		}
		if (n + 1 >= cap)
			return false;
		out[n++] = (char)c;
	}
	out[n] = 0;
	return true;
}

/* Rocket's query_field_get_bool(req, "json"): the first field named json is "", "true" or "1". */
static bool query_json(const char *query)
{
	const char *p = query;

	while (*p != 0) {
		const char *amp = strchr(p, '&'), *eq;
		size_t len = amp != NULL ? (size_t)(amp - p) : strlen(p);
		char name[8], value[8];

		eq = memchr(p, '=', len);
		if (decode_component(name, sizeof(name), p, eq != NULL ? (size_t)(eq - p) : len) &&
		    strcmp(name, "json") == 0) {
			if (eq == NULL)
				return true;
			return decode_component(value, sizeof(value), eq + 1, len - (size_t)(eq - p) - 1) &&
			       (value[0] == 0 || strcmp(value, "true") == 0 || strcmp(value, "1") == 0);
		}
		p += len;
		if (*p == '&')
			p++;
	}
	return false;
}

/* Rocket's ContentType::is_json: the media type application/json, any parameters. */
static bool content_type_json(const char *ct)
{
	static const char json[] = "application/json";
	size_t n = sizeof(json) - 1;

	while (*ct == ' ' || *ct == '\t')
		ct++;
	if (strncasecmp(ct, json, n) != 0)
		return false;
	ct += n;
	while (*ct == ' ' || *ct == '\t')
		ct++;
	return *ct == 0 || *ct == ';';
}

bool simsrv_prpc_json_mode(const http_server_request *req)
{
	return strcmp(req->method, "GET") == 0 || query_json(req->query) || content_type_json(req->content_type);
}

static const struct method *find(simsrv_service service, const char *name)
{
	const struct method *list = service == SIMSRV_SERVICE_WORKER ? worker_methods : dstack_methods;
	size_t n = service == SIMSRV_SERVICE_WORKER ? sizeof(worker_methods) / sizeof(worker_methods[0])
	                                            : sizeof(dstack_methods) / sizeof(dstack_methods[0]);
	size_t i;

	for (i = 0; i < n; i++)
		if (strcmp(list[i].name, name) == 0)
			return &list[i];
	return NULL;
}

static teeliza_err run(teeliza_buf *out, simsrv_state *st, simsrv_service service, const struct method *m,
                       const http_server_request *req)
{
	json_t *args = NULL;
	simsrv_view *v;
	teeliza_err err;

	if (m->no_args == 2) {
		return teeliza_buf_append(out, st->dstack_version_json.data, st->dstack_version_json.len);
	} else if (m->no_args == 1) {
		v = simsrv_view_get(st);
		err = service == SIMSRV_SERVICE_WORKER ? teeliza_buf_append(out, v->worker_info.data, v->worker_info.len)
		                                       : teeliza_buf_append(out, v->dstack_info.data, v->dstack_info.len);
		simsrv_view_put(v);
		return err;
	}
	if (strcmp(req->method, "GET") == 0)
		err = simsrv_args_from_query(&args, req->query);
	else
		err = simsrv_args_from_body(&args, req->body, req->body_len);
	if (err)
		return err;
	err = m->fn(out, st, args);
	json_decref(args);
	return err;
}

teeliza_err simsrv_dstack_serve(http_server_reply *reply, simsrv_state *st, simsrv_service service,
                                const char *method, const http_server_request *req)
{
	const struct method *m = find(service, method);
	teeliza_err err;

	if (m == NULL) {
		/* the name as the client sent it; the message escapes it (it may hold anything) */
		err = teeliza_set_error(TEELIZA_ERR_NOT_FOUND, "Service not found: %.200s", method);
	} else if (!simsrv_prpc_json_mode(req)) {
		err = teeliza_set_error(TEELIZA_ERR_UNSUPPORTED,
		                        "protobuf requests are not supported by this simulator: send a JSON body with "
		                        "Content-Type: application/json, add ?json to the URL, or use GET with a query "
		                        "string");
	} else {
		err = run(&reply->body, st, service, m, req);
	}
	if (err) {
		reply->status = 400;
		simsrv_json_error(&reply->body, teeliza_errmsg()[0] ? teeliza_errmsg() : teeliza_strerror(err));
	}
	return err;
}
