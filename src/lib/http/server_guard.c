/*
 * Connection bookkeeping for http_server (see server_guard.h).
 *
 * libmicrohttpd's own timeout is an idle timeout: a client that sends one
 * header line every few seconds is never idle and holds its connection for
 * ever. So every open connection is on a list with the time its current
 * request began (the connection opened, or the previous reply was sent), and
 * a sweeper thread shuts down the socket of any connection still receiving
 * a request after the deadline. Body bytes extend the deadline (a second per
 * HTTP_SERVER_BODY_MIN_RATE bytes), so an upload that keeps that pace is
 * never cut however big, while a body sent a byte at a time gains nothing. libmicrohttpd then reads end-of-file and
 * closes it as if the client had left. A connection with bytes the server
 * has not read yet is spared: its worker thread is busy with another
 * request (handlers run on the thread that owns the connection), so the
 * server is the slow one, not the client. The sweeper holds the lock while it
 * calls shutdown(), and libmicrohttpd reports a connection CLOSED (which
 * takes the lock) before it closes the descriptor, so the descriptor the
 * sweeper shuts down is always still this connection's.
 *
 * Per-client state (open connections, the rate bucket) lives in a hash table
 * keyed with a random seed, so that no client can pick addresses that all
 * land in one chain. With a rate limit, a client's bucket outlives its last
 * connection until it has refilled (at most a minute), on an idle list that
 * is evicted oldest first when the table is full.
 */
#include "http/server_guard.h"

#include <assert.h>
#include <netinet/in.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/random.h>
#include <sys/un.h>
#include <time.h>

#define SWEEP_INTERVAL_MS 250
/* One request in bucket units: the bucket of a rate-per-minute limit gains `rate` units per millisecond. */
#define RATE_UNIT 60000u
#define RATE_MAX 1000000u
/* Rate-limited clients remembered after their last connection closed. */
#define IDLE_CLIENTS_MAX 16384u

struct client {
	struct client *next;                   /* hash chain */
	struct client *idle_prev, *idle_next;  /* idle list: no connection, bucket not full yet */
	http_client_id id;
	unsigned conns;
	bool idle;
	uint64_t tokens;                       /* RATE_UNIT per request */
	int64_t refilled_ms;
};

struct http_conn {
	struct http_conn *prev, *next;         /* every open connection */
	http_guard *guard;
	struct client *client;                 /* NULL: not counted (unix socket, or refused) */
	void *owner;
	int fd;
	int64_t since_ms;                      /* start of the request being received */
	uint64_t body_bytes;                   /* of that request, so far */
	bool receiving;                        /* the deadline runs */
	bool cut;                              /* socket shut down by us */
};

struct http_guard {
	pthread_mutex_t lock;
	pthread_cond_t wake;
	pthread_t sweeper;
	bool sweeper_started, stopping;
	http_guard_config cfg;
	int64_t timeout_ms;
	struct http_conn *conns;
	struct client **buckets;
	size_t n_buckets;                      /* a power of two */
	size_t n_clients, max_clients;
	struct client *idle_head, *idle_tail;
	uint64_t seed;
};

static int64_t now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

/* A peer address's length from its family: MHD hands out the address without one. */
static size_t sockaddr_len(const struct sockaddr *sa)
{
	if (sa == NULL)
		return 0;
	if (sa->sa_family == AF_INET)
		return sizeof(struct sockaddr_in);
	if (sa->sa_family == AF_INET6)
		return sizeof(struct sockaddr_in6);
	return sizeof(sa->sa_family);
}

static size_t bucket_of(const http_guard *g, const http_client_id *id)
{
	/* splitmix64's finaliser over the seeded key */
	uint64_t x = id->value ^ g->seed ^ ((uint64_t)id->family << 56);

	x ^= x >> 30;
	x *= 0xbf58476d1ce4e5b9ull;
	x ^= x >> 27;
	x *= 0x94d049bb133111ebull;
	x ^= x >> 31;
	return (size_t)(x & (g->n_buckets - 1));
}

static struct client *client_find(const http_guard *g, const http_client_id *id)
{
	struct client *c;

	for (c = g->buckets[bucket_of(g, id)]; c != NULL; c = c->next)
		if (c->id.family == id->family && c->id.value == id->value)
			return c;
	return NULL;
}

static void idle_unlink(http_guard *g, struct client *c)
{
	if (!c->idle)
		return;
	if (c->idle_prev != NULL)
		c->idle_prev->idle_next = c->idle_next;
	else
		g->idle_head = c->idle_next;
	if (c->idle_next != NULL)
		c->idle_next->idle_prev = c->idle_prev;
	else
		g->idle_tail = c->idle_prev;
	c->idle_prev = c->idle_next = NULL;
	c->idle = false;
}

static void client_remove(http_guard *g, struct client *c)
{
	struct client **pp = &g->buckets[bucket_of(g, &c->id)];

	while (*pp != c)
		pp = &(*pp)->next;
	*pp = c->next;
	idle_unlink(g, c);
	g->n_clients--;
	free(c);
}

static uint64_t bucket_capacity(const http_guard *g)
{
	return (uint64_t)g->cfg.rate_limit * RATE_UNIT;
}

static void refill(const http_guard *g, struct client *c, int64_t now)
{
	int64_t elapsed = now - c->refilled_ms;
	uint64_t cap = bucket_capacity(g);

	if (elapsed <= 0)
		return;
	if (elapsed > 60000)
		elapsed = 60000; /* a minute refills any bucket */
	c->tokens += (uint64_t)elapsed * g->cfg.rate_limit;
	if (c->tokens > cap)
		c->tokens = cap;
	c->refilled_ms = now;
}

/* The client's entry, created when new; NULL when the table is full of clients with open connections. */
static struct client *client_get(http_guard *g, const http_client_id *id, int64_t now)
{
	struct client *c = client_find(g, id);
	size_t b;

	if (c != NULL)
		return c;
	if (g->n_clients >= g->max_clients) {
		if (g->idle_head == NULL)
			return NULL;
		client_remove(g, g->idle_head); /* forgets the oldest idle client's rate */
	}
	c = calloc(1, sizeof(*c));
	if (c == NULL)
		return NULL;
	c->id = *id;
	c->tokens = bucket_capacity(g);
	c->refilled_ms = now;
	b = bucket_of(g, id);
	c->next = g->buckets[b];
	g->buckets[b] = c;
	g->n_clients++;
	return c;
}

/* The client's last connection closed: forget it, or keep its unfilled bucket on the idle list. */
static void client_release(http_guard *g, struct client *c, int64_t now)
{
	if (g->cfg.rate_limit != 0) {
		refill(g, c, now);
		if (c->tokens < bucket_capacity(g)) {
			c->idle = true;
			c->idle_prev = g->idle_tail;
			c->idle_next = NULL;
			if (g->idle_tail != NULL)
				g->idle_tail->idle_next = c;
			else
				g->idle_head = c;
			g->idle_tail = c;
			return;
		}
	}
	client_remove(g, c);
}

/* True when the client sent bytes the server has not read: it waits on us. */
static bool unread_input(int fd)
{
	int n = 0;

	return ioctl(fd, FIONREAD, &n) == 0 && n > 0;
}

static void sweep(http_guard *g, int64_t now)
{
	struct http_conn *c;
	struct client *cl, *next;

	for (c = g->conns; c != NULL; c = c->next) {
		if (c->receiving && !c->cut &&
		    now - c->since_ms >= g->timeout_ms + (int64_t)(c->body_bytes * 1000 / HTTP_SERVER_BODY_MIN_RATE) &&
		    !unread_input(c->fd)) {
			(void)shutdown(c->fd, SHUT_RDWR);
			c->cut = true;
		}
	}
	for (cl = g->idle_head; cl != NULL; cl = next) {
		next = cl->idle_next;
		refill(g, cl, now);
		if (cl->tokens >= bucket_capacity(g))
			client_remove(g, cl);
	}
}

static void *sweeper_main(void *arg)
{
	http_guard *g = arg;
	struct timespec until;
	int64_t t;

	pthread_mutex_lock(&g->lock);
	while (!g->stopping) {
		t = now_ms() + SWEEP_INTERVAL_MS;
		until.tv_sec = (time_t)(t / 1000);
		until.tv_nsec = (long)(t % 1000) * 1000000L;
		(void)pthread_cond_timedwait(&g->wake, &g->lock, &until);
		if (!g->stopping)
			sweep(g, now_ms());
	}
	pthread_mutex_unlock(&g->lock);
	return NULL;
}

static size_t pow2_at_least(size_t n)
{
	size_t p = 64;

	while (p < n && p < ((size_t)1 << 20))
		p <<= 1;
	return p;
}

teeliza_err http_guard_new(http_guard **out, const http_guard_config *cfg)
{
	pthread_condattr_t ca;
	http_guard *g;

	assert(out != NULL && cfg != NULL && cfg->max_per_client >= 1 && cfg->request_timeout_s >= 1);
	*out = NULL;
	g = calloc(1, sizeof(*g));
	if (g == NULL)
		return teeliza_set_error(TEELIZA_ERR_NOMEM, "out of memory");
	g->cfg = *cfg;
	if (g->cfg.rate_limit > RATE_MAX)
		g->cfg.rate_limit = RATE_MAX;
	g->timeout_ms = (int64_t)cfg->request_timeout_s * 1000;
	g->max_clients = (size_t)cfg->max_connections + (g->cfg.rate_limit != 0 ? IDLE_CLIENTS_MAX : 0) + 1;
	g->n_buckets = pow2_at_least(g->max_clients / 2);
	g->buckets = calloc(g->n_buckets, sizeof(*g->buckets));
	if (g->buckets == NULL) {
		free(g);
		return teeliza_set_error(TEELIZA_ERR_NOMEM, "out of memory");
	}
	if (getrandom(&g->seed, sizeof(g->seed), 0) != (ssize_t)sizeof(g->seed))
		g->seed = (uint64_t)now_ms() * 0x9e3779b97f4a7c15ull ^ (uint64_t)(uintptr_t)g;
	pthread_mutex_init(&g->lock, NULL);
	pthread_condattr_init(&ca);
	pthread_condattr_setclock(&ca, CLOCK_MONOTONIC);
	pthread_cond_init(&g->wake, &ca);
	pthread_condattr_destroy(&ca);
	if (pthread_create(&g->sweeper, NULL, sweeper_main, g) != 0) {
		http_guard_free(g);
		return teeliza_set_error(TEELIZA_ERR_NOMEM, "cannot start the HTTP server's sweeper thread");
	}
	g->sweeper_started = true;
	*out = g;
	return TEELIZA_OK;
}

void http_guard_stop(http_guard *g)
{
	if (g == NULL || !g->sweeper_started)
		return;
	pthread_mutex_lock(&g->lock);
	g->stopping = true;
	pthread_cond_signal(&g->wake);
	pthread_mutex_unlock(&g->lock);
	pthread_join(g->sweeper, NULL);
	g->sweeper_started = false;
}

void http_guard_free(http_guard *g)
{
	struct http_conn *c, *cn;
	struct client *cl, *next;
	size_t i;

	if (g == NULL)
		return;
	http_guard_stop(g);
	for (c = g->conns; c != NULL; c = cn) {
		cn = c->next;
		free(c);
	}
	for (i = 0; i < g->n_buckets; i++) {
		for (cl = g->buckets[i]; cl != NULL; cl = next) {
			next = cl->next;
			free(cl);
		}
	}
	free(g->buckets);
	pthread_cond_destroy(&g->wake);
	pthread_mutex_destroy(&g->lock);
	free(g);
}

void http_guard_conn_started(http_guard *g, void **socket_context, struct MHD_Connection *con, void *owner)
{
	const union MHD_ConnectionInfo *ai = MHD_get_connection_info(con, MHD_CONNECTION_INFO_CLIENT_ADDRESS);
	const union MHD_ConnectionInfo *fi = MHD_get_connection_info(con, MHD_CONNECTION_INFO_CONNECTION_FD);
	const struct sockaddr *sa = ai != NULL ? ai->client_addr : NULL;
	struct http_conn *c;
	struct client *cl;
	http_client_id id;
	int64_t now = now_ms();

	*socket_context = NULL;
	if (fi == NULL)
		return;
	c = calloc(1, sizeof(*c));
	if (c == NULL) {
		(void)shutdown(fi->connect_fd, SHUT_RDWR); /* no bookkeeping, no service */
		return;
	}
	c->fd = fi->connect_fd;
	c->guard = g;
	c->owner = owner;
	c->since_ms = now;
	c->receiving = true;
	pthread_mutex_lock(&g->lock);
	if (http_client_id_of(&id, sa, sockaddr_len(sa))) {
		cl = client_get(g, &id, now);
		if (cl == NULL || cl->conns >= g->cfg.max_per_client) {
			(void)shutdown(c->fd, SHUT_RDWR);
			c->cut = true;
		} else {
			idle_unlink(g, cl);
			cl->conns++;
			c->client = cl;
		}
	}
	c->next = g->conns;
	if (g->conns != NULL)
		g->conns->prev = c;
	g->conns = c;
	pthread_mutex_unlock(&g->lock);
	*socket_context = c;
}

void http_guard_conn_closed(http_guard *g, void *socket_context)
{
	struct http_conn *c = socket_context;

	if (c == NULL)
		return;
	pthread_mutex_lock(&g->lock);
	if (c->prev != NULL)
		c->prev->next = c->next;
	else
		g->conns = c->next;
	if (c->next != NULL)
		c->next->prev = c->prev;
	if (c->client != NULL && --c->client->conns == 0)
		client_release(g, c->client, now_ms());
	pthread_mutex_unlock(&g->lock);
	free(c);
}

enum MHD_Result http_guard_accept(void *cls, const struct sockaddr *addr, socklen_t addrlen)
{
	http_guard *g = cls;
	const struct client *cl;
	http_client_id id;
	bool ok = true;

	if (!http_client_id_of(&id, addr, (size_t)addrlen))
		return MHD_YES;
	pthread_mutex_lock(&g->lock);
	cl = client_find(g, &id);
	if (cl != NULL && cl->conns >= g->cfg.max_per_client)
		ok = false;
	pthread_mutex_unlock(&g->lock);
	return ok ? MHD_YES : MHD_NO;
}

static struct http_conn *conn_of(struct MHD_Connection *con)
{
	const union MHD_ConnectionInfo *i = MHD_get_connection_info(con, MHD_CONNECTION_INFO_SOCKET_CONTEXT);

	return i != NULL ? i->socket_context : NULL;
}

static http_guard *guard_of_conn(const struct http_conn *c)
{
	return c != NULL ? c->guard : NULL;
}

void http_guard_body_received(struct MHD_Connection *con, size_t n)
{
	struct http_conn *c = conn_of(con);
	http_guard *g = guard_of_conn(c);

	if (g == NULL)
		return;
	pthread_mutex_lock(&g->lock);
	c->body_bytes += n;
	pthread_mutex_unlock(&g->lock);
}

void http_guard_request_received(struct MHD_Connection *con)
{
	struct http_conn *c = conn_of(con);
	http_guard *g = guard_of_conn(c);

	if (g == NULL)
		return;
	pthread_mutex_lock(&g->lock);
	c->receiving = false;
	pthread_mutex_unlock(&g->lock);
}

void http_guard_reply_done(struct MHD_Connection *con)
{
	struct http_conn *c = conn_of(con);
	http_guard *g = guard_of_conn(c);

	if (g == NULL)
		return;
	pthread_mutex_lock(&g->lock);
	c->receiving = true;
	c->since_ms = now_ms();
	c->body_bytes = 0;
	pthread_mutex_unlock(&g->lock);
}

unsigned http_guard_rate_check(struct MHD_Connection *con)
{
	struct http_conn *c = conn_of(con);
	http_guard *g = guard_of_conn(c);
	uint64_t wait_ms;
	unsigned secs = 0;

	if (g == NULL || c->client == NULL || g->cfg.rate_limit == 0)
		return 0;
	pthread_mutex_lock(&g->lock);
	refill(g, c->client, now_ms());
	if (c->client->tokens >= RATE_UNIT) {
		c->client->tokens -= RATE_UNIT;
	} else {
		wait_ms = (RATE_UNIT - c->client->tokens + g->cfg.rate_limit - 1) / g->cfg.rate_limit;
		secs = (unsigned)((wait_ms + 999) / 1000);
		if (secs == 0)
			secs = 1;
	}
	pthread_mutex_unlock(&g->lock);
	return secs;
}

void *http_guard_owner(struct MHD_Connection *con)
{
	struct http_conn *c = conn_of(con);

	return c != NULL ? c->owner : NULL;
}
