/*
 * Fuzz tee_verify_reply, which a verifier runs on bundles from strangers
 * (and its verdict link by link, tee_reply_links_json),
 * against the simulator's collateral and root (tests/vectors/reply-bundles),
 * and the parsers of --prev and --chain. Invariants: every verdict names a
 * link exactly when it fails, with a message; a bundle that verifies has
 * every link checked (the quote trusted, RTMRs replayed); a chain file that
 * parses has a receipt and a signature in every entry. With the statement
 * cache (kept across inputs, so it holds the genuine seeds' statements) the
 * verdict is the very same as without it: link, error and message.
 */
#include "fuzz.h"

#include "teeliza/tee/verify_reply.h"

#include <stdio.h>
#include <string.h>

static dcap_collateral *coll;
static dcap_trust *trust;
static int64_t now;
static tee_reply_verdict v, cached;
static tee_reply_cache *cache;

static char *slurp(const char *name, size_t *len)
{
	char path[1024];
	teeliza_buf b;

	snprintf(path, sizeof(path), "%s/reply-bundles/%s", TEELIZA_FUZZ_VECTORS, name);
	if (teeliza_read_file(&b, path, 1u << 20) != TEELIZA_OK)
		abort();
	*len = b.len;
	return (char *)b.data;
}

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
	size_t n;
	char *t;

	(void)argc;
	(void)argv;
	t = slurp("collateral.json", &n);
	FUZZ_CHECK(dcap_collateral_parse_json(&coll, t, n) == TEELIZA_OK);
	free(t);
	t = slurp("root.pem", &n);
	FUZZ_CHECK(dcap_trust_new(&trust, true) == TEELIZA_OK && dcap_trust_add_pem(trust, t, n) == TEELIZA_OK);
	free(t);
	t = slurp("now", &n);
	now = strtoll(t, NULL, 10);
	free(t);
	FUZZ_CHECK(tee_reply_cache_new(&cache, coll, trust) == TEELIZA_OK);
	return 0;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	tee_reply_policy p;
	tee_reply_item *items = NULL;
	json_t *owner = NULL;
	teeliza_buf text;
	size_t n = 0;
	teeliza_err err;

	memset(&p, 0, sizeof(p));
	p.collateral = coll;
	p.trust = trust;
	p.now = now;
	err = tee_verify_reply(&v, (const char *)data, size, &p);
	FUZZ_CHECK((err == TEELIZA_OK) == (v.link == NULL));
	FUZZ_CHECK(err == v.err);
	if (err == TEELIZA_OK) {
		FUZZ_CHECK(v.message[0] == 0 && v.dcap_done && v.rtmr_done && v.dcap.verdict == DCAP_VERDICT_TRUSTED);
		FUZZ_CHECK(strlen(v.id) == 64 && strlen(v.reply_key) == 64);
	} else {
		FUZZ_CHECK(v.message[0] != 0);
	}
	/* twice with the cache: the first may fill it, the second may be served from it */
	p.cache = cache;
	for (int round = 0; round < 2; round++) {
		FUZZ_CHECK(tee_verify_reply(&cached, (const char *)data, size, &p) == err);
		FUZZ_CHECK((cached.link == NULL) == (v.link == NULL));
		FUZZ_CHECK(cached.link == NULL || strcmp(cached.link, v.link) == 0);
		FUZZ_CHECK(strcmp(cached.message, v.message) == 0 && strcmp(cached.id, v.id) == 0);
		FUZZ_CHECK(cached.rtmr_done == v.rtmr_done && cached.identity_read == v.identity_read &&
		           cached.dcap.verdict == v.dcap.verdict && cached.provenance_checked == v.provenance_checked);
	}
	{
		/* the chain link by link: twelve links, one red exactly when a link broke, the one the verdict names */
		json_t *links = tee_reply_links_json(&v);
		size_t fails = 0;

		FUZZ_CHECK(json_array_size(links) == 12);
		for (size_t i = 0; i < json_array_size(links); i++) {
			const json_t *l = json_array_get(links, i);
			const char *st = json_string_value(json_object_get(l, "status"));

			FUZZ_CHECK(st != NULL && json_string_value(json_object_get(l, "id")) != NULL &&
			           json_string_value(json_object_get(l, "reason")) != NULL);
			if (strcmp(st, "fail") == 0) {
				fails++;
				FUZZ_CHECK(strcmp(json_string_value(json_object_get(l, "id")), tee_reply_link_id(&v)) == 0);
			} else {
				FUZZ_CHECK(strcmp(st, "ok") == 0 || strcmp(st, "not-checked") == 0);
			}
		}
		FUZZ_CHECK(fails == (v.link != NULL ? 1u : 0u));
		json_decref(links);
	}
	if (tee_reply_chain_parse(&owner, &items, &n, (const char *)data, size) == TEELIZA_OK) {
		for (size_t i = 0; i < n; i++)
			FUZZ_CHECK(items[i].receipt != NULL && items[i].signature_hex != NULL &&
			           items[i].receipt_len <= size);
		free(items);
		json_decref(owner);
	} else {
		FUZZ_CHECK(items == NULL && owner == NULL && n == 0);
	}
	teeliza_buf_init(&text, 1u << 24);
	if (tee_reply_receipt_text(&text, (const char *)data, size) == TEELIZA_OK)
		FUZZ_CHECK(text.len <= size);
	teeliza_buf_free(&text);
	return 0;
}
