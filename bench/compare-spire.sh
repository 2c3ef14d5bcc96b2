#!/usr/bin/env bash
# spire-cvm against the real SPIRE v1.13.3 server, side by side: the same load (bench/loadgen) against each, one
# after the other, on the same machine, both configured alike (SQLite, memory KeyManager, ec-p256 CA, same TTLs,
# join_token, same entries); then a table of ratios spire-cvm / SPIRE (bench/compare_table.py).
# Usage: bench/compare-spire.sh [build-dir]          (make bench-compare; build-dir default build/release)
# Environment (defaults in brackets; larger runs are one variable away):
#   AGENTS [200]  ENTRIES [2000]  SYNC_INTERVAL [5]  SYNC_DURATION [60]  ATTEST_RATE [50]  SVID_RATE [20]
#   SVID_ROUNDS [3]  RENEW_RATE [50]  LOG_LEVEL [INFO]  SERVERS ["cvm spire"]  OUT [mktemp -d]
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
LOG_LEVEL=${LOG_LEVEL:-INFO}
SERVERS=${SERVERS:-cvm spire}
OUT=${OUT:-$(mktemp -d /tmp/cvm-compare.XXXXXX)}
TD=example.org
mkdir -p "$OUT"
SERVER_PID=
ulimit -n "$(ulimit -Hn)" 2>/dev/null || true  # one connection per simulated agent, on both ends

cleanup() {
  if [[ -n $SERVER_PID ]]; then kill "$SERVER_PID" 2>/dev/null || true; wait "$SERVER_PID" 2>/dev/null || true; fi
  echo "outputs in $OUT"
}
trap cleanup EXIT

if [[ ${NO_BUILD:-0} != 1 ]]; then
  CCACHE_BASEDIR=${CCACHE_BASEDIR:-/work} cmake -S "$ROOT" -B "$BUILD" -DCMAKE_BUILD_TYPE=RelWithDebInfo \
    -DSPIRECVM_BENCH=ON >"$OUT/cmake.log"
  cmake --build "$BUILD" -j "$(nproc)" --target spire-server loadgen >"$OUT/build.log"
fi
CVM_SERVER=$BUILD/src/cli/server/spire-server
LOADGEN=$BUILD/bench/loadgen
for b in "$LOADGEN" $([[ " $SERVERS " == *" cvm "* ]] && echo "$CVM_SERVER"); do
  [[ -x $b ]] || { echo "compare-spire: $b not built" >&2; exit 1; }
done
PEERS=$("$ROOT/scripts/build-peers.sh" all 2>"$OUT/peers.err") \
  || { cat "$OUT/peers.err" >&2; echo "compare-spire: scripts/build-peers.sh all failed" >&2; exit 1; }
SPIRE_SERVER=$PEERS/bin/spire-server
free_port() { python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'; }

# write_config NAME DIR PORT: the one server configuration both servers get (SPIRE's syntax; ours reads it).
write_config() {
  cat >"$2/server.conf" <<CONF
server {
  bind_address = "127.0.0.1"
  bind_port = "$3"
  socket_path = "$2/api.sock"
  trust_domain = "$TD"
  data_dir = "$2/data"
  log_level = "$LOG_LEVEL"
  ca_key_type = "ec-p256"
  ca_ttl = "24h"
  default_x509_svid_ttl = "1h"
  agent_ttl = "1h"
  # Every simulated agent connects from 127.0.0.1: both servers' per-IP limits (attestation 1/s, signing 500/s)
  # would measure the limiter, not the server. A real fleet comes from as many addresses as nodes.
  ratelimit {
    attestation = false
    signing = false
  }
}
plugins {
  DataStore "sql" {
    plugin_data {
      database_type = "sqlite3"
      connection_string = "$2/data/datastore.sqlite3"
    }
  }
  KeyManager "memory" {
    plugin_data {}
  }
  NodeAttestor "join_token" {
    plugin_data {}
  }
}
CONF
}

# run_one NAME BINARY: start the server, wait until healthy, run the load generator, stop the server.
run_one() {
  local name=$1 bin=$2 dir=$OUT/$1 port i
  port=$(free_port)
  mkdir -p "$dir/data"
  write_config "$name" "$dir" "$port"
  "$bin" run -config "$dir/server.conf" >"$dir/server.log" 2>&1 &
  SERVER_PID=$!
  for ((i = 0; i < 240; i++)); do
    "$bin" healthcheck -socketPath "$dir/api.sock" >/dev/null 2>&1 && break
    sleep 0.5
  done
  "$bin" bundle show -socketPath "$dir/api.sock" >"$dir/bundle.pem"
  echo "== $name ($("$bin" --version 2>&1 | head -1 || true)): pid $SERVER_PID, load average $(cut -d' ' -f1-3 /proc/loadavg)"
  # shellcheck disable=SC2086
  ${LOADGEN_WRAPPER:-} "$LOADGEN" -label "$name" -server "127.0.0.1:$port" -trust_domain "$TD" -bundle "$dir/bundle.pem" \
    -admin_socket "$dir/api.sock" -server_pid "$SERVER_PID" -datastore "$dir/data/datastore.sqlite3" \
    -agents "$AGENTS" -entries "$ENTRIES" -attest_rate "$ATTEST_RATE" -sync_interval "$SYNC_INTERVAL" \
    -sync_duration "$SYNC_DURATION" -svid_rate "$SVID_RATE" -svid_rounds "$SVID_ROUNDS" -renew_rate "$RENEW_RATE" \
    -json "$dir/result.json" ${LOADGEN_ARGS:-} | tee "$dir/summary.txt"
  kill "$SERVER_PID"
  wait "$SERVER_PID" 2>/dev/null || true
  SERVER_PID=
}

echo "== machine: $(nproc) CPUs, $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2- | sed 's/^ //'), load $(cut -d' ' -f1-3 /proc/loadavg)"
for s in $SERVERS; do
  case $s in
    cvm) run_one cvm "$CVM_SERVER" ;;
    spire) run_one spire "$SPIRE_SERVER" ;;
    *) echo "compare-spire: unknown server '$s' (cvm, spire)" >&2; exit 2 ;;
  esac
done
if [[ -f $OUT/cvm/result.json && -f $OUT/spire/result.json ]]; then
  python3 "$ROOT/bench/compare_table.py" "$OUT/cvm/result.json" "$OUT/spire/result.json" | tee "$OUT/compare.md"
fi
