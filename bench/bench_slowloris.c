/*
 * Slow-loris against a running teeliza server (agent or simulator), on
 * loopback only: open --connections half-sent requests, keep each alive with
 * one more header line every --interval seconds (never idle), and meanwhile
 * time a normal request every half second. Reports how many slow connections
 * the server held, when it cut them, and how long normal requests took.
 *
 *   bench_slowloris --port PORT [--connections 2000] [--seconds 45] [--interval 10]
 *                   [--mode spread|one] [--method GET|POST] [--path /hello]
 *                   [--server-pid PID] [--id ID]
 *
 * spread: connection i comes from its own address in 127.10.0.0/16 (the
 * loopback /8 routes to lo, so every address is a distinct client), and
 * normal requests from 127.0.0.1. one: all slow connections come from
 * 127.0.0.3, and normal requests both from 127.0.0.1 and from 127.0.0.3 (the
 * attacker's own address). The program stops by itself after --seconds.
 *
 * Prints a readable summary and
 *   SLOW <tab> id <tab> key <tab> value <tab> unit <tab> note
 * lines that bench/bench_server.sh collects.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <netinet/in.h>
#include <poll.h>
#include <signal.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#define MAX_CONNECTIONS 60000
#define PROBE_EVERY_MS 500
#define PROBE_TIMEOUT_MS 5000
#define MAX_PROBES 4096
#define REFUSED_WITHIN_MS 2000

struct opts {
	unsigned port, connections, seconds, interval;
	bool one_address;
	const char *method, *path, *id;
	long server_pid;
};

struct slow {
	int fd;
	double opened_ms, closed_ms; /* closed_ms < 0: still open */
};

struct probes {
	double ms[MAX_PROBES];
	unsigned n, ok, failed;
};

static double now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec * 1e3 + (double)ts.tv_nsec / 1e6;
}

/* A non-blocking TCP connection to 127.0.0.1:port from src, started (the handshake may still run), or -1. */
static int connect_from(const char *src, unsigned port)
{
	struct sockaddr_in a;
	int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);

	if (fd < 0)
		return -1;
	memset(&a, 0, sizeof(a));
	a.sin_family = AF_INET;
	if (inet_pton(AF_INET, src, &a.sin_addr) != 1 || bind(fd, (struct sockaddr *)&a, sizeof(a)) != 0) {
		close(fd);
		return -1;
	}
	a.sin_port = htons((uint16_t)port);
	a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	if (connect(fd, (struct sockaddr *)&a, sizeof(a)) != 0 && errno != EINPROGRESS) {
		close(fd);
		return -1;
	}
	return fd;
}

/* Wait until fd is writable (connected) within ms. */
static bool wait_connected(int fd, int ms)
{
	struct pollfd p = {.fd = fd, .events = POLLOUT};
	int err = 0;
	socklen_t len = sizeof(err);

	if (poll(&p, 1, ms) != 1)
		return false;
	return getsockopt(fd, SOL_SOCKET, SO_ERROR, &err, &len) == 0 && err == 0;
}

static bool send_text(int fd, const char *text)
{
	size_t n = strlen(text);

	return send(fd, text, n, MSG_NOSIGNAL) == (ssize_t)n;
}

/* One normal request from src; its time in ms, *ok when the reply was a 2xx. */
static double probe(bool *ok, const struct opts *o, const char *src)
{
	char req[512], buf[8192];
	double t0 = now_ms(), left;
	size_t len = 0;
	struct pollfd p;
	ssize_t n;
	int fd;

	*ok = false;
	snprintf(req, sizeof(req), "%s %s HTTP/1.1\r\nHost: bench\r\n%sConnection: close\r\n\r\n", o->method, o->path,
	         strcmp(o->method, "POST") == 0 ? "Content-Length: 0\r\n" : "");
	fd = connect_from(src, o->port);
	if (fd < 0)
		return now_ms() - t0;
	if (!wait_connected(fd, PROBE_TIMEOUT_MS) || !send_text(fd, req)) {
		close(fd);
		return now_ms() - t0;
	}
	for (;;) {
		left = PROBE_TIMEOUT_MS - (now_ms() - t0);
		p.fd = fd;
		p.events = POLLIN;
		if (left <= 0 || poll(&p, 1, (int)left) != 1)
			break;
		n = recv(fd, buf + len, sizeof(buf) - 1 - len, 0);
		if (n <= 0)
			break;
		len += (size_t)n;
		if (len == sizeof(buf) - 1)
			break;
	}
	close(fd);
	buf[len] = 0;
	*ok = len > 12 && strncmp(buf, "HTTP/1.1 2", 10) == 0;
	return now_ms() - t0;
}

static void record(struct probes *pr, double ms, bool ok)
{
	if (pr->n < MAX_PROBES)
		pr->ms[pr->n++] = ms;
	if (ok)
		pr->ok++;
	else
		pr->failed++;
}

static int cmp_double(const void *a, const void *b)
{
	double x = *(const double *)a, y = *(const double *)b;

	return (x > y) - (x < y);
}

static double pct(double *v, unsigned n, double p)
{
	size_t i;

	if (n == 0)
		return 0;
	qsort(v, n, sizeof(*v), cmp_double);
	i = (size_t)(p * (double)(n - 1) + 0.5);
	return v[i];
}

static double rss_mb(long pid)
{
	char path[64], line[256];
	double kb = 0;
	FILE *f;

	if (pid <= 0)
		return 0;
	snprintf(path, sizeof(path), "/proc/%ld/status", pid);
	f = fopen(path, "r");
	if (f == NULL)
		return 0;
	while (fgets(line, sizeof(line), f) != NULL)
		if (sscanf(line, "VmRSS: %lf kB", &kb) == 1)
			break;
	fclose(f);
	return kb / 1024.0;
}

static void row(const struct opts *o, const char *key, double value, const char *unit, const char *note)
{
	printf("SLOW\t%s\t%s\t%.2f\t%s\t%s\n", o->id, key, value, unit, note);
}

static void report_probes(const struct opts *o, const char *key, const char *from, struct probes *pr)
{
	char k[96], note[160];
	unsigned n = pr->n;

	printf("  normal requests from %s: %u answered, %u failed (no 2xx within %d ms); p50 %.1f ms, p99 %.1f ms, max %.1f ms\n",
	       from, pr->ok, pr->failed, PROBE_TIMEOUT_MS, pct(pr->ms, n, 0.5), pct(pr->ms, n, 0.99), pct(pr->ms, n, 1.0));
	snprintf(note, sizeof(note), "normal requests from %s while the slow connections are held", from);
	snprintf(k, sizeof(k), "%s.ok", key);
	row(o, k, pr->ok, "requests", note);
	snprintf(k, sizeof(k), "%s.failed", key);
	row(o, k, pr->failed, "requests", note);
	snprintf(k, sizeof(k), "%s.p50_ms", key);
	row(o, k, pct(pr->ms, n, 0.5), "ms", note);
	snprintf(k, sizeof(k), "%s.p99_ms", key);
	row(o, k, pct(pr->ms, n, 0.99), "ms", note);
	snprintf(k, sizeof(k), "%s.max_ms", key);
	row(o, k, pct(pr->ms, n, 1.0), "ms", note);
}

static void usage(void)
{
	fprintf(stderr, "usage: bench_slowloris --port PORT [--connections N] [--seconds S] [--interval S] "
	                "[--mode spread|one] [--method GET|POST] [--path P] [--server-pid PID] [--id ID]\n");
	exit(2);
}

static unsigned long number(const char *s, unsigned long max)
{
	char *end;
	unsigned long v;

	errno = 0;
	v = strtoul(s, &end, 10);
	if (errno != 0 || *end != 0 || s[0] == '-' || v == 0 || v > max)
		usage();
	return v;
}

static void parse(struct opts *o, int argc, char **argv)
{
	static const struct option longopts[] = {
		{"port", required_argument, NULL, 'p'},     {"connections", required_argument, NULL, 'c'},
		{"seconds", required_argument, NULL, 's'},  {"interval", required_argument, NULL, 'i'},
		{"mode", required_argument, NULL, 'm'},     {"method", required_argument, NULL, 'M'},
		{"path", required_argument, NULL, 'P'},     {"server-pid", required_argument, NULL, 'S'},
		{"id", required_argument, NULL, 'I'},       {NULL, 0, NULL, 0},
	};
	int c;

	memset(o, 0, sizeof(*o));
	o->connections = 2000;
	o->seconds = 45;
	o->interval = 10;
	o->method = "GET";
	o->path = "/hello";
	o->id = "slowloris";
	while ((c = getopt_long(argc, argv, "", longopts, NULL)) != -1) {
		switch (c) {
		case 'p': o->port = (unsigned)number(optarg, 65535); break;
		case 'c': o->connections = (unsigned)number(optarg, MAX_CONNECTIONS); break;
		case 's': o->seconds = (unsigned)number(optarg, 3600); break;
		case 'i': o->interval = (unsigned)number(optarg, 3600); break;
		case 'm':
			if (strcmp(optarg, "spread") != 0 && strcmp(optarg, "one") != 0)
				usage();
			o->one_address = strcmp(optarg, "one") == 0;
			break;
		case 'M': o->method = optarg; break;
		case 'P': o->path = optarg; break;
		case 'S': o->server_pid = (long)number(optarg, 1ul << 22); break;
		case 'I': o->id = optarg; break;
		default: usage();
		}
	}
	if (o->port == 0 || optind != argc)
		usage();
}

int main(int argc, char **argv)
{
	static struct slow conns[MAX_CONNECTIONS];
	static struct probes other, same;
	static struct pollfd pfd[MAX_CONNECTIONS];
	static size_t idx[MAX_CONNECTIONS];
	struct opts o;
	struct rlimit rl;
	char src[32], line[64], start[512], buf[4096];
	double t0, end, next_probe, next_trickle, rss_held = 0, t;
	unsigned i, failed_connect = 0, refused = 0, cut = 0, open_at_end = 0, trickles = 0, alive;
	double *lifetimes;
	unsigned n_life = 0;
	size_t np;
	bool ok;

	parse(&o, argc, argv);
	signal(SIGPIPE, SIG_IGN);
	if (getrlimit(RLIMIT_NOFILE, &rl) == 0 && rl.rlim_cur < rl.rlim_max) {
		rl.rlim_cur = rl.rlim_max;
		(void)setrlimit(RLIMIT_NOFILE, &rl);
	}
	lifetimes = calloc(o.connections, sizeof(*lifetimes));
	if (lifetimes == NULL)
		return 1;
	snprintf(start, sizeof(start), "%s %s HTTP/1.1\r\nHost: bench\r\n", o.method, o.path);

	printf("== %s: %u slow connections %s, a header line every %u s, %u s; normal %s %s every %d ms\n", o.id,
	       o.connections, o.one_address ? "all from 127.0.0.3" : "from as many addresses in 127.10.0.0/16",
	       o.interval, o.seconds, o.method, o.path, PROBE_EVERY_MS);
	t0 = now_ms();
	for (i = 0; i < o.connections; i++) {
		if (o.one_address)
			snprintf(src, sizeof(src), "127.0.0.3");
		else
			snprintf(src, sizeof(src), "127.10.%u.%u", i / 250, i % 250 + 1);
		conns[i].closed_ms = -1;
		conns[i].fd = connect_from(src, o.port);
		conns[i].opened_ms = now_ms();
		if (conns[i].fd < 0 || !wait_connected(conns[i].fd, 5000) || !send_text(conns[i].fd, start)) {
			if (conns[i].fd >= 0)
				close(conns[i].fd);
			conns[i].fd = -1;
			conns[i].closed_ms = conns[i].opened_ms;
			failed_connect++;
		}
	}
	printf("  opened %u connections in %.0f ms (%u could not connect or send)\n", o.connections - failed_connect,
	       now_ms() - t0, failed_connect);

	end = t0 + 1000.0 * o.seconds;
	next_probe = now_ms();
	next_trickle = t0 + 1000.0 * o.interval;
	while ((t = now_ms()) < end) {
		if (t >= next_probe) {
			double ms = probe(&ok, &o, "127.0.0.1");

			record(&other, ms, ok);
			if (o.one_address) {
				ms = probe(&ok, &o, "127.0.0.3");
				record(&same, ms, ok);
			}
			next_probe += PROBE_EVERY_MS;
			if (rss_held == 0 && t - t0 > 3000)
				rss_held = rss_mb(o.server_pid);
			continue;
		}
		if (t >= next_trickle) {
			snprintf(line, sizeof(line), "X-Slow-%u: 1\r\n", trickles++);
			for (i = 0; i < o.connections; i++) {
				if (conns[i].fd >= 0 && !send_text(conns[i].fd, line)) {
					close(conns[i].fd);
					conns[i].fd = -1;
					conns[i].closed_ms = now_ms();
				}
			}
			next_trickle += 1000.0 * o.interval;
			continue;
		}
		np = 0;
		for (i = 0; i < o.connections; i++) {
			if (conns[i].fd < 0)
				continue;
			pfd[np].fd = conns[i].fd;
			pfd[np].events = POLLIN;
			pfd[np].revents = 0;
			idx[np++] = i;
		}
		t = next_probe < next_trickle ? next_probe : next_trickle;
		if (poll(pfd, (nfds_t)np, (int)(t - now_ms()) + 1) <= 0)
			continue;
		for (i = 0; i < np; i++) {
			struct slow *s = &conns[idx[i]];
			ssize_t n;

			if (pfd[i].revents == 0)
				continue;
			n = recv(s->fd, buf, sizeof(buf), MSG_DONTWAIT);
			if (n == 0 || (n < 0 && errno != EAGAIN && errno != EINTR)) {
				close(s->fd);
				s->fd = -1;
				s->closed_ms = now_ms();
			}
		}
	}
	for (i = 0; i < o.connections; i++) {
		if (conns[i].fd >= 0) {
			open_at_end++;
			close(conns[i].fd);
		} else if (conns[i].closed_ms - conns[i].opened_ms < REFUSED_WITHIN_MS) {
			refused++;
		} else {
			cut++;
			lifetimes[n_life++] = (conns[i].closed_ms - conns[i].opened_ms) / 1000.0;
		}
	}
	refused -= failed_connect < refused ? failed_connect : refused;
	alive = o.connections - failed_connect - refused;
	printf("  held by the server: %u; closed within %d ms of opening (refused): %u; cut later: %u "
	       "(after %.1f s median, %.1f s max); still open after %u s: %u\n",
	       alive, REFUSED_WITHIN_MS, refused, cut, pct(lifetimes, n_life, 0.5), pct(lifetimes, n_life, 1.0),
	       o.seconds, open_at_end);
	row(&o, "held", alive, "connections", "slow connections the server accepted and kept past 2 s");
	row(&o, "refused", refused, "connections", "closed by the server within 2 s of opening");
	row(&o, "cut", cut, "connections", "closed by the server later, while still trickling headers");
	row(&o, "cut_after_median_s", pct(lifetimes, n_life, 0.5), "s", "lifetime of the cut connections");
	row(&o, "open_at_end", open_at_end, "connections", "still open when the run ended");
	report_probes(&o, "normal", o.one_address ? "127.0.0.1 (another address)" : "127.0.0.1", &other);
	if (o.one_address)
		report_probes(&o, "normal_same_address", "127.0.0.3 (the slow clients' address)", &same);
	if (o.server_pid > 0) {
		printf("  server VmRSS with the slow connections held: %.1f MB\n", rss_held);
		row(&o, "rss_held_mb", rss_held, "MB", "server VmRSS 3 s after the slow connections opened");
	}
	free(lifetimes);
	return 0;
}
