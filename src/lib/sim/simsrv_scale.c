/*
 * dstack's V0 attestation blob (what /Attest returns on a real 0.5 CVM and
 * what extension 1.3.6.1.4.1.62397.1.8 carries), SCALE-encoded
 * (dstack v0.5.11 dstack-attest/src/attestation.rs, cc-eventlog tdx.rs):
 *
 *   u8 0                     VersionedAttestation::V0
 *   u8 0                     AttestationQuote::DstackTdx
 *     Vec<u8> quote
 *     Vec<TdxEvent> event_log     TdxEvent = u32le imr, u32le event_type, Vec<u8> digest,
 *                                            String event, Vec<u8> event_payload
 *   Vec<RuntimeEvent>        RuntimeEvent = String event, Vec<u8> payload
 *   [u8; 64] report_data
 *   String config            the VM config JSON
 *                            (report: () adds nothing)
 *
 * Vec and String lengths are SCALE compact integers.
 */
#include "sim/simsrv.h"

#include <string.h>

#define BLOB_MAX ((size_t)10 << 20) /* dstack's MAX_ATTESTATION_BYTES */

static teeliza_err put_compact(teeliza_buf *out, size_t n)
{
	uint8_t b[9];
	size_t len, i;

	if (n < 64) {
		b[0] = (uint8_t)(n << 2);
		len = 1;
	} else if (n < (1u << 14)) {
		b[0] = (uint8_t)(n << 2 | 1);
		b[1] = (uint8_t)(n >> 6);
		len = 2;
	} else if (n < (1u << 30)) {
		uint32_t v = (uint32_t)(n << 2 | 2);

		for (i = 0; i < 4; i++)
			b[i] = (uint8_t)(v >> (8 * i));
		len = 4;
	} else {
		/* big-integer mode: (bytes - 4) << 2 | 3, then the bytes, little-endian */
		uint64_t v = n;
		size_t bytes = 0;

		while (v > 0) {
			b[1 + bytes++] = (uint8_t)v;
			v >>= 8;
		}
		if (bytes < 4)
			bytes = 4;
		b[0] = (uint8_t)((bytes - 4) << 2 | 3);
		len = 1 + bytes;
	}
	return teeliza_buf_append(out, b, len);
}

static teeliza_err put_bytes(teeliza_buf *out, const void *data, size_t len)
{
	teeliza_err err = put_compact(out, len);

	return err || len == 0 ? err : teeliza_buf_append(out, data, len);
}

static teeliza_err put_u32(teeliza_buf *out, uint32_t v)
{
	uint8_t b[4] = {(uint8_t)v, (uint8_t)(v >> 8), (uint8_t)(v >> 16), (uint8_t)(v >> 24)};

	return teeliza_buf_append(out, b, sizeof(b));
}

teeliza_err simsrv_attestation_v0(teeliza_buf *out, const uint8_t *quote, size_t quote_len, const tee_event_log *log,
                                  const uint8_t report_data[64], const char *config)
{
	static const uint8_t head[2] = {0x00, 0x00};
	size_t i, runtime = 0;
	teeliza_err err;

	teeliza_buf_init(out, BLOB_MAX);
	err = teeliza_buf_append(out, head, sizeof(head));
	if (!err)
		err = put_bytes(out, quote, quote_len);
	if (!err)
		err = put_compact(out, log->count);
	for (i = 0; !err && i < log->count; i++) {
		const tee_event *e = &log->events[i];

		err = put_u32(out, e->imr);
		if (!err)
			err = put_u32(out, e->event_type);
		if (!err)
			err = put_bytes(out, e->digest, e->digest_len);
		if (!err)
			err = put_bytes(out, e->event, strlen(e->event));
		if (!err)
			err = put_bytes(out, e->payload, e->payload_len);
		if (e->event_type == SIMSRV_EVENT_TYPE_RUNTIME)
			runtime++;
	}
	if (!err)
		err = put_compact(out, runtime);
	for (i = 0; !err && i < log->count; i++) {
		const tee_event *e = &log->events[i];

		if (e->event_type != SIMSRV_EVENT_TYPE_RUNTIME)
			continue;
		err = put_bytes(out, e->event, strlen(e->event));
		if (!err)
			err = put_bytes(out, e->payload, e->payload_len);
	}
	if (!err)
		err = teeliza_buf_append(out, report_data, 64);
	if (!err)
		err = put_bytes(out, config, strlen(config));
	return err;
}
