/*
 * `teeliza healthcheck URL`: what a container's HEALTHCHECK runs, so the
 * runtime image needs no curl. Exit 0 on a 2xx reply and 1 on anything
 * else, the two codes Docker gives meaning to (healthy / unhealthy).
 */
#include "cli/cli_opts.h"
#include "teeliza/common/log.h"

#include "teeliza/http/http.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* Docker reads 1 as "unhealthy" (and reserves 2). */
#define EXIT_UNHEALTHY 1

#define DEFAULT_TIMEOUT_MS 5000
#define MAX_TIMEOUT_MS 600000
/* A health reply is small; a dashboard page still fits. */
#define MAX_RESPONSE ((size_t)1 << 20)
#define MAX_METHOD_LEN 16

struct healthcheck_opts {
	const char *method, *data, *unix_socket;
	uint64_t timeout_ms;
	bool quiet, insecure;
};

/*
 * Is url's host loopback (127.0.0.0/8 written as four numbers, [::1],
 * localhost)? --insecure is for those only: a health check of the process
 * next to it, whose HTTPS certificate (RA-TLS) no CA signs.
 */
static bool loopback_url(const char *url)
{
	const char *h = strstr(url, "://"), *end;
	unsigned a, b, c, d;
	char tail;
	size_t n;

	if (h == NULL)
		return false;
	h += 3;
	if (strncmp(h, "[::1]", 5) == 0)
		return h[5] == 0 || h[5] == ':' || h[5] == '/';
	end = h + strcspn(h, ":/?#@");
	if (*end == '@')
		return false; /* user info: no */
	n = (size_t)(end - h);
	if (n == 9 && strncmp(h, "localhost", 9) == 0)
		return true;
	if (n > 15)
		return false;
	{
		char host[16];

		memcpy(host, h, n);
		host[n] = 0;
		if (strspn(host, "0123456789.") != n || sscanf(host, "%3u.%3u.%3u.%3u%c", &a, &b, &c, &d, &tail) != 4)
			return false;
	}
	return a == 127 && b <= 255 && c <= 255 && d <= 255;
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

static int take_method(const struct cli_command *cmd, void *opts, const char *value)
{
	struct healthcheck_opts *o = opts;

	if (!valid_method(value))
		return cli_usage_error(cmd, "bad method (upper-case letters, e.g. GET or POST): %s", value);
	o->method = value;
	return EXIT_OK;
}

static int take_unix_socket(const struct cli_command *cmd, void *opts, const char *value)
{
	struct healthcheck_opts *o = opts;

	if (value[0] == 0)
		return cli_usage_error(cmd, "empty unix socket path");
	o->unix_socket = value;
	return EXIT_OK;
}

static const struct cli_opt healthcheck_rows[] = {
	CLI_OPT_CALL("method", 'X', "M", take_method, "HTTP method (default GET, or POST with --data)"),
	CLI_OPT_STRING(struct healthcheck_opts, data, "data", 'd', "BODY", "request body, sent as application/json"),
	CLI_OPT_CALL("unix-socket", 0, "P", take_unix_socket,
	             "connect to the unix socket P (e.g. /var/run/tappd.sock);\n"
	             "the URL's host is then ignored"),
	CLI_OPT_U64(struct healthcheck_opts, timeout_ms, "timeout", 't', "MS", 1, MAX_TIMEOUT_MS,
	            "bad timeout (1..600000 ms): %s", "whole-request timeout (default 5000)"),
	CLI_OPT_FLAG(struct healthcheck_opts, insecure, "insecure", 'k',
	             "https without a certificate check, for a loopback URL only\n"
	             "(an agent started with --tls: its RA-TLS certificate has no CA)"),
	CLI_OPT_FLAG(struct healthcheck_opts, quiet, "quiet", 'q', "print nothing"),
	CLI_OPT_HELP,
	CLI_OPT_END,
};

static const struct cli_command healthcheck_cmd = {
	.name = "healthcheck",
	.usage = "usage: teeliza healthcheck [options] URL\n"
	         "\n"
	         "Ask URL once; exit 0 when it answers 2xx, 1 otherwise (refused, timed out,\n"
	         "any other status). Meant for a container HEALTHCHECK, e.g.\n"
	         "  teeliza healthcheck http://127.0.0.1:3000/healthz\n"
	         "  teeliza healthcheck -X POST http://127.0.0.1:8090/prpc/Tappd.Version\n"
	         "  teeliza healthcheck --insecure https://127.0.0.1:3000/healthz   (start --tls)\n"
	         "Proxy variables are ignored: a health check is always a direct connection.\n"
	         "\n",
	.usage_end = "\n"
	             "Exit codes: 0 healthy, 1 unhealthy, 64 bad command line.\n",
	.opts = healthcheck_rows,
	.col = 24,
	.shorts = true,
	.errors = CLI_COLON | CLI_NEEDS_VALUE,
};

int healthcheck_main(int argc, char **argv)
{
	struct healthcheck_opts o = {.timeout_ms = DEFAULT_TIMEOUT_MS};
	const char *url;
	http_request req;
	http_response resp;
	teeliza_err err;
	int rc, first;

	rc = cli_parse(&healthcheck_cmd, &o, argc, argv, &first);
	if (rc == EXIT_OK && first >= argc)
		rc = cli_usage_error(&healthcheck_cmd, "missing URL");
	if (rc == EXIT_OK)
		rc = cli_no_args(&healthcheck_cmd, argc, argv, first + 1);
	if (rc)
		return rc == CLI_HELP_SHOWN ? EXIT_OK : rc;
	url = argv[first];
	if (strncmp(url, "http://", 7) != 0 && strncmp(url, "https://", 8) != 0)
		return cli_usage_error(&healthcheck_cmd, "URL must start with http:// or https://: %s", url);
	if (o.insecure && !loopback_url(url))
		return cli_usage_error(&healthcheck_cmd, "--insecure is for a loopback URL only (127.x.x.x, [::1], localhost): %s",
		                       url);

	memset(&req, 0, sizeof(req));
	req.timeout_ms = (long)o.timeout_ms;
	req.unix_socket = o.unix_socket;
	req.method = o.method != NULL ? o.method : o.data != NULL ? "POST" : "GET";
	req.url = url;
	if (o.data != NULL) {
		req.content_type = "application/json";
		req.body = (const uint8_t *)o.data;
		req.body_len = strlen(o.data);
	}
	req.max_response = MAX_RESPONSE;
	req.no_proxy = true;
	req.tls_no_verify = o.insecure;

	err = http_perform(&resp, &req);
	if (err) {
		if (!o.quiet)
			teeliza_logf(stderr, "teeliza healthcheck: unhealthy: %s",
			        teeliza_errmsg()[0] ? teeliza_errmsg() : teeliza_strerror(err));
		return EXIT_UNHEALTHY;
	}
	if (resp.status < 200 || resp.status > 299) {
		if (!o.quiet)
			fprintf(stderr, "teeliza healthcheck: unhealthy: %s %s answered HTTP %ld\n", req.method, url,
			        resp.status);
		http_response_free(&resp);
		return EXIT_UNHEALTHY;
	}
	if (!o.quiet)
		printf("healthy: %s %s answered HTTP %ld\n", req.method, url, resp.status);
	http_response_free(&resp);
	return EXIT_OK;
}
