/*
 * POST /verify: any DCAP quote, pasted as hex (raw text or JSON
 * {"quote":"0x…","collateral":{…},"now":…}) or sent as bytes, verified by
 * teeliza's C verifier; the answer is the verdict JSON of `teeliza verify
 * --json` plus where it is rooted. Quotes of this agent's own simulator are
 * verified against the simulator's collateral and trusted as a simulator
 * root, labelled so that nobody takes them for Intel's.
 */
#include "agent/api_internal.h"
#include "teeliza/dcap_verify.h"
#include "teeliza/encoding.h"
#include "teeliza/metrics.h"
#include "teeliza/simulator.h"

#include <ctype.h>
#include <openssl/evp.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>

/* Largest /verify body, whatever EXPRESS_MAX_PAYLOAD allows the other routes. */
#define VERIFY_MAX_BODY ((size_t)1 << 20)
#define VERIFY_JSON_MAX ((size_t)4 << 20)
#define SIM_COLL_DAY 86400
/* The simulator's collateral is valid from made - 1 day to made + 30 days; renew well before either edge. */
#define SIM_COLL_REUSE_BEFORE (29 * SIM_COLL_DAY)

struct api_verifier {
	const tee_sim_pki *pki;        /* NULL: no simulator */
	dcap_trust *trust;             /* Intel, and the simulator root when there is one */
	char *sim_root_b64;            /* the simulator root's base64, whitespace removed */
	uint8_t sim_root_sha256[32];
	pthread_mutex_t lock;          /* sim_coll, sim_coll_made */
	dcap_collateral *sim_coll;
	int64_t sim_coll_made;
};

/* s without whitespace, malloc'd. */
static char *strip_space(const char *s, size_t n)
{
	char *out = malloc(n + 1);
	size_t i, o = 0;

	if (out == NULL)
		return NULL;
	for (i = 0; i < n; i++)
		if (!isspace((unsigned char)s[i]) && s[i] != 0)
			out[o++] = s[i];
	out[o] = 0;
	return out;
}

/* The base64 body of the first certificate of a PEM text (no whitespace), and the SHA-256 of its DER. */
static teeliza_err pem_cert_body(char **b64, uint8_t sha[32], const char *pem, size_t pem_len)
{
	static const char begin[] = "-----BEGIN CERTIFICATE-----", end[] = "-----END CERTIFICATE-----";
	const char *b = memmem(pem, pem_len, begin, sizeof(begin) - 1), *e;
	teeliza_buf der;
	teeliza_err err;

	*b64 = NULL;
	if (b == NULL)
		return teeliza_set_error(TEELIZA_ERR_PARSE, "simulator root: no PEM certificate");
	b += sizeof(begin) - 1;
	e = memmem(b, pem_len - (size_t)(b - pem), end, sizeof(end) - 1);
	if (e == NULL)
		return teeliza_set_error(TEELIZA_ERR_PARSE, "simulator root: unterminated PEM certificate");
	*b64 = strip_space(b, (size_t)(e - b));
	if (*b64 == NULL)
		return teeliza_set_error(TEELIZA_ERR_NOMEM, "out of memory");
	teeliza_buf_init(&der, pem_len);
	err = teeliza_base64_decode_buf(&der, *b64, strlen(*b64));
	if (!err && EVP_Digest(der.data, der.len, sha, NULL, EVP_sha256(), NULL) != 1)
		err = teeliza_set_error(TEELIZA_ERR_CRYPTO, "SHA-256 failed");
	teeliza_buf_free(&der);
	if (err) {
		free(*b64);
		*b64 = NULL;
	}
	return err;
}

void api_verifier_free(api_verifier *v)
{
	if (v == NULL)
		return;
	dcap_collateral_free(v->sim_coll);
	dcap_trust_free(v->trust);
	free(v->sim_root_b64);
	pthread_mutex_destroy(&v->lock);
	free(v);
}

teeliza_err api_verifier_new(api_verifier **out, const struct tee_sim_pki *sim_pki)
{
	api_verifier *v;
	teeliza_buf pem;
	teeliza_err err;

	*out = NULL;
	v = calloc(1, sizeof(*v));
	if (v == NULL)
		return teeliza_set_error(TEELIZA_ERR_NOMEM, "out of memory");
	if (pthread_mutex_init(&v->lock, NULL) != 0) {
		free(v);
		return teeliza_set_error(TEELIZA_ERR_NOMEM, "cannot create a mutex");
	}
	v->pki = sim_pki;
	err = dcap_trust_new(&v->trust, true);
	if (!err && sim_pki != NULL) {
		err = tee_sim_pki_root_pem(&pem, sim_pki);
		if (!err) {
			err = dcap_trust_add_pem(v->trust, (const char *)pem.data, pem.len);
			if (!err)
				err = pem_cert_body(&v->sim_root_b64, v->sim_root_sha256, (const char *)pem.data, pem.len);
			teeliza_buf_free(&pem);
		}
	}
	if (err) {
		api_verifier_free(v);
		return err;
	}
	*out = v;
	return TEELIZA_OK;
}

/* Does the quote's PEM chain hold this simulator's root certificate? */
static bool chains_to_simulator(const api_verifier *v, const dcap_quote *q)
{
	char *chain;
	bool found;

	if (v->sim_root_b64 == NULL || q->cert_type != 5 || q->cert_data == NULL || v->sim_root_b64[0] == 0)
		return false;
	chain = strip_space((const char *)q->cert_data, q->cert_data_len);
	found = chain != NULL && strstr(chain, v->sim_root_b64) != NULL;
	free(chain);
	return found;
}

/* The simulator's collateral for verifying at now: kept while it stays valid. Out: a new reference. */
static teeliza_err sim_collateral(dcap_collateral **out, api_verifier *v, int64_t now)
{
	teeliza_buf json;
	teeliza_err err = TEELIZA_OK;

	*out = NULL;
	pthread_mutex_lock(&v->lock);
	if (v->sim_coll == NULL || now < v->sim_coll_made || now - v->sim_coll_made > SIM_COLL_REUSE_BEFORE) {
		err = tee_sim_collateral_json(&json, v->pki, now);
		if (!err) {
			dcap_collateral_free(v->sim_coll);
			v->sim_coll = NULL;
			err = dcap_collateral_parse_json(&v->sim_coll, (const char *)json.data, json.len);
			teeliza_buf_free(&json);
			v->sim_coll_made = now;
		}
	}
	if (!err)
		*out = dcap_collateral_ref(v->sim_coll);
	pthread_mutex_unlock(&v->lock);
	return err;
}

static const char *rooted_in(const api_verifier *v, const dcap_result *res)
{
	if (res->verdict == DCAP_VERDICT_FAILED)
		return NULL;
	if (res->intel_root)
		return "intel";
	if (v->sim_root_b64 != NULL && memcmp(res->root_sha256, v->sim_root_sha256, 32) == 0)
		return "simulator";
	return NULL;
}

/* One line for people: what the verdict means. */
static void verdict_label(char *out, size_t out_len, const char *root, const dcap_result *res)
{
	const char *who = root == NULL ? "" : strcmp(root, "intel") == 0 ? "Intel-rooted" : "Simulator-rooted (NOT Intel)";

	if (res->verdict == DCAP_VERDICT_TRUSTED)
		snprintf(out, out_len, "%s: trusted, TCB %s", who, dcap_tcb_status_name(res->status));
	else if (res->verdict == DCAP_VERDICT_UNTRUSTED)
		snprintf(out, out_len, "%s: genuine but untrusted: %s", who, res->reason);
	else
		snprintf(out, out_len, "Failed (%s): %s", dcap_failure_name(res->failure), res->reason);
}

/* The verdict as `teeliza verify --json` prints it, plus rootedIn, label and collateralSource. */
static teeliza_err verdict_json(json_t **out, const api_verifier *v, const dcap_result *res, const char *coll_source)
{
	char label[800];
	const char *root = rooted_in(v, res);
	teeliza_buf text;
	json_t *obj, *quote = NULL;
	teeliza_err err;

	*out = NULL;
	teeliza_buf_init(&text, VERIFY_JSON_MAX);
	err = dcap_result_to_json(&text, res);
	obj = err ? NULL : json_loadb((const char *)text.data, text.len, 0, NULL);
	teeliza_buf_free(&text);
	if (obj == NULL)
		return err ? err : teeliza_set_error(TEELIZA_ERR_INTERNAL, "the verdict is not JSON");
	if (res->quote_parsed && dcap_quote_to_json(&quote, &res->quote) != TEELIZA_OK) {
		json_decref(obj);
		return teeliza_set_error(TEELIZA_ERR_NOMEM, "out of memory");
	}
	verdict_label(label, sizeof(label), root, res);
	json_object_set_new(obj, "quote", quote != NULL ? quote : json_null());
	json_object_set_new(obj, "rootedIn", root != NULL ? json_string(root) : json_null());
	json_object_set_new(obj, "label", json_string(label));
	json_object_set_new(obj, "collateralSource", coll_source != NULL ? json_string(coll_source) : json_null());
	*out = obj;
	return TEELIZA_OK;
}

teeliza_err api_verify_quote(json_t **out, unsigned *status, api_verifier *v, const uint8_t *quote, size_t quote_len,
                             const char *collateral_json, size_t collateral_len, int64_t now)
{
	dcap_collateral *coll = NULL;
	const char *source = NULL;
	dcap_result *res;
	dcap_quote q;
	teeliza_err perr, err;
	char msg[700];

	*out = NULL;
	*status = 500;
	teeliza_metrics_count_verification();
	perr = dcap_quote_parse(&q, quote, quote_len);
	if (perr == TEELIZA_ERR_TRUNCATED || quote_len < DCAP_HEADER_LEN) {
		*status = 400;
		snprintf(msg, sizeof(msg), "truncated quote (%zu bytes): %s", quote_len, teeliza_errmsg());
		*out = json_pack("{s:s}", "error", msg);
		return *out != NULL ? TEELIZA_OK : teeliza_set_error(TEELIZA_ERR_NOMEM, "out of memory");
	}
	res = calloc(1, sizeof(*res));
	if (res == NULL)
		return teeliza_set_error(TEELIZA_ERR_NOMEM, "out of memory");
	if (collateral_json != NULL) {
		err = dcap_collateral_parse_json(&coll, collateral_json, collateral_len);
		if (err) {
			free(res);
			*status = 400;
			snprintf(msg, sizeof(msg), "bad collateral: %s", teeliza_errmsg());
			*out = json_pack("{s:s}", "error", msg);
			return *out != NULL ? TEELIZA_OK : teeliza_set_error(TEELIZA_ERR_NOMEM, "out of memory");
		}
		source = "request";
	} else if (perr == TEELIZA_OK && v->pki != NULL && chains_to_simulator(v, &q)) {
		err = sim_collateral(&coll, v, now);
		if (err) {
			free(res);
			return err;
		}
		source = "simulator";
	}
	if (coll != NULL) {
		/* The verdict in res is the answer; the error code says the same. */
		err = dcap_verify(res, quote, quote_len, coll, now, NULL, v->trust);
		(void)err;
	} else if (perr != TEELIZA_OK) {
		/* A quote that does not parse fails before any collateral would be read. */
		res->verdict = DCAP_VERDICT_FAILED;
		res->failure = DCAP_FAIL_BAD_QUOTE;
		snprintf(res->reason, sizeof(res->reason), "%s", teeliza_errmsg());
		res->report_data_match = res->mrtd_match = -1;
		res->rtmr_match[0] = res->rtmr_match[1] = res->rtmr_match[2] = res->rtmr_match[3] = -1;
	} else {
		err = dcap_quote_to_json(out, &q);
		free(res);
		if (err)
			return err;
		*status = 422;
		*out = json_pack("{s:s, s:o}", "error",
		                 "collateral needed: this quote does not chain to this agent's simulator; send "
		                 "{\"quote\":\"…\",\"collateral\":{…}} with dcap-qvl QuoteCollateralV3 JSON (teeliza verify "
		                 "--save-collateral writes it)",
		                 "quote", *out);
		return *out != NULL ? TEELIZA_OK : teeliza_set_error(TEELIZA_ERR_NOMEM, "out of memory");
	}
	err = verdict_json(out, v, res, source);
	dcap_collateral_free(coll);
	free(res);
	if (!err)
		*status = 200;
	return err;
}

/* Decode hex text (optional 0x, surrounding whitespace) into out; a 400 message in why on failure. */
static bool decode_hex_quote(teeliza_buf *out, char *why, size_t why_len, const char *s, size_t n)
{
	size_t i;

	while (n > 0 && isspace((unsigned char)*s)) {
		s++;
		n--;
	}
	while (n > 0 && isspace((unsigned char)s[n - 1]))
		n--;
	if (n >= 2 && s[0] == '0' && (s[1] == 'x' || s[1] == 'X')) {
		s += 2;
		n -= 2;
	}
	if (n == 0) {
		snprintf(why, why_len, "no quote given: send the quote as hex");
		return false;
	}
	for (i = 0; i < n; i++)
		if (teeliza_hex_nibble(s[i]) < 0) {
			if ((unsigned char)s[i] >= 0x20 && (unsigned char)s[i] < 0x7f)
				snprintf(why, why_len, "the quote is not hex: '%c' at offset %zu", s[i], i);
			else
				snprintf(why, why_len, "the quote is not hex: byte 0x%02x at offset %zu", (unsigned char)s[i], i);
			return false;
		}
	if (n % 2 != 0) {
		snprintf(why, why_len, "the quote is not hex: odd number of digits (%zu)", n);
		return false;
	}
	if (teeliza_hex_decode_buf(out, s, n, false) != TEELIZA_OK) {
		snprintf(why, why_len, "the quote is not hex: %s", teeliza_errmsg());
		return false;
	}
	return true;
}

void api_route_verify(http_server_reply *reply, agent_api *api, const api_request *r)
{
	const http_server_request *h = r->http;
	const json_t *jq = NULL, *jc = NULL, *jn = NULL;
	char why[200], *coll_text = NULL;
	const char *coll = NULL;
	size_t coll_len = 0;
	teeliza_buf quote;
	int64_t now = (int64_t)time(NULL);
	unsigned status;
	json_t *out;
	bool is_json = strncasecmp(h->content_type, "application/json", 16) == 0;
	bool is_binary = strncasecmp(h->content_type, "application/octet-stream", 24) == 0;

	if (h->body_len > VERIFY_MAX_BODY) {
		api_reply_error(reply, 413, "the body is larger than 1 MiB; a quote is at most a few KiB");
		return;
	}
	if (is_json) {
		if (r->body == NULL) {
			api_reply_error(reply, r->body_status, r->body_error);
			return;
		}
		jq = json_object_get(r->body, "quote");
		jc = json_object_get(r->body, "collateral");
		jn = json_object_get(r->body, "now");
		if (!json_is_string(jq)) {
			api_reply_error(reply, 400, "\"quote\" must be the quote as a hex string");
			return;
		}
		if (jn != NULL && !json_is_null(jn) && (!json_is_integer(jn) || json_integer_value(jn) < 0)) {
			api_reply_error(reply, 400, "\"now\" must be Unix seconds");
			return;
		}
		if (json_is_integer(jn))
			now = (int64_t)json_integer_value(jn);
		if (json_is_string(jc)) {
			coll = json_string_value(jc);
			coll_len = json_string_length(jc);
		} else if (json_is_object(jc)) {
			/* Re-serialising keeps the signed tcb_info / qe_identity strings byte for byte. */
			coll_text = json_dumps(jc, JSON_COMPACT | JSON_PRESERVE_ORDER);
			if (coll_text == NULL) {
				api_reply_error(reply, 500, "out of memory");
				return;
			}
			coll = coll_text;
			coll_len = strlen(coll_text);
		} else if (jc != NULL && !json_is_null(jc)) {
			api_reply_error(reply, 400, "\"collateral\" must be dcap-qvl QuoteCollateralV3 JSON (object or string)");
			return;
		}
	}
	teeliza_buf_init(&quote, VERIFY_MAX_BODY);
	if (is_binary) {
		if (teeliza_buf_append(&quote, h->body, h->body_len) != TEELIZA_OK) {
			free(coll_text);
			api_reply_error(reply, 500, "out of memory");
			return;
		}
	} else if (!decode_hex_quote(&quote, why, sizeof(why), is_json ? json_string_value(jq) : (const char *)h->body,
	                             is_json ? json_string_length(jq) : h->body_len)) {
		free(coll_text);
		teeliza_buf_free(&quote);
		api_reply_error(reply, 400, why);
		return;
	}
	if (api_verify_quote(&out, &status, api->verifier, quote.data, quote.len, coll, coll_len, now) != TEELIZA_OK)
		api_reply_error(reply, 500, teeliza_errmsg());
	else
		api_reply_json(reply, status, out);
	free(coll_text);
	teeliza_buf_free(&quote);
}
