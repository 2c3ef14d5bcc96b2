#!/bin/bash
# Start-up RSS of spire-server binaries on one datastore: N entries written once through the admin API (the load
# generator's -setup_only, as compare-spire.sh does), then each binary started on it in turn, ROUNDS times
# alternating; prints the time to the first healthy answer and the RSS 2 s after it.
# Usage: bench/startup-ab.sh SERVER_BINARY...     Environment: N [100000]  ROUNDS [3]  DIR [/tmp/cvm-startup-ab]
#   BUILD [build/release]: where the load generator (and the binary that writes the entries) come from.
set -euo pipefail
ROOT=$(cd "$(dirname "$0")/.." && pwd)
TD=example.org LOG_LEVEL=WARN SERVERS=cvm NO_BUILD=1
N=${N:-100000} ROUNDS=${ROUNDS:-3} DIR=${DIR:-/tmp/cvm-startup-ab}
(($# > 0)) || { echo "usage: $0 SERVER_BINARY..." >&2; exit 2; }
mkdir -p "$DIR/out"
# shellcheck source=bench/lib.sh
source "$ROOT/bench/lib.sh"
bench_binaries "$ROOT" "${BUILD:-$ROOT/build/release}" "$DIR/out"
data=$DIR/data-$N
trap stop_server EXIT
if [[ ! -f $data/setup.json ]]; then
  start_server "$CVM_SERVER" "$data"
  run_loadgen cvm "$data" -agents 100 -entries "$N" -setup_only -json "$data/setup.json" >"$data/setup.txt"
  stop_server
fi
for ((round = 1; round <= ROUNDS; round++)); do
  for bin in "$@"; do
    startup_sample "$bin" "$data"
    rss=$STARTUP_RSS_KIB
    echo "round $round $bin: ${STARTUP_S} s to healthy, RSS $((rss / 1024)) MiB ($rss KiB) with $N entries"
  done
done
