#!/usr/bin/env bash
# `teeliza start` end to end, driven through stdin as a user (or a script)
# drives it: the README flow (--simulator, TEE_MODE=LOCAL, bundled
# character, no key, no network). The wallet answer equals `teeliza derive
# --json` for the same salt, agent id and scheme; the attestation quote the
# chat links to is fetched from the agent's REST API after a restart (so the
# store persisted it) and verifies with `teeliza verify --trust-root` under
# `teeliza sim-root`. Also: `exit`, a character given by path, an invalid
# character file (one `path: message` line per problem), a missing salt,
# and --non-interactive with SIGTERM; the quick start's documented wallets; .env
# (found upwards, the environment wins, refused when unsafe or unreadable);
# every bad setting refused before anything is bound; --keep-serving.
set -euo pipefail

: "${TEELIZA:?path of the teeliza binary}"
# shellcheck source=../lib/e2e.sh
. "$(dirname "$0")/../lib/e2e.sh"
e2e_setup agent

# A clean environment: no model key (offline responder), no TEE settings but ours, loopback only.
unset OPENAI_API_KEY REDPILL_API_KEY OLLAMA_SERVER_URL LOCAL_MODEL_URL LMSTUDIO_SERVER_URL API_TOKEN \
	DSTACK_SIMULATOR_ENDPOINT TEE_KEY_SCHEME TEELIZA_PUBLIC_URL SQLITE_FILE TEE_MODE WALLET_SECRET_SALT \
	TEELIZA_OFFLINE SERVER_PORT EXPRESS_MAX_PAYLOAD
export SERVER_HOST=127.0.0.1 SERVER_PORT=0 TEELIZA_SIM_STATE="$tmp/sim"
salt="e2e-demo-salt"
cd "$tmp"

# ---- 1. the README flow, lines piped into stdin, ending with EOF ----
rc=0
printf "hello there\nwhat's your wallet address?\nplease give me a remote attestation\n" |
	TEE_MODE=LOCAL WALLET_SECRET_SALT="$salt" "$TEELIZA" start --simulator >"$tmp/chat.out" 2>"$tmp/chat.log" || rc=$?
check_eq "start --simulator exits cleanly at end of input" "$rc" 0
out=$(cat "$tmp/chat.out")
log=$(cat "$tmp/chat.log")
check_eq "one Agent line per reply element (3 + 1 callback), nothing else on stdout" \
	"$(grep -c '^Agent: ' "$tmp/chat.out")" 4
check_has "chat started" "$log" "Chat started. Type 'exit' to quit."
check_has "the dashboard URL is printed" "$log" "Dashboard: http://localhost:"
check_has "the simulator uses the public development key" "$log" "CA key: the public development key"
check_has "end of input says the server stops, and how to keep it" "$log" \
	"Chat ended: the REST API and the dashboard stop now, so the links above stop working. To keep serving after the chat (e.g. with piped input), run teeliza start --keep-serving"
check_has "bundled character" "$log" "using the bundled character Teeliza"
check_has "offline model" "$log" "offline responder (ELIZA)"
check_has "plugin mode line names the simulator in use" "$log" "TEE: Connecting to local simulator at http://127.0.0.1:"
check_lacks "no contradictory endpoint line" "$log" "Connecting to local simulator at localhost:8090"
check_has "attestation log: report data" "$log" 'Generating attestation for:  {"agentId":"'
check_has "attestation log: rtmr0" "$log" "rtmr0: "
check_has "attestation log: rtmr3" "$log" "rtmr3: "
check_has "attestation log: quote" "$log" "Remote attestation quote:  {"
check_lacks "the salt is never logged" "$log$out" "$salt"
agent_id=$(sed -n 's/^Agent Teeliza (\([0-9a-f-]*\)) started.*/\1/p' "$tmp/chat.log")
check_eq "agent id is stringToUuid(\"Teeliza\")" "$agent_id" "80fd7cd9-19be-0fef-adeb-d0ce373f30a9"
sol=$(sed -n 's/^Agent: My Solana address is \([1-9A-HJ-NP-Za-km-z]*\) and my EVM address is \(0x[0-9a-fA-F]*\)\.$/\1/p' "$tmp/chat.out")
evm=$(sed -n 's/^Agent: My Solana address is \([1-9A-HJ-NP-Za-km-z]*\) and my EVM address is \(0x[0-9a-fA-F]*\)\.$/\2/p' "$tmp/chat.out")
[ -n "$sol" ] && [ -n "$evm" ] || fail "no wallet answer in: $out"
quote_url=$(grep -o 'http://localhost:[0-9]*/agents/[0-9a-f-]*/attestations/[0-9a-f-]*' "$tmp/chat.out" | tail -n 1)
quote_id=${quote_url##*/}
check_has "the attestation answer" "$out" "RA Quote"
[ -n "$quote_id" ] || fail "no quote link in: $out"

# ---- 2. the same wallets from `teeliza derive` against a simulator with the same keys ----
e2e_simulator sim --state-dir "$tmp/sim" --dev-key
port=$sim_port
for chain in solana evm; do
	got=$(WALLET_SECRET_SALT="$salt" "$TEELIZA" derive --quiet --json --no-attest --agent-id "$agent_id" \
		--chain "$chain" --scheme teeliza --endpoint "http://127.0.0.1:$port" | jq -r .address)
	if [ "$chain" = solana ]; then want=$sol; else want=$evm; fi
	check_eq "chat's $chain address equals teeliza derive --json" "$want" "$got"
done

# ---- 3. restart serving only the API (no TEE plugin now): the quote was persisted, and verifies ----
"$TEELIZA" start --non-interactive >"$tmp/api.out" 2>"$tmp/api.log" &
api_pid=$!
api=$(e2e_wait_line "$tmp/api.log" 's/^REST API bound to 127\.0\.0\.1:\([0-9]*\)$/\1/p' "$api_pid") ||
	fail "agent API did not start: $(cat "$tmp/api.log")"
base="http://127.0.0.1:$api"
check_eq "GET /hello" "$(curl -s "$base/hello")" '{"message":"Hello World!"}'
curl -sf "$base/agents/$agent_id/attestations/$quote_id?format=bin" -o "$tmp/quote.bin" || fail "fetching the quote"
report=$(curl -sf "$base/agents/$agent_id/attestations/$quote_id" | jq -r .reportData)
check_has "the quote binds the message" "$report" '"content":"please give me a remote attestation"'
check_has "the quote binds the agent" "$report" "{\"agentId\":\"$agent_id\",\"timestamp\":"
"$TEELIZA" sim-root --state-dir "$tmp/sim" >"$tmp/root.pem"
"$TEELIZA" sim-root --state-dir "$tmp/sim" --collateral >"$tmp/coll.json"
rc=0
"$TEELIZA" verify "$tmp/quote.bin" --collateral "$tmp/coll.json" --trust-root "$tmp/root.pem" \
	--expect-app-data "$report" >"$tmp/verify.out" 2>&1 || rc=$?
check_eq "teeliza verify --trust-root accepts the chat's quote" "$rc" 0
rc=0
"$TEELIZA" verify "$tmp/quote.bin" --collateral "$tmp/coll.json" >"$tmp/verify2.out" 2>&1 || rc=$?
check_eq "without the simulator root it does not verify" "$rc" 2
rc=0
"$TEELIZA" verify "$tmp/quote.bin" --collateral "$tmp/coll.json" --trust-root "$tmp/root.pem" \
	--expect-app-data '{"agentId":"someone else"}' >"$tmp/verify3.out" 2>&1 || rc=$?
check_eq "nor for other data" "$rc" 2
mem=$(curl -sf "$base/agents/$agent_id/default-room-Teeliza/memories?count=20")
check_has "memories persisted across the restart" "$mem" "what's your wallet address?"
check_eq "message over REST after the restart" \
	"$(curl -s -H 'Content-Type: application/json' -d '{"text":""}' "$base/Teeliza/message")" "[]"
kill -TERM "$api_pid"
rc=0
wait "$api_pid" || rc=$?
check_eq "--non-interactive stops on SIGTERM with 0" "$rc" 0

# ---- 4. exit, a character by path, bad characters, missing salt ----
rc=0
printf "exit\nhello\n" | "$TEELIZA" start >"$tmp/exit.out" 2>"$tmp/exit.log" || rc=$?
check_eq "'exit' quits with 0" "$rc" 0
check_eq "'exit' answers nothing" "$(grep -c '^Agent: ' "$tmp/exit.out" || true)" 0

cat >"$tmp/ada.character.json" <<'EOF'
{"name":"Ada","modelProvider":"openai","bio":"Ada is terse.","lore":[],"messageExamples":[],"postExamples":[],
 "topics":[],"adjectives":[],"clients":[],"plugins":[],"style":{"all":[],"chat":[],"post":[]}}
EOF
rc=0
printf "hi\n" | "$TEELIZA" start --character=ada.character.json >"$tmp/ada.out" 2>"$tmp/ada.log" || rc=$?
check_eq "a character by path" "$rc" 0
check_has "its agent answers" "$(cat "$tmp/ada.log")" "Agent Ada ("
check_eq "one reply" "$(grep -c '^Agent: ' "$tmp/ada.out")" 1

cat >"$tmp/bad.character.json" <<'EOF'
{"name":5,"modelProvider":"openai","bio":"x","lore":[true],"messageExamples":[],"postExamples":[],
 "topics":[],"adjectives":[],"clients":[],"plugins":[]}
EOF
rc=0
"$TEELIZA" start --non-interactive --character="$tmp/bad.character.json" >"$tmp/bad.out" 2>"$tmp/bad.log" || rc=$?
check_eq "an invalid character exits 3" "$rc" 3
bad=$(cat "$tmp/bad.log")
check_has "Eliza's first line" "$bad" "Character configuration validation failed:"
check_has "path: message (name)" "$bad" "name: Expected string, received number"
check_has "path: message (lore.0)" "$bad" "lore.0: Expected string, received boolean"
check_has "path: message (style)" "$bad" "style: Required"
rc=0
"$TEELIZA" start --non-interactive --characters="ada.character.json,missing.character.json" \
	>"$tmp/miss.out" 2>"$tmp/miss.log" || rc=$?
check_eq "a missing character file exits 74" "$rc" 74
check_has "the paths tried are listed" "$(cat "$tmp/miss.log")" "Tried the following paths:"

rc=0
printf "hi\n" | TEE_MODE=LOCAL "$TEELIZA" start --simulator >"$tmp/nosalt.out" 2>"$tmp/nosalt.log" || rc=$?
check_eq "TEE_MODE without a salt exits 78" "$rc" 78
check_has "Eliza's message" "$(cat "$tmp/nosalt.log")" "WALLET_SECRET_SALT required when TEE_MODE is enabled"
rc=0
"$TEELIZA" start --bogus >"$tmp/u.out" 2>"$tmp/u.err" || rc=$?
check_eq "unknown option exits 64" "$rc" 64

# ---- 5. the quick start's wallets are the documented ones, on every machine ----
# scripts/run.sh: TEE_MODE=LOCAL, the public demo salt, the bundled character, the
# simulator's public development key. docs/AGENT.md shows these two addresses.
doc_sol=C5SWViqDHFNBNq9BuXT1Cfxwy2dJfwjc2AQAcouo3cqY
doc_evm=0x2f4b4d97F0844DAEABe49Cba5b54376943beEf85
check_has "docs/AGENT.md shows the quick start's Solana address" "$(cat "$TEELIZA_SRC/docs/AGENT.md")" "$doc_sol"
check_has "docs/AGENT.md shows the quick start's EVM address" "$(cat "$TEELIZA_SRC/docs/AGENT.md")" "$doc_evm"
wallet_answer() { # out file -> "SOL EVM"
	sed -n 's/^Agent: My Solana address is \([1-9A-HJ-NP-Za-km-z]*\) and my EVM address is \(0x[0-9a-fA-F]*\)\.$/\1 \2/p' "$1"
}

# ---- 6. .env, as Eliza reads it: the nearest one from the cwd up; the environment wins ----
mkdir -p "$tmp/proj/agent/sub"
printf '# an Eliza .env\nTEE_MODE=LOCAL # LOCAL | DOCKER | PRODUCTION\nexport WALLET_SECRET_SALT="teeliza-demo-salt"\n' \
	>"$tmp/proj/.env"
chmod 600 "$tmp/proj/.env"
rc=0
(cd "$tmp/proj/agent/sub" && printf "what's your wallet address?\n" |
	"$TEELIZA" start --simulator --sim-state-dir "$tmp/proj/sim" >"$tmp/env.out" 2>"$tmp/env.log") || rc=$?
check_eq ".env: start exits 0" "$rc" 0
check_has ".env: says which file it read, and the names" "$(cat "$tmp/env.log")" \
	"Loaded .env from $tmp/proj/.env: TEE_MODE, WALLET_SECRET_SALT"
check_eq ".env: the salt from .env gives the documented wallets" "$(wallet_answer "$tmp/env.out")" "$doc_sol $doc_evm"
check_lacks ".env: no value is logged" "$(cat "$tmp/env.log")" "LOCAL # LOCAL"
rc=0
(cd "$tmp/proj" && printf "what's your wallet address?\n" | WALLET_SECRET_SALT=from-the-environment \
	"$TEELIZA" start --simulator --sim-state-dir "$tmp/proj/sim" >"$tmp/env2.out" 2>"$tmp/env2.log") || rc=$?
check_eq ".env: environment wins, exit 0" "$rc" 0
check_has ".env: says what the environment kept" "$(cat "$tmp/env2.log")" \
	"Loaded .env from $tmp/proj/.env: TEE_MODE (already in the environment, kept: WALLET_SECRET_SALT)"
got=$(wallet_answer "$tmp/env2.out")
if [ -n "$got" ] && [ "$got" != "$doc_sol $doc_evm" ]; then ok ".env: the environment's salt is used"
else fail ".env: environment's salt not used: '$got'"; fi
chmod 0666 "$tmp/proj/.env"
rc=0
(cd "$tmp/proj" && timeout 60 "$TEELIZA" start --non-interactive >"$tmp/env3.out" 2>"$tmp/env3.log") || rc=$?
check_eq ".env writable by every user: exit 78" "$rc" 78
check_has ".env writable by every user: says so" "$(cat "$tmp/env3.log")" "$tmp/proj/.env is writable by every user"
check_lacks ".env writable by every user: nothing bound" "$(cat "$tmp/env3.log")" "REST API bound"
printf 'TEE_MODE=LOCAL\nWALLET_SECRET_SALT="unterminated\n' >"$tmp/proj/.env"
chmod 600 "$tmp/proj/.env"
rc=0
(cd "$tmp/proj" && timeout 60 "$TEELIZA" start --non-interactive >"$tmp/env4.out" 2>"$tmp/env4.log") || rc=$?
check_eq ".env that dotenv would misread: exit 78" "$rc" 78
check_has ".env error names the file and line" "$(cat "$tmp/env4.log")" "$tmp/proj/.env line 2: the \" quote is never closed"
check_lacks ".env error shows no value" "$(cat "$tmp/env4.log")" "unterminated"
rm -f "$tmp/proj/.env"

# ---- 7. settings are checked before anything is bound: a bad one leaves the port free, nothing said about listening ----
preflight() { # what want_rc want_text "NAME=value ..." [start options...]
	local what=$1 want=$2 text=$3 vars=$4 p rc=0
	shift 4
	p=$(e2e_free_port)
	# shellcheck disable=SC2086 # the settings are words on purpose
	env $vars timeout 60 "$TEELIZA" start --non-interactive --simulator --port "$p" "$@" \
		>"$tmp/pre.out" 2>"$tmp/pre.log" </dev/null || rc=$?
	check_eq "$what: exit $want" "$rc" "$want"
	check_has "$what: message" "$(cat "$tmp/pre.log")" "$text"
	check_lacks "$what: the API was never bound" "$(cat "$tmp/pre.log")" "REST API bound"
	check_lacks "$what: the simulator never started" "$(cat "$tmp/pre.log")" "Simulator (SIMULATED"
	if e2e_port_free "$p"; then ok "$what: port $p is free"; else fail "$what: port $p is taken"; fi
}
preflight "bad TEE_MODE" 78 "Invalid TEE_MODE: BAD. Must be one of: LOCAL, DOCKER, PRODUCTION" \
	"TEE_MODE=BAD WALLET_SECRET_SALT=s"
preflight "bad TEE_MODE without a salt" 78 "Invalid TEE_MODE: BAD" "TEE_MODE=BAD"
preflight "missing salt" 78 "WALLET_SECRET_SALT required when TEE_MODE is enabled" "TEE_MODE=LOCAL"
preflight "bad TEE_KEY_SCHEME" 78 "TEE_KEY_SCHEME: " "TEE_MODE=LOCAL WALLET_SECRET_SALT=s TEE_KEY_SCHEME=bogus"
preflight "bad SERVER_PORT" 78 "SERVER_PORT must be a port number" "SERVER_PORT=http"
preflight "unreadable character" 74 "Tried the following paths:" "TEE_MODE=LOCAL WALLET_SECRET_SALT=s" \
	--character=/nonexistent/x.character.json
preflight "bad model URL" 78 "agent Teeliza: OPENAI_API_URL is not an http(s) URL" \
	"TEE_MODE=LOCAL WALLET_SECRET_SALT=s OPENAI_API_KEY=k OPENAI_API_URL=ftp://example.invalid"

# ---- 8. --keep-serving: piped input ends, the links it printed keep working until SIGTERM ----
printf "what's your wallet address?\n" >"$tmp/ks.in"
TEE_MODE=LOCAL WALLET_SECRET_SALT="$salt" "$TEELIZA" start --simulator --keep-serving <"$tmp/ks.in" \
	>"$tmp/ks.out" 2>"$tmp/ks.log" &
ks_pid=$!
for _ in $(seq 1 200); do
	grep -q "still serving" "$tmp/ks.log" 2>/dev/null && break
	kill -0 "$ks_pid" 2>/dev/null || break
	sleep 0.1
done
check_has "--keep-serving says it goes on" "$(cat "$tmp/ks.log")" \
	"Chat ended; still serving the REST API and the dashboard at http://localhost:"
link=$(grep -o 'http://localhost:[0-9]*/agents/[0-9a-f-]*/attestations/[0-9a-f-]*' "$tmp/ks.out" | head -n 1)
dash=$(sed -n 's/^Dashboard: \(http:.*\)$/\1/p' "$tmp/ks.log")
[ -n "$link" ] && [ -n "$dash" ] || fail "--keep-serving: no link or dashboard URL ($link, $dash)"
check_eq "--keep-serving: the attestation link works after the input ended" \
	"$(curl -s -o /dev/null -w '%{http_code}' "${link/localhost/127.0.0.1}")" 200
check_eq "--keep-serving: the dashboard URL works" "$(curl -s -o /dev/null -w '%{http_code}' "${dash/localhost/127.0.0.1}")" 200
kill -TERM "$ks_pid" 2>/dev/null || true
rc=0
wait "$ks_pid" || rc=$?
check_eq "--keep-serving stops on SIGTERM with 0" "$rc" 0
rc=0
timeout 60 "$TEELIZA" start --keep-serving --non-interactive >/dev/null 2>"$tmp/ks2.log" </dev/null || rc=$?
check_eq "--keep-serving with --non-interactive is a usage error" "$rc" 64

e2e_finish "agent chat"
