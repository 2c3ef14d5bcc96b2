#!/usr/bin/env bash
# Runs the tests of the concurrent parts on the ThreadSanitizer build (`make test-tsan`, build dir from
# SPIRECVM_TSAN=ON): the datastore (SQLite, conformance suite incl. its concurrent writers), the server's CA
# rotation (ca_manager), bundle, entry and node caches, node attestation, the attestation threads (ThreadCache) and the
# blocking pool of callback-API calls (WorkerPool), the agent's SVID cache and manager, the Workload API with its
# stream limiter, the admin API, and the whole agent (threads started and stopped). Any race report fails the run (halt_on_error + exitcode 66). Suppressions: test/tsan/suppressions.txt,
# each entry documented there.
# Usage: test/tsan/run.sh <tsan-build-dir>
set -euo pipefail
BUILD=$(cd "${1:?usage: $0 <tsan-build-dir>}" && pwd)
SRC=$(cd "$(dirname "$0")/../.." && pwd)
export TSAN_OPTIONS="halt_on_error=1 exitcode=66 second_deadlock_stack=1 suppressions=$SRC/test/tsan/suppressions.txt"
grep -q "SPIRECVM_TSAN:BOOL=ON" "$BUILD/CMakeCache.txt" || { echo "$BUILD is not a SPIRECVM_TSAN=ON build"; exit 1; }

# Suites that drive gRPC calls (the Workload API, the agent's manager and whole agent, the admin API) are not run
# here: Debian's gRPC is not built with TSan, so the gRPC code inlined from its headers into our binaries reports
# gRPC's own thread hand-offs (CallOpSet, callback reactors) as races. They run on the ASan build.
# binary and gtest filter: the suites that exercise threads (the rest, e.g. config parsing, is single-threaded and
# stays on the ASan build).
RUNS=(
  "src/server/datastore/cvm_datastore_sqlite_test|*"
  "src/server/cvm_server_tsan_test|CaManager*:Upstream*:BundleCache*:EntryCache*:NodeCache*:NodeAttestation*:ServerSteps*:DiskKeyManager*:ThreadCache*:WorkerPool*"
  "src/agent/cvm_agent_tsan_test|Cache*:CacheFederation*:WorkerPool*:StreamLimiter*:CallerAttestation*:UnixAttestor*:KeyManager*:EntrySync*"
)
failed=0
start=$(date +%s)
for run in "${RUNS[@]}"; do
  bin=${run%%|*}
  filter=${run#*|}
  t0=$(date +%s)
  log=$BUILD/tsan-$(basename "$bin").log
  if "$BUILD/$bin" --gtest_filter="$filter" >"$log" 2>&1; then
    echo "tsan: $(basename "$bin"): $(grep -m1 -oE '[0-9]+ tests? from [0-9]+ test suites? ran' "$log") ok ($(($(date +%s) - t0))s)"
  else
    failed=1
    echo "tsan: $(basename "$bin") FAILED (log: $log)"
    grep -A40 -m1 "WARNING: ThreadSanitizer" "$log" || tail -40 "$log"
  fi
done
echo "tsan: run took $(($(date +%s) - start))s"
exit $failed
