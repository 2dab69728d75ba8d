/*
 * A per-client budget of requests per minute for routes that cost a quote or
 * a verification (api_rate.c): GET /agents/:id/attestation, POST
 * /verify/reply and the dashboard's chain view. A fixed table hashed by the
 * client's address; two clients that share a slot share its budget (never
 * more than the limit for anyone).
 */
#ifndef TEELIZA_AGENT_API_RATE_H
#define TEELIZA_AGENT_API_RATE_H

#include "agent/api/api_route.h"

#include <pthread.h>
#include <stdint.h>

#define API_RATE_SLOTS 256u

typedef struct api_rate_slot {
	char client[64];
	int64_t window_start_ms;
	unsigned count;
} api_rate_slot;

typedef struct api_rate {
	pthread_mutex_t lock;
	unsigned per_min;
	api_rate_slot slots[API_RATE_SLOTS];
} api_rate;

#define API_RATE_INIT(n) {PTHREAD_MUTEX_INITIALIZER, (n), {{{0}, 0, 0}}}

/* One more request of client: 0 when allowed, else the seconds to wait. */
unsigned api_rate_check(api_rate *r, const char *client);

/* 429 with message and a Retry-After of wait seconds. */
void api_reply_rate_limited(http_server_reply *reply, unsigned wait, const char *message);

#endif
