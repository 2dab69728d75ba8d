/*
 * What is particular to the PostgreSQL store: the TLS policy of connection
 * strings, which setting picks it, SQLSTATE classes and array parsing (no
 * server needed), and, against the server TEELIZA_TEST_PG_URL names
 * (tests/lib/pg.sh starts one; CTest's unit.test_agent_store_pg.pg):
 * migrations applied once by four processes starting together, a schema
 * newer than this build refused without a change, an Eliza 0.1.x database
 * read as it is, retries for retryable SQLSTATEs only, a killed connection
 * replaced, and a pool that never exceeds its size. The interface tests
 * shared with SQLite are in test_agent_store.c.
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <cmocka.h>

#include "pgtest.h"

#include "testutil.h"
#include "teeliza/agent/store.h"
#include "teeliza/agent/uuid.h"
#include "agent/store/store_pg_internal.h"

#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

static const char *pg_base; /* TEELIZA_TEST_PG_URL, or NULL: the server tests skip */

#define NEED_SERVER()                                                                                    \
	do {                                                                                             \
		if (pg_base == NULL) {                                                                   \
			fprintf(stderr, "SKIP: TEELIZA_TEST_PG_URL is not set (ctest runs this test against " \
			                "a private PostgreSQL as unit.test_agent_store_pg.pg)\n");              \
			skip();                                                                          \
		}                                                                                        \
	} while (0)

static const char *U(const char *name)
{
	static char ring[64][AGENT_UUID_BUFSZ];
	static unsigned next;
	char *out = ring[next++ % 64];

	assert_int_equal(agent_uuid_from_string(out, name), TEELIZA_OK);
	return out;
}

/* A fresh database on the server; *conninfo (key=value) names it. */
static void fresh_db(char *conninfo, size_t cap)
{
	static int seq;
	char sql[128], db[64];

	snprintf(db, sizeof(db), "pgtest_%ld_%d", (long)getpid(), seq++);
	snprintf(sql, sizeof(sql), "CREATE DATABASE %s", db);
	pgtest_query(NULL, 0, pg_base, sql);
	pgtest_conninfo_for(conninfo, cap, pg_base, db);
}

/* ---- no server needed ---- */

static void check_conninfo(const char *conninfo, teeliza_err want, const char *log_needle)
{
	char where[256], *logged = NULL;
	size_t len = 0;
	FILE *log = open_memstream(&logged, &len);
	teeliza_err err;

	assert_non_null(log);
	err = pg_check_conninfo(where, sizeof(where), conninfo, log);
	fclose(log);
	if (err != want)
		fail_msg("%s: got %d (%s), want %d", conninfo, err, teeliza_errmsg(), want);
	if (log_needle != NULL && strstr(logged, log_needle) == NULL)
		fail_msg("%s: log \"%s\" lacks \"%s\"", conninfo, logged, log_needle);
	if (log_needle == NULL && len != 0)
		fail_msg("%s: unexpected log \"%s\"", conninfo, logged);
	assert_null(strstr(logged, "secret")); /* the password is never logged */
	free(logged);
}

static void test_tls_policy(void **state)
{
	(void)state;
	unsetenv("PGSSLMODE");
	unsetenv("PGHOST");
	/* loopback and sockets: libpq's default is fine */
	check_conninfo("postgresql://postgres:secret@127.0.0.1:5432/x", TEELIZA_OK, NULL);
	check_conninfo("postgresql://postgres@localhost/x", TEELIZA_OK, NULL);
	check_conninfo("host=::1 dbname=x", TEELIZA_OK, NULL);
	check_conninfo("host=/var/run/postgresql dbname=x", TEELIZA_OK, NULL);
	check_conninfo("dbname=x", TEELIZA_OK, NULL);
	/* a remote host without an sslmode is refused: libpq would fall back to plaintext silently */
	check_conninfo("postgresql://u:secret@db.example.com/x", TEELIZA_ERR_CONFIG, NULL);
	assert_non_null(strstr(teeliza_errmsg(), "sslmode"));
	assert_non_null(strstr(teeliza_errmsg(), "db.example.com"));
	assert_null(strstr(teeliza_errmsg(), "secret"));
	check_conninfo("host=10.0.0.5 dbname=x", TEELIZA_ERR_CONFIG, NULL);
	check_conninfo("host=127.0.0.1,db.example.com dbname=x", TEELIZA_ERR_CONFIG, NULL);
	check_conninfo("hostaddr=192.0.2.7 dbname=x", TEELIZA_ERR_CONFIG, NULL);
	/* explicit choices: verified TLS quietly; the others accepted, loudly */
	check_conninfo("postgresql://u:secret@db.example.com/x?sslmode=verify-full", TEELIZA_OK, NULL);
	check_conninfo("postgresql://u:secret@db.example.com/x?sslmode=disable", TEELIZA_OK, "plaintext");
	check_conninfo("host=db.example.com sslmode=prefer", TEELIZA_OK, "plaintext");
	check_conninfo("host=db.example.com sslmode=require", TEELIZA_OK, "not checked");
	setenv("PGSSLMODE", "verify-ca", 1);
	check_conninfo("host=db.example.com", TEELIZA_OK, NULL);
	unsetenv("PGSSLMODE");
	/* a string that does not parse */
	check_conninfo("host=x unknownkey=1", TEELIZA_ERR_CONFIG, NULL);
	check_conninfo("postgresql://[::1/x", TEELIZA_ERR_CONFIG, NULL);
}

static void test_settings_pick_backend(void **state)
{
	agent_store *s = (agent_store *)1;

	(void)state;
	unsetenv("SQLITE_FILE");
	/* POSTGRES_URL wins over DATABASE_URL: the refusal names its host */
	setenv("POSTGRES_URL", "postgresql://u@pg.example.com/x", 1);
	setenv("DATABASE_URL", "postgresql://u@other.example.com/y", 1);
	assert_int_equal(agent_store_open_default(&s), TEELIZA_ERR_CONFIG);
	assert_null(s);
	assert_non_null(strstr(teeliza_errmsg(), "pg.example.com"));
	unsetenv("POSTGRES_URL");
	assert_int_equal(agent_store_open_default(&s), TEELIZA_ERR_CONFIG);
	assert_non_null(strstr(teeliza_errmsg(), "other.example.com"));
	/* DATABASE_URL names PostgreSQL only with its scheme; anything else is refused, not ignored */
	setenv("DATABASE_URL", "mysql://u@db/x", 1);
	assert_int_equal(agent_store_open_default(&s), TEELIZA_ERR_CONFIG);
	assert_non_null(strstr(teeliza_errmsg(), "DATABASE_URL"));
	unsetenv("DATABASE_URL");
	/* bad pool sizes */
	setenv("TEELIZA_PG_POOL_SIZE", "0", 1);
	assert_int_equal(agent_store_pg_open(&s, "host=/nonexistent-dir dbname=x"), TEELIZA_ERR_CONFIG);
	assert_non_null(strstr(teeliza_errmsg(), "TEELIZA_PG_POOL_SIZE"));
	setenv("TEELIZA_PG_POOL_SIZE", "12x", 1);
	assert_int_equal(agent_store_pg_open(&s, "host=/nonexistent-dir dbname=x"), TEELIZA_ERR_CONFIG);
	unsetenv("TEELIZA_PG_POOL_SIZE");
	/* TEELIZA_INSTANCE_ID is not read here: it is the store's (agent_store_set_identity, test_agent_store_replicas) */
	/* no server: a connection error, not a crash or a hang */
	assert_int_equal(agent_store_pg_open(&s, "host=/nonexistent-dir dbname=x"), TEELIZA_ERR_CONNECT);
	assert_null(s);
}

static void test_sqlstates(void **state)
{
	(void)state;
	assert_true(pg_sqlstate_retryable("40001"));
	assert_true(pg_sqlstate_retryable("40P01"));
	assert_true(pg_sqlstate_retryable("08006"));
	assert_true(pg_sqlstate_retryable("08001"));
	assert_true(pg_sqlstate_retryable("57P01"));
	assert_true(pg_sqlstate_retryable(""));
	assert_false(pg_sqlstate_retryable("23505"));
	assert_false(pg_sqlstate_retryable("23503"));
	assert_false(pg_sqlstate_retryable("22P02"));
	assert_false(pg_sqlstate_retryable("42P01"));
	assert_false(pg_sqlstate_retryable("40002")); /* integrity constraint at commit: not a retry */
	assert_false(pg_sqlstate_retryable("53300"));
	assert_int_equal(pg_map_sqlstate("23505"), TEELIZA_ERR_INVALID);
	assert_int_equal(pg_map_sqlstate("22P02"), TEELIZA_ERR_INVALID);
	assert_int_equal(pg_map_sqlstate("40001"), TEELIZA_ERR_TIMEOUT);
	assert_int_equal(pg_map_sqlstate("08006"), TEELIZA_ERR_CONNECT);
	assert_int_equal(pg_map_sqlstate("42P01"), TEELIZA_ERR_IO);
}

static void test_embedding_text(void **state)
{
	const float v[4] = { 1.5f, -0.25f, 3.0e-8f, 1.17549435e-38f };
	float *got;
	size_t n;
	char *text;

	(void)state;
	text = pg_format_embedding(v, 4, false);
	assert_non_null(text);
	assert_int_equal(text[0], '{');
	assert_int_equal(pg_parse_embedding(&got, &n, text), TEELIZA_OK);
	assert_int_equal(n, 4);
	assert_memory_equal(got, v, sizeof(v)); /* %.9g round-trips every float */
	free(got);
	free(text);
	text = pg_format_embedding(NULL, 3, true);
	assert_string_equal(text, "[0,0,0]");
	free(text);
	assert_int_equal(pg_parse_embedding(&got, &n, "[1,-2.5]"), TEELIZA_OK);
	assert_int_equal(n, 2);
	assert_true(got[1] == -2.5f);
	free(got);
	assert_int_equal(pg_parse_embedding(&got, &n, "{}"), TEELIZA_OK);
	assert_int_equal(n, 0);
	assert_null(got);
	assert_int_equal(pg_parse_embedding(&got, &n, "{1,,2}"), TEELIZA_ERR_PARSE);
	assert_int_equal(pg_parse_embedding(&got, &n, "{1,2"), TEELIZA_ERR_PARSE);
	assert_int_equal(pg_parse_embedding(&got, &n, "{1,2]"), TEELIZA_ERR_PARSE);
	assert_int_equal(pg_parse_embedding(&got, &n, "{1x}"), TEELIZA_ERR_PARSE);
	assert_int_equal(pg_parse_embedding(&got, &n, "{1e99}"), TEELIZA_ERR_PARSE);
	assert_int_equal(pg_parse_embedding(&got, &n, "{1,}"), TEELIZA_ERR_PARSE);
	assert_int_equal(pg_parse_embedding(&got, &n, "1,2"), TEELIZA_ERR_PARSE);
	assert_int_equal(pg_parse_embedding(&got, &n, "{"), TEELIZA_ERR_PARSE);
	assert_null(got);
}

/* ---- against a server ---- */

#define MIGRATORS 4

/* Four processes open one empty database at the same moment: each must start, v1 and v2 applied once. */
static void test_migration_race(void **state)
{
	char conninfo[1024], got[256];
	int go[2];
	pid_t kids[MIGRATORS];

	(void)state;
	NEED_SERVER();
	fresh_db(conninfo, sizeof(conninfo));
	assert_int_equal(pipe(go), 0);
	for (int i = 0; i < MIGRATORS; i++) {
		kids[i] = fork();
		assert_true(kids[i] >= 0);
		if (kids[i] == 0) {
			agent_store *s;
			char b;
			teeliza_err err;

			close(go[1]);
			if (read(go[0], &b, 1) < 0) /* returns 0, all together, when the parent closes its end */
				_exit(2);
			err = agent_store_pg_open(&s, conninfo);
			if (err) {
				fprintf(stderr, "migrator %d: %s\n", i, teeliza_errmsg());
				_exit(1);
			}
			agent_store_close(s);
			_exit(0);
		}
	}
	close(go[0]);
	close(go[1]);
	for (int i = 0; i < MIGRATORS; i++) {
		int status;

		assert_int_equal(waitpid(kids[i], &status, 0), kids[i]);
		assert_true(WIFEXITED(status));
		assert_int_equal(WEXITSTATUS(status), 0);
	}
	pgtest_query(got, sizeof(got), conninfo,
	         "SELECT string_agg(version::text || ':' || profile, ',' ORDER BY version) FROM teeliza_schema_migrations");
	assert_string_equal(got, "1:portable,2:portable,3:portable");
}

/* Tables, columns and types of the public schema, and the recorded versions: what "unchanged" means. */
static void fingerprint(char *out, size_t cap, const char *conninfo)
{
	pgtest_query(out, cap, conninfo,
	         "SELECT md5(COALESCE(string_agg(table_name || '.' || column_name || ':' || data_type, ',' "
	         "ORDER BY table_name, ordinal_position), '')) || '/' || "
	         "(SELECT COALESCE(string_agg(version::text, ',' ORDER BY version), '') FROM teeliza_schema_migrations) "
	         "FROM information_schema.columns WHERE table_schema = 'public'");
}

static void test_schema_too_new(void **state)
{
	char conninfo[1024], before[256], after[256], got[64];
	agent_store *s;

	(void)state;
	NEED_SERVER();
	/* a database that a future teeliza made: only its version table so far */
	fresh_db(conninfo, sizeof(conninfo));
	pgtest_query(NULL, 0, conninfo,
	         "CREATE TABLE teeliza_schema_migrations (version integer PRIMARY KEY, name text NOT NULL, "
	         "profile text NOT NULL, applied_at timestamptz NOT NULL DEFAULT clock_timestamp());"
	         "INSERT INTO teeliza_schema_migrations (version, name, profile) VALUES (999, 'future', 'portable')");
	fingerprint(before, sizeof(before), conninfo);
	assert_int_equal(agent_store_pg_open(&s, conninfo), TEELIZA_ERR_UNSUPPORTED);
	assert_null(s);
	assert_non_null(strstr(teeliza_errmsg(), "999"));
	assert_non_null(strstr(teeliza_errmsg(), "newer"));
	fingerprint(after, sizeof(after), conninfo);
	assert_string_equal(after, before);
	pgtest_query(got, sizeof(got), conninfo, "SELECT to_regclass('accounts') IS NULL");
	assert_string_equal(got, "t"); /* nothing was created */

	/* and a migrated database later marked newer */
	fresh_db(conninfo, sizeof(conninfo));
	assert_int_equal(agent_store_pg_open(&s, conninfo), TEELIZA_OK);
	agent_store_close(s);
	pgtest_query(NULL, 0, conninfo, "INSERT INTO teeliza_schema_migrations (version, name, profile) "
	                            "VALUES (999, 'future', 'portable')");
	fingerprint(before, sizeof(before), conninfo);
	assert_int_equal(agent_store_pg_open(&s, conninfo), TEELIZA_ERR_UNSUPPORTED);
	fingerprint(after, sizeof(after), conninfo);
	assert_string_equal(after, before);
}

/*
 * An Eliza 0.1.9 database (its schema.sql's tables, as @elizaos/adapter-postgres
 * creates them, and rows as its runtime writes them) with one conversation.
 * Eliza declares the embeddings vector(N), which needs pgvector (not in
 * Debian 12); here they are REAL[], the portable profile, and everything
 * else is Eliza's DDL as written.
 */
static const char eliza_schema[] =
	"CREATE TABLE accounts (\"id\" UUID PRIMARY KEY, \"createdAt\" TIMESTAMPTZ DEFAULT CURRENT_TIMESTAMP,"
	" \"name\" TEXT, \"username\" TEXT, \"email\" TEXT NOT NULL, \"avatarUrl\" TEXT,"
	" \"details\" JSONB DEFAULT '{}'::jsonb);"
	"CREATE TABLE rooms (\"id\" UUID PRIMARY KEY, \"createdAt\" TIMESTAMPTZ DEFAULT CURRENT_TIMESTAMP);"
	"CREATE TABLE memories (\"id\" UUID PRIMARY KEY, \"type\" TEXT NOT NULL,"
	" \"createdAt\" TIMESTAMPTZ DEFAULT CURRENT_TIMESTAMP, \"content\" JSONB NOT NULL, \"embedding\" REAL[],"
	" \"userId\" UUID REFERENCES accounts(\"id\"), \"agentId\" UUID REFERENCES accounts(\"id\"),"
	" \"roomId\" UUID REFERENCES rooms(\"id\"), \"unique\" BOOLEAN DEFAULT true NOT NULL,"
	" CONSTRAINT fk_room FOREIGN KEY (\"roomId\") REFERENCES rooms(\"id\") ON DELETE CASCADE,"
	" CONSTRAINT fk_user FOREIGN KEY (\"userId\") REFERENCES accounts(\"id\") ON DELETE CASCADE,"
	" CONSTRAINT fk_agent FOREIGN KEY (\"agentId\") REFERENCES accounts(\"id\") ON DELETE CASCADE);"
	"CREATE TABLE goals (\"id\" UUID PRIMARY KEY, \"createdAt\" TIMESTAMPTZ DEFAULT CURRENT_TIMESTAMP,"
	" \"userId\" UUID REFERENCES accounts(\"id\"), \"name\" TEXT, \"status\" TEXT, \"description\" TEXT,"
	" \"roomId\" UUID REFERENCES rooms(\"id\"), \"objectives\" JSONB DEFAULT '[]'::jsonb NOT NULL,"
	" CONSTRAINT fk_room FOREIGN KEY (\"roomId\") REFERENCES rooms(\"id\") ON DELETE CASCADE,"
	" CONSTRAINT fk_user FOREIGN KEY (\"userId\") REFERENCES accounts(\"id\") ON DELETE CASCADE);"
	"CREATE TABLE logs (\"id\" UUID PRIMARY KEY DEFAULT gen_random_uuid(),"
	" \"createdAt\" TIMESTAMPTZ DEFAULT CURRENT_TIMESTAMP, \"userId\" UUID NOT NULL REFERENCES accounts(\"id\"),"
	" \"body\" JSONB NOT NULL, \"type\" TEXT NOT NULL, \"roomId\" UUID NOT NULL REFERENCES rooms(\"id\"),"
	" CONSTRAINT fk_room FOREIGN KEY (\"roomId\") REFERENCES rooms(\"id\") ON DELETE CASCADE,"
	" CONSTRAINT fk_user FOREIGN KEY (\"userId\") REFERENCES accounts(\"id\") ON DELETE CASCADE);"
	"CREATE TABLE participants (\"id\" UUID PRIMARY KEY, \"createdAt\" TIMESTAMPTZ DEFAULT CURRENT_TIMESTAMP,"
	" \"userId\" UUID REFERENCES accounts(\"id\"), \"roomId\" UUID REFERENCES rooms(\"id\"),"
	" \"userState\" TEXT, \"last_message_read\" TEXT, UNIQUE(\"userId\", \"roomId\"),"
	" CONSTRAINT fk_room FOREIGN KEY (\"roomId\") REFERENCES rooms(\"id\") ON DELETE CASCADE,"
	" CONSTRAINT fk_user FOREIGN KEY (\"userId\") REFERENCES accounts(\"id\") ON DELETE CASCADE);"
	"CREATE TABLE relationships (\"id\" UUID PRIMARY KEY, \"createdAt\" TIMESTAMPTZ DEFAULT CURRENT_TIMESTAMP,"
	" \"userA\" UUID NOT NULL REFERENCES accounts(\"id\"), \"userB\" UUID NOT NULL REFERENCES accounts(\"id\"),"
	" \"status\" TEXT, \"userId\" UUID NOT NULL REFERENCES accounts(\"id\"),"
	" CONSTRAINT fk_user_a FOREIGN KEY (\"userA\") REFERENCES accounts(\"id\") ON DELETE CASCADE,"
	" CONSTRAINT fk_user_b FOREIGN KEY (\"userB\") REFERENCES accounts(\"id\") ON DELETE CASCADE,"
	" CONSTRAINT fk_user FOREIGN KEY (\"userId\") REFERENCES accounts(\"id\") ON DELETE CASCADE);"
	"CREATE TABLE cache (\"key\" TEXT NOT NULL, \"agentId\" TEXT NOT NULL, \"value\" JSONB DEFAULT '{}'::jsonb,"
	" \"createdAt\" TIMESTAMP DEFAULT CURRENT_TIMESTAMP, \"expiresAt\" TIMESTAMP, PRIMARY KEY (\"key\", \"agentId\"));"
	"CREATE INDEX idx_memories_type_room ON memories(\"type\", \"roomId\");"
	"CREATE INDEX idx_participants_user ON participants(\"userId\");"
	"CREATE INDEX idx_participants_room ON participants(\"roomId\");"
	"CREATE INDEX idx_relationships_users ON relationships(\"userA\", \"userB\");";

static void test_adopts_eliza_database(void **state)
{
	char conninfo[1024], sql[4096], before[256], after[256], got[256];
	char agent[AGENT_UUID_BUFSZ], user[AGENT_UUID_BUFSZ], room[AGENT_UUID_BUFSZ], m1[AGENT_UUID_BUFSZ],
		m2[AGENT_UUID_BUFSZ];
	agent_store *s;
	agent_memory_list l;
	agent_memory_query q = { 0 };
	agent_account_list actors;
	agent_account a;
	char *v;
	size_t n;

	(void)state;
	NEED_SERVER();
	/* Eliza's ids: agent = stringToUuid(name), default room, user = stringToUuid("user") */
	assert_int_equal(agent_uuid_from_string(agent, "Eliza"), TEELIZA_OK);
	assert_int_equal(agent_uuid_room(room, NULL, agent), TEELIZA_OK);
	assert_int_equal(agent_uuid_user(user, NULL), TEELIZA_OK);
	strcpy(m1, U("eliza-message"));
	strcpy(m2, U("eliza-reply"));
	fresh_db(conninfo, sizeof(conninfo));
	pgtest_query(NULL, 0, conninfo, eliza_schema);
	snprintf(sql, sizeof(sql),
	         "INSERT INTO accounts (id, name, username, email, details) VALUES"
	         " ('%s', 'Eliza', 'Eliza', 'direct', '{\"name\":\"Eliza\",\"bio\":[\"a character\"]}'),"
	         " ('%s', 'User', 'User', 'direct', '{\"summary\":\"\"}');"
	         "INSERT INTO rooms (id) VALUES ('%s');"
	         "INSERT INTO participants (id, \"userId\", \"roomId\") VALUES (gen_random_uuid(), '%s', '%s'),"
	         " (gen_random_uuid(), '%s', '%s');"
	         "INSERT INTO memories (id, type, \"createdAt\", content, embedding, \"userId\", \"agentId\", \"roomId\")"
	         " VALUES ('%s', 'messages', to_timestamp(1735689600.123), '{\"text\":\"hello\",\"source\":\"direct\"}',"
	         " NULL, '%s', '%s', '%s'),"
	         " ('%s', 'messages', to_timestamp(1735689601.5),"
	         " '{\"text\":\"Hi there\",\"action\":\"NONE\",\"inReplyTo\":\"%s\"}', array_fill(0::real, ARRAY[384]),"
	         " '%s', '%s', '%s');"
	         "INSERT INTO cache (key, \"agentId\", value) VALUES ('k', '%s', '{\"value\":1,\"expires\":0}');"
	         "INSERT INTO logs (\"userId\", body, type, \"roomId\") VALUES ('%s', '{\"x\":1}', 'message', '%s')",
	         agent, user, room, user, room, agent, room, m1, user, agent, room, m2, m1, agent, agent, room, agent,
	         user, room);
	pgtest_query(NULL, 0, conninfo, sql);
	pgtest_query(before, sizeof(before), conninfo,
	         "SELECT md5(string_agg(table_name || '.' || column_name || ':' || data_type, ',' "
	         "ORDER BY table_name, ordinal_position)) FROM information_schema.columns "
	         "WHERE table_schema = 'public' AND table_name NOT LIKE 'teeliza%' AND table_name <> 'knowledge'");

	assert_int_equal(agent_store_pg_open(&s, conninfo), TEELIZA_OK);
	/* the conversation reads as Eliza left it, oldest first, with Eliza's times */
	q.room_id = room;
	q.with_embedding = true;
	assert_int_equal(agent_store_get_memories(s, &l, &q), TEELIZA_OK);
	assert_int_equal(l.count, 2);
	assert_string_equal(l.items[0].id, m1);
	assert_int_equal(l.items[0].created_at, 1735689600123LL);
	assert_null(l.items[0].embedding); /* Eliza's PostgreSQL memories may have none */
	assert_string_equal(l.items[0].user_id, user);
	assert_string_equal(l.items[1].id, m2);
	assert_int_equal(l.items[1].created_at, 1735689601500LL);
	assert_int_equal(l.items[1].embedding_len, 384);
	assert_non_null(strstr(l.items[1].content, "Hi there"));
	agent_memory_list_free(&l);
	assert_int_equal(agent_store_list_room_actors(s, &actors, room), TEELIZA_OK);
	assert_int_equal(actors.count, 2);
	/* Eliza added both in one statement: same createdAt, so either order */
	assert_true((strcmp(actors.items[0].id, agent) == 0 && strcmp(actors.items[1].id, user) == 0) ||
	            (strcmp(actors.items[0].id, user) == 0 && strcmp(actors.items[1].id, agent) == 0));
	agent_account_list_free(&actors);
	assert_int_equal(agent_store_get_account(s, &a, agent), TEELIZA_OK);
	assert_non_null(strstr(a.details, "a character"));
	agent_account_clear(&a);
	assert_int_equal(agent_store_cache_get(s, &v, "k", agent), TEELIZA_OK);
	assert_non_null(strstr(v, "\"expires\""));
	free(v);
	/* the conversation goes on: no second participant row, one more memory */
	{
		agent_memory m = { .id = U("teeliza-message"), .agent_id = agent, .user_id = user, .room_id = room,
		                   .content = "{\"text\":\"still here?\",\"source\":\"direct\"}", .unique = true };

		assert_int_equal(agent_store_ensure_connection_and_memory(s, agent, "Eliza", user, room, NULL, NULL,
		                                                          "direct", &m), TEELIZA_OK);
	}
	assert_int_equal(agent_store_count_memories(s, &n, NULL, room, false), TEELIZA_OK);
	assert_int_equal(n, 3);
	agent_store_close(s);
	pgtest_query(got, sizeof(got), conninfo, "SELECT count(*) FROM participants");
	assert_string_equal(got, "2");
	/* Eliza's tables are as they were (knowledge, 0.1.9's, was missing and is added) */
	pgtest_query(after, sizeof(after), conninfo,
	         "SELECT md5(string_agg(table_name || '.' || column_name || ':' || data_type, ',' "
	         "ORDER BY table_name, ordinal_position)) FROM information_schema.columns "
	         "WHERE table_schema = 'public' AND table_name NOT LIKE 'teeliza%' AND table_name <> 'knowledge'");
	assert_string_equal(after, before);
	pgtest_query(got, sizeof(got), conninfo, "SELECT string_agg(version::text, ',' ORDER BY version) "
	                                     "FROM teeliza_schema_migrations");
	assert_string_equal(got, "1,2,3");
}

/*
 * A trigger on rooms fails the insert with SQLSTATE `code` while the
 * sequence it draws from is at most `fail_times` (nextval is outside the
 * transaction, so it counts every attempt, rolled back or not).
 */
static void inject(const char *conninfo, const char *code, int fail_times)
{
	char sql[1024];

	snprintf(sql, sizeof(sql),
	         "DROP TRIGGER IF EXISTS inject ON rooms; DROP SEQUENCE IF EXISTS tries;"
	         "CREATE SEQUENCE tries;"
	         "CREATE OR REPLACE FUNCTION inject() RETURNS trigger LANGUAGE plpgsql AS $$ BEGIN"
	         " IF nextval('tries') <= %d THEN RAISE EXCEPTION 'injected' USING ERRCODE = '%s'; END IF;"
	         " RETURN NEW; END $$;"
	         "CREATE TRIGGER inject BEFORE INSERT ON rooms FOR EACH ROW EXECUTE FUNCTION inject()",
	         fail_times, code);
	pgtest_query(NULL, 0, conninfo, sql);
}

static int tries(const char *conninfo)
{
	char got[32];

	pgtest_query(got, sizeof(got), conninfo, "SELECT CASE WHEN is_called THEN last_value ELSE 0 END FROM tries");
	return atoi(got);
}

static void test_retries(void **state)
{
	char conninfo[1024];
	agent_store *s;

	(void)state;
	NEED_SERVER();
	fresh_db(conninfo, sizeof(conninfo));
	assert_int_equal(agent_store_pg_open(&s, conninfo), TEELIZA_OK);
	/* a serialization failure, once: retried, and the room is there */
	inject(conninfo, "40001", 1);
	assert_int_equal(agent_store_ensure_room(s, U("r1")), TEELIZA_OK);
	assert_int_equal(tries(conninfo), 2);
	/* a deadlock, twice: retried twice */
	inject(conninfo, "40P01", 2);
	assert_int_equal(agent_store_ensure_room(s, U("r2")), TEELIZA_OK);
	assert_int_equal(tries(conninfo), 3);
	/* a serialization failure that never ends: a bounded number of tries, then the error */
	inject(conninfo, "40001", 1000);
	assert_int_equal(agent_store_ensure_room(s, U("r3")), TEELIZA_ERR_TIMEOUT);
	assert_int_equal(tries(conninfo), PG_ATTEMPTS);
	assert_non_null(strstr(teeliza_errmsg(), "40001"));
	/* a constraint violation or any other error: not retried */
	inject(conninfo, "23514", 1);
	assert_int_equal(agent_store_ensure_room(s, U("r4")), TEELIZA_ERR_INVALID);
	assert_int_equal(tries(conninfo), 1);
	inject(conninfo, "P0001", 1);
	assert_int_equal(agent_store_ensure_room(s, U("r5")), TEELIZA_ERR_IO);
	assert_int_equal(tries(conninfo), 1);
	/* a bad id is bad input, not retried */
	assert_int_equal(agent_store_ensure_room(s, "not-a-uuid"), TEELIZA_ERR_INVALID);
	assert_int_equal(tries(conninfo), 1);
	agent_store_close(s);
}

/* The server ends our connection (a restart, a failover, an idle reaper): the next call reconnects. */
static void test_connection_lost(void **state)
{
	char conninfo[1024], got[64];
	agent_store *s;
	agent_memory m;

	(void)state;
	NEED_SERVER();
	fresh_db(conninfo, sizeof(conninfo));
	setenv("TEELIZA_PG_POOL_SIZE", "1", 1);
	assert_int_equal(agent_store_pg_open(&s, conninfo), TEELIZA_OK);
	unsetenv("TEELIZA_PG_POOL_SIZE");
	assert_int_equal(agent_store_ensure_room(s, U("before")), TEELIZA_OK);
	pgtest_query(got, sizeof(got), conninfo,
	         "SELECT count(pg_terminate_backend(pid)) FROM pg_stat_activity WHERE datname = current_database() "
	         "AND application_name LIKE 'teeliza%'");
	assert_string_equal(got, "1");
	assert_int_equal(agent_store_ensure_room(s, U("after")), TEELIZA_OK);
	/* prepared statements are made again on the new connection */
	{
		agent_memory w = { .id = U("m"), .room_id = U("after"), .content = "{}" };

		assert_int_equal(agent_store_create_memory(s, &w), TEELIZA_OK);
	}
	assert_int_equal(agent_store_get_memory(s, &m, U("m")), TEELIZA_OK);
	agent_memory_clear(&m);
	pgtest_query(got, sizeof(got), conninfo,
	         "SELECT count(*) FROM pg_stat_activity WHERE datname = current_database() "
	         "AND application_name LIKE 'teeliza%'");
	assert_string_equal(got, "1");
	agent_store_close(s);
}

struct hammer {
	agent_store *s;
	int n;
	teeliza_err err;
};

static void *hammer(void *arg)
{
	struct hammer *h = arg;
	char name[32], room[AGENT_UUID_BUFSZ];

	for (int i = 0; i < 40 && h->err == TEELIZA_OK; i++) {
		snprintf(name, sizeof(name), "room-%d-%d", h->n, i);
		assert_int_equal(agent_uuid_from_string(room, name), TEELIZA_OK);
		h->err = agent_store_ensure_room(h->s, room);
	}
	return NULL;
}

/* Twelve threads on a pool of two: everyone is served, and never more than two connections exist. */
static void test_pool_bounded(void **state)
{
	char conninfo[1024], got[64];
	agent_store *s;
	pthread_t th[12];
	struct hammer h[12];

	(void)state;
	NEED_SERVER();
	fresh_db(conninfo, sizeof(conninfo));
	setenv("TEELIZA_PG_POOL_SIZE", "2", 1);
	assert_int_equal(agent_store_pg_open(&s, conninfo), TEELIZA_OK);
	unsetenv("TEELIZA_PG_POOL_SIZE");
	for (int i = 0; i < 12; i++) {
		h[i] = (struct hammer){ .s = s, .n = i };
		assert_int_equal(pthread_create(&th[i], NULL, hammer, &h[i]), 0);
	}
	for (int i = 0; i < 12; i++) {
		assert_int_equal(pthread_join(th[i], NULL), 0);
		assert_int_equal(h[i].err, TEELIZA_OK);
	}
	pgtest_query(got, sizeof(got), conninfo,
	         "SELECT count(*) FROM pg_stat_activity WHERE datname = current_database() "
	         "AND application_name LIKE 'teeliza%'");
	assert_string_equal(got, "2");
	pgtest_query(got, sizeof(got), conninfo, "SELECT count(*) FROM rooms");
	assert_string_equal(got, "480");
	agent_store_close(s);
}

int main(void)
{
	const char *url = getenv("TEELIZA_TEST_PG_URL");
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_tls_policy),
		cmocka_unit_test(test_settings_pick_backend),
		cmocka_unit_test(test_sqlstates),
		cmocka_unit_test(test_embedding_text),
		cmocka_unit_test(test_migration_race),
		cmocka_unit_test(test_schema_too_new),
		cmocka_unit_test(test_adopts_eliza_database),
		cmocka_unit_test(test_retries),
		cmocka_unit_test(test_connection_lost),
		cmocka_unit_test(test_pool_bounded),
	};

	unsetenv("POSTGRES_URL");
	unsetenv("DATABASE_URL");
	pg_base = url != NULL && url[0] != '\0' ? url : NULL;
	return cmocka_run_group_tests(tests, NULL, NULL);
}
