#!/usr/bin/env bash
# End-to-end: health_checks and telemetry on the real spire-server and spire-agent. The agent first runs with a
# join token the server does not know: live but not ready, `spire-agent healthcheck` fails, its failed attestations
# are counted on both sides. With a valid token it becomes ready and healthy; a known number of Workload API and
# admin calls is then made and both /metrics endpoints are scraped for SPIRE's metric names at exact values.
# Usage: telemetry_e2e_test.sh <build-dir>
set -euo pipefail

BUILD=$(cd "${1:?usage: $0 <build-dir>}" && pwd)
SERVER_BIN=$BUILD/src/cli/server/spire-server
AGENT_BIN=$BUILD/src/cli/agent/spire-agent
for b in "$SERVER_BIN" "$AGENT_BIN"; do
  [[ -x $b ]] || { echo "SKIP: $b not built"; exit 77; }
done
command -v curl >/dev/null || { echo "SKIP: curl not installed"; exit 77; }

T=$(mktemp -d /tmp/telemetry-e2e.XXXXXX)
chmod 755 "$T"
SERVER_PID=""; AGENT_PID=""
cleanup() {
  for p in $AGENT_PID $SERVER_PID; do kill "$p" 2>/dev/null || true; done
  for p in $AGENT_PID $SERVER_PID; do wait "$p" 2>/dev/null || true; done
  if [[ ${KEEP:-0} != 1 ]]; then rm -rf "$T"; else echo "kept $T"; fi
}
trap cleanup EXIT
fail() {
  echo "FAIL: $*" >&2
  echo "--- server log" >&2; tail -30 "$T/server.log" >&2 || true
  echo "--- agent log" >&2; tail -40 "$T/agent.log" >&2 || true
  echo "--- agent metrics" >&2; curl -sS "http://127.0.0.1:$AMET/metrics" >&2 || true
  echo "--- server metrics" >&2; curl -sS "http://127.0.0.1:$SMET/metrics" >&2 || true
  exit 1
}
step() { echo "== $*"; }
retry() { local n=$1; shift; for ((i = 0; i < n; i++)); do if "$@" >/dev/null 2>&1; then return 0; fi; sleep 0.5; done; "$@"; }
free_port() { /usr/bin/python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'; }
# metric PORT 'name{labels}': the sample's value, 0 when absent.
metric() {
  curl -fsS "http://127.0.0.1:$1/metrics" | awk -v k="$2" '$1 == k { v = $2 } END { print (v == "" ? 0 : v) }'
}
# expect_metric PORT 'name{labels}' OP VALUE: OP is a test(1) integer operator (-eq, -ge).
expect_metric() {
  local v; v=$(metric "$1" "$2")
  test "$v" "$3" "$4" || fail "$2 is $v, want $3 $4"
  echo "   $2 = $v"
}
http_code() { curl -s -o /dev/null -w '%{http_code}' "http://127.0.0.1:$1$2"; }
# answers PORT PATH CODE: the HTTP GET answers CODE (a function, so retry re-asks).
answers() { [[ $(http_code "$1" "$2") == "$3" ]]; }

PORT=$(free_port); SMET=$(free_port); SHC=$(free_port); AMET=$(free_port); AHC=$(free_port)
TD=example.org
SSOCK=$T/server/api.sock
ASOCK=$T/agent/public/api.sock

cat >"$T/server.conf" <<CONF
server {
  bind_address = "127.0.0.1"
  bind_port = $PORT
  socket_path = "$SSOCK"
  trust_domain = "$TD"
  data_dir = "$T/server"
  log_level = "DEBUG"
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
health_checks {
  listener_enabled = true
  bind_address = "127.0.0.1"
  bind_port = $SHC
}
telemetry {
  Prometheus {
    host = "127.0.0.1"
    port = $SMET
  }
}
CONF

agent_conf() {
  cat >"$T/agent.conf" <<CONF
agent {
  data_dir = "$T/agent/data"
  log_level = "DEBUG"
  server_address = "127.0.0.1"
  server_port = $PORT
  socket_path = "$ASOCK"
  trust_bundle_path = "$T/bootstrap.pem"
  trust_domain = "$TD"
  join_token = "$1"
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
health_checks {
  listener_enabled = true
  bind_address = "127.0.0.1"
  bind_port = $AHC
  live_path = "/alive"
  ready_path = "/isready"
}
telemetry {
  Prometheus {
    host = "127.0.0.1"
    port = $AMET
  }
}
CONF
}

step "server with health_checks on :$SHC and telemetry on :$SMET"
mkdir -p "$T/server"
"$SERVER_BIN" run -config "$T/server.conf" >"$T/server.log" 2>&1 &
SERVER_PID=$!
retry 60 "$SERVER_BIN" healthcheck -socketPath "$SSOCK" || fail "server not healthy"
retry 20 answers "$SHC" /ready 200 || fail "server /ready is not 200"
[[ $(http_code "$SHC" /live) == 200 ]] || fail "server /live is not 200"
"$SERVER_BIN" bundle show -socketPath "$SSOCK" >"$T/bootstrap.pem" || fail "bundle show"

step "agent with an unknown join token: live, not ready, healthcheck fails"
agent_conf "not-a-token"
"$AGENT_BIN" validate -config "$T/agent.conf" | grep -q "is valid" || fail "validate"
mkdir -p -m 755 "$T/agent"
"$AGENT_BIN" run -config "$T/agent.conf" >"$T/agent.log" 2>&1 &
AGENT_PID=$!
metric_ge() { [[ $(metric "$1" "$2") -ge $3 ]]; }
retry 60 metric_ge "$AMET" 'spire_agent_node_attestor_new_svid{status="PermissionDenied"}' 1 \
  || fail "no refused attestation counted by the agent"
[[ $(http_code "$AHC" /alive) == 200 ]] || fail "agent /alive is not 200"
[[ $(http_code "$AHC" /isready) == 503 ]] || fail "agent /isready is not 503 before attestation"
if "$AGENT_BIN" healthcheck -socketPath "$ASOCK" >"$T/hc.out" 2>&1; then fail "healthcheck passed before attestation"; fi
grep -q "not attested" "$T/hc.out" || fail "healthcheck: $(cat "$T/hc.out")"
expect_metric "$SMET" 'spire_server_rpc_agent_v1_agent_attest_agent{status="PermissionDenied"}' -ge 1
expect_metric "$AMET" 'spire_agent_node_attestor_new_svid{status="OK"}' -eq 0
kill "$AGENT_PID"; wait "$AGENT_PID" 2>/dev/null || true; AGENT_PID=""

step "agent with a valid join token: ready, healthy"
TOKEN=$("$SERVER_BIN" token generate -socketPath "$SSOCK" -ttl 600 | sed -n 's/^Token: //p')
[[ -n $TOKEN ]] || fail "no join token"
AGENT_ID=spiffe://$TD/spire/agent/join_token/$TOKEN
WID=spiffe://$TD/workload
"$SERVER_BIN" entry create -socketPath "$SSOCK" -parentID "$AGENT_ID" -spiffeID "$WID" \
  -selector "unix:uid:$(id -u)" >/dev/null || fail "entry create"
agent_conf "$TOKEN"
"$AGENT_BIN" run -config "$T/agent.conf" >"$T/agent.log" 2>&1 &
AGENT_PID=$!
retry 60 "$AGENT_BIN" healthcheck -socketPath "$ASOCK" || fail "agent not healthy after attestation"
"$AGENT_BIN" healthcheck -socketPath "$ASOCK" | grep -q "^Agent is healthy\.$" || fail "healthcheck output"
[[ $(http_code "$AHC" /isready) == 200 ]] || fail "agent /isready is not 200 after attestation"
[[ $(http_code "$AHC" /alive) == 200 ]] || fail "agent /alive is not 200"
retry 60 "$AGENT_BIN" api fetch x509 -socketPath "$ASOCK" || fail "no X509-SVID"

step "a counted set of calls"
C0=$(metric "$AMET" spire_agent_workload_api_connection)
J0=$(metric "$SMET" spire_server_server_ca_sign_jwt_svid)
for _ in 1 2 3; do
  "$AGENT_BIN" api fetch jwt -socketPath "$ASOCK" -audience telemetry >"$T/jwt.out" || fail "api fetch jwt"
done
JWT=$(awk '/^token\(/{getline; gsub(/\t/,""); print; exit}' "$T/jwt.out")
"$AGENT_BIN" api validate jwt -socketPath "$ASOCK" -audience telemetry -svid "$JWT" >/dev/null || fail "validate jwt"
if "$AGENT_BIN" api validate jwt -socketPath "$ASOCK" -audience other -svid "$JWT" >/dev/null 2>&1; then
  fail "JWT validated for another audience"
fi
"$SERVER_BIN" entry count -socketPath "$SSOCK" >/dev/null || fail "entry count"
"$SERVER_BIN" entry count -socketPath "$SSOCK" >/dev/null || fail "entry count"

step "agent /metrics"
expect_metric "$AMET" 'spire_agent_rpc_workload_api_fetch_jwtsvid{status="OK"}' -eq 3
expect_metric "$AMET" 'spire_agent_rpc_workload_api_validate_jwtsvid{status="OK"}' -eq 1
expect_metric "$AMET" 'spire_agent_rpc_workload_api_validate_jwtsvid{status="InvalidArgument"}' -eq 1
expect_metric "$AMET" spire_agent_workload_api_connection -eq $((C0 + 5))
expect_metric "$AMET" 'spire_agent_node_attestor_new_svid{status="OK"}' -eq 1
expect_metric "$AMET" 'spire_agent_node_attestor_new_svid{status="PermissionDenied"}' -eq 0
expect_metric "$AMET" 'spire_agent_manager_sync_fetch_entries_updates{status="OK"}' -ge 1
expect_metric "$AMET" spire_agent_lru_cache_svid_map_size -eq 1

step "server /metrics"
expect_metric "$SMET" 'spire_server_rpc_agent_v1_agent_attest_agent{status="OK"}' -eq 1
expect_metric "$SMET" 'spire_server_rpc_agent_v1_agent_create_join_token{status="OK"}' -eq 1
expect_metric "$SMET" 'spire_server_rpc_entry_v1_entry_batch_create_entry{status="OK"}' -eq 1
expect_metric "$SMET" 'spire_server_rpc_entry_v1_entry_count_entries{status="OK"}' -eq 2
# The agent caches a JWT-SVID until half life: three fetches for one audience, one signature.
expect_metric "$SMET" spire_server_server_ca_sign_jwt_svid -eq $((J0 + 1))
expect_metric "$SMET" 'spire_server_rpc_svid_v1_svid_new_jwtsvid{status="OK"}' -eq 1
expect_metric "$SMET" 'spire_server_rpc_svid_v1_svid_batch_new_x509svid{status="OK"}' -ge 1
expect_metric "$SMET" spire_server_registration_entries -eq 1
expect_metric "$SMET" spire_server_attested_agents -eq 1

echo "PASS"
