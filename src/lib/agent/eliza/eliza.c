/*
 * The ELIZA responder proper: keyword ranking, decomposition matching,
 * reassembly with pronoun reflection, the memory of earlier topics, and the
 * fallbacks. All work happens in fixed buffers on the stack; only the
 * caller's output buffer can grow.
 */
#include "eliza_internal.h"

#include <assert.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

struct agent_eliza {
	const agent_eliza_persona *p;
	uint64_t rng;
	uint8_t cycle[ELZ_MAX_DECOMPS];  /* next reassembly of each pattern */
	char memory[ELZ_MEMORY_SLOTS][ELZ_MEMORY_LEN];
	size_t mem_first;
	size_t mem_count;
};

/* A reply being built; cut (at a UTF-8 boundary) when full. */
struct out {
	char s[AGENT_ELIZA_MAX_REPLY];
	size_t len;
};

/* Where each pattern element matched: tokens [start, start + len). */
struct match {
	uint16_t start[ELZ_MAX_ELEMS];
	uint16_t len[ELZ_MAX_ELEMS];
};

/* Why the keyword search stopped: what the caller needs to know about the reply. */
struct reply_info {
	const struct elz_example *example;  /* answered from messageExamples */
};

/* splitmix64: small, fast, and good enough to vary the persona's lines. */
static uint64_t next_random(uint64_t *state)
{
	uint64_t z = (*state += 0x9e3779b97f4a7c15ull);

	z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ull;
	z = (z ^ (z >> 27)) * 0x94d049bb133111ebull;
	return z ^ (z >> 31);
}

static void out_put(struct out *o, const char *s, size_t n)
{
	size_t room = sizeof(o->s) - 1 - o->len;

	if (n > room)
		n = elz_utf8_cut(s, room);
	memcpy(o->s + o->len, s, n);
	o->len += n;
	o->s[o->len] = '\0';
}

static void out_str(struct out *o, const char *s)
{
	out_put(o, s, strlen(s));
}

teeliza_err agent_eliza_new(agent_eliza **out, const agent_eliza_persona *p, uint64_t seed)
{
	const struct elz_script *s;
	agent_eliza *e;

	assert(out != NULL && p != NULL);
	*out = NULL;
	s = p->script;
	e = calloc(1, sizeof(*e));
	if (e == NULL)
		return teeliza_set_error(TEELIZA_ERR_NOMEM, "out of memory creating a responder");
	e->p = p;
	e->rng = seed;
	/* Each conversation starts its reassembly cycles at seeded places. */
	for (size_t d = 0; d < s->n_decomps; d++)
		e->cycle[d] = (uint8_t)(next_random(&e->rng) % s->decomps[d].n_reasm);
	*out = e;
	return TEELIZA_OK;
}

void agent_eliza_free(agent_eliza *e)
{
	free(e);
}

static bool word_is(const struct elz_tok *t, const char *w)
{
	size_t n = strlen(w);

	return t->lclen == n && memcmp(t->lc, w, n) == 0;
}

static bool elem_accepts(const struct elz_script *s, const struct elz_elem *e, const struct elz_tok *t)
{
	if (e->kind == ELZ_GROUP)
		return t->lex != NULL && ((t->lex->groups >> e->group) & 1u) != 0;
	for (size_t k = 0; k < e->count; k++) {
		const struct elz_word *w = &s->words[e->first + k];

		if (w->len == t->lclen && memcmp(w->s, t->lc, w->len) == 0)
			return true;
	}
	return false;
}

/* Backtracking match of elements [ei..) against tokens [ti..tn); a star takes as few words as it can. */
static bool match_from(const struct elz_script *s, const struct elz_decomp *d, size_t ei, const struct elz_tok *t,
                       size_t ti, size_t tn, struct match *m)
{
	const struct elz_elem *e;

	if (ei == d->n)
		return ti == tn;
	e = &d->e[ei];
	m->start[ei] = (uint16_t)ti;
	if (e->kind == ELZ_STAR) {
		if (ei + 1 == d->n) {
			m->len[ei] = (uint16_t)(tn - ti);
			return true;
		}
		for (size_t k = ti; k <= tn; k++) {
			/* The next element is not a star (patterns never have two in a row), so it must accept t[k]. */
			if (k < tn && d->e[ei + 1].kind != ELZ_STAR && !elem_accepts(s, &d->e[ei + 1], &t[k]))
				continue;
			m->len[ei] = (uint16_t)(k - ti);
			if (match_from(s, d, ei + 1, t, k, tn, m))
				return true;
		}
		return false;
	}
	if (ti >= tn || !elem_accepts(s, e, &t[ti]))
		return false;
	m->len[ei] = 1;
	return match_from(s, d, ei + 1, t, ti + 1, tn, m);
}

/* Words after which "you" is a subject ("I"), not an object ("me"). */
static bool subject_follows(const struct elz_tok *t)
{
	static const char *const words[] = { "and", "or", "that", "because", "if", "when", "so", "then",
	                                     "think", "believe", "know", "guess", "suppose", "feel", "said",
	                                     "say", "wish", "hope", "whether", "since", NULL };

	for (size_t i = 0; words[i] != NULL; i++) {
		if (word_is(t, words[i]))
			return true;
	}
	return false;
}

/* The reflected form of t[i] inside a captured run of n words, or NULL to keep it. */
static const char *reflect(const struct elz_tok *t, size_t i, size_t n)
{
	static const char *const pairs[][2] = {
		{ "i", "you" }, { "me", "you" }, { "my", "your" }, { "mine", "yours" },
		{ "myself", "yourself" }, { "am", "are" }, { "your", "my" }, { "yours", "mine" },
		{ "yourself", "myself" }, { "i'm", "you're" },
	};
	const struct elz_tok *prev = i > 0 ? &t[i - 1] : NULL, *next = i + 1 < n ? &t[i + 1] : NULL;

	if (word_is(&t[i], "you"))
		return prev == NULL || subject_follows(prev) ? "I" : "me";
	if (word_is(&t[i], "are") || word_is(&t[i], "were")) {
		if ((prev != NULL && word_is(prev, "you")) || (next != NULL && word_is(next, "you")))
			return t[i].lc[0] == 'a' ? "am" : "was";
		return NULL;
	}
	if (word_is(&t[i], "was")) {
		if ((prev != NULL && word_is(prev, "i")) || (next != NULL && word_is(next, "i")))
			return "were";
		return NULL;
	}
	for (size_t k = 0; k < sizeof(pairs) / sizeof(pairs[0]); k++) {
		if (word_is(&t[i], pairs[k][0]))
			return pairs[k][1];
	}
	return NULL;
}

static void put_component(struct out *o, const struct elz_tok *t, size_t n)
{
	for (size_t i = 0; i < n; i++) {
		const char *r = reflect(t, i, n);

		if (i > 0)
			out_put(o, " ", 1);
		if (r != NULL)
			out_str(o, r);
		else
			out_put(o, t[i].orig, t[i].origlen);
	}
}

static const char *pick(agent_eliza *e, enum elz_plist which)
{
	size_t n = e->p->n_list[which];

	return n == 0 ? NULL : e->p->list[which][next_random(&e->rng) % n];
}

/* Up to three distinct topics as "a, b and c". */
static void put_topics(agent_eliza *e, struct out *o)
{
	size_t n = e->p->n_list[ELZ_P_TOPIC], k, first;

	if (n == 0) {
		out_str(o, "many things");
		return;
	}
	k = n < 3 ? n : 3;
	first = (size_t)(next_random(&e->rng) % n);
	for (size_t i = 0; i < k; i++) {
		if (i > 0)
			out_str(o, i + 1 == k ? " and " : ", ");
		out_str(o, e->p->list[ELZ_P_TOPIC][(first + i) % n]);
	}
}

/* A $variable at v; returns its length, or 0 when v names none. */
static size_t put_variable(agent_eliza *e, struct out *o, const char *v)
{
	const char *s;

	if (strncmp(v, "name", 4) == 0) {
		out_str(o, e->p->name);
		return 4;
	}
	if (strncmp(v, "bio", 3) == 0) {
		s = pick(e, ELZ_P_BIO);
		out_str(o, s != NULL ? s : "I keep my story short.");
		return 3;
	}
	if (strncmp(v, "lore", 4) == 0) {
		s = pick(e, ELZ_P_LORE);
		out_str(o, s != NULL ? s : "My story is still being written.");
		return 4;
	}
	if (strncmp(v, "adj", 3) == 0) {
		s = pick(e, ELZ_P_ADJ);
		out_str(o, s != NULL ? s : "curious");
		return 3;
	}
	if (strncmp(v, "topics", 6) == 0) {
		put_topics(e, o);
		return 6;
	}
	if (strncmp(v, "topic", 5) == 0) {
		s = pick(e, ELZ_P_TOPIC);
		out_str(o, s != NULL ? s : "the way people think");
		return 5;
	}
	return 0;
}

/* Fill a template; false when it needs a pattern element that matched no words. */
static bool render(agent_eliza *e, struct out *o, const char *tpl, const struct elz_tok *t,
                   const struct elz_decomp *d, const struct match *m)
{
	const char *p = tpl;

	while (*p != '\0') {
		const char *dollar = strchr(p, '$');
		size_t used;

		if (dollar == NULL) {
			out_str(o, p);
			break;
		}
		out_put(o, p, (size_t)(dollar - p));
		p = dollar + 1;
		if (*p >= '1' && *p <= '9') {
			size_t idx = (size_t)(*p - '1');

			if (m == NULL || idx >= d->n || m->len[idx] == 0)
				return false;
			put_component(o, t + m->start[idx], m->len[idx]);
			p++;
			continue;
		}
		used = put_variable(e, o, p);
		if (used == 0)
			out_put(o, "$", 1);
		p += used;
	}
	return true;
}

static void remember_topic(agent_eliza *e, const struct out *o)
{
	size_t slot, n;

	if (e->mem_count == ELZ_MEMORY_SLOTS) {
		e->mem_first = (e->mem_first + 1) % ELZ_MEMORY_SLOTS;
		e->mem_count--;
	}
	slot = (e->mem_first + e->mem_count) % ELZ_MEMORY_SLOTS;
	n = elz_utf8_cut(o->s, o->len < ELZ_MEMORY_LEN - 1 ? o->len : ELZ_MEMORY_LEN - 1);
	memcpy(e->memory[slot], o->s, n);
	e->memory[slot][n] = '\0';
	e->mem_count++;
}

/* The next reassembly of pattern d, moving its cycle on. */
static const struct elz_reasm *next_reasm(agent_eliza *e, size_t d)
{
	const struct elz_script *s = e->p->script;
	const struct elz_decomp *dec = &s->decomps[d];
	const struct elz_reasm *r = &s->reasms[dec->first_reasm + e->cycle[d]];

	e->cycle[d] = (uint8_t)((e->cycle[d] + 1u) % dec->n_reasm);
	return r;
}

/* Answer with key k over the clause's tokens; false when none of its patterns fits. */
static bool try_key(agent_eliza *e, struct out *o, size_t k, const struct elz_tok *t, size_t n, unsigned depth)
{
	const struct elz_script *s = e->p->script;
	const struct elz_key *key = &s->keys[k];
	struct match m;

	if (depth > 4)
		return false;
	/* Memory patterns first: they note the topic for later and say nothing now. */
	for (size_t d = key->first_decomp; d < (size_t)key->first_decomp + key->n_decomp; d++) {
		const struct elz_decomp *dec = &s->decomps[d];
		struct out memo;

		if (!dec->memo || !match_from(s, dec, 0, t, 0, n, &m))
			continue;
		memo.len = 0;
		memo.s[0] = '\0';
		if (render(e, &memo, next_reasm(e, d)->text, t, dec, &m))
			remember_topic(e, &memo);
	}
	for (size_t d = key->first_decomp; d < (size_t)key->first_decomp + key->n_decomp; d++) {
		const struct elz_decomp *dec = &s->decomps[d];

		if (dec->memo || !match_from(s, dec, 0, t, 0, n, &m))
			continue;
		for (size_t tries = 0; tries < dec->n_reasm; tries++) {
			const struct elz_reasm *r = next_reasm(e, d);
			size_t saved = o->len;

			if (r->go >= 0) {
				if (try_key(e, o, (size_t)r->go, t, n, depth + 1))
					return true;
				continue;
			}
			if (render(e, o, r->text, t, dec, &m))
				return true;
			o->len = saved;
			o->s[saved] = '\0';
		}
	}
	return false;
}

/* An example answer, with Eliza's {{user1}} / {{agentName}} placeholders filled. */
static void put_example(agent_eliza *e, struct out *o, const char *text)
{
	const char *p = text;

	while (*p != '\0') {
		const char *open = strstr(p, "{{"), *close;

		if (open == NULL || (close = strstr(open + 2, "}}")) == NULL) {
			out_str(o, p);
			return;
		}
		out_put(o, p, (size_t)(open - p));
		if (strncmp(open + 2, "user", 4) == 0)
			out_str(o, "friend");
		else if (strncmp(open + 2, "agentName", 9) == 0)
			out_str(o, e->p->name);
		else
			out_put(o, open, (size_t)(close + 2 - open));
		p = close + 2;
	}
}

struct hit {
	uint16_t key;
	uint16_t clause;
	uint8_t rank;
};

static size_t collect_hits(struct hit *hits, const struct elz_script *s, const struct elz_words *w)
{
	size_t n = 0;

	for (size_t i = 0; i < w->n && n < ELZ_MAX_HITS; i++) {
		const struct elz_tok *t = &w->tok[i];
		bool seen = false;
		size_t pos;

		if (t->lex == NULL || t->lex->key < 0)
			continue;
		for (size_t h = 0; h < n; h++) {
			if (hits[h].key == (uint16_t)t->lex->key && hits[h].clause == t->clause)
				seen = true;
		}
		if (seen)
			continue;
		/* Stable insertion by rank: equal ranks keep their order in the message. */
		pos = n;
		while (pos > 0 && hits[pos - 1].rank < s->keys[t->lex->key].rank) {
			hits[pos] = hits[pos - 1];
			pos--;
		}
		hits[pos].key = (uint16_t)t->lex->key;
		hits[pos].clause = t->clause;
		hits[pos].rank = s->keys[t->lex->key].rank;
		n++;
	}
	return n;
}

static void compose(agent_eliza *e, struct out *o, const struct elz_words *w, struct reply_info *info)
{
	const struct elz_script *s = e->p->script;
	struct hit hits[ELZ_MAX_HITS];
	uint32_t set[ELZ_EXAMPLE_WORDS * 2];
	size_t n_hits, n_set;

	if (w->n == 0) {
		try_key(e, o, (size_t)s->key_empty, w->tok, 0, 0);
		return;
	}
	n_set = elz_word_set(set, sizeof(set) / sizeof(set[0]), w);
	info->example = elz_persona_match(e->p, set, n_set);
	if (info->example != NULL) {
		put_example(e, o, info->example->reply);
		return;
	}
	n_hits = collect_hits(hits, s, w);
	for (size_t h = 0; h < n_hits; h++) {
		size_t first = 0, last;

		while (first < w->n && w->tok[first].clause != hits[h].clause)
			first++;
		last = first;
		while (last < w->n && w->tok[last].clause == hits[h].clause)
			last++;
		if (try_key(e, o, hits[h].key, w->tok + first, last - first, 0))
			return;
	}
	if (e->mem_count > 0) {
		out_str(o, e->memory[e->mem_first]);
		e->mem_first = (e->mem_first + 1) % ELZ_MEMORY_SLOTS;
		e->mem_count--;
		return;
	}
	try_key(e, o, (size_t)s->key_none, w->tok, w->n, 0);
}

/* Capital first letter, or all lowercase when the character's style asks for it. */
static void finish_style(const agent_eliza_persona *p, char *s, size_t len)
{
	if (p->lowercase) {
		for (size_t i = 0; i < len; i++) {
			if (s[i] >= 'A' && s[i] <= 'Z')
				s[i] = (char)(s[i] + 32);
		}
	} else if (len > 0 && s[0] >= 'a' && s[0] <= 'z') {
		s[0] = (char)(s[0] - 32);
	}
}

static void reply(agent_eliza *e, struct out *o, const char *input, size_t len, struct reply_info *info)
{
	struct elz_words w;

	o->len = 0;
	o->s[0] = '\0';
	info->example = NULL;
	elz_split(&w, e->p->script, input, len);
	compose(e, o, &w, info);
	if (o->len == 0)
		out_str(o, "Go on.");
	finish_style(e->p, o->s, o->len);
}

teeliza_err agent_eliza_respond(agent_eliza *e, teeliza_buf *out_text, const char *input, size_t len)
{
	struct out o;
	struct reply_info info;
	teeliza_err err;

	assert(e != NULL && out_text != NULL && (input != NULL || len == 0));
	teeliza_buf_reset(out_text);
	reply(e, &o, input, len, &info);
	err = teeliza_buf_append(out_text, o.s, o.len);
	if (err != TEELIZA_OK)
		teeliza_buf_reset(out_text);
	return err;
}

teeliza_err agent_eliza_greeting(agent_eliza *e, teeliza_buf *out_text)
{
	struct out o;
	teeliza_err err;

	assert(e != NULL && out_text != NULL);
	teeliza_buf_reset(out_text);
	o.len = 0;
	o.s[0] = '\0';
	try_key(e, &o, (size_t)e->p->script->key_greet, NULL, 0, 0);
	finish_style(e->p, o.s, o.len);
	err = teeliza_buf_append(out_text, o.s, o.len);
	if (err != TEELIZA_OK)
		teeliza_buf_reset(out_text);
	return err;
}

static const char *offered_action(const agent_action_hint *actions, size_t n, const char *name)
{
	for (size_t i = 0; name != NULL && i < n; i++) {
		if (actions[i].name != NULL && strcasecmp(actions[i].name, name) == 0)
			return actions[i].name;
	}
	return NULL;
}

teeliza_err agent_eliza_reply_json(agent_eliza *e, teeliza_buf *out_json, const char *input, size_t len,
                                   const agent_action_hint *actions, size_t n_actions)
{
	struct out o;
	struct reply_info info;
	const char *action = NULL;
	int chosen;
	teeliza_err err;

	assert(e != NULL && out_json != NULL && (input != NULL || len == 0) && (actions != NULL || n_actions == 0));
	teeliza_buf_reset(out_json);
	reply(e, &o, input, len, &info);
	chosen = agent_eliza_select_action(actions, n_actions, input, len);
	if (chosen >= 0) {
		action = actions[chosen].name;
		if (actions[chosen].reply != NULL && actions[chosen].reply[0] != '\0') {
			o.len = 0;
			o.s[0] = '\0';
			out_str(&o, actions[chosen].reply);
			finish_style(e->p, o.s, o.len);
		}
	} else if (info.example != NULL) {
		action = offered_action(actions, n_actions, info.example->action);
	}
	if (action == NULL)
		action = "NONE";
	err = teeliza_buf_append_str(out_json, "{\"user\":");
	if (err == TEELIZA_OK)
		err = elz_json_string(out_json, e->p->name, strlen(e->p->name));
	if (err == TEELIZA_OK)
		err = teeliza_buf_append_str(out_json, ",\"text\":");
	if (err == TEELIZA_OK)
		err = elz_json_string(out_json, o.s, o.len);
	if (err == TEELIZA_OK)
		err = teeliza_buf_append_str(out_json, ",\"action\":");
	if (err == TEELIZA_OK)
		err = elz_json_string(out_json, action, strlen(action));
	if (err == TEELIZA_OK)
		err = teeliza_buf_append(out_json, "}", 1);
	if (err != TEELIZA_OK)
		teeliza_buf_reset(out_json);
	return err;
}
