/*
 * SQLite back-end of agent_store: opening a database (its file 0600, WAL,
 * the schema migrated, every statement prepared once) and the table of
 * operations, which live in store_sqlite_<kind of row>.c. One connection,
 * guarded by a mutex (store_sqlite_internal.h). WAL lets other processes
 * read while we write; the busy timeout covers writers from other
 * processes.
 */
#include "agent/store/store_sqlite_internal.h"

#include <assert.h>
#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#define BUSY_TIMEOUT_MS 5000

static void sq_close(agent_store *base)
{
	struct sqlite_store *s = S(base);

	for (int i = 0; i < ST__COUNT; i++)
		sqlite3_finalize(s->st[i]);
	for (size_t i = 0; i < KNOWN_SLOTS; i++)
		free(s->known[i].key);
	sqlite3_close(s->db);
	free(s->path);
	pthread_mutex_destroy(&s->lock);
	free(s);
}

static teeliza_err sq_schema_version(agent_store *base, int *out)
{
	struct sqlite_store *s = S(base);
	teeliza_err err;

	pthread_mutex_lock(&s->lock);
	err = sq_read_version(s, out);
	pthread_mutex_unlock(&s->lock);
	return err;
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
	.put_receipt = sq_put_receipt,
	.get_receipt = sq_get_receipt,
	.last_receipt = sq_last_receipt,
	.put_receipt_with_memories = sq_put_receipt_with_memories,
	.append_receipt = sq_append_receipt,
	.ping = sq_ping,
	.request_claim = sq_request_claim,
	.request_complete = sq_request_complete,
	.request_release = sq_request_release,
	.list_instances = sq_list_instances,
	.character_put = sq_character_put,
	.character_get = sq_character_get,
	.character_version = sq_character_version,
};

/* mkdir -p of path's parent directory; new directories are 0700. */
static teeliza_err make_parent_dirs(const char *path)
{
	char *dir = strdup(path);
	char *slash;
	teeliza_err err = TEELIZA_OK;

	if (dir == NULL)
		return sq_nomem();
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

static teeliza_err configure(sqlite3 *db, bool in_memory)
{
	sqlite3_stmt *st = NULL;
	teeliza_err err = TEELIZA_OK;
	int rc;

	sqlite3_extended_result_codes(db, 1);
	if (sqlite3_busy_timeout(db, BUSY_TIMEOUT_MS) != SQLITE_OK)
		return sq_fail(db, sqlite3_errcode(db), "setting the busy timeout");
	rc = sqlite3_prepare_v2(db, "PRAGMA journal_mode=WAL", -1, &st, NULL);
	if (rc == SQLITE_OK && (rc = sqlite3_step(st)) == SQLITE_ROW) {
		const char *mode = (const char *)sqlite3_column_text(st, 0);

		if (!in_memory && (mode == NULL || strcmp(mode, "wal") != 0))
			err = teeliza_set_error(TEELIZA_ERR_IO, "cannot switch the database to WAL mode (got %s)",
			                        mode != NULL ? mode : "nothing");
	} else {
		err = sq_fail(db, rc, "switching to WAL mode");
	}
	sqlite3_finalize(st);
	if (err == TEELIZA_OK)
		err = sq_exec_sql(db, "PRAGMA synchronous=NORMAL; PRAGMA foreign_keys=OFF;", "setting pragmas");
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
		return sq_nomem();
	s->base.ops = &sqlite_ops;
	if (pthread_mutex_init(&s->lock, NULL) != 0) {
		free(s);
		return teeliza_set_error(TEELIZA_ERR_INTERNAL, "pthread_mutex_init failed");
	}
	rc = sqlite3_open_v2(path, &s->db, SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE | SQLITE_OPEN_FULLMUTEX, NULL);
	if (rc != SQLITE_OK) {
		err = sq_fail(s->db, rc, path);
		goto fail;
	}
	if (!in_memory) {
		struct stat st;

		/* what sq_ping checks is still there */
		s->path = strdup(path);
		if (s->path == NULL) {
			err = sq_nomem();
			goto fail;
		}
		if (stat(path, &st) != 0) {
			err = teeliza_set_error(TEELIZA_ERR_IO, "%s: %s", path, strerror(errno));
			goto fail;
		}
		s->dev = st.st_dev;
		s->ino = st.st_ino;
	}
	err = configure(s->db, in_memory);
	if (err == TEELIZA_OK)
		err = sq_migrate(s);
	for (int i = 0; err == TEELIZA_OK && i < ST__COUNT; i++) {
		if (s->st[i] != NULL)
			continue;
		rc = sqlite3_prepare_v3(s->db, sq_stmt_sql[i], -1, SQLITE_PREPARE_PERSISTENT, &s->st[i], NULL);
		if (rc != SQLITE_OK)
			err = sq_fail(s->db, rc, "preparing a statement");
	}
	if (err)
		goto fail;
	*out = &s->base;
	return TEELIZA_OK;
fail:
	sq_close(&s->base); /* teeliza_errmsg() already holds SQLite's message */
	return err;
}
