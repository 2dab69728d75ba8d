/*
 * What teeliza makes of the plugin package names a v1 character lists.
 * elizaOS 1.x loads each package; teeliza has its own message loop, model
 * client and TEE plugin, so a package either picks teeliza's model
 * provider, or stands for something teeliza always does, or is ignored.
 * The settings names each model plugin reads (OPENAI_BASE_URL, ...) are
 * read in character_v1_setting.c. docs/CHARACTERS.md has the same table.
 */
#include "agent/character/character_v1_internal.h"

#include <string.h>

static const agent_v1_plugin plugins[] = {
	/* model providers teeliza speaks to (OpenAI-compatible APIs) */
	{ "@elizaos/plugin-openai", "openai", "model provider openai" },
	{ "@elizaos/plugin-redpill", "redpill", "model provider redpill" },
	{ "@elizaos/plugin-ollama", "ollama", "model provider ollama (its OpenAI-compatible /v1)" },
	{ "@elizaos/plugin-openrouter", "openai", "model provider openai at OpenRouter's OpenAI-compatible API" },
	/* model providers teeliza does not speak to: the offline responder, with a log line */
	{ "@elizaos/plugin-anthropic", "anthropic", "model provider anthropic (not supported: offline responder)" },
	{ "@elizaos/plugin-google-genai", "google", "model provider google (not supported: offline responder)" },
	{ "@elizaos/plugin-groq", "groq", "model provider groq (not supported: offline responder)" },
	{ "@elizaos/plugin-local-ai", NULL, "in-process GGUF models (not supported: offline responder unless "
	  "another model plugin is listed)" },
	{ "@elizaos/plugin-elizacloud", NULL, "elizaOS Cloud models (not supported)" },
	/* what teeliza always has */
	{ "@elizaos/plugin-tee", NULL, "teeliza's own TEE plugin runs, switched by TEE_MODE as for 0.1.x" },
	{ "@elizaos/plugin-bootstrap", NULL, "teeliza's own message loop" },
	{ "@elizaos/plugin-sql", NULL, "teeliza's own store" },
	/* not part of teeliza */
	{ "@elizaos/plugin-knowledge", NULL, "ignored (string `knowledge` entries are used directly)" },
	{ "@elizaos/plugin-discord", NULL, "ignored (no Discord client)" },
	{ "@elizaos/plugin-telegram", NULL, "ignored (no Telegram client)" },
	{ "@elizaos/plugin-twitter", NULL, "ignored (no Twitter client)" },
	{ "@elizaos/plugin-elevenlabs", NULL, "ignored (no voice)" },
	{ "@elizaos/plugin-mcp", NULL, "ignored (no MCP)" },
};

const agent_v1_plugin *agent_v1_plugin_find(const char *package, int *index)
{
	for (size_t i = 0; i < sizeof(plugins) / sizeof(plugins[0]); i++) {
		if (strcmp(plugins[i].package, package) == 0) {
			if (index != NULL)
				*index = (int)i;
			return &plugins[i];
		}
	}
	if (index != NULL)
		*index = -1;
	return NULL;
}

const agent_v1_plugin *agent_v1_plugin_at(int index)
{
	if (index < 0 || (size_t)index >= sizeof(plugins) / sizeof(plugins[0]))
		return NULL;
	return &plugins[index];
}
