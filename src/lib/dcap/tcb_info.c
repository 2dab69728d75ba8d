/*
 * TCB Info (Intel PCS v3 for TDX, v2/v3 for SGX): parsed from the exact
 * signed text, levels sorted as Intel's QVL orders them so that the first
 * level matching a platform is the right one whatever order the JSON uses.
 */
#include "dcap/verify_internal.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#define WHAT "TCB Info"

static const struct {
	const char *name;
	dcap_tcb_status status;
	bool identity; /* also valid in QE / TDX module identity levels */
} level_statuses[] = {
	{"UpToDate", DCAP_STATUS_UP_TO_DATE, true},
	{"SWHardeningNeeded", DCAP_STATUS_SW_HARDENING_NEEDED, false},
	{"ConfigurationNeeded", DCAP_STATUS_CONFIGURATION_NEEDED, false},
	{"ConfigurationAndSWHardeningNeeded", DCAP_STATUS_CONFIGURATION_AND_SW_HARDENING_NEEDED, false},
	{"OutOfDate", DCAP_STATUS_OUT_OF_DATE, true},
	{"OutOfDateConfigurationNeeded", DCAP_STATUS_OUT_OF_DATE_CONFIGURATION_NEEDED, false},
	{"Revoked", DCAP_STATUS_REVOKED, true},
};

teeliza_err dcap_parse_level_status(dcap_tcb_status *out, const char *s, bool identity, const char *what)
{
	size_t i;

	*out = DCAP_STATUS_NONE;
	for (i = 0; i < sizeof(level_statuses) / sizeof(level_statuses[0]); i++) {
		if (strcmp(s, level_statuses[i].name) != 0)
			continue;
		if (identity && !level_statuses[i].identity)
			break;
		*out = level_statuses[i].status;
		return TEELIZA_OK;
	}
	return teeliza_set_error(TEELIZA_ERR_PARSE, "%s: tcbStatus \"%.48s\" is not a valid %s status", what, s,
	                         identity ? "identity level" : "TCB level");
}

static teeliza_err parse_advisories(const json_t **out, const json_t *level, const char *what)
{
	const json_t *a = json_object_get(level, "advisoryIDs");
	size_t i;
	const json_t *v;

	*out = NULL;
	if (a == NULL)
		return TEELIZA_OK;
	if (!json_is_array(a))
		return teeliza_set_error(TEELIZA_ERR_PARSE, "%s: advisoryIDs must be an array", what);
	json_array_foreach(a, i, v) {
		if (!json_is_string(v) || json_string_length(v) == 0 || json_string_length(v) >= DCAP_ADVISORY_LEN)
			return teeliza_set_error(TEELIZA_ERR_PARSE,
			                         "%s: advisoryIDs[%zu] must be a string of 1..%d characters", what, i,
			                         DCAP_ADVISORY_LEN - 1);
	}
	*out = a;
	return TEELIZA_OK;
}

static teeliza_err level_common(dcap_tcb_status *status, char date[24], const json_t **adv, const json_t *lv,
                                bool identity, const char *what)
{
	const char *s;
	int64_t t;
	teeliza_err err;

	err = dcap_json_string(&s, lv, "tcbStatus", what);
	if (!err)
		err = dcap_parse_level_status(status, s, identity, what);
	if (!err)
		err = dcap_json_date(&t, lv, "tcbDate", what);
	if (!err)
		err = parse_advisories(adv, lv, what);
	if (err)
		return err;
	dcap_format_date(date, t);
	return TEELIZA_OK;
}

static int cmp_id_level(const void *a, const void *b)
{
	const dcap_id_level *x = a, *y = b;

	return x->isvsvn > y->isvsvn ? -1 : x->isvsvn < y->isvsvn ? 1 : 0;
}

teeliza_err dcap_parse_id_levels(dcap_id_level **out, size_t *n, const json_t *arr, const char *what)
{
	dcap_id_level *levels;
	const json_t *lv;
	size_t i;
	char where[96];
	teeliza_err err;

	*out = NULL;
	*n = 0;
	if (!json_is_array(arr) || json_array_size(arr) == 0)
		return teeliza_set_error(TEELIZA_ERR_PARSE, "%s: tcbLevels must be a non-empty array", what);
	if (json_array_size(arr) > DCAP_MAX_TCB_LEVELS)
		return teeliza_set_error(TEELIZA_ERR_TOO_LARGE, "%s: more than %d tcbLevels", what, DCAP_MAX_TCB_LEVELS);
	levels = calloc(json_array_size(arr), sizeof(*levels));
	if (levels == NULL)
		return teeliza_set_error(TEELIZA_ERR_NOMEM, "out of memory");
	json_array_foreach(arr, i, lv) {
		const json_t *tcb = json_object_get(lv, "tcb");

		snprintf(where, sizeof(where), "%s tcbLevels[%zu]", what, i);
		if (!json_is_object(lv) || !json_is_object(tcb)) {
			free(levels);
			return teeliza_set_error(TEELIZA_ERR_PARSE, "%s: must be an object with a \"tcb\" object", where);
		}
		err = dcap_json_uint(&levels[i].isvsvn, tcb, "isvsvn", 0xffff, where);
		if (!err)
			err = level_common(&levels[i].status, levels[i].tcb_date, &levels[i].advisories, lv, true, where);
		if (err) {
			free(levels);
			return err;
		}
	}
	/* Intel's lists are highest-first; sorting makes a shuffled list give the same answer. */
	qsort(levels, json_array_size(arr), sizeof(*levels), cmp_id_level);
	*out = levels;
	*n = json_array_size(arr);
	return TEELIZA_OK;
}

/* 16 component SVNs from a v3 "sgxtcbcomponents"/"tdxtcbcomponents" array: exactly 16 entries. */
static teeliza_err components(uint8_t out[16], const json_t *tcb, const char *key, const char *what)
{
	const json_t *arr = json_object_get(tcb, key), *c;
	size_t i;
	uint32_t svn;
	char where[128];
	teeliza_err err;

	if (!json_is_array(arr))
		return teeliza_set_error(TEELIZA_ERR_PARSE, "%s: tcb.%s must be an array", what, key);
	if (json_array_size(arr) != 16)
		return teeliza_set_error(TEELIZA_ERR_PARSE, "%s: tcb.%s must have exactly 16 entries, it has %zu", what,
		                         key, json_array_size(arr));
	json_array_foreach(arr, i, c) {
		snprintf(where, sizeof(where), "%s tcb.%s[%zu]", what, key, i);
		if (!json_is_object(c))
			return teeliza_set_error(TEELIZA_ERR_PARSE, "%s: must be an object", where);
		err = dcap_json_uint(&svn, c, "svn", 255, where);
		if (err)
			return err;
		out[i] = (uint8_t)svn;
	}
	return TEELIZA_OK;
}

/* TCB Info v2 (SGX): "sgxtcbcomp01svn" .. "sgxtcbcomp16svn". */
static teeliza_err components_v2(uint8_t out[16], const json_t *tcb, const char *what)
{
	char key[24];
	uint32_t svn;
	unsigned i;
	teeliza_err err;

	if (json_object_size(tcb) != 17)
		return teeliza_set_error(TEELIZA_ERR_PARSE, "%s: a v2 tcb must have 16 sgxtcbcompNNsvn and pcesvn", what);
	for (i = 0; i < 16; i++) {
		snprintf(key, sizeof(key), "sgxtcbcomp%02usvn", i + 1);
		err = dcap_json_uint(&svn, tcb, key, 255, what);
		if (err)
			return err;
		out[i] = (uint8_t)svn;
	}
	return TEELIZA_OK;
}

static teeliza_err parse_level(dcap_tcb_level *l, const dcap_tcb_info *ti, const json_t *lv, size_t idx)
{
	const json_t *tcb = json_object_get(lv, "tcb");
	char where[64];
	uint32_t pcesvn;
	teeliza_err err;

	snprintf(where, sizeof(where), WHAT " tcbLevels[%zu]", idx);
	if (!json_is_object(lv) || !json_is_object(tcb))
		return teeliza_set_error(TEELIZA_ERR_PARSE, "%s: must be an object with a \"tcb\" object", where);
	if (ti->version >= 3) {
		err = components(l->sgx, tcb, "sgxtcbcomponents", where);
		if (!err && ti->tdx)
			err = components(l->tdx, tcb, "tdxtcbcomponents", where);
	} else {
		err = components_v2(l->sgx, tcb, where);
	}
	if (!err)
		err = dcap_json_uint(&pcesvn, tcb, "pcesvn", 0xffff, where);
	if (!err)
		err = level_common(&l->status, l->tcb_date, &l->advisories, lv, false, where);
	if (err)
		return err;
	l->pcesvn = (uint16_t)pcesvn;
	l->order = idx;
	return TEELIZA_OK;
}

/*
 * QVL keeps levels in a std::set ordered by (cpusvn components, pcesvn,
 * tdx components) descending, lexicographically; equal keys keep the first.
 */
static int cmp_level(const void *a, const void *b)
{
	const dcap_tcb_level *x = a, *y = b;
	int c = memcmp(y->sgx, x->sgx, 16);

	if (c)
		return c;
	if (x->pcesvn != y->pcesvn)
		return x->pcesvn > y->pcesvn ? -1 : 1;
	c = memcmp(y->tdx, x->tdx, 16);
	if (c)
		return c;
	return x->order < y->order ? -1 : x->order > y->order ? 1 : 0;
}

static teeliza_err parse_module(dcap_module_identity *m, const json_t *obj, size_t idx)
{
	const char *id;
	char where[64];
	teeliza_err err;

	snprintf(where, sizeof(where), WHAT " tdxModuleIdentities[%zu]", idx);
	if (!json_is_object(obj))
		return teeliza_set_error(TEELIZA_ERR_PARSE, "%s: must be an object", where);
	err = dcap_json_string(&id, obj, "id", where);
	if (err)
		return err;
	if (strlen(id) >= sizeof(m->id))
		return teeliza_set_error(TEELIZA_ERR_PARSE, "%s: id \"%.20s\" is too long", where, id);
	memcpy(m->id, id, strlen(id) + 1);
	err = dcap_json_hex(m->mrsigner, 48, obj, "mrsigner", where);
	if (!err)
		err = dcap_json_hex(m->attributes, 8, obj, "attributes", where);
	if (!err)
		err = dcap_json_hex(m->attributes_mask, 8, obj, "attributesMask", where);
	if (!err)
		err = dcap_parse_id_levels(&m->levels, &m->nlevels, json_object_get(obj, "tcbLevels"), where);
	return err;
}

static teeliza_err parse_modules(dcap_tcb_info *ti)
{
	const json_t *mod = json_object_get(ti->root, "tdxModule");
	const json_t *ids = json_object_get(ti->root, "tdxModuleIdentities"), *m;
	size_t i;
	teeliza_err err;

	if (!json_is_object(mod))
		return teeliza_set_error(TEELIZA_ERR_PARSE, WHAT ": a TDX TCB Info needs a \"tdxModule\" object");
	err = dcap_json_hex(ti->module_mrsigner, 48, mod, "mrsigner", WHAT " tdxModule");
	if (!err)
		err = dcap_json_hex(ti->module_attributes, 8, mod, "attributes", WHAT " tdxModule");
	if (!err)
		err = dcap_json_hex(ti->module_attributes_mask, 8, mod, "attributesMask", WHAT " tdxModule");
	if (err)
		return err;
	ti->has_module = true;
	if (ids == NULL)
		return TEELIZA_OK;
	if (!json_is_array(ids))
		return teeliza_set_error(TEELIZA_ERR_PARSE, WHAT ": tdxModuleIdentities must be an array");
	if (json_array_size(ids) > DCAP_MAX_MODULE_IDENTITIES)
		return teeliza_set_error(TEELIZA_ERR_TOO_LARGE, WHAT ": more than %d tdxModuleIdentities",
		                         DCAP_MAX_MODULE_IDENTITIES);
	ti->modules = calloc(json_array_size(ids) + 1, sizeof(*ti->modules));
	if (ti->modules == NULL)
		return teeliza_set_error(TEELIZA_ERR_NOMEM, "out of memory");
	json_array_foreach(ids, i, m) {
		err = parse_module(&ti->modules[i], m, i);
		ti->nmodules = i + 1;
		if (err)
			return err;
	}
	return TEELIZA_OK;
}

static teeliza_err parse_header(dcap_tcb_info *ti)
{
	const char *id;
	teeliza_err err;

	err = dcap_json_string(&id, ti->root, "id", WHAT);
	if (err)
		return err;
	if (strcmp(id, "TDX") == 0)
		ti->tdx = true;
	else if (strcmp(id, "SGX") != 0)
		return teeliza_set_error(TEELIZA_ERR_UNSUPPORTED, WHAT ": id \"%.16s\" is neither \"SGX\" nor \"TDX\"", id);
	err = dcap_json_uint(&ti->version, ti->root, "version", 1000, WHAT);
	if (err)
		return err;
	if (ti->tdx ? ti->version != 3 : (ti->version != 2 && ti->version != 3))
		return teeliza_set_error(TEELIZA_ERR_UNSUPPORTED, WHAT ": version %u is not supported for %s (%s)",
		                         ti->version, id, ti->tdx ? "TDX needs 3" : "SGX needs 2 or 3");
	err = dcap_json_date(&ti->issue_date, ti->root, "issueDate", WHAT);
	if (!err)
		err = dcap_json_date(&ti->next_update, ti->root, "nextUpdate", WHAT);
	if (!err)
		err = dcap_json_hex(ti->fmspc, 6, ti->root, "fmspc", WHAT);
	if (!err)
		err = dcap_json_hex(ti->pceid, 2, ti->root, "pceId", WHAT);
	if (!err)
		err = dcap_json_uint(&ti->eval_number, ti->root, "tcbEvaluationDataNumber", UINT32_MAX, WHAT);
	if (err)
		return err;
	if (ti->version >= 3) {
		err = dcap_json_uint(&ti->tcb_type, ti->root, "tcbType", 1000, WHAT);
		if (err)
			return err;
		if (ti->tcb_type != 0)
			return teeliza_set_error(TEELIZA_ERR_UNSUPPORTED, WHAT ": tcbType %u is not supported (only 0)",
			                         ti->tcb_type);
	}
	if (ti->next_update < ti->issue_date)
		return teeliza_set_error(TEELIZA_ERR_PARSE, WHAT ": nextUpdate is before issueDate");
	return TEELIZA_OK;
}

teeliza_err dcap_tcb_info_parse(dcap_tcb_info *ti, const char *text, size_t len)
{
	const json_t *levels, *lv;
	size_t i;
	teeliza_err err;

	memset(ti, 0, sizeof(*ti));
	err = dcap_json_load(&ti->root, text, len, WHAT);
	if (!err)
		err = parse_header(ti);
	if (!err && ti->tdx)
		err = parse_modules(ti);
	if (err)
		goto fail;
	levels = json_object_get(ti->root, "tcbLevels");
	if (!json_is_array(levels) || json_array_size(levels) == 0) {
		err = teeliza_set_error(TEELIZA_ERR_PARSE, WHAT ": tcbLevels must be a non-empty array");
		goto fail;
	}
	if (json_array_size(levels) > DCAP_MAX_TCB_LEVELS) {
		err = teeliza_set_error(TEELIZA_ERR_TOO_LARGE, WHAT ": more than %d tcbLevels", DCAP_MAX_TCB_LEVELS);
		goto fail;
	}
	ti->levels = calloc(json_array_size(levels), sizeof(*ti->levels));
	if (ti->levels == NULL) {
		err = teeliza_set_error(TEELIZA_ERR_NOMEM, "out of memory");
		goto fail;
	}
	json_array_foreach(levels, i, lv) {
		err = parse_level(&ti->levels[i], ti, lv, i);
		if (err)
			goto fail;
	}
	ti->nlevels = json_array_size(levels);
	qsort(ti->levels, ti->nlevels, sizeof(*ti->levels), cmp_level);
	return TEELIZA_OK;
fail:
	dcap_tcb_info_free(ti);
	return err;
}

void dcap_tcb_info_free(dcap_tcb_info *ti)
{
	size_t i;

	if (ti == NULL)
		return;
	for (i = 0; i < ti->nmodules; i++)
		free(ti->modules[i].levels);
	free(ti->modules);
	free(ti->levels);
	json_decref(ti->root);
	memset(ti, 0, sizeof(*ti));
}

const dcap_module_identity *dcap_tcb_info_find_module(const dcap_tcb_info *ti, uint8_t major)
{
	char want[8];
	size_t i;

	snprintf(want, sizeof(want), "TDX_%02X", major);
	for (i = 0; i < ti->nmodules; i++)
		if (strcasecmp(ti->modules[i].id, want) == 0)
			return &ti->modules[i];
	return NULL;
}
