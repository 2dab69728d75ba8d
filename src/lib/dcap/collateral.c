/*
 * Collateral in dcap-qvl's QuoteCollateralV3 JSON form: parsed once into
 * certificates, CRLs, TCB Info and QE Identity, with the signed texts kept
 * byte for byte. Verification state (collateral_verify in verify.c) is
 * memoized inside, under the lock.
 */
#include "dcap/verify_internal.h"

#include <stdlib.h>
#include <string.h>

#include "teeliza/common/encoding.h"

#define WHAT "collateral"

enum {
	F_PCK_CRL_ISSUER_CHAIN,
	F_ROOT_CA_CRL,
	F_PCK_CRL,
	F_TCB_INFO_ISSUER_CHAIN,
	F_TCB_INFO,
	F_TCB_INFO_SIGNATURE,
	F_QE_IDENTITY_ISSUER_CHAIN,
	F_QE_IDENTITY,
	F_QE_IDENTITY_SIGNATURE,
	F_PCK_CERTIFICATE_CHAIN,
	F__COUNT
};

static const char *const field_names[F__COUNT] = {
	"pck_crl_issuer_chain", "root_ca_crl", "pck_crl", "tcb_info_issuer_chain", "tcb_info",
	"tcb_info_signature", "qe_identity_issuer_chain", "qe_identity", "qe_identity_signature",
	"pck_certificate_chain",
};

/* Move a decoded string field into *out (required unless optional). */
static teeliza_err take_string(char **out, size_t *len, dcap_flat_field *f, bool optional)
{
	*out = NULL;
	*len = 0;
	if (optional && (!f->present || f->is_null))
		return TEELIZA_OK;
	if (!f->present)
		return teeliza_set_error(TEELIZA_ERR_PARSE, WHAT ": missing \"%s\"", f->name);
	if (f->value == NULL)
		return teeliza_set_error(TEELIZA_ERR_PARSE, WHAT ": \"%s\" must be a string", f->name);
	if (f->len == 0 || strlen(f->value) != f->len)
		return teeliza_set_error(TEELIZA_ERR_PARSE, WHAT ": \"%s\" is empty or holds a NUL character",
		                         f->name);
	*out = f->value;
	*len = f->len;
	f->value = NULL;
	return TEELIZA_OK;
}

static teeliza_err take_hex(uint8_t **out, size_t *len, dcap_flat_field *f)
{
	char *s;
	size_t n;
	teeliza_err err = take_string(&s, &n, f, false);

	*out = NULL;
	*len = 0;
	if (err)
		return err;
	if (n % 2 != 0) {
		free(s);
		return teeliza_set_error(TEELIZA_ERR_PARSE, WHAT ": \"%s\" must be an even-length hex string", f->name);
	}
	*out = malloc(n / 2);
	if (*out == NULL) {
		free(s);
		return teeliza_set_error(TEELIZA_ERR_NOMEM, "out of memory");
	}
	if (teeliza_hex_decode(*out, n / 2, len, s, n, false) != TEELIZA_OK) {
		free(*out);
		*out = NULL;
		*len = 0;
		free(s);
		return teeliza_set_error(TEELIZA_ERR_PARSE, WHAT ": \"%s\" is not hex", f->name);
	}
	free(s);
	return TEELIZA_OK;
}

static teeliza_err take_sig(uint8_t out[64], dcap_flat_field *f)
{
	uint8_t *b;
	size_t n;
	teeliza_err err = take_hex(&b, &n, f);

	if (err)
		return err;
	if (n != 64) {
		free(b);
		return teeliza_set_error(TEELIZA_ERR_PARSE, WHAT ": \"%s\" must be 64 bytes (r || s), got %zu", f->name,
		                         n);
	}
	memcpy(out, b, 64);
	free(b);
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

static teeliza_err parse_strings(dcap_collateral *c, dcap_flat_field *f)
{
	teeliza_err err;

	err = take_string(&c->pck_crl_issuer_chain, &c->pck_crl_issuer_chain_len, &f[F_PCK_CRL_ISSUER_CHAIN], false);
	if (!err)
		err = take_hex(&c->root_ca_crl, &c->root_ca_crl_len, &f[F_ROOT_CA_CRL]);
	if (!err)
		err = take_hex(&c->pck_crl, &c->pck_crl_len, &f[F_PCK_CRL]);
	if (!err)
		err = take_string(&c->tcb_info_issuer_chain, &c->tcb_info_issuer_chain_len, &f[F_TCB_INFO_ISSUER_CHAIN],
		                  false);
	if (!err)
		err = take_string(&c->tcb_info, &c->tcb_info_len, &f[F_TCB_INFO], false);
	if (!err)
		err = take_sig(c->tcb_info_signature, &f[F_TCB_INFO_SIGNATURE]);
	if (!err)
		err = take_string(&c->qe_identity_issuer_chain, &c->qe_identity_issuer_chain_len,
		                  &f[F_QE_IDENTITY_ISSUER_CHAIN], false);
	if (!err)
		err = take_string(&c->qe_identity, &c->qe_identity_len, &f[F_QE_IDENTITY], false);
	if (!err)
		err = take_sig(c->qe_identity_signature, &f[F_QE_IDENTITY_SIGNATURE]);
	if (!err)
		err = take_string(&c->pck_certificate_chain, &c->pck_certificate_chain_len, &f[F_PCK_CERTIFICATE_CHAIN],
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
	/* Not pck_chain: the quote carries its own, so that one is never verified and lends no root. */
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

teeliza_err dcap_collateral_parse_json(dcap_collateral **out, const char *json, size_t json_len)
{
	dcap_flat_field f[F__COUNT];
	dcap_collateral *c;
	size_t i;
	teeliza_err err;

	*out = NULL;
	for (i = 0; i < F__COUNT; i++)
		f[i].name = field_names[i];
	err = dcap_flat_json_parse(f, F__COUNT, json, json_len, WHAT);
	if (err)
		return err;
	c = calloc(1, sizeof(*c));
	if (c == NULL) {
		err = teeliza_set_error(TEELIZA_ERR_NOMEM, "out of memory");
		goto out;
	}
	atomic_init(&c->refs, 1);
	if (pthread_mutex_init(&c->lock, NULL) != 0) {
		free(c);
		err = teeliza_set_error(TEELIZA_ERR_NOMEM, "cannot create a mutex");
		goto out;
	}
	err = parse_strings(c, f);
	if (!err)
		err = parse_pki(c);
	if (!err)
		err = dcap_tcb_info_parse(&c->tcb, c->tcb_info, c->tcb_info_len);
	if (!err)
		err = dcap_qe_identity_parse(&c->qe, c->qe_identity, c->qe_identity_len);
	if (err)
		dcap_collateral_free(c);
	else
		*out = c;
out:
	for (i = 0; i < F__COUNT; i++)
		free(f[i].value);
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
	for (i = 0; i < DCAP_QE_MEMO; i++)
		EVP_PKEY_free(c->qe_memo[i].att);
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
