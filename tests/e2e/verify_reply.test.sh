#!/usr/bin/env bash
# `teeliza verify-reply` end to end (docs/VERIFIABILITY.md, "Reply bundles"):
# `teeliza start --simulator` answers twice; the bundles of both replies
# (GET /agents/:id/receipts/:rid?bundle=1) verify with the simulator's root
# and collateral, the second against the first (--prev); then copies with
# one link tampered each are rejected naming that link, with verify's exit
# codes: one byte of the signature, a receipt field, the bundle's prev, a
# previous receipt that is not this one's, the quote, an event of the log,
# the statement, a compose hash expectation, a KMS root the bundle cannot
# reach, a malformed bundle.
set -euo pipefail

: "${TEELIZA:?path of the teeliza binary}"
# shellcheck source=../lib/e2e.sh
. "$(dirname "$0")/../lib/e2e.sh"
e2e_setup verify-reply
command -v jq >/dev/null || { echo "SKIP: jq not installed"; exit 77; }

unset OPENAI_API_KEY REDPILL_API_KEY OLLAMA_SERVER_URL LOCAL_MODEL_URL LMSTUDIO_SERVER_URL API_TOKEN \
	DSTACK_SIMULATOR_ENDPOINT TEE_KEY_SCHEME TEELIZA_PUBLIC_URL SQLITE_FILE TEE_MODE WALLET_SECRET_SALT \
	TEELIZA_OFFLINE SERVER_PORT RECEIPT_SIGNATURE PCCS_URL TEE_KMS_ROOT TEE_API
export SERVER_HOST=127.0.0.1 SERVER_PORT=0 TEELIZA_SIM_STATE="$tmp/sim" TEE_MODE=LOCAL WALLET_SECRET_SALT=e2e-vr
cd "$tmp"

"$TEELIZA" start --simulator --non-interactive >"$tmp/a.out" 2>"$tmp/a.log" &
agent_pid=$!
api=$(e2e_wait_line "$tmp/a.log" 's/^REST API bound to 127\.0\.0\.1:\([0-9]*\)$/\1/p' "$agent_pid") ||
	fail "agent did not start: $(cat "$tmp/a.log")"
base="http://127.0.0.1:$api"
agent_id=$(e2e_agent_id "$tmp/a.log" "$agent_pid") || fail "no agent id: $(cat "$tmp/a.log")"

reply() { # text out-bundle
	curl -s -D "$tmp/h" -o "$tmp/b" -H 'Content-Type: application/json' -d "{\"text\":\"$1\"}" "$base/Teeliza/message"
	local rid
	rid=$(sed -n 's/^X-Teeliza-Receipt: \([0-9a-f]*\)\r*$/\1/Ip' "$tmp/h")
	[ ${#rid} -eq 64 ] || fail "no receipt header"
	curl -sf "$base/agents/$agent_id/receipts/$rid?bundle=1" >"$2" || fail "GET bundle"
	curl -sf "$base/agents/$agent_id/receipts/$rid" >"$2.plain" || fail "GET receipt"
}
reply "first words" "$tmp/b1.json"
reply "second words" "$tmp/b2.json"
check_eq "without ?bundle=1 the route keeps its shape" "$(jq -c 'keys' "$tmp/b2.json.plain")" \
	'["algorithm","id","publicKey","receipt","seq","signature","statementQuoteId"]'
check_eq "the bundle names its format" "$(jq -r .format "$tmp/b2.json")" teeliza-reply-bundle
check_eq "the bundle names the previous receipt" "$(jq -r .prev "$tmp/b2.json")" "$(jq -r .id "$tmp/b1.json")"
check_has "a tappd bundle says it has no key chain" "$(jq -r .keyProvenance.note "$tmp/b2.json")" "no signature chain"
kill -TERM "$agent_pid"
wait "$agent_pid" || true

"$TEELIZA" sim-root >"$tmp/root.pem"
"$TEELIZA" sim-root --collateral >"$tmp/coll.json"
vr() { "$TEELIZA" verify-reply --collateral "$tmp/coll.json" --trust-root "$tmp/root.pem" "$@"; }

check_rc "the second reply verifies against the first" 0 vr "$tmp/b2.json" --prev "$tmp/b1.json"
check_rc "--prev takes the receipt route's answer too" 0 vr "$tmp/b2.json" --prev "$tmp/b1.json.plain"
check_rc "the bundle from stdin" 0 vr - --prev "$tmp/b1.json" <"$tmp/b2.json"
vr --json "$tmp/b2.json" --prev "$tmp/b1.json" >"$tmp/ok.json"
check_eq "--json says ok" "$(jq -r '.ok, .link, .chainChecked, .quote.verdict' "$tmp/ok.json" | tr '\n' ' ')" \
	"true null true trusted "
check_rc "without the simulator's root the quote is not trusted" 2 \
	"$TEELIZA" verify-reply --collateral "$tmp/coll.json" "$tmp/b2.json"

# expect LINK RC FILE [options]: verify-reply fails naming LINK with exit RC
expect() {
	local link=$1 rc=$2 got out
	shift 2
	set +e
	out=$(vr --json "$@" 2>&1)
	got=$?
	set -e
	[ "$got" -eq "$rc" ] || fail "$link: exit $got, want $rc: $out"
	[ "$(jq -r .link <<<"$out")" = "$link" ] || fail "$link: named $(jq -r '.link + ": " + .message' <<<"$out")"
	ok "tampered $link: rejected naming it ($(jq -r .message <<<"$out" | cut -c1-90))"
}
# flip one hex digit of a string member at a position (from the end when negative)
flip() { # file member position out
	jq --arg m "$2" --argjson p "$3" '.[$m] |= (. as $s | ($p | if . < 0 then ($s | length) + . else . end) as $i |
		$s[:$i] + (if $s[$i:$i+1] == "0" then "1" else "0" end) + $s[$i+1:])' "$1" >"$4"
}

flip "$tmp/b2.json" signature 10 "$tmp/t.json"
expect "receipt signature" 2 "$tmp/t.json"
jq '.receipt |= sub("\"responseSha256\":\"."; "\"responseSha256\":\"0")' "$tmp/b2.json" >"$tmp/t0.json"
jq '.receipt |= sub("\"responseSha256\":\"."; "\"responseSha256\":\"1")' "$tmp/b2.json" >"$tmp/t1.json"
# (whichever of the two changed it: the digit may have been 0 already)
if [ "$(jq -r .receipt "$tmp/t0.json")" = "$(jq -r .receipt "$tmp/b2.json")" ]; then cp "$tmp/t1.json" "$tmp/t.json"; else cp "$tmp/t0.json" "$tmp/t.json"; fi
expect "receipt signature" 2 "$tmp/t.json"
jq '.receipt |= sub("\"seq\":2"; "\"seq\": 2")' "$tmp/b2.json" >"$tmp/t.json"
expect "receipt" 2 "$tmp/t.json"
flip "$tmp/b2.json" prev 5 "$tmp/t.json"
expect "hash chain" 2 "$tmp/t.json" --prev "$tmp/b1.json"
jq '.receipt |= sub("\"time\":1"; "\"time\":2")' "$tmp/b1.json" >"$tmp/p.json"
expect "hash chain" 2 "$tmp/b2.json" --prev "$tmp/p.json"
expect "hash chain" 2 "$tmp/b1.json" --prev "$tmp/b2.json"
flip "$tmp/b2.json" publicKey 0 "$tmp/t.json"
expect "reply key" 2 "$tmp/t.json"
jq '.statement |= sub("\"tlsKey\":\"\""; "\"tlsKey\":\"00\"")' "$tmp/b2.json" >"$tmp/t.json"
expect "statement quote" 2 "$tmp/t.json"
# one byte of the quote: report data (TD report body 520..583), then the signature (after the body)
flip "$tmp/b2.json" quote $((2 * 600)) "$tmp/t.json"
expect "statement quote" 2 "$tmp/t.json"
flip "$tmp/b2.json" quote $((2 * 700)) "$tmp/t.json"
expect "statement quote" 2 "$tmp/t.json"
jq '.quote |= .[:400]' "$tmp/b2.json" >"$tmp/t.json"
expect "statement quote" 2 "$tmp/t.json"
jq '.eventLog |= (fromjson | (map(.imr == 3 and .event == "compose-hash") | index(true)) as $i |
	.[$i].event_payload |= ((if .[:2] == "00" then "ff" else "00" end) + .[2:]) | tojson)' "$tmp/b2.json" >"$tmp/t.json"
[ "$(jq -r .eventLog "$tmp/t.json")" != "$(jq -r .eventLog "$tmp/b2.json")" ] || fail "the event was not changed"
expect "event log" 2 "$tmp/t.json"
jq '.eventLog |= (fromjson | .[0].digest |= ((if .[:2] == "00" then "ff" else "00" end) + .[2:]) | tojson)' "$tmp/b2.json" >"$tmp/t.json"
expect "event log" 2 "$tmp/t.json"
expect "app identity" 2 "$tmp/b2.json" --expect-compose-hash "$(printf '%064d' 7)"
compose=$(jq -r '.appIdentity.composeHash' "$tmp/ok.json")
check_rc "the right compose hash holds" 0 vr "$tmp/b2.json" --expect-compose-hash "$compose"
expect "key provenance" 2 "$tmp/b2.json" --kms-root "02$(printf '%064d' 1)"
printf '{"format":"teeliza-reply-bundle","version":1}' >"$tmp/t.json"
expect "bundle" 3 "$tmp/t.json"
printf 'not json' >"$tmp/t.json"
expect "bundle" 3 "$tmp/t.json"
# --chain: the receipts as the route serves them, checked under the bundle's verified key
jq -s '.' "$tmp/b1.json.plain" "$tmp/b2.json.plain" >"$tmp/chain.json"
check_rc "--chain: both receipts under the bundle's key" 0 vr "$tmp/b2.json" --chain "$tmp/chain.json"
jq '.[1].signature |= (.[:6] + (if .[6:7] == "0" then "1" else "0" end) + .[7:])' "$tmp/chain.json" >"$tmp/c.json"
expect "receipt signature" 2 "$tmp/b2.json" --chain "$tmp/c.json"
jq 'reverse' "$tmp/chain.json" >"$tmp/c.json"
expect "hash chain" 2 "$tmp/b2.json" --chain "$tmp/c.json"
jq '[.[1]]' "$tmp/chain.json" >"$tmp/c.json"
check_rc "--chain after --prev" 0 vr "$tmp/b2.json" --chain "$tmp/c.json" --prev "$tmp/b1.json"
expect "hash chain" 2 "$tmp/b2.json" --chain "$tmp/c.json" --prev "$tmp/b2.json"
printf '[{"receipt":1}]' >"$tmp/c.json"
check_rc "a malformed --chain is bad input" 3 vr "$tmp/b2.json" --chain "$tmp/c.json"
check_rc "a bundle that does not exist" 74 vr "$tmp/nothing.json"
check_rc "no collateral is a usage error" 64 "$TEELIZA" verify-reply "$tmp/b2.json"
e2e_finish "verify-reply"
