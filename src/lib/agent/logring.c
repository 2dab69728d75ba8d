/* The in-memory ring of recent, redacted log lines (logring.h). */
#include "agent/logring.h"
#include "agent/runtime_internal.h"
#include "teeliza/encoding.h"

#include <ctype.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define LOGRING_SECRETS_MAX 64
#define LOGRING_SECRET_MIN 4
#define LOGRING_FORMAT_MAX ((size_t)256 << 10)

extern char **environ;

typedef struct ring_line {
	uint64_t seq;
	int64_t time_ms;
	char text[AGENT_LOGRING_LINE_MAX + 64];
} ring_line;

static pthread_mutex_t ring_lock = PTHREAD_MUTEX_INITIALIZER;
static ring_line ring[AGENT_LOGRING_LINES];
static uint64_t next_seq = 1;                 /* seq of the next line pushed */
static char *secrets[LOGRING_SECRETS_MAX];
static size_t n_secrets;
static bool env_scanned;

/* Called with ring_lock held. */
static void add_secret_locked(const char *s, size_t n)
{
	size_t i;

	if (n < LOGRING_SECRET_MIN || n_secrets == LOGRING_SECRETS_MAX)
		return;
	for (i = 0; i < n_secrets; i++)
		if (strlen(secrets[i]) == n && memcmp(secrets[i], s, n) == 0)
			return;
	secrets[n_secrets] = malloc(n + 1);
	if (secrets[n_secrets] == NULL)
		return;
	memcpy(secrets[n_secrets], s, n);
	secrets[n_secrets][n] = 0;
	n_secrets++;
}

void agent_logring_add_secret(const char *s)
{
	if (s == NULL)
		return;
	pthread_mutex_lock(&ring_lock);
	add_secret_locked(s, strlen(s));
	pthread_mutex_unlock(&ring_lock);
}

void agent_logring_add_character_secrets(const agent_character *c)
{
	json_t *copy = agent_character_to_json(c, true), *v;
	const char *key;

	json_object_foreach(json_object_get(json_object_get(copy, "settings"), "secrets"), key, v) {
		if (!json_is_string(v))
			continue;
		agent_logring_add_secret(json_string_value(v));
		/* jansson frees without wiping: clear the copy first. */
		teeliza_wipe((char *)json_string_value(v), json_string_length(v));
	}
	json_decref(copy);
}

/* Does the variable name say its value is a secret? */
static bool secret_name(const char *name, size_t n)
{
	static const char *const words[] = {"SALT", "KEY", "SECRET", "TOKEN", "PASSWORD", "PASSWD", "CREDENTIAL"};
	char up[128];
	size_t i;

	if (n >= sizeof(up))
		n = sizeof(up) - 1;
	for (i = 0; i < n; i++)
		up[i] = (char)toupper((unsigned char)name[i]);
	up[n] = 0;
	for (i = 0; i < sizeof(words) / sizeof(words[0]); i++)
		if (strstr(up, words[i]) != NULL)
			return true;
	return false;
}

/* Called with ring_lock held: the environment is read once, at the first line. */
static void scan_env_locked(void)
{
	char **e;
	const char *eq;

	env_scanned = true;
	for (e = environ; e != NULL && *e != NULL; e++) {
		eq = strchr(*e, '=');
		if (eq != NULL && secret_name(*e, (size_t)(eq - *e)))
			add_secret_locked(eq + 1, strlen(eq + 1));
	}
}

/* Replace every registered secret in text with AGENT_LOGRING_REDACTED into out (initialised here). */
static teeliza_err redact_secrets(teeliza_buf *out, const char *text)
{
	const char *p = text, *hit, *first;
	size_t i, which = 0, n;

	teeliza_buf_init(out, LOGRING_FORMAT_MAX * 2);
	for (;;) {
		first = NULL;
		for (i = 0; i < n_secrets; i++) {
			hit = strstr(p, secrets[i]);
			if (hit != NULL && (first == NULL || hit < first)) {
				first = hit;
				which = i;
			}
		}
		if (first == NULL)
			break;
		n = strlen(secrets[which]);
		if (teeliza_buf_append(out, p, (size_t)(first - p)) != TEELIZA_OK ||
		    teeliza_buf_append_str(out, AGENT_LOGRING_REDACTED) != TEELIZA_OK)
			return TEELIZA_ERR_NOMEM;
		p = first + n;
	}
	return teeliza_buf_append_str(out, p);
}

/* Copy n bytes of line into dst (size dst_len > 4), invalid UTF-8 as '?', stopping at a whole character. */
static void copy_utf8(char *dst, size_t dst_len, const char *line, size_t n)
{
	size_t i = 0, o = 0, k;

	while (i < n) {
		k = teeliza_utf8_seq_len((const uint8_t *)line + i, n - i);
		if (k == 0) {
			if (o + 1 >= dst_len)
				break;
			dst[o++] = '?';
			i++;
			continue;
		}
		if (o + k >= dst_len)
			break;
		memcpy(dst + o, line + i, k);
		o += k;
		i += k;
	}
	dst[o] = 0;
}

/* Called with ring_lock held. in_key: inside a PEM private-key block (kept across lines of one event). */
static void push_line_locked(const char *line, size_t n, int64_t now, bool *in_key)
{
	ring_line *slot = &ring[next_seq % AGENT_LOGRING_LINES];
	const char *begin = memmem(line, n, "-----BEGIN", 10);
	bool key_line = *in_key || (begin != NULL && memmem(line, n, "PRIVATE KEY-----", 16) != NULL);

	if (key_line && !*in_key)
		*in_key = true;
	if (*in_key && memmem(line, n, "-----END", 8) != NULL)
		*in_key = false;
	slot->seq = next_seq++;
	slot->time_ms = now;
	if (key_line)
		snprintf(slot->text, sizeof(slot->text), "%s (private key)", AGENT_LOGRING_REDACTED);
	else if (n > AGENT_LOGRING_LINE_MAX) {
		copy_utf8(slot->text, AGENT_LOGRING_LINE_MAX + 1, line, n);
		snprintf(slot->text + strlen(slot->text), sizeof(slot->text) - strlen(slot->text), "… [%zu bytes]", n);
	} else {
		copy_utf8(slot->text, sizeof(slot->text), line, n);
	}
}

void agent_logring_vpush(const char *fmt, va_list ap)
{
	teeliza_buf raw, clean;
	const char *p, *nl;
	bool in_key = false;
	int64_t now = agent_store_now_ms();
	va_list ap2;
	int n;

	va_copy(ap2, ap);
	n = vsnprintf(NULL, 0, fmt, ap2);
	va_end(ap2);
	if (n < 0)
		return;
	teeliza_buf_init(&raw, LOGRING_FORMAT_MAX);
	if (teeliza_buf_reserve(&raw, (size_t)n + 1) != TEELIZA_OK) {
		teeliza_buf_free(&raw);
		return;
	}
	vsnprintf((char *)raw.data, (size_t)n + 1, fmt, ap);
	pthread_mutex_lock(&ring_lock);
	if (!env_scanned)
		scan_env_locked();
	if (redact_secrets(&clean, (const char *)raw.data) != TEELIZA_OK) {
		pthread_mutex_unlock(&ring_lock);
		teeliza_buf_free(&raw);
		teeliza_buf_free(&clean);
		return;
	}
	teeliza_buf_free(&raw);
	for (p = clean.data != NULL ? (const char *)clean.data : "";; p = nl + 1) {
		nl = strchr(p, '\n');
		push_line_locked(p, nl != NULL ? (size_t)(nl - p) : strlen(p), now, &in_key);
		if (nl == NULL)
			break;
	}
	pthread_mutex_unlock(&ring_lock);
	teeliza_buf_free(&clean);
}

void agent_logring_push(const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	agent_logring_vpush(fmt, ap);
	va_end(ap);
}

teeliza_err agent_logring_json(json_t **out, uint64_t after, size_t max)
{
	json_t *list = json_array(), *one;
	uint64_t first, seq;

	*out = NULL;
	if (list == NULL)
		return teeliza_set_error(TEELIZA_ERR_NOMEM, "out of memory");
	pthread_mutex_lock(&ring_lock);
	first = next_seq > AGENT_LOGRING_LINES ? next_seq - AGENT_LOGRING_LINES : 1;
	if (max != 0 && next_seq - first > max)
		first = next_seq - max;
	if (first <= after)
		first = after + 1;
	for (seq = first; seq < next_seq; seq++) {
		const ring_line *l = &ring[seq % AGENT_LOGRING_LINES];

		one = json_pack("{s:I, s:I, s:s}", "seq", (json_int_t)l->seq, "time", (json_int_t)l->time_ms, "line",
		                l->text);
		if (one == NULL || json_array_append_new(list, one) != 0) {
			pthread_mutex_unlock(&ring_lock);
			json_decref(list);
			return teeliza_set_error(TEELIZA_ERR_NOMEM, "out of memory");
		}
	}
	pthread_mutex_unlock(&ring_lock);
	*out = list;
	return TEELIZA_OK;
}

void agent_logring_clear(void)
{
	pthread_mutex_lock(&ring_lock);
	memset(ring, 0, sizeof(ring));
	next_seq = 1;
	pthread_mutex_unlock(&ring_lock);
}
