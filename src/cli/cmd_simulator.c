/*
 * `teeliza simulator`: run the tappd-compatible simulator until SIGINT or
 * SIGTERM. `teeliza sim-root`: print the simulator's root CA (what
 * `verify --trust-root` takes) or its collateral.
 */
#include "cli/cli.h"

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
	"A tappd-compatible simulator (NOT a TEE): pRPC /prpc/Tappd.{DeriveKey,TdxQuote,RawQuote,Info,Version}\n"
	"(also without the Tappd. prefix, as dstack's tappd) with keys derived from a CA key and TDX quotes\n"
	"signed by a simulated, non-Intel PKI. /prpc/Tappd.SimRoot (teeliza only) hands out that PKI's root\n"
	"and collateral, so an agent's dashboard can verify these quotes as simulator-rooted.\n"
	"\n"
	"  -l, --listen ADDR      TCP address (default " DEFAULT_HOST "; 0.0.0.0 in containers);\n"
	"                         unix:PATH means --socket PATH --no-tcp\n"
	"  -p, --port N           TCP port (default 8090; 0 = any free port, printed at start)\n"
	"      --socket PATH      also serve on a unix socket (e.g. /var/run/tappd.sock)\n"
	"      --socket-mode MODE octal mode of the socket (default 0666)\n"
	"      --no-tcp           no TCP listener (needs --socket)\n"
	"      --key-file FILE    CA key PEM (P-256); tappd-simulator's certs/app.key reproduces its keys\n"
	"                         (default: <state dir>/ca.key, generated on first start, mode 0600)\n"
	"      --dev-key          the public development key (tappd-simulator's certs/app.key, built\n"
	"                         in): the keys `teeliza demo` and `teeliza start --simulator` derive\n"
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
	enum { OPT_SOCKET = 256, OPT_SOCKET_MODE, OPT_NO_TCP, OPT_KEY_FILE, OPT_STATE_DIR, OPT_THREADS, OPT_DEV_KEY };
	static const struct option opts[] = {
		{"listen", required_argument, NULL, 'l'},
		{"port", required_argument, NULL, 'p'},
		{"socket", required_argument, NULL, OPT_SOCKET},
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
	bool no_tcp = false;
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
	if (cfg.host == NULL && cfg.socket_path == NULL)
		return usage_error(argv[0], simulator_usage, "--no-tcp needs --socket PATH", NULL);

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
			fprintf(stderr, "teeliza simulator: listening on unix:%s (mode %04o)\n", cfg.socket_path,
			        cfg.socket_mode);
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
