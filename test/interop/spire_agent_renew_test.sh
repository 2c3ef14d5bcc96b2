#!/usr/bin/env bash
# Interop: the real SPIRE v1.13.3 spire-agent, attested with a join token (not re-attestable), renews its agent SVID
# through spire-cvm's agent.v1 RenewAgent. The server's agent_ttl is 30 s, so SPIRE's agent renews at about half of it.
# Checks: SPIRE's agent logs the rotation and no failure; SPIRE's `spire-server agent show` against our socket reports
# a new serial number and a later expiry; after the first agent SVID has expired, the agent still syncs with the
# server (an entry created then reaches it) and serves go-spiffe workloads X509-SVIDs that chain to our bundle.
# Usage: spire_agent_renew_test.sh <build-dir>
set -euo pipefail
source "$(dirname "$0")/lib.sh"

need_cvm_binaries
need_peers go
BIN=$PEERS/bin
SPIRE=$BIN/spire-server
for c in x509fetch spire-agent spire-server; do [[ -x $BIN/$c ]] || fail "missing $BIN/$c"; done

step "spire-cvm server with agent_ttl = 30s; SPIRE's agent attests with a join token"
CVM_SERVER_EXTRA='  agent_ttl = "30s"'
start_cvm_server
cvm_token
start_spire_agent spire-agent "$CVM_PORT" "$T/cvm-bundle.pem" "$CVM_TOKEN"
expect "$T/spire-agent.log" "Node attestation was successful.*spiffe_id=\"?$CVM_AGENT_ID" "SPIRE agent did not attest"
# show: SPIRE's `agent show -output json` for the agent, fields "serial expires_at can_reattest" in $T/show.out.
show() {
  "$SPIRE" agent show -socketPath "$CVM_SSOCK" -spiffeID "$CVM_AGENT_ID" -output json >"$T/show.json" 2>&1 \
    || fail "spire-server agent show: $(cat "$T/show.json")"
  python3 -c 'import json,sys; d=json.load(open(sys.argv[1]))
print(d["x509svid_serial_number"], d["x509svid_expires_at"], d["can_reattest"])' "$T/show.json" >"$T/show.out"
}
show
read -r SERIAL1 EXP1 REATTEST <"$T/show.out"
[[ $REATTEST == False ]] || fail "a join_token agent must not be re-attestable: $(cat "$T/show.json")"
[[ -n $SERIAL1 && $EXP1 -gt 0 ]] || fail "agent show: no serial or expiry: $(cat "$T/show.json")"

step "a workload gets its SVID through SPIRE's agent"
cvm_entry -spiffeID "spiffe://$TD/renew/x509fetch" -selector "unix:uid:$UID_NOW" -selector "unix:path:$BIN/x509fetch"
check_x509 "$SPIRE_ASOCK" "spiffe://$TD/renew/x509fetch" "$T/cvm-bundle.pem" "before the renewal"

step "SPIRE's agent renews through RenewAgent: the server reports a new serial and a later expiry"
rotated() { grep -q "Successfully rotated agent SVID" "$T/spire-agent.log"; }
retry 120 rotated || fail "SPIRE's agent did not rotate its SVID"
grep "Successfully rotated agent SVID" "$T/spire-agent.log" | head -1 | sed 's/^time=[^ ]* //'
new_serial() { show; read -r s e _ <"$T/show.out"; [[ $s != "$SERIAL1" && $e -gt $EXP1 ]]; }
retry 60 new_serial || fail "agent show kept serial $SERIAL1 / expiry $EXP1: $(cat "$T/show.out")"
read -r SERIAL2 EXP2 _ <"$T/show.out"
echo "agent SVID serial $SERIAL1 -> $SERIAL2, expiry $EXP1 -> $EXP2"
if grep -Eq "Could not rotate agent SVID|agent must reattest|Agent needs to re-attest" "$T/spire-agent.log"; then
  fail "SPIRE's agent reported a failed renewal"
fi

step "after the first agent SVID expired, the agent still syncs and serves workloads"
past_first() { (($(date +%s) > EXP1 + 2)); }
retry 120 past_first || fail "the first agent SVID did not expire"
cvm_entry -spiffeID "spiffe://$TD/renew/late" -selector "unix:uid:$UID_NOW" -selector "unix:path:$BIN/x509fetch"
"$CVM_SERVER" entry delete -socketPath "$CVM_SSOCK" -entryID "$(
  "$CVM_SERVER" entry show -socketPath "$CVM_SSOCK" -spiffeID "spiffe://$TD/renew/x509fetch" | sed -n 's/^Entry ID *: //p'
)" >/dev/null || fail "entry delete"
late() { "$BIN/x509fetch" -socket "$SPIRE_ASOCK" -timeout 5s 2>&1 | grep -q "^spiffe_id=spiffe://$TD/renew/late$"; }
retry 60 late || fail "an entry created after the first agent SVID expired did not reach SPIRE's agent"
check_x509 "$SPIRE_ASOCK" "spiffe://$TD/renew/late" "$T/cvm-bundle.pem" "after the first agent SVID expired"
if grep -Eq "current SVID has already expired|Agent needs to re-attest" "$T/spire-agent.log"; then
  fail "SPIRE's agent lost its identity"
fi
show
read -r SERIAL3 EXP3 _ <"$T/show.out"
(( EXP3 > $(date +%s) )) || fail "the agent's current SVID on the server has expired: $(cat "$T/show.json")"
echo "agent SVID now serial $SERIAL3, expires $EXP3"

echo "PASS"
