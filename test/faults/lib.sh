# Shared harness of the fault tests (sourced, not run): the real spire-server and spire-agent binaries of a build
# directory, a scratch folder $T, and helpers to start, kill and restart them. Every test:
# `source lib.sh <build-dir>`, then the helpers below. Exit 77 (CTest's SKIP_RETURN_CODE) when a binary is missing.

BUILD=$(cd "${1:?usage: $0 <build-dir>}" && pwd)
SRC=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)
SERVER_BIN=$BUILD/src/cli/server/spire-server
AGENT_BIN=$BUILD/src/cli/agent/spire-agent
TD=example.org
UID_NOW=$(id -u)
source "$SRC/test/lib/common.sh"
harness_init faults

for b in "$SERVER_BIN" "$AGENT_BIN"; do [[ -x $b ]] || skip "$b not built"; done

PORT=$(free_port)
SDIR=$T/server
SSOCK=$T/server-api/api.sock
ADIR=$T/agent/data
ASOCK=$T/agent/public/api.sock
mkdir -p "$SDIR" "$T/server-api" "$T/agent"

# write_server_conf [EXTRA SERVER LINES]: SQLite datastore and disk KeyManager in $SDIR (the server's data_dir), so
# everything the server persists lives there; join_token attestation.
write_server_conf() {
  cat >"$T/server.conf" <<CONF
server {
  bind_address = "127.0.0.1"
  bind_port = $PORT
  socket_path = "$SSOCK"
  trust_domain = "$TD"
  data_dir = "$SDIR"
  log_level = "DEBUG"
  ${1:-}
}
plugins {
  DataStore "sql" {
    plugin_data {
      database_type = "sqlite3"
      connection_string = "$SDIR/datastore.sqlite3"
    }
  }
  KeyManager "disk" {
    plugin_data {
      keys_path = "$SDIR/keys.json"
    }
  }
  NodeAttestor "join_token" {
    plugin_data {}
  }
}
CONF
}

# start_server [LOG]: starts the server (log appended to LOG, default $T/server.log) and waits until healthy;
# sets SERVER_PID.
start_server() {
  local log=${1:-$T/server.log}
  "$SERVER_BIN" run -config "$T/server.conf" >>"$log" 2>&1 &
  SERVER_PID=$!
  PIDS+=("$SERVER_PID")
  LOGS+=("$log")
  retry 120 "$SERVER_BIN" healthcheck -socketPath "$SSOCK" >/dev/null || fail "server not healthy"
}

kill9_server() {
  kill -9 "$SERVER_PID" 2>/dev/null || true
  wait "$SERVER_PID" 2>/dev/null || true
}

srv() { "$SERVER_BIN" "$@" -socketPath "$SSOCK"; }

# new_token: a join token valid for 10 minutes.
new_token() { srv token generate -ttl 600 | sed -n 's/^Token: //p'; }

# write_agent_conf TOKEN: the agent with a disk KeyManager in $ADIR (the agent's data_dir), 1s sync.
write_agent_conf() {
  srv bundle show >"$T/bootstrap.pem" || fail "bundle show"
  cat >"$T/agent.conf" <<CONF
agent {
  data_dir = "$ADIR"
  log_level = "DEBUG"
  server_address = "127.0.0.1"
  server_port = $PORT
  socket_path = "$ASOCK"
  trust_bundle_path = "$T/bootstrap.pem"
  trust_domain = "$TD"
  join_token = "$1"
  experimental {
    sync_interval = "1s"
  }
}
plugins {
  NodeAttestor "join_token" {
    plugin_data {}
  }
  KeyManager "disk" {
    plugin_data {
      directory = "$ADIR"
    }
  }
  WorkloadAttestor "unix" {
    plugin_data {}
  }
}
CONF
}

# start_agent LOG [FLAGS...]: starts the agent (log to LOG); sets AGENT_PID. Does not wait.
start_agent() {
  local log=$1
  shift
  "$AGENT_BIN" run -config "$T/agent.conf" "$@" >"$log" 2>&1 &
  AGENT_PID=$!
  PIDS+=("$AGENT_PID")
  LOGS+=("$log")
}

stop_agent() {
  kill "$AGENT_PID" 2>/dev/null || true
  wait "$AGENT_PID" 2>/dev/null || true
}

fetch_x509() { "$AGENT_BIN" api fetch x509 -socketPath "$ASOCK" "$@"; }

# integrity_ok DB: `PRAGMA integrity_check` answers exactly "ok".
integrity_ok() {
  local out
  out=$(sqlite3 "$1" 'PRAGMA integrity_check;' 2>&1) || { echo "$out" >&2; return 1; }
  [[ $out == ok ]] || { echo "integrity_check: $out" >&2; return 1; }
}
