/* P-256 ECDSA and SHA-256 for the verifier, with the digest fetched once. */
#include "dcap/verify_internal.h"

#include <openssl/core_names.h>
#include <openssl/param_build.h>
#include <string.h>

static EVP_MD *sha256_md;
static pthread_once_t sha256_once = PTHREAD_ONCE_INIT;

static void fetch_sha256(void)
{
	sha256_md = EVP_MD_fetch(NULL, "SHA256", NULL);
}

const EVP_MD *dcap_sha256(void)
{
	pthread_once(&sha256_once, fetch_sha256);
	return sha256_md != NULL ? sha256_md : EVP_sha256();
}

void dcap_sha256_of(uint8_t out[32], const void *data, size_t len)
{
	unsigned int n = 32;

	if (EVP_Digest(data, len, out, &n, dcap_sha256(), NULL) != 1)
		memset(out, 0, 32); /* only on allocation failure; a zero hash matches nothing real */
}

/* DER INTEGER of a 32-byte big-endian value: minimal, with 0x00 when the top bit is set. */
static size_t der_int(uint8_t *out, const uint8_t v[32])
{
	size_t i = 0, n;

	while (i < 31 && v[i] == 0)
		i++;
	n = 32 - i;
	out[0] = 0x02;
	if (v[i] & 0x80) {
		out[1] = (uint8_t)(n + 1);
		out[2] = 0;
		memcpy(out + 3, v + i, n);
		return n + 3;
	}
	out[1] = (uint8_t)n;
	memcpy(out + 2, v + i, n);
	return n + 2;
}

teeliza_err dcap_ecdsa_verify(EVP_PKEY *key, const uint8_t sig[64], const uint8_t *msg, size_t msg_len)
{
	uint8_t der[72];
	size_t n;
	EVP_MD_CTX *ctx;
	int rc;

	n = der_int(der + 2, sig);
	n += der_int(der + 2 + n, sig + 32);
	der[0] = 0x30;
	der[1] = (uint8_t)n;
	ctx = EVP_MD_CTX_new();
	if (ctx == NULL)
		return teeliza_set_error(TEELIZA_ERR_NOMEM, "out of memory");
	rc = EVP_DigestVerifyInit(ctx, NULL, dcap_sha256(), NULL, key);
	if (rc == 1)
		rc = EVP_DigestVerify(ctx, der, n + 2, msg, msg_len);
	EVP_MD_CTX_free(ctx);
	if (rc != 1)
		return teeliza_set_error(TEELIZA_ERR_VERIFY, "ECDSA signature does not verify");
	return TEELIZA_OK;
}

teeliza_err dcap_p256_key(EVP_PKEY **out, const uint8_t xy[64])
{
	uint8_t point[65];
	OSSL_PARAM params[3];
	EVP_PKEY_CTX *ctx;
	int rc;

	*out = NULL;
	point[0] = 0x04;
	memcpy(point + 1, xy, 64);
	params[0] = OSSL_PARAM_construct_utf8_string(OSSL_PKEY_PARAM_GROUP_NAME, (char *)"prime256v1", 0);
	params[1] = OSSL_PARAM_construct_octet_string(OSSL_PKEY_PARAM_PUB_KEY, point, sizeof(point));
	params[2] = OSSL_PARAM_construct_end();
	ctx = EVP_PKEY_CTX_new_from_name(NULL, "EC", NULL);
	if (ctx == NULL)
		return teeliza_set_error(TEELIZA_ERR_NOMEM, "out of memory");
	rc = EVP_PKEY_fromdata_init(ctx);
	if (rc == 1)
		rc = EVP_PKEY_fromdata(ctx, out, EVP_PKEY_PUBLIC_KEY, params);
	EVP_PKEY_CTX_free(ctx);
	if (rc != 1 || *out == NULL) {
		*out = NULL;
		return teeliza_set_error(TEELIZA_ERR_VERIFY, "not a valid P-256 public key");
	}
	return TEELIZA_OK;
}
