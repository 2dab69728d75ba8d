/* Internals of the multipart/form-data parser (src/lib/http/form*.c). */
#ifndef TEELIZA_HTTP_FORM_INTERNAL_H
#define TEELIZA_HTTP_FORM_INTERNAL_H

#include "teeliza/http/form.h"

/* What one part's header block says, decoded as busboy decodes it. */
typedef struct form_head {
	bool form_data;              /* a Content-Disposition of type form-data that parsed */
	teeliza_buf name;            /* the name parameter as UTF-8 (Latin-1 bytes), len 0 when none */
	bool has_filename;           /* filename or filename* was given */
	teeliza_buf filename;        /* its base name as UTF-8 */
	teeliza_buf content_type;    /* "type/subtype" in lower case; "text/plain" when absent or unparsable */
	bool latin1;                 /* the charset parameter names a Latin-1 alias */
} form_head;

/*
 * Parse a complete header block (header lines, each ending in CRLF, then the
 * empty line's CRLF). Out: *h (initialised here; free with form_head_free
 * even on failure). TEELIZA_ERR_INVALID when a line is malformed.
 */
teeliza_err form_head_parse(form_head *h, const uint8_t *block, size_t len) TEELIZA_WARN_UNUSED;
void form_head_free(form_head *h);

/*
 * The boundary of a Content-Type header value that must be
 * multipart/form-data. Out: out (out_len bytes, NUL-terminated), *blen.
 * TEELIZA_ERR_INVALID with a message when the header is not
 * multipart/form-data, is malformed, or has no usable boundary.
 */
teeliza_err form_boundary_parse(char *out, size_t out_len, size_t *blen, const char *content_type) TEELIZA_WARN_UNUSED;

#endif
