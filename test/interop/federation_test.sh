#!/usr/bin/env bash
# Federation between spire-cvm (example.org) and the real SPIRE v1.13.3 server (other.org), both directions over
# https_spiffe: each server serves its bundle on a SPIFFE bundle endpoint and fetches the other's, bootstrapped with
# `bundle set`; a workload of ours (spire-cvm agent) and a workload of SPIRE's (SPIRE agent), each with an entry that
# federates with the other domain, get the other domain's bundle from their agent (go-spiffe BundleSource,
# FetchX509Bundles, FetchJWTBundles) and complete mTLS with go-spiffe's spiffetls in both directions. Rotating SPIRE's
# CA (`localauthority x509 prepare`) reaches our workload through the bundle endpoint refresh (short refresh hints).
# SPIRE's `spire-server federation create|list|show|update|refresh|delete` against our admin socket, with an
# https_web relationship to a second spire-cvm server (web.org) whose bundle endpoint presents a certificate from a
# local CA (our server trusts it through SSL_CERT_FILE).
# Usage: federation_test.sh <build-dir>
set -euo pipefail
source "$(dirname "$0")/lib.sh"

need_peers go
need_cvm_binaries
SPIRE=$PEERS/bin/spire-server
BIN=$PEERS/bin
OTHER=other.org
CVM_FED_PORT=$(free_port)
SPIRE_FED_PORT=$(free_port)

# A local web CA and a certificate for localhost (the https_web endpoint of the web.org server).
openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -days 1 -subj "/CN=interop web CA" \
  -keyout "$T/web-ca.key" -out "$T/web-ca.pem" 2>/dev/null || fail "web CA"
openssl req -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -subj "/CN=localhost" \
  -keyout "$T/web.key" -out "$T/web.csr" 2>/dev/null || fail "web CSR"
printf 'subjectAltName=DNS:localhost\nextendedKeyUsage=serverAuth\n' >"$T/web.ext"
openssl x509 -req -in "$T/web.csr" -CA "$T/web-ca.pem" -CAkey "$T/web-ca.key" -CAcreateserial -days 1 \
  -extfile "$T/web.ext" -out "$T/web.pem" 2>/dev/null || fail "web certificate"

step "spire-cvm server (example.org): bundle endpoint https_spiffe, federates with other.org"
CVM_SERVER_EXTRA="
  federation {
    bundle_endpoint {
      address = \"127.0.0.1\"
      port = $CVM_FED_PORT
      refresh_hint = \"2s\"
    }
    federates_with \"$OTHER\" {
      bundle_endpoint_url = \"https://127.0.0.1:$SPIRE_FED_PORT\"
      bundle_endpoint_profile \"https_spiffe\" {
        endpoint_spiffe_id = \"spiffe://$OTHER/spire/server\"
      }
    }
  }"
SSL_CERT_FILE=$T/web-ca.pem start_cvm_server
expect "$T/cvm-server.log" "SPIFFE bundle endpoint \(https_spiffe\) on 127.0.0.1:$CVM_FED_PORT" "bundle endpoint not started"

step "SPIRE server (other.org): bundle endpoint, federates with example.org"
SPIRE_PORT=$(free_port)
SPIRE_SSOCK=$T/spire-server/api.sock
mkdir -p "$T/spire-server/data"
cat >"$T/spire-server.conf" <<CONF
server {
  bind_address = "127.0.0.1"
  bind_port = "$SPIRE_PORT"
  socket_path = "$SPIRE_SSOCK"
  trust_domain = "$OTHER"
  data_dir = "$T/spire-server/data"
  log_level = "DEBUG"
  default_x509_svid_ttl = "1h"
  federation {
    bundle_endpoint {
      address = "127.0.0.1"
      port = $SPIRE_FED_PORT
      refresh_hint = "2s"
      profile "https_spiffe" {}
    }
    federates_with "$TD" {
      bundle_endpoint_url = "https://127.0.0.1:$CVM_FED_PORT"
      bundle_endpoint_profile "https_spiffe" {
        endpoint_spiffe_id = "spiffe://$TD/spire/server"
      }
    }
  }
}
plugins {
  DataStore "sql" {
    plugin_data {
      database_type = "sqlite3"
      connection_string = "$T/spire-server/data/datastore.sqlite3"
    }
  }
  KeyManager "memory" {
    plugin_data {}
  }
  NodeAttestor "join_token" {
    plugin_data {}
  }
}
CONF
"$SPIRE" run -config "$T/spire-server.conf" >"$T/spire-server.log" 2>&1 &
PIDS+=($!)
LOGS+=("$T/spire-server.log")
retry 120 "$SPIRE" healthcheck -socketPath "$SPIRE_SSOCK" || fail "SPIRE server not healthy"
"$SPIRE" bundle show -socketPath "$SPIRE_SSOCK" >"$T/spire-bundle.pem" || fail "SPIRE bundle show"

step "bootstrap: each server is given the other's bundle (bundle set), then fetches it from the endpoint"
"$CVM_SERVER" bundle set -socketPath "$CVM_SSOCK" -id "spiffe://$OTHER" -path "$T/spire-bundle.pem" >/dev/null \
  || fail "our bundle set of other.org"
"$SPIRE" bundle set -socketPath "$SPIRE_SSOCK" -id "spiffe://$TD" -path "$T/cvm-bundle.pem" >/dev/null \
  || fail "SPIRE's bundle set of example.org"
# A bootstrap PEM has no JWT keys: a jwt-svid key in the stored bundle proves it came from the bundle endpoint.
has_jwt() { "$1" bundle list -socketPath "$2" -id "spiffe://$3" -format spiffe 2>&1 | grep -q '"use": "jwt-svid"'; }
retry 60 has_jwt "$CVM_SERVER" "$CVM_SSOCK" "$OTHER" || fail "our server did not fetch other.org's bundle"
# SPIRE's first fetch ran before it had our bundle; it retries slowly: ask it to fetch now (its RefreshBundle).
retry 20 "$SPIRE" federation refresh -socketPath "$SPIRE_SSOCK" -id "$TD" || fail "SPIRE's federation refresh of our endpoint"
retry 60 has_jwt "$SPIRE" "$SPIRE_SSOCK" "$TD" || fail "SPIRE did not fetch example.org's bundle from our endpoint"
expect "$T/cvm-server.log" "bundle of \"$OTHER\" updated" "our refresher logged no update"

step "agents and federating entries"
cvm_token
start_cvm_agent
"$CVM_SERVER" entry create -socketPath "$CVM_SSOCK" -parentID "$CVM_AGENT_ID" -spiffeID "spiffe://$TD/fed/ours" \
  -selector "unix:uid:$UID_NOW" -federatesWith "spiffe://$OTHER" >"$T/entry-ours.out" 2>&1 \
  || fail "our entry: $(cat "$T/entry-ours.out")"
SPIRE_TOKEN=$(new_token "$SPIRE" "$SPIRE_SSOCK")
[[ -n $SPIRE_TOKEN ]] || fail "SPIRE token generate"
TD_SAVED=$TD
TD=$OTHER start_spire_agent spire-agent "$SPIRE_PORT" "$T/spire-bundle.pem" "$SPIRE_TOKEN"
TD=$TD_SAVED
"$SPIRE" entry create -socketPath "$SPIRE_SSOCK" -parentID "spiffe://$OTHER/spire/agent/join_token/$SPIRE_TOKEN" \
  -spiffeID "spiffe://$OTHER/fed/theirs" -selector "unix:uid:$UID_NOW" -federatesWith "spiffe://$TD" \
  >"$T/entry-theirs.out" 2>&1 || fail "SPIRE entry: $(cat "$T/entry-theirs.out")"

step "our workload gets other.org's bundle from our agent (BundleSource, FetchX509Bundles, FetchJWTBundles)"
bundles_of() { "$BIN/bundles" -socket "$1" -trust-domain "$2" -timeout 5s; }
retry 60 bundles_of "$CVM_ASOCK" "$OTHER" || fail "our agent served no other.org bundle"
bundles_of "$CVM_ASOCK" "$OTHER" >"$T/ours-bundles.out" 2>&1 || fail "bundles: $(cat "$T/ours-bundles.out")"
cat "$T/ours-bundles.out"
expect "$T/ours-bundles.out" "^source $OTHER x509_roots=1 jwt_keys=[1-9]" "BundleSource: other.org through our agent"
expect "$T/ours-bundles.out" "^x509 $OTHER roots=1" "FetchX509Bundles: other.org through our agent"
expect "$T/ours-bundles.out" "^jwt $OTHER keys=[1-9]" "FetchJWTBundles: other.org through our agent"
retry 60 bundles_of "$SPIRE_ASOCK" "$TD" || fail "SPIRE's agent served no example.org bundle"
# Envoy SDS on our agent's socket: other.org's bundle as the validation context spiffe://other.org and inside ALL.
sds_fed() {  # sds_fed ROOTS
  "$BIN/sdsclient" -socket "$CVM_ASOCK" -expect-id "spiffe://$TD/fed/ours" -trust-domain "$TD" -federated "$OTHER" \
    -federated-roots "$1" -timeout 10s
}
sds_fed 1 >"$T/sds-fed.out" 2>&1 || fail "SDS federated bundle: $(cat "$T/sds-fed.out")"
cat "$T/sds-fed.out"
expect "$T/sds-fed.out" "^sds_federated=$OTHER roots=1 all_tds=2" "SDS: other.org through our agent"

step "mTLS: SPIRE's workload serves, ours connects (and the other way round)"
mtls() {  # mtls SERVER_SOCKET SERVER_ID CLIENT_SOCKET CLIENT_ID TAG
  "$BIN/mtls-server" -socket "$1" -allow "$4" -addr-file "$T/$5.addr" -timeout 30s >"$T/$5-server.out" 2>&1 &
  local pid=$!
  PIDS+=($pid)
  retry 60 test -s "$T/$5.addr" || fail "$5: mtls-server did not listen: $(cat "$T/$5-server.out")"
  "$BIN/mtls-client" -socket "$3" -addr "$(cat "$T/$5.addr")" -expect "$2" -timeout 30s >"$T/$5-client.out" 2>&1 \
    || fail "$5: mtls-client: $(cat "$T/$5-client.out")"
  wait "$pid" || fail "$5: mtls-server: $(cat "$T/$5-server.out")"
  cat "$T/$5-client.out" "$T/$5-server.out"
  expect "$T/$5-client.out" "^peer=$2$" "$5: client saw the wrong server"
  expect "$T/$5-client.out" "^reply=hello $4$" "$5: no reply over mTLS"
  expect "$T/$5-server.out" "^peer=$4$" "$5: server saw the wrong client"
}
mtls "$SPIRE_ASOCK" "spiffe://$OTHER/fed/theirs" "$CVM_ASOCK" "spiffe://$TD/fed/ours" spire-serves
mtls "$CVM_ASOCK" "spiffe://$TD/fed/ours" "$SPIRE_ASOCK" "spiffe://$OTHER/fed/theirs" cvm-serves

step "SPIRE's CA rotation (localauthority x509 prepare) reaches our workload through the bundle endpoint"
# SPIRE may also have rotated on its own by now (short CA TTL), so compare with SPIRE's own bundle, not a constant.
spire_roots() { "$SPIRE" bundle show -socketPath "$SPIRE_SSOCK" -format spiffe | grep -c '"use": "x509-svid"'; }
our_roots() { bundles_of "$CVM_ASOCK" "$OTHER" | sed -n "s/^x509 $OTHER roots=\([0-9]*\)$/\1/p"; }
BEFORE=$(spire_roots)
"$SPIRE" localauthority x509 prepare -socketPath "$SPIRE_SSOCK" >"$T/prepare.out" 2>&1 \
  || fail "SPIRE localauthority x509 prepare: $(cat "$T/prepare.out")"
(($(spire_roots) > BEFORE)) || fail "SPIRE's bundle did not grow with the prepared authority"
caught_up() { local ours theirs; ours=$(our_roots); theirs=$(spire_roots); [[ -n $ours && $ours == "$theirs" ]] && ((ours > BEFORE)); }
# SPIRE serves the refresh hint it is configured with (2s); ours follows it. Wait up to two and a half minutes.
retry 300 caught_up || fail "the prepared SPIRE authority did not reach our workload (ours: $(our_roots), SPIRE: $(spire_roots))"
sds_now() { sds_fed "$(spire_roots)"; }
retry 30 sds_now >/dev/null 2>&1 || fail "SDS: the prepared SPIRE authority did not reach spiffe://$OTHER"
"$SPIRE" localauthority x509 activate -socketPath "$SPIRE_SSOCK" \
  -authorityID "$(sed -n 's/^ *Authority ID: *//p' "$T/prepare.out" | head -1)" >"$T/activate.out" 2>&1 \
  || fail "SPIRE localauthority x509 activate: $(cat "$T/activate.out")"

step "SPIRE's federation CLI against our server: an https_web relationship to web.org (local CA)"
WEB_PORT=$(free_port)
WEB_FED_PORT=$(free_port)
mkdir -p "$T/web-server"
cat >"$T/web-server.conf" <<CONF
server {
  bind_address = "127.0.0.1"
  bind_port = $WEB_PORT
  socket_path = "$T/web-server/api.sock"
  trust_domain = "web.org"
  data_dir = "$T/web-server"
  federation {
    bundle_endpoint {
      address = "127.0.0.1"
      port = $WEB_FED_PORT
      profile "https_web" {
        serving_cert_file {
          cert_file_path = "$T/web.pem"
          key_file_path = "$T/web.key"
        }
      }
    }
  }
}
plugins {
  DataStore "sql" {
    plugin_data {
      database_type = "sqlite3"
      connection_string = "$T/web-server/datastore.sqlite3"
    }
  }
  KeyManager "memory" {
    plugin_data {}
  }
  NodeAttestor "join_token" {
    plugin_data {}
  }
}
CONF
"$CVM_SERVER" run -config "$T/web-server.conf" >"$T/web-server.log" 2>&1 &
PIDS+=($!)
LOGS+=("$T/web-server.log")
retry 60 "$CVM_SERVER" healthcheck -socketPath "$T/web-server/api.sock" || fail "web.org server not healthy"
S=(-socketPath "$CVM_SSOCK")
spire() { "$SPIRE" "$@" "${S[@]}" >"$T/out" 2>&1 || { cat "$T/out" >&2; fail "spire-server $*"; }; }
spire federation create -trustDomain web.org -bundleEndpointURL "https://localhost:$WEB_FED_PORT" \
  -bundleEndpointProfile https_web
expect "$T/out" "^Trust domain +: web.org$" "federation create output"
expect "$T/out" "^Bundle endpoint profile +: https_web$" "federation create profile"
spire federation list
expect "$T/out" "^Found 1 federation relationship$" "federation list count"
spire federation show -trustDomain web.org
expect "$T/out" "^Found a federation relationship with trust domain web.org:$" "federation show"
expect "$T/out" "^Bundle endpoint URL +: https://localhost:$WEB_FED_PORT$" "federation show URL"
spire federation refresh -id web.org
expect "$T/out" "^Bundle refreshed$" "federation refresh of web.org (https_web, local CA)"
"$CVM_SERVER" bundle list "${S[@]}" -id spiffe://web.org >"$T/web-bundle.pem" || fail "bundle list -id web.org"
"$CVM_SERVER" bundle show -socketPath "$T/web-server/api.sock" >"$T/web-own.pem" || fail "web.org bundle show"
cmp -s "$T/web-bundle.pem" "$T/web-own.pem" || fail "the fetched web.org bundle is not web.org's"
spire federation refresh -id "$OTHER"
expect "$T/out" "^Bundle refreshed$" "federation refresh of the configured other.org"
if "$SPIRE" federation refresh -id nobody.org "${S[@]}" >"$T/out" 2>&1; then fail "refresh of an unknown domain"; fi
expect "$T/out" "there is no federation relationship with trust domain \"nobody.org\"" "refresh of an unknown domain"
spire federation update -trustDomain web.org -bundleEndpointURL "https://localhost:$WEB_FED_PORT/bundle" \
  -bundleEndpointProfile https_web
expect "$T/out" "^Bundle endpoint URL +: https://localhost:$WEB_FED_PORT/bundle$" "federation update"
if "$SPIRE" federation create -trustDomain "$TD" -bundleEndpointURL https://localhost:1 -bundleEndpointProfile https_web \
  "${S[@]}" >"$T/out" 2>&1; then fail "a relationship with our own trust domain was created"; fi
expect "$T/out" "unable to create federation relationship for server trust domain" "own trust domain refused"
spire federation delete -id web.org
expect "$T/out" "^federation relationship deleted\.$" "federation delete"
spire federation list
expect "$T/out" "^Found 0 federation relationships$" "federation list after delete"

step "our CLI: federation verbs print what SPIRE's print"
"$CVM_SERVER" federation create "${S[@]}" -trustDomain web.org -bundleEndpointURL "https://localhost:$WEB_FED_PORT" \
  -bundleEndpointProfile https_web >"$T/ours.out" 2>&1 || fail "our federation create: $(cat "$T/ours.out")"
"$SPIRE" federation list "${S[@]}" >"$T/theirs-list.out" 2>&1 || fail "SPIRE federation list"
"$CVM_SERVER" federation list "${S[@]}" >"$T/ours-list.out" 2>&1 || fail "our federation list"
diff "$T/theirs-list.out" "$T/ours-list.out" || fail "federation list differs"
"$CVM_SERVER" federation refresh "${S[@]}" -id web.org >"$T/ours.out" 2>&1 || fail "our refresh: $(cat "$T/ours.out")"
expect "$T/ours.out" "^Bundle refreshed$" "our federation refresh"
"$CVM_SERVER" federation delete "${S[@]}" -id web.org >"$T/ours.out" 2>&1 || fail "our federation delete"
echo "PASS"
