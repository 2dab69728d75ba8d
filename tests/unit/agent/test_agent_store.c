/*
 * The agent store: schema, CRUD, ordering, persistence, concurrency.
 *
 * The tests of the interface run against SQLite, and against PostgreSQL
 * when TEELIZA_TEST_PG_URL names a server (tests/lib/pg.sh starts a private
 * one; CTest's unit.test_agent_store.pg does that): each test gets a fresh
 * database there. Ids are UUIDs (U()), as PostgreSQL's schema requires, and
 * JSON is compared as JSON (jsonb keeps the value, not the spelling). The
 * tests of SQLite's file and schema run on SQLite only; the PostgreSQL
 * specifics are in test_agent_store_pg.c.
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <cmocka.h>

#include "pgtest.h"

#include "testutil.h"
#include "teeliza/agent/store.h"
#include "teeliza/agent/uuid.h"
#include "teeliza/common/metrics.h"

#include <limits.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <sqlite3.h>
#include <libpq-fe.h>

/* The PostgreSQL server under test (a conninfo of its maintenance database), or NULL: SQLite. */
static const char *pg_base;

/* Eliza's stringToUuid of a short name; valid for the next 255 calls. */
static const char *U(const char *name)
{
	static char ring[256][AGENT_UUID_BUFSZ];
	static unsigned next;
	char *out = ring[next++ % 256];

	assert_int_equal(agent_uuid_from_string(out, name), TEELIZA_OK);
	return out;
}

static void assert_json(const char *got, const char *want)
{
	json_t *g = json_loads(got, JSON_DECODE_ANY, NULL), *w = json_loads(want, JSON_DECODE_ANY, NULL);

	assert_non_null(g);
	assert_non_null(w);
	if (!json_equal(g, w))
		fail_msg("JSON %s is not %s", got, want);
	json_decref(g);
	json_decref(w);
}

/* A database for one test: SQLite in memory (or at path, when given), or a fresh PostgreSQL database. */
struct tdb {
	char where[1024];
};

static void tdb_open(struct tdb *t, agent_store **s)
{
	static int seq;
	char sql[128], db[64];

	if (pg_base == NULL) {
		snprintf(t->where, sizeof(t->where), ":memory:");
		assert_int_equal(agent_store_sqlite_open(s, t->where), TEELIZA_OK);
		return;
	}
	snprintf(db, sizeof(db), "store_%ld_%d", (long)getpid(), seq++);
	snprintf(sql, sizeof(sql), "CREATE DATABASE %s", db);
	pgtest_query(NULL, 0, pg_base, sql);
	pgtest_conninfo_for(t->where, sizeof(t->where), pg_base, db);
	assert_int_equal(agent_store_pg_open(s, t->where), TEELIZA_OK);
	assert_string_equal(agent_store_backend(*s), "postgres");
}

/* Open the same database again (a file for SQLite: path, made by the caller). */
static void tdb_reopen(struct tdb *t, agent_store **s)
{
	if (pg_base == NULL)
		assert_int_equal(agent_store_sqlite_open(s, t->where), TEELIZA_OK);
	else
		assert_int_equal(agent_store_pg_open(s, t->where), TEELIZA_OK);
}

static char *make_tmpdir(void)
{
	char tmpl[] = "/tmp/teeliza-store-XXXXXX";
	char *d = mkdtemp(tmpl);

	assert_non_null(d);
	return strdup(d);
}

static void rm_rf(const char *dir)
{
	char cmd[PATH_MAX + 16];

	snprintf(cmd, sizeof(cmd), "rm -rf '%s'", dir);
	assert_int_equal(system(cmd), 0);
}

/* Run a query on the file directly and return the first column of the first row as an integer. */
static long long raw_int(const char *path, const char *sql)
{
	sqlite3 *db;
	sqlite3_stmt *st;
	long long v = -1;

	assert_int_equal(sqlite3_open_v2(path, &db, SQLITE_OPEN_READWRITE, NULL), SQLITE_OK);
	assert_int_equal(sqlite3_prepare_v2(db, sql, -1, &st, NULL), SQLITE_OK);
	if (sqlite3_step(st) == SQLITE_ROW)
		v = sqlite3_column_int64(st, 0);
	sqlite3_finalize(st);
	sqlite3_close(db);
	return v;
}

static void raw_exec(const char *path, const char *sql)
{
	sqlite3 *db;
	char *msg = NULL;

	assert_int_equal(sqlite3_open_v2(path, &db, SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE, NULL), SQLITE_OK);
	if (sqlite3_exec(db, sql, NULL, NULL, &msg) != SQLITE_OK)
		fail_msg("%s: %s", sql, msg);
	sqlite3_close(db);
}

/* Comma-joined column names of a table, in order. */
static void table_columns(char *out, size_t cap, const char *path, const char *table)
{
	sqlite3 *db;
	sqlite3_stmt *st;
	char sql[128];
	size_t n = 0;

	out[0] = '\0';
	snprintf(sql, sizeof(sql), "PRAGMA table_info(\"%s\")", table);
	assert_int_equal(sqlite3_open_v2(path, &db, SQLITE_OPEN_READONLY, NULL), SQLITE_OK);
	assert_int_equal(sqlite3_prepare_v2(db, sql, -1, &st, NULL), SQLITE_OK);
	while (sqlite3_step(st) == SQLITE_ROW) {
		int w = snprintf(out + n, cap - n, "%s%s", n > 0 ? "," : "", (const char *)sqlite3_column_text(st, 1));

		assert_true(w > 0 && (size_t)w < cap - n);
		n += (size_t)w;
	}
	sqlite3_finalize(st);
	sqlite3_close(db);
}

static void test_schema_and_file(void **state)
{
	char *dir = make_tmpdir();
	char path[PATH_MAX], cols[PATH_MAX + 16];
	agent_store *s;
	int version;
	struct stat st;

	(void)state;
	snprintf(path, sizeof(path), "%s/nested/data/db.sqlite", dir);
	assert_int_equal(agent_store_sqlite_open(&s, path), TEELIZA_OK);
	assert_string_equal(agent_store_backend(s), "sqlite");
	assert_int_equal(agent_store_schema_version(s, &version), TEELIZA_OK);
	assert_int_equal(version, AGENT_STORE_SCHEMA_VERSION);
	assert_int_equal(agent_store_ensure_room(s, "r"), TEELIZA_OK);

	/* private file, WAL mode, parent directories made */
	assert_int_equal(stat(path, &st), 0);
	assert_int_equal(st.st_mode & 0777, 0600);
	snprintf(cols, sizeof(cols), "%s-wal", path);
	assert_int_equal(stat(cols, &st), 0);
	assert_int_equal(st.st_mode & 0777, 0600);
	snprintf(cols, sizeof(cols), "%s/nested/data", dir);
	assert_int_equal(stat(cols, &st), 0);
	assert_true(S_ISDIR(st.st_mode));

	/* Eliza's column names, in Eliza's order (adapter-sqlite 0.1.9 sqliteTables) */
	table_columns(cols, sizeof(cols), path, "accounts");
	assert_string_equal(cols, "id,createdAt,name,username,email,avatarUrl,details");
	table_columns(cols, sizeof(cols), path, "rooms");
	assert_string_equal(cols, "id,createdAt");
	table_columns(cols, sizeof(cols), path, "participants");
	assert_string_equal(cols, "createdAt,userId,roomId,userState,id,last_message_read");
	table_columns(cols, sizeof(cols), path, "memories");
	assert_string_equal(cols, "id,type,createdAt,content,embedding,userId,roomId,agentId,unique");
	table_columns(cols, sizeof(cols), path, "goals");
	assert_string_equal(cols, "id,createdAt,userId,name,status,description,roomId,objectives");
	table_columns(cols, sizeof(cols), path, "logs");
	assert_string_equal(cols, "id,createdAt,userId,body,type,roomId");
	table_columns(cols, sizeof(cols), path, "relationships");
	assert_string_equal(cols, "createdAt,userA,userB,status,id,userId");
	table_columns(cols, sizeof(cols), path, "cache");
	assert_string_equal(cols, "key,agentId,value,createdAt,expiresAt");
	table_columns(cols, sizeof(cols), path, "knowledge");
	assert_string_equal(cols, "id,agentId,content,embedding,createdAt,isMain,originalId,chunkIndex,isShared");
	table_columns(cols, sizeof(cols), path, "attestations");
	assert_string_equal(cols, "id,agent_id,created_at,report_data_json,quote,event_log,instance_id,boot_id");
	table_columns(cols, sizeof(cols), path, "requests");
	assert_string_equal(cols, "agent_id,request_key,body_hash,room_id,user_memory_id,reply_memory_id,state,owner,"
	                          "lease_until,attempts,response,created_at,updated_at");
	table_columns(cols, sizeof(cols), path, "characters");
	assert_string_equal(cols, "agent_id,version,character,updated_at,updated_by");
	table_columns(cols, sizeof(cols), path, "schema_version");
	assert_string_equal(cols, "version,applied_at,description");
	assert_int_equal(raw_int(path, "SELECT COUNT(*) FROM schema_version"), AGENT_STORE_SCHEMA_VERSION);
	agent_store_close(s);

	/* reopening applies nothing twice */
	assert_int_equal(agent_store_sqlite_open(&s, path), TEELIZA_OK);
	assert_int_equal(agent_store_schema_version(s, &version), TEELIZA_OK);
	assert_int_equal(version, AGENT_STORE_SCHEMA_VERSION);
	agent_store_close(s);
	assert_int_equal(raw_int(path, "SELECT COUNT(*) FROM schema_version"), AGENT_STORE_SCHEMA_VERSION);
	{
		sqlite3 *db;
		sqlite3_stmt *q;

		/* WAL is a property of the file: a fresh connection sees it */
		assert_int_equal(sqlite3_open_v2(path, &db, SQLITE_OPEN_READONLY, NULL), SQLITE_OK);
		assert_int_equal(sqlite3_prepare_v2(db, "PRAGMA journal_mode", -1, &q, NULL), SQLITE_OK);
		assert_int_equal(sqlite3_step(q), SQLITE_ROW);
		assert_string_equal((const char *)sqlite3_column_text(q, 0), "wal");
		sqlite3_finalize(q);
		sqlite3_close(db);
	}

	/* a database from a newer teeliza is refused, not downgraded */
	raw_exec(path, "INSERT INTO schema_version VALUES (99, 0, 'future')");
	assert_int_equal(agent_store_sqlite_open(&s, path), TEELIZA_ERR_UNSUPPORTED);
	assert_null(s);
	assert_non_null(strstr(teeliza_errmsg(), "99"));

	/* a parent that is a file */
	snprintf(path, sizeof(path), "%s/nested/data/db.sqlite/x.sqlite", dir);
	assert_int_equal(agent_store_sqlite_open(&s, path), TEELIZA_ERR_IO);
	rm_rf(dir);
	free(dir);
}

static void test_adopts_eliza_database(void **state)
{
	char *dir = make_tmpdir();
	char path[PATH_MAX];
	agent_store *s;
	agent_memory m;
	agent_account a;

	(void)state;
	/* a db.sqlite as Eliza leaves it: its tables, a memory with a ms createdAt, an account with a text one */
	snprintf(path, sizeof(path), "%s/db.sqlite", dir);
	raw_exec(path,
	         "CREATE TABLE \"accounts\" (\"id\" TEXT PRIMARY KEY, \"createdAt\" TIMESTAMP DEFAULT CURRENT_TIMESTAMP,"
	         " \"name\" TEXT, \"username\" TEXT, \"email\" TEXT NOT NULL, \"avatarUrl\" TEXT,"
	         " \"details\" TEXT DEFAULT '{}' CHECK(json_valid(\"details\")));"
	         "CREATE TABLE \"memories\" (\"id\" TEXT PRIMARY KEY, \"type\" TEXT NOT NULL,"
	         " \"createdAt\" TIMESTAMP DEFAULT CURRENT_TIMESTAMP, \"content\" TEXT NOT NULL,"
	         " \"embedding\" BLOB NOT NULL, \"userId\" TEXT, \"roomId\" TEXT, \"agentId\" TEXT,"
	         " \"unique\" INTEGER DEFAULT 1 NOT NULL);"
	         "INSERT INTO accounts (id, name, username, email, details) VALUES ('u1', 'Eliza', 'eliza', 'x', '{}');"
	         "INSERT INTO memories VALUES ('m1', 'messages', 1735689600000, '{\"text\":\"old\"}', zeroblob(1536),"
	         " 'u1', 'r1', 'a1', 1);"
	         "INSERT INTO memories (id, type, content, embedding, roomId) VALUES"
	         " ('m2', 'messages', '{\"text\":\"dated\"}', x'', 'r1');"
	         "UPDATE memories SET createdAt = '2025-01-01 00:00:01' WHERE id = 'm2';");
	assert_int_equal(agent_store_sqlite_open(&s, path), TEELIZA_OK);
	assert_int_equal(agent_store_get_memory(s, &m, "m1"), TEELIZA_OK);
	assert_string_equal(m.content, "{\"text\":\"old\"}");
	assert_int_equal(m.created_at, 1735689600000LL);
	assert_int_equal(m.embedding_len, 384);
	agent_memory_clear(&m);
	/* a text timestamp reads as ms */
	assert_int_equal(agent_store_get_memory(s, &m, "m2"), TEELIZA_OK);
	assert_int_equal(m.created_at, 1735689601000LL);
	assert_null(m.user_id);
	assert_int_equal(m.embedding_len, 0);
	agent_memory_clear(&m);
	assert_int_equal(agent_store_get_account(s, &a, "u1"), TEELIZA_OK);
	assert_string_equal(a.username, "eliza");
	agent_account_clear(&a);
	agent_store_close(s);
	assert_int_equal(raw_int(path, "SELECT MAX(version) FROM schema_version"), AGENT_STORE_SCHEMA_VERSION);
	rm_rf(dir);
	free(dir);
}

/*
 * More (user, room) pairs than the store remembers as connected: every
 * pair, evicted from that memory or not, still has exactly one participant
 * row, and a user that talks to itself (agent id = user id) gets one.
 */
static void test_connection_many_users(void **state)
{
	agent_store *s;
	struct tdb t;
	agent_account_list actors;
	char name[32], user[AGENT_UUID_BUFSZ], agent[AGENT_UUID_BUFSZ], shared[AGENT_UUID_BUFSZ], want[64];
	const int users = 1500;

	(void)state;
	tdb_open(&t, &s);
	strcpy(agent, U("agent"));
	strcpy(shared, U("shared"));
	for (int round = 0; round < 2; round++) {
		for (int i = 0; i < users; i++) {
			snprintf(name, sizeof(name), "u%d", i);
			strcpy(user, U(name));
			assert_int_equal(agent_store_ensure_connection(s, agent, "Agent", user, shared, NULL, NULL,
			                                               "direct"), TEELIZA_OK);
		}
		assert_int_equal(agent_store_list_room_actors(s, &actors, shared), TEELIZA_OK);
		assert_int_equal(actors.count, (size_t)users + 1);
		assert_string_equal(actors.items[0].id, U("u0"));
		snprintf(want, sizeof(want), "User%s", U("u0"));
		assert_string_equal(actors.items[0].name, want);
		assert_string_equal(actors.items[1].id, agent);
		assert_string_equal(actors.items[users].id, U("u1499"));
		agent_account_list_free(&actors);
	}
	for (int i = 0; i < 2; i++)
		assert_int_equal(agent_store_ensure_connection(s, agent, "Agent", agent, U("self"), NULL, NULL, NULL),
		                 TEELIZA_OK);
	assert_int_equal(agent_store_list_room_actors(s, &actors, U("self")), TEELIZA_OK);
	assert_int_equal(actors.count, 1);
	assert_string_equal(actors.items[0].id, agent);
	agent_account_list_free(&actors);
	agent_store_close(s);
}

/* The connection and the first memory in one call: both stored, or neither. */
static void test_connection_and_memory(void **state)
{
	agent_store *s;
	agent_account_list actors;
	struct tdb t;
	agent_memory m, got;
	size_t n;
	float one = 1.0f;
	char agent[AGENT_UUID_BUFSZ], u1[AGENT_UUID_BUFSZ], r[AGENT_UUID_BUFSZ];

	(void)state;
	tdb_open(&t, &s);
	strcpy(agent, U("agent"));
	strcpy(u1, U("u1"));
	strcpy(r, U("r"));
	memset(&m, 0, sizeof(m));
	m.agent_id = agent;
	m.user_id = u1;
	m.room_id = r;
	m.content = "{\"text\":\"hi\"}";
	m.embedding = &one;
	m.embedding_len = (size_t)INT32_MAX; /* refused before anything is written */
	assert_int_equal(agent_store_ensure_connection_and_memory(s, agent, "Agent", u1, r, NULL, NULL, "direct",
	                                                          &m), TEELIZA_ERR_TOO_LARGE);
	assert_int_equal(agent_store_list_room_actors(s, &actors, r), TEELIZA_OK);
	assert_int_equal(actors.count, 0);
	agent_account_list_free(&actors);

	m.embedding = NULL;
	m.embedding_len = 0;
	m.id = U("m1");
	assert_int_equal(agent_store_ensure_connection_and_memory(s, agent, "Agent", u1, r, NULL, NULL, "direct",
	                                                          &m), TEELIZA_OK);
	m.id = U("m2"); /* the pair is known now: the memory alone is written */
	assert_int_equal(agent_store_ensure_connection_and_memory(s, agent, "Agent", u1, r, NULL, NULL, "direct",
	                                                          &m), TEELIZA_OK);
	assert_int_equal(agent_store_list_room_actors(s, &actors, r), TEELIZA_OK);
	assert_int_equal(actors.count, 2);
	assert_string_equal(actors.items[0].id, u1);
	assert_string_equal(actors.items[1].id, agent);
	agent_account_list_free(&actors);
	assert_int_equal(agent_store_count_memories(s, &n, NULL, r, false), TEELIZA_OK);
	assert_int_equal(n, 2);
	assert_int_equal(agent_store_get_memory(s, &got, U("m2")), TEELIZA_OK);
	assert_json(got.content, "{\"text\":\"hi\"}");
	assert_string_equal(got.user_id, u1);
	assert_int_equal(got.embedding_len, AGENT_STORE_EMBEDDING_DIM);
	agent_memory_clear(&got);
	agent_store_close(s);
}

static void test_connection_and_actors(void **state)
{
	agent_store *s;
	agent_account a;
	agent_account_list actors;
	struct tdb t;
	char agent[AGENT_UUID_BUFSZ], user[AGENT_UUID_BUFSZ], room[AGENT_UUID_BUFSZ], want[64];

	(void)state;
	assert_int_equal(agent_uuid_from_string(agent, "Eliza"), TEELIZA_OK);
	assert_int_equal(agent_uuid_user(user, NULL), TEELIZA_OK);
	assert_int_equal(agent_uuid_room(room, NULL, "Eliza"), TEELIZA_OK);
	tdb_open(&t, &s);
	for (int i = 0; i < 3; i++) {
		assert_int_equal(agent_store_ensure_connection(s, agent, "Eliza", user, room, NULL, NULL, "direct"),
		                 TEELIZA_OK);
	}
	assert_int_equal(agent_store_list_room_actors(s, &actors, room), TEELIZA_OK);
	assert_int_equal(actors.count, 2); /* no duplicates after three calls */
	snprintf(want, sizeof(want), "User%s", user);
	assert_string_equal(actors.items[0].id, user);
	assert_string_equal(actors.items[0].name, want);
	assert_string_equal(actors.items[0].username, want);
	assert_string_equal(actors.items[1].id, agent);
	assert_string_equal(actors.items[1].name, "Eliza");
	agent_account_list_free(&actors);
	assert_int_equal(actors.count, 0);

	assert_int_equal(agent_store_get_account(s, &a, agent), TEELIZA_OK);
	assert_string_equal(a.email, "direct");
	assert_json(a.details, "{\"summary\":\"\"}");
	assert_null(a.avatar_url);
	agent_account_clear(&a);
	/* an existing account is not overwritten */
	{
		agent_account other = { .id = agent, .name = "Other", .username = "other" };

		assert_int_equal(agent_store_ensure_account(s, &other), TEELIZA_OK);
		assert_int_equal(agent_store_get_account(s, &a, agent), TEELIZA_OK);
		assert_string_equal(a.name, "Eliza");
		agent_account_clear(&a);
	}
	assert_int_equal(agent_store_get_account(s, &a, U("nobody")), TEELIZA_ERR_NOT_FOUND);
	assert_null(a.id);
	/* bad JSON in details breaks Eliza's CHECK (SQLite) or its JSONB type (PostgreSQL) */
	{
		agent_account bad = { .id = U("x"), .name = "x", .details = "{not json" };

		assert_int_equal(agent_store_ensure_account(s, &bad), TEELIZA_ERR_INVALID);
	}
	assert_int_equal(agent_store_list_room_actors(s, &actors, U("empty-room")), TEELIZA_OK);
	assert_int_equal(actors.count, 0);
	agent_store_close(s);
}

static void put_msg(agent_store *s, const char *id, const char *room, const char *agent, int64_t at,
                    const char *text, bool unique)
{
	char content[256], mid[AGENT_UUID_BUFSZ], rid[AGENT_UUID_BUFSZ], aid[AGENT_UUID_BUFSZ], uid[AGENT_UUID_BUFSZ];
	agent_memory m = { 0 };

	snprintf(content, sizeof(content), "{\"text\":\"%s\"}", text);
	strcpy(mid, U(id));
	strcpy(rid, U(room));
	strcpy(aid, U(agent));
	strcpy(uid, U("u"));
	m.id = mid;
	m.agent_id = aid;
	m.user_id = uid;
	m.room_id = rid;
	m.content = content;
	m.created_at = at;
	m.unique = unique;
	assert_int_equal(agent_store_create_memory(s, &m), TEELIZA_OK);
}

static void assert_texts(const agent_memory_list *l, const char *const *want, size_t n)
{
	char buf[256];

	assert_int_equal(l->count, n);
	for (size_t i = 0; i < n; i++) {
		snprintf(buf, sizeof(buf), "{\"text\":\"%s\"}", want[i]);
		assert_json(l->items[i].content, buf);
	}
}

static void test_memories(void **state)
{
	agent_store *s;
	struct tdb t;
	agent_memory_list l;
	agent_memory_query q = { 0 };
	agent_memory m;
	size_t n;
	float emb[3] = { 1.5f, -0.25f, 3.0e-8f };
	char room[AGENT_UUID_BUFSZ], other[AGENT_UUID_BUFSZ], fresh_room[AGENT_UUID_BUFSZ], a[AGENT_UUID_BUFSZ],
		b[AGENT_UUID_BUFSZ], u[AGENT_UUID_BUFSZ];

	(void)state;
	tdb_open(&t, &s);
	strcpy(room, U("room"));
	strcpy(other, U("other"));
	strcpy(fresh_room, U("fresh"));
	strcpy(a, U("A"));
	strcpy(b, U("B"));
	strcpy(u, U("u"));
	/* the accounts and rooms first: PostgreSQL's foreign keys want them, as Eliza's runtime makes them */
	assert_int_equal(agent_store_ensure_connection(s, a, "A", u, room, NULL, NULL, NULL), TEELIZA_OK);
	assert_int_equal(agent_store_ensure_connection(s, b, "B", u, room, NULL, NULL, NULL), TEELIZA_OK);
	assert_int_equal(agent_store_ensure_connection(s, a, "A", u, other, NULL, NULL, NULL), TEELIZA_OK);
	assert_int_equal(agent_store_ensure_room(s, fresh_room), TEELIZA_OK);
	put_msg(s, "m3", "room", "A", 3000, "three", true);
	put_msg(s, "m1", "room", "A", 1000, "one", true);
	put_msg(s, "m2", "room", "B", 2000, "two", false);
	put_msg(s, "m4a", "room", "A", 4000, "four-a", true);
	put_msg(s, "m4b", "room", "A", 4000, "four-b", true); /* same ms: insertion order decides */
	put_msg(s, "x1", "other", "A", 1500, "elsewhere", true);

	/* the most recent 3, oldest first for the prompt */
	q.room_id = room;
	q.count = 3;
	assert_int_equal(agent_store_get_memories(s, &l, &q), TEELIZA_OK);
	assert_texts(&l, (const char *const[]){ "three", "four-a", "four-b" }, 3);
	assert_int_equal(l.items[0].created_at, 3000);
	assert_string_equal(l.items[0].type, "messages");
	assert_string_equal(l.items[0].room_id, room);
	assert_null(l.items[0].embedding);
	agent_memory_list_free(&l);
	/* newest first, as Eliza's API returns them */
	q.newest_first = true;
	assert_int_equal(agent_store_get_memories(s, &l, &q), TEELIZA_OK);
	assert_texts(&l, (const char *const[]){ "four-b", "four-a", "three" }, 3);
	agent_memory_list_free(&l);
	/* all, filtered */
	q.newest_first = false;
	q.count = 0;
	assert_int_equal(agent_store_get_memories(s, &l, &q), TEELIZA_OK);
	assert_texts(&l, (const char *const[]){ "one", "two", "three", "four-a", "four-b" }, 5);
	agent_memory_list_free(&l);
	q.agent_id = b;
	assert_int_equal(agent_store_get_memories(s, &l, &q), TEELIZA_OK);
	assert_texts(&l, (const char *const[]){ "two" }, 1);
	agent_memory_list_free(&l);
	q.agent_id = NULL;
	q.unique_only = true;
	q.start = 1000;
	q.end = 3000;
	assert_int_equal(agent_store_get_memories(s, &l, &q), TEELIZA_OK);
	assert_texts(&l, (const char *const[]){ "one", "three" }, 2);
	agent_memory_list_free(&l);
	q = (agent_memory_query){ .room_id = room, .type = "facts" };
	assert_int_equal(agent_store_get_memories(s, &l, &q), TEELIZA_OK);
	assert_int_equal(l.count, 0);
	assert_null(l.items);

	assert_int_equal(agent_store_count_memories(s, &n, NULL, room, false), TEELIZA_OK);
	assert_int_equal(n, 5);
	assert_int_equal(agent_store_count_memories(s, &n, "messages", room, true), TEELIZA_OK);
	assert_int_equal(n, 4);

	/* default embedding: 384 zeros; a given one round-trips */
	assert_int_equal(agent_store_get_memory(s, &m, U("m1")), TEELIZA_OK);
	assert_int_equal(m.embedding_len, AGENT_STORE_EMBEDDING_DIM);
	for (size_t i = 0; i < m.embedding_len; i++)
		assert_true(m.embedding[i] == 0.0f);
	assert_string_equal(m.agent_id, a);
	assert_string_equal(m.user_id, u);
	assert_true(m.unique);
	agent_memory_clear(&m);
	assert_null(m.id);
	{
		agent_memory e = { .id = U("emb"), .room_id = room, .content = "{\"text\":\"e\"}", .created_at = 10,
		                   .embedding = emb, .embedding_len = 3, .type = "facts" };

		assert_int_equal(agent_store_create_memory(s, &e), TEELIZA_OK);
	}
	assert_int_equal(agent_store_get_memory(s, &m, U("emb")), TEELIZA_OK);
	assert_int_equal(m.embedding_len, 3);
	assert_memory_equal(m.embedding, emb, sizeof(emb));
	assert_string_equal(m.type, "facts");
	agent_memory_clear(&m);
	/* with_embedding on a list */
	q = (agent_memory_query){ .room_id = room, .type = "facts", .with_embedding = true };
	assert_int_equal(agent_store_get_memories(s, &l, &q), TEELIZA_OK);
	assert_int_equal(l.count, 1);
	assert_int_equal(l.items[0].embedding_len, 3);
	assert_true(l.items[0].embedding[0] == 1.5f);
	agent_memory_list_free(&l);

	/* same id replaces (INSERT OR REPLACE) */
	put_msg(s, "m1", "room", "A", 1000, "one again", true);
	assert_int_equal(agent_store_get_memory(s, &m, U("m1")), TEELIZA_OK);
	assert_json(m.content, "{\"text\":\"one again\"}");
	agent_memory_clear(&m);
	assert_int_equal(agent_store_count_memories(s, &n, NULL, room, false), TEELIZA_OK);
	assert_int_equal(n, 5);

	/* no id, no time: a fresh UUID and now (the database's clock on PostgreSQL: same machine here) */
	{
		agent_memory fresh = { .room_id = fresh_room, .content = "{}" };
		int64_t before = agent_store_now_ms();

		assert_int_equal(agent_store_create_memory(s, &fresh), TEELIZA_OK);
		q = (agent_memory_query){ .room_id = fresh_room };
		assert_int_equal(agent_store_get_memories(s, &l, &q), TEELIZA_OK);
		assert_int_equal(l.count, 1);
		assert_true(agent_uuid_is_valid(l.items[0].id));
		assert_true(l.items[0].created_at >= before && l.items[0].created_at <= agent_store_now_ms());
		agent_memory_list_free(&l);
	}

	assert_int_equal(agent_store_delete_room_memories(s, &n, NULL, room), TEELIZA_OK);
	assert_int_equal(n, 5);
	assert_int_equal(agent_store_count_memories(s, &n, NULL, room, false), TEELIZA_OK);
	assert_int_equal(n, 0);
	assert_int_equal(agent_store_count_memories(s, &n, "facts", room, false), TEELIZA_OK);
	assert_int_equal(n, 1); /* other types stay */
	assert_int_equal(agent_store_count_memories(s, &n, NULL, other, false), TEELIZA_OK);
	assert_int_equal(n, 1);
	assert_int_equal(agent_store_get_memory(s, &m, U("m1")), TEELIZA_ERR_NOT_FOUND);
	agent_store_close(s);
}

static void test_cache_log_attestation(void **state)
{
	char *dir = make_tmpdir();
	struct tdb t;
	agent_store *s;
	char *v;
	agent_attestation a = { 0 }, got;
	const uint8_t quote[] = { 0x04, 0x00, 0x02, 0x00, 0x81, 0x00, 0x00, 0x00, 0xff, 0x00 };
	char agent[AGENT_UUID_BUFSZ], u[AGENT_UUID_BUFSZ], r[AGENT_UUID_BUFSZ], att[AGENT_UUID_BUFSZ];

	(void)state;
	strcpy(agent, U("agent"));
	strcpy(u, U("u"));
	strcpy(r, U("r"));
	strcpy(att, U("att-1"));
	if (pg_base == NULL) {
		snprintf(t.where, sizeof(t.where), "%s/db.sqlite", dir);
		tdb_reopen(&t, &s);
	} else {
		tdb_open(&t, &s);
	}
	assert_int_equal(agent_store_cache_get(s, &v, "k", "agent"), TEELIZA_ERR_NOT_FOUND);
	assert_null(v);
	assert_int_equal(agent_store_cache_set(s, "k", "agent", "{\"a\":1}", 0), TEELIZA_OK);
	assert_int_equal(agent_store_cache_set(s, "k", "agent2", "[2]", 0), TEELIZA_OK);
	assert_int_equal(agent_store_cache_get(s, &v, "k", "agent"), TEELIZA_OK);
	assert_json(v, "{\"a\":1}");
	free(v);
	assert_int_equal(agent_store_cache_set(s, "k", "agent", "\"replaced\"", 0), TEELIZA_OK);
	assert_int_equal(agent_store_cache_get(s, &v, "k", "agent"), TEELIZA_OK);
	assert_string_equal(v, "\"replaced\"");
	free(v);
	assert_int_equal(agent_store_cache_set(s, "k", "agent", "not json", 0), TEELIZA_ERR_INVALID);
	assert_int_equal(agent_store_cache_set(s, "old", "agent", "1", agent_store_now_ms() - 1), TEELIZA_OK);
	assert_int_equal(agent_store_cache_get(s, &v, "old", "agent"), TEELIZA_ERR_NOT_FOUND);
	assert_int_equal(agent_store_cache_set(s, "later", "agent", "1", agent_store_now_ms() + 3600000), TEELIZA_OK);
	assert_int_equal(agent_store_cache_get(s, &v, "later", "agent"), TEELIZA_OK);
	free(v);
	assert_int_equal(agent_store_cache_delete(s, "k", "agent"), TEELIZA_OK);
	assert_int_equal(agent_store_cache_get(s, &v, "k", "agent"), TEELIZA_ERR_NOT_FOUND);
	assert_int_equal(agent_store_cache_get(s, &v, "k", "agent2"), TEELIZA_OK);
	free(v);
	assert_int_equal(agent_store_cache_delete(s, "missing", "agent"), TEELIZA_OK);

	/* Eliza's runtime logs for a user it has connected (PostgreSQL's logs have foreign keys) */
	assert_int_equal(agent_store_ensure_connection(s, agent, "Agent", u, r, NULL, NULL, NULL), TEELIZA_OK);
	assert_int_equal(agent_store_log(s, u, r, "message", "{\"text\":\"hi\"}"), TEELIZA_OK);
	assert_int_equal(agent_store_log(s, u, r, "message", "{\"text\":\"again\"}"), TEELIZA_OK);

	a.id = att;
	a.agent_id = agent;
	a.created_at = 1700000000123LL;
	a.report_data_json = "{\"agentId\":\"agent\"}";
	a.quote = quote;
	a.quote_len = sizeof(quote);
	a.event_log = "[]";
	assert_int_equal(agent_store_put_attestation(s, &a), TEELIZA_OK);
	assert_int_equal(agent_store_put_attestation(s, &a), TEELIZA_ERR_INVALID);
	assert_int_equal(agent_store_get_attestation(s, &got, U("nope")), TEELIZA_ERR_NOT_FOUND);
	agent_store_close(s);

	/* everything survives a close and reopen */
	tdb_reopen(&t, &s);
	assert_int_equal(agent_store_get_attestation(s, &got, att), TEELIZA_OK);
	assert_string_equal(got.id, att);
	assert_string_equal(got.agent_id, agent);
	assert_int_equal(got.created_at, 1700000000123LL);
	assert_string_equal(got.report_data_json, "{\"agentId\":\"agent\"}");
	assert_string_equal(got.event_log, "[]");
	assert_int_equal(got.quote_len, sizeof(quote));
	assert_memory_equal(got.quote, quote, sizeof(quote));
	agent_attestation_clear(&got);
	assert_int_equal(agent_store_cache_get(s, &v, "k", "agent2"), TEELIZA_OK);
	assert_json(v, "[2]");
	free(v);
	agent_store_close(s);
	if (pg_base == NULL) {
		char sql[256];

		snprintf(sql, sizeof(sql), "SELECT COUNT(*) FROM logs WHERE userId = '%s' AND type = 'message' "
		         "AND json_extract(body, '$.text') IN ('hi', 'again') AND length(id) = 36", u);
		assert_int_equal(raw_int(t.where, sql), 2);
	}
	rm_rf(dir);
	free(dir);
}

#define THREADS 8
#define PER_THREAD 150

struct worker {
	agent_store *s;
	int n;
	teeliza_err err;
};

static void *insert_worker(void *arg)
{
	struct worker *w = arg;
	char id[AGENT_UUID_BUFSZ], content[64], user[AGENT_UUID_BUFSZ];

	char name[64], agent[AGENT_UUID_BUFSZ], room[AGENT_UUID_BUFSZ];

	snprintf(name, sizeof(name), "user-%d", w->n);
	assert_int_equal(agent_uuid_from_string(user, name), TEELIZA_OK);
	assert_int_equal(agent_uuid_from_string(agent, "agent"), TEELIZA_OK);
	assert_int_equal(agent_uuid_from_string(room, "shared"), TEELIZA_OK);
	for (int i = 0; i < PER_THREAD && w->err == TEELIZA_OK; i++) {
		agent_memory m = { 0 };

		/* every thread races to join the same room (before its memories: foreign keys) */
		if (i % 10 == 0)
			w->err = agent_store_ensure_connection(w->s, agent, "Agent", user, room, NULL, NULL, "direct");
		snprintf(name, sizeof(name), "t%d-%d", w->n, i);
		assert_int_equal(agent_uuid_from_string(id, name), TEELIZA_OK);
		snprintf(content, sizeof(content), "{\"text\":\"%d/%d\"}", w->n, i);
		m.id = id;
		m.room_id = room;
		m.agent_id = agent;
		m.user_id = user;
		m.content = content;
		m.created_at = 1000 + i;
		m.unique = true;
		if (w->err == TEELIZA_OK)
			w->err = agent_store_create_memory(w->s, &m);
	}
	return NULL;
}

static void test_concurrent_inserts(void **state)
{
	char *dir = make_tmpdir();
	struct tdb t;
	agent_store *s;
	pthread_t th[THREADS];
	struct worker w[THREADS];
	agent_account_list actors;
	agent_memory_list l;
	char shared[AGENT_UUID_BUFSZ];
	agent_memory_query q = { .room_id = shared, .count = 10 };
	size_t n;

	(void)state;
	strcpy(shared, U("shared"));
	if (pg_base == NULL) {
		snprintf(t.where, sizeof(t.where), "%s/db.sqlite", dir);
		tdb_reopen(&t, &s);
	} else {
		tdb_open(&t, &s);
	}
	for (int i = 0; i < THREADS; i++) {
		w[i] = (struct worker){ .s = s, .n = i };
		assert_int_equal(pthread_create(&th[i], NULL, insert_worker, &w[i]), 0);
	}
	for (int i = 0; i < THREADS; i++) {
		assert_int_equal(pthread_join(th[i], NULL), 0);
		assert_int_equal(w[i].err, TEELIZA_OK);
	}
	assert_int_equal(agent_store_count_memories(s, &n, NULL, shared, false), TEELIZA_OK);
	assert_int_equal(n, THREADS * PER_THREAD);
	assert_int_equal(agent_store_list_room_actors(s, &actors, shared), TEELIZA_OK);
	assert_int_equal(actors.count, THREADS + 1); /* each user once, plus the agent */
	agent_account_list_free(&actors);
	assert_int_equal(agent_store_get_memories(s, &l, &q), TEELIZA_OK);
	assert_int_equal(l.count, 10);
	/* one memory per thread at the newest instant, the rest from the one before; oldest first */
	for (size_t i = 0; i < l.count; i++)
		assert_int_equal(l.items[i].created_at, 1000 + PER_THREAD - (i < 10 - THREADS ? 2 : 1));
	agent_memory_list_free(&l);
	agent_store_close(s);
	/* and all of it is on disk */
	if (pg_base == NULL) {
		assert_int_equal(raw_int(t.where, "SELECT COUNT(*) FROM memories"), THREADS * PER_THREAD);
		assert_int_equal(raw_int(t.where, "SELECT COUNT(*) FROM participants"), THREADS + 1);
	}
	rm_rf(dir);
	free(dir);
}

static void test_default_path(void **state)
{
	char *dir = make_tmpdir();
	char cwd[PATH_MAX], path[PATH_MAX];
	agent_store *s;
	struct stat st;

	(void)state;
	assert_non_null(getcwd(cwd, sizeof(cwd)));
	assert_int_equal(chdir(dir), 0);
	unsetenv("SQLITE_FILE");
	unsetenv("POSTGRES_URL");
	unsetenv("DATABASE_URL");
	assert_int_equal(agent_store_open_default(&s), TEELIZA_OK);
	agent_store_close(s);
	assert_int_equal(stat("data/db.sqlite", &st), 0);
	assert_int_equal(st.st_mode & 0777, 0600);
	snprintf(path, sizeof(path), "%s/elsewhere/agent.db", dir);
	setenv("SQLITE_FILE", path, 1);
	assert_int_equal(agent_store_open_default(&s), TEELIZA_OK);
	agent_store_close(s);
	unsetenv("SQLITE_FILE");
	assert_int_equal(stat(path, &st), 0);
	assert_int_equal(chdir(cwd), 0);
	rm_rf(dir);
	free(dir);
}

/* A reply's memories and its receipt: stored together, or (a taken sequence number) neither */
static uint64_t round_trips(void)
{
	teeliza_metrics m;

	teeliza_metrics_get(&m);
	return m.db_round_trips;
}

/* A recall must be what get_memories and get_account give, in their order, each author once. */
static void assert_recall_matches(agent_store *s, const agent_recall *got, const agent_memory_query *q)
{
	agent_memory_list want;
	size_t n_authors = 0;

	assert_int_equal(agent_store_get_memories(s, &want, q), TEELIZA_OK);
	assert_int_equal(got->memories.count, want.count);
	for (size_t i = 0; i < want.count; i++) {
		const char *uid = want.items[i].user_id;
		bool seen = false;

		assert_string_equal(got->memories.items[i].id, want.items[i].id);
		assert_string_equal(got->memories.items[i].user_id, uid);
		assert_int_equal(got->memories.items[i].created_at, want.items[i].created_at);
		assert_json(got->memories.items[i].content, want.items[i].content);
		for (size_t j = 0; j < i; j++)
			seen = seen || strcmp(want.items[j].user_id, uid) == 0;
		if (!seen) {
			agent_account a;

			assert_true(n_authors < got->authors.count);
			assert_int_equal(agent_store_get_account(s, &a, uid), TEELIZA_OK);
			assert_string_equal(got->authors.items[n_authors].id, a.id);
			assert_string_equal(got->authors.items[n_authors].name, a.name);
			assert_string_equal(got->authors.items[n_authors].username, a.username);
			agent_account_clear(&a);
			n_authors++;
		}
	}
	assert_int_equal(got->authors.count, n_authors);
	agent_memory_list_free(&want);
}

static void test_recall(void **state)
{
	agent_store *s;
	struct tdb t;
	agent_memory m;
	agent_memory_query q;
	agent_recall got;
	agent_account a;
	float one = 1.0f;
	char agent[AGENT_UUID_BUFSZ], u1[AGENT_UUID_BUFSZ], u2[AGENT_UUID_BUFSZ], u3[AGENT_UUID_BUFSZ];
	char r[AGENT_UUID_BUFSZ], r2[AGENT_UUID_BUFSZ], ids[6][AGENT_UUID_BUFSZ], fallback[64];
	const char *author[6];
	uint64_t before;
	size_t n;

	(void)state;
	tdb_open(&t, &s);
	strcpy(agent, U("agent"));
	strcpy(u1, U("u1"));
	strcpy(u2, U("u2"));
	strcpy(u3, U("u3"));
	strcpy(r, U("r"));
	strcpy(r2, U("r2"));
	assert_int_equal(agent_store_ensure_connection(s, agent, "Agent", u1, r, "alice", "Alice", "direct"), TEELIZA_OK);
	assert_int_equal(agent_store_ensure_connection(s, agent, "Agent", u2, r, "bob", "Bob", "direct"), TEELIZA_OK);
	author[0] = u1, author[1] = agent, author[2] = u2, author[3] = agent, author[4] = u1, author[5] = u2;
	for (int i = 0; i < 6; i++) {
		char name[16];

		snprintf(name, sizeof(name), "m%d", i);
		strcpy(ids[i], U(name));
		memset(&m, 0, sizeof(m));
		m.id = ids[i];
		m.agent_id = agent;
		m.user_id = author[i];
		m.room_id = r;
		m.content = "{\"text\":\"x\"}";
		m.created_at = 1700000000000 + i * 1000;
		assert_int_equal(agent_store_create_memory(s, &m), TEELIZA_OK);
	}
	memset(&q, 0, sizeof(q));
	q.agent_id = agent;
	q.room_id = r;
	q.count = 4; /* m2..m5: authors u2, agent, u1 in that order (oldest first) */
	assert_int_equal(agent_store_recall(s, &got, &q), TEELIZA_OK);
	assert_recall_matches(s, &got, &q);
	assert_int_equal(got.authors.count, 3);
	assert_string_equal(got.authors.items[0].id, u2);
	assert_string_equal(got.authors.items[0].name, "Bob");
	assert_string_equal(got.authors.items[2].id, u1);
	agent_recall_free(&got);
	q.newest_first = true;
	assert_int_equal(agent_store_recall(s, &got, &q), TEELIZA_OK);
	assert_recall_matches(s, &got, &q);
	assert_string_equal(got.memories.items[0].id, ids[5]);
	agent_recall_free(&got);
	q.newest_first = false;
	q.count = 0;
	assert_int_equal(agent_store_recall(s, &got, &q), TEELIZA_OK);
	assert_recall_matches(s, &got, &q);
	agent_recall_free(&got);

	/* the message's write and the read after it: the read sees the message, one round trip on a server */
	memset(&m, 0, sizeof(m));
	m.id = U("m6");
	m.agent_id = agent;
	m.user_id = u1;
	m.room_id = r;
	m.content = "{\"text\":\"latest\"}";
	q.count = 3;
	before = round_trips();
	assert_int_equal(agent_store_ensure_connection_recall(s, &got, agent, "Agent", u1, r, "alice", "Alice", "direct",
	                                                      &m, &q), TEELIZA_OK);
	assert_int_equal(round_trips() - before, pg_base != NULL ? 1 : 0);
	assert_recall_matches(s, &got, &q);
	assert_int_equal(got.memories.count, 3);
	assert_string_equal(got.memories.items[2].id, U("m6"));
	assert_json(got.memories.items[2].content, "{\"text\":\"latest\"}");
	agent_recall_free(&got);

	/* a new user in a new room: accounts, room, participants, message and read, still one round trip */
	m.id = U("m7");
	m.user_id = u3;
	m.room_id = r2;
	q.room_id = r2;
	before = round_trips();
	assert_int_equal(agent_store_ensure_connection_recall(s, &got, agent, "Agent", u3, r2, NULL, NULL, "direct", &m,
	                                                      &q), TEELIZA_OK);
	assert_int_equal(round_trips() - before, pg_base != NULL ? 1 : 0);
	assert_int_equal(got.memories.count, 1);
	assert_int_equal(got.authors.count, 1);
	assert_string_equal(got.authors.items[0].id, u3);
	snprintf(fallback, sizeof(fallback), "User%s", u3); /* Eliza's default username */
	assert_string_equal(got.authors.items[0].username, fallback);
	agent_recall_free(&got);

	/* refused before anything is written: nothing stored, nothing read */
	m.id = U("m8");
	m.user_id = U("u4");
	m.room_id = U("r3");
	m.embedding = &one;
	m.embedding_len = (size_t)INT32_MAX;
	q.room_id = U("r3");
	assert_int_equal(agent_store_ensure_connection_recall(s, &got, agent, "Agent", U("u4"), U("r3"), NULL, NULL,
	                                                      "direct", &m, &q), TEELIZA_ERR_TOO_LARGE);
	assert_int_equal(got.memories.count, 0);
	assert_int_equal(agent_store_get_account(s, &a, U("u4")), TEELIZA_ERR_NOT_FOUND);
	if (pg_base != NULL) {
		/*
		 * A write the server refuses part-way (the memory names a room
		 * that does not exist: its foreign key) takes the whole pipeline
		 * with it: the new user's account, written before it, is not kept.
		 */
		m.embedding = NULL;
		m.embedding_len = 0;
		m.room_id = U("no such room");
		q.room_id = U("r4");
		assert_int_equal(agent_store_ensure_connection_recall(s, &got, agent, "Agent", U("u5"), U("r4"), NULL, NULL,
		                                                      "direct", &m, &q), TEELIZA_ERR_INVALID);
		assert_int_equal(got.memories.count, 0);
		assert_int_equal(agent_store_get_account(s, &a, U("u5")), TEELIZA_ERR_NOT_FOUND);
		assert_int_equal(agent_store_count_memories(s, &n, NULL, U("r4"), false), TEELIZA_OK);
		assert_int_equal(n, 0);
		/* and the connection it ran on still works */
		q.room_id = r;
		assert_int_equal(agent_store_recall(s, &got, &q), TEELIZA_OK);
		assert_int_equal(got.memories.count, 3);
		agent_recall_free(&got);
	}
	agent_store_close(s);
}

/* A builder for test_append_receipt: the next link on head, as a writer of the chain builds it. */
struct append_ctx {
	const char *agent_id;
	char id[65], receipt[64];
	unsigned calls;
	uint64_t saw_seq;            /* head's seq, 0 when there was none */
};

static teeliza_err build_next(agent_receipt *out, void *ctx, const agent_receipt *head)
{
	struct append_ctx *a = ctx;

	a->calls++;
	a->saw_seq = head != NULL ? head->seq : 0;
	snprintf(a->id, sizeof(a->id), "%064llu", (unsigned long long)a->saw_seq + 100);
	snprintf(a->receipt, sizeof(a->receipt), "{\"seq\":%llu}", (unsigned long long)a->saw_seq + 1);
	memset(out, 0, sizeof(*out));
	out->id = a->id;
	out->agent_id = a->agent_id;
	out->seq = a->saw_seq + 1;
	out->receipt = a->receipt;
	out->signature = "aa";
	out->public_key = "bb";
	return TEELIZA_OK;
}

static void test_append_receipt(void **state)
{
	agent_store *s;
	struct tdb t;
	agent_memory m;
	agent_receipt last, rc = { .seq = 1, .receipt = "{}", .signature = "aa", .public_key = "bb" };
	struct append_ctx a = { 0 };
	char agent[AGENT_UUID_BUFSZ], u1[AGENT_UUID_BUFSZ], r[AGENT_UUID_BUFSZ];

	(void)state;
	tdb_open(&t, &s);
	strcpy(agent, U("agent"));
	strcpy(u1, U("u1"));
	strcpy(r, U("r"));
	a.agent_id = agent;
	assert_int_equal(agent_store_ensure_connection(s, agent, "Agent", u1, r, NULL, NULL, "direct"), TEELIZA_OK);
	/* an empty chain: the builder is told there is no head */
	assert_int_equal(agent_store_append_receipt(s, agent, build_next, &a, NULL, 0), TEELIZA_OK);
	assert_int_equal(a.saw_seq, 0);
	/* a link another writer stored meanwhile is the head the next append builds on */
	rc.agent_id = agent;
	rc.id = "0000000000000000000000000000000000000000000000000000000000000777";
	rc.seq = 2;
	assert_int_equal(agent_store_put_receipt(s, &rc), TEELIZA_OK);
	memset(&m, 0, sizeof(m));
	m.id = U("reply-a");
	m.agent_id = agent;
	m.user_id = agent;
	m.room_id = r;
	m.content = "{\"text\":\"x\"}";
	assert_int_equal(agent_store_append_receipt(s, agent, build_next, &a, &m, 1), TEELIZA_OK);
	assert_int_equal(a.saw_seq, 2);
	assert_int_equal(agent_store_last_receipt(s, &last, agent), TEELIZA_OK);
	assert_int_equal(last.seq, 3);
	assert_string_equal(last.receipt, "{\"seq\":3}");
	agent_receipt_clear(&last);
	assert_int_equal(agent_store_get_memory(s, &m, U("reply-a")), TEELIZA_OK);
	agent_memory_clear(&m);
	agent_store_close(s);
}

static void test_receipt_with_memories(void **state)
{
	agent_store *s;
	struct tdb t;
	agent_memory m[2], got;
	agent_receipt rc = { .agent_id = NULL, .seq = 1, .receipt = "{}", .signature = "aa", .public_key = "bb" }, last;
	char agent[AGENT_UUID_BUFSZ], u1[AGENT_UUID_BUFSZ], r[AGENT_UUID_BUFSZ];
	uint64_t before;
	size_t n;

	(void)state;
	tdb_open(&t, &s);
	strcpy(agent, U("agent"));
	strcpy(u1, U("u1"));
	strcpy(r, U("r"));
	assert_int_equal(agent_store_ensure_connection(s, agent, "Agent", u1, r, NULL, NULL, "direct"), TEELIZA_OK);
	memset(m, 0, sizeof(m));
	for (int i = 0; i < 2; i++) {
		m[i].agent_id = agent;
		m[i].user_id = i == 0 ? agent : u1;
		m[i].room_id = r;
		m[i].content = "{\"text\":\"x\"}";
	}
	m[0].id = U("reply-1");
	m[1].id = U("answer-1");
	rc.agent_id = agent;
	rc.id = "0000000000000000000000000000000000000000000000000000000000000001";
	rc.memory_id = m[0].id;
	before = round_trips();
	assert_int_equal(agent_store_put_receipt_with_memories(s, &rc, m, 2), TEELIZA_OK);
	/* both memories and the receipt in one transaction sent as one pipeline: one round trip on a server */
	assert_int_equal(round_trips() - before, pg_base != NULL ? 1 : 0);
	assert_int_equal(agent_store_count_memories(s, &n, NULL, r, false), TEELIZA_OK);
	assert_int_equal(n, 2);
	assert_int_equal(agent_store_last_receipt(s, &last, agent), TEELIZA_OK);
	assert_string_equal(last.memory_id, m[0].id);
	agent_receipt_clear(&last);

	/* seq 1 is taken (another writer's link): the new reply's memories are not stored either */
	m[0].id = U("reply-2");
	m[1].id = U("answer-2");
	rc.id = "0000000000000000000000000000000000000000000000000000000000000002";
	rc.memory_id = m[0].id;
	assert_int_equal(agent_store_put_receipt_with_memories(s, &rc, m, 2), TEELIZA_ERR_CONFLICT);
	assert_int_equal(agent_store_put_receipt(s, &rc), TEELIZA_ERR_CONFLICT);
	assert_int_equal(agent_store_get_memory(s, &got, U("reply-2")), TEELIZA_ERR_NOT_FOUND);
	assert_int_equal(agent_store_count_memories(s, &n, NULL, r, false), TEELIZA_OK);
	assert_int_equal(n, 2);
	/* a free seq under a taken receipt id is not a taken link: bad data, not a conflict */
	rc.id = "0000000000000000000000000000000000000000000000000000000000000001";
	rc.seq = 2;
	assert_int_equal(agent_store_put_receipt_with_memories(s, &rc, m, 2), TEELIZA_ERR_INVALID);
	assert_int_equal(agent_store_put_receipt(s, &rc), TEELIZA_ERR_INVALID);
	assert_int_equal(agent_store_get_memory(s, &got, U("reply-2")), TEELIZA_ERR_NOT_FOUND);
	agent_store_close(s);
}

int main(void)
{
	const char *url = getenv("TEELIZA_TEST_PG_URL");
	const struct CMUnitTest common[] = {
		cmocka_unit_test(test_connection_and_actors),
		cmocka_unit_test(test_connection_many_users),
		cmocka_unit_test(test_connection_and_memory),
		cmocka_unit_test(test_memories),
		cmocka_unit_test(test_cache_log_attestation),
		cmocka_unit_test(test_concurrent_inserts),
		cmocka_unit_test(test_receipt_with_memories),
		cmocka_unit_test(test_recall),
		cmocka_unit_test(test_append_receipt),
	};
	const struct CMUnitTest sqlite[] = {
		cmocka_unit_test(test_schema_and_file),
		cmocka_unit_test(test_adopts_eliza_database),
		cmocka_unit_test(test_default_path),
	};
	int failed;

	if (url != NULL && url[0] != '\0') {
		pg_base = url;
		fprintf(stderr, "store tests against PostgreSQL (TEELIZA_TEST_PG_URL)\n");
		return cmocka_run_group_tests_name("store on PostgreSQL", common, NULL, NULL);
	}
	failed = cmocka_run_group_tests_name("store on SQLite", common, NULL, NULL);
	return failed + cmocka_run_group_tests_name("SQLite file and schema", sqlite, NULL, NULL);
}
