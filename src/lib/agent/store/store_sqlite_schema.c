/*
 * Schema history of the SQLite store. Never edit a released migration:
 * add a new one at the end and bump AGENT_STORE_SCHEMA_VERSION.
 *
 * Version 1 is Eliza's own schema (@elizaos/adapter-sqlite 0.1.9): the same
 * tables, camelCase quoted column names and types, with IF NOT EXISTS so an
 * existing Eliza db.sqlite is adopted unchanged. Version 2 adds what
 * teeliza needs on top, without changing Eliza's tables.
 */
#include "agent/store/store_sqlite_schema.h"

#include "teeliza/agent/store.h"

const char agent_sqlite_schema_version_sql[] =
	"CREATE TABLE IF NOT EXISTS schema_version ("
	" version INTEGER PRIMARY KEY,"
	" applied_at INTEGER NOT NULL,"
	" description TEXT NOT NULL);";

static const char eliza_tables[] =
	"CREATE TABLE IF NOT EXISTS \"accounts\" ("
	" \"id\" TEXT PRIMARY KEY,"
	" \"createdAt\" TIMESTAMP DEFAULT CURRENT_TIMESTAMP,"
	" \"name\" TEXT,"
	" \"username\" TEXT,"
	" \"email\" TEXT NOT NULL,"
	" \"avatarUrl\" TEXT,"
	" \"details\" TEXT DEFAULT '{}' CHECK(json_valid(\"details\")));"
	"CREATE TABLE IF NOT EXISTS \"memories\" ("
	" \"id\" TEXT PRIMARY KEY,"
	" \"type\" TEXT NOT NULL,"
	" \"createdAt\" TIMESTAMP DEFAULT CURRENT_TIMESTAMP,"
	" \"content\" TEXT NOT NULL,"
	" \"embedding\" BLOB NOT NULL,"
	" \"userId\" TEXT,"
	" \"roomId\" TEXT,"
	" \"agentId\" TEXT,"
	" \"unique\" INTEGER DEFAULT 1 NOT NULL,"
	" FOREIGN KEY (\"userId\") REFERENCES \"accounts\"(\"id\"),"
	" FOREIGN KEY (\"roomId\") REFERENCES \"rooms\"(\"id\"),"
	" FOREIGN KEY (\"agentId\") REFERENCES \"accounts\"(\"id\"));"
	"CREATE TABLE IF NOT EXISTS \"goals\" ("
	" \"id\" TEXT PRIMARY KEY,"
	" \"createdAt\" TIMESTAMP DEFAULT CURRENT_TIMESTAMP,"
	" \"userId\" TEXT,"
	" \"name\" TEXT,"
	" \"status\" TEXT,"
	" \"description\" TEXT,"
	" \"roomId\" TEXT,"
	" \"objectives\" TEXT DEFAULT '[]' NOT NULL CHECK(json_valid(\"objectives\")));"
	"CREATE TABLE IF NOT EXISTS \"logs\" ("
	" \"id\" TEXT PRIMARY KEY,"
	" \"createdAt\" TIMESTAMP DEFAULT CURRENT_TIMESTAMP,"
	" \"userId\" TEXT NOT NULL,"
	" \"body\" TEXT NOT NULL,"
	" \"type\" TEXT NOT NULL,"
	" \"roomId\" TEXT NOT NULL);"
	"CREATE TABLE IF NOT EXISTS \"participants\" ("
	" \"createdAt\" TIMESTAMP DEFAULT CURRENT_TIMESTAMP,"
	" \"userId\" TEXT,"
	" \"roomId\" TEXT,"
	" \"userState\" TEXT,"
	" \"id\" TEXT PRIMARY KEY,"
	" \"last_message_read\" TEXT,"
	" FOREIGN KEY (\"userId\") REFERENCES \"accounts\"(\"id\"),"
	" FOREIGN KEY (\"roomId\") REFERENCES \"rooms\"(\"id\"));"
	"CREATE TABLE IF NOT EXISTS \"relationships\" ("
	" \"createdAt\" TIMESTAMP DEFAULT CURRENT_TIMESTAMP,"
	" \"userA\" TEXT NOT NULL,"
	" \"userB\" TEXT NOT NULL,"
	" \"status\" TEXT,"
	" \"id\" TEXT PRIMARY KEY,"
	" \"userId\" TEXT NOT NULL,"
	" FOREIGN KEY (\"userA\") REFERENCES \"accounts\"(\"id\"),"
	" FOREIGN KEY (\"userB\") REFERENCES \"accounts\"(\"id\"),"
	" FOREIGN KEY (\"userId\") REFERENCES \"accounts\"(\"id\"));"
	"CREATE TABLE IF NOT EXISTS \"rooms\" ("
	" \"id\" TEXT PRIMARY KEY,"
	" \"createdAt\" TIMESTAMP DEFAULT CURRENT_TIMESTAMP);"
	"CREATE TABLE IF NOT EXISTS \"cache\" ("
	" \"key\" TEXT NOT NULL,"
	" \"agentId\" TEXT NOT NULL,"
	" \"value\" TEXT DEFAULT '{}' CHECK(json_valid(\"value\")),"
	" \"createdAt\" TIMESTAMP DEFAULT CURRENT_TIMESTAMP,"
	" \"expiresAt\" TIMESTAMP,"
	" PRIMARY KEY (\"key\", \"agentId\"));"
	"CREATE TABLE IF NOT EXISTS \"knowledge\" ("
	" \"id\" TEXT PRIMARY KEY,"
	" \"agentId\" TEXT,"
	" \"content\" TEXT NOT NULL CHECK(json_valid(\"content\")),"
	" \"embedding\" BLOB,"
	" \"createdAt\" TIMESTAMP DEFAULT CURRENT_TIMESTAMP,"
	" \"isMain\" INTEGER DEFAULT 0,"
	" \"originalId\" TEXT,"
	" \"chunkIndex\" INTEGER,"
	" \"isShared\" INTEGER DEFAULT 0,"
	" FOREIGN KEY (\"agentId\") REFERENCES \"accounts\"(\"id\"),"
	" FOREIGN KEY (\"originalId\") REFERENCES \"knowledge\"(\"id\"),"
	" CHECK((isShared = 1 AND agentId IS NULL) OR (isShared = 0 AND agentId IS NOT NULL)));"
	"CREATE UNIQUE INDEX IF NOT EXISTS \"relationships_id_key\" ON \"relationships\" (\"id\");"
	"CREATE UNIQUE INDEX IF NOT EXISTS \"memories_id_key\" ON \"memories\" (\"id\");"
	"CREATE UNIQUE INDEX IF NOT EXISTS \"participants_id_key\" ON \"participants\" (\"id\");"
	"CREATE INDEX IF NOT EXISTS \"knowledge_agent_key\" ON \"knowledge\" (\"agentId\");"
	"CREATE INDEX IF NOT EXISTS \"knowledge_agent_main_key\" ON \"knowledge\" (\"agentId\", \"isMain\");"
	"CREATE INDEX IF NOT EXISTS \"knowledge_original_key\" ON \"knowledge\" (\"originalId\");"
	"CREATE INDEX IF NOT EXISTS \"knowledge_content_key\" ON \"knowledge\""
	" ((json_extract(content, '$.text'))) WHERE json_extract(content, '$.text') IS NOT NULL;"
	"CREATE INDEX IF NOT EXISTS \"knowledge_created_key\" ON \"knowledge\" (\"agentId\", \"createdAt\");"
	"CREATE INDEX IF NOT EXISTS \"knowledge_shared_key\" ON \"knowledge\" (\"isShared\");";

static const char teeliza_additions[] =
	/* quotes handed out by the agent, fetched later by id */
	"CREATE TABLE IF NOT EXISTS attestations ("
	" id TEXT PRIMARY KEY,"
	" agent_id TEXT,"
	" created_at INTEGER NOT NULL,"
	" report_data_json TEXT,"
	" quote BLOB NOT NULL,"
	" event_log TEXT);"
	"CREATE INDEX IF NOT EXISTS attestations_agent_created ON attestations (agent_id, created_at);"
	/* the prompt's "recent messages of a room" and the participant check */
	"CREATE INDEX IF NOT EXISTS memories_room_type_created ON \"memories\" (\"roomId\", \"type\", \"createdAt\");"
	"CREATE INDEX IF NOT EXISTS participants_room_user ON \"participants\" (\"roomId\", \"userId\");";

/* Version 3: signed receipts of replies, one hash chain per agent (docs/VERIFIABILITY.md). */
static const char teeliza_receipts[] =
	"CREATE TABLE IF NOT EXISTS receipts ("
	" id TEXT PRIMARY KEY,"
	" agent_id TEXT NOT NULL,"
	" seq INTEGER NOT NULL,"
	" created_at INTEGER NOT NULL,"
	" memory_id TEXT,"
	" receipt TEXT NOT NULL,"
	" signature TEXT NOT NULL,"
	" public_key TEXT NOT NULL,"
	" eip191 TEXT,"
	" UNIQUE (agent_id, seq));";

/*
 * Version 4: replicas sharing one database (teeliza/agent/store.h): request
 * claims keyed by (agent, request key), the character last set over the
 * API with its version, and the replica and boot that stored each quote.
 */
static const char teeliza_replicas[] =
	"CREATE TABLE IF NOT EXISTS requests ("
	" agent_id TEXT NOT NULL,"
	" request_key TEXT NOT NULL,"
	" body_hash TEXT NOT NULL,"
	" room_id TEXT NOT NULL,"
	" user_memory_id TEXT NOT NULL,"
	" reply_memory_id TEXT NOT NULL,"
	" state TEXT NOT NULL CHECK (state IN ('processing', 'done', 'failed')),"
	" owner TEXT NOT NULL,"
	" lease_until INTEGER NOT NULL,"
	" attempts INTEGER NOT NULL DEFAULT 1,"
	" response TEXT,"
	" created_at INTEGER NOT NULL,"
	" updated_at INTEGER NOT NULL,"
	" PRIMARY KEY (agent_id, request_key));"
	"CREATE INDEX IF NOT EXISTS requests_state_lease ON requests (state, lease_until);"
	"CREATE TABLE IF NOT EXISTS characters ("
	" agent_id TEXT PRIMARY KEY,"
	" version INTEGER NOT NULL,"
	" character TEXT NOT NULL CHECK (json_valid(character)),"
	" updated_at INTEGER NOT NULL,"
	" updated_by TEXT NOT NULL);"
	"ALTER TABLE attestations ADD COLUMN instance_id TEXT;"
	"ALTER TABLE attestations ADD COLUMN boot_id TEXT;"
	"CREATE INDEX IF NOT EXISTS attestations_agent_instance ON attestations (agent_id, instance_id, boot_id);";

const struct agent_sqlite_migration agent_sqlite_migrations[] = {
	{ 1, "Eliza tables (adapter-sqlite 0.1.9)", eliza_tables },
	{ 2, "teeliza attestations table and room indexes", teeliza_additions },
	{ 3, "teeliza receipts table", teeliza_receipts },
	{ 4, "teeliza request claims, shared characters, attestation instances", teeliza_replicas },
};

const size_t agent_sqlite_migration_count = sizeof(agent_sqlite_migrations) / sizeof(agent_sqlite_migrations[0]);

_Static_assert(sizeof(agent_sqlite_migrations) / sizeof(agent_sqlite_migrations[0]) == AGENT_STORE_SCHEMA_VERSION,
               "AGENT_STORE_SCHEMA_VERSION must equal the number of migrations");
