/*
 * The agent runtime: Eliza's action matching, composeContext, the composed
 * prompt (bio, lore, examples, style, the last 32 messages, actions,
 * providers), persistence across a restart, and the TEE plugin against
 * teeliza's simulator: wallets equal an independent derivation, quotes
 * verify under the simulator root and bind what they claim, a tappd that is
 * down leaves chat working, bad settings fail with Eliza's messages.
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <cmocka.h>

#include "testutil.h"
#include "agent/runtime/runtime_internal.h" /* agent_runtime_compose_state */
#include "teeliza/agent/runtime.h"
#include "teeliza/agent/tee_plugin.h"
#include "teeliza/tee/attest.h"
#include "teeliza/dcap/verify.h"
#include "teeliza/http/http.h"
#include "teeliza/tee/reportdata.h"
#include "teeliza/sim/simulator.h"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

static const char character_fmt[] =
	"{\"name\":\"%s\",\"modelProvider\":\"openai\",\"system\":\"You are a test.\","
	"\"bio\":[\"BIO-ONE\",\"BIO-TWO\"],\"lore\":[\"LORE-ONE\"],"
	"\"messageExamples\":[[{\"user\":\"{{user1}}\",\"content\":{\"text\":\"EXAMPLE-Q\"}},"
	"{\"user\":\"%s\",\"content\":{\"text\":\"EXAMPLE-A\",\"action\":\"NONE\"}}]],"
	"\"postExamples\":[\"POST-ONE\"],\"topics\":[\"TOPIC-A\",\"TOPIC-B\"],\"adjectives\":[\"ADJ\"],"
	"\"clients\":[],\"plugins\":[],%s"
	"\"style\":{\"all\":[\"STYLE-ALL\"],\"chat\":[\"STYLE-CHAT\"],\"post\":[\"STYLE-POST\"]}}";

static agent_character *make_character(const char *name, const char *extra)
{
	char text[4096];
	agent_character *c = NULL;
	teeliza_buf report;

	snprintf(text, sizeof(text), character_fmt, name, name, extra != NULL ? extra : "");
	if (agent_character_from_text(&c, &report, text, strlen(text), NULL) != TEELIZA_OK)
		fail_msg("character: %s", report.data != NULL ? (const char *)report.data : teeliza_errmsg());
	teeliza_buf_free(&report);
	return c;
}

/* ---- a fake model that remembers what it was asked ---- */

static pthread_mutex_t seen_lock = PTHREAD_MUTEX_INITIALIZER;
static char *seen_prompt;
static char *seen_system;

/* "act:NAME ..." answers with action NAME; everything else with NONE. */
static teeliza_err fake_generate(json_t **content, void *ctx, const agent_generate_request *req)
{
	char action[64] = "NONE";
	size_t n;

	(void)ctx;
	pthread_mutex_lock(&seen_lock);
	free(seen_prompt);
	free(seen_system);
	seen_prompt = strdup(req->prompt);
	seen_system = req->system != NULL ? strdup(req->system) : NULL;
	pthread_mutex_unlock(&seen_lock);
	if (strncmp(req->user_text, "act:", 4) == 0) {
		n = strcspn(req->user_text + 4, " ");
		if (n >= sizeof(action))
			n = sizeof(action) - 1;
		memcpy(action, req->user_text + 4, n);
		action[n] = 0;
	}
	/* a model that makes things up: the runtime must not pass this on as the wallet answer */
	*content = json_pack("{s:s, s:s, s:s}", "user", agent_character_name(req->character), "text",
	                     "My address is 0x0000000000000000000000000000000000000bad", "action", action);
	return TEELIZA_OK;
}

struct env {
	char dir[64];
	char db[128];
	agent_store *store;
	agent_registry *reg;
	FILE *log;
	agent_tee_config tee;
	agent_plugin tee_plugin;         /* with tee as every agent's settings */
};

static void env_open(struct env *e, const agent_tee_config *tee)
{
	agent_registry_config rc;

	e->log = tmpfile();
	assert_non_null(e->log);
	assert_int_equal(agent_store_sqlite_open(&e->store, e->db), TEELIZA_OK);
	memset(&rc, 0, sizeof(rc));
	rc.store = e->store;
	rc.log = e->log;
	rc.generate = fake_generate;
	rc.seed = 7;
	memset(&e->tee, 0, sizeof(e->tee));
	if (tee != NULL)
		e->tee = *tee;
	agent_tee_plugin(&e->tee_plugin, &e->tee);
	rc.plugins = &e->tee_plugin;
	rc.n_plugins = 1;
	assert_int_equal(agent_registry_new(&e->reg, &rc), TEELIZA_OK);
	assert_int_equal(agent_registry_set_public_url(e->reg, "http://agent.example:3000/"), TEELIZA_OK);
}

static void env_close(struct env *e)
{
	agent_registry_free(e->reg);
	agent_store_close(e->store);
	fclose(e->log);
	e->reg = NULL;
	e->store = NULL;
	e->log = NULL;
}

static void env_init(struct env *e, const agent_tee_config *tee)
{
	memset(e, 0, sizeof(*e));
	snprintf(e->dir, sizeof(e->dir), "%s", "/tmp/teeliza-rt-XXXXXX");
	assert_non_null(mkdtemp(e->dir));
	snprintf(e->db, sizeof(e->db), "%s/db.sqlite", e->dir);
	env_open(e, tee);
}

static void env_done(struct env *e)
{
	char cmd[128];

	if (e->reg != NULL)
		env_close(e);
	snprintf(cmd, sizeof(cmd), "rm -rf '%s'", e->dir);
	assert_int_equal(system(cmd), 0);
}

static char *log_text(FILE *f)
{
	long n;
	char *s;

	fflush(f);
	fseek(f, 0, SEEK_END);
	n = ftell(f);
	rewind(f);
	s = malloc((size_t)n + 1);
	assert_non_null(s);
	assert_int_equal(fread(s, 1, (size_t)n, f), (size_t)n);
	s[n] = 0;
	fseek(f, 0, SEEK_END);
	return s;
}

/* Send text as user "carol" in room "room-1"; returns the reply array. */
static json_t *say(agent_runtime *rt, const char *text, const char *room)
{
	char user[AGENT_UUID_BUFSZ], room_id[AGENT_UUID_BUFSZ];
	agent_message_in in;
	json_t *reply = NULL;

	assert_int_equal(agent_uuid_user(user, "carol"), TEELIZA_OK);
	assert_int_equal(agent_uuid_from_string(room_id, room != NULL ? room : "room-1"), TEELIZA_OK);
	memset(&in, 0, sizeof(in));
	in.text = text;
	in.user_id = user;
	in.room_id = room_id;
	in.user_name = "Carol";
	in.source = "direct";
	if (agent_runtime_message(&reply, rt, &in) != TEELIZA_OK)
		fail_msg("message '%s': %s", text, teeliza_errmsg());
	return reply;
}

static const char *reply_text(const json_t *reply, size_t i)
{
	return json_string_value(json_object_get(json_array_get(reply, i), "text"));
}

/* ---- action matching and templates ---- */

static void test_action_match(void **state)
{
	agent_action a[5];
	size_t n = 0;

	(void)state;
	a[0] = agent_action_continue;
	a[1] = agent_action_ignore;
	a[2] = agent_action_none;
	assert_int_equal(agent_tee_actions(a + 3, 2, &n, NULL), TEELIZA_OK);
	assert_int_equal(n, 2);
	assert_string_equal(a[3].name, "WALLET_ADDRESS");
	assert_string_equal(a[4].name, "REMOTE_ATTESTATION");
	assert_int_equal(agent_tee_actions(a + 3, 1, &n, NULL), TEELIZA_ERR_TOO_LARGE);

	assert_int_equal(agent_action_match(a, 5, "NONE"), 2);
	assert_int_equal(agent_action_match(a, 5, "none"), 2);
	assert_int_equal(agent_action_match(a, 5, "IGNORE"), 1);
	assert_int_equal(agent_action_match(a, 5, "Continue"), 0);
	assert_int_equal(agent_action_match(a, 5, "REMOTE_ATTESTATION"), 4);
	/* substring both ways: a made-up longer name still matches (the spec's example) */
	assert_int_equal(agent_action_match(a, 5, "REMOTE_ATTESTATION_NOW"), 4);
	assert_int_equal(agent_action_match(a, 5, "WALLET"), 3);
	/* similes */
	assert_int_equal(agent_action_match(a, 5, "TEE_ATTESTATION"), 4);
	assert_int_equal(agent_action_match(a, 5, "TEE_REMOTE_ATTESTATION"), 4);
	assert_int_equal(agent_action_match(a, 5, "no_action"), 2);
	assert_int_equal(agent_action_match(a, 5, "STOP_TALKING"), 1);
	/* only the first '_' is dropped, as JS replace("_", "") does */
	assert_int_equal(agent_action_match(a, 5, "REMOTE_ATTEST_ATION"), -1);
	/* the first action in order wins: "e" is in "continue" */
	assert_int_equal(agent_action_match(a, 5, "e"), 0);
	assert_int_equal(agent_action_match(a, 5, "FLY_TO_THE_MOON"), -1);
	assert_int_equal(agent_action_match(a, 5, ""), -1);
	assert_int_equal(agent_action_match(a, 5, NULL), -1);
	assert_int_equal(agent_action_match(a, 0, "NONE"), -1);
}

static void test_template_fill(void **state)
{
	teeliza_buf out;
	json_t *st = json_pack("{s:s, s:i, s:s, s:b, s:n}", "name", "Ada", "n", 3, "empty", "", "yes", 1, "nil");

	(void)state;
	teeliza_buf_init(&out, 4096);
	assert_int_equal(agent_template_fill(&out, "Hi {{name}}, {{missing}}!{{empty}} {{n}} {{yes}} {{nil}}", st),
	                 TEELIZA_OK);
	assert_string_equal((char *)out.data, "Hi Ada, ! 3 true ");
	assert_int_equal(agent_template_fill(&out, "{{ name }} {{}} {{a-b}} {{name} {{{name}}} }}{{", st), TEELIZA_OK);
	assert_string_equal((char *)out.data, "{{ name }} {{}} {{a-b}} {{name} {Ada} }}{{");
	assert_int_equal(agent_template_fill(&out, "no placeholders", NULL), TEELIZA_OK);
	assert_string_equal((char *)out.data, "no placeholders");
	teeliza_buf_free(&out);
	/* the output limit holds */
	teeliza_buf_init(&out, 8);
	assert_int_equal(agent_template_fill(&out, "{{name}}{{name}}{{name}}", st), TEELIZA_ERR_TOO_LARGE);
	assert_int_equal(out.len, 0);
	teeliza_buf_free(&out);
	json_decref(st);
	/* the default template uses Eliza's keys */
	assert_non_null(strstr(agent_message_template(), "{{recentMessages}}"));
	assert_non_null(strstr(agent_message_template(), "{{providers}}"));
	assert_non_null(strstr(agent_message_template(), "{{actions}}"));
	assert_non_null(strstr(agent_message_template(), "```json"));
}

/* ---- the composed prompt ---- */

static void test_compose_prompt(void **state)
{
	struct env e;
	agent_runtime *rt;
	json_t *reply;
	char text[64], *p;
	int i;

	(void)state;
	env_init(&e, NULL);
	assert_int_equal(agent_registry_start(&rt, e.reg, make_character("Alice Bot", NULL)), TEELIZA_OK);
	reply = say(rt, "first message", NULL);
	json_decref(reply);
	reply = say(rt, "second message", NULL);
	assert_int_equal(json_array_size(reply), 1);
	json_decref(reply);

	pthread_mutex_lock(&seen_lock);
	p = seen_prompt;
	assert_non_null(strstr(p, "About Alice Bot:"));
	assert_non_null(strstr(p, "BIO-ONE"));
	assert_non_null(strstr(p, "BIO-TWO"));
	assert_non_null(strstr(p, "LORE-ONE"));
	assert_non_null(strstr(p, "# Message Directions for Alice Bot\nSTYLE-ALL\nSTYLE-CHAT\n"));
	assert_null(strstr(p, "STYLE-POST"));
	assert_non_null(strstr(p, "# Conversation Messages\n"));
	assert_non_null(strstr(p, "(just now) ["));
	assert_non_null(strstr(p, "] Carol: first message\n"));
	assert_non_null(strstr(p, "] Alice Bot: My address is 0x0000000000000000000000000000000000000bad (NONE)\n"));
	assert_non_null(strstr(p, "] Carol: second message"));
	assert_true(strstr(p, "Carol: first message") < strstr(p, "Carol: second message"));
	assert_non_null(strstr(p, "# Available Actions\n"));
	assert_non_null(strstr(p, "NONE: "));
	assert_non_null(strstr(p, "IGNORE: "));
	assert_non_null(strstr(p, "CONTINUE: "));
	assert_null(strstr(p, "WALLET_ADDRESS")); /* no TEE plugin */
	assert_non_null(strstr(p, "# Additional Information About Alice Bot and The World\nThe current date and time is "));
	assert_null(strstr(p, "{{"));
	assert_string_equal(seen_system, "You are a test.");
	pthread_mutex_unlock(&seen_lock);

	/* the state holds Eliza's other keys */
	{
		char room[AGENT_UUID_BUFSZ];
		json_t *st = NULL;

		assert_int_equal(agent_uuid_from_string(room, "room-1"), TEELIZA_OK);
		assert_int_equal(agent_runtime_compose_state(&st, rt, room, "Carol"), TEELIZA_OK);
		assert_string_equal(json_string_value(json_object_get(st, "agentName")), "Alice Bot");
		assert_string_equal(json_string_value(json_object_get(st, "senderName")), "Carol");
		assert_string_equal(json_string_value(json_object_get(st, "adjective")), "ADJ");
		p = (char *)json_string_value(json_object_get(st, "topics"));
		assert_true(strcmp(p, "Alice Bot is interested in TOPIC-A and TOPIC-B") == 0 ||
		            strcmp(p, "Alice Bot is interested in TOPIC-B and TOPIC-A") == 0);
		p = (char *)json_string_value(json_object_get(st, "characterMessageExamples"));
		assert_non_null(strstr(p, "# Example Conversations for Alice Bot\n"));
		assert_non_null(strstr(p, ": EXAMPLE-Q\nAlice Bot: EXAMPLE-A (NONE)"));
		assert_null(strstr(p, "{{user1}}"));
		assert_string_equal(json_string_value(json_object_get(st, "characterPostExamples")),
		                    "# Example Posts for Alice Bot\nPOST-ONE\n");
		assert_string_equal(json_string_value(json_object_get(st, "postDirections")),
		                    "# Post Directions for Alice Bot\nSTYLE-ALL\nSTYLE-POST\n");
		p = (char *)json_string_value(json_object_get(st, "actors"));
		assert_non_null(strstr(p, "# Actors\n"));
		assert_non_null(strstr(p, "Carol"));
		assert_non_null(strstr(json_string_value(json_object_get(st, "actionNames")), "Possible response actions: "));
		assert_non_null(strstr(json_string_value(json_object_get(st, "actionExamples")), "# Action Examples\n"));
		json_decref(st);
	}

	/* only the last 32 messages: 20 more exchanges push "first message" out */
	for (i = 0; i < 20; i++) {
		snprintf(text, sizeof(text), "filler %d", i);
		json_decref(say(rt, text, NULL));
	}
	pthread_mutex_lock(&seen_lock);
	assert_null(strstr(seen_prompt, "first message"));
	assert_non_null(strstr(seen_prompt, "filler 19"));
	assert_non_null(strstr(seen_prompt, "filler 5\n"));
	assert_null(strstr(seen_prompt, "filler 3\n"));
	pthread_mutex_unlock(&seen_lock);
	agent_runtime_release(rt);

	/* the character's own messageHandlerTemplate replaces ours */
	assert_int_equal(agent_registry_start(&rt, e.reg,
	                                      make_character("Templated",
	                                                     "\"templates\":{\"messageHandlerTemplate\":"
	                                                     "\"T:{{agentName}}|{{senderName}}|{{nothing}}\"},")),
	                 TEELIZA_OK);
	json_decref(say(rt, "hi", NULL));
	pthread_mutex_lock(&seen_lock);
	assert_string_equal(seen_prompt, "T:Templated|Carol|");
	pthread_mutex_unlock(&seen_lock);
	agent_runtime_release(rt);
	env_done(&e);
}

static void test_registry(void **state)
{
	struct env e;
	agent_runtime *a, *b, *found, **list;
	size_t n;

	(void)state;
	env_init(&e, NULL);
	assert_int_equal(agent_registry_start(&a, e.reg, make_character("Alice Bot", NULL)), TEELIZA_OK);
	assert_int_equal(agent_registry_start(NULL, e.reg, make_character("Bob", NULL)), TEELIZA_OK);
	assert_int_equal(agent_registry_count(e.reg), 2);
	found = agent_registry_find(e.reg, "ALICE BOT", true);
	assert_ptr_equal(found, a);
	agent_runtime_release(found);
	assert_null(agent_registry_find(e.reg, "ALICE BOT", false));
	found = agent_registry_find(e.reg, agent_runtime_id(a), false);
	assert_ptr_equal(found, a);
	agent_runtime_release(found);
	assert_int_equal(agent_registry_list(&list, &n, e.reg), TEELIZA_OK);
	assert_int_equal(n, 2);
	assert_string_equal(agent_runtime_name(list[0]), "Alice Bot");
	assert_string_equal(agent_runtime_name(list[1]), "Bob");
	agent_runtime_list_release(list, n);
	/* the same id again replaces the running agent; the old one stops but stays valid while referenced */
	assert_int_equal(agent_registry_start(&b, e.reg, make_character("Alice Bot", NULL)), TEELIZA_OK);
	assert_int_equal(agent_registry_count(e.reg), 2);
	assert_false(agent_runtime_running(a));
	assert_true(agent_runtime_running(b));
	{
		char user[AGENT_UUID_BUFSZ], room[AGENT_UUID_BUFSZ];
		agent_message_in in = {.text = "hi", .user_id = user, .room_id = room};
		json_t *reply = NULL;

		assert_int_equal(agent_uuid_user(user, NULL), TEELIZA_OK);
		assert_int_equal(agent_uuid_room(room, NULL, "Alice Bot"), TEELIZA_OK);
		assert_int_equal(agent_runtime_message(&reply, a, &in), TEELIZA_ERR_NOT_FOUND);
		assert_null(reply);
	}
	assert_int_equal(agent_registry_stop(e.reg, agent_runtime_id(b)), TEELIZA_OK);
	assert_int_equal(agent_registry_stop(e.reg, agent_runtime_id(b)), TEELIZA_ERR_NOT_FOUND);
	assert_int_equal(agent_registry_count(e.reg), 1);
	agent_runtime_release(a);
	agent_runtime_release(b);
	env_done(&e);
}

static void test_persistence_across_restart(void **state)
{
	struct env e;
	agent_runtime *rt;
	char room[AGENT_UUID_BUFSZ];
	size_t count;

	(void)state;
	env_init(&e, NULL);
	assert_int_equal(agent_registry_start(&rt, e.reg, make_character("Alice Bot", NULL)), TEELIZA_OK);
	json_decref(say(rt, "remember the blue door", "persist-room"));
	agent_runtime_release(rt);
	env_close(&e);

	env_open(&e, NULL);
	assert_int_equal(agent_uuid_from_string(room, "persist-room"), TEELIZA_OK);
	assert_int_equal(agent_store_count_memories(e.store, &count, NULL, room, false), TEELIZA_OK);
	assert_int_equal(count, 2);
	assert_int_equal(agent_registry_start(&rt, e.reg, make_character("Alice Bot", NULL)), TEELIZA_OK);
	json_decref(say(rt, "what did I say?", "persist-room"));
	pthread_mutex_lock(&seen_lock);
	assert_non_null(strstr(seen_prompt, "Carol: remember the blue door"));
	pthread_mutex_unlock(&seen_lock);
	assert_int_equal(agent_store_count_memories(e.store, &count, NULL, room, false), TEELIZA_OK);
	assert_int_equal(count, 4);
	agent_runtime_release(rt);
	env_done(&e);
}

/* ---- the TEE plugin against the simulator ---- */

struct sim {
	char dir[64];
	tee_sim *sim;
	char url[64];
};

static void sim_start(struct sim *s, uint16_t port)
{
	tee_sim_config cfg;

	memset(s, 0, sizeof(*s));
	snprintf(s->dir, sizeof(s->dir), "%s", "/tmp/teeliza-rt-sim-XXXXXX");
	assert_non_null(mkdtemp(s->dir));
	memset(&cfg, 0, sizeof(cfg));
	cfg.host = "127.0.0.1";
	cfg.port = port;
	cfg.state_dir = s->dir;
	cfg.quiet = true;
	if (tee_sim_start(&s->sim, &cfg) != TEELIZA_OK)
		fail_msg("simulator: %s", teeliza_errmsg());
	snprintf(s->url, sizeof(s->url), "http://127.0.0.1:%u", (unsigned)tee_sim_port(s->sim));
}

static void sim_stop(struct sim *s)
{
	char cmd[128];

	tee_sim_stop(s->sim);
	snprintf(cmd, sizeof(cmd), "rm -rf '%s'", s->dir);
	assert_int_equal(system(cmd), 0);
}

/* The wallet address tappd gives for this salt, agent and scheme, derived here independently of the agent. */
static void expected_address(char *out, size_t out_len, const struct sim *s, tee_key_scheme scheme, tee_chain chain,
                             const char *salt, const char *agent_id)
{
	tappd_endpoint ep;
	tappd_client c;
	tee_wallet w;

	assert_int_equal(tappd_endpoint_parse(&ep, s->url), TEELIZA_OK);
	tappd_client_init(&c, &ep);
	if (tee_derive_wallet(&w, &c, scheme, chain, salt, agent_id, false) != TEELIZA_OK)
		fail_msg("derive: %s", teeliza_errmsg());
	assert_true(strlen(w.address) < out_len);
	memcpy(out, w.address, strlen(w.address) + 1);
	tee_wallet_free(&w);
}

/* Verify a stored quote under the simulator root, with report_data = SHA-512("app-data:" || its JSON). */
static void verify_stored_quote(agent_store *store, const struct sim *s, const char *quote_id, const char *agent_id,
                                char **report_json)
{
	agent_attestation a;
	teeliza_buf root, coll_json;
	dcap_trust *trust;
	dcap_collateral *coll;
	dcap_policy policy;
	dcap_result res;
	uint8_t rd[64];
	int64_t now = (int64_t)time(NULL);

	memset(&a, 0, sizeof(a));
	assert_int_equal(agent_store_get_attestation(store, &a, quote_id), TEELIZA_OK);
	assert_string_equal(a.agent_id, agent_id);
	assert_non_null(a.event_log);
	assert_int_equal(tee_report_data(rd, NULL, NULL, (const uint8_t *)a.report_data_json, strlen(a.report_data_json)),
	                 TEELIZA_OK);
	assert_int_equal(tee_sim_pki_root_pem(&root, tee_sim_get_pki(s->sim)), TEELIZA_OK);
	assert_int_equal(tee_sim_collateral_json(&coll_json, tee_sim_get_pki(s->sim), now), TEELIZA_OK);
	assert_int_equal(dcap_trust_new(&trust, true), TEELIZA_OK);
	assert_int_equal(dcap_trust_add_pem(trust, (const char *)root.data, root.len), TEELIZA_OK);
	assert_int_equal(dcap_collateral_parse_json(&coll, (const char *)coll_json.data, coll_json.len), TEELIZA_OK);
	dcap_policy_init(&policy);
	policy.expect_report_data = rd;
	if (dcap_verify(&res, a.quote, a.quote_len, coll, now, &policy, trust) != TEELIZA_OK)
		fail_msg("quote %s does not verify: %s", quote_id, res.reason);
	assert_int_equal(res.report_data_match, 1);
	assert_false(res.intel_root);
	/* and not under Intel's root alone */
	dcap_trust_free(trust);
	assert_int_equal(dcap_trust_new(&trust, true), TEELIZA_OK);
	assert_int_not_equal(dcap_verify(&res, a.quote, a.quote_len, coll, now, &policy, trust), TEELIZA_OK);
	dcap_trust_free(trust);
	dcap_collateral_free(coll);
	teeliza_buf_free(&root);
	teeliza_buf_free(&coll_json);
	*report_json = strdup(a.report_data_json);
	agent_attestation_clear(&a);
}

static void test_tee_wallet_and_attestation(void **state)
{
	struct sim s;
	struct env e;
	agent_tee_config tee = {.mode = "LOCAL", .salt = "unit-test-salt"};
	agent_runtime *rt;
	char sol[64], evm[64], want[512], user[AGENT_UUID_BUFSZ], room[AGENT_UUID_BUFSZ], *log, *rd;
	const json_t *att, *cb;
	json_t *reply, *j;
	agent_tee_wallets w;

	(void)state;
	sim_start(&s, 0);
	tee.simulator_endpoint = s.url;
	env_init(&e, &tee);
	assert_int_equal(agent_registry_start(&rt, e.reg, make_character("Alice Bot", NULL)), TEELIZA_OK);
	assert_non_null(agent_runtime_tee(rt));
	expected_address(sol, sizeof(sol), &s, TEE_SCHEME_TEELIZA, TEE_CHAIN_SOLANA, "unit-test-salt", agent_runtime_id(rt));
	expected_address(evm, sizeof(evm), &s, TEE_SCHEME_TEELIZA, TEE_CHAIN_EVM, "unit-test-salt", agent_runtime_id(rt));

	/* the log shows the plugin's lines */
	log = log_text(e.log);
	/* the mode line names the endpoint in use, as the SDK's override line after it does */
	snprintf(want, sizeof(want), "TEE: Connecting to local simulator at %s (DSTACK_SIMULATOR_ENDPOINT replaces "
	         "localhost:8090 of TEE_MODE=LOCAL)\nUsing simulator endpoint: %s\n", s.url, s.url);
	assert_non_null(strstr(log, want));
	snprintf(want, sizeof(want), "Using simulator endpoint: %s\n", s.url);
	assert_non_null(strstr(log, want));
	assert_non_null(strstr(log, "Generating Remote Attestation Quote for Derive Key...\n"));
	snprintf(want, sizeof(want), "Generating attestation for:  {\"agentId\":\"%s\",\"publicKey\":\"%s\"}", agent_runtime_id(rt),
	         sol);
	assert_non_null(strstr(log, want));
	assert_non_null(strstr(log, "rtmr3: "));
	assert_non_null(strstr(log, "Remote attestation quote:  {"));
	assert_non_null(strstr(log, "Remote Attestation Quote generated successfully!\n"));
	assert_null(strstr(log, "unit-test-salt"));
	free(log);

	/* the wallet answer comes from the action, not from the model's made-up address */
	reply = say(rt, "what's your wallet address?", NULL);
	assert_int_equal(json_array_size(reply), 1);
	cb = json_array_get(reply, 0);
	assert_null(strstr(reply_text(reply, 0), "0bad"));
	assert_non_null(strstr(reply_text(reply, 0), sol));
	assert_non_null(strstr(reply_text(reply, 0), evm));
	assert_string_equal(json_string_value(json_object_get(cb, "solana")), sol);
	assert_string_equal(json_string_value(json_object_get(cb, "evm")), evm);
	assert_string_equal(json_string_value(json_object_get(cb, "keyScheme")), "teeliza");
	assert_string_equal(json_string_value(json_object_get(cb, "user")), "Alice Bot");
	att = json_object_get(json_object_get(cb, "attestations"), "solana");
	snprintf(want, sizeof(want), "http://agent.example:3000/agents/%s/attestations/%s", agent_runtime_id(rt),
	         json_string_value(json_object_get(att, "id")));
	assert_string_equal(json_string_value(json_object_get(att, "url")), want);
	assert_non_null(strstr(reply_text(reply, 0), want));
	assert_non_null(strstr(reply_text(reply, 0), "SIMULATOR"));
	/* the derive-key quotes verify and bind {agentId, publicKey} */
	verify_stored_quote(e.store, &s, json_string_value(json_object_get(att, "id")), agent_runtime_id(rt), &rd);
	snprintf(want, sizeof(want), "{\"agentId\":\"%s\",\"publicKey\":\"%s\"}", agent_runtime_id(rt), sol);
	assert_string_equal(rd, want);
	free(rd);
	att = json_object_get(json_object_get(cb, "attestations"), "evm");
	verify_stored_quote(e.store, &s, json_string_value(json_object_get(att, "id")), agent_runtime_id(rt), &rd);
	snprintf(want, sizeof(want), "{\"agentId\":\"%s\",\"publicKey\":\"%s\"}", agent_runtime_id(rt), evm);
	assert_string_equal(rd, want);
	free(rd);
	json_decref(reply);

	/* the model naming the action works as well, and so does its simile */
	reply = say(rt, "act:WALLET_ADDRESS tell me", NULL);
	assert_int_equal(json_array_size(reply), 1);
	assert_non_null(strstr(reply_text(reply, 0), sol));
	json_decref(reply);

	/* the provider text is in the prompt */
	pthread_mutex_lock(&seen_lock);
	snprintf(want, sizeof(want), "{\"solana\":\"%s\",\"evm\":\"%s\"}", sol, evm);
	assert_non_null(strstr(seen_prompt, want));
	assert_non_null(strstr(seen_prompt, "WALLET_ADDRESS: "));
	assert_non_null(strstr(seen_prompt, "REMOTE_ATTESTATION: "));
	pthread_mutex_unlock(&seen_lock);
	assert_int_equal(agent_tee_wallets_get(&w, agent_runtime_tee(rt)), TEELIZA_OK);
	assert_string_equal(w.solana, sol);
	assert_string_equal(w.evm, evm);

	/* remote attestation of a message: [model reply, callback with the quote's link] */
	reply = say(rt, "act:TEE_ATTESTATION prove it", NULL);
	assert_int_equal(json_array_size(reply), 2);
	cb = json_array_get(reply, 1);
	assert_non_null(strstr(reply_text(reply, 1), "RA Quote"));
	att = json_object_get(cb, "attestation");
	verify_stored_quote(e.store, &s, json_string_value(json_object_get(att, "id")), agent_runtime_id(rt), &rd);
	j = json_loads(rd, 0, NULL);
	assert_non_null(j);
	assert_int_equal(agent_uuid_user(user, "carol"), TEELIZA_OK);
	assert_int_equal(agent_uuid_from_string(room, "room-1"), TEELIZA_OK);
	assert_string_equal(json_string_value(json_object_get(j, "agentId")), agent_runtime_id(rt));
	assert_true(json_is_integer(json_object_get(j, "timestamp")));
	assert_string_equal(json_string_value(json_object_get(json_object_get(j, "message"), "userId")), user);
	assert_string_equal(json_string_value(json_object_get(json_object_get(j, "message"), "roomId")), room);
	assert_string_equal(json_string_value(json_object_get(json_object_get(j, "message"), "content")),
	                    "act:TEE_ATTESTATION prove it");
	assert_true(strncmp(rd, "{\"agentId\":", 11) == 0); /* Eliza's key order */
	json_decref(j);
	free(rd);
	json_decref(reply);
	/* asked in plain words while the model picks no action */
	reply = say(rt, "please give me a remote attestation", NULL);
	assert_int_equal(json_array_size(reply), 2);
	assert_non_null(strstr(reply_text(reply, 1), "RA Quote"));
	json_decref(reply);
	/* ordinary chat is untouched */
	reply = say(rt, "hello there", NULL);
	assert_int_equal(json_array_size(reply), 1);
	assert_string_equal(reply_text(reply, 0), "My address is 0x0000000000000000000000000000000000000bad");
	json_decref(reply);
	agent_runtime_release(rt);
	env_done(&e);

	/* eliza-v0.1.9 keeps an Eliza agent's wallets: path = salt, so they equal that scheme's derivation */
	tee.scheme = "eliza-v0.1.9";
	env_init(&e, &tee);
	assert_int_equal(agent_registry_start(&rt, e.reg, make_character("Alice Bot", NULL)), TEELIZA_OK);
	expected_address(sol, sizeof(sol), &s, TEE_SCHEME_ELIZA_V019, TEE_CHAIN_SOLANA, "unit-test-salt",
	                 "some-other-agent");
	expected_address(evm, sizeof(evm), &s, TEE_SCHEME_ELIZA_V019, TEE_CHAIN_EVM, "unit-test-salt",
	                 "some-other-agent");
	assert_int_equal(agent_tee_wallets_get(&w, agent_runtime_tee(rt)), TEELIZA_OK);
	assert_string_equal(w.solana, sol);
	assert_string_equal(w.evm, evm);
	assert_string_equal(w.scheme, "eliza-v0.1.9");
	agent_runtime_release(rt);
	env_done(&e);
	sim_stop(&s);
}

static uint16_t free_port(void)
{
	struct sockaddr_in a;
	socklen_t len = sizeof(a);
	int fd = socket(AF_INET, SOCK_STREAM, 0);

	assert_true(fd >= 0);
	memset(&a, 0, sizeof(a));
	a.sin_family = AF_INET;
	a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	assert_int_equal(bind(fd, (struct sockaddr *)&a, sizeof(a)), 0);
	assert_int_equal(getsockname(fd, (struct sockaddr *)&a, &len), 0);
	close(fd);
	return ntohs(a.sin_port);
}

static void test_tee_unavailable_then_back(void **state)
{
	struct sim s;
	struct env e;
	agent_tee_config tee = {.mode = "PRODUCTION", .salt = "unit-test-salt"};
	char url[64], sol[64], *log;
	uint16_t port = free_port();
	agent_runtime *rt;
	json_t *reply;

	(void)state;
	snprintf(url, sizeof(url), "http://127.0.0.1:%u", (unsigned)port);
	tee.simulator_endpoint = url;
	env_init(&e, &tee);
	/* tappd down: the agent starts anyway */
	assert_int_equal(agent_registry_start(&rt, e.reg, make_character("Alice Bot", NULL)), TEELIZA_OK);
	log = log_text(e.log);
	/* PRODUCTION with a simulator endpoint says so, instead of "without simulator" */
	assert_non_null(strstr(log, "TEE: WARNING: TEE_MODE=PRODUCTION, but DSTACK_SIMULATOR_ENDPOINT sends every request to"));
	assert_null(strstr(log, "without simulator"));
	assert_non_null(strstr(log, "WARNING: cannot derive the wallets"));
	free(log);
	reply = say(rt, "hello", NULL);
	assert_int_equal(json_array_size(reply), 1);
	json_decref(reply);
	reply = say(rt, "what's your wallet address?", NULL);
	assert_int_equal(json_array_size(reply), 1);
	assert_non_null(strstr(reply_text(reply, 0), "unavailable"));
	assert_null(strstr(reply_text(reply, 0), "0bad"));
	json_decref(reply);
	reply = say(rt, "act:REMOTE_ATTESTATION", NULL);
	assert_int_equal(json_array_size(reply), 2);
	assert_non_null(strstr(reply_text(reply, 1), "Remote attestation is unavailable right now"));
	assert_non_null(strstr(reply_text(reply, 1), url));
	json_decref(reply);

	/* tappd comes back: the next wallet question derives the wallets */
	sim_start(&s, port);
	sleep(4);
	reply = say(rt, "what's your wallet address?", NULL);
	expected_address(sol, sizeof(sol), &s, TEE_SCHEME_TEELIZA, TEE_CHAIN_SOLANA, "unit-test-salt",
	                 agent_runtime_id(rt));
	assert_non_null(strstr(reply_text(reply, 0), sol));
	/* PRODUCTION through DSTACK_SIMULATOR_ENDPOINT is still a simulator */
	assert_non_null(strstr(reply_text(reply, 0), "SIMULATOR"));
	json_decref(reply);
	agent_runtime_release(rt);
	env_done(&e);
	sim_stop(&s);
}

/* No injected model and no API key: the character's own model is the offline responder, no network. */
static void test_offline_model(void **state)
{
	struct sim s;
	struct env e;
	agent_registry_config rc;
	agent_tee_config tee = {.mode = "LOCAL", .salt = "unit-test-salt"};
	agent_runtime *rt;
	char sol[64], *log;
	json_t *reply;

	(void)state;
	unsetenv("OPENAI_API_KEY");
	sim_start(&s, 0);
	tee.simulator_endpoint = s.url;
	env_init(&e, NULL);
	agent_registry_free(e.reg);
	memset(&rc, 0, sizeof(rc));
	rc.store = e.store;
	rc.log = e.log;
	rc.seed = 11;
	agent_tee_plugin(&e.tee_plugin, &tee);
	rc.plugins = &e.tee_plugin;
	rc.n_plugins = 1;
	assert_int_equal(agent_registry_new(&e.reg, &rc), TEELIZA_OK);
	assert_int_equal(agent_registry_start(&rt, e.reg, make_character("Alice Bot", NULL)), TEELIZA_OK);
	log = log_text(e.log);
	assert_non_null(strstr(log, "OPENAI_API_KEY"));
	assert_non_null(strstr(log, "model: offline responder (ELIZA)"));
	free(log);
	reply = say(rt, "I feel a bit tired today", NULL);
	assert_int_equal(json_array_size(reply), 1);
	assert_true(strlen(reply_text(reply, 0)) > 0);
	assert_string_equal(json_string_value(json_object_get(json_array_get(reply, 0), "user")), "Alice Bot");
	json_decref(reply);
	/* the guide's question gets the real addresses */
	reply = say(rt, "what's your wallet address?", NULL);
	expected_address(sol, sizeof(sol), &s, TEE_SCHEME_TEELIZA, TEE_CHAIN_SOLANA, "unit-test-salt", agent_runtime_id(rt));
	assert_int_equal(json_array_size(reply), 1);
	assert_non_null(strstr(reply_text(reply, 0), sol));
	json_decref(reply);
	reply = say(rt, "can you prove you run in a TEE? give me an attestation", NULL);
	assert_int_equal(json_array_size(reply), 2);
	assert_non_null(strstr(reply_text(reply, 1), "RA Quote"));
	json_decref(reply);
	agent_runtime_release(rt);
	env_done(&e);
	sim_stop(&s);
}

/* Only the offline responder, which answers the text alone, goes without a prompt. */
static void test_prompt_unused_only_offline(void **state)
{
	agent_character *offline = make_character("Alice Bot", NULL);
	agent_character *remote = make_character("Alice Bot",
	                                         "\"settings\":{\"secrets\":{\"OPENAI_API_KEY\":\"sk-unit-test\","
	                                         "\"OPENAI_API_URL\":\"http://127.0.0.1:9/v1\"}},");
	agent_model m;
	FILE *log = tmpfile();

	(void)state;
	assert_non_null(log);
	unsetenv("OPENAI_API_KEY");
	assert_int_equal(agent_model_for_character(&m, offline, NULL, 1, log), TEELIZA_OK);
	assert_string_equal(m.description, "offline responder (ELIZA)");
	assert_true(m.prompt_unused);
	agent_model_free(&m);
	assert_int_equal(agent_model_for_character(&m, remote, NULL, 1, log), TEELIZA_OK);
	assert_non_null(strstr(m.description, "openai"));
	assert_false(m.prompt_unused);
	agent_model_free(&m);
	agent_character_free(offline);
	agent_character_free(remote);
	fclose(log);
}

/* ---- the real model path against a local OpenAI-compatible server ---- */

#define SCRIPT_MAX 8

static struct {
	pthread_mutex_t lock;
	const char *replies[SCRIPT_MAX]; /* content of each answer in turn; the last one repeats */
	unsigned status;                 /* HTTP status to answer with */
	int requests;
	char *last_body;
	char last_auth[128];
	char last_path[128];
} oai = {.lock = PTHREAD_MUTEX_INITIALIZER};

static void oai_reset(unsigned status, const char *r0, const char *r1)
{
	pthread_mutex_lock(&oai.lock);
	memset(oai.replies, 0, sizeof(oai.replies));
	oai.replies[0] = r0;
	oai.replies[1] = r1;
	oai.status = status;
	oai.requests = 0;
	pthread_mutex_unlock(&oai.lock);
}

static void oai_handler(http_server_reply *reply, const http_server_request *req, void *ctx)
{
	const char *content;
	json_t *j;
	char *text;
	int n;

	(void)ctx;
	pthread_mutex_lock(&oai.lock);
	n = oai.requests++;
	free(oai.last_body);
	oai.last_body = strndup((const char *)req->body, req->body_len);
	snprintf(oai.last_auth, sizeof(oai.last_auth), "%s", req->authorization);
	snprintf(oai.last_path, sizeof(oai.last_path), "%s", req->path);
	content = oai.replies[n < SCRIPT_MAX && oai.replies[n] != NULL ? n : (oai.replies[1] != NULL ? 1 : 0)];
	reply->status = oai.status;
	if (oai.status != 200)
		j = json_pack("{s:{s:s, s:s}}", "error", "message", "scripted failure", "type", "test");
	else
		j = json_pack("{s:s, s:s, s:[{s:i, s:{s:s, s:s}, s:s}]}", "id", "chatcmpl-test", "object", "chat.completion",
		              "choices", "index", 0, "message", "role", "assistant", "content", content, "finish_reason",
		              "stop");
	pthread_mutex_unlock(&oai.lock);
	text = json_dumps(j, JSON_COMPACT);
	if (teeliza_buf_append_str(&reply->body, text) != TEELIZA_OK)
		reply->status = 500;
	free(text);
	json_decref(j);
}

static int oai_requests(void)
{
	int n;

	pthread_mutex_lock(&oai.lock);
	n = oai.requests;
	pthread_mutex_unlock(&oai.lock);
	return n;
}

static void test_model_path(void **state)
{
	struct env e;
	agent_registry_config rc;
	http_server_config hc;
	http_server *srv;
	agent_runtime *rt;
	char extra[512], *log;
	json_t *reply, *body;

	(void)state;
	memset(&hc, 0, sizeof(hc));
	hc.host = "127.0.0.1";
	hc.handler = oai_handler;
	assert_int_equal(http_server_start(&srv, &hc), TEELIZA_OK);
	snprintf(extra, sizeof(extra),
	         "\"settings\":{\"secrets\":{\"OPENAI_API_KEY\":\"sk-unit-test\","
	         "\"OPENAI_API_URL\":\"http://127.0.0.1:%u/v1\",\"LARGE_OPENAI_MODEL\":\"test-large\"}},",
	         (unsigned)http_server_port(srv));
	env_init(&e, NULL);
	agent_registry_free(e.reg);
	memset(&rc, 0, sizeof(rc));
	rc.store = e.store;
	rc.log = e.log;
	agent_tee_plugin(&e.tee_plugin, &e.tee);
	rc.plugins = &e.tee_plugin;
	rc.n_plugins = 1;
	assert_int_equal(agent_registry_new(&e.reg, &rc), TEELIZA_OK);
	assert_int_equal(agent_registry_start(&rt, e.reg, make_character("Alice Bot", extra)), TEELIZA_OK);
	log = log_text(e.log);
	/* The URL and model are among the character's secrets, so the log (stderr too) shows them redacted. */
	assert_non_null(strstr(log, "model: openai at [redacted], model [redacted]"));
	assert_null(strstr(log, "sk-unit-test"));
	free(log);

	/* a well-formed reply in a fenced block: one call, parsed, extra keys kept */
	oai_reset(200, "Sure.\n```json\n{\"user\":\"Alice Bot\",\"text\":\"Hi Carol!\",\"action\":\"NONE\","
	               "\"mood\":\"happy\"}\n```", NULL);
	reply = say(rt, "hello", NULL);
	assert_int_equal(oai_requests(), 1);
	assert_int_equal(json_array_size(reply), 1);
	assert_string_equal(reply_text(reply, 0), "Hi Carol!");
	assert_string_equal(json_string_value(json_object_get(json_array_get(reply, 0), "mood")), "happy");
	json_decref(reply);
	/* what the server was sent: Eliza's OpenAI call with the system prompt and the composed prompt */
	pthread_mutex_lock(&oai.lock);
	assert_string_equal(oai.last_path, "/v1/chat/completions");
	assert_string_equal(oai.last_auth, "Bearer sk-unit-test");
	body = json_loads(oai.last_body, 0, NULL);
	pthread_mutex_unlock(&oai.lock);
	assert_non_null(body);
	assert_string_equal(json_string_value(json_object_get(body, "model")), "test-large");
	assert_string_equal(json_string_value(json_object_get(json_array_get(json_object_get(body, "messages"), 0),
	                                                      "content")),
	                    "You are a test.");
	assert_non_null(strstr(json_string_value(json_object_get(json_array_get(json_object_get(body, "messages"), 1),
	                                                         "content")),
	                       "] Carol: hello"));
	json_decref(body);

	/* malformed once, then fine: asked again at once */
	oai_reset(200, "I would rather not use JSON.", "{\"user\":\"Alice Bot\",\"text\":\"second try\"}");
	reply = say(rt, "again", NULL);
	assert_int_equal(oai_requests(), 2);
	assert_string_equal(reply_text(reply, 0), "second try");
	assert_string_equal(json_string_value(json_object_get(json_array_get(reply, 0), "action")), "NONE");
	json_decref(reply);

	/* always malformed: bounded retries, then the plain text as the reply */
	oai_reset(200, "  just words, no object  ", NULL);
	reply = say(rt, "talk", NULL);
	assert_int_equal(oai_requests(), 3);
	assert_int_equal(json_array_size(reply), 1);
	assert_string_equal(reply_text(reply, 0), "just words, no object");
	assert_string_equal(json_string_value(json_object_get(json_array_get(reply, 0), "action")), "NONE");
	assert_string_equal(json_string_value(json_object_get(json_array_get(reply, 0), "user")), "Alice Bot");
	json_decref(reply);
	log = log_text(e.log);
	assert_non_null(strstr(log, "asking again"));
	free(log);

	/* a bad key: one call, an error, no retries and no hang */
	oai_reset(401, "", NULL);
	{
		char user[AGENT_UUID_BUFSZ], room[AGENT_UUID_BUFSZ];
		agent_message_in in = {.text = "x", .user_id = user, .room_id = room, .source = "direct"};

		assert_int_equal(agent_uuid_user(user, NULL), TEELIZA_OK);
		assert_int_equal(agent_uuid_room(room, NULL, "Alice Bot"), TEELIZA_OK);
		reply = NULL;
		assert_int_equal(agent_runtime_message(&reply, rt, &in), TEELIZA_ERR_CONFIG);
		assert_null(reply);
		assert_int_equal(oai_requests(), 1);
		/* a server that keeps failing: bounded too (3 calls, with back-off) */
		oai_reset(503, "", NULL);
		assert_int_equal(agent_runtime_message(&reply, rt, &in), TEELIZA_ERR_REMOTE);
		assert_int_equal(oai_requests(), 3);
	}
	agent_runtime_release(rt);
	env_done(&e);
	http_server_stop(srv);
	free(oai.last_body);
	oai.last_body = NULL;
}

static void test_tee_config(void **state)
{
	struct env e;
	agent_tee_config tee = {.mode = "LOCAL"};
	agent_character *c;
	agent_tee_config got;
	agent_runtime *rt;

	(void)state;
	env_init(&e, &tee);
	assert_int_equal(agent_registry_start(&rt, e.reg, make_character("Alice Bot", NULL)), TEELIZA_ERR_CONFIG);
	assert_string_equal(teeliza_errmsg(), "WALLET_SECRET_SALT required when TEE_MODE is enabled");
	assert_null(rt);
	assert_int_equal(agent_registry_count(e.reg), 0);
	env_done(&e);

	tee.salt = "s";
	tee.mode = "local";
	env_init(&e, &tee);
	assert_int_equal(agent_registry_start(&rt, e.reg, make_character("Alice Bot", NULL)), TEELIZA_ERR_CONFIG);
	assert_string_equal(teeliza_errmsg(), "Invalid TEE_MODE: local. Must be one of: LOCAL, DOCKER, PRODUCTION");
	env_done(&e);

	tee.mode = "LOCAL";
	tee.scheme = "eliza-v0.2";
	tee.simulator_endpoint = "http://127.0.0.1:9";
	env_init(&e, &tee);
	assert_int_equal(agent_registry_start(&rt, e.reg, make_character("Alice Bot", NULL)), TEELIZA_ERR_CONFIG);
	assert_non_null(strstr(teeliza_errmsg(), "TEE_KEY_SCHEME"));
	env_done(&e);

	/* OFF and unset switch the plugin off */
	tee.mode = "OFF";
	assert_false(agent_tee_config_enabled(&tee));
	tee.mode = "";
	assert_false(agent_tee_config_enabled(&tee));
	tee.mode = "DOCKER";
	assert_true(agent_tee_config_enabled(&tee));
	assert_false(agent_tee_config_enabled(NULL));

	/* per character: settings.secrets before the environment, as getSetting */
	setenv("TEE_MODE", "PRODUCTION", 1);
	setenv("WALLET_SECRET_SALT", "env-salt", 1);
	setenv("DSTACK_SIMULATOR_ENDPOINT", "http://127.0.0.1:8090", 1);
	c = make_character("Alice Bot", "\"settings\":{\"secrets\":{\"WALLET_SECRET_SALT\":\"char-salt\","
	                                "\"TEE_KEY_SCHEME\":\"eliza-v0.1.7\"}},");
	agent_tee_config_for_character(&got, c);
	assert_string_equal(got.mode, "PRODUCTION");
	assert_string_equal(got.salt, "char-salt");
	assert_string_equal(got.scheme, "eliza-v0.1.7");
	assert_string_equal(got.simulator_endpoint, "http://127.0.0.1:8090");
	agent_character_free(c);
	unsetenv("TEE_MODE");
	unsetenv("WALLET_SECRET_SALT");
	unsetenv("DSTACK_SIMULATOR_ENDPOINT");
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_action_match),
		cmocka_unit_test(test_template_fill),
		cmocka_unit_test(test_compose_prompt),
		cmocka_unit_test(test_registry),
		cmocka_unit_test(test_persistence_across_restart),
		cmocka_unit_test(test_tee_wallet_and_attestation),
		cmocka_unit_test(test_tee_unavailable_then_back),
		cmocka_unit_test(test_offline_model),
		cmocka_unit_test(test_prompt_unused_only_offline),
		cmocka_unit_test(test_model_path),
		cmocka_unit_test(test_tee_config),
	};
	int rc;

	unsetenv("TEE_MODE");
	unsetenv("DSTACK_SIMULATOR_ENDPOINT");
	rc = cmocka_run_group_tests(tests, NULL, NULL);
	free(seen_prompt);
	free(seen_system);
	return rc;
}
