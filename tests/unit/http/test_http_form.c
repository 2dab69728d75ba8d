/*
 * The multipart/form-data stream parser (http_form.h): bodies as browsers
 * (FormData) and curl -F send them, busboy's/multer's decoding of names,
 * values and file names, every split of a body giving the same parts, the
 * quirks of libmicrohttpd 0.9.75's post processor that made us not use it
 * (each pinned here as the behaviour we have instead), the limits, and the
 * lossy UTF-8 decoding against WHATWG's rules.
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <cmocka.h>

#include "teeliza/http/form.h"
#include "http/form_internal.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static const http_form_limits big = {
	.max_parts = 100, .max_files = 4, .max_text = 100 * 1024, .max_file = 64u << 20, .max_total = 1u << 30,
};

/* The parts (or the error) as one comparable line: T:name=value | F:name:filename:type:size | E:err:limit:msg */
static void describe(teeliza_buf *out, http_form *f, teeliza_err err)
{
	const http_form_part *p;
	size_t n, i;

	teeliza_buf_init(out, 1 << 24);
	assert_int_equal(teeliza_buf_append(out, "", 0), TEELIZA_OK);
	if (err) {
		assert_int_equal(teeliza_buf_printf(out, "E:%d:%d:%s", (int)err, (int)http_form_limit_hit(f),
		                                    http_form_error(f)),
		                 TEELIZA_OK);
		return;
	}
	p = http_form_parts(f, &n);
	for (i = 0; i < n; i++) {
		if (p[i].kind == HTTP_FORM_TEXT) {
			assert_int_equal(teeliza_buf_printf(out, "T:%s=", p[i].name), TEELIZA_OK);
			assert_int_equal(teeliza_buf_append(out, p[i].value, p[i].value_len), TEELIZA_OK);
		} else {
			assert_int_equal(teeliza_buf_printf(out, "F:%s:", p[i].name), TEELIZA_OK);
			assert_int_equal(teeliza_buf_append(out, p[i].filename, p[i].filename_len), TEELIZA_OK);
			assert_int_equal(teeliza_buf_printf(out, ":%s:%llu", p[i].content_type,
			                                    (unsigned long long)p[i].size),
			                 TEELIZA_OK);
		}
		if (i + 1 < n)
			assert_int_equal(teeliza_buf_append_str(out, "|"), TEELIZA_OK);
	}
}

/* Parse body fed in pieces of at most `step` bytes (0: whole), after a first piece of `first` bytes. */
static char *parse_split(const char *ctype, const void *body, size_t len, const http_form_limits *lim, size_t first,
                         size_t step)
{
	const uint8_t *b = body;
	http_form *f = NULL;
	teeliza_buf out;
	teeliza_err err;
	size_t off = 0, n;

	err = http_form_new(&f, ctype, lim);
	if (err) {
		char *s = malloc(256);

		assert_non_null(s);
		snprintf(s, 256, "NEW:%d:%s", (int)err, teeliza_errmsg());
		return s;
	}
	err = TEELIZA_OK;
	while (!err && off < len) {
		n = off == 0 && first > 0 ? first : (step == 0 ? len - off : step);
		if (n > len - off)
			n = len - off;
		err = http_form_feed(f, b + off, n);
		off += n;
	}
	if (!err)
		err = http_form_finish(f);
	describe(&out, f, err);
	http_form_free(f);
	return (char *)out.data;
}

static char *parse(const char *ctype, const char *body, const http_form_limits *lim)
{
	return parse_split(ctype, body, strlen(body), lim, 0, 0);
}

/* Parse whole, byte by byte and at every two-piece split; all must agree. Returns the description. */
static char *parse_all_splits(const char *ctype, const void *body, size_t len, const http_form_limits *lim)
{
	char *whole = parse_split(ctype, body, len, lim, 0, 0), *other;
	size_t cut;

	other = parse_split(ctype, body, len, lim, 0, 1);
	if (strcmp(whole, other) != 0)
		fail_msg("byte by byte: %s\nwhole: %s", other, whole);
	free(other);
	for (cut = 1; cut < len; cut++) {
		other = parse_split(ctype, body, len, lim, cut, 0);
		if (strcmp(whole, other) != 0)
			fail_msg("split at %zu: %s\nwhole: %s", cut, other, whole);
		free(other);
	}
	return whole;
}

static void expect(const char *ctype, const char *body, const char *want)
{
	char *got = parse_all_splits(ctype, body, strlen(body), &big);

	if (strcmp(got, want) != 0)
		fail_msg("got  %s\nwant %s", got, want);
	free(got);
}

static void expect_error(const char *ctype, const char *body, const http_form_limits *lim, teeliza_err err,
                         http_form_limit limit, const char *msg_part)
{
	char want[64], *got = parse_all_splits(ctype, body, strlen(body), lim);

	snprintf(want, sizeof(want), "E:%d:%d:", (int)err, (int)limit);
	if (strncmp(got, want, strlen(want)) != 0 || strstr(got, msg_part) == NULL)
		fail_msg("got %s, want %s...%s", got, want, msg_part);
	free(got);
}

#define MP "multipart/form-data; boundary=XyZ"

/* What Chrome's FormData sends for Eliza's web client: text, user, and a file. */
static void test_browser_and_curl_bodies(void **state)
{
	const char *chrome =
		"------WebKitFormBoundary7MA4YWxkTrZu0gW\r\n"
		"Content-Disposition: form-data; name=\"text\"\r\n\r\n"
		"what's in this picture?\r\n"
		"------WebKitFormBoundary7MA4YWxkTrZu0gW\r\n"
		"Content-Disposition: form-data; name=\"user\"\r\n\r\n"
		"user\r\n"
		"------WebKitFormBoundary7MA4YWxkTrZu0gW\r\n"
		"Content-Disposition: form-data; name=\"file\"; filename=\"cat.png\"\r\n"
		"Content-Type: image/png\r\n\r\n"
		"\x89PNG\r\n\x1a\n\r\n--\r\n-----\r\n"
		"------WebKitFormBoundary7MA4YWxkTrZu0gW--\r\n";
	const char *curl =
		"--------------------------d74496d66958873e\r\n"
		"Content-Disposition: form-data; name=\"text\"\r\n\r\n"
		"hi\r\n"
		"--------------------------d74496d66958873e\r\n"
		"Content-Disposition: form-data; name=\"file\"; filename=\"notes.txt\"\r\n"
		"Content-Type: text/plain\r\n\r\n"
		"line 1\nline 2\n\r\n"
		"--------------------------d74496d66958873e--\r\n";

	(void)state;
	expect("multipart/form-data; boundary=----WebKitFormBoundary7MA4YWxkTrZu0gW", chrome,
	       "T:text=what's in this picture?|T:user=user|F:file:cat.png:image/png:19");
	expect("multipart/form-data; boundary=------------------------d74496d66958873e", curl,
	       "T:text=hi|F:file:notes.txt:text/plain:14");
	/* a file part without a Content-Type is text/plain, as busboy says */
	expect(MP, "--XyZ\r\nContent-Disposition: form-data; name=\"file\"; filename=\"a\"\r\n\r\nabc\r\n--XyZ--",
	       "F:file:a:text/plain:3");
}

/* Repeated and empty fields are all reported, in order (the REST API turns repeats into arrays). */
static void test_repeats_and_empty_values(void **state)
{
	(void)state;
	expect(MP,
	       "--XyZ\r\nContent-Disposition: form-data; name=\"a\"\r\n\r\n\r\n"
	       "--XyZ\r\nContent-Disposition: form-data; name=\"a\"\r\n\r\nhello\r\n"
	       "--XyZ\r\nContent-Disposition: form-data; name=\"b\"\r\n\r\n\r\n--XyZ--\r\n",
	       "T:a=|T:a=hello|T:b=");
	/* libmicrohttpd reports this one part as an empty part plus a part "a" when split after "he" */
	expect(MP, "--XyZ\r\nContent-Disposition: form-data; name=\"a\"\r\n\r\nhello\r\n--XyZ--\r\n", "T:a=hello");
	/* a value that holds CRLF, "--" and most of the delimiter */
	expect(MP, "--XyZ\r\nContent-Disposition: form-data; name=\"a\"\r\n\r\nx\r\n--Xy\r\n-\r\r\n--XyZ--",
	       "T:a=x\r\n--Xy\r\n-\r");
}

static void test_names_and_values_decoding(void **state)
{
	(void)state;
	/* names: each byte a Latin-1 character, as multer (busboy's defParamCharset) reads them */
	expect(MP, "--XyZ\r\nContent-Disposition: form-data; name=\"t\xc3\xa9xt\"\r\n\r\nv\r\n--XyZ--",
	       "T:t\xc3\x83\xc2\xa9xt=v");
	expect(MP, "--XyZ\r\nContent-Disposition: form-data; name=\"\xff\"\r\n\r\nv\r\n--XyZ--", "T:\xc3\xbf=v");
	/* values: UTF-8, ill-formed bytes replaced; a Latin-1 charset is honoured */
	expect(MP, "--XyZ\r\nContent-Disposition: form-data; name=\"a\"\r\n\r\ncaf\xc3\xa9 \xff!\r\n--XyZ--",
	       "T:a=caf\xc3\xa9 \xef\xbf\xbd!");
	expect(MP,
	       "--XyZ\r\nContent-Disposition: form-data; name=\"a\"\r\nContent-Type: text/plain; charset=ISO-8859-1\r\n\r\n"
	       "caf\xe9\r\n--XyZ--",
	       "T:a=caf\xc3\xa9");
	/* a NUL in a value is kept (JSON can carry it) */
	{
		static const char body[] = "--XyZ\r\nContent-Disposition: form-data; name=\"a\"\r\n\r\nx\0y\r\n--XyZ--";
		char *got = parse_all_splits(MP, body, sizeof(body) - 1, &big);

		assert_int_equal(memcmp(got, "T:a=x\0y", 8), 0);
		free(got);
	}
	/* quoted strings: \" and \\ unescaped, any other backslash kept (busboy) */
	expect(MP, "--XyZ\r\nContent-Disposition: form-data; name=\"a\\\"b\\\\c\\d\"\r\n\r\nv\r\n--XyZ--",
	       "T:a\"b\\c\\d=v");
}

static void test_disposition_syntax(void **state)
{
	(void)state;
	/* what libmicrohttpd loses: no space after the colon or the semicolon, unquoted names, other case */
	expect(MP,
	       "--XyZ\r\nContent-Disposition:form-data;name=\"a\"\r\n\r\n1\r\n"
	       "--XyZ\r\ncontent-disposition: FORM-DATA; NAME=b\r\n\r\n2\r\n"
	       "--XyZ\r\nContent-Disposition: \tform-data ;\tname=c \r\n\r\n3\r\n--XyZ--",
	       "T:a=1|T:b=2|T:c=3");
	/* folded header line */
	expect(MP, "--XyZ\r\nContent-Disposition: form-data;\r\n name=\"a\"\r\n\r\n1\r\n--XyZ--", "T:a=1");
	/* the first Content-Disposition and the first parameter win */
	expect(MP,
	       "--XyZ\r\nContent-Disposition: form-data; name=a; name=b\r\nContent-Disposition: form-data; name=c\r\n\r\n"
	       "1\r\n--XyZ--",
	       "T:a=1");
	/* skipped: no disposition, another type, an unparsable one (trailing ';') */
	expect(MP,
	       "--XyZ\r\nContent-Type: text/plain\r\n\r\n1\r\n"
	       "--XyZ\r\nContent-Disposition: attachment; name=\"a\"\r\n\r\n2\r\n"
	       "--XyZ\r\nContent-Disposition: form-data; name=\"a\";\r\n\r\n3\r\n"
	       "--XyZ\r\nContent-Disposition: form-data; name=\"b\"\r\n\r\n4\r\n--XyZ--",
	       "T:b=4");
	/* a form-data part needs a name (multer: "Field name missing") */
	expect_error(MP, "--XyZ\r\nContent-Disposition: form-data\r\n\r\n1\r\n--XyZ--", &big, TEELIZA_ERR_INVALID,
	             HTTP_FORM_LIMIT_NONE, "no name");
	expect_error(MP, "--XyZ\r\nContent-Disposition: form-data; name=\"\"\r\n\r\n1\r\n--XyZ--", &big,
	             TEELIZA_ERR_INVALID, HTTP_FORM_LIMIT_NONE, "no name");
}

static void test_file_names(void **state)
{
	(void)state;
	/* base name only; filename* wins; UTF-8 names kept; others read as Latin-1 */
	expect(MP,
	       "--XyZ\r\nContent-Disposition: form-data; name=\"f\"; filename=\"../../etc/passwd\"\r\n\r\nx\r\n"
	       "--XyZ\r\nContent-Disposition: form-data; name=\"f\"; filename=\"C:\\\\Users\\\\me\\\\a.png\"\r\n\r\nx\r\n"
	       "--XyZ\r\nContent-Disposition: form-data; name=\"f\"; filename=\"old.txt\"; "
	       "filename*=UTF-8''%e2%82%ac%20rates.txt\r\n\r\nx\r\n"
	       "--XyZ\r\nContent-Disposition: form-data; name=\"f\"; filename=\"r\xc3\xa9sum\xc3\xa9.pdf\"\r\n\r\nx\r\n"
	       "--XyZ--",
	       "F:f:passwd:text/plain:1|F:f:a.png:text/plain:1|F:f:\xe2\x82\xac rates.txt:text/plain:1|"
	       "F:f:r\xc3\xa9sum\xc3\xa9.pdf:text/plain:1");
	expect(MP, "--XyZ\r\nContent-Disposition: form-data; name=\"f\"; filename=\"caf\xe9\"\r\n\r\nx\r\n--XyZ--",
	       "F:f:caf\xc3\xa9:text/plain:1");
	/* skipped as multer skips them: an empty file input, "..", an octet-stream without a file name */
	expect(MP,
	       "--XyZ\r\nContent-Disposition: form-data; name=\"f\"; filename=\"\"\r\n"
	       "Content-Type: application/octet-stream\r\n\r\n\r\n"
	       "--XyZ\r\nContent-Disposition: form-data; name=\"f\"; filename=\"..\"\r\n\r\nx\r\n"
	       "--XyZ\r\nContent-Disposition: form-data; name=\"f\"\r\nContent-Type: Application/Octet-Stream\r\n\r\nx\r\n"
	       "--XyZ\r\nContent-Disposition: form-data; name=\"t\"\r\n\r\nkept\r\n--XyZ--",
	       "T:t=kept");
}

static void test_structure(void **state)
{
	(void)state;
	/* preamble and epilogue are ignored (libmicrohttpd fails the body on an epilogue) */
	expect(MP, "preamble\r\n--XyZ\r\nContent-Disposition: form-data; name=\"a\"\r\n\r\n1\r\n--XyZ--\r\nepilogue",
	       "T:a=1");
	/* no parts at all */
	expect(MP, "--XyZ--\r\n", "");
	/* nested multipart/mixed is a text field holding the nested body (busboy); the next field keeps its name */
	expect(MP,
	       "--XyZ\r\nContent-Disposition: form-data; name=\"files\"\r\nContent-Type: multipart/mixed; boundary=In\r\n\r\n"
	       "--In\r\nContent-Disposition: file; filename=\"a.txt\"\r\n\r\nAAA\r\n--In--\r\n"
	       "--XyZ\r\nContent-Disposition: form-data; name=\"text\"\r\n\r\nhi\r\n--XyZ--\r\n",
	       "T:files=--In\r\nContent-Disposition: file; filename=\"a.txt\"\r\n\r\nAAA\r\n--In--|T:text=hi");
	/* bare LF line ends: no delimiter is ever found, so the body never ends (no field swallows the next) */
	expect_error(MP,
	             "--XyZ\nContent-Disposition: form-data; name=\"a\"\n\nhello\n--XyZ\n"
	             "Content-Disposition: form-data; name=\"b\"\n\nx\n--XyZ--\n",
	             &big, TEELIZA_ERR_INVALID, HTTP_FORM_LIMIT_NONE, "delimiter");
	/* a delimiter followed by anything but CRLF or "--" (busboy silently drops the part) */
	expect_error(MP, "--XyZ\r\nContent-Disposition: form-data; name=\"a\"\r\n\r\n1\r\n--XyZ  \r\n--XyZ--", &big,
	             TEELIZA_ERR_INVALID, HTTP_FORM_LIMIT_NONE, "delimiter");
	expect_error(MP, "--XyZ\r\nContent-Disposition: form-data; name=\"a\"\r\n\r\n1\r\n--XyZ-x", &big,
	             TEELIZA_ERR_INVALID, HTTP_FORM_LIMIT_NONE, "delimiter");
	/* cut off: in a value, in headers, before any delimiter, after "--XyZ-" */
	expect_error(MP, "--XyZ\r\nContent-Disposition: form-data; name=\"a\"\r\n\r\n1", &big, TEELIZA_ERR_INVALID,
	             HTTP_FORM_LIMIT_NONE, "closing delimiter");
	expect_error(MP, "--XyZ\r\nContent-Disposition: form-", &big, TEELIZA_ERR_INVALID, HTTP_FORM_LIMIT_NONE,
	             "closing delimiter");
	expect_error(MP, "hello world", &big, TEELIZA_ERR_INVALID, HTTP_FORM_LIMIT_NONE, "closing delimiter");
	expect_error(MP, "--XyZ-", &big, TEELIZA_ERR_INVALID, HTTP_FORM_LIMIT_NONE, "closing delimiter");
	/* no body at all is an empty form (multer skips the request) */
	expect(MP, "", "");
	/* headers: none, no colon, a bare CR, over 16 KiB */
	expect_error(MP, "--XyZ\r\n\r\n1\r\n--XyZ--", &big, TEELIZA_ERR_INVALID, HTTP_FORM_LIMIT_NONE, "header");
	expect_error(MP, "--XyZ\r\nContent-Disposition form-data\r\n\r\n1\r\n--XyZ--", &big, TEELIZA_ERR_INVALID,
	             HTTP_FORM_LIMIT_NONE, "header");
	expect_error(MP, "--XyZ\r\nContent-Disposition: form-data;\r name=a\r\n\r\n1\r\n--XyZ--", &big,
	             TEELIZA_ERR_INVALID, HTTP_FORM_LIMIT_NONE, "header");
	{
		char *body = malloc(HTTP_FORM_MAX_HEADER + 100), *got;

		assert_non_null(body);
		strcpy(body, "--XyZ\r\nX: ");
		memset(body + 10, 'a', HTTP_FORM_MAX_HEADER);
		strcpy(body + 10 + HTTP_FORM_MAX_HEADER, "\r\n\r\n1\r\n--XyZ--");
		got = parse_split(MP, body, strlen(body), &big, 0, 0);
		assert_non_null(strstr(got, "over 16384 bytes"));
		free(got);
		got = parse_split(MP, body, strlen(body), &big, 0, 7);
		assert_non_null(strstr(got, "over 16384 bytes"));
		free(got);
		free(body);
	}
}

static void test_content_types(void **state)
{
	const char *body = "--a\"b\r\nContent-Disposition: form-data; name=\"x\"\r\n\r\n1\r\n--a\"b--";
	char *got;

	(void)state;
	/* a boundary followed by another parameter (libmicrohttpd: silently no fields), quoted, any case */
	expect("multipart/form-data; boundary=XyZ; charset=utf-8",
	       "--XyZ\r\nContent-Disposition: form-data; name=\"a\"\r\n\r\n1\r\n--XyZ--", "T:a=1");
	expect("Multipart/Form-Data; BOUNDARY=\"XyZ\"", "--XyZ\r\nContent-Disposition: form-data; name=\"a\"\r\n\r\n1\r\n--XyZ--",
	       "T:a=1");
	got = parse("multipart/form-data; boundary=\"a\\\"b\"", body, &big);
	assert_string_equal(got, "T:x=1");
	free(got);
	/* refused at the start */
	got = parse("multipart/form-data", "", &big);
	assert_non_null(strstr(got, "without a boundary"));
	free(got);
	got = parse("multipart/form-data; boundary=", "", &big);
	assert_non_null(strstr(got, "malformed"));
	free(got);
	got = parse("multipart/form-data; boundary=XyZ;", "", &big);
	assert_non_null(strstr(got, "malformed"));
	free(got);
	got = parse("multipart/form-data; boundary=\"\"", "", &big);
	assert_non_null(strstr(got, "1..200"));
	free(got);
	got = parse("multipart/mixed; boundary=XyZ", "", &big);
	assert_non_null(strstr(got, "not a multipart/form-data"));
	free(got);
	got = parse("multipart/form-data; boundary=\"\xc3\xa9\"", "", &big);
	assert_non_null(strstr(got, "printable ASCII"));
	free(got);
}

static void test_limits(void **state)
{
	http_form_limits lim = { .max_parts = 3, .max_files = 1, .max_text = 10, .max_file = 5, .max_total = 1000 };
	char *got;
	static const char at_limits[] =
		"--XyZ\r\nContent-Disposition: form-data; name=\"a\"\r\n\r\n12345\r\n"
		"--XyZ\r\nContent-Disposition: form-data; name=\"b\"\r\n\r\n12345\r\n"
		"--XyZ\r\nContent-Disposition: form-data; name=\"f\"; filename=\"x\"\r\n\r\n12345\r\n--XyZ--";
	static const char two_files[] =
		"--XyZ\r\nContent-Disposition: form-data; name=\"file\"; filename=\"a\"\r\n\r\n12345\r\n"
		"--XyZ\r\nContent-Disposition: form-data; name=\"file\"; filename=\"b\"\r\n\r\n1\r\n--XyZ--";

	(void)state;
	/* exactly at the limits */
	got = parse_all_splits(MP, at_limits, strlen(at_limits), &lim);
	assert_string_equal(got, "T:a=12345|T:b=12345|F:f:x:text/plain:5");
	free(got);
	expect_error(MP,
	             "--XyZ\r\nContent-Disposition: form-data; name=\"a\"\r\n\r\n12345\r\n"
	             "--XyZ\r\nContent-Disposition: form-data; name=\"b\"\r\n\r\n123456\r\n--XyZ--",
	             &lim, TEELIZA_ERR_TOO_LARGE, HTTP_FORM_LIMIT_TEXT, "over 10 bytes");
	expect_error(MP, "--XyZ\r\nContent-Disposition: form-data; name=\"f\"; filename=\"x\"\r\n\r\n123456\r\n--XyZ--",
	             &lim, TEELIZA_ERR_TOO_LARGE, HTTP_FORM_LIMIT_FILE, "over 5 bytes");
	/* skipped parts count against the file size too */
	expect_error(MP, "--XyZ\r\nX-Y: z\r\n\r\n123456\r\n--XyZ--", &lim, TEELIZA_ERR_TOO_LARGE, HTTP_FORM_LIMIT_FILE,
	             "over 5 bytes");
	expect_error(MP, two_files, &lim, TEELIZA_ERR_TOO_LARGE, HTTP_FORM_LIMIT_FILES, "more than 1 file");
	expect_error(MP,
	             "--XyZ\r\nX: 1\r\n\r\n\r\n--XyZ\r\nX: 1\r\n\r\n\r\n--XyZ\r\nX: 1\r\n\r\n\r\n--XyZ\r\nX: 1\r\n\r\n\r\n--XyZ--",
	             &lim, TEELIZA_ERR_TOO_LARGE, HTTP_FORM_LIMIT_PARTS, "more than 3 parts");
	lim.max_total = 40;
	expect_error(MP, two_files, &lim, TEELIZA_ERR_TOO_LARGE, HTTP_FORM_LIMIT_TOTAL, "over 40 bytes");
	/* a malformed part before the total is reached fails as malformed, however it is split */
	expect_error(MP, "--XyZ\r\n\r\n................................................", &lim, TEELIZA_ERR_INVALID,
	             HTTP_FORM_LIMIT_NONE, "header");
}

/* Errors are sticky: later feeds and finish return the first error. */
static void test_sticky_errors(void **state)
{
	http_form *f;

	(void)state;
	assert_int_equal(http_form_new(&f, MP, &big), TEELIZA_OK);
	assert_int_equal(http_form_feed(f, (const uint8_t *)"--XyZ\r\n\r\n", 9), TEELIZA_ERR_INVALID);
	assert_int_equal(http_form_feed(f, (const uint8_t *)"--XyZ--", 7), TEELIZA_ERR_INVALID);
	assert_int_equal(http_form_finish(f), TEELIZA_ERR_INVALID);
	assert_non_null(strstr(http_form_error(f), "header"));
	assert_non_null(strstr(teeliza_errmsg(), "header"));
	http_form_free(f);
	http_form_free(NULL);
}

/* A 50 MiB file streamed through: counted, never stored. */
static void test_large_file(void **state)
{
	static uint8_t chunk[65536];
	const char *head = "--XyZ\r\nContent-Disposition: form-data; name=\"file\"; filename=\"big.bin\"\r\n\r\n";
	const char *tail = "\r\n--XyZ\r\nContent-Disposition: form-data; name=\"text\"\r\n\r\nhi\r\n--XyZ--\r\n";
	const http_form_part *p;
	http_form *f;
	size_t i, n;

	(void)state;
	memset(chunk, '\r', sizeof(chunk)); /* every byte starts a delimiter candidate */
	assert_int_equal(http_form_new(&f, MP, &big), TEELIZA_OK);
	assert_int_equal(http_form_feed(f, (const uint8_t *)head, strlen(head)), TEELIZA_OK);
	for (i = 0; i < 800; i++)
		assert_int_equal(http_form_feed(f, chunk, sizeof(chunk)), TEELIZA_OK);
	assert_int_equal(http_form_feed(f, (const uint8_t *)tail, strlen(tail)), TEELIZA_OK);
	assert_int_equal(http_form_finish(f), TEELIZA_OK);
	p = http_form_parts(f, &n);
	assert_int_equal(n, 2);
	assert_int_equal(p[0].kind, HTTP_FORM_FILE);
	assert_int_equal(p[0].size, (uint64_t)800 * sizeof(chunk));
	assert_string_equal(p[1].value, "hi");
	assert_int_equal(http_form_bytes(f), strlen(head) + 800 * sizeof(chunk) + strlen(tail));
	http_form_free(f);
}

static void expect_lossy(const char *in, size_t len, const char *want)
{
	teeliza_buf out;

	teeliza_buf_init(&out, 1024);
	assert_int_equal(http_utf8_append_lossy(&out, (const uint8_t *)in, len), TEELIZA_OK);
	if (out.len != strlen(want) || memcmp(out.data, want, out.len) != 0)
		fail_msg("lossy(%zu bytes) = %s, want %s", len, out.data, want);
	teeliza_buf_free(&out);
}

#define FFFD "\xef\xbf\xbd"

/* The WHATWG/Unicode "maximal subpart" replacement, as Node's Buffer#toString does it. */
static void test_utf8_lossy(void **state)
{
	teeliza_buf out;

	(void)state;
	expect_lossy("a\xc3\xa9\xe2\x82\xac\xf0\x9f\x98\x80", 10, "a\xc3\xa9\xe2\x82\xac\xf0\x9f\x98\x80");
	expect_lossy("\xf0\x80\x80", 3, FFFD FFFD FFFD);       /* overlong 4-byte lead */
	expect_lossy("\xe2\x82", 2, FFFD);                      /* truncated */
	expect_lossy("\xe2\x82x", 3, FFFD "x");
	expect_lossy("\xed\xa0\x80", 3, FFFD FFFD FFFD);       /* surrogate */
	expect_lossy("\xc0\xaf", 2, FFFD FFFD);                 /* overlong */
	expect_lossy("\xf4\x90\x80\x80", 4, FFFD FFFD FFFD FFFD); /* past U+10FFFF */
	expect_lossy("\xf1\x80\x80\xe1\x80\xc2", 6, FFFD FFFD FFFD);
	expect_lossy("\x80\xbf\xfe\xff", 4, FFFD FFFD FFFD FFFD);
	teeliza_buf_init(&out, 64);
	assert_int_equal(http_latin1_append(&out, (const uint8_t *)"a\xe9\xff\x80", 4), TEELIZA_OK);
	assert_string_equal(out.data, "a\xc3\xa9\xc3\xbf\xc2\x80");
	teeliza_buf_free(&out);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_browser_and_curl_bodies),
		cmocka_unit_test(test_repeats_and_empty_values),
		cmocka_unit_test(test_names_and_values_decoding),
		cmocka_unit_test(test_disposition_syntax),
		cmocka_unit_test(test_file_names),
		cmocka_unit_test(test_structure),
		cmocka_unit_test(test_content_types),
		cmocka_unit_test(test_limits),
		cmocka_unit_test(test_sticky_errors),
		cmocka_unit_test(test_large_file),
		cmocka_unit_test(test_utf8_lossy),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
