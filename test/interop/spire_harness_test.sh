#!/usr/bin/env bash
# Harness sanity: the real SPIRE v1.13.3 spire-server and spire-agent from the peers cache run together
# (join_token), `spire-server healthcheck` and `spire-agent healthcheck` pass, and go-spiffe fetches an
# X509-SVID from the real agent. This is the reference the SPIRE-peer tests of issue 11 build on (SPIRE's CLI
# against our server, SPIRE's agent against our server, ...).
# Usage: spire_harness_test.sh <build-dir>
set -euo pipefail
source "$(dirname "$0")/lib.sh"

need_peers go
SPIRE_SERVER=$PEERS/bin/spire-server
SPIRE_AGENT=$PEERS/bin/spire-agent

step "versions"
"$SPIRE_SERVER" --version >"$T/version" 2>&1 || true
"$SPIRE_AGENT" --version >>"$T/version" 2>&1 || true
cat "$T/version"
[[ $(grep -c '^1\.13\.3' "$T/version") == 2 ]] || fail "expected SPIRE 1.13.3 binaries"

PORT=$(free_port)
SSOCK=$T/spire-server/api.sock
ASOCK=$T/spire-agent/public/api.sock
mkdir -p "$T/spire-server/data" "$T/spire-agent/data"
cat >"$T/spire-server.conf" <<CONF
server {
  bind_address = "127.0.0.1"
  bind_port = "$PORT"
  socket_path = "$SSOCK"
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

step "SPIRE server: start, healthcheck"
"$SPIRE_SERVER" run -config "$T/spire-server.conf" >"$T/spire-server.log" 2>&1 &
PIDS+=($!)
LOGS+=("$T/spire-server.log")
retry 120 "$SPIRE_SERVER" healthcheck -socketPath "$SSOCK" || fail "SPIRE server not healthy"
"$SPIRE_SERVER" healthcheck -socketPath "$SSOCK" >"$T/hc.out" 2>&1 || fail "healthcheck"
expect "$T/hc.out" "^Server is healthy\.$" "spire-server healthcheck output"
"$SPIRE_SERVER" bundle show -socketPath "$SSOCK" >"$T/bundle.pem" || fail "bundle show"
expect "$T/bundle.pem" "BEGIN CERTIFICATE" "bundle show printed no certificate"

step "join token, workload entry"
TOKEN=$("$SPIRE_SERVER" token generate -socketPath "$SSOCK" -ttl 600 | sed -n 's/^Token: //p')
[[ -n $TOKEN ]] || fail "no join token"
AGENT_ID=spiffe://$TD/spire/agent/join_token/$TOKEN
"$SPIRE_SERVER" entry create -socketPath "$SSOCK" -parentID "$AGENT_ID" -spiffeID "spiffe://$TD/spire-ref" \
  -selector "unix:uid:$UID_NOW" >"$T/entry.out" 2>&1 || fail "entry create: $(cat "$T/entry.out")"
expect "$T/entry.out" "SPIFFE ID +: spiffe://$TD/spire-ref" "entry create output"

cat >"$T/spire-agent.conf" <<CONF
agent {
  data_dir = "$T/spire-agent/data"
  log_level = "DEBUG"
  server_address = "127.0.0.1"
  server_port = "$PORT"
  socket_path = "$ASOCK"
  trust_bundle_path = "$T/bundle.pem"
  trust_domain = "$TD"
}
plugins {
  NodeAttestor "join_token" {
    plugin_data {}
  }
  KeyManager "disk" {
    plugin_data {
      directory = "$T/spire-agent/data"
    }
  }
  WorkloadAttestor "unix" {
    plugin_data {}
  }
}
CONF

step "SPIRE agent: attest with the join token, healthcheck"
mkdir -p -m 755 "$T/spire-agent/public"
"$SPIRE_AGENT" run -config "$T/spire-agent.conf" -joinToken "$TOKEN" >"$T/spire-agent.log" 2>&1 &
PIDS+=($!)
LOGS+=("$T/spire-agent.log")
retry 120 "$SPIRE_AGENT" healthcheck -socketPath "$ASOCK" || fail "SPIRE agent not healthy"
"$SPIRE_AGENT" healthcheck -socketPath "$ASOCK" >"$T/ahc.out" 2>&1 || fail "agent healthcheck"
expect "$T/ahc.out" "^Agent is healthy\.$" "spire-agent healthcheck output"
"$SPIRE_SERVER" agent list -socketPath "$SSOCK" >"$T/agents.out" 2>&1 || fail "agent list"
expect "$T/agents.out" "SPIFFE ID +: $AGENT_ID" "the attested agent is not listed"

step "go-spiffe against the real SPIRE agent (reference behaviour)"
retry 60 "$PEERS/bin/x509fetch" -socket "$ASOCK" -timeout 5s || fail "x509fetch against SPIRE"
"$PEERS/bin/x509fetch" -socket "$ASOCK" >"$T/x509.out" 2>&1 || fail "x509fetch: $(cat "$T/x509.out")"
cat "$T/x509.out"
expect "$T/x509.out" "^spiffe_id=spiffe://$TD/spire-ref$" "wrong SPIFFE ID from SPIRE's agent"
expect "$T/x509.out" "^verified=spiffe://$TD/spire-ref$" "SVID from SPIRE's agent did not verify"

echo "PASS"
