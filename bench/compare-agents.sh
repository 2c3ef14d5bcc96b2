#!/usr/bin/env bash
# spire-cvm's agent against the real SPIRE v1.13.3 agent, side by side, through the standard Workload API
# (bench/wlgen, the same binary for both). For each project: its own server and agent (join_token, SQLite, memory
# KeyManager, ec-p256 CA, same TTLs, `unix` workload attestor), one entry for the current uid (unix:uid:<uid>,
# parented to the agent) whose X509-SVID lives SVID_TTL seconds so that both agents rotate it (at half life) within
# the run; the agent's idle RSS, then wlgen with M watchers (rotation fan-out, fetch phase) for each M in WATCHERS;
# then a table of ratios spire-cvm / SPIRE (bench/compare_agents_table.py).
# Usage: bench/compare-agents.sh [build-dir]     (make bench-compare-agents; build-dir default build/release)
# Environment (defaults in brackets):
#   WATCHERS ["1000 5000"]  WATCH_RATE [500]  FETCH_RATE [100]  FETCH_DURATION [20]  SVID_TTL [120]
#   IDLE_SETTLE [15] seconds between the first SVID served and the idle sample   AGENTS ["cvm spire"]
#   LOG_LEVEL [INFO]  OUT [mktemp -d]  NO_BUILD=1: use the binaries already in build-dir.  WLGEN_ARGS: extra flags.
set -euo pipefail

ROOT=$(cd "$(dirname "$0")/.." && pwd)
BUILD=${1:-$ROOT/build/release}
WATCHERS=${WATCHERS:-1000 5000}
WATCH_RATE=${WATCH_RATE:-500}
FETCH_RATE=${FETCH_RATE:-100}
FETCH_DURATION=${FETCH_DURATION:-20}
SVID_TTL=${SVID_TTL:-120}
IDLE_SETTLE=${IDLE_SETTLE:-15}
AGENTS=${AGENTS:-cvm spire}
LOG_LEVEL=${LOG_LEVEL:-INFO}
OUT=${OUT:-$(mktemp -d /tmp/cvm-compare-agents.XXXXXX)}
TD=example.org
UID_NOW=$(id -u)
mkdir -p "$OUT"
PIDS=()
ulimit -n "$(ulimit -Hn)" 2>/dev/null || true  # one connection per watcher and per fetch, on both ends

stop_all() {
  local p
  for p in "${PIDS[@]}"; do kill "$p" 2>/dev/null || true; done
  for p in "${PIDS[@]}"; do wait "$p" 2>/dev/null || true; done
  PIDS=()
}
cleanup() {
  stop_all
  echo "outputs in $OUT"
}
trap cleanup EXIT

if [[ ${NO_BUILD:-0} != 1 ]]; then
  CCACHE_BASEDIR=${CCACHE_BASEDIR:-/work} cmake -S "$ROOT" -B "$BUILD" -DCMAKE_BUILD_TYPE=RelWithDebInfo \
    -DSPIRECVM_BENCH=ON >"$OUT/cmake.log"
  cmake --build "$BUILD" -j "$(nproc)" --target spire-server spire-agent wlgen >"$OUT/build.log"
fi
WLGEN=$BUILD/bench/wlgen
for b in "$WLGEN" "$BUILD/src/cli/server/spire-server" "$BUILD/src/cli/agent/spire-agent"; do
  [[ -x $b ]] || { echo "compare-agents: $b not built" >&2; exit 1; }
done
PEERS=$("$ROOT/scripts/build-peers.sh" all 2>"$OUT/peers.err") \
  || { cat "$OUT/peers.err" >&2; echo "compare-agents: scripts/build-peers.sh all failed" >&2; exit 1; }
free_port() { python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'; }
retry() { local n=$1 i; shift; for ((i = 0; i < n; i++)); do "$@" >/dev/null 2>&1 && return 0; sleep 0.5; done; return 1; }

# The one server configuration both servers get (SPIRE's syntax; ours reads it).
write_server_config() {
  local dir=$1 port=$2
  cat >"$dir/server.conf" <<CONF
server {
  bind_address = "127.0.0.1"
  bind_port = "$port"
  socket_path = "$dir/server/api.sock"
  trust_domain = "$TD"
  data_dir = "$dir/server/data"
  log_level = "$LOG_LEVEL"
  ca_key_type = "ec-p256"
  ca_ttl = "24h"
  default_x509_svid_ttl = "1h"
  agent_ttl = "1h"
}
plugins {
  DataStore "sql" {
    plugin_data {
      database_type = "sqlite3"
      connection_string = "$dir/server/data/datastore.sqlite3"
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

# The one agent configuration both agents get: unix attestor without the path discovery (selectors unix:uid etc.).
write_agent_config() {
  local dir=$1 port=$2 token=$3
  cat >"$dir/agent.conf" <<CONF
agent {
  data_dir = "$dir/agent/data"
  log_level = "$LOG_LEVEL"
  server_address = "127.0.0.1"
  server_port = "$port"
  socket_path = "$dir/agent/public/api.sock"
  trust_bundle_path = "$dir/bundle.pem"
  trust_domain = "$TD"
  join_token = "$token"
  experimental {
    sync_interval = "5s"
  }
}
plugins {
  NodeAttestor "join_token" {
    plugin_data {}
  }
  KeyManager "memory" {
    plugin_data {}
  }
  WorkloadAttestor "unix" {
    plugin_data {}
  }
}
CONF
}

proc_field() { awk -v k="$2:" '$1 == k {print $2}' "/proc/$1/status"; }

# run_one NAME SERVER_BIN AGENT_BIN
run_one() {
  local name=$1 server=$2 agent=$3 dir=$OUT/$1 port token sock agent_pid m
  port=$(free_port)
  mkdir -p "$dir/server/data" "$dir/agent/data"
  mkdir -p -m 755 "$dir/agent/public"
  write_server_config "$dir" "$port"
  "$server" run -config "$dir/server.conf" >"$dir/server.log" 2>&1 &
  PIDS+=($!)
  retry 240 "$server" healthcheck -socketPath "$dir/server/api.sock" || { echo "$name server not healthy" >&2; exit 1; }
  "$server" bundle show -socketPath "$dir/server/api.sock" >"$dir/bundle.pem"
  token=$("$server" token generate -socketPath "$dir/server/api.sock" -ttl 600 | sed -n 's/^Token: //p')
  [[ -n $token ]] || { echo "$name: token generate printed no token" >&2; exit 1; }
  "$server" entry create -socketPath "$dir/server/api.sock" -parentID "spiffe://$TD/spire/agent/join_token/$token" \
    -spiffeID "spiffe://$TD/wlgen" -selector "unix:uid:$UID_NOW" -x509SVIDTTL "$SVID_TTL" >"$dir/entry.log" 2>&1 \
    || { cat "$dir/entry.log" >&2; exit 1; }
  write_agent_config "$dir" "$port" "$token"
  "$agent" run -config "$dir/agent.conf" >"$dir/agent.log" 2>&1 &
  agent_pid=$!
  PIDS+=($agent_pid)
  sock=$dir/agent/public/api.sock
  retry 240 "$PEERS/bin/spire-agent" api fetch x509 -socketPath "$sock" -timeout 2s \
    || { echo "$name agent serves no X509-SVID" >&2; tail -20 "$dir/agent.log" >&2; exit 1; }
  sleep "$IDLE_SETTLE"
  # RSS split: anonymous (heap, stacks: the agent's own) and file-backed (its binary and shared libraries' pages,
  # shared with other processes that map them); PSS charges shared pages to their sharers.
  printf '{"rss_kib": %s, "hwm_kib": %s, "threads": %s, "rss_anon_kib": %s, "rss_file_kib": %s, "pss_kib": %s}\n' \
    "$(proc_field $agent_pid VmRSS)" "$(proc_field $agent_pid VmHWM)" "$(proc_field $agent_pid Threads)" \
    "$(proc_field $agent_pid RssAnon)" "$(proc_field $agent_pid RssFile)" \
    "$(awk '$1 == "Pss:" {print $2}' "/proc/$agent_pid/smaps_rollup")" >"$dir/idle.json"
  echo "== $name agent ($("$agent" --version 2>&1 | head -1 || true)): pid $agent_pid, idle $(cat "$dir/idle.json")"
  for m in $WATCHERS; do
    echo "== $name: $m watchers, load average $(cut -d' ' -f1-3 /proc/loadavg)"
    # shellcheck disable=SC2086
    "$WLGEN" -label "$name" -socket "$sock" -agent_pid "$agent_pid" -watchers "$m" -watch_rate "$WATCH_RATE" \
      -rotate -rotate_timeout $((SVID_TTL + 60)) -fetch_rate "$FETCH_RATE" -fetch_duration "$FETCH_DURATION" \
      -json "$dir/wlgen-$m.json" ${WLGEN_ARGS:-} | tee "$dir/wlgen-$m.txt"
  done
  stop_all
}

echo "== machine: $(nproc) CPUs, $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2- | sed 's/^ //'), load $(cut -d' ' -f1-3 /proc/loadavg)"
for a in $AGENTS; do
  case $a in
    cvm) run_one cvm "$BUILD/src/cli/server/spire-server" "$BUILD/src/cli/agent/spire-agent" ;;
    spire) run_one spire "$PEERS/bin/spire-server" "$PEERS/bin/spire-agent" ;;
    *) echo "compare-agents: unknown agent '$a' (cvm, spire)" >&2; exit 2 ;;
  esac
done
if [[ -d $OUT/cvm && -d $OUT/spire ]]; then
  python3 "$ROOT/bench/compare_agents_table.py" "$OUT/cvm" "$OUT/spire" $WATCHERS | tee "$OUT/compare.md"
fi
