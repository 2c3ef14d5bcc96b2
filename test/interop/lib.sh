# Shared harness of the interop tests (sourced, not run). It starts this repository's spire-server and
# spire-agent the way test/e2e does, and the real SPIRE v1.13.3 binaries from the peers cache
# (scripts/build-peers.sh). Every test: `source lib.sh <build-dir>`, then the helpers below.
# Exit 77 (CTest's SKIP_RETURN_CODE for these tests) when a peer or a binary is unavailable.

BUILD=$(cd "${1:?usage: $0 <build-dir>}" && pwd)
SRC=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)
CVM_SERVER=$BUILD/src/cli/server/spire-server
CVM_AGENT=$BUILD/src/cli/agent/spire-agent
TD=example.org
UID_NOW=$(id -u)
T=$(mktemp -d /tmp/interop.XXXXXX)
chmod 755 "$T"
PIDS=()
LOGS=()

cleanup() {
  local p
  for p in "${PIDS[@]}"; do kill "$p" 2>/dev/null || true; done
  for p in "${PIDS[@]}"; do wait "$p" 2>/dev/null || true; done
  if [[ ${KEEP:-0} != 1 ]]; then rm -rf "$T"; else echo "kept $T"; fi
}
trap cleanup EXIT

fail() {
  local l
  echo "FAIL: $*" >&2
  for l in "${LOGS[@]}"; do echo "--- $l" >&2; tail -40 "$l" >&2 || true; done
  exit 1
}
step() { echo "== $*"; }
skip() { echo "SKIP: $*"; exit 77; }
# retry N CMD...: run CMD every 0.5s until it succeeds, at most N times; the last try's output is shown.
retry() { local n=$1 i; shift; for ((i = 0; i < n; i++)); do if "$@" >/dev/null 2>&1; then return 0; fi; sleep 0.5; done; "$@"; }
free_port() { python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'; }
# expect FILE REGEX WHAT: FILE has a line matching REGEX, else fail naming WHAT.
expect() { grep -Eq "$2" "$1" || { echo "--- $1:" >&2; cat "$1" >&2; fail "$3"; }; }

# need_peers go|python: sets PEERS to the cache folder, or skips the test (one line) when unavailable.
need_peers() {
  local rc=0
  PEERS=$("$SRC/scripts/build-peers.sh" "$1" 2>"$T/peers.err") || rc=$?
  if [[ $rc == 77 ]]; then skip "$(tail -1 "$T/peers.err")"; fi
  [[ $rc == 0 ]] || { cat "$T/peers.err" >&2; fail "scripts/build-peers.sh $1 failed ($rc)"; }
  PEERS=$(realpath "$PEERS")
}

need_cvm_binaries() {
  local b
  for b in "$CVM_SERVER" "$CVM_AGENT"; do [[ -x $b ]] || skip "$b not built"; done
}

# start_cvm_server [PLUGIN BLOCKS]: spire-cvm's server on a free port (join_token, plus the given HCL plugin blocks);
# sets CVM_SSOCK, CVM_PORT, CVM_SERVER_PID; writes $T/cvm-bundle.pem.
start_cvm_server() {
  CVM_PORT=$(free_port)
  CVM_SSOCK=$T/cvm-server/api.sock
  mkdir -p "$T/cvm-server"
  cat >"$T/cvm-server.conf" <<CONF
server {
  bind_address = "127.0.0.1"
  bind_port = $CVM_PORT
  socket_path = "$CVM_SSOCK"
  trust_domain = "$TD"
  data_dir = "$T/cvm-server"
  log_level = "DEBUG"
  default_x509_svid_ttl = "1h"
}
plugins {
  DataStore "sql" {
    plugin_data {
      database_type = "sqlite3"
      connection_string = "$T/cvm-server/datastore.sqlite3"
    }
  }
  KeyManager "memory" {
    plugin_data {}
  }
  NodeAttestor "join_token" {
    plugin_data {}
  }
${1:-}
}
CONF
  "$CVM_SERVER" run -config "$T/cvm-server.conf" >"$T/cvm-server.log" 2>&1 &
  CVM_SERVER_PID=$!
  PIDS+=($!)
  LOGS+=("$T/cvm-server.log")
  retry 60 "$CVM_SERVER" healthcheck -socketPath "$CVM_SSOCK" || fail "spire-cvm server not healthy"
  "$CVM_SERVER" bundle show -socketPath "$CVM_SSOCK" >"$T/cvm-bundle.pem" || fail "spire-cvm bundle show"
  expect "$T/cvm-bundle.pem" "BEGIN CERTIFICATE" "spire-cvm bundle show printed no certificate"
}

# cvm_entry ARGS...: `spire-server entry create` on spire-cvm's server, parent = the agent.
cvm_entry() {
  "$CVM_SERVER" entry create -socketPath "$CVM_SSOCK" -parentID "$CVM_AGENT_ID" "$@" >>"$T/entries.log" 2>&1 \
    || fail "spire-cvm entry create $*"
}

# start_cvm_agent: a join token, then spire-cvm's agent with the unix attestor reporting unix:path;
# sets CVM_ASOCK and CVM_AGENT_ID.
cvm_token() {
  CVM_TOKEN=$("$CVM_SERVER" token generate -socketPath "$CVM_SSOCK" -ttl 600 | sed -n 's/^Token: //p')
  [[ -n $CVM_TOKEN ]] || fail "spire-cvm token generate printed no token"
  CVM_AGENT_ID=spiffe://$TD/spire/agent/join_token/$CVM_TOKEN
}
start_cvm_agent() {
  CVM_ASOCK=$T/cvm-agent/public/api.sock
  mkdir -p -m 755 "$T/cvm-agent"
  cat >"$T/cvm-agent.conf" <<CONF
agent {
  data_dir = "$T/cvm-agent/data"
  log_level = "DEBUG"
  server_address = "127.0.0.1"
  server_port = $CVM_PORT
  socket_path = "$CVM_ASOCK"
  trust_bundle_path = "$T/cvm-bundle.pem"
  trust_domain = "$TD"
  join_token = "$CVM_TOKEN"
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
      directory = "$T/cvm-agent/data"
    }
  }
  WorkloadAttestor "unix" {
    plugin_data {
      discover_workload_path = true
    }
  }
}
CONF
  "$CVM_AGENT" run -config "$T/cvm-agent.conf" >"$T/cvm-agent.log" 2>&1 &
  PIDS+=($!)
  LOGS+=("$T/cvm-agent.log")
  retry 60 "$CVM_AGENT" healthcheck -socketPath "$CVM_ASOCK" || fail "spire-cvm agent not healthy"
}
