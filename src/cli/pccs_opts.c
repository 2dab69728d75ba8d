/* The PCCS options of `verify` and `collateral` (pccs_opts.h). */
#include "cli/cli.h"
#include "cli/pccs_opts.h"
#include "teeliza/common/log.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

const char *pccs_cli_url(const struct pccs_cli *p)
{
	const char *env = getenv("PCCS_URL");

	if (p->url != NULL)
		return p->url;
	return env != NULL && env[0] != '\0' ? env : NULL;
}

int pccs_cli_config(dcap_pccs_config *cfg, struct pccs_cli *p, const char *cmd, bool need_url)
{
	bool insecure = false;
	teeliza_err err;

	memset(cfg, 0, sizeof(*cfg));
	cfg->url = pccs_cli_url(p);
	cfg->allow_http = p->allow_http;
	if (cfg->url == NULL && need_url) {
		fprintf(stderr,
		        "teeliza %s: no PCCS: give --pccs-url URL or set PCCS_URL, e.g. %s (dcap-qvl's default)\n"
		        "or %s (Intel's PCS)\n",
		        cmd, DCAP_PCCS_DEFAULT_URL, DCAP_INTEL_PCS_URL);
		return EXIT_USAGE;
	}
	if (cfg->url != NULL) {
		err = dcap_pccs_check_url(&insecure, cfg->url, cfg->allow_http);
		if (err)
			return cli_fail(cmd, err);
		if (insecure)
			teeliza_logf(stderr,
			             "teeliza %s: WARNING: fetching collateral over plain http from %s: anyone on the path "
			             "sees which platform you check and can hold back revocations and TCB updates "
			             "(the collateral itself is signed)",
			             cmd, cfg->url);
	}
	return p->no_cache ? EXIT_OK : pccs_cli_cache_dir(&cfg->cache_dir, p, cmd);
}

int pccs_cli_cache_dir(const char **dir, struct pccs_cli *p, const char *cmd)
{
	const char *env = getenv("TEELIZA_COLLATERAL_CACHE");
	teeliza_err err;

	if (p->cache_dir != NULL && p->cache_dir[0] != '\0') {
		*dir = p->cache_dir;
	} else if (env != NULL && env[0] != '\0') {
		*dir = env;
	} else {
		err = dcap_collateral_cache_default_dir(p->dir_buf, sizeof(p->dir_buf));
		if (err)
			return cli_fail(cmd, err);
		*dir = p->dir_buf;
	}
	return EXIT_OK;
}

static void utc(char out[32], int64_t t)
{
	time_t tt = (time_t)t;
	struct tm tm;

	if (gmtime_r(&tt, &tm) == NULL || strftime(out, 32, "%Y-%m-%dT%H:%M:%SZ", &tm) == 0)
		snprintf(out, 32, "%lld", (long long)t);
}

void pccs_cli_report(const char *cmd, const dcap_collateral_got *got)
{
	char until[32];

	utc(until, got->not_after);
	switch (got->origin) {
	case DCAP_ORIGIN_CACHE:
		teeliza_logf(stderr, "teeliza %s: collateral for FMSPC %s (%s CA) from the cache %s, valid until %s", cmd,
		             got->key.fmspc, got->key.ca, got->cache_path, until);
		break;
	case DCAP_ORIGIN_CACHE_OFFLINE:
		teeliza_logf(stderr,
		             "teeliza %s: the PCCS failed (%s); collateral for FMSPC %s from the cache %s, still valid "
		             "until %s",
		             cmd, got->fetch_error, got->key.fmspc, got->cache_path, until);
		break;
	default:
		teeliza_logf(stderr, "teeliza %s: collateral for FMSPC %s (%s CA) fetched from the PCCS, valid until %s%s%s",
		             cmd, got->key.fmspc, got->key.ca, until, got->cache_path[0] ? ", cached in " : "",
		             got->cache_path);
		if (got->cache_write_failed)
			teeliza_logf(stderr, "teeliza %s: could not cache it: %s", cmd, got->cache_error);
	}
}
