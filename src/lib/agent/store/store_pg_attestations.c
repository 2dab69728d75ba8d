/*
 * The PostgreSQL back-end's attestation quotes (teeliza_attestations): one
 * row per quote, tagged with the replica (instanceId) that took it, so a
 * verifier can list every instance that served an agent.
 */
#include "agent/store/store_pg_internal.h"

#include <string.h>

struct put_args {
	const agent_attestation *a;
	const char *instance_id, *boot_id; /* the store's identity, NULL when it has none */
	char created[24];
};

static teeliza_err put_op(struct pg_store *s, struct pg_conn *c, void *ctx)
{
	struct put_args *p = ctx;
	const agent_attestation *a = p->a;
	const char *rd = a->report_data_json != NULL ? a->report_data_json : "";
	const char *vals[8] = { a->id, a->agent_id, p->instance_id, rd, a->quote_len > 0 ? (const char *)a->quote : "",
	                        a->event_log, a->created_at != 0 ? p->created : NULL, p->boot_id };
	/* report data and quote go as bytes: bytea's text input would read backslashes as escapes */
	const int lens[8] = { 0, 0, 0, (int)strlen(rd), (int)a->quote_len, 0, 0, 0 };
	const int binary[8] = { 0, 0, 0, 1, 1, 0, 0, 0 };
	teeliza_err err;
	PGresult *r = pg_exec(c, &err, PG_PUT_ATTESTATION, 8, vals, lens, binary, "storing an attestation");

	(void)s;
	PQclear(r);
	if (err == TEELIZA_ERR_INVALID && strcmp(c->sqlstate, "23505") == 0)
		teeliza_set_error(err, "attestation %s already exists", a->id);
	return err;
}

teeliza_err pg_put_attestation(agent_store *base, const agent_attestation *a)
{
	struct pg_store *s = P(base);
	/* which replica and boot handed it out (a verifier lists them: agent_store_list_instances) */
	struct put_args p = { .a = a,
	                      .instance_id = s->base.instance_id[0] != '\0' ? s->base.instance_id : NULL,
	                      .boot_id = s->base.boot_id[0] != '\0' ? s->base.boot_id : NULL };

	if (a->quote_len > INT32_MAX || (a->report_data_json != NULL && strlen(a->report_data_json) > INT32_MAX))
		return teeliza_set_error(TEELIZA_ERR_TOO_LARGE, "quote of %zu bytes", a->quote_len);
	if (a->agent_id == NULL)
		return teeliza_set_error(TEELIZA_ERR_INVALID, "an attestation needs its agent id");
	pg_i64(p.created, a->created_at);
	return pg_run1(s, put_op, &p, "storing an attestation");
}

struct get_args {
	const char *id;
	agent_attestation *out;
};

static teeliza_err get_op(struct pg_store *s, struct pg_conn *c, void *ctx)
{
	struct get_args *g = ctx;
	const char *vals[1] = { g->id };
	teeliza_err err;
	PGresult *r = pg_exec(c, &err, PG_GET_ATTESTATION, 1, vals, NULL, NULL, "reading an attestation");

	(void)s;
	agent_attestation_clear(g->out); /* from a try whose COMMIT failed */
	if (r == NULL)
		return err;
	if (PQntuples(r) == 0)
		err = teeliza_set_error(TEELIZA_ERR_NOT_FOUND, "no attestation %s", g->id);
	else
		err = pg_read_attestation(g->out, r, 0);
	PQclear(r);
	return err;
}

teeliza_err pg_get_attestation(agent_store *base, agent_attestation *out, const char *id)
{
	struct get_args g = { id, out };
	teeliza_err err;

	memset(out, 0, sizeof(*out));
	err = pg_run1(P(base), get_op, &g, "reading an attestation");
	if (err)
		agent_attestation_clear(out);
	return err;
}
