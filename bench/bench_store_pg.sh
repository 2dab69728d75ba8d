#!/usr/bin/env bash
# POST /Teeliza/message throughput and CPU per message of `teeliza start` on
# SQLite and on PostgreSQL, in the same run, side by side:
#
#   bash bench/bench_store_pg.sh        (TEELIZA=path/to/teeliza, default build/teeliza)
#
# A private PostgreSQL 15 comes from tests/lib/pg.sh (fsync=off, as the test
# server: this measures teeliza's side, not the disk). For each back-end and
# each wrk mode (bench/wrk/message.lua: "rooms", a new user in a new room per
# message, so every message runs the whole ensure path; "one", one
# conversation), a fresh database, the offline responder, wrk -c
# BENCH_CONNECTIONS (16) for BENCH_WRK_SECONDS (5) s after a 1 s warm-up.
# Printed per row: msg/s, the agent's CPU per message, and on PostgreSQL the
# server's CPU per message (every backend process of the cluster, from
# /proc), i.e. the database time a message costs, and the round trips a
# message took (teeliza_db_round_trips_total over the run, periodic checks
# included). A third row per back-end, "model": one conversation answered
# by a model that reads its prompt (the deterministic stub of
# tests/e2e/replicas_driver.py, CPU not counted) with receipts on
# (`start --simulator`): the whole hot path, the prompt's read and the
# receipt included.
set -euo pipefail

here=$(cd "$(dirname "$0")" && pwd)
root=$(cd "$here/.." && pwd)
teeliza=${TEELIZA:-$root/build/teeliza}
seconds=${BENCH_WRK_SECONDS:-5}
connections=${BENCH_CONNECTIONS:-16}
[ -x "$teeliza" ] || { echo "bench: $teeliza is missing (build first)" >&2; exit 1; }
command -v wrk >/dev/null || { echo "bench: wrk is not installed" >&2; exit 1; }

# shellcheck source=../tests/lib/pg.sh
. "$root/tests/lib/pg.sh"
pg_require
work=$(mktemp -d /tmp/teeliza-bench-pg.XXXXXX)
srv=""
cleanup() {
	if [ -n "$srv" ]; then kill "$srv" 2>/dev/null || true; wait "$srv" 2>/dev/null || true; fi
	if [ -n "$stub" ]; then kill "$stub" 2>/dev/null || true; wait "$stub" 2>/dev/null || true; fi
	rm -rf "$work"
}
trap cleanup EXIT
pg_start
tck=$(getconf CLK_TCK)

cpu_of() { # pid: utime+stime in clock ticks
	awk '{ print $14 + $15 }' "/proc/$1/stat" 2>/dev/null || echo 0
}
pg_cpu() { # every process of the cluster (postmaster and its children)
	local pm total=0 p
	pm=$(head -1 "$PG_DIR/data/postmaster.pid")
	for p in $pm $(pgrep -P "$pm"); do total=$((total + $(cpu_of "$p"))); done
	echo "$total"
}

round_trips() { # port
	curl --noproxy '*' -s -m 10 "http://127.0.0.1:$1/metrics" | sed -n 's/^teeliza_db_round_trips_total //p'
}

stub=""
stub_port() { # the stub model's port, started on first use
	if [ -z "$stub" ]; then
		python3 "$root/tests/e2e/replicas_driver.py" stub >"$work/stub.out" 2>"$work/stub.err" &
		stub=$!
		for _ in $(seq 100); do grep -q '^port ' "$work/stub.out" && break; sleep 0.05; done
	fi
	sed -n 's/^port \([0-9]*\)$/\1/p' "$work/stub.out"
}

run_one() { # backend mode (rooms, one, model)
	local backend=$1 mode=$2 port="" out reqs s0 s1 p0 p1 r0 r1 wrk_mode=$2
	local -a env=(SERVER_HOST=127.0.0.1 "TEELIZA_PG_POOL_SIZE=$connections") args=()
	if [ "$mode" = model ]; then
		wrk_mode=one
		env+=(OPENAI_API_KEY=stub "OPENAI_API_URL=http://127.0.0.1:$(stub_port)/v1" WALLET_SECRET_SALT=bench
			"TEELIZA_SIM_STATE=$work/sim-$backend")
		args+=(--simulator)
	else
		env+=(TEELIZA_OFFLINE=1)
	fi
	if [ "$backend" = postgres ]; then
		pg_psql "CREATE DATABASE bench_$mode" >/dev/null
		env+=("POSTGRES_URL=postgresql://postgres@127.0.0.1:$PG_PORT/bench_$mode")
	else
		env+=("SQLITE_FILE=$work/$mode.sqlite")
	fi
	env -u POSTGRES_URL -u DATABASE_URL -u TEELIZA_OFFLINE -u OPENAI_API_KEY "${env[@]}" "$teeliza" start \
		--non-interactive --port 0 "${args[@]}" \
		>"$work/$backend-$mode.out" 2>"$work/$backend-$mode.log" &
	srv=$!
	for _ in $(seq 600); do
		port=$(sed -n 's/^REST API bound to 127\.0\.0\.1:\([0-9]*\)$/\1/p' "$work/$backend-$mode.log")
		[ -n "$port" ] && grep -q "started; model" "$work/$backend-$mode.log" && break
		sleep 0.05
	done
	[ -n "$port" ] || { cat "$work/$backend-$mode.log" >&2; echo "bench: the agent did not start" >&2; exit 1; }
	BENCH_MODE=$wrk_mode BENCH_USER_BASE=1 wrk -t1 -c"$connections" -d1s -s "$here/wrk/message.lua" \
		"http://127.0.0.1:$port" >/dev/null
	s0=$(cpu_of "$srv")
	p0=$(pg_cpu)
	r0=$(round_trips "$port")
	out=$(BENCH_MODE=$wrk_mode BENCH_USER_BASE=1000000 wrk -t1 -c"$connections" -d"${seconds}s" \
		-s "$here/wrk/message.lua" "http://127.0.0.1:$port")
	s1=$(cpu_of "$srv")
	p1=$(pg_cpu)
	r1=$(round_trips "$port")
	if grep -q "Non-2xx\|Socket errors" <<<"$out"; then
		echo "$out" >&2
		echo "bench: wrk saw errors ($backend, $mode)" >&2
	fi
	reqs=$(sed -n 's/^ *\([0-9]*\) requests in.*/\1/p' <<<"$out")
	awk -v b="$backend" -v m="$mode" -v n="$reqs" -v secs="$seconds" -v s=$((s1 - s0)) -v p=$((p1 - p0)) \
		-v t="$tck" -v c="$connections" -v rt=$((r1 - r0)) 'BEGIN {
		db = b == "postgres" ? sprintf("%7.0f us", p / t * 1e6 / n) : "      -"
		trips = b == "postgres" ? sprintf("%5.2f", rt / n) : "    -"
		printf "%-8s %-6s %8.0f msg/s   agent CPU %6.0f us/msg   database CPU %s/msg   round trips %s/msg   (%d msgs, %d connections)\n",
			b, m, n / secs, s / t * 1e6 / n, db, trips, n, c }'
	kill "$srv"
	wait "$srv" 2>/dev/null || true
	srv=""
}

echo "== POST /Teeliza/message, offline responder, wrk ${seconds}s x $connections connections ($(nproc) CPUs shared)"
for mode in ${BENCH_MODES:-rooms one model}; do
	run_one sqlite "$mode"
	run_one postgres "$mode"
done
