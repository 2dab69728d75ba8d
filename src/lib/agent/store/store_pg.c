/*
 * PostgreSQL back-end of agent_store, for several replicas sharing one
 * database (docs/POSTGRES.md): checking the connection string (TLS policy,
 * store_pg_settings.c), the schema migrated once under an advisory lock
 * (store_pg_migrate.c), a bounded pool of connections with prepared
 * statements and retries (store_pg_pool.c), and the table of operations,
 * which live in store_pg_<kind of row>.c. Eliza's table and column names are
 * kept, so an Eliza 0.1.x PostgreSQL database keeps its conversations.
 */
#include "agent/store/store_pg_internal.h"

#include "teeliza/common/log.h"

#include <assert.h>
#include <stdlib.h>
#include <string.h>

static void pg_close(agent_store *base)
{
	struct pg_store *s = P(base);

	for (size_t i = 0; s->conns != NULL && i < s->size; i++)
		PQfinish(s->conns[i].c);
	for (size_t i = 0; i < PG_KNOWN_SLOTS; i++)
		free(s->known[i].key);
	free(s->conns);
	if (s->conninfo != NULL) {
		teeliza_wipe(s->conninfo, strlen(s->conninfo)); /* it may hold the password */
		free(s->conninfo);
	}
	pthread_cond_destroy(&s->freed);
	pthread_mutex_destroy(&s->lock);
	free(s);
}

static teeliza_err version_op(struct pg_store *s, struct pg_conn *c, void *ctx)
{
	uint64_t v = 0;
	teeliza_err err;
	PGresult *r = pg_exec(c, &err, PG_SCHEMA_VERSION, 0, NULL, NULL, NULL, "reading the schema version");

	(void)s;
	if (r == NULL)
		return err;
	if (PQntuples(r) != 1 || teeliza_parse_u64(&v, PQgetvalue(r, 0, 0), 0, 1000000) != TEELIZA_OK)
		err = teeliza_set_error(TEELIZA_ERR_PARSE, "teeliza_schema_migrations holds no version");
	*(int *)ctx = (int)v;
	PQclear(r);
	return err;
}

static teeliza_err pg_schema_version(agent_store *base, int *out)
{
	*out = 0;
	return pg_run1(P(base), version_op, out, "reading the schema version");
}

static const agent_store_ops pg_ops = {
	.name = "postgres",
	.close = pg_close,
	.schema_version = pg_schema_version,
	.ensure_account = pg_ensure_account,
	.get_account = pg_get_account,
	.ensure_room = pg_ensure_room,
	.ensure_participant = pg_ensure_participant,
	.ensure_connection = pg_ensure_connection,
	.list_room_actors = pg_list_room_actors,
	.create_memory = pg_create_memory,
	.get_memory = pg_get_memory,
	.get_memories = pg_get_memories,
	.count_memories = pg_count_memories,
	.delete_room_memories = pg_delete_room_memories,
	.cache_get = pg_cache_get,
	.cache_set = pg_cache_set,
	.cache_delete = pg_cache_delete,
	.log = pg_log,
	.put_attestation = pg_put_attestation,
	.get_attestation = pg_get_attestation,
	.put_receipt = pg_put_receipt,
	.get_receipt = pg_get_receipt,
	.last_receipt = pg_last_receipt,
	.put_receipt_with_memories = pg_put_receipt_with_memories,
	.append_receipt = pg_append_receipt,
	.recall = pg_recall,
	.ensure_connection_recall = pg_ensure_connection_recall,
	.ping = pg_ping,
	.request_claim = pg_request_claim,
	.request_complete = pg_request_complete,
	.request_release = pg_request_release,
	.list_instances = pg_list_instances,
	.character_put = pg_character_put,
	.character_get = pg_character_get,
	.character_version = pg_character_version,
};

static teeliza_err pool_size(size_t *out)
{
	const char *v = getenv("TEELIZA_PG_POOL_SIZE");
	uint64_t n;

	*out = PG_POOL_DEFAULT;
	if (v == NULL || v[0] == '\0')
		return TEELIZA_OK;
	if (teeliza_parse_u64(&n, v, 1, PG_POOL_MAX) != TEELIZA_OK)
		return teeliza_set_error(TEELIZA_ERR_CONFIG, "TEELIZA_PG_POOL_SIZE must be a number from 1 to %d",
		                         PG_POOL_MAX);
	*out = (size_t)n;
	return TEELIZA_OK;
}

teeliza_err agent_store_pg_open(agent_store **out, const char *conninfo)
{
	struct pg_store *s;
	char where[512];
	PGconn *first = NULL;
	teeliza_err err;

	assert(out != NULL && conninfo != NULL);
	*out = NULL;
	err = pg_check_conninfo(where, sizeof(where), conninfo, stderr);
	if (err)
		return err;
	s = calloc(1, sizeof(*s));
	if (s == NULL)
		return pg_nomem();
	s->base.ops = &pg_ops;
	if (pthread_mutex_init(&s->lock, NULL) != 0) {
		free(s);
		return teeliza_set_error(TEELIZA_ERR_INTERNAL, "pthread_mutex_init failed");
	}
	if (pthread_cond_init(&s->freed, NULL) != 0) {
		pthread_mutex_destroy(&s->lock);
		free(s);
		return teeliza_set_error(TEELIZA_ERR_INTERNAL, "pthread_cond_init failed");
	}
	err = pool_size(&s->size);
	if (err == TEELIZA_OK) {
		s->conninfo = strdup(conninfo);
		s->conns = calloc(s->size, sizeof(*s->conns));
		if (s->conninfo == NULL || s->conns == NULL)
			err = pg_nomem();
	}
	if (err == TEELIZA_OK)
		err = pg_connect(s, &first);
	if (err == TEELIZA_OK)
		err = pg_migrate(s, first);
	if (err) {
		PQfinish(first);
		pg_close(&s->base);
		return err;
	}
	/* the migration's connection becomes the pool's first */
	s->conns[0].c = first;
	teeliza_logf(stderr, "PostgreSQL: %s, schema version %d, %s embeddings, up to %zu connections", where,
	             PG_SCHEMA_LATEST, s->vector_embeddings ? "pgvector" : "real[]", s->size);
	*out = &s->base;
	return TEELIZA_OK;
}
