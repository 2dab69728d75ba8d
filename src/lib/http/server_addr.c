/*
 * What the server knows about a peer from its address: whether it is local
 * (loopback or a unix socket), and which client it counts as for the
 * per-client limits (server_guard.c).
 */
#include "http/server_guard.h"

#include <netinet/in.h>
#include <string.h>
#include <sys/un.h>

/* ::ffff:a.b.c.d, how a dual-stack socket shows an IPv4 peer. */
static bool v4_mapped(const struct in6_addr *a)
{
	static const uint8_t prefix[12] = {0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xff};

	return memcmp(a->s6_addr, prefix, sizeof(prefix)) == 0;
}

bool http_sockaddr_is_local(const struct sockaddr *sa, size_t len)
{
	const struct sockaddr_in *in4;
	const struct sockaddr_in6 *in6;

	if (sa == NULL || len < sizeof(sa->sa_family))
		return false;
	switch (sa->sa_family) {
	case AF_UNIX:
		return true;
	case AF_INET:
		if (len < sizeof(*in4))
			return false;
		in4 = (const struct sockaddr_in *)(const void *)sa;
		return (ntohl(in4->sin_addr.s_addr) >> 24) == 127;
	case AF_INET6:
		if (len < sizeof(*in6))
			return false;
		in6 = (const struct sockaddr_in6 *)(const void *)sa;
		if (IN6_IS_ADDR_LOOPBACK(&in6->sin6_addr))
			return true;
		return v4_mapped(&in6->sin6_addr) && in6->sin6_addr.s6_addr[12] == 127;
	default:
		return false;
	}
}

bool http_client_id_of(http_client_id *key, const struct sockaddr *sa, size_t len)
{
	const struct sockaddr_in *in4;
	const struct sockaddr_in6 *in6;
	uint64_t v = 0;
	size_t i;

	memset(key, 0, sizeof(*key));
	if (sa == NULL || len < sizeof(sa->sa_family))
		return false;
	if (sa->sa_family == AF_INET && len >= sizeof(*in4)) {
		in4 = (const struct sockaddr_in *)(const void *)sa;
		key->family = 4;
		key->value = ntohl(in4->sin_addr.s_addr);
		return true;
	}
	if (sa->sa_family != AF_INET6 || len < sizeof(*in6))
		return false;
	in6 = (const struct sockaddr_in6 *)(const void *)sa;
	if (v4_mapped(&in6->sin6_addr)) {
		/* the same client whether it reached an IPv4 or a dual-stack listener */
		key->family = 4;
		for (i = 12; i < 16; i++)
			v = v << 8 | in6->sin6_addr.s6_addr[i];
		key->value = v;
		return true;
	}
	key->family = 6;
	for (i = 0; i < 8; i++)
		v = v << 8 | in6->sin6_addr.s6_addr[i];
	key->value = v;
	return true;
}
