/*
 * teeliza common definitions: the one error enum, error details, secret
 * wiping, constant-time comparison and bounded growable buffers.
 *
 * Conventions for every teeliza_* / tee_* / dcap_* / agent_* function:
 *  - outputs first, inputs last; a length comes right after its buffer;
 *  - functions that can fail on data return teeliza_err (TEELIZA_OK = 0)
 *    and record a human-readable detail retrievable with teeliza_errmsg();
 *  - programmer misuse (NULL where not allowed, impossible sizes) asserts;
 *  - outputs are zeroed first and only filled on the success path.
 */
#ifndef TEELIZA_COMMON_H
#define TEELIZA_COMMON_H

#include <stddef.h>
#include <stdint.h>
#include <stdbool.h>

#ifdef __cplusplus
extern "C" {
#endif

#if defined(__GNUC__)
#define TEELIZA_WARN_UNUSED __attribute__((warn_unused_result))
#define TEELIZA_PRINTF(a, b) __attribute__((format(printf, a, b)))
#else
#define TEELIZA_WARN_UNUSED
#define TEELIZA_PRINTF(a, b)
#endif

/* Values are stable: they appear in exit codes and JSON output. */
typedef enum teeliza_err {
	TEELIZA_OK = 0,
	TEELIZA_ERR_NOMEM = 1,        /* allocation failed */
	TEELIZA_ERR_INVALID = 2,      /* bad input value (bad hex, bad option, missing field) */
	TEELIZA_ERR_PARSE = 3,        /* malformed structure (JSON, PEM, DER, quote) */
	TEELIZA_ERR_TRUNCATED = 4,    /* input ends before a declared length */
	TEELIZA_ERR_TOO_LARGE = 5,    /* input exceeds a limit */
	TEELIZA_ERR_UNSUPPORTED = 6,  /* well-formed but not something we handle */
	TEELIZA_ERR_CRYPTO = 7,       /* a crypto library call failed */
	TEELIZA_ERR_IO = 8,           /* file or socket I/O failed */
	TEELIZA_ERR_CONNECT = 9,      /* could not reach a server */
	TEELIZA_ERR_TIMEOUT = 10,     /* a server did not answer in time */
	TEELIZA_ERR_PROTOCOL = 11,    /* a server answered something we cannot use */
	TEELIZA_ERR_REMOTE = 12,      /* a server answered with an error message */
	TEELIZA_ERR_CONFIG = 13,      /* bad configuration (env, settings) */
	TEELIZA_ERR_NOT_FOUND = 14,   /* a named thing does not exist */
	TEELIZA_ERR_VERIFY = 15,      /* a signature, hash or chain did not verify */
	TEELIZA_ERR_EXPIRED = 16,     /* outside a validity window */
	TEELIZA_ERR_REVOKED = 17,     /* a certificate or TCB level is revoked */
	TEELIZA_ERR_UNTRUSTED = 18,   /* verified, but not trusted under the policy */
	TEELIZA_ERR_INTERNAL = 19,    /* should not happen: a bug */
	TEELIZA_ERR_CONFLICT = 20,    /* someone else changed it first (another replica); read again, retry */
	TEELIZA_ERR__COUNT
} teeliza_err;

/* Short fixed description of an error code ("invalid input", ...). Never NULL. */
const char *teeliza_strerror(teeliza_err err);

/*
 * The detail message of the last error set in this thread, e.g.
 * "Invalid TEE_MODE: X. Must be one of: LOCAL, DOCKER, PRODUCTION".
 * Empty string when none. Valid until the next teeliza call in this thread.
 */
const char *teeliza_errmsg(void);

/* Record err with a printf-style detail for this thread; returns err. */
teeliza_err teeliza_set_error(teeliza_err err, const char *fmt, ...) TEELIZA_PRINTF(2, 3);
void teeliza_clear_error(void);

/* Wipe memory that held a secret, in a way the compiler cannot drop. */
void teeliza_wipe(void *p, size_t n);
#define TEELIZA_WIPE_BUFFER(buf) teeliza_wipe((buf), sizeof(buf))

/* Constant-time equality: true when the n bytes are equal. */
bool teeliza_ct_eq(const void *a, const void *b, size_t n);

/*
 * Growable byte buffer with a hard cap. Always NUL-terminated past len, so a
 * buffer of text can be used as a C string. Owns data; free with teeliza_buf_free
 * (which wipes when `secret` is set).
 */
typedef struct teeliza_buf {
	uint8_t *data;
	size_t len;
	size_t cap;
	size_t max;    /* appends that would exceed this fail with TEELIZA_ERR_TOO_LARGE */
	bool secret;   /* wipe on growth and free */
} teeliza_buf;

void teeliza_buf_init(teeliza_buf *b, size_t max);
teeliza_err teeliza_buf_append(teeliza_buf *b, const void *data, size_t len) TEELIZA_WARN_UNUSED;
teeliza_err teeliza_buf_append_str(teeliza_buf *b, const char *s) TEELIZA_WARN_UNUSED;
teeliza_err teeliza_buf_printf(teeliza_buf *b, const char *fmt, ...) TEELIZA_PRINTF(2, 3) TEELIZA_WARN_UNUSED;
/* Make room for extra more bytes (plus the NUL) without changing len. */
teeliza_err teeliza_buf_reserve(teeliza_buf *b, size_t extra) TEELIZA_WARN_UNUSED;
void teeliza_buf_reset(teeliza_buf *b);
void teeliza_buf_free(teeliza_buf *b);

/* Read a whole file (at most max bytes) into out; path "-" reads standard input. */
teeliza_err teeliza_read_file(teeliza_buf *out, const char *path, size_t max) TEELIZA_WARN_UNUSED;

struct stat;
/*
 * Read a whole regular file of at most max bytes into out (initialised here and
 * marked secret: such files hold settings and keys), for files an operator
 * names that must not be a FIFO, a device or a directory: those are refused
 * without blocking (TEELIZA_ERR_IO "<path> is not a regular file"), and so is
 * a file larger than max (TEELIZA_ERR_TOO_LARGE), also when it grows while
 * read. No such file: TEELIZA_ERR_NOT_FOUND. Symlinks are followed. Out: st
 * (may be NULL), the stat of the file read (its owner, mode and identity).
 */
teeliza_err teeliza_read_regular_file(teeliza_buf *out, struct stat *st, const char *path, size_t max) TEELIZA_WARN_UNUSED;

/*
 * Write a file atomically (temp file + rename) with the given mode, e.g. 0600
 * for secrets. Nothing is half-written: on failure the old file stays.
 */
teeliza_err teeliza_write_file(const char *path, const void *data, size_t len, unsigned mode) TEELIZA_WARN_UNUSED;

/*
 * Parse an unsigned decimal number that must lie in [min, max]: digits only
 * (no sign, no blanks, no "0x"), the whole string, no overflow. Out: *out, set
 * only on success. TEELIZA_ERR_INVALID names what was wrong ("not a number",
 * "out of range 1..65535"). Use it for every number that comes from outside.
 */
teeliza_err teeliza_parse_u64(uint64_t *out, const char *text, uint64_t min, uint64_t max) TEELIZA_WARN_UNUSED;

/*
 * Take a secret out of the process environment: copy the value of name into
 * out (initialised here as a secret buffer of at most max bytes; free it
 * with teeliza_buf_free, which wipes), then remove the variable (unsetenv)
 * and overwrite the value's bytes where they were, so that neither
 * getenv, a child process nor /proc/PID/environ (which shows the
 * environment the process started with) has it any more. The name stays
 * visible there, followed by NUL bytes. Not thread-safe (the environment
 * is not): call before starting threads.
 * Errors: TEELIZA_ERR_NOT_FOUND when name is unset or empty (it is removed
 * all the same), TEELIZA_ERR_TOO_LARGE (the value is left in place),
 * TEELIZA_ERR_NOMEM.
 */
teeliza_err teeliza_env_take(teeliza_buf *out, size_t max, const char *name) TEELIZA_WARN_UNUSED;

#ifdef __cplusplus
}
#endif
#endif
