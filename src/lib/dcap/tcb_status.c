/*
 * Platform TCB level, TDX module identity level, TD relaunch and status
 * convergence, as Intel's QVL does them (TcbLevelCheck, TdxModuleCheck,
 * TDRelaunchCheck). Not dcap-qvl's "worse of the two": a ConfigurationNeeded
 * platform with an OutOfDate QE is OutOfDateConfigurationNeeded here.
 */
#include "dcap/verify_internal.h"

#include <stdarg.h>
#include <stdio.h>
#include <string.h>

static const char *const status_names[DCAP_STATUS__COUNT] = {
	[DCAP_STATUS_NONE] = "",
	[DCAP_STATUS_UP_TO_DATE] = "UpToDate",
	[DCAP_STATUS_SW_HARDENING_NEEDED] = "SWHardeningNeeded",
	[DCAP_STATUS_CONFIGURATION_NEEDED] = "ConfigurationNeeded",
	[DCAP_STATUS_CONFIGURATION_AND_SW_HARDENING_NEEDED] = "ConfigurationAndSWHardeningNeeded",
	[DCAP_STATUS_OUT_OF_DATE] = "OutOfDate",
	[DCAP_STATUS_OUT_OF_DATE_CONFIGURATION_NEEDED] = "OutOfDateConfigurationNeeded",
	[DCAP_STATUS_TD_RELAUNCH_ADVISED] = "TDRelaunchAdvised",
	[DCAP_STATUS_TD_RELAUNCH_ADVISED_CONFIGURATION_NEEDED] = "TDRelaunchAdvisedConfigurationNeeded",
	[DCAP_STATUS_REVOKED] = "Revoked",
};

const char *dcap_tcb_status_name(dcap_tcb_status s)
{
	if ((unsigned)s >= DCAP_STATUS__COUNT)
		return "";
	return status_names[s];
}

teeliza_err dcap_tcb_status_parse(dcap_tcb_status *out, const char *name)
{
	unsigned i;

	*out = DCAP_STATUS_NONE;
	for (i = 1; i < DCAP_STATUS__COUNT; i++) {
		if (strcmp(name, status_names[i]) == 0) {
			*out = (dcap_tcb_status)i;
			return TEELIZA_OK;
		}
	}
	return teeliza_set_error(TEELIZA_ERR_INVALID,
	                         "unknown TCB status \"%.64s\" (UpToDate, SWHardeningNeeded, ConfigurationNeeded, "
	                         "ConfigurationAndSWHardeningNeeded, OutOfDate, OutOfDateConfigurationNeeded, "
	                         "TDRelaunchAdvised, TDRelaunchAdvisedConfigurationNeeded, Revoked)",
	                         name);
}

/* QVL convergeTcbStatusWithQeTcbStatus / convergeTcbStatusWithTdxModuleStatus (same table). */
dcap_tcb_status dcap_converge(dcap_tcb_status level, dcap_tcb_status other)
{
	if (other == DCAP_STATUS_OUT_OF_DATE) {
		if (level == DCAP_STATUS_UP_TO_DATE || level == DCAP_STATUS_SW_HARDENING_NEEDED)
			return DCAP_STATUS_OUT_OF_DATE;
		if (level == DCAP_STATUS_CONFIGURATION_NEEDED ||
		    level == DCAP_STATUS_CONFIGURATION_AND_SW_HARDENING_NEEDED)
			return DCAP_STATUS_OUT_OF_DATE_CONFIGURATION_NEEDED;
	}
	if (other == DCAP_STATUS_REVOKED)
		return DCAP_STATUS_REVOKED;
	return level;
}

static bool config_needed(dcap_tcb_status s)
{
	return s == DCAP_STATUS_CONFIGURATION_NEEDED || s == DCAP_STATUS_OUT_OF_DATE_CONFIGURATION_NEEDED ||
	       s == DCAP_STATUS_CONFIGURATION_AND_SW_HARDENING_NEEDED ||
	       s == DCAP_STATUS_TD_RELAUNCH_ADVISED_CONFIGURATION_NEEDED;
}

static bool sgx_ge(const dcap_pck_ext *pck, const dcap_tcb_level *l)
{
	size_t i;

	for (i = 0; i < 16; i++)
		if (pck->comp_svn[i] < l->sgx[i])
			return false;
	return pck->pcesvn >= l->pcesvn;
}

/* QVL isTdxTcbHigherOrEqual: with a module major version > 0, bytes 0 and 1 are judged by the module identity. */
static bool tdx_ge(const uint8_t tee_tcb_svn[16], const dcap_tcb_level *l)
{
	size_t i = tee_tcb_svn[1] > 0 ? 2 : 0;

	for (; i < 16; i++)
		if (tee_tcb_svn[i] < l->tdx[i])
			return false;
	return true;
}

/* The first identity level (sorted highest first) whose isvsvn the given SVN reaches. */
const dcap_id_level *dcap_id_level_match(const dcap_id_level *levels, size_t n, uint32_t svn)
{
	size_t i;

	for (i = 0; i < n; i++)
		if (svn >= levels[i].isvsvn)
			return &levels[i];
	return NULL;
}

static void hex16(char out[33], const uint8_t b[16])
{
	size_t i;

	for (i = 0; i < 16; i++)
		snprintf(out + 2 * i, 3, "%02x", b[i]);
}

static teeliza_err fail(dcap_tcb_eval *ev, dcap_failure f, const char *fmt, ...) TEELIZA_PRINTF(3, 4);

static teeliza_err fail(dcap_tcb_eval *ev, dcap_failure f, const char *fmt, ...)
{
	char msg[512];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	ev->failure = f;
	return teeliza_set_error(TEELIZA_ERR_VERIFY, "%s", msg);
}

/* QVL checkForRelaunch (TD 1.5 quotes). */
static teeliza_err relaunch(dcap_tcb_eval *ev, const dcap_tcb_info *ti, const uint8_t svn2[16],
                            dcap_tcb_status sgx_status, dcap_tcb_status qe_status)
{
	const dcap_tcb_level *latest = &ti->levels[0];
	bool reached;

	if (qe_status != DCAP_STATUS_UP_TO_DATE)
		return TEELIZA_OK;
	if (sgx_status != DCAP_STATUS_UP_TO_DATE && sgx_status != DCAP_STATUS_SW_HARDENING_NEEDED &&
	    sgx_status != DCAP_STATUS_CONFIGURATION_NEEDED &&
	    sgx_status != DCAP_STATUS_CONFIGURATION_AND_SW_HARDENING_NEEDED)
		return TEELIZA_OK;
	if (ev->converged != DCAP_STATUS_OUT_OF_DATE && ev->converged != DCAP_STATUS_OUT_OF_DATE_CONFIGURATION_NEEDED)
		return TEELIZA_OK;
	if (ev->module_status != DCAP_STATUS_OUT_OF_DATE)
		return TEELIZA_OK;
	if (svn2[1] == 0) {
		reached = svn2[0] >= latest->tdx[0] && svn2[2] >= latest->tdx[2];
	} else {
		const dcap_module_identity *m2 = dcap_tcb_info_find_module(ti, svn2[1]);
		if (m2 == NULL)
			return fail(ev, DCAP_FAIL_TDX_MODULE_MISMATCH,
			            "TD relaunch check: TCB Info has no TDX module identity TDX_%02X (tee_tcb_svn2[1])",
			            svn2[1]);
		reached = svn2[0] >= m2->levels[0].isvsvn && svn2[2] >= latest->tdx[2];
	}
	if (reached)
		ev->converged = config_needed(sgx_status) || config_needed(ev->converged)
		                        ? DCAP_STATUS_TD_RELAUNCH_ADVISED_CONFIGURATION_NEEDED
		                        : DCAP_STATUS_TD_RELAUNCH_ADVISED;
	return TEELIZA_OK;
}

teeliza_err dcap_tcb_evaluate(dcap_tcb_eval *ev, const dcap_tcb_info *ti, const dcap_pck_ext *pck,
                              const dcap_quote *q, dcap_tcb_status qe_status)
{
	const uint8_t *svn = NULL;
	dcap_tcb_status sgx_status;
	size_t i;
	char a[33];

	memset(ev, 0, sizeof(*ev));
	if (q->header.tee_type == DCAP_TEE_TYPE_TDX)
		svn = q->body.td.tee_tcb_svn;
	for (i = 0; i < ti->nlevels; i++) {
		const dcap_tcb_level *l = &ti->levels[i];

		if (!sgx_ge(pck, l))
			continue;
		if (ev->sgx_level == NULL)
			ev->sgx_level = l;
		if (svn == NULL || tdx_ge(svn, l)) {
			ev->tdx_level = svn != NULL ? l : NULL;
			break;
		}
	}
	if (ev->sgx_level == NULL) {
		hex16(a, pck->comp_svn);
		return fail(ev, DCAP_FAIL_TCB_NOT_SUPPORTED,
		            "No matching TCB level found: no TCB level matches the platform (PCK component SVNs %s, "
		            "PCESVN %u); TCB not supported",
		            a, pck->pcesvn);
	}
	sgx_status = ev->sgx_level->status;
	if (svn == NULL) {
		ev->platform_status = sgx_status;
		ev->converged = dcap_converge(sgx_status, qe_status);
		return TEELIZA_OK;
	}
	if (ev->tdx_level == NULL) {
		hex16(a, svn);
		return fail(ev, DCAP_FAIL_TCB_NOT_SUPPORTED,
		            "No matching TCB level found: no TCB level matches the TD's tee_tcb_svn %s (the SGX "
		            "components match); TCB not supported",
		            a);
	}
	ev->platform_status = ev->tdx_level->status;

	/* QVL checkTdxModuleTcbStatus: module major 0 has no identity to judge (v4+). */
	if (svn[1] == 0) {
		ev->module_status = DCAP_STATUS_UP_TO_DATE;
	} else {
		ev->module = dcap_tcb_info_find_module(ti, svn[1]);
		if (ev->module == NULL)
			return fail(ev, DCAP_FAIL_TDX_MODULE_MISMATCH,
			            "TCB Info has no TDX module identity TDX_%02X for the TD's module major version %u",
			            svn[1], svn[1]);
		ev->module_level = dcap_id_level_match(ev->module->levels, ev->module->nlevels, svn[0]);
		if (ev->module_level == NULL)
			return fail(ev, DCAP_FAIL_TCB_NOT_SUPPORTED,
			            "TDX module TDX_%02X ISVSVN %u is below every level of its identity; TCB not supported",
			            svn[1], svn[0]);
		ev->module_status = ev->module_level->status;
	}
	ev->converged = dcap_converge(ev->platform_status, ev->module_status);
	if (ev->converged == DCAP_STATUS_REVOKED)
		return TEELIZA_OK;
	if (q->body_type == DCAP_BODY_TD15) {
		teeliza_err err = relaunch(ev, ti, q->body.td.tee_tcb_svn2, sgx_status, qe_status);

		if (err)
			return err;
	}
	ev->converged = dcap_converge(ev->converged, qe_status);
	return TEELIZA_OK;
}
