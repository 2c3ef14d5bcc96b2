#!/usr/bin/env bash
# Issue 12, finding 5: 1,000 idle AttestAgent streams (opened, never sent on, spread over 10 TLS connections) do not
# stop a real agent from attesting, and the server drops every one of them once its step deadline passes. The idle
# streams come from cmd/idlestreams (Go, built by scripts/build-peers.sh). The per-IP attestation rate limit is off
# here (everything comes from 127.0.0.1); server_test covers it.
set -euo pipefail
source "$(dirname "$0")/lib.sh" "$1"
need_cvm_binaries
need_peers go
IDLE=$PEERS/bin/idlestreams
[[ -x $IDLE ]] || fail "$IDLE missing from the peers build"

step "server with attestation_step_timeout = 25s"
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
  log_level = "INFO"
  attestation_step_timeout = "25s"
  ratelimit {
    attestation = false
  }
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
}
CONF
"$CVM_SERVER" run -config "$T/cvm-server.conf" >"$T/cvm-server.log" 2>&1 &
PIDS+=($!)
LOGS+=("$T/cvm-server.log")
retry 60 "$CVM_SERVER" healthcheck -socketPath "$CVM_SSOCK" || fail "server not healthy"
"$CVM_SERVER" bundle show -socketPath "$CVM_SSOCK" >"$T/cvm-bundle.pem" || fail "bundle show"
cvm_token

step "1000 idle attestation streams"
"$IDLE" -addr "127.0.0.1:$CVM_PORT" -n 1000 -conns 10 -hold 90s >"$T/idle.log" 2>&1 &
IDLE_PID=$!
PIDS+=($IDLE_PID)
LOGS+=("$T/idle.log")
retry 60 grep -q "^opened 1000" "$T/idle.log" || fail "the idle streams did not open"

step "a real agent attests meanwhile"
start_cvm_agent
retry 60 grep -q "agent attested: $CVM_AGENT_ID" "$T/cvm-server.log" || fail "the agent's attestation is not in the server log"
last=$(grep '^open=' "$T/idle.log" | tail -1 || true)
echo "idle streams when the agent had attested: ${last:-all open (less than a second)}"
[[ -z $last || $last == "open=1000 ended=0" ]] || fail "idle streams ended before the agent attested: $last"

step "the server drops every idle stream at its step deadline"
wait "$IDLE_PID" || fail "idlestreams failed"
expect "$T/idle.log" "^ended=1000 " "the server left idle attestation streams open"
echo "PASS"
