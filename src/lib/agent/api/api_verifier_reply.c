/*
 * The verifier's reply check (api_verifier.h), behind POST /verify/reply and
 * the dashboard's chain view: tee_verify_reply over a reply bundle, with the
 * statement quote's collateral from where POST /verify takes it when the
 * request brings none — a simulator this agent knows, else the operator's
 * PCCS (PCCS_URL) and its cache — and never from anywhere the bundle names.
 * The answer is the chain link by link (tee_reply_links_json): the page
 * draws it and judges nothing itself.
 */
#include "agent/api/api_verifier.h"
#include "teeliza/common/encoding.h"
#include "teeliza/common/metrics.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* The bundle's statement quote, decoded (empty when the bundle has none: the verdict names that). */
static void bundle_quote(teeliza_buf *quote, const char *bundle, size_t len)
{
	json_t *o = json_loadb(bundle, len, 0, NULL);
	const char *hex = json_string_value(json_object_get(o, "quote"));

	teeliza_buf_init(quote, TEE_REPLY_BUNDLE_MAX);
	if (hex != NULL && teeliza_hex_decode_buf(quote, hex, strlen(hex), true) != TEELIZA_OK)
		teeliza_buf_reset(quote);
	json_decref(o);
}

/* Where the statement quote's collateral comes from, and why there is none when there is none. */
struct reply_coll {
	sim_anchor *anchor;     /* the simulator whose root the quote carries, or NULL */
	dcap_collateral *coll;  /* NULL: none */
	const char *source;     /* "simulator", "pccs", "cache", ... or NULL */
	char why[600];          /* coll NULL: why */
};

static void reply_coll_get(struct reply_coll *c, api_verifier *v, const api_reply_input *in)
{
	teeliza_buf quote;
	api_verify_input vin;
	dcap_quote q;

	memset(c, 0, sizeof(*c));
	bundle_quote(&quote, in->bundle, in->bundle_len);
	if (quote.len > 0 && dcap_quote_parse(&q, quote.data, quote.len) == TEELIZA_OK)
		c->anchor = api_verifier_anchor_for(v, &q, in->now);
	if (c->anchor != NULL) {
		c->coll = dcap_collateral_ref(c->anchor->coll);
		c->source = "simulator";
	} else if (quote.len > 0) {
		memset(&vin, 0, sizeof(vin));
		vin.quote = quote.data;
		vin.quote_len = quote.len;
		vin.now = in->now;
		/* only an Intel-signed PCK chain makes the agent ask its PCCS; the error says why there is none */
		if (api_verifier_pccs_collateral(&c->coll, &c->source, c->why, sizeof(c->why), v, &vin) == TEELIZA_OK &&
		    c->coll == NULL)
			snprintf(c->why, sizeof(c->why), "%s",
			         v->pccs.url != NULL ? "the quote's PCK chain is neither Intel-signed nor a simulator's this "
			                               "agent knows"
			                             : "the quote is not a simulator's this agent knows, and the agent has no "
			                               "PCCS (PCCS_URL) to fetch Intel collateral from");
	} else {
		snprintf(c->why, sizeof(c->why), "the bundle has no quote as hex");
	}
	teeliza_buf_free(&quote);
}

static void reply_coll_free(struct reply_coll *c)
{
	dcap_collateral_free(c->coll);
	sim_anchor_free(c->anchor);
}

static void policy_of(tee_reply_policy *p, const struct reply_coll *c, const api_reply_input *in)
{
	memset(p, 0, sizeof(*p));
	p->collateral = c->coll;
	p->no_collateral = c->why;
	p->trust = c->anchor != NULL ? c->anchor->trust : NULL;
	p->now = in->now;
	p->kms_root_hex = in->kms_root_hex;
	p->prev_receipt = in->prev;
	p->prev_len = in->prev_len;
	p->prev_absent = in->prev_absent;
}

/* The "root" link's reason, when the root is a simulator this agent knows: say so, never "Intel". */
static void name_simulator_root(json_t *links, const sim_anchor *anchor)
{
	char why[600], fp[65];
	size_t i;

	teeliza_hex_encode(fp, anchor->root_sha256, 32);
	snprintf(why, sizeof(why), "NOT Intel: a teeliza simulator's root%s%s (certificate SHA-256 %s)",
	         anchor->endpoint[0] ? " learned from " : ", the agent's in-process simulator", anchor->endpoint, fp);
	for (i = 0; i < json_array_size(links); i++) {
		json_t *l = json_array_get(links, i);

		if (strcmp(json_string_value(json_object_get(l, "id")), "root") == 0 &&
		    strcmp(json_string_value(json_object_get(l, "status")), "ok") == 0)
			json_object_set_new(l, "reason", json_string(why));
	}
}

teeliza_err api_verify_reply(json_t **out, api_verifier *v, const api_reply_input *in)
{
	struct reply_coll c;
	const char *root = NULL, *id;
	tee_reply_verdict *verdict;
	tee_reply_policy p;
	json_t *o = NULL, *vj = NULL, *links = NULL;
	teeliza_err err = TEELIZA_OK;

	*out = NULL;
	teeliza_metrics_count_verification();
	reply_coll_get(&c, v, in);
	verdict = calloc(1, sizeof(*verdict));
	if (verdict == NULL) {
		err = teeliza_set_error(TEELIZA_ERR_NOMEM, "out of memory");
		goto done;
	}
	policy_of(&p, &c, in);
	err = tee_verify_reply(verdict, in->bundle, in->bundle_len, &p);
	err = TEELIZA_OK; /* the verdict says everything */
	if (verdict->dcap_done && verdict->dcap.verdict != DCAP_VERDICT_FAILED)
		root = verdict->dcap.intel_root ? "intel"
		       : c.anchor != NULL && memcmp(verdict->dcap.root_sha256, c.anchor->root_sha256, 32) == 0 ? "simulator"
		                                                                                              : NULL;
	vj = tee_reply_verdict_to_json(verdict);
	links = json_object_get(vj, "links");
	if (vj == NULL || !json_is_array(links)) {
		links = NULL;
		err = teeliza_set_error(TEELIZA_ERR_NOMEM, "out of memory");
		goto done;
	}
	json_incref(links);
	json_object_del(vj, "links");
	if (root != NULL && strcmp(root, "simulator") == 0)
		name_simulator_root(links, c.anchor);
	id = tee_reply_link_id(verdict);
	o = json_pack("{s:b, s:o, s:s, s:o, s:o, s:o, s:o, s:o}", "ok", verdict->link == NULL, "link",
	              id != NULL ? json_string(id) : json_null(), "message", verdict->message, "rootedIn",
	              root != NULL ? json_string(root) : json_null(), "collateralSource",
	              c.source != NULL ? json_string(c.source) : json_null(), "receipt",
	              json_pack("{s:s?, s:I, s:s?, s:s?}", "id", verdict->id[0] ? verdict->id : NULL, "seq",
	                        (json_int_t)verdict->seq, "agentId", verdict->agent_id[0] ? verdict->agent_id : NULL,
	                        "replyKey", verdict->reply_key[0] ? verdict->reply_key : NULL),
	              "links", links, "verdict", vj);
	links = vj = NULL; /* json_pack's "o" took them, failing or not */
	if (o == NULL)
		err = teeliza_set_error(TEELIZA_ERR_NOMEM, "out of memory");
	*out = o;
done:
	json_decref(links);
	json_decref(vj);
	free(verdict);
	reply_coll_free(&c);
	return err;
}

teeliza_err api_verify_reply_receipts(json_t **out, api_verifier *v, const api_reply_input *in,
                                      const tee_reply_item *items, size_t n)
{
	struct reply_coll c;
	tee_reply_verdict *verdict;
	tee_reply_policy p;
	size_t bad = SIZE_MAX, i;
	teeliza_err err = TEELIZA_OK;
	json_t *a;

	*out = NULL;
	reply_coll_get(&c, v, in);
	verdict = calloc(1, sizeof(*verdict));
	a = json_array();
	if (verdict == NULL || a == NULL) {
		json_decref(a);
		err = teeliza_set_error(TEELIZA_ERR_NOMEM, "out of memory");
		goto done;
	}
	policy_of(&p, &c, in);
	err = tee_verify_reply_chain(verdict, &bad, in->bundle, in->bundle_len, items, n, &p);
	err = TEELIZA_OK; /* the verdict says everything */
	for (i = 0; i < n; i++) {
		const char *status = "ok", *reason = "signed by the statement's reply key; follows the receipt before it";

		if (bad == SIZE_MAX && verdict->link != NULL && verdict->err != TEELIZA_ERR_UNTRUSTED) {
			/* the bundle itself broke: nothing of the list is proven */
			status = "not-checked";
			reason = "not checked: the statement these receipts are signed under does not verify";
		} else if (i == bad) {
			status = "fail";
			reason = verdict->message;
		} else if (bad != SIZE_MAX && i > bad) {
			status = "not-checked";
			reason = "not checked: an earlier receipt of the list broke";
		} else if (i == 0 && in->prev == NULL) {
			reason = "signed by the statement's reply key; the oldest shown";
		}
		if (json_array_append_new(a, json_pack("{s:s, s:s}", "status", status, "reason", reason)) != 0) {
			json_decref(a);
			err = teeliza_set_error(TEELIZA_ERR_NOMEM, "out of memory");
			goto done;
		}
	}
	*out = a;
done:
	free(verdict);
	reply_coll_free(&c);
	return err;
}
