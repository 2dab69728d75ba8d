/*
 * Receipts and statements (teeliza/tee/receipt.h): built as jansson values
 * and written with RFC 8785, so any JCS implementation reproduces the bytes
 * that were hashed and signed. Parsing insists on the canonical form itself:
 * a receipt that differs by one byte from its canonical form is refused
 * rather than re-canonicalised, since the signature is over the bytes.
 */
#include "teeliza/tee/receipt.h"
#include "teeliza/common/encoding.h"
#include "teeliza/common/jcs.h"

#include <assert.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include <jansson.h>
#include <openssl/sha.h>

static const uint8_t zero32[32];

static json_t *hex_value(const uint8_t *b, size_t n)
{
	char h[2 * 64 + 1];

	assert(n <= 64);
	teeliza_hex_encode(h, b, n);
	return json_stringn(h, 2 * n);
}

teeliza_err tee_receipt_build(teeliza_buf *json, uint8_t hash[32], const tee_receipt_fields *f)
{
	json_t *o;
	teeliza_err err;

	assert(json != NULL && hash != NULL && f != NULL && f->agent_id != NULL && f->room_id != NULL);
	teeliza_buf_reset(json);
	memset(hash, 0, 32);
	if (f->seq == 0 || f->seq > (uint64_t)JCS_SAFE_INTEGER_MAX || f->time_ms < 0 ||
	    f->time_ms > JCS_SAFE_INTEGER_MAX)
		return teeliza_set_error(TEELIZA_ERR_INVALID, "receipt seq or time out of range");
	o = json_object();
	if (o == NULL || json_object_set_new(o, "version", json_integer(TEE_RECEIPT_VERSION)) ||
	    json_object_set_new(o, "agentId", json_string(f->agent_id)) ||
	    json_object_set_new(o, "roomId", json_string(f->room_id)) ||
	    json_object_set_new(o, "model", json_string(f->model != NULL ? f->model : "")) ||
	    json_object_set_new(o, "requestSha256", hex_value(f->request_sha256, 32)) ||
	    json_object_set_new(o, "responseSha256", hex_value(f->response_sha256, 32)) ||
	    json_object_set_new(o, "time", json_integer(f->time_ms)) ||
	    json_object_set_new(o, "seq", json_integer((json_int_t)f->seq)) ||
	    json_object_set_new(o, "prev", hex_value(f->prev, 32)) ||
	    json_object_set_new(o, "replyKey", hex_value(f->reply_key, 32))) {
		json_decref(o);
		/* json_string refuses text that is not UTF-8 */
		return teeliza_set_error(TEELIZA_ERR_INVALID, "receipt field is not UTF-8 (or out of memory)");
	}
	err = teeliza_jcs_append(json, o);
	json_decref(o);
	if (!err)
		SHA256(json->data, json->len, hash);
	return err;
}

static teeliza_err bad(const char *what)
{
	return teeliza_set_error(TEELIZA_ERR_VERIFY, "receipt: %s", what);
}

static teeliza_err get_hex32(uint8_t out[32], const json_t *o, const char *name)
{
	const json_t *v = json_object_get(o, name);
	size_t n = 0;

	if (!json_is_string(v) || json_string_length(v) != 64 ||
	    teeliza_hex_decode(out, 32, &n, json_string_value(v), 64, false) != TEELIZA_OK || n != 32)
		return teeliza_set_error(TEELIZA_ERR_VERIFY, "receipt: %s is not 64 hex digits", name);
	/* canonical: lowercase only */
	for (const char *p = json_string_value(v); *p; p++)
		if (*p >= 'A' && *p <= 'F')
			return teeliza_set_error(TEELIZA_ERR_VERIFY, "receipt: %s has uppercase hex", name);
	return TEELIZA_OK;
}

teeliza_err tee_receipt_parse(tee_receipt_fields *f, char **owned, uint8_t hash[32], const char *json,
                              size_t json_len)
{
	static const char *const names[] = { "agentId", "model", "prev", "replyKey", "requestSha256",
		                             "responseSha256", "roomId", "seq", "time", "version" };
	json_error_t jerr;
	json_t *o;
	teeliza_buf canon;
	const json_t *v;
	size_t i, a_len, r_len, m_len;
	char *block;
	teeliza_err err = TEELIZA_OK;

	assert(f != NULL && owned != NULL && hash != NULL && (json != NULL || json_len == 0));
	memset(f, 0, sizeof(*f));
	*owned = NULL;
	memset(hash, 0, 32);
	if (json_len > TEE_RECEIPT_MAX)
		return bad("longer than a receipt can be");
	o = json_loadb(json, json_len, JSON_REJECT_DUPLICATES, &jerr);
	if (!json_is_object(o)) {
		json_decref(o);
		return bad("not a JSON object");
	}
	teeliza_buf_init(&canon, TEE_RECEIPT_MAX);
	if (json_object_size(o) != sizeof(names) / sizeof(names[0]))
		err = bad("fields are not exactly agentId, model, prev, replyKey, requestSha256, responseSha256, "
		          "roomId, seq, time, version");
	for (i = 0; !err && i < sizeof(names) / sizeof(names[0]); i++)
		if (json_object_get(o, names[i]) == NULL)
			err = teeliza_set_error(TEELIZA_ERR_VERIFY, "receipt: no field %s", names[i]);
	if (!err && (teeliza_jcs_append(&canon, o) != TEELIZA_OK || canon.len != json_len ||
	             memcmp(canon.data, json, json_len) != 0))
		err = bad("not in RFC 8785 canonical form");
	v = json_object_get(o, "version");
	if (!err && (!json_is_integer(v) || json_integer_value(v) != TEE_RECEIPT_VERSION))
		err = bad("version is not 1");
	v = json_object_get(o, "seq");
	if (!err && (!json_is_integer(v) || json_integer_value(v) < 1))
		err = bad("seq is not a positive integer");
	if (!err)
		f->seq = (uint64_t)json_integer_value(v);
	v = json_object_get(o, "time");
	if (!err && (!json_is_integer(v) || json_integer_value(v) < 0))
		err = bad("time is not a non-negative integer");
	if (!err)
		f->time_ms = json_integer_value(v);
	if (!err && (!json_is_string(json_object_get(o, "agentId")) || !json_is_string(json_object_get(o, "roomId")) ||
	             !json_is_string(json_object_get(o, "model"))))
		err = bad("agentId, roomId and model must be strings");
	if (!err)
		err = get_hex32(f->request_sha256, o, "requestSha256");
	if (!err)
		err = get_hex32(f->response_sha256, o, "responseSha256");
	if (!err)
		err = get_hex32(f->prev, o, "prev");
	if (!err)
		err = get_hex32(f->reply_key, o, "replyKey");
	if (!err) {
		a_len = json_string_length(json_object_get(o, "agentId"));
		r_len = json_string_length(json_object_get(o, "roomId"));
		m_len = json_string_length(json_object_get(o, "model"));
		block = malloc(a_len + r_len + m_len + 3);
		if (block == NULL) {
			err = teeliza_set_error(TEELIZA_ERR_NOMEM, "out of memory");
		} else {
			memcpy(block, json_string_value(json_object_get(o, "agentId")), a_len + 1);
			memcpy(block + a_len + 1, json_string_value(json_object_get(o, "roomId")), r_len + 1);
			memcpy(block + a_len + r_len + 2, json_string_value(json_object_get(o, "model")), m_len + 1);
			f->agent_id = block;
			f->room_id = block + a_len + 1;
			f->model = block + a_len + r_len + 2;
			*owned = block;
			SHA256((const uint8_t *)json, json_len, hash);
		}
	}
	teeliza_buf_free(&canon);
	json_decref(o);
	if (err) {
		memset(f, 0, sizeof(*f));
		memset(hash, 0, 32);
	}
	return err;
}

static teeliza_err fail(const char **link, const char *which, teeliza_err err)
{
	if (link != NULL)
		*link = which;
	return err;
}

teeliza_err tee_receipt_verify(const char **link, const char *json, size_t json_len, const uint8_t sig[64],
                               const uint8_t public_key[32], const char *prev_json, size_t prev_len,
                               const uint8_t *eip191, const char *eip191_address)
{
	tee_receipt_fields f, pf;
	char *owned = NULL, *powned = NULL;
	uint8_t hash[32], phash[32];
	char got[43];
	teeliza_err err;

	assert(sig != NULL && public_key != NULL);
	if (link != NULL)
		*link = NULL;
	err = tee_receipt_parse(&f, &owned, hash, json, json_len);
	if (err)
		return fail(link, TEE_LINK_RECEIPT, err);
	if (!teeliza_ct_eq(f.reply_key, public_key, 32)) {
		err = fail(link, TEE_LINK_REPLY_KEY,
		           teeliza_set_error(TEELIZA_ERR_VERIFY, "reply key: the receipt names another replyKey"));
		goto out;
	}
	err = tee_ed25519_verify(public_key, (const uint8_t *)json, json_len, sig);
	if (err) {
		err = fail(link, TEE_LINK_SIGNATURE,
		           teeliza_set_error(TEELIZA_ERR_VERIFY, "receipt signature: does not verify under the reply key"));
		goto out;
	}
	if (eip191 != NULL) {
		err = tee_eip191_recover(got, hash, eip191);
		if (!err && eip191_address != NULL && strcasecmp(got, eip191_address) != 0)
			err = teeliza_set_error(TEELIZA_ERR_VERIFY, "recovers to %s, not %s", got, eip191_address);
		if (err) {
			err = fail(link, TEE_LINK_EIP191,
			           teeliza_set_error(TEELIZA_ERR_VERIFY, "EIP-191 signature: %s", teeliza_errmsg()));
			goto out;
		}
	}
	if (prev_json == NULL) {
		if (f.seq == 1 && !teeliza_ct_eq(f.prev, zero32, 32))
			err = fail(link, TEE_LINK_CHAIN, teeliza_set_error(TEELIZA_ERR_VERIFY,
			                                                   "hash chain: receipt 1 has a previous receipt"));
		goto out;
	}
	err = tee_receipt_parse(&pf, &powned, phash, prev_json, prev_len);
	if (err) {
		err = fail(link, TEE_LINK_CHAIN,
		           teeliza_set_error(TEELIZA_ERR_VERIFY, "hash chain: previous %s", teeliza_errmsg()));
		goto out;
	}
	if (strcmp(pf.agent_id, f.agent_id) != 0)
		err = teeliza_set_error(TEELIZA_ERR_VERIFY, "hash chain: the previous receipt is another agent's");
	else if (pf.seq + 1 != f.seq)
		err = teeliza_set_error(TEELIZA_ERR_VERIFY, "hash chain: seq %llu does not follow %llu",
		                        (unsigned long long)f.seq, (unsigned long long)pf.seq);
	else if (!teeliza_ct_eq(f.prev, phash, 32))
		err = teeliza_set_error(TEELIZA_ERR_VERIFY,
		                        "hash chain: prev is not the SHA-256 of the previous receipt (one was "
		                        "changed, removed or reordered)");
	if (err)
		err = fail(link, TEE_LINK_CHAIN, err);
out:
	free(owned);
	free(powned);
	return err;
}

teeliza_err tee_statement_build(teeliza_buf *json, uint8_t report_data[64], const tee_statement *st)
{
	json_t *o, *w;
	teeliza_err err;

	assert(json != NULL && report_data != NULL && st != NULL && st->agent_id != NULL && st->purpose != NULL);
	teeliza_buf_reset(json);
	memset(report_data, 0, 64);
	if (st->nonce != NULL && (st->nonce_len < TEE_NONCE_MIN || st->nonce_len > TEE_NONCE_MAX))
		return teeliza_set_error(TEELIZA_ERR_INVALID, "nonce must be %d to %d bytes, not %zu", TEE_NONCE_MIN,
		                         TEE_NONCE_MAX, st->nonce_len);
	o = json_object();
	w = json_object();
	if (o == NULL || w == NULL ||
	    json_object_set_new(w, "solana", json_string(st->wallet_solana != NULL ? st->wallet_solana : "")) ||
	    json_object_set_new(w, "evm", json_string(st->wallet_evm != NULL ? st->wallet_evm : "")) ||
	    json_object_set_new(o, "version", json_integer(TEE_STATEMENT_VERSION)) ||
	    json_object_set_new(o, "purpose", json_string(st->purpose)) ||
	    json_object_set_new(o, "agentId", json_string(st->agent_id)) ||
	    json_object_set_new(o, "replyKey", hex_value(st->reply_key, 32)) ||
	    json_object_set_new(o, "tlsKey", json_string(st->tls_key != NULL ? st->tls_key : "")) ||
	    json_object_set(o, "wallets", w) ||
	    (st->eip191_address != NULL && json_object_set_new(o, "eip191Address", json_string(st->eip191_address))) ||
	    (st->nonce != NULL && json_object_set_new(o, "nonce", hex_value(st->nonce, st->nonce_len)))) {
		json_decref(w);
		json_decref(o);
		return teeliza_set_error(TEELIZA_ERR_INVALID, "statement field is not UTF-8 (or out of memory)");
	}
	json_decref(w);
	err = teeliza_jcs_append(json, o);
	json_decref(o);
	if (!err)
		SHA512(json->data, json->len, report_data);
	return err;
}
