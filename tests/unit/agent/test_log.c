/*
 * Log lines: the escaping rule (teeliza/common/log.h), the writer, and the agent's
 * log pipeline (agent_log: redaction without a cap, one line per call, the
 * dashboard ring and its after= arithmetic).
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <cmocka.h>

#include "agent/runtime/logring.h"
#include "teeliza/agent/runtime.h"
#include "teeliza/agent/store.h"
#include "teeliza/common/encoding.h"
#include "teeliza/http/http.h"
#include "teeliza/common/log.h"
#include "teeliza/sim/simulator.h"

#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

/* The escaped form of text[0..len), as a malloc'd string. */
static char *escaped(const char *text, size_t len)
{
	teeliza_buf b;
	char *s;

	teeliza_buf_init(&b, (size_t)1 << 24);
	assert_int_equal(teeliza_log_escape(&b, text, len), TEELIZA_OK);
	s = strdup(b.data != NULL ? (const char *)b.data : "");
	assert_non_null(s);
	teeliza_buf_free(&b);
	return s;
}

static void check_escape(const char *text, size_t len, const char *want)
{
	char *got = escaped(text, len);

	if (strcmp(got, want) != 0)
		fail_msg("escaped \"%s\", want \"%s\"", got, want);
	free(got);
}

/* A string literal, NULs included. */
#define CHECK_ESCAPE(lit, want) check_escape(lit, sizeof(lit) - 1, want)

static void test_escape(void **state)
{
	(void)state;
	CHECK_ESCAPE("plain text, a backslash \\ and quotes \"'", "plain text, a backslash \\ and quotes \"'");
	CHECK_ESCAPE("a\nb\rc\td", "a\\nb\\rc\\td");
	CHECK_ESCAPE("\x01\x1b[31mred\x7f", "\\x01\\x1b[31mred\\x7f");
	CHECK_ESCAPE("nul\0in", "nul\\x00in");
	/* Well-formed UTF-8 stays; C1 controls, line separators and bidi overrides do not. */
	CHECK_ESCAPE("caf\xc3\xa9 \xe2\x82\xac \xf0\x9f\x99\x82", "caf\xc3\xa9 \xe2\x82\xac \xf0\x9f\x99\x82");
	CHECK_ESCAPE("\xc2\x85next", "\\u0085next");
	CHECK_ESCAPE("\xc2\x9b" "31m", "\\u009b31m");
	CHECK_ESCAPE("a\xe2\x80\xa8" "b\xe2\x80\xa9" "c", "a\\u2028b\\u2029c");
	CHECK_ESCAPE("\xe2\x80\xae" "txt.exe\xe2\x81\xa6", "\\u202etxt.exe\\u2066");
	/* Every byte of malformed UTF-8 on its own. */
	CHECK_ESCAPE("\xff\xfe", "\\xff\\xfe");
	CHECK_ESCAPE("cut \xe2\x82", "cut \\xe2\\x82");
	CHECK_ESCAPE("\xc0\xaf", "\\xc0\\xaf");                 /* overlong '/' */
	CHECK_ESCAPE("\xed\xa0\x80", "\\xed\\xa0\\x80");        /* a surrogate */
	CHECK_ESCAPE("", "");
}

static void test_line_cut(void **state)
{
	size_t n = TEELIZA_LOG_LINE_MAX + 1000;
	char *text = malloc(n), note[64];
	teeliza_buf b;

	(void)state;
	assert_non_null(text);
	/* Newlines only: the cut must fall between two escapes, never inside one. */
	memset(text, '\n', n);
	teeliza_buf_init(&b, (size_t)1 << 24);
	assert_int_equal(teeliza_log_line(&b, text, n), TEELIZA_OK);
	snprintf(note, sizeof(note), " \xe2\x80\xa6 [%zu bytes]", n);
	assert_true(b.len <= TEELIZA_LOG_LINE_MAX + strlen(note));
	assert_true(b.len > strlen(note));
	assert_string_equal((const char *)b.data + b.len - strlen(note), note);
	assert_memory_equal(b.data + b.len - strlen(note) - 2, "\\n", 2);
	assert_null(memchr(b.data, '\n', b.len));
	teeliza_buf_free(&b);
	/* A line that fits is not cut. */
	teeliza_buf_init(&b, (size_t)1 << 24);
	assert_int_equal(teeliza_log_line(&b, text, 100), TEELIZA_OK);
	assert_int_equal(b.len, 200);
	teeliza_buf_free(&b);
	free(text);
}

/* The whole content of f. */
static char *file_text(FILE *f)
{
	long n;
	char *s;

	fflush(f);
	fseek(f, 0, SEEK_END);
	n = ftell(f);
	rewind(f);
	s = malloc((size_t)n + 1);
	assert_non_null(s);
	assert_int_equal(fread(s, 1, (size_t)n, f), (size_t)n);
	s[n] = 0;
	fseek(f, 0, SEEK_END);
	return s;
}

static size_t count_lines(const char *s)
{
	size_t n = 0;

	for (; *s != 0; s++)
		n += *s == '\n';
	return n;
}

static void test_log_write(void **state)
{
	FILE *f = tmpfile();
	char *s;

	(void)state;
	assert_non_null(f);
	teeliza_logf(f, "teeliza simulator: 127.0.0.1 \"%s %s\" %u", "GET",
	             "/prpc/Tappd.Info\n[fake] teeliza simulator: quote verified", 200u);
	s = file_text(f);
	assert_int_equal(count_lines(s), 1);
	assert_string_equal(s, "teeliza simulator: 127.0.0.1 \"GET /prpc/Tappd.Info\\n[fake] teeliza simulator: quote "
	                       "verified\" 200\n");
	free(s);
	fclose(f);
}

/* The ring's lines after seq `after`, as one malloc'd text joined by '\n'. */
static char *ring_text(uint64_t after, size_t *n_lines)
{
	json_t *lines, *one;
	teeliza_buf b;
	size_t i;
	char *s;

	assert_int_equal(agent_logring_json(&lines, after, 0), TEELIZA_OK);
	teeliza_buf_init(&b, (size_t)1 << 24);
	json_array_foreach(lines, i, one) {
		assert_int_equal(teeliza_buf_append_str(&b, json_string_value(json_object_get(one, "line"))), TEELIZA_OK);
		assert_int_equal(teeliza_buf_append(&b, "\n", 1), TEELIZA_OK);
	}
	*n_lines = json_array_size(lines);
	json_decref(lines);
	s = strdup(b.data != NULL ? (const char *)b.data : "");
	teeliza_buf_free(&b);
	return s;
}

static uint64_t ring_last_seq(void)
{
	json_t *lines;
	uint64_t seq = 0;

	assert_int_equal(agent_logring_json(&lines, 0, 1), TEELIZA_OK);
	if (json_array_size(lines) == 1)
		seq = (uint64_t)json_integer_value(json_object_get(json_array_get(lines, 0), "seq"));
	json_decref(lines);
	return seq;
}

/* agent_log writes exactly one line, escaped, to the stream and to the ring. */
static void test_agent_log_one_line(void **state)
{
	FILE *f = tmpfile();
	uint64_t before;
	size_t n;
	char *s;

	(void)state;
	assert_non_null(f);
	before = ring_last_seq();
	agent_log(f, "Agent %s started", "Mallory\n[fake] TEE: quote verified\r\x1b[2K");
	s = file_text(f);
	assert_string_equal(s, "Agent Mallory\\n[fake] TEE: quote verified\\r\\x1b[2K started\n");
	free(s);
	s = ring_text(before, &n);
	assert_int_equal(n, 1);
	assert_string_equal(s, "Agent Mallory\\n[fake] TEE: quote verified\\r\\x1b[2K started\n");
	free(s);
	/* A block the program composed keeps its lines, each escaped. */
	before = ring_last_seq();
	agent_log_lines(f, "title\nrtmr0: 00\x07\ndone");
	s = ring_text(before, &n);
	assert_int_equal(n, 3);
	assert_string_equal(s, "title\nrtmr0: 00\\x07\ndone\n");
	free(s);
	/* TEE_KEY_SCHEME names no secret, although its name holds KEY. */
	before = ring_last_seq();
	agent_log(f, "wallets (key scheme %s)", "teeliza");
	s = ring_text(before, &n);
	assert_string_equal(s, "wallets (key scheme teeliza)\n");
	free(s);
	fclose(f);
}

/* More secrets than the old fixed table held (64), some inside others: all redacted, on the stream and in the ring. */
static void test_many_secrets(void **state)
{
	enum { N = 300 };
	FILE *f = tmpfile();
	char secret[64];
	uint64_t before;
	size_t n;
	char *s, *r;

	(void)state;
	assert_non_null(f);
	for (int i = 0; i < N; i++) {
		snprintf(secret, sizeof(secret), "many-secret-%04d-value", i);
		agent_logring_add_secret(secret);
	}
	before = ring_last_seq();
	for (int i = 0; i < N; i += 37) {
		snprintf(secret, sizeof(secret), "many-secret-%04d-value", i);
		agent_log(f, "leak %s here", secret);
	}
	/* The last ones registered, long after the 64th. */
	agent_log(f, "leak %s", "many-secret-0299-value");
	s = file_text(f);
	r = ring_text(before, &n);
	assert_null(strstr(s, "many-secret"));
	assert_null(strstr(r, "many-secret"));
	assert_non_null(strstr(s, "leak [redacted] here\n"));
	assert_non_null(strstr(r, "leak [redacted]\n"));
	free(s);
	free(r);
	fclose(f);
}

static void test_overlapping_secrets(void **state)
{
	FILE *f = tmpfile();
	uint64_t before;
	size_t n;
	char *s, *pad;

	(void)state;
	assert_non_null(f);
	/* One secret inside another, registered shorter first; two that overlap. */
	agent_logring_add_secret("inner-4711");
	agent_logring_add_secret("outer-inner-4711-outer");
	agent_logring_add_secret("left-half-XYZW");
	agent_logring_add_secret("XYZW-right-half");
	agent_logring_add_secret("abc"); /* too short to redact */
	before = ring_last_seq();
	agent_log(f, "a outer-inner-4711-outer b inner-4711 c left-half-XYZW-right-half d abc");
	s = ring_text(before, &n);
	assert_string_equal(s, "a [redacted] b [redacted] c [redacted] d abc\n");
	free(s);
	/* A secret across the lines of a block. */
	before = ring_last_seq();
	agent_logring_add_secret("two-line\nsecret");
	agent_log_lines(f, "one two-line\nsecret three");
	s = ring_text(before, &n);
	assert_int_equal(n, 1);
	assert_string_equal(s, "one [redacted] three\n");
	free(s);
	/* A secret where the ring cuts a long line: redaction comes first, so no part of it shows. */
	pad = malloc(AGENT_LOGRING_LINE_MAX);
	assert_non_null(pad);
	memset(pad, 'x', AGENT_LOGRING_LINE_MAX - 6);
	pad[AGENT_LOGRING_LINE_MAX - 6] = 0;
	before = ring_last_seq();
	agent_log(f, "%souter-inner-4711-outer", pad);
	s = ring_text(before, &n);
	assert_null(strstr(s, "outer"));
	assert_null(strstr(s, "4711"));
	assert_non_null(strstr(s, "bytes]"));
	free(s);
	free(pad);
	s = file_text(f);
	assert_null(strstr(s, "4711"));
	assert_null(strstr(s, "XYZW"));
	free(s);
	fclose(f);
}

/* after= at or past the newest line returns nothing; UINT64_MAX must not wrap to "everything". */
static void test_ring_after(void **state)
{
	json_t *lines;
	uint64_t last;

	(void)state;
	agent_log(NULL, "a line for the ring");
	last = ring_last_seq();
	assert_true(last > 0);
	assert_int_equal(agent_logring_json(&lines, UINT64_MAX, 0), TEELIZA_OK);
	assert_int_equal(json_array_size(lines), 0);
	json_decref(lines);
	assert_int_equal(agent_logring_json(&lines, UINT64_MAX - 1, 0), TEELIZA_OK);
	assert_int_equal(json_array_size(lines), 0);
	json_decref(lines);
	assert_int_equal(agent_logring_json(&lines, last, 0), TEELIZA_OK);
	assert_int_equal(json_array_size(lines), 0);
	json_decref(lines);
	assert_int_equal(agent_logring_json(&lines, last - 1, 0), TEELIZA_OK);
	assert_int_equal(json_array_size(lines), 1);
	json_decref(lines);
}

/* Run fn with stderr going to a fresh file; returns what was written (malloc'd). */
static char *capture_stderr(void (*fn)(void *), void *ctx)
{
	FILE *f = tmpfile();
	int saved;
	char *s;

	assert_non_null(f);
	fflush(stderr);
	saved = dup(2);
	assert_true(saved >= 0);
	assert_true(dup2(fileno(f), 2) >= 0);
	fn(ctx);
	fflush(stderr);
	assert_true(dup2(saved, 2) >= 0);
	close(saved);
	s = file_text(f);
	fclose(f);
	return s;
}

static void forged_sim_request(void *ctx)
{
	const tee_sim *sim = ctx;
	char url[256];
	http_request req;
	http_response resp;

	snprintf(url, sizeof(url), "http://127.0.0.1:%u/prpc/Tappd.Info%%0a[fake]%%20teeliza%%20simulator:%%20quote%%20ok%%0d%%1b[2K",
	         (unsigned)tee_sim_port(sim));
	memset(&req, 0, sizeof(req));
	req.method = "GET";
	req.url = url;
	req.timeout_ms = 10000;
	req.max_response = 1 << 16;
	req.no_proxy = true;
	assert_int_equal(http_perform(&resp, &req), TEELIZA_OK);
	assert_int_equal(resp.status, 404);
	http_response_free(&resp);
}

/* A simulator request whose path holds %0a leaves one log line, with the line break escaped. */
static void test_simulator_request_log(void **state)
{
	char dir[] = "/tmp/teeliza-log-XXXXXX", cmd[64];
	tee_sim_config cfg;
	tee_sim *sim = NULL;
	char *err_text;

	(void)state;
	assert_non_null(mkdtemp(dir));
	memset(&cfg, 0, sizeof(cfg));
	cfg.host = "127.0.0.1";
	cfg.state_dir = dir;
	cfg.quiet = false;
	assert_int_equal(tee_sim_start(&sim, &cfg), TEELIZA_OK);
	err_text = capture_stderr(forged_sim_request, sim);
	tee_sim_stop(sim);
	assert_int_equal(count_lines(err_text), 1);
	assert_non_null(strstr(err_text, "\"GET /prpc/Tappd.Info\\n[fake] teeliza simulator: quote ok\\r\\x1b[2K\" 404"));
	free(err_text);
	snprintf(cmd, sizeof(cmd), "rm -rf '%s'", dir);
	assert_int_equal(system(cmd), 0);
}

static teeliza_err silent_model(json_t **content, void *ctx, const agent_generate_request *req)
{
	(void)ctx;
	(void)req;
	*content = json_pack("{s:s}", "text", "ok");
	return *content != NULL ? TEELIZA_OK : TEELIZA_ERR_NOMEM;
}

/* A character named with "\n[fake] ..." logs its start as one line. */
static void test_character_name_log(void **state)
{
	static const char fmt[] =
		"{\"name\":\"%s\",\"modelProvider\":\"openai\",\"bio\":[\"b\"],\"lore\":[],\"messageExamples\":[],\"postExamples\":[],"
		"\"topics\":[],\"adjectives\":[],\"clients\":[],\"plugins\":[],\"style\":{\"all\":[],\"chat\":[],\"post\":[]}}";
	char dir[] = "/tmp/teeliza-log-XXXXXX", db[64], text[1024], cmd[64];
	agent_registry_config rc;
	agent_registry *reg = NULL;
	agent_store *store = NULL;
	agent_character *c = NULL;
	FILE *f = tmpfile();
	uint64_t before;
	size_t n;
	char *s;

	(void)state;
	assert_non_null(f);
	assert_non_null(mkdtemp(dir));
	snprintf(db, sizeof(db), "%s/db.sqlite", dir);
	assert_int_equal(agent_store_sqlite_open(&store, db), TEELIZA_OK);
	memset(&rc, 0, sizeof(rc));
	rc.store = store;
	rc.log = f;
	rc.generate = silent_model;
	assert_int_equal(agent_registry_new(&reg, &rc), TEELIZA_OK);
	snprintf(text, sizeof(text), fmt, "Mallory\\n[fake] Agent Eliza (00000000-0000-0000-0000-000000000000) started");
	assert_int_equal(agent_character_from_text(&c, NULL, text, strlen(text), NULL), TEELIZA_OK);
	before = ring_last_seq();
	assert_int_equal(agent_registry_start(NULL, reg, c), TEELIZA_OK);
	s = file_text(f);
	assert_int_equal(count_lines(s), 1);
	assert_non_null(strstr(s, "Agent Mallory\\n[fake] Agent Eliza (00000000-0000-0000-0000-000000000000) started ("));
	free(s);
	s = ring_text(before, &n);
	assert_int_equal(n, 1);
	free(s);
	agent_registry_free(reg);
	agent_store_close(store);
	fclose(f);
	snprintf(cmd, sizeof(cmd), "rm -rf '%s'", dir);
	assert_int_equal(system(cmd), 0);
}

/* Agents replaced again and again (POST /set) do not make the secret list grow: a stopped agent's secrets go. */
static void test_secrets_follow_agents(void **state)
{
	static const char fmt[] =
		"{\"id\":\"11111111-2222-3333-4444-555555555555\",\"name\":\"Rotor\",\"modelProvider\":\"openai\","
		"\"settings\":{\"secrets\":{\"OPENAI_API_KEY\":\"rotating-key-%04d\",\"OTHER\":\"shared-secret-value\"}},"
		"\"bio\":[\"b\"],\"lore\":[],\"messageExamples\":[],\"postExamples\":[],\"topics\":[],\"adjectives\":[],"
		"\"clients\":[],\"plugins\":[],\"style\":{\"all\":[],\"chat\":[],\"post\":[]}}";
	char dir[] = "/tmp/teeliza-log-XXXXXX", db[64], text[1024], cmd[64];
	agent_registry_config rc;
	agent_registry *reg = NULL;
	agent_store *store = NULL;
	FILE *f = tmpfile();
	size_t base;
	char *s;

	(void)state;
	assert_non_null(f);
	assert_non_null(mkdtemp(dir));
	snprintf(db, sizeof(db), "%s/db.sqlite", dir);
	assert_int_equal(agent_store_sqlite_open(&store, db), TEELIZA_OK);
	memset(&rc, 0, sizeof(rc));
	rc.store = store;
	rc.log = f;
	rc.generate = silent_model;
	assert_int_equal(agent_registry_new(&reg, &rc), TEELIZA_OK);
	agent_log(f, "scan the environment first");
	base = agent_logring_secret_count();
	for (int i = 0; i < 200; i++) {
		agent_character *c = NULL;

		snprintf(text, sizeof(text), fmt, i);
		assert_int_equal(agent_character_from_text(&c, NULL, text, strlen(text), NULL), TEELIZA_OK);
		assert_int_equal(agent_registry_start(NULL, reg, c), TEELIZA_OK);
		assert_int_equal(agent_logring_secret_count(), base + 2);
	}
	/* The running agent's secrets are redacted; the one it replaced is forgotten (and wiped). */
	agent_log(f, "key rotating-key-0199 and shared-secret-value");
	s = file_text(f);
	assert_non_null(strstr(s, "key [redacted] and [redacted]\n"));
	free(s);
	agent_registry_free(reg);
	assert_int_equal(agent_logring_secret_count(), base);
	agent_store_close(store);
	fclose(f);
	snprintf(cmd, sizeof(cmd), "rm -rf '%s'", dir);
	assert_int_equal(system(cmd), 0);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_escape),
		cmocka_unit_test(test_line_cut),
		cmocka_unit_test(test_log_write),
		cmocka_unit_test(test_agent_log_one_line),
		cmocka_unit_test(test_many_secrets),
		cmocka_unit_test(test_overlapping_secrets),
		cmocka_unit_test(test_ring_after),
		cmocka_unit_test(test_simulator_request_log),
		cmocka_unit_test(test_character_name_log),
		cmocka_unit_test(test_secrets_follow_agents),
	};

	/* Before the first log line, which reads the environment once. */
	setenv("TEE_KEY_SCHEME", "teeliza", 1);
	return cmocka_run_group_tests(tests, NULL, NULL);
}
