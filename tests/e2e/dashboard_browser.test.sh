#!/usr/bin/env bash
# The dashboard in a real browser: Debian's chromium, headless, driven by
# playwright-core (pinned, installed into the build directory) against
# `teeliza start --simulator --non-interactive` on loopback. Checks (in
# dashboard_browser.mjs): no console errors, the wallet shown equals the
# API's and the agent's own answer, the simulator-rooted verdict is shown,
# the RA explorer verifies the pasted quote, the logs view fills, the chat
# box answers; writes screenshots into the build directory. Then the same
# agent against a separately started `teeliza simulator` (green
# simulator-rooted verdicts, learned from the simulator), with the RA
# explorer checking another simulator's quote under a pasted root PEM.
set -euo pipefail

: "${TEELIZA:?path of the teeliza binary}"
: "${TEELIZA_SRC:?source tree}"
build=${TEELIZA_BUILD:-$(dirname "$TEELIZA")}
# 1.60 still supports Node 18 (Debian 12's own nodejs); later releases want Node 20.
PLAYWRIGHT_CORE_VERSION=1.60.0
chromium_bin=/usr/bin/chromium

# ---- the browser and its driver ----
if [ ! -x "$chromium_bin" ]; then
	if [ "$(id -u)" -eq 0 ] && command -v apt-get >/dev/null; then
		echo "chromium missing: installing it with apt-get"
		DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends chromium >/dev/null
	fi
fi
if [ ! -x "$chromium_bin" ]; then
	echo "FAIL: $chromium_bin is not installed and cannot be installed here (not root or no apt-get); run scripts/install-deps.sh" >&2
	exit 1
fi
pw="$build/dashboard-browser"
# shellcheck source=../lib/npm_install.sh
. "$TEELIZA_SRC/tests/lib/npm_install.sh"
npm_install_pinned "$pw" "playwright-core@$PLAYWRIGHT_CORE_VERSION"

# ---- the agent ----
tmp=$(mktemp -d /tmp/teeliza-e2e-dash.XXXXXX)
pids=()
cleanup() {
	local p
	for p in "${pids[@]}"; do
		kill "$p" 2>/dev/null || true
		wait "$p" 2>/dev/null || true
	done
	rm -rf "$tmp"
}
trap cleanup EXIT

unset OPENAI_API_KEY REDPILL_API_KEY OLLAMA_SERVER_URL LOCAL_MODEL_URL LMSTUDIO_SERVER_URL API_TOKEN \
	DSTACK_SIMULATOR_ENDPOINT TEE_KEY_SCHEME TEELIZA_PUBLIC_URL SQLITE_FILE EXPRESS_MAX_PAYLOAD
export SERVER_HOST=127.0.0.1 SERVER_PORT=0 TEELIZA_SIM_STATE="$tmp/sim" TEE_MODE=LOCAL \
	WALLET_SECRET_SALT="dashboard-e2e-salt-$$"
cd "$tmp"
"$TEELIZA" start --simulator --non-interactive >"$tmp/agent.out" 2>"$tmp/agent.log" &
pids+=($!)
port=""
for _ in $(seq 1 100); do
	port=$(sed -n 's/^REST API bound to 127\.0\.0\.1:\([0-9]*\)$/\1/p' "$tmp/agent.log" 2>/dev/null | head -n 1 || true)
	[ -n "$port" ] && grep -q "started; model" "$tmp/agent.log" && break
	kill -0 "${pids[0]}" 2>/dev/null || { cat "$tmp/agent.log" >&2; echo "FAIL: the agent exited" >&2; exit 1; }
	sleep 0.1
done
[ -n "$port" ] || { cat "$tmp/agent.log" >&2; echo "FAIL: no REST API port in the log" >&2; exit 1; }
echo "agent on 127.0.0.1:$port"

rc=0
PW_DIR="$pw" CHROMIUM="$chromium_bin" BASE="http://127.0.0.1:$port" PROFILE="$tmp/profile" \
	SHOTS="$build" SALT="$WALLET_SECRET_SALT" \
	node "$TEELIZA_SRC/tests/e2e/dashboard_browser.mjs" || rc=$?
if [ "$rc" -ne 0 ]; then
	echo "--- agent log (last 40 lines) ---" >&2
	tail -n 40 "$tmp/agent.log" | cut -c1-240 >&2
	exit "$rc"
fi
kill "${pids[0]}"
wait "${pids[0]}" 2>/dev/null || true
pids=()

# ---- a separately started `teeliza simulator`: the agent learns its root, the verdicts are simulator-rooted ----
start_simulator() { # state dir, output file (its "port N" line)
	"$TEELIZA" simulator --port 0 --state-dir "$1" --quiet >"$2" 2>&1 &
	pids+=($!)
}
simulator_port() { # output file
	local p="" i
	for i in $(seq 1 100); do
		p=$(sed -n 's/^port \([0-9]*\)$/\1/p' "$1" 2>/dev/null | head -n 1 || true)
		[ -n "$p" ] && break
		sleep 0.1
	done
	[ -n "$p" ] || { cat "$1" >&2; echo "FAIL: the simulator printed no port" >&2; return 1; }
	echo "$p"
}
mkdir "$tmp/sep"
cd "$tmp/sep"
start_simulator "$tmp/sep/sim" "$tmp/sep/sim.out"
# Another simulator, whose root the agent never learns: its quote is for the RA explorer with a pasted root.
start_simulator "$tmp/sep/other" "$tmp/sep/other.out"
sim_port=$(simulator_port "$tmp/sep/sim.out")
other_port=$(simulator_port "$tmp/sep/other.out")
"$TEELIZA" quote "pasted-root check" --endpoint "http://127.0.0.1:$other_port" --quiet | sed -n "s/^quote: //p" >"$tmp/sep/other-quote.hex"
"$TEELIZA" sim-root --state-dir "$tmp/sep/other" >"$tmp/sep/other-root.pem"
"$TEELIZA" sim-root --state-dir "$tmp/sep/other" --collateral >"$tmp/sep/other-collateral.json"
DSTACK_SIMULATOR_ENDPOINT="http://127.0.0.1:$sim_port" "$TEELIZA" start --non-interactive \
	>"$tmp/sep/agent.out" 2>"$tmp/sep/agent.log" &
pids+=($!)
agent_pid=$!
port=""
for _ in $(seq 1 100); do
	port=$(sed -n 's/^REST API bound to 127\.0\.0\.1:\([0-9]*\)$/\1/p' "$tmp/sep/agent.log" 2>/dev/null | head -n 1 || true)
	[ -n "$port" ] && grep -q "started; model" "$tmp/sep/agent.log" && break
	kill -0 "$agent_pid" 2>/dev/null || { cat "$tmp/sep/agent.log" >&2; echo "FAIL: the agent exited" >&2; exit 1; }
	sleep 0.1
done
[ -n "$port" ] || { cat "$tmp/sep/agent.log" >&2; echo "FAIL: no REST API port in the log (separate simulator)" >&2; exit 1; }
echo "agent on 127.0.0.1:$port, its simulator on 127.0.0.1:$sim_port"
PW_DIR="$pw" CHROMIUM="$chromium_bin" BASE="http://127.0.0.1:$port" PROFILE="$tmp/profile-sep" \
	SHOTS="$build" SEPARATE=1 OTHER_QUOTE="$tmp/sep/other-quote.hex" OTHER_ROOT="$tmp/sep/other-root.pem" \
	OTHER_COLLATERAL="$tmp/sep/other-collateral.json" \
	node "$TEELIZA_SRC/tests/e2e/dashboard_browser.mjs" || rc=$?
if [ "$rc" -ne 0 ]; then
	echo "--- agent log (last 40 lines) ---" >&2
	tail -n 40 "$tmp/sep/agent.log" | cut -c1-240 >&2
	exit "$rc"
fi
grep -q "is a teeliza simulator" "$tmp/sep/agent.log" ||
	{ echo "FAIL: the agent did not log the simulator root it learned" >&2; exit 1; }
for p in "${pids[@]}"; do
	kill "$p" 2>/dev/null || true
	wait "$p" 2>/dev/null || true
done
pids=()

# ---- with API_TOKEN: the page loads, asks for the token, then shows the wallets ----
mkdir "$tmp/tok"
cd "$tmp/tok"
API_TOKEN="dash-token-$$" "$TEELIZA" start --simulator --non-interactive >"$tmp/tok.out" 2>"$tmp/tok.log" &
pids+=($!)
port=""
for _ in $(seq 1 100); do
	port=$(sed -n 's/^REST API bound to 127\.0\.0\.1:\([0-9]*\)$/\1/p' "$tmp/tok.log" 2>/dev/null | head -n 1 || true)
	[ -n "$port" ] && grep -q "started; model" "$tmp/tok.log" && break
	sleep 0.1
done
[ -n "$port" ] || { cat "$tmp/tok.log" >&2; echo "FAIL: no REST API port in the log (API_TOKEN run)" >&2; exit 1; }
PW_DIR="$pw" CHROMIUM="$chromium_bin" BASE="http://127.0.0.1:$port" PROFILE="$tmp/profile-tok" \
	SHOTS="$build" TOKEN="dash-token-$$" \
	node "$TEELIZA_SRC/tests/e2e/dashboard_browser.mjs" || rc=$?
exit "$rc"
