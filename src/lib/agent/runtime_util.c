/* Small things the runtime needs everywhere: the log lock, seeds, loopback test. */
#include "agent/runtime_internal.h"
#include "agent/logring.h"

#include <arpa/inet.h>
#include <openssl/rand.h>
#include <stdarg.h>
#include <string.h>
#include <strings.h>
#include <time.h>

void agent_log(FILE *f, const char *fmt, ...)
{
	va_list ap;

	if (f == NULL)
		f = stderr;
	/* The dashboard's logs view keeps a redacted copy of every line. */
	va_start(ap, fmt);
	agent_logring_vpush(fmt, ap);
	va_end(ap);
	/* flockfile keeps one line (or one multi-line block) of a thread together. */
	flockfile(f);
	va_start(ap, fmt);
	vfprintf(f, fmt, ap);
	va_end(ap);
	fputc('\n', f);
	fflush(f);
	funlockfile(f);
}

uint64_t agent_seed_or_random(uint64_t seed)
{
	struct timespec ts;

	if (seed != 0)
		return seed;
	if (RAND_bytes((unsigned char *)&seed, sizeof(seed)) != 1 || seed == 0) {
		/* Sampling only: a clock-based seed is good enough when the RNG is unavailable. */
		clock_gettime(CLOCK_REALTIME, &ts);
		seed = (uint64_t)ts.tv_nsec ^ ((uint64_t)ts.tv_sec << 20) ^ 0x9e3779b97f4a7c15ull;
	}
	return seed;
}

bool agent_host_is_loopback(const char *host)
{
	struct in_addr a4;
	struct in6_addr a6;

	if (host == NULL)
		return false;
	if (strcasecmp(host, "localhost") == 0)
		return true;
	if (inet_pton(AF_INET, host, &a4) == 1)
		return (ntohl(a4.s_addr) >> 24) == 127;
	if (inet_pton(AF_INET6, host, &a6) == 1)
		return IN6_IS_ADDR_LOOPBACK(&a6);
	return false;
}

teeliza_err agent_error_wrap(teeliza_err err, const char *prefix)
{
	char msg[1024];

	/* Copy first: the detail message is the buffer teeliza_set_error writes to. */
	snprintf(msg, sizeof(msg), "%s", teeliza_errmsg());
	return teeliza_set_error(err, "%s%s", prefix, msg[0] != 0 ? msg : teeliza_strerror(err));
}
