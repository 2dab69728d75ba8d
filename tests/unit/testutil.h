/* Helpers shared by the cmocka unit tests. Include after cmocka.h. */
#ifndef TEELIZA_TESTUTIL_H
#define TEELIZA_TESTUTIL_H

#include <jansson.h>
#include <stddef.h>
#include <stdint.h>

/* Path of a file in tests/vectors (static buffer, valid until the next call). */
const char *vector_path(const char *name);

/* Load a vector file whole; aborts the test (fail()) when missing. Caller frees. */
uint8_t *vector_read(const char *name, size_t *len);

/* Parse a JSON vector file; fails the test when missing. Caller json_decref()s. */
json_t *vector_json(const char *name);

/* Decode hex (optional 0x) into a malloc'd buffer; fails the test on bad hex. */
uint8_t *hex_alloc(const char *hex, size_t *len);

/* assert that buf[0..len) equals the hex string. */
void assert_hex_equal(const uint8_t *buf, size_t len, const char *hex);

/* An HTTP reply read whole by test_http_request. */
struct test_resp {
	long status;
	char ctype[128];            /* Content-Type, "" when none */
	char *body;                 /* NUL-terminated; caller frees */
	size_t len;
};

/*
 * Send method to base followed by path (no proxy), with an optional
 * Content-Type, body and Authorization header value (each NULL for none);
 * fails the test when no reply arrives within timeout_ms. Caller frees body.
 */
struct test_resp test_http_request(const char *base, const char *method, const char *path, const char *ctype,
                                   const void *body, size_t body_len, const char *auth, long timeout_ms);

/* Run a shell command, capture stdout (malloc'd, NUL-terminated); returns exit status. */
int run_capture(const char *cmd, char **out);

#endif
