# shellcheck shell=bash
# The prologue of the shell tests (tests/e2e/*.test.sh, tests/interop/*.test.sh),
# sourced first thing:
#
#   set -euo pipefail
#   . "$(dirname "$0")/../lib/e2e.sh"
#   e2e_setup tee                # $tmp: a fresh /tmp/teeliza-e2e-tee.XXXXXX
#   ...
#   e2e_finish "tee CLI"         # "all tee CLI checks passed", or exit 1
#
# At exit, however the test ends, every background job it started that is
# still running is stopped (SIGTERM, then waited for) and $tmp is removed.
#
# Checks (each prints one line, "ok: WHAT ..." or "FAIL: WHAT ..." on stderr;
# a failed check counts in $fails and the test goes on):
#   ok WHAT | fail WHAT
#   check_eq WHAT GOT WANT | check_has WHAT TEXT NEEDLE | check_lacks WHAT TEXT NEEDLE
#   check_rc WHAT WANT_EXIT CMD...    (CMD's output is left in $tmp/out and $tmp/err)
#
# Servers, on free loopback ports:
#   e2e_simulator NAME [ARGS...]     `teeliza simulator --port 0 --quiet ARGS` in the background,
#                                    output in $tmp/NAME.{out,err}; sets sim_pid and sim_port
#                                    (exit 1 when it does not come up)
#   e2e_wait_line FILE SED PID       print what `sed -n SED FILE` prints first, once it does
#                                    (10 s at most, less when PID dies); else status 1
#   e2e_free_port | e2e_port_free PORT
#   e2e_stop_jobs                    stop the servers started so far
set -euo pipefail

fails=0
tmp=""
# shellcheck disable=SC2034 # set by e2e_simulator, for the test
sim_pid="" sim_port=""

# Stop every background job of the test that is still running (the cleanup does it at exit).
e2e_stop_jobs() {
	local p
	for p in $(jobs -p); do
		kill "$p" 2>/dev/null || true
		wait "$p" 2>/dev/null || true
	done
}

e2e_cleanup() {
	e2e_stop_jobs
	if [ -n "$tmp" ]; then rm -rf "$tmp"; fi
}

# e2e_setup NAME: $tmp, and the cleanup at exit.
e2e_setup() {
	tmp=$(mktemp -d "/tmp/teeliza-e2e-$1.XXXXXX")
	trap e2e_cleanup EXIT
}

ok() { echo "ok: $*"; }
fail() {
	echo "FAIL: $*" >&2
	fails=$((fails + 1))
}
check_eq() { # what got want
	if [ "$2" != "$3" ]; then fail "$1: got '$2', want '$3'"; else ok "$1"; fi
}
check_has() { # what haystack needle
	if ! grep -qF -- "$3" <<<"$2"; then fail "$1: output lacks '$3'"; else ok "$1"; fi
}
check_lacks() { # what haystack needle
	if grep -qF -- "$3" <<<"$2"; then fail "$1: output has '$3'"; else ok "$1"; fi
}
check_rc() { # what want cmd...
	local what=$1 want=$2 rc=0
	shift 2
	"$@" >"$tmp/out" 2>"$tmp/err" || rc=$?
	if [ "$rc" != "$want" ]; then
		fail "$what: exit $rc, want $want (stdout: $(head -c 300 "$tmp/out"); stderr: $(head -c 300 "$tmp/err"))"
	else
		ok "$what (exit $rc: $(head -n 1 "$tmp/err"))"
	fi
}

# e2e_finish WHAT: the verdict of the checks above.
e2e_finish() {
	if [ "$fails" -ne 0 ]; then
		echo "$fails check(s) failed" >&2
		exit 1
	fi
	echo "all $1 checks passed"
}

e2e_free_port() {
	python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])'
}
e2e_port_free() { # port
	python3 -c 'import socket, sys; s = socket.socket(); s.bind(("127.0.0.1", int(sys.argv[1])))' "$1" 2>/dev/null
}

e2e_wait_line() { # file sed-expression pid
	local got=""
	for _ in $(seq 1 100); do
		got=$(sed -n "$2" "$1" 2>/dev/null | head -n 1 || true)
		[ -n "$got" ] && break
		kill -0 "$3" 2>/dev/null || break
		sleep 0.1
	done
	[ -n "$got" ] || return 1
	echo "$got"
}

# The agent's id from its "Agent NAME (ID) started" line, waiting for it: the REST port is bound (and
# its line printed) before that line is, so reading the log once right after the port line races.
e2e_agent_id() { # log-file pid [name]
	e2e_wait_line "$1" "s/^Agent ${3:-Teeliza} (\([0-9a-f-]*\)) started.*/\1/p" "$2"
}

e2e_simulator() { # name args...
	local name=$1 sock="" prev="" a
	shift
	for a in "$@"; do
		[ "$prev" = --socket ] && sock=$a
		prev=$a
	done
	: "${TEELIZA:?path of the teeliza binary}"
	"$TEELIZA" simulator --port 0 --quiet "$@" >"$tmp/$name.out" 2>"$tmp/$name.err" &
	sim_pid=$!
	if ! sim_port=$(e2e_wait_line "$tmp/$name.out" 's/^port \([0-9][0-9]*\)$/\1/p' "$sim_pid"); then
		cat "$tmp/$name.err" >&2
		echo "FAIL: the simulator ($name) did not print its port" >&2
		exit 1
	fi
	for _ in $(seq 1 100); do
		[ -z "$sock" ] || [ -S "$sock" ] && return 0
		sleep 0.1
	done
	echo "FAIL: the simulator ($name) did not open $sock" >&2
	exit 1
}
