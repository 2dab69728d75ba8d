/*
 * The generic HTTP server with form parsing on (http_server_config.form):
 * a multipart body reaches the handler as parts, not bytes; a malformed one
 * as form_error; a limit answers 413 from the server; other bodies are
 * collected as before; without the option a multipart body is collected.
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <cmocka.h>

#include "testutil.h"
#include "teeliza/http/http.h"
#include "teeliza/http/form.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* Describes what the handler got: body_len, form_error, and the parts as "T:name=value" / "F:name:filename:size". */
static void handler(http_server_reply *reply, const http_server_request *req, void *ctx)
{
	const http_form_part *p;
	size_t n = 0, i;
	teeliza_err err;

	(void)ctx;
	reply->content_type = "text/plain";
	err = teeliza_buf_printf(&reply->body, "len=%zu error=%s parts=", req->body_len,
	                         req->form_error != NULL ? req->form_error : "-");
	p = req->form != NULL ? http_form_parts(req->form, &n) : NULL;
	for (i = 0; !err && i < n; i++) {
		if (p[i].kind == HTTP_FORM_TEXT)
			err = teeliza_buf_printf(&reply->body, "[T:%s=%s]", p[i].name, p[i].value);
		else
			err = teeliza_buf_printf(&reply->body, "[F:%s:%s:%llu]", p[i].name, p[i].filename,
			                         (unsigned long long)p[i].size);
	}
	if (err)
		reply->status = 500;
}

static http_server *start(const http_form_limits *form)
{
	http_server_config cfg;
	http_server *s = NULL;

	memset(&cfg, 0, sizeof(cfg));
	cfg.host = "127.0.0.1";
	cfg.max_body = 50;
	cfg.form = form;
	cfg.handler = handler;
	if (http_server_start(&s, &cfg) != TEELIZA_OK)
		fail_msg("http_server_start: %s", teeliza_errmsg());
	return s;
}

#define MP "multipart/form-data; boundary=b0undary"
static const char form_body[] = "--b0undary\r\nContent-Disposition: form-data; name=\"text\"\r\n\r\nhello\r\n"
                                "--b0undary\r\nContent-Disposition: form-data; name=\"file\"; filename=\"f.bin\"\r\n"
                                "Content-Type: application/octet-stream\r\n\r\n0123456789\r\n--b0undary--\r\n";

static struct test_resp post(const http_server *s, const char *ctype, const char *body, size_t len)
{
	char base[64];

	snprintf(base, sizeof(base), "http://127.0.0.1:%u", (unsigned)http_server_port(s));
	return test_http_request(base, "POST", "/", ctype, body, len, NULL, 20000);
}

static void test_form_parsed_on_arrival(void **state)
{
	const http_form_limits lim = { .max_parts = 3, .max_files = 1, .max_text = 10, .max_file = 1000,
		                       .max_total = 4000 };
	http_server *s = start(&lim);
	const char *long_text = "--b0undary\r\nContent-Disposition: form-data; name=\"t\"\r\n\r\n12345678901\r\n--b0undary--";
	struct test_resp r;
	char *big;

	(void)state;
	/* bigger than max_body: a multipart body is bound by the form limits only */
	r = post(s, MP, form_body, strlen(form_body));
	assert_int_equal(r.status, 200);
	assert_string_equal(r.body, "len=0 error=- parts=[T:text=hello][F:file:f.bin:10]");
	free(r.body);
	r = post(s, MP, form_body, strlen(form_body) - 4);
	assert_int_equal(r.status, 200);
	assert_string_equal(r.body, "len=0 error=the multipart body ends before its closing delimiter parts=");
	free(r.body);
	r = post(s, "multipart/form-data", form_body, strlen(form_body));
	assert_string_equal(r.body, "len=0 error=multipart body without a boundary parts=");
	free(r.body);
	/* no body at all: no form and no error, as multer skips such a request */
	r = post(s, "multipart/form-data", "", 0);
	assert_string_equal(r.body, "len=0 error=- parts=");
	free(r.body);
	r = post(s, MP, "", 0);
	assert_string_equal(r.body, "len=0 error=- parts=");
	free(r.body);
	/* limits answer 413 without calling the handler */
	r = post(s, MP, long_text, strlen(long_text));
	assert_int_equal(r.status, 413);
	assert_string_equal(r.body, "{\"error\":\"request body too large: the text fields are over the body limit\"}");
	free(r.body);
	big = malloc(5000);
	assert_non_null(big);
	memset(big, 'x', 5000);
	r = post(s, MP, big, 5000);
	assert_int_equal(r.status, 413);
	assert_string_equal(r.body, "{\"error\":\"request body too large\"}");
	free(r.body);
	/* other bodies are collected up to max_body, as before */
	r = post(s, "application/json", big, 50);
	assert_string_equal(r.body, "len=50 error=- parts=");
	free(r.body);
	r = post(s, "application/json", big, 51);
	assert_int_equal(r.status, 413);
	free(r.body);
	free(big);
	http_server_stop(s);
}

static void test_form_off_collects(void **state)
{
	http_server *s = start(NULL);
	struct test_resp r;

	(void)state;
	r = post(s, MP, form_body, 40);
	assert_int_equal(r.status, 200);
	assert_string_equal(r.body, "len=40 error=- parts=");
	free(r.body);
	r = post(s, MP, form_body, strlen(form_body));
	assert_int_equal(r.status, 413);
	free(r.body);
	http_server_stop(s);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_form_parsed_on_arrival),
		cmocka_unit_test(test_form_off_collects),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
