/* The SQLite back-end's attestation quotes (teeliza's own table). */
#include "agent/store/store_sqlite_internal.h"

#include <string.h>

teeliza_err sq_put_attestation(agent_store *base, const agent_attestation *a)
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
	/* which replica and boot handed it out (a verifier lists them: agent_store_list_instances) */
	bind_text(st, 7, s->base.instance_id[0] != '\0' ? s->base.instance_id : NULL);
	bind_text(st, 8, s->base.boot_id[0] != '\0' ? s->base.boot_id : NULL);
	err = sq_exec(s, st, "storing an attestation");
	if (err == TEELIZA_ERR_INVALID)
		teeliza_set_error(err, "attestation %s already exists", a->id);
	pthread_mutex_unlock(&s->lock);
	return err;
}

static teeliza_err attestation_row(void *out, sqlite3_stmt *st)
{
	return sq_read_attestation(out, st);
}

teeliza_err sq_get_attestation(agent_store *base, agent_attestation *out, const char *id)
{
	memset(out, 0, sizeof(*out));
	return sq_get_by_id(S(base), ST_GET_ATTESTATION, id, attestation_row, out, "attestation",
	                 "reading an attestation");
}
