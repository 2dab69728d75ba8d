/*
 * The model for a character's settings: the provider's OpenAI-compatible
 * client when agent_llm_resolve finds one, else the offline responder, with
 * one log line that says what to set. The one place that names the
 * implementations.
 */
#include "teeliza/agent/model.h"

#include <assert.h>
#include <stdio.h>
#include <string.h>

teeliza_err agent_llm_from_settings(agent_llm **out, const agent_llm_config *cfg)
{
	agent_llm_endpoint ep;
	agent_llm tmp;
	char why[512];
	teeliza_err err;

	assert(out != NULL && cfg != NULL);
	*out = NULL;
	err = agent_llm_resolve(&ep, cfg);
	if (err == TEELIZA_OK) {
		err = agent_llm_openai_new(out, &ep, cfg->log, cfg->log_ctx);
		agent_llm_endpoint_wipe(&ep);
		return err;
	}
	if (err != TEELIZA_ERR_NOT_FOUND && err != TEELIZA_ERR_UNSUPPORTED)
		return err;
	/* No usable provider: say so once, plainly, and answer offline instead of failing or downloading. */
	snprintf(why, sizeof(why), "%s", teeliza_errmsg());
	memset(&tmp, 0, sizeof(tmp));
	tmp.log = cfg->log;
	tmp.log_ctx = cfg->log_ctx;
	agent_llm_log(&tmp, "model: %s; answering with the built-in offline responder (ELIZA), no model is downloaded",
	              why);
	return agent_llm_offline_new(out, cfg->character, cfg->seed, cfg->log, cfg->log_ctx);
}
