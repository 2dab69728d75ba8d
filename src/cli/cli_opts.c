/* The subcommands' option tables: parsing with getopt_long, usage errors, --help. */
#include "cli/cli_opts.h"

#include <assert.h>
#include <getopt.h>
#include <stdarg.h>
#include <string.h>

/* Room for the longest table (verify: 16 options). */
#define CLI_MAX_OPTS 32
/* What getopt_long answers for a row without a short option: this plus the row's index. */
#define LONG_ONLY 256

/* What follows a usage error: the --help hint, or a blank line and the usage. */
static void after_error(const struct cli_command *cmd)
{
	if (cmd->errors & CLI_USAGE_AFTER) {
		fputc('\n', stderr);
		cli_usage(stderr, cmd);
	} else {
		fprintf(stderr, "run 'teeliza %s --help' for the options\n", cmd->name);
	}
}

static int vsay(const struct cli_command *cmd, bool then_hint, const char *fmt, va_list ap) TEELIZA_PRINTF(3, 0);

static int vsay(const struct cli_command *cmd, bool then_hint, const char *fmt, va_list ap)
{
	fprintf(stderr, "teeliza %s: ", cmd->name);
	vfprintf(stderr, fmt, ap);
	fputc('\n', stderr);
	if (then_hint)
		after_error(cmd);
	return EXIT_USAGE;
}

int cli_usage_error(const struct cli_command *cmd, const char *fmt, ...)
{
	va_list ap;
	int rc;

	va_start(ap, fmt);
	rc = vsay(cmd, (cmd->errors & CLI_HINT_OPTIONS_ONLY) == 0, fmt, ap);
	va_end(ap);
	return rc;
}

int cli_usage_message(const struct cli_command *cmd, const char *fmt, ...)
{
	va_list ap;
	int rc;

	va_start(ap, fmt);
	rc = vsay(cmd, false, fmt, ap);
	va_end(ap);
	return rc;
}

/* An option getopt_long did not take: unknown, ambiguous, or without its value (missing). */
static int option_error(const struct cli_command *cmd, bool missing, const char *arg)
{
	const char *what = (cmd->errors & CLI_NEEDS_VALUE) == 0 ? "unknown or incomplete option"
	                   : missing                          ? "option needs a value"
	                                                      : "unknown option";

	if (cmd->errors & CLI_COLON)
		fprintf(stderr, "teeliza %s: %s: %s\n", cmd->name, what, arg);
	else
		fprintf(stderr, "teeliza %s: %s '%s'\n", cmd->name, what, arg);
	after_error(cmd);
	return EXIT_USAGE;
}

/* A row's .bad with the value where its %s stands. */
static int bad_value(const struct cli_command *cmd, const struct cli_opt *o, const char *value)
{
	const char *at = strstr(o->bad, "%s");

	assert(at != NULL);
	return cli_usage_error(cmd, "%.*s%s%s", (int)(at - o->bad), o->bad, value, at + 2);
}

static int apply(const struct cli_command *cmd, const struct cli_opt *o, void *opts, const char *value)
{
	char *field = (char *)opts + o->offset;
	uint64_t v;

	switch (o->kind) {
	case CLI_FLAG:
		*(bool *)(void *)field = true;
		return EXIT_OK;
	case CLI_UNFLAG:
		*(bool *)(void *)field = false;
		return EXIT_OK;
	case CLI_STRING:
		*(const char **)(void *)field = value;
		return EXIT_OK;
	case CLI_U64:
		if (teeliza_parse_u64(&v, value, o->min, o->max) != TEELIZA_OK)
			return bad_value(cmd, o, value);
		*(uint64_t *)(void *)field = v;
		return EXIT_OK;
	case CLI_CALL:
		return o->call(cmd, (char *)opts + o->offset, value);
	case CLI_HELP:
		cli_usage(stdout, cmd);
		return CLI_HELP_SHOWN;
	default:
		assert(!"a table row that is no option");
		return EXIT_SOFTWARE;
	}
}

int cli_parse(const struct cli_command *cmd, void *opts, int argc, char **argv, int *first_arg)
{
	struct option longopts[CLI_MAX_OPTS + 1];
	char shortopts[2 * CLI_MAX_OPTS + 2];
	const struct cli_opt *o;
	size_t n = 0, s = 0, i;
	int ch, rc;

	/* A leading ':' makes getopt_long tell a missing value (':') from an unknown option ('?'). */
	if (cmd->errors & CLI_NEEDS_VALUE)
		shortopts[s++] = ':';
	for (i = 0; cmd->opts[i].kind != CLI_END; i++) {
		o = &cmd->opts[i];
		if (o->kind == CLI_TEXT)
			continue;
		assert(n < CLI_MAX_OPTS && o->name != NULL);
		longopts[n].name = o->name;
		longopts[n].has_arg = o->meta != NULL ? required_argument : no_argument;
		longopts[n].flag = NULL;
		longopts[n].val = o->short_name != 0 ? o->short_name : LONG_ONLY + (int)i;
		n++;
		if (o->short_name != 0) {
			shortopts[s++] = o->short_name;
			if (o->meta != NULL)
				shortopts[s++] = ':';
		}
	}
	memset(&longopts[n], 0, sizeof(longopts[n]));
	shortopts[s] = 0;

	opterr = 0;
	optind = 1;
	while ((ch = getopt_long(argc, argv, shortopts, longopts, NULL)) != -1) {
		if (ch == '?' || ch == ':')
			return option_error(cmd, ch == ':', argv[optind - 1]);
		if (ch >= LONG_ONLY) {
			o = &cmd->opts[ch - LONG_ONLY];
		} else {
			for (o = cmd->opts; o->kind != CLI_END && o->short_name != ch; o++)
				;
			assert(o->kind != CLI_END);
		}
		rc = apply(cmd, o, opts, optarg);
		if (rc != EXIT_OK)
			return rc;
	}
	*first_arg = optind;
	return EXIT_OK;
}

int cli_parse_exact(const struct cli_command *cmd, void *opts, const char *arg)
{
	const struct cli_opt *o;

	if (arg[0] != '-' || arg[1] == 0)
		return CLI_NOT_AN_OPTION;
	for (o = cmd->opts; o->kind != CLI_END; o++)
		if ((o->kind == CLI_FLAG || o->kind == CLI_UNFLAG) && strncmp(arg, "--", 2) == 0 &&
		    strcmp(arg + 2, o->name) == 0)
			return apply(cmd, o, opts, NULL);
	return option_error(cmd, false, arg);
}

int cli_no_args(const struct cli_command *cmd, int argc, char **argv, int first_arg)
{
	if (first_arg >= argc)
		return EXIT_OK;
	if (cmd->errors & CLI_COLON)
		return cli_usage_error(cmd, "unexpected argument: %s", argv[first_arg]);
	return cli_usage_error(cmd, "unexpected argument '%s'", argv[first_arg]);
}

/* "  --name META   help", the help's further lines under its first. */
static void print_row(FILE *f, const struct cli_command *cmd, const struct cli_opt *o)
{
	int col = o->col != 0 ? o->col : cmd->col, used;
	const char *line, *nl, *shown = "";
	char left[128], with_short[5] = {'-', o->short_name, ',', ' ', 0};

	if (cmd->shorts)
		shown = o->short_name != 0 ? with_short : "    ";
	if (o->label != NULL)
		snprintf(left, sizeof(left), "%s", o->label);
	else
		snprintf(left, sizeof(left), "%s--%s%s%s", shown, o->name, o->meta == NULL || o->meta[0] == '=' ? "" : " ",
		         o->meta != NULL ? o->meta : "");
	used = 2 + (int)strlen(left);
	/* an option too long for its column gets its help on the next line, aligned with the others */
	if (used >= col && o->label == NULL)
		fprintf(f, "  %s\n%*s", left, col, "");
	else
		fprintf(f, "  %s%*s", left, used < col ? col - used : 1, "");
	for (line = o->help;; line = nl + 1) {
		nl = strchr(line, '\n');
		fprintf(f, "%.*s\n", nl != NULL ? (int)(nl - line) : (int)strlen(line), line);
		if (nl == NULL)
			break;
		fprintf(f, "%*s", col, "");
	}
}

void cli_usage(FILE *f, const struct cli_command *cmd)
{
	const struct cli_opt *o;

	fputs(cmd->usage, f);
	for (o = cmd->opts; o->kind != CLI_END; o++) {
		if (o->help == NULL)
			continue;
		if (o->kind == CLI_TEXT)
			fprintf(f, "%s\n", o->help);
		else
			print_row(f, cmd, o);
	}
	if (cmd->usage_end != NULL)
		fputs(cmd->usage_end, f);
}
