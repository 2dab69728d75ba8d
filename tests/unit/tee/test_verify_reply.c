/*
 * tee_verify_reply on bundles of teeliza's simulator (tests/vectors/reply-bundles,
 * made by tests/vectors/gen/reply-bundles.sh): both genuine chains verify,
 * then one byte of each link is changed and the verdict must name that
 * link: signature, receipt field, prev, previous receipt, reply key,
 * statement, quote, event, compose hash, KMS root, key chain, EIP-191.
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <cmocka.h>

#include "testutil.h"
#include "teeliza/tee/verify_reply.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

struct fx {
	dcap_collateral *coll;
	dcap_trust *trust;
	int64_t now;
	char kms_root[80];
	char *bundle[2][2]; /* [tappd, dstack][1, 2] */
	size_t len[2][2];
	char *receipt[2][2];
};

static struct fx fx;

static char *read_text(const char *name, size_t *len)
{
	size_t n = 0;
	uint8_t *b = vector_read(name, &n);
	char *s = realloc(b, n + 1);

	assert_non_null(s);
	s[n] = 0;
	if (len != NULL)
		*len = n;
	return s;
}

static int setup(void **state)
{
	static const char *const names[2][2] = {{"reply-bundles/tappd-1.json", "reply-bundles/tappd-2.json"},
	                                        {"reply-bundles/dstack-1.json", "reply-bundles/dstack-2.json"}};
	size_t n;
	char *t;

	(void)state;
	memset(&fx, 0, sizeof(fx));
	t = read_text("reply-bundles/collateral.json", &n);
	assert_int_equal(dcap_collateral_parse_json(&fx.coll, t, n), TEELIZA_OK);
	free(t);
	t = read_text("reply-bundles/root.pem", &n);
	assert_int_equal(dcap_trust_new(&fx.trust, true), TEELIZA_OK);
	assert_int_equal(dcap_trust_add_pem(fx.trust, t, n), TEELIZA_OK);
	free(t);
	t = read_text("reply-bundles/now", NULL);
	fx.now = strtoll(t, NULL, 10);
	free(t);
	t = read_text("reply-bundles/kms-root", NULL);
	snprintf(fx.kms_root, sizeof(fx.kms_root), "%.66s", t);
	free(t);
	for (int a = 0; a < 2; a++)
		for (int i = 0; i < 2; i++) {
			json_t *o;

			fx.bundle[a][i] = read_text(names[a][i], &fx.len[a][i]);
			o = json_loads(fx.bundle[a][i], 0, NULL);
			assert_non_null(o);
			fx.receipt[a][i] = strdup(json_string_value(json_object_get(o, "receipt")));
			json_decref(o);
		}
	return 0;
}

static int teardown(void **state)
{
	(void)state;
	dcap_collateral_free(fx.coll);
	dcap_trust_free(fx.trust);
	for (int a = 0; a < 2; a++)
		for (int i = 0; i < 2; i++) {
			free(fx.bundle[a][i]);
			free(fx.receipt[a][i]);
		}
	return 0;
}

/* The statement cache every policy() carries (NULL: none): the tamper tests run with and without it. */
static tee_reply_cache *use_cache;

static tee_reply_policy policy(int api, bool with_prev)
{
	tee_reply_policy p;

	memset(&p, 0, sizeof(p));
	p.collateral = fx.coll;
	p.trust = fx.trust;
	p.now = fx.now;
	p.cache = use_cache;
	if (with_prev) {
		p.prev_receipt = fx.receipt[api][0];
		p.prev_len = strlen(fx.receipt[api][0]);
	}
	return p;
}

static tee_reply_verdict v;

/* Verify text; returns the link named ("" when every link held). */
static const char *verify(const char *text, const tee_reply_policy *p)
{
	teeliza_err err = tee_verify_reply(&v, text, strlen(text), p);

	assert_true((err == TEELIZA_OK) == (v.link == NULL));
	return v.link != NULL ? v.link : "";
}

/* The second bundle of api with one hex digit of string member `member` changed at index i (negative: from the end). */
static char *flip(int api, const char *member, long i)
{
	json_t *o = json_loads(fx.bundle[api][1], 0, NULL);
	const char *s = json_string_value(json_object_get(o, member));
	char *copy, *out;
	size_t n, at;

	assert_non_null(s);
	copy = strdup(s);
	n = strlen(copy);
	at = i < 0 ? n - (size_t)(-i) : (size_t)i;
	assert_true(at < n);
	copy[at] = copy[at] == '0' ? '1' : '0';
	json_object_set_new(o, member, json_string(copy));
	free(copy);
	out = json_dumps(o, JSON_COMPACT);
	json_decref(o);
	return out;
}

/* The second bundle of api with the first occurrence of from replaced by to inside string member `member`. */
static char *replace(int api, const char *member, const char *from, const char *to)
{
	json_t *o = json_loads(fx.bundle[api][1], 0, NULL);
	const char *s = json_string_value(json_object_get(o, member));
	const char *hit = strstr(s, from);
	char *copy, *out;

	assert_non_null(hit);
	copy = malloc(strlen(s) + strlen(to) + 1);
	memcpy(copy, s, (size_t)(hit - s));
	strcpy(copy + (hit - s), to);
	strcat(copy, hit + strlen(from));
	json_object_set_new(o, member, json_string(copy));
	free(copy);
	out = json_dumps(o, JSON_COMPACT);
	json_decref(o);
	return out;
}

/*
 * The chain link by link (tee_reply_links_json): every link of the fixed
 * order once, with a status and a reason; returns the one "fail" link's id
 * ("" when none), after checking there is at most one, that its reason is the
 * verdict's message, and that no link is "ok" when the verdict broke at a
 * link checked before it.
 */
static const char *const link_ids[] = {"root", "pck", "qe", "quote", "rtmr", "identity",
                                       "kms-root", "app-key", "keys", "receipt", "signature", "chain"};
static char failed_id[16];
static char statuses[12][16];

static const char *links_fail(void)
{
	json_t *a = tee_reply_links_json(&v);
	size_t i, fails = 0;

	assert_non_null(a);
	assert_int_equal(json_array_size(a), 12);
	failed_id[0] = 0;
	for (i = 0; i < 12; i++) {
		const json_t *l = json_array_get(a, i);
		const char *st = json_string_value(json_object_get(l, "status"));
		const char *reason = json_string_value(json_object_get(l, "reason"));

		assert_string_equal(json_string_value(json_object_get(l, "id")), link_ids[i]);
		assert_non_null(json_string_value(json_object_get(l, "name")));
		assert_non_null(st);
		assert_true(reason != NULL && reason[0] != 0);
		snprintf(statuses[i], sizeof(statuses[i]), "%s", st);
		if (strcmp(st, "fail") == 0) {
			fails++;
			snprintf(failed_id, sizeof(failed_id), "%s", link_ids[i]);
			assert_string_equal(reason, v.message);
		} else {
			assert_true(strcmp(st, "ok") == 0 || strcmp(st, "not-checked") == 0);
		}
	}
	assert_true(fails <= 1);
	assert_int_equal(fails, v.link != NULL ? 1 : 0);
	json_decref(a);
	return failed_id;
}

/* Every link "ok" but those named in not_checked (space-separated ids, "" for none). */
static void expect_all_ok_but(const char *not_checked)
{
	assert_string_equal(links_fail(), "");
	for (size_t i = 0; i < 12; i++) {
		char word[20];
		bool skip;

		snprintf(word, sizeof(word), " %s ", link_ids[i]);
		{
			char padded[128];

			snprintf(padded, sizeof(padded), " %s ", not_checked);
			skip = strstr(padded, word) != NULL;
		}
		assert_string_equal(statuses[i], skip ? "not-checked" : "ok");
	}
}

static void expect_link(char *text, const tee_reply_policy *p, const char *link, const char *id)
{
	assert_non_null(text);
	assert_string_equal(verify(text, p), link);
	assert_true(v.message[0] != 0);
	assert_string_equal(links_fail(), id);
	free(text);
}

static void test_genuine(void **state)
{
	tee_reply_policy p = policy(0, true);

	(void)state;
	assert_string_equal(verify(fx.bundle[0][1], &p), "");
	assert_true(v.chain_checked && v.rtmr_done && v.identity_read && !v.provenance_present);
	expect_all_ok_but("kms-root app-key"); /* tappd: no KMS chain to walk */
	p = policy(1, true);
	p.kms_root_hex = fx.kms_root;
	assert_string_equal(verify(fx.bundle[1][1], &p), "");
	assert_true(v.eip191 && v.provenance_checked && v.provenance_err == TEELIZA_OK);
	expect_all_ok_but("");
	p.kms_root_hex = NULL; /* the chain is walked, its root shown, nothing claimed */
	assert_string_equal(verify(fx.bundle[1][1], &p), "");
	assert_int_equal(v.provenance_err, TEELIZA_ERR_UNTRUSTED);
	expect_all_ok_but("kms-root");
	/* without the simulator's root the quote is not trusted */
	p.trust = NULL;
	assert_string_equal(verify(fx.bundle[1][1], &p), TEE_LINK_STATEMENT_QUOTE);
	assert_string_equal(links_fail(), "root");
	assert_string_equal(statuses[1], "not-checked"); /* nothing under an unknown root is claimed */
}


static void tampered(void)
{
	tee_reply_policy p = policy(0, true), d = policy(1, true);
	tee_identity_policy id;
	uint8_t compose[32];
	char other_root[80];
	char prev[4096];

	d.kms_root_hex = fx.kms_root;
	expect_link(flip(0, "signature", 10), &p, TEE_LINK_SIGNATURE, "signature");
	expect_link(flip(0, "signature", -1), &p, TEE_LINK_SIGNATURE, "signature");
	expect_link(replace(0, "receipt", "\"roomId\":\"", "\"roomId\":\"0"), &p, TEE_LINK_SIGNATURE, "signature");
	expect_link(replace(0, "receipt", "\"seq\":2", "\"seq\": 2"), &p, TEE_LINK_RECEIPT, "receipt");
	expect_link(flip(0, "prev", 3), &p, TEE_LINK_CHAIN, "chain");
	expect_link(flip(0, "publicKey", 0), &p, TEE_LINK_REPLY_KEY, "keys");
	expect_link(replace(0, "statement", "\"replyKey\":\"", "\"replyKey\":\"00"), &p, TEE_LINK_REPLY_KEY, "keys");
	expect_link(replace(0, "statement", "\"tlsKey\":\"\"", "\"tlsKey\":\"00\""), &p, TEE_LINK_STATEMENT_QUOTE, "quote");
	expect_link(flip(0, "quote", 2 * 600), &p, TEE_LINK_STATEMENT_QUOTE, "quote");  /* report data */
	expect_link(flip(0, "quote", 2 * 700), &p, TEE_LINK_STATEMENT_QUOTE, "qe");  /* after the body: the attestation key, which the QE report binds */
	expect_link(flip(0, "quote", 2 * 200), &p, TEE_LINK_STATEMENT_QUOTE, "quote");  /* MRTD region of the body */
	expect_link(replace(0, "eventLog", "\"event\":\"compose-hash\",\"event_payload\":\"",
	                    "\"event\":\"compose-hash\",\"event_payload\":\"ff"),
	            &p, TEE_LINK_EVENT_LOG, "rtmr"); /* the payload grows: RTMR3 no longer replays */
	expect_link(replace(0, "eventLog", "\"digest\":\"", "\"digest\":\"0"), &p, TEE_LINK_EVENT_LOG, "rtmr");

	/* the previous receipt: one byte changed (still canonical), or this one given as its own predecessor */
	snprintf(prev, sizeof(prev), "%s", fx.receipt[0][0]);
	strstr(prev, "\"time\":1")[7] = '2';
	p.prev_receipt = prev;
	p.prev_len = strlen(prev);
	assert_string_equal(verify(fx.bundle[0][1], &p), TEE_LINK_CHAIN);
	p.prev_receipt = fx.receipt[0][1];
	p.prev_len = strlen(fx.receipt[0][1]);
	assert_string_equal(verify(fx.bundle[0][1], &p), TEE_LINK_CHAIN);
	p = policy(0, false); /* seq 2 alone: nothing to link to, so unchecked, not broken */
	assert_string_equal(verify(fx.bundle[0][1], &p), "");
	assert_false(v.chain_checked);
	expect_all_ok_but("kms-root app-key chain");
	/* unless the previous receipt is known not to exist (the agent's store has no receipt of that id) */
	p.prev_absent = "which is not a receipt of this agent";
	assert_string_equal(verify(fx.bundle[0][1], &p), TEE_LINK_CHAIN);
	assert_string_equal(links_fail(), "chain");
	p.prev_absent = NULL;

	/* app identity: a compose hash that is not this app's */
	memset(&id, 0, sizeof(id));
	memset(compose, 7, sizeof(compose));
	id.expect_compose_hash = compose;
	p.identity = &id;
	assert_string_equal(verify(fx.bundle[0][1], &p), TEE_LINK_APP_IDENTITY);
	assert_string_equal(links_fail(), "identity");
	memcpy(compose, v.identity.compose_hash, 32);
	assert_string_equal(verify(fx.bundle[0][1], &p), "");

	/* KMS: a tappd bundle has no chain; a dstack bundle against another root, or with a changed link */
	p.kms_root_hex = fx.kms_root;
	assert_string_equal(verify(fx.bundle[0][1], &p), TEE_LINK_KEY_PROVENANCE);
	assert_string_equal(links_fail(), "kms-root");
	snprintf(other_root, sizeof(other_root), "%s", fx.kms_root);
	other_root[20] = other_root[20] == 'a' ? 'b' : 'a';
	d.kms_root_hex = other_root;
	assert_string_equal(verify(fx.bundle[1][1], &d), TEE_LINK_KEY_PROVENANCE);
	assert_string_equal(links_fail(), "kms-root");
	d.kms_root_hex = fx.kms_root;
	{
		json_t *o = json_loads(fx.bundle[1][1], 0, NULL);
		json_t *chain = json_object_get(json_object_get(o, "keyProvenance"), "signatureChain");
		char *c1 = strdup(json_string_value(json_array_get(chain, 1)));

		c1[30] = c1[30] == '0' ? '1' : '0';
		json_array_set_new(chain, 1, json_string(c1));
		free(c1);
		expect_link(json_dumps(o, JSON_COMPACT), &d, TEE_LINK_KEY_PROVENANCE, "kms-root");
		json_decref(o);
	}
	expect_link(flip(1, "eip191", 10), &d, TEE_LINK_EIP191, "signature");
	expect_link(replace(1, "statement", "\"eip191Address\":\"0x", "\"eip191Address\":\"0x0"), &d, TEE_LINK_EIP191, "signature");
}

static void test_tampered(void **state)
{
	(void)state;
	tampered();
}

/*
 * With the statement cache, once each genuine bundle has been verified (and
 * so remembered), every tampered byte is still refused and names its link:
 * the cache serves only the very bytes under the very policy it walked.
 */
static void test_tampered_with_cache(void **state)
{
	tee_reply_policy p, d;
	uint64_t hits = 0, misses = 0;

	(void)state;
	assert_int_equal(tee_reply_cache_new(&use_cache, fx.coll, fx.trust), TEELIZA_OK);
	p = policy(0, true);
	d = policy(1, true);
	d.kms_root_hex = fx.kms_root;
	for (int round = 0; round < 2; round++) {
		assert_string_equal(verify(fx.bundle[0][1], &p), "");
		assert_true(v.rtmr_done && v.identity_read && v.dcap_done && v.dcap.quote_parsed);
		assert_string_equal(verify(fx.bundle[1][1], &d), "");
		assert_true(v.provenance_checked && v.provenance_err == TEELIZA_OK);
	}
	tee_reply_cache_stats(use_cache, &hits, &misses);
	assert_int_equal(hits, 2);
	assert_int_equal(misses, 2);
	tampered();
	tee_reply_cache_stats(use_cache, &hits, &misses);
	assert_true(hits > 2); /* the tampered receipts, signatures and chain links hit: they were checked all the same */
	/* the same bundle under another policy (now) is walked again */
	p.now++;
	assert_string_equal(verify(fx.bundle[0][1], &p), "");
	tee_reply_cache_free(use_cache);
	use_cache = NULL;
}

static void test_malformed(void **state)
{
	tee_reply_policy p = policy(0, false);
	static const char *const bad[] = {
		"", "not json", "[]", "{}", "{\"format\":\"teeliza-reply-bundle\",\"version\":2}",
		"{\"format\":\"teeliza-reply-bundle\",\"version\":1}",
		"{\"format\":\"teeliza-reply-bundle\",\"version\":1,\"receipt\":\"{}\",\"signature\":\"\","
		"\"statement\":\"{}\",\"quote\":\"\",\"eventLog\":\"[]\"}",
	};

	(void)state;
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		teeliza_err err = tee_verify_reply(&v, bad[i], strlen(bad[i]), &p);

		assert_int_not_equal(err, TEELIZA_OK);
		assert_non_null(v.link);
	}
	assert_int_equal(tee_verify_reply(&v, "x", 1, &p), TEELIZA_ERR_PARSE);
	assert_string_equal(v.link, TEE_LINK_BUNDLE);
	/* an agent id of 100 two-byte characters, cut at a byte by the verdict's buffers: still valid JSON text */
	{
		char agent[256] = "\"agentId\":\"";
		json_t *j, *links;
		char *text;

		for (int i = 0; i < 100; i++)
			strcat(agent, "\xc3\xa9");
		text = replace(0, "receipt", "\"agentId\":\"", agent);
		assert_string_equal(verify(text, &p), TEE_LINK_SIGNATURE);
		j = tee_reply_verdict_to_json(&v);
		assert_non_null(j);
		assert_non_null(json_string_value(json_object_get(j, "agentId")));
		links = json_object_get(j, "links");
		assert_int_equal(json_array_size(links), 12);
		assert_string_equal(links_fail(), "signature");
		json_decref(j);
		free(text);
	}
}

static void test_chain(void **state)
{
	tee_reply_policy p = policy(0, false);
	tee_reply_item items[2];
	json_t *o[2];
	size_t bad;

	(void)state;
	for (int i = 0; i < 2; i++) {
		o[i] = json_loads(fx.bundle[0][i], 0, NULL);
		items[i].receipt = json_string_value(json_object_get(o[i], "receipt"));
		items[i].receipt_len = strlen(items[i].receipt);
		items[i].signature_hex = json_string_value(json_object_get(o[i], "signature"));
		items[i].eip191_hex = NULL;
	}
	assert_int_equal(tee_verify_reply_chain(&v, &bad, fx.bundle[0][1], fx.len[0][1], items, 2, &p), TEELIZA_OK);
	assert_int_equal(bad, SIZE_MAX);
	{
		tee_reply_item rev[2] = {items[1], items[0]};

		assert_int_equal(tee_verify_reply_chain(&v, &bad, fx.bundle[0][1], fx.len[0][1], rev, 2, &p),
		                 TEELIZA_ERR_VERIFY);
		assert_int_equal(bad, 1);
		assert_string_equal(v.link, TEE_LINK_CHAIN);
	}
	/* a receipt of another agent's key is not part of this chain */
	{
		json_t *d = json_loads(fx.bundle[1][0], 0, NULL);
		tee_reply_item other = {json_string_value(json_object_get(d, "receipt")), 0,
		                        json_string_value(json_object_get(d, "signature")), NULL};

		other.receipt_len = strlen(other.receipt);
		assert_int_equal(tee_verify_reply_chain(&v, &bad, fx.bundle[0][1], fx.len[0][1], &other, 1, &p),
		                 TEELIZA_ERR_VERIFY);
		assert_string_equal(v.link, TEE_LINK_REPLY_KEY);
		json_decref(d);
	}
	json_decref(o[0]);
	json_decref(o[1]);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_genuine),
		cmocka_unit_test(test_tampered),
		cmocka_unit_test(test_tampered_with_cache),
		cmocka_unit_test(test_malformed),
		cmocka_unit_test(test_chain),
	};

	return cmocka_run_group_tests(tests, setup, teardown);
}
