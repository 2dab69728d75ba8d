/* The error enum's names and the per-thread detail message. */
#include "teeliza/common/common.h"

#include <stdarg.h>
#include <stdio.h>
#include <string.h>

static const char *const names[TEELIZA_ERR__COUNT] = {
	[TEELIZA_OK] = "success",
	[TEELIZA_ERR_NOMEM] = "out of memory",
	[TEELIZA_ERR_INVALID] = "invalid input",
	[TEELIZA_ERR_PARSE] = "malformed data",
	[TEELIZA_ERR_TRUNCATED] = "truncated data",
	[TEELIZA_ERR_TOO_LARGE] = "input too large",
	[TEELIZA_ERR_UNSUPPORTED] = "unsupported",
	[TEELIZA_ERR_CRYPTO] = "cryptographic operation failed",
	[TEELIZA_ERR_IO] = "I/O error",
	[TEELIZA_ERR_CONNECT] = "connection failed",
	[TEELIZA_ERR_TIMEOUT] = "timed out",
	[TEELIZA_ERR_PROTOCOL] = "protocol error",
	[TEELIZA_ERR_REMOTE] = "server returned an error",
	[TEELIZA_ERR_CONFIG] = "configuration error",
	[TEELIZA_ERR_NOT_FOUND] = "not found",
	[TEELIZA_ERR_VERIFY] = "verification failed",
	[TEELIZA_ERR_EXPIRED] = "expired or not yet valid",
	[TEELIZA_ERR_REVOKED] = "revoked",
	[TEELIZA_ERR_UNTRUSTED] = "not trusted",
	[TEELIZA_ERR_INTERNAL] = "internal error",
	[TEELIZA_ERR_CONFLICT] = "already changed by someone else",
};

const char *teeliza_strerror(teeliza_err err)
{
	if ((unsigned)err >= TEELIZA_ERR__COUNT || names[err] == NULL)
		return "unknown error";
	return names[err];
}

static _Thread_local char last_msg[1024];

const char *teeliza_errmsg(void)
{
	return last_msg;
}

/*
 * Formatted into a scratch buffer first: a caller may pass teeliza_errmsg()
 * itself as an argument ("…: %s", teeliza_errmsg()), and vsnprintf into the
 * buffer it is reading from is undefined.
 */
teeliza_err teeliza_set_error(teeliza_err err, const char *fmt, ...)
{
	static _Thread_local char scratch[sizeof(last_msg)];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(scratch, sizeof(scratch), fmt, ap);
	va_end(ap);
	memcpy(last_msg, scratch, sizeof(last_msg));
	return err;
}

void teeliza_clear_error(void)
{
	last_msg[0] = '\0';
}
