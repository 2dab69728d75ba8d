/*
 * The on-disk collateral cache (dcap_collateral_obtain, `teeliza collateral
 * fetch|show`, `teeliza verify` with PCCS_URL) against a loopback PCCS
 * serving the vectors: served while fresh without asking, served while the
 * PCCS is down but the collateral still valid, fetched again past
 * nextUpdate and never served expired; files 0600 in a 0700 directory;
 * damaged or misplaced entries never served.
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <cmocka.h>

#include "pccs_fake.h"
#include "testutil.h"
#include "teeliza/common/common.h"
#include "teeliza/dcap/pccs.h"
#include "teeliza/dcap/verify.h"

#include <dirent.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#define TDX_NOW 1752919234
#define TDX_NOT_AFTER 1752919235 /* the PCK CRL's nextUpdate, 2025-07-19T10:00:35Z: the earliest */
#define SGX_NOW 1752919277

static void rm_rf(const char *dir)
{
	char cmd[600];

	snprintf(cmd, sizeof(cmd), "rm -rf '%s'", dir);
	assert_int_equal(system(cmd), 0);
}

static char *tmpdir(void)
{
	char *d = strdup("/tmp/teeliza-cache-XXXXXX");

	assert_non_null(mkdtemp(d));
	return d;
}

/* The one entry file of dir (its full path in out). */
static void only_entry(char *out, size_t cap, const char *dir)
{
	DIR *d = opendir(dir);
	struct dirent *de;
	int n = 0;

	assert_non_null(d);
	while ((de = readdir(d)) != NULL) {
		if (de->d_name[0] == '.')
			continue;
		snprintf(out, cap, "%s/%s", dir, de->d_name);
		n++;
	}
	closedir(d);
	assert_int_equal(n, 1);
}

static teeliza_err obtain(dcap_collateral **c, dcap_collateral_got *got, const dcap_pccs_config *cfg,
                          const uint8_t *q, size_t qlen, int64_t now)
{
	return dcap_collateral_obtain(c, NULL, got, cfg, q, qlen, now, false);
}

static void test_cache_life(void **state)
{
	pccs_fake p;
	char *top = tmpdir(), dir[300], entry[600];
	dcap_pccs_config cfg = {0};
	dcap_collateral_got got;
	dcap_collateral *c;
	dcap_result r;
	struct stat st;
	size_t qlen;
	uint8_t *quote = vector_read("dcapqvl-tdx_quote", &qlen);

	(void)state;
	/* The cache directory is made (0700) below a directory that exists. */
	snprintf(dir, sizeof(dir), "%s/a/b", top);
	pccs_fake_init(&p, "dcapqvl-tdx_quote_collateral.json", "tdx", "B0C06F000000", "platform");
	pccs_fake_start(&p);
	cfg.url = p.base;
	cfg.cache_dir = dir;
	cfg.timeout_ms = 5000;

	/* First: fetched and cached. */
	assert_int_equal(obtain(&c, &got, &cfg, quote, qlen, TDX_NOW - 1000), TEELIZA_OK);
	assert_int_equal(got.origin, DCAP_ORIGIN_PCCS);
	assert_int_equal(got.not_after, TDX_NOT_AFTER);
	assert_string_equal(got.key.fmspc, "B0C06F000000");
	assert_string_equal(got.key.ca, "platform");
	assert_false(got.key.sgx);
	assert_false(got.cache_write_failed);
	dcap_collateral_free(c);
	assert_int_equal(pccs_fake_requests(&p), 4);
	assert_int_equal(stat(dir, &st), 0);
	assert_int_equal(st.st_mode & 0777, 0700);
	only_entry(entry, sizeof(entry), dir);
	assert_string_equal(entry, got.cache_path);
	assert_int_equal(stat(entry, &st), 0);
	assert_int_equal(st.st_mode & 0777, 0600);

	/* Fresh: served from the cache, the PCCS not asked. */
	assert_int_equal(obtain(&c, &got, &cfg, quote, qlen, TDX_NOW), TEELIZA_OK);
	assert_int_equal(got.origin, DCAP_ORIGIN_CACHE);
	assert_int_equal(got.fetched_at, TDX_NOW - 1000);
	assert_int_equal(pccs_fake_requests(&p), 4);
	dcap_collateral_free(c);

	/* The PCCS gone: still served while fresh, and the quote verifies with it. */
	pccs_fake_stop(&p);
	assert_int_equal(obtain(&c, &got, &cfg, quote, qlen, TDX_NOW), TEELIZA_OK);
	assert_int_equal(got.origin, DCAP_ORIGIN_CACHE);
	assert_int_equal(dcap_verify(&r, quote, qlen, c, TDX_NOW, NULL, NULL), TEELIZA_OK);
	assert_int_equal(r.status, DCAP_STATUS_UP_TO_DATE);
	dcap_collateral_free(c);

	/* Due for a refresh (fetched over refresh_s ago), the PCCS down, still valid: served, saying why. */
	cfg.refresh_s = 10;
	assert_int_equal(obtain(&c, &got, &cfg, quote, qlen, TDX_NOW), TEELIZA_OK);
	assert_int_equal(got.origin, DCAP_ORIGIN_CACHE_OFFLINE);
	assert_non_null(strstr(got.fetch_error, "cannot fetch"));
	assert_int_equal(dcap_verify(&r, quote, qlen, c, TDX_NOW, NULL, NULL), TEELIZA_OK);
	dcap_collateral_free(c);
	cfg.refresh_s = 0;

	/* Past nextUpdate with the PCCS down: never served; the error names both. */
	c = (dcap_collateral *)1;
	assert_int_equal(obtain(&c, &got, &cfg, quote, qlen, TDX_NOT_AFTER + 1), TEELIZA_ERR_CONNECT);
	assert_null(c);
	assert_non_null(strstr(teeliza_errmsg(), "expired at 2025-07-19T10:00:35Z and is not used"));
	assert_non_null(strstr(teeliza_errmsg(), "cannot fetch"));

	/* Past nextUpdate with the PCCS back: fetched again (what it serves then is the verifier's to judge). */
	pccs_fake_start(&p);
	cfg.url = p.base; /* a new port: a new URL, a new entry */
	assert_int_equal(obtain(&c, &got, &cfg, quote, qlen, TDX_NOW - 500), TEELIZA_OK);
	assert_int_equal(got.origin, DCAP_ORIGIN_PCCS);
	dcap_collateral_free(c);
	assert_int_equal(obtain(&c, &got, &cfg, quote, qlen, TDX_NOT_AFTER + 1), TEELIZA_OK);
	assert_int_equal(got.origin, DCAP_ORIGIN_PCCS);
	assert_int_equal(got.fetched_at, TDX_NOT_AFTER + 1);
	assert_int_equal(pccs_fake_requests(&p), 12);
	assert_int_not_equal(dcap_verify(&r, quote, qlen, c, TDX_NOT_AFTER + 1, NULL, NULL), TEELIZA_OK);
	assert_int_equal(r.failure, DCAP_FAIL_EXPIRED);
	dcap_collateral_free(c);
	/* force: fetched although fresh */
	assert_int_equal(dcap_collateral_obtain(&c, NULL, &got, &cfg, quote, qlen, TDX_NOW, true), TEELIZA_OK);
	assert_int_equal(got.origin, DCAP_ORIGIN_PCCS);
	assert_int_equal(pccs_fake_requests(&p), 16);
	dcap_collateral_free(c);

	pccs_fake_free(&p);
	rm_rf(top);
	free(top);
	free(quote);
}

static void test_cache_damage(void **state)
{
	pccs_fake p, ps;
	char *dir = tmpdir(), entry[600], sgx_entry[600], cmd[1400];
	dcap_pccs_config cfg = {0};
	dcap_collateral_got got;
	dcap_collateral *c;
	size_t qlen, slen;
	uint8_t *quote = vector_read("dcapqvl-tdx_quote", &qlen);
	uint8_t *squote = vector_read("dcapqvl-sgx_quote", &slen);
	FILE *f;

	(void)state;
	pccs_fake_init(&p, "dcapqvl-tdx_quote_collateral.json", "tdx", "B0C06F000000", "platform");
	pccs_fake_start(&p);
	cfg.url = p.base;
	cfg.cache_dir = dir;
	assert_int_equal(obtain(&c, &got, &cfg, quote, qlen, TDX_NOW - 10), TEELIZA_OK);
	dcap_collateral_free(c);
	snprintf(entry, sizeof(entry), "%s", got.cache_path);

	/* A damaged entry is not served: fetched again (and replaced). */
	f = fopen(entry, "w");
	assert_non_null(f);
	fputs("{\"teelizaCollateralCache\":1,", f);
	fclose(f);
	assert_int_equal(obtain(&c, &got, &cfg, quote, qlen, TDX_NOW), TEELIZA_OK);
	assert_int_equal(got.origin, DCAP_ORIGIN_PCCS);
	dcap_collateral_free(c);
	assert_int_equal(obtain(&c, &got, &cfg, quote, qlen, TDX_NOW), TEELIZA_OK);
	assert_int_equal(got.origin, DCAP_ORIGIN_CACHE);
	dcap_collateral_free(c);

	/* Another platform's entry under this name is not served either. */
	pccs_fake_init(&ps, "dcapqvl-sgx_quote_collateral.json", "sgx", "00A067110000", "processor");
	pccs_fake_start(&ps);
	cfg.url = ps.base;
	assert_int_equal(obtain(&c, &got, &cfg, squote, slen, SGX_NOW), TEELIZA_OK);
	dcap_collateral_free(c);
	snprintf(sgx_entry, sizeof(sgx_entry), "%s", got.cache_path);
	pccs_fake_free(&ps);
	snprintf(cmd, sizeof(cmd), "cp '%s' '%s'", sgx_entry, entry);
	assert_int_equal(system(cmd), 0);
	cfg.url = p.base;
	pccs_fake_stop(&p);
	assert_int_equal(obtain(&c, &got, &cfg, quote, qlen, TDX_NOW), TEELIZA_ERR_CONNECT);

	/* A directory others may write to is refused. */
	assert_int_equal(chmod(dir, 0777), 0);
	assert_int_equal(obtain(&c, &got, &cfg, quote, qlen, TDX_NOW), TEELIZA_ERR_CONFIG);
	assert_non_null(strstr(teeliza_errmsg(), "writable by others"));
	assert_int_equal(chmod(dir, 0700), 0);
	/* A file where the directory should be */
	cfg.cache_dir = entry;
	assert_int_equal(obtain(&c, &got, &cfg, quote, qlen, TDX_NOW), TEELIZA_ERR_CONFIG);

	pccs_fake_free(&p);
	rm_rf(dir);
	free(dir);
	free(quote);
	free(squote);
}

static void test_cache_list(void **state)
{
	pccs_fake p, ps;
	char *dir = tmpdir(), junk[600];
	dcap_pccs_config cfg = {0};
	dcap_collateral_got got;
	dcap_cache_entry *e;
	size_t n, qlen, slen, i;
	uint8_t *quote = vector_read("dcapqvl-tdx_quote", &qlen);
	uint8_t *squote = vector_read("dcapqvl-sgx_quote", &slen);
	FILE *f;

	(void)state;
	/* no directory: no entries */
	assert_int_equal(dcap_collateral_cache_list(&e, &n, "/nonexistent/teeliza", TDX_NOW), TEELIZA_OK);
	assert_int_equal(n, 0);
	pccs_fake_init(&p, "dcapqvl-tdx_quote_collateral.json", "tdx", "B0C06F000000", "platform");
	pccs_fake_init(&ps, "dcapqvl-sgx_quote_collateral.json", "sgx", "00A067110000", "processor");
	pccs_fake_start(&p);
	pccs_fake_start(&ps);
	cfg.cache_dir = dir;
	cfg.url = p.base;
	assert_int_equal(dcap_collateral_obtain(NULL, NULL, &got, &cfg, quote, qlen, TDX_NOW, false), TEELIZA_OK);
	cfg.url = ps.base;
	assert_int_equal(dcap_collateral_obtain(NULL, NULL, &got, &cfg, squote, slen, SGX_NOW, false), TEELIZA_OK);
	/* files the cache did not write are not listed; a damaged entry is listed as such */
	snprintf(junk, sizeof(junk), "%s/notes.txt", dir);
	f = fopen(junk, "w");
	fputs("x", f);
	fclose(f);
	snprintf(junk, sizeof(junk), "%s/tdx-000000000000-platform-0123456789abcdef.json", dir);
	f = fopen(junk, "w");
	fputs("[]", f);
	fclose(f);
	assert_int_equal(dcap_collateral_cache_list(&e, &n, dir, TDX_NOW), TEELIZA_OK);
	assert_int_equal(n, 3);
	for (i = 0; i < n; i++) {
		if (strncmp(e[i].file, "tdx-000000000000", 16) == 0) {
			assert_true(e[i].error[0] != '\0');
		} else if (strncmp(e[i].file, "tdx-", 4) == 0) {
			assert_string_equal(e[i].key.fmspc, "B0C06F000000");
			assert_string_equal(e[i].url, p.base);
			assert_true(e[i].fresh);
			assert_int_equal(e[i].not_after, TDX_NOT_AFTER);
		} else {
			assert_true(e[i].key.sgx);
			assert_string_equal(e[i].key.ca, "processor");
			assert_string_equal(e[i].key.fmspc, "00A067110000");
		}
	}
	free(e);
	assert_int_equal(dcap_collateral_cache_list(&e, &n, dir, TDX_NOT_AFTER + 1), TEELIZA_OK);
	for (i = 0; i < n; i++)
		if (strncmp(e[i].file, "tdx-B0", 6) == 0)
			assert_false(e[i].fresh);
	free(e);
	pccs_fake_free(&p);
	pccs_fake_free(&ps);
	rm_rf(dir);
	free(dir);
	free(quote);
	free(squote);
}

/* `teeliza collateral fetch|show` and `teeliza verify` through PCCS_URL and the cache. */
static void test_cli(void **state)
{
	pccs_fake p;
	char *dir = tmpdir(), cmd[2048], *out = NULL, outfile[600];
	json_t *want, *got;
	json_error_t e;
	teeliza_buf b;
	int rc;

	(void)state;
	pccs_fake_init(&p, "dcapqvl-tdx_quote_collateral.json", "tdx", "B0C06F000000", "platform");
	pccs_fake_start(&p);
	/* fetch prints the collateral, the cache has it */
	snprintf(cmd, sizeof(cmd), "%s collateral fetch %s/dcapqvl-tdx_quote --pccs-url %s --collateral-cache %s/c",
	         TEELIZA_BINARY, TEELIZA_VECTORS, p.base, dir);
	assert_int_equal(run_capture(cmd, &out), 0);
	want = vector_json("dcapqvl-tdx_quote_collateral.json");
	got = json_loads(out, 0, &e);
	assert_non_null(got);
	assert_true(json_equal(want, got));
	json_decref(got);
	free(out);
	/* --out writes it; PCCS_URL and TEELIZA_COLLATERAL_CACHE stand for the options */
	snprintf(outfile, sizeof(outfile), "%s/coll.json", dir);
	snprintf(cmd, sizeof(cmd),
	         "PCCS_URL=%s TEELIZA_COLLATERAL_CACHE=%s/c %s collateral fetch %s/dcapqvl-tdx_quote --out %s 2>&1",
	         p.base, dir, TEELIZA_BINARY, TEELIZA_VECTORS, outfile);
	assert_int_equal(run_capture(cmd, &out), 0);
	assert_non_null(strstr(out, "fetched from the PCCS"));
	free(out);
	assert_int_equal(teeliza_read_file(&b, outfile, 1 << 22), TEELIZA_OK);
	got = json_loadb((const char *)b.data, b.len, 0, &e);
	assert_true(json_equal(want, got));
	json_decref(got);
	json_decref(want);
	teeliza_buf_free(&b);
	assert_int_equal(pccs_fake_requests(&p), 8);

	/* show lists it, fresh before nextUpdate and stale after */
	snprintf(cmd, sizeof(cmd), "PCCS_URL=http://pccs.invalid %s collateral show --collateral-cache %s/c --now %d",
	         TEELIZA_BINARY, dir, TDX_NOW);
	assert_int_equal(run_capture(cmd, &out), 0);
	assert_non_null(strstr(out, "1 entry"));
	assert_non_null(strstr(out, "tdx  B0C06F000000 platform  2025-07-19T10:00:35Z fresh"));
	assert_non_null(strstr(out, p.base));
	free(out);
	snprintf(cmd, sizeof(cmd), "%s collateral show --collateral-cache %s/c --now %d --json", TEELIZA_BINARY, dir,
	         TDX_NOT_AFTER + 1);
	assert_int_equal(run_capture(cmd, &out), 0);
	got = json_loads(out, 0, &e);
	assert_non_null(got);
	assert_string_equal(json_string_value(json_object_get(json_array_get(got, 0), "state")), "stale");
	assert_string_equal(json_string_value(json_object_get(json_array_get(got, 0), "fmspc")), "B0C06F000000");
	json_decref(got);
	free(out);

	/* verify with PCCS_URL and no --collateral: from the cache, the PCCS stopped */
	pccs_fake_stop(&p);
	snprintf(cmd, sizeof(cmd),
	         "PCCS_URL=%s %s verify %s/dcapqvl-tdx_quote --collateral-cache %s/c --now %d 2>&1", p.base,
	         TEELIZA_BINARY, TEELIZA_VECTORS, dir, TDX_NOW);
	rc = run_capture(cmd, &out);
	assert_int_equal(rc, 0);
	assert_non_null(strstr(out, "from the cache"));
	assert_non_null(strstr(out, "UpToDate"));
	free(out);
	/* past nextUpdate: not served, the PCCS unreachable: 69 */
	snprintf(cmd, sizeof(cmd),
	         "PCCS_URL=%s %s verify %s/dcapqvl-tdx_quote --collateral-cache %s/c --now %d 2>&1", p.base,
	         TEELIZA_BINARY, TEELIZA_VECTORS, dir, TDX_NOT_AFTER + 1);
	rc = run_capture(cmd, &out);
	assert_int_equal(rc, 69);
	assert_non_null(strstr(out, "is not used"));
	free(out);
	/* --collateral FILE wins over PCCS_URL: nothing fetched */
	snprintf(cmd, sizeof(cmd),
	         "PCCS_URL=http://pccs.invalid %s verify %s/dcapqvl-tdx_quote --collateral %s --now %d 2>&1",
	         TEELIZA_BINARY, TEELIZA_VECTORS, outfile, TDX_NOW);
	assert_int_equal(run_capture(cmd, &out), 0);
	free(out);
	/* collateral fetch without a PCCS: 64, naming the two documented choices */
	snprintf(cmd, sizeof(cmd), "env -u PCCS_URL %s collateral fetch %s/dcapqvl-tdx_quote 2>&1", TEELIZA_BINARY,
	         TEELIZA_VECTORS);
	assert_int_equal(run_capture(cmd, &out), 64);
	assert_non_null(strstr(out, "https://pccs.phala.network"));
	assert_non_null(strstr(out, "https://api.trustedservices.intel.com"));
	free(out);
	/* plain http off loopback, allowed: a loud warning (and here nothing answers) */
	snprintf(cmd, sizeof(cmd),
	         "%s collateral fetch %s/dcapqvl-tdx_quote --pccs-url http://pccs.invalid --pccs-allow-http "
	         "--no-collateral-cache 2>&1",
	         TEELIZA_BINARY, TEELIZA_VECTORS);
	assert_int_equal(run_capture(cmd, &out), 69);
	assert_non_null(strstr(out, "WARNING: fetching collateral over plain http"));
	free(out);
	pccs_fake_free(&p);
	rm_rf(dir);
	free(dir);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_cache_life),
		cmocka_unit_test(test_cache_damage),
		cmocka_unit_test(test_cache_list),
		cmocka_unit_test(test_cli),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
