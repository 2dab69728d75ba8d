/*
 * Receipts: build, sign, verify; each tampered link (signature, field, prev,
 * key, EIP-191) refused and named; the chain across a store reopen;
 * a reply's memories and its receipt in one transaction; statements and
 * their report data; the reply-key path.
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <cmocka.h>

#include "testutil.h"
#include "teeliza/agent/store.h"
#include "teeliza/common/encoding.h"
#include "teeliza/tee/receipt.h"
#include "teeliza/tee/reply_key.h"

#include <openssl/sha.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

static void key_of(tee_reply_key *k, tee_reply_key_kind kind, uint8_t fill)
{
	uint8_t secret[32];

	memset(secret, fill, sizeof(secret));
	assert_int_equal(tee_reply_key_from_secret(k, kind, secret), TEELIZA_OK);
}

static void fields(tee_receipt_fields *f, const tee_reply_key *k, uint64_t seq, const uint8_t prev[32])
{
	memset(f, 0, sizeof(*f));
	f->agent_id = "b850bc30-45f8-0041-a00a-83df46d8555d";
	f->room_id = "room-1";
	f->model = "offline-eliza";
	SHA256((const uint8_t *)"{\"text\":\"hi\"}", 13, f->request_sha256);
	SHA256((const uint8_t *)"[]", 2, f->response_sha256);
	f->time_ms = 1764600000000 + (int64_t)seq;
	f->seq = seq;
	if (prev != NULL)
		memcpy(f->prev, prev, 32);
	memcpy(f->reply_key, k->public_key, 32);
}

/* RFC 8032 §7.1 test 1: the seed gives the published public key (OpenSSL's Ed25519 behind the reply key). */
static void test_reply_key_ed25519_rfc8032(void **state)
{
	uint8_t *seed;
	size_t len;
	tee_reply_key k;
	uint8_t sig[64];

	(void)state;
	seed = hex_alloc("9d61b19deffd5a60ba844af492ec2cc44449c5697b326919703bac031cae7f60", &len);
	assert_int_equal(tee_reply_key_from_secret(&k, TEE_REPLY_KEY_ED25519, seed), TEELIZA_OK);
	assert_hex_equal(k.public_key, 32, "d75a980182b10ab7d54bfed3c964073a0ee172f3daa62325af021a68f707511a");
	assert_int_equal(tee_reply_key_sign_ed25519(sig, &k, (const uint8_t *)"", 0), TEELIZA_OK);
	assert_hex_equal(sig, 64,
	                 "e5564300c360ac729086e2cc806e828a84877f1eb8e5d974d873e065224901555fb8821590a33bacc61e39701cf9b46b"
	                 "d25bf5f0595bbe24655141438e7a100b");
	tee_reply_key_wipe(&k);
	free(seed);
}

static void test_reply_key_path(void **state)
{
	teeliza_buf a, b, c;

	(void)state;
	assert_int_equal(tee_reply_key_path(&a, "salt", "agent", TEE_REPLY_KEY_ED25519), TEELIZA_OK);
	assert_int_equal(tee_reply_key_path(&b, "salt", "agent", TEE_REPLY_KEY_SECP256K1), TEELIZA_OK);
	assert_int_equal(tee_reply_key_path(&c, "salt2", "agent", TEE_REPLY_KEY_ED25519), TEELIZA_OK);
	assert_true(strncmp((const char *)a.data, "teeliza/v1/reply-key/ed25519/", 29) == 0);
	assert_int_equal(a.len, 29 + 64);
	assert_true(strncmp((const char *)b.data, "teeliza/v1/reply-key/secp256k1/", 31) == 0);
	assert_true(strcmp((const char *)a.data, (const char *)c.data) != 0);
	teeliza_buf_free(&a);
	teeliza_buf_free(&b);
	teeliza_buf_free(&c);
	assert_int_equal(tee_reply_key_path(&a, "", "agent", TEE_REPLY_KEY_ED25519), TEELIZA_ERR_CONFIG);
	teeliza_buf_free(&a);
	assert_int_equal(tee_reply_key_path(&a, "s", "", TEE_REPLY_KEY_ED25519), TEELIZA_ERR_INVALID);
	teeliza_buf_free(&a);
}

static void test_receipt_sign_verify_tamper(void **state)
{
	tee_reply_key k, other, evm;
	tee_receipt_fields f, g;
	teeliza_buf r1, r2, bad;
	uint8_t h1[32], h2[32], s1[64], s2[64], e2[65], tampered[65];
	const char *link;
	char *owned;
	size_t i;

	(void)state;
	key_of(&k, TEE_REPLY_KEY_ED25519, 7);
	key_of(&other, TEE_REPLY_KEY_ED25519, 8);
	key_of(&evm, TEE_REPLY_KEY_SECP256K1, 9);
	teeliza_buf_init(&r1, TEE_RECEIPT_MAX);
	teeliza_buf_init(&r2, TEE_RECEIPT_MAX);
	teeliza_buf_init(&bad, TEE_RECEIPT_MAX);
	fields(&f, &k, 1, NULL);
	assert_int_equal(tee_receipt_build(&r1, h1, &f), TEELIZA_OK);
	/* canonical key order, integers, lowercase hex */
	assert_true(strncmp((const char *)r1.data, "{\"agentId\":\"b850bc30", 20) == 0);
	assert_non_null(strstr((const char *)r1.data, "\"seq\":1,\"time\":1764600000001,\"version\":1}"));
	assert_int_equal(tee_reply_key_sign_ed25519(s1, &k, r1.data, r1.len), TEELIZA_OK);
	fields(&g, &k, 2, h1);
	assert_int_equal(tee_receipt_build(&r2, h2, &g), TEELIZA_OK);
	assert_int_equal(tee_reply_key_sign_ed25519(s2, &k, r2.data, r2.len), TEELIZA_OK);
	assert_int_equal(tee_reply_key_sign_eip191(e2, &evm, h2), TEELIZA_OK);

	/* both verify, the second linked to the first, with its EIP-191 signature */
	assert_int_equal(tee_receipt_verify(&link, (char *)r1.data, r1.len, s1, k.public_key, NULL, 0, NULL, NULL),
	                 TEELIZA_OK);
	assert_int_equal(tee_receipt_verify(&link, (char *)r2.data, r2.len, s2, k.public_key, (char *)r1.data, r1.len,
	                                    e2, evm.address), TEELIZA_OK);
	assert_null(link);
	/* parse gives the fields back */
	assert_int_equal(tee_receipt_parse(&f, &owned, h2, (char *)r2.data, r2.len), TEELIZA_OK);
	assert_int_equal(f.seq, 2);
	assert_string_equal(f.room_id, "room-1");
	free(owned);

	/* one byte of the signature */
	s2[10] ^= 1;
	assert_int_equal(tee_receipt_verify(&link, (char *)r2.data, r2.len, s2, k.public_key, NULL, 0, NULL, NULL),
	                 TEELIZA_ERR_VERIFY);
	assert_string_equal(link, TEE_LINK_SIGNATURE);
	s2[10] ^= 1;
	/* another key */
	assert_int_equal(tee_receipt_verify(&link, (char *)r2.data, r2.len, s2, other.public_key, NULL, 0, NULL, NULL),
	                 TEELIZA_ERR_VERIFY);
	assert_string_equal(link, TEE_LINK_REPLY_KEY);
	/* one field: the room (still canonical, so the signature catches it) */
	assert_int_equal(teeliza_buf_append(&bad, r2.data, r2.len), TEELIZA_OK);
	((char *)bad.data)[strstr((char *)bad.data, "room-1") - (char *)bad.data + 5] = '2';
	assert_int_equal(tee_receipt_verify(&link, (char *)bad.data, bad.len, s2, k.public_key, NULL, 0, NULL, NULL),
	                 TEELIZA_ERR_VERIFY);
	assert_string_equal(link, TEE_LINK_SIGNATURE);
	/* a byte that breaks the canonical form */
	((char *)bad.data)[0] = ' ';
	assert_int_equal(tee_receipt_verify(&link, (char *)bad.data, bad.len, s2, k.public_key, NULL, 0, NULL, NULL),
	                 TEELIZA_ERR_VERIFY);
	assert_string_equal(link, TEE_LINK_RECEIPT);
	/* prev: a receipt re-signed with another prev no longer links to the first */
	g.prev[0] ^= 1;
	assert_int_equal(tee_receipt_build(&bad, h2, &g), TEELIZA_OK);
	assert_int_equal(tee_reply_key_sign_ed25519(s2, &k, bad.data, bad.len), TEELIZA_OK);
	assert_int_equal(tee_receipt_verify(&link, (char *)bad.data, bad.len, s2, k.public_key, (char *)r1.data,
	                                    r1.len, NULL, NULL), TEELIZA_ERR_VERIFY);
	assert_string_equal(link, TEE_LINK_CHAIN);
	assert_non_null(strstr(teeliza_errmsg(), "prev"));
	/* a reordered chain: receipt 2 checked against itself as predecessor */
	assert_int_equal(tee_receipt_verify(&link, (char *)bad.data, bad.len, s2, k.public_key, (char *)bad.data,
	                                    bad.len, NULL, NULL), TEELIZA_ERR_VERIFY);
	assert_string_equal(link, TEE_LINK_CHAIN);
	/* EIP-191: every byte of r, s, v matters (v and high s refused outright) */
	for (i = 0; i < 65; i++) {
		char addr[43];

		memcpy(tampered, e2, 65);
		tampered[i] ^= 1;
		if (tee_eip191_recover(addr, h2, tampered) == TEELIZA_OK)
			assert_true(strcmp(addr, evm.address) != 0);
	}
	memcpy(tampered, e2, 65);
	tampered[40] ^= 0x10;
	fields(&g, &k, 2, h1);
	assert_int_equal(tee_receipt_build(&r2, h2, &g), TEELIZA_OK);
	assert_int_equal(tee_reply_key_sign_ed25519(s2, &k, r2.data, r2.len), TEELIZA_OK);
	assert_int_equal(tee_receipt_verify(&link, (char *)r2.data, r2.len, s2, k.public_key, NULL, 0, tampered,
	                                    evm.address), TEELIZA_ERR_VERIFY);
	assert_string_equal(link, TEE_LINK_EIP191);

	teeliza_buf_free(&r1);
	teeliza_buf_free(&r2);
	teeliza_buf_free(&bad);
	tee_reply_key_wipe(&k);
	tee_reply_key_wipe(&other);
	tee_reply_key_wipe(&evm);
}

/* A known secp256k1 key: the EIP-191 signature recovers to its address (private key 1 → 0x7E5F…Bdf). */
static void test_eip191_known_address(void **state)
{
	uint8_t secret[32] = { 0 }, hash[32], sig[65];
	tee_reply_key k;
	char addr[43];

	(void)state;
	secret[31] = 1;
	assert_int_equal(tee_reply_key_from_secret(&k, TEE_REPLY_KEY_SECP256K1, secret), TEELIZA_OK);
	assert_string_equal(k.address, "0x7E5F4552091A69125d5DfCb7b8C2659029395Bdf");
	memset(hash, 0xab, sizeof(hash));
	assert_int_equal(tee_reply_key_sign_eip191(sig, &k, hash), TEELIZA_OK);
	assert_true(sig[64] == 27 || sig[64] == 28);
	assert_int_equal(tee_eip191_recover(addr, hash, sig), TEELIZA_OK);
	assert_string_equal(addr, k.address);
	tee_reply_key_wipe(&k);
}

/* Receipts survive a reopen of the store and the next one links to the last. */
static void test_receipt_chain_across_reopen(void **state)
{
	char path[] = "/tmp/teeliza-receipts-XXXXXX", db[64], side[80], sig_hex[129], pub_hex[65], id_hex[65];
	tee_reply_key k;
	tee_receipt_fields f;
	teeliza_buf r;
	uint8_t h[32], prev[32] = { 0 }, s[64], *sig;
	agent_store *st;
	agent_receipt row, last;
	const char *link;
	size_t len;
	int fd;

	(void)state;
	fd = mkstemp(path);
	assert_true(fd >= 0);
	close(fd);
	unlink(path);
	snprintf(db, sizeof(db), "%s.db", path);
	key_of(&k, TEE_REPLY_KEY_ED25519, 3);
	teeliza_hex_encode(pub_hex, k.public_key, 32);
	teeliza_buf_init(&r, TEE_RECEIPT_MAX);
	for (int round = 0; round < 2; round++) {
		uint64_t next = 1;

		assert_int_equal(agent_store_sqlite_open(&st, db), TEELIZA_OK);
		if (agent_store_last_receipt(st, &last, "agent-a") == TEELIZA_OK) {
			next = last.seq + 1;
			SHA256((const uint8_t *)last.receipt, strlen(last.receipt), prev);
			agent_receipt_clear(&last);
		}
		assert_int_equal(next, round == 0 ? 1 : 3);
		for (int i = 0; i < 2; i++, next++) {
			fields(&f, &k, next, prev);
			f.agent_id = "agent-a";
			assert_int_equal(tee_receipt_build(&r, h, &f), TEELIZA_OK);
			assert_int_equal(tee_reply_key_sign_ed25519(s, &k, r.data, r.len), TEELIZA_OK);
			teeliza_hex_encode(sig_hex, s, 64);
			teeliza_hex_encode(id_hex, h, 32);
			memset(&row, 0, sizeof(row));
			row.id = id_hex;
			row.agent_id = "agent-a";
			row.seq = next;
			row.receipt = (const char *)r.data;
			row.signature = sig_hex;
			row.public_key = pub_hex;
			assert_int_equal(agent_store_put_receipt(st, &row), TEELIZA_OK);
			memcpy(prev, h, 32);
		}
		/* a fork (same seq again) is refused: another writer's link */
		row.id = "0000000000000000000000000000000000000000000000000000000000000000";
		assert_int_equal(agent_store_put_receipt(st, &row), TEELIZA_ERR_CONFLICT);
		agent_store_close(st);
	}
	/* walk the stored chain 1..4 */
	assert_int_equal(agent_store_sqlite_open(&st, db), TEELIZA_OK);
	assert_int_equal(agent_store_last_receipt(st, &last, "agent-a"), TEELIZA_OK);
	assert_int_equal(last.seq, 4);
	assert_int_equal(agent_store_get_receipt(st, &row, "agent-a", last.id), TEELIZA_OK);
	sig = hex_alloc(row.signature, &len);
	assert_int_equal(tee_receipt_verify(&link, row.receipt, strlen(row.receipt), sig, k.public_key, NULL, 0, NULL,
	                                    NULL), TEELIZA_OK);
	free(sig);
	agent_receipt_clear(&row);
	assert_int_equal(agent_store_get_receipt(st, &row, "agent-b", last.id), TEELIZA_ERR_NOT_FOUND);
	agent_receipt_clear(&row);
	agent_receipt_clear(&last);
	assert_int_equal(agent_store_last_receipt(st, &last, "agent-b"), TEELIZA_ERR_NOT_FOUND);
	agent_store_close(st);
	unlink(db);
	snprintf(side, sizeof(side), "%s-wal", db);
	unlink(side);
	snprintf(side, sizeof(side), "%s-shm", db);
	unlink(side);
	teeliza_buf_free(&r);
	tee_reply_key_wipe(&k);
}

/*
 * A reply's memory and its receipt in one transaction: both or neither (a
 * forked seq stores no memory either); memory_id names the reply; a
 * back-end without the operation gets the two stored one after the other.
 */
static void test_receipt_with_memories(void **state)
{
	agent_store *st;
	agent_store_ops plain;
	const agent_store_ops *own;
	agent_memory m[2], got;
	agent_receipt row, back;
	size_t n = 0;

	(void)state;
	assert_int_equal(agent_store_sqlite_open(&st, ":memory:"), TEELIZA_OK);
	memset(m, 0, sizeof(m));
	for (int i = 0; i < 2; i++) {
		m[i].agent_id = m[i].user_id = "agent-a";
		m[i].room_id = "room-1";
		m[i].content = i == 0 ? "{\"text\":\"reply\"}" : "{\"text\":\"callback\"}";
	}
	m[0].id = "11111111-1111-4111-8111-111111111111";
	m[1].id = "22222222-2222-4222-8222-222222222222";
	memset(&row, 0, sizeof(row));
	row.id = "aa00000000000000000000000000000000000000000000000000000000000000";
	row.agent_id = "agent-a";
	row.seq = 1;
	row.memory_id = m[0].id;
	row.receipt = "{}";
	row.signature = "00";
	row.public_key = "00";
	assert_int_equal(agent_store_put_receipt_with_memories(st, &row, m, 2), TEELIZA_OK);
	assert_int_equal(agent_store_get_receipt(st, &back, "agent-a", row.id), TEELIZA_OK);
	assert_string_equal(back.memory_id, m[0].id);
	agent_receipt_clear(&back);
	assert_int_equal(agent_store_get_memory(st, &got, m[1].id), TEELIZA_OK);
	assert_string_equal(got.content, "{\"text\":\"callback\"}");
	agent_memory_clear(&got);
	/* a fork: seq 1 again, under a new id, with a new memory: nothing of it is stored */
	row.id = "bb00000000000000000000000000000000000000000000000000000000000000";
	m[0].id = "33333333-3333-4333-8333-333333333333";
	row.memory_id = m[0].id;
	assert_int_equal(agent_store_put_receipt_with_memories(st, &row, m, 1), TEELIZA_ERR_CONFLICT);
	assert_int_equal(agent_store_get_memory(st, &got, m[0].id), TEELIZA_ERR_NOT_FOUND);
	agent_memory_clear(&got);
	assert_int_equal(agent_store_count_memories(st, &n, NULL, "room-1", false), TEELIZA_OK);
	assert_int_equal(n, 2);
	/* without the operation: memory first, then the receipt */
	own = st->ops;
	plain = *own;
	plain.put_receipt_with_memories = NULL;
	st->ops = &plain;
	row.seq = 2;
	assert_int_equal(agent_store_put_receipt_with_memories(st, &row, m, 1), TEELIZA_OK);
	assert_int_equal(agent_store_get_memory(st, &got, m[0].id), TEELIZA_OK);
	agent_memory_clear(&got);
	assert_int_equal(agent_store_last_receipt(st, &back, "agent-a"), TEELIZA_OK);
	assert_int_equal(back.seq, 2);
	assert_string_equal(back.memory_id, m[0].id);
	agent_receipt_clear(&back);
	st->ops = own;
	agent_store_close(st);
}

/* The statement's report data is SHA-512 of its canonical text; another nonce, another report data. */
static void test_statement(void **state)
{
	tee_statement st;
	teeliza_buf a, b;
	uint8_t rd_a[64], rd_b[64], want[64], nonce[16];

	(void)state;
	teeliza_buf_init(&a, 4096);
	teeliza_buf_init(&b, 4096);
	memset(&st, 0, sizeof(st));
	memset(nonce, 0x11, sizeof(nonce));
	st.agent_id = "agent";
	st.purpose = TEE_STATEMENT_PURPOSE_FRESH;
	st.wallet_solana = "So1";
	st.nonce = nonce;
	st.nonce_len = sizeof(nonce);
	assert_int_equal(tee_statement_build(&a, rd_a, &st), TEELIZA_OK);
	assert_string_equal((const char *)a.data,
	                    "{\"agentId\":\"agent\",\"nonce\":\"11111111111111111111111111111111\",\"purpose\":"
	                    "\"teeliza-fresh-attestation\",\"replyKey\":\"0000000000000000000000000000000000000000000000000000000000000000\","
	                    "\"tlsKey\":\"\",\"version\":1,\"wallets\":{\"evm\":\"\",\"solana\":\"So1\"}}");
	SHA512(a.data, a.len, want);
	assert_memory_equal(rd_a, want, 64);
	nonce[0] = 0x12;
	assert_int_equal(tee_statement_build(&b, rd_b, &st), TEELIZA_OK);
	assert_memory_not_equal(rd_a, rd_b, 64);
	st.nonce_len = 15;
	assert_int_equal(tee_statement_build(&b, rd_b, &st), TEELIZA_ERR_INVALID);
	st.nonce_len = 65;
	assert_int_equal(tee_statement_build(&b, rd_b, &st), TEELIZA_ERR_INVALID);
	teeliza_buf_free(&a);
	teeliza_buf_free(&b);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_reply_key_ed25519_rfc8032),
		cmocka_unit_test(test_reply_key_path),
		cmocka_unit_test(test_receipt_sign_verify_tamper),
		cmocka_unit_test(test_eip191_known_address),
		cmocka_unit_test(test_receipt_chain_across_reopen),
		cmocka_unit_test(test_receipt_with_memories),
		cmocka_unit_test(test_statement),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
