/*
 * The dstack key schemes (docs/KEY-SCHEMES.md): the path recipe against
 * values computed with Python's hmac, the wallet arithmetic on GetKey's 32
 * bytes against keys computed with Python's HKDF and cryptography, and the
 * rule that ties a scheme to an API (tee_wallet_choose).
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <cmocka.h>
#include "fakehttp.h"
#include "testutil.h"
#include "teeliza/common/common.h"
#include "teeliza/tee/derive.h"
#include "teeliza/common/encoding.h"
#include "teeliza/tee/dstack_wallet.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#define AGENT "b850bc30-45f8-0041-a00a-83df46d8555d"
#define SALT "my-wallet-salt"

static void test_names(void **state)
{
	tee_key_scheme s;

	(void)state;
	assert_int_equal(tee_key_scheme_parse(&s, "dstack"), TEELIZA_OK);
	assert_int_equal(s, TEE_SCHEME_DSTACK);
	assert_string_equal(tee_key_scheme_name(s), "dstack");
	assert_int_equal(tee_key_scheme_parse(&s, "dstack-sdk"), TEELIZA_OK);
	assert_int_equal(s, TEE_SCHEME_DSTACK_SDK);
	assert_string_equal(tee_key_scheme_name(s), "dstack-sdk");
	assert_int_equal(tee_key_scheme_parse(&s, "Dstack"), TEELIZA_ERR_INVALID);
	assert_non_null(strstr(teeliza_errmsg(), "dstack-sdk"));
	assert_true(tee_key_scheme_is_dstack(TEE_SCHEME_DSTACK));
	assert_true(tee_key_scheme_is_dstack(TEE_SCHEME_DSTACK_SDK));
	assert_false(tee_key_scheme_is_dstack(TEE_SCHEME_TEELIZA));
	assert_false(tee_key_scheme_is_dstack(TEE_SCHEME_ELIZA_V019));
	assert_string_equal(tee_dstack_scheme_algorithm(TEE_SCHEME_DSTACK, TEE_CHAIN_SOLANA), "ed25519");
	assert_string_equal(tee_dstack_scheme_algorithm(TEE_SCHEME_DSTACK, TEE_CHAIN_EVM), "secp256k1");
	assert_string_equal(tee_dstack_scheme_algorithm(TEE_SCHEME_DSTACK, TEE_CHAIN_RAW), "secp256k1");
	assert_string_equal(tee_dstack_scheme_algorithm(TEE_SCHEME_DSTACK_SDK, TEE_CHAIN_SOLANA), "secp256k1");
}

/* python3: hmac.new(salt, b"teeliza dstack wallet v1\0" + agent + b"\0" + chain, sha256). */
static void test_path_recipe(void **state)
{
	static const struct {
		tee_chain chain;
		const char *path;
	} want[] = {
		{TEE_CHAIN_SOLANA, "teeliza/dstack/v1/solana/8d26a8e30e57efb7994c5843e93e7b851e2461214a34a87da370ac1f414ec33e"},
		{TEE_CHAIN_EVM, "teeliza/dstack/v1/evm/539c79c8e37bbae62eebed731a07d1921c50f8f31908fcf82ad3813515e46345"},
		{TEE_CHAIN_RAW, "teeliza/dstack/v1/raw/09821be66b3a8cf3fb548164fac7056eeb6caf15edbdd4f95c2cf488377ce40b"},
	};
	teeliza_buf path, purpose, tpath, tsub;
	size_t i;

	(void)state;
	for (i = 0; i < sizeof(want) / sizeof(want[0]); i++) {
		assert_int_equal(tee_scheme_request(&path, &purpose, TEE_SCHEME_DSTACK, SALT, AGENT, want[i].chain),
		                 TEELIZA_OK);
		assert_string_equal((char *)path.data, want[i].path);
		assert_string_equal((char *)purpose.data, tee_chain_name(want[i].chain));
		/* never the teeliza scheme's MAC: another label, another key */
		assert_int_equal(tee_scheme_request(&tpath, &tsub, TEE_SCHEME_TEELIZA, SALT, AGENT, want[i].chain),
		                 TEELIZA_OK);
		assert_null(strstr((char *)path.data, strrchr((char *)tpath.data, '/') + 1));
		teeliza_buf_free(&path);
		teeliza_buf_free(&purpose);
		teeliza_buf_free(&tpath);
		teeliza_buf_free(&tsub);
	}
	/* dstack-sdk has no salt-based path: the user gives it */
	assert_int_equal(tee_scheme_request(&path, &purpose, TEE_SCHEME_DSTACK_SDK, SALT, AGENT, TEE_CHAIN_EVM),
	                 TEELIZA_ERR_CONFIG);
	assert_non_null(strstr(teeliza_errmsg(), "--path"));
	teeliza_buf_free(&path);
	teeliza_buf_free(&purpose);
	/* the common rules hold */
	assert_int_equal(tee_scheme_request(&path, &purpose, TEE_SCHEME_DSTACK, "", AGENT, TEE_CHAIN_EVM),
	                 TEELIZA_ERR_CONFIG);
	teeliza_buf_free(&path);
	teeliza_buf_free(&purpose);
}

/*
 * GetKey's key for those paths under dstack's public simulator app key
 * (tests/vectors/dstack-simulator-appkeys.json), HKDF-SHA256("RATLS", K_app,
 * path) in Python; the Ed25519 public key from Python's cryptography.
 */
static void test_wallet_arithmetic(void **state)
{
	uint8_t seed[32], key[32], zero[32];
	tee_solana_keypair sol;
	tee_evm_keypair evm;
	size_t n;

	(void)state;
	assert_int_equal(teeliza_hex_decode(seed, sizeof(seed), &n,
	                                    "06bf1a757305344e2d47e8b9f4d5c138e2e39972006aa0ff88d9493c742d0824", 64, false),
	                 TEELIZA_OK);
	assert_int_equal(tee_solana_from_seed(&sol, seed), TEELIZA_OK);
	assert_hex_equal(sol.public_key, 32, "40ee629cc587639f03c4099689c37860a0f127e35cfaba69af9a55e487c4c0f8");
	assert_memory_equal(sol.secret_key, seed, 32); /* the seed as is: no hash (toKeypairSecure) */
	assert_string_equal(sol.address, "5NTvTjZynZ2UKyvCapN7qzQWGgQePR1Ex9XbTtQRGJf1");
	assert_int_equal(teeliza_hex_decode(key, sizeof(key), &n,
	                                    "f980dc63edc42a969f8926a963790b04f0e34779497832a324add11e14552630", 64, false),
	                 TEELIZA_OK);
	assert_int_equal(tee_evm_from_private(&evm, key), TEELIZA_OK);
	assert_memory_equal(evm.private_key, key, 32); /* the key as is (toViemAccountSecure) */
	assert_string_equal(evm.address, "0xD3E8FD21c7e986CB1578f5439089d565E4ab464d");
	memset(zero, 0, sizeof(zero));
	assert_int_equal(tee_evm_from_private(&evm, zero), TEELIZA_ERR_CRYPTO);
}

struct socks {
	char dir[64], d0[96], t0[96];
	const char *dlist[2], *tlist[2];
	int fd;
};

static void socks_init(struct socks *s, bool make)
{
	memset(s, 0, sizeof(*s));
	snprintf(s->dir, sizeof(s->dir), "/tmp/teeliza-wallet-test-XXXXXX");
	assert_non_null(mkdtemp(s->dir));
	snprintf(s->d0, sizeof(s->d0), "%s/dstack.sock", s->dir);
	snprintf(s->t0, sizeof(s->t0), "%s/tappd.sock", s->dir);
	s->dlist[0] = s->d0;
	s->tlist[0] = s->t0;
	s->fd = make ? fakehttp_listen_unix(s->d0) : -1;
}

static void socks_free(struct socks *s)
{
	if (s->fd >= 0)
		close(s->fd);
	unlink(s->d0);
	rmdir(s->dir);
}

static teeliza_err choose(tee_wallet_choice *c, const struct socks *s, const char *mode, const char *api,
                          const char *scheme)
{
	tee_endpoint_env e;

	memset(&e, 0, sizeof(e));
	e.tee_mode = mode;
	e.tee_api = api;
	e.dstack_sockets = s->dlist;
	e.tappd_sockets = s->tlist;
	return tee_wallet_choose(c, &e, scheme);
}

static void test_choose(void **state)
{
	tee_wallet_choice c;
	struct socks with, without;

	(void)state;
	socks_init(&with, true);
	socks_init(&without, false);
	/* no scheme: the endpoint's API decides */
	assert_int_equal(choose(&c, &with, "PRODUCTION", NULL, NULL), TEELIZA_OK);
	assert_int_equal(c.endpoint.api, TEE_API_DSTACK);
	assert_int_equal(c.scheme, TEE_SCHEME_DSTACK);
	assert_false(c.scheme_explicit);
	assert_string_equal(c.scheme_line, "TEE: key scheme dstack (TEE_KEY_SCHEME unset: the default of the dstack API)");
	assert_int_equal(choose(&c, &without, "PRODUCTION", NULL, ""), TEELIZA_OK);
	assert_int_equal(c.endpoint.api, TEE_API_TAPPD);
	assert_int_equal(c.scheme, TEE_SCHEME_TEELIZA);
	assert_int_equal(choose(&c, &with, "LOCAL", NULL, NULL), TEELIZA_OK);
	assert_int_equal(c.endpoint.api, TEE_API_TAPPD);
	assert_int_equal(c.scheme, TEE_SCHEME_TEELIZA);
	assert_int_equal(choose(&c, &with, "PRODUCTION", "tappd", NULL), TEELIZA_OK);
	assert_int_equal(c.scheme, TEE_SCHEME_TEELIZA);
	/* an explicit scheme chooses its API */
	assert_int_equal(choose(&c, &with, "LOCAL", NULL, "dstack"), TEELIZA_OK);
	assert_int_equal(c.endpoint.api, TEE_API_DSTACK);
	assert_string_equal(c.endpoint.ep.url, "http://localhost:8090");
	assert_true(c.scheme_explicit);
	assert_string_equal(c.scheme_line, "TEE: key scheme dstack (TEE_KEY_SCHEME), dstack API");
	assert_int_equal(choose(&c, &with, "PRODUCTION", NULL, "teeliza"), TEELIZA_OK);
	assert_int_equal(c.endpoint.api, TEE_API_TAPPD);
	assert_int_equal(choose(&c, &without, "PRODUCTION", NULL, "dstack-sdk"), TEELIZA_OK);
	assert_int_equal(c.endpoint.api, TEE_API_DSTACK);
	assert_int_equal(choose(&c, &with, "PRODUCTION", "dstack", "dstack"), TEELIZA_OK);
	assert_int_equal(choose(&c, &with, "PRODUCTION", "tappd", "eliza-v0.1.7"), TEELIZA_OK);
	/* contradictions and bad values: configuration errors */
	assert_int_equal(choose(&c, &with, "PRODUCTION", "tappd", "dstack"), TEELIZA_ERR_CONFIG);
	assert_string_equal(teeliza_errmsg(), "TEE_KEY_SCHEME=dstack needs the dstack API, but TEE_API=tappd: unset one "
	                                      "of them, or make them agree (docs/DSTACK.md, \"Which key scheme\")");
	assert_int_equal(choose(&c, &with, "LOCAL", "dstack", "eliza-v0.1.9"), TEELIZA_ERR_CONFIG);
	assert_non_null(strstr(teeliza_errmsg(), "needs the tappd API, but TEE_API=dstack"));
	assert_int_equal(choose(&c, &with, "LOCAL", NULL, "dstack-v2"), TEELIZA_ERR_CONFIG);
	assert_non_null(strstr(teeliza_errmsg(), "TEE_KEY_SCHEME: unknown key scheme \"dstack-v2\""));
	/* TEE_MODE is judged first, then TEE_API */
	assert_int_equal(choose(&c, &with, "PROD", "tappd", "dstack"), TEELIZA_ERR_CONFIG);
	assert_non_null(strstr(teeliza_errmsg(), "Invalid TEE_MODE: PROD"));
	assert_int_equal(choose(&c, &with, "LOCAL", "sgx", "dstack"), TEELIZA_ERR_CONFIG);
	assert_non_null(strstr(teeliza_errmsg(), "Invalid TEE_API: sgx"));
	socks_free(&with);
	socks_free(&without);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_names),
		cmocka_unit_test(test_path_recipe),
		cmocka_unit_test(test_wallet_arithmetic),
		cmocka_unit_test(test_choose),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
