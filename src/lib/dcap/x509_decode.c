/*
 * Certificates and CRLs for the verifier, from DER and from PEM chains
 * (dcap_pem_chain, dcap_der_crl); x509_chain.c verifies them.
 *
 * Decoding DER into X509 / X509_CRL objects costs about 100 us per
 * certificate in OpenSSL 3.0, so decoded objects are shared process-wide by
 * the SHA-256 of their DER (a content-addressed cache: the same bytes always
 * decode to the same object). Every signature and chain is still checked on
 * every verification that is not served from a collateral's memo.
 */
#include "dcap/verify_internal.h"

#include <limits.h>
#include <openssl/err.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "teeliza/common/encoding.h"

/* ---- content-addressed decode cache ---- */

#define DECODED_MAX 256

typedef struct decoded {
	uint8_t key[32];
	bool crl;
	void *obj;          /* X509 or X509_CRL; the cache holds one reference */
	uint64_t stamp;
} decoded;

static struct {
	pthread_mutex_t lock;
	decoded e[DECODED_MAX];
	size_t n;
	uint64_t stamp;
} dcache = {.lock = PTHREAD_MUTEX_INITIALIZER};

static void obj_free(void *obj, bool crl)
{
	if (crl)
		X509_CRL_free(obj);
	else
		X509_free(obj);
}

static void obj_ref(void *obj, bool crl)
{
	if (crl)
		X509_CRL_up_ref(obj);
	else
		X509_up_ref(obj);
}

static void *dcache_get(const uint8_t key[32], bool crl)
{
	void *obj = NULL;
	size_t i;

	pthread_mutex_lock(&dcache.lock);
	for (i = 0; i < dcache.n; i++) {
		if (dcache.e[i].crl == crl && memcmp(dcache.e[i].key, key, 32) == 0) {
			obj = dcache.e[i].obj;
			obj_ref(obj, crl);
			dcache.e[i].stamp = ++dcache.stamp;
			break;
		}
	}
	pthread_mutex_unlock(&dcache.lock);
	return obj;
}

static void dcache_put(const uint8_t key[32], bool crl, void *obj)
{
	decoded *slot;
	size_t i;

	pthread_mutex_lock(&dcache.lock);
	for (i = 0; i < dcache.n; i++) {
		if (dcache.e[i].crl == crl && memcmp(dcache.e[i].key, key, 32) == 0) {
			pthread_mutex_unlock(&dcache.lock);
			return;
		}
	}
	if (dcache.n < DECODED_MAX) {
		slot = &dcache.e[dcache.n++];
	} else {
		slot = &dcache.e[0];
		for (i = 1; i < DECODED_MAX; i++)
			if (dcache.e[i].stamp < slot->stamp)
				slot = &dcache.e[i];
		obj_free(slot->obj, slot->crl);
	}
	memcpy(slot->key, key, 32);
	slot->crl = crl;
	slot->obj = obj;
	obj_ref(obj, crl);
	slot->stamp = ++dcache.stamp;
	pthread_mutex_unlock(&dcache.lock);
}

static teeliza_err decode_cert(X509 **out, const uint8_t *der, size_t len, const char *what, int index)
{
	uint8_t key[32];
	const unsigned char *p = der;

	dcap_sha256_of(key, der, len);
	*out = dcache_get(key, false);
	if (*out != NULL)
		return TEELIZA_OK;
	*out = d2i_X509(NULL, &p, (long)len);
	ERR_clear_error();
	if (*out == NULL || p != der + len) {
		X509_free(*out);
		*out = NULL;
		return teeliza_set_error(TEELIZA_ERR_PARSE, "%s: certificate %d is not a valid DER certificate", what,
		                         index);
	}
	dcache_put(key, false, *out);
	return TEELIZA_OK;
}

teeliza_err dcap_der_crl(X509_CRL **out, const uint8_t *der, size_t len, const char *what)
{
	uint8_t key[32];
	const unsigned char *p = der;

	*out = NULL;
	if (len == 0 || len > DCAP_MAX_COLLATERAL_JSON)
		return teeliza_set_error(TEELIZA_ERR_PARSE, "%s: empty or oversized CRL", what);
	dcap_sha256_of(key, der, len);
	*out = dcache_get(key, true);
	if (*out != NULL)
		return TEELIZA_OK;
	*out = d2i_X509_CRL(NULL, &p, (long)len);
	ERR_clear_error();
	if (*out == NULL || p != der + len) {
		X509_CRL_free(*out);
		*out = NULL;
		return teeliza_set_error(TEELIZA_ERR_PARSE, "%s: not a DER CRL", what);
	}
	dcache_put(key, true, *out);
	return TEELIZA_OK;
}

/* ---- PEM ---- */

static const char pem_begin[] = "-----BEGIN CERTIFICATE-----";
static const char pem_end[] = "-----END CERTIFICATE-----";

static bool blank(char c)
{
	return c == ' ' || c == '\t' || c == '\r' || c == '\n' || c == '\0';
}

static bool b64char(char c)
{
	return (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '+' || c == '/' ||
	       c == '=';
}

/* One PEM body (between the BEGIN and END lines) to DER. Out: *der (malloc'd), *der_len. */
static teeliza_err pem_body(uint8_t **der, size_t *der_len, const char *s, size_t n, const char *what, int index)
{
	char *b64;
	size_t i, m = 0, pad = 0;
	int got;

	*der = NULL;
	*der_len = 0;
	if (n > (size_t)INT_MAX / 2)
		return teeliza_set_error(TEELIZA_ERR_TOO_LARGE, "%s: certificate %d is too large", what, index);
	b64 = malloc(n + 1);
	if (b64 == NULL)
		return teeliza_set_error(TEELIZA_ERR_NOMEM, "out of memory");
	for (i = 0; i < n; i++) {
		if (blank(s[i]) && s[i] != '\0')
			continue;
		if (!b64char(s[i]) || (pad > 0 && s[i] != '=')) {
			free(b64);
			return teeliza_set_error(TEELIZA_ERR_PARSE, "%s: certificate %d has a non-base64 character", what,
			                         index);
		}
		pad += s[i] == '=';
		b64[m++] = s[i];
	}
	if (m == 0 || m % 4 != 0 || pad > 2) {
		free(b64);
		return teeliza_set_error(TEELIZA_ERR_PARSE, "%s: certificate %d has bad base64 length or padding", what,
		                         index);
	}
	*der = malloc(m / 4 * 3 + 1);
	if (*der == NULL) {
		free(b64);
		return teeliza_set_error(TEELIZA_ERR_NOMEM, "out of memory");
	}
	got = EVP_DecodeBlock(*der, (const unsigned char *)b64, (int)m);
	free(b64);
	if (got < 0 || (size_t)got < pad) {
		free(*der);
		*der = NULL;
		return teeliza_set_error(TEELIZA_ERR_PARSE, "%s: certificate %d is not valid base64", what, index);
	}
	*der_len = (size_t)got - pad;
	return TEELIZA_OK;
}

/*
 * Certificates of a PEM text, in order. Only whitespace (and NUL bytes, which
 * a quote puts after its chain) may surround the blocks; every block must be
 * a CERTIFICATE with no headers whose base64 holds exactly one DER certificate.
 */
static teeliza_err pem_certs(STACK_OF(X509) *out, const char *pem, size_t len, const char *what)
{
	size_t i = 0;
	int index = 0;
	teeliza_err err = TEELIZA_OK;

	for (;;) {
		const char *body, *end;
		uint8_t *der;
		size_t der_len;
		X509 *x;

		while (i < len && blank(pem[i]))
			i++;
		if (i == len)
			break;
		if (len - i < sizeof(pem_begin) - 1 || memcmp(pem + i, pem_begin, sizeof(pem_begin) - 1) != 0)
			return teeliza_set_error(TEELIZA_ERR_PARSE, "%s: expected \"%s\" at byte %zu", what, pem_begin, i);
		body = pem + i + sizeof(pem_begin) - 1;
		end = memmem(body, len - (size_t)(body - pem), pem_end, sizeof(pem_end) - 1);
		if (end == NULL)
			return teeliza_set_error(TEELIZA_ERR_PARSE, "%s: certificate %d has no END line", what, index);
		if (sk_X509_num(out) >= DCAP_MAX_CHAIN_CERTS)
			return teeliza_set_error(TEELIZA_ERR_TOO_LARGE, "%s: more than %d certificates", what,
			                         DCAP_MAX_CHAIN_CERTS);
		err = pem_body(&der, &der_len, body, (size_t)(end - body), what, index);
		if (err)
			return err;
		err = decode_cert(&x, der, der_len, what, index);
		free(der);
		if (err)
			return err;
		if (sk_X509_push(out, x) <= 0) {
			X509_free(x);
			return teeliza_set_error(TEELIZA_ERR_NOMEM, "out of memory");
		}
		i = (size_t)(end - pem) + sizeof(pem_end) - 1;
		index++;
	}
	if (sk_X509_num(out) == 0)
		return teeliza_set_error(TEELIZA_ERR_PARSE, "%s: no PEM certificate", what);
	return TEELIZA_OK;
}

teeliza_err dcap_pem_chain(STACK_OF(X509) **out, const char *pem, size_t len, const char *what)
{
	STACK_OF(X509) *sk;
	teeliza_err err;

	*out = NULL;
	if (len == 0 || len > DCAP_MAX_COLLATERAL_JSON)
		return teeliza_set_error(TEELIZA_ERR_PARSE, "%s: empty or oversized PEM", what);
	sk = sk_X509_new_null();
	if (sk == NULL)
		return teeliza_set_error(TEELIZA_ERR_NOMEM, "out of memory");
	err = pem_certs(sk, pem, len, what);
	if (err) {
		sk_X509_pop_free(sk, X509_free);
		return err;
	}
	*out = sk;
	return TEELIZA_OK;
}
