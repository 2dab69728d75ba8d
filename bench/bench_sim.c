/*
 * End-to-end DeriveKey and TdxQuote (tappd service) and GetKey (dstack
 * service, POST /GetKey as the SDK's DstackClient sends it to an http://
 * endpoint) through the simulator over loopback HTTP. GetKey is measured
 * twice: the same path again and again (what an app does; the simulator
 * answers from its cache after the first) and a new path every request
 * (every answer computed: HKDF, a secp256k1 public key and a signature).
 *
 * By default the simulator runs in this process (tee_sim_start on 127.0.0.1,
 * port 0, a fresh state directory) and N client threads, each with one
 * keep-alive libcurl handle, POST the bodies the JS SDK sends for a fixed
 * time. Clients and server then share the same cores, so besides req/s the
 * program splits the CPU time: the client threads' own CPU clocks, and the
 * rest of the process (the server). "server CPU per request" says what the
 * server alone would do on dedicated cores.
 *
 * With --url the server is someone else's (`teeliza simulator` started with
 * taskset by bench/run.sh); --server-pid PID then reads its CPU time from
 * /proc so the same split is printed.
 *
 *   bench_sim [--clients N] [--server-threads N] [--url URL [--server-pid PID]] [--tag SUFFIX]
 *
 * --tag is appended to the result ids (sim.derive_key@ext) to tell placements apart.
 */
#include "bench_util.h"

#include "teeliza/sim/simulator.h"

#include <curl/curl.h>
#include <errno.h>
#include <ftw.h>
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#define MAX_CLIENTS 64

static const char DERIVE_BODY[] = "{\"path\":\"bench\",\"subject\":\"bench\"}";
static const char QUOTE_BODY[] = "{\"report_data\":\"68656c6c6f\"}"; /* tdxQuote("hello") */
/* getKey("wallet/eth", "signing"), as the SDK sends it */
static const char GETKEY_BODY[] = "{\"path\":\"wallet/eth\",\"purpose\":\"signing\",\"algorithm\":\"secp256k1\"}";
/* its key under dstack's simulator keys (spec §1.9), which the in-process simulator holds */
static const char GETKEY_KEY[] = "65cca2e2dcbe516145cc7bcbfea6fab9d7f430d6ea66cd1775f37142c25dfa40";

enum method { M_DERIVE, M_QUOTE, M_GETKEY, M_GETKEY_FRESH };

static const char *const method_ids[] = {"sim.derive_key", "sim.tdx_quote", "sim.get_key", "sim.get_key_fresh"};

struct client {
	CURL *h;
	struct curl_slist *headers;
	char url[600];
	enum method method;
	teeliza_buf body;
	bool checked;
	bool dev_keys;      /* the server holds dstack's simulator keys: check the key itself */
	unsigned id;        /* which client (fresh GetKey paths are per client) */
	unsigned long n;    /* requests so far */
	char request[160];  /* the fresh GetKey body */
};

static size_t on_body(char *data, size_t size, size_t n, void *arg)
{
	struct client *c = arg;

	if (teeliza_buf_append(&c->body, data, size * n) != TEELIZA_OK)
		return 0;
	return size * n;
}

static bool check_reply(const struct client *c)
{
	json_error_t jerr;
	json_t *root = json_loadb((const char *)c->body.data, c->body.len, 0, &jerr);
	const char *key = NULL, *quote = NULL, *log = NULL;
	bool ok;

	if (c->method == M_DERIVE)
		ok = root && json_unpack(root, "{s:s}", "key", &key) == 0 &&
		     strncmp(key, "-----BEGIN PRIVATE KEY-----", 27) == 0;
	else if (c->method == M_GETKEY || c->method == M_GETKEY_FRESH)
		ok = root && json_unpack(root, "{s:s}", "key", &key) == 0 && strlen(key) == 64 &&
		     json_array_size(json_object_get(root, "signature_chain")) == 2 &&
		     (c->method == M_GETKEY_FRESH || !c->dev_keys || strcmp(key, GETKEY_KEY) == 0);
	else
		ok = root && json_unpack(root, "{s:s, s:s}", "quote", &quote, "event_log", &log) == 0 &&
		     strncmp(quote + (strncmp(quote, "0x", 2) == 0 ? 2 : 0), "04000200", 8) == 0 && log[0] == '[';
	if (!ok)
		fprintf(stderr, "bench: unexpected %s reply: %.200s\n", method_ids[c->method], (const char *)c->body.data);
	json_decref(root);
	return ok;
}

static bool request_once(void *arg)
{
	struct client *c = arg;
	long status = 0;
	CURLcode rc;

	teeliza_buf_reset(&c->body);
	if (c->method == M_GETKEY_FRESH) {
		/* a path never asked before: nothing can come from the cache */
		int n = snprintf(c->request, sizeof(c->request),
		                 "{\"path\":\"bench/%u/%lu\",\"purpose\":\"signing\",\"algorithm\":\"secp256k1\"}", c->id,
		                 c->n++);

		curl_easy_setopt(c->h, CURLOPT_POSTFIELDS, c->request);
		curl_easy_setopt(c->h, CURLOPT_POSTFIELDSIZE, (long)n);
	}
	rc = curl_easy_perform(c->h);
	if (rc != CURLE_OK) {
		fprintf(stderr, "bench: %s: %s\n", c->url, curl_easy_strerror(rc));
		return false;
	}
	curl_easy_getinfo(c->h, CURLINFO_RESPONSE_CODE, &status);
	if (status != 200) {
		fprintf(stderr, "bench: %s: HTTP %ld: %.200s\n", c->url, status, (const char *)c->body.data);
		return false;
	}
	if (!c->checked) {
		if (!check_reply(c))
			return false;
		c->checked = true;
	}
	return true;
}

static bool client_init(struct client *c, const char *base, enum method m, unsigned id, bool dev_keys)
{
	const char *body = m == M_DERIVE ? DERIVE_BODY : m == M_QUOTE ? QUOTE_BODY : GETKEY_BODY;
	const char *path = m == M_DERIVE ? "/prpc/Tappd.DeriveKey" : m == M_QUOTE ? "/prpc/Tappd.TdxQuote" : "/GetKey";
	int n = snprintf(c->url, sizeof(c->url), "%s%s", base, path);

	memset(&c->body, 0, sizeof(c->body));
	c->id = id;
	c->n = 0;
	c->dev_keys = dev_keys;
	teeliza_buf_init(&c->body, (size_t)16 << 20);
	c->method = m;
	c->checked = false;
	c->h = curl_easy_init();
	c->headers = curl_slist_append(NULL, "Content-Type: application/json");
	if (n < 0 || (size_t)n >= sizeof(c->url) || c->h == NULL || c->headers == NULL) {
		fprintf(stderr, "bench: cannot set up a libcurl handle\n");
		return false;
	}
	curl_easy_setopt(c->h, CURLOPT_URL, c->url);
	curl_easy_setopt(c->h, CURLOPT_POSTFIELDS, body);
	curl_easy_setopt(c->h, CURLOPT_POSTFIELDSIZE, (long)strlen(body));
	curl_easy_setopt(c->h, CURLOPT_HTTPHEADER, c->headers);
	curl_easy_setopt(c->h, CURLOPT_WRITEFUNCTION, on_body);
	curl_easy_setopt(c->h, CURLOPT_WRITEDATA, c);
	curl_easy_setopt(c->h, CURLOPT_NOSIGNAL, 1L);
	curl_easy_setopt(c->h, CURLOPT_NOPROXY, "*");
	curl_easy_setopt(c->h, CURLOPT_TCP_NODELAY, 1L);
	curl_easy_setopt(c->h, CURLOPT_TIMEOUT_MS, 30000L);
	return true;
}

static void client_free(struct client *c)
{
	curl_easy_cleanup(c->h);
	curl_slist_free_all(c->headers);
	teeliza_buf_free(&c->body);
}

/* utime + stime of another process, in seconds; < 0 when unreadable. */
static double proc_cpu(long pid)
{
	char path[64], text[1024];
	const char *p;
	FILE *f;
	size_t n;
	int field;
	double ticks = (double)sysconf(_SC_CLK_TCK), total = 0;

	if (pid <= 0)
		return -1;
	snprintf(path, sizeof(path), "/proc/%ld/stat", pid);
	f = fopen(path, "r");
	if (f == NULL)
		return -1;
	n = fread(text, 1, sizeof(text) - 1, f);
	fclose(f);
	text[n] = 0;
	p = strrchr(text, ')'); /* the command name may hold spaces */
	if (p == NULL)
		return -1;
	/* after ") " comes field 3 (state); utime and stime are fields 14 and 15 */
	for (field = 2; *p && field < 15;) {
		if (*p++ == ' ') {
			field++;
			if (field == 14 || field == 15)
				total += (double)strtoull(p, NULL, 10);
		}
	}
	return field == 15 ? total / ticks : -1;
}

static int remove_entry(const char *path, const struct stat *st, int flag, struct FTW *ftw)
{
	(void)st;
	(void)flag;
	(void)ftw;
	return remove(path);
}

struct options {
	unsigned clients;
	unsigned server_threads;
	const char *url;
	long server_pid;
	const char *tag;
};

static bool measure(const char *base, enum method m, const struct options *o, double seconds)
{
	struct client cl[MAX_CLIENTS];
	void *states[MAX_CLIENTS];
	char id[96], note[256], cpus[64];
	bench_result r;
	double srv0 = proc_cpu(o->server_pid), srv1, server_cpu;
	long connects, total_connects = 0;
	unsigned i;
	bool ok = true;

	snprintf(id, sizeof(id), "%s%s", method_ids[m], o->tag);
	memset(cl, 0, sizeof(cl)); /* client_free is safe on clients never set up */
	for (i = 0; i < o->clients; i++) {
		ok = ok && client_init(&cl[i], base, m, i, o->url == NULL);
		states[i] = &cl[i];
	}
	ok = ok && bench_run(&r, o->clients, seconds, request_once, states);
	srv1 = proc_cpu(o->server_pid);
	for (i = 0; i < o->clients; i++) {
		connects = 0;
		if (cl[i].h)
			curl_easy_getinfo(cl[i].h, CURLINFO_NUM_CONNECTS, &connects);
		total_connects += connects;
		client_free(&cl[i]);
	}
	if (!ok)
		return false;
	/* in-process: whatever the clients did not use is the server's; else ask /proc */
	server_cpu = o->url ? (srv0 >= 0 && srv1 >= 0 ? srv1 - srv0 : -1) : r.cpu_seconds - r.worker_cpu_seconds;
	bench_cpu_list(cpus, sizeof(cpus));
	if (server_cpu > 0)
		snprintf(note, sizeof(note),
		         "clients=%u server=%s cpus=%s client_cpu_us/req=%.1f server_cpu_us/req=%.1f "
		         "server_req/s/core=%.0f",
		         o->clients, o->url ? "external" : "in-process", cpus,
		         1e6 * r.worker_cpu_seconds / (double)r.ops, 1e6 * server_cpu / (double)r.ops,
		         (double)r.ops / server_cpu);
	else
		snprintf(note, sizeof(note), "clients=%u server=external cpus=%s client_cpu_us/req=%.1f", o->clients,
		         cpus, 1e6 * r.worker_cpu_seconds / (double)r.ops);
	/* the ops/CPU-s column of sim rows is per CPU-second of the server alone */
	r.cpu_seconds = server_cpu > 0 ? server_cpu : 0;
	bench_report(id, &r, note);
	if (total_connects > (long)o->clients) /* the last batch is short, so a few reconnects are fine */
		printf("  note: %ld TCP connections for %u clients (keep-alive broken?)\n", total_connects, o->clients);
	return true;
}

static bool parse_uint(unsigned *out, const char *s, unsigned max)
{
	char *end;
	unsigned long v;

	errno = 0;
	v = strtoul(s, &end, 10);
	if (errno || *end || v == 0 || v > max)
		return false;
	*out = (unsigned)v;
	return true;
}

static bool parse_args(struct options *o, int argc, char **argv)
{
	int i;

	o->clients = 4;
	o->server_threads = 2;
	o->url = NULL;
	o->server_pid = 0;
	o->tag = "";
	for (i = 1; i < argc; i++) {
		const char *a = argv[i], *v = i + 1 < argc ? argv[i + 1] : NULL;
		unsigned pid;

		if (v && strcmp(a, "--clients") == 0 && parse_uint(&o->clients, v, MAX_CLIENTS))
			i++;
		else if (v && strcmp(a, "--server-threads") == 0 && parse_uint(&o->server_threads, v, 64))
			i++;
		else if (v && strcmp(a, "--url") == 0 && (o->url = v) != NULL)
			i++;
		else if (v && strcmp(a, "--tag") == 0 && (o->tag = v) != NULL)
			i++;
		else if (v && strcmp(a, "--server-pid") == 0 && parse_uint(&pid, v, 1u << 30)) {
			o->server_pid = (long)pid;
			i++;
		} else {
			fprintf(stderr,
			        "usage: bench_sim [--clients N] [--server-threads N] [--url URL [--server-pid PID]] "
			        "[--tag SUFFIX]\n");
			return false;
		}
	}
	return true;
}

int main(int argc, char **argv)
{
	struct options o;
	tee_sim *sim = NULL;
	tee_sim_config cfg;
	char state_dir[] = "/tmp/teeliza-bench-sim.XXXXXX", base[128];
	double secs = bench_seconds();
	bool ok;

	if (!parse_args(&o, argc, argv))
		return 2;
	if (curl_global_init(CURL_GLOBAL_DEFAULT) != CURLE_OK)
		return 1;
	if (o.url == NULL) {
		if (mkdtemp(state_dir) == NULL) {
			perror("bench: mkdtemp");
			return 1;
		}
		memset(&cfg, 0, sizeof(cfg));
		cfg.host = "127.0.0.1";
		cfg.port = 0;
		cfg.state_dir = state_dir;
		cfg.threads = o.server_threads;
		cfg.dstack_dev_keys = true;
		cfg.quiet = true;
		if (tee_sim_start(&sim, &cfg) != TEELIZA_OK) {
			bench_fail("tee_sim_start");
			return 1;
		}
		snprintf(base, sizeof(base), "http://127.0.0.1:%u", (unsigned)tee_sim_port(sim));
		printf("simulator in-process on %s, %u server threads, %u client threads\n", base, o.server_threads,
		       o.clients);
	} else {
		snprintf(base, sizeof(base), "%s", o.url);
		printf("simulator at %s, %u client threads\n", base, o.clients);
	}
	ok = measure(base, M_DERIVE, &o, secs) && measure(base, M_QUOTE, &o, secs) && measure(base, M_GETKEY, &o, secs) &&
	     measure(base, M_GETKEY_FRESH, &o, secs);
	if (sim != NULL) {
		tee_sim_stop(sim);
		/* the state dir holds only what the simulator made in it */
		if (nftw(state_dir, remove_entry, 8, FTW_DEPTH | FTW_PHYS) != 0)
			fprintf(stderr, "bench: could not remove %s\n", state_dir);
	}
	curl_global_cleanup();
	return ok ? 0 : 1;
}
