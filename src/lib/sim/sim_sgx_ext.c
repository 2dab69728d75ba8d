/*
 * The SGX extension of the simulated PCK certificate, written with a small
 * DER writer. The layout copies Intel's PCK certificates (checked on the
 * dcap-qvl sample quote's leaf with `openssl asn1parse`):
 *
 *   SEQUENCE {
 *     { .1 PPID          OCTET STRING (16) }
 *     { .2 TCB           SEQUENCE { {.2.1 INTEGER} .. {.2.16 INTEGER},
 *                                   {.2.17 PCESVN INTEGER}, {.2.18 CPUSVN OCTET STRING (16)} } }
 *     { .3 PCE-ID        OCTET STRING (2) }
 *     { .4 FMSPC         OCTET STRING (6) }
 *     { .5 SGX Type      ENUMERATED (1 = Scalable) }
 *     { .6 PlatformInstanceID OCTET STRING (16) }
 *     { .7 Configuration SEQUENCE { {.7.1 dynamicPlatform BOOLEAN} {.7.2 cachedKeys} {.7.3 SMTEnabled} } }
 *   }
 *
 * each { } being SEQUENCE { OBJECT IDENTIFIER 1.2.840.113741.1.13.1.x, value }.
 * .6 and .7 are what a Platform CA issued PCK carries.
 */
#include "sim_internal.h"

#include <assert.h>
#include <string.h>

#define DER_BOOLEAN 0x01
#define DER_INTEGER 0x02
#define DER_OCTET_STRING 0x04
#define DER_OID 0x06
#define DER_ENUMERATED 0x0a
#define DER_SEQUENCE 0x30

#define SGX_EXT_MAX 4096

/* 1.2.840.113741.1.13.1 */
static const uint8_t sgx_oid_base[] = { 0x2a, 0x86, 0x48, 0x86, 0xf8, 0x4d, 0x01, 0x0d, 0x01 };

static teeliza_err der_tlv(teeliza_buf *out, uint8_t tag, const uint8_t *content, size_t len)
{
	uint8_t hdr[4];
	size_t n = 0;
	teeliza_err err;

	assert(len < 65536);
	hdr[n++] = tag;
	if (len < 0x80) {
		hdr[n++] = (uint8_t)len;
	} else if (len < 0x100) {
		hdr[n++] = 0x81;
		hdr[n++] = (uint8_t)len;
	} else {
		hdr[n++] = 0x82;
		hdr[n++] = (uint8_t)(len >> 8);
		hdr[n++] = (uint8_t)len;
	}
	err = teeliza_buf_append(out, hdr, n);
	if (err == TEELIZA_OK)
		err = teeliza_buf_append(out, content, len);
	return err;
}

/* Wrap what inner holds as tag and append it to out; inner is emptied. */
static teeliza_err der_wrap(teeliza_buf *out, uint8_t tag, teeliza_buf *inner)
{
	teeliza_err err = der_tlv(out, tag, inner->data, inner->len);

	teeliza_buf_reset(inner);
	return err;
}

/* Minimal two's-complement INTEGER of a non-negative value. */
static teeliza_err der_uint(teeliza_buf *out, uint16_t v)
{
	uint8_t b[3];
	size_t n = 0;

	if (v >= 0x8000 || (v >= 0x80 && v < 0x100))
		b[n++] = 0; /* keep the sign bit clear */
	if (v >= 0x100)
		b[n++] = (uint8_t)(v >> 8);
	b[n++] = (uint8_t)v;
	return der_tlv(out, DER_INTEGER, b, n);
}

/* SEQUENCE { OID base.a[.b], <value TLV already in value> } appended to out. */
static teeliza_err sgx_field(teeliza_buf *out, uint8_t a, uint8_t b, teeliza_buf *value)
{
	uint8_t oid[sizeof(sgx_oid_base) + 2];
	size_t oid_len = sizeof(sgx_oid_base);
	teeliza_buf seq;
	teeliza_err err;

	memcpy(oid, sgx_oid_base, sizeof(sgx_oid_base));
	oid[oid_len++] = a;
	if (b != 0)
		oid[oid_len++] = b;
	teeliza_buf_init(&seq, SGX_EXT_MAX);
	err = der_tlv(&seq, DER_OID, oid, oid_len);
	if (err == TEELIZA_OK)
		err = teeliza_buf_append(&seq, value->data, value->len);
	if (err == TEELIZA_OK)
		err = der_wrap(out, DER_SEQUENCE, &seq);
	teeliza_buf_reset(value);
	teeliza_buf_free(&seq);
	return err;
}

static teeliza_err sgx_octets(teeliza_buf *out, uint8_t a, uint8_t b, const uint8_t *v, size_t len,
                              teeliza_buf *tmp)
{
	teeliza_err err = der_tlv(tmp, DER_OCTET_STRING, v, len);

	return err ? err : sgx_field(out, a, b, tmp);
}

static teeliza_err sgx_tcb(teeliza_buf *out, teeliza_buf *tmp)
{
	teeliza_buf comps;
	teeliza_err err = TEELIZA_OK;
	uint8_t i;

	teeliza_buf_init(&comps, SGX_EXT_MAX);
	for (i = 0; i < SIM_TCB_COMPONENTS && err == TEELIZA_OK; i++) {
		err = der_uint(tmp, sim_sgx_tcb_svn[i]);
		if (err == TEELIZA_OK)
			err = sgx_field(&comps, 2, (uint8_t)(i + 1), tmp);
	}
	if (err == TEELIZA_OK)
		err = der_uint(tmp, sim_pcesvn);
	if (err == TEELIZA_OK)
		err = sgx_field(&comps, 2, 17, tmp);
	if (err == TEELIZA_OK)
		err = sgx_octets(&comps, 2, 18, sim_sgx_tcb_svn, SIM_TCB_COMPONENTS, tmp);
	if (err == TEELIZA_OK)
		err = der_wrap(tmp, DER_SEQUENCE, &comps);
	if (err == TEELIZA_OK)
		err = sgx_field(out, 2, 0, tmp);
	teeliza_buf_free(&comps);
	return err;
}

static teeliza_err sgx_configuration(teeliza_buf *out, teeliza_buf *tmp)
{
	static const uint8_t der_true = 0xff;
	teeliza_buf flags;
	teeliza_err err = TEELIZA_OK;
	uint8_t i;

	teeliza_buf_init(&flags, SGX_EXT_MAX);
	/* dynamicPlatform, cachedKeys, SMTEnabled: all TRUE, as on the sample platform. */
	for (i = 1; i <= 3 && err == TEELIZA_OK; i++) {
		err = der_tlv(tmp, DER_BOOLEAN, &der_true, 1);
		if (err == TEELIZA_OK)
			err = sgx_field(&flags, 7, i, tmp);
	}
	if (err == TEELIZA_OK)
		err = der_wrap(tmp, DER_SEQUENCE, &flags);
	if (err == TEELIZA_OK)
		err = sgx_field(out, 7, 0, tmp);
	teeliza_buf_free(&flags);
	return err;
}

teeliza_err sim_sgx_extension_der(teeliza_buf *out, const uint8_t ppid[16], const uint8_t platform_instance_id[16])
{
	static const uint8_t sgx_type_scalable = 1;
	teeliza_buf body, tmp;
	teeliza_err err;

	assert(out != NULL && ppid != NULL && platform_instance_id != NULL);
	teeliza_buf_init(out, SGX_EXT_MAX);
	teeliza_buf_init(&body, SGX_EXT_MAX);
	teeliza_buf_init(&tmp, SGX_EXT_MAX);
	err = sgx_octets(&body, 1, 0, ppid, 16, &tmp);
	if (err == TEELIZA_OK)
		err = sgx_tcb(&body, &tmp);
	if (err == TEELIZA_OK)
		err = sgx_octets(&body, 3, 0, sim_pceid, sizeof(sim_pceid), &tmp);
	if (err == TEELIZA_OK)
		err = sgx_octets(&body, 4, 0, sim_fmspc, sizeof(sim_fmspc), &tmp);
	if (err == TEELIZA_OK)
		err = der_tlv(&tmp, DER_ENUMERATED, &sgx_type_scalable, 1);
	if (err == TEELIZA_OK)
		err = sgx_field(&body, 5, 0, &tmp);
	if (err == TEELIZA_OK)
		err = sgx_octets(&body, 6, 0, platform_instance_id, 16, &tmp);
	if (err == TEELIZA_OK)
		err = sgx_configuration(&body, &tmp);
	if (err == TEELIZA_OK)
		err = der_wrap(out, DER_SEQUENCE, &body);
	teeliza_buf_free(&body);
	teeliza_buf_free(&tmp);
	if (err)
		teeliza_buf_free(out);
	return err;
}
