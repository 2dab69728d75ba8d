/*
 * Whether a host name as written (a URL's host, a bind address) means this
 * machine's loopback: the agent API warns when it binds elsewhere without
 * a token, and the model client keeps local servers away from proxies.
 */
#include "teeliza/http/http.h"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <strings.h>

bool http_host_is_loopback(const char *host)
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
