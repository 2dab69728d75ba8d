#!/usr/bin/env bash
# The main job on embedded defaults: no key, no network, no Docker.
# Builds teeliza and starts the agent with the bundled character against
# teeliza's own tappd simulator (in the same process, TEE_MODE=LOCAL), then
# opens the terminal chat. Ask it: what's your wallet address?
# Lines can be piped in (EOF quits); 'exit' quits. docs/AGENT.md explains more.
#
#   bash scripts/run.sh                       # chat with the bundled character
#   bash scripts/run.sh --character=PATH      # any option of `teeliza start`
#   bash scripts/run.sh demo                  # the one-shot `teeliza demo` instead
set -euo pipefail
cd "$(dirname "$0")/.."

bash scripts/install-deps.sh
cmake -S . -B build -G Ninja >/dev/null
ninja -C build teeliza_cli >/dev/null

if [ "${1:-}" = demo ]; then
	shift
	exec ./build/teeliza demo "$@"
fi

export TEE_MODE="${TEE_MODE:-LOCAL}"
if [ -z "${WALLET_SECRET_SALT:-}" ]; then
	# DEMO SALT: a fixed, public value (the one `teeliza demo` uses) so that the
	# demo needs no setup. It is NOT a secret: the agent's wallet keys derive from
	# it, so every real deployment sets its own WALLET_SECRET_SALT.
	export WALLET_SECRET_SALT="teeliza-demo-salt"
	echo "run.sh: WALLET_SECRET_SALT is the public DEMO salt 'teeliza-demo-salt' - never use it for real wallets" >&2
fi
# Loopback only unless asked otherwise: the demo API has no token.
export SERVER_HOST="${SERVER_HOST:-127.0.0.1}"
exec ./build/teeliza start --simulator "$@"
