/*
 * `teeliza verify-key`'s work: tee_dstack_verify_key on a GetKey result of
 * spec §1.9's table (tests/vectors/dstack-getkey-table.json) up to the
 * pinned KMS root — public key from the key, two ECDSA recoveries, two
 * Keccak-256 digests. Three claims: secp256k1 with the app id given,
 * ed25519 with the app id given, and secp256k1 with the app id taken from
 * a GetQuote event log (dstack's real fixture is not used: its app id is
 * another app's; the log here is parsed on every call, as the CLI does).
 * Every call must verify, so a fast wrong answer cannot pass.
 */
#include "bench_util.h"

#include "teeliza/tee/dstack_provenance.h"

#include <jansson.h>
#include <stdio.h>
#include <string.h>

#define MAX_THREADS 2

struct vector {
	char key[3][65], chain0[3][131], kms_signature[131], kms_root[67], app_id[41];
};

struct state {
	const struct vector *v;
	int row;
};

static bool copy(char *dst, size_t cap, json_t *obj, const char *name)
{
	const char *s = json_string_value(json_object_get(obj, name));

	if (s == NULL || strlen(s) >= cap)
		return false;
	memcpy(dst, s, strlen(s) + 1);
	return true;
}

static bool load_vector(struct vector *v)
{
	teeliza_buf text;
	json_t *root, *rows;
	bool ok;
	int i;

	memset(v, 0, sizeof(*v));
	if (!bench_read_vector(&text, "dstack-getkey-table.json"))
		return false;
	root = json_loadb((const char *)text.data, text.len, 0, NULL);
	teeliza_buf_free(&text);
	rows = json_object_get(root, "rows");
	ok = copy(v->kms_signature, sizeof(v->kms_signature), root, "kms_signature") &&
	     copy(v->kms_root, sizeof(v->kms_root), root, "kms_root") && copy(v->app_id, sizeof(v->app_id), root, "app_id");
	/* rows 0 (secp256k1) and 1 (ed25519) */
	for (i = 0; ok && i < 2; i++)
		ok = copy(v->key[i], sizeof(v->key[i]), json_array_get(rows, (size_t)i), "key") &&
		     copy(v->chain0[i], sizeof(v->chain0[i]), json_array_get(rows, (size_t)i), "chain0");
	json_decref(root);
	if (!ok)
		fprintf(stderr, "bench: dstack-getkey-table.json is not as expected\n");
	return ok;
}

/* A minimal event log whose app-id event (before system-ready) attests the vector's app id. */
static char event_log[512];

static bool verify_once(void *arg)
{
	struct state *s = arg;
	const char *chain[2] = {s->v->chain0[s->row == 1 ? 1 : 0], s->v->kms_signature};
	tee_dstack_key_claim c;
	tee_dstack_key_report r;

	memset(&c, 0, sizeof(c));
	c.algorithm = s->row == 1 ? "ed25519" : "secp256k1";
	c.purpose = "test-purpose";
	c.purpose_len = strlen(c.purpose);
	c.key_hex = s->v->key[s->row == 1 ? 1 : 0];
	c.chain_hex = chain;
	c.chain_len = 2;
	c.kms_root_hex = s->v->kms_root;
	if (s->row == 2) {
		c.event_log = event_log;
		c.event_log_len = strlen(event_log);
	} else {
		c.app_id_hex = s->v->app_id;
	}
	if (tee_dstack_verify_key(&r, &c) != TEELIZA_OK) {
		fprintf(stderr, "bench: verify-key failed: %s\n", r.message);
		return false;
	}
	return true;
}

static bool measure(const char *id, const struct vector *v, int row, unsigned threads, double seconds)
{
	struct state st[MAX_THREADS];
	void *states[MAX_THREADS];
	bench_result r;
	unsigned i;

	for (i = 0; i < threads; i++) {
		st[i].v = v;
		st[i].row = row;
		states[i] = &st[i];
	}
	if (!bench_run(&r, threads, seconds, verify_once, states))
		return false;
	bench_report(id, &r, "");
	return true;
}

int main(void)
{
	struct vector v;
	double secs = bench_seconds();
	bool ok;

	if (!load_vector(&v))
		return 1;
	snprintf(event_log, sizeof(event_log),
	         "[{\"imr\":3,\"event_type\":134217729,\"digest\":\"\",\"event\":\"app-id\",\"event_payload\":\"%s\"},"
	         "{\"imr\":3,\"event_type\":134217729,\"digest\":\"\",\"event\":\"system-ready\",\"event_payload\":\"\"}]",
	         v.app_id);
	ok = measure("verify_key.secp256k1", &v, 0, 1, secs) && measure("verify_key.secp256k1", &v, 0, 2, secs) &&
	     measure("verify_key.ed25519", &v, 1, 1, secs) && measure("verify_key.ed25519", &v, 1, 2, secs) &&
	     measure("verify_key.event_log", &v, 2, 1, secs) && measure("verify_key.event_log", &v, 2, 2, secs);
	return ok ? 0 : 1;
}
