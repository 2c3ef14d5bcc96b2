#!/usr/bin/env bash
# `make test` after the format check: the ASan/UBSan build, then every CTest test (unit, end-to-end, interop,
# faults, attacks) on it, then the ThreadSanitizer suites (test/tsan/run.sh), then every fuzzer for a short time
# (test/fuzz/run.sh).
# - The interop peers (scripts/build-peers.sh: SPIRE v1.13.3 from source, the go-spiffe clients, the Python venv;
#   about 15 minutes of CPU on a fresh machine, nothing once cached) build while the ASan build runs, and CTest starts
#   only when they are ready: left to the first interop test, the build held CTest's slots for its whole duration
#   (every interop and moto test waiting on its lock), and a waiting test could time out.
# - The TSan and libFuzzer builds compile while CTest runs, at the lowest CPU priority: the end-to-end tests mostly
#   wait on processes and sockets, so those builds take the idle core time instead of adding their own wall time.
# Every part runs even when an earlier one failed; the exit status is 1 when any failed.
# Usage: scripts/run-tests.sh   (env: ASAN_BUILD, TSAN_BUILD, JOBS, FUZZ_TEST_SECONDS; the Makefile passes them)
set -uo pipefail
cd "$(dirname "$0")/.."
ASAN_BUILD=${ASAN_BUILD:-build/asan}
TSAN_BUILD=${TSAN_BUILD:-build/tsan}
JOBS=${JOBS:-$(nproc)}
FUZZ_TEST_SECONDS=${FUZZ_TEST_SECONDS:-10}
logs=build/test-logs
mkdir -p "$logs"

# The peers: build-peers.sh prints its folder, or exits 77 with one line saying what is missing (the interop suite
# then skips itself); any other failure is reported by the interop tests, which run it again.
t0=$(date +%s)
./scripts/build-peers.sh all >"$logs/peers.log" 2>&1 &
peers=$!
make --no-print-directory build-asan ASAN_BUILD="$ASAN_BUILD" JOBS="$JOBS" || {
  echo "run-tests: the ASan build failed"
  kill "$peers" 2>/dev/null
  exit 1
}
echo "run-tests: ASan build done in $(($(date +%s) - t0))s"
t0=$(date +%s)
wait "$peers"
echo "run-tests: interop peers ready (exit $?, waited $(($(date +%s) - t0))s after the build; log $logs/peers.log)"

nice -n 19 make --no-print-directory tsan-build TSAN_BUILD="$TSAN_BUILD" JOBS="$JOBS" >"$logs/tsan-build.log" 2>&1 &
tsan_build=$!
nice -n 19 make --no-print-directory -f test/fuzz/fuzz.mk -j "$JOBS" all >"$logs/fuzz-build.log" 2>&1 &
fuzz_build=$!

# CTest starts the longest tests first when it knows their durations (its cost data, written after each run). A
# fresh build directory has none, and would start the long end-to-end tests last, in declaration order, leaving one
# core idle at the end: seed it from the durations recorded in the repository (tests over a second; refresh with
# `make ctest-cost-data` after a full run).
cost=$ASAN_BUILD/Testing/Temporary/CTestCostData.txt
[[ -f $cost ]] || { mkdir -p "$(dirname "$cost")" && cp test/ctest-cost-data.txt "$cost"; }

failed=()
t0=$(date +%s)
(cd "$ASAN_BUILD" && ASAN_OPTIONS=detect_leaks=1 ctest --output-on-failure -j "$JOBS") || failed+=("ctest")
echo "run-tests: ctest took $(($(date +%s) - t0))s"

t0=$(date +%s)
if wait "$tsan_build"; then
  echo "run-tests: TSan build done (waited $(($(date +%s) - t0))s after ctest)"
  ./test/tsan/run.sh "$TSAN_BUILD" || failed+=("tsan")
else
  echo "run-tests: the TSan build failed ($logs/tsan-build.log):"
  tail -40 "$logs/tsan-build.log"
  failed+=("tsan build")
fi

# run.sh builds what the background build did not (a failed build is reported there, exit 2).
wait "$fuzz_build" || true
FUZZ_PARALLEL=$JOBS ./test/fuzz/run.sh "$FUZZ_TEST_SECONDS" || failed+=("fuzz")

if ((${#failed[@]})); then
  echo "run-tests: FAILED: ${failed[*]}"
  exit 1
fi
echo "run-tests: every part passed"
