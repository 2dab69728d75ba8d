/*
 * The runtime's plugin interface (agent_plugin, teeliza/agent/runtime.h)
 * with plugins of the test's own: each started once per agent after the
 * model and in the registry's order, its actions after the bootstrap ones,
 * its provider text in the prompt, its note in the start line, its state
 * found by name and stopped once when the agent goes away; a plugin off for
 * an agent adds nothing; a failing start stops the agent from starting and
 * stops the plugins already started.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include "testutil.h"
#include "agent/runtime/runtime_internal.h" /* agent_runtime_compose_state */
#include "teeliza/agent/runtime.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* What one test plugin does and what was done to it. */
struct fake {
	const char *action;          /* its actions' name, or NULL: none */
	size_t count;                /* how many actions it adds (0: one) */
	const char *provides;        /* its provider text, or NULL: no provider */
	bool off;                    /* start leaves it off */
	teeliza_err fail;            /* start fails with this */
	int starts, stops;
	const char *started_for;     /* agent id start was given */
	void *state;                 /* what start returned */
};

/* The first letter of each started plugin's action name, in start order. */
static char start_order[16];

static teeliza_err fake_start(void **state, void *ctx, const agent_plugin_agent *agent)
{
	struct fake *f = ctx;
	size_t n;

	*state = NULL;
	f->starts++;
	f->started_for = agent->agent_id;
	assert_non_null(agent->character);
	assert_non_null(agent->store);
	n = strlen(start_order);
	if (n + 1 < sizeof(start_order)) {
		start_order[n] = f->action != NULL ? f->action[0] : '-';
		start_order[n + 1] = 0;
	}
	if (f->fail)
		return teeliza_set_error(f->fail, "fake plugin refuses");
	if (f->off)
		return TEELIZA_OK;
	f->state = f;
	*state = f;
	return TEELIZA_OK;
}

static void fake_stop(void *state)
{
	struct fake *f = state;

	f->stops++;
}

static teeliza_err fake_actions(agent_action *actions, size_t max, size_t *n, void *state)
{
	struct fake *f = state;
	size_t i, want = f->count > 0 ? f->count : 1;

	*n = 0;
	if (f->action == NULL)
		return TEELIZA_OK;
	if (max < want)
		return teeliza_set_error(TEELIZA_ERR_TOO_LARGE, "no room for %zu actions", want);
	for (i = 0; i < want; i++) {
		memset(&actions[i], 0, sizeof(actions[i]));
		actions[i].name = f->action;
		actions[i].description = "a test plugin's action";
	}
	*n = want;
	return TEELIZA_OK;
}

static teeliza_err fake_provider(teeliza_buf *text, void *state)
{
	struct fake *f = state;

	teeliza_buf_reset(text);
	return f->provides != NULL ? teeliza_buf_printf(text, "%s", f->provides) : TEELIZA_OK;
}

static agent_plugin fake_plugin(const char *name, const char *note, struct fake *f)
{
	agent_plugin p;

	memset(&p, 0, sizeof(p));
	p.name = name;
	p.note = note;
	p.start = fake_start;
	p.stop = fake_stop;
	p.actions = fake_actions;
	p.provider = fake_provider;
	p.ctx = f;
	return p;
}

static teeliza_err quiet_model(json_t **content, void *ctx, const agent_generate_request *req)
{
	(void)ctx;
	*content = json_pack("{s:s, s:s, s:s}", "user", agent_character_name(req->character), "text", "ok", "action",
	                     "NONE");
	return TEELIZA_OK;
}

static agent_character *character(const char *name)
{
	char text[1024];
	agent_character *c = NULL;
	teeliza_buf report;

	snprintf(text, sizeof(text),
	         "{\"name\":\"%s\",\"modelProvider\":\"openai\",\"bio\":[\"b\"],\"lore\":[],\"messageExamples\":[],"
	         "\"postExamples\":[],\"topics\":[],\"adjectives\":[],\"clients\":[],\"plugins\":[],"
	         "\"style\":{\"all\":[],\"chat\":[],\"post\":[]}}",
	         name);
	if (agent_character_from_text(&c, &report, text, strlen(text), NULL) != TEELIZA_OK)
		fail_msg("character: %s", report.data != NULL ? (const char *)report.data : teeliza_errmsg());
	teeliza_buf_free(&report);
	return c;
}

static char *file_text(FILE *f)
{
	long n;
	char *s;

	fflush(f);
	fseek(f, 0, SEEK_END);
	n = ftell(f);
	rewind(f);
	s = calloc(1, (size_t)n + 1);
	assert_non_null(s);
	assert_int_equal(fread(s, 1, (size_t)n, f), (size_t)n);
	fseek(f, 0, SEEK_END);
	return s;
}

struct env {
	agent_store *store;
	agent_registry *reg;
	FILE *log;
};

static void env_open(struct env *e, const agent_plugin *plugins, size_t n)
{
	agent_registry_config rc;

	memset(e, 0, sizeof(*e));
	e->log = tmpfile();
	assert_non_null(e->log);
	assert_int_equal(agent_store_sqlite_open(&e->store, ":memory:"), TEELIZA_OK);
	memset(&rc, 0, sizeof(rc));
	rc.store = e->store;
	rc.log = e->log;
	rc.generate = quiet_model;
	rc.seed = 3;
	rc.plugins = plugins;
	rc.n_plugins = n;
	assert_int_equal(agent_registry_new(&e->reg, &rc), TEELIZA_OK);
	start_order[0] = 0;
}

static void env_close(struct env *e)
{
	agent_registry_free(e->reg);
	agent_store_close(e->store);
	fclose(e->log);
}

static void test_plugins_started_in_order(void **state)
{
	struct fake a = {.action = "ALPHA_ACTION", .provides = "ALPHA-PROVIDES"};
	struct fake b = {.action = "BETA_ACTION", .provides = "BETA-PROVIDES", .off = true};
	struct fake c = {.action = "GAMMA_ACTION", .provides = NULL};
	agent_plugin p[3];
	const agent_action *acts;
	agent_runtime *rt = NULL;
	struct env e;
	json_t *st = NULL;
	char *log;
	const char *providers;
	size_t n;

	(void)state;
	p[0] = fake_plugin("alpha", "alpha on", &a);
	p[1] = fake_plugin("beta", "beta on", &b);
	p[2] = fake_plugin("gamma", "gamma on", &c);
	env_open(&e, p, 3);
	memset(p, 0, sizeof(p)); /* the registry keeps its own copy */
	assert_int_equal(agent_registry_start(&rt, e.reg, character("Plugged")), TEELIZA_OK);
	assert_string_equal(start_order, "ABG");
	assert_int_equal(a.starts, 1);
	assert_int_equal(b.starts, 1);
	assert_int_equal(c.starts, 1);
	assert_string_equal(a.started_for, agent_runtime_id(rt));

	/* the start line: a note for each plugin that is on, in order */
	log = file_text(e.log);
	assert_non_null(strstr(log, "started; model: the embedding program's model; alpha on; gamma on\n"));
	assert_null(strstr(log, "beta on"));
	free(log);

	/* actions: the bootstrap three, then those of the plugins that are on */
	acts = agent_runtime_actions(rt, &n);
	assert_int_equal(n, 5);
	assert_string_equal(acts[0].name, "CONTINUE");
	assert_string_equal(acts[1].name, "IGNORE");
	assert_string_equal(acts[2].name, "NONE");
	assert_string_equal(acts[3].name, "ALPHA_ACTION");
	assert_string_equal(acts[4].name, "GAMMA_ACTION");

	/* states by name */
	assert_ptr_equal(agent_runtime_plugin_state(rt, "alpha"), &a);
	assert_null(agent_runtime_plugin_state(rt, "beta"));
	assert_ptr_equal(agent_runtime_plugin_state(rt, "gamma"), &c);
	assert_null(agent_runtime_plugin_state(rt, "tee"));

	/* providers: the time, then what the plugins that are on provide */
	assert_int_equal(agent_runtime_compose_state(&st, rt, "00000000-0000-0000-0000-0000000000aa", "Carol"),
	                 TEELIZA_OK);
	providers = json_string_value(json_object_get(st, "providers"));
	assert_non_null(providers);
	assert_non_null(strstr(providers, "The current date and time is "));
	assert_non_null(strstr(providers, ".\nALPHA-PROVIDES"));
	assert_null(strstr(providers, "BETA-PROVIDES"));
	json_decref(st);

	/* stopped once, when the last reference goes; never for the plugin that was off */
	assert_int_equal(agent_registry_stop(e.reg, agent_runtime_id(rt)), TEELIZA_OK);
	assert_int_equal(a.stops, 0);
	agent_runtime_release(rt);
	assert_int_equal(a.stops, 1);
	assert_int_equal(b.stops, 0);
	assert_int_equal(c.stops, 1);
	env_close(&e);
}

static void test_plugin_start_failure(void **state)
{
	struct fake a = {.action = "ALPHA_ACTION"};
	struct fake b = {.action = "BETA_ACTION", .fail = TEELIZA_ERR_CONFIG};
	struct fake c = {.action = "GAMMA_ACTION"};
	agent_plugin p[3];
	agent_runtime *rt = NULL;
	struct env e;
	char *log;

	(void)state;
	p[0] = fake_plugin("alpha", "alpha on", &a);
	p[1] = fake_plugin("beta", "beta on", &b);
	p[2] = fake_plugin("gamma", "gamma on", &c);
	env_open(&e, p, 3);
	assert_int_equal(agent_registry_start(&rt, e.reg, character("Broken")), TEELIZA_ERR_CONFIG);
	assert_string_equal(teeliza_errmsg(), "fake plugin refuses");
	assert_null(rt);
	assert_int_equal(agent_registry_count(e.reg), 0);
	assert_string_equal(start_order, "AB");   /* the one after the failure never starts */
	assert_int_equal(a.stops, 1);             /* the one before it is stopped again */
	assert_int_equal(b.stops, 0);
	assert_int_equal(c.starts, 0);
	log = file_text(e.log);
	assert_null(strstr(log, "started"));
	free(log);
	env_close(&e);
}

/* Actions beyond AGENT_MAX_ACTIONS: the plugin's TEELIZA_ERR_TOO_LARGE stops the agent, whose plugins are stopped. */
static void test_plugin_actions_do_not_fit(void **state)
{
	struct fake a = {.action = "ALPHA_ACTION", .count = AGENT_MAX_ACTIONS - 3};
	struct fake b = {.action = "BETA_ACTION"};
	agent_plugin p[2];
	agent_runtime *rt = NULL;
	struct env e;
	size_t n;

	(void)state;
	/* alone, the first fills every slot the bootstrap actions leave */
	p[0] = fake_plugin("alpha", NULL, &a);
	env_open(&e, p, 1);
	assert_int_equal(agent_registry_start(&rt, e.reg, character("Full")), TEELIZA_OK);
	agent_runtime_actions(rt, &n);
	assert_int_equal(n, AGENT_MAX_ACTIONS);
	agent_runtime_release(rt);
	env_close(&e);
	assert_int_equal(a.stops, 1);

	/* one more does not fit */
	memset(&a, 0, sizeof(a));
	a.action = "ALPHA_ACTION";
	a.count = AGENT_MAX_ACTIONS - 3;
	p[1] = fake_plugin("beta", NULL, &b);
	env_open(&e, p, 2);
	rt = NULL;
	assert_int_equal(agent_registry_start(&rt, e.reg, character("Overfull")), TEELIZA_ERR_TOO_LARGE);
	assert_null(rt);
	assert_int_equal(agent_registry_count(e.reg), 0);
	assert_int_equal(a.stops, 1);
	assert_int_equal(b.stops, 1);
	env_close(&e);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_plugins_started_in_order),
		cmocka_unit_test(test_plugin_start_failure),
		cmocka_unit_test(test_plugin_actions_do_not_fit),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
