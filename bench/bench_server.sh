#!/usr/bin/env bash
# The HTTP server under load and under attack, for the agent (`teeliza start`)
# and the simulator (`teeliza simulator`), on loopback only:
#
#   bench/bench_server.sh           (bench/run.sh server builds and calls it)
#
#  1. saturation: wrk for BENCH_SATURATION_SECONDS (60) s on
#     BENCH_SATURATION_CONNECTIONS (64) connections, 2 wrk threads: requests/s,
#     p50/p99, errors (socket errors and non-2xx), server VmRSS before and
#     after and its peak. The agent gets POST /Teeliza/message (wrk/message.lua,
#     users mode, the offline responder), the simulator DeriveKey;
#  2. slow-loris (bench_slowloris): BENCH_SLOW_CONNECTIONS (2,000) half-sent
#     requests kept alive with a header line every 10 s for
#     BENCH_SLOW_SECONDS (45) s, past the 30 s request deadline, while a normal
#     request is timed every 0.5 s. Once from as many client addresses spread
#     over 127.10.0.0/16 (per-address limits do not help), once all from
#     127.0.0.3 (normal requests then from 127.0.0.1 and from 127.0.0.3).
#
# Everything stops by itself (about 5 minutes with the defaults). Rows go to
# $BENCH_BUILD_DIR/bench-server.tsv and a table to stdout. The machine's load
# is printed: on a shared machine, other builds change the numbers.
set -euo pipefail

here=$(cd "$(dirname "$0")" && pwd)
root=$(git -C "$here" rev-parse --show-toplevel)
build=${BENCH_BUILD_DIR:-$root/build-bench}
teeliza=$build/teeliza
slowloris=$build/bench/bench_slowloris
sat_seconds=${BENCH_SATURATION_SECONDS:-60}
sat_connections=${BENCH_SATURATION_CONNECTIONS:-64}
slow_connections=${BENCH_SLOW_CONNECTIONS:-2000}
slow_seconds=${BENCH_SLOW_SECONDS:-45}

if [ ! -x "$teeliza" ] || [ ! -x "$slowloris" ]; then
	echo "== building Release in $build"
	cmake -S "$root" -B "$build" -G Ninja -DCMAKE_BUILD_TYPE=Release >/dev/null
	ninja -C "$build" -j2 teeliza_cli bench_slowloris >/dev/null
fi

work=$(mktemp -d /tmp/teeliza-bench-server.XXXXXX)
srv_pid=
stop_server() {
	if [ -n "$srv_pid" ]; then
		kill "$srv_pid" 2>/dev/null || true
		for _ in $(seq 150); do
			kill -0 "$srv_pid" 2>/dev/null || break
			sleep 0.02
		done
		kill -9 "$srv_pid" 2>/dev/null || true
		wait "$srv_pid" 2>/dev/null || true
		srv_pid=
	fi
}
cleanup() {
	stop_server
	rm -rf "$work"
}
trap cleanup EXIT
rows=$work/server.tsv
: >"$rows"

# The offline responder on loopback, whatever the caller's environment holds.
unset TEE_MODE WALLET_SECRET_SALT DSTACK_SIMULATOR_ENDPOINT TEELIZA_SIM_STATE API_TOKEN SERVER_PORT \
	TEELIZA_PUBLIC_URL OPENAI_API_KEY REDPILL_API_KEY OLLAMA_SERVER_URL API_RATE_LIMIT API_MAX_CONNECTIONS \
	API_MAX_CONNECTIONS_PER_CLIENT API_REQUEST_TIMEOUT
export TEELIZA_OFFLINE=1 SERVER_HOST=127.0.0.1

row() { # id value unit note
	printf '%s\t%s\t%s\t%s\n' "$1" "$2" "$3" "$4" >>"$rows"
}

vm() { # VmRSS or VmHWM of the server, in MB
	awk -v k="$1:" '$1 == k { printf "%.1f", $2 / 1024 }' "/proc/$srv_pid/status"
}

start_agent() {
	local dir=$work/agent.$RANDOM
	mkdir "$dir"
	: >"$dir/log"
	SQLITE_FILE=$dir/db.sqlite "$teeliza" start --non-interactive --port 0 >"$dir/log" 2>&1 &
	srv_pid=$!
	base=
	for _ in $(seq 300); do
		[ -n "$base" ] || base=$(sed -n 's/^REST API bound to \(127\.0\.0\.1:[0-9]*\)$/http:\/\/\1/p' "$dir/log")
		if [ -n "$base" ] && curl -sf "$base/agents" 2>/dev/null | grep -q '"name":"Teeliza"'; then
			port=${base##*:}
			grep '^REST API limits' "$dir/log" | sed 's/^/   /'
			return 0
		fi
		kill -0 "$srv_pid" 2>/dev/null || break
		sleep 0.02
	done
	cat "$dir/log" >&2
	echo "bench: teeliza start did not come up" >&2
	exit 1
}

start_simulator() {
	local dir=$work/sim.$RANDOM
	mkdir "$dir"
	"$teeliza" simulator --port 0 --state-dir "$dir/state" --quiet >"$dir/out" 2>"$dir/err" &
	srv_pid=$!
	port=
	for _ in $(seq 300); do
		port=$(sed -n 's/^port \([0-9][0-9]*\)$/\1/p' "$dir/out")
		[ -n "$port" ] && break
		kill -0 "$srv_pid" 2>/dev/null || { cat "$dir/err" >&2; exit 1; }
		sleep 0.02
	done
	[ -n "$port" ] || { echo "bench: the simulator did not print its port" >&2; exit 1; }
	base=http://127.0.0.1:$port
}

saturate() { # id, wrk script, note
	local id=$1 script=$2 note=$3 out rps p50 p99 errs non2xx reqs before
	if ! command -v wrk >/dev/null; then
		echo "   (wrk not installed: apt-get install wrk for the saturation rows)"
		return 0
	fi
	before=$(vm VmRSS)
	out=$(BENCH_AGENT=Teeliza BENCH_MODE=users wrk -t2 -c"$sat_connections" -d"${sat_seconds}s" --latency \
		-s "$script" "$base")
	rps=$(awk '/^Requests\/sec:/ { printf "%.0f", $2 }' <<<"$out")
	reqs=$(awk '/requests in/ { print $1 }' <<<"$out")
	p50=$(awk '$1 == "50%" { print $2 }' <<<"$out")
	p99=$(awk '$1 == "99%" { print $2 }' <<<"$out")
	errs=$(awk '/Socket errors:/ { gsub(",", ""); print $4 + $6 + $8 + $10 }' <<<"$out")
	non2xx=$(awk '/Non-2xx/ { print $NF }' <<<"$out")
	errs=${errs:-0}
	non2xx=${non2xx:-0}
	printf '   %-22s %8s req/s  p50 %-8s p99 %-8s %s requests, %s socket errors, %s non-2xx; VmRSS %s -> %s MB (peak %s MB)\n' \
		"$id" "$rps" "$p50" "$p99" "$reqs" "$errs" "$non2xx" "$before" "$(vm VmRSS)" "$(vm VmHWM)"
	row "$id.rps" "$rps" "req/s" "$sat_connections connections, ${sat_seconds} s; $note"
	row "$id.p50" "$p50" "" "wrk latency"
	row "$id.p99" "$p99" "" "wrk latency"
	row "$id.errors" "$((errs + non2xx))" "requests" "socket errors $errs, non-2xx $non2xx"
	row "$id.rss_before_mb" "$before" "MB" "VmRSS before"
	row "$id.rss_after_mb" "$(vm VmRSS)" "MB" "VmRSS after"
	row "$id.hwm_mb" "$(vm VmHWM)" "MB" "VmHWM (peak)"
}

slow() { # id, mode, method, path
	"$slowloris" --port "$port" --connections "$slow_connections" --seconds "$slow_seconds" --interval 10 \
		--mode "$2" --method "$3" --path "$4" --server-pid "$srv_pid" --id "$1" >"$work/slow.out"
	grep -v '^SLOW' "$work/slow.out" | sed 's/^/   /'
	grep '^SLOW' "$work/slow.out" | awk -F'\t' '{ printf "%s.%s\t%s\t%s\t%s\n", $2, $3, $4, $5, $6 }' >>"$rows"
}

echo "== server bench: $(nproc) CPUs, load $(cut -d' ' -f1-3 /proc/loadavg), $(ulimit -Hn) open files (hard limit)"

echo "== agent (teeliza start, offline responder, 16 threads)"
start_agent
saturate agent.saturation "$here/wrk/message.lua" "POST /Teeliza/message, wrk/message.lua users mode"
stop_server
start_agent
slow agent.slow_spread spread GET /hello
stop_server
start_agent
slow agent.slow_one one GET /hello
stop_server

echo "== simulator (teeliza simulator, 2 threads)"
start_simulator
saturate sim.saturation "$here/wrk/derive_key.lua" "POST /prpc/Tappd.DeriveKey"
stop_server
start_simulator
slow sim.slow_spread spread POST /prpc/Tappd.Version
stop_server
start_simulator
slow sim.slow_one one POST /prpc/Tappd.Version
stop_server

echo "== done: load now $(cut -d' ' -f1-3 /proc/loadavg)"
mkdir -p "$build"
cp "$rows" "$build/bench-server.tsv"
echo
awk -F'\t' -v sat="$sat_seconds s, $sat_connections conns" -v slow="$slow_connections slow" '
{ v[$1] = $2 }
function saturation(s) {
	if (!((s ".saturation.rps") in v)) return
	printf "%-9s %-26s %s req/s, p50 %s, p99 %s, %d errors; VmRSS %s -> %s MB (peak %s MB)\n", s, "saturation " sat,
		v[s ".saturation.rps"], v[s ".saturation.p50"], v[s ".saturation.p99"], v[s ".saturation.errors"],
		v[s ".saturation.rss_before_mb"], v[s ".saturation.rss_after_mb"], v[s ".saturation.hwm_mb"]
}
function spread(s,    k) {
	k = s ".slow_spread"
	printf "%-9s %-26s held %d, cut after %.1f s, open at end %d; normal requests %d ok / %d failed, p50 %.1f ms, p99 %.1f ms, max %.1f ms; VmRSS %.1f MB\n",
		s, slow ", spread", v[k ".held"], v[k ".cut_after_median_s"], v[k ".open_at_end"], v[k ".normal.ok"],
		v[k ".normal.failed"], v[k ".normal.p50_ms"], v[k ".normal.p99_ms"], v[k ".normal.max_ms"], v[k ".rss_held_mb"]
}
function one(s,    k) {
	k = s ".slow_one"
	printf "%-9s %-26s held %d, refused %d, cut after %.1f s; other address %d ok / %d failed (max %.1f ms); same address %d ok / %d failed\n",
		s, slow ", one address", v[k ".held"], v[k ".refused"], v[k ".cut_after_median_s"], v[k ".normal.ok"],
		v[k ".normal.failed"], v[k ".normal.max_ms"], v[k ".normal_same_address.ok"], v[k ".normal_same_address.failed"]
}
END {
	saturation("agent"); spread("agent"); one("agent")
	saturation("sim"); spread("sim"); one("sim")
}' "$rows"
echo
echo "Rows: $build/bench-server.tsv"
