/*
 * RA-TLS certificates (teeliza/tee/ratls.h): read the quote and its
 * companions out of a certificate, and check that the quote binds the
 * certificate's public key. Everything here reads hostile bytes: OpenSSL
 * parses the certificate within the given length, and the inner OCTET
 * STRING of each extension is unwrapped here with every length checked.
 */
#include "teeliza/tee/ratls.h"
#include "teeliza/common/encoding.h"
#include "teeliza/tee/attest.h"

#include <assert.h>
#include <limits.h>
#include <string.h>

#include <openssl/bio.h>
#include <openssl/evp.h>
#include <openssl/objects.h>
#include <openssl/pem.h>
#include <openssl/sha.h>
#include <openssl/x509.h>
#include <openssl/x509v3.h>

#define PEM_CERT_HEAD "-----BEGIN CERTIFICATE-----"
#define ELGZ_MAGIC "ELGZv1"

void tee_ratls_cert_free(tee_ratls_cert *c)
{
	if (c == NULL)
		return;
	teeliza_buf_free(&c->spki);
	teeliza_buf_free(&c->quote);
	teeliza_buf_free(&c->event_log);
	memset(c, 0, sizeof(*c));
}

void tee_ratls_report_data(uint8_t out[64], const uint8_t *spki, size_t spki_len)
{
	EVP_MD_CTX *md = EVP_MD_CTX_new();
	unsigned int n = 64;
	int ok;

	assert(out != NULL && (spki != NULL || spki_len == 0));
	ok = md != NULL && EVP_DigestInit_ex(md, EVP_sha512(), NULL) == 1 &&
	     EVP_DigestUpdate(md, TEE_RATLS_PREFIX, strlen(TEE_RATLS_PREFIX)) == 1 &&
	     EVP_DigestUpdate(md, spki, spki_len) == 1 && EVP_DigestFinal_ex(md, out, &n) == 1;
	EVP_MD_CTX_free(md);
	/* only an allocation can fail here: leave nothing that could pass for a hash */
	if (!ok)
		memset(out, 0xff, 64);
}

void tee_ratls_spki_sha256_hex(char out[65], const uint8_t *spki, size_t spki_len)
{
	uint8_t h[32];

	assert(out != NULL && (spki != NULL || spki_len == 0));
	SHA256(spki, spki_len, h);
	teeliza_hex_encode(out, h, 32);
}

static bool has_prefix(const uint8_t *data, size_t len, const char *prefix)
{
	size_t n = strlen(prefix);

	return len >= n && memcmp(data, prefix, n) == 0;
}

/* The certificate, DER exactly (nothing after it) or the first PEM certificate. */
static teeliza_err load_x509(X509 **out, const uint8_t *data, size_t len)
{
	const unsigned char *p = data;
	BIO *bio;
	size_t i;

	*out = NULL;
	if (len > TEE_RATLS_CERT_MAX)
		return teeliza_set_error(TEELIZA_ERR_TOO_LARGE, "certificate of %zu bytes (at most %zu)", len,
		                         TEE_RATLS_CERT_MAX);
	for (i = 0; i < len && (data[i] == ' ' || data[i] == '\t' || data[i] == '\r' || data[i] == '\n'); i++)
		;
	if (has_prefix(data + i, len - i, PEM_CERT_HEAD)) {
		bio = BIO_new_mem_buf(data + i, (int)(len - i));
		if (bio == NULL)
			return teeliza_set_error(TEELIZA_ERR_NOMEM, "out of memory");
		*out = PEM_read_bio_X509(bio, NULL, NULL, NULL);
		BIO_free(bio);
		if (*out == NULL)
			return teeliza_set_error(TEELIZA_ERR_PARSE, "the PEM certificate does not parse");
		return TEELIZA_OK;
	}
	*out = d2i_X509(NULL, &p, (long)len);
	if (*out == NULL)
		return teeliza_set_error(TEELIZA_ERR_PARSE, "not a certificate (neither DER nor PEM)");
	if ((size_t)(p - data) != len) {
		X509_free(*out);
		*out = NULL;
		return teeliza_set_error(TEELIZA_ERR_PARSE, "%zu bytes after the DER certificate", len - (size_t)(p - data));
	}
	return TEELIZA_OK;
}

/*
 * extnValue holds the DER of an OCTET STRING (tag 0x04, definite length,
 * minimal form not required as dstack's writers are minimal anyway) that
 * must fill it exactly. Out: *body, *body_len inside v.
 */
static teeliza_err unwrap_octets(const uint8_t **body, size_t *body_len, const uint8_t *v, size_t n, const char *oid)
{
	size_t len, hdr, i, k;

	if (n < 2 || v[0] != 0x04)
		return teeliza_set_error(TEELIZA_ERR_PARSE, "extension %s is not an OCTET STRING", oid);
	if (v[1] < 0x80) {
		len = v[1];
		hdr = 2;
	} else {
		k = v[1] & 0x7f;
		if (k == 0 || k > 4 || n < 2 + k)
			return teeliza_set_error(TEELIZA_ERR_PARSE, "extension %s: bad OCTET STRING length", oid);
		for (len = 0, i = 0; i < k; i++)
			len = (len << 8) | v[2 + i];
		hdr = 2 + k;
	}
	if (len != n - hdr)
		return teeliza_set_error(TEELIZA_ERR_PARSE, "extension %s: its OCTET STRING says %zu bytes, %zu are there",
		                         oid, len, n - hdr);
	*body = v + hdr;
	*body_len = len;
	return TEELIZA_OK;
}

/*
 * The raw bytes of extension oid, or *found false when it is absent. Out:
 * pointers into x's own storage. Two of them: TEELIZA_ERR_PARSE.
 */
static teeliza_err get_ext(const uint8_t **body, size_t *body_len, bool *found, X509 *x, const char *oid)
{
	ASN1_OBJECT *obj = OBJ_txt2obj(oid, 1);
	ASN1_OCTET_STRING *os;
	X509_EXTENSION *ext;
	int at;
	teeliza_err err;

	*found = false;
	*body = NULL;
	*body_len = 0;
	if (obj == NULL)
		return teeliza_set_error(TEELIZA_ERR_NOMEM, "out of memory");
	at = X509_get_ext_by_OBJ(x, obj, -1);
	if (at >= 0 && X509_get_ext_by_OBJ(x, obj, at) >= 0) {
		ASN1_OBJECT_free(obj);
		return teeliza_set_error(TEELIZA_ERR_PARSE, "extension %s appears more than once", oid);
	}
	ASN1_OBJECT_free(obj);
	if (at < 0)
		return TEELIZA_OK;
	ext = X509_get_ext(x, at);
	os = ext != NULL ? X509_EXTENSION_get_data(ext) : NULL;
	if (os == NULL || ASN1_STRING_length(os) < 0)
		return teeliza_set_error(TEELIZA_ERR_PARSE, "extension %s has no value", oid);
	err = unwrap_octets(body, body_len, ASN1_STRING_get0_data(os), (size_t)ASN1_STRING_length(os), oid);
	if (!err)
		*found = true;
	return err;
}

static teeliza_err read_spki(teeliza_buf *out, X509 *x)
{
	unsigned char *der = NULL;
	int n = i2d_X509_PUBKEY(X509_get_X509_PUBKEY(x), &der);
	teeliza_err err;

	if (n <= 0)
		return teeliza_set_error(TEELIZA_ERR_PARSE, "the certificate's public key cannot be encoded");
	err = teeliza_buf_append(out, der, (size_t)n);
	OPENSSL_free(der);
	return err;
}

static teeliza_err read_extensions(tee_ratls_cert *out, X509 *x)
{
	const uint8_t *b;
	size_t n;
	bool found;
	teeliza_err err;

	err = get_ext(&b, &n, &found, x, TEE_RATLS_OID_ATTESTATION);
	if (err)
		return err;
	out->has_attestation = found;
	err = get_ext(&b, &n, &found, x, TEE_RATLS_OID_QUOTE);
	if (err)
		return err;
	if (!found && out->has_attestation)
		return teeliza_set_error(TEELIZA_ERR_UNSUPPORTED,
		                         "the certificate carries dstack 0.5.11's attestation extension (" TEE_RATLS_OID_ATTESTATION
		                         ") and no quote extension (" TEE_RATLS_OID_QUOTE "): that form is not decoded yet");
	if (!found)
		return teeliza_set_error(TEELIZA_ERR_NOT_FOUND,
		                         "no RA-TLS quote extension (" TEE_RATLS_OID_QUOTE "): not an RA-TLS certificate");
	if (n == 0 || n > TEE_RATLS_QUOTE_MAX)
		return teeliza_set_error(n == 0 ? TEELIZA_ERR_PARSE : TEELIZA_ERR_TOO_LARGE,
		                         "the quote extension holds %zu bytes (1..%u)", n, TEE_RATLS_QUOTE_MAX);
	err = teeliza_buf_append(&out->quote, b, n);
	if (!err)
		err = get_ext(&b, &n, &found, x, TEE_RATLS_OID_EVENT_LOG);
	if (!err && found) {
		if (has_prefix(b, n, ELGZ_MAGIC))
			return teeliza_set_error(TEELIZA_ERR_UNSUPPORTED, "the event log extension is compressed (ELGZv1), "
			                                                  "which is not supported");
		if (n > TEE_RATLS_EVENT_LOG_MAX)
			return teeliza_set_error(TEELIZA_ERR_TOO_LARGE, "the event log extension holds %zu bytes (at most %zu)",
			                         n, TEE_RATLS_EVENT_LOG_MAX);
		if (memchr(b, 0, n) != NULL)
			return teeliza_set_error(TEELIZA_ERR_PARSE, "the event log extension holds a NUL byte");
		err = teeliza_buf_append(&out->event_log, b, n);
	}
	if (!err)
		err = get_ext(&b, &n, &found, x, TEE_RATLS_OID_APP_ID);
	if (!err && found) {
		if (n != sizeof(out->app_id))
			return teeliza_set_error(TEELIZA_ERR_PARSE, "the app id extension holds %zu bytes, not 20", n);
		memcpy(out->app_id, b, n);
		out->has_app_id = true;
	}
	return err;
}

teeliza_err tee_ratls_cert_parse(tee_ratls_cert *out, const uint8_t *data, size_t len)
{
	X509 *x = NULL;
	teeliza_err err;

	assert(out != NULL && (data != NULL || len == 0));
	memset(out, 0, sizeof(*out));
	teeliza_buf_init(&out->spki, 1u << 16);
	teeliza_buf_init(&out->quote, TEE_RATLS_QUOTE_MAX);
	teeliza_buf_init(&out->event_log, TEE_RATLS_EVENT_LOG_MAX);
	err = load_x509(&x, data, len);
	if (!err)
		err = read_spki(&out->spki, x);
	if (!err)
		err = read_extensions(out, x);
	X509_free(x);
	return err;
}

teeliza_err tee_ratls_check_binding(uint8_t expected[64], const tee_ratls_cert *c)
{
	const uint8_t *rtmr[4], *rd;
	char want[129], got[129];
	teeliza_err err;

	assert(expected != NULL && c != NULL);
	tee_ratls_report_data(expected, c->spki.data, c->spki.len);
	err = tee_quote_td_fields(rtmr, &rd, c->quote.data, c->quote.len);
	if (err)
		return teeliza_set_error(TEELIZA_ERR_PARSE, "the quote extension is not a TDX quote: %s", teeliza_errmsg());
	if (memcmp(rd, expected, 64) != 0) {
		teeliza_hex_encode(want, expected, 64);
		teeliza_hex_encode(got, rd, 64);
		return teeliza_set_error(TEELIZA_ERR_VERIFY,
		                         "RA-TLS binding: the quote's report data %s is not SHA-512(\"ratls-cert:\" || the "
		                         "certificate's SubjectPublicKeyInfo) %s: the quote is not for this key",
		                         got, want);
	}
	return TEELIZA_OK;
}
