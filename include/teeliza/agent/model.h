/*
 * Language models for the agent: one interface (agent_llm, a small vtable)
 * with two implementations:
 *  - an OpenAI-compatible chat-completions client, used for RedPill, OpenAI
 *    and local servers (Ollama, llama.cpp's llama-server, LM Studio):
 *    POST {base}/chat/completions with "Authorization: Bearer <key>" and
 *    {model, messages:[system, user], temperature, max_tokens,
 *    frequency_penalty, presence_penalty[, stop]};
 *  - the built-in offline ELIZA responder (agent_eliza.h), used when the
 *    character's provider has no API key (or no server URL for local
 *    providers). It never touches the network.
 *
 * Provider selection from settings (Eliza's getSetting order: the
 * character's settings.secrets, settings, then the environment):
 *
 *   modelProvider   needs                 base URL                                  models (SMALL / MEDIUM / LARGE)
 *   redpill         REDPILL_API_KEY       REDPILL_API_URL, else                     SMALL_REDPILL_MODEL ..., else REDPILL_MODEL,
 *                                         https://api.red-pill.ai/v1                else gpt-4o-mini / gpt-4o / gpt-4o
 *   openai          OPENAI_API_KEY        OPENAI_API_URL, else                      SMALL_OPENAI_MODEL ..., else
 *                                         https://api.openai.com/v1                 gpt-4o-mini / gpt-4o / gpt-4o
 *   ollama          OLLAMA_SERVER_URL     that URL + "/v1" when it has no path      SMALL_OLLAMA_MODEL ..., else OLLAMA_MODEL,
 *                                                                                   else llama3.2
 *   llama_local,    LOCAL_MODEL_URL       that URL + "/v1" when it has no path      SMALL_LOCAL_MODEL ..., else LOCAL_MODEL,
 *   lmstudio        (lmstudio also:                                                 else local-model
 *                   LMSTUDIO_SERVER_URL)
 *
 * Local servers need no key; LOCAL_MODEL_API_KEY / OLLAMA_API_KEY are sent
 * when set. The character's modelEndpointOverride replaces any base URL.
 *
 * An operator's key is sent only to an endpoint the operator configured
 * for it. For a character posted over the network (agent_llm_config.posted)
 * whose key is not one it posted itself (it comes from the environment, a
 * CHARACTER.<ID>.<KEY> variable or a merged parent), the base URL must be
 * the provider's URL from the process environment (or the provider's
 * default), or a URL that an operator-loaded character uses with this same
 * key; anything else fails with TEELIZA_ERR_CONFIG. A posted character
 * that brings its own key may use any endpoint. Redirects are never
 * followed (http_perform).
 * MODEL_TIMEOUT_MS sets the per-request timeout (default 120000).
 * TEELIZA_OFFLINE=1 forces the offline responder. Any other modelProvider
 * (anthropic, groq, ...) is not supported and also falls back to the
 * offline responder. Every fallback logs one line saying why and how to
 * configure a model.
 *
 * Thread safety: an agent_llm may be used from several threads at once.
 */
#ifndef TEELIZA_AGENT_MODEL_H
#define TEELIZA_AGENT_MODEL_H

#include "teeliza/common/common.h"
#include "teeliza/agent/character.h"
#include "teeliza/agent/eliza.h"

#ifdef __cplusplus
extern "C" {
#endif

/* Eliza's ModelClass for text: which of the provider's three models to use. */
typedef enum agent_llm_size {
	AGENT_LLM_SMALL = 0,
	AGENT_LLM_MEDIUM = 1,
	AGENT_LLM_LARGE = 2,
} agent_llm_size;
#define AGENT_LLM_SIZES 3

#define AGENT_LLM_DEFAULT_TIMEOUT_MS 120000L
#define AGENT_LLM_MAX_RESPONSE ((size_t)4 << 20)
/* Eliza's provider settings for RedPill and OpenAI. */
#define AGENT_LLM_DEFAULT_TEMPERATURE 0.6
#define AGENT_LLM_DEFAULT_MAX_TOKENS 8192L

/* One log line (no trailing newline). NULL where a log_fn is accepted: stderr. */
typedef void (*agent_llm_log_fn)(void *ctx, const char *line);

/* A settings lookup: the value of key, or NULL / "" when unset. Borrowed. */
typedef const char *(*agent_setting_fn)(void *ctx, const char *key);

/*
 * A settings lookup over a character (ctx is a const agent_character *):
 * agent_character_get_setting, i.e. settings.secrets, settings, then env.
 */
const char *agent_llm_character_setting(void *ctx, const char *key);

/* A settings lookup over the process environment (ctx unused). */
const char *agent_llm_env_setting(void *ctx, const char *key);

/* Per-call options. Start from agent_llm_default_options(). */
typedef struct agent_llm_options {
	double temperature;
	long max_tokens;
	double frequency_penalty;
	double presence_penalty;
	const char *const *stop;          /* NULL-terminated stop sequences, or NULL */
	long timeout_ms;                  /* covers connect, send and receive */
	/*
	 * For the offline responder only (remote models read the prompt): the
	 * user's message, the conversation (room) id keeping its own ELIZA
	 * memory, and the actions on offer. With user_text NULL the prompt is
	 * answered as if it were the user's message.
	 */
	const char *user_text;
	const char *conversation;
	const agent_action_hint *actions;
	size_t n_actions;
} agent_llm_options;

typedef struct agent_llm agent_llm;

/* The vtable an implementation provides. */
typedef struct agent_llm_ops {
	/*
	 * Generate text for prompt with the model of the given size. out_text
	 * (caller-initialised) is reset and receives the model's text; on
	 * failure it is left empty. opts is never NULL here.
	 */
	teeliza_err (*generate)(agent_llm *m, teeliza_buf *out_text, const char *system, const char *prompt,
	                        agent_llm_size size, const agent_llm_options *opts);
	/* Release impl (not m itself). */
	void (*destroy)(agent_llm *m);
} agent_llm_ops;

/* A model. Fields are read-only after creation. */
struct agent_llm {
	const agent_llm_ops *ops;
	void *impl;                           /* owned by the implementation */
	char provider[32];                    /* "redpill", "openai", "ollama", ..., "offline" */
	char base_url[512];                   /* "" for the offline responder */
	char model[AGENT_LLM_SIZES][128];     /* model name per size ("eliza" offline) */
	bool offline;
	agent_llm_options defaults;           /* provider defaults for calls without options */
	agent_llm_log_fn log;
	void *log_ctx;
};

/*
 * Generate text (see agent_llm_ops.generate). opts NULL means m->defaults.
 * Errors (message names the provider and URL):
 *  - TEELIZA_ERR_CONFIG: HTTP 4xx other than 408/429 (bad key, unknown
 *    model, wrong URL): "HTTP 401 from <url>: <the server's error.message>";
 *  - TEELIZA_ERR_REMOTE: HTTP 5xx, 408 or 429, with the server's message;
 *  - TEELIZA_ERR_CONNECT: "cannot connect to <url>: Connection refused";
 *  - TEELIZA_ERR_TIMEOUT: no complete answer within the timeout;
 *  - TEELIZA_ERR_PROTOCOL: a 2xx body that is not JSON or has no
 *    choices[0].message.content string;
 *  - TEELIZA_ERR_TOO_LARGE, TEELIZA_ERR_NOMEM.
 */
teeliza_err agent_llm_generate(agent_llm *m, teeliza_buf *out_text, const char *system, const char *prompt,
                               agent_llm_size size, const agent_llm_options *opts) TEELIZA_WARN_UNUSED;

/* True for the errors worth another attempt: REMOTE, CONNECT, TIMEOUT, PROTOCOL. */
bool agent_llm_error_retriable(teeliza_err err);

/* out = m->defaults (temperature, max_tokens, penalties, timeout; no offline fields). */
void agent_llm_default_options(agent_llm_options *out, const agent_llm *m);

/* Destroy and free; NULL-safe. */
void agent_llm_free(agent_llm *m);

/*
 * One line for logs, e.g. "redpill at https://api.red-pill.ai/v1 (small
 * gpt-4o-mini, medium gpt-4o, large gpt-4o)" or "offline responder (ELIZA)".
 * Never contains the key. out is always NUL-terminated (cut to out_len).
 */
void agent_llm_describe(char *out, size_t out_len, const agent_llm *m);

/* Write a line through m's log function (stderr when none). */
void agent_llm_log(const agent_llm *m, const char *fmt, ...) TEELIZA_PRINTF(2, 3);

/* Where and how to reach an OpenAI-compatible server. */
typedef struct agent_llm_endpoint {
	char provider[32];
	char base_url[512];                   /* without a trailing '/' */
	char api_key[512];                    /* secret; "" sends no Authorization header */
	char model[AGENT_LLM_SIZES][128];
	double temperature;
	long max_tokens;
	double frequency_penalty;
	double presence_penalty;
	long timeout_ms;
} agent_llm_endpoint;

/* Wipe the key; call when done with an endpoint. */
void agent_llm_endpoint_wipe(agent_llm_endpoint *ep);

/* How to pick a model. */
typedef struct agent_llm_config {
	const char *provider;                 /* the character's modelProvider; NULL or "": offline */
	agent_setting_fn get;                 /* NULL: agent_llm_env_setting */
	void *get_ctx;
	const char *endpoint_override;        /* the character's modelEndpointOverride, or NULL */
	/*
	 * The character as a network caller posted it (POST /agents/:id/set),
	 * before env secrets and `extends` were merged in; NULL when the
	 * operator loaded it (a file, the bundled character, an embedding
	 * program's settings). See the top of this file.
	 */
	const json_t *posted;
	const agent_character *character;     /* persona of the offline responder; may be NULL; borrowed */
	uint64_t seed;                        /* offline responder seed */
	long timeout_ms;                      /* 0: MODEL_TIMEOUT_MS, else AGENT_LLM_DEFAULT_TIMEOUT_MS */
	agent_llm_log_fn log;                 /* NULL: stderr */
	void *log_ctx;
} agent_llm_config;

/*
 * Resolve the provider's endpoint from settings (table above).
 * Out: *out (zeroed first; wipe with agent_llm_endpoint_wipe).
 * Errors: TEELIZA_ERR_NOT_FOUND when the key (or local URL) is missing and
 * TEELIZA_ERR_UNSUPPORTED for a provider we do not speak to (both: the
 * message says what to set; agent_llm_from_settings then goes offline);
 * TEELIZA_ERR_CONFIG for unusable values (a URL that is not http(s), a
 * value too long, a bad MODEL_TIMEOUT_MS) and for a posted character that
 * would send an operator's key to an endpoint the operator did not
 * configure for it. With posted NULL, a resolved (key, base URL) pair is
 * remembered as the operator's (only the key's SHA-256 is kept).
 */
teeliza_err agent_llm_resolve(agent_llm_endpoint *out, const agent_llm_config *cfg) TEELIZA_WARN_UNUSED;

/*
 * The model for cfg: the provider's client when agent_llm_resolve finds it
 * usable, else the offline responder after logging one line, e.g.
 * "model: no REDPILL_API_KEY for modelProvider \"redpill\"; answering with
 * the built-in offline responder (ELIZA). Set REDPILL_API_KEY to use
 * RedPill." Nothing is downloaded. Out: *out (NULL on failure; free with
 * agent_llm_free). Errors: TEELIZA_ERR_CONFIG from agent_llm_resolve,
 * TEELIZA_ERR_NOMEM.
 */
teeliza_err agent_llm_from_settings(agent_llm **out, const agent_llm_config *cfg) TEELIZA_WARN_UNUSED;

/*
 * An OpenAI-compatible client for ep (copied; the caller may wipe its copy).
 * Out: *out (free with agent_llm_free). Errors: TEELIZA_ERR_CONFIG for a
 * base URL that is not http(s), TEELIZA_ERR_NOMEM.
 */
teeliza_err agent_llm_openai_new(agent_llm **out, const agent_llm_endpoint *ep, agent_llm_log_fn log,
                                 void *log_ctx) TEELIZA_WARN_UNUSED;

/*
 * The offline responder as a model: generate() answers opts->user_text
 * (else the prompt) with the JSON text {"user","text","action"} of
 * agent_eliza_reply_json, keeping one ELIZA conversation per
 * opts->conversation (up to 64, least recently used replaced). c may be
 * NULL (persona "Eliza"); borrowed, must outlive the model.
 * Out: *out (free with agent_llm_free). Errors: TEELIZA_ERR_NOMEM.
 */
teeliza_err agent_llm_offline_new(agent_llm **out, const agent_character *c, uint64_t seed, agent_llm_log_fn log,
                                  void *log_ctx) TEELIZA_WARN_UNUSED;

#ifdef __cplusplus
}
#endif
#endif
