/*
 * What the tappd subcommands (derive, quote, info, demo) share: finding
 * tappd the way Eliza does, reading the wallet salt without it ever being on
 * the command line, and printing attestations.
 */
#ifndef TEELIZA_TEE_CLI_H
#define TEELIZA_TEE_CLI_H

#include "cli/cli.h"
#include "cli/cli_opts.h"
#include "teeliza/agent/uuid.h"
#include "teeliza/tee/attest.h"
#include "teeliza/tee/tappd.h"

#include <jansson.h>
#include <stdio.h>

/*
 * The options every tappd subcommand takes, as rows of its table (cli_opts.h):
 * --quiet, --endpoint and --timeout, into the fields quiet, endpoint and
 * timeout_ms of its options struct T. Their help is aligned at column 25
 * whatever the command's own column.
 */
#define TEE_CLI_ROWS(T)                                                                                        \
	CLI_OPT_FLAG(T, quiet, "quiet", 'q', "no log lines on stderr"),                                            \
	{.name = "endpoint", .kind = CLI_STRING, .offset = CLI_FIELD(T, endpoint, const char *), .meta = "URL|SOCKET", \
	 .col = 25,                                                                                                \
	 .help = "tappd to use: an http(s):// URL or a unix socket path\n"                                        \
	         "(default: TEE_MODE and DSTACK_SIMULATOR_ENDPOINT as Eliza reads them;\n"                        \
	         "with neither set, http://localhost:8090)"},                                                      \
	{.name = "timeout", .kind = CLI_U64, .offset = CLI_FIELD(T, timeout_ms, uint64_t), .meta = "MS", .min = 1,  \
	 .max = 3600000, .bad = "--timeout wants milliseconds between 1 and 3600000, not '%s'", .col = 25,         \
	 .help = "give up on tappd after MS milliseconds (default 30000)"}

/* How the tappd subcommands word a bad command line (cli_command.errors). */
#define TEE_CLI_ERRORS CLI_HINT_OPTIONS_ONLY

/* Each command lists only the exit codes it can end with. */
#define TEE_CLI_ENV_HELP                                                                              \
	"settings: TEE_MODE and DSTACK_SIMULATOR_ENDPOINT, from the environment or the nearest\n"         \
	"  .env file from the working directory up, as Eliza's agent reads it (the environment\n"        \
	"  wins; the file read is named on stderr)\n"

/*
 * Pick tappd: --endpoint, else TEE_MODE (+ DSTACK_SIMULATOR_ENDPOINT, which
 * overrides as the SDK does), else DSTACK_SIMULATOR_ENDPOINT alone, else
 * http://localhost:8090 (said on stderr). Prints the plugin's mode line and
 * the SDK's override line to stderr unless quiet. timeout_ms 0 = default.
 * Returns an exit code (EXIT_OK on success), having printed any error.
 */
int tee_cli_client(tappd_client *c, const char *cmd, const char *endpoint, uint64_t timeout_ms, bool quiet);

/*
 * The wallet salt: the file's contents when salt_file is given (one
 * trailing newline dropped), else WALLET_SECRET_SALT. Out: salt (secret
 * buffer, initialised here; free with teeliza_buf_free). Missing or empty:
 * EXIT_CONFIG; unreadable file: EXIT_IO. Returns an exit code.
 */
int tee_cli_salt(teeliza_buf *salt, const char *cmd, const char *salt_file);

/*
 * Read the nearest .env into the environment (cli_load_dotenv) and print
 * its note on stderr as "teeliza <cmd>: ..." (its warnings even when quiet).
 * Returns an exit code.
 */
int tee_cli_load_env(const char *cmd, bool quiet);

/*
 * The agent id for --agent-id TEXT: TEXT itself when it is a UUID, else
 * stringToUuid(TEXT) - the id Eliza (and `teeliza start`) gives a character
 * named TEXT that has no "id" - said on stderr unless quiet. Out: id.
 * Returns an exit code.
 */
int tee_cli_agent_id(char id[AGENT_UUID_BUFSZ], const char *cmd, const char *text, bool quiet);

/* {"reportData","hashAlgorithm","quote","eventLog","rtmrs","timestamp"} for --json output; NULL on OOM. */
json_t *tee_cli_attestation_json(const tee_attestation *a);

/* Print JSON (2-space indent, key order kept) and a newline to stdout; EXIT_SOFTWARE on failure. */
int tee_cli_print_json(json_t *j);

/* Print a buffer of text to f as is. */
void tee_cli_write(FILE *f, const teeliza_buf *b);

#endif
