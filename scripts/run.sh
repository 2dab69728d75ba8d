#!/usr/bin/env bash
# The main job on embedded defaults: no key, no network, no Docker.
# Builds teeliza and runs the Eliza TEE guide's demo against our own simulator.
set -euo pipefail
cd "$(dirname "$0")/.."

bash scripts/install-deps.sh
cmake -S . -B build -G Ninja >/dev/null
ninja -C build teeliza_cli >/dev/null
exec ./build/teeliza demo "$@"
