/*
 * Replies whose completion could not be recorded (api_idempotency.c): the
 * client has its answer and the reply's memories are stored, but the
 * database went away before the claim was marked done (PostgreSQL
 * restarting mid-load). Releasing the claim would make the next retry run
 * the model again; leaving it would make every retry wait out the lease and
 * then run it again. So the completion is kept here and retried by one
 * thread of the API (started and stopped with it), 200 ms after a failure
 * and backing off to 1 s, until it is recorded or the claim is no longer
 * this replica's (NOT_FOUND: another replica took it over after the lease,
 * and its answer is the one kept). It goes on after the lease has run out
 * (a 3 s lease is shorter than a PostgreSQL restart): completing only
 * succeeds while the row is still this owner's and 'processing', so either
 * it is recorded before anyone takes the claim over, and a retry anywhere
 * gets it back, or someone took it over and it is dropped; no replica ever
 * holds a reply other than the one it sends. On this replica the claim is
 * not taken back meanwhile: the entry keeps its in-flight mark
 * (api_idem_unmark when it leaves) and api_idem_begin answers a duplicate
 * from the store or with 409. Bounded: when full the oldest entry is
 * dropped, and an entry is given up PENDING_GRACE_MS after its lease (a
 * database gone that long), both logged. On stop the queue is tried once
 * more; what is left is logged.
 */
#include "agent/api/api_route.h"

#include <errno.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#define BACKOFF_FIRST_MS 200
#define BACKOFF_MAX_MS 1000
#define PENDING_GRACE_MS (10 * 60 * 1000)

typedef struct pending_entry {
	struct pending_entry *next;
	char agent_id[AGENT_UUID_BUFSZ];
	char key[AGENT_REQUEST_KEY_MAX + 1];
	char *response;          /* the stored-reply JSON agent_store_request_complete takes */
	int64_t lease_until_ms;  /* agent_store_now_ms() until which the claim's lease surely runs */
	unsigned tries;
} pending_entry;

struct api_idem_pending {
	agent_store *store;
	FILE *log;
	size_t max;
	pthread_mutex_t lock;
	pthread_cond_t wake;     /* CLOCK_MONOTONIC: an entry was added, or stop */
	pthread_t thread;
	bool stopping;
	pending_entry *head, *tail; /* oldest first */
	size_t n;
	pending_entry *busy;     /* the entry the thread is completing (out of the list) */
};

static bool unreachable(teeliza_err err)
{
	return err == TEELIZA_ERR_CONNECT || err == TEELIZA_ERR_TIMEOUT || err == TEELIZA_ERR_IO;
}

/* An entry leaves the queue: its mark goes, so the key is this replica's to take back again. */
static void entry_free(pending_entry *e)
{
	api_idem_unmark(e->agent_id, e->key);
	free(e->response);
	free(e);
}

static void push_front(struct api_idem_pending *p, pending_entry *e)
{
	e->next = p->head;
	p->head = e;
	if (p->tail == NULL)
		p->tail = e;
	p->n++;
}

static pending_entry *pop_front(struct api_idem_pending *p)
{
	pending_entry *e = p->head;

	if (e != NULL) {
		p->head = e->next;
		if (p->head == NULL)
			p->tail = NULL;
		e->next = NULL;
		p->n--;
	}
	return e;
}

/*
 * One try at recording e. Returns true when e is finished with (recorded,
 * or dropped: not ours any more, lease gone, or an error that a retry
 * cannot mend); false when the database is still unreachable.
 */
static bool try_complete(struct api_idem_pending *p, pending_entry *e)
{
	teeliza_err err;

	if (agent_store_now_ms() - PENDING_GRACE_MS >= e->lease_until_ms) {
		agent_log(p->log, "Request %s: the database stayed unreachable %d minutes past its lease; not recorded "
		          "(a retry may run it again)", e->key, PENDING_GRACE_MS / 60000);
		return true;
	}
	e->tries++;
	err = agent_store_request_complete(p->store, e->agent_id, e->key, e->response);
	if (err == TEELIZA_OK) {
		agent_log(p->log, "Request %s: recorded as done once the database answered again", e->key);
		return true;
	}
	if (unreachable(err)) {
		teeliza_clear_error();
		return false;
	}
	if (err == TEELIZA_ERR_NOT_FOUND)
		agent_log(p->log, "Request %s: no longer this replica's claim to record (taken over after its lease, "
		          "or recorded by a try whose answer was lost): %s", e->key, teeliza_errmsg());
	else
		agent_log(p->log, "Request %s: not recorded: %s", e->key,
		          teeliza_errmsg()[0] ? teeliza_errmsg() : teeliza_strerror(err));
	if (err != TEELIZA_ERR_NOT_FOUND && agent_store_request_release(p->store, e->agent_id, e->key) != TEELIZA_OK)
		teeliza_clear_error();
	teeliza_clear_error();
	return true;
}

/*
 * Try the entries oldest first until one finds the database unreachable.
 * Called with the lock held; drops it around each try. Returns false when
 * an entry is left waiting for the database.
 */
static bool drain(struct api_idem_pending *p, bool once)
{
	pending_entry *e;

	while ((e = pop_front(p)) != NULL && (once || !p->stopping)) {
		bool finished;

		p->busy = e;
		pthread_mutex_unlock(&p->lock);
		finished = try_complete(p, e);
		pthread_mutex_lock(&p->lock);
		p->busy = NULL;
		if (!finished) {
			push_front(p, e);
			return false;
		}
		entry_free(e);
	}
	if (e != NULL)
		push_front(p, e); /* stopping: the final flush tries it */
	return p->head == NULL;
}

static void *retry_thread(void *arg)
{
	struct api_idem_pending *p = arg;
	long backoff = BACKOFF_FIRST_MS;

	pthread_mutex_lock(&p->lock);
	while (!p->stopping) {
		struct timespec until;

		if (p->head == NULL) {
			backoff = BACKOFF_FIRST_MS;
			pthread_cond_wait(&p->wake, &p->lock);
			continue;
		}
		/* a first wait even for a new entry: the database has just failed it */
		clock_gettime(CLOCK_MONOTONIC, &until);
		until.tv_sec += backoff / 1000;
		until.tv_nsec += (backoff % 1000) * 1000000L;
		if (until.tv_nsec >= 1000000000L) {
			until.tv_sec++;
			until.tv_nsec -= 1000000000L;
		}
		while (!p->stopping && pthread_cond_timedwait(&p->wake, &p->lock, &until) != ETIMEDOUT) {
		}
		if (p->stopping)
			break;
		if (drain(p, false))
			backoff = BACKOFF_FIRST_MS;
		else
			backoff = backoff * 2 < BACKOFF_MAX_MS ? backoff * 2 : BACKOFF_MAX_MS;
	}
	pthread_mutex_unlock(&p->lock);
	return NULL;
}

teeliza_err api_idem_pending_start(struct api_idem_pending **out, agent_store *store, FILE *log, size_t max)
{
	struct api_idem_pending *p;
	pthread_condattr_t ca;
	int rc;

	*out = NULL;
	p = calloc(1, sizeof(*p));
	if (p == NULL)
		return teeliza_set_error(TEELIZA_ERR_NOMEM, "out of memory");
	p->store = store;
	p->log = log;
	p->max = max > 0 ? max : API_IDEM_PENDING_MAX;
	if (pthread_mutex_init(&p->lock, NULL) != 0) {
		free(p);
		return teeliza_set_error(TEELIZA_ERR_INTERNAL, "pthread_mutex_init failed");
	}
	rc = pthread_condattr_init(&ca);
	if (rc == 0) {
		rc = pthread_condattr_setclock(&ca, CLOCK_MONOTONIC);
		if (rc == 0)
			rc = pthread_cond_init(&p->wake, &ca);
		pthread_condattr_destroy(&ca);
	}
	if (rc != 0) {
		pthread_mutex_destroy(&p->lock);
		free(p);
		return teeliza_set_error(TEELIZA_ERR_INTERNAL, "pthread_cond_init failed");
	}
	rc = pthread_create(&p->thread, NULL, retry_thread, p);
	if (rc != 0) {
		pthread_cond_destroy(&p->wake);
		pthread_mutex_destroy(&p->lock);
		free(p);
		return teeliza_set_error(TEELIZA_ERR_INTERNAL, "cannot start a thread: %s", strerror(rc));
	}
	*out = p;
	return TEELIZA_OK;
}

void api_idem_pending_add(struct api_idem_pending *p, const char *agent_id, const char *key, char *response,
                          int64_t lease_until_ms)
{
	pending_entry *e = calloc(1, sizeof(*e)), *old = NULL;

	if (e == NULL) {
		agent_log(p->log, "Request %s: out of memory keeping its completion; not recorded", key);
		api_idem_unmark(agent_id, key);
		free(response);
		return;
	}
	snprintf(e->agent_id, sizeof(e->agent_id), "%s", agent_id);
	snprintf(e->key, sizeof(e->key), "%s", key);
	e->response = response;
	e->lease_until_ms = lease_until_ms;
	pthread_mutex_lock(&p->lock);
	if (p->n >= p->max)
		old = pop_front(p);
	if (p->tail != NULL)
		p->tail->next = e;
	else
		p->head = e;
	p->tail = e;
	p->n++;
	pthread_cond_signal(&p->wake);
	pthread_mutex_unlock(&p->lock);
	if (old != NULL) {
		agent_log(p->log, "Request %s: more than %zu completions wait for the database; the oldest is dropped, "
		          "not recorded (a retry may run it again)", old->key, p->max);
		entry_free(old);
	}
}

bool api_idem_pending_has(struct api_idem_pending *p, const char *agent_id, const char *key)
{
	bool found = false;

	if (p == NULL)
		return false;
	pthread_mutex_lock(&p->lock);
	for (pending_entry *e = p->head; e != NULL && !found; e = e->next)
		found = strcmp(e->key, key) == 0 && strcmp(e->agent_id, agent_id) == 0;
	if (!found && p->busy != NULL)
		found = strcmp(p->busy->key, key) == 0 && strcmp(p->busy->agent_id, agent_id) == 0;
	pthread_mutex_unlock(&p->lock);
	return found;
}

void api_idem_pending_stop(struct api_idem_pending *p)
{
	pending_entry *e;
	size_t left;

	if (p == NULL)
		return;
	pthread_mutex_lock(&p->lock);
	p->stopping = true;
	pthread_cond_signal(&p->wake);
	pthread_mutex_unlock(&p->lock);
	pthread_join(p->thread, NULL);
	/* one last try; the first entry that finds the database gone ends it (each try may take a connect timeout) */
	pthread_mutex_lock(&p->lock);
	(void)drain(p, true);
	left = p->n;
	pthread_mutex_unlock(&p->lock);
	if (left > 0)
		agent_log(p->log, "Stopping with %zu answered requests not recorded as done (the database is unreachable); "
		          "their claims lapse with their leases", left);
	while ((e = pop_front(p)) != NULL)
		entry_free(e);
	pthread_cond_destroy(&p->wake);
	pthread_mutex_destroy(&p->lock);
	free(p);
}
