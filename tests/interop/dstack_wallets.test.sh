#!/usr/bin/env bash
# Migration from the JS SDK: @phala/dstack-sdk 0.5.8's toViemAccountSecure /
# toKeypairSecure of getKey(path, purpose, algorithm) give the addresses that
# `teeliza derive --scheme dstack-sdk --path … --purpose …` prints, for random
# paths, purposes and algorithms, against `teeliza simulator` over TCP and a
# dstack unix socket; and the dstack scheme's documented path recipe is what
# teeliza asks GetKey for.
set -euo pipefail
: "${TEELIZA:?}" "${TEELIZA_SRC:?}" "${TEELIZA_BUILD:?}"

here="$TEELIZA_SRC/tests/interop"
# Its own directory: no race with sdk.test.sh installing into interop-js at the same time.
mods="$TEELIZA_BUILD/interop-js-dstack"
mkdir -p "$mods"
cp "$here/dstack_wallets.mjs" "$mods/"
# shellcheck source=../lib/npm_install.sh
. "$TEELIZA_SRC/tests/lib/npm_install.sh"
command -v node >/dev/null || { echo "FAIL: node is required (scripts/install-deps.sh installs it)" >&2; exit 1; }
# The versions package.json pins, for the packages this test imports.
mapfile -t specs < <(node -e 'const d = require(process.argv[1]).dependencies;
	for (const n of ["dstack-sdk-058", "viem", "@solana/web3.js"]) console.log(`${n}@${d[n]}`)' "$here/package.json")
npm_install_pinned "$mods" "${specs[@]}"

# shellcheck source=../lib/e2e.sh
. "$TEELIZA_SRC/tests/lib/e2e.sh"
e2e_setup dstack-wallets
sock="$tmp/dstack.sock"
e2e_simulator sim --state-dir "$tmp/state" --dstack-socket "$sock"
for _ in $(seq 1 100); do [ -S "$sock" ] && break; sleep 0.1; done

unset DSTACK_SIMULATOR_ENDPOINT TAPPD_SIMULATOR_ENDPOINT TEE_MODE TEE_API TEE_KEY_SCHEME
rc=0
node "$mods/dstack_wallets.mjs" "$TEELIZA" "http://127.0.0.1:$sim_port" 8 || rc=1
node "$mods/dstack_wallets.mjs" "$TEELIZA" "$sock" 4 || rc=1
exit $rc
