#!/usr/bin/env bash
# Interop: spire-cvm's agent admin socket (admin_socket_path) called with the spire-api-sdk clients SPIRE v1.13.3
# uses (test/interop/cmd/agentadmin): Debug/GetInfo, Logger get/set/reset, and DelegatedIdentity with SPIRE's
# authorization. The delegate is the agentadmin binary (unix:path selector, SPIFFE ID in authorized_delegates);
# a copy elsewhere has another ID (refused: not an authorized delegate), a third copy none (refused: no identity).
# Federation: the server holds a bundle of other.org (bundle set) and the workload's entry federates with it, so the
# agent holds that federated bundle: it is in both bundle streams and in the X509-SVID update's federates_with.
# Usage: agent_admin_test.sh <build-dir>
set -euo pipefail
source "$(dirname "$0")/lib.sh"

need_cvm_binaries
need_peers go
BIN=$PEERS/bin
AA=$BIN/agentadmin
[[ -x $AA ]] || fail "missing $AA"
SLEEP=$(readlink -f "$(command -v sleep)")

step "the admin socket may not be in the Workload API socket's directory (SPIRE's rule)"
cat >"$T/bad.conf" <<CONF
agent {
  data_dir = "$T/bad"
  server_address = "127.0.0.1"
  socket_path = "$T/bad/public/api.sock"
  admin_socket_path = "$T/bad/public/admin.sock"
  insecure_bootstrap = true
  trust_domain = "$TD"
}
plugins {
  NodeAttestor "join_token" {
    plugin_data {}
  }
}
CONF
if "$CVM_AGENT" validate -config "$T/bad.conf" >"$T/bad.out" 2>&1; then fail "admin socket beside the Workload API socket accepted"; fi
expect "$T/bad.out" "admin socket cannot be in the same directory or a subdirectory as that containing the Workload API socket" \
  "refusal does not say why"

step "spire-cvm server + agent with an admin socket; entries for the delegate, another caller, two workloads"
start_cvm_server
cvm_token
mkdir -p "$T/other" "$T/nobody"
cp "$AA" "$T/other/agentadmin"
cp "$AA" "$T/nobody/agentadmin"
cvm_entry -spiffeID "spiffe://$TD/delegate" -selector "unix:uid:$UID_NOW" -selector "unix:path:$AA"
cvm_entry -spiffeID "spiffe://$TD/not-delegate" -selector "unix:uid:$UID_NOW" -selector "unix:path:$T/other/agentadmin"
openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -days 1 -subj "/O=SPIFFE/CN=other.org" \
  -addext "subjectAltName=URI:spiffe://other.org" -addext "basicConstraints=critical,CA:TRUE" \
  -addext "keyUsage=critical,keyCertSign,cRLSign" -keyout "$T/other-ca.key" -out "$T/other-ca.pem" 2>/dev/null \
  || fail "other.org CA"
"$CVM_SERVER" bundle set -socketPath "$CVM_SSOCK" -id spiffe://other.org -path "$T/other-ca.pem" >"$T/bset.out" 2>&1 \
  || fail "bundle set of other.org: $(cat "$T/bset.out")"
OTHER_SHA=$(openssl x509 -in "$T/other-ca.pem" -outform DER | sha256sum | cut -d' ' -f1)
cvm_entry -spiffeID "spiffe://$TD/workload" -selector "unix:uid:4242" -selector "unix:gid:4242" -hint wl \
  -federatesWith spiffe://other.org
cvm_entry -spiffeID "spiffe://$TD/sleeper" -selector "unix:uid:$UID_NOW" -selector "unix:path:$SLEEP"
ADMIN=$T/cvm-agent/private/admin.sock
CVM_AGENT_EXTRA="  admin_socket_path = \"$ADMIN\"
  authorized_delegates = [\"spiffe://$TD/delegate\"]"
start_cvm_agent
A=(-socket "$ADMIN" -timeout 10s)
[[ $(stat -c %a "$ADMIN") == 770 ]] || fail "admin socket mode $(stat -c %a "$ADMIN"), want 770 (SPIRE's)"
[[ $(stat -c %a "$(dirname "$ADMIN")") == 750 ]] || fail "admin socket directory mode $(stat -c %a "$(dirname "$ADMIN")")"
"$BIN/spire-agent" healthcheck -socketPath "$ADMIN" >"$T/hc.out" 2>&1 || fail "health on the admin socket: $(cat "$T/hc.out")"

step "Debug/GetInfo: the agent SVID chain (agent ID, then the root), last sync"
retry 40 "$AA" "${A[@]}" debug >/dev/null || fail "debug GetInfo"
has_chain() { "$AA" "${A[@]}" debug >"$T/debug.out" 2>&1 && grep -q '^chain_length=2$' "$T/debug.out"; }
retry 40 has_chain || fail "GetInfo: no agent chain"
sleep 5 # GetInfo answers are kept 5 s (as SPIRE); the next one shows a sync
"$AA" "${A[@]}" debug >"$T/debug.out" 2>&1 || fail "debug: $(cat "$T/debug.out")"
cat "$T/debug.out"
expect "$T/debug.out" "^chain\.0 id=$CVM_AGENT_ID expires_at=[1-9]" "GetInfo: the first certificate is not the agent's"
expect "$T/debug.out" "^chain\.1 id=spiffe://$TD expires_at=[1-9][0-9]* subject=.*O=SPIFFE" "GetInfo: the root"
expect "$T/debug.out" "^last_sync_success=1[0-9]{9}$" "GetInfo: no successful sync time"

step "Logger: launch level DEBUG (the config), set WARN, get, reset"
"$AA" "${A[@]}" logger-get >"$T/lg.out" || fail "logger-get"
expect "$T/lg.out" "^current_level=DEBUG$" "GetLogger current level"
expect "$T/lg.out" "^launch_level=DEBUG$" "GetLogger launch level"
"$AA" "${A[@]}" logger-set warn >"$T/ls.out" || fail "logger-set"
expect "$T/ls.out" "^current_level=WARN$" "SetLogLevel"
"$AA" "${A[@]}" logger-get >"$T/lg2.out" || fail "logger-get"
expect "$T/lg2.out" "^current_level=WARN$" "level after SetLogLevel"
"$AA" "${A[@]}" logger-reset >"$T/lr.out" || fail "logger-reset"
expect "$T/lr.out" "^current_level=DEBUG$" "ResetLogLevel"

step "DelegatedIdentity: the delegate subscribes by selectors and receives the workload's X509-SVID"
# The agent fetches the federated bundle in the sync after the one that brought the entry: wait for both.
has_svid() {
  "$AA" "${A[@]}" x509 unix:uid:4242 unix:gid:4242 >"$T/x509.out" 2>&1 && grep -q '^svids=1$' "$T/x509.out" \
    && grep -q '^federates_with=spiffe://other.org$' "$T/x509.out"
}
retry 40 has_svid || fail "no X509-SVID federating with other.org by selectors: $(cat "$T/x509.out")"
cat "$T/x509.out"
expect "$T/x509.out" "^svid id=spiffe://$TD/workload uri_san=spiffe://$TD/workload key_matches=true expires_at_matches=true chain=1$" \
  "the delegated X509-SVID"
LEAF=$(sed -n 's/^leaf_sha256=//p' "$T/x509.out")
openssl x509 -in "$T/cvm-bundle.pem" -outform DER | sha256sum | cut -d' ' -f1 >"$T/root.sha"

step "DelegatedIdentity by PID: a running sleep process is attested by the agent"
"$SLEEP" 300 &
SLEEP_PID=$!
PIDS+=($SLEEP_PID)
has_pid_svid() { "$AA" "${A[@]}" -pid "$SLEEP_PID" x509 >"$T/pid.out" 2>&1 && grep -q '^svids=1$' "$T/pid.out"; }
retry 40 has_pid_svid || fail "no X509-SVID by PID: $(cat "$T/pid.out")"
expect "$T/pid.out" "^svid id=spiffe://$TD/sleeper uri_san=spiffe://$TD/sleeper key_matches=true" "SVID of the PID's workload"

step "DelegatedIdentity: bundles and JWT-SVIDs"
"$AA" "${A[@]}" x509-bundles >"$T/xb.out" 2>&1 || fail "x509-bundles: $(cat "$T/xb.out")"
cat "$T/xb.out"
expect "$T/xb.out" "^x509 spiffe://$TD root_sha256=$(cat "$T/root.sha")$" "X.509 bundle is not the server's root"
expect "$T/xb.out" "^x509 spiffe://other.org root_sha256=$OTHER_SHA$" "no federated X.509 bundle of other.org"
"$AA" "${A[@]}" jwt-bundles >"$T/jb.out" 2>&1 || fail "jwt-bundles: $(cat "$T/jb.out")"
expect "$T/jb.out" "^jwt spiffe://$TD jwks_has_keys=true$" "JWT bundle"
expect "$T/jb.out" "^jwt spiffe://other.org jwks_has_keys=true$" "no federated JWT bundle of other.org"
"$AA" "${A[@]}" -audience delegated-aud jwt unix:uid:4242 unix:gid:4242 >"$T/jwt.out" 2>&1 || fail "jwt: $(cat "$T/jwt.out")"
expect "$T/jwt.out" "^jwt id=spiffe://$TD/workload ttl_positive=true$" "JWT-SVID of the workload"
TOKEN=$(sed -n 's/^token=//p' "$T/jwt.out")
"$BIN/spire-agent" api validate jwt -socketPath "$CVM_ASOCK" -audience delegated-aud -svid "$TOKEN" >"$T/val.out" 2>&1 \
  || fail "the delegated JWT-SVID does not validate: $(cat "$T/val.out")"
expect "$T/val.out" "^SPIFFE ID : spiffe://$TD/workload$" "validated JWT-SVID subject"

step "refusals: not an authorized delegate, no identity, selectors and PID together, no audience"
refused() { # refused OUT CODE MESSAGE CMD...: CMD exits 2 printing the gRPC code and message
  local out=$1 code=$2 msg=$3 rc=0
  shift 3
  "$@" >"$out" 2>&1 || rc=$?
  [[ $rc == 2 ]] || fail "$* exited $rc, want a refusal: $(cat "$out")"
  expect "$out" "^error_code=$code$" "$* refused with the wrong code"
  expect "$out" "^error=$msg$" "$* refused with the wrong message"
}
refused "$T/r1.out" PermissionDenied "caller not configured as an authorized delegate" \
  "$T/other/agentadmin" "${A[@]}" x509 unix:uid:4242 unix:gid:4242
refused "$T/r2.out" PermissionDenied "caller not configured as an authorized delegate" \
  "$T/other/agentadmin" "${A[@]}" -audience a jwt unix:uid:4242
refused "$T/r3.out" PermissionDenied "no identity issued" "$T/nobody/agentadmin" "${A[@]}" x509-bundles
refused "$T/r4.out" InvalidArgument "must provide either selectors or non-zero pid, but not both" \
  "$AA" "${A[@]}" -pid "$SLEEP_PID" x509 unix:uid:4242
refused "$T/r5.out" InvalidArgument "audience must be specified" "$AA" "${A[@]}" jwt unix:uid:4242
[[ -n $LEAF ]] || fail "no leaf fingerprint"

echo "PASS"
