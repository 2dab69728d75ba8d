/*
 * teeliza_env_take and agent_take_env_salt: after the salt is taken,
 * neither getenv nor /proc/self/environ (the environment the process was
 * started with) holds it. Only a process started with the variable shows it
 * in /proc/self/environ, so each check runs in a child started by execve
 * with the environment under test.
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <cmocka.h>

#include "agent/runtime/logring.h"
#include "teeliza/agent/tee_plugin.h"
#include "teeliza/common/common.h"

#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#define SALT "proc-environ-salt-8c1f2e"
#define SECOND "second-copy-of-the-salt-77"

/* The whole of /proc/self/environ (NUL-separated), as a buffer; *len its length. */
static char *read_environ(size_t *len)
{
	teeliza_buf b;
	char *copy;

	if (teeliza_read_file(&b, "/proc/self/environ", (size_t)1 << 20) != TEELIZA_OK)
		return NULL;
	copy = malloc(b.len + 1);
	if (copy != NULL) {
		memcpy(copy, b.data != NULL ? b.data : (const uint8_t *)"", b.len);
		copy[b.len] = 0;
	}
	*len = b.len;
	teeliza_buf_free(&b);
	return copy;
}

static bool environ_has(const char *needle)
{
	size_t len = 0;
	char *env = read_environ(&len);
	bool found;

	if (env == NULL)
		return true; /* unreadable counts as a failure */
	found = memmem(env, len, needle, strlen(needle)) != NULL;
	free(env);
	return found;
}

#define CHILD_CHECK(cond)                                                                 \
	do {                                                                              \
		if (!(cond)) {                                                            \
			fprintf(stderr, "child: %s:%d: %s\n", __FILE__, __LINE__, #cond); \
			return 1;                                                         \
		}                                                                         \
	} while (0)

/* In the child: the salt is in /proc/self/environ twice, then taken. */
static int child_take(void)
{
	teeliza_buf b;

	CHILD_CHECK(environ_has(SALT));
	CHILD_CHECK(environ_has(SECOND));
	CHILD_CHECK(teeliza_env_take(&b, 4096, "WALLET_SECRET_SALT") == TEELIZA_OK);
	CHILD_CHECK(b.len == strlen(SALT) && memcmp(b.data, SALT, b.len) == 0);
	CHILD_CHECK(b.secret);
	teeliza_buf_free(&b);
	CHILD_CHECK(getenv("WALLET_SECRET_SALT") == NULL);
	CHILD_CHECK(!environ_has(SALT));
	CHILD_CHECK(!environ_has(SECOND));
	/* The rest of the environment is untouched. */
	CHILD_CHECK(environ_has("OTHER_SETTING=stays"));
	CHILD_CHECK(getenv("OTHER_SETTING") != NULL && strcmp(getenv("OTHER_SETTING"), "stays") == 0);
	/* Gone is gone: a second take finds nothing. */
	CHILD_CHECK(teeliza_env_take(&b, 4096, "WALLET_SECRET_SALT") == TEELIZA_ERR_NOT_FOUND);
	teeliza_buf_free(&b);
	return 0;
}

/* In the child: start-up's agent_take_env_salt, then the agents' view of it. */
static int child_agent(void)
{
	agent_tee_config tc;
	teeliza_buf red;

	CHILD_CHECK(environ_has(SALT));
	CHILD_CHECK(agent_env_salt() == NULL);
	CHILD_CHECK(agent_take_env_salt() == TEELIZA_OK);
	CHILD_CHECK(!environ_has(SALT));
	CHILD_CHECK(getenv("WALLET_SECRET_SALT") == NULL);
	CHILD_CHECK(agent_env_salt() != NULL && strcmp(agent_env_salt(), SALT) == 0);
	/* A character without a salt of its own gets it. */
	memset(&tc, 0, sizeof(tc));
	{
		static const char text[] =
			"{\"name\":\"S\",\"modelProvider\":\"openai\",\"bio\":[\"b\"],\"lore\":[],\"messageExamples\":[],"
			"\"postExamples\":[],\"topics\":[],\"adjectives\":[],\"clients\":[],\"plugins\":[],"
			"\"style\":{\"all\":[],\"chat\":[],\"post\":[]}}";
		agent_character *c = NULL;

		CHILD_CHECK(agent_character_from_text(&c, NULL, text, strlen(text), NULL) == TEELIZA_OK);
		agent_tee_config_for_character(&tc, c);
		CHILD_CHECK(tc.salt != NULL && strcmp(tc.salt, SALT) == 0);
		agent_character_free(c);
	}
	/* It is registered for redaction although the environment no longer names it. */
	CHILD_CHECK(agent_logring_redact(&red, "the salt " SALT " leaked", strlen("the salt " SALT " leaked")) ==
	            TEELIZA_OK);
	CHILD_CHECK(strstr((const char *)red.data, SALT) == NULL);
	teeliza_buf_free(&red);
	return 0;
}

/* Run this test program again as a child in mode, with the salt twice in its starting environment. */
static void run_child(const char *mode)
{
	char mode_var[64];
	char *const child_env[] = { "WALLET_SECRET_SALT=" SALT, "OTHER_SETTING=stays", mode_var,
		                    "WALLET_SECRET_SALT=" SECOND, NULL };
	char *const child_argv[] = { "test_env_secret", NULL };
	int status = -1;
	pid_t pid;

	snprintf(mode_var, sizeof(mode_var), "TEELIZA_TEST_CHILD=%s", mode);
	pid = fork();
	assert_true(pid >= 0);
	if (pid == 0) {
		execve("/proc/self/exe", child_argv, child_env);
		_exit(127);
	}
	assert_int_equal(waitpid(pid, &status, 0), pid);
	assert_true(WIFEXITED(status));
	assert_int_equal(WEXITSTATUS(status), 0);
}

static void test_env_take(void **state)
{
	(void)state;
	run_child("take");
}

static void test_agent_take_env_salt(void **state)
{
	(void)state;
	run_child("agent");
}

/* In this process (no /proc check): unset and empty values. */
static void test_env_take_unset(void **state)
{
	teeliza_buf b;

	(void)state;
	unsetenv("TEELIZA_TEST_NOT_SET");
	assert_int_equal(teeliza_env_take(&b, 16, "TEELIZA_TEST_NOT_SET"), TEELIZA_ERR_NOT_FOUND);
	teeliza_buf_free(&b);
	setenv("TEELIZA_TEST_EMPTY", "", 1);
	assert_int_equal(teeliza_env_take(&b, 16, "TEELIZA_TEST_EMPTY"), TEELIZA_ERR_NOT_FOUND);
	assert_null(getenv("TEELIZA_TEST_EMPTY"));
	teeliza_buf_free(&b);
	setenv("TEELIZA_TEST_LONG", "0123456789abcdefX", 1);
	assert_int_equal(teeliza_env_take(&b, 16, "TEELIZA_TEST_LONG"), TEELIZA_ERR_TOO_LARGE);
	teeliza_buf_free(&b);
	unsetenv("TEELIZA_TEST_LONG");
}

int main(void)
{
	const char *mode = getenv("TEELIZA_TEST_CHILD");
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_env_take),
		cmocka_unit_test(test_agent_take_env_salt),
		cmocka_unit_test(test_env_take_unset),
	};

	if (mode != NULL && strcmp(mode, "take") == 0)
		return child_take();
	if (mode != NULL && strcmp(mode, "agent") == 0)
		return child_agent();
	return cmocka_run_group_tests(tests, NULL, NULL);
}
