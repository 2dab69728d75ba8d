/* Operational counters (include/teeliza/common/metrics.h): relaxed C11 atomics, read for GET /metrics. */
#include "teeliza/common/metrics.h"

#include <assert.h>
#include <stdatomic.h>
#include <time.h>

static _Atomic uint64_t messages, quotes, verifications, tappd_requests, tappd_ns, db_round_trips;
static _Atomic uint64_t errors[TEELIZA_METRIC_ERR__COUNT];

void teeliza_metrics_count_message(void)
{
	atomic_fetch_add_explicit(&messages, 1, memory_order_relaxed);
}

void teeliza_metrics_count_quote(void)
{
	atomic_fetch_add_explicit(&quotes, 1, memory_order_relaxed);
}

void teeliza_metrics_count_verification(void)
{
	atomic_fetch_add_explicit(&verifications, 1, memory_order_relaxed);
}

void teeliza_metrics_count_db_round_trip(void)
{
	atomic_fetch_add_explicit(&db_round_trips, 1, memory_order_relaxed);
}

void teeliza_metrics_count_error(teeliza_metric_error kind)
{
	assert((unsigned)kind < TEELIZA_METRIC_ERR__COUNT);
	atomic_fetch_add_explicit(&errors[kind], 1, memory_order_relaxed);
}

uint64_t teeliza_metrics_now_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
}

void teeliza_metrics_tappd_done(uint64_t start_ns, bool failed)
{
	uint64_t now = teeliza_metrics_now_ns();

	atomic_fetch_add_explicit(&tappd_ns, now >= start_ns ? now - start_ns : 0, memory_order_relaxed);
	atomic_fetch_add_explicit(&tappd_requests, 1, memory_order_relaxed);
	if (failed)
		teeliza_metrics_count_error(TEELIZA_METRIC_ERR_TAPPD);
}

void teeliza_metrics_get(teeliza_metrics *out)
{
	size_t i;

	assert(out != NULL);
	out->messages = atomic_load_explicit(&messages, memory_order_relaxed);
	out->quotes = atomic_load_explicit(&quotes, memory_order_relaxed);
	out->verifications = atomic_load_explicit(&verifications, memory_order_relaxed);
	out->tappd_requests = atomic_load_explicit(&tappd_requests, memory_order_relaxed);
	out->tappd_ns = atomic_load_explicit(&tappd_ns, memory_order_relaxed);
	out->db_round_trips = atomic_load_explicit(&db_round_trips, memory_order_relaxed);
	for (i = 0; i < TEELIZA_METRIC_ERR__COUNT; i++)
		out->errors[i] = atomic_load_explicit(&errors[i], memory_order_relaxed);
}

const char *teeliza_metric_error_name(teeliza_metric_error kind)
{
	switch (kind) {
	case TEELIZA_METRIC_ERR_TAPPD:
		return "tappd";
	case TEELIZA_METRIC_ERR_MESSAGE:
		return "message";
	case TEELIZA_METRIC_ERR_HTTP_5XX:
		return "http_5xx";
	default:
		return "unknown";
	}
}

teeliza_err teeliza_metrics_prometheus(teeliza_buf *out, size_t agents)
{
	teeliza_metrics m;
	teeliza_err err;
	size_t i;

	assert(out != NULL);
	teeliza_metrics_get(&m);
	err = teeliza_buf_printf(out,
	                         "# HELP teeliza_agents Agents running in this process.\n"
	                         "# TYPE teeliza_agents gauge\n"
	                         "teeliza_agents %zu\n"
	                         "# HELP teeliza_messages_total Messages handed to an agent's message pipeline.\n"
	                         "# TYPE teeliza_messages_total counter\n"
	                         "teeliza_messages_total %llu\n"
	                         "# HELP teeliza_quotes_total Attestation quotes obtained from tappd and stored.\n"
	                         "# TYPE teeliza_quotes_total counter\n"
	                         "teeliza_quotes_total %llu\n"
	                         "# HELP teeliza_verifications_total Quotes verified through POST /verify and the dashboard.\n"
	                         "# TYPE teeliza_verifications_total counter\n"
	                         "teeliza_verifications_total %llu\n"
	                         "# HELP teeliza_tappd_request_seconds Time spent in tappd requests.\n"
	                         "# TYPE teeliza_tappd_request_seconds summary\n"
	                         "teeliza_tappd_request_seconds_sum %llu.%09llu\n"
	                         "teeliza_tappd_request_seconds_count %llu\n"
	                         "# HELP teeliza_errors_total Errors by kind: failed tappd requests, failed messages, 5xx API answers.\n"
	                         "# TYPE teeliza_errors_total counter\n",
	                         agents, (unsigned long long)m.messages, (unsigned long long)m.quotes,
	                         (unsigned long long)m.verifications, (unsigned long long)(m.tappd_ns / 1000000000u),
	                         (unsigned long long)(m.tappd_ns % 1000000000u), (unsigned long long)m.tappd_requests);
	for (i = 0; !err && i < TEELIZA_METRIC_ERR__COUNT; i++)
		err = teeliza_buf_printf(out, "teeliza_errors_total{kind=\"%s\"} %llu\n",
		                         teeliza_metric_error_name((teeliza_metric_error)i),
		                         (unsigned long long)m.errors[i]);
	if (!err)
		err = teeliza_buf_printf(out,
		                         "# HELP teeliza_db_round_trips_total Waits for the database server's answer: "
		                         "a statement sent alone, or one pipeline (0 on SQLite).\n"
		                         "# TYPE teeliza_db_round_trips_total counter\n"
		                         "teeliza_db_round_trips_total %llu\n",
		                         (unsigned long long)m.db_round_trips);
	return err;
}
