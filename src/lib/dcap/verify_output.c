/* A verification result as JSON (for programs) and as text (for people). */
#include "dcap/verify_internal.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "teeliza/common/encoding.h"

static const char *const failure_names[DCAP_FAIL__COUNT] = {
	[DCAP_FAIL_NONE] = "none",
	[DCAP_FAIL_BAD_QUOTE] = "bad_quote",
	[DCAP_FAIL_BAD_COLLATERAL] = "bad_collateral",
	[DCAP_FAIL_UNTRUSTED_ROOT] = "untrusted_root",
	[DCAP_FAIL_CHAIN] = "chain",
	[DCAP_FAIL_CERT_REVOKED] = "cert_revoked",
	[DCAP_FAIL_EXPIRED] = "expired",
	[DCAP_FAIL_COLLATERAL_SIGNATURE] = "collateral_signature",
	[DCAP_FAIL_QE_REPORT] = "qe_report",
	[DCAP_FAIL_QE_IDENTITY] = "qe_identity",
	[DCAP_FAIL_QUOTE_SIGNATURE] = "quote_signature",
	[DCAP_FAIL_TCB_MISMATCH] = "tcb_mismatch",
	[DCAP_FAIL_TCB_NOT_SUPPORTED] = "tcb_not_supported",
	[DCAP_FAIL_TDX_MODULE_MISMATCH] = "tdx_module_mismatch",
	[DCAP_FAIL_EXPECTATION] = "expectation",
	[DCAP_FAIL_EVENT_LOG] = "event_log",
	[DCAP_FAIL_APP_IDENTITY] = "app_identity",
};

const char *dcap_failure_name(dcap_failure f)
{
	if ((unsigned)f >= DCAP_FAIL__COUNT)
		return "unknown";
	return failure_names[f];
}

static const char *verdict_name(dcap_verdict v)
{
	switch (v) {
	case DCAP_VERDICT_TRUSTED:
		return "trusted";
	case DCAP_VERDICT_UNTRUSTED:
		return "untrusted";
	default:
		return "failed";
	}
}

static const struct {
	uint32_t bit;
	const char *name;
} violation_names[] = {
	{DCAP_VIOLATION_STATUS, "status"},
	{DCAP_VIOLATION_DEBUG, "debug"},
	{DCAP_VIOLATION_SEPT_VE, "sept_ve_disable"},
	{DCAP_VIOLATION_SERVICE_TD, "service_td"},
	{DCAP_VIOLATION_RESERVED_ATTR, "reserved_attributes"},
	{DCAP_VIOLATION_EXPIRED, "collateral_expired"},
	{DCAP_VIOLATION_TEE_TYPE, "tee_type"},
};

static json_t *status_json(dcap_tcb_status s)
{
	return s == DCAP_STATUS_NONE ? json_null() : json_string(dcap_tcb_status_name(s));
}

static json_t *match_json(int m)
{
	return m < 0 ? json_null() : json_boolean(m);
}

static json_t *hex_json(const uint8_t *b, size_t n)
{
	char h[65];

	teeliza_hex_encode(h, b, n);
	return json_string(h);
}

static json_t *result_json(const dcap_result *r)
{
	json_t *o = json_object(), *adv = json_array(), *viol = json_array(), *rtmr = json_array();
	char date[24];
	size_t i;

	if (o == NULL || adv == NULL || viol == NULL || rtmr == NULL) {
		json_decref(o);
		json_decref(adv);
		json_decref(viol);
		json_decref(rtmr);
		return NULL;
	}
	for (i = 0; i < r->advisory_count; i++)
		json_array_append_new(adv, json_string(r->advisory_ids[i]));
	for (i = 0; i < sizeof(violation_names) / sizeof(violation_names[0]); i++)
		if (r->violations & violation_names[i].bit)
			json_array_append_new(viol, json_string(violation_names[i].name));
	for (i = 0; i < 4; i++)
		json_array_append_new(rtmr, match_json(r->rtmr_match[i]));
	json_object_set_new(o, "verdict", json_string(verdict_name(r->verdict)));
	json_object_set_new(o, "trusted", json_boolean(r->verdict == DCAP_VERDICT_TRUSTED));
	json_object_set_new(o, "reason", json_string(r->reason));
	json_object_set_new(o, "failure", r->failure == DCAP_FAIL_NONE ? json_null()
	                                                                : json_string(dcap_failure_name(r->failure)));
	json_object_set_new(o, "violations", viol);
	json_object_set_new(o, "status", status_json(r->status));
	json_object_set_new(o, "platform_status", status_json(r->platform_status));
	json_object_set_new(o, "qe_status", status_json(r->qe_status));
	json_object_set_new(o, "module_status", status_json(r->module_status));
	json_object_set_new(o, "advisory_ids", adv);
	json_object_set_new(o, "tcb_date", r->tcb_date[0] ? json_string(r->tcb_date) : json_null());
	json_object_set_new(o, "tcb_evaluation_data_number", json_integer(r->tcb_eval_number));
	json_object_set_new(o, "collateral_expired", json_boolean(r->collateral_expired));
	if (r->collateral_not_after > 0 && r->collateral_not_after < INT64_MAX) {
		dcap_format_date(date, r->collateral_not_after);
		json_object_set_new(o, "collateral_next_update", json_string(date));
	} else {
		json_object_set_new(o, "collateral_next_update", json_null());
	}
	json_object_set_new(o, "tee", r->quote_parsed ? json_string(r->tdx ? "TDX" : "SGX") : json_null());
	json_object_set_new(o, "fmspc", r->failure == DCAP_FAIL_NONE ? hex_json(r->fmspc, 6) : json_null());
	json_object_set_new(o, "pceid", r->failure == DCAP_FAIL_NONE ? hex_json(r->pceid, 2) : json_null());
	json_object_set_new(o, "intel_root", json_boolean(r->intel_root));
	json_object_set_new(o, "report_data_match", match_json(r->report_data_match));
	json_object_set_new(o, "mrtd_match", match_json(r->mrtd_match));
	json_object_set_new(o, "rtmr_match", rtmr);
	return o;
}

teeliza_err dcap_result_to_json(teeliza_buf *out, const dcap_result *res)
{
	json_t *o = result_json(res);
	char *text;
	teeliza_err err;

	if (o == NULL)
		return teeliza_set_error(TEELIZA_ERR_NOMEM, "out of memory");
	text = json_dumps(o, JSON_INDENT(2) | JSON_PRESERVE_ORDER);
	json_decref(o);
	if (text == NULL)
		return teeliza_set_error(TEELIZA_ERR_NOMEM, "out of memory");
	err = teeliza_buf_append_str(out, text);
	free(text);
	return err;
}

static const char *match_text(int m)
{
	return m < 0 ? NULL : m ? "matches" : "DIFFERS";
}

void dcap_result_print(FILE *out, const dcap_result *r)
{
	char date[24];
	size_t i;

	fprintf(out, "Verdict: %s\n", r->verdict == DCAP_VERDICT_TRUSTED     ? "TRUSTED"
	                              : r->verdict == DCAP_VERDICT_UNTRUSTED ? "NOT TRUSTED (policy)"
	                                                                     : "VERIFICATION FAILED");
	fprintf(out, "  %-18s %s\n", "why", r->reason);
	if (r->failure != DCAP_FAIL_NONE)
		fprintf(out, "  %-18s %s\n", "failure", dcap_failure_name(r->failure));
	if (r->status != DCAP_STATUS_NONE) {
		fprintf(out, "  %-18s %s\n", "TCB status", dcap_tcb_status_name(r->status));
		fprintf(out, "  %-18s %s\n", "platform status", dcap_tcb_status_name(r->platform_status));
		fprintf(out, "  %-18s %s\n", "QE status", dcap_tcb_status_name(r->qe_status));
		if (r->module_status != DCAP_STATUS_NONE)
			fprintf(out, "  %-18s %s\n", "TDX module status", dcap_tcb_status_name(r->module_status));
		fprintf(out, "  %-18s %s\n", "TCB date", r->tcb_date);
		fprintf(out, "  %-18s", "advisory IDs");
		for (i = 0; i < r->advisory_count; i++)
			fprintf(out, "%s%s", i ? ", " : " ", r->advisory_ids[i]);
		fprintf(out, "%s\n", r->advisory_count ? "" : " none");
		fprintf(out, "  %-18s %02x%02x%02x%02x%02x%02x\n", "FMSPC", r->fmspc[0], r->fmspc[1], r->fmspc[2],
		        r->fmspc[3], r->fmspc[4], r->fmspc[5]);
		fprintf(out, "  %-18s %s\n", "root", r->intel_root ? "Intel SGX Root CA" : "non-Intel (explicitly trusted)");
	}
	if (r->collateral_not_after > 0 && r->collateral_not_after < INT64_MAX) {
		dcap_format_date(date, r->collateral_not_after);
		fprintf(out, "  %-18s %s%s\n", "collateral until", date, r->collateral_expired ? " (EXPIRED)" : "");
	}
	if (match_text(r->report_data_match))
		fprintf(out, "  %-18s %s\n", "report_data", match_text(r->report_data_match));
	if (match_text(r->mrtd_match))
		fprintf(out, "  %-18s %s\n", "MRTD", match_text(r->mrtd_match));
	for (i = 0; i < 4; i++)
		if (match_text(r->rtmr_match[i]))
			fprintf(out, "  RTMR%zu%-14s %s\n", i, "", match_text(r->rtmr_match[i]));
}
