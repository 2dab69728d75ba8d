/*
 * A subcommand's options as one table: each row says an option's spelling,
 * where its value goes and how it is checked, and its line in --help.
 * cli_parse runs getopt_long over the table (so the GNU spellings hold:
 * --name VALUE, --name=VALUE, unique abbreviations, -x, options after
 * arguments) and reports a bad command line the way the command words it;
 * cli_usage prints --help with the options' lines made from the rows.
 * Adding an option is adding a row.
 *
 * Rows name a field of the command's own options struct (T below) by
 * offset, so a table is static data and any function of the command can
 * report a usage error through it:
 *
 *   struct info_opts { const char *endpoint; uint64_t timeout_ms; bool json, quiet; };
 *   static const struct cli_opt info_rows[] = {
 *       CLI_OPT_FLAG(struct info_opts, json, "json", 0, "indented JSON, tcb_info decoded"),
 *       CLI_OPT_HELP,
 *       CLI_OPT_END,
 *   };
 */
#ifndef TEELIZA_CLI_OPTS_H
#define TEELIZA_CLI_OPTS_H

#include "cli/cli.h"

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

/* cli_parse's answer after printing --help: the command exits 0. */
#define CLI_HELP_SHOWN (-1)

/* Start a CLI_U64 field at this to tell "not given" from any value (it is above every max). */
#define CLI_UNSET UINT64_MAX

enum cli_kind {
	CLI_END = 0, /* ends a table */
	CLI_FLAG,    /* bool field = true */
	CLI_UNFLAG,  /* bool field = false (--no-attest, --allow-sept-ve) */
	CLI_STRING,  /* const char * field = the value as given */
	CLI_U64,     /* uint64_t field = the value: decimal digits only, min..max (teeliza_parse_u64), else .bad */
	CLI_CALL,    /* .call decides (a value with a syntax of its own, or an option that sets several fields) */
	CLI_HELP,    /* print --help on stdout; cli_parse returns CLI_HELP_SHOWN */
	CLI_TEXT,    /* not an option: a line of --help as it is (a heading between options) */
};

struct cli_command;

/*
 * A CLI_CALL row's check: opts is the command's options struct (or, for a
 * row with an offset, the field there: options shared by commands), value the
 * option's value (NULL for a row without .meta). Returns EXIT_OK or, having
 * said why (cli_usage_error), an exit code.
 */
typedef int (*cli_call_fn)(const struct cli_command *cmd, void *opts, const char *value);

struct cli_opt {
	const char *name;   /* the long option, without "--" */
	char short_name;    /* also taken as -x; 0 for none */
	enum cli_kind kind;
	size_t offset;      /* of the field in the options struct (CLI_FLAG .. CLI_U64; CLI_CALL: what .call gets) */
	const char *meta;   /* the value's name in --help ("N"; "=PATH" is shown as --name=PATH); NULL: no value */
	uint64_t min, max;  /* CLI_U64 */
	const char *bad;    /* CLI_U64: the usage error for a bad value, one %s for the value */
	cli_call_fn call;   /* CLI_CALL */
	const char *help;   /* its --help text, '\n' between lines; NULL: not listed */
	const char *label;  /* shown instead of "--name META" (two options on one line; trailing blanks align) */
	int col;            /* the column of its help text; 0: the command's */
};

/*
 * How a command words a bad command line. These differ between commands
 * for history's sake; they are kept so that every message stays as it was.
 */
enum {
	CLI_COLON = 1,             /* "unknown option: --x", not "unknown option '--x'" */
	CLI_NEEDS_VALUE = 2,       /* a missing value is "option needs a value", not "unknown or incomplete option" */
	CLI_USAGE_AFTER = 4,       /* an error is followed by a blank line and the usage, not by the --help hint */
	CLI_HINT_OPTIONS_ONLY = 8, /* the hint follows unknown options only, not bad values or arguments */
};

struct cli_command {
	const char *name;             /* "derive": errors read "teeliza derive: ..." */
	const char *usage;            /* --help before the options: synopsis and description */
	const char *usage_end;        /* --help after the options (settings, exit codes); NULL: nothing */
	const struct cli_opt *opts;   /* ends with CLI_OPT_END */
	int col;                      /* where the options' help text starts in --help */
	bool shorts;                  /* --help shows "-x, " before each option, or 4 blanks */
	unsigned errors;              /* CLI_COLON | ... */
};

/*
 * Parse argv[1..] (argv[0] is the command's name) into opts, which holds
 * the defaults. Returns EXIT_OK with *first_arg the index of the first
 * argument that is not an option (getopt_long moves them all to the end);
 * CLI_HELP_SHOWN after --help; else an exit code, the error said on stderr.
 */
int cli_parse(const struct cli_command *cmd, void *opts, int argc, char **argv, int *first_arg);

/*
 * For a command that takes its options only as written in full, anywhere
 * (replay): apply arg when it is exactly "--NAME" of a row without a value.
 * Returns EXIT_OK when it was applied, CLI_NOT_AN_OPTION when arg is an
 * argument ("-" or not starting with '-'), else EXIT_USAGE (said).
 */
#define CLI_NOT_AN_OPTION (-2)
int cli_parse_exact(const struct cli_command *cmd, void *opts, const char *arg);

/* EXIT_OK when first_arg == argc, else "unexpected argument" (EXIT_USAGE). */
int cli_no_args(const struct cli_command *cmd, int argc, char **argv, int first_arg);

/* Print the --help text. */
void cli_usage(FILE *f, const struct cli_command *cmd);

/*
 * "teeliza CMD: <message>" on stderr, followed as the command does (the
 * --help hint, the usage, or nothing). Returns EXIT_USAGE.
 */
int cli_usage_error(const struct cli_command *cmd, const char *fmt, ...) TEELIZA_PRINTF(2, 3);

/* "teeliza CMD: <message>" on stderr and nothing after it. Returns EXIT_USAGE. */
int cli_usage_message(const struct cli_command *cmd, const char *fmt, ...) TEELIZA_PRINTF(2, 3);

/* The offset of field f of T, which must be of type type (else a compile error under -Werror). */
#define CLI_FIELD(T, f, type) (offsetof(T, f) + 0 * sizeof((type *)0 == &((T *)0)->f))

#define CLI_OPT_FLAG(T, f, long_, short_, help_)                                                              \
	{.name = (long_), .short_name = (short_), .kind = CLI_FLAG, .offset = CLI_FIELD(T, f, bool), .help = (help_)}
#define CLI_OPT_UNFLAG(T, f, long_, short_, help_)                                                            \
	{.name = (long_), .short_name = (short_), .kind = CLI_UNFLAG, .offset = CLI_FIELD(T, f, bool), .help = (help_)}
#define CLI_OPT_STRING(T, f, long_, short_, meta_, help_)                                                     \
	{.name = (long_), .short_name = (short_), .kind = CLI_STRING, .offset = CLI_FIELD(T, f, const char *),     \
	 .meta = (meta_), .help = (help_)}
#define CLI_OPT_U64(T, f, long_, short_, meta_, min_, max_, bad_, help_)                                      \
	{.name = (long_), .short_name = (short_), .kind = CLI_U64, .offset = CLI_FIELD(T, f, uint64_t),           \
	 .meta = (meta_), .min = (min_), .max = (max_), .bad = (bad_), .help = (help_)}
#define CLI_OPT_CALL(long_, short_, meta_, call_, help_)                                                      \
	{.name = (long_), .short_name = (short_), .kind = CLI_CALL, .meta = (meta_), .call = (call_), .help = (help_)}
/* -h, --help, not listed in the options */
#define CLI_OPT_HELP {.name = "help", .short_name = 'h', .kind = CLI_HELP}
#define CLI_OPT_TEXT(text_) {.kind = CLI_TEXT, .help = (text_)}
#define CLI_OPT_END {.kind = CLI_END}

#endif
