/*
 * Turning a model's text into Eliza's reply object, and asking again a
 * bounded number of times when it does not parse.
 *
 * Eliza's generateMessageResponse retries without limit when the model's
 * text holds no JSON object ("parsedContent is null, retrying"), so one bad
 * model answer can hang a message forever (elizaOS/eliza#70). Here the
 * number of attempts is bounded, and after the last one the raw text
 * becomes the reply with action NONE.
 */
#ifndef TEELIZA_AGENT_PARSE_H
#define TEELIZA_AGENT_PARSE_H

#include <jansson.h>

#include "teeliza/common/common.h"
#include "teeliza/agent/model.h"

#ifdef __cplusplus
extern "C" {
#endif

/* Model calls per reply when agent_reply_config.max_attempts is 0. */
#define AGENT_REPLY_DEFAULT_ATTEMPTS 3u
/* Wait before the second call after a failed model call; doubles each time (Eliza: 1 s). */
#define AGENT_REPLY_DEFAULT_BACKOFF_MS 1000L

/*
 * Eliza's parseJSONObjectFromText: the first ```json fenced block when
 * there is one (only its content is tried), else the first balanced {...}
 * in the text (braces inside JSON strings do not count; Eliza's non-greedy
 * regex stops at the first '}', so nested objects work here and did not
 * there). Only an object counts.
 * Out: *out, a new reference (caller json_decref()s), NULL on failure.
 * Errors: TEELIZA_ERR_PARSE with what was wrong (no object, bad JSON and
 * its position, not an object).
 */
teeliza_err agent_parse_json_object(json_t **out, const char *text, size_t len) TEELIZA_WARN_UNUSED;

typedef struct agent_reply_config {
	unsigned max_attempts;       /* model calls in total; 0: AGENT_REPLY_DEFAULT_ATTEMPTS */
	long backoff_ms;             /* 0: AGENT_REPLY_DEFAULT_BACKOFF_MS; < 0: no wait */
	const char *agent_name;      /* "user" of a fallback reply; NULL: no "user" member */
	agent_llm_log_fn log;        /* NULL: the model's log */
	void *log_ctx;
} agent_reply_config;

/* How a reply came about. */
typedef struct agent_reply_info {
	unsigned attempts;           /* model calls made */
	bool fallback;               /* the raw text was used, unparsed */
} agent_reply_info;

/*
 * Ask m for a reply and parse it (agent_parse_json_object). When the text
 * has no JSON object, ask again at once; when the call itself fails with a
 * retriable error (agent_llm_error_retriable), wait backoff_ms (doubling)
 * and ask again; at most max_attempts calls. Each retry logs one line
 * ("model reply 1/3 has no JSON object (...); asking again").
 * After the last attempt:
 *  - text that did not parse becomes {"user": agent_name, "text": <the
 *    trimmed text>, "action": "NONE"} (fallback = true), logged;
 *  - a model error is returned (message from the model).
 * A non-retriable model error (TEELIZA_ERR_CONFIG: bad key, unknown model)
 * is returned at once. Text that is empty after trimming counts as not
 * parsed, and an empty final text is TEELIZA_ERR_PROTOCOL rather than an
 * empty reply.
 * Out: *content, a new JSON object (caller json_decref()s; NULL on error);
 * info (may be NULL) is always filled.
 */
teeliza_err agent_generate_reply(json_t **content, agent_reply_info *info, agent_llm *m, const char *system,
                                 const char *prompt, agent_llm_size size, const agent_llm_options *opts,
                                 const agent_reply_config *cfg) TEELIZA_WARN_UNUSED;

#ifdef __cplusplus
}
#endif
#endif
