/*
 * What the PostgreSQL back-end's files share (src/lib/agent/store/store_pg*.c):
 * the store struct, its bounded pool of connections, its statements, and the
 * helpers that run them with retries. Not public; callers use
 * teeliza/agent/store.h.
 *
 * Threads: libpq allows one thread per PGconn at a time, so each operation
 * borrows a whole connection from the pool (pg_run) and gives it back; the
 * pool never opens more than its size and a caller waits (bounded) for one.
 *
 * Retries: an operation is a function run in one transaction on a borrowed
 * connection. When it fails with a retryable SQLSTATE (40001 serialization,
 * 40P01 deadlock, class 08 connection loss, 57P01-57P03 server going away)
 * the transaction is rolled back (or the connection reset) and the whole
 * function runs again, a bounded number of times; every other error is
 * returned at once, and so is a failure to reconnect (TEELIZA_ERR_CONNECT:
 * the database is down, the caller answers 503). Every write of this back-end is idempotent (upserts,
 * ON CONFLICT, ids fixed before the first attempt), so running one again
 * after a lost COMMIT does no harm.
 */
#ifndef TEELIZA_AGENT_STORE_PG_INTERNAL_H
#define TEELIZA_AGENT_STORE_PG_INTERNAL_H

#include "teeliza/agent/store.h"
#include "teeliza/agent/uuid.h"

#include <libpq-fe.h>
#include <pthread.h>

enum pg_stmt {
	PG_SCHEMA_VERSION,
	PG_ENSURE_ACCOUNT,
	PG_GET_ACCOUNT,
	PG_ENSURE_ROOM,
	PG_ENSURE_PARTICIPANT,
	PG_ROOM_ACTORS,
	PG_PUT_MEMORY,
	PG_GET_MEMORY,
	PG_GET_MEMORIES,
	PG_COUNT_MEMORIES,
	PG_DELETE_ROOM_MEMORIES,
	PG_CACHE_GET,
	PG_CACHE_SET,
	PG_CACHE_DELETE,
	PG_LOG,
	PG_PUT_ATTESTATION,
	PG_GET_ATTESTATION,
	PG_PUT_RECEIPT,
	PG_GET_RECEIPT,
	PG_LAST_RECEIPT,
	PG_PING,
	PG_REQUEST_NEW,
	PG_REQUEST_TAKE,
	PG_REQUEST_GET,
	PG_REQUEST_DONE,
	PG_REQUEST_RELEASE,
	PG_LIST_INSTANCES,
	PG_CHARACTER_PUT,
	PG_CHARACTER_GET,
	PG_CHARACTER_VERSION,
	PG_RECALL,
	PG_CHAIN_LOCK,
	PG__COUNT
};

/* The SQL of each statement (store_pg_stmt.c); prepared once per connection as "teeliza_<index>". */
extern const char *const pg_stmt_sql[PG__COUNT];

/* Highest migration of the PostgreSQL schema this build knows (store_pg_schema.c). */
#define PG_SCHEMA_LATEST 3

/* Default and limits of the pool size setting TEELIZA_PG_POOL_SIZE. */
#define PG_POOL_DEFAULT 8
#define PG_POOL_MAX 256
/* How long an operation waits for a free connection before TEELIZA_ERR_TIMEOUT. */
#define PG_POOL_WAIT_MS 10000
/* Attempts of one operation (the first plus retries of retryable failures). */
#define PG_ATTEMPTS 4

/* Reads a queued statement's rows when its pipeline's results come back (pg_queue_read). */
typedef teeliza_err (*pg_reader)(void *ctx, const PGresult *r);
/* Says what a queued statement's failure means (c holds its SQLSTATE and constraint); returns the error to give. */
typedef teeliza_err (*pg_failure)(void *ctx, const struct pg_conn *c, teeliza_err err);

/* The most commands one pipeline holds (a statement and its PREPARE are two). */
#define PG_PIPELINE_MAX 32

/* One command sent in a pipeline, waiting for its result. */
struct pg_queued {
	int prepares;            /* >= 0: the PREPARE of that statement; -1: an execution */
	const char *what;        /* names it in errors */
	pg_reader read;          /* NULL: only success matters */
	pg_failure failed;       /* NULL: the failure as pg_fail_result mapped it */
	void *read_ctx;          /* for both */
};

struct pg_conn {
	PGconn *c;               /* NULL: not opened yet (or closed after a failure) */
	uint32_t prepared;       /* bit i: statement i prepared on this connection */
	bool busy;               /* lent out by pg_run */
	bool named;              /* application_name names the replica (opened or SET after its identity) */
	bool broken;             /* a pipeline's results came back out of step: drop the connection */
	char sqlstate[6];        /* of the last failed statement, "" when none or unknown */
	/* pg_run_pipelined: statements are sent at once and their results read after one sync */
	bool pipelined;
	size_t n_queued;
	struct pg_queued queued[PG_PIPELINE_MAX];
	char constraint[64];     /* the constraint it violated (PG_DIAG_CONSTRAINT_NAME), "" when none */
};

#define PG_KNOWN_SLOTS 1024

struct pg_known_slot {
	char *key;               /* agent_id NUL user_id NUL room_id NUL, or NULL: empty */
	size_t len;
};

struct pg_store {
	agent_store base;        /* first: agent_store * and pg_store * are interchangeable */
	char *conninfo;          /* the URL as given; holds the password, never logged */
	bool vector_embeddings;  /* memories.embedding is pgvector's vector(N) (an Eliza database) */
	pthread_mutex_t lock;    /* guards conns[].busy and the known table */
	pthread_cond_t freed;
	size_t size;
	struct pg_conn *conns;
	struct pg_known_slot known[PG_KNOWN_SLOTS];
};

static inline struct pg_store *P(agent_store *s)
{
	return (struct pg_store *)s;
}

/* ---- store_pg_pool.c: connections, statements, retries (store_pg_errors.c: what failures mean) ---- */

/* One try of an operation on a borrowed connection, inside BEGIN ... COMMIT. */
typedef teeliza_err (*pg_op)(struct pg_store *s, struct pg_conn *c, void *ctx);

/*
 * Borrow a connection, run op in one transaction, retry it on retryable
 * SQLSTATEs (see the top of this file), give the connection back. `what`
 * names the operation in errors. op must leave ctx ready for another try
 * when it fails (free what it built).
 */
teeliza_err pg_run(struct pg_store *s, pg_op op, void *ctx, const char *what);

/*
 * pg_run for an op of one statement: no BEGIN/COMMIT around it (a statement
 * is its own transaction), two round trips fewer. Same retries.
 */
teeliza_err pg_run1(struct pg_store *s, pg_op op, void *ctx, const char *what);

/*
 * pg_run for an op whose statements need no earlier statement's result:
 * they are sent as one pipeline (store_pg_pipeline.c) and run as one
 * implicit transaction ended by a single sync, all or none, in one round
 * trip instead of one per statement plus BEGIN and COMMIT. Inside op,
 * pg_exec only queues (it returns NULL with *err TEELIZA_OK); a statement
 * whose rows are needed is queued with pg_queue_read. The first failure is
 * the operation's error, with the SQLSTATE on c as pg_exec leaves it. Same
 * retries as pg_run.
 */
teeliza_err pg_run_pipelined(struct pg_store *s, pg_op op, void *ctx, const char *what);

/* Queue statement id in the pipeline being built (pg_run_pipelined); read(read_ctx, rows) gets its result. */
teeliza_err pg_queue_read(struct pg_conn *c, enum pg_stmt id, int n, const char *const *vals, pg_reader read,
                          void *read_ctx, const char *what);

/*
 * pg_queue_read with binary parameters (pg_exec's arguments) and a failure
 * hook (failed, may be NULL, called with read_ctx when this statement is the
 * one that failed); what pg_exec does in a pipeline, with neither.
 */
teeliza_err pg_queue(struct pg_conn *c, enum pg_stmt id, int n, const char *const *vals, const int *lens,
                     const int *binary, pg_reader read, pg_failure failed, void *read_ctx, const char *what);

/* store_pg_pipeline.c's halves of pg_run_pipelined, on a connection pg_run borrowed. */
teeliza_err pg_pipeline_start(struct pg_conn *c, const char *what);
teeliza_err pg_pipeline_finish(struct pg_conn *c, teeliza_err queued, const char *what);

/*
 * Run prepared statement id with n text parameters (NULL entries are SQL
 * NULL); binary[i] marks parameter i as binary of lens[i] bytes (binary and
 * lens may be NULL). Returns the result (rows or command status), or NULL
 * with the error set (mapped from the SQLSTATE, which c->sqlstate keeps).
 * In a pipeline (pg_run_pipelined), queues the statement instead: NULL,
 * *err TEELIZA_OK unless it could not be sent.
 */
PGresult *pg_exec(struct pg_conn *c, teeliza_err *err, enum pg_stmt id, int n, const char *const *vals,
                  const int *lens, const int *binary, const char *what);

/* Record a failed result (NULL: the connection failed) on c: SQLSTATE, constraint, message; returns the error set. */
teeliza_err pg_fail_result(struct pg_conn *c, const PGresult *r, const char *what);

/* Run SQL text with no parameters (several statements allowed); same error handling. */
teeliza_err pg_exec_sql(struct pg_conn *c, const char *sql, const char *what);

/* The first line of libpq's message msg (it may end in newlines and carry a DETAIL line) into out. */
void pg_first_line(char *out, size_t cap, const char *msg);

/* The teeliza_err for a SQLSTATE (NULL or "": a lost connection). */
teeliza_err pg_map_sqlstate(const char *sqlstate);

/* Whether a failure with this SQLSTATE may be retried (NULL or "": a lost connection, yes). */
bool pg_sqlstate_retryable(const char *sqlstate);

/* Open one connection with the store's settings (application_name, timeouts, keepalives). */
teeliza_err pg_connect(struct pg_store *s, PGconn **out);

/* TEELIZA_ERR_NOMEM "out of memory reading the agent database". */
teeliza_err pg_nomem(void);
/* Room for one more of count items of size bytes (doubling, new room zeroed). */
teeliza_err pg_grow(void **items, size_t *cap, size_t count, size_t size);

/* ---- store_pg_settings.c: which server, and whether plaintext is acceptable ---- */

/*
 * Check a connection string (URL or key=value) before connecting: it must
 * parse, and a non-loopback host without an explicit sslmode is refused
 * (libpq's default "prefer" would silently fall back to plaintext). An
 * explicit plaintext-capable sslmode to a remote host is accepted with a
 * loud warning on log. *described gets "host:port/dbname" (no password).
 */
teeliza_err pg_check_conninfo(char *described, size_t cap, const char *conninfo, FILE *log);

/* ---- store_pg_migrate.c: the schema ---- */

/*
 * On a dedicated connection, under pg_advisory_lock(32273, 1): refuse a
 * database whose schema is newer than this build (changing nothing), check
 * the embedding column, apply each missing migration in its own
 * transaction, unlock.
 */
teeliza_err pg_migrate(struct pg_store *s, PGconn *conn);

/* ---- store_pg_rows.c: rows into result structs ---- */

teeliza_err pg_read_account(agent_account *out, const PGresult *r, int row);
/* The account in the six columns from first on (a row that joins an account to something else). */
teeliza_err pg_read_account_at(agent_account *out, const PGresult *r, int row, int first);
/* The columns of PG_MEMORY_COLUMNS; the embedding when the column is not NULL. */
teeliza_err pg_read_memory(agent_memory *out, const PGresult *r, int row);
teeliza_err pg_read_attestation(agent_attestation *out, const PGresult *r, int row);
teeliza_err pg_read_receipt(agent_receipt *out, const PGresult *r, int row);
/* An embedding as array text: "{a,b}" (REAL[]) or "[a,b]" (vector); v NULL: n zeros. Caller frees. */
char *pg_format_embedding(const float *v, size_t n, bool vector);
/* Parse "{a,b,...}" or "[a,b,...]" into a malloc'd array; strict. */
teeliza_err pg_parse_embedding(float **out, size_t *n, const char *text);
/* Decimal text of a signed 64-bit number into buf[24]. */
const char *pg_i64(char buf[24], int64_t v);

/* ---- the operations (agent_store_ops), one file per kind of row ---- */

teeliza_err pg_ensure_account(agent_store *base, const agent_account *a);
teeliza_err pg_get_account(agent_store *base, agent_account *out, const char *id);
teeliza_err pg_ensure_room(agent_store *base, const char *room_id);
teeliza_err pg_ensure_participant(agent_store *base, const char *user_id, const char *room_id);
teeliza_err pg_list_room_actors(agent_store *base, agent_account_list *out, const char *room_id);
teeliza_err pg_ensure_connection(agent_store *base, const agent_account *agent, const agent_account *user,
                                 const char *room_id, const agent_memory *m);
teeliza_err pg_create_memory(agent_store *base, const agent_memory *m);
teeliza_err pg_get_memory(agent_store *base, agent_memory *out, const char *id);
teeliza_err pg_get_memories(agent_store *base, agent_memory_list *out, const agent_memory_query *q);
teeliza_err pg_count_memories(agent_store *base, size_t *out, const char *type, const char *room_id,
                              bool unique_only);
teeliza_err pg_delete_room_memories(agent_store *base, size_t *deleted, const char *type, const char *room_id);
teeliza_err pg_cache_get(agent_store *base, char **out, const char *key, const char *agent_id);
teeliza_err pg_cache_set(agent_store *base, const char *key, const char *agent_id, const char *value_json,
                         int64_t expires_at);
teeliza_err pg_cache_delete(agent_store *base, const char *key, const char *agent_id);
teeliza_err pg_log(agent_store *base, const char *user_id, const char *room_id, const char *type,
                   const char *body_json);
teeliza_err pg_put_attestation(agent_store *base, const agent_attestation *a);
teeliza_err pg_get_attestation(agent_store *base, agent_attestation *out, const char *id);
teeliza_err pg_put_receipt(agent_store *base, const agent_receipt *r);
teeliza_err pg_get_receipt(agent_store *base, agent_receipt *out, const char *agent_id, const char *id);
teeliza_err pg_last_receipt(agent_store *base, agent_receipt *out, const char *agent_id);
teeliza_err pg_put_receipt_with_memories(agent_store *base, const agent_receipt *r, const agent_memory *memories,
                                         size_t n);
teeliza_err pg_append_receipt(agent_store *base, const char *agent_id, agent_receipt_build build, void *ctx,
                              const agent_memory *memories, size_t n);
/* store_pg_recall.c */
teeliza_err pg_recall(agent_store *base, agent_recall *out, const agent_memory_query *q);
teeliza_err pg_ensure_connection_recall(agent_store *base, agent_recall *out, const agent_account *agent,
                                        const agent_account *user, const char *room_id, const agent_memory *m,
                                        const agent_memory_query *q);
/* Queue the recall read in the pipeline being built; its reader fills *out. args lives until the run ends. */
struct pg_recall_args {
	const agent_memory_query *q;
	agent_recall *out;
	char start[24], end[24], count[24];
	const char *vals[7];
};
void pg_recall_args_init(struct pg_recall_args *a, agent_recall *out, const agent_memory_query *q);
teeliza_err pg_queue_recall(struct pg_conn *c, struct pg_recall_args *a);
/*
 * Whether c's last failure (pg_fail_result) was a receipt whose (agentId,
 * seq) another writer stored first: SQLSTATE 23505 on that very unique
 * constraint, not on another (a duplicate memory or receipt id is not a
 * taken link). put_receipt then answers TEELIZA_ERR_CONFLICT.
 */
bool pg_receipt_seq_taken(const struct pg_conn *c);
/* store_pg_replicas.c */
teeliza_err pg_ping(agent_store *base);
teeliza_err pg_request_claim(agent_store *base, agent_request_result *out, const agent_request_claim *c);
teeliza_err pg_request_complete(agent_store *base, const char *agent_id, const char *request_key,
                                const char *response_json);
teeliza_err pg_request_release(agent_store *base, const char *agent_id, const char *request_key);
teeliza_err pg_list_instances(agent_store *base, agent_instance_list *out, const char *agent_id);
teeliza_err pg_character_put(agent_store *base, uint64_t *version, const char *agent_id, const char *json);
teeliza_err pg_character_get(agent_store *base, char **json, uint64_t *version, const char *agent_id);
teeliza_err pg_character_version(agent_store *base, uint64_t *version, const char *agent_id);

/* The memory written by create_memory and ensure_connection, with its inputs fixed before the first try. */
struct pg_memory_args {
	const agent_memory *m;
	const char *id;              /* m->id, or fresh below */
	char fresh[AGENT_UUID_BUFSZ];
	char *embedding;             /* array text */
	char created[24];            /* ms, or unused when m->created_at is 0 (database clock) */
};
teeliza_err pg_memory_args_init(struct pg_memory_args *a, const struct pg_store *s, const agent_memory *m);
void pg_memory_args_free(struct pg_memory_args *a);
/* The upsert, on a borrowed connection in the caller's transaction. */
teeliza_err pg_put_memory(struct pg_conn *c, const struct pg_memory_args *a);
teeliza_err pg_put_account(struct pg_conn *c, const agent_account *a);
teeliza_err pg_put_room(struct pg_conn *c, const char *room_id);
teeliza_err pg_put_participant(struct pg_conn *c, const char *user_id, const char *room_id);

#endif
