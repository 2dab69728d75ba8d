/*
 * Log lines. Everything teeliza logs (the agent's log, the simulator's
 * request log, the CLI's messages) goes through the one escaping rule
 * below, so that text from outside (a request path, a character's name, a
 * model's answer, a server's error message) can never start a log line of
 * its own, pose as an official one, or drive the terminal:
 *
 *  - bytes 0x20..0x7e are written as they are (a backslash too: the
 *    escapes below are for reading, not for unescaping);
 *  - '\n' '\r' '\t' become \n \r \t, other control characters and DEL
 *    \xNN (two lowercase hex digits);
 *  - well-formed UTF-8 is written as it is, except the C1 controls
 *    (U+0080..U+009F, e.g. NEL), the line and paragraph separators U+2028
 *    and U+2029 and the bidirectional overrides and isolates (U+202A..U+202E,
 *    U+2066..U+2069), which become \uXXXX;
 *  - every byte of malformed UTF-8 becomes \xNN.
 *
 * The result is always valid UTF-8 with no control characters. Thread-safe.
 */
#ifndef TEELIZA_LOG_H
#define TEELIZA_LOG_H

#include <stdarg.h>
#include <stdio.h>

#include "teeliza/common/common.h"

#ifdef __cplusplus
extern "C" {
#endif

/* The longest line written (escaped bytes); longer ones are cut and end with " … [N bytes]". */
#define TEELIZA_LOG_LINE_MAX ((size_t)64 << 10)

/* Written instead of a message that cannot be formatted (a bad format, no memory). */
#define TEELIZA_LOG_UNFORMATTED "(a log line was dropped: it could not be formatted)"

/*
 * Append text[0..len) to out, escaped as above. Out: out (appended to).
 * Errors: TEELIZA_ERR_NOMEM, TEELIZA_ERR_TOO_LARGE (out's limit).
 */
teeliza_err teeliza_log_escape(teeliza_buf *out, const char *text, size_t len) TEELIZA_WARN_UNUSED;

/*
 * The log line for text[0..len): escaped, and when the escaped text would
 * pass TEELIZA_LOG_LINE_MAX bytes, cut at a whole character or escape and
 * followed by " … [N bytes]" (N = len). No '\n'. Out: out (appended to).
 * Errors: TEELIZA_ERR_NOMEM, TEELIZA_ERR_TOO_LARGE (out's limit).
 */
teeliza_err teeliza_log_line(teeliza_buf *out, const char *text, size_t len) TEELIZA_WARN_UNUSED;

/*
 * Write text[0..len) to f as one log line: escaped, cut at
 * TEELIZA_LOG_LINE_MAX, '\n' added, in one write that lines of other
 * threads cannot split. When memory runs out a fixed note is written
 * instead: nothing unescaped is ever written.
 */
void teeliza_log_write(FILE *f, const char *text, size_t len);

/* Format (printf), then teeliza_log_write. f NULL: stderr. */
void teeliza_logf(FILE *f, const char *fmt, ...) TEELIZA_PRINTF(2, 3);
void teeliza_vlogf(FILE *f, const char *fmt, va_list ap);

#ifdef __cplusplus
}
#endif
#endif
