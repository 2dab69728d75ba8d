/*
 * tappd's to_report_data_with_hash: H(tag ‖ ":" ‖ content), zero-padded to the
 * 64 bytes of a TDX report_data, or the content itself for "raw".
 */
#include "teeliza/tee/reportdata.h"
#include "teeliza/common/keccak.h"

#include <assert.h>
#include <string.h>

#include <openssl/evp.h>

enum alg_kind { ALG_RAW, ALG_EVP, ALG_KECCAK };

struct hash_alg {
	const char *name;
	enum alg_kind kind;
	const EVP_MD *(*evp)(void);
	unsigned keccak_bits;
};

static const struct hash_alg algorithms[] = {
	{"sha256", ALG_EVP, EVP_sha256, 0},
	{"sha384", ALG_EVP, EVP_sha384, 0},
	{"sha512", ALG_EVP, EVP_sha512, 0},
	{"sha3-256", ALG_EVP, EVP_sha3_256, 0},
	{"sha3-384", ALG_EVP, EVP_sha3_384, 0},
	{"sha3-512", ALG_EVP, EVP_sha3_512, 0},
	{"keccak256", ALG_KECCAK, NULL, 256},
	{"keccak384", ALG_KECCAK, NULL, 384},
	{"keccak512", ALG_KECCAK, NULL, 512},
	{"raw", ALG_RAW, NULL, 0},
};

static const struct hash_alg *find_alg(const char *name)
{
	size_t i;

	if (name == NULL || name[0] == '\0')
		name = "sha512"; /* tappd's default */
	for (i = 0; i < sizeof(algorithms) / sizeof(algorithms[0]); i++)
		if (strcmp(name, algorithms[i].name) == 0)
			return &algorithms[i];
	return NULL;
}

bool tee_hash_algorithm_valid(const char *name)
{
	return find_alg(name) != NULL;
}

static teeliza_err evp_hash(uint8_t out[64], const EVP_MD *md, const char *tag,
                            const uint8_t *content, size_t content_len)
{
	EVP_MD_CTX *ctx = EVP_MD_CTX_new();
	unsigned int n = 0;
	int ok;

	if (ctx == NULL)
		return teeliza_set_error(TEELIZA_ERR_NOMEM, "out of memory");
	ok = EVP_DigestInit_ex2(ctx, md, NULL) && EVP_DigestUpdate(ctx, tag, strlen(tag)) &&
	     EVP_DigestUpdate(ctx, ":", 1) && EVP_DigestUpdate(ctx, content, content_len) &&
	     EVP_DigestFinal_ex(ctx, out, &n);
	EVP_MD_CTX_free(ctx);
	if (!ok || n > 64)
		return teeliza_set_error(TEELIZA_ERR_CRYPTO, "%s digest failed", EVP_MD_get0_name(md));
	return TEELIZA_OK;
}

teeliza_err tee_report_data(uint8_t out[64], const char *hash_algorithm, const char *prefix,
                            const uint8_t *content, size_t content_len)
{
	const struct hash_alg *alg;
	const char *tag = (prefix != NULL && prefix[0] != '\0') ? prefix : "app-data";
	uint8_t digest[64] = {0};
	teeliza_keccak_ctx kctx;
	teeliza_err err;

	assert(out != NULL && (content != NULL || content_len == 0));
	memset(out, 0, 64);
	alg = find_alg(hash_algorithm);
	if (alg == NULL)
		return teeliza_set_error(TEELIZA_ERR_INVALID, "invalid hash algorithm");
	switch (alg->kind) {
	case ALG_RAW:
		if (content_len != 64)
			return teeliza_set_error(TEELIZA_ERR_INVALID, "invalid content length");
		memcpy(digest, content, 64);
		break;
	case ALG_EVP:
		err = evp_hash(digest, alg->evp(), tag, content, content_len);
		if (err)
			return err;
		break;
	case ALG_KECCAK:
		teeliza_keccak_init(&kctx, alg->keccak_bits);
		teeliza_keccak_update(&kctx, tag, strlen(tag));
		teeliza_keccak_update(&kctx, ":", 1);
		teeliza_keccak_update(&kctx, content, content_len);
		teeliza_keccak_final(digest, &kctx);
		break;
	}
	memcpy(out, digest, 64);
	return TEELIZA_OK;
}
