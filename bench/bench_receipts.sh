#!/usr/bin/env bash
# What receipts add to POST /message, from outside: `teeliza start
# --simulator` (TEE_MODE=LOCAL, offline responder) measured by
# bench_message (--users one, --server-pid: the server's CPU per message)
# with RECEIPT_SIGNATURE=off, then with receipts (ed25519), then eip191,
# alternating BENCH_ROUNDS times (3) so that load on a shared machine hits
# all alike. In-process figures come from bench_receipt.
#
#   bench/bench_receipts.sh BUILD_DIR     (BENCH_COUNT messages per run, 2000)
set -euo pipefail
build=$(cd "${1:?build directory with teeliza and bench/bench_message}" && pwd)
count=${BENCH_COUNT:-2000}
rounds=${BENCH_ROUNDS:-3}
tmp=$(mktemp -d /tmp/teeliza-bench-receipts.XXXXXX)
pid=
cleanup() { [ -n "$pid" ] && kill "$pid" 2>/dev/null; wait 2>/dev/null; rm -rf "$tmp"; }
trap cleanup EXIT

one() { # mode
	local dir="$tmp/$1.$RANDOM" port
	mkdir -p "$dir"
	(cd "$dir" && RECEIPT_SIGNATURE=$1 TEE_MODE=LOCAL WALLET_SECRET_SALT=bench SERVER_HOST=127.0.0.1 SERVER_PORT=0 \
		TEELIZA_SIM_STATE="$dir/sim" exec "$build/teeliza" start --simulator --non-interactive >"$dir/out" 2>"$dir/log") &
	pid=$!
	for _ in $(seq 200); do
		port=$(sed -n 's/^REST API bound to 127\.0\.0\.1:\([0-9]*\)$/\1/p' "$dir/log" | head -n1)
		[ -n "$port" ] && break
		sleep 0.1
	done
	[ -n "$port" ] || { cat "$dir/log" >&2; exit 1; }
	"$build/bench/bench_message" --url "http://127.0.0.1:$port/Teeliza/message" --count "$count" --users one \
		--server-pid "$pid" --id "receipts.$1" | grep -E "server_cpu_us|p50_ms" || true
	kill -TERM "$pid"
	wait "$pid" || true
	pid=
}

for _ in $(seq "$rounds"); do
	for mode in off ed25519 eip191; do
		one "$mode"
	done
done
