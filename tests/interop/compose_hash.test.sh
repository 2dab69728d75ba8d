#!/usr/bin/env bash
# `teeliza compose-hash` against the dstack JS SDK's own getComposeHash
# (@phala/dstack-sdk 0.5.8, installed from npm into the build directory under
# the alias dstack-sdk-058): the same hash for every input of compose_hash.mjs
# (key order, JS number and string forms, normalize), and --canonical's text
# hashing to it.
set -euo pipefail
: "${TEELIZA:?}" "${TEELIZA_SRC:?}" "${TEELIZA_BUILD:?}"

here="$TEELIZA_SRC/tests/interop"
# its own directory: npm prunes what it was not asked for, and interop.sdk installs into interop-js
mods="$TEELIZA_BUILD/interop-compose-hash"
mkdir -p "$mods"
cp "$here/compose_hash.mjs" "$mods/"
# shellcheck source=../lib/npm_install.sh
. "$TEELIZA_SRC/tests/lib/npm_install.sh"
command -v node >/dev/null || { echo "FAIL: node is required (scripts/install-deps.sh installs it)" >&2; exit 1; }
# The version package.json pins for the alias, and its one required peer dependency (npm_install_pinned
# resolves no peers), at the version npm picks for it today.
spec=$(node -e 'console.log(`dstack-sdk-058@${require(process.argv[1]).dependencies["dstack-sdk-058"]}`)' "$here/package.json")
npm_install_pinned "$mods" "$spec" "@noble/hashes@1.8.0"

# shellcheck source=../lib/e2e.sh
. "$TEELIZA_SRC/tests/lib/e2e.sh"
e2e_setup compose-hash
node "$mods/compose_hash.mjs" "$TEELIZA" "$tmp"
