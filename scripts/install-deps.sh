#!/usr/bin/env bash
# Installs what teeliza needs to build, test and benchmark on Debian 12.
# Idempotent: packages already present are not touched, and apt is only
# asked when something is missing.
set -euo pipefail

pkgs=(
  build-essential cmake ninja-build pkg-config git curl ca-certificates xxd
  libssl-dev libsecp256k1-dev libcurl4-openssl-dev libmicrohttpd-dev
  libjansson-dev libsqlite3-dev libpq-dev libcmocka-dev
  postgresql  # the PostgreSQL store's tests start a private server (tests/lib/pg.sh)
  clang libclang-rt-14-dev
  jq python3  # the shell tests read JSON with them
  python3-yaml python3-jsonschema  # tests/e2e/k8s_check.py validates deploy/scale-out/kubernetes offline
  docker-compose  # parses deploy/*.yaml (config -q) without a Docker engine
  chromium  # the dashboard's browser test (tests/e2e/dashboard_browser.test.sh), headless
  # The image test (tests/e2e/image.test.sh): builds deploy/Dockerfile and runs the
  # containers without a Docker daemon, on a base made with debootstrap. runc, not
  # crun (which cannot start containers on hybrid cgroup machines); catatonit for
  # pods; netavark + aardvark-dns for the networks compose creates.
  podman buildah runc catatonit netavark aardvark-dns debootstrap
)
# Node.js runs the interop tests and the JS side of the benchmarks.
command -v node >/dev/null 2>&1 || pkgs+=(nodejs npm)

missing=()
for p in "${pkgs[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q 'install ok installed' || missing+=("$p")
done

if [ ${#missing[@]} -gt 0 ]; then
  sudo=""
  [ "$(id -u)" -eq 0 ] || sudo="sudo"
  echo "install-deps: installing ${missing[*]}"
  $sudo apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -qq --no-install-recommends "${missing[@]}"
fi
