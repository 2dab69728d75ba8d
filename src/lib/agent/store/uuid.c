/* Eliza's stringToUuid and the id helpers built on it. */
#include "teeliza/agent/uuid.h"

#include <assert.h>
#include <stdarg.h>
#include <inttypes.h>
#include <stdio.h>
#include <string.h>

#include <openssl/evp.h>
#include <openssl/rand.h>

/* The characters encodeURIComponent leaves alone. */
static bool uri_unreserved(unsigned char c)
{
	if ((c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9'))
		return true;
	return c != '\0' && strchr("-_.!~*'()", c) != NULL;
}

static void format_uuid(char out[AGENT_UUID_BUFSZ], const uint8_t b[16])
{
	static const char digits[] = "0123456789abcdef";
	size_t o = 0;

	for (size_t i = 0; i < 16; i++) {
		if (i == 4 || i == 6 || i == 8 || i == 10)
			out[o++] = '-';
		out[o++] = digits[b[i] >> 4];
		out[o++] = digits[b[i] & 0x0f];
	}
	out[o] = '\0';
}

teeliza_err agent_uuid_from_bytes(char out[AGENT_UUID_BUFSZ], const char *s, size_t len)
{
	static const char hexup[] = "0123456789ABCDEF";
	unsigned char chunk[256];
	size_t n = 0;
	uint8_t md[EVP_MAX_MD_SIZE];
	unsigned int md_len = 0;
	EVP_MD_CTX *ctx;
	bool ok;

	assert(out != NULL && (s != NULL || len == 0));
	memset(out, 0, AGENT_UUID_BUFSZ);
	ctx = EVP_MD_CTX_new();
	if (ctx == NULL)
		return teeliza_set_error(TEELIZA_ERR_NOMEM, "cannot allocate a SHA-1 context");
	ok = EVP_DigestInit_ex(ctx, EVP_sha1(), NULL) == 1;
	/* Hash the percent-encoded text in chunks instead of building it whole. */
	for (size_t i = 0; ok && i < len; i++) {
		unsigned char c = (unsigned char)s[i];

		if (uri_unreserved(c)) {
			chunk[n++] = c;
		} else {
			chunk[n++] = '%';
			chunk[n++] = (unsigned char)hexup[c >> 4];
			chunk[n++] = (unsigned char)hexup[c & 0x0f];
		}
		if (n > sizeof(chunk) - 3) {
			ok = EVP_DigestUpdate(ctx, chunk, n) == 1;
			n = 0;
		}
	}
	if (ok && n > 0)
		ok = EVP_DigestUpdate(ctx, chunk, n) == 1;
	if (ok)
		ok = EVP_DigestFinal_ex(ctx, md, &md_len) == 1 && md_len == 20;
	EVP_MD_CTX_free(ctx);
	if (!ok)
		return teeliza_set_error(TEELIZA_ERR_CRYPTO, "SHA-1 failed while computing a UUID");
	/* Eliza's layout: no version nibble, variant bits 10. */
	md[6] &= 0x0f;
	md[8] = (uint8_t)((md[8] & 0x3f) | 0x80);
	format_uuid(out, md);
	return TEELIZA_OK;
}

teeliza_err agent_uuid_from_string(char out[AGENT_UUID_BUFSZ], const char *s)
{
	assert(s != NULL);
	return agent_uuid_from_bytes(out, s, strlen(s));
}

teeliza_err agent_uuid_join(char out[AGENT_UUID_BUFSZ], const char *a, const char *b)
{
	teeliza_buf text;
	teeliza_err err;

	assert(a != NULL && b != NULL);
	memset(out, 0, AGENT_UUID_BUFSZ);
	teeliza_buf_init(&text, (size_t)1 << 20);
	err = teeliza_buf_printf(&text, "%s-%s", a, b);
	if (err == TEELIZA_OK)
		err = agent_uuid_from_bytes(out, (const char *)text.data, text.len);
	else
		teeliza_set_error(err, "UUID input longer than 1 MiB");
	teeliza_buf_free(&text);
	return err;
}

/* stringToUuid over a printf of fmt (request ids: ids and a key of at most 128 bytes fit easily). */
static teeliza_err uuid_printf(char out[AGENT_UUID_BUFSZ], const char *fmt, ...)
{
	char text[1024];
	va_list ap;
	int n;

	memset(out, 0, AGENT_UUID_BUFSZ);
	va_start(ap, fmt);
	n = vsnprintf(text, sizeof(text), fmt, ap);
	va_end(ap);
	if (n < 0 || (size_t)n >= sizeof(text))
		return teeliza_set_error(TEELIZA_ERR_TOO_LARGE, "UUID input longer than %zu bytes", sizeof(text) - 1);
	return agent_uuid_from_bytes(out, text, (size_t)n);
}

teeliza_err agent_uuid_request_ids(char message[AGENT_UUID_BUFSZ], char reply[AGENT_UUID_BUFSZ], const char *agent_id,
                                   const char *room_id, const char *user_id, const char *key)
{
	teeliza_err err;

	assert(agent_id != NULL && room_id != NULL && user_id != NULL && key != NULL);
	err = uuid_printf(message, "%s:%s:%s:%s", agent_id, room_id, user_id, key);
	if (err == TEELIZA_OK)
		err = uuid_printf(reply, "%s:reply", message);
	return err;
}

teeliza_err agent_uuid_request_extra(char out[AGENT_UUID_BUFSZ], const char *message, unsigned n)
{
	assert(message != NULL);
	return uuid_printf(out, "%s:reply:%u", message, n);
}

teeliza_err agent_uuid_from_ms(char out[AGENT_UUID_BUFSZ], int64_t ms)
{
	char text[32];
	int n = snprintf(text, sizeof(text), "%" PRId64, ms);

	assert(n > 0 && (size_t)n < sizeof(text));
	return agent_uuid_from_bytes(out, text, (size_t)n);
}

teeliza_err agent_uuid_user(char out[AGENT_UUID_BUFSZ], const char *user)
{
	return agent_uuid_from_string(out, user != NULL ? user : "user");
}

teeliza_err agent_uuid_room(char out[AGENT_UUID_BUFSZ], const char *room, const char *agent_ref)
{
	if (room != NULL)
		return agent_uuid_from_string(out, room);
	assert(agent_ref != NULL);
	return agent_uuid_join(out, "default-room", agent_ref);
}

bool agent_uuid_is_valid(const char *s)
{
	assert(s != NULL);
	for (size_t i = 0; i < AGENT_UUID_STRLEN; i++) {
		char c = s[i];

		if (i == 8 || i == 13 || i == 18 || i == 23) {
			if (c != '-')
				return false;
		} else if (!((c >= '0' && c <= '9') || (c >= 'a' && c <= 'f') || (c >= 'A' && c <= 'F'))) {
			return false;
		}
	}
	return s[AGENT_UUID_STRLEN] == '\0';
}

teeliza_err agent_uuid_random(char out[AGENT_UUID_BUFSZ])
{
	uint8_t b[16];

	memset(out, 0, AGENT_UUID_BUFSZ);
	if (RAND_bytes(b, (int)sizeof(b)) != 1)
		return teeliza_set_error(TEELIZA_ERR_CRYPTO, "RAND_bytes failed");
	b[6] = (uint8_t)((b[6] & 0x0f) | 0x40);
	b[8] = (uint8_t)((b[8] & 0x3f) | 0x80);
	format_uuid(out, b);
	return TEELIZA_OK;
}
