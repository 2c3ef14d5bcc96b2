#!/usr/bin/env bash
# Interop: go-spiffe v2.9.0 (the reference Go SPIFFE library) against spire-cvm's agent Workload API.
# X509Source, JWTSource and BundleSource fetch; two workloads complete an mTLS handshake with spiffetls using
# only what our agent served; a JWT-SVID validates against the served JWT bundle; a watcher sees rotation.
# Also SPIRE v1.13.3's own `spire-agent api fetch x509|jwt`, `api validate jwt` and `healthcheck` against our agent.
# Usage: gospiffe_agent_test.sh <build-dir>
set -euo pipefail
source "$(dirname "$0")/lib.sh"

need_cvm_binaries
need_peers go
BIN=$PEERS/bin
for c in x509fetch jwtfetch bundles watch mtls-server mtls-client; do [[ -x $BIN/$c ]] || fail "missing $BIN/$c"; done

step "spire-cvm server + agent, one entry per client binary (selectors: uid and executable path)"
start_cvm_server
cvm_token
# Each client binary is its own workload: unix:path tells them apart, so each gets exactly one SVID.
for c in x509fetch jwtfetch bundles mtls-server mtls-client; do
  cvm_entry -spiffeID "spiffe://$TD/go/$c" -selector "unix:uid:$UID_NOW" -selector "unix:path:$BIN/$c"
done
cvm_entry -spiffeID "spiffe://$TD/go/watch" -selector "unix:uid:$UID_NOW" -selector "unix:path:$BIN/watch" \
  -x509SVIDTTL 30
cvm_entry -spiffeID "spiffe://$TD/spire-cli" -selector "unix:uid:$UID_NOW" -selector "unix:path:$BIN/spire-agent"
start_cvm_agent
S=(-socket "$CVM_ASOCK")

step "X509Source: SVID, chain, bundle; the SVID verifies against the served bundle"
retry 40 "$BIN/x509fetch" "${S[@]}" -timeout 5s || fail "x509fetch"
"$BIN/x509fetch" "${S[@]}" >"$T/x509.out" 2>&1 || fail "x509fetch: $(cat "$T/x509.out")"
cat "$T/x509.out"
expect "$T/x509.out" "^spiffe_id=spiffe://$TD/go/x509fetch$" "X509Source served the wrong SPIFFE ID"
expect "$T/x509.out" "^chain_length=[1-9]" "empty chain"
expect "$T/x509.out" "^bundle=$TD roots=[1-9]" "no roots in the served bundle"
expect "$T/x509.out" "^verified=spiffe://$TD/go/x509fetch$" "SVID did not verify"
# The served root is the one spire-cvm's server publishes (`spire-server bundle show`).
SERVER_ROOT=$(openssl x509 -in "$T/cvm-bundle.pem" -outform DER | sha256sum | cut -d' ' -f1)
expect "$T/x509.out" "^root_sha256=$SERVER_ROOT$" "the agent served a root the server does not publish"

step "JWTSource: JWT-SVID validates against the served JWT bundle, not for another audience"
"$BIN/jwtfetch" "${S[@]}" -audience interop-go >"$T/jwt.out" 2>&1 || fail "jwtfetch: $(cat "$T/jwt.out")"
cat "$T/jwt.out"
expect "$T/jwt.out" "^spiffe_id=spiffe://$TD/go/jwtfetch$" "JWT-SVID for the wrong SPIFFE ID"
expect "$T/jwt.out" "^audience=\[interop-go\]$" "JWT-SVID with the wrong audience"
expect "$T/jwt.out" "^jwt_bundle=$TD keys=[1-9]" "no JWT keys served"
expect "$T/jwt.out" "^validated=spiffe://$TD/go/jwtfetch$" "JWT-SVID did not validate"
expect "$T/jwt.out" "^other_audience=rejected$" "JWT-SVID validated for another audience"

step "BundleSource and the raw bundle fetches"
"$BIN/bundles" "${S[@]}" -trust-domain "$TD" >"$T/bundles.out" 2>&1 || fail "bundles: $(cat "$T/bundles.out")"
cat "$T/bundles.out"
expect "$T/bundles.out" "^source $TD x509_roots=[1-9][0-9]* jwt_keys=[1-9]" "BundleSource"
expect "$T/bundles.out" "^x509 $TD roots=[1-9]" "FetchX509Bundles"
expect "$T/bundles.out" "^jwt $TD keys=[1-9]" "FetchJWTBundles"

step "mTLS with spiffetls between two workloads, each with only what the agent served"
"$BIN/mtls-server" "${S[@]}" -allow "spiffe://$TD/go/mtls-client" -addr-file "$T/mtls.addr" \
  >"$T/mtls-server.out" 2>&1 &
MTLS_PID=$!
PIDS+=($MTLS_PID)
retry 60 test -s "$T/mtls.addr" || fail "mtls-server did not listen: $(cat "$T/mtls-server.out")"
"$BIN/mtls-client" "${S[@]}" -addr "$(cat "$T/mtls.addr")" -expect "spiffe://$TD/go/mtls-server" \
  >"$T/mtls-client.out" 2>&1 || fail "mtls-client: $(cat "$T/mtls-client.out")"
wait "$MTLS_PID" || fail "mtls-server: $(cat "$T/mtls-server.out")"
cat "$T/mtls-client.out" "$T/mtls-server.out"
expect "$T/mtls-client.out" "^self=spiffe://$TD/go/mtls-client$" "client identity"
expect "$T/mtls-client.out" "^peer=spiffe://$TD/go/mtls-server$" "client saw the wrong server"
expect "$T/mtls-client.out" "^reply=hello spiffe://$TD/go/mtls-client$" "no reply over mTLS"
expect "$T/mtls-server.out" "^peer=spiffe://$TD/go/mtls-client$" "server saw the wrong client"
expect "$T/mtls-server.out" "^received=ping from spiffe://$TD/go/mtls-client$" "server got no ping"

step "mTLS refused when the server expects another client ID"
"$BIN/mtls-server" "${S[@]}" -allow "spiffe://$TD/go/someone-else" -addr-file "$T/mtls2.addr" -timeout 20s \
  >"$T/mtls-server2.out" 2>&1 &
PIDS+=($!)
retry 60 test -s "$T/mtls2.addr" || fail "second mtls-server did not listen"
if "$BIN/mtls-client" "${S[@]}" -addr "$(cat "$T/mtls2.addr")" -expect "spiffe://$TD/go/mtls-server" -timeout 10s \
  >"$T/mtls-client2.out" 2>&1; then
  fail "an unauthorized client completed the exchange: $(cat "$T/mtls-client2.out")"
fi
echo "   refused: $(tail -1 "$T/mtls-client2.out")"

step "watcher sees the X509-SVID rotate (x509SVIDTTL 30s)"
"$BIN/watch" "${S[@]}" -rotations 1 -timeout 60s >"$T/watch.out" 2>&1 || fail "watch: $(cat "$T/watch.out")"
cat "$T/watch.out"
expect "$T/watch.out" "spiffe_id=spiffe://$TD/go/watch .* event=new$" "watcher got no first SVID"
expect "$T/watch.out" "spiffe_id=spiffe://$TD/go/watch .* event=rotated$" "watcher saw no rotation"
expect "$T/watch.out" "^rotations=1$" "rotation count"

step "SPIRE v1.13.3's spire-agent api verbs against our agent's Workload API"
SA=$BIN/spire-agent
"$SA" api fetch x509 -socketPath "$CVM_ASOCK" -write "$T/spire-cli" >"$T/sa-x509.out" 2>&1 \
  || fail "spire-agent api fetch x509: $(cat "$T/sa-x509.out")"
cat "$T/sa-x509.out"
expect "$T/sa-x509.out" "^Received 1 svid" "SPIRE's CLI did not receive exactly one SVID"
expect "$T/sa-x509.out" "^SPIFFE ID:[[:space:]]+spiffe://$TD/spire-cli$" "SPIRE's CLI saw the wrong SPIFFE ID"
openssl verify -CAfile "$T/spire-cli/bundle.0.pem" -untrusted "$T/spire-cli/svid.0.pem" "$T/spire-cli/svid.0.pem" \
  >/dev/null || fail "the SVID SPIRE's CLI wrote does not verify against the bundle it wrote"
"$SA" api fetch jwt -socketPath "$CVM_ASOCK" -audience spire-cli-aud >"$T/sa-jwt.out" 2>&1 \
  || fail "spire-agent api fetch jwt: $(cat "$T/sa-jwt.out")"
expect "$T/sa-jwt.out" "^token\\(spiffe://$TD/spire-cli\\):$" "SPIRE's CLI got no JWT-SVID for its ID"
expect "$T/sa-jwt.out" "^bundle\\(spiffe://$TD\\):$" "SPIRE's CLI got no JWT bundle"
TOKEN=$(awk '/^token\(/{getline; gsub(/\t/,""); print; exit}' "$T/sa-jwt.out")
"$SA" api validate jwt -socketPath "$CVM_ASOCK" -audience spire-cli-aud -svid "$TOKEN" >"$T/sa-val.out" 2>&1 \
  || fail "spire-agent api validate jwt: $(cat "$T/sa-val.out")"
cat "$T/sa-val.out"
expect "$T/sa-val.out" "^SVID is valid\.$" "SPIRE's CLI: JWT not valid"
expect "$T/sa-val.out" "^SPIFFE ID : spiffe://$TD/spire-cli$" "SPIRE's CLI: validated the wrong ID"
if "$SA" api validate jwt -socketPath "$CVM_ASOCK" -audience other -svid "$TOKEN" >/dev/null 2>&1; then
  fail "SPIRE's CLI validated the JWT for another audience"
fi
"$SA" healthcheck -socketPath "$CVM_ASOCK" >"$T/sa-hc.out" 2>&1 || fail "spire-agent healthcheck: $(cat "$T/sa-hc.out")"
expect "$T/sa-hc.out" "^Agent is healthy\.$" "SPIRE's spire-agent healthcheck against our agent"

echo "PASS"
