# Shared by bench/compare-spire.sh and bench/ceiling.sh: one server configuration for spire-cvm and SPIRE v1.13.3,
# starting and stopping a server, and running the load generator against it. Source it; it sets no options.
# Needs: TD (trust domain), LOG_LEVEL. Optional: NODE_STALENESS (max_attested_node_info_staleness, both servers).

free_port() { python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'; }

# bench_binaries ROOT BUILD OUT: sets CVM_SERVER, LOADGEN, SPIRE_SERVER (SPIRE from scripts/build-peers.sh, cached
# per machine). With NO_BUILD unset, builds spire-server and loadgen in BUILD (RelWithDebInfo, SPIRECVM_BENCH) first.
bench_binaries() {
  local root=$1 build=$2 out=$3 b peers
  if [[ ${NO_BUILD:-0} != 1 ]]; then
    CCACHE_BASEDIR=${CCACHE_BASEDIR:-/work} cmake -S "$root" -B "$build" -DCMAKE_BUILD_TYPE=RelWithDebInfo \
      -DSPIRECVM_BENCH=ON >"$out/cmake.log"
    cmake --build "$build" -j "$(nproc)" --target spire-server loadgen >"$out/build.log"
  fi
  CVM_SERVER=$build/src/cli/server/spire-server
  LOADGEN=$build/bench/loadgen
  for b in "$LOADGEN" $([[ " $SERVERS " == *" cvm "* ]] && echo "$CVM_SERVER"); do
    [[ -x $b ]] || { echo "bench: $b not built" >&2; return 1; }
  done
  peers=$("$root/scripts/build-peers.sh" all 2>"$out/peers.err") \
    || { cat "$out/peers.err" >&2; echo "bench: scripts/build-peers.sh all failed" >&2; return 1; }
  SPIRE_SERVER=$peers/bin/spire-server
}

# server_binary NAME: the binary of server NAME (cvm, spire).
server_binary() {
  case $1 in
    cvm) echo "$CVM_SERVER" ;;
    spire) echo "$SPIRE_SERVER" ;;
    *) echo "bench: unknown server '$1' (cvm, spire)" >&2; return 2 ;;
  esac
}

# datastore_block DIR: SQLite in DIR/data, or the PostgreSQL database PG_CONNINFO names when it is set.
datastore_block() {
  if [[ -n ${PG_CONNINFO:-} ]]; then
    printf '      database_type = "postgres"\n      connection_string = "%s"\n' "$PG_CONNINFO"
  else
    printf '      database_type = "sqlite3"\n      connection_string = "%s"\n' "$1/data/datastore.sqlite3"
  fi
}

# write_config DIR PORT: the one server configuration both servers get (SPIRE's syntax; ours reads it).
write_config() {
  cat >"$1/server.conf" <<CONF
server {
  bind_address = "127.0.0.1"
  bind_port = "$2"
  socket_path = "$1/api.sock"
  trust_domain = "$TD"
  data_dir = "$1/data"
  log_level = "$LOG_LEVEL"
  ca_key_type = "ec-p256"
  ca_ttl = "24h"
  default_x509_svid_ttl = "1h"
  agent_ttl = "1h"
$([[ -n ${NODE_STALENESS:-} ]] && echo "  max_attested_node_info_staleness = \"$NODE_STALENESS\"")
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
$(datastore_block "$1")
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

# start_server BIN DIR: starts BIN (with SERVER_ENV's NAME=VALUE words in its environment) with DIR/server.conf
# (written first when absent) and waits until its healthcheck answers; sets SERVER_PID, SERVER_PORT and STARTUP_S
# (seconds from exec to the first healthy answer).
start_server() {
  local bin=$1 dir=$2 i t0
  if [[ ! -f $dir/server.conf ]]; then
    mkdir -p "$dir/data"
    write_config "$dir" "$(free_port)"
  fi
  SERVER_PORT=$(sed -n 's/^  bind_port = "\(.*\)"/\1/p' "$dir/server.conf")
  t0=$(date +%s.%N)
  # SERVER_ENV (e.g. LD_PRELOAD=... to try another allocator) reaches the server process only.
  # shellcheck disable=SC2086
  env ${SERVER_ENV:-} "$bin" run -config "$dir/server.conf" >>"$dir/server.log" 2>&1 &
  SERVER_PID=$!
  for ((i = 0; i < 2400; i++)); do
    "$bin" healthcheck -socketPath "$dir/api.sock" >/dev/null 2>&1 && break
    kill -0 "$SERVER_PID" 2>/dev/null || { echo "bench: server exited, see $dir/server.log" >&2; return 1; }
    sleep 0.05
  done
  STARTUP_S=$(python3 -c "import time; print(round(time.time() - $t0, 2))")
  "$bin" bundle show -socketPath "$dir/api.sock" >"$dir/bundle.pem"
}

stop_server() {
  if [[ -n ${SERVER_PID:-} ]]; then
    kill "$SERVER_PID" 2>/dev/null || true
    wait "$SERVER_PID" 2>/dev/null || true
  fi
  SERVER_PID=
}

# startup_sample BIN DIR: the start-up measurement. Starts the server in DIR, samples its RSS 2 s after its first
# healthy answer (STARTUP_RSS_KIB; STARTUP_S is start_server's time to healthy), stops it.
startup_sample() {
  start_server "$1" "$2"
  sleep 2
  STARTUP_RSS_KIB=$(awk '/^VmRSS/ {print $2}' "/proc/$SERVER_PID/status")
  stop_server
}

# run_loadgen NAME DIR [loadgen flags...]: the load generator against the server started in DIR.
run_loadgen() {
  local name=$1 dir=$2
  shift 2
  # shellcheck disable=SC2086
  ${LOADGEN_WRAPPER:-} "$LOADGEN" -label "$name" -server "127.0.0.1:$SERVER_PORT" -trust_domain "$TD" \
    -bundle "$dir/bundle.pem" -admin_socket "$dir/api.sock" -server_pid "$SERVER_PID" \
    -datastore "$dir/data/datastore.sqlite3" "$@" ${LOADGEN_ARGS:-}
}

# bench_python: a Python with matplotlib (for the plots), in a venv kept per machine; plain python3 (plots skipped,
# said once) when PyPI is unreachable.
bench_python() {
  local venv=${SPIRECVM_BENCH_VENV:-$HOME/.cache/spire-cvm/bench-venv}
  if [[ ! -x $venv/bin/python ]] || ! "$venv/bin/python" -c 'import matplotlib' 2>/dev/null; then
    { python3 -m venv "$venv" && "$venv/bin/pip" install -q --disable-pip-version-check matplotlib==3.9.2; } \
      >"${OUT:-/tmp}/bench-venv.log" 2>&1 || { echo "bench: matplotlib unavailable (see ${OUT:-/tmp}/bench-venv.log); no plot" >&2; echo python3; return; }
  fi
  echo "$venv/bin/python"
}
