/*
 * An agent's model: agent_llm (agent_model.h) for the text, turned into
 * Eliza's content object by agent_generate_reply (agent_parse.h: bounded
 * retries, then the plain text as the reply).
 */
#include "agent/runtime/runtime_internal.h"
#include "teeliza/agent/model.h"
#include "teeliza/agent/parse_reply.h"

#include <assert.h>
#include <stdlib.h>
#include <string.h>

struct llm_model {
	agent_llm *llm;
	FILE *log;
};

static void log_line(void *ctx, const char *line)
{
	agent_log(ctx, "%s", line);
}

static teeliza_err llm_generate(json_t **content, void *ctx, const agent_generate_request *req)
{
	struct llm_model *m = ctx;
	agent_reply_config rc;
	agent_llm_options o;

	*content = NULL;
	agent_llm_default_options(&o, m->llm);
	o.user_text = req->user_text;
	o.conversation = req->room_id;
	o.actions = req->hints;
	o.n_actions = req->n_hints;
	memset(&rc, 0, sizeof(rc));
	rc.agent_name = agent_character_name(req->character);
	rc.log = log_line;
	rc.log_ctx = m->log;
	return agent_generate_reply(content, NULL, m->llm, req->system, req->prompt, AGENT_LLM_LARGE, &o, &rc);
}

static void llm_free(void *ctx)
{
	struct llm_model *m = ctx;

	if (m == NULL)
		return;
	agent_llm_free(m->llm);
	free(m);
}

teeliza_err agent_model_for_character(agent_model *out, const agent_character *c, const json_t *posted, uint64_t seed,
                                      FILE *log)
{
	agent_llm_config cfg;
	struct llm_model *m;
	teeliza_err err;

	assert(out != NULL && c != NULL);
	memset(out, 0, sizeof(*out));
	m = calloc(1, sizeof(*m));
	if (m == NULL)
		return teeliza_set_error(TEELIZA_ERR_NOMEM, "out of memory");
	memset(&cfg, 0, sizeof(cfg));
	cfg.provider = agent_character_model_provider(c);
	cfg.get = agent_llm_character_setting;
	cfg.get_ctx = (void *)(uintptr_t)c;
	cfg.endpoint_override = agent_character_string(c, "modelEndpointOverride");
	cfg.posted = posted;
	cfg.character = c;
	cfg.seed = agent_seed_or_random(seed);
	cfg.log = log_line;
	cfg.log_ctx = log;
	m->log = log;
	err = agent_llm_from_settings(&m->llm, &cfg);
	if (err) {
		free(m);
		return err;
	}
	out->generate = llm_generate;
	out->ctx = m;
	out->free_ctx = llm_free;
	out->prompt_unused = m->llm->offline;
	if (m->llm->offline)
		snprintf(out->description, sizeof(out->description), "%s", "offline responder (ELIZA)");
	else
		snprintf(out->description, sizeof(out->description), "%s at %s, model %s", m->llm->provider,
		         m->llm->base_url, m->llm->model[AGENT_LLM_LARGE]);
	return TEELIZA_OK;
}

void agent_model_free(agent_model *m)
{
	if (m == NULL)
		return;
	if (m->free_ctx != NULL)
		m->free_ctx(m->ctx);
	memset(m, 0, sizeof(*m));
}
