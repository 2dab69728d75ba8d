/*
 * Simulator roots the agent's verifier knows (api_verifier.h): the
 * in-process simulator's, asked of the source the API's caller gave
 * (agent_api_config.sim_trust) and renewed before its collateral expires,
 * and those a tappd endpoint hands out when it is a teeliza simulator
 * (Tappd.SimRoot). Only a plugin in simulator mode
 * (TEE_MODE LOCAL/DOCKER or DSTACK_SIMULATOR_ENDPOINT) asks, at most once a
 * minute per endpoint, with a short timeout and a size cap; the answer is
 * data from the network and is parsed strictly. Real tappd has no such
 * method, so an agent on real hardware learns nothing this way.
 */
#include "agent/api/api_verifier.h"
#include "teeliza/common/encoding.h"

#include <stdlib.h>
#include <string.h>

#define SIM_DAY 86400
/* The in-process collateral is valid from made - 1 day to made + 30 days; renew well before either edge. */
#define LOCAL_REUSE_FOR (29 * SIM_DAY)
/* A fetched one likewise; fetch again daily, so a restarted simulator's new root is learned. */
#define REMOTE_REFRESH_AFTER SIM_DAY
#define REMOTE_RETRY_AFTER 60
#define REMOTE_TIMEOUT_MS 2000L

teeliza_err api_sim_root_parse(sim_anchor **out, const char *text, size_t len, const char *endpoint, int64_t now)
{
	json_error_t je;
	json_t *j, *root, *coll;
	char *coll_text = NULL;
	const char *ctext;
	size_t clen;
	dcap_collateral *c = NULL;
	teeliza_err err;

	*out = NULL;
	if (len > API_SIM_ROOT_MAX)
		return teeliza_set_error(TEELIZA_ERR_TOO_LARGE, "Tappd.SimRoot answer of %zu bytes is over %zu", len,
		                         API_SIM_ROOT_MAX);
	j = json_loadb(text, len, JSON_REJECT_DUPLICATES, &je);
	if (!json_is_object(j)) {
		json_decref(j);
		return teeliza_set_error(TEELIZA_ERR_PARSE, "Tappd.SimRoot answer is not a JSON object%s%s",
		                         j == NULL ? ": " : "", j == NULL ? je.text : "");
	}
	root = json_object_get(j, "root_pem");
	coll = json_object_get(j, "collateral");
	if (!json_is_string(root)) {
		json_decref(j);
		return teeliza_set_error(TEELIZA_ERR_PARSE, "Tappd.SimRoot answer has no string \"root_pem\"");
	}
	if (json_is_object(coll)) {
		coll_text = json_dumps(coll, JSON_COMPACT | JSON_PRESERVE_ORDER);
		if (coll_text == NULL) {
			json_decref(j);
			return teeliza_set_error(TEELIZA_ERR_NOMEM, "out of memory");
		}
		ctext = coll_text;
		clen = strlen(coll_text);
	} else if (json_is_string(coll)) {
		ctext = json_string_value(coll);
		clen = json_string_length(coll);
	} else {
		json_decref(j);
		return teeliza_set_error(TEELIZA_ERR_PARSE, "Tappd.SimRoot answer has no \"collateral\" object");
	}
	err = dcap_collateral_parse_json(&c, ctext, clen);
	free(coll_text);
	if (err) {
		err = agent_error_wrap(err, "Tappd.SimRoot collateral: ");
		json_decref(j);
		return err;
	}
	err = sim_anchor_new(out, json_string_value(root), json_string_length(root), c, now, endpoint);
	if (err)
		err = agent_error_wrap(err, "Tappd.SimRoot root_pem: ");
	json_decref(j);
	return err;
}

/* The in-process simulator's anchor, made or renewed for now. Called with v->lock held. */
static teeliza_err local_anchor_locked(api_verifier *v, int64_t now)
{
	teeliza_buf json, pem;
	dcap_collateral *c = NULL;
	sim_anchor *a = NULL;
	teeliza_err err;

	if (v->local != NULL && now >= v->local->made && now - v->local->made <= LOCAL_REUSE_FOR)
		return TEELIZA_OK;
	teeliza_buf_init(&pem, API_SIM_ROOT_MAX);
	teeliza_buf_init(&json, API_SIM_ROOT_MAX);
	err = v->local_source.get(&pem, &json, v->local_source.ctx, now);
	if (!err)
		err = dcap_collateral_parse_json(&c, (const char *)json.data, json.len);
	teeliza_buf_free(&json);
	/* sim_anchor_new takes c, failing or not. */
	if (!err)
		err = sim_anchor_new(&a, (const char *)pem.data, pem.len, c, now, "");
	teeliza_buf_free(&pem);
	if (err)
		return err;
	sim_anchor_free(v->local);
	v->local = a;
	return TEELIZA_OK;
}

teeliza_err api_verifier_local_anchor(api_verifier *v, int64_t now)
{
	teeliza_err err;

	pthread_mutex_lock(&v->lock);
	err = local_anchor_locked(v, now);
	pthread_mutex_unlock(&v->lock);
	return err;
}

sim_anchor *api_verifier_anchor_for(api_verifier *v, const dcap_quote *q, int64_t now)
{
	sim_anchor *found = NULL;
	size_t i;

	pthread_mutex_lock(&v->lock);
	if (v->local_source.get != NULL && local_anchor_locked(v, now) == TEELIZA_OK && sim_anchor_in_quote(v->local, q))
		found = sim_anchor_ref(v->local);
	for (i = 0; found == NULL && i < API_REMOTE_SIMS; i++)
		if (v->remote[i].anchor != NULL && sim_anchor_in_quote(v->remote[i].anchor, q))
			found = sim_anchor_ref(v->remote[i].anchor);
	pthread_mutex_unlock(&v->lock);
	return found;
}

/* The slot for endpoint: its own, a free one, or the one asked longest ago. Called with v->lock held. */
static remote_sim *slot_for(api_verifier *v, const char *endpoint, bool create)
{
	remote_sim *oldest = &v->remote[0];
	size_t i;

	for (i = 0; i < API_REMOTE_SIMS; i++)
		if (strcmp(v->remote[i].endpoint, endpoint) == 0)
			return &v->remote[i];
	if (!create)
		return NULL;
	for (i = 0; i < API_REMOTE_SIMS; i++) {
		if (v->remote[i].endpoint[0] == 0)
			return &v->remote[i];
		if (v->remote[i].tried_at < oldest->tried_at)
			oldest = &v->remote[i];
	}
	sim_anchor_free(oldest->anchor);
	memset(oldest, 0, sizeof(*oldest));
	return oldest;
}

static bool due(const remote_sim *r, int64_t now)
{
	if (r == NULL || now < r->tried_at)
		return true;
	if (r->anchor == NULL)
		return now - r->tried_at >= REMOTE_RETRY_AFTER;
	return now - r->tried_at >= REMOTE_REFRESH_AFTER || now - r->anchor->made >= REMOTE_REFRESH_AFTER;
}

void api_verifier_learn_simulator(api_verifier *v, agent_tee *t, FILE *log, int64_t now)
{
	char endpoint[256], why[240] = "", fp[65];
	sim_anchor *a = NULL;
	remote_sim *r;
	teeliza_buf text;
	teeliza_err err;
	bool answered = false, is_new, changed;

	if (t == NULL || !agent_tee_simulated(t))
		return;
	agent_tee_endpoint(endpoint, sizeof(endpoint), t);
	pthread_mutex_lock(&v->fetch_lock);
	pthread_mutex_lock(&v->lock);
	r = slot_for(v, endpoint, false);
	if (!due(r, now)) {
		pthread_mutex_unlock(&v->lock);
		pthread_mutex_unlock(&v->fetch_lock);
		return;
	}
	pthread_mutex_unlock(&v->lock);

	err = agent_tee_sim_root(&text, t, REMOTE_TIMEOUT_MS, API_SIM_ROOT_MAX);
	if (!err) {
		answered = true;
		err = api_sim_root_parse(&a, (const char *)text.data, text.len, endpoint, now);
		teeliza_buf_free(&text);
	}
	if (err)
		snprintf(why, sizeof(why), "%s", teeliza_errmsg());

	pthread_mutex_lock(&v->lock);
	r = slot_for(v, endpoint, true);
	snprintf(r->endpoint, sizeof(r->endpoint), "%s", endpoint);
	r->tried_at = now;
	changed = strcmp(r->error, why) != 0;
	snprintf(r->error, sizeof(r->error), "%s", why);
	is_new = a != NULL && (r->anchor == NULL || memcmp(r->anchor->root_sha256, a->root_sha256, 32) != 0);
	if (a != NULL) {
		/* A failed refresh keeps what an earlier answer gave: its collateral says itself when it expires. */
		sim_anchor_free(r->anchor);
		r->anchor = a;
		teeliza_hex_encode(fp, a->root_sha256, 32);
	}
	pthread_mutex_unlock(&v->lock);
	pthread_mutex_unlock(&v->fetch_lock);

	if (is_new)
		agent_log(log,
		          "Dashboard: the TEE endpoint %s is a teeliza simulator; its quotes are verified against its own "
		          "root CA (SHA-256 %s) and labelled simulator-rooted: NOT Intel, they prove nothing about "
		          "hardware",
		          endpoint, fp);
	else if (answered && a == NULL && changed)
		agent_log(log, "Dashboard: WARNING: the TEE endpoint %s answered Tappd.SimRoot with something unusable: %s",
		          endpoint, why);
}
