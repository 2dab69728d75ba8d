/*
 * A character in v1 shape, for the v1 REST API (GET /api/agents/:id and
 * friends). A v1 character is given back as it was read; a 0.1.x one is
 * converted field by field, and a field that still would not pass elizaOS
 * 1.x's schema is left out, so clients of either generation can read every
 * agent.
 */
#include "agent/character/character_v1_internal.h"

#include <assert.h>
#include <string.h>

static void strip_secrets(json_t *v1)
{
	json_t *settings = json_object_get(v1, "settings");

	json_object_del(v1, "secrets");
	if (json_is_object(settings))
		json_object_del(settings, "secrets");
}

/* Does {name, bio, key: value} pass the v1 schema? */
static bool field_passes(const char *key, const json_t *value)
{
	json_t *probe = json_pack("{s:s, s:s, s:O}", "name", "x", "bio", "", key, (json_t *)value);
	bool ok;

	if (probe == NULL)
		return false;
	ok = agent_character_v1_validate(NULL, probe) == TEELIZA_OK;
	json_decref(probe);
	return ok;
}

static int put(json_t *dst, const char *key, json_t *v)
{
	int rc;

	if (v == NULL)
		return -1;
	rc = field_passes(key, v) ? json_object_set(dst, key, v) : 0;
	json_decref(v);
	return rc;
}

static json_t *examples_v1(const json_t *list)
{
	json_t *out = json_array();
	const json_t *conv, *msg;
	size_t i, j;

	json_array_foreach(list, i, conv) {
		json_t *c = json_array();

		if (c == NULL || out == NULL || json_array_append_new(out, c) != 0)
			goto fail;
		json_array_foreach(conv, j, msg) {
			const json_t *user = json_object_get(msg, "user");
			json_t *content = json_deep_copy(json_object_get(msg, "content"));
			json_t *action = json_object_get(content, "action");
			json_t *m;

			if (!json_is_object(content)) {
				json_decref(content);
				content = json_object();
			}
			if (json_is_string(action) && json_object_get(content, "actions") == NULL &&
			    json_object_set_new(content, "actions", json_pack("[O]", action)) != 0)
				goto fail_content;
			m = json_pack("{s:s, s:o}", "name", json_is_string(user) ? json_string_value(user) : "",
			              "content", content);
			if (m == NULL || json_array_append_new(c, m) != 0)
				goto fail;
			continue;
fail_content:
			json_decref(content);
			goto fail;
		}
	}
	return out;
fail:
	json_decref(out);
	return NULL;
}

/* Entries of a list that pass as v1 items (plugin objects, bad knowledge objects left out). */
static json_t *filter_items(const json_t *list, const char *key)
{
	json_t *out = json_array();
	const json_t *item;
	size_t i;

	json_array_foreach(list, i, item) {
		json_t *one = json_pack("[O]", (json_t *)item);

		if (out == NULL || one == NULL) {
			json_decref(one);
			json_decref(out);
			return NULL;
		}
		if (field_passes(key, one))
			json_array_append(out, (json_t *)item);
		json_decref(one);
	}
	return out;
}

static json_t *from_0_1(const agent_character *c, bool with_secrets)
{
	const json_t *r = c->root, *style = json_object_get(r, "style"), *v;
	json_t *out = json_object(), *st, *settings;
	int rc = 0;

	if (out == NULL)
		return NULL;
	rc |= json_object_set_new(out, "id", json_string(c->id));
	rc |= json_object_set(out, "name", json_object_get(r, "name"));
	if ((v = json_object_get(r, "username")) != NULL)
		rc |= put(out, "username", json_deep_copy(v));
	if ((v = json_object_get(r, "system")) != NULL)
		rc |= put(out, "system", json_deep_copy(v));
	if ((v = json_object_get(r, "templates")) != NULL)
		rc |= put(out, "templates", json_deep_copy(v));
	rc |= json_object_set(out, "bio", json_object_get(r, "bio"));
	if ((v = json_object_get(r, "messageExamples")) != NULL)
		rc |= put(out, "messageExamples", examples_v1(v));
	if ((v = json_object_get(r, "postExamples")) != NULL)
		rc |= put(out, "postExamples", json_deep_copy(v));
	if ((v = json_object_get(r, "topics")) != NULL)
		rc |= put(out, "topics", json_deep_copy(v));
	if ((v = json_object_get(r, "adjectives")) != NULL)
		rc |= put(out, "adjectives", json_deep_copy(v));
	if ((v = json_object_get(r, "knowledge")) != NULL)
		rc |= put(out, "knowledge", filter_items(v, "knowledge"));
	if ((v = json_object_get(r, "plugins")) != NULL)
		rc |= put(out, "plugins", filter_items(v, "plugins"));
	if (json_is_object(v = json_object_get(r, "settings"))) {
		const char *k;
		json_t *val;
		void *tmp;

		settings = json_deep_copy(v);
		if (settings == NULL)
			rc = -1;
		json_object_foreach_safe(settings, tmp, k, val) {
			if (json_is_null(val))
				json_object_del(settings, k);
		}
		if (!with_secrets && settings != NULL)
			json_object_del(settings, "secrets");
		if (settings != NULL)
			rc |= put(out, "settings", settings);
	}
	if (json_is_object(style)) {
		st = json_object();
		if (st == NULL)
			rc = -1;
		else {
			for (size_t i = 0; i < 3; i++) {
				const char *k = i == 0 ? "all" : i == 1 ? "chat" : "post";

				if (json_object_get(style, k) != NULL)
					rc |= json_object_set(st, k, json_object_get(style, k));
			}
			rc |= put(out, "style", st);
		}
	}
	if (rc != 0) {
		json_decref(out);
		return NULL;
	}
	return out;
}

json_t *agent_character_to_v1_json(const agent_character *c, bool with_secrets)
{
	json_t *out;

	assert(c != NULL);
	if (c->v1 == NULL)
		return from_0_1(c, with_secrets);
	out = json_deep_copy(c->v1);
	if (out != NULL && !with_secrets)
		strip_secrets(out);
	return out;
}
