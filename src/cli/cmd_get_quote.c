/*
 * `teeliza get-quote DATA` and `teeliza attest DATA`: dstack's GetQuote and
 * Attest over raw report data (at most 64 bytes: no prefix, no hash; the
 * agent pads with zeros at the end), printed as the guest agent answers.
 */
#include "cli/tee_cli.h"

#include <string.h>

/* DATA is read up to this, so that more than 64 bytes gets dstack's own message, not a buffer's. */
#define DATA_MAX 4096

struct get_quote_opts {
	const char *endpoint;
	uint64_t timeout_ms;
	bool hex, json, quiet;
};

static const struct cli_opt get_quote_rows[] = {
	CLI_OPT_FLAG(struct get_quote_opts, hex, "hex", 0, "DATA is hex (an optional 0x is skipped)"),
	CLI_OPT_FLAG(struct get_quote_opts, json, "json", 0, "indented JSON"),
	DSTACK_CLI_ROWS(struct get_quote_opts),
	CLI_OPT_HELP,
	CLI_OPT_END,
};

static const struct cli_command get_quote_cmd = {
	.name = "get-quote",
	.usage = "usage: teeliza get-quote DATA [--hex] [--json] [--quiet] [--endpoint URL|SOCKET]\n"
	         "                         [--timeout MS]\n"
	         "\n"
	         "Ask the dstack guest agent's GetQuote for a TDX quote whose report data is DATA\n"
	         "itself (its UTF-8 bytes, or with --hex the bytes DATA spells): at most 64 bytes,\n"
	         "no prefix, no hash, zero-padded at the end by the agent. (`teeliza quote` hashes\n"
	         "DATA as Eliza's plugin does.) The reply is checked: the quote parses, its report\n"
	         "data is DATA, and its event log replays to its RTMR0-3.\n"
	         "\n"
	         "stdout: the agent's answer as JSON on one line (--json: indented):\n"
	         "  {\"quote\": hex, \"event_log\": JSON text, \"report_data\": hex, \"vm_config\": text}\n"
	         "\n",
	.usage_end = "\n" DSTACK_CLI_ENV_HELP "\n"
	             "exit codes: 0 ok, 2 the event log does not replay to the quote's RTMRs (the\n"
	             "  answer is printed all the same) or the quote is not over DATA, 3 bad input\n"
	             "  (bad hex, DATA over 64 bytes), " DSTACK_CLI_EXIT_TAIL,
	.opts = get_quote_rows,
	.col = 17,
	.errors = TEE_CLI_ERRORS,
};

static const struct cli_command attest_cmd = {
	.name = "attest",
	.usage = "usage: teeliza attest DATA [--hex] [--json] [--quiet] [--endpoint URL|SOCKET]\n"
	         "                      [--timeout MS]\n"
	         "\n"
	         "Ask the dstack guest agent's Attest for a versioned attestation over DATA (the\n"
	         "same report data rules as get-quote: at most 64 bytes, as is). The blob is not\n"
	         "decoded; its first byte says its format (0x00: V0, SCALE; a MessagePack map: V1).\n"
	         "\n"
	         "stdout: the agent's answer as JSON on one line (--json: indented):\n"
	         "  {\"attestation\": hex}\n"
	         "\n",
	.usage_end = "\n" DSTACK_CLI_ENV_HELP "\n"
	             "exit codes: 0 ok, 3 bad input (bad hex, DATA over 64 bytes), " DSTACK_CLI_EXIT_TAIL,
	.opts = get_quote_rows,
	.col = 17,
	.errors = TEE_CLI_ERRORS,
};

static json_t *quote_json(const dstack_quote_reply *r)
{
	json_t *j = json_object();

	if (j == NULL || json_object_set_new(j, "quote", tee_cli_hex_json(r->quote.data, r->quote.len)) != 0 ||
	    json_object_set_new(j, "event_log",
	                        json_stringn((const char *)r->event_log.data, r->event_log.len)) != 0 ||
	    json_object_set_new(j, "report_data", tee_cli_hex_json(r->report_data, sizeof(r->report_data))) != 0 ||
	    json_object_set_new(j, "vm_config", json_string(r->vm_config != NULL ? r->vm_config : "")) != 0) {
		json_decref(j);
		return NULL;
	}
	return j;
}

/* Parse the command line and read DATA; *c ready. Returns an exit code, CLI_HELP_SHOWN after --help. */
static int begin(dstack_client *c, teeliza_buf *data, bool *json, const struct cli_command *cmd, int argc,
                 char **argv)
{
	struct get_quote_opts o = {0};
	int rc, first;

	teeliza_buf_init(data, DATA_MAX);
	rc = cli_parse(cmd, &o, argc, argv, &first);
	if (rc)
		return rc;
	if (argc - first != 1)
		return cli_usage_error(cmd, "give exactly one DATA argument (run 'teeliza %s --help')", cmd->name);
	*json = o.json;
	rc = tee_cli_data(data, cmd->name, argv[first], o.hex, DATA_MAX);
	if (rc == EXIT_OK)
		rc = tee_cli_dstack(c, cmd->name, o.endpoint, o.timeout_ms, o.quiet);
	return rc;
}

int get_quote_main(int argc, char **argv)
{
	dstack_client c;
	dstack_quote_reply r;
	teeliza_buf data;
	teeliza_err err;
	bool json = false;
	json_t *j;
	int rc;

	rc = begin(&c, &data, &json, &get_quote_cmd, argc, argv);
	if (rc) {
		teeliza_buf_free(&data);
		return rc == CLI_HELP_SHOWN ? EXIT_OK : rc;
	}
	err = dstack_get_quote(&r, &c, data.data, data.len);
	teeliza_buf_free(&data);
	if (err)
		return tee_cli_dstack_fail("get-quote", err);
	j = quote_json(&r);
	rc = tee_cli_print_json_as(j, json);
	json_decref(j);
	if (rc == EXIT_OK && !r.replay_matches) {
		fprintf(stderr, "teeliza get-quote: the event log does not replay to the quote's RTMRs: %s\n",
		        r.replay_error);
		rc = EXIT_VERIFY_FAIL;
	}
	dstack_quote_reply_free(&r);
	return rc;
}

int attest_main(int argc, char **argv)
{
	dstack_client c;
	dstack_attestation_format format;
	teeliza_buf data, blob;
	teeliza_err err;
	bool json = false;
	json_t *j;
	int rc;

	rc = begin(&c, &data, &json, &attest_cmd, argc, argv);
	if (rc) {
		teeliza_buf_free(&data);
		return rc == CLI_HELP_SHOWN ? EXIT_OK : rc;
	}
	err = dstack_attest(&blob, &format, &c, data.data, data.len);
	teeliza_buf_free(&data);
	if (err)
		return tee_cli_dstack_fail("attest", err);
	j = json_object();
	if (j != NULL && json_object_set_new(j, "attestation", tee_cli_hex_json(blob.data, blob.len)) != 0) {
		json_decref(j);
		j = NULL;
	}
	rc = tee_cli_print_json_as(j, json);
	json_decref(j);
	teeliza_buf_free(&blob);
	return rc;
}
