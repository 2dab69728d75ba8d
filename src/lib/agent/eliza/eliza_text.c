/*
 * Text handling for the ELIZA responder: splitting a message into words and
 * clauses in a fixed buffer, UTF-8 boundaries, and JSON string output that is
 * always valid UTF-8 whatever the user typed.
 */
#include "eliza_internal.h"

#include <assert.h>
#include <string.h>

size_t elz_utf8_cut(const char *s, size_t n)
{
	size_t j, need;
	uint8_t lead;

	if (n == 0)
		return 0;
	j = n - 1;
	while (j > 0 && n - j < 4 && ((uint8_t)s[j] & 0xc0) == 0x80)
		j--;
	lead = (uint8_t)s[j];
	if (lead < 0x80)
		return n;
	if ((lead & 0xe0) == 0xc0)
		need = 2;
	else if ((lead & 0xf0) == 0xe0)
		need = 3;
	else if ((lead & 0xf8) == 0xf0)
		need = 4;
	else
		return n; /* not a lead byte: invalid anyway, the JSON writer replaces it */
	return j + need <= n ? n : j;
}

/* Length of the valid UTF-8 sequence at s (at most n bytes), or 0 when invalid. */
static size_t utf8_valid_len(const uint8_t *s, size_t n)
{
	uint32_t cp;
	size_t need;

	if (s[0] < 0x80)
		return 1;
	if (s[0] >= 0xc2 && s[0] <= 0xdf) {
		need = 2;
		cp = s[0] & 0x1fu;
	} else if ((s[0] & 0xf0) == 0xe0) {
		need = 3;
		cp = s[0] & 0x0fu;
	} else if (s[0] >= 0xf0 && s[0] <= 0xf4) {
		need = 4;
		cp = s[0] & 0x07u;
	} else {
		return 0;
	}
	if (n < need)
		return 0;
	for (size_t i = 1; i < need; i++) {
		if ((s[i] & 0xc0) != 0x80)
			return 0;
		cp = (cp << 6) | (s[i] & 0x3fu);
	}
	/* Overlong forms, UTF-16 surrogates and values past U+10FFFF are not UTF-8. */
	if ((need == 3 && cp < 0x800) || (need == 4 && cp < 0x10000) || cp > 0x10ffff ||
	    (cp >= 0xd800 && cp <= 0xdfff))
		return 0;
	return need;
}

teeliza_err elz_json_string(teeliza_buf *out, const char *s, size_t n)
{
	static const char hex[] = "0123456789abcdef";
	const uint8_t *p = (const uint8_t *)s;
	size_t i = 0, run = 0;
	teeliza_err err;

	err = teeliza_buf_append(out, "\"", 1);
	while (err == TEELIZA_OK && i < n) {
		size_t v = utf8_valid_len(p + i, n - i);
		char esc[6];
		size_t esc_len = 0;

		if (v > 0 && p[i] >= 0x20 && p[i] != '"' && p[i] != '\\') {
			i += v;
			run += v;
			continue;
		}
		/* Flush the run of bytes that need no escaping, then the escape. */
		if (run > 0)
			err = teeliza_buf_append(out, p + i - run, run);
		run = 0;
		if (err != TEELIZA_OK)
			break;
		if (v == 0) {
			err = teeliza_buf_append(out, "\xef\xbf\xbd", 3);
			i++;
			continue;
		}
		esc[0] = '\\';
		switch (p[i]) {
		case '"': esc[1] = '"'; esc_len = 2; break;
		case '\\': esc[1] = '\\'; esc_len = 2; break;
		case '\n': esc[1] = 'n'; esc_len = 2; break;
		case '\r': esc[1] = 'r'; esc_len = 2; break;
		case '\t': esc[1] = 't'; esc_len = 2; break;
		default:
			esc[1] = 'u';
			esc[2] = '0';
			esc[3] = '0';
			esc[4] = hex[p[i] >> 4];
			esc[5] = hex[p[i] & 0x0f];
			esc_len = 6;
			break;
		}
		err = teeliza_buf_append(out, esc, esc_len);
		i++;
	}
	if (err == TEELIZA_OK && run > 0)
		err = teeliza_buf_append(out, p + n - run, run);
	if (err == TEELIZA_OK)
		err = teeliza_buf_append(out, "\"", 1);
	return err;
}

/* What a byte (or the typographic sequence starting at it) means to the splitter. */
enum elz_class { C_SPACE, C_WORD, C_CLAUSE, C_APOS, C_JOIN };

static enum elz_class classify(const uint8_t *p, size_t avail, size_t *width)
{
	uint8_t c = p[0];

	*width = 1;
	if (c == 0xe2 && avail >= 3 && p[1] == 0x80) {
		*width = 3;
		switch (p[2]) {
		case 0x99: return C_APOS;                  /* right single quote used as apostrophe */
		case 0x98: case 0x9c: case 0x9d: return C_SPACE; /* typographic quotes */
		case 0x93: case 0x94: return C_SPACE;      /* en and em dashes */
		case 0xa6: return C_CLAUSE;                /* ellipsis */
		default: return C_WORD;
		}
	}
	if (c >= 0x80 || (c >= '0' && c <= '9') || (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || c == '_')
		return C_WORD;
	if (c == '\'')
		return C_APOS;
	if (c == '-')
		return C_JOIN;
	if (c == '.' || c == ',' || c == ';' || c == ':' || c == '!' || c == '?' || c == '\n')
		return C_CLAUSE;
	return C_SPACE;
}

/* Add one word (already lowercased in lower) as a token, applying pre-substitution. */
static void add_token(struct elz_words *w, const struct elz_script *s, const char *lc, size_t lclen,
                      const char *orig, size_t origlen, uint16_t clause)
{
	const struct elz_lex *lex = s != NULL ? elz_lex_find(s, lc, lclen) : NULL;

	if (lex != NULL && lex->pre >= 0) {
		const struct elz_pre *pre = &s->pres[lex->pre];

		for (size_t k = 0; k < pre->n && w->n < ELZ_MAX_TOKENS; k++) {
			struct elz_tok *t = &w->tok[w->n++];

			t->lc = t->orig = pre->out[k].s;
			t->lclen = t->origlen = pre->out[k].len;
			t->lex = elz_lex_find(s, pre->out[k].s, pre->out[k].len);
			t->clause = clause;
		}
		return;
	}
	if (w->n < ELZ_MAX_TOKENS) {
		struct elz_tok *t = &w->tok[w->n++];

		t->lc = lc;
		t->lclen = (uint16_t)lclen;
		t->orig = orig;
		t->origlen = (uint16_t)origlen;
		t->lex = lex;
		t->clause = clause;
	}
}

void elz_split(struct elz_words *w, const struct elz_script *s, const char *input, size_t len)
{
	const uint8_t *p = (const uint8_t *)input;
	size_t i = 0, lower_len = 0, in_clause = 0;
	uint16_t clause = 0;

	assert(w != NULL && (input != NULL || len == 0));
	w->n = 0;
	w->n_clauses = 0;
	if (len > AGENT_ELIZA_MAX_INPUT)
		len = AGENT_ELIZA_MAX_INPUT;
	len = elz_utf8_cut(input, len);
	while (i < len && w->n < ELZ_MAX_TOKENS) {
		size_t width, start = i, lstart = lower_len;
		enum elz_class cls = classify(p + i, len - i, &width);

		if (cls == C_CLAUSE) {
			if (in_clause > 0) {
				clause++;
				in_clause = 0;
			}
			i += width;
			continue;
		}
		if (cls != C_WORD) {
			i += width;
			continue;
		}
		/* A word: word bytes, with ' and - allowed between word bytes. */
		while (i < len) {
			size_t wd, wd2;
			enum elz_class k = classify(p + i, len - i, &wd);

			if (k == C_WORD) {
				for (size_t b = 0; b < wd; b++) {
					uint8_t c = p[i + b];

					w->lower[lower_len++] = (char)(c >= 'A' && c <= 'Z' ? c + 32 : c);
				}
				i += wd;
				continue;
			}
			if ((k == C_APOS || k == C_JOIN) && i + wd < len &&
			    classify(p + i + wd, len - i - wd, &wd2) == C_WORD) {
				w->lower[lower_len++] = k == C_APOS ? '\'' : '-';
				i += wd;
				continue;
			}
			break;
		}
		if (s != NULL && lower_len - lstart == 3 && memcmp(w->lower + lstart, "but", 3) == 0) {
			/* "but" starts a new thought, as a full stop does. */
			if (in_clause > 0) {
				clause++;
				in_clause = 0;
			}
			continue;
		}
		if (in_clause >= ELZ_MAX_CLAUSE_TOKENS)
			continue;
		add_token(w, s, w->lower + lstart, lower_len - lstart, input + start, i - start, clause);
		in_clause++;
	}
	w->n_clauses = (uint16_t)(clause + (in_clause > 0 ? 1 : 0));
}

size_t elz_word_set(uint32_t *out, size_t max, const struct elz_words *w)
{
	size_t n = 0;

	for (size_t i = 0; i < w->n; i++) {
		uint32_t h = elz_hash(w->tok[i].lc, w->tok[i].lclen);
		size_t pos = n;
		bool dup = false;

		/* Insertion into a small sorted array, skipping duplicates. */
		while (pos > 0 && out[pos - 1] >= h) {
			if (out[pos - 1] == h) {
				dup = true;
				break;
			}
			pos--;
		}
		if (dup || n >= max)
			continue;
		memmove(out + pos + 1, out + pos, (n - pos) * sizeof(*out));
		out[pos] = h;
		n++;
	}
	return n;
}
