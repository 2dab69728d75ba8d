#!/usr/bin/env bash
# teeliza's benchmarks beside the JS reference, in one run, then a table.
#
#   bench/run.sh [derive] [verify-key] [replay] [dcap] [sim] [agent] [server]   (default: the first six)
#
# Environment: BENCH_SECONDS (per loop, default 2), BENCH_REPEAT (runs of the
# whole set; the table keeps each row's best, default 1), BENCH_BUILD_DIR (default
# <repo>/build-bench, a Release build), TEELIZA_VECTORS (default
# <repo>/tests/vectors), BENCH_CLIENTS (C client threads against the
# simulator, default 4), BENCH_CONNECTIONS (wrk connections, default 16).
# The agent part (bench/bench_agent.sh: teeliza start's cold start, RSS and
# /message latency and throughput) runs once after the rounds; it also installs
# Eliza's own packages into bench/js/eliza (~550 MB, once) to time their import,
# unless BENCH_ELIZA=0. BENCH_ELIZA=1 installs them even without the agent part.
#
# The server part (bench/bench_server.sh: 60 s saturation of the agent and the
# simulator, and 2,000 slow-loris connections against each; ~5 minutes) runs
# only when named.
#
# Installs the pinned npm packages of bench/js on first use (needs node and
# npm); the wrk rows need wrk (Debian: apt-get install wrk) and are skipped
# without it. Benchmarks are never part of ctest.
set -euo pipefail

here=$(cd "$(dirname "$0")" && pwd)
root=$(git -C "$here" rev-parse --show-toplevel)
export TEELIZA_VECTORS=${TEELIZA_VECTORS:-$(cd "$root/tests/vectors" && pwd)}
export BENCH_SECONDS=${BENCH_SECONDS:-2}
repeat=${BENCH_REPEAT:-1}
build=${BENCH_BUILD_DIR:-$root/build-bench}
clients=${BENCH_CLIENTS:-4}
connections=${BENCH_CONNECTIONS:-16}
parts=("$@")
bash "$root/scripts/install-deps.sh"
# wrk drives the simulator rows; it is only needed here, so it is installed here.
if ! command -v wrk >/dev/null && [ "$(id -u)" -eq 0 ]; then
	DEBIAN_FRONTEND=noninteractive apt-get install -y -qq wrk >/dev/null || echo "bench: wrk not installed; its rows are skipped" >&2
fi
[ ${#parts[@]} -gt 0 ] || parts=(derive verify-key replay dcap sim agent)

want() {
	local p
	for p in "${parts[@]}"; do [ "$p" = "$1" ] && return 0; done
	return 1
}

work=$(mktemp -d /tmp/teeliza-bench.XXXXXX)
sim_pid=
cleanup() {
	stop_sim
	rm -rf "$work"
}
stop_sim() {
	if [ -n "$sim_pid" ]; then
		kill "$sim_pid" 2>/dev/null || true
		wait "$sim_pid" 2>/dev/null || true
		sim_pid=
	fi
}
trap cleanup EXIT
results=$work/results.tsv
: >"$results"

# ---- JS packages (exact versions from bench/js/package.json) ----
js_ready() {
	node -e '
		const p = require(process.argv[1] + "/package.json");
		for (const [name, v] of Object.entries(p.dependencies)) {
			let got;
			try { got = require(process.argv[1] + "/node_modules/" + name + "/package.json").version; } catch { process.exit(1); }
			// an alias "npm:PKG@X.Y.Z" installs PKG at X.Y.Z under NAME
			if (got !== v.replace(/^npm:.*@/, "")) process.exit(1);
		}' "$here/js"
}
command -v node >/dev/null || { echo "bench: node and npm are needed for the JS reference" >&2; exit 1; }
if ! js_ready; then
	echo "== installing the JS reference packages (bench/js)"
	(cd "$here/js" && npm install --no-package-lock --no-audit --no-fund --loglevel=error)
fi

# ---- Eliza's own packages (bench/js/package.json "elizaDependencies"), apart: ~550 MB ----
eliza_ready() {
	node -e '
		const want = require(process.argv[1] + "/package.json").elizaDependencies;
		for (const [name, v] of Object.entries(want)) {
			let got;
			try { got = require(process.argv[1] + "/eliza/node_modules/" + name + "/package.json").version; } catch { process.exit(1); }
			if (got !== v) process.exit(1);
		}' "$here/js"
}
if [ "${BENCH_ELIZA:-}" != 0 ] && { want agent || [ "${BENCH_ELIZA:-}" = 1 ]; } && ! eliza_ready; then
	echo "== installing Eliza's packages for the agent comparison (bench/js/eliza, ~550 MB, install scripts off)"
	mkdir -p "$here/js/eliza" "$build"
	node -e '
		const p = require(process.argv[1] + "/package.json");
		process.stdout.write(JSON.stringify({ name: "teeliza-bench-eliza", private: true,
			dependencies: p.elizaDependencies }, null, 2) + "\n");' "$here/js" >"$here/js/eliza/package.json"
	# a failure is recorded (bench_agent.sh prints why) and the C rows still run
	t0=$SECONDS
	(cd "$here/js/eliza" && npm install --no-package-lock --ignore-scripts --no-audit --no-fund --loglevel=error) \
		>"$build/eliza-install.log" 2>&1 && rm -f "$build/eliza-install.log" &&
		echo "   installed in $((SECONDS - t0)) s: $(du -sm "$here/js/eliza/node_modules" | cut -f1) MB" ||
		{ echo "bench: installing Eliza's packages failed:" >&2; tail -20 "$build/eliza-install.log" >&2; }
fi

# ---- Release build ----
echo "== building Release in $build"
cmake -S "$root" -B "$build" -G Ninja -DCMAKE_BUILD_TYPE=Release >"$work/cmake.log" 2>&1 ||
	{ cat "$work/cmake.log" >&2; exit 1; }
ninja -C "$build" -j2 teeliza_cli bench_derive bench_verify_key bench_replay bench_dcap bench_sim bench_ready bench_message bench_slowloris \
	>"$work/build.log" 2>&1 ||
	{ tail -40 "$work/build.log" >&2; exit 1; }
bin=$build/bench
teeliza=$build/teeliza

run() { # a benchmark command; its RESULT lines are kept, the rest is shown
	local rc=0
	"$@" >"$work/out.txt" || rc=$?
	show_out
	[ $rc -eq 0 ] || { echo "bench: $* failed" >&2; exit 1; }
}
show_out() {
	cat "$work/out.txt" >>"$work/raw.txt"
	grep -v '^RESULT' "$work/out.txt" || true
}

# ---- simulator as its own process (for the wrk and external-client rows) ----
start_sim() { # cpu list ("" = any), server threads
	local dir=$work/sim.$RANDOM port=
	mkdir -p "$dir"
	if [ -n "$1" ]; then
		taskset -c "$1" "$teeliza" simulator --port 0 --state-dir "$dir/state" --threads "$2" --quiet \
			>"$dir/out" 2>"$dir/err" &
	else
		"$teeliza" simulator --port 0 --state-dir "$dir/state" --threads "$2" --quiet >"$dir/out" 2>"$dir/err" &
	fi
	sim_pid=$!
	for _ in $(seq 100); do
		port=$(sed -n 's/^port \([0-9][0-9]*\)$/\1/p' "$dir/out")
		[ -n "$port" ] && break
		kill -0 "$sim_pid" 2>/dev/null || { cat "$dir/err" >&2; exit 1; }
		sleep 0.1
	done
	[ -n "$port" ] || { echo "bench: the simulator did not print its port" >&2; exit 1; }
	sim_url=http://127.0.0.1:$port
}

proc_ticks() { # utime + stime of a process, in clock ticks
	awk '{ sub(/^.*\) /, ""); print $12 + $13 }' "/proc/$1/stat"
}

run_wrk() { # id, cpu list for wrk ("" = any), lua script, placement note
	local id=$1 cpus=$2 script=$3 placement=$4 t0 t1 out rps reqs bad cpu
	t0=$(proc_ticks "$sim_pid")
	if [ -n "$cpus" ]; then
		out=$(taskset -c "$cpus" wrk -t1 -c"$connections" -d"${BENCH_SECONDS}s" -s "$script" "$sim_url")
	else
		out=$(wrk -t1 -c"$connections" -d"${BENCH_SECONDS}s" -s "$script" "$sim_url")
	fi
	t1=$(proc_ticks "$sim_pid")
	rps=$(awk '/^Requests\/sec:/ { printf "%.0f", $2 }' <<<"$out")
	reqs=$(awk '/requests in/ { print $1 }' <<<"$out")
	bad=$(awk '/Non-2xx/ { print $NF }' <<<"$out")
	if [ -n "$bad" ] || grep -q 'Socket errors' <<<"$out"; then
		echo "$out" >&2
		echo "bench: wrk saw errors against the simulator" >&2
		exit 1
	fi
	cpu=$(awk -v a="$t0" -v b="$t1" -v hz="$(getconf CLK_TCK)" 'BEGIN { printf "%.3f", (b - a) / hz }')
	awk -v id="$id" -v rps="$rps" -v reqs="$reqs" -v cpu="$cpu" -v pl="$placement" -v c="$connections" 'BEGIN {
		per = cpu > 0 ? reqs / cpu : 0
		us = cpu > 0 ? 1e6 * cpu / reqs : 0
		printf "%-22s wrk        %11.0f req/s %11.0f req/server-CPU-s  (%d reqs, server %.2f CPU-s, %.1f us/req)  %s\n",
			id, rps, per, reqs, cpu, us, pl
		printf "RESULT\t%s\twrk\t1\t%s\t%.0f\tconnections=%s server_cpu_us/req=%.1f %s\n", id, rps, per, c, us, pl
	}' >"$work/out.txt"
	show_out
}

node_js() { # a JS reference script and its arguments
	local rc=0
	(cd "$here/js" && node "$@") >"$work/out.txt" || rc=$?
	show_out
	[ $rc -eq 0 ] || { echo "bench: node $* failed" >&2; exit 1; }
}

echo "== machine: $(nproc) CPUs, $(lscpu | sed -n 's/^Model name: *//p'), $(free -g | awk '/^Mem:/ { print $2 " GiB" }'), load $(cut -d' ' -f1-3 /proc/loadavg), node $(node --version), ${BENCH_SECONDS} s per loop"

for round in $(seq "$repeat"); do
	[ "$repeat" -eq 1 ] || echo "=== round $round of $repeat"
	if want derive; then
		echo "== local derivation: PEM → DER → Solana + EVM"
		run "$bin/bench_derive"
		node_js derive.mjs
	fi
	if want verify-key; then
		echo "== verify-key: a dstack GetKey chain up to the pinned KMS root (no JS reference: no SDK verifies it)"
		run "$bin/bench_verify_key"
	fi
	if want replay; then
		echo "== RTMR replay of a 30-event log"
		run "$bin/bench_replay"
		node_js replay.mjs
	fi
	if want dcap; then
		echo "== DCAP quote parse and verification (dcapqvl-tdx_quote, now=1752919234)"
		run "$bin/bench_dcap"
		node_js dcap.mjs
	fi
	if want sim; then
		echo "== simulator in-process, $clients libcurl keep-alive clients, all on CPUs $(taskset -pc $$ | sed 's/.*: //')"
		run "$bin/bench_sim" --clients "$clients"

		echo "== simulator as a process (2 threads), clients on the same CPUs"
		start_sim "" 2
		run "$bin/bench_sim" --clients "$clients" --url "$sim_url" --server-pid "$sim_pid" --tag @ext
		node_js tappd.mjs "$sim_url"
		node_js dstack.mjs "$sim_url"
		if command -v wrk >/dev/null; then
			run_wrk sim.derive_key@wrk "" "$here/wrk/derive_key.lua" "server and wrk share all CPUs"
			run_wrk sim.tdx_quote@wrk "" "$here/wrk/tdx_quote.lua" "server and wrk share all CPUs"
			run_wrk sim.get_key@wrk "" "$here/wrk/get_key.lua" "server and wrk share all CPUs"
			stop_sim
			if [ "$(nproc)" -ge 2 ]; then
				echo "== simulator pinned to CPU 1 (1 thread), wrk pinned to CPU 0"
				start_sim 1 1
				run_wrk sim.derive_key@wrk-1core 0 "$here/wrk/derive_key.lua" "server on CPU 1 alone, wrk on CPU 0"
				run_wrk sim.tdx_quote@wrk-1core 0 "$here/wrk/tdx_quote.lua" "server on CPU 1 alone, wrk on CPU 0"
				run_wrk sim.get_key@wrk-1core 0 "$here/wrk/get_key.lua" "server on CPU 1 alone, wrk on CPU 0"
			fi
		else
			echo "   (wrk not installed: apt-get install wrk for the wrk rows)"
		fi
		stop_sim
	fi
done

if want agent; then
	echo "== agent: teeliza start (bench/bench_agent.sh)"
	BENCH_BUILD_DIR=$build BENCH_RAW=$work/raw.txt BENCH_CONNECTIONS=$connections bash "$here/bench_agent.sh"
fi

if want server; then
	echo "== server: saturation and slow-loris, agent and simulator (bench/bench_server.sh)"
	BENCH_BUILD_DIR=$build bash "$here/bench_server.sh"
fi

{ grep '^RESULT' "$work/raw.txt" 2>/dev/null || true; } | cut -f2- >"$results"
cp "$results" "$build/bench-results.tsv"

# ---- the table: each C/wrk row beside the JS row of the same operation ----
echo
awk -F'\t' '
BEGIN {
	# id, threads ("*" = any), target ops/s (the issue statement)
	t["derive.both", "2"] = 40000
	t["replay.30", "*"] = 50000
	t["sim.derive_key", "*"] = 10000; t["sim.derive_key@ext", "*"] = 10000; t["sim.derive_key@wrk", "*"] = 10000
	t["sim.tdx_quote", "*"] = 15000; t["sim.tdx_quote@ext", "*"] = 15000; t["sim.tdx_quote@wrk", "*"] = 15000
	t["sim.get_key", "*"] = 15000; t["sim.get_key@ext", "*"] = 15000; t["sim.get_key@wrk", "*"] = 15000
	t["sim.get_key_fresh", "*"] = 15000; t["sim.get_key_fresh@ext", "*"] = 15000
	t["dcap.parse", "1"] = 1000000
	t["dcap.verify.parse", "1"] = 1200
	t["dcap.verify.cache", "1"] = 6000
	t["agent.message@wrk", "*"] = 2000
}
# several rounds: keep the best of each row (the machine is shared; slow rounds are other load)
$2 == "JS" { if (!($1 in js) || $4 + 0 > js[$1]) { js[$1] = $4; jscpu[$1] = $5 }; next }
{
	k = $1 SUBSEP $2 SUBSEP $3
	if (!(k in best)) order[n++] = k
	if (!(k in best) || $4 + 0 > best[k]) { best[k] = $4 + 0; row[k] = $0 }
}
END {
	printf "%-26s %-4s %3s %12s %12s %11s %11s %8s %9s %s\n", "benchmark", "impl", "thr", "ops/s", "ops/CPU-s",
		"JS ops/s", "JS ops/CPU", "vs JS", "target", ""
	for (i = 0; i < n; i++) {
		split(row[order[i]], f, "\t")
		base = f[1]; sub(/@.*/, "", base)
		# dcap-qvl has no cache: its closest is verify() on one collateral object
		if (base == "dcap.verify.cache") base = "dcap.verify.reuse"
		tgt = ((f[1], f[3]) in t) ? t[f[1], f[3]] : (((f[1], "*") in t) ? t[f[1], "*"] : "")
		ratio = (base in js) && js[base] > 0 ? sprintf("%.1fx", f[4] / js[base]) : "-"
		verdict = tgt == "" ? "" : (f[4] + 0 >= tgt ? "met" : "MISSED")
		printf "%-26s %-4s %3s %12s %12s %11s %11s %8s %9s %s\n", f[1], f[2], f[3], f[4], f[5],
			(base in js) ? js[base] : "-", (base in jscpu) ? jscpu[base] : "-", ratio, tgt, verdict
	}
}' "$results"
echo
echo "ops/CPU-s: per CPU-second of the measuring process (sim rows: of the server alone; JS sim rows: of the Node client)."
echo "Raw results: $build/bench-results.tsv"
