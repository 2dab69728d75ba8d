#!/usr/bin/env bash
# Receipts verified by an independent JS implementation (docs/VERIFIABILITY.md;
# issue 11 item 8): `teeliza start --simulator` with RECEIPT_SIGNATURE=eip191
# answers three times; receipt_js.mjs, on npm's canonicalize (RFC 8785),
# @noble/curves (Ed25519, secp256k1) and @noble/hashes, recomputes each
# receipt's canonical form and id, verifies both signatures, the statement's
# report data in the quote and the hash chain, and rejects tampered copies.
# teeliza verify-reply agrees on the same bundles.
set -euo pipefail
: "${TEELIZA:?}" "${TEELIZA_SRC:?}" "${TEELIZA_BUILD:?}"

here="$TEELIZA_SRC/tests/interop"
mods="$TEELIZA_BUILD/interop-receipt-js" # its own: npm prunes what it was not asked for
mkdir -p "$mods"
cp "$here/receipt_js.mjs" "$mods/"
# shellcheck source=../lib/npm_install.sh
. "$TEELIZA_SRC/tests/lib/npm_install.sh"
command -v node >/dev/null || { echo "FAIL: node is required (scripts/install-deps.sh installs it)" >&2; exit 1; }
specs=$(node -e 'const d = require(process.argv[1]).dependencies;
	console.log(["@noble/curves", "@noble/hashes", "canonicalize"].map(n => `${n}@${d[n]}`).join(" "))' "$here/package.json")
# shellcheck disable=SC2086
npm_install_pinned "$mods" $specs

# shellcheck source=../lib/e2e.sh
. "$TEELIZA_SRC/tests/lib/e2e.sh"
e2e_setup receipt-js
command -v jq >/dev/null || { echo "SKIP: jq not installed"; exit 77; }
unset OPENAI_API_KEY REDPILL_API_KEY OLLAMA_SERVER_URL LOCAL_MODEL_URL LMSTUDIO_SERVER_URL API_TOKEN \
	DSTACK_SIMULATOR_ENDPOINT TEE_KEY_SCHEME TEELIZA_PUBLIC_URL SQLITE_FILE TEE_API PCCS_URL TEE_KMS_ROOT
export SERVER_HOST=127.0.0.1 SERVER_PORT=0 TEELIZA_SIM_STATE="$tmp/sim" TEE_MODE=LOCAL \
	WALLET_SECRET_SALT=interop-receipts RECEIPT_SIGNATURE=eip191
cd "$tmp"
"$TEELIZA" start --simulator --non-interactive >"$tmp/a.out" 2>"$tmp/a.log" &
agent_pid=$!
api=$(e2e_wait_line "$tmp/a.log" 's/^REST API bound to 127\.0\.0\.1:\([0-9]*\)$/\1/p' "$agent_pid") ||
	fail "agent did not start: $(cat "$tmp/a.log")"
# waits for the agent's "started" line: the REST port is bound before it, so reading the log once here raced
agent_id=$(e2e_agent_id "$tmp/a.log" "$agent_pid") || fail "agent did not start: $(cat "$tmp/a.log")"
for i in 1 2 3; do
	curl -s -D "$tmp/h" -o /dev/null -H 'Content-Type: application/json' -d "{\"text\":\"message $i\"}" \
		"http://127.0.0.1:$api/Teeliza/message"
	rid=$(sed -n 's/^X-Teeliza-Receipt: \([0-9a-f]*\)\r*$/\1/Ip' "$tmp/h")
	curl -sf "http://127.0.0.1:$api/agents/$agent_id/receipts/$rid?bundle=1" >"$tmp/b$i.json" || fail "GET bundle $i"
done
kill -TERM "$agent_pid"
wait "$agent_pid" || true

out=$(node "$mods/receipt_js.mjs" "$tmp/b1.json" "$tmp/b2.json" "$tmp/b3.json") || fail "JS rejects genuine receipts: $out"
check_eq "JS verifies all three and their chain" "$(grep -c '^ok ' <<<"$out")" 3
"$TEELIZA" sim-root >"$tmp/root.pem"
"$TEELIZA" sim-root --collateral >"$tmp/coll.json"
check_rc "teeliza verify-reply agrees" 0 "$TEELIZA" verify-reply --collateral "$tmp/coll.json" \
	--trust-root "$tmp/root.pem" "$tmp/b3.json" --prev "$tmp/b2.json"

tamper() { # what jq-filter want-substring
	jq "$2" "$tmp/b3.json" >"$tmp/t.json"
	local o
	o=$(node "$mods/receipt_js.mjs" "$tmp/b1.json" "$tmp/b2.json" "$tmp/t.json") && fail "$1: JS accepted it"
	check_has "JS rejects $1" "$(tail -n 1 <<<"$o")" "$3"
}
flip='(.[:10] + (if .[10:11] == "0" then "1" else "0" end) + .[11:])'
tamper "one byte of the signature" ".signature |= $flip" "receipt signature"
tamper "one byte of the EIP-191 signature" ".eip191 |= $flip" "EIP-191 signature"
tamper "a receipt field" '.receipt |= sub("\"time\":1"; "\"time\":2")' "receipt: id"
tamper "the statement" '.statement |= sub("\"tlsKey\":\"\""; "\"tlsKey\":\"00\"")' "statement quote"
tamper "the quote's report data" ".quote |= (.[:1200] + (if .[1200:1201] == \"0\" then \"1\" else \"0\" end) + .[1201:])" \
	"statement quote"
out=$(node "$mods/receipt_js.mjs" "$tmp/b1.json" "$tmp/b3.json") && fail "JS accepted a gap in the chain"
check_has "JS rejects a deleted receipt" "$(tail -n 1 <<<"$out")" "hash chain"
e2e_finish "receipt JS interop"
