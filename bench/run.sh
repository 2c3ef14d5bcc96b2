#!/usr/bin/env bash
# Runs every benchmark and the `openssl speed` comparison, then prints a summary (figures in docs/benchmarks.md).
# Usage: bench/run.sh <build-dir>         (make bench)
# Environment:
#   RUNS=2         how many times each benchmark runs (the summary shows the median of the runs)
#   PG=1           also run datastore_bench on a throwaway PostgreSQL 15 (test/pg/start.sh; needs postgresql-15)
#   ATTEST_COUNT=400 ATTEST_THREADS=4   attest_load size
# Every program here runs on the machine's cores shared with whatever else runs: expect noise.
set -euo pipefail

HERE=$(cd "$(dirname "$0")" && pwd)
ROOT=$(cd "$HERE/.." && pwd)
BUILD=$(cd "${1:?usage: $0 <build-dir>}" && pwd)
RUNS=${RUNS:-2}
ATTEST_COUNT=${ATTEST_COUNT:-400}
ATTEST_THREADS=${ATTEST_THREADS:-4}
OUT=$(mktemp -d /tmp/cvm-bench.XXXXXX)
PG_STATE=
cleanup() {
  if [[ -n $PG_STATE ]]; then "$ROOT/test/pg/stop.sh" "$PG_STATE" >/dev/null 2>&1 || true; fi
  echo "raw outputs kept in $OUT"
}
trap cleanup EXIT

need() { [[ -x $BUILD/$1 ]] || { echo "run.sh: $BUILD/$1 not built" >&2; exit 1; }; }
need bench/svid_bench
need bench/sevsnp_bench
need bench/datastore_bench
need bench/attest_load
need src/agent/agent_workload_bench
need src/cli/server/spire-server

echo "== machine: $(nproc) CPUs, $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2- | sed 's/^ //'), kernel $(uname -r)"
echo "== build: $(grep '^CMAKE_BUILD_TYPE' "$BUILD/CMakeCache.txt" | cut -d= -f2)"

GB=(--benchmark_counters_tabular=true --benchmark_out_format=json)  # JSON to a file: the programs log to stdout
for r in $(seq "$RUNS"); do
  echo "== run $r/$RUNS: openssl speed"
  openssl speed -seconds 3 ecdsap256 ecdsap384 >"$OUT/openssl.$r.txt" 2>/dev/null
  echo "== run $r/$RUNS: svid_bench"
  "$BUILD/bench/svid_bench" "${GB[@]}" --benchmark_out="$OUT/svid.$r.json" >"$OUT/svid.$r.txt" 2>"$OUT/svid.$r.err"
  echo "== run $r/$RUNS: sevsnp_bench"
  "$BUILD/bench/sevsnp_bench" "${GB[@]}" --benchmark_out="$OUT/sevsnp.$r.json" >"$OUT/sevsnp.$r.txt" 2>"$OUT/sevsnp.$r.err"
  echo "== run $r/$RUNS: datastore_bench (SQLite)"
  SPIRECVM_PG_CONNINFO= "$BUILD/bench/datastore_bench" "${GB[@]}" --benchmark_out="$OUT/datastore.$r.json" \
    >"$OUT/datastore.$r.txt" 2>"$OUT/datastore.$r.err"
  echo "== run $r/$RUNS: agent_workload_bench (5,000 watchers, 50 connections)"
  "$BUILD/src/agent/agent_workload_bench" --fetches 2000 --watchers 5000 --channels 50 >"$OUT/workload50.$r.txt" 2>&1
  echo "== run $r/$RUNS: agent_workload_bench (5,000 watchers, one connection each)"
  "$BUILD/src/agent/agent_workload_bench" --fetches 2000 --watchers 5000 --channels 5000 >"$OUT/workload5000.$r.txt" 2>&1
  echo "== run $r/$RUNS: attest_load (fresh TLS connection per attestation)"
  "$BUILD/bench/attest_load" --count "$ATTEST_COUNT" --threads "$ATTEST_THREADS" >"$OUT/attest_fresh.$r.txt" 2>"$OUT/attest_fresh.$r.err"
  echo "== run $r/$RUNS: attest_load (reused connections)"
  "$BUILD/bench/attest_load" --count "$ATTEST_COUNT" --threads "$ATTEST_THREADS" --reuse-connections \
    >"$OUT/attest_reuse.$r.txt" 2>"$OUT/attest_reuse.$r.err"
done

if [[ ${PG:-0} == 1 ]]; then
  PG_STATE=$OUT/pg
  "$ROOT/test/pg/start.sh" "$PG_STATE" >/dev/null
  for r in $(seq "$RUNS"); do
    echo "== run $r/$RUNS: datastore_bench (SQLite + PostgreSQL)"
    SPIRECVM_PG_CONNINFO=$(cat "$PG_STATE/conninfo") "$BUILD/bench/datastore_bench" "${GB[@]}" \
      --benchmark_out="$OUT/datastore_pg.$r.json" >"$OUT/datastore_pg.$r.txt" 2>"$OUT/datastore_pg.$r.err"
  done
fi

echo
echo "== summary (median of $RUNS runs; raw outputs in $OUT)"
python3 - "$OUT" "$RUNS" <<'PY'
import glob, json, os, re, statistics, sys
out, runs = sys.argv[1], int(sys.argv[2])
med = lambda xs: statistics.median(xs) if xs else float("nan")

def gbench(prefix):
    rates = {}
    for f in sorted(glob.glob(os.path.join(out, prefix + ".*.json"))):
        for b in json.load(open(f))["benchmarks"]:
            if b.get("run_type") == "aggregate" or b.get("error_occurred"):
                continue
            ips = b.get("items_per_second")
            if ips is None:
                t = b["real_time"]
                unit = {"ns": 1e-9, "us": 1e-6, "ms": 1e-3, "s": 1.0}[b["time_unit"]]
                ips = 1.0 / (t * unit)
            rates.setdefault(b["name"], []).append(ips)
    return {k: med(v) for k, v in rates.items()}

def openssl():
    sign, verify = {}, {}
    for f in glob.glob(os.path.join(out, "openssl.*.txt")):
        for line in open(f):
            m = re.match(r"\s*256 bits ecdsa \(nistp256\)\s+\S+s\s+\S+s\s+([\d.]+)\s+([\d.]+)", line)
            if m: sign.setdefault("p256", []).append(float(m[1])); verify.setdefault("p256", []).append(float(m[2]))
            m = re.match(r"\s*384 bits ecdsa \(nistp384\)\s+\S+s\s+\S+s\s+([\d.]+)\s+([\d.]+)", line)
            if m: sign.setdefault("p384", []).append(float(m[1])); verify.setdefault("p384", []).append(float(m[2]))
    return {k: med(v) for k, v in sign.items()}, {k: med(v) for k, v in verify.items()}

def row(name, value, note=""):
    print(f"  {name:<58} {value:>16}  {note}")

osign, overify = openssl()
row("openssl speed ecdsap256 sign", f"{osign.get('p256', float('nan')):,.0f}/s")
row("openssl speed ecdsap256 verify", f"{overify.get('p256', float('nan')):,.0f}/s")
row("openssl speed ecdsap384 sign", f"{osign.get('p384', float('nan')):,.0f}/s")
row("openssl speed ecdsap384 verify", f"{overify.get('p384', float('nan')):,.0f}/s")

svid = gbench("svid")
for k, v in svid.items():
    row(k, f"{v:,.0f}/s")
x509 = next((v for k, v in svid.items() if k.startswith("BM_X509SvidMint")), None)
if x509 and osign.get("p256"):
    pct = 100 * x509 / osign["p256"]
    row("X509-SVID mint / openssl P-256 sign (target >= 70 %)", f"{pct:.0f} %", "MET" if pct >= 70 else "MISSED")
jwt = next((v for k, v in svid.items() if k.startswith("BM_JwtSvidMint")), None)
if jwt and osign.get("p256"):
    row("JWT-SVID mint / openssl P-256 sign", f"{100 * jwt / osign['p256']:.0f} %")

snp = gbench("sevsnp")
for k, v in snp.items():
    row(k, f"{v:,.0f}/s")
warm = next((v for k, v in snp.items() if k.startswith("BM_SevSnpVerifyWarmCache")), None)
if warm and overify.get("p384"):
    pct = 100 * warm / overify["p384"]
    row("report verify (warm) / openssl P-384 verify (target >= 80 %)", f"{pct:.0f} %", "MET" if pct >= 80 else "MISSED")

for prefix in ("datastore", "datastore_pg"):
    for k, v in gbench(prefix).items():
        row(f"[{prefix}] {k}", f"{v:,.0f}/s")

for name in ("workload50", "workload5000"):
    files = sorted(glob.glob(os.path.join(out, name + ".*.txt")))
    if files:
        print(f"  --- agent_workload_bench ({name}), last run:")
        print("".join("    " + l for l in open(files[-1]).readlines()[-12:]), end="")

for mode in ("fresh", "reuse"):
    vals = {}
    for f in glob.glob(os.path.join(out, f"attest_{mode}.*.txt")):
        for line in open(f):
            if line.startswith("RESULT attest_load"):
                for kv in line.split()[2:]:
                    k, v = kv.split("=")
                    try: vals.setdefault(k, []).append(float(v))
                    except ValueError: pass
    if vals:
        ratio = med(vals["ratio"])
        row(f"attest_load ({mode}) attestations/s", f"{med(vals['att_per_s']):.1f}/s",
            f"p50 {med(vals['p50_ms']):.1f} ms, p99 {med(vals['p99_ms']):.1f} ms, failed {med(vals['failed']):.0f}")
        row(f"attest_load ({mode}) server CPU / primitives (target <= 1.5x)",
            f"{ratio:.2f}x", f"{med(vals['server_cpu_us']):.0f} us vs {med(vals['primitives_us']):.0f} us; "
            + ("MET" if ratio <= 1.5 else "MISSED"))
PY
