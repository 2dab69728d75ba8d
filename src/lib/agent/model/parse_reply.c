/*
 * Model text -> Eliza reply object: parseJSONObjectFromText, and the
 * bounded retry loop that replaces Eliza's endless one (elizaOS/eliza#70).
 */
#include "teeliza/agent/parse_reply.h"

#include <assert.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <time.h>

/* Starting braces tried before giving up on a text without a fence. */
#define MAX_OBJECT_STARTS 8
#define MAX_BACKOFF_MS 30000L

static bool is_space(char c)
{
	return c == ' ' || c == '\t' || c == '\n' || c == '\r' || c == '\f' || c == '\v';
}

/* End (one past the closing brace) of the balanced object starting at text[start], or 0. */
static size_t object_end(const char *text, size_t len, size_t start)
{
	size_t depth = 0;
	bool in_string = false;

	for (size_t i = start; i < len; i++) {
		char c = text[i];

		if (in_string) {
			if (c == '\\')
				i++;
			else if (c == '"')
				in_string = false;
			continue;
		}
		if (c == '"') {
			in_string = true;
		} else if (c == '{') {
			depth++;
		} else if (c == '}') {
			if (--depth == 0)
				return i + 1;
		}
	}
	return 0;
}

/* The first balanced {...} in text that parses as a JSON object. */
static teeliza_err first_object(json_t **out, const char *text, size_t len, const char *where)
{
	json_error_t jerr;
	size_t pos = 0;
	bool found_any = false;

	memset(&jerr, 0, sizeof(jerr));
	for (unsigned tries = 0; tries < MAX_OBJECT_STARTS; tries++) {
		const char *brace = memchr(text + pos, '{', len - pos);
		size_t start, end;
		json_t *j;

		if (brace == NULL)
			break;
		start = (size_t)(brace - text);
		end = object_end(text, len, start);
		pos = start + 1;
		if (end == 0)
			continue; /* never closed; an inner brace may still open a whole object */
		found_any = true;
		j = json_loadb(text + start, end - start, 0, &jerr);
		if (json_is_object(j)) {
			*out = j;
			return TEELIZA_OK;
		}
		json_decref(j);
	}
	if (!found_any)
		return teeliza_set_error(TEELIZA_ERR_PARSE, "no complete JSON object in %s", where);
	return teeliza_set_error(TEELIZA_ERR_PARSE, "the object in %s is not valid JSON: %s (column %d)", where,
	                         jerr.text, jerr.column);
}

teeliza_err agent_parse_json_object(json_t **out, const char *text, size_t len)
{
	static const char fence[] = "```json";
	const char *open, *body, *close;
	size_t body_len;
	json_error_t jerr;
	json_t *j;

	assert(out != NULL && (text != NULL || len == 0));
	*out = NULL;
	if (len == 0)
		return teeliza_set_error(TEELIZA_ERR_PARSE, "no complete JSON object in an empty text");
	open = memmem(text, len, fence, sizeof(fence) - 1);
	if (open != NULL) {
		body = open + sizeof(fence) - 1;
		close = memmem(body, len - (size_t)(body - text), "```", 3);
		if (close != NULL) {
			body_len = (size_t)(close - body);
			while (body_len > 0 && is_space(*body)) {
				body++;
				body_len--;
			}
			j = json_loadb(body, body_len, JSON_DISABLE_EOF_CHECK, &jerr);
			if (json_is_object(j)) {
				/* Anything but whitespace after the object is a sign the block was something else. */
				size_t used = jerr.position > 0 ? (size_t)jerr.position : 0;

				while (used < body_len && is_space(body[used]))
					used++;
				if (used == body_len) {
					*out = j;
					return TEELIZA_OK;
				}
			}
			json_decref(j);
			return first_object(out, body, body_len, "the ```json block");
		}
	}
	return first_object(out, text, len, "the model's text");
}

static void reply_log(const agent_llm *m, const agent_reply_config *cfg, const char *fmt, ...)
	TEELIZA_PRINTF(3, 4);

static void reply_log(const agent_llm *m, const agent_reply_config *cfg, const char *fmt, ...)
{
	char line[1024];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(line, sizeof(line), fmt, ap);
	va_end(ap);
	if (cfg != NULL && cfg->log != NULL)
		cfg->log(cfg->log_ctx, line);
	else
		agent_llm_log(m, "%s", line);
}

static void sleep_ms(long ms)
{
	struct timespec ts = { .tv_sec = ms / 1000, .tv_nsec = (ms % 1000) * 1000000L };

	while (nanosleep(&ts, &ts) != 0)
		;
}

/* The raw text as a reply: trimmed, without a stray code fence around it. */
static teeliza_err fallback_content(json_t **out, const char *agent_name, const char *text, size_t len)
{
	json_t *j;
	int rc = 0;

	while (len > 0 && is_space(text[0])) {
		text++;
		len--;
	}
	if (len >= 3 && memcmp(text, "```", 3) == 0) {
		const char *nl = memchr(text, '\n', len);

		len = nl != NULL ? len - (size_t)(nl + 1 - text) : 0;
		text = nl != NULL ? nl + 1 : text;
	}
	while (len > 0 && is_space(text[len - 1]))
		len--;
	if (len >= 3 && memcmp(text + len - 3, "```", 3) == 0)
		len -= 3;
	while (len > 0 && is_space(text[len - 1]))
		len--;
	if (len == 0)
		return teeliza_set_error(TEELIZA_ERR_PROTOCOL, "the model answered with empty text");
	j = json_object();
	if (j == NULL)
		return teeliza_set_error(TEELIZA_ERR_NOMEM, "out of memory");
	if (agent_name != NULL)
		rc |= json_object_set_new(j, "user", json_string(agent_name));
	rc |= json_object_set_new(j, "text", json_stringn(text, len));
	rc |= json_object_set_new(j, "action", json_string("NONE"));
	if (rc != 0) {
		json_decref(j);
		return teeliza_set_error(TEELIZA_ERR_PROTOCOL, "the model's text is not valid UTF-8");
	}
	*out = j;
	return TEELIZA_OK;
}

teeliza_err agent_generate_reply(json_t **content, agent_reply_info *info, agent_llm *m, const char *system,
                                 const char *prompt, agent_llm_size size, const agent_llm_options *opts,
                                 const agent_reply_config *cfg)
{
	unsigned max = cfg != NULL && cfg->max_attempts > 0 ? cfg->max_attempts : AGENT_REPLY_DEFAULT_ATTEMPTS;
	long backoff = cfg != NULL && cfg->backoff_ms != 0 ? cfg->backoff_ms : AGENT_REPLY_DEFAULT_BACKOFF_MS;
	teeliza_buf text, last;
	agent_reply_info local;
	char why[1024];
	teeliza_err err = TEELIZA_OK, last_err = TEELIZA_OK;

	assert(content != NULL && m != NULL && prompt != NULL);
	*content = NULL;
	if (info == NULL)
		info = &local;
	memset(info, 0, sizeof(*info));
	why[0] = '\0';
	teeliza_buf_init(&text, AGENT_LLM_MAX_RESPONSE + 1);
	teeliza_buf_init(&last, AGENT_LLM_MAX_RESPONSE + 1);
	for (unsigned attempt = 1; attempt <= max; attempt++) {
		json_t *obj = NULL;

		info->attempts = attempt;
		err = agent_llm_generate(m, &text, system, prompt, size, opts);
		if (err != TEELIZA_OK) {
			last_err = err;
			snprintf(why, sizeof(why), "%s", teeliza_errmsg());
			if (!agent_llm_error_retriable(err) || attempt == max)
				break;
			reply_log(m, cfg, "model call %u/%u failed: %s; retrying in %ld ms", attempt, max, why,
			          backoff > 0 ? backoff : 0);
			if (backoff > 0) {
				sleep_ms(backoff);
				backoff = backoff > MAX_BACKOFF_MS / 2 ? MAX_BACKOFF_MS : backoff * 2;
			}
			continue;
		}
		err = agent_parse_json_object(&obj, (const char *)text.data, text.len);
		if (err == TEELIZA_OK) {
			*content = obj;
			goto done;
		}
		last_err = err;
		snprintf(why, sizeof(why), "%s", teeliza_errmsg());
		teeliza_buf_reset(&last);
		err = teeliza_buf_append(&last, text.data, text.len);
		if (err != TEELIZA_OK)
			goto done;
		if (attempt < max)
			reply_log(m, cfg, "model reply %u/%u has no usable JSON object (%s); asking again", attempt, max,
			          why);
	}
	if (last.len > 0) {
		/* Better an unformatted answer than none, or an endless loop. */
		reply_log(m, cfg, "model reply %u/%u has no usable JSON object (%s); using its text as the reply "
		          "(action NONE)", info->attempts, max, why);
		err = fallback_content(content, cfg != NULL ? cfg->agent_name : NULL, (const char *)last.data,
		                       last.len);
		info->fallback = err == TEELIZA_OK;
		goto done;
	}
	if (last_err == TEELIZA_ERR_PARSE)
		err = teeliza_set_error(TEELIZA_ERR_PROTOCOL, "the model answered with empty text %u times", max);
	else
		err = teeliza_set_error(last_err, "%s", why);
done:
	teeliza_buf_free(&text);
	teeliza_buf_free(&last);
	return err;
}
