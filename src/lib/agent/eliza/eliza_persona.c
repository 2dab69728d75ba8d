/*
 * The character as the ELIZA responder sees it: name, the lists it quotes
 * from, the lowercase style switch, and the messageExamples user lines as
 * word sets so a close question can get the character's own answer.
 */
#include "eliza_internal.h"

#include <assert.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

static const agent_character_list list_source[ELZ_P__COUNT] = {
	[ELZ_P_BIO] = AGENT_CHAR_BIO,
	[ELZ_P_LORE] = AGENT_CHAR_LORE,
	[ELZ_P_ADJ] = AGENT_CHAR_ADJECTIVES,
	[ELZ_P_TOPIC] = AGENT_CHAR_TOPICS,
};

static teeliza_err copy_list(agent_eliza_persona *p, const agent_character *c, enum elz_plist which)
{
	size_t count = agent_character_list_count(c, list_source[which]);

	if (count == 0)
		return TEELIZA_OK;
	p->list[which] = calloc(count, sizeof(*p->list[which]));
	if (p->list[which] == NULL)
		return teeliza_set_error(TEELIZA_ERR_NOMEM, "out of memory building the persona");
	for (size_t i = 0; i < count; i++) {
		const char *s = agent_character_list_item(c, list_source[which], i);

		if (s != NULL && s[0] != '\0')
			p->list[which][p->n_list[which]++] = s;
	}
	return TEELIZA_OK;
}

/* A style line asking for lowercase ("write in lowercase"), not forbidding it. */
static bool wants_lowercase(const agent_character *c)
{
	static const agent_character_list lists[] = { AGENT_CHAR_STYLE_ALL, AGENT_CHAR_STYLE_CHAT };

	for (size_t l = 0; l < sizeof(lists) / sizeof(lists[0]); l++) {
		size_t n = agent_character_list_count(c, lists[l]);

		for (size_t i = 0; i < n; i++) {
			const char *s = agent_character_list_item(c, lists[l], i);

			if (s == NULL || strcasestr(s, "lowercase") == NULL)
				continue;
			if (strcasestr(s, "never") != NULL || strcasestr(s, "not ") != NULL ||
			    strcasestr(s, "avoid") != NULL || strcasestr(s, "n't") != NULL)
				continue;
			return true;
		}
	}
	return false;
}

/*
 * The character's answer to message i of a conversation: the next message
 * by the character itself, else the next message by anyone else.
 */
static bool find_answer(agent_message_example *ans, const agent_character *c, const char *name, size_t conv,
                        size_t i, const char *asker)
{
	size_t n = agent_character_example_length(c, conv);
	agent_message_example m;

	for (size_t j = i + 1; j < n; j++) {
		if (agent_character_example(&m, c, conv, j) && m.user != NULL && strcasecmp(m.user, name) == 0) {
			*ans = m;
			return m.text != NULL && m.text[0] != '\0';
		}
	}
	if (i + 1 < n && agent_character_example(&m, c, conv, i + 1) && m.user != NULL && asker != NULL &&
	    strcmp(m.user, asker) != 0) {
		*ans = m;
		return m.text != NULL && m.text[0] != '\0';
	}
	return false;
}

static teeliza_err index_examples(agent_eliza_persona *p, const agent_character *c)
{
	size_t convs = agent_character_example_count(c), total = 0;
	struct elz_words *w;

	for (size_t conv = 0; conv < convs; conv++)
		total += agent_character_example_length(c, conv);
	if (total == 0)
		return TEELIZA_OK;
	if (total > ELZ_MAX_EXAMPLES)
		total = ELZ_MAX_EXAMPLES;
	p->ex = calloc(total, sizeof(*p->ex));
	w = malloc(sizeof(*w));
	if (p->ex == NULL || w == NULL) {
		free(w);
		return teeliza_set_error(TEELIZA_ERR_NOMEM, "out of memory indexing messageExamples");
	}
	for (size_t conv = 0; conv < convs && p->n_ex < total; conv++) {
		size_t len = agent_character_example_length(c, conv);

		for (size_t i = 0; i < len && p->n_ex < total; i++) {
			agent_message_example m, ans;
			struct elz_example *ex = &p->ex[p->n_ex];

			if (!agent_character_example(&m, c, conv, i) || m.text == NULL || m.user == NULL ||
			    strcasecmp(m.user, p->name) == 0)
				continue;
			if (!find_answer(&ans, c, p->name, conv, i, m.user))
				continue;
			elz_split(w, p->script, m.text, strlen(m.text));
			ex->n = (uint8_t)elz_word_set(ex->h, ELZ_EXAMPLE_WORDS, w);
			if (ex->n == 0)
				continue;
			ex->reply = ans.text;
			ex->action = ans.action;
			p->n_ex++;
		}
	}
	free(w);
	return TEELIZA_OK;
}

teeliza_err agent_eliza_persona_new(agent_eliza_persona **out, const agent_character *c)
{
	const struct elz_script *script;
	agent_eliza_persona *p;
	teeliza_err err = TEELIZA_OK;

	assert(out != NULL);
	*out = NULL;
	script = elz_script_builtin();
	if (script == NULL)
		return TEELIZA_ERR_INTERNAL;
	p = calloc(1, sizeof(*p));
	if (p == NULL)
		return teeliza_set_error(TEELIZA_ERR_NOMEM, "out of memory building the persona");
	p->script = script;
	p->name = "Eliza";
	if (c != NULL) {
		p->name = agent_character_name(c);
		for (int l = 0; err == TEELIZA_OK && l < ELZ_P__COUNT; l++)
			err = copy_list(p, c, (enum elz_plist)l);
		p->lowercase = wants_lowercase(c);
		if (err == TEELIZA_OK)
			err = index_examples(p, c);
	}
	if (err != TEELIZA_OK) {
		agent_eliza_persona_free(p);
		return err;
	}
	*out = p;
	return TEELIZA_OK;
}

void agent_eliza_persona_free(agent_eliza_persona *p)
{
	if (p == NULL)
		return;
	for (int l = 0; l < ELZ_P__COUNT; l++)
		free(p->list[l]);
	free(p->ex);
	free(p);
}

const char *agent_eliza_persona_name(const agent_eliza_persona *p)
{
	assert(p != NULL);
	return p->name;
}

const struct elz_example *elz_persona_match(const agent_eliza_persona *p, const uint32_t *set, size_t n)
{
	const struct elz_example *best = NULL;
	size_t best_inter = 0, best_union = 1;

	if (n == 0)
		return NULL;
	for (size_t e = 0; e < p->n_ex; e++) {
		const struct elz_example *ex = &p->ex[e];
		size_t small = ex->n < n ? ex->n : n, big = ex->n < n ? n : ex->n;
		size_t inter = 0, a = 0, b = 0, uni;

		/* Jaccard can reach 0.6 only when the sizes are within that ratio. */
		if (small * 5 < big * 3)
			continue;
		while (a < n && b < ex->n) {
			if (set[a] == ex->h[b]) {
				inter++;
				a++;
				b++;
			} else if (set[a] < ex->h[b]) {
				a++;
			} else {
				b++;
			}
		}
		uni = n + ex->n - inter;
		if (inter * 5 >= uni * 3 && inter * best_union > best_inter * uni) {
			best = ex;
			best_inter = inter;
			best_union = uni;
		}
	}
	return best;
}
