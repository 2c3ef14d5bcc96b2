#!/usr/bin/env bash
# End-to-end: spire-server and spire-agent run from SPIRE Helm-chart-shaped JSON configurations
# (test/data/spire-helm/{server,agent}.json) with -expandEnv, JSON logs (one object per line with SPIRE's field
# names), -logFile, a join token read from join_token_file, and the run/validate flags overriding the file.
# Usage: spire_helm_json_e2e_test.sh <build-dir>
set -euo pipefail

BUILD=$(cd "${1:?usage: $0 <build-dir>}" && pwd)
SRC=$(cd "$(dirname "$0")/../.." && pwd)
SERVER_BIN=$BUILD/src/cli/server/spire-server
AGENT_BIN=$BUILD/src/cli/agent/spire-agent
for b in "$SERVER_BIN" "$AGENT_BIN"; do
  [[ -x $b ]] || { echo "SKIP: $b not built"; exit 77; }
done

T=$(mktemp -d /tmp/helm-json-e2e.XXXXXX)
chmod 755 "$T"
SERVER_PID=""; AGENT_PID=""; AGENT2_PID=""; HTTP_PID=""
cleanup() {
  for p in $AGENT2_PID $HTTP_PID $AGENT_PID $SERVER_PID; do kill "$p" 2>/dev/null || true; done
  for p in $AGENT2_PID $HTTP_PID $AGENT_PID $SERVER_PID; do wait "$p" 2>/dev/null || true; done
  if [[ ${KEEP:-0} != 1 ]]; then rm -rf "$T"; else echo "kept $T"; fi
}
trap cleanup EXIT
fail() {
  echo "FAIL: $*" >&2
  echo "--- server log" >&2; tail -40 "$T/server.jsonlog" "$T/server.out" >&2 || true
  echo "--- agent log" >&2; tail -60 "$T/agent.log" >&2 || true
  exit 1
}
step() { echo "== $*"; }
retry() { local n=$1; shift; for ((i = 0; i < n; i++)); do if "$@" >/dev/null 2>&1; then return 0; fi; sleep 0.5; done; "$@"; }
free_port() { /usr/bin/python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'; }
# Every log line of ours in $1 is a JSON object with SPIRE's logrus keys (none is in the text format).
json_lines() {
  /usr/bin/python3 - "$1" <<'PY'
import json, re, sys
n = 0
for line in open(sys.argv[1], encoding="utf-8"):
    # Our text format must not appear; other libraries' own stderr lines (gRPC's) are not ours to format.
    assert not re.match(r"^\d{4}-\d\d-\d\dT\S+ \w+ \[(server|agent)\] ", line), line
    if not line.startswith("{"):
        continue
    d = json.loads(line)
    assert isinstance(d, dict), line
    assert d["level"] in ("trace", "debug", "info", "warning", "error", "fatal"), line
    assert isinstance(d["msg"], str) and d["time"][10] == "T", line
    n += 1
assert n > 0, "no log lines"
PY
}

export SPIRECVM_DATA=$T
export SPIRECVM_SERVER_PORT=$(free_port)
export SPIRECVM_HEALTH_PORT=$(free_port)
export SPIRECVM_PROM_PORT=$(free_port)
export SPIRECVM_AGENT_HEALTH_PORT=$(free_port)
TD=example.org
SSOCK=$T/server/api.sock
ASOCK=$T/agent/public/spire-agent.sock
# No .json extension: detected by its leading '{'.
cp "$SRC/test/data/spire-helm/server.json" "$T/server.conf"
cp "$SRC/test/data/spire-helm/agent.json" "$T/agent.json"

step "validate: -expandEnv needed, flags checked"
if "$SERVER_BIN" validate -config "$T/server.conf" >"$T/v.out" 2>&1; then fail "validate without -expandEnv passed"; fi
grep -q 'server.bind_port' "$T/v.out" || fail "unexpanded \${SPIRECVM_SERVER_PORT} not reported: $(cat "$T/v.out")"
"$SERVER_BIN" validate -config "$T/server.conf" -expandEnv | grep -q "is valid" || fail "server validate"
if "$SERVER_BIN" validate -config "$T/server.conf" -expandEnv -serverPort 70000 -logFormat xml >"$T/v.out" 2>&1; then
  fail "bad flags accepted"
fi
grep -q -- '-serverPort 70000 is not a port number' "$T/v.out" || fail "bad -serverPort: $(cat "$T/v.out")"
grep -q -- '-logFormat "xml"' "$T/v.out" || fail "bad -logFormat: $(cat "$T/v.out")"

step "server run from the Helm JSON (-expandEnv, -logFile, JSON log lines)"
mkdir -p "$T/server"
"$SERVER_BIN" run -config "$T/server.conf" -expandEnv -logFile "$T/server.jsonlog" >"$T/server.out" 2>&1 &
SERVER_PID=$!
retry 60 "$SERVER_BIN" healthcheck -socketPath "$SSOCK" || fail "server not healthy"
retry 20 curl -fsS "http://127.0.0.1:$SPIRECVM_HEALTH_PORT/live" || fail "server health_checks listener"
json_lines "$T/server.jsonlog" || fail "server log is not one JSON object per line"
grep -q '"subsystem_name":"server"' "$T/server.jsonlog" || fail "server log lacks subsystem_name"
"$SERVER_BIN" bundle show -socketPath "$SSOCK" >"$T/bundle.pem" || fail "bundle show"
"$SERVER_BIN" token generate -socketPath "$SSOCK" -ttl 600 | sed -n 's/^Token: //p' >"$T/join-token"
TOKEN=$(cat "$T/join-token")
[[ -n $TOKEN ]] || fail "no join token"
WID=spiffe://$TD/helm-workload
"$SERVER_BIN" entry create -socketPath "$SSOCK" -parentID "spiffe://$TD/spire/agent/join_token/$TOKEN" \
  -spiffeID "$WID" -selector "unix:uid:$(id -u)" >/dev/null || fail "entry create"

step "agent validate and run from the Helm JSON (join_token_file, JSON logs)"
"$AGENT_BIN" validate -config "$T/agent.json" -expandEnv | grep -q "is valid" || fail "agent validate"
if "$AGENT_BIN" validate -config "$T/agent.json" >"$T/v.out" 2>&1; then fail "agent validate without -expandEnv"; fi
mkdir -p -m 755 "$T/agent"
SPIRECVM_AGENT_SYNC_INTERVAL=1s "$AGENT_BIN" run -config "$T/agent.json" -expandEnv >"$T/agent.log" 2>&1 &
AGENT_PID=$!
retry 60 "$AGENT_BIN" healthcheck -socketPath "$ASOCK" || fail "agent not healthy"
retry 40 "$AGENT_BIN" api fetch x509 -socketPath "$ASOCK" -write "$T/svid" || fail "api fetch x509"
openssl x509 -in "$T/svid/svid.0.pem" -noout -ext subjectAltName | grep -q "URI:$WID" || fail "wrong SPIFFE ID"
openssl verify -CAfile "$T/bundle.pem" "$T/svid/svid.0.pem" >/dev/null || fail "SVID does not chain to the bundle"
json_lines "$T/agent.log" || fail "agent log is not one JSON object per line"
grep -q '"subsystem_name":"agent"' "$T/agent.log" || fail "agent log lacks subsystem_name"

step "second agent: trust_bundle_url served over a Unix socket (http through trust_bundle_unix_socket)"
/usr/bin/python3 - "$T/bundle-http.sock" "$T/bundle.pem" <<'PY' &
import http.server, socketserver, sys
class Handler(http.server.BaseHTTPRequestHandler):
    def do_GET(self):
        body = open(sys.argv[2], "rb").read() if self.path == "/bundle.pem" else b""
        self.send_response(200 if body else 404)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)
    def log_message(self, *args):
        pass
    def address_string(self):
        return "unix"
socketserver.UnixStreamServer(sys.argv[1], Handler).serve_forever()
PY
HTTP_PID=$!
retry 20 test -S "$T/bundle-http.sock" || fail "bundle HTTP server did not start"
TOKEN2=$("$SERVER_BIN" token generate -socketPath "$SSOCK" -ttl 600 | sed -n 's/^Token: //p')
cat >"$T/agent2.conf" <<CONF
agent {
  data_dir = "$T/agent2"
  server_address = "127.0.0.1"
  server_port = "\${SPIRECVM_SERVER_PORT}"
  socket_path = "$T/agent2/public/api.sock"
  trust_bundle_url = "http://localhost/bundle.pem"
  trust_bundle_unix_socket = "$T/bundle-http.sock"
  trust_domain = "$TD"
}
plugins {
  NodeAttestor "join_token" { plugin_data {} }
  KeyManager "memory" { plugin_data {} }
  WorkloadAttestor "unix" { plugin_data {} }
}
CONF
mkdir -p -m 755 "$T/agent2"
"$AGENT_BIN" run -config "$T/agent2.conf" -expandEnv -joinToken "$TOKEN2" -logFile "$T/agent2.log" &
AGENT2_PID=$!
retry 60 "$AGENT_BIN" healthcheck -socketPath "$T/agent2/public/api.sock" || fail "second agent not healthy"
grep -q "bootstrap trust bundle downloaded from http://localhost/bundle.pem" "$T/agent2.log" \
  || fail "no bundle download line: $(tail -5 "$T/agent2.log")"
retry 40 grep -q "node attestation succeeded" "$T/agent2.log" || fail "second agent did not attest"
echo "PASS"
