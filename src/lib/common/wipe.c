/* Wiping secrets and comparing them without leaking timing. */
#include "teeliza/common/common.h"

#include <openssl/crypto.h>

void teeliza_wipe(void *p, size_t n)
{
	if (p != NULL && n > 0)
		OPENSSL_cleanse(p, n);
}

bool teeliza_ct_eq(const void *a, const void *b, size_t n)
{
	return CRYPTO_memcmp(a, b, n) == 0;
}
