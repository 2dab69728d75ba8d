/*
 * elizaOS 1.x characters: format detection, loading as elizaOS's server
 * does (jsonToCharacter: validate, default id, env secrets), the mapping
 * onto the 0.1.x-shaped character the rest of teeliza reads, and the way
 * back to v1 shape for the v1 REST API.
 */
#include "agent/character/character_v1_internal.h"

#include <assert.h>
#include <stdlib.h>
#include <string.h>

extern char **environ;

bool agent_character_has_0_1_keys(const json_t *root)
{
	return json_object_get(root, "modelProvider") != NULL || json_object_get(root, "clients") != NULL ||
	       json_object_get(root, "lore") != NULL;
}

agent_character_format agent_character_detect_format(const json_t *root)
{
	const char *key;
	const json_t *val;
	bool other = false;

	if (!json_is_object(root) || agent_character_has_0_1_keys(root))
		return AGENT_CHARACTER_FORMAT_0_1;
	json_object_foreach((json_t *)root, key, val) {
		(void)val;
		if (strcmp(key, "name") != 0 && strcmp(key, "id") != 0)
			other = true;
	}
	return other ? AGENT_CHARACTER_FORMAT_V1 : AGENT_CHARACTER_FORMAT_0_1;
}

agent_character_format agent_character_format_of(const agent_character *c)
{
	assert(c != NULL);
	return c->v1 != NULL ? AGENT_CHARACTER_FORMAT_V1 : AGENT_CHARACTER_FORMAT_0_1;
}

const char *agent_character_plugin_note(const agent_character *c)
{
	assert(c != NULL);
	return c->plugin_note;
}

/* ---- v1 -> the 0.1.x shape ---- */

static int set_copy(json_t *dst, const char *key, const json_t *v)
{
	return v == NULL ? 0 : json_object_set_new(dst, key, json_deep_copy(v));
}

static int set_list(json_t *dst, const char *key, const json_t *v)
{
	return json_object_set_new(dst, key, v != NULL ? json_deep_copy(v) : json_array());
}

/* The first action of a v1 example that means more than "reply", as 0.1.x's single `action`. */
static const char *example_action(const json_t *content)
{
	size_t i;
	const json_t *a;

	json_array_foreach(json_object_get(content, "actions"), i, a) {
		const char *s = json_string_value(a);

		if (s != NULL && strcmp(s, "REPLY") != 0 && strcmp(s, "NONE") != 0)
			return s;
	}
	return NULL;
}

static json_t *map_examples(const json_t *v1)
{
	json_t *out = json_array();
	const json_t *conv, *msg;
	size_t i, j;

	if (out == NULL)
		return NULL;
	json_array_foreach(v1, i, conv) {
		json_t *c = json_array();

		if (c == NULL || json_array_append_new(out, c) != 0)
			goto fail;
		json_array_foreach(conv, j, msg) {
			json_t *content = json_deep_copy(json_object_get(msg, "content"));
			json_t *m = json_object();
			const char *action = example_action(content);

			if (content == NULL || m == NULL || json_array_append_new(c, m) != 0 ||
			    json_object_set(m, "user", json_object_get(msg, "name")) != 0 ||
			    (action != NULL && json_object_get(content, "action") == NULL &&
			     json_object_set_new(content, "action", json_string(action)) != 0) ||
			    json_object_set_new(m, "content", content) != 0)
				goto fail;
		}
	}
	return out;
fail:
	json_decref(out);
	return NULL;
}

/* Which plugin picks the provider: the first supported one, else the first unsupported model plugin. */
static int pick_model_plugin(const json_t *plugins)
{
	size_t i;
	const json_t *p;
	int first_unsupported = -1;

	json_array_foreach(plugins, i, p) {
		int idx;
		const agent_v1_plugin *info = agent_v1_plugin_find(json_string_value(p), &idx);

		if (info == NULL || info->provider == NULL)
			continue;
		if (strcmp(info->provider, "openai") == 0 || strcmp(info->provider, "redpill") == 0 ||
		    strcmp(info->provider, "ollama") == 0)
			return idx;
		if (first_unsupported < 0)
			first_unsupported = idx;
	}
	return first_unsupported;
}

/* {...settings.secrets, ...secrets}: what 0.1.x's settings.secrets holds for a v1 character. */
static json_t *merged_secrets(const json_t *root)
{
	json_t *out = json_object();
	const json_t *inner = json_object_get(json_object_get(root, "settings"), "secrets");
	const json_t *top = json_object_get(root, "secrets");

	if (out == NULL)
		return NULL;
	if ((json_is_object(inner) && json_object_update(out, (json_t *)inner) != 0) ||
	    (json_is_object(top) && json_object_update(out, (json_t *)top) != 0)) {
		json_decref(out);
		return NULL;
	}
	return out;
}

teeliza_err agent_character_v1_to_internal(json_t **out, const json_t *root)
{
	const json_t *style = json_object_get(root, "style");
	const agent_v1_plugin *model;
	json_t *c = json_object(), *settings, *st = json_object(), *secrets = merged_secrets(root);
	json_t *examples = map_examples(json_object_get(root, "messageExamples"));
	int rc = 0;

	assert(out != NULL && root != NULL);
	*out = NULL;
	settings = json_is_object(json_object_get(root, "settings")) ? json_deep_copy(json_object_get(root, "settings"))
	                                                             : json_object();
	if (c == NULL || st == NULL || secrets == NULL || examples == NULL || settings == NULL) {
		rc = -1;
		goto done;
	}
	rc |= set_copy(c, "id", json_object_get(root, "id"));
	rc |= set_copy(c, "name", json_object_get(root, "name"));
	rc |= set_copy(c, "username", json_object_get(root, "username"));
	rc |= set_copy(c, "system", json_object_get(root, "system"));
	model = agent_v1_plugin_at(pick_model_plugin(json_object_get(root, "plugins")));
	if (model != NULL)
		rc |= json_object_set_new(c, "modelProvider", json_string(model->provider));
	rc |= set_copy(c, "templates", json_object_get(root, "templates"));
	rc |= set_copy(c, "bio", json_object_get(root, "bio"));
	rc |= json_object_set_new(c, "lore", json_array());
	rc |= json_object_set(c, "messageExamples", examples);
	rc |= set_list(c, "postExamples", json_object_get(root, "postExamples"));
	rc |= set_list(c, "topics", json_object_get(root, "topics"));
	rc |= set_list(c, "adjectives", json_object_get(root, "adjectives"));
	rc |= set_copy(c, "knowledge", json_object_get(root, "knowledge"));
	rc |= json_object_set_new(c, "clients", json_array());
	rc |= set_list(c, "plugins", json_object_get(root, "plugins"));
	json_object_del(settings, "secrets");
	if (json_object_size(secrets) > 0)
		rc |= json_object_set(settings, "secrets", secrets);
	rc |= json_object_set(c, "settings", settings);
	rc |= set_list(st, "all", json_object_get(style, "all"));
	rc |= set_list(st, "chat", json_object_get(style, "chat"));
	rc |= set_list(st, "post", json_object_get(style, "post"));
	rc |= json_object_set(c, "style", st);
done:
	json_decref(st);
	json_decref(secrets);
	json_decref(examples);
	json_decref(settings);
	if (rc != 0) {
		json_decref(c);
		return teeliza_set_error(TEELIZA_ERR_NOMEM, "out of memory mapping a v1 character");
	}
	*out = c;
	return TEELIZA_OK;
}

/* ---- loading ---- */

/* JS name.toUpperCase().replace(/[^A-Z0-9]/g, "_") for ASCII; one '_' per UTF-16 unit otherwise. */
static teeliza_err upper_name(teeliza_buf *out, const char *s)
{
	teeliza_err err = TEELIZA_OK;

	for (const unsigned char *p = (const unsigned char *)s; *p != '\0' && err == TEELIZA_OK; p++) {
		char ch;

		if (*p >= 0x80 && *p < 0xc0)
			continue; /* continuation byte: counted with its lead */
		if (*p >= 'a' && *p <= 'z')
			ch = (char)(*p - 'a' + 'A');
		else if ((*p >= 'A' && *p <= 'Z') || (*p >= '0' && *p <= '9'))
			ch = (char)*p;
		else
			ch = '_';
		err = teeliza_buf_append(out, &ch, 1);
		if (err == TEELIZA_OK && *p >= 0xf0) /* outside the BMP: a surrogate pair */
			err = teeliza_buf_append(out, &ch, 1);
	}
	return err;
}

/* jsonToCharacter's env merge: {...secrets, ...settings.secrets, ...env} into `secrets`, env winning. */
static teeliza_err merge_env(json_t *root, bool from_file)
{
	teeliza_buf pre[3];
	json_t *found = NULL, *combined = NULL;
	const json_t *inner;
	const char *id = json_string_value(json_object_get(root, "id"));
	teeliza_err err = TEELIZA_OK;
	size_t npre = from_file ? 3 : 2;

	for (size_t i = 0; i < 3; i++)
		teeliza_buf_init(&pre[i], (size_t)1 << 20);
	/* order as upstream: CHARACTER.<NAME>., <NAME>_, CHARACTER.<ID>. */
	if (teeliza_buf_append_str(&pre[0], "CHARACTER.") || upper_name(&pre[0], json_string_value(json_object_get(root, "name"))) ||
	    teeliza_buf_append_str(&pre[0], "."))
		err = TEELIZA_ERR_NOMEM;
	if (err == TEELIZA_OK && from_file &&
	    (upper_name(&pre[1], json_string_value(json_object_get(root, "name"))) || teeliza_buf_append_str(&pre[1], "_")))
		err = TEELIZA_ERR_NOMEM;
	if (err == TEELIZA_OK) {
		teeliza_buf *b = &pre[from_file ? 2 : 1];

		if (teeliza_buf_append_str(b, "CHARACTER."))
			err = TEELIZA_ERR_NOMEM;
		for (const char *p = id; err == TEELIZA_OK && *p != '\0'; p++) {
			char ch = *p == '-' ? '_' : (*p >= 'a' && *p <= 'z') ? (char)(*p - 'a' + 'A') : *p;

			err = teeliza_buf_append(b, &ch, 1);
		}
		if (err == TEELIZA_OK && teeliza_buf_append_str(b, "."))
			err = TEELIZA_ERR_NOMEM;
	}
	found = json_object();
	if (found == NULL)
		err = TEELIZA_ERR_NOMEM;
	for (char **e = environ; err == TEELIZA_OK && e != NULL && *e != NULL; e++) {
		const char *eq = strchr(*e, '=');
		size_t klen = eq != NULL ? (size_t)(eq - *e) : 0;

		for (size_t i = 0; eq != NULL && i < npre; i++) {
			const char *pfx = (const char *)pre[i].data;
			char *key;
			json_t *val;

			if (klen < pre[i].len || strncmp(*e, pfx, pre[i].len) != 0)
				continue;
			key = strndup(*e + pre[i].len, klen - pre[i].len);
			val = json_string(eq + 1); /* not UTF-8: skipped */
			if (key == NULL || (val != NULL && json_object_set_new(found, key, val) != 0))
				err = TEELIZA_ERR_NOMEM;
			free(key);
			break;
		}
	}
	for (size_t i = 0; i < 3; i++)
		teeliza_buf_free(&pre[i]);
	if (err != TEELIZA_OK || json_object_size(found) == 0)
		goto done;
	combined = json_object();
	inner = json_object_get(json_object_get(root, "settings"), "secrets");
	if (combined == NULL ||
	    (json_is_object(json_object_get(root, "secrets")) && json_object_update(combined, json_object_get(root, "secrets"))) ||
	    (json_is_object(inner) && json_object_update(combined, (json_t *)inner))) {
		err = TEELIZA_ERR_NOMEM;
		goto done;
	}
	if (json_is_array(inner)) { /* {...array}: its indices as keys */
		size_t i;
		const json_t *v;

		json_array_foreach(inner, i, v) {
			char k[24];

			snprintf(k, sizeof(k), "%zu", i);
			if (json_object_set(combined, k, (json_t *)v) != 0)
				err = TEELIZA_ERR_NOMEM;
		}
	}
	if (err == TEELIZA_OK && json_object_update(combined, found) != 0)
		err = TEELIZA_ERR_NOMEM;
	if (err == TEELIZA_OK) {
		const char *k;
		json_t *v;
		bool valid = true;

		/* upstream validates again and keeps the character without env values if that fails */
		json_object_foreach(combined, k, v) {
			if (!json_is_string(v) && !json_is_boolean(v) && !json_is_number(v))
				valid = false;
		}
		if (valid && ((json_object_get(root, "settings") == NULL &&
		               json_object_set_new(root, "settings", json_object()) != 0) ||
		              json_object_set(root, "secrets", combined) != 0))
			err = TEELIZA_ERR_NOMEM;
	}
done:
	json_decref(found);
	json_decref(combined);
	if (err)
		return teeliza_set_error(err, "out of memory merging env secrets");
	return TEELIZA_OK;
}

/* "http://h:11434/api" (the v1 Ollama plugin's native API) -> "http://h:11434" (teeliza adds /v1). */
static char *ollama_base(const char *endpoint)
{
	size_t n = strlen(endpoint);

	while (n > 0 && endpoint[n - 1] == '/')
		n--;
	if (n >= 4 && strncmp(endpoint + n - 4, "/api", 4) == 0)
		n -= 4;
	return strndup(endpoint, n);
}

static teeliza_err build_note(agent_character *c)
{
	teeliza_buf b;
	const json_t *p;
	size_t i;
	teeliza_err err = TEELIZA_OK;
	const json_t *plugins = json_object_get(c->v1, "plugins");

	if (json_array_size(plugins) == 0)
		return TEELIZA_OK;
	teeliza_buf_init(&b, (size_t)1 << 20);
	err = teeliza_buf_append_str(&b, "v1 plugins:");
	json_array_foreach(plugins, i, p) {
		int idx;
		const char *name = json_string_value(p);
		const agent_v1_plugin *info = agent_v1_plugin_find(name, &idx);
		const char *what;

		if (info == NULL)
			what = "ignored (teeliza has no such plugin)";
		else if (info->provider != NULL && idx != c->model_plugin)
			what = "ignored (another plugin picked the model)";
		else
			what = info->why;
		if (err == TEELIZA_OK)
			err = teeliza_buf_printf(&b, "%s %s: %s", i > 0 ? ";" : "", name, what);
	}
	if (err == TEELIZA_OK && c->model_plugin < 0)
		err = teeliza_buf_append_str(&b, "; no model plugin: offline responder unless settings say otherwise");
	if (err == TEELIZA_OK) {
		c->plugin_note = strdup((const char *)b.data);
		if (c->plugin_note == NULL)
			err = TEELIZA_ERR_NOMEM;
	}
	teeliza_buf_free(&b);
	if (err)
		return teeliza_set_error(TEELIZA_ERR_NOMEM, "out of memory describing plugins");
	return TEELIZA_OK;
}

teeliza_err agent_character_v1_wrap(agent_character **out, json_t *v1, bool from_file)
{
	json_t *internal;
	const agent_v1_plugin *model;
	teeliza_err err;

	*out = NULL;
	if (json_object_get(v1, "id") == NULL) {
		const char *name = json_string_value(json_object_get(v1, "name"));
		char id[AGENT_UUID_BUFSZ];

		/* v1's stringToUuid hands a UUID back unchanged */
		if (agent_uuid_is_valid(name))
			snprintf(id, sizeof(id), "%s", name);
		else if ((err = agent_uuid_from_string(id, name)) != TEELIZA_OK) {
			json_decref(v1);
			return err;
		}
		if (json_object_set_new(v1, "id", json_string(id)) != 0) {
			json_decref(v1);
			return teeliza_set_error(TEELIZA_ERR_NOMEM, "out of memory loading a character");
		}
	}
	err = merge_env(v1, from_file);
	if (err == TEELIZA_OK)
		err = agent_character_v1_to_internal(&internal, v1);
	if (err == TEELIZA_OK)
		err = agent_character_wrap(out, internal);
	if (err) {
		json_decref(v1);
		return err;
	}
	(*out)->v1 = v1;
	(*out)->model_plugin = pick_model_plugin(json_object_get(v1, "plugins"));
	model = agent_v1_plugin_at((*out)->model_plugin);
	if (model != NULL && strcmp(model->package, "@elizaos/plugin-ollama") == 0) {
		const char *ep = agent_character_v1_get_setting(*out, "OLLAMA_API_ENDPOINT");

		if (ep != NULL && ((*out)->ollama_url = ollama_base(ep)) == NULL)
			err = teeliza_set_error(TEELIZA_ERR_NOMEM, "out of memory loading a character");
	}
	if (err == TEELIZA_OK)
		err = build_note(*out);
	if (err) {
		agent_character_free(*out);
		*out = NULL;
	}
	return err;
}

static void report_text(teeliza_buf *report, const char *a, const char *b)
{
	if (report == NULL)
		return;
	teeliza_buf_reset(report);
	if (teeliza_buf_append_str(report, a) != TEELIZA_OK || (b != NULL && teeliza_buf_append_str(report, b) != TEELIZA_OK))
		teeliza_buf_reset(report);
}

/* The lines joined as jsonToCharacter joins them. */
static void report_issues(teeliza_buf *report, const teeliza_buf *issues)
{
	if (report == NULL)
		return;
	teeliza_buf_reset(report);
	if (teeliza_buf_append_str(report, AGENT_CHARACTER_V1_INVALID_PREFIX) != TEELIZA_OK)
		return;
	for (size_t i = 0; i < issues->len; i++) {
		teeliza_err err = issues->data[i] == '\n' ? teeliza_buf_append_str(report, "; ")
		                                          : teeliza_buf_append(report, &issues->data[i], 1);

		if (err != TEELIZA_OK) {
			teeliza_buf_reset(report);
			return;
		}
	}
}

teeliza_err agent_character_v1_from_json(agent_character **out, teeliza_buf *report, const json_t *root,
                                         const char *source_path)
{
	teeliza_buf issues;
	json_t *copy;
	teeliza_err err;

	assert(out != NULL && root != NULL);
	*out = NULL;
	if (report != NULL)
		teeliza_buf_init(report, (size_t)16 << 20);
	err = agent_character_v1_validate(&issues, root);
	if (err == TEELIZA_ERR_INVALID) {
		report_issues(report, &issues);
		teeliza_set_error(err, "%s", report != NULL && report->data != NULL ? (const char *)report->data
		                                                                      : AGENT_CHARACTER_V1_INVALID_PREFIX);
	}
	teeliza_buf_free(&issues);
	if (err) {
		if (err != TEELIZA_ERR_INVALID)
			report_text(report, teeliza_errmsg(), NULL);
		return err;
	}
	copy = json_deep_copy(root);
	if (copy == NULL)
		err = teeliza_set_error(TEELIZA_ERR_NOMEM, "out of memory copying a character");
	else if ((err = agent_character_v1_strip(copy)) != TEELIZA_OK)
		json_decref(copy);
	else
		err = agent_character_v1_wrap(out, copy, source_path != NULL);
	if (err)
		report_text(report, teeliza_errmsg(), NULL);
	return err;
}

teeliza_err agent_character_v1_from_text(agent_character **out, teeliza_buf *report, const char *text, size_t len,
                                         const char *source_path)
{
	json_t *root;
	json_error_t jerr;
	teeliza_err err;

	assert(out != NULL && text != NULL);
	*out = NULL;
	root = json_loadb(text, len, JSON_DECODE_ANY, &jerr);
	if (root == NULL) {
		if (report != NULL)
			teeliza_buf_init(report, (size_t)16 << 20);
		teeliza_set_error(TEELIZA_ERR_PARSE, "invalid JSON at line %d column %d: %s", jerr.line, jerr.column,
		                  jerr.text);
		report_text(report, teeliza_errmsg(), NULL);
		return TEELIZA_ERR_PARSE;
	}
	err = agent_character_v1_from_json(out, report, root, source_path);
	json_decref(root);
	return err;
}
