/*
 * The SQLite back-end's statements and how each one is run: the SQL
 * (prepared once per store), errors mapped to teeliza_err with SQLite's
 * message, transactions, and the one shape every get-by-id shares.
 */
#include "agent/store/store_sqlite_internal.h"

#include <stdlib.h>
#include <string.h>

/* createdAt may be Eliza's ms number or SQLite's CURRENT_TIMESTAMP text. */
#define CREATED_MS(col) \
	"CASE typeof(" col ") WHEN 'text' THEN CAST(strftime('%s', " col ") AS INTEGER) * 1000 " \
	"ELSE CAST(" col " AS INTEGER) END"

#define MEMORY_COLUMNS \
	"id, type, " CREATED_MS("createdAt") ", content, embedding, userId, roomId, agentId, \"unique\""

const char *const sq_stmt_sql[ST__COUNT] = {
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
	[ST_PUT_ATTESTATION] = "INSERT INTO attestations (id, agent_id, created_at, report_data_json, quote, event_log, "
	                       "instance_id, boot_id) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8)",
	[ST_GET_ATTESTATION] = "SELECT id, agent_id, created_at, report_data_json, quote, event_log, instance_id, boot_id "
	                       "FROM attestations WHERE id = ?1",
	[ST_PUT_RECEIPT] = "INSERT INTO receipts (id, agent_id, seq, created_at, memory_id, receipt, signature, "
	                   "public_key, eip191) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9)",
	[ST_GET_RECEIPT] = "SELECT " RECEIPT_COLUMNS " FROM receipts WHERE id = ?1 AND agent_id = ?2",
	[ST_LAST_RECEIPT] = "SELECT " RECEIPT_COLUMNS " FROM receipts WHERE agent_id = ?1 ORDER BY seq DESC LIMIT 1",
	[ST_PING] = "SELECT 1 FROM schema_version LIMIT 1",
	[ST_REQUEST_GET] = "SELECT body_hash, state, owner, lease_until, response FROM requests "
	                   "WHERE agent_id = ?1 AND request_key = ?2",
	[ST_REQUEST_NEW] = "INSERT INTO requests (agent_id, request_key, body_hash, room_id, user_memory_id, "
	                   "reply_memory_id, state, owner, lease_until, attempts, created_at, updated_at) "
	                   "VALUES (?1, ?2, ?3, ?4, ?5, ?6, 'processing', ?7, ?8, 1, ?9, ?9)",
	/* a lease that ran out (or a claim given up) is taken over; the check repeats the reader's, under the lock */
	[ST_REQUEST_TAKE] = "UPDATE requests SET owner = ?3, lease_until = ?4, attempts = attempts + 1, "
	                    "state = 'processing', updated_at = ?5 WHERE agent_id = ?1 AND request_key = ?2 "
	                    "AND state <> 'done' AND (state = 'failed' OR lease_until < ?5 OR (?6 AND owner = ?3)) "
	                    "RETURNING attempts",
	[ST_REQUEST_DONE] = "UPDATE requests SET state = 'done', response = ?4, updated_at = ?5 "
	                    "WHERE agent_id = ?1 AND request_key = ?2 AND owner = ?3 AND state = 'processing'",
	[ST_REQUEST_RELEASE] = "UPDATE requests SET state = 'failed', updated_at = ?4 "
	                       "WHERE agent_id = ?1 AND request_key = ?2 AND owner = ?3 AND state = 'processing'",
	[ST_LIST_INSTANCES] = "SELECT instance_id, boot_id, MIN(created_at), MAX(created_at), COUNT(*), "
	                      "(SELECT b.id FROM attestations b WHERE b.agent_id = a.agent_id "
	                      "AND b.instance_id = a.instance_id AND b.boot_id = a.boot_id "
	                      "ORDER BY b.created_at DESC, b.rowid DESC LIMIT 1) "
	                      "FROM attestations a WHERE agent_id = ?1 AND instance_id IS NOT NULL "
	                      "GROUP BY instance_id, boot_id ORDER BY MIN(created_at), instance_id, boot_id",
	[ST_CHARACTER_PUT] = "INSERT INTO characters (agent_id, version, character, updated_at, updated_by) "
	                     "VALUES (?1, 1, ?2, ?3, ?4) ON CONFLICT(agent_id) DO UPDATE SET version = version + 1, "
	                     "character = excluded.character, updated_at = excluded.updated_at, "
	                     "updated_by = excluded.updated_by RETURNING version",
	[ST_CHARACTER_GET] = "SELECT version, character FROM characters WHERE agent_id = ?1",
	[ST_CHARACTER_VERSION] = "SELECT version FROM characters WHERE agent_id = ?1",
};

teeliza_err sq_fail(sqlite3 *db, int rc, const char *what)
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

/* Run a statement that returns no rows. */
teeliza_err sq_exec(struct sqlite_store *s, sqlite3_stmt *st, const char *what)
{
	int rc = sqlite3_step(st);
	teeliza_err err = TEELIZA_OK;

	if (rc != SQLITE_DONE && rc != SQLITE_ROW)
		err = sq_fail(s->db, rc, what);
	done(st);
	return err;
}

teeliza_err sq_nomem(void)
{
	return teeliza_set_error(TEELIZA_ERR_NOMEM, "out of memory reading the agent database");
}

/* Run one of the helpers above, or a batch of them, as one write transaction. */
teeliza_err sq_begin(struct sqlite_store *s)
{
	return sq_exec(s, stmt(s, ST_BEGIN), "starting a transaction");
}

teeliza_err sq_end(struct sqlite_store *s, teeliza_err err, const char *what)
{
	if (err == TEELIZA_OK)
		err = sq_exec(s, stmt(s, ST_COMMIT), what);
	if (err)
		(void)sq_exec(s, stmt(s, ST_ROLLBACK), "rolling back");
	return err;
}

teeliza_err sq_grow(void **items, size_t *cap, size_t count, size_t size)
{
	void *n;
	size_t ncap;

	if (count < *cap)
		return TEELIZA_OK;
	ncap = *cap > 0 ? *cap * 2 : 16;
	if (ncap > SIZE_MAX / size)
		return sq_nomem();
	n = realloc(*items, ncap * size);
	if (n == NULL)
		return sq_nomem();
	memset((char *)n + *cap * size, 0, (ncap - *cap) * size);
	*items = n;
	*cap = ncap;
	return TEELIZA_OK;
}

/*
 * Every get-by-id has this shape: statement `which` with ?1 = id, one
 * step; a row is read into out by read, no row is TEELIZA_ERR_NOT_FOUND
 * "no <noun> <id>", anything else the database's error while `reading`.
 */
teeliza_err sq_get_by_id(struct sqlite_store *s, enum stmt_id which, const char *id, sq_row_reader read, void *out,
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
		err = sq_fail(s->db, rc, reading);
	done(st);
	pthread_mutex_unlock(&s->lock);
	return err;
}
