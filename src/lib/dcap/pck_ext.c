/*
 * The Intel SGX extension of a PCK certificate, decoded with a small bounded
 * DER reader. OpenSSL checks the certificate's own DER, but the extension
 * value is an opaque OCTET STRING to it, so its content is attacker-shaped
 * input here. The structure is fixed (at most four levels), so the walk is
 * iterative and cannot recurse without limit.
 *
 *   SEQUENCE {
 *     SEQUENCE { OID .1, OCTET STRING (16) }            PPID
 *     SEQUENCE { OID .2, SEQUENCE {                     TCB
 *         SEQUENCE { OID .2.1 .. .2.16, INTEGER }       component SVNs
 *         SEQUENCE { OID .2.17, INTEGER }               PCESVN
 *         SEQUENCE { OID .2.18, OCTET STRING (16) } } } CPUSVN
 *     SEQUENCE { OID .3, OCTET STRING (2) }             PCE-ID
 *     SEQUENCE { OID .4, OCTET STRING (6) }             FMSPC
 *     SEQUENCE { OID .5, ENUMERATED }                   SGX type
 *     SEQUENCE { OID .6, OCTET STRING (16) }            platform instance ID, optional
 *     SEQUENCE { OID .7, SEQUENCE {                     configuration, optional
 *         SEQUENCE { OID .7.1 .. .7.3, BOOLEAN } } } }
 * where every OID is under 1.2.840.113741.1.13.1.
 */
#include "teeliza/dcap/pck.h"

#include <assert.h>
#include <string.h>

#define TAG_BOOLEAN 0x01
#define TAG_INTEGER 0x02
#define TAG_OCTET_STRING 0x04
#define TAG_OID 0x06
#define TAG_ENUMERATED 0x0a
#define TAG_SEQUENCE 0x30

#define TCB_COMPONENTS 16
#define TCB_PCESVN 17
#define TCB_CPUSVN 18

/* DER content of OID 1.2.840.113741.1.13.1 */
static const uint8_t sgx_oid[] = { 0x2a, 0x86, 0x48, 0x86, 0xf8, 0x4d, 0x01, 0x0d, 0x01 };

typedef struct der {
	const uint8_t *p;
	size_t left;
} der;

/* One TLV from d: its tag and a window over its value. */
static teeliza_err der_next(uint8_t *tag, der *val, der *d, const char *what)
{
	size_t len, n, i;

	if (d->left < 2)
		return teeliza_set_error(TEELIZA_ERR_PARSE, "PCK SGX extension: %s: truncated DER element", what);
	*tag = d->p[0];
	if ((*tag & 0x1f) == 0x1f)
		return teeliza_set_error(TEELIZA_ERR_PARSE, "PCK SGX extension: %s: multi-byte DER tag", what);
	len = d->p[1];
	d->p += 2;
	d->left -= 2;
	if (len == 0x80)
		return teeliza_set_error(TEELIZA_ERR_PARSE, "PCK SGX extension: %s: indefinite DER length", what);
	if (len > 0x80) {
		n = len & 0x7f;
		/* the whole extension is far smaller than 2^32 bytes */
		if (n > 4 || n > d->left)
			return teeliza_set_error(TEELIZA_ERR_PARSE, "PCK SGX extension: %s: bad DER length", what);
		if (d->p[0] == 0)
			return teeliza_set_error(TEELIZA_ERR_PARSE, "PCK SGX extension: %s: non-minimal DER length", what);
		len = 0;
		for (i = 0; i < n; i++)
			len = len << 8 | d->p[i];
		d->p += n;
		d->left -= n;
		if (len < 0x80)
			return teeliza_set_error(TEELIZA_ERR_PARSE, "PCK SGX extension: %s: non-minimal DER length", what);
	}
	if (len > d->left)
		return teeliza_set_error(TEELIZA_ERR_PARSE,
		                         "PCK SGX extension: %s: DER length %zu runs past its container (%zu left)",
		                         what, len, d->left);
	val->p = d->p;
	val->left = len;
	d->p += len;
	d->left -= len;
	return TEELIZA_OK;
}

static teeliza_err der_expect(der *val, der *d, uint8_t want, const char *what)
{
	uint8_t tag = 0; /* der_next sets it on success; gcc -O3 cannot see that */
	teeliza_err err = der_next(&tag, val, d, what);

	if (err)
		return err;
	if (tag != want)
		return teeliza_set_error(TEELIZA_ERR_PARSE,
		                         "PCK SGX extension: %s: expected DER tag 0x%02x, found 0x%02x",
		                         what, want, tag);
	return TEELIZA_OK;
}

/* A non-negative, minimally encoded INTEGER or ENUMERATED no larger than max. */
static teeliza_err der_uint(unsigned *out, const der *v, unsigned max, const char *what)
{
	size_t i;
	unsigned long x = 0;

	if (v->left == 0 || v->left > 3)
		return teeliza_set_error(TEELIZA_ERR_PARSE, "PCK SGX extension: %s: integer of %zu bytes", what, v->left);
	if (v->p[0] & 0x80)
		return teeliza_set_error(TEELIZA_ERR_PARSE, "PCK SGX extension: %s: negative integer", what);
	if (v->left > 1 && v->p[0] == 0 && !(v->p[1] & 0x80))
		return teeliza_set_error(TEELIZA_ERR_PARSE, "PCK SGX extension: %s: non-minimal integer", what);
	for (i = 0; i < v->left; i++)
		x = x << 8 | v->p[i];
	if (x > max)
		return teeliza_set_error(TEELIZA_ERR_PARSE, "PCK SGX extension: %s: value %lu above %u", what, x, max);
	*out = (unsigned)x;
	return TEELIZA_OK;
}

static teeliza_err der_octets(uint8_t *out, size_t n, const der *v, const char *what)
{
	if (v->left != n)
		return teeliza_set_error(TEELIZA_ERR_PARSE, "PCK SGX extension: %s: %zu bytes, expected %zu",
		                         what, v->left, n);
	memcpy(out, v->p, n);
	return TEELIZA_OK;
}

/*
 * An entry SEQUENCE { OID, value }: the OID's arcs below the SGX OID (arcs[0],
 * and arcs[1] when *narcs is 2; *narcs 0 for any other OID) and the value.
 */
static teeliza_err entry(uint8_t arcs[2], int *narcs, uint8_t *tag, der *val, der *d, const char *what)
{
	der seq, oid;
	size_t i, extra;
	teeliza_err err;

	err = der_expect(&seq, d, TAG_SEQUENCE, what);
	if (!err)
		err = der_expect(&oid, &seq, TAG_OID, what);
	if (!err)
		err = der_next(tag, val, &seq, what);
	if (err)
		return err;
	if (seq.left != 0)
		return teeliza_set_error(TEELIZA_ERR_PARSE, "PCK SGX extension: %s: entry has more than an OID and a value",
		                         what);
	*narcs = 0;
	if (oid.left <= sizeof(sgx_oid) || memcmp(oid.p, sgx_oid, sizeof(sgx_oid)) != 0)
		return TEELIZA_OK;
	extra = oid.left - sizeof(sgx_oid);
	if (extra > 2)
		return TEELIZA_OK;
	for (i = 0; i < extra; i++) {
		/* a byte >= 0x80 continues a multi-byte arc: not one of ours */
		if (oid.p[sizeof(sgx_oid) + i] & 0x80)
			return TEELIZA_OK;
		arcs[i] = oid.p[sizeof(sgx_oid) + i];
	}
	*narcs = (int)extra;
	return TEELIZA_OK;
}

static teeliza_err seen_once(uint32_t *seen, unsigned bit, const char *what)
{
	if (*seen & (1u << bit))
		return teeliza_set_error(TEELIZA_ERR_PARSE, "PCK SGX extension: %s appears twice", what);
	*seen |= 1u << bit;
	return TEELIZA_OK;
}

static teeliza_err parse_tcb(dcap_pck_ext *ext, der seq)
{
	uint32_t seen = 0;
	uint8_t arcs[2], tag;
	int narcs;
	unsigned v, k;
	der val;
	teeliza_err err;

	while (seq.left > 0) {
		err = entry(arcs, &narcs, &tag, &val, &seq, "TCB entry");
		if (err)
			return err;
		if (narcs != 2 || arcs[0] != 2 || arcs[1] < 1 || arcs[1] > TCB_CPUSVN)
			continue;
		k = arcs[1];
		err = seen_once(&seen, k, "a TCB entry");
		if (err)
			return err;
		if (k == TCB_CPUSVN) {
			if (tag != TAG_OCTET_STRING)
				return teeliza_set_error(TEELIZA_ERR_PARSE, "PCK SGX extension: CPUSVN is not an OCTET STRING");
			err = der_octets(ext->cpusvn, sizeof(ext->cpusvn), &val, "CPUSVN");
			if (err)
				return err;
			continue;
		}
		if (tag != TAG_INTEGER)
			return teeliza_set_error(TEELIZA_ERR_PARSE, "PCK SGX extension: TCB entry %u is not an INTEGER", k);
		err = der_uint(&v, &val, k == TCB_PCESVN ? 0xffffu : 0xffu, k == TCB_PCESVN ? "PCESVN" : "TCB component SVN");
		if (err)
			return err;
		if (k == TCB_PCESVN)
			ext->pcesvn = (uint16_t)v;
		else
			ext->comp_svn[k - 1] = (uint8_t)v;
	}
	for (k = 1; k <= TCB_CPUSVN; k++)
		if (!(seen & (1u << k)))
			return teeliza_set_error(TEELIZA_ERR_PARSE,
			                         "PCK SGX extension: TCB entry %u (%s) is missing", k,
			                         k == TCB_CPUSVN ? "CPUSVN" : k == TCB_PCESVN ? "PCESVN" : "component SVN");
	return TEELIZA_OK;
}

static teeliza_err parse_configuration(dcap_pck_ext *ext, der seq)
{
	uint32_t seen = 0;
	uint8_t arcs[2], tag;
	int narcs, *slot;
	der val;
	teeliza_err err;

	while (seq.left > 0) {
		err = entry(arcs, &narcs, &tag, &val, &seq, "configuration entry");
		if (err)
			return err;
		if (narcs != 2 || arcs[0] != 7 || arcs[1] < 1 || arcs[1] > 3)
			continue;
		err = seen_once(&seen, arcs[1], "a configuration entry");
		if (err)
			return err;
		if (tag != TAG_BOOLEAN || val.left != 1 || (val.p[0] != 0 && val.p[0] != 0xff))
			return teeliza_set_error(TEELIZA_ERR_PARSE,
			                         "PCK SGX extension: configuration entry %u is not a DER BOOLEAN", arcs[1]);
		slot = arcs[1] == 1 ? &ext->dynamic_platform : arcs[1] == 2 ? &ext->cached_keys : &ext->smt_enabled;
		*slot = val.p[0] != 0;
	}
	return TEELIZA_OK;
}

enum { E_PPID = 1, E_TCB, E_PCEID, E_FMSPC, E_SGX_TYPE, E_INSTANCE, E_CONFIG };

static const char *const entry_names[] = {
	"", "PPID", "TCB", "PCE-ID", "FMSPC", "SGX type", "platform instance ID", "configuration",
};

static teeliza_err parse_entry(dcap_pck_ext *ext, unsigned id, uint8_t tag, const der *val)
{
	unsigned v;
	teeliza_err err;

	static const uint8_t want_tag[] = {
		0, TAG_OCTET_STRING, TAG_SEQUENCE, TAG_OCTET_STRING, TAG_OCTET_STRING,
		TAG_ENUMERATED, TAG_OCTET_STRING, TAG_SEQUENCE,
	};

	if (tag != want_tag[id])
		return teeliza_set_error(TEELIZA_ERR_PARSE,
		                         "PCK SGX extension: %s has DER tag 0x%02x, expected 0x%02x",
		                         entry_names[id], tag, want_tag[id]);
	switch (id) {
	case E_PPID:
		return der_octets(ext->ppid, sizeof(ext->ppid), val, "PPID");
	case E_TCB:
		return parse_tcb(ext, *val);
	case E_PCEID:
		return der_octets(ext->pceid, sizeof(ext->pceid), val, "PCE-ID");
	case E_FMSPC:
		return der_octets(ext->fmspc, sizeof(ext->fmspc), val, "FMSPC");
	case E_SGX_TYPE:
		err = der_uint(&v, val, 0xff, "SGX type");
		if (!err)
			ext->sgx_type = (int)v;
		return err;
	case E_INSTANCE:
		ext->has_platform_instance_id = true;
		return der_octets(ext->platform_instance_id, sizeof(ext->platform_instance_id), val,
		                  "platform instance ID");
	default:
		ext->has_configuration = true;
		return parse_configuration(ext, *val);
	}
}

static teeliza_err parse_ext(dcap_pck_ext *ext, const uint8_t *buf, size_t len)
{
	der all = { buf, len }, top, val;
	uint32_t seen = 0;
	uint8_t arcs[2], tag;
	int narcs = 0; /* set by entry() on success; gcc -O3 cannot see that */
	unsigned id;
	teeliza_err err;

	err = der_expect(&top, &all, TAG_SEQUENCE, "outer SEQUENCE");
	if (err)
		return err;
	if (all.left != 0)
		return teeliza_set_error(TEELIZA_ERR_PARSE, "PCK SGX extension: %zu bytes after the outer SEQUENCE",
		                         all.left);
	while (top.left > 0) {
		err = entry(arcs, &narcs, &tag, &val, &top, "entry");
		if (err)
			return err;
		if (narcs != 1 || arcs[0] < E_PPID || arcs[0] > E_CONFIG)
			continue;
		id = arcs[0];
		err = seen_once(&seen, id, entry_names[id]);
		if (!err)
			err = parse_entry(ext, id, tag, &val);
		if (err)
			return err;
	}
	for (id = E_PPID; id <= E_SGX_TYPE; id++)
		if (!(seen & (1u << id)))
			return teeliza_set_error(TEELIZA_ERR_PARSE, "PCK SGX extension: %s is missing", entry_names[id]);
	return TEELIZA_OK;
}

teeliza_err dcap_pck_ext_parse_der(dcap_pck_ext *ext, const uint8_t *der_buf, size_t len)
{
	teeliza_err err;

	assert(ext != NULL && (der_buf != NULL || len == 0));
	memset(ext, 0, sizeof(*ext));
	ext->dynamic_platform = ext->cached_keys = ext->smt_enabled = -1;
	err = parse_ext(ext, der_buf, len);
	if (err)
		memset(ext, 0, sizeof(*ext));
	return err;
}

teeliza_err dcap_pck_ext_parse(dcap_pck_ext *ext, const X509 *leaf)
{
	ASN1_OBJECT *oid;
	const ASN1_OCTET_STRING *value;
	int idx, again, n;

	assert(ext != NULL && leaf != NULL);
	memset(ext, 0, sizeof(*ext));
	oid = OBJ_txt2obj(DCAP_SGX_EXT_OID, 1);
	if (oid == NULL)
		return teeliza_set_error(TEELIZA_ERR_NOMEM, "out of memory creating the SGX extension OID");
	idx = X509_get_ext_by_OBJ(leaf, oid, -1);
	again = idx < 0 ? -1 : X509_get_ext_by_OBJ(leaf, oid, idx);
	ASN1_OBJECT_free(oid);
	if (idx < 0)
		return teeliza_set_error(TEELIZA_ERR_NOT_FOUND,
		                         "certificate has no SGX extension (OID " DCAP_SGX_EXT_OID "): not a PCK certificate");
	if (again >= 0)
		return teeliza_set_error(TEELIZA_ERR_PARSE, "certificate has the SGX extension twice");
	value = X509_EXTENSION_get_data(X509_get_ext(leaf, idx));
	n = value != NULL ? ASN1_STRING_length(value) : -1;
	if (n < 0)
		return teeliza_set_error(TEELIZA_ERR_PARSE, "certificate's SGX extension has no value");
	return dcap_pck_ext_parse_der(ext, ASN1_STRING_get0_data(value), (size_t)n);
}
