/*
 * Collateral for simulated quotes in dcap-qvl's QuoteCollateralV3 JSON form
 * (spec §3): a TDX TCB Info v3 and a TD_QE identity v2 written as compact
 * JSON in Intel's key order and signed over their exact bytes by the
 * simulator's TCB signing key, the issuer chains, and empty CRLs from the
 * root and the PCK Platform CA. Every value comes from sim_values.c, so the
 * collateral matches the PCK certificate and the quotes: a verifier that
 * trusts the simulator root gets UpToDate with no advisories.
 */
#include "sim_internal.h"

#include "teeliza/common/encoding.h"

#include <assert.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <jansson.h>

#define SIM_COLLATERAL_MAX (1024 * 1024)
#define SIM_JSON_MAX (64 * 1024)
/* 9999-12-31T23:59:59Z: the last time RFC 3339 dates and X.509 times can hold. */
#define SIM_TIME_MAX INT64_C(253402300799)

/* Intel's names for the components, as the PCS TCB Info carries them. */
static const char *const sgx_component_names[SIM_TCB_COMPONENTS][2] = {
	{ "BIOS", "Early Microcode Update" }, { "OS/VMM", "SGX Late Microcode Update" },
	{ "OS/VMM", "TXT SINIT" }, { "BIOS", NULL }, { "BIOS", NULL }, { "BIOS", NULL }, { NULL, NULL },
	{ "OS/VMM", "SEAMLDR ACM" },
};
static const char *const tdx_component_names[SIM_TCB_COMPONENTS][2] = {
	{ "OS/VMM", "TDX Module" }, { "OS/VMM", "TDX Module" }, { "OS/VMM", "TDX Late Microcode Update" },
};

static teeliza_err format_date(char out[21], int64_t t)
{
	time_t tt = (time_t)t;
	struct tm tm;

	if (gmtime_r(&tt, &tm) == NULL || strftime(out, 21, "%Y-%m-%dT%H:%M:%SZ", &tm) != 20)
		return teeliza_set_error(TEELIZA_ERR_INVALID, "cannot format time %lld", (long long)t);
	return TEELIZA_OK;
}

static teeliza_err append_hex_upper(teeliza_buf *b, const uint8_t *p, size_t n)
{
	teeliza_err err = TEELIZA_OK;
	size_t i;

	for (i = 0; i < n && err == TEELIZA_OK; i++)
		err = teeliza_buf_printf(b, "%02X", p[i]);
	return err;
}

static teeliza_err append_components(teeliza_buf *b, const char *key, const uint8_t svn[SIM_TCB_COMPONENTS],
                                     const char *const names[SIM_TCB_COMPONENTS][2])
{
	teeliza_err err = teeliza_buf_printf(b, "\"%s\":[", key);
	size_t i;

	for (i = 0; i < SIM_TCB_COMPONENTS && err == TEELIZA_OK; i++) {
		err = teeliza_buf_printf(b, "%s{\"svn\":%u", i ? "," : "", svn[i]);
		if (err == TEELIZA_OK && names[i][0] != NULL)
			err = teeliza_buf_printf(b, ",\"category\":\"%s\"", names[i][0]);
		if (err == TEELIZA_OK && names[i][1] != NULL)
			err = teeliza_buf_printf(b, ",\"type\":\"%s\"", names[i][1]);
		if (err == TEELIZA_OK)
			err = teeliza_buf_append_str(b, "}");
	}
	if (err == TEELIZA_OK)
		err = teeliza_buf_append_str(b, "]");
	return err;
}

/* The tdxModule object body shared by the base entry and the identity: zero mrsigner = Intel-signed. */
static teeliza_err append_module_fields(teeliza_buf *b)
{
	static const uint8_t zero_mrsigner[48];
	teeliza_err err = teeliza_buf_append_str(b, "\"mrsigner\":\"");

	if (err == TEELIZA_OK)
		err = append_hex_upper(b, zero_mrsigner, sizeof(zero_mrsigner));
	if (err == TEELIZA_OK)
		err = teeliza_buf_append_str(b, "\",\"attributes\":\"0000000000000000\","
		                                "\"attributesMask\":\"FFFFFFFFFFFFFFFF\"");
	return err;
}

static teeliza_err tcb_info_text(teeliza_buf *b, const char *issue, const char *next)
{
	teeliza_err err;

	teeliza_buf_init(b, SIM_JSON_MAX);
	err = teeliza_buf_printf(b, "{\"id\":\"TDX\",\"version\":3,\"issueDate\":\"%s\",\"nextUpdate\":\"%s\",\"fmspc\":\"",
	                         issue, next);
	if (err == TEELIZA_OK)
		err = append_hex_upper(b, sim_fmspc, sizeof(sim_fmspc));
	if (err == TEELIZA_OK)
		err = teeliza_buf_append_str(b, "\",\"pceId\":\"");
	if (err == TEELIZA_OK)
		err = append_hex_upper(b, sim_pceid, sizeof(sim_pceid));
	if (err == TEELIZA_OK)
		err = teeliza_buf_printf(b, "\",\"tcbType\":0,\"tcbEvaluationDataNumber\":%u,\"tdxModule\":{",
		                         sim_tcb_eval_number);
	if (err == TEELIZA_OK)
		err = append_module_fields(b);
	/* The module identity for tee_tcb_svn[1] (major version), with its minor SVN as the UpToDate level. */
	if (err == TEELIZA_OK)
		err = teeliza_buf_printf(b, "},\"tdxModuleIdentities\":[{\"id\":\"TDX_%02X\",", sim_tee_tcb_svn[1]);
	if (err == TEELIZA_OK)
		err = append_module_fields(b);
	if (err == TEELIZA_OK)
		err = teeliza_buf_printf(b, ",\"tcbLevels\":[{\"tcb\":{\"isvsvn\":%u},\"tcbDate\":\"%s\","
		                            "\"tcbStatus\":\"UpToDate\"}]}],\"tcbLevels\":[{\"tcb\":{",
		                         sim_tee_tcb_svn[0], sim_tcb_date);
	if (err == TEELIZA_OK)
		err = append_components(b, "sgxtcbcomponents", sim_sgx_tcb_svn, sgx_component_names);
	if (err == TEELIZA_OK)
		err = teeliza_buf_printf(b, ",\"pcesvn\":%u,", sim_pcesvn);
	if (err == TEELIZA_OK)
		err = append_components(b, "tdxtcbcomponents", sim_tee_tcb_svn, tdx_component_names);
	if (err == TEELIZA_OK)
		err = teeliza_buf_printf(b, "},\"tcbDate\":\"%s\",\"tcbStatus\":\"UpToDate\"}]}", sim_tcb_date);
	if (err)
		teeliza_buf_free(b);
	return err;
}

static teeliza_err qe_identity_text(teeliza_buf *b, const char *issue, const char *next)
{
	/* Intel's TD_QE mask ignores MODE64BIT (flags bit 2): the QE's flags 0x15 are expected as 0x11. */
	static const uint8_t attributes_mask[16] = { 0xfb, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff };
	uint8_t expected[16];
	teeliza_err err;
	size_t i;

	for (i = 0; i < sizeof(expected); i++)
		expected[i] = sim_qe_attributes[i] & attributes_mask[i];
	teeliza_buf_init(b, SIM_JSON_MAX);
	err = teeliza_buf_printf(b, "{\"id\":\"TD_QE\",\"version\":2,\"issueDate\":\"%s\",\"nextUpdate\":\"%s\","
	                            "\"tcbEvaluationDataNumber\":%u,\"miscselect\":\"%08X\",\"miscselectMask\":\"FFFFFFFF\","
	                            "\"attributes\":\"",
	                         issue, next, sim_tcb_eval_number, sim_qe_miscselect);
	if (err == TEELIZA_OK)
		err = append_hex_upper(b, expected, sizeof(expected));
	if (err == TEELIZA_OK)
		err = teeliza_buf_append_str(b, "\",\"attributesMask\":\"");
	if (err == TEELIZA_OK)
		err = append_hex_upper(b, attributes_mask, sizeof(attributes_mask));
	if (err == TEELIZA_OK)
		err = teeliza_buf_append_str(b, "\",\"mrsigner\":\"");
	if (err == TEELIZA_OK)
		err = append_hex_upper(b, sim_qe_mrsigner, sizeof(sim_qe_mrsigner));
	if (err == TEELIZA_OK)
		err = teeliza_buf_printf(b, "\",\"isvprodid\":%u,\"tcbLevels\":[{\"tcb\":{\"isvsvn\":%u},\"tcbDate\":\"%s\","
		                            "\"tcbStatus\":\"UpToDate\"}]}",
		                         sim_qe_isvprodid, sim_qe_isvsvn, sim_tcb_date);
	if (err)
		teeliza_buf_free(b);
	return err;
}

/* Lowercase hex of a signature over the exact bytes of text. */
static teeliza_err sign_hex(char out[129], EVP_PKEY *key, const teeliza_buf *text)
{
	uint8_t sig[64];
	teeliza_err err = sim_sign_raw(sig, key, text->data, text->len);

	if (err == TEELIZA_OK)
		teeliza_hex_encode(out, sig, sizeof(sig));
	return err;
}

static teeliza_err set_string(json_t *obj, const char *key, const char *value)
{
	json_t *s = json_string(value);

	if (s == NULL || json_object_set_new(obj, key, s) != 0)
		return teeliza_set_error(TEELIZA_ERR_NOMEM, "cannot build collateral JSON (%s)", key);
	return TEELIZA_OK;
}

static teeliza_err set_chain(json_t *obj, const char *key, const char *leaf_pem, const char *root_pem)
{
	teeliza_buf chain;
	teeliza_err err;

	teeliza_buf_init(&chain, SIM_JSON_MAX);
	err = teeliza_buf_append_str(&chain, leaf_pem);
	if (err == TEELIZA_OK)
		err = teeliza_buf_append_str(&chain, root_pem);
	if (err == TEELIZA_OK)
		err = set_string(obj, key, (const char *)chain.data);
	teeliza_buf_free(&chain);
	return err;
}

static teeliza_err set_crl(json_t *obj, const char *key, const sim_entity *issuer, int64_t now)
{
	teeliza_buf der;
	char *hex;
	teeliza_err err = sim_crl_der(&der, issuer->cert, issuer->key, now);

	if (err)
		return err;
	hex = malloc(2 * der.len + 1);
	if (hex == NULL) {
		err = teeliza_set_error(TEELIZA_ERR_NOMEM, "out of memory");
	} else {
		teeliza_hex_encode(hex, der.data, der.len);
		err = set_string(obj, key, hex);
	}
	free(hex);
	teeliza_buf_free(&der);
	return err;
}

teeliza_err tee_sim_collateral_json(teeliza_buf *out, const tee_sim_pki *pki, int64_t now)
{
	char issue[21], next[21], tcb_sig[129], qe_sig[129];
	teeliza_buf tcb_info = { 0 }, qe_identity = { 0 };
	json_t *obj = NULL;
	char *text = NULL;
	teeliza_err err;

	assert(out != NULL && pki != NULL);
	teeliza_buf_init(out, SIM_COLLATERAL_MAX);
	if (now < SIM_COLLATERAL_BEFORE || now > SIM_TIME_MAX - SIM_COLLATERAL_AFTER)
		return teeliza_set_error(TEELIZA_ERR_INVALID, "collateral time %lld is out of range (1970-01-02 .. 9999)",
		                         (long long)now);
	err = format_date(issue, now - SIM_COLLATERAL_BEFORE);
	if (err == TEELIZA_OK)
		err = format_date(next, now + SIM_COLLATERAL_AFTER);
	if (err == TEELIZA_OK)
		err = tcb_info_text(&tcb_info, issue, next);
	if (err == TEELIZA_OK)
		err = qe_identity_text(&qe_identity, issue, next);
	if (err == TEELIZA_OK)
		err = sign_hex(tcb_sig, pki->tcb.key, &tcb_info);
	if (err == TEELIZA_OK)
		err = sign_hex(qe_sig, pki->tcb.key, &qe_identity);
	if (err == TEELIZA_OK && (obj = json_object()) == NULL)
		err = teeliza_set_error(TEELIZA_ERR_NOMEM, "out of memory");
	/* Same keys, same order as dcap-qvl's sample collateral. */
	if (err == TEELIZA_OK)
		err = set_chain(obj, "pck_crl_issuer_chain", pki->pck_ca.pem, pki->root.pem);
	if (err == TEELIZA_OK)
		err = set_crl(obj, "root_ca_crl", &pki->root, now);
	if (err == TEELIZA_OK)
		err = set_crl(obj, "pck_crl", &pki->pck_ca, now);
	if (err == TEELIZA_OK)
		err = set_chain(obj, "tcb_info_issuer_chain", pki->tcb.pem, pki->root.pem);
	if (err == TEELIZA_OK)
		err = set_string(obj, "tcb_info", (const char *)tcb_info.data);
	if (err == TEELIZA_OK)
		err = set_string(obj, "tcb_info_signature", tcb_sig);
	if (err == TEELIZA_OK)
		err = set_chain(obj, "qe_identity_issuer_chain", pki->tcb.pem, pki->root.pem);
	if (err == TEELIZA_OK)
		err = set_string(obj, "qe_identity", (const char *)qe_identity.data);
	if (err == TEELIZA_OK)
		err = set_string(obj, "qe_identity_signature", qe_sig);
	if (err == TEELIZA_OK && (text = json_dumps(obj, JSON_INDENT(2))) == NULL)
		err = teeliza_set_error(TEELIZA_ERR_NOMEM, "cannot serialise the collateral JSON");
	if (err == TEELIZA_OK)
		err = teeliza_buf_append_str(out, text);
	free(text);
	json_decref(obj);
	teeliza_buf_free(&tcb_info);
	teeliza_buf_free(&qe_identity);
	if (err)
		teeliza_buf_free(out);
	return err;
}
