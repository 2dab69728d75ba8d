/*
 * Rows of the PostgreSQL back-end read into the store's result structs:
 * every string of a row copied into one block the struct owns (as the
 * SQLite back-end does), embeddings parsed from array text, bytea from
 * libpq's escaped text. What comes back from the server is parsed strictly:
 * a value that is not what the column promises is an error, not a guess.
 */
#include "agent/store/store_pg_internal.h"
#include "agent/store/store_row_pack.h"

#include <errno.h>
#include <math.h>
#include <stdalign.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

const char *pg_i64(char buf[24], int64_t v)
{
	snprintf(buf, 24, "%lld", (long long)v);
	return buf;
}

char *pg_format_embedding(const float *v, size_t n, bool vector)
{
	/* "%.9g" round-trips every float; 16 bytes each is room for "-1.23456789e-38," */
	size_t cap, off = 0;
	char *out;

	if (n > (SIZE_MAX - 4) / 16)
		return NULL;
	cap = n * 16 + 4;
	out = malloc(cap);
	if (out == NULL)
		return NULL;
	out[off++] = vector ? '[' : '{';
	for (size_t i = 0; i < n; i++) {
		int w = snprintf(out + off, cap - off, "%s%.9g", i > 0 ? "," : "", v != NULL ? (double)v[i] : 0.0);

		if (w < 0 || (size_t)w >= cap - off) {
			free(out);
			return NULL;
		}
		off += (size_t)w;
	}
	out[off++] = vector ? ']' : '}';
	out[off] = '\0';
	return out;
}

teeliza_err pg_parse_embedding(float **out, size_t *n, const char *text)
{
	size_t len = strlen(text), count = 1;
	const char *p, *end;
	char close;
	float *v;

	*out = NULL;
	*n = 0;
	if (len < 2 || (text[0] != '{' && text[0] != '['))
		return teeliza_set_error(TEELIZA_ERR_PARSE, "an embedding is not an array");
	close = text[0] == '{' ? '}' : ']';
	if (text[len - 1] != close)
		return teeliza_set_error(TEELIZA_ERR_PARSE, "an embedding array is not closed");
	if (len == 2)
		return TEELIZA_OK;
	for (size_t i = 1; i + 1 < len; i++)
		count += text[i] == ',';
	v = malloc(count * sizeof(*v));
	if (v == NULL)
		return pg_nomem();
	p = text + 1;
	end = text + len - 1;
	for (size_t i = 0; i < count; i++) {
		char *stop;

		errno = 0;
		v[i] = strtof(p, &stop);
		/* underflow to a subnormal is fine; anything but the number and its separator is not */
		if (stop == p || stop > end || (i + 1 < count ? *stop != ',' : stop != end) ||
		    (errno == ERANGE && isinf(v[i]))) {
			free(v);
			return teeliza_set_error(TEELIZA_ERR_PARSE, "embedding element %zu is not a number", i);
		}
		p = stop + 1;
	}
	*out = v;
	*n = count;
	return TEELIZA_OK;
}

/* A column of a row: text (NUL-terminated) or binary. */
static store_col col_text(const PGresult *r, int row, int i)
{
	store_col c = { 0 };

	c.present = !PQgetisnull(r, row, i);
	if (c.present) {
		c.src = PQgetvalue(r, row, i);
		c.len = (size_t)PQgetlength(r, row, i);
	}
	return c;
}

static teeliza_err read_i64(int64_t *out, const PGresult *r, int row, int i, const char *what)
{
	const char *v = PQgetvalue(r, row, i);
	char *end;
	long long n;

	*out = 0;
	if (PQgetisnull(r, row, i))
		return TEELIZA_OK;
	errno = 0;
	n = strtoll(v, &end, 10);
	if (end == v || *end != '\0' || errno == ERANGE)
		return teeliza_set_error(TEELIZA_ERR_PARSE, "%s is not a 64-bit number", what);
	*out = n;
	return TEELIZA_OK;
}

teeliza_err pg_read_account(agent_account *out, const PGresult *r, int row)
{
	return pg_read_account_at(out, r, row, 0);
}

teeliza_err pg_read_account_at(agent_account *out, const PGresult *r, int row, int first)
{
	store_col cols[6];
	const char **dst[6] = { &out->id, &out->name, &out->username, &out->email, &out->avatar_url, &out->details };

	for (int i = 0; i < 6; i++)
		cols[i] = col_text(r, row, first + i);
	out->owned_ = store_pack_row(dst, cols, 6, NULL, NULL);
	if (out->owned_ == NULL) {
		memset(out, 0, sizeof(*out));
		return pg_nomem();
	}
	return TEELIZA_OK;
}

/* id, type, createdAt ms, content, embedding text, userId, roomId, agentId, unique */
teeliza_err pg_read_memory(agent_memory *out, const PGresult *r, int row)
{
	store_col cols[6], emb = { 0 };
	const char **dst[6] = { &out->id, &out->type, &out->content, &out->user_id, &out->room_id, &out->agent_id };
	float *v = NULL;
	size_t n = 0;
	void *emb_ptr = NULL;
	int64_t created;
	teeliza_err err;

	memset(out, 0, sizeof(*out));
	err = read_i64(&created, r, row, 2, "a memory's createdAt");
	if (err == TEELIZA_OK && !PQgetisnull(r, row, 4))
		err = pg_parse_embedding(&v, &n, PQgetvalue(r, row, 4));
	if (err)
		return err;
	cols[0] = col_text(r, row, 0);
	cols[1] = col_text(r, row, 1);
	cols[2] = col_text(r, row, 3);
	cols[3] = col_text(r, row, 5);
	cols[4] = col_text(r, row, 6);
	cols[5] = col_text(r, row, 7);
	emb.present = !PQgetisnull(r, row, 4);
	emb.src = v;
	emb.len = n * sizeof(float);
	out->owned_ = store_pack_row(dst, cols, 6, &emb, &emb_ptr);
	free(v);
	if (out->owned_ == NULL) {
		memset(out, 0, sizeof(*out));
		return pg_nomem();
	}
	out->created_at = created;
	out->unique = strcmp(PQgetvalue(r, row, 8), "t") == 0;
	out->embedding = emb_ptr;
	out->embedding_len = emb_ptr != NULL ? n : 0;
	return TEELIZA_OK;
}

/* A bytea column (hex text) decoded; NULL with the error set when it does not decode. */
static unsigned char *bytea(size_t *len, const PGresult *r, int row, int i, teeliza_err *err)
{
	unsigned char *b = PQunescapeBytea((const unsigned char *)PQgetvalue(r, row, i), len);

	*err = b == NULL ? teeliza_set_error(TEELIZA_ERR_PARSE, "a bytea column does not decode") : TEELIZA_OK;
	return b;
}

/* id, agentId, createdAt ms, reportData (bytea: the JSON text), quote (bytea), eventLog, instanceId, bootId */
teeliza_err pg_read_attestation(agent_attestation *out, const PGresult *r, int row)
{
	store_col cols[6], quote = { 0 };
	const char **dst[6] = { &out->id, &out->agent_id, &out->report_data_json, &out->event_log, &out->instance_id,
	                        &out->boot_id };
	unsigned char *rd = NULL, *q = NULL;
	size_t rd_len = 0, q_len = 0;
	void *qp = NULL;
	int64_t created;
	teeliza_err err;

	memset(out, 0, sizeof(*out));
	err = read_i64(&created, r, row, 2, "an attestation's createdAt");
	if (err == TEELIZA_OK)
		rd = bytea(&rd_len, r, row, 3, &err);
	if (err == TEELIZA_OK)
		q = bytea(&q_len, r, row, 4, &err);
	if (err == TEELIZA_OK && memchr(rd, '\0', rd_len) != NULL)
		err = teeliza_set_error(TEELIZA_ERR_PARSE, "an attestation's report data holds a NUL byte");
	if (err == TEELIZA_OK) {
		cols[0] = col_text(r, row, 0);
		cols[1] = col_text(r, row, 1);
		cols[2] = (store_col){ .src = rd, .len = rd_len, .present = true };
		cols[3] = col_text(r, row, 5);
		cols[4] = col_text(r, row, 6);
		cols[5] = col_text(r, row, 7);
		quote = (store_col){ .src = q, .len = q_len, .present = true };
		out->owned_ = store_pack_row(dst, cols, 6, &quote, &qp);
		if (out->owned_ == NULL)
			err = pg_nomem();
	}
	PQfreemem(rd);
	PQfreemem(q);
	if (err) {
		memset(out, 0, sizeof(*out));
		return err;
	}
	out->created_at = created;
	out->quote = qp;
	out->quote_len = q_len;
	return TEELIZA_OK;
}

/* RECEIPT_COLUMNS of store_pg_stmt.c */
teeliza_err pg_read_receipt(agent_receipt *out, const PGresult *r, int row)
{
	static const int text_cols[7] = { 0, 1, 4, 5, 6, 7, 8 };
	store_col cols[7];
	const char **dst[7] = { &out->id, &out->agent_id, &out->memory_id, &out->receipt, &out->signature,
	                        &out->public_key, &out->eip191 };
	int64_t seq, created;
	teeliza_err err;

	memset(out, 0, sizeof(*out));
	err = read_i64(&seq, r, row, 2, "a receipt's seq");
	if (err == TEELIZA_OK)
		err = read_i64(&created, r, row, 3, "a receipt's createdAt");
	if (err)
		return err;
	for (size_t i = 0; i < 7; i++)
		cols[i] = col_text(r, row, text_cols[i]);
	out->owned_ = store_pack_row(dst, cols, 7, NULL, NULL);
	if (out->owned_ == NULL) {
		memset(out, 0, sizeof(*out));
		return pg_nomem();
	}
	out->seq = seq > 0 ? (uint64_t)seq : 0;
	out->created_at = created;
	return TEELIZA_OK;
}
