/*
 * Agent storage: accounts, rooms, participants, memories, cache, logs and
 * attestation quotes, behind one interface.
 *
 * An agent_store is a table of operations (agent_store_ops) so that another
 * back-end (PostgreSQL, ...) can be added without touching the pipeline: a
 * back-end embeds `agent_store` as the first member of its own struct,
 * fills in every operation, and adds a row (its setting and open function)
 * to the table of back-ends that agent_store_open_default reads
 * (src/lib/agent/store/store_open.c). Callers use the agent_store_*
 * wrappers below.
 *
 * The SQLite back-end uses Eliza's own tables and column names (an Eliza
 * `db.sqlite` can be opened as is), plus a schema_version table and
 * teeliza's `attestations` and `receipts` tables; see docs/AGENT-STORAGE.md.
 *
 * Thread safety: every operation may be called from any thread at any time;
 * the store serialises them itself. Results are owned by the caller.
 *
 * Result structs (agent_account, agent_memory, agent_attestation) are used
 * both ways: as input the caller fills the fields with its own pointers
 * and leaves `owned_` NULL; as output the store fills them, all strings in
 * one block held by `owned_`, released with the matching *_clear().
 */
#ifndef TEELIZA_AGENT_STORE_H
#define TEELIZA_AGENT_STORE_H

#include "teeliza/common/common.h"

#ifdef __cplusplus
extern "C" {
#endif

/* Eliza stores every memory with an embedding; agent replies get 384 zeros (BGE-small size). */
#define AGENT_STORE_EMBEDDING_DIM 384

/* Default database file when neither a path nor SQLITE_FILE is given. */
#define AGENT_STORE_DEFAULT_PATH "data/db.sqlite"

/* Latest schema version this build creates and understands. */
#define AGENT_STORE_SCHEMA_VERSION 4

/* Eliza's memory "table" names (the memories.type column). */
#define AGENT_MEMORY_MESSAGES "messages"

typedef struct agent_account {
	const char *id;
	const char *name;
	const char *username;
	const char *email;       /* NOT NULL in Eliza's table: NULL input stores the id */
	const char *avatar_url;  /* may be NULL */
	const char *details;     /* JSON text; NULL input stores {"summary":""} as Eliza does */
	void *owned_;
} agent_account;

typedef struct agent_account_list {
	agent_account *items;
	size_t count;
} agent_account_list;

typedef struct agent_memory {
	const char *id;          /* NULL input: a random UUID is used */
	const char *type;        /* NULL input: "messages" */
	const char *agent_id;
	const char *user_id;
	const char *room_id;
	const char *content;     /* JSON text of Eliza's content object, e.g. {"text":"hi","source":"direct"} */
	int64_t created_at;      /* ms since the Unix epoch; 0 input: now */
	bool unique;
	const float *embedding;  /* NULL input: AGENT_STORE_EMBEDDING_DIM zeros */
	size_t embedding_len;    /* number of floats */
	void *owned_;
} agent_memory;

typedef struct agent_memory_list {
	agent_memory *items;
	size_t count;
} agent_memory_list;

typedef struct agent_memory_query {
	const char *type;        /* NULL: "messages" */
	const char *agent_id;    /* NULL: any agent */
	const char *room_id;     /* required */
	size_t count;            /* the most recent `count`; 0: all */
	bool unique_only;
	int64_t start;           /* createdAt >= start (ms); 0: no bound */
	int64_t end;             /* createdAt <= end (ms); 0: no bound */
	bool newest_first;       /* false (default): oldest first, as a prompt lists them */
	bool with_embedding;     /* also decode embeddings (else embedding is NULL) */
} agent_memory_query;

typedef struct agent_attestation {
	const char *id;
	const char *agent_id;
	int64_t created_at;      /* ms; 0 input: now */
	const char *report_data_json; /* the JSON whose hash went into report_data */
	const uint8_t *quote;
	size_t quote_len;
	const char *event_log;   /* tappd's event log JSON text; may be NULL */
	/* Output only: the replica and boot that stored it (agent_store_set_identity; input ignored). */
	const char *instance_id;
	const char *boot_id;
	void *owned_;
} agent_attestation;

/*
 * A signed receipt of one reply (docs/VERIFIABILITY.md, "Receipts"): the
 * canonical JSON the reply key signed, kept in the agent's per-agent chain.
 */
typedef struct agent_receipt {
	const char *id;          /* hex SHA-256 of receipt (the chain's link) */
	const char *agent_id;
	uint64_t seq;            /* 1, 2, … per agent */
	int64_t created_at;      /* ms; 0 input: now */
	const char *memory_id;   /* the agent's reply memory, or NULL */
	const char *receipt;     /* RFC 8785 JSON text */
	const char *signature;   /* hex Ed25519 signature of receipt */
	const char *public_key;  /* hex Ed25519 public key */
	const char *eip191;      /* hex 65-byte EIP-191 signature of id, or NULL */
	void *owned_;
} agent_receipt;

/*
 * ---- Replicas sharing one database (docs/DEPLOY.md, "Scale-out") ----
 *
 * Idempotent requests: a request that carries a client key (Idempotency-Key)
 * is claimed in the shared store before any work. The claim is a row keyed
 * by (agent id, request key) with an owner (this replica's identity, see
 * agent_store_set_identity) and a lease: whoever holds an unexpired lease
 * does the work; a replica that died leaves its lease to run out, and the
 * next one to ask takes the request over (attempts + 1). The stored
 * response makes a retry return what the first answer returned, without
 * running the model again.
 */
#define AGENT_REQUEST_KEY_MAX 128    /* longest request key, in bytes (printable ASCII) */

typedef enum agent_request_outcome {
	AGENT_REQUEST_CLAIMED = 1,   /* this replica owns it now: do the work, then complete or release it */
	AGENT_REQUEST_DONE,          /* answered before: response holds what complete stored */
	AGENT_REQUEST_BUSY,          /* another replica holds a live lease: ask again after retry_after_ms */
	AGENT_REQUEST_CONFLICT,      /* the key was claimed for a different request (another body_hash) */
} agent_request_outcome;

typedef struct agent_request_claim {
	const char *agent_id;
	const char *request_key;     /* 1..AGENT_REQUEST_KEY_MAX bytes */
	const char *body_hash;       /* hex SHA-256 of what was asked; the same key with another hash conflicts */
	const char *room_id;
	const char *user_memory_id;  /* the memory ids the request writes (deterministic, agent_uuid_request_ids) */
	const char *reply_memory_id;
	int64_t lease_ms;            /* > 0: the claim is taken over when it is not completed within this */
	/*
	 * The caller knows no thread of this replica works on the request:
	 * a claim this replica (this boot) still holds is stale (its work
	 * failed while the database was gone, so it could not be given up)
	 * and is taken back at once instead of waiting out its own lease.
	 */
	bool own_stale;
} agent_request_claim;

typedef struct agent_request_result {
	agent_request_outcome outcome;
	unsigned attempts;           /* CLAIMED: 1 for a new request, more for one taken over after its lease */
	int64_t retry_after_ms;      /* BUSY: what is left of the holder's lease (≥ 1) */
	char *response;              /* DONE: the stored JSON text (free it); else NULL */
} agent_request_result;

/* One replica boot that stored attestations for an agent (agent_store_list_instances). */
typedef struct agent_instance {
	const char *instance_id;
	const char *boot_id;
	int64_t first_ms;            /* its first and latest attestation for the agent */
	int64_t last_ms;
	uint64_t attestations;       /* how many it stored */
	const char *last_attestation_id;
	void *owned_;
} agent_instance;

typedef struct agent_instance_list {
	agent_instance *items;
	size_t count;
} agent_instance_list;

#define AGENT_INSTANCE_ID_MAX 128    /* longest instance id (TEELIZA_INSTANCE_ID) */

/*
 * What a prompt reads for a message (agent_store_recall): a room's recent
 * memories and the accounts of their authors.
 */
typedef struct agent_recall {
	agent_memory_list memories;  /* as agent_store_get_memories returns them */
	/* each author once, in the order the memories first name them; an author whose account is gone is left out */
	agent_account_list authors;
} agent_recall;

/*
 * Fills *out, the next receipt of a chain, to follow head, the chain's last
 * receipt (NULL: the chain is empty): its seq, prev and signature. What
 * *out points to must stay valid until the append that called it returns.
 */
typedef teeliza_err (*agent_receipt_build)(agent_receipt *out, void *ctx, const agent_receipt *head);

typedef struct agent_store agent_store;

/* What a back-end implements. Every function pointer must be set, except those marked OPTIONAL. */
typedef struct agent_store_ops {
	const char *name; /* "sqlite", "postgres" */
	void (*close)(agent_store *s);
	teeliza_err (*schema_version)(agent_store *s, int *out);
	teeliza_err (*ensure_account)(agent_store *s, const agent_account *a);
	teeliza_err (*get_account)(agent_store *s, agent_account *out, const char *id);
	teeliza_err (*ensure_room)(agent_store *s, const char *room_id);
	teeliza_err (*ensure_participant)(agent_store *s, const char *user_id, const char *room_id);
	/*
	 * Both accounts (user NULL: the agent talks to itself), the room, both
	 * participants and then memory m (NULL: none), all or none.
	 */
	teeliza_err (*ensure_connection)(agent_store *s, const agent_account *agent, const agent_account *user,
	                                 const char *room_id, const agent_memory *m);
	teeliza_err (*list_room_actors)(agent_store *s, agent_account_list *out, const char *room_id);
	teeliza_err (*create_memory)(agent_store *s, const agent_memory *m);
	teeliza_err (*get_memory)(agent_store *s, agent_memory *out, const char *id);
	teeliza_err (*get_memories)(agent_store *s, agent_memory_list *out, const agent_memory_query *q);
	teeliza_err (*count_memories)(agent_store *s, size_t *out, const char *type, const char *room_id,
	                              bool unique_only);
	teeliza_err (*delete_room_memories)(agent_store *s, size_t *deleted, const char *type, const char *room_id);
	teeliza_err (*cache_get)(agent_store *s, char **out, const char *key, const char *agent_id);
	teeliza_err (*cache_set)(agent_store *s, const char *key, const char *agent_id, const char *value_json,
	                         int64_t expires_at);
	teeliza_err (*cache_delete)(agent_store *s, const char *key, const char *agent_id);
	teeliza_err (*log)(agent_store *s, const char *user_id, const char *room_id, const char *type,
	                   const char *body_json);
	teeliza_err (*put_attestation)(agent_store *s, const agent_attestation *a);
	teeliza_err (*get_attestation)(agent_store *s, agent_attestation *out, const char *id);
	teeliza_err (*put_receipt)(agent_store *s, const agent_receipt *r);
	teeliza_err (*get_receipt)(agent_store *s, agent_receipt *out, const char *agent_id, const char *id);
	teeliza_err (*last_receipt)(agent_store *s, agent_receipt *out, const char *agent_id);
	/*
	 * OPTIONAL (may be NULL): create_memory of each
	 * of the n memories in order, then put_receipt(r), in one write
	 * transaction, all or none (r->memory_id names memories[0]). When NULL,
	 * agent_store_put_receipt_with_memories does the same in n + 1 calls,
	 * memories first, so a failure can leave a reply without its receipt
	 * but never a receipt without its reply.
	 */
	teeliza_err (*put_receipt_with_memories)(agent_store *s, const agent_receipt *r, const agent_memory *memories,
	                                         size_t n);
	/*
	 * OPTIONAL (may be NULL): agent_store_append_receipt. Under a lock
	 * every writer of agent_id's chain takes (put_receipt and
	 * put_receipt_with_memories included, in every process on the
	 * database): read the head, build the receipt on it, store the n
	 * memories and the receipt, in one write transaction.
	 */
	teeliza_err (*append_receipt)(agent_store *s, const char *agent_id, agent_receipt_build build, void *ctx,
	                              const agent_memory *memories, size_t n);
	/*
	 * OPTIONAL (may be NULL): get_memories(q) and the accounts of their
	 * authors, as one read (a server back-end: one statement). When NULL,
	 * agent_store_recall reads the memories, then each author's account.
	 */
	teeliza_err (*recall)(agent_store *s, agent_recall *out, const agent_memory_query *q);
	/*
	 * OPTIONAL (may be NULL): ensure_connection(agent, user, room_id, m),
	 * then recall(q), where the read sees the write: a server back-end sends
	 * both as one round trip (the message's write and its prompt's read).
	 * When NULL, agent_store_ensure_connection_recall makes the two calls.
	 */
	teeliza_err (*ensure_connection_recall)(agent_store *s, agent_recall *out, const agent_account *agent,
	                                        const agent_account *user, const char *room_id, const agent_memory *m,
	                                        const agent_memory_query *q);
	/*
	 * Replicas (the agent_store_* wrappers below say what each must do). A
	 * back-end that serves replicas fills them all; one left NULL makes its
	 * wrapper answer TEELIZA_ERR_UNSUPPORTED (ping: TEELIZA_OK), never crash.
	 */
	teeliza_err (*ping)(agent_store *s);
	teeliza_err (*request_claim)(agent_store *s, agent_request_result *out, const agent_request_claim *c);
	teeliza_err (*request_complete)(agent_store *s, const char *agent_id, const char *request_key,
	                                const char *response_json);
	teeliza_err (*request_release)(agent_store *s, const char *agent_id, const char *request_key);
	teeliza_err (*list_instances)(agent_store *s, agent_instance_list *out, const char *agent_id);
	teeliza_err (*character_put)(agent_store *s, uint64_t *version, const char *agent_id, const char *json);
	teeliza_err (*character_get)(agent_store *s, char **json, uint64_t *version, const char *agent_id);
	teeliza_err (*character_version)(agent_store *s, uint64_t *version, const char *agent_id);
} agent_store_ops;

/*
 * Back-ends put this first in their own struct (zeroed: calloc). The
 * identity is the store's, not a back-end's: set once by
 * agent_store_set_identity before the store is shared between threads.
 */
struct agent_store {
	const agent_store_ops *ops;
	char instance_id[AGENT_INSTANCE_ID_MAX + 1]; /* "" until set */
	char boot_id[40];                            /* a random UUID per open, set by agent_store_set_identity */
	char owner[AGENT_INSTANCE_ID_MAX + 1 + 40];  /* "<instance_id>/<boot_id>": who holds a claim */
};

/*
 * Open (creating if needed) a SQLite store at path: parent directories are
 * created (0700), a new file is created 0600, WAL mode, a 5 s busy timeout,
 * and the schema is migrated to AGENT_STORE_SCHEMA_VERSION. path ":memory:"
 * gives a private in-memory database. A database from a newer teeliza
 * (higher schema version) is refused with TEELIZA_ERR_UNSUPPORTED.
 * Free with agent_store_close.
 */
teeliza_err agent_store_sqlite_open(agent_store **out, const char *path) TEELIZA_WARN_UNUSED;

/*
 * Open (migrating if needed) a PostgreSQL store: conninfo is a libpq
 * connection string, URL (postgresql://user:pass@host:port/db?sslmode=...)
 * or key=value form. A non-loopback host without an explicit sslmode is
 * refused (TEELIZA_ERR_CONFIG); a plaintext-capable sslmode to one is
 * logged loudly. Eliza's PostgreSQL tables are used as they are (an Eliza
 * 0.1.x database is adopted); teeliza's own are teeliza_*. Migrations run
 * once under an advisory lock, however many replicas start together; a
 * schema newer than this build is refused (TEELIZA_ERR_UNSUPPORTED) and
 * left unchanged. Ids are UUIDs (a non-UUID id is TEELIZA_ERR_INVALID), JSON
 * comes back as PostgreSQL's jsonb text (same value, its own spacing and key
 * order), and a time left at 0 is the database's clock. Settings:
 * TEELIZA_PG_POOL_SIZE (connections, default 8), TEELIZA_INSTANCE_ID (names
 * this replica: application_name teeliza-<id>, attestation rows).
 * Lost connections and the SQLSTATEs 40001 and 40P01 are retried; a lost
 * database is TEELIZA_ERR_CONNECT. See docs/POSTGRES.md.
 */
teeliza_err agent_store_pg_open(agent_store **out, const char *conninfo) TEELIZA_WARN_UNUSED;

/*
 * Open the store the environment asks for, as Eliza does: PostgreSQL at
 * POSTGRES_URL when set, else at DATABASE_URL when that is a postgres:// or
 * postgresql:// URL (POSTGRES_URL wins when both are set, with a warning
 * when they differ); else SQLite at SQLITE_FILE, else at
 * AGENT_STORE_DEFAULT_PATH (relative to the cwd).
 */
teeliza_err agent_store_open_default(agent_store **out) TEELIZA_WARN_UNUSED;

/* Close and free; NULL is ignored. */
void agent_store_close(agent_store *s);

/* "sqlite", "postgres" */
const char *agent_store_backend(const agent_store *s);

/* Highest applied schema version (AGENT_STORE_SCHEMA_VERSION after open). */
teeliza_err agent_store_schema_version(agent_store *s, int *out) TEELIZA_WARN_UNUSED;

/* Create the account when no account has this id (an existing one is left unchanged). */
teeliza_err agent_store_ensure_account(agent_store *s, const agent_account *a) TEELIZA_WARN_UNUSED;

/* Read an account; TEELIZA_ERR_NOT_FOUND when there is none. Clear *out with agent_account_clear. */
teeliza_err agent_store_get_account(agent_store *s, agent_account *out, const char *id) TEELIZA_WARN_UNUSED;

/* Create the room when missing. */
teeliza_err agent_store_ensure_room(agent_store *s, const char *room_id) TEELIZA_WARN_UNUSED;

/* Add user_id to room_id unless already a participant (one row per pair). */
teeliza_err agent_store_ensure_participant(agent_store *s, const char *user_id,
                                           const char *room_id) TEELIZA_WARN_UNUSED;

/*
 * Eliza's runtime.ensureConnection for one message: the agent's account
 * (name and username agent_name), the user's account (username user_name,
 * name user_screen_name, each defaulting to "User<user_id>"), the room, and
 * both as participants. Eliza files the source ("direct" for the REST API)
 * as the accounts' email; so does this (NULL: the account id).
 * One write transaction; a (agent, user, room) this store has already
 * connected costs no database work (the rows are never deleted).
 */
teeliza_err agent_store_ensure_connection(agent_store *s, const char *agent_id, const char *agent_name,
                                          const char *user_id, const char *room_id, const char *user_name,
                                          const char *user_screen_name, const char *source) TEELIZA_WARN_UNUSED;

/*
 * agent_store_ensure_connection, then agent_store_create_memory(m) (the
 * message just received), in one write transaction: a new user's first
 * message costs one commit, not two. Nothing is stored when either fails.
 */
teeliza_err agent_store_ensure_connection_and_memory(agent_store *s, const char *agent_id, const char *agent_name,
                                                     const char *user_id, const char *room_id,
                                                     const char *user_name, const char *user_screen_name,
                                                     const char *source, const agent_memory *m) TEELIZA_WARN_UNUSED;

/*
 * agent_store_ensure_connection_and_memory (m may be NULL: the connection
 * only), then agent_store_recall(q) into *out, which sees m: what a message
 * writes before its model call and what its prompt reads, in one round trip
 * on a server back-end. *out is empty when this fails; free it with
 * agent_recall_free.
 */
teeliza_err agent_store_ensure_connection_recall(agent_store *s, agent_recall *out, const char *agent_id,
                                                 const char *agent_name, const char *user_id, const char *room_id,
                                                 const char *user_name, const char *user_screen_name,
                                                 const char *source, const agent_memory *m,
                                                 const agent_memory_query *q) TEELIZA_WARN_UNUSED;

/*
 * agent_store_get_memories(q) and the accounts of the memories' authors
 * (agent_recall says in which order). Free with agent_recall_free.
 */
teeliza_err agent_store_recall(agent_store *s, agent_recall *out, const agent_memory_query *q) TEELIZA_WARN_UNUSED;

/* Free what a recall holds and empty it; NULL is ignored. */
void agent_recall_free(agent_recall *r);

/* The accounts taking part in a room, in the order they joined. Free with agent_account_list_free. */
teeliza_err agent_store_list_room_actors(agent_store *s, agent_account_list *out,
                                         const char *room_id) TEELIZA_WARN_UNUSED;

/* Insert a memory, replacing one with the same id (Eliza's INSERT OR REPLACE). */
teeliza_err agent_store_create_memory(agent_store *s, const agent_memory *m) TEELIZA_WARN_UNUSED;

/* One memory by id (with its embedding); TEELIZA_ERR_NOT_FOUND when missing. */
teeliza_err agent_store_get_memory(agent_store *s, agent_memory *out, const char *id) TEELIZA_WARN_UNUSED;

/*
 * The most recent q->count memories of a room (ties broken by insertion
 * order), returned oldest first unless q->newest_first.
 * Free with agent_memory_list_free.
 */
teeliza_err agent_store_get_memories(agent_store *s, agent_memory_list *out,
                                     const agent_memory_query *q) TEELIZA_WARN_UNUSED;

/* Number of memories of a type ("messages" when NULL) in a room. */
teeliza_err agent_store_count_memories(agent_store *s, size_t *out, const char *type, const char *room_id,
                                       bool unique_only) TEELIZA_WARN_UNUSED;

/* Delete every memory of a type ("messages" when NULL) in a room; *deleted (may be NULL) gets the count. */
teeliza_err agent_store_delete_room_memories(agent_store *s, size_t *deleted, const char *type,
                                             const char *room_id) TEELIZA_WARN_UNUSED;

/*
 * Cached JSON text for (key, agent_id), malloc'd into *out (caller frees).
 * TEELIZA_ERR_NOT_FOUND when missing or past its expiry.
 */
teeliza_err agent_store_cache_get(agent_store *s, char **out, const char *key,
                                  const char *agent_id) TEELIZA_WARN_UNUSED;

/*
 * Set (or replace) a cache entry. value_json must be valid JSON
 * (TEELIZA_ERR_INVALID otherwise); expires_at is ms since the epoch, 0 = never.
 */
teeliza_err agent_store_cache_set(agent_store *s, const char *key, const char *agent_id,
                                  const char *value_json, int64_t expires_at) TEELIZA_WARN_UNUSED;

/* Remove a cache entry (no error when there is none). */
teeliza_err agent_store_cache_delete(agent_store *s, const char *key, const char *agent_id) TEELIZA_WARN_UNUSED;

/* Append to Eliza's logs table (body is JSON text). */
teeliza_err agent_store_log(agent_store *s, const char *user_id, const char *room_id, const char *type,
                            const char *body_json) TEELIZA_WARN_UNUSED;

/* Store a quote under a new id; TEELIZA_ERR_INVALID if the id is taken (quotes are never replaced). */
teeliza_err agent_store_put_attestation(agent_store *s, const agent_attestation *a) TEELIZA_WARN_UNUSED;

/* Fetch a stored quote; TEELIZA_ERR_NOT_FOUND when missing. Clear *out with agent_attestation_clear. */
teeliza_err agent_store_get_attestation(agent_store *s, agent_attestation *out,
                                        const char *id) TEELIZA_WARN_UNUSED;

/*
 * Append a receipt to its agent's chain; a chain never forks and receipts
 * are never replaced. TEELIZA_ERR_CONFLICT when the (agent, seq) is taken:
 * another writer (a replica on the same database) stored that link first,
 * so the writer reads the chain's head again (agent_store_last_receipt),
 * builds the receipt anew on it and retries. TEELIZA_ERR_INVALID when the
 * receipt's id is taken, or for any other constraint.
 */
teeliza_err agent_store_put_receipt(agent_store *s, const agent_receipt *r) TEELIZA_WARN_UNUSED;

/*
 * A reply's memories (n >= 1, stored as agent_store_create_memory does, in
 * order) and the receipt that covers them (r->memory_id: memories[0].id,
 * the reply itself), in one write transaction: one commit per reply, not
 * two. Nothing is stored when any part fails ((agent, seq) taken:
 * TEELIZA_ERR_CONFLICT, receipt id taken: TEELIZA_ERR_INVALID, as
 * agent_store_put_receipt; after a conflict the whole call may be retried
 * with a rebuilt receipt and the same memories). A back-end
 * without the operation stores them one after the other (see
 * agent_store_ops). Every memory must have an id.
 */
teeliza_err agent_store_put_receipt_with_memories(agent_store *s, const agent_receipt *r, const agent_memory *memories,
                                                  size_t n) TEELIZA_WARN_UNUSED;

/*
 * Append the next receipt of agent_id's chain, built by build(ctx) on the
 * head read under a lock that every writer of the chain takes (replicas on
 * one database too), with the reply's n memories (n may be 0), in one write
 * transaction. The link cannot be taken meanwhile, so unlike
 * agent_store_put_receipt_with_memories this never fails with
 * TEELIZA_ERR_CONFLICT: after a conflict, a writer that retried on a new
 * head could lose again and again to a busier replica; this one waits its
 * turn instead. It reads the head inside the transaction, so it is slower:
 * the path after a conflict, not every reply's. TEELIZA_ERR_UNSUPPORTED
 * when the back-end has no such lock (then retry on the new head).
 */
teeliza_err agent_store_append_receipt(agent_store *s, const char *agent_id, agent_receipt_build build, void *ctx,
                                       const agent_memory *memories, size_t n) TEELIZA_WARN_UNUSED;

/* One receipt of an agent by id; TEELIZA_ERR_NOT_FOUND when missing. Clear with agent_receipt_clear. */
teeliza_err agent_store_get_receipt(agent_store *s, agent_receipt *out, const char *agent_id,
                                    const char *id) TEELIZA_WARN_UNUSED;

/* The agent's receipt with the highest seq; TEELIZA_ERR_NOT_FOUND when it has none. */
teeliza_err agent_store_last_receipt(agent_store *s, agent_receipt *out, const char *agent_id) TEELIZA_WARN_UNUSED;

/*
 * Who this replica is: instance_id (TEELIZA_INSTANCE_ID; NULL or "": the
 * host name) and a fresh random boot id, so that a restarted replica with
 * the same instance id never counts as the owner of its previous life's
 * claims. Attestations are stored with both; claims name both as owner.
 * Call before the store is shared. TEELIZA_ERR_INVALID: an instance id
 * longer than AGENT_INSTANCE_ID_MAX or with characters outside
 * [A-Za-z0-9._:-].
 */
teeliza_err agent_store_set_identity(agent_store *s, const char *instance_id) TEELIZA_WARN_UNUSED;

/*
 * Is the database reachable? TEELIZA_OK, or TEELIZA_ERR_CONNECT with why
 * (SQLite: the file this store opened is no longer at its path or cannot be
 * read; PostgreSQL: no connection). Cheap: /readyz and the API's gate call
 * it at most once a second.
 */
teeliza_err agent_store_ping(agent_store *s) TEELIZA_WARN_UNUSED;

/*
 * Claim request c for this replica (one short write transaction; never
 * held across the model call). Out: *out (clear with
 * agent_request_result_clear): CLAIMED when no one had it, or when the
 * holder's lease ran out, or it is this replica's own and c->own_stale
 * (taken over, attempts + 1); DONE with the stored
 * response; BUSY while another owner's lease runs; CONFLICT when the key
 * was used with another body_hash. A back-end with a database clock
 * (PostgreSQL) measures leases on it; SQLite uses the replicas' clocks.
 */
teeliza_err agent_store_request_claim(agent_store *s, agent_request_result *out,
                                      const agent_request_claim *c) TEELIZA_WARN_UNUSED;

/*
 * Mark a request this replica claimed as done, storing response_json (the
 * reply to return to every retry). TEELIZA_ERR_NOT_FOUND when this replica
 * no longer holds the claim (its lease ran out and another took it over:
 * that one's response is the one kept).
 */
teeliza_err agent_store_request_complete(agent_store *s, const char *agent_id, const char *request_key,
                                         const char *response_json) TEELIZA_WARN_UNUSED;

/* Give up a claim this replica holds (the work failed): the next request with the key starts afresh. */
teeliza_err agent_store_request_release(agent_store *s, const char *agent_id,
                                        const char *request_key) TEELIZA_WARN_UNUSED;

/*
 * Every replica boot that stored an attestation for agent_id, oldest first:
 * what a verifier walks to check each instance that served the agent.
 * Free with agent_instance_list_free.
 */
teeliza_err agent_store_list_instances(agent_store *s, agent_instance_list *out,
                                       const char *agent_id) TEELIZA_WARN_UNUSED;

/*
 * The agent's character as last set over the API (POST /agents/:id/set) on
 * any replica: put stores json (a JSON object) as the next version (1, 2,
 * …; *version gets it); get reads it (TEELIZA_ERR_NOT_FOUND when never
 * set); version reads only its number (0 when never set), cheap enough to
 * ask once a second per agent. PostgreSQL may also NOTIFY on put.
 */
teeliza_err agent_store_character_put(agent_store *s, uint64_t *version, const char *agent_id,
                                      const char *json) TEELIZA_WARN_UNUSED;
teeliza_err agent_store_character_get(agent_store *s, char **json, uint64_t *version,
                                      const char *agent_id) TEELIZA_WARN_UNUSED;
teeliza_err agent_store_character_version(agent_store *s, uint64_t *version,
                                          const char *agent_id) TEELIZA_WARN_UNUSED;

/* Release what a store call put into a result struct, and zero it. NULL-safe. */
void agent_request_result_clear(agent_request_result *r);
void agent_instance_list_free(agent_instance_list *l);
void agent_account_clear(agent_account *a);
void agent_memory_clear(agent_memory *m);
void agent_attestation_clear(agent_attestation *a);
void agent_receipt_clear(agent_receipt *r);
void agent_account_list_free(agent_account_list *l);
void agent_memory_list_free(agent_memory_list *l);

/* Milliseconds since the Unix epoch (Date.now()). */
int64_t agent_store_now_ms(void);

/*
 * The error of the latest store call on this thread that failed since
 * agent_store_failure_reset (TEELIZA_OK: none did). A caller that gets one
 * error from a layer over the store (the runtime: the store's and the
 * model's) learns from it whether the store failed: TEELIZA_ERR_TIMEOUT
 * (every pooled connection stayed busy, a lock or statement timeout) or
 * TEELIZA_ERR_CONNECT (unreachable) is the database's, worth a 503 and a
 * retry, without asking the busy database again.
 */
void agent_store_failure_reset(void);
teeliza_err agent_store_failure(void);

#ifdef __cplusplus
}
#endif
#endif
