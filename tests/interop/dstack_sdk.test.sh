#!/usr/bin/env bash
# Interop with the newest official JS SDK, @phala/dstack-sdk 0.5.8 (installed from
# npm into the build directory under the alias dstack-sdk-058), unchanged, against
# `teeliza simulator`: every DstackClient method and helper, the deprecated tappd
# paths and the bad inputs, over TCP (DSTACK_SIMULATOR_ENDPOINT=http://…) and over
# the dstack unix socket; once with a KMS root of the simulator's own (the chains
# must recover to the root it prints at start) and once with dstack's public
# simulator appkeys.json (keys recomputed from it, spec §1.9's GetKey table byte
# for byte, chains recovering to root 0321529e…3085b6). tests/interop/dstack-sdk.mjs
# holds the checks.
set -euo pipefail
: "${TEELIZA:?}" "${TEELIZA_SRC:?}" "${TEELIZA_BUILD:?}" "${TEELIZA_VECTORS:?}"

here="$TEELIZA_SRC/tests/interop"
mods="$TEELIZA_BUILD/interop-js"
mkdir -p "$mods"
cp "$here/package.json" "$here/dstack-sdk.mjs" "$mods/"
# shellcheck source=../lib/npm_install.sh
. "$TEELIZA_SRC/tests/lib/npm_install.sh"
command -v node >/dev/null || { echo "FAIL: node is required (scripts/install-deps.sh installs it)" >&2; exit 1; }
mapfile -t specs < <(node -e 'for (const [n, v] of Object.entries(require(process.argv[1]).dependencies)) console.log(`${n}@${v}`)' \
	"$here/package.json")
npm_install_pinned "$mods" "${specs[@]}"

# shellcheck source=../lib/e2e.sh
. "$TEELIZA_SRC/tests/lib/e2e.sh"
e2e_setup dstack-sdk
unset TAPPD_SIMULATOR_ENDPOINT TEE_MODE TEE_API
seed=${DSTACK_SDK_SEED:-$RANDOM$RANDOM}
echo "seed $seed (DSTACK_SDK_SEED=$seed repeats this run)"

# run_sdk NAME ARGS...: one simulator, then the driver over TCP and over its dstack socket.
run_sdk() {
	local name=$1 app_id root
	shift
	# Not e2e_simulator: --quiet would hide the start-up lines naming the app id and the root.
	mkdir -p "$tmp/$name"
	"$TEELIZA" simulator --port 0 --state-dir "$tmp/$name" --dstack-socket "$tmp/$name/dstack.sock" \
		--tappd-socket "$tmp/$name/tappd.sock" "$@" >"$tmp/$name.out" 2>"$tmp/$name.err" &
	sim_pid=$!
	sim_port=$(e2e_wait_line "$tmp/$name.out" 's/^port \([0-9][0-9]*\)$/\1/p' "$sim_pid") ||
		{ fail "$name: the simulator did not start: $(cat "$tmp/$name.err")"; return; }
	app_id=$(e2e_wait_line "$tmp/$name.err" 's/.*: app id \([0-9a-f]\{40\}\);.*/\1/p' "$sim_pid") ||
		{ fail "$name: no app id in the start-up lines: $(cat "$tmp/$name.err")"; return; }
	root=$(e2e_wait_line "$tmp/$name.err" 's/.*KMS root (k256) \([0-9a-f]\{66\}\)$/\1/p' "$sim_pid") ||
		{ fail "$name: no KMS root in the start-up lines: $(cat "$tmp/$name.err")"; return; }
	if [ -n "${want_root:-}" ]; then check_eq "$name: the KMS root printed at start" "$root" "$want_root"; fi
	local ep tappd
	for ep in "http://127.0.0.1:$sim_port" "$tmp/$name/dstack.sock"; do
		tappd="http://127.0.0.1:$sim_port"
		[[ $ep == http* ]] || tappd="$tmp/$name/tappd.sock"
		if DSTACK_SIMULATOR_ENDPOINT=$ep node "$mods/dstack-sdk.mjs" --app-id "$app_id" --kms-root "$root" \
			--tappd "$tappd" --seed "$seed" "${extra[@]}" >"$tmp/sdk.out" 2>"$tmp/sdk.err"; then
			ok "$name: SDK 0.5.8 against $ep ($(grep -c '^ok:' "$tmp/sdk.out") checks)"
		else
			grep -v '^ok:' "$tmp/sdk.out" >&2 || true
			tail -n 20 "$tmp/sdk.err" >&2
			fail "$name: SDK 0.5.8 against $ep"
		fi
	done
	e2e_stop_jobs
}

# An app-compose.json whose name is not ASCII (written in the deterministic JSON of the SDK's
# getComposeHash, so both hashes agree): Info's answer then holds UTF-8, which the SDK's
# unix-socket reader only sees whole when the connection ends.
printf '{"docker_compose_file":"services: {}\\n","manifest_version":2,"name":"caf\xc3\xa9 \xe2\x98\x95 app","runner":"docker-compose"}' \
	>"$tmp/app-compose.json"
extra=(--app-name "café ☕ app" --app-id-from-compose yes) want_root=""
run_sdk own-root --compose "$tmp/app-compose.json"
extra=(--appkeys "$TEELIZA_VECTORS/dstack-simulator-appkeys.json")
want_root=0321529e458424ab1f710a3a57ec4dad2fb195ddca572f7469242ba6c7563085b6
run_sdk dstack-appkeys --appkeys "$TEELIZA_VECTORS/dstack-simulator-appkeys.json"
e2e_finish "dstack SDK 0.5.8"
