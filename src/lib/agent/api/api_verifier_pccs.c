/*
 * The verifier's collateral from a PCCS (api_verifier.h): when the agent is
 * configured with one (PCCS_URL), a quote sent to POST /verify or the
 * dashboard without collateral gets it from the on-disk cache while fresh,
 * else from the PCCS, exactly as `teeliza verify` does (dcap/pccs.h). Not
 * configured: nothing is fetched and such a quote gets the 422 advice.
 */
#include "agent/api/api_verifier.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

teeliza_err api_verifier_set_pccs(api_verifier *v, const char *url, const char *cache_dir, bool allow_http)
{
	char *u = NULL, *d = NULL;
	teeliza_err err;

	if (url == NULL || url[0] == '\0')
		return TEELIZA_OK;
	err = dcap_pccs_check_url(NULL, url, allow_http);
	if (err)
		return err;
	u = strdup(url);
	d = cache_dir != NULL && cache_dir[0] != '\0' ? strdup(cache_dir) : NULL;
	if (u == NULL || (cache_dir != NULL && cache_dir[0] != '\0' && d == NULL)) {
		free(u);
		free(d);
		return teeliza_set_error(TEELIZA_ERR_NOMEM, "out of memory");
	}
	free((char *)v->pccs.url);
	free((char *)v->pccs.cache_dir);
	memset(&v->pccs, 0, sizeof(v->pccs));
	v->pccs.url = u;
	v->pccs.cache_dir = d;
	v->pccs.allow_http = allow_http;
	/* A request thread waits for the PCCS: keep it short. */
	v->pccs.timeout_ms = 10000;
	return TEELIZA_OK;
}

teeliza_err api_verifier_pccs_collateral(dcap_collateral **coll, const char **source, char *msg, size_t msg_len,
                                         api_verifier *v, const api_verify_input *in)
{
	dcap_collateral_key key;
	dcap_collateral_got got;
	dcap_pccs_config cfg;
	int64_t clock = (int64_t)time(NULL);
	teeliza_err err;

	*coll = NULL;
	*source = NULL;
	if (v->pccs.url == NULL)
		return TEELIZA_OK;
	/* Only a quote with a PCK chain signed by Intel has collateral a PCCS serves; others get the advice. */
	if (dcap_collateral_key_of(&key, in->quote, in->quote_len) != TEELIZA_OK || !key.intel_signed)
		return TEELIZA_OK;
	cfg = v->pccs;
	pthread_mutex_lock(&v->lock);
	cfg.no_fetch = v->pccs_failed_at != 0 && clock - v->pccs_failed_at >= 0 && clock - v->pccs_failed_at < API_PCCS_BACKOFF_S;
	pthread_mutex_unlock(&v->lock);
	err = dcap_collateral_obtain(coll, NULL, &got, &cfg, in->quote, in->quote_len, in->now, false);
	if (!cfg.no_fetch && (err == TEELIZA_ERR_CONNECT || err == TEELIZA_ERR_TIMEOUT || got.origin == DCAP_ORIGIN_CACHE_OFFLINE)) {
		pthread_mutex_lock(&v->lock);
		v->pccs_failed_at = clock;
		pthread_mutex_unlock(&v->lock);
	}
	if (err) {
		snprintf(msg, msg_len, "cannot get this quote's collateral (FMSPC %s) from the PCCS: %s", key.fmspc,
		         teeliza_errmsg());
		return err;
	}
	*source = got.origin == DCAP_ORIGIN_PCCS    ? "pccs"
	          : got.origin == DCAP_ORIGIN_CACHE ? "cache"
	                                            : "cache (PCCS unreachable)";
	return TEELIZA_OK;
}
