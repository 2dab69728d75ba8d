// Regenerates tests/vectors/dstack-sdk-wire.json: the requests
// @phala/dstack-sdk 0.5.8's DstackClient sends for each method (method,
// path, headers, body), over HTTP and over a unix socket, and the texts of
// the errors and warnings it shows users. test_dstack_client.c checks that
// teeliza's dstack client sends the same method, path, Content-Type and
// body, with the true byte length.
//
// The reference is the real package, installed from npm at generation time
// (not stored here), driven against a recording server on 127.0.0.1 and on
// a unix socket in a temp directory. The server's canned replies are only
// what the SDK needs to return without throwing; they are not vectors.
//
//   node tests/vectors/gen/dstack-sdk-wire.mjs   (needs npm + network to the npm registry)
import { execSync } from "node:child_process";
import fs from "node:fs";
import http from "node:http";
import os from "node:os";
import path from "node:path";
import { createRequire } from "node:module";
import { fileURLToPath } from "node:url";

const SDK = "@phala/dstack-sdk@0.5.8";
const CURVES = "@noble/curves@1.8.1"; // its optional peer; index.js requires it at load time
const here = path.dirname(fileURLToPath(import.meta.url));
const outFile = path.resolve(here, "..", "dstack-sdk-wire.json");
const work = fs.mkdtempSync(path.join(os.tmpdir(), "dstack-sdk-wire-"));
execSync(`npm install --no-package-lock --no-audit --no-fund --ignore-scripts --loglevel=error ${SDK} ${CURVES}`, {
	cwd: work,
	stdio: ["ignore", "ignore", "inherit"],
});
const { DstackClient, TappdClient } = createRequire(path.join(work, "x.js"))("@phala/dstack-sdk");

// Only what the SDK reads; "noVersion" makes /Version fail the way an agent without it can.
const canned = {
	GetKey: { key: "00".repeat(32), signature_chain: ["00".repeat(65), "00".repeat(65)] },
	GetTlsKey: { key: "-----BEGIN PRIVATE KEY-----\nAA==\n-----END PRIVATE KEY-----\n", certificate_chain: [] },
	GetQuote: { quote: "00", event_log: "[]", report_data: "", vm_config: "" },
	Attest: { attestation: "00" },
	Info: { app_id: "", tcb_info: "{}" },
	Version: { version: "0.5.11", rev: "0" },
	EmitEvent: null,
	Sign: { signature: "00", signature_chain: ["00", "00", "00"], public_key: "00" },
	Verify: { valid: true },
};
let noVersion = false;
let recorded = [];

function handler(req, res) {
	let body = "";
	req.setEncoding("utf8");
	req.on("data", (c) => (body += c));
	req.on("end", () => {
		const headers = {};
		for (const k of ["host", "content-type", "content-length", "user-agent"])
			if (req.headers[k] !== undefined) headers[k] = req.headers[k];
		if (headers.host !== undefined) headers.host = headers.host.replace(/:\d+$/, ":<port>"); // the same file every run
		recorded.push({ method: req.method, path: req.url, headers, body });
		const name = req.url.slice(1);
		// A Content-Length always: the SDK's unix-socket reader takes the body's length from it.
		const reply = (status, type, text) => {
			res.writeHead(status, { "Content-Type": type, "Content-Length": Buffer.byteLength(text) });
			res.end(text);
		};
		if (noVersion && name === "Version") reply(404, "text/plain", "Not Found");
		else reply(200, "application/json", JSON.stringify(canned[name] ?? { error: "unknown" }));
	});
}

const tcp = http.createServer(handler);
await new Promise((r) => tcp.listen(0, "127.0.0.1", r));
const sockPath = path.join(work, "dstack.sock");
const unix = http.createServer(handler);
await new Promise((r) => unix.listen(sockPath, r));

// The calls, in order; each records every request it makes (a Version probe comes first).
const bytes = (n, v) => Buffer.alloc(n, v);
const calls = [
	["getKey()", (c) => c.getKey()],
	["getKey('/test/path', 'test-purpose')", (c) => c.getKey("/test/path", "test-purpose")],
	["getKey('wallet/eth', 'signing', 'k256')", (c) => c.getKey("wallet/eth", "signing", "k256")],
	["getKey('/test/path', 'test-purpose', 'ed25519')", (c) => c.getKey("/test/path", "test-purpose", "ed25519")],
	["getTlsKey()", (c) => c.getTlsKey()],
	[
		"getTlsKey({subject: 'example.com', altNames: ['a.example', 'b'], usageRaTls: true, usageClientAuth: true})",
		(c) => c.getTlsKey({ subject: "example.com", altNames: ["a.example", "b"], usageRaTls: true, usageClientAuth: true }),
	],
	[
		"getTlsKey({subject: 'x', usageServerAuth: false, notBefore: 1700000000, notAfter: 1800000000, withAppInfo: true})",
		(c) => c.getTlsKey({ subject: "x", usageServerAuth: false, notBefore: 1700000000, notAfter: 1800000000, withAppInfo: true }),
	],
	["getQuote('hello')", (c) => c.getQuote("hello")],
	["getQuote(64 bytes of 0xab)", (c) => c.getQuote(bytes(64, 0xab))],
	["getQuote('')", (c) => c.getQuote("")],
	["attest(Buffer.from([1, 2, 3]))", (c) => c.attest(Buffer.from([1, 2, 3]))],
	["info()", (c) => c.info()],
	["version()", (c) => c.version()],
	["emitEvent('custom-event', Buffer.from('deadbeef', 'hex'))", (c) => c.emitEvent("custom-event", Buffer.from("deadbeef", "hex"))],
	["emitEvent('second', 'hello')", (c) => c.emitEvent("second", "hello")],
	["sign('ed25519', 'hello')", (c) => c.sign("ed25519", "hello")],
	["sign('secp256k1_prehashed', 32 bytes of 0x11)", (c) => c.sign("secp256k1_prehashed", bytes(32, 0x11))],
	[
		"verify('secp256k1', 'hello', 64 bytes of 0x22, 33 bytes of 0x02)",
		(c) => c.verify("secp256k1", "hello", bytes(64, 0x22), bytes(33, 0x02)),
	],
];

async function run(endpoint, transport) {
	const out = [];
	const client = new DstackClient(endpoint);
	for (const [call, fn] of calls) {
		recorded = [];
		await fn(client);
		out.push({ transport, call, requests: recorded });
	}
	recorded = []; // what comes later must not land in the last sample
	return out;
}

async function message(fn) {
	try {
		await fn();
	} catch (e) {
		return e.message;
	}
	throw new Error("expected an error");
}

const warnings = [];
const realWarn = console.warn;
console.warn = (...a) => warnings.push(a.join(" "));

const samples = [...(await run(`http://127.0.0.1:${tcp.address().port}/ignored/path`, "http")), ...(await run(sockPath, "unix"))];

const client = new DstackClient(sockPath);
const errors = {
	getQuote_65_bytes: await message(() => client.getQuote(bytes(65, 1))),
	attest_65_bytes: await message(() => client.attest(bytes(65, 1))),
	emitEvent_empty_name: await message(() => client.emitEvent("", "x")),
	sign_prehashed_31_bytes: await message(() => client.sign("secp256k1_prehashed", bytes(31, 1))),
	missing_socket: await message(async () => new DstackClient("/nonexistent/dstack.sock")),
};
noVersion = true;
errors.getKey_ed25519_without_version = await message(() => client.getKey("p", "q", "ed25519"));
errors.getTlsKey_options_without_version = await message(() => client.getTlsKey({ notBefore: 1, notAfter: 2 }));
errors.getTlsKey_app_info_without_version = await message(() => client.getTlsKey({ withAppInfo: false }));
noVersion = false;

warnings.length = 0;
process.env.DSTACK_SIMULATOR_ENDPOINT = sockPath;
new DstackClient();
delete process.env.DSTACK_SIMULATOR_ENDPOINT;
process.env.TAPPD_SIMULATOR_ENDPOINT = sockPath;
new TappdClient();
delete process.env.TAPPD_SIMULATOR_ENDPOINT;
console.warn = realWarn;
const sockMark = (s) => s.split(sockPath).join("<endpoint>");

tcp.close();
unix.close();
fs.writeFileSync(
	outFile,
	JSON.stringify(
		{
			meta: {
				sdk: SDK,
				generator: "tests/vectors/gen/dstack-sdk-wire.mjs",
				note: "http samples went to http://127.0.0.1:<port>/ignored/path, unix samples to a socket; <endpoint> stands for the endpoint in messages",
			},
			samples,
			errors: Object.fromEntries(Object.entries(errors).map(([k, v]) => [k, sockMark(v)])),
			warnings: warnings.map(sockMark),
		},
		null,
		1,
	) + "\n",
);
fs.rmSync(work, { recursive: true, force: true });
console.log(`wrote ${outFile}: ${samples.length} samples`);
