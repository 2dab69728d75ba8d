/* `teeliza verify-reply BUNDLE`: check a reply's whole chain offline (teeliza/tee/verify_reply.h). */
#include "cli/cli_opts.h"
#include "cli/identity_opts.h"
#include "cli/pccs_opts.h"
#include "teeliza/common/encoding.h"
#include "teeliza/dcap/verify.h"
#include "teeliza/tee/verify_reply.h"

#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <stdint.h>
#include <string.h>
#include <time.h>

#define VR_MAX_INPUT (8u << 20)

struct vr_opts {
	const char *bundle_path, *collateral, *trust_root, *kms_root, *prev, *chain;
	struct pccs_cli pccs;
	uint64_t now; /* CLI_UNSET: the clock */
	bool json, allow_debug;
	struct identity_cli id; /* --expect-compose-hash, ... */
};

static const struct cli_opt vr_rows[] = {
	CLI_OPT_STRING(struct vr_opts, collateral, "collateral", 0, "FILE",
	               "collateral for the statement quote (dcap-qvl JSON);\n"
	               "for the simulator `teeliza sim-root --collateral`"),
	PCCS_CLI_ROWS(struct vr_opts, pccs),
	CLI_OPT_U64(struct vr_opts, now, "now", 0, "UNIX", 0, INT64_MAX, "--now needs Unix seconds, got '%s'",
	            "verify at this time (Unix seconds; default: the clock)"),
	CLI_OPT_STRING(struct vr_opts, trust_root, "trust-root", 0, "PEM",
	               "also trust this root CA (e.g. `teeliza sim-root`'s)"),
	CLI_OPT_STRING(struct vr_opts, prev, "prev", 0, "FILE",
	               "the previous receipt (a bundle, the receipt route's\n"
	               "answer or the receipt's text): this one must follow it"),
	CLI_OPT_STRING(struct vr_opts, chain, "chain", 0, "FILE",
	               "also check a list of receipts under the bundle's key: a\n"
	               "JSON array of the receipt route's answers, in chain\n"
	               "order (seq contiguous, each prev the one before's hash;\n"
	               "the first follows --prev, or is seq 1)"),
	CLI_OPT_STRING(struct vr_opts, kms_root, "kms-root", 0, "HEX",
	               "the KMS root (33-byte compressed secp256k1, dstack's\n"
	               "GetMeta k256_pubkey; else TEE_KMS_ROOT): the reply\n"
	               "key's GetKey chain must lead to it"),
	CLI_OPT_FLAG(struct vr_opts, allow_debug, "allow-debug", 0, "accept a DEBUG TD [no]"),
	CLI_OPT_FLAG(struct vr_opts, json, "json", 0, "print the verdict as JSON"),
	CLI_OPT_TEXT("\napp identity (read from the statement quote's event log,\n"
	             "events before system-ready; docs/VERIFIABILITY.md):"),
	IDENTITY_CLI_ROWS(struct vr_opts, id),
	CLI_OPT_HELP,
	CLI_OPT_END,
};

static const struct cli_command vr_cmd = {
	.name = "verify-reply",
	.usage = "usage: teeliza verify-reply BUNDLE [--collateral FILE | --pccs-url URL] [--now UNIX]\n"
	         "                            [--trust-root PEM] [--prev FILE] [--chain FILE]\n"
	         "                            [--kms-root HEX]\n"
	         "                            [--expect-* ...] [--json]\n"
	         "\n"
	         "Check a reply from its bundle (GET /agents/:id/receipts/:rid?bundle=1; BUNDLE is\n"
	         "a file or '-'), link by link, and name the first that breaks: receipt, receipt\n"
	         "signature (and EIP-191), reply key (the statement's replyKey), statement quote\n"
	         "(report data = SHA-512(statement), then DCAP as `teeliza verify`), event log\n"
	         "(RTMR0-3 replay), app identity (--expect-*), key provenance (dstack's GetKey\n"
	         "chain to --kms-root), hash chain (against --prev). docs/VERIFIABILITY.md.\n"
	         "\n"
	         "OFFLINE BY DEFAULT: nothing is fetched unless --pccs-url or PCCS_URL names a\n"
	         "PCCS; docs/COLLATERAL.md.\n"
	         "\n",
	.usage_end = "\n"
	             "exit codes: 0 every link holds and the quote is trusted, 1 every link holds but\n"
	             "  the quote is genuine and not trusted (status or policy), 2 a link is broken,\n"
	             "  3 bad input (malformed bundle, event log or collateral), 64 bad command line,\n"
	             "  69 PCCS unreachable, 74 a file could not be read\n",
	.opts = vr_rows,
	.col = 24,
};

static int parse_opts(struct vr_opts *o, int argc, char **argv)
{
	int rc, first;

	memset(o, 0, sizeof(*o));
	o->now = CLI_UNSET;
	rc = cli_parse(&vr_cmd, o, argc, argv, &first);
	if (rc != EXIT_OK)
		return rc;
	if (argc - first != 1)
		return cli_usage_error(&vr_cmd, "give exactly one BUNDLE (a file, or - for stdin)");
	o->bundle_path = argv[first];
	if (o->collateral != NULL && o->pccs.url != NULL)
		return cli_usage_error(&vr_cmd, "give --collateral FILE or --pccs-url URL, not both");
	if (o->collateral == NULL && pccs_cli_url(&o->pccs) == NULL)
		return cli_usage_error(&vr_cmd, "give --collateral FILE, or a PCCS with --pccs-url URL or PCCS_URL "
		                                "(offline is the default)");
	if (o->prev != NULL && strcmp(o->prev, "-") == 0 && strcmp(o->bundle_path, "-") == 0)
		return cli_usage_error(&vr_cmd, "BUNDLE and --prev cannot both be - (standard input)");
	if (o->chain != NULL && strcmp(o->chain, "-") == 0 &&
	    (strcmp(o->bundle_path, "-") == 0 || (o->prev != NULL && strcmp(o->prev, "-") == 0)))
		return cli_usage_error(&vr_cmd, "only one of BUNDLE, --prev and --chain can be - (standard input)");
	if (o->kms_root == NULL) {
		o->kms_root = getenv("TEE_KMS_ROOT");
		if (o->kms_root != NULL && o->kms_root[0] == 0)
			o->kms_root = NULL;
	}
	return EXIT_OK;
}

/* The statement quote out of the bundle, for asking a PCCS (a malformed bundle is the verifier's to name). */
static void bundle_quote(teeliza_buf *quote, const teeliza_buf *bundle)
{
	json_t *o = json_loadb((const char *)bundle->data, bundle->len, 0, NULL);
	const char *hex = json_string_value(json_object_get(o, "quote"));

	teeliza_buf_init(quote, VR_MAX_INPUT);
	if (hex != NULL && teeliza_hex_decode_buf(quote, hex, strlen(hex), true) != TEELIZA_OK)
		teeliza_buf_reset(quote);
	json_decref(o);
}

static int load_collateral(dcap_collateral **out, struct vr_opts *o, const teeliza_buf *bundle, int64_t now)
{
	dcap_pccs_config cfg;
	dcap_collateral_got got;
	teeliza_buf json, quote;
	teeliza_err err;
	int rc;

	*out = NULL;
	if (o->collateral == NULL) {
		rc = pccs_cli_config(&cfg, &o->pccs, "verify-reply", true);
		if (rc)
			return rc;
		bundle_quote(&quote, bundle);
		if (quote.len == 0) {
			teeliza_buf_free(&quote);
			fprintf(stderr, "teeliza verify-reply: the bundle has no quote to fetch collateral for\n");
			return EXIT_BAD_INPUT;
		}
		err = dcap_collateral_obtain(out, NULL, &got, &cfg, quote.data, quote.len, now, false);
		teeliza_buf_free(&quote);
		if (err)
			return cli_fail("verify-reply", err);
		pccs_cli_report("verify-reply", &got);
		return EXIT_OK;
	}
	err = teeliza_read_file(&json, o->collateral, VR_MAX_INPUT);
	if (err)
		return cli_fail("verify-reply", err);
	err = dcap_collateral_parse_json(out, (const char *)json.data, json.len);
	teeliza_buf_free(&json);
	if (err) {
		fprintf(stderr, "teeliza verify-reply: bad collateral: %s\n", teeliza_errmsg());
		return EXIT_BAD_INPUT;
	}
	return EXIT_OK;
}

static int load_prev(teeliza_buf *out, const char *path)
{
	teeliza_buf raw;
	teeliza_err err;

	teeliza_buf_init(out, VR_MAX_INPUT);
	if (path == NULL)
		return EXIT_OK;
	err = teeliza_read_file(&raw, path, VR_MAX_INPUT);
	if (err)
		return cli_fail("verify-reply", err);
	err = tee_reply_receipt_text(out, (const char *)raw.data, raw.len);
	teeliza_buf_free(&raw);
	if (err) {
		fprintf(stderr, "teeliza verify-reply: --prev %s: %s\n", path, teeliza_errmsg());
		return EXIT_BAD_INPUT;
	}
	return EXIT_OK;
}

static void print_text(const tee_reply_verdict *v)
{
	static const char *const links[] = {TEE_LINK_BUNDLE,          TEE_LINK_RECEIPT,     TEE_LINK_SIGNATURE,
	                                    TEE_LINK_EIP191,          TEE_LINK_REPLY_KEY,   TEE_LINK_STATEMENT_QUOTE,
	                                    TEE_LINK_EVENT_LOG,       TEE_LINK_APP_IDENTITY, TEE_LINK_KEY_PROVENANCE,
	                                    TEE_LINK_CHAIN};
	bool broken = false;
	size_t i;

	printf("Reply receipt %s\n  agent %s, seq %llu, reply key %s\n\n", v->id[0] ? v->id : "(unparsed)",
	       v->agent_id[0] ? v->agent_id : "?", (unsigned long long)v->seq, v->reply_key[0] ? v->reply_key : "?");
	for (i = 0; i < sizeof(links) / sizeof(links[0]); i++) {
		const char *state;

		if (broken)
			state = "not checked";
		else if (v->link != NULL && strcmp(v->link, links[i]) == 0 && v->err == TEELIZA_ERR_UNTRUSTED)
			state = "UNTRUSTED";
		else if (v->link != NULL && strcmp(v->link, links[i]) == 0)
			state = "BROKEN", broken = true;
		else if (strcmp(links[i], TEE_LINK_EIP191) == 0 && !v->eip191)
			state = "none (no EIP-191 signature)";
		else if (strcmp(links[i], TEE_LINK_KEY_PROVENANCE) == 0 && !v->provenance_checked)
			state = "not in the bundle";
		else if (strcmp(links[i], TEE_LINK_KEY_PROVENANCE) == 0 && v->provenance_err != TEELIZA_OK)
			state = "chain holds, no KMS root pinned (--kms-root)";
		else if (strcmp(links[i], TEE_LINK_CHAIN) == 0 && !v->chain_checked)
			state = "not checked (give --prev)";
		else
			state = "ok";
		printf("  %-18s %s\n", links[i], state);
	}
	if (v->provenance_note[0] && !v->provenance_checked)
		printf("\n  key provenance: %s\n", v->provenance_note);
	if (v->identity_read) {
		printf("\n");
		tee_app_identity_print(stdout, &v->identity);
	}
	if (v->dcap_done) {
		printf("\n");
		dcap_result_print(stdout, &v->dcap);
	}
	if (v->link != NULL)
		printf("\n%s: %s\n", v->link, v->message);
	else
		printf("\nverified: every link holds\n");
}

static int exit_for(const tee_reply_verdict *v)
{
	if (v->err == TEELIZA_OK)
		return EXIT_OK;
	if (v->err == TEELIZA_ERR_UNTRUSTED)
		return EXIT_UNTRUSTED;
	if (strcmp(v->link, TEE_LINK_BUNDLE) == 0 || v->err == TEELIZA_ERR_PARSE || v->err == TEELIZA_ERR_TOO_LARGE)
		return EXIT_BAD_INPUT;
	if (strcmp(v->link, TEE_LINK_STATEMENT_QUOTE) == 0 && v->dcap_done &&
	    (v->dcap.failure == DCAP_FAIL_BAD_QUOTE || v->dcap.failure == DCAP_FAIL_BAD_COLLATERAL))
		return EXIT_BAD_INPUT;
	return EXIT_VERIFY_FAIL;
}

int verify_reply_main(int argc, char **argv)
{
	struct vr_opts o;
	teeliza_buf bundle = {0}, prev = {0}, chain = {0};
	json_t *chain_owner = NULL;
	tee_reply_item *items = NULL;
	size_t n_items = 0, bad = SIZE_MAX;
	dcap_collateral *coll = NULL;
	dcap_trust *trust = NULL;
	tee_reply_verdict *v = NULL;
	tee_reply_policy p;
	dcap_policy pol;
	int64_t now;
	int rc;

	rc = parse_opts(&o, argc, argv);
	if (rc != EXIT_OK)
		return rc == CLI_HELP_SHOWN ? EXIT_OK : rc;
	now = o.now == CLI_UNSET ? (int64_t)time(NULL) : (int64_t)o.now;
	{
		teeliza_err err = teeliza_read_file(&bundle, o.bundle_path, VR_MAX_INPUT);

		if (err)
			return cli_fail("verify-reply", err);
	}
	rc = load_prev(&prev, o.prev);
	if (!rc && o.chain != NULL) {
		teeliza_err err = teeliza_read_file(&chain, o.chain, VR_MAX_INPUT);

		if (err) {
			rc = cli_fail("verify-reply", err);
		} else if (tee_reply_chain_parse(&chain_owner, &items, &n_items, (const char *)chain.data, chain.len) !=
		           TEELIZA_OK) {
			fprintf(stderr, "teeliza verify-reply: --chain %s: %s\n", o.chain, teeliza_errmsg());
			rc = EXIT_BAD_INPUT;
		}
	}
	if (!rc)
		rc = cli_load_trust(&trust, "verify-reply", o.trust_root);
	if (!rc)
		rc = load_collateral(&coll, &o, &bundle, now);
	if (!rc && (v = malloc(sizeof(*v))) == NULL)
		rc = EXIT_SOFTWARE;
	if (!rc) {
		dcap_policy_init(&pol);
		pol.allow_debug = o.allow_debug;
		memset(&p, 0, sizeof(p));
		p.collateral = coll;
		p.trust = trust;
		p.now = now;
		p.dcap = &pol;
		p.identity = &o.id.policy;
		p.kms_root_hex = o.kms_root;
		p.prev_receipt = o.prev != NULL ? (const char *)prev.data : NULL;
		p.prev_len = prev.len;
		/* the verdict in v says everything: which link, why */
		teeliza_err verr = o.chain != NULL ? tee_verify_reply_chain(v, &bad, (const char *)bundle.data, bundle.len,
		                                                            items, n_items, &p)
		                                   : tee_verify_reply(v, (const char *)bundle.data, bundle.len, &p);

		(void)verr;

		if (o.json) {
			json_t *j = tee_reply_verdict_to_json(v);
			char *s = j != NULL ? json_dumps(j, JSON_INDENT(2) | JSON_PRESERVE_ORDER) : NULL;

			json_decref(j);
			if (s == NULL) {
				rc = EXIT_SOFTWARE;
			} else {
				printf("%s\n", s);
				free(s);
			}
		} else {
			print_text(v);
			if (o.chain != NULL && v->link == NULL)
				printf("chain: %zu receipts, each signed by the bundle's key and linked to the one before\n",
				       n_items);
		}
		if (!rc)
			rc = exit_for(v);
	}
	free(v);
	free(items);
	json_decref(chain_owner);
	teeliza_buf_free(&chain);
	dcap_collateral_free(coll);
	dcap_trust_free(trust);
	teeliza_buf_free(&prev);
	teeliza_buf_free(&bundle);
	return rc;
}
