#!/usr/bin/env bash
# Our spire-server CLI and SPIRE v1.13.3's, against one spire-cvm admin socket, print the same thing: for each
# read-only verb (pretty and -output json) and for some refused inputs, stdout, stderr and the exit code must be
# byte for byte SPIRE's. The state they read: entries made by our CLI (selectors, DNS names, TTLs, hint, admin,
# downstream, expiry) and our CA's bundle. Agents are not started here (interop_spire_cli covers attested agents);
# the agent verbs compare on an empty list and on refusals.
# Usage: cli_parity_test.sh <build-dir>
set -euo pipefail
source "$(dirname "$0")/lib.sh"

need_peers go
[[ -x $CVM_SERVER ]] || skip "$CVM_SERVER not built"
SPIRE=$PEERS/bin/spire-server

start_cvm_server
CVM_AGENT_ID=spiffe://$TD/spire/agent/join_token/parity
cvm_entry -entryID web -spiffeID "spiffe://$TD/web" -selector unix:uid:1000 -selector unix:gid:1000 \
  -dns web.example.org -x509SVIDTTL 120 -jwtSVIDTTL 60 -hint web-hint
cvm_entry -entryID db -spiffeID "spiffe://$TD/db" -selector unix:uid:2000 -admin -entryExpiry 4102444800
cvm_entry -entryID down -spiffeID "spiffe://$TD/down" -selector unix:uid:3000 -downstream

# same ARGS...: both CLIs with ARGS against our socket; their stdout, stderr and exit code must be equal.
n=0
same() {
  n=$((n + 1))
  local ours=$T/ours.$n theirs=$T/theirs.$n rc_ours=0 rc_theirs=0
  "$CVM_SERVER" "$@" -socketPath "$CVM_SSOCK" >"$ours.out" 2>"$ours.err" || rc_ours=$?
  "$SPIRE" "$@" -socketPath "$CVM_SSOCK" >"$theirs.out" 2>"$theirs.err" || rc_theirs=$?
  for s in out err; do
    diff -u "$theirs.$s" "$ours.$s" >"$T/diff.$n.$s" || { cat "$T/diff.$n.$s" >&2; fail "'$*': our std$s differs from SPIRE's"; }
  done
  [[ $rc_ours == "$rc_theirs" ]] || fail "'$*': we exit $rc_ours, SPIRE exits $rc_theirs"
}

for out in pretty json; do
  step "-output $out: entry, agent, bundle read verbs"
  same entry show -output $out
  same entry show -entryID web -output $out
  same entry show -downstream -output $out
  same entry show -spiffeID "spiffe://$TD/db" -output $out
  same entry show -parentID "$CVM_AGENT_ID" -selector unix:uid:1000 -matchSelectorsOn subset -output $out
  same entry show -selector unix:uid:1000 -selector unix:gid:1000 -matchSelectorsOn exact -output $out
  same entry show -hint web-hint -output $out
  same entry count -output $out
  same entry count -selector unix:uid:2000 -matchSelectorsOn any -output $out
  same agent list -output $out
  same agent list -attestationType join_token -banned false -canReattest false -output $out
  same agent list -attestationType aws_iid -output $out
  same agent count -output $out
  same agent count -selector "spiffe_id:$CVM_AGENT_ID" -output $out
  same bundle show -output $out
  same bundle count -output $out
  same bundle list -output $out
done
step "bundle show in the SPIFFE format"
same bundle show -format spiffe

step "refused inputs"
same entry show -entryID nope
same entry show -entryID web -spiffeID "spiffe://$TD/web"
same entry show -selector unix:uid:1 -matchSelectorsOn most
same entry show -selector nocolon
same entry create -spiffeID "spiffe://$TD/x" -parentID "$CVM_AGENT_ID"
same entry create -parentID "$CVM_AGENT_ID" -selector a:b
same entry create -spiffeID "spiffe://$TD/x" -selector a:b
same entry create -spiffeID "spiffe://$TD/web" -parentID "$CVM_AGENT_ID" -selector a:b -x509SVIDTTL -1
same entry update -spiffeID "spiffe://$TD/web" -parentID "$CVM_AGENT_ID" -selector a:b
same entry delete
same agent show
same agent show -spiffeID "spiffe://$TD/spire/agent/join_token/nope"
same agent evict
same agent ban
same bundle show -format jwks
same bundle set
same bundle delete
same x509 mint
same jwt mint -audience a
same jwt mint -spiffeID "spiffe://$TD/w"
same logger set
same logger set -level loud
same localauthority x509 activate
same localauthority jwt taint
same upstreamauthority revoke
echo "PASS ($n commands print the same)"
