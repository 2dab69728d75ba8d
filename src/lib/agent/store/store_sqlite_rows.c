/*
 * Rows of the SQLite back-end read into the store's result structs: every
 * string of a row copied into one block the struct owns, embeddings as
 * Eliza stores them (little-endian float32).
 */
#include "agent/store/store_sqlite_internal.h"
#include "agent/store/store_row_pack.h"

#include <stdalign.h>
#include <stddef.h>
#include <stdlib.h>
#include <string.h>

/* A column copied into a result block: text, blob, or floats. */
static store_col col_text(sqlite3_stmt *st, int i)
{
	store_col c = { 0 };

	c.src = sqlite3_column_text(st, i);
	c.present = c.src != NULL;
	c.len = c.present ? (size_t)sqlite3_column_bytes(st, i) : 0;
	return c;
}

static store_col col_blob(sqlite3_stmt *st, int i)
{
	store_col c = { 0 };

	c.src = sqlite3_column_blob(st, i);
	c.len = (size_t)sqlite3_column_bytes(st, i);
	c.present = sqlite3_column_type(st, i) != SQLITE_NULL;
	return c;
}

/* Little-endian float32 array, as Eliza's Float32Array buffers are stored. */
uint8_t *sq_encode_embedding(const float *v, size_t n, size_t *len)
{
	uint8_t *out;

	if (n > SIZE_MAX / 4)
		return NULL;
	*len = n * 4;
	out = calloc(n > 0 ? n : 1, 4);
	if (out == NULL || v == NULL)
		return out;
	for (size_t i = 0; i < n; i++) {
		uint32_t bits;

		memcpy(&bits, &v[i], 4);
		out[4 * i] = (uint8_t)bits;
		out[4 * i + 1] = (uint8_t)(bits >> 8);
		out[4 * i + 2] = (uint8_t)(bits >> 16);
		out[4 * i + 3] = (uint8_t)(bits >> 24);
	}
	return out;
}

static void decode_embedding_in_place(void *buf, size_t n)
{
	uint8_t *b = buf;

	for (size_t i = 0; i < n; i++) {
		uint32_t bits = (uint32_t)b[4 * i] | (uint32_t)b[4 * i + 1] << 8 | (uint32_t)b[4 * i + 2] << 16 |
		                (uint32_t)b[4 * i + 3] << 24;

		memcpy(b + 4 * i, &bits, 4);
	}
}

teeliza_err sq_read_account(agent_account *out, sqlite3_stmt *st)
{
	store_col cols[6];
	const char **dst[6] = { &out->id, &out->name, &out->username, &out->email, &out->avatar_url, &out->details };

	for (int i = 0; i < 6; i++)
		cols[i] = col_text(st, i);
	out->owned_ = store_pack_row(dst, cols, 6, NULL, NULL);
	if (out->owned_ == NULL) {
		memset(out, 0, sizeof(*out));
		return sq_nomem();
	}
	return TEELIZA_OK;
}

teeliza_err sq_read_memory(agent_memory *out, sqlite3_stmt *st, bool with_embedding)
{
	store_col cols[6], emb;
	const char **dst[6] = { &out->id, &out->type, &out->content, &out->user_id, &out->room_id, &out->agent_id };
	void *emb_ptr = NULL;

	cols[0] = col_text(st, 0);
	cols[1] = col_text(st, 1);
	cols[2] = col_text(st, 3);
	cols[3] = col_text(st, 5);
	cols[4] = col_text(st, 6);
	cols[5] = col_text(st, 7);
	out->created_at = sqlite3_column_int64(st, 2);
	out->unique = sqlite3_column_int(st, 8) != 0;
	if (with_embedding) {
		emb = col_blob(st, 4);
		emb.len -= emb.len % 4;
		out->owned_ = store_pack_row(dst, cols, 6, &emb, &emb_ptr);
	} else {
		out->owned_ = store_pack_row(dst, cols, 6, NULL, NULL);
	}
	if (out->owned_ == NULL) {
		memset(out, 0, sizeof(*out));
		return sq_nomem();
	}
	if (emb_ptr != NULL) {
		out->embedding_len = emb.len / 4;
		decode_embedding_in_place(emb_ptr, out->embedding_len);
		out->embedding = emb_ptr;
	}
	return TEELIZA_OK;
}

teeliza_err sq_read_attestation(agent_attestation *out, sqlite3_stmt *st)
{
	store_col cols[6], quote = col_blob(st, 4);
	const char **dst[6] = { &out->id, &out->agent_id, &out->report_data_json, &out->event_log, &out->instance_id,
	                        &out->boot_id };
	void *q = NULL;

	cols[0] = col_text(st, 0);
	cols[1] = col_text(st, 1);
	cols[2] = col_text(st, 3);
	cols[3] = col_text(st, 5);
	cols[4] = col_text(st, 6);
	cols[5] = col_text(st, 7);
	out->created_at = sqlite3_column_int64(st, 2);
	out->owned_ = store_pack_row(dst, cols, 6, &quote, &q);
	if (out->owned_ == NULL) {
		memset(out, 0, sizeof(*out));
		return sq_nomem();
	}
	out->quote = q;
	out->quote_len = quote.len;
	return TEELIZA_OK;
}

teeliza_err sq_read_receipt(agent_receipt *out, sqlite3_stmt *st)
{
	static const int text_cols[7] = { 0, 1, 4, 5, 6, 7, 8 };
	store_col cols[7];
	const char **dst[7] = { &out->id, &out->agent_id, &out->memory_id, &out->receipt, &out->signature,
	                        &out->public_key, &out->eip191 };
	int64_t seq = sqlite3_column_int64(st, 2);

	for (size_t i = 0; i < 7; i++)
		cols[i] = col_text(st, text_cols[i]);
	out->seq = seq > 0 ? (uint64_t)seq : 0;
	out->created_at = sqlite3_column_int64(st, 3);
	out->owned_ = store_pack_row(dst, cols, 7, NULL, NULL);
	if (out->owned_ == NULL) {
		memset(out, 0, sizeof(*out));
		return sq_nomem();
	}
	return TEELIZA_OK;
}
