/*
 * The timing harness (see bench_util.h). Each thread warms up on its own, picks
 * a batch size worth about a millisecond, then all threads start together
 * behind a barrier and run until the same deadline.
 */
#include "bench_util.h"

#include <pthread.h>
#include <sched.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#define WARMUP_SECONDS 0.2
#define BATCH_SECONDS 0.001
#define MAX_THREADS 64

double bench_now(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec * 1e-9;
}

double bench_thread_cpu(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_THREAD_CPUTIME_ID, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec * 1e-9;
}

double bench_process_cpu(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec * 1e-9;
}

double bench_seconds(void)
{
	const char *s = getenv("BENCH_SECONDS");
	char *end;
	double v;

	if (s == NULL || *s == 0)
		return 2.0;
	v = strtod(s, &end);
	if (*end != 0 || !(v > 0.0) || v > 600.0) {
		fprintf(stderr, "bench: ignoring BENCH_SECONDS=%s (want seconds, 0 < s <= 600)\n", s);
		return 2.0;
	}
	return v;
}

const char *bench_vectors_dir(void)
{
	const char *env = getenv("TEELIZA_VECTORS");

	return env != NULL && *env != 0 ? env : TEELIZA_VECTORS;
}

bool bench_fail(const char *what)
{
	fprintf(stderr, "bench: %s: %s\n", what, teeliza_errmsg());
	return false;
}

bool bench_read_vector(teeliza_buf *out, const char *name)
{
	char path[4096];
	int n = snprintf(path, sizeof(path), "%s/%s", bench_vectors_dir(), name);

	teeliza_buf_init(out, 0);
	if (n < 0 || (size_t)n >= sizeof(path)) {
		fprintf(stderr, "bench: vector path too long\n");
		return false;
	}
	if (teeliza_read_file(out, path, (size_t)64 << 20) != TEELIZA_OK)
		return bench_fail(path);
	return true;
}

void bench_cpu_list(char *out, size_t out_len)
{
	cpu_set_t set;
	size_t used = 0, cpu, first = SIZE_MAX;

	out[0] = 0;
	if (sched_getaffinity(0, sizeof(set), &set) != 0) {
		snprintf(out, out_len, "?");
		return;
	}
	for (cpu = 0; cpu <= CPU_SETSIZE; cpu++) {
		bool in = cpu < CPU_SETSIZE && CPU_ISSET(cpu, &set);
		int n;

		if (in && first == SIZE_MAX)
			first = cpu;
		if (in || first == SIZE_MAX)
			continue;
		if (first == cpu - 1)
			n = snprintf(out + used, out_len - used, "%s%zu", used ? "," : "", first);
		else
			n = snprintf(out + used, out_len - used, "%s%zu-%zu", used ? "," : "", first, cpu - 1);
		if (n < 0 || (size_t)n >= out_len - used)
			return;
		used += (size_t)n;
		first = SIZE_MAX;
	}
}

struct worker {
	pthread_t tid;
	pthread_barrier_t *warm;  /* every thread warmed up */
	pthread_barrier_t *go;    /* the deadline is set */
	const double *deadline;
	bench_op_fn op;
	void *state;
	uint64_t ops;
	double start, end;
	double cpu;
	bool ok;
};

static uint64_t warm_up(struct worker *w)
{
	double t0 = bench_now(), t;
	uint64_t n = 0;

	do {
		if (!w->op(w->state))
			return 0;
		n++;
		t = bench_now();
	} while (t - t0 < WARMUP_SECONDS);
	n = (uint64_t)((double)n * BATCH_SECONDS / (t - t0));
	return n > 0 ? n : 1;
}

static void *worker_main(void *arg)
{
	struct worker *w = arg;
	uint64_t batch = warm_up(w), i;
	double deadline, cpu0;

	w->ok = batch > 0;
	pthread_barrier_wait(w->warm);
	pthread_barrier_wait(w->go);
	if (!w->ok)
		return NULL;
	deadline = *w->deadline;
	cpu0 = bench_thread_cpu();
	w->start = bench_now();
	w->end = w->start;
	while (w->end < deadline) {
		for (i = 0; i < batch; i++) {
			if (!w->op(w->state)) {
				w->ok = false;
				return NULL;
			}
		}
		w->ops += batch;
		w->end = bench_now();
	}
	w->cpu = bench_thread_cpu() - cpu0;
	return NULL;
}

bool bench_run(bench_result *out, unsigned threads, double seconds, bench_op_fn op, void *const *states)
{
	struct worker w[MAX_THREADS];
	pthread_barrier_t warm, go;
	double deadline = 0, cpu0, first_start, last_end;
	unsigned i, started = 0;
	bool ok = true;

	memset(out, 0, sizeof(*out));
	if (threads == 0 || threads > MAX_THREADS) {
		fprintf(stderr, "bench: %u threads (1..%d)\n", threads, MAX_THREADS);
		return false;
	}
	memset(w, 0, sizeof(w));
	pthread_barrier_init(&warm, NULL, threads + 1);
	pthread_barrier_init(&go, NULL, threads + 1);
	for (i = 0; i < threads; i++) {
		w[i].warm = &warm;
		w[i].go = &go;
		w[i].deadline = &deadline;
		w[i].op = op;
		w[i].state = states[i];
		if (pthread_create(&w[i].tid, NULL, worker_main, &w[i]) != 0)
			break;
		started++;
	}
	if (started < threads) {
		/* the barriers cannot be released with fewer parties: no way to recover cleanly */
		fprintf(stderr, "bench: cannot start thread %u\n", started);
		exit(1);
	}
	pthread_barrier_wait(&warm);
	cpu0 = bench_process_cpu();
	deadline = bench_now() + seconds;
	pthread_barrier_wait(&go);
	for (i = 0; i < threads; i++)
		pthread_join(w[i].tid, NULL);
	out->cpu_seconds = bench_process_cpu() - cpu0;
	pthread_barrier_destroy(&warm);
	pthread_barrier_destroy(&go);

	first_start = w[0].start;
	last_end = w[0].end;
	for (i = 0; i < threads; i++) {
		ok = ok && w[i].ok;
		out->ops += w[i].ops;
		out->worker_cpu_seconds += w[i].cpu;
		if (w[i].start < first_start)
			first_start = w[i].start;
		if (w[i].end > last_end)
			last_end = w[i].end;
	}
	out->threads = threads;
	out->seconds = last_end - first_start;
	out->ops_per_s = out->seconds > 0 ? (double)out->ops / out->seconds : 0;
	return ok;
}

void bench_report(const char *id, const bench_result *r, const char *note)
{
	/* per CPU-second of the whole process: what the rate would be if no other
	 * program took the cores (the machine is shared) */
	double per_cpu = r->cpu_seconds > 0 ? (double)r->ops / r->cpu_seconds : 0;

	printf("%-22s C  %2u thread%s %11.0f ops/s %11.0f ops/CPU-s  (%llu ops, %.2f s, %.2f CPU-s)%s%s\n", id,
	       r->threads, r->threads == 1 ? " " : "s", r->ops_per_s, per_cpu, (unsigned long long)r->ops, r->seconds,
	       r->cpu_seconds, note && *note ? "  " : "", note ? note : "");
	printf("RESULT\t%s\tC\t%u\t%.0f\t%.0f\t%s\n", id, r->threads, r->ops_per_s, per_cpu, note ? note : "");
	fflush(stdout);
}
