/*
 * .env files as Eliza reads them (dotenv 16, which @elizaos/core 0.1.x loads
 * from the nearest .env), parsed strictly: what dotenv reads, this reads
 * the same way; what dotenv would skip or misread silently is an error here.
 */
#ifndef TEELIZA_DOTENV_H
#define TEELIZA_DOTENV_H

#include "teeliza/common/common.h"

#ifdef __cplusplus
extern "C" {
#endif

/* Bigger .env text is refused (TEELIZA_ERR_TOO_LARGE); Eliza's .env.example is about 30 KiB. */
#define TEELIZA_DOTENV_MAX ((size_t)1 << 20)
/* At most this many distinct names. */
#define TEELIZA_DOTENV_MAX_ENTRIES 4096

typedef struct teeliza_dotenv_entry {
	char *name;          /* [A-Za-z0-9_.-]+ */
	char *value;         /* NUL-terminated, never holds a NUL byte; secret */
	size_t value_len;
	unsigned line;       /* where it was set (the last time) */
} teeliza_dotenv_entry;

typedef struct teeliza_dotenv {
	teeliza_dotenv_entry *entries; /* in order of first appearance */
	size_t count;
} teeliza_dotenv;

/*
 * Parse .env text (len bytes; no NUL terminator needed). Accepted, as dotenv:
 *  - "NAME=VALUE", spaces around '=' allowed, "NAME: VALUE" (a colon then
 *    whitespace), an optional leading "export "; NAME is [A-Za-z0-9_.-]+;
 *  - blank lines, and lines whose first non-blank character is '#';
 *  - CRLF and CR line ends (read as LF, also inside quoted values);
 *  - an unquoted VALUE ends at '#' or the line end, surrounding whitespace
 *    dropped ("" when nothing is left);
 *  - a VALUE in '…', "…" or `…` is everything up to the closing quote, also
 *    across lines; a backslash before the quote character keeps it in the
 *    value (the backslash stays too, as dotenv leaves it); only in "…" do
 *    \n and \r become a line feed and a carriage return; no other escapes,
 *    and no ${VAR} expansion (dotenv has none); after the closing quote only
 *    blanks and a # comment may follow;
 *  - a name given again replaces the earlier value (the last one wins).
 * Errors (TEELIZA_ERR_PARSE, the message names the line, never a value): any
 * other line, an unterminated quote, text after a closing quote, a NUL byte.
 * TEELIZA_ERR_TOO_LARGE beyond the limits above. Out: *out (zeroed on
 * failure); free with teeliza_dotenv_free, which wipes the values.
 */
teeliza_err teeliza_dotenv_parse(teeliza_dotenv *out, const char *text, size_t len) TEELIZA_WARN_UNUSED;
void teeliza_dotenv_free(teeliza_dotenv *env);

#ifdef __cplusplus
}
#endif
#endif
