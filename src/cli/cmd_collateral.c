/*
 * `teeliza collateral fetch QUOTE`: fetch a quote's collateral from a PCCS
 * (always asking it, then caching the answer) and print or write it;
 * `teeliza collateral show`: list the cache, fresh or stale.
 */
#include "cli/cli_opts.h"
#include "cli/pccs_opts.h"
#include "teeliza/common/log.h"
#include "teeliza/dcap/pccs.h"

#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#define COLLATERAL_MAX_QUOTE (8u << 20)

struct fetch_opts {
	struct pccs_cli pccs;
	const char *out;
	uint64_t now; /* CLI_UNSET: the clock */
};

static const struct cli_opt fetch_rows[] = {
	PCCS_CLI_ROWS(struct fetch_opts, pccs),
	CLI_OPT_STRING(struct fetch_opts, out, "out", 'o', "FILE", "write the collateral to FILE (default: stdout)"),
	CLI_OPT_U64(struct fetch_opts, now, "now", 0, "UNIX", 0, INT64_MAX, "--now needs Unix seconds, got '%s'",
	            "the time the cache entry is stamped with (default: the clock)"),
	CLI_OPT_HELP,
	CLI_OPT_END,
};

static const struct cli_command fetch_cmd = {
	.name = "collateral fetch",
	.usage = "usage: teeliza collateral fetch QUOTE [--pccs-url URL] [--out FILE]\n"
	         "                                [--collateral-cache DIR | --no-collateral-cache]\n"
	         "\n"
	         "Fetch the collateral a DCAP quote needs (TCB Info for its FMSPC, QE Identity,\n"
	         "the CRL of its PCK CA, the root CA CRL, with their issuer chains) from a PCCS\n"
	         "or Intel PCS, always asking the server, and print it as dcap-qvl JSON (what\n"
	         "`teeliza verify --collateral` reads). It also fills the cache that `verify`,\n"
	         "POST /verify and the dashboard use. QUOTE is a file or '-' (binary, hex or\n"
	         "0x-hex). docs/COLLATERAL.md.\n"
	         "\n",
	.usage_end = "\n"
	             "exit codes: 0 fetched, 3 the quote has no PCK chain to read its FMSPC from, or\n"
	             "  the PCCS answered too much, 64 bad command line, 69 the PCCS is unreachable\n"
	             "  or answered an error, 74 a file could not be read or written (or a 404),\n"
	             "  78 a URL or cache directory refused\n",
	.opts = fetch_rows,
	.col = 24,
};

struct show_opts {
	struct pccs_cli pccs;
	uint64_t now;
	bool json;
};

static const struct cli_opt show_rows[] = {
	CLI_OPT_STRING(struct show_opts, pccs.cache_dir, "collateral-cache", 0, "DIR",
	               "the cache to list (else TEELIZA_COLLATERAL_CACHE,\n"
	               "else ~/.cache/teeliza/collateral)"),
	CLI_OPT_U64(struct show_opts, now, "now", 0, "UNIX", 0, INT64_MAX, "--now needs Unix seconds, got '%s'",
	            "judge freshness at this time (default: the clock)"),
	CLI_OPT_FLAG(struct show_opts, json, "json", 0, "print the entries as a JSON array"),
	CLI_OPT_HELP,
	CLI_OPT_END,
};

static const struct cli_command show_cmd = {
	.name = "collateral show",
	.usage = "usage: teeliza collateral show [--collateral-cache DIR] [--now UNIX] [--json]\n"
	         "\n"
	         "List the collateral cache: TEE, FMSPC, PCK CA, the earliest nextUpdate of each\n"
	         "entry and whether it is still fresh (stale entries are never used: they are\n"
	         "fetched again), when it was fetched and from which PCCS. Nothing is fetched.\n"
	         "\n",
	.opts = show_rows,
	.col = 24,
};

static void utc(char out[32], int64_t t)
{
	time_t tt = (time_t)t;
	struct tm tm;

	if (gmtime_r(&tt, &tm) == NULL || strftime(out, 32, "%Y-%m-%dT%H:%M:%SZ", &tm) == 0)
		snprintf(out, 32, "%lld", (long long)t);
}

static int fetch_main(int argc, char **argv)
{
	struct fetch_opts o;
	dcap_pccs_config cfg;
	dcap_collateral_got got;
	teeliza_buf quote, json;
	teeliza_err err;
	int rc, first;

	memset(&o, 0, sizeof(o));
	o.now = CLI_UNSET;
	rc = cli_parse(&fetch_cmd, &o, argc, argv, &first);
	if (rc != EXIT_OK)
		return rc == CLI_HELP_SHOWN ? EXIT_OK : rc;
	if (argc - first != 1)
		return cli_usage_error(&fetch_cmd, "give exactly one QUOTE (a file, or - for stdin)");
	rc = pccs_cli_config(&cfg, &o.pccs, "collateral fetch", true);
	if (rc)
		return rc;
	rc = cli_read_quote(&quote, "collateral fetch", argv[first], COLLATERAL_MAX_QUOTE);
	if (rc)
		return rc;
	teeliza_buf_init(&json, 8u << 20);
	err = dcap_collateral_obtain(NULL, &json, &got, &cfg, quote.data, quote.len,
	                             o.now == CLI_UNSET ? (int64_t)time(NULL) : (int64_t)o.now, true);
	teeliza_buf_free(&quote);
	if (err) {
		teeliza_buf_free(&json);
		return cli_fail("collateral fetch", err);
	}
	pccs_cli_report("collateral fetch", &got);
	if (o.out != NULL) {
		/* Collateral is public (Intel signs it for anyone): 0644 like --save-collateral. */
		err = teeliza_write_file(o.out, json.data, json.len, 0644);
		rc = err ? cli_fail("collateral fetch", err) : EXIT_OK;
	} else {
		rc = fwrite(json.data, 1, json.len, stdout) == json.len && putchar('\n') != EOF ? EXIT_OK : EXIT_IO;
	}
	teeliza_buf_free(&json);
	return rc;
}

static int show_json(const dcap_cache_entry *e, size_t n)
{
	json_t *arr = json_array();
	char *text;
	char date[32], fetched[32];
	size_t i;

	if (arr == NULL)
		return EXIT_SOFTWARE;
	for (i = 0; i < n; i++) {
		json_t *row;

		if (e[i].error[0]) {
			row = json_pack("{s:s, s:s}", "file", e[i].file, "error", e[i].error);
		} else {
			utc(date, e[i].not_after);
			utc(fetched, e[i].fetched_at);
			row = json_pack("{s:s, s:s, s:s, s:s, s:s, s:s, s:s, s:s}", "file", e[i].file, "tee",
			                e[i].key.sgx ? "sgx" : "tdx", "fmspc", e[i].key.fmspc, "ca", e[i].key.ca, "nextUpdate",
			                date, "state", e[i].fresh ? "fresh" : "stale", "fetchedAt", fetched, "pccs", e[i].url);
		}
		if (row == NULL || json_array_append_new(arr, row) != 0) {
			json_decref(arr);
			return EXIT_SOFTWARE;
		}
	}
	text = json_dumps(arr, JSON_INDENT(2) | JSON_PRESERVE_ORDER);
	json_decref(arr);
	if (text == NULL)
		return EXIT_SOFTWARE;
	printf("%s\n", text);
	free(text);
	return EXIT_OK;
}

static int show_main(int argc, char **argv)
{
	struct show_opts o;
	const char *dir = NULL;
	dcap_cache_entry *e = NULL;
	size_t n = 0, i;
	char date[32], fetched[32];
	teeliza_err err;
	int rc, first;

	memset(&o, 0, sizeof(o));
	o.now = CLI_UNSET;
	rc = cli_parse(&show_cmd, &o, argc, argv, &first);
	if (rc != EXIT_OK)
		return rc == CLI_HELP_SHOWN ? EXIT_OK : rc;
	rc = cli_no_args(&show_cmd, argc, argv, first);
	if (rc)
		return rc;
	rc = pccs_cli_cache_dir(&dir, &o.pccs, "collateral show");
	if (rc)
		return rc;
	err = dcap_collateral_cache_list(&e, &n, dir,
	                                 o.now == CLI_UNSET ? (int64_t)time(NULL) : (int64_t)o.now);
	if (err)
		return cli_fail("collateral show", err);
	if (o.json) {
		rc = show_json(e, n);
		free(e);
		return rc;
	}
	printf("Collateral cache %s: %zu entr%s\n", dir, n, n == 1 ? "y" : "ies");
	if (n > 0)
		printf("%-4s %-12s %-9s %-20s %-5s %-20s %s\n", "TEE", "FMSPC", "CA", "NEXT UPDATE", "STATE", "FETCHED",
		       "PCCS");
	for (i = 0; i < n; i++) {
		if (e[i].error[0]) {
			teeliza_logf(stdout, "%s: unreadable, never used: %s", e[i].file, e[i].error);
			continue;
		}
		utc(date, e[i].not_after);
		utc(fetched, e[i].fetched_at);
		teeliza_logf(stdout, "%-4s %-12s %-9s %-20s %-5s %-20s %s", e[i].key.sgx ? "sgx" : "tdx", e[i].key.fmspc,
		             e[i].key.ca, date, e[i].fresh ? "fresh" : "stale", fetched, e[i].url);
	}
	free(e);
	return EXIT_OK;
}

static void usage(FILE *f)
{
	fprintf(f, "usage: teeliza collateral fetch QUOTE [options]   fetch a quote's collateral from a PCCS\n"
	           "       teeliza collateral show [options]          list the collateral cache\n"
	           "\n"
	           "'teeliza collateral fetch --help' and 'teeliza collateral show --help' describe them.\n"
	           "Nothing is fetched unless a PCCS is named (--pccs-url or PCCS_URL).\n");
}

int collateral_main(int argc, char **argv)
{
	if (argc >= 2 && strcmp(argv[1], "fetch") == 0)
		return fetch_main(argc - 1, argv + 1);
	if (argc >= 2 && strcmp(argv[1], "show") == 0)
		return show_main(argc - 1, argv + 1);
	if (argc >= 2 && (strcmp(argv[1], "--help") == 0 || strcmp(argv[1], "-h") == 0)) {
		/* Both subcommands' help in one text, so docs/CLI.md has them too. */
		usage(stdout);
		printf("\n");
		cli_usage(stdout, &fetch_cmd);
		printf("\n");
		cli_usage(stdout, &show_cmd);
		return EXIT_OK;
	}
	if (argc >= 2)
		fprintf(stderr, "teeliza collateral: unknown subcommand '%s'\n\n", argv[1]);
	usage(stderr);
	return EXIT_USAGE;
}
