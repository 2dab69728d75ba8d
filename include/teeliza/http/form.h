/*
 * multipart/form-data bodies (RFC 7578) parsed as they arrive, so that an
 * upload is never held in memory: text parts are kept, file parts are
 * counted and dropped. The semantics are those of busboy 1.x as multer 1.4
 * uses it (Eliza's direct client, upload.single("file")):
 *
 * - a part is found by "\r\n--<boundary>" (the body may start with
 *   "--<boundary>"); anything before the first delimiter and after the
 *   closing "--<boundary>--" is ignored; a delimiter must be followed by
 *   "--" or CRLF; the body must end with the closing delimiter;
 * - part headers: `name: value` lines ending in CRLF (continuation lines
 *   allowed), at most HTTP_FORM_MAX_HEADER bytes; a part without headers,
 *   with a malformed header line, or cut off is malformed;
 * - a part without a Content-Disposition, or one that is not `form-data`
 *   or cannot be parsed, is skipped (its bytes are dropped);
 * - a part with a filename (filename*= wins over filename=; reduced to its
 *   base name) is a file; an empty base name, or Content-Type
 *   application/octet-stream without a filename, is a file multer skips;
 * - names are decoded as busboy does by default: each byte is a Latin-1
 *   character (so UTF-8 names arrive as multer shows them); a text value is
 *   decoded with its part's charset (UTF-8 unless a Latin-1 alias is given),
 *   ill-formed UTF-8 replaced by U+FFFD. Everything reported is valid UTF-8.
 *   File names are kept as UTF-8 when they are, else read as Latin-1.
 *
 * Why not libmicrohttpd's post processor (MHD_create_post_processor): in
 * libmicrohttpd 0.9.75/0.9.76 (Debian 12) its iterator cannot tell where a
 * part starts (an empty part and a part whose first bytes have not arrived
 * both start with a call at offset 0), a field after a nested
 * multipart/mixed part is reported under the nested part's name and file
 * name, `Content-Disposition:` needs exactly one space and quoted names,
 * a boundary followed by another parameter yields an empty form without an
 * error, and an epilogue fails the whole body; in urlencoded mode it rejects
 * `=x`, `a==b` and line breaks, drops a trailing `key` and turns `100%`
 * into `100`. It also needs a live MHD_Connection, so it cannot be fuzzed on
 * its own. tests/unit/test_http_form.c pins the behaviour used here instead.
 */
#ifndef TEELIZA_HTTP_FORM_H
#define TEELIZA_HTTP_FORM_H

#include "teeliza/common/common.h"

#ifdef __cplusplus
extern "C" {
#endif

/* Largest header block of one part (busboy's). */
#define HTTP_FORM_MAX_HEADER (16u * 1024u)
/* Longest boundary accepted (RFC 2046 allows 70). */
#define HTTP_FORM_MAX_BOUNDARY 200u

typedef struct http_form_limits {
	size_t max_parts;            /* parts of any kind, skipped ones included */
	size_t max_files;            /* file parts with a non-empty file name */
	size_t max_text;             /* bytes of all text values together, as received */
	uint64_t max_file;           /* bytes of one file (or skipped) part */
	uint64_t max_total;          /* bytes of the whole body */
} http_form_limits;

typedef enum http_form_kind {
	HTTP_FORM_TEXT = 0,          /* a text field: name and value */
	HTTP_FORM_FILE = 1,          /* a file: name, filename, content type, size */
} http_form_kind;

typedef struct http_form_part {
	http_form_kind kind;
	char *name;                  /* UTF-8, NUL-terminated, no NUL inside, not empty */
	char *value;                 /* TEXT: UTF-8, NUL-terminated (may hold NUL characters); FILE: NULL */
	size_t value_len;
	char *filename;              /* FILE: base name, UTF-8, NUL-terminated (may hold NUL); TEXT: NULL */
	size_t filename_len;
	char *content_type;          /* "type/subtype" in lower case; "text/plain" when none (busboy) */
	uint64_t size;               /* FILE: bytes received and dropped */
} http_form_part;

/* Which limit a TEELIZA_ERR_TOO_LARGE came from. */
typedef enum http_form_limit {
	HTTP_FORM_LIMIT_NONE = 0,
	HTTP_FORM_LIMIT_TOTAL,
	HTTP_FORM_LIMIT_PARTS,
	HTTP_FORM_LIMIT_FILES,
	HTTP_FORM_LIMIT_FILE,
	HTTP_FORM_LIMIT_TEXT,
} http_form_limit;

typedef struct http_form http_form;

/*
 * Start parsing a body with the given Content-Type header value (which must
 * be multipart/form-data with a boundary). Out: *out. Errors:
 * TEELIZA_ERR_INVALID "multipart body without a boundary" and the like.
 */
teeliza_err http_form_new(http_form **out, const char *content_type, const http_form_limits *limits) TEELIZA_WARN_UNUSED;

/*
 * Feed the next len bytes of the body (any split). TEELIZA_ERR_INVALID for a
 * malformed body, TEELIZA_ERR_TOO_LARGE when a limit is hit (see
 * http_form_limit_hit), TEELIZA_ERR_NOMEM. After an error every later call
 * returns the same error; the message stays in http_form_error.
 */
teeliza_err http_form_feed(http_form *f, const uint8_t *data, size_t len) TEELIZA_WARN_UNUSED;

/*
 * The body ended: TEELIZA_ERR_INVALID unless the closing delimiter was seen
 * or the body was empty (no parts, as multer skips a request without a body).
 */
teeliza_err http_form_finish(http_form *f) TEELIZA_WARN_UNUSED;

/* The parts reported so far, in body order (stable until the next feed). */
const http_form_part *http_form_parts(const http_form *f, size_t *count);

/* Why the last call failed ("" when none), and which limit when TOO_LARGE. */
const char *http_form_error(const http_form *f);
http_form_limit http_form_limit_hit(const http_form *f);

/* Bytes fed so far. */
uint64_t http_form_bytes(const http_form *f);

void http_form_free(http_form *f);

/*
 * Append in[0..len) to out as UTF-8, each ill-formed subsequence replaced by
 * U+FFFD the way the WHATWG decoder (and so Node's Buffer#toString) does it.
 */
teeliza_err http_utf8_append_lossy(teeliza_buf *out, const uint8_t *in, size_t len) TEELIZA_WARN_UNUSED;

/* Append in[0..len) read as Latin-1 (each byte one character) to out as UTF-8. */
teeliza_err http_latin1_append(teeliza_buf *out, const uint8_t *in, size_t len) TEELIZA_WARN_UNUSED;

#ifdef __cplusplus
}
#endif
#endif
