/*
 * The simulator's measured state: the event log and the RTMRs replayed
 * from it, and every answer made from them (the two event-log forms, the
 * Info answers). EmitEvent replaces it with a new snapshot holding one
 * more RTMR3 event; requests answer from the snapshot they took, so a
 * quote and the log it comes with never disagree. Snapshots are freed
 * when their last reader lets go.
 */
#include "sim/simsrv.h"

#include "teeliza/tee/dstack_events.h"

#include <stdlib.h>
#include <string.h>

static void view_free(simsrv_view *v)
{
	if (v == NULL)
		return;
	tee_event_log_free(&v->log);
	teeliza_buf_free(&v->log_json);
	teeliza_buf_free(&v->full_log_literal);
	teeliza_buf_free(&v->stripped_log_literal);
	teeliza_buf_free(&v->tappd_info);
	teeliza_buf_free(&v->dstack_info);
	teeliza_buf_free(&v->worker_info);
	free(v);
}

simsrv_view *simsrv_view_get(simsrv_state *st)
{
	simsrv_view *v;

	pthread_mutex_lock(&st->view_lock);
	v = st->view;
	atomic_fetch_add(&v->refs, 1);
	pthread_mutex_unlock(&st->view_lock);
	return v;
}

void simsrv_view_put(simsrv_view *v)
{
	if (v != NULL && atomic_fetch_sub(&v->refs, 1) == 1)
		view_free(v);
}

/*
 * dstack ≥ 0.5.8's GetQuote log (cc-eventlog TdxEvent::stripped): boot
 * events keep their digest and lose the payload, runtime events keep name
 * and payload and lose the digest. Built from shallow copies of the events.
 */
static teeliza_err stripped_json(teeliza_buf *out, const tee_event_log *log)
{
	tee_event_log tmp;
	size_t i;
	teeliza_err err;

	tmp.count = tmp.cap = log->count;
	tmp.events = calloc(log->count > 0 ? log->count : 1, sizeof(*tmp.events));
	if (tmp.events == NULL)
		return teeliza_set_error(TEELIZA_ERR_NOMEM, "out of memory");
	for (i = 0; i < log->count; i++) {
		tmp.events[i] = log->events[i];
		if (log->events[i].event_type == SIMSRV_EVENT_TYPE_RUNTIME)
			tmp.events[i].digest_len = 0;
		else
			tmp.events[i].payload_len = 0;
	}
	err = tee_event_log_to_json(out, &tmp);
	free(tmp.events); /* the copies own nothing */
	return err;
}

/* A view over log (taken over, also on failure), with every answer rendered. */
static teeliza_err view_build(simsrv_view **out, const simsrv_state *st, tee_event_log *log)
{
	simsrv_view *v = calloc(1, sizeof(*v));
	teeliza_buf stripped;
	size_t i;
	teeliza_err err;

	*out = NULL;
	if (v == NULL) {
		tee_event_log_free(log);
		return teeliza_set_error(TEELIZA_ERR_NOMEM, "out of memory");
	}
	atomic_init(&v->refs, 1);
	v->log = *log;
	memset(log, 0, sizeof(*log));
	tee_rtmr_replay(v->rtmr, &v->log);
	for (i = 0; i < v->log.count; i++)
		if (v->log.events[i].imr == 3)
			v->runtime_events++;
	teeliza_buf_init(&v->log_json, (size_t)4 << 20);
	teeliza_buf_init(&v->full_log_literal, (size_t)8 << 20);
	teeliza_buf_init(&v->stripped_log_literal, (size_t)8 << 20);
	teeliza_buf_init(&v->tappd_info, (size_t)16 << 20);
	teeliza_buf_init(&v->dstack_info, (size_t)16 << 20);
	teeliza_buf_init(&v->worker_info, (size_t)16 << 20);
	teeliza_buf_init(&stripped, (size_t)4 << 20);
	err = tee_event_log_to_json(&v->log_json, &v->log);
	if (!err)
		err = simsrv_json_string(&v->full_log_literal, (const char *)v->log_json.data, v->log_json.len);
	if (!err)
		err = stripped_json(&stripped, &v->log);
	if (!err)
		err = simsrv_json_string(&v->stripped_log_literal, (const char *)stripped.data, stripped.len);
	if (!err)
		err = simsrv_tappd_info(&v->tappd_info, st, v);
	if (!err)
		err = simsrv_dstack_info(&v->dstack_info, st, v, false);
	if (!err)
		err = simsrv_dstack_info(&v->worker_info, st, v, true);
	teeliza_buf_free(&stripped);
	if (err) {
		view_free(v);
		return err;
	}
	*out = v;
	return TEELIZA_OK;
}

teeliza_err simsrv_view_init(simsrv_state *st)
{
	tee_event_log log;
	teeliza_err err;

	tee_event_log_init(&log);
	err = simsrv_boot_log(&log, &st->app);
	if (err) {
		tee_event_log_free(&log);
		return err;
	}
	return view_build(&st->view, st, &log);
}

void simsrv_view_close(simsrv_state *st)
{
	simsrv_view_put(st->view);
	st->view = NULL;
}

static teeliza_err copy_log(tee_event_log *dst, const tee_event_log *src)
{
	size_t i;
	teeliza_err err = TEELIZA_OK;

	for (i = 0; err == TEELIZA_OK && i < src->count; i++) {
		const tee_event *e = &src->events[i];

		err = tee_event_log_add(dst, e->imr, e->event_type, e->digest, e->digest_len, e->event, e->payload,
		                        e->payload_len);
	}
	return err;
}

teeliza_err simsrv_view_refresh(simsrv_state *st)
{
	simsrv_view *cur = simsrv_view_get(st), *next = NULL;
	tee_event_log log;
	teeliza_err err;

	tee_event_log_init(&log);
	err = copy_log(&log, &cur->log);
	if (err)
		tee_event_log_free(&log);
	else
		err = view_build(&next, st, &log);
	if (!err) {
		pthread_mutex_lock(&st->view_lock);
		simsrv_view_put(st->view);
		st->view = next;
		pthread_mutex_unlock(&st->view_lock);
	}
	simsrv_view_put(cur);
	return err;
}

teeliza_err simsrv_view_emit(simsrv_state *st, const char *event, size_t event_len, const uint8_t *payload,
                             size_t payload_len)
{
	/* what the event adds to the log's JSON: digest, payload and name (escaped at most 6×), keys */
	size_t growth = 2 * TEE_RTMR_LEN + 2 * payload_len + 6 * event_len + 96;
	simsrv_view *cur, *next = NULL;
	tee_event_log log;
	teeliza_err err;

	if (event_len > SIMSRV_EMIT_NAME_MAX)
		return teeliza_set_error(TEELIZA_ERR_TOO_LARGE, "event name is %zu bytes; the simulator allows at most %u",
		                         event_len, SIMSRV_EMIT_NAME_MAX);
	if (memchr(event, 0, event_len) != NULL)
		return teeliza_set_error(TEELIZA_ERR_INVALID, "event name contains a NUL character");
	pthread_mutex_lock(&st->emit_lock);
	cur = simsrv_view_get(st);
	if (cur->log.count + 1 > TEE_DSTACK_EVENTS_MAX || payload_len > SIMSRV_EMIT_LOG_MAX ||
	    cur->log_json.len + growth > SIMSRV_EMIT_LOG_MAX) {
		err = teeliza_set_error(TEELIZA_ERR_TOO_LARGE,
		                        "the simulated event log is full: it holds %zu events (%zu bytes of JSON), and the "
		                        "simulator keeps it under %u events and %zu bytes",
		                        cur->log.count, cur->log_json.len, TEE_DSTACK_EVENTS_MAX, SIMSRV_EMIT_LOG_MAX);
		goto out;
	}
	tee_event_log_init(&log);
	err = copy_log(&log, &cur->log);
	if (!err)
		err = tee_event_log_add_runtime(&log, 3, SIMSRV_EVENT_TYPE_RUNTIME, event, payload, payload_len);
	if (err) {
		tee_event_log_free(&log);
		goto out;
	}
	err = view_build(&next, st, &log);
	if (err)
		goto out;
	pthread_mutex_lock(&st->view_lock);
	simsrv_view_put(st->view); /* the state's reference to cur */
	st->view = next;
	pthread_mutex_unlock(&st->view_lock);
out:
	simsrv_view_put(cur);
	pthread_mutex_unlock(&st->emit_lock);
	return err;
}
