/*
 * The TEE plugin's actions. Their answers are built here from the real
 * wallet addresses and stored quotes, never from the model's words.
 */
#include "agent/tee_plugin/tee_plugin_internal.h"
#include "agent/runtime/runtime_internal.h"

#include <string.h>

#define LINK_MAX (AGENT_PUBLIC_URL_MAX + 128)

/* "<public url>/agents/<agent>/attestations/<quote>", or "" without a public URL. */
static void quote_link(char out[LINK_MAX], const agent_runtime *rt, const char *quote_id)
{
	char base[AGENT_PUBLIC_URL_MAX];

	agent_runtime_public_url(base, sizeof(base), rt);
	if (base[0] == 0)
		out[0] = 0;
	else
		snprintf(out, LINK_MAX, "%s/agents/%s/attestations/%s", base, agent_runtime_id(rt), quote_id);
}

static json_t *quote_ref(const agent_runtime *rt, const char *quote_id)
{
	char link[LINK_MAX];

	quote_link(link, rt, quote_id);
	return json_pack("{s:s, s:s?}", "id", quote_id, "url", link[0] != 0 ? link : NULL);
}

static teeliza_err wallet_handler(json_t **callback, const agent_action_call *call, void *ctx)
{
	agent_tee *t = ctx;
	agent_tee_wallets w;
	char sol_link[LINK_MAX], evm_link[LINK_MAX];
	teeliza_buf text;
	teeliza_err err;

	*callback = NULL;
	teeliza_buf_init(&text, 8192);
	err = agent_tee_wallets_get(&w, t);
	if (err) {
		err = teeliza_buf_printf(&text,
		                         "My wallet is unavailable right now: the TEE could not derive my keys (%s). "
		                         "Remote attestation is unavailable too until it is reachable again.",
		                         teeliza_errmsg());
		*callback = err ? NULL : json_pack("{s:s, s:s}", "text", (const char *)text.data, "action", "NONE");
		teeliza_buf_free(&text);
		return err ? err : (*callback == NULL ? teeliza_set_error(TEELIZA_ERR_NOMEM, "out of memory") : TEELIZA_OK);
	}
	quote_link(sol_link, call->rt, w.solana_quote_id);
	quote_link(evm_link, call->rt, w.evm_quote_id);
	err = teeliza_buf_printf(&text, "My Solana address is %s and my EVM address is %s.\n"
	                                "Both keys were derived inside the TEE (key scheme %s) and are attested by "
	                                "quotes %s (Solana) and %s (EVM)%s",
	                         w.solana, w.evm, w.scheme, sol_link[0] ? sol_link : w.solana_quote_id,
	                         evm_link[0] ? evm_link : w.evm_quote_id,
	                         agent_tee_simulated(t) ? " - from a TEE SIMULATOR, so they prove nothing about "
	                                                  "hardware."
	                                                : ".");
	if (!err)
		*callback = json_pack("{s:s, s:s, s:s, s:s, s:s, s:{s:o, s:o}}", "text", (const char *)text.data, "action",
		                      "NONE", "solana", w.solana, "evm", w.evm, "keyScheme", w.scheme, "attestations",
		                      "solana", quote_ref(call->rt, w.solana_quote_id), "evm",
		                      quote_ref(call->rt, w.evm_quote_id));
	teeliza_buf_free(&text);
	if (!err && *callback == NULL)
		err = teeliza_set_error(TEELIZA_ERR_NOMEM, "out of memory");
	return err;
}

static teeliza_err attestation_handler(json_t **callback, const agent_action_call *call, void *ctx)
{
	agent_tee *t = ctx;
	char quote_id[AGENT_UUID_BUFSZ], link[LINK_MAX];
	teeliza_buf text;
	teeliza_err err;

	*callback = NULL;
	teeliza_buf_init(&text, 8192);
	err = agent_tee_attest_message(quote_id, t, call->user_id, call->room_id, call->text);
	if (err) {
		err = teeliza_buf_printf(&text,
		                         "Remote attestation is unavailable right now: %s. Nothing was quoted; ask again "
		                         "once the TEE service (tappd) is reachable.",
		                         teeliza_errmsg());
		*callback = err ? NULL : json_pack("{s:s, s:s}", "text", (const char *)text.data, "action", "NONE");
	} else {
		quote_link(link, call->rt, quote_id);
		err = teeliza_buf_printf(&text, "Here's my \xF0\x9F\xA7\xBE RA Quote \xF0\x9F\xAB\xA1\n%s\n"
		                                "It quotes {agentId, timestamp, message} of your message; check it with "
		                                "`teeliza verify`.%s",
		                         link[0] ? link : quote_id,
		                         agent_tee_simulated(t) ? " SIMULATED: it comes from a TEE simulator, not "
		                                                  "from TDX hardware."
		                                                : "");
		if (!err)
			*callback = json_pack("{s:s, s:s, s:o}", "text", (const char *)text.data, "action", "NONE",
			                      "attestation", quote_ref(call->rt, quote_id));
	}
	teeliza_buf_free(&text);
	if (!err && *callback == NULL)
		err = teeliza_set_error(TEELIZA_ERR_NOMEM, "out of memory");
	return err;
}

static const char *const wallet_similes[] = {"GET_WALLET_ADDRESS", "WALLET", "SHOW_WALLET", "TEE_WALLET", NULL};
static const char *const wallet_keywords[] = {"wallet", "wallet address", "solana", "evm", "ethereum",
                                              "eth address", "public key", "your address", "your addresses",
                                              NULL};
static const char *const wallet_examples[] = {
	"{{user1}}: What's your wallet address?\n{{agentName}}: Here they are. (WALLET_ADDRESS)",
	NULL,
};

static const char *const attest_similes[] = {"TEE_REMOTE_ATTESTATION", "TEE_ATTESTATION", NULL};
static const char *const attest_keywords[] = {"attest*", "remote attestation", "ra quote", "tdx quote",
                                              "attestation quote", "prove you", "proof", NULL};
static const char *const attest_examples[] = {
	"{{user1}}: Can you prove you run in a TEE?\n{{agentName}}: Sure, here is a fresh quote. (REMOTE_ATTESTATION)",
	NULL,
};

teeliza_err agent_tee_actions(agent_action *actions, size_t max, size_t *n, agent_tee *t)
{
	*n = 0;
	if (max < 2)
		return teeliza_set_error(TEELIZA_ERR_TOO_LARGE, "no room for the TEE plugin's actions");
	memset(actions, 0, 2 * sizeof(*actions));
	actions[0].name = "WALLET_ADDRESS";
	actions[0].similes = wallet_similes;
	actions[0].description = "Tell the user the agent's Solana and EVM wallet addresses (derived in the TEE) and "
	                         "the quotes that attest them. Use it whenever someone asks for an address or wallet.";
	actions[0].examples = wallet_examples;
	actions[0].keywords = wallet_keywords;
	actions[0].suppress_initial_message = true;
	actions[0].keyword_trigger = true;
	actions[0].handler = wallet_handler;
	actions[0].ctx = t;
	actions[1].name = "REMOTE_ATTESTATION";
	actions[1].similes = attest_similes;
	actions[1].description = "Generate a remote attestation quote of the user's message to prove the agent runs "
	                         "in a TEE; the reply carries a link to the quote.";
	actions[1].examples = attest_examples;
	actions[1].keywords = attest_keywords;
	actions[1].keyword_trigger = true;
	actions[1].handler = attestation_handler;
	actions[1].ctx = t;
	*n = 2;
	return TEELIZA_OK;
}
