/*
 * Fuzz the simulator's dstack request handling - which listener routes a
 * path to which service, pRPC's JSON-mode decision (GET, ?json, the
 * Content-Type), the arguments from a query string or a JSON body, and
 * every DstackGuest and Worker method on them - through tee_sim_call_on on
 * a simulator with no listener, holding dstack's public simulator keys.
 *
 * Input: one line "LISTENER METHOD TARGET CONTENT-TYPE\n" (LISTENER is
 * tcp, tappd or dstack; TARGET a path with an optional "?query";
 * CONTENT-TYPE the rest of the line, "-" for none), then the body.
 *
 * Invariants: the status is 200, 400 or 404; a 404 is {"error":"method
 * Not Found"}; a 400 is exactly the pretty {"error": msg} dstack writes
 * (or, from the tappd service, its JSON error); a 200 is JSON, and for
 * GetKey the key's chain recovers to dstack's simulator KMS root, for
 * GetQuote and GetAttestationForAppKey the quote carries the report data
 * and its RTMRs are the replay of the stripped log it came with, EmitEvent
 * answers null, Info's tcb_info is JSON or hidden. The log is reset (a new
 * simulator) after a number of emitted events so it never fills up.
 */
#include "fuzz.h"

#include "teeliza/common/encoding.h"
#include "teeliza/dcap/quote.h"
#include "teeliza/sim/simulator.h"
#include "teeliza/tee/dstack_events.h"
#include "teeliza/tee/dstack_keys.h"

#include <ftw.h>
#include <jansson.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#define LINE_MAX_LEN 4096
#define EMITS_PER_SIMULATOR 64

static tee_sim *sim;
static char state_dir[64];
static unsigned emits;

/* dstack's simulator app key and KMS root (spec §1.9) */
static const char app_pub_hex[] = "02818494263695e8839122dbd88e281d7380622999df4e60a14befa0f2d096fc7c";
static const char root_pub_hex[] = "0321529e458424ab1f710a3a57ec4dad2fb195ddca572f7469242ba6c7563085b6";
static const uint8_t app_id[20] = {0x5b, 0xb4, 0xff, 0x9a, 0x38, 0x37, 0x35, 0x7f, 0x19, 0xdc,
                                   0x17, 0x64, 0x07, 0xa5, 0x70, 0x9c, 0x62, 0xeb, 0x6c, 0x56};

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

static void start(void)
{
	tee_sim_config cfg;

	memset(&cfg, 0, sizeof(cfg));
	cfg.state_dir = state_dir;
	cfg.key_pem = tee_sim_dev_key_pem;
	cfg.dstack_dev_keys = true;
	cfg.no_listener = true;
	cfg.quiet = true;
	if (tee_sim_start(&sim, &cfg) != TEELIZA_OK) {
		fprintf(stderr, "fuzz_dstack_request: %s\n", teeliza_errmsg());
		abort();
	}
	emits = 0;
}

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
	(void)argc;
	(void)argv;
	snprintf(state_dir, sizeof(state_dir), "/tmp/teeliza-fuzz-dstack-XXXXXX");
	if (mkdtemp(state_dir) == NULL)
		abort();
	start();
	atexit(cleanup);
	return 0;
}

static bool hex_bytes(uint8_t *out, size_t cap, size_t *len, const json_t *v)
{
	const char *s = json_string_value(v);

	return s != NULL && teeliza_hex_decode(out, cap, len, s, strlen(s), false) == TEELIZA_OK;
}

/* chain[0] recovers to the simulator app key for the key's public key, chain[1] to the KMS root. */
static void check_get_key(const json_t *reply, const char *purpose, size_t purpose_len, tee_dstack_alg alg)
{
	const json_t *chain = json_object_get(reply, "signature_chain");
	uint8_t key[32], c0[65], c1[65], pub[33], app_pub[33], root[33], digest[32];
	size_t n, pub_len;
	char hex[67];

	FUZZ_CHECK(json_is_array(chain) && json_array_size(chain) == 2);
	FUZZ_CHECK(hex_bytes(key, sizeof(key), &n, json_object_get(reply, "key")) && n == 32);
	FUZZ_CHECK(hex_bytes(c0, sizeof(c0), &n, json_array_get(chain, 0)) && n == 65);
	FUZZ_CHECK(hex_bytes(c1, sizeof(c1), &n, json_array_get(chain, 1)) && n == 65);
	FUZZ_CHECK(tee_dstack_public_key(pub, &pub_len, alg, key) == TEELIZA_OK);
	tee_dstack_key_digest(digest, purpose, purpose_len, pub, pub_len);
	FUZZ_CHECK(tee_dstack_recover(app_pub, c0, digest) == TEELIZA_OK);
	teeliza_hex_encode(hex, app_pub, 33);
	FUZZ_CHECK(strcmp(hex, app_pub_hex) == 0);
	tee_dstack_kms_digest(digest, app_id, app_pub);
	FUZZ_CHECK(tee_dstack_recover(root, c1, digest) == TEELIZA_OK);
	teeliza_hex_encode(hex, root, 33);
	FUZZ_CHECK(strcmp(hex, root_pub_hex) == 0);
}

/* The quote carries report_data, and the stripped log replays to its RTMRs. */
static void check_quote(const json_t *reply)
{
	const char *hex = json_string_value(json_object_get(reply, "quote"));
	const char *log = json_string_value(json_object_get(reply, "event_log"));
	uint8_t rd[64];
	size_t n;
	teeliza_buf quote;
	dcap_quote q;
	tee_dstack_events ev;

	FUZZ_CHECK(hex != NULL && log != NULL && strncmp(hex, "04000200", 8) == 0);
	FUZZ_CHECK(json_is_string(json_object_get(reply, "vm_config")));
	FUZZ_CHECK(hex_bytes(rd, sizeof(rd), &n, json_object_get(reply, "report_data")) && n == 64);
	teeliza_buf_init(&quote, 1 << 20);
	FUZZ_CHECK(teeliza_hex_decode_buf(&quote, hex, strlen(hex), false) == TEELIZA_OK);
	FUZZ_CHECK(dcap_quote_parse(&q, quote.data, quote.len) == TEELIZA_OK);
	FUZZ_CHECK(memcmp(q.body.td.report_data, rd, 64) == 0);
	FUZZ_CHECK(tee_dstack_events_parse(&ev, log, strlen(log)) == TEELIZA_OK);
	FUZZ_CHECK(tee_dstack_events_check_quote(&ev, &q.body.td) == TEELIZA_OK);
	FUZZ_CHECK(ev.stripped_count == ev.runtime_count && ev.runtime_count >= 9);
	tee_dstack_events_free(&ev);
	teeliza_buf_free(&quote);
}

/* The pretty error body: {\n  "error": "..."\n} and nothing else. */
static void check_error(const teeliza_buf *body, const json_t *reply)
{
	static const char head[] = "{\n  \"error\": \"";

	FUZZ_CHECK(json_is_object(reply) && json_object_size(reply) == 1);
	FUZZ_CHECK(json_is_string(json_object_get(reply, "error")));
	FUZZ_CHECK(body->len > sizeof(head) + 3 && memcmp(body->data, head, sizeof(head) - 1) == 0);
	FUZZ_CHECK(memcmp(body->data + body->len - 3, "\"\n}", 3) == 0);
}

static void check_reply(const char *method_name, const char *args_text, unsigned status, const teeliza_buf *body)
{
	json_t *reply = json_loadb((const char *)body->data, body->len, JSON_DECODE_ANY, NULL);

	FUZZ_CHECK(status == 200 || status == 400 || status == 404);
	FUZZ_CHECK(reply != NULL);
	if (status == 404) {
		FUZZ_CHECK(strcmp(json_string_value(json_object_get(reply, "error")), "method Not Found") == 0);
	} else if (status == 400) {
		check_error(body, reply);
	} else if (strcmp(method_name, "EmitEvent") == 0) {
		FUZZ_CHECK(json_is_null(reply));
		emits++;
	} else if (strcmp(method_name, "GetKey") == 0 && args_text != NULL) {
		/* the request's purpose and algorithm, read back the way the server read them */
		json_t *args = json_loads(args_text, JSON_ALLOW_NUL, NULL);
		const char *purpose = json_string_value(json_object_get(args, "purpose"));
		const char *alg = json_string_value(json_object_get(args, "algorithm"));

		/* a purpose may hold a NUL, as dstack's may: its length is the JSON string's */
		if (args != NULL)
			check_get_key(reply, purpose != NULL ? purpose : "",
			              purpose != NULL ? json_string_length(json_object_get(args, "purpose")) : 0,
			              alg != NULL && strcmp(alg, "ed25519") == 0 ? TEE_DSTACK_ALG_ED25519
			                                                          : TEE_DSTACK_ALG_SECP256K1);
		json_decref(args);
	} else if (strcmp(method_name, "GetQuote") == 0 || strcmp(method_name, "Worker.GetAttestationForAppKey") == 0) {
		check_quote(reply);
	} else if (strcmp(method_name, "Info") == 0 || strcmp(method_name, "Worker.Info") == 0) {
		const char *tcb = json_string_value(json_object_get(reply, "tcb_info"));
		json_t *t;

		FUZZ_CHECK(tcb != NULL && json_string_length(json_object_get(reply, "app_id")) == 40);
		if (tcb[0] != 0) {
			t = json_loads(tcb, 0, NULL);
			FUZZ_CHECK(json_is_object(t));
			json_decref(t);
		}
	} else {
		FUZZ_CHECK(json_is_object(reply));
	}
	json_decref(reply);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	char line[LINE_MAX_LEN + 1], *fields[4], *p, *path, *query = NULL, *q;
	const uint8_t *nl = memchr(data, '\n', size < LINE_MAX_LEN ? size : LINE_MAX_LEN);
	size_t line_len = nl != NULL ? (size_t)(nl - data) : (size < LINE_MAX_LEN ? size : LINE_MAX_LEN);
	const uint8_t *body = nl != NULL ? nl + 1 : NULL;
	size_t body_len = nl != NULL ? size - line_len - 1 : 0, i;
	const char *method_name;
	char *body_text = NULL;
	tee_sim_listener l;
	teeliza_buf reply;
	unsigned status = 0;

	if (sim == NULL)
		LLVMFuzzerInitialize(NULL, NULL);
	if (emits >= EMITS_PER_SIMULATOR) {
		tee_sim_stop(sim);
		start();
	}
	memcpy(line, data, line_len);
	line[line_len] = 0; /* the request line as C strings, as the HTTP server hands them over */
	p = line;
	for (i = 0; i < 3; i++) {
		fields[i] = p;
		p = strchr(p, ' ');
		if (p == NULL)
			return 0;
		*p++ = 0;
	}
	fields[3] = p;
	if (strcmp(fields[0], "tcp") == 0)
		l = TEE_SIM_TCP;
	else if (strcmp(fields[0], "tappd") == 0)
		l = TEE_SIM_TAPPD_SOCKET;
	else if (strcmp(fields[0], "dstack") == 0)
		l = TEE_SIM_DSTACK_SOCKET;
	else
		return 0;
	path = fields[2];
	q = strchr(path, '?');
	if (q != NULL) {
		*q = 0;
		query = q + 1;
	}
	FUZZ_CHECK(tee_sim_call_on(&reply, &status, sim, l, fields[1], path, query,
	                           strcmp(fields[3], "-") == 0 ? "" : fields[3], body, body_len) == TEELIZA_OK);
	if (strncmp(path, "/prpc/", 6) == 0 && strncmp(path, "/prpc/Worker.", 13) != 0) {
		/* the tappd service (fuzz_prpc's): only its error shape here */
		json_t *r = json_loadb((const char *)reply.data, reply.len, 0, NULL);

		FUZZ_CHECK(status == 200 || status == 400 || status == 404);
		FUZZ_CHECK(json_is_object(r));
		json_decref(r);
	} else {
		method_name = strncmp(path, "/prpc/", 6) == 0 ? path + 6 : path + (path[0] == '/');
		if (strcmp(fields[1], "POST") == 0 && body != NULL) {
			body_text = malloc(body_len + 1);
			FUZZ_CHECK(body_text != NULL);
			memcpy(body_text, body, body_len);
			body_text[body_len] = 0;
		}
		check_reply(method_name, strcmp(fields[1], "POST") == 0 ? (body_text != NULL ? body_text : "{}") : NULL,
		            status, &reply);
		free(body_text);
	}
	teeliza_buf_free(&reply);
	return 0;
}
