/*
 * Where tappd is: Eliza's TEE_MODE table, and the JS SDK's
 * DSTACK_SIMULATOR_ENDPOINT override (which wins over any mode).
 */
#include "teeliza/tee/tappd.h"
#include "teeliza/tee/tee_endpoint.h"

#include <assert.h>
#include <stdio.h>
#include <string.h>

#define TAPPD_LOCAL_URL "http://localhost:8090"
#define TAPPD_DOCKER_URL "http://host.docker.internal:8090"

teeliza_err tappd_endpoint_parse(tappd_endpoint *out, const char *endpoint)
{
	/* The same rule for both APIs (tee_endpoint.c); the messages say "tappd". */
	return tee_endpoint_parse(out, endpoint, TEE_API_TAPPD);
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
