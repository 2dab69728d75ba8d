/*
 * The simulator shares the HTTP server's defences: nosniff on its replies
 * (its errors are JSON), the whole-request deadline on TCP and on its unix
 * socket, and more half-sent requests than libmicrohttpd's default limit
 * without refusing a real client. Loopback only.
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <cmocka.h>

#include "testutil.h"
#include "teeliza/sim/simulator.h"

#include <arpa/inet.h>
#include <errno.h>
#include <ftw.h>
#include <netinet/in.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <time.h>
#include <unistd.h>

static char dir[64], sock[96];

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
	snprintf(dir, sizeof(dir), "/tmp/teeliza-simhttp-XXXXXX");
	assert_non_null(mkdtemp(dir));
	return 0;
}

static int teardown(void **state)
{
	(void)state;
	nftw(dir, rm_entry, 16, FTW_DEPTH | FTW_PHYS);
	return 0;
}

static tee_sim *start_sim(unsigned request_timeout_s)
{
	char state_dir[128];
	tee_sim_config cfg;
	tee_sim *sim = NULL;

	static unsigned n;

	/* a socket of its own for each test: one that failed half-way leaves its server behind */
	snprintf(sock, sizeof(sock), "%s/tappd-%u.sock", dir, n++);
	snprintf(state_dir, sizeof(state_dir), "%s/state", dir);
	memset(&cfg, 0, sizeof(cfg));
	cfg.host = "127.0.0.1";
	cfg.socket_path = sock;
	cfg.socket_mode = 0600;
	cfg.state_dir = state_dir;
	cfg.quiet = true;
	cfg.request_timeout_s = request_timeout_s;
	if (tee_sim_start(&sim, &cfg) != TEELIZA_OK)
		fail_msg("tee_sim_start: %s", teeliza_errmsg());
	return sim;
}

static long long mono_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (long long)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

/* TCP to 127.0.0.1:port from src (NULL: any), or with port 0 the simulator's unix socket. */
static int connect_to(const char *src, uint16_t port)
{
	struct sockaddr_in a;
	struct sockaddr_un u;
	int fd;

	if (port == 0) {
		fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
		assert_true(fd >= 0);
		memset(&u, 0, sizeof(u));
		u.sun_family = AF_UNIX;
		snprintf(u.sun_path, sizeof(u.sun_path), "%s", sock);
		assert_int_equal(connect(fd, (struct sockaddr *)&u, sizeof(u)), 0);
		return fd;
	}
	fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
	assert_true(fd >= 0);
	if (src != NULL) {
		memset(&a, 0, sizeof(a));
		a.sin_family = AF_INET;
		assert_int_equal(inet_pton(AF_INET, src, &a.sin_addr), 1);
		assert_int_equal(bind(fd, (struct sockaddr *)&a, sizeof(a)), 0);
	}
	memset(&a, 0, sizeof(a));
	a.sin_family = AF_INET;
	a.sin_port = htons(port);
	a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	assert_int_equal(connect(fd, (struct sockaddr *)&a, sizeof(a)), 0);
	return fd;
}

static void send_all(int fd, const char *text)
{
	assert_int_equal(send(fd, text, strlen(text), MSG_NOSIGNAL), (ssize_t)strlen(text));
}

/* Read until the server closes (at most ms); the bytes read, NUL-terminated (caller frees), or NULL on timeout. */
static char *read_until_closed(int fd, int ms)
{
	long long end = mono_ms() + ms, left;
	char *out = calloc(1, 1), *grown;
	size_t len = 0;
	struct pollfd p;
	ssize_t n;

	assert_non_null(out);
	while ((left = end - mono_ms()) > 0) {
		p.fd = fd;
		p.events = POLLIN;
		if (poll(&p, 1, (int)left) <= 0)
			continue;
		grown = realloc(out, len + 4097);
		assert_non_null(grown);
		out = grown;
		n = recv(fd, out + len, 4096, MSG_DONTWAIT);
		if (n == 0 || (n < 0 && errno != EAGAIN && errno != EINTR)) {
			out[len] = 0;
			return out;
		}
		if (n > 0)
			len += (size_t)n;
	}
	free(out);
	return NULL;
}

static char *exchange(uint16_t port, const char *request)
{
	int fd = connect_to(NULL, port);
	char *r;

	send_all(fd, request);
	r = read_until_closed(fd, 20000);
	close(fd);
	assert_non_null(r);
	return r;
}

static void test_replies_carry_nosniff(void **state)
{
	tee_sim *sim = start_sim(0);
	uint16_t port;
	char *r;

	(void)state;
	port = tee_sim_port(sim);
	r = exchange(port, "POST /prpc/Tappd.Version HTTP/1.1\r\nHost: t\r\nContent-Length: 0\r\nConnection: close\r\n\r\n");
	assert_int_equal(strncmp(r, "HTTP/1.1 200", 12), 0);
	assert_non_null(strstr(r, "\r\nX-Content-Type-Options: nosniff\r\n"));
	free(r);
	/* an unknown method: JSON, nosniff */
	r = exchange(port, "GET /<script>x</script> HTTP/1.1\r\nHost: t\r\nConnection: close\r\n\r\n");
	assert_int_equal(strncmp(r, "HTTP/1.1 404", 12), 0);
	assert_non_null(strstr(r, "\r\nContent-Type: application/json\r\n"));
	assert_non_null(strstr(r, "\r\nX-Content-Type-Options: nosniff\r\n"));
	assert_null(strstr(r, "<script>"));
	free(r);
	/* the server's own 413, and the unix socket */
	r = exchange(0, "POST /prpc/Tappd.TdxQuote HTTP/1.1\r\nHost: t\r\nContent-Length: 99999999\r\nConnection: close\r\n\r\n");
	assert_int_equal(strncmp(r, "HTTP/1.1 413", 12), 0);
	assert_non_null(strstr(r, "\r\nX-Content-Type-Options: nosniff\r\n"));
	free(r);
	tee_sim_stop(sim);
}

/* Headers a line every 300 ms on TCP (port) or the unix socket (0): cut after the deadline. */
static void expect_trickle_cut(uint16_t port)
{
	int fd = connect_to(NULL, port);
	long long t0 = mono_ms();
	char *r = NULL;

	send_all(fd, "POST /prpc/Tappd.DeriveKey HTTP/1.1\r\nHost: t\r\n");
	while (mono_ms() - t0 < 20000) {
		r = read_until_closed(fd, 300);
		if (r != NULL || send(fd, "X-Slow: 1\r\n", 11, MSG_NOSIGNAL) < 0)
			break;
	}
	free(r);
	close(fd);
	assert_true(mono_ms() - t0 < 20000);
	assert_true(mono_ms() - t0 >= 1500);
}

static void test_slow_clients_are_cut(void **state)
{
	tee_sim *sim = start_sim(2);

	(void)state;
	expect_trickle_cut(tee_sim_port(sim));
	expect_trickle_cut(0);
	tee_sim_stop(sim);
}

#define IDLE_CONNECTIONS 1100

static void test_many_idle_connections(void **state)
{
	static int fds[IDLE_CONNECTIONS];
	struct rlimit rl;
	tee_sim *sim;
	char src[32], *r;
	unsigned i;

	(void)state;
	if (getrlimit(RLIMIT_NOFILE, &rl) != 0 || rl.rlim_max < 2 * IDLE_CONNECTIONS + 256)
		skip();
	if (rl.rlim_cur < 2 * IDLE_CONNECTIONS + 256) {
		rl.rlim_cur = 2 * IDLE_CONNECTIONS + 256;
		assert_int_equal(setrlimit(RLIMIT_NOFILE, &rl), 0);
	}
	sim = start_sim(0);
	for (i = 0; i < IDLE_CONNECTIONS; i++) {
		snprintf(src, sizeof(src), "127.2.%u.%u", i / 250, i % 250 + 1);
		fds[i] = connect_to(src, tee_sim_port(sim));
		send_all(fds[i], "POST /prpc/Tappd.DeriveKey HTTP/1.1\r\n");
	}
	r = exchange(tee_sim_port(sim),
	             "POST /prpc/Tappd.Version HTTP/1.1\r\nHost: t\r\nContent-Length: 0\r\nConnection: close\r\n\r\n");
	assert_int_equal(strncmp(r, "HTTP/1.1 200", 12), 0);
	free(r);
	for (i = 0; i < IDLE_CONNECTIONS; i++)
		close(fds[i]);
	tee_sim_stop(sim);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_replies_carry_nosniff),
		cmocka_unit_test(test_slow_clients_are_cut),
		cmocka_unit_test(test_many_idle_connections),
	};

	return cmocka_run_group_tests(tests, setup, teardown);
}
