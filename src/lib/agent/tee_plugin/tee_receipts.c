/*
 * Receipts for every reply (teeliza/agent/tee_receipts.h): the agent's reply
 * keys from the TEE (tappd's DeriveKey or dstack's GetKey, whichever API the
 * plugin talks to), the statement that binds them to a quote, and the
 * per-agent hash chain of signed receipts kept in the store.
 *
 * One lock per agent orders the chain within a process: a receipt is
 * built, signed and stored before the next one reads seq and prev, and a
 * receipt the store refuses does not advance the chain. Replicas (other
 * processes on the same database) sign for the same agent too, so the
 * process's seq and prev are only a guess at the chain's head: the store
 * refuses a link another writer took first (TEELIZA_ERR_CONFLICT), and the
 * receipt is then built again on the head the store reads under the chain's
 * lock (agent_store_append_receipt), where no other writer can take it.
 */
#include "teeliza/agent/tee_receipts.h"
#include "teeliza/common/encoding.h"
#include "teeliza/tee/attest.h"
#include "teeliza/tee/dstack_wallet.h"
#include "teeliza/tee/receipt.h"
#include "teeliza/tee/reply_key.h"

#include <assert.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/sha.h>

#define RECEIPT_RETRY_MS 3000
/*
 * Tries of one receipt whose link other replicas keep taking, for a store
 * without a lock on the chain (agent_store_append_receipt UNSUPPORTED; both
 * back-ends have one, so a conflict is followed by one locked append).
 * Each conflict means another writer appended to the chain, so the chain
 * moves on; but the bound can be reached when the other replicas keep the
 * chain busy back to back (a retry needs one round trip more than their
 * next append), and then the reply goes out without a receipt, logged.
 */
#define RECEIPT_CONFLICT_TRIES 16

struct agent_tee_receipts {
	pthread_mutex_t lock;            /* everything below */
	tappd_client client;
	dstack_client dclient;
	bool dstack;                     /* the keys and quotes come from dclient, not client */
	char *salt;                      /* secret */
	size_t salt_len;
	char agent_id[AGENT_UUID_BUFSZ + 64];
	agent_store *store;
	FILE *log;
	bool use_eip191;
	bool ready;                      /* keys derived, statement quoted, chain loaded */
	int64_t last_attempt_ms;
	char last_error[300];
	tee_reply_key key;               /* Ed25519 */
	tee_reply_key eip191;            /* secp256k1, when use_eip191 */
	char public_hex[65];
	char statement_quote_id[AGENT_UUID_BUFSZ];
	uint64_t seq;                    /* of the last receipt, 0 before the first */
	uint8_t prev[32];                /* SHA-256 of the last receipt, zeros before the first */
	bool head_stale;                 /* seq and prev must be read from the store before the next receipt */
	bool have_proof;                 /* dstack: GetKey's proof of the Ed25519 reply key */
	tee_dstack_key proof;            /* its public key and signature chain (no secret) */
};

/* The process's HTTPS key (agent_receipts_set_tls_key): hex SHA-256 of its SPKI, "" when none. */
static pthread_mutex_t tls_key_lock = PTHREAD_MUTEX_INITIALIZER;
static char tls_key_hex[65];

teeliza_err agent_receipts_set_tls_key(const char *spki_sha256_hex)
{
	size_t i, n = spki_sha256_hex != NULL ? strlen(spki_sha256_hex) : 0;

	for (i = 0; i < n; i++)
		if (!((spki_sha256_hex[i] >= '0' && spki_sha256_hex[i] <= '9') ||
		      (spki_sha256_hex[i] >= 'a' && spki_sha256_hex[i] <= 'f')))
			break;
	if (n != 0 && (n != 64 || i != n))
		return teeliza_set_error(TEELIZA_ERR_INVALID, "a TLS key is named by 64 lowercase hex digits");
	pthread_mutex_lock(&tls_key_lock);
	memcpy(tls_key_hex, n != 0 ? spki_sha256_hex : "", n + 1);
	pthread_mutex_unlock(&tls_key_lock);
	return TEELIZA_OK;
}

teeliza_err agent_receipt_signature_check(void)
{
	const char *mode = getenv("RECEIPT_SIGNATURE");

	if (mode != NULL && mode[0] != 0 && strcmp(mode, "ed25519") != 0 && strcmp(mode, "eip191") != 0 &&
	    strcmp(mode, "off") != 0)
		return teeliza_set_error(TEELIZA_ERR_CONFIG,
		                         "RECEIPT_SIGNATURE must be ed25519, eip191 or off, not \"%.64s\"", mode);
	return TEELIZA_OK;
}

teeliza_err agent_tee_receipts_new(agent_tee_receipts **out, const tappd_client *client, const dstack_client *dclient,
                                   const char *salt, const char *agent_id, agent_store *store, FILE *log)
{
	const char *mode = getenv("RECEIPT_SIGNATURE");
	agent_tee_receipts *r;
	teeliza_err err;

	assert(out != NULL && (client != NULL) != (dclient != NULL) && salt != NULL && agent_id != NULL && store != NULL);
	*out = NULL;
	err = agent_receipt_signature_check();
	if (err)
		return err;
	if (mode != NULL && strcmp(mode, "off") == 0) {
		agent_log(log, "TEE: WARNING: RECEIPT_SIGNATURE=off: replies of agent %s carry no receipt", agent_id);
		return TEELIZA_OK;
	}
	if (strlen(agent_id) >= sizeof(r->agent_id))
		return teeliza_set_error(TEELIZA_ERR_INVALID, "agent id too long");
	r = calloc(1, sizeof(*r));
	if (r == NULL)
		return teeliza_set_error(TEELIZA_ERR_NOMEM, "out of memory");
	r->salt_len = strlen(salt);
	r->salt = malloc(r->salt_len + 1);
	if (r->salt == NULL || pthread_mutex_init(&r->lock, NULL) != 0) {
		free(r->salt);
		free(r);
		return teeliza_set_error(TEELIZA_ERR_NOMEM, "out of memory");
	}
	memcpy(r->salt, salt, r->salt_len + 1);
	if (dclient != NULL) {
		r->dclient = *dclient;
		r->dstack = true;
	} else {
		r->client = *client;
	}
	snprintf(r->agent_id, sizeof(r->agent_id), "%s", agent_id);
	r->store = store;
	r->log = log;
	r->use_eip191 = mode != NULL && strcmp(mode, "eip191") == 0;
	*out = r;
	return TEELIZA_OK;
}

void agent_tee_receipts_free(agent_tee_receipts *r)
{
	if (r == NULL)
		return;
	teeliza_wipe(r->salt, r->salt_len);
	free(r->salt);
	tee_reply_key_wipe(&r->key);
	tee_reply_key_wipe(&r->eip191);
	pthread_mutex_destroy(&r->lock);
	free(r);
}

/*
 * A quote whose report data is SHA-512(statement) exactly (tappd's RawQuote,
 * dstack's GetQuote), checked against the quote's own field. Out: q->quote
 * and q->event_log; free with tee_attestation_free, also after a failure.
 */
static teeliza_err quote_statement(tee_attestation *q, agent_tee_receipts *r, const uint8_t rd[64])
{
	tappd_quote_response t;
	const uint8_t *rtmr[4], *quoted;
	teeliza_err err;

	if (r->dstack) {
		err = tee_dstack_quote_exact(q, NULL, &r->dclient, rd);
	} else {
		memset(q, 0, sizeof(*q));
		teeliza_buf_init(&q->report_data, 0);
		teeliza_buf_init(&q->event_log, 0);
		err = tappd_raw_quote(&t, &r->client, rd);
		if (!err) {
			q->quote = t.quote;
			q->event_log = t.event_log;
			memset(&t.quote, 0, sizeof(t.quote));
			memset(&t.event_log, 0, sizeof(t.event_log));
			tappd_quote_response_free(&t);
		} else {
			teeliza_buf_init(&q->quote, 0);
		}
	}
	if (!err)
		err = tee_quote_td_fields(rtmr, &quoted, q->quote.data, q->quote.len);
	if (!err && memcmp(quoted, rd, 64) != 0)
		err = teeliza_set_error(TEELIZA_ERR_VERIFY, "the quote's report data is not the statement's hash");
	return err;
}

/* The reply key of this kind from whichever API the plugin talks to. */
static teeliza_err reply_key(tee_reply_key *out, const agent_tee_receipts *r, tee_reply_key_kind kind)
{
	if (r->dstack)
		return tee_reply_key_dstack(out, &r->dclient, r->salt, r->agent_id, kind);
	return tee_reply_key_tappd(out, &r->client, r->salt, r->agent_id, kind);
}

/* The statement of the agent's reply keys, with the wallets when they are known. */
static teeliza_err build_statement(teeliza_buf *json, uint8_t rd[64], agent_tee_receipts *r,
                                   const agent_tee_wallets *w, const char *purpose, const uint8_t *nonce,
                                   size_t nonce_len)
{
	tee_statement st;
	char tls[65];

	pthread_mutex_lock(&tls_key_lock);
	memcpy(tls, tls_key_hex, sizeof(tls));
	pthread_mutex_unlock(&tls_key_lock);
	memset(&st, 0, sizeof(st));
	st.tls_key = tls[0] != 0 ? tls : NULL;
	st.agent_id = r->agent_id;
	st.purpose = purpose;
	memcpy(st.reply_key, r->key.public_key, 32);
	if (w != NULL) {
		st.wallet_solana = w->solana;
		st.wallet_evm = w->evm;
	}
	st.eip191_address = r->use_eip191 ? r->eip191.address : NULL;
	st.nonce = nonce;
	st.nonce_len = nonce_len;
	return tee_statement_build(json, rd, &st);
}

/* head (NULL: the chain is empty) into r->seq and r->prev. With r->lock held. */
static void follow_head_locked(agent_tee_receipts *r, const agent_receipt *head)
{
	if (head == NULL) {
		r->seq = 0;
		memset(r->prev, 0, sizeof(r->prev));
	} else {
		r->seq = head->seq;
		SHA256((const uint8_t *)head->receipt, strlen(head->receipt), r->prev);
	}
}

/* The chain's head, as the store has it, into r->seq and r->prev. With r->lock held. */
static teeliza_err load_head_locked(agent_tee_receipts *r)
{
	agent_receipt last;
	teeliza_err err = agent_store_last_receipt(r->store, &last, r->agent_id);

	if (err == TEELIZA_ERR_NOT_FOUND) {
		follow_head_locked(r, NULL);
		err = TEELIZA_OK;
	} else if (!err) {
		follow_head_locked(r, &last);
		agent_receipt_clear(&last);
	}
	r->head_stale = err != TEELIZA_OK;
	return err;
}

/* With r->lock held. */
static teeliza_err prepare_locked(agent_tee_receipts *r, const agent_tee_wallets *w)
{
	tee_attestation q;
	agent_attestation row;
	teeliza_buf statement;
	uint8_t rd[64];
	teeliza_err err;

	if (r->ready)
		return TEELIZA_OK;
	if (r->last_attempt_ms != 0 && agent_store_now_ms() - r->last_attempt_ms < RECEIPT_RETRY_MS)
		return teeliza_set_error(TEELIZA_ERR_CONNECT, "%s", r->last_error);
	r->last_attempt_ms = agent_store_now_ms();
	tee_reply_key_wipe(&r->key);
	tee_reply_key_wipe(&r->eip191);
	r->have_proof = false;
	if (r->dstack) {
		err = tee_reply_key_dstack_proof(&r->key, &r->proof, &r->dclient, r->salt, r->agent_id,
		                                 TEE_REPLY_KEY_ED25519);
		r->have_proof = err == TEELIZA_OK;
	} else {
		err = reply_key(&r->key, r, TEE_REPLY_KEY_ED25519);
	}
	if (!err && r->use_eip191)
		err = reply_key(&r->eip191, r, TEE_REPLY_KEY_SECP256K1);
	teeliza_buf_init(&statement, 1 << 16);
	if (!err)
		err = build_statement(&statement, rd, r, w, TEE_STATEMENT_PURPOSE_REPLY_KEY, NULL, 0);
	if (!err) {
		err = quote_statement(&q, r, rd);
		if (!err)
			err = agent_uuid_random(r->statement_quote_id);
		memset(&row, 0, sizeof(row));
		row.id = r->statement_quote_id;
		row.agent_id = r->agent_id;
		row.report_data_json = (const char *)statement.data;
		row.quote = q.quote.data;
		row.quote_len = q.quote.len;
		row.event_log = q.event_log.len > 0 ? (const char *)q.event_log.data : NULL;
		if (!err)
			err = agent_store_put_attestation(r->store, &row);
		tee_attestation_free(&q);
	}
	if (!err)
		err = load_head_locked(r);
	teeliza_buf_free(&statement);
	if (err) {
		snprintf(r->last_error, sizeof(r->last_error), "%s",
		         teeliza_errmsg()[0] ? teeliza_errmsg() : teeliza_strerror(err));
		tee_reply_key_wipe(&r->key);
		tee_reply_key_wipe(&r->eip191);
		return err;
	}
	teeliza_hex_encode(r->public_hex, r->key.public_key, 32);
	r->ready = true;
	agent_log(r->log, "TEE: agent %s reply key %s%s%s, statement quote %s; receipts continue at seq %llu",
	          r->agent_id, r->public_hex, r->use_eip191 ? ", EIP-191 signer " : "",
	          r->use_eip191 ? r->eip191.address : "", r->statement_quote_id, (unsigned long long)(r->seq + 1));
	return TEELIZA_OK;
}

teeliza_err agent_tee_receipts_prepare(agent_tee_receipts *r, const agent_tee_wallets *w)
{
	teeliza_err err;

	assert(r != NULL);
	pthread_mutex_lock(&r->lock);
	err = prepare_locked(r, w);
	pthread_mutex_unlock(&r->lock);
	return err;
}

/* One receipt being made: its fields and the text, hashes and signatures its row points to. */
struct receipt_draft {
	agent_tee_receipts *r;
	tee_receipt_fields *f;
	teeliza_buf *json;
	uint8_t hash[32];
	char id[AGENT_RECEIPT_ID_BUFSZ];
	char sig_hex[129], e191_hex[131];
	const char *memory_id;
};

/* Build and sign the receipt that follows r->seq and r->prev into *row. With r->lock held. */
static teeliza_err sign_row_locked(agent_receipt *row, struct receipt_draft *d)
{
	agent_tee_receipts *r = d->r;
	tee_receipt_fields *f = d->f;
	uint8_t sig[64], e191[65];
	teeliza_err err;

	f->time_ms = agent_store_now_ms();
	f->seq = r->seq + 1;
	memcpy(f->prev, r->prev, 32);
	memcpy(f->reply_key, r->key.public_key, 32);
	err = tee_receipt_build(d->json, d->hash, f);
	if (!err)
		err = tee_reply_key_sign_ed25519(sig, &r->key, d->json->data, d->json->len);
	if (!err && r->use_eip191)
		err = tee_reply_key_sign_eip191(e191, &r->eip191, d->hash);
	if (err)
		return err;
	teeliza_hex_encode(d->id, d->hash, 32);
	teeliza_hex_encode(d->sig_hex, sig, 64);
	if (r->use_eip191)
		teeliza_hex_encode(d->e191_hex, e191, 65);
	memset(row, 0, sizeof(*row));
	row->id = d->id;
	row->agent_id = r->agent_id;
	row->seq = f->seq;
	row->created_at = f->time_ms;
	row->receipt = (const char *)d->json->data;
	row->signature = d->sig_hex;
	row->public_key = r->public_hex;
	row->eip191 = r->use_eip191 ? d->e191_hex : NULL;
	row->memory_id = d->memory_id;
	return TEELIZA_OK;
}

/* agent_receipt_build for agent_store_append_receipt: the receipt on the head the store read under its lock. */
static teeliza_err sign_on_head(agent_receipt *out, void *ctx, const agent_receipt *head)
{
	struct receipt_draft *d = ctx;

	follow_head_locked(d->r, head);
	return sign_row_locked(out, d);
}

/*
 * Build, sign and store the receipt of d on the head r->seq, r->prev, with
 * the reply's memories in the same transaction. Out: d->id, d->hash. With
 * r->lock held.
 */
static teeliza_err sign_and_store_locked(struct receipt_draft *d, const agent_memory *memories, size_t n_memories)
{
	agent_receipt row;
	teeliza_err err = sign_row_locked(&row, d);

	if (err)
		return err;
	return n_memories > 0 ? agent_store_put_receipt_with_memories(d->r->store, &row, memories, n_memories)
	                      : agent_store_put_receipt(d->r->store, &row);
}

teeliza_err agent_tee_receipts_sign(char id[AGENT_RECEIPT_ID_BUFSZ], agent_tee_receipts *r,
                                   const agent_tee_wallets *w, const char *room_id, const char *model,
                                   const void *request, size_t request_len, const void *response,
                                   size_t response_len, const agent_memory *memories, size_t n_memories)
{
	tee_receipt_fields f;
	teeliza_buf json;
	struct receipt_draft d;
	teeliza_err err;

	assert(id != NULL && r != NULL && room_id != NULL);
	id[0] = 0;
	memset(&f, 0, sizeof(f));
	f.agent_id = r->agent_id;
	f.room_id = room_id;
	f.model = model;
	SHA256(request, request_len, f.request_sha256);
	SHA256(response, response_len, f.response_sha256);
	teeliza_buf_init(&json, TEE_RECEIPT_MAX);
	/* under r->lock: this process's receipts reach the store in chain order */
	memset(&d, 0, sizeof(d));
	d.r = r;
	d.f = &f;
	d.json = &json;
	d.memory_id = n_memories > 0 ? memories[0].id : NULL;
	pthread_mutex_lock(&r->lock);
	err = prepare_locked(r, w);
	for (int tries = 1; !err; tries++) {
		if (r->head_stale)
			err = load_head_locked(r);
		if (!err)
			err = sign_and_store_locked(&d, memories, n_memories);
		if (err == TEELIZA_ERR_CONFLICT) {
			/*
			 * Another replica took the link. Retrying on its new head could
			 * lose to it again and again when it keeps the chain busy, so the
			 * store builds this one on the head it reads under the chain's
			 * lock, which every writer takes: this receipt waits its turn.
			 * The memories were rolled back with the receipt and go with it.
			 */
			teeliza_clear_error();
			err = agent_store_append_receipt(r->store, r->agent_id, sign_on_head, &d, memories, n_memories);
			if (err == TEELIZA_ERR_UNSUPPORTED) { /* no such lock: retry on the new head */
				teeliza_clear_error();
				err = TEELIZA_ERR_CONFLICT;
			}
		}
		if (!err) {
			r->seq = f.seq;
			memcpy(r->prev, d.hash, 32);
			r->head_stale = false;
			break;
		}
		/*
		 * Whatever failed, the head is read again before the next receipt:
		 * another replica may have moved it (a conflict says so; a lost
		 * connection may hide it).
		 */
		r->head_stale = true;
		if (err != TEELIZA_ERR_CONFLICT)
			break;
		if (tries == RECEIPT_CONFLICT_TRIES) {
			err = teeliza_set_error(TEELIZA_ERR_CONFLICT,
			                        "other replicas took the next link of agent %s's receipt chain %d times "
			                        "in a row; giving up on this receipt",
			                        r->agent_id, RECEIPT_CONFLICT_TRIES);
			break;
		}
		err = TEELIZA_OK;
	}
	if (err)
		id[0] = 0;
	else
		memcpy(id, d.id, AGENT_RECEIPT_ID_BUFSZ);
	pthread_mutex_unlock(&r->lock);
	teeliza_buf_free(&json);
	return err;
}

teeliza_err agent_tee_receipts_json(json_t **out, agent_tee_receipts *r, const char *id)
{
	agent_receipt row;
	char quote_id[AGENT_UUID_BUFSZ], addr[43] = "";
	json_t *o;
	teeliza_err err;

	assert(out != NULL && r != NULL && id != NULL);
	*out = NULL;
	err = agent_store_get_receipt(r->store, &row, r->agent_id, id);
	if (err)
		return err;
	pthread_mutex_lock(&r->lock);
	memcpy(quote_id, r->statement_quote_id, sizeof(quote_id));
	if (r->ready && r->use_eip191)
		memcpy(addr, r->eip191.address, sizeof(addr));
	pthread_mutex_unlock(&r->lock);
	o = json_pack("{s:s, s:s, s:s, s:s, s:s, s:I, s:s}", "id", row.id, "receipt", row.receipt, "signature",
	              row.signature, "publicKey", row.public_key, "algorithm", "ed25519", "seq", (json_int_t)row.seq,
	              "statementQuoteId", quote_id);
	if (o != NULL && row.eip191 != NULL) {
		json_object_set_new(o, "eip191", json_string(row.eip191));
		if (addr[0] != 0)
			json_object_set_new(o, "eip191Address", json_string(addr));
	}
	agent_receipt_clear(&row);
	if (o == NULL)
		return teeliza_set_error(TEELIZA_ERR_NOMEM, "out of memory");
	*out = o;
	return TEELIZA_OK;
}

/* The key's provenance as the bundle carries it (docs/VERIFIABILITY.md, "Reply bundles"). With r->lock held. */
static json_t *provenance_json(const agent_tee_receipts *r)
{
	char pub[2 * TEE_DSTACK_PUB_MAX + 1], c0[2 * TEE_DSTACK_CHAIN_SIG_LEN + 1], c1[2 * TEE_DSTACK_CHAIN_SIG_LEN + 1];

	if (!r->dstack)
		return json_pack("{s:s, s:s}", "api", "tappd", "note",
		                 "tappd's DeriveKey gives no signature chain: the reply key is bound by the statement "
		                 "quote only");
	if (!r->have_proof)
		return json_pack("{s:s, s:s}", "api", "dstack", "note", "the agent holds no GetKey proof of this key");
	teeliza_hex_encode(pub, r->proof.public_key, r->proof.public_key_len);
	teeliza_hex_encode(c0, r->proof.chain[0], TEE_DSTACK_CHAIN_SIG_LEN);
	teeliza_hex_encode(c1, r->proof.chain[1], r->proof.kms_signature_len);
	return json_pack("{s:s, s:s, s:s, s:s, s:[s, s]}", "api", "dstack", "purpose", TEE_REPLY_KEY_PURPOSE,
	                 "algorithm", "ed25519", "publicKey", pub, "signatureChain", c0, c1);
}

teeliza_err agent_tee_receipts_bundle(json_t **out, agent_tee_receipts *r, const char *id)
{
	agent_attestation att;
	char quote_id[AGENT_UUID_BUFSZ];
	json_t *o = NULL, *prov, *rec;
	const char *text, *prev;
	teeliza_buf quote_hex;
	teeliza_err err;

	assert(out != NULL && r != NULL && id != NULL);
	*out = NULL;
	err = agent_tee_receipts_json(&o, r, id);
	if (err)
		return err;
	pthread_mutex_lock(&r->lock);
	memcpy(quote_id, r->statement_quote_id, sizeof(quote_id));
	prov = r->ready ? provenance_json(r) : NULL;
	pthread_mutex_unlock(&r->lock);
	if (quote_id[0] == 0 || prov == NULL) {
		json_decref(o);
		json_decref(prov);
		return teeliza_set_error(TEELIZA_ERR_CONNECT, "the reply key's statement is not quoted yet");
	}
	err = agent_store_get_attestation(r->store, &att, quote_id);
	if (err) {
		json_decref(o);
		json_decref(prov);
		return err;
	}
	teeliza_buf_init(&quote_hex, 2 * att.quote_len + 1);
	err = teeliza_buf_reserve(&quote_hex, 2 * att.quote_len + 1);
	if (!err) {
		teeliza_hex_encode((char *)quote_hex.data, att.quote, att.quote_len);
		text = json_string_value(json_object_get(o, "receipt"));
		/* the previous receipt's id, as the receipt names it (the store wrote that text) */
		rec = text != NULL ? json_loads(text, 0, NULL) : NULL;
		prev = json_string_value(json_object_get(rec, "prev"));
		json_object_set_new(o, "prev", json_string(prev != NULL ? prev : ""));
		json_decref(rec);
		json_object_set_new(o, "format", json_string("teeliza-reply-bundle"));
		json_object_set_new(o, "version", json_integer(1));
		json_object_set_new(o, "statement", json_string(att.report_data_json));
		json_object_set_new(o, "quote", json_string((const char *)quote_hex.data));
		json_object_set_new(o, "eventLog", json_string(att.event_log != NULL ? att.event_log : ""));
		json_object_set_new(o, "keyProvenance", prov);
		prov = NULL;
	}
	json_decref(prov);
	teeliza_buf_free(&quote_hex);
	agent_attestation_clear(&att);
	if (err) {
		json_decref(o);
		return err;
	}
	*out = o;
	return TEELIZA_OK;
}

teeliza_err agent_tee_receipts_fresh(json_t **out, agent_tee_receipts *r, const agent_tee_wallets *w,
                                    const uint8_t *nonce, size_t nonce_len)
{
	tee_attestation q;
	teeliza_buf statement, quote_hex;
	uint8_t rd[64];
	char rd_hex[129], nonce_hex[2 * TEE_NONCE_MAX + 1];
	teeliza_err err;

	assert(out != NULL && r != NULL && nonce != NULL);
	*out = NULL;
	if (nonce_len < TEE_NONCE_MIN || nonce_len > TEE_NONCE_MAX)
		return teeliza_set_error(TEELIZA_ERR_INVALID, "nonce must be %d to %d bytes, not %zu", TEE_NONCE_MIN,
		                         TEE_NONCE_MAX, nonce_len);
	teeliza_buf_init(&statement, 1 << 16);
	pthread_mutex_lock(&r->lock);
	err = prepare_locked(r, w);
	if (!err)
		err = build_statement(&statement, rd, r, w, TEE_STATEMENT_PURPOSE_FRESH, nonce, nonce_len);
	pthread_mutex_unlock(&r->lock);
	if (err) {
		teeliza_buf_free(&statement);
		return err;
	}
	err = quote_statement(&q, r, rd);
	if (err) {
		tee_attestation_free(&q);
		teeliza_buf_free(&statement);
		return err;
	}
	teeliza_buf_init(&quote_hex, 2 * q.quote.len + 1);
	err = teeliza_buf_reserve(&quote_hex, 2 * q.quote.len + 1);
	if (!err) {
		teeliza_hex_encode((char *)quote_hex.data, q.quote.data, q.quote.len);
		teeliza_hex_encode(rd_hex, rd, 64);
		teeliza_hex_encode(nonce_hex, nonce, nonce_len);
		*out = json_pack("{s:s, s:s, s:s, s:s, s:s, s:s, s:s%}", "agentId", r->agent_id, "nonce", nonce_hex,
		                 "replyKey", r->public_hex, "statement", (const char *)statement.data, "reportData",
		                 rd_hex, "quote", (const char *)quote_hex.data, "eventLog",
		                 q.event_log.len > 0 ? (const char *)q.event_log.data : "", q.event_log.len);
		if (*out == NULL)
			err = teeliza_set_error(TEELIZA_ERR_NOMEM, "out of memory");
	}
	teeliza_buf_free(&quote_hex);
	teeliza_buf_free(&statement);
	tee_attestation_free(&q);
	return err;
}
