/*
 * What an endpoint string means, for either TEE API: an http(s):// URL or
 * a unix socket path (the dstack SDK's rule), and the APIs' names. Used by
 * both endpoint choosers (tee_endpoint.c, tappd_endpoint.c).
 */
#include "teeliza/tee/tee_endpoint.h"

#include <assert.h>
#include <string.h>
#include <sys/un.h>

/* sun_path holds the path and its NUL. */
#define UNIX_PATH_MAX_LEN (sizeof(((struct sockaddr_un *)0)->sun_path) - 1)

const char *tee_api_name(tee_api api)
{
	return api == TEE_API_DSTACK ? "dstack" : "tappd";
}

teeliza_err tee_api_parse(tee_api *out, const char *name)
{
	assert(out != NULL && name != NULL && name[0] != 0);
	if (strcmp(name, "dstack") == 0)
		*out = TEE_API_DSTACK;
	else if (strcmp(name, "tappd") == 0)
		*out = TEE_API_TAPPD;
	else
		return teeliza_set_error(TEELIZA_ERR_CONFIG,
		                         "Invalid TEE_API: %s. Must be one of: dstack, tappd (or unset to choose automatically)",
		                         name);
	return TEELIZA_OK;
}

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

teeliza_err tee_endpoint_parse(tee_endpoint *out, const char *endpoint, tee_api api)
{
	const char *name = tee_api_name(api), *host;
	size_t len;

	assert(out != NULL);
	memset(out, 0, sizeof(*out));
	if (endpoint == NULL || endpoint[0] == 0)
		return teeliza_set_error(TEELIZA_ERR_INVALID, "empty %s endpoint: give an http(s):// URL or a unix socket path",
		                         name);
	len = strlen(endpoint);
	/* The SDK's rule, case-sensitive: these two prefixes mean HTTP, anything else a socket path. */
	if (starts_with(endpoint, "http://") || starts_with(endpoint, "https://")) {
		if (len >= sizeof(out->url))
			return teeliza_set_error(TEELIZA_ERR_INVALID, "%s endpoint URL is longer than %zu bytes", name,
			                         sizeof(out->url) - 1);
		if (has_control_or_space(endpoint))
			return teeliza_set_error(TEELIZA_ERR_INVALID, "%s endpoint URL contains spaces or control characters",
			                         name);
		host = strstr(endpoint, "://") + 3;
		if (*host == 0 || *host == '/' || *host == '?' || *host == '#')
			return teeliza_set_error(TEELIZA_ERR_INVALID, "%s endpoint URL %s has no host", name, endpoint);
		memcpy(out->url, endpoint, len + 1);
		return TEELIZA_OK;
	}
	if (len > UNIX_PATH_MAX_LEN)
		return teeliza_set_error(TEELIZA_ERR_INVALID, "unix socket path %s is longer than %zu bytes", endpoint,
		                         UNIX_PATH_MAX_LEN);
	memcpy(out->socket, endpoint, len + 1);
	return TEELIZA_OK;
}
