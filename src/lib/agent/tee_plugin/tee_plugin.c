/*
 * The TEE plugin of an agent: Eliza's plugin-tee switched on by TEE_MODE,
 * with two changes that matter to users (docs/AGENT.md):
 *  - the Solana and EVM wallets are derived once, at start-up (Eliza derives
 *    them, and quotes them, on every message), and a tappd that is down only
 *    makes wallet and attestation answers say so, it never breaks chat;
 *  - quotes are kept in the agent's store and served by its own REST API
 *    instead of being uploaded to a third party.
 */
#include "agent/tee_plugin/tee_plugin_internal.h"
#include "agent/runtime/runtime_internal.h"
#include "teeliza/tee/attest.h"
#include "teeliza/tee/dstack_wallet.h"
#include "teeliza/common/encoding.h"
#include "teeliza/common/metrics.h"
#include "agent/runtime/logring.h"
#include "teeliza/agent/tee_receipts.h"

#include <assert.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>

#define TEE_DEFAULT_TIMEOUT_MS 10000L
/* After a failed derivation, wait this long before asking tappd again. */
#define TEE_RETRY_MS 3000
#define TEE_LOG_MAX ((size_t)64 << 20)
#define TEE_SALT_MAX 4096
#define TEE_KMS_ROOT_HEX_MAX 68 /* 33 bytes, with an optional "0x" */

struct agent_tee {
	pthread_mutex_t lock;            /* wallets, have_wallets, last_error, last_attempt_ms */
	tee_api api;                     /* which client below is used */
	tappd_client client;
	dstack_client dclient;
	tee_key_scheme scheme;
	char kms_root[TEE_KMS_ROOT_HEX_MAX + 1]; /* pinned KMS root, hex, or "" */
	char *salt;                      /* secret */
	size_t salt_len;
	char agent_id[AGENT_UUID_BUFSZ + 64];
	bool simulated;                  /* LOCAL/DOCKER mode or a simulator endpoint */
	agent_store *store;
	FILE *log;
	bool have_wallets;
	agent_tee_wallets wallets;
	char last_error[512];
	int64_t last_attempt_ms;
	agent_tee_receipts *receipts;    /* reply key and receipt chain (tee_receipts.c) */
};

void agent_tee_config_for_character(agent_tee_config *out, const agent_character *c)
{
	const char *sim = getenv("DSTACK_SIMULATOR_ENDPOINT");
	const char *tappd = getenv("TAPPD_SIMULATOR_ENDPOINT");

	assert(out != NULL && c != NULL);
	memset(out, 0, sizeof(*out));
	out->mode = agent_character_get_setting(c, "TEE_MODE");
	out->salt = agent_character_get_setting(c, "WALLET_SECRET_SALT");
	/* The environment's salt, once start-up has taken it out of the environment. */
	if (out->salt == NULL)
		out->salt = agent_env_salt();
	out->scheme = agent_character_get_setting(c, "TEE_KEY_SCHEME");
	out->api = agent_character_get_setting(c, "TEE_API");
	out->kms_root = agent_character_get_setting(c, "TEE_KMS_ROOT");
	/* The JS SDK reads these from process.env only. */
	out->simulator_endpoint = sim != NULL && sim[0] != 0 ? sim : NULL;
	out->tappd_endpoint = tappd != NULL && tappd[0] != 0 ? tappd : NULL;
}

bool agent_tee_config_enabled(const agent_tee_config *cfg)
{
	/* Eliza: TEE_MODE !== "OFF" (exact), and unset means OFF. */
	return cfg != NULL && cfg->mode != NULL && cfg->mode[0] != 0 && strcmp(cfg->mode, "OFF") != 0;
}

void agent_tee_free(agent_tee *t)
{
	if (t == NULL)
		return;
	agent_tee_receipts_free(t->receipts);
	if (t->salt != NULL) {
		agent_logring_release_secret(t->salt);
		teeliza_wipe(t->salt, t->salt_len);
	}
	free(t->salt);
	pthread_mutex_destroy(&t->lock);
	free(t);
}

/* Print the plugin's log lines for one attestation. */
static void log_attestation(agent_tee *t, const char *title, const tee_attestation *a, const char *done)
{
	teeliza_buf text;

	teeliza_buf_init(&text, TEE_LOG_MAX);
	if (teeliza_buf_printf(&text, "%s\n", title) == TEELIZA_OK && tee_attestation_log(&text, a, 0) == TEELIZA_OK &&
	    teeliza_buf_append_str(&text, done) == TEELIZA_OK) {
		/*
		 * A block of lines, as Eliza's plugin prints it. Its one outside part,
		 * the report data, is JSON this program composed: no raw line breaks.
		 */
		agent_log_lines(t->log, (const char *)text.data);
	}
	teeliza_buf_free(&text);
}

/* Keep a checked quote in the store under a new id. */
static teeliza_err keep_quote(char id[AGENT_UUID_BUFSZ], agent_tee *t, const tee_attestation *a)
{
	agent_attestation row;
	teeliza_err err;

	err = tee_attestation_check(a);
	if (err)
		return err;
	err = agent_uuid_random(id);
	if (err)
		return err;
	memset(&row, 0, sizeof(row));
	row.id = id;
	row.agent_id = t->agent_id;
	row.created_at = a->timestamp_ms;
	row.report_data_json = (const char *)a->report_data.data;
	row.quote = a->quote.data;
	row.quote_len = a->quote.len;
	row.event_log = a->event_log.len > 0 ? (const char *)a->event_log.data : NULL;
	err = agent_store_put_attestation(t->store, &row);
	if (!err)
		teeliza_metrics_count_quote();
	return err;
}

/* Derive one wallet with its attestation; out_address gets the address, quote_id the stored quote. */
/* One line per dstack wallet: its GetKey path and how far its chain verified. */
static void log_origin(agent_tee *t, tee_chain chain, const agent_tee_key_origin *o)
{
	char root[2 * TEE_DSTACK_K256_PUB_LEN + 1] = "";

	if (o->provenance.have_root)
		teeliza_hex_encode(root, o->provenance.root_pub, sizeof(o->provenance.root_pub));
	if (o->have_provenance && o->provenance_err == TEELIZA_OK)
		agent_log(t->log, "TEE: %s key from dstack GetKey(path %s, purpose %s, %s): chain verified to the pinned "
		          "KMS root %s", tee_chain_name(chain), o->path, o->purpose, o->algorithm, root);
	else if (o->have_provenance)
		agent_log(t->log, "TEE: %s key from dstack GetKey(path %s, purpose %s, %s): chain NOT verified, link %s: %s",
		          tee_chain_name(chain), o->path, o->purpose, o->algorithm,
		          tee_dstack_link_name(o->provenance.broken), o->provenance.message);
}

static teeliza_err derive_one(char *out_address, size_t out_len, char quote_id[AGENT_UUID_BUFSZ],
                              agent_tee_key_origin *origin, agent_tee *t, tee_chain chain)
{
	tee_wallet w;
	teeliza_err err;

	if (t->api == TEE_API_DSTACK)
		err = tee_dstack_derive_wallet(&w, &t->dclient, t->scheme, chain, t->salt, t->agent_id, true,
		                               t->kms_root[0] ? t->kms_root : NULL);
	else
		err = tee_derive_wallet(&w, &t->client, t->scheme, chain, t->salt, t->agent_id, true);
	memset(origin, 0, sizeof(*origin));
	if (!err && w.dstack) {
		origin->dstack = true;
		memcpy(origin->path, w.key_path, sizeof(origin->path));
		memcpy(origin->purpose, w.key_purpose, sizeof(origin->purpose));
		memcpy(origin->algorithm, w.key_algorithm, sizeof(origin->algorithm));
		origin->have_provenance = w.have_provenance;
		origin->provenance_err = w.provenance_err;
		origin->provenance = w.provenance;
		log_origin(t, chain, origin);
	}
	if (!err) {
		log_attestation(t, "Generating Remote Attestation Quote for Derive Key...", &w.attestation,
		                "Remote Attestation Quote generated successfully!");
		err = keep_quote(quote_id, t, &w.attestation);
	}
	if (!err && strlen(w.address) >= out_len)
		err = teeliza_set_error(TEELIZA_ERR_INTERNAL, "wallet address too long");
	if (!err)
		memcpy(out_address, w.address, strlen(w.address) + 1);
	tee_wallet_free(&w);
	return err;
}

/* Derive both wallets; called with t->lock held. */
static teeliza_err derive_wallets(agent_tee *t)
{
	agent_tee_wallets w;
	teeliza_err err;

	memset(&w, 0, sizeof(w));
	w.scheme = tee_key_scheme_name(t->scheme);
	w.api = tee_api_name(t->api);
	t->last_attempt_ms = agent_store_now_ms();
	err = derive_one(w.solana, sizeof(w.solana), w.solana_quote_id, &w.solana_origin, t, TEE_CHAIN_SOLANA);
	if (!err)
		err = derive_one(w.evm, sizeof(w.evm), w.evm_quote_id, &w.evm_origin, t, TEE_CHAIN_EVM);
	if (err) {
		snprintf(t->last_error, sizeof(t->last_error), "%s",
		         teeliza_errmsg()[0] ? teeliza_errmsg() : teeliza_strerror(err));
		return err;
	}
	t->wallets = w;
	t->have_wallets = true;
	t->last_error[0] = 0;
	/* scripts read this line (DEPLOY.md); the API is on the scheme line */
	agent_log(t->log, "TEE: agent %s wallets (key scheme %s): Solana %s, EVM %s; attestation quotes %s, %s",
	          t->agent_id, w.scheme, w.solana, w.evm, w.solana_quote_id, w.evm_quote_id);
	return TEELIZA_OK;
}

/* The endpoint inputs of a config, as tee_endpoint_choose reads them. */
static void config_env(tee_endpoint_env *env, const agent_tee_config *cfg)
{
	memset(env, 0, sizeof(*env));
	env->tee_mode = cfg->mode;
	env->tee_api = cfg->api;
	env->dstack_endpoint = cfg->simulator_endpoint;
	env->tappd_endpoint = cfg->tappd_endpoint;
}

/* The API, endpoint and scheme, and the pinned root's form; every failure is TEELIZA_ERR_CONFIG. */
static teeliza_err config_choose(tee_wallet_choice *choice, const agent_tee_config *cfg)
{
	tee_endpoint_env env;
	uint8_t root[TEE_DSTACK_K256_PUB_LEN];
	const char *hex = cfg->kms_root;
	size_t n, got = 0;

	config_env(&env, cfg);
	/* the mode first: with a bad TEE_MODE, a missing salt is not the real problem */
	if (tee_wallet_choose(choice, &env, cfg->scheme) != TEELIZA_OK)
		return agent_error_wrap(TEELIZA_ERR_CONFIG, "");
	/* its path is the user's, one per wallet: a migration check for `teeliza derive`, not an agent's scheme */
	if (choice->scheme == TEE_SCHEME_DSTACK_SDK)
		return teeliza_set_error(TEELIZA_ERR_CONFIG,
		                         "TEE_KEY_SCHEME=dstack-sdk is not an agent scheme: it needs the GetKey path your "
		                         "JS app used, which `teeliza derive --scheme dstack-sdk --path P` takes; an agent "
		                         "uses dstack (or a tappd scheme)");
	if (cfg->salt == NULL || cfg->salt[0] == 0)
		return teeliza_set_error(TEELIZA_ERR_CONFIG, "WALLET_SECRET_SALT required when TEE_MODE is enabled");
	if (strlen(cfg->salt) > TEE_SALT_MAX)
		return teeliza_set_error(TEELIZA_ERR_CONFIG, "WALLET_SECRET_SALT is longer than %d bytes", TEE_SALT_MAX);
	if (hex != NULL && hex[0] != 0) {
		n = strlen(hex);
		if (n > 2 * sizeof(root) + 2 || teeliza_hex_decode(root, sizeof(root), &got, hex, n, true) != TEELIZA_OK ||
		    got != sizeof(root) || (root[0] != 2 && root[0] != 3))
			return teeliza_set_error(TEELIZA_ERR_CONFIG,
			                         "TEE_KMS_ROOT must be the KMS root's compressed secp256k1 public key: 66 hex "
			                         "digits starting 02 or 03");
	}
	return agent_receipt_signature_check();
}

teeliza_err agent_tee_config_check(const agent_tee_config *cfg)
{
	tee_wallet_choice choice;

	assert(cfg != NULL);
	return config_choose(&choice, cfg);
}

teeliza_err agent_tee_start(agent_tee **out, const agent_tee_config *cfg, const char *agent_id, agent_store *store,
                            FILE *log)
{
	tee_wallet_choice choice;
	agent_tee *t;
	teeliza_err err;

	assert(out != NULL && cfg != NULL && agent_id != NULL && store != NULL);
	*out = NULL;
	err = config_choose(&choice, cfg);
	if (err)
		return err;
	if (strlen(agent_id) >= sizeof(t->agent_id))
		return teeliza_set_error(TEELIZA_ERR_INVALID, "agent id too long");
	t = calloc(1, sizeof(*t));
	if (t == NULL)
		return teeliza_set_error(TEELIZA_ERR_NOMEM, "out of memory");
	if (pthread_mutex_init(&t->lock, NULL) != 0) {
		free(t);
		return teeliza_set_error(TEELIZA_ERR_NOMEM, "cannot create a mutex");
	}
	t->scheme = choice.scheme;
	t->api = choice.endpoint.api;
	if (cfg->kms_root != NULL)
		snprintf(t->kms_root, sizeof(t->kms_root), "%s", cfg->kms_root);
	t->salt_len = strlen(cfg->salt);
	t->salt = malloc(t->salt_len + 1);
	if (t->salt == NULL) {
		agent_tee_free(t);
		return teeliza_set_error(TEELIZA_ERR_NOMEM, "out of memory");
	}
	memcpy(t->salt, cfg->salt, t->salt_len + 1);
	/* Before the plugin's first log line; released when the plugin is freed. */
	agent_logring_hold_secret(t->salt);
	snprintf(t->agent_id, sizeof(t->agent_id), "%s", agent_id);
	t->store = store;
	t->log = log;
	t->simulated = choice.endpoint.overridden || strcmp(cfg->mode, "PRODUCTION") != 0;
	tappd_client_init(&t->client, &choice.endpoint.ep);
	t->client.timeout_ms = cfg->timeout_ms > 0 ? cfg->timeout_ms : TEE_DEFAULT_TIMEOUT_MS;
	dstack_client_init(&t->dclient, &choice.endpoint.ep);
	t->dclient.timeout_ms = t->client.timeout_ms;

	agent_log(log, "%s", choice.endpoint.log_line);
	if (choice.endpoint.sdk_line[0])
		agent_log(log, "%s", choice.endpoint.sdk_line);
	agent_log(log, "%s", choice.scheme_line);
	if (t->api == TEE_API_DSTACK && t->kms_root[0] == 0)
		agent_log(log, "TEE: TEE_KMS_ROOT is not set: each wallet key's chain is walked, but no KMS root is pinned, "
		               "so it proves nothing about who issued the key");
	pthread_mutex_lock(&t->lock);
	err = derive_wallets(t);
	pthread_mutex_unlock(&t->lock);
	if (err)
		agent_log(log,
		          "TEE: WARNING: cannot derive the wallets of agent %s yet: %s. Chat goes on; wallet and "
		          "attestation answers will say they are unavailable until %s answers.",
		          agent_id, t->last_error, tee_api_name(t->api));
	err = agent_tee_receipts_new(&t->receipts, t->api == TEE_API_DSTACK ? NULL : &t->client,
	                             t->api == TEE_API_DSTACK ? &t->dclient : NULL, t->salt, t->agent_id, store, log);
	if (err) {
		agent_tee_free(t);
		return err;
	}
	if (t->receipts != NULL &&
	    agent_tee_receipts_prepare(t->receipts, t->have_wallets ? &t->wallets : NULL) != TEELIZA_OK)
		agent_log(log, "TEE: WARNING: no reply key for agent %s yet: %s. Replies carry no receipt until %s "
		          "answers.", agent_id, teeliza_errmsg(), tee_api_name(t->api));
	*out = t;
	return TEELIZA_OK;
}

agent_tee_receipts *agent_tee_receipts_of(agent_tee *t)
{
	return t != NULL ? t->receipts : NULL;
}

teeliza_err agent_tee_wallets_get(agent_tee_wallets *out, agent_tee *t)
{
	teeliza_err err = TEELIZA_OK;

	assert(out != NULL && t != NULL);
	memset(out, 0, sizeof(*out));
	pthread_mutex_lock(&t->lock);
	if (!t->have_wallets) {
		if (agent_store_now_ms() - t->last_attempt_ms >= TEE_RETRY_MS)
			err = derive_wallets(t);
		else
			err = TEELIZA_ERR_CONNECT;
		if (err)
			err = teeliza_set_error(err, "%s", t->last_error);
	}
	if (!err)
		*out = t->wallets;
	pthread_mutex_unlock(&t->lock);
	return err;
}

teeliza_err agent_tee_provider_text(teeliza_buf *text, agent_tee *t)
{
	teeliza_err err = TEELIZA_OK;

	assert(text != NULL && t != NULL);
	teeliza_buf_reset(text);
	/* Cached wallets only: a provider must never wait for tappd. */
	pthread_mutex_lock(&t->lock);
	if (t->have_wallets)
		err = teeliza_buf_printf(text, "{\"solana\":\"%s\",\"evm\":\"%s\"}", t->wallets.solana, t->wallets.evm);
	pthread_mutex_unlock(&t->lock);
	return err;
}

bool agent_tee_simulated(const agent_tee *t)
{
	return t->simulated;
}

teeliza_err agent_tee_tappd_info(teeliza_buf *json_out, agent_tee *t, long timeout_ms)
{
	tappd_client c = t->client;
	dstack_client d = t->dclient;
	dstack_info info;
	teeliza_err err;

	if (t->api == TEE_API_DSTACK) {
		if (timeout_ms > 0)
			d.timeout_ms = timeout_ms;
		err = dstack_get_info(&info, &d);
		if (!err)
			err = teeliza_buf_append(json_out, info.raw.data, info.raw.len);
		dstack_info_free(&info);
		return err;
	}
	if (timeout_ms > 0)
		c.timeout_ms = timeout_ms;
	return tappd_info(json_out, &c);
}

const char *agent_tee_api(const agent_tee *t)
{
	return tee_api_name(t->api);
}

const char *agent_tee_kms_root(const agent_tee *t)
{
	return t->kms_root[0] != 0 ? t->kms_root : NULL;
}

teeliza_err agent_tee_sim_root(teeliza_buf *json_out, agent_tee *t, long timeout_ms, size_t max)
{
	tappd_client c = t->client;

	if (timeout_ms > 0)
		c.timeout_ms = timeout_ms;
	c.max_response = max;
	return tappd_sim_root(json_out, &c);
}

const char *agent_tee_endpoint(char *out, size_t out_len, const agent_tee *t)
{
	return tappd_endpoint_str(out, out_len, &t->client.ep);
}

teeliza_err agent_tee_attest_message(char quote_id[AGENT_UUID_BUFSZ], agent_tee *t, const char *user_id,
                                     const char *room_id, const char *text)
{
	tee_attestation a;
	json_t *data;
	char *json;
	teeliza_err err;

	assert(quote_id != NULL && t != NULL && user_id != NULL && room_id != NULL);
	memset(quote_id, 0, AGENT_UUID_BUFSZ);
	data = json_pack("{s:s, s:I, s:{s:s, s:s, s:s}}", "agentId", t->agent_id, "timestamp",
	                 (json_int_t)agent_store_now_ms(), "message", "userId", user_id, "roomId", room_id, "content",
	                 text != NULL ? text : "");
	json = data != NULL ? json_dumps(data, JSON_COMPACT | JSON_PRESERVE_ORDER) : NULL;
	json_decref(data);
	if (json == NULL)
		return teeliza_set_error(TEELIZA_ERR_NOMEM, "out of memory");
	if (t->api == TEE_API_DSTACK)
		err = tee_dstack_remote_attestation(&a, NULL, &t->dclient, json, strlen(json));
	else
		err = tee_remote_attestation(&a, &t->client, json, strlen(json), NULL);
	if (!err) {
		log_attestation(t, "Remote attestation of a message (REMOTE_ATTESTATION)...", &a, "Remote attestation quote stored.");
		err = keep_quote(quote_id, t, &a);
	}
	tee_attestation_free(&a);
	free(json);
	if (err)
		memset(quote_id, 0, AGENT_UUID_BUFSZ);
	return err;
}
