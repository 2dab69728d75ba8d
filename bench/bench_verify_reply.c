/*
 * verify-reply over a whole chain of reply bundles, in process, one thread,
 * with the collateral parsed once and reused (as the cache serves it: the
 * collateral's chains and signatures are checked on the first verification
 * and remembered). Each operation is one tee_verify_reply of bundle i
 * against receipt i-1 (the first against none), cycling over the chain:
 * receipt, Ed25519 signature, reply key, statement quote (SHA-512 and the
 * full DCAP verification), RTMR0-3 replay, app identity, hash chain.
 * Then both again with the statement cache (tee_reply_cache): the quote,
 * event log, identity and provenance of the agent's statement walked once.
 * Also the whole chain as `verify-reply --chain` checks it: the receipts
 * list parsed, the last bundle verified once, then every receipt (form,
 * Ed25519, key, link), counted per receipt.
 * usage: bench_verify_reply COLLATERAL ROOT_PEM BUNDLE... (bench/bench_verify_reply.sh makes them)
 */
#include "bench_util.h"

#include "teeliza/tee/verify_reply.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

struct state {
	teeliza_buf *bundles;
	teeliza_buf *receipts;
	size_t n, next;
	tee_reply_policy policy;
	tee_reply_verdict *v;
	teeliza_buf chain;       /* the receipts as a --chain file */
};

static bool verify_once(void *arg)
{
	struct state *s = arg;
	size_t i = s->next;

	s->next = (i + 1) % s->n;
	s->policy.prev_receipt = i > 0 ? (const char *)s->receipts[i - 1].data : NULL;
	s->policy.prev_len = i > 0 ? s->receipts[i - 1].len : 0;
	if (tee_verify_reply(s->v, (const char *)s->bundles[i].data, s->bundles[i].len, &s->policy) != TEELIZA_OK)
		return bench_fail("verify-reply");
	return true;
}

/* The whole chain at once: parse the receipts list, verify the last bundle's quote once, then every receipt. */
static bool verify_chain(void *arg)
{
	struct state *s = arg;
	tee_reply_item *items;
	json_t *owner;
	size_t n, bad;
	teeliza_err err;

	if (tee_reply_chain_parse(&owner, &items, &n, (const char *)s->chain.data, s->chain.len) != TEELIZA_OK)
		return bench_fail("chain");
	s->policy.prev_receipt = NULL;
	err = tee_verify_reply_chain(s->v, &bad, (const char *)s->bundles[s->n - 1].data, s->bundles[s->n - 1].len,
	                             items, n, &s->policy);
	free(items);
	json_decref(owner);
	return err == TEELIZA_OK || bench_fail("verify-reply chain");
}

/* The receipts as the route serves them, a JSON array: what --chain reads. */
static bool make_chain(struct state *s)
{
	json_t *a = json_array();
	char *text;

	for (size_t k = 0; k < s->n; k++) {
		json_t *b = json_loadb((const char *)s->bundles[k].data, s->bundles[k].len, 0, NULL);

		json_array_append_new(a, json_pack("{s:O, s:O}", "receipt", json_object_get(b, "receipt"), "signature",
		                                   json_object_get(b, "signature")));
		json_decref(b);
	}
	text = json_dumps(a, JSON_COMPACT);
	json_decref(a);
	if (text == NULL)
		return false;
	teeliza_buf_init(&s->chain, 1u << 24);
	if (teeliza_buf_append_str(&s->chain, text) != TEELIZA_OK) {
		free(text);
		return false;
	}
	free(text);
	return true;
}

int main(int argc, char **argv)
{
	struct state s;
	teeliza_buf coll, pem;
	dcap_collateral *c = NULL;
	dcap_trust *trust = NULL;
	void *states[1] = {&s};
	bench_result r;
	char note[200];
	uint64_t hits = 0, misses = 0;
	int i;

	if (argc < 4) {
		fprintf(stderr, "usage: bench_verify_reply COLLATERAL ROOT_PEM BUNDLE...\n");
		return 64;
	}
	memset(&s, 0, sizeof(s));
	s.n = (size_t)(argc - 3);
	s.bundles = calloc(s.n, sizeof(*s.bundles));
	s.receipts = calloc(s.n, sizeof(*s.receipts));
	s.v = malloc(sizeof(*s.v));
	if (s.bundles == NULL || s.receipts == NULL || s.v == NULL)
		return 70;
	if (teeliza_read_file(&coll, argv[1], 8u << 20) || dcap_collateral_parse_json(&c, (const char *)coll.data, coll.len) ||
	    teeliza_read_file(&pem, argv[2], 1u << 20) || dcap_trust_new(&trust, true) ||
	    dcap_trust_add_pem(trust, (const char *)pem.data, pem.len))
		return bench_fail("collateral or root"), 1;
	for (i = 3; i < argc; i++) {
		size_t k = (size_t)(i - 3);

		teeliza_buf_init(&s.receipts[k], 1u << 20);
		if (teeliza_read_file(&s.bundles[k], argv[i], 8u << 20) ||
		    tee_reply_receipt_text(&s.receipts[k], (const char *)s.bundles[k].data, s.bundles[k].len))
			return bench_fail(argv[i]), 1;
	}
	if (!make_chain(&s))
		return bench_fail("chain"), 1;
	s.policy.collateral = c;
	s.policy.trust = trust;
	s.policy.now = (int64_t)time(NULL);
	for (size_t k = 0; k < s.n; k++) /* every link of every bundle holds before anything is timed */
		if (!verify_once(&s))
			return 1;
	if (!verify_chain(&s))
		return 1;
	if (!bench_run(&r, 1, bench_seconds(), verify_chain, states))
		return 1;
	/* one operation verified s.n receipts: report receipts */
	r.ops *= s.n;
	r.ops_per_s *= (double)s.n;
	snprintf(note, sizeof(note), "receipts/s: chains of %zu (--chain), one quote each + every receipt's signature and link",
	         s.n);
	bench_report("verify-reply.chain", &r, note);
	s.next = 0;
	if (!bench_run(&r, 1, bench_seconds(), verify_once, states))
		return 1;
	snprintf(note, sizeof(note), "bundles/s: each bundle whole (quote, log, identity) against the previous");
	bench_report("verify-reply.bundle", &r, note);
	/* the same with the statement cache: the quote, log, identity and provenance walked once for the agent */
	if (tee_reply_cache_new(&s.policy.cache, c, trust) != TEELIZA_OK)
		return bench_fail("cache"), 1;
	s.next = 0;
	if (!bench_run(&r, 1, bench_seconds(), verify_once, states))
		return 1;
	tee_reply_cache_stats(s.policy.cache, &hits, &misses);
	snprintf(note, sizeof(note), "bundles/s: the same with the statement cache (%llu hits, %llu misses)",
	         (unsigned long long)hits, (unsigned long long)misses);
	bench_report("verify-reply.bundle.cached", &r, note);
	s.next = 0;
	if (!bench_run(&r, 1, bench_seconds(), verify_chain, states))
		return 1;
	r.ops *= s.n;
	r.ops_per_s *= (double)s.n;
	bench_report("verify-reply.chain.cached", &r, "receipts/s: --chain as above, with the statement cache");
	tee_reply_cache_free(s.policy.cache);
	return 0;
}
