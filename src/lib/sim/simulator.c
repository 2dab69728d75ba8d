/*
 * teeliza's tappd-compatible simulator: start-up (state dir, simulated PKI,
 * app CA, identity), pRPC dispatch for /prpc/Tappd.* (and the Worker.*
 * aliases real tappd serves on its public port), and the request log.
 *
 * Like tappd, every message is JSON here: pRPC's protobuf mode is not
 * offered, so `?json` and the Content-Type are accepted and change nothing.
 */
#include "sim/simsrv.h"
#include "teeliza/common/log.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>

#define SIM_MAX_BODY ((size_t)1 << 20)
/* what the HTTP server allows a reply (the largest here, Info, is a few KiB) */
#define SIM_MAX_REPLY ((size_t)16 << 20)
#define PRPC_PREFIX "/prpc/"

struct tee_sim {
	simsrv_state st;
	tee_sim_pki *pki;
	http_server *http;
	bool quiet;
};

enum route {
	ROUTE_NONE,
	ROUTE_DERIVE_KEY,
	ROUTE_TDX_QUOTE,
	ROUTE_RAW_QUOTE,
	ROUTE_INFO,
	ROUTE_VERSION,
	ROUTE_SIM_ROOT,
};

/* Tappd's methods after its "Tappd." prefix is trimmed (see find_route), and the Worker aliases. */
static const struct {
	const char *name;
	enum route route;
} routes[] = {
	{"DeriveKey", ROUTE_DERIVE_KEY},
	{"TdxQuote", ROUTE_TDX_QUOTE},
	{"RawQuote", ROUTE_RAW_QUOTE},
	{"Info", ROUTE_INFO},
	{"Version", ROUTE_VERSION},
	{"Worker.Info", ROUTE_INFO},
	{"Worker.Version", ROUTE_VERSION},
	{"SimRoot", ROUTE_SIM_ROOT},       /* teeliza only (simsrv_simroot.c) */
};

#define TAPPD_SERVICE_PREFIX "Tappd."

static enum route find_route(const char *method, const char *path)
{
	bool trimmed = false;
	size_t i;

	if (strcmp(method, "GET") != 0 && strcmp(method, "POST") != 0)
		return ROUTE_NONE;
	if (strncmp(path, PRPC_PREFIX, strlen(PRPC_PREFIX)) != 0)
		return ROUTE_NONE;
	path += strlen(PRPC_PREFIX);
	/*
	 * dstack's tappd mounts its service with trim: "Tappd." and Rust's
	 * trim_start_matches drops every leading copy, so /prpc/DeriveKey,
	 * /prpc/Tappd.DeriveKey (what the SDKs send) and /prpc/Tappd.Tappd.DeriveKey
	 * are one method there; the same here.
	 */
	while (strncmp(path, TAPPD_SERVICE_PREFIX, strlen(TAPPD_SERVICE_PREFIX)) == 0) {
		path += strlen(TAPPD_SERVICE_PREFIX);
		trimmed = true;
	}
	for (i = 0; i < sizeof(routes) / sizeof(routes[0]); i++)
		if (strcmp(path, routes[i].name) == 0 && !(trimmed && strchr(routes[i].name, '.') != NULL))
			return routes[i].route;
	return ROUTE_NONE;
}

static teeliza_err run_route(teeliza_buf *out, const tee_sim *sim, enum route route,
                             const http_server_request *req)
{
	json_t *args = NULL;
	teeliza_err err;

	/* Info and Version take google.protobuf.Empty: pRPC does not even decode the body */
	if (route == ROUTE_INFO)
		return teeliza_buf_append(out, sim->st.info_json.data, sim->st.info_json.len);
	if (route == ROUTE_VERSION)
		return teeliza_buf_append(out, sim->st.version_json.data, sim->st.version_json.len);
	if (route == ROUTE_SIM_ROOT)
		return simsrv_sim_root(out, &sim->st);
	if (strcmp(req->method, "GET") == 0)
		err = simsrv_args_from_query(&args, req->query);
	else
		err = simsrv_args_from_body(&args, req->body, req->body_len);
	if (err)
		return err;
	switch (route) {
	case ROUTE_DERIVE_KEY:
		err = simsrv_derive_key(out, &sim->st, args);
		break;
	case ROUTE_TDX_QUOTE:
		err = simsrv_tdx_quote(out, &sim->st, args, false);
		break;
	default:
		err = simsrv_tdx_quote(out, &sim->st, args, true);
		break;
	}
	json_decref(args);
	return err;
}

static double elapsed_ms(const struct timespec *t0)
{
	struct timespec t1;

	clock_gettime(CLOCK_MONOTONIC, &t1);
	return (double)(t1.tv_sec - t0->tv_sec) * 1e3 + (double)(t1.tv_nsec - t0->tv_nsec) / 1e6;
}

/* The answer to one request; returns the error that made it a 400, for the log. */
static teeliza_err serve(http_server_reply *reply, const tee_sim *sim, const http_server_request *req)
{
	enum route route = find_route(req->method, req->path);
	teeliza_err err = TEELIZA_OK;

	if (route == ROUTE_NONE) {
		reply->status = 404;
		simsrv_json_error(&reply->body, "method Not Found");
	} else {
		err = run_route(&reply->body, sim, route, req);
		if (err) {
			reply->status = 400;
			simsrv_json_error(&reply->body, teeliza_errmsg()[0] ? teeliza_errmsg() : teeliza_strerror(err));
		}
	}
	return err;
}

static void handle(http_server_reply *reply, const http_server_request *req, void *ctx)
{
	tee_sim *sim = ctx;
	struct timespec t0;
	teeliza_err err;

	clock_gettime(CLOCK_MONOTONIC, &t0);
	err = serve(reply, sim, req);
	if (sim->quiet)
		return;
	/* One escaped line per request (the path is the client's: "%0a" must not start a line of its own). */
	teeliza_logf(stderr, "teeliza simulator: %s \"%s %.200s\" %u %zuB %.2fms%s%.200s", req->remote, req->method,
	        req->path, reply->status, reply->body.len, elapsed_ms(&t0), err ? " error: " : "",
	        err ? teeliza_errmsg() : "");
}

/* mkdir -p with mode 0700 for what we create. */
static teeliza_err make_dirs(const char *path)
{
	char buf[4096];
	size_t len = strlen(path), i;

	if (len == 0 || len >= sizeof(buf))
		return teeliza_set_error(TEELIZA_ERR_CONFIG, "bad state directory path: \"%.200s\"", path);
	memcpy(buf, path, len + 1);
	for (i = 1; i <= len; i++) {
		if (buf[i] != '/' && buf[i] != 0)
			continue;
		buf[i] = 0;
		if (mkdir(buf, 0700) != 0 && errno != EEXIST)
			return teeliza_set_error(TEELIZA_ERR_IO, "cannot create state directory %s: %s", buf,
			                         strerror(errno));
		buf[i] = path[i];
	}
	return TEELIZA_OK;
}

static teeliza_err default_state_dir(char *out, size_t out_len)
{
	const char *xdg = getenv("XDG_STATE_HOME"), *home = getenv("HOME");
	int n;

	if (xdg != NULL && xdg[0] == '/')
		n = snprintf(out, out_len, "%s/teeliza-simulator", xdg);
	else if (home != NULL && home[0] != 0)
		n = snprintf(out, out_len, "%s/.local/state/teeliza-simulator", home);
	else
		return teeliza_set_error(TEELIZA_ERR_CONFIG, "no state directory: set one, or HOME / XDG_STATE_HOME");
	if (n < 0 || (size_t)n >= out_len)
		return teeliza_set_error(TEELIZA_ERR_CONFIG, "state directory path too long");
	return TEELIZA_OK;
}

static void free_state(simsrv_state *st)
{
	teeliza_buf_free(&st->event_log_literal);
	teeliza_buf_free(&st->info_json);
	teeliza_buf_free(&st->version_json);
	simsrv_identity_free(&st->id);
	simsrv_ca_close(&st->ca);
}

teeliza_err tee_sim_start(tee_sim **out, const tee_sim_config *cfg)
{
	char dir_buf[4096];
	const char *dir = cfg->state_dir;
	http_server_config hc;
	tee_sim *sim;
	teeliza_err err;

	*out = NULL;
	if (dir == NULL) {
		err = default_state_dir(dir_buf, sizeof(dir_buf));
		if (err)
			return err;
		dir = dir_buf;
	}
	sim = calloc(1, sizeof(*sim));
	if (sim == NULL)
		return teeliza_set_error(TEELIZA_ERR_NOMEM, "out of memory");
	sim->quiet = cfg->quiet;
	err = make_dirs(dir);
	if (err == TEELIZA_OK)
		err = tee_sim_pki_open(&sim->pki, dir);
	if (err == TEELIZA_OK)
		err = simsrv_ca_open(&sim->st.ca, cfg->key_pem, cfg->key_file, dir);
	if (err == TEELIZA_OK)
		err = simsrv_identity_build(&sim->st.id, sim->st.ca.spki_sha256);
	if (err == TEELIZA_OK) {
		sim->st.pki = sim->pki;
		err = simsrv_prepare_static(&sim->st);
	}
	if (err == TEELIZA_OK && !cfg->no_listener) {
		memset(&hc, 0, sizeof(hc));
		hc.host = cfg->host;
		hc.port = cfg->port;
		hc.unix_socket = cfg->socket_path;
		hc.unix_mode = cfg->socket_mode;
		hc.max_body = SIM_MAX_BODY;
		hc.threads = cfg->threads;
		hc.request_timeout_s = cfg->request_timeout_s;
		hc.handler = handle;
		hc.ctx = sim;
		err = http_server_start(&sim->http, &hc);
	}
	if (err) {
		tee_sim_stop(sim);
		return err;
	}
	*out = sim;
	return TEELIZA_OK;
}

teeliza_err tee_sim_call(teeliza_buf *reply, unsigned *status, const tee_sim *sim, const char *http_method,
                         const char *path, const char *query, const uint8_t *body, size_t body_len)
{
	http_server_reply r;
	http_server_request req;

	memset(&req, 0, sizeof(req));
	req.method = http_method;
	req.path = path;
	req.query = query != NULL ? query : "";
	req.content_type = "application/json";
	req.authorization = "";
	req.body = body != NULL ? body : (const uint8_t *)"";
	req.body_len = body != NULL ? body_len : 0;
	req.remote = "call";
	memset(&r, 0, sizeof(r));
	r.status = 200;
	teeliza_buf_init(&r.body, SIM_MAX_REPLY);
	(void)serve(&r, sim, &req);
	*status = r.status;
	*reply = r.body;
	return TEELIZA_OK;
}

uint16_t tee_sim_port(const tee_sim *sim)
{
	return sim->http != NULL && http_server_port(sim->http) != 0 ? http_server_port(sim->http) : 0;
}

const tee_sim_pki *tee_sim_get_pki(const tee_sim *sim)
{
	return sim->pki;
}

void tee_sim_stop(tee_sim *sim)
{
	if (sim == NULL)
		return;
	http_server_stop(sim->http); /* first: no handler may run past this */
	free_state(&sim->st);
	tee_sim_pki_free(sim->pki);
	free(sim);
}
