/* QE Identity (Intel PCS enclaveIdentity v2/v3), parsed from the exact signed text. */
#include "dcap/verify_internal.h"

#include <stdlib.h>
#include <string.h>

#define WHAT "QE Identity"

static uint32_t le32(const uint8_t b[4])
{
	return (uint32_t)b[3] << 24 | (uint32_t)b[2] << 16 | (uint32_t)b[1] << 8 | b[0];
}

static teeliza_err parse_fields(dcap_qe_identity *qi)
{
	const char *id;
	uint8_t b[4];
	uint32_t prodid;
	teeliza_err err;

	err = dcap_json_string(&id, qi->root, "id", WHAT);
	if (err)
		return err;
	if (strcmp(id, "QE") != 0 && strcmp(id, "TD_QE") != 0 && strcmp(id, "QVE") != 0)
		return teeliza_set_error(TEELIZA_ERR_UNSUPPORTED, WHAT ": id \"%.16s\" is not QE, TD_QE or QVE", id);
	memcpy(qi->id, id, strlen(id) + 1);
	err = dcap_json_uint(&qi->version, qi->root, "version", 1000, WHAT);
	if (err)
		return err;
	if (qi->version != 2 && qi->version != 3)
		return teeliza_set_error(TEELIZA_ERR_UNSUPPORTED, WHAT ": version %u is not supported (only 2 and 3)",
		                         qi->version);
	err = dcap_json_date(&qi->issue_date, qi->root, "issueDate", WHAT);
	if (!err)
		err = dcap_json_date(&qi->next_update, qi->root, "nextUpdate", WHAT);
	if (!err)
		err = dcap_json_uint(&qi->eval_number, qi->root, "tcbEvaluationDataNumber", UINT32_MAX, WHAT);
	if (!err)
		err = dcap_json_hex(b, 4, qi->root, "miscselect", WHAT);
	if (err)
		return err;
	/* The hex is the report's bytes in order (little-endian), as QVL and dcap-qvl read it. */
	qi->miscselect = le32(b);
	err = dcap_json_hex(b, 4, qi->root, "miscselectMask", WHAT);
	if (err)
		return err;
	qi->miscselect_mask = le32(b);
	err = dcap_json_hex(qi->attributes, 16, qi->root, "attributes", WHAT);
	if (!err)
		err = dcap_json_hex(qi->attributes_mask, 16, qi->root, "attributesMask", WHAT);
	if (!err)
		err = dcap_json_hex(qi->mrsigner, 32, qi->root, "mrsigner", WHAT);
	if (!err)
		err = dcap_json_uint(&prodid, qi->root, "isvprodid", 0xffff, WHAT);
	if (err)
		return err;
	qi->isvprodid = (uint16_t)prodid;
	if (qi->next_update < qi->issue_date)
		return teeliza_set_error(TEELIZA_ERR_PARSE, WHAT ": nextUpdate is before issueDate");
	return dcap_parse_id_levels(&qi->levels, &qi->nlevels, json_object_get(qi->root, "tcbLevels"), WHAT);
}

teeliza_err dcap_qe_identity_parse(dcap_qe_identity *qi, const char *text, size_t len)
{
	teeliza_err err;

	memset(qi, 0, sizeof(*qi));
	err = dcap_json_load(&qi->root, text, len, WHAT);
	if (!err)
		err = parse_fields(qi);
	if (err)
		dcap_qe_identity_free(qi);
	return err;
}

void dcap_qe_identity_free(dcap_qe_identity *qi)
{
	if (qi == NULL)
		return;
	free(qi->levels);
	json_decref(qi->root);
	memset(qi, 0, sizeof(*qi));
}
