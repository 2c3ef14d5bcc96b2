#!/usr/bin/env bash
# End-to-end, KeyManager "aws_kms" against a real AWS API emulator: moto_server (PyPI moto[server], installed into
# the interop peers' venv by scripts/build-peers.sh), through test/aws/moto_kms_server.py (moto 5.2.5's Sign ignores
# MessageType=DIGEST; the wrapper signs digests as KMS does). The server reaches it through AWS_ENDPOINT_URL.
#   1. the server creates its X.509 CA and JWT keys in KMS, under alias/SPIRE_SERVER/example_org/<server id>/...;
#      a join_token agent attests, a workload gets an X509-SVID whose chain verifies to the bundle, and a JWT-SVID
#      that validates (both signed through KMS Sign);
#   2. restarted, the server finds its keys again: the same bundle (CA certificates and JWT keys), no CreateKey;
#      the agent keeps getting SVIDs;
#   3. forced rotation (localauthority x509 prepare/activate) creates a new key behind a new alias;
#   4. nothing private of the CA is on disk: no private key under data_dir matches any CA or JWT public key of the
#      bundle (the only private key there is the server's own TLS SVID key, server_svid.key).
# Usage: kms_moto_e2e_test.sh <build-dir>. Exit 77 (skip) when moto is not installable.
set -euo pipefail

BUILD=$(cd "${1:?usage: $0 <build-dir>}" && pwd)
SRC=$(cd "$(dirname "$0")/../.." && pwd)
SERVER_BIN=$BUILD/src/cli/server/spire-server
AGENT_BIN=$BUILD/src/cli/agent/spire-agent
for b in "$SERVER_BIN" "$AGENT_BIN"; do
  [[ -x $b ]] || { echo "SKIP: $b not built"; exit 77; }
done
PEERS=$("$SRC/scripts/build-peers.sh" python 2>/dev/null) || { echo "SKIP: moto (PyPI) is not available"; exit 77; }
PY=$PEERS/venv/bin/python
"$PY" -c 'import moto.server, boto3' 2>/dev/null || { echo "SKIP: moto[server] is not installed in $PEERS/venv"; exit 77; }

source "$SRC/test/lib/common.sh"
harness_init kms-moto-e2e

TD=example.org
REGION=us-east-1
SSOCK=$T/server/api.sock
ASOCK=$T/agent/api.sock
PORT=$(free_port)
UID_NOW=$(id -u)

step "moto_server (KMS Sign over digests as KMS does)"
MOTO_PORT=$(free_port)
MOTO=http://127.0.0.1:$MOTO_PORT
"$PY" "$SRC/test/aws/moto_kms_server.py" "$MOTO_PORT" >"$T/moto.log" 2>&1 &
PIDS+=($!)
moto_up() { curl -sf "$MOTO/moto-api/" >/dev/null; }
retry 120 moto_up || fail "moto_server did not start"
# kms <python expression over the boto3 client `k`>: prints the result as JSON.
kms() {
  AWS_ACCESS_KEY_ID=testing AWS_SECRET_ACCESS_KEY=testing "$PY" -c "
import boto3, json, sys
k = boto3.client('kms', region_name='$REGION', endpoint_url='$MOTO')
print(json.dumps($1, default=str))"
}
spire_aliases() { kms "sorted(a['AliasName'] for a in k.list_aliases(Limit=100)['Aliases'] if a['AliasName'].startswith('alias/SPIRE_SERVER/'))"; }
key_count() { kms "len(k.list_keys(Limit=1000)['Keys'])"; }

cat >"$T/server.conf" <<CONF
server {
  bind_address = "127.0.0.1"
  bind_port = $PORT
  socket_path = "$SSOCK"
  trust_domain = "$TD"
  data_dir = "$T/server"
  log_level = "DEBUG"
  default_x509_svid_ttl = "1h"
}
plugins {
  DataStore "sql" {
    plugin_data {
      database_type = "sqlite3"
      connection_string = "$T/server/datastore.sqlite3"
    }
  }
  KeyManager "aws_kms" {
    plugin_data {
      region = "$REGION"
      access_key_id = "testing"
      secret_access_key = "testing"
      key_identifier_file = "$T/server/kms_server_id"
    }
  }
  NodeAttestor "join_token" {
    plugin_data {}
  }
}
CONF
"$SERVER_BIN" validate -config "$T/server.conf" >"$T/validate.log" 2>&1 || fail "server config invalid"

start_server() {  # start_server <log>
  AWS_ENDPOINT_URL=$MOTO "$SERVER_BIN" run -config "$T/server.conf" >"$T/$1" 2>&1 &
  SERVER_PID=$!
  PIDS+=($SERVER_PID)
  retry 120 "$SERVER_BIN" healthcheck -socketPath "$SSOCK" || fail "server not healthy ($1)"
}

step "start the server: its CA and JWT keys are created in KMS"
mkdir -p "$T/server"
start_server server.log
"$SERVER_BIN" bundle show -socketPath "$SSOCK" >"$T/bootstrap.pem" || fail "bundle show"
"$SERVER_BIN" bundle show -socketPath "$SSOCK" -format spiffe >"$T/bundle1.json" || fail "bundle show spiffe"
SERVER_ID=$(cat "$T/server/kms_server_id")
[[ $SERVER_ID =~ ^[0-9a-f-]{36}$ ]] || fail "key_identifier_file holds no UUID: $SERVER_ID"
ALIASES=$(spire_aliases)
for k in x509-CA-A JWT-Signer-A; do
  grep -q "alias/SPIRE_SERVER/example_org/$SERVER_ID/$k" <<<"$ALIASES" || fail "no KMS alias for $k: $ALIASES"
done
KEYS_BEFORE=$(key_count)
echo "server id $SERVER_ID, $KEYS_BEFORE KMS keys, aliases $ALIASES"
# The CA certificate's public key is the KMS key's.
CA_KEY_ID=$(kms "k.describe_key(KeyId='alias/SPIRE_SERVER/example_org/$SERVER_ID/x509-CA-A')['KeyMetadata']['KeyId']" | tr -d '"')
kms "__import__('base64').b64encode(k.get_public_key(KeyId='$CA_KEY_ID')['PublicKey']).decode()" | tr -d '"' |
  base64 -d >"$T/kms_ca_pub.der"
openssl x509 -in "$T/bootstrap.pem" -noout -pubkey | openssl pkey -pubin -outform DER >"$T/bundle_ca_pub.der"
cmp -s "$T/kms_ca_pub.der" "$T/bundle_ca_pub.der" || fail "the bundle's CA key is not the KMS key"

step "an agent attests; a workload gets an X509-SVID and a JWT-SVID signed through KMS"
TOKEN=$("$SERVER_BIN" token generate -socketPath "$SSOCK" -ttl 600 | sed -n 's/^Token: //p')
[[ -n $TOKEN ]] || fail "no join token"
AGENT_ID=spiffe://$TD/spire/agent/join_token/$TOKEN
WID=spiffe://$TD/workload
"$SERVER_BIN" entry create -socketPath "$SSOCK" -parentID "$AGENT_ID" -spiffeID "$WID" -selector "unix:uid:$UID_NOW" \
  >/dev/null || fail "entry create"
mkdir -p -m 755 "$T/agent"
cat >"$T/agent.conf" <<CONF
agent {
  data_dir = "$T/agent/data"
  log_level = "DEBUG"
  server_address = "127.0.0.1"
  server_port = $PORT
  socket_path = "$ASOCK"
  trust_bundle_path = "$T/bootstrap.pem"
  trust_domain = "$TD"
  join_token = "$TOKEN"
  experimental {
    sync_interval = "1s"
  }
}
plugins {
  NodeAttestor "join_token" {
    plugin_data {}
  }
  KeyManager "memory" {
    plugin_data {}
  }
  WorkloadAttestor "unix" {
    plugin_data {}
  }
}
CONF
"$AGENT_BIN" run -config "$T/agent.conf" >"$T/agent.log" 2>&1 &
PIDS+=($!)
retry 120 "$AGENT_BIN" api fetch x509 -socketPath "$ASOCK" -write "$T/svid" || fail "api fetch x509"
openssl x509 -in "$T/svid/svid.0.pem" -noout -ext subjectAltName | grep -q "URI:$WID" || fail "wrong SPIFFE ID"
openssl verify -CAfile "$T/bootstrap.pem" "$T/svid/svid.0.pem" >"$T/verify.out" 2>&1 ||
  fail "SVID does not verify to the bundle: $(cat "$T/verify.out")"
JWT=$("$AGENT_BIN" api fetch jwt -socketPath "$ASOCK" -audience kms-e2e | awk '/^token\(/{getline; gsub(/\t/,""); print; exit}')
[[ -n $JWT ]] || fail "no JWT-SVID"
"$AGENT_BIN" api validate jwt -socketPath "$ASOCK" -audience kms-e2e -svid "$JWT" | grep -q "SPIFFE ID : $WID" ||
  fail "JWT-SVID does not validate"

step "restart the server: it finds its keys in KMS again (same bundle, no new key)"
kill "$SERVER_PID"
wait "$SERVER_PID" 2>/dev/null || true
start_server server2.log
"$SERVER_BIN" bundle show -socketPath "$SSOCK" -format spiffe >"$T/bundle2.json" || fail "bundle show after restart"
same_bundle() {
  "$PY" - "$T/bundle1.json" "$T/bundle2.json" <<'PYEOF'
import json, sys
a, b = (json.load(open(p)) for p in sys.argv[1:3])
keys = lambda d: sorted(json.dumps(k, sort_keys=True) for k in d["keys"])
sys.exit(0 if keys(a) == keys(b) else 1)
PYEOF
}
same_bundle || fail "the bundle changed across the restart: $(diff "$T/bundle1.json" "$T/bundle2.json")"
[[ $(key_count) == "$KEYS_BEFORE" ]] || fail "the restarted server created KMS keys ($(key_count) != $KEYS_BEFORE)"
grep -q "2 key(s) of server $SERVER_ID found in KMS" "$T/server2.log" || fail "no log of the keys found again"
rm -rf "$T/svid2"
retry 120 "$AGENT_BIN" api fetch x509 -socketPath "$ASOCK" -write "$T/svid2" || fail "fetch after restart"
openssl verify -CAfile "$T/bootstrap.pem" "$T/svid2/svid.0.pem" >/dev/null 2>&1 || fail "SVID after restart does not verify"

step "forced rotation: a new X.509 CA key in KMS behind its own alias"
"$SERVER_BIN" localauthority x509 prepare -socketPath "$SSOCK" >"$T/prepare.out" 2>&1 ||
  fail "localauthority x509 prepare: $(cat "$T/prepare.out")"
grep -q "alias/SPIRE_SERVER/example_org/$SERVER_ID/x509-CA-B" <<<"$(spire_aliases)" || fail "no alias for x509-CA-B"
[[ $(key_count) -gt $KEYS_BEFORE ]] || fail "prepare created no KMS key"

step "nothing private of the CA on disk"
"$SERVER_BIN" bundle show -socketPath "$SSOCK" -format spiffe >"$T/bundle3.json"
"$PY" - "$T/server" "$T/bundle3.json" >"$T/private.out" 2>&1 <<'PYEOF' || fail "$(cat "$T/private.out")"
import base64, json, os, re, sys
from cryptography.hazmat.primitives import serialization
from cryptography import x509
data_dir, bundle = sys.argv[1], json.load(open(sys.argv[2]))
def spki(k):
    return k.public_bytes(serialization.Encoding.DER, serialization.PublicFormat.SubjectPublicKeyInfo)
authority = set()
for k in bundle["keys"]:
    if "x5c" in k:
        authority.add(spki(x509.load_der_x509_certificate(base64.b64decode(k["x5c"][0])).public_key()))
    else:
        from cryptography.hazmat.primitives.asymmetric import ec
        crv = {"P-256": ec.SECP256R1(), "P-384": ec.SECP384R1()}[k["crv"]]
        pad = lambda s: base64.urlsafe_b64decode(s + "=" * (-len(s) % 4))
        nums = ec.EllipticCurvePublicNumbers(int.from_bytes(pad(k["x"]), "big"), int.from_bytes(pad(k["y"]), "big"), crv)
        authority.add(spki(nums.public_key()))
assert len(authority) >= 3, f"expected CA and JWT keys in the bundle, got {len(authority)}"
found = []
pem = re.compile(rb"-----BEGIN ([A-Z ]*)PRIVATE KEY-----.*?-----END \1PRIVATE KEY-----", re.S)
for root, _, files in os.walk(data_dir):
    for f in files:
        path = os.path.join(root, f)
        if not os.path.isfile(path):  # sockets
            continue
        blob = open(path, "rb").read().replace(b"\\n", b"\n")
        for m in pem.finditer(blob):
            key = serialization.load_pem_private_key(m.group(0), None)
            found.append(os.path.relpath(path, data_dir))
            if spki(key.public_key()) in authority:
                sys.exit(f"{path} holds the private key of a CA or JWT authority")
if sorted(set(found)) != ["server_svid.key"]:
    sys.exit(f"private keys under data_dir: {found}")
print("only server_svid.key (the server's own TLS key) holds a private key")
PYEOF
cat "$T/private.out"
[[ ! -e $T/server/keys.json ]] || fail "a keys file was written"

echo "PASS"
