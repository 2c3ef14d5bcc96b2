#!/usr/bin/env bash
# A connected agent's cost to the spire-cvm server: a fresh server, AGENTS join-token attestations, each agent's
# mTLS connection opened (its first sync), then SYNC_DURATION seconds of syncs every 5 s; prints the server's RSS
# growth per connection (after the connect phase minus after the attest phase) and its CPU in the sync phase.
# SERVER_ENV is put in the server's environment, to compare allocators on one binary, e.g.
#   SERVER_ENV=LD_PRELOAD=/usr/lib/x86_64-linux-gnu/libjemalloc.so.2 bench/conn-memory.sh
# Usage: bench/conn-memory.sh [build-dir]   (binaries built as by bench/compare-spire.sh; NO_BUILD=1 skips that)
# Environment: AGENTS [1000]  SYNC_DURATION [30]  RUNS [1]  SERVER_ENV []  LOG_LEVEL [WARN]  OUT [mktemp -d]
set -euo pipefail

ROOT=$(cd "$(dirname "$0")/.." && pwd)
BUILD=${1:-$ROOT/build/release}
AGENTS=${AGENTS:-1000}
SYNC_DURATION=${SYNC_DURATION:-30}
RUNS=${RUNS:-1}
LOG_LEVEL=${LOG_LEVEL:-WARN}
SERVERS=cvm
OUT=${OUT:-$(mktemp -d /tmp/cvm-conn-memory.XXXXXX)}
TD=example.org
# shellcheck source=bench/lib.sh
source "$ROOT/bench/lib.sh"
ulimit -n "$(ulimit -Hn)" 2>/dev/null || true
trap stop_server EXIT
bench_binaries "$ROOT" "$BUILD" "$OUT"

for ((run = 1; run <= RUNS; run++)); do
  dir=$OUT/run$run
  mkdir -p "$dir/data"
  write_config "$dir" "$(free_port)"
  start_server "$CVM_SERVER" "$dir"  # with SERVER_ENV in the server's environment (bench/lib.sh)
  run_loadgen cvm "$dir" -agents "$AGENTS" -entries $((AGENTS * 10)) -attest_rate 200 -sync_interval 5 \
    -sync_duration "$SYNC_DURATION" -svid_rate 0 -renew_rate 0 -settle 2 -json "$dir/result.json" >"$dir/loadgen.log"
  stop_server
  python3 - "$dir/result.json" "$run" "${SERVER_ENV:-}" <<'PY'
import json, sys
phases = {p["name"]: p for p in json.load(open(sys.argv[1]))["phases"]}
a, c, s = phases["attest"], phases["connect"], phases["sync"]
syncs = s["rpcs"]["SyncAuthorizedEntries"]
connections = c["rpcs"]["SyncAuthorizedEntries"]["ok"]  # each agent's first sync opens its connection
per_conn = (c["server_rss_kib_end"] - a["server_rss_kib_end"]) * 1024 / connections
print(f"run {sys.argv[2]} [{sys.argv[3] or 'as built'}]: {per_conn / 1000:.1f} KB per connection; "
      f"sync phase {syncs['ok']} syncs, server CPU {s['server_cpu_s']:.2f} s "
      f"({syncs['ok'] / max(s['server_cpu_s'], 1e-9):.0f} /CPU-s), p99 {syncs['p99_ms']:.1f} ms, "
      f"errors {syncs['errors'] or 'none'}")
PY
done
echo "outputs in $OUT"
