/*
 * Cold start of `teeliza start` to REST-ready, measured from outside.
 *
 * Each run picks a free loopback port, creates a fresh directory for the
 * agent's SQLite file and the simulator's state (so nothing is reused from a
 * previous run), takes the monotonic clock and spawns the command with
 * `--port P` appended. It then connects every --interval-us (default 250 µs)
 * and sends GET /hello until the first 200 ("REST-ready"), then GET /agents
 * until the body holds --ready-text ("agent-ready": the agent is registered,
 * which with TEE_MODE means its wallets are derived and quoted). It reads
 * the server's CPU time so far (clock_getcpuclockid: what start-up costs
 * whatever else runs on the machine), VmRSS and VmHWM from /proc/PID/status,
 * sends SIGTERM and times the exit.
 *
 *   bench_ready --dir DIR [--runs N] [--id ID] [--ready-text TEXT]
 *               [--interval-us N] [--exit-only] [--reuse] -- COMMAND [ARGS...]
 *
 * DIR (which must exist) receives run.N/ with each run's database, simulator
 * state and log; the caller removes it. With --reuse every run uses run.0/:
 * the first run creates the database and simulator state, the others are
 * restarts on them (the median is a restart's).
 *
 * With --exit-only the command gets no --port and is only timed from exec to
 * its exit (`teeliza --version`: what loading the binary and its shared
 * libraries costs before any start-up work).
 *
 * Prints one line per run, then the medians as
 *   AGENT <tab> id <tab> value <tab> unit <tab> note
 * lines that bench/bench_agent.sh collects. The binary's pages are in the page
 * cache after the first run: this is a process cold start, not a disk one.
 */
#include "bench_util.h"

#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <netinet/in.h>
#include <signal.h>
#include <spawn.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/time.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

extern char **environ;

#define MAX_RUNS 100
#define MAX_ARGS 60
#define START_TIMEOUT_S 30.0
/* A server still running this long after SIGTERM is counted as a hang and killed. */
#define STOP_TIMEOUT_S 3.0

struct run {
	double hello_ms, agent_ms, stop_ms;
	double cpu_ms;  /* the server's CPU time (all threads) when the agent was listed */
	bool hung;      /* SIGTERM did not stop it: killed after STOP_TIMEOUT_S */
	long rss_kb, hwm_kb;
};

struct opts {
	unsigned runs;
	const char *id, *dir, *ready_text;
	long interval_us;
	bool exit_only, reuse;
	char **cmd;
	int ncmd;
};

static int free_port(void)
{
	struct sockaddr_in a;
	socklen_t len = sizeof(a);
	int fd = socket(AF_INET, SOCK_STREAM, 0), port = -1;

	if (fd < 0)
		return -1;
	memset(&a, 0, sizeof(a));
	a.sin_family = AF_INET;
	a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	if (bind(fd, (struct sockaddr *)&a, sizeof(a)) == 0 && getsockname(fd, (struct sockaddr *)&a, &len) == 0)
		port = ntohs(a.sin_port);
	close(fd);
	return port;
}

/*
 * One GET on a fresh connection. Returns 1 for a 200 whose body holds
 * `want` (NULL: any 200), 0 when not (yet) ready, -1 on a local failure.
 */
static int http_get(int port, const char *path, const char *want)
{
	char req[256], resp[16384];
	struct sockaddr_in a;
	struct timeval tv = {2, 0};
	size_t got = 0;
	ssize_t n;
	int fd, len, ready = 0;

	len = snprintf(req, sizeof(req), "GET %s HTTP/1.1\r\nHost: 127.0.0.1:%d\r\nConnection: close\r\n\r\n", path, port);
	if (len < 0 || (size_t)len >= sizeof(req))
		return -1;
	fd = socket(AF_INET, SOCK_STREAM, 0);
	if (fd < 0)
		return -1;
	setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv));
	memset(&a, 0, sizeof(a));
	a.sin_family = AF_INET;
	a.sin_port = htons((uint16_t)port);
	a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	if (connect(fd, (struct sockaddr *)&a, sizeof(a)) != 0) {
		close(fd);
		return errno == ECONNREFUSED ? 0 : -1;
	}
	if (send(fd, req, (size_t)len, MSG_NOSIGNAL) != len) {
		close(fd);
		return 0;
	}
	while (got < sizeof(resp) - 1 && (n = recv(fd, resp + got, sizeof(resp) - 1 - got, 0)) > 0)
		got += (size_t)n;
	resp[got] = 0;
	close(fd);
	if (got >= 12 && memcmp(resp, "HTTP/1.1 200", 12) == 0)
		ready = want == NULL || strstr(resp, want) != NULL;
	return ready;
}

/* VmRSS and VmHWM of pid in kB; false when /proc could not be read. */
static bool read_rss(long *rss_kb, long *hwm_kb, pid_t pid)
{
	char path[64], line[256];
	FILE *f;

	*rss_kb = *hwm_kb = -1;
	snprintf(path, sizeof(path), "/proc/%d/status", (int)pid);
	f = fopen(path, "r");
	if (f == NULL)
		return false;
	while (fgets(line, sizeof(line), f) != NULL) {
		if (strncmp(line, "VmRSS:", 6) == 0)
			*rss_kb = strtol(line + 6, NULL, 10);
		else if (strncmp(line, "VmHWM:", 6) == 0)
			*hwm_kb = strtol(line + 6, NULL, 10);
	}
	fclose(f);
	return *rss_kb > 0 && *hwm_kb > 0;
}

/* CPU time of another process, all its threads, in ms; -1 when unknown. */
static double process_cpu_ms(pid_t pid)
{
	struct timespec ts;
	clockid_t id;

	if (clock_getcpuclockid(pid, &id) != 0 || clock_gettime(id, &ts) != 0)
		return -1;
	return (double)ts.tv_sec * 1e3 + (double)ts.tv_nsec * 1e-6;
}

static void sleep_us(long us)
{
	struct timespec ts = {0, us * 1000L};

	nanosleep(&ts, NULL);
}

/* The end of a run's log, to say why the server did not come up. */
static void dump_log(const char *log)
{
	teeliza_buf b;
	size_t from;

	teeliza_buf_init(&b, 0);
	if (teeliza_read_file(&b, log, (size_t)16 << 20) != TEELIZA_OK) {
		fprintf(stderr, "bench: (no log at %s)\n", log);
		teeliza_buf_free(&b);
		return;
	}
	from = b.len > 2000 ? b.len - 2000 : 0;
	fprintf(stderr, "bench: the end of %s:\n%.*s\n", log, (int)(b.len - from), (const char *)b.data + from);
	teeliza_buf_free(&b);
}

/* Poll until the child answers 200 on path (with want in the body). */
static bool wait_ready(double *ms, pid_t pid, int port, const char *path, const char *want, double t0,
                       const struct opts *o, const char *log)
{
	int status, r;

	for (;;) {
		r = http_get(port, path, want);
		if (r > 0) {
			*ms = (bench_now() - t0) * 1e3;
			return true;
		}
		if (r < 0) {
			fprintf(stderr, "bench: GET %s on port %d: %s\n", path, port, strerror(errno));
			return false;
		}
		if (waitpid(pid, &status, WNOHANG) == pid) {
			fprintf(stderr, "bench: the server exited (status %d) before GET %s answered\n", status, path);
			dump_log(log);
			return false;
		}
		if (bench_now() - t0 > START_TIMEOUT_S) {
			fprintf(stderr, "bench: GET %s not ready after %.0f s\n", path, START_TIMEOUT_S);
			dump_log(log);
			return false;
		}
		sleep_us(o->interval_us);
	}
}

/*
 * SIGTERM and time the exit. A server that ignores it is a finding, not the
 * end of the benchmark: it is killed, marked hung and the run still counts.
 */
static bool stop_child(double *ms, bool *hung, pid_t pid)
{
	double t0 = bench_now();
	int status;

	*hung = false;
	kill(pid, SIGTERM);
	while (waitpid(pid, &status, WNOHANG) != pid) {
		if (bench_now() - t0 > STOP_TIMEOUT_S) {
			fprintf(stderr, "bench: pid %d still runs %.0f s after SIGTERM; killing it\n", (int)pid, STOP_TIMEOUT_S);
			kill(pid, SIGKILL);
			waitpid(pid, &status, 0);
			*hung = true;
			return true;
		}
		sleep_us(200);
	}
	*ms = (bench_now() - t0) * 1e3;
	if (!WIFEXITED(status) || WEXITSTATUS(status) != 0) {
		fprintf(stderr, "bench: the server's exit status after SIGTERM was %d\n", status);
		return false;
	}
	return true;
}

static bool wait_exit(double *ms, pid_t pid, double t0, const char *log)
{
	int status;

	if (waitpid(pid, &status, 0) != pid || !WIFEXITED(status) || WEXITSTATUS(status) != 0) {
		fprintf(stderr, "bench: the command failed (status %d)\n", status);
		dump_log(log);
		return false;
	}
	*ms = (bench_now() - t0) * 1e3;
	return true;
}

static bool one_run(struct run *out, const struct opts *o, unsigned i)
{
	char rundir[2048], db[2100], sim[2100], log[2100], portarg[16];
	char *argv[MAX_ARGS + 3];
	posix_spawn_file_actions_t fa;
	int port = free_port(), k;
	pid_t pid;
	double t0;
	bool ok;

	memset(out, 0, sizeof(*out));
	snprintf(rundir, sizeof(rundir), "%s/run.%u", o->dir, o->reuse ? 0u : i);
	snprintf(db, sizeof(db), "%s/db.sqlite", rundir);
	snprintf(sim, sizeof(sim), "%s/simulator", rundir);
	snprintf(log, sizeof(log), "%s/log", rundir);
	if (port < 0 || (mkdir(rundir, 0700) != 0 && !(o->reuse && errno == EEXIST))) {
		fprintf(stderr, "bench: cannot set up %s: %s\n", rundir, strerror(errno));
		return false;
	}
	setenv("SQLITE_FILE", db, 1);
	setenv("TEELIZA_SIM_STATE", sim, 1);
	snprintf(portarg, sizeof(portarg), "%d", port);
	for (k = 0; k < o->ncmd; k++)
		argv[k] = o->cmd[k];
	if (!o->exit_only) {
		argv[k++] = (char *)"--port";
		argv[k++] = portarg;
	}
	argv[k] = NULL;
	posix_spawn_file_actions_init(&fa);
	posix_spawn_file_actions_addopen(&fa, 0, "/dev/null", O_RDONLY, 0);
	posix_spawn_file_actions_addopen(&fa, 1, log, O_WRONLY | O_CREAT | O_TRUNC, 0600);
	posix_spawn_file_actions_adddup2(&fa, 1, 2);
	t0 = bench_now();
	k = posix_spawn(&pid, argv[0], &fa, NULL, argv, environ);
	posix_spawn_file_actions_destroy(&fa);
	if (k != 0) {
		fprintf(stderr, "bench: cannot start %s: %s\n", argv[0], strerror(k));
		return false;
	}
	if (o->exit_only)
		return wait_exit(&out->hello_ms, pid, t0, log);
	ok = wait_ready(&out->hello_ms, pid, port, "/hello", NULL, t0, o, log) &&
	     wait_ready(&out->agent_ms, pid, port, "/agents", o->ready_text, t0, o, log);
	if (ok)
		out->cpu_ms = process_cpu_ms(pid);
	if (ok && !read_rss(&out->rss_kb, &out->hwm_kb, pid)) {
		fprintf(stderr, "bench: cannot read /proc/%d/status\n", (int)pid);
		ok = false;
	}
	if (!stop_child(&out->stop_ms, &out->hung, pid)) {
		dump_log(log);
		ok = false;
	}
	return ok;
}

static int cmp_double(const void *a, const void *b)
{
	double x = *(const double *)a, y = *(const double *)b;

	return (x > y) - (x < y);
}

static double median(double *v, unsigned n)
{
	qsort(v, n, sizeof(*v), cmp_double);
	return n % 2 ? v[n / 2] : (v[n / 2 - 1] + v[n / 2]) / 2;
}

static void report(const char *id, const char *what, double *v, unsigned n, const char *unit, const char *note)
{
	double med = median(v, n);

	printf("%-34s median %9.2f %s  (min %.2f, max %.2f, %u runs)\n", what, med, unit, v[0], v[n - 1], n);
	printf("AGENT\t%s\t%.2f\t%s\t%s\n", id, med, unit, note);
}

static int usage(void)
{
	fprintf(stderr, "usage: bench_ready --dir DIR [--runs N] [--id ID] [--ready-text TEXT] [--interval-us N] "
	                "[--exit-only] [--reuse] -- COMMAND [ARGS...]\n");
	return 2;
}

static bool parse_opts(struct opts *o, int argc, char **argv)
{
	static const struct option longopts[] = {
		{"runs", required_argument, NULL, 'n'},    {"id", required_argument, NULL, 'i'},
		{"dir", required_argument, NULL, 'd'},     {"ready-text", required_argument, NULL, 't'},
		{"interval-us", required_argument, NULL, 'u'}, {"exit-only", no_argument, NULL, 'x'},
		{"reuse", no_argument, NULL, 'r'},             {NULL, 0, NULL, 0},
	};
	char *end;
	long v;
	int c;

	memset(o, 0, sizeof(*o));
	o->runs = 10;
	o->id = "agent.start";
	o->ready_text = "\"name\":\"Teeliza\"";
	o->interval_us = 250;
	while ((c = getopt_long(argc, argv, "+", longopts, NULL)) != -1) {
		switch (c) {
		case 'n':
		case 'u':
			errno = 0;
			v = strtol(optarg, &end, 10);
			if (errno != 0 || *end != 0 || v < 1 || v > (c == 'n' ? MAX_RUNS : 999999))
				return false;
			if (c == 'n')
				o->runs = (unsigned)v;
			else
				o->interval_us = v;
			break;
		case 'i': o->id = optarg; break;
		case 'd': o->dir = optarg; break;
		case 't': o->ready_text = optarg; break;
		case 'x': o->exit_only = true; break;
		case 'r': o->reuse = true; break;
		default: return false;
		}
	}
	o->cmd = argv + optind;
	o->ncmd = argc - optind;
	return o->dir != NULL && o->ncmd > 0 && o->ncmd <= MAX_ARGS;
}

int main(int argc, char **argv)
{
	static struct run runs[MAX_RUNS];
	double hello[MAX_RUNS], agent[MAX_RUNS], stop[MAX_RUNS], rss[MAX_RUNS], hwm[MAX_RUNS], cpu[MAX_RUNS];
	char id[256], note[512];
	struct opts o;
	unsigned i, hangs = 0, stopped = 0;

	if (!parse_opts(&o, argc, argv))
		return usage();
	for (i = 0; i < o.runs; i++) {
		if (!one_run(&runs[i], &o, i))
			return 1;
		hello[i] = runs[i].hello_ms;
		if (o.exit_only)
			continue;
		printf("  run %2u: /hello 200 after %6.2f ms, agent listed after %6.2f ms (server CPU %5.2f ms), "
		       "VmRSS %5.1f MB (peak %5.1f MB), ",
		       i + 1, runs[i].hello_ms, runs[i].agent_ms, runs[i].cpu_ms, (double)runs[i].rss_kb / 1024.0,
		       (double)runs[i].hwm_kb / 1024.0);
		if (runs[i].hung) {
			printf("SIGTERM ignored, killed after %.0f s\n", STOP_TIMEOUT_S);
			hangs++;
		} else {
			printf("SIGTERM to exit %5.2f ms\n", runs[i].stop_ms);
			stop[stopped++] = runs[i].stop_ms;
		}
		cpu[i] = runs[i].cpu_ms;
		agent[i] = runs[i].agent_ms;
		rss[i] = (double)runs[i].rss_kb / 1024.0;
		hwm[i] = (double)runs[i].hwm_kb / 1024.0;
	}
	if (o.exit_only) {
		snprintf(id, sizeof(id), "%s.exec_ms", o.id);
		report(id, "exec -> exit 0", hello, o.runs, "ms", "posix_spawn to waitpid");
		return 0;
	}
	snprintf(note, sizeof(note), "exec to first 200, polled every %ld us, %s", o.interval_us,
	         o.reuse ? "restarts on an existing SQLite file" : "fresh SQLite file per run");
	snprintf(id, sizeof(id), "%s.hello_ms", o.id);
	report(id, "exec -> GET /hello 200", hello, o.runs, "ms", note);
	snprintf(id, sizeof(id), "%s.agent_ms", o.id);
	report(id, "exec -> agent in GET /agents", agent, o.runs, "ms", note);
	snprintf(id, sizeof(id), "%s.cpu_ms", o.id);
	report(id, "server CPU time until listed", cpu, o.runs, "ms", "all threads, clock_getcpuclockid");
	snprintf(id, sizeof(id), "%s.rss_mb", o.id);
	report(id, "VmRSS when the agent is listed", rss, o.runs, "MB", "/proc/PID/status VmRSS");
	snprintf(id, sizeof(id), "%s.hwm_mb", o.id);
	report(id, "VmHWM (peak RSS) at that point", hwm, o.runs, "MB", "/proc/PID/status VmHWM");
	if (stopped > 0) {
		snprintf(id, sizeof(id), "%s.stop_ms", o.id);
		report(id, "SIGTERM -> exit 0", stop, stopped, "ms", "runs that stopped");
	}
	snprintf(id, sizeof(id), "%s.stop_hangs", o.id);
	printf("%-34s %u of %u runs\n", "SIGTERM ignored (killed)", hangs, o.runs);
	printf("AGENT\t%s\t%u\truns\tof %u: still running %.0f s after SIGTERM, killed\n", id, hangs, o.runs, STOP_TIMEOUT_S);
	return 0;
}
