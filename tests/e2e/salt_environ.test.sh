#!/usr/bin/env bash
# `teeliza start` takes WALLET_SECRET_SALT out of its environment at start-up:
# /proc/PID/environ of the running agent no longer holds the value (the name
# stays, followed by NUL bytes), yet the agents still derive their wallets
# with it, also an agent started later through POST /agents/:id/set. Neither
# the log nor the REST API ever shows the salt.
set -euo pipefail

: "${TEELIZA:?path of the teeliza binary}"
# shellcheck source=../lib/e2e.sh
. "$(dirname "$0")/../lib/e2e.sh"
e2e_setup salt
pid=""

# Wait (at most 60 s) until the log holds $1 $2 times.
wait_log() {
	local i
	for i in $(seq 1 600); do
		if [ "$(grep -cF -- "$1" "$tmp/agent.log" 2>/dev/null || true)" -ge "$2" ]; then return 0; fi
		if ! kill -0 "$pid" 2>/dev/null; then break; fi
		sleep 0.1
	done
	fail "the log never showed '$1' $2 time(s): $(tail -n 5 "$tmp/agent.log" 2>/dev/null)"
	return 1
}

unset OPENAI_API_KEY REDPILL_API_KEY OLLAMA_SERVER_URL LOCAL_MODEL_URL LMSTUDIO_SERVER_URL API_TOKEN \
	DSTACK_SIMULATOR_ENDPOINT TEE_KEY_SCHEME TEELIZA_PUBLIC_URL SQLITE_FILE TEE_MODE WALLET_SECRET_SALT \
	TEELIZA_OFFLINE EXPRESS_MAX_PAYLOAD
salt="environ-e2e-salt-5f0c9a1b"
cd "$tmp"

SERVER_HOST=127.0.0.1 SERVER_PORT=0 TEELIZA_SIM_STATE="$tmp/sim" SQLITE_FILE="$tmp/db.sqlite" \
	TEE_MODE=LOCAL WALLET_SECRET_SALT="$salt" \
	"$TEELIZA" start --simulator --non-interactive >"$tmp/agent.out" 2>"$tmp/agent.log" &
pid=$!
wait_log "wallets (key scheme teeliza)" 1
port=$(sed -n 's/^REST API bound to 127\.0\.0\.1:\([0-9]*\)$/\1/p' "$tmp/agent.log" | head -n 1)
[ -n "$port" ] || fail "no port in the log"

# The environment the process started with, as the kernel shows it.
tr '\0' '\n' <"/proc/$pid/environ" >"$tmp/environ"
if grep -qF -- "$salt" "$tmp/environ"; then fail "/proc/$pid/environ still holds the salt"; else ok "salt gone from /proc/PID/environ"; fi
if grep -qx "WALLET_SECRET_SALT=" "$tmp/environ"; then ok "the name stays, its value is gone"; else fail "WALLET_SECRET_SALT= not left in /proc/PID/environ"; fi
if grep -qx "TEE_MODE=LOCAL" "$tmp/environ"; then ok "other settings untouched"; else fail "TEE_MODE=LOCAL missing from /proc/PID/environ"; fi

# An agent posted later still gets the salt (kept in memory): its wallets are derived.
body='{"name":"Posted Salt","modelProvider":"openai","bio":["b"],"lore":[],"messageExamples":[],"postExamples":[],"topics":[],"adjectives":[],"clients":[],"plugins":[],"style":{"all":[],"chat":[],"post":[]}}'
if "$TEELIZA" healthcheck -q -d "$body" "http://127.0.0.1:$port/agents/00000000-0000-0000-0000-000000000001/set"; then
	ok "POST /set"
else
	fail "POST /set failed"
fi
wait_log "wallets (key scheme teeliza)" 2 && ok "the posted agent derived its wallets with the kept salt"

kill "$pid"
wait "$pid" 2>/dev/null || true
pid=""
if grep -qF -- "$salt" "$tmp/agent.log" "$tmp/agent.out"; then fail "the salt was logged"; else ok "the salt is never logged"; fi

e2e_finish salt
