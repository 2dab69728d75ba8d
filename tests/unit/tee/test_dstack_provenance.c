/*
 * tee_dstack_verify_key: the §1.9 simulator GetKey answer verified up to the
 * KMS root the dstack Go SDK test expects, and each link broken in turn.
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <cmocka.h>

#include "testutil.h"
#include "teeliza/common/common.h"
#include "teeliza/tee/dstack_provenance.h"
#include "teeliza/common/encoding.h"

#include <openssl/evp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define SIM_APP_ID "5bb4ff9a3837357f19dc176407a5709c62eb6c56"
#define SIM_ROOT_PUB "0321529e458424ab1f710a3a57ec4dad2fb195ddca572f7469242ba6c7563085b6"
#define SIM_APP_PUB "02818494263695e8839122dbd88e281d7380622999df4e60a14befa0f2d096fc7c"
/* §1.9 GetKey("/test/path", "test-purpose", secp256k1) with the simulator keys */
#define KEY "b9fbb7171185c421c58610a2acba8ceae93623ae47815618cbad1e98fc042cb7"
#define PUB "02c1082e78670feed1c847db81dbd71be37e4d53200a746c0a89f0afa8173cf566"
#define CHAIN0 \
	"f50c51735a97072f0c98125ed61fc84e2fdb36e95990b9e57337dadc0e2a9712227f04e07209faecb8891d59ec144a6c13e411dc90b3423f28071bd3fe11978d01"
#define ED_PUB "2149e71e37ed8568f5a240e6966b5d6f6017428069ddf06ed4c04151de4b2304"
#define ED_CHAIN0 \
	"effb33c8bb9beab8058a165af210047acb15a67bb6482819b44655f8b22a150a45e50fdce916374f2f4bd380c83eac6ca8b6a765a4fb7c3f03ab9932342ce53200"
/* the public key of GetKey("wallet/eth", …): a key of another path */
#define OTHER_PUB "037743325a2eec97a2b54749972be2eb1107d0a00f5abee4f1d63bbab3a9eebbd5"
#define RT "134217729"

struct fixture {
	char chain1[131];
	const char *chain[2];
	char chain0_buf[131];
	tee_dstack_key_claim claim;
	tee_dstack_key_report r;
};

static int setup(void **state)
{
	struct fixture *f = calloc(1, sizeof(*f));
	json_t *v = vector_json("dstack-simulator-appkeys.json");

	assert_non_null(f);
	snprintf(f->chain1, sizeof(f->chain1), "%s", json_string_value(json_object_get(v, "k256_signature")));
	json_decref(v);
	snprintf(f->chain0_buf, sizeof(f->chain0_buf), "%s", CHAIN0);
	f->chain[0] = f->chain0_buf;
	f->chain[1] = f->chain1;
	f->claim.algorithm = "secp256k1";
	f->claim.purpose = "test-purpose";
	f->claim.purpose_len = 12;
	f->claim.key_hex = KEY;
	f->claim.chain_hex = f->chain;
	f->claim.chain_len = 2;
	f->claim.app_id_hex = SIM_APP_ID;
	f->claim.kms_root_hex = SIM_ROOT_PUB;
	*state = f;
	return 0;
}

static int teardown(void **state)
{
	free(*state);
	return 0;
}

/* Check the outcome: return code, broken link and a piece of the message. */
static void expect(struct fixture *f, teeliza_err err, tee_dstack_link link, const char *needle)
{
	teeliza_err got = tee_dstack_verify_key(&f->r, &f->claim);

	if (got != err || f->r.broken != link || (needle && strstr(f->r.message, needle) == NULL))
		fail_msg("got %d/%s \"%s\", want %d/%s \"…%s…\"", got, tee_dstack_link_name(f->r.broken), f->r.message,
		         err, tee_dstack_link_name(link), needle ? needle : "");
	if (err)
		assert_string_equal(teeliza_errmsg(), f->r.message);
	else
		assert_string_equal(f->r.message, "");
}

static void test_verified(void **state)
{
	struct fixture *f = *state;

	expect(f, TEELIZA_OK, TEE_DSTACK_LINK_NONE, NULL);
	assert_hex_equal(f->r.public_key, f->r.public_key_len, PUB);
	assert_true(f->r.have_app_pub && f->r.have_root && f->r.root_pinned && f->r.have_app_id);
	assert_false(f->r.app_id_from_log);
	assert_hex_equal(f->r.app_pub, 33, SIM_APP_PUB);
	assert_hex_equal(f->r.root_pub, 33, SIM_ROOT_PUB);

	/* the public key alone, both, "0x" prefixes, the uncompressed form of the pinned root is refused */
	f->claim.key_hex = NULL;
	f->claim.public_key_hex = PUB;
	expect(f, TEELIZA_OK, TEE_DSTACK_LINK_NONE, NULL);
	f->claim.key_hex = "0x" KEY;
	f->claim.public_key_hex = "0x" PUB;
	expect(f, TEELIZA_OK, TEE_DSTACK_LINK_NONE, NULL);
	f->claim.algorithm = "k256";
	expect(f, TEELIZA_OK, TEE_DSTACK_LINK_NONE, NULL);
	f->claim.algorithm = NULL;
	expect(f, TEELIZA_OK, TEE_DSTACK_LINK_NONE, NULL);

	/* ed25519: the same 32 bytes, another public key, its own chain[0] */
	f->claim.algorithm = "ed25519";
	f->claim.public_key_hex = ED_PUB;
	f->chain[0] = ED_CHAIN0;
	expect(f, TEELIZA_OK, TEE_DSTACK_LINK_NONE, NULL);
	f->claim.key_hex = NULL;
	expect(f, TEELIZA_OK, TEE_DSTACK_LINK_NONE, NULL);
	assert_int_equal(f->r.public_key_len, 32);
}

static void test_unpinned(void **state)
{
	struct fixture *f = *state;

	f->claim.kms_root_hex = NULL;
	expect(f, TEELIZA_ERR_UNTRUSTED, TEE_DSTACK_LINK_KMS_ROOT, "no KMS root pinned");
	assert_true(f->r.have_root);
	assert_false(f->r.root_pinned);
	assert_hex_equal(f->r.root_pub, 33, SIM_ROOT_PUB);
}

static void test_input_errors(void **state)
{
	struct fixture *f = *state;
	const char *three[3] = {CHAIN0, CHAIN0, CHAIN0};

	f->claim.algorithm = "rsa";
	expect(f, TEELIZA_ERR_INVALID, TEE_DSTACK_LINK_INPUT, "algorithm \"rsa\"");
	f->claim.algorithm = "secp256k1_prehashed";
	expect(f, TEELIZA_ERR_INVALID, TEE_DSTACK_LINK_INPUT, "algorithm");
	f->claim.algorithm = "secp256k1";
	f->claim.key_hex = KEY "00";
	expect(f, TEELIZA_ERR_INVALID, TEE_DSTACK_LINK_INPUT, "key: 33 bytes, must be 32");
	f->claim.key_hex = "zz";
	expect(f, TEELIZA_ERR_INVALID, TEE_DSTACK_LINK_INPUT, "key: invalid hex digit");
	f->claim.key_hex = NULL;
	expect(f, TEELIZA_ERR_INVALID, TEE_DSTACK_LINK_INPUT, "neither the key nor its public key");
	f->claim.public_key_hex = ED_PUB;
	expect(f, TEELIZA_ERR_INVALID, TEE_DSTACK_LINK_INPUT, "not a secp256k1 point");
	f->claim.public_key_hex = "04" ED_PUB;
	expect(f, TEELIZA_ERR_INVALID, TEE_DSTACK_LINK_INPUT, "not a secp256k1 point");
	f->claim.public_key_hex = PUB;
	f->claim.chain_len = 1;
	expect(f, TEELIZA_ERR_INVALID, TEE_DSTACK_LINK_INPUT, "the signature chain has 1 elements");
	f->claim.chain_hex = three;
	f->claim.chain_len = 3;
	expect(f, TEELIZA_ERR_INVALID, TEE_DSTACK_LINK_INPUT, "the signature chain has 3 elements");
	f->claim.chain_hex = f->chain;
	f->claim.chain_len = 2;
	f->chain[1] = "abc";
	expect(f, TEELIZA_ERR_INVALID, TEE_DSTACK_LINK_INPUT, "chain[1]: odd-length hex");
	f->chain[1] = CHAIN0 "00";
	expect(f, TEELIZA_ERR_INVALID, TEE_DSTACK_LINK_INPUT, "chain[1]: 66 bytes, must be 65");
	f->chain[1] = NULL;
	expect(f, TEELIZA_ERR_INVALID, TEE_DSTACK_LINK_INPUT, "chain[1] is missing");
	f->chain[1] = f->chain1;
	f->claim.app_id_hex = "5bb4";
	expect(f, TEELIZA_ERR_INVALID, TEE_DSTACK_LINK_INPUT, "app id: 2 bytes, must be 20");
	f->claim.app_id_hex = SIM_APP_ID;
	f->claim.kms_root_hex = "04" SIM_ROOT_PUB;
	expect(f, TEELIZA_ERR_INVALID, TEE_DSTACK_LINK_INPUT, "pinned KMS root: 34 bytes");
	f->claim.kms_root_hex = "05" "21529e458424ab1f710a3a57ec4dad2fb195ddca572f7469242ba6c7563085b6";
	expect(f, TEELIZA_ERR_INVALID, TEE_DSTACK_LINK_INPUT, "pinned KMS root: not a compressed secp256k1 point");
	f->claim.kms_root_hex = SIM_ROOT_PUB;
	f->claim.app_id_hex = NULL;
	expect(f, TEELIZA_ERR_INVALID, TEE_DSTACK_LINK_APP_ID, "no app id");
}

static void test_key_link(void **state)
{
	struct fixture *f = *state;

	f->claim.public_key_hex = OTHER_PUB;
	expect(f, TEELIZA_ERR_VERIFY, TEE_DSTACK_LINK_KEY, "not the stated 037743325a2e");
	assert_hex_equal(f->r.public_key, f->r.public_key_len, PUB);
	/* an all-zero secp256k1 key has no public key */
	f->claim.public_key_hex = NULL;
	f->claim.key_hex = "0000000000000000000000000000000000000000000000000000000000000000";
	expect(f, TEELIZA_ERR_VERIFY, TEE_DSTACK_LINK_KEY, "not a valid secp256k1 key");
}

/* A wrong purpose or a key of another path still recovers *a* key: only the pinned root catches it. */
static void test_wrong_purpose_and_path(void **state)
{
	struct fixture *f = *state;

	f->claim.purpose = "test-purpose2";
	f->claim.purpose_len = 13;
	expect(f, TEELIZA_ERR_VERIFY, TEE_DSTACK_LINK_KMS_ROOT, "not the pinned " SIM_ROOT_PUB);
	assert_true(f->r.have_app_pub);
	assert_memory_not_equal(f->r.root_pub, "\x03\x21\x52\x9e", 4);
	f->claim.purpose = "test-purpose";
	f->claim.purpose_len = 12;
	f->claim.key_hex = NULL;
	f->claim.public_key_hex = OTHER_PUB;
	expect(f, TEELIZA_ERR_VERIFY, TEE_DSTACK_LINK_KMS_ROOT, "not the pinned");
	/* a wrong app id, with no log to contradict it */
	f->claim.public_key_hex = PUB;
	f->claim.app_id_hex = "5bb4ff9a3837357f19dc176407a5709c62eb6c57";
	expect(f, TEELIZA_ERR_VERIFY, TEE_DSTACK_LINK_KMS_ROOT, "not the pinned");
	assert_hex_equal(f->r.app_pub, 33, SIM_APP_PUB);
	/* a wrong pinned root */
	f->claim.app_id_hex = SIM_APP_ID;
	f->claim.kms_root_hex = SIM_APP_PUB;
	expect(f, TEELIZA_ERR_VERIFY, TEE_DSTACK_LINK_KMS_ROOT, "recovers the root " SIM_ROOT_PUB);
}

/* Flip bytes in each signature. */
static void test_flipped_signatures(void **state)
{
	struct fixture *f = *state;
	char buf[131];

	/* s of chain[0]: another app key recovers, so the root is wrong */
	snprintf(buf, sizeof(buf), "%s", CHAIN0);
	buf[100] = buf[100] == '0' ? '1' : '0';
	f->chain[0] = buf;
	expect(f, TEELIZA_ERR_VERIFY, TEE_DSTACK_LINK_KMS_ROOT, "not the pinned");
	assert_memory_not_equal(f->r.app_pub, "\x02\x81\x84\x94", 4);
	/* recid of chain[0]: 27 (the Ethereum form), 4, and high S */
	snprintf(buf, sizeof(buf), "%s", CHAIN0);
	memcpy(buf + 128, "1b", 2);
	expect(f, TEELIZA_ERR_VERIFY, TEE_DSTACK_LINK_APP_SIGNATURE, "chain[0]: recovery id is 27 (the Ethereum v form)");
	memcpy(buf + 128, "04", 2);
	expect(f, TEELIZA_ERR_VERIFY, TEE_DSTACK_LINK_APP_SIGNATURE, "chain[0]: recovery id is 4");
	/* top byte of s set: s ≥ 2^255 > n/2 */
	snprintf(buf, sizeof(buf), "%s", CHAIN0);
	buf[64] = 'f';
	expect(f, TEELIZA_ERR_VERIFY, TEE_DSTACK_LINK_APP_SIGNATURE, "high-S");
	assert_false(f->r.have_app_pub);
	/* r of chain[0] all ff: not below n */
	snprintf(buf, sizeof(buf), "%s", CHAIN0);
	memset(buf, 'f', 64);
	expect(f, TEELIZA_ERR_VERIFY, TEE_DSTACK_LINK_APP_SIGNATURE, "not below the group order");
	f->chain[0] = f->chain0_buf;

	/* chain[1]: recid 2 has no key (r + n ≥ p), a flipped byte of s gives another root */
	snprintf(buf, sizeof(buf), "%s", f->chain1);
	memcpy(buf + 128, "02", 2);
	f->chain[1] = buf;
	expect(f, TEELIZA_ERR_VERIFY, TEE_DSTACK_LINK_KMS_SIGNATURE, "chain[1]: no public key recovers");
	assert_true(f->r.have_app_pub);
	assert_hex_equal(f->r.app_pub, 33, SIM_APP_PUB);
	assert_false(f->r.have_root);
	snprintf(buf, sizeof(buf), "%s", f->chain1);
	buf[90] = buf[90] == '0' ? '1' : '0';
	expect(f, TEELIZA_ERR_VERIFY, TEE_DSTACK_LINK_KMS_ROOT, "not the pinned");
	assert_true(f->r.have_root);
	/* a local key provider's empty chain[1] */
	f->chain[1] = "";
	expect(f, TEELIZA_ERR_VERIFY, TEE_DSTACK_LINK_KMS_SIGNATURE, "chain[1] is empty: no KMS signed");
	assert_true(f->r.have_app_pub);
	f->chain[0] = "";
	expect(f, TEELIZA_ERR_INVALID, TEE_DSTACK_LINK_INPUT, "chain[0]: 0 bytes, must be 65");
}

/* A runtime event list as JSON, its RTMR3 computed here from the formula. */
struct log {
	char json[4096];
	uint8_t rtmr3[48];
};

static void add_event(struct log *l, const char *name, const char *payload_hex)
{
	uint8_t pre[256], d[48], block[96];
	size_t n = 0, len = strlen(l->json);
	unsigned int md_len = 0;

	memcpy(pre, "\x01\x00\x00\x08:", 5);
	memcpy(pre + 5, name, strlen(name));
	pre[5 + strlen(name)] = ':';
	assert_int_equal(teeliza_hex_decode(pre + 6 + strlen(name), sizeof(pre) - 6 - strlen(name), &n, payload_hex,
	                                    strlen(payload_hex), false), TEELIZA_OK);
	assert_int_equal(EVP_Digest(pre, 6 + strlen(name) + n, d, &md_len, EVP_sha384(), NULL), 1);
	memcpy(block, l->rtmr3, 48);
	memcpy(block + 48, d, 48);
	assert_int_equal(EVP_Digest(block, 96, l->rtmr3, &md_len, EVP_sha384(), NULL), 1);
	snprintf(l->json + len - 1, sizeof(l->json) - len + 1,
	         "%s{\"imr\":3,\"event_type\":" RT ",\"digest\":\"\",\"event\":\"%s\",\"event_payload\":\"%s\"}]",
	         len > 2 ? "," : "", name, payload_hex);
}

static void boot_log(struct log *l, const char *app_id_hex, bool ready_before_app_id)
{
	memset(l, 0, sizeof(*l));
	strcpy(l->json, "[]");
	add_event(l, "system-preparing", "");
	if (ready_before_app_id)
		add_event(l, "system-ready", "");
	add_event(l, "app-id", app_id_hex);
	add_event(l, "compose-hash", "5bb4ff9a3837357f19dc176407a5709c62eb6c560000000000000000000000aa");
	add_event(l, "instance-id", "0102030405060708090a0b0c0d0e0f1011121314");
	add_event(l, "boot-mr-done", "");
	if (!ready_before_app_id)
		add_event(l, "system-ready", "");
}

static void test_event_log(void **state)
{
	struct fixture *f = *state;
	struct log l;

	/* the app id from the attested app-id event */
	boot_log(&l, SIM_APP_ID, false);
	f->claim.app_id_hex = NULL;
	f->claim.event_log = l.json;
	f->claim.event_log_len = strlen(l.json);
	f->claim.rtmr3 = l.rtmr3;
	expect(f, TEELIZA_OK, TEE_DSTACK_LINK_NONE, NULL);
	assert_true(f->r.app_id_from_log && f->r.log_bound);
	assert_hex_equal(f->r.app_id, 20, SIM_APP_ID);
	/* given and attested, agreeing */
	f->claim.app_id_hex = SIM_APP_ID;
	expect(f, TEELIZA_OK, TEE_DSTACK_LINK_NONE, NULL);
	/* without rtmr3 the log is read but not bound */
	f->claim.rtmr3 = NULL;
	expect(f, TEELIZA_OK, TEE_DSTACK_LINK_NONE, NULL);
	assert_false(f->r.log_bound);
	/* given and attested, disagreeing */
	f->claim.rtmr3 = l.rtmr3;
	f->claim.app_id_hex = "5bb4ff9a3837357f19dc176407a5709c62eb6c57";
	expect(f, TEELIZA_ERR_VERIFY, TEE_DSTACK_LINK_APP_ID,
	       "the app id 5bb4ff9a3837357f19dc176407a5709c62eb6c57 is not the attested app-id " SIM_APP_ID);
	/* a log that does not replay to the quoted RTMR3 */
	f->claim.app_id_hex = NULL;
	l.rtmr3[0] ^= 1;
	expect(f, TEELIZA_ERR_VERIFY, TEE_DSTACK_LINK_EVENT_LOG, "do not replay to the quoted RTMR3");
	assert_true(f->r.have_app_pub);
	/* an attested app-id of another app: the root no longer matches */
	boot_log(&l, "86b0e55f2fa8e4fb69d890f14f54d5612707646e", false);
	f->claim.event_log = l.json;
	f->claim.event_log_len = strlen(l.json);
	f->claim.rtmr3 = l.rtmr3;
	expect(f, TEELIZA_ERR_VERIFY, TEE_DSTACK_LINK_KMS_ROOT, "not the pinned");
	assert_hex_equal(f->r.app_id, 20, "86b0e55f2fa8e4fb69d890f14f54d5612707646e");
	/* app-id only after system-ready: an app's own event, not the OS's */
	boot_log(&l, SIM_APP_ID, true);
	f->claim.event_log = l.json;
	f->claim.event_log_len = strlen(l.json);
	f->claim.rtmr3 = l.rtmr3;
	expect(f, TEELIZA_ERR_VERIFY, TEE_DSTACK_LINK_EVENT_LOG, "no app-id event before system-ready");
	/* app-id twice before system-ready */
	boot_log(&l, SIM_APP_ID, false);
	memset(l.rtmr3, 0, 48);
	strcpy(l.json, "[]");
	add_event(&l, "app-id", SIM_APP_ID);
	add_event(&l, "app-id", SIM_APP_ID);
	f->claim.event_log = l.json;
	f->claim.event_log_len = strlen(l.json);
	expect(f, TEELIZA_ERR_PARSE, TEE_DSTACK_LINK_EVENT_LOG, "\"app-id\" twice before system-ready");
	/* not JSON */
	f->claim.event_log = "[";
	f->claim.event_log_len = 1;
	expect(f, TEELIZA_ERR_PARSE, TEE_DSTACK_LINK_EVENT_LOG, "not valid JSON");
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_verified, setup, teardown),
		cmocka_unit_test_setup_teardown(test_unpinned, setup, teardown),
		cmocka_unit_test_setup_teardown(test_input_errors, setup, teardown),
		cmocka_unit_test_setup_teardown(test_key_link, setup, teardown),
		cmocka_unit_test_setup_teardown(test_wrong_purpose_and_path, setup, teardown),
		cmocka_unit_test_setup_teardown(test_flipped_signatures, setup, teardown),
		cmocka_unit_test_setup_teardown(test_event_log, setup, teardown),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
