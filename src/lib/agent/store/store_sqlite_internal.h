/*
 * What the SQLite back-end's files share (src/lib/agent/store/store_sqlite*.c):
 * the store struct, its statements, and the helpers that run them and read
 * their rows. Not public; callers use teeliza/agent/store.h.
 *
 * Locking: one connection, prepared once, guarded by s->lock (statements
 * are reused, and the error text must be read before another thread runs a
 * statement). The sq_put_* helpers expect the lock held; the sq_* operations
 * (agent_store_ops) take it themselves.
 */
#ifndef TEELIZA_AGENT_STORE_SQLITE_INTERNAL_H
#define TEELIZA_AGENT_STORE_SQLITE_INTERNAL_H

#include "teeliza/agent/store.h"
#include "teeliza/agent/uuid.h"

#include <pthread.h>
#include <sys/types.h>
#include <sqlite3.h>

enum stmt_id {
	ST_BEGIN,
	ST_COMMIT,
	ST_ROLLBACK,
	ST_SCHEMA_VERSION,
	ST_ENSURE_ACCOUNT,
	ST_GET_ACCOUNT,
	ST_ENSURE_ROOM,
	ST_FIND_PARTICIPANT,
	ST_ADD_PARTICIPANT,
	ST_ROOM_ACTORS,
	ST_PUT_MEMORY,
	ST_GET_MEMORY,
	ST_GET_MEMORIES,
	ST_COUNT_MEMORIES,
	ST_DELETE_ROOM_MEMORIES,
	ST_CACHE_GET,
	ST_CACHE_SET,
	ST_CACHE_DELETE,
	ST_LOG,
	ST_PUT_ATTESTATION,
	ST_GET_ATTESTATION,
	ST_PUT_RECEIPT,
	ST_GET_RECEIPT,
	ST_LAST_RECEIPT,
	ST_PING,
	ST_REQUEST_GET,
	ST_REQUEST_NEW,
	ST_REQUEST_TAKE,
	ST_REQUEST_DONE,
	ST_REQUEST_RELEASE,
	ST_LIST_INSTANCES,
	ST_CHARACTER_PUT,
	ST_CHARACTER_GET,
	ST_CHARACTER_VERSION,
	ST__COUNT
};

/* The SQL of each statement (store_sqlite_stmt.c). */
extern const char *const sq_stmt_sql[ST__COUNT];

/*
 * (agent, user, room) triples already connected by this store: a message
 * from a known user skips ensure_connection's transaction. Direct-mapped
 * by hash, so it stays bounded; a slot keeps its whole key, so a hash
 * collision evicts an entry and never makes an unknown triple look known.
 */
#define KNOWN_SLOTS 1024

struct known_slot {
	char *key;          /* agent_id NUL user_id NUL room_id NUL, or NULL: empty */
	size_t len;
};

struct sqlite_store {
	agent_store base;   /* first: agent_store * and sqlite_store * are interchangeable */
	sqlite3 *db;
	pthread_mutex_t lock;
	sqlite3_stmt *st[ST__COUNT];
	struct known_slot known[KNOWN_SLOTS];
	char *path;         /* the file opened (NULL: in memory), and what it was: the ping checks it is still there */
	dev_t dev;
	ino_t ino;
};

static inline struct sqlite_store *S(agent_store *s)
{
	return (struct sqlite_store *)s;
}

/* A prepared statement, reset and with no bindings. */
static inline sqlite3_stmt *stmt(struct sqlite_store *s, enum stmt_id id)
{
	sqlite3_stmt *st = s->st[id];

	sqlite3_reset(st);
	sqlite3_clear_bindings(st);
	return st;
}

/* Statements bind borrowed pointers (SQLITE_STATIC): every use ends with done(). */
static inline void done(sqlite3_stmt *st)
{
	sqlite3_reset(st);
	sqlite3_clear_bindings(st);
}

static inline int bind_text(sqlite3_stmt *st, int idx, const char *v)
{
	if (v == NULL)
		return sqlite3_bind_null(st, idx);
	return sqlite3_bind_text(st, idx, v, -1, SQLITE_STATIC);
}

static inline int bind_ms(sqlite3_stmt *st, int idx, int64_t ms)
{
	if (ms == 0)
		return sqlite3_bind_null(st, idx);
	return sqlite3_bind_int64(st, idx, ms);
}

/* ---- store_sqlite_stmt.c: running statements ---- */

/* Map SQLite's rc to teeliza_err, with what was being done and SQLite's message. Returns the error. */
teeliza_err sq_fail(sqlite3 *db, int rc, const char *what);
/* Run a statement that returns no rows; done() afterwards. */
teeliza_err sq_exec(struct sqlite_store *s, sqlite3_stmt *st, const char *what);
/* TEELIZA_ERR_NOMEM "out of memory reading the agent database". */
teeliza_err sq_nomem(void);
/* BEGIN IMMEDIATE; sq_end commits when err is TEELIZA_OK, else (or when the commit fails) rolls back. */
teeliza_err sq_begin(struct sqlite_store *s);
teeliza_err sq_end(struct sqlite_store *s, teeliza_err err, const char *what);
/* Room for one more of count items of size bytes (doubling, new room zeroed). */
teeliza_err sq_grow(void **items, size_t *cap, size_t count, size_t size);

/* Reads the current row of a statement into a result struct; on failure leaves it zeroed. */
typedef teeliza_err (*sq_row_reader)(void *out, sqlite3_stmt *st);

/*
 * Every get-by-id has this shape: statement `which` with ?1 = id, one
 * step; a row is read into out by read, no row is TEELIZA_ERR_NOT_FOUND
 * "no <noun> <id>", anything else the database's error while `reading`.
 * Takes s->lock.
 */
teeliza_err sq_get_by_id(struct sqlite_store *s, enum stmt_id which, const char *id, sq_row_reader read, void *out,
                         const char *noun, const char *reading);

/* ---- store_sqlite_rows.c: rows into result structs ---- */

teeliza_err sq_read_account(agent_account *out, sqlite3_stmt *st);
/* The columns of MEMORY_COLUMNS; the embedding only when with_embedding. */
teeliza_err sq_read_memory(agent_memory *out, sqlite3_stmt *st, bool with_embedding);
teeliza_err sq_read_attestation(agent_attestation *out, sqlite3_stmt *st);
/* The columns of RECEIPT_COLUMNS (store_sqlite_stmt.c). */
teeliza_err sq_read_receipt(agent_receipt *out, sqlite3_stmt *st);
#define RECEIPT_COLUMNS "id, agent_id, seq, created_at, memory_id, receipt, signature, public_key, eip191"
/* Little-endian float32 array of n floats (v NULL: zeros); *len its bytes. NULL when out of memory. */
uint8_t *sq_encode_embedding(const float *v, size_t n, size_t *len);

/* ---- store_sqlite_accounts.c, store_sqlite_memories.c: writes with s->lock held ---- */

teeliza_err sq_put_account(struct sqlite_store *s, const agent_account *a);
teeliza_err sq_put_room(struct sqlite_store *s, const char *room_id);
/* Check and insert: inside a write transaction, so other processes cannot double the row. */
teeliza_err sq_put_participant(struct sqlite_store *s, const char *user_id, const char *room_id);
/* id is m->id or a fresh one, emb from sq_prepare_memory. */
teeliza_err sq_put_memory(struct sqlite_store *s, const agent_memory *m, const char *id, const uint8_t *emb,
                          size_t emb_len);
/* The checks and inputs of sq_put_memory, before the lock: a fresh id when m has none, the encoded embedding. */
teeliza_err sq_prepare_memory(uint8_t **emb, size_t *emb_len, char id[AGENT_UUID_BUFSZ], const agent_memory *m);

/* ---- store_sqlite_migrate.c: the schema ---- */

teeliza_err sq_exec_sql(sqlite3 *db, const char *sql, const char *what);
/* Highest applied schema version, with the lock held (or before the store is shared). */
teeliza_err sq_read_version(struct sqlite_store *s, int *out);
/* Create schema_version and apply every migration this database lacks; a newer database is refused. */
teeliza_err sq_migrate(struct sqlite_store *s);

/* ---- the operations (agent_store_ops), one file per kind of row ---- */

teeliza_err sq_ensure_account(agent_store *base, const agent_account *a);
teeliza_err sq_get_account(agent_store *base, agent_account *out, const char *id);
teeliza_err sq_ensure_room(agent_store *base, const char *room_id);
teeliza_err sq_ensure_participant(agent_store *base, const char *user_id, const char *room_id);
teeliza_err sq_list_room_actors(agent_store *base, agent_account_list *out, const char *room_id);
teeliza_err sq_ensure_connection(agent_store *base, const agent_account *agent, const agent_account *user,
                                 const char *room_id, const agent_memory *m);
teeliza_err sq_create_memory(agent_store *base, const agent_memory *m);
teeliza_err sq_get_memory(agent_store *base, agent_memory *out, const char *id);
teeliza_err sq_get_memories(agent_store *base, agent_memory_list *out, const agent_memory_query *q);
teeliza_err sq_count_memories(agent_store *base, size_t *out, const char *type, const char *room_id,
                              bool unique_only);
teeliza_err sq_delete_room_memories(agent_store *base, size_t *deleted, const char *type, const char *room_id);
teeliza_err sq_cache_get(agent_store *base, char **out, const char *key, const char *agent_id);
teeliza_err sq_cache_set(agent_store *base, const char *key, const char *agent_id, const char *value_json,
                         int64_t expires_at);
teeliza_err sq_cache_delete(agent_store *base, const char *key, const char *agent_id);
teeliza_err sq_log(agent_store *base, const char *user_id, const char *room_id, const char *type,
                   const char *body_json);
teeliza_err sq_put_attestation(agent_store *base, const agent_attestation *a);
teeliza_err sq_get_attestation(agent_store *base, agent_attestation *out, const char *id);

teeliza_err sq_put_receipt(agent_store *base, const agent_receipt *r);
teeliza_err sq_get_receipt(agent_store *base, agent_receipt *out, const char *agent_id, const char *id);
teeliza_err sq_last_receipt(agent_store *base, agent_receipt *out, const char *agent_id);
teeliza_err sq_put_receipt_with_memories(agent_store *base, const agent_receipt *r, const agent_memory *memories,
                                         size_t n);
teeliza_err sq_append_receipt(agent_store *base, const char *agent_id, agent_receipt_build build, void *ctx,
                              const agent_memory *memories, size_t n);

/* store_sqlite_replicas.c */
teeliza_err sq_ping(agent_store *base);
teeliza_err sq_request_claim(agent_store *base, agent_request_result *out, const agent_request_claim *c);
teeliza_err sq_request_complete(agent_store *base, const char *agent_id, const char *request_key,
                                const char *response_json);
teeliza_err sq_request_release(agent_store *base, const char *agent_id, const char *request_key);
teeliza_err sq_list_instances(agent_store *base, agent_instance_list *out, const char *agent_id);
teeliza_err sq_character_put(agent_store *base, uint64_t *version, const char *agent_id, const char *json);
teeliza_err sq_character_get(agent_store *base, char **json, uint64_t *version, const char *agent_id);
teeliza_err sq_character_version(agent_store *base, uint64_t *version, const char *agent_id);

#endif
