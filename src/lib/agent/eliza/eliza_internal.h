/*
 * Internals of the offline ELIZA responder: the compiled script, the word
 * splitter and the persona, shared by eliza*.c only.
 */
#ifndef TEELIZA_ELIZA_INTERNAL_H
#define TEELIZA_ELIZA_INTERNAL_H

#include "teeliza/agent/eliza.h"

#include <stdint.h>

/* Script limits, checked when the script is compiled. */
#define ELZ_MAX_ELEMS 12        /* elements in one decomposition pattern */
#define ELZ_MAX_KEYS 128
#define ELZ_MAX_DECOMPS 384
#define ELZ_MAX_REASMS 1024
#define ELZ_MAX_WORDS 2048      /* literal words and alternatives in patterns */
#define ELZ_MAX_PRES 160
#define ELZ_MAX_GROUPS 32       /* a word's groups are a 32-bit mask */
#define ELZ_MAX_PRE_WORDS 3     /* words one pre-substitution may expand to */
#define ELZ_LEX_SLOTS 2048      /* open-addressing table of known words (power of two) */
#define ELZ_MAX_WORD_LEN 64     /* longer input words are never keywords */

/* Input limits per reply. */
#define ELZ_MAX_TOKENS 256
#define ELZ_MAX_CLAUSE_TOKENS 64 /* words past this in one clause are ignored */
#define ELZ_MAX_HITS 32

/* Memory of earlier topics (the "my" rule). */
#define ELZ_MEMORY_SLOTS 8
#define ELZ_MEMORY_LEN 512

/* Persona example index. */
#define ELZ_EXAMPLE_WORDS 32
#define ELZ_MAX_EXAMPLES 512

enum elz_elem_kind {
	ELZ_STAR,   /* any run of words, possibly empty */
	ELZ_WORDS,  /* one word from words[first .. first+count) */
	ELZ_GROUP,  /* one word of group `group` */
};

struct elz_elem {
	uint8_t kind;
	uint8_t group;
	uint16_t count;
	uint16_t first;
};

struct elz_word {
	const char *s;
	uint8_t len;
};

struct elz_decomp {
	struct elz_elem e[ELZ_MAX_ELEMS];
	uint8_t n;
	bool memo;          /* its answer is stored for later, not said now */
	uint16_t first_reasm;
	uint16_t n_reasm;
};

struct elz_reasm {
	const char *text;   /* NUL-terminated template */
	int16_t go;         /* >= 0: "goto" this key instead of a text */
};

struct elz_key {
	const char *name;
	uint8_t rank;
	uint16_t first_decomp;
	uint16_t n_decomp;
};

struct elz_pre {
	struct elz_word out[ELZ_MAX_PRE_WORDS];
	uint8_t n;
};

/* A known word: keyword, pre-substitution, group member, or several. */
struct elz_lex {
	const char *s;      /* NULL: empty slot */
	uint8_t len;
	int16_t key;        /* -1 when not a keyword */
	int16_t pre;        /* -1 when not substituted */
	uint32_t groups;
};

struct elz_script {
	struct elz_key keys[ELZ_MAX_KEYS];
	size_t n_keys;
	struct elz_decomp decomps[ELZ_MAX_DECOMPS];
	size_t n_decomps;
	struct elz_reasm reasms[ELZ_MAX_REASMS];
	size_t n_reasms;
	struct elz_word words[ELZ_MAX_WORDS];
	size_t n_words;
	struct elz_pre pres[ELZ_MAX_PRES];
	size_t n_pres;
	const char *group_names[ELZ_MAX_GROUPS];
	size_t n_groups;
	struct elz_lex lex[ELZ_LEX_SLOTS];
	int16_t key_none;   /* fallback lines */
	int16_t key_empty;  /* empty input */
	int16_t key_greet;  /* opening line */
};

/* The built-in script text (eliza_script.c). */
const char *elz_script_text(void);

/*
 * Compile script text into s (zeroed first). Strings of s point into a
 * private copy of text that lives as long as s (freed by elz_script_free).
 * Errors: TEELIZA_ERR_PARSE naming the line, TEELIZA_ERR_TOO_LARGE when a
 * limit above is exceeded, TEELIZA_ERR_NOMEM.
 */
teeliza_err elz_script_compile(struct elz_script *s, char **storage, const char *text);

/* The built-in script, compiled once; NULL (with the error set) when it does not compile. */
const struct elz_script *elz_script_builtin(void);

/* Known-word lookup; NULL when the word has no entry. */
const struct elz_lex *elz_lex_find(const struct elz_script *s, const char *w, size_t len);

uint32_t elz_hash(const char *s, size_t len);

/* One input word. */
struct elz_tok {
	const char *lc;            /* lowercase form (matching) */
	const char *orig;          /* as typed, or the substitution's text */
	const struct elz_lex *lex; /* known-word entry, or NULL */
	uint16_t lclen;
	uint16_t origlen;
	uint16_t clause;
};

/* The words of one message, in a fixed buffer (no allocation). */
struct elz_words {
	char lower[AGENT_ELIZA_MAX_INPUT + 16]; /* only ASCII is lowercased, so it never grows */
	struct elz_tok tok[ELZ_MAX_TOKENS];
	size_t n;
	uint16_t n_clauses;
};

/*
 * Split input into words and clauses. With presub (s not NULL), known words
 * are looked up and pre-substitutions applied; without s, words are only
 * lowercased (action matching).
 */
void elz_split(struct elz_words *w, const struct elz_script *s, const char *input, size_t len);

/* Longest prefix of s[0..n) not ending inside a UTF-8 sequence. */
size_t elz_utf8_cut(const char *s, size_t n);

/* Append a JSON string literal (with quotes) of s[0..n), invalid UTF-8 replaced by U+FFFD. */
teeliza_err elz_json_string(teeliza_buf *out, const char *s, size_t n);

/* A user line of a messageExamples conversation and the character's answer to it. */
struct elz_example {
	uint32_t h[ELZ_EXAMPLE_WORDS]; /* sorted distinct word hashes */
	uint8_t n;
	const char *reply;
	const char *action;            /* the answer's action, or NULL */
};

enum elz_plist { ELZ_P_BIO, ELZ_P_LORE, ELZ_P_ADJ, ELZ_P_TOPIC, ELZ_P__COUNT };

struct agent_eliza_persona {
	const struct elz_script *script;
	const char *name;
	const char **list[ELZ_P__COUNT];
	size_t n_list[ELZ_P__COUNT];
	bool lowercase;
	struct elz_example *ex;
	size_t n_ex;
};

/*
 * Sorted distinct hashes of the words of w (at most max); returns how many.
 * Used for both example lines and input so they compare alike.
 */
size_t elz_word_set(uint32_t *out, size_t max, const struct elz_words *w);

/*
 * The example whose user line is closest to the word set (Jaccard
 * similarity >= 0.6), or NULL.
 */
const struct elz_example *elz_persona_match(const agent_eliza_persona *p, const uint32_t *set, size_t n);

#endif
