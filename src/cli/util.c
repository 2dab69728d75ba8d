/* Shared helpers of the subcommands. */
#include "cli/cli.h"
#include "teeliza/common/log.h"
#include "teeliza/sim/simulator.h"

#include <stdio.h>
#include <string.h>

int cli_exit_code(teeliza_err err)
{
	switch (err) {
	case TEELIZA_OK:
		return EXIT_OK;
	case TEELIZA_ERR_INVALID:
	case TEELIZA_ERR_PARSE:
	case TEELIZA_ERR_TRUNCATED:
	case TEELIZA_ERR_TOO_LARGE:
	case TEELIZA_ERR_UNSUPPORTED:
		return EXIT_BAD_INPUT;
	case TEELIZA_ERR_CONNECT:
	case TEELIZA_ERR_TIMEOUT:
	case TEELIZA_ERR_PROTOCOL:
	case TEELIZA_ERR_REMOTE:
		return EXIT_UNAVAILABLE;
	case TEELIZA_ERR_IO:
	case TEELIZA_ERR_NOT_FOUND:
		return EXIT_IO;
	case TEELIZA_ERR_CONFIG:
		return EXIT_CONFIG;
	case TEELIZA_ERR_VERIFY:
	case TEELIZA_ERR_EXPIRED:
	case TEELIZA_ERR_REVOKED:
		return EXIT_VERIFY_FAIL;
	case TEELIZA_ERR_UNTRUSTED:
		return EXIT_UNTRUSTED;
	default:
		return EXIT_SOFTWARE;
	}
}

int cli_fail(const char *cmd, teeliza_err err)
{
	const char *msg = teeliza_errmsg();

	/* The message may quote a server or a file: one escaped line. */
	teeliza_logf(stderr, "teeliza %s: %s", cmd, msg[0] ? msg : teeliza_strerror(err));
	return cli_exit_code(err);
}

int cli_wants_help(int argc, char **argv)
{
	int i;

	for (i = 1; i < argc; i++)
		if (strcmp(argv[i], "-h") == 0 || strcmp(argv[i], "--help") == 0)
			return 1;
	return 0;
}

teeliza_err cli_sim_start(struct tee_sim **out, const char *dir, uint16_t port, const char *key_file)
{
	tee_sim_config cfg;

	memset(&cfg, 0, sizeof(cfg));
	cfg.host = "127.0.0.1";
	cfg.port = port;
	cfg.state_dir = dir;
	cfg.key_file = key_file;
	cfg.key_pem = key_file == NULL ? tee_sim_dev_key_pem : NULL;
	cfg.quiet = true;
	return tee_sim_start(out, &cfg);
}
