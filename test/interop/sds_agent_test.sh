#!/usr/bin/env bash
# Interop: an Envoy SDS v3 client built on Envoy's go-control-plane types (cmd/sdsclient, go-control-plane v0.14
# line: envoy module v1.36.0) against spire-cvm's agent, on the Workload API socket as SPIRE serves SDS.
# FetchSecrets: `default` + `ROOTCA` (SPIFFECertValidatorConfig for Envoy >= 1.18), a named SVID, `ALL`,
# `spiffe://<td>`, trusted CA for Envoy 1.17 and for node metadata disable_spiffe_cert_validation, unknown names
# refused. StreamSecrets: version + nonce, ACK answered by nothing, a stale nonce ignored, a NACK tolerated, pushes
# on two SVID rotations (x509SVIDTTL 30s), names changing, an unknown name ending the stream. DeltaSecrets:
# Unimplemented. Then the `sds {}` options: renamed resources and disable_spiffe_cert_validation.
# Usage: sds_agent_test.sh <build-dir>
set -euo pipefail
source "$(dirname "$0")/lib.sh"

need_cvm_binaries
need_peers go
BIN=$PEERS/bin
[[ -x $BIN/sdsclient ]] || fail "missing $BIN/sdsclient"

step "spire-cvm server + agent; the SDS client's entry rotates every ~15s (x509SVIDTTL 30)"
start_cvm_server
cvm_token
ID=spiffe://$TD/envoy/sdsclient
cvm_entry -spiffeID "$ID" -selector "unix:uid:$UID_NOW" -selector "unix:path:$BIN/sdsclient" -x509SVIDTTL 30
start_cvm_agent
S=(-socket "$CVM_ASOCK" -expect-id "$ID" -trust-domain "$TD")

step "FetchSecrets, StreamSecrets (ACK, NACK, stale nonce, two rotations, names), DeltaSecrets"
retry 40 "$CVM_SERVER" entry show -socketPath "$CVM_SSOCK" -spiffeID "$ID" || fail "entry missing"
# The agent serves the caller once its entry is synced and its SVID minted (as SPIRE, FetchSecrets does not wait).
retry 60 "$BIN/sdsclient" "${S[@]}" -ready -timeout 5s || fail "the SDS client's SVID was never served"
"$BIN/sdsclient" "${S[@]}" -rotations 2 -timeout 150s >"$T/sds.out" 2>&1 || fail "sdsclient: $(cat "$T/sds.out")"
cat "$T/sds.out"
expect "$T/sds.out" "^fetch_default=$ID roots=[1-9][0-9]* rootca_validator=spiffe td=$TD$" "default + ROOTCA"
expect "$T/sds.out" "^fetch_named=$ID$" "named SVID"
expect "$T/sds.out" "^fetch_all=$TD$" "ALL (only the own trust domain: no federation here)"
expect "$T/sds.out" "^fetch_td=spiffe://$TD$" "validation context by trust domain ID"
expect "$T/sds.out" "^fetch_trusted_ca=ok$" "trusted CA for Envoy 1.17 / metadata opt-out"
expect "$T/sds.out" '^fetch_all_old_envoy=Internal msg="unable to use \\"SPIFFE validator\\" on Envoy below 1.17"$' \
  "ALL for Envoy 1.17"
expect "$T/sds.out" "^fetch_unknown=InvalidArgument msg=\"workload is not authorized for the requested identities" \
  "unknown name"
expect "$T/sds.out" "^stream_push=1 after=ack .* rotated=true" "push after rotation (ACK)"
expect "$T/sds.out" "^stream_push=2 after=nack .* rotated=true" "push after rotation (NACK)"
expect "$T/sds.out" "^stream_names_changed " "answer to changed names"
expect "$T/sds.out" "^stream_unknown=InvalidArgument " "unknown name ends the stream"
expect "$T/sds.out" "^delta=Unimplemented msg=\"Method is not implemented\"$" "DeltaSecrets"
expect "$T/cvm-agent.log" "client rejected version" "the agent did not log the NACK"
expect "$T/cvm-agent.log" "sdsclient rejects this" "the agent did not log the NACK's error detail"
expect "$T/cvm-agent.log" "unexpected nonce" "the agent did not log the stale nonce"

step "sds { default_svid_name default_bundle_name default_all_bundles_name disable_spiffe_cert_validation }"
cvm_token
cvm_entry -spiffeID "$ID" -selector "unix:uid:$UID_NOW" -selector "unix:path:$BIN/sdsclient"
CVM_AGENT_EXTRA='  sds {
    default_svid_name = "svid"
    default_bundle_name = "bundle"
    default_all_bundles_name = "bundles"
    disable_spiffe_cert_validation = true
  }' start_cvm_agent cvm-agent2
retry 40 "$BIN/sdsclient" -socket "$CVM_ASOCK" -expect-id "$ID" -trust-domain "$TD" -options -svid-name svid \
  -bundle-name bundle -all-name bundles -timeout 10s || true
"$BIN/sdsclient" -socket "$CVM_ASOCK" -expect-id "$ID" -trust-domain "$TD" -options -svid-name svid \
  -bundle-name bundle -all-name bundles >"$T/sds-options.out" 2>&1 || fail "sdsclient -options: $(cat "$T/sds-options.out")"
cat "$T/sds-options.out"
expect "$T/sds-options.out" "^options_fetch=svid:$ID bundle:trusted_ca$" "renamed SVID + bundle, trusted CA"
expect "$T/sds-options.out" "^options_old_default_name=InvalidArgument " "\`default\` still answered after renaming"
expect "$T/sds-options.out" "^options_all=bundles validator=spiffe" "renamed ALL with the metadata opt-in"

echo "PASS"
