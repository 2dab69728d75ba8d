#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <cmocka.h>

#include "testutil.h"
#include "teeliza/common/common.h"
#include "teeliza/common/encoding.h"
#include "teeliza/http/http.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>

const char *vector_path(const char *name)
{
	static char path[4096];

	snprintf(path, sizeof(path), "%s/%s", TEELIZA_VECTORS, name);
	return path;
}

uint8_t *vector_read(const char *name, size_t *len)
{
	teeliza_buf b;

	if (teeliza_read_file(&b, vector_path(name), 64u << 20) != TEELIZA_OK)
		fail_msg("cannot read vector %s: %s", name, teeliza_errmsg());
	*len = b.len;
	return b.data;
}

json_t *vector_json(const char *name)
{
	json_error_t e;
	json_t *j = json_load_file(vector_path(name), 0, &e);

	if (j == NULL)
		fail_msg("cannot parse vector %s: %s", name, e.text);
	return j;
}

uint8_t *hex_alloc(const char *hex, size_t *len)
{
	teeliza_buf b;

	teeliza_buf_init(&b, 1u << 26);
	if (teeliza_hex_decode_buf(&b, hex, strlen(hex), true) != TEELIZA_OK)
		fail_msg("bad hex in test data: %s", teeliza_errmsg());
	*len = b.len;
	return b.data;
}

void assert_hex_equal(const uint8_t *buf, size_t len, const char *hex)
{
	char *got = malloc(2 * len + 1);

	assert_non_null(got);
	teeliza_hex_encode(got, buf, len);
	if (strncmp(hex, "0x", 2) == 0)
		hex += 2;
	assert_string_equal(got, hex);
	free(got);
}

int run_capture(const char *cmd, char **out)
{
	FILE *p = popen(cmd, "r");
	teeliza_buf b;
	char chunk[4096];
	size_t n;
	int st;

	assert_non_null(p);
	teeliza_buf_init(&b, 1u << 26);
	while ((n = fread(chunk, 1, sizeof(chunk), p)) > 0)
		assert_int_equal(teeliza_buf_append(&b, chunk, n), TEELIZA_OK);
	assert_int_equal(teeliza_buf_append(&b, "", 0), TEELIZA_OK);
	st = pclose(p);
	if (out)
		*out = (char *)b.data;
	else
		teeliza_buf_free(&b);
	return WIFEXITED(st) ? WEXITSTATUS(st) : -1;
}

struct test_resp test_http_request(const char *base, const char *method, const char *path, const char *ctype,
                                   const void *body, size_t body_len, const char *auth, long timeout_ms)
{
	char url[1024], hdr[256];
	const char *headers[2] = {NULL, NULL};
	http_request req;
	http_response resp;
	struct test_resp r;

	snprintf(url, sizeof(url), "%s%s", base, path);
	memset(&req, 0, sizeof(req));
	req.method = method;
	req.url = url;
	req.content_type = ctype;
	req.body = body;
	req.body_len = body_len;
	req.no_proxy = true;
	req.timeout_ms = timeout_ms;
	if (auth != NULL) {
		snprintf(hdr, sizeof(hdr), "Authorization: %s", auth);
		headers[0] = hdr;
		req.headers = headers;
	}
	if (http_perform(&resp, &req) != TEELIZA_OK)
		fail_msg("%s %s: %s", method, path, teeliza_errmsg());
	memset(&r, 0, sizeof(r));
	r.status = resp.status;
	snprintf(r.ctype, sizeof(r.ctype), "%s", resp.content_type);
	r.len = resp.body.len;
	r.body = malloc(r.len + 1);
	assert_non_null(r.body);
	if (r.len > 0)
		memcpy(r.body, resp.body.data, r.len);
	r.body[r.len] = 0;
	http_response_free(&resp);
	return r;
}
