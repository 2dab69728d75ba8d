/*
 * A strict .env parser with dotenv 16's reading of every line it accepts
 * (include/teeliza/common/dotenv.h). It works on the bytes it is given, line by
 * line: a scanner over [p, end), never past end. Values are secrets (wallet
 * salts, API keys): every copy is wiped before it is freed, and no error
 * message quotes one.
 */
#include "teeliza/common/dotenv.h"

#include <assert.h>
#include <stdlib.h>
#include <string.h>

struct scan {
	const char *p, *end;
	unsigned line; /* 1-based number of the line p is on */
};

static bool is_blank(char c)
{
	return c == ' ' || c == '\t' || c == '\v' || c == '\f';
}

static bool is_name_char(char c)
{
	return (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '_' || c == '.' ||
	       c == '-';
}

/* A line break at p: "\r\n", "\r" or "\n" (dotenv turns the first two into the third). Its length, or 0. */
static size_t line_break(const struct scan *s, const char *p)
{
	if (p >= s->end)
		return 0;
	if (*p == '\n')
		return 1;
	if (*p == '\r')
		return p + 1 < s->end && p[1] == '\n' ? 2 : 1;
	return 0;
}

static void skip_blanks(struct scan *s)
{
	while (s->p < s->end && is_blank(*s->p))
		s->p++;
}

/* Past the end of the current line and its line break. */
static void skip_line(struct scan *s)
{
	size_t n;

	while (s->p < s->end && line_break(s, s->p) == 0)
		s->p++;
	n = line_break(s, s->p);
	if (n > 0) {
		s->p += n;
		s->line++;
	}
}

static void entry_free(teeliza_dotenv_entry *e)
{
	free(e->name);
	if (e->value != NULL)
		teeliza_wipe(e->value, e->value_len);
	free(e->value);
	memset(e, 0, sizeof(*e));
}

void teeliza_dotenv_free(teeliza_dotenv *env)
{
	size_t i;

	if (env == NULL)
		return;
	for (i = 0; i < env->count; i++)
		entry_free(&env->entries[i]);
	free(env->entries);
	memset(env, 0, sizeof(*env));
}

/* Set name (len bytes) to the value in v (taken over: v is left empty), replacing an earlier one. */
static teeliza_err put(teeliza_dotenv *env, size_t *cap, const char *name, size_t len, teeliza_buf *v, unsigned line)
{
	teeliza_dotenv_entry *e = NULL, *grown;
	size_t i;

	for (i = 0; i < env->count && e == NULL; i++)
		if (strlen(env->entries[i].name) == len && memcmp(env->entries[i].name, name, len) == 0)
			e = &env->entries[i];
	if (e == NULL) {
		if (env->count == TEELIZA_DOTENV_MAX_ENTRIES)
			return teeliza_set_error(TEELIZA_ERR_TOO_LARGE, ".env line %u: more than %d names", line,
			                         TEELIZA_DOTENV_MAX_ENTRIES);
		if (env->count == *cap) {
			*cap = *cap == 0 ? 16 : *cap * 2;
			grown = realloc(env->entries, *cap * sizeof(*grown));
			if (grown == NULL)
				return teeliza_set_error(TEELIZA_ERR_NOMEM, "out of memory");
			env->entries = grown;
		}
		e = &env->entries[env->count];
		memset(e, 0, sizeof(*e));
		e->name = malloc(len + 1);
		if (e->name == NULL)
			return teeliza_set_error(TEELIZA_ERR_NOMEM, "out of memory");
		memcpy(e->name, name, len);
		e->name[len] = 0;
		env->count++;
	} else {
		teeliza_wipe(e->value, e->value_len);
		free(e->value);
	}
	/* an empty buffer has no storage yet: give the value one byte for its NUL */
	if (teeliza_buf_reserve(v, 0) != TEELIZA_OK) {
		e->value = NULL;
		e->value_len = 0;
		return teeliza_set_error(TEELIZA_ERR_NOMEM, "out of memory");
	}
	e->value = (char *)v->data;
	e->value_len = v->len;
	e->value[e->value_len] = 0;
	e->line = line;
	v->data = NULL;
	v->len = v->cap = 0;
	return TEELIZA_OK;
}

/* After a closing quote at p: only blanks, then a # comment, a line break or the end. */
static bool tail_ok(const struct scan *s, const char *p)
{
	while (p < s->end && is_blank(*p))
		p++;
	return p == s->end || *p == '#' || line_break(s, p) > 0;
}

/*
 * A quoted value from s->p (at the opening quote) into v, read as dotenv's
 * pattern '(?:\\'|[^'])*' followed by blanks and an optional comment reads
 * it: inside, a quote character needs a backslash before it (both stay in
 * the value); the value ends at the first quote without one, or, when that
 * one is followed by more text, at the last quote before it that is
 * followed by nothing but a comment (the backtracking of the regex). In
 * double quotes \n and \r then become a line feed and a carriage return
 * (so "\\n" is a backslash and a line feed, as in dotenv).
 */
static teeliza_err quoted_value(teeliza_buf *v, struct scan *s, unsigned first_line)
{
	const char *open = s->p, *p, *close = NULL;
	char q = *open, c;
	size_t n;

	for (p = open + 1; p < s->end; p++) {
		if (*p != q)
			continue;
		if (tail_ok(s, p + 1))
			close = p;
		if (p[-1] != '\\')
			break; /* an unescaped quote: the value cannot go past it */
	}
	if (close == NULL)
		return teeliza_set_error(TEELIZA_ERR_PARSE,
		                         p < s->end ? ".env line %u: text after the closing %c quote (put a # before a comment)"
		                                    : ".env line %u: the %c quote is never closed",
		                         first_line, q);
	for (s->p = open + 1; s->p < close;) {
		c = *s->p;
		n = line_break(s, s->p);
		if (n > 0) {
			s->p += n;
			s->line++;
			c = '\n';
		} else if (q == '"' && c == '\\' && s->p + 1 < close && (s->p[1] == 'n' || s->p[1] == 'r')) {
			c = s->p[1] == 'n' ? '\n' : '\r';
			s->p += 2;
		} else {
			s->p++;
		}
		if (c == 0)
			return teeliza_set_error(TEELIZA_ERR_PARSE, ".env line %u: a NUL byte in a value", s->line);
		if (teeliza_buf_append(v, &c, 1) != TEELIZA_OK)
			return teeliza_set_error(TEELIZA_ERR_TOO_LARGE, ".env line %u: value too long", first_line);
	}
	s->p = close + 1;
	return TEELIZA_OK;
}

/* An unquoted value: up to '#' or the line end, blanks trimmed at both ends. */
static teeliza_err plain_value(teeliza_buf *v, struct scan *s)
{
	const char *start = s->p, *stop;

	while (s->p < s->end && *s->p != '#' && line_break(s, s->p) == 0) {
		if (*s->p == 0)
			return teeliza_set_error(TEELIZA_ERR_PARSE, ".env line %u: a NUL byte in a value", s->line);
		s->p++;
	}
	stop = s->p;
	while (stop > start && is_blank(stop[-1]))
		stop--;
	if (teeliza_buf_append(v, start, (size_t)(stop - start)) != TEELIZA_OK)
		return teeliza_set_error(TEELIZA_ERR_TOO_LARGE, ".env line %u: value too long", s->line);
	return TEELIZA_OK;
}

/* One "[export ]NAME=VALUE" line (s->p at its first non-blank character). */
static teeliza_err assignment(teeliza_dotenv *env, size_t *cap, struct scan *s)
{
	const char *name, *mark = s->p;
	unsigned line = s->line;
	size_t name_len;
	teeliza_buf v;
	teeliza_err err;

	/* "export NAME=…"; but "export=1" and "export =1" set a variable named export */
	if (s->end - s->p > 6 && memcmp(s->p, "export", 6) == 0 && is_blank(s->p[6])) {
		s->p += 6;
		skip_blanks(s);
		if (s->p == s->end || !is_name_char(*s->p))
			s->p = mark;
	}
	name = s->p;
	while (s->p < s->end && is_name_char(*s->p))
		s->p++;
	name_len = (size_t)(s->p - name);
	skip_blanks(s);
	if (name_len == 0 || s->p == s->end || (*s->p != '=' && *s->p != ':') ||
	    (*s->p == ':' && (s->p + 1 == s->end || !is_blank(s->p[1]))))
		return teeliza_set_error(TEELIZA_ERR_PARSE,
		                         ".env line %u: expected NAME=VALUE (NAME of letters, digits, '_', '.', '-')", line);
	s->p++;
	skip_blanks(s);
	teeliza_buf_init(&v, TEELIZA_DOTENV_MAX);
	v.secret = true;
	if (s->p < s->end && (*s->p == '\'' || *s->p == '"' || *s->p == '`'))
		err = quoted_value(&v, s, line);
	else
		err = plain_value(&v, s);
	if (err == TEELIZA_OK)
		err = put(env, cap, name, name_len, &v, line);
	teeliza_buf_free(&v);
	return err;
}

teeliza_err teeliza_dotenv_parse(teeliza_dotenv *out, const char *text, size_t len)
{
	/* NULL + 0 is undefined in C: an empty text gets a real (empty) string */
	const char *base = text != NULL ? text : "";
	struct scan s = {base, base + len, 1};
	size_t cap = 0;
	teeliza_err err = TEELIZA_OK;

	assert(out != NULL && (text != NULL || len == 0));
	memset(out, 0, sizeof(*out));
	if (len > TEELIZA_DOTENV_MAX)
		return teeliza_set_error(TEELIZA_ERR_TOO_LARGE, ".env is larger than %zu bytes", TEELIZA_DOTENV_MAX);
	/* a UTF-8 byte order mark: JavaScript's \s, so dotenv skips it */
	if (len >= 3 && memcmp(base, "\xef\xbb\xbf", 3) == 0)
		s.p += 3;
	while (err == TEELIZA_OK && s.p < s.end) {
		skip_blanks(&s);
		if (s.p == s.end)
			break;
		if (*s.p == '#' || line_break(&s, s.p) > 0) {
			skip_line(&s);
			continue;
		}
		err = assignment(out, &cap, &s);
		if (err == TEELIZA_OK)
			skip_line(&s); /* nothing, or a comment */
	}
	if (err)
		teeliza_dotenv_free(out);
	return err;
}
