/* Bounded growable buffers. */
#include "teeliza/common/common.h"

#include <assert.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

void teeliza_buf_init(teeliza_buf *b, size_t max)
{
	assert(b != NULL);
	memset(b, 0, sizeof(*b));
	b->max = max;
}

teeliza_err teeliza_buf_reserve(teeliza_buf *b, size_t extra)
{
	size_t need, cap;
	uint8_t *p;

	if (extra > b->max || b->len > b->max - extra)
		return teeliza_set_error(TEELIZA_ERR_TOO_LARGE, "data exceeds the limit of %zu bytes", b->max);
	need = b->len + extra + 1; /* room for the NUL */
	if (need <= b->cap)
		return TEELIZA_OK;
	cap = b->cap ? b->cap : 64;
	while (cap < need)
		cap = cap > SIZE_MAX / 2 ? need : cap * 2;
	if (b->secret) {
		/* Never leave a copy of a secret in freed memory. */
		p = malloc(cap);
		if (p == NULL)
			return teeliza_set_error(TEELIZA_ERR_NOMEM, "out of memory");
		if (b->data != NULL) {
			memcpy(p, b->data, b->len);
			teeliza_wipe(b->data, b->cap);
			free(b->data);
		}
	} else {
		p = realloc(b->data, cap);
		if (p == NULL)
			return teeliza_set_error(TEELIZA_ERR_NOMEM, "out of memory");
	}
	b->data = p;
	b->cap = cap;
	return TEELIZA_OK;
}

teeliza_err teeliza_buf_append(teeliza_buf *b, const void *data, size_t len)
{
	teeliza_err err;

	assert(b != NULL && (data != NULL || len == 0));
	err = teeliza_buf_reserve(b, len);
	if (err)
		return err;
	if (len > 0)
		memcpy(b->data + b->len, data, len);
	b->len += len;
	b->data[b->len] = 0;
	return TEELIZA_OK;
}

teeliza_err teeliza_buf_append_str(teeliza_buf *b, const char *s)
{
	return teeliza_buf_append(b, s, strlen(s));
}

teeliza_err teeliza_buf_printf(teeliza_buf *b, const char *fmt, ...)
{
	va_list ap;
	int n;
	teeliza_err err;

	va_start(ap, fmt);
	n = vsnprintf(NULL, 0, fmt, ap);
	va_end(ap);
	if (n < 0)
		return teeliza_set_error(TEELIZA_ERR_INVALID, "bad format string");
	err = teeliza_buf_reserve(b, (size_t)n);
	if (err)
		return err;
	va_start(ap, fmt);
	vsnprintf((char *)b->data + b->len, (size_t)n + 1, fmt, ap);
	va_end(ap);
	b->len += (size_t)n;
	return TEELIZA_OK;
}

void teeliza_buf_reset(teeliza_buf *b)
{
	if (b->data != NULL && b->secret)
		teeliza_wipe(b->data, b->len);
	b->len = 0;
	if (b->data != NULL)
		b->data[0] = 0;
}

void teeliza_buf_free(teeliza_buf *b)
{
	if (b == NULL)
		return;
	if (b->data != NULL && b->secret)
		teeliza_wipe(b->data, b->cap);
	free(b->data);
	b->data = NULL;
	b->len = b->cap = 0;
}
