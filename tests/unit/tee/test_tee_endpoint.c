/*
 * Which API and endpoint (tee_endpoint.h): TEE_MODE, TEE_API and the two
 * endpoint variables in combination, the SDK 0.5.8 socket lists (with real
 * unix sockets in a temp directory standing in for /var/run/…), the log
 * lines (Eliza's unchanged for LOCAL/DOCKER tappd, the SDK's warnings from
 * dstack-sdk-wire.json), and the endpoint parser shared with tappd.
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <cmocka.h>

#include "fakehttp.h"
#include "testutil.h"
#include "teeliza/common/common.h"
#include "teeliza/tee/tappd.h"
#include "teeliza/tee/tee_endpoint.h"

#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

/* A temp directory with socket paths d0..d3 (dstack) and t0..t3 (tappd); none exists until made. */
struct socks {
	char dir[64];
	char d[4][96], t[4][96];
	const char *dlist[5], *tlist[5];
	int fds[8];
	int n_fds;
};

static void socks_init(struct socks *s)
{
	int i;

	memset(s, 0, sizeof(*s));
	snprintf(s->dir, sizeof(s->dir), "/tmp/teeliza-endpoint-test-XXXXXX");
	assert_non_null(mkdtemp(s->dir));
	for (i = 0; i < 4; i++) {
		snprintf(s->d[i], sizeof(s->d[i]), "%s/dstack%d.sock", s->dir, i);
		snprintf(s->t[i], sizeof(s->t[i]), "%s/tappd%d.sock", s->dir, i);
		s->dlist[i] = s->d[i];
		s->tlist[i] = s->t[i];
	}
}

/* Make path a listening unix socket (as the agent's would be). */
static void socks_make(struct socks *s, const char *path)
{
	s->fds[s->n_fds++] = fakehttp_listen_unix(path);
}

static void socks_free(struct socks *s)
{
	int i;

	for (i = 0; i < s->n_fds; i++)
		close(s->fds[i]);
	for (i = 0; i < 4; i++) {
		unlink(s->d[i]);
		unlink(s->t[i]);
	}
	rmdir(s->dir);
}

static tee_endpoint_env env_for(const struct socks *s, const char *mode, const char *api, const char *dstack,
                                const char *tappd)
{
	tee_endpoint_env e;

	memset(&e, 0, sizeof(e));
	e.tee_mode = mode;
	e.tee_api = api;
	e.dstack_endpoint = dstack;
	e.tappd_endpoint = tappd;
	e.dstack_sockets = s->dlist;
	e.tappd_sockets = s->tlist;
	return e;
}

static const char *sdk_warning(json_t *vec, size_t i, const char *endpoint, char *out, size_t out_len)
{
	const char *w = json_string_value(json_array_get(json_object_get(vec, "warnings"), i));
	const char *mark = strstr(w, "<endpoint>");

	assert_non_null(mark);
	snprintf(out, out_len, "%.*s%s%s", (int)(mark - w), w, endpoint, mark + strlen("<endpoint>"));
	return out;
}

/* LOCAL and DOCKER without TEE_API: Eliza's tappd rules and lines, exactly. */
static void test_eliza_modes_unchanged(void **state)
{
	static const char *const modes[] = {"LOCAL", "DOCKER"};
	static const char *const overrides[] = {NULL, "", "http://127.0.0.1:18090", "/tmp/t.sock"};
	struct socks s;
	tee_endpoint_choice ch;
	tee_endpoint_env e;
	tappd_endpoint old;
	char line[TAPPD_CONNECT_LOG_LINE_MAX];
	size_t m, o;

	(void)state;
	socks_init(&s);
	socks_make(&s, s.d[0]); /* a dstack socket changes nothing outside PRODUCTION */
	for (m = 0; m < 2; m++)
		for (o = 0; o < 4; o++) {
			e = env_for(&s, modes[m], NULL, overrides[o], NULL);
			assert_int_equal(tee_endpoint_choose(&ch, &e), TEELIZA_OK);
			assert_int_equal(ch.api, TEE_API_TAPPD);
			assert_false(ch.api_explicit);
			assert_int_equal(tappd_endpoint_select(&old, modes[m], overrides[o]), TEELIZA_OK);
			assert_memory_equal(&ch.ep, &old, sizeof(old));
			assert_string_equal(ch.log_line, tappd_connect_log_line(line, sizeof(line), modes[m], overrides[o]));
			if (o >= 2) {
				assert_true(ch.overridden);
				snprintf(line, sizeof(line), "%s%s", TAPPD_OVERRIDE_LOG_PREFIX, overrides[o]);
				assert_string_equal(ch.sdk_line, line);
			} else {
				assert_false(ch.overridden);
				assert_string_equal(ch.sdk_line, "");
			}
			/* TEE_API=tappd is the same */
			e.tee_api = "tappd";
			assert_int_equal(tee_endpoint_choose(&ch, &e), TEELIZA_OK);
			assert_true(ch.api_explicit);
			assert_memory_equal(&ch.ep, &old, sizeof(old));
			assert_string_equal(ch.log_line, tappd_connect_log_line(line, sizeof(line), modes[m], overrides[o]));
		}
	assert_string_equal(ch.log_line, "TEE: Connecting to simulator at /tmp/t.sock (DSTACK_SIMULATOR_ENDPOINT replaces "
	                                 "host.docker.internal:8090 of TEE_MODE=DOCKER)");
	socks_free(&s);
}

static void test_explicit_dstack_in_simulator_modes(void **state)
{
	json_t *vec = vector_json("dstack-sdk-wire.json");
	struct socks s;
	tee_endpoint_choice ch;
	tee_endpoint_env e;
	char want[300];

	(void)state;
	socks_init(&s);
	/* the teeliza simulator serves both APIs on :8090 */
	e = env_for(&s, "LOCAL", "dstack", NULL, NULL);
	assert_int_equal(tee_endpoint_choose(&ch, &e), TEELIZA_OK);
	assert_int_equal(ch.api, TEE_API_DSTACK);
	assert_string_equal(ch.ep.url, "http://localhost:8090");
	assert_string_equal(ch.log_line, "TEE: Connecting to local simulator at localhost:8090 (dstack API, TEE_API=dstack)");
	assert_string_equal(ch.sdk_line, "");
	e = env_for(&s, "DOCKER", "dstack", "", NULL);
	assert_int_equal(tee_endpoint_choose(&ch, &e), TEELIZA_OK);
	assert_string_equal(ch.ep.url, "http://host.docker.internal:8090");
	assert_string_equal(ch.log_line,
	                    "TEE: Connecting to simulator via Docker at host.docker.internal:8090 (dstack API, TEE_API=dstack)");
	/* DSTACK_SIMULATOR_ENDPOINT, with the SDK's warning */
	e = env_for(&s, "LOCAL", "dstack", "/tmp/x/dstack.sock", "http://127.0.0.1:1");
	assert_int_equal(tee_endpoint_choose(&ch, &e), TEELIZA_OK);
	assert_int_equal(ch.api, TEE_API_DSTACK);
	assert_string_equal(ch.ep.socket, "/tmp/x/dstack.sock");
	assert_true(ch.overridden);
	assert_string_equal(ch.log_line, "TEE: Connecting to local simulator at /tmp/x/dstack.sock (dstack API, "
	                                 "TEE_API=dstack; DSTACK_SIMULATOR_ENDPOINT replaces localhost:8090 of "
	                                 "TEE_MODE=LOCAL)");
	assert_string_equal(ch.sdk_line, sdk_warning(vec, 0, "/tmp/x/dstack.sock", want, sizeof(want)));
	/* TAPPD_SIMULATOR_ENDPOINT, for the tappd API, with TappdClient's warning */
	e = env_for(&s, "LOCAL", NULL, "http://127.0.0.1:2", "http://127.0.0.1:1/x");
	assert_int_equal(tee_endpoint_choose(&ch, &e), TEELIZA_OK);
	assert_int_equal(ch.api, TEE_API_TAPPD);
	assert_string_equal(ch.ep.url, "http://127.0.0.1:1/x");
	assert_string_equal(ch.log_line, "TEE: Connecting to local simulator at http://127.0.0.1:1/x "
	                                 "(TAPPD_SIMULATOR_ENDPOINT replaces localhost:8090 of TEE_MODE=LOCAL; "
	                                 "DSTACK_SIMULATOR_ENDPOINT is not used)");
	assert_string_equal(ch.sdk_line, sdk_warning(vec, 1, "http://127.0.0.1:1/x", want, sizeof(want)));
	e.dstack_endpoint = NULL;
	e.tee_mode = "DOCKER";
	assert_int_equal(tee_endpoint_choose(&ch, &e), TEELIZA_OK);
	assert_string_equal(ch.log_line, "TEE: Connecting to simulator at http://127.0.0.1:1/x (TAPPD_SIMULATOR_ENDPOINT "
	                                 "replaces host.docker.internal:8090 of TEE_MODE=DOCKER)");
	socks_free(&s);
	json_decref(vec);
}

static void test_production(void **state)
{
	struct socks s;
	tee_endpoint_choice ch;
	tee_endpoint_env e;
	char want[600];

	(void)state;
	socks_init(&s);

	/* nothing exists: tappd at the first of its list, said so */
	e = env_for(&s, "PRODUCTION", NULL, NULL, NULL);
	assert_int_equal(tee_endpoint_choose(&ch, &e), TEELIZA_OK);
	assert_int_equal(ch.api, TEE_API_TAPPD);
	assert_string_equal(ch.ep.socket, s.t[0]);
	snprintf(want, sizeof(want), "TEE: Running in production mode without simulator: tappd API at %s (no dstack "
	         "socket found; it does not exist either)", s.t[0]);
	assert_string_equal(ch.log_line, want);
	/* the tappd list in order: the first that exists */
	socks_make(&s, s.t[2]);
	assert_int_equal(tee_endpoint_choose(&ch, &e), TEELIZA_OK);
	assert_string_equal(ch.ep.socket, s.t[2]);
	snprintf(want, sizeof(want), "TEE: Running in production mode without simulator: tappd API at %s (no dstack "
	         "socket found)", s.t[2]);
	assert_string_equal(ch.log_line, want);
	/* a dstack socket exists: dstack, the first existing of its list */
	socks_make(&s, s.d[3]);
	assert_int_equal(tee_endpoint_choose(&ch, &e), TEELIZA_OK);
	assert_int_equal(ch.api, TEE_API_DSTACK);
	assert_string_equal(ch.ep.socket, s.d[3]);
	snprintf(want, sizeof(want), "TEE: Running in production mode without simulator: dstack API at %s (found)", s.d[3]);
	assert_string_equal(ch.log_line, want);
	assert_string_equal(ch.sdk_line, "");
	socks_make(&s, s.d[1]);
	assert_int_equal(tee_endpoint_choose(&ch, &e), TEELIZA_OK);
	assert_string_equal(ch.ep.socket, s.d[1]);
	/* TEE_API=tappd forces tappd even so */
	e.tee_api = "tappd";
	assert_int_equal(tee_endpoint_choose(&ch, &e), TEELIZA_OK);
	assert_int_equal(ch.api, TEE_API_TAPPD);
	assert_string_equal(ch.ep.socket, s.t[2]);
	snprintf(want, sizeof(want), "TEE: Running in production mode without simulator: tappd API at %s (TEE_API=tappd)",
	         s.t[2]);
	assert_string_equal(ch.log_line, want);
	/* an endpoint variable is not second-guessed by looking for sockets: Eliza's tappd override, unchanged */
	e = env_for(&s, "PRODUCTION", NULL, "http://10.0.0.1:8090", NULL);
	assert_int_equal(tee_endpoint_choose(&ch, &e), TEELIZA_OK);
	assert_int_equal(ch.api, TEE_API_TAPPD);
	assert_string_equal(ch.ep.url, "http://10.0.0.1:8090");
	assert_non_null(strstr(ch.log_line, "WARNING: TEE_MODE=PRODUCTION, but DSTACK_SIMULATOR_ENDPOINT sends every "
	                                    "request to http://10.0.0.1:8090 instead of /var/run/tappd.sock"));
	e = env_for(&s, "PRODUCTION", NULL, NULL, "/tmp/sim/tappd.sock");
	assert_int_equal(tee_endpoint_choose(&ch, &e), TEELIZA_OK);
	assert_int_equal(ch.api, TEE_API_TAPPD);
	assert_string_equal(ch.ep.socket, "/tmp/sim/tappd.sock");
	snprintf(want, sizeof(want), "TEE: WARNING: TEE_MODE=PRODUCTION, but TAPPD_SIMULATOR_ENDPOINT sends every tappd "
	         "request to /tmp/sim/tappd.sock instead of %s: keys and quotes come from there, not from this "
	         "machine's TDX", s.t[2]);
	assert_string_equal(ch.log_line, want);
	assert_string_equal(ch.sdk_line, "Using tappd endpoint: /tmp/sim/tappd.sock");
	/* TEE_API=dstack with DSTACK_SIMULATOR_ENDPOINT: a warning naming what it replaces */
	e = env_for(&s, "PRODUCTION", "dstack", "http://10.0.0.2:8090", NULL);
	assert_int_equal(tee_endpoint_choose(&ch, &e), TEELIZA_OK);
	assert_int_equal(ch.api, TEE_API_DSTACK);
	assert_string_equal(ch.ep.url, "http://10.0.0.2:8090");
	snprintf(want, sizeof(want), "TEE: WARNING: TEE_MODE=PRODUCTION, but DSTACK_SIMULATOR_ENDPOINT sends every dstack "
	         "API request to http://10.0.0.2:8090 instead of %s: keys and quotes come from there, not from this "
	         "machine's TDX", s.d[1]);
	assert_string_equal(ch.log_line, want);
	assert_string_equal(ch.sdk_line, "Using simulator endpoint: http://10.0.0.2:8090");
	socks_free(&s);

	/* TEE_API=dstack with no socket at all: the first of the list, said so */
	socks_init(&s);
	e = env_for(&s, "PRODUCTION", "dstack", NULL, NULL);
	assert_int_equal(tee_endpoint_choose(&ch, &e), TEELIZA_OK);
	assert_int_equal(ch.api, TEE_API_DSTACK);
	assert_string_equal(ch.ep.socket, s.d[0]);
	snprintf(want, sizeof(want), "TEE: Running in production mode without simulator: dstack API at %s (TEE_API=dstack; "
	         "it does not exist)", s.d[0]);
	assert_string_equal(ch.log_line, want);
	socks_free(&s);
}

static void test_bad_settings(void **state)
{
	struct socks s;
	tee_endpoint_choice ch;
	tee_endpoint_env e;
	char huge[700];

	(void)state;
	socks_init(&s);
	e = env_for(&s, "LOCAL", "DSTACK", NULL, NULL);
	assert_int_equal(tee_endpoint_choose(&ch, &e), TEELIZA_ERR_CONFIG);
	assert_string_equal(teeliza_errmsg(),
	                    "Invalid TEE_API: DSTACK. Must be one of: dstack, tappd (or unset to choose automatically)");
	assert_int_equal(ch.api, 0);
	/* TEE_MODE is judged first, with Eliza's words */
	e = env_for(&s, "prod", "nope", NULL, NULL);
	assert_int_equal(tee_endpoint_choose(&ch, &e), TEELIZA_ERR_CONFIG);
	assert_string_equal(teeliza_errmsg(), "Invalid TEE_MODE: prod. Must be one of: LOCAL, DOCKER, PRODUCTION");
	e = env_for(&s, NULL, NULL, NULL, NULL);
	assert_int_equal(tee_endpoint_choose(&ch, &e), TEELIZA_ERR_CONFIG);
	assert_string_equal(teeliza_errmsg(), "Invalid TEE_MODE: undefined. Must be one of: LOCAL, DOCKER, PRODUCTION");
	/* TEE_API "" is unset */
	e = env_for(&s, "LOCAL", "", NULL, NULL);
	assert_int_equal(tee_endpoint_choose(&ch, &e), TEELIZA_OK);
	assert_int_equal(ch.api, TEE_API_TAPPD);
	/* endpoints that do not parse, named for their API */
	e = env_for(&s, "LOCAL", "dstack", "http://", NULL);
	assert_int_equal(tee_endpoint_choose(&ch, &e), TEELIZA_ERR_INVALID);
	assert_string_equal(teeliza_errmsg(), "dstack endpoint URL http:// has no host");
	assert_string_equal(ch.ep.url, "");
	e = env_for(&s, "PRODUCTION", NULL, NULL, "https:// x");
	assert_int_equal(tee_endpoint_choose(&ch, &e), TEELIZA_ERR_INVALID);
	assert_string_equal(teeliza_errmsg(), "tappd endpoint URL contains spaces or control characters");
	memset(huge, 'a', sizeof(huge) - 1);
	huge[0] = '/';
	huge[sizeof(huge) - 1] = 0;
	e = env_for(&s, "DOCKER", "dstack", huge, NULL);
	assert_int_equal(tee_endpoint_choose(&ch, &e), TEELIZA_ERR_INVALID);
	assert_non_null(strstr(teeliza_errmsg(), "longer than 107 bytes"));
	/* control characters never reach a log line */
	e = env_for(&s, "LOCAL", "dstack", "/tmp/a\nb\x1b", NULL);
	assert_int_equal(tee_endpoint_choose(&ch, &e), TEELIZA_OK);
	assert_non_null(strstr(ch.log_line, "at /tmp/a?b? ("));
	assert_string_equal(ch.sdk_line, "Using simulator endpoint: /tmp/a?b?");
	socks_free(&s);
}

static void test_sdk_defaults(void **state)
{
	struct socks s;
	tee_endpoint ep;
	tee_api api;
	tee_endpoint_env e;

	(void)state;
	socks_init(&s);
	/* DstackClient(): the variable, else the first existing socket, else the first */
	assert_int_equal(tee_dstack_endpoint_default(&ep, NULL, s.dlist), TEELIZA_OK);
	assert_string_equal(ep.socket, s.d[0]);
	socks_make(&s, s.d[2]);
	assert_int_equal(tee_dstack_endpoint_default(&ep, "", s.dlist), TEELIZA_OK);
	assert_string_equal(ep.socket, s.d[2]);
	assert_int_equal(tee_dstack_endpoint_default(&ep, "https://h:1", s.dlist), TEELIZA_OK);
	assert_string_equal(ep.url, "https://h:1");
	assert_int_equal(tee_tappd_endpoint_default(&ep, NULL, s.tlist), TEELIZA_OK);
	assert_string_equal(ep.socket, s.t[0]);
	assert_int_equal(tee_tappd_endpoint_default(&ep, "x.sock", s.tlist), TEELIZA_OK);
	assert_string_equal(ep.socket, "x.sock");
	assert_ptr_equal(tee_first_existing(s.dlist), s.dlist[2]);
	assert_null(tee_first_existing(s.tlist));
	/* the built-in lists are the SDK's */
	assert_string_equal(TEE_DSTACK_SOCKETS[0], "/var/run/dstack.sock");
	assert_string_equal(TEE_DSTACK_SOCKETS[1], "/run/dstack.sock");
	assert_string_equal(TEE_DSTACK_SOCKETS[2], "/var/run/dstack/dstack.sock");
	assert_string_equal(TEE_DSTACK_SOCKETS[3], "/run/dstack/dstack.sock");
	assert_null(TEE_DSTACK_SOCKETS[4]);
	assert_string_equal(TEE_TAPPD_SOCKETS[0], "/var/run/tappd.sock");
	assert_string_equal(TEE_TAPPD_SOCKETS[1], "/run/tappd.sock");
	assert_string_equal(TEE_TAPPD_SOCKETS[2], "/var/run/dstack/tappd.sock");
	assert_string_equal(TEE_TAPPD_SOCKETS[3], "/run/dstack/tappd.sock");
	assert_null(TEE_TAPPD_SOCKETS[4]);
	assert_int_equal(tee_api_parse(&api, "tappd"), TEELIZA_OK);
	assert_int_equal(api, TEE_API_TAPPD);
	assert_string_equal(tee_api_name(TEE_API_DSTACK), "dstack");
	/* from the process environment */
	assert_int_equal(setenv("TEE_MODE", "DOCKER", 1), 0);
	assert_int_equal(setenv("TEE_API", "dstack", 1), 0);
	assert_int_equal(setenv("DSTACK_SIMULATOR_ENDPOINT", "http://d:1", 1), 0);
	assert_int_equal(setenv("TAPPD_SIMULATOR_ENDPOINT", "http://t:1", 1), 0);
	tee_endpoint_env_from_process(&e);
	assert_string_equal(e.tee_mode, "DOCKER");
	assert_string_equal(e.tee_api, "dstack");
	assert_string_equal(e.dstack_endpoint, "http://d:1");
	assert_string_equal(e.tappd_endpoint, "http://t:1");
	assert_null(e.dstack_sockets);
	unsetenv("TEE_MODE");
	unsetenv("TEE_API");
	unsetenv("DSTACK_SIMULATOR_ENDPOINT");
	unsetenv("TAPPD_SIMULATOR_ENDPOINT");
	socks_free(&s);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_eliza_modes_unchanged),
		cmocka_unit_test(test_explicit_dstack_in_simulator_modes),
		cmocka_unit_test(test_production),
		cmocka_unit_test(test_bad_settings),
		cmocka_unit_test(test_sdk_defaults),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
