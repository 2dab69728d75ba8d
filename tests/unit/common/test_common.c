/* Errors, buffers, files and hex. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <cmocka.h>

#include "testutil.h"
#include "teeliza/common/common.h"
#include "teeliza/common/encoding.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

static void test_strerror(void **state)
{
	int i;

	(void)state;
	for (i = 0; i < TEELIZA_ERR__COUNT; i++)
		assert_string_not_equal(teeliza_strerror((teeliza_err)i), "unknown error");
	assert_string_equal(teeliza_strerror((teeliza_err)999), "unknown error");
	assert_int_equal(teeliza_set_error(TEELIZA_ERR_CONFIG, "bad %s", "mode"), TEELIZA_ERR_CONFIG);
	assert_string_equal(teeliza_errmsg(), "bad mode");
	teeliza_clear_error();
	assert_string_equal(teeliza_errmsg(), "");
	/* A detail that quotes the previous one (teeliza_errmsg() as an argument). */
	teeliza_set_error(TEELIZA_ERR_IO, "cannot read %s", "key.pem");
	teeliza_set_error(TEELIZA_ERR_CONFIG, "loading the simulator: %s (at start)", teeliza_errmsg());
	assert_string_equal(teeliza_errmsg(), "loading the simulator: cannot read key.pem (at start)");
}

static void test_parse_u64(void **state)
{
	uint64_t v = 7;

	(void)state;
	assert_int_equal(teeliza_parse_u64(&v, "0", 0, 10), TEELIZA_OK);
	assert_int_equal(v, 0);
	assert_int_equal(teeliza_parse_u64(&v, "18446744073709551615", 0, UINT64_MAX), TEELIZA_OK);
	assert_true(v == UINT64_MAX);
	v = 7;
	/* overflow by one, wrap-around values and sign tricks strtoull accepts */
	assert_int_equal(teeliza_parse_u64(&v, "18446744073709551616", 0, UINT64_MAX), TEELIZA_ERR_INVALID);
	assert_int_equal(teeliza_parse_u64(&v, "99999999999999999999999", 0, UINT64_MAX), TEELIZA_ERR_INVALID);
	assert_int_equal(teeliza_parse_u64(&v, "-1", 0, UINT64_MAX), TEELIZA_ERR_INVALID);
	assert_int_equal(teeliza_parse_u64(&v, "+1", 0, UINT64_MAX), TEELIZA_ERR_INVALID);
	assert_int_equal(teeliza_parse_u64(&v, " 1", 0, UINT64_MAX), TEELIZA_ERR_INVALID);
	assert_int_equal(teeliza_parse_u64(&v, "1 ", 0, UINT64_MAX), TEELIZA_ERR_INVALID);
	assert_int_equal(teeliza_parse_u64(&v, "0x10", 0, UINT64_MAX), TEELIZA_ERR_INVALID);
	assert_int_equal(teeliza_parse_u64(&v, "", 0, UINT64_MAX), TEELIZA_ERR_INVALID);
	assert_int_equal(teeliza_parse_u64(&v, "65536", 1, 65535), TEELIZA_ERR_INVALID);
	assert_non_null(strstr(teeliza_errmsg(), "1..65535"));
	assert_int_equal(teeliza_parse_u64(&v, "0", 1, 65535), TEELIZA_ERR_INVALID);
	assert_int_equal(v, 7);
	assert_int_equal(teeliza_parse_u64(&v, "65535", 1, 65535), TEELIZA_OK);
	assert_int_equal(v, 65535);
}

static void test_buf_limit(void **state)
{
	teeliza_buf b;

	(void)state;
	teeliza_buf_init(&b, 10);
	assert_int_equal(teeliza_buf_append_str(&b, "hello"), TEELIZA_OK);
	assert_int_equal(teeliza_buf_printf(&b, "%d", 1234), TEELIZA_OK);
	assert_string_equal((char *)b.data, "hello1234");
	assert_int_equal(teeliza_buf_append_str(&b, "xy"), TEELIZA_ERR_TOO_LARGE);
	assert_int_equal(b.len, 9); /* a failed append leaves the buffer as it was */
	assert_int_equal(teeliza_buf_append_str(&b, "x"), TEELIZA_OK);
	teeliza_buf_free(&b);

	teeliza_buf_init(&b, 1 << 20);
	b.secret = true;
	for (int i = 0; i < 1000; i++)
		assert_int_equal(teeliza_buf_append(&b, "0123456789", 10), TEELIZA_OK);
	assert_int_equal(b.len, 10000);
	assert_memory_equal(b.data + 9990, "0123456789", 10);
	teeliza_buf_free(&b);
}

static void test_hex(void **state)
{
	uint8_t out[8];
	size_t n;
	char enc[17];
	teeliza_buf b;

	(void)state;
	assert_int_equal(teeliza_hex_decode(out, sizeof(out), &n, "0xDEadbeef", 10, true), TEELIZA_OK);
	assert_int_equal(n, 4);
	teeliza_hex_encode(enc, out, n);
	assert_string_equal(enc, "deadbeef");
	assert_int_equal(teeliza_hex_decode(out, sizeof(out), &n, "0xdeadbeef", 10, false), TEELIZA_ERR_INVALID);
	assert_int_equal(teeliza_hex_decode(out, sizeof(out), &n, "abc", 3, true), TEELIZA_ERR_INVALID);
	assert_non_null(strstr(teeliza_errmsg(), "odd-length"));
	assert_int_equal(teeliza_hex_decode(out, sizeof(out), &n, "zz", 2, true), TEELIZA_ERR_INVALID);
	assert_int_equal(teeliza_hex_decode(out, 2, &n, "001122", 6, true), TEELIZA_ERR_TOO_LARGE);
	assert_int_equal(teeliza_hex_decode(out, sizeof(out), &n, "", 0, true), TEELIZA_OK);
	assert_int_equal(n, 0);

	teeliza_buf_init(&b, 4096);
	char big[2001];
	for (int i = 0; i < 2000; i++)
		big[i] = "0123456789abcdef"[i % 16];
	big[2000] = 0;
	assert_int_equal(teeliza_hex_decode_buf(&b, big, 2000, true), TEELIZA_OK);
	assert_int_equal(b.len, 1000);
	assert_int_equal(b.data[999], 0xef);
	teeliza_buf_free(&b);
}

static void test_files(void **state)
{
	char dir[] = "/tmp/teeliza-test-XXXXXX";
	char path[64];
	teeliza_buf b;
	struct stat st;

	(void)state;
	assert_non_null(mkdtemp(dir));
	snprintf(path, sizeof(path), "%s/secret", dir);
	assert_int_equal(teeliza_write_file(path, "abc", 3, 0600), TEELIZA_OK);
	assert_int_equal(stat(path, &st), 0);
	assert_int_equal(st.st_mode & 0777, 0600);
	assert_int_equal(teeliza_read_file(&b, path, 100), TEELIZA_OK);
	assert_string_equal((char *)b.data, "abc");
	teeliza_buf_free(&b);
	assert_int_equal(teeliza_read_file(&b, path, 2), TEELIZA_ERR_TOO_LARGE);
	unlink(path);
	assert_int_equal(teeliza_read_file(&b, path, 100), TEELIZA_ERR_NOT_FOUND);
	assert_int_equal(teeliza_write_file("/nonexistent-dir/x", "a", 1, 0600), TEELIZA_ERR_IO);
	rmdir(dir);
}

/* Expect path refused with err and a message naming it that contains words. */
static void expect_refused(const char *path, size_t max, teeliza_err err, const char *words)
{
	teeliza_buf b;

	assert_int_equal(teeliza_read_regular_file(&b, NULL, path, max), err);
	assert_null(b.data);
	assert_non_null(strstr(teeliza_errmsg(), path));
	assert_non_null(strstr(teeliza_errmsg(), words));
}

static void test_read_regular_file(void **state)
{
	char dir[] = "/tmp/teeliza-test-XXXXXX";
	char path[64], fifo[64], sub[64], link[64], empty[64];
	teeliza_buf b;
	struct stat st, want;

	(void)state;
	/* a FIFO must be refused, not waited on: if it blocks, SIGALRM ends (and fails) the test */
	alarm(20);
	assert_non_null(mkdtemp(dir));
	snprintf(path, sizeof(path), "%s/settings", dir);
	snprintf(fifo, sizeof(fifo), "%s/fifo", dir);
	snprintf(sub, sizeof(sub), "%s/sub", dir);
	snprintf(link, sizeof(link), "%s/link", dir);
	snprintf(empty, sizeof(empty), "%s/empty", dir);
	assert_int_equal(teeliza_write_file(path, "KEY=v\n", 6, 0600), TEELIZA_OK);
	assert_int_equal(teeliza_write_file(empty, "", 0, 0600), TEELIZA_OK);
	assert_int_equal(mkfifo(fifo, 0600), 0);
	assert_int_equal(mkdir(sub, 0700), 0);
	assert_int_equal(symlink(path, link), 0);

	/* a regular file, whole, marked secret, with the stat of the file read; a symlink is followed */
	assert_int_equal(teeliza_read_regular_file(&b, &st, link, 6), TEELIZA_OK);
	assert_int_equal(b.len, 6);
	assert_string_equal((char *)b.data, "KEY=v\n");
	assert_true(b.secret);
	teeliza_buf_free(&b);
	assert_int_equal(stat(path, &want), 0);
	assert_true(st.st_ino == want.st_ino && st.st_dev == want.st_dev);
	assert_true(S_ISREG(st.st_mode));
	/* an empty file is an empty string */
	assert_int_equal(teeliza_read_regular_file(&b, NULL, empty, 6), TEELIZA_OK);
	assert_int_equal(b.len, 0);
	assert_non_null(b.data);
	assert_string_equal((char *)b.data, "");
	teeliza_buf_free(&b);

	expect_refused(path, 5, TEELIZA_ERR_TOO_LARGE, "is larger than 5 bytes");
	expect_refused(fifo, 100, TEELIZA_ERR_IO, "is not a regular file");
	expect_refused(sub, 100, TEELIZA_ERR_IO, "is not a regular file");
	expect_refused("/dev/zero", 100, TEELIZA_ERR_IO, "is not a regular file");
	unlink(path);
	expect_refused(path, 100, TEELIZA_ERR_NOT_FOUND, "No such file");
	/* a dangling symlink is no file either */
	expect_refused(link, 100, TEELIZA_ERR_NOT_FOUND, "No such file");
	alarm(0);
	unlink(link);
	unlink(empty);
	unlink(fifo);
	rmdir(sub);
	rmdir(dir);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_strerror),
		cmocka_unit_test(test_parse_u64),
		cmocka_unit_test(test_buf_limit),
		cmocka_unit_test(test_hex),
		cmocka_unit_test(test_files),
		cmocka_unit_test(test_read_regular_file),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
