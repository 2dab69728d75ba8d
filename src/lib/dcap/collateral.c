/*
 * Collateral in dcap-qvl's QuoteCollateralV3 JSON form: parsed once into
 * certificates, CRLs, TCB Info and QE Identity, with the signed texts kept
 * byte for byte. Verification state (collateral_verify in verify.c) is
 * memoized inside, under the lock.
 */
#include "dcap/verify_internal.h"

#include <stdlib.h>
#include <string.h>

#include "teeliza/encoding.h"

#define WHAT "collateral"

static teeliza_err dup_string(char **out, size_t *len, const json_t *obj, const char *key, bool optional)
{
	const json_t *v = json_object_get(obj, key);

	*out = NULL;
	*len = 0;
	if (optional && (v == NULL || json_is_null(v)))
		return TEELIZA_OK;
	if (v == NULL)
		return teeliza_set_error(TEELIZA_ERR_PARSE, WHAT ": missing \"%s\"", key);
	if (!json_is_string(v))
		return teeliza_set_error(TEELIZA_ERR_PARSE, WHAT ": \"%s\" must be a string", key);
	*len = json_string_length(v);
	if (*len == 0)
		return teeliza_set_error(TEELIZA_ERR_PARSE, WHAT ": \"%s\" is empty", key);
	*out = malloc(*len + 1);
	if (*out == NULL)
		return teeliza_set_error(TEELIZA_ERR_NOMEM, "out of memory");
	memcpy(*out, json_string_value(v), *len + 1);
	return TEELIZA_OK;
}

static teeliza_err dup_hex(uint8_t **out, size_t *len, const json_t *obj, const char *key)
{
	const json_t *v = json_object_get(obj, key);
	const char *s;
	size_t n;

	*out = NULL;
	*len = 0;
	if (v == NULL)
		return teeliza_set_error(TEELIZA_ERR_PARSE, WHAT ": missing \"%s\"", key);
	if (!json_is_string(v))
		return teeliza_set_error(TEELIZA_ERR_PARSE, WHAT ": \"%s\" must be a hex string", key);
	s = json_string_value(v);
	n = json_string_length(v);
	if (n == 0 || n % 2 != 0)
		return teeliza_set_error(TEELIZA_ERR_PARSE, WHAT ": \"%s\" must be a non-empty even-length hex string",
		                         key);
	*out = malloc(n / 2);
	if (*out == NULL)
		return teeliza_set_error(TEELIZA_ERR_NOMEM, "out of memory");
	if (teeliza_hex_decode(*out, n / 2, len, s, n, false) != TEELIZA_OK) {
		free(*out);
		*out = NULL;
		*len = 0;
		return teeliza_set_error(TEELIZA_ERR_PARSE, WHAT ": \"%s\" is not hex", key);
	}
	return TEELIZA_OK;
}

static teeliza_err pool_add(STACK_OF(X509) *pool, STACK_OF(X509) *chain)
{
	int i;

	for (i = 0; chain != NULL && i < sk_X509_num(chain); i++) {
		X509 *x = sk_X509_value(chain, i);

		if (sk_X509_push(pool, x) <= 0)
			return teeliza_set_error(TEELIZA_ERR_NOMEM, "out of memory");
		X509_up_ref(x);
	}
	return TEELIZA_OK;
}

static teeliza_err parse_strings(dcap_collateral *c, const json_t *obj)
{
	teeliza_err err;

	err = dup_string(&c->pck_crl_issuer_chain, &c->pck_crl_issuer_chain_len, obj, "pck_crl_issuer_chain", false);
	if (!err)
		err = dup_hex(&c->root_ca_crl, &c->root_ca_crl_len, obj, "root_ca_crl");
	if (!err)
		err = dup_hex(&c->pck_crl, &c->pck_crl_len, obj, "pck_crl");
	if (!err)
		err = dup_string(&c->tcb_info_issuer_chain, &c->tcb_info_issuer_chain_len, obj, "tcb_info_issuer_chain",
		                 false);
	if (!err)
		err = dup_string(&c->tcb_info, &c->tcb_info_len, obj, "tcb_info", false);
	if (!err)
		err = dcap_json_hex(c->tcb_info_signature, 64, obj, "tcb_info_signature", WHAT);
	if (!err)
		err = dup_string(&c->qe_identity_issuer_chain, &c->qe_identity_issuer_chain_len, obj,
		                 "qe_identity_issuer_chain", false);
	if (!err)
		err = dup_string(&c->qe_identity, &c->qe_identity_len, obj, "qe_identity", false);
	if (!err)
		err = dcap_json_hex(c->qe_identity_signature, 64, obj, "qe_identity_signature", WHAT);
	if (!err)
		err = dup_string(&c->pck_certificate_chain, &c->pck_certificate_chain_len, obj, "pck_certificate_chain",
		                 true);
	return err;
}

static teeliza_err parse_pki(dcap_collateral *c)
{
	teeliza_err err;

	err = dcap_pem_chain(&c->pck_crl_chain, c->pck_crl_issuer_chain, c->pck_crl_issuer_chain_len,
	                     WHAT " pck_crl_issuer_chain");
	if (!err)
		err = dcap_pem_chain(&c->tcb_chain, c->tcb_info_issuer_chain, c->tcb_info_issuer_chain_len,
		                     WHAT " tcb_info_issuer_chain");
	if (!err)
		err = dcap_pem_chain(&c->qe_chain, c->qe_identity_issuer_chain, c->qe_identity_issuer_chain_len,
		                     WHAT " qe_identity_issuer_chain");
	if (!err && c->pck_certificate_chain != NULL)
		err = dcap_pem_chain(&c->pck_chain, c->pck_certificate_chain, c->pck_certificate_chain_len,
		                     WHAT " pck_certificate_chain");
	if (!err)
		err = dcap_der_crl(&c->root_crl, c->root_ca_crl, c->root_ca_crl_len, WHAT " root_ca_crl");
	if (!err)
		err = dcap_der_crl(&c->pck_crl_obj, c->pck_crl, c->pck_crl_len, WHAT " pck_crl");
	if (err)
		return err;
	c->pool = sk_X509_new_null();
	if (c->pool == NULL)
		return teeliza_set_error(TEELIZA_ERR_NOMEM, "out of memory");
	err = pool_add(c->pool, c->pck_crl_chain);
	if (!err)
		err = pool_add(c->pool, c->tcb_chain);
	if (!err)
		err = pool_add(c->pool, c->qe_chain);
	if (!err)
		err = pool_add(c->pool, c->pck_chain);
	if (err)
		return err;
	c->root_crl_this = dcap_asn1_time(X509_CRL_get0_lastUpdate(c->root_crl));
	c->pck_crl_this = dcap_asn1_time(X509_CRL_get0_lastUpdate(c->pck_crl_obj));
	/* A CRL without nextUpdate never expires by date. */
	c->root_crl_next = X509_CRL_get0_nextUpdate(c->root_crl) != NULL
	                           ? dcap_asn1_time(X509_CRL_get0_nextUpdate(c->root_crl))
	                           : INT64_MAX;
	c->pck_crl_next = X509_CRL_get0_nextUpdate(c->pck_crl_obj) != NULL
	                          ? dcap_asn1_time(X509_CRL_get0_nextUpdate(c->pck_crl_obj))
	                          : INT64_MAX;
	return TEELIZA_OK;
}

teeliza_err dcap_collateral_build(dcap_collateral **out, const json_t *obj)
{
	dcap_collateral *c;
	teeliza_err err;

	*out = NULL;
	c = calloc(1, sizeof(*c));
	if (c == NULL)
		return teeliza_set_error(TEELIZA_ERR_NOMEM, "out of memory");
	atomic_init(&c->refs, 1);
	if (pthread_mutex_init(&c->lock, NULL) != 0) {
		free(c);
		return teeliza_set_error(TEELIZA_ERR_NOMEM, "cannot create a mutex");
	}
	err = parse_strings(c, obj);
	if (!err)
		err = parse_pki(c);
	if (!err)
		err = dcap_tcb_info_parse(&c->tcb, c->tcb_info, c->tcb_info_len);
	if (!err)
		err = dcap_qe_identity_parse(&c->qe, c->qe_identity, c->qe_identity_len);
	if (err) {
		dcap_collateral_free(c);
		return err;
	}
	*out = c;
	return TEELIZA_OK;
}

teeliza_err dcap_collateral_parse_json(dcap_collateral **out, const char *json, size_t json_len)
{
	json_t *obj;
	teeliza_err err;

	*out = NULL;
	err = dcap_json_load(&obj, json, json_len, WHAT);
	if (err)
		return err;
	err = dcap_collateral_build(out, obj);
	json_decref(obj);
	return err;
}

static teeliza_err set_hex(json_t *obj, const char *key, const uint8_t *b, size_t n)
{
	char *hex = malloc(2 * n + 1);
	int rc;

	if (hex == NULL)
		return teeliza_set_error(TEELIZA_ERR_NOMEM, "out of memory");
	teeliza_hex_encode(hex, b, n);
	rc = json_object_set_new(obj, key, json_stringn(hex, 2 * n));
	free(hex);
	return rc == 0 ? TEELIZA_OK : teeliza_set_error(TEELIZA_ERR_NOMEM, "out of memory");
}

static teeliza_err set_str(json_t *obj, const char *key, const char *s, size_t n)
{
	return json_object_set_new(obj, key, json_stringn(s, n)) == 0
	               ? TEELIZA_OK
	               : teeliza_set_error(TEELIZA_ERR_NOMEM, "out of memory");
}

teeliza_err dcap_collateral_to_json(teeliza_buf *out, const dcap_collateral *c)
{
	json_t *obj = json_object();
	char *text = NULL;
	teeliza_err err;

	if (obj == NULL)
		return teeliza_set_error(TEELIZA_ERR_NOMEM, "out of memory");
	err = set_str(obj, "pck_crl_issuer_chain", c->pck_crl_issuer_chain, c->pck_crl_issuer_chain_len);
	if (!err)
		err = set_hex(obj, "root_ca_crl", c->root_ca_crl, c->root_ca_crl_len);
	if (!err)
		err = set_hex(obj, "pck_crl", c->pck_crl, c->pck_crl_len);
	if (!err)
		err = set_str(obj, "tcb_info_issuer_chain", c->tcb_info_issuer_chain, c->tcb_info_issuer_chain_len);
	if (!err)
		err = set_str(obj, "tcb_info", c->tcb_info, c->tcb_info_len);
	if (!err)
		err = set_hex(obj, "tcb_info_signature", c->tcb_info_signature, 64);
	if (!err)
		err = set_str(obj, "qe_identity_issuer_chain", c->qe_identity_issuer_chain,
		              c->qe_identity_issuer_chain_len);
	if (!err)
		err = set_str(obj, "qe_identity", c->qe_identity, c->qe_identity_len);
	if (!err)
		err = set_hex(obj, "qe_identity_signature", c->qe_identity_signature, 64);
	if (!err && c->pck_certificate_chain != NULL)
		err = set_str(obj, "pck_certificate_chain", c->pck_certificate_chain, c->pck_certificate_chain_len);
	if (!err) {
		text = json_dumps(obj, JSON_INDENT(2) | JSON_PRESERVE_ORDER);
		err = text == NULL ? teeliza_set_error(TEELIZA_ERR_NOMEM, "out of memory")
		                   : teeliza_buf_append_str(out, text);
	}
	free(text);
	json_decref(obj);
	return err;
}

dcap_collateral *dcap_collateral_ref(dcap_collateral *c)
{
	atomic_fetch_add(&c->refs, 1);
	return c;
}

void dcap_collateral_free(dcap_collateral *c)
{
	size_t i;

	if (c == NULL || atomic_fetch_sub(&c->refs, 1) != 1)
		return;
	for (i = 0; i < DCAP_PCK_MEMO; i++)
		EVP_PKEY_free(c->pck_memo[i].key);
	dcap_tcb_info_free(&c->tcb);
	dcap_qe_identity_free(&c->qe);
	sk_X509_pop_free(c->pck_crl_chain, X509_free);
	sk_X509_pop_free(c->tcb_chain, X509_free);
	sk_X509_pop_free(c->qe_chain, X509_free);
	sk_X509_pop_free(c->pck_chain, X509_free);
	sk_X509_pop_free(c->pool, X509_free);
	X509_CRL_free(c->root_crl);
	X509_CRL_free(c->pck_crl_obj);
	free(c->pck_crl_issuer_chain);
	free(c->root_ca_crl);
	free(c->pck_crl);
	free(c->tcb_info_issuer_chain);
	free(c->tcb_info);
	free(c->qe_identity_issuer_chain);
	free(c->qe_identity);
	free(c->pck_certificate_chain);
	pthread_mutex_destroy(&c->lock);
	free(c);
}

void dcap_collateral_get_info(dcap_collateral_info *out, const dcap_collateral *c)
{
	int64_t lo, hi;

	memset(out, 0, sizeof(*out));
	out->tdx = c->tcb.tdx;
	memcpy(out->fmspc, c->tcb.fmspc, 6);
	memcpy(out->pceid, c->tcb.pceid, 2);
	out->tcb_info_version = c->tcb.version;
	out->tcb_eval_number = c->tcb.eval_number;
	lo = c->tcb.issue_date;
	lo = c->qe.issue_date > lo ? c->qe.issue_date : lo;
	lo = c->root_crl_this > lo ? c->root_crl_this : lo;
	lo = c->pck_crl_this > lo ? c->pck_crl_this : lo;
	hi = c->tcb.next_update;
	hi = c->qe.next_update < hi ? c->qe.next_update : hi;
	hi = c->root_crl_next < hi ? c->root_crl_next : hi;
	hi = c->pck_crl_next < hi ? c->pck_crl_next : hi;
	out->not_before = lo;
	out->not_after = hi;
}
