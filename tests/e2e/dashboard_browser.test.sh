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
# shellcheck source=../lib/e2e.sh
. "$(dirname "$0")/../lib/e2e.sh"
e2e_setup dash

# agent_port LOG PID: the REST API port once the log says so and its agents started (10 s at most).
agent_port() {
	local port
	port=$(e2e_wait_line "$1" 's/^REST API bound to 127\.0\.0\.1:\([0-9]*\)$/\1/p' "$2") &&
		e2e_wait_line "$1" '/started; model/p' "$2" >/dev/null &&
		echo "$port"
}

unset OPENAI_API_KEY REDPILL_API_KEY OLLAMA_SERVER_URL LOCAL_MODEL_URL LMSTUDIO_SERVER_URL API_TOKEN \
	DSTACK_SIMULATOR_ENDPOINT TEE_KEY_SCHEME TEELIZA_PUBLIC_URL SQLITE_FILE EXPRESS_MAX_PAYLOAD
export SERVER_HOST=127.0.0.1 SERVER_PORT=0 TEELIZA_SIM_STATE="$tmp/sim" TEE_MODE=LOCAL \
	WALLET_SECRET_SALT="dashboard-e2e-salt-$$"
cd "$tmp"
"$TEELIZA" start --simulator --non-interactive >"$tmp/agent.out" 2>"$tmp/agent.log" &
agent_pid=$!
port=$(agent_port "$tmp/agent.log" "$agent_pid") ||
	{ cat "$tmp/agent.log" >&2; echo "FAIL: no REST API port in the log, or the agent exited" >&2; exit 1; }
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
kill "$agent_pid"
wait "$agent_pid" 2>/dev/null || true

# ---- a separately started `teeliza simulator`: the agent learns its root, the verdicts are simulator-rooted ----
mkdir "$tmp/sep"
cd "$tmp/sep"
e2e_simulator sep-sim --state-dir "$tmp/sep/sim"
sim_port_sep=$sim_port
# Another simulator, whose root the agent never learns: its quote is for the RA explorer with a pasted root.
e2e_simulator sep-other --state-dir "$tmp/sep/other"
other_port=$sim_port
"$TEELIZA" quote "pasted-root check" --endpoint "http://127.0.0.1:$other_port" --quiet | sed -n "s/^quote: //p" >"$tmp/sep/other-quote.hex"
"$TEELIZA" sim-root --state-dir "$tmp/sep/other" >"$tmp/sep/other-root.pem"
"$TEELIZA" sim-root --state-dir "$tmp/sep/other" --collateral >"$tmp/sep/other-collateral.json"
DSTACK_SIMULATOR_ENDPOINT="http://127.0.0.1:$sim_port_sep" "$TEELIZA" start --non-interactive \
	>"$tmp/sep/agent.out" 2>"$tmp/sep/agent.log" &
agent_pid=$!
port=$(agent_port "$tmp/sep/agent.log" "$agent_pid") ||
	{ cat "$tmp/sep/agent.log" >&2; echo "FAIL: no REST API port in the log (separate simulator), or the agent exited" >&2; exit 1; }
echo "agent on 127.0.0.1:$port, its simulator on 127.0.0.1:$sim_port_sep"
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
e2e_stop_jobs

# ---- on the dstack API (TEE_KEY_SCHEME=dstack chooses it): the key chain of each wallet, to the KMS root ----
mkdir "$tmp/dstack"
cd "$tmp/dstack"
# (not e2e_simulator: its --quiet would hide the KMS root line)
"$TEELIZA" simulator --port 0 --state-dir "$tmp/dstack/sim" >"$tmp/dstack/sim.out" 2>"$tmp/dstack/sim.err" &
sim_port=$(e2e_wait_line "$tmp/dstack/sim.out" 's/^port \([0-9][0-9]*\)$/\1/p' "$!") ||
	{ cat "$tmp/dstack/sim.err" >&2; echo "FAIL: the dstack run's simulator did not start" >&2; exit 1; }
root=$(sed -n 's/^teeliza simulator: KMS root (k256) \([0-9a-f]*\)$/\1/p' "$tmp/dstack/sim.err")
[ -n "$root" ] || { cat "$tmp/dstack/sim.err" >&2; echo "FAIL: the simulator printed no KMS root" >&2; exit 1; }
for pin in unpinned pinned; do
	kms=""
	[ "$pin" = pinned ] && kms=$root
	TEE_KEY_SCHEME=dstack TEE_KMS_ROOT="$kms" DSTACK_SIMULATOR_ENDPOINT="http://127.0.0.1:$sim_port" \
		"$TEELIZA" start --non-interactive >"$tmp/dstack/$pin.out" 2>"$tmp/dstack/$pin.log" &
	agent_pid=$!
	port=$(agent_port "$tmp/dstack/$pin.log" "$agent_pid") ||
		{ cat "$tmp/dstack/$pin.log" >&2; echo "FAIL: no REST API port in the log (dstack run)" >&2; exit 1; }
	PW_DIR="$pw" CHROMIUM="$chromium_bin" BASE="http://127.0.0.1:$port" PROFILE="$tmp/profile-dstack-$pin" \
		SHOTS="$build" DSTACK="$pin" node "$TEELIZA_SRC/tests/e2e/dashboard_browser.mjs" || rc=$?
	if [ "$rc" -ne 0 ]; then
		tail -n 40 "$tmp/dstack/$pin.log" | cut -c1-240 >&2
		exit "$rc"
	fi
	kill "$agent_pid"
	wait "$agent_pid" 2>/dev/null || true
done
e2e_stop_jobs

# ---- with API_TOKEN: the page loads, asks for the token, then shows the wallets ----
mkdir "$tmp/tok"
cd "$tmp/tok"
API_TOKEN="dash-token-$$" "$TEELIZA" start --simulator --non-interactive >"$tmp/tok.out" 2>"$tmp/tok.log" &
agent_pid=$!
port=$(agent_port "$tmp/tok.log" "$agent_pid") ||
	{ cat "$tmp/tok.log" >&2; echo "FAIL: no REST API port in the log (API_TOKEN run)" >&2; exit 1; }
PW_DIR="$pw" CHROMIUM="$chromium_bin" BASE="http://127.0.0.1:$port" PROFILE="$tmp/profile-tok" \
	SHOTS="$build" TOKEN="dash-token-$$" \
	node "$TEELIZA_SRC/tests/e2e/dashboard_browser.mjs" || rc=$?
exit "$rc"
