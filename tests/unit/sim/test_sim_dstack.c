/*
 * The simulator's DstackGuest and Worker services, answered through
 * tee_sim_call_on (the server's own dispatch, no network): GetKey against
 * spec §1.9's table (development keys and an .appkeys.json file), chains
 * up to the KMS root (dstack's and the simulator's own), Sign / Verify,
 * DeriveK256Key, GetAttestationForAppKey, dstack's JSON-mode rules, the
 * error shapes and texts, and bad configuration.
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <cmocka.h>

#include "testutil.h"
#include "teeliza/common/encoding.h"
#include "teeliza/common/keccak.h"
#include "teeliza/sim/simulator.h"
#include "teeliza/tee/dstack_keys.h"
#include "teeliza/tee/dstack_provenance.h"

#include <ftw.h>
#include <openssl/evp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#define SIM_APP_ID "5bb4ff9a3837357f19dc176407a5709c62eb6c56"
#define SIM_APP_PUB "02818494263695e8839122dbd88e281d7380622999df4e60a14befa0f2d096fc7c"
#define SIM_ROOT_PUB "0321529e458424ab1f710a3a57ec4dad2fb195ddca572f7469242ba6c7563085b6"
#define SIM_KMS_SIG                                                                                                  \
	"9e618603e72d01fedb82deff6daf2d62a572becf0059eec3f89c1ab40e1f2e594d2a283f843f34e8f39e4cc49a612496ce67223a12ac9" \
	"23f8efe330346dfc6c500"

/* §1.9: GetKey against dstack's simulator keys. */
static const struct {
	const char *path, *purpose, *alg, *key, *pub, *chain0;
} getkey_rows[] = {
	{"/test/path", "test-purpose", "secp256k1", "b9fbb7171185c421c58610a2acba8ceae93623ae47815618cbad1e98fc042cb7",
	 "02c1082e78670feed1c847db81dbd71be37e4d53200a746c0a89f0afa8173cf566",
	 "f50c51735a97072f0c98125ed61fc84e2fdb36e95990b9e57337dadc0e2a9712227f04e07209faecb8891d59ec144a6c13e411dc90b34"
	 "23f28071bd3fe11978d01"},
	{"/test/path", "test-purpose", "ed25519", "b9fbb7171185c421c58610a2acba8ceae93623ae47815618cbad1e98fc042cb7",
	 "2149e71e37ed8568f5a240e6966b5d6f6017428069ddf06ed4c04151de4b2304",
	 "effb33c8bb9beab8058a165af210047acb15a67bb6482819b44655f8b22a150a45e50fdce916374f2f4bd380c83eac6ca8b6a765a4fb7c3"
	 "f03ab9932342ce53200"},
	{"wallet/eth", "signing", "secp256k1", "65cca2e2dcbe516145cc7bcbfea6fab9d7f430d6ea66cd1775f37142c25dfa40",
	 "037743325a2eec97a2b54749972be2eb1107d0a00f5abee4f1d63bbab3a9eebbd5",
	 "43d9cbab7f21d9e8d9ddb2f8ef37828a33e98c8883dc37ef4acaf65c8c94a62152f2990f7a36cfbb59e6cf0153a5fa51118f909204a79c"
	 "ca0453e4716ccdad6c00"},
	{"", "", "secp256k1", "aa221ae548b5a8f52fcb8687cfd873712f6a1232b2717e5ee3d58ab74f21905b",
	 "027458ba47c31272b5076edebdc1ecdaedef806b10d76dd0a209cbd1fa14a3f9cf",
	 "64ce2f1b381d04f7404fda78bdc942c314d89b7069d97eea1897e51b249dd3b1700995cbf7efe7ff04195dd6e31f153b702eeeeaffc594"
	 "1510739dc39b9bd9cf01"},
};

static char tmp_dir[64];

static int rm_entry(const char *path, const struct stat *st, int flag, struct FTW *ftw)
{
	(void)st;
	(void)flag;
	(void)ftw;
	return remove(path);
}

static int setup(void **state)
{
	(void)state;
	snprintf(tmp_dir, sizeof(tmp_dir), "/tmp/teeliza-simdstack-XXXXXX");
	assert_non_null(mkdtemp(tmp_dir));
	return 0;
}

static int teardown(void **state)
{
	(void)state;
	nftw(tmp_dir, rm_entry, 16, FTW_DEPTH | FTW_PHYS);
	return 0;
}

struct opts {
	const char *state;      /* sub-directory of tmp_dir; NULL = "state" */
	bool dev_keys;
	const char *appkeys;
	const char *compose;
	const char *app_id;
	bool refuse_emit;
};

static teeliza_err try_start(tee_sim **out, const struct opts *o)
{
	char state[192];
	tee_sim_config cfg;

	snprintf(state, sizeof(state), "%s/%s", tmp_dir, o->state != NULL ? o->state : "state");
	memset(&cfg, 0, sizeof(cfg));
	cfg.state_dir = state;
	cfg.key_pem = tee_sim_dev_key_pem;
	cfg.no_listener = true;
	cfg.quiet = true;
	cfg.dstack_dev_keys = o->dev_keys;
	cfg.appkeys_file = o->appkeys;
	cfg.compose_file = o->compose;
	cfg.app_id_hex = o->app_id;
	cfg.refuse_emit_event = o->refuse_emit;
	return tee_sim_start(out, &cfg);
}

static tee_sim *start(const struct opts *o)
{
	tee_sim *sim = NULL;

	if (try_start(&sim, o) != TEELIZA_OK)
		fail_msg("tee_sim_start: %s", teeliza_errmsg());
	return sim;
}

/* One request on a listener; returns the body (caller frees), *status set. */
static char *call_on(unsigned *status, tee_sim *sim, tee_sim_listener l, const char *method, const char *path,
                     const char *query, const char *ctype, const char *body)
{
	teeliza_buf reply;
	char *text;

	assert_int_equal(tee_sim_call_on(&reply, status, sim, l, method, path, query, ctype, (const uint8_t *)body,
	                                 body != NULL ? strlen(body) : 0),
	                 TEELIZA_OK);
	text = strdup(reply.data != NULL ? (const char *)reply.data : "");
	assert_non_null(text);
	teeliza_buf_free(&reply);
	return text;
}

/* POST path with a JSON body on the dstack socket; 200 expected; the answer parsed. */
static json_t *post_ok(tee_sim *sim, const char *path, const char *body)
{
	unsigned status = 0;
	char *text = call_on(&status, sim, TEE_SIM_DSTACK_SOCKET, "POST", path, NULL, "application/json", body);
	json_error_t je;
	json_t *j;

	if (status != 200)
		fail_msg("POST %s %s: %u %s", path, body, status, text);
	j = json_loads(text, JSON_DECODE_ANY, &je);
	if (j == NULL)
		fail_msg("POST %s: not JSON (%s): %.300s", path, je.text, text);
	free(text);
	return j;
}

/* pRPC's error body: serde_json::to_string_pretty({"error": msg}) (msg ASCII here). */
static void assert_error_body(const char *body, const char *msg)
{
	char want[1024];
	size_t n = 0, i;

	n += (size_t)snprintf(want, sizeof(want), "{\n  \"error\": \"");
	for (i = 0; msg[i] != 0 && n + 4 < sizeof(want); i++) {
		if (msg[i] == '"' || msg[i] == '\\')
			want[n++] = '\\';
		want[n++] = msg[i];
	}
	snprintf(want + n, sizeof(want) - n, "\"\n}");
	assert_string_equal(body, want);
}

static void expect_error(tee_sim *sim, tee_sim_listener l, const char *method, const char *path, const char *query,
                         const char *ctype, const char *body, unsigned want_status, const char *msg)
{
	unsigned status = 0;
	char *text = call_on(&status, sim, l, method, path, query, ctype, body);

	if (status != want_status)
		fail_msg("%s %s %s: %u %s (want %u %s)", method, path, body ? body : "", status, text, want_status, msg);
	assert_error_body(text, msg);
	free(text);
}

static const char *jstr(const json_t *o, const char *key)
{
	const char *s = json_string_value(json_object_get(o, key));

	if (s == NULL)
		fail_msg("field %s missing or not a string", key);
	return s;
}

static void hex_to(uint8_t *out, size_t len, const char *hex)
{
	size_t n = 0;

	assert_int_equal(teeliza_hex_decode(out, len, &n, hex, strlen(hex), false), TEELIZA_OK);
	assert_int_equal(n, len);
}

/* Every bytes field is lowercase hex without "0x". */
static void assert_plain_hex(const char *s, size_t bytes)
{
	size_t i;

	assert_int_equal(strlen(s), 2 * bytes);
	for (i = 0; s[i] != 0; i++)
		assert_true((s[i] >= '0' && s[i] <= '9') || (s[i] >= 'a' && s[i] <= 'f'));
}

/* ---- GetKey ---- */

static void check_getkey_table(tee_sim *sim)
{
	uint8_t app_id[20], root[33];
	char body[256];
	size_t i;

	for (i = 0; i < sizeof(getkey_rows) / sizeof(getkey_rows[0]); i++) {
		json_t *j, *chain;
		uint8_t key[32], pub[33], c0[65], c1[65], digest[32], app_pub[33];
		size_t pub_len;
		tee_dstack_alg alg;

		snprintf(body, sizeof(body), "{\"path\":\"%s\",\"purpose\":\"%s\",\"algorithm\":\"%s\"}", getkey_rows[i].path,
		         getkey_rows[i].purpose, getkey_rows[i].alg);
		j = post_ok(sim, "/GetKey", body);
		assert_int_equal(json_object_size(j), 2);
		assert_string_equal(jstr(j, "key"), getkey_rows[i].key);
		chain = json_object_get(j, "signature_chain");
		assert_int_equal(json_array_size(chain), 2);
		assert_string_equal(json_string_value(json_array_get(chain, 0)), getkey_rows[i].chain0);
		assert_string_equal(json_string_value(json_array_get(chain, 1)), SIM_KMS_SIG);
		/* chain[0] recovers to dstack's simulator app key, chain[1] to its KMS root */
		hex_to(key, 32, getkey_rows[i].key);
		assert_int_equal(tee_dstack_key_alg_parse(&alg, getkey_rows[i].alg, strlen(getkey_rows[i].alg)), TEELIZA_OK);
		assert_int_equal(tee_dstack_public_key(pub, &pub_len, alg, key), TEELIZA_OK);
		assert_hex_equal(pub, pub_len, getkey_rows[i].pub);
		hex_to(c0, 65, json_string_value(json_array_get(chain, 0)));
		hex_to(c1, 65, json_string_value(json_array_get(chain, 1)));
		tee_dstack_key_digest(digest, getkey_rows[i].purpose, strlen(getkey_rows[i].purpose), pub, pub_len);
		assert_int_equal(tee_dstack_recover(app_pub, c0, digest), TEELIZA_OK);
		assert_hex_equal(app_pub, 33, SIM_APP_PUB);
		hex_to(app_id, 20, SIM_APP_ID);
		tee_dstack_kms_digest(digest, app_id, app_pub);
		assert_int_equal(tee_dstack_recover(root, c1, digest), TEELIZA_OK);
		assert_hex_equal(root, 33, SIM_ROOT_PUB);
		json_decref(j);
	}
	assert_true(tee_sim_kms_root(root, sim));
	assert_hex_equal(root, 33, SIM_ROOT_PUB);
	tee_sim_app_id(app_id, sim);
	assert_hex_equal(app_id, 20, SIM_APP_ID);
}

/* §1.9's table byte for byte, with the built-in development keys and with dstack's appkeys.json. */
static void test_getkey_table(void **state)
{
	struct opts o = {0};
	tee_sim *sim;

	(void)state;
	o.dev_keys = true;
	sim = start(&o);
	check_getkey_table(sim);
	tee_sim_stop(sim);

	memset(&o, 0, sizeof(o));
	o.appkeys = vector_path("dstack-simulator-appkeys.json");
	sim = start(&o);
	check_getkey_table(sim);
	assert_non_null(strstr(tee_sim_keys_source(sim), "dstack-simulator-appkeys.json"));
	tee_sim_stop(sim);
}

/* The same request answered twice (the second from the cache) gives the same bytes; "k256" and "" are secp256k1. */
static void test_getkey_aliases_and_cache(void **state)
{
	struct opts o = {0};
	tee_sim *sim;
	json_t *a, *b, *c;
	char *d1, *d2;

	(void)state;
	o.dev_keys = true;
	sim = start(&o);
	a = post_ok(sim, "/GetKey", "{\"path\":\"wallet/eth\",\"purpose\":\"signing\"}");
	b = post_ok(sim, "/GetKey", "{\"path\":\"wallet/eth\",\"purpose\":\"signing\",\"algorithm\":\"k256\"}");
	c = post_ok(sim, "/GetKey", "{\"path\":\"wallet/eth\",\"purpose\":\"signing\",\"algorithm\":\"\"}");
	d1 = json_dumps(a, JSON_COMPACT);
	d2 = json_dumps(b, JSON_COMPACT);
	assert_string_equal(d1, d2);
	free(d2);
	d2 = json_dumps(c, JSON_COMPACT);
	assert_string_equal(d1, d2);
	assert_string_equal(jstr(a, "key"), getkey_rows[2].key);
	free(d1);
	free(d2);
	json_decref(a);
	json_decref(b);
	json_decref(c);
	/* another purpose is another chain[0], the same key */
	a = post_ok(sim, "/GetKey", "{\"path\":\"wallet/eth\",\"purpose\":\"other\"}");
	assert_string_equal(jstr(a, "key"), getkey_rows[2].key);
	assert_string_not_equal(json_string_value(json_array_get(json_object_get(a, "signature_chain"), 0)),
	                        getkey_rows[2].chain0);
	json_decref(a);
	tee_sim_stop(sim);
}

/* Without app keys: a KMS root of the simulator's own, 0600, kept across restarts; chains verify up to it. */
static void test_own_kms_root(void **state)
{
	struct opts o = {0};
	tee_sim *sim;
	uint8_t root1[33], root2[33], app_id[20];
	char path[256], app_id_hex[41], root_hex[67];
	const char *chain[2];
	json_t *k, *q;
	struct stat st;
	tee_dstack_key_claim claim;
	tee_dstack_key_report rep;

	(void)state;
	o.state = "own-root";
	sim = start(&o);
	assert_true(tee_sim_kms_root(root1, sim));
	snprintf(path, sizeof(path), "%s/own-root/kms-root-k256.key", tmp_dir);
	assert_int_equal(stat(path, &st), 0);
	assert_int_equal(st.st_mode & 0777, 0600);
	assert_int_equal(st.st_size, 65);
	assert_non_null(strstr(tee_sim_keys_source(sim), "created in"));
	k = post_ok(sim, "/GetKey", "{\"path\":\"wallet/eth\",\"purpose\":\"signing\"}");
	q = post_ok(sim, "/GetQuote", "{}");
	tee_sim_app_id(app_id, sim);
	teeliza_hex_encode(app_id_hex, app_id, 20);
	teeliza_hex_encode(root_hex, root1, 33);
	/* the app id from the attested log, the root pinned: every link holds */
	memset(&claim, 0, sizeof(claim));
	claim.algorithm = "secp256k1";
	claim.purpose = "signing";
	claim.purpose_len = 7;
	claim.key_hex = jstr(k, "key");
	chain[0] = json_string_value(json_array_get(json_object_get(k, "signature_chain"), 0));
	chain[1] = json_string_value(json_array_get(json_object_get(k, "signature_chain"), 1));
	claim.chain_hex = chain;
	claim.chain_len = 2;
	claim.kms_root_hex = root_hex;
	claim.event_log = jstr(q, "event_log");
	claim.event_log_len = strlen(claim.event_log);
	if (tee_dstack_verify_key(&rep, &claim) != TEELIZA_OK)
		fail_msg("chain: %s", rep.message);
	assert_true(rep.app_id_from_log);
	assert_memory_equal(rep.app_id, app_id, 20);
	/* dstack's simulator root is not this one */
	claim.kms_root_hex = SIM_ROOT_PUB;
	assert_int_equal(tee_dstack_verify_key(&rep, &claim), TEELIZA_ERR_VERIFY);
	assert_int_equal(rep.broken, TEE_DSTACK_LINK_KMS_ROOT);
	/* a broken chain[0] breaks the chain */
	{
		char bad[131];

		snprintf(bad, sizeof(bad), "%s", chain[0]);
		bad[10] = bad[10] == '0' ? '1' : '0';
		chain[0] = bad;
		claim.kms_root_hex = root_hex;
		assert_int_not_equal(tee_dstack_verify_key(&rep, &claim), TEELIZA_OK);
		assert_int_not_equal(rep.broken, TEE_DSTACK_LINK_NONE);
	}
	json_decref(k);
	json_decref(q);
	tee_sim_stop(sim);
	/* a restart keeps the root (and says so) */
	sim = start(&o);
	assert_true(tee_sim_kms_root(root2, sim));
	assert_memory_equal(root1, root2, 33);
	assert_non_null(strstr(tee_sim_keys_source(sim), "from"));
	tee_sim_stop(sim);
}

/* Broken key material is refused at start with a clear message, never replaced. */
static void test_bad_keys(void **state)
{
	struct opts o = {0};
	tee_sim *sim = NULL;
	char path[320], dir[256];

	(void)state;
	o.state = "bad-root";
	snprintf(dir, sizeof(dir), "%s/bad-root", tmp_dir);
	assert_int_equal(mkdir(dir, 0700), 0);
	snprintf(path, sizeof(path), "%s/kms-root-k256.key", dir);
	/* not hex, then the zero scalar */
	assert_int_equal(teeliza_write_file(path, "hello\n", 6, 0600), TEELIZA_OK);
	assert_int_equal(try_start(&sim, &o), TEELIZA_ERR_CONFIG);
	assert_non_null(strstr(teeliza_errmsg(), "expected 64 hex digits"));
	assert_int_equal(teeliza_write_file(path, "0000000000000000000000000000000000000000000000000000000000000000\n", 65,
	                                    0600),
	                 TEELIZA_OK);
	assert_int_equal(try_start(&sim, &o), TEELIZA_ERR_CONFIG);
	assert_non_null(strstr(teeliza_errmsg(), "not a valid secp256k1 key"));
	assert_null(sim);

	/* app keys: missing, not JSON, a signature of the wrong length; both sources at once */
	memset(&o, 0, sizeof(o));
	o.appkeys = "/nonexistent/teeliza/appkeys.json";
	assert_int_equal(try_start(&sim, &o), TEELIZA_ERR_CONFIG);
	assert_non_null(strstr(teeliza_errmsg(), "does not exist"));
	snprintf(path, sizeof(path), "%s/appkeys-bad.json", tmp_dir);
	assert_int_equal(teeliza_write_file(path, "{\"k256_key\":", 12, 0600), TEELIZA_OK);
	o.appkeys = path;
	assert_int_not_equal(try_start(&sim, &o), TEELIZA_OK);
	assert_non_null(strstr(teeliza_errmsg(), "appkeys-bad.json"));
	{
		const char text[] = "{\"k256_key\":\"d6e88992cdeeee35fe70b5db61ab66cdb191fb9b6ec9313757ef162dd7214d5d\","
		                    "\"k256_signature\":\"9e61\"}";

		assert_int_equal(teeliza_write_file(path, text, sizeof(text) - 1, 0600), TEELIZA_OK);
		assert_int_equal(try_start(&sim, &o), TEELIZA_ERR_INVALID);
		assert_non_null(strstr(teeliza_errmsg(), "appkeys-bad.json"));
	}
	o.dev_keys = true;
	assert_int_equal(try_start(&sim, &o), TEELIZA_ERR_CONFIG);
	assert_non_null(strstr(teeliza_errmsg(), "not both"));
	assert_null(sim);
}

/* ---- Sign, Verify ---- */

static void test_sign_verify(void **state)
{
	static const char *const algs[] = {"ed25519", "secp256k1", "secp256k1_prehashed", "k256"};
	static const char data32[] = "000102030405060708090a0b0c0d0e0f101112131415161718191a1b1c1d1e1f";
	struct opts o = {0};
	tee_sim *sim;
	char body[512];
	size_t i;

	(void)state;
	o.dev_keys = true;
	sim = start(&o);
	for (i = 0; i < sizeof(algs) / sizeof(algs[0]); i++) {
		json_t *s, *v, *k, *chain, *kchain;
		const char *key_alg = strcmp(algs[i], "ed25519") == 0 ? "ed25519" : "secp256k1";
		uint8_t key[32], pub[33];
		size_t pub_len;

		snprintf(body, sizeof(body), "{\"algorithm\":\"%s\",\"data\":\"%s\"}", algs[i], data32);
		s = post_ok(sim, "/Sign", body);
		assert_plain_hex(jstr(s, "signature"), 64);
		chain = json_object_get(s, "signature_chain");
		assert_int_equal(json_array_size(chain), 3);
		assert_string_equal(json_string_value(json_array_get(chain, 0)), jstr(s, "signature"));
		/* the key is GetKey("vms", "signing") and its chain follows the signature */
		snprintf(body, sizeof(body), "{\"path\":\"vms\",\"purpose\":\"signing\",\"algorithm\":\"%s\"}", key_alg);
		k = post_ok(sim, "/GetKey", body);
		kchain = json_object_get(k, "signature_chain");
		assert_string_equal(json_string_value(json_array_get(chain, 1)), json_string_value(json_array_get(kchain, 0)));
		assert_string_equal(json_string_value(json_array_get(chain, 2)), SIM_KMS_SIG);
		hex_to(key, 32, jstr(k, "key"));
		assert_int_equal(tee_dstack_public_key(pub, &pub_len, strcmp(key_alg, "ed25519") == 0 ? TEE_DSTACK_ALG_ED25519
		                                                                                     : TEE_DSTACK_ALG_SECP256K1,
		                                       key),
		                 TEELIZA_OK);
		assert_hex_equal(pub, pub_len, jstr(s, "public_key"));
		/* Verify says true for it, false once the data changes */
		snprintf(body, sizeof(body), "{\"algorithm\":\"%s\",\"data\":\"%s\",\"signature\":\"%s\",\"public_key\":\"%s\"}",
		         algs[i], data32, jstr(s, "signature"), jstr(s, "public_key"));
		v = post_ok(sim, "/Verify", body);
		assert_true(json_is_true(json_object_get(v, "valid")));
		json_decref(v);
		body[strstr(body, "\"data\":\"") - body + 9] = '1'; /* 00 → 01 */
		v = post_ok(sim, "/Verify", body);
		assert_true(json_is_false(json_object_get(v, "valid")));
		json_decref(v);
		json_decref(k);
		json_decref(s);
	}
	/* the agent's errors, word for word */
	expect_error(sim, TEE_SIM_DSTACK_SOCKET, "POST", "/Sign", NULL, "application/json",
	             "{\"algorithm\":\"rsa\",\"data\":\"00\"}", 400, "Unsupported algorithm");
	expect_error(sim, TEE_SIM_DSTACK_SOCKET, "POST", "/Sign", NULL, "application/json",
	             "{\"algorithm\":\"\",\"data\":\"00\"}", 400, "Unsupported algorithm");
	expect_error(sim, TEE_SIM_DSTACK_SOCKET, "POST", "/Sign", NULL, "application/json",
	             "{\"algorithm\":\"secp256k1_prehashed\",\"data\":\"00\"}", 400,
	             "Pre-hashed signing requires a 32-byte digest, but received 1 bytes");
	expect_error(sim, TEE_SIM_DSTACK_SOCKET, "POST", "/Verify", NULL, "application/json",
	             "{\"algorithm\":\"ed25519\",\"data\":\"00\",\"signature\":\"00\",\"public_key\":\"00\"}", 400,
	             "invalid public key");
	expect_error(sim, TEE_SIM_DSTACK_SOCKET, "POST", "/Verify", NULL, "application/json",
	             "{\"algorithm\":\"sha256\",\"data\":\"00\",\"signature\":\"00\",\"public_key\":\"00\"}", 400,
	             "Unsupported algorithm");
	tee_sim_stop(sim);
}

/* ---- the tappd-compat DeriveK256Key and the Worker's GetAttestationForAppKey ---- */

static void test_derive_k256_key(void **state)
{
	struct opts o = {0};
	tee_sim *sim;
	unsigned status = 0;
	char *text, *again;
	json_t *j, *chain;

	(void)state;
	o.dev_keys = true;
	sim = start(&o);
	/* on the tappd socket and over TCP, with and without the Tappd. prefix */
	text = call_on(&status, sim, TEE_SIM_TAPPD_SOCKET, "POST", "/prpc/Tappd.DeriveK256Key", NULL, "application/json",
	               "{\"path\":\"wallet/eth\",\"purpose\":\"signing\",\"algorithm\":\"secp256k1\"}");
	assert_int_equal(status, 200);
	again = call_on(&status, sim, TEE_SIM_TCP, "POST", "/prpc/DeriveK256Key", NULL, "application/json",
	                "{\"path\":\"wallet/eth\",\"purpose\":\"signing\"}");
	assert_int_equal(status, 200);
	assert_string_equal(text, again);
	j = json_loads(text, 0, NULL);
	assert_non_null(j);
	assert_string_equal(jstr(j, "k256_key"), getkey_rows[2].key);
	chain = json_object_get(j, "k256_signature_chain");
	assert_string_equal(json_string_value(json_array_get(chain, 0)), getkey_rows[2].chain0);
	assert_string_equal(json_string_value(json_array_get(chain, 1)), SIM_KMS_SIG);
	json_decref(j);
	free(text);
	free(again);
	/* its errors are 400 like the other tappd errors; not on the dstack socket */
	text = call_on(&status, sim, TEE_SIM_TAPPD_SOCKET, "POST", "/prpc/Tappd.DeriveK256Key", NULL, "application/json",
	               "{\"algorithm\":\"rsa\"}");
	assert_int_equal(status, 400);
	assert_error_body(text, "Unsupported algorithm");
	free(text);
	expect_error(sim, TEE_SIM_DSTACK_SOCKET, "POST", "/prpc/Tappd.DeriveK256Key", NULL, "application/json", "{}",
	             404, "method Not Found");
	tee_sim_stop(sim);
}

/* report_data "dip1::<kind>:" ‖ base64url(pub(GetKey("vms"))), zero-padded; a GetQuote-shaped answer. */
static void test_attestation_for_app_key(void **state)
{
	static const struct {
		const char *alg, *key_alg, *prefix;
	} cases[] = {
		{"secp256k1", "secp256k1", "dip1::secp256k1c-pk:"},
		{"k256", "secp256k1", "dip1::secp256k1c-pk:"},
		{"ed25519", "ed25519", "dip1::ed25519-pk:"},
	};
	struct opts o = {0};
	tee_sim *sim;
	char body[256];
	size_t i;

	(void)state;
	o.dev_keys = true;
	sim = start(&o);
	for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		unsigned status = 0;
		char *text, want[160];
		json_t *j, *k;
		uint8_t rd[64], key[32], pub[33], expect[64];
		size_t pub_len, n, b;
		teeliza_buf b64;

		snprintf(body, sizeof(body), "{\"algorithm\":\"%s\"}", cases[i].alg);
		text = call_on(&status, sim, TEE_SIM_TCP, "POST", "/prpc/Worker.GetAttestationForAppKey", NULL,
		               "application/json", body);
		assert_int_equal(status, 200);
		j = json_loads(text, 0, NULL);
		assert_non_null(j);
		snprintf(body, sizeof(body), "{\"path\":\"vms\",\"purpose\":\"signing\",\"algorithm\":\"%s\"}",
		         cases[i].key_alg);
		k = post_ok(sim, "/GetKey", body);
		hex_to(key, 32, jstr(k, "key"));
		assert_int_equal(tee_dstack_public_key(pub, &pub_len,
		                                       strcmp(cases[i].key_alg, "ed25519") == 0 ? TEE_DSTACK_ALG_ED25519
		                                                                                : TEE_DSTACK_ALG_SECP256K1,
		                                       key),
		                 TEELIZA_OK);
		/* base64url without padding, computed here from standard base64 */
		teeliza_buf_init(&b64, 256);
		assert_int_equal(teeliza_base64_encode_buf(&b64, pub, pub_len), TEELIZA_OK);
		n = (size_t)snprintf(want, sizeof(want), "%s", cases[i].prefix);
		for (b = 0; b < b64.len && b64.data[b] != '='; b++)
			want[n++] = b64.data[b] == '+' ? '-' : b64.data[b] == '/' ? '_' : (char)b64.data[b];
		want[n] = 0;
		teeliza_buf_free(&b64);
		assert_true(n <= 64);
		memset(expect, 0, sizeof(expect));
		memcpy(expect, want, n);
		hex_to(rd, 64, jstr(j, "report_data"));
		assert_memory_equal(rd, expect, 64);
		{
			size_t qlen;
			uint8_t *q = hex_alloc(jstr(j, "quote"), &qlen);

			assert_memory_equal(q + 568, expect, 64);
			free(q);
		}
		assert_true(json_is_string(json_object_get(j, "event_log")));
		assert_true(json_is_string(json_object_get(j, "vm_config")));
		json_decref(j);
		json_decref(k);
		free(text);
	}
	expect_error(sim, TEE_SIM_TCP, "POST", "/prpc/Worker.GetAttestationForAppKey", NULL, "application/json",
	             "{\"algorithm\":\"\"}", 400, "Unsupported algorithm");
	expect_error(sim, TEE_SIM_TCP, "POST", "/prpc/Worker.GetAttestationForAppKey", NULL, "application/json",
	             "{\"algorithm\":\"secp256k1_prehashed\"}", 400, "Unsupported algorithm");
	tee_sim_stop(sim);
}

/* ---- dstack's JSON rules and error shapes ---- */

static void test_json_rules(void **state)
{
	struct opts o = {0};
	tee_sim *sim;
	unsigned status = 0;
	char *text;
	json_t *j;

	(void)state;
	o.dev_keys = true;
	sim = start(&o);
	/* GET takes the query string (url-encoded; ?json is not a field) */
	text = call_on(&status, sim, TEE_SIM_DSTACK_SOCKET, "GET", "/GetKey",
	               "path=%2Ftest%2Fpath&purpose=test-purpose&algorithm=ed25519&json", "", NULL);
	assert_int_equal(status, 200);
	assert_non_null(strstr(text, getkey_rows[1].chain0));
	free(text);
	/* ?json (empty, true, 1) or a JSON content type (any parameters) make a POST JSON */
	{
		static const char *const queries[] = {"json", "json=", "json=true", "json=1", "x=2&json"};
		size_t i;

		for (i = 0; i < sizeof(queries) / sizeof(queries[0]); i++) {
			text = call_on(&status, sim, TEE_SIM_DSTACK_SOCKET, "POST", "/GetKey", queries[i], "text/plain",
			               "{\"path\":\"\"}");
			assert_int_equal(status, 200);
			assert_non_null(strstr(text, getkey_rows[3].key));
			free(text);
		}
	}
	text = call_on(&status, sim, TEE_SIM_DSTACK_SOCKET, "POST", "/GetKey", NULL, "Application/JSON; charset=utf-8",
	               "{}");
	assert_int_equal(status, 200);
	free(text);
	/* otherwise pRPC reads protobuf, which the simulator does not speak: a clear 400 */
	{
		static const char *const ctypes[] = {"", "text/plain", "application/x-protobuf", "application/jsonx"};
		size_t i;

		for (i = 0; i < sizeof(ctypes) / sizeof(ctypes[0]); i++)
			expect_error(sim, TEE_SIM_DSTACK_SOCKET, "POST", "/GetKey", i == 0 ? "json=0" : NULL, ctypes[i], "{}",
			             400,
			             "protobuf requests are not supported by this simulator: send a JSON body with Content-Type: "
			             "application/json, add ?json to the URL, or use GET with a query string");
	}
	/* an empty body is the default message; unknown fields are ignored */
	j = post_ok(sim, "/GetKey", "");
	assert_string_equal(jstr(j, "key"), getkey_rows[3].key);
	json_decref(j);
	j = post_ok(sim, "/GetKey", "{\"future\":[1,{\"x\":2}],\"path\":\"\"}");
	assert_string_equal(jstr(j, "key"), getkey_rows[3].key);
	json_decref(j);
	/* Info and Version ignore the body */
	j = post_ok(sim, "/Version", "this is not JSON");
	assert_string_equal(jstr(j, "version"), "0.5.11");
	assert_true(strlen(jstr(j, "rev")) > 0);
	json_decref(j);
	j = post_ok(sim, "/Info", "[1,2");
	assert_plain_hex(jstr(j, "app_id"), 20);
	json_decref(j);
	/* EmitEvent's Empty answer is the JSON null */
	text = call_on(&status, sim, TEE_SIM_DSTACK_SOCKET, "POST", "/EmitEvent", NULL, "application/json",
	               "{\"event\":\"x\"}");
	assert_int_equal(status, 200);
	assert_string_equal(text, "null");
	free(text);
	/* unknown methods, in dstack's words; other paths and HTTP methods 404 */
	expect_error(sim, TEE_SIM_DSTACK_SOCKET, "POST", "/GetKeys", NULL, "application/json", "{}", 400,
	             "Service not found: GetKeys");
	expect_error(sim, TEE_SIM_DSTACK_SOCKET, "GET", "/getkey", NULL, "", NULL, 400, "Service not found: getkey");
	expect_error(sim, TEE_SIM_DSTACK_SOCKET, "POST", "/DeriveKey", NULL, "application/json", "{}", 400,
	             "Service not found: DeriveKey");
	expect_error(sim, TEE_SIM_DSTACK_SOCKET, "POST", "/prpc/GetKey", NULL, "application/json", "{}", 404,
	             "method Not Found");
	expect_error(sim, TEE_SIM_DSTACK_SOCKET, "POST", "/", NULL, "application/json", "{}", 404, "method Not Found");
	expect_error(sim, TEE_SIM_DSTACK_SOCKET, "PUT", "/GetKey", NULL, "application/json", "{}", 404,
	             "method Not Found");
	/* bad arguments */
	expect_error(sim, TEE_SIM_DSTACK_SOCKET, "POST", "/GetKey", NULL, "application/json", "{\"algorithm\":\"rsa\"}",
	             400, "Unsupported algorithm");
	expect_error(sim, TEE_SIM_DSTACK_SOCKET, "POST", "/GetKey", NULL, "application/json",
	             "{\"algorithm\":\"secp256k1_prehashed\"}", 400, "Unsupported algorithm");
	expect_error(sim, TEE_SIM_DSTACK_SOCKET, "POST", "/GetKey", NULL, "application/json", "{\"path\":1}", 400,
	             "invalid field \"path\": expected a string, found integer");
	expect_error(sim, TEE_SIM_DSTACK_SOCKET, "POST", "/GetKey", NULL, "application/json", "[]", 400,
	             "invalid request: expected a JSON object, found array");
	expect_error(sim, TEE_SIM_DSTACK_SOCKET, "POST", "/GetQuote", NULL, "application/json",
	             "{\"report_data\":\"zz\"}", 400, "invalid field \"report_data\": invalid hex character 'z' at position 0");
	{
		char body[256];

		snprintf(body, sizeof(body), "{\"report_data\":\"%0130d\"}", 0);
		expect_error(sim, TEE_SIM_DSTACK_SOCKET, "POST", "/GetQuote", NULL, "application/json", body, 400,
		             "Report data is too long");
		expect_error(sim, TEE_SIM_DSTACK_SOCKET, "POST", "/Attest", NULL, "application/json", body, 400,
		             "Report data is too long");
		snprintf(body, sizeof(body), "report_data=%0130d", 0);
		expect_error(sim, TEE_SIM_DSTACK_SOCKET, "GET", "/GetQuote", body, "", NULL, 400, "Report data is too long");
	}
	tee_sim_stop(sim);
}

/* ---- the app: compose file, compose hash, app id ---- */

static void test_compose_and_app_id(void **state)
{
	static const char compose[] = "{\"manifest_version\": 2, \"name\": \"my-app\", \"runner\": \"docker-compose\",\n"
	                              " \"public_tcbinfo\": false, \"storage_fs\": \"EXT4\", \"no_instance_id\": true}\n";
	struct opts o = {0};
	tee_sim *sim = NULL;
	char path[256];
	uint8_t hash[32], app_id[20];
	json_t *info;

	(void)state;
	snprintf(path, sizeof(path), "%s/app-compose.json", tmp_dir);
	assert_int_equal(teeliza_write_file(path, compose, sizeof(compose) - 1, 0644), TEELIZA_OK);
	o.state = "compose";
	o.compose = path;
	sim = start(&o);
	/* the hash of the file's bytes, as dstack's OS measures it; no app id given: its first 20 bytes */
	assert_int_equal(EVP_Digest(compose, sizeof(compose) - 1, hash, NULL, EVP_sha256(), NULL), 1);
	tee_sim_app_id(app_id, sim);
	assert_memory_equal(app_id, hash, 20);
	info = post_ok(sim, "/Info", "");
	assert_hex_equal(hash, 32, jstr(info, "compose_hash"));
	assert_string_equal(jstr(info, "app_name"), "my-app");
	assert_string_equal(jstr(info, "instance_id"), ""); /* no_instance_id */
	json_decref(info);
	tee_sim_stop(sim);

	/* --app-id wins; dstack's simulator app id is the default with its keys */
	o.app_id = "0x00112233445566778899aabbccddeeff00112233";
	sim = start(&o);
	tee_sim_app_id(app_id, sim);
	assert_hex_equal(app_id, 20, "00112233445566778899aabbccddeeff00112233");
	tee_sim_stop(sim);
	memset(&o, 0, sizeof(o));
	o.dev_keys = true;
	sim = start(&o);
	tee_sim_app_id(app_id, sim);
	assert_hex_equal(app_id, 20, SIM_APP_ID);
	tee_sim_stop(sim);

	/* what dstack would refuse to boot with */
	{
		static const struct {
			const char *text, *msg;
		} bad[] = {
			{"{\"name\":\"x\",\"runner\":\"docker-compose\"}", "\"manifest_version\" must be"},
			{"{\"manifest_version\":2,\"runner\":\"docker-compose\"}", "\"name\" must be a string"},
			{"{\"manifest_version\":2,\"name\":\"x\"}", "\"runner\" must be a string"},
			{"{\"manifest_version\":2,\"name\":\"x\",\"runner\":\"r\",\"storage_fs\":\"btrfs\"}", "\"storage_fs\""},
			{"{\"manifest_version\":2,\"name\":\"x\",\"runner\":\"r\",\"public_tcbinfo\":1}", "\"public_tcbinfo\""},
			{"[1]", "expected a JSON object"},
			{"{\"name\":\"a\",\"name\":\"b\"}", "not valid JSON"},
			{"services:\n  app: {}\n", "not valid JSON"},
		};
		size_t i;

		memset(&o, 0, sizeof(o));
		o.compose = path;
		for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
			assert_int_equal(teeliza_write_file(path, bad[i].text, strlen(bad[i].text), 0644), TEELIZA_OK);
			assert_int_equal(try_start(&sim, &o), TEELIZA_ERR_CONFIG);
			if (strstr(teeliza_errmsg(), bad[i].msg) == NULL || strstr(teeliza_errmsg(), path) == NULL)
				fail_msg("case %zu: %s", i, teeliza_errmsg());
		}
		o.compose = "/nonexistent/teeliza/app-compose.json";
		assert_int_equal(try_start(&sim, &o), TEELIZA_ERR_CONFIG);
		assert_non_null(strstr(teeliza_errmsg(), "does not exist"));
		o.compose = NULL;
		o.app_id = "5bb4ff9a";
		assert_int_equal(try_start(&sim, &o), TEELIZA_ERR_CONFIG);
		assert_non_null(strstr(teeliza_errmsg(), "40 hex digits"));
		assert_null(sim);
	}
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_getkey_table),
		cmocka_unit_test(test_getkey_aliases_and_cache),
		cmocka_unit_test(test_own_kms_root),
		cmocka_unit_test(test_bad_keys),
		cmocka_unit_test(test_sign_verify),
		cmocka_unit_test(test_derive_k256_key),
		cmocka_unit_test(test_attestation_for_app_key),
		cmocka_unit_test(test_json_rules),
		cmocka_unit_test(test_compose_and_app_id),
	};

	return cmocka_run_group_tests(tests, setup, teardown);
}
