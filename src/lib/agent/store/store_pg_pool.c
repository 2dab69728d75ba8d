/*
 * The PostgreSQL back-end's connections: a bounded pool (opened lazily),
 * prepared statements per connection (failures read by store_pg_errors.c), and
 * pg_run, which runs one operation in a transaction and retries it only for
 * retryable failures (store_pg_internal.h says which and why that is safe).
 */
#include "agent/store/store_pg_internal.h"
#include "teeliza/common/metrics.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

teeliza_err pg_nomem(void)
{
	return teeliza_set_error(TEELIZA_ERR_NOMEM, "out of memory reading the agent database");
}

teeliza_err pg_grow(void **items, size_t *cap, size_t count, size_t size)
{
	void *n;
	size_t ncap;

	if (count < *cap)
		return TEELIZA_OK;
	ncap = *cap > 0 ? *cap * 2 : 16;
	if (ncap > SIZE_MAX / size)
		return pg_nomem();
	n = realloc(*items, ncap * size);
	if (n == NULL)
		return pg_nomem();
	memset((char *)n + *cap * size, 0, (ncap - *cap) * size);
	*items = n;
	*cap = ncap;
	return TEELIZA_OK;
}

static bool result_ok(const PGresult *r)
{
	ExecStatusType t = r != NULL ? PQresultStatus(r) : PGRES_FATAL_ERROR;

	return t == PGRES_COMMAND_OK || t == PGRES_TUPLES_OK;
}

teeliza_err pg_exec_sql(struct pg_conn *c, const char *sql, const char *what)
{
	PGresult *r;
	teeliza_err err = TEELIZA_OK;

	teeliza_metrics_count_db_round_trip();
	r = PQexec(c->c, sql);

	if (!result_ok(r))
		err = pg_fail_result(c, r, what);
	PQclear(r);
	return err;
}

PGresult *pg_exec(struct pg_conn *c, teeliza_err *err, enum pg_stmt id, int n, const char *const *vals,
                  const int *lens, const int *binary, const char *what)
{
	char name[32];
	PGresult *r;

	if (c->pipelined) {
		*err = pg_queue(c, id, n, vals, lens, binary, NULL, NULL, NULL, what);
		return NULL;
	}
	snprintf(name, sizeof(name), "teeliza_%d", (int)id);
	if (!(c->prepared & (1u << id))) {
		teeliza_metrics_count_db_round_trip();
		r = PQprepare(c->c, name, pg_stmt_sql[id], 0, NULL);
		if (!result_ok(r)) {
			*err = pg_fail_result(c, r, what);
			PQclear(r);
			return NULL;
		}
		PQclear(r);
		c->prepared |= 1u << id;
	}
	teeliza_metrics_count_db_round_trip();
	r = PQexecPrepared(c->c, name, n, vals, lens, binary, 0);
	if (!result_ok(r)) {
		*err = pg_fail_result(c, r, what);
		PQclear(r);
		return NULL;
	}
	*err = TEELIZA_OK;
	return r;
}

/* Server notices ("relation ... already exists, skipping" on an adopted Eliza database) are not news. */
static void ignore_notice(void *arg, const char *message)
{
	(void)arg;
	(void)message;
}

teeliza_err pg_connect(struct pg_store *s, PGconn **out)
{
	/* defaults first: the URL, expanded from dbname, overrides each of them */
	const char *const keys[] = { "connect_timeout", "keepalives", "keepalives_idle", "keepalives_interval",
	                             "keepalives_count", "application_name", "dbname", NULL };
	char app_name[64], msg[512];
	const char *const vals[] = { "5", "1", "30", "10", "3", app_name, s->conninfo, NULL };
	PGconn *c;

	/* pg_stat_activity names the replica (agent_store_set_identity); a store without an identity is "teeliza" */
	if (s->base.instance_id[0] != '\0')
		snprintf(app_name, sizeof(app_name), "teeliza-%.55s", s->base.instance_id);
	else
		snprintf(app_name, sizeof(app_name), "teeliza");
	c = PQconnectdbParams(keys, vals, 1);
	*out = NULL;
	if (c == NULL)
		return pg_nomem();
	if (PQstatus(c) != CONNECTION_OK) {
		pg_first_line(msg, sizeof(msg), PQerrorMessage(c));
		PQfinish(c);
		return teeliza_set_error(TEELIZA_ERR_CONNECT, "cannot connect to PostgreSQL: %s", msg);
	}
	PQsetNoticeProcessor(c, ignore_notice, NULL);
	*out = c;
	return TEELIZA_OK;
}

static void add_ms(struct timespec *t, long ms)
{
	t->tv_sec += ms / 1000;
	t->tv_nsec += (ms % 1000) * 1000000L;
	if (t->tv_nsec >= 1000000000L) {
		t->tv_sec++;
		t->tv_nsec -= 1000000000L;
	}
}

static teeliza_err borrow(struct pg_store *s, struct pg_conn **out)
{
	struct timespec deadline;
	teeliza_err err = TEELIZA_OK;

	clock_gettime(CLOCK_REALTIME, &deadline);
	add_ms(&deadline, PG_POOL_WAIT_MS);
	pthread_mutex_lock(&s->lock);
	for (;;) {
		struct pg_conn *idle = NULL, *unopened = NULL;

		for (size_t i = 0; i < s->size; i++) {
			if (s->conns[i].busy)
				continue;
			if (s->conns[i].c != NULL) {
				idle = &s->conns[i];
				break;
			}
			if (unopened == NULL)
				unopened = &s->conns[i];
		}
		*out = idle != NULL ? idle : unopened;
		if (*out != NULL) {
			(*out)->busy = true;
			break;
		}
		if (pthread_cond_timedwait(&s->freed, &s->lock, &deadline) == ETIMEDOUT) {
			err = teeliza_set_error(TEELIZA_ERR_TIMEOUT,
			                        "all %zu PostgreSQL connections stayed busy for %d ms "
			                        "(TEELIZA_PG_POOL_SIZE)", s->size, PG_POOL_WAIT_MS);
			break;
		}
	}
	pthread_mutex_unlock(&s->lock);
	return err;
}

static void give_back(struct pg_store *s, struct pg_conn *c)
{
	pthread_mutex_lock(&s->lock);
	c->busy = false;
	pthread_cond_signal(&s->freed);
	pthread_mutex_unlock(&s->lock);
}

/* Drop a broken connection; the next try opens a fresh one (and prepares its statements again). */
static void drop(struct pg_conn *c)
{
	PQfinish(c->c);
	c->c = NULL;
	c->prepared = 0;
}

static void backoff(int attempt)
{
	unsigned jitter = (unsigned)rand() % 50u; /* spreads replicas retrying the same conflict */
	long ms = (50L << attempt) + (long)jitter;
	struct timespec t = { .tv_sec = ms / 1000, .tv_nsec = (ms % 1000) * 1000000L };

	while (nanosleep(&t, &t) != 0 && errno == EINTR)
		;
}

enum run_mode { RUN_ONE, RUN_TXN, RUN_PIPELINED };

static teeliza_err run(struct pg_store *s, enum run_mode mode, pg_op op, void *ctx, const char *what)
{
	struct pg_conn *c;
	teeliza_err err;

	err = borrow(s, &c);
	if (err)
		return err;
	for (int attempt = 0; attempt < PG_ATTEMPTS; attempt++) {
		if (attempt > 0)
			backoff(attempt - 1);
		c->sqlstate[0] = '\0';
		if (c->c != NULL && PQstatus(c->c) != CONNECTION_OK)
			drop(c);
		if (c->c == NULL) {
			/*
			 * A server that cannot be reached now will not be in the next
			 * 100 ms either: fail at once (TEELIZA_ERR_CONNECT, the
			 * caller's 503) instead of waiting out connect_timeout again
			 * and again. A connection lost mid-call is retried above.
			 */
			err = pg_connect(s, &c->c);
			if (err)
				break;
			c->named = s->base.instance_id[0] != '\0';
		}
		if (!c->named && s->base.instance_id[0] != '\0') {
			/* opened before the replica had its identity (the migration's connection): name it now */
			char sql[96 + AGENT_INSTANCE_ID_MAX];

			/* the id holds only [A-Za-z0-9._:-] (agent_store_set_identity): nothing to escape */
			snprintf(sql, sizeof(sql), "SET application_name TO 'teeliza-%.55s'", s->base.instance_id);
			err = pg_exec_sql(c, sql, what);
			if (err == TEELIZA_OK)
				c->named = true;
			else if (PQstatus(c->c) != CONNECTION_OK)
				continue;
		}
		if (mode == RUN_PIPELINED) {
			err = pg_pipeline_start(c, what);
			if (err == TEELIZA_OK)
				err = op(s, c, ctx);
			err = pg_pipeline_finish(c, err, what);
		} else {
			err = mode == RUN_TXN ? pg_exec_sql(c, "BEGIN", what) : TEELIZA_OK;
			if (err == TEELIZA_OK)
				err = op(s, c, ctx);
			if (err == TEELIZA_OK && mode == RUN_TXN)
				err = pg_exec_sql(c, "COMMIT", what);
		}
		if (c->broken) {
			drop(c); /* out of step with the server: nothing more can be read on it */
			c->broken = false;
		}
		if (err == TEELIZA_OK)
			break;
		if (c->c == NULL || PQstatus(c->c) != CONNECTION_OK) {
			drop(c);
		} else if (PQtransactionStatus(c->c) != PQTRANS_IDLE) {
			PGresult *r;

			teeliza_metrics_count_db_round_trip();
			r = PQexec(c->c, "ROLLBACK");

			PQclear(r);
		}
		/*
		 * Retried: a retryable SQLSTATE, or a lost connection (no SQLSTATE,
		 * TEELIZA_ERR_CONNECT). A failure without a database error (bad
		 * input, out of memory) is not retried either.
		 */
		if (c->sqlstate[0] != '\0' ? !pg_sqlstate_retryable(c->sqlstate) : err != TEELIZA_ERR_CONNECT)
			break;
	}
	give_back(s, c);
	return err;
}

teeliza_err pg_run(struct pg_store *s, pg_op op, void *ctx, const char *what)
{
	return run(s, RUN_TXN, op, ctx, what);
}

teeliza_err pg_run1(struct pg_store *s, pg_op op, void *ctx, const char *what)
{
	return run(s, RUN_ONE, op, ctx, what);
}

teeliza_err pg_run_pipelined(struct pg_store *s, pg_op op, void *ctx, const char *what)
{
	return run(s, RUN_PIPELINED, op, ctx, what);
}
