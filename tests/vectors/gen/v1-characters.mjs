// Regenerates the three elizaOS 1.x characters in tests/vectors/v1/characters/
// that upstream ships only as TypeScript, written out as the JSON object the
// code builds (the object the server then validates and stores):
//
//   eliza-cli-1.7.2.character.json       @elizaos/cli 1.7.2, dist/index.js,
//                                        `baseElizaCharacter` (src/characters/eliza.ts)
//   project-starter-1.7.2.character.json @elizaos/cli 1.7.2, dist/templates/
//                                        project-starter/src/character.ts
//   mr-tee-1.7.2.character.json          @elizaos/cli 1.7.2, dist/templates/
//                                        project-tee-starter/src/character.ts
//
// The objects depend on the environment: the starter is evaluated with only
// OPENAI_API_KEY set (to the placeholder "set"), Mr. TEE with no variable set,
// so its secrets keep only the two defaults; Mr. TEE's avatar (a base64 data
// URL of a 600 kB portrait when the file is found) is left empty, as that code
// does when the portrait is missing.
//
// The package comes from npm at generation time and is not stored here; its
// code is evaluated, never copied into the repository.
//
//   node tests/vectors/gen/v1-characters.mjs   (needs npm + network to the npm registry)
import { execSync } from "node:child_process";
import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import { fileURLToPath, pathToFileURL } from "node:url";

const here = path.dirname(fileURLToPath(import.meta.url));
const outDir = path.resolve(here, "..", "v1", "characters");
const work = fs.mkdtempSync(path.join(os.tmpdir(), "eliza-v1-chars-"));
const sh = (cmd) => execSync(cmd, { cwd: work, stdio: ["ignore", "pipe", "inherit"] }).toString().trim();

sh("npm pack --silent @elizaos/cli@1.7.2");
sh("tar xzf elizaos-cli-1.7.2.tgz");
const pkg = path.join(work, "package", "dist");

// Replace `from` by `to` exactly once, so a changed upstream text fails loudly.
const once = (text, from, to) => {
	const a = text.indexOf(from);
	if (a < 0 || text.indexOf(from, a + 1) >= 0) throw new Error(`expected exactly one: ${from}`);
	return text.slice(0, a) + to + text.slice(a + from.length);
};

// Evaluate a module text that exports `name`, with `process.env` replaced by `env`.
const evaluate = async (file, text, name, env) => {
	const p = path.join(work, file);
	fs.writeFileSync(p, `const process = { env: ${JSON.stringify(env)} };\n${text}\nexport { ${name} };\n`);
	return (await import(pathToFileURL(p)))[name];
};

// 1. The CLI's built-in Eliza (baseElizaCharacter; getDefaultCharacter() swaps
//    in plugins chosen from the environment, see core's buildCharacterPlugins).
const dist = fs.readFileSync(path.join(pkg, "index.js"), "utf8");
const a = dist.indexOf("var baseElizaCharacter = {");
const b = dist.indexOf("function getDefaultCharacter(", a);
if (a < 0 || b < 0) throw new Error("baseElizaCharacter not found");
const eliza = await evaluate("eliza.mjs", dist.slice(a, b), "baseElizaCharacter", {});

// 2. The project-starter template (TypeScript: drop the type import and annotation).
let starter = fs.readFileSync(path.join(pkg, "templates/project-starter/src/character.ts"), "utf8");
starter = once(starter, "import { type Character } from '@elizaos/core';", "");
starter = once(starter, "export const character: Character = {", "const character = {");
const projectStarter = await evaluate("starter.mjs", starter, "character", { OPENAI_API_KEY: "set" });

// 3. The TEE starter template's Mr. TEE (no dotenv, no portrait file).
let tee = fs.readFileSync(path.join(pkg, "templates/project-tee-starter/src/character.ts"), "utf8");
tee = once(tee, "import type { Character } from '@elizaos/core';", "");
tee = once(tee, "import dotenv from 'dotenv';", "");
tee = once(tee, "dotenv.config({ path: '../../.env' });", "");
tee = once(tee, "export const mrTeeCharacter: Character = {", "const mrTeeCharacter = {");
tee = once(tee, "fs.existsSync(imagePath)", "false");
const mrTee = await evaluate("tee.mjs", tee, "mrTeeCharacter", {});

fs.mkdirSync(outDir, { recursive: true });
for (const [file, obj] of [
	["eliza-cli-1.7.2.character.json", eliza],
	["project-starter-1.7.2.character.json", projectStarter],
	["mr-tee-1.7.2.character.json", mrTee],
]) {
	// JSON.stringify drops the secrets whose environment variable is unset, as the server's JSON body would
	fs.writeFileSync(path.join(outDir, file), JSON.stringify(obj, null, 2) + "\n");
	console.log(`wrote ${path.join(outDir, file)}`);
}
fs.rmSync(work, { recursive: true, force: true });
