/*
 * `teeliza simulator`: run the simulator (dstack 0.5 guest agent and tappd)
 * until SIGINT or SIGTERM. `teeliza sim-root`: print the simulator's root CA (what
 * `verify --trust-root` takes) or its collateral.
 */
#include "cli/cli.h"

#include "teeliza/common/encoding.h"
#include "teeliza/sim/simulator.h"

#include <assert.h>
#include <errno.h>
#include <getopt.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#define DEFAULT_HOST "127.0.0.1"
#define DEFAULT_PORT 8090
#define DEFAULT_STATE_DIR "./data/simulator"
#define DEFAULT_SOCKET_MODE 0666

static const char simulator_usage[] =
	"usage: teeliza simulator [options]\n"
	"\n"
	"A TEE simulator (NOT a TEE) with TDX quotes signed by a simulated, non-Intel PKI, serving:\n"
	"  - dstack 0.5's guest agent: GetKey, GetQuote, Attest, EmitEvent, Info, Sign, Verify, GetTlsKey,\n"
	"    Version at /<Method> (dstack's JSON rules; EmitEvent really extends the simulated RTMR3)\n"
	"    on --dstack-socket and on TCP, plus /prpc/Worker.{Info,Version,GetAttestationForAppKey} on TCP;\n"
	"  - tappd: /prpc/Tappd.{DeriveKey,TdxQuote,RawQuote,Info,Version,DeriveK256Key} (the Tappd. prefix\n"
	"    optional) on --tappd-socket and on TCP. /prpc/Tappd.SimRoot (teeliza only) hands out the PKI's\n"
	"    root and collateral, so quotes can be verified as simulator-rooted.\n"
	"docs/SIMULATED-QUOTES.md describes both.\n"
	"\n"
	"  -l, --listen ADDR      TCP address (default " DEFAULT_HOST "; 0.0.0.0 in containers);\n"
	"                         unix:PATH means --tappd-socket PATH --no-tcp\n"
	"  -p, --port N           TCP port (default 8090; 0 = any free port, printed at start)\n"
	"      --dstack-socket PATH  also serve the dstack API on a unix socket (e.g. /var/run/dstack.sock)\n"
	"      --tappd-socket PATH   also serve tappd on a unix socket (e.g. /var/run/tappd.sock);\n"
	"                         --socket PATH is the same\n"
	"      --socket-mode MODE octal mode of the sockets (default 0666)\n"
	"      --no-tcp           no TCP listener (needs a socket)\n"
	"      --key-file FILE    CA key PEM (P-256): derives tappd's keys, signs certificates; tappd-simulator's\n"
	"                         certs/app.key reproduces its keys (default: <state dir>/ca.key, generated on\n"
	"                         first start, mode 0600)\n"
	"      --appkeys FILE     dstack app keys (.appkeys.json: k256_key, k256_signature) for GetKey and Sign\n"
	"                         (default: derived from a KMS root key in <state dir>/kms-root-k256.key,\n"
	"                         generated on first start, mode 0600)\n"
	"      --dev-key          the public development keys, built in: tappd-simulator's certs/app.key as the\n"
	"                         CA key (the keys `teeliza demo` and `teeliza start --simulator` derive) and,\n"
	"                         unless --appkeys, dstack's simulator appkeys.json (GetKey as dstack's simulator)\n"
	"      --app-id HEX       the app id (20 bytes; default: dstack's simulator app id with its keys, else\n"
	"                         the first 20 bytes of the compose hash, as dstack)\n"
	"      --compose FILE     the app's app-compose.json (compose hash = SHA-256 of its bytes, as dstack's\n"
	"                         OS measures it; default: a built-in one)\n"
	"      --refuse-emit-event  answer EmitEvent with an error, as dstack's own simulator does\n"
	"      --state-dir DIR    keys and simulated PKI (default $TEELIZA_SIM_STATE or " DEFAULT_STATE_DIR ")\n"
	"      --threads N        worker threads per listener (default 2)\n"
	"  -q, --quiet            no request log on stderr\n";

static const char sim_root_usage[] =
	"usage: teeliza sim-root [--state-dir DIR] [--collateral] [--now UNIX]\n"
	"\n"
	"Print the simulator's root CA certificate (PEM), the trust root for its quotes.\n"
	"  --state-dir DIR  as for `teeliza simulator` (default $TEELIZA_SIM_STATE or " DEFAULT_STATE_DIR ")\n"
	"  --collateral     print the collateral JSON for simulator quotes instead\n"
	"  --now UNIX       collateral valid around this time (default: now)\n";

static const char *default_state_dir(void)
{
	const char *env = getenv("TEELIZA_SIM_STATE");

	return env != NULL && env[0] != 0 ? env : DEFAULT_STATE_DIR;
}

/* Digits of the base (10 or 8) only, the whole string, at most max: no sign, blank or wrap-around. */
static int parse_ulong(unsigned long *out, const char *s, int base, unsigned long max)
{
	uint64_t v = 0;

	assert(base == 10 || base == 8);
	if (base == 10) {
		if (teeliza_parse_u64(&v, s, 0, max) != TEELIZA_OK)
			return -1;
	} else {
		if (*s == 0)
			return -1;
		for (; *s != 0; s++) {
			if (*s < '0' || *s > '7' || v > (max - (uint64_t)(*s - '0')) / 8)
				return -1;
			v = v * 8 + (uint64_t)(*s - '0');
		}
	}
	*out = (unsigned long)v;
	return 0;
}

/* "teeliza CMD: WHAT: ARG", then the usage. */
static int usage_error(const char *cmd, const char *usage, const char *what, const char *arg)
{
	fprintf(stderr, "teeliza %s: %s%s%s\n\n%s", cmd, what, arg != NULL ? ": " : "", arg != NULL ? arg : "", usage);
	return EXIT_USAGE;
}

int simulator_main(int argc, char **argv)
{
	enum {
		OPT_SOCKET = 256, OPT_SOCKET_MODE, OPT_NO_TCP, OPT_KEY_FILE, OPT_STATE_DIR, OPT_THREADS, OPT_DEV_KEY,
		OPT_DSTACK_SOCKET, OPT_APPKEYS, OPT_APP_ID, OPT_COMPOSE, OPT_REFUSE_EMIT
	};
	static const struct option opts[] = {
		{"listen", required_argument, NULL, 'l'},
		{"port", required_argument, NULL, 'p'},
		{"socket", required_argument, NULL, OPT_SOCKET},
		{"tappd-socket", required_argument, NULL, OPT_SOCKET},
		{"dstack-socket", required_argument, NULL, OPT_DSTACK_SOCKET},
		{"appkeys", required_argument, NULL, OPT_APPKEYS},
		{"app-id", required_argument, NULL, OPT_APP_ID},
		{"compose", required_argument, NULL, OPT_COMPOSE},
		{"refuse-emit-event", no_argument, NULL, OPT_REFUSE_EMIT},
		{"socket-mode", required_argument, NULL, OPT_SOCKET_MODE},
		{"no-tcp", no_argument, NULL, OPT_NO_TCP},
		{"key-file", required_argument, NULL, OPT_KEY_FILE},
		{"dev-key", no_argument, NULL, OPT_DEV_KEY},
		{"state-dir", required_argument, NULL, OPT_STATE_DIR},
		{"threads", required_argument, NULL, OPT_THREADS},
		{"quiet", no_argument, NULL, 'q'},
		{"help", no_argument, NULL, 'h'},
		{NULL, 0, NULL, 0},
	};
	tee_sim_config cfg;
	tee_sim *sim;
	sigset_t sigs;
	unsigned long v;
	uint8_t root[33], app_id[20];
	char hex[2 * 33 + 1];
	bool no_tcp = false, dev_key = false;
	int c, sig = 0;
	teeliza_err err;

	memset(&cfg, 0, sizeof(cfg));
	cfg.host = DEFAULT_HOST;
	cfg.port = DEFAULT_PORT;
	cfg.socket_mode = DEFAULT_SOCKET_MODE;
	cfg.state_dir = default_state_dir();
	optind = 1;
	opterr = 0;
	while ((c = getopt_long(argc, argv, ":l:p:qh", opts, NULL)) != -1) {
		switch (c) {
		case 'l':
			if (strncmp(optarg, "unix:", 5) == 0) {
				cfg.socket_path = optarg + 5;
				no_tcp = true;
			} else {
				cfg.host = optarg;
			}
			break;
		case 'p':
			if (parse_ulong(&v, optarg, 10, 65535) != 0)
				return usage_error(argv[0], simulator_usage, "bad port (0..65535)", optarg);
			cfg.port = (uint16_t)v;
			break;
		case OPT_SOCKET:
			cfg.socket_path = optarg;
			break;
		case OPT_DSTACK_SOCKET:
			cfg.dstack_socket_path = optarg;
			break;
		case OPT_APPKEYS:
			cfg.appkeys_file = optarg;
			break;
		case OPT_APP_ID: {
			size_t n = 0;

			if (teeliza_hex_decode(app_id, sizeof(app_id), &n, optarg, strlen(optarg), true) != TEELIZA_OK ||
			    n != sizeof(app_id))
				return usage_error(argv[0], simulator_usage, "bad app id (20 bytes as 40 hex digits)", optarg);
			cfg.app_id_hex = optarg;
			break;
		}
		case OPT_COMPOSE:
			cfg.compose_file = optarg;
			break;
		case OPT_REFUSE_EMIT:
			cfg.refuse_emit_event = true;
			break;
		case OPT_SOCKET_MODE:
			if (parse_ulong(&v, optarg, 8, 07777) != 0)
				return usage_error(argv[0], simulator_usage, "bad socket mode (octal, e.g. 0660)", optarg);
			cfg.socket_mode = (unsigned)v;
			break;
		case OPT_NO_TCP:
			no_tcp = true;
			break;
		case OPT_KEY_FILE:
			cfg.key_file = optarg;
			break;
		case OPT_DEV_KEY:
			cfg.key_pem = tee_sim_dev_key_pem;
			dev_key = true;
			break;
		case OPT_STATE_DIR:
			cfg.state_dir = optarg;
			break;
		case OPT_THREADS:
			if (parse_ulong(&v, optarg, 10, 64) != 0 || v == 0)
				return usage_error(argv[0], simulator_usage, "bad thread count (1..64)", optarg);
			cfg.threads = (unsigned)v;
			break;
		case 'q':
			cfg.quiet = true;
			break;
		case 'h':
			fputs(simulator_usage, stdout);
			return EXIT_OK;
		case ':':
			return usage_error(argv[0], simulator_usage, "option needs a value", argv[optind - 1]);
		default:
			return usage_error(argv[0], simulator_usage, "unknown option", argv[optind - 1]);
		}
	}
	if (optind < argc)
		return usage_error(argv[0], simulator_usage, "unexpected argument", argv[optind]);
	if (cfg.key_pem != NULL && cfg.key_file != NULL)
		return usage_error(argv[0], simulator_usage, "give --key-file or --dev-key, not both", NULL);
	if (no_tcp)
		cfg.host = NULL;
	if (cfg.host == NULL && cfg.socket_path == NULL && cfg.dstack_socket_path == NULL)
		return usage_error(argv[0], simulator_usage, "--no-tcp needs --tappd-socket PATH or --dstack-socket PATH",
		                   NULL);
	if (cfg.socket_path != NULL && cfg.dstack_socket_path != NULL && strcmp(cfg.socket_path, cfg.dstack_socket_path) == 0)
		return usage_error(argv[0], simulator_usage, "--tappd-socket and --dstack-socket must differ",
		                   cfg.socket_path);
	/* the development keys stand in for whatever dstack keys were not given */
	cfg.dstack_dev_keys = dev_key && cfg.appkeys_file == NULL;

	/* Block the stop signals before any thread starts, so only sigwait below sees them. */
	sigemptyset(&sigs);
	sigaddset(&sigs, SIGINT);
	sigaddset(&sigs, SIGTERM);
	sigaddset(&sigs, SIGHUP);
	pthread_sigmask(SIG_BLOCK, &sigs, NULL);
	signal(SIGPIPE, SIG_IGN);

	err = tee_sim_start(&sim, &cfg);
	if (err) {
		int rc = cli_fail(argv[0], err);

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

int sim_root_main(int argc, char **argv)
{
	enum { OPT_STATE_DIR = 256, OPT_COLLATERAL, OPT_NOW };
	static const struct option opts[] = {
		{"state-dir", required_argument, NULL, OPT_STATE_DIR},
		{"collateral", no_argument, NULL, OPT_COLLATERAL},
		{"now", required_argument, NULL, OPT_NOW},
		{"help", no_argument, NULL, 'h'},
		{NULL, 0, NULL, 0},
	};
	const char *dir = default_state_dir();
	bool collateral = false;
	int64_t now = (int64_t)time(NULL);
	unsigned long v;
	tee_sim_pki *pki = NULL;
	teeliza_buf out;
	teeliza_err err;
	int c;

	optind = 1;
	opterr = 0;
	while ((c = getopt_long(argc, argv, ":h", opts, NULL)) != -1) {
		switch (c) {
		case OPT_STATE_DIR:
			dir = optarg;
			break;
		case OPT_COLLATERAL:
			collateral = true;
			break;
		case OPT_NOW:
			if (parse_ulong(&v, optarg, 10, (unsigned long)INT64_MAX) != 0)
				return usage_error(argv[0], sim_root_usage, "bad time (unix seconds)", optarg);
			now = (int64_t)v;
			break;
		case 'h':
			fputs(sim_root_usage, stdout);
			return EXIT_OK;
		case ':':
			return usage_error(argv[0], sim_root_usage, "option needs a value", argv[optind - 1]);
		default:
			return usage_error(argv[0], sim_root_usage, "unknown option", argv[optind - 1]);
		}
	}
	if (optind < argc)
		return usage_error(argv[0], sim_root_usage, "unexpected argument", argv[optind]);
	err = tee_sim_pki_open(&pki, dir);
	if (err == TEELIZA_OK)
		err = collateral ? tee_sim_collateral_json(&out, pki, now) : tee_sim_pki_root_pem(&out, pki);
	tee_sim_pki_free(pki);
	if (err)
		return cli_fail(argv[0], err);
	fwrite(out.data, 1, out.len, stdout);
	if (out.len > 0 && out.data[out.len - 1] != '\n')
		putchar('\n');
	teeliza_buf_free(&out);
	return fflush(stdout) == 0 ? EXIT_OK : EXIT_IO;
}
