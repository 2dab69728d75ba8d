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

struct agent_tee {
	pthread_mutex_t lock;            /* wallets, have_wallets, last_error, last_attempt_ms */
	tappd_client client;
	tee_key_scheme scheme;
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

	assert(out != NULL && c != NULL);
	memset(out, 0, sizeof(*out));
	out->mode = agent_character_get_setting(c, "TEE_MODE");
	out->salt = agent_character_get_setting(c, "WALLET_SECRET_SALT");
	/* The environment's salt, once start-up has taken it out of the environment. */
	if (out->salt == NULL)
		out->salt = agent_env_salt();
	out->scheme = agent_character_get_setting(c, "TEE_KEY_SCHEME");
	/* The JS SDK reads this one from process.env only. */
	out->simulator_endpoint = sim != NULL && sim[0] != 0 ? sim : NULL;
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
static teeliza_err derive_one(char *out_address, size_t out_len, char quote_id[AGENT_UUID_BUFSZ], agent_tee *t,
                              tee_chain chain)
{
	tee_wallet w;
	teeliza_err err;

	err = tee_derive_wallet(&w, &t->client, t->scheme, chain, t->salt, t->agent_id, true);
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
	t->last_attempt_ms = agent_store_now_ms();
	err = derive_one(w.solana, sizeof(w.solana), w.solana_quote_id, t, TEE_CHAIN_SOLANA);
	if (!err)
		err = derive_one(w.evm, sizeof(w.evm), w.evm_quote_id, t, TEE_CHAIN_EVM);
	if (err) {
		snprintf(t->last_error, sizeof(t->last_error), "%s",
		         teeliza_errmsg()[0] ? teeliza_errmsg() : teeliza_strerror(err));
		return err;
	}
	t->wallets = w;
	t->have_wallets = true;
	t->last_error[0] = 0;
	agent_log(t->log, "TEE: agent %s wallets (key scheme %s): Solana %s, EVM %s; attestation quotes %s, %s",
	          t->agent_id, w.scheme, w.solana, w.evm, w.solana_quote_id, w.evm_quote_id);
	return TEELIZA_OK;
}

teeliza_err agent_tee_config_check(const agent_tee_config *cfg)
{
	tappd_endpoint ep;
	tee_key_scheme scheme;

	assert(cfg != NULL);
	/* the mode first: with a bad TEE_MODE, a missing salt is not the real problem */
	if (tappd_endpoint_select(&ep, cfg->mode, cfg->simulator_endpoint) != TEELIZA_OK)
		return agent_error_wrap(TEELIZA_ERR_CONFIG, "");
	if (cfg->salt == NULL || cfg->salt[0] == 0)
		return teeliza_set_error(TEELIZA_ERR_CONFIG, "WALLET_SECRET_SALT required when TEE_MODE is enabled");
	if (strlen(cfg->salt) > TEE_SALT_MAX)
		return teeliza_set_error(TEELIZA_ERR_CONFIG, "WALLET_SECRET_SALT is longer than %d bytes", TEE_SALT_MAX);
	if (cfg->scheme != NULL && cfg->scheme[0] != 0 && tee_key_scheme_parse(&scheme, cfg->scheme) != TEELIZA_OK)
		return agent_error_wrap(TEELIZA_ERR_CONFIG, "TEE_KEY_SCHEME: ");
	return agent_receipt_signature_check();
}

teeliza_err agent_tee_start(agent_tee **out, const agent_tee_config *cfg, const char *agent_id, agent_store *store,
                            FILE *log)
{
	char line[TAPPD_CONNECT_LOG_LINE_MAX];
	tappd_endpoint ep;
	agent_tee *t;
	teeliza_err err;

	assert(out != NULL && cfg != NULL && agent_id != NULL && store != NULL);
	*out = NULL;
	err = agent_tee_config_check(cfg);
	if (err)
		return err;
	if (strlen(agent_id) >= sizeof(t->agent_id))
		return teeliza_set_error(TEELIZA_ERR_INVALID, "agent id too long");
	err = tappd_endpoint_select(&ep, cfg->mode, cfg->simulator_endpoint);
	if (err)
		return agent_error_wrap(TEELIZA_ERR_CONFIG, "");
	t = calloc(1, sizeof(*t));
	if (t == NULL)
		return teeliza_set_error(TEELIZA_ERR_NOMEM, "out of memory");
	if (pthread_mutex_init(&t->lock, NULL) != 0) {
		free(t);
		return teeliza_set_error(TEELIZA_ERR_NOMEM, "cannot create a mutex");
	}
	t->scheme = TEE_SCHEME_TEELIZA;
	if (cfg->scheme != NULL && cfg->scheme[0] != 0 && tee_key_scheme_parse(&t->scheme, cfg->scheme) != TEELIZA_OK) {
		err = agent_error_wrap(TEELIZA_ERR_CONFIG, "TEE_KEY_SCHEME: ");
		agent_tee_free(t);
		return err;
	}
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
	t->simulated = cfg->simulator_endpoint != NULL || strcmp(cfg->mode, "PRODUCTION") != 0;
	tappd_client_init(&t->client, &ep);
	t->client.timeout_ms = cfg->timeout_ms > 0 ? cfg->timeout_ms : TEE_DEFAULT_TIMEOUT_MS;

	agent_log(log, "%s", tappd_connect_log_line(line, sizeof(line), cfg->mode, cfg->simulator_endpoint));
	if (cfg->simulator_endpoint != NULL)
		agent_log(log, "%s%s", TAPPD_OVERRIDE_LOG_PREFIX, cfg->simulator_endpoint);
	pthread_mutex_lock(&t->lock);
	err = derive_wallets(t);
	pthread_mutex_unlock(&t->lock);
	if (err)
		agent_log(log,
		          "TEE: WARNING: cannot derive the wallets of agent %s yet: %s. Chat goes on; wallet and "
		          "attestation answers will say they are unavailable until tappd answers.",
		          agent_id, t->last_error);
	err = agent_tee_receipts_new(&t->receipts, &t->client, t->salt, t->agent_id, store, log);
	if (err) {
		agent_tee_free(t);
		return err;
	}
	if (t->receipts != NULL &&
	    agent_tee_receipts_prepare(t->receipts, t->have_wallets ? &t->wallets : NULL) != TEELIZA_OK)
		agent_log(log, "TEE: WARNING: no reply key for agent %s yet: %s. Replies carry no receipt until tappd "
		          "answers.", agent_id, teeliza_errmsg());
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

	if (timeout_ms > 0)
		c.timeout_ms = timeout_ms;
	return tappd_info(json_out, &c);
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
