/*
 * teeliza's simulator: start-up (state dir, simulated PKI, app CA, app,
 * dstack keys, measured state), the listeners and which service answers
 * where, and the request log.
 *
 *   TCP            /prpc/Tappd.* (tappd), /prpc/Worker.{Info,Version,
 *                  GetAttestationForAppKey} (dstack's public port), and
 *                  /<Method> (DstackGuest: what the SDK's DstackClient
 *                  posts to an http:// endpoint)
 *   tappd socket   /prpc/Tappd.* only (dstack's tappd.sock)
 *   dstack socket  /<Method> only (dstack's dstack.sock)
 *
 * The tappd service keeps the old tappd wire (every message JSON, so
 * `?json` and the Content-Type change nothing; unknown methods 404). The
 * dstack services follow dstack 0.5's pRPC rules (simsrv_dstack_rpc.c).
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

struct listener {
	tee_sim *sim;
	tee_sim_listener kind;
};

#define N_LISTENERS 3

struct tee_sim {
	simsrv_state st;
	tee_sim_pki *pki;
	http_server *http[N_LISTENERS];
	struct listener listeners[N_LISTENERS];
	bool quiet;
};

enum route {
	ROUTE_NONE,
	ROUTE_DERIVE_KEY,
	ROUTE_DERIVE_K256_KEY,
	ROUTE_TDX_QUOTE,
	ROUTE_RAW_QUOTE,
	ROUTE_INFO,
	ROUTE_VERSION,
	ROUTE_SIM_ROOT,
};

/* Tappd's methods after its "Tappd." prefix is trimmed (see find_route). */
static const struct {
	const char *name;
	enum route route;
} routes[] = {
	{"DeriveKey", ROUTE_DERIVE_KEY},
	{"DeriveK256Key", ROUTE_DERIVE_K256_KEY}, /* dstack 0.5's tappd-compat addition */
	{"TdxQuote", ROUTE_TDX_QUOTE},
	{"RawQuote", ROUTE_RAW_QUOTE},
	{"Info", ROUTE_INFO},
	{"Version", ROUTE_VERSION},
	{"SimRoot", ROUTE_SIM_ROOT},       /* teeliza only (simsrv_simroot.c) */
};

#define TAPPD_SERVICE_PREFIX "Tappd."
#define WORKER_SERVICE_PREFIX "Worker."

/* method: the path after "/prpc/". */
static enum route find_route(const char *method)
{
	size_t i;

	/*
	 * dstack's tappd mounts its service with trim: "Tappd." and Rust's
	 * trim_start_matches drops every leading copy, so /prpc/DeriveKey,
	 * /prpc/Tappd.DeriveKey (what the SDKs send) and /prpc/Tappd.Tappd.DeriveKey
	 * are one method there; the same here.
	 */
	while (strncmp(method, TAPPD_SERVICE_PREFIX, strlen(TAPPD_SERVICE_PREFIX)) == 0)
		method += strlen(TAPPD_SERVICE_PREFIX);
	for (i = 0; i < sizeof(routes) / sizeof(routes[0]); i++)
		if (strcmp(method, routes[i].name) == 0)
			return routes[i].route;
	return ROUTE_NONE;
}

static teeliza_err run_route(teeliza_buf *out, tee_sim *sim, enum route route, const http_server_request *req)
{
	json_t *args = NULL;
	simsrv_view *v;
	teeliza_err err;

	/* Info and Version take google.protobuf.Empty: pRPC does not even decode the body */
	if (route == ROUTE_INFO) {
		v = simsrv_view_get(&sim->st);
		err = teeliza_buf_append(out, v->tappd_info.data, v->tappd_info.len);
		simsrv_view_put(v);
		return err;
	}
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
	case ROUTE_DERIVE_K256_KEY:
		err = simsrv_derive_k256_key(out, &sim->st, args);
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

static teeliza_err serve_tappd(http_server_reply *reply, tee_sim *sim, const char *method,
                               const http_server_request *req)
{
	enum route route = find_route(method);
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

static bool is_worker_method(const char *name)
{
	return strcmp(name, "Info") == 0 || strcmp(name, "Version") == 0 || strcmp(name, "GetAttestationForAppKey") == 0;
}

/* "/<Method>": one non-empty path segment, as dstack's route "/<method>" matches. */
static const char *dstack_method(const char *path)
{
	return path[0] == '/' && path[1] != 0 && strchr(path + 1, '/') == NULL ? path + 1 : NULL;
}

/* The answer to one request on a listener; returns the error that made it a 400, for the log. */
static teeliza_err serve(http_server_reply *reply, tee_sim *sim, tee_sim_listener kind,
                         const http_server_request *req)
{
	const char *path = req->path, *method;

	if (strcmp(req->method, "GET") == 0 || strcmp(req->method, "POST") == 0) {
		if (kind != TEE_SIM_DSTACK_SOCKET && strncmp(path, PRPC_PREFIX, strlen(PRPC_PREFIX)) == 0) {
			method = path + strlen(PRPC_PREFIX);
			if (kind == TEE_SIM_TCP && strncmp(method, WORKER_SERVICE_PREFIX, strlen(WORKER_SERVICE_PREFIX)) == 0 &&
			    is_worker_method(method + strlen(WORKER_SERVICE_PREFIX)))
				return simsrv_dstack_serve(reply, &sim->st, SIMSRV_SERVICE_WORKER,
				                           method + strlen(WORKER_SERVICE_PREFIX), req);
			return serve_tappd(reply, sim, method, req);
		}
		method = kind != TEE_SIM_TAPPD_SOCKET ? dstack_method(path) : NULL;
		if (method != NULL)
			return simsrv_dstack_serve(reply, &sim->st, SIMSRV_SERVICE_DSTACK, method, req);
	}
	reply->status = 404;
	simsrv_json_error(&reply->body, "method Not Found");
	return TEELIZA_OK;
}

static double elapsed_ms(const struct timespec *t0)
{
	struct timespec t1;

	clock_gettime(CLOCK_MONOTONIC, &t1);
	return (double)(t1.tv_sec - t0->tv_sec) * 1e3 + (double)(t1.tv_nsec - t0->tv_nsec) / 1e6;
}

static bool body_is_ascii(const teeliza_buf *body)
{
	size_t i;

	for (i = 0; i < body->len; i++)
		if (body->data[i] >= 0x80)
			return false;
	return true;
}

static void handle(http_server_reply *reply, const http_server_request *req, void *ctx)
{
	struct listener *l = ctx;
	tee_sim *sim = l->sim;
	struct timespec t0;
	teeliza_err err;

	clock_gettime(CLOCK_MONOTONIC, &t0);
	err = serve(reply, sim, l->kind, req);
	if (l->kind != TEE_SIM_TCP && !body_is_ascii(&reply->body))
		/* The SDKs' unix-socket reader (dstack-sdk 0.1.x and 0.5.x) compares Content-Length, in
		 * bytes, with the UTF-16 length of what it read: for a reply holding non-ASCII text (an app
		 * name or compose from --compose) it never sees the reply complete, and waits for the
		 * connection to end. Ending it here answers at once; keep-alive would hold the SDK until
		 * its 30 s timeout. */
		reply->extra_headers[0] = "Connection: close";
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
	if (st->locks_ready) {
		simsrv_view_close(st);
		pthread_mutex_destroy(&st->view_lock);
		pthread_mutex_destroy(&st->emit_lock);
	}
	teeliza_buf_free(&st->version_json);
	teeliza_buf_free(&st->dstack_version_json);
	free(st->app_cert);
	simsrv_kms_close(&st->kms);
	simsrv_app_free(&st->app);
	simsrv_ca_close(&st->ca);
}

/* The state, before any listener: CA, app, keys, and the first measured state. */
static teeliza_err open_state(tee_sim *sim, const tee_sim_config *cfg, const char *dir)
{
	simsrv_state *st = &sim->st;
	bool sim_keys = cfg->appkeys_file != NULL || cfg->dstack_dev_keys;
	teeliza_err err;

	st->refuse_emit = cfg->refuse_emit_event;
	err = simsrv_ca_open(&st->ca, cfg->key_pem, cfg->key_file, dir);
	if (!err)
		err = simsrv_app_load(&st->app, cfg->compose_file, cfg->app_id_hex, sim_keys, &st->ca);
	if (!err)
		err = simsrv_kms_open(&st->kms, cfg->appkeys_file, cfg->dstack_dev_keys, dir, st->app.app_id);
	if (err)
		return err;
	st->pki = sim->pki;
	err = simsrv_prepare_static(st);
	if (err)
		return err;
	pthread_mutex_init(&st->view_lock, NULL);
	pthread_mutex_init(&st->emit_lock, NULL);
	st->locks_ready = true;
	err = simsrv_view_init(st);
	if (!err)
		err = simsrv_issue_demo_cert(st);
	if (!err)
		err = simsrv_view_refresh(st); /* Info shows the demo cert */
	return err;
}

static teeliza_err start_listener(tee_sim *sim, tee_sim_listener kind, const tee_sim_config *cfg)
{
	http_server_config hc;

	memset(&hc, 0, sizeof(hc));
	switch (kind) {
	case TEE_SIM_TCP:
		if (cfg->host == NULL)
			return TEELIZA_OK;
		hc.host = cfg->host;
		hc.port = cfg->port;
		break;
	case TEE_SIM_TAPPD_SOCKET:
		if (cfg->socket_path == NULL)
			return TEELIZA_OK;
		hc.unix_socket = cfg->socket_path;
		break;
	default:
		if (cfg->dstack_socket_path == NULL)
			return TEELIZA_OK;
		hc.unix_socket = cfg->dstack_socket_path;
		break;
	}
	hc.unix_mode = cfg->socket_mode;
	hc.max_body = SIM_MAX_BODY;
	hc.threads = cfg->threads;
	hc.request_timeout_s = cfg->request_timeout_s;
	hc.handler = handle;
	sim->listeners[kind].sim = sim;
	sim->listeners[kind].kind = kind;
	hc.ctx = &sim->listeners[kind];
	return http_server_start(&sim->http[kind], &hc);
}

teeliza_err tee_sim_start(tee_sim **out, const tee_sim_config *cfg)
{
	char dir_buf[4096];
	const char *dir = cfg->state_dir;
	tee_sim *sim;
	unsigned i;
	teeliza_err err;

	*out = NULL;
	if (!cfg->no_listener && cfg->host == NULL && cfg->socket_path == NULL && cfg->dstack_socket_path == NULL)
		return teeliza_set_error(TEELIZA_ERR_CONFIG, "no listener configured: need a TCP address or a socket");
	if (cfg->socket_path != NULL && cfg->dstack_socket_path != NULL &&
	    strcmp(cfg->socket_path, cfg->dstack_socket_path) == 0)
		return teeliza_set_error(TEELIZA_ERR_CONFIG, "the tappd and dstack sockets must be different paths (%s)",
		                         cfg->socket_path);
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
		err = open_state(sim, cfg, dir);
	for (i = 0; err == TEELIZA_OK && !cfg->no_listener && i < N_LISTENERS; i++)
		err = start_listener(sim, (tee_sim_listener)i, cfg);
	if (err) {
		tee_sim_stop(sim);
		return err;
	}
	*out = sim;
	return TEELIZA_OK;
}

teeliza_err tee_sim_call_on(teeliza_buf *reply, unsigned *status, const tee_sim *sim, tee_sim_listener listener,
                            const char *http_method, const char *path, const char *query, const char *content_type,
                            const uint8_t *body, size_t body_len)
{
	http_server_reply r;
	http_server_request req;

	memset(&req, 0, sizeof(req));
	req.method = http_method;
	req.path = path;
	req.query = query != NULL ? query : "";
	req.content_type = content_type != NULL ? content_type : "";
	req.authorization = "";
	req.body = body != NULL ? body : (const uint8_t *)"";
	req.body_len = body != NULL ? body_len : 0;
	req.remote = "call";
	memset(&r, 0, sizeof(r));
	r.status = 200;
	teeliza_buf_init(&r.body, SIM_MAX_REPLY);
	/* the state is shared with server threads, which take it as mutable too (EmitEvent) */
	(void)serve(&r, (tee_sim *)sim, listener, &req);
	*status = r.status;
	*reply = r.body;
	return TEELIZA_OK;
}

teeliza_err tee_sim_call(teeliza_buf *reply, unsigned *status, const tee_sim *sim, const char *http_method,
                         const char *path, const char *query, const uint8_t *body, size_t body_len)
{
	return tee_sim_call_on(reply, status, sim, TEE_SIM_TCP, http_method, path, query, "application/json", body,
	                       body_len);
}

uint16_t tee_sim_port(const tee_sim *sim)
{
	return sim->http[TEE_SIM_TCP] != NULL ? http_server_port(sim->http[TEE_SIM_TCP]) : 0;
}

const tee_sim_pki *tee_sim_get_pki(const tee_sim *sim)
{
	return sim->pki;
}

teeliza_err tee_sim_trust_anchor(teeliza_buf *root_pem, teeliza_buf *collateral_json, void *sim, int64_t now)
{
	const tee_sim_pki *pki = tee_sim_get_pki(sim);
	teeliza_buf b;
	teeliza_err err;

	err = tee_sim_collateral_json(&b, pki, now);
	if (err)
		return err;
	err = teeliza_buf_append(collateral_json, b.data, b.len);
	teeliza_buf_free(&b);
	if (!err)
		err = tee_sim_pki_root_pem(&b, pki);
	if (err)
		return err;
	err = teeliza_buf_append(root_pem, b.data, b.len);
	teeliza_buf_free(&b);
	return err;
}

bool tee_sim_kms_root(uint8_t pub[33], const tee_sim *sim)
{
	if (!sim->st.kms.root_known)
		return false;
	memcpy(pub, sim->st.kms.root_pub, TEE_DSTACK_K256_PUB_LEN);
	return true;
}

void tee_sim_app_id(uint8_t out[20], const tee_sim *sim)
{
	memcpy(out, sim->st.app.app_id, sizeof(sim->st.app.app_id));
}

const char *tee_sim_keys_source(const tee_sim *sim)
{
	return sim->st.kms.source;
}

void tee_sim_stop(tee_sim *sim)
{
	unsigned i;

	if (sim == NULL)
		return;
	for (i = 0; i < N_LISTENERS; i++)
		http_server_stop(sim->http[i]); /* first: no handler may run past this */
	free_state(&sim->st);
	tee_sim_pki_free(sim->pki);
	free(sim);
}
