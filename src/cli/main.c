/* `teeliza <subcommand> [args]`: dispatch through one table. */
#include "cli/cli.h"

#include <stdio.h>
#include <string.h>

struct command {
	const char *name;
	int (*fn)(int argc, char **argv);
	const char *summary;
};

static int version_main(int argc, char **argv)
{
	(void)argc;
	(void)argv;
	printf("teeliza 0.1.0\n");
	return EXIT_OK;
}

static const struct command commands[] = {
	/* Add a line here when a subcommand lands; usage is generated from this table. */
	{"version", version_main, "print the version"},
	{"start", start_main, "start the Eliza-compatible agent: REST API and terminal chat"},
	{"simulator", simulator_main, "run the TEE simulator: dstack 0.5 and tappd (not a TEE)"},
	{"sim-root", sim_root_main, "print the simulator root CA or its collateral"},
	{"replay", replay_main, "replay an event log into RTMR0-3"},
	{"derive", derive_main, "derive a wallet (Solana, EVM or raw) through tappd or dstack, with its attestation"},
	{"quote", quote_main, "ask tappd (or dstack) for a TDX quote over some data, as the plugin does"},
	{"info", info_main, "print the guest agent's Info (tappd or dstack)"},
	{"get-key", get_key_main, "dstack GetKey: a key at a path, with its signature chain"},
	{"get-quote", get_quote_main, "dstack GetQuote: a TDX quote over raw report data"},
	{"attest", attest_main, "dstack Attest: a versioned attestation over raw report data"},
	{"emit-event", emit_event_main, "dstack EmitEvent: extend RTMR3 with a runtime event"},
	{"get-tls-key", get_tls_key_main, "dstack GetTlsKey: a TLS key and its certificate chain"},
	{"sign", sign_main, "dstack Sign: sign data with the app's signing key"},
	{"verify-sig", verify_sig_main, "dstack Verify: check a signature as the agent does"},
	{"tee-version", tee_version_main, "dstack Version: the guest agent's version"},
	{"verify-key", verify_key_main, "check a GetKey result's signature chain up to the KMS root"},
	{"demo", demo_main, "the Eliza TEE guide's demo against a built-in simulator"},
	{"verify", verify_main, "verify a TDX/SGX DCAP quote (offline unless a PCCS is named)"},
	{"verify-reply", verify_reply_main, "check a reply's receipt bundle link by link, offline"},
	{"compose-hash", compose_hash_main, "a dstack app's compose hash, as the SDK and the OS compute it"},
	{"collateral", collateral_main, "fetch a quote's collateral from a PCCS, list the cache"},
	{"healthcheck", healthcheck_main, "exit 0 when a URL answers 2xx (for container HEALTHCHECKs)"},
};

static void usage(FILE *f)
{
	size_t i;

	fprintf(f, "usage: teeliza <command> [options]\n\ncommands:\n");
	for (i = 0; i < sizeof(commands) / sizeof(commands[0]); i++)
		fprintf(f, "  %-12s %s\n", commands[i].name, commands[i].summary);
	fprintf(f, "\n'teeliza <command> --help' or 'teeliza help <command>' describes a command.\n"
	           "Exit codes: docs/CLI.md.\n");
}

static const struct command *find(const char *name)
{
	size_t i;

	for (i = 0; i < sizeof(commands) / sizeof(commands[0]); i++)
		if (strcmp(name, commands[i].name) == 0)
			return &commands[i];
	return NULL;
}

/* `teeliza help [COMMAND]`: the general help, or COMMAND's own (what `teeliza COMMAND --help` prints). */
static int help_main(int argc, char **argv)
{
	char *args[3];
	const struct command *c;

	if (argc < 3) {
		usage(stdout);
		return EXIT_OK;
	}
	c = find(argv[2]);
	if (c == NULL || argc > 3) {
		if (c == NULL)
			fprintf(stderr, "teeliza help: unknown command '%s'\n\n", argv[2]);
		else
			fprintf(stderr, "teeliza help: one command at a time\n\n");
		usage(stderr);
		return EXIT_USAGE;
	}
	args[0] = argv[2];
	args[1] = (char *)"--help";
	args[2] = NULL;
	return c->fn(2, args);
}

int main(int argc, char **argv)
{
	const struct command *c;

	if (argc < 2) {
		usage(stderr);
		return EXIT_USAGE;
	}
	if (strcmp(argv[1], "help") == 0)
		return help_main(argc, argv);
	if (strcmp(argv[1], "-h") == 0 || strcmp(argv[1], "--help") == 0) {
		usage(stdout);
		return EXIT_OK;
	}
	if (strcmp(argv[1], "--version") == 0)
		return version_main(argc - 1, argv + 1);
	c = find(argv[1]);
	if (c != NULL)
		return c->fn(argc - 1, argv + 1);
	fprintf(stderr, "teeliza: unknown command '%s'\n\n", argv[1]);
	usage(stderr);
	return EXIT_USAGE;
}
