/*
 * `teeliza simulator`: run the simulator (dstack 0.5 guest agent and tappd)
 * until SIGINT or SIGTERM. `teeliza sim-root`: print the simulator's root CA (what
 * `verify --trust-root` takes) or its collateral.
 */
#include "cli/cli_opts.h"

#include "teeliza/common/encoding.h"
#include "teeliza/sim/simulator.h"

#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#define DEFAULT_HOST "127.0.0.1"
#define DEFAULT_PORT 8090
#define DEFAULT_STATE_DIR "./data/simulator"
#define DEFAULT_SOCKET_MODE 0666

static const char *default_state_dir(void)
{
	const char *env = getenv("TEELIZA_SIM_STATE");

	return env != NULL && env[0] != 0 ? env : DEFAULT_STATE_DIR;
}

struct simulator_opts {
	tee_sim_config cfg;
	uint64_t port, threads;
	bool no_tcp, dev_key;
};

/* ADDR, or unix:PATH for --socket PATH --no-tcp */
static int take_listen(const struct cli_command *cmd, void *opts, const char *value)
{
	struct simulator_opts *o = opts;

	(void)cmd;
	if (strncmp(value, "unix:", 5) == 0) { /* --tappd-socket PATH --no-tcp */
		o->cfg.socket_path = value + 5;
		o->no_tcp = true;
	} else {
		o->cfg.host = value;
	}
	return EXIT_OK;
}

/* Octal digits only, the whole string, at most 07777: no sign, blank or wrap-around. */
static int take_socket_mode(const struct cli_command *cmd, void *opts, const char *value)
{
	struct simulator_opts *o = opts;
	unsigned v = 0;
	const char *s;

	for (s = value; *s != 0; s++) {
		if (*s < '0' || *s > '7' || v > (07777u - (unsigned)(*s - '0')) / 8)
			break;
		v = v * 8 + (unsigned)(*s - '0');
	}
	if (*value == 0 || *s != 0)
		return cli_usage_error(cmd, "bad socket mode (octal, e.g. 0660): %s", value);
	o->cfg.socket_mode = v;
	return EXIT_OK;
}

static int take_dev_key(const struct cli_command *cmd, void *opts, const char *value)
{
	struct simulator_opts *o = opts;

	(void)cmd;
	(void)value;
	o->cfg.key_pem = tee_sim_dev_key_pem;
	o->dev_key = true;
	return EXIT_OK;
}

/* 20 bytes as 40 hex digits (0x or 0X allowed), checked here so a typo is a usage error */
static int take_app_id(const struct cli_command *cmd, void *opts, const char *value)
{
	struct simulator_opts *o = opts;
	uint8_t app_id[20];
	size_t n = 0;

	if (teeliza_hex_decode(app_id, sizeof(app_id), &n, value, strlen(value), true) != TEELIZA_OK ||
	    n != sizeof(app_id))
		return cli_usage_error(cmd, "bad app id (20 bytes as 40 hex digits): %s", value);
	o->cfg.app_id_hex = value;
	return EXIT_OK;
}

static const struct cli_opt simulator_rows[] = {
	CLI_OPT_CALL("listen", 'l', "ADDR", take_listen,
	             "TCP address (default " DEFAULT_HOST "; 0.0.0.0 in containers);\n"
	             "unix:PATH means --tappd-socket PATH --no-tcp"),
	CLI_OPT_U64(struct simulator_opts, port, "port", 'p', "N", 0, 65535, "bad port (0..65535): %s",
	            "TCP port (default 8090; 0 = any free port, printed at start)"),
	CLI_OPT_STRING(struct simulator_opts, cfg.dstack_socket_path, "dstack-socket", 0, "PATH",
	               "also serve the dstack API on a unix socket\n(e.g. /var/run/dstack.sock)"),
	CLI_OPT_STRING(struct simulator_opts, cfg.socket_path, "tappd-socket", 0, "PATH",
	               "also serve tappd on a unix socket (e.g. /var/run/tappd.sock)"),
	CLI_OPT_STRING(struct simulator_opts, cfg.socket_path, "socket", 0, "PATH", "the same as --tappd-socket"),
	CLI_OPT_CALL("socket-mode", 0, "MODE", take_socket_mode, "octal mode of the sockets (default 0666)"),
	CLI_OPT_FLAG(struct simulator_opts, no_tcp, "no-tcp", 0, "no TCP listener (needs a socket)"),
	CLI_OPT_STRING(struct simulator_opts, cfg.key_file, "key-file", 0, "FILE",
	               "CA key PEM (P-256): derives tappd's keys, signs certificates;\n"
	               "tappd-simulator's certs/app.key reproduces its keys\n"
	               "(default: <state dir>/ca.key, generated on first start, mode 0600)"),
	CLI_OPT_STRING(struct simulator_opts, cfg.appkeys_file, "appkeys", 0, "FILE",
	               "dstack app keys (.appkeys.json: k256_key, k256_signature) for GetKey\n"
	               "and Sign (default: derived from a KMS root key in\n"
	               "<state dir>/kms-root-k256.key, generated on first start, mode 0600)"),
	CLI_OPT_CALL("dev-key", 0, NULL, take_dev_key,
	             "the public development keys, built in: tappd-simulator's certs/app.key\n"
	             "as the CA key (the keys `teeliza demo` and `teeliza start --simulator`\n"
	             "derive) and, unless --appkeys, dstack's simulator appkeys.json (GetKey\n"
	             "as dstack's simulator)"),
	CLI_OPT_CALL("app-id", 0, "HEX", take_app_id,
	             "the app id (20 bytes; default: dstack's simulator app id with its keys,\n"
	             "else the first 20 bytes of the compose hash, as dstack)"),
	CLI_OPT_STRING(struct simulator_opts, cfg.compose_file, "compose", 0, "FILE",
	               "the app's app-compose.json (compose hash = SHA-256 of its bytes, as\n"
	               "dstack's OS measures it; default: a built-in one)"),
	CLI_OPT_FLAG(struct simulator_opts, cfg.refuse_emit_event, "refuse-emit-event", 0,
	             "answer EmitEvent with an error, as dstack's own simulator does"),
	CLI_OPT_STRING(struct simulator_opts, cfg.state_dir, "state-dir", 0, "DIR",
	               "keys and simulated PKI (default $TEELIZA_SIM_STATE or " DEFAULT_STATE_DIR ")"),
	CLI_OPT_U64(struct simulator_opts, threads, "threads", 0, "N", 1, 64, "bad thread count (1..64): %s",
	            "worker threads per listener (default 2)"),
	CLI_OPT_FLAG(struct simulator_opts, cfg.quiet, "quiet", 'q', "no request log on stderr"),
	CLI_OPT_HELP,
	CLI_OPT_END,
};

static const struct cli_command simulator_cmd = {
	.name = "simulator",
	.usage = "usage: teeliza simulator [options]\n"
	         "\n"
	         "A TEE simulator (NOT a TEE) with TDX quotes signed by a simulated, non-Intel PKI, serving:\n"
	         "  - dstack 0.5's guest agent: GetKey, GetQuote, Attest, EmitEvent, Info, Sign, Verify, GetTlsKey,\n"
	         "    Version at /<Method> (dstack's JSON rules; EmitEvent really extends the simulated RTMR3)\n"
	         "    on --dstack-socket and on TCP, plus /prpc/Worker.{Info,Version,GetAttestationForAppKey} on TCP;\n"
	         "  - tappd: /prpc/Tappd.{DeriveKey,TdxQuote,RawQuote,Info,Version,DeriveK256Key} (the Tappd. prefix\n"
	         "    optional) on --tappd-socket and on TCP. /prpc/Tappd.SimRoot (teeliza only) hands out the PKI's\n"
	         "    root and collateral, so quotes can be verified as simulator-rooted.\n"
	         "docs/SIMULATED-QUOTES.md describes both.\n"
	         "\n",
	.opts = simulator_rows,
	.col = 25,
	.shorts = true,
	.errors = CLI_COLON | CLI_NEEDS_VALUE | CLI_USAGE_AFTER,
};

struct sim_root_opts {
	const char *state_dir, *appkeys, *app_id;
	uint64_t now; /* CLI_UNSET: the clock */
	bool collateral, kms_root, dev_key;
};

static const struct cli_opt sim_root_rows[] = {
	CLI_OPT_STRING(struct sim_root_opts, state_dir, "state-dir", 0, "DIR",
	               "as for `teeliza simulator` (default $TEELIZA_SIM_STATE or " DEFAULT_STATE_DIR ")"),
	CLI_OPT_FLAG(struct sim_root_opts, collateral, "collateral", 0,
	             "print the collateral JSON for simulator quotes instead"),
	CLI_OPT_U64(struct sim_root_opts, now, "now", 0, "UNIX", 0, INT64_MAX, "bad time (unix seconds): %s",
	            "collateral valid around this time (default: now)"),
	CLI_OPT_FLAG(struct sim_root_opts, kms_root, "kms-root", 0,
	             "print the KMS root (k256, compressed, hex) GetKey chains recover\n"
	             "to instead: what `teeliza verify-key --kms-root` pins; give the\n"
	             "simulator's --state-dir, --dev-key, --appkeys and --app-id"),
	CLI_OPT_FLAG(struct sim_root_opts, dev_key, "dev-key", 0, "with --kms-root: as `teeliza simulator --dev-key`"),
	CLI_OPT_STRING(struct sim_root_opts, appkeys, "appkeys", 0, "FILE", "with --kms-root: as `teeliza simulator --appkeys`"),
	CLI_OPT_STRING(struct sim_root_opts, app_id, "app-id", 0, "HEX", "with --kms-root: as `teeliza simulator --app-id`"),
	CLI_OPT_HELP,
	CLI_OPT_END,
};

static const struct cli_command sim_root_cmd = {
	.name = "sim-root",
	.usage = "usage: teeliza sim-root [--state-dir DIR] [--collateral] [--now UNIX]\n"
	         "       teeliza sim-root --kms-root [--state-dir DIR] [--dev-key] [--appkeys FILE]\n"
	         "                        [--app-id HEX]\n"
	         "\n"
	         "Print the simulator's root CA certificate (PEM), the trust root for its quotes,\n"
	         "or with --kms-root the root of its dstack keys (the simulator logs it too).\n",
	.opts = sim_root_rows,
	.col = 19,
	.errors = CLI_COLON | CLI_NEEDS_VALUE | CLI_USAGE_AFTER,
};

int simulator_main(int argc, char **argv)
{
	struct simulator_opts o;
	tee_sim_config cfg;
	tee_sim *sim;
	sigset_t sigs;
	uint8_t root[33], app_id[20];
	char hex[2 * 33 + 1];
	int rc, first, sig = 0;
	teeliza_err err;

	memset(&o, 0, sizeof(o));
	o.cfg.host = DEFAULT_HOST;
	o.cfg.socket_mode = DEFAULT_SOCKET_MODE;
	o.cfg.state_dir = default_state_dir();
	o.port = DEFAULT_PORT;
	rc = cli_parse(&simulator_cmd, &o, argc, argv, &first);
	if (rc == EXIT_OK)
		rc = cli_no_args(&simulator_cmd, argc, argv, first);
	if (rc)
		return rc == CLI_HELP_SHOWN ? EXIT_OK : rc;
	cfg = o.cfg;
	cfg.port = (uint16_t)o.port;
	cfg.threads = (unsigned)o.threads;
	if (cfg.key_pem != NULL && cfg.key_file != NULL)
		return cli_usage_error(&simulator_cmd, "give --key-file or --dev-key, not both");
	if (o.no_tcp)
		cfg.host = NULL;
	if (cfg.host == NULL && cfg.socket_path == NULL && cfg.dstack_socket_path == NULL)
		return cli_usage_error(&simulator_cmd, "--no-tcp needs --tappd-socket PATH or --dstack-socket PATH");
	if (cfg.socket_path != NULL && cfg.dstack_socket_path != NULL && strcmp(cfg.socket_path, cfg.dstack_socket_path) == 0)
		return cli_usage_error(&simulator_cmd, "--tappd-socket and --dstack-socket must differ: %s", cfg.socket_path);
	/* the development keys stand in for whatever dstack keys were not given */
	cfg.dstack_dev_keys = o.dev_key && cfg.appkeys_file == NULL;

	/* Block the stop signals before any thread starts, so only sigwait below sees them. */
	sigemptyset(&sigs);
	sigaddset(&sigs, SIGINT);
	sigaddset(&sigs, SIGTERM);
	sigaddset(&sigs, SIGHUP);
	pthread_sigmask(SIG_BLOCK, &sigs, NULL);
	signal(SIGPIPE, SIG_IGN);

	err = tee_sim_start(&sim, &cfg);
	if (err) {
		rc = cli_fail(argv[0], err);
		/* the port is what a user can change: say how (http_server says "Address already in use") */
		if (cfg.host != NULL && strstr(teeliza_errmsg(), strerror(EADDRINUSE)) != NULL)
			fprintf(stderr, "teeliza %s: port %u is taken (another simulator or tappd?): pass --port N for "
			                "another port, or --port 0 for any free one (printed at start)\n",
			        argv[0], (unsigned)cfg.port);
		return rc;
	}
	if (!cfg.quiet) {
		fprintf(stderr, "teeliza simulator: SIMULATED attestation, not a TEE. State: %s%s\n", cfg.state_dir,
		        cfg.key_pem != NULL ? "; CA key: the public development key" : "");
		if (cfg.host != NULL)
			fprintf(stderr, "teeliza simulator: listening on http://%s:%u\n", cfg.host, tee_sim_port(sim));
		if (cfg.socket_path != NULL)
			fprintf(stderr, "teeliza simulator: tappd on unix:%s (mode %04o)\n", cfg.socket_path, cfg.socket_mode);
		if (cfg.dstack_socket_path != NULL)
			fprintf(stderr, "teeliza simulator: dstack on unix:%s (mode %04o)\n", cfg.dstack_socket_path,
			        cfg.socket_mode);
		tee_sim_app_id(app_id, sim);
		teeliza_hex_encode(hex, app_id, sizeof(app_id));
		fprintf(stderr, "teeliza simulator: app id %s; dstack keys: %s\n", hex, tee_sim_keys_source(sim));
		if (tee_sim_kms_root(root, sim)) {
			teeliza_hex_encode(hex, root, sizeof(root));
			fprintf(stderr, "teeliza simulator: KMS root (k256) %s\n", hex);
		} else {
			fprintf(stderr, "teeliza simulator: the app keys carry no KMS signature: GetKey chains end at the app key\n");
		}
	}
	/* The port line on stdout lets scripts that pass --port 0 find the server. */
	if (cfg.host != NULL) {
		printf("port %u\n", tee_sim_port(sim));
		fflush(stdout);
	}
	while (sigwait(&sigs, &sig) != 0 || sig == SIGHUP)
		;
	if (!cfg.quiet)
		fprintf(stderr, "teeliza simulator: stopping (signal %d)\n", sig);
	tee_sim_stop(sim);
	return EXIT_OK;
}

/*
 * The KMS root a simulator with these settings signs under: an in-process
 * simulator without listeners is asked (it reads, or first creates, the
 * state directory's keys exactly as `teeliza simulator` would).
 */
static int print_kms_root(const struct sim_root_opts *o)
{
	tee_sim_config cfg;
	tee_sim *sim = NULL;
	uint8_t root[33];
	char hex[2 * sizeof(root) + 1];
	teeliza_err err;
	bool have;

	memset(&cfg, 0, sizeof(cfg));
	cfg.no_listener = true;
	cfg.quiet = true;
	cfg.state_dir = o->state_dir;
	cfg.appkeys_file = o->appkeys;
	cfg.dstack_dev_keys = o->dev_key && o->appkeys == NULL;
	cfg.key_pem = o->dev_key ? tee_sim_dev_key_pem : NULL;
	if (o->app_id != NULL) {
		struct simulator_opts so;

		memset(&so, 0, sizeof(so));
		if (take_app_id(&sim_root_cmd, &so, o->app_id) != EXIT_OK)
			return EXIT_USAGE;
		cfg.app_id_hex = so.cfg.app_id_hex;
	}
	err = tee_sim_start(&sim, &cfg);
	if (err)
		return cli_fail("sim-root", err);
	have = tee_sim_kms_root(root, sim);
	tee_sim_stop(sim);
	if (!have) {
		fprintf(stderr, "teeliza sim-root: these app keys carry no KMS signature: GetKey chains end at the app key\n");
		return EXIT_VERIFY_FAIL;
	}
	teeliza_hex_encode(hex, root, sizeof(root));
	printf("%s\n", hex);
	return fflush(stdout) == 0 ? EXIT_OK : EXIT_IO;
}

int sim_root_main(int argc, char **argv)
{
	struct sim_root_opts o = {.state_dir = default_state_dir(), .now = CLI_UNSET};
	tee_sim_pki *pki = NULL;
	teeliza_buf out;
	teeliza_err err;
	int64_t now;
	int rc, first;

	rc = cli_parse(&sim_root_cmd, &o, argc, argv, &first);
	if (rc == EXIT_OK)
		rc = cli_no_args(&sim_root_cmd, argc, argv, first);
	if (rc)
		return rc == CLI_HELP_SHOWN ? EXIT_OK : rc;
	if (o.kms_root)
		return print_kms_root(&o);
	if (o.dev_key || o.appkeys != NULL || o.app_id != NULL)
		return cli_usage_error(&sim_root_cmd, "--dev-key, --appkeys and --app-id go with --kms-root");
	now = o.now == CLI_UNSET ? (int64_t)time(NULL) : (int64_t)o.now;
	err = tee_sim_pki_open(&pki, o.state_dir);
	if (err == TEELIZA_OK)
		err = o.collateral ? tee_sim_collateral_json(&out, pki, now) : tee_sim_pki_root_pem(&out, pki);
	tee_sim_pki_free(pki);
	if (err)
		return cli_fail(argv[0], err);
	fwrite(out.data, 1, out.len, stdout);
	if (out.len > 0 && out.data[out.len - 1] != '\n')
		putchar('\n');
	teeliza_buf_free(&out);
	return fflush(stdout) == 0 ? EXIT_OK : EXIT_IO;
}
