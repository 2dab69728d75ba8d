/*
 * One receipt chain per agent across replicas (docs/VERIFIABILITY.md,
 * "Replicas"; tee_receipts.c): two agent_tee_receipts for one agent, each on
 * its own store handle of one database, as two `teeliza start` processes
 * would have (SQLite: one file; PostgreSQL when TEELIZA_TEST_PG_URL names a
 * server, as CTest's unit.test_agent_receipt_chain.pg does with
 * tests/lib/pg.sh: a fresh database per test), with the tappd simulator
 * in-process for the reply key. A replica whose idea of the chain's head is
 * old takes the next free link; replicas signing from several threads at
 * once all get their receipts, and the stored chain is 1..N without a gap or
 * fork, each link signed, each prev the hash of the one before, each
 * receipt naming its stored reply; a put that failed after it committed
 * does not leave the replica behind.
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <cmocka.h>

#include "pgtest.h"

#include "teeliza/agent/store.h"
#include "teeliza/agent/tee_receipts.h"
#include "teeliza/agent/uuid.h"
#include "teeliza/common/encoding.h"
#include "teeliza/sim/simulator.h"
#include "teeliza/tee/receipt.h"
#include "teeliza/tee/tappd.h"

#include <limits.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <openssl/sha.h>

#define AGENT "11111111-1111-4111-8111-111111111111"
#define USER "22222222-2222-4222-8222-222222222222"
#define ROOM "33333333-3333-4333-8333-333333333333"
#define SALT "receipt-chain-test-salt"

/*
 * Each replica signs 60 receipts here, back to back from three threads:
 * enough that one replica keeps the chain busy while the other retries.
 * Retrying on a new head could then lose 16 times in a row (it did, about
 * one run in five on PostgreSQL, with 45 a replica), so a conflict is
 * followed by an append under the chain's lock (agent_store_append_receipt),
 * which cannot lose: every call must succeed, however the threads are
 * scheduled.
 */
#define REPLICAS 2
#define THREADS_PER_REPLICA 3
#define PER_THREAD 20

/* The PostgreSQL server under test (a conninfo of its maintenance database), or NULL: SQLite. */
static const char *pg_base;

struct env {
	char dir[64];
	char path[PATH_MAX];
	char db[64];       /* PostgreSQL: this test's database */
	char where[1024];  /* PostgreSQL: its conninfo */
	tee_sim *sim;
	tappd_client client;
	FILE *log;
	agent_store *store[REPLICAS];
	agent_tee_receipts *rec[REPLICAS];
};

static void open_store(struct env *e, agent_store **out)
{
	if (pg_base == NULL)
		assert_int_equal(agent_store_sqlite_open(out, e->path), TEELIZA_OK);
	else
		assert_int_equal(agent_store_pg_open(out, e->where), TEELIZA_OK);
}

static int setup(void **state)
{
	static int seq;
	struct env *e = calloc(1, sizeof(*e));
	tee_sim_config sc;
	tappd_endpoint ep;
	char url[64], sql[160];

	assert_non_null(e);
	unsetenv("RECEIPT_SIGNATURE");
	snprintf(e->dir, sizeof(e->dir), "/tmp/teeliza-rchain-XXXXXX");
	assert_non_null(mkdtemp(e->dir));
	snprintf(e->path, sizeof(e->path), "%s/db.sqlite", e->dir);
	memset(&sc, 0, sizeof(sc));
	sc.host = "127.0.0.1";
	sc.state_dir = e->dir;
	sc.quiet = true;
	if (tee_sim_start(&e->sim, &sc) != TEELIZA_OK)
		fail_msg("simulator: %s", teeliza_errmsg());
	snprintf(url, sizeof(url), "http://127.0.0.1:%u", (unsigned)tee_sim_port(e->sim));
	assert_int_equal(tappd_endpoint_parse(&ep, url), TEELIZA_OK);
	tappd_client_init(&e->client, &ep);
	e->log = tmpfile();
	assert_non_null(e->log);
	if (pg_base != NULL) {
		snprintf(e->db, sizeof(e->db), "rchain_%ld_%d", (long)getpid(), seq++);
		snprintf(sql, sizeof(sql), "CREATE DATABASE %s", e->db);
		pgtest_query(NULL, 0, pg_base, sql);
		pgtest_conninfo_for(e->where, sizeof(e->where), pg_base, e->db);
	}
	for (int i = 0; i < REPLICAS; i++) {
		open_store(e, &e->store[i]);
		assert_int_equal(agent_tee_receipts_new(&e->rec[i], &e->client, NULL, SALT, AGENT, e->store[i], e->log),
		                 TEELIZA_OK);
		assert_non_null(e->rec[i]);
	}
	/* the reply's memory names its agent, user and room (foreign keys on PostgreSQL) */
	assert_int_equal(agent_store_ensure_connection(e->store[0], AGENT, "Agent", USER, ROOM, NULL, NULL, "direct"),
	                 TEELIZA_OK);
	*state = e;
	return 0;
}

static int teardown(void **state)
{
	struct env *e = *state;
	char cmd[PATH_MAX + 16];

	for (int i = 0; i < REPLICAS; i++) {
		agent_tee_receipts_free(e->rec[i]);
		agent_store_close(e->store[i]);
	}
	if (pg_base != NULL) {
		snprintf(cmd, sizeof(cmd), "DROP DATABASE IF EXISTS %s WITH (FORCE)", e->db);
		pgtest_query(NULL, 0, pg_base, cmd);
	}
	fclose(e->log);
	tee_sim_stop(e->sim);
	snprintf(cmd, sizeof(cmd), "rm -rf '%s'", e->dir);
	assert_int_equal(system(cmd), 0);
	free(e);
	return 0;
}

/* One reply's receipt on replica r, with its memory (a fresh id into memory_id). */
static teeliza_err sign_one(char id[AGENT_RECEIPT_ID_BUFSZ], char memory_id[AGENT_UUID_BUFSZ],
                            agent_tee_receipts *r, const char *text)
{
	agent_memory m;
	char content[128];
	teeliza_err err = agent_uuid_random(memory_id);

	if (err)
		return err;
	snprintf(content, sizeof(content), "{\"text\":\"%s\",\"source\":\"direct\"}", text);
	memset(&m, 0, sizeof(m));
	m.id = memory_id;
	m.agent_id = AGENT;
	m.user_id = AGENT;
	m.room_id = ROOM;
	m.content = content;
	return agent_tee_receipts_sign(id, r, NULL, ROOM, "test-model", text, strlen(text), content, strlen(content),
	                               &m, 1);
}

struct signed_reply {
	char id[AGENT_RECEIPT_ID_BUFSZ];
	char memory_id[AGENT_UUID_BUFSZ];
	teeliza_err err;
	char errmsg[200];
};

/*
 * Walk the stored chain back from its head: seq n..1, each id the SHA-256
 * of its text, each prev the id before it, each signature good under the
 * head's key. Returns the number of links.
 */
static uint64_t walk_chain(agent_store *s)
{
	agent_receipt row;
	uint8_t hash[32], key[32], sig[64];
	char id[AGENT_RECEIPT_ID_BUFSZ], want_prev_of_next[65] = "";
	uint64_t seq, n;
	size_t len;

	assert_int_equal(agent_store_last_receipt(s, &row, AGENT), TEELIZA_OK);
	n = seq = row.seq;
	assert_int_equal(teeliza_hex_decode(key, sizeof(key), &len, row.public_key, strlen(row.public_key), false),
	                 TEELIZA_OK);
	assert_int_equal(len, 32);
	for (;;) {
		tee_receipt_fields f;
		char *owned = NULL;
		const char *link = NULL;

		SHA256((const uint8_t *)row.receipt, strlen(row.receipt), hash);
		teeliza_hex_encode(id, hash, 32);
		assert_string_equal(row.id, id);
		assert_int_equal(row.seq, seq);
		if (want_prev_of_next[0] != 0)
			assert_string_equal(id, want_prev_of_next);
		assert_int_equal(teeliza_hex_decode(sig, sizeof(sig), &len, row.signature, strlen(row.signature), false),
		                 TEELIZA_OK);
		assert_int_equal(len, 64);
		if (tee_receipt_verify(&link, row.receipt, strlen(row.receipt), sig, key, NULL, 0, NULL, NULL) !=
		    TEELIZA_OK)
			fail_msg("receipt %llu: %s: %s", (unsigned long long)seq, link != NULL ? link : "?", teeliza_errmsg());
		assert_int_equal(tee_receipt_parse(&f, &owned, hash, row.receipt, strlen(row.receipt)), TEELIZA_OK);
		assert_int_equal(f.seq, seq);
		teeliza_hex_encode(want_prev_of_next, f.prev, 32);
		free(owned);
		assert_non_null(row.memory_id);
		agent_receipt_clear(&row);
		if (seq == 1) {
			assert_string_equal(want_prev_of_next,
			                    "0000000000000000000000000000000000000000000000000000000000000000");
			break;
		}
		seq--;
		if (agent_store_get_receipt(s, &row, AGENT, want_prev_of_next) != TEELIZA_OK)
			fail_msg("the chain breaks below seq %llu: no receipt %s", (unsigned long long)seq + 1,
			         want_prev_of_next);
	}
	return n;
}

/* Each signed reply's receipt is stored, names the reply's memory, and the memory is stored. */
static void check_replies(agent_store *s, const struct signed_reply *r, size_t n)
{
	for (size_t i = 0; i < n; i++) {
		agent_receipt row;
		agent_memory m;

		if (r[i].err != TEELIZA_OK)
			fail_msg("reply %zu got no receipt: %s: %s", i, teeliza_strerror(r[i].err), r[i].errmsg);
		assert_int_equal(agent_store_get_receipt(s, &row, AGENT, r[i].id), TEELIZA_OK);
		assert_non_null(row.memory_id);
		assert_string_equal(row.memory_id, r[i].memory_id);
		agent_receipt_clear(&row);
		assert_int_equal(agent_store_get_memory(s, &m, r[i].memory_id), TEELIZA_OK);
		agent_memory_clear(&m);
	}
}

/* Replica 1 prepared before replica 0 signed: its head is old, it takes the next free link. */
static void test_stale_head_takes_next_link(void **state)
{
	struct env *e = *state;
	struct signed_reply r[3];

	memset(r, 0, sizeof(r));
	for (int i = 0; i < REPLICAS; i++)
		assert_int_equal(agent_tee_receipts_prepare(e->rec[i], NULL), TEELIZA_OK);
	r[0].err = sign_one(r[0].id, r[0].memory_id, e->rec[0], "first");
	r[1].err = sign_one(r[1].id, r[1].memory_id, e->rec[1], "second, on a head one behind");
	snprintf(r[1].errmsg, sizeof(r[1].errmsg), "%s", teeliza_errmsg());
	r[2].err = sign_one(r[2].id, r[2].memory_id, e->rec[0], "third, on a head one behind again");
	snprintf(r[2].errmsg, sizeof(r[2].errmsg), "%s", teeliza_errmsg());
	check_replies(e->store[0], r, 3);
	assert_int_equal(walk_chain(e->store[1]), 3);
}

struct worker {
	pthread_t thread;
	agent_tee_receipts *rec;
	int index;
	struct signed_reply replies[PER_THREAD];
};

static void *work(void *arg)
{
	struct worker *w = arg;
	char text[64];

	for (int i = 0; i < PER_THREAD; i++) {
		struct signed_reply *r = &w->replies[i];

		snprintf(text, sizeof(text), "thread %d reply %d", w->index, i);
		r->err = sign_one(r->id, r->memory_id, w->rec, text);
		if (r->err)
			snprintf(r->errmsg, sizeof(r->errmsg), "%s", teeliza_errmsg());
	}
	return NULL;
}

/* Both replicas sign from several threads at once: every reply gets its receipt, one unbroken chain. */
static void test_concurrent_replicas_one_chain(void **state)
{
	struct env *e = *state;
	struct worker *w = calloc(REPLICAS * THREADS_PER_REPLICA, sizeof(*w));
	const size_t n = REPLICAS * THREADS_PER_REPLICA;

	assert_non_null(w);
	for (size_t i = 0; i < n; i++) {
		w[i].rec = e->rec[i % REPLICAS];
		w[i].index = (int)i;
	}
	/* the keys first (one simulator round trip each), so that the signing overlaps */
	for (int i = 0; i < REPLICAS; i++)
		assert_int_equal(agent_tee_receipts_prepare(e->rec[i], NULL), TEELIZA_OK);
	for (size_t i = 0; i < n; i++)
		assert_int_equal(pthread_create(&w[i].thread, NULL, work, &w[i]), 0);
	for (size_t i = 0; i < n; i++)
		assert_int_equal(pthread_join(w[i].thread, NULL), 0);
	for (size_t i = 0; i < n; i++)
		check_replies(e->store[i % REPLICAS], w[i].replies, PER_THREAD);
	assert_int_equal(walk_chain(e->store[0]), n * PER_THREAD);
	free(w);
}

/* A store that stores the receipt and then reports a failure (a COMMIT whose answer was lost). */
static const agent_store_ops *real_ops;

static teeliza_err put_then_fail(agent_store *s, const agent_receipt *r, const agent_memory *m, size_t n)
{
	teeliza_err err = real_ops->put_receipt_with_memories(s, r, m, n);

	return err ? err : teeliza_set_error(TEELIZA_ERR_CONNECT, "the answer to COMMIT was lost");
}

/* After a failed put that did reach the store, the replica's next receipt follows it, not a fork. */
static void test_failed_put_leaves_no_stale_head(void **state)
{
	struct env *e = *state;
	struct signed_reply r[2];
	agent_store_ops lossy;
	char id[AGENT_RECEIPT_ID_BUFSZ], memory_id[AGENT_UUID_BUFSZ];

	memset(r, 0, sizeof(r));
	r[0].err = sign_one(r[0].id, r[0].memory_id, e->rec[0], "before");
	real_ops = e->store[0]->ops;
	lossy = *real_ops;
	lossy.put_receipt_with_memories = put_then_fail;
	e->store[0]->ops = &lossy;
	assert_int_equal(sign_one(id, memory_id, e->rec[0], "stored, answer lost"), TEELIZA_ERR_CONNECT);
	assert_string_equal(id, "");
	e->store[0]->ops = real_ops;
	r[1].err = sign_one(r[1].id, r[1].memory_id, e->rec[0], "after");
	snprintf(r[1].errmsg, sizeof(r[1].errmsg), "%s", teeliza_errmsg());
	check_replies(e->store[1], r, 2);
	assert_int_equal(walk_chain(e->store[1]), 3);
}

int main(void)
{
	const char *url = getenv("TEELIZA_TEST_PG_URL");
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_stale_head_takes_next_link, setup, teardown),
		cmocka_unit_test_setup_teardown(test_concurrent_replicas_one_chain, setup, teardown),
		cmocka_unit_test_setup_teardown(test_failed_put_leaves_no_stale_head, setup, teardown),
	};

	if (url != NULL && url[0] != '\0')
		pg_base = url;
	return cmocka_run_group_tests(tests, NULL, NULL);
}
