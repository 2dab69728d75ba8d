/*
 * RTMR replay of a 30-event log, as the plugin does after every TdxQuote:
 * parse the event-log JSON, replay the four RTMRs, hex them. The log is the
 * one plugin-tee.json's replay_30_event_log describes (imr i%4, event_type 1,
 * digest SHA-384("e"‖i), event "e"‖i, empty payload), serialized compactly as
 * tappd does; every thread checks its first result against the vector.
 */
#include "bench_util.h"

#include "teeliza/common/encoding.h"
#include "teeliza/tee/rtmr.h"

#include <jansson.h>
#include <openssl/evp.h>
#include <stdio.h>
#include <string.h>

#define EVENTS 30
#define MAX_THREADS 2

struct state {
	const teeliza_buf *json;
	const char (*expect)[2 * TEE_RTMR_LEN + 1];
	bool checked;
};

static bool build_log(teeliza_buf *json)
{
	tee_event_log log;
	unsigned i;
	bool ok = true;

	tee_event_log_init(&log);
	teeliza_buf_init(json, (size_t)1 << 20);
	for (i = 0; ok && i < EVENTS; i++) {
		char name[16];
		uint8_t digest[48];
		unsigned dlen = 0;
		int n = snprintf(name, sizeof(name), "e%u", i);

		ok = n > 0 && EVP_Digest(name, (size_t)n, digest, &dlen, EVP_sha384(), NULL) == 1 && dlen == 48;
		if (!ok)
			fprintf(stderr, "bench: SHA-384 failed\n");
		else
			ok = tee_event_log_add(&log, i % 4, 1, digest, sizeof(digest), name, NULL, 0) == TEELIZA_OK ||
			     bench_fail("tee_event_log_add");
	}
	if (ok)
		ok = tee_event_log_to_json(json, &log) == TEELIZA_OK || bench_fail("tee_event_log_to_json");
	tee_event_log_free(&log);
	return ok;
}

static bool load_expected(char expect[4][2 * TEE_RTMR_LEN + 1])
{
	teeliza_buf text;
	json_t *root, *rtmrs;
	json_error_t jerr;
	size_t i;
	bool ok = true;

	if (!bench_read_vector(&text, "plugin-tee.json"))
		return false;
	root = json_loadb((const char *)text.data, text.len, 0, &jerr);
	teeliza_buf_free(&text);
	rtmrs = root ? json_object_get(json_object_get(root, "replay_30_event_log"), "rtmrs") : NULL;
	if (!json_is_array(rtmrs) || json_array_size(rtmrs) != 4)
		ok = false;
	for (i = 0; ok && i < 4; i++) {
		const char *s = json_string_value(json_array_get(rtmrs, i));

		ok = s != NULL && strlen(s) == 2 * TEE_RTMR_LEN;
		if (ok)
			memcpy(expect[i], s, 2 * TEE_RTMR_LEN + 1);
	}
	if (!ok)
		fprintf(stderr, "bench: plugin-tee.json has no replay_30_event_log.rtmrs[4]\n");
	json_decref(root);
	return ok;
}

static bool replay_once(void *arg)
{
	struct state *s = arg;
	tee_event_log log;
	uint8_t rtmr[4][TEE_RTMR_LEN];
	char hex[4][2 * TEE_RTMR_LEN + 1];
	unsigned i;

	if (tee_event_log_parse(&log, (const char *)s->json->data, s->json->len) != TEELIZA_OK) {
		tee_event_log_free(&log);
		return bench_fail("tee_event_log_parse");
	}
	tee_rtmr_replay(rtmr, &log);
	tee_event_log_free(&log);
	for (i = 0; i < 4; i++)
		teeliza_hex_encode(hex[i], rtmr[i], TEE_RTMR_LEN);
	if (!s->checked) {
		for (i = 0; i < 4; i++) {
			if (strcmp(hex[i], s->expect[i]) != 0) {
				fprintf(stderr, "bench: rtmr%u %s, vector says %s\n", i, hex[i], s->expect[i]);
				return false;
			}
		}
		s->checked = true;
	}
	return true;
}

static bool measure(const teeliza_buf *json, const char expect[4][2 * TEE_RTMR_LEN + 1], unsigned threads,
                    double seconds)
{
	struct state st[MAX_THREADS];
	void *states[MAX_THREADS];
	bench_result r;
	unsigned i;

	for (i = 0; i < threads; i++) {
		st[i].json = json;
		st[i].expect = expect;
		st[i].checked = false;
		states[i] = &st[i];
	}
	if (!bench_run(&r, threads, seconds, replay_once, states))
		return false;
	bench_report("replay.30", &r, "");
	return true;
}

int main(void)
{
	teeliza_buf json;
	char expect[4][2 * TEE_RTMR_LEN + 1];
	double secs = bench_seconds();
	bool ok;

	if (!load_expected(expect) || !build_log(&json))
		return 1;
	printf("event log: %u events, %zu bytes of JSON\n", EVENTS, json.len);
	ok = measure(&json, expect, 1, secs) && measure(&json, expect, 2, secs);
	teeliza_buf_free(&json);
	return ok ? 0 : 1;
}
