/*
 * `teeliza healthcheck URL`: what a container's HEALTHCHECK runs, so the
 * runtime image needs no curl. Exit 0 on a 2xx reply and 1 on anything
 * else, the two codes Docker gives meaning to (healthy / unhealthy).
 */
#include "cli/cli.h"
#include "teeliza/common/log.h"

#include "teeliza/http/http.h"

#include <errno.h>
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* Docker reads 1 as "unhealthy" (and reserves 2). */
#define EXIT_UNHEALTHY 1

#define DEFAULT_TIMEOUT_MS 5000L
#define MAX_TIMEOUT_MS 600000L
/* A health reply is small; a dashboard page still fits. */
#define MAX_RESPONSE ((size_t)1 << 20)
#define MAX_METHOD_LEN 16

static const char healthcheck_usage[] =
	"usage: teeliza healthcheck [options] URL\n"
	"\n"
	"Ask URL once; exit 0 when it answers 2xx, 1 otherwise (refused, timed out,\n"
	"any other status). Meant for a container HEALTHCHECK, e.g.\n"
	"  teeliza healthcheck http://127.0.0.1:3000/healthz\n"
	"  teeliza healthcheck -X POST http://127.0.0.1:8090/prpc/Tappd.Version\n"
	"Proxy variables are ignored: a health check is always a direct connection.\n"
	"\n"
	"  -X, --method M        HTTP method (default GET, or POST with --data)\n"
	"  -d, --data BODY       request body, sent as application/json\n"
	"      --unix-socket P   connect to the unix socket P (e.g. /var/run/tappd.sock);\n"
	"                        the URL's host is then ignored\n"
	"  -t, --timeout MS      whole-request timeout (default 5000)\n"
	"  -q, --quiet           print nothing\n"
	"\n"
	"Exit codes: 0 healthy, 1 unhealthy, 64 bad command line.\n";

static int usage_error(const char *what, const char *arg)
{
	fprintf(stderr, "teeliza healthcheck: %s%s%s\nrun 'teeliza healthcheck --help' for the options\n", what,
	        arg != NULL ? ": " : "", arg != NULL ? arg : "");
	return EXIT_USAGE;
}

static bool valid_method(const char *m)
{
	size_t n = strlen(m), i;

	if (n == 0 || n > MAX_METHOD_LEN)
		return false;
	for (i = 0; i < n; i++)
		if (m[i] < 'A' || m[i] > 'Z')
			return false;
	return true;
}

static bool parse_timeout(long *out, const char *s)
{
	uint64_t v;

	if (teeliza_parse_u64(&v, s, 1, MAX_TIMEOUT_MS) != TEELIZA_OK)
		return false;
	*out = (long)v;
	return true;
}

int healthcheck_main(int argc, char **argv)
{
	enum { OPT_UNIX_SOCKET = 256 };
	static const struct option opts[] = {
		{"method", required_argument, NULL, 'X'},
		{"data", required_argument, NULL, 'd'},
		{"unix-socket", required_argument, NULL, OPT_UNIX_SOCKET},
		{"timeout", required_argument, NULL, 't'},
		{"quiet", no_argument, NULL, 'q'},
		{"help", no_argument, NULL, 'h'},
		{NULL, 0, NULL, 0},
	};
	const char *method = NULL, *data = NULL, *url;
	http_request req;
	http_response resp;
	bool quiet = false;
	teeliza_err err;
	int c;

	memset(&req, 0, sizeof(req));
	req.timeout_ms = DEFAULT_TIMEOUT_MS;
	optind = 1;
	opterr = 0;
	while ((c = getopt_long(argc, argv, ":X:d:t:qh", opts, NULL)) != -1) {
		switch (c) {
		case 'X':
			if (!valid_method(optarg))
				return usage_error("bad method (upper-case letters, e.g. GET or POST)", optarg);
			method = optarg;
			break;
		case 'd':
			data = optarg;
			break;
		case OPT_UNIX_SOCKET:
			if (optarg[0] == 0)
				return usage_error("empty unix socket path", NULL);
			req.unix_socket = optarg;
			break;
		case 't':
			if (!parse_timeout(&req.timeout_ms, optarg))
				return usage_error("bad timeout (1..600000 ms)", optarg);
			break;
		case 'q':
			quiet = true;
			break;
		case 'h':
			fputs(healthcheck_usage, stdout);
			return EXIT_OK;
		case ':':
			return usage_error("option needs a value", argv[optind - 1]);
		default:
			return usage_error("unknown option", argv[optind - 1]);
		}
	}
	if (optind >= argc)
		return usage_error("missing URL", NULL);
	if (optind + 1 < argc)
		return usage_error("unexpected argument", argv[optind + 1]);
	url = argv[optind];
	if (strncmp(url, "http://", 7) != 0 && strncmp(url, "https://", 8) != 0)
		return usage_error("URL must start with http:// or https://", url);

	req.method = method != NULL ? method : data != NULL ? "POST" : "GET";
	req.url = url;
	if (data != NULL) {
		req.content_type = "application/json";
		req.body = (const uint8_t *)data;
		req.body_len = strlen(data);
	}
	req.max_response = MAX_RESPONSE;
	req.no_proxy = true;

	err = http_perform(&resp, &req);
	if (err) {
		if (!quiet)
			teeliza_logf(stderr, "teeliza healthcheck: unhealthy: %s",
			        teeliza_errmsg()[0] ? teeliza_errmsg() : teeliza_strerror(err));
		return EXIT_UNHEALTHY;
	}
	if (resp.status < 200 || resp.status > 299) {
		if (!quiet)
			fprintf(stderr, "teeliza healthcheck: unhealthy: %s %s answered HTTP %ld\n", req.method, url,
			        resp.status);
		http_response_free(&resp);
		return EXIT_UNHEALTHY;
	}
	if (!quiet)
		printf("healthy: %s %s answered HTTP %ld\n", req.method, url, resp.status);
	http_response_free(&resp);
	return EXIT_OK;
}
