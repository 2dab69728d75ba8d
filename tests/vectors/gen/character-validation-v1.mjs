// Regenerates tests/vectors/character-validation-v1.json: for each case, the
// exact verdict of elizaOS 1.x's character validation.
//
// The reference is the real thing, fetched from npm at generation time (not
// stored here): `characterSchema`, `validateCharacter` and the two enums the
// schema uses (ContentType, ChannelType) are cut out of @elizaos/core@1.7.2's
// dist/node/index.node.js and run with zod ZOD_VERSION (core 1.7.2 asks for
// zod ^4.3.5; 4.3.6 was the newest 4.x when core 1.7.2 was published; set the
// environment variable ZOD_VERSION to compare another).
//
// Every loader of 1.7.2 ends in validateCharacter(): the server's
// loadCharacter (parseAndValidateCharacter = JSON.parse + validateCharacter,
// used by `elizaos start --character`), jsonToCharacter (POST /api/agents),
// and core's parseCharacter / validateCharacterConfig. Each case records:
//   valid     validateCharacter(c).success
//   expected  the issues as `${path.join(".")}: ${message}` lines joined by
//             "\n" (jsonToCharacter and parseCharacter join the same lines
//             with "; ", validateCharacterConfig returns them as a list)
//   issues    zod's issue objects, key order kept; validateCharacter's
//             error.message is "Character validation failed: " followed by
//             JSON.stringify(issues, null, 2) (checked below for every case)
//   output    for a valid case whose returned data differs from the input
//             (keys that zod strips), the data validateCharacter returns
//
//   node tests/vectors/gen/character-validation-v1.mjs   (needs npm + network to the npm registry)
import { execSync } from "node:child_process";
import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import { isDeepStrictEqual } from "node:util";
import { fileURLToPath, pathToFileURL } from "node:url";

const ZOD_VERSION = process.env.ZOD_VERSION ?? "4.3.6";
const here = path.dirname(fileURLToPath(import.meta.url));
const outFile = path.resolve(here, "..", "character-validation-v1.json");
const work = fs.mkdtempSync(path.join(os.tmpdir(), "eliza-v1-zod-"));
const sh = (cmd) => execSync(cmd, { cwd: work, stdio: ["ignore", "pipe", "inherit"] }).toString().trim();

sh("npm pack --silent @elizaos/core@1.7.2");
sh("tar xzf elizaos-core-1.7.2.tgz");
sh(`npm install --silent --no-audit --no-fund --ignore-scripts zod@${ZOD_VERSION}`);
const dist = fs.readFileSync(path.join(work, "package/dist/node/index.node.js"), "utf8");
const cut = (from, to) => {
	const a = dist.indexOf(from), b = dist.indexOf(to, a);
	if (a < 0 || b < 0) throw new Error(`marker not found: ${from}`);
	return dist.slice(a, b);
};
const src = [
	cut("var ContentType;", "// src/types/environment.ts"),
	cut("var ChannelType;", "// src/types/memory.ts"),
	cut("// src/schemas/character.ts", "// src/utils/buffer.ts"),
	"export { validateCharacter };",
].join("\n");
fs.writeFileSync(path.join(work, "schema.mjs"), src);
const { validateCharacter } = await import(pathToFileURL(path.join(work, "schema.mjs")));

const UUID = "d6d0c1a5-6a5c-4e4b-9c58-0a9f2a4c1e11";
// ops: ["set", "dotted.path", value] | ["setjson", "dotted.path", "json text"] | ["del", "dotted.path"] | ["root", value]
// "setjson" parses raw JSON text, so a case keeps the key order a file would have
// (JavaScript lists index-like keys first, whatever the text order) and numbers
// JSON allows but JavaScript cannot hold (1e400 becomes Infinity).
const cases = [
	["base_valid", []],
	// name
	["missing_name", [["del", "name"]]],
	["name_empty", [["set", "name", ""]]],
	["name_number", [["set", "name", 42]]],
	["name_null", [["set", "name", null]]],
	["name_array", [["set", "name", ["Eliza"]]]],
	["name_object", [["set", "name", {}]]],
	["name_bool", [["set", "name", true]]],
	["name_space_ok", [["set", "name", " "]]],
	// id
	["id_ok", [["set", "id", UUID]]],
	["id_upper_ok", [["set", "id", "B850BC30-45F8-0041-A00A-83DF46D8555D"]]],
	["id_nil_ok", [["set", "id", "00000000-0000-0000-0000-000000000000"]]],
	["id_bad", [["set", "id", "not-a-uuid"]]],
	["id_braces", [["set", "id", `{${UUID}}`]]],
	["id_number", [["set", "id", 3]]],
	["id_null", [["set", "id", null]]],
	// username, system
	["username_ok", [["set", "username", "eliza_bot"]]],
	["username_empty_ok", [["set", "username", ""]]],
	["username_number", [["set", "username", 7]]],
	["system_number", [["set", "system", 1]]],
	["system_null", [["set", "system", null]]],
	["system_array", [["set", "system", ["a"]]]],
	["system_missing_ok", [["del", "system"]]],
	// bio
	["bio_string_ok", [["set", "bio", "one string"]]],
	["bio_empty_string_ok", [["set", "bio", ""]]],
	["bio_empty_array_ok", [["set", "bio", []]]],
	["bio_missing", [["del", "bio"]]],
	["bio_number", [["set", "bio", 5]]],
	["bio_null", [["set", "bio", null]]],
	["bio_object", [["set", "bio", { a: "b" }]]],
	["bio_array_bad", [["set", "bio", ["ok", 3]]]],
	["bio_array_nested", [["set", "bio", [["a"]]]]],
	// templates
	["templates_ok", [["set", "templates", { messageHandlerTemplate: "{{agentName}} replies", postCreationTemplate: "" }]]],
	["templates_empty_ok", [["set", "templates", {}]]],
	["templates_value_number", [["set", "templates", { a: 1 }]]],
	["templates_value_null", [["set", "templates", { a: null }]]],
	["templates_value_object", [["set", "templates", { a: { text: "x" } }]]],
	["templates_array", [["set", "templates", ["a"]]]],
	["templates_string", [["set", "templates", "x"]]],
	["templates_order", [["setjson", "templates", '{"z": 0, "10": "ok", "b": false, "3": null}']]],
	// messageExamples
	["examples_empty_ok", [["set", "messageExamples", []]]],
	["examples_empty_conv_ok", [["set", "messageExamples", [[]]]]],
	["examples_string", [["set", "messageExamples", "x"]]],
	["examples_null", [["set", "messageExamples", null]]],
	["examples_flat", [["set", "messageExamples", [{ name: "a", content: { text: "x" } }]]]],
	["example_not_object", [["set", "messageExamples.0.0", "x"]]],
	["example_empty", [["set", "messageExamples.0.1", {}]]],
	["example_v0_user", [["set", "messageExamples.0.0", { user: "{{user1}}", content: { text: "hi" } }]]],
	["example_user_and_name_ok", [["set", "messageExamples.0.0.user", "{{user1}}"]]],
	["example_name_number", [["set", "messageExamples.0.0.name", 1]]],
	["example_name_empty_ok", [["set", "messageExamples.0.0.name", ""]]],
	["example_v2_wrapper", [["set", "messageExamples", [{ examples: [{ name: "{{user1}}", content: { text: "hi" } }] }]]]],
	["content_missing", [["del", "messageExamples.0.1.content"]]],
	["content_string", [["set", "messageExamples.0.1.content", "hi"]]],
	["content_null", [["set", "messageExamples.0.1.content", null]]],
	["content_array", [["set", "messageExamples.0.1.content", []]]],
	["content_empty_ok", [["set", "messageExamples.0.1.content", {}]]],
	["content_text_number", [["set", "messageExamples.0.1.content.text", 1]]],
	["content_text_null", [["set", "messageExamples.0.1.content.text", null]]],
	["content_thought_number", [["set", "messageExamples.0.1.content.thought", 2]]],
	["content_actions_ok", [["set", "messageExamples.0.1.content.actions", ["REPLY", "REMOTE_ATTESTATION"]]]],
	["content_actions_string", [["set", "messageExamples.0.1.content.actions", "REPLY"]]],
	["content_actions_numbers", [["set", "messageExamples.0.1.content.actions", ["REPLY", 1]]]],
	["content_v0_action", [["set", "messageExamples.0.1.content.action", "CONTINUE"]]],
	["content_providers_string", [["set", "messageExamples.3.1.content.providers", "KNOWLEDGE"]]],
	["content_source_number", [["set", "messageExamples.0.1.content.source", 1]]],
	["content_target_bool", [["set", "messageExamples.0.1.content.target", true]]],
	["content_url_object", [["set", "messageExamples.0.1.content.url", {}]]],
	["content_inreplyto_ok", [["set", "messageExamples.0.1.content.inReplyTo", UUID]]],
	["content_inreplyto_bad", [["set", "messageExamples.0.1.content.inReplyTo", "q"]]],
	["content_channeltype_ok", [["set", "messageExamples.0.1.content.channelType", "DM"]]],
	["content_channeltype_bad", [["set", "messageExamples.0.1.content.channelType", "dm"]]],
	["content_attachments_ok", [["set", "messageExamples.0.1.content.attachments", [{ id: "1", url: "https://example.org/a.png", contentType: "image", extra: 1 }]]]],
	["content_attachments_empty_item", [["set", "messageExamples.0.1.content.attachments", [{}]]]],
	["content_attachments_bad_type", [["set", "messageExamples.0.1.content.attachments", [{ id: "1", url: "u", contentType: "IMAGE" }]]]],
	["content_attachments_string", [["set", "messageExamples.0.1.content.attachments", "a.png"]]],
	["content_extra_ok", [["set", "messageExamples.0.1.content.extra", { any: [1, 2] }], ["set", "messageExamples.0.1.content.simple", true]]],
	["content_many", [["set", "messageExamples.0.1.content", { text: 1, thought: [], actions: "x", inReplyTo: "q", channelType: 3 }]]],
	// postExamples, topics, adjectives
	["post_examples_string", [["set", "postExamples", "x"]]],
	["post_examples_object", [["set", "postExamples", {}]]],
	["post_examples_element", [["set", "postExamples", ["ok", 2, null]]]],
	["topics_string", [["set", "topics", "ai"]]],
	["topics_float", [["set", "topics", [1.5]]]],
	["adjectives_nested", [["set", "adjectives", [["a"]]]]],
	["adjectives_null", [["set", "adjectives", null]]],
	// knowledge
	["knowledge_ok", [["set", "knowledge", ["a fact", { path: "docs/a.md" }, { path: "b.md", shared: true }, { directory: "docs" }, { directory: "shared", shared: false }]]]],
	["knowledge_extra_keys_ok", [["set", "knowledge", [{ path: "a.md", id: "x" }, { directory: "d", recursive: true }]]]],
	["knowledge_string", [["set", "knowledge", "abc"]]],
	["knowledge_number_item", [["set", "knowledge", [1]]]],
	["knowledge_null_item", [["set", "knowledge", [null]]]],
	["knowledge_empty_object", [["set", "knowledge", [{}]]]],
	["knowledge_path_number", [["set", "knowledge", [{ path: 1 }]]]],
	["knowledge_bad_shared", [["set", "knowledge", [{ path: "a", shared: "no" }]]]],
	["knowledge_dir_bad_shared", [["set", "knowledge", [{ directory: "d", shared: 1 }]]]],
	["knowledge_both_ok", [["set", "knowledge", [{ path: "a", directory: "d" }]]]],
	// plugins
	["plugins_ok", [["set", "plugins", ["@elizaos/plugin-sql", "@elizaos/plugin-openai", "@elizaos/plugin-tee", "@elizaos/plugin-bootstrap"]]]],
	["plugins_empty_ok", [["set", "plugins", []]]],
	["plugins_missing_ok", [["del", "plugins"]]],
	["plugins_string", [["set", "plugins", "@elizaos/plugin-sql"]]],
	["plugins_number", [["set", "plugins", [1]]]],
	["plugins_v0_objects", [["set", "plugins", [{ name: "x", description: "y" }]]]],
	["plugins_null", [["set", "plugins", null]]],
	// settings
	["settings_rich_ok", [["set", "settings", { secrets: { OPENAI_API_KEY: "sk" }, model: "gpt-4o-mini", temperature: 0.7, maxTokens: 512, ragKnowledge: true, voice: { model: "en_US-male-medium" }, chains: ["base"], empty: {}, list: [1, null, {}] }]]],
	["settings_empty_ok", [["set", "settings", {}]]],
	["settings_array", [["set", "settings", []]]],
	["settings_string", [["set", "settings", "x"]]],
	["settings_null", [["set", "settings", null]]],
	["settings_value_null", [["set", "settings", { model: null }]]],
	["settings_secrets_null", [["set", "settings.secrets", null]]],
	["settings_secrets_string_ok", [["set", "settings.secrets", "x"]]],
	["settings_secrets_nested_ok", [["set", "settings.secrets", { a: { b: null }, c: [] }]]],
	["settings_big_number", [["setjson", "settings.big", "1e400"]]],
	["settings_order", [["setjson", "settings", '{"b": null, "2": null, "a": 1, "1": null, "01": null, "-1": null, "4294967295": null, "4294967294": null}']]],
	// secrets
	["secrets_ok", [["set", "secrets", { OPENAI_API_KEY: "sk", TEE_MODE: "LOCAL", N: 3, B: false }]]],
	["secrets_empty_ok", [["set", "secrets", {}]]],
	["secrets_array", [["set", "secrets", ["a"]]]],
	["secrets_null", [["set", "secrets", null]]],
	["secrets_value_null", [["set", "secrets", { a: null }]]],
	["secrets_value_object", [["set", "secrets", { a: {} }]]],
	["secrets_value_array", [["set", "secrets", { a: [1] }]]],
	["secrets_big_number", [["set", "secrets", {}], ["setjson", "secrets.big", "-1e400"]]],
	["secrets_order", [["setjson", "secrets", '{"b": [], "2": null, "a": "s", "1": {}, "01": null}']]],
	// style
	["style_empty_ok", [["set", "style", {}]]],
	["style_missing_ok", [["del", "style"]]],
	["style_only_all_ok", [["del", "style.chat"], ["del", "style.post"]]],
	["style_extra_key_ok", [["set", "style.voice", ["x"]]]],
	["style_array", [["set", "style", []]]],
	["style_string", [["set", "style", "x"]]],
	["style_null", [["set", "style", null]]],
	["style_all_string", [["set", "style.all", "x"]]],
	["style_chat_number", [["set", "style.chat", [1]]]],
	["style_post_null", [["set", "style.post", null]]],
	// unknown top-level keys: 1.x rejects them (strict object)
	["unknown_key", [["set", "description", "x"]]],
	["v0_keys", [["set", "modelProvider", "openai"], ["set", "clients", []], ["set", "lore", ["x"]]]],
	["v0_extends", [["set", "extends", ["base.json"]]]],
	["unknown_index_like", [["set", "zz", 1], ["set", "10", 1], ["set", "aa", 1], ["set", "2", 1]]],
	["unknown_and_errors", [["set", "name", 1], ["set", "lore", []], ["set", "topics", "x"]]],
	["many", [["del", "name"], ["set", "bio", 1], ["set", "plugins", [1, "a", 2]], ["set", "style.post", "p"], ["set", "settings", { x: null }], ["set", "id", "x"]]],
	// whole documents
	["root_array", [["root", []]]],
	["root_null", [["root", null]]],
	["root_string", [["root", "x"]]],
	["root_number", [["root", 3]]],
	["root_bool", [["root", true]]],
	["root_empty_object", [["root", {}]]],
	["root_minimal_ok", [["root", { name: "A", bio: "" }]]],
	["root_minimal_array_bio_ok", [["root", { name: "A", bio: [] }]]],
	["root_v0_c3po", [["rootfile", "characters/c3po.character.json"]]],
];

const vectors = process.env.TEELIZA_VECTORS ?? path.resolve(here, "..");
const BASE = "v1/characters/eliza-cli-1.7.2.character.json";
const base = JSON.parse(fs.readFileSync(path.join(vectors, BASE), "utf8"));
const walk = (obj, dotted) => {
	const keys = dotted.split(".");
	const last = keys.pop();
	for (const k of keys) obj = obj[k];
	return [obj, last];
};
const out = {
	source: `generated by tests/vectors/gen/character-validation-v1.mjs from @elizaos/core@1.7.2 characterSchema/validateCharacter + zod ${ZOD_VERSION}; base = tests/vectors/${BASE}`,
	rendering: {
		validateCharacter: "error.message = \"Character validation failed: \" + JSON.stringify(issues, null, 2)",
		loadCharacter: "throws \"Failed to load character from <path>: \" + error.message; the CLI/server then rethrows \"Character file '<path>' contains invalid character data. \" + that",
		jsonToCharacter: "throws \"Character validation failed: \" + lines.join(\"; \") (POST /api/agents answers 400 CREATE_ERROR with it)",
		validateCharacterConfig: "{isValid: false, errors: lines}",
		lines: "`${issue.path.join(\".\")}: ${issue.message}`, the `expected` field joins them with \"\\n\"",
	},
	cases: [],
};
for (const [name, ops] of cases) {
	let c = structuredClone(base);
	for (const op of ops) {
		if (op[0] === "root") c = structuredClone(op[1]);
		else if (op[0] === "rootfile") c = JSON.parse(fs.readFileSync(path.join(vectors, op[1]), "utf8"));
		else if (op[0] === "del") { const [o, k] = walk(c, op[1]); delete o[k]; }
		else if (op[0] === "setjson") { const [o, k] = walk(c, op[1]); o[k] = JSON.parse(op[2]); }
		else { const [o, k] = walk(c, op[1]); o[k] = structuredClone(op[2]); }
	}
	const r = validateCharacter(c);
	const tc = { name, ops, valid: r.success, expected: "" };
	if (r.success) {
		if (!isDeepStrictEqual(r.data, c)) tc.output = r.data;
	} else {
		const issues = r.error.issues;
		tc.expected = issues.map((e) => `${e.path.join(".")}: ${e.message}`).join("\n");
		tc.issues = JSON.parse(JSON.stringify(issues));
		const again = `Character validation failed: ${JSON.stringify(issues, null, 2)}`;
		if (r.error.message !== again) throw new Error(`case ${name}: error.message is not the JSON of the issues`);
	}
	out.cases.push(tc);
}
// one case per line keeps the file readable and diffs small
const lines = out.cases.map((c) => "  " + JSON.stringify(c));
fs.writeFileSync(outFile, `{\n "source": ${JSON.stringify(out.source)},\n "rendering": ${JSON.stringify(out.rendering)},\n "cases": [\n${lines.join(",\n")}\n ]\n}\n`);
fs.rmSync(work, { recursive: true, force: true });
console.log(`wrote ${out.cases.length} cases (${out.cases.filter((c) => !c.valid).length} invalid) to ${outFile}`);
