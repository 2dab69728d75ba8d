/*
 * Process-wide operational counters for the agent's GET /metrics
 * (Prometheus text format): messages handled, attestation quotes obtained,
 * tappd request latency, errors by kind, database round trips. Lock-free (C11 atomics); every
 * function may be called from any thread.
 */
#ifndef TEELIZA_METRICS_H
#define TEELIZA_METRICS_H

#include "teeliza/common/common.h"

#ifdef __cplusplus
extern "C" {
#endif

/* What an error counted in teeliza_errors_total{kind=…} was. */
typedef enum teeliza_metric_error {
	TEELIZA_METRIC_ERR_TAPPD = 0,   /* a tappd request that failed (transport, protocol, remote error) */
	TEELIZA_METRIC_ERR_MESSAGE,     /* agent_runtime_message returned an error */
	TEELIZA_METRIC_ERR_HTTP_5XX,    /* the REST API answered 5xx */
	TEELIZA_METRIC_ERR__COUNT
} teeliza_metric_error;

/* A snapshot of every counter. */
typedef struct teeliza_metrics {
	uint64_t messages;               /* messages handed to an agent's pipeline */
	uint64_t quotes;                 /* attestation quotes obtained from tappd and stored */
	uint64_t verifications;          /* quotes verified through POST /verify or the dashboard */
	uint64_t tappd_requests;         /* tappd requests (success or failure) */
	uint64_t tappd_ns;               /* their total duration, nanoseconds */
	uint64_t errors[TEELIZA_METRIC_ERR__COUNT];
	uint64_t db_round_trips;         /* waits for a database server's answer (a statement, or one pipeline) */
} teeliza_metrics;

void teeliza_metrics_count_message(void);
void teeliza_metrics_count_quote(void);
void teeliza_metrics_count_verification(void);
void teeliza_metrics_count_error(teeliza_metric_error kind);
/* One more wait for a database server (PostgreSQL): a statement sent alone, or one pipeline of them. */
void teeliza_metrics_count_db_round_trip(void);

/* A monotonic clock reading in nanoseconds, for teeliza_metrics_tappd_done. */
uint64_t teeliza_metrics_now_ns(void);

/* One tappd request that started at start_ns (teeliza_metrics_now_ns) is over; failed also counts an error. */
void teeliza_metrics_tappd_done(uint64_t start_ns, bool failed);

/* Read every counter (each one atomically; the set is not one instant). Out: *out. */
void teeliza_metrics_get(teeliza_metrics *out);

/* The stable name of an error kind ("tappd", "message", "http_5xx"). Never NULL. */
const char *teeliza_metric_error_name(teeliza_metric_error kind);

/*
 * The counters in Prometheus text exposition format 0.0.4 (HELP, TYPE,
 * samples), with teeliza_agents = agents. Appends to out.
 */
teeliza_err teeliza_metrics_prometheus(teeliza_buf *out, size_t agents) TEELIZA_WARN_UNUSED;

#ifdef __cplusplus
}
#endif
#endif
