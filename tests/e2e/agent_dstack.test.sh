#!/usr/bin/env bash
# An agent in TEE_MODE=PRODUCTION on a dstack 0.5 machine, with no endpoint
# variable: it finds /var/run/dstack.sock (the SDK's first socket), takes the
# dstack API and the dstack key scheme, gets both wallets from GetKey, walks
# each key's chain to the pinned KMS root (TEE_KMS_ROOT), shows that chain on
# the dashboard, and gets the same wallets after a restart and from
# `teeliza derive`.
#
# PRODUCTION looks only at the fixed socket paths, so the test gives itself
# a private /var/run: it runs in its own mount namespace (unshare -m, or
# unshare -rm as an unprivileged user where user namespaces are allowed) with
# a tmpfs on /run. No code path exists to move the socket list for tests,
# so none can be misused in production. Exit 77 (skipped) when neither
# namespace can be made.
set -euo pipefail
: "${TEELIZA:?}" "${TEELIZA_SRC:?}"

if [ -z "${AGENT_DSTACK_IN_NS:-}" ]; then
	for how in "-m" "-rm"; do
		if unshare $how --propagation private true 2>/dev/null; then
			AGENT_DSTACK_IN_NS=1 exec unshare $how --propagation private bash "$0" "$@"
		fi
	done
	echo "SKIP: cannot make a private mount namespace (unshare -m needs root, unshare -rm user namespaces)"
	exit 77
fi
mount -t tmpfs -o mode=0755 tmpfs "$(readlink -f /var/run)" ||
	{ echo "FAIL: cannot mount a tmpfs on /var/run in the private namespace" >&2; exit 1; }
[ ! -e /var/run/dstack.sock ] || { echo "FAIL: /var/run is not private" >&2; exit 1; }

# shellcheck source=../lib/e2e.sh
. "$TEELIZA_SRC/tests/lib/e2e.sh"
e2e_setup agent-dstack
unset DSTACK_SIMULATOR_ENDPOINT TAPPD_SIMULATOR_ENDPOINT TEE_API TEE_KEY_SCHEME API_TOKEN OPENAI_API_KEY \
	REDPILL_API_KEY OLLAMA_SERVER_URL LOCAL_MODEL_URL LMSTUDIO_SERVER_URL SQLITE_FILE TEELIZA_PUBLIC_URL

# The simulator on dstack's socket path (its TCP port only tells the test it is up).
"$TEELIZA" simulator --port 0 --state-dir "$tmp/sim" --dstack-socket /var/run/dstack.sock \
	>"$tmp/sim.out" 2>"$tmp/sim.err" &
sim=$!
e2e_wait_line "$tmp/sim.out" 's/^port \([0-9]*\)$/\1/p' "$sim" >/dev/null || { cat "$tmp/sim.err" >&2; exit 1; }
for _ in $(seq 1 100); do [ -S /var/run/dstack.sock ] && break; sleep 0.1; done
root=$(sed -n 's/^teeliza simulator: KMS root (k256) \([0-9a-f]*\)$/\1/p' "$tmp/sim.err")
[ -n "$root" ] || { cat "$tmp/sim.err" >&2; echo "FAIL: the simulator printed no KMS root" >&2; exit 1; }

export SERVER_HOST=127.0.0.1 SERVER_PORT=0 TEE_MODE=PRODUCTION WALLET_SECRET_SALT="dstack-e2e-salt-$$" \
	TEE_KMS_ROOT="$root"
cd "$tmp"
run_agent() { # log
	"$TEELIZA" start --non-interactive >"$tmp/$1.out" 2>"$tmp/$1.log" &
	agent=$!
	port=$(e2e_wait_line "$tmp/$1.log" 's/^REST API bound to 127\.0\.0\.1:\([0-9]*\)$/\1/p' "$agent" &&
		e2e_wait_line "$tmp/$1.log" '/started; model/p' "$agent" >/dev/null) ||
		{ cat "$tmp/$1.log" >&2; echo "FAIL: the agent did not start" >&2; exit 1; }
	port=$(sed -n 's/^REST API bound to 127\.0\.0\.1:\([0-9]*\)$/\1/p' "$tmp/$1.log" | head -n 1)
}
stop_agent() {
	kill -TERM "$agent"
	wait "$agent" || true
}

run_agent agent1
log=$(cat "$tmp/agent1.log")
check_has "PRODUCTION finds the dstack socket" "$log" \
	"TEE: Running in production mode without simulator: dstack API at /var/run/dstack.sock (found)"
check_has "the dstack API brings the dstack scheme" "$log" \
	"TEE: key scheme dstack (TEE_KEY_SCHEME unset: the default of the dstack API)"
check_has "the Solana key comes from GetKey, its chain verified" "$log" \
	"TEE: solana key from dstack GetKey(path teeliza/dstack/v1/solana/"
check_has "the EVM key comes from GetKey, its chain verified to the simulator's KMS root" "$log" \
	"chain verified to the pinned KMS root $root"
view=$(curl -sf "http://127.0.0.1:$port/dashboard/api/agents/Teeliza") || fail "dashboard view"
check_eq "dashboard: API" "$(jq -r .tee.api <<<"$view")" dstack
check_eq "dashboard: scheme" "$(jq -r .tee.keyScheme <<<"$view")" dstack
check_eq "dashboard: both chains verified" "$(jq -c '[.wallets[].keyChain.verified]' <<<"$view")" '[true,true]'
check_eq "dashboard: the KMS root" "$(jq -r '.wallets[1].keyChain.kmsRoot' <<<"$view")" "$root"
check_eq "dashboard: app id from the attested log" "$(jq -r '.wallets[0].keyChain.appIdFromEventLog' <<<"$view")" true
check_eq "dashboard: GetKey purposes" "$(jq -c '[.wallets[].keyChain.purpose]' <<<"$view")" '["solana","evm"]'
check_eq "dashboard: the quote binds the wallet" "$(jq -r '.wallets[0].attestation.reportData.matches' <<<"$view")" true
agent_uuid=$(jq -r .id <<<"$view")
sol=$(jq -r '.wallets[0].address' <<<"$view")
evm=$(jq -r '.wallets[1].address' <<<"$view")
# REMOTE_ATTESTATION over dstack: GetQuote with SHA-512("app-data:" ‖ JSON), checked and stored.
reply=$(curl -sf -H 'Content-Type: application/json' -d '{"text":"please give me a remote attestation"}' \
	"http://127.0.0.1:$port/Teeliza/message") || fail "POST message"
qid=$(grep -o "attestations/[0-9a-f-]*" <<<"$reply" | head -n 1 | cut -d/ -f2)
[ -n "$qid" ] || fail "the REMOTE_ATTESTATION reply links no quote: $reply"
att=$(curl -sf "http://127.0.0.1:$port/agents/$agent_uuid/attestations/$qid") || fail "fetching the message's quote"
check_has "the message's quote binds the message" "$(jq -r .reportData <<<"$att")" \
	'"content":"please give me a remote attestation"'
# Receipts over dstack: the reply key comes from GetKey and its statement is quoted by GetQuote.
check_has "the reply key comes from the dstack API" "$(cat "$tmp/agent1.log")" "reply key "
curl -s -D "$tmp/rh" -o "$tmp/rb" -H 'Content-Type: application/json' -d '{"text":"hello"}' \
	"http://127.0.0.1:$port/Teeliza/message"
rid=$(sed -n 's/^X-Teeliza-Receipt: \([0-9a-f]*\)\r*$/\1/Ip' "$tmp/rh")
check_eq "a reply on dstack carries a receipt" "${#rid}" 64
rec=$(curl -sf "http://127.0.0.1:$port/agents/$agent_uuid/receipts/$rid") || fail "GET receipt"
check_eq "the receipt is signed by the reply key" "$(jq -r .publicKey <<<"$rec")" \
	"$(jq -r .receipt <<<"$rec" | jq -r .replyKey)"
sq=$(curl -sf "http://127.0.0.1:$port/agents/$agent_uuid/attestations/$(jq -r .statementQuoteId <<<"$rec")") ||
	fail "fetching the reply key's statement quote"
check_has "the statement quote names the reply key" "$(jq -r .reportData <<<"$sq")" \
	"\"replyKey\":\"$(jq -r .publicKey <<<"$rec")\""
stmt_rd=$(jq -j .reportData <<<"$sq" | sha512sum | cut -d' ' -f1)
check_eq "GetQuote's report data is SHA-512(statement), raw" \
	"$(jq -r .quote <<<"$sq" | sed 's/^0x//' | cut -c$((2 * 568 + 1))-$((2 * 632)))" "$stmt_rd"
stop_agent

run_agent agent2
view2=$(curl -sf "http://127.0.0.1:$port/dashboard/api/agents/Teeliza") || fail "dashboard view after restart"
check_eq "same Solana wallet after a restart" "$(jq -r '.wallets[0].address' <<<"$view2")" "$sol"
check_eq "same EVM wallet after a restart" "$(jq -r '.wallets[1].address' <<<"$view2")" "$evm"
stop_agent

# `teeliza derive` in the same setting chooses the same API and scheme, and gets the same wallets.
for chain in solana evm; do
	got=$("$TEELIZA" derive --quiet --no-attest --agent-id "$agent_uuid" --chain "$chain")
	if [ "$chain" = solana ]; then want=$sol; else want=$evm; fi
	check_eq "teeliza derive's $chain wallet" "$got" "$want"
done
# A wrong pinned root: the chain's last link breaks, and the log says which.
# (the generator point: a valid key, but not the root)
TEE_KMS_ROOT=0279be667ef9dcbbac55a06295ce870b07029bfcdb2dce28d959f2815b16f81798 run_agent agent3
check_has "a wrong KMS root breaks the kms-root link" "$(cat "$tmp/agent3.log")" "chain NOT verified, link kms-root"
stop_agent
# dstack-sdk needs a user's path: not an agent scheme.
rc=0
TEE_KEY_SCHEME=dstack-sdk timeout 60 "$TEELIZA" start --non-interactive >"$tmp/sdk.out" 2>"$tmp/sdk.log" || rc=$?
check_eq "TEE_KEY_SCHEME=dstack-sdk is refused for an agent (78)" "$rc" 78
rc=0
TEE_KMS_ROOT=04abcd timeout 60 "$TEELIZA" start --non-interactive >"$tmp/root.out" 2>"$tmp/root.log" || rc=$?
check_eq "a TEE_KMS_ROOT that is not a compressed key exits 78" "$rc" 78
check_has "and says what it wants" "$(cat "$tmp/root.log")" "TEE_KMS_ROOT must be the KMS root's compressed secp256k1"
# A scheme of the other API is a configuration error.
rc=0
TEE_API=tappd TEE_KEY_SCHEME=dstack timeout 60 "$TEELIZA" start --non-interactive >"$tmp/bad.out" 2>"$tmp/bad.log" || rc=$?
check_eq "TEE_API=tappd with TEE_KEY_SCHEME=dstack exits 78" "$rc" 78
check_has "and says why" "$(cat "$tmp/bad.log")" "TEE_KEY_SCHEME=dstack needs the dstack API, but TEE_API=tappd"
kill "$sim" 2>/dev/null || true
[ "$fails" -eq 0 ] || cat "$tmp/agent3.log" >&2
e2e_finish "agent on dstack"
