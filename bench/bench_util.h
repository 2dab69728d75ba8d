/*
 * The timing harness shared by the C benchmarks: run one operation in a loop
 * on N threads for a fixed time and print the rate. Every program prints one
 * machine-readable line per measurement,
 *   RESULT <tab> id <tab> C <tab> threads <tab> ops/s <tab> ops per CPU-second <tab> note
 * which bench/run.sh collects beside the JS reference's lines into a table.
 */
#ifndef TEELIZA_BENCH_UTIL_H
#define TEELIZA_BENCH_UTIL_H

#include "teeliza/common/common.h"

#include <stdint.h>

/* One operation on a thread's own state; false stops the run as a failure. */
typedef bool (*bench_op_fn)(void *state);

typedef struct bench_result {
	uint64_t ops;
	double seconds;      /* wall time from the common start to the last thread's end */
	double ops_per_s;
	double cpu_seconds;  /* process CPU time (all threads) during the measured loop */
	double worker_cpu_seconds; /* CPU time of the measuring threads alone (the rest is other threads) */
	unsigned threads;
} bench_result;

/*
 * Run op on `threads` threads (thread i gets states[i]) for `seconds`
 * after a short warm-up, checking the clock in batches sized so that the
 * check costs well under 1%. Returns false when an op failed (the error is
 * printed) or a thread could not start.
 */
bool bench_run(bench_result *out, unsigned threads, double seconds, bench_op_fn op, void *const *states);

/* Print the RESULT line and a readable line for a measurement. */
void bench_report(const char *id, const bench_result *r, const char *note);

/* Seconds per loop: $BENCH_SECONDS, else 2. */
double bench_seconds(void);

/* Monotonic wall clock and this thread's CPU clock, in seconds. */
double bench_now(void);
double bench_thread_cpu(void);
double bench_process_cpu(void);

/* The shared vectors directory: $TEELIZA_VECTORS, else the compile-time path. */
const char *bench_vectors_dir(void);

/* Read vectors/<name> into out (NUL-terminated); prints and returns false on failure. */
bool bench_read_vector(teeliza_buf *out, const char *name);

/* Print "bench: <what>: <teeliza_errmsg()>" to stderr; returns false. */
bool bench_fail(const char *what);

/* The CPUs this process may run on, as "0-1" style text (sched_getaffinity). */
void bench_cpu_list(char *out, size_t out_len);

#endif
