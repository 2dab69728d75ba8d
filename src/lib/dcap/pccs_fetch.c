/*
 * Fetch collateral from a PCCS or Intel PCS (API v4) with libcurl and write
 * it in dcap-qvl's JSON form. libcurl is used directly rather than through
 * http_perform because the issuer chains come back in response headers,
 * which the shared client does not expose, and because redirects are
 * followed here by hand: only to the same scheme, host and port, so a
 * PCCS cannot send the client elsewhere. Endpoints and headers as dcap-qvl
 * (src/collateral.rs) and Intel's PCS v4 documentation name them.
 */
#include "dcap/pccs_internal.h"
#include "dcap/verify_internal.h"

#include <arpa/inet.h>
#include <assert.h>
#include <curl/curl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "teeliza/common/encoding.h"

typedef struct fetch {
	teeliza_buf body;
	const char *want_header[2]; /* header names to capture (case-insensitive) */
	teeliza_buf header;         /* the first of them present, raw (URL-encoded) */
	bool header_too_large;
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

	if (len >= 5 && memcmp(p, "HTTP/", 5) == 0) {
		/* A new response (after a 100 Continue, say): only its own headers count. */
		teeliza_buf_reset(&f->header);
		return len;
	}
	if (colon == NULL || f->header.len > 0)
		return len;
	name_len = (size_t)(colon - p);
	for (i = 0; i < 2; i++) {
		const char *w = f->want_header[i];

		if (w != NULL && strlen(w) == name_len && strncasecmp(p, w, name_len) == 0) {
			const char *v = colon + 1, *end = p + len;

			while (v < end && (*v == ' ' || *v == '\t'))
				v++;
			while (end > v && (end[-1] == '\r' || end[-1] == '\n' || end[-1] == ' ' || end[-1] == '\t'))
				end--;
			if (teeliza_buf_append(&f->header, v, (size_t)(end - v)) != TEELIZA_OK) {
				f->header_too_large = true;
				return 0;
			}
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

/* Scheme, host and port of url (port defaulted by scheme). */
typedef struct origin {
	char scheme[8];
	char host[256];
	char port[8];
} origin;

static teeliza_err origin_of(origin *o, const char *url)
{
	CURLU *u = curl_url();
	char *scheme = NULL, *host = NULL, *port = NULL, *user = NULL, *pass = NULL;
	teeliza_err err = TEELIZA_OK;

	memset(o, 0, sizeof(*o));
	if (u == NULL)
		return teeliza_set_error(TEELIZA_ERR_NOMEM, "out of memory");
	if (curl_url_set(u, CURLUPART_URL, url, 0) != CURLUE_OK ||
	    curl_url_get(u, CURLUPART_SCHEME, &scheme, 0) != CURLUE_OK ||
	    curl_url_get(u, CURLUPART_HOST, &host, 0) != CURLUE_OK ||
	    curl_url_get(u, CURLUPART_PORT, &port, CURLU_DEFAULT_PORT) != CURLUE_OK || host[0] == '\0') {
		err = teeliza_set_error(TEELIZA_ERR_INVALID, "not a URL with a host: %s", url);
	} else if (strcasecmp(scheme, "http") != 0 && strcasecmp(scheme, "https") != 0) {
		err = teeliza_set_error(TEELIZA_ERR_INVALID, "only http and https URLs are fetched, not %s", url);
	} else if (curl_url_get(u, CURLUPART_USER, &user, 0) == CURLUE_OK ||
	           curl_url_get(u, CURLUPART_PASSWORD, &pass, 0) == CURLUE_OK) {
		err = teeliza_set_error(TEELIZA_ERR_INVALID, "a PCCS URL carries no user name or password");
	} else if (strlen(host) >= sizeof(o->host) || strlen(port) >= sizeof(o->port)) {
		err = teeliza_set_error(TEELIZA_ERR_INVALID, "the host name is too long: %s", url);
	} else {
		snprintf(o->scheme, sizeof(o->scheme), "%s", scheme);
		snprintf(o->host, sizeof(o->host), "%s", host);
		snprintf(o->port, sizeof(o->port), "%s", port);
	}
	curl_free(scheme);
	curl_free(host);
	curl_free(port);
	curl_free(user);
	curl_free(pass);
	curl_url_cleanup(u);
	return err;
}

static bool same_origin(const origin *a, const origin *b)
{
	return strcasecmp(a->scheme, b->scheme) == 0 && strcasecmp(a->host, b->host) == 0 &&
	       strcmp(a->port, b->port) == 0;
}

/* 127.0.0.0/8, ::1 or localhost (which libcurl resolves to loopback itself). */
static bool is_loopback(const char *host)
{
	struct in_addr a4;
	struct in6_addr a6;
	char v6[64];
	size_t n = strlen(host);

	if (strcasecmp(host, "localhost") == 0)
		return true;
	if (inet_pton(AF_INET, host, &a4) == 1)
		return (ntohl(a4.s_addr) >> 24) == 127;
	if (n > 2 && n < sizeof(v6) + 2 && host[0] == '[' && host[n - 1] == ']') {
		memcpy(v6, host + 1, n - 2);
		v6[n - 2] = '\0';
		return inet_pton(AF_INET6, v6, &a6) == 1 && IN6_IS_ADDR_LOOPBACK(&a6);
	}
	return false;
}

teeliza_err dcap_pccs_check_url(bool *insecure, const char *url, bool allow_http)
{
	origin o;
	teeliza_err err;

	if (insecure != NULL)
		*insecure = false;
	assert(url != NULL);
	err = origin_of(&o, url);
	if (err)
		return err;
	if (strcasecmp(o.scheme, "http") == 0 && !is_loopback(o.host)) {
		if (!allow_http)
			return teeliza_set_error(TEELIZA_ERR_CONFIG,
			                         "refusing plain http to %s: a PCCS is reached over https (http only on "
			                         "loopback); --pccs-allow-http overrides this",
			                         o.host);
		if (insecure != NULL)
			*insecure = true;
	}
	return TEELIZA_OK;
}

static void fetch_free(fetch *f)
{
	teeliza_buf_free(&f->body);
	teeliza_buf_free(&f->header);
}

/* One GET, without following redirects. *location: where a 3xx points (curl_free), else NULL. */
static teeliza_err get_once(fetch *f, char **location, const char *url, long timeout_ms)
{
	CURL *c;
	char errbuf[CURL_ERROR_SIZE] = "";
	char *redirect = NULL;
	CURLcode rc;

	*location = NULL;
	pthread_once(&curl_once, init_curl);
	c = curl_init_rc == CURLE_OK ? curl_easy_init() : NULL;
	teeliza_buf_reset(&f->body);
	teeliza_buf_reset(&f->header);
	f->header_too_large = false;
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
	curl_easy_setopt(c, CURLOPT_CONNECTTIMEOUT_MS, timeout_ms < 10000 ? timeout_ms : 10000L);
	curl_easy_setopt(c, CURLOPT_NOSIGNAL, 1L);
	curl_easy_setopt(c, CURLOPT_FOLLOWLOCATION, 0L);
	curl_easy_setopt(c, CURLOPT_MAXFILESIZE_LARGE, (curl_off_t)PCCS_MAX_BODY);
	curl_easy_setopt(c, CURLOPT_PROTOCOLS_STR, "http,https");
	curl_easy_setopt(c, CURLOPT_USERAGENT, "teeliza-verify/0.1");
	rc = curl_easy_perform(c);
	curl_easy_getinfo(c, CURLINFO_RESPONSE_CODE, &f->status);
	if (rc == CURLE_OK && f->status >= 300 && f->status < 400 &&
	    curl_easy_getinfo(c, CURLINFO_REDIRECT_URL, &redirect) == CURLE_OK && redirect != NULL) {
		*location = strdup(redirect);
		if (*location == NULL)
			rc = CURLE_OUT_OF_MEMORY;
	}
	curl_easy_cleanup(c);
	if (rc == CURLE_OPERATION_TIMEDOUT)
		return teeliza_set_error(TEELIZA_ERR_TIMEOUT, "PCCS: %s timed out", url);
	if (rc == CURLE_FILESIZE_EXCEEDED || (rc == CURLE_WRITE_ERROR && !f->header_too_large))
		return teeliza_set_error(TEELIZA_ERR_TOO_LARGE, "PCCS: %s: the response is larger than %zu bytes", url,
		                         PCCS_MAX_BODY);
	if (rc == CURLE_WRITE_ERROR)
		return teeliza_set_error(TEELIZA_ERR_TOO_LARGE, "PCCS: %s: an issuer chain header is larger than %zu bytes",
		                         url, PCCS_MAX_HEADER);
	if (rc != CURLE_OK)
		return teeliza_set_error(TEELIZA_ERR_CONNECT, "PCCS: cannot fetch %s: %s", url,
		                         errbuf[0] ? errbuf : curl_easy_strerror(rc));
	return TEELIZA_OK;
}

/* GET url; a redirect is followed only to the same scheme, host and port, at most PCCS_MAX_REDIRECTS times. */
static teeliza_err get(fetch *f, const char *url, const char *h1, const char *h2, long timeout_ms)
{
	origin first, next;
	char *where = NULL, *loc = NULL;
	teeliza_err err;
	int hops;

	teeliza_buf_init(&f->body, PCCS_MAX_BODY);
	teeliza_buf_init(&f->header, PCCS_MAX_HEADER);
	f->want_header[0] = h1;
	f->want_header[1] = h2;
	err = origin_of(&first, url);
	if (err)
		return err;
	for (hops = 0;; hops++) {
		err = get_once(f, &loc, where != NULL ? where : url, timeout_ms);
		if (err || loc == NULL)
			break;
		if (hops == PCCS_MAX_REDIRECTS) {
			err = teeliza_set_error(TEELIZA_ERR_PROTOCOL, "PCCS: %s: more than %d redirects", url,
			                        PCCS_MAX_REDIRECTS);
			break;
		}
		if (origin_of(&next, loc) != TEELIZA_OK || !same_origin(&first, &next)) {
			err = teeliza_set_error(TEELIZA_ERR_PROTOCOL,
			                        "PCCS: %s redirects to another host (%.200s): refused", url, loc);
			break;
		}
		free(where);
		where = loc;
		loc = NULL;
	}
	free(where);
	free(loc);
	if (err)
		return err;
	if (f->status != 200)
		return teeliza_set_error(f->status == 404 ? TEELIZA_ERR_NOT_FOUND : TEELIZA_ERR_REMOTE,
		                         "PCCS: %s answered HTTP %ld", url, f->status);
	return TEELIZA_OK;
}

static teeliza_err set_pem(json_t *out, const char *key, const fetch *f, const char *what)
{
	teeliza_buf pem;
	teeliza_err err = pccs_header_pem(&pem, f->header.data, f->header.len, what);

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

/* Each certificate signed by the next, the last Intel's root (by fingerprint) and self-signed. */
static bool intel_signed(STACK_OF(X509) *chain)
{
	int i, n = sk_X509_num(chain);
	uint8_t fp[32];
	unsigned int fplen = sizeof(fp);
	X509 *top;

	if (n < 2)
		return false;
	top = sk_X509_value(chain, n - 1);
	if (X509_digest(top, EVP_sha256(), fp, &fplen) != 1 || fplen != 32 || memcmp(fp, DCAP_INTEL_ROOT_SHA256, 32) != 0)
		return false;
	for (i = 0; i < n; i++) {
		X509 *issuer = sk_X509_value(chain, i + 1 < n ? i + 1 : i);
		EVP_PKEY *key = X509_get0_pubkey(issuer);

		if (key == NULL || X509_verify(sk_X509_value(chain, i), key) != 1)
			return false;
	}
	return true;
}

teeliza_err dcap_collateral_key_of(dcap_collateral_key *out, const uint8_t *quote, size_t quote_len)
{
	dcap_quote q;
	STACK_OF(X509) *chain = NULL;
	dcap_pck_ext ext;
	char cn[128] = "", detail[400];
	size_t i;
	teeliza_err err;

	memset(out, 0, sizeof(*out));
	err = dcap_quote_parse(&q, quote, quote_len);
	if (!err)
		err = dcap_pem_chain_parse(&chain, q.cert_data, q.cert_data_len);
	if (!err)
		err = dcap_pck_ext_parse(&ext, sk_X509_value(chain, 0));
	if (!err)
		out->intel_signed = intel_signed(chain);
	if (!err &&
	    X509_NAME_get_text_by_NID(X509_get_issuer_name(sk_X509_value(chain, 0)), NID_commonName, cn, (int)sizeof(cn)) < 0)
		err = teeliza_set_error(TEELIZA_ERR_PARSE, "the PCK certificate's issuer has no common name");
	sk_X509_pop_free(chain, X509_free);
	if (!err) {
		/* Intel's two PCK CAs; the CRL to fetch is the issuing CA's. */
		if (strcmp(cn, "Intel SGX PCK Platform CA") == 0)
			snprintf(out->ca, sizeof(out->ca), "platform");
		else if (strcmp(cn, "Intel SGX PCK Processor CA") == 0)
			snprintf(out->ca, sizeof(out->ca), "processor");
		else
			err = teeliza_set_error(TEELIZA_ERR_UNSUPPORTED,
			                        "the PCK certificate is issued by \"%.100s\", not by Intel's PCK Platform or "
			                        "Processor CA: no PCCS serves its collateral",
			                        cn);
	}
	if (err) {
		snprintf(detail, sizeof(detail), "%s", teeliza_errmsg());
		memset(out, 0, sizeof(*out));
		return teeliza_set_error(err, "cannot tell which collateral the quote needs: %s", detail);
	}
	out->sgx = q.header.tee_type == DCAP_TEE_TYPE_SGX;
	for (i = 0; i < 6; i++)
		snprintf(out->fmspc + 2 * i, 3, "%02X", ext.fmspc[i]);
	return TEELIZA_OK;
}

static teeliza_err fetch_all(json_t *doc, const char *base, const dcap_collateral_key *key, long timeout_ms,
                             bool allow_http)
{
	const char *tee = key->sgx ? "sgx" : "tdx";
	char url[2048];
	fetch f;
	teeliza_err err;

	snprintf(url, sizeof(url), "%s/sgx/certification/v4/pckcrl?ca=%s&encoding=der", base, key->ca);
	err = get(&f, url, "SGX-PCK-CRL-Issuer-Chain", NULL, timeout_ms);
	if (!err)
		err = set_pem(doc, "pck_crl_issuer_chain", &f, "PCK CRL");
	if (!err)
		err = pccs_crl_hex(doc, "pck_crl", f.body.data, f.body.len, "PCK CRL");
	fetch_free(&f);
	if (err)
		return err;

	snprintf(url, sizeof(url), "%s/%s/certification/v4/tcb?fmspc=%s", base, tee, key->fmspc);
	err = get(&f, url, "TCB-Info-Issuer-Chain", "SGX-TCB-Info-Issuer-Chain", timeout_ms);
	if (!err)
		err = set_pem(doc, "tcb_info_issuer_chain", &f, "TCB Info");
	if (!err)
		err = pccs_signed_body(doc, (const char *)f.body.data, f.body.len, "tcbInfo", "tcb_info",
		                       "tcb_info_signature", "TCB Info");
	fetch_free(&f);
	if (err)
		return err;

	snprintf(url, sizeof(url), "%s/%s/certification/v4/qe/identity?update=standard", base, tee);
	err = get(&f, url, "SGX-Enclave-Identity-Issuer-Chain", NULL, timeout_ms);
	if (!err)
		err = set_pem(doc, "qe_identity_issuer_chain", &f, "QE Identity");
	if (!err)
		err = pccs_signed_body(doc, (const char *)f.body.data, f.body.len, "enclaveIdentity", "qe_identity",
		                       "qe_identity_signature", "QE Identity");
	fetch_free(&f);
	if (err)
		return err;

	/* A PCCS serves the root CA CRL itself; Intel PCS leaves it at the root's distribution point. */
	err = TEELIZA_ERR_NOT_FOUND;
	if (strncmp(base, DCAP_INTEL_PCS_URL, strlen(DCAP_INTEL_PCS_URL)) != 0) {
		snprintf(url, sizeof(url), "%s/sgx/certification/v4/rootcacrl", base);
		err = get(&f, url, NULL, NULL, timeout_ms);
		if (!err)
			err = pccs_crl_hex(doc, "root_ca_crl", f.body.data, f.body.len, "root CA CRL");
		fetch_free(&f);
	}
	if (err == TEELIZA_ERR_NOT_FOUND) {
		/* The distribution point is in a certificate whose chain has yet to verify: it is checked as any URL. */
		err = root_crl_url(url, sizeof(url), doc);
		if (!err)
			err = dcap_pccs_check_url(NULL, url, allow_http);
		if (!err) {
			err = get(&f, url, NULL, NULL, timeout_ms);
			if (!err)
				err = pccs_crl_hex(doc, "root_ca_crl", f.body.data, f.body.len, "root CA CRL");
			fetch_free(&f);
		}
	}
	return err;
}

teeliza_err dcap_pccs_fetch_key(teeliza_buf *json_out, const dcap_pccs_config *cfg, const dcap_collateral_key *key)
{
	char base[1024];
	json_t *doc;
	char *text;
	dcap_collateral *check = NULL;
	teeliza_err err;

	assert(json_out != NULL && cfg != NULL && cfg->url != NULL && key != NULL);
	err = dcap_pccs_check_url(NULL, cfg->url, cfg->allow_http);
	if (err)
		return err;
	if (strlen(cfg->url) >= sizeof(base))
		return teeliza_set_error(TEELIZA_ERR_INVALID, "the PCCS URL is too long");
	pccs_base_of(base, sizeof(base), cfg->url);
	doc = json_object();
	if (doc == NULL)
		return teeliza_set_error(TEELIZA_ERR_NOMEM, "out of memory");
	err = fetch_all(doc, base, key, cfg->timeout_ms > 0 ? cfg->timeout_ms : 30000, cfg->allow_http);
	if (!err) {
		text = json_dumps(doc, JSON_INDENT(2) | JSON_PRESERVE_ORDER);
		if (text == NULL) {
			err = teeliza_set_error(TEELIZA_ERR_NOMEM, "out of memory");
		} else {
			/* What the PCCS served must be collateral the verifier reads, for this quote's platform. */
			err = dcap_collateral_parse_json(&check, text, strlen(text));
			if (err) {
				char detail[400];

				snprintf(detail, sizeof(detail), "%s", teeliza_errmsg());
				err = teeliza_set_error(TEELIZA_ERR_PROTOCOL, "PCCS: the collateral served is not usable: %s",
				                        detail);
			} else {
				dcap_collateral_info info;
				char fmspc[13];
				size_t i;

				dcap_collateral_get_info(&info, check);
				for (i = 0; i < 6; i++)
					snprintf(fmspc + 2 * i, 3, "%02X", info.fmspc[i]);
				if (strcmp(fmspc, key->fmspc) != 0 || info.tdx == key->sgx)
					err = teeliza_set_error(TEELIZA_ERR_PROTOCOL,
					                        "PCCS: asked for the %s TCB Info of FMSPC %s, got %s's of %s",
					                        key->sgx ? "SGX" : "TDX", key->fmspc, info.tdx ? "TDX" : "SGX",
					                        fmspc);
				dcap_collateral_free(check);
			}
			if (!err)
				err = teeliza_buf_append_str(json_out, text);
			free(text);
		}
	}
	json_decref(doc);
	return err;
}

teeliza_err dcap_pccs_fetch(teeliza_buf *json_out, const char *base_url, const uint8_t *quote, size_t quote_len,
                            long timeout_ms)
{
	dcap_pccs_config cfg = {.url = base_url, .timeout_ms = timeout_ms};
	dcap_collateral_key key;
	teeliza_err err;

	assert(json_out != NULL && base_url != NULL);
	err = dcap_collateral_key_of(&key, quote, quote_len);
	if (!err)
		err = dcap_pccs_fetch_key(json_out, &cfg, &key);
	return err;
}
