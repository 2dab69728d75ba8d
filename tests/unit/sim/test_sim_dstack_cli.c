/*
 * `teeliza simulator`'s dstack flags, run as the real binary: both sockets
 * and TCP at once with --dev-key (GetKey gives spec §1.9's answer, the
 * start-up lines name the app id and the KMS root), --compose / --app-id /
 * --refuse-emit-event on a dstack socket alone, and the usage and
 * configuration errors with their exit codes.
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <cmocka.h>

#include "testutil.h"
#include "teeliza/common/common.h"

#include <curl/curl.h>
#include <fcntl.h>
#include <ftw.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

static char tmp_dir[64];

static int rm_entry(const char *path, const struct stat *st, int flag, struct FTW *ftw)
{
	(void)st;
	(void)flag;
	(void)ftw;
	return remove(path);
}

static int setup(void **state)
{
	(void)state;
	signal(SIGPIPE, SIG_IGN);
	curl_global_init(CURL_GLOBAL_DEFAULT);
	snprintf(tmp_dir, sizeof(tmp_dir), "/tmp/teeliza-simdcli-XXXXXX");
	assert_non_null(mkdtemp(tmp_dir));
	return 0;
}

static int teardown(void **state)
{
	(void)state;
	nftw(tmp_dir, rm_entry, 16, FTW_DEPTH | FTW_PHYS);
	curl_global_cleanup();
	return 0;
}

static size_t collect(char *data, size_t size, size_t nmemb, void *ud)
{
	char **body = ud;
	size_t n = size * nmemb, old = *body != NULL ? strlen(*body) : 0;
	char *p = realloc(*body, old + n + 1);

	if (p == NULL)
		return 0;
	memcpy(p + old, data, n);
	p[old + n] = 0;
	*body = p;
	return n;
}

/* POST (body != NULL) or GET url over unix_path; returns the status, *body the answer (caller frees). */
static long request(char **body, const char *url, const char *unix_path, const char *payload)
{
	CURL *c = curl_easy_init();
	struct curl_slist *h = curl_slist_append(NULL, "Content-Type: application/json");
	long status = 0;

	*body = NULL;
	assert_non_null(c);
	curl_easy_setopt(c, CURLOPT_URL, url);
	curl_easy_setopt(c, CURLOPT_NOPROXY, "*");
	curl_easy_setopt(c, CURLOPT_TIMEOUT_MS, 30000L);
	curl_easy_setopt(c, CURLOPT_WRITEFUNCTION, collect);
	curl_easy_setopt(c, CURLOPT_WRITEDATA, body);
	curl_easy_setopt(c, CURLOPT_HTTPHEADER, h);
	if (unix_path != NULL)
		curl_easy_setopt(c, CURLOPT_UNIX_SOCKET_PATH, unix_path);
	if (payload != NULL)
		curl_easy_setopt(c, CURLOPT_POSTFIELDS, payload);
	assert_int_equal(curl_easy_perform(c), CURLE_OK);
	curl_easy_getinfo(c, CURLINFO_RESPONSE_CODE, &status);
	curl_slist_free_all(h);
	curl_easy_cleanup(c);
	return status;
}

/* Start the binary with args (NULL-terminated), stderr to err_path; stdout readable through *out. */
static pid_t spawn(FILE **out, const char *err_path, char *const args[])
{
	int fds[2], err;
	pid_t pid;

	assert_int_equal(pipe(fds), 0);
	pid = fork();
	assert_true(pid >= 0);
	if (pid == 0) {
		err = open(err_path, O_WRONLY | O_CREAT | O_TRUNC, 0600);
		dup2(fds[1], 1);
		if (err >= 0)
			dup2(err, 2);
		close(fds[0]);
		close(fds[1]);
		execv(TEELIZA_BINARY, args);
		_exit(127);
	}
	close(fds[1]);
	*out = fdopen(fds[0], "r");
	assert_non_null(*out);
	return pid;
}

static void wait_for(const char *path)
{
	struct stat st;
	int i;

	for (i = 0; i < 200 && stat(path, &st) != 0; i++)
		usleep(25000);
	assert_int_equal(stat(path, &st), 0);
}

static void stop(pid_t pid, FILE *out)
{
	int status = -1, i;

	assert_int_equal(kill(pid, SIGTERM), 0);
	for (i = 0; i < 100 && waitpid(pid, &status, WNOHANG) == 0; i++)
		usleep(50000);
	if (i == 100) {
		kill(pid, SIGKILL);
		waitpid(pid, &status, 0);
		fail_msg("teeliza simulator did not stop on SIGTERM");
	}
	fclose(out);
	assert_true(WIFEXITED(status));
	assert_int_equal(WEXITSTATUS(status), 0);
}

static char *read_text(const char *path)
{
	teeliza_buf b;

	assert_int_equal(teeliza_read_file(&b, path, 1 << 20), TEELIZA_OK);
	return (char *)b.data;
}

static void test_both_sockets_and_tcp(void **state)
{
	char st_dir[128], dsock[128], tsock[128], err_path[128], line[64], url[128], *body, *err;
	char *args[] = {"teeliza", "simulator", "--port", "0", "--dev-key", "--dstack-socket", dsock, "--tappd-socket",
	                tsock, "--state-dir", st_dir, NULL};
	struct stat st;
	FILE *out;
	pid_t pid;

	(void)state;
	snprintf(st_dir, sizeof(st_dir), "%s/state1", tmp_dir);
	snprintf(dsock, sizeof(dsock), "%s/dstack.sock", tmp_dir);
	snprintf(tsock, sizeof(tsock), "%s/tappd.sock", tmp_dir);
	snprintf(err_path, sizeof(err_path), "%s/err1", tmp_dir);
	pid = spawn(&out, err_path, args);
	assert_non_null(fgets(line, sizeof(line), out));
	assert_int_equal(strncmp(line, "port ", 5), 0);
	snprintf(url, sizeof(url), "http://127.0.0.1:%lu/GetKey", strtoul(line + 5, NULL, 10));
	/* §1.9 on the dstack socket and over TCP */
	assert_int_equal(request(&body, "http://localhost/GetKey", dsock, "{\"path\":\"wallet/eth\",\"purpose\":\"signing\"}"),
	                 200);
	assert_non_null(strstr(body, "\"key\":\"65cca2e2dcbe516145cc7bcbfea6fab9d7f430d6ea66cd1775f37142c25dfa40\""));
	free(body);
	assert_int_equal(request(&body, url, NULL, "{\"path\":\"wallet/eth\",\"purpose\":\"signing\"}"), 200);
	assert_non_null(strstr(body, "65cca2e2dcbe516145cc7bcbfea6fab9d7f430d6ea66cd1775f37142c25dfa40"));
	free(body);
	/* tappd on its socket, with the tappd-simulator key */
	assert_int_equal(request(&body, "http://localhost/prpc/Tappd.Info", tsock, "{}"), 200);
	assert_non_null(strstr(body, "\"app_id\":\"0x5bb4ff9a3837357f19dc176407a5709c62eb6c56\""));
	free(body);
	stop(pid, out);
	assert_int_equal(lstat(dsock, &st), -1);
	assert_int_equal(lstat(tsock, &st), -1);
	err = read_text(err_path);
	assert_non_null(strstr(err, "dstack on unix:"));
	assert_non_null(strstr(err, "tappd on unix:"));
	assert_non_null(strstr(err, "app id 5bb4ff9a3837357f19dc176407a5709c62eb6c56"));
	assert_non_null(strstr(err, "KMS root (k256) 0321529e458424ab1f710a3a57ec4dad2fb195ddca572f7469242ba6c7563085b6"));
	free(err);
}

static void test_compose_app_id_refuse(void **state)
{
	static const char compose[] = "{\"manifest_version\":2,\"name\":\"cli-app\",\"runner\":\"docker-compose\"}";
	char st_dir[128], dsock[128], err_path[128], compose_path[128], *body, *err;
	char *args[] = {"teeliza", "simulator", "--no-tcp", "--dstack-socket", dsock, "--state-dir", st_dir, "--compose",
	                compose_path, "--app-id", "00112233445566778899aabbccddeeff00112233", "--refuse-emit-event", NULL};
	FILE *out;
	pid_t pid;

	(void)state;
	snprintf(st_dir, sizeof(st_dir), "%s/state2", tmp_dir);
	snprintf(dsock, sizeof(dsock), "%s/d2.sock", tmp_dir);
	snprintf(err_path, sizeof(err_path), "%s/err2", tmp_dir);
	snprintf(compose_path, sizeof(compose_path), "%s/app-compose.json", tmp_dir);
	{
		FILE *f = fopen(compose_path, "w");

		assert_non_null(f);
		fputs(compose, f);
		fclose(f);
	}
	pid = spawn(&out, err_path, args);
	wait_for(dsock);
	assert_int_equal(request(&body, "http://localhost/Info", dsock, "{}"), 200);
	assert_non_null(strstr(body, "\"app_id\":\"00112233445566778899aabbccddeeff00112233\""));
	assert_non_null(strstr(body, "\"app_name\":\"cli-app\""));
	free(body);
	assert_int_equal(request(&body, "http://localhost/EmitEvent", dsock, "{\"event\":\"x\"}"), 400);
	assert_string_equal(body, "{\n  \"error\": \"runtime event emission is unavailable in simulator mode: x\"\n}");
	free(body);
	stop(pid, out);
	err = read_text(err_path);
	assert_non_null(strstr(err, "simulated KMS root created in"));
	free(err);
}

static void test_usage_and_config_errors(void **state)
{
	static const struct {
		const char *args;
		int code;
	} cases[] = {
		{"--no-tcp", 64},
		{"--tappd-socket /tmp/x.sock --dstack-socket /tmp/x.sock", 64},
		{"--dstack-socket", 64},
		{"--compose /nonexistent/teeliza/app-compose.json", 78},
		{"--appkeys /nonexistent/teeliza/appkeys.json", 78},
		{"--app-id 5bb4", 64},
		{"--app-id 0x5bb4ff9a3837357f19dc176407a5709c62eb6c5g", 64},
	};
	char cmd[512];
	size_t i;

	(void)state;
	for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		snprintf(cmd, sizeof(cmd), "'%s' simulator --port 0 --state-dir '%s/state3' %s </dev/null >/dev/null 2>&1",
		         TEELIZA_BINARY, tmp_dir, cases[i].args);
		if (run_capture(cmd, NULL) != cases[i].code)
			fail_msg("%s: want exit %d", cases[i].args, cases[i].code);
	}
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_both_sockets_and_tcp),
		cmocka_unit_test(test_compose_app_id_refuse),
		cmocka_unit_test(test_usage_and_config_errors),
	};

	return cmocka_run_group_tests(tests, setup, teardown);
}
