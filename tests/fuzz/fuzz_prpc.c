/*
 * Fuzz the simulator's tappd pRPC request handling - the method from the
 * path, the arguments from a query string (GET) or a JSON body (POST), and
 * each method on them - through tee_sim_call on a simulator with no
 * listener. Paths outside /prpc/Tappd (the DstackGuest service at /<Method>
 * and the Worker at /prpc/Worker.*) follow dstack's rules and are
 * fuzz_dstack_request's.
 * Input: "METHOD TARGET\n" then the body; TARGET is the path with an
 * optional "?query". Invariants: the answer is 200, 400 or 404 and always
 * a JSON object; errors carry an "error" string (404: "method Not Found");
 * successes have their method's fields, and a quote's RTMRs are the replay
 * of the event log it comes with.
 */
#include "fuzz.h"

#include "teeliza/common/encoding.h"
#include "teeliza/tee/rtmr.h"
#include "teeliza/sim/simulator.h"

#include <ftw.h>
#include <jansson.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#define TARGET_MAX 4096

static tee_sim *sim;
static char state_dir[64];

static int rm_entry(const char *path, const struct stat *st, int flag, struct FTW *ftw)
{
	(void)st;
	(void)flag;
	(void)ftw;
	return remove(path);
}

static void cleanup(void)
{
	tee_sim_stop(sim);
	sim = NULL;
	if (state_dir[0] != 0)
		nftw(state_dir, rm_entry, 16, FTW_DEPTH | FTW_PHYS);
}

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
	tee_sim_config cfg;

	(void)argc;
	(void)argv;
	snprintf(state_dir, sizeof(state_dir), "/tmp/teeliza-fuzz-prpc-XXXXXX");
	if (mkdtemp(state_dir) == NULL)
		abort();
	memset(&cfg, 0, sizeof(cfg));
	cfg.state_dir = state_dir;
	cfg.key_pem = tee_sim_dev_key_pem;
	cfg.no_listener = true;
	cfg.quiet = true;
	if (tee_sim_start(&sim, &cfg) != TEELIZA_OK) {
		fprintf(stderr, "fuzz_prpc: %s\n", teeliza_errmsg());
		abort();
	}
	atexit(cleanup);
	return 0;
}

/* The quote's RTMR0-3 (TD report 1.0 at 48 + 328) equal the replay of the event log it came with. */
static void check_quote(const json_t *reply)
{
	const char *hex = json_string_value(json_object_get(reply, "quote"));
	const json_t *log_text = json_object_get(reply, "event_log");
	uint8_t rtmr[4][TEE_RTMR_LEN];
	tee_event_log log;
	teeliza_buf quote;
	int i;

	FUZZ_CHECK(hex != NULL && strncmp(hex, "0x04000200", 10) == 0);
	FUZZ_CHECK(json_is_string(log_text));
	FUZZ_CHECK(json_is_string(json_object_get(reply, "hash_algorithm")));
	teeliza_buf_init(&quote, 1 << 20);
	FUZZ_CHECK(teeliza_hex_decode_buf(&quote, hex + 2, strlen(hex + 2), false) == TEELIZA_OK);
	FUZZ_CHECK(quote.len > 48 + 328 + 4 * TEE_RTMR_LEN);
	FUZZ_CHECK(tee_event_log_parse(&log, json_string_value(log_text), json_string_length(log_text)) == TEELIZA_OK);
	tee_rtmr_replay(rtmr, &log);
	for (i = 0; i < 4; i++)
		FUZZ_CHECK(memcmp(quote.data + 48 + 328 + (size_t)i * TEE_RTMR_LEN, rtmr[i], TEE_RTMR_LEN) == 0);
	tee_event_log_free(&log);
	teeliza_buf_free(&quote);
}

static void check_reply(const char *path, unsigned status, const teeliza_buf *body)
{
	json_t *reply = json_loadb((const char *)body->data, body->len, 0, NULL);
	const json_t *chain;

	FUZZ_CHECK(status == 200 || status == 400 || status == 404);
	FUZZ_CHECK(json_is_object(reply));
	if (status != 200) {
		FUZZ_CHECK(json_object_size(reply) == 1 && json_is_string(json_object_get(reply, "error")));
		if (status == 404)
			FUZZ_CHECK(strcmp(json_string_value(json_object_get(reply, "error")), "method Not Found") == 0);
	} else if (strstr(path, "DeriveK256Key") != NULL) {
		chain = json_object_get(reply, "k256_signature_chain");
		FUZZ_CHECK(json_is_string(json_object_get(reply, "k256_key")));
		FUZZ_CHECK(json_string_length(json_object_get(reply, "k256_key")) == 64);
		FUZZ_CHECK(json_is_array(chain) && json_array_size(chain) == 2);
	} else if (strstr(path, "DeriveKey") != NULL) {
		chain = json_object_get(reply, "certificate_chain");
		FUZZ_CHECK(json_is_string(json_object_get(reply, "key")));
		FUZZ_CHECK(strncmp(json_string_value(json_object_get(reply, "key")), "-----BEGIN PRIVATE KEY-----", 27) == 0);
		FUZZ_CHECK(json_is_array(chain) && json_array_size(chain) == 2);
	} else if (strstr(path, "Quote") != NULL) {
		check_quote(reply);
	} else if (strstr(path, "SimRoot") != NULL) {
		FUZZ_CHECK(json_is_string(json_object_get(reply, "root_pem")));
		FUZZ_CHECK(json_is_object(json_object_get(reply, "collateral")));
	} else {
		FUZZ_CHECK(json_object_get(reply, "app_id") != NULL || json_object_get(reply, "version") != NULL);
	}
	json_decref(reply);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	char line[TARGET_MAX + 16], *sp, *q, *path, *query;
	const uint8_t *nl = memchr(data, '\n', size < sizeof(line) - 1 ? size : sizeof(line) - 1);
	size_t line_len = nl != NULL ? (size_t)(nl - data) : (size < sizeof(line) - 1 ? size : sizeof(line) - 1);
	teeliza_buf reply;
	unsigned status = 0;

	if (sim == NULL)
		LLVMFuzzerInitialize(NULL, NULL);
	/* the request line as C strings, as the HTTP server hands them over (a NUL ends them) */
	memcpy(line, data, line_len);
	line[line_len] = 0;
	sp = strchr(line, ' ');
	if (sp == NULL)
		return 0;
	*sp = 0;
	path = sp + 1;
	if (strncmp(path, "/prpc/", 6) != 0 || strncmp(path, "/prpc/Worker.", 13) == 0)
		return 0; /* dstack's services: fuzz_dstack_request */
	q = strchr(path, '?');
	query = NULL;
	if (q != NULL) {
		*q = 0;
		query = q + 1;
	}
	FUZZ_CHECK(tee_sim_call(&reply, &status, sim, line, path, query, nl != NULL ? nl + 1 : NULL,
	                        nl != NULL ? size - line_len - 1 : 0) == TEELIZA_OK);
	check_reply(path, status, &reply);
	teeliza_buf_free(&reply);
	return 0;
}
