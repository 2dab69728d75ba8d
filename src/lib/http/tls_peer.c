/*
 * The certificate a TLS server presents (http_tls_peer_cert, http.h), for
 * RA-TLS: the handshake is completed, so the server has proved it holds
 * the leaf's key, but no chain or name is checked - an RA-TLS verifier
 * trusts the quote inside the certificate, not a CA.
 */
#include "teeliza/http/http.h"

#include <assert.h>
#include <curl/curl.h>
#include <pthread.h>
#include <stdio.h>
#include <string.h>

#define TLS_PEER_TIMEOUT_MS 30000L
#define PEM_CERT_HEAD "-----BEGIN CERTIFICATE-----"

static pthread_once_t peer_once = PTHREAD_ONCE_INIT;
static CURLcode peer_init_rc = CURLE_FAILED_INIT;

static void peer_init(void)
{
	peer_init_rc = curl_global_init(CURL_GLOBAL_DEFAULT);
}

/* A host as it may go into a URL: a name, an IPv4 address or an IPv6 address (no brackets). */
static bool host_ok(const char *host)
{
	size_t i, n = strlen(host);

	if (n == 0 || n > 253)
		return false;
	for (i = 0; i < n; i++) {
		char c = host[i];

		if (!((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '.' || c == '-' ||
		      c == ':' || c == '_'))
			return false;
	}
	return true;
}

/* The leaf's PEM out of libcurl's certificate list (the "Cert:" entry of the first certificate). */
static teeliza_err leaf_pem(teeliza_buf *pem, const struct curl_certinfo *ci, const char *where)
{
	const struct curl_slist *s;

	if (ci == NULL || ci->num_of_certs < 1)
		return teeliza_set_error(TEELIZA_ERR_PROTOCOL, "%s presented no certificate", where);
	for (s = ci->certinfo[0]; s != NULL; s = s->next) {
		if (strncmp(s->data, "Cert:", 5) == 0 && strstr(s->data, PEM_CERT_HEAD) != NULL)
			return teeliza_buf_append_str(pem, s->data + 5);
	}
	return teeliza_set_error(TEELIZA_ERR_PROTOCOL, "%s: the TLS library gave no PEM of the certificate", where);
}

teeliza_err http_tls_peer_cert(teeliza_buf *pem, const char *host, uint16_t port, long timeout_ms)
{
	char url[300], errbuf[CURL_ERROR_SIZE] = "";
	struct curl_certinfo *ci = NULL;
	CURL *h;
	CURLcode rc;
	teeliza_err err;

	assert(pem != NULL && host != NULL);
	teeliza_buf_init(pem, 1u << 20);
	if (!host_ok(host) || port == 0)
		return teeliza_set_error(TEELIZA_ERR_INVALID, "not a host and port to connect to: %.64s:%u", host,
		                         (unsigned)port);
	snprintf(url, sizeof(url), strchr(host, ':') != NULL ? "https://[%s]:%u/" : "https://%s:%u/", host,
	         (unsigned)port);
	pthread_once(&peer_once, peer_init);
	if (peer_init_rc != CURLE_OK)
		return teeliza_set_error(TEELIZA_ERR_INTERNAL, "libcurl could not be initialised");
	h = curl_easy_init();
	if (h == NULL)
		return teeliza_set_error(TEELIZA_ERR_NOMEM, "out of memory");
	curl_easy_setopt(h, CURLOPT_URL, url);
	curl_easy_setopt(h, CURLOPT_CONNECT_ONLY, 1L);
	curl_easy_setopt(h, CURLOPT_CERTINFO, 1L);
	/* the quote in the certificate is the trust: no CA, no name */
	curl_easy_setopt(h, CURLOPT_SSL_VERIFYPEER, 0L);
	curl_easy_setopt(h, CURLOPT_SSL_VERIFYHOST, 0L);
	curl_easy_setopt(h, CURLOPT_NOPROXY, "*");
	curl_easy_setopt(h, CURLOPT_NOSIGNAL, 1L);
	curl_easy_setopt(h, CURLOPT_TIMEOUT_MS, timeout_ms > 0 ? timeout_ms : TLS_PEER_TIMEOUT_MS);
	curl_easy_setopt(h, CURLOPT_ERRORBUFFER, errbuf);
	rc = curl_easy_perform(h);
	if (rc == CURLE_OPERATION_TIMEDOUT) {
		err = teeliza_set_error(TEELIZA_ERR_TIMEOUT, "TLS handshake with %s timed out", url);
	} else if (rc != CURLE_OK) {
		err = teeliza_set_error(TEELIZA_ERR_CONNECT, "cannot complete a TLS handshake with %s: %s", url,
		                        errbuf[0] ? errbuf : curl_easy_strerror(rc));
	} else {
		rc = curl_easy_getinfo(h, CURLINFO_CERTINFO, &ci);
		err = rc == CURLE_OK ? leaf_pem(pem, ci, url)
		                     : teeliza_set_error(TEELIZA_ERR_INTERNAL, "libcurl gave no certificate information");
	}
	curl_easy_cleanup(h);
	if (err)
		teeliza_buf_free(pem);
	return err;
}
