#!/usr/bin/env bash
# Two spire-cvm servers on one PostgreSQL 15 (test/pg/start.sh, throwaway, on this machine), AGENTS agents split
# evenly between them, each half driven by its own bench/loadgen (tokens and entries created through that server's
# admin socket; every entry lands in the one database, so each server's entry cache holds all of them). Prints the
# two sync phases side by side and their sum.
# Usage: bench/ha-pg.sh [build-dir]          (make bench-ha-pg)
# Environment: AGENTS [2000]  ENTRIES_PER_AGENT [10]  SYNC_INTERVAL [5]  SYNC_DURATION [60]  ATTEST_RATE [100]
#   LOADGEN_ARGS [] (more flags for both load generators, passed by bench/lib.sh; e.g. "-sync_rpc get")
#   NODE_STALENESS [] (both servers' max_attested_node_info_staleness, e.g. 30s; unset: SPIRE's default, 0s)
#   LOG_LEVEL [WARN]  OUT [mktemp -d]  NO_BUILD=1
set -euo pipefail

ROOT=$(cd "$(dirname "$0")/.." && pwd)
BUILD=${1:-$ROOT/build/release}
AGENTS=${AGENTS:-2000}
ENTRIES_PER_AGENT=${ENTRIES_PER_AGENT:-10}
SYNC_INTERVAL=${SYNC_INTERVAL:-5}
SYNC_DURATION=${SYNC_DURATION:-60}
ATTEST_RATE=${ATTEST_RATE:-100}
LOG_LEVEL=${LOG_LEVEL:-WARN}
SERVERS=cvm
OUT=${OUT:-$(mktemp -d /tmp/cvm-ha-pg.XXXXXX)}
TD=example.org
mkdir -p "$OUT"
chmod 755 "$OUT"
# shellcheck source=bench/lib.sh
source "$ROOT/bench/lib.sh"
ulimit -n "$(ulimit -Hn)" 2>/dev/null || true
PIDS=()
cleanup() {
  for p in "${PIDS[@]}"; do kill "$p" 2>/dev/null || true; done
  for p in "${PIDS[@]}"; do wait "$p" 2>/dev/null || true; done
  "$ROOT/test/pg/stop.sh" "$OUT/pg" >/dev/null 2>&1 || true
  echo "outputs in $OUT"
}
trap cleanup EXIT
bench_binaries "$ROOT" "$BUILD" "$OUT"
"$ROOT/test/pg/start.sh" "$OUT/pg" >"$OUT/pg.log" 2>&1 || { cat "$OUT/pg.log" >&2; exit 1; }
PG_CONNINFO=$(cat "$OUT/pg/conninfo")

declare -A PID PORT
for s in a b; do
  start_server "$CVM_SERVER" "$OUT/$s"
  PID[$s]=$SERVER_PID
  PORT[$s]=$SERVER_PORT
  PIDS+=("$SERVER_PID")
  SERVER_PID=
done
# Each server publishes its own CA in the shared bundle; agents of either trust both.
sleep 6
cat "$OUT/a/bundle.pem" "$OUT/b/bundle.pem" >"$OUT/bundle.pem"
for s in a b; do cp "$OUT/bundle.pem" "$OUT/$s/bundle.pem"; done

echo "== two spire-cvm servers on PostgreSQL: $AGENTS agents, $((AGENTS * ENTRIES_PER_AGENT)) entries, load average $(cut -d' ' -f1-3 /proc/loadavg)"
half=$((AGENTS / 2))
LG=()
for s in a b; do
  (SERVER_PID=${PID[$s]} SERVER_PORT=${PORT[$s]} run_loadgen "cvm-$s" "$OUT/$s" -agents "$half" \
    -entries "$((half * ENTRIES_PER_AGENT))" -attest_rate "$((ATTEST_RATE / 2))" -sync_interval "$SYNC_INTERVAL" \
    -sync_duration "$SYNC_DURATION" -svid_rate 0 -renew_rate 0 -settle 10 -progress 10 -json "$OUT/$s.json" \
    >"$OUT/$s.summary.txt" 2>"$OUT/$s.loadgen.err") &
  LG+=($!)
done
wait "${LG[@]}" || true
for s in a b; do echo "-- server $s"; cat "$OUT/$s.summary.txt"; done
python3 - "$OUT/a.json" "$OUT/b.json" <<'PY'
import json, sys
rs = [json.load(open(f)) for f in sys.argv[1:]]
def sync(r):
    p = next(p for p in r["phases"] if p["name"] == "sync")
    rpcs = p["rpcs"]  # the sync phase's one RPC: SyncAuthorizedEntries, or GetAuthorizedEntries (-sync_rpc get)
    return p, rpcs.get("SyncAuthorizedEntries") or rpcs["GetAuthorizedEntries"]
tot_ok = tot_cpu = 0
for r in rs:
    p, s = sync(r)
    tot_ok += s["ok"]; tot_cpu += p["server_cpu_s"]
    failed = sum(x["count"] - x["ok"] for q in r["phases"] for x in q["rpcs"].values())
    print(f"{r['label']}: {s['ok_per_s']:.0f} syncs/s, p50 {s['p50_ms']:.1f} ms, p99 {s['p99_ms']:.1f} ms, "
          f"max {s['max_ms']:.0f} ms, server CPU {1000 * p['server_cpu_s'] / max(s['ok'], 1):.2f} ms/sync, "
          f"peak RSS {r['server_hwm_kib'] / 1024:.0f} MiB, failed calls {failed}")
print(f"both: {tot_ok} syncs, {tot_ok / tot_cpu:.0f} syncs per server CPU-second")
PY
