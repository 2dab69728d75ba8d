/*
 * Latency of POST /<agent>/message against a running `teeliza start`, one
 * request at a time over one keep-alive libcurl handle (what a chat client
 * does). Every request is timed with CLOCK_MONOTONIC; the first one is
 * reported apart (it pays for the connection and any lazy set-up), then
 * --count requests are measured and their percentiles printed.
 *
 *   bench_message --url http://127.0.0.1:PORT/Teeliza/message [--count N]
 *                 [--users distinct|one] [--server-pid PID] [--id ID]
 *
 * --users distinct (the default) sends userId "u<i>" for request i, so every
 * message comes from a new user (an account and a room participant are
 * created); --users one sends every message as "u0", one conversation.
 * Bodies are {"text":"hello","userId":"..."}, the same as bench/wrk/message.lua.
 * --server-pid reads the server's CPU time from /proc to give its CPU per message.
 *
 * Prints a readable summary and
 *   AGENT <tab> id <tab> value <tab> unit <tab> note
 * lines that bench/bench_agent.sh collects.
 */
#include "bench_util.h"

#include <curl/curl.h>
#include <errno.h>
#include <getopt.h>
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#define MAX_COUNT 1000000L

struct opts {
	const char *url, *id;
	long count;
	bool one_user;
	long server_pid;
};

static size_t on_body(char *data, size_t size, size_t n, void *arg)
{
	teeliza_buf *body = arg;

	if (teeliza_buf_append(body, data, size * n) != TEELIZA_OK)
		return 0;
	return size * n;
}

/* The reply must be Eliza's JSON array with a text from the agent. */
static bool check_reply(const teeliza_buf *body)
{
	json_error_t jerr;
	json_t *root = json_loadb((const char *)body->data, body->len, 0, &jerr);
	const char *text = NULL;
	bool ok = json_is_array(root) && json_array_size(root) >= 1 &&
	          json_unpack(json_array_get(root, 0), "{s:s}", "text", &text) == 0 && text[0] != 0;

	if (!ok)
		fprintf(stderr, "bench: unexpected /message reply: %.300s\n", (const char *)body->data);
	json_decref(root);
	return ok;
}

/* Server CPU time (utime + stime) in seconds; -1 when unknown. */
static double server_cpu(long pid)
{
	char path[64], line[1024], *p;
	unsigned long long ut = 0, st = 0;
	FILE *f;
	int field;

	if (pid <= 0)
		return -1;
	snprintf(path, sizeof(path), "/proc/%ld/stat", pid);
	f = fopen(path, "r");
	if (f == NULL)
		return -1;
	p = fgets(line, sizeof(line), f);
	fclose(f);
	if (p == NULL || (p = strrchr(line, ')')) == NULL)
		return -1;
	/* p is at the ")" ending field 2; utime and stime are fields 14 and 15: step to the space before 14 */
	for (field = 3; field <= 14 && p != NULL; field++)
		p = strchr(p + 1, ' ');
	if (p == NULL)
		return -1;
	ut = strtoull(p + 1, &p, 10);
	st = strtoull(p, NULL, 10);
	return (double)(ut + st) / (double)sysconf(_SC_CLK_TCK);
}

static bool post_one(double *seconds, CURL *h, teeliza_buf *body, struct opts *o, long i, char *json, size_t json_len)
{
	long status = 0;
	double t0;
	CURLcode rc;
	int n = snprintf(json, json_len, "{\"text\":\"hello\",\"userId\":\"u%ld\"}", o->one_user ? 0L : i);

	if (n < 0 || (size_t)n >= json_len)
		return false;
	teeliza_buf_reset(body);
	curl_easy_setopt(h, CURLOPT_POSTFIELDS, json);
	curl_easy_setopt(h, CURLOPT_POSTFIELDSIZE, (long)n);
	t0 = bench_now();
	rc = curl_easy_perform(h);
	*seconds = bench_now() - t0;
	if (rc != CURLE_OK) {
		fprintf(stderr, "bench: %s: %s\n", o->url, curl_easy_strerror(rc));
		return false;
	}
	curl_easy_getinfo(h, CURLINFO_RESPONSE_CODE, &status);
	if (status != 200) {
		fprintf(stderr, "bench: %s: HTTP %ld: %.300s\n", o->url, status, (const char *)body->data);
		return false;
	}
	return true;
}

static int cmp_double(const void *a, const void *b)
{
	double x = *(const double *)a, y = *(const double *)b;

	return (x > y) - (x < y);
}

/* Nearest-rank percentile of sorted v. */
static double pct(const double *v, long n, double p)
{
	long k = (long)(p / 100.0 * (double)n + 0.999999);

	if (k < 1)
		k = 1;
	if (k > n)
		k = n;
	return v[k - 1];
}

static void metric(const char *prefix, const char *name, double value, const char *unit, const char *note)
{
	printf("AGENT\t%s.%s\t%.3f\t%s\t%s\n", prefix, name, value, unit, note);
}

static bool parse_opts(struct opts *o, int argc, char **argv)
{
	static const struct option longopts[] = {
		{"url", required_argument, NULL, 'u'},   {"count", required_argument, NULL, 'n'},
		{"users", required_argument, NULL, 'U'}, {"server-pid", required_argument, NULL, 'p'},
		{"id", required_argument, NULL, 'i'},    {NULL, 0, NULL, 0},
	};
	char *end;
	long v;
	int c;

	memset(o, 0, sizeof(*o));
	o->count = 1000;
	o->id = "agent.message";
	while ((c = getopt_long(argc, argv, "", longopts, NULL)) != -1) {
		switch (c) {
		case 'u': o->url = optarg; break;
		case 'i': o->id = optarg; break;
		case 'U':
			if (strcmp(optarg, "one") != 0 && strcmp(optarg, "distinct") != 0)
				return false;
			o->one_user = strcmp(optarg, "one") == 0;
			break;
		case 'n':
		case 'p':
			errno = 0;
			v = strtol(optarg, &end, 10);
			if (errno != 0 || *end != 0 || v < 1 || (c == 'n' && v > MAX_COUNT))
				return false;
			if (c == 'n')
				o->count = v;
			else
				o->server_pid = v;
			break;
		default: return false;
		}
	}
	return o->url != NULL && optind == argc;
}

int main(int argc, char **argv)
{
	struct opts o;
	struct curl_slist *headers = NULL;
	teeliza_buf body;
	double *lat = NULL, first, total = 0, wall, cpu0, scpu0, scpu1, mean;
	char json[128], note[256];
	long i, conns = 0;
	CURL *h = NULL;
	int rc = 1;

	if (!parse_opts(&o, argc, argv)) {
		fprintf(stderr, "usage: bench_message --url URL [--count N] [--users distinct|one] [--server-pid PID] "
		                "[--id ID]\n");
		return 2;
	}
	teeliza_buf_init(&body, (size_t)1 << 20);
	curl_global_init(CURL_GLOBAL_DEFAULT);
	h = curl_easy_init();
	headers = curl_slist_append(NULL, "Content-Type: application/json");
	lat = calloc((size_t)o.count, sizeof(*lat));
	if (h == NULL || headers == NULL || lat == NULL) {
		fprintf(stderr, "bench: out of memory\n");
		goto out;
	}
	curl_easy_setopt(h, CURLOPT_URL, o.url);
	curl_easy_setopt(h, CURLOPT_HTTPHEADER, headers);
	curl_easy_setopt(h, CURLOPT_WRITEFUNCTION, on_body);
	curl_easy_setopt(h, CURLOPT_WRITEDATA, &body);
	curl_easy_setopt(h, CURLOPT_TCP_NODELAY, 1L);
	curl_easy_setopt(h, CURLOPT_TIMEOUT, 30L);

	/* the first message opens the connection: timed, and checked, but apart */
	if (!post_one(&first, h, &body, &o, 0, json, sizeof(json)) || !check_reply(&body))
		goto out;
	cpu0 = bench_process_cpu();
	scpu0 = server_cpu(o.server_pid);
	wall = bench_now();
	for (i = 0; i < o.count; i++) {
		if (!post_one(&lat[i], h, &body, &o, i + 1, json, sizeof(json)))
			goto out;
		total += lat[i];
	}
	wall = bench_now() - wall;
	cpu0 = bench_process_cpu() - cpu0;
	scpu1 = server_cpu(o.server_pid);
	if (!check_reply(&body))
		goto out;
	curl_easy_getinfo(h, CURLINFO_NUM_CONNECTS, &conns);
	qsort(lat, (size_t)o.count, sizeof(*lat), cmp_double);
	mean = total / (double)o.count;

	printf("%s: %ld sequential POSTs (%s), 1 keep-alive connection (new connections in the last request: %ld)\n",
	       o.id, o.count, o.one_user ? "one user" : "a new userId each", conns);
	printf("  first message %.3f ms; then p50 %.3f ms, p95 %.3f ms, p99 %.3f ms, max %.3f ms, mean %.3f ms\n",
	       first * 1e3, pct(lat, o.count, 50) * 1e3, pct(lat, o.count, 95) * 1e3, pct(lat, o.count, 99) * 1e3,
	       lat[o.count - 1] * 1e3, mean * 1e3);
	printf("  %.0f msg/s one at a time; client CPU %.1f us/msg", (double)o.count / wall, cpu0 * 1e6 / (double)o.count);
	if (scpu0 >= 0 && scpu1 >= 0)
		printf("; server CPU %.1f us/msg (/proc, 10 ms ticks)", (scpu1 - scpu0) * 1e6 / (double)o.count);
	printf("\n");
	snprintf(note, sizeof(note), "%ld sequential keep-alive POSTs, %s", o.count,
	         o.one_user ? "one userId" : "a new userId each");
	metric(o.id, "first_ms", first * 1e3, "ms", "first POST, opens the connection");
	metric(o.id, "p50_ms", pct(lat, o.count, 50) * 1e3, "ms", note);
	metric(o.id, "p95_ms", pct(lat, o.count, 95) * 1e3, "ms", note);
	metric(o.id, "p99_ms", pct(lat, o.count, 99) * 1e3, "ms", note);
	metric(o.id, "max_ms", lat[o.count - 1] * 1e3, "ms", note);
	metric(o.id, "sequential_per_s", (double)o.count / wall, "msg/s", note);
	if (scpu0 >= 0 && scpu1 >= 0)
		metric(o.id, "server_cpu_us", (scpu1 - scpu0) * 1e6 / (double)o.count, "us/msg", "server CPU from /proc");
	rc = 0;
out:
	free(lat);
	curl_slist_free_all(headers);
	if (h != NULL)
		curl_easy_cleanup(h);
	curl_global_cleanup();
	teeliza_buf_free(&body);
	return rc;
}
