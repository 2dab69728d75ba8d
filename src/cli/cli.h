/*
 * The `teeliza` program: one binary, a table of subcommands. Each subcommand
 * is `int NAME_main(int argc, char **argv)` with argv[0] = its name, and
 * returns one of the exit codes below (documented in docs/CLI.md).
 */
#ifndef TEELIZA_CLI_H
#define TEELIZA_CLI_H

#include "teeliza/common/common.h"
#include "teeliza/dcap/verify.h"

enum {
	EXIT_OK = 0,
	EXIT_UNTRUSTED = 1,    /* verify: the quote verified but its status is not accepted */
	EXIT_VERIFY_FAIL = 2,  /* verify: a check failed */
	EXIT_BAD_INPUT = 3,    /* input data could not be read or parsed */
	EXIT_USAGE = 64,       /* bad command line */
	EXIT_UNAVAILABLE = 69, /* tappd, dstack or another server unreachable or answered an error */
	EXIT_SOFTWARE = 70,    /* internal error */
	EXIT_IO = 74,          /* file I/O failed */
	EXIT_CONFIG = 78,      /* bad configuration (TEE_MODE, missing salt, ...) */
};

/* Map a library error to the exit code above. */
int cli_exit_code(teeliza_err err);

/* Print "teeliza <cmd>: <teeliza_errmsg() or strerror>" to stderr; returns cli_exit_code(err). */
int cli_fail(const char *cmd, teeliza_err err);

/* True when argv[i] is -h or --help. */
int cli_wants_help(int argc, char **argv);

struct tee_sim;
/*
 * Start the in-process simulator for `demo` and `start --simulator`: quiet, on
 * 127.0.0.1:port (0: a free one), its state in dir, its CA key read from
 * key_file or, when NULL, the public development key (so the wallets are the
 * same on every machine).
 */
teeliza_err cli_sim_start(struct tee_sim **out, const char *dir, uint16_t port, const char *key_file);

/*
 * Read a quote from path ("-": stdin), at most max bytes, as binary or as hex
 * / 0x-hex text (surrounding whitespace ignored). out is initialised here.
 * Returns EXIT_OK or an exit code, said on stderr as "teeliza <cmd>: ...".
 */
int cli_read_quote(teeliza_buf *out, const char *cmd, const char *path, size_t max);

/*
 * The roots of --trust-root PATH (PEM, self-signed CA certificates) besides
 * Intel's; *out NULL when path is NULL. Returns EXIT_OK or an exit code,
 * said on stderr as "teeliza <cmd>: ...".
 */
int cli_load_trust(dcap_trust **out, const char *cmd, const char *path);

int simulator_main(int argc, char **argv);
int derive_main(int argc, char **argv);
int quote_main(int argc, char **argv);
int replay_main(int argc, char **argv);
int info_main(int argc, char **argv);
int sim_root_main(int argc, char **argv);
int demo_main(int argc, char **argv);
int verify_main(int argc, char **argv);
int verify_reply_main(int argc, char **argv);
int compose_hash_main(int argc, char **argv);
int start_main(int argc, char **argv);
int healthcheck_main(int argc, char **argv);
int get_key_main(int argc, char **argv);
int get_quote_main(int argc, char **argv);
int attest_main(int argc, char **argv);
int emit_event_main(int argc, char **argv);
int get_tls_key_main(int argc, char **argv);
int sign_main(int argc, char **argv);
int verify_sig_main(int argc, char **argv);
int tee_version_main(int argc, char **argv);
int verify_key_main(int argc, char **argv);
int collateral_main(int argc, char **argv);

#endif
