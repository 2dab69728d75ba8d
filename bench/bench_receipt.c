/*
 * What a receipt costs per reply, in process, one thread: the work
 * agent_reply_receipt adds to a /message reply.
 *  - receipt.sign: SHA-256 of a request and a response of typical size,
 *    the RFC 8785 receipt, its SHA-256 and the Ed25519 signature;
 *  - receipt.sign+eip191: the same plus the EIP-191 secp256k1 signature;
 *  - receipt.sign+store: sign, then append it to a SQLite store (a file in
 *    /tmp, WAL, as the agent's) in its own transaction (how the agent did
 *    it before 2026-12-02, and still does for terminal chat);
 *  - reply.memory: for scale, what every reply costs without receipts: its
 *    memory (Eliza's content JSON and a 384-float embedding) stored alone;
 *  - reply.memory+receipt: the same reply with its receipt signed and
 *    stored in the memory's transaction (agent_store_put_receipt_with_memories,
 *    what POST /message does now): minus reply.memory, what a receipt adds;
 *  - receipt.verify: tee_receipt_verify with the chain link.
 * ops per CPU-second is the figure to compare with the issue's ≤ 30 µs
 * (≥ 33,333 per CPU-second). Every signature is checked once first.
 */
#include "bench_util.h"

#include "teeliza/agent/store.h"
#include "teeliza/common/encoding.h"
#include "teeliza/tee/receipt.h"
#include "teeliza/tee/reply_key.h"

#include <openssl/sha.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

static const char request[] = "{\"text\":\"hello\",\"userId\":\"u1\"}";
static const char response[] =
	"[{\"user\":\"Teeliza\",\"text\":\"How do you do. Please tell me your problem. I am listening, and I will "
	"answer as well as an old program can.\",\"action\":\"NONE\"}]";

struct state {
	tee_reply_key key, evm;
	teeliza_buf json, prev_json;
	uint8_t prev[32], sig[64], prev_sig[64];
	uint64_t seq;
	bool eip191;
	enum { STORE_NONE, STORE_ALONE, STORE_WITH_MEMORY, STORE_MEMORY_ONLY } store_it;
	agent_store *store;
	uint64_t n_memory;
};

static const char reply_content[] =
	"{\"user\":\"Teeliza\",\"text\":\"How do you do. Please tell me your problem. I am listening, and I will "
	"answer as well as an old program can.\",\"action\":\"NONE\",\"inReplyTo\":"
	"\"2b1c3d4e-5f60-0718-293a-4b5c6d7e8f90\"}";

/* The reply memory of a /message answer, a new id each time. */
static void reply_memory(agent_memory *m, char id[40], struct state *s)
{
	snprintf(id, 40, "00000000-0000-4000-8000-%012llx", (unsigned long long)++s->n_memory);
	memset(m, 0, sizeof(*m));
	m->id = id;
	m->type = AGENT_MEMORY_MESSAGES;
	m->agent_id = "80fd7cd9-19be-0fef-adeb-d0ce373f30a9";
	m->user_id = m->agent_id;
	m->room_id = "b4ed6df8-722b-0a34-b4e6-b37a2e26e9fb";
	m->content = reply_content;
	m->unique = true;
}

static bool sign_once(void *arg)
{
	struct state *s = arg;
	tee_receipt_fields f;
	uint8_t hash[32], e[65];
	char id[65], sig_hex[129], pub_hex[65], mem_id[40];
	agent_receipt row;
	agent_memory m;

	if (s->store_it == STORE_MEMORY_ONLY) {
		reply_memory(&m, mem_id, s);
		return agent_store_create_memory(s->store, &m) == TEELIZA_OK || bench_fail("memory");
	}
	memset(&f, 0, sizeof(f));
	f.agent_id = "80fd7cd9-19be-0fef-adeb-d0ce373f30a9";
	f.room_id = "b4ed6df8-722b-0a34-b4e6-b37a2e26e9fb";
	f.model = "offline responder (ELIZA)";
	SHA256((const uint8_t *)request, sizeof(request) - 1, f.request_sha256);
	SHA256((const uint8_t *)response, sizeof(response) - 1, f.response_sha256);
	f.time_ms = agent_store_now_ms();
	f.seq = ++s->seq;
	memcpy(f.prev, s->prev, 32);
	memcpy(f.reply_key, s->key.public_key, 32);
	if (tee_receipt_build(&s->json, hash, &f) != TEELIZA_OK ||
	    tee_reply_key_sign_ed25519(s->sig, &s->key, s->json.data, s->json.len) != TEELIZA_OK)
		return bench_fail("receipt");
	if (s->eip191 && tee_reply_key_sign_eip191(e, &s->evm, hash) != TEELIZA_OK)
		return bench_fail("eip191");
	if (s->store_it != STORE_NONE) {
		teeliza_hex_encode(id, hash, 32);
		teeliza_hex_encode(sig_hex, s->sig, 64);
		teeliza_hex_encode(pub_hex, s->key.public_key, 32);
		memset(&row, 0, sizeof(row));
		row.id = id;
		row.agent_id = f.agent_id;
		row.seq = f.seq;
		row.created_at = f.time_ms;
		row.receipt = (const char *)s->json.data;
		row.signature = sig_hex;
		row.public_key = pub_hex;
		if (s->store_it == STORE_WITH_MEMORY) {
			reply_memory(&m, mem_id, s);
			row.memory_id = m.id;
			if (agent_store_put_receipt_with_memories(s->store, &row, &m, 1) != TEELIZA_OK)
				return bench_fail("store with memory");
		} else if (agent_store_put_receipt(s->store, &row) != TEELIZA_OK) {
			return bench_fail("store");
		}
	}
	memcpy(s->prev, hash, 32);
	return true;
}

static void unlink_side_files(const char *db)
{
	char side[80];

	snprintf(side, sizeof(side), "%s-wal", db);
	unlink(side);
	snprintf(side, sizeof(side), "%s-shm", db);
	unlink(side);
}

static bool verify_once(void *arg)
{
	struct state *s = arg;

	return tee_receipt_verify(NULL, (const char *)s->json.data, s->json.len, s->sig, s->key.public_key,
	                          (const char *)s->prev_json.data, s->prev_json.len, NULL, NULL) == TEELIZA_OK ||
	       bench_fail("verify");
}

int main(void)
{
	struct state s;
	void *states[1] = { &s };
	uint8_t secret[32];
	char path[] = "/tmp/teeliza-bench-receipts-XXXXXX", db[64];
	bench_result r;
	double secs = bench_seconds();
	int fd;

	memset(&s, 0, sizeof(s));
	memset(secret, 7, sizeof(secret));
	if (tee_reply_key_from_secret(&s.key, TEE_REPLY_KEY_ED25519, secret) != TEELIZA_OK ||
	    tee_reply_key_from_secret(&s.evm, TEE_REPLY_KEY_SECP256K1, secret) != TEELIZA_OK)
		return bench_fail("keys"), 1;
	teeliza_buf_init(&s.json, TEE_RECEIPT_MAX);
	teeliza_buf_init(&s.prev_json, TEE_RECEIPT_MAX);

	if (!bench_run(&r, 1, secs, sign_once, states))
		return 1;
	bench_report("receipt.sign", &r, "hash request+response, RFC 8785 receipt, Ed25519");
	s.eip191 = true;
	if (!bench_run(&r, 1, secs, sign_once, states))
		return 1;
	bench_report("receipt.sign+eip191", &r, "plus EIP-191 secp256k1");
	s.eip191 = false;

	fd = mkstemp(path);
	if (fd < 0)
		return bench_fail("mkstemp"), 1;
	close(fd);
	unlink(path);
	snprintf(db, sizeof(db), "%s.db", path);
	if (agent_store_sqlite_open(&s.store, db) != TEELIZA_OK)
		return bench_fail("store open"), 1;
	/* the three alternate, so that load on a shared machine hits them alike */
	for (int round = 0; round < 2; round++) {
		s.store_it = STORE_ALONE;
		if (!bench_run(&r, 1, secs, sign_once, states))
			return 1;
		bench_report("receipt.sign+store", &r, "plus the SQLite append in its own transaction (WAL, file in /tmp)");
		s.store_it = STORE_MEMORY_ONLY;
		if (!bench_run(&r, 1, secs, sign_once, states))
			return 1;
		bench_report("reply.memory", &r, "no receipt: the reply's memory stored alone");
		s.store_it = STORE_WITH_MEMORY;
		if (!bench_run(&r, 1, secs, sign_once, states))
			return 1;
		bench_report("reply.memory+receipt", &r, "signed, stored in the memory's transaction");
	}
	agent_store_close(s.store);
	unlink(db);
	unlink_side_files(db);

	/* a linked pair to verify */
	s.store_it = STORE_NONE;
	if (!sign_once(&s) || teeliza_buf_append(&s.prev_json, s.json.data, s.json.len) != TEELIZA_OK || !sign_once(&s))
		return 1;
	if (!verify_once(&s))
		return 1;
	if (!bench_run(&r, 1, secs, verify_once, states))
		return 1;
	bench_report("receipt.verify", &r, "form, Ed25519 signature, chain link");
	tee_reply_key_wipe(&s.key);
	tee_reply_key_wipe(&s.evm);
	teeliza_buf_free(&s.json);
	teeliza_buf_free(&s.prev_json);
	return 0;
}
