#!/usr/bin/env bash
# The tappd subcommands end to end against `teeliza simulator`, over TCP and a
# unix socket: derive (all chains, eliza-v0.1.9 wallets equal to the SDK
# vectors for the public tappd-simulator key), quote (report_data and RTMRs
# checked here with sha512sum and `teeliza replay`), info, the documented exit
# codes for bad input, and `teeliza demo`.
set -euo pipefail

: "${TEELIZA:?path of the teeliza binary}"
: "${TEELIZA_VECTORS:?path of tests/vectors}"
# shellcheck source=../lib/e2e.sh
. "$(dirname "$0")/../lib/e2e.sh"
e2e_setup tee

# A value from plugin-tee.json's derive_hkdf_sim entry for a path.
vector() { # path key
	awk -v p="$1" -v k="$2" '
		index($0, "\"path\": \"" p "\"") { f = 1 }
		f && index($0, "\"" k "\":") { sub(/^[^:]*: *"/, ""); sub(/",?[ \t\r]*$/, ""); print; exit }
	' "$TEELIZA_VECTORS/plugin-tee.json"
}

# ---- the simulator, on a free port and a unix socket, with tappd-simulator's public CA key ----
sock="$tmp/tappd.sock"
e2e_simulator sim --state-dir "$tmp/state" --socket "$sock" --key-file "$TEELIZA_VECTORS/tappd-simulator-app.key"
port=$sim_port
url="http://127.0.0.1:$port"
echo "simulator on $url and $sock"

unset TEE_MODE DSTACK_SIMULATOR_ENDPOINT WALLET_SECRET_SALT TEE_KEY_SCHEME || true
agent=b850bc30-45f8-0041-a00a-83df46d8555d

# ---- derive: eliza-v0.1.9 wallets are the SDK's for path = salt ----
sol_want=$(vector my-wallet-salt solana_pubkey_base58)
evm_want=$(vector my-wallet-salt evm_address)
[ -n "$sol_want" ] && [ -n "$evm_want" ] || { echo "cannot read the vectors" >&2; exit 1; }

got=$(WALLET_SECRET_SALT=my-wallet-salt TEE_MODE=LOCAL DSTACK_SIMULATOR_ENDPOINT="$url" \
	"$TEELIZA" derive --scheme eliza-v0.1.9 --agent-id "$agent" 2>"$tmp/err")
check_eq "derive solana eliza-v0.1.9 over TCP" "$got" "$sol_want"
log=$(cat "$tmp/err")
check_has "derive's mode line names the endpoint in use" "$log" \
	"TEE: Connecting to local simulator at $url (DSTACK_SIMULATOR_ENDPOINT replaces localhost:8090 of TEE_MODE=LOCAL)"
check_has "derive logs the SDK override" "$log" "Using simulator endpoint: $url"
check_lacks "no line claims another endpoint" "$log" "Connecting to local simulator at localhost:8090"
check_has "derive logs the attestation JSON" "$log" \
	"Generating attestation for:  {\"agentId\":\"$agent\",\"publicKey\":\"$sol_want\"}"
check_has "derive logs the quote object" "$log" "Remote attestation quote:  {"
check_has "derive checks the quote" "$log" "checked:"
if grep -q '^rtmr3: [0-9a-f]\{96\}$' <<<"$log"; then echo "ok: rtmr3 line without the stray f"; else fail "rtmr3 line"; fi

printf 'my-wallet-salt\n' >"$tmp/salt"
chmod 600 "$tmp/salt"
got=$(TEE_MODE=PRODUCTION DSTACK_SIMULATOR_ENDPOINT="$sock" \
	"$TEELIZA" derive --scheme eliza-v0.1.9 --chain evm --salt-file "$tmp/salt" --agent-id "$agent" --quiet)
check_eq "derive evm eliza-v0.1.9 over the unix socket, salt from a file" "$got" "$evm_want"

got=$(WALLET_SECRET_SALT=test "$TEELIZA" derive --endpoint "$sock" --scheme eliza-v0.1.9 --chain evm --no-attest \
	--agent-id "$agent" --quiet 2>"$tmp/err")
check_eq "derive --no-attest" "$got" "$(vector test evm_address)"
if grep -q "Generating attestation" "$tmp/err"; then fail "derive --no-attest quoted"; else echo "ok: --no-attest skips the quote"; fi

# raw: the public key is the tail of the DER, the secret only on request
der=$(vector test der_hex)
out=$(WALLET_SECRET_SALT=test "$TEELIZA" derive --endpoint "$url" --scheme eliza-v0.1.9 --chain raw --agent-id "$agent" \
	--quiet --show-secret)
check_eq "derive raw public key" "$(sed -n 1p <<<"$out")" "0x${der: -130}"
check_eq "derive raw --show-secret prints the DER" "$(sed -n 2p <<<"$out")" "$der"
out=$(WALLET_SECRET_SALT=test "$TEELIZA" derive --endpoint "$url" --scheme eliza-v0.1.9 --chain raw --agent-id "$agent" --quiet)
check_eq "derive raw without --show-secret prints one line" "$(wc -l <<<"$out" | tr -d ' ')" "1"

json=$(WALLET_SECRET_SALT=my-wallet-salt "$TEELIZA" derive --endpoint "$url" --scheme eliza-v0.1.9 --agent-id "$agent" --json --quiet)
check_has "derive --json address" "$json" "\"address\": \"$sol_want\""
check_has "derive --json quote" "$json" "\"quote\": \"0x04000200"
check_has "derive --json rtmrs" "$json" "\"rtmrs\": ["
check_has "derive --json event log" "$json" "\"eventLog\": ["
check_has "derive --json timestamp" "$json" "\"timestamp\": "
if grep -q secretKey <<<"$json"; then fail "derive --json shows a secret without --show-secret"; else echo "ok: no secret in --json"; fi

a1=$(WALLET_SECRET_SALT=s "$TEELIZA" derive --endpoint "$url" --agent-id "$agent" --quiet)
a1_ms=$(WALLET_SECRET_SALT=my-wallet-salt "$TEELIZA" derive --endpoint "$url" --agent-id "$agent" --quiet --no-attest)
a2=$(WALLET_SECRET_SALT=s "$TEELIZA" derive --endpoint "$url" --agent-id 025e0996-69d7-0dce-8189-390e354fd1c1 --quiet)
if [ -n "$a1" ] && [ "$a1" != "$a2" ]; then echo "ok: teeliza scheme separates agents"; else fail "teeliza scheme: '$a1' '$a2'"; fi

# ---- quote: report_data = SHA-512("app-data:" || data), RTMRs = replay of the log ----
"$TEELIZA" quote hello --endpoint "$sock" --quiet >"$tmp/quote.txt"
quote=$(sed -n 's/^quote: 0x//p' "$tmp/quote.txt")
rd=${quote:1136:128}
check_eq "quote report_data" "$rd" "$(printf 'app-data:hello' | sha512sum | cut -d' ' -f1)"
sed -n 's/^event_log: //p' "$tmp/quote.txt" | "$TEELIZA" replay - >"$tmp/replayed.txt"
check_eq "quote RTMRs equal teeliza replay of its event log" "$(cat "$tmp/replayed.txt")" "$(grep '^rtmr' "$tmp/quote.txt")"
for i in 0 1 2 3; do
	r=$(sed -n "s/^rtmr$i: //p" "$tmp/quote.txt")
	check_eq "quote body rtmr$i" "${quote:$((2 * (48 + 328 + 48 * i))):96}" "$r"
done

"$TEELIZA" quote 68656c6c6f --hex --hash sha256 --endpoint "$url" --quiet >"$tmp/q2.txt"
q2=$(sed -n 's/^quote: 0x//p' "$tmp/q2.txt")
check_eq "quote --hex --hash sha256" "${q2:1136:128}" "$(printf 'app-data:hello' | sha256sum | cut -d' ' -f1)$(printf '0%.0s' $(seq 1 64))"
"$TEELIZA" quote abc --hash raw --endpoint "$url" --quiet >"$tmp/q3.txt"
q3=$(sed -n 's/^quote: 0x//p' "$tmp/q3.txt")
check_eq "quote --hash raw pads at the start (SDK 0.1.7)" "${q3:1136:128}" "$(printf '0%.0s' $(seq 1 122))616263"
json=$("$TEELIZA" quote hello --endpoint "$url" --json --quiet)
check_has "quote --json" "$json" "\"reportData\": \"hello\""

# ---- info ----
out=$("$TEELIZA" info --endpoint "$sock" --quiet)
check_has "info app_id" "$out" "\"app_id\":"
out=$("$TEELIZA" info --endpoint "$url" --json --quiet)
check_has "info --json decodes tcb_info" "$out" "\"rtmr0\":"

# ---- bad input: each a clear message and its documented exit code ----
closed=$(e2e_free_port)
check_rc "missing salt" 78 "$TEELIZA" derive --endpoint "$url" --agent-id "$agent"
check_has "missing salt message" "$(cat "$tmp/err")" "WALLET_SECRET_SALT"
check_rc "empty salt" 78 env WALLET_SECRET_SALT= "$TEELIZA" derive --endpoint "$url" --agent-id "$agent"
check_rc "bad TEE_MODE" 78 env TEE_MODE=X WALLET_SECRET_SALT=s "$TEELIZA" derive --agent-id "$agent"
check_eq "bad TEE_MODE message" "$(cat "$tmp/err")" \
	"teeliza derive: Invalid TEE_MODE: X. Must be one of: LOCAL, DOCKER, PRODUCTION"
check_rc "TEE_MODE=OFF is rejected as by the plugin" 78 env TEE_MODE=OFF "$TEELIZA" quote x
check_rc "unreachable endpoint" 69 env WALLET_SECRET_SALT=s "$TEELIZA" derive --endpoint "http://127.0.0.1:$closed" --agent-id "$agent"
check_has "unreachable names the endpoint" "$(cat "$tmp/err")" "http://127.0.0.1:$closed"
check_rc "missing socket" 69 "$TEELIZA" quote x --endpoint "$tmp/nope.sock"
check_has "missing socket names it" "$(cat "$tmp/err")" "$tmp/nope.sock"
check_rc "unreachable via DSTACK_SIMULATOR_ENDPOINT" 69 env DSTACK_SIMULATOR_ENDPOINT="http://127.0.0.1:$closed" "$TEELIZA" info
check_rc "salt on the command line refused" 64 "$TEELIZA" derive --salt s --agent-id "$agent"
check_rc "salt file missing" 74 "$TEELIZA" derive --salt-file "$tmp/none" --agent-id "$agent" --endpoint "$url"
: >"$tmp/empty"
chmod 600 "$tmp/empty"
check_rc "salt file empty" 78 "$TEELIZA" derive --salt-file "$tmp/empty" --agent-id "$agent" --endpoint "$url"
printf '\n' >"$tmp/newline"
check_rc "salt file of one newline" 78 "$TEELIZA" derive --salt-file "$tmp/newline" --agent-id "$agent" --endpoint "$url"
printf 'a\0b' >"$tmp/nul"
check_rc "salt file with a NUL byte" 78 "$TEELIZA" derive --salt-file "$tmp/nul" --agent-id "$agent" --endpoint "$url"
printf 's' >"$tmp/open-salt"
chmod 644 "$tmp/open-salt"
check_rc "world-readable salt file works" 0 "$TEELIZA" derive --salt-file "$tmp/open-salt" --agent-id "$agent" --endpoint "$url" --quiet
check_has "world-readable salt file warns" "$(cat "$tmp/err")" "readable by others"
check_rc "no agent id" 64 env WALLET_SECRET_SALT=s "$TEELIZA" derive --endpoint "$url"
check_rc "bad chain" 64 env WALLET_SECRET_SALT=s "$TEELIZA" derive --chain btc --agent-id "$agent" --endpoint "$url"
check_rc "bad scheme" 64 env WALLET_SECRET_SALT=s "$TEELIZA" derive --scheme x --agent-id "$agent" --endpoint "$url"
check_rc "bad hex" 3 "$TEELIZA" quote zz --hex --endpoint "$url"
check_rc "raw data too large" 3 "$TEELIZA" quote "$(printf 'a%.0s' $(seq 1 65))" --hash raw --endpoint "$url"
check_rc "bad hash algorithm" 64 "$TEELIZA" quote x --hash sha1 --endpoint "$url"
check_rc "quote without data" 64 "$TEELIZA" quote --endpoint "$url"
check_rc "bad timeout" 64 "$TEELIZA" info --timeout soon --endpoint "$url"
check_rc "empty endpoint" 78 "$TEELIZA" info --endpoint ""
for cmd in derive quote info demo; do
	check_rc "$cmd --help" 0 "$TEELIZA" "$cmd" --help
	check_has "$cmd --help text" "$(cat "$tmp/out")" "usage: teeliza $cmd"
done

# ---- demo: the README's first command, on a free port ----
(cd "$tmp" && "$TEELIZA" demo --port 0 --state-dir "$tmp/demo-state") >"$tmp/demo.out" 2>"$tmp/demo.err" || fail "demo exit $? ($(cat "$tmp/demo.err"))"
out=$(cat "$tmp/demo.out")
check_has "demo mode line" "$out" "TEE: Connecting to local simulator at http://127.0.0.1:"
check_lacks "demo claims no other endpoint" "$out" "Connecting to local simulator at localhost:8090"
check_has "demo attestation JSON" "$out" "Generating attestation for:  {\"agentId\":\"$agent\",\"publicKey\":\""
check_has "demo quote object" "$out" "Remote attestation quote:  {"
check_has "demo checks" "$out" "Checked: the quote's RTMR0-3 equal the replay"
check_has "demo Solana" "$out" "Solana Public Key: "
check_has "demo EVM" "$out" "EVM Address: 0x"
check_has "demo stops the simulator" "$out" "Simulator stopped."
check_eq "demo prints rtmr lines for both wallets" "$(grep -c '^rtmr[0-3]: [0-9a-f]\{96\}$' <<<"$out")" "8"

# With tappd-simulator's key and the vectors' salt, the demo's eliza-v0.1.9 lines are the SDK's wallets.
out=$(cd "$tmp" && WALLET_SECRET_SALT=my-wallet-salt "$TEELIZA" demo --port 0 --state-dir "$tmp/demo-state2" \
	--key-file "$TEELIZA_VECTORS/tappd-simulator-app.key")
check_has "demo eliza-v0.1.9 Solana" "$(sed -n '/eliza-v0.1.9/,$p' <<<"$out")" "Solana Public Key: $sol_want"
check_has "demo eliza-v0.1.9 EVM" "$(sed -n '/eliza-v0.1.9/,$p' <<<"$out")" "EVM Address: $evm_want"
if grep -q my-wallet-salt <<<"$out"; then fail "demo printed the salt"; else echo "ok: demo does not print the salt"; fi

# ---- the demo's wallets are the same on every machine, and documented ----
demo_sol=2hdM9B3Hxuhm87k8MyjEYBf7cubVBARXxEmmtpNyDHYL
demo_evm=0x418571C3914b058E49076f6D06f0EeFF3C5E4D76
for run in 1 2; do
	out=$(cd "$tmp" && "$TEELIZA" demo --port 0 --state-dir "$tmp/demo-fresh-$run") || true
	check_has "demo (fresh state $run) Solana is the documented one" "$out" "Solana Public Key: $demo_sol"
	check_has "demo (fresh state $run) EVM is the documented one" "$out" "EVM Address: $demo_evm"
done
check_has "README shows the demo's Solana address" "$(cat "$TEELIZA_SRC/README.md")" "$demo_sol"
check_has "README shows the demo's EVM address" "$(cat "$TEELIZA_SRC/README.md")" "$demo_evm"
out=$(cd "$tmp" && "$TEELIZA" demo --port 0 --state-dir "$tmp/demo-fresh-1" --agent-id Eliza) || true
check_has "demo --agent-id takes a character name" "$out" "Agent id: b850bc30-45f8-0041-a00a-83df46d8555d (stringToUuid(\"Eliza\")"
check_has "demo --agent-id Eliza: the same wallet" "$out" "Solana Public Key: $demo_sol"

# ---- derive: a character name is stringToUuid(name), as the agent's id is ----
want=$(WALLET_SECRET_SALT=s "$TEELIZA" derive --endpoint "$url" --agent-id 80fd7cd9-19be-0fef-adeb-d0ce373f30a9 --quiet) || true
rc=0
got=$(WALLET_SECRET_SALT=s "$TEELIZA" derive --endpoint "$url" --agent-id Teeliza --no-attest 2>"$tmp/err") || rc=$?
check_eq "derive --agent-id NAME exits 0" "$rc" 0
check_eq "derive --agent-id Teeliza derives the agent Teeliza's wallet" "$got" "$want"
check_has "derive says how it read the name" "$(cat "$tmp/err")" \
	"--agent-id \"Teeliza\" is not a UUID, so it is taken as a character name: agent id 80fd7cd9-19be-0fef-adeb-d0ce373f30a9"
json=$(WALLET_SECRET_SALT=s "$TEELIZA" derive --endpoint "$url" --agent-id Teeliza --no-attest --json --quiet) || true
check_has "derive --json shows the UUID" "$json" '"agentId": "80fd7cd9-19be-0fef-adeb-d0ce373f30a9"'

# ---- derive: TEE_KEY_SCHEME is the default scheme, as for the agent ----
got=$(WALLET_SECRET_SALT=my-wallet-salt TEE_KEY_SCHEME=eliza-v0.1.9 "$TEELIZA" derive --endpoint "$url" \
	--agent-id "$agent" --no-attest 2>"$tmp/err") || true
check_eq "derive uses TEE_KEY_SCHEME" "$got" "$sol_want"
check_has "derive says where the scheme came from" "$(cat "$tmp/err")" "key scheme eliza-v0.1.9 (TEE_KEY_SCHEME)"
got=$(WALLET_SECRET_SALT=my-wallet-salt TEE_KEY_SCHEME=eliza-v0.1.9 "$TEELIZA" derive --endpoint "$url" \
	--agent-id "$agent" --no-attest --scheme teeliza --quiet) || true
check_eq "--scheme wins over TEE_KEY_SCHEME" "$got" "$a1_ms"
check_rc "bad TEE_KEY_SCHEME" 78 env WALLET_SECRET_SALT=s TEE_KEY_SCHEME=bogus "$TEELIZA" derive --endpoint "$url" --agent-id "$agent"
check_has "bad TEE_KEY_SCHEME names it" "$(cat "$tmp/err")" "TEE_KEY_SCHEME: "

# ---- derive, quote, info read the agent's .env (nearest one upwards; the environment wins) ----
mkdir -p "$tmp/agentdir/deeper"
printf 'TEE_MODE=LOCAL\nDSTACK_SIMULATOR_ENDPOINT=%s\nWALLET_SECRET_SALT=my-wallet-salt\nTEE_KEY_SCHEME=eliza-v0.1.9\n' "$url" \
	>"$tmp/agentdir/.env"
chmod 600 "$tmp/agentdir/.env"
got=$(cd "$tmp/agentdir/deeper" && "$TEELIZA" derive --agent-id "$agent" --chain evm --no-attest 2>"$tmp/err") || true
check_eq "derive with the agent's .env: its salt, scheme and endpoint" "$got" "$evm_want"
check_has "derive says which .env it read" "$(cat "$tmp/err")" \
	"teeliza derive: Loaded .env from $tmp/agentdir/.env: TEE_MODE, DSTACK_SIMULATOR_ENDPOINT, WALLET_SECRET_SALT, TEE_KEY_SCHEME"
check_lacks "derive never prints a .env value" "$(cat "$tmp/err")" "my-wallet-salt"
got=$(cd "$tmp/agentdir" && WALLET_SECRET_SALT=test "$TEELIZA" derive --agent-id "$agent" --chain evm --no-attest 2>"$tmp/err") || true
check_eq "the environment's salt wins over .env's" "$got" "$(vector test evm_address)"
check_has "derive says what the environment kept" "$(cat "$tmp/err")" "(already in the environment, kept: WALLET_SECRET_SALT)"
out=$(cd "$tmp/agentdir" && "$TEELIZA" info --quiet) || true
check_has "info with the agent's .env reaches its tappd" "$out" '"app_id":'
check_rc "quote --quiet prints no .env note" 0 sh -c "cd '$tmp/agentdir' && '$TEELIZA' quote x --quiet"
check_lacks "quote --quiet: nothing on stderr" "$(cat "$tmp/err")" "Loaded .env"
chmod 0646 "$tmp/agentdir/.env"
check_rc "a .env writable by every user is refused" 78 sh -c "cd '$tmp/agentdir' && '$TEELIZA' info"
check_has "and says why" "$(cat "$tmp/err")" "is writable by every user"
rm -f "$tmp/agentdir/.env"

# ---- replay reads teeliza's own JSON ----
"$TEELIZA" quote hello --endpoint "$url" --json --quiet >"$tmp/q.json" || true
want=$(jq -r '.rtmrs | to_entries[] | "rtmr\(.key): \(.value)"' "$tmp/q.json") || true
check_eq "replay reads quote --json (eventLog)" "$("$TEELIZA" replay "$tmp/q.json" 2>&1)" "$want"
WALLET_SECRET_SALT=s "$TEELIZA" derive --endpoint "$url" --agent-id "$agent" --json --quiet >"$tmp/d.json" || true
check_eq "replay reads derive --json (attestation.eventLog)" "$("$TEELIZA" replay - <"$tmp/d.json" 2>&1)" "$want"
"$TEELIZA" info --endpoint "$url" --quiet >"$tmp/i.json" || true
check_eq "replay reads tappd's Info (tcb_info)" "$("$TEELIZA" replay "$tmp/i.json" 2>&1)" "$want"

# ---- small things: help, exit codes, labels, hints ----
check_rc "teeliza help start" 0 "$TEELIZA" help start
check_has "teeliza help start is start's help" "$(cat "$tmp/out")" "usage: teeliza start"
check_rc "teeliza help nope" 64 "$TEELIZA" help nope
check_rc "info --help" 0 "$TEELIZA" info --help
check_lacks "info --help lists no quote check (info makes no quote)" "$(cat "$tmp/out")" "2 the quote"
check_lacks "info --help lists no salt (info takes none)" "$(cat "$tmp/out")" "salt"
{ "$TEELIZA" quote hello --endpoint "$url" --quiet || true; } | sed -n 's/^quote: 0x//p' >"$tmp/sq.hex"
check_rc "verify without collateral" 64 "$TEELIZA" verify "$tmp/sq.hex"
check_has "verify without collateral points at sim-root --collateral" "$(cat "$tmp/err")" "teeliza sim-root --collateral"
"$TEELIZA" sim-root --state-dir "$tmp/state" --collateral >"$tmp/sc.json" || true
rc=0
"$TEELIZA" verify "$tmp/sq.hex" --collateral "$tmp/sc.json" >"$tmp/v.out" 2>&1 || rc=$?
check_eq "a simulator quote does not verify against Intel's root" "$rc" 2
check_lacks "its qe_vendor_id is not labelled (Intel)" "$(cat "$tmp/v.out")" "(Intel)"
check_has "its qe_vendor_id is labelled as a claim" "$(cat "$tmp/v.out")" "(Intel's QE ID, as the quote claims"
check_rc "simulator on a taken port" 74 "$TEELIZA" simulator -q -p "$port" --state-dir "$tmp/state2"
check_has "simulator on a taken port hints at --port" "$(cat "$tmp/err")" "pass --port N for another port, or --port 0"
code=$(curl -s -o /dev/null -w '%{http_code}' -X POST -d '{"path":"my-wallet-salt"}' "$url/prpc/DeriveKey" || true)
check_eq "the simulator answers /prpc/DeriveKey without the Tappd. prefix" "$code" 200

e2e_finish "tee CLI"
