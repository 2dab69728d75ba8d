/*
 * The TEE plugin of an agent (Eliza's plugin-tee, switched on by TEE_MODE):
 * the Solana and EVM wallets derived once at start-up and attested, the
 * wallet provider text, and the WALLET_ADDRESS and REMOTE_ATTESTATION
 * actions. It implements the runtime's plugin hooks (agent_plugin in
 * teeliza/agent/runtime.h): whoever creates the registry hands it in with
 * agent_tee_plugin, and the runtime never names it. docs/AGENT.md is the
 * user-level reference.
 */
#ifndef TEELIZA_AGENT_TEE_PLUGIN_H
#define TEELIZA_AGENT_TEE_PLUGIN_H

#include "teeliza/agent/runtime.h"
#include "teeliza/tee/attest.h"

#ifdef __cplusplus
extern "C" {
#endif

typedef struct agent_tee agent_tee;

typedef struct agent_tee_config {
	const char *mode;                /* TEE_MODE: LOCAL, DOCKER, PRODUCTION; NULL/""/OFF: plugin off */
	const char *salt;                /* WALLET_SECRET_SALT (secret) */
	/*
	 * TEE_KEY_SCHEME: teeliza, eliza-v0.1.7, eliza-v0.1.9 (tappd API), dstack
	 * (dstack API); NULL/"": the API's default (dstack → dstack, tappd →
	 * teeliza). An explicit scheme chooses the API (tee_wallet_choose).
	 */
	const char *scheme;
	const char *api;                 /* TEE_API: dstack, tappd, or NULL/"" (automatic; docs/DSTACK.md) */
	const char *simulator_endpoint;  /* DSTACK_SIMULATOR_ENDPOINT, overrides the mode's endpoint */
	const char *tappd_endpoint;      /* TAPPD_SIMULATOR_ENDPOINT (tappd API only) */
	const char *kms_root;            /* TEE_KMS_ROOT: the pinned dstack KMS root (33-byte k256, hex), or NULL */
	long timeout_ms;                 /* tappd timeout; 0: 10000 */
} agent_tee_config;

/*
 * Read the plugin's settings for a character as Eliza's getSetting does
 * (settings.secrets, settings, env), the salt falling back to the one
 * agent_take_env_salt took. The strings are borrowed from the character,
 * the environment or the library.
 */
void agent_tee_config_for_character(agent_tee_config *out, const agent_character *c);

/*
 * Move WALLET_SECRET_SALT out of the process environment (teeliza_env_take:
 * unset, and its bytes overwritten where /proc/PID/environ shows them) into
 * the library's memory, registered for log redaction, where
 * agent_tee_config_for_character finds it for every agent whose character
 * has no salt of its own. The salt stays in process memory while the
 * process runs. Call once at start-up, before threads start. Unset or
 * empty: nothing happens. Errors: TEELIZA_ERR_CONFIG (longer than 4096
 * bytes), TEELIZA_ERR_NOMEM.
 */
teeliza_err agent_take_env_salt(void) TEELIZA_WARN_UNUSED;

/* The salt agent_take_env_salt took, or NULL. Valid while the process runs. */
const char *agent_env_salt(void);

/* True when the config switches the plugin on (TEE_MODE set and not OFF). */
bool agent_tee_config_enabled(const agent_tee_config *cfg);

/*
 * Check the settings as agent_tee_start does, without starting anything
 * (so `teeliza start` can refuse bad ones before it binds a port): a bad
 * TEE_MODE or endpoint (Eliza's "Invalid TEE_MODE: X. Must be one of: ..."),
 * then a missing or too long salt, then a bad TEE_KEY_SCHEME; each
 * TEELIZA_ERR_CONFIG. Call it only for a config that is enabled.
 */
teeliza_err agent_tee_config_check(const agent_tee_config *cfg) TEELIZA_WARN_UNUSED;

/*
 * Start the plugin for one agent: check the settings (missing salt:
 * TEELIZA_ERR_CONFIG "WALLET_SECRET_SALT required when TEE_MODE is
 * enabled"; bad mode or scheme: TEELIZA_ERR_CONFIG with Eliza's text), log
 * the mode line, then derive the Solana and EVM wallets once, each with its
 * attestation quote, log the attestation as the plugin does and keep the
 * quotes in the store. A tappd that cannot be reached is not an error: the
 * plugin starts without wallets, logs why, and tries again (at most every
 * 3 s) when a wallet is asked for; each REMOTE_ATTESTATION asks tappd anew. Out: *out (NULL on failure; free with
 * agent_tee_free). store and log are borrowed.
 */
teeliza_err agent_tee_start(agent_tee **out, const agent_tee_config *cfg, const char *agent_id,
                            agent_store *store, FILE *log) TEELIZA_WARN_UNUSED;
void agent_tee_free(agent_tee *t);

/* Where a wallet's key came from: dstack's GetKey with its chain, or tappd's DeriveKey (no chain). */
typedef struct agent_tee_key_origin {
	bool dstack;                                   /* false: tappd, whose keys carry no KMS chain */
	char path[TEE_WALLET_PATH_MAX + 1];            /* GetKey path, purpose, algorithm */
	char purpose[TEE_WALLET_PURPOSE_MAX + 1];
	char algorithm[16];
	bool have_provenance;                          /* the chain was walked */
	teeliza_err provenance_err;                    /* TEELIZA_OK: verified to the pinned root */
	tee_dstack_key_report provenance;              /* each link, and the one that broke */
} agent_tee_key_origin;

/* Wallet addresses and the ids of the quotes that attest them. */
typedef struct agent_tee_wallets {
	char solana[64];
	char evm[64];
	char solana_quote_id[AGENT_UUID_BUFSZ];
	char evm_quote_id[AGENT_UUID_BUFSZ];
	const char *scheme;              /* "teeliza", ... (static) */
	const char *api;                 /* "tappd" or "dstack" (static) */
	agent_tee_key_origin solana_origin;
	agent_tee_key_origin evm_origin;
} agent_tee_wallets;

/*
 * The agent's wallets, deriving them now if start-up could not. Out: *out
 * (zeroed first). TEELIZA_ERR_CONNECT etc. with a message saying why they
 * are unavailable.
 */
teeliza_err agent_tee_wallets_get(agent_tee_wallets *out, agent_tee *t) TEELIZA_WARN_UNUSED;

/*
 * The wallet provider's text, {"solana":"…","evm":"…"} as the plugin's
 * deriveKeyProvider returns it; empty when the wallets are unavailable.
 * Out: text is reset and filled.
 */
teeliza_err agent_tee_provider_text(teeliza_buf *text, agent_tee *t) TEELIZA_WARN_UNUSED;

/*
 * A remote attestation of one message, as the REMOTE_ATTESTATION action
 * quotes it: report data = {"agentId":…,"timestamp":…,"message":{"userId":…,
 * "roomId":…,"content":…}} (compact, that order), quoted with tappd's
 * default SHA-512 over "app-data:" ‖ data, checked against its event log,
 * stored with a new id. Out: quote_id. Errors from tappd and the store.
 */
teeliza_err agent_tee_attest_message(char quote_id[AGENT_UUID_BUFSZ], agent_tee *t, const char *user_id,
                                     const char *room_id, const char *text) TEELIZA_WARN_UNUSED;

/*
 * The plugin's actions (WALLET_ADDRESS, REMOTE_ATTESTATION) bound to t.
 * Out: actions[0..*n) (at most max); returns TEELIZA_ERR_TOO_LARGE when max
 * is too small.
 */
teeliza_err agent_tee_actions(agent_action *actions, size_t max, size_t *n, agent_tee *t) TEELIZA_WARN_UNUSED;

/* The plugin's name among a registry's plugins (agent_runtime_plugin_state). */
#define AGENT_TEE_PLUGIN_NAME "tee"

/*
 * The TEE plugin for agent_registry_config.plugins. cfg: the settings of
 * every agent (borrowed: must outlive the registry), or NULL: each agent's
 * own (agent_tee_config_for_character), as `teeliza start` does. An agent
 * whose settings leave it off (agent_tee_config_enabled) has no TEE plugin;
 * for the others it is agent_tee_start's, logged as "TEE plugin on" in the
 * agent's start line.
 */
void agent_tee_plugin(agent_plugin *out, const agent_tee_config *cfg);

/* The agent's TEE plugin, or NULL when it is off or its registry has no TEE plugin. */
agent_tee *agent_runtime_tee(const agent_runtime *rt);

#ifdef __cplusplus
}
#endif
#endif
