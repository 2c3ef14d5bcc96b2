#!/usr/bin/env bash
# End-to-end: the real spire-server and spire-agent binaries, join_token attestation, the Workload API through
# the agent CLI and through an independent Python client, kill -9 + restart without re-attestation, rotation
# pushed to a watcher, entry deletion.
# Usage: agent_e2e_test.sh <build-dir>
set -euo pipefail

BUILD=$(cd "${1:?usage: $0 <build-dir>}" && pwd)
SRC=$(cd "$(dirname "$0")/../.." && pwd)
SERVER_BIN=$BUILD/src/cli/server/spire-server
AGENT_BIN=$BUILD/src/cli/agent/spire-agent
CLIENT="/usr/bin/python3 $SRC/test/e2e/workload_client.py"
for b in "$SERVER_BIN" "$AGENT_BIN"; do
  [[ -x $b ]] || { echo "SKIP: $b not built"; exit 77; }
done

T=$(mktemp -d /tmp/agent-e2e.XXXXXX)
chmod 755 "$T"
SERVER_PID=""; AGENT_PID=""; WATCH_PID=""
cleanup() {
  for p in $WATCH_PID $AGENT_PID $SERVER_PID; do kill "$p" 2>/dev/null || true; done
  for p in $WATCH_PID $AGENT_PID $SERVER_PID; do wait "$p" 2>/dev/null || true; done
  if [[ ${KEEP:-0} != 1 ]]; then rm -rf "$T"; else echo "kept $T"; fi
}
trap cleanup EXIT
fail() {
  echo "FAIL: $*" >&2
  echo "--- server log" >&2; tail -40 "$T/server.log" >&2 || true
  echo "--- agent log" >&2; tail -60 "$T/agent.log" >&2 || true
  exit 1
}
step() { echo "== $*"; }
# retry N CMD...: run CMD every 0.5s until it succeeds, at most N times.
retry() { local n=$1; shift; for ((i = 0; i < n; i++)); do if "$@" >/dev/null 2>&1; then return 0; fi; sleep 0.5; done; "$@"; }

PORT=$(/usr/bin/python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])')
TD=example.org
SSOCK=$T/server/api.sock
ASOCK=$T/agent/public/api.sock
UID_NOW=$(id -u)
export WORKLOAD_CLIENT_GEN_DIR=$T/pygen

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
  KeyManager "memory" {
    plugin_data {}
  }
  NodeAttestor "join_token" {
    plugin_data {}
  }
}
CONF

step "start server on 127.0.0.1:$PORT"
mkdir -p "$T/server"
"$SERVER_BIN" run -config "$T/server.conf" >"$T/server.log" 2>&1 &
SERVER_PID=$!
retry 60 "$SERVER_BIN" healthcheck -socketPath "$SSOCK" || fail "server not healthy"
"$SERVER_BIN" bundle show -socketPath "$SSOCK" >"$T/bootstrap.pem" || fail "bundle show"
grep -q "BEGIN CERTIFICATE" "$T/bootstrap.pem" || fail "bundle show printed no certificate"

TOKEN=$("$SERVER_BIN" token generate -socketPath "$SSOCK" -ttl 600 | sed -n 's/^Token: //p')
[[ -n $TOKEN ]] || fail "no join token"
AGENT_ID=spiffe://$TD/spire/agent/join_token/$TOKEN
WID=spiffe://$TD/workload
"$SERVER_BIN" entry create -socketPath "$SSOCK" -entryID e2e-main -parentID "$AGENT_ID" -spiffeID "$WID" \
  -selector "unix:uid:$UID_NOW" -x509SVIDTTL 30 >/dev/null || fail "entry create"

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
  KeyManager "disk" {
    plugin_data {
      directory = "$T/agent/data"
    }
  }
  WorkloadAttestor "unix" {
    plugin_data {}
  }
}
CONF

step "validate agent config"
"$AGENT_BIN" validate -config "$T/agent.conf" | grep -q "is valid" || fail "validate"
if "$AGENT_BIN" api fetch x509 -socketPth x >/dev/null 2>"$T/badflag.err"; then fail "mistyped flag accepted"; fi
grep -q "flag provided but not defined" "$T/badflag.err" || fail "mistyped flag: no usage error"

step "start agent"
mkdir -p -m 755 "$T/agent"
"$AGENT_BIN" run -config "$T/agent.conf" >"$T/agent.log" 2>&1 &
AGENT_PID=$!
retry 60 "$AGENT_BIN" healthcheck -socketPath "$ASOCK" || fail "agent not healthy"
for f in agent_svid.pem agent_svid.key bundle.json; do
  retry 40 test -f "$T/agent/data/$f" || fail "missing $T/agent/data/$f"
  [[ $(stat -c %a "$T/agent/data/$f") == 600 ]] || fail "$f is not 0600"
done
grep -q "node attestation succeeded: agent ID $AGENT_ID" "$T/agent.log" || fail "no attestation log line"

step "api fetch x509 -write, openssl verify"
retry 40 "$AGENT_BIN" api fetch x509 -socketPath "$ASOCK" -write "$T/svid" || fail "api fetch x509"
for f in svid.0.pem svid.0.key bundle.0.pem; do [[ -s $T/svid/$f ]] || fail "missing $f"; done
openssl verify -CAfile "$T/svid/bundle.0.pem" -untrusted "$T/svid/svid.0.pem" "$T/svid/svid.0.pem" \
  || fail "openssl verify"
openssl x509 -in "$T/svid/svid.0.pem" -noout -ext subjectAltName | grep -q "URI:$WID" || fail "wrong SPIFFE ID"
# the key matches the certificate
[[ $(openssl x509 -in "$T/svid/svid.0.pem" -noout -pubkey | openssl sha256) == \
   $(openssl pkey -in "$T/svid/svid.0.key" -pubout | openssl sha256) ]] || fail "key does not match SVID"
"$AGENT_BIN" api fetch x509 -socketPath "$ASOCK" -output json | /usr/bin/python3 -c \
  'import json,sys; d=json.load(sys.stdin); assert d["svids"][0]["spiffe_id"]=="'"$WID"'"' || fail "json output"

step "JWT-SVID: validates for its audience, not for another"
JWT=$("$AGENT_BIN" api fetch jwt -socketPath "$ASOCK" -audience aud-e2e | awk '/^token\(/{getline; gsub(/\t/,""); print; exit}')
[[ -n $JWT ]] || fail "no JWT-SVID"
"$AGENT_BIN" api validate jwt -socketPath "$ASOCK" -audience aud-e2e -svid "$JWT" | grep -q "SPIFFE ID : $WID" \
  || fail "JWT does not validate for its audience"
if "$AGENT_BIN" api validate jwt -socketPath "$ASOCK" -audience other -svid "$JWT" >/dev/null 2>&1; then
  fail "JWT validated for another audience"
fi

step "independent Python client"
$CLIENT x509 --socket "$ASOCK" --write "$T/py" | grep -q "\"spiffe_id\": \"$WID\"" || fail "python x509"
$CLIENT x509 --socket "$ASOCK" --no-header --expect-code INVALID_ARGUMENT >/dev/null || fail "no header must be InvalidArgument"
$CLIENT bundles --socket "$ASOCK" | grep -q "spiffe://$TD" || fail "python bundles"
PYJWT=$($CLIENT jwt --socket "$ASOCK" --audience py-aud | /usr/bin/python3 -c 'import json,sys; print(json.load(sys.stdin)["svids"][0]["svid"])') \
  || fail "python jwt"
$CLIENT validate --socket "$ASOCK" --audience py-aud --svid "$PYJWT" | grep -q "$WID" || fail "python validate"
$CLIENT validate --socket "$ASOCK" --audience nope --svid "$PYJWT" --expect-code INVALID_ARGUMENT >/dev/null \
  || fail "python validate for another audience must fail"
if [[ $UID_NOW == 0 ]] && command -v setpriv >/dev/null; then
  chmod -R a+rX "$T/pygen"
  setpriv --reuid 65534 --regid 65534 --clear-groups $CLIENT x509 --socket "$ASOCK" --expect-code PERMISSION_DENIED \
    >/dev/null || fail "caller with no entry must get PermissionDenied"
  echo "   (uid 65534 got PermissionDenied)"
else
  echo "   (not root: PermissionDenied for another uid is checked after the entry is deleted)"
fi

step "kill -9 the agent and restart: no new attestation"
kill -9 "$AGENT_PID"; wait "$AGENT_PID" 2>/dev/null || true
"$AGENT_BIN" run -config "$T/agent.conf" >"$T/agent2.log" 2>&1 &
AGENT_PID=$!
retry 60 "$AGENT_BIN" api fetch x509 -socketPath "$ASOCK" -write "$T/svid2" || { cp "$T/agent2.log" "$T/agent.log"; fail "fetch after restart"; }
grep -q "reusing agent SVID" "$T/agent2.log" || { cp "$T/agent2.log" "$T/agent.log"; fail "agent did not reuse its SVID"; }
if grep -q "node attestation succeeded" "$T/agent2.log"; then cp "$T/agent2.log" "$T/agent.log"; fail "agent attested again"; fi
cat "$T/agent2.log" >>"$T/agent.log"

step "watcher: entry added, deleted, SVID rotated before expiry (TTL 30s)"
$CLIENT watch --socket "$ASOCK" --count 1000 --timeout 90 >"$T/watch.log" 2>&1 &
WATCH_PID=$!
retry 40 test -s "$T/watch.log" || fail "watcher got no first message"
FIRST_LEAF=$(head -1 "$T/watch.log" | /usr/bin/python3 -c 'import json,sys; d=json.loads(sys.stdin.readline()); print([s["leaf_sha256"] for s in d["svids"] if s["spiffe_id"]=="'"$WID"'"][0])')
START=$(date +%s)
"$SERVER_BIN" entry create -socketPath "$SSOCK" -entryID e2e-second -parentID "$AGENT_ID" -spiffeID "$WID-2" \
  -selector "unix:uid:$UID_NOW" >/dev/null || fail "entry create second"
retry 40 grep -q "$WID-2" "$T/watch.log" || fail "watcher did not see the new entry"
"$SERVER_BIN" entry delete -socketPath "$SSOCK" -entryID e2e-second >/dev/null || fail "entry delete"
has_removal() { /usr/bin/python3 - "$T/watch.log" "$WID-2" <<'PY'
import json, sys
seen = False
for line in open(sys.argv[1]):
    if not line.startswith('{"n"'):
        continue
    ids = [s["spiffe_id"] for s in json.loads(line)["svids"]]
    if sys.argv[2] in ids:
        seen = True
    elif seen and ids:
        sys.exit(0)
sys.exit(1)
PY
}
retry 40 has_removal || fail "deleted entry still in the watcher's messages"
rotated() { /usr/bin/python3 - "$T/watch.log" "$WID" "$FIRST_LEAF" <<'PY'
import json, sys
for line in open(sys.argv[1]):
    if not line.startswith('{"n"'):
        continue
    for s in json.loads(line)["svids"]:
        if s["spiffe_id"] == sys.argv[2] and s["leaf_sha256"] != sys.argv[3]:
            sys.exit(0)
sys.exit(1)
PY
}
retry 60 rotated || fail "no rotated SVID pushed within 30s"
ELAPSED=$(( $(date +%s) - START ))
[[ $ELAPSED -lt 30 ]] || fail "rotation pushed only after ${ELAPSED}s (TTL 30s)"
echo "   rotation pushed after ${ELAPSED}s"
kill "$WATCH_PID" 2>/dev/null || true; wait "$WATCH_PID" 2>/dev/null || true; WATCH_PID=""

step "deleting the last entry: PermissionDenied"
"$SERVER_BIN" entry delete -socketPath "$SSOCK" -entryID e2e-main >/dev/null || fail "entry delete main"
retry 40 $CLIENT x509 --socket "$ASOCK" --expect-code PERMISSION_DENIED || fail "no PermissionDenied after deletion"

echo "PASS"
