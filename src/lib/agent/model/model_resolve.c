/*
 * Provider selection: which OpenAI-compatible server a character's
 * modelProvider means, read from settings the way Eliza's getSetting reads
 * them (agent_llm_resolve).
 *
 * An operator's key goes only where the operator configured it: a
 * character posted over the network that would use a key it did not bring
 * (the environment's, or one merged in from elsewhere) must keep to an
 * endpoint the operator set up for that key (bound_to_operator below).
 */
#include "agent/model/model_internal.h"

#include <assert.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

const char *agent_llm_character_setting(void *ctx, const char *key)
{
	if (ctx == NULL)
		return getenv(key);
	return agent_character_get_setting((const agent_character *)ctx, key);
}

const char *agent_llm_env_setting(void *ctx, const char *key)
{
	(void)ctx;
	return getenv(key);
}

/* What each supported modelProvider needs and defaults to. */
struct provider_info {
	const char *name;              /* modelProvider */
	const char *label;             /* for messages */
	const char *key_var;           /* required API key, or NULL (local server) */
	const char *optional_key_var;  /* sent when set (local servers started with a key) */
	const char *url_vars[2];       /* first set one wins */
	const char *default_url;       /* NULL: a URL is required */
	const char *model_var;         /* SMALL_<x>_MODEL ... */
	const char *model_fallback;    /* one model for all sizes, or NULL */
	const char *defaults[AGENT_LLM_SIZES];
};

static const struct provider_info providers[] = {
	{ "redpill", "RedPill", "REDPILL_API_KEY", NULL, { "REDPILL_API_URL", NULL }, "https://api.red-pill.ai/v1",
	  "REDPILL", "REDPILL_MODEL", { "gpt-4o-mini", "gpt-4o", "gpt-4o" } },
	{ "openai", "OpenAI", "OPENAI_API_KEY", NULL, { "OPENAI_API_URL", NULL }, "https://api.openai.com/v1",
	  "OPENAI", NULL, { "gpt-4o-mini", "gpt-4o", "gpt-4o" } },
	{ "ollama", "Ollama", NULL, "OLLAMA_API_KEY", { "OLLAMA_SERVER_URL", NULL }, NULL,
	  "OLLAMA", "OLLAMA_MODEL", { "llama3.2", "llama3.2", "llama3.2" } },
	{ "llama_local", "a local llama.cpp server", NULL, "LOCAL_MODEL_API_KEY", { "LOCAL_MODEL_URL", NULL }, NULL,
	  "LOCAL", "LOCAL_MODEL", { "local-model", "local-model", "local-model" } },
	{ "lmstudio", "LM Studio", NULL, "LOCAL_MODEL_API_KEY", { "LMSTUDIO_SERVER_URL", "LOCAL_MODEL_URL" }, NULL,
	  "LOCAL", "LOCAL_MODEL", { "local-model", "local-model", "local-model" } },
};

static const char *const size_names[AGENT_LLM_SIZES] = { "SMALL", "MEDIUM", "LARGE" };

static const char *setting(const agent_llm_config *cfg, const char *key)
{
	agent_setting_fn get = cfg->get != NULL ? cfg->get : agent_llm_env_setting;
	const char *v = get(cfg->get_ctx, key);

	return v != NULL && v[0] != '\0' ? v : NULL;
}

static bool truthy(const char *v)
{
	return v != NULL && (strcmp(v, "1") == 0 || strcasecmp(v, "true") == 0 || strcasecmp(v, "yes") == 0 ||
	                     strcasecmp(v, "on") == 0);
}

/* Copy a setting into a fixed field; refuse values that do not fit or could break a header line. */
static teeliza_err copy_value(char *out, size_t out_len, const char *value, const char *what)
{
	size_t n = strlen(value);

	if (n >= out_len)
		return teeliza_set_error(TEELIZA_ERR_CONFIG, "%s is longer than %zu bytes", what, out_len - 1);
	for (size_t i = 0; i < n; i++) {
		if ((unsigned char)value[i] < 0x20 || value[i] == 0x7f)
			return teeliza_set_error(TEELIZA_ERR_CONFIG, "%s contains control characters", what);
	}
	memcpy(out, value, n + 1);
	return TEELIZA_OK;
}

/* Base URL: http(s) only, no trailing '/', and "/v1" added to a bare local server address. */
static teeliza_err set_base_url(agent_llm_endpoint *out, const char *url, const char *what, bool local)
{
	const char *rest;
	size_t n;
	teeliza_err err;

	if (strncasecmp(url, "http://", 7) == 0)
		rest = url + 7;
	else if (strncasecmp(url, "https://", 8) == 0)
		rest = url + 8;
	else
		return teeliza_set_error(TEELIZA_ERR_CONFIG, "%s is not an http(s) URL: %s", what, url);
	if (rest[0] == '\0' || rest[0] == '/')
		return teeliza_set_error(TEELIZA_ERR_CONFIG, "%s has no host: %s", what, url);
	err = copy_value(out->base_url, sizeof(out->base_url) - 3, url, what);
	if (err != TEELIZA_OK)
		return err;
	n = strlen(out->base_url);
	while (n > 0 && out->base_url[n - 1] == '/')
		out->base_url[--n] = '\0';
	/* A bare "http://host:port" of a local server means its OpenAI-compatible /v1. */
	rest = out->base_url + (size_t)(rest - url);
	if (local && strchr(rest, '/') == NULL)
		memcpy(out->base_url + n, "/v1", 4);
	return TEELIZA_OK;
}

static teeliza_err read_timeout(long *out, const agent_llm_config *cfg)
{
	const char *v;
	uint64_t ms;

	*out = AGENT_LLM_DEFAULT_TIMEOUT_MS;
	if (cfg->timeout_ms > 0) {
		*out = cfg->timeout_ms;
		return TEELIZA_OK;
	}
	v = setting(cfg, "MODEL_TIMEOUT_MS");
	if (v == NULL)
		return TEELIZA_OK;
	if (teeliza_parse_u64(&ms, v, 1, 3600000) != TEELIZA_OK)
		return teeliza_set_error(TEELIZA_ERR_CONFIG,
		                         "MODEL_TIMEOUT_MS must be a number of milliseconds from 1 to 3600000, not \"%s\"", v);
	*out = (long)ms;
	return TEELIZA_OK;
}

/* Did the caller post this value for key itself (settings.secrets.key or settings.key)? */
static bool posted_value(const json_t *posted, const char *key, const char *value)
{
	const json_t *settings = json_object_get(posted, "settings");
	const char *a = json_string_value(json_object_get(json_object_get(settings, "secrets"), key));
	const char *b = json_string_value(json_object_get(settings, key));

	return (a != NULL && strcmp(a, value) == 0) || (b != NULL && strcmp(b, value) == 0);
}

/*
 * May a posted character send the operator's key for this provider to
 * base_url? Only to the provider's URL in the process environment (or its
 * default), or to a URL the operator paired with this very key.
 */
static teeliza_err bound_to_operator(const struct provider_info *info, const char *key, const char *key_var,
                                     const char *base_url, const char *url_var, bool local)
{
	agent_llm_endpoint env_ep;
	const char *env_url = NULL;
	bool same = false;

	for (size_t i = 0; i < 2 && env_url == NULL && info->url_vars[i] != NULL; i++) {
		env_url = getenv(info->url_vars[i]);
		if (env_url != NULL && env_url[0] == '\0')
			env_url = NULL;
	}
	if (env_url == NULL)
		env_url = info->default_url;
	memset(&env_ep, 0, sizeof(env_ep));
	if (env_url != NULL && set_base_url(&env_ep, env_url, "the environment's URL", local) == TEELIZA_OK)
		same = strcmp(env_ep.base_url, base_url) == 0;
	if (same || agent_llm_operator_bound(key, base_url))
		return TEELIZA_OK;
	return teeliza_set_error(TEELIZA_ERR_CONFIG,
	                         "%s %s is not an endpoint the operator configured for its %s: a character posted "
	                         "over the API that names its own endpoint must bring its own key "
	                         "(settings.secrets.%s); docs/MODELS.md", url_var, base_url, key_var, key_var);
}

static teeliza_err resolve_models(agent_llm_endpoint *out, const agent_llm_config *cfg,
                                  const struct provider_info *info)
{
	for (size_t s = 0; s < AGENT_LLM_SIZES; s++) {
		char var[64];
		const char *v;
		teeliza_err err;

		snprintf(var, sizeof(var), "%s_%s_MODEL", size_names[s], info->model_var);
		v = setting(cfg, var);
		if (v == NULL && info->model_fallback != NULL) {
			v = setting(cfg, info->model_fallback);
			snprintf(var, sizeof(var), "%s", info->model_fallback);
		}
		if (v == NULL)
			v = info->defaults[s];
		err = copy_value(out->model[s], sizeof(out->model[s]), v, var);
		if (err != TEELIZA_OK)
			return err;
	}
	return TEELIZA_OK;
}

static teeliza_err resolve(agent_llm_endpoint *out, const agent_llm_config *cfg)
{
	const struct provider_info *info = NULL;
	const char *key = NULL, *url = NULL, *url_var = NULL;
	bool local;
	teeliza_err err;

	if (truthy(setting(cfg, "TEELIZA_OFFLINE")))
		return teeliza_set_error(TEELIZA_ERR_NOT_FOUND, "TEELIZA_OFFLINE is set");
	if (cfg->provider == NULL || cfg->provider[0] == '\0')
		return teeliza_set_error(TEELIZA_ERR_NOT_FOUND, "no modelProvider given");
	for (size_t i = 0; i < sizeof(providers) / sizeof(providers[0]); i++) {
		if (strcasecmp(providers[i].name, cfg->provider) == 0)
			info = &providers[i];
	}
	if (info == NULL)
		return teeliza_set_error(TEELIZA_ERR_UNSUPPORTED,
		                         "modelProvider \"%s\" is not supported (teeliza speaks to OpenAI-compatible "
		                         "APIs: redpill, openai, ollama, llama_local, lmstudio)", cfg->provider);
	local = info->key_var == NULL;
	snprintf(out->provider, sizeof(out->provider), "%s", info->name);
	if (!local) {
		key = setting(cfg, info->key_var);
		if (key == NULL)
			return teeliza_set_error(TEELIZA_ERR_NOT_FOUND, "no %s for modelProvider \"%s\" (set %s to use %s)",
			                         info->key_var, info->name, info->key_var, info->label);
	} else {
		key = setting(cfg, info->optional_key_var);
	}
	for (size_t i = 0; i < 2 && url == NULL && info->url_vars[i] != NULL; i++) {
		url_var = info->url_vars[i];
		url = setting(cfg, url_var);
	}
	if (cfg->endpoint_override != NULL && cfg->endpoint_override[0] != '\0') {
		url = cfg->endpoint_override;
		url_var = "modelEndpointOverride";
	}
	if (url == NULL && info->default_url == NULL)
		return teeliza_set_error(TEELIZA_ERR_NOT_FOUND,
		                         "no %s for modelProvider \"%s\" (set it to the OpenAI-compatible address of %s, "
		                         "e.g. %s)", info->url_vars[0], info->name, info->label,
		                         strcmp(info->name, "ollama") == 0 ? "http://127.0.0.1:11434"
		                                                           : "http://127.0.0.1:8080/v1");
	if (url == NULL) {
		url = info->default_url;
		url_var = "the default URL";
	}
	err = set_base_url(out, url, url_var, local);
	if (err == TEELIZA_OK && key != NULL)
		err = copy_value(out->api_key, sizeof(out->api_key), key, local ? info->optional_key_var : info->key_var);
	/* A posted character with a key it did not bring: only to where the operator sends that key. */
	if (err == TEELIZA_OK && key != NULL && cfg->posted != NULL &&
	    !posted_value(cfg->posted, local ? info->optional_key_var : info->key_var, key))
		err = bound_to_operator(info, key, local ? info->optional_key_var : info->key_var, out->base_url, url_var,
		                        local);
	if (err == TEELIZA_OK)
		err = resolve_models(out, cfg, info);
	if (err == TEELIZA_OK)
		err = read_timeout(&out->timeout_ms, cfg);
	out->temperature = AGENT_LLM_DEFAULT_TEMPERATURE;
	out->max_tokens = AGENT_LLM_DEFAULT_MAX_TOKENS;
	out->frequency_penalty = 0.0;
	out->presence_penalty = 0.0;
	return err;
}

teeliza_err agent_llm_resolve(agent_llm_endpoint *out, const agent_llm_config *cfg)
{
	teeliza_err err;

	assert(out != NULL && cfg != NULL);
	memset(out, 0, sizeof(*out));
	err = resolve(out, cfg);
	if (err != TEELIZA_OK)
		agent_llm_endpoint_wipe(out);
	else if (cfg->posted == NULL && out->api_key[0] != '\0')
		agent_llm_bind_operator_key(out->api_key, out->base_url);
	return err;
}
