#!/bin/bash
# Restarts spire-cvm and SPIRE, alternating, on the 100,000-entry datastores a start-up run of compare-spire.sh wrote
# (OUT/cvm-startup, OUT/spire-startup), for more start-up samples from the same run without writing the entries
# again; prints the time to the first healthy answer and the RSS 2 s after it.
# Usage: bench/startup-restart.sh OUT      Environment: ROUNDS [3]  BUILD [build/release]
set -euo pipefail
ROOT=$(cd "$(dirname "$0")/.." && pwd)
OUT=${1:?usage: $0 OUT (the OUT directory of a compare-spire.sh run with the start-up row)}
TD=example.org LOG_LEVEL=WARN NO_BUILD=1
ROUNDS=${ROUNDS:-3}
# shellcheck source=bench/lib.sh
source "$ROOT/bench/lib.sh"
bench_binaries "$ROOT" "${BUILD:-$ROOT/build/release}" "$OUT" >/dev/null
trap stop_server EXIT
for ((round = 1; round <= ROUNDS; round++)); do
  for name in cvm spire; do
    [[ -f $OUT/$name-startup/server.conf ]] || { echo "no $OUT/$name-startup/server.conf" >&2; exit 2; }
    startup_sample "$(server_binary "$name")" "$OUT/$name-startup"
    rss=$STARTUP_RSS_KIB
    echo "round $round $name: ${STARTUP_S} s to healthy, RSS $((rss / 1024)) MiB ($rss KiB)"
  done
done
