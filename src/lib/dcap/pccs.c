/*
 * Fetch collateral from a PCCS or Intel PCS (API v4) with libcurl and write
 * it in dcap-qvl's JSON form. libcurl is used directly rather than through
 * http_perform because the issuer chains come back in response headers,
 * which the shared client does not expose. The signed tcbInfo and
 * enclaveIdentity objects are cut out of the response bodies byte for byte:
 * re-serializing them would break their signatures.
 */
#include "dcap/verify_internal.h"

#include <assert.h>
#include <ctype.h>
#include <openssl/pem.h>
#include <curl/curl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "teeliza/common/encoding.h"

#define PCCS_MAX_BODY (8u << 20)
#define PCCS_MAX_HEADER 65536

typedef struct fetch {
	teeliza_buf body;
	const char *want_header[2]; /* header names to capture (case-insensitive) */
	teeliza_buf header;         /* the first of them present, raw (URL-encoded) */
	long status;
} fetch;

static size_t on_body(char *p, size_t size, size_t n, void *ud)
{
	fetch *f = ud;

	if (teeliza_buf_append(&f->body, p, size * n) != TEELIZA_OK)
		return 0;
	return size * n;
}

static size_t on_header(char *p, size_t size, size_t n, void *ud)
{
	fetch *f = ud;
	size_t len = size * n, i, name_len;
	const char *colon = memchr(p, ':', len);

	if (colon == NULL || f->header.len > 0)
		return len;
	name_len = (size_t)(colon - p);
	for (i = 0; i < 2; i++) {
		const char *w = f->want_header[i];

		if (w != NULL && strlen(w) == name_len && strncasecmp(p, w, name_len) == 0) {
			const char *v = colon + 1, *end = p + len;

			while (v < end && (*v == ' ' || *v == '\t'))
				v++;
			while (end > v && (end[-1] == '\r' || end[-1] == '\n' || end[-1] == ' '))
				end--;
			if (teeliza_buf_append(&f->header, v, (size_t)(end - v)) != TEELIZA_OK)
				return 0;
			break;
		}
	}
	return len;
}

static pthread_once_t curl_once = PTHREAD_ONCE_INIT;
static CURLcode curl_init_rc;

/* curl_easy_init would initialise libcurl lazily, which is not thread-safe. */
static void init_curl(void)
{
	curl_init_rc = curl_global_init(CURL_GLOBAL_DEFAULT);
}

static teeliza_err get(fetch *f, const char *url, const char *h1, const char *h2, long timeout_ms)
{
	CURL *c;
	char errbuf[CURL_ERROR_SIZE] = "";
	CURLcode rc;

	pthread_once(&curl_once, init_curl);
	c = curl_init_rc == CURLE_OK ? curl_easy_init() : NULL;
	teeliza_buf_init(&f->body, PCCS_MAX_BODY);
	teeliza_buf_init(&f->header, PCCS_MAX_HEADER);
	f->want_header[0] = h1;
	f->want_header[1] = h2;
	f->status = 0;
	if (c == NULL)
		return teeliza_set_error(TEELIZA_ERR_NOMEM, "cannot create a curl handle");
	curl_easy_setopt(c, CURLOPT_URL, url);
	curl_easy_setopt(c, CURLOPT_WRITEFUNCTION, on_body);
	curl_easy_setopt(c, CURLOPT_WRITEDATA, f);
	curl_easy_setopt(c, CURLOPT_HEADERFUNCTION, on_header);
	curl_easy_setopt(c, CURLOPT_HEADERDATA, f);
	curl_easy_setopt(c, CURLOPT_ERRORBUFFER, errbuf);
	curl_easy_setopt(c, CURLOPT_TIMEOUT_MS, timeout_ms);
	curl_easy_setopt(c, CURLOPT_NOSIGNAL, 1L);
	curl_easy_setopt(c, CURLOPT_FOLLOWLOCATION, 1L);
	curl_easy_setopt(c, CURLOPT_MAXREDIRS, 5L);
	curl_easy_setopt(c, CURLOPT_PROTOCOLS_STR, "http,https");
	curl_easy_setopt(c, CURLOPT_USERAGENT, "teeliza-verify/0.1");
	rc = curl_easy_perform(c);
	curl_easy_getinfo(c, CURLINFO_RESPONSE_CODE, &f->status);
	curl_easy_cleanup(c);
	if (rc == CURLE_OPERATION_TIMEDOUT)
		return teeliza_set_error(TEELIZA_ERR_TIMEOUT, "PCCS: %s timed out", url);
	if (rc == CURLE_WRITE_ERROR)
		return teeliza_set_error(TEELIZA_ERR_TOO_LARGE, "PCCS: %s: the response is too large", url);
	if (rc != CURLE_OK)
		return teeliza_set_error(TEELIZA_ERR_CONNECT, "PCCS: cannot fetch %s: %s", url,
		                         errbuf[0] ? errbuf : curl_easy_strerror(rc));
	if (f->status != 200)
		return teeliza_set_error(f->status == 404 ? TEELIZA_ERR_NOT_FOUND : TEELIZA_ERR_REMOTE,
		                         "PCCS: %s answered HTTP %ld", url, f->status);
	return TEELIZA_OK;
}

static void fetch_free(fetch *f)
{
	teeliza_buf_free(&f->body);
	teeliza_buf_free(&f->header);
}

/* Percent-decoding of an issuer-chain header into PEM text. */
static teeliza_err url_decode(teeliza_buf *out, const teeliza_buf *in, const char *what)
{
	size_t i;
	uint8_t b;
	size_t got;

	teeliza_buf_init(out, PCCS_MAX_HEADER);
	if (in->len == 0)
		return teeliza_set_error(TEELIZA_ERR_PROTOCOL, "PCCS: the %s response has no issuer chain header", what);
	for (i = 0; i < in->len; i++) {
		char c = (char)in->data[i];

		if (c == '%' && i + 2 < in->len) {
			if (teeliza_hex_decode(&b, 1, &got, (const char *)in->data + i + 1, 2, false) != TEELIZA_OK)
				return teeliza_set_error(TEELIZA_ERR_PROTOCOL, "PCCS: bad %%-escape in the %s issuer chain",
				                         what);
			i += 2;
		} else if (c == '%') {
			return teeliza_set_error(TEELIZA_ERR_PROTOCOL, "PCCS: truncated %%-escape in the %s issuer chain",
			                         what);
		} else {
			b = (uint8_t)(c == '+' ? ' ' : c);
		}
		if (teeliza_buf_append(out, &b, 1) != TEELIZA_OK)
			return teeliza_set_error(TEELIZA_ERR_TOO_LARGE, "PCCS: %s issuer chain too large", what);
	}
	return TEELIZA_OK;
}

/* Skip one JSON value starting at s[*i] (already validated by jansson), leaving *i after it. */
static void skip_value(const char *s, size_t len, size_t *i)
{
	size_t depth = 0;
	bool in_str = false;

	for (; *i < len; (*i)++) {
		char c = s[*i];

		if (in_str) {
			if (c == '\\')
				(*i)++;
			else if (c == '"') {
				in_str = false;
				if (depth == 0) {
					(*i)++;
					return;
				}
			}
			continue;
		}
		if (c == '"')
			in_str = true;
		else if (c == '{' || c == '[')
			depth++;
		else if (c == '}' || c == ']') {
			if (depth == 0)
				return;
			if (--depth == 0) {
				(*i)++;
				return;
			}
		} else if (depth == 0 && (c == ',' || isspace((unsigned char)c)))
			return;
	}
}

static void skip_ws(const char *s, size_t len, size_t *i)
{
	while (*i < len && isspace((unsigned char)s[*i]))
		(*i)++;
}

/*
 * The exact bytes of the value of top-level key `key` in a JSON object text.
 * The text must already have been validated (dcap_json_load) and the key
 * must be present exactly once there; keys are compared without escapes.
 */
static teeliza_err raw_member(const char **val, size_t *val_len, const char *s, size_t len, const char *key)
{
	size_t i = 0, klen = strlen(key);

	skip_ws(s, len, &i);
	if (i >= len || s[i] != '{')
		return teeliza_set_error(TEELIZA_ERR_PROTOCOL, "PCCS: response is not a JSON object");
	i++;
	for (;;) {
		size_t kstart, kend, vstart;

		skip_ws(s, len, &i);
		if (i >= len || s[i] != '"')
			break;
		kstart = i + 1;
		skip_value(s, len, &i);
		kend = i - 1;
		skip_ws(s, len, &i);
		if (i >= len || s[i] != ':')
			break;
		i++;
		skip_ws(s, len, &i);
		vstart = i;
		skip_value(s, len, &i);
		if (kend - kstart == klen && memcmp(s + kstart, key, klen) == 0) {
			*val = s + vstart;
			*val_len = i - vstart;
			return TEELIZA_OK;
		}
		skip_ws(s, len, &i);
		if (i < len && s[i] == ',')
			i++;
	}
	return teeliza_set_error(TEELIZA_ERR_PROTOCOL, "PCCS: response has no \"%s\" member", key);
}

/* {"<inner>": {...}, "signature": "<hex>"}: the inner object's exact text and the signature hex. */
static teeliza_err signed_body(json_t *out, const fetch *f, const char *inner, const char *text_key,
                               const char *sig_key, const char *what)
{
	json_t *doc;
	const char *raw = NULL, *sig;
	size_t raw_len = 0;
	teeliza_err err;

	err = dcap_json_load(&doc, (const char *)f->body.data, f->body.len, what);
	if (err)
		return err;
	if (!json_is_object(json_object_get(doc, inner))) {
		json_decref(doc);
		return teeliza_set_error(TEELIZA_ERR_PROTOCOL, "PCCS: the %s response has no \"%s\" object", what, inner);
	}
	err = dcap_json_string(&sig, doc, "signature", what);
	if (!err)
		err = raw_member(&raw, &raw_len, (const char *)f->body.data, f->body.len, inner);
	if (!err && (json_object_set_new(out, text_key, json_stringn(raw, raw_len)) != 0 ||
	             json_object_set_new(out, sig_key, json_string(sig)) != 0))
		err = teeliza_set_error(TEELIZA_ERR_NOMEM, "out of memory");
	json_decref(doc);
	return err;
}

static bool is_hex_text(const teeliza_buf *b)
{
	size_t i;

	for (i = 0; i < b->len; i++)
		if (!isxdigit(b->data[i]) && !isspace(b->data[i]))
			return false;
	return b->len > 0;
}

/* A CRL body as served: DER, hex of DER (PCCS rootcacrl) or PEM. Stored in out as hex. */
static teeliza_err crl_hex(json_t *out, const char *key, const fetch *f, const char *what)
{
	teeliza_buf der;
	X509_CRL *crl = NULL;
	char *hex;
	teeliza_err err = TEELIZA_OK;
	size_t n = f->body.len;

	teeliza_buf_init(&der, PCCS_MAX_BODY);
	if (n > 20 && memcmp(f->body.data, "-----BEGIN", 10) == 0) {
		BIO *bio = BIO_new_mem_buf(f->body.data, (int)n);
		unsigned char *p = NULL;
		int len;

		crl = bio != NULL ? PEM_read_bio_X509_CRL(bio, NULL, NULL, NULL) : NULL;
		BIO_free(bio);
		len = crl != NULL ? i2d_X509_CRL(crl, &p) : -1;
		if (len <= 0 || teeliza_buf_append(&der, p, (size_t)len) != TEELIZA_OK)
			err = teeliza_set_error(TEELIZA_ERR_PROTOCOL, "PCCS: the %s is not a PEM CRL", what);
		OPENSSL_free(p);
		X509_CRL_free(crl);
	} else if (is_hex_text(&f->body)) {
		size_t end = n;

		while (end > 0 && isspace(f->body.data[end - 1]))
			end--;
		if (teeliza_hex_decode_buf(&der, (const char *)f->body.data, end, false) != TEELIZA_OK)
			err = teeliza_set_error(TEELIZA_ERR_PROTOCOL, "PCCS: the %s is not hex", what);
	} else {
		err = teeliza_buf_append(&der, f->body.data, n);
	}
	if (!err) {
		err = dcap_der_crl(&crl, der.data, der.len, what);
		X509_CRL_free(crl);
	}
	if (!err) {
		hex = malloc(2 * der.len + 1);
		if (hex == NULL)
			err = teeliza_set_error(TEELIZA_ERR_NOMEM, "out of memory");
		else {
			teeliza_hex_encode(hex, der.data, der.len);
			if (json_object_set_new(out, key, json_string(hex)) != 0)
				err = teeliza_set_error(TEELIZA_ERR_NOMEM, "out of memory");
			free(hex);
		}
	}
	teeliza_buf_free(&der);
	return err;
}

static teeliza_err set_pem(json_t *out, const char *key, const fetch *f, const char *what)
{
	teeliza_buf pem;
	teeliza_err err = url_decode(&pem, &f->header, what);

	if (!err && json_object_set_new(out, key, json_stringn((const char *)pem.data, pem.len)) != 0)
		err = teeliza_set_error(TEELIZA_ERR_NOMEM, "out of memory");
	teeliza_buf_free(&pem);
	return err;
}

/* The root CA's CRL distribution point URL (for Intel PCS, which has no rootcacrl endpoint). */
static teeliza_err root_crl_url(char *out, size_t cap, const json_t *doc)
{
	const char *pem = json_string_value(json_object_get(doc, "qe_identity_issuer_chain"));
	STACK_OF(X509) *chain = NULL;
	STACK_OF(DIST_POINT) *dps;
	teeliza_err err;
	int i, j;

	err = dcap_pem_chain(&chain, pem, strlen(pem), "QE Identity issuer chain");
	if (err)
		return err;
	dps = X509_get_ext_d2i(sk_X509_value(chain, sk_X509_num(chain) - 1), NID_crl_distribution_points, NULL, NULL);
	err = teeliza_set_error(TEELIZA_ERR_PROTOCOL, "PCCS: the root certificate has no CRL distribution point");
	for (i = 0; dps != NULL && i < sk_DIST_POINT_num(dps) && err; i++) {
		DIST_POINT *dp = sk_DIST_POINT_value(dps, i);

		if (dp->distpoint == NULL || dp->distpoint->type != 0)
			continue;
		for (j = 0; j < sk_GENERAL_NAME_num(dp->distpoint->name.fullname); j++) {
			GENERAL_NAME *gn = sk_GENERAL_NAME_value(dp->distpoint->name.fullname, j);

			if (gn->type == GEN_URI) {
				snprintf(out, cap, "%.*s", ASN1_STRING_length(gn->d.uniformResourceIdentifier),
				         (const char *)ASN1_STRING_get0_data(gn->d.uniformResourceIdentifier));
				err = TEELIZA_OK;
				break;
			}
		}
	}
	sk_DIST_POINT_pop_free(dps, DIST_POINT_free);
	sk_X509_pop_free(chain, X509_free);
	return err;
}

typedef struct quote_facts {
	bool sgx;
	char fmspc[13];
	const char *ca;
} quote_facts;

static teeliza_err facts(quote_facts *qf, const uint8_t *quote, size_t quote_len)
{
	dcap_quote q;
	STACK_OF(X509) *chain = NULL;
	dcap_pck_ext ext;
	char cn[128] = "";
	size_t i;
	teeliza_err err;

	err = dcap_quote_parse(&q, quote, quote_len);
	if (!err)
		err = dcap_pem_chain_parse(&chain, q.cert_data, q.cert_data_len);
	if (!err)
		err = dcap_pck_ext_parse(&ext, sk_X509_value(chain, 0));
	if (err) {
		sk_X509_pop_free(chain, X509_free);
		return err;
	}
	X509_NAME_get_text_by_NID(X509_get_issuer_name(sk_X509_value(chain, 0)), NID_commonName, cn, (int)sizeof(cn));
	sk_X509_pop_free(chain, X509_free);
	qf->sgx = q.header.tee_type == DCAP_TEE_TYPE_SGX;
	for (i = 0; i < 6; i++)
		snprintf(qf->fmspc + 2 * i, 3, "%02X", ext.fmspc[i]);
	qf->ca = strstr(cn, "Platform") != NULL ? "platform" : "processor";
	return TEELIZA_OK;
}

static void base_of(char *out, size_t cap, const char *url)
{
	static const char *const suffixes[] = {"/sgx/certification/v4", "/tdx/certification/v4"};
	size_t n = strlen(url), i;

	while (n > 0 && url[n - 1] == '/')
		n--;
	for (i = 0; i < 2; i++) {
		size_t sl = strlen(suffixes[i]);

		if (n >= sl && memcmp(url + n - sl, suffixes[i], sl) == 0)
			n -= sl;
	}
	while (n > 0 && url[n - 1] == '/')
		n--;
	snprintf(out, cap, "%.*s", (int)n, url);
}

static teeliza_err fetch_all(json_t *doc, const char *base, const quote_facts *qf, long timeout_ms)
{
	const char *tee = qf->sgx ? "sgx" : "tdx";
	char url[2048];
	fetch f;
	teeliza_err err;

	snprintf(url, sizeof(url), "%s/sgx/certification/v4/pckcrl?ca=%s&encoding=der", base, qf->ca);
	err = get(&f, url, "SGX-PCK-CRL-Issuer-Chain", NULL, timeout_ms);
	if (!err)
		err = set_pem(doc, "pck_crl_issuer_chain", &f, "PCK CRL");
	if (!err)
		err = crl_hex(doc, "pck_crl", &f, "PCK CRL");
	fetch_free(&f);
	if (err)
		return err;

	snprintf(url, sizeof(url), "%s/%s/certification/v4/tcb?fmspc=%s", base, tee, qf->fmspc);
	err = get(&f, url, "TCB-Info-Issuer-Chain", "SGX-TCB-Info-Issuer-Chain", timeout_ms);
	if (!err)
		err = set_pem(doc, "tcb_info_issuer_chain", &f, "TCB Info");
	if (!err)
		err = signed_body(doc, &f, "tcbInfo", "tcb_info", "tcb_info_signature", "TCB Info");
	fetch_free(&f);
	if (err)
		return err;

	snprintf(url, sizeof(url), "%s/%s/certification/v4/qe/identity?update=standard", base, tee);
	err = get(&f, url, "SGX-Enclave-Identity-Issuer-Chain", NULL, timeout_ms);
	if (!err)
		err = set_pem(doc, "qe_identity_issuer_chain", &f, "QE Identity");
	if (!err)
		err = signed_body(doc, &f, "enclaveIdentity", "qe_identity", "qe_identity_signature", "QE Identity");
	fetch_free(&f);
	if (err)
		return err;

	/* A PCCS serves the root CA CRL itself; Intel PCS leaves it at the root's distribution point. */
	err = TEELIZA_ERR_NOT_FOUND;
	if (strncmp(base, DCAP_INTEL_PCS_URL, strlen(DCAP_INTEL_PCS_URL)) != 0) {
		snprintf(url, sizeof(url), "%s/sgx/certification/v4/rootcacrl", base);
		err = get(&f, url, NULL, NULL, timeout_ms);
		if (!err)
			err = crl_hex(doc, "root_ca_crl", &f, "root CA CRL");
		fetch_free(&f);
	}
	if (err) {
		err = root_crl_url(url, sizeof(url), doc);
		if (!err)
			err = get(&f, url, NULL, NULL, timeout_ms);
		if (!err)
			err = crl_hex(doc, "root_ca_crl", &f, "root CA CRL");
		fetch_free(&f);
	}
	return err;
}

teeliza_err dcap_pccs_fetch(teeliza_buf *json_out, const char *base_url, const uint8_t *quote, size_t quote_len,
                            long timeout_ms)
{
	quote_facts qf;
	char base[1024];
	json_t *doc;
	char *text;
	teeliza_err err;

	assert(json_out != NULL && base_url != NULL);
	err = facts(&qf, quote, quote_len);
	if (err) {
		char detail[400];

		snprintf(detail, sizeof(detail), "%s", teeliza_errmsg());
		return teeliza_set_error(err, "cannot find the FMSPC to fetch collateral for: %s", detail);
	}
	base_of(base, sizeof(base), base_url);
	doc = json_object();
	if (doc == NULL)
		return teeliza_set_error(TEELIZA_ERR_NOMEM, "out of memory");
	err = fetch_all(doc, base, &qf, timeout_ms > 0 ? timeout_ms : 30000);
	if (!err) {
		text = json_dumps(doc, JSON_INDENT(2) | JSON_PRESERVE_ORDER);
		err = text == NULL ? teeliza_set_error(TEELIZA_ERR_NOMEM, "out of memory")
		                   : teeliza_buf_append_str(json_out, text);
		free(text);
	}
	json_decref(doc);
	return err;
}
