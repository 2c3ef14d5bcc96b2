#!/usr/bin/env bash
# Interop: spire-cvm's agent against the real SPIRE v1.13.3 spire-server, over SPIRE's agent-facing APIs only
# (AttestAgent, SyncAuthorizedEntries, GetBundle, BatchNewX509SVID, NewJWTSVID). The join token and the entries come
# from SPIRE's own CLI. Checks: SPIRE lists our agent (join_token, its ID); our agent serves go-spiffe workloads an
# X509-SVID (verifies; the root is SPIRE's) and a JWT-SVID (validates, audience checked) for SPIRE's entries; an
# entry created later reaches the workload (sync); a 30 s X509-SVID rotates; a deleted entry disappears.
# Usage: cvm_agent_spire_server_test.sh <build-dir>
set -euo pipefail
source "$(dirname "$0")/lib.sh"

need_cvm_binaries
need_peers go
BIN=$PEERS/bin
for c in x509fetch jwtfetch watch spire-server; do [[ -x $BIN/$c ]] || fail "missing $BIN/$c"; done

step "SPIRE server, join token and entries from SPIRE's CLI"
start_spire_server
TOKEN=$(new_token "$SPIRE_SERVER" "$SPIRE_SSOCK")
[[ -n $TOKEN ]] || fail "SPIRE's token generate printed no token"
AGENT_ID=spiffe://$TD/spire/agent/join_token/$TOKEN
spire_entry() {
  "$SPIRE_SERVER" entry create -socketPath "$SPIRE_SSOCK" -parentID "$AGENT_ID" "$@" >>"$T/entries.log" 2>&1 \
    || fail "SPIRE entry create $*: $(tail -5 "$T/entries.log")"
}
for c in x509fetch jwtfetch; do
  spire_entry -spiffeID "spiffe://$TD/cvm-agent/$c" -selector "unix:uid:$UID_NOW" -selector "unix:path:$BIN/$c"
done

step "spire-cvm's agent attests to SPIRE's server with SPIRE's join token"
start_cvm_agent cvm-agent "$SPIRE_PORT" "$T/spire-bundle.pem" "$TOKEN"
expect "$T/cvm-agent.log" "node attestation succeeded: agent ID $AGENT_ID" "our agent did not attest to SPIRE"
"$SPIRE_SERVER" agent show -socketPath "$SPIRE_SSOCK" -spiffeID "$AGENT_ID" >"$T/agent.out" 2>&1 \
  || fail "SPIRE's agent show: $(cat "$T/agent.out")"
cat "$T/agent.out"
expect "$T/agent.out" "SPIFFE ID +: $AGENT_ID$" "SPIRE does not show our agent"
expect "$T/agent.out" "Attestation type +: join_token$" "SPIRE's agent show: attestation type"

step "go-spiffe X509Source through our agent: SVID of SPIRE's entry, chains to SPIRE's CA"
check_x509 "$CVM_ASOCK" "spiffe://$TD/cvm-agent/x509fetch" "$T/spire-bundle.pem" "our agent under SPIRE"

step "go-spiffe JWTSource through our agent: JWT-SVID signed by SPIRE validates"
check_jwt "$CVM_ASOCK" "spiffe://$TD/cvm-agent/jwtfetch" "our agent under SPIRE"

step "sync: an entry created now reaches the workload; its 30 s X509-SVID rotates"
spire_entry -entryID cvm-watch -spiffeID "spiffe://$TD/cvm-agent/watch" -selector "unix:uid:$UID_NOW" \
  -selector "unix:path:$BIN/watch" -x509SVIDTTL 30
"$BIN/watch" -socket "$CVM_ASOCK" -rotations 1 -timeout 120s >"$T/watch.out" 2>&1 \
  || fail "watch: $(cat "$T/watch.out")"
cat "$T/watch.out"
expect "$T/watch.out" "spiffe_id=spiffe://$TD/cvm-agent/watch .* event=rotated$" "watcher saw no rotation"

step "a deleted entry disappears from our agent"
"$SPIRE_SERVER" entry delete -socketPath "$SPIRE_SSOCK" -entryID cvm-watch >/dev/null || fail "SPIRE entry delete"
gone() {
  "$BIN/watch" -socket "$CVM_ASOCK" -rotations 0 -timeout 2s >"$T/gone.out" 2>&1 || true
  ! grep -q "spiffe_id=spiffe://$TD/cvm-agent/watch" "$T/gone.out"
}
retry 60 gone || fail "our agent still serves the deleted entry: $(cat "$T/gone.out")"
expect "$T/gone.out" "no identity issued" "the watcher failed for another reason than the deletion"
# The other entries are still served.
check_x509 "$CVM_ASOCK" "spiffe://$TD/cvm-agent/x509fetch" "$T/spire-bundle.pem" "after the deletion"

step "our agent used only SPIRE's APIs: no error from SPIRE's server about unknown services"
if grep -Ei "unknown service|Unimplemented" "$T/cvm-agent.log"; then fail "our agent called something SPIRE lacks"; fi

echo "PASS"
