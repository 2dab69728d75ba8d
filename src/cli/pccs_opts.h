/*
 * The PCCS options that `verify` and `collateral` share: where collateral
 * is fetched from (--pccs-url, else PCCS_URL; neither: offline), the cache
 * (--collateral-cache DIR, else TEELIZA_COLLATERAL_CACHE, else the XDG
 * cache; --no-collateral-cache for none) and --pccs-allow-http.
 */
#ifndef TEELIZA_CLI_PCCS_OPTS_H
#define TEELIZA_CLI_PCCS_OPTS_H

#include "teeliza/dcap/pccs.h"

#include <stdbool.h>

struct pccs_cli {
	const char *url;          /* --pccs-url */
	const char *cache_dir;    /* --collateral-cache */
	bool no_cache;            /* --no-collateral-cache */
	bool allow_http;          /* --pccs-allow-http */
	char dir_buf[1024];       /* the default directory, when used */
};

/* The PCCS URL: --pccs-url, else a non-empty PCCS_URL, else NULL (offline). */
const char *pccs_cli_url(const struct pccs_cli *p);

/*
 * Fill cfg from p (cfg->url = pccs_cli_url). Checks the URL; says loudly on
 * stderr when it is plain http to a host that is not loopback. need_url:
 * no URL is an error. Returns EXIT_OK or an exit code (said on stderr).
 */
int pccs_cli_config(dcap_pccs_config *cfg, struct pccs_cli *p, const char *cmd, bool need_url);

/* The cache directory: --collateral-cache, else TEELIZA_COLLATERAL_CACHE, else the XDG default. */
int pccs_cli_cache_dir(const char **dir, struct pccs_cli *p, const char *cmd);

/* One line on stderr: where the collateral came from (cache, PCCS, cache while the PCCS fails). */
void pccs_cli_report(const char *cmd, const dcap_collateral_got *got);

/* The help rows, for a command's option table (T has a struct pccs_cli field f). */
#define PCCS_CLI_ROWS(T, f)                                                                                   \
	CLI_OPT_STRING(T, f.url, "pccs-url", 0, "URL",                                                        \
	               "fetch collateral from this PCCS / Intel PCS (else\n"                                   \
	               "PCCS_URL; neither: offline, nothing is fetched):\n"                                    \
	               DCAP_PCCS_DEFAULT_URL " (dcap-qvl's default) or\n"                                        \
	               DCAP_INTEL_PCS_URL),                                                                   \
	CLI_OPT_STRING(T, f.cache_dir, "collateral-cache", 0, "DIR",                                          \
	               "cache fetched collateral in DIR (else\n"                                               \
	               "TEELIZA_COLLATERAL_CACHE, else ~/.cache/teeliza/collateral)"),                       \
	CLI_OPT_FLAG(T, f.no_cache, "no-collateral-cache", 0, "fetch every time, keep nothing on disk"),     \
	CLI_OPT_FLAG(T, f.allow_http, "pccs-allow-http", 0,                                                   \
	             "allow plain http to a PCCS that is not on loopback")

#endif
