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
source "$SRC/test/lib/common.sh"
harness_init interop

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

# start_cvm_server [PLUGIN BLOCKS]: spire-cvm's server on a free port (join_token, plus the given HCL plugin blocks;
# $CVM_SERVER_EXTRA, when set, is added to the server block, e.g. agent_ttl = "30s"); sets CVM_SSOCK, CVM_PORT,
# CVM_SERVER_PID; writes $T/cvm-bundle.pem.
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
${CVM_SERVER_EXTRA:-}
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

# cvm_token: a join token from spire-cvm's CLI; sets CVM_TOKEN and CVM_AGENT_ID.
cvm_token() {
  CVM_TOKEN=$("$CVM_SERVER" token generate -socketPath "$CVM_SSOCK" -ttl 600 | sed -n 's/^Token: //p')
  [[ -n $CVM_TOKEN ]] || fail "spire-cvm token generate printed no token"
  CVM_AGENT_ID=spiffe://$TD/spire/agent/join_token/$CVM_TOKEN
}
# start_cvm_agent [NAME PORT BUNDLE TOKEN]: spire-cvm's agent in $T/NAME (default cvm-agent, attesting to spire-cvm's
# server with $CVM_TOKEN), with the unix attestor reporting unix:path; sets CVM_ASOCK to its Workload API socket.
# $CVM_AGENT_EXTRA, when set, is added to the agent {} block (e.g. admin_socket_path, authorized_delegates).
start_cvm_agent() {
  local name=${1:-cvm-agent} port=${2:-$CVM_PORT} bundle=${3:-$T/cvm-bundle.pem} token=${4:-$CVM_TOKEN}
  CVM_ASOCK=$T/$name/public/api.sock
  mkdir -p -m 755 "$T/$name"
  cat >"$T/$name.conf" <<CONF
agent {
  data_dir = "$T/$name/data"
  log_level = "DEBUG"
  server_address = "127.0.0.1"
  server_port = $port
  socket_path = "$CVM_ASOCK"
  trust_bundle_path = "$bundle"
  trust_domain = "$TD"
  join_token = "$token"
  experimental {
    sync_interval = "1s"
  }
${CVM_AGENT_EXTRA:-}
}
plugins {
  NodeAttestor "join_token" {
    plugin_data {}
  }
  KeyManager "disk" {
    plugin_data {
      directory = "$T/$name/data"
    }
  }
  WorkloadAttestor "unix" {
    plugin_data {
      discover_workload_path = true
    }
  }
}
CONF
  "$CVM_AGENT" run -config "$T/$name.conf" >"$T/$name.log" 2>&1 &
  PIDS+=($!)
  LOGS+=("$T/$name.log")
  retry 60 "$CVM_AGENT" healthcheck -socketPath "$CVM_ASOCK" || fail "spire-cvm agent $name not healthy"
}

# start_spire_server: the real SPIRE v1.13.3 server (join_token, sqlite, memory keys) on a free port; needs
# `need_peers go`. Sets SPIRE_SERVER, SPIRE_PORT, SPIRE_SSOCK; writes $T/spire-bundle.pem.
start_spire_server() {
  SPIRE_SERVER=$PEERS/bin/spire-server
  SPIRE_PORT=$(free_port)
  SPIRE_SSOCK=$T/spire-server/api.sock
  mkdir -p "$T/spire-server/data"
  cat >"$T/spire-server.conf" <<CONF
server {
  bind_address = "127.0.0.1"
  bind_port = "$SPIRE_PORT"
  socket_path = "$SPIRE_SSOCK"
  trust_domain = "$TD"
  data_dir = "$T/spire-server/data"
  log_level = "DEBUG"
  default_x509_svid_ttl = "1h"
}
plugins {
  DataStore "sql" {
    plugin_data {
      database_type = "sqlite3"
      connection_string = "$T/spire-server/data/datastore.sqlite3"
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
  "$SPIRE_SERVER" run -config "$T/spire-server.conf" >"$T/spire-server.log" 2>&1 &
  PIDS+=($!)
  LOGS+=("$T/spire-server.log")
  retry 120 "$SPIRE_SERVER" healthcheck -socketPath "$SPIRE_SSOCK" || fail "SPIRE server not healthy"
  "$SPIRE_SERVER" bundle show -socketPath "$SPIRE_SSOCK" >"$T/spire-bundle.pem" || fail "SPIRE bundle show"
  expect "$T/spire-bundle.pem" "BEGIN CERTIFICATE" "SPIRE bundle show printed no certificate"
}

# new_token CLI SOCKET: a join token from that server's `token generate` (SPIRE's CLI or ours); empty on failure.
new_token() { "$1" token generate -socketPath "$2" -ttl 600 | sed -n 's/^Token: //p'; }

# start_spire_agent NAME PORT BUNDLE TOKEN: the real SPIRE v1.13.3 agent in $T/NAME (join_token, unix attestor
# reporting unix:path); sets SPIRE_ASOCK.
start_spire_agent() {
  local name=$1 port=$2 bundle=$3 token=$4
  SPIRE_ASOCK=$T/$name/public/api.sock
  mkdir -p "$T/$name/data"
  mkdir -p -m 755 "$T/$name/public"
  cat >"$T/$name.conf" <<CONF
agent {
  data_dir = "$T/$name/data"
  log_level = "DEBUG"
  server_address = "127.0.0.1"
  server_port = "$port"
  socket_path = "$SPIRE_ASOCK"
  trust_bundle_path = "$bundle"
  trust_domain = "$TD"
}
plugins {
  NodeAttestor "join_token" {
    plugin_data {}
  }
  KeyManager "disk" {
    plugin_data {
      directory = "$T/$name/data"
    }
  }
  WorkloadAttestor "unix" {
    plugin_data {
      discover_workload_path = true
    }
  }
}
CONF
  "$PEERS/bin/spire-agent" run -config "$T/$name.conf" -joinToken "$token" >"$T/$name.log" 2>&1 &
  PIDS+=($!)
  LOGS+=("$T/$name.log")
  retry 120 "$PEERS/bin/spire-agent" healthcheck -socketPath "$SPIRE_ASOCK" || fail "SPIRE agent $name not healthy"
}

# root_sha256 PEM: the SHA-256 of the first certificate's DER (what x509fetch prints as root_sha256).
root_sha256() { openssl x509 -in "$1" -outform DER | sha256sum | cut -d' ' -f1; }

# check_x509 SOCKET SPIFFE_ID BUNDLE_PEM WHAT: go-spiffe's x509fetch through SOCKET gets SPIFFE_ID, the SVID verifies
# against the served bundle, and the served root is the first certificate of BUNDLE_PEM (that server's).
check_x509() {
  local out=$T/x509.$RANDOM.out
  retry 60 "$PEERS/bin/x509fetch" -socket "$1" -timeout 5s || fail "$4: x509fetch"
  "$PEERS/bin/x509fetch" -socket "$1" >"$out" 2>&1 || fail "$4: x509fetch: $(cat "$out")"
  cat "$out"
  expect "$out" "^spiffe_id=$2$" "$4: wrong SPIFFE ID"
  expect "$out" "^verified=$2$" "$4: the SVID did not verify against the served bundle"
  expect "$out" "^root_sha256=$(root_sha256 "$3")$" "$4: the served root is not the server's"
}

# check_jwt SOCKET SPIFFE_ID WHAT: go-spiffe's jwtfetch through SOCKET gets a JWT-SVID for SPIFFE_ID (audience
# interop) that validates against the served JWT bundle, and not for another audience.
check_jwt() {
  local out=$T/jwt.$RANDOM.out
  "$PEERS/bin/jwtfetch" -socket "$1" -audience interop >"$out" 2>&1 || fail "$3: jwtfetch: $(cat "$out")"
  cat "$out"
  expect "$out" "^spiffe_id=$2$" "$3: JWT-SVID for the wrong SPIFFE ID"
  expect "$out" "^audience=\\[interop\\]$" "$3: JWT-SVID audience"
  expect "$out" "^validated=$2$" "$3: JWT-SVID did not validate against the served JWT bundle"
  expect "$out" "^other_audience=rejected$" "$3: JWT-SVID validated for another audience"
}
