/*
 * The in-flight marks of keyed requests: which Idempotency-Key claims a
 * thread of this process works on (api_idempotency.c) or a kept completion
 * still waits to record (api_idem_pending.c). A file of its own so that
 * those two use it without calling each other.
 */
#include "agent/api/api_route.h"

#include <pthread.h>
#include <stdio.h>
#include <string.h>

/*
 * The keyed requests this process is working on (or claiming), so that a
 * claim this replica still holds but no thread works on (its release failed
 * while the database was gone) is taken back at once on a retry instead of
 * after its lease. A fixed table, one entry per thread on a request and per
 * kept completion; when it is full, every claim counts as worked on (safe:
 * the lease then decides, as for another replica's claim).
 */
#define IN_FLIGHT_SLOTS 512
static pthread_mutex_t in_flight_lock = PTHREAD_MUTEX_INITIALIZER;
static char in_flight[IN_FLIGHT_SLOTS][AGENT_UUID_BUFSZ + AGENT_REQUEST_KEY_MAX + 1];
static size_t in_flight_overflow; /* entries that found no free slot and are still outstanding */

/* op > 0: add an entry for agent/key; op < 0: remove one; op 0: nothing. Returns the entries (other threads' too). */
size_t api_idem_in_flight(const char *agent_id, const char *key, int op)
{
	char entry[sizeof(in_flight[0])];
	size_t i, n = 0, free_slot = IN_FLIGHT_SLOTS, mine = IN_FLIGHT_SLOTS;

	snprintf(entry, sizeof(entry), "%s %s", agent_id, key);
	pthread_mutex_lock(&in_flight_lock);
	for (i = 0; i < IN_FLIGHT_SLOTS; i++) {
		if (strcmp(in_flight[i], entry) == 0) {
			n++;
			mine = i;
		} else if (in_flight[i][0] == '\0' && free_slot == IN_FLIGHT_SLOTS) {
			free_slot = i;
		}
	}
	if (op > 0) {
		if (free_slot < IN_FLIGHT_SLOTS)
			memcpy(in_flight[free_slot], entry, strlen(entry) + 1);
		else
			in_flight_overflow++;
		n++;
	} else if (op < 0) {
		if (mine < IN_FLIGHT_SLOTS)
			in_flight[mine][0] = '\0';
		else if (in_flight_overflow > 0)
			in_flight_overflow--;
		n = n > 0 ? n - 1 : 0;
	}
	if (in_flight_overflow > 0)
		n += IN_FLIGHT_SLOTS; /* cannot tell: count it as worked on */
	pthread_mutex_unlock(&in_flight_lock);
	return n;
}

void api_idem_unmark(const char *agent_id, const char *key)
{
	(void)api_idem_in_flight(agent_id, key, -1);
}
