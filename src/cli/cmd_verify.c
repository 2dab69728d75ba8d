/* `teeliza verify QUOTE`: verify a TDX/SGX DCAP quote offline against collateral. */
#include "cli/cli_opts.h"
#include "cli/identity_opts.h"
#include "cli/pccs_opts.h"
#include "cli/verify_ratls.h"
#include "teeliza/dcap/quote.h"
#include "teeliza/dcap/verify.h"
#include "teeliza/common/encoding.h"
#include "teeliza/tee/app_identity.h"
#include "teeliza/tee/rtmr.h"

#include <ctype.h>
#include <errno.h>
#include <jansson.h>
#include <openssl/evp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#define VERIFY_MAX_INPUT (8u << 20)

struct verify_opts {
	const char *quote_path, *collateral, *save_collateral, *trust_root, *app_data, *event_log;
	const char *ra_tls, *cert; /* the quote from an RA-TLS certificate instead of QUOTE */
	struct pccs_cli pccs;
	uint64_t now; /* CLI_UNSET: the clock */
	bool json;
	dcap_policy policy;
	uint8_t report_data[64];
	uint8_t mrtd[48];
	uint8_t rtmr[4][48];
	struct identity_cli id; /* --expect-compose-hash, ... */
};

static int parse_hex_exact(const struct cli_command *cmd, uint8_t *out, size_t n, const char *text, const char *opt)
{
	size_t got = 0;

	if (teeliza_hex_decode(out, n, &got, text, strlen(text), true) != TEELIZA_OK || got != n)
		return cli_usage_message(cmd, "%s needs exactly %zu bytes of hex", opt, n);
	return EXIT_OK;
}

static int take_accept(const struct cli_command *cmd, void *opts, const char *list)
{
	struct verify_opts *o = opts;
	char buf[512], *p, *end;
	dcap_tcb_status s;

	o->policy.accepted = 0;
	if (strlen(list) >= sizeof(buf))
		return cli_usage_error(cmd, "--accept list too long: %s", list);
	memcpy(buf, list, strlen(list) + 1);
	for (p = buf; *p; p = end) {
		end = strchr(p, ',');
		if (end != NULL)
			*end++ = '\0';
		else
			end = p + strlen(p);
		if (*p == '\0')
			continue;
		if (dcap_tcb_status_parse(&s, p) != TEELIZA_OK)
			return cli_usage_message(cmd, "--accept: %s", teeliza_errmsg());
		o->policy.accepted |= DCAP_STATUS_BIT(s);
	}
	return EXIT_OK;
}

static int take_rtmr(const struct cli_command *cmd, void *opts, const char *arg)
{
	struct verify_opts *o = opts;
	unsigned n;

	if (arg[0] < '0' || arg[0] > '3' || arg[1] != '=')
		return cli_usage_error(cmd, "--expect-rtmr needs N=HEX with N 0..3, got '%s'", arg);
	n = (unsigned)(arg[0] - '0');
	if (parse_hex_exact(cmd, o->rtmr[n], 48, arg + 2, "--expect-rtmr"))
		return EXIT_USAGE;
	o->policy.expect_rtmr[n] = o->rtmr[n];
	return EXIT_OK;
}

static int take_report_data(const struct cli_command *cmd, void *opts, const char *hex)
{
	struct verify_opts *o = opts;

	o->policy.expect_report_data = o->report_data;
	return parse_hex_exact(cmd, o->report_data, 64, hex, "--expect-report-data");
}

static int take_mrtd(const struct cli_command *cmd, void *opts, const char *hex)
{
	struct verify_opts *o = opts;

	o->policy.expect_mrtd = o->mrtd;
	return parse_hex_exact(cmd, o->mrtd, 48, hex, "--expect-mrtd");
}

static int take_expired(const struct cli_command *cmd, void *opts, const char *rule)
{
	struct verify_opts *o = opts;

	if (strcmp(rule, "reject") == 0)
		o->policy.expired = DCAP_EXPIRED_REJECT;
	else if (strcmp(rule, "untrusted") == 0)
		o->policy.expired = DCAP_EXPIRED_UNTRUSTED;
	else if (strcmp(rule, "allow") == 0)
		o->policy.expired = DCAP_EXPIRED_ALLOW;
	else
		return cli_usage_error(cmd, "--expired must be reject, untrusted or allow, got '%s'", rule);
	return EXIT_OK;
}

static const struct cli_opt verify_rows[] = {
	CLI_OPT_STRING(struct verify_opts, collateral, "collateral", 0, "FILE",
	               "collateral in dcap-qvl's JSON form (QuoteCollateralV3);\n"
	               "for simulator quotes `teeliza sim-root --collateral` makes it"),
	PCCS_CLI_ROWS(struct verify_opts, pccs),
	CLI_OPT_STRING(struct verify_opts, save_collateral, "save-collateral", 0, "F",
	               "write the fetched collateral to F (dcap-qvl JSON)"),
	CLI_OPT_U64(struct verify_opts, now, "now", 0, "UNIX", 0, INT64_MAX, "--now needs Unix seconds, got '%s'",
	            "verify at this time (Unix seconds; default: the clock)"),
	CLI_OPT_STRING(struct verify_opts, trust_root, "trust-root", 0, "PEM",
	               "also trust this root CA (e.g. `teeliza sim-root`'s);\n"
	               "without it, simulator quotes are rejected"),
	CLI_OPT_STRING(struct verify_opts, event_log, "event-log", 0, "FILE",
	               "the quote's event log (dstack's GetQuote answer or its\n"
	               "event_log, anything `teeliza replay` reads): it must\n"
	               "replay to the quote's RTMR3; then the app identity\n"
	               "is read from it and shown"),
	CLI_OPT_FLAG(struct verify_opts, json, "json", 0, "print the quote and the verdict as JSON"),
	CLI_OPT_TEXT("\nRA-TLS (instead of QUOTE; docs/VERIFY.md):"),
	CLI_OPT_STRING(struct verify_opts, ra_tls, "ra-tls", 0, "HOST:PORT",
	               "connect over TLS (no CA or name checked) and take the\n"
	               "server's certificate"),
	CLI_OPT_STRING(struct verify_opts, cert, "cert", 0, "FILE",
	               "an RA-TLS certificate, PEM or DER ('-': stdin); with\n"
	               "either, its quote (extension 1.3.6.1.4.1.62397.1.1)\n"
	               "must carry SHA-512(\"ratls-cert:\" || its public key's\n"
	               "SubjectPublicKeyInfo), then is verified as QUOTE is, with\n"
	               "the certificate's event log (1.2) unless --event-log is\n"
	               "given; its app id (1.3) must be the log's"),
	CLI_OPT_TEXT("\npolicy (defaults in brackets):"),
	CLI_OPT_CALL("accept", 0, "LIST", take_accept,
	             "acceptable TCB statuses, comma-separated [UpToDate,\n"
	             "SWHardeningNeeded,ConfigurationNeeded,\n"
	             "ConfigurationAndSWHardeningNeeded]; Revoked never is"),
	CLI_OPT_FLAG(struct verify_opts, policy.allow_debug, "allow-debug", 0,
	             "accept a DEBUG TD or debug enclave [no]"),
	CLI_OPT_UNFLAG(struct verify_opts, policy.require_sept_ve_disable, "allow-sept-ve", 0,
	               "accept a TD without SEPT_VE_DISABLE (td_attributes\n"
	               "bit 28) [no: such a TD lets the host see EPT violations]"),
	CLI_OPT_FLAG(struct verify_opts, policy.allow_service_td, "allow-service-td", 0,
	             "accept a non-zero mr_service_td (TD 1.5) [no]"),
	CLI_OPT_CALL("expired", 0, "RULE", take_expired,
	             "collateral past its nextUpdate: reject (fail) [reject],\n"
	             "untrusted (verify, then not trusted) or allow (flag only)"),
	/* these two labels are wider than the column: their text starts further right, together */
	{.name = "expect-report-data", .kind = CLI_CALL, .meta = "HEX", .call = take_report_data,
	 .label = "--expect-report-data HEX  ", .help = "the 64-byte report_data the quote must carry"},
	{.name = "expect-app-data", .kind = CLI_STRING, .offset = CLI_FIELD(struct verify_opts, app_data, const char *),
	 .meta = "JSON", .label = "--expect-app-data JSON    ",
	 .help = "report_data = SHA-512(\"app-data:\" || JSON), as the\n"
	         "Eliza TEE plugin quotes its attestation JSON"},
	CLI_OPT_CALL("expect-mrtd", 0, "HEX", take_mrtd, "the TD's MRTD (48 bytes)"),
	CLI_OPT_CALL("expect-rtmr", 0, "N=HEX", take_rtmr, "RTMR N (0-3) must equal HEX (48 bytes); repeatable"),
	CLI_OPT_TEXT("\napp identity (dstack; each needs --event-log, read from\n"
	             "the events before system-ready, docs/VERIFIABILITY.md):"),
	IDENTITY_CLI_ROWS(struct verify_opts, id),
	CLI_OPT_HELP,
	CLI_OPT_END,
};

static const struct cli_command verify_cmd = {
	.name = "verify",
	.usage = "usage: teeliza verify QUOTE [--collateral FILE | --pccs-url URL] [--now UNIX]\n"
	         "                      [--trust-root PEM] [--event-log FILE] [policy options] [--json]\n"
	         "       teeliza verify --ra-tls HOST:PORT | --cert FILE [the same options]\n"
	         "\n"
	         "Verify a DCAP quote (TDX v4/v5, SGX v3/v4) offline: certificate chains and CRLs\n"
	         "up to the Intel SGX Root CA (pinned by fingerprint), TCB Info and QE Identity\n"
	         "signatures, QE report, quote signature, TCB level and status as Intel's QVL\n"
	         "computes it, TDX module identity, then the policy. QUOTE is a file or '-' for\n"
	         "stdin, holding the quote as binary, hex or 0x-hex. docs/VERIFY.md explains\n"
	         "every check and default. With --event-log, the log must then replay to the\n"
	         "quote's RTMR3, and the dstack app identity it holds is shown and checked.\n"
	         "With --ra-tls or --cert, the quote is an RA-TLS certificate's, first checked\n"
	         "to bind the certificate's key.\n"
	         "\n"
	         "OFFLINE BY DEFAULT: nothing is fetched unless --pccs-url or PCCS_URL names a\n"
	         "PCCS. Then, without --collateral, the collateral comes from the cache while it\n"
	         "is fresh, else from that PCCS (and is cached); docs/COLLATERAL.md.\n"
	         "\n",
	.usage_end = "\n"
	             "exit codes: 0 trusted under the policy, 1 genuine but not trusted (status or\n"
	             "  policy), 2 a verification check failed (including simulator roots,\n"
	             "  expectations, an event log that does not replay to RTMR3 and app identity),\n"
	             "  3 bad input (unreadable quote or event log, malformed collateral),\n"
	             "  64 bad command line, 69 PCCS unreachable or (--ra-tls) no TLS handshake,\n"
	             "  74 a file could not be read\n",
	.opts = verify_rows,
	.col = 24,
};

/* Returns CLI_HELP_SHOWN after --help, else an exit code (EXIT_OK to go on). */
static int parse_opts(struct verify_opts *o, int argc, char **argv)
{
	int rc, first;

	memset(o, 0, sizeof(*o));
	dcap_policy_init(&o->policy);
	o->now = CLI_UNSET;
	rc = cli_parse(&verify_cmd, o, argc, argv, &first);
	if (rc != EXIT_OK)
		return rc;
	if (o->ra_tls != NULL && o->cert != NULL)
		return cli_usage_error(&verify_cmd, "give --ra-tls HOST:PORT or --cert FILE, not both");
	if ((o->ra_tls != NULL || o->cert != NULL) && argc - first != 0)
		return cli_usage_error(&verify_cmd, "--ra-tls and --cert take the quote from the certificate: give no QUOTE");
	if (o->ra_tls == NULL && o->cert == NULL && argc - first != 1)
		return cli_usage_error(&verify_cmd, "give exactly one QUOTE (a file, or - for stdin)");
	o->quote_path = first < argc ? argv[first] : "-";
	if (o->collateral != NULL && o->pccs.url != NULL)
		return cli_usage_error(&verify_cmd, "give --collateral FILE or --pccs-url URL, not both");
	if (o->collateral == NULL && pccs_cli_url(&o->pccs) == NULL)
		return cli_usage_error(&verify_cmd,
		                       "give --collateral FILE, or a PCCS with --pccs-url URL or PCCS_URL (offline is the\n"
		                       "default: nothing is fetched unless a PCCS is named)\n"
		                       "(a quote from teeliza's simulator: `teeliza sim-root --collateral > coll.json` and\n"
		                       "`teeliza sim-root > root.pem`, then --collateral coll.json --trust-root root.pem;\n"
		                       "add --state-dir DIR to sim-root when the simulator had one)");
	if (o->save_collateral != NULL && o->collateral != NULL)
		return cli_usage_error(&verify_cmd, "--save-collateral only goes with a PCCS (--pccs-url URL or PCCS_URL), not --collateral");
	if ((o->ra_tls != NULL || o->cert != NULL) && (o->app_data != NULL || o->policy.expect_report_data != NULL))
		return cli_usage_error(&verify_cmd, "an RA-TLS certificate's quote must carry SHA-512(\"ratls-cert:\" || its "
		                                    "key): --expect-report-data and --expect-app-data do not go with it");
	if (o->app_data != NULL && o->policy.expect_report_data != NULL)
		return cli_usage_error(&verify_cmd, "give --expect-report-data or --expect-app-data, not both");
	if (o->event_log != NULL && strcmp(o->event_log, "-") == 0 &&
	    (o->cert != NULL ? strcmp(o->cert, "-") == 0 : o->ra_tls == NULL && strcmp(o->quote_path, "-") == 0))
		return cli_usage_error(&verify_cmd, "QUOTE and --event-log cannot both be - (standard input)");
	/* (an RA-TLS certificate may carry the log: checked once it is read) */
	if (tee_identity_policy_any(&o->id.policy) && o->event_log == NULL && o->ra_tls == NULL && o->cert == NULL)
		return cli_usage_error(&verify_cmd, "the --expect-* app identity options need --event-log FILE: the "
		                                    "identity is read from the quote's event log");
	return EXIT_OK;
}

/* report_data as the Eliza TEE plugin has tappd compute it: SHA-512("app-data:" || JSON). */
static int app_data_report(uint8_t out[64], const char *json)
{
	EVP_MD_CTX *md = EVP_MD_CTX_new();
	unsigned int n = 64;
	int ok;

	ok = md != NULL && EVP_DigestInit_ex(md, EVP_sha512(), NULL) == 1 &&
	     EVP_DigestUpdate(md, "app-data:", 9) == 1 && EVP_DigestUpdate(md, json, strlen(json)) == 1 &&
	     EVP_DigestFinal_ex(md, out, &n) == 1;
	EVP_MD_CTX_free(md);
	if (!ok) {
		fprintf(stderr, "teeliza verify: SHA-512 failed\n");
		return EXIT_SOFTWARE;
	}
	return EXIT_OK;
}

/* Collateral through the cache and the PCCS of --pccs-url or PCCS_URL (pccs_opts.h). */
/* Parsed by dcap_collateral_obtain already: *coll, and its JSON for --save-collateral. */
static int collateral_from_pccs(dcap_collateral **coll, teeliza_buf *json, struct verify_opts *o,
                                const teeliza_buf *quote, int64_t now)
{
	dcap_pccs_config cfg;
	dcap_collateral_got got;
	teeliza_err err;
	int rc;

	teeliza_buf_init(json, VERIFY_MAX_INPUT);
	rc = pccs_cli_config(&cfg, &o->pccs, "verify", true);
	if (rc)
		return rc;
	err = dcap_collateral_obtain(coll, json, &got, &cfg, quote->data, quote->len, now, false);
	if (err) {
		teeliza_buf_free(json);
		return cli_fail("verify", err);
	}
	pccs_cli_report("verify", &got);
	return EXIT_OK;
}

static int load_collateral(dcap_collateral **out, struct verify_opts *o, const teeliza_buf *quote, int64_t now)
{
	teeliza_buf json;
	teeliza_err err;
	int rc;

	*out = NULL;
	if (o->collateral != NULL) {
		err = teeliza_read_file(&json, o->collateral, VERIFY_MAX_INPUT);
		if (err)
			return cli_fail("verify", err);
	} else {
		rc = collateral_from_pccs(out, &json, o, quote, now);
		if (!rc && o->save_collateral != NULL) {
			err = teeliza_write_file(o->save_collateral, json.data, json.len, 0644);
			if (err) {
				dcap_collateral_free(*out);
				*out = NULL;
				rc = cli_fail("verify", err);
			}
		}
		teeliza_buf_free(&json);
		return rc;
	}
	err = dcap_collateral_parse_json(out, (const char *)json.data, json.len);
	teeliza_buf_free(&json);
	if (err) {
		fprintf(stderr, "teeliza verify: bad collateral: %s\n", teeliza_errmsg());
		return EXIT_BAD_INPUT;
	}
	return EXIT_OK;
}

/* The header of a quote the full parser refused, so the user still sees what it claims to be. */
static void print_header_only(FILE *f, const teeliza_buf *quote)
{
	dcap_header h;
	char vendor[33];

	if (dcap_header_parse(&h, quote->data, quote->len) != TEELIZA_OK) {
		fprintf(f, "Quote: %zu bytes, too short for a header\n\n", quote->len);
		return;
	}
	teeliza_hex_encode(vendor, h.qe_vendor_id, 16);
	fprintf(f, "Quote header (%zu bytes; the rest could not be parsed)\n", quote->len);
	fprintf(f, "  %-18s %u\n  %-18s %u\n  %-18s 0x%08x\n  %-18s %s%s\n\n", "version", h.version, "att_key_type",
	        h.att_key_type, "tee_type", h.tee_type, "qe_vendor_id", vendor,
	        memcmp(h.qe_vendor_id, DCAP_INTEL_QE_VENDOR_ID, 16) == 0 ? " (Intel's QE ID, as the quote claims)"
	                                                                 : " (not Intel's QE ID)");
}

/* The event log's JSON text, out of anything `teeliza replay` reads. */
static int read_event_log(teeliza_buf *out, const char *path)
{
	teeliza_buf raw;
	teeliza_err err;

	teeliza_buf_init(out, 2 * VERIFY_MAX_INPUT + 64);
	if (path == NULL)
		return EXIT_OK;
	err = teeliza_read_file(&raw, strcmp(path, "-") == 0 ? "/dev/stdin" : path, VERIFY_MAX_INPUT);
	if (err)
		return cli_fail("verify", err);
	err = tee_event_log_input_text(out, (const char *)raw.data, raw.len);
	teeliza_buf_free(&raw);
	if (err) {
		fprintf(stderr, "teeliza verify: --event-log %s: %s\n", path, teeliza_errmsg());
		return EXIT_BAD_INPUT;
	}
	return EXIT_OK;
}

static int print_json(const dcap_result *r, const tee_app_identity *id, json_t *ra_tls)
{
	teeliza_buf text;
	json_t *obj, *quote = NULL;
	json_error_t e;
	char *out;
	int rc = EXIT_OK;

	teeliza_buf_init(&text, 1u << 20);
	if (dcap_result_to_json(&text, r) != TEELIZA_OK) {
		teeliza_buf_free(&text);
		return EXIT_SOFTWARE;
	}
	obj = json_loadb((const char *)text.data, text.len, 0, &e);
	teeliza_buf_free(&text);
	if (obj == NULL)
		return EXIT_SOFTWARE;
	if (r->quote_parsed && dcap_quote_to_json(&quote, &r->quote) != TEELIZA_OK)
		rc = EXIT_SOFTWARE;
	json_object_set_new(obj, "quote", quote != NULL ? quote : json_null());
	if (id != NULL)
		json_object_set_new(obj, "appIdentity", tee_app_identity_to_json(id));
	if (ra_tls != NULL)
		json_object_set_new(obj, "raTls", ra_tls);
	out = json_dumps(obj, JSON_INDENT(2) | JSON_PRESERVE_ORDER);
	json_decref(obj);
	if (out == NULL)
		return EXIT_SOFTWARE;
	printf("%s\n", out);
	free(out);
	return rc;
}

/*
 * The quote and the event log out of an RA-TLS certificate (the log only
 * when --event-log gave none), its binding checked; the quote must then
 * carry that report data, and the log's app-id be the certificate's.
 */
static int ratls_input(struct verify_ratls *r, teeliza_buf *quote, teeliza_buf *event_log, struct verify_opts *o)
{
	int rc = verify_ratls_load(r, quote, o->event_log == NULL ? event_log : NULL, o->ra_tls, o->cert, 0);

	if (rc)
		return rc;
	if (r->has_event_log)
		o->event_log = "(the certificate's)";
	if (tee_identity_policy_any(&o->id.policy) && o->event_log == NULL) {
		fprintf(stderr, "teeliza verify: the --expect-* app identity options need an event log: the certificate "
		                "has none (extension 1.3.6.1.4.1.62397.1.2); give --event-log FILE\n");
		return EXIT_USAGE;
	}
	o->policy.expect_report_data = r->report_data;
	if (r->has_app_id && o->id.policy.expect_app_id != NULL && memcmp(o->id.policy.expect_app_id, r->app_id, 20) != 0) {
		fprintf(stderr, "teeliza verify: the certificate's app id extension (1.3.6.1.4.1.62397.1.3) is not "
		                "--expect-app-id\n");
		return EXIT_VERIFY_FAIL;
	}
	if (r->has_app_id && o->event_log != NULL) {
		memcpy(o->id.app_id, r->app_id, 20);
		o->id.policy.expect_app_id = o->id.app_id;
	}
	return EXIT_OK;
}

static int exit_for(const dcap_result *r, teeliza_err identity_err)
{
	/* An event log that does not parse is bad input, like a quote that does not. */
	if (r->failure == DCAP_FAIL_EVENT_LOG && (identity_err == TEELIZA_ERR_PARSE || identity_err == TEELIZA_ERR_TOO_LARGE))
		return EXIT_BAD_INPUT;
	switch (r->verdict) {
	case DCAP_VERDICT_TRUSTED:
		return EXIT_OK;
	case DCAP_VERDICT_UNTRUSTED:
		return EXIT_UNTRUSTED;
	default:
		return r->failure == DCAP_FAIL_BAD_QUOTE || r->failure == DCAP_FAIL_BAD_COLLATERAL ? EXIT_BAD_INPUT
		                                                                                 : EXIT_VERIFY_FAIL;
	}
}

int verify_main(int argc, char **argv)
{
	struct verify_opts o;
	teeliza_buf quote = {0}, event_log = {0};
	tee_app_identity *id = NULL;
	teeliza_err ierr = TEELIZA_OK;
	bool id_read = false;
	dcap_collateral *coll = NULL;
	dcap_trust *trust = NULL;
	dcap_result *res = NULL;
	struct verify_ratls ratls;
	bool from_cert;
	int64_t now;
	int rc;

	rc = parse_opts(&o, argc, argv);
	if (rc != EXIT_OK)
		return rc == CLI_HELP_SHOWN ? EXIT_OK : rc;
	if (o.app_data != NULL) {
		rc = app_data_report(o.report_data, o.app_data);
		if (rc)
			return rc;
		o.policy.expect_report_data = o.report_data;
	}
	now = o.now == CLI_UNSET ? (int64_t)time(NULL) : (int64_t)o.now;
	from_cert = o.ra_tls != NULL || o.cert != NULL;
	rc = from_cert ? EXIT_OK : cli_read_quote(&quote, "verify", o.quote_path, VERIFY_MAX_INPUT);
	if (!rc)
		rc = read_event_log(&event_log, o.event_log);
	if (!rc && from_cert)
		rc = ratls_input(&ratls, &quote, &event_log, &o);
	if (!rc)
		rc = cli_load_trust(&trust, "verify", o.trust_root);
	if (!rc)
		rc = load_collateral(&coll, &o, &quote, now);
	if (!rc) {
		res = malloc(sizeof(*res));
		id = malloc(sizeof(*id));
		if (res == NULL || id == NULL)
			rc = EXIT_SOFTWARE;
	}
	if (!rc) {
		/* The verdict in res says everything; its error code is the same story. */
		teeliza_err verr = dcap_verify(res, quote.data, quote.len, coll, now, &o.policy, trust);

		(void)verr;
		/* Then the app identity: the event log must replay to the verified quote's RTMR3. */
		ierr = tee_verify_app_identity(res, id, &id_read, o.event_log == NULL ? NULL : event_log.data != NULL ? (const char *)event_log.data : "",
		                               event_log.len, &o.id.policy);
		if (o.json) {
			rc = print_json(res, id_read ? id : NULL, from_cert ? verify_ratls_json(&ratls) : NULL);
		} else {
			if (from_cert)
				verify_ratls_print(stdout, &ratls);
			if (res->quote_parsed) {
				dcap_quote_print(stdout, &res->quote);
				printf("\n");
			} else {
				print_header_only(stdout, &quote);
			}
			dcap_result_print(stdout, res);
			if (id_read) {
				printf("\n");
				tee_app_identity_print(stdout, id);
			}
		}
		if (!rc)
			rc = exit_for(res, ierr);
	}
	free(res);
	free(id);
	teeliza_buf_free(&event_log);
	dcap_collateral_free(coll);
	dcap_trust_free(trust);
	teeliza_buf_free(&quote);
	return rc;
}
