/* Redaction of agent log lines and the in-memory ring of recent ones (logring.h). */
#include "agent/runtime/logring.h"
#include "agent/runtime/runtime_internal.h"

#include <ctype.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define LOGRING_SECRET_MIN 4

extern char **environ;

typedef struct ring_line {
	uint64_t seq;
	int64_t time_ms;
	char text[AGENT_LOGRING_LINE_MAX + 64];
} ring_line;

typedef struct secret {
	char *value;
	size_t len;
	size_t holds;                             /* agents holding it (agent_logring_hold_secret) */
	bool pinned;                              /* kept for the life of the process */
} secret;

/* ring_lock guards the ring; secrets_lock the secrets (redaction never waits for the ring). */
static pthread_mutex_t ring_lock = PTHREAD_MUTEX_INITIALIZER;
static ring_line ring[AGENT_LOGRING_LINES];
static uint64_t next_seq = 1;                 /* seq of the next line pushed */

static pthread_mutex_t secrets_lock = PTHREAD_MUTEX_INITIALIZER;
static secret *secrets;
static size_t n_secrets, cap_secrets;
static bool secrets_lost;                     /* a secret could not be kept: withhold every line */
static bool env_scanned;

/* Called with secrets_lock held: pinned for good, or one more hold. */
static void add_secret_locked(const char *s, size_t n, bool pin)
{
	secret *grown;
	char *copy;

	if (n < LOGRING_SECRET_MIN)
		return;
	for (size_t i = 0; i < n_secrets; i++)
		if (secrets[i].len == n && memcmp(secrets[i].value, s, n) == 0) {
			if (pin)
				secrets[i].pinned = true;
			else
				secrets[i].holds++;
			return;
		}
	if (n_secrets == cap_secrets) {
		size_t cap = cap_secrets != 0 ? cap_secrets * 2 : 64;

		grown = cap <= SIZE_MAX / sizeof(*grown) ? realloc(secrets, cap * sizeof(*grown)) : NULL;
		if (grown == NULL) {
			secrets_lost = true;
			return;
		}
		secrets = grown;
		cap_secrets = cap;
	}
	copy = malloc(n + 1);
	if (copy == NULL) {
		secrets_lost = true;
		return;
	}
	memcpy(copy, s, n);
	copy[n] = 0;
	secrets[n_secrets].value = copy;
	secrets[n_secrets].len = n;
	secrets[n_secrets].holds = pin ? 0 : 1;
	secrets[n_secrets].pinned = pin;
	n_secrets++;
}

/* Called with secrets_lock held: one hold less; the last one of an unpinned secret forgets it. */
static void release_secret_locked(const char *s, size_t n)
{
	for (size_t i = 0; i < n_secrets; i++) {
		secret *x = &secrets[i];

		if (x->len != n || memcmp(x->value, s, n) != 0)
			continue;
		if (x->holds > 0)
			x->holds--;
		if (x->holds == 0 && !x->pinned) {
			teeliza_wipe(x->value, x->len);
			free(x->value);
			*x = secrets[--n_secrets];
		}
		return;
	}
}

static void change_secret(const char *s, bool hold, bool pin)
{
	if (s == NULL)
		return;
	pthread_mutex_lock(&secrets_lock);
	if (hold)
		add_secret_locked(s, strlen(s), pin);
	else
		release_secret_locked(s, strlen(s));
	pthread_mutex_unlock(&secrets_lock);
}

void agent_logring_add_secret(const char *s)
{
	change_secret(s, true, true);
}

void agent_logring_hold_secret(const char *s)
{
	change_secret(s, true, false);
}

void agent_logring_release_secret(const char *s)
{
	change_secret(s, false, false);
}

/* Hold (or release) every string in the character's settings.secrets. */
static void character_secrets(const agent_character *c, bool hold)
{
	json_t *copy = agent_character_to_json(c, true), *v;
	const char *key;

	if (copy == NULL) {
		/* The secrets cannot be read, so they cannot be redacted: fail closed. */
		pthread_mutex_lock(&secrets_lock);
		if (hold)
			secrets_lost = true;
		pthread_mutex_unlock(&secrets_lock);
		return;
	}
	json_object_foreach(json_object_get(json_object_get(copy, "settings"), "secrets"), key, v) {
		if (!json_is_string(v))
			continue;
		change_secret(json_string_value(v), hold, false);
		/* jansson frees without wiping: clear the copy first. */
		teeliza_wipe((char *)json_string_value(v), json_string_length(v));
	}
	json_decref(copy);
}

void agent_logring_hold_character_secrets(const agent_character *c)
{
	character_secrets(c, true);
}

void agent_logring_release_character_secrets(const agent_character *c)
{
	character_secrets(c, false);
}

/* Does the variable name say its value is a secret? */
static bool secret_name(const char *name, size_t n)
{
	static const char *const words[] = {"SALT", "KEY", "SECRET", "TOKEN", "PASSWORD", "PASSWD", "CREDENTIAL"};
	/* Names that match a word but hold public values: redacting them would shred ordinary text. */
	static const char *const public_names[] = {"TEE_KEY_SCHEME"};
	char up[128];
	size_t i;

	if (n >= sizeof(up))
		n = sizeof(up) - 1;
	for (i = 0; i < n; i++)
		up[i] = (char)toupper((unsigned char)name[i]);
	up[n] = 0;
	for (i = 0; i < sizeof(public_names) / sizeof(public_names[0]); i++)
		if (strcmp(up, public_names[i]) == 0)
			return false;
	for (i = 0; i < sizeof(words) / sizeof(words[0]); i++)
		if (strstr(up, words[i]) != NULL)
			return true;
	return false;
}

/* Called with secrets_lock held: the environment is read once, at the first line. */
static void scan_env_locked(void)
{
	char **e;
	const char *eq;

	env_scanned = true;
	for (e = environ; e != NULL && *e != NULL; e++) {
		eq = strchr(*e, '=');
		if (eq != NULL && secret_name(*e, (size_t)(eq - *e)))
			add_secret_locked(eq + 1, strlen(eq + 1), true);
	}
}

/* Mark in covered[] every byte of text that belongs to an occurrence of a secret. Called with secrets_lock held. */
static void cover_secrets_locked(uint8_t *covered, const char *text, size_t len)
{
	for (size_t i = 0; i < n_secrets; i++) {
		const secret *s = &secrets[i];
		const char *p = text, *end = text + len, *hit;

		/* Every occurrence, overlapping ones included. */
		while ((size_t)(end - p) >= s->len && (hit = memmem(p, (size_t)(end - p), s->value, s->len)) != NULL) {
			memset(covered + (hit - text), 1, s->len);
			p = hit + 1;
		}
	}
}

teeliza_err agent_logring_redact(teeliza_buf *out, const char *text, size_t len)
{
	uint8_t *covered;
	size_t i = 0, start;
	teeliza_err err = TEELIZA_OK;

	teeliza_buf_init(out, len + (len / 2 + 1) * sizeof(AGENT_LOGRING_REDACTED));
	covered = calloc(len + 1, 1);
	if (covered == NULL)
		return teeliza_set_error(TEELIZA_ERR_NOMEM, "out of memory redacting a log line");
	pthread_mutex_lock(&secrets_lock);
	if (!env_scanned)
		scan_env_locked();
	if (secrets_lost) {
		pthread_mutex_unlock(&secrets_lock);
		free(covered);
		return teeliza_set_error(TEELIZA_ERR_INTERNAL, "a secret could not be registered for redaction");
	}
	cover_secrets_locked(covered, text, len);
	pthread_mutex_unlock(&secrets_lock);
	while (err == TEELIZA_OK && i < len) {
		start = i;
		while (i < len && covered[i] == covered[start])
			i++;
		err = covered[start] ? teeliza_buf_append_str(out, AGENT_LOGRING_REDACTED)
		                     : teeliza_buf_append(out, text + start, i - start);
	}
	if (err == TEELIZA_OK && out->data == NULL)
		err = teeliza_buf_append(out, "", 0);
	free(covered);
	return err;
}

bool agent_logring_private_key_line(const char *line, size_t len, bool *in_key)
{
	bool key_line = *in_key ||
	                (memmem(line, len, "-----BEGIN", 10) != NULL && memmem(line, len, "PRIVATE KEY-----", 16) != NULL);

	if (key_line)
		*in_key = true;
	if (*in_key && memmem(line, len, "-----END", 8) != NULL)
		*in_key = false;
	return key_line;
}

/* Copy n bytes of line (valid UTF-8) into dst (size dst_len > 4), stopping at a whole character. */
static void copy_whole_chars(char *dst, size_t dst_len, const char *line, size_t n)
{
	size_t o = n < dst_len - 1 ? n : dst_len - 1;

	if (o < n)
		while (o > 0 && ((unsigned char)line[o] & 0xc0) == 0x80)
			o--;
	memcpy(dst, line, o);
	dst[o] = 0;
}

void agent_logring_push_line(const char *line, size_t n, int64_t time_ms)
{
	ring_line *slot;

	pthread_mutex_lock(&ring_lock);
	slot = &ring[next_seq % AGENT_LOGRING_LINES];
	slot->seq = next_seq++;
	slot->time_ms = time_ms;
	if (n > AGENT_LOGRING_LINE_MAX) {
		copy_whole_chars(slot->text, AGENT_LOGRING_LINE_MAX + 1, line, n);
		snprintf(slot->text + strlen(slot->text), sizeof(slot->text) - strlen(slot->text), "… [%zu bytes]", n);
	} else {
		copy_whole_chars(slot->text, sizeof(slot->text), line, n);
	}
	pthread_mutex_unlock(&ring_lock);
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
	/* after is at most next_seq - 1 here, so after + 1 cannot wrap. */
	if (after >= next_seq)
		first = next_seq;
	else if (first <= after)
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

size_t agent_logring_secret_count(void)
{
	size_t n;

	pthread_mutex_lock(&secrets_lock);
	n = n_secrets;
	pthread_mutex_unlock(&secrets_lock);
	return n;
}

void agent_logring_clear(void)
{
	pthread_mutex_lock(&ring_lock);
	memset(ring, 0, sizeof(ring));
	next_seq = 1;
	pthread_mutex_unlock(&ring_lock);
}
