/*
 * `teeliza verify-key [FILE]`: check a dstack GetKey result's signature chain
 * up to a pinned KMS root (tee_dstack_verify_key): the key's public key,
 * chain[0] over "<purpose>:<hex public key>" to the app key, chain[1] over
 * "dstack-kms-issued:" || app id || app key to the KMS root, and optionally
 * the app id against the attested app-id event of a quote's event log.
 * Every failure names the link that broke.
 */
#include "cli/tee_cli.h"
#include "teeliza/common/encoding.h"
#include "teeliza/dcap/quote.h"

#include <ctype.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#define CLAIM_FILE_MAX DSTACK_SMALL_REPLY_MAX
#define QUOTE_FILE_MAX DSTACK_QUOTE_REPLY_MAX

struct verify_key_opts {
	const char *key, *public_key, *path, *purpose, *algorithm, *chain[2];
	const char *kms_root, *app_id, *quote, *event_log;
	size_t n_chain;
	bool json;
};

/* --chain HEX, twice: chain[0] then chain[1] ("" for a chain[1] nobody signed) */
static int take_chain(const struct cli_command *cmd, void *opts, const char *value)
{
	struct verify_key_opts *o = opts;

	if (o->n_chain >= 2)
		return cli_usage_error(cmd, "--chain is given twice at most: chain[0], then chain[1]");
	o->chain[o->n_chain++] = value;
	return EXIT_OK;
}

static const struct cli_opt verify_key_rows[] = {
	CLI_OPT_TEXT("the GetKey result (instead of FILE, or beside it when they agree):"),
	CLI_OPT_STRING(struct verify_key_opts, key, "key", 0, "HEX", "the key (32 bytes; its public key is computed)"),
	CLI_OPT_STRING(struct verify_key_opts, public_key, "public-key", 0, "HEX",
	               "its public key (33 bytes secp256k1, 32 ed25519) instead of the key"),
	CLI_OPT_CALL("chain", 0, "HEX", take_chain, "signature_chain[0], then again for [1] (65 bytes each)"),
	CLI_OPT_STRING(struct verify_key_opts, purpose, "purpose", 0, "P", "GetKey's purpose (default \"\")"),
	CLI_OPT_STRING(struct verify_key_opts, algorithm, "algorithm", 0, "A",
	               "GetKey's algorithm: secp256k1 (default) or ed25519"),
	CLI_OPT_STRING(struct verify_key_opts, path, "path", 0, "PATH",
	               "GetKey's path, shown only: no signature covers it"),
	CLI_OPT_TEXT("what to check it against:"),
	CLI_OPT_STRING(struct verify_key_opts, kms_root, "kms-root", 0, "HEX",
	               "the pinned KMS root (33-byte compressed secp256k1: the KMS's\n"
	               "GetMeta k256_pubkey; a teeliza simulator's: teeliza sim-root --kms-root)"),
	CLI_OPT_STRING(struct verify_key_opts, app_id, "app-id", 0, "HEX",
	               "the app id (20 bytes; default: the event log's app-id event)"),
	CLI_OPT_STRING(struct verify_key_opts, quote, "quote", 0, "FILE",
	               "a quote: GetQuote's JSON answer (teeliza get-quote), or the quote\n"
	               "as binary or hex; its event log must replay to its RTMR3"),
	CLI_OPT_STRING(struct verify_key_opts, event_log, "event-log", 0, "FILE",
	               "the event log (GetQuote's event_log JSON text), when not in --quote"),
	CLI_OPT_FLAG(struct verify_key_opts, json, "json", 0, "print the walk as indented JSON (also on failure)"),
	CLI_OPT_HELP,
	CLI_OPT_END,
};

static const struct cli_command verify_key_cmd = {
	.name = "verify-key",
	.usage = "usage: teeliza verify-key [FILE|-] [--key HEX|--public-key HEX] [--chain HEX --chain HEX]\n"
	         "                          [--purpose P] [--algorithm A] [--path PATH] [--kms-root HEX]\n"
	         "                          [--app-id HEX] [--quote FILE] [--event-log FILE] [--json]\n"
	         "\n"
	         "Check where a dstack GetKey key comes from, link by link:\n"
	         "  key         the key gives the public key (when both are given)\n"
	         "  app-signature  chain[0] over \"<purpose>:<hex public key>\" recovers the app key\n"
	         "  event-log   the log (--quote, --event-log) replays to the quote's RTMR3\n"
	         "  app-id      --app-id, or the log's app-id event before system-ready (both: equal)\n"
	         "  kms-signature  chain[1] over \"dstack-kms-issued:\" || app id || app key recovers\n"
	         "              a root key\n"
	         "  kms-root    that root is the pinned --kms-root\n"
	         "A wrong purpose, key, app id or signature shows at the last link, kms-root,\n"
	         "since recovery always yields some key. The chain says \"this key belongs to the\n"
	         "app under that KMS\", not that it lives in a TEE; the quote is not verified here\n"
	         "(teeliza verify does that).\n"
	         "\n"
	         "FILE (or - for stdin) is GetKey's JSON answer as the agent gives it and\n"
	         "`teeliza get-key` prints it: {\"key\", \"signature_chain\"}; \"public_key\",\n"
	         "\"purpose\" and \"algorithm\" members are read too when present.\n"
	         "\n"
	         "stdout: \"verified: ...\" and what was recovered, or with --json\n"
	         "  {\"verified\", \"broken_link\", \"message\", \"algorithm\", \"public_key\",\n"
	         "   \"app_public_key\", \"app_id\", \"app_id_source\", \"event_log_bound\",\n"
	         "   \"kms_root\", \"kms_root_pinned\", \"path\", \"purpose\"}\n"
	         "stderr: the broken link and why.\n"
	         "\n",
	.usage_end = "\n"
	             "exit codes: 0 verified up to the pinned root, 1 every link holds but no\n"
	             "  --kms-root was pinned (the recovered root is shown), 2 a link broke,\n"
	             "  3 bad input (malformed JSON, hex, lengths, event log or quote), 64 bad\n"
	             "  command line, 74 a file could not be read\n",
	.opts = verify_key_rows,
	.col = 23,
	.errors = TEE_CLI_ERRORS,
};

/* What was read from the files; the claim points into it. */
struct inputs {
	teeliza_buf claim_text, quote_text, log_text, quote_bin;
	json_t *claim, *quote_json;
	const char *chain[2];
	uint8_t rtmr3[TEE_RTMR_LEN];
	bool have_rtmr3;
};

TEELIZA_PRINTF(1, 2)
static int bad_input(const char *fmt, ...)
{
	char msg[512];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	teeliza_set_error(TEELIZA_ERR_INVALID, "%s", msg);
	return cli_fail("verify-key", TEELIZA_ERR_INVALID);
}

/* A string member of the claim JSON, or NULL; a member of another type is bad input. */
static int member(const char **out, json_t *obj, const char *name)
{
	json_t *v = json_object_get(obj, name);

	*out = NULL;
	if (v == NULL)
		return EXIT_OK;
	if (!json_is_string(v))
		return bad_input("GetKey JSON: \"%s\" is not a string", name);
	*out = json_string_value(v);
	return EXIT_OK;
}

/* A flag and the file's member: either alone, or both equal. */
static int merge(const char **field, const char *flag_name, const char *member_name, const char *from_file)
{
	if (from_file == NULL)
		return EXIT_OK;
	if (*field != NULL && strcmp(*field, from_file) != 0)
		return bad_input("--%s differs from the GetKey JSON's \"%s\"", flag_name, member_name);
	*field = from_file;
	return EXIT_OK;
}

static int read_file(teeliza_buf *out, const char *path, size_t max, const char *what)
{
	teeliza_err err;

	teeliza_buf_init(out, max);
	err = teeliza_read_file(out, path, max);
	if (err == TEELIZA_ERR_TOO_LARGE) {
		teeliza_set_error(TEELIZA_ERR_TOO_LARGE, "%s %s is larger than %zu bytes", what, path, max);
		return cli_fail("verify-key", TEELIZA_ERR_TOO_LARGE);
	}
	if (err)
		return cli_fail("verify-key", err == TEELIZA_ERR_NOT_FOUND ? TEELIZA_ERR_IO : err);
	return EXIT_OK;
}

/* FILE: {"key", "signature_chain", ["public_key", "purpose", "algorithm"]} */
static int load_claim(struct inputs *in, struct verify_key_opts *o, const char *path)
{
	const char *key, *pub, *purpose, *alg;
	json_error_t jerr;
	json_t *chain;
	size_t i;
	int rc;

	rc = read_file(&in->claim_text, path, CLAIM_FILE_MAX, "GetKey JSON");
	if (rc)
		return rc;
	in->claim = json_loadb((const char *)in->claim_text.data, in->claim_text.len, JSON_REJECT_DUPLICATES, &jerr);
	if (!json_is_object(in->claim))
		return bad_input("%s is not a GetKey JSON object: %s", path, in->claim != NULL ? "not an object" : jerr.text);
	chain = json_object_get(in->claim, "signature_chain");
	if (chain != NULL) {
		if (!json_is_array(chain) || json_array_size(chain) != 2)
			return bad_input("GetKey JSON: \"signature_chain\" must be an array of 2 hex strings");
		for (i = 0; i < 2; i++) {
			if (!json_is_string(json_array_get(chain, i)))
				return bad_input("GetKey JSON: \"signature_chain\" must be an array of 2 hex strings");
			in->chain[i] = json_string_value(json_array_get(chain, i));
		}
		if (o->n_chain > 0 && (o->n_chain != 2 || strcmp(o->chain[0], in->chain[0]) != 0 ||
		                       strcmp(o->chain[1], in->chain[1]) != 0))
			return bad_input("--chain differs from the GetKey JSON's \"signature_chain\"");
		o->chain[0] = in->chain[0];
		o->chain[1] = in->chain[1];
		o->n_chain = 2;
	}
	rc = member(&key, in->claim, "key");
	if (rc == EXIT_OK)
		rc = member(&pub, in->claim, "public_key");
	if (rc == EXIT_OK)
		rc = member(&purpose, in->claim, "purpose");
	if (rc == EXIT_OK)
		rc = member(&alg, in->claim, "algorithm");
	if (rc == EXIT_OK)
		rc = merge(&o->key, "key", "key", key);
	if (rc == EXIT_OK)
		rc = merge(&o->public_key, "public-key", "public_key", pub);
	if (rc == EXIT_OK)
		rc = merge(&o->purpose, "purpose", "purpose", purpose);
	if (rc == EXIT_OK)
		rc = merge(&o->algorithm, "algorithm", "algorithm", alg);
	return rc;
}

/* The quote's bytes: hex text (one optional 0x, surrounding blanks) or binary. */
static int quote_bytes(struct inputs *in, const uint8_t *p, size_t n)
{
	size_t i;

	while (n > 0 && isspace(p[n - 1]))
		n--;
	while (n > 0 && isspace(p[0]))
		p++, n--;
	for (i = (n > 2 && p[0] == '0' && (p[1] == 'x' || p[1] == 'X')) ? 2 : 0; i < n && isxdigit(p[i]); i++)
		;
	teeliza_buf_init(&in->quote_bin, QUOTE_FILE_MAX);
	if (n > 0 && i == n) {
		if (teeliza_hex_decode_buf(&in->quote_bin, (const char *)p, n, true) != TEELIZA_OK)
			return cli_fail("verify-key", TEELIZA_ERR_INVALID);
	} else if (teeliza_buf_append(&in->quote_bin, p, n) != TEELIZA_OK) {
		return cli_fail("verify-key", TEELIZA_ERR_TOO_LARGE);
	}
	return EXIT_OK;
}

/* --quote FILE: RTMR3 of the quote, and the event log when it is GetQuote's JSON. */
static int load_quote(struct inputs *in, const char *path)
{
	const uint8_t *p;
	json_t *q, *log;
	dcap_quote dq;
	teeliza_err err;
	int rc;

	rc = read_file(&in->quote_text, path, QUOTE_FILE_MAX, "quote");
	if (rc)
		return rc;
	p = in->quote_text.data;
	if (in->quote_text.len > 0 && p[0] == '{') {
		in->quote_json = json_loadb((const char *)p, in->quote_text.len, JSON_REJECT_DUPLICATES, NULL);
		q = json_object_get(in->quote_json, "quote");
		log = json_object_get(in->quote_json, "event_log");
		if (!json_is_string(q) || (log != NULL && !json_is_string(log)))
			return bad_input("%s is not GetQuote's JSON answer {\"quote\": hex, \"event_log\": text}", path);
		rc = quote_bytes(in, (const uint8_t *)json_string_value(q), json_string_length(q));
		if (rc == EXIT_OK && log != NULL && in->log_text.len == 0) {
			teeliza_buf_init(&in->log_text, QUOTE_FILE_MAX);
			if (teeliza_buf_append(&in->log_text, json_string_value(log), json_string_length(log)) != TEELIZA_OK)
				return cli_fail("verify-key", TEELIZA_ERR_TOO_LARGE);
		}
	} else {
		rc = quote_bytes(in, p, in->quote_text.len);
	}
	if (rc)
		return rc;
	err = dcap_quote_parse(&dq, in->quote_bin.data, in->quote_bin.len);
	if (!err && dq.body_type == DCAP_BODY_SGX)
		err = teeliza_set_error(TEELIZA_ERR_UNSUPPORTED, "an SGX quote has no RTMR3");
	if (err) {
		teeliza_set_error(TEELIZA_ERR_INVALID, "quote %s: %s", path, teeliza_errmsg());
		return cli_fail("verify-key", TEELIZA_ERR_INVALID);
	}
	memcpy(in->rtmr3, dq.body.td.rtmr[3], TEE_RTMR_LEN);
	in->have_rtmr3 = true;
	return EXIT_OK;
}

static void inputs_free(struct inputs *in)
{
	/* the claim may hold the key: wipe the text and jansson's copy */
	if (in->claim_text.data != NULL)
		teeliza_wipe(in->claim_text.data, in->claim_text.len);
	tee_cli_json_wipe(in->claim, "key");
	json_decref(in->claim);
	json_decref(in->quote_json);
	teeliza_buf_free(&in->claim_text);
	teeliza_buf_free(&in->quote_text);
	teeliza_buf_free(&in->log_text);
	teeliza_buf_free(&in->quote_bin);
}

static const char *app_id_source(const tee_dstack_key_report *r, const struct verify_key_opts *o)
{
	if (!r->have_app_id)
		return "none";
	if (o->app_id != NULL)
		return r->app_id_from_log ? "given, and equal to the event log's app-id event" : "given";
	return r->log_bound ? "the app-id event of a log bound to the quote's RTMR3"
	                    : "the app-id event of an event log bound to no quote";
}

static json_t *hex_or_null(bool have, const uint8_t *p, size_t n)
{
	return have ? tee_cli_hex_json(p, n) : json_null();
}

static json_t *report_json(const tee_dstack_key_report *r, const struct verify_key_opts *o, bool verified)
{
	return json_pack("{s:b, s:s, s:s, s:s, s:o, s:o, s:o, s:s, s:b, s:o, s:b, s:o, s:s}", "verified", verified,
	                 "broken_link", tee_dstack_link_name(r->broken), "message", r->message, "algorithm",
	                 tee_dstack_alg_name(r->alg), "public_key",
	                 hex_or_null(r->public_key_len > 0, r->public_key, r->public_key_len), "app_public_key",
	                 hex_or_null(r->have_app_pub, r->app_pub, sizeof(r->app_pub)), "app_id",
	                 hex_or_null(r->have_app_id, r->app_id, sizeof(r->app_id)), "app_id_source", app_id_source(r, o),
	                 "event_log_bound", r->log_bound, "kms_root",
	                 hex_or_null(r->have_root, r->root_pub, sizeof(r->root_pub)), "kms_root_pinned", r->root_pinned,
	                 "path", o->path != NULL ? json_string(o->path) : json_null(), "purpose",
	                 o->purpose != NULL ? o->purpose : "");
}

static void print_hex_line(const char *label, bool have, const uint8_t *p, size_t n, const char *note)
{
	char hex[2 * TEE_DSTACK_PUB_MAX + 1];

	if (!have)
		return;
	teeliza_hex_encode(hex, p, n);
	printf("%-15s%s%s\n", label, hex, note);
}

static void print_text(const tee_dstack_key_report *r, const struct verify_key_opts *o, teeliza_err err)
{
	if (!err)
		printf("verified: the key chains to the pinned KMS root\n");
	else if (err == TEELIZA_ERR_UNTRUSTED)
		printf("unpinned: every link holds, but no --kms-root was given to compare the root with\n");
	else
		printf("broken link: %s\n", tee_dstack_link_name(r->broken));
	printf("%-15s%s\n", "algorithm:", tee_dstack_alg_name(r->alg));
	if (o->path != NULL)
		printf("%-15s%s (not covered by any signature)\n", "path:", o->path);
	print_hex_line("public_key:", r->public_key_len > 0, r->public_key, r->public_key_len, "");
	print_hex_line("app_key:", r->have_app_pub, r->app_pub, sizeof(r->app_pub), " (recovered from chain[0])");
	if (r->have_app_id) {
		print_hex_line("app_id:", true, r->app_id, sizeof(r->app_id), "");
		printf("%-15s%s\n", "app_id from:", app_id_source(r, o));
	}
	print_hex_line("kms_root:", r->have_root, r->root_pub, sizeof(r->root_pub),
	               r->root_pinned ? (err ? " (recovered from chain[1]; not the pinned one)" : " (pinned)")
	                              : " (recovered from chain[1]; not pinned)");
}

int verify_key_main(int argc, char **argv)
{
	struct verify_key_opts o;
	struct inputs in;
	tee_dstack_key_claim claim;
	tee_dstack_key_report r;
	teeliza_err err;
	json_t *j;
	int rc, first;

	memset(&o, 0, sizeof(o));
	memset(&in, 0, sizeof(in));
	teeliza_buf_init(&in.claim_text, 0);
	teeliza_buf_init(&in.quote_text, 0);
	teeliza_buf_init(&in.log_text, 0);
	teeliza_buf_init(&in.quote_bin, 0);
	rc = cli_parse(&verify_key_cmd, &o, argc, argv, &first);
	if (rc)
		return rc == CLI_HELP_SHOWN ? EXIT_OK : rc;
	if (argc - first > 1)
		return cli_usage_error(&verify_key_cmd, "give at most one FILE");
	if (argc - first == 0 && o.n_chain == 0)
		return cli_usage_error(&verify_key_cmd, "give the GetKey result: FILE (or - for stdin), or --chain HEX twice "
		                                        "with --key or --public-key");
	if (argc - first == 1)
		rc = load_claim(&in, &o, argv[first]);
	if (rc == EXIT_OK && o.n_chain != 2)
		rc = cli_usage_error(&verify_key_cmd, "--chain is needed twice: chain[0], then chain[1]");
	if (rc == EXIT_OK && o.key == NULL && o.public_key == NULL)
		rc = cli_usage_error(&verify_key_cmd, "give the key (--key, or \"key\" in FILE) or --public-key");
	if (rc == EXIT_OK && o.event_log != NULL)
		rc = read_file(&in.log_text, o.event_log, QUOTE_FILE_MAX, "event log");
	if (rc == EXIT_OK && o.quote != NULL)
		rc = load_quote(&in, o.quote);
	if (rc) {
		inputs_free(&in);
		return rc;
	}
	memset(&claim, 0, sizeof(claim));
	claim.algorithm = o.algorithm;
	claim.purpose = o.purpose != NULL ? o.purpose : "";
	claim.purpose_len = strlen(claim.purpose);
	claim.key_hex = o.key;
	claim.public_key_hex = o.public_key;
	claim.chain_hex = o.chain;
	claim.chain_len = 2;
	claim.app_id_hex = o.app_id;
	claim.kms_root_hex = o.kms_root;
	if (in.log_text.len > 0 || o.event_log != NULL) {
		claim.event_log = (const char *)in.log_text.data;
		claim.event_log_len = in.log_text.len;
	}
	claim.rtmr3 = in.have_rtmr3 ? in.rtmr3 : NULL;
	err = tee_dstack_verify_key(&r, &claim);
	if (o.json) {
		j = report_json(&r, &o, err == TEELIZA_OK);
		rc = tee_cli_print_json(j);
		json_decref(j);
	} else {
		print_text(&r, &o, err);
	}
	inputs_free(&in);
	if (err) {
		fprintf(stderr, "teeliza verify-key: %s\n", r.message[0] != 0 ? r.message : teeliza_errmsg());
		return cli_exit_code(err);
	}
	return rc;
}
