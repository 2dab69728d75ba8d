/*
 * Where tappd is: Eliza's TEE_MODE table, and the JS SDK's
 * DSTACK_SIMULATOR_ENDPOINT override (which wins over any mode).
 */
#include "teeliza/tee/tappd.h"

#include <assert.h>
#include <stdio.h>
#include <string.h>
#include <sys/un.h>

#define TAPPD_LOCAL_URL "http://localhost:8090"
#define TAPPD_DOCKER_URL "http://host.docker.internal:8090"

/* sun_path holds the path and its NUL. */
#define UNIX_PATH_MAX_LEN (sizeof(((struct sockaddr_un *)0)->sun_path) - 1)

static bool starts_with(const char *s, const char *prefix)
{
	return strncmp(s, prefix, strlen(prefix)) == 0;
}

static bool has_control_or_space(const char *s)
{
	for (; *s; s++)
		if ((unsigned char)*s <= 0x20 || (unsigned char)*s == 0x7f)
			return true;
	return false;
}

teeliza_err tappd_endpoint_parse(tappd_endpoint *out, const char *endpoint)
{
	const char *host;
	size_t len;

	assert(out != NULL);
	memset(out, 0, sizeof(*out));
	if (endpoint == NULL || endpoint[0] == 0)
		return teeliza_set_error(TEELIZA_ERR_INVALID, "empty tappd endpoint: give an http(s):// URL or a unix socket path");
	len = strlen(endpoint);
	/* The SDK's rule, case-sensitive: these two prefixes mean HTTP, anything else a socket path. */
	if (starts_with(endpoint, "http://") || starts_with(endpoint, "https://")) {
		if (len >= sizeof(out->url))
			return teeliza_set_error(TEELIZA_ERR_INVALID, "tappd endpoint URL is longer than %zu bytes",
			                         sizeof(out->url) - 1);
		if (has_control_or_space(endpoint))
			return teeliza_set_error(TEELIZA_ERR_INVALID, "tappd endpoint URL contains spaces or control characters");
		host = strstr(endpoint, "://") + 3;
		if (*host == 0 || *host == '/' || *host == '?' || *host == '#')
			return teeliza_set_error(TEELIZA_ERR_INVALID, "tappd endpoint URL %s has no host", endpoint);
		memcpy(out->url, endpoint, len + 1);
		return TEELIZA_OK;
	}
	if (len > UNIX_PATH_MAX_LEN)
		return teeliza_set_error(TEELIZA_ERR_INVALID, "unix socket path %s is longer than %zu bytes", endpoint,
		                         UNIX_PATH_MAX_LEN);
	memcpy(out->socket, endpoint, len + 1);
	return TEELIZA_OK;
}

teeliza_err tappd_endpoint_select(tappd_endpoint *out, const char *tee_mode, const char *simulator_endpoint)
{
	teeliza_err err;

	assert(out != NULL);
	memset(out, 0, sizeof(*out));
	/* The plugin validates the mode before the SDK looks at the override. */
	if (tee_mode != NULL && strcmp(tee_mode, "LOCAL") == 0)
		err = tappd_endpoint_parse(out, TAPPD_LOCAL_URL);
	else if (tee_mode != NULL && strcmp(tee_mode, "DOCKER") == 0)
		err = tappd_endpoint_parse(out, TAPPD_DOCKER_URL);
	else if (tee_mode != NULL && strcmp(tee_mode, "PRODUCTION") == 0)
		err = tappd_endpoint_parse(out, TAPPD_DEFAULT_SOCKET);
	else
		return teeliza_set_error(TEELIZA_ERR_CONFIG, "Invalid TEE_MODE: %s. Must be one of: LOCAL, DOCKER, PRODUCTION",
		                         tee_mode != NULL ? tee_mode : "undefined");
	if (err)
		return err;
	/* An empty variable is falsy in JS: no override. */
	if (simulator_endpoint != NULL && simulator_endpoint[0] != 0)
		return tappd_endpoint_parse(out, simulator_endpoint);
	return TEELIZA_OK;
}

const char *tappd_mode_log_line(const char *tee_mode)
{
	if (tee_mode == NULL)
		return NULL;
	if (strcmp(tee_mode, "LOCAL") == 0)
		return "TEE: Connecting to local simulator at localhost:8090";
	if (strcmp(tee_mode, "DOCKER") == 0)
		return "TEE: Connecting to simulator via Docker at host.docker.internal:8090";
	if (strcmp(tee_mode, "PRODUCTION") == 0)
		return "TEE: Running in production mode without simulator";
	return NULL;
}

/* Copy s into out[*pos..] (NUL-terminated, truncated), control characters shown as '?'. */
static void put_escaped(char *out, size_t out_len, size_t *pos, const char *s)
{
	for (; *s && *pos + 1 < out_len; s++)
		out[(*pos)++] = (unsigned char)*s < 0x20 || (unsigned char)*s == 0x7f ? '?' : *s;
	out[*pos] = 0;
}

const char *tappd_connect_log_line(char *out, size_t out_len, const char *tee_mode, const char *simulator_endpoint)
{
	const char *line = tappd_mode_log_line(tee_mode), *head, *tail;
	size_t pos = 0;

	assert(out != NULL && out_len > 0);
	if (line == NULL || simulator_endpoint == NULL || simulator_endpoint[0] == 0)
		return line;
	/*
	 * Eliza logs the mode's endpoint and then the SDK's override, two
	 * different targets in a row; name the one actually used, and what it
	 * replaces, so the lines agree.
	 */
	if (strcmp(tee_mode, "LOCAL") == 0) {
		head = "TEE: Connecting to local simulator at ";
		tail = " (DSTACK_SIMULATOR_ENDPOINT replaces localhost:8090 of TEE_MODE=LOCAL)";
	} else if (strcmp(tee_mode, "DOCKER") == 0) {
		head = "TEE: Connecting to simulator at ";
		tail = " (DSTACK_SIMULATOR_ENDPOINT replaces host.docker.internal:8090 of TEE_MODE=DOCKER)";
	} else {
		head = "TEE: WARNING: TEE_MODE=PRODUCTION, but DSTACK_SIMULATOR_ENDPOINT sends every request to ";
		tail = " instead of " TAPPD_DEFAULT_SOCKET ": keys and quotes come from there, not from this machine's TDX";
	}
	out[0] = 0;
	put_escaped(out, out_len, &pos, head);
	put_escaped(out, out_len, &pos, simulator_endpoint);
	put_escaped(out, out_len, &pos, tail);
	return out;
}

const char *tappd_endpoint_str(char *out, size_t out_len, const tappd_endpoint *ep)
{
	assert(out != NULL && out_len > 0 && ep != NULL);
	if (ep->socket[0])
		snprintf(out, out_len, "unix:%s", ep->socket);
	else
		snprintf(out, out_len, "%s", ep->url);
	return out;
}

void tappd_client_init(tappd_client *c, const tappd_endpoint *ep)
{
	assert(c != NULL && ep != NULL);
	memset(c, 0, sizeof(*c));
	c->ep = *ep;
	c->timeout_ms = 30000;
	c->max_response = (size_t)16 << 20;
}
