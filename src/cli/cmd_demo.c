/*
 * `teeliza demo`: the Eliza TEE guide's flow, end to end, against teeliza's
 * own simulator started in this process: derive the agent's Solana and EVM
 * wallets from a salt and the agent id, print the attestation exactly as
 * the plugin logs it, check each quote against its event log and data, stop.
 */
#include "cli/tee_cli.h"
#include "teeliza/agent/uuid.h"
#include "teeliza/sim/simulator.h"

#include <errno.h>
#include <ftw.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#define DEMO_PORT 8090
#define DEMO_STATE_DIR "./data/simulator"
#define DEMO_SALT "teeliza-demo-salt"
#define DEMO_CHARACTER "Eliza"

struct demo_opts {
	const char *state_dir, *key_file, *agent_id;
	uint64_t port;
};

static const struct cli_opt demo_rows[] = {
	CLI_OPT_U64(struct demo_opts, port, "port", 0, "N", 0, 65535, "bad port '%s' (0..65535)",
	            "simulator port (default 8090; 0 = any free port)"),
	CLI_OPT_STRING(struct demo_opts, state_dir, "state-dir", 0, "DIR",
	               "simulator keys and PKI (default $TEELIZA_SIM_STATE or " DEMO_STATE_DIR ";\n"
	               "a temporary directory, removed afterwards, when that is not writable)"),
	CLI_OPT_STRING(struct demo_opts, key_file, "key-file", 0, "FILE",
	               "simulator CA key (default: the public development key, tappd-simulator's\n"
	               "certs/app.key, so the wallets are the ones the phalanetwork/tappd-simulator\n"
	               "image gives, the same on every machine)"),
	CLI_OPT_STRING(struct demo_opts, agent_id, "agent-id", 0, "ID",
	               "agent id to attest (a NAME that is not a UUID: stringToUuid(NAME))"),
	CLI_OPT_HELP,
	CLI_OPT_END,
};

static const struct cli_command demo_cmd = {
	.name = "demo",
	.usage = "usage: teeliza demo [--port N] [--state-dir DIR] [--key-file FILE] [--agent-id ID]\n"
	         "\n"
	         "Run the Eliza TEE guide's demo against teeliza's simulator, in this process\n"
	         "(SIMULATED attestation - no TEE is involved):\n"
	         "  1. start the simulator on 127.0.0.1:8090 (a free port if 8090 is taken)\n"
	         "  2. derive the agent's Solana and EVM wallets (scheme teeliza) from the salt\n"
	         "     (WALLET_SECRET_SALT, else a fixed demo salt) and the agent id\n"
	         "     (default: stringToUuid(\"Eliza\"), the id Eliza gives its default character)\n"
	         "  3. print each wallet's attestation exactly as Eliza's TEE plugin logs it, and\n"
	         "     check the quote: its RTMR0-3 equal the replayed event log, its report_data\n"
	         "     is SHA-512(\"app-data:\" || {\"agentId\":…,\"publicKey\":…})\n"
	         "  4. show the eliza-v0.1.9-compatible addresses for the same salt, stop.\n"
	         "\n",
	.usage_end = "\n"
	             "exit codes: 0 ok, 2 a quote does not match its event log or data, 3 --key-file\n"
	             "  is not a P-256 key, 64 bad command line, 69 the simulator did not answer,\n"
	             "  70 internal error, 74 a file could not be read or written, 78 --key-file does\n"
	             "  not exist\n",
	.opts = demo_rows,
	.col = 20,
	.errors = TEE_CLI_ERRORS,
};

/* Returns CLI_HELP_SHOWN after --help, else an exit code (EXIT_OK to go on). */
static int parse_opts(struct demo_opts *o, int argc, char **argv)
{
	const char *env = getenv("TEELIZA_SIM_STATE");
	int rc, first;

	memset(o, 0, sizeof(*o));
	o->port = DEMO_PORT;
	o->state_dir = env != NULL && env[0] != 0 ? env : NULL;
	rc = cli_parse(&demo_cmd, o, argc, argv, &first);
	if (rc == EXIT_OK)
		rc = cli_no_args(&demo_cmd, argc, argv, first);
	return rc;
}

/* ---- the simulator, with fallbacks so the demo runs on any machine ---- */

static int rm_entry(const char *path, const struct stat *st, int flag, struct FTW *ftw)
{
	(void)st;
	(void)ftw;
	if (flag == FTW_DP)
		return rmdir(path);
	return unlink(path);
}

struct demo_sim {
	tee_sim *sim;
	char tmp_dir[64];   /* set when we made a temporary state dir */
};

static teeliza_err sim_start(struct demo_sim *ds, const struct demo_opts *o)
{
	const char *dir = o->state_dir != NULL ? o->state_dir : DEMO_STATE_DIR;
	teeliza_err err;

	memset(ds, 0, sizeof(*ds));
	err = cli_sim_start(&ds->sim, dir, (uint16_t)o->port, o->key_file);
	if (err && o->port != 0) {
		printf("(simulator: %s; trying a free port)\n", teeliza_errmsg());
		err = cli_sim_start(&ds->sim, dir, 0, o->key_file);
	}
	if (err && o->state_dir == NULL) {
		printf("(simulator: %s; trying a temporary state directory)\n", teeliza_errmsg());
		snprintf(ds->tmp_dir, sizeof(ds->tmp_dir), "%s", "/tmp/teeliza-demo-XXXXXX");
		if (mkdtemp(ds->tmp_dir) == NULL) {
			ds->tmp_dir[0] = 0;
			return teeliza_set_error(TEELIZA_ERR_IO, "cannot create a temporary directory: %s", strerror(errno));
		}
		err = cli_sim_start(&ds->sim, ds->tmp_dir, 0, o->key_file);
		if (!err)
			dir = ds->tmp_dir;
	}
	if (!err) {
		printf("Simulator (SIMULATED attestation, not a TEE) on http://127.0.0.1:%u, state in %s\n",
		       tee_sim_port(ds->sim), dir);
		if (o->key_file != NULL)
			printf("Simulator CA key: %s\n", o->key_file);
		else
			printf("Simulator CA key: the public development key (tappd-simulator's certs/app.key), so the\n"
			       "wallets below are the same on every machine\n");
	}
	return err;
}

static void sim_stop(struct demo_sim *ds)
{
	if (ds->sim != NULL) {
		tee_sim_stop(ds->sim);
		ds->sim = NULL;
		printf("Simulator stopped.\n");
	}
	if (ds->tmp_dir[0])
		nftw(ds->tmp_dir, rm_entry, 16, FTW_DEPTH | FTW_PHYS);
	ds->tmp_dir[0] = 0;
}

/* ---- the flow ---- */

/* Derive, print the plugin's lines for the attestation, check it. Out: address. */
static teeliza_err attested_wallet(char *address, size_t address_len, const tappd_client *c, tee_chain chain,
                                   const char *salt, const char *agent_id)
{
	tee_wallet w;
	teeliza_buf log;
	tee_event_log events;
	size_t n_events = 0;
	teeliza_err err;

	printf("\n== %s wallet (scheme teeliza) ==\n", chain == TEE_CHAIN_SOLANA ? "Solana" : "EVM");
	err = tee_derive_wallet(&w, c, TEE_SCHEME_TEELIZA, chain, salt, agent_id, true);
	if (err) {
		tee_wallet_free(&w);
		return err;
	}
	teeliza_buf_init(&log, (size_t)64 << 20);
	fputs("Generating Remote Attestation Quote for Derive Key...\n", stdout);
	err = tee_attestation_log(&log, &w.attestation, 0);
	if (!err) {
		tee_cli_write(stdout, &log);
		fputs("Remote Attestation Quote generated successfully!\n", stdout);
		err = tee_attestation_check(&w.attestation);
	}
	teeliza_buf_free(&log);
	if (!err) {
		tee_event_log_init(&events);
		if (tee_event_log_parse(&events, (const char *)w.attestation.event_log.data, w.attestation.event_log.len) ==
		    TEELIZA_OK)
			n_events = events.count;
		tee_event_log_free(&events);
		printf("Checked: the quote's RTMR0-3 equal the replay of its %zu-event log, and its report_data is\n"
		       "SHA-512(\"app-data:\" || the JSON above). (The quote is signed by the simulator's PKI, not\n"
		       "Intel's: `teeliza sim-root` prints the root to verify it against.)\n",
		       n_events);
		printf("%s: %s\n", chain == TEE_CHAIN_SOLANA ? "Solana Public Key" : "EVM Address", w.address);
		snprintf(address, address_len, "%s", w.address);
	}
	tee_wallet_free(&w);
	return err;
}

static teeliza_err compat_address(char *address, size_t address_len, const tappd_client *c, tee_chain chain,
                                  const char *salt, const char *agent_id)
{
	tee_wallet w;
	teeliza_err err;

	err = tee_derive_wallet(&w, c, TEE_SCHEME_ELIZA_V019, chain, salt, agent_id, false);
	if (!err)
		snprintf(address, address_len, "%s", w.address);
	tee_wallet_free(&w);
	return err;
}

static teeliza_err run_flow(const tappd_client *c, const char *salt, const char *agent_id)
{
	char sol[140], evm[140], sol019[140], evm019[140];
	teeliza_err err;

	err = attested_wallet(sol, sizeof(sol), c, TEE_CHAIN_SOLANA, salt, agent_id);
	if (!err)
		err = attested_wallet(evm, sizeof(evm), c, TEE_CHAIN_EVM, salt, agent_id);
	if (!err)
		err = compat_address(sol019, sizeof(sol019), c, TEE_CHAIN_SOLANA, salt, agent_id);
	if (!err)
		err = compat_address(evm019, sizeof(evm019), c, TEE_CHAIN_EVM, salt, agent_id);
	if (err)
		return err;
	printf("\n== The agent's wallets ==\n"
	       "Solana Public Key: %s\n"
	       "EVM Address: %s\n"
	       "\nWith --scheme eliza-v0.1.9 (what Eliza 0.1.9 derives from this salt on this simulator key;\n"
	       "it ignores the agent id, so every agent with the salt shares these):\n"
	       "Solana Public Key: %s\n"
	       "EVM Address: %s\n",
	       sol, evm, sol019, evm019);
	return TEELIZA_OK;
}

int demo_main(int argc, char **argv)
{
	struct demo_opts o;
	struct demo_sim ds;
	tappd_endpoint ep;
	tappd_client c;
	char agent_id[AGENT_UUID_BUFSZ], endpoint[64], line[TAPPD_CONNECT_LOG_LINE_MAX];
	const char *salt;
	teeliza_buf env_salt;
	teeliza_err err;
	int rc;

	rc = parse_opts(&o, argc, argv);
	if (rc)
		return rc == CLI_HELP_SHOWN ? EXIT_OK : rc;
	/* Out of the environment (and /proc/PID/environ) as it is read; wiped when freed. */
	err = teeliza_env_take(&env_salt, 65536, "WALLET_SECRET_SALT");
	if (err != TEELIZA_OK && err != TEELIZA_ERR_NOT_FOUND) {
		teeliza_buf_free(&env_salt);
		return cli_fail("demo", err == TEELIZA_ERR_TOO_LARGE ? TEELIZA_ERR_CONFIG : err);
	}
	salt = err == TEELIZA_OK ? (const char *)env_salt.data : NULL;
	/* Line-buffered so the demo's lines and any error on stderr interleave in order. */
	setvbuf(stdout, NULL, _IOLBF, 0);

	printf("teeliza demo: the Eliza TEE guide's flow against teeliza's own tappd simulator\n\n");
	if (o.agent_id == NULL) {
		err = agent_uuid_from_string(agent_id, DEMO_CHARACTER);
		if (err) {
			teeliza_buf_free(&env_salt);
			return cli_fail("demo", err);
		}
		printf("Agent id: %s (stringToUuid(\"%s\"), the id Eliza gives its default character)\n", agent_id,
		       DEMO_CHARACTER);
	} else {
		/* a name is a character's name, as for `teeliza derive` */
		rc = tee_cli_agent_id(agent_id, "demo", o.agent_id, true);
		if (rc) {
			teeliza_buf_free(&env_salt);
			return rc;
		}
		if (strcmp(agent_id, o.agent_id) == 0)
			printf("Agent id: %s\n", agent_id);
		else
			printf("Agent id: %s (stringToUuid(\"%s\"): --agent-id is a name, not a UUID)\n", agent_id, o.agent_id);
	}
	if (salt != NULL && salt[0] != 0) {
		printf("Salt: WALLET_SECRET_SALT from the environment (not printed)\n");
	} else {
		salt = DEMO_SALT;
		printf("Salt: WALLET_SECRET_SALT is not set, so the fixed demo salt \"%s\" is used;\n"
		       "      set your own secret before relying on these wallets\n", DEMO_SALT);
	}

	err = sim_start(&ds, &o);
	if (err) {
		sim_stop(&ds);
		teeliza_buf_free(&env_salt);
		return cli_fail("demo", err);
	}
	/* TEE_MODE=LOCAL, with the SDK's override pointing at wherever the simulator listens. */
	snprintf(endpoint, sizeof(endpoint), "http://127.0.0.1:%u", tee_sim_port(ds.sim));
	err = tappd_endpoint_select(&ep, "LOCAL", endpoint);
	if (!err) {
		printf("\n$ TEE_MODE=LOCAL DSTACK_SIMULATOR_ENDPOINT=%s\n%s\n%s%s\n", endpoint,
		       tappd_connect_log_line(line, sizeof(line), "LOCAL", endpoint), TAPPD_OVERRIDE_LOG_PREFIX, endpoint);
		tappd_client_init(&c, &ep);
		c.timeout_ms = 60000;
		err = run_flow(&c, salt, agent_id);
	}
	putchar('\n');
	sim_stop(&ds);
	teeliza_buf_free(&env_salt);
	if (err)
		return cli_fail("demo", err);
	return EXIT_OK;
}
