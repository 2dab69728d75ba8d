/*
 * Which PostgreSQL server a connection string names, and whether talking to
 * it in plaintext is acceptable. libpq's default sslmode is "prefer": it
 * falls back to plaintext without a word when the server offers no TLS. On
 * loopback or a Unix socket that is harmless; to any other host the
 * conversation (and the password) would cross the network in clear, so an
 * sslmode must be chosen explicitly there, and a plaintext-capable choice
 * is logged loudly.
 */
#include "agent/store/store_pg_internal.h"

#include "teeliza/common/log.h"

#include <arpa/inet.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* Unix socket directory, localhost, 127.0.0.0/8 or ::1. */
static bool loopback(const char *host)
{
	struct in_addr v4;
	struct in6_addr v6;

	if (host[0] == '/' || host[0] == '@' || strcmp(host, "localhost") == 0)
		return true;
	if (inet_pton(AF_INET, host, &v4) == 1)
		return (ntohl(v4.s_addr) >> 24) == 127;
	if (inet_pton(AF_INET6, host, &v6) == 1)
		return IN6_IS_ADDR_LOOPBACK(&v6);
	return false;
}

static const char *option(const PQconninfoOption *opts, const char *key)
{
	for (const PQconninfoOption *o = opts; o->keyword != NULL; o++)
		if (strcmp(o->keyword, key) == 0)
			return o->val != NULL && o->val[0] != '\0' ? o->val : NULL;
	return NULL;
}

/* Every host of a comma-separated list (libpq's multi-host form) is loopback; NULL: the default socket. */
static bool all_loopback(const char *hosts, char *first_remote, size_t cap)
{
	char buf[1024];
	char *save = NULL;

	if (hosts == NULL)
		return true;
	snprintf(buf, sizeof(buf), "%s", hosts);
	for (char *h = strtok_r(buf, ",", &save); h != NULL; h = strtok_r(NULL, ",", &save)) {
		if (!loopback(h)) {
			snprintf(first_remote, cap, "%s", h);
			return false;
		}
	}
	return true;
}

teeliza_err pg_check_conninfo(char *described, size_t cap, const char *conninfo, FILE *log)
{
	PQconninfoOption *opts;
	char *errmsg = NULL, remote[256] = "";
	const char *host, *hostaddr, *port, *db, *sslmode;
	teeliza_err err = TEELIZA_OK;

	opts = PQconninfoParse(conninfo, &errmsg);
	if (opts == NULL) {
		char msg[256];

		/* libpq's message names the offending part, never the password */
		snprintf(msg, sizeof(msg), "%s", errmsg != NULL ? errmsg : "out of memory");
		msg[strcspn(msg, "\n")] = '\0';
		PQfreemem(errmsg);
		return teeliza_set_error(TEELIZA_ERR_CONFIG, "the PostgreSQL connection string does not parse: %s", msg);
	}
	host = option(opts, "host");
	hostaddr = option(opts, "hostaddr");
	port = option(opts, "port");
	db = option(opts, "dbname");
	sslmode = option(opts, "sslmode");
	if (sslmode == NULL) {
		const char *env = getenv("PGSSLMODE");

		sslmode = env != NULL && env[0] != '\0' ? env : NULL;
	}
	if (host == NULL)
		host = getenv("PGHOST");
	snprintf(described, cap, "%s:%s/%s", host != NULL ? host : hostaddr != NULL ? hostaddr : "(local socket)",
	         port != NULL ? port : "5432", db != NULL ? db : "(default database)");
	if (!all_loopback(hostaddr != NULL ? hostaddr : host, remote, sizeof(remote))) {
		if (sslmode == NULL) {
			err = teeliza_set_error(TEELIZA_ERR_CONFIG,
			                        "refusing to reach PostgreSQL at %s without an explicit sslmode: libpq would "
			                        "fall back to plaintext silently; add sslmode=verify-full (or require) to "
			                        "POSTGRES_URL, or sslmode=disable to accept plaintext", remote);
		} else if (strcmp(sslmode, "disable") == 0 || strcmp(sslmode, "allow") == 0 ||
		           strcmp(sslmode, "prefer") == 0) {
			teeliza_logf(log, "WARNING: PostgreSQL at %s with sslmode=%s: the database traffic, password "
			             "included, may cross the network in plaintext", remote, sslmode);
		} else if (strcmp(sslmode, "require") == 0) {
			teeliza_logf(log, "WARNING: PostgreSQL at %s with sslmode=require: encrypted, but the server's "
			             "certificate is not checked; use sslmode=verify-full", remote);
		}
	}
	PQconninfoFree(opts);
	return err;
}
