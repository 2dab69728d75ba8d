/*
 * Offline action choice: score each offered action by the keyword phrases,
 * name and similes found in the message, as whole words.
 */
#include "eliza_internal.h"

#include <assert.h>
#include <string.h>
#include <strings.h>

#define PHRASE_MAX_WORDS 16

struct pword {
	const char *s;
	size_t len;
	bool prefix;   /* written with a trailing '*' */
};

/* Split a phrase at spaces (or '_' for action names) into at most PHRASE_MAX_WORDS words. */
static size_t split_phrase(struct pword *out, const char *phrase, char sep)
{
	size_t n = 0;
	const char *p = phrase;

	while (*p != '\0' && n < PHRASE_MAX_WORDS) {
		const char *end;

		while (*p == sep || *p == ' ')
			p++;
		end = p;
		while (*end != '\0' && *end != sep && *end != ' ')
			end++;
		if (end > p) {
			out[n].s = p;
			out[n].len = (size_t)(end - p);
			out[n].prefix = out[n].len > 1 && p[out[n].len - 1] == '*';
			if (out[n].prefix)
				out[n].len--;
			n++;
		}
		p = end;
	}
	return n;
}

static bool word_matches(const struct elz_tok *t, const struct pword *w)
{
	size_t n = w->len;

	if (t->lclen < n || strncasecmp(t->lc, w->s, n) != 0)
		return false;
	if (t->lclen == n || w->prefix)
		return true;
	/* Plurals and possessives of the hint word: wallets, addresses, wallet's. */
	if (t->lclen == n + 1 && t->lc[n] == 's')
		return true;
	return t->lclen == n + 2 && (memcmp(t->lc + n, "es", 2) == 0 || memcmp(t->lc + n, "'s", 2) == 0);
}

/* Number of words of phrase when it occurs as a run of words in w, else 0. */
static size_t phrase_found(const struct elz_words *w, const char *phrase, char sep)
{
	struct pword words[PHRASE_MAX_WORDS];
	size_t n = split_phrase(words, phrase, sep);

	if (n == 0 || n > w->n)
		return 0;
	for (size_t start = 0; start + n <= w->n; start++) {
		size_t k = 0;

		while (k < n && word_matches(&w->tok[start + k], &words[k]))
			k++;
		if (k == n)
			return n;
	}
	return 0;
}

int agent_eliza_select_action(const agent_action_hint *actions, size_t n_actions, const char *input, size_t len)
{
	struct elz_words w;
	size_t best_score = 1;
	int best = -1;

	assert((actions != NULL || n_actions == 0) && (input != NULL || len == 0));
	if (n_actions == 0)
		return -1;
	elz_split(&w, NULL, input, len);
	if (w.n == 0)
		return -1;
	for (size_t i = 0; i < n_actions; i++) {
		const agent_action_hint *a = &actions[i];
		size_t score = 0;

		if (a->name == NULL)
			continue;
		score += 3 * phrase_found(&w, a->name, '_');
		for (size_t k = 0; a->similes != NULL && a->similes[k] != NULL; k++)
			score += 3 * phrase_found(&w, a->similes[k], '_');
		for (size_t k = 0; a->keywords != NULL && a->keywords[k] != NULL; k++)
			score += 2 * phrase_found(&w, a->keywords[k], ' ');
		if (score > best_score) {
			best_score = score;
			best = (int)i;
		}
	}
	return best;
}
