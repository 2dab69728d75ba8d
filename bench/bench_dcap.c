/*
 * DCAP quote verification on dcap-qvl's TDX sample (dcapqvl-tdx_quote and its
 * collateral, at now = 1752919234, where dcap-qvl says UpToDate):
 *   dcap.parse           dcap_quote_parse only
 *   dcap.collateral      dcap_collateral_parse_json + free alone (where verify.parse goes)
 *   dcap.verify.parse    dcap_collateral_parse_json + dcap_verify + free, every time
 *                        (what dcap-qvl does on each call: nothing is kept)
 *   dcap.verify.cache    dcap_cache_get on the collateral JSON (SHA-256 lookup) +
 *                        dcap_verify: the JSON arrives with every call, as for
 *                        dcap-qvl, but is parsed and its chains checked once
 *   dcap.verify.reuse    one parsed collateral object shared by every call, whose
 *                        verified chains and signatures it remembers
 * Every verification result is checked (UpToDate, not failed).
 */
#include "bench_util.h"

#include "teeliza/dcap/quote.h"
#include "teeliza/dcap/verify.h"

#include <stdio.h>
#include <string.h>

#define NOW 1752919234
#define MAX_THREADS 2

struct state {
	const teeliza_buf *quote;
	const teeliza_buf *coll_json;
	dcap_collateral *coll;  /* shared, for dcap.verify.reuse */
	dcap_cache *cache;      /* shared, for dcap.verify.cache */
};

static bool parse_once(void *arg)
{
	const struct state *s = arg;
	dcap_quote q;

	if (dcap_quote_parse(&q, s->quote->data, s->quote->len) != TEELIZA_OK)
		return bench_fail("dcap_quote_parse");
	return true;
}

static bool check_result(const dcap_result *res)
{
	if (res->verdict == DCAP_VERDICT_FAILED || res->status != DCAP_STATUS_UP_TO_DATE) {
		fprintf(stderr, "bench: dcap_verify: %s (status \"%s\"), dcap-qvl says UpToDate\n", res->reason,
		        dcap_tcb_status_name(res->status));
		return false;
	}
	return true;
}

static bool verify_with(const struct state *s, dcap_collateral *coll)
{
	dcap_result res;
	teeliza_err err = dcap_verify(&res, s->quote->data, s->quote->len, coll, NOW, NULL, NULL);

	(void)err; /* the verdict says it all; UNTRUSTED would still be a complete verification */
	return check_result(&res);
}

static bool verify_parse_once(void *arg)
{
	const struct state *s = arg;
	dcap_collateral *coll;
	bool ok;

	if (dcap_collateral_parse_json(&coll, (const char *)s->coll_json->data, s->coll_json->len) != TEELIZA_OK)
		return bench_fail("dcap_collateral_parse_json");
	ok = verify_with(s, coll);
	dcap_collateral_free(coll);
	return ok;
}

static bool collateral_once(void *arg)
{
	const struct state *s = arg;
	dcap_collateral *coll;

	if (dcap_collateral_parse_json(&coll, (const char *)s->coll_json->data, s->coll_json->len) != TEELIZA_OK)
		return bench_fail("dcap_collateral_parse_json");
	dcap_collateral_free(coll);
	return true;
}

static bool verify_cache_once(void *arg)
{
	const struct state *s = arg;
	dcap_collateral *coll;
	bool ok;

	if (dcap_cache_get(&coll, s->cache, (const char *)s->coll_json->data, s->coll_json->len) != TEELIZA_OK)
		return bench_fail("dcap_cache_get");
	ok = verify_with(s, coll);
	dcap_collateral_free(coll);
	return ok;
}

static bool verify_reuse_once(void *arg)
{
	const struct state *s = arg;

	return verify_with(s, s->coll);
}

static bool measure(const char *id, bench_op_fn op, struct state *shared, unsigned threads, double seconds)
{
	void *states[MAX_THREADS];
	bench_result r;
	unsigned i;

	for (i = 0; i < threads; i++)
		states[i] = shared; /* read-only, or internally locked (dcap_collateral) */
	if (!bench_run(&r, threads, seconds, op, states))
		return false;
	bench_report(id, &r, "");
	return true;
}

int main(void)
{
	teeliza_buf quote, coll_json;
	struct state st = {0};
	double secs = bench_seconds();
	bool ok;

	if (!bench_read_vector(&quote, "dcapqvl-tdx_quote") ||
	    !bench_read_vector(&coll_json, "dcapqvl-tdx_quote_collateral.json"))
		return 1;
	st.quote = &quote;
	st.coll_json = &coll_json;
	ok = measure("dcap.parse", parse_once, &st, 1, secs) && measure("dcap.collateral", collateral_once, &st, 1, secs) &&
	     measure("dcap.verify.parse", verify_parse_once, &st, 1, secs) &&
	     measure("dcap.verify.parse", verify_parse_once, &st, 2, secs);
	if (ok)
		ok = dcap_cache_new(&st.cache, 0) == TEELIZA_OK || bench_fail("dcap_cache_new");
	ok = ok && measure("dcap.verify.cache", verify_cache_once, &st, 1, secs) &&
	     measure("dcap.verify.cache", verify_cache_once, &st, 2, secs);
	if (ok) {
		dcap_cache_stats cs;

		dcap_cache_get_stats(&cs, st.cache);
		printf("  cache: %llu hits, %llu misses, %zu entries\n", (unsigned long long)cs.hits,
		       (unsigned long long)cs.misses, cs.entries);
		ok = dcap_collateral_parse_json(&st.coll, (const char *)coll_json.data, coll_json.len) == TEELIZA_OK ||
		     bench_fail("dcap_collateral_parse_json");
	}
	ok = ok && measure("dcap.verify.reuse", verify_reuse_once, &st, 1, secs) &&
	     measure("dcap.verify.reuse", verify_reuse_once, &st, 2, secs);
	dcap_collateral_free(st.coll);
	dcap_cache_free(st.cache);
	teeliza_buf_free(&quote);
	teeliza_buf_free(&coll_json);
	return ok ? 0 : 1;
}
