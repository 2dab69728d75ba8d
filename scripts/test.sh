#!/usr/bin/env bash
# The whole test suite, in stages: install dependencies, release build + its
# tests, ASan/UBSan build + its tests, libFuzzer builds run for a bounded time,
# then the container images built and run with podman (tests/e2e/image.test.sh).
# .ci/run calls exactly this.
#
# Every stage runs even when an earlier one failed; a failing test prints its
# output (ctest --output-on-failure), a failing build its errors. The run ends
# with one summary (each stage: passed, failed or skipped, with test counts),
# then a last line "N passed, N failed, N skipped" that counts CTest tests of
# all stages, a stage that fails before its tests run (install, configure,
# build) counting as one failed. Exit status: 0 when nothing failed, else 1.
#
# Environment: TEELIZA_FUZZ_SECONDS (per harness, default 60);
# TEELIZA_IMAGE_TEST=0 leaves out the image stage (reported as skipped).
set -uo pipefail
cd "$(dirname "$0")/.." || exit 1

jobs=$(nproc)
logs=$(mktemp -d /tmp/teeliza-test.XXXXXX)
trap 'rm -rf "$logs"' EXIT
suite_start=$(date +%s)

stage_names=()
stage_results=()
stage_notes=()
total_pass=0
total_fail=0
total_skip=0

record() { # name result note
	stage_names+=("$1")
	stage_results+=("$2")
	stage_notes+=("$3")
}
elapsed() { # start -> "Nm Ns"
	local s=$(($(date +%s) - $1))
	printf '%dm %02ds' $((s / 60)) $((s % 60))
}

# Configure and build; on failure print the tail of what went wrong.
build_tree() { # dir cmake-args...
	local dir=$1
	shift
	if ! cmake -S . -B "$dir" -G Ninja "$@" >"$logs/configure.log" 2>&1; then
		tail -n 60 "$logs/configure.log"
		echo "FAILED: cmake configure of $dir (above: the last lines of its output)"
		return 1
	fi
	# ninja prints the failing command and the compiler's errors itself.
	if ! ninja -C "$dir"; then
		echo "FAILED: ninja -C $dir (the compiler's errors are above)"
		return 1
	fi
}

# Run ctest with JUnit output and count what it reports.
# Sets t_pass t_fail t_skip t_failed_names t_skipped_lines (each skipped test
# with its "SKIP..." line, and each passed test's "SKIPPED PART: ..." lines:
# a part of a test that could not run here is shown, not counted as passed).
run_ctest() { # dir ctest-args...
	local dir=$1 junit
	shift
	junit="$logs/junit-$(basename "$dir")-$RANDOM.xml"
	ctest --test-dir "$dir" --output-on-failure --output-junit "$junit" "$@"
	local rc=$?
	t_pass=0 t_fail=0 t_skip=0 t_failed_names="" t_skipped_lines=""
	if [ ! -s "$junit" ]; then
		echo "FAILED: ctest in $dir wrote no results (exit $rc)"
		t_fail=1
		t_failed_names="ctest itself (exit $rc)"
		return
	fi
	eval "$(python3 - "$junit" <<'EOF'
import shlex, sys
import xml.etree.ElementTree as ET
suite = ET.parse(sys.argv[1]).getroot()
passed, failed, skipped, fnames, slines = 0, 0, 0, [], []
for case in suite.iter("testcase"):
    status = case.get("status")
    out = (case.findtext("system-out") or "").splitlines()
    if status == "run":
        passed += 1
        slines += [f"{case.get('name')}: {l}" for l in out if l.startswith("SKIPPED PART")]
    elif status == "fail":
        failed += 1
        fnames.append(case.get("name"))
    else:
        skipped += 1
        why = next((l for l in out if l.startswith("SKIP")), "no reason printed")
        slines.append(f"{case.get('name')}: {why}")
print(f"t_pass={passed} t_fail={failed} t_skip={skipped}")
print(f"t_failed_names={shlex.quote(', '.join(fnames))}")
print(f"t_skipped_lines={shlex.quote(chr(10).join(slines))}")
EOF
	)"
	if [ "$rc" -ne 0 ] && [ "$t_fail" -eq 0 ]; then
		# ctest failed without a failing test (e.g. a test that could not start).
		t_fail=1
		t_failed_names="ctest exit $rc"
	fi
}

# A stage that builds a tree and runs its tests.
test_stage() { # name dir "cmake args" ctest-args...
	local name=$1 dir=$2 cargs=$3 start result note
	shift 3
	start=$(date +%s)
	echo
	echo "== stage $name: build $dir"
	# shellcheck disable=SC2086 # cmake arguments are words
	if ! build_tree "$dir" $cargs; then
		total_fail=$((total_fail + 1))
		record "$name" failed "build failed, no tests ran ($(elapsed "$start"))"
		return
	fi
	echo "== stage $name: tests"
	run_ctest "$dir" "$@"
	total_pass=$((total_pass + t_pass))
	total_fail=$((total_fail + t_fail))
	total_skip=$((total_skip + t_skip))
	note="$t_pass passed, $t_fail failed, $t_skip skipped ($(elapsed "$start"))"
	[ -z "$t_failed_names" ] || note="$note; failed: $t_failed_names"
	if [ "$t_fail" -ne 0 ]; then result=failed; else result=passed; fi
	record "$name" "$result" "$note"
	[ -z "$t_skipped_lines" ] || stage_notes[-1]+=$'\n'"$t_skipped_lines"
}

# ---- deps ----
echo "== stage deps: scripts/install-deps.sh"
start=$(date +%s)
if bash scripts/install-deps.sh; then
	record deps passed "($(elapsed "$start"))"
else
	total_fail=$((total_fail + 1))
	record deps failed "scripts/install-deps.sh failed (its output is above); later stages may fail for it ($(elapsed "$start"))"
fi

# ---- release: warnings are errors; the image test has its own stage ----
test_stage release build "-DTEELIZA_WERROR=ON" -j "$jobs" -E '^e2e\.image$'

# ---- asan: gcc's -O0 flow analysis under sanitizers warns differently
# (format-truncation and friends); warnings are gated by the release build.
export ASAN_OPTIONS=detect_leaks=1 UBSAN_OPTIONS=print_stacktrace=1:halt_on_error=1
test_stage asan build-asan "-DCMAKE_BUILD_TYPE=Debug -DTEELIZA_SANITIZE=ON" -j "$jobs" -E '^e2e\.image$'
unset ASAN_OPTIONS UBSAN_OPTIONS

# ---- fuzz: libFuzzer needs clang. Warnings are gated by the gcc builds above;
# clang's -Wconversion family is wider, so this build does not add -Werror.
if [ -f tests/fuzz/CMakeLists.txt ]; then
	CC=clang test_stage fuzz build-fuzz \
		"-DCMAKE_BUILD_TYPE=Debug -DTEELIZA_FUZZ=ON -DTEELIZA_FUZZ_SECONDS=${TEELIZA_FUZZ_SECONDS:-60}" \
		-L fuzz -j "$jobs"
else
	record fuzz skipped "no tests/fuzz"
fi

# ---- image: both Dockerfile targets built and run with podman ----
echo
start=$(date +%s)
if [ "${TEELIZA_IMAGE_TEST:-1}" = 0 ]; then
	total_skip=$((total_skip + 1))
	record image skipped "TEELIZA_IMAGE_TEST=0"
elif [ ! -f build/CTestTestfile.cmake ]; then
	total_fail=$((total_fail + 1))
	record image failed "the release build tree was not configured, so e2e.image could not run"
else
	echo "== stage image: tests/e2e/image.test.sh (podman, docs/DEPLOY.md)"
	TEELIZA_IMAGE_TEST=1 run_ctest build -R '^e2e\.image$'
	total_pass=$((total_pass + t_pass))
	total_fail=$((total_fail + t_fail))
	total_skip=$((total_skip + t_skip))
	if [ "$t_fail" -ne 0 ]; then
		record image failed "e2e.image failed (its output is above) ($(elapsed "$start"))"
	elif [ "$t_skip" -ne 0 ]; then
		record image skipped "$t_skipped_lines ($(elapsed "$start"))"
	elif [ "$t_pass" -eq 0 ]; then
		total_fail=$((total_fail + 1))
		record image failed "no test named e2e.image ran"
	else
		record image passed "e2e.image passed ($(elapsed "$start"))"
		[ -z "$t_skipped_lines" ] || stage_notes[-1]+=$'\n'"$t_skipped_lines"
	fi
fi

# ---- summary ----
echo
echo "== summary ($(elapsed "$suite_start") in all)"
for i in "${!stage_names[@]}"; do
	first=yes
	while IFS= read -r line; do
		if [ "$first" = yes ]; then
			printf '%-8s %-8s %s\n' "${stage_names[$i]}" "${stage_results[$i]}" "$line"
			first=no
		else
			printf '%-17s %s\n' "" "$line"
		fi
	done <<<"${stage_notes[$i]}"
done
echo "(counted: CTest tests of every stage; a stage that failed before its tests ran counts as 1 failed)"
echo "$total_pass passed, $total_fail failed, $total_skip skipped"
[ "$total_fail" -eq 0 ]
