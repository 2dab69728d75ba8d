/* Small things the runtime needs everywhere: the agent log, seeds, error wrapping. */
#include "agent/runtime/runtime_internal.h"
#include "agent/runtime/logring.h"

#include "teeliza/common/log.h"

#include <assert.h>
#include <openssl/rand.h>
#include <stdarg.h>
#include <string.h>
#include <time.h>

/* Text that may hold a secret is formatted into memory that is wiped when freed. */
#define LOG_TEXT_MAX ((size_t)16 << 20)
#define LOG_KEY_LINE AGENT_LOGRING_REDACTED " (private key)"

/*
 * The one path of every agent log line: redact (logring.h), cut a PEM
 * private key, escape (teeliza/common/log.h), keep a copy for the dashboard, and
 * write the whole event with one fwrite. multi_line: text is a block of
 * lines (split at '\n', each escaped); else a '\n' in it is escaped too.
 */
static void log_text(FILE *f, const char *text, size_t len, bool multi_line)
{
	int64_t now = agent_store_now_ms();
	teeliza_buf clean, out;
	const char *p, *end, *nl;
	bool in_key = false;
	size_t mark;
	teeliza_err err;

	if (f == NULL)
		f = stderr;
	teeliza_buf_init(&out, LOG_TEXT_MAX);
	err = agent_logring_redact(&clean, text, len);
	if (err) {
		teeliza_buf_free(&clean);
		agent_logring_push_line(AGENT_LOGRING_WITHHELD, strlen(AGENT_LOGRING_WITHHELD), now);
		teeliza_log_write(f, AGENT_LOGRING_WITHHELD, strlen(AGENT_LOGRING_WITHHELD));
		return;
	}
	p = (const char *)clean.data;
	end = p + clean.len;
	for (;;) {
		nl = multi_line ? memchr(p, '\n', (size_t)(end - p)) : NULL;
		if (nl == NULL)
			nl = end;
		mark = out.len;
		if (agent_logring_private_key_line(p, (size_t)(nl - p), &in_key))
			err = teeliza_buf_append_str(&out, LOG_KEY_LINE);
		else
			err = teeliza_log_line(&out, p, (size_t)(nl - p));
		if (err)
			break;
		agent_logring_push_line((const char *)out.data + mark, out.len - mark, now);
		err = teeliza_buf_append(&out, "\n", 1);
		if (err || nl == end)
			break;
		p = nl + 1;
	}
	teeliza_buf_free(&clean);
	if (err) {
		teeliza_buf_free(&out);
		agent_logring_push_line(AGENT_LOGRING_WITHHELD, strlen(AGENT_LOGRING_WITHHELD), now);
		teeliza_log_write(f, AGENT_LOGRING_WITHHELD, strlen(AGENT_LOGRING_WITHHELD));
		return;
	}
	/* flockfile keeps one line (or one block) of a thread together. */
	flockfile(f);
	fwrite(out.data, 1, out.len, f);
	fflush(f);
	funlockfile(f);
	teeliza_buf_free(&out);
}

void agent_log(FILE *f, const char *fmt, ...)
{
	teeliza_buf text;
	va_list ap;
	int n;

	va_start(ap, fmt);
	n = vsnprintf(NULL, 0, fmt, ap);
	va_end(ap);
	teeliza_buf_init(&text, LOG_TEXT_MAX);
	text.secret = true;
	if (n < 0 || teeliza_buf_reserve(&text, (size_t)n + 1) != TEELIZA_OK) {
		teeliza_buf_free(&text);
		log_text(f, TEELIZA_LOG_UNFORMATTED, sizeof(TEELIZA_LOG_UNFORMATTED) - 1, false);
		return;
	}
	va_start(ap, fmt);
	vsnprintf((char *)text.data, (size_t)n + 1, fmt, ap);
	va_end(ap);
	text.len = (size_t)n;
	log_text(f, (const char *)text.data, text.len, false);
	teeliza_buf_free(&text);
}

void agent_log_lines(FILE *f, const char *text)
{
	assert(text != NULL);
	log_text(f, text, strlen(text), true);
}

uint64_t agent_seed_or_random(uint64_t seed)
{
	struct timespec ts;

	if (seed != 0)
		return seed;
	if (RAND_bytes((unsigned char *)&seed, sizeof(seed)) != 1 || seed == 0) {
		/* Sampling only: a clock-based seed is good enough when the RNG is unavailable. */
		clock_gettime(CLOCK_REALTIME, &ts);
		seed = (uint64_t)ts.tv_nsec ^ ((uint64_t)ts.tv_sec << 20) ^ 0x9e3779b97f4a7c15ull;
	}
	return seed;
}

teeliza_err agent_error_wrap(teeliza_err err, const char *prefix)
{
	char msg[1024];

	/* Copy first: the detail message is the buffer teeliza_set_error writes to. */
	snprintf(msg, sizeof(msg), "%s", teeliza_errmsg());
	return teeliza_set_error(err, "%s%s", prefix, msg[0] != 0 ? msg : teeliza_strerror(err));
}
