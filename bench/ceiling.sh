#!/usr/bin/env bash
# The sync ceiling of spire-cvm and of SPIRE v1.13.3: for each agent count, a fresh server with ENTRIES_PER_AGENT
# entries per agent, every agent attested (join_token), connected, then syncing every SYNC_INTERVAL s for
# SYNC_DURATION s (bench/loadgen, open loop); the ceiling is the smallest count at which p99 sync latency crosses
# P99_LIMIT_MS. Then bench/plot_ceiling.py draws p50/p99 against agents for both (docs/ceiling.png) from the JSON.
# Usage: bench/ceiling.sh [build-dir]        (make bench-ceiling)
# Environment (defaults in brackets):
#   AGENT_COUNTS ["250 500 1000 2000 4000 7000 10000"]  ENTRIES_PER_AGENT [10]  SYNC_INTERVAL [5]
#   SYNC_DURATION [40]  ATTEST_RATE [200]  P99_LIMIT_MS [50]  STOP_MS [2000]: a server whose p99 exceeds this
#   (or that fails calls) is not run at larger counts.  SERVERS ["cvm spire"]  LOG_LEVEL [WARN]
#   OUT [mktemp -d]  PLOT [docs/ceiling.png; empty: no plot]  NO_BUILD=1: use the binaries in build-dir.
set -euo pipefail

ROOT=$(cd "$(dirname "$0")/.." && pwd)
BUILD=${1:-$ROOT/build/release}
AGENT_COUNTS=${AGENT_COUNTS:-250 500 1000 2000 4000 7000 10000}
ENTRIES_PER_AGENT=${ENTRIES_PER_AGENT:-10}
SYNC_INTERVAL=${SYNC_INTERVAL:-5}
SYNC_DURATION=${SYNC_DURATION:-40}
ATTEST_RATE=${ATTEST_RATE:-200}
P99_LIMIT_MS=${P99_LIMIT_MS:-50}
STOP_MS=${STOP_MS:-2000}
SERVERS=${SERVERS:-cvm spire}
LOG_LEVEL=${LOG_LEVEL:-WARN}
OUT=${OUT:-$(mktemp -d /tmp/cvm-ceiling.XXXXXX)}
PLOT=${PLOT-$ROOT/docs/ceiling.png}
TD=example.org
mkdir -p "$OUT"
# shellcheck source=bench/lib.sh
source "$ROOT/bench/lib.sh"
ulimit -n "$(ulimit -Hn)" 2>/dev/null || true
trap 'stop_server; echo "outputs in $OUT"' EXIT
bench_binaries "$ROOT" "$BUILD" "$OUT"

# point NAME N: one fresh server, N agents; prints "p99 errors" of the sync phase.
point() {
  local name=$1 n=$2 dir=$OUT/$1-$2
  start_server "$(server_binary "$name")" "$dir"
  echo "== $name, $n agents, $((n * ENTRIES_PER_AGENT)) entries: load average $(cut -d' ' -f1-3 /proc/loadavg)" >&2
  run_loadgen "$name" "$dir" -agents "$n" -entries "$((n * ENTRIES_PER_AGENT))" -attest_rate "$ATTEST_RATE" \
    -sync_interval "$SYNC_INTERVAL" -sync_duration "$SYNC_DURATION" -svid_rate 0 -renew_rate 0 -progress 10 \
    -json "$OUT/$name-$n.json" >"$dir/summary.txt" 2>"$dir/loadgen.err" || true
  stop_server
  python3 - "$OUT/$name-$n.json" <<'PY'
import json, sys
try:
    r = json.load(open(sys.argv[1]))
except (OSError, ValueError):
    print("inf 1"); sys.exit()
bad = 0
for p in r["phases"]:
    for x in p["rpcs"].values():
        bad += x["count"] - x["ok"]
# The sync phase's one RPC: SyncAuthorizedEntries, or GetAuthorizedEntries under LOADGEN_ARGS="-sync_rpc get".
s = next((p["rpcs"].get("SyncAuthorizedEntries") or p["rpcs"].get("GetAuthorizedEntries")
          for p in r["phases"] if p["name"] == "sync"), None)
print(f"{s['p99_ms'] if s else float('inf')} {bad}")
PY
}

echo "== machine: $(nproc) CPUs, $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2- | sed 's/^ //'), load $(cut -d' ' -f1-3 /proc/loadavg)"
for s in $SERVERS; do
  for n in $AGENT_COUNTS; do
    read -r p99 bad < <(point "$s" "$n")
    echo "== $s $n agents: sync p99 $p99 ms, failed calls $bad"
    if [[ $bad != 0 ]] || python3 -c "import sys; sys.exit(0 if float('$p99') > $STOP_MS else 1)"; then
      echo "== $s: stopping at $n agents (p99 over $STOP_MS ms or failed calls)"
      break
    fi
  done
done
"$(bench_python)" "$ROOT/bench/plot_ceiling.py" --limit-ms "$P99_LIMIT_MS" ${PLOT:+--png "$PLOT"} "$OUT"/*.json \
  | tee "$OUT/ceiling.md"
