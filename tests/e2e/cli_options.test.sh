#!/usr/bin/env bash
# The subcommands' command lines (src/cli/cli_opts.c and each command's table):
# the GNU spellings are accepted (--name=VALUE, unique abbreviations, short
# options and their clusters, options after arguments, "--"), and a bad
# command line exits 64 with the exact message its command has always given:
# the --help hint, or the whole usage, after it where the command does so.
set -euo pipefail

: "${TEELIZA:?path of the teeliza binary}"
# shellcheck source=../lib/e2e.sh
. "$(dirname "$0")/../lib/e2e.sh"
e2e_setup options
cd "$tmp"
unset TEE_MODE DSTACK_SIMULATOR_ENDPOINT TEE_KEY_SCHEME
export WALLET_SECRET_SALT=options-test-salt TEELIZA_SIM_STATE="$tmp/sim"
closed="http://127.0.0.1:$(e2e_free_port)" # nothing listens: a command line that was taken fails with 69

# usage CMD ARGS... <<<WANT: teeliza CMD ARGS exits 64 and says exactly WANT on stderr, nothing on stdout.
usage() {
	local want got rc=0
	want=$(cat)
	timeout 30 "$TEELIZA" "$@" >"$tmp/out" 2>"$tmp/err" </dev/null || rc=$?
	got=$(cat "$tmp/err")
	if [ "$rc" != 64 ] || [ "$got" != "$want" ] || [ -s "$tmp/out" ]; then
		fail "teeliza $*: exit $rc, stderr:"$'\n'"$got"$'\n'"want exit 64, stderr:"$'\n'"$want"
	else
		ok "teeliza $* -> 64: $(head -n 1 "$tmp/err")"
	fi
}
hint() { echo "run 'teeliza $1 --help' for the options"; }

# ---- taken: each reaches tappd (69), so its options were all accepted ----
check_rc "derive: --name=VALUE, abbreviations, -q" 69 "$TEELIZA" derive --agent-id=a --end "$closed" --time=2000 -q
check_rc "derive: --no-a abbreviates --no-attest" 69 "$TEELIZA" derive --ag a --no-a --endpoint "$closed" --qu
check_rc "quote: the option after DATA" 69 "$TEELIZA" quote data --endpoint "$closed" -q
check_rc "quote: -- ends the options, so -x is DATA" 69 "$TEELIZA" quote --endpoint "$closed" -q -- -x
check_rc "info: --j is --json" 69 "$TEELIZA" info --j --endpoint="$closed" -q
check_rc "healthcheck: -qt 2000 (a cluster with its value)" 1 "$TEELIZA" healthcheck -qt 2000 "$closed/"
check_rc "replay: --json after the file" 3 "$TEELIZA" replay /dev/null --json

# ---- the tappd commands: the hint after unknown options only ----
usage derive --bogus <<<"teeliza derive: unknown or incomplete option '--bogus'
$(hint derive)"
usage derive --timeout <<<"teeliza derive: unknown or incomplete option '--timeout'
$(hint derive)"
usage derive --s x <<<"teeliza derive: unknown or incomplete option '--s'
$(hint derive)"
usage derive --json=x --agent-id a <<<"teeliza derive: unknown or incomplete option '--json=x'
$(hint derive)"
usage derive -qz <<<"teeliza derive: unknown or incomplete option '-qz'
$(hint derive)"
usage derive --agent-id a extra <<<"teeliza derive: unexpected argument 'extra'"
usage derive --timeout 0 --agent-id a <<<"teeliza derive: --timeout wants milliseconds between 1 and 3600000, not '0'"
usage derive --chain btc --agent-id a <<<'teeliza derive: unknown chain "btc": must be one of solana, evm, raw'
usage derive --salt s --agent-id a <<<"teeliza derive: --salt is not accepted: a salt on the command line is visible to every user (ps, shell history). Use WALLET_SECRET_SALT or --salt-file FILE."
usage derive --subject s --agent-id a <<<"teeliza derive: --subject needs --path"
usage derive <<<"teeliza derive: --agent-id is required"
usage quote <<<"teeliza quote: give exactly one DATA argument (run 'teeliza quote --help')"
usage quote x --h <<<"teeliza quote: unknown or incomplete option '--h'
$(hint quote)"
usage quote x --hash sha1 <<<"teeliza quote: unknown hash algorithm 'sha1' (see --help)"
usage info extra <<<"teeliza info: unexpected argument 'extra'"
usage demo --port 65536 <<<"teeliza demo: bad port '65536' (0..65535)"
usage demo -q <<<"teeliza demo: unknown or incomplete option '-q'
$(hint demo)"

# ---- verify: the hint after every error but a bad hex or status ----
usage verify --bogus <<<"teeliza verify: unknown or incomplete option '--bogus'
$(hint verify)"
usage verify x --now -1 <<<"teeliza verify: --now needs Unix seconds, got '-1'
$(hint verify)"
usage verify x --expired never <<<"teeliza verify: --expired must be reject, untrusted or allow, got 'never'
$(hint verify)"
usage verify x --expect-mrtd 00 <<<"teeliza verify: --expect-mrtd needs exactly 48 bytes of hex"
usage verify x --collateral c --save-collateral s <<<"teeliza verify: --save-collateral only goes with a PCCS (--pccs-url URL or PCCS_URL), not --collateral
$(hint verify)"

# ---- start and healthcheck: "what: value", then the hint ----
usage start --bogus <<<"teeliza start: unknown or incomplete option: --bogus
$(hint start)"
usage start --port " 0" <<<"teeliza start: bad port (0..65535):  0
$(hint start)"
usage start extra <<<"teeliza start: unexpected argument: extra
$(hint start)"
usage start --sim-key-file f <<<"teeliza start: --sim-key-file goes with --simulator
$(hint start)"
usage healthcheck --bogus http://x <<<"teeliza healthcheck: unknown option: --bogus
$(hint healthcheck)"
usage healthcheck -X <<<"teeliza healthcheck: option needs a value: -X
$(hint healthcheck)"
usage healthcheck -t 600001 http://x <<<"teeliza healthcheck: bad timeout (1..600000 ms): 600001
$(hint healthcheck)"
usage healthcheck http://x http://y <<<"teeliza healthcheck: unexpected argument: http://y
$(hint healthcheck)"
usage healthcheck <<<"teeliza healthcheck: missing URL
$(hint healthcheck)"

# ---- simulator, sim-root and replay: a blank line and the usage ----
sim_help=$("$TEELIZA" simulator --help)
root_help=$("$TEELIZA" sim-root --help)
replay_help=$("$TEELIZA" replay --help)
usage simulator --bogus <<<"teeliza simulator: unknown option: --bogus

$sim_help"
usage simulator -p <<<"teeliza simulator: option needs a value: -p

$sim_help"
usage simulator --socket-mode 0800 <<<"teeliza simulator: bad socket mode (octal, e.g. 0660): 0800

$sim_help"
usage simulator --no-tcp <<<"teeliza simulator: --no-tcp needs --tappd-socket PATH or --dstack-socket PATH

$sim_help"
usage simulator --app-id 0x12 <<<"teeliza simulator: bad app id (20 bytes as 40 hex digits): 0x12

$sim_help"
usage simulator --socket /tmp/x.sock --dstack-socket /tmp/x.sock <<<"teeliza simulator: --tappd-socket and --dstack-socket must differ: /tmp/x.sock

$sim_help"
usage sim-root --now x <<<"teeliza sim-root: bad time (unix seconds): x

$root_help"
usage replay --jso x <<<"teeliza replay: unknown option '--jso'

$replay_help"
usage replay a b --bogus <<<"teeliza replay: more than one event log given

$replay_help"
usage replay <<<"$replay_help"

# ---- start --pccs-allow-http: a plain-http PCCS_URL off loopback is refused unless allowed, loudly ----
rc=0
PCCS_URL=http://10.9.9.9:8081 SERVER_HOST=127.0.0.1 SERVER_PORT=0 SQLITE_FILE="$tmp/pccs.db" timeout 30 \
	"$TEELIZA" start --non-interactive >"$tmp/out" 2>"$tmp/err" </dev/null || rc=$?
check_eq "start refuses a plain-http PCCS_URL off loopback" "$rc" 78
check_has "and names the option that allows it" "$(cat "$tmp/err")" "--pccs-allow-http overrides this"
PCCS_URL=http://10.9.9.9:8081 SERVER_HOST=127.0.0.1 SERVER_PORT=0 SQLITE_FILE="$tmp/pccs.db" \
	"$TEELIZA" start --non-interactive --pccs-allow-http >"$tmp/out" 2>"$tmp/err" </dev/null &
pid=$!
e2e_wait_line "$tmp/err" 's/^REST API bound to 127\.0\.0\.1:\([0-9]*\)$/\1/p' "$pid" >/dev/null ||
	fail "start --pccs-allow-http did not start: $(cat "$tmp/err")"
kill -TERM "$pid" 2>/dev/null || true
wait "$pid" || true
check_has "start --pccs-allow-http starts, and warns" "$(cat "$tmp/err")" "WARNING: --pccs-allow-http: fetching collateral over plain http"

e2e_finish "CLI option"
