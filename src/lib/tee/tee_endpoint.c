/*
 * Which TEE API and which endpoint: TEE_MODE (Eliza), TEE_API (ours), and
 * the socket lists and endpoint variables of @phala/dstack-sdk 0.5.8.
 * LOCAL and DOCKER without TEE_API keep Eliza's tappd behaviour and lines
 * (tappd_endpoint.c) exactly.
 */
#include "teeliza/tee/tee_endpoint.h"

#include <assert.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#define LOCAL_URL "http://localhost:8090"
#define DOCKER_URL "http://host.docker.internal:8090"

const char *const TEE_DSTACK_SOCKETS[] = {
	"/var/run/dstack.sock", "/run/dstack.sock", "/var/run/dstack/dstack.sock", "/run/dstack/dstack.sock", NULL,
};
const char *const TEE_TAPPD_SOCKETS[] = {
	"/var/run/tappd.sock", "/run/tappd.sock", "/var/run/dstack/tappd.sock", "/run/dstack/tappd.sock", NULL,
};

static bool set(const char *v)
{
	return v != NULL && v[0] != 0;
}

const char *tee_first_existing(const char *const *list)
{
	struct stat st;

	assert(list != NULL);
	for (; *list != NULL; list++)
		if (stat(*list, &st) == 0)
			return *list;
	return NULL;
}

/* The socket a list gives: the first that exists, else the first (the SDK's "?? socketPaths[0]"). */
static const char *socket_of(const char *const *list)
{
	const char *found = tee_first_existing(list);

	assert(list[0] != NULL);
	return found != NULL ? found : list[0];
}

teeliza_err tee_dstack_endpoint_default(tee_endpoint *out, const char *simulator_endpoint, const char *const *sockets)
{
	if (set(simulator_endpoint))
		return tee_endpoint_parse(out, simulator_endpoint, TEE_API_DSTACK);
	return tee_endpoint_parse(out, socket_of(sockets != NULL ? sockets : TEE_DSTACK_SOCKETS), TEE_API_DSTACK);
}

teeliza_err tee_tappd_endpoint_default(tee_endpoint *out, const char *simulator_endpoint, const char *const *sockets)
{
	if (set(simulator_endpoint))
		return tee_endpoint_parse(out, simulator_endpoint, TEE_API_TAPPD);
	return tee_endpoint_parse(out, socket_of(sockets != NULL ? sockets : TEE_TAPPD_SOCKETS), TEE_API_TAPPD);
}

void tee_endpoint_env_from_process(tee_endpoint_env *env)
{
	assert(env != NULL);
	memset(env, 0, sizeof(*env));
	env->tee_mode = getenv("TEE_MODE");
	env->tee_api = getenv("TEE_API");
	env->dstack_endpoint = getenv("DSTACK_SIMULATOR_ENDPOINT");
	env->tappd_endpoint = getenv("TAPPD_SIMULATOR_ENDPOINT");
}

/* ---- log lines ---- */

/* Append pieces to a line (truncated, never overflowing), control characters as '?'. */
static void put(char *out, size_t *pos, const char *s)
{
	for (; *s && *pos + 1 < TEE_ENDPOINT_LOG_MAX; s++)
		out[(*pos)++] = (unsigned char)*s < 0x20 || (unsigned char)*s == 0x7f ? '?' : *s;
	out[*pos] = 0;
}

static void line(char *out, const char *a, const char *b, const char *c, const char *d, const char *e)
{
	size_t pos = 0;

	out[0] = 0;
	put(out, &pos, a);
	put(out, &pos, b != NULL ? b : "");
	put(out, &pos, c != NULL ? c : "");
	put(out, &pos, d != NULL ? d : "");
	put(out, &pos, e != NULL ? e : "");
}

enum mode { MODE_LOCAL, MODE_DOCKER, MODE_PRODUCTION };

/* "TEE: Connecting to local simulator at " and what the mode's URL is called. */
static const char *sim_head(enum mode m)
{
	return m == MODE_LOCAL ? "TEE: Connecting to local simulator at " : "TEE: Connecting to simulator at ";
}

static const char *mode_default(enum mode m)
{
	return m == MODE_LOCAL ? "localhost:8090 of TEE_MODE=LOCAL" : "host.docker.internal:8090 of TEE_MODE=DOCKER";
}

static teeliza_err choose_tappd(tee_endpoint_choice *out, enum mode m, const tee_endpoint_env *env)
{
	const char *const *list = env->tappd_sockets != NULL ? env->tappd_sockets : TEE_TAPPD_SOCKETS;
	const char *sock, *why, *l;
	teeliza_err err;

	if (set(env->tappd_endpoint)) {
		/* SDK 0.5.8's TappdClient variable names a tappd endpoint in every mode. */
		err = tee_endpoint_parse(&out->ep, env->tappd_endpoint, TEE_API_TAPPD);
		if (err)
			return err;
		out->overridden = true;
		line(out->sdk_line, TEE_TAPPD_OVERRIDE_LOG_PREFIX, env->tappd_endpoint, NULL, NULL, NULL);
		if (m == MODE_PRODUCTION)
			line(out->log_line, "TEE: WARNING: TEE_MODE=PRODUCTION, but TAPPD_SIMULATOR_ENDPOINT sends every tappd "
			     "request to ", env->tappd_endpoint, " instead of ", socket_of(list),
			     ": keys and quotes come from there, not from this machine's TDX");
		else
			line(out->log_line, sim_head(m), env->tappd_endpoint, " (TAPPD_SIMULATOR_ENDPOINT replaces ",
			     mode_default(m), set(env->dstack_endpoint) ? "; DSTACK_SIMULATOR_ENDPOINT is not used)" : ")");
		return TEELIZA_OK;
	}
	if (m != MODE_PRODUCTION || set(env->dstack_endpoint)) {
		/* Eliza's rules and lines, unchanged: the mode's URL or DSTACK_SIMULATOR_ENDPOINT. */
		err = tappd_endpoint_select(&out->ep, env->tee_mode, env->dstack_endpoint);
		if (err)
			return err;
		out->overridden = set(env->dstack_endpoint);
		l = tappd_connect_log_line(out->log_line, sizeof(out->log_line), env->tee_mode, env->dstack_endpoint);
		if (l != out->log_line) /* the static mode line: copied */
			line(out->log_line, l, NULL, NULL, NULL, NULL);
		if (out->overridden)
			line(out->sdk_line, TAPPD_OVERRIDE_LOG_PREFIX, env->dstack_endpoint, NULL, NULL, NULL);
		return TEELIZA_OK;
	}
	sock = socket_of(list);
	err = tee_endpoint_parse(&out->ep, sock, TEE_API_TAPPD);
	if (err)
		return err;
	why = out->api_explicit ? " (TEE_API=tappd" : " (no dstack socket found";
	line(out->log_line, "TEE: Running in production mode without simulator: tappd API at ", sock, why,
	     tee_first_existing(list) == NULL ? "; it does not exist either)" : ")", NULL);
	return TEELIZA_OK;
}

static teeliza_err choose_dstack(tee_endpoint_choice *out, enum mode m, const tee_endpoint_env *env)
{
	const char *const *list = env->dstack_sockets != NULL ? env->dstack_sockets : TEE_DSTACK_SOCKETS;
	const char *sock, *why;
	teeliza_err err;

	if (set(env->dstack_endpoint)) {
		err = tee_endpoint_parse(&out->ep, env->dstack_endpoint, TEE_API_DSTACK);
		if (err)
			return err;
		out->overridden = true;
		line(out->sdk_line, TEE_DSTACK_OVERRIDE_LOG_PREFIX, env->dstack_endpoint, NULL, NULL, NULL);
		if (m == MODE_PRODUCTION)
			line(out->log_line, "TEE: WARNING: TEE_MODE=PRODUCTION, but DSTACK_SIMULATOR_ENDPOINT sends every dstack "
			     "API request to ", env->dstack_endpoint, " instead of ", socket_of(list),
			     ": keys and quotes come from there, not from this machine's TDX");
		else
			line(out->log_line, sim_head(m), env->dstack_endpoint,
			     " (dstack API, TEE_API=dstack; DSTACK_SIMULATOR_ENDPOINT replaces ", mode_default(m), ")");
		return TEELIZA_OK;
	}
	if (m == MODE_LOCAL) {
		line(out->log_line, "TEE: Connecting to local simulator at localhost:8090 (dstack API, TEE_API=dstack)",
		     NULL, NULL, NULL, NULL);
		return tee_endpoint_parse(&out->ep, LOCAL_URL, TEE_API_DSTACK);
	}
	if (m == MODE_DOCKER) {
		line(out->log_line,
		     "TEE: Connecting to simulator via Docker at host.docker.internal:8090 (dstack API, TEE_API=dstack)",
		     NULL, NULL, NULL, NULL);
		return tee_endpoint_parse(&out->ep, DOCKER_URL, TEE_API_DSTACK);
	}
	sock = socket_of(list);
	err = tee_endpoint_parse(&out->ep, sock, TEE_API_DSTACK);
	if (err)
		return err;
	why = !out->api_explicit ? " (found)"
	      : tee_first_existing(list) == NULL ? " (TEE_API=dstack; it does not exist)" : " (TEE_API=dstack)";
	line(out->log_line, "TEE: Running in production mode without simulator: dstack API at ", sock, why, NULL, NULL);
	return TEELIZA_OK;
}

teeliza_err tee_endpoint_choose(tee_endpoint_choice *out, const tee_endpoint_env *env)
{
	const char *mode;
	enum mode m;
	teeliza_err err;

	assert(out != NULL && env != NULL);
	memset(out, 0, sizeof(*out));
	mode = env->tee_mode;
	if (mode != NULL && strcmp(mode, "LOCAL") == 0)
		m = MODE_LOCAL;
	else if (mode != NULL && strcmp(mode, "DOCKER") == 0)
		m = MODE_DOCKER;
	else if (mode != NULL && strcmp(mode, "PRODUCTION") == 0)
		m = MODE_PRODUCTION;
	else
		return teeliza_set_error(TEELIZA_ERR_CONFIG, "Invalid TEE_MODE: %s. Must be one of: LOCAL, DOCKER, PRODUCTION",
		                         mode != NULL ? mode : "undefined");

	if (set(env->tee_api)) {
		err = tee_api_parse(&out->api, env->tee_api);
		if (err)
			return err;
		out->api_explicit = true;
	} else if (m == MODE_PRODUCTION && !set(env->dstack_endpoint) && !set(env->tappd_endpoint) &&
	           tee_first_existing(env->dstack_sockets != NULL ? env->dstack_sockets : TEE_DSTACK_SOCKETS) != NULL) {
		out->api = TEE_API_DSTACK;
	} else {
		/*
		 * Eliza's API. A set endpoint variable names a tappd endpoint (as
		 * Eliza's SDK 0.1.x reads DSTACK_SIMULATOR_ENDPOINT), so it is never
		 * second-guessed by looking for sockets.
		 */
		out->api = TEE_API_TAPPD;
	}
	err = out->api == TEE_API_DSTACK ? choose_dstack(out, m, env) : choose_tappd(out, m, env);
	if (err) {
		memset(out, 0, sizeof(*out));
		return err;
	}
	return TEELIZA_OK;
}
