/* `teeliza verify --ra-tls | --cert`: an RA-TLS certificate's quote (verify_ratls.h). */
#include "cli/verify_ratls.h"
#include "cli/cli.h"
#include "teeliza/common/encoding.h"
#include "teeliza/http/http.h"
#include "teeliza/tee/ratls.h"
#include "teeliza/tee/rtmr.h"

#include <stdio.h>
#include <string.h>

#define VR_CMD "verify"

/* "host:port" or "[v6]:port". Out: host (NUL-terminated), *port. */
static int split_host_port(char *host, size_t host_len, uint16_t *port, const char *arg)
{
	const char *colon, *h = arg;
	size_t n;
	uint64_t p;

	if (arg[0] == '[') {
		const char *close = strchr(arg, ']');

		if (close == NULL || close[1] != ':')
			goto bad;
		h = arg + 1;
		n = (size_t)(close - h);
		colon = close + 1;
	} else {
		colon = strrchr(arg, ':');
		if (colon == NULL || memchr(arg, ':', (size_t)(colon - arg)) != NULL)
			goto bad;
		n = (size_t)(colon - arg);
	}
	if (n == 0 || n >= host_len || teeliza_parse_u64(&p, colon + 1, 1, 65535) != TEELIZA_OK)
		goto bad;
	memcpy(host, h, n);
	host[n] = 0;
	*port = (uint16_t)p;
	return EXIT_OK;
bad:
	fprintf(stderr, "teeliza verify: --ra-tls needs HOST:PORT (an IPv6 address as [ADDR]:PORT, port 1..65535), "
	                "not '%.100s'\n", arg);
	return EXIT_USAGE;
}

static int fetch_cert(teeliza_buf *cert, char *source, size_t source_len, const char *host_port, const char *path,
                      long timeout_ms)
{
	char host[256];
	uint16_t port;
	teeliza_err err;
	int rc;

	if (path != NULL) {
		snprintf(source, source_len, "%s", path);
		err = teeliza_read_file(cert, path, TEE_RATLS_CERT_MAX);
		return err ? cli_fail(VR_CMD, err) : EXIT_OK;
	}
	rc = split_host_port(host, sizeof(host), &port, host_port);
	if (rc)
		return rc;
	snprintf(source, source_len, strchr(host, ':') != NULL ? "https://[%s]:%u" : "https://%s:%u", host,
	         (unsigned)port);
	err = http_tls_peer_cert(cert, host, port, timeout_ms);
	if (err) {
		fprintf(stderr, "teeliza verify: --ra-tls: %s\n", teeliza_errmsg());
		return err == TEELIZA_ERR_INVALID ? EXIT_USAGE : EXIT_UNAVAILABLE;
	}
	return EXIT_OK;
}

static int from_cert(struct verify_ratls *r, teeliza_buf *quote, teeliza_buf *event_log, const tee_ratls_cert *c)
{
	teeliza_err err;

	tee_ratls_spki_sha256_hex(r->tls_key, c->spki.data, c->spki.len);
	err = tee_ratls_check_binding(r->report_data, c);
	if (err) {
		fprintf(stderr, "teeliza verify: %s: %s\n", r->source, teeliza_errmsg());
		return err == TEELIZA_ERR_VERIFY ? EXIT_VERIFY_FAIL : EXIT_BAD_INPUT;
	}
	r->has_app_id = c->has_app_id;
	memcpy(r->app_id, c->app_id, sizeof(r->app_id));
	r->has_attestation = c->has_attestation;
	err = teeliza_buf_append(quote, c->quote.data, c->quote.len);
	if (!err && event_log != NULL && c->event_log.len > 0) {
		r->has_event_log = true;
		err = tee_event_log_input_text(event_log, (const char *)c->event_log.data, c->event_log.len);
		if (err == TEELIZA_ERR_PARSE) {
			fprintf(stderr, "teeliza verify: %s: the event log extension (" TEE_RATLS_OID_EVENT_LOG "): %s\n",
			        r->source, teeliza_errmsg());
			return EXIT_BAD_INPUT;
		}
	}
	return err ? cli_fail(VR_CMD, err) : EXIT_OK;
}

int verify_ratls_load(struct verify_ratls *r, teeliza_buf *quote, teeliza_buf *event_log, const char *host_port,
                      const char *cert_path, long timeout_ms)
{
	teeliza_buf cert;
	tee_ratls_cert c;
	teeliza_err err;
	int rc;

	memset(r, 0, sizeof(*r));
	teeliza_buf_init(quote, TEE_RATLS_QUOTE_MAX);
	teeliza_buf_init(&cert, TEE_RATLS_CERT_MAX);
	rc = fetch_cert(&cert, r->source, sizeof(r->source), host_port, cert_path, timeout_ms);
	if (rc) {
		teeliza_buf_free(&cert);
		return rc;
	}
	err = tee_ratls_cert_parse(&c, cert.data, cert.len);
	teeliza_buf_free(&cert);
	if (err) {
		fprintf(stderr, "teeliza verify: %s: %s\n", r->source, teeliza_errmsg());
		tee_ratls_cert_free(&c);
		return err == TEELIZA_ERR_NOT_FOUND ? EXIT_VERIFY_FAIL : EXIT_BAD_INPUT;
	}
	rc = from_cert(r, quote, event_log, &c);
	tee_ratls_cert_free(&c);
	return rc;
}

void verify_ratls_print(FILE *f, const struct verify_ratls *r)
{
	char rd[129], app[41];

	teeliza_hex_encode(rd, r->report_data, 64);
	fprintf(f, "RA-TLS certificate (%s)\n", r->source);
	fprintf(f, "  %-18s %s (SHA-256 of its SubjectPublicKeyInfo)\n", "TLS key", r->tls_key);
	fprintf(f, "  %-18s ok: the quote's report data is SHA-512(\"ratls-cert:\" || SPKI) = %s\n", "binding", rd);
	fprintf(f, "  %-18s %s\n", "event log",
	        r->has_event_log ? "extension " TEE_RATLS_OID_EVENT_LOG : "none in the certificate");
	if (r->has_app_id) {
		teeliza_hex_encode(app, r->app_id, 20);
		fprintf(f, "  %-18s %s (extension " TEE_RATLS_OID_APP_ID ")\n", "app id", app);
	}
	if (r->has_attestation)
		fprintf(f, "  %-18s extension " TEE_RATLS_OID_ATTESTATION " present, not decoded\n", "attestation");
	fprintf(f, "\n");
}

json_t *verify_ratls_json(const struct verify_ratls *r)
{
	char rd[129], app[41];

	teeliza_hex_encode(rd, r->report_data, 64);
	if (r->has_app_id)
		teeliza_hex_encode(app, r->app_id, 20);
	return json_pack("{s:s, s:s, s:s, s:s, s:b, s:o}", "source", r->source, "tlsKey", r->tls_key, "reportData", rd,
	                 "binding", "ok", "eventLog", r->has_event_log,
	                 "appId", r->has_app_id ? json_string(app) : json_null());
}
