/*
 * The store's share of replicas on one database (teeliza/agent/store.h,
 * "Replicas sharing one database"), with two stores opened on one database
 * as two replicas would (SQLite: one file; PostgreSQL when
 * TEELIZA_TEST_PG_URL names a server, as CTest's
 * unit.test_agent_store_replicas.pg does with tests/lib/pg.sh: a fresh
 * database per test): claims (new, done, busy, conflict, taken over
 * after the lease, released), the readiness ping, the instances a verifier
 * lists, and the character versions another replica polls.
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <cmocka.h>

#include "pgtest.h"

#include "teeliza/agent/store.h"

#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <libpq-fe.h>

#define AGENT "11111111-1111-1111-1111-111111111111"
/* attestation ids (UUIDs: PostgreSQL's column type) */
#define Q1 "aaaaaaaa-0000-4000-8000-000000000001"
#define Q2 "aaaaaaaa-0000-4000-8000-000000000002"
#define Q3 "aaaaaaaa-0000-4000-8000-000000000003"
#define Q4 "aaaaaaaa-0000-4000-8000-000000000004"

/* The PostgreSQL server under test (a conninfo of its maintenance database), or NULL: SQLite. */
static const char *pg_base;

struct two {
	char dir[64];
	char path[PATH_MAX];
	char db[64];       /* PostgreSQL: this test's database */
	char where[1024];  /* PostgreSQL: its conninfo */
	agent_store *a, *b;
};

static void open_pair(struct two *t)
{
	static int seq;
	char sql[160];

	if (pg_base == NULL) {
		assert_int_equal(agent_store_sqlite_open(&t->a, t->path), TEELIZA_OK);
		assert_int_equal(agent_store_sqlite_open(&t->b, t->path), TEELIZA_OK);
		return;
	}
	snprintf(t->db, sizeof(t->db), "replicas_%ld_%d", (long)getpid(), seq++);
	snprintf(sql, sizeof(sql), "CREATE DATABASE %s", t->db);
	pgtest_query(NULL, 0, pg_base, sql);
	pgtest_conninfo_for(t->where, sizeof(t->where), pg_base, t->db);
	assert_int_equal(agent_store_pg_open(&t->a, t->where), TEELIZA_OK);
	assert_int_equal(agent_store_pg_open(&t->b, t->where), TEELIZA_OK);
	assert_string_equal(agent_store_backend(t->a), "postgres");
}

static int setup(void **state)
{
	struct two *t = calloc(1, sizeof(*t));

	assert_non_null(t);
	snprintf(t->dir, sizeof(t->dir), "/tmp/teeliza-replicas-XXXXXX");
	assert_non_null(mkdtemp(t->dir));
	snprintf(t->path, sizeof(t->path), "%s/db.sqlite", t->dir);
	open_pair(t);
	assert_int_equal(agent_store_set_identity(t->a, "replica-a"), TEELIZA_OK);
	assert_int_equal(agent_store_set_identity(t->b, "replica-b"), TEELIZA_OK);
	*state = t;
	return 0;
}

static int teardown(void **state)
{
	struct two *t = *state;
	char cmd[PATH_MAX + 16];

	agent_store_close(t->a);
	agent_store_close(t->b);
	if (pg_base != NULL) {
		snprintf(cmd, sizeof(cmd), "DROP DATABASE IF EXISTS %s WITH (FORCE)", t->db);
		pgtest_query(NULL, 0, pg_base, cmd);
	}
	snprintf(cmd, sizeof(cmd), "rm -rf '%s'", t->dir);
	assert_int_equal(system(cmd), 0);
	free(t);
	return 0;
}

static agent_request_claim claim_of(const char *key, const char *hash, int64_t lease_ms)
{
	agent_request_claim c = {
		.agent_id = AGENT, .request_key = key, .body_hash = hash,
		.room_id = "22222222-2222-2222-2222-222222222222",
		.user_memory_id = "33333333-3333-3333-3333-333333333333",
		.reply_memory_id = "44444444-4444-4444-4444-444444444444",
		.lease_ms = lease_ms,
	};
	return c;
}

static void test_claim_done_busy_conflict(void **state)
{
	struct two *t = *state;
	agent_request_claim c = claim_of("key-1", "h1", 60000), other = claim_of("key-1", "h2", 60000);
	agent_request_result r;

	assert_int_equal(agent_store_request_claim(t->a, &r, &c), TEELIZA_OK);
	assert_int_equal(r.outcome, AGENT_REQUEST_CLAIMED);
	assert_int_equal(r.attempts, 1);
	agent_request_result_clear(&r);

	/* the other replica, same request while A works: busy for about the lease */
	assert_int_equal(agent_store_request_claim(t->b, &r, &c), TEELIZA_OK);
	assert_int_equal(r.outcome, AGENT_REQUEST_BUSY);
	assert_true(r.retry_after_ms > 50000 && r.retry_after_ms <= 60000);
	agent_request_result_clear(&r);
	/* A asking again while it works is busy too: one claim, one worker */
	assert_int_equal(agent_store_request_claim(t->a, &r, &c), TEELIZA_OK);
	assert_int_equal(r.outcome, AGENT_REQUEST_BUSY);
	agent_request_result_clear(&r);

	/* only the holder completes */
	assert_int_equal(agent_store_request_complete(t->b, AGENT, "key-1", "{\"x\":2}"), TEELIZA_ERR_NOT_FOUND);
	assert_int_equal(agent_store_request_complete(t->a, AGENT, "key-1", "{\"x\":1}"), TEELIZA_OK);
	assert_int_equal(agent_store_request_complete(t->a, AGENT, "key-1", "{\"x\":1}"), TEELIZA_ERR_NOT_FOUND);

	assert_int_equal(agent_store_request_claim(t->b, &r, &c), TEELIZA_OK);
	assert_int_equal(r.outcome, AGENT_REQUEST_DONE);
	assert_string_equal(r.response, "{\"x\":1}");
	agent_request_result_clear(&r);

	/* same key, another request */
	assert_int_equal(agent_store_request_claim(t->b, &r, &other), TEELIZA_OK);
	assert_int_equal(r.outcome, AGENT_REQUEST_CONFLICT);
	assert_null(r.response);
	agent_request_result_clear(&r);

	/* keys are bounded */
	{
		char long_key[AGENT_REQUEST_KEY_MAX + 2];
		agent_request_claim l;

		memset(long_key, 'k', sizeof(long_key) - 1);
		long_key[sizeof(long_key) - 1] = '\0';
		l = claim_of(long_key, "h", 1000);
		assert_int_equal(agent_store_request_claim(t->a, &r, &l), TEELIZA_ERR_INVALID);
		l = claim_of("", "h", 1000);
		assert_int_equal(agent_store_request_claim(t->a, &r, &l), TEELIZA_ERR_INVALID);
	}
}

static void test_takeover_and_release(void **state)
{
	struct two *t = *state;
	agent_request_claim c = claim_of("key-2", "h", 100);
	agent_request_result r;

	/* A claims with a short lease and dies (never completes) */
	assert_int_equal(agent_store_request_claim(t->a, &r, &c), TEELIZA_OK);
	assert_int_equal(r.outcome, AGENT_REQUEST_CLAIMED);
	usleep(250 * 1000);
	c.lease_ms = 60000;
	assert_int_equal(agent_store_request_claim(t->b, &r, &c), TEELIZA_OK);
	assert_int_equal(r.outcome, AGENT_REQUEST_CLAIMED);
	assert_int_equal(r.attempts, 2);
	/* A comes back late: it no longer holds the claim, and B's lease now runs */
	assert_int_equal(agent_store_request_complete(t->a, AGENT, "key-2", "{\"late\":1}"), TEELIZA_ERR_NOT_FOUND);
	assert_int_equal(agent_store_request_claim(t->a, &r, &c), TEELIZA_OK);
	assert_int_equal(r.outcome, AGENT_REQUEST_BUSY);

	/* a claim of B's own that B says nobody works on (own_stale) is taken back at once; for A it is not B's */
	c.own_stale = true;
	assert_int_equal(agent_store_request_claim(t->a, &r, &c), TEELIZA_OK);
	assert_int_equal(r.outcome, AGENT_REQUEST_BUSY);
	assert_int_equal(agent_store_request_claim(t->b, &r, &c), TEELIZA_OK);
	assert_int_equal(r.outcome, AGENT_REQUEST_CLAIMED);
	assert_int_equal(r.attempts, 3);
	c.own_stale = false;

	/* B fails and gives it up: the next ask starts afresh at once */
	assert_int_equal(agent_store_request_release(t->b, AGENT, "key-2"), TEELIZA_OK);
	assert_int_equal(agent_store_request_release(t->b, AGENT, "key-2"), TEELIZA_ERR_NOT_FOUND);
	assert_int_equal(agent_store_request_claim(t->a, &r, &c), TEELIZA_OK);
	assert_int_equal(r.outcome, AGENT_REQUEST_CLAIMED);
	assert_int_equal(r.attempts, 4);
	assert_int_equal(agent_store_request_complete(t->a, AGENT, "key-2", "[]"), TEELIZA_OK);
}

/* PostgreSQL: the database gone (its connections cut) fails the ping at once; back, it answers again */
static void test_ping_pg(struct two *t)
{
	char sql[160];

	assert_int_equal(agent_store_ping(t->a), TEELIZA_OK);
	snprintf(sql, sizeof(sql), "DROP DATABASE %s WITH (FORCE)", t->db);
	pgtest_query(NULL, 0, pg_base, sql);
	assert_int_equal(agent_store_ping(t->a), TEELIZA_ERR_CONNECT);
	assert_int_equal(agent_store_ping(t->b), TEELIZA_ERR_CONNECT);
	snprintf(sql, sizeof(sql), "CREATE DATABASE %s", t->db);
	pgtest_query(NULL, 0, pg_base, sql);
	assert_int_equal(agent_store_ping(t->a), TEELIZA_OK);
	assert_int_equal(agent_store_ping(t->b), TEELIZA_OK);
}

static void test_ping(void **state)
{
	struct two *t = *state;
	char away[PATH_MAX + 8];

	if (pg_base != NULL) {
		test_ping_pg(t);
		return;
	}
	assert_int_equal(agent_store_ping(t->a), TEELIZA_OK);
	snprintf(away, sizeof(away), "%s.away", t->path);
	assert_int_equal(rename(t->path, away), 0);
	assert_int_equal(agent_store_ping(t->a), TEELIZA_ERR_CONNECT);
	assert_int_equal(agent_store_ping(t->b), TEELIZA_ERR_CONNECT);
	assert_int_equal(rename(away, t->path), 0);
	assert_int_equal(agent_store_ping(t->a), TEELIZA_OK);
	/* another file in its place is not the database this replica opened */
	{
		agent_store *mem;

		assert_int_equal(agent_store_sqlite_open(&mem, ":memory:"), TEELIZA_OK);
		assert_int_equal(agent_store_ping(mem), TEELIZA_OK);
		agent_store_close(mem);
	}
}

static void test_instances(void **state)
{
	struct two *t = *state;
	static const uint8_t quote[4] = { 1, 2, 3, 4 };
	agent_attestation at = { .agent_id = AGENT, .report_data_json = "{}", .quote = quote, .quote_len = 4 }, got;
	agent_instance_list l;

	assert_int_equal(agent_store_set_identity(t->a, "bad id!"), TEELIZA_ERR_INVALID);
	at.id = Q1;
	assert_int_equal(agent_store_put_attestation(t->a, &at), TEELIZA_OK);
	at.id = Q2;
	at.created_at = agent_store_now_ms() + 10;
	assert_int_equal(agent_store_put_attestation(t->b, &at), TEELIZA_OK);
	at.id = Q3;
	at.created_at = agent_store_now_ms() + 20;
	assert_int_equal(agent_store_put_attestation(t->b, &at), TEELIZA_OK);
	assert_int_equal(agent_store_get_attestation(t->a, &got, Q2), TEELIZA_OK);
	assert_string_equal(got.instance_id, "replica-b");
	assert_string_equal(got.boot_id, t->b->boot_id);
	agent_attestation_clear(&got);

	assert_int_equal(agent_store_list_instances(t->a, &l, AGENT), TEELIZA_OK);
	assert_int_equal(l.count, 2);
	assert_string_equal(l.items[0].instance_id, "replica-a");
	assert_string_equal(l.items[0].last_attestation_id, Q1);
	assert_int_equal(l.items[0].attestations, 1);
	assert_string_equal(l.items[1].instance_id, "replica-b");
	assert_string_equal(l.items[1].boot_id, t->b->boot_id);
	assert_string_equal(l.items[1].last_attestation_id, Q3);
	assert_int_equal(l.items[1].attestations, 2);
	agent_instance_list_free(&l);

	/* a restart of B is another boot: a third row */
	assert_int_equal(agent_store_set_identity(t->b, "replica-b"), TEELIZA_OK);
	at.id = Q4;
	assert_int_equal(agent_store_put_attestation(t->b, &at), TEELIZA_OK);
	assert_int_equal(agent_store_list_instances(t->a, &l, AGENT), TEELIZA_OK);
	assert_int_equal(l.count, 3);
	agent_instance_list_free(&l);
	assert_int_equal(agent_store_list_instances(t->a, &l, "55555555-5555-5555-5555-555555555555"), TEELIZA_OK);
	assert_int_equal(l.count, 0);
	agent_instance_list_free(&l);
}

static void test_character_versions(void **state)
{
	struct two *t = *state;
	uint64_t v;
	char *json;

	assert_int_equal(agent_store_character_version(t->b, &v, AGENT), TEELIZA_OK);
	assert_int_equal(v, 0);
	assert_int_equal(agent_store_character_get(t->b, &json, &v, AGENT), TEELIZA_ERR_NOT_FOUND);
	assert_int_equal(agent_store_character_put(t->a, &v, AGENT, "{\"name\":\"One\"}"), TEELIZA_OK);
	assert_int_equal(v, 1);
	assert_int_equal(agent_store_character_put(t->a, &v, AGENT, "{\"name\":\"Two\"}"), TEELIZA_OK);
	assert_int_equal(v, 2);
	assert_int_equal(agent_store_character_version(t->b, &v, AGENT), TEELIZA_OK);
	assert_int_equal(v, 2);
	assert_int_equal(agent_store_character_get(t->b, &json, &v, AGENT), TEELIZA_OK);
	assert_string_equal(json, "{\"name\":\"Two\"}");
	assert_int_equal(v, 2);
	free(json);
	assert_int_equal(agent_store_character_put(t->a, &v, AGENT, "not json"), TEELIZA_ERR_INVALID);
}

int main(void)
{
	const char *url = getenv("TEELIZA_TEST_PG_URL");

	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_claim_done_busy_conflict, setup, teardown),
		cmocka_unit_test_setup_teardown(test_takeover_and_release, setup, teardown),
		cmocka_unit_test_setup_teardown(test_ping, setup, teardown),
		cmocka_unit_test_setup_teardown(test_instances, setup, teardown),
		cmocka_unit_test_setup_teardown(test_character_versions, setup, teardown),
	};
	if (url != NULL && url[0] != '\0') {
		pg_base = url;
		fprintf(stderr, "replica store tests against PostgreSQL (TEELIZA_TEST_PG_URL)\n");
		return cmocka_run_group_tests_name("replicas on PostgreSQL", tests, NULL, NULL);
	}
	return cmocka_run_group_tests_name("replicas on SQLite", tests, NULL, NULL);
}
