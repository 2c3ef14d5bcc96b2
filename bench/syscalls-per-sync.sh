#!/usr/bin/env bash
# What one sync costs each side in the kernel: CPU, context switches and the socket/futex/epoll system calls of the
# spire-cvm server and of bench/loadgen, per GetAuthorizedEntries call. Runs bench/ceiling.sh at one agent count
# (one server) and, WAIT_S into its sync phase, `perf stat -p` on both processes for STAT_S seconds; the calls in
# that window are AGENTS * STAT_S / SYNC_INTERVAL (open loop: the load generator keeps its schedule).
# Usage: bench/syscalls-per-sync.sh [build-dir]
# Environment: AGENTS [2000]  SYNC_INTERVAL [5]  WAIT_S [5]  STAT_S [20]  OUT [mktemp -d]  NO_BUILD=1
# Needs perf with the syscalls tracepoints (root, or perf_event_paranoid <= -1 and tracefs readable).
set -euo pipefail

ROOT=$(cd "$(dirname "$0")/.." && pwd)
BUILD=${1:-$ROOT/build/release}
AGENTS=${AGENTS:-2000}
SYNC_INTERVAL=${SYNC_INTERVAL:-5}
WAIT_S=${WAIT_S:-5}
STAT_S=${STAT_S:-20}
OUT=${OUT:-$(mktemp -d /tmp/cvm-syscalls.XXXXXX)}
mkdir -p "$OUT"
command -v perf >/dev/null || { echo "syscalls-per-sync: perf not found (apt-get install linux-perf)" >&2; exit 1; }
EVENTS=task-clock,context-switches
for s in sendmsg recvmsg futex epoll_wait write read; do EVENTS+=",syscalls:sys_enter_$s"; done
perf stat -e "$EVENTS" -- true >/dev/null 2>&1 ||
  { echo "syscalls-per-sync: perf cannot count the syscall tracepoints here" >&2; exit 1; }

DURATION=$((WAIT_S + STAT_S + 15))
AGENT_COUNTS=$AGENTS SERVERS=cvm SYNC_INTERVAL=$SYNC_INTERVAL SYNC_DURATION=$DURATION \
  LOADGEN_ARGS="-sync_rpc get ${LOADGEN_ARGS:-}" PLOT='' OUT=$OUT "$ROOT/bench/ceiling.sh" "$BUILD" >"$OUT/run.log" 2>&1 &
RUN=$!
trap 'kill $RUN 2>/dev/null || true' EXIT
ERR=$OUT/cvm-$AGENTS/loadgen.err
until grep -q "sync  *done" "$ERR" 2>/dev/null; do
  kill -0 $RUN 2>/dev/null || { echo "syscalls-per-sync: the run ended before its sync phase ($OUT/run.log)" >&2; exit 1; }
  sleep 1
done
sleep "$WAIT_S"
DIR=$OUT/cvm-$AGENTS
LG=$(pgrep -f -- "-bundle $DIR/bundle.pem") SRV=$(pgrep -f -- "run -config $DIR/server.conf")
perf stat -e "$EVENTS" -p "$LG" -o "$OUT/loadgen.stat" -- sleep "$STAT_S" &
STAT=$!
perf stat -e "$EVENTS" -p "$SRV" -o "$OUT/server.stat" -- sleep "$STAT_S"
wait $STAT
wait $RUN || true
trap - EXIT
CALLS=$((AGENTS * STAT_S / SYNC_INTERVAL))
echo "== per GetAuthorizedEntries call ($AGENTS agents, $CALLS calls in ${STAT_S} s; outputs in $OUT)"
for side in server loadgen; do
  sed 's/,//g' "$OUT/$side.stat" | awk -v side="$side" -v n="$CALLS" '
    /task-clock/ { printf "%-8s CPU %.3f ms\n", side, $1 / n }
    /context-switches|sys_enter/ { sub("syscalls:sys_enter_", "", $2); printf "%-8s %-16s %.2f\n", side, $2, $1 / n }'
done
