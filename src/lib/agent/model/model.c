/*
 * The model interface (agent_llm in teeliza/agent/model.h): what every
 * implementation shares, whichever it is. The implementations
 * (model_openai.c, model_offline.c) fill in agent_llm_ops; model_select.c
 * picks one for a character's settings. Nothing here names them.
 */
#include "teeliza/agent/model.h"
#include "teeliza/common/log.h"

#include <assert.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

void agent_llm_log(const agent_llm *m, const char *fmt, ...)
{
	char line[1024];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(line, sizeof(line), fmt, ap);
	va_end(ap);
	if (m != NULL && m->log != NULL)
		m->log(m->log_ctx, line);
	else
		teeliza_log_write(stderr, line, strlen(line));
}

teeliza_err agent_llm_generate(agent_llm *m, teeliza_buf *out_text, const char *system, const char *prompt,
                               agent_llm_size size, const agent_llm_options *opts)
{
	agent_llm_options o;

	assert(m != NULL && m->ops != NULL && m->ops->generate != NULL && out_text != NULL && prompt != NULL);
	assert(size >= AGENT_LLM_SMALL && size <= AGENT_LLM_LARGE);
	o = opts != NULL ? *opts : m->defaults;
	if (o.timeout_ms <= 0)
		o.timeout_ms = m->defaults.timeout_ms;
	if (o.max_tokens <= 0)
		o.max_tokens = m->defaults.max_tokens;
	teeliza_buf_reset(out_text);
	return m->ops->generate(m, out_text, system, prompt, size, &o);
}

bool agent_llm_error_retriable(teeliza_err err)
{
	return err == TEELIZA_ERR_REMOTE || err == TEELIZA_ERR_CONNECT || err == TEELIZA_ERR_TIMEOUT ||
	       err == TEELIZA_ERR_PROTOCOL;
}

void agent_llm_default_options(agent_llm_options *out, const agent_llm *m)
{
	assert(out != NULL && m != NULL);
	*out = m->defaults;
	out->user_text = NULL;
	out->conversation = NULL;
	out->actions = NULL;
	out->n_actions = 0;
}

void agent_llm_free(agent_llm *m)
{
	if (m == NULL)
		return;
	if (m->ops != NULL && m->ops->destroy != NULL)
		m->ops->destroy(m);
	teeliza_wipe(m, sizeof(*m));
	free(m);
}

void agent_llm_describe(char *out, size_t out_len, const agent_llm *m)
{
	assert(out != NULL && out_len > 0 && m != NULL);
	if (m->offline) {
		snprintf(out, out_len, "offline responder (ELIZA)");
		return;
	}
	snprintf(out, out_len, "%s at %s (small %s, medium %s, large %s)", m->provider, m->base_url,
	         m->model[AGENT_LLM_SMALL], m->model[AGENT_LLM_MEDIUM], m->model[AGENT_LLM_LARGE]);
}

void agent_llm_endpoint_wipe(agent_llm_endpoint *ep)
{
	if (ep != NULL)
		teeliza_wipe(ep, sizeof(*ep));
}
