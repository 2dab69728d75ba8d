/*
 * Eliza's CharacterSchema (zod, @elizaos/core 0.1.9, which accepts every
 * 0.1.7 character) checked by hand, producing the issue lines zod would:
 * same paths (`messageExamples.0.1.content.text`), same messages
 * ("Required", "Expected string, received number", "Invalid input",
 * "Invalid uuid", "Invalid enum value. Expected 'a' | 'b', received 'x'"),
 * same order (schema key order, array index order, JS property order for
 * records), including zod's duplicate line for a bad message `content`
 * (an object intersected with a record reports both sides).
 */
#include "teeliza/agent/character.h"
#include "agent/character/character_internal.h"

#include <assert.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* One step of the path to a value; the root has no step (NULL). */
struct vpath {
	const struct vpath *up;
	const char *key;   /* NULL for an array index */
	size_t index;
};

struct vctx {
	teeliza_buf *out;
	size_t count;
	bool emit;         /* false while trying the options of a union */
	bool nomem;
};

typedef bool (*vcheck)(struct vctx *ctx, const struct vpath *p, const json_t *v);

static const char *const model_providers[] = {
	"openai", "eternalai", "anthropic", "grok", "groq", "llama_cloud", "together",
	"llama_local", "lmstudio", "google", "mistral", "claude_vertex", "redpill",
	"openrouter", "ollama", "heurist", "galadriel", "falai", "gaianet", "ali_bailian",
	"volengine", "nanogpt", "hyperbolic", "venice", "nvidia", "nineteen_ai",
	"akash_chat_api", "livepeer", "letzai", "deepseek", "infera", "bedrock", "atoma",
};

static const char *const client_names[] = {
	"alexa", "discord", "direct", "twitter", "telegram", "telegram-account", "farcaster",
	"lens", "auto", "slack", "github", "instagram", "simsai", "xmtp", "deva",
};

#define COUNT(a) (sizeof(a) / sizeof((a)[0]))

/* zod's name for the type of a parsed JSON value. */
static const char *json_kind(const json_t *v)
{
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

void agent_js_number(char out[AGENT_JS_NUMBER_BUFSZ], double x)
{
	char sci[40], digits[20];
	size_t k = 0, o = 0;
	int e = 0, n, prec;
	const char *m;

	if (isnan(x)) {
		snprintf(out, AGENT_JS_NUMBER_BUFSZ, "NaN");
		return;
	}
	if (isinf(x)) {
		snprintf(out, AGENT_JS_NUMBER_BUFSZ, "%s", x < 0 ? "-Infinity" : "Infinity");
		return;
	}
	if (x == 0) {
		snprintf(out, AGENT_JS_NUMBER_BUFSZ, "0"); /* JS prints -0 as 0 too */
		return;
	}
	if (x < 0) {
		out[o++] = '-';
		x = -x;
	}
	/* Shortest digit string that reads back as x, as JS's Number#toString. */
	for (prec = 1; prec <= 17; prec++) {
		snprintf(sci, sizeof(sci), "%.*e", prec - 1, x);
		if (strtod(sci, NULL) == x)
			break;
	}
	for (m = sci; *m != 'e' && *m != '\0'; m++) {
		if (*m >= '0' && *m <= '9' && k < sizeof(digits) - 1)
			digits[k++] = *m;
	}
	while (k > 1 && digits[k - 1] == '0')
		k--;
	digits[k] = '\0';
	if (*m == 'e')
		e = (int)strtol(m + 1, NULL, 10);
	n = e + 1; /* x = 0.digits * 10^n */
	if ((int)k <= n && n <= 21) {
		memcpy(out + o, digits, k);
		o += k;
		for (int i = 0; i < n - (int)k; i++)
			out[o++] = '0';
	} else if (0 < n && n <= 21) {
		memcpy(out + o, digits, (size_t)n);
		o += (size_t)n;
		out[o++] = '.';
		memcpy(out + o, digits + n, k - (size_t)n);
		o += k - (size_t)n;
	} else if (-6 < n && n <= 0) {
		out[o++] = '0';
		out[o++] = '.';
		for (int i = 0; i < -n; i++)
			out[o++] = '0';
		memcpy(out + o, digits, k);
		o += k;
	} else {
		out[o++] = digits[0];
		if (k > 1) {
			out[o++] = '.';
			memcpy(out + o, digits + 1, k - 1);
			o += k - 1;
		}
		o += (size_t)snprintf(out + o, AGENT_JS_NUMBER_BUFSZ - o, "e%c%d", n - 1 >= 0 ? '+' : '-',
		                      abs(n - 1));
	}
	out[o] = '\0';
}

static void put(struct vctx *ctx, const char *s)
{
	if (!ctx->nomem && teeliza_buf_append_str(ctx->out, s) != TEELIZA_OK)
		ctx->nomem = true;
}

static void put_path(struct vctx *ctx, const struct vpath *p)
{
	char num[24];

	if (p == NULL)
		return;
	if (p->up != NULL) {
		put_path(ctx, p->up);
		put(ctx, ".");
	}
	if (p->key != NULL) {
		put(ctx, p->key);
	} else {
		snprintf(num, sizeof(num), "%zu", p->index);
		put(ctx, num);
	}
}

/* Start an issue line: "<path>: ". Returns false when not emitting. */
static bool begin_issue(struct vctx *ctx, const struct vpath *p)
{
	if (!ctx->emit)
		return false;
	if (ctx->count++ > 0)
		put(ctx, "\n");
	put_path(ctx, p);
	put(ctx, ": ");
	return true;
}

static void issue(struct vctx *ctx, const struct vpath *p, const char *msg)
{
	if (begin_issue(ctx, p))
		put(ctx, msg);
}

/* zod's invalid_type: "Required" for a missing value. */
static void issue_type(struct vctx *ctx, const struct vpath *p, const char *expected, const json_t *v)
{
	if (!begin_issue(ctx, p))
		return;
	if (v == NULL) {
		put(ctx, "Required");
		return;
	}
	put(ctx, "Expected ");
	put(ctx, expected);
	put(ctx, ", received ");
	put(ctx, json_kind(v));
}

static void put_enum_values(struct vctx *ctx, const char *const *values, size_t n)
{
	for (size_t i = 0; i < n; i++) {
		put(ctx, i > 0 ? " | '" : "'");
		put(ctx, values[i]);
		put(ctx, "'");
	}
}

static bool v_string(struct vctx *ctx, const struct vpath *p, const json_t *v)
{
	if (json_is_string(v))
		return true;
	issue_type(ctx, p, "string", v);
	return false;
}

static bool v_bool(struct vctx *ctx, const struct vpath *p, const json_t *v)
{
	if (json_is_boolean(v))
		return true;
	issue_type(ctx, p, "boolean", v);
	return false;
}

static bool v_uuid(struct vctx *ctx, const struct vpath *p, const json_t *v)
{
	if (!v_string(ctx, p, v))
		return false;
	if (agent_uuid_is_valid(json_string_value(v)))
		return true;
	issue(ctx, p, "Invalid uuid");
	return false;
}

static bool v_enum(struct vctx *ctx, const struct vpath *p, const json_t *v,
                   const char *const *values, size_t n)
{
	char num[AGENT_JS_NUMBER_BUFSZ];

	if (json_is_string(v)) {
		for (size_t i = 0; i < n; i++) {
			if (strcmp(json_string_value(v), values[i]) == 0)
				return true;
		}
	}
	if (!begin_issue(ctx, p))
		return false;
	if (v == NULL) {
		put(ctx, "Required");
	} else if (json_is_string(v) || json_is_number(v)) {
		/* a native enum takes strings and numbers, then checks the value */
		put(ctx, "Invalid enum value. Expected ");
		put_enum_values(ctx, values, n);
		put(ctx, ", received '");
		if (json_is_string(v)) {
			put(ctx, json_string_value(v));
		} else {
			agent_js_number(num, json_number_value(v));
			put(ctx, num);
		}
		put(ctx, "'");
	} else {
		put(ctx, "Expected ");
		put_enum_values(ctx, values, n);
		put(ctx, ", received ");
		put(ctx, json_kind(v));
	}
	return false;
}

static bool v_model_provider(struct vctx *ctx, const struct vpath *p, const json_t *v)
{
	return v_enum(ctx, p, v, model_providers, COUNT(model_providers));
}

static bool v_client(struct vctx *ctx, const struct vpath *p, const json_t *v)
{
	return v_enum(ctx, p, v, client_names, COUNT(client_names));
}

static bool v_any(struct vctx *ctx, const struct vpath *p, const json_t *v)
{
	(void)ctx;
	(void)p;
	(void)v;
	return true;
}

static bool v_array_of(struct vctx *ctx, const struct vpath *p, const json_t *v, vcheck elem)
{
	bool ok = true;
	size_t i;
	const json_t *item;

	if (!json_is_array(v)) {
		issue_type(ctx, p, "array", v);
		return false;
	}
	json_array_foreach(v, i, item) {
		struct vpath ip = { p, NULL, i };

		if (!elem(ctx, &ip, item))
			ok = false;
	}
	return ok;
}

static bool v_string_array(struct vctx *ctx, const struct vpath *p, const json_t *v)
{
	return v_array_of(ctx, p, v, v_string);
}

static bool v_any_array(struct vctx *ctx, const struct vpath *p, const json_t *v)
{
	return v_array_of(ctx, p, v, v_any);
}

/* Check an optional field: absent is fine, anything else goes to check. */
static bool v_opt(struct vctx *ctx, const struct vpath *p, const json_t *obj, const char *key, vcheck check)
{
	struct vpath fp = { p, key, 0 };
	const json_t *v = json_object_get(obj, key);

	return v == NULL || check(ctx, &fp, v);
}

/* Check a required field. */
static bool v_req(struct vctx *ctx, const struct vpath *p, const json_t *obj, const char *key, vcheck check)
{
	struct vpath fp = { p, key, 0 };

	return check(ctx, &fp, json_object_get(obj, key));
}

/* A union reports one "Invalid input" when no option accepts the value. */
static bool v_union(struct vctx *ctx, const struct vpath *p, const json_t *v, const vcheck *options, size_t n)
{
	bool emit = ctx->emit;

	ctx->emit = false;
	for (size_t i = 0; i < n; i++) {
		if (options[i](ctx, p, v)) {
			ctx->emit = emit;
			return true;
		}
	}
	ctx->emit = emit;
	issue(ctx, p, "Invalid input");
	return false;
}

/* z.record(z.string()): an object whose values are all strings. */
static bool v_string_record(struct vctx *ctx, const struct vpath *p, const json_t *v)
{
	const char **keys;
	size_t n = 0;
	bool ok = true;

	if (!json_is_object(v)) {
		issue_type(ctx, p, "object", v);
		return false;
	}
	if (json_object_size(v) == 0)
		return true;
	keys = character_js_keys(v, &n);
	if (keys == NULL) {
		ctx->nomem = true;
		return false;
	}
	for (size_t i = 0; i < n; i++) {
		struct vpath kp = { p, keys[i], 0 };

		if (!v_string(ctx, &kp, json_object_get(v, keys[i])))
			ok = false;
	}
	free(keys);
	return ok;
}

static bool v_object(struct vctx *ctx, const struct vpath *p, const json_t *v)
{
	if (json_is_object(v))
		return true;
	issue_type(ctx, p, "object", v);
	return false;
}

static bool v_example_content_fields(struct vctx *ctx, const struct vpath *p, const json_t *v)
{
	bool ok = true;

	ok &= v_req(ctx, p, v, "text", v_string);
	ok &= v_opt(ctx, p, v, "action", v_string);
	ok &= v_opt(ctx, p, v, "source", v_string);
	ok &= v_opt(ctx, p, v, "url", v_string);
	ok &= v_opt(ctx, p, v, "inReplyTo", v_uuid);
	ok &= v_opt(ctx, p, v, "attachments", v_any_array);
	return ok;
}

/* z.object({text, ...}).and(z.record(z.string(), z.unknown())): both sides report. */
static bool v_example_content(struct vctx *ctx, const struct vpath *p, const json_t *v)
{
	if (!json_is_object(v)) {
		issue_type(ctx, p, "object", v);
		issue_type(ctx, p, "object", v);
		return false;
	}
	return v_example_content_fields(ctx, p, v);
}

static bool v_message_example(struct vctx *ctx, const struct vpath *p, const json_t *v)
{
	bool ok;

	if (!v_object(ctx, p, v))
		return false;
	ok = v_req(ctx, p, v, "user", v_string);
	ok &= v_req(ctx, p, v, "content", v_example_content);
	return ok;
}

static bool v_conversation(struct vctx *ctx, const struct vpath *p, const json_t *v)
{
	return v_array_of(ctx, p, v, v_message_example);
}

static bool v_knowledge_path(struct vctx *ctx, const struct vpath *p, const json_t *v)
{
	if (!v_object(ctx, p, v))
		return false;
	if (!v_req(ctx, p, v, "path", v_string)) {
		v_opt(ctx, p, v, "shared", v_bool);
		return false;
	}
	return v_opt(ctx, p, v, "shared", v_bool);
}

static bool v_knowledge_dir(struct vctx *ctx, const struct vpath *p, const json_t *v)
{
	if (!v_object(ctx, p, v))
		return false;
	if (!v_req(ctx, p, v, "directory", v_string)) {
		v_opt(ctx, p, v, "shared", v_bool);
		return false;
	}
	return v_opt(ctx, p, v, "shared", v_bool);
}

static bool v_knowledge_item(struct vctx *ctx, const struct vpath *p, const json_t *v)
{
	static const vcheck options[] = { v_string, v_knowledge_path, v_knowledge_dir };

	return v_union(ctx, p, v, options, COUNT(options));
}

static bool v_knowledge(struct vctx *ctx, const struct vpath *p, const json_t *v)
{
	return v_array_of(ctx, p, v, v_knowledge_item);
}

static bool v_bio(struct vctx *ctx, const struct vpath *p, const json_t *v)
{
	static const vcheck options[] = { v_string, v_string_array };

	return v_union(ctx, p, v, options, COUNT(options));
}

static bool v_plugin(struct vctx *ctx, const struct vpath *p, const json_t *v)
{
	bool ok;

	if (!v_object(ctx, p, v))
		return false;
	ok = v_req(ctx, p, v, "name", v_string);
	ok &= v_req(ctx, p, v, "description", v_string);
	ok &= v_opt(ctx, p, v, "actions", v_any_array);
	ok &= v_opt(ctx, p, v, "providers", v_any_array);
	ok &= v_opt(ctx, p, v, "evaluators", v_any_array);
	ok &= v_opt(ctx, p, v, "services", v_any_array);
	ok &= v_opt(ctx, p, v, "clients", v_any_array);
	return ok;
}

static bool v_plugin_array(struct vctx *ctx, const struct vpath *p, const json_t *v)
{
	return v_array_of(ctx, p, v, v_plugin);
}

static bool v_plugins(struct vctx *ctx, const struct vpath *p, const json_t *v)
{
	static const vcheck options[] = { v_string_array, v_plugin_array };

	return v_union(ctx, p, v, options, COUNT(options));
}

static bool v_voice(struct vctx *ctx, const struct vpath *p, const json_t *v)
{
	bool ok;

	if (!v_object(ctx, p, v))
		return false;
	ok = v_opt(ctx, p, v, "model", v_string);
	ok &= v_opt(ctx, p, v, "url", v_string);
	return ok;
}

static bool v_settings(struct vctx *ctx, const struct vpath *p, const json_t *v)
{
	bool ok;

	if (!v_object(ctx, p, v))
		return false;
	ok = v_opt(ctx, p, v, "secrets", v_string_record);
	ok &= v_opt(ctx, p, v, "voice", v_voice);
	ok &= v_opt(ctx, p, v, "model", v_string);
	ok &= v_opt(ctx, p, v, "embeddingModel", v_string);
	return ok;
}

static bool v_client_switches(struct vctx *ctx, const struct vpath *p, const json_t *v)
{
	bool ok;

	if (!v_object(ctx, p, v))
		return false;
	ok = v_opt(ctx, p, v, "shouldIgnoreBotMessages", v_bool);
	ok &= v_opt(ctx, p, v, "shouldIgnoreDirectMessages", v_bool);
	return ok;
}

static bool v_client_config(struct vctx *ctx, const struct vpath *p, const json_t *v)
{
	bool ok;

	if (!v_object(ctx, p, v))
		return false;
	ok = v_opt(ctx, p, v, "discord", v_client_switches);
	ok &= v_opt(ctx, p, v, "telegram", v_client_switches);
	return ok;
}

static bool v_style(struct vctx *ctx, const struct vpath *p, const json_t *v)
{
	bool ok;

	if (!v_object(ctx, p, v))
		return false;
	ok = v_req(ctx, p, v, "all", v_string_array);
	ok &= v_req(ctx, p, v, "chat", v_string_array);
	ok &= v_req(ctx, p, v, "post", v_string_array);
	return ok;
}

static bool v_twitter_profile(struct vctx *ctx, const struct vpath *p, const json_t *v)
{
	bool ok;

	if (!v_object(ctx, p, v))
		return false;
	ok = v_req(ctx, p, v, "username", v_string);
	ok &= v_req(ctx, p, v, "screenName", v_string);
	ok &= v_req(ctx, p, v, "bio", v_string);
	ok &= v_opt(ctx, p, v, "nicknames", v_string_array);
	return ok;
}

static bool v_nft(struct vctx *ctx, const struct vpath *p, const json_t *v)
{
	if (!v_object(ctx, p, v))
		return false;
	return v_opt(ctx, p, v, "prompt", v_string);
}

static bool v_conversation_list(struct vctx *ctx, const struct vpath *p, const json_t *v)
{
	return v_array_of(ctx, p, v, v_conversation);
}

static bool v_client_list(struct vctx *ctx, const struct vpath *p, const json_t *v)
{
	return v_array_of(ctx, p, v, v_client);
}

static bool v_character(struct vctx *ctx, const json_t *c)
{
	bool ok = true;

	if (!v_object(ctx, NULL, c))
		return false;
	/* CharacterSchema's key order, which is the order zod reports in */
	ok &= v_opt(ctx, NULL, c, "id", v_uuid);
	ok &= v_req(ctx, NULL, c, "name", v_string);
	ok &= v_opt(ctx, NULL, c, "system", v_string);
	ok &= v_req(ctx, NULL, c, "modelProvider", v_model_provider);
	ok &= v_opt(ctx, NULL, c, "modelEndpointOverride", v_string);
	ok &= v_opt(ctx, NULL, c, "templates", v_string_record);
	ok &= v_req(ctx, NULL, c, "bio", v_bio);
	ok &= v_req(ctx, NULL, c, "lore", v_string_array);
	ok &= v_req(ctx, NULL, c, "messageExamples", v_conversation_list);
	ok &= v_req(ctx, NULL, c, "postExamples", v_string_array);
	ok &= v_req(ctx, NULL, c, "topics", v_string_array);
	ok &= v_req(ctx, NULL, c, "adjectives", v_string_array);
	ok &= v_opt(ctx, NULL, c, "knowledge", v_knowledge);
	ok &= v_req(ctx, NULL, c, "clients", v_client_list);
	ok &= v_req(ctx, NULL, c, "plugins", v_plugins);
	ok &= v_opt(ctx, NULL, c, "settings", v_settings);
	ok &= v_opt(ctx, NULL, c, "clientConfig", v_client_config);
	ok &= v_req(ctx, NULL, c, "style", v_style);
	ok &= v_opt(ctx, NULL, c, "twitterProfile", v_twitter_profile);
	ok &= v_opt(ctx, NULL, c, "nft", v_nft);
	ok &= v_opt(ctx, NULL, c, "extends", v_string_array);
	return ok;
}

teeliza_err agent_character_validate(teeliza_buf *issues, const json_t *root)
{
	teeliza_buf local;
	struct vctx ctx = { 0 };
	teeliza_err err = TEELIZA_OK;

	assert(root != NULL);
	ctx.out = issues != NULL ? issues : &local;
	ctx.emit = true;
	teeliza_buf_init(ctx.out, (size_t)16 << 20);
	v_character(&ctx, root);
	if (ctx.nomem) {
		err = teeliza_set_error(TEELIZA_ERR_NOMEM, "out of memory while validating a character");
	} else if (ctx.count > 0) {
		err = teeliza_set_error(TEELIZA_ERR_INVALID, "%s%s", AGENT_CHARACTER_INVALID_PREFIX,
		                        (const char *)ctx.out->data);
	} else if (ctx.out->data == NULL && teeliza_buf_append(ctx.out, "", 0) != TEELIZA_OK) {
		err = teeliza_set_error(TEELIZA_ERR_NOMEM, "out of memory while validating a character");
	}
	if (issues == NULL)
		teeliza_buf_free(&local);
	return err;
}
