# shellcheck shell=bash
# A private PostgreSQL server for the tests: Debian's PostgreSQL 15 binaries,
# a cluster in a fresh temp directory, listening on 127.0.0.1 and a Unix
# socket in that directory only, on a random free port, stopped and removed
# at exit. Nothing of the machine's own PostgreSQL service is touched.
#
# Sourced:
#   . "$(dirname "$0")/../lib/pg.sh"
#   pg_require                 # binaries present, else exit 77 (skip, with the reason)
#                              # or, when CI=true, exit 1: CI must not skip silently
#   pg_start                   # start; exports POSTGRES_URL (URL form, database teeliza_test),
#                              # PG_CONNINFO (the same in key=value form over the Unix socket),
#                              # PG_PORT, PG_DIR, PG_BIN, and TEELIZA_TEST_PG_URL for the
#                              # cmocka store tests; stopped by a trap at exit
#   pg_psql SQL                # run SQL as the superuser on teeliza_test, print rows unaligned
#   pg_stop                    # stop now (the trap does it otherwise)
#   pg_down / pg_up            # stop the server keeping its data, start it again on the same port
#                              # (a database restart under load); also in a command pg.sh wraps
# Run directly, it wraps a command:
#   bash tests/lib/pg.sh COMMAND ARGS...   # start, run COMMAND with the variables above, stop
#
# initdb refuses to run as root, so as root (CI) the cluster belongs to an
# unprivileged user: TEELIZA_PG_USER, else nobody. fsync is off: this
# server holds test data only.

# kept when already set: a command run by `bash pg.sh COMMAND` may source this file for pg_down/pg_up
PG_DIR=${PG_DIR:-} PG_PORT=${PG_PORT:-} PG_BIN=${PG_BIN:-} PG_RUN_AS=()
if [ -n "$PG_DIR" ] && [ "$(id -u)" -eq 0 ]; then PG_RUN_AS=(runuser -u "${TEELIZA_PG_USER:-nobody}" --); fi

# The newest PostgreSQL server binaries on this machine ("" when none).
pg_find_bin() {
	local d
	for d in /usr/lib/postgresql/15/bin $(printf '%s\n' /usr/lib/postgresql/*/bin | sort -rV); do
		if [ -x "$d/initdb" ] && [ -x "$d/pg_ctl" ] && [ -x "$d/postgres" ]; then
			echo "$d"
			return
		fi
	done
	if command -v initdb >/dev/null 2>&1 && command -v pg_ctl >/dev/null 2>&1; then
		dirname "$(readlink -f "$(command -v initdb)")"
	fi
}

pg_require() {
	PG_BIN=$(pg_find_bin)
	if [ -z "$PG_BIN" ]; then
		if [ "${CI:-}" = "true" ]; then
			echo "FAIL: PostgreSQL server binaries (initdb, pg_ctl) are missing; CI must install postgresql" \
				"(scripts/install-deps.sh)" >&2
			exit 1
		fi
		echo "SKIP: PostgreSQL server binaries (initdb, pg_ctl) are not installed; the PostgreSQL store" \
			"tests did not run (apt-get install postgresql)" >&2
		exit 77
	fi
}

pg_stop() {
	if [ -n "$PG_DIR" ] && [ -d "$PG_DIR/data" ]; then
		"${PG_RUN_AS[@]}" "$PG_BIN/pg_ctl" -D "$PG_DIR/data" -m fast -w stop >/dev/null 2>&1 || true
	fi
	if [ -n "$PG_DIR" ]; then rm -rf "$PG_DIR"; fi
	PG_DIR=""
}

pg_down() {
	(cd "$PG_DIR" && "${PG_RUN_AS[@]}" "$PG_BIN/pg_ctl" -D "$PG_DIR/data" -m fast -w stop >/dev/null)
}

pg_up() {
	(cd "$PG_DIR" && "${PG_RUN_AS[@]}" "$PG_BIN/pg_ctl" -D "$PG_DIR/data" -l "$PG_DIR/log" -w -t 30 \
		-o "-k $PG_DIR -c listen_addresses=127.0.0.1 -p $PG_PORT -c max_connections=200 -c fsync=off" \
		start >/dev/null)
}

pg_psql() {
	"$PG_BIN/psql" -X -q -A -t -v ON_ERROR_STOP=1 -h "$PG_DIR" -p "$PG_PORT" -U postgres -d teeliza_test -c "$1"
}

pg_start() {
	local user port try
	[ -n "$PG_BIN" ] || pg_require
	PG_DIR=$(mktemp -d /tmp/teeliza-pg.XXXXXX)
	chmod 0755 "$PG_DIR"
	if [ "$(id -u)" -eq 0 ]; then
		user=${TEELIZA_PG_USER:-nobody}
		chown "$user" "$PG_DIR"
		PG_RUN_AS=(runuser -u "$user" --)
	else
		PG_RUN_AS=()
	fi
	# chain onto the caller's EXIT trap (tests/lib/e2e.sh sets one) rather than replace it
	local prev
	prev=$(trap -p EXIT | sed -e "s/^trap -- '//" -e "s/' EXIT\$//")
	# shellcheck disable=SC2064 # expand now: the previous handler's text
	trap "pg_stop; ${prev:-:}" EXIT
	if ! "${PG_RUN_AS[@]}" "$PG_BIN/initdb" -D "$PG_DIR/data" -U postgres -A trust -E UTF8 --no-instructions \
		>"$PG_DIR/initdb.log" 2>&1; then
		cat "$PG_DIR/initdb.log" >&2
		echo "FAIL: initdb" >&2
		return 1
	fi
	for try in 1 2 3 4 5 6 7 8; do
		port=$((20000 + RANDOM % 40000))
		if "${PG_RUN_AS[@]}" "$PG_BIN/pg_ctl" -D "$PG_DIR/data" -l "$PG_DIR/log" -w -t 30 \
			-o "-k $PG_DIR -c listen_addresses=127.0.0.1 -p $port -c max_connections=200 -c fsync=off" \
			start >/dev/null 2>&1; then
			PG_PORT=$port
			break
		fi
		: "port $port taken or start failed (try $try)"
	done
	if [ -z "$PG_PORT" ]; then
		cat "$PG_DIR/log" >&2 || true
		echo "FAIL: PostgreSQL did not start" >&2
		return 1
	fi
	"$PG_BIN/psql" -X -q -h "$PG_DIR" -p "$PG_PORT" -U postgres -d postgres -c "CREATE DATABASE teeliza_test" >/dev/null
	export PG_DIR PG_PORT PG_BIN
	export POSTGRES_URL="postgresql://postgres@127.0.0.1:$PG_PORT/teeliza_test"
	export PG_CONNINFO="host=$PG_DIR port=$PG_PORT user=postgres dbname=teeliza_test"
	# what the cmocka store tests read (tests/unit/agent/test_agent_store*.c): the URL, or with
	# PG_URL_FORM=conninfo the key=value form over the socket, so both forms are exercised
	if [ "${PG_URL_FORM:-url}" = conninfo ]; then
		export TEELIZA_TEST_PG_URL="$PG_CONNINFO"
	else
		export TEELIZA_TEST_PG_URL="$POSTGRES_URL"
	fi
}

if [ "${BASH_SOURCE[0]}" = "$0" ]; then
	set -euo pipefail
	[ $# -gt 0 ] || { echo "usage: $0 COMMAND [ARGS...]" >&2; exit 2; }
	pg_require
	pg_start
	rc=0
	"$@" || rc=$?
	exit "$rc"
fi
