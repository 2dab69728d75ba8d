// Regenerates tests/vectors/character-validation.json: for each case, the
// `path: message` lines that Eliza's own validator prints.
//
// The reference is the real thing, fetched from npm at generation time (not
// stored here): `CharacterSchema` and its enums are cut out of
// @elizaos/core@0.1.9's dist/index.js and run with the zod version that
// release pins (3.23.8); the lines are joined the way 0.1.7's
// validateCharacterConfig joins them (`${path.join(".")}: ${message}`).
//
//   node tests/vectors/gen/character-validation.mjs   (needs npm + network to the npm registry)
import { execSync } from "node:child_process";
import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import { fileURLToPath, pathToFileURL } from "node:url";

const here = path.dirname(fileURLToPath(import.meta.url));
const outFile = path.resolve(here, "..", "character-validation.json");
const work = fs.mkdtempSync(path.join(os.tmpdir(), "eliza-zod-"));
const sh = (cmd) => execSync(cmd, { cwd: work, stdio: ["ignore", "pipe", "inherit"] }).toString().trim();

sh("npm pack --silent @elizaos/core@0.1.9");
sh("tar xzf elizaos-core-0.1.9.tgz");
sh("npm install --silent --no-audit --no-fund --ignore-scripts zod@3.23.8");
const dist = fs.readFileSync(path.join(work, "package/dist/index.js"), "utf8");
const cut = (from, to) => {
	const a = dist.indexOf(from), b = dist.indexOf(to, a);
	if (a < 0 || b < 0) throw new Error(`marker not found: ${from}`);
	return dist.slice(a, b);
};
const src = [
	'import { z } from "zod";',
	cut("var ModelProviderName = ", "var CacheStore = "),
	cut("var MessageExampleSchema", "function validateCharacterConfig").replace(/\bz2\./g, "z."),
	"export { CharacterSchema };",
].join("\n");
fs.writeFileSync(path.join(work, "schema.mjs"), src);
const { CharacterSchema } = await import(pathToFileURL(path.join(work, "schema.mjs")));

// ops: ["set", "dotted.path", value] | ["setjson", "dotted.path", "json text"] | ["del", "dotted.path"] | ["root", value]
const cases = [
	["missing_name", [["del", "name"]]],
	["name_number", [["set", "name", 42]]],
	["name_null", [["set", "name", null]]],
	["bad_provider", [["set", "modelProvider", "foo"]]],
	["provider_upper", [["set", "modelProvider", "OpenAI"]]],
	["provider_empty", [["set", "modelProvider", ""]]],
	["provider_quote", [["set", "modelProvider", "it's"]]],
	["provider_int", [["set", "modelProvider", 7]]],
	["provider_float", [["set", "modelProvider", 1.5]]],
	["provider_big", [["set", "modelProvider", 1e21]]],
	["provider_small", [["set", "modelProvider", 1e-7]]],
	["provider_neg", [["set", "modelProvider", -0.000123]]],
	["provider_bool", [["set", "modelProvider", true]]],
	["provider_null", [["set", "modelProvider", null]]],
	["provider_obj", [["set", "modelProvider", {}]]],
	["provider_missing", [["del", "modelProvider"]]],
	["bio_number", [["set", "bio", 5]]],
	["bio_array_bad", [["set", "bio", ["ok", 3]]]],
	["bio_string_ok", [["set", "bio", "one string"]]],
	["bio_missing", [["del", "bio"]]],
	["lore_string", [["set", "lore", "x"]]],
	["lore_elems", [["set", "lore", ["a", false, "b", {}]]]],
	["id_bad", [["set", "id", "not-a-uuid"]]],
	["id_upper_ok", [["set", "id", "B850BC30-45F8-0041-A00A-83DF46D8555D"]]],
	["id_nil_ok", [["set", "id", "00000000-0000-0000-0000-000000000000"]]],
	["id_number", [["set", "id", 3]]],
	["system_number", [["set", "system", 1]]],
	["style_missing_chat", [["del", "style.chat"]]],
	["style_missing", [["del", "style"]]],
	["style_array", [["set", "style", []]]],
	["style_post_string", [["set", "style.post", "p"]]],
	["clients_bad", [["set", "clients", ["direct", "web"]]]],
	["clients_types", [["set", "clients", [5, null]]]],
	["plugins_number", [["set", "plugins", [1]]]],
	["plugins_objects_ok", [["set", "plugins", [{ name: "x", description: "y" }]]]],
	["plugins_object_bad", [["set", "plugins", [{ name: "x" }]]]],
	["plugins_mixed", [["set", "plugins", ["a", { name: "x", description: "y" }]]]],
	["plugins_string", [["set", "plugins", "x"]]],
	["plugins_missing", [["del", "plugins"]]],
	["examples_string", [["set", "messageExamples", "x"]]],
	["examples_conv_object", [["set", "messageExamples", [{ user: "a" }]]]],
	["example_not_object", [["set", "messageExamples.0.0", "x"]]],
	["example_empty", [["set", "messageExamples.0.1", {}]]],
	["example_user_number", [["set", "messageExamples.0.0.user", 1]]],
	["content_no_text", [["set", "messageExamples.0.1.content", {}]]],
	["content_string", [["set", "messageExamples.0.1.content", "hi"]]],
	["content_null", [["set", "messageExamples.0.1.content", null]]],
	["content_array", [["set", "messageExamples.0.1.content", []]]],
	["content_missing", [["del", "messageExamples.0.1.content"]]],
	["content_fields", [["set", "messageExamples.0.1.content", { text: 1, foo: { a: 1 }, attachments: "x" }]]],
	["content_inreplyto", [["set", "messageExamples.0.1.content", { inReplyTo: "q" }]]],
	["content_action_number", [["set", "messageExamples.0.0.content.action", 1]]],
	["content_extra_ok", [["set", "messageExamples.0.0.content.extra", { any: [1, 2] }]]],
	// raw JSON text, so the file keeps the key order a user wrote (JS would list index-like keys first)
	["secrets_order", [["setjson", "settings.secrets", '{"b": 1, "2": 1, "a": 1, "1": 1, "01": 1, "-1": 1, "4294967295": 1, "4294967294": 1, "ok": "s"}']]],
	["templates_order", [["setjson", "templates", '{"z": 0, "10": "ok", "3": false}']]],
	["secrets_null", [["set", "settings.secrets", null]]],
	["settings_array", [["set", "settings", []]]],
	["settings_model_number", [["set", "settings.model", 5]]],
	["voice_model_number", [["set", "settings.voice.model", 5]]],
	["voice_string", [["set", "settings.voice", "x"]]],
	["settings_extra_ok", [["set", "settings.voice.elevenlabs", { voiceId: "x" }], ["set", "settings.chains", { evm: ["base"] }]]],
	["knowledge_objects_ok", [["set", "knowledge", [{ path: "a" }, { directory: "d", shared: true }, "s"]]]],
	["knowledge_bad_object", [["set", "knowledge", [{ foo: 1 }]]]],
	["knowledge_bad_shared", [["set", "knowledge", [{ path: "a", shared: "no" }]]]],
	["knowledge_string", [["set", "knowledge", "abc"]]],
	["templates_bad", [["set", "templates", { a: 1 }]]],
	["templates_array", [["set", "templates", ["a"]]]],
	["client_config_bad", [["set", "clientConfig", { discord: { shouldIgnoreBotMessages: "yes" } }]]],
	["client_config_telegram", [["set", "clientConfig", { telegram: 1, slack: { x: 1 } }]]],
	["twitter_profile_partial", [["set", "twitterProfile", { username: "a" }]]],
	["twitter_nicknames", [["set", "twitterProfile", { username: "a", screenName: "b", bio: "c", nicknames: [1] }]]],
	["nft_prompt_number", [["set", "nft", { prompt: 1 }]]],
	["extends_string", [["set", "extends", "x"]]],
	["extends_element", [["set", "extends", ["a", 1]]]],
	["post_examples_object", [["set", "postExamples", {}]]],
	["adjectives_nested", [["set", "adjectives", [["a"]]]]],
	["topics_float", [["set", "topics", [1.5]]]],
	["many", [["set", "name", 1], ["del", "lore"], ["set", "topics", [1, 2]], ["set", "modelProvider", "x"], ["set", "style.post", "p"]]],
	["root_array", [["root", []]]],
	["root_null", [["root", null]]],
	["root_string", [["root", "x"]]],
	["root_number", [["root", 3]]],
	["root_empty_object", [["root", {}]]],
];

const vectors = process.env.TEELIZA_VECTORS ?? path.resolve(here, "..");
const base = JSON.parse(fs.readFileSync(path.join(vectors, "characters/c3po.character.json"), "utf8"));
const walk = (obj, dotted) => {
	const keys = dotted.split(".");
	const last = keys.pop();
	for (const k of keys) obj = obj[k];
	return [obj, last];
};
const out = { source: "generated by tests/vectors/gen/character-validation.mjs from @elizaos/core@0.1.9 CharacterSchema + zod 3.23.8; base = tests/vectors/characters/c3po.character.json", cases: [] };
for (const [name, ops] of cases) {
	let c = structuredClone(base);
	for (const op of ops) {
		if (op[0] === "root") c = structuredClone(op[1]);
		else if (op[0] === "del") { const [o, k] = walk(c, op[1]); delete o[k]; }
		else if (op[0] === "setjson") { const [o, k] = walk(c, op[1]); o[k] = JSON.parse(op[2]); }
		else { const [o, k] = walk(c, op[1]); o[k] = structuredClone(op[2]); }
	}
	const r = CharacterSchema.safeParse(c);
	const expected = r.success ? "" : r.error.errors.map((e) => `${e.path.join(".")}: ${e.message}`).join("\n");
	out.cases.push({ name, ops, valid: r.success, expected });
}
// one case per line keeps the file readable and diffs small
const lines = out.cases.map((c) => "  " + JSON.stringify(c));
fs.writeFileSync(outFile, `{\n "source": ${JSON.stringify(out.source)},\n "cases": [\n${lines.join(",\n")}\n ]\n}\n`);
fs.rmSync(work, { recursive: true, force: true });
console.log(`wrote ${out.cases.length} cases to ${outFile}`);
