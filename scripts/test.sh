#!/usr/bin/env bash
# The whole test suite: installs dependencies, then builds and runs every test
# twice, once as released and once under AddressSanitizer + UBSan, then runs
# the fuzz harnesses for a bounded time. .ci/run calls exactly this.
set -euo pipefail
cd "$(dirname "$0")/.."

bash scripts/install-deps.sh

jobs=$(nproc)
run_suite() {
  local dir=$1; shift
  cmake -S . -B "$dir" -G Ninja "$@" >/dev/null
  ninja -C "$dir"
  ctest --test-dir "$dir" --output-on-failure -j "$jobs"
}

echo "== release build (warnings are errors)"
run_suite build -DTEELIZA_WERROR=ON
# gcc's -O0 flow analysis under sanitizers warns differently (format-truncation and
# friends); warnings are gated by the release build above.
echo "== address,undefined sanitizer build"
ASAN_OPTIONS=detect_leaks=1 UBSAN_OPTIONS=print_stacktrace=1:halt_on_error=1 \
  run_suite build-asan -DCMAKE_BUILD_TYPE=Debug -DTEELIZA_SANITIZE=ON
if [ -f tests/fuzz/CMakeLists.txt ]; then
  # libFuzzer needs clang. Warnings are gated by the gcc builds above; clang's
  # -Wconversion family is wider, so this build does not add -Werror.
  echo "== fuzzing (bounded, TEELIZA_FUZZ_SECONDS per harness)"
  CC=clang cmake -S . -B build-fuzz -G Ninja -DCMAKE_BUILD_TYPE=Debug -DTEELIZA_FUZZ=ON \
    -DTEELIZA_FUZZ_SECONDS="${TEELIZA_FUZZ_SECONDS:-60}" >/dev/null
  ninja -C build-fuzz
  ctest --test-dir build-fuzz --output-on-failure -L fuzz -j "$jobs"
fi
