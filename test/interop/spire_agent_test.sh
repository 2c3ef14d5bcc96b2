#!/usr/bin/env bash
# Interop: the real SPIRE v1.13.3 spire-agent (join_token) against spire-cvm's server, which serves SPIRE's
# agent-facing APIs (AttestAgent, SyncAuthorizedEntries, GetBundle, BatchNewX509SVID, NewJWTSVID, RenewAgent), its
# only agent API (our own agent speaks it too). Entries and the join token come from spire-cvm's CLI. Checks: the
# agent attests (our `agent list|show` list it), serves go-spiffe workloads an X509-SVID (verifies, root = our
# server's) and a JWT-SVID (validates); a 30 s TTL rotation reaches a watcher; a deleted entry disappears; a banned
# agent is refused by the server.
# Usage: spire_agent_test.sh <build-dir>
set -euo pipefail
source "$(dirname "$0")/lib.sh"

need_cvm_binaries
need_peers go
BIN=$PEERS/bin
SA=$BIN/spire-agent
for c in x509fetch jwtfetch watch spire-agent; do [[ -x $BIN/$c ]] || fail "missing $BIN/$c"; done

step "spire-cvm server, join token and entries from spire-cvm's CLI"
start_cvm_server
cvm_token
for c in x509fetch jwtfetch; do
  cvm_entry -spiffeID "spiffe://$TD/spire-peer/$c" -selector "unix:uid:$UID_NOW" -selector "unix:path:$BIN/$c"
done
cvm_entry -spiffeID "spiffe://$TD/spire-peer/watch" -selector "unix:uid:$UID_NOW" -selector "unix:path:$BIN/watch" \
  -x509SVIDTTL 30
cvm_entry -entryID sa-cli -spiffeID "spiffe://$TD/spire-peer/cli" -selector "unix:uid:$UID_NOW" \
  -selector "unix:path:$SA"

step "SPIRE's agent attests to spire-cvm's server with the join token"
ASOCK=$T/spire-agent/public/api.sock
mkdir -p "$T/spire-agent/data"
mkdir -p -m 755 "$T/spire-agent/public"
cat >"$T/spire-agent.conf" <<CONF
agent {
  data_dir = "$T/spire-agent/data"
  log_level = "DEBUG"
  server_address = "127.0.0.1"
  server_port = "$CVM_PORT"
  socket_path = "$ASOCK"
  trust_bundle_path = "$T/cvm-bundle.pem"
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
    plugin_data {
      discover_workload_path = true
    }
  }
}
CONF
"$SA" run -config "$T/spire-agent.conf" -joinToken "$CVM_TOKEN" >"$T/spire-agent.log" 2>&1 &
PIDS+=($!)
LOGS+=("$T/spire-agent.log")
retry 120 "$SA" healthcheck -socketPath "$ASOCK" || fail "SPIRE agent not healthy against spire-cvm's server"
expect "$T/spire-agent.log" "Node attestation was successful.*spiffe_id=\"?$CVM_AGENT_ID" "SPIRE agent did not attest"
"$CVM_SERVER" agent list -socketPath "$CVM_SSOCK" >"$T/agents.out" 2>&1 || fail "agent list"
expect "$T/agents.out" "SPIFFE ID +: $CVM_AGENT_ID$" "spire-cvm does not list the SPIRE agent"
"$CVM_SERVER" agent show -socketPath "$CVM_SSOCK" -spiffeID "$CVM_AGENT_ID" >"$T/agent.out" 2>&1 || fail "agent show"
cat "$T/agent.out"
expect "$T/agent.out" "Attestation type +: join_token$" "agent show: attestation type"

step "go-spiffe X509Source through SPIRE's agent: SVID of our entry, chains to spire-cvm's CA"
S=(-socket "$ASOCK")
retry 60 "$BIN/x509fetch" "${S[@]}" -timeout 5s || fail "x509fetch"
"$BIN/x509fetch" "${S[@]}" >"$T/x509.out" 2>&1 || fail "x509fetch: $(cat "$T/x509.out")"
cat "$T/x509.out"
expect "$T/x509.out" "^spiffe_id=spiffe://$TD/spire-peer/x509fetch$" "wrong SPIFFE ID"
expect "$T/x509.out" "^verified=spiffe://$TD/spire-peer/x509fetch$" "SVID did not verify against the served bundle"
SERVER_ROOT=$(openssl x509 -in "$T/cvm-bundle.pem" -outform DER | sha256sum | cut -d' ' -f1)
expect "$T/x509.out" "^root_sha256=$SERVER_ROOT$" "the SPIRE agent served a root spire-cvm does not publish"

step "go-spiffe JWTSource through SPIRE's agent: JWT-SVID signed by spire-cvm validates"
"$BIN/jwtfetch" "${S[@]}" -audience spire-peer >"$T/jwt.out" 2>&1 || fail "jwtfetch: $(cat "$T/jwt.out")"
cat "$T/jwt.out"
expect "$T/jwt.out" "^spiffe_id=spiffe://$TD/spire-peer/jwtfetch$" "JWT-SVID for the wrong SPIFFE ID"
expect "$T/jwt.out" "^audience=\[spire-peer\]$" "JWT-SVID audience"
expect "$T/jwt.out" "^validated=spiffe://$TD/spire-peer/jwtfetch$" "JWT-SVID did not validate"
expect "$T/jwt.out" "^other_audience=rejected$" "JWT-SVID validated for another audience"

step "SPIRE's own spire-agent api fetch x509 (entry sa-cli): the SVID it writes verifies against spire-cvm's bundle"
mkdir -p "$T/cli"
"$SA" api fetch x509 -socketPath "$ASOCK" -write "$T/cli" >"$T/sa-x509.out" 2>&1 \
  || fail "spire-agent api fetch x509: $(cat "$T/sa-x509.out")"
expect "$T/sa-x509.out" "^SPIFFE ID:[[:space:]]+spiffe://$TD/spire-peer/cli$" "api fetch x509: SPIFFE ID"
openssl verify -CAfile "$T/cvm-bundle.pem" -untrusted "$T/cli/svid.0.pem" "$T/cli/svid.0.pem" >/dev/null \
  || fail "the SVID does not chain to spire-cvm's bundle"

step "rotation: a 30 s X509-SVID is renewed by SPIRE's agent and reaches the watcher"
"$BIN/watch" "${S[@]}" -rotations 1 -timeout 90s >"$T/watch.out" 2>&1 || fail "watch: $(cat "$T/watch.out")"
cat "$T/watch.out"
expect "$T/watch.out" "spiffe_id=spiffe://$TD/spire-peer/watch .* event=rotated$" "watcher saw no rotation"

step "a deleted entry disappears from SPIRE's agent"
"$CVM_SERVER" entry delete -socketPath "$CVM_SSOCK" -entryID sa-cli >/dev/null || fail "entry delete"
gone() { ! "$SA" api fetch x509 -socketPath "$ASOCK" -timeout 2s >"$T/sa-gone.out" 2>&1; }
retry 60 gone || fail "SPIRE's agent still serves the deleted entry: $(cat "$T/sa-gone.out")"
expect "$T/sa-gone.out" "no identity issued" "api fetch x509 after the deletion failed for another reason"

step "a banned agent is cut off: spire-cvm refuses its calls"
"$CVM_SERVER" agent ban -socketPath "$CVM_SSOCK" -spiffeID "$CVM_AGENT_ID" >/dev/null || fail "agent ban"
banned() { grep -Eq "is banned|agent is not attested" "$T/spire-agent.log"; }
retry 60 banned || fail "SPIRE's agent was not refused after the ban"
grep -E "is banned|agent is not attested" "$T/spire-agent.log" | tail -1 | sed 's/^time=[^ ]* //'

echo "PASS"
