/*
 * `teeliza start`: Eliza's `pnpm start` - load the characters, start one
 * agent each, serve Eliza's REST API, and chat on the terminal with the
 * first agent (`You: ` / `Agent: <text>`), or only serve with
 * --non-interactive. --simulator runs teeliza's tappd simulator in this
 * process, so the TEE plugin works with no TDX, no network and no Docker.
 */
#include "cli/cli_opts.h"
#include "cli/env_file.h"
#include "cli/start_tls.h"
#include "teeliza/agent/tee_receipts.h"
#include "teeliza/agent/api.h"
#include "teeliza/agent/model.h"
#include "teeliza/agent/runtime.h"
#include "teeliza/agent/tee_plugin.h"
#include "teeliza/agent/character_v1.h"
#include "teeliza/common/log.h"
#include "teeliza/dcap/pccs.h"
#include "teeliza/sim/simulator.h"

#include <errno.h>
#include <ftw.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#define START_SIM_PORT 8090
#define START_SIM_STATE_DIR "./data/simulator"
#define START_MAX_CHARACTERS 64
#define START_LINE_MAX ((size_t)64 << 10)

struct start_opts {
	const char *character, *characters, *sim_state_dir, *sim_key_file;
	uint64_t port; /* CLI_UNSET: SERVER_PORT or the default */
	bool non_interactive, keep_serving, simulator, tls, pccs_allow_http;
};

static const struct cli_opt start_rows[] = {
	CLI_OPT_STRING(struct start_opts, character, "character", 0, "=PATH",
	               "a character file (Eliza 0.1.x's *.character.json or an\n"
	               "elizaOS 1.x character, told apart per file), looked up as\n"
	               "Eliza looks it up; default: the bundled character"),
	CLI_OPT_STRING(struct start_opts, characters, "characters", 0, "=A,B",
	               "several characters: several agents in one process"),
	CLI_OPT_FLAG(struct start_opts, non_interactive, "non-interactive", 0,
	             "no terminal chat, serve the REST API until SIGINT/SIGTERM"),
	CLI_OPT_FLAG(struct start_opts, keep_serving, "keep-serving", 0,
	             "after the chat ends, keep serving the REST API and the\n"
	             "dashboard until SIGINT/SIGTERM"),
	CLI_OPT_U64(struct start_opts, port, "port", 0, "N", 0, 65535, "bad port (0..65535): %s",
	            "REST API port (default SERVER_PORT, else 3000, moving up\n"
	            "when taken unless given here)"),
	CLI_OPT_FLAG(struct start_opts, simulator, "simulator", 0,
	             "run teeliza's tappd simulator in this process on\n"
	             "127.0.0.1:8090 (a free port if taken) and point the TEE\n"
	             "plugin at it (DSTACK_SIMULATOR_ENDPOINT; TEE_MODE=LOCAL\n"
	             "when unset). SIMULATED attestation - not a TEE."),
	CLI_OPT_FLAG(struct start_opts, tls, "tls", 0,
	             "serve HTTPS instead of HTTP on the port, with an RA-TLS\n"
	             "certificate from the dstack API's GetTlsKey (a dstack CVM,\n"
	             "or the simulator): its quote binds the TLS key, and the\n"
	             "agents' statements name it (tlsKey); the key stays in\n"
	             "memory. `teeliza verify --ra-tls HOST:PORT` checks it"),
	CLI_OPT_FLAG(struct start_opts, pccs_allow_http, "pccs-allow-http", 0,
	             "allow plain http to a PCCS_URL that is not on loopback\n"
	             "(POST /verify, the dashboard; as verify's option)"),
	CLI_OPT_STRING(struct start_opts, sim_state_dir, "sim-state-dir", 0, "DIR",
	               "the simulator's PKI (default $TEELIZA_SIM_STATE or\n"
	               START_SIM_STATE_DIR ")"),
	CLI_OPT_STRING(struct start_opts, sim_key_file, "sim-key-file", 0, "FILE",
	               "the simulator's CA key, which every wallet derives from\n"
	               "(default: the public development key, tappd-simulator's\n"
	               "certs/app.key: the same wallets on every machine)"),
	CLI_OPT_HELP,
	CLI_OPT_END,
};

static const struct cli_command start_cmd = {
	.name = "start",
	.usage = "usage: teeliza start [--character=PATH | --characters=PATH,PATH...]\n"
	         "                     [--non-interactive | --keep-serving] [--port N]\n"
	         "                     [--simulator [--sim-state-dir DIR] [--sim-key-file FILE]]\n"
	         "                     [--tls]\n"
	         "\n"
	         "Start one Eliza-compatible agent per character, serve Eliza's REST API\n"
	         "(POST /<agent>/message, GET /agents, ...) and the dashboard (/dashboard), and\n"
	         "chat with the first agent on the terminal: each line you type is a message,\n"
	         "each reply is printed as 'Agent: <text>'; 'exit' or end of input ends the chat\n"
	         "and, unless --keep-serving, the process (so links it printed stop working).\n"
	         "Lines can be piped in. Log lines go to stderr. docs/AGENT.md describes the API\n"
	         "and every setting.\n"
	         "\n",
	.usage_end = "\n"
	             "settings (env, and the nearest .env file from the working directory up, as\n"
	             "  Eliza reads it; the environment wins over .env): SERVER_PORT, SERVER_HOST\n"
	             "  (default 0.0.0.0), API_TOKEN, EXPRESS_MAX_PAYLOAD (default 100kb),\n"
	             "  TEELIZA_MAX_FILE_SIZE (default 64mb), API_RATE_LIMIT (requests a minute per\n"
	             "  client; default off), API_MAX_CONNECTIONS, API_MAX_CONNECTIONS_PER_CLIENT,\n"
	             "  API_REQUEST_TIMEOUT, SQLITE_FILE (default data/db.sqlite), POSTGRES_URL (or\n"
	             "  DATABASE_URL: PostgreSQL instead of SQLite, shared by replicas;\n"
	             "  docs/POSTGRES.md), TEELIZA_PG_POOL_SIZE, TEELIZA_PUBLIC_URL,\n"
	             "  TEELIZA_INSTANCE_ID (this replica's name among replicas on one database;\n"
	             "  default the host name), TEELIZA_REQUEST_LEASE (seconds a claimed\n"
	             "  Idempotency-Key request stays this replica's; default 120; docs/DEPLOY.md),\n"
	             "  PCCS_URL (a PCCS for the collateral of quotes sent to POST /verify and the\n"
	             "  dashboard; default none: never fetched), TEELIZA_COLLATERAL_CACHE (default\n"
	             "  data/collateral; docs/COLLATERAL.md),\n"
	             "  TEE_MODE, TEE_API, WALLET_SECRET_SALT, TEE_KEY_SCHEME, TEE_KMS_ROOT,\n"
	             "  DSTACK_SIMULATOR_ENDPOINT, TAPPD_SIMULATOR_ENDPOINT, RECEIPT_SIGNATURE, and the\n"
	             "  model settings (OPENAI_API_KEY, REDPILL_API_KEY, ...; none: offline responder).\n"
	             "  They are all checked before any port is bound.\n"
	             "\n"
	             "exit codes: 0 ok, 3 a character file is invalid, 64 bad command line,\n"
	             "  69 --tls: no RA-TLS certificate from GetTlsKey,\n"
	             "  74 a file could not be read or the port is taken, 78 bad configuration\n"
	             "  (.env, TEE_MODE, TEE_API (tappd with --tls), WALLET_SECRET_SALT,\n"
	             "  TEE_KEY_SCHEME or one of the other API, TEE_KMS_ROOT, SERVER_PORT, model\n"
	             "  settings)\n",
	.opts = start_rows,
	.col = 23,
	.errors = CLI_COLON,
};

static volatile sig_atomic_t stop_requested;

static void on_signal(int sig)
{
	(void)sig;
	stop_requested = 1;
}

/* Returns CLI_HELP_SHOWN after --help, else an exit code (EXIT_OK to go on). */
static int parse_opts(struct start_opts *o, int argc, char **argv)
{
	int rc, first;

	memset(o, 0, sizeof(*o));
	o->port = CLI_UNSET;
	rc = cli_parse(&start_cmd, o, argc, argv, &first);
	if (rc == EXIT_OK)
		rc = cli_no_args(&start_cmd, argc, argv, first);
	if (rc)
		return rc;
	if (o->character != NULL && o->characters != NULL)
		return cli_usage_error(&start_cmd, "give --character or --characters, not both");
	if (o->sim_state_dir != NULL && !o->simulator)
		return cli_usage_error(&start_cmd, "--sim-state-dir goes with --simulator");
	if (o->sim_key_file != NULL && !o->simulator)
		return cli_usage_error(&start_cmd, "--sim-key-file goes with --simulator");
	if (o->keep_serving && o->non_interactive)
		return cli_usage_error(&start_cmd, "--keep-serving is for the chat; --non-interactive serves without one");
	return EXIT_OK;
}

/* ---- the in-process simulator ---- */

struct start_sim {
	tee_sim *sim;
	char tmp_dir[64];
};

static int rm_entry(const char *path, const struct stat *st, int flag, struct FTW *ftw)
{
	(void)st;
	(void)ftw;
	return flag == FTW_DP ? rmdir(path) : unlink(path);
}

static int sim_start(struct start_sim *ss, const struct start_opts *o)
{
	const char *env = getenv("TEELIZA_SIM_STATE"), *dir;
	char url[64];
	teeliza_err err;

	memset(ss, 0, sizeof(*ss));
	dir = o->sim_state_dir != NULL ? o->sim_state_dir : (env != NULL && env[0] != 0 ? env : START_SIM_STATE_DIR);
	err = cli_sim_start(&ss->sim, dir, START_SIM_PORT, o->sim_key_file);
	if (err) {
		agent_log(stderr, "Simulator: %s; trying a free port", teeliza_errmsg());
		err = cli_sim_start(&ss->sim, dir, 0, o->sim_key_file);
	}
	if (err && o->sim_state_dir == NULL && (env == NULL || env[0] == 0)) {
		agent_log(stderr, "Simulator: %s; using a temporary state directory", teeliza_errmsg());
		snprintf(ss->tmp_dir, sizeof(ss->tmp_dir), "%s", "/tmp/teeliza-start-XXXXXX");
		if (mkdtemp(ss->tmp_dir) == NULL) {
			ss->tmp_dir[0] = 0;
			return cli_fail("start", teeliza_set_error(TEELIZA_ERR_IO, "cannot create a temporary directory: %s",
			                                           strerror(errno)));
		}
		dir = ss->tmp_dir;
		err = cli_sim_start(&ss->sim, dir, 0, o->sim_key_file);
	}
	if (err)
		return cli_fail("start", err);
	snprintf(url, sizeof(url), "http://127.0.0.1:%u", (unsigned)tee_sim_port(ss->sim));
	agent_log(stderr, "Simulator (SIMULATED attestation, not a TEE) on %s, state in %s; CA key: %s", url, dir,
	          o->sim_key_file != NULL ? o->sim_key_file
	                                  : "the public development key (tappd-simulator's certs/app.key), so its "
	                                    "wallets are the same on every machine");
	/* Point the plugin at it the way Eliza's SDK is pointed at a simulator. */
	if (setenv("DSTACK_SIMULATOR_ENDPOINT", url, 1) != 0)
		return cli_fail("start", teeliza_set_error(TEELIZA_ERR_NOMEM, "cannot set the environment"));
	return EXIT_OK;
}

/* --simulator without TEE_MODE means TEE_MODE=LOCAL; decided before the settings are checked. */
static int sim_default_mode(void)
{
	const char *mode = getenv("TEE_MODE");

	if (mode != NULL && mode[0] != 0)
		return EXIT_OK;
	if (setenv("TEE_MODE", "LOCAL", 1) != 0)
		return cli_fail("start", teeliza_set_error(TEELIZA_ERR_NOMEM, "cannot set the environment"));
	agent_log(stderr, "TEE_MODE was not set: using TEE_MODE=LOCAL for the simulator");
	return EXIT_OK;
}

static void sim_stop(struct start_sim *ss)
{
	tee_sim_stop(ss->sim);
	if (ss->tmp_dir[0] != 0)
		nftw(ss->tmp_dir, rm_entry, 16, FTW_DEPTH | FTW_PHYS);
}

/* ---- characters ---- */

struct loaded {
	agent_character *c[START_MAX_CHARACTERS];
	size_t n;
};

static void loaded_free(struct loaded *l)
{
	size_t i;

	for (i = 0; i < l->n; i++)
		agent_character_free(l->c[i]);
	l->n = 0;
}

static int load_one(struct loaded *l, const char *path)
{
	teeliza_buf report;
	char *resolved = NULL;
	teeliza_err err;

	if (l->n == START_MAX_CHARACTERS)
		return cli_usage_error(&start_cmd, "too many characters");
	err = agent_character_load(&l->c[l->n], &report, &resolved, path, NULL);
	if (err) {
		fprintf(stderr, "%s\n", report.len > 0 ? (const char *)report.data : teeliza_errmsg());
		teeliza_buf_free(&report);
		return cli_exit_code(err);
	}
	agent_log(stderr, "Loaded character %s from %s%s", agent_character_name(l->c[l->n]), resolved,
	          agent_character_format_of(l->c[l->n]) == AGENT_CHARACTER_FORMAT_V1 ? " (elizaOS 1.x format)" : "");
	if (agent_character_plugin_note(l->c[l->n]) != NULL)
		agent_log(stderr, "Character %s: %s", agent_character_name(l->c[l->n]),
		          agent_character_plugin_note(l->c[l->n]));
	free(resolved);
	teeliza_buf_free(&report);
	l->n++;
	return EXIT_OK;
}

/* Eliza's loadCharacters: a comma list, each path looked up; none given: the default character. */
static int load_characters(struct loaded *l, const struct start_opts *o)
{
	const char *list = o->characters != NULL ? o->characters : o->character;
	char *copy, *p, *comma;
	teeliza_err err;
	int rc = EXIT_OK;

	memset(l, 0, sizeof(*l));
	if (list == NULL) {
		err = agent_character_load_default(&l->c[0]);
		if (err)
			return cli_fail("start", err);
		l->n = 1;
		agent_log(stderr, "No character given: using the bundled character %s", agent_character_name(l->c[0]));
		return EXIT_OK;
	}
	copy = strdup(list);
	if (copy == NULL)
		return cli_fail("start", teeliza_set_error(TEELIZA_ERR_NOMEM, "out of memory"));
	for (p = copy; rc == EXIT_OK && p != NULL; p = comma) {
		comma = strchr(p, ',');
		if (comma != NULL)
			*comma++ = 0;
		while (*p == ' ')
			p++;
		if (*p != 0)
			rc = load_one(l, p);
	}
	free(copy);
	if (rc == EXIT_OK && l->n == 0)
		rc = cli_usage_error(&start_cmd, "no character path given: %s", list);
	if (rc != EXIT_OK)
		loaded_free(l);
	return rc;
}

/* ---- the settings, checked before anything is bound or started ---- */

/*
 * What agent_registry_start would refuse, found now: each agent's TEE
 * plugin settings (TEE_MODE, WALLET_SECRET_SALT, TEE_KEY_SCHEME,
 * DSTACK_SIMULATOR_ENDPOINT) and its model settings.
 */
static int check_settings(const struct loaded *l, const struct start_opts *o)
{
	agent_tee_config tee;
	agent_llm_config mc;
	agent_llm_endpoint ep;
	teeliza_err err;
	size_t i;

	for (i = 0; i < l->n; i++) {
		agent_tee_config_for_character(&tee, l->c[i]);
		/* --simulator replaces any DSTACK_SIMULATOR_ENDPOINT with its own */
		if (o->simulator)
			tee.simulator_endpoint = NULL;
		err = agent_tee_config_enabled(&tee) ? agent_tee_config_check(&tee) : TEELIZA_OK;
		if (!err) {
			memset(&mc, 0, sizeof(mc));
			mc.provider = agent_character_model_provider(l->c[i]);
			mc.get = agent_llm_character_setting;
			mc.get_ctx = (void *)(uintptr_t)l->c[i];
			mc.endpoint_override = agent_character_string(l->c[i], "modelEndpointOverride");
			mc.character = l->c[i];
			/* a missing key or an unknown provider is not an error: the agent answers offline */
			err = agent_llm_resolve(&ep, &mc);
			agent_llm_endpoint_wipe(&ep);
			if (err != TEELIZA_ERR_CONFIG && err != TEELIZA_ERR_NOMEM)
				err = TEELIZA_OK;
		}
		if (err) {
			fprintf(stderr, "teeliza start: agent %s: %s\n", agent_character_name(l->c[i]),
			        teeliza_errmsg()[0] ? teeliza_errmsg() : teeliza_strerror(err));
			return cli_exit_code(err);
		}
	}
	return EXIT_OK;
}

/* ---- the terminal chat ---- */

/*
 * The receipt of a chat reply (docs/VERIFIABILITY.md): request = the line,
 * response = the reply texts joined by "\n"; its id goes to stderr, so the
 * chat's stdout stays Eliza's.
 */
static void chat_receipt(agent_runtime *rt, const char *room, const char *line, const json_t *reply)
{
	char id[AGENT_RECEIPT_ID_BUFSZ];
	teeliza_buf resp;
	size_t i;
	teeliza_err err = TEELIZA_OK;

	if (!agent_reply_receipts_on(rt))
		return;
	teeliza_buf_init(&resp, (size_t)16 << 20);
	for (i = 0; !err && i < json_array_size(reply); i++) {
		const char *text = json_string_value(json_object_get(json_array_get(reply, i), "text"));

		if (i > 0)
			err = teeliza_buf_append(&resp, "\n", 1);
		if (!err)
			err = teeliza_buf_append_str(&resp, text != NULL ? text : "");
	}
	if (!err)
		err = agent_reply_receipt(id, rt, room, line, strlen(line), resp.data != NULL ? (const char *)resp.data : "",
		                          resp.len);
	if (err)
		agent_log(stderr, "no receipt for this reply: %s", teeliza_errmsg()[0] ? teeliza_errmsg() : teeliza_strerror(err));
	else
		agent_log(stderr, "receipt %s", id);
	teeliza_buf_free(&resp);
}

/* One line to the first agent, as Eliza's loop POSTs it to /<name>/message. */
static void chat_once(agent_registry *reg, const char *agent_id, const char *agent_name, const char *line)
{
	char user[AGENT_UUID_BUFSZ], room[AGENT_UUID_BUFSZ];
	agent_message_in in;
	agent_runtime *rt;
	json_t *reply = NULL;
	teeliza_err err;
	size_t i;

	rt = agent_registry_find(reg, agent_id, false);
	if (rt == NULL)
		rt = agent_registry_find(reg, agent_name, true);
	if (rt == NULL) {
		fprintf(stderr, "teeliza start: Agent not found: %s\n", agent_name);
		return;
	}
	memset(&in, 0, sizeof(in));
	in.text = line;
	in.user_id = user;
	in.room_id = room;
	in.user_name = "User";
	in.source = "direct";
	err = agent_uuid_user(user, "user");
	if (!err)
		err = agent_uuid_room(room, NULL, agent_name);
	if (!err)
		err = agent_runtime_message(&reply, rt, &in);
	if (err) {
		teeliza_logf(stderr, "teeliza start: no reply: %s", teeliza_errmsg()[0] ? teeliza_errmsg() : teeliza_strerror(err));
	} else {
		for (i = 0; i < json_array_size(reply); i++) {
			const char *text = json_string_value(json_object_get(json_array_get(reply, i), "text"));

			printf("Agent: %s\n", text != NULL ? text : "");
		}
		fflush(stdout);
		chat_receipt(rt, room, line, reply);
	}
	json_decref(reply);
	agent_runtime_release(rt);
}

static void chat_loop(agent_registry *reg, const char *agent_id, const char *agent_name)
{
	bool tty = isatty(STDIN_FILENO) == 1;
	char *line = NULL;
	size_t cap = 0;
	ssize_t n;

	agent_log(stderr, "Chat started. Type 'exit' to quit.");
	while (!stop_requested) {
		if (tty) {
			fputs("You: ", stdout);
			fflush(stdout);
		}
		errno = 0;
		n = getline(&line, &cap, stdin);
		if (n < 0) {
			if (errno == EINTR && !stop_requested)
				continue;
			if (tty)
				fputs("\n", stdout);
			break;
		}
		while (n > 0 && (line[n - 1] == '\n' || line[n - 1] == '\r'))
			line[--n] = 0;
		if ((size_t)n > START_LINE_MAX) {
			fprintf(stderr, "teeliza start: line longer than %zu bytes ignored\n", START_LINE_MAX);
			continue;
		}
		if (strcmp(line, "exit") == 0)
			break;
		if (n == 0)
			continue;
		chat_once(reg, agent_id, agent_name, line);
	}
	free(line);
}

/*
 * SIGINT and SIGTERM are blocked in every thread (install_signals runs before
 * any starts), so sigwait here is the one place they arrive: a signal cannot
 * land in a server thread, or between a flag check and a sleep, and be lost.
 */
static void wait_for_signal(const sigset_t *stop)
{
	int sig;

	while (sigwait(stop, &sig) != 0)
		;
	stop_requested = 1;
}

/*
 * Block the stop signals before any thread starts, so that threads inherit
 * the mask: then only the main thread can take them, by sigwait
 * (--non-interactive) or, in the chat, by the handler while getline waits
 * (unblock_for_chat), which interrupts it.
 */
static void install_signals(sigset_t *stop)
{
	struct sigaction sa;

	memset(&sa, 0, sizeof(sa));
	sa.sa_handler = on_signal;
	sigemptyset(&sa.sa_mask);
	sa.sa_flags = 0; /* no SA_RESTART: a blocked getline returns so the loop can stop */
	sigaction(SIGINT, &sa, NULL);
	sigaction(SIGTERM, &sa, NULL);
	signal(SIGPIPE, SIG_IGN);
	sigemptyset(stop);
	sigaddset(stop, SIGINT);
	sigaddset(stop, SIGTERM);
	pthread_sigmask(SIG_BLOCK, stop, NULL);
}

/*
 * The base URL for links in replies: TEELIZA_PUBLIC_URL, else this host and
 * port. Out: url (what was set, for the log).
 */
static teeliza_err set_public_url(char *url, size_t url_len, agent_registry *reg, const agent_api_config *ac,
                                  uint16_t port, bool tls)
{
	const char *env = getenv("TEELIZA_PUBLIC_URL"), *host = ac->host != NULL ? ac->host : "0.0.0.0";
	size_t n;

	if (env != NULL && env[0] != 0) {
		snprintf(url, url_len, "%s", env);
		/* shown as the registry keeps it, without trailing slashes */
		for (n = strlen(url); n > 0 && url[n - 1] == '/'; n--)
			url[n - 1] = 0;
		return agent_registry_set_public_url(reg, env);
	}
	if (strcmp(host, "0.0.0.0") == 0 || strcmp(host, "::") == 0 || strcmp(host, "127.0.0.1") == 0)
		host = "localhost";
	snprintf(url, url_len, strchr(host, ':') != NULL ? "%s://[%s]:%u" : "%s://%s:%u", tls ? "https" : "http", host,
	         (unsigned)port);
	return agent_registry_set_public_url(reg, url);
}

/* Print a note of one or more lines through the agent log (so the dashboard shows it too). */
static void log_note(const teeliza_buf *note)
{
	const char *p = (const char *)note->data, *nl;

	while (note->len > 0 && p != NULL && *p != 0) {
		nl = strchr(p, '\n');
		agent_log(stderr, "%.*s", nl != NULL ? (int)(nl - p) : (int)strlen(p), p);
		p = nl != NULL ? nl + 1 : NULL;
	}
}

/*
 * After the chat: say that the server stops with it (the links it printed
 * die), or with --keep-serving, keep serving until a stop signal.
 */
static void after_chat(const struct start_opts *o, const sigset_t *stop, const char *url)
{
	/* back to sigwait: a signal from now on waits, one that came already set the flag */
	pthread_sigmask(SIG_BLOCK, stop, NULL);
	if (stop_requested)
		return;
	if (!o->keep_serving) {
		agent_log(stderr,
		          "Chat ended: the REST API and the dashboard stop now, so the links above stop working. "
		          "To keep serving after the chat (e.g. with piped input), run teeliza start --keep-serving; "
		          "to serve without a chat, --non-interactive.");
		return;
	}
	agent_log(stderr, "Chat ended; still serving the REST API and the dashboard at %s (--keep-serving); SIGINT or "
	                  "SIGTERM stops.",
	          url);
	wait_for_signal(stop);
}

int start_main(int argc, char **argv)
{
	struct start_opts o;
	struct start_sim ss;
	struct start_tls tls;
	struct loaded chars;
	agent_store *store = NULL;
	agent_registry *reg = NULL;
	agent_registry_config rc;
	agent_plugin tee_plugin;
	agent_api_config ac;
	agent_api *api = NULL;
	agent_runtime *first = NULL;
	char first_id[AGENT_UUID_BUFSZ], first_name[256], url[512];
	const char *db;
	teeliza_buf note;
	sigset_t stop_signals;
	teeliza_err err;
	size_t i;
	int code;

	code = parse_opts(&o, argc, argv);
	if (code)
		return code == CLI_HELP_SHOWN ? EXIT_OK : code;
	memset(&ss, 0, sizeof(ss));
	memset(&tls, 0, sizeof(tls));
	memset(&chars, 0, sizeof(chars));

	/*
	 * Every setting is read and checked before anything is bound or
	 * started: a bad one stops us with nothing listening. .env first, so
	 * that a salt from it is taken out of the environment like any other.
	 */
	code = cli_load_dotenv(&note, "start");
	if (code) {
		teeliza_buf_free(&note);
		return code;
	}
	log_note(&note);
	teeliza_buf_free(&note);
	/* Before any thread starts: out of the environment and /proc/PID/environ, kept for the agents. */
	err = agent_take_env_salt();
	if (err)
		return cli_fail("start", err);
	memset(&ac, 0, sizeof(ac));
	ac.port = AGENT_API_DEFAULT_PORT;
	ac.port_fallback = true;
	if (agent_api_config_from_env(&ac) != TEELIZA_OK)
		return cli_fail("start", TEELIZA_ERR_CONFIG);
	ac.pccs_allow_http = o.pccs_allow_http;
	if (ac.pccs_url != NULL && o.pccs_allow_http) {
		bool insecure = false;

		if (dcap_pccs_check_url(&insecure, ac.pccs_url, true) == TEELIZA_OK && insecure)
			teeliza_logf(stderr, "teeliza start: WARNING: --pccs-allow-http: fetching collateral over plain http "
			             "from %s: anyone on the path sees which platforms are checked and can hold back "
			             "revocations and TCB updates (the collateral itself is signed)", ac.pccs_url);
	}
	if (o.port != CLI_UNSET) {
		ac.port = (uint16_t)o.port;
		ac.port_fallback = false;
	}
	ac.log = stderr;
	if (o.simulator) {
		code = sim_default_mode();
		if (code)
			return code;
	}
	if (o.tls) {
		code = start_tls_check_api();
		if (code)
			return code;
	}
	code = load_characters(&chars, &o);
	if (code)
		return code;
	code = check_settings(&chars, &o);
	if (code) {
		loaded_free(&chars);
		return code;
	}

	install_signals(&stop_signals);
	if (o.simulator) {
		code = sim_start(&ss, &o);
		if (code) {
			loaded_free(&chars);
			return code;
		}
	}
	if (o.tls) {
		/* before any agent starts: their statements name this key */
		code = start_tls_get(&tls);
		if (!code && agent_receipts_set_tls_key(tls.spki_sha256) != TEELIZA_OK)
			code = cli_fail("start", TEELIZA_ERR_INTERNAL);
		if (code)
			goto out;
		ac.tls_cert_pem = (const char *)tls.chain_pem.data;
		ac.tls_key_pem = (const char *)tls.key.key.data;
		agent_log(stderr, "HTTPS (RA-TLS): the REST API serves HTTPS instead of HTTP, with a certificate from "
		                  "GetTlsKey whose quote binds its key; TLS key (SHA-256 of its SubjectPublicKeyInfo) %s",
		          tls.spki_sha256);
	}
	db = getenv("SQLITE_FILE");
	err = agent_store_open_default(&store);
	if (err) {
		code = cli_fail("start", err);
		goto out;
	}
	if (strcmp(agent_store_backend(store), "sqlite") == 0)
		agent_log(stderr, "Database: %s (%s)", db != NULL && db[0] != 0 ? db : AGENT_STORE_DEFAULT_PATH,
		          agent_store_backend(store));
	else /* the back-end logged where (never the URL: it may hold a password) */
		agent_log(stderr, "Database: %s", agent_store_backend(store));
	/* replicas on one database tell their claims and quotes apart by this (docs/DEPLOY.md, "Scale-out") */
	err = agent_store_set_identity(store, getenv("TEELIZA_INSTANCE_ID"));
	if (err) {
		code = cli_fail("start", TEELIZA_ERR_CONFIG);
		goto out;
	}
	agent_log(stderr, "Instance: %s (boot %s)", store->instance_id, store->boot_id);
	memset(&rc, 0, sizeof(rc));
	rc.store = store;
	rc.log = stderr;
	/* Every agent, those posted to /agents/:id/set included, gets the TEE plugin its settings ask for. */
	agent_tee_plugin(&tee_plugin, NULL);
	rc.plugins = &tee_plugin;
	rc.n_plugins = 1;
	err = agent_registry_new(&reg, &rc);
	if (!err) {
		ac.registry = reg;
		/* POST /verify and the dashboard verify the simulator's quotes as simulator-rooted. */
		if (o.simulator) {
			ac.sim_trust.get = tee_sim_trust_anchor; /* /verify and the dashboard verify its quotes, simulator-rooted */
			ac.sim_trust.ctx = ss.sim;
		}
		err = agent_api_start(&api, &ac);
		/* the server holds its own copy of the key now */
		start_tls_free(&tls);
		ac.tls_cert_pem = ac.tls_key_pem = NULL;
	}
	if (!err)
		err = set_public_url(url, sizeof(url), reg, &ac, agent_api_port(api), o.tls);
	if (err) {
		code = cli_fail("start", err);
		goto out;
	}
	agent_log(stderr, "Dashboard: %s/dashboard", url);
	snprintf(first_name, sizeof(first_name), "%s", agent_character_name(chars.c[0]));
	for (i = 0; i < chars.n; i++) {
		const char *name = agent_character_name(chars.c[i]);
		char shown[256];

		snprintf(shown, sizeof(shown), "%s", name);
		err = agent_registry_start(i == 0 ? &first : NULL, reg, chars.c[i]);
		chars.c[i] = NULL; /* the registry owns it now, also after a failure */
		if (err) {
			teeliza_logf(stderr, "teeliza start: agent %s: %s", shown,
			        teeliza_errmsg()[0] ? teeliza_errmsg() : teeliza_strerror(err));
			code = cli_exit_code(err);
			goto out;
		}
	}
	snprintf(first_id, sizeof(first_id), "%s", agent_runtime_id(first));
	agent_runtime_release(first);
	first = NULL;
	if (o.non_interactive) {
		agent_log(stderr, "Serving the REST API (--non-interactive); SIGINT or SIGTERM stops.");
		wait_for_signal(&stop_signals);
	} else {
		/* every server thread has started with the signals blocked: let the chat take them */
		pthread_sigmask(SIG_UNBLOCK, &stop_signals, NULL);
		chat_loop(reg, first_id, first_name);
		after_chat(&o, &stop_signals, url);
	}
	code = EXIT_OK;
out:
	for (i = 0; i < chars.n; i++)
		agent_character_free(chars.c[i]);
	agent_runtime_release(first);
	agent_api_stop(api);
	agent_registry_free(reg);
	agent_store_close(store);
	start_tls_free(&tls);
	if (o.simulator)
		sim_stop(&ss);
	return code;
}
