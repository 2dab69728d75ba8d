// Verify teeliza's reply bundles (docs/VERIFIABILITY.md) with an independent
// JS implementation: RFC 8785 by `canonicalize`, Ed25519 and secp256k1 by
// @noble/curves, SHA-2 and Keccak by @noble/hashes. Nothing of teeliza runs
// here. usage: node receipt_js.mjs BUNDLE... (in chain order)
// Prints one line per bundle, "ok <seq> <id>" or "BAD <seq> <what>", and
// exits 1 when any is bad.
import { readFileSync } from "node:fs";
import canonicalize from "canonicalize";
import { ed25519 } from "@noble/curves/ed25519";
import { secp256k1 } from "@noble/curves/secp256k1";
import { sha256, sha512 } from "@noble/hashes/sha2";
import { keccak_256 } from "@noble/hashes/sha3";
import { bytesToHex, hexToBytes, utf8ToBytes, concatBytes } from "@noble/hashes/utils";

function eip55(addrHex) {
	const h = bytesToHex(keccak_256(utf8ToBytes(addrHex)));
	return "0x" + [...addrHex].map((c, i) => (parseInt(h[i], 16) >= 8 ? c.toUpperCase() : c)).join("");
}

// The first thing wrong with bundle b (given the previous bundle's receipt text, or null), or null.
function check(b, prevText) {
	if (b.format !== "teeliza-reply-bundle" || b.version !== 1) return "format";
	const r = JSON.parse(b.receipt);
	if (canonicalize(r) !== b.receipt) return "receipt: not RFC 8785 canonical";
	const id = bytesToHex(sha256(utf8ToBytes(b.receipt)));
	if (id !== b.id) return "receipt: id is not SHA-256 of the receipt";
	if (!ed25519.verify(hexToBytes(b.signature), utf8ToBytes(b.receipt), hexToBytes(r.replyKey)))
		return "receipt signature";
	const st = JSON.parse(b.statement);
	if (canonicalize(st) !== b.statement) return "statement: not canonical";
	if (b.eip191 !== undefined) {
		const raw = hexToBytes(b.eip191);
		const digest = keccak_256(concatBytes(utf8ToBytes("\x19Ethereum Signed Message:\n32"), hexToBytes(id)));
		let pub;
		try {
			const sig = secp256k1.Signature.fromCompact(raw.slice(0, 64)).addRecoveryBit(raw[64] - 27);
			pub = sig.recoverPublicKey(digest).toRawBytes(false);
		} catch (e) {
			return `EIP-191 signature: ${e.message}`;
		}
		const addr = eip55(bytesToHex(keccak_256(pub.slice(1)).slice(12)));
		if (addr !== st.eip191Address) return `EIP-191 signature: recovers to ${addr}`;
	}
	if (st.replyKey !== r.replyKey || st.agentId !== r.agentId || st.purpose !== "teeliza-reply-key")
		return "reply key: the statement does not name this key";
	// the quote's report data (TD report body offset 520, after the 48-byte header) = SHA-512(statement)
	const quote = hexToBytes(b.quote);
	if (bytesToHex(quote.slice(568, 632)) !== bytesToHex(sha512(utf8ToBytes(b.statement))))
		return "statement quote: report data is not SHA-512(statement)";
	if (b.prev !== r.prev) return "hash chain: the bundle's prev is not the receipt's";
	if (prevText === null) {
		if (r.seq === 1 && r.prev !== "0".repeat(64)) return "hash chain: seq 1 with a prev";
	} else {
		const p = JSON.parse(prevText);
		if (r.seq !== p.seq + 1) return `hash chain: seq ${r.seq} after ${p.seq}`;
		if (r.prev !== bytesToHex(sha256(utf8ToBytes(prevText)))) return "hash chain: prev is not the previous receipt's hash";
		if (r.agentId !== p.agentId) return "hash chain: another agent";
	}
	return null;
}

let bad = 0, prevText = null;
for (const file of process.argv.slice(2)) {
	const b = JSON.parse(readFileSync(file, "utf8"));
	let why;
	try {
		why = check(b, prevText);
	} catch (e) {
		why = `malformed: ${e.message}`;
	}
	const seq = (() => { try { return JSON.parse(b.receipt).seq; } catch { return "?"; } })();
	if (why === null) console.log(`ok ${seq} ${b.id}`);
	else { console.log(`BAD ${seq} ${why}`); bad++; }
	prevText = b.receipt;
}
process.exit(bad ? 1 : 0);
