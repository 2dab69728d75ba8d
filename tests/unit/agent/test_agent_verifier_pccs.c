/*
 * The agent's verifier (POST /verify, the dashboard) with a PCCS configured
 * (PCCS_URL): a quote sent without collateral gets it from the cache or a
 * loopback PCCS serving the vectors, labelled by where it came from; with
 * the PCCS down and nothing valid cached, a 502 that says so; with no PCCS
 * configured, the 422 advice as before and no request anywhere.
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <cmocka.h>

#include "pccs_fake.h"
#include "testutil.h"
#include "agent/api/api_verifier.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#define TDX_NOW 1752919234
#define TDX_NOT_AFTER 1752919235

static json_t *verdict(api_verifier *v, const uint8_t *quote, size_t len, int64_t now, unsigned *status)
{
	api_verify_input in;
	json_t *out = NULL;

	memset(&in, 0, sizeof(in));
	in.quote = quote;
	in.quote_len = len;
	in.now = now;
	assert_int_equal(api_verify_quote(&out, status, v, &in), TEELIZA_OK);
	assert_non_null(out);
	return out;
}

static const char *str(const json_t *j, const char *key)
{
	const char *s = json_string_value(json_object_get(j, key));

	assert_non_null(s);
	return s;
}

static void test_verifier_pccs(void **state)
{
	pccs_fake p;
	api_verifier *v;
	char dir[] = "/tmp/teeliza-agent-cache-XXXXXX", cmd[128];
	unsigned status;
	size_t qlen;
	uint8_t *quote = vector_read("dcapqvl-tdx_quote", &qlen);
	json_t *j;

	(void)state;
	assert_non_null(mkdtemp(dir));
	pccs_fake_init(&p, "dcapqvl-tdx_quote_collateral.json", "tdx", "B0C06F000000", "platform");
	pccs_fake_start(&p);

	/* No PCCS configured: the advice, nothing fetched. */
	assert_int_equal(api_verifier_new(&v, NULL), TEELIZA_OK);
	j = verdict(v, quote, qlen, TDX_NOW, &status);
	assert_int_equal(status, 422);
	assert_non_null(strstr(str(j, "error"), "collateral needed"));
	json_decref(j);
	assert_int_equal(pccs_fake_requests(&p), 0);
	/* Plain http to a host off loopback is refused at configuration. */
	assert_int_equal(api_verifier_set_pccs(v, "http://pccs.invalid", dir, false), TEELIZA_ERR_CONFIG);

	/* Configured: fetched, then from the cache, then from the cache with the PCCS gone. */
	assert_int_equal(api_verifier_set_pccs(v, p.base, dir, false), TEELIZA_OK);
	j = verdict(v, quote, qlen, TDX_NOW - 60, &status);
	assert_int_equal(status, 200);
	assert_string_equal(str(j, "collateralSource"), "pccs");
	json_decref(j);
	assert_int_equal(pccs_fake_requests(&p), 4);
	j = verdict(v, quote, qlen, TDX_NOW, &status);
	assert_int_equal(status, 200);
	assert_string_equal(str(j, "verdict"), "trusted");
	assert_string_equal(str(j, "rootedIn"), "intel");
	assert_string_equal(str(j, "collateralSource"), "cache");
	json_decref(j);
	assert_int_equal(pccs_fake_requests(&p), 4);
	pccs_fake_stop(&p);
	j = verdict(v, quote, qlen, TDX_NOW, &status);
	assert_int_equal(status, 200);
	assert_string_equal(str(j, "verdict"), "trusted");
	assert_string_equal(str(j, "collateralSource"), "cache");
	json_decref(j);
	/* Past nextUpdate, the PCCS down: the expired entry is not used; a 502 says why. */
	j = verdict(v, quote, qlen, TDX_NOT_AFTER + 1, &status);
	assert_int_equal(status, 502);
	assert_non_null(strstr(str(j, "error"), "FMSPC B0C06F000000"));
	assert_non_null(strstr(str(j, "error"), "is not used"));
	assert_non_null(strstr(str(j, "error"), "cannot fetch"));
	json_decref(j);
	/* Just after a failure the PCCS is not asked again (no request waits for its timeout) ... */
	pccs_fake_start(&p);
	assert_int_equal(api_verifier_set_pccs(v, p.base, dir, false), TEELIZA_OK);
	j = verdict(v, quote, qlen, TDX_NOW, &status);
	assert_int_equal(status, 502);
	assert_non_null(strstr(str(j, "error"), "not asked again yet"));
	json_decref(j);
	assert_int_equal(pccs_fake_requests(&p), 4);
	/* ... and once the back-off is over, it is. */
	v->pccs_failed_at -= API_PCCS_BACKOFF_S;
	j = verdict(v, quote, qlen, TDX_NOW, &status);
	assert_int_equal(status, 200);
	assert_string_equal(str(j, "collateralSource"), "pccs");
	json_decref(j);
	assert_int_equal(pccs_fake_requests(&p), 8);
	/* A quote whose PCK chain is not signed by Intel (one byte of the leaf's signature changed) never
	 * makes the agent ask the PCCS: the advice, as without one. */
	{
		uint8_t *forged = malloc(qlen);
		const char *end = "-----END CERTIFICATE-----";
		uint8_t *at;

		memcpy(forged, quote, qlen);
		at = memmem(forged, qlen, end, strlen(end));
		assert_non_null(at);
		at -= 8; /* inside the last base64 line: the signature's s */
		*at = *at == 'A' ? 'B' : 'A';
		j = verdict(v, forged, qlen, TDX_NOW, &status);
		assert_int_equal(status, 422);
		json_decref(j);
		assert_int_equal(pccs_fake_requests(&p), 8);
		free(forged);
	}
	pccs_fake_stop(&p);
	/* A quote that does not parse is judged as before: no PCCS asked. */
	j = verdict(v, quote, 700, TDX_NOW, &status);
	assert_int_equal(status, 400);
	assert_non_null(strstr(str(j, "error"), "truncated quote"));
	json_decref(j);

	api_verifier_free(v);
	pccs_fake_free(&p);
	snprintf(cmd, sizeof(cmd), "rm -rf '%s'", dir);
	assert_int_equal(system(cmd), 0);
	free(quote);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_verifier_pccs),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
