/* Per-client request budgets (api_rate.h). */
#include "agent/api/api_rate.h"
#include "teeliza/agent/store.h"

#include <stdio.h>
#include <string.h>

unsigned api_rate_check(api_rate *r, const char *client)
{
	uint64_t h = 1469598103934665603ULL;
	api_rate_slot *s;
	int64_t now = agent_store_now_ms();
	unsigned wait = 0;

	for (const char *p = client; *p; p++)
		h = (h ^ (uint8_t)*p) * 1099511628211ULL;
	pthread_mutex_lock(&r->lock);
	s = &r->slots[h % API_RATE_SLOTS];
	if (strncmp(s->client, client, sizeof(s->client)) != 0 || now - s->window_start_ms >= 60000) {
		snprintf(s->client, sizeof(s->client), "%s", client);
		s->window_start_ms = now;
		s->count = 0;
	}
	if (s->count >= r->per_min)
		wait = (unsigned)((60000 - (now - s->window_start_ms)) / 1000) + 1;
	else
		s->count++;
	pthread_mutex_unlock(&r->lock);
	return wait;
}

void api_reply_rate_limited(http_server_reply *reply, unsigned wait, const char *message)
{
	static _Thread_local char retry[40];

	snprintf(retry, sizeof(retry), "Retry-After: %u", wait);
	api_reply_error(reply, 429, message);
	reply->extra_headers[0] = retry;
}
