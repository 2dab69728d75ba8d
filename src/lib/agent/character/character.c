/* The loaded character: accessors and env secrets. */
#include "teeliza/agent/character.h"
#include "agent/character/character_internal.h"
#include "agent/character/character_v1_internal.h"

#include <assert.h>
#include <stdlib.h>
#include <string.h>

extern char **environ;

static const char *str_or_null(const json_t *v)
{
	return json_is_string(v) ? json_string_value(v) : NULL;
}

teeliza_err agent_character_wrap(agent_character **out, json_t *root)
{
	agent_character *c;
	const char *id, *name;
	teeliza_err err;

	assert(out != NULL && root != NULL);
	*out = NULL;
	c = calloc(1, sizeof(*c));
	if (c == NULL) {
		json_decref(root);
		return teeliza_set_error(TEELIZA_ERR_NOMEM, "out of memory loading a character");
	}
	c->root = root;
	c->model_plugin = -1;
	id = str_or_null(json_object_get(root, "id"));
	name = str_or_null(json_object_get(root, "name"));
	if (id != NULL && agent_uuid_is_valid(id)) {
		memcpy(c->id, id, AGENT_UUID_BUFSZ);
	} else if (name != NULL) {
		err = agent_uuid_from_string(c->id, name);
		if (err) {
			agent_character_free(c);
			return err;
		}
	} else {
		agent_character_free(c);
		return teeliza_set_error(TEELIZA_ERR_INVALID, "character has no name");
	}
	*out = c;
	return TEELIZA_OK;
}

void agent_character_free(agent_character *c)
{
	if (c == NULL)
		return;
	json_decref(c->root);
	json_decref(c->v1);
	free(c->plugin_note);
	free(c->ollama_url);
	free(c);
}

/* "CHARACTER." + id-or-name upper-cased (ASCII), spaces as '_', + "." */
static teeliza_err env_prefix(teeliza_buf *prefix, const json_t *root)
{
	const char *who = str_or_null(json_object_get(root, "id"));
	teeliza_err err;

	if (who == NULL || who[0] == '\0') /* JS `character.id || character.name` */
		who = str_or_null(json_object_get(root, "name"));
	assert(who != NULL);
	teeliza_buf_init(prefix, 64 * 1024);
	err = teeliza_buf_append_str(prefix, "CHARACTER.");
	for (const char *p = who; err == TEELIZA_OK && *p != '\0'; p++) {
		char ch = *p;

		if (ch == ' ')
			ch = '_';
		else if (ch >= 'a' && ch <= 'z')
			ch = (char)(ch - 'a' + 'A');
		err = teeliza_buf_append(prefix, &ch, 1);
	}
	if (err == TEELIZA_OK)
		err = teeliza_buf_append_str(prefix, ".");
	if (err)
		teeliza_set_error(err, "character name too long for the env prefix");
	return err;
}

teeliza_err agent_character_env_secrets(json_t *root)
{
	teeliza_buf prefix;
	json_t *found, *settings, *secrets, *file_secrets;
	teeliza_err err;

	err = env_prefix(&prefix, root);
	if (err) {
		teeliza_buf_free(&prefix);
		return err;
	}
	found = json_object();
	if (found == NULL) {
		teeliza_buf_free(&prefix);
		return teeliza_set_error(TEELIZA_ERR_NOMEM, "out of memory merging env secrets");
	}
	for (char **e = environ; e != NULL && *e != NULL; e++) {
		const char *eq = strchr(*e, '=');
		size_t klen;
		char *key;
		json_t *val;

		if (eq == NULL || strncmp(*e, (const char *)prefix.data, prefix.len) != 0 ||
		    (size_t)(eq - *e) < prefix.len)
			continue;
		klen = (size_t)(eq - *e) - prefix.len;
		key = strndup(*e + prefix.len, klen);
		val = json_string(eq + 1); /* NULL for a value that is not UTF-8: skipped */
		if (key == NULL || (val != NULL && json_object_set_new(found, key, val) != 0)) {
			free(key);
			json_decref(found);
			teeliza_buf_free(&prefix);
			return teeliza_set_error(TEELIZA_ERR_NOMEM, "out of memory merging env secrets");
		}
		free(key);
	}
	teeliza_buf_free(&prefix);
	if (json_object_size(found) == 0) {
		json_decref(found);
		return TEELIZA_OK;
	}
	settings = json_object_get(root, "settings");
	if (!json_is_object(settings)) {
		settings = json_object();
		if (settings == NULL || json_object_set_new(root, "settings", settings) != 0) {
			json_decref(found);
			return teeliza_set_error(TEELIZA_ERR_NOMEM, "out of memory merging env secrets");
		}
	}
	/* {...fromEnv, ...settings.secrets}: file values win, env keys come first */
	secrets = found;
	file_secrets = json_object_get(settings, "secrets");
	if (json_is_object(file_secrets) && json_object_update(secrets, file_secrets) != 0) {
		json_decref(secrets);
		return teeliza_set_error(TEELIZA_ERR_NOMEM, "out of memory merging env secrets");
	}
	if (json_object_set_new(settings, "secrets", secrets) != 0) /* steals secrets */
		return teeliza_set_error(TEELIZA_ERR_NOMEM, "out of memory merging env secrets");
	return TEELIZA_OK;
}

const char *agent_character_id(const agent_character *c)
{
	assert(c != NULL);
	return c->id;
}

const char *agent_character_name(const agent_character *c)
{
	assert(c != NULL);
	return str_or_null(json_object_get(c->root, "name"));
}

const char *agent_character_username(const agent_character *c)
{
	const char *u;

	assert(c != NULL);
	u = str_or_null(json_object_get(c->root, "username"));
	return u != NULL ? u : agent_character_name(c);
}

const char *agent_character_system(const agent_character *c)
{
	assert(c != NULL);
	return str_or_null(json_object_get(c->root, "system"));
}

const char *agent_character_model_provider(const agent_character *c)
{
	assert(c != NULL);
	return str_or_null(json_object_get(c->root, "modelProvider"));
}

const char *agent_character_string(const agent_character *c, const char *field)
{
	assert(c != NULL && field != NULL);
	return str_or_null(json_object_get(c->root, field));
}

const char *agent_character_template(const agent_character *c, const char *name)
{
	assert(c != NULL && name != NULL);
	return str_or_null(json_object_get(json_object_get(c->root, "templates"), name));
}

static const json_t *list_field(const agent_character *c, agent_character_list which)
{
	const json_t *style;

	assert(c != NULL);
	style = json_object_get(c->root, "style");
	switch (which) {
	case AGENT_CHAR_BIO: return json_object_get(c->root, "bio");
	case AGENT_CHAR_LORE: return json_object_get(c->root, "lore");
	case AGENT_CHAR_POST_EXAMPLES: return json_object_get(c->root, "postExamples");
	case AGENT_CHAR_TOPICS: return json_object_get(c->root, "topics");
	case AGENT_CHAR_ADJECTIVES: return json_object_get(c->root, "adjectives");
	case AGENT_CHAR_STYLE_ALL: return json_object_get(style, "all");
	case AGENT_CHAR_STYLE_CHAT: return json_object_get(style, "chat");
	case AGENT_CHAR_STYLE_POST: return json_object_get(style, "post");
	case AGENT_CHAR_CLIENTS: return json_object_get(c->root, "clients");
	case AGENT_CHAR_PLUGINS: return json_object_get(c->root, "plugins");
	case AGENT_CHAR_KNOWLEDGE: return json_object_get(c->root, "knowledge");
	}
	assert(!"unknown agent_character_list");
	return NULL;
}

size_t agent_character_list_count(const agent_character *c, agent_character_list which)
{
	const json_t *v = list_field(c, which);

	if (json_is_array(v))
		return json_array_size(v);
	return json_is_string(v) ? 1 : 0;
}

const char *agent_character_list_item(const agent_character *c, agent_character_list which, size_t i)
{
	const json_t *v = list_field(c, which);

	if (json_is_string(v))
		return i == 0 ? json_string_value(v) : NULL;
	return str_or_null(json_array_get(v, i));
}

bool agent_character_bio_is_string(const agent_character *c)
{
	return json_is_string(list_field(c, AGENT_CHAR_BIO));
}

size_t agent_character_example_count(const agent_character *c)
{
	assert(c != NULL);
	return json_array_size(json_object_get(c->root, "messageExamples"));
}

size_t agent_character_example_length(const agent_character *c, size_t conv)
{
	assert(c != NULL);
	return json_array_size(json_array_get(json_object_get(c->root, "messageExamples"), conv));
}

bool agent_character_example(agent_message_example *out, const agent_character *c, size_t conv, size_t i)
{
	const json_t *msg, *content;

	assert(out != NULL && c != NULL);
	memset(out, 0, sizeof(*out));
	msg = json_array_get(json_array_get(json_object_get(c->root, "messageExamples"), conv), i);
	if (!json_is_object(msg))
		return false;
	content = json_object_get(msg, "content");
	out->user = str_or_null(json_object_get(msg, "user"));
	out->text = str_or_null(json_object_get(content, "text"));
	out->action = str_or_null(json_object_get(content, "action"));
	out->content = content;
	return true;
}

const json_t *agent_character_settings(const agent_character *c)
{
	const json_t *s;

	assert(c != NULL);
	s = json_object_get(c->root, "settings");
	return json_is_object(s) ? s : NULL;
}

static const char *nonempty(const char *s)
{
	return s != NULL && s[0] != '\0' ? s : NULL;
}

const char *agent_character_secret(const agent_character *c, const char *key)
{
	assert(c != NULL && key != NULL);
	if (c->v1 != NULL)
		return agent_character_v1_secret(c, key);
	return nonempty(str_or_null(json_object_get(json_object_get(agent_character_settings(c), "secrets"), key)));
}

const char *agent_character_get_setting(const agent_character *c, const char *key)
{
	const char *v;

	assert(c != NULL && key != NULL);
	if (c->v1 != NULL)
		return agent_character_v1_get_setting(c, key);
	v = agent_character_secret(c, key);
	if (v == NULL)
		v = nonempty(str_or_null(json_object_get(agent_character_settings(c), key)));
	if (v == NULL)
		v = nonempty(getenv(key));
	return v;
}

const json_t *agent_character_json(const agent_character *c)
{
	assert(c != NULL);
	return c->root;
}

json_t *agent_character_to_json(const agent_character *c, bool with_secrets)
{
	json_t *copy;
	json_t *settings;

	assert(c != NULL);
	copy = json_deep_copy(c->root);
	if (copy == NULL || with_secrets)
		return copy;
	settings = json_object_get(copy, "settings");
	if (json_is_object(settings))
		json_object_del(settings, "secrets");
	return copy;
}
