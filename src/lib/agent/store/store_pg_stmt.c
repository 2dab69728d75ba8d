/*
 * The PostgreSQL back-end's statements, prepared once per connection.
 * Times cross the interface as ms since the epoch; in the database they are
 * TIMESTAMPTZ, converted exactly (epoch + n ms, never through a double). A
 * time the caller leaves at 0 is the database's clock_timestamp(), not the
 * replica's clock, so replicas with skewed clocks still order one
 * conversation consistently. Ties in createdAt (times given to the ms) are
 * broken by the writing transaction (xmin), the nearest PostgreSQL has to
 * SQLite's rowid: insertion order for one writer.
 */
#include "agent/store/store_pg_internal.h"

#define MS(col) "(floor(extract(epoch from " col ") * 1000))::bigint"
#define AT_MS(p) "(TIMESTAMPTZ 'epoch' + " p "::bigint * INTERVAL '1 millisecond')"

#define ACCOUNT_COLUMNS "a.id, a.name, a.username, a.email, a.\"avatarUrl\", a.details::text"
#define MEMORY_COLUMNS_NO_EMB \
	"id, type, " MS("\"createdAt\"") ", content::text, "
#define MEMORY_COLUMNS_TAIL ", \"userId\", \"roomId\", \"agentId\", \"unique\""
#define RECEIPT_COLUMNS \
	"id, \"agentId\", seq, " MS("\"createdAt\"") ", \"memoryId\", receipt, signature, \"publicKey\", eip191"

_Static_assert(PG__COUNT <= 32, "pg_conn.prepared is a 32-bit mask");

/* A room's memories as agent_memory_query asks ($1 type, $2 room, $3 agent, $4 unique only, $5/$6 ms bounds). */
#define ROOM_MEMORIES \
	"type = $1 AND \"roomId\" = $2 AND ($3::uuid IS NULL OR \"agentId\" = $3::uuid) " \
	"AND (NOT $4::boolean OR \"unique\") " \
	"AND ($5::bigint IS NULL OR \"createdAt\" >= " AT_MS("$5") ") " \
	"AND ($6::bigint IS NULL OR \"createdAt\" <= " AT_MS("$6") ")"
/*
 * ... and only from the $7-th newest one's time on ($7 NULL: all). The
 * newest $7 are ordered by time and then by writing transaction, which no
 * index holds: without this bound a planner with stale statistics (a room
 * that grew since the last ANALYZE) sorted the whole room for each read,
 * O(room) a message. The bound is one walk down teeliza_idx_memories_room_type_created
 * (fewer than $7 rows, or $7 NULL: no bound); the sort that follows sees $7
 * rows and the ties of the last one's time.
 */
#define RECENT_MEMORIES \
	ROOM_MEMORIES " AND \"createdAt\" >= COALESCE((SELECT \"createdAt\" FROM memories WHERE " ROOM_MEMORIES \
	" AND $7::bigint IS NOT NULL ORDER BY \"createdAt\" DESC OFFSET GREATEST($7::bigint, 1) - 1 LIMIT 1), " \
	"'-infinity')"

const char *const pg_stmt_sql[PG__COUNT] = {
	[PG_SCHEMA_VERSION] = "SELECT COALESCE(MAX(version), 0) FROM teeliza_schema_migrations",
	[PG_ENSURE_ACCOUNT] = "INSERT INTO accounts (id, name, username, email, \"avatarUrl\", details, \"createdAt\") "
	                      "VALUES ($1, $2, $3, $4, $5, $6, clock_timestamp()) ON CONFLICT (id) DO NOTHING",
	[PG_GET_ACCOUNT] = "SELECT " ACCOUNT_COLUMNS " FROM accounts a WHERE a.id = $1",
	[PG_ENSURE_ROOM] = "INSERT INTO rooms (id, \"createdAt\") VALUES ($1, clock_timestamp()) "
	                   "ON CONFLICT (id) DO NOTHING",
	/* UNIQUE("userId","roomId") makes this safe when two replicas add one participant at once */
	[PG_ENSURE_PARTICIPANT] = "INSERT INTO participants (id, \"userId\", \"roomId\", \"createdAt\") "
	                          "VALUES (gen_random_uuid(), $1, $2, clock_timestamp()) "
	                          "ON CONFLICT (\"userId\", \"roomId\") DO NOTHING",
	[PG_ROOM_ACTORS] = "SELECT " ACCOUNT_COLUMNS " FROM participants p JOIN accounts a ON p.\"userId\" = a.id "
	                   "WHERE p.\"roomId\" = $1 ORDER BY p.\"createdAt\", p.xmin::text::bigint, p.id",
	/*
	 * Eliza's interface replaces a memory with the same id; a time left to
	 * the database is kept on replacement, so writing a deterministic id
	 * again (a retried request) does not move the message.
	 */
	[PG_PUT_MEMORY] = "INSERT INTO memories (id, type, content, embedding, \"userId\", \"roomId\", \"agentId\", "
	                  "\"unique\", \"createdAt\") VALUES ($1, $2, $3, $4, $5, $6, $7, $8, "
	                  "COALESCE(" AT_MS("$9") ", clock_timestamp())) "
	                  "ON CONFLICT (id) DO UPDATE SET type = EXCLUDED.type, content = EXCLUDED.content, "
	                  "embedding = EXCLUDED.embedding, \"userId\" = EXCLUDED.\"userId\", "
	                  "\"roomId\" = EXCLUDED.\"roomId\", \"agentId\" = EXCLUDED.\"agentId\", "
	                  "\"unique\" = EXCLUDED.\"unique\", \"createdAt\" = CASE WHEN $9::bigint IS NULL "
	                  "THEN memories.\"createdAt\" ELSE EXCLUDED.\"createdAt\" END",
	[PG_GET_MEMORY] = "SELECT " MEMORY_COLUMNS_NO_EMB "embedding::text" MEMORY_COLUMNS_TAIL
	                  " FROM memories WHERE id = $1",
	[PG_GET_MEMORIES] = "SELECT " MEMORY_COLUMNS_NO_EMB "CASE WHEN $8::boolean THEN embedding::text END"
	                    MEMORY_COLUMNS_TAIL " FROM memories WHERE " RECENT_MEMORIES " "
	                    "ORDER BY \"createdAt\" DESC, xmin::text::bigint DESC, id DESC LIMIT $7::bigint",
	[PG_COUNT_MEMORIES] = "SELECT COUNT(*) FROM memories WHERE type = $1 AND \"roomId\" = $2 "
	                      "AND (NOT $3::boolean OR \"unique\")",
	[PG_DELETE_ROOM_MEMORIES] = "DELETE FROM memories WHERE type = $1 AND \"roomId\" = $2",
	/* cache times are TIMESTAMP without a zone in Eliza's table: kept in UTC */
	[PG_CACHE_GET] = "SELECT value::text, (\"expiresAt\" IS NOT NULL AND "
	                 "\"expiresAt\" <= (clock_timestamp() AT TIME ZONE 'UTC')) "
	                 "FROM cache WHERE key = $1 AND \"agentId\" = $2",
	[PG_CACHE_SET] = "INSERT INTO cache (key, \"agentId\", value, \"createdAt\", \"expiresAt\") "
	                 "VALUES ($1, $2, $3, clock_timestamp() AT TIME ZONE 'UTC', " AT_MS("$4") " AT TIME ZONE 'UTC') "
	                 "ON CONFLICT (key, \"agentId\") DO UPDATE SET value = EXCLUDED.value, "
	                 "\"createdAt\" = EXCLUDED.\"createdAt\", \"expiresAt\" = EXCLUDED.\"expiresAt\"",
	[PG_CACHE_DELETE] = "DELETE FROM cache WHERE key = $1 AND \"agentId\" = $2",
	[PG_LOG] = "INSERT INTO logs (id, body, \"userId\", \"roomId\", type, \"createdAt\") "
	           "VALUES ($1, $2, $3, $4, $5, clock_timestamp()) ON CONFLICT (id) DO NOTHING",
	[PG_PUT_ATTESTATION] = "INSERT INTO teeliza_attestations (id, \"agentId\", \"instanceId\", \"reportData\", quote, "
	                       "\"eventLog\", \"createdAt\", \"bootId\") VALUES ($1, $2, $3, $4, $5, $6, "
	                       "COALESCE(" AT_MS("$7") ", clock_timestamp()), $8)",
	[PG_GET_ATTESTATION] = "SELECT id, \"agentId\", " MS("\"createdAt\"") ", \"reportData\", quote, \"eventLog\", "
	                       "\"instanceId\", \"bootId\" FROM teeliza_attestations WHERE id = $1",
	[PG_PUT_RECEIPT] = "INSERT INTO teeliza_receipts (id, \"agentId\", seq, \"createdAt\", \"memoryId\", receipt, "
	                   "signature, \"publicKey\", eip191) VALUES ($1, $2, $3, "
	                   "COALESCE(" AT_MS("$4") ", clock_timestamp()), $5, $6, $7, $8, $9)",
	[PG_GET_RECEIPT] = "SELECT " RECEIPT_COLUMNS " FROM teeliza_receipts WHERE id = $1 AND \"agentId\" = $2",
	[PG_LAST_RECEIPT] = "SELECT " RECEIPT_COLUMNS " FROM teeliza_receipts WHERE \"agentId\" = $1 "
	                    "ORDER BY seq DESC LIMIT 1",
	[PG_PING] = "SELECT 1",
	/*
	 * Claims (store_pg_replicas.c): leases are measured on the database's
	 * clock, one for every replica. A new key is inserted or left alone
	 * (ON CONFLICT: of two replicas inserting at once, one gets the row);
	 * a taken-over claim is one conditional UPDATE, which PostgreSQL
	 * re-checks on the row it locked, so two replicas never both take it.
	 */
	[PG_REQUEST_NEW] = "INSERT INTO teeliza_requests (\"agentId\", \"requestKey\", \"bodyHash\", \"roomId\", "
	                   "\"userMemoryId\", \"replyMemoryId\", state, owner, \"leaseUntil\", attempts, "
	                   "\"createdAt\", \"updatedAt\") VALUES ($1, $2, $3, $4, $5, $6, 'processing', $7, "
	                   "now() + $8::bigint * INTERVAL '1 millisecond', 1, now(), now()) "
	                   "ON CONFLICT (\"agentId\", \"requestKey\") DO NOTHING RETURNING attempts",
	[PG_REQUEST_TAKE] = "UPDATE teeliza_requests SET owner = $3, \"leaseUntil\" = now() + $4::bigint * INTERVAL "
	                    "'1 millisecond', attempts = attempts + 1, state = 'processing', \"updatedAt\" = now() "
	                    "WHERE \"agentId\" = $1 AND \"requestKey\" = $2 AND \"bodyHash\" = $6 AND state <> 'done' "
	                    "AND (state = 'failed' OR \"leaseUntil\" < now() OR ($5::boolean AND owner = $3)) "
	                    "RETURNING attempts",
	[PG_REQUEST_GET] = "SELECT \"bodyHash\", state, response, GREATEST(1, ceil(extract(epoch from "
	                   "(\"leaseUntil\" - now())) * 1000))::bigint FROM teeliza_requests "
	                   "WHERE \"agentId\" = $1 AND \"requestKey\" = $2",
	/*
	 * Only a processing claim completes (twice is NOT_FOUND, as on SQLite);
	 * a retry after a lost COMMIT so answers NOT_FOUND, and the response
	 * the first try stored is the one kept.
	 */
	[PG_REQUEST_DONE] = "UPDATE teeliza_requests SET state = 'done', response = $4, \"updatedAt\" = clock_timestamp() "
	                    "WHERE \"agentId\" = $1 AND \"requestKey\" = $2 AND owner = $3 AND state = 'processing'",
	[PG_REQUEST_RELEASE] = "UPDATE teeliza_requests SET state = 'failed', \"updatedAt\" = clock_timestamp() "
	                       "WHERE \"agentId\" = $1 AND \"requestKey\" = $2 AND owner = $3 AND state = 'processing'",
	[PG_LIST_INSTANCES] = "SELECT \"instanceId\", COALESCE(\"bootId\", ''), " MS("MIN(\"createdAt\")") ", "
	                      MS("MAX(\"createdAt\")") ", COUNT(*), "
	                      "((array_agg(id ORDER BY \"createdAt\" DESC, id DESC))[1])::text "
	                      "FROM teeliza_attestations WHERE \"agentId\" = $1 AND \"instanceId\" IS NOT NULL "
	                      "GROUP BY \"instanceId\", \"bootId\" ORDER BY MIN(\"createdAt\"), \"instanceId\", "
	                      "\"bootId\"",
	[PG_CHARACTER_PUT] = "INSERT INTO teeliza_characters (\"agentId\", version, \"character\", \"updatedAt\", "
	                     "\"updatedBy\") VALUES ($1, 1, $2, clock_timestamp(), $3) ON CONFLICT (\"agentId\") DO "
	                     "UPDATE SET version = teeliza_characters.version + 1, \"character\" = EXCLUDED.\"character\", "
	                     "\"updatedAt\" = EXCLUDED.\"updatedAt\", \"updatedBy\" = EXCLUDED.\"updatedBy\" "
	                     "RETURNING version",
	[PG_CHARACTER_GET] = "SELECT version, \"character\" FROM teeliza_characters WHERE \"agentId\" = $1",
	[PG_CHARACTER_VERSION] = "SELECT version FROM teeliza_characters WHERE \"agentId\" = $1",
	/*
	 * A prompt's read (store_pg_recall.c): PG_GET_MEMORIES' rows (same
	 * filters, order and limit; no embedding) each with its author's
	 * account, NULLs when the account is gone: one statement, one snapshot.
	 */
	/*
	 * Every writer of an agent's receipt chain holds this until its
	 * transaction ends (store_pg_receipts.c): the head one reads under it
	 * stays the head. Class 32274 (the migrations' lock is 32273).
	 */
	[PG_CHAIN_LOCK] = "SELECT pg_advisory_xact_lock(32274, hashtext($1::text))",
	[PG_RECALL] = "SELECT m.id, m.type, " MS("m.\"createdAt\"") ", m.content::text, NULL::text, m.\"userId\", "
	              "m.\"roomId\", m.\"agentId\", m.\"unique\", " ACCOUNT_COLUMNS " FROM (SELECT id, type, "
	              "\"createdAt\", content, \"userId\", \"roomId\", \"agentId\", \"unique\", xmin::text::bigint AS tx "
	              "FROM memories WHERE " RECENT_MEMORIES " ORDER BY \"createdAt\" DESC, tx DESC, id DESC LIMIT $7::bigint) m "
	              "LEFT JOIN accounts a ON a.id = m.\"userId\" ORDER BY m.\"createdAt\" DESC, m.tx DESC, m.id DESC",
};
