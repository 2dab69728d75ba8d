#!/usr/bin/env bash
# Makes tests/vectors/reply-bundles/: reply bundles of teeliza's own simulator
# for unit.test_verify_reply and the fuzz seeds. A simulator serves tappd and
# dstack (on a unix socket); one agent signs through tappd (TEE_MODE=LOCAL),
# one through dstack with RECEIPT_SIGNATURE=eip191; each answers twice and
# the bundles of both replies are kept, with the simulator's root, its
# collateral and KMS root, and the time they were made (the collateral is
# valid around it).  usage: tests/vectors/gen/reply-bundles.sh path/to/teeliza
set -euo pipefail
bin=$(readlink -f "${1:?path of the teeliza binary}")
out=$(cd "$(dirname "$0")/.." && pwd)/reply-bundles
tmp=$(mktemp -d /tmp/teeliza-gen-bundles.XXXXXX)
pids=()
cleanup() { for p in "${pids[@]}"; do kill "$p" 2>/dev/null || true; done; wait 2>/dev/null; rm -rf "$tmp"; }
trap cleanup EXIT
unset OPENAI_API_KEY API_TOKEN TEE_API TAPPD_SIMULATOR_ENDPOINT DSTACK_SIMULATOR_ENDPOINT SQLITE_FILE RECEIPT_SIGNATURE
mkdir -p "$out"
wait_for() { for _ in $(seq 200); do v=$(sed -n "$2" "$1" | head -n1); [ -n "$v" ] && { echo "$v"; return; }; sleep 0.1; done; cat "$1" >&2; exit 1; }
"$bin" simulator --port 0 --state-dir "$tmp/sim" --dstack-socket "$tmp/dstack.sock" >"$tmp/sim.out" 2>"$tmp/sim.err" &
pids+=($!)
port=$(wait_for "$tmp/sim.out" 's/^port \([0-9]*\)$/\1/p')
root=$(wait_for "$tmp/sim.err" 's/^teeliza simulator: KMS root (k256) \([0-9a-f]*\)$/\1/p')
agent() { # name env...
	local name=$1 dir="$tmp/$1" api id
	shift
	mkdir -p "$dir"
	(cd "$dir" && env "$@" SERVER_HOST=127.0.0.1 SERVER_PORT=0 WALLET_SECRET_SALT=gen-"$name" \
		"$bin" start --non-interactive >"$dir/out" 2>"$dir/log") &
	pids+=($!)
	api=$(wait_for "$dir/log" 's/^REST API bound to 127\.0\.0\.1:\([0-9]*\)$/\1/p')
	wait_for "$dir/log" '/started; model/p' >/dev/null
	id=$(wait_for "$dir/log" 's/^Agent Teeliza (\([0-9a-f-]*\)) started.*/\1/p')
	for i in 1 2; do
		rid=$(curl -s -D - -o /dev/null -H 'Content-Type: application/json' -d "{\"text\":\"message $i\"}" \
			"http://127.0.0.1:$api/Teeliza/message" | sed -n 's/^X-Teeliza-Receipt: \([0-9a-f]*\)\r*$/\1/Ip')
		curl -sf "http://127.0.0.1:$api/agents/$id/receipts/$rid?bundle=1" >"$out/$name-$i.json"
	done
}
agent tappd TEE_MODE=LOCAL TAPPD_SIMULATOR_ENDPOINT="http://127.0.0.1:$port"
agent dstack TEE_MODE=LOCAL TEE_API=dstack DSTACK_SIMULATOR_ENDPOINT="$tmp/dstack.sock" RECEIPT_SIGNATURE=eip191
now=$(date +%s)
"$bin" sim-root --state-dir "$tmp/sim" >"$out/root.pem"
"$bin" sim-root --state-dir "$tmp/sim" --collateral --now "$now" >"$out/collateral.json"
printf '%s\n' "$now" >"$out/now"
printf '%s\n' "$root" >"$out/kms-root"
echo "wrote $out"
