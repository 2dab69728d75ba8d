/*
 * The REST API's settings from the environment (docs/AGENT.md, "Limits"),
 * read as Eliza reads them: SERVER_HOST, SERVER_PORT, API_TOKEN,
 * EXPRESS_MAX_PAYLOAD with body-parser's sizes; and teeliza's own.
 */
#include "agent/runtime/runtime_internal.h"
#include "teeliza/agent/api.h"
#include "teeliza/http/http.h"

#include <assert.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

teeliza_err agent_api_parse_size(size_t *out, const char *text)
{
	unsigned long long n = 0, mult = 1;
	const char *p = text;
	size_t digits = 0;

	assert(out != NULL);
	*out = 0;
	if (text == NULL)
		return teeliza_set_error(TEELIZA_ERR_INVALID, "no size given");
	while (*p == ' ')
		p++;
	for (; *p >= '0' && *p <= '9'; p++, digits++) {
		if (n > (1ull << 40))
			return teeliza_set_error(TEELIZA_ERR_INVALID, "size '%s' is too large", text);
		n = n * 10 + (unsigned long long)(*p - '0');
	}
	if (digits == 0)
		return teeliza_set_error(TEELIZA_ERR_INVALID, "size '%s' is not a number with an optional unit", text);
	while (*p == ' ')
		p++;
	/* The `bytes` package's units, as body-parser reads "100kb". */
	if (*p == 0 || strcasecmp(p, "b") == 0)
		mult = 1;
	else if (strcasecmp(p, "kb") == 0)
		mult = 1ull << 10;
	else if (strcasecmp(p, "mb") == 0)
		mult = 1ull << 20;
	else if (strcasecmp(p, "gb") == 0)
		mult = 1ull << 30;
	else
		return teeliza_set_error(TEELIZA_ERR_INVALID, "size '%s' has an unknown unit (b, kb, mb, gb)", text);
	if (n == 0 || n > (1ull << 40) / mult)
		return teeliza_set_error(TEELIZA_ERR_INVALID, "size '%s' is out of range", text);
	*out = (size_t)(n * mult);
	return TEELIZA_OK;
}

/* An unsigned setting in [min, max] from the environment (what: its unit); unset or empty leaves *out. */
static teeliza_err env_unsigned(unsigned *out, const char *name, const char *what, uint64_t min, uint64_t max)
{
	const char *text = getenv(name);
	char prefix[160];
	uint64_t v;

	if (text == NULL || text[0] == 0)
		return TEELIZA_OK;
	if (teeliza_parse_u64(&v, text, min, max) != TEELIZA_OK) {
		snprintf(prefix, sizeof(prefix), "%s (%s): ", name, what);
		return agent_error_wrap(TEELIZA_ERR_CONFIG, prefix);
	}
	*out = (unsigned)v;
	return TEELIZA_OK;
}

/* The server's limits (docs/AGENT.md, "Limits"). */
static teeliza_err limits_from_env(agent_api_config *cfg)
{
	teeliza_err err;

	err = env_unsigned(&cfg->rate_limit, "API_RATE_LIMIT", "requests a minute per client address, 0 = no limit", 0,
	                   HTTP_SERVER_MAX_RATE_LIMIT);
	if (!err)
		err = env_unsigned(&cfg->max_connections, "API_MAX_CONNECTIONS", "open connections", 1, 1000000);
	if (!err)
		err = env_unsigned(&cfg->max_per_client, "API_MAX_CONNECTIONS_PER_CLIENT",
		                   "open connections from one client address", 1, 1000000);
	if (!err)
		err = env_unsigned(&cfg->request_timeout_s, "API_REQUEST_TIMEOUT", "seconds to send a whole request", 1,
		                   3600);
	if (!err)
		err = env_unsigned(&cfg->request_lease_s, "TEELIZA_REQUEST_LEASE",
		                   "seconds a replica keeps a claimed request before another takes it over", 1, 86400);
	return err;
}

teeliza_err agent_api_config_from_env(agent_api_config *cfg)
{
	const char *host = getenv("SERVER_HOST"), *port = getenv("SERVER_PORT"), *token = getenv("API_TOKEN");
	const char *payload = getenv("EXPRESS_MAX_PAYLOAD"), *max_file = getenv("TEELIZA_MAX_FILE_SIZE");
	uint64_t v;

	assert(cfg != NULL);
	if (host != NULL && host[0] != 0)
		cfg->host = host;
	if (port != NULL && port[0] != 0) {
		if (teeliza_parse_u64(&v, port, 0, 65535) != TEELIZA_OK)
			return teeliza_set_error(TEELIZA_ERR_CONFIG, "SERVER_PORT must be a port number (0-65535), got '%s'",
			                         port);
		cfg->port = (uint16_t)v;
	}
	/* elizaOS 1.x names the token ELIZA_SERVER_AUTH_TOKEN; API_TOKEN wins when both are set */
	if (token == NULL || token[0] == 0)
		token = getenv("ELIZA_SERVER_AUTH_TOKEN");
	if (token != NULL && token[0] != 0)
		cfg->api_token = token;
	if (getenv("PCCS_URL") != NULL && getenv("PCCS_URL")[0] != 0)
		cfg->pccs_url = getenv("PCCS_URL");
	if (getenv("TEELIZA_COLLATERAL_CACHE") != NULL && getenv("TEELIZA_COLLATERAL_CACHE")[0] != 0)
		cfg->collateral_cache = getenv("TEELIZA_COLLATERAL_CACHE");
	if (payload != NULL && payload[0] != 0 && agent_api_parse_size(&cfg->max_body, payload) != TEELIZA_OK)
		return agent_error_wrap(TEELIZA_ERR_CONFIG, "EXPRESS_MAX_PAYLOAD: ");
	if (max_file != NULL && max_file[0] != 0 && agent_api_parse_size(&cfg->max_file, max_file) != TEELIZA_OK)
		return agent_error_wrap(TEELIZA_ERR_CONFIG, "TEELIZA_MAX_FILE_SIZE: ");
	return limits_from_env(cfg);
}
