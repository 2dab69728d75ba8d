#!/usr/bin/env bash
# Numbers on the command line are parsed strictly: digits only, the whole
# argument, within the documented range. What strtol/strtoul used to accept
# (a sign, a leading blank, a wrap-around past 2^64) is a usage error (64),
# and the boundary values themselves are accepted. Nothing here needs a
# server: accepted values go on to fail later, with another exit code.
set -euo pipefail

: "${TEELIZA:?path of the teeliza binary}"

# shellcheck source=../lib/e2e.sh
. "$(dirname "$0")/../lib/e2e.sh"
e2e_setup numbers

# expect CODE ARGS...: run teeliza ARGS and check its exit code.
expect() {
	local want=$1 got=0
	shift
	# A value wrongly accepted may start a server: give up after 30 s (exit 124).
	timeout 30 "$TEELIZA" "$@" >"$tmp/out" 2>"$tmp/err" </dev/null || got=$?
	if [ "$got" != "$want" ]; then
		fail "teeliza $* exited $got, want $want: $(head -c 300 "$tmp/err")"
	else
		ok "teeliza $* -> $got"
	fi
}

wrap=18446744073709551617 # 2^64 + 1: strtoull wraps it to 1
closed=http://127.0.0.1:1  # nothing listens: an accepted value fails with 69 (or 1 for healthcheck)

# Signed and blank zeros: a binary that wrongly accepts them binds a free loopback port, never a fixed one.
export SERVER_HOST=127.0.0.1 SQLITE_FILE="$tmp/db.sqlite" TEELIZA_SIM_STATE="$tmp/sim"
unset TEE_MODE SERVER_PORT
for port in 65536 -1 -0 +0 " 0" "0 " "$wrap" 0x50 ""; do
	expect 64 start --port "$port"
	expect 64 demo --port "$port"
	expect 64 simulator --port "$port"
done

for mode in +0600 " 0600" 0800 17777 -1 ""; do
	expect 64 simulator --socket-mode "$mode" --no-tcp --socket "$tmp/s.sock"
done
for threads in 0 65 +1 " 1" "$wrap"; do
	expect 64 simulator --port 0 --threads "$threads"
done
for now in -1 +1 " 1" 9223372036854775808 "$wrap"; do
	expect 64 sim-root --now "$now" --state-dir "$tmp/state"
	expect 64 verify --now "$now" /dev/null
done

export WALLET_SECRET_SALT=numbers-test-salt
for ms in 0 3600001 +5 " 5" -5 "$wrap"; do
	expect 64 derive --agent-id a --timeout "$ms" --endpoint "$closed"
	expect 64 info --timeout "$ms" --endpoint "$closed"
	expect 64 quote --timeout "$ms" --endpoint "$closed" data
done
for ms in 1 3600000; do
	expect 69 derive --agent-id a --timeout "$ms" --endpoint "$closed" --quiet
	expect 69 info --timeout "$ms" --endpoint "$closed" --quiet
done

for ms in 0 600001 +5 " 5" "$wrap"; do
	expect 64 healthcheck --timeout "$ms" "$closed/"
done
expect 1 healthcheck --quiet --timeout 600000 "$closed/"
expect 1 healthcheck --quiet --timeout 1 "$closed/"

# SERVER_PORT is read the same way (78: bad configuration).
for port in 65536 -0 +0 " 0" "$wrap"; do
	SERVER_PORT=$port expect 78 start --non-interactive
done

e2e_finish number
