#!/usr/bin/env bash
# `teeliza start` with elizaOS 1.x (v1) character files beside 0.1.x ones:
# the TEE starter's Mr. TEE (a real 1.x character, tests/vectors/v1) chats
# with the simulator and answers its wallet with the same addresses
# `teeliza derive` gives for its agent id (stringToUuid("Mr. TEE"), as
# elizaOS 1.x gives it); its env secret CHARACTER.MR__TEE.TEE_MODE beats
# the file's settings.secrets (PRODUCTION) as in 1.x; the log says which plugins are
# used and which ignored; --characters mixes a v1 and a 0.1.x file; an
# invalid v1 file exits 3 with elizaOS 1.x's loader words and zod's lines.
set -euo pipefail

: "${TEELIZA:?path of the teeliza binary}"
: "${TEELIZA_VECTORS:?path of tests/vectors}"
# shellcheck source=../lib/e2e.sh
. "$(dirname "$0")/../lib/e2e.sh"
e2e_setup agent-v1

unset OPENAI_API_KEY REDPILL_API_KEY OLLAMA_SERVER_URL OLLAMA_API_ENDPOINT LOCAL_MODEL_URL LMSTUDIO_SERVER_URL \
	API_TOKEN DSTACK_SIMULATOR_ENDPOINT TEE_KEY_SCHEME TEELIZA_PUBLIC_URL SQLITE_FILE TEE_MODE WALLET_SECRET_SALT \
	TEELIZA_OFFLINE SERVER_PORT EXPRESS_MAX_PAYLOAD
export SERVER_HOST=127.0.0.1 SERVER_PORT=0 TEELIZA_SIM_STATE="$tmp/sim"
salt="e2e-v1-salt"
cd "$tmp"
mrtee="$TEELIZA_VECTORS/v1/characters/mr-tee-1.7.2.character.json"

# ---- 1. Mr. TEE: a v1 file, its TEE_MODE from the CHARACTER.<NAME>.<KEY> env secret ----
rc=0
printf "hello\nwhat's your wallet address?\n" |
	env "CHARACTER.MR__TEE.TEE_MODE=LOCAL" WALLET_SECRET_SALT="$salt" "$TEELIZA" start --simulator \
	--character="$mrtee" >"$tmp/tee.out" 2>"$tmp/tee.log" || rc=$?
log=$(cat "$tmp/tee.log")
check_eq "a v1 character starts and ends cleanly" "$rc" 0
check_has "read as v1" "$log" "(elizaOS 1.x format)"
check_has "the model plugin named" "$log" "@elizaos/plugin-redpill: model provider redpill"
check_has "ignored plugins named" "$log" "@elizaos/plugin-discord: ignored"
check_has "no key: the offline responder" "$log" "offline responder"
agent_id=$(sed -n 's/^Agent Mr\. TEE (\([0-9a-f-]*\)) started.*/\1/p' "$tmp/tee.log")
check_eq "agent id is 1.x's stringToUuid(\"Mr. TEE\")" "$agent_id" "f1b8ef45-dab5-095e-90a8-87a35b16966e"
sol=$(sed -n 's/^Agent: My Solana address is \([1-9A-HJ-NP-Za-km-z]*\) and my EVM address is \(0x[0-9a-fA-F]*\)\.$/\1/p' "$tmp/tee.out")
evm=$(sed -n 's/^Agent: My Solana address is \([1-9A-HJ-NP-Za-km-z]*\) and my EVM address is \(0x[0-9a-fA-F]*\)\.$/\2/p' "$tmp/tee.out")
[ -n "$sol" ] && [ -n "$evm" ] || fail "no wallet answer in: $(cat "$tmp/tee.out")"
check_lacks "the salt is never logged" "$log$(cat "$tmp/tee.out")" "$salt"
e2e_simulator sim --state-dir "$tmp/sim" --dev-key
for chain in solana evm; do
	got=$(WALLET_SECRET_SALT="$salt" "$TEELIZA" derive --quiet --json --no-attest --agent-id "$agent_id" \
		--chain "$chain" --scheme teeliza --endpoint "http://127.0.0.1:$sim_port" | jq -r .address)
	if [ "$chain" = solana ]; then want=$sol; else want=$evm; fi
	check_eq "the v1 agent's $chain address equals teeliza derive --json" "$want" "$got"
done

# ---- 2. a v1 and a 0.1.x character in one process ----
rc=0
printf "hi\n" | "$TEELIZA" start \
	--characters="$TEELIZA_VECTORS/v1/characters/ada.json,$TEELIZA_VECTORS/characters/c3po.character.json" \
	>"$tmp/two.out" 2>"$tmp/two.log" || rc=$?
check_eq "--characters with both formats" "$rc" 0
check_has "the v1 agent" "$(cat "$tmp/two.log")" "Agent Ada ("
check_has "the 0.1.x agent" "$(cat "$tmp/two.log")" "Agent C-3PO ("

# ---- 3. an invalid v1 file: elizaOS 1.x's words, zod's lines, exit 3 ----
cat >"$tmp/bad.json" <<'EOF2'
{"name":"","bio":["ok",3],"plugins":[{"name":"x"}],"description":"d"}
EOF2
rc=0
"$TEELIZA" start --non-interactive --character="$tmp/bad.json" >/dev/null 2>"$tmp/bad.log" || rc=$?
check_eq "an invalid v1 character exits 3" "$rc" 3
check_eq "one line, in 1.x's words" "$(cat "$tmp/bad.log")" \
	"Character file '$tmp/bad.json' contains invalid character data. Failed to load character from $tmp/bad.json: Character validation failed: name: Character name is required; bio: Invalid input; plugins.0: Invalid input: expected string, received object; : Unrecognized key: \"description\""

e2e_finish "agent v1 character"
