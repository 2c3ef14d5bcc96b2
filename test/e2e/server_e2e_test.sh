#!/usr/bin/env bash
# End-to-end for the server alone, as a new user meets it: the real spire-server binary on SQLite,
# token generate, entry create/show/update/count/delete, bundle show (pem, spiffe), x509 mint verified by
# `openssl verify`, jwt mint validated by an independent JOSE library (PyJWT) against the SPIFFE bundle,
# a restart that brings back the same bundle, entries and CA, and bad input refused with exit code 1.
# Usage: server_e2e_test.sh <build-dir>
set -euo pipefail

BUILD=$(cd "${1:?usage: $0 <build-dir>}" && pwd)
SERVER_BIN=$BUILD/src/cli/server/spire-server
[[ -x $SERVER_BIN ]] || { echo "FAIL: $SERVER_BIN not built"; exit 1; }

T=$(mktemp -d /tmp/server-e2e.XXXXXX)
SERVER_PID=""
cleanup() {
  [[ -n $SERVER_PID ]] && kill "$SERVER_PID" 2>/dev/null && wait "$SERVER_PID" 2>/dev/null || true
  rm -rf "$T"
}
trap cleanup EXIT
fail() { echo "FAIL: $*" >&2; echo "--- server log" >&2; tail -30 "$T/server.log" >&2 || true; exit 1; }
step() { echo "== $*"; }
retry() { local n=$1; shift; for ((i = 0; i < n; i++)); do if "$@" >/dev/null 2>&1; then return 0; fi; sleep 0.3; done; "$@"; }

PORT=$(/usr/bin/python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])')
SOCK=$T/private/api.sock
HPORT=$(/usr/bin/python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])')
MPORT=$(/usr/bin/python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])')
S() { "$SERVER_BIN" "$@"; }

cat > "$T/server.conf" <<CONF
server {
  bind_address = "127.0.0.1"
  bind_port = "$PORT"
  socket_path = "$SOCK"
  trust_domain = "example.org"
  data_dir = "$T/data"
  log_level = "DEBUG"
  ca_ttl = "24h"
}
plugins {
  DataStore "sql" {
    plugin_data {
      database_type = "sqlite3"
      connection_string = "$T/data/datastore.sqlite3"
    }
  }
  KeyManager "disk" {
    plugin_data { keys_path = "$T/data/keys.json" }
  }
  NodeAttestor "join_token" {
    plugin_data {}
  }
}
health_checks {
  listener_enabled = true
  bind_address = "127.0.0.1"
  bind_port = "$HPORT"
}
telemetry {
  Prometheus {
    host = "127.0.0.1"
    port = $MPORT
  }
}
CONF

start_server() {
  "$SERVER_BIN" run -config "$T/server.conf" >>"$T/server.log" 2>&1 &
  SERVER_PID=$!
  retry 100 S healthcheck -socketPath "$SOCK" || fail "server did not become healthy"
}
stop_server() { kill "$SERVER_PID"; wait "$SERVER_PID" || fail "server exited with an error on SIGTERM"; SERVER_PID=""; }

step "validate and start"
S validate -config "$T/server.conf" | grep -q "is valid" || fail "validate"
start_server
[[ $(stat -c %a "$SOCK") == 770 ]] || fail "admin socket mode is $(stat -c %a "$SOCK"), want 770"
[[ $(stat -c %a "$(dirname "$SOCK")") == 750 ]] || fail "admin socket directory mode is not 750"
[[ $(stat -c %a "$T/data/keys.json") == 600 ]] || fail "keys.json is not 0600"

step "health (/live, /ready) and Prometheus /metrics"
curl -fsS "http://127.0.0.1:$HPORT/live" | grep -q '"live":true' || fail "/live"
curl -fsS "http://127.0.0.1:$HPORT/ready" | grep -q '"ready":true' || fail "/ready"
curl -fsS "http://127.0.0.1:$MPORT/metrics" | grep -q '^spire_server_registration_entries 0$' || fail "/metrics"

step "token generate, entry create / show -output json / update / count"
TOKEN=$(S token generate -socketPath "$SOCK" -spiffeID spiffe://example.org/host -ttl 600 | sed -n 's/^Token: //p')
[[ -n $TOKEN ]] || fail "no token"
OUT=$(S entry create -socketPath "$SOCK" -parentID spiffe://example.org/host -spiffeID spiffe://example.org/web \
      -selector unix:uid:1000 --selector=unix:gid:1000 -x509SVIDTTL 600 -dns web.example.org)
ENTRY_ID=$(echo "$OUT" | sed -n 's/^Entry ID *: //p')
[[ -n $ENTRY_ID ]] || fail "entry create printed no ID: $OUT"
S entry show -socketPath "$SOCK" -output json > "$T/entries.json"
/usr/bin/python3 - "$T/entries.json" "$ENTRY_ID" <<'PY' || fail "entry show -output json"
import json, sys
doc = json.load(open(sys.argv[1]))
e = [e for e in doc["entries"] if e["id"] == sys.argv[2]][0]
# SPIRE's shape: IDs as {trust_domain, path}, int64 as strings, every field present.
assert e["spiffe_id"] == {"trust_domain": "example.org", "path": "/web"}, e
assert e["parent_id"] == {"trust_domain": "example.org", "path": "/host"}, e
assert e["revision_number"] == "0" and e["federates_with"] == [] and e["store_svid"] is False, e
assert {(s["type"], s["value"]) for s in e["selectors"]} == {("unix", "uid:1000"), ("unix", "gid:1000")}, e
assert e["x509_svid_ttl"] == 600 and e["dns_names"] == ["web.example.org"], e
PY
S entry update -socketPath "$SOCK" -entryID "$ENTRY_ID" -parentID spiffe://example.org/host \
  -spiffeID spiffe://example.org/web -selector unix:uid:1001 | grep -q "Revision *: 1" || fail "entry update"
[[ $(S entry count -socketPath "$SOCK") == "2 registration entries" ]] || fail "entry count"
S entry show -socketPath "$SOCK" -selector unix:uid:1001 | grep -q "Found 1 entry" || fail "entry show -selector"

step "bundle show (pem and spiffe)"
S bundle show -socketPath "$SOCK" > "$T/bundle.pem"
openssl x509 -in "$T/bundle.pem" -noout -ext basicConstraints | grep -q "CA:TRUE" || fail "bundle is not a CA"
S bundle show -socketPath "$SOCK" -format spiffe > "$T/bundle.jwks"

step "x509 mint passes openssl verify and the X509-SVID profile"
S x509 mint -socketPath "$SOCK" -spiffeID spiffe://example.org/minted -ttl 5m -write "$T/mint" >/dev/null
openssl verify -CAfile "$T/mint/bundle.pem" "$T/mint/svid.pem" >/dev/null || fail "openssl verify"
openssl verify -x509_strict -purpose sslclient -CAfile "$T/mint/bundle.pem" "$T/mint/svid.pem" >/dev/null || fail "openssl verify -x509_strict"
openssl x509 -in "$T/mint/svid.pem" -noout -ext subjectAltName | grep -q "URI:spiffe://example.org/minted" || fail "URI SAN"
[[ $(stat -c %a "$T/mint/key.pem") == 600 ]] || fail "key.pem is not 0600"

step "jwt mint validates with PyJWT against the SPIFFE bundle"
JWT=$(S jwt mint -socketPath "$SOCK" -spiffeID spiffe://example.org/minted -audience aud1 -audience aud2)
/usr/bin/python3 - "$T/bundle.jwks" "$JWT" <<'PY' || fail "PyJWT validation"
import json, sys
try:
    import jwt
except ImportError:
    print("python3-jwt missing"); sys.exit(1)
keys = [k for k in json.load(open(sys.argv[1]))["keys"] if k["use"] == "jwt-svid"]
tok = sys.argv[2]
kid = jwt.get_unverified_header(tok)["kid"]
key = jwt.PyJWK([k for k in keys if k["kid"] == kid][0]).key
claims = jwt.decode(tok, key, algorithms=["ES256", "ES384", "RS256"], audience="aud1")
assert claims["sub"] == "spiffe://example.org/minted", claims
try:
    jwt.decode(tok, key, algorithms=["ES256", "ES384", "RS256"], audience="other")
    sys.exit("accepted a wrong audience")
except jwt.InvalidAudienceError:
    pass
PY

curl -fsS "http://127.0.0.1:$MPORT/metrics" | grep -q '^spire_server_server_ca_sign_x509_svid 1$' || fail "/metrics does not count the minted SVID"
curl -fsS "http://127.0.0.1:$MPORT/metrics" | grep -q '^spire_server_server_ca_sign_jwt_svid 1$' || fail "/metrics does not count the minted JWT"

step "bad input is refused with exit code 1 and a reason"
expect_fail() {
  local want=$1; shift
  local out rc=0
  out=$("$@" 2>&1) || rc=$?
  [[ $rc == 1 ]] || fail "'$*' exited $rc, want 1: $out"
  grep -qi -- "$want" <<<"$out" || fail "'$*' did not say '$want': $out"
}
expect_fail "flag provided but not defined" S entry create -socketPath "$SOCK" -spifeID spiffe://example.org/x
expect_fail "a SPIFFE ID is required" S entry create -socketPath "$SOCK" -parentID spiffe://example.org/host -selector a:b
expect_fail "scheme" S entry create -socketPath "$SOCK" -parentID spiffe://example.org/host -spiffeID http://example.org/x -selector a:b
expect_fail "trust domain" S entry create -socketPath "$SOCK" -parentID spiffe://example.org/host -spiffeID spiffe://other.org/x -selector a:b
expect_fail "segment" S entry create -socketPath "$SOCK" -parentID spiffe://example.org/host -spiffeID spiffe://example.org/a/../b -selector a:b
expect_fail "type:value" S entry create -socketPath "$SOCK" -parentID spiffe://example.org/host -spiffeID spiffe://example.org/x -selector nocolon
expect_fail "not found" S agent show -socketPath "$SOCK" -spiffeID spiffe://example.org/spire/agent/join_token/nope
expect_fail "flag needs an argument" S token generate -socketPath "$SOCK" -ttl
[[ $(S entry count -socketPath "$SOCK") == "2 registration entries" ]] || fail "a refused command wrote something"
printf 'server {\n  trust_domain = "example.org"\n  bind_prot = 1\n}\n' > "$T/bad.conf"
expect_fail "bind_prot" S validate -config "$T/bad.conf"
expect_fail "bind_prot" S run -config "$T/bad.conf"
printf 'server {\n  trust_domain = "example.org"\n  ca_ttl = "a day"\n}\nplugins {}\n' > "$T/bad2.conf"
expect_fail "ca_ttl" S validate -config "$T/bad2.conf"
printf 'server {\n  trust_domain = "Example.Org"\n}\nplugins {}\n' > "$T/bad3.conf"
expect_fail "trust_domain" S validate -config "$T/bad3.conf"

step "restart: the same bundle, entries and CA come back"
BEFORE_BUNDLE=$(S bundle show -socketPath "$SOCK")
BEFORE_ENTRIES=$(S entry show -socketPath "$SOCK" -output json)
stop_server
start_server
[[ $(S bundle show -socketPath "$SOCK") == "$BEFORE_BUNDLE" ]] || fail "bundle changed across a restart"
[[ $(S entry show -socketPath "$SOCK" -output json) == "$BEFORE_ENTRIES" ]] || fail "entries changed across a restart"
S x509 mint -socketPath "$SOCK" -spiffeID spiffe://example.org/after -write "$T/mint2" >/dev/null
openssl verify -CAfile "$T/bundle.pem" "$T/mint2/svid.pem" >/dev/null || fail "the CA changed across a restart"

step "kill -9 loses nothing acknowledged"
S entry create -socketPath "$SOCK" -parentID spiffe://example.org/host -spiffeID spiffe://example.org/durable -selector k:v >/dev/null
kill -9 "$SERVER_PID"; wait "$SERVER_PID" 2>/dev/null || true; SERVER_PID=""
start_server
S entry show -socketPath "$SOCK" -spiffeID spiffe://example.org/durable | grep -q "Found 1 entry" || fail "acknowledged entry lost on kill -9"

step "entry delete"
S entry delete -socketPath "$SOCK" -entryID "$ENTRY_ID" | grep -q "Deleted" || fail "entry delete"
expect_fail "not found" S entry delete -socketPath "$SOCK" -entryID "$ENTRY_ID"
echo "PASS"
