#!/usr/bin/env bash
# spire-cvm against the real SPIRE v1.13.3 server, side by side: the same load (bench/loadgen) against each, one
# after the other, on the same machine, both configured alike (SQLite, memory KeyManager, ec-p256 CA, same TTLs,
# join_token, same entries); then a table of ratios spire-cvm / SPIRE (bench/compare_table.py).
# Usage: bench/compare-spire.sh [build-dir]          (make bench-compare; build-dir default build/release)
# Environment (defaults in brackets; larger runs are one variable away):
#   AGENTS [200]  ENTRIES [2000]  SYNC_INTERVAL [5]  SYNC_DURATION [60]  ATTEST_RATE [50]  SVID_RATE [20]
#   SVID_ROUNDS [3]  RENEW_RATE [50]  LOG_LEVEL [INFO]  SERVERS ["cvm spire"]  OUT [mktemp -d]
#   STARTUP_ENTRIES [100000]: entries for the start-up measurement (0: skip it).  STARTUP_ONLY=1: only that row.
#   NO_BUILD=1: use the binaries already in build-dir.   LOADGEN_ARGS: extra loadgen flags.
#   LOADGEN_WRAPPER: a command the load generator runs under (e.g. "gdb -batch -ex run -ex bt --args").
set -euo pipefail

ROOT=$(cd "$(dirname "$0")/.." && pwd)
BUILD=${1:-$ROOT/build/release}
AGENTS=${AGENTS:-200}
ENTRIES=${ENTRIES:-2000}
SYNC_INTERVAL=${SYNC_INTERVAL:-5}
SYNC_DURATION=${SYNC_DURATION:-60}
ATTEST_RATE=${ATTEST_RATE:-50}
SVID_RATE=${SVID_RATE:-20}
SVID_ROUNDS=${SVID_ROUNDS:-3}
RENEW_RATE=${RENEW_RATE:-50}
STARTUP_ENTRIES=${STARTUP_ENTRIES:-100000}
LOG_LEVEL=${LOG_LEVEL:-INFO}
SERVERS=${SERVERS:-cvm spire}
OUT=${OUT:-$(mktemp -d /tmp/cvm-compare.XXXXXX)}
TD=example.org
mkdir -p "$OUT"
# shellcheck source=bench/lib.sh
source "$ROOT/bench/lib.sh"
ulimit -n "$(ulimit -Hn)" 2>/dev/null || true  # one connection per simulated agent, on both ends
trap 'stop_server; echo "outputs in $OUT"' EXIT
bench_binaries "$ROOT" "$BUILD" "$OUT"

# run_one NAME: start the server on a fresh data directory, run the load generator, stop the server.
run_one() {
  local name=$1 bin dir=$OUT/$1
  bin=$(server_binary "$name")
  start_server "$bin" "$dir"
  echo "== $name ($("$bin" --version 2>&1 | head -1 || true)): pid $SERVER_PID, load average $(cut -d' ' -f1-3 /proc/loadavg)"
  run_loadgen "$name" "$dir" -agents "$AGENTS" -entries "$ENTRIES" -attest_rate "$ATTEST_RATE" \
    -sync_interval "$SYNC_INTERVAL" -sync_duration "$SYNC_DURATION" -svid_rate "$SVID_RATE" \
    -svid_rounds "$SVID_ROUNDS" -renew_rate "$RENEW_RATE" -json "$dir/result.json" | tee "$dir/summary.txt"
  stop_server
}

# startup_one NAME: STARTUP_ENTRIES entries written through the admin API, then the server restarted on that
# datastore: seconds from exec to the first healthy answer, and its RSS once healthy (both servers load every
# entry into memory before serving).
startup_one() {
  local name=$1 bin dir=$OUT/$1-startup rss
  bin=$(server_binary "$name")
  start_server "$bin" "$dir"
  run_loadgen "$name" "$dir" -agents 100 -entries "$STARTUP_ENTRIES" -setup_only -json "$dir/setup.json" \
    >"$dir/setup.txt"
  stop_server
  startup_sample "$bin" "$dir"
  rss=$STARTUP_RSS_KIB
  mkdir -p "$OUT/$name"
  printf '{"label": "%s", "entries": %d, "startup_s": %s, "rss_kib": %d}\n' "$name" "$STARTUP_ENTRIES" \
    "$STARTUP_S" "$rss" >"$OUT/$name/startup.json"
  echo "== $name: start-up with $STARTUP_ENTRIES entries: ${STARTUP_S} s to healthy, RSS $((rss / 1024)) MiB"
}

echo "== machine: $(nproc) CPUs, $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2- | sed 's/^ //'), load $(cut -d' ' -f1-3 /proc/loadavg)"
for s in $SERVERS; do
  if [[ -z ${STARTUP_ONLY:-} ]]; then run_one "$s"; fi
  if ((STARTUP_ENTRIES > 0)); then startup_one "$s"; fi
done
if [[ -f $OUT/cvm/result.json && -f $OUT/spire/result.json ]]; then
  python3 "$ROOT/bench/compare_table.py" "$OUT/cvm/result.json" "$OUT/spire/result.json" | tee "$OUT/compare.md"
fi
