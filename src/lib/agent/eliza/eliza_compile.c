/*
 * Compiles the line-based ELIZA script format (see eliza_script.c) into
 * fixed tables, once per process, so replying never parses or allocates.
 */
#include "eliza_internal.h"

#include <assert.h>
#include <ctype.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* Variables a template may use besides $1..$9. */
static const char *const template_vars[] = { "name", "bio", "lore", "adj", "topics", "topic", NULL };

uint32_t elz_hash(const char *s, size_t len)
{
	uint32_t h = 2166136261u;

	for (size_t i = 0; i < len; i++) {
		h ^= (uint8_t)s[i];
		h *= 16777619u;
	}
	return h;
}

const struct elz_lex *elz_lex_find(const struct elz_script *s, const char *w, size_t len)
{
	size_t i;

	if (len == 0 || len > ELZ_MAX_WORD_LEN)
		return NULL;
	i = elz_hash(w, len) & (ELZ_LEX_SLOTS - 1);
	for (size_t probes = 0; probes < ELZ_LEX_SLOTS; probes++) {
		const struct elz_lex *e = &s->lex[i];

		if (e->s == NULL)
			return NULL;
		if (e->len == len && memcmp(e->s, w, len) == 0)
			return e;
		i = (i + 1) & (ELZ_LEX_SLOTS - 1);
	}
	return NULL;
}

struct compiler {
	struct elz_script *s;
	unsigned line;
	const char *gotos[ELZ_MAX_REASMS]; /* goto targets, resolved at the end */
	char err[200];
};

static teeliza_err fail(struct compiler *c, teeliza_err err, const char *what)
{
	return teeliza_set_error(err, "ELIZA script line %u: %s", c->line, what);
}

static struct elz_lex *lex_add(struct compiler *c, const char *w)
{
	struct elz_script *s = c->s;
	size_t len = strlen(w);
	size_t i;

	if (len == 0 || len > ELZ_MAX_WORD_LEN)
		return NULL;
	for (size_t k = 0; k < len; k++) {
		if (isupper((unsigned char)w[k]))
			return NULL; /* matching is on lowercase words */
	}
	i = elz_hash(w, len) & (ELZ_LEX_SLOTS - 1);
	for (size_t probes = 0; probes < ELZ_LEX_SLOTS / 2; probes++) {
		struct elz_lex *e = &s->lex[i];

		if (e->s == NULL) {
			e->s = w;
			e->len = (uint8_t)len;
			e->key = -1;
			e->pre = -1;
			return e;
		}
		if (e->len == len && memcmp(e->s, w, len) == 0)
			return e;
		i = (i + 1) & (ELZ_LEX_SLOTS - 1);
	}
	return NULL; /* more than half full: the table is too small */
}

/* Next space-separated field of *p (NUL-terminated in place), or NULL. */
static char *next_field(char **p)
{
	char *start = *p;
	char *end;

	while (*start == ' ' || *start == '\t')
		start++;
	if (*start == '\0') {
		*p = start;
		return NULL;
	}
	end = start;
	while (*end != '\0' && *end != ' ' && *end != '\t')
		end++;
	if (*end != '\0')
		*end++ = '\0';
	*p = end;
	return start;
}

static teeliza_err add_word(struct compiler *c, const char *w)
{
	struct elz_script *s = c->s;
	size_t len = strlen(w);

	if (s->n_words >= ELZ_MAX_WORDS)
		return fail(c, TEELIZA_ERR_TOO_LARGE, "too many pattern words");
	if (len == 0 || len > ELZ_MAX_WORD_LEN)
		return fail(c, TEELIZA_ERR_PARSE, "empty or overlong word");
	s->words[s->n_words].s = w;
	s->words[s->n_words].len = (uint8_t)len;
	s->n_words++;
	return TEELIZA_OK;
}

static teeliza_err parse_pre(struct compiler *c, char *rest)
{
	struct elz_script *s = c->s;
	char *from = next_field(&rest), *eq = next_field(&rest), *w;
	struct elz_pre *pre;
	struct elz_lex *lex;

	if (from == NULL || eq == NULL || strcmp(eq, "=") != 0)
		return fail(c, TEELIZA_ERR_PARSE, "expected: pre WORD = WORDS");
	if (s->n_pres >= ELZ_MAX_PRES)
		return fail(c, TEELIZA_ERR_TOO_LARGE, "too many pre-substitutions");
	pre = &s->pres[s->n_pres];
	while ((w = next_field(&rest)) != NULL) {
		if (pre->n >= ELZ_MAX_PRE_WORDS)
			return fail(c, TEELIZA_ERR_TOO_LARGE, "pre-substitution expands to too many words");
		pre->out[pre->n].s = w;
		pre->out[pre->n].len = (uint8_t)strlen(w);
		pre->n++;
	}
	if (pre->n == 0)
		return fail(c, TEELIZA_ERR_PARSE, "pre-substitution without replacement");
	lex = lex_add(c, from);
	if (lex == NULL || lex->pre >= 0)
		return fail(c, TEELIZA_ERR_PARSE, "bad or repeated pre-substitution word");
	lex->pre = (int16_t)s->n_pres++;
	return TEELIZA_OK;
}

static teeliza_err parse_group(struct compiler *c, char *rest)
{
	struct elz_script *s = c->s;
	char *name = next_field(&rest), *w;
	size_t members = 0;

	if (name == NULL)
		return fail(c, TEELIZA_ERR_PARSE, "expected: group NAME WORDS");
	if (s->n_groups >= ELZ_MAX_GROUPS)
		return fail(c, TEELIZA_ERR_TOO_LARGE, "too many groups");
	for (size_t g = 0; g < s->n_groups; g++) {
		if (strcmp(s->group_names[g], name) == 0)
			return fail(c, TEELIZA_ERR_PARSE, "group defined twice");
	}
	while ((w = next_field(&rest)) != NULL) {
		struct elz_lex *lex = lex_add(c, w);

		if (lex == NULL)
			return fail(c, TEELIZA_ERR_PARSE, "bad group word");
		lex->groups |= 1u << s->n_groups;
		members++;
	}
	if (members == 0)
		return fail(c, TEELIZA_ERR_PARSE, "empty group");
	s->group_names[s->n_groups++] = name;
	return TEELIZA_OK;
}

static teeliza_err new_key(struct compiler *c, const char *name, uint64_t rank)
{
	struct elz_script *s = c->s;
	struct elz_key *k;

	if (s->n_keys >= ELZ_MAX_KEYS)
		return fail(c, TEELIZA_ERR_TOO_LARGE, "too many keywords");
	if (rank > 255)
		return fail(c, TEELIZA_ERR_PARSE, "rank above 255");
	k = &s->keys[s->n_keys];
	k->name = name;
	k->rank = (uint8_t)rank;
	k->first_decomp = (uint16_t)s->n_decomps;
	k->n_decomp = 0;
	s->n_keys++;
	return TEELIZA_OK;
}

static teeliza_err parse_key(struct compiler *c, char *rest)
{
	struct elz_script *s = c->s;
	char *names = next_field(&rest), *rank_s = next_field(&rest), *alias;
	uint64_t rank;
	teeliza_err err;

	if (names == NULL || rank_s == NULL || next_field(&rest) != NULL)
		return fail(c, TEELIZA_ERR_PARSE, "expected: key WORD[,WORD...] RANK");
	if (teeliza_parse_u64(&rank, rank_s, 0, UINT64_MAX) != TEELIZA_OK)
		return fail(c, TEELIZA_ERR_PARSE, "rank is not a number");
	/* The first alias names the key (for goto); split the list in place. */
	alias = names;
	err = new_key(c, names, rank);
	while (err == TEELIZA_OK && alias != NULL) {
		char *comma = strchr(alias, ',');
		struct elz_lex *lex;

		if (comma != NULL)
			*comma = '\0';
		lex = lex_add(c, alias);
		if (lex == NULL || lex->key >= 0)
			return fail(c, TEELIZA_ERR_PARSE, "bad or repeated keyword");
		lex->key = (int16_t)(s->n_keys - 1);
		alias = comma != NULL ? comma + 1 : NULL;
	}
	return err;
}

static teeliza_err parse_special(struct compiler *c, char *rest)
{
	struct elz_script *s = c->s;
	char *name = next_field(&rest);
	int16_t idx = (int16_t)s->n_keys;
	teeliza_err err;

	if (name == NULL || next_field(&rest) != NULL)
		return fail(c, TEELIZA_ERR_PARSE, "expected: special %NAME");
	err = new_key(c, name, 0);
	if (err != TEELIZA_OK)
		return err;
	if (strcmp(name, "%none") == 0)
		s->key_none = idx;
	else if (strcmp(name, "%empty") == 0)
		s->key_empty = idx;
	else if (strcmp(name, "%greet") == 0)
		s->key_greet = idx;
	else
		return fail(c, TEELIZA_ERR_PARSE, "unknown special (expected %none, %empty or %greet)");
	return TEELIZA_OK;
}

static teeliza_err parse_elem(struct compiler *c, struct elz_elem *e, char *f)
{
	struct elz_script *s = c->s;
	teeliza_err err;

	memset(e, 0, sizeof(*e));
	if (strcmp(f, "*") == 0) {
		e->kind = ELZ_STAR;
		return TEELIZA_OK;
	}
	if (f[0] == '@') {
		for (size_t g = 0; g < s->n_groups; g++) {
			if (strcmp(s->group_names[g], f + 1) == 0) {
				e->kind = ELZ_GROUP;
				e->group = (uint8_t)g;
				return TEELIZA_OK;
			}
		}
		return fail(c, TEELIZA_ERR_PARSE, "unknown group in pattern");
	}
	e->kind = ELZ_WORDS;
	e->first = (uint16_t)s->n_words;
	for (char *alt = f; alt != NULL;) {
		char *bar = strchr(alt, '|');

		if (bar != NULL)
			*bar = '\0';
		for (char *k = alt; *k != '\0'; k++) {
			if (isupper((unsigned char)*k))
				return fail(c, TEELIZA_ERR_PARSE, "pattern words must be lowercase");
		}
		err = add_word(c, alt);
		if (err != TEELIZA_OK)
			return err;
		e->count++;
		alt = bar != NULL ? bar + 1 : NULL;
	}
	return TEELIZA_OK;
}

static teeliza_err parse_decomp(struct compiler *c, char *rest, bool memo)
{
	struct elz_script *s = c->s;
	struct elz_decomp *d;
	char *f;
	teeliza_err err;

	if (s->n_keys == 0)
		return fail(c, TEELIZA_ERR_PARSE, "pattern before any key");
	if (s->n_decomps >= ELZ_MAX_DECOMPS)
		return fail(c, TEELIZA_ERR_TOO_LARGE, "too many patterns");
	d = &s->decomps[s->n_decomps];
	memset(d, 0, sizeof(*d));
	d->memo = memo;
	d->first_reasm = (uint16_t)s->n_reasms;
	while ((f = next_field(&rest)) != NULL) {
		if (d->n >= ELZ_MAX_ELEMS)
			return fail(c, TEELIZA_ERR_TOO_LARGE, "pattern has too many elements");
		err = parse_elem(c, &d->e[d->n], f);
		if (err != TEELIZA_OK)
			return err;
		d->n++;
	}
	if (d->n == 0)
		return fail(c, TEELIZA_ERR_PARSE, "empty pattern");
	s->n_decomps++;
	s->keys[s->n_keys - 1].n_decomp++;
	return TEELIZA_OK;
}

/* Every $reference must name a pattern element or a persona variable. */
static teeliza_err check_template(struct compiler *c, const char *t, const struct elz_decomp *d)
{
	for (const char *p = strchr(t, '$'); p != NULL; p = strchr(p + 1, '$')) {
		bool known = false;

		if (p[1] >= '1' && p[1] <= '9') {
			if ((size_t)(p[1] - '0') > d->n)
				return fail(c, TEELIZA_ERR_PARSE, "$N beyond the pattern's elements");
			continue;
		}
		for (size_t v = 0; template_vars[v] != NULL; v++) {
			if (strncmp(p + 1, template_vars[v], strlen(template_vars[v])) == 0)
				known = true;
		}
		if (!known)
			return fail(c, TEELIZA_ERR_PARSE, "unknown $variable in reassembly");
	}
	return TEELIZA_OK;
}

static teeliza_err parse_reasm(struct compiler *c, char *rest)
{
	struct elz_script *s = c->s;
	struct elz_decomp *d;
	struct elz_reasm *r;

	while (*rest == ' ')
		rest++;
	if (s->n_decomps == 0 || s->keys[s->n_keys - 1].n_decomp == 0)
		return fail(c, TEELIZA_ERR_PARSE, "reassembly before any pattern");
	if (s->n_reasms >= ELZ_MAX_REASMS)
		return fail(c, TEELIZA_ERR_TOO_LARGE, "too many reassemblies");
	if (*rest == '\0')
		return fail(c, TEELIZA_ERR_PARSE, "empty reassembly");
	d = &s->decomps[s->n_decomps - 1];
	if (d->n_reasm >= 255)
		return fail(c, TEELIZA_ERR_TOO_LARGE, "too many reassemblies for one pattern");
	r = &s->reasms[s->n_reasms];
	r->text = rest;
	r->go = -1;
	if (strncmp(rest, "goto ", 5) == 0) {
		char *target = rest + 5;

		if (d->memo)
			return fail(c, TEELIZA_ERR_PARSE, "goto in a memory pattern");
		c->gotos[s->n_reasms] = next_field(&target);
	} else {
		teeliza_err err = check_template(c, rest, d);

		if (err != TEELIZA_OK)
			return err;
	}
	s->n_reasms++;
	d->n_reasm++;
	return TEELIZA_OK;
}

static teeliza_err parse_line(struct compiler *c, char *line)
{
	char *rest = line;
	char *word;

	while (*rest == ' ' || *rest == '\t')
		rest++;
	if (*rest == '\0' || *rest == '#')
		return TEELIZA_OK;
	if (*rest == '>')
		return parse_reasm(c, rest + 1);
	word = next_field(&rest);
	if (strcmp(word, "pre") == 0)
		return parse_pre(c, rest);
	if (strcmp(word, "group") == 0)
		return parse_group(c, rest);
	if (strcmp(word, "key") == 0)
		return parse_key(c, rest);
	if (strcmp(word, "special") == 0)
		return parse_special(c, rest);
	if (strcmp(word, "decomp") == 0)
		return parse_decomp(c, rest, false);
	if (strcmp(word, "memo") == 0)
		return parse_decomp(c, rest, true);
	return fail(c, TEELIZA_ERR_PARSE, "unknown directive");
}

static teeliza_err finish(struct compiler *c)
{
	struct elz_script *s = c->s;

	c->line = 0;
	if (s->key_none < 0 || s->key_empty < 0 || s->key_greet < 0)
		return fail(c, TEELIZA_ERR_PARSE, "script lacks one of %none, %empty, %greet");
	for (size_t k = 0; k < s->n_keys; k++) {
		if (s->keys[k].n_decomp == 0)
			return teeliza_set_error(TEELIZA_ERR_PARSE, "ELIZA script: key %s has no pattern", s->keys[k].name);
	}
	for (size_t k = 0; k < s->n_keys; k++) {
		const struct elz_key *key = &s->keys[k];

		for (size_t d = key->first_decomp; d < (size_t)key->first_decomp + key->n_decomp; d++) {
			if (s->decomps[d].n_reasm == 0)
				return teeliza_set_error(TEELIZA_ERR_PARSE,
				                         "ELIZA script: a pattern of key %s has no reassembly", key->name);
		}
	}
	for (size_t r = 0; r < s->n_reasms; r++) {
		if (c->gotos[r] == NULL)
			continue;
		for (size_t k = 0; k < s->n_keys; k++) {
			if (strcmp(s->keys[k].name, c->gotos[r]) == 0)
				s->reasms[r].go = (int16_t)k;
		}
		if (s->reasms[r].go < 0)
			return teeliza_set_error(TEELIZA_ERR_PARSE, "ELIZA script: goto to unknown key %s", c->gotos[r]);
	}
	return TEELIZA_OK;
}

teeliza_err elz_script_compile(struct elz_script *s, char **storage, const char *text)
{
	struct compiler *c;
	char *copy, *line;
	teeliza_err err = TEELIZA_OK;

	assert(s != NULL && storage != NULL && text != NULL);
	memset(s, 0, sizeof(*s));
	*storage = NULL;
	s->key_none = s->key_empty = s->key_greet = -1;
	copy = strdup(text);
	c = calloc(1, sizeof(*c));
	if (copy == NULL || c == NULL) {
		free(copy);
		free(c);
		return teeliza_set_error(TEELIZA_ERR_NOMEM, "out of memory compiling the ELIZA script");
	}
	c->s = s;
	line = copy;
	while (err == TEELIZA_OK && line != NULL) {
		char *nl = strchr(line, '\n');

		if (nl != NULL)
			*nl = '\0';
		c->line++;
		err = parse_line(c, line);
		line = nl != NULL ? nl + 1 : NULL;
	}
	if (err == TEELIZA_OK)
		err = finish(c);
	free(c);
	if (err != TEELIZA_OK) {
		free(copy);
		memset(s, 0, sizeof(*s));
		return err;
	}
	*storage = copy;
	return TEELIZA_OK;
}

static pthread_once_t builtin_once = PTHREAD_ONCE_INIT;
static struct elz_script builtin;
static char *builtin_storage;
static teeliza_err builtin_err;
static char builtin_msg[256];

static void compile_builtin(void)
{
	builtin_err = elz_script_compile(&builtin, &builtin_storage, elz_script_text());
	if (builtin_err != TEELIZA_OK)
		snprintf(builtin_msg, sizeof(builtin_msg), "%s", teeliza_errmsg());
}

const struct elz_script *elz_script_builtin(void)
{
	pthread_once(&builtin_once, compile_builtin);
	if (builtin_err != TEELIZA_OK) {
		teeliza_set_error(TEELIZA_ERR_INTERNAL, "built-in %s", builtin_msg);
		return NULL;
	}
	return &builtin;
}
