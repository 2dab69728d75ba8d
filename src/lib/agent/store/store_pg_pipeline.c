/*
 * Pipelines (pg_run_pipelined): an operation's statements are sent without
 * waiting for each result, then one sync; the server runs everything before
 * the sync as one implicit transaction (a failure rolls back what ran and
 * skips the rest), so a reply's memories and its receipt, or a new
 * conversation's rows and its first message, cost one round trip. A
 * statement not yet prepared on the connection has its PREPARE sent in the
 * same pipeline, just before it.
 */
#include "agent/store/store_pg_internal.h"
#include "teeliza/common/metrics.h"

#include <assert.h>
#include <stdio.h>
#include <string.h>

static teeliza_err lost(struct pg_conn *c, const char *what)
{
	/* libpq's own message says why (a send failed, the server went away) */
	c->broken = true;
	return pg_fail_result(c, NULL, what);
}

static void add(struct pg_conn *c, int prepares, pg_reader read, pg_failure failed, void *read_ctx,
                const char *what)
{
	/* a fixed bound: the operations that pipeline are known, and each is far below it */
	assert(c->n_queued < PG_PIPELINE_MAX);
	c->queued[c->n_queued++] = (struct pg_queued){ prepares, what, read, failed, read_ctx };
}

teeliza_err pg_queue(struct pg_conn *c, enum pg_stmt id, int n, const char *const *vals, const int *lens,
                     const int *binary, pg_reader read, pg_failure failed, void *read_ctx, const char *what)
{
	char name[32];

	assert(c->pipelined);
	snprintf(name, sizeof(name), "teeliza_%d", (int)id);
	if (!(c->prepared & (1u << id))) {
		if (PQsendPrepare(c->c, name, pg_stmt_sql[id], 0, NULL) != 1)
			return lost(c, what);
		/* counted as prepared from now; pg_pipeline_finish takes it back if the PREPARE failed */
		c->prepared |= 1u << id;
		add(c, (int)id, NULL, NULL, NULL, what);
	}
	if (PQsendQueryPrepared(c->c, name, n, vals, lens, binary, 0) != 1)
		return lost(c, what);
	add(c, -1, read, failed, read_ctx, what);
	return TEELIZA_OK;
}

teeliza_err pg_queue_read(struct pg_conn *c, enum pg_stmt id, int n, const char *const *vals, pg_reader read,
                          void *read_ctx, const char *what)
{
	return pg_queue(c, id, n, vals, NULL, NULL, read, NULL, read_ctx, what);
}

teeliza_err pg_pipeline_start(struct pg_conn *c, const char *what)
{
	c->n_queued = 0;
	c->broken = false;
	if (PQenterPipelineMode(c->c) != 1)
		return lost(c, what);
	c->pipelined = true;
	return TEELIZA_OK;
}

static bool succeeded(const PGresult *r)
{
	ExecStatusType t = PQresultStatus(r);

	return t == PGRES_COMMAND_OK || t == PGRES_TUPLES_OK;
}

/*
 * Send the sync and read every queued command's result in order (each is
 * one result, then NULL), then the sync's. queued: an error while building
 * the pipeline; then no sync is sent and the connection is dropped, so the
 * server rolls back whatever of the operation it already ran.
 */
teeliza_err pg_pipeline_finish(struct pg_conn *c, teeliza_err queued, const char *what)
{
	teeliza_err err = queued;
	PGresult *r;

	if (!c->pipelined)
		return err;
	if (queued != TEELIZA_OK) {
		/* never let half an operation commit: a dropped connection's transaction is rolled back */
		c->broken = true;
		c->pipelined = false;
		return err;
	}
	teeliza_metrics_count_db_round_trip(); /* everything queued goes out with the sync; one wait for the answers */
	if (PQpipelineSync(c->c) != 1) {
		c->pipelined = false;
		return lost(c, what);
	}
	for (size_t i = 0; i < c->n_queued && !c->broken; i++) {
		const struct pg_queued *q = &c->queued[i];

		r = PQgetResult(c->c);
		if (r == NULL) {
			err = err != TEELIZA_OK ? err : lost(c, q->what);
			c->broken = true;
			break;
		}
		if (!succeeded(r) && q->prepares >= 0)
			c->prepared &= ~(1u << q->prepares);
		if (err == TEELIZA_OK && !succeeded(r)) {
			err = pg_fail_result(c, r, q->what); /* the first failure; the rest are PGRES_PIPELINE_ABORTED */
			if (q->failed != NULL)
				err = q->failed(q->read_ctx, c, err);
		}
		else if (err == TEELIZA_OK && q->read != NULL)
			err = q->read(q->read_ctx, r);
		PQclear(r);
		r = PQgetResult(c->c); /* the end of this command's results */
		if (r != NULL) {
			PQclear(r);
			c->broken = true;
			err = err != TEELIZA_OK ? err : teeliza_set_error(TEELIZA_ERR_PROTOCOL, "%s: results out of step", what);
		}
	}
	if (!c->broken) {
		r = PQgetResult(c->c);
		if (r == NULL || PQresultStatus(r) != PGRES_PIPELINE_SYNC) {
			c->broken = true;
			if (err == TEELIZA_OK)
				err = r == NULL ? lost(c, what)
				                : teeliza_set_error(TEELIZA_ERR_PROTOCOL, "%s: no sync at the pipeline's end", what);
		}
		PQclear(r);
	}
	c->pipelined = false;
	if (!c->broken && PQexitPipelineMode(c->c) != 1)
		c->broken = true;
	return err;
}
