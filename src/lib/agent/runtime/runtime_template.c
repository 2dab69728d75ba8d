/*
 * The message template and Eliza's composeContext ({{key}} replacement).
 * The wording of the template is ours; its keys and their order follow the
 * direct client's messageHandlerTemplate, so a character's own
 * templates.messageHandlerTemplate gets the same keys.
 */
#include "agent/runtime/runtime_internal.h"

#include <assert.h>
#include <string.h>

static const char message_template[] =
	"{{actionExamples}}\n"
	"(The action examples only show the format. Do not take facts from them.)\n"
	"\n"
	"{{knowledge}}\n"
	"\n"
	"# Task: write the next message of the character {{agentName}} and choose its action.\n"
	"About {{agentName}}:\n"
	"{{bio}}\n"
	"{{lore}}\n"
	"\n"
	"{{providers}}\n"
	"\n"
	"{{attachments}}\n"
	"\n"
	"{{messageDirections}}\n"
	"\n"
	"{{recentMessages}}\n"
	"\n"
	"{{actions}}\n"
	"\n"
	"# Instructions: write the next message for {{agentName}}. Facts about wallets, keys and\n"
	"attestation may only come from the information above; never make up an address or a quote.\n"
	"\n"
	"Answer with a single JSON object in a ```json fenced block, and nothing else:\n"
	"```json\n"
	"{ \"user\": \"{{agentName}}\", \"text\": \"<the message>\", \"action\": \"<one of the available actions, "
	"or NONE>\" }\n"
	"```\n";

const char *agent_message_template(void)
{
	return message_template;
}

/* Keys are Eliza's \w+: ASCII letters, digits, underscore. */
static bool is_key_char(char c)
{
	return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '_';
}

static teeliza_err append_value(teeliza_buf *out, const json_t *v)
{
	if (json_is_string(v))
		return teeliza_buf_append(out, json_string_value(v), json_string_length(v));
	if (json_is_integer(v))
		return teeliza_buf_printf(out, "%lld", (long long)json_integer_value(v));
	if (json_is_real(v))
		return teeliza_buf_printf(out, "%.17g", json_real_value(v));
	if (json_is_true(v))
		return teeliza_buf_append_str(out, "true");
	if (json_is_false(v))
		return teeliza_buf_append_str(out, "false");
	return TEELIZA_OK; /* missing, null, objects: "" as Eliza's `state[key] ?? ""` mostly gives */
}

teeliza_err agent_template_fill(teeliza_buf *out, const char *template_text, const json_t *state)
{
	const char *p = template_text, *open, *k;
	char key[128];
	size_t klen;
	teeliza_err err = TEELIZA_OK;

	assert(out != NULL && template_text != NULL);
	teeliza_buf_reset(out);
	while (!err && (open = strstr(p, "{{")) != NULL) {
		k = open + 2;
		klen = 0;
		while (is_key_char(k[klen]))
			klen++;
		if (klen == 0 || k[klen] != '}' || k[klen + 1] != '}' || klen >= sizeof(key)) {
			/* Not a placeholder here: keep one '{' and look again from the next one ("{{{a}}}"). */
			err = teeliza_buf_append(out, p, (size_t)(open + 1 - p));
			p = open + 1;
			continue;
		}
		err = teeliza_buf_append(out, p, (size_t)(open - p));
		if (err)
			break;
		memcpy(key, k, klen);
		key[klen] = 0;
		err = append_value(out, state != NULL ? json_object_get(state, key) : NULL);
		p = k + klen + 2;
	}
	if (!err)
		err = teeliza_buf_append_str(out, p);
	if (err) {
		teeliza_buf_reset(out);
		return teeliza_set_error(err, "the filled template is larger than %zu bytes", out->max);
	}
	return TEELIZA_OK;
}
