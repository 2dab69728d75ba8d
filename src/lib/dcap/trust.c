/* Trust anchors: the pinned Intel SGX Root CA, plus roots a caller adds (the simulator's). */
#include "dcap/verify_internal.h"

#include <assert.h>
#include <openssl/pem.h>
#include <stdlib.h>
#include <string.h>

/* SHA-256 of Intel_SGX_Provisioning_Certification_RootCA.der (CN=Intel SGX Root CA). */
const uint8_t DCAP_INTEL_ROOT_SHA256[32] = {
	0x44, 0xa0, 0x19, 0x6b, 0x2b, 0x99, 0xf8, 0x89, 0xb8, 0xe1, 0x49, 0xe9, 0x5b, 0x80, 0x7a, 0x35,
	0x0e, 0x74, 0x24, 0x96, 0x43, 0x99, 0xe8, 0x85, 0xa7, 0xcb, 0xb8, 0xcc, 0xfa, 0xb6, 0x74, 0xd3,
};

static atomic_uint_fast64_t next_trust_id = 1;

static dcap_trust intel_only = {.id = 0, .intel = true};

const dcap_trust *dcap_trust_default(void)
{
	return &intel_only;
}

teeliza_err dcap_trust_new(dcap_trust **out, bool trust_intel)
{
	dcap_trust *t = calloc(1, sizeof(*t));

	*out = NULL;
	if (t == NULL)
		return teeliza_set_error(TEELIZA_ERR_NOMEM, "out of memory");
	t->roots = sk_X509_new_null();
	if (t->roots == NULL) {
		free(t);
		return teeliza_set_error(TEELIZA_ERR_NOMEM, "out of memory");
	}
	t->intel = trust_intel;
	t->id = atomic_fetch_add(&next_trust_id, 1);
	*out = t;
	return TEELIZA_OK;
}

static teeliza_err add_root(dcap_trust *t, X509 *x)
{
	uint8_t (*fps)[32];
	unsigned int n = 32;

	if (X509_check_issued(x, x) != X509_V_OK || X509_check_ca(x) == 0)
		return teeliza_set_error(TEELIZA_ERR_INVALID, "a trusted root must be a self-signed CA certificate");
	fps = realloc(t->fingerprints, (t->nroots + 1) * sizeof(*fps));
	if (fps == NULL)
		return teeliza_set_error(TEELIZA_ERR_NOMEM, "out of memory");
	t->fingerprints = fps;
	if (X509_digest(x, dcap_sha256(), t->fingerprints[t->nroots], &n) != 1 || n != 32)
		return teeliza_set_error(TEELIZA_ERR_CRYPTO, "cannot hash a trusted root");
	if (sk_X509_push(t->roots, x) <= 0)
		return teeliza_set_error(TEELIZA_ERR_NOMEM, "out of memory");
	t->nroots++;
	return TEELIZA_OK;
}

teeliza_err dcap_trust_add_pem(dcap_trust *t, const char *pem, size_t pem_len)
{
	STACK_OF(X509) *certs = NULL;
	teeliza_err err;
	int i;

	assert(t != NULL && t != &intel_only);
	err = dcap_pem_chain(&certs, pem, pem_len, "trusted root PEM");
	if (err)
		return err;
	for (i = 0; i < sk_X509_num(certs); i++) {
		X509 *x = sk_X509_value(certs, i);

		err = add_root(t, x);
		if (err)
			break;
		X509_up_ref(x);
	}
	sk_X509_pop_free(certs, X509_free);
	t->id = atomic_fetch_add(&next_trust_id, 1);
	return err;
}

void dcap_trust_free(dcap_trust *t)
{
	if (t == NULL || t == &intel_only)
		return;
	sk_X509_pop_free(t->roots, X509_free);
	free(t->fingerprints);
	free(t);
}

bool dcap_trust_has(const dcap_trust *t, const uint8_t fp[32])
{
	size_t i;

	if (t->intel && memcmp(fp, DCAP_INTEL_ROOT_SHA256, 32) == 0)
		return true;
	for (i = 0; i < t->nroots; i++)
		if (memcmp(fp, t->fingerprints[i], 32) == 0)
			return true;
	return false;
}
