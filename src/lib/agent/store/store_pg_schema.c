/*
 * Schema history of the PostgreSQL store. Never edit a released migration:
 * add one at the end and raise PG_SCHEMA_LATEST (store_pg_internal.h).
 *
 * Version 1 is Eliza's PostgreSQL schema (@elizaos/adapter-postgres 0.1.9
 * schema.sql: the same tables, quoted camelCase columns, UUID/JSONB/
 * TIMESTAMPTZ types, the doubled foreign keys and Eliza's indexes), with IF
 * NOT EXISTS so an existing Eliza database is adopted unchanged, plus
 * teeliza's own tables, all named teeliza_*. This is the "portable" profile:
 * the embeddings are REAL[] because Debian 12 has no pgvector; an Eliza
 * database whose embeddings are pgvector's vector(384) keeps them
 * (store_pg_migrate.c reads the column's type). Version 2 adds the receipt
 * chains (docs/VERIFIABILITY.md). Version 3 is what replicas sharing the
 * database need (teeliza/agent/store.h): request claims keyed by (agent,
 * request key) with the body's hash, the character last set over the API
 * with its version, and the boot of the replica that stored each quote.
 * A claim's response is TEXT, not JSONB, for the event log's reason: a
 * retried request gets back the bytes the first answer sent.
 *
 * teeliza_attestations keeps the event log as TEXT, not JSONB: a verifier
 * replays the event log it is given, and JSONB would reorder its keys and
 * respace it.
 */
#include "agent/store/store_pg_schema.h"

static const char v1_tables[] =
	"CREATE TABLE IF NOT EXISTS teeliza_schema_migrations (version integer PRIMARY KEY, name text NOT NULL,"
	" profile text NOT NULL CHECK (profile IN ('pgvector','portable')),"
	" applied_at timestamptz NOT NULL DEFAULT clock_timestamp());"
	"CREATE TABLE IF NOT EXISTS accounts (\"id\" UUID PRIMARY KEY,"
	" \"createdAt\" TIMESTAMPTZ DEFAULT CURRENT_TIMESTAMP, \"name\" TEXT, \"username\" TEXT,"
	" \"email\" TEXT NOT NULL, \"avatarUrl\" TEXT, \"details\" JSONB DEFAULT '{}'::jsonb);"
	"CREATE TABLE IF NOT EXISTS rooms (\"id\" UUID PRIMARY KEY, \"createdAt\" TIMESTAMPTZ DEFAULT CURRENT_TIMESTAMP);"
	"CREATE TABLE IF NOT EXISTS memories (\"id\" UUID PRIMARY KEY, \"type\" TEXT NOT NULL,"
	" \"createdAt\" TIMESTAMPTZ DEFAULT CURRENT_TIMESTAMP, \"content\" JSONB NOT NULL, \"embedding\" REAL[],"
	" \"userId\" UUID REFERENCES accounts(\"id\"), \"agentId\" UUID REFERENCES accounts(\"id\"),"
	" \"roomId\" UUID REFERENCES rooms(\"id\"), \"unique\" BOOLEAN DEFAULT true NOT NULL,"
	" CONSTRAINT fk_room FOREIGN KEY (\"roomId\") REFERENCES rooms(\"id\") ON DELETE CASCADE,"
	" CONSTRAINT fk_user FOREIGN KEY (\"userId\") REFERENCES accounts(\"id\") ON DELETE CASCADE,"
	" CONSTRAINT fk_agent FOREIGN KEY (\"agentId\") REFERENCES accounts(\"id\") ON DELETE CASCADE);"
	"CREATE TABLE IF NOT EXISTS goals (\"id\" UUID PRIMARY KEY, \"createdAt\" TIMESTAMPTZ DEFAULT CURRENT_TIMESTAMP,"
	" \"userId\" UUID REFERENCES accounts(\"id\"), \"name\" TEXT, \"status\" TEXT, \"description\" TEXT,"
	" \"roomId\" UUID REFERENCES rooms(\"id\"), \"objectives\" JSONB DEFAULT '[]'::jsonb NOT NULL,"
	" CONSTRAINT fk_room FOREIGN KEY (\"roomId\") REFERENCES rooms(\"id\") ON DELETE CASCADE,"
	" CONSTRAINT fk_user FOREIGN KEY (\"userId\") REFERENCES accounts(\"id\") ON DELETE CASCADE);"
	"CREATE TABLE IF NOT EXISTS logs (\"id\" UUID PRIMARY KEY DEFAULT gen_random_uuid(),"
	" \"createdAt\" TIMESTAMPTZ DEFAULT CURRENT_TIMESTAMP, \"userId\" UUID NOT NULL REFERENCES accounts(\"id\"),"
	" \"body\" JSONB NOT NULL, \"type\" TEXT NOT NULL, \"roomId\" UUID NOT NULL REFERENCES rooms(\"id\"),"
	" CONSTRAINT fk_room FOREIGN KEY (\"roomId\") REFERENCES rooms(\"id\") ON DELETE CASCADE,"
	" CONSTRAINT fk_user FOREIGN KEY (\"userId\") REFERENCES accounts(\"id\") ON DELETE CASCADE);"
	"CREATE TABLE IF NOT EXISTS participants (\"id\" UUID PRIMARY KEY,"
	" \"createdAt\" TIMESTAMPTZ DEFAULT CURRENT_TIMESTAMP, \"userId\" UUID REFERENCES accounts(\"id\"),"
	" \"roomId\" UUID REFERENCES rooms(\"id\"), \"userState\" TEXT, \"last_message_read\" TEXT,"
	" UNIQUE(\"userId\", \"roomId\"),"
	" CONSTRAINT fk_room FOREIGN KEY (\"roomId\") REFERENCES rooms(\"id\") ON DELETE CASCADE,"
	" CONSTRAINT fk_user FOREIGN KEY (\"userId\") REFERENCES accounts(\"id\") ON DELETE CASCADE);"
	"CREATE TABLE IF NOT EXISTS relationships (\"id\" UUID PRIMARY KEY,"
	" \"createdAt\" TIMESTAMPTZ DEFAULT CURRENT_TIMESTAMP,"
	" \"userA\" UUID NOT NULL REFERENCES accounts(\"id\"), \"userB\" UUID NOT NULL REFERENCES accounts(\"id\"),"
	" \"status\" TEXT, \"userId\" UUID NOT NULL REFERENCES accounts(\"id\"),"
	" CONSTRAINT fk_user_a FOREIGN KEY (\"userA\") REFERENCES accounts(\"id\") ON DELETE CASCADE,"
	" CONSTRAINT fk_user_b FOREIGN KEY (\"userB\") REFERENCES accounts(\"id\") ON DELETE CASCADE,"
	" CONSTRAINT fk_user FOREIGN KEY (\"userId\") REFERENCES accounts(\"id\") ON DELETE CASCADE);"
	"CREATE TABLE IF NOT EXISTS cache (\"key\" TEXT NOT NULL, \"agentId\" TEXT NOT NULL,"
	" \"value\" JSONB DEFAULT '{}'::jsonb, \"createdAt\" TIMESTAMP DEFAULT CURRENT_TIMESTAMP,"
	" \"expiresAt\" TIMESTAMP, PRIMARY KEY (\"key\", \"agentId\"));"
	"CREATE TABLE IF NOT EXISTS knowledge (\"id\" UUID PRIMARY KEY, \"agentId\" UUID REFERENCES accounts(\"id\"),"
	" \"content\" JSONB NOT NULL, \"embedding\" REAL[], \"createdAt\" TIMESTAMPTZ DEFAULT CURRENT_TIMESTAMP,"
	" \"isMain\" BOOLEAN DEFAULT FALSE, \"originalId\" UUID REFERENCES knowledge(\"id\"), \"chunkIndex\" INTEGER,"
	" \"isShared\" BOOLEAN DEFAULT FALSE,"
	" CHECK((\"isShared\" = true AND \"agentId\" IS NULL) OR (\"isShared\" = false AND \"agentId\" IS NOT NULL)));"
	"CREATE INDEX IF NOT EXISTS idx_memories_type_room ON memories(\"type\", \"roomId\");"
	"CREATE INDEX IF NOT EXISTS idx_participants_user ON participants(\"userId\");"
	"CREATE INDEX IF NOT EXISTS idx_participants_room ON participants(\"roomId\");"
	"CREATE INDEX IF NOT EXISTS idx_relationships_users ON relationships(\"userA\", \"userB\");"
	"CREATE INDEX IF NOT EXISTS idx_knowledge_agent ON knowledge(\"agentId\");"
	"CREATE INDEX IF NOT EXISTS idx_knowledge_agent_main ON knowledge(\"agentId\", \"isMain\");"
	"CREATE INDEX IF NOT EXISTS idx_knowledge_original ON knowledge(\"originalId\");"
	"CREATE INDEX IF NOT EXISTS idx_knowledge_created ON knowledge(\"agentId\", \"createdAt\");"
	"CREATE INDEX IF NOT EXISTS idx_knowledge_shared ON knowledge(\"isShared\");"
	/* teeliza's additions: prefixed, ignored by Eliza */
	"CREATE INDEX IF NOT EXISTS teeliza_idx_memories_room_type_created"
	" ON memories(\"roomId\", \"type\", \"createdAt\" DESC);"
	"CREATE TABLE IF NOT EXISTS teeliza_meta (\"key\" TEXT PRIMARY KEY, \"value\" TEXT NOT NULL);"
	"CREATE TABLE IF NOT EXISTS teeliza_requests (\"agentId\" UUID NOT NULL, \"requestKey\" TEXT NOT NULL,"
	" \"roomId\" UUID NOT NULL, \"userMemoryId\" UUID NOT NULL, \"replyMemoryId\" UUID NOT NULL,"
	" \"state\" TEXT NOT NULL CHECK (\"state\" IN ('processing','done','failed')),"
	" \"owner\" TEXT NOT NULL, \"leaseUntil\" TIMESTAMPTZ NOT NULL, \"attempts\" INTEGER NOT NULL DEFAULT 1,"
	" \"response\" JSONB, \"createdAt\" TIMESTAMPTZ NOT NULL DEFAULT clock_timestamp(),"
	" \"updatedAt\" TIMESTAMPTZ NOT NULL DEFAULT clock_timestamp(), PRIMARY KEY (\"agentId\", \"requestKey\"));"
	"CREATE INDEX IF NOT EXISTS teeliza_idx_requests_lease ON teeliza_requests(\"state\", \"leaseUntil\");"
	"CREATE TABLE IF NOT EXISTS teeliza_instances (\"instanceId\" TEXT PRIMARY KEY, \"appId\" TEXT,"
	" \"composeHash\" TEXT, \"version\" TEXT NOT NULL,"
	" \"startedAt\" TIMESTAMPTZ NOT NULL DEFAULT clock_timestamp(),"
	" \"lastSeen\" TIMESTAMPTZ NOT NULL DEFAULT clock_timestamp());"
	"CREATE TABLE IF NOT EXISTS teeliza_attestations (\"id\" UUID PRIMARY KEY DEFAULT gen_random_uuid(),"
	" \"agentId\" UUID NOT NULL, \"instanceId\" TEXT NOT NULL, \"appId\" TEXT, \"composeHash\" TEXT,"
	" \"reportData\" BYTEA NOT NULL, \"quote\" BYTEA NOT NULL, \"eventLog\" TEXT,"
	" \"createdAt\" TIMESTAMPTZ NOT NULL DEFAULT clock_timestamp());"
	"CREATE INDEX IF NOT EXISTS teeliza_idx_attestations_agent"
	" ON teeliza_attestations(\"agentId\", \"createdAt\" DESC);"
	"INSERT INTO teeliza_meta VALUES ('embedding_dim', '384') ON CONFLICT (\"key\") DO NOTHING;";

static const char v2_receipts[] =
	"CREATE TABLE IF NOT EXISTS teeliza_receipts (\"id\" TEXT PRIMARY KEY, \"agentId\" UUID NOT NULL,"
	" \"seq\" BIGINT NOT NULL CHECK (\"seq\" > 0), \"createdAt\" TIMESTAMPTZ NOT NULL DEFAULT clock_timestamp(),"
	" \"memoryId\" UUID, \"receipt\" TEXT NOT NULL, \"signature\" TEXT NOT NULL, \"publicKey\" TEXT NOT NULL,"
	" \"eip191\" TEXT, UNIQUE (\"agentId\", \"seq\"));";

static const char v3_replicas[] =
	"ALTER TABLE teeliza_requests ADD COLUMN IF NOT EXISTS \"bodyHash\" TEXT NOT NULL DEFAULT '';"
	"ALTER TABLE teeliza_requests ALTER COLUMN \"bodyHash\" DROP DEFAULT;"
	"ALTER TABLE teeliza_requests ALTER COLUMN \"response\" TYPE TEXT USING \"response\"::text;"
	"CREATE TABLE IF NOT EXISTS teeliza_characters (\"agentId\" UUID PRIMARY KEY,"
	" \"version\" BIGINT NOT NULL CHECK (\"version\" > 0),"
	" \"character\" TEXT NOT NULL CHECK ((\"character\"::jsonb) IS NOT NULL),"
	" \"updatedAt\" TIMESTAMPTZ NOT NULL DEFAULT clock_timestamp(), \"updatedBy\" TEXT NOT NULL);"
	/* a store without an identity (a tool, not a replica) stores its quotes without one */
	"ALTER TABLE teeliza_attestations ALTER COLUMN \"instanceId\" DROP NOT NULL;"
	"ALTER TABLE teeliza_attestations ADD COLUMN IF NOT EXISTS \"bootId\" TEXT;"
	"CREATE INDEX IF NOT EXISTS teeliza_idx_attestations_instance"
	" ON teeliza_attestations(\"agentId\", \"instanceId\", \"bootId\");";

const struct agent_pg_migration agent_pg_migrations[] = {
	{ 1, "eliza-0.1.9-tables+teeliza", v1_tables },
	{ 2, "teeliza-receipts", v2_receipts },
	{ 3, "teeliza-replicas", v3_replicas },
};

const size_t agent_pg_migration_count = sizeof(agent_pg_migrations) / sizeof(agent_pg_migrations[0]);
