/*
 * What the TEE subcommands share: choosing the API (tappd or dstack) and
 * its endpoint with tee_endpoint_choose() (TEE_MODE, TEE_API,
 * DSTACK_SIMULATOR_ENDPOINT, TAPPD_SIMULATOR_ENDPOINT; docs/DSTACK.md),
 * reading the wallet salt without it ever being on the command line, and
 * printing attestations and the guest agent's JSON.
 */
#ifndef TEELIZA_TEE_CLI_H
#define TEELIZA_TEE_CLI_H

#include "cli/cli.h"
#include "cli/cli_opts.h"
#include "teeliza/agent/uuid.h"
#include "teeliza/tee/attest.h"
#include "teeliza/tee/dstack.h"
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

/* The same rows for the commands that speak the dstack API only (get-key, get-quote, ...). */
#define DSTACK_CLI_ROWS(T)                                                                                     \
	CLI_OPT_FLAG(T, quiet, "quiet", 'q', "no log lines on stderr"),                                            \
	{.name = "endpoint", .kind = CLI_STRING, .offset = CLI_FIELD(T, endpoint, const char *), .meta = "URL|SOCKET", \
	 .col = 25,                                                                                                \
	 .help = "the dstack guest agent: an http(s):// URL or a unix socket path\n"                              \
	         "(default: DSTACK_SIMULATOR_ENDPOINT, else by TEE_MODE: LOCAL\n"                                 \
	         "http://localhost:8090, PRODUCTION the first dstack.sock that exists)"},                          \
	{.name = "timeout", .kind = CLI_U64, .offset = CLI_FIELD(T, timeout_ms, uint64_t), .meta = "MS", .min = 1,  \
	 .max = 3600000, .bad = "--timeout wants milliseconds between 1 and 3600000, not '%s'", .col = 25,         \
	 .help = "give up after MS milliseconds (default 30000)"}

/* The same rows for the commands that speak either API (info, quote). */
#define TEE_ANY_CLI_ROWS(T)                                                                                    \
	CLI_OPT_FLAG(T, quiet, "quiet", 'q', "no log lines on stderr"),                                            \
	{.name = "endpoint", .kind = CLI_STRING, .offset = CLI_FIELD(T, endpoint, const char *), .meta = "URL|SOCKET", \
	 .col = 25,                                                                                                \
	 .help = "where to ask: an http(s):// URL or a unix socket path, of the\n"                                \
	         "API TEE_API names (tappd when unset); default: chosen from TEE_MODE,\n"                         \
	         "TEE_API and the *_SIMULATOR_ENDPOINT variables (docs/DSTACK.md)"},                              \
	{.name = "timeout", .kind = CLI_U64, .offset = CLI_FIELD(T, timeout_ms, uint64_t), .meta = "MS", .min = 1,  \
	 .max = 3600000, .bad = "--timeout wants milliseconds between 1 and 3600000, not '%s'", .col = 25,         \
	 .help = "give up after MS milliseconds (default 30000)"}

/* How the tappd subcommands word a bad command line (cli_command.errors). */
#define TEE_CLI_ERRORS CLI_HINT_OPTIONS_ONLY

/* Each command lists only the exit codes it can end with. */
#define TEE_CLI_ENV_HELP                                                                              \
	"settings: TEE_MODE (unset: LOCAL), TEE_API (dstack or tappd; unset: tappd, or in\n"              \
	"  PRODUCTION dstack when a dstack.sock exists), DSTACK_SIMULATOR_ENDPOINT and\n"                \
	"  TAPPD_SIMULATOR_ENDPOINT, from the environment or the nearest .env file from the\n"          \
	"  working directory up (the environment wins; the file read is named on stderr);\n"           \
	"  docs/DSTACK.md has the rules\n"

/* What a command can speak. */
enum tee_cli_want {
	TEE_CLI_WANT_TAPPD = 1,  /* tappd only (derive, demo): a dstack choice falls back to tappd's endpoint */
	TEE_CLI_WANT_DSTACK = 2, /* dstack only (get-key, ...): TEE_API=tappd is a configuration error */
	TEE_CLI_WANT_ANY = 3,    /* either (info, quote): as chosen */
};

/*
 * Choose the API and the endpoint with tee_endpoint_choose() from the
 * environment (TEE_MODE unset is taken as LOCAL, and said). endpoint
 * (--endpoint) replaces the chosen endpoint: then TEE_MODE is not read and
 * the API is TEE_API's (unset: tappd; a dstack-only command: dstack). The
 * choice's log lines go to stderr unless quiet. Out: *out. Returns an exit
 * code (EXIT_OK on success), having printed any error.
 */
int tee_cli_choose(tee_endpoint_choice *out, const char *cmd, const char *endpoint, enum tee_cli_want want,
                   bool quiet);

/*
 * A tappd client (derive, demo): tee_cli_choose(TEE_CLI_WANT_TAPPD).
 * timeout_ms 0 = default. Returns an exit code, having printed any error.
 */
int tee_cli_client(tappd_client *c, const char *cmd, const char *endpoint, uint64_t timeout_ms, bool quiet);

/*
 * A dstack client: the nearest .env read (tee_cli_load_env), then
 * tee_cli_choose(TEE_CLI_WANT_DSTACK). timeout_ms 0 = default. Returns an exit code.
 */
int tee_cli_dstack(dstack_client *c, const char *cmd, const char *endpoint, uint64_t timeout_ms, bool quiet);

/*
 * cli_fail() for an error of the dstack client: a 404 (TEELIZA_ERR_NOT_FOUND,
 * the endpoint does not serve the dstack API) is EXIT_UNAVAILABLE, not a file
 * that is missing. Returns the exit code.
 */
int tee_cli_dstack_fail(const char *cmd, teeliza_err err);

/*
 * DATA as the user gave it: its bytes, or with hex the bytes the hex spells
 * (one optional 0x). Out: data (initialised here, at most max bytes; free
 * with teeliza_buf_free). Bad hex: EXIT_BAD_INPUT, said. Returns an exit code.
 */
int tee_cli_data(teeliza_buf *data, const char *cmd, const char *arg, bool hex, size_t max);

/* The usage_end of the dstack commands: settings, then "exit codes: 0 ok, " and the command's own codes. */
#define DSTACK_CLI_ENV_HELP                                                                           \
	"settings: TEE_MODE (unset: LOCAL), DSTACK_SIMULATOR_ENDPOINT and TEE_API (tappd is refused:\n"  \
	"  these are dstack methods), from the environment or the nearest .env file from the\n"        \
	"  working directory up; docs/DSTACK.md has the rules\n"
#define DSTACK_CLI_EXIT_TAIL                                                                          \
	"64 bad command line, 69 the agent unreachable, timed out, answered an\n"                        \
	"  error or does not serve the dstack API, 70 internal error, 74 .env could not\n"              \
	"  be read, 78 bad configuration (TEE_MODE, TEE_API, endpoint, a .env refused)\n"

/* A JSON string of lowercase hex without 0x (dstack's form); NULL on OOM. */
json_t *tee_cli_hex_json(const uint8_t *data, size_t len);

/* Wipe the text of j's string member name (a key about to be freed); nothing when there is none. */
void tee_cli_json_wipe(json_t *j, const char *name);

/* Print j to stdout: indented (tee_cli_print_json) or compact on one line. Returns an exit code. */
int tee_cli_print_json_as(json_t *j, bool indent);

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
