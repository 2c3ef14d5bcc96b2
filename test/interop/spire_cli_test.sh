#!/usr/bin/env bash
# SPIRE v1.13.3's own `spire-server` CLI manages spire-cvm's server through its admin socket (-socketPath):
# healthcheck, token generate (with a node alias), entry create|show|update|count|delete (selectors, DNS names,
# TTLs, hint kept), agent list|show|count|ban|evict after one of our agents attests with a SPIRE-made join token,
# bundle show|count|list|set|delete with entries that federate (-federatesWith refused without the bundle, kept and
# filtered with it, bundle delete restricted then deleting the entry), x509 mint, jwt mint. Each step checks content: IDs,
# selectors, TTLs, the bundle and minted SVIDs against our CA, not only exit codes.
# Usage: spire_cli_test.sh <build-dir>
set -euo pipefail
source "$(dirname "$0")/lib.sh"

need_peers go
need_cvm_binaries
SPIRE=$PEERS/bin/spire-server

start_cvm_server
S=(-socketPath "$CVM_SSOCK")
# spire CMD...: SPIRE's CLI against our socket; output in $T/out, fails the test on a non-zero exit.
spire() { "$SPIRE" "$@" "${S[@]}" >"$T/out" 2>&1 || { cat "$T/out" >&2; fail "spire-server $*"; }; }
# json EXPR: a Python expression over `d`, the JSON SPIRE's CLI printed in $T/out.
json() { python3 -c "import json,sys; d=json.load(open(sys.argv[1])); print($1)" "$T/out"; }
is() { [[ $1 == "$2" ]] || fail "$3: got '$1', want '$2'"; }

step "healthcheck"
spire healthcheck
expect "$T/out" "^Server is healthy\.$" "SPIRE's healthcheck output"

step "bundle show / count / list: our CA"
spire bundle show
cp "$T/out" "$T/spire-bundle.pem"
expect "$T/spire-bundle.pem" "BEGIN CERTIFICATE" "bundle show printed no certificate"
cmp -s <(openssl x509 -in "$T/spire-bundle.pem" -noout -fingerprint) <(openssl x509 -in "$T/cvm-bundle.pem" -noout -fingerprint) \
  || fail "SPIRE's bundle show differs from our CLI's"
spire bundle show -output json
is "$(json 'd["trust_domain"]')" "$TD" "bundle trust domain"
is "$(json 'len(d["jwt_authorities"]) > 0 and int(d["sequence_number"]) > 0')" "True" "bundle JWT authorities / sequence"
spire bundle count
expect "$T/out" "^1 bundle" "bundle count (our own bundle)"
spire bundle list
[[ ! -s $T/out ]] || expect "$T/out" "^$" "bundle list: no federated bundles"

step "token generate (with a node alias), then our agent attests with it"
spire token generate -ttl 600 -spiffeID "spiffe://$TD/node/one"
CVM_TOKEN=$(sed -n 's/^Token: //p' "$T/out")
[[ $CVM_TOKEN =~ ^[0-9a-f-]{36}$ ]] || fail "token generate printed no token: $(cat "$T/out")"
CVM_AGENT_ID=spiffe://$TD/spire/agent/join_token/$CVM_TOKEN
spire entry show -spiffeID "spiffe://$TD/node/one" -output json
is "$(json 'd["entries"][0]["parent_id"]["path"]')" "/spire/agent/join_token/$CVM_TOKEN" "node alias parent"
is "$(json 'd["entries"][0]["selectors"][0]["type"] + ":" + d["entries"][0]["selectors"][0]["value"]')" \
  "spiffe_id:$CVM_AGENT_ID" "node alias selector"
start_cvm_agent

step "agent list / count / show"
retry 20 bash -c "\"$SPIRE\" agent count ${S[*]} | grep -q '^1 attested agent'" || fail "agent count after attestation"
spire agent list -output json
is "$(json 'd["agents"][0]["id"]["path"]')" "/spire/agent/join_token/$CVM_TOKEN" "listed agent"
is "$(json 'd["agents"][0]["attestation_type"]')" "join_token" "agent attestation type"
spire agent show -spiffeID "$CVM_AGENT_ID"
expect "$T/out" "SPIFFE ID +: $CVM_AGENT_ID" "agent show"
spire agent list -attestationType aws_iid
expect "$T/out" "^No attested agents found" "agent list filtered by another attestation type"

step "entry create: selectors, DNS names, TTLs, hint"
spire entry create -parentID "$CVM_AGENT_ID" -spiffeID "spiffe://$TD/web" -selector "unix:uid:1000" \
  -selector "unix:gid:1000" -dns web.example.org -dns www.example.org -x509SVIDTTL 120 -jwtSVIDTTL 60 -hint web-hint \
  -output json
is "$(json 'd["results"][0]["status"]["code"]')" "0" "create status"
WEB_ID=$(json 'd["results"][0]["entry"]["id"]')
spire entry create -parentID "$CVM_AGENT_ID" -spiffeID "spiffe://$TD/db" -selector "unix:uid:2000"
expect "$T/out" "SPIFFE ID +: spiffe://$TD/db" "entry create (text) output"
"$SPIRE" entry create "${S[@]}" -parentID "$CVM_AGENT_ID" -spiffeID "spiffe://$TD/fed" -selector "unix:uid:3" \
  -federatesWith "spiffe://other.org" >"$T/out" 2>&1 && fail "entry create -federatesWith succeeded without the bundle"
expect "$T/out" 'unable to find federated bundle .*spiffe://other.org' "federatesWith without the bundle, as SPIRE"
"$SPIRE" entry create "${S[@]}" -parentID "$CVM_AGENT_ID" -spiffeID "spiffe://$TD/db" -selector "unix:uid:2000" \
  >"$T/out" 2>&1 && fail "duplicate entry create succeeded"
expect "$T/out" "AlreadyExists" "duplicate entry refused with AlreadyExists"

step "entry show: by ID, SPIFFE ID, parent, selectors"
spire entry show -entryID "$WEB_ID" -output json
is "$(json 'd["entries"][0]["spiffe_id"]["path"]')" "/web" "entry show by id"
is "$(json 'sorted(s["type"]+":"+s["value"] for s in d["entries"][0]["selectors"])')" \
  "['unix:gid:1000', 'unix:uid:1000']" "selectors kept"
is "$(json 'd["entries"][0]["dns_names"]')" "['web.example.org', 'www.example.org']" "DNS names kept in order"
is "$(json 'd["entries"][0]["x509_svid_ttl"], d["entries"][0]["jwt_svid_ttl"]')" "120 60" "TTLs kept"
is "$(json 'd["entries"][0]["hint"]')" "web-hint" "hint kept"
spire entry show -parentID "$CVM_AGENT_ID" -output json
is "$(json 'sorted(e["spiffe_id"]["path"] for e in d["entries"])')" "['/db', '/node/one', '/web']" "entry show by parent (the node alias too)"
spire entry show -selector unix:uid:1000 -output json
is "$(json '[e["spiffe_id"]["path"] for e in d["entries"]]')" "['/web']" "entry show by selector (superset)"
spire entry show -selector unix:uid:1000 -selector unix:uid:2000 -matchSelectorsOn any -output json
is "$(json 'sorted(e["spiffe_id"]["path"] for e in d["entries"])')" "['/db', '/web']" "entry show, any selector"
spire entry show -selector unix:uid:1000 -matchSelectorsOn exact -output json
is "$(json 'len(d["entries"])')" "0" "entry show, exact selectors"
spire entry show -spiffeID "spiffe://$TD/web"
expect "$T/out" "Entry ID +: $WEB_ID" "entry show (text) entry ID"
expect "$T/out" "X509-SVID TTL +: 120" "entry show (text) TTL"
expect "$T/out" "DNS name +: web.example.org" "entry show (text) DNS name"

step "entry count / update / delete"
spire entry count
expect "$T/out" "^3 registration entries" "entry count (node alias, web, db)"
spire entry update -entryID "$WEB_ID" -parentID "$CVM_AGENT_ID" -spiffeID "spiffe://$TD/web2" \
  -selector "unix:uid:1001" -x509SVIDTTL 300 -output json
is "$(json 'd["results"][0]["status"]["code"]')" "0" "update status"
spire entry show -entryID "$WEB_ID" -output json
is "$(json 'd["entries"][0]["spiffe_id"]["path"], d["entries"][0]["x509_svid_ttl"]')" "/web2 300" "updated entry"
is "$(json '[s["value"] for s in d["entries"][0]["selectors"]]')" "['uid:1001']" "updated selectors"
is "$(json 'int(d["entries"][0]["revision_number"])')" "1" "revision number bumped"
spire entry delete -entryID "$WEB_ID"
expect "$T/out" "Deleted entry with ID: $WEB_ID" "entry delete output"
"$SPIRE" entry show "${S[@]}" -entryID "$WEB_ID" >"$T/out" 2>&1 && fail "deleted entry still shown"
expect "$T/out" "NotFound" "deleted entry: NotFound"
spire entry count
expect "$T/out" "^2 registration entries" "entry count after delete"

step "federation: bundle set / list / count, entry -federatesWith, bundle delete restrict / delete"
openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -keyout "$T/other.key" -out "$T/other.pem" \
  -subj "/CN=other.org CA" -days 1 -addext "basicConstraints=critical,CA:TRUE" \
  -addext "keyUsage=critical,keyCertSign,cRLSign" -addext "subjectAltName=URI:spiffe://other.org" >/dev/null 2>&1 \
  || fail "openssl could not make other.org's CA"
spire bundle set -id spiffe://other.org -path "$T/other.pem"
spire bundle count
expect "$T/out" "^2 bundle" "bundle count (ours and other.org)"
spire bundle list -id spiffe://other.org
cmp -s <(openssl x509 -in "$T/out" -noout -fingerprint) <(openssl x509 -in "$T/other.pem" -noout -fingerprint) \
  || fail "bundle list -id shows another certificate than the one set"
spire entry create -parentID "$CVM_AGENT_ID" -spiffeID "spiffe://$TD/fed" -selector "unix:uid:3" \
  -federatesWith "spiffe://other.org" -output json
is "$(json 'd["results"][0]["status"]["code"], d["results"][0]["entry"]["federates_with"]')" "0 ['other.org']" \
  "entry create -federatesWith"
FED_ID=$(json 'd["results"][0]["entry"]["id"]')
spire entry show -federatesWith spiffe://other.org -output json
is "$(json '[e["id"] for e in d["entries"]]')" "['$FED_ID']" "entry show -federatesWith"
"$SPIRE" bundle delete "${S[@]}" -id spiffe://other.org >"$T/out" 2>&1 && fail "bundle delete (restrict) succeeded"
expect "$T/out" "cannot delete bundle; federated with 1 registration entries" "restricted bundle delete"
spire bundle delete -id spiffe://other.org -mode delete
expect "$T/out" "bundle deleted" "bundle delete -mode delete"
"$SPIRE" entry show "${S[@]}" -entryID "$FED_ID" >"$T/out" 2>&1 && fail "the federating entry outlived its bundle"
spire bundle count
expect "$T/out" "^1 bundle" "bundle count after delete"

step "x509 mint: the SVID chains to our CA"
mkdir -p "$T/mint"
spire x509 mint -spiffeID "spiffe://$TD/minted" -dns minted.example.org -ttl 10m -write "$T/mint"
openssl verify -CAfile "$T/cvm-bundle.pem" "$T/mint/svid.pem" >"$T/verify.out" 2>&1 || fail "minted SVID does not verify against our CA: $(cat "$T/verify.out")"
openssl x509 -in "$T/mint/svid.pem" -noout -ext subjectAltName >"$T/san.out"
expect "$T/san.out" "URI:spiffe://$TD/minted" "minted SVID URI SAN"
expect "$T/san.out" "DNS:minted.example.org" "minted SVID DNS SAN"
cmp -s "$T/mint/bundle.pem" "$T/spire-bundle.pem" || fail "x509 mint wrote another bundle"
NOT_AFTER=$(date -d "$(openssl x509 -in "$T/mint/svid.pem" -noout -enddate | cut -d= -f2)" +%s)
(( NOT_AFTER - $(date +%s) <= 600 && NOT_AFTER - $(date +%s) > 500 )) || fail "minted SVID TTL is not 10m"

step "jwt mint: a token for the ID and audience, signed by a key in our bundle"
spire jwt mint -spiffeID "spiffe://$TD/minted" -audience db -audience cache -ttl 2m
TOKEN=$(grep -E '^ey' "$T/out" | head -1)
[[ -n $TOKEN ]] || fail "jwt mint printed no token: $(cat "$T/out")"
python3 - "$TOKEN" "$TD" >"$T/jwt.out" <<'PY' || fail "JWT-SVID claims: $(cat "$T/jwt.out")"
import base64, json, sys, time
tok, td = sys.argv[1], sys.argv[2]
seg = lambda s: json.loads(base64.urlsafe_b64decode(s + "=" * (-len(s) % 4)))
h, c = seg(tok.split(".")[0]), seg(tok.split(".")[1])
assert c["sub"] == f"spiffe://{td}/minted", c
assert sorted(c["aud"]) == ["cache", "db"], c
assert 60 < c["exp"] - time.time() <= 120, c
print("kid", h["kid"])
PY
KID=$(sed -n 's/^kid //p' "$T/jwt.out")
spire bundle show -output json
is "$(json "any(k['key_id'] == '$KID' for k in d['jwt_authorities'])")" "True" "JWT signed by a key in our bundle"

step "agent ban / evict"
spire agent ban -spiffeID "$CVM_AGENT_ID"
expect "$T/out" "Agent banned successfully" "agent ban output"
spire agent list -banned true -output json
is "$(json 'd["agents"][0]["banned"]')" "True" "banned agent listed as banned"
spire agent evict -spiffeID "$CVM_AGENT_ID"
expect "$T/out" "Agent evicted successfully" "agent evict output"
spire agent count
expect "$T/out" "^0 attested agents" "agent count after evict"

step "our own CLI still works beside SPIRE's services"
"$CVM_SERVER" entry count -socketPath "$CVM_SSOCK" >"$T/out" 2>&1 || fail "our entry count"
grep -q 2 "$T/out" || fail "our CLI's entry count: $(cat "$T/out")"
echo "PASS"
