#!/usr/bin/env bash
# Interop: mixed fleets. (1) One spire-cvm server serving a real SPIRE v1.13.3 agent and spire-cvm's agent at once;
# (2) one real SPIRE v1.13.3 server serving both agents. Every agent attests with a join token from its server's CLI;
# each gets its own entries (parented to it). Checks, per agent: the server lists it; go-spiffe through that agent
# gets its entry's X509-SVID, verifying to that server's root (the two servers' roots differ), and a JWT-SVID
# that validates. An agent never serves the other agent's entries: SPIRE's `spire-agent api fetch x509`, a workload
# that has an entry under each agent (same selectors), receives exactly one SVID through each, its own agent's.
# Usage: mixed_fleet_test.sh <build-dir>
set -euo pipefail
source "$(dirname "$0")/lib.sh"

need_cvm_binaries
need_peers go
BIN=$PEERS/bin
for c in x509fetch jwtfetch spire-server spire-agent; do [[ -x $BIN/$c ]] || fail "missing $BIN/$c"; done

# fleet CLI SOCKET PORT BUNDLE LABEL: both agents under one server, each with its own x509fetch/jwtfetch entries.
fleet() {
  local cli=$1 sock=$2 port=$3 bundle=$4 label=$5 kind token id c
  for kind in cvm spire; do
    token=$(new_token "$cli" "$sock")
    [[ -n $token ]] || fail "$label: token generate printed no token"
    id=spiffe://$TD/spire/agent/join_token/$token
    for c in x509fetch jwtfetch spire-agent; do
      "$cli" entry create -socketPath "$sock" -parentID "$id" -spiffeID "spiffe://$TD/$label/$kind/$c" \
        -selector "unix:uid:$UID_NOW" -selector "unix:path:$BIN/$c" >>"$T/entries.log" 2>&1 \
        || fail "$label: entry create: $(tail -5 "$T/entries.log")"
    done
    if [[ $kind == cvm ]]; then
      start_cvm_agent "$label-cvm-agent" "$port" "$bundle" "$token"
      CVM_SOCK=$CVM_ASOCK
      CVM_ID=$id
    else
      start_spire_agent "$label-spire-agent" "$port" "$bundle" "$token"
      SPIRE_SOCK=$SPIRE_ASOCK
      SPIRE_ID=$id
    fi
  done
  "$cli" agent list -socketPath "$sock" >"$T/$label-agents.out" 2>&1 || fail "$label: agent list"
  cat "$T/$label-agents.out"
  expect "$T/$label-agents.out" "SPIFFE ID +: $CVM_ID$" "$label: the server does not list spire-cvm's agent"
  expect "$T/$label-agents.out" "SPIFFE ID +: $SPIRE_ID$" "$label: the server does not list SPIRE's agent"

  check_x509 "$CVM_SOCK" "spiffe://$TD/$label/cvm/x509fetch" "$bundle" "$label, spire-cvm's agent"
  check_jwt "$CVM_SOCK" "spiffe://$TD/$label/cvm/jwtfetch" "$label, spire-cvm's agent"
  check_x509 "$SPIRE_SOCK" "spiffe://$TD/$label/spire/x509fetch" "$bundle" "$label, SPIRE's agent"
  check_jwt "$SPIRE_SOCK" "spiffe://$TD/$label/spire/jwtfetch" "$label, SPIRE's agent"
  only_own_entry "$CVM_SOCK" "spiffe://$TD/$label/cvm/spire-agent" "$label, spire-cvm's agent"
  only_own_entry "$SPIRE_SOCK" "spiffe://$TD/$label/spire/spire-agent" "$label, SPIRE's agent"
}

# only_own_entry SOCKET SPIFFE_ID WHAT: SPIRE's CLI, which has one entry under each agent, gets exactly one SVID
# through SOCKET: SPIFFE_ID, the one parented to that agent.
only_own_entry() {
  local out=$T/own.$RANDOM.out
  one_svid() { "$BIN/spire-agent" api fetch x509 -socketPath "$1" >"$out" 2>&1 && grep -q '^Received 1 svid after' "$out"; }
  retry 60 one_svid "$1" || fail "$3: SPIRE's CLI did not get exactly one SVID: $(cat "$out")"
  expect "$out" "^SPIFFE ID:[[:space:]]+$2$" "$3: served an SVID of another agent's entry"
}

step "fleet 1: one spire-cvm server, a SPIRE agent and spire-cvm's agent"
start_cvm_server
fleet "$CVM_SERVER" "$CVM_SSOCK" "$CVM_PORT" "$T/cvm-bundle.pem" cvmserver

step "fleet 2: one SPIRE server, a SPIRE agent and spire-cvm's agent"
start_spire_server
fleet "$SPIRE_SERVER" "$SPIRE_SSOCK" "$SPIRE_PORT" "$T/spire-bundle.pem" spireserver

step "the two servers are two trust roots (check_x509 matched each fleet's served root to its own server)"
[[ $(root_sha256 "$T/cvm-bundle.pem") != $(root_sha256 "$T/spire-bundle.pem") ]] || fail "both servers have one root"

echo "PASS"
