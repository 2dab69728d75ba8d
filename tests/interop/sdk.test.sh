#!/usr/bin/env bash
# Interop with the official JS SDK (@phala/dstack-sdk 0.1.7 + @solana/web3.js +
# viem, installed from npm into the build directory): Eliza's TEE plugin
# algorithm run by the SDK against `teeliza simulator`, over TCP and over a
# unix socket, for every key scheme, must get the same wallets, report data
# and RTMRs as teeliza's own client.
set -euo pipefail
: "${TEELIZA:?}" "${TEELIZA_SRC:?}" "${TEELIZA_BUILD:?}" "${TEELIZA_VECTORS:?}"

here="$TEELIZA_SRC/tests/interop"
mods="$TEELIZA_BUILD/interop-js"
mkdir -p "$mods"
cp "$here/package.json" "$here/plugin-flow.mjs" "$here/sdk-vs-teeliza.mjs" "$mods/"
# shellcheck source=../lib/npm_install.sh
. "$TEELIZA_SRC/tests/lib/npm_install.sh"
command -v node >/dev/null || { echo "FAIL: node is required (scripts/install-deps.sh installs it)" >&2; exit 1; }
# The exact versions package.json pins.
mapfile -t specs < <(node -e 'for (const [n, v] of Object.entries(require(process.argv[1]).dependencies)) console.log(`${n}@${v}`)' \
	"$here/package.json")
npm_install_pinned "$mods" "${specs[@]}"

# shellcheck source=../lib/e2e.sh
. "$TEELIZA_SRC/tests/lib/e2e.sh"
e2e_setup sdk
sock="$tmp/tappd.sock"
e2e_simulator sim --state-dir "$tmp/state" --socket "$sock" --key-file "$TEELIZA_VECTORS/tappd-simulator-app.key"
port=$sim_port

# The SDK lets this override any endpoint; make sure nothing leaks in.
unset DSTACK_SIMULATOR_ENDPOINT TEE_MODE
rc=0
for endpoint in "http://127.0.0.1:$port" "$sock"; do
	for scheme in teeliza eliza-v0.1.9 eliza-v0.1.7; do
		node "$mods/sdk-vs-teeliza.mjs" "$TEELIZA" "$endpoint" "my-wallet-salt" \
			b850bc30-45f8-0041-a00a-83df46d8555d "$scheme" || rc=1
	done
	# A salt outside ASCII: the SDK's unix-socket Content-Length counts UTF-16
	# units, so only TCP is expected to agree byte for byte (docs/INTEROP.md).
	if [[ "$endpoint" == http* ]]; then
		# (agent ids are UUIDs, as an agent's are: `teeliza derive` takes any other text for a
		# character name and derives for stringToUuid(name))
		node "$mods/sdk-vs-teeliza.mjs" "$TEELIZA" "$endpoint" "sél-😀" \
			025e0996-69d7-0dce-8189-390e354fd1c1 eliza-v0.1.9 || rc=1
	fi
done
exit $rc
