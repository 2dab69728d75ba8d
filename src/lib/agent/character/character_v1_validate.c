/*
 * elizaOS 1.x character validation: the `characterSchema` of @elizaos/core
 * 1.7.2 (zod 4), checked the way zod checks it, so that every problem comes
 * out as zod's `path: message` line, in zod's order:
 *  - object fields in the schema's order, then (top level only, the schema
 *    being strict) one "Unrecognized key(s)" issue at the root;
 *  - record entries and unknown keys in JavaScript property order: keys
 *    that are array indices first, ascending, then the rest as written
 *    (jansson keeps the written order; js_key_order re-sorts);
 *  - a union that fails is one "Invalid input" issue at its own path (no
 *    union in this schema has a branch that fails only on a refinement,
 *    the one case where zod 4 reports the branch's issues instead).
 * Also builds zod's output for a valid character: the "strip" objects
 * (message examples, knowledge objects, style) lose their unknown keys.
 */
#include "agent/character/character_v1_internal.h"

#include <assert.h>
#include <stdlib.h>
#include <string.h>

struct vctx {
	teeliza_buf *lines;
	teeliza_buf path;
	size_t n_issues;
	teeliza_err err; /* NOMEM while building the report */
};

static const char *received(const json_t *v)
{
	if (v == NULL)
		return "undefined";
	switch (json_typeof(v)) {
	case JSON_OBJECT: return "object";
	case JSON_ARRAY: return "array";
	case JSON_STRING: return "string";
	case JSON_INTEGER:
	case JSON_REAL: return "number";
	case JSON_TRUE:
	case JSON_FALSE: return "boolean";
	case JSON_NULL: return "null";
	}
	return "unknown";
}

static void issue(struct vctx *x, const char *msg_a, const char *msg_b, const char *msg_c)
{
	teeliza_buf *b = x->lines;

	x->n_issues++;
	if (x->err != TEELIZA_OK)
		return;
	if ((b->len > 0 && teeliza_buf_append(b, "\n", 1) != TEELIZA_OK) ||
	    (x->path.len > 0 && teeliza_buf_append(b, x->path.data, x->path.len) != TEELIZA_OK) ||
	    teeliza_buf_append_str(b, ": ") != TEELIZA_OK || teeliza_buf_append_str(b, msg_a) != TEELIZA_OK ||
	    (msg_b != NULL && teeliza_buf_append_str(b, msg_b) != TEELIZA_OK) ||
	    (msg_c != NULL && teeliza_buf_append_str(b, msg_c) != TEELIZA_OK))
		x->err = TEELIZA_ERR_NOMEM;
}

static void type_issue(struct vctx *x, const char *expected, const json_t *v)
{
	char msg[96];

	snprintf(msg, sizeof(msg), "Invalid input: expected %s, received %s", expected, received(v));
	issue(x, msg, NULL, NULL);
}

/* Path segments: push returns the old length to pop back to. */
static size_t push_key(struct vctx *x, const char *key)
{
	size_t old = x->path.len;

	if (x->err == TEELIZA_OK &&
	    ((old > 0 && teeliza_buf_append(&x->path, ".", 1) != TEELIZA_OK) ||
	     teeliza_buf_append_str(&x->path, key) != TEELIZA_OK))
		x->err = TEELIZA_ERR_NOMEM;
	return old;
}

static size_t push_index(struct vctx *x, size_t i)
{
	char num[24];

	snprintf(num, sizeof(num), "%zu", i);
	return push_key(x, num);
}

static void pop(struct vctx *x, size_t old)
{
	if (old <= x->path.len) {
		x->path.len = old;
		if (x->path.data != NULL)
			x->path.data[old] = '\0';
	}
}

/* Field `key` of obj checked by fn at path .key; absent optional fields pass. */
typedef void (*check_fn)(struct vctx *x, const json_t *v);

static void field(struct vctx *x, const json_t *obj, const char *key, bool required, check_fn fn)
{
	const json_t *v = json_object_get(obj, key);
	size_t old;

	if (v == NULL && !required)
		return;
	old = push_key(x, key);
	fn(x, v);
	pop(x, old);
}

static void check_string(struct vctx *x, const json_t *v)
{
	if (!json_is_string(v))
		type_issue(x, "string", v);
}

static void check_uuid(struct vctx *x, const json_t *v)
{
	if (!json_is_string(v))
		type_issue(x, "string", v);
	else if (!agent_uuid_is_valid(json_string_value(v)))
		issue(x, "Invalid UUID format", NULL, NULL);
}

static void check_string_array(struct vctx *x, const json_t *v)
{
	size_t i;
	const json_t *item;

	if (!json_is_array(v)) {
		type_issue(x, "array", v);
		return;
	}
	json_array_foreach(v, i, item) {
		if (!json_is_string(item)) {
			size_t old = push_index(x, i);

			type_issue(x, "string", item);
			pop(x, old);
		}
	}
}

static void check_enum(struct vctx *x, const json_t *v, const char *const *values, const char *message)
{
	if (json_is_string(v)) {
		for (size_t i = 0; values[i] != NULL; i++) {
			if (strcmp(values[i], json_string_value(v)) == 0)
				return;
		}
	}
	issue(x, "Invalid option: expected one of ", message, NULL);
}

static const char *const channel_types[] = { "SELF", "DM", "GROUP", "VOICE_DM", "VOICE_GROUP", "FEED",
	                                     "THREAD", "WORLD", "FORUM", "API", NULL };
static const char *const content_types[] = { "image", "video", "audio", "document", "link", NULL };

static void check_channel_type(struct vctx *x, const json_t *v)
{
	check_enum(x, v, channel_types,
	           "\"SELF\"|\"DM\"|\"GROUP\"|\"VOICE_DM\"|\"VOICE_GROUP\"|\"FEED\"|\"THREAD\"|\"WORLD\"|\"FORUM\"|\"API\"");
}

static void check_content_type(struct vctx *x, const json_t *v)
{
	check_enum(x, v, content_types, "\"image\"|\"video\"|\"audio\"|\"document\"|\"link\"");
}

static void check_media(struct vctx *x, const json_t *v)
{
	if (!json_is_object(v)) {
		type_issue(x, "object", v);
		return;
	}
	field(x, v, "id", true, check_string);
	field(x, v, "url", true, check_string);
	field(x, v, "title", false, check_string);
	field(x, v, "source", false, check_string);
	field(x, v, "description", false, check_string);
	field(x, v, "text", false, check_string);
	field(x, v, "contentType", false, check_content_type);
}

static void check_media_array(struct vctx *x, const json_t *v)
{
	size_t i;
	const json_t *item;

	if (!json_is_array(v)) {
		type_issue(x, "array", v);
		return;
	}
	json_array_foreach(v, i, item) {
		size_t old = push_index(x, i);

		check_media(x, item);
		pop(x, old);
	}
}

static void check_content(struct vctx *x, const json_t *v)
{
	if (!json_is_object(v)) {
		type_issue(x, "object", v);
		return;
	}
	field(x, v, "text", false, check_string);
	field(x, v, "thought", false, check_string);
	field(x, v, "actions", false, check_string_array);
	field(x, v, "providers", false, check_string_array);
	field(x, v, "source", false, check_string);
	field(x, v, "target", false, check_string);
	field(x, v, "url", false, check_string);
	field(x, v, "inReplyTo", false, check_uuid);
	field(x, v, "attachments", false, check_media_array);
	field(x, v, "channelType", false, check_channel_type);
}

static void check_example(struct vctx *x, const json_t *v)
{
	if (!json_is_object(v)) {
		type_issue(x, "object", v);
		return;
	}
	field(x, v, "name", true, check_string);
	field(x, v, "content", true, check_content);
}

static void check_examples(struct vctx *x, const json_t *v)
{
	size_t i, j;
	const json_t *conv, *msg;

	if (!json_is_array(v)) {
		type_issue(x, "array", v);
		return;
	}
	json_array_foreach(v, i, conv) {
		size_t old = push_index(x, i);

		if (!json_is_array(conv)) {
			type_issue(x, "array", conv);
		} else {
			json_array_foreach(conv, j, msg) {
				size_t old2 = push_index(x, j);

				check_example(x, msg);
				pop(x, old2);
			}
		}
		pop(x, old);
	}
}

static void check_name(struct vctx *x, const json_t *v)
{
	if (!json_is_string(v))
		type_issue(x, "string", v);
	else if (json_string_length(v) == 0)
		issue(x, "Character name is required", NULL, NULL);
}

static void check_bio(struct vctx *x, const json_t *v)
{
	size_t i;
	const json_t *item;

	if (json_is_string(v))
		return;
	if (json_is_array(v)) {
		json_array_foreach(v, i, item) {
			if (!json_is_string(item))
				break;
		}
		if (i == json_array_size(v))
			return;
	}
	issue(x, "Invalid input", NULL, NULL);
}

static bool optional_bool(const json_t *obj, const char *key)
{
	const json_t *v = json_object_get(obj, key);

	return v == NULL || json_is_boolean(v);
}

/* Which branch of knowledgeItemSchema v passes: 0 none, 1 string, 2 {path}, 3 {directory}. */
static int knowledge_branch(const json_t *v)
{
	if (json_is_string(v))
		return 1;
	if (!json_is_object(v))
		return 0;
	if (json_is_string(json_object_get(v, "path")) && optional_bool(v, "shared"))
		return 2;
	if (json_is_string(json_object_get(v, "directory")) && optional_bool(v, "shared"))
		return 3;
	return 0;
}

static void check_knowledge(struct vctx *x, const json_t *v)
{
	size_t i;
	const json_t *item;

	if (!json_is_array(v)) {
		type_issue(x, "array", v);
		return;
	}
	json_array_foreach(v, i, item) {
		if (knowledge_branch(item) == 0) {
			size_t old = push_index(x, i);

			issue(x, "Invalid input", NULL, NULL);
			pop(x, old);
		}
	}
}

/* A record: each value checked by ok(); a failing value is one "Invalid input" issue. */
static void check_record(struct vctx *x, const json_t *v, bool (*ok)(const json_t *))
{
	const char **keys;
	size_t n;

	if (!json_is_object(v)) {
		type_issue(x, "record", v);
		return;
	}
	keys = character_js_keys(v, &n);
	if (keys == NULL) {
		x->err = TEELIZA_ERR_NOMEM;
		return;
	}
	for (size_t i = 0; i < n; i++) {
		if (!ok(json_object_get(v, keys[i]))) {
			size_t old = push_key(x, keys[i]);

			issue(x, "Invalid input", NULL, NULL);
			pop(x, old);
		}
	}
	free(keys);
}

static bool template_ok(const json_t *v)
{
	return json_is_string(v);
}

/* JSON numbers jansson holds are finite, as z.number() wants. */
static bool setting_ok(const json_t *v)
{
	return v != NULL && !json_is_null(v);
}

static bool secret_ok(const json_t *v)
{
	return json_is_string(v) || json_is_boolean(v) || json_is_number(v);
}

static void check_templates(struct vctx *x, const json_t *v)
{
	check_record(x, v, template_ok);
}

static void check_settings(struct vctx *x, const json_t *v)
{
	check_record(x, v, setting_ok);
}

static void check_secrets(struct vctx *x, const json_t *v)
{
	check_record(x, v, secret_ok);
}

static void check_style(struct vctx *x, const json_t *v)
{
	if (!json_is_object(v)) {
		type_issue(x, "object", v);
		return;
	}
	field(x, v, "all", false, check_string_array);
	field(x, v, "chat", false, check_string_array);
	field(x, v, "post", false, check_string_array);
}

/* The schema's fields, in its order. */
static const struct {
	const char *key;
	bool required;
	check_fn fn;
} top_fields[] = {
	{ "id", false, check_uuid },
	{ "name", true, check_name },
	{ "username", false, check_string },
	{ "system", false, check_string },
	{ "templates", false, check_templates },
	{ "bio", true, check_bio },
	{ "messageExamples", false, check_examples },
	{ "postExamples", false, check_string_array },
	{ "topics", false, check_string_array },
	{ "adjectives", false, check_string_array },
	{ "knowledge", false, check_knowledge },
	{ "plugins", false, check_string_array },
	{ "settings", false, check_settings },
	{ "secrets", false, check_secrets },
	{ "style", false, check_style },
};

static bool known_top(const char *key)
{
	for (size_t i = 0; i < sizeof(top_fields) / sizeof(top_fields[0]); i++) {
		if (strcmp(top_fields[i].key, key) == 0)
			return true;
	}
	return false;
}

static void check_unknown_keys(struct vctx *x, const json_t *root)
{
	const char **keys;
	size_t n, unknown = 0;
	teeliza_buf msg;

	keys = character_js_keys(root, &n);
	if (keys == NULL) {
		x->err = TEELIZA_ERR_NOMEM;
		return;
	}
	teeliza_buf_init(&msg, (size_t)16 << 20);
	for (size_t i = 0; i < n; i++) {
		if (known_top(keys[i]))
			continue;
		if ((unknown > 0 && teeliza_buf_append_str(&msg, ", ") != TEELIZA_OK) ||
		    teeliza_buf_append_str(&msg, "\"") != TEELIZA_OK || teeliza_buf_append_str(&msg, keys[i]) != TEELIZA_OK ||
		    teeliza_buf_append_str(&msg, "\"") != TEELIZA_OK)
			x->err = TEELIZA_ERR_NOMEM;
		unknown++;
	}
	if (unknown > 0 && x->err == TEELIZA_OK)
		issue(x, unknown > 1 ? "Unrecognized keys: " : "Unrecognized key: ", (const char *)msg.data, NULL);
	teeliza_buf_free(&msg);
	free(keys);
}

teeliza_err agent_character_v1_validate(teeliza_buf *issues, const json_t *root)
{
	struct vctx x;
	teeliza_buf own;

	assert(root != NULL);
	if (issues == NULL)
		issues = &own;
	teeliza_buf_init(issues, (size_t)16 << 20);
	memset(&x, 0, sizeof(x));
	x.lines = issues;
	teeliza_buf_init(&x.path, (size_t)1 << 20);
	/* an empty report is "" rather than NULL */
	if (teeliza_buf_append(issues, "", 0) != TEELIZA_OK || teeliza_buf_append(&x.path, "", 0) != TEELIZA_OK)
		x.err = TEELIZA_ERR_NOMEM;
	if (!json_is_object(root)) {
		type_issue(&x, "object", root);
	} else {
		for (size_t i = 0; i < sizeof(top_fields) / sizeof(top_fields[0]); i++)
			field(&x, root, top_fields[i].key, top_fields[i].required, top_fields[i].fn);
		check_unknown_keys(&x, root);
	}
	teeliza_buf_free(&x.path);
	if (x.err != TEELIZA_OK) {
		if (issues == &own)
			teeliza_buf_free(&own);
		return teeliza_set_error(TEELIZA_ERR_NOMEM, "out of memory validating a character");
	}
	if (x.n_issues == 0) {
		if (issues == &own)
			teeliza_buf_free(&own);
		return TEELIZA_OK;
	}
	teeliza_set_error(TEELIZA_ERR_INVALID, "%s%s", AGENT_CHARACTER_V1_INVALID_PREFIX, (const char *)issues->data);
	if (issues == &own)
		teeliza_buf_free(&own);
	return TEELIZA_ERR_INVALID;
}

/* Keep only the listed keys of a "strip" object (in place). */
static teeliza_err strip_object(json_t *obj, const char *const *keep)
{
	const char *key;
	json_t *val;
	void *tmp;

	json_object_foreach_safe(obj, tmp, key, val) {
		bool kept = false;

		(void)val;
		for (size_t i = 0; keep[i] != NULL && !kept; i++)
			kept = strcmp(keep[i], key) == 0;
		if (!kept && json_object_del(obj, key) != 0)
			return TEELIZA_ERR_NOMEM;
	}
	return TEELIZA_OK;
}

teeliza_err agent_character_v1_strip(json_t *root)
{
	static const char *const example_keys[] = { "name", "content", NULL };
	static const char *const path_keys[] = { "path", "shared", NULL };
	static const char *const dir_keys[] = { "directory", "shared", NULL };
	static const char *const style_keys[] = { "all", "chat", "post", NULL };
	json_t *conv, *msg, *item, *style;
	size_t i, j;
	teeliza_err err = TEELIZA_OK;

	json_array_foreach(json_object_get(root, "messageExamples"), i, conv) {
		json_array_foreach(conv, j, msg) {
			if (err == TEELIZA_OK)
				err = strip_object(msg, example_keys);
		}
	}
	json_array_foreach(json_object_get(root, "knowledge"), i, item) {
		int branch = knowledge_branch(item);

		if (err == TEELIZA_OK && branch >= 2)
			err = strip_object(item, branch == 2 ? path_keys : dir_keys);
	}
	style = json_object_get(root, "style");
	if (err == TEELIZA_OK && json_is_object(style))
		err = strip_object(style, style_keys);
	if (err)
		return teeliza_set_error(err, "out of memory reading a character");
	return TEELIZA_OK;
}
