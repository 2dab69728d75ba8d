#!/usr/bin/env bash
# verify-reply over a whole chain (issue 11: >= 5,000/s on one core with
# cached collateral): `teeliza start --simulator` answers BENCH_CHAIN times
# (20), the bundles of its replies are fetched, and bench_verify_reply
# verifies them in process, each against the previous, the collateral
# parsed once; pinned to one core with taskset when there is one.
#
#   bench/bench_verify_reply.sh BUILD_DIR
set -euo pipefail
build=$(cd "${1:?build directory with teeliza and bench/bench_verify_reply}" && pwd)
chain=${BENCH_CHAIN:-20}
tmp=$(mktemp -d /tmp/teeliza-bench-vr.XXXXXX)
pid=
cleanup() { [ -n "$pid" ] && kill "$pid" 2>/dev/null; wait 2>/dev/null; rm -rf "$tmp"; }
trap cleanup EXIT
(cd "$tmp" && TEE_MODE=LOCAL WALLET_SECRET_SALT=bench SERVER_HOST=127.0.0.1 SERVER_PORT=0 \
	TEELIZA_SIM_STATE="$tmp/sim" exec "$build/teeliza" start --simulator --non-interactive >"$tmp/out" 2>"$tmp/log") &
pid=$!
for _ in $(seq 200); do
	port=$(sed -n 's/^REST API bound to 127\.0\.0\.1:\([0-9]*\)$/\1/p' "$tmp/log" | head -n1)
	[ -n "$port" ] && break
	sleep 0.1
done
[ -n "$port" ] || { cat "$tmp/log" >&2; exit 1; }
agent=$(sed -n 's/^Agent Teeliza (\([0-9a-f-]*\)) started.*/\1/p' "$tmp/log")
files=()
for i in $(seq "$chain"); do
	rid=$(curl -s -D - -o /dev/null -H 'Content-Type: application/json' -d "{\"text\":\"message $i\"}" \
		"http://127.0.0.1:$port/Teeliza/message" | sed -n 's/^X-Teeliza-Receipt: \([0-9a-f]*\)\r*$/\1/Ip')
	curl -sf "http://127.0.0.1:$port/agents/$agent/receipts/$rid?bundle=1" >"$tmp/b$i.json"
	files+=("$tmp/b$i.json")
done
kill "$pid"
wait "$pid" 2>/dev/null || true
pid=
TEELIZA_SIM_STATE="$tmp/sim" "$build/teeliza" sim-root >"$tmp/root.pem"
TEELIZA_SIM_STATE="$tmp/sim" "$build/teeliza" sim-root --collateral >"$tmp/coll.json"
echo "load before: $(cut -d' ' -f1-3 /proc/loadavg)"
pin=()
command -v taskset >/dev/null && pin=(taskset -c 0)
"${pin[@]}" "$build/bench/bench_verify_reply" "$tmp/coll.json" "$tmp/root.pem" "${files[@]}"
echo "load after: $(cut -d' ' -f1-3 /proc/loadavg)"
