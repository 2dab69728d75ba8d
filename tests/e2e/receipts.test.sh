#!/usr/bin/env bash
# Receipts and fresh attestation end to end (docs/VERIFIABILITY.md) against
# `teeliza start --simulator`: a REST reply carries X-Teeliza-Receipt while
# its body stays Eliza's; the receipt route returns a receipt whose hashes
# match the bytes sent and received and whose Ed25519 signature verifies
# with Node's own crypto (an independent implementation); ?receipt=1 adds
# it to the body; the chat prints a receipt id; a restart continues the
# chain (seq + 1, prev = SHA-256 of the last receipt); a fresh attestation
# binds its nonce (another nonce gives other report data) and the quote
# carries exactly SHA-512(statement); bad nonces are refused.
set -euo pipefail

: "${TEELIZA:?path of the teeliza binary}"
# shellcheck source=../lib/e2e.sh
. "$(dirname "$0")/../lib/e2e.sh"
e2e_setup receipts
command -v node >/dev/null || { echo "SKIP: node not installed"; exit 77; }

unset OPENAI_API_KEY REDPILL_API_KEY OLLAMA_SERVER_URL LOCAL_MODEL_URL LMSTUDIO_SERVER_URL API_TOKEN \
	DSTACK_SIMULATOR_ENDPOINT TEE_KEY_SCHEME TEELIZA_PUBLIC_URL SQLITE_FILE TEE_MODE WALLET_SECRET_SALT \
	TEELIZA_OFFLINE SERVER_PORT EXPRESS_MAX_PAYLOAD RECEIPT_SIGNATURE
export SERVER_HOST=127.0.0.1 SERVER_PORT=0 TEELIZA_SIM_STATE="$tmp/sim" TEE_MODE=LOCAL WALLET_SECRET_SALT=e2e-receipts
cd "$tmp"

start_agent() { # log-file
	"$TEELIZA" start --simulator --non-interactive >"$1.out" 2>"$1" &
	agent_pid=$!
	api=$(e2e_wait_line "$1" 's/^REST API bound to 127\.0\.0\.1:\([0-9]*\)$/\1/p' "$agent_pid") ||
		fail "agent did not start: $(cat "$1")"
	base="http://127.0.0.1:$api"
}
stop_agent() {
	kill -TERM "$agent_pid"
	wait "$agent_pid" || true
}

# Verify a receipt JSON (the route's answer) with Node: signature, and print seq prev requestSha256 responseSha256.
cat >"$tmp/verify.js" <<'JS'
const crypto = require("crypto");
const r = JSON.parse(require("fs").readFileSync(0, "utf8"));
const pub = crypto.createPublicKey({ key: { kty: "OKP", crv: "Ed25519",
	x: Buffer.from(r.publicKey, "hex").toString("base64url") }, format: "jwk" });
const ok = crypto.verify(null, Buffer.from(r.receipt, "utf8"), pub, Buffer.from(r.signature, "hex"));
const body = JSON.parse(r.receipt);
const sorted = JSON.stringify(Object.fromEntries(Object.keys(body).sort().map(k => [k, body[k]])));
if (!ok) { console.log("BAD-SIGNATURE"); process.exit(1); }
if (sorted !== r.receipt) { console.log("NOT-CANONICAL"); process.exit(1); }
const id = crypto.createHash("sha256").update(r.receipt).digest("hex");
console.log([body.seq, body.prev, body.requestSha256, body.responseSha256, id === r.id ? "id-ok" : "id-bad",
	body.replyKey === r.publicKey ? "key-ok" : "key-bad"].join(" "));
JS

start_agent "$tmp/a1.log"
agent_id=$(e2e_agent_id "$tmp/a1.log" "$agent_pid") || fail "no agent id: $(cat "$tmp/a1.log")"
e2e_wait_line "$tmp/a1.log" '/reply key /p' "$agent_pid" >/dev/null || true
check_has "the reply key is logged with its statement quote" "$(cat "$tmp/a1.log")" "reply key "

# ---- 1. a REST reply: header, body unchanged, receipt verifies and hashes the exact bytes ----
printf '{"text":"hello there","userId":"u1"}' >"$tmp/req1.json"
curl -s -D "$tmp/h1" -o "$tmp/b1" -H 'Content-Type: application/json' --data-binary @"$tmp/req1.json" \
	"$base/Teeliza/message"
rid=$(sed -n 's/^X-Teeliza-Receipt: \([0-9a-f]*\)\r*$/\1/Ip' "$tmp/h1")
check_eq "receipt id header is 64 hex digits" "${#rid}" 64
check_has "browsers may read it" "$(cat "$tmp/h1")" "Access-Control-Expose-Headers: X-Teeliza-Receipt"
check_eq "the body is still Eliza's reply array" "$(jq -r 'type' "$tmp/b1")" array
check_lacks "no receipt field without asking" "$(cat "$tmp/b1")" teelizaReceipt
curl -sf "$base/agents/$agent_id/receipts/$rid" >"$tmp/r1.json" || fail "GET receipt"
read -r seq1 prev1 req1 resp1 idok keyok <<<"$(node "$tmp/verify.js" <"$tmp/r1.json")"
check_eq "the receipt's id is its hash" "$idok" id-ok
check_eq "the receipt names its key" "$keyok" key-ok
check_eq "requestSha256 = SHA-256 of the body sent" "$req1" "$(sha256sum "$tmp/req1.json" | cut -d' ' -f1)"
check_eq "responseSha256 = SHA-256 of the body received" "$resp1" "$(sha256sum "$tmp/b1" | cut -d' ' -f1)"
[ "$seq1" -ge 1 ] || fail "seq $seq1"
check_eq "an unknown receipt is 404" "$(curl -s -o /dev/null -w '%{http_code}' \
	"$base/agents/$agent_id/receipts/$(printf '%064d' 0)")" 404

# ---- 2. ?receipt=1: the receipt in the body; the chain links ----
curl -s -D "$tmp/h2" -o "$tmp/b2" -H 'Content-Type: application/json' -d '{"text":"and again"}' \
	"$base/Teeliza/message?receipt=1"
rid2=$(sed -n 's/^X-Teeliza-Receipt: \([0-9a-f]*\)\r*$/\1/Ip' "$tmp/h2")
check_eq "the body's receipt is the header's" "$(jq -r '.[-1].teelizaReceipt.id' "$tmp/b2")" "$rid2"
jq '.[-1].teelizaReceipt' "$tmp/b2" >"$tmp/r2.json"
read -r seq2 prev2 _ _ _ _ <<<"$(node "$tmp/verify.js" <"$tmp/r2.json")"
check_eq "seq follows" "$seq2" "$((seq1 + 1))"
check_eq "prev is the previous receipt's hash" "$prev2" "$rid"

# ---- 3. fresh attestation: the nonce is bound; SHA-512(statement) is the quote's report data ----
nonce_a=00112233445566778899aabbccddeeff00112233445566778899aabbccddeeff
nonce_b=ff112233445566778899aabbccddeeff00112233445566778899aabbccddeeff
curl -sf "$base/agents/$agent_id/attestation?nonce=$nonce_a" >"$tmp/fa.json" || fail "fresh attestation"
stmt=$(jq -r .statement "$tmp/fa.json")
check_has "the statement names the nonce" "$stmt" "\"nonce\":\"$nonce_a\""
check_has "the statement names the reply key" "$stmt" "\"replyKey\":\"$(jq -r .publicKey "$tmp/r1.json")\""
rd=$(printf '%s' "$stmt" | sha512sum | cut -d' ' -f1)
check_eq "reportData = SHA-512(statement)" "$(jq -r .reportData "$tmp/fa.json")" "$rd"
# TD report data: 48-byte header + 520 bytes into the TD report body
quote_rd=$(jq -r .quote "$tmp/fa.json" | cut -c$((2 * 568 + 1))-$((2 * 632)))
check_eq "the quote carries that report data" "$quote_rd" "$rd"
rd_b=$(printf '%s' "${stmt/$nonce_a/$nonce_b}" | sha512sum | cut -d' ' -f1)
[ "$rd_b" != "$quote_rd" ] || fail "the quote for nonce A also fits nonce B"
ok "a quote for nonce A does not verify as nonce B"
check_eq "short nonce refused" "$(curl -s -o /dev/null -w '%{http_code}' "$base/agents/$agent_id/attestation?nonce=0011")" 400
check_eq "non-hex nonce refused" "$(curl -s -o /dev/null -w '%{http_code}' \
	"$base/agents/$agent_id/attestation?nonce=zz112233445566778899aabbccddeeff")" 400
check_eq "a 65-byte nonce refused" "$(curl -s -o /dev/null -w '%{http_code}' \
	"$base/agents/$agent_id/attestation?nonce=$(printf 'ab%.0s' $(seq 65))")" 400
check_eq "no nonce refused" "$(curl -s -o /dev/null -w '%{http_code}' "$base/agents/$agent_id/attestation")" 400
stop_agent

# ---- 4. restart: the chain continues ----
start_agent "$tmp/a2.log"
# the reply key is prepared after the port is bound (slowly under ASan): wait for its line
e2e_wait_line "$tmp/a2.log" '/receipts continue at seq/p' "$agent_pid" >/dev/null || true
check_has "the restart continues the chain" "$(cat "$tmp/a2.log")" "receipts continue at seq $((seq2 + 1))"
curl -s -D "$tmp/h3" -o "$tmp/b3" -H 'Content-Type: application/json' -d '{"text":"after restart"}' \
	"$base/Teeliza/message"
rid3=$(sed -n 's/^X-Teeliza-Receipt: \([0-9a-f]*\)\r*$/\1/Ip' "$tmp/h3")
curl -sf "$base/agents/$agent_id/receipts/$rid3" >"$tmp/r3.json" || fail "GET receipt after restart"
read -r seq3 prev3 _ _ _ _ <<<"$(node "$tmp/verify.js" <"$tmp/r3.json")"
check_eq "seq continues after a restart" "$seq3" "$((seq2 + 1))"
check_eq "prev links across the restart" "$prev3" "$rid2"
check_eq "the same reply key after a restart" "$(jq -r .publicKey "$tmp/r3.json")" "$(jq -r .publicKey "$tmp/r1.json")"
curl -sf "$base/agents/$agent_id/receipts/$rid" >/dev/null || fail "old receipts survive the restart"
ok "old receipts survive the restart"
# rate limit: 10 fresh attestations a minute per client
codes=""
for _ in 1 2 3 4 5 6 7 8 9 10 11; do
	codes="$codes $(curl -s -o /dev/null -w '%{http_code}' "$base/agents/$agent_id/attestation?nonce=$nonce_b")"
done
check_has "fresh attestations are rate-limited" "$codes" 429
# concurrent replies: one chain, no fork, every receipt stored with the reply it covers
for i in $(seq 12); do
	curl -s -o /dev/null -H 'Content-Type: application/json' -d "{\"text\":\"together $i\",\"userId\":\"c$i\"}" \
		"$base/Teeliza/message" &
done
wait $(jobs -p | grep -v "^$agent_pid\$") 2>/dev/null || true
stop_agent
chain=$(python3 - "$tmp/data/db.sqlite" "$agent_id" <<'PY'
import hashlib, json, sqlite3, sys
db = sqlite3.connect(sys.argv[1])
rows = db.execute("SELECT seq, id, receipt, memory_id FROM receipts WHERE agent_id = ? ORDER BY seq",
                  (sys.argv[2],)).fetchall()
prev, bad = "0" * 64, []
for i, (seq, rid, text, mem) in enumerate(rows, 1):
    if seq != i: bad.append(f"seq {seq} at {i}")
    if hashlib.sha256(text.encode()).hexdigest() != rid: bad.append(f"id {seq}")
    if json.loads(text)["prev"] != prev: bad.append(f"prev {seq}")
    prev = rid
    if mem is None: bad.append(f"no memory {seq}")
    elif db.execute("SELECT count(*) FROM memories WHERE id = ? AND agentId = ? AND userId = ?",
                    (mem, sys.argv[2], sys.argv[2])).fetchone()[0] != 1: bad.append(f"memory {seq}")
print(len(rows), " ".join(bad) or "ok")
PY
)
check_eq "concurrent replies make one unbroken chain, each receipt naming its stored reply" "$chain" \
	"$((seq3 + 12)) ok"

# ---- 5. the terminal chat prints a receipt id on stderr, stdout stays Eliza's ----
printf 'hi\n' | "$TEELIZA" start --simulator >"$tmp/chat.out" 2>"$tmp/chat.log" || true
check_has "the chat logs the receipt" "$(cat "$tmp/chat.log")" "receipt "
check_lacks "stdout has no receipt" "$(cat "$tmp/chat.out")" "receipt "
# ---- 6. RECEIPT_SIGNATURE: eip191 adds the secp256k1 signature; a bad value stops before anything is bound ----
rm -rf "$tmp/e" && mkdir "$tmp/e" && cd "$tmp/e"
RECEIPT_SIGNATURE=eip191 start_agent "$tmp/e.log"
curl -s -D "$tmp/h4" -o /dev/null -H 'Content-Type: application/json' -d '{"text":"sign twice"}' "$base/Teeliza/message"
rid4=$(sed -n 's/^X-Teeliza-Receipt: \([0-9a-f]*\)\r*$/\1/Ip' "$tmp/h4")
curl -sf "$base/agents/$agent_id/receipts/$rid4" >"$tmp/r4.json" || fail "GET eip191 receipt"
check_eq "an EIP-191 signature is 65 bytes" "$(jq -r '.eip191 | length' "$tmp/r4.json")" 130
check_has "its address is named" "$(jq -r .eip191Address "$tmp/r4.json")" 0x
check_eq "the eip191 chain starts at 1 in a new store" "$(node "$tmp/verify.js" <"$tmp/r4.json" | cut -d' ' -f1)" 1
stop_agent
rc=0
RECEIPT_SIGNATURE=bad "$TEELIZA" start --simulator --non-interactive >"$tmp/bad.out" 2>"$tmp/bad.log" || rc=$?
check_eq "a bad RECEIPT_SIGNATURE exits 78" "$rc" 78
check_has "and says why" "$(cat "$tmp/bad.log")" 'RECEIPT_SIGNATURE must be ed25519, eip191 or off, not "bad"'
check_lacks "before anything is bound" "$(cat "$tmp/bad.log")" "REST API bound"
e2e_finish "receipts"
