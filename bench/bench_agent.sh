#!/usr/bin/env bash
# `teeliza start` measured from outside, beside Eliza's own start-up floor:
#
#   bench/bench_agent.sh           (bench/run.sh agent builds and calls it)
#
#  1. cold start: exec to the first 200 on GET /hello and to the agent listed
#     in GET /agents, median of BENCH_START_RUNS (10) runs, each with a fresh
#     SQLite file; without TEE, then with TEE_MODE=LOCAL and --simulator;
#  2. VmRSS after start, after BENCH_MESSAGES (1,000) messages, after wrk;
#  3. POST /Teeliza/message latency, one keep-alive libcurl handle
#     (bench_message), and throughput with wrk for BENCH_WRK_SECONDS (5) s on
#     BENCH_CONNECTIONS (16) connections, unpinned and pinned (server on CPU 1,
#     wrk on CPU 0) as the simulator rows are;
#  4. Eliza: the time and RSS to import its core, direct client, TEE plugin and
#     SQLite adapter (bench/js/eliza-import.mjs), when bench/js/eliza is installed.
#
# Every agent answers with the offline responder (TEELIZA_OFFLINE=1) on
# 127.0.0.1; nothing leaves the machine. The table goes to stdout and the rows
# to $BENCH_BUILD_DIR/bench-agent.tsv; with BENCH_RAW set (bench/run.sh) the wrk
# rows are also appended there as RESULT lines for the main table.
set -euo pipefail

here=$(cd "$(dirname "$0")" && pwd)
root=$(git -C "$here" rev-parse --show-toplevel)
build=${BENCH_BUILD_DIR:-$root/build-bench}
teeliza=$build/teeliza
bin=$build/bench
runs=${BENCH_START_RUNS:-10}
count=${BENCH_MESSAGES:-1000}
wrk_seconds=${BENCH_WRK_SECONDS:-5}
connections=${BENCH_CONNECTIONS:-16}
raw=${BENCH_RAW:-}
agent=Teeliza

for f in "$teeliza" "$bin/bench_ready" "$bin/bench_message"; do
	[ -x "$f" ] || { echo "bench: $f is missing (bench/run.sh agent builds it)" >&2; exit 1; }
done

work=$(mktemp -d /tmp/teeliza-bench-agent.XXXXXX)
srv_pid=
cleanup() {
	stop_server
	rm -rf "$work"
}
running() { # pid: alive and not a zombie
	local st
	st=$(awk '{ print $3 }' "/proc/$1/stat" 2>/dev/null) || return 1
	[ -n "$st" ] && [ "$st" != Z ]
}
stop_hangs=0
stop_server() { # SIGTERM; one that does not stop within 3 s is counted and killed
	local i
	if [ -n "$srv_pid" ]; then
		kill "$srv_pid" 2>/dev/null || true
		for i in $(seq 150); do
			running "$srv_pid" || break
			sleep 0.02
		done
		if running "$srv_pid"; then
			echo "bench: teeliza start (pid $srv_pid) still runs 3 s after SIGTERM; killing it" >&2
			kill -9 "$srv_pid" 2>/dev/null || true
			stop_hangs=$((stop_hangs + 1))
		fi
		wait "$srv_pid" 2>/dev/null || true
		srv_pid=
	fi
}
trap cleanup EXIT
rows=$work/agent.tsv
: >"$rows"

# The offline responder on loopback, whatever the caller's environment holds.
unset TEE_MODE WALLET_SECRET_SALT DSTACK_SIMULATOR_ENDPOINT TEELIZA_SIM_STATE API_TOKEN SERVER_PORT \
	TEELIZA_PUBLIC_URL OPENAI_API_KEY REDPILL_API_KEY OLLAMA_SERVER_URL
export TEELIZA_OFFLINE=1 SERVER_HOST=127.0.0.1

row() { # id value unit note
	printf '%s\t%s\t%s\t%s\n' "$1" "$2" "$3" "$4" >>"$rows"
}

run() { # a command printing AGENT lines: those are kept, the rest is shown
	local rc=0
	"$@" >"$work/out" || rc=$?
	grep -v '^AGENT' "$work/out" || true
	grep '^AGENT' "$work/out" | cut -f2- >>"$rows" || true
	[ $rc -eq 0 ] || { echo "bench: $* failed" >&2; exit 1; }
}

vm() { # VmRSS or VmHWM of the server, in MB
	awk -v k="$1:" '$1 == k { printf "%.2f", $2 / 1024 }' "/proc/$srv_pid/status"
}

start_server() { # cpu list ("" = any)
	local dir=$work/server.$RANDOM i
	mkdir "$dir"
	: >"$dir/log" # before the child opens it: the loop below reads it at once
	if [ -n "$1" ]; then
		SQLITE_FILE=$dir/db.sqlite taskset -c "$1" "$teeliza" start --non-interactive --port 0 >"$dir/log" 2>&1 &
	else
		SQLITE_FILE=$dir/db.sqlite "$teeliza" start --non-interactive --port 0 >"$dir/log" 2>&1 &
	fi
	srv_pid=$!
	base=
	for i in $(seq 300); do
		if [ -z "$base" ]; then
			base=$(sed -n 's/^REST API bound to \(127\.0\.0\.1:[0-9]*\)$/http:\/\/\1/p' "$dir/log")
		fi
		if [ -n "$base" ] && curl -sf "$base/agents" 2>/dev/null | grep -q "\"name\":\"$agent\""; then
			return 0
		fi
		kill -0 "$srv_pid" 2>/dev/null || break
		sleep 0.02
	done
	cat "$dir/log" >&2
	echo "bench: teeliza start did not come up" >&2
	exit 1
}

proc_ticks() { # utime + stime of a process, in clock ticks
	awk '{ sub(/^.*\) /, ""); print $12 + $13 }' "/proc/$1/stat"
}

run_wrk() { # id, cpu list for wrk ("" = any), first userId number, placement note
	local id=$1 cpus=$2 placement=$4 t0 t1 out rps reqs p50 p99 cpu
	t0=$(proc_ticks "$srv_pid")
	if [ -n "$cpus" ]; then
		out=$(BENCH_AGENT=$agent BENCH_USER_BASE=$3 taskset -c "$cpus" \
			wrk -t1 -c"$connections" -d"${wrk_seconds}s" --latency -s "$here/wrk/message.lua" "$base")
	else
		out=$(BENCH_AGENT=$agent BENCH_USER_BASE=$3 \
			wrk -t1 -c"$connections" -d"${wrk_seconds}s" --latency -s "$here/wrk/message.lua" "$base")
	fi
	t1=$(proc_ticks "$srv_pid")
	if grep -q -e 'Non-2xx' -e 'Socket errors' <<<"$out"; then
		echo "$out" >&2
		echo "bench: wrk saw errors against teeliza start" >&2
		exit 1
	fi
	rps=$(awk '/^Requests\/sec:/ { printf "%.0f", $2 }' <<<"$out")
	reqs=$(awk '/requests in/ { print $1 }' <<<"$out")
	p50=$(awk '$1 == "50%" { print $2 }' <<<"$out")
	p99=$(awk '$1 == "99%" { print $2 }' <<<"$out")
	cpu=$(awk -v a="$t0" -v b="$t1" -v hz="$(getconf CLK_TCK)" 'BEGIN { printf "%.3f", (b - a) / hz }')
	awk -v id="$id" -v rps="$rps" -v reqs="$reqs" -v cpu="$cpu" -v p50="$p50" -v p99="$p99" -v pl="$placement" \
		-v c="$connections" -v raw="$raw" -v rows="$rows" 'BEGIN {
		per = cpu > 0 ? reqs / cpu : 0
		us = cpu > 0 ? 1e6 * cpu / reqs : 0
		printf "%-26s %8.0f msg/s %8.0f msg/server-CPU-s  (%d msgs, server %.2f CPU-s, %.1f us/msg, wrk p50 %s p99 %s)  %s\n",
			id, rps, per, reqs, cpu, us, p50, p99, pl
		printf "%s\t%.0f\tmsg/s\t%d connections, %s; server %.0f msg/CPU-s, %.1f us/msg; wrk p50 %s, p99 %s\n",
			id, rps, c, pl, per, us, p50, p99 >>rows
		if (raw != "")
			printf "RESULT\t%s\twrk\t1\t%.0f\t%.0f\tconnections=%s server_cpu_us/req=%.1f %s\n",
				id, rps, per, c, us, pl >>raw
	}'
}

echo "== agent: machine $(nproc) CPUs, load $(cut -d' ' -f1-3 /proc/loadavg); $teeliza ($(stat -c %s "$teeliza") bytes)"

echo "== exec of teeliza --version (binary and shared libraries loaded, no start-up work)"
mkdir "$work/exec"
run "$bin/bench_ready" --dir "$work/exec" --runs "$runs" --id agent.version --exit-only -- "$teeliza" --version

echo "== cold start to REST-ready, no TEE ($runs runs, a fresh SQLite file each)"
mkdir "$work/start"
run "$bin/bench_ready" --dir "$work/start" --runs "$runs" --id agent.start -- "$teeliza" start --non-interactive

echo "== cold start with TEE_MODE=LOCAL and --simulator (2 wallets derived and 2 quotes at start; fresh simulator state each)"
mkdir "$work/start-tee"
TEE_MODE=LOCAL WALLET_SECRET_SALT=bench-salt \
	run "$bin/bench_ready" --dir "$work/start-tee" --runs "$runs" --id agent.start_tee -- \
	"$teeliza" start --non-interactive --simulator

echo "== restart on an existing SQLite file (and simulator state), no TEE and with TEE"
mkdir "$work/restart" "$work/restart-tee"
run "$bin/bench_ready" --dir "$work/restart" --runs "$runs" --reuse --id agent.restart -- \
	"$teeliza" start --non-interactive
TEE_MODE=LOCAL WALLET_SECRET_SALT=bench-salt \
	run "$bin/bench_ready" --dir "$work/restart-tee" --runs "$runs" --reuse --id agent.restart_tee -- \
	"$teeliza" start --non-interactive --simulator

echo "== POST /$agent/message, one libcurl keep-alive client, server unpinned (16 REST threads), same CPUs"
start_server ""
row agent.rss_ready_mb "$(vm VmRSS)" MB "VmRSS as soon as the agent is listed"
sleep 1
row agent.rss_idle_mb "$(vm VmRSS)" MB "VmRSS after 1 s idle, one character, no TEE"
# one conversation first: the room keeps its 2 participants
run "$bin/bench_message" --url "$base/$agent/message" --count "$count" --server-pid "$srv_pid" --users one \
	--id agent.message_one_user
row agent.rss_after_one_user_mb "$(vm VmRSS)" MB "VmRSS after $((count + 1)) messages from one user"
# then a new user every message, all in the default room (as wrk's users mode)
run "$bin/bench_message" --url "$base/$agent/message" --count "$count" --server-pid "$srv_pid" --id agent.message
row agent.rss_after_messages_mb "$(vm VmRSS)" MB "VmRSS after $((count + 1)) more messages from as many new users in one room"
stop_server

if command -v wrk >/dev/null; then
	# each on a fresh server, so that no row inherits another's room
	for mode in users one rooms; do
		echo "== wrk, $mode mode, server and wrk unpinned"
		start_server ""
		BENCH_MODE=$mode run_wrk "agent.message@wrk$([ $mode = users ] || echo ".$mode")" "" 100000 \
			"server and wrk share all CPUs; wrk/message.lua $mode mode"
		if [ $mode = users ]; then
			row agent.rss_after_wrk_mb "$(vm VmRSS)" MB "VmRSS after the wrk run (users mode)"
			row agent.hwm_after_wrk_mb "$(vm VmHWM)" MB "VmHWM (peak) after the wrk run (users mode)"
		fi
		stop_server
	done
	if [ "$(nproc)" -ge 2 ]; then
		for mode in users one; do
			echo "== wrk, $mode mode, server pinned to CPU 1, wrk pinned to CPU 0"
			start_server 1
			BENCH_MODE=$mode run_wrk "agent.message@wrk-1core$([ $mode = users ] || echo ".$mode")" 0 100000 \
				"server on CPU 1 alone, wrk on CPU 0; wrk/message.lua $mode mode"
			stop_server
		done
	fi
else
	echo "   (wrk not installed: apt-get install wrk for the throughput rows)"
fi

row agent.server_stop_hangs "$stop_hangs" runs "servers of the message rows still running 3 s after SIGTERM (killed)"

eliza=$here/js/eliza
if [ "${BENCH_ELIZA:-}" = 0 ]; then
	row eliza.status 0 - "not measured: BENCH_ELIZA=0"
elif [ -d "$eliza/node_modules/@elizaos/core" ]; then
	echo "== Eliza: importing @elizaos/core, client-direct, plugin-tee, adapter-sqlite (fresh node processes)"
	run node "$here/js/eliza-import.mjs" "$eliza"
	row eliza.node_modules_mb "$(du -sm "$eliza/node_modules" | cut -f1)" MB \
		"$(find "$eliza/node_modules" -type f | wc -l) files, $(find "$eliza/node_modules" -mindepth 1 -maxdepth 1 -not -name '.*' | wc -l) top-level entries"
else
	why="bench/js/eliza is not installed"
	[ -s "$build/eliza-install.log" ] && why="npm install failed: $(tail -3 "$build/eliza-install.log" | tr '\n\t' '  ')"
	row eliza.status 0 - "not measured: $why"
	echo "   (Eliza not measured: $why)"
fi

cp "$rows" "$build/bench-agent.tsv"

# ---- the table: targets from the issue, Eliza beside ----
echo
awk -F'\t' -v runs="$runs" '
{ v[$1] = $2; u[$1] = $3; n[$1] = $4; order[k++] = $1 }
function show(label, id, target, cmp, eid,    val, verdict, e, ratio) {
	if (!(id in v)) return
	val = v[id] + 0
	verdict = ""
	if (target != "")
		verdict = (cmp == "<=" ? val <= target : val >= target) ? "met" : "MISSED"
	e = (eid in v) ? sprintf("%.1f %s", v[eid], u[eid]) : "-"
	ratio = (eid in v) && val > 0 ? sprintf("%.0fx", cmp == "<=" ? v[eid] / val : val / v[eid]) : "-"
	printf "%-44s %12s %-6s %10s %-7s %16s %8s\n", label, sprintf("%.2f", val), u[id],
		target == "" ? "" : cmp " " target, verdict, e, ratio
}
END {
	printf "%-44s %12s %-6s %10s %-7s %16s %8s\n", "agent", "teeliza", "", "target", "", "Eliza", "ratio"
	show("cold start: exec -> GET /hello 200", "agent.start.hello_ms", 50, "<=", "eliza.start_to_imported_ms")
	show("cold start: exec -> agent listed", "agent.start.agent_ms", 50, "<=", "eliza.start_to_imported_ms")
	show("cold start: server CPU until listed", "agent.start.cpu_ms", "", "<=", "eliza.cpu_ms")
	show("exec of teeliza --version (floor)", "agent.version.exec_ms", "", "<=", "")
	show("cold start, TEE LOCAL + simulator: /hello", "agent.start_tee.hello_ms", "", "<=", "eliza.start_to_imported_ms")
	show("cold start, TEE LOCAL + simulator: listed", "agent.start_tee.agent_ms", "", "<=", "eliza.start_to_imported_ms")
	show("cold start, TEE: server CPU until listed", "agent.start_tee.cpu_ms", "", "<=", "eliza.cpu_ms")
	show("restart (existing database): /hello", "agent.restart.hello_ms", 50, "<=", "eliza.start_to_imported_ms")
	show("restart, TEE LOCAL + simulator: listed", "agent.restart_tee.agent_ms", "", "<=", "eliza.start_to_imported_ms")
	show("restart: server CPU until listed", "agent.restart.cpu_ms", "", "<=", "eliza.cpu_ms")
	show("restart, TEE: server CPU until listed", "agent.restart_tee.cpu_ms", "", "<=", "eliza.cpu_ms")
	show("RSS at start (bench_ready median)", "agent.start.rss_mb", 16, "<=", "eliza.import_rss_mb")
	show("RSS at start, TEE LOCAL + simulator", "agent.start_tee.rss_mb", "", "<=", "eliza.import_rss_mb")
	show("RSS idle, one character", "agent.rss_idle_mb", 16, "<=", "eliza.import_rss_mb")
	show("RSS after 1,001 messages (one user)", "agent.rss_after_one_user_mb", 16, "<=", "eliza.import_rss_mb")
	show("RSS after 1,001 more (new users, one room)", "agent.rss_after_messages_mb", 16, "<=", "eliza.import_rss_mb")
	show("RSS after wrk (users mode)", "agent.rss_after_wrk_mb", "", "<=", "eliza.import_rss_mb")
	show("/message p50, one user", "agent.message_one_user.p50_ms", 2, "<=", "")
	show("/message p95, one user", "agent.message_one_user.p95_ms", "", "<=", "")
	show("/message p99, one user", "agent.message_one_user.p99_ms", "", "<=", "")
	show("/message server CPU, one user", "agent.message_one_user.server_cpu_us", "", "<=", "")
	show("/message p50, new user each (room grows)", "agent.message.p50_ms", 2, "<=", "")
	show("/message p99, new user each", "agent.message.p99_ms", "", "<=", "")
	show("/message server CPU, new user each", "agent.message.server_cpu_us", "", "<=", "")
	show("wrk users mode (issue body), 2 shared cores", "agent.message@wrk", 2000, ">=", "")
	show("wrk one user, 2 shared cores", "agent.message@wrk.one", 2000, ">=", "")
	show("wrk new user + own room, 2 shared cores", "agent.message@wrk.rooms", 2000, ">=", "")
	show("wrk users mode, server on 1 core", "agent.message@wrk-1core", "", ">=", "")
	show("wrk one user, server on 1 core", "agent.message@wrk-1core.one", "", ">=", "")
	show("Eliza: import the four packages", "eliza.import_ms", "", "<=", "")
	show("Eliza: node start -> imported", "eliza.start_to_imported_ms", "", "<=", "")
	show("Eliza: CPU until imported", "eliza.cpu_ms", "", "<=", "")
	show("Eliza: RSS after import", "eliza.import_rss_mb", "", "<=", "")
	show("Eliza: node_modules", "eliza.node_modules_mb", "", "<=", "")
	hangs = v["agent.start.stop_hangs"] + v["agent.start_tee.stop_hangs"] + v["agent.restart.stop_hangs"] + \
		v["agent.restart_tee.stop_hangs"] + v["agent.server_stop_hangs"]
	if (hangs > 0)
		printf "teeliza start ignored SIGTERM (killed after 3 s) in %d runs: start %d/%d, start_tee %d/%d, restart %d/%d, restart_tee %d/%d, message servers %d\n",
			hangs, v["agent.start.stop_hangs"], runs, v["agent.start_tee.stop_hangs"], runs,
			v["agent.restart.stop_hangs"], runs, v["agent.restart_tee.stop_hangs"], runs, v["agent.server_stop_hangs"]
	if ("eliza.status" in n) print "Eliza: " n["eliza.status"]
	if ("eliza.versions" in n) print "Eliza: " n["eliza.versions"]
}' "$rows"
echo
echo "ratio: Eliza's figure over teeliza's (import alone, no database, no agent, against teeliza up and serving)."
echo "Rows: $build/bench-agent.tsv"
