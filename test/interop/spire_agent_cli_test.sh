#!/usr/bin/env bash
# Interop: SPIRE v1.13.3's own `spire-agent` CLI against spire-cvm's agent Workload API. The CLI binary is the
# workload: two entries match it (unix:path), one with a 30 s X509-SVID TTL so `api watch` sees a rotation.
# Checks `api fetch x509` (-write: files, key = certificate, chain verifies; -output json), bare `api fetch`,
# `api fetch jwt` (-audience lists, -spiffeID, JSON), `api validate jwt`, `api watch` and `healthcheck`.
# Usage: spire_agent_cli_test.sh <build-dir>
set -euo pipefail
source "$(dirname "$0")/lib.sh"

need_cvm_binaries
need_peers go
SA=$PEERS/bin/spire-agent
[[ -x $SA ]] || fail "missing $SA"
ID1=spiffe://$TD/cli/one
ID2=spiffe://$TD/cli/two

step "spire-cvm server + agent; two entries for SPIRE's spire-agent binary"
start_cvm_server
cvm_token
cvm_entry -spiffeID "$ID1" -selector "unix:uid:$UID_NOW" -selector "unix:path:$SA" -hint first -x509SVIDTTL 30
cvm_entry -spiffeID "$ID2" -selector "unix:uid:$UID_NOW" -selector "unix:path:$SA"
start_cvm_agent
S=(-socketPath "$CVM_ASOCK")
two_svids() { "$SA" api fetch x509 "${S[@]}" >"$T/fetch.out" 2>&1 && grep -q '^Received 2 svids after' "$T/fetch.out"; }
retry 40 two_svids || fail "SPIRE's CLI did not get 2 SVIDs: $(cat "$T/fetch.out")"

step "api fetch x509 -write: two SVIDs, their keys and bundles, written and consistent"
mkdir -p "$T/out"
"$SA" api fetch x509 "${S[@]}" -write "$T/out" >"$T/x509.out" 2>&1 || fail "api fetch x509 -write: $(cat "$T/x509.out")"
cat "$T/x509.out"
expect "$T/x509.out" "^Received 2 svids after" "SVID count"
expect "$T/x509.out" "^SPIFFE ID:[[:space:]]+$ID1$" "first SVID's ID"
expect "$T/x509.out" "^SPIFFE ID:[[:space:]]+$ID2$" "second SVID's ID"
expect "$T/x509.out" "^Hint:[[:space:]]+first$" "the entry's hint"
expect "$T/x509.out" "^Writing SVID #1 to file $T/out/svid.1.pem" "written files announced"
SERVER_ROOT=$(openssl x509 -in "$T/cvm-bundle.pem" -outform DER | sha256sum | cut -d' ' -f1)
SEEN=""
for i in 0 1; do
  for f in svid.$i.pem svid.$i.key bundle.$i.pem; do [[ -s $T/out/$f ]] || fail "SPIRE's CLI wrote no $f"; done
  CERT_PUB=$(openssl x509 -in "$T/out/svid.$i.pem" -noout -pubkey | openssl pkey -pubin -outform DER | sha256sum)
  KEY_PUB=$(openssl pkey -in "$T/out/svid.$i.key" -pubout -outform DER | sha256sum)
  [[ $CERT_PUB == "$KEY_PUB" ]] || fail "svid.$i.key is not the key of svid.$i.pem"
  openssl verify -CAfile "$T/out/bundle.$i.pem" -untrusted "$T/out/svid.$i.pem" "$T/out/svid.$i.pem" >/dev/null \
    || fail "svid.$i.pem does not verify against bundle.$i.pem"
  ROOT=$(openssl x509 -in "$T/out/bundle.$i.pem" -outform DER | sha256sum | cut -d' ' -f1)
  [[ $ROOT == "$SERVER_ROOT" ]] || fail "bundle.$i.pem is not the root our server publishes"
  SEEN+=$(openssl x509 -in "$T/out/svid.$i.pem" -noout -ext subjectAltName | grep -o 'spiffe://[^, ]*')" "
done
[[ $SEEN == *"$ID1 "* && $SEEN == *"$ID2 "* ]] || fail "written SVIDs carry $SEEN, want $ID1 and $ID2"

step "api fetch x509 -output json, and bare api fetch (x509)"
"$SA" api fetch x509 "${S[@]}" -output json >"$T/x509.json" 2>&1 || fail "api fetch x509 -output json"
python3 - "$T/x509.json" "$ID1" "$ID2" <<'PY' || fail "JSON output: $(head -c 600 "$T/x509.json")"
import json, sys
doc = json.load(open(sys.argv[1]))
svids = doc["svids"] if isinstance(doc, dict) else doc[0]["svids"]
ids = sorted(s["spiffe_id"] for s in svids)
assert ids == sorted(sys.argv[2:]), ids
assert all(s["x509_svid"] and s["x509_svid_key"] and s["bundle"] for s in svids)
PY
"$SA" api fetch "${S[@]}" >"$T/bare.out" 2>&1 || fail "api fetch: $(cat "$T/bare.out")"
expect "$T/bare.out" "^Received 2 svids after" "bare api fetch"

step "api fetch jwt: audiences, -spiffeID, JSON; api validate jwt"
"$SA" api fetch jwt "${S[@]}" -audience aud-a,aud-b -spiffeID "$ID2" >"$T/jwt.out" 2>&1 \
  || fail "api fetch jwt: $(cat "$T/jwt.out")"
cat "$T/jwt.out"
expect "$T/jwt.out" "^token\\($ID2\\):$" "JWT-SVID for -spiffeID"
if grep -q "^token($ID1)" "$T/jwt.out"; then fail "-spiffeID $ID2 also returned $ID1"; fi
expect "$T/jwt.out" "^bundle\\(spiffe://$TD\\):$" "JWT bundle"
TOKEN=$(awk '/^token\(/{getline; gsub(/\t/,""); print; exit}' "$T/jwt.out")
python3 - "$TOKEN" "$ID2" <<'PY' || fail "JWT claims"
import base64, json, sys
p = sys.argv[1].split(".")[1]
claims = json.loads(base64.urlsafe_b64decode(p + "=" * (-len(p) % 4)))
assert claims["sub"] == sys.argv[2], claims
assert sorted(claims["aud"]) == ["aud-a", "aud-b"], claims
assert claims["exp"] > claims["iat"], claims
PY
"$SA" api fetch jwt "${S[@]}" -audience aud-a -output json >"$T/jwt.json" 2>&1 || fail "api fetch jwt -output json"
python3 - "$T/jwt.json" "$ID1" "$ID2" <<'PY' || fail "JWT JSON output: $(head -c 600 "$T/jwt.json")"
import json, sys
docs = json.load(open(sys.argv[1]))
svids = [s for d in docs if "svids" in d for s in d["svids"]]
assert sorted(s["spiffe_id"] for s in svids) == sorted(sys.argv[2:]), svids
assert any("bundles" in d and "spiffe://example.org" in d["bundles"] for d in docs), docs
PY
"$SA" api validate jwt "${S[@]}" -audience aud-b -svid "$TOKEN" >"$T/val.out" 2>&1 || fail "validate: $(cat "$T/val.out")"
expect "$T/val.out" "^SVID is valid\.$" "validate jwt"
expect "$T/val.out" "^SPIFFE ID : $ID2$" "validated ID"
if "$SA" api validate jwt "${S[@]}" -audience aud-c -svid "$TOKEN" >"$T/val2.out" 2>&1; then
  fail "validated for an audience it was not issued to"
fi
expect "$T/val2.out" "^SVID is not valid: .*audience" "refusal for another audience"

step "api watch: the first update, then a rotation of the 30 s SVID"
"$SA" api watch "${S[@]}" >"$T/watch.out" 2>&1 &
WATCH_PID=$!
PIDS+=($WATCH_PID)
rotated() { [[ $(grep -c '^Received 2 svids after' "$T/watch.out") -ge 2 ]]; }
for _ in $(seq 1 90); do rotated && break; sleep 1; done
kill "$WATCH_PID" 2>/dev/null || true
cat "$T/watch.out"
rotated || fail "api watch saw no second update within 90 s"
# The ID1 SVID's validity start changed between the first and a later update.
python3 - "$T/watch.out" "$ID1" <<'PY' || fail "api watch: no new SVID for $ID1"
import sys
lines = open(sys.argv[1]).read().splitlines()
starts = [lines[i + 1 + (lines[i + 1].startswith("Hint:"))] for i, l in enumerate(lines)
          if l.startswith("SPIFFE ID:") and l.split()[-1] == sys.argv[2]]
assert len(set(starts)) >= 2, starts
PY

step "healthcheck (and -verbose); an absent socket is unhealthy"
"$SA" healthcheck "${S[@]}" >"$T/hc.out" 2>&1 || fail "healthcheck: $(cat "$T/hc.out")"
expect "$T/hc.out" "^Agent is healthy\.$" "healthcheck"
"$SA" healthcheck "${S[@]}" -verbose >"$T/hcv.out" 2>&1 || fail "healthcheck -verbose"
expect "$T/hcv.out" "^Checking agent health\.\.\.$" "healthcheck -verbose"
if "$SA" healthcheck -socketPath "$T/nothing.sock" >"$T/hcn.out" 2>&1; then fail "healthy without an agent"; fi
expect "$T/hcn.out" "Agent is unhealthy" "healthcheck against no agent"

echo "PASS"
