/*
 * A simulator root the verifier trusts (api_verifier.h): one self-signed CA
 * certificate, never Intel's, with the collateral for its quotes; and how
 * a quote is seen to chain to it (its PEM chain carries the certificate).
 */
#include "agent/api/api_verifier.h"
#include "teeliza/common/encoding.h"

#include <ctype.h>
#include <openssl/evp.h>
#include <stdlib.h>
#include <string.h>

#define ROOT_PEM_MAX ((size_t)16 << 10)

static const char pem_begin[] = "-----BEGIN CERTIFICATE-----";
static const char pem_end[] = "-----END CERTIFICATE-----";

/* s without whitespace (and NULs), malloc'd. */
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

static size_t count_blocks(const char *pem, size_t len)
{
	const char *p = pem, *end = pem + len;
	size_t n = 0;

	while ((p = memmem(p, (size_t)(end - p), pem_begin, sizeof(pem_begin) - 1)) != NULL) {
		n++;
		p += sizeof(pem_begin) - 1;
	}
	return n;
}

/* The base64 body of the (only) certificate of a PEM text, without whitespace, and the SHA-256 of its DER. */
static teeliza_err pem_cert_body(char **b64, uint8_t sha[32], const char *pem, size_t pem_len)
{
	const char *b = memmem(pem, pem_len, pem_begin, sizeof(pem_begin) - 1), *e;
	teeliza_buf der;
	teeliza_err err;

	*b64 = NULL;
	if (b == NULL)
		return teeliza_set_error(TEELIZA_ERR_PARSE, "no PEM certificate");
	b += sizeof(pem_begin) - 1;
	e = memmem(b, pem_len - (size_t)(b - pem), pem_end, sizeof(pem_end) - 1);
	if (e == NULL)
		return teeliza_set_error(TEELIZA_ERR_PARSE, "unterminated PEM certificate");
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

sim_anchor *sim_anchor_ref(sim_anchor *a)
{
	atomic_fetch_add(&a->refs, 1);
	return a;
}

void sim_anchor_free(sim_anchor *a)
{
	if (a == NULL || atomic_fetch_sub(&a->refs, 1) != 1)
		return;
	dcap_trust_free(a->trust);
	dcap_collateral_free(a->coll);
	free(a->root_pem);
	free(a->root_b64);
	free(a);
}

teeliza_err sim_anchor_new(sim_anchor **out, const char *root_pem, size_t root_pem_len, dcap_collateral *coll,
                           int64_t made, const char *endpoint)
{
	sim_anchor *a;
	teeliza_err err;

	*out = NULL;
	if (root_pem_len == 0 || root_pem_len > ROOT_PEM_MAX || count_blocks(root_pem, root_pem_len) != 1) {
		dcap_collateral_free(coll);
		return teeliza_set_error(TEELIZA_ERR_PARSE, "a simulator root must be one PEM certificate (at most %zu bytes)",
		                         ROOT_PEM_MAX);
	}
	a = calloc(1, sizeof(*a));
	if (a == NULL) {
		dcap_collateral_free(coll);
		return teeliza_set_error(TEELIZA_ERR_NOMEM, "out of memory");
	}
	atomic_init(&a->refs, 1);
	a->coll = coll;
	a->made = made;
	snprintf(a->endpoint, sizeof(a->endpoint), "%s", endpoint != NULL ? endpoint : "");
	a->root_pem = malloc(root_pem_len + 1);
	err = a->root_pem == NULL ? teeliza_set_error(TEELIZA_ERR_NOMEM, "out of memory") : TEELIZA_OK;
	if (!err) {
		memcpy(a->root_pem, root_pem, root_pem_len);
		a->root_pem[root_pem_len] = 0;
		a->root_pem_len = root_pem_len;
		err = pem_cert_body(&a->root_b64, a->root_sha256, root_pem, root_pem_len);
	}
	if (!err && memcmp(a->root_sha256, DCAP_INTEL_ROOT_SHA256, 32) == 0)
		err = teeliza_set_error(TEELIZA_ERR_INVALID, "that is the Intel SGX Root CA, not a simulator root");
	if (!err)
		err = dcap_trust_new(&a->trust, true);
	/* Also checks that it is a self-signed CA certificate, in a PEM text with nothing else in it. */
	if (!err)
		err = dcap_trust_add_pem(a->trust, root_pem, root_pem_len);
	if (err) {
		sim_anchor_free(a);
		return err;
	}
	*out = a;
	return TEELIZA_OK;
}

bool sim_anchor_in_quote(const sim_anchor *a, const dcap_quote *q)
{
	char *chain;
	bool found;

	if (a == NULL || q->cert_type != 5 || q->cert_data == NULL || a->root_b64 == NULL || a->root_b64[0] == 0)
		return false;
	chain = strip_space((const char *)q->cert_data, q->cert_data_len);
	found = chain != NULL && strstr(chain, a->root_b64) != NULL;
	free(chain);
	return found;
}
