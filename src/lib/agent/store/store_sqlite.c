/*
 * SQLite back-end of agent_store: one connection, prepared once, guarded
 * by a mutex (statements are reused, and the error text must be read
 * before another thread runs a statement). WAL lets other processes read
 * while we write; the busy timeout covers writers from other processes.
 */
#include "teeliza/agent/store.h"
#include "teeliza/agent/uuid.h"
#include "agent/store/store_sqlite_schema.h"

#include <assert.h>
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <stdalign.h>
#include <stddef.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <sqlite3.h>

#define BUSY_TIMEOUT_MS 5000

/* createdAt may be Eliza's ms number or SQLite's CURRENT_TIMESTAMP text. */
#define CREATED_MS(col) \
	"CASE typeof(" col ") WHEN 'text' THEN CAST(strftime('%s', " col ") AS INTEGER) * 1000 " \
	"ELSE CAST(" col " AS INTEGER) END"

#define MEMORY_COLUMNS \
	"id, type, " CREATED_MS("createdAt") ", content, embedding, userId, roomId, agentId, \"unique\""

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
	ST__COUNT
};

static const char *const stmt_sql[ST__COUNT] = {
	[ST_BEGIN] = "BEGIN IMMEDIATE",
	[ST_COMMIT] = "COMMIT",
	[ST_ROLLBACK] = "ROLLBACK",
	[ST_SCHEMA_VERSION] = "SELECT COALESCE(MAX(version), 0) FROM schema_version",
	/* ON CONFLICT, not OR IGNORE: that would also swallow the CHECK on details */
	[ST_ENSURE_ACCOUNT] = "INSERT INTO accounts (id, name, username, email, avatarUrl, details) "
	                      "VALUES (?1, ?2, ?3, ?4, ?5, ?6) ON CONFLICT(id) DO NOTHING",
	[ST_GET_ACCOUNT] = "SELECT id, name, username, email, avatarUrl, details FROM accounts WHERE id = ?1",
	[ST_ENSURE_ROOM] = "INSERT INTO rooms (id) VALUES (?1) ON CONFLICT(id) DO NOTHING",
	[ST_FIND_PARTICIPANT] = "SELECT 1 FROM participants WHERE roomId = ?1 AND userId = ?2 LIMIT 1",
	[ST_ADD_PARTICIPANT] = "INSERT INTO participants (id, userId, roomId) VALUES (?1, ?2, ?3)",
	[ST_ROOM_ACTORS] = "SELECT a.id, a.name, a.username, a.email, a.avatarUrl, a.details "
	                   "FROM participants p JOIN accounts a ON p.userId = a.id "
	                   "WHERE p.roomId = ?1 ORDER BY p.rowid",
	[ST_PUT_MEMORY] = "INSERT OR REPLACE INTO memories "
	                  "(id, type, content, embedding, userId, roomId, agentId, \"unique\", createdAt) "
	                  "VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9)",
	[ST_GET_MEMORY] = "SELECT " MEMORY_COLUMNS " FROM memories WHERE id = ?1",
	[ST_GET_MEMORIES] = "SELECT " MEMORY_COLUMNS " FROM memories "
	                    "WHERE type = ?1 AND roomId = ?2 AND (?3 IS NULL OR agentId = ?3) "
	                    "AND (?4 = 0 OR \"unique\" = 1) "
	                    "AND (?5 IS NULL OR createdAt >= ?5) AND (?6 IS NULL OR createdAt <= ?6) "
	                    "ORDER BY createdAt DESC, rowid DESC LIMIT ?7",
	[ST_COUNT_MEMORIES] = "SELECT COUNT(*) FROM memories WHERE type = ?1 AND roomId = ?2 "
	                      "AND (?3 = 0 OR \"unique\" = 1)",
	[ST_DELETE_ROOM_MEMORIES] = "DELETE FROM memories WHERE type = ?1 AND roomId = ?2",
	[ST_CACHE_GET] = "SELECT value, expiresAt FROM cache WHERE key = ?1 AND agentId = ?2",
	[ST_CACHE_SET] = "INSERT OR REPLACE INTO cache (key, agentId, value, createdAt, expiresAt) "
	                 "VALUES (?1, ?2, ?3, CURRENT_TIMESTAMP, ?4)",
	[ST_CACHE_DELETE] = "DELETE FROM cache WHERE key = ?1 AND agentId = ?2",
	[ST_LOG] = "INSERT INTO logs (id, body, userId, roomId, type) VALUES (?1, ?2, ?3, ?4, ?5)",
	[ST_PUT_ATTESTATION] = "INSERT INTO attestations (id, agent_id, created_at, report_data_json, quote, event_log) "
	                       "VALUES (?1, ?2, ?3, ?4, ?5, ?6)",
	[ST_GET_ATTESTATION] = "SELECT id, agent_id, created_at, report_data_json, quote, event_log "
	                       "FROM attestations WHERE id = ?1",
};

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
};

static struct sqlite_store *S(agent_store *s)
{
	return (struct sqlite_store *)s;
}

static teeliza_err db_fail(sqlite3 *db, int rc, const char *what)
{
	teeliza_err err;

	switch (rc & 0xff) {
	case SQLITE_CONSTRAINT: err = TEELIZA_ERR_INVALID; break;
	case SQLITE_BUSY:
	case SQLITE_LOCKED: err = TEELIZA_ERR_TIMEOUT; break;
	case SQLITE_NOMEM: err = TEELIZA_ERR_NOMEM; break;
	case SQLITE_TOOBIG: err = TEELIZA_ERR_TOO_LARGE; break;
	case SQLITE_CORRUPT:
	case SQLITE_NOTADB: err = TEELIZA_ERR_PARSE; break;
	default: err = TEELIZA_ERR_IO; break;
	}
	return teeliza_set_error(err, "%s: %s", what, db != NULL ? sqlite3_errmsg(db) : sqlite3_errstr(rc));
}

static sqlite3_stmt *stmt(struct sqlite_store *s, enum stmt_id id)
{
	sqlite3_stmt *st = s->st[id];

	sqlite3_reset(st);
	sqlite3_clear_bindings(st);
	return st;
}

/* Statements bind borrowed pointers (SQLITE_STATIC): every use ends with done(). */
static void done(sqlite3_stmt *st)
{
	sqlite3_reset(st);
	sqlite3_clear_bindings(st);
}

static int bind_text(sqlite3_stmt *st, int idx, const char *v)
{
	if (v == NULL)
		return sqlite3_bind_null(st, idx);
	return sqlite3_bind_text(st, idx, v, -1, SQLITE_STATIC);
}

static int bind_ms(sqlite3_stmt *st, int idx, int64_t ms)
{
	if (ms == 0)
		return sqlite3_bind_null(st, idx);
	return sqlite3_bind_int64(st, idx, ms);
}

/* Run a statement that returns no rows. */
static teeliza_err exec_stmt(struct sqlite_store *s, sqlite3_stmt *st, const char *what)
{
	int rc = sqlite3_step(st);
	teeliza_err err = TEELIZA_OK;

	if (rc != SQLITE_DONE && rc != SQLITE_ROW)
		err = db_fail(s->db, rc, what);
	done(st);
	return err;
}

/* A column copied into a result block: text, blob, or floats. */
struct col {
	const void *src;
	size_t len;
	bool present;
};

static struct col col_text(sqlite3_stmt *st, int i)
{
	struct col c = { 0 };

	c.src = sqlite3_column_text(st, i);
	c.present = c.src != NULL;
	c.len = c.present ? (size_t)sqlite3_column_bytes(st, i) : 0;
	return c;
}

static struct col col_blob(sqlite3_stmt *st, int i)
{
	struct col c = { 0 };

	c.src = sqlite3_column_blob(st, i);
	c.len = (size_t)sqlite3_column_bytes(st, i);
	c.present = sqlite3_column_type(st, i) != SQLITE_NULL;
	return c;
}

/*
 * Copy a row's columns into one malloc'd block. The binary part (if any)
 * goes first so floats stay aligned; texts follow, NUL-terminated.
 * dst[i] receives the copy (NULL for an SQL NULL). Returns the block.
 */
static void *pack(const char **dst[], const struct col *cols, size_t n, const struct col *bin, void **bin_out)
{
	const size_t align = alignof(max_align_t);
	size_t bin_space = 0, total, off;
	char *block;

	if (bin != NULL)
		bin_space = (bin->len + align - 1) / align * align;
	total = bin_space;
	for (size_t i = 0; i < n; i++)
		total += cols[i].present ? cols[i].len + 1 : 0;
	block = malloc(total > 0 ? total : 1);
	if (block == NULL)
		return NULL;
	if (bin != NULL) {
		if (bin->len > 0)
			memcpy(block, bin->src, bin->len);
		*bin_out = bin->present ? block : NULL;
	}
	off = bin_space;
	for (size_t i = 0; i < n; i++) {
		if (!cols[i].present) {
			*dst[i] = NULL;
			continue;
		}
		if (cols[i].len > 0)
			memcpy(block + off, cols[i].src, cols[i].len);
		block[off + cols[i].len] = '\0';
		*dst[i] = block + off;
		off += cols[i].len + 1;
	}
	return block;
}

static teeliza_err nomem(void)
{
	return teeliza_set_error(TEELIZA_ERR_NOMEM, "out of memory reading the agent database");
}

/* Little-endian float32 array, as Eliza's Float32Array buffers are stored. */
static uint8_t *encode_embedding(const float *v, size_t n, size_t *len)
{
	uint8_t *out;

	if (n > SIZE_MAX / 4)
		return NULL;
	*len = n * 4;
	out = calloc(n > 0 ? n : 1, 4);
	if (out == NULL || v == NULL)
		return out;
	for (size_t i = 0; i < n; i++) {
		uint32_t bits;

		memcpy(&bits, &v[i], 4);
		out[4 * i] = (uint8_t)bits;
		out[4 * i + 1] = (uint8_t)(bits >> 8);
		out[4 * i + 2] = (uint8_t)(bits >> 16);
		out[4 * i + 3] = (uint8_t)(bits >> 24);
	}
	return out;
}

static void decode_embedding_in_place(void *buf, size_t n)
{
	uint8_t *b = buf;

	for (size_t i = 0; i < n; i++) {
		uint32_t bits = (uint32_t)b[4 * i] | (uint32_t)b[4 * i + 1] << 8 | (uint32_t)b[4 * i + 2] << 16 |
		                (uint32_t)b[4 * i + 3] << 24;

		memcpy(b + 4 * i, &bits, 4);
	}
}

static teeliza_err read_account(agent_account *out, sqlite3_stmt *st)
{
	struct col cols[6];
	const char **dst[6] = { &out->id, &out->name, &out->username, &out->email, &out->avatar_url, &out->details };

	for (int i = 0; i < 6; i++)
		cols[i] = col_text(st, i);
	out->owned_ = pack(dst, cols, 6, NULL, NULL);
	if (out->owned_ == NULL) {
		memset(out, 0, sizeof(*out));
		return nomem();
	}
	return TEELIZA_OK;
}

static teeliza_err read_memory(agent_memory *out, sqlite3_stmt *st, bool with_embedding)
{
	struct col cols[6], emb;
	const char **dst[6] = { &out->id, &out->type, &out->content, &out->user_id, &out->room_id, &out->agent_id };
	void *emb_ptr = NULL;

	cols[0] = col_text(st, 0);
	cols[1] = col_text(st, 1);
	cols[2] = col_text(st, 3);
	cols[3] = col_text(st, 5);
	cols[4] = col_text(st, 6);
	cols[5] = col_text(st, 7);
	out->created_at = sqlite3_column_int64(st, 2);
	out->unique = sqlite3_column_int(st, 8) != 0;
	if (with_embedding) {
		emb = col_blob(st, 4);
		emb.len -= emb.len % 4;
		out->owned_ = pack(dst, cols, 6, &emb, &emb_ptr);
	} else {
		out->owned_ = pack(dst, cols, 6, NULL, NULL);
	}
	if (out->owned_ == NULL) {
		memset(out, 0, sizeof(*out));
		return nomem();
	}
	if (emb_ptr != NULL) {
		out->embedding_len = emb.len / 4;
		decode_embedding_in_place(emb_ptr, out->embedding_len);
		out->embedding = emb_ptr;
	}
	return TEELIZA_OK;
}

static teeliza_err read_attestation(agent_attestation *out, sqlite3_stmt *st)
{
	struct col cols[4], quote = col_blob(st, 4);
	const char **dst[4] = { &out->id, &out->agent_id, &out->report_data_json, &out->event_log };
	void *q = NULL;

	cols[0] = col_text(st, 0);
	cols[1] = col_text(st, 1);
	cols[2] = col_text(st, 3);
	cols[3] = col_text(st, 5);
	out->created_at = sqlite3_column_int64(st, 2);
	out->owned_ = pack(dst, cols, 4, &quote, &q);
	if (out->owned_ == NULL) {
		memset(out, 0, sizeof(*out));
		return nomem();
	}
	out->quote = q;
	out->quote_len = quote.len;
	return TEELIZA_OK;
}

/* Reads the current row of a statement into a result struct; on failure leaves it zeroed. */
typedef teeliza_err (*row_reader)(void *out, sqlite3_stmt *st);

/*
 * Every get-by-id has this shape: statement `which` with ?1 = id, one
 * step; a row is read into out by read, no row is TEELIZA_ERR_NOT_FOUND
 * "no <noun> <id>", anything else the database's error while `reading`.
 */
static teeliza_err get_by_id(struct sqlite_store *s, enum stmt_id which, const char *id, row_reader read, void *out,
                             const char *noun, const char *reading)
{
	sqlite3_stmt *st;
	int rc;
	teeliza_err err;

	pthread_mutex_lock(&s->lock);
	st = stmt(s, which);
	bind_text(st, 1, id);
	rc = sqlite3_step(st);
	if (rc == SQLITE_ROW)
		err = read(out, st);
	else if (rc == SQLITE_DONE)
		err = teeliza_set_error(TEELIZA_ERR_NOT_FOUND, "no %s %s", noun, id);
	else
		err = db_fail(s->db, rc, reading);
	done(st);
	pthread_mutex_unlock(&s->lock);
	return err;
}

static void sq_close(agent_store *base)
{
	struct sqlite_store *s = S(base);

	for (int i = 0; i < ST__COUNT; i++)
		sqlite3_finalize(s->st[i]);
	for (size_t i = 0; i < KNOWN_SLOTS; i++)
		free(s->known[i].key);
	sqlite3_close(s->db);
	pthread_mutex_destroy(&s->lock);
	free(s);
}

static teeliza_err read_version(struct sqlite_store *s, int *out)
{
	sqlite3_stmt *st = stmt(s, ST_SCHEMA_VERSION);
	int rc = sqlite3_step(st);
	teeliza_err err = TEELIZA_OK;

	*out = 0;
	if (rc == SQLITE_ROW)
		*out = sqlite3_column_int(st, 0);
	else
		err = db_fail(s->db, rc, "reading the schema version");
	done(st);
	return err;
}

static teeliza_err sq_schema_version(agent_store *base, int *out)
{
	struct sqlite_store *s = S(base);
	teeliza_err err;

	pthread_mutex_lock(&s->lock);
	err = read_version(s, out);
	pthread_mutex_unlock(&s->lock);
	return err;
}

/* The put_* helpers run with s->lock held, in the caller's transaction (or autocommit). */
static teeliza_err put_account(struct sqlite_store *s, const agent_account *a)
{
	sqlite3_stmt *st = stmt(s, ST_ENSURE_ACCOUNT);

	bind_text(st, 1, a->id);
	bind_text(st, 2, a->name);
	bind_text(st, 3, a->username);
	bind_text(st, 4, a->email != NULL ? a->email : a->id);
	bind_text(st, 5, a->avatar_url);
	bind_text(st, 6, a->details != NULL ? a->details : "{\"summary\":\"\"}");
	return exec_stmt(s, st, "creating an account");
}

static teeliza_err put_room(struct sqlite_store *s, const char *room_id)
{
	sqlite3_stmt *st = stmt(s, ST_ENSURE_ROOM);

	bind_text(st, 1, room_id);
	return exec_stmt(s, st, "creating a room");
}

/* Check and insert: inside a write transaction, so other processes cannot double the row. */
static teeliza_err put_participant(struct sqlite_store *s, const char *user_id, const char *room_id)
{
	sqlite3_stmt *st;
	char id[AGENT_UUID_BUFSZ];
	int rc;
	teeliza_err err;

	st = stmt(s, ST_FIND_PARTICIPANT);
	bind_text(st, 1, room_id);
	bind_text(st, 2, user_id);
	rc = sqlite3_step(st);
	done(st);
	if (rc == SQLITE_ROW)
		return TEELIZA_OK;
	if (rc != SQLITE_DONE)
		return db_fail(s->db, rc, "looking up a participant");
	err = agent_uuid_random(id);
	if (err)
		return err;
	st = stmt(s, ST_ADD_PARTICIPANT);
	bind_text(st, 1, id);
	bind_text(st, 2, user_id);
	bind_text(st, 3, room_id);
	return exec_stmt(s, st, "adding a participant");
}

static teeliza_err sq_ensure_account(agent_store *base, const agent_account *a)
{
	struct sqlite_store *s = S(base);
	teeliza_err err;

	pthread_mutex_lock(&s->lock);
	err = put_account(s, a);
	pthread_mutex_unlock(&s->lock);
	return err;
}

static teeliza_err account_row(void *out, sqlite3_stmt *st)
{
	return read_account(out, st);
}

static teeliza_err sq_get_account(agent_store *base, agent_account *out, const char *id)
{
	memset(out, 0, sizeof(*out));
	return get_by_id(S(base), ST_GET_ACCOUNT, id, account_row, out, "account", "reading an account");
}

static teeliza_err sq_ensure_room(agent_store *base, const char *room_id)
{
	struct sqlite_store *s = S(base);
	teeliza_err err;

	pthread_mutex_lock(&s->lock);
	err = put_room(s, room_id);
	pthread_mutex_unlock(&s->lock);
	return err;
}

/* Run one of the helpers above, or a batch of them, as one write transaction. */
static teeliza_err begin(struct sqlite_store *s)
{
	return exec_stmt(s, stmt(s, ST_BEGIN), "starting a transaction");
}

static teeliza_err end(struct sqlite_store *s, teeliza_err err, const char *what)
{
	if (err == TEELIZA_OK)
		err = exec_stmt(s, stmt(s, ST_COMMIT), what);
	if (err)
		(void)exec_stmt(s, stmt(s, ST_ROLLBACK), "rolling back");
	return err;
}

static teeliza_err sq_ensure_participant(agent_store *base, const char *user_id, const char *room_id)
{
	struct sqlite_store *s = S(base);
	teeliza_err err;

	pthread_mutex_lock(&s->lock);
	err = begin(s);
	if (err == TEELIZA_OK)
		err = end(s, put_participant(s, user_id, room_id), "committing a participant");
	pthread_mutex_unlock(&s->lock);
	return err;
}

static uint64_t key_hash(const char *key, size_t len)
{
	uint64_t h = 1469598103934665603ull; /* FNV-1a */

	for (size_t i = 0; i < len; i++) {
		h ^= (uint8_t)key[i];
		h *= 1099511628211ull;
	}
	return h;
}

/* "agent\0user\0room\0" (malloc'd, caller frees), or NULL when out of memory. */
static char *connection_key(size_t *len, const char *agent_id, const char *user_id, const char *room_id)
{
	size_t la = strlen(agent_id) + 1, lu = strlen(user_id) + 1, lr = strlen(room_id) + 1;
	char *key = malloc(la + lu + lr);

	*len = la + lu + lr;
	if (key != NULL) {
		memcpy(key, agent_id, la);
		memcpy(key + la, user_id, lu);
		memcpy(key + la + lu, room_id, lr);
	}
	return key;
}

static teeliza_err grow(void **items, size_t *cap, size_t count, size_t size)
{
	void *n;
	size_t ncap;

	if (count < *cap)
		return TEELIZA_OK;
	ncap = *cap > 0 ? *cap * 2 : 16;
	if (ncap > SIZE_MAX / size)
		return nomem();
	n = realloc(*items, ncap * size);
	if (n == NULL)
		return nomem();
	memset((char *)n + *cap * size, 0, (ncap - *cap) * size);
	*items = n;
	*cap = ncap;
	return TEELIZA_OK;
}

static teeliza_err sq_list_room_actors(agent_store *base, agent_account_list *out, const char *room_id)
{
	struct sqlite_store *s = S(base);
	sqlite3_stmt *st;
	size_t cap = 0;
	int rc;
	teeliza_err err = TEELIZA_OK;

	memset(out, 0, sizeof(*out));
	pthread_mutex_lock(&s->lock);
	st = stmt(s, ST_ROOM_ACTORS);
	bind_text(st, 1, room_id);
	while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
		err = grow((void **)&out->items, &cap, out->count, sizeof(*out->items));
		if (err == TEELIZA_OK)
			err = read_account(&out->items[out->count], st);
		if (err)
			break;
		out->count++;
	}
	if (err == TEELIZA_OK && rc != SQLITE_DONE)
		err = db_fail(s->db, rc, "listing a room's participants");
	done(st);
	pthread_mutex_unlock(&s->lock);
	if (err)
		agent_account_list_free(out);
	return err;
}

/* A memory's embedding as stored (m's, or AGENT_STORE_EMBEDDING_DIM zeros); NULL when out of memory. */
static uint8_t *memory_embedding(const agent_memory *m, size_t *len)
{
	if (m->embedding != NULL)
		return encode_embedding(m->embedding, m->embedding_len, len);
	return encode_embedding(NULL, AGENT_STORE_EMBEDDING_DIM, len);
}

/* With s->lock held; id is m->id or a fresh one, emb from memory_embedding. */
static teeliza_err put_memory(struct sqlite_store *s, const agent_memory *m, const char *id, const uint8_t *emb,
                              size_t emb_len)
{
	sqlite3_stmt *st = stmt(s, ST_PUT_MEMORY);

	bind_text(st, 1, id);
	bind_text(st, 2, m->type != NULL ? m->type : AGENT_MEMORY_MESSAGES);
	bind_text(st, 3, m->content);
	sqlite3_bind_blob(st, 4, emb, (int)emb_len, SQLITE_STATIC);
	bind_text(st, 5, m->user_id);
	bind_text(st, 6, m->room_id);
	bind_text(st, 7, m->agent_id);
	sqlite3_bind_int(st, 8, m->unique ? 1 : 0);
	sqlite3_bind_int64(st, 9, m->created_at != 0 ? m->created_at : agent_store_now_ms());
	return exec_stmt(s, st, "storing a memory");
}

/* The checks and inputs of put_memory, before the lock. */
static teeliza_err prepare_memory(uint8_t **emb, size_t *emb_len, char id[AGENT_UUID_BUFSZ], const agent_memory *m)
{
	teeliza_err err;

	*emb = NULL;
	*emb_len = 0;
	if (m->embedding_len > INT32_MAX / 4)
		return teeliza_set_error(TEELIZA_ERR_TOO_LARGE, "embedding of %zu floats", m->embedding_len);
	if (m->id == NULL) {
		err = agent_uuid_random(id);
		if (err)
			return err;
	}
	*emb = memory_embedding(m, emb_len);
	return *emb == NULL ? nomem() : TEELIZA_OK;
}

static teeliza_err sq_create_memory(agent_store *base, const agent_memory *m)
{
	struct sqlite_store *s = S(base);
	char id[AGENT_UUID_BUFSZ];
	uint8_t *emb;
	size_t emb_len;
	teeliza_err err;

	err = prepare_memory(&emb, &emb_len, id, m);
	if (err)
		return err;
	pthread_mutex_lock(&s->lock);
	err = put_memory(s, m, m->id != NULL ? m->id : id, emb, emb_len);
	pthread_mutex_unlock(&s->lock);
	free(emb);
	return err;
}

static teeliza_err sq_ensure_connection(agent_store *base, const agent_account *agent, const agent_account *user,
                                        const char *room_id, const agent_memory *m)
{
	struct sqlite_store *s = S(base);
	const char *user_id = user != NULL ? user->id : agent->id;
	struct known_slot *slot;
	char mem_id[AGENT_UUID_BUFSZ];
	uint8_t *emb = NULL;
	size_t len, emb_len = 0;
	char *key;
	bool known;
	teeliza_err err;

	if (m != NULL) {
		err = prepare_memory(&emb, &emb_len, mem_id, m);
		if (err)
			return err;
	}
	key = connection_key(&len, agent->id, user_id, room_id);
	if (key == NULL) {
		free(emb);
		return nomem();
	}
	slot = &s->known[key_hash(key, len) % KNOWN_SLOTS];
	pthread_mutex_lock(&s->lock);
	known = slot->key != NULL && slot->len == len && memcmp(slot->key, key, len) == 0;
	if (known) {
		err = m != NULL ? put_memory(s, m, m->id != NULL ? m->id : mem_id, emb, emb_len) : TEELIZA_OK;
		goto out;
	}
	err = begin(s);
	if (err)
		goto out;
	err = put_account(s, agent);
	if (err == TEELIZA_OK && user != NULL)
		err = put_account(s, user);
	if (err == TEELIZA_OK)
		err = put_room(s, room_id);
	if (err == TEELIZA_OK)
		err = put_participant(s, user_id, room_id);
	if (err == TEELIZA_OK && user != NULL)
		err = put_participant(s, agent->id, room_id);
	if (err == TEELIZA_OK && m != NULL)
		err = put_memory(s, m, m->id != NULL ? m->id : mem_id, emb, emb_len);
	err = end(s, err, "committing a connection");
	if (err == TEELIZA_OK) {
		free(slot->key);
		slot->key = key;
		slot->len = len;
		key = NULL;
	}
out:
	pthread_mutex_unlock(&s->lock);
	free(key);
	free(emb);
	return err;
}

/* One memory with its embedding. */
static teeliza_err memory_row(void *out, sqlite3_stmt *st)
{
	return read_memory(out, st, true);
}

static teeliza_err sq_get_memory(agent_store *base, agent_memory *out, const char *id)
{
	memset(out, 0, sizeof(*out));
	return get_by_id(S(base), ST_GET_MEMORY, id, memory_row, out, "memory", "reading a memory");
}

static teeliza_err sq_get_memories(agent_store *base, agent_memory_list *out, const agent_memory_query *q)
{
	struct sqlite_store *s = S(base);
	sqlite3_stmt *st;
	size_t cap = 0;
	int rc;
	teeliza_err err = TEELIZA_OK;

	memset(out, 0, sizeof(*out));
	pthread_mutex_lock(&s->lock);
	st = stmt(s, ST_GET_MEMORIES);
	bind_text(st, 1, q->type != NULL ? q->type : AGENT_MEMORY_MESSAGES);
	bind_text(st, 2, q->room_id);
	bind_text(st, 3, q->agent_id);
	sqlite3_bind_int(st, 4, q->unique_only ? 1 : 0);
	bind_ms(st, 5, q->start);
	bind_ms(st, 6, q->end);
	sqlite3_bind_int64(st, 7, q->count > 0 && q->count <= INT64_MAX ? (sqlite3_int64)q->count : -1);
	while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
		err = grow((void **)&out->items, &cap, out->count, sizeof(*out->items));
		if (err == TEELIZA_OK)
			err = read_memory(&out->items[out->count], st, q->with_embedding);
		if (err)
			break;
		out->count++;
	}
	if (err == TEELIZA_OK && rc != SQLITE_DONE)
		err = db_fail(s->db, rc, "reading a room's memories");
	done(st);
	pthread_mutex_unlock(&s->lock);
	if (err) {
		agent_memory_list_free(out);
		return err;
	}
	if (!q->newest_first) {
		for (size_t i = 0; i < out->count / 2; i++) {
			agent_memory t = out->items[i];

			out->items[i] = out->items[out->count - 1 - i];
			out->items[out->count - 1 - i] = t;
		}
	}
	return TEELIZA_OK;
}

static teeliza_err sq_count_memories(agent_store *base, size_t *out, const char *type, const char *room_id,
                                     bool unique_only)
{
	struct sqlite_store *s = S(base);
	sqlite3_stmt *st;
	int rc;
	teeliza_err err = TEELIZA_OK;

	*out = 0;
	pthread_mutex_lock(&s->lock);
	st = stmt(s, ST_COUNT_MEMORIES);
	bind_text(st, 1, type);
	bind_text(st, 2, room_id);
	sqlite3_bind_int(st, 3, unique_only ? 1 : 0);
	rc = sqlite3_step(st);
	if (rc == SQLITE_ROW)
		*out = (size_t)sqlite3_column_int64(st, 0);
	else
		err = db_fail(s->db, rc, "counting memories");
	done(st);
	pthread_mutex_unlock(&s->lock);
	return err;
}

static teeliza_err sq_delete_room_memories(agent_store *base, size_t *deleted, const char *type,
                                           const char *room_id)
{
	struct sqlite_store *s = S(base);
	sqlite3_stmt *st;
	teeliza_err err;

	if (deleted != NULL)
		*deleted = 0;
	pthread_mutex_lock(&s->lock);
	st = stmt(s, ST_DELETE_ROOM_MEMORIES);
	bind_text(st, 1, type);
	bind_text(st, 2, room_id);
	err = exec_stmt(s, st, "deleting a room's memories");
	if (err == TEELIZA_OK && deleted != NULL)
		*deleted = (size_t)sqlite3_changes(s->db);
	pthread_mutex_unlock(&s->lock);
	return err;
}

static teeliza_err sq_cache_get(agent_store *base, char **out, const char *key, const char *agent_id)
{
	struct sqlite_store *s = S(base);
	sqlite3_stmt *st;
	int rc;
	teeliza_err err = TEELIZA_OK;

	*out = NULL;
	pthread_mutex_lock(&s->lock);
	st = stmt(s, ST_CACHE_GET);
	bind_text(st, 1, key);
	bind_text(st, 2, agent_id);
	rc = sqlite3_step(st);
	if (rc == SQLITE_ROW) {
		bool expired = sqlite3_column_type(st, 1) == SQLITE_INTEGER &&
		               sqlite3_column_int64(st, 1) <= agent_store_now_ms();
		const unsigned char *v = sqlite3_column_text(st, 0);

		if (expired || v == NULL)
			err = teeliza_set_error(TEELIZA_ERR_NOT_FOUND, "cache entry %s %s", key,
			                        expired ? "expired" : "is empty");
		else if ((*out = strdup((const char *)v)) == NULL)
			err = nomem();
	} else if (rc == SQLITE_DONE) {
		err = teeliza_set_error(TEELIZA_ERR_NOT_FOUND, "no cache entry %s", key);
	} else {
		err = db_fail(s->db, rc, "reading the cache");
	}
	done(st);
	pthread_mutex_unlock(&s->lock);
	return err;
}

static teeliza_err sq_cache_set(agent_store *base, const char *key, const char *agent_id, const char *value_json,
                                int64_t expires_at)
{
	struct sqlite_store *s = S(base);
	sqlite3_stmt *st;
	teeliza_err err;

	pthread_mutex_lock(&s->lock);
	st = stmt(s, ST_CACHE_SET);
	bind_text(st, 1, key);
	bind_text(st, 2, agent_id);
	bind_text(st, 3, value_json);
	bind_ms(st, 4, expires_at);
	err = exec_stmt(s, st, "writing the cache");
	if (err == TEELIZA_ERR_INVALID)
		teeliza_set_error(err, "cache value for %s is not valid JSON", key);
	pthread_mutex_unlock(&s->lock);
	return err;
}

static teeliza_err sq_cache_delete(agent_store *base, const char *key, const char *agent_id)
{
	struct sqlite_store *s = S(base);
	sqlite3_stmt *st;
	teeliza_err err;

	pthread_mutex_lock(&s->lock);
	st = stmt(s, ST_CACHE_DELETE);
	bind_text(st, 1, key);
	bind_text(st, 2, agent_id);
	err = exec_stmt(s, st, "deleting a cache entry");
	pthread_mutex_unlock(&s->lock);
	return err;
}

static teeliza_err sq_log(agent_store *base, const char *user_id, const char *room_id, const char *type,
                          const char *body_json)
{
	struct sqlite_store *s = S(base);
	sqlite3_stmt *st;
	char id[AGENT_UUID_BUFSZ];
	teeliza_err err;

	err = agent_uuid_random(id);
	if (err)
		return err;
	pthread_mutex_lock(&s->lock);
	st = stmt(s, ST_LOG);
	bind_text(st, 1, id);
	bind_text(st, 2, body_json);
	bind_text(st, 3, user_id);
	bind_text(st, 4, room_id);
	bind_text(st, 5, type);
	err = exec_stmt(s, st, "writing a log entry");
	pthread_mutex_unlock(&s->lock);
	return err;
}

static teeliza_err sq_put_attestation(agent_store *base, const agent_attestation *a)
{
	struct sqlite_store *s = S(base);
	sqlite3_stmt *st;
	teeliza_err err;

	if (a->quote_len > INT32_MAX)
		return teeliza_set_error(TEELIZA_ERR_TOO_LARGE, "quote of %zu bytes", a->quote_len);
	pthread_mutex_lock(&s->lock);
	st = stmt(s, ST_PUT_ATTESTATION);
	bind_text(st, 1, a->id);
	bind_text(st, 2, a->agent_id);
	sqlite3_bind_int64(st, 3, a->created_at != 0 ? a->created_at : agent_store_now_ms());
	bind_text(st, 4, a->report_data_json);
	/* a zero-length blob, not NULL: the column is NOT NULL */
	sqlite3_bind_blob(st, 5, a->quote_len > 0 ? (const void *)a->quote : "", (int)a->quote_len, SQLITE_STATIC);
	bind_text(st, 6, a->event_log);
	err = exec_stmt(s, st, "storing an attestation");
	if (err == TEELIZA_ERR_INVALID)
		teeliza_set_error(err, "attestation %s already exists", a->id);
	pthread_mutex_unlock(&s->lock);
	return err;
}

static teeliza_err attestation_row(void *out, sqlite3_stmt *st)
{
	return read_attestation(out, st);
}

static teeliza_err sq_get_attestation(agent_store *base, agent_attestation *out, const char *id)
{
	memset(out, 0, sizeof(*out));
	return get_by_id(S(base), ST_GET_ATTESTATION, id, attestation_row, out, "attestation",
	                 "reading an attestation");
}

static const agent_store_ops sqlite_ops = {
	.name = "sqlite",
	.close = sq_close,
	.schema_version = sq_schema_version,
	.ensure_account = sq_ensure_account,
	.get_account = sq_get_account,
	.ensure_room = sq_ensure_room,
	.ensure_participant = sq_ensure_participant,
	.ensure_connection = sq_ensure_connection,
	.list_room_actors = sq_list_room_actors,
	.create_memory = sq_create_memory,
	.get_memory = sq_get_memory,
	.get_memories = sq_get_memories,
	.count_memories = sq_count_memories,
	.delete_room_memories = sq_delete_room_memories,
	.cache_get = sq_cache_get,
	.cache_set = sq_cache_set,
	.cache_delete = sq_cache_delete,
	.log = sq_log,
	.put_attestation = sq_put_attestation,
	.get_attestation = sq_get_attestation,
};

/* mkdir -p of path's parent directory; new directories are 0700. */
static teeliza_err make_parent_dirs(const char *path)
{
	char *dir = strdup(path);
	char *slash;
	teeliza_err err = TEELIZA_OK;

	if (dir == NULL)
		return nomem();
	slash = strrchr(dir, '/');
	if (slash == NULL || slash == dir) {
		free(dir);
		return TEELIZA_OK;
	}
	*slash = '\0';
	for (char *p = dir + 1; ; p++) {
		bool end = *p == '\0';

		if (*p != '/' && !end)
			continue;
		*p = '\0';
		if (mkdir(dir, 0700) != 0 && errno != EEXIST) {
			err = teeliza_set_error(TEELIZA_ERR_IO, "cannot create directory %s: %s", dir, strerror(errno));
			break;
		}
		if (end)
			break;
		*p = '/';
	}
	free(dir);
	return err;
}

/* Create the database file 0600 before SQLite does (its WAL and shm files copy this mode). */
static teeliza_err create_private_file(const char *path)
{
	int fd = open(path, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0600);

	if (fd >= 0) {
		close(fd);
		return TEELIZA_OK;
	}
	if (errno == EEXIST)
		return TEELIZA_OK;
	return teeliza_set_error(TEELIZA_ERR_IO, "cannot create %s: %s", path, strerror(errno));
}

static teeliza_err exec_sql(sqlite3 *db, const char *sql, const char *what)
{
	int rc = sqlite3_exec(db, sql, NULL, NULL, NULL);

	return rc == SQLITE_OK ? TEELIZA_OK : db_fail(db, rc, what);
}

static teeliza_err migrate(struct sqlite_store *s)
{
	const int latest = AGENT_STORE_SCHEMA_VERSION;
	teeliza_err err;
	int current;

	err = exec_sql(s->db, agent_sqlite_schema_version_sql, "creating schema_version");
	if (err)
		return err;
	if (sqlite3_prepare_v2(s->db, stmt_sql[ST_SCHEMA_VERSION], -1, &s->st[ST_SCHEMA_VERSION], NULL) != SQLITE_OK)
		return db_fail(s->db, sqlite3_errcode(s->db), "preparing the schema query");
	for (size_t i = 0; i < agent_sqlite_migration_count; i++) {
		const struct agent_sqlite_migration *m = &agent_sqlite_migrations[i];
		sqlite3_stmt *ins = NULL;
		int rc;

		/* re-read inside the write lock: another process may have migrated meanwhile */
		err = exec_sql(s->db, "BEGIN IMMEDIATE", "starting a migration");
		if (err)
			return err;
		err = read_version(s, &current);
		if (err == TEELIZA_OK && current > latest)
			err = teeliza_set_error(TEELIZA_ERR_UNSUPPORTED,
			                        "database schema version %d is newer than this teeliza understands (%d)",
			                        current, latest);
		if (err == TEELIZA_OK && current < m->version) {
			err = exec_sql(s->db, m->sql, m->description);
			if (err == TEELIZA_OK) {
				rc = sqlite3_prepare_v2(s->db, "INSERT INTO schema_version (version, applied_at, description) "
				                        "VALUES (?1, ?2, ?3)", -1, &ins, NULL);
				if (rc == SQLITE_OK) {
					sqlite3_bind_int(ins, 1, m->version);
					sqlite3_bind_int64(ins, 2, agent_store_now_ms());
					sqlite3_bind_text(ins, 3, m->description, -1, SQLITE_STATIC);
					rc = sqlite3_step(ins);
				}
				if (rc != SQLITE_DONE)
					err = db_fail(s->db, rc, "recording a migration");
				sqlite3_finalize(ins);
			}
		}
		if (err == TEELIZA_OK)
			err = exec_sql(s->db, "COMMIT", "committing a migration");
		if (err) {
			sqlite3_exec(s->db, "ROLLBACK", NULL, NULL, NULL);
			return err;
		}
	}
	return TEELIZA_OK;
}

static teeliza_err configure(sqlite3 *db, bool in_memory)
{
	sqlite3_stmt *st = NULL;
	teeliza_err err = TEELIZA_OK;
	int rc;

	sqlite3_extended_result_codes(db, 1);
	if (sqlite3_busy_timeout(db, BUSY_TIMEOUT_MS) != SQLITE_OK)
		return db_fail(db, sqlite3_errcode(db), "setting the busy timeout");
	rc = sqlite3_prepare_v2(db, "PRAGMA journal_mode=WAL", -1, &st, NULL);
	if (rc == SQLITE_OK && (rc = sqlite3_step(st)) == SQLITE_ROW) {
		const char *mode = (const char *)sqlite3_column_text(st, 0);

		if (!in_memory && (mode == NULL || strcmp(mode, "wal") != 0))
			err = teeliza_set_error(TEELIZA_ERR_IO, "cannot switch the database to WAL mode (got %s)",
			                        mode != NULL ? mode : "nothing");
	} else {
		err = db_fail(db, rc, "switching to WAL mode");
	}
	sqlite3_finalize(st);
	if (err == TEELIZA_OK)
		err = exec_sql(db, "PRAGMA synchronous=NORMAL; PRAGMA foreign_keys=OFF;", "setting pragmas");
	return err;
}

teeliza_err agent_store_sqlite_open(agent_store **out, const char *path)
{
	struct sqlite_store *s;
	bool in_memory;
	int rc;
	teeliza_err err;

	assert(out != NULL && path != NULL);
	*out = NULL;
	in_memory = strcmp(path, ":memory:") == 0;
	if (!in_memory) {
		err = make_parent_dirs(path);
		if (err == TEELIZA_OK)
			err = create_private_file(path);
		if (err)
			return err;
	}
	s = calloc(1, sizeof(*s));
	if (s == NULL)
		return nomem();
	s->base.ops = &sqlite_ops;
	if (pthread_mutex_init(&s->lock, NULL) != 0) {
		free(s);
		return teeliza_set_error(TEELIZA_ERR_INTERNAL, "pthread_mutex_init failed");
	}
	rc = sqlite3_open_v2(path, &s->db, SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE | SQLITE_OPEN_FULLMUTEX, NULL);
	if (rc != SQLITE_OK) {
		err = db_fail(s->db, rc, path);
		goto fail;
	}
	err = configure(s->db, in_memory);
	if (err == TEELIZA_OK)
		err = migrate(s);
	for (int i = 0; err == TEELIZA_OK && i < ST__COUNT; i++) {
		if (s->st[i] != NULL)
			continue;
		rc = sqlite3_prepare_v3(s->db, stmt_sql[i], -1, SQLITE_PREPARE_PERSISTENT, &s->st[i], NULL);
		if (rc != SQLITE_OK)
			err = db_fail(s->db, rc, "preparing a statement");
	}
	if (err)
		goto fail;
	*out = &s->base;
	return TEELIZA_OK;
fail:
	sq_close(&s->base); /* teeliza_errmsg() already holds SQLite's message */
	return err;
}
