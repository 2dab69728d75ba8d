/*
 * The agent's quote verifier (api_verifier.h), behind POST /verify and the
 * dashboard's verdicts: teeliza's C verifier, whose verdict JSON is that of
 * `teeliza verify --json` plus where it is rooted. Quotes of a simulator
 * this agent knows (in-process, or learned from its TEE endpoint,
 * api_simroot.c) are verified against that simulator's collateral with its
 * root trusted as a simulator root; a root the caller gives is trusted for
 * that request only. Either way the label says which root it was, so
 * nobody takes a simulator's verdict for Intel's.
 */
#include "agent/api/api_verifier.h"
#include "teeliza/common/encoding.h"
#include "teeliza/common/metrics.h"
#include "teeliza/dcap/pck.h"

#include <stdlib.h>
#include <string.h>
#include <time.h>

#define VERIFY_JSON_MAX ((size_t)4 << 20)

void api_verifier_free(api_verifier *v)
{
	size_t i;

	if (v == NULL)
		return;
	sim_anchor_free(v->local);
	free((char *)v->pccs.url);
	free((char *)v->pccs.cache_dir);
	for (i = 0; i < API_REMOTE_SIMS; i++)
		sim_anchor_free(v->remote[i].anchor);
	pthread_mutex_destroy(&v->lock);
	pthread_mutex_destroy(&v->fetch_lock);
	free(v);
}

teeliza_err api_verifier_new(api_verifier **out, const agent_api_trust_anchor *local)
{
	api_verifier *v;
	teeliza_err err = TEELIZA_OK;

	*out = NULL;
	v = calloc(1, sizeof(*v));
	if (v == NULL)
		return teeliza_set_error(TEELIZA_ERR_NOMEM, "out of memory");
	if (pthread_mutex_init(&v->lock, NULL) != 0) {
		free(v);
		return teeliza_set_error(TEELIZA_ERR_NOMEM, "cannot create a mutex");
	}
	if (pthread_mutex_init(&v->fetch_lock, NULL) != 0) {
		pthread_mutex_destroy(&v->lock);
		free(v);
		return teeliza_set_error(TEELIZA_ERR_NOMEM, "cannot create a mutex");
	}
	if (local != NULL)
		v->local_source = *local;
	/* The in-process simulator's root and collateral are asked for now, so a broken source fails at start, not in a verdict. */
	if (v->local_source.get != NULL)
		err = api_verifier_local_anchor(v, (int64_t)time(NULL));
	if (err) {
		api_verifier_free(v);
		return err;
	}
	*out = v;
	return TEELIZA_OK;
}

/* Where the verdict is rooted: "intel", "simulator" (the anchor's root), "caller" (a root the request gave). */
static const char *rooted_in(const dcap_result *res, const sim_anchor *anchor, bool caller_roots)
{
	if (res->verdict == DCAP_VERDICT_FAILED)
		return NULL;
	if (res->intel_root)
		return "intel";
	if (anchor != NULL && memcmp(res->root_sha256, anchor->root_sha256, 32) == 0)
		return "simulator";
	/* The trust set held Intel, the anchor's root and the caller's: anything else trusted is the caller's. */
	return caller_roots ? "caller" : NULL;
}

/* One line for people: what the verdict means. */
static void verdict_label(char *out, size_t out_len, const char *root, const dcap_result *res)
{
	const char *who = root == NULL                     ? ""
	                  : strcmp(root, "intel") == 0     ? "Intel-rooted"
	                  : strcmp(root, "simulator") == 0 ? "Simulator-rooted (NOT Intel)"
	                                                   : "Rooted in the trust root you gave (NOT Intel)";

	if (res->verdict == DCAP_VERDICT_TRUSTED)
		snprintf(out, out_len, "%s: trusted, TCB %s", who, dcap_tcb_status_name(res->status));
	else if (res->verdict == DCAP_VERDICT_UNTRUSTED)
		snprintf(out, out_len, "%s: genuine but untrusted: %s", who, res->reason);
	else
		snprintf(out, out_len, "Failed (%s): %s", dcap_failure_name(res->failure), res->reason);
}

/* The verdict as `teeliza verify --json` prints it, plus rootedIn, label, collateralSource and the simulator's. */
static teeliza_err verdict_json(json_t **out, const dcap_result *res, const char *root, const char *coll_source,
                                const sim_anchor *anchor, const tee_app_identity *id)
{
	char label[800], fp[65];
	teeliza_buf text;
	json_t *obj, *quote = NULL;
	teeliza_err err;

	*out = NULL;
	teeliza_buf_init(&text, VERIFY_JSON_MAX);
	err = dcap_result_to_json(&text, res);
	obj = err ? NULL : json_loadb((const char *)text.data, text.len, 0, NULL);
	teeliza_buf_free(&text);
	if (obj == NULL)
		return err ? err : teeliza_set_error(TEELIZA_ERR_INTERNAL, "the verdict is not JSON");
	if (res->quote_parsed && dcap_quote_to_json(&quote, &res->quote) != TEELIZA_OK) {
		json_decref(obj);
		return teeliza_set_error(TEELIZA_ERR_NOMEM, "out of memory");
	}
	verdict_label(label, sizeof(label), root, res);
	json_object_set_new(obj, "quote", quote != NULL ? quote : json_null());
	json_object_set_new(obj, "rootedIn", root != NULL ? json_string(root) : json_null());
	json_object_set_new(obj, "label", json_string(label));
	json_object_set_new(obj, "collateralSource", coll_source != NULL ? json_string(coll_source) : json_null());
	if (id != NULL)
		json_object_set_new(obj, "appIdentity", tee_app_identity_to_json(id));
	if (anchor != NULL) {
		teeliza_hex_encode(fp, anchor->root_sha256, 32);
		json_object_set_new(obj, "simulator",
		                    json_pack("{s:s, s:s?}", "rootSha256", fp, "endpoint",
		                              anchor->endpoint[0] ? anchor->endpoint : NULL));
	}
	*out = obj;
	return TEELIZA_OK;
}

/* What to send for a quote without collateral, by the root its chain ends in. */
static void collateral_advice(char *out, size_t out_len, const dcap_quote *q)
{
	STACK_OF(X509) *chain = NULL;
	uint8_t fp[32];
	unsigned int fplen = sizeof(fp);
	char cn[128] = "?", hex[80] = "";
	bool have_fp = false;

	if (dcap_pem_chain_parse(&chain, q->cert_data, q->cert_data_len) == TEELIZA_OK) {
		X509 *top = sk_X509_value(chain, sk_X509_num(chain) - 1);

		have_fp = X509_digest(top, EVP_sha256(), fp, &fplen) == 1 && fplen == 32;
		if (X509_NAME_get_text_by_NID(X509_get_subject_name(top), NID_commonName, cn, (int)sizeof(cn)) < 0)
			snprintf(cn, sizeof(cn), "?");
		sk_X509_pop_free(chain, X509_free);
	}
	if (have_fp && memcmp(fp, DCAP_INTEL_ROOT_SHA256, 32) == 0) {
		snprintf(out, out_len,
		         "collateral needed: send {\"quote\":\"…\",\"collateral\":{…}} with this quote's dcap-qvl "
		         "QuoteCollateralV3 JSON (`teeliza collateral fetch QUOTE --pccs-url URL` fetches it from a PCCS), "
		         "or start the agent with PCCS_URL set and it fetches it itself");
		return;
	}
	if (have_fp) {
		memcpy(hex, " (SHA-256 ", 10);
		teeliza_hex_encode(hex + 10, fp, 32);
		memcpy(hex + 74, ")", 2);
	}
	snprintf(out, out_len,
	         "collateral needed: this quote's chain ends in \"%s\"%s, which is neither Intel's root nor a "
	         "simulator this agent knows; send its collateral and that root as \"trustRoot\" (for a teeliza "
	         "simulator, `teeliza sim-root --collateral` and `teeliza sim-root` print them)",
	         cn, hex);
}

static teeliza_err reply_error(json_t **out, unsigned *status, unsigned code, const char *msg)
{
	*status = code;
	*out = json_pack("{s:s}", "error", msg);
	return *out != NULL ? TEELIZA_OK : teeliza_set_error(TEELIZA_ERR_NOMEM, "out of memory");
}

/* Intel, the caller's roots and (when there is one) the anchor's: the trust set of a request that names roots. */
static teeliza_err caller_trust(dcap_trust **out, const api_verify_input *in, const sim_anchor *anchor)
{
	teeliza_err err = dcap_trust_new(out, true);

	if (!err)
		err = dcap_trust_add_pem(*out, in->root_pem, in->root_pem_len);
	if (!err && anchor != NULL)
		err = dcap_trust_add_pem(*out, anchor->root_pem, anchor->root_pem_len);
	if (err) {
		dcap_trust_free(*out);
		*out = NULL;
	}
	return err;
}

teeliza_err api_verify_quote(json_t **out, unsigned *status, api_verifier *v, const api_verify_input *in)
{
	dcap_collateral *coll = NULL;
	dcap_trust *own_trust = NULL;
	const dcap_trust *trust = NULL;
	sim_anchor *anchor = NULL;
	const char *source = NULL, *root;
	dcap_result *res = NULL;
	tee_app_identity *id = NULL;
	bool id_read = false;
	dcap_quote q;
	teeliza_err perr, err;
	char msg[900];

	*out = NULL;
	*status = 500;
	teeliza_metrics_count_verification();
	perr = dcap_quote_parse(&q, in->quote, in->quote_len);
	if (perr == TEELIZA_ERR_TRUNCATED || in->quote_len < DCAP_HEADER_LEN) {
		snprintf(msg, sizeof(msg), "truncated quote (%zu bytes): %s", in->quote_len, teeliza_errmsg());
		return reply_error(out, status, 400, msg);
	}
	if (perr == TEELIZA_OK)
		anchor = api_verifier_anchor_for(v, &q, in->now);
	if (in->root_pem != NULL) {
		err = caller_trust(&own_trust, in, anchor);
		if (err) {
			snprintf(msg, sizeof(msg), "bad trustRoot: %s", teeliza_errmsg());
			sim_anchor_free(anchor);
			return reply_error(out, status, 400, msg);
		}
		trust = own_trust;
	} else if (anchor != NULL) {
		trust = anchor->trust;
	}
	if (in->collateral_json != NULL) {
		err = dcap_collateral_parse_json(&coll, in->collateral_json, in->collateral_len);
		if (err) {
			snprintf(msg, sizeof(msg), "bad collateral: %s", teeliza_errmsg());
			err = reply_error(out, status, 400, msg);
			goto out;
		}
		source = "request";
	} else if (anchor != NULL) {
		coll = dcap_collateral_ref(anchor->coll);
		source = "simulator";
	} else if (perr == TEELIZA_OK && api_verifier_pccs_collateral(&coll, &source, msg, sizeof(msg), v, in) != TEELIZA_OK) {
		/* A PCCS is configured but gave nothing usable (and the cache holds nothing valid). */
		err = reply_error(out, status, 502, msg);
		goto out;
	}
	res = calloc(1, sizeof(*res));
	id = calloc(1, sizeof(*id));
	if (res == NULL || id == NULL) {
		err = teeliza_set_error(TEELIZA_ERR_NOMEM, "out of memory");
		goto out;
	}
	if (coll != NULL) {
		/* The verdict in res is the answer; the error code says the same. */
		err = dcap_verify(res, in->quote, in->quote_len, coll, in->now, NULL, trust);
		(void)err;
		/* Then the app identity: the event log must replay to the verified quote's RTMR3. */
		err = tee_verify_app_identity(res, id, &id_read, in->event_log, in->event_log_len, &in->identity);
		(void)err;
	} else if (perr != TEELIZA_OK) {
		/* A quote that does not parse fails before any collateral would be read. */
		res->verdict = DCAP_VERDICT_FAILED;
		res->failure = DCAP_FAIL_BAD_QUOTE;
		snprintf(res->reason, sizeof(res->reason), "%s", teeliza_errmsg());
		res->report_data_match = res->mrtd_match = -1;
		res->rtmr_match[0] = res->rtmr_match[1] = res->rtmr_match[2] = res->rtmr_match[3] = -1;
	} else {
		json_t *decoded = NULL;

		collateral_advice(msg, sizeof(msg), &q);
		err = dcap_quote_to_json(&decoded, &q);
		if (!err) {
			*status = 422;
			*out = json_pack("{s:s, s:o}", "error", msg, "quote", decoded);
			err = *out != NULL ? TEELIZA_OK : teeliza_set_error(TEELIZA_ERR_NOMEM, "out of memory");
		}
		goto out;
	}
	root = rooted_in(res, anchor, in->root_pem != NULL);
	err = verdict_json(out, res, root, source, root != NULL && strcmp(root, "simulator") == 0 ? anchor : NULL,
	                   id_read ? id : NULL);
	if (!err)
		*status = 200;
out:
	free(res);
	free(id);
	dcap_collateral_free(coll);
	dcap_trust_free(own_trust);
	sim_anchor_free(anchor);
	return err;
}
