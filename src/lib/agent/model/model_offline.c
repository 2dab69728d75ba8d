/*
 * The offline ELIZA responder behind the model interface, so the runtime
 * treats "no API key" like any other model: generate() returns the same
 * {"user","text","action"} JSON a remote model is asked for. Each
 * conversation (room) gets its own responder, so ELIZA's memory of one
 * user's topics never surfaces in another's room.
 */
#include "teeliza/agent/model.h"

#include <assert.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define OFFLINE_SESSIONS 64
#define OFFLINE_ID_MAX 128

struct session {
	agent_eliza *e;           /* NULL: slot free */
	uint64_t hash;
	char id[OFFLINE_ID_MAX];  /* first bytes of the conversation id (with hash, identifies it) */
	uint64_t last_use;
};

struct offline {
	pthread_mutex_t lock;
	agent_eliza_persona *persona;
	uint64_t seed;
	uint64_t clock;
	struct session sessions[OFFLINE_SESSIONS];
};

static uint64_t hash64(const char *s)
{
	uint64_t h = 1469598103934665603ull;

	for (; *s != '\0'; s++) {
		h ^= (uint8_t)*s;
		h *= 1099511628211ull;
	}
	return h;
}

/* The responder for a conversation, created (replacing the least recently used) when new. */
static teeliza_err session_for(agent_eliza **out, struct offline *o, const char *conv)
{
	uint64_t h = hash64(conv);
	struct session *slot = NULL;
	teeliza_err err;

	for (size_t i = 0; i < OFFLINE_SESSIONS; i++) {
		struct session *s = &o->sessions[i];

		if (s->e != NULL && s->hash == h && strncmp(s->id, conv, OFFLINE_ID_MAX - 1) == 0) {
			s->last_use = ++o->clock;
			*out = s->e;
			return TEELIZA_OK;
		}
		if (slot == NULL || (slot->e != NULL && (s->e == NULL || s->last_use < slot->last_use)))
			slot = s;
	}
	agent_eliza_free(slot->e);
	memset(slot, 0, sizeof(*slot));
	/* Seeded per conversation so each room's transcript is reproducible on its own. */
	err = agent_eliza_new(&slot->e, o->persona, o->seed ^ (h * 0x9e3779b97f4a7c15ull));
	if (err != TEELIZA_OK)
		return err;
	slot->hash = h;
	snprintf(slot->id, sizeof(slot->id), "%s", conv);
	slot->last_use = ++o->clock;
	*out = slot->e;
	return TEELIZA_OK;
}

static teeliza_err offline_generate(agent_llm *m, teeliza_buf *out_text, const char *system, const char *prompt,
                                    agent_llm_size size, const agent_llm_options *opts)
{
	struct offline *o = m->impl;
	const char *text = opts->user_text != NULL ? opts->user_text : prompt;
	const char *conv = opts->conversation != NULL ? opts->conversation : "";
	agent_eliza *e;
	teeliza_err err;

	(void)system;
	(void)size;
	pthread_mutex_lock(&o->lock);
	err = session_for(&e, o, conv);
	if (err == TEELIZA_OK)
		err = agent_eliza_reply_json(e, out_text, text, strlen(text), opts->actions, opts->n_actions);
	pthread_mutex_unlock(&o->lock);
	return err;
}

static void offline_destroy(agent_llm *m)
{
	struct offline *o = m->impl;

	if (o == NULL)
		return;
	for (size_t i = 0; i < OFFLINE_SESSIONS; i++)
		agent_eliza_free(o->sessions[i].e);
	agent_eliza_persona_free(o->persona);
	pthread_mutex_destroy(&o->lock);
	free(o);
	m->impl = NULL;
}

static const agent_llm_ops offline_ops = {
	.generate = offline_generate,
	.destroy = offline_destroy,
};

teeliza_err agent_llm_offline_new(agent_llm **out, const agent_character *c, uint64_t seed, agent_llm_log_fn log,
                                  void *log_ctx)
{
	agent_llm *m;
	struct offline *o;
	teeliza_err err;

	assert(out != NULL);
	*out = NULL;
	m = calloc(1, sizeof(*m));
	o = calloc(1, sizeof(*o));
	if (m == NULL || o == NULL || pthread_mutex_init(&o->lock, NULL) != 0) {
		free(m);
		free(o);
		return teeliza_set_error(TEELIZA_ERR_NOMEM, "out of memory creating the offline responder");
	}
	err = agent_eliza_persona_new(&o->persona, c);
	if (err != TEELIZA_OK) {
		pthread_mutex_destroy(&o->lock);
		free(o);
		free(m);
		return err;
	}
	o->seed = seed;
	m->ops = &offline_ops;
	m->impl = o;
	m->offline = true;
	snprintf(m->provider, sizeof(m->provider), "offline");
	for (size_t s = 0; s < AGENT_LLM_SIZES; s++)
		snprintf(m->model[s], sizeof(m->model[s]), "eliza");
	m->defaults.temperature = AGENT_LLM_DEFAULT_TEMPERATURE;
	m->defaults.max_tokens = AGENT_LLM_DEFAULT_MAX_TOKENS;
	m->defaults.timeout_ms = AGENT_LLM_DEFAULT_TIMEOUT_MS;
	m->log = log;
	m->log_ctx = log_ctx;
	*out = m;
	return TEELIZA_OK;
}
