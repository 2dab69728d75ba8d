/*
 * composeState for one message: the character (sampled as Eliza samples
 * it), the room's last messages and actors, the available actions and the
 * providers' text, as a JSON object of strings for the template.
 */
#include "agent/runtime/runtime_internal.h"

#include <assert.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#define STATE_TEXT_MAX ((size_t)4 << 20)
#define BIO_SAMPLE 3
#define LORE_SAMPLE 10
#define TOPICS_SAMPLE 5
#define POSTS_SAMPLE 50
#define EXAMPLES_SAMPLE 5
#define ACTION_EXAMPLES_MAX 10
#define KNOWLEDGE_MAX_BYTES 4096

/* Names given to {{user1}}.. in examples, as Eliza gives random names. */
static const char *const example_names[] = {
	"Ada", "Bram", "Chidi", "Dana", "Emre", "Farah", "Goran", "Hana", "Ivo", "Jun",
	"Kaia", "Luca", "Mira", "Nils", "Oona", "Pavel", "Quinn", "Rosa", "Sami", "Tova",
};
#define N_EXAMPLE_NAMES (sizeof(example_names) / sizeof(example_names[0]))

/* The first k entries of a random permutation of 0..n-1 (k <= n). Out: idx (malloc'd, caller frees). */
static teeliza_err sample_indices(size_t **idx, agent_runtime *rt, size_t n, size_t k)
{
	size_t i, j, t, *a;

	*idx = NULL;
	if (n == 0)
		return TEELIZA_OK;
	a = malloc(n * sizeof(*a));
	if (a == NULL)
		return teeliza_set_error(TEELIZA_ERR_NOMEM, "out of memory");
	for (i = 0; i < n; i++)
		a[i] = i;
	for (i = 0; i < k && i + 1 < n; i++) {
		j = i + (size_t)(agent_runtime_random(rt) % (n - i));
		t = a[i];
		a[i] = a[j];
		a[j] = t;
	}
	*idx = a;
	return TEELIZA_OK;
}

/* addHeader: "header\nbody\n" when body is not empty, else "". */
static teeliza_err with_header(teeliza_buf *out, const char *header, const teeliza_buf *body)
{
	teeliza_buf_reset(out);
	if (body->len == 0)
		return TEELIZA_OK;
	return teeliza_buf_printf(out, "%s\n%s\n", header, (const char *)body->data);
}

static teeliza_err set_text(json_t *state, const char *key, const char *text, size_t len)
{
	json_t *v = json_stringn(text != NULL ? text : "", text != NULL ? len : 0);

	if (v == NULL)
		return teeliza_set_error(TEELIZA_ERR_INVALID, "state %s is not valid UTF-8", key);
	if (json_object_set_new(state, key, v) != 0)
		return teeliza_set_error(TEELIZA_ERR_NOMEM, "out of memory");
	return TEELIZA_OK;
}

static teeliza_err set_buf(json_t *state, const char *key, const teeliza_buf *b)
{
	return set_text(state, key, (const char *)b->data, b->len);
}

/* k sampled entries of a character list joined by sep. */
static teeliza_err sample_list(teeliza_buf *out, agent_runtime *rt, agent_character_list which, size_t k,
                               const char *sep)
{
	const agent_character *c = rt->character;
	size_t n = agent_character_list_count(c, which), i, used = 0, *idx = NULL;
	const char *item;
	teeliza_err err;

	teeliza_buf_reset(out);
	if (k > n)
		k = n;
	err = sample_indices(&idx, rt, n, k);
	for (i = 0; !err && i < n && used < k; i++) {
		item = agent_character_list_item(c, which, idx[i]);
		if (item == NULL)
			continue;
		if (used++ > 0)
			err = teeliza_buf_append_str(out, sep);
		if (!err)
			err = teeliza_buf_append_str(out, item);
	}
	free(idx);
	return err;
}

static const char *random_item(agent_runtime *rt, agent_character_list which)
{
	size_t n = agent_character_list_count(rt->character, which);

	if (n == 0)
		return "";
	return agent_character_list_item(rt->character, which, (size_t)(agent_runtime_random(rt) % n));
}

/* "<name> is interested in a, b and c" (Eliza's topics line). */
static teeliza_err topics_line(teeliza_buf *out, agent_runtime *rt)
{
	const agent_character *c = rt->character;
	size_t n = agent_character_list_count(c, AGENT_CHAR_TOPICS), k = n < TOPICS_SAMPLE ? n : TOPICS_SAMPLE;
	size_t i, *idx = NULL;
	const char *t;
	teeliza_err err;

	teeliza_buf_reset(out);
	if (k == 0)
		return TEELIZA_OK;
	err = sample_indices(&idx, rt, n, k);
	if (!err)
		err = teeliza_buf_printf(out, "%s is interested in ", agent_runtime_name(rt));
	for (i = 0; !err && i < k; i++) {
		t = agent_character_list_item(c, AGENT_CHAR_TOPICS, idx[i]);
		err = teeliza_buf_printf(out, "%s%s", t != NULL ? t : "", i + 2 == k ? " and " : (i + 1 == k ? "" : ", "));
	}
	free(idx);
	return err;
}

/* Replace every occurrence of `from` in s by `to`, appending to out. */
static teeliza_err append_replaced(teeliza_buf *out, const char *s, const char *const *from, const char *const *to,
                                   size_t n)
{
	const char *hit, *best;
	size_t i, best_i = 0;
	teeliza_err err = TEELIZA_OK;

	while (!err && *s) {
		best = NULL;
		for (i = 0; i < n; i++) {
			hit = strstr(s, from[i]);
			if (hit != NULL && (best == NULL || hit < best)) {
				best = hit;
				best_i = i;
			}
		}
		if (best == NULL)
			return teeliza_buf_append_str(out, s);
		err = teeliza_buf_append(out, s, (size_t)(best - s));
		if (!err)
			err = teeliza_buf_append_str(out, to[best_i]);
		s = best + strlen(from[best_i]);
	}
	return err;
}

/* Five random names for {{user1}}..{{user5}}. */
static void pick_names(const char *names[5], agent_runtime *rt)
{
	size_t i;

	for (i = 0; i < 5; i++)
		names[i] = example_names[agent_runtime_random(rt) % N_EXAMPLE_NAMES];
}

static const char *const user_keys[6] = {"{{user1}}", "{{user2}}", "{{user3}}", "{{user4}}", "{{user5}}",
                                         "{{agentName}}"};

/* Five sampled messageExamples conversations, "name: text (action)" lines, blank line between. */
static teeliza_err message_examples(teeliza_buf *out, agent_runtime *rt)
{
	const agent_character *c = rt->character;
	size_t n = agent_character_example_count(c), k = n < EXAMPLES_SAMPLE ? n : EXAMPLES_SAMPLE;
	size_t i, m, len, *idx = NULL;
	const char *to[6];
	agent_message_example ex;
	teeliza_err err;

	teeliza_buf_reset(out);
	err = sample_indices(&idx, rt, n, k);
	for (i = 0; !err && i < k; i++) {
		pick_names(to, rt);
		to[5] = agent_runtime_name(rt);
		if (i > 0)
			err = teeliza_buf_append_str(out, "\n\n");
		len = agent_character_example_length(c, idx[i]);
		for (m = 0; !err && m < len; m++) {
			if (!agent_character_example(&ex, c, idx[i], m))
				continue;
			if (m > 0)
				err = teeliza_buf_append_str(out, "\n");
			if (!err)
				err = append_replaced(out, ex.user != NULL ? ex.user : "", user_keys, to, 6);
			if (!err)
				err = teeliza_buf_append_str(out, ": ");
			if (!err)
				err = append_replaced(out, ex.text != NULL ? ex.text : "", user_keys, to, 6);
			if (!err && ex.action != NULL && ex.action[0] != 0)
				err = teeliza_buf_printf(out, " (%s)", ex.action);
		}
	}
	free(idx);
	return err;
}

/* style.all + style.<which> lines. */
static teeliza_err directions(teeliza_buf *out, agent_runtime *rt, agent_character_list which)
{
	const agent_character_list lists[2] = {AGENT_CHAR_STYLE_ALL, which};
	size_t l, i, n;
	const char *s;
	teeliza_err err = TEELIZA_OK;

	teeliza_buf_reset(out);
	for (l = 0; l < 2; l++) {
		n = agent_character_list_count(rt->character, lists[l]);
		for (i = 0; !err && i < n; i++) {
			s = agent_character_list_item(rt->character, lists[l], i);
			if (s == NULL)
				continue;
			if (out->len > 0)
				err = teeliza_buf_append_str(out, "\n");
			if (!err)
				err = teeliza_buf_append_str(out, s);
		}
	}
	return err;
}

/* Eliza's formatTimestamp. */
static teeliza_err relative_time(teeliza_buf *out, int64_t created_at, int64_t now)
{
	int64_t d = now - created_at, minutes, hours, days;

	if (d < 0)
		d = -d;
	if (d < 60000)
		return teeliza_buf_append_str(out, "just now");
	minutes = d / 60000;
	hours = minutes / 60;
	days = hours / 24;
	if (minutes < 60)
		return teeliza_buf_printf(out, "%lld minute%s ago", (long long)minutes, minutes != 1 ? "s" : "");
	if (hours < 24)
		return teeliza_buf_printf(out, "%lld hour%s ago", (long long)hours, hours != 1 ? "s" : "");
	return teeliza_buf_printf(out, "%lld day%s ago", (long long)days, days != 1 ? "s" : "");
}

static const char *actor_name(const agent_account_list *actors, const char *user_id)
{
	size_t i;

	for (i = 0; i < actors->count; i++)
		if (actors->items[i].id != NULL && strcmp(actors->items[i].id, user_id) == 0)
			return actors->items[i].name != NULL ? actors->items[i].name : "Unknown User";
	return "Unknown User";
}

/* "(just now) [abcde] Name: text (ACTION)" per message, oldest first. */
static teeliza_err recent_messages(teeliza_buf *out, const agent_memory_list *mems, const agent_account_list *actors)
{
	int64_t now = agent_store_now_ms();
	const agent_memory *m;
	const char *text, *action, *uid;
	json_t *content;
	size_t i, ulen;
	teeliza_err err = TEELIZA_OK;

	teeliza_buf_reset(out);
	for (i = 0; !err && i < mems->count; i++) {
		m = &mems->items[i];
		if (m->user_id == NULL || m->content == NULL)
			continue;
		content = json_loads(m->content, 0, NULL);
		text = json_string_value(json_object_get(content, "text"));
		action = json_string_value(json_object_get(content, "action"));
		uid = m->user_id;
		ulen = strlen(uid);
		if (out->len > 0)
			err = teeliza_buf_append_str(out, "\n");
		if (!err)
			err = teeliza_buf_append_str(out, "(");
		if (!err)
			err = relative_time(out, m->created_at, now);
		if (!err)
			err = teeliza_buf_printf(out, ") [%s] %s: %s", uid + (ulen > 5 ? ulen - 5 : 0),
			                         actor_name(actors, uid), text != NULL ? text : "");
		if (!err && action != NULL && action[0] != 0 && strcmp(action, "null") != 0)
			err = teeliza_buf_printf(out, " (%s)", action);
		json_decref(content);
	}
	return err;
}

static teeliza_err actors_text(teeliza_buf *out, const agent_account_list *actors)
{
	size_t i;
	teeliza_err err = TEELIZA_OK;

	teeliza_buf_reset(out);
	for (i = 0; !err && i < actors->count; i++)
		err = teeliza_buf_printf(out, "%s%s", i > 0 ? "\n" : "",
		                         actors->items[i].name != NULL ? actors->items[i].name : "Unknown User");
	return err;
}

/* actionNames, actions and actionExamples, in a random order as Eliza shuffles them. */
static teeliza_err action_texts(json_t *state, agent_runtime *rt, teeliza_buf *a, teeliza_buf *b)
{
	size_t i, j, n = rt->n_actions, *idx = NULL, shown = 0;
	const agent_action *act;
	const char *to[6];
	teeliza_err err;

	err = sample_indices(&idx, rt, n, n);
	teeliza_buf_reset(a);
	for (i = 0; !err && i < n; i++)
		err = teeliza_buf_printf(a, "%s%s", i > 0 ? ", " : "Possible response actions: ", rt->actions[idx[i]].name);
	if (!err)
		err = set_buf(state, "actionNames", a);
	teeliza_buf_reset(a);
	for (i = 0; !err && i < n; i++) {
		act = &rt->actions[idx[i]];
		err = teeliza_buf_printf(a, "%s%s: %s", i > 0 ? ",\n" : "", act->name,
		                         act->description != NULL ? act->description : "");
	}
	if (!err)
		err = with_header(b, "# Available Actions", a);
	if (!err)
		err = set_buf(state, "actions", b);
	teeliza_buf_reset(a);
	for (i = 0; !err && i < n && shown < ACTION_EXAMPLES_MAX; i++) {
		act = &rt->actions[idx[i]];
		for (j = 0; !err && act->examples != NULL && act->examples[j] != NULL && shown < ACTION_EXAMPLES_MAX; j++) {
			pick_names(to, rt);
			to[5] = agent_runtime_name(rt);
			err = teeliza_buf_append_str(a, "\n");
			if (!err)
				err = append_replaced(a, act->examples[j], user_keys, to, 6);
			if (!err)
				err = teeliza_buf_append_str(a, "\n");
			shown++;
		}
	}
	if (!err)
		err = with_header(b, "# Action Examples", a);
	if (!err)
		err = set_buf(state, "actionExamples", b);
	free(idx);
	return err;
}

/* The providers' text: the time, then each plugin's that is on and has something to say (the TEE wallets). */
static teeliza_err providers_text(teeliza_buf *out, agent_runtime *rt, teeliza_buf *scratch)
{
	char when[64];
	time_t now = time(NULL);
	struct tm tm;
	size_t i;
	teeliza_err err;

	teeliza_buf_reset(out);
	gmtime_r(&now, &tm);
	strftime(when, sizeof(when), "%Y-%m-%d %H:%M:%S UTC", &tm);
	err = teeliza_buf_printf(out, "The current date and time is %s.", when);
	for (i = 0; !err && i < rt->n_plugins; i++) {
		if (rt->plugin_state[i] == NULL || rt->plugins[i].provider == NULL)
			continue;
		err = rt->plugins[i].provider(scratch, rt->plugin_state[i]);
		if (!err && scratch->len > 0)
			err = teeliza_buf_printf(out, "\n%s", (const char *)scratch->data);
	}
	return err;
}

/* String `knowledge` entries (no embeddings here: the first ones that fit). */
static teeliza_err knowledge_text(teeliza_buf *out, agent_runtime *rt)
{
	size_t i, n = agent_character_list_count(rt->character, AGENT_CHAR_KNOWLEDGE);
	const char *s;
	teeliza_err err = TEELIZA_OK;

	teeliza_buf_reset(out);
	for (i = 0; !err && i < n; i++) {
		s = agent_character_list_item(rt->character, AGENT_CHAR_KNOWLEDGE, i);
		if (s == NULL)
			continue;
		if (out->len + strlen(s) > KNOWLEDGE_MAX_BYTES)
			break;
		err = teeliza_buf_printf(out, "%s- %s", out->len > 0 ? "\n" : "", s);
	}
	return err;
}

/*
 * The actors a prompt names are the authors of the room's recent messages
 * (agent_store_recall), the sender's own included (it is stored before the
 * state is composed). Eliza lists every participant of the room instead; in
 * the default room that every REST user shares, that list, and the work per
 * message, grow without bound (1.9 ms a message after a few thousand users,
 * against 0.3 ms).
 */
void agent_runtime_recall_query(agent_memory_query *q, const agent_runtime *rt, const char *room_id)
{
	memset(q, 0, sizeof(*q));
	q->agent_id = rt->id;
	q->room_id = room_id;
	q->count = AGENT_CONVERSATION_LENGTH;
}

teeliza_err agent_runtime_compose_state_from(json_t **state_out, agent_runtime *rt, const char *room_id,
                                             const char *sender_name, const agent_recall *recalled)
{
	const char *name = agent_runtime_name(rt);
	agent_memory_query q;
	agent_recall read = { 0 };
	const agent_memory_list *mems;
	const agent_account_list *actors;
	teeliza_buf a, b, hdr;
	json_t *state;
	teeliza_err err;

	assert(state_out != NULL && rt != NULL && room_id != NULL);
	*state_out = NULL;
	state = json_object();
	if (state == NULL)
		return teeliza_set_error(TEELIZA_ERR_NOMEM, "out of memory");
	teeliza_buf_init(&a, STATE_TEXT_MAX);
	teeliza_buf_init(&b, STATE_TEXT_MAX);
	teeliza_buf_init(&hdr, 1024);

	if (recalled == NULL) {
		agent_runtime_recall_query(&q, rt, room_id);
		err = agent_store_recall(rt->store, &read, &q);
		recalled = &read;
	} else {
		err = TEELIZA_OK;
	}
	mems = &recalled->memories;
	actors = &recalled->authors;

	if (!err)
		err = set_text(state, "agentId", rt->id, strlen(rt->id));
	if (!err)
		err = set_text(state, "agentName", name, strlen(name));
	if (!err)
		err = set_text(state, "senderName", sender_name, sender_name != NULL ? strlen(sender_name) : 0);
	if (!err)
		err = agent_character_bio_is_string(rt->character)
		              ? teeliza_buf_printf(&a, "%s", agent_character_list_item(rt->character, AGENT_CHAR_BIO, 0))
		              : sample_list(&a, rt, AGENT_CHAR_BIO, BIO_SAMPLE, " ");
	if (!err)
		err = set_buf(state, "bio", &a);
	if (!err)
		err = sample_list(&a, rt, AGENT_CHAR_LORE, LORE_SAMPLE, "\n");
	if (!err)
		err = set_buf(state, "lore", &a);
	if (!err) {
		const char *adj = random_item(rt, AGENT_CHAR_ADJECTIVES), *topic = random_item(rt, AGENT_CHAR_TOPICS);

		err = set_text(state, "adjective", adj, strlen(adj));
		if (!err)
			err = set_text(state, "topic", topic, strlen(topic));
	}
	if (!err)
		err = topics_line(&a, rt);
	if (!err)
		err = set_buf(state, "topics", &a);
	if (!err)
		err = knowledge_text(&a, rt);
	if (!err)
		err = with_header(&b, "# Knowledge", &a);
	if (!err)
		err = set_buf(state, "knowledge", &b);
	if (!err)
		err = sample_list(&a, rt, AGENT_CHAR_POST_EXAMPLES, POSTS_SAMPLE, "\n");
	if (!err)
		err = teeliza_buf_printf(&hdr, "# Example Posts for %s", name);
	if (!err)
		err = with_header(&b, (const char *)hdr.data, &a);
	if (!err)
		err = set_buf(state, "characterPostExamples", &b);
	if (!err)
		err = message_examples(&a, rt);
	teeliza_buf_reset(&hdr);
	if (!err)
		err = teeliza_buf_printf(&hdr, "# Example Conversations for %s", name);
	if (!err)
		err = with_header(&b, (const char *)hdr.data, &a);
	if (!err)
		err = set_buf(state, "characterMessageExamples", &b);
	if (!err)
		err = directions(&a, rt, AGENT_CHAR_STYLE_CHAT);
	teeliza_buf_reset(&hdr);
	if (!err)
		err = teeliza_buf_printf(&hdr, "# Message Directions for %s", name);
	if (!err)
		err = with_header(&b, (const char *)hdr.data, &a);
	if (!err)
		err = set_buf(state, "messageDirections", &b);
	if (!err)
		err = directions(&a, rt, AGENT_CHAR_STYLE_POST);
	teeliza_buf_reset(&hdr);
	if (!err)
		err = teeliza_buf_printf(&hdr, "# Post Directions for %s", name);
	if (!err)
		err = with_header(&b, (const char *)hdr.data, &a);
	if (!err)
		err = set_buf(state, "postDirections", &b);
	if (!err)
		err = actors_text(&a, actors);
	if (!err)
		err = with_header(&b, "# Actors", &a);
	if (!err)
		err = set_buf(state, "actors", &b);
	if (!err)
		err = recent_messages(&a, mems, actors);
	if (!err)
		err = with_header(&b, "# Conversation Messages", &a);
	if (!err)
		err = set_buf(state, "recentMessages", &b);
	if (!err)
		err = action_texts(state, rt, &a, &b);
	if (!err)
		err = providers_text(&a, rt, &b);
	teeliza_buf_reset(&hdr);
	if (!err)
		err = teeliza_buf_printf(&hdr, "# Additional Information About %s and The World", name);
	if (!err)
		err = with_header(&b, (const char *)hdr.data, &a);
	if (!err)
		err = set_buf(state, "providers", &b);
	/* Keys Eliza has and this runtime leaves empty (no goals, posts, attachments here). */
	if (!err)
		err = set_text(state, "goals", "", 0);
	if (!err)
		err = set_text(state, "recentPosts", "", 0);
	if (!err)
		err = set_text(state, "attachments", "", 0);

	agent_recall_free(&read);
	teeliza_buf_free(&a);
	teeliza_buf_free(&b);
	teeliza_buf_free(&hdr);
	if (err) {
		json_decref(state);
		return err;
	}
	*state_out = state;
	return TEELIZA_OK;
}

teeliza_err agent_runtime_compose_state(json_t **state_out, agent_runtime *rt, const char *room_id,
                                        const char *sender_name)
{
	return agent_runtime_compose_state_from(state_out, rt, room_id, sender_name, NULL);
}

teeliza_err agent_runtime_compose_prompt_from(teeliza_buf *prompt, agent_runtime *rt, const char *room_id,
                                              const char *sender_name, const agent_recall *recalled)
{
	const char *tpl;
	json_t *state = NULL;
	teeliza_err err;

	assert(prompt != NULL && rt != NULL && room_id != NULL);
	teeliza_buf_reset(prompt);
	err = agent_runtime_compose_state_from(&state, rt, room_id, sender_name, recalled);
	if (err)
		return err;
	tpl = agent_character_template(rt->character, "messageHandlerTemplate");
	err = agent_template_fill(prompt, tpl != NULL ? tpl : agent_message_template(), state);
	json_decref(state);
	return err;
}

teeliza_err agent_runtime_compose_prompt(teeliza_buf *prompt, agent_runtime *rt, const char *room_id,
                                         const char *sender_name, const char *user_text)
{
	(void)user_text;
	return agent_runtime_compose_prompt_from(prompt, rt, room_id, sender_name, NULL);
}
