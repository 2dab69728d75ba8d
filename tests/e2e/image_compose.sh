#!/usr/bin/env bash
# Part 6 of tests/e2e/image.test.sh, which runs it under `unshare --net`
# (inside its mount namespace): a network namespace of its own, so the bridge
# network compose creates, its firewall rules and the ports the compose file
# publishes (127.0.0.1:3000, :8090) exist only here and vanish with it.
#
# deploy/docker-compose.local.yaml, run by Debian's docker-compose against
# podman's Docker-compatible API (`podman system service` on a unix socket in
# the test's directory), with the images image.test.sh built:
#  a. `up`: the simulator becomes healthy, then the agent starts
#     (depends_on: service_healthy); /healthz and the wallet answer on the
#     published port;
#  b. the simulator-on-the-host path: a simulator on this namespace's port 8090,
#     TEELIZA_SIMULATOR=http://host.docker.internal:8090 and `up --no-deps agent`:
#     the agent alone starts and uses it.
# Environment from image.test.sh: TMP (its directory, CONTAINERS_* set there),
# SIM_IMG, AGENT_IMG, TEELIZA_BIN (a teeliza binary for the host simulator).
# Exit 0 passed, 1 failed, 77 "this part cannot run here" (printed as
# "SKIPPED PART: why").
set -euo pipefail
: "${TMP:?}" "${SIM_IMG:?}" "${AGENT_IMG:?}" "${TEELIZA_SRC:?}"
pm() { podman --root "$TMP/storage" --runroot "$TMP/run" "$@" 2> >(grep -v 'unable to get systemd connection' >&2); }
skip_part() {
	echo "SKIPPED PART: compose: $*"
	exit 77
}
fails=0
fail() {
	echo "FAIL: compose: $*"
	fails=$((fails + 1))
}
ok() { echo "ok: compose: $*"; }

ip link set lo up
sock="$TMP/podman.sock"
export DOCKER_HOST="unix://$sock"
compose=(docker-compose -p teeliza-test -f "$TEELIZA_SRC/deploy/docker-compose.local.yaml" --env-file "$TMP/compose.env")
printf 'WALLET_SECRET_SALT=compose-test-salt\n' >"$TMP/compose.env"

svc_pid="" host_sim="" driver=""
cleanup() {
	set +e
	[ -z "$driver" ] || kill "$driver" 2>/dev/null
	timeout 120 "${compose[@]}" down -v >>"$TMP/compose-down.log" 2>&1
	[ -z "$host_sim" ] || { kill "$host_sim" 2>/dev/null; wait "$host_sim" 2>/dev/null; }
	[ -z "$svc_pid" ] || { kill "$svc_pid" 2>/dev/null; wait "$svc_pid" 2>/dev/null; }
}
trap cleanup EXIT

pm system service --time=0 "unix://$sock" >"$TMP/podman-service.log" 2>&1 &
svc_pid=$!
for _ in $(seq 1 100); do
	[ -S "$sock" ] && break
	kill -0 "$svc_pid" 2>/dev/null || break
	sleep 0.1
done
[ -S "$sock" ] || { cat "$TMP/podman-service.log"; skip_part "podman system service did not open its API socket (its log above)"; }
if ! docker-compose version >/dev/null 2>&1 || ! curl -sf --unix-socket "$sock" http://d/_ping >/dev/null; then
	skip_part "podman's API socket does not answer a Docker ping"
fi
# The compose file names the images it builds; use the ones the test built.
pm tag "$SIM_IMG" teeliza-simulator:local
pm tag "$AGENT_IMG" teeliza:local

# podman runs HEALTHCHECKs on systemd timers, and there is no systemd here: run
# them every second, or `depends_on: service_healthy` waits forever
# (docs/DEPLOY.md). Errors are expected while containers come and go.
(while :; do
	for c in $(pm ps -q 2>/dev/null); do pm healthcheck run "$c" >/dev/null 2>&1 || true; done
	sleep 1
done) &
driver=$!

up() { # log args...
	local log=$1
	shift
	if ! timeout 180 "${compose[@]}" up -d --no-build "$@" >"$log" 2>&1; then
		cat "$log"
		return 1
	fi
}
wait_healthy() { # container
	local i
	for ((i = 0; i < 90; i++)); do
		[ "$(pm inspect --format '{{.State.Health.Status}}' "$1" 2>/dev/null)" = healthy ] && return 0
		sleep 1
	done
	pm logs "$1" 2>&1 | tail -n 20
	return 1
}
wallet() {
	curl -s -m 10 -H 'Content-Type: application/json' -d "{\"text\":\"what's your wallet address?\"}" \
		http://127.0.0.1:3000/Teeliza/message | jq -r '.[0] | "\(.solana) \(.evm)"'
}

# ---- a. both services ----
if up "$TMP/compose-up.log"; then
	ok "docker-compose up: simulator healthy first, then the agent (depends_on: service_healthy)"
else
	fail "docker-compose up failed (above)"
fi
for c in teeliza-test_simulator_1 teeliza-test_agent_1; do
	wait_healthy "$c" && ok "$c healthy" || fail "$c not healthy"
done
code=$(curl -s -m 10 -o "$TMP/c-healthz" -w '%{http_code}' http://127.0.0.1:3000/healthz || true)
[ "$code" = 200 ] && ok "GET 127.0.0.1:3000/healthz (published port): 200" || fail "GET /healthz on the published port: '$code'"
w=$(wallet)
[[ "$w" =~ ^[1-9A-HJ-NP-Za-km-z]{32,44}\ 0x[0-9a-fA-F]{40}$ ]] && ok "wallet answer through the published port: $w" ||
	fail "no wallet answer on the published port: '$w'"
timeout 120 "${compose[@]}" down -v >"$TMP/compose-down.log" 2>&1 || { cat "$TMP/compose-down.log"; fail "docker-compose down -v"; }

# ---- b. a simulator on the host; the agent alone ----
if [ -z "${TEELIZA_BIN:-}" ] || [ ! -x "$TEELIZA_BIN" ]; then
	echo "SKIPPED PART: compose (simulator on the host): no teeliza binary to run as the host's simulator"
else
	"$TEELIZA_BIN" simulator --listen 0.0.0.0 --port 8090 --state-dir "$TMP/host-sim" >"$TMP/host-sim.out" 2>"$TMP/host-sim.err" &
	host_sim=$!
	for _ in $(seq 1 50); do
		curl -sf -m 2 -X POST -d '{}' http://127.0.0.1:8090/prpc/Tappd.Version >/dev/null 2>&1 && break
		sleep 0.1
	done
	# Docker resolves host.docker.internal through extra_hosts' host-gateway. The
	# podman of Debian 12 (4.3) writes "host-gateway" into /etc/hosts as it is,
	# so there the name resolves to nothing; podman names the host
	# host.containers.internal itself (docs/DEPLOY.md).
	host_url=http://host.docker.internal:8090
	TEELIZA_SIMULATOR=$host_url up "$TMP/compose-up-host.log" --no-deps agent || true
	if pm exec teeliza-test_agent_1 cat /etc/hosts 2>/dev/null | grep -q '^host-gateway[[:space:]]'; then
		echo "NOTE: compose: this podman ($(pm version --format '{{.Client.Version}}')) does not resolve host-gateway;" \
			"the agent uses http://host.containers.internal:8090 instead"
		timeout 120 "${compose[@]}" down -v >>"$TMP/compose-down.log" 2>&1 || true
		host_url=http://host.containers.internal:8090
	fi
	if TEELIZA_SIMULATOR=$host_url up "$TMP/compose-up-host.log" --no-deps agent; then
		ok "docker-compose up --no-deps agent with TEELIZA_SIMULATOR=$host_url (a simulator already on 8090)"
	else
		fail "up --no-deps agent with a simulator on the host failed (above)"
	fi
	wait_healthy teeliza-test_agent_1 && ok "the agent is healthy" || fail "the agent is not healthy"
	if pm ps -a --format '{{.Names}}' | grep -q simulator; then
		fail "a simulator container was started beside the host's: $(pm ps -a --format '{{.Names}}' | tr '\n' ' ')"
	else
		ok "no simulator container: port 8090 stays the host simulator's"
	fi
	w2=$(wallet)
	[[ "$w2" =~ ^[1-9A-HJ-NP-Za-km-z]{32,44}\ 0x[0-9a-fA-F]{40}$ ]] && ok "wallet answer: $w2" ||
		fail "no wallet answer from the agent on the host's simulator: '$w2'"
	if grep -q 'DeriveKey' "$TMP/host-sim.err"; then
		ok "the agent derived its wallets from the host's simulator"
	else
		fail "the host's simulator got no DeriveKey: $(tail -n 3 "$TMP/host-sim.err" | tr '\n' ' '); agent: $(pm logs teeliza-test_agent_1 2>&1 | grep -m 3 -iE 'TEE|error' | tr '\n' ' ')"
	fi
fi

[ "$fails" -eq 0 ]
